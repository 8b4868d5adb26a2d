//! Every JSON request body the API accepts, parsed and pre-checked exactly as the
//! handlers do before they read the board: the `ApiJson` extractor's parser
//! ([`parse_json`]), the authority acts' two-step parser (the `type` first, then the
//! signed payload of that type: see `crate::acts`) and each handler's checks that need no
//! state. An act's signature needs the board (the log id and the roles' current keys), so
//! it is checked by the handler, as are the ids in the path. Nothing here touches
//! a database or a socket, so the fuzz targets (`crates/vox-fuzz`) drive it directly;
//! the handlers' checks against the board (is the petition open, is this the ceremony's
//! phase, …) call `vox_protocol` with state and are fuzzed there.

use vox_protocol::ballot::{AuditedBallot, Ballot};
use vox_protocol::board::Payload;
use vox_protocol::ceremony::{CeremonyMessage, DecryptionShareMessage};
use vox_protocol::electorate::EnrolmentRequest;
use vox_protocol::petition::{PetitionProposal, PetitionSignature, RingPetitionSignature};

use crate::acts::{parse_act, ActKind};
use crate::api::board::CosignRequest;
use crate::error::AppError;
pub use crate::extract::{parse_json, QueryParams};

/// A POST route that takes a JSON body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// `POST /api/v1/electorates` (a signed `electorate-registered` act)
    Electorate,
    /// `POST /api/v1/referendums` (a signed `referendum-created` act)
    Referendum,
    /// `POST /api/v1/referendums/{id}/ceremony`
    CeremonyMessage,
    /// `POST /api/v1/referendums/{id}/ballots`
    Ballot,
    /// `POST /api/v1/referendums/{id}/audits`
    Audit,
    /// `POST /api/v1/referendums/{id}/decryption-shares`
    DecryptionShare,
    /// `POST /api/v1/petitions`
    Proposal,
    /// `POST /api/v1/petitions/{id}/signatures`
    Signature,
    /// `POST /api/v1/petitions/{id}/moderation` (a signed `petition-moderated` act)
    Moderation,
    /// `POST /api/v1/petitions/{id}/response` (a signed `petition-responded` act)
    Response,
    /// `POST /api/v1/petitions/{id}/invalidations` (a signed `signatures-invalidated` act)
    Invalidation,
    /// `POST /api/v1/board/cosignatures`
    Cosignature,
    /// `POST /api/v1/roles/rotations` (a signed `role-key-rotated` act)
    RoleRotation,
    /// `POST /api/v1/enrolments` (a signed `enrolment-opened` act)
    EnrolmentOpening,
    /// `POST /api/v1/electorates/{id}/credentials` (an enrolment request)
    Enrolment,
    /// `POST /api/v1/electorates/{id}/revocations` (a signed `credential-revoked` act)
    Revocation,
    /// `POST /api/v1/electorates/{id}/freeze` (a signed `electorate-frozen` act)
    Freeze,
    /// `POST /api/v1/petition-policy` (a signed `petition-policy-set` act)
    PetitionPolicy,
    /// `POST /api/v1/panel` (a signed `trustee-panel-set` act)
    TrusteePanel,
    /// `POST /api/v1/witness-policy` (a signed `witness-policy-set` act)
    WitnessPolicy,
    /// `POST /api/v1/petitions/{id}/ring-signatures`
    RingSignature,
}

impl Route {
    /// Every route with a JSON body (routes added later come last, so that a route's
    /// position stays what it was).
    pub const ALL: [Route; 21] = [
        Route::Electorate,
        Route::Referendum,
        Route::CeremonyMessage,
        Route::Ballot,
        Route::Audit,
        Route::DecryptionShare,
        Route::Proposal,
        Route::Signature,
        Route::Moderation,
        Route::Response,
        Route::Invalidation,
        Route::Cosignature,
        Route::RoleRotation,
        Route::EnrolmentOpening,
        Route::Enrolment,
        Route::Revocation,
        Route::Freeze,
        Route::PetitionPolicy,
        Route::TrusteePanel,
        Route::WitnessPolicy,
        Route::RingSignature,
    ];

