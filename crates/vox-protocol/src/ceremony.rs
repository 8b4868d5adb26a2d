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

use crate::encoding::{Canonical, Encoder};
use crate::error::{ProtocolError, Result};
use crate::manifest::Manifest;

/// Transcript purpose of trustee message signatures.
pub const TRUSTEE_MESSAGE_PURPOSE: &[u8] = b"trustee-message";

/// What a trustee says in the ceremony.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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

fn trustee_key(manifest: &Manifest, trustee: u32) -> Result<&Point> {
    manifest
        .trustees
        .iter()
        .find(|t| t.index == trustee)
        .map(|t| &t.public_key)
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
    let key = trustee_key(manifest, trustee)?;
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
    /// Stopped: a dealer is disqualified (the reason names it).
    Failed {
        /// Why.
        reason: String,
    },
}

/// The ceremony state machine (protocol-spec/06-ceremony.md §6.11).
#[derive(Clone, Debug)]
pub struct CeremonyTracker {
    params: CeremonyParams,
    manifest_hash: Hash32,
    /// Current phase.
    pub phase: CeremonyPhase,
    keys: Vec<Option<TrusteePublicKey>>,
    commitments: Vec<Option<CeremonyCommitment>>,
    reveals: Vec<Option<CoefficientCommitments>>,
    shares: Vec<Option<Vec<EncryptedShare>>>,
    confirmed: Vec<bool>,
    open_complaints: Vec<Complaint>,
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
        })
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
    /// [`CeremonyMessage::verify_signature`]). Returns the joint keys when this message
    /// completes the ceremony.
    pub fn apply(
        &mut self,
        manifest: &Manifest,
        msg: &CeremonyMessage,
    ) -> Result<Option<JointPublicKeys>> {
        let i = TrusteeIndex::new(msg.trustee).map_err(|e| ProtocolError::crypto("trustee", e))?;
        self.params
            .check(i)
            .map_err(|e| ProtocolError::crypto("trustee", e))?;
        let slot = (msg.trustee - 1) as usize;
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
                if key.communication_key != *trustee_key(manifest, msg.trustee)? {
                    return Err(ProtocolError::invalid(
                        "body/key",
                        "communication key differs from the manifest",
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
                if self.confirmed.iter().all(|c| *c) {
                    let joint =
                        JointPublicKeys::from_commitments(&self.params, &mh, &self.reveals())
                            .map_err(|e| ProtocolError::crypto("ceremony", e))?;
                    self.phase = CeremonyPhase::Complete;
                    return Ok(Some(joint));
                }
                Ok(None)
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
                if self.confirmed.get(slot).copied().unwrap_or(true)
                    || self.open_complaints.contains(complaint)
                {
                    return Err(ProtocolError::invalid(
                        "body/complaint",
                        "already confirmed or already complained",
                    ));
                }
                self.open_complaints.push(*complaint);
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
                let complaint = self.open_complaints.remove(pos);
                let dealer_reveal = self
                    .reveals
                    .get((answer.dealer.get() - 1) as usize)
                    .cloned()
                    .flatten()
                    .ok_or_else(|| ProtocolError::invalid("body/answer", "dealer has no reveal"))?;
                match judge_complaint(&dealer_reveal, &complaint, Some(answer)) {
                    Ok(_) => Ok(None),
                    Err(e) => {
                        self.phase = CeremonyPhase::Failed {
                            reason: e.to_string(),
                        };
                        Ok(None)
                    }
                }
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
