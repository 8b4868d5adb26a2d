//! Authority acts as request bodies (protocol-spec/api.md, protocol-spec/11-roles.md §11.3).
//!
//! The body of every authority endpoint is the signed board payload itself, exactly as the
//! role's client signed it: `{"type": …, <the entry's fields>, "act": {"issued_at_ms",
//! "signature"}}`. Parsing is in two steps: the `type` alone first (a wrong type for the
//! endpoint is 422 naming `type`, whatever the other fields), then the payload of that
//! type, with field paths on errors and no unknown field allowed. The payload is rebuilt
//! field for field, so its canonical encoding — what the role signed — is exactly what
//! was sent; the server never changes a field of a signed act.
//!
//! Here are only the checks that need no state (the same for the handlers and for
//! [`crate::bodies`]); the signature is checked against the roles' current keys at the
//! locked board head by the handler ([`vox_protocol::roles::Authorities::check`]).

use serde::Deserialize;
use vox_crypto::credential::CredentialPublicKey;
use vox_crypto::ring::LinkingTag;
use vox_crypto::Hash32;
use vox_protocol::board::{BoardPublicKey, Payload, Sig};
use vox_protocol::ceremony::CeremonyTracker;
use vox_protocol::electorate::Electorate;
use vox_protocol::encoding::Hashable;
use vox_protocol::enrolment::EnrolmentOpening;
use vox_protocol::manifest::{Manifest, TrusteePanel};
use vox_protocol::petition::{Moderation, PetitionPolicy};
use vox_protocol::roles::{ActSignature, Role, WitnessPolicy};

use crate::error::{act_error, AppError};
use crate::extract::parse_json;
use crate::state::Derived;

/// Which act an endpoint takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActKind {
    /// `electorate-registered` (registrar).
    ElectorateRegistered,
    /// `petition-moderated` (petitions office).
    PetitionModerated,
    /// `petition-responded` (petitions office).
    PetitionResponded,
    /// `signatures-invalidated` (petitions office).
    SignaturesInvalidated,
    /// `referendum-created` (election authority).
    ReferendumCreated,
    /// `role-key-rotated` (the role rotated).
    RoleKeyRotated,
    /// `enrolment-opened` (registrar).
    EnrolmentOpened,
    /// `credential-revoked` (registrar).
    CredentialRevoked,
    /// `electorate-frozen` (registrar).
    ElectorateFrozen,
    /// `petition-policy-set` (petitions office).
    PetitionPolicySet,
    /// `trustee-panel-set` (election authority).
    TrusteePanelSet,
    /// `witness-policy-set` (operator).
    WitnessPolicySet,
}

impl ActKind {
    /// The payload `type` this endpoint takes.
    pub fn type_name(self) -> &'static str {
        match self {
            ActKind::ElectorateRegistered => "electorate-registered",
            ActKind::PetitionModerated => "petition-moderated",
            ActKind::PetitionResponded => "petition-responded",
            ActKind::SignaturesInvalidated => "signatures-invalidated",
            ActKind::ReferendumCreated => "referendum-created",
            ActKind::RoleKeyRotated => "role-key-rotated",
            ActKind::EnrolmentOpened => "enrolment-opened",
            ActKind::CredentialRevoked => "credential-revoked",
            ActKind::ElectorateFrozen => "electorate-frozen",
            ActKind::PetitionPolicySet => "petition-policy-set",
            ActKind::TrusteePanelSet => "trustee-panel-set",
            ActKind::WitnessPolicySet => "witness-policy-set",
        }
    }
}

