//! The bulletin board: an append-only RFC 6962 Merkle log of every public message,
//! with Ed25519-signed tree heads and signed voter receipts (protocol-spec/08-board.md).

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::de;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use vox_crypto::credential::CredentialPublicKey;
use vox_crypto::elgamal::{Ciphertext, ElectionPublicKey};
use vox_crypto::ring::LinkingTag;
use vox_crypto::{Hash32, Point};

use crate::ballot::{AuditedBallot, Ballot};
use crate::buffered::{self, tagged_variant, Buffered, TaggedVisitor};
use crate::ceremony::{CeremonyMessage, DecryptionShareMessage};
use crate::electorate::{Electorate, EnrolmentRequest};
use crate::encoding::{Canonical, Encoder, Hashable};
use crate::enrolment::EnrolmentOpening;
use crate::error::{ProtocolError, Result};
use crate::manifest::{Manifest, TrusteePanel};
use crate::merkle::{leaf_hash, verify_inclusion, NodeHash};
use crate::petition::{
    Moderation, PetitionPolicy, PetitionProposal, PetitionSignature, RingPetitionSignature,
    ThresholdKind,
};
use crate::roles::{ActSignature, Genesis, Role, WitnessPolicy};
use crate::tally::ReferendumResult;
use crate::tlog;

/// An Ed25519 public key: the board operator's (which signs tree heads), a role's
/// (protocol-spec/11-roles.md) or a witness's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BoardPublicKey(pub VerifyingKey);

impl BoardPublicKey {
    /// The log id: SHA-256("vox/v2/log-id" ‖ 0x00 ‖ key bytes).
    pub fn log_id(&self) -> Hash32 {
        Hash32::sha256(&[b"vox/v2/log-id", &[0u8], self.0.as_bytes()])
    }
    /// Hex of the 32 key bytes.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0.as_bytes())
    }
    /// Parse 64 hex characters; rejects invalid or weak (small-order) keys.
    pub fn from_hex(s: &str) -> Result<Self> {
        let bytes = hex::decode(s).map_err(|_| ProtocolError::invalid("public_key", "not hex"))?;
        let arr: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| ProtocolError::invalid("public_key", "expected 32 bytes"))?;
        let k = VerifyingKey::from_bytes(&arr)
            .map_err(|_| ProtocolError::invalid("public_key", "not an Ed25519 key"))?;
        if k.is_weak() {
            return Err(ProtocolError::invalid("public_key", "weak Ed25519 key"));
        }
        Ok(Self(k))
    }
}

impl Serialize for BoardPublicKey {
    fn serialize<S: Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}
impl<'de> Deserialize<'de> for BoardPublicKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> core::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        BoardPublicKey::from_hex(&s).map_err(serde::de::Error::custom)
    }
}

/// An Ed25519 signature, as 128 hex characters on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sig(pub Signature);

impl Serialize for Sig {
    fn serialize<S: Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(self.0.to_bytes()))
    }
}
impl<'de> Deserialize<'de> for Sig {
    fn deserialize<D: Deserializer<'de>>(d: D) -> core::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let bytes = hex::decode(s).map_err(serde::de::Error::custom)?;
        let arr: [u8; 64] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| serde::de::Error::custom("signature must be 64 bytes"))?;
        Ok(Sig(Signature::from_bytes(&arr)))
    }
}

/// A tree head: size, root and time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TreeHead {
    /// Number of leaves.
    pub tree_size: u64,
    /// RFC 6962 root hash.
    pub root_hash: NodeHash,
    /// When it was signed (Unix ms, never negative).
    pub timestamp_ms: i64,
}

/// The checkpoint extension line that carries a tree head's time (08 §8.3):
/// `vox-timestamp-ms <decimal>`.
pub const TIMESTAMP_EXTENSION: &str = "vox-timestamp-ms";

impl TreeHead {
    /// The C2SP checkpoint of this head (08 §8.3, 12 §12.3): the log's origin, the size,
    /// the root, and one extension line with the time.
    ///
    /// # Errors
    /// An origin that is not a valid checkpoint origin and key name, or a negative time.
    pub fn checkpoint(&self, origin: &str) -> Result<tlog::Checkpoint> {
        let bad_origin = |_| ProtocolError::invalid("origin", "not a valid checkpoint origin");
        tlog::KeyName::new(origin).map_err(bad_origin)?;
        if self.timestamp_ms < 0 {
            return Err(ProtocolError::invalid("timestamp_ms", "negative"));
        }
        Ok(tlog::Checkpoint {
            origin: tlog::Origin::new(origin).map_err(bad_origin)?,
            size: self.tree_size,
            root: self.root_hash,
            extensions: vec![format!("{TIMESTAMP_EXTENSION} {}", self.timestamp_ms)],
        })
    }

    /// The checkpoint text: what the board's note signature and every `cosignature/v1`
    /// sign (12 §12.2, §12.4).
    ///
    /// # Errors
    /// As [`TreeHead::checkpoint`].
    pub fn checkpoint_text(&self, origin: &str) -> Result<String> {
        self.checkpoint(origin)?
            .to_text()
            .map_err(|e| ProtocolError::invalid("checkpoint", e.to_string()))
    }
}

/// A witness's `cosignature/v1` on a checkpoint it checked for consistency (08 §8.4,
/// 12 §12.4).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Cosignature {
    /// The witness's Ed25519 key.
    pub witness: BoardPublicKey,
    /// The witness's key name (a C2SP key name). Not signed by the cosignature itself,
    /// but part of its key ID: the note line is `— <name> base64(key ID ‖ time ‖ sig)`.
    pub name: String,
    /// When the witness cosigned (POSIX seconds, 1 ..= 2^63 − 1).
    pub timestamp: u64,
    /// Ed25519 over `cosignature/v1\ntime <timestamp>\n` ‖ the checkpoint text.
    pub signature: Sig,
}

impl Cosignature {
    /// The C2SP verifier key of this witness (type 0x04, under its name).
    ///
    /// # Errors
    /// A name that is not a valid key name.
    pub fn verifier_key(&self) -> Result<tlog::VerifierKey> {
        let name = tlog::KeyName::new(&self.name)
            .map_err(|_| ProtocolError::invalid("cosignature/name", "not a valid key name"))?;
        Ok(tlog::VerifierKey::new(
            name,
            tlog::KeyType::CosignatureV1,
            self.witness.0,
        ))
    }

    /// The note signature line of this cosignature.
    ///
    /// # Errors
    /// As [`Cosignature::verifier_key`].
    pub fn note_signature(&self) -> Result<tlog::NoteSignature> {
        let vkey = self.verifier_key()?;
        let c = tlog::CosignatureV1 {
            timestamp: self.timestamp,
            signature: self.signature.0,
        };
        Ok(tlog::NoteSignature {
            name: vkey.name().clone(),
            key_id: vkey.key_id(),
            signature: c.to_signature_bytes(),
        })
    }
}

