//! Petitions: proposal, signatures, and the lifecycle rules that both the server and
//! the verifier apply to the board (protocol-spec/07-petitions.md).
//!
//! The lifecycle follows the UK Parliament petitions site: a proposal gathers a few
//! sponsors, goes to moderation, is published for a fixed period or rejected with a
//! public reason; reaching the response threshold obliges an official response, reaching
//! the referendum threshold triggers a referendum. Unlike that site, every step here is a
//! board entry and [`PetitionTracker`] recomputes every count from the board, so the
//! verifier can prove that each transition happened exactly when the count reached it.

use std::collections::{HashMap, HashSet};

use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use vox_crypto::batch::{Equations, SingleVerifier};
use vox_crypto::credential::{Credential, CredentialPublicKey, CredentialSignature};
use vox_crypto::ring::{LinkingTag, RingSignature};
use vox_crypto::transcript::new_transcript;
use vox_crypto::Hash32;

use crate::buffered::{tagged_variant, Buffered, TaggedVisitor};
use crate::electorate::ElectorateIndex;
use crate::encoding::{Canonical, Encoder, Hashable};
use crate::error::{ProtocolError, Result};
use crate::manifest::{
    validate_questions, Manifest, Participation, Question, TrusteePanel, MANIFEST_VERSION,
};
use crate::rings::{petition_tag_generator, RingSet};

/// Transcript purpose label for petition proposals.
pub const PROPOSAL_PURPOSE: &[u8] = b"petition-proposal";
/// Transcript purpose label for petition signatures and withdrawals.
pub const SIGNATURE_PURPOSE: &[u8] = b"petition-signature";

/// The text and rules of a petition, fixed at proposal time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Petition {
    /// Identifier on this board.
    pub id: String,
    /// What the petition asks for (one sentence).
    pub action: String,
    /// Why.
    pub background: String,
    /// More detail.
    #[serde(default)]
    pub details: String,
    /// The electorate whose credentials may sign.
    pub electorate_hash: Hash32,
    /// Supporters needed before moderation.
    pub sponsor_threshold: u32,
    /// Signatures that oblige an official response.
    pub response_threshold: u32,
    /// Signatures that trigger an advisory referendum.
    pub referendum_threshold: u32,
    /// How long the petition is open once published (milliseconds).
    pub open_for_ms: i64,
    /// How long the authority has to respond once the response threshold is reached (ms).
    pub response_due_ms: i64,
    /// Regions with fewer signers than this are not reported separately.
    pub region_min_group: u32,
    /// How citizens sign it: naming their credential, or by linkable ring signature
    /// (07 §7.10). Absent in JSON means `credential`.
    #[serde(default)]
    pub signatures: SignatureScheme,
}

/// How a petition's signatures are made, fixed by its proposer (07 §7.1, §7.10).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum SignatureScheme {
    /// Each signature names its credential and is signed by it (07 §7.3): anyone can
    /// list who signed. The proposer counts as the first sponsor.
    #[default]
    Credential,
    /// Each signature is a linkable ring signature (13): it names a ring derived from the
    /// electorate and a linking tag that is the same for one credential on this petition
    /// only, never the credential. The proposer is public as the author, and signs like
    /// everyone else if they want to be counted.
    Ring,
}

impl Canonical for Petition {
    fn encode(&self, e: &mut Encoder) {
        e.str(&self.id)
            .str(&self.action)
            .str(&self.background)
            .str(&self.details)
            .hash(&self.electorate_hash)
            .u32(self.sponsor_threshold)
            .u32(self.response_threshold)
            .u32(self.referendum_threshold)
            .i64(self.open_for_ms)
            .i64(self.response_due_ms)
            .u32(self.region_min_group)
            .u8(match self.signatures {
                SignatureScheme::Credential => 0,
                SignatureScheme::Ring => 1,
            });
    }
}

impl Hashable for Petition {
    const TAG: &'static str = "petition";
}

impl Petition {
    /// Structural rules (protocol-spec/07-petitions.md §7.1).
    pub fn validate(&self) -> Result<()> {
        let len_ok = |s: &str, max: usize| !s.trim().is_empty() && s.len() <= max;
        if self.id.is_empty() || self.id.len() > 64 {
            return Err(ProtocolError::invalid("id", "must be 1 to 64 characters"));
        }
        if !len_ok(&self.action, 200) {
            return Err(ProtocolError::invalid(
                "action",
                "must be 1 to 200 characters",
            ));
        }
        if !len_ok(&self.background, 2000) || self.details.len() > 10_000 {
            return Err(ProtocolError::invalid(
                "background",
                "background 1 to 2000 characters, details at most 10000",
            ));
        }
        if self.sponsor_threshold < 2 {
            return Err(ProtocolError::invalid(
                "sponsor_threshold",
                "at least 2: the proposer and at least one supporter",
            ));
        }
        if self.response_threshold == 0 || self.referendum_threshold < self.response_threshold {
            return Err(ProtocolError::invalid(
                "referendum_threshold",
                "thresholds must satisfy 1 ≤ response ≤ referendum",
            ));
        }
        if self.open_for_ms <= 0 || self.response_due_ms <= 0 {
            return Err(ProtocolError::invalid(
                "open_for_ms",
                "durations must be positive",
            ));
        }
        Ok(())
    }
}

/// Bounds the petitions office sets on the rules of new proposals (protocol-spec/
/// 07-petitions.md §7.8), published on the board as a `petition-policy-set` act.
///
/// Why: a clerk must not be handed a proposal with a referendum threshold of two or a
/// response period of ten years; but the bounds are public and signed, so the office
/// cannot quietly refuse an inconvenient proposal either. A proposal that respects the
/// policy in force (the latest one before it on the board) is judged by the ordinary
/// rules only; one that breaks it is refused by the server and fails the verifier
/// (V6.7). A bound that is `None` is not enforced; an empty policy lifts every bound.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PetitionPolicy {
    /// Least `sponsor_threshold` a proposal may ask for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_sponsor_threshold: Option<u32>,
    /// Least `response_threshold`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_response_threshold: Option<u32>,
    /// Greatest `response_threshold`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_response_threshold: Option<u32>,
    /// Least `referendum_threshold`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_referendum_threshold: Option<u32>,
    /// Greatest `referendum_threshold`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_referendum_threshold: Option<u32>,
    /// Shortest `open_for_ms`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_open_for_ms: Option<i64>,
    /// Longest `open_for_ms`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_open_for_ms: Option<i64>,
    /// Shortest `response_due_ms`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_response_due_ms: Option<i64>,
    /// Longest `response_due_ms` (how long the office may take to answer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_response_due_ms: Option<i64>,
    /// Least `region_min_group` (a floor on the privacy of regional counts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_region_min_group: Option<u32>,
}

