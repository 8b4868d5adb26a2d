//! Trustees' signed messages: the key ceremony and decryption shares, and the ceremony
//! state machine that the server and the verifier both apply to the board
//! (protocol-spec/06-ceremony.md §6.10–6.12).
//!
//! The cryptography is in [`vox_crypto::threshold`]; this module adds what makes it a
//! protocol on a public board: every message is signed by the trustee key named in the
//! manifest, and [`CeremonyTracker`] fixes the order (all commitments, then all reveals,
//! then shares, then confirmations or complaints) so that no trustee can choose its key
//! after seeing the others' (the rushing attack).

use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use vox_crypto::batch::Equations;
use vox_crypto::elgamal::ElectionPublicKey;
use vox_crypto::proofs::SchnorrProof;
use vox_crypto::threshold::{
    judge_complaint, CeremonyCommitment, CeremonyParams, CoefficientCommitments, Complaint,
    ComplaintAnswer, DecryptionShare, EncryptedShare, JointPublicKeys, TrusteeIndex, TrusteeKeys,
    TrusteePublicKey,
};
use vox_crypto::transcript::new_transcript;
use vox_crypto::{Hash32, Point};

use crate::board::{ComplaintRef, DisqualificationReason};
use crate::buffered::{tagged_variant, Buffered, TaggedVisitor};
use crate::encoding::{Canonical, Encoder};
use crate::error::{ProtocolError, Result};
use crate::manifest::{Manifest, TrusteeInfo};

/// Transcript purpose of trustee message signatures.
pub const TRUSTEE_MESSAGE_PURPOSE: &[u8] = b"trustee-message";

/// What a trustee says in the ceremony.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "step", rename_all = "kebab-case")]
#[allow(clippy::large_enum_variant)] // one message per trustee and round: boxing buys nothing
pub enum CeremonyBody {
    /// Round 1: the communication key (with proof of possession) and the hash commitment.
    Commit {
        /// The announced key; must equal the manifest's trustee key.
        key: TrusteePublicKey,
        /// H_i.
        commitment: CeremonyCommitment,
    },
    /// Round 2: the coefficient commitments and their proofs.
    Reveal {
        /// K_ij and proofs.
        coefficients: CoefficientCommitments,
    },
    /// Round 2: one encrypted share per other trustee.
    Shares {
        /// P_i(l) for every l ≠ i.
        shares: Vec<EncryptedShare>,
    },
    /// Round 3: every share received checked out.
    Confirm,
    /// Round 3: a share from `dealer` is bad.
    Complaint {
        /// The complaint.
        complaint: Complaint,
    },
    /// The accused dealer reveals the disputed share.
    Answer {
        /// The answer.
        answer: ComplaintAnswer,
    },
}

/// The `step` of a [`CeremonyBody`]: serde's variant identifier of it.
#[derive(Clone, Copy, Deserialize)]
#[serde(variant_identifier, rename_all = "kebab-case")]
enum CeremonyStep {
    Commit,
    Reveal,
    Shares,
    Confirm,
    Complaint,
    Answer,
}

impl CeremonyBody {
    fn from_buffered<E: serde::de::Error>(
        tag: CeremonyStep,
        body: Buffered<'_>,
    ) -> core::result::Result<Self, E> {
        use CeremonyStep as T;
        Ok(match tag {
            T::Commit => tagged_variant!(
                CeremonyBody,
                body,
                Commit {
                    key: req,
                    commitment: req
                }
            ),
            T::Reveal => tagged_variant!(CeremonyBody, body, Reveal { coefficients: req }),
            T::Shares => tagged_variant!(CeremonyBody, body, Shares { shares: req }),
            // A unit variant: like serde's derive, the other keys of a map are ignored,
            // and the array form may hold nothing after its tag.
            T::Confirm => match body {
                Buffered::Seq(rest) if !rest.is_empty() => {
                    return Err(E::invalid_length(rest.len(), &"0 elements in sequence"))
                }
                _ => CeremonyBody::Confirm,
            },
            T::Complaint => tagged_variant!(CeremonyBody, body, Complaint { complaint: req }),
            T::Answer => tagged_variant!(CeremonyBody, body, Answer { answer: req }),
        })
    }
}