/// A tree head signed by the log's key: a C2SP checkpoint signed note (08 §8.3), kept
/// as its fields plus the signature so that the JSON stays readable; [`SignedTreeHead::to_note`]
/// gives the note byte for byte.
///
/// Serialized by serde's derive (the head's fields flattened in); decoded by hand (see
/// the `Deserialize` impl below): the same JSON accepted and refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignedTreeHead {
    /// The checkpoint origin: the genesis `log_name`, also the board key's note key name.
    pub origin: String,
    /// The head.
    #[serde(flatten)]
    pub head: TreeHead,
    /// Ed25519 signature by the board key over the checkpoint text.
    pub signature: Sig,
    /// Witness cosignatures collected so far.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cosignatures: Vec<Cosignature>,
}

/// Reads a [`SignedTreeHead`]: its own fields by name, the others kept for the head.
struct SignedTreeHeadVisitor;

impl<'de> de::Visitor<'de> for SignedTreeHeadVisitor {
    type Value = SignedTreeHead;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("struct SignedTreeHead")
    }

    fn visit_map<A: de::MapAccess<'de>>(
        self,
        mut map: A,
    ) -> core::result::Result<SignedTreeHead, A::Error> {
        let mut origin: Option<String> = None;
        let mut signature: Option<Sig> = None;
        let mut cosignatures: Option<Vec<Cosignature>> = None;
        let mut rest = Vec::new();
        while let Some(key) = map.next_key::<Buffered<'de>>()? {
            match key.as_str() {
                Some("origin") => {
                    if origin.is_some() {
                        return Err(de::Error::duplicate_field("origin"));
                    }
                    origin = Some(map.next_value()?);
                }
                Some("signature") => {
                    if signature.is_some() {
                        return Err(de::Error::duplicate_field("signature"));
                    }
                    signature = Some(map.next_value()?);
                }
                Some("cosignatures") => {
                    if cosignatures.is_some() {
                        return Err(de::Error::duplicate_field("cosignatures"));
                    }
                    cosignatures = Some(map.next_value()?);
                }
                _ => rest.push((key, map.next_value::<Buffered<'de>>()?)),
            }
        }
        let origin = origin.ok_or_else(|| de::Error::missing_field("origin"))?;
        let head = buffered::decode::<TreeHead, A::Error>(Buffered::Map(rest))?;
        let signature = signature.ok_or_else(|| de::Error::missing_field("signature"))?;
        Ok(SignedTreeHead {
            origin,
            head,
            signature,
            cosignatures: cosignatures.unwrap_or_default(),
        })
    }
}

/// Hand-written instead of derived (issue 15 §4, size of the web bundle): serde's
/// `#[serde(flatten)]` decodes the head's fields through its private buffer and a
/// flattening decoder, code the browser's wasm held for this struct alone. The JSON
/// accepted and refused is the derive's: an object (never an array: a flattened struct
/// is read as a map), `origin` and `signature` once each, `cosignatures` at most once
/// (empty when absent), the head's `tree_size`, `root_hash` and `timestamp_ms` once
/// each, unknown keys ignored; the errors are serde's, in the derive's order (the
/// head's after the loop over the keys). `tests/payload_decoder.rs` compares both.
impl<'de> Deserialize<'de> for SignedTreeHead {
    fn deserialize<D: Deserializer<'de>>(d: D) -> core::result::Result<Self, D::Error> {
        d.deserialize_map(SignedTreeHeadVisitor)
    }
}

/// The board's C2SP note verifier key: type 0x01 (Ed25519) under the log's origin.
///
/// # Errors
/// An origin that is not a valid key name.
pub fn board_note_key(board: &BoardPublicKey, origin: &str) -> Result<tlog::VerifierKey> {
    let name = tlog::KeyName::new(origin)
        .map_err(|_| ProtocolError::invalid("origin", "not a valid key name"))?;
    Ok(tlog::VerifierKey::new(
        name,
        tlog::KeyType::Ed25519,
        board.0,
    ))
}

impl SignedTreeHead {
    /// Sign a head with the board key as the checkpoint of the log `origin`.
    ///
    /// # Errors
    /// An invalid origin or a negative time (see [`TreeHead::checkpoint`]).
    pub fn sign(head: TreeHead, origin: &str, key: &SigningKey) -> Result<Self> {
        let text = head.checkpoint_text(origin)?;
        Ok(Self {
            origin: origin.to_owned(),
            signature: Sig(key.sign(text.as_bytes())),
            head,
            cosignatures: Vec::new(),
        })
    }

    /// The checkpoint text this head signs.
    ///
    /// # Errors
    /// As [`TreeHead::checkpoint`].
    pub fn checkpoint_text(&self) -> Result<String> {
        self.head.checkpoint_text(&self.origin)
    }

    /// Check the board's signature.
    pub fn verify(&self, board: &BoardPublicKey) -> Result<()> {
        let text = self.checkpoint_text()?;
        board
            .0
            .verify_strict(text.as_bytes(), &self.signature.0)
            .map_err(|_| ProtocolError::Signature("tree head"))
    }

    /// A witness cosignature for this head at `timestamp` (POSIX seconds).
    ///
    /// # Errors
    /// An invalid origin, witness name or timestamp.
    pub fn cosign(&self, name: &str, witness: &SigningKey, timestamp: u64) -> Result<Cosignature> {
        let text = self.checkpoint_text()?;
        let key_name = tlog::KeyName::new(name)
            .map_err(|_| ProtocolError::invalid("cosignature/name", "not a valid key name"))?;
        let line = tlog::cosign(&text, &key_name, witness, timestamp)
            .map_err(|e| ProtocolError::invalid("cosignature/timestamp", e.to_string()))?;
        let c = tlog::CosignatureV1::from_signature_bytes(&line.signature)
            .map_err(|e| ProtocolError::invalid("cosignature", e.to_string()))?;
        Ok(Cosignature {
            witness: BoardPublicKey(witness.verifying_key()),
            name: name.to_owned(),
            timestamp,
            signature: Sig(c.signature),
        })
    }

    /// Check one cosignature (`cosignature/v1` over this head's checkpoint text).
    pub fn verify_cosignature(&self, c: &Cosignature) -> Result<()> {
        c.verifier_key()?;
        if c.timestamp == 0 {
            return Err(ProtocolError::invalid("cosignature/timestamp", "zero"));
        }
        let text = self.checkpoint_text()?;
        let msg = tlog::cosignature_v1_message(c.timestamp, &text)
            .map_err(|e| ProtocolError::invalid("cosignature/timestamp", e.to_string()))?;
        c.witness
            .0
            .verify_strict(&msg, &c.signature.0)
            .map_err(|_| ProtocolError::Signature("cosignature"))
    }