impl Canonical for PetitionPolicy {
    /// Each bound in field order as `u8(0)` when absent or `u8(1) ‖ value` (u32 or i64).
    fn encode(&self, e: &mut Encoder) {
        let u = |e: &mut Encoder, v: Option<u32>| match v {
            None => {
                e.u8(0);
            }
            Some(x) => {
                e.u8(1).u32(x);
            }
        };
        u(e, self.min_sponsor_threshold);
        u(e, self.min_response_threshold);
        u(e, self.max_response_threshold);
        u(e, self.min_referendum_threshold);
        u(e, self.max_referendum_threshold);
        let i = |e: &mut Encoder, v: Option<i64>| match v {
            None => {
                e.u8(0);
            }
            Some(x) => {
                e.u8(1).i64(x);
            }
        };
        i(e, self.min_open_for_ms);
        i(e, self.max_open_for_ms);
        i(e, self.min_response_due_ms);
        i(e, self.max_response_due_ms);
        u(e, self.min_region_min_group);
    }
}

impl PetitionPolicy {
    /// The policy's own rules (§7.8): durations positive, and no minimum above its
    /// maximum (a policy no proposal could meet would be a refusal in disguise).
    pub fn validate(&self) -> Result<()> {
        for (field, v) in [
            ("min_open_for_ms", self.min_open_for_ms),
            ("max_open_for_ms", self.max_open_for_ms),
            ("min_response_due_ms", self.min_response_due_ms),
            ("max_response_due_ms", self.max_response_due_ms),
        ] {
            if v.is_some_and(|x| x <= 0) {
                return Err(ProtocolError::invalid(
                    field,
                    "a duration bound must be positive",
                ));
            }
        }
        let pairs: [(&str, Option<i64>, Option<i64>); 4] = [
            (
                "max_response_threshold",
                self.min_response_threshold.map(i64::from),
                self.max_response_threshold.map(i64::from),
            ),
            (
                "max_referendum_threshold",
                self.min_referendum_threshold.map(i64::from),
                self.max_referendum_threshold.map(i64::from),
            ),
            (
                "max_open_for_ms",
                self.min_open_for_ms,
                self.max_open_for_ms,
            ),
            (
                "max_response_due_ms",
                self.min_response_due_ms,
                self.max_response_due_ms,
            ),
        ];
        for (field, min, max) in pairs {
            if let (Some(lo), Some(hi)) = (min, max) {
                if lo > hi {
                    return Err(ProtocolError::invalid(
                        field,
                        format!("the maximum {hi} is below the minimum {lo}"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Whether `petition` respects every bound; the error names the petition's field
    /// and the bound it breaks.
    pub fn check(&self, petition: &Petition) -> Result<()> {
        let checks: [(&str, i64, Option<i64>, Option<i64>); 6] = [
            (
                "sponsor_threshold",
                petition.sponsor_threshold.into(),
                self.min_sponsor_threshold.map(i64::from),
                None,
            ),
            (
                "response_threshold",
                petition.response_threshold.into(),
                self.min_response_threshold.map(i64::from),
                self.max_response_threshold.map(i64::from),
            ),
            (
                "referendum_threshold",
                petition.referendum_threshold.into(),
                self.min_referendum_threshold.map(i64::from),
                self.max_referendum_threshold.map(i64::from),
            ),
            (
                "open_for_ms",
                petition.open_for_ms,
                self.min_open_for_ms,
                self.max_open_for_ms,
            ),
            (
                "response_due_ms",
                petition.response_due_ms,
                self.min_response_due_ms,
                self.max_response_due_ms,
            ),
            (
                "region_min_group",
                petition.region_min_group.into(),
                self.min_region_min_group.map(i64::from),
                None,
            ),
        ];
        for (field, value, min, max) in checks {
            if let Some(lo) = min.filter(|lo| value < *lo) {
                return Err(ProtocolError::invalid(
                    field,
                    format!("{value} is below the petitions office's published minimum min_{field} = {lo}"),
                ));
            }
            if let Some(hi) = max.filter(|hi| value > *hi) {
                return Err(ProtocolError::invalid(
                    field,
                    format!("{value} is above the petitions office's published maximum max_{field} = {hi}"),
                ));
            }
        }
        Ok(())
    }

    /// Whether no bound is set (the policy lifts every bound).
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// A proposal: the petition signed by its proposer's credential (the first sponsor).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PetitionProposal {
    /// The petition.
    pub petition: Petition,
    /// The proposer.
    pub proposer: CredentialPublicKey,
    /// Signature over the petition hash.
    pub signature: CredentialSignature,
}

impl Canonical for PetitionProposal {
    fn encode(&self, e: &mut Encoder) {
        self.petition.encode(e);
        e.raw32(&self.proposer.to_bytes())
            .point(&self.signature.0.t)
            .scalar(&self.signature.0.z);
    }
}

impl PetitionProposal {
    /// Sign a proposal.
    pub fn create(
        petition: Petition,
        credential: &Credential,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Self {
        let h = petition.canonical_hash();
        let mut t = new_transcript(PROPOSAL_PURPOSE, &h);
        let signature = credential.sign(&mut t, &h.0, rng);
        Self {
            petition,
            proposer: credential.public_key(),
            signature,
        }
    }

    /// Check the petition's rules and the proposer's signature and eligibility.
    pub fn verify(&self, electorate: &ElectorateIndex) -> Result<()> {
        self.petition.validate()?;
        if self.petition.electorate_hash != electorate.hash {
            return Err(ProtocolError::WrongScope {
                what: "electorate",
                scope: "petition",
            });
        }
        if !electorate.contains(&self.proposer) {
            return Err(ProtocolError::NotEligible(self.proposer.point().to_hex()));
        }
        let h = self.petition.canonical_hash();
        let mut t = new_transcript(PROPOSAL_PURPOSE, &h);
        self.signature
            .verify(&mut t, &self.proposer, &h.0)
            .map_err(|e| ProtocolError::crypto("signature", e))
    }
}

/// Sign or withdraw.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum SignatureAction {
    /// Add my signature.
    Sign,
    /// Withdraw my signature (only while the petition is open).
    Withdraw,
}

/// A citizen's signature on (or withdrawal from) a petition.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PetitionSignature {
    /// Which petition.
    pub petition_id: String,
    /// Hash of that petition (binds the text that was signed).
    pub petition_hash: Hash32,
    /// The signer.
    pub credential: CredentialPublicKey,
    /// Sign or withdraw.
    pub action: SignatureAction,
    /// Credential signature over the fields above.
    pub signature: CredentialSignature,
}

fn signature_message(
    petition_id: &str,
    petition_hash: &Hash32,
    credential: &CredentialPublicKey,
    action: SignatureAction,
) -> Vec<u8> {
    let mut e = Encoder::new();
    e.str(petition_id)
        .hash(petition_hash)
        .raw32(&credential.to_bytes())
        .u8(match action {
            SignatureAction::Sign => 0,
            SignatureAction::Withdraw => 1,
        });
    e.into_bytes()
}

impl Canonical for PetitionSignature {
    fn encode(&self, e: &mut Encoder) {
        let m = signature_message(
            &self.petition_id,
            &self.petition_hash,
            &self.credential,
            self.action,
        );
        e.bytes(&m)
            .point(&self.signature.0.t)
            .scalar(&self.signature.0.z);
    }
}

impl Hashable for PetitionSignature {
    const TAG: &'static str = "petition-signature";
}

impl PetitionSignature {
    /// Sign (or withdraw from) a petition.
    pub fn create(
        petition: &Petition,
        credential: &Credential,
        action: SignatureAction,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Self {
        let h = petition.canonical_hash();
        let pk = credential.public_key();
        let msg = signature_message(&petition.id, &h, &pk, action);
        let mut t = new_transcript(SIGNATURE_PURPOSE, &h);
        let signature = credential.sign(&mut t, &msg, rng);
        Self {
            petition_id: petition.id.clone(),
            petition_hash: h,
            credential: pk,
            action,
            signature,
        }
    }

    /// Hand the signature equation to `eq` after checking scope and eligibility.
    pub fn check(
        &self,
        petition_hash: &Hash32,
        electorate: &ElectorateIndex,
        eq: &mut impl Equations,
    ) -> Result<()> {
        check_signature_scope(&self.petition_id, &self.petition_hash, petition_hash)?;
        if !electorate.contains(&self.credential) {
            return Err(ProtocolError::NotEligible(self.credential.point().to_hex()));
        }
        let msg = signature_message(
            &self.petition_id,
            &self.petition_hash,
            &self.credential,
            self.action,
        );
        let mut t = new_transcript(SIGNATURE_PURPOSE, &self.petition_hash);
        self.signature
            .check(&mut t, &self.credential, &msg, eq)
            .map_err(|e| ProtocolError::crypto("signature", e))
    }

    /// Verify on its own.
    pub fn verify(&self, petition_hash: &Hash32, electorate: &ElectorateIndex) -> Result<()> {
        self.check(petition_hash, electorate, &mut SingleVerifier)
    }
}

/// Transcript purpose label of ring-signed petition signatures and withdrawals.
pub const RING_SIGNATURE_PURPOSE: &[u8] = b"petition-ring-signature";

/// A citizen's signature on (or withdrawal from) a ring-signed petition (07 §7.10): a
/// linkable ring signature over one of the rings derived from the petition's electorate
/// at the signature's leaf (13 §13.3). It names the ring and carries the linking tag,
/// never the credential: the tag is the same for every signature of one credential on
/// this petition (so a second signature is "the same tag twice" and a withdrawal names
/// the tag), and unlinkable to the credential and to its tags on other petitions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RingPetitionSignature {
    /// Which petition.
    pub petition_id: String,
    /// Hash of that petition (binds the text that was signed).
    pub petition_hash: Hash32,
    /// Sign or withdraw.
    pub action: SignatureAction,
    /// Hash of the derived ring the signer hides in (13 §13.3).
    pub ring: Hash32,
    /// The linking tag and the Triptych proof (13 §13.6).
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub signature: RingSignatureBytes,
}

/// A ring signature as the board carries it (13 §13.6): its bytes and its linking tag
/// (checked when read), the proof decoded only when it is verified.
///
/// Why not a decoded [`RingSignature`]: the citizen's web bundle decodes board entries
/// (to check receipts and ceremonies) but never verifies ring signatures, and the proof
/// decoder alone was 1.6 KB of the gzipped bundle (issue 15's 300 KB budget). Every
/// verifier decodes the proof strictly before checking it (R1), so a malformed proof is
/// refused by the server and fails V6.8, never counted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RingSignatureBytes {
    bytes: Vec<u8>,
    tag: LinkingTag,
}

impl RingSignatureBytes {
    /// The bytes of a signature.
    pub fn new(signature: &RingSignature) -> Self {
        Self {
            bytes: signature.to_bytes(),
            tag: *signature.tag(),
        }
    }

    /// Wrap bytes whose first 32 are a valid linking tag (canonical, not the identity)
    /// and whose length is at most that of a signature on the largest ring.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self> {
        let max = vox_crypto::ring::signature_len(vox_crypto::ring::RING_MAX_EXPONENT);
        if bytes.len() > max {
            return Err(ProtocolError::invalid(
                "signature",
                "longer than a ring signature on the largest ring",
            ));
        }
        let tag = bytes
            .get(..32)
            .ok_or_else(|| ProtocolError::invalid("signature", "shorter than a linking tag"))
            .and_then(|b| {
                LinkingTag::try_from_bytes(b).map_err(|e| ProtocolError::crypto("signature", e))
            })?;
        Ok(Self { bytes, tag })
    }

    /// The bytes (13 §13.6).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The linking tag J (the first 32 bytes).
    pub fn tag(&self) -> &LinkingTag {
        &self.tag
    }

    /// Decode the whole signature strictly (13 §13.8 R1).
    pub fn decode(&self) -> Result<RingSignature> {
        RingSignature::try_from_bytes(&self.bytes)
            .map_err(|e| ProtocolError::crypto("signature", e))
    }
}

impl Serialize for RingSignatureBytes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(&self.bytes))
    }
}

impl<'de> Deserialize<'de> for RingSignatureBytes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> core::result::Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        let bytes = hex::decode(text.as_ref())
            .map_err(|_| serde::de::Error::custom("ring signature: not lower-case hex"))?;
        if hex::encode(&bytes) != text {
            return Err(serde::de::Error::custom(
                "ring signature: not lower-case hex",
            ));
        }
        Self::from_bytes(bytes).map_err(serde::de::Error::custom)
    }
}