/// Hand-written for the size of the web bundle, as [`crate::board::Payload`]'s: serde's
/// derive of an internally tagged enum buffers through its own private `Content` and
/// decodes the variant from it again, one more copy of that machinery in the bundle.
impl<'de> Deserialize<'de> for CeremonyBody {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> core::result::Result<Self, D::Error> {
        let (tag, body) = d.deserialize_any(TaggedVisitor::<CeremonyStep>::new(
            "step",
            "internally tagged enum CeremonyBody",
        ))?;
        CeremonyBody::from_buffered(tag, body)
    }
}

/// A trustee's signed ceremony message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CeremonyMessage {
    /// The referendum.
    pub referendum_id: String,
    /// The sender (1-based).
    pub trustee: u32,
    /// What it says.
    pub body: CeremonyBody,
    /// Schnorr signature by the trustee's key over the fields above.
    pub signature: SchnorrProof,
}

/// A trustee's signed decryption share of an encrypted tally.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DecryptionShareMessage {
    /// The referendum.
    pub referendum_id: String,
    /// The share and its DLEQ proofs.
    pub share: DecryptionShare,
    /// Schnorr signature by the trustee's key.
    pub signature: SchnorrProof,
}

// ---- canonical encodings ---------------------------------------------------------

fn encode_schnorr(e: &mut Encoder, p: &SchnorrProof) {
    e.point(&p.t).scalar(&p.z);
}

impl Canonical for CeremonyBody {
    fn encode(&self, e: &mut Encoder) {
        match self {
            CeremonyBody::Commit { key, commitment } => {
                e.u8(0).u32(key.trustee.get()).point(&key.communication_key);
                encode_schnorr(e, &key.proof);
                e.u32(commitment.dealer.get()).hash(&commitment.hash);
            }
            CeremonyBody::Reveal { coefficients } => {
                e.u8(1)
                    .u32(coefficients.dealer.get())
                    .seq(&coefficients.commitments);
                e.count(coefficients.proofs.len());
                for p in &coefficients.proofs {
                    encode_schnorr(e, p);
                }
            }
            CeremonyBody::Shares { shares } => {
                e.u8(2).count(shares.len());
                for s in shares {
                    e.u32(s.dealer.get())
                        .u32(s.recipient.get())
                        .point(&s.r)
                        .raw32(&s.ciphertext)
                        .raw32(&s.tag);
                }
            }
            CeremonyBody::Confirm => {
                e.u8(3);
            }
            CeremonyBody::Complaint { complaint } => {
                e.u8(4)
                    .u32(complaint.dealer.get())
                    .u32(complaint.recipient.get());
            }
            CeremonyBody::Answer { answer } => {
                e.u8(5)
                    .u32(answer.dealer.get())
                    .u32(answer.recipient.get())
                    .scalar(&answer.share);
            }
        }
    }
}

fn ceremony_signed_bytes(referendum_id: &str, trustee: u32, body: &CeremonyBody) -> Vec<u8> {
    let mut e = Encoder::new();
    e.str("ceremony").str(referendum_id).u32(trustee);
    body.encode(&mut e);
    e.into_bytes()
}

impl Canonical for CeremonyMessage {
    fn encode(&self, e: &mut Encoder) {
        e.bytes(&ceremony_signed_bytes(
            &self.referendum_id,
            self.trustee,
            &self.body,
        ));
        encode_schnorr(e, &self.signature);
    }
}

fn share_signed_bytes(referendum_id: &str, share: &DecryptionShare) -> Vec<u8> {
    let mut e = Encoder::new();
    e.str("decryption-share")
        .str(referendum_id)
        .u32(share.trustee.get())
        .seq(&share.shares)
        .count(share.proofs.len());
    for p in &share.proofs {
        e.point(&p.t1).point(&p.t2).scalar(&p.z);
    }
    e.into_bytes()
}

impl Canonical for DecryptionShareMessage {
    fn encode(&self, e: &mut Encoder) {
        e.bytes(&share_signed_bytes(&self.referendum_id, &self.share));
        encode_schnorr(e, &self.signature);
    }
}

fn trustee_info(manifest: &Manifest, trustee: u32) -> Result<&TrusteeInfo> {
    manifest
        .trustees
        .iter()
        .find(|t| t.index == trustee)
        .ok_or_else(|| {
            ProtocolError::invalid(
                "trustee",
                format!("trustee {trustee} is not in the manifest"),
            )
        })
}