    /// The C2SP signed note: the checkpoint text, a blank line, the board's signature
    /// line and one line per cosignature (12 §12.2). A stock C2SP implementation checks
    /// it with the board's note key ([`board_note_key`]) and the witnesses' vkeys.
    ///
    /// # Errors
    /// An invalid origin, time, or cosignature name.
    pub fn to_note(&self, board: &BoardPublicKey) -> Result<String> {
        let text = self.checkpoint_text()?;
        let log_key = board_note_key(board, &self.origin)?;
        let mut note = text;
        note.push('\n');
        note.push_str(
            &tlog::NoteSignature {
                name: log_key.name().clone(),
                key_id: log_key.key_id(),
                signature: self.signature.0.to_bytes().to_vec(),
            }
            .to_line(),
        );
        for c in &self.cosignatures {
            note.push_str(&c.note_signature()?.to_line());
        }
        Ok(note)
    }
}

/// A board entry: what happened, and when the board recorded it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BoardEntry {
    /// Unix ms, non-decreasing along the log.
    pub timestamp_ms: i64,
    /// The message.
    pub payload: Payload,
}

/// The encrypted tally of a closed referendum: the sum of exactly the counted ballots.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EncryptedTally {
    /// The referendum.
    pub referendum_id: String,
    /// Number of counted ballots (last ballot per credential).
    pub counted_ballots: u64,
    /// Hash of the list of counted ballot hashes, in log order.
    pub counted_hash: Hash32,
    /// One summed ciphertext per tally slot (questions' ciphertexts flattened).
    pub ciphertexts: Vec<Ciphertext>,
}

/// Every kind of public message (protocol-spec/08-board.md §8.2, table 8.1).
///
/// Serialized by serde's derive (internally tagged by `type`); decoded by hand (see the
/// `Deserialize` impl below): the same JSON accepted and refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Payload {
    /// The first entry of every log: its name, the role keys, the witness policy, signed
    /// by every role (protocol-spec/11-roles.md §11.2).
    Genesis {
        /// The genesis.
        genesis: Genesis,
    },
    /// An electorate is published (before anything uses it). Registrar act.
    ElectorateRegistered {
        /// The list.
        electorate: Electorate,
        /// The registrar's signature.
        act: ActSignature,
    },
    /// A petition is proposed.
    PetitionProposed {
        /// Signed proposal.
        proposal: PetitionProposal,
    },
    /// A signature or withdrawal.
    PetitionSigned {
        /// The signature.
        signature: PetitionSignature,
    },
    /// A ring signature or withdrawal on a ring-signed petition (07 §7.10): names a
    /// derived ring and a linking tag, never the credential.
    PetitionRingSigned {
        /// The signature (boxed: a proof is about a kilobyte, every other payload far
        /// less).
        signature: Box<RingPetitionSignature>,
    },
    /// A threshold was reached by the entry just before.
    PetitionThreshold {
        /// Petition.
        petition_id: String,
        /// Which threshold.
        kind: ThresholdKind,
        /// Count at that moment.
        count: u64,
    },
    /// Moderation decision.
    PetitionModerated {
        /// Petition.
        petition_id: String,
        /// Publish or reject.
        moderation: Moderation,
        /// The petitions office's signature.
        act: ActSignature,
    },
    /// The official response.
    PetitionResponded {
        /// Petition.
        petition_id: String,
        /// Response text.
        text: String,
        /// The petitions office's signature.
        act: ActSignature,
    },
    /// Signatures invalidated, with the public reason.
    SignaturesInvalidated {
        /// Petition.
        petition_id: String,
        /// The credentials whose signatures no longer count (a credential-signed
        /// petition; empty for a ring-signed one).
        credentials: Vec<CredentialPublicKey>,
        /// The linking tags whose signatures no longer count (a ring-signed petition,
        /// 07 §7.10; empty for a credential-signed one).
        tags: Vec<LinkingTag>,
        /// Why.
        reason: String,
        /// The petitions office's signature.
        act: ActSignature,
    },
    /// The petition closed at its deadline.
    PetitionClosed {
        /// Petition.
        petition_id: String,
        /// Final count.
        count: u64,
    },
    /// A referendum is created (draft).
    ReferendumCreated {
        /// Its manifest.
        manifest: Manifest,
        /// The election authority's signature.
        act: ActSignature,
    },
    /// A trustee's ceremony message.
    Ceremony {
        /// The signed message.
        message: CeremonyMessage,
    },
    /// The ceremony finished: the joint key and every trustee's public share.
    CeremonyCompleted {
        /// Referendum.
        referendum_id: String,
        /// K.
        election_key: ElectionPublicKey,
        /// X_ℓ for ℓ = 1..=n.
        public_shares: Vec<Point>,
    },
    /// Voting opens: a system entry the board appends at or after the manifest's
    /// `opens_at` once the ceremony completed (10 §10.3).
    ReferendumOpened {
        /// Referendum.
        referendum_id: String,
    },
    /// A ballot was accepted.
    BallotCast {
        /// The ballot.
        ballot: Ballot,
    },
    /// A ballot was opened for audit (never counted).
    BallotAudited {
        /// The opened ballot.
        audited: AuditedBallot,
    },
    /// Voting closes: a system entry the board appends at or after the manifest's
    /// `closes_at`, never before (10 §10.3).
    ReferendumClosed {
        /// Referendum.
        referendum_id: String,
    },
    /// The encrypted tally.
    TallyComputed {
        /// The tally.
        tally: EncryptedTally,
    },
    /// A trustee's decryption share.
    DecryptionShare {
        /// The share message.
        share: DecryptionShareMessage,
    },
    /// The result.
    ResultPublished {
        /// The result.
        result: ReferendumResult,
    },
    /// A role replaces its key; signed by its current key, with a proof of possession of
    /// the new one (protocol-spec/11-roles.md §11.4).
    RoleKeyRotated {
        /// The role (never the operator).
        role: Role,
        /// Its new key.
        new_key: BoardPublicKey,
        /// The new key's signature over the possession message.
        possession: Sig,
        /// The role's signature with its current key.
        act: ActSignature,
    },
    /// The registrar commits to the one-time enrolment codes of a new electorate
    /// (04 §4.1.2). Registrar act.
    EnrolmentOpened {
        /// The commitment.
        opening: EnrolmentOpening,
        /// The registrar's signature.
        act: ActSignature,
    },
    /// A citizen's device enrols its credential with a code (04 §4.1.2). Signed by the
    /// credential itself; no authority act.
    CredentialEnrolled {
        /// The request, with its code.
        enrolment: EnrolmentRequest,
    },
    /// A credential is revoked, with an optional replacement code (04 §4.1.3).
    /// Registrar act.
    CredentialRevoked {
        /// The electorate.
        electorate_id: String,
        /// The revoked credential.
        credential: CredentialPublicKey,
        /// Hash of one new code for the same citizen ([`crate::enrolment::EnrolmentCode::hash`]
        /// with the revoked credential's region).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        replacement: Option<Hash32>,
        /// The public reason ("lost", "stolen", …).
        reason: String,
        /// The registrar's signature.
        act: ActSignature,
    },
    /// Enrolment ends: the electorate is the list of enrolled credentials with this hash
    /// (04 §4.1.4). Registrar act.
    ElectorateFrozen {
        /// The electorate.
        electorate_id: String,
        /// Hash of the frozen electorate (what manifests and petitions name).
        electorate_hash: Hash32,
        /// The registrar's signature.
        act: ActSignature,
    },
    /// The bounds new petition proposals must respect from this leaf on (07 §7.8,
    /// V6.7); replaces the previous policy whole. Petitions office act.
    PetitionPolicySet {
        /// The bounds.
        policy: PetitionPolicy,
        /// The petitions office's signature.
        act: ActSignature,
    },
    /// The standing trustee panel from this leaf on (07 §7.4): who runs the ceremony of
    /// every referendum a petition triggers later. Election authority act.
    TrusteePanelSet {
        /// The panel.
        panel: TrusteePanel,
        /// The election authority's signature.
        act: ActSignature,
    },
    /// A referendum the board creates by itself, immediately after the
    /// `petition-threshold` entry of a petition's referendum threshold: its manifest is
    /// the one the petition's terms and the standing panel determine (07 §7.4). System
    /// entry.
    ReferendumTriggered {
        /// Its manifest (`source_petition` names the petition).
        manifest: Manifest,
    },
    /// The trustees who had not posted a valid decryption share when the manifest's
    /// decryption deadline passed (10 V15). System entry.
    SharesOverdue {
        /// Referendum.
        referendum_id: String,
        /// Their indices, increasing.
        trustees: Vec<u32>,
    },
    /// A dealer is removed from the ceremony's qualified set QUAL for a complaint it did
    /// not answer before the deadline or answered with a share that fails the
    /// commitment check (06 §6.6, §6.11). A system entry: the tracker decides whether it
    /// is valid, so no authority signs it.
    TrusteeDisqualified {
        /// Referendum.
        referendum_id: String,
        /// The disqualified dealer.
        trustee: u32,
        /// The complaint it is disqualified for.
        complaint: ComplaintRef,
        /// Why.
        reason: DisqualificationReason,
    },
    /// The witness policy that replaces the one in force (11 §11.6): it takes effect
    /// only once a tree head covering this entry carries the quorum of the policy it
    /// replaces (V3.7), so the old witnesses vouch that everyone saw the change.
    /// Operator act.
    WitnessPolicySet {
        /// The new witnesses and quorum.
        policy: WitnessPolicy,
        /// The operator's signature.
        act: ActSignature,
    },
}