impl Canonical for RingPetitionSignature {
    fn encode(&self, e: &mut Encoder) {
        e.bytes(&self.message()).bytes(self.signature.as_bytes());
    }
}

impl Hashable for RingPetitionSignature {
    const TAG: &'static str = "petition-ring-signature";
}

impl RingPetitionSignature {
    /// Sign (or withdraw from) a ring-signed petition with the rings as they stand at the
    /// leaf the signature will get (the device derives them from the board itself).
    /// Errors if the credential is in none of the rings.
    pub fn create(
        petition: &Petition,
        rings: &RingSet,
        credential: &Credential,
        action: SignatureAction,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<Self> {
        let petition_hash = petition.canonical_hash();
        let (derived, slot) = rings.ring_of(&credential.public_key()).ok_or_else(|| {
            ProtocolError::invalid(
                "credential",
                "not in any ring of this petition: revoked, or a replacement enrolled after \
                 the petition was proposed (07 §7.10)",
            )
        })?;
        let ring = *derived.ring.hash();
        let tag_generator = petition_tag_generator(&petition_hash)?;
        let message = ring_signature_message(&petition.id, &petition_hash, &ring, action);
        let mut t = new_transcript(RING_SIGNATURE_PURPOSE, &petition_hash);
        let signature = vox_crypto::ring::sign(
            &mut t,
            credential,
            &derived.ring,
            slot,
            &tag_generator,
            &message,
            rng,
        )
        .map_err(|e| ProtocolError::crypto("signature", e))?;
        Ok(Self {
            petition_id: petition.id.clone(),
            petition_hash,
            action,
            ring,
            signature: RingSignatureBytes::new(&signature),
        })
    }

    /// The linking tag (what the petition counts).
    pub fn tag(&self) -> &LinkingTag {
        self.signature.tag()
    }

    /// The signed message: str(petition id) ‖ petition hash ‖ ring hash ‖ u8(action).
    pub fn message(&self) -> Vec<u8> {
        ring_signature_message(
            &self.petition_id,
            &self.petition_hash,
            &self.ring,
            self.action,
        )
    }

    /// The context transcript, before the signature's own appends (13 §13.5).
    pub fn transcript(&self) -> merlin::Transcript {
        new_transcript(RING_SIGNATURE_PURPOSE, &self.petition_hash)
    }

    /// The scope rules (V6.9): this petition, and a ring of `rings` (the rings derived at
    /// the signature's leaf). Returns the ring's position in `rings`.
    pub fn check_scope(&self, petition_hash: &Hash32, rings: &RingSet) -> Result<usize> {
        check_signature_scope(&self.petition_id, &self.petition_hash, petition_hash)?;
        rings.position_of(&self.ring).ok_or_else(|| {
            ProtocolError::invalid(
                "ring",
                "is not one of the petition's rings at this leaf (derive them again: a \
                 credential may have been revoked or replaced since)",
            )
        })
    }

    /// The statement to check (13 §13.8): the scope rules (V6.9) against `rings`, the
    /// proof decoded strictly (R1), the petition's tag generator U_p, the transcript and
    /// the message. Check it with [`crate::rings::verify_ring_statements`].
    pub fn statement<'r>(
        &self,
        petition_hash: &Hash32,
        rings: &'r RingSet,
    ) -> Result<crate::rings::RingStatement<'r>> {
        let pos = self.check_scope(petition_hash, rings)?;
        let ring = &rings
            .rings()
            .get(pos)
            .ok_or_else(|| ProtocolError::invalid("ring", "unknown"))?
            .ring;
        Ok(crate::rings::RingStatement {
            transcript: self.transcript(),
            proof: self.signature.decode()?,
            ring,
            tag_generator: petition_tag_generator(&self.petition_hash)?,
            message: self.message(),
        })
    }

    /// Check scope and the proof on its own (R1–R9 of 13 §13.8).
    pub fn verify(&self, petition_hash: &Hash32, rings: &RingSet) -> Result<()> {
        self.statement(petition_hash, rings)?.verify()
    }
}