    /// The payload `type` of the act this route takes, if it is an authority endpoint.
    pub fn act_type(self) -> Option<&'static str> {
        Some(match self {
            Route::Electorate => ActKind::ElectorateRegistered.type_name(),
            Route::Referendum => ActKind::ReferendumCreated.type_name(),
            Route::Moderation => ActKind::PetitionModerated.type_name(),
            Route::Response => ActKind::PetitionResponded.type_name(),
            Route::Invalidation => ActKind::SignaturesInvalidated.type_name(),
            Route::RoleRotation => ActKind::RoleKeyRotated.type_name(),
            Route::EnrolmentOpening => ActKind::EnrolmentOpened.type_name(),
            Route::Revocation => ActKind::CredentialRevoked.type_name(),
            Route::Freeze => ActKind::ElectorateFrozen.type_name(),
            Route::PetitionPolicy => ActKind::PetitionPolicySet.type_name(),
            Route::TrusteePanel => ActKind::TrusteePanelSet.type_name(),
            Route::WitnessPolicy => ActKind::WitnessPolicySet.type_name(),
            Route::Enrolment
            | Route::CeremonyMessage
            | Route::Ballot
            | Route::Audit
            | Route::DecryptionShare
            | Route::Proposal
            | Route::Signature
            | Route::RingSignature
            | Route::Cosignature => return None,
        })
    }
}

/// A body that passed the parser and the stateless checks, returned for the caller's
/// stateful checks (the witness cosignature carries nothing more to check without the
/// board).
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // one per request
pub enum Body {
    /// An authority act: the signed board payload, of the route's type, its stateless
    /// rules checked (an electorate, enrolment opening or manifest validated, a ceremony
    /// can start for the manifest, an invalidation has a reason and a credential, a
    /// rotation is not of the operator key). Its signature is not checked here.
    Act(Payload),
    /// A signed ceremony message.
    CeremonyMessage(CeremonyMessage),
    /// A ballot.
    Ballot(Ballot),
    /// A Benaloh audit opening.
    Audit(AuditedBallot),
    /// A signed decryption share.
    DecryptionShare(DecryptionShareMessage),
    /// A petition proposal.
    Proposal(PetitionProposal),
    /// A petition signature or withdrawal.
    Signature(PetitionSignature),
    /// A ring signature or withdrawal on a ring-signed petition.
    RingSignature(RingPetitionSignature),
    /// A witness cosignature.
    Cosignature,
    /// A citizen's enrolment request (its credential signature is checked by the
    /// handler, after the cheap rules of the roll).
    Enrolment(EnrolmentRequest),
}

/// Parse `bytes` as the body of `route` with the handlers' parser and run the checks the
/// handler makes before it reads the board. An error is the handler's answer (400 or 422).
pub fn parse_body(route: Route, bytes: &[u8]) -> Result<Body, AppError> {
    let act = |kind| parse_act(kind, bytes).map(Body::Act);
    Ok(match route {
        Route::Electorate => act(ActKind::ElectorateRegistered)?,
        Route::Referendum => act(ActKind::ReferendumCreated)?,
        Route::Moderation => act(ActKind::PetitionModerated)?,
        Route::Response => act(ActKind::PetitionResponded)?,
        Route::Invalidation => act(ActKind::SignaturesInvalidated)?,
        Route::RoleRotation => act(ActKind::RoleKeyRotated)?,
        Route::EnrolmentOpening => act(ActKind::EnrolmentOpened)?,
        Route::Revocation => act(ActKind::CredentialRevoked)?,
        Route::Freeze => act(ActKind::ElectorateFrozen)?,
        Route::PetitionPolicy => act(ActKind::PetitionPolicySet)?,
        Route::TrusteePanel => act(ActKind::TrusteePanelSet)?,
        Route::WitnessPolicy => act(ActKind::WitnessPolicySet)?,
        Route::Enrolment => Body::Enrolment(parse_json(bytes)?),
        Route::CeremonyMessage => Body::CeremonyMessage(parse_json(bytes)?),
        Route::Ballot => Body::Ballot(parse_json(bytes)?),
        Route::Audit => Body::Audit(parse_json(bytes)?),
        Route::DecryptionShare => Body::DecryptionShare(parse_json(bytes)?),
        Route::Proposal => Body::Proposal(parse_json(bytes)?),
        Route::Signature => Body::Signature(parse_json(bytes)?),
        Route::RingSignature => Body::RingSignature(parse_json(bytes)?),
        Route::Cosignature => {
            parse_json::<CosignRequest>(bytes)?;
            Body::Cosignature
        }
    })
}