/// The `type` of a payload: serde's variant identifier of [`Payload`] (the same names,
/// and the same errors for an unknown one).
#[derive(Clone, Copy, Deserialize)]
#[serde(variant_identifier, rename_all = "kebab-case")]
enum PayloadTag {
    Genesis,
    ElectorateRegistered,
    PetitionProposed,
    PetitionSigned,
    PetitionThreshold,
    PetitionModerated,
    PetitionResponded,
    SignaturesInvalidated,
    PetitionClosed,
    ReferendumCreated,
    Ceremony,
    CeremonyCompleted,
    ReferendumOpened,
    BallotCast,
    BallotAudited,
    ReferendumClosed,
    TallyComputed,
    DecryptionShare,
    ResultPublished,
    RoleKeyRotated,
    EnrolmentOpened,
    CredentialEnrolled,
    CredentialRevoked,
    ElectorateFrozen,
    PetitionPolicySet,
    TrusteePanelSet,
    ReferendumTriggered,
    SharesOverdue,
    TrusteeDisqualified,
    WitnessPolicySet,
    PetitionRingSigned,
}

/// The key that names a payload's variant.
const PAYLOAD_TAG: &str = "type";

impl Payload {
    /// The variant `tag` from its buffered fields; generic over the error type only, so
    /// the bundle holds one copy per input format, not one per variant and decoder.
    fn from_buffered<E: de::Error>(
        tag: PayloadTag,
        body: Buffered<'_>,
    ) -> core::result::Result<Self, E> {
        use PayloadTag as T;
        Ok(match tag {
            T::Genesis => tagged_variant!(Payload, body, Genesis { genesis: req }),
            T::ElectorateRegistered => {
                tagged_variant!(
                    Payload,
                    body,
                    ElectorateRegistered {
                        electorate: req,
                        act: req
                    }
                )
            }
            T::PetitionProposed => {
                tagged_variant!(Payload, body, PetitionProposed { proposal: req })
            }
            T::PetitionSigned => tagged_variant!(Payload, body, PetitionSigned { signature: req }),
            T::PetitionRingSigned => {
                tagged_variant!(Payload, body, PetitionRingSigned { signature: req })
            }
            T::PetitionThreshold => tagged_variant!(
                Payload,
                body,
                PetitionThreshold {
                    petition_id: req,
                    kind: req,
                    count: req
                }
            ),
            T::PetitionModerated => tagged_variant!(
                Payload,
                body,
                PetitionModerated {
                    petition_id: req,
                    moderation: req,
                    act: req
                }
            ),
            T::PetitionResponded => tagged_variant!(
                Payload,
                body,
                PetitionResponded {
                    petition_id: req,
                    text: req,
                    act: req
                }
            ),
            T::SignaturesInvalidated => tagged_variant!(
                Payload,
                body,
                SignaturesInvalidated {
                    petition_id: req,
                    credentials: req,
                    tags: req,
                    reason: req,
                    act: req
                }
            ),
            T::PetitionClosed => {
                tagged_variant!(
                    Payload,
                    body,
                    PetitionClosed {
                        petition_id: req,
                        count: req
                    }
                )
            }
            T::ReferendumCreated => {
                tagged_variant!(
                    Payload,
                    body,
                    ReferendumCreated {
                        manifest: req,
                        act: req
                    }
                )
            }
            T::Ceremony => tagged_variant!(Payload, body, Ceremony { message: req }),
            T::CeremonyCompleted => tagged_variant!(
                Payload,
                body,
                CeremonyCompleted {
                    referendum_id: req,
                    election_key: req,
                    public_shares: req
                }
            ),
            T::ReferendumOpened => {
                tagged_variant!(Payload, body, ReferendumOpened { referendum_id: req })
            }
            T::BallotCast => tagged_variant!(Payload, body, BallotCast { ballot: req }),
            T::BallotAudited => tagged_variant!(Payload, body, BallotAudited { audited: req }),
            T::ReferendumClosed => {
                tagged_variant!(Payload, body, ReferendumClosed { referendum_id: req })
            }
            T::TallyComputed => tagged_variant!(Payload, body, TallyComputed { tally: req }),
            T::DecryptionShare => tagged_variant!(Payload, body, DecryptionShare { share: req }),
            T::ResultPublished => tagged_variant!(Payload, body, ResultPublished { result: req }),
            T::RoleKeyRotated => tagged_variant!(
                Payload,
                body,
                RoleKeyRotated {
                    role: req,
                    new_key: req,
                    possession: req,
                    act: req
                }
            ),
            T::EnrolmentOpened => {
                tagged_variant!(
                    Payload,
                    body,
                    EnrolmentOpened {
                        opening: req,
                        act: req
                    }
                )
            }
            T::CredentialEnrolled => {
                tagged_variant!(Payload, body, CredentialEnrolled { enrolment: req })
            }
            T::CredentialRevoked => tagged_variant!(
                Payload,
                body,
                CredentialRevoked {
                    electorate_id: req,
                    credential: req,
                    replacement: opt,
                    reason: req,
                    act: req,
                }
            ),
            T::ElectorateFrozen => tagged_variant!(
                Payload,
                body,
                ElectorateFrozen {
                    electorate_id: req,
                    electorate_hash: req,
                    act: req
                }
            ),
            T::PetitionPolicySet => {
                tagged_variant!(
                    Payload,
                    body,
                    PetitionPolicySet {
                        policy: req,
                        act: req
                    }
                )
            }
            T::TrusteePanelSet => tagged_variant!(
                Payload,
                body,
                TrusteePanelSet {
                    panel: req,
                    act: req
                }
            ),
            T::ReferendumTriggered => {
                tagged_variant!(Payload, body, ReferendumTriggered { manifest: req })
            }
            T::SharesOverdue => {
                tagged_variant!(
                    Payload,
                    body,
                    SharesOverdue {
                        referendum_id: req,
                        trustees: req
                    }
                )
            }
            T::TrusteeDisqualified => tagged_variant!(
                Payload,
                body,
                TrusteeDisqualified {
                    referendum_id: req,
                    trustee: req,
                    complaint: req,
                    reason: req
                }
            ),
            T::WitnessPolicySet => tagged_variant!(
                Payload,
                body,
                WitnessPolicySet {
                    policy: req,
                    act: req
                }
            ),
        })
    }
}