/// One ring signature to check with [`verify_ring_batch`]: the signature, the hash of the
/// petition it is for, and that petition's rings as the checker derived them itself.
#[derive(Clone, Copy, Debug)]
pub struct RingCheck<'a> {
    /// The signature.
    pub signature: &'a RingPetitionSignature,
    /// The petition's hash.
    pub petition_hash: &'a Hash32,
    /// The petition's rings at the signature's leaf.
    pub rings: &'a RingSet,
}

/// Check many ring signatures at once (13 §13.8): the scope rules and decoding of each,
/// then every proof in one batch (random 128-bit weights from `rng`, each distinct
/// ring's points once in one multiscalar multiplication). When the batch fails, each
/// proof is checked alone, so the answer is exactly
/// `items.iter().map(|c| c.signature.verify(c.petition_hash, c.rings))`, only cheaper:
/// one result per item, in order.
///
/// Why: a lone proof on a 4,096-member ring costs one 4,096-point multiplication; a
/// server that verifies what arrived meanwhile as one batch pays it once per ring.
pub fn verify_ring_batch(
    items: &[RingCheck<'_>],
    rng: &mut (impl RngCore + CryptoRng),
) -> Vec<Result<()>> {
    let statements = items
        .iter()
        .map(|c| c.signature.statement(c.petition_hash, c.rings))
        .collect();
    crate::rings::verify_ring_statements(statements, rng)
}

/// The scope rules every petition signature shares (V6.2, V6.8): it names the petition's
/// hash and a well-formed petition id.
fn check_signature_scope(petition_id: &str, named: &Hash32, petition_hash: &Hash32) -> Result<()> {
    if named != petition_hash {
        return Err(ProtocolError::WrongScope {
            what: "signature",
            scope: "petition",
        });
    }
    if petition_id.is_empty() || petition_id.len() > 64 {
        return Err(ProtocolError::invalid(
            "petition_id",
            "must be 1 to 64 characters",
        ));
    }
    Ok(())
}

fn ring_signature_message(
    petition_id: &str,
    petition_hash: &Hash32,
    ring: &Hash32,
    action: SignatureAction,
) -> Vec<u8> {
    let mut e = Encoder::new();
    e.str(petition_id)
        .hash(petition_hash)
        .hash(ring)
        .u8(match action {
            SignatureAction::Sign => 0,
            SignatureAction::Withdraw => 1,
        });
    e.into_bytes()
}

/// Where a petition is in its lifecycle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum PetitionStage {
    /// Gathering sponsors.
    Proposed,
    /// Enough sponsors; waiting for the authority.
    AwaitingModeration,
    /// Published and collecting signatures.
    Open,
    /// Rejected by moderation (reason on the board).
    Rejected,
    /// Past its deadline.
    Closed,
}

impl PetitionStage {
    /// The API name (`proposed`, `awaiting-moderation`, `open`, `rejected`, `closed`).
    pub fn as_str(&self) -> &'static str {
        match self {
            PetitionStage::Proposed => "proposed",
            PetitionStage::AwaitingModeration => "awaiting-moderation",
            PetitionStage::Open => "open",
            PetitionStage::Rejected => "rejected",
            PetitionStage::Closed => "closed",
        }
    }
}

/// A moderation decision.
///
/// Serialized by serde's derive (internally tagged by `decision`); decoded by hand,
/// like [`crate::board::Payload`] (see its `Deserialize` impl for why): the same JSON
/// accepted and refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "decision", rename_all = "kebab-case")]
pub enum Moderation {
    /// Publish; open until `closes_at`. `referendum` fixes what the referendum
    /// threshold obliges (07 §7.4): the referendum the board creates by itself when the
    /// petition reaches it.
    Publish {
        /// Unix ms.
        closes_at: i64,
        /// The referendum the threshold triggers.
        referendum: ReferendumTerms,
    },
    /// Reject with a public reason.
    Reject {
        /// Shown to everyone.
        reason: String,
    },
}

/// The `decision` of a [`Moderation`]: serde's variant identifier of it.
#[derive(Clone, Copy, Deserialize)]
#[serde(variant_identifier, rename_all = "kebab-case")]
enum ModerationTag {
    Publish,
    Reject,
}

impl Moderation {
    fn from_buffered<E: serde::de::Error>(
        tag: ModerationTag,
        body: Buffered<'_>,
    ) -> core::result::Result<Self, E> {
        Ok(match tag {
            ModerationTag::Publish => {
                tagged_variant!(
                    Moderation,
                    body,
                    Publish {
                        closes_at: req,
                        referendum: req
                    }
                )
            }
            ModerationTag::Reject => tagged_variant!(Moderation, body, Reject { reason: req }),
        })
    }
}

/// Hand-written for the size of the web bundle, as [`crate::board::Payload`]'s: the
/// derive decoded the referendum terms (and their questions) a second time over serde's
/// private buffer, besides the copies the manifests need.
impl<'de> Deserialize<'de> for Moderation {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> core::result::Result<Self, D::Error> {
        let (tag, body) = d.deserialize_any(TaggedVisitor::<ModerationTag>::new(
            "decision",
            "internally tagged enum Moderation",
        ))?;
        Moderation::from_buffered(tag, body)
    }
}