fn check_signature(
    manifest: &Manifest,
    manifest_hash: &Hash32,
    trustee: u32,
    msg: &[u8],
    sig: &SchnorrProof,
) -> Result<()> {
    // Messages are signed with the signing key D, never the communication key E.
    let key = &trustee_info(manifest, trustee)?.signing_key;
    let mut t = new_transcript(TRUSTEE_MESSAGE_PURPOSE, manifest_hash);
    sig.verify(&mut t, key, msg)
        .map_err(|e| ProtocolError::crypto("signature", e))
}

impl CeremonyMessage {
    /// Sign a ceremony message with the trustee's keys.
    pub fn sign(
        manifest: &Manifest,
        manifest_hash: &Hash32,
        trustee: u32,
        keys: &TrusteeKeys,
        body: CeremonyBody,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Self {
        let msg = ceremony_signed_bytes(&manifest.referendum_id, trustee, &body);
        let mut t = new_transcript(TRUSTEE_MESSAGE_PURPOSE, manifest_hash);
        let signature = keys.sign(&mut t, &msg, rng);
        Self {
            referendum_id: manifest.referendum_id.clone(),
            trustee,
            body,
            signature,
        }
    }

    /// Check the signature against the manifest's key for `trustee`.
    pub fn verify_signature(&self, manifest: &Manifest, manifest_hash: &Hash32) -> Result<()> {
        if self.referendum_id != manifest.referendum_id {
            return Err(ProtocolError::WrongScope {
                what: "ceremony message",
                scope: "referendum",
            });
        }
        let msg = ceremony_signed_bytes(&self.referendum_id, self.trustee, &self.body);
        check_signature(manifest, manifest_hash, self.trustee, &msg, &self.signature)
    }
}

impl DecryptionShareMessage {
    /// Sign a decryption share.
    pub fn sign(
        manifest: &Manifest,
        manifest_hash: &Hash32,
        keys: &TrusteeKeys,
        share: DecryptionShare,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Self {
        let msg = share_signed_bytes(&manifest.referendum_id, &share);
        let mut t = new_transcript(TRUSTEE_MESSAGE_PURPOSE, manifest_hash);
        let signature = keys.sign(&mut t, &msg, rng);
        Self {
            referendum_id: manifest.referendum_id.clone(),
            share,
            signature,
        }
    }

    /// Check the trustee's signature and every DLEQ proof against the trustee's public
    /// share and the tally ciphertexts (protocol-spec/06-ceremony.md §6.8).
    pub fn check(
        &self,
        manifest: &Manifest,
        manifest_hash: &Hash32,
        joint: &JointPublicKeys,
        tally: &[vox_crypto::elgamal::Ciphertext],
        eq: &mut impl Equations,
    ) -> Result<()> {
        if self.referendum_id != manifest.referendum_id {
            return Err(ProtocolError::WrongScope {
                what: "decryption share",
                scope: "referendum",
            });
        }
        let trustee = self.share.trustee.get();
        let msg = share_signed_bytes(&self.referendum_id, &self.share);
        check_signature(manifest, manifest_hash, trustee, &msg, &self.signature)?;
        let x = joint
            .public_share(self.share.trustee)
            .map_err(|e| ProtocolError::crypto(format!("trustee {trustee}"), e))?;
        self.share
            .check(manifest_hash, x, tally, eq)
            .map_err(|e| ProtocolError::crypto(format!("decryption share of trustee {trustee}"), e))
    }
}

/// Where the ceremony is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "phase", rename_all = "kebab-case")]
pub enum CeremonyPhase {
    /// Waiting for every trustee's commitment hash.
    Commit,
    /// Waiting for every reveal.
    Reveal,
    /// Waiting for every trustee's encrypted shares.
    Shares,
    /// Waiting for every trustee to confirm (or complain).
    Confirm,
    /// Done: the joint key is fixed.
    Complete,
    /// Stopped: so many dealers are disqualified that fewer than k trustees remain
    /// (the reason names the last one); the abort is visible on the board.
    Failed {
        /// Why.
        reason: String,
    },
}

/// One complaint as the board shows it, for whoever must check that obligations were
/// met (the verifier's obligations step, the server's deadline sweep). Board timestamps
/// in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComplaintRecord {
    /// Timestamp of the complaint's board entry.
    pub complaint_ts: i64,
    /// The accused dealer.
    pub dealer: u32,
    /// The complaining recipient.
    pub recipient: u32,
    /// The last timestamp at which an answer is accepted: `complaint_ts + answer_due_ms`.
    pub answer_deadline: i64,
    /// Timestamp of the dealer's answer (good or bad), if it answered in time.
    pub answered_at: Option<i64>,
    /// Timestamp of the `trustee-disqualified` entry that removed the dealer, if any
    /// (for this complaint or for another one against the same dealer).
    pub disqualified_at: Option<i64>,
    /// Timestamp at which the complaint closed because its recipient was disqualified
    /// (for another complaint): a disqualified trustee holds no key share, so nobody
    /// owes it one.
    pub withdrawn_at: Option<i64>,
}

impl ComplaintRecord {
    fn is_open(&self) -> bool {
        self.answered_at.is_none() && self.disqualified_at.is_none() && self.withdrawn_at.is_none()
    }
}

/// The ceremony state machine (protocol-spec/06-ceremony.md §6.11).
#[derive(Clone, Debug)]
pub struct CeremonyTracker {
    params: CeremonyParams,
    manifest_hash: Hash32,
    /// Current phase.
    pub phase: CeremonyPhase,
    /// The manifest's `answer_due_ms`.
    answer_due_ms: i64,
    keys: Vec<Option<TrusteePublicKey>>,
    commitments: Vec<Option<CeremonyCommitment>>,
    reveals: Vec<Option<CoefficientCommitments>>,
    shares: Vec<Option<Vec<EncryptedShare>>>,
    confirmed: Vec<bool>,
    open_complaints: Vec<Complaint>,
    /// Every complaint ever made, in board order.
    log: Vec<ComplaintRecord>,
    /// Good answers: the publicly revealed shares recipients use instead of the
    /// encrypted ones.
    answers: Vec<ComplaintAnswer>,
    /// Board timestamp of each trustee's disqualification.
    disqualified: Vec<Option<i64>>,
    /// A bad answer was applied: the next entry must disqualify its dealer.
    pending_bad_answer: Option<Complaint>,
}

impl CeremonyTracker {
    /// Start a ceremony for a validated manifest.
    pub fn new(manifest: &Manifest, manifest_hash: Hash32) -> Result<Self> {
        let n = manifest.trustees.len() as u32;
        let params = CeremonyParams::new(n, manifest.threshold)
            .map_err(|e| ProtocolError::crypto("threshold", e))?;
        let n = n as usize;
        Ok(Self {
            params,
            manifest_hash,
            phase: CeremonyPhase::Commit,
            keys: vec![None; n],
            commitments: vec![None; n],
            reveals: vec![None; n],
            shares: vec![None; n],
            confirmed: vec![false; n],
            open_complaints: Vec::new(),
            answer_due_ms: manifest.answer_due_ms,
            log: Vec::new(),
            answers: Vec::new(),
            disqualified: vec![None; n],
            pending_bad_answer: None,
        })
    }