/// Hand-written instead of derived (issue 15 §4, size of the web bundle): serde's derive
/// of an internally tagged enum generates, per variant, a field-name visitor and a map
/// and a sequence visitor over its buffered form, ≈ 107 KB of the browser's wasm for
/// this enum. This reads the tag and the buffered entries once ([`TaggedVisitor`]),
/// then each variant's fields through one shared loop ([`Fields`]). The JSON accepted
/// and refused is the derive's: an object with one `type` naming a variant (or an array
/// starting with it), each variant's fields present once (`replacement` may be absent),
/// unknown fields ignored; the errors are serde's (unknown variant, missing, duplicate
/// or invalid field). `tests/payload_decoder.rs` compares it with the derived decoder.
impl<'de> Deserialize<'de> for Payload {
    fn deserialize<D: Deserializer<'de>>(d: D) -> core::result::Result<Self, D::Error> {
        let (tag, body) = d.deserialize_any(TaggedVisitor::<PayloadTag>::new(
            PAYLOAD_TAG,
            "internally tagged enum Payload",
        ))?;
        Payload::from_buffered(tag, body)
    }
}

/// The complaint a `trustee-disqualified` entry names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ComplaintRef {
    /// The accused dealer.
    pub dealer: u32,
    /// The complaining recipient.
    pub recipient: u32,
}

/// Why a dealer is disqualified (08 table 8.1, tag 28).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum DisqualificationReason {
    /// No answer on the board by the complaint's deadline.
    Unanswered,
    /// The answer's share fails the commitment check.
    BadAnswer,
}

impl DisqualificationReason {
    /// Canonical byte: 0 unanswered, 1 bad-answer.
    pub fn code(self) -> u8 {
        match self {
            DisqualificationReason::Unanswered => 0,
            DisqualificationReason::BadAnswer => 1,
        }
    }
}

impl Canonical for ThresholdKind {
    fn encode(&self, e: &mut Encoder) {
        e.u8(match self {
            ThresholdKind::Sponsor => 0,
            ThresholdKind::Response => 1,
            ThresholdKind::Referendum => 2,
        });
    }
}

impl Canonical for EncryptedTally {
    fn encode(&self, e: &mut Encoder) {
        e.str(&self.referendum_id)
            .u64(self.counted_ballots)
            .hash(&self.counted_hash)
            .seq(&self.ciphertexts);
    }
}