/// What a petition's referendum threshold obliges, fixed by the petitions office when it
/// publishes the petition (07 §7.4): the questions, and the schedule relative to the
/// moment the threshold is reached. With the standing trustee panel in force at that
/// moment it determines the whole manifest, so the referendum needs no one's decision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ReferendumTerms {
    /// The referendum's id on this board (reserved from publication on).
    pub referendum_id: String,
    /// Its title.
    pub title: String,
    /// Its description.
    pub description: String,
    /// The questions, in ballot order.
    pub questions: Vec<Question>,
    /// Voting opens this long after the referendum is triggered (the key ceremony runs
    /// in between).
    pub opens_after_ms: i64,
    /// Voting lasts this long.
    pub voting_ms: i64,
    /// Pseudonymous (the default, omitted) or anonymous ballots (04 §4.10): the office
    /// decides when it publishes, e.g. anonymous for a ring-signed petition.
    #[serde(default, skip_serializing_if = "Participation::is_pseudonymous")]
    pub participation: Participation,
}

impl Canonical for ReferendumTerms {
    fn encode(&self, e: &mut Encoder) {
        e.str(&self.referendum_id)
            .str(&self.title)
            .str(&self.description)
            .seq(&self.questions)
            .i64(self.opens_after_ms)
            .i64(self.voting_ms)
            .u8(self.participation.code());
    }
}

impl ReferendumTerms {
    /// The rules of 07 §7.4 on terms: an id of 1 to 64 bytes, valid questions (04 §4.2),
    /// positive durations whose schedule does not overflow.
    pub fn validate(&self) -> Result<()> {
        if self.referendum_id.is_empty() || self.referendum_id.len() > 64 {
            return Err(ProtocolError::invalid(
                "referendum/referendum_id",
                "must be 1 to 64 characters",
            ));
        }
        validate_questions(&self.questions)
            .map_err(|e| ProtocolError::invalid("referendum/questions", e.to_string()))?;
        if self.opens_after_ms <= 0 || self.voting_ms <= 0 {
            return Err(ProtocolError::invalid(
                "referendum",
                "opens_after_ms and voting_ms must be positive",
            ));
        }
        if !matches!(self.opens_after_ms.checked_add(self.voting_ms), Some(d) if d <= MAX_SCHEDULE_MS)
        {
            return Err(ProtocolError::invalid(
                "referendum",
                "opens_after_ms + voting_ms must be at most ten years",
            ));
        }
        Ok(())
    }

    /// The manifest of the referendum these terms oblige, triggered at board time
    /// `triggered_at` by `petition` with `panel` in force (07 §7.4).
    pub fn manifest(
        &self,
        petition: &Petition,
        panel: &TrusteePanel,
        triggered_at: i64,
    ) -> Manifest {
        let opens_at = triggered_at.saturating_add(self.opens_after_ms);
        Manifest {
            version: MANIFEST_VERSION,
            referendum_id: self.referendum_id.clone(),
            title: self.title.clone(),
            description: self.description.clone(),
            questions: self.questions.clone(),
            opens_at,
            closes_at: opens_at.saturating_add(self.voting_ms),
            electorate_hash: petition.electorate_hash,
            trustees: panel.trustees.clone(),
            threshold: panel.threshold,
            answer_due_ms: panel.answer_due_ms,
            decryption_due_ms: panel.decryption_due_ms,
            source_petition: Some(petition.id.clone()),
            participation: self.participation,
        }
    }
}

/// The longest schedule referendum terms may fix (opens_after_ms + voting_ms): ten years.
pub const MAX_SCHEDULE_MS: i64 = 10 * 366 * 86_400_000;

/// Which threshold was reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum ThresholdKind {
    /// Enough sponsors for moderation.
    Sponsor,
    /// An official response is due.
    Response,
    /// An advisory referendum is triggered.
    Referendum,
}

impl ThresholdKind {
    /// The API name (`sponsor`, `response`, `referendum`).
    pub fn as_str(self) -> &'static str {
        match self {
            ThresholdKind::Sponsor => "sponsor",
            ThresholdKind::Response => "response",
            ThresholdKind::Referendum => "referendum",
        }
    }
}

/// Events the tracker derives from a signature: thresholds crossed by it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Crossed(pub Vec<(ThresholdKind, u64)>);

/// The state of one petition, recomputed from board entries.
#[derive(Clone, Debug)]
pub struct PetitionTracker {
    /// The petition.
    pub petition: Petition,
    /// Its hash.
    pub hash: Hash32,
    /// Current stage.
    pub stage: PetitionStage,
    /// Signing closes at (set at publication).
    pub closes_at: Option<i64>,
    /// Response deadline (set when the response threshold is reached).
    pub response_due_by: Option<i64>,
    /// The official response, once given.
    pub response: Option<String>,
    /// Referendum created from this petition.
    pub referendum_id: Option<String>,
    /// What the referendum threshold obliges (set at publication).
    pub terms: Option<ReferendumTerms>,
    /// When each threshold was reached (board time of the entry that crossed it).
    pub reached_at: HashMap<ThresholdKind, i64>,
    /// When the official response was given.
    pub responded_at: Option<i64>,
    /// Thresholds already reached.
    pub reached: HashSet<ThresholdKind>,
    signers: HashSet<[u8; 32]>,
    withdrawn: HashSet<[u8; 32]>,
    invalidated: HashSet<[u8; 32]>,
    regions: HashMap<[u8; 32], Option<String>>,
    /// Current signers per region (those with a region), kept as signers come and go so
    /// that a petition page (read on every GET) does not recount every signer.
    per_region: HashMap<String, u64>,
}

impl PetitionTracker {
    /// Start tracking a verified proposal; the proposer is the first sponsor.
    /// For a ring-signed petition (07 §7.10) the proposer is not counted: their tag is
    /// unknown, so they sign like everyone else.
    pub fn new(proposal: &PetitionProposal, proposer_region: Option<&str>) -> Self {
        let mut signers = HashSet::new();
        let mut regions = HashMap::new();
        let mut per_region = HashMap::new();
        if proposal.petition.signatures == SignatureScheme::Credential {
            signers.insert(proposal.proposer.to_bytes());
            regions.insert(
                proposal.proposer.to_bytes(),
                proposer_region.map(str::to_owned),
            );
            if let Some(r) = proposer_region {
                per_region.insert(r.to_owned(), 1);
            }
        }
        Self {
            hash: proposal.petition.canonical_hash(),
            petition: proposal.petition.clone(),
            stage: PetitionStage::Proposed,
            closes_at: None,
            response_due_by: None,
            response: None,
            referendum_id: None,
            terms: None,
            reached_at: HashMap::new(),
            responded_at: None,
            reached: HashSet::new(),
            signers,
            withdrawn: HashSet::new(),
            invalidated: HashSet::new(),
            regions,
            per_region,
        }
    }

    /// Current number of valid signatures (signed, not withdrawn, not invalidated).
    pub fn count(&self) -> u64 {
        self.signers.len() as u64
    }

    /// Whether a credential currently counts as a signer.
    pub fn has_signed(&self, credential: &CredentialPublicKey) -> bool {
        self.signers.contains(&credential.to_bytes())
    }

