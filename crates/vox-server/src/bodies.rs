//! Every JSON request body the API accepts, parsed and pre-checked exactly as the
//! handlers do before they read the board: the `ApiJson` extractor's parser
//! ([`parse_json`]) and each handler's checks that need no state. Nothing here touches
//! a database or a socket, so the fuzz targets (`crates/vox-fuzz`) drive it directly;
//! the handlers' checks against the board (is the petition open, is this the ceremony's
//! phase, …) call `vox_protocol` with state and are fuzzed there.

use vox_protocol::ballot::{AuditedBallot, Ballot};
use vox_protocol::ceremony::{CeremonyMessage, CeremonyTracker, DecryptionShareMessage};
use vox_protocol::electorate::Electorate;
use vox_protocol::encoding::Hashable;
use vox_protocol::manifest::Manifest;
use vox_protocol::petition::{PetitionProposal, PetitionSignature};

use crate::api::board::CosignRequest;
use crate::api::petitions::{InvalidationRequest, ModerationRequest, ResponseRequest};
use crate::error::AppError;
pub use crate::extract::{parse_json, QueryParams};

/// A POST route that takes a JSON body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// `POST /api/v1/electorates`
    Electorate,
    /// `POST /api/v1/referendums`
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
    /// `POST /api/v1/petitions/{id}/moderation`
    Moderation,
    /// `POST /api/v1/petitions/{id}/response`
    Response,
    /// `POST /api/v1/petitions/{id}/invalidations`
    Invalidation,
    /// `POST /api/v1/board/cosignatures`
    Cosignature,
}

impl Route {
    /// Every route with a JSON body.
    pub const ALL: [Route; 12] = [
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
    ];
}

/// A body that passed the parser and the stateless checks. Bodies of the types the API
/// shares with clients are returned for the caller's stateful checks; the server's own
/// request types (moderation, response, invalidation, cosignature) carry nothing more
/// to check without the board.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // one per request
pub enum Body {
    /// An electorate (validated).
    Electorate(Electorate),
    /// A manifest (validated, and a ceremony can start for it).
    Referendum(Manifest),
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
    /// A moderation decision.
    Moderation,
    /// An official response.
    Response,
    /// An invalidation (with a reason and at least one credential).
    Invalidation,
    /// A witness cosignature.
    Cosignature,
}

/// Parse `bytes` as the body of `route` with the handlers' parser and run the checks the
/// handler makes before it reads the board. An error is the handler's answer (400 or 422).
pub fn parse_body(route: Route, bytes: &[u8]) -> Result<Body, AppError> {
    Ok(match route {
        Route::Electorate => {
            let e: Electorate = parse_json(bytes)?;
            e.validate()?;
            Body::Electorate(e)
        }
        Route::Referendum => {
            let m: Manifest = parse_json(bytes)?;
            m.validate()?;
            CeremonyTracker::new(&m, m.canonical_hash())?;
            Body::Referendum(m)
        }
        Route::CeremonyMessage => Body::CeremonyMessage(parse_json(bytes)?),
        Route::Ballot => Body::Ballot(parse_json(bytes)?),
        Route::Audit => Body::Audit(parse_json(bytes)?),
        Route::DecryptionShare => Body::DecryptionShare(parse_json(bytes)?),
        Route::Proposal => Body::Proposal(parse_json(bytes)?),
        Route::Signature => Body::Signature(parse_json(bytes)?),
        Route::Moderation => {
            parse_json::<ModerationRequest>(bytes)?;
            Body::Moderation
        }
        Route::Response => {
            parse_json::<ResponseRequest>(bytes)?;
            Body::Response
        }
        Route::Invalidation => {
            parse_json::<InvalidationRequest>(bytes)?.check()?;
            Body::Invalidation
        }
        Route::Cosignature => {
            parse_json::<CosignRequest>(bytes)?;
            Body::Cosignature
        }
    })
}