impl Payload {
    /// The `type` of this payload, as in its JSON (table 8.1).
    /// Whether this entry ends a referendum phase (close, tally, result):
    /// the board appends one only after the head before it is cosigned by the genesis
    /// witness quorum (08 §8.4, 10 V3.6).
    pub fn ends_a_phase(&self) -> bool {
        matches!(
            self,
            Payload::ReferendumClosed { .. }
                | Payload::TallyComputed { .. }
                | Payload::ResultPublished { .. }
        )
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Payload::Genesis { .. } => "genesis",
            Payload::ElectorateRegistered { .. } => "electorate-registered",
            Payload::PetitionProposed { .. } => "petition-proposed",
            Payload::PetitionSigned { .. } => "petition-signed",
            Payload::PetitionRingSigned { .. } => "petition-ring-signed",
            Payload::PetitionThreshold { .. } => "petition-threshold",
            Payload::PetitionModerated { .. } => "petition-moderated",
            Payload::PetitionResponded { .. } => "petition-responded",
            Payload::SignaturesInvalidated { .. } => "signatures-invalidated",
            Payload::PetitionClosed { .. } => "petition-closed",
            Payload::ReferendumCreated { .. } => "referendum-created",
            Payload::Ceremony { .. } => "ceremony",
            Payload::CeremonyCompleted { .. } => "ceremony-completed",
            Payload::ReferendumOpened { .. } => "referendum-opened",
            Payload::BallotCast { .. } => "ballot-cast",
            Payload::BallotAudited { .. } => "ballot-audited",
            Payload::ReferendumClosed { .. } => "referendum-closed",
            Payload::TallyComputed { .. } => "tally-computed",
            Payload::DecryptionShare { .. } => "decryption-share",
            Payload::ResultPublished { .. } => "result-published",
            Payload::RoleKeyRotated { .. } => "role-key-rotated",
            Payload::EnrolmentOpened { .. } => "enrolment-opened",
            Payload::CredentialEnrolled { .. } => "credential-enrolled",
            Payload::CredentialRevoked { .. } => "credential-revoked",
            Payload::ElectorateFrozen { .. } => "electorate-frozen",
            Payload::PetitionPolicySet { .. } => "petition-policy-set",
            Payload::TrusteePanelSet { .. } => "trustee-panel-set",
            Payload::ReferendumTriggered { .. } => "referendum-triggered",
            Payload::SharesOverdue { .. } => "shares-overdue",
            Payload::TrusteeDisqualified { .. } => "trustee-disqualified",
            Payload::WitnessPolicySet { .. } => "witness-policy-set",
        }
    }

    /// The canonical payload without the act signature of an authority act: its tag and
    /// fields (table 8.1). For entries that are not acts this is the whole payload.
    pub fn encode_body(&self, e: &mut Encoder) {
        match self {
            Payload::Genesis { genesis } => {
                e.u8(0);
                genesis.encode(e);
            }
            Payload::ElectorateRegistered { electorate, .. } => {
                e.u8(1);
                electorate.encode(e);
            }
            Payload::PetitionProposed { proposal } => {
                e.u8(2);
                proposal.encode(e);
            }
            Payload::PetitionSigned { signature } => {
                e.u8(3);
                signature.encode(e);
            }
            Payload::PetitionThreshold {
                petition_id,
                kind,
                count,
            } => {
                e.u8(4).str(petition_id);
                kind.encode(e);
                e.u64(*count);
            }
            Payload::PetitionModerated {
                petition_id,
                moderation,
                ..
            } => {
                e.u8(5).str(petition_id);
                match moderation {
                    Moderation::Publish {
                        closes_at,
                        referendum,
                    } => {
                        e.u8(0).i64(*closes_at);
                        referendum.encode(e);
                        e
                    }
                    Moderation::Reject { reason } => e.u8(1).str(reason),
                };
            }
            Payload::PetitionResponded {
                petition_id, text, ..
            } => {
                e.u8(6).str(petition_id).str(text);
            }
            Payload::SignaturesInvalidated {
                petition_id,
                credentials,
                tags,
                reason,
                ..
            } => {
                e.u8(7).str(petition_id).count(credentials.len());
                for c in credentials {
                    e.raw32(&c.to_bytes());
                }
                e.count(tags.len());
                for t in tags {
                    e.raw32(&t.to_bytes());
                }
                e.str(reason);
            }
            Payload::PetitionClosed { petition_id, count } => {
                e.u8(8).str(petition_id).u64(*count);
            }
            Payload::ReferendumCreated { manifest, .. } => {
                e.u8(9);
                manifest.encode(e);
            }
            Payload::Ceremony { message } => {
                e.u8(10);
                message.encode(e);
            }
            Payload::CeremonyCompleted {
                referendum_id,
                election_key,
                public_shares,
            } => {
                e.u8(11)
                    .str(referendum_id)
                    .point(election_key.point())
                    .seq(public_shares);
            }
            Payload::ReferendumOpened { referendum_id, .. } => {
                e.u8(12).str(referendum_id);
            }
            Payload::BallotCast { ballot } => {
                e.u8(13);
                ballot.encode(e);
            }
            Payload::BallotAudited { audited } => {
                e.u8(14);
                audited.encode(e);
            }
            Payload::ReferendumClosed { referendum_id, .. } => {
                e.u8(15).str(referendum_id);
            }
            Payload::TallyComputed { tally } => {
                e.u8(16);
                tally.encode(e);
            }
            Payload::DecryptionShare { share } => {
                e.u8(17);
                share.encode(e);
            }
            Payload::ResultPublished { result } => {
                e.u8(18);
                result.encode(e);
            }
            Payload::RoleKeyRotated {
                role,
                new_key,
                possession,
                ..
            } => {
                e.u8(19)
                    .u8(role.code())
                    .raw32(new_key.0.as_bytes())
                    .raw64(&possession.0.to_bytes());
            }
            Payload::EnrolmentOpened { opening, .. } => {
                e.u8(20);
                opening.encode(e);
            }
            Payload::CredentialEnrolled { enrolment } => {
                e.u8(21);
                enrolment.encode(e);
            }
            Payload::CredentialRevoked {
                electorate_id,
                credential,
                replacement,
                reason,
                ..
            } => {
                e.u8(22).str(electorate_id).raw32(&credential.to_bytes());
                match replacement {
                    None => e.u8(0),
                    Some(h) => e.u8(1).hash(h),
                };
                e.str(reason);
            }
            Payload::ElectorateFrozen {
                electorate_id,
                electorate_hash,
                ..
            } => {
                e.u8(23).str(electorate_id).hash(electorate_hash);
            }
            Payload::PetitionPolicySet { policy, .. } => {
                e.u8(25);
                policy.encode(e);
            }
            Payload::TrusteePanelSet { panel, .. } => {
                e.u8(26);
                panel.encode(e);
            }
            Payload::ReferendumTriggered { manifest } => {
                e.u8(27);
                manifest.encode(e);
            }
            Payload::SharesOverdue {
                referendum_id,
                trustees,
            } => {
                e.u8(29).str(referendum_id).count(trustees.len());
                for t in trustees {
                    e.u32(*t);
                }
            }
            Payload::TrusteeDisqualified {
                referendum_id,
                trustee,
                complaint,
                reason,
            } => {
                e.u8(28)
                    .str(referendum_id)
                    .u32(*trustee)
                    .u32(complaint.dealer)
                    .u32(complaint.recipient)
                    .u8(reason.code());
            }
            Payload::WitnessPolicySet { policy, .. } => {
                e.u8(30);
                policy.encode(e);
            }
            Payload::PetitionRingSigned { signature } => {
                e.u8(31);
                signature.encode(e);
            }
        }
    }
}

impl Canonical for Payload {
    /// The body (tag and fields), then for an authority act its
    /// `i64(issued_at_ms) ‖ signature (64 bytes)`.
    fn encode(&self, e: &mut Encoder) {
        self.encode_body(e);
        if let Some(act) = self.act() {
            act.encode(e);
        }
    }
}

impl Canonical for BoardEntry {
    fn encode(&self, e: &mut Encoder) {
        e.i64(self.timestamp_ms);
        self.payload.encode(e);
    }
}

impl BoardEntry {
    /// The RFC 6962 leaf hash of this entry: SHA-256(0x00 ‖ canonical bytes).
    pub fn leaf_hash(&self) -> NodeHash {
        leaf_hash(&self.canonical_bytes())
    }