    /// Whether this credential signed (even if it later withdrew or was invalidated): a
    /// replacement of it may not sign (04 §4.1.3).
    pub fn has_taken_part(&self, credential: &[u8; 32]) -> bool {
        self.signers.contains(credential)
            || self.withdrawn.contains(credential)
            || self.invalidated.contains(credential)
    }

    /// Apply a (verified) signature or withdrawal at time `now`
    /// (protocol-spec/07-petitions.md §7.3).
    /// Returns the thresholds this signature makes the petition cross: the board must
    /// carry exactly these threshold entries right after it.
    pub fn apply_signature(
        &mut self,
        sig: &PetitionSignature,
        region: Option<&str>,
        now: i64,
    ) -> Result<Crossed> {
        self.expect_scheme(SignatureScheme::Credential)?;
        self.apply_signer(sig.credential.to_bytes(), sig.action, region, now)
    }

    /// Apply a (verified) ring signature or withdrawal at time `now` (07 §7.10): the same
    /// rules as [`PetitionTracker::apply_signature`], with the linking tag in place of the
    /// credential and the region of the signature's ring.
    pub fn apply_ring_signature(
        &mut self,
        sig: &RingPetitionSignature,
        region: Option<&str>,
        now: i64,
    ) -> Result<Crossed> {
        self.expect_scheme(SignatureScheme::Ring)?;
        self.apply_signer(sig.tag().to_bytes(), sig.action, region, now)
    }

    fn expect_scheme(&self, scheme: SignatureScheme) -> Result<()> {
        if self.petition.signatures == scheme {
            Ok(())
        } else {
            Err(ProtocolError::invalid(
                "signature",
                match self.petition.signatures {
                    SignatureScheme::Credential => {
                        "this petition takes credential signatures (07 §7.3), not ring signatures"
                    }
                    SignatureScheme::Ring => {
                        "this petition takes ring signatures (07 §7.10), not credential signatures"
                    }
                },
            ))
        }
    }

    /// One signer (a credential, or a linking tag on a ring-signed petition) signs or
    /// withdraws.
    fn apply_signer(
        &mut self,
        key: [u8; 32],
        action: SignatureAction,
        region: Option<&str>,
        now: i64,
    ) -> Result<Crossed> {
        let who = match self.petition.signatures {
            SignatureScheme::Credential => "credential",
            SignatureScheme::Ring => "linking tag",
        };
        match action {
            SignatureAction::Sign => {
                match self.stage {
                    PetitionStage::Proposed | PetitionStage::AwaitingModeration => {}
                    PetitionStage::Open => {
                        if self.closes_at.is_some_and(|c| now >= c) {
                            return Err(ProtocolError::invalid("petition", "petition is closed"));
                        }
                    }
                    _ => {
                        return Err(ProtocolError::invalid(
                            "petition",
                            "petition is not open for signatures",
                        ))
                    }
                }
                if self.signers.contains(&key) {
                    return Err(ProtocolError::invalid(
                        who,
                        "this signer has already signed (the same credential, or the same \
                         linking tag)",
                    ));
                }
                if self.withdrawn.contains(&key) || self.invalidated.contains(&key) {
                    return Err(ProtocolError::invalid(
                        who,
                        "this signer withdrew or was invalidated and cannot sign again",
                    ));
                }
                self.signers.insert(key);
                self.regions.insert(key, region.map(str::to_owned));
                if let Some(r) = region {
                    *self.per_region.entry(r.to_owned()).or_default() += 1;
                }
                Ok(self.crossed(now))
            }
            SignatureAction::Withdraw => {
                if self.stage != PetitionStage::Open || self.closes_at.is_some_and(|c| now >= c) {
                    return Err(ProtocolError::invalid(
                        "petition",
                        "signatures can be withdrawn only while the petition is open",
                    ));
                }
                if !self.signers.remove(&key) {
                    return Err(ProtocolError::invalid(who, "this signer has not signed"));
                }
                self.uncount_region(&key);
                self.withdrawn.insert(key);
                Ok(Crossed::default())
            }
        }
    }

    fn crossed(&mut self, now: i64) -> Crossed {
        let n = self.count();
        let p = &self.petition;
        let mut out = Vec::new();
        let checks = [
            (
                ThresholdKind::Sponsor,
                u64::from(p.sponsor_threshold),
                self.stage == PetitionStage::Proposed,
            ),
            (
                ThresholdKind::Response,
                u64::from(p.response_threshold),
                self.stage == PetitionStage::Open,
            ),
            (
                ThresholdKind::Referendum,
                u64::from(p.referendum_threshold),
                self.stage == PetitionStage::Open,
            ),
        ];
        for (kind, threshold, applies) in checks {
            if applies && n >= threshold && !self.reached.contains(&kind) {
                out.push((kind, n));
            }
        }
        for (kind, _) in &out {
            self.reach(*kind, now);
        }
        Crossed(out)
    }

    fn reach(&mut self, kind: ThresholdKind, now: i64) {
        self.reached.insert(kind);
        self.reached_at.insert(kind, now);
        match kind {
            ThresholdKind::Sponsor => self.stage = PetitionStage::AwaitingModeration,
            ThresholdKind::Response => {
                self.response_due_by = Some(now.saturating_add(self.petition.response_due_ms))
            }
            ThresholdKind::Referendum => {}
        }
    }

    /// Apply a moderation decision. Publication may cross thresholds at once
    /// (sponsors count as signatures), which are returned like for a signature.
    pub fn apply_moderation(&mut self, m: &Moderation, now: i64) -> Result<Crossed> {
        if !matches!(
            self.stage,
            PetitionStage::AwaitingModeration | PetitionStage::Proposed
        ) {
            return Err(ProtocolError::invalid(
                "petition",
                "only a proposed petition can be moderated",
            ));
        }
        match m {
            Moderation::Publish {
                closes_at,
                referendum,
            } => {
                referendum.validate()?;
                if *closes_at <= now || *closes_at > now.saturating_add(self.petition.open_for_ms) {
                    return Err(ProtocolError::invalid(
                        "closes_at",
                        "must be in the future and at most the petition's open period away",
                    ));
                }
                if self.stage != PetitionStage::AwaitingModeration {
                    return Err(ProtocolError::invalid(
                        "petition",
                        "needs its sponsors before it can be published",
                    ));
                }
                self.stage = PetitionStage::Open;
                self.closes_at = Some(*closes_at);
                self.terms = Some(referendum.clone());
                Ok(self.crossed(now))
            }
            Moderation::Reject { reason } => {
                if reason.trim().is_empty() {
                    return Err(ProtocolError::invalid(
                        "reason",
                        "a rejection needs a public reason",
                    ));
                }
                self.stage = PetitionStage::Rejected;
                Ok(Crossed::default())
            }
        }
    }

    /// Record the official response given at board time `now`.
    pub fn apply_response(&mut self, text: &str, now: i64) -> Result<()> {
        if !self.reached.contains(&ThresholdKind::Response) {
            return Err(ProtocolError::invalid("petition", "no response is due"));
        }
        if self.response.is_some() {
            return Err(ProtocolError::invalid("petition", "already responded"));
        }
        if text.trim().is_empty() {
            return Err(ProtocolError::invalid("text", "empty response"));
        }
        self.response = Some(text.to_owned());
        self.responded_at = Some(now);
        Ok(())
    }

