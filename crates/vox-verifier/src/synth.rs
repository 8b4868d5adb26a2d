//! Honest records for tests and benchmarks (feature `synth`; never for production).
//!
//! The generator builds a board the way the server does: every message goes through
//! the same `vox-protocol` constructors and state machines (PetitionTracker for
//! thresholds, CeremonyTracker for the key ceremony), entries get non-decreasing
//! timestamps, and tree heads are signed with an Ed25519 board key as the log grows.
//! Leaf 0 is a genesis signed by the four roles of a deterministic [`RoleSigners`], and
//! every authority act is signed by its role's key (protocol-spec/11-roles.md).
//! [`honest`] builds the small complete scenario the tests tamper with;
//! [`write_bench_record`] streams a large record of ballots to disk for the benchmark.
//! Seeded RNGs make failures reproducible; nothing here is used by the verifier.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::traits::Identity;
use ed25519_dalek::SigningKey;
use rand_chacha::ChaCha20Rng;
use rand_core::{CryptoRng, RngCore, SeedableRng};
use vox_crypto::credential::Credential;
use vox_crypto::dlog::DlogTable;
use vox_crypto::elgamal::Ciphertext;
use vox_crypto::ring::LinkingTag;
use vox_crypto::threshold::{
    receive_share, Complaint, ComplaintAnswer, Dealer, DecryptionShare, EncryptedShare,
    JointPublicKeys, KeyShare, ShareVerdict, TrusteeIndex, TrusteeKeys,
};
use vox_crypto::{Hash32, Point, Scalar};
use vox_protocol::api::SignatureAccepted;
use vox_protocol::ballot::{
    encrypt_anonymous_ballot, encrypt_ballot, AuditedBallot, Ballot, BallotContext, Choices,
};
use vox_protocol::board::{
    unsigned, BoardEntry, BoardPublicKey, ComplaintRef, DisqualificationReason, EncryptedTally,
    Payload, Receipt, SignedTreeHead, TreeHead,
};
use vox_protocol::ceremony::{
    completed_payload, CeremonyBody, CeremonyMessage, CeremonyPhase, CeremonyTracker,
    DecryptionShareMessage,
};
use vox_protocol::electorate::{Electorate, ElectorateEntry, EnrolmentRequest};
use vox_protocol::encoding::{human_code, Hashable};
use vox_protocol::enrolment::{EnrolmentCode, EnrolmentOpening, Roll};
use vox_protocol::manifest::{
    Manifest, Participation, Question, QuestionKind, TrusteeInfo, TrusteePanel, MANIFEST_VERSION,
};
use vox_protocol::merkle::{inclusion_proof, NodeHash};
use vox_protocol::petition::{
    Crossed, Moderation, Petition, PetitionPolicy, PetitionProposal, PetitionSignature,
    PetitionTracker, ReferendumTerms, RingPetitionSignature, SignatureAction, SignatureScheme,
};
use vox_protocol::record::{RecordHeader, RECORD_FORMAT, RECORD_VERSION};
use vox_protocol::rings::{BoardView, RingSet};
use vox_protocol::roles::{ActSignature, Genesis, Role, RoleSigners, WitnessPolicy};
use vox_protocol::signature_receipt::{SignatureReceipt, Signer};
use vox_protocol::tally::{counted_hash, counts_from_slots, slot_bounds, ReferendumResult};

use crate::compact::CompactTree;
use crate::dir::RecordWriter;
use crate::error::VerifyError;
use crate::parallel;
use crate::source::MemorySource;

type Result<T> = core::result::Result<T, VerifyError>;

fn err(e: impl core::fmt::Display) -> VerifyError {
    VerifyError::Synth(e.to_string())
}

/// 2026-01-01T00:00:00Z in Unix milliseconds: where synthetic clocks start.
pub const T0: i64 = 1_767_225_600_000;
/// One day in milliseconds.
pub const DAY: i64 = 86_400_000;
/// The `log_name` of synthetic logs.
pub const LOG_NAME: &str = "synth.vox.example/test";

/// The C2SP key name of the `i`-th synthetic witness.
pub fn witness_name(i: usize) -> String {
    format!("witness-{i}.vox.example")
}

/// A synthetic witness's cosignature time for a head signed at `timestamp_ms`: the
/// next whole second (never 0).
pub fn cosignature_time(timestamp_ms: i64) -> u64 {
    u64::try_from(timestamp_ms.max(0) / 1000).unwrap_or(0) + 1
}

/// Sign `head` as a checkpoint of `origin` and have every witness (named by
/// [`witness_name`]) cosign it.
///
/// # Panics
/// Never for the synthetic origins and times (a valid key name, a non-negative time).
#[allow(clippy::expect_used)]
pub fn sign_and_cosign(
    head: TreeHead,
    origin: &str,
    key: &SigningKey,
    witnesses: &[SigningKey],
) -> SignedTreeHead {
    let mut sth = SignedTreeHead::sign(head, origin, key).expect("a valid synthetic origin");
    for (i, w) in witnesses.iter().enumerate() {
        let c = sth
            .cosign(&witness_name(i), w, cosignature_time(head.timestamp_ms))
            .expect("a valid synthetic witness name");
        sth.cosignatures.push(c);
    }
    sth
}

/// The witness policy naming `witnesses`, all of whom must cosign.
fn all_required(witnesses: &[SigningKey]) -> Result<WitnessPolicy> {
    Ok(WitnessPolicy {
        keys: witnesses
            .iter()
            .map(|w| BoardPublicKey(w.verifying_key()))
            .collect(),
        quorum: u32::try_from(witnesses.len()).map_err(err)?,
    })
}

/// A copy of `roles` (`RoleSigners` is deliberately not `Clone`).
pub fn copy_signers(roles: &RoleSigners) -> RoleSigners {
    RoleSigners {
        operator: roles.operator.clone(),
        registrar: roles.registrar.clone(),
        petitions_office: roles.petitions_office.clone(),
        election_authority: roles.election_authority.clone(),
    }
}

// -------------------------------------------------------------------------------------
// The board
// -------------------------------------------------------------------------------------

/// Where a synthetic board's entries go.
pub trait EntrySink {
    /// Store the next entry.
    fn put(&mut self, entry: BoardEntry) -> Result<()>;
}

impl EntrySink for Vec<BoardEntry> {
    fn put(&mut self, entry: BoardEntry) -> Result<()> {
        self.push(entry);
        Ok(())
    }
}

/// An append-only board with a clock and an Ed25519 key, like the server's, and the
/// roles' keys to sign their acts (their tools would, in a real deployment).
pub struct Board<S> {
    key: SigningKey,
    roles: RoleSigners,
    witnesses: Vec<SigningKey>,
    now: i64,
    tree: CompactTree,
    leaves: Vec<NodeHash>,
    heads: Vec<SignedTreeHead>,
    sink: S,
    /// The standing trustee panel in force (tag 26).
    panel: Option<TrusteePanel>,
    /// Witnesses of a policy change not in force yet: they cosign the next head with
    /// the current ones, whose quorum makes the change take effect (11 §11.6).
    next_witnesses: Option<Vec<SigningKey>>,
}

impl<S: EntrySink> Board<S> {
    /// A board whose clock reads `start_ms`, run by `roles.operator`, with the genesis
    /// signed by all four `roles` as leaf 0; heads are cosigned by `witnesses`, all of
    /// whom the genesis requires (quorum = their number).
    pub fn new(
        roles: RoleSigners,
        witnesses: Vec<SigningKey>,
        start_ms: i64,
        sink: S,
    ) -> Result<Self> {
        let genesis = roles
            .genesis(LOG_NAME, start_ms, all_required(&witnesses)?)
            .map_err(err)?;
        let mut board = Self {
            key: roles.operator.clone(),
            roles,
            witnesses,
            now: start_ms,
            tree: CompactTree::new(),
            leaves: Vec::new(),
            heads: Vec::new(),
            sink,
            panel: None,
            next_witnesses: None,
        };
        board.append(Payload::Genesis { genesis })?;
        Ok(board)
    }

    /// The roles' keys.
    pub fn roles(&self) -> &RoleSigners {
        &self.roles
    }

    /// Append an authority act signed by its role's current key, issued now.
    pub fn append_act(&mut self, payload: Payload) -> Result<u64> {
        let signed = self.roles.sign(payload, self.now).map_err(err)?;
        self.append(signed)
    }

    /// Rotate `role`'s key to `new_key` (a `role-key-rotated` act signed by the old key,
    /// with the new key's proof of possession); later acts are signed by `new_key`.
    pub fn rotate(&mut self, role: Role, new_key: SigningKey) -> Result<u64> {
        if role == Role::Operator {
            return Err(err("the operator key cannot be rotated within a log"));
        }
        let payload = rotation(&self.roles.log_id(), role, &new_key)?;
        let index = self.append_act(payload)?;
        match role {
            Role::Operator => {}
            Role::Registrar => self.roles.registrar = new_key,
            Role::PetitionsOffice => self.roles.petitions_office = new_key,
            Role::ElectionAuthority => self.roles.election_authority = new_key,
        }
        Ok(index)
    }

    /// The clock.
    pub fn now(&self) -> i64 {
        self.now
    }

    /// The election authority sets the standing trustee panel (tag 26).
    pub fn set_panel(&mut self, panel: TrusteePanel) -> Result<u64> {
        let index = self.append_act(Payload::TrusteePanelSet {
            panel: panel.clone(),
            act: ActSignature::unsigned(),
        })?;
        self.panel = Some(panel);
        Ok(index)
    }

    /// The operator replaces the witness policy (`witness-policy-set`, tag 30) with
    /// `witnesses`, all of whom it requires. The next head is cosigned by the old
    /// witnesses and the new ones (the old quorum makes the change take effect,
    /// 11 §11.6), later heads by the new ones only.
    pub fn change_witnesses(&mut self, witnesses: Vec<SigningKey>) -> Result<u64> {
        let index = self.append_act(Payload::WitnessPolicySet {
            policy: all_required(&witnesses)?,
            act: ActSignature::unsigned(),
        })?;
        self.next_witnesses = Some(witnesses);
        Ok(index)
    }

    /// The standing trustee panel in force.
    pub fn panel(&self) -> Option<&TrusteePanel> {
        self.panel.as_ref()
    }

    /// Move the clock forward.
    pub fn advance_clock(&mut self, ms: i64) {
        self.now = self.now.saturating_add(ms.max(0));
    }

    /// Entries so far.
    pub fn size(&self) -> u64 {
        self.tree.size()
    }

    /// The board key.
    pub fn public_key(&self) -> BoardPublicKey {
        BoardPublicKey(self.key.verifying_key())
    }