    /// The referendum or petition this entry belongs to, if any.
    pub fn scope(&self) -> Option<&str> {
        match &self.payload {
            Payload::Genesis { .. }
            | Payload::ElectorateRegistered { .. }
            | Payload::RoleKeyRotated { .. }
            | Payload::EnrolmentOpened { .. }
            | Payload::CredentialEnrolled { .. }
            | Payload::CredentialRevoked { .. }
            | Payload::ElectorateFrozen { .. }
            | Payload::PetitionPolicySet { .. }
            | Payload::TrusteePanelSet { .. }
            | Payload::WitnessPolicySet { .. } => None,
            Payload::PetitionProposed { proposal } => Some(&proposal.petition.id),
            Payload::PetitionSigned { signature } => Some(&signature.petition_id),
            Payload::PetitionRingSigned { signature } => Some(&signature.petition_id),
            Payload::PetitionThreshold { petition_id, .. }
            | Payload::PetitionModerated { petition_id, .. }
            | Payload::PetitionResponded { petition_id, .. }
            | Payload::SignaturesInvalidated { petition_id, .. }
            | Payload::PetitionClosed { petition_id, .. } => Some(petition_id),
            Payload::ReferendumCreated { manifest, .. }
            | Payload::ReferendumTriggered { manifest } => Some(&manifest.referendum_id),
            Payload::Ceremony { message } => Some(&message.referendum_id),
            Payload::CeremonyCompleted { referendum_id, .. }
            | Payload::ReferendumOpened { referendum_id, .. }
            | Payload::ReferendumClosed { referendum_id, .. }
            | Payload::SharesOverdue { referendum_id, .. }
            | Payload::TrusteeDisqualified { referendum_id, .. } => Some(referendum_id),
            Payload::BallotCast { ballot } => Some(&ballot.referendum_id),
            Payload::BallotAudited { audited } => Some(&audited.ballot.referendum_id),
            Payload::TallyComputed { tally } => Some(&tally.referendum_id),
            Payload::DecryptionShare { share } => Some(&share.referendum_id),
            Payload::ResultPublished { result } => Some(&result.referendum_id),
        }
    }
}

/// A voter's receipt: the board's signed statement that a ballot is at a leaf index,
/// with the inclusion proof against a signed tree head (protocol-spec/08-board.md §8.5).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Receipt {
    /// Referendum.
    pub referendum_id: String,
    /// Human-friendly tracking code of the ballot.
    pub tracking_code: String,
    /// Full hash of the ballot.
    pub ballot_hash: Hash32,
    /// Position of the ballot's entry in the log.
    pub leaf_index: u64,
    /// The entry's timestamp (to recompute its leaf hash from the ballot).
    pub entry_timestamp_ms: i64,
    /// The entry's leaf hash.
    pub leaf_hash: NodeHash,
    /// A tree head that includes the leaf.
    pub tree_head: SignedTreeHead,
    /// RFC 9162 inclusion proof of the leaf in that tree.
    pub inclusion_proof: Vec<NodeHash>,
    /// Board signature over all fields above.
    pub signature: Sig,
}

fn receipt_message(r: &Receipt, log_id: &Hash32) -> Vec<u8> {
    let mut e = Encoder::new();
    e.raw32(&log_id.0)
        .str(&r.referendum_id)
        .str(&r.tracking_code)
        .hash(&r.ballot_hash)
        .u64(r.leaf_index)
        .i64(r.entry_timestamp_ms)
        .raw32(&r.leaf_hash.0)
        .u64(r.tree_head.head.tree_size)
        .raw32(&r.tree_head.head.root_hash.0)
        .i64(r.tree_head.head.timestamp_ms)
        .count(r.inclusion_proof.len());
    for n in &r.inclusion_proof {
        e.raw32(&n.0);
    }
    let mut m = b"vox/v2/receipt\0".to_vec();
    m.extend(e.into_bytes());
    m
}

impl Receipt {
    /// Sign a receipt (fills `signature`).
    pub fn sign(mut self, key: &SigningKey) -> Self {
        let log_id = BoardPublicKey(key.verifying_key()).log_id();
        self.signature = Sig(key.sign(&receipt_message(&self, &log_id)));
        self
    }

    /// Check the receipt's own consistency: board signature, tree-head signature,
    /// tracking code, and the inclusion proof of its leaf against its tree head.
    pub fn verify(&self, board: &BoardPublicKey) -> Result<()> {
        board
            .0
            .verify_strict(&receipt_message(self, &board.log_id()), &self.signature.0)
            .map_err(|_| ProtocolError::Signature("receipt"))?;
        self.tree_head.verify(board)?;
        if crate::encoding::human_code(&self.ballot_hash) != self.tracking_code {
            return Err(ProtocolError::invalid(
                "tracking_code",
                "does not match the ballot hash",
            ));
        }
        verify_inclusion(
            &self.leaf_hash,
            self.leaf_index,
            self.tree_head.head.tree_size,
            &self.inclusion_proof,
            &self.tree_head.head.root_hash,
        )?;
        Ok(())
    }

    /// Check that `ballot` is the ballot this receipt is for (voter side): its hash and
    /// the leaf hash of the entry recorded at `entry_timestamp_ms`.
    pub fn matches_ballot(&self, ballot: &Ballot) -> Result<()> {
        if ballot.hash() != self.ballot_hash {
            return Err(ProtocolError::invalid(
                "ballot_hash",
                "receipt is for another ballot",
            ));
        }
        let entry = BoardEntry {
            timestamp_ms: self.entry_timestamp_ms,
            payload: Payload::BallotCast {
                ballot: ballot.clone(),
            },
        };
        if entry.leaf_hash() != self.leaf_hash {
            return Err(ProtocolError::invalid(
                "leaf_hash",
                "does not match the ballot's board entry",
            ));
        }
        Ok(())
    }
}

/// A placeholder signature (all zero) used only before [`Receipt::sign`] fills it.
pub fn unsigned() -> Sig {
    Sig(Signature::from_bytes(&[0u8; 64]))
}

impl Hashable for BoardEntry {
    const TAG: &'static str = "board-entry";
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    const ORIGIN: &str = "board.vox.example/test";