    /// Every complaint ever made, with its deadline and how it closed, in board order.
    pub fn complaint_log(&self) -> &[ComplaintRecord] {
        &self.log
    }

    /// The good answers so far: shares now public, which their recipients sum instead
    /// of the encrypted ones.
    pub fn answers(&self) -> &[ComplaintAnswer] {
        &self.answers
    }

    /// Whether trustee `i` has been disqualified.
    pub fn is_disqualified(&self, i: u32) -> bool {
        self.disqualified_at(i).is_some()
    }

    /// When trustee `i` was disqualified, if it was.
    pub fn disqualified_at(&self, i: u32) -> Option<i64> {
        i.checked_sub(1)
            .and_then(|s| self.disqualified.get(s as usize).copied().flatten())
    }

    /// The qualified set QUAL: every trustee not disqualified, in index order.
    pub fn qualified(&self) -> Vec<TrusteeIndex> {
        self.params
            .indices()
            .filter(|i| !self.is_disqualified(i.get()))
            .collect()
    }

    /// The complaint whose bad answer was just applied: a `trustee-disqualified` entry
    /// with reason `bad-answer` for it must be the very next board entry.
    pub fn pending_disqualification(&self) -> Option<ComplaintRef> {
        self.pending_bad_answer.map(|c| ComplaintRef {
            dealer: c.dealer.get(),
            recipient: c.recipient.get(),
        })
    }