    /// Append an entry stamped with the clock (which then ticks 1 ms). Returns its index.
    pub fn append(&mut self, payload: Payload) -> Result<u64> {
        let signed = self.heads.last().map(|h| h.head.tree_size);
        if payload.ends_a_phase() && signed != Some(self.tree.size()) {
            // As the server does: a phase ends only after the head before it is cosigned
            // (08 §8.4, V3.6); one head per size, as the server stores them.
            self.sign_head();
        }
        let entry = BoardEntry {
            timestamp_ms: self.now,
            payload,
        };
        let index = self.tree.size();
        let leaf = entry.leaf_hash();
        self.tree.push(leaf);
        self.leaves.push(leaf);
        self.sink.put(entry)?;
        self.now = self.now.saturating_add(1);
        Ok(index)
    }

    /// Sign (and have every witness cosign) a head of the current tree.
    pub fn sign_head(&mut self) -> SignedTreeHead {
        let head = TreeHead {
            tree_size: self.tree.size(),
            root_hash: self.tree.root(),
            timestamp_ms: self.now,
        };
        let sth = match self.next_witnesses.take() {
            None => sign_and_cosign(head, LOG_NAME, &self.key, &self.witnesses),
            Some(next) => {
                let mut both = self.witnesses.clone();
                both.extend(
                    next.iter()
                        .filter(|n| {
                            !self
                                .witnesses
                                .iter()
                                .any(|w| w.verifying_key() == n.verifying_key())
                        })
                        .cloned(),
                );
                self.witnesses = next;
                sign_and_cosign(head, LOG_NAME, &self.key, &both)
            }
        };
        self.heads.push(sth.clone());
        sth
    }

    /// Heads signed so far.
    pub fn heads(&self) -> &[SignedTreeHead] {
        &self.heads
    }

    /// The record header for this board.
    pub fn header(&self, referendum_id: Option<String>) -> RecordHeader {
        RecordHeader {
            format: RECORD_FORMAT.into(),
            version: RECORD_VERSION,
            board_public_key: self.public_key(),
            log_id: self.public_key().log_id(),
            tree_size: self.tree.size(),
            referendum_id,
            petition_id: None,
            witnesses: self
                .witnesses
                .iter()
                .map(|w| BoardPublicKey(w.verifying_key()))
                .collect(),
        }
    }

    /// The signed receipt the server returns for the BallotCast `entry` at `leaf`,
    /// against `head`.
    pub fn receipt(&self, entry: &BoardEntry, leaf: u64, head: &SignedTreeHead) -> Result<Receipt> {
        let Payload::BallotCast { ballot } = &entry.payload else {
            return Err(err("a receipt is only for a cast ballot"));
        };
        let size = usize::try_from(head.head.tree_size).map_err(err)?;
        let leaves = self
            .leaves
            .get(..size)
            .ok_or_else(|| err("head beyond board"))?;
        let hash = ballot.hash();
        Ok(Receipt {
            referendum_id: ballot.referendum_id.clone(),
            tracking_code: human_code(&hash),
            ballot_hash: hash,
            leaf_index: leaf,
            entry_timestamp_ms: entry.timestamp_ms,
            leaf_hash: entry.leaf_hash(),
            tree_head: head.clone(),
            inclusion_proof: inclusion_proof(leaves, leaf).map_err(err)?,
            signature: unsigned(),
        }
        .sign(&self.key))
    }

    /// The sink (the entries), and the heads.
    pub fn into_parts(self) -> (S, Vec<SignedTreeHead>) {
        (self.sink, self.heads)
    }
}

impl Board<Vec<BoardEntry>> {
    /// Sign a last head over everything and make the record (header without a focus).
    pub fn finish(mut self) -> SynthRecord {
        self.sign_head();
        let header = self.header(None);
        let (entries, heads) = self.into_parts();
        SynthRecord {
            header,
            heads,
            entries,
        }
    }
}

/// An unsigned `role-key-rotated` act of `role` to `new_key` in the log `log_id`, with
/// the new key's proof of possession (sign it with the role's current key).
pub fn rotation(log_id: &Hash32, role: Role, new_key: &SigningKey) -> Result<Payload> {
    use ed25519_dalek::Signer;
    let public = BoardPublicKey(new_key.verifying_key());
    let possession = vox_protocol::board::Sig(new_key.sign(
        &vox_protocol::roles::possession_message(log_id, role, &public),
    ));
    Ok(Payload::RoleKeyRotated {
        role,
        new_key: public,
        possession,
        act: vox_protocol::roles::ActSignature::unsigned(),
    })
}

// -------------------------------------------------------------------------------------
// Electorates and petitions
// -------------------------------------------------------------------------------------

/// `n` fresh credentials and their electorate (regions "north" and "south" alternate).
pub fn electorate(
    id: &str,
    n: usize,
    rng: &mut (impl RngCore + CryptoRng),
) -> (Vec<Credential>, Electorate) {
    let creds: Vec<Credential> = (0..n).map(|_| Credential::generate(rng)).collect();
    let entries = creds
        .iter()
        .enumerate()
        .map(|(i, c)| ElectorateEntry {
            credential: c.public_key(),
            region: region_of_voter(i),
        })
        .collect();
    (
        creds,
        Electorate {
            id: id.into(),
            name: format!("Electorate {id}"),
            entries,
        },
    )
}

/// An electorate put on the board by the registrar, replayed through the same
/// [`Roll`] as the server's (so every entry it appends is one the server would accept).
pub struct ElectorateRun {
    roll: Roll,
    /// The electorate's id.
    pub id: String,
    /// The frozen (or registered) electorate: what manifests and petitions name.
    pub electorate: Electorate,
    /// The citizens' credentials, in electorate order (drawn on their devices).
    pub credentials: Vec<Credential>,
}

/// The regions of [`electorate`]: "north" and "south" alternate.
fn region_of_voter(i: usize) -> Option<String> {
    Some(
        if i.is_multiple_of(2) {
            "north"
        } else {
            "south"
        }
        .into(),
    )
}

impl ElectorateRun {
    /// Append `payload` (a registrar act, or an enrolment) as the server would: the roll
    /// must accept it at the leaf it gets.
    fn append<S: EntrySink>(&mut self, board: &mut Board<S>, payload: Payload) -> Result<u64> {
        self.roll.apply(board.size(), &payload).map_err(err)?;
        if payload.act_role().is_some() {
            board.append_act(payload)
        } else {
            board.append(payload)
        }
    }