#[derive(Deserialize)]
struct TypeOnly {
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ElectorateAct {
    #[serde(rename = "type")]
    _kind: String,
    electorate: Electorate,
    act: ActSignature,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ModerationAct {
    #[serde(rename = "type")]
    _kind: String,
    petition_id: String,
    moderation: Moderation,
    act: ActSignature,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResponseAct {
    #[serde(rename = "type")]
    _kind: String,
    petition_id: String,
    text: String,
    act: ActSignature,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InvalidationAct {
    #[serde(rename = "type")]
    _kind: String,
    petition_id: String,
    #[serde(default)]
    credentials: Vec<CredentialPublicKey>,
    #[serde(default)]
    tags: Vec<LinkingTag>,
    reason: String,
    act: ActSignature,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreatedAct {
    #[serde(rename = "type")]
    _kind: String,
    manifest: Manifest,
    act: ActSignature,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RotationAct {
    #[serde(rename = "type")]
    _kind: String,
    role: Role,
    new_key: BoardPublicKey,
    possession: Sig,
    act: ActSignature,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OpeningAct {
    #[serde(rename = "type")]
    _kind: String,
    opening: EnrolmentOpening,
    act: ActSignature,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RevocationAct {
    #[serde(rename = "type")]
    _kind: String,
    electorate_id: String,
    credential: CredentialPublicKey,
    #[serde(default)]
    replacement: Option<Hash32>,
    reason: String,
    act: ActSignature,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FreezeAct {
    #[serde(rename = "type")]
    _kind: String,
    electorate_id: String,
    electorate_hash: Hash32,
    act: ActSignature,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PanelAct {
    #[serde(rename = "type")]
    _kind: String,
    panel: TrusteePanel,
    act: ActSignature,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyAct {
    #[serde(rename = "type")]
    _kind: String,
    policy: PetitionPolicy,
    act: ActSignature,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WitnessPolicyAct {
    #[serde(rename = "type")]
    _kind: String,
    policy: WitnessPolicy,
    act: ActSignature,
}

/// Parse the body of an endpoint taking `kind` and run the checks that need no state.
/// Errors: 400 malformed (naming the field), 422 wrong `type` or a broken stateless rule.
pub fn parse_act(kind: ActKind, bytes: &[u8]) -> Result<Payload, AppError> {
    let TypeOnly { kind: got } = parse_json(bytes)?;
    if got != kind.type_name() {
        return Err(AppError::invalid(
            "type",
            format!(
                "this endpoint takes a signed {} act, not {got:?}",
                kind.type_name()
            ),
        ));
    }
    let payload = match kind {
        ActKind::ElectorateRegistered => {
            let b: ElectorateAct = parse_json(bytes)?;
            b.electorate
                .validate()
                .map_err(|e| prefix("electorate", e))?;
            Payload::ElectorateRegistered {
                electorate: b.electorate,
                act: b.act,
            }
        }
        ActKind::PetitionModerated => {
            let b: ModerationAct = parse_json(bytes)?;
            if let Moderation::Publish { referendum, .. } = &b.moderation {
                referendum.validate().map_err(|e| prefix("moderation", e))?;
            }
            Payload::PetitionModerated {
                petition_id: b.petition_id,
                moderation: b.moderation,
                act: b.act,
            }
        }
        ActKind::PetitionResponded => {
            let b: ResponseAct = parse_json(bytes)?;
            Payload::PetitionResponded {
                petition_id: b.petition_id,
                text: b.text,
                act: b.act,
            }
        }
        ActKind::SignaturesInvalidated => {
            let b: InvalidationAct = parse_json(bytes)?;
            if b.reason.trim().is_empty() {
                return Err(AppError::invalid(
                    "reason",
                    "an invalidation needs a public reason",
                ));
            }
            if b.credentials.is_empty() && b.tags.is_empty() {
                return Err(AppError::invalid(
                    "credentials",
                    "no credential (or linking tag, on a ring-signed petition) to invalidate",
                ));
            }
            Payload::SignaturesInvalidated {
                petition_id: b.petition_id,
                credentials: b.credentials,
                tags: b.tags,
                reason: b.reason,
                act: b.act,
            }
        }
        ActKind::ReferendumCreated => {
            let b: CreatedAct = parse_json(bytes)?;
            b.manifest.validate().map_err(|e| prefix("manifest", e))?;
            CeremonyTracker::new(&b.manifest, b.manifest.canonical_hash())
                .map_err(|e| prefix("manifest", e))?;
            Payload::ReferendumCreated {
                manifest: b.manifest,
                act: b.act,
            }
        }
        ActKind::RoleKeyRotated => {
            let b: RotationAct = parse_json(bytes)?;
            if b.role == Role::Operator {
                return Err(AppError::invalid(
                    "role",
                    "role key rotation: the operator key cannot be rotated within a log (start \
                     a new log whose genesis names this one as predecessor)",
                ));
            }
            Payload::RoleKeyRotated {
                role: b.role,
                new_key: b.new_key,
                possession: b.possession,
                act: b.act,
            }
        }
        ActKind::EnrolmentOpened => {
            let b: OpeningAct = parse_json(bytes)?;
            b.opening
                .validate()
                .map_err(|e| AppError::invalid("opening", e.to_string()))?;
            Payload::EnrolmentOpened {
                opening: b.opening,
                act: b.act,
            }
        }
        ActKind::CredentialRevoked => {
            let b: RevocationAct = parse_json(bytes)?;
            Payload::CredentialRevoked {
                electorate_id: b.electorate_id,
                credential: b.credential,
                replacement: b.replacement,
                reason: b.reason,
                act: b.act,
            }
        }
        ActKind::PetitionPolicySet => {
            let b: PolicyAct = parse_json(bytes)?;
            b.policy.validate().map_err(|e| prefix("policy", e))?;
            Payload::PetitionPolicySet {
                policy: b.policy,
                act: b.act,
            }
        }
        ActKind::TrusteePanelSet => {
            let b: PanelAct = parse_json(bytes)?;
            b.panel.validate().map_err(|e| prefix("panel", e))?;
            Payload::TrusteePanelSet {
                panel: b.panel,
                act: b.act,
            }
        }
        ActKind::WitnessPolicySet => {
            // Its rules need the role keys: checked with the signature (`authorize`).
            let b: WitnessPolicyAct = parse_json(bytes)?;
            Payload::WitnessPolicySet {
                policy: b.policy,
                act: b.act,
            }
        }
        ActKind::ElectorateFrozen => {
            let b: FreezeAct = parse_json(bytes)?;
            Payload::ElectorateFrozen {
                electorate_id: b.electorate_id,
                electorate_hash: b.electorate_hash,
                act: b.act,
            }
        }
    };
    Ok(payload)
}

/// A protocol error about a nested object, its field path prefixed (`manifest/questions`).
fn prefix(outer: &str, e: vox_protocol::ProtocolError) -> AppError {
    let mut a = AppError::from(e);
    a.field = Some(match a.field.take() {
        Some(f) if !f.is_empty() => format!("{outer}/{f}"),
        _ => outer.to_owned(),
    });
    a
}

/// Check an act against the roles' current keys and the acts already on the board, at
/// the locked, caught-up head (inside the write closure): 403, 409 or 422 as in
/// [`act_error`].
pub fn authorize(st: &Derived, payload: &Payload) -> Result<(), AppError> {
    st.authorities()
        .map_err(AppError::internal)?
        .check(payload)
        .map_err(act_error)
}

/// The id in the path must be the one the act names (422 naming `field`).
pub fn check_path_id(field: &str, in_body: &str, in_path: &str) -> Result<(), AppError> {
    if in_body != in_path {
        return Err(AppError::invalid(
            field,
            format!("the act is about {in_body:?}, the path about {in_path:?}"),
        ));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_type_must_match_the_endpoint() {
        let body = br#"{"type":"petition-responded","petition_id":"p","text":"t","act":{"issued_at_ms":1,"signature":"00"}}"#;
        let e = parse_act(ActKind::PetitionModerated, body).unwrap_err();
        assert_eq!((e.status.as_u16(), e.field.as_deref()), (422, Some("type")));
        // The right type, a malformed signature: 400 naming it.
        let e = parse_act(ActKind::PetitionResponded, body).unwrap_err();
        assert_eq!(
            (e.status.as_u16(), e.field.as_deref()),
            (400, Some("act/signature"))
        );
        let ok = format!(
            r#"{{"type":"petition-responded","petition_id":"p","text":"t","act":{{"issued_at_ms":1,"signature":"{}"}}}}"#,
            "00".repeat(64)
        );
        assert!(matches!(
            parse_act(ActKind::PetitionResponded, ok.as_bytes()).unwrap(),
            Payload::PetitionResponded { .. }
        ));
        // Unknown fields are refused.
        let extra = ok.replace("\"petition_id\"", "\"x\":1,\"petition_id\"");
        let e = parse_act(ActKind::PetitionResponded, extra.as_bytes()).unwrap_err();
        assert_eq!(e.status.as_u16(), 400);
        // No type at all.
        let e = parse_act(ActKind::PetitionResponded, b"{}").unwrap_err();
        assert_eq!(e.status.as_u16(), 400);
    }
}