    /// Open complaints whose answer deadline has passed at `now_ms` (strictly after
    /// `complaint_ts + answer_due_ms`): each may now be closed by disqualifying its
    /// dealer with reason `unanswered`. One per dealer, oldest first, since the first
    /// disqualification closes the dealer's other complaints.
    pub fn overdue(&self, now_ms: i64) -> Vec<ComplaintRef> {
        if self.phase != CeremonyPhase::Confirm {
            return Vec::new();
        }
        let mut out: Vec<ComplaintRef> = Vec::new();
        for r in self.log.iter().filter(|r| r.is_open()) {
            if now_ms > r.answer_deadline && !out.iter().any(|c| c.dealer == r.dealer) {
                out.push(ComplaintRef {
                    dealer: r.dealer,
                    recipient: r.recipient,
                });
            }
        }
        out
    }

    fn record_mut(&mut self, c: &Complaint) -> Option<&mut ComplaintRecord> {
        self.log
            .iter_mut()
            .rev()
            .find(|r| r.dealer == c.dealer.get() && r.recipient == c.recipient.get())
    }

    /// The joint keys over QUAL once every qualified trustee has confirmed.
    fn try_complete(&mut self) -> Result<Option<JointPublicKeys>> {
        let qual = self.qualified();
        if !qual.iter().all(|i| {
            self.confirmed
                .get((i.get() - 1) as usize)
                .copied()
                .unwrap_or(false)
        }) {
            return Ok(None);
        }
        let joint = JointPublicKeys::from_qualified(
            &self.params,
            &self.manifest_hash,
            &self.reveals(),
            &qual,
        )
        .map_err(|e| ProtocolError::crypto("ceremony", e))?;
        self.phase = CeremonyPhase::Complete;
        Ok(Some(joint))
    }

    /// Apply a `trustee-disqualified` entry at board timestamp `ts` (06 §6.11). Valid
    /// only right after a bad answer by that dealer to that complaint (reason
    /// `bad-answer`), or for an open complaint strictly after its answer deadline
    /// (reason `unanswered`). The dealer leaves QUAL, every open complaint against it
    /// or by it closes; the ceremony fails if fewer than k trustees remain, and
    /// completes (returning the joint keys over QUAL) if every remaining trustee has
    /// already confirmed.
    pub fn disqualify(
        &mut self,
        trustee: u32,
        complaint: ComplaintRef,
        reason: DisqualificationReason,
        ts: i64,
    ) -> Result<Option<JointPublicKeys>> {
        if self.phase != CeremonyPhase::Confirm {
            return Err(ProtocolError::invalid(
                "trustee",
                "a trustee is disqualified only in the confirm phase, for a complaint",
            ));
        }
        if trustee != complaint.dealer {
            return Err(ProtocolError::invalid(
                "complaint/dealer",
                "the disqualified trustee must be the complaint's dealer",
            ));
        }
        let dealer = TrusteeIndex::new(complaint.dealer)
            .and_then(|d| self.params.check(d).map(|_| d))
            .map_err(|e| ProtocolError::crypto("complaint/dealer", e))?;
        let recipient = TrusteeIndex::new(complaint.recipient)
            .and_then(|r| self.params.check(r).map(|_| r))
            .map_err(|e| ProtocolError::crypto("complaint/recipient", e))?;
        let c = Complaint { dealer, recipient };
        match (self.pending_bad_answer, reason) {
            (Some(p), DisqualificationReason::BadAnswer) if p == c => {}
            (Some(p), _) => {
                return Err(ProtocolError::invalid(
                    "reason",
                    format!(
                        "trustee {} answered the complaint of trustee {} with a bad share: \
                         its bad-answer disqualification must come next",
                        p.dealer.get(),
                        p.recipient.get()
                    ),
                ))
            }
            (None, DisqualificationReason::BadAnswer) => {
                return Err(ProtocolError::invalid(
                    "reason",
                    "bad-answer: no bad answer to this complaint comes just before",
                ))
            }
            (None, DisqualificationReason::Unanswered) => {
                let r = self
                    .log
                    .iter()
                    .rev()
                    .find(|r| r.dealer == complaint.dealer && r.recipient == complaint.recipient)
                    .ok_or_else(|| ProtocolError::invalid("complaint", "no such complaint"))?;
                if !r.is_open() {
                    return Err(ProtocolError::invalid(
                        "complaint",
                        "this complaint is closed (answered, or its dealer or recipient \
                         already disqualified)",
                    ));
                }
                if ts <= r.answer_deadline {
                    return Err(ProtocolError::invalid(
                        "reason",
                        format!(
                            "unanswered: the answer deadline {} has not passed at {ts}",
                            r.answer_deadline
                        ),
                    ));
                }
            }
        }
        self.pending_bad_answer = None;
        if let Some(slot) = self.disqualified.get_mut((dealer.get() - 1) as usize) {
            *slot = Some(ts);
        }
        self.open_complaints
            .retain(|o| o.dealer != dealer && o.recipient != dealer);
        for r in &mut self.log {
            if r.dealer == trustee && r.disqualified_at.is_none() {
                r.disqualified_at = Some(ts);
            } else if r.recipient == trustee && r.is_open() {
                r.withdrawn_at = Some(ts);
            }
        }
        let remaining = self.qualified().len();
        if remaining < self.params.k() as usize {
            self.phase = CeremonyPhase::Failed {
                reason: format!(
                    "trustee {trustee} disqualified ({}): {remaining} trustees remain, fewer \
                     than the threshold {}",
                    match reason {
                        DisqualificationReason::Unanswered => "unanswered complaint",
                        DisqualificationReason::BadAnswer => "bad answer",
                    },
                    self.params.k()
                ),
            };
            return Ok(None);
        }
        self.try_complete()
    }