    /// `n` credentials registered whole by one `electorate-registered` act (04 §4.1.1).
    pub fn register<S: EntrySink>(
        board: &mut Board<S>,
        id: &str,
        n: usize,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<Self> {
        let (credentials, e) = electorate(id, n, rng);
        let mut run = Self {
            roll: Roll::new(),
            id: id.into(),
            electorate: e.clone(),
            credentials,
        };
        run.append(
            board,
            Payload::ElectorateRegistered {
                electorate: e,
                act: ActSignature::unsigned(),
            },
        )?;
        Ok(run)
    }

    /// `n` citizens enrolled by code (04 §4.1.2, §4.1.4): the registrar draws one code
    /// per citizen (regions "north" and "south" alternate, as in [`electorate`]) and
    /// opens enrolment with their hashes; each citizen's device draws its credential and
    /// enrols it with the code of its letter; the registrar freezes the electorate with
    /// the hash of the enrolled list ([`Roll::pending`]).
    pub fn by_code<S: EntrySink>(
        board: &mut Board<S>,
        id: &str,
        n: usize,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<Self> {
        let north = n.div_ceil(2) as u64;
        let south = (n / 2) as u64;
        let per_region: Vec<(Option<String>, u64)> =
            [(region_of_voter(0), north), (region_of_voter(1), south)]
                .into_iter()
                .filter(|(_, c)| *c > 0)
                .collect();
        let name = format!("Electorate {id}");
        let (opening, letters) =
            EnrolmentOpening::draw(id, &name, &per_region, rng).map_err(err)?;
        let mut run = Self {
            roll: Roll::new(),
            id: id.into(),
            electorate: Electorate {
                id: id.into(),
                name,
                entries: Vec::new(),
            },
            credentials: Vec::new(),
        };
        run.append(
            board,
            Payload::EnrolmentOpened {
                opening,
                act: ActSignature::unsigned(),
            },
        )?;
        // The letters come region by region; citizen i takes the next of its region's.
        let mut by_region: HashMap<Option<String>, Vec<EnrolmentCode>> = HashMap::new();
        for (region, code) in letters {
            by_region.entry(region).or_default().push(code);
        }
        for codes in by_region.values_mut() {
            codes.reverse();
        }
        for i in 0..n {
            let region = region_of_voter(i);
            let code = by_region
                .get_mut(&region)
                .and_then(Vec::pop)
                .ok_or_else(|| err("no letter left for the region"))?;
            let credential = Credential::generate(rng);
            let enrolment =
                EnrolmentRequest::create(id, region.as_deref(), Some(&code), &credential, rng);
            run.append(board, Payload::CredentialEnrolled { enrolment })?;
            run.credentials.push(credential);
        }
        run.electorate = run.roll.pending(id).map_err(err)?;
        let electorate_hash = run.electorate.canonical_hash();
        run.append(
            board,
            Payload::ElectorateFrozen {
                electorate_id: id.into(),
                electorate_hash,
                act: ActSignature::unsigned(),
            },
        )?;
        Ok(run)
    }

    /// The registrar revokes citizen `i`'s credential (lost device) after the freeze,
    /// with a replacement code on a new letter; the citizen's new device enrols a new
    /// credential with it (04 §4.1.3). Returns the replacement credential and the leaves
    /// of the revocation and of the enrolment.
    pub fn revoke_and_replace<S: EntrySink>(
        &mut self,
        board: &mut Board<S>,
        i: usize,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<(Credential, u64, u64)> {
        let old = self
            .credentials
            .get(i)
            .ok_or_else(|| err("no such citizen"))?
            .public_key();
        let region = self
            .electorate
            .entries
            .iter()
            .find(|e| e.credential == old)
            .and_then(|e| e.region.clone());
        let code = EnrolmentCode::generate(rng);
        let revoked = self.append(
            board,
            Payload::CredentialRevoked {
                electorate_id: self.id.clone(),
                credential: old,
                replacement: Some(code.hash(&self.id, region.as_deref())),
                reason: "Device lost.".into(),
                act: ActSignature::unsigned(),
            },
        )?;
        let credential = Credential::generate(rng);
        let enrolment =
            EnrolmentRequest::create(&self.id, region.as_deref(), Some(&code), &credential, rng);
        let enrolled = self.append(board, Payload::CredentialEnrolled { enrolment })?;
        Ok((credential, revoked, enrolled))
    }
}

/// A petition followed through the same tracker as the server's.
pub struct PetitionRun {
    /// The tracker (its counts are the truth the verifier recomputes).
    pub tracker: PetitionTracker,
    /// The referendum its threshold triggered, once it did.
    pub triggered: Option<Manifest>,
}

impl PetitionRun {
    /// Post a proposal.
    pub fn propose<S: EntrySink>(
        board: &mut Board<S>,
        electorate: &Electorate,
        petition: Petition,
        proposer: &Credential,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<Self> {
        let proposal = PetitionProposal::create(petition, proposer, rng);
        let region = electorate
            .entries
            .iter()
            .find(|e| e.credential == proposal.proposer)
            .and_then(|e| e.region.clone());
        let tracker = PetitionTracker::new(&proposal, region.as_deref());
        board.append(Payload::PetitionProposed { proposal })?;
        Ok(Self {
            tracker,
            triggered: None,
        })
    }

    /// Post the threshold entries `crossed` names and, right after the referendum
    /// threshold, the referendum it obliges (07 §7.4), as the server does.
    fn thresholds<S: EntrySink>(&mut self, board: &mut Board<S>, crossed: Crossed) -> Result<()> {
        for (kind, count) in crossed.0 {
            board.append(Payload::PetitionThreshold {
                petition_id: self.tracker.petition.id.clone(),
                kind,
                count,
            })?;
        }
        if let Some(m) = self.tracker.due_referendum(board.panel(), board.now()) {
            self.tracker
                .apply_referendum_triggered(&m, board.panel(), board.now())
                .map_err(err)?;
            board.append(Payload::ReferendumTriggered {
                manifest: m.clone(),
            })?;
            self.triggered = Some(m);
        }
        Ok(())
    }

    /// Sign or withdraw, then post the thresholds this crosses.
    pub fn sign<S: EntrySink>(
        &mut self,
        board: &mut Board<S>,
        electorate: &Electorate,
        credential: &Credential,
        action: SignatureAction,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<u64> {
        let sig = PetitionSignature::create(&self.tracker.petition, credential, action, rng);
        let region = electorate
            .entries
            .iter()
            .find(|e| e.credential == credential.public_key())
            .and_then(|e| e.region.clone());
        let crossed = self
            .tracker
            .apply_signature(&sig, region.as_deref(), board.now())
            .map_err(err)?;
        let index = board.append(Payload::PetitionSigned { signature: sig })?;
        self.thresholds(board, crossed)?;
        Ok(index)
    }

    /// Ring-sign or withdraw (07 §7.10) in the ring `rings` gives the credential, then
    /// post the thresholds this crosses.
    pub fn ring_sign<S: EntrySink>(
        &mut self,
        board: &mut Board<S>,
        rings: &RingSet,
        credential: &Credential,
        action: SignatureAction,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<RingPetitionSignature> {
        let sig =
            RingPetitionSignature::create(&self.tracker.petition, rings, credential, action, rng)
                .map_err(err)?;
        let region = rings
            .position_of(&sig.ring)
            .and_then(|i| rings.rings().get(i))
            .and_then(|r| r.region.clone())
            .filter(|_| action == SignatureAction::Sign);
        let crossed = self
            .tracker
            .apply_ring_signature(&sig, region.as_deref(), board.now())
            .map_err(err)?;
        board.append(Payload::PetitionRingSigned {
            signature: Box::new(sig.clone()),
        })?;
        self.thresholds(board, crossed)?;
        Ok(sig)
    }

    /// Invalidate ring signatures by their linking tags, with a public reason.
    pub fn invalidate_tags<S: EntrySink>(
        &mut self,
        board: &mut Board<S>,
        tags: Vec<LinkingTag>,
        reason: &str,
    ) -> Result<()> {
        self.tracker.apply_invalidation(&[], &tags).map_err(err)?;
        board.append_act(Payload::SignaturesInvalidated {
            petition_id: self.tracker.petition.id.clone(),
            credentials: Vec::new(),
            tags,
            reason: reason.into(),
            act: ActSignature::unsigned(),
        })?;
        Ok(())
    }

    /// Moderate, then post the thresholds publication crosses.
    pub fn moderate<S: EntrySink>(&mut self, board: &mut Board<S>, m: Moderation) -> Result<()> {
        let crossed = self
            .tracker
            .apply_moderation(&m, board.now())
            .map_err(err)?;
        board.append_act(Payload::PetitionModerated {
            petition_id: self.tracker.petition.id.clone(),
            moderation: m,
            act: ActSignature::unsigned(),
        })?;
        self.thresholds(board, crossed)
    }

    /// The official response.
    pub fn respond<S: EntrySink>(&mut self, board: &mut Board<S>, text: &str) -> Result<()> {
        self.tracker
            .apply_response(text, board.now())
            .map_err(err)?;
        board.append_act(Payload::PetitionResponded {
            petition_id: self.tracker.petition.id.clone(),
            text: text.into(),
            act: ActSignature::unsigned(),
        })?;
        Ok(())
    }

    /// Invalidate signatures with a public reason.
    pub fn invalidate<S: EntrySink>(
        &mut self,
        board: &mut Board<S>,
        credentials: Vec<vox_crypto::credential::CredentialPublicKey>,
        reason: &str,
    ) -> Result<()> {
        self.tracker
            .apply_invalidation(&credentials, &[])
            .map_err(err)?;
        board.append_act(Payload::SignaturesInvalidated {
            petition_id: self.tracker.petition.id.clone(),
            credentials,
            tags: Vec::new(),
            reason: reason.into(),
            act: ActSignature::unsigned(),
        })?;
        Ok(())
    }

    /// Close at the deadline with the final count.
    pub fn close<S: EntrySink>(&mut self, board: &mut Board<S>) -> Result<()> {
        self.tracker.apply_close(board.now()).map_err(err)?;
        board.append(Payload::PetitionClosed {
            petition_id: self.tracker.petition.id.clone(),
            count: self.tracker.count(),
        })?;
        Ok(())
    }
}

/// The rings of `petition` for a signature at the next leaf, derived the way a signer's
/// device does: from the log itself (07 §7.10).
pub fn rings_from_log(entries: &[BoardEntry], petition: &Petition) -> Result<RingSet> {
    view_of(entries)?.petition_rings(petition).map_err(err)
}

/// The device's view of the log (every act checked), as a signer's device builds it.
fn view_of(entries: &[BoardEntry]) -> Result<BoardView> {
    let mut view = BoardView::new();
    for e in entries {
        view.apply(&e.payload).map_err(err)?;
    }
    Ok(view)
}

/// The rings of an anonymous referendum for a ballot at the next leaf, derived the way a
/// voter's device does: from the log itself (04 §4.10).
pub fn referendum_rings_from_log(entries: &[BoardEntry], referendum_id: &str) -> Result<RingSet> {
    view_of(entries)?
        .referendum_rings(referendum_id)
        .map_err(err)
}

/// The voter of [`anonymous_referendum`] whose credential is revoked after voting.
pub const ANONYMOUS_REVOKED: usize = 5;

/// A short record with an anonymous-participation referendum (04 §4.10): an electorate of
/// 8 enrolled by code and frozen; referendum "ra" (one yes-no question, 3 trustees, k = 2,
/// `participation: anonymous`) created by the authority; voters 0–5 cast ballots ring-
/// signed in rings derived from the log, voter 1 re-votes (same tag, `previous` its first
/// ballot), voter 6 audits a ballot then casts; the registrar then revokes voter
/// [`ANONYMOUS_REVOKED`]'s credential (its ballot stays counted) and enrols a replacement,
/// which is in no ring of "ra" (enrolled after its creation) and does not vote; close,
/// tally, trustees 1 and 3 decrypt (trustee 2 posts its share too), result. Every step
/// passes.
pub fn anonymous_referendum(seed: u64) -> Result<Honest> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let roles = RoleSigners::generate(&mut rng);
    let board_key = roles.operator.clone();
    let mut b = Board::new(copy_signers(&roles), Vec::new(), T0, Vec::new())?;
    let mut town_run = ElectorateRun::by_code(&mut b, "town", 8, &mut rng)?;
    let creds = town_run.credentials.clone();
    let cred = |i: usize| creds.get(i).ok_or_else(|| err("voter"));
    b.sign_head();
    let trustee_keys: Vec<TrusteeKeys> = (0..3).map(|_| TrusteeKeys::generate(&mut rng)).collect();
    let m = Manifest {
        participation: Participation::Anonymous,
        ..manifest(
            "ra",
            &town_run.electorate,
            vec![question("q1", 2, QuestionKind::YesNo)],
            &trustee_keys,
            2,
            b.now().saturating_add(DAY),
            None,
        )
    };
    let mut r = Referendum::create(&mut b, m, trustee_keys.clone(), &mut rng)?;
    b.sign_head();
    r.open(&mut b)?;
    let choice = |v: usize| {
        vec![if v.is_multiple_of(3) {
            vec![0, 1]
        } else {
            vec![1, 0]
        }]
    };
    let vote = |b: &mut Board<Vec<BoardEntry>>,
                r: &mut Referendum,
                c: &Credential,
                v: usize,
                rng: &mut ChaCha20Rng|
     -> Result<u64> {
        b.advance_clock(60_000);
        let rings = referendum_rings_from_log(&b.sink, "ra")?;
        let (ballot, _) = r.encrypt_anonymous(&rings, c, &choice(v), rng)?;
        r.cast(b, ballot)
    };
    for v in 0..=5 {
        vote(&mut b, &mut r, cred(v)?, v, &mut rng)?;
    }
    vote(&mut b, &mut r, cred(1)?, 3, &mut rng)?;
    b.sign_head();
    let rings = referendum_rings_from_log(&b.sink, "ra")?;
    let (spoiled, secrets) = r.encrypt_anonymous(&rings, cred(6)?, &choice(6), &mut rng)?;
    r.audit(&mut b, AuditedBallot::new(spoiled, secrets))?;
    vote(&mut b, &mut r, cred(6)?, 6, &mut rng)?;
    let (replacement, _, _) = town_run.revoke_and_replace(&mut b, ANONYMOUS_REVOKED, &mut rng)?;
    b.sign_head();
    r.close(&mut b)?;
    let result = r.publish(&mut b, &[1, 3], &mut rng)?;
    r.share(&mut b, 2, &mut rng)?;
    b.sign_head();
    let header = b.header(None);
    let joint = r.joint.clone();
    let manifest = r.manifest.clone();
    let (entries, heads) = b.into_parts();
    Ok(Honest {
        record: SynthRecord {
            header,
            heads,
            entries,
        },
        board_key,
        roles,
        witness_keys: Vec::new(),
        receipts: Vec::new(),
        credentials: creds,
        revoked: ANONYMOUS_REVOKED,
        replacement,
        trustee_keys,
        manifest,
        joint,
        result,
    })
}

/// The petitions office's policy in the honest record: every honest proposal meets it
/// (p1 asks for a referendum threshold of exactly the minimum, 6).
pub fn honest_policy() -> PetitionPolicy {
    PetitionPolicy {
        min_sponsor_threshold: Some(2),
        min_referendum_threshold: Some(6),
        max_referendum_threshold: Some(100_000),
        min_open_for_ms: Some(7 * DAY),
        max_open_for_ms: Some(90 * DAY),
        max_response_due_ms: Some(30 * DAY),
        min_region_min_group: Some(2),
        ..PetitionPolicy::default()
    }
}

/// A petition with the given thresholds, open for 30 days.
pub fn petition(
    id: &str,
    electorate: &Electorate,
    sponsor: u32,
    response: u32,
    referendum: u32,
) -> Petition {
    Petition {
        id: id.into(),
        action: format!("Do the thing asked by {id}"),
        background: "Because many residents want it.".into(),
        details: String::new(),
        electorate_hash: electorate.canonical_hash(),
        sponsor_threshold: sponsor,
        response_threshold: response,
        referendum_threshold: referendum,
        open_for_ms: 30 * DAY,
        response_due_ms: 14 * DAY,
        region_min_group: 2,
        signatures: Default::default(),
    }
}

// -------------------------------------------------------------------------------------
// Referendums
// -------------------------------------------------------------------------------------

/// A manifest with `trustees` (k = `threshold`), open for a week from `opens_at`.
pub fn manifest(
    id: &str,
    electorate: &Electorate,
    questions: Vec<Question>,
    trustees: &[TrusteeKeys],
    threshold: u32,
    opens_at: i64,
    source_petition: Option<String>,
) -> Manifest {
    Manifest {
        version: MANIFEST_VERSION,
        referendum_id: id.into(),
        title: format!("Referendum {id}"),
        description: "A synthetic referendum.".into(),
        questions,
        opens_at,
        closes_at: opens_at.saturating_add(7 * DAY),
        electorate_hash: electorate.canonical_hash(),
        trustees: TrusteeInfo::numbered(trustees),
        threshold,
        answer_due_ms: DAY,
        decryption_due_ms: DAY,
        source_petition,
        participation: Participation::Pseudonymous,
    }
}

/// A question.
pub fn question(id: &str, options: usize, kind: QuestionKind) -> Question {
    Question {
        id: id.into(),
        text: format!("Question {id}?"),
        options: if matches!(kind, QuestionKind::YesNo) {
            vec!["yes".into(), "no".into()]
        } else {
            (0..options).map(|i| format!("option {}", i + 1)).collect()
        },
        kind,
    }
}

/// A credential's last ballot: leaf index, hash, compressed ciphertexts (to subtract
/// them from the running sums when it is replaced).
struct LastBallot {
    index: u64,
    hash: Hash32,
    ciphertexts: Vec<[u8; 64]>,
}

/// A dealer that sends its next trustee a bad share and never answers the complaint
/// ([`Referendum::ceremony_with`]).
#[derive(Clone, Copy, Debug)]
pub struct SilentDealer {
    /// The dealer (1-based).
    pub dealer: u32,
    /// How long after the complaint the board disqualifies it (ms): more than the
    /// manifest's `answer_due_ms`, and within it + G to be on time (10 V15.7).
    pub disqualify_after: i64,
}

/// A referendum run by the server: ceremony, ballots, tally, decryption, result.
pub struct Referendum {
    /// The manifest.
    pub manifest: Manifest,
    /// Its hash.
    pub manifest_hash: Hash32,
    /// The ceremony's outcome.
    pub joint: JointPublicKeys,
    trustee_keys: Vec<TrusteeKeys>,
    /// Per trustee (index order), its key share; none for a disqualified trustee.
    key_shares: Vec<Option<KeyShare>>,
    /// Per credential, its last ballot.
    last: HashMap<[u8; 32], LastBallot>,
    sums: Vec<(RistrettoPoint, RistrettoPoint)>,
}

impl Referendum {
    /// Post the manifest and run the whole key ceremony on the board (3 rounds, every
    /// message signed and applied to a CeremonyTracker), then CeremonyCompleted.
    pub fn create<S: EntrySink>(
        board: &mut Board<S>,
        manifest: Manifest,
        trustee_keys: Vec<TrusteeKeys>,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<Self> {
        board.append_act(Payload::ReferendumCreated {
            manifest: manifest.clone(),
            act: ActSignature::unsigned(),
        })?;
        Self::ceremony(board, manifest, trustee_keys, rng)
    }

    /// Run the whole key ceremony of a referendum already on the board (created by the
    /// authority or triggered by a petition), then CeremonyCompleted.
    pub fn ceremony<S: EntrySink>(
        board: &mut Board<S>,
        manifest: Manifest,
        trustee_keys: Vec<TrusteeKeys>,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<Self> {
        Self::ceremony_with(board, manifest, trustee_keys, None, rng)
    }

    /// [`Self::ceremony`], where `silent` (if any) is a dealer that sends its next
    /// trustee a bad share and never answers the complaint: the board waits
    /// `silent.disqualify_after` ms after the complaint, appends `trustee-disqualified`
    /// (reason `unanswered`), and the others complete over QUAL (06 §6.6–§6.7): their key
    /// shares and the election key leave the silent dealer's polynomial out.
    pub fn ceremony_with<S: EntrySink>(
        board: &mut Board<S>,
        manifest: Manifest,
        trustee_keys: Vec<TrusteeKeys>,
        silent: Option<SilentDealer>,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<Self> {
        let mh = manifest.canonical_hash();
        let mut tracker = CeremonyTracker::new(&manifest, mh).map_err(err)?;
        let params = *tracker.params();
        let n = params.n();
        let idx = |i: u32| TrusteeIndex::new(i).map_err(err);
        let key = |i: u32| {
            trustee_keys
                .get((i as usize).saturating_sub(1))
                .ok_or_else(|| err("missing trustee key"))
        };
        let send = |board: &mut Board<S>,
                    tracker: &mut CeremonyTracker,
                    i: u32,
                    body: CeremonyBody,
                    rng: &mut ChaCha20Rng|
         -> Result<Option<JointPublicKeys>> {
            let msg = CeremonyMessage::sign(&manifest, &mh, i, key(i)?, body, rng);
            let joint = tracker.apply(&manifest, &msg, board.now()).map_err(err)?;
            board.append(Payload::Ceremony { message: msg })?;
            Ok(joint)
        };
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        let mut fresh = ChaCha20Rng::from_seed(seed);
        let mut dealers = Vec::new();
        for i in 1..=n {
            dealers.push(Dealer::new(&params, idx(i)?, &mh, rng).map_err(err)?);
        }
        for (d, i) in dealers.iter().zip(1..=n) {
            let announced = key(i)?.announce(idx(i)?, &mh, rng);
            send(
                board,
                &mut tracker,
                i,
                CeremonyBody::Commit {
                    key: announced,
                    commitment: d.commitment(),
                },
                &mut fresh,
            )?;
        }
        let posted = tracker.commitments();
        let revealed = dealers
            .into_iter()
            .map(|d| d.reveal(&posted).map_err(err))
            .collect::<Result<Vec<_>>>()?;
        for (r, i) in revealed.iter().zip(1..=n) {
            send(
                board,
                &mut tracker,
                i,
                CeremonyBody::Reveal {
                    coefficients: r.commitments().clone(),
                },
                &mut fresh,
            )?;
        }
        let announced = tracker.trustee_keys();
        // The silent dealer's victim: the next trustee (cyclically).
        let victim = silent.map(|s| s.dealer % n + 1);
        for (r, i) in revealed.iter().zip(1..=n) {
            let mut shares = r.encrypt_shares(&announced, rng).map_err(err)?;
            if let (Some(sd), Some(v)) = (silent, victim) {
                if sd.dealer == i {
                    let to = announced
                        .iter()
                        .find(|k| k.trustee.get() == v)
                        .ok_or_else(|| err("no key announced by the victim"))?;
                    let bad = r
                        .answer_complaint(&Complaint {
                            dealer: idx(i)?,
                            recipient: idx(v)?,
                        })
                        .map_err(err)?
                        .share
                        + Scalar::ONE;
                    let share = shares
                        .iter_mut()
                        .find(|s| s.recipient.get() == v)
                        .ok_or_else(|| err("no share for the victim"))?;
                    *share = EncryptedShare::encrypt(&mh, idx(i)?, to, &bad, rng).map_err(err)?;
                }
            }
            send(
                board,
                &mut tracker,
                i,
                CeremonyBody::Shares { shares },
                &mut fresh,
            )?;
        }
        let reveals = tracker.reveals();
        let mut received = Vec::new();
        let mut joint = None;
        for (r, l) in revealed.iter().zip(1..=n) {
            let li = idx(l)?;
            let mut got = vec![(li, r.own_share())];
            let mut complaint = None;
            for es in tracker.shares_for(l) {
                let dealer = reveals
                    .iter()
                    .find(|c| c.dealer == es.dealer)
                    .ok_or_else(|| err("dealer without reveal"))?;
                match receive_share(&mh, li, key(l)?, dealer, &es).map_err(err)? {
                    ShareVerdict::Accepted(s) => got.push((es.dealer, s)),
                    ShareVerdict::Complaint(c) if silent.is_some() && victim == Some(l) => {
                        complaint = Some(c)
                    }
                    ShareVerdict::Complaint(_) => return Err(err("honest share refused")),
                }
            }
            received.push(got);
            let body = match complaint {
                Some(complaint) => CeremonyBody::Complaint { complaint },
                None => CeremonyBody::Confirm,
            };
            joint = send(board, &mut tracker, l, body, &mut fresh)?.or(joint);
        }
        // The silent dealer never answers: past the deadline the board disqualifies it,
        // and the victim, no longer owed the share, confirms.
        if let (Some(sd), Some(v)) = (silent, victim) {
            board.advance_clock(sd.disqualify_after);
            let complaint = ComplaintRef {
                dealer: sd.dealer,
                recipient: v,
            };
            tracker
                .disqualify(
                    sd.dealer,
                    complaint,
                    DisqualificationReason::Unanswered,
                    board.now(),
                )
                .map_err(err)?;
            board.append(Payload::TrusteeDisqualified {
                referendum_id: manifest.referendum_id.clone(),
                trustee: sd.dealer,
                complaint,
                reason: DisqualificationReason::Unanswered,
            })?;
            joint = send(board, &mut tracker, v, CeremonyBody::Confirm, &mut fresh)?.or(joint);
        }
        let qualified = tracker.qualified();
        let mut key_shares = Vec::new();
        for (got, l) in received.into_iter().zip(1..=n) {
            let li = idx(l)?;
            if !qualified.contains(&li) {
                // A disqualified trustee holds no key share; a placeholder keeps the
                // list indexed by trustee, and nothing ever uses it.
                key_shares.push(None);
                continue;
            }
            let got: Vec<_> = got
                .into_iter()
                .filter(|(d, _)| qualified.contains(d))
                .collect();
            key_shares.push(Some(
                KeyShare::combine_qualified(&params, li, &got, &qualified).map_err(err)?,
            ));
        }
        let joint = joint.ok_or_else(|| err("ceremony did not complete"))?;
        let (election_key, public_shares) = completed_payload(&joint).map_err(err)?;
        board.append(Payload::CeremonyCompleted {
            referendum_id: manifest.referendum_id.clone(),
            election_key,
            public_shares,
        })?;
        let width = manifest.tally_width();
        Ok(Self {
            manifest,
            manifest_hash: mh,
            joint,
            trustee_keys,
            key_shares,
            last: HashMap::new(),
            sums: vec![(RistrettoPoint::identity(), RistrettoPoint::identity()); width],
        })
    }

    /// The ballot context voters use.
    pub fn context(&self) -> BallotContext<'_> {
        BallotContext::new(&self.manifest, *self.joint.election_key())
    }

    /// Open voting.
    /// Open voting at the manifest's opens_at: the clock moves there first if it is
    /// earlier (a system entry, appended by the board's scheduler; 10 §10.3).
    pub fn open<S: EntrySink>(&self, board: &mut Board<S>) -> Result<u64> {
        let wait = self.manifest.opens_at.saturating_sub(board.now());
        board.advance_clock(wait);
        board.append(Payload::ReferendumOpened {
            referendum_id: self.manifest.referendum_id.clone(),
        })
    }

    /// Encrypt a ballot for `credential` (the voter's device).
    pub fn encrypt(
        &self,
        credential: &Credential,
        choices: &Choices,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<(Ballot, vox_protocol::ballot::BallotSecrets)> {
        let previous = self
            .last
            .get(&credential.public_key().to_bytes())
            .map(|l| l.hash);
        encrypt_ballot(&self.context(), credential, choices, previous, rng).map_err(err)
    }

    /// Encrypt an anonymous ballot (04 §4.10) for `credential` in `rings` (derived by the
    /// device for the ballot's leaf); `previous` is its tag's latest ballot.
    pub fn encrypt_anonymous(
        &self,
        rings: &RingSet,
        credential: &Credential,
        choices: &Choices,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<(Ballot, vox_protocol::ballot::BallotSecrets)> {
        let ctx = self.context();
        let tag = vox_crypto::ring::linking_tag(credential, &ctx.tag_generator().map_err(err)?);
        let previous = self.last.get(&tag.to_bytes()).map(|l| l.hash);
        encrypt_anonymous_ballot(&ctx, rings, credential, choices, previous, rng).map_err(err)
    }

    /// Accept a ballot (the last ballot of a credential replaces its earlier one).
    pub fn cast<S: EntrySink>(&mut self, board: &mut Board<S>, ballot: Ballot) -> Result<u64> {
        let hash = ballot.hash();
        let cred = ballot
            .voter_key()
            .ok_or_else(|| VerifyError::Synth("ballot without a voter".into()))?;
        let cts: Vec<&Ciphertext> = ballot.answers.iter().flat_map(|a| &a.ciphertexts).collect();
        if let Some(old) = self.last.get(&cred) {
            for ((a, b), bytes) in self.sums.iter_mut().zip(&old.ciphertexts) {
                let (x, y) = bytes.split_at(32);
                let pa = CompressedRistretto::from_slice(x)
                    .map_err(err)?
                    .decompress()
                    .ok_or_else(|| err("stored point"))?;
                let pb = CompressedRistretto::from_slice(y)
                    .map_err(err)?
                    .decompress()
                    .ok_or_else(|| err("stored point"))?;
                *a -= pa;
                *b -= pb;
            }
        }
        let mut stored = Vec::with_capacity(cts.len());
        for ((a, b), ct) in self.sums.iter_mut().zip(&cts) {
            *a += ct.a.as_point();
            *b += ct.b.as_point();
            let mut bytes = [0u8; 64];
            let (x, y) = bytes.split_at_mut(32);
            x.copy_from_slice(ct.a.as_bytes());
            y.copy_from_slice(ct.b.as_bytes());
            stored.push(bytes);
        }
        let index = board.append(Payload::BallotCast { ballot })?;
        self.last.insert(
            cred,
            LastBallot {
                index,
                hash,
                ciphertexts: stored,
            },
        );
        Ok(index)
    }

    /// Post a Benaloh audit of a prepared (never cast) ballot.
    pub fn audit<S: EntrySink>(&self, board: &mut Board<S>, audited: AuditedBallot) -> Result<u64> {
        board.append(Payload::BallotAudited { audited })
    }

    /// Close voting at the manifest's closes_at: the clock moves there first if it is
    /// earlier (a `referendum-closed` before closes_at fails V9.4 and V15).
    pub fn close<S: EntrySink>(&self, board: &mut Board<S>) -> Result<u64> {
        let wait = self.manifest.closes_at.saturating_sub(board.now());
        board.advance_clock(wait);
        board.append(Payload::ReferendumClosed {
            referendum_id: self.manifest.referendum_id.clone(),
        })
    }

    /// The encrypted tally of the counted ballots, as the server computes it.
    pub fn tally(&self) -> EncryptedTally {
        let mut counted: Vec<(u64, Hash32)> =
            self.last.values().map(|l| (l.index, l.hash)).collect();
        counted.sort();
        let hashes: Vec<Hash32> = counted.iter().map(|(_, h)| *h).collect();
        EncryptedTally {
            referendum_id: self.manifest.referendum_id.clone(),
            counted_ballots: counted.len() as u64,
            counted_hash: counted_hash(&hashes),
            ciphertexts: self
                .sums
                .iter()
                .map(|(a, b)| Ciphertext {
                    a: Point::from_point(*a),
                    b: Point::from_point(*b),
                })
                .collect(),
        }
    }

    /// Trustee `t`'s (1-based) decryption share of `tally`, and its signed message.
    fn signed_share(
        &self,
        tally: &EncryptedTally,
        t: u32,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<(DecryptionShare, DecryptionShareMessage)> {
        let slot = (t as usize).saturating_sub(1);
        let ks = self
            .key_shares
            .get(slot)
            .and_then(Option::as_ref)
            .ok_or_else(|| err("no such trustee, or it was disqualified"))?;
        let keys = self
            .trustee_keys
            .get(slot)
            .ok_or_else(|| err("no such trustee"))?;
        let share = DecryptionShare::create(ks, &self.manifest_hash, &tally.ciphertexts, rng);
        let msg = DecryptionShareMessage::sign(
            &self.manifest,
            &self.manifest_hash,
            keys,
            share.clone(),
            rng,
        );
        Ok((share, msg))
    }

    /// Post trustee `t`'s decryption share of the tally (after [`Referendum::publish`]).
    pub fn share<S: EntrySink>(
        &self,
        board: &mut Board<S>,
        t: u32,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<u64> {
        let (_, msg) = self.signed_share(&self.tally(), t, rng)?;
        board.append(Payload::DecryptionShare { share: msg })
    }

    /// Post the tally, the decryption shares of `trustees` (1-based) and the result.
    pub fn publish<S: EntrySink>(
        &self,
        board: &mut Board<S>,
        trustees: &[u32],
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<ReferendumResult> {
        let tally = self.tally();
        board.append(Payload::TallyComputed {
            tally: tally.clone(),
        })?;
        let mut shares = Vec::new();
        for t in trustees {
            let (share, msg) = self.signed_share(&tally, *t, rng)?;
            board.append(Payload::DecryptionShare { share: msg })?;
            shares.push(share);
        }
        let points = self
            .joint
            .verify_and_combine(&self.manifest_hash, &tally.ciphertexts, &shares, rng)
            .map_err(err)?;
        let bounds = slot_bounds(&self.manifest, tally.counted_ballots);
        let mut slots = Vec::with_capacity(points.len());
        for (p, b) in points.iter().zip(&bounds) {
            let table = DlogTable::new(b.saturating_add(1)).map_err(err)?;
            slots.push(table.solve(p).map_err(err)?);
        }
        let counts =
            counts_from_slots(&self.manifest, tally.counted_ballots, &slots).map_err(err)?;
        let result = ReferendumResult {
            referendum_id: self.manifest.referendum_id.clone(),
            counted_ballots: tally.counted_ballots,
            counts,
            trustees: trustees.to_vec(),
        };
        board.append(Payload::ResultPublished {
            result: result.clone(),
        })?;
        Ok(result)
    }
}

// -------------------------------------------------------------------------------------
// Whole records
// -------------------------------------------------------------------------------------

/// A record in memory.
#[derive(Clone, Debug)]
pub struct SynthRecord {
    /// `record.json`.
    pub header: RecordHeader,
    /// `tree-heads.jsonl`.
    pub heads: Vec<SignedTreeHead>,
    /// `entries.jsonl`.
    pub entries: Vec<BoardEntry>,
}

impl SynthRecord {
    /// The receipt a signer's device saves for the petition signature at `leaf` (07
    /// §7.10): the first signed head of the record that includes the leaf, and the
    /// leaf's inclusion proof under it.
    ///
    /// # Errors
    /// The leaf is not a petition signature, or no head includes it.
    pub fn signature_receipt(&self, leaf: u64) -> Result<SignatureReceipt> {
        let entry = self
            .entries
            .get(usize::try_from(leaf).map_err(err)?)
            .ok_or_else(|| err("leaf beyond the record"))?;
        let head = self
            .heads
            .iter()
            .find(|h| h.head.tree_size > leaf)
            .ok_or_else(|| err("no head includes the leaf"))?;
        let size = usize::try_from(head.head.tree_size).map_err(err)?;
        let leaves: Vec<NodeHash> = self
            .entries
            .get(..size)
            .ok_or_else(|| err("head beyond the record"))?
            .iter()
            .map(BoardEntry::leaf_hash)
            .collect();
        let answer = SignatureAccepted {
            leaf_index: leaf,
            tree_head: head.clone(),
            inclusion_proof: inclusion_proof(&leaves, leaf).map_err(err)?,
            count: 0,
        };
        SignatureReceipt::from_answer(answer, entry).map_err(err)
    }

    /// The leaves of the petition signatures of `petition_id`, in order.
    pub fn signature_leaves(&self, petition_id: &str) -> Vec<u64> {
        (0u64..)
            .zip(&self.entries)
            .filter(|(_, e)| {
                Signer::of_entry(&e.payload).is_some_and(|(id, _, _, _)| id == petition_id)
            })
            .map(|(i, _)| i)
            .collect()
    }

    /// As a [`MemorySource`].
    pub fn source(&self) -> Result<MemorySource> {
        MemorySource::from_parts(&self.header, &self.heads, &self.entries)
    }

    /// Write the record directory.
    pub fn write_dir(&self, dir: &Path) -> Result<PathBuf> {
        let mut w = RecordWriter::create(dir)?;
        w.header(&serde_json::to_string_pretty(&self.header).map_err(err)?)?;
        for e in &self.entries {
            w.entry(&serde_json::to_string(e).map_err(err)?)?;
        }
        for h in &self.heads {
            w.tree_head(&serde_json::to_string(h).map_err(err)?)?;
        }
        w.finish()
    }

    /// The genesis (leaf 0), if leaf 0 is one.
    pub fn genesis(&self) -> Option<&Genesis> {
        match self.entries.first().map(|e| &e.payload) {
            Some(Payload::Genesis { genesis }) => Some(genesis),
            _ => None,
        }
    }

    /// Re-sign every authority act (same `issued_at_ms`) with the key of its role in
    /// `roles`, for the log of `roles.operator`. (For records without key rotations:
    /// every act is signed with the one key `roles` holds for its role.)
    pub fn resign_acts(&mut self, roles: &RoleSigners) -> Result<()> {
        let log_id = roles.log_id();
        for e in &mut self.entries {
            if let (Some(role), Some(act)) = (e.payload.act_role(), e.payload.act()) {
                let at = act.issued_at_ms;
                e.payload
                    .sign_act(&log_id, at, roles.key(role))
                    .map_err(err)?;
            }
        }
        Ok(())
    }

    /// What parties holding `roles` (all four keys) would publish to pass a whole log off
    /// as theirs: a genesis for `roles` (same name, time and witness policy) signed by all
    /// four at leaf 0, every act re-signed ([`SynthRecord::resign_acts`]), and the header
    /// naming `roles.operator`. Call [`SynthRecord::resign`] with `roles.operator` after.
    pub fn regenesis(&mut self, roles: &RoleSigners) -> Result<()> {
        let old = self
            .genesis()
            .cloned()
            .ok_or_else(|| err("leaf 0 is not a genesis"))?;
        let genesis = roles
            .genesis(&old.log_name, old.created_at_ms, old.witnesses.clone())
            .map_err(err)?;
        if let Some(first) = self.entries.first_mut() {
            first.payload = Payload::Genesis { genesis };
        }
        self.resign_acts(roles)?;
        let board = BoardPublicKey(roles.operator.verifying_key());
        self.header.board_public_key = board;
        self.header.log_id = board.log_id();
        Ok(())
    }

    /// Index of the first entry matching `pred`.
    pub fn find(&self, pred: impl Fn(&Payload) -> bool) -> Option<usize> {
        self.entries.iter().position(|e| pred(&e.payload))
    }

    /// Indices of every entry matching `pred`.
    pub fn find_all(&self, pred: impl Fn(&Payload) -> bool) -> Vec<usize> {
        (0..self.entries.len())
            .filter(|i| self.entries.get(*i).is_some_and(|e| pred(&e.payload)))
            .collect()
    }

    /// What a dishonest server holding the board key would do after editing entries:
    /// re-sign every head (same sizes and times) over the edited log, drop heads beyond
    /// it, make sure the last head covers it, and fix the header's size. Witnesses (if
    /// given) cosign again.
    pub fn resign(&mut self, key: &SigningKey, witnesses: &[SigningKey]) {
        let len = self.entries.len() as u64;
        let mut sizes: Vec<(u64, i64)> = self
            .heads
            .iter()
            .filter(|h| h.head.tree_size <= len)
            .map(|h| (h.head.tree_size, h.head.timestamp_ms))
            .collect();
        if sizes.last().is_none_or(|(s, _)| *s < len) {
            let ts = self.entries.last().map_or(T0, |e| e.timestamp_ms);
            let ts = sizes.last().map_or(ts, |(_, t)| ts.max(*t));
            sizes.push((len, ts));
        }
        // A head just before every entry that ends a phase, as the board signs one (V3.6).
        for (i, e) in self.entries.iter().enumerate() {
            let at = i as u64;
            if e.payload.ends_a_phase() && !sizes.iter().any(|(s, _)| *s == at) {
                sizes.push((at, e.timestamp_ms));
            }
        }
        sizes.sort_by_key(|(s, _)| *s);
        let mut latest = i64::MIN;
        for (_, ts) in &mut sizes {
            latest = latest.max(*ts);
            *ts = latest;
        }
        let origin = self
            .genesis()
            .map_or_else(|| LOG_NAME.to_owned(), |g| g.log_name.clone());
        let mut tree = CompactTree::new();
        let mut entries = self.entries.iter();
        let mut heads = Vec::with_capacity(sizes.len());
        for (size, ts) in sizes {
            while tree.size() < size {
                match entries.next() {
                    Some(e) => tree.push(e.leaf_hash()),
                    None => break,
                }
            }
            heads.push(sign_and_cosign(
                TreeHead {
                    tree_size: size,
                    root_hash: tree.root(),
                    timestamp_ms: ts,
                },
                &origin,
                key,
                witnesses,
            ));
        }
        self.heads = heads;
        self.header.tree_size = len;
    }
}

/// The small complete scenario of the tests, and what the tests need to tamper with it.
pub struct Honest {
    /// The record.
    pub record: SynthRecord,
    /// The board's signing key (a dishonest server has it).
    pub board_key: SigningKey,
    /// The four roles' keys (`roles.operator` is `board_key`); the genesis and every
    /// authority act are signed with them.
    pub roles: RoleSigners,
    /// Witness keys cosigning every head (if any were asked for).
    pub witness_keys: Vec<SigningKey>,
    /// Receipts: [0] for a counted ballot, [1] for a ballot superseded by a re-vote.
    pub receipts: Vec<Receipt>,
    /// Every voter's credential (index = position in the electorate).
    pub credentials: Vec<Credential>,
    /// The voter whose credential the registrar revokes during voting
    /// ([`HONEST_REVOKED`]; that voter had not voted).
    pub revoked: usize,
    /// The replacement credential enrolled for them, which then votes.
    pub replacement: Credential,
    /// The trustees' keys (1..=3).
    pub trustee_keys: Vec<TrusteeKeys>,
    /// The referendum's manifest.
    pub manifest: Manifest,
    /// The joint election keys.
    pub joint: JointPublicKeys,
    /// The published result.
    pub result: ReferendumResult,
}

/// Choices for the honest referendum's four questions (yes-no; choose one of 3;
/// approve 1..2 of 3; score 0..3 for 2 options), varied by voter.
fn honest_choices(v: usize) -> Choices {
    vec![
        if v.is_multiple_of(3) {
            vec![0, 1]
        } else {
            vec![1, 0]
        },
        (0..3).map(|o| u64::from(o == v % 3)).collect(),
        match v % 3 {
            0 => vec![1, 0, 0],
            1 => vec![0, 1, 1],
            _ => vec![1, 0, 1],
        },
        vec![(v % 4) as u64, ((v + 1) % 4) as u64],
    ]
}

/// How the honest record's electorate is put on the board.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Enrolment {
    /// One `electorate-registered` act (04 §4.1.1).
    Registered,
    /// `enrolment-opened`, one `credential-enrolled` per voter, `electorate-frozen`
    /// (04 §4.1.2–§4.1.4).
    ByCode,
}

/// The voter of the honest record whose credential is revoked and replaced.
pub const HONEST_REVOKED: usize = 13;

/// [`honest_with`] with the electorate enrolled by code.
pub fn honest(seed: u64, witnesses: usize) -> Result<Honest> {
    honest_with(seed, witnesses, Enrolment::ByCode)
}

/// Build the honest record: an electorate of 16 (registered whole, or enrolled by code
/// and frozen, as `enrolment` says); petition p1 (sponsor 3, response 3,
/// referendum 6) sponsored, published (crossing the response threshold on publication),
/// signed, withdrawn from, invalidated in part, crossing the referendum threshold,
/// answered and finally closed; petition p2 sponsored and rejected; referendum r1 from p1
/// with four question kinds, a signed ceremony of 3 trustees (k = 2), 10 voters of whom
/// 2 re-vote, one Benaloh audit, the revocation of voter 13's credential (who had not
/// voted) with a replacement that enrols and votes, close, tally, shares of trustees 1
/// and 3, and the result. Tree heads are signed every few entries (cosigned by
/// `witnesses` new keys).
pub fn honest_with(seed: u64, witnesses: usize, enrolment: Enrolment) -> Result<Honest> {
    honest_scenario(seed, witnesses, enrolment, false)
}

/// [`honest`] with two witnesses, where the operator replaces the first witness by a
/// third one early on (a `witness-policy-set` after the electorate, 11 §11.6): the next
/// head is cosigned by all three, so the old quorum makes the change take effect, and
/// later heads by the new pair only. `witness_keys` holds all three (old first).
pub fn honest_rewitnessed(seed: u64) -> Result<Honest> {
    honest_scenario(seed, 2, Enrolment::ByCode, true)
}

fn honest_scenario(
    seed: u64,
    witnesses: usize,
    enrolment: Enrolment,
    rewitness: bool,
) -> Result<Honest> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let roles = RoleSigners::generate(&mut rng);
    let board_key = roles.operator.clone();
    let mut witness_keys: Vec<SigningKey> = (0..witnesses)
        .map(|_| SigningKey::generate(&mut rng))
        .collect();
    let mut b = Board::new(copy_signers(&roles), witness_keys.clone(), T0, Vec::new())?;

    let mut town_run = match enrolment {
        Enrolment::Registered => ElectorateRun::register(&mut b, "town", 16, &mut rng)?,
        Enrolment::ByCode => ElectorateRun::by_code(&mut b, "town", 16, &mut rng)?,
    };
    let creds = town_run.credentials.clone();
    let town = town_run.electorate.clone();
    let cred = |i: usize| creds.get(i).ok_or_else(|| err("voter"));
    b.sign_head();
    if rewitness {
        // The first witness retires; a new one joins the second (11 §11.6).
        let joining = SigningKey::generate(&mut rng);
        let keep = witness_keys
            .get(1)
            .ok_or_else(|| err("rewitnessing needs 2 witnesses"))?;
        b.change_witnesses(vec![keep.clone(), joining.clone()])?;
        witness_keys.push(joining);
    }
    // The petitions office publishes its bounds on proposals (07 §7.8, V6.7).
    b.append_act(Payload::PetitionPolicySet {
        policy: honest_policy(),
        act: ActSignature::unsigned(),
    })?;

    // Petition p1: proposal by voter 0, sponsors 1 and 2 (sponsor threshold 3).
    let mut p1 = PetitionRun::propose(
        &mut b,
        &town,
        petition("p1", &town, 3, 3, 6),
        cred(0)?,
        &mut rng,
    )?;
    for v in [1, 2] {
        p1.sign(&mut b, &town, cred(v)?, SignatureAction::Sign, &mut rng)?;
    }
    // Petition p2: sponsored, then rejected with a reason.
    let mut p2 = PetitionRun::propose(
        &mut b,
        &town,
        petition("p2", &town, 2, 5, 10),
        cred(3)?,
        &mut rng,
    )?;
    p2.sign(&mut b, &town, cred(4)?, SignatureAction::Sign, &mut rng)?;
    p2.moderate(
        &mut b,
        Moderation::Reject {
            reason: "Duplicate of p1.".into(),
        },
    )?;
    b.sign_head();
    // Publication crosses the response threshold (3 signatures already).
    let closes_at = b.now().saturating_add(30 * DAY);
    // The election authority's standing panel: three trustees, any two decrypt.
    let trustee_keys: Vec<TrusteeKeys> = (0..3).map(|_| TrusteeKeys::generate(&mut rng)).collect();
    b.set_panel(TrusteePanel {
        trustees: TrusteeInfo::numbered(&trustee_keys),
        threshold: 2,
        answer_due_ms: DAY,
        decryption_due_ms: DAY,
    })?;
    let questions = vec![
        question("q1", 2, QuestionKind::YesNo),
        question(
            "q2",
            3,
            QuestionKind::ChooseOne {
                blank_allowed: false,
            },
        ),
        question("q3", 3, QuestionKind::Approve { min: 1, max: 2 }),
        question("q4", 2, QuestionKind::Score { max: 3 }),
    ];
    p1.moderate(
        &mut b,
        Moderation::Publish {
            closes_at,
            referendum: ReferendumTerms {
                referendum_id: "r1".into(),
                title: "Referendum r1".into(),
                description: "Triggered by petition p1.".into(),
                questions,
                opens_after_ms: 3_600_000,
                voting_ms: DAY,
                participation: Default::default(),
            },
        },
    )?;
    for v in [4, 5] {
        p1.sign(&mut b, &town, cred(v)?, SignatureAction::Sign, &mut rng)?;
    }
    p1.sign(&mut b, &town, cred(4)?, SignatureAction::Withdraw, &mut rng)?;
    b.sign_head();
    for v in [6, 7, 8] {
        p1.sign(&mut b, &town, cred(v)?, SignatureAction::Sign, &mut rng)?;
    }
    p1.invalidate(
        &mut b,
        vec![cred(8)?.public_key()],
        "Credential reported stolen.",
    )?;
    p1.sign(&mut b, &town, cred(9)?, SignatureAction::Sign, &mut rng)?;
    p1.respond(&mut b, "The council will hold a referendum.")?;
    b.sign_head();

    // Referendum r1, triggered by p1 when it reached its referendum threshold: its
    // manifest is the one p1's terms and the standing panel determine (07 §7.4).
    let m = p1
        .triggered
        .clone()
        .ok_or_else(|| err("p1 did not trigger its referendum"))?;
    let mut r = Referendum::ceremony(&mut b, m, trustee_keys.clone(), &mut rng)?;
    b.sign_head();
    r.open(&mut b)?;

    let mut cast = Vec::new();
    for v in 0..10 {
        b.advance_clock(60_000);
        let (ballot, _) = r.encrypt(cred(v)?, &honest_choices(v), &mut rng)?;
        cast.push(r.cast(&mut b, ballot)?);
        if v % 4 == 3 {
            b.sign_head();
        }
    }
    // A Benaloh audit by voter 10, who then casts a fresh ballot.
    let (spoiled, secrets) = r.encrypt(cred(10)?, &honest_choices(10), &mut rng)?;
    r.audit(&mut b, AuditedBallot::new(spoiled, secrets))?;
    let (ballot, _) = r.encrypt(cred(10)?, &honest_choices(11), &mut rng)?;
    r.cast(&mut b, ballot)?;
    let head_after_first = b.sign_head();
    // Voter 13, who has not voted, loses their device: the registrar revokes the
    // credential with a replacement code, the new device enrols and votes.
    let (replacement, _, _) = town_run.revoke_and_replace(&mut b, HONEST_REVOKED, &mut rng)?;
    b.advance_clock(60_000);
    let (ballot, _) = r.encrypt(&replacement, &honest_choices(HONEST_REVOKED), &mut rng)?;
    r.cast(&mut b, ballot)?;
    // Voters 2 and 5 change their minds.
    for v in [2, 5] {
        b.advance_clock(60_000);
        let (ballot, _) = r.encrypt(cred(v)?, &honest_choices(v + 1), &mut rng)?;
        r.cast(&mut b, ballot)?;
    }
    b.sign_head();
    // Voting closes at closes_at (nothing ends early), the board tallies, trustees 1 and
    // 3 decrypt and the result is published; trustee 2 posts its share too (every
    // trustee owes one by the decryption deadline, V15).
    r.close(&mut b)?;
    let result = r.publish(&mut b, &[1, 3], &mut rng)?;
    r.share(&mut b, 2, &mut rng)?;
    b.sign_head();
    // The petition closes at its deadline.
    b.advance_clock(31 * DAY);
    p1.close(&mut b)?;
    b.sign_head();
    // Petition p3 is ring-signed (07 §7.10): voter 0 proposes it (and does not count),
    // voters 5, 6 and 7 sponsor it by ring signature, in rings derived from the log
    // (voter 13 revoked: in none; the replacement, enrolled before p3: in its region's),
    // and the office invalidates voter 7's signature by its linking tag.
    let p3_petition = Petition {
        signatures: SignatureScheme::Ring,
        ..petition("p3", &town, 3, 5, 10)
    };
    let mut p3 = PetitionRun::propose(&mut b, &town, p3_petition, cred(0)?, &mut rng)?;
    let mut last_tag = None;
    for v in [5, 6, 7] {
        let rings = rings_from_log(&b.sink, &p3.tracker.petition)?;
        let sig = p3.ring_sign(&mut b, &rings, cred(v)?, SignatureAction::Sign, &mut rng)?;
        last_tag = Some(*sig.tag());
    }
    p3.invalidate_tags(
        &mut b,
        last_tag.into_iter().collect(),
        "Example: a signature the office found to be bought.",
    )?;
    b.sign_head();

    let header = b.header(None);
    let counted_leaf = *cast.first().ok_or_else(|| err("no ballot"))?;
    let superseded_leaf = *cast.get(2).ok_or_else(|| err("no ballot"))?;
    let joint = r.joint.clone();
    let manifest = r.manifest.clone();
    let receipts_for =
        |b: &Board<Vec<BoardEntry>>, entries: &[BoardEntry]| -> Result<Vec<Receipt>> {
            let mut out = Vec::new();
            for leaf in [counted_leaf, superseded_leaf] {
                let e = entries
                    .get(usize::try_from(leaf).map_err(err)?)
                    .ok_or_else(|| err("leaf"))?;
                out.push(b.receipt(e, leaf, &head_after_first)?);
            }
            Ok(out)
        };
    let receipts = receipts_for(&b, &b.sink)?;
    let (entries, heads) = b.into_parts();
    Ok(Honest {
        record: SynthRecord {
            header,
            heads,
            entries,
        },
        board_key,
        roles,
        witness_keys,
        receipts,
        credentials: creds,
        revoked: HONEST_REVOKED,
        replacement,
        trustee_keys,
        manifest,
        joint,
        result,
    })
}

/// The dealer of [`failed_ceremony`] that sends a bad share.
pub const FAILED_CEREMONY_DEALER: u32 = 1;
/// The trustee of [`failed_ceremony`] that receives it and complains.
pub const FAILED_CEREMONY_RECIPIENT: u32 = 2;

/// A short record whose key ceremony fails legitimately (06 §6.6, §6.11): an electorate
/// of 4 registered whole; referendum r1 (one yes-no question, 3 trustees, k = 2) created;
/// every trustee commits and reveals honestly, but dealer
/// [`FAILED_CEREMONY_DEALER`] encrypts to trustee [`FAILED_CEREMONY_RECIPIENT`] the
/// share P_1(2) + 1 instead of P_1(2) (the other shares are honest). Trustees 1 and 3
/// confirm; trustee 2's check fails and it complains; dealer 1 answers with the value it
/// sent, which fails the commitment check too, so the next entry disqualifies it
/// (tag 28, bad-answer); with threshold 3 of 3, two remaining trustees are too few, so
/// the ceremony, and the referendum, end in `failed`. Every message goes through a [`CeremonyTracker`] as on the server; heads
/// are signed after the electorate, after the shares and at the end.
pub fn failed_ceremony(seed: u64) -> Result<SynthRecord> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let roles = RoleSigners::generate(&mut rng);
    let mut b = Board::new(roles, Vec::new(), T0, Vec::new())?;
    let town = ElectorateRun::register(&mut b, "town", 4, &mut rng)?.electorate;
    b.sign_head();

    let trustee_keys: Vec<TrusteeKeys> = (0..3).map(|_| TrusteeKeys::generate(&mut rng)).collect();
    let m = manifest(
        "r1",
        &town,
        vec![question("q1", 2, QuestionKind::YesNo)],
        &trustee_keys,
        3,
        b.now().saturating_add(DAY),
        None,
    );
    let mh = m.canonical_hash();
    b.append_act(Payload::ReferendumCreated {
        manifest: m.clone(),
        act: ActSignature::unsigned(),
    })?;
    let mut tracker = CeremonyTracker::new(&m, mh).map_err(err)?;
    let params = *tracker.params();
    let n = params.n();
    let idx = |i: u32| TrusteeIndex::new(i).map_err(err);
    let key = |i: u32| {
        trustee_keys
            .get((i as usize).saturating_sub(1))
            .ok_or_else(|| err("missing trustee key"))
    };
    // The trustees' own randomness (keys' announcements, polynomials, share
    // encryption), drawn from the seed; `rng` signs the messages.
    let mut sub = [0u8; 32];
    rng.fill_bytes(&mut sub);
    let mut crng = ChaCha20Rng::from_seed(sub);
    let mut send = |board: &mut Board<Vec<BoardEntry>>,
                    tracker: &mut CeremonyTracker,
                    i: u32,
                    body: CeremonyBody|
     -> Result<()> {
        let msg = CeremonyMessage::sign(&m, &mh, i, key(i)?, body, &mut rng);
        tracker.apply(&m, &msg, board.now()).map_err(err)?;
        board.append(Payload::Ceremony { message: msg })?;
        Ok(())
    };
    let mut dealers = Vec::new();
    for i in 1..=n {
        dealers.push(Dealer::new(&params, idx(i)?, &mh, &mut crng).map_err(err)?);
    }
    for (d, i) in dealers.iter().zip(1..=n) {
        let announced = key(i)?.announce(idx(i)?, &mh, &mut crng);
        send(
            &mut b,
            &mut tracker,
            i,
            CeremonyBody::Commit {
                key: announced,
                commitment: d.commitment(),
            },
        )?;
    }
    let posted = tracker.commitments();
    let revealed = dealers
        .into_iter()
        .map(|d| d.reveal(&posted).map_err(err))
        .collect::<Result<Vec<_>>>()?;
    for (r, i) in revealed.iter().zip(1..=n) {
        send(
            &mut b,
            &mut tracker,
            i,
            CeremonyBody::Reveal {
                coefficients: r.commitments().clone(),
            },
        )?;
    }
    let announced = tracker.trustee_keys();
    let disputed = Complaint {
        dealer: idx(FAILED_CEREMONY_DEALER)?,
        recipient: idx(FAILED_CEREMONY_RECIPIENT)?,
    };
    // What the faulty dealer sends to the recipient (and later claims it sent): its
    // true share P_1(2) (the value an honest answer reveals) plus one.
    let mut wrong = None;
    for (r, i) in revealed.iter().zip(1..=n) {
        let mut shares = r.encrypt_shares(&announced, &mut crng).map_err(err)?;
        if i == FAILED_CEREMONY_DEALER {
            let bad = r.answer_complaint(&disputed).map_err(err)?.share + Scalar::ONE;
            let to = announced
                .iter()
                .find(|k| k.trustee == disputed.recipient)
                .ok_or_else(|| err("no key announced by the recipient"))?;
            let share = shares
                .iter_mut()
                .find(|s| s.recipient == disputed.recipient)
                .ok_or_else(|| err("no share for the recipient"))?;
            *share =
                EncryptedShare::encrypt(&mh, disputed.dealer, to, &bad, &mut crng).map_err(err)?;
            wrong = Some(bad);
        }
        send(&mut b, &mut tracker, i, CeremonyBody::Shares { shares })?;
    }
    let wrong = wrong.ok_or_else(|| err("the faulty dealer sent no shares"))?;
    b.sign_head();
    // Round 3: each trustee checks the shares it received, in trustee order.
    let reveals = tracker.reveals();
    for l in 1..=n {
        let li = idx(l)?;
        let mut complaints = Vec::new();
        for es in tracker.shares_for(l) {
            let dealer = reveals
                .iter()
                .find(|c| c.dealer == es.dealer)
                .ok_or_else(|| err("dealer without reveal"))?;
            if let ShareVerdict::Complaint(c) =
                receive_share(&mh, li, key(l)?, dealer, &es).map_err(err)?
            {
                complaints.push(c);
            }
        }
        let expected: &[Complaint] = if l == FAILED_CEREMONY_RECIPIENT {
            core::slice::from_ref(&disputed)
        } else {
            &[]
        };
        if complaints != expected {
            return Err(err("unexpected complaints"));
        }
        if complaints.is_empty() {
            send(&mut b, &mut tracker, l, CeremonyBody::Confirm)?;
        }
        for complaint in complaints {
            send(
                &mut b,
                &mut tracker,
                l,
                CeremonyBody::Complaint { complaint },
            )?;
        }
    }
    // The dealer answers with the share it sent; anyone's check of it fails.
    send(
        &mut b,
        &mut tracker,
        FAILED_CEREMONY_DEALER,
        CeremonyBody::Answer {
            answer: ComplaintAnswer {
                dealer: disputed.dealer,
                recipient: disputed.recipient,
                share: wrong,
            },
        },
    )?;
    let complaint = ComplaintRef {
        dealer: FAILED_CEREMONY_DEALER,
        recipient: FAILED_CEREMONY_RECIPIENT,
    };
    if tracker.pending_disqualification() != Some(complaint) {
        return Err(err("the bad answer is not pending disqualification"));
    }
    tracker
        .disqualify(
            FAILED_CEREMONY_DEALER,
            complaint,
            DisqualificationReason::BadAnswer,
            b.now(),
        )
        .map_err(err)?;
    b.append(Payload::TrusteeDisqualified {
        referendum_id: m.referendum_id.clone(),
        trustee: FAILED_CEREMONY_DEALER,
        complaint,
        reason: DisqualificationReason::BadAnswer,
    })?;
    if !matches!(tracker.phase, CeremonyPhase::Failed { .. }) {
        return Err(err("the ceremony did not fail"));
    }
    Ok(b.finish())
}

/// The dealer that never answers in [`qualified_ceremony`].
pub const SILENT_DEALER: u32 = 1;

/// A short record whose key ceremony completes without a dealer (06 §6.6–§6.7): an
/// electorate of 4 registered whole; referendum r1 (one yes-no question, 3 trustees,
/// k = 2) created by the authority; dealer [`SILENT_DEALER`] sends trustee 2 a bad share
/// and never answers its complaint; `disqualify_after` ms after the complaint the board
/// disqualifies it (reason `unanswered`) and the ceremony completes over QUAL = {2, 3}
/// (K and every X_l leave dealer 1's polynomial out). Voting opens and closes on
/// schedule; the 4 citizens vote; trustees 2 and 3 decrypt (trustee 1 holds no share and
/// owes none) and the result is published. The record passes every step but V15: dealer
/// 1 broke its obligation to answer (V15.7), and so does the board too if
/// `disqualify_after` exceeds the answer deadline + G.
pub fn qualified_ceremony(seed: u64, disqualify_after: i64) -> Result<SynthRecord> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let roles = RoleSigners::generate(&mut rng);
    let mut b = Board::new(roles, Vec::new(), T0, Vec::new())?;
    let town = ElectorateRun::register(&mut b, "town", 4, &mut rng)?;
    b.sign_head();
    let trustee_keys: Vec<TrusteeKeys> = (0..3).map(|_| TrusteeKeys::generate(&mut rng)).collect();
    let m = manifest(
        "r1",
        &town.electorate,
        vec![question("q1", 2, QuestionKind::YesNo)],
        &trustee_keys,
        2,
        b.now().saturating_add(3 * DAY),
        None,
    );
    b.append_act(Payload::ReferendumCreated {
        manifest: m.clone(),
        act: ActSignature::unsigned(),
    })?;
    let silent = SilentDealer {
        dealer: SILENT_DEALER,
        disqualify_after,
    };
    let mut r = Referendum::ceremony_with(&mut b, m, trustee_keys, Some(silent), &mut rng)?;
    b.sign_head();
    r.open(&mut b)?;
    for (v, c) in town.credentials.iter().enumerate() {
        let choice = vec![if v % 2 == 0 { vec![1, 0] } else { vec![0, 1] }];
        let (ballot, _) = r.encrypt(c, &choice, &mut rng)?;
        r.cast(&mut b, ballot)?;
    }
    r.close(&mut b)?;
    r.publish(&mut b, &[2, 3], &mut rng)?;
    Ok(b.finish())
}

// -------------------------------------------------------------------------------------
// The benchmark record
// -------------------------------------------------------------------------------------

/// What [`write_bench_record`] wrote.
#[derive(Clone, Debug)]
pub struct BenchRecord {
    /// The directory.
    pub dir: PathBuf,
    /// Entries.
    pub entries: u64,
    /// Ballots per referendum.
    pub voters: usize,
}

/// A referendum of the benchmark record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BenchKind {
    /// Referendum "yes-no": one yes/no question.
    YesNo,
    /// Referendum "ten": choose exactly one of 10 options.
    ChooseOneOfTen,
}

/// Stream a record to `dir` with one referendum per kind in `kinds`, each with `voters`
/// ballots (one per credential), tallied, decrypted by 2 of 3 trustees and published; a
/// head every 10,000 entries. Ballots are encrypted in parallel; nothing is kept in
/// memory but the running sums. `progress(referendum, done)` is called as ballots are
/// written.
pub fn write_bench_record(
    dir: &Path,
    voters: usize,
    kinds: &[BenchKind],
    seed: u64,
    mut progress: impl FnMut(&str, usize),
) -> Result<BenchRecord> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let roles = RoleSigners::generate(&mut rng);
    let mut writer = RecordWriter::create(dir)?;
    // Entries go straight into the record's entries.jsonl.
    let mut b = Board::new(roles, Vec::new(), T0, WriterSink(&mut writer))?;
    let (creds, all) = electorate("bench", voters, &mut rng);
    b.append_act(Payload::ElectorateRegistered {
        electorate: all.clone(),
        act: ActSignature::unsigned(),
    })?;
    let trustee_keys: Vec<TrusteeKeys> = (0..3).map(|_| TrusteeKeys::generate(&mut rng)).collect();
    for kind in kinds {
        let (id, q) = match kind {
            BenchKind::YesNo => ("yes-no", question("q", 2, QuestionKind::YesNo)),
            BenchKind::ChooseOneOfTen => (
                "ten",
                question(
                    "q",
                    10,
                    QuestionKind::ChooseOne {
                        blank_allowed: false,
                    },
                ),
            ),
        };
        let ten = *kind == BenchKind::ChooseOneOfTen;
        let m = manifest(id, &all, vec![q], &trustee_keys, 2, b.now(), None);
        let mut r = Referendum::create(&mut b, m, trustee_keys.clone(), &mut rng)?;
        r.open(&mut b)?;
        const CHUNK: usize = 1024;
        let mut done = 0usize;
        while done < voters {
            let end = (done + CHUNK).min(voters);
            let jobs: Vec<(usize, u64)> = (done..end).map(|v| (v, rng.next_u64())).collect();
            let ctx = r.context();
            let ballots = parallel::map(jobs, |(v, s)| {
                let choices: Choices = if ten {
                    vec![(0..10).map(|o| u64::from(o == (v * 7) % 10)).collect()]
                } else if v.is_multiple_of(3) {
                    vec![vec![0, 1]]
                } else {
                    vec![vec![1, 0]]
                };
                let c = creds.get(v).ok_or_else(|| err("voter"))?;
                encrypt_ballot(&ctx, c, &choices, None, &mut ChaCha20Rng::seed_from_u64(s))
                    .map(|(b, _)| b)
                    .map_err(err)
            });
            for ballot in ballots {
                r.cast(&mut b, ballot?)?;
                if b.size() % 10_000 == 0 {
                    b.sign_head();
                }
            }
            done = end;
            progress(id, done);
        }
        r.close(&mut b)?;
        r.publish(&mut b, &[1, 3], &mut rng)?;
        b.sign_head();
    }
    b.sign_head();
    let header = b.header(None);
    let entries = b.size();
    let (_, heads) = b.into_parts();
    for h in &heads {
        writer.tree_head(&serde_json::to_string(h).map_err(err)?)?;
    }
    writer.header(&serde_json::to_string_pretty(&header).map_err(err)?)?;
    let dir = writer.finish()?;
    Ok(BenchRecord {
        dir,
        entries,
        voters,
    })
}

/// Writes entries into a [`RecordWriter`] borrowed for the board's lifetime.
struct WriterSink<'a>(&'a mut RecordWriter);

impl EntrySink for WriterSink<'_> {
    fn put(&mut self, entry: BoardEntry) -> Result<()> {
        let line = serde_json::to_string(&entry).map_err(err)?;
        self.0.entry(&line)
    }
}