    /// Invalidate signatures (e.g. proven fraud): they stop counting; the entry is public.
    /// A credential-signed petition's invalidation names credentials and no tags, a
    /// ring-signed one's names linking tags and no credentials (07 §7.10).
    pub fn apply_invalidation(
        &mut self,
        credentials: &[CredentialPublicKey],
        tags: &[LinkingTag],
    ) -> Result<u64> {
        // Check everything first, so a refused invalidation changes nothing.
        let (field, listed): (&str, Vec<[u8; 32]>) = match self.petition.signatures {
            SignatureScheme::Credential if tags.is_empty() => (
                "credentials",
                credentials
                    .iter()
                    .map(CredentialPublicKey::to_bytes)
                    .collect(),
            ),
            SignatureScheme::Ring if credentials.is_empty() => {
                ("tags", tags.iter().map(LinkingTag::to_bytes).collect())
            }
            SignatureScheme::Credential => {
                return Err(ProtocolError::invalid(
                    "tags",
                    "this petition is credential-signed: name credentials, not tags",
                ))
            }
            SignatureScheme::Ring => {
                return Err(ProtocolError::invalid(
                    "credentials",
                    "this petition is ring-signed: name linking tags, not credentials",
                ))
            }
        };
        let keys: HashSet<[u8; 32]> = listed.iter().copied().collect();
        if keys.len() != listed.len() || listed.is_empty() {
            return Err(ProtocolError::invalid(
                field,
                "a non-empty list without duplicates",
            ));
        }
        if !keys.iter().all(|k| self.signers.contains(k)) {
            return Err(ProtocolError::invalid(
                field,
                "can only invalidate current signers",
            ));
        }
        for k in keys {
            self.signers.remove(&k);
            self.uncount_region(&k);
            self.invalidated.insert(k);
        }
        Ok(listed.len() as u64)
    }

    /// Close at the deadline.
    pub fn apply_close(&mut self, now: i64) -> Result<()> {
        match (self.stage.clone(), self.closes_at) {
            (PetitionStage::Open, Some(c)) if now >= c => {
                self.stage = PetitionStage::Closed;
                Ok(())
            }
            _ => Err(ProtocolError::invalid(
                "petition",
                "not open or not past its deadline",
            )),
        }
    }

    /// Whether the official response is overdue at `now`.
    pub fn response_overdue(&self, now: i64) -> bool {
        self.response.is_none() && self.response_due_by.is_some_and(|d| now > d)
    }

    /// A signer who was counted leaves (withdrawal, invalidation): its region's count
    /// goes down.
    fn uncount_region(&mut self, key: &[u8; 32]) {
        if let Some(Some(r)) = self.regions.get(key) {
            if let Some(n) = self.per_region.get_mut(r) {
                *n = n.saturating_sub(1);
            }
        }
    }

    /// Signature counts per region, omitting regions below `region_min_group` (privacy).
    pub fn region_counts(&self) -> Vec<(String, u64)> {
        let min = u64::from(self.petition.region_min_group);
        let mut v: Vec<(String, u64)> = self
            .per_region
            .iter()
            .filter(|(_, n)| **n >= min && **n > 0)
            .map(|(r, n)| (r.clone(), *n))
            .collect();
        v.sort();
        v
    }

    /// The manifest of the referendum this petition must trigger now: `Some` right after
    /// its referendum threshold was reached (the board appends it as a
    /// `referendum-triggered` entry immediately after that threshold entry, 07 §7.4), `None`
    /// when nothing is due.
    pub fn due_referendum(&self, panel: Option<&TrusteePanel>, now: i64) -> Option<Manifest> {
        if self.referendum_id.is_some() || !self.reached.contains(&ThresholdKind::Referendum) {
            return None;
        }
        let terms = self.terms.as_ref()?;
        Some(terms.manifest(&self.petition, panel?, now))
    }