    /// A compile-time guard for the hand-written decoder: a new `Payload` variant fails
    /// to compile here until it has its `PayloadTag` (and then `from_buffered` fails until
    /// it has its arm); and the tag's name is the variant's `type`.
    fn tag_of(p: &Payload) -> PayloadTag {
        match p {
            Payload::Genesis { .. } => PayloadTag::Genesis,
            Payload::ElectorateRegistered { .. } => PayloadTag::ElectorateRegistered,
            Payload::PetitionProposed { .. } => PayloadTag::PetitionProposed,
            Payload::PetitionSigned { .. } => PayloadTag::PetitionSigned,
            Payload::PetitionThreshold { .. } => PayloadTag::PetitionThreshold,
            Payload::PetitionModerated { .. } => PayloadTag::PetitionModerated,
            Payload::PetitionResponded { .. } => PayloadTag::PetitionResponded,
            Payload::SignaturesInvalidated { .. } => PayloadTag::SignaturesInvalidated,
            Payload::PetitionClosed { .. } => PayloadTag::PetitionClosed,
            Payload::ReferendumCreated { .. } => PayloadTag::ReferendumCreated,
            Payload::Ceremony { .. } => PayloadTag::Ceremony,
            Payload::CeremonyCompleted { .. } => PayloadTag::CeremonyCompleted,
            Payload::ReferendumOpened { .. } => PayloadTag::ReferendumOpened,
            Payload::BallotCast { .. } => PayloadTag::BallotCast,
            Payload::BallotAudited { .. } => PayloadTag::BallotAudited,
            Payload::ReferendumClosed { .. } => PayloadTag::ReferendumClosed,
            Payload::TallyComputed { .. } => PayloadTag::TallyComputed,
            Payload::DecryptionShare { .. } => PayloadTag::DecryptionShare,
            Payload::ResultPublished { .. } => PayloadTag::ResultPublished,
            Payload::RoleKeyRotated { .. } => PayloadTag::RoleKeyRotated,
            Payload::EnrolmentOpened { .. } => PayloadTag::EnrolmentOpened,
            Payload::CredentialEnrolled { .. } => PayloadTag::CredentialEnrolled,
            Payload::CredentialRevoked { .. } => PayloadTag::CredentialRevoked,
            Payload::ElectorateFrozen { .. } => PayloadTag::ElectorateFrozen,
            Payload::PetitionPolicySet { .. } => PayloadTag::PetitionPolicySet,
            Payload::TrusteePanelSet { .. } => PayloadTag::TrusteePanelSet,
            Payload::ReferendumTriggered { .. } => PayloadTag::ReferendumTriggered,
            Payload::SharesOverdue { .. } => PayloadTag::SharesOverdue,
            Payload::TrusteeDisqualified { .. } => PayloadTag::TrusteeDisqualified,
            Payload::WitnessPolicySet { .. } => PayloadTag::WitnessPolicySet,
            Payload::PetitionRingSigned { .. } => PayloadTag::PetitionRingSigned,
        }
    }

    #[test]
    fn payload_tags_are_the_kinds() {
        let p = Payload::ReferendumOpened {
            referendum_id: "r".to_owned(),
        };
        let tag: PayloadTag = serde_json::from_value(serde_json::json!(p.kind())).unwrap();
        assert!(matches!(
            (tag, tag_of(&p)),
            (PayloadTag::ReferendumOpened, PayloadTag::ReferendumOpened)
        ));
    }

    /// A named edit of a value, for the tamper tables.
    type Tweak<T> = (&'static str, fn(&mut T));

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn cosigned() -> (BoardPublicKey, SignedTreeHead) {
        let head = TreeHead {
            tree_size: 7,
            root_hash: NodeHash([3; 32]),
            timestamp_ms: 1_767_225_600_123,
        };
        let mut sth = SignedTreeHead::sign(head, ORIGIN, &key(1)).unwrap();
        let c = sth
            .cosign("w1.vox.example", &key(2), 1_767_225_601)
            .unwrap();
        sth.cosignatures.push(c);
        (BoardPublicKey(key(1).verifying_key()), sth)
    }

    #[test]
    fn a_signed_head_is_a_checkpoint_note() {
        let (board, sth) = cosigned();
        sth.verify(&board).unwrap();
        sth.verify_cosignature(&sth.cosignatures[0]).unwrap();
        assert_eq!(
            sth.checkpoint_text().unwrap(),
            format!(
                "{ORIGIN}\n7\n{}\nvox-timestamp-ms 1767225600123\n",
                data_encoding::BASE64.encode(&[3; 32])
            )
        );
        // The note verifies with vox's own C2SP code under both verifier keys.
        let note = tlog::Note::parse(sth.to_note(&board).unwrap().as_bytes()).unwrap();
        let keys = [
            board_note_key(&board, ORIGIN).unwrap(),
            sth.cosignatures[0].verifier_key().unwrap(),
        ];
        let verified = note.verify(&keys).unwrap();
        assert_eq!(verified.len(), 2);
        assert_eq!(verified[1].timestamp, Some(1_767_225_601));
    }

    #[test]
    fn every_tweak_of_a_head_breaks_its_signature() {
        let (board, sth) = cosigned();
        let tweaks: [Tweak<SignedTreeHead>; 6] = [
            ("origin", |s| s.origin.push('x')),
            ("size", |s| s.head.tree_size += 1),
            ("root", |s| s.head.root_hash.0[31] ^= 1),
            ("time", |s| s.head.timestamp_ms += 1),
            ("signature", |s| {
                let mut b = s.signature.0.to_bytes();
                b[5] ^= 1;
                s.signature = Sig(Signature::from_bytes(&b));
            }),
            ("negative time", |s| s.head.timestamp_ms = -1),
        ];
        for (what, tweak) in tweaks {
            let mut t = sth.clone();
            tweak(&mut t);
            assert!(t.verify(&board).is_err(), "{what}: the head still verifies");
            if what != "signature" {
                assert!(
                    t.verify_cosignature(&t.cosignatures[0]).is_err(),
                    "{what}: the cosignature still verifies"
                );
            }
        }
        // Another board key.
        assert!(sth.verify(&BoardPublicKey(key(9).verifying_key())).is_err());
        // An origin that is no key name cannot be signed or verified.
        let mut t = sth.clone();
        t.origin = "with space".into();
        assert!(t.verify(&board).is_err());
        assert!(SignedTreeHead::sign(sth.head, "a+b", &key(1)).is_err());
    }

    #[test]
    fn every_tweak_of_a_cosignature_breaks_it() {
        let (_, sth) = cosigned();
        let c = &sth.cosignatures[0];
        let tweaks: [Tweak<Cosignature>; 4] = [
            ("witness", |c| {
                c.witness = BoardPublicKey(key(3).verifying_key())
            }),
            ("timestamp", |c| c.timestamp += 1),
            ("zero timestamp", |c| c.timestamp = 0),
            ("signature", |c| {
                let mut b = c.signature.0.to_bytes();
                b[40] ^= 1;
                c.signature = Sig(Signature::from_bytes(&b));
            }),
        ];
        for (what, tweak) in tweaks {
            let mut t = c.clone();
            tweak(&mut t);
            assert!(sth.verify_cosignature(&t).is_err(), "{what}");
        }
        // The name is not signed (tlog-cosignature), but it must be a key name, and it is
        // part of the note line's key ID: a renamed line does not verify under the
        // witness's real verifier key.
        let mut renamed = c.clone();
        renamed.name = "bad name".into();
        assert!(sth.verify_cosignature(&renamed).is_err());
        renamed.name = "w2.vox.example".into();
        let line = renamed.note_signature().unwrap();
        assert_ne!(line.key_id, c.verifier_key().unwrap().key_id());
    }
}