    /// The ceremony parameters.
    pub fn params(&self) -> &CeremonyParams {
        &self.params
    }

    /// All announced trustee keys (after the commit phase).
    pub fn trustee_keys(&self) -> Vec<TrusteePublicKey> {
        self.keys.iter().flatten().copied().collect()
    }

    /// All reveals (after the reveal phase).
    pub fn reveals(&self) -> Vec<CoefficientCommitments> {
        self.reveals.iter().flatten().cloned().collect()
    }

    /// Encrypted shares addressed to `recipient`.
    pub fn shares_for(&self, recipient: u32) -> Vec<EncryptedShare> {
        self.shares
            .iter()
            .flatten()
            .flatten()
            .filter(|s| s.recipient.get() == recipient)
            .cloned()
            .collect()
    }

    /// Posted commitment hashes.
    pub fn commitments(&self) -> Vec<CeremonyCommitment> {
        self.commitments.iter().flatten().copied().collect()
    }

    /// Open complaints.
    pub fn complaints(&self) -> &[Complaint] {
        &self.open_complaints
    }

    /// Apply one signed message (signature already checked by the caller with
    /// [`CeremonyMessage::verify_signature`]) at its board entry timestamp `ts` (the
    /// answer deadline is counted from the complaint's timestamp). Returns the joint
    /// keys when this message completes the ceremony.
    pub fn apply(
        &mut self,
        manifest: &Manifest,
        msg: &CeremonyMessage,
        ts: i64,
    ) -> Result<Option<JointPublicKeys>> {
        let i = TrusteeIndex::new(msg.trustee).map_err(|e| ProtocolError::crypto("trustee", e))?;
        self.params
            .check(i)
            .map_err(|e| ProtocolError::crypto("trustee", e))?;
        let slot = (msg.trustee - 1) as usize;
        if let Some(at) = self.disqualified_at(msg.trustee) {
            return Err(ProtocolError::invalid(
                "trustee",
                format!(
                    "trustee {} was disqualified at {at}: it sends nothing more",
                    msg.trustee
                ),
            ));
        }
        if let Some(p) = self.pending_bad_answer {
            return Err(ProtocolError::invalid(
                "body",
                format!(
                    "trustee {} answered badly: its disqualification must come first",
                    p.dealer.get()
                ),
            ));
        }
        let wrong = |phase: &str| {
            ProtocolError::invalid(
                "body",
                format!("not expected now: the ceremony is in the {phase} phase"),
            )
        };
        let mh = self.manifest_hash;
        match (&self.phase, &msg.body) {
            (CeremonyPhase::Commit, CeremonyBody::Commit { key, commitment }) => {
                if key.trustee != i || commitment.dealer != i {
                    return Err(ProtocolError::invalid(
                        "body",
                        "key and commitment must be the sender's own",
                    ));
                }
                if key.communication_key != trustee_info(manifest, msg.trustee)?.communication_key {
                    return Err(ProtocolError::invalid(
                        "body/key",
                        "communication key differs from the manifest's communication_key",
                    ));
                }
                key.verify(&mh)
                    .map_err(|e| ProtocolError::crypto("body/key", e))?;
                put_once(&mut self.keys, slot, *key)?;
                put_once(&mut self.commitments, slot, *commitment)?;
                if self.commitments.iter().all(Option::is_some) {
                    self.phase = CeremonyPhase::Reveal;
                }
                Ok(None)
            }
            (CeremonyPhase::Reveal, CeremonyBody::Reveal { coefficients }) => {
                if coefficients.dealer != i {
                    return Err(ProtocolError::invalid(
                        "body",
                        "a trustee reveals only its own coefficients",
                    ));
                }
                let posted = self
                    .commitments
                    .get(slot)
                    .copied()
                    .flatten()
                    .ok_or_else(|| wrong("reveal"))?;
                coefficients
                    .check_against(&mh, &posted)
                    .map_err(|e| ProtocolError::crypto("body/coefficients", e))?;
                coefficients
                    .verify(&self.params, &mh)
                    .map_err(|e| ProtocolError::crypto("body/coefficients", e))?;
                put_once(&mut self.reveals, slot, coefficients.clone())?;
                if self.reveals.iter().all(Option::is_some) {
                    self.phase = CeremonyPhase::Shares;
                }
                Ok(None)
            }
            (CeremonyPhase::Shares, CeremonyBody::Shares { shares }) => {
                let n = self.params.n();
                if shares.len() != (n - 1) as usize {
                    return Err(ProtocolError::invalid(
                        "body/shares",
                        format!("expected {} shares", n - 1),
                    ));
                }
                for (pos, s) in shares.iter().enumerate() {
                    let expected = if (pos as u32) + 1 < msg.trustee {
                        pos as u32 + 1
                    } else {
                        pos as u32 + 2
                    };
                    if s.dealer != i || s.recipient.get() != expected {
                        return Err(ProtocolError::invalid(
                            format!("body/shares/{pos}"),
                            "shares must go from the sender to every other trustee in index order",
                        ));
                    }
                }
                put_once(&mut self.shares, slot, shares.clone())?;
                if self.shares.iter().all(Option::is_some) {
                    self.phase = CeremonyPhase::Confirm;
                }
                Ok(None)
            }
            (CeremonyPhase::Confirm, CeremonyBody::Confirm) => {
                if self.open_complaints.iter().any(|c| c.recipient == i) {
                    return Err(ProtocolError::invalid(
                        "body",
                        "this trustee has an open complaint",
                    ));
                }
                if self.confirmed.get(slot).copied().unwrap_or(true) {
                    return Err(ProtocolError::invalid("body", "already confirmed"));
                }
                if let Some(c) = self.confirmed.get_mut(slot) {
                    *c = true;
                }
                self.try_complete()
            }
            (CeremonyPhase::Confirm, CeremonyBody::Complaint { complaint }) => {
                if complaint.recipient != i || complaint.dealer == i {
                    return Err(ProtocolError::invalid(
                        "body/complaint",
                        "a trustee complains only about shares it received",
                    ));
                }
                self.params
                    .check(complaint.dealer)
                    .map_err(|e| ProtocolError::crypto("body/complaint", e))?;
                if self.is_disqualified(complaint.dealer.get()) {
                    return Err(ProtocolError::invalid(
                        "body/complaint",
                        "the dealer is disqualified: its shares no longer count",
                    ));
                }
                if self.confirmed.get(slot).copied().unwrap_or(true)
                    || self.open_complaints.contains(complaint)
                {
                    return Err(ProtocolError::invalid(
                        "body/complaint",
                        "already confirmed or already complained",
                    ));
                }
                self.open_complaints.push(*complaint);
                self.log.push(ComplaintRecord {
                    complaint_ts: ts,
                    dealer: complaint.dealer.get(),
                    recipient: complaint.recipient.get(),
                    answer_deadline: ts.saturating_add(self.answer_due_ms),
                    answered_at: None,
                    disqualified_at: None,
                    withdrawn_at: None,
                });
                Ok(None)
            }
            (CeremonyPhase::Confirm, CeremonyBody::Answer { answer }) => {
                if answer.dealer != i {
                    return Err(ProtocolError::invalid(
                        "body/answer",
                        "only the accused dealer answers",
                    ));
                }
                let pos = self
                    .open_complaints
                    .iter()
                    .position(|c| c.dealer == answer.dealer && c.recipient == answer.recipient)
                    .ok_or_else(|| {
                        ProtocolError::invalid("body/answer", "no such open complaint")
                    })?;
                let complaint = self.open_complaints.get(pos).copied().ok_or_else(|| {
                    ProtocolError::invalid("body/answer", "no such open complaint")
                })?;
                let deadline = self
                    .record_mut(&complaint)
                    .map(|r| r.answer_deadline)
                    .ok_or_else(|| ProtocolError::invalid("body/answer", "no such complaint"))?;
                if ts > deadline {
                    return Err(ProtocolError::invalid(
                        "body/answer",
                        format!(
                            "late answer: the deadline {deadline} passed before {ts}; the \
                             dealer is disqualified instead"
                        ),
                    ));
                }
                self.open_complaints.remove(pos);
                if let Some(r) = self.record_mut(&complaint) {
                    r.answered_at = Some(ts);
                }
                let dealer_reveal = self
                    .reveals
                    .get((answer.dealer.get() - 1) as usize)
                    .cloned()
                    .flatten()
                    .ok_or_else(|| ProtocolError::invalid("body/answer", "dealer has no reveal"))?;
                // A bad answer does not fail the ceremony: the dealer must be
                // disqualified by the very next entry (06 §6.6, §6.11).
                match judge_complaint(&dealer_reveal, &complaint, Some(answer)) {
                    Ok(_) => self.answers.push(*answer),
                    Err(_) => self.pending_bad_answer = Some(complaint),
                }
                Ok(None)
            }
            (phase, _) => Err(wrong(match phase {
                CeremonyPhase::Commit => "commit",
                CeremonyPhase::Reveal => "reveal",
                CeremonyPhase::Shares => "shares",
                CeremonyPhase::Confirm => "confirm",
                CeremonyPhase::Complete => "complete",
                CeremonyPhase::Failed { .. } => "failed",
            })),
        }
    }
}

fn put_once<T>(v: &mut [Option<T>], slot: usize, value: T) -> Result<()> {
    match v.get_mut(slot) {
        Some(s @ None) => {
            *s = Some(value);
            Ok(())
        }
        Some(Some(_)) => Err(ProtocolError::invalid(
            "body",
            "this trustee already sent this message",
        )),
        None => Err(ProtocolError::invalid("trustee", "unknown trustee")),
    }
}

/// The trustees that owe a decryption share and have none yet (10 V12.5, V15.6): every
/// trustee of the manifest the ceremony did not disqualify (a disqualified trustee holds
/// no key share, so nobody owes anything for it) for which `posted` is false, in index
/// order. One rule for the server (which names them in `shares-overdue`) and the
/// verifier (which checks that naming).
pub fn trustees_owing_a_share(
    manifest: &Manifest,
    ceremony: Option<&CeremonyTracker>,
    posted: impl Fn(u32) -> bool,
) -> Vec<u32> {
    manifest
        .trustees
        .iter()
        .map(|t| t.index)
        .filter(|i| !ceremony.is_some_and(|c| c.is_disqualified(*i)))
        .filter(|i| !posted(*i))
        .collect()
}

/// The election key and public shares from a completed ceremony, as published.
pub fn completed_payload(joint: &JointPublicKeys) -> Result<(ElectionPublicKey, Vec<Point>)> {
    let mut shares = Vec::new();
    for i in 1..=joint.params().n() {
        let idx = TrusteeIndex::new(i).map_err(|e| ProtocolError::crypto("trustee", e))?;
        shares.push(
            *joint
                .public_share(idx)
                .map_err(|e| ProtocolError::crypto("trustee", e))?,
        );
    }
    Ok((*joint.election_key(), shares))
}