    /// Apply a `referendum-triggered` entry at board time `now`: the petition reached its
    /// referendum threshold, triggered nothing yet, and the manifest is exactly the one its
    /// terms and the panel in force determine (07 §7.4).
    pub fn apply_referendum_triggered(
        &mut self,
        manifest: &Manifest,
        panel: Option<&TrusteePanel>,
        now: i64,
    ) -> Result<()> {
        if !self.reached.contains(&ThresholdKind::Referendum) {
            return Err(ProtocolError::invalid(
                "source_petition",
                "petition has not reached its referendum threshold",
            ));
        }
        if self.referendum_id.is_some() {
            return Err(ProtocolError::invalid(
                "source_petition",
                "petition already triggered a referendum",
            ));
        }
        let Some(expected) = self.due_referendum(panel, now) else {
            return Err(ProtocolError::invalid(
                "manifest",
                "no referendum terms or no standing trustee panel",
            ));
        };
        if &expected != manifest {
            return Err(ProtocolError::invalid(
                "manifest",
                "differs from the manifest the petition's terms and the standing panel determine",
            ));
        }
        self.referendum_id = Some(manifest.referendum_id.clone());
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn petition() -> Petition {
        Petition {
            id: "p".into(),
            action: "Plant trees".into(),
            background: "Shade".into(),
            details: String::new(),
            electorate_hash: Hash32([1; 32]),
            sponsor_threshold: 5,
            response_threshold: 100,
            referendum_threshold: 1000,
            open_for_ms: 30 * 86_400_000,
            response_due_ms: 14 * 86_400_000,
            region_min_group: 10,
            signatures: Default::default(),
        }
    }

    /// Terms of a yes/no referendum `r`, opening and lasting 1 s.
    fn yes_no_terms(participation: Participation) -> ReferendumTerms {
        ReferendumTerms {
            referendum_id: "r".into(),
            title: "T".into(),
            description: String::new(),
            questions: vec![Question {
                id: "q".into(),
                text: "Yes?".into(),
                options: vec!["yes".into(), "no".into()],
                kind: crate::manifest::QuestionKind::YesNo,
            }],
            opens_after_ms: 1_000,
            voting_ms: 1_000,
            participation,
        }
    }

    /// The office's choice of participation reaches the triggered manifest (07 §7.4),
    /// and is part of the terms' canonical bytes (so of the signed publication).
    #[test]
    fn terms_decide_the_triggered_referendums_participation() {
        let terms = yes_no_terms(Participation::Anonymous);
        let panel = TrusteePanel {
            trustees: Vec::new(),
            threshold: 1,
            answer_due_ms: 1,
            decryption_due_ms: 1,
        };
        let m = terms.manifest(&petition(), &panel, 0);
        assert_eq!(m.participation, Participation::Anonymous);
        let pseudonymous = ReferendumTerms {
            participation: Participation::Pseudonymous,
            ..terms.clone()
        };
        assert_eq!(
            pseudonymous.manifest(&petition(), &panel, 0).participation,
            Participation::Pseudonymous
        );
        let (a, b) = (terms.canonical_bytes(), pseudonymous.canonical_bytes());
        assert_eq!(a.len(), b.len());
        assert_eq!((a.last(), b.last()), (Some(&1), Some(&0)));
        let json = serde_json::to_value(&pseudonymous).unwrap();
        assert!(
            json.get("participation").is_none(),
            "the default is omitted"
        );
    }

    /// The per-region counts kept as signers come and go are what recounting every
    /// current signer gives (07 §7.6), through signatures, withdrawals and an
    /// invalidation; a region below the minimum group is withheld.
    #[test]
    #[allow(clippy::indexing_slicing)]
    fn region_counts_follow_signers_withdrawals_and_invalidations() {
        use rand::SeedableRng;
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        let creds: Vec<Credential> = (0..12).map(|_| Credential::generate(&mut rng)).collect();
        let p = Petition {
            sponsor_threshold: 1,
            region_min_group: 2,
            signatures: SignatureScheme::Credential,
            ..petition()
        };
        let proposal = PetitionProposal::create(p.clone(), &creds[0], &mut rng);
        let mut t = PetitionTracker::new(&proposal, Some("north"));
        let region = |i: usize| match i % 3 {
            0 => Some("north"),
            1 => Some("south"),
            _ => None,
        };
        let recount = |t: &PetitionTracker| {
            let mut m: HashMap<String, u64> = HashMap::new();
            for k in &t.signers {
                if let Some(Some(r)) = t.regions.get(k) {
                    *m.entry(r.clone()).or_default() += 1;
                }
            }
            let mut v: Vec<(String, u64)> = m.into_iter().filter(|(_, n)| *n >= 2).collect();
            v.sort();
            v
        };
        let sign =
            |t: &mut PetitionTracker, i: usize, action, rng: &mut rand_chacha::ChaCha20Rng| {
                let sig = PetitionSignature::create(&p, &creds[i], action, rng);
                t.apply_signature(&sig, region(i), 0).unwrap();
            };
        // The proposer (north) counts; one more north signer before publication.
        sign(&mut t, 3, SignatureAction::Sign, &mut rng);
        assert_eq!(t.region_counts(), vec![("north".to_owned(), 2)]);
        let publish = Moderation::Publish {
            closes_at: 1_000_000,
            referendum: yes_no_terms(Participation::Pseudonymous),
        };
        t.apply_moderation(&publish, 0).unwrap();
        for i in 4..12 {
            sign(&mut t, i, SignatureAction::Sign, &mut rng);
            assert_eq!(t.region_counts(), recount(&t), "after signer {i}");
        }
        for i in [4, 5] {
            sign(&mut t, i, SignatureAction::Withdraw, &mut rng);
            assert_eq!(t.region_counts(), recount(&t), "after withdrawal {i}");
        }
        t.apply_invalidation(&[creds[7].public_key(), creds[6].public_key()], &[])
            .unwrap();
        assert_eq!(t.region_counts(), recount(&t));
        // north: 0, 3, 9 (6 invalidated); south: 10 (4 withdrew, 7 invalidated) is
        // below the group of 2 and withheld.
        assert_eq!(t.region_counts(), vec![("north".to_owned(), 3)]);
    }

    fn field_of(e: ProtocolError) -> String {
        match e {
            ProtocolError::Invalid { field, .. } => field,
            other => panic!("not an invalid-field error: {other}"),
        }
    }

    #[test]
    fn empty_policy_accepts_every_valid_petition() {
        let p = PetitionPolicy::default();
        assert!(p.is_empty());
        p.validate().unwrap();
        p.check(&petition()).unwrap();
    }

    #[test]
    fn each_bound_names_the_field_it_refuses() {
        let ok = petition();
        let cases: Vec<(PetitionPolicy, &str)> = vec![
            (
                PetitionPolicy {
                    min_sponsor_threshold: Some(6),
                    ..Default::default()
                },
                "sponsor_threshold",
            ),
            (
                PetitionPolicy {
                    min_response_threshold: Some(101),
                    ..Default::default()
                },
                "response_threshold",
            ),
            (
                PetitionPolicy {
                    max_response_threshold: Some(99),
                    ..Default::default()
                },
                "response_threshold",
            ),
            (
                PetitionPolicy {
                    min_referendum_threshold: Some(1001),
                    ..Default::default()
                },
                "referendum_threshold",
            ),
            (
                PetitionPolicy {
                    max_referendum_threshold: Some(999),
                    ..Default::default()
                },
                "referendum_threshold",
            ),
            (
                PetitionPolicy {
                    min_open_for_ms: Some(ok.open_for_ms + 1),
                    ..Default::default()
                },
                "open_for_ms",
            ),
            (
                PetitionPolicy {
                    max_open_for_ms: Some(ok.open_for_ms - 1),
                    ..Default::default()
                },
                "open_for_ms",
            ),
            (
                PetitionPolicy {
                    min_response_due_ms: Some(ok.response_due_ms + 1),
                    ..Default::default()
                },
                "response_due_ms",
            ),
            (
                PetitionPolicy {
                    max_response_due_ms: Some(ok.response_due_ms - 1),
                    ..Default::default()
                },
                "response_due_ms",
            ),
            (
                PetitionPolicy {
                    min_region_min_group: Some(11),
                    ..Default::default()
                },
                "region_min_group",
            ),
        ];
        for (policy, field) in cases {
            policy.validate().unwrap();
            assert_eq!(field_of(policy.check(&ok).unwrap_err()), field);
        }
        // Bounds met exactly are met.
        let exact = PetitionPolicy {
            min_sponsor_threshold: Some(5),
            min_response_threshold: Some(100),
            max_response_threshold: Some(100),
            min_referendum_threshold: Some(1000),
            max_referendum_threshold: Some(1000),
            min_open_for_ms: Some(ok.open_for_ms),
            max_open_for_ms: Some(ok.open_for_ms),
            min_response_due_ms: Some(ok.response_due_ms),
            max_response_due_ms: Some(ok.response_due_ms),
            min_region_min_group: Some(10),
        };
        exact.validate().unwrap();
        exact.check(&ok).unwrap();
    }

    #[test]
    fn a_policy_no_proposal_could_meet_is_refused() {
        let bad = PetitionPolicy {
            min_response_threshold: Some(10),
            max_response_threshold: Some(9),
            ..Default::default()
        };
        assert_eq!(
            field_of(bad.validate().unwrap_err()),
            "max_response_threshold"
        );
        let bad = PetitionPolicy {
            min_open_for_ms: Some(0),
            ..Default::default()
        };
        assert_eq!(field_of(bad.validate().unwrap_err()), "min_open_for_ms");
    }

    #[test]
    fn absent_and_zero_bounds_encode_differently() {
        let none = PetitionPolicy::default();
        let zero = PetitionPolicy {
            min_sponsor_threshold: Some(0),
            ..Default::default()
        };
        assert_ne!(none.canonical_bytes(), zero.canonical_bytes());
        assert_eq!(none.canonical_bytes(), vec![0u8; 10]);
        // JSON leaves absent bounds out and refuses unknown ones.
        assert_eq!(serde_json::to_string(&none).unwrap(), "{}");
        assert!(serde_json::from_str::<PetitionPolicy>(r#"{"max_sponsors":3}"#).is_err());
    }
}
