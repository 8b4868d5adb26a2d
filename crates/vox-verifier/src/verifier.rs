//! The incremental verifier: it consumes board entries in log order and applies every
//! rule of steps V2–V14 (protocol-spec/10-verifier.md), and V1's pinned board key.
//!
//! [`Verifier`] is a state machine fed one block of entry lines at a time. Cheap,
//! order-dependent rules (log, lifecycles, petitions, ceremonies) run as each entry
//! arrives; the expensive, order-independent ones (ballot proofs, petition signatures)
//! are queued and verified in parallel batches (module `work`) at the end of each
//! block and before any entry that depends on them (the tally). Memory holds one block,
//! per-credential bookkeeping and per-referendum sums — never all ballots.
//!
//! [`crate::run::verify_record`] drives it over a whole record (with the pass-1
//! [`CountedIndex`]); the monitor drives it over new entries as the board grows.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::Arc;

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use sha2::{Digest, Sha256};
use vox_crypto::batch::SingleVerifier;
use vox_crypto::dlog::DlogTable;
use vox_crypto::ring::{Ring, TagGenerator};
use vox_crypto::threshold::{combine, DecryptionShare, JointPublicKeys};
use vox_crypto::{Hash32, Scalar};
use vox_protocol::ballot::{AuditedBallot, Ballot, BallotContext};
use vox_protocol::board::{
    BoardEntry, BoardPublicKey, ComplaintRef, DisqualificationReason, EncryptedTally, Payload,
    Receipt, SignedTreeHead, TreeHead,
};
use vox_protocol::ceremony::{
    completed_payload, CeremonyMessage, CeremonyPhase, CeremonyTracker, DecryptionShareMessage,
};
use vox_protocol::electorate::{ElectorateIndex, Ineligible};
use vox_protocol::encoding::{human_code, Hashable};
use vox_protocol::enrolment::{Effect, EnrolmentError, Roll};
use vox_protocol::manifest::{
    Manifest, TrusteePanel, VotingPeriod, MAX_SLOT_VALUE, SCHEDULE_GRACE_MS,
};
use vox_protocol::merkle::{leaf_hash, NodeHash};
use vox_protocol::petition::{
    Moderation, PetitionPolicy, PetitionProposal, PetitionSignature, PetitionTracker,
    RingPetitionSignature, SignatureAction, ThresholdKind,
};
use vox_protocol::record::RecordHeader;
use vox_protocol::rings::RingSet;
use vox_protocol::roles::{act_message, ActError, Authorities, Role, WitnessPolicies};
use vox_protocol::signature_receipt::{SignatureReceipt, SignerStanding, SignerWatch};
use vox_protocol::tally::{counts_from_slots, slot_bounds, ReferendumResult};

use crate::compact::CompactTree;
use crate::parallel;
use crate::report::{
    Failure, Location, PetitionSummary, ReferendumSummary, Report, StepReport, Steps,
};
use crate::scan::CountedIndex;
use crate::steps::StepId;
use crate::timer::Stopwatch;
use crate::trust::TrustAnchors;
use crate::work::{
    self, add_sums, zero_sums, BallotInputs, BallotWork, RingSignatureWork, SignatureWork, Sums,
};

/// Ballots or signatures per batch (one multiscalar multiplication each).
pub const DEFAULT_CHUNK: usize = 256;

/// At most this many ring signatures per batch (V6.8): past it the ring's points are
/// amortised already (BENCHMARKS.md "Ring signatures": 1.70 ms per signature in batches
/// of 256 against 2.16 in batches of 64, the same run).
const RING_CHUNK: usize = 256;

/// Queued ring signatures that start a flush: four full batches, so both cores get work,
/// and the decoded proofs (≈ 5 KB each) never pile up over a long petition.
const RING_FLUSH: usize = 4 * RING_CHUNK;

/// Queue the threshold entries the thresholds crossed at leaf `cause` oblige (V6.5): the
/// board must show each one right after the entry that crossed it.
fn expect_crossed(
    expected: &mut VecDeque<Expected>,
    petition: &str,
    crossed: vox_protocol::petition::Crossed,
    cause: u64,
) {
    for (kind, count) in crossed.0 {
        expected.push_back(Expected {
            petition: petition.to_owned(),
            kind,
            count,
            cause,
        });
    }
}

/// A receipt given to the verifier, with a name for the report (its file name).
#[derive(Clone, Debug)]
pub struct NamedReceipt {
    /// Shown in locations.
    pub name: String,
    /// The receipt.
    pub receipt: Receipt,
}

/// A petition signature's receipt given to the verifier (07 §7.10), with a name for the
/// report (its file name).
#[derive(Clone, Debug)]
pub struct NamedSignatureReceipt {
    /// Shown in locations.
    pub name: String,
    /// The receipt.
    pub receipt: SignatureReceipt,
}

/// What to verify.
#[derive(Clone, Debug)]
pub struct Options {
    /// Referendums whose ballots, tally, shares and result are verified. `None`: the
    /// referendum named by the record header, or every referendum if it names none.
    /// Other referendums get the log, manifest, ceremony and lifecycle checks only.
    pub referendums: Option<Vec<String>>,
    /// Receipts to check (V14).
    pub receipts: Vec<NamedReceipt>,
    /// Petition signatures' receipts to check (V14, 07 §7.10).
    pub signature_receipts: Vec<NamedSignatureReceipt>,
    /// Keys the observer pins: the board key (V1), role keys (V4) and witnesses that
    /// must cosign the head covering the record (V3). Empty: the record vouches for
    /// itself (its header and genesis).
    pub trust: TrustAnchors,
    /// Items per batch.
    pub chunk_size: usize,
    /// Where the random weights of batch verification (and of Bulletproofs
    /// verification) come from. `None`: a fresh 256-bit key from the operating system's
    /// generator (`OsRng`) for every chunk, stretched by ChaCha20. `Some(seed)`: a
    /// ChaCha20 generator keyed by `seed`, which hands each chunk its own sub-seed;
    /// callers without an OS generator (wasm32 in a browser, no wasm-bindgen) must pass
    /// one drawn from a CSPRNG (`crypto.getRandomValues`) *after* the record was
    /// fetched, and keep it secret: the weights only have to be unpredictable to whoever
    /// made the record. On wasm32 `None` is refused (every batch fails V10/V6 with a
    /// message saying so) rather than silently falling back to a predictable source.
    pub seed: Option<Seed>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            referendums: None,
            receipts: Vec::new(),
            signature_receipts: Vec::new(),
            trust: TrustAnchors::default(),
            chunk_size: DEFAULT_CHUNK,
            seed: None,
        }
    }
}

/// 32 secret bytes keying the batch-verification weights ([`Options::seed`]).
/// `Debug` does not print them.
#[derive(Clone)]
pub struct Seed(pub [u8; 32]);

impl core::fmt::Debug for Seed {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Seed(..)")
    }
}

/// One entry after the parallel decoding stage.
pub(crate) struct Parsed {
    index: u64,
    leaf_hash: NodeHash,
    entry: Result<BoardEntry, String>,
    ballot_hash: Option<Hash32>,
    /// JSON fields outside the protocol (paths), for entries other than the bulk ones.
    extra: Vec<String>,
}

/// Paths of keys present (and not null) in `original` but not in `known`.
fn unknown_fields(
    original: &serde_json::Value,
    known: &serde_json::Value,
    path: &str,
    out: &mut Vec<String>,
) {
    use serde_json::Value;
    if out.len() >= 5 {
        return;
    }
    match (original, known) {
        (Value::Object(o), Value::Object(k)) => {
            for (key, v) in o {
                let p = format!("{path}/{key}");
                match k.get(key) {
                    None if !v.is_null() => out.push(p),
                    None => {}
                    Some(kv) => unknown_fields(v, kv, &p, out),
                }
            }
        }
        (Value::Array(o), Value::Array(k)) => {
            for (i, (v, kv)) in o.iter().zip(k).enumerate() {
                unknown_fields(v, kv, &format!("{path}/{i}"), out);
            }
        }
        _ => {}
    }
}

/// Decode one entry line: parse (decompressing and validating every point), re-encode
/// canonically for the leaf hash, and hash a cast ballot. Runs in parallel.
///
/// Entries other than the bulk ones (ballots, petition signatures, electorate lists,
/// enrolments) are also checked for JSON fields the protocol does not know: such data
/// is covered by no hash or signature, and a record must not smuggle in its own
/// generators or parameters (a manifest, a ceremony message, a tally…). In the bulk
/// entries extra fields are
/// ignored like everywhere else: nothing reads them.
pub(crate) fn parse_entry(index: u64, line: &str) -> Parsed {
    match serde_json::from_str::<BoardEntry>(line) {
        Ok(entry) => {
            let ballot_hash = match &entry.payload {
                Payload::BallotCast { ballot } => Some(ballot.hash()),
                _ => None,
            };
            let mut extra = Vec::new();
            if !matches!(
                entry.payload,
                Payload::BallotCast { .. }
                    | Payload::PetitionSigned { .. }
                    | Payload::ElectorateRegistered { .. }
                    | Payload::CredentialEnrolled { .. }
            ) {
                if let (Ok(original), Ok(known)) = (
                    serde_json::from_str::<serde_json::Value>(line),
                    serde_json::to_value(&entry),
                ) {
                    unknown_fields(&original, &known, "", &mut extra);
                }
            }
            Parsed {
                index,
                leaf_hash: entry.leaf_hash(),
                entry: Ok(entry),
                ballot_hash,
                extra,
            }
        }
        Err(e) => Parsed {
            index,
            // Not a leaf the board can have signed; the root checks will say so too.
            leaf_hash: leaf_hash(line.as_bytes()),
            entry: Err(e.to_string()),
            ballot_hash: None,
            extra: Vec::new(),
        },
    }
}

/// A block of entry lines after the parallel decoding stage, and how long it took.
pub(crate) struct ParsedBlock {
    entries: Vec<Parsed>,
    took: core::time::Duration,
}

impl ParsedBlock {
    /// Entries in the block.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

/// Decode a block of entry lines whose first is leaf `first` (blank lines already
/// removed), on all cores. Pure: it needs no verifier state, so the record driver can
/// decode the next block while the verifier consumes the previous one.
pub(crate) fn parse_block(first: u64, lines: Vec<String>) -> ParsedBlock {
    let sw = Stopwatch::start();
    let numbered: Vec<(u64, String)> = lines
        .into_iter()
        .enumerate()
        .map(|(i, l)| (first.saturating_add(i as u64), l))
        .collect();
    let entries = parallel::map(numbered, |(i, l)| parse_entry(i, &l));
    ParsedBlock {
        entries,
        took: sw.elapsed(),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    Ceremony,
    Ready,
    Open,
    Closed,
    Tallied,
    Published,
    Failed,
}

impl Phase {
    fn name(self) -> &'static str {
        match self {
            Phase::Ceremony => "in its key ceremony",
            Phase::Ready => "ready (key ceremony complete, not opened)",
            Phase::Open => "open",
            Phase::Closed => "closed",
            Phase::Tallied => "tallied",
            Phase::Published => "published",
            Phase::Failed => "failed (key ceremony failed)",
        }
    }
}

#[derive(Default)]
struct CredentialBallots {
    cast: Vec<Hash32>,
    audited: Vec<Hash32>,
}

struct ReferendumState {
    id: String,
    manifest: Manifest,
    manifest_hash: Hash32,
    /// Electorate hash, if registered before the manifest.
    electorate: Option<Hash32>,
    manifest_ok: bool,
    focus: bool,
    ceremony: Option<CeremonyTracker>,
    joint: Option<JointPublicKeys>,
    phase: Phase,
    /// Ballots and audits per voter key (the credential, or an anonymous ballot's tag).
    credentials: HashMap<[u8; 32], CredentialBallots>,
    /// The leaf of its manifest (anonymous ballots' rings leave out replacements
    /// enrolled from then on, 04 §4.10).
    created_leaf: u64,
    /// Anonymous participation: the rings at the electorate epoch they were derived at,
    /// and the tag generator.
    rings: Option<(usize, Arc<RingSet>)>,
    tag_generator: Option<TagGenerator>,
    ballots_cast: u64,
    audited: u64,
    counted: u64,
    counted_hasher: Sha256,
    sums: Sums,
    sums_fit: bool,
    unverifiable_noted: bool,
    tally: Option<EncryptedTally>,
    share_trustees: BTreeSet<u32>,
    valid_shares: BTreeMap<u32, DecryptionShare>,
    result: Option<Vec<Vec<u64>>>,
    /// Board times of the scheduled steps (V15).
    times: ScheduleTimes,
}

/// When each scheduled step of a referendum happened (board timestamps), for the
/// obligations step (V15).
#[derive(Default)]
struct ScheduleTimes {
    opened: Option<i64>,
    closed: Option<i64>,
    tallied: Option<i64>,
    result: Option<i64>,
    /// First share of each trustee: valid (referendums checked in full) or posted (others).
    shares: BTreeMap<u32, i64>,
    /// The `shares-overdue` entry: its time and the trustees it named.
    overdue: Option<(i64, Vec<u32>)>,
}

impl ReferendumState {
    fn location(&self, leaf: u64) -> Location {
        Location::Referendum {
            referendum: self.id.clone(),
            leaf: Some(leaf),
        }
    }

    fn trustee(&self, trustee: u32, leaf: u64) -> Location {
        Location::Trustee {
            referendum: self.id.clone(),
            trustee,
            leaf: Some(leaf),
        }
    }
}

/// A usable (registered or frozen) electorate: a copy of the roll's live index,
/// refreshed on every [`Effect`] the roll reports for it, so the parallel work always
/// checks against the revocations and replacements replayed so far.
struct ElectorateState {
    index: ElectorateIndex,
}

struct PetitionState {
    tracker: PetitionTracker,
    electorate: Option<Hash32>,
    /// Leaf of its `petition-proposed` entry (replacements enrolled from it on are in
    /// none of its rings, 07 §7.10).
    proposed_leaf: u64,
    /// Its rings, derived at the last ring signature, and the electorate's epoch then
    /// (rings change only when a revocation or replacement changes the epoch).
    rings: Option<(usize, Arc<RingSet>)>,
    /// The referendum its threshold obliged: the leaf and time of the threshold entry,
    /// and the leaf and time of the `referendum-triggered` entry once seen (V15).
    trigger: Option<(LeafTime, Option<LeafTime>)>,
}

/// A leaf index and its entry's board timestamp.
type LeafTime = (u64, i64);

struct Expected {
    petition: String,
    kind: ThresholdKind,
    count: u64,
    cause: u64,
}

#[derive(Clone, Copy, Debug)]
enum RootCheck {
    Head,
    Receipt(usize),
}

struct ReceiptState {
    name: String,
    held: HeldReceipt,
    leaf_checked: bool,
    root_checked: bool,
}

/// A ballot's receipt, or a petition signature's with the watch that follows its signer
/// through the entries after its leaf (set once the leaf checks out).
enum HeldReceipt {
    Ballot(Receipt),
    Signature(Box<SignatureReceipt>, Option<SignerWatch>),
}

impl HeldReceipt {
    fn tree_head(&self) -> &SignedTreeHead {
        match self {
            HeldReceipt::Ballot(r) => &r.tree_head,
            HeldReceipt::Signature(r, _) => &r.tree_head,
        }
    }

    fn leaf_index(&self) -> u64 {
        match self {
            HeldReceipt::Ballot(r) => r.leaf_index,
            HeldReceipt::Signature(r, _) => r.leaf_index,
        }
    }
}

/// What V4 knows of the log's genesis.
enum GenesisState {
    /// Leaf 0 not read yet.
    Pending,
    /// Leaf 0 is a valid genesis: the roles' keys as of the entries read so far.
    Valid {
        authorities: Box<Authorities>,
        /// The witness policies declared so far and which is in force (V3.4, V3.6, V3.7).
        witnesses: Box<WitnessPolicies>,
        /// The log's name: the origin of its checkpoints (V3.5).
        log_name: String,
    },
    /// Leaf 0 is no valid genesis (V4 failed there): acts cannot be checked.
    Invalid,
}

enum Focus {
    All,
    Only(HashSet<String>),
}

impl Focus {
    fn contains(&self, id: &str) -> bool {
        match self {
            Focus::All => true,
            Focus::Only(s) => s.contains(id),
        }
    }
}

/// The signature checks of one tree head (pure, so they can run in parallel).
pub(crate) struct HeadVerdict {
    signature: Result<(), String>,
    /// Per cosignature: the witness key, or why it does not verify.
    cosignatures: Vec<Result<[u8; 32], String>>,
}

impl HeadVerdict {
    pub(crate) fn check(board: &BoardPublicKey, sth: &SignedTreeHead) -> Self {
        Self {
            signature: sth.verify(board).map_err(|e| e.to_string()),
            cosignatures: sth
                .cosignatures
                .iter()
                .map(|c| {
                    sth.verify_cosignature(c)
                        .map(|()| *c.witness.0.as_bytes())
                        .map_err(|e| format!("cosignature by witness {}: {e}", c.witness.to_hex()))
                })
                .collect(),
        }
    }
}

/// V6.6 / V10.5: why `credential` may not act at `leaf`, if it may not: revoked at an
/// earlier leaf, or a replacement enrolled only later. A credential not on the
/// electorate at this point of the replay (never, or a replacement whose enrolment
/// comes later) is left to the signature checks, which say so once: the queued work is
/// flushed before any replacement enrolment (see `on_electorate`).
fn standing_fault(
    index: &ElectorateIndex,
    credential: &vox_crypto::credential::CredentialPublicKey,
    leaf: u64,
    rule: &str,
) -> Option<String> {
    match index.standing(credential, leaf) {
        Ok(()) | Err(Ineligible::NotMember) => None,
        Err(e @ Ineligible::Revoked(_)) => {
            Some(format!("{rule}: {e}; it may not act after its revocation"))
        }
        Err(e @ Ineligible::NotYet(_)) => Some(format!("{rule}: {e}")),
    }
}

/// The verifier state machine. See the module documentation.
pub struct Verifier {
    board: BoardPublicKey,
    header: Option<RecordHeader>,
    focus: Focus,
    focus_named: Vec<String>,
    counted_index: Option<CountedIndex>,
    chunk: usize,
    /// Source of the per-chunk weight seeds (`None`: a key from `OsRng` in each chunk).
    weights: Option<ChaCha20Rng>,
    steps: Steps,
    recent: Option<Vec<(StepId, Failure)>>,
    // ---- log (V2, V3)
    tree: CompactTree,
    last_timestamp: Option<i64>,
    roots: BTreeMap<u64, Vec<(NodeHash, RootCheck)>>,
    last_head: Option<TreeHead>,
    /// The signed head `last_head` came from: on equivocation both notes are the
    /// evidence (12 §12.6), so the report quotes them whole.
    last_signed: Option<SignedTreeHead>,
    final_head: Option<TreeHead>,
    final_cosigners: HashSet<[u8; 32]>,
    witness_best: HashMap<[u8; 32], u64>,
    /// The checkpoint origin of the first tree head (V3.5): every head names it, and it
    /// is the genesis `log_name`.
    head_origin: Option<(u64, String)>,
    /// The valid cosigners of the heads of each size not yet passed by the entries (V3.6:
    /// an entry that ends a phase at leaf i needs a head of size i cosigned by the
    /// quorum of the witness policy in force). Sizes below the next leaf are dropped
    /// once read, after they may have made a pending witness policy change take effect.
    head_cosigners: BTreeMap<u64, HashSet<[u8; 32]>>,
    // ---- genesis, roles and acts (V4)
    pinned: TrustAnchors,
    genesis: GenesisState,
    /// Leaf of every act checked so far, by the hash of its act message (to name the
    /// original of a replay).
    act_leaves: HashMap<Hash32, u64>,
    /// Acts that could not be checked for want of a valid genesis.
    unverifiable_acts: u64,
    // ---- receipts (V14)
    receipts: Vec<ReceiptState>,
    receipt_leaves: HashMap<u64, Vec<usize>>,
    /// Signature receipts whose leaf checked out: their watches follow later entries.
    watching: Vec<usize>,
    // ---- content
    /// Replay of every electorate entry (V5): the same rules the server applies.
    roll: Roll,
    electorates: HashMap<Hash32, ElectorateState>,
    petitions: BTreeMap<String, PetitionState>,
    /// The petitions office's policy in force and the leaf that set it (V6.7).
    petition_policy: Option<(u64, PetitionPolicy)>,
    referendums: Vec<ReferendumState>,
    referendum_ids: HashMap<String, usize>,
    /// The standing trustee panel in force (07 §7.4).
    panel: Option<TrusteePanel>,
    /// Referendum ids reserved by published petitions' terms, with the petition.
    reserved_ids: HashMap<String, String>,
    /// A referendum threshold entry just seen: the `referendum-triggered` entry of that
    /// petition must be the very next leaf (07 §7.4).
    trigger_due: Option<String>,
    expected: VecDeque<Expected>,
    /// A bad complaint answer was applied at leaf `.2`: the next entry must be the
    /// `trustee-disqualified` (reason bad-answer) for this referendum and complaint (V8).
    expected_disqualification: Option<(String, ComplaintRef, u64)>,
    ballots: Vec<BallotWork>,
    signatures: Vec<SignatureWork>,
    ring_signatures: Vec<RingSignatureWork>,
    /// Per referendum id: ballots pass 2 found to be a credential's last (pass 1).
    last_seen: HashMap<String, u64>,
    /// Entries that did not decode (V2.1). Pass 1 reads ballots with a lighter parser,
    /// so such an entry can be a ballot pass 1 counted and pass 2 could not: the passes
    /// then differ because of that fault, already reported, not because the record
    /// changed while it was read.
    undecodable: u64,
    started: Stopwatch,
}

impl Verifier {
    /// A verifier for a whole record whose header passed V1. `counted` is the pass-1
    /// index; without it the tally, shares and result are NOT-CHECKED.
    pub fn new(header: RecordHeader, options: Options, counted: Option<CountedIndex>) -> Self {
        let named: Vec<String> = match (&options.referendums, &header.referendum_id) {
            (Some(list), _) => list.clone(),
            (None, Some(id)) => vec![id.clone()],
            (None, None) => Vec::new(),
        };
        let mut v = Self::empty(header.board_public_key, options.chunk_size, counted);
        v.weights = options.seed.map(|s| ChaCha20Rng::from_seed(s.0));
        if let Some(pinned) = options.trust.board_public_key {
            if pinned != header.board_public_key {
                v.fail(
                    StepId::Record,
                    Location::Record {
                        what: "board_public_key".into(),
                    },
                    format!(
                        "board key mismatch: pinned {}, record {}",
                        pinned.to_hex(),
                        header.board_public_key.to_hex()
                    ),
                );
            }
        }
        v.pinned = options.trust;
        if !named.is_empty() {
            v.focus = Focus::Only(named.iter().cloned().collect());
        }
        v.focus_named = named;
        for r in options.receipts {
            let check = r.receipt.verify(&v.board);
            v.add_receipt(r.name, HeldReceipt::Ballot(r.receipt), check);
        }
        for r in options.signature_receipts {
            let check = r.receipt.verify(&v.board);
            v.add_receipt(
                r.name,
                HeldReceipt::Signature(Box::new(r.receipt), None),
                check,
            );
        }
        v.header = Some(header);
        v
    }

    /// A verifier for a live board (the monitor): every referendum, no pass-1 index, and
    /// failures collected for [`Verifier::take_new_failures`].
    pub fn for_monitor(board: BoardPublicKey, trust: TrustAnchors) -> Self {
        let mut v = Self::empty(board, DEFAULT_CHUNK, None);
        v.recent = Some(Vec::new());
        v.pinned = trust;
        v
    }

    fn empty(board: BoardPublicKey, chunk: usize, counted: Option<CountedIndex>) -> Self {
        Self {
            board,
            header: None,
            focus: Focus::All,
            focus_named: Vec::new(),
            counted_index: counted,
            chunk: chunk.max(1),
            weights: None,
            steps: Steps::new(),
            recent: None,
            tree: CompactTree::new(),
            last_timestamp: None,
            roots: BTreeMap::new(),
            last_head: None,
            last_signed: None,
            final_head: None,
            final_cosigners: HashSet::new(),
            witness_best: HashMap::new(),
            head_origin: None,
            head_cosigners: BTreeMap::new(),
            pinned: TrustAnchors::default(),
            genesis: GenesisState::Pending,
            act_leaves: HashMap::new(),
            unverifiable_acts: 0,
            receipts: Vec::new(),
            receipt_leaves: HashMap::new(),
            watching: Vec::new(),
            roll: Roll::new(),
            electorates: HashMap::new(),
            petitions: BTreeMap::new(),
            petition_policy: None,
            referendums: Vec::new(),
            referendum_ids: HashMap::new(),
            expected: VecDeque::new(),
            panel: None,
            reserved_ids: HashMap::new(),
            trigger_due: None,
            expected_disqualification: None,
            ballots: Vec::new(),
            signatures: Vec::new(),
            ring_signatures: Vec::new(),
            last_seen: HashMap::new(),
            undecodable: 0,
            started: Stopwatch::start(),
        }
    }

    /// The board key.
    pub fn board(&self) -> &BoardPublicKey {
        &self.board
    }

    /// Entries consumed so far.
    pub fn tree_size(&self) -> u64 {
        self.tree.size()
    }

    /// The root of the entries consumed so far.
    pub fn root(&self) -> NodeHash {
        self.tree.root()
    }

    /// Failures found since the last call (monitor mode only; empty otherwise).
    pub fn take_new_failures(&mut self) -> Vec<(StepId, Failure)> {
        self.recent.as_mut().map(std::mem::take).unwrap_or_default()
    }

    pub(crate) fn fail(&mut self, step: StepId, location: Location, message: impl Into<String>) {
        let message = message.into();
        if let Some(r) = self.recent.as_mut() {
            r.push((
                step,
                Failure {
                    location: location.clone(),
                    message: message.clone(),
                },
            ));
        }
        self.steps.get(step).fail(location, message);
    }

    pub(crate) fn not_checked(&mut self, step: StepId, reason: impl Into<String>) {
        self.steps.get(step).not_checked.push(reason.into());
    }

    pub(crate) fn note(&mut self, step: StepId, note: impl Into<String>) {
        self.steps.get(step).notes.push(note.into());
    }

    pub(crate) fn count(&mut self, step: StepId, n: u64) {
        let s = self.steps.get(step);
        s.checked = s.checked.saturating_add(n);
    }

    pub(crate) fn time(&mut self, step: StepId, since: Stopwatch) {
        let s = self.steps.get(step);
        s.elapsed += since.elapsed();
    }

    // ---------------------------------------------------------------------------------
    // Tree heads (V2, V3)
    // ---------------------------------------------------------------------------------

    /// Announce a signed tree head. Heads must come in ascending size and before the
    /// entry that completes their size (the record driver and the monitor both do so).
    pub fn queue_tree_head(&mut self, sth: &SignedTreeHead) {
        let verdict = HeadVerdict::check(&self.board, sth);
        self.queue_checked_tree_head(sth, verdict);
    }

    /// [`Verifier::queue_tree_head`] with the signatures already checked (in parallel).
    pub(crate) fn queue_checked_tree_head(&mut self, sth: &SignedTreeHead, verdict: HeadVerdict) {
        let sw = Stopwatch::start();
        let size = sth.head.tree_size;
        let at = Location::TreeHead { tree_size: size };
        self.count(StepId::TreeHeads, 1);
        if let Err(e) = verdict.signature {
            self.fail(StepId::TreeHeads, at.clone(), e);
        }
        match &self.head_origin {
            None => self.head_origin = Some((size, sth.origin.clone())),
            Some((first, origin)) if *origin != sth.origin => {
                let msg = format!(
                    "the head is a checkpoint of log {:?}, the head of size {first} of log {origin:?}",
                    sth.origin
                );
                self.fail(StepId::TreeHeads, at.clone(), msg);
            }
            Some(_) => {}
        }
        let mut valid_cosigners = HashSet::new();
        for c in verdict.cosignatures {
            match c {
                Ok(k) => {
                    valid_cosigners.insert(k);
                    let best = self.witness_best.entry(k).or_insert(0);
                    *best = (*best).max(size);
                }
                Err(e) => self.fail(StepId::TreeHeads, at.clone(), e),
            }
        }
        self.head_cosigners
            .entry(size)
            .or_default()
            .extend(valid_cosigners.iter().copied());
        self.time(StepId::TreeHeads, sw);
        let sw = Stopwatch::start();
        if let Some(last) = self.last_head {
            if size < last.tree_size {
                self.fail(
                    StepId::Log,
                    at.clone(),
                    format!(
                        "tree heads out of order: size {size} after size {}",
                        last.tree_size
                    ),
                );
            } else if size == last.tree_size && sth.head.root_hash != last.root_hash {
                // Both heads verified under the board key above: quote both signed
                // notes, which anyone can check with a stock C2SP implementation.
                let e = crate::VerifyError::Equivocation {
                    tree_size: size,
                    first: last.root_hash,
                    second: sth.head.root_hash,
                    evidence: crate::monitor::evidence(
                        &self.board,
                        self.last_signed.as_ref(),
                        Some(sth),
                    ),
                };
                self.fail(StepId::Log, at.clone(), e.to_string());
            } else if sth.head.timestamp_ms < last.timestamp_ms {
                self.fail(
                    StepId::Log,
                    at.clone(),
                    "tree head timestamp is earlier than that of a smaller head",
                );
            }
        }
        if self.last_head.is_none_or(|l| size >= l.tree_size) {
            self.last_head = Some(sth.head);
            self.last_signed = Some(sth.clone());
        }
        match self.final_head {
            Some(f) if f.tree_size > size => {}
            Some(f) if f.tree_size == size => {
                self.final_cosigners.extend(valid_cosigners);
            }
            _ => {
                self.final_head = Some(sth.head);
                self.final_cosigners = valid_cosigners;
            }
        }
        self.expect_root(size, sth.head.root_hash, RootCheck::Head, at);
        self.time(StepId::Log, sw);
    }

    fn expect_root(&mut self, size: u64, root: NodeHash, check: RootCheck, at: Location) {
        let current = self.tree.size();
        if size == current {
            self.compare_root(size, root, check);
        } else if size > current {
            self.roots.entry(size).or_default().push((root, check));
        } else {
            let (step, what) = match check {
                RootCheck::Head => (StepId::Log, "tree head"),
                RootCheck::Receipt(_) => (StepId::Receipts, "receipt's tree head"),
            };
            self.fail(
                step,
                at,
                format!(
                    "{what} of size {size} arrived after entry {current}: its root cannot be checked"
                ),
            );
        }
    }

    fn compare_root(&mut self, size: u64, root: NodeHash, check: RootCheck) {
        let computed = self.tree.root();
        if computed == root {
            if let RootCheck::Receipt(i) = check {
                if let Some(r) = self.receipts.get_mut(i) {
                    r.root_checked = true;
                }
            }
            return;
        }
        match check {
            RootCheck::Head => self.fail(
                StepId::Log,
                Location::TreeHead { tree_size: size },
                format!("signed root {root} differs from the root {computed} of the first {size} entries"),
            ),
            RootCheck::Receipt(i) => {
                let name = self.receipt_name(i);
                self.fail(
                    StepId::Receipts,
                    Location::Receipt { name },
                    format!(
                        "the receipt's signed tree head of size {size} has root {root}, but the record's first {size} entries give {computed}: the board showed this voter another log"
                    ),
                )
            }
        }
    }

    // ---------------------------------------------------------------------------------
    // Receipts (V14)
    // ---------------------------------------------------------------------------------

    fn receipt_name(&self, i: usize) -> String {
        self.receipts
            .get(i)
            .map(|r| r.name.clone())
            .unwrap_or_default()
    }

    /// V14.1: `check` is the receipt's own check (a ballot receipt's signature, tracking
    /// code and inclusion; a signature receipt's R1–R2), made by the caller.
    fn add_receipt(
        &mut self,
        name: String,
        held: HeldReceipt,
        check: Result<(), vox_protocol::ProtocolError>,
    ) {
        let sw = Stopwatch::start();
        let i = self.receipts.len();
        let at = Location::Receipt { name: name.clone() };
        self.count(StepId::Receipts, 1);
        if let Err(e) = check {
            self.fail(StepId::Receipts, at.clone(), e.to_string());
        }
        let size = held.tree_head().head.tree_size;
        let root = held.tree_head().head.root_hash;
        let leaf = held.leaf_index();
        self.receipts.push(ReceiptState {
            name,
            held,
            leaf_checked: false,
            root_checked: false,
        });
        self.receipt_leaves.entry(leaf).or_default().push(i);
        self.expect_root(size, root, RootCheck::Receipt(i), at);
        self.time(StepId::Receipts, sw);
    }

    /// V14.4 for signature receipts: each entry after a checked leaf moves its signer's
    /// standing (07 §7.10 R6).
    fn follow_signers(&mut self, index: u64, p: &Parsed) {
        let Ok(entry) = &p.entry else {
            return;
        };
        for &i in &self.watching {
            if let Some(ReceiptState {
                held: HeldReceipt::Signature(_, Some(watch)),
                ..
            }) = self.receipts.get_mut(i)
            {
                watch.apply(index, &entry.payload);
            }
        }
    }

    fn check_receipt_leaf(&mut self, index: u64, p: &Parsed) {
        let Some(ids) = self.receipt_leaves.remove(&index) else {
            return;
        };
        let sw = Stopwatch::start();
        let mut notes = Vec::new();
        for i in ids {
            let Some(state) = self.receipts.get_mut(i) else {
                continue;
            };
            state.leaf_checked = true;
            let at = Location::Receipt {
                name: state.name.clone(),
            };
            let r = match &mut state.held {
                HeldReceipt::Ballot(r) => r.clone(),
                HeldReceipt::Signature(r, watch) => {
                    // V14.3 for a signature receipt: R4 (07 §7.10); the watch then
                    // follows its signer through the later entries (V14.4).
                    let fault = match &p.entry {
                        Ok(entry) => r.check_entry(entry).err().map(|e| {
                            format!("leaf {index} is not the receipt's petition signature: {e}")
                        }),
                        Err(_) => Some(format!("leaf {index} is not a valid entry")),
                    };
                    match fault {
                        Some(f) => self.fail(StepId::Receipts, at, f),
                        None => {
                            *watch = Some(r.watch());
                            self.watching.push(i);
                        }
                    }
                    continue;
                }
            };
            let name = state.name.clone();
            let mut faults = Vec::new();
            if r.leaf_hash != p.leaf_hash {
                faults.push(format!(
                    "leaf {index} of the record has hash {}, the receipt says {}",
                    p.leaf_hash, r.leaf_hash
                ));
            }
            match &p.entry {
                Ok(BoardEntry {
                    timestamp_ms,
                    payload: Payload::BallotCast { ballot },
                }) => {
                    if p.ballot_hash != Some(r.ballot_hash) {
                        faults.push(format!(
                            "leaf {index} holds another ballot ({})",
                            ballot.tracking_code()
                        ));
                    }
                    if *timestamp_ms != r.entry_timestamp_ms {
                        faults.push("entry timestamp differs from the receipt".into());
                    }
                    if ballot.referendum_id != r.referendum_id {
                        faults.push("the ballot is for another referendum".into());
                    }
                    if faults.is_empty() {
                        match self
                            .counted_index
                            .as_ref()
                            .zip(ballot.voter_key())
                            .and_then(|(c, k)| c.last(&ballot.referendum_id, &k))
                        {
                            Some(last) if last == index => notes.push(format!(
                                "{name}: ballot {} at leaf {index} is counted",
                                r.tracking_code
                            )),
                            Some(last) if last > index => notes.push(format!(
                                "{name}: ballot {} at leaf {index} is superseded by the credential's later ballot at leaf {last}",
                                r.tracking_code
                            )),
                            Some(_) | None if self.counted_index.is_some() => faults.push(
                                "the ballot is neither counted nor superseded by a later ballot of its credential"
                                    .into(),
                            ),
                            _ => {}
                        }
                    }
                }
                Ok(_) => faults.push(format!("leaf {index} is not a cast ballot")),
                Err(_) => faults.push(format!("leaf {index} is not a valid entry")),
            }
            for f in faults {
                self.fail(StepId::Receipts, at.clone(), f);
            }
        }
        for n in notes {
            self.note(StepId::Receipts, n);
        }
        self.time(StepId::Receipts, sw);
    }

    // ---------------------------------------------------------------------------------
    // Entries
    // ---------------------------------------------------------------------------------

    /// Consume the next block of entry lines (leaf indices continue from
    /// [`Verifier::tree_size`]; blank lines must already be removed). Decoding runs in
    /// parallel; proofs queued by the block are verified before returning.
    pub fn push_lines(&mut self, lines: Vec<String>) {
        let parsed = parse_block(self.tree.size(), lines);
        self.push_block(parsed);
    }

    /// Consume a block decoded by [`parse_block`] (whose first index must be
    /// [`Verifier::tree_size`]), charging its decoding time to V2; proofs queued by the
    /// block are verified before returning.
    pub(crate) fn push_block(&mut self, block: ParsedBlock) {
        let s = self.steps.get(StepId::Log);
        s.elapsed += block.took;
        for p in block.entries {
            self.push_parsed(p);
        }
        self.flush();
    }

    /// Consume already-parsed entries (the monitor, tests).
    pub fn push_entries(&mut self, entries: Vec<BoardEntry>) {
        for entry in entries {
            let index = self.tree.size();
            let ballot_hash = match &entry.payload {
                Payload::BallotCast { ballot } => Some(ballot.hash()),
                _ => None,
            };
            self.push_parsed(Parsed {
                index,
                leaf_hash: entry.leaf_hash(),
                entry: Ok(entry),
                ballot_hash,
                extra: Vec::new(),
            });
        }
        self.flush();
    }

    fn push_parsed(&mut self, p: Parsed) {
        let sw = Stopwatch::start();
        let index = p.index;
        self.count(StepId::Log, 1);
        match &p.entry {
            Err(e) => {
                self.undecodable += 1;
                self.fail(
                    StepId::Log,
                    Location::Leaf { index },
                    format!("not a valid board entry: {e}"),
                )
            }
            Ok(entry) => {
                if self.last_timestamp.is_some_and(|t| entry.timestamp_ms < t) {
                    self.fail(
                        StepId::Log,
                        Location::Leaf { index },
                        "entry timestamp is earlier than the previous entry's",
                    );
                }
                self.last_timestamp = Some(entry.timestamp_ms);
            }
        }
        if !p.extra.is_empty() {
            self.fail(
                StepId::Record,
                Location::Leaf { index },
                format!(
                    "entry carries fields outside the protocol, covered by no hash or signature: {}",
                    p.extra.join(", ")
                ),
            );
        }
        self.tree.push(p.leaf_hash);
        let size = self.tree.size();
        if let Some(checks) = self.roots.remove(&size) {
            for (root, check) in checks {
                self.compare_root(size, root, check);
            }
        }
        self.time(StepId::Log, sw);
        self.follow_signers(index, &p);
        self.check_receipt_leaf(index, &p);
        let accepted = self.check_authority(index, p.entry.as_ref().ok().map(|e| &e.payload));
        self.check_phase_quorum(index, p.entry.as_ref().ok().map(|e| &e.payload), accepted);
        let Parsed {
            entry, ballot_hash, ..
        } = p;
        if let Ok(entry) = entry {
            // 07 §7.4: the referendum a threshold obliges is the very next entry; if it is
            // not, V15 reports the obligation as late (or broken, if it never comes).
            if let Some(pid) = self.trigger_due.take() {
                let next = matches!(&entry.payload, Payload::ReferendumTriggered { manifest }
                    if manifest.source_petition.as_deref() == Some(pid.as_str()));
                if !next {
                    self.note(
                        StepId::Obligations,
                        format!(
                            "petition {pid}: leaf {index} is not the referendum its threshold \
                             entry at leaf {} obliges",
                            index.saturating_sub(1)
                        ),
                    );
                }
            }
            self.check_expected_disqualification(index, &entry);
            let consumed = self.check_expected_thresholds(index, &entry.payload);
            if consumed {
                if let Payload::PetitionThreshold {
                    petition_id,
                    kind: ThresholdKind::Referendum,
                    ..
                } = &entry.payload
                {
                    if let Some(p) = self.petitions.get_mut(petition_id) {
                        p.trigger = Some(((index, entry.timestamp_ms), None));
                    }
                    self.trigger_due = Some(petition_id.clone());
                }
            } else {
                self.dispatch(index, entry, ballot_hash);
            }
        }
    }

    /// V3.6 and V3.7, at leaf `index`. The heads of sizes up to `index` are observed
    /// first (a witness policy change takes effect at the first head covering it that
    /// carries the old policy's quorum, 11 §11.6); then a `witness-policy-set` the V4
    /// replay `accepted` is declared (refused while an earlier change is not in force,
    /// V3.7); and an entry that ends a referendum phase (close, tally, result) must
    /// follow a head of size `index` cosigned by the quorum of the policy in force
    /// (V3.6): the server waits for the witnesses before it appends one (08 §8.4).
    fn check_phase_quorum(&mut self, index: u64, payload: Option<&Payload>, accepted: bool) {
        // Heads smaller than this leaf can no longer be the head before a later entry;
        // in size order, they may still make a pending policy change take effect.
        let pending = matches!(&self.genesis,
            GenesisState::Valid { witnesses, .. } if witnesses.pending().is_some());
        while self
            .head_cosigners
            .first_key_value()
            .is_some_and(|(size, _)| *size < index)
        {
            if let Some((size, set)) = self.head_cosigners.pop_first() {
                if pending {
                    self.observe_witness_policy(size, &set);
                }
            }
        }
        if pending {
            if let Some(set) = self.head_cosigners.get(&index).cloned() {
                self.observe_witness_policy(index, &set);
            }
        }
        let Some(payload) = payload else { return };
        if let (Payload::WitnessPolicySet { policy, .. }, true) = (payload, accepted) {
            self.declare_witness_policy(index, policy);
        }
        if !payload.ends_a_phase() {
            return;
        }
        let GenesisState::Valid { witnesses, .. } = &self.genesis else {
            return;
        };
        let policy = witnesses.in_force();
        let quorum = policy.quorum();
        if quorum == 0 {
            return;
        }
        let whose = witnesses.in_force_name();
        let why = match self.head_cosigners.get(&index) {
            None => Some(format!("the record holds no tree head of size {index}")),
            Some(set) => {
                let have = policy.cosigners(|k| set.contains(k.0.as_bytes()));
                (have < quorum).then(|| {
                    format!(
                        "the head of size {index} carries valid cosignatures from {have} of its {} witnesses",
                        policy.keys.len()
                    )
                })
            }
        };
        let sw = Stopwatch::start();
        self.count(StepId::TreeHeads, 1);
        if let Some(why) = why {
            self.fail(
                StepId::TreeHeads,
                Location::Leaf { index },
                format!(
                    "the {} entry ends a phase, but {why}; {whose}, in force there, requires {quorum} before it",
                    payload.kind()
                ),
            );
        }
        self.time(StepId::TreeHeads, sw);
    }

    /// A head of `size` with the valid cosigners `set`: a pending witness policy change
    /// it makes take effect is noted (11 §11.6).
    fn observe_witness_policy(&mut self, size: u64, set: &HashSet<[u8; 32]>) {
        let GenesisState::Valid { witnesses, .. } = &mut self.genesis else {
            return;
        };
        let leaf = witnesses.pending().map(|(l, _)| l);
        if witnesses.observe(size, |k| set.contains(k.0.as_bytes())) {
            if let Some(leaf) = leaf {
                self.note(
                    StepId::TreeHeads,
                    format!(
                        "the witness policy set at leaf {leaf} is in force from the head of size {size}, which the policy before it cosigned"
                    ),
                );
            }
        }
    }

    /// V3.7: a `witness-policy-set` at leaf `index` while an earlier change is not in
    /// force yet fails, and the policy is not adopted (the server refuses it).
    fn declare_witness_policy(&mut self, index: u64, policy: &vox_protocol::roles::WitnessPolicy) {
        let GenesisState::Valid { witnesses, .. } = &mut self.genesis else {
            return;
        };
        let outcome = witnesses.declare(index, policy.clone());
        let immediate = witnesses.pending().is_none();
        self.count(StepId::TreeHeads, 1);
        match outcome {
            Err(e) => self.fail(StepId::TreeHeads, Location::Leaf { index }, e.to_string()),
            Ok(()) => self.note(
                StepId::TreeHeads,
                format!(
                    "leaf {index} sets a witness policy of {} of {} witnesses{}",
                    policy.quorum,
                    policy.keys.len(),
                    if immediate {
                        " (in force at once: the policy before it had quorum 0)"
                    } else {
                        ", in force once a head covering it carries the quorum of the policy before it"
                    }
                ),
            ),
        }
    }

    fn dispatch(&mut self, index: u64, entry: BoardEntry, ballot_hash: Option<Hash32>) {
        let ts = entry.timestamp_ms;
        match entry.payload {
            // V4 only (check_authority), and V3.7 for a witness policy
            // (check_phase_quorum).
            Payload::Genesis { .. }
            | Payload::RoleKeyRotated { .. }
            | Payload::WitnessPolicySet { .. } => {}
            Payload::ElectorateRegistered { .. }
            | Payload::EnrolmentOpened { .. }
            | Payload::CredentialEnrolled { .. }
            | Payload::CredentialRevoked { .. }
            | Payload::ElectorateFrozen { .. } => self.on_electorate(index, &entry.payload),
            Payload::PetitionProposed { proposal } => self.on_proposal(index, proposal),
            Payload::PetitionPolicySet { policy, .. } => self.on_policy(index, policy),
            Payload::PetitionSigned { signature } => self.on_signature(index, ts, signature),
            Payload::PetitionRingSigned { signature } => {
                self.on_ring_signature(index, ts, *signature)
            }
            Payload::PetitionThreshold {
                petition_id,
                kind,
                count,
            } => {
                let sw = Stopwatch::start();
                self.count(StepId::Petitions, 1);
                self.fail(
                    StepId::Petitions,
                    Location::Petition {
                        petition: petition_id,
                        leaf: Some(index),
                    },
                    format!(
                        "{} threshold entry (count {count}) that no preceding signature or moderation crossed: early, late or duplicate",
                        threshold_name(kind)
                    ),
                );
                self.time(StepId::Petitions, sw);
            }
            Payload::PetitionModerated {
                petition_id,
                moderation,
                ..
            } => self.on_moderation(index, ts, petition_id, moderation),
            Payload::PetitionResponded {
                petition_id, text, ..
            } => self.petition_step(index, &petition_id, |t| {
                t.apply_response(&text, ts).map(|()| None)
            }),
            Payload::SignaturesInvalidated {
                petition_id,
                credentials,
                tags,
                reason,
                ..
            } => {
                if reason.trim().is_empty() {
                    self.fail(
                        StepId::Petitions,
                        Location::Petition {
                            petition: petition_id.clone(),
                            leaf: Some(index),
                        },
                        "signatures invalidated without a public reason",
                    );
                }
                self.petition_step(index, &petition_id, |t| {
                    t.apply_invalidation(&credentials, &tags).map(|_| None)
                })
            }
            Payload::PetitionClosed { petition_id, count } => {
                self.petition_step(index, &petition_id, |t| {
                    t.apply_close(ts)?;
                    if t.count() != count {
                        return Ok(Some(format!(
                            "published final count {count}, recomputed {}",
                            t.count()
                        )));
                    }
                    Ok(None)
                })
            }
            Payload::ReferendumCreated { manifest, .. } => {
                if let Some(src) = &manifest.source_petition {
                    self.fail(
                        StepId::Manifests,
                        Location::Referendum {
                            referendum: manifest.referendum_id.clone(),
                            leaf: Some(index),
                        },
                        format!(
                            "V7.4: names source petition {src}, but the referendum a petition \
                             obliges is created by the board itself (referendum-triggered, 07 \
                             §7.4), never by the election authority"
                        ),
                    );
                }
                if let Some(pid) = self.reserved_ids.get(&manifest.referendum_id) {
                    self.fail(
                        StepId::Manifests,
                        Location::Referendum {
                            referendum: manifest.referendum_id.clone(),
                            leaf: Some(index),
                        },
                        format!(
                            "V7.1: the id is reserved for the referendum petition {pid} obliges"
                        ),
                    );
                }
                self.on_manifest(index, manifest)
            }
            Payload::ReferendumTriggered { manifest } => self.on_triggered(index, ts, manifest),
            Payload::TrusteePanelSet { panel, .. } => {
                let sw = Stopwatch::start();
                self.count(StepId::Manifests, 1);
                match panel.validate() {
                    Ok(()) => self.panel = Some(panel),
                    Err(e) => self.fail(
                        StepId::Manifests,
                        Location::Leaf { index },
                        format!("V7.6: trustee panel: {e}"),
                    ),
                }
                self.time(StepId::Manifests, sw);
            }
            Payload::SharesOverdue {
                referendum_id,
                trustees,
            } => self.on_overdue(index, ts, &referendum_id, trustees),
            Payload::Ceremony { message } => self.on_ceremony(index, ts, message),
            Payload::CeremonyCompleted {
                referendum_id,
                election_key,
                public_shares,
            } => self.on_completed(index, &referendum_id, election_key, public_shares),
            Payload::ReferendumOpened { referendum_id } => {
                self.transition(
                    index,
                    &referendum_id,
                    &[Phase::Ready],
                    Phase::Open,
                    "opened",
                );
                self.check_schedule(index, ts, &referendum_id, false);
            }
            Payload::BallotCast { ballot } => self.on_ballot(index, ts, ballot, ballot_hash),
            Payload::BallotAudited { audited } => self.on_audit(index, audited),
            Payload::ReferendumClosed { referendum_id } => {
                self.transition(
                    index,
                    &referendum_id,
                    &[Phase::Open],
                    Phase::Closed,
                    "closed",
                );
                self.check_schedule(index, ts, &referendum_id, true);
            }
            Payload::TallyComputed { tally } => {
                let id = tally.referendum_id.clone();
                self.on_tally(index, tally);
                self.stamp(&id, |st| {
                    if st.tally.is_some() && st.times.tallied.is_none() {
                        st.times.tallied = Some(ts);
                    }
                });
            }
            Payload::DecryptionShare { share } => {
                let id = share.referendum_id.clone();
                let trustee = share.share.trustee.get();
                self.on_share(index, share);
                self.stamp(&id, |st| {
                    let counts = if st.focus {
                        st.valid_shares.contains_key(&trustee)
                    } else {
                        matches!(st.phase, Phase::Tallied | Phase::Published)
                            && st.manifest.trustees.iter().any(|t| t.index == trustee)
                    };
                    if counts {
                        st.times.shares.entry(trustee).or_insert(ts);
                    }
                });
            }
            Payload::ResultPublished { result } => {
                let id = result.referendum_id.clone();
                self.on_result(index, result);
                self.stamp(&id, |st| {
                    if st.phase == Phase::Published && st.times.result.is_none() {
                        st.times.result = Some(ts);
                    }
                });
            }
            Payload::TrusteeDisqualified {
                referendum_id,
                trustee,
                complaint,
                reason,
            } => self.on_disqualified(index, ts, &referendum_id, trustee, complaint, reason),
        }
    }

    // ---------------------------------------------------------------------------------
    // Genesis, roles and authority signatures (V4)
    // ---------------------------------------------------------------------------------

    /// V4 for the entry at `index` (`None`: it does not parse, V2 says so). Leaf 0 must be
    /// a valid genesis; every later entry must not be one; every authority act must be
    /// signed by its role's current key and must not repeat. An act that fails here is
    /// still replayed by the other steps as if it were valid (one fault, one failure),
    /// but it changes nothing in V4's state: a rotation that fails does not move the
    /// role's key (and a `witness-policy-set` that fails is not adopted by V3). Returns
    /// whether the entry is an authority act V4 accepted.
    fn check_authority(&mut self, index: u64, payload: Option<&Payload>) -> bool {
        let sw = Stopwatch::start();
        let mut accepted = false;
        if index == 0 {
            self.check_genesis(payload);
        } else if let Some(p) = payload {
            if matches!(p, Payload::Genesis { .. }) {
                self.count(StepId::Roles, 1);
                self.fail(
                    StepId::Roles,
                    Location::Leaf { index },
                    "a second genesis entry: a genesis may only be leaf 0 of its log (a new \
                     genesis starts a new log that names this one as its predecessor)",
                );
            } else if let (Some(role), Some(act)) = (p.act_role(), p.act()) {
                accepted = self.check_act(index, p, role, act.issued_at_ms);
            }
        }
        self.time(StepId::Roles, sw);
        accepted
    }

    fn check_genesis(&mut self, payload: Option<&Payload>) {
        self.count(StepId::Roles, 1);
        let at = Location::Leaf { index: 0 };
        let genesis = match payload {
            Some(Payload::Genesis { genesis }) => genesis,
            Some(other) => {
                self.genesis = GenesisState::Invalid;
                self.fail(
                    StepId::Roles,
                    at,
                    format!(
                        "leaf 0 is a `{}` entry, not the genesis: a log starts with a genesis \
                         naming the role keys and signed by all four roles; without it no \
                         authority act can be verified",
                        other.kind()
                    ),
                );
                return;
            }
            None => {
                self.genesis = GenesisState::Invalid;
                self.fail(
                    StepId::Roles,
                    at,
                    "leaf 0 is not a valid board entry, so the log has no genesis: no \
                     authority act can be verified",
                );
                return;
            }
        };
        let mut faults = Vec::new();
        let operator = genesis.keys.operator;
        if operator != self.board {
            faults.push(format!(
                "the genesis names operator key {}, the record's board key is {}",
                operator.to_hex(),
                self.board.to_hex()
            ));
        }
        for role in [
            Role::Registrar,
            Role::PetitionsOffice,
            Role::ElectionAuthority,
        ] {
            if let Some(pinned) = self.pinned.roles.get(role) {
                let named = genesis.keys.get(role);
                if pinned != named {
                    faults.push(format!(
                        "{role} key mismatch: pinned {}, genesis {}",
                        pinned.to_hex(),
                        named.to_hex()
                    ));
                }
            }
        }
        match Authorities::from_genesis(genesis) {
            Ok(authorities) => {
                let mut note = format!("log {:?}", genesis.log_name);
                if let Some(p) = &genesis.predecessor {
                    note.push_str(&format!(
                        ", successor of log {} at size {}",
                        p.log_id, p.tree_size
                    ));
                }
                self.note(StepId::Roles, note);
                self.genesis = GenesisState::Valid {
                    authorities: Box::new(authorities),
                    witnesses: Box::new(WitnessPolicies::new(genesis.witnesses.clone())),
                    log_name: genesis.log_name.clone(),
                };
            }
            Err(e) => {
                self.genesis = GenesisState::Invalid;
                let why = match e {
                    ActError::Genesis(why) => why,
                    other => other.to_string(),
                };
                faults.push(format!(
                    "the genesis is not valid ({why}): no authority act can be verified"
                ));
            }
        }
        for f in faults {
            self.fail(StepId::Roles, at.clone(), f);
        }
    }

    fn check_act(&mut self, index: u64, payload: &Payload, role: Role, issued_at_ms: i64) -> bool {
        if !matches!(self.genesis, GenesisState::Valid { .. }) {
            // No valid genesis: V4 failed at leaf 0 and says why; count what is lost.
            self.unverifiable_acts = self.unverifiable_acts.saturating_add(1);
            return false;
        }
        self.count(StepId::Roles, 1);
        let GenesisState::Valid { authorities, .. } = &mut self.genesis else {
            return false;
        };
        let msg_hash = Hash32::sha256(&[&act_message(
            &authorities.log_id(),
            role,
            issued_at_ms,
            payload,
        )]);
        let outcome = match authorities.check(payload) {
            Ok(()) => {
                authorities.apply(payload);
                Ok(())
            }
            Err(e) => Err(match e {
                ActError::BadSignature { role, kind } => format!(
                    "{kind}: the {role} signature does not verify under the {role}'s current \
                     key {}",
                    authorities.current().get(role).to_hex()
                ),
                ActError::Replayed { role } => match self.act_leaves.get(&msg_hash) {
                    Some(first) => format!(
                        "{}: a replay of the {role} act at leaf {first} (the same signed act \
                         may occur once in a log)",
                        payload.kind()
                    ),
                    None => format!(
                        "{}: a replay of an earlier {role} act (the same signed act may occur \
                         once in a log)",
                        payload.kind()
                    ),
                },
                ActError::Rotation(why) => format!("{role} key rotation: {why}"),
                other => format!("{}: {other}", payload.kind()),
            }),
        };
        match outcome {
            Ok(()) => {
                self.act_leaves.entry(msg_hash).or_insert(index);
                true
            }
            Err(message) => {
                self.fail(StepId::Roles, Location::Act { leaf: index, role }, message);
                false
            }
        }
    }

    // ---------------------------------------------------------------------------------
    // Electorates (V5)
    // ---------------------------------------------------------------------------------

    /// V5.1, V5.2, V5.4–V5.7: replay one electorate entry through the shared [`Roll`]
    /// (the server applies the same rules before appending). A refused entry changes
    /// nothing, as on an honest board.
    fn on_electorate(&mut self, index: u64, payload: &Payload) {
        // A replacement enrolment adds a key to a usable electorate. The queued ballots
        // and signatures are checked for membership (`contains`) against the index as it
        // is at flush time, so verify them first: an act that comes before the key's
        // enrolment must not find it there.
        if let Payload::CredentialEnrolled { enrolment } = payload {
            if self.roll.is_frozen(&enrolment.electorate_id) {
                self.flush();
            }
        }
        let sw = Stopwatch::start();
        self.count(StepId::Electorates, 1);
        match self.roll.apply(index, payload) {
            Ok(Effect::None) => {}
            Ok(Effect::Usable(hash) | Effect::IndexChanged(hash)) => {
                if let Some((_, live)) = self.roll.usable(&hash) {
                    let state = ElectorateState {
                        index: live.clone(),
                    };
                    self.electorates.insert(hash, state);
                }
            }
            Err(e) => {
                let (electorate, rule) = match payload {
                    Payload::ElectorateRegistered { electorate, .. } => {
                        (electorate.id.clone(), "V5.1")
                    }
                    Payload::EnrolmentOpened { opening, .. } => {
                        (opening.electorate_id.clone(), "V5.4")
                    }
                    Payload::CredentialEnrolled { enrolment } => {
                        (enrolment.electorate_id.clone(), "V5.5")
                    }
                    Payload::CredentialRevoked { electorate_id, .. } => {
                        (electorate_id.clone(), "V5.6")
                    }
                    Payload::ElectorateFrozen { electorate_id, .. } => {
                        (electorate_id.clone(), "V5.7")
                    }
                    _ => (String::new(), "V5"),
                };
                let rule = if matches!(e, EnrolmentError::Duplicate(_)) {
                    "V5.2"
                } else {
                    rule
                };
                self.fail(
                    StepId::Electorates,
                    Location::Electorate {
                        electorate,
                        leaf: Some(index),
                    },
                    format!("{rule} {}: {e}", payload.kind()),
                );
            }
        }
        self.time(StepId::Electorates, sw);
    }

    /// V5.3: the electorate `hash` if it is usable (registered, or frozen after
    /// enrolment) by now; otherwise a V5 failure at `at`.
    fn use_electorate(&mut self, hash: &Hash32, at: Location) -> Option<Hash32> {
        self.count(StepId::Electorates, 1);
        if self.electorates.contains_key(hash) {
            Some(*hash)
        } else {
            self.fail(
                StepId::Electorates,
                at,
                format!(
                    "V5.3: uses electorate {hash}, which was neither registered nor frozen \
                     earlier in the log (an electorate still enrolling cannot be used)"
                ),
            );
            None
        }
    }

    // ---------------------------------------------------------------------------------
    // Petitions (V6)
    // ---------------------------------------------------------------------------------

    fn on_proposal(&mut self, index: u64, proposal: PetitionProposal) {
        let sw = Stopwatch::start();
        self.count(StepId::Petitions, 1);
        let id = proposal.petition.id.clone();
        let at = Location::Petition {
            petition: id.clone(),
            leaf: Some(index),
        };
        if self.petitions.contains_key(&id) {
            self.fail(
                StepId::Petitions,
                at,
                "a petition with this id exists already",
            );
            self.time(StepId::Petitions, sw);
            return;
        }
        let electorate = self.use_electorate(&proposal.petition.electorate_hash, at.clone());
        let mut faults = Vec::new();
        let mut proposer_region = None;
        if let Some(e) = electorate.and_then(|h| self.electorates.get(&h)) {
            proposer_region = e.index.region_of(&proposal.proposer).map(str::to_owned);
            if let Err(err) = proposal.verify(&e.index) {
                faults.push(format!("proposal: {err}"));
            }
            faults.extend(standing_fault(&e.index, &proposal.proposer, index, "V6.6"));
        }
        if let Some((leaf, policy)) = &self.petition_policy {
            if let Err(err) = policy.check(&proposal.petition) {
                faults.push(format!(
                    "V6.7 the proposal breaks the petitions office's policy set at leaf {leaf}: {err}"
                ));
            }
        }
        for f in faults {
            self.fail(StepId::Petitions, at.clone(), f);
        }
        self.petitions.insert(
            id,
            PetitionState {
                tracker: PetitionTracker::new(&proposal, proposer_region.as_deref()),
                electorate,
                proposed_leaf: index,
                rings: None,
                trigger: None,
            },
        );
        self.time(StepId::Petitions, sw);
    }

    /// V6.7: a policy is well formed; it governs the proposals after it.
    fn on_policy(&mut self, index: u64, policy: PetitionPolicy) {
        let sw = Stopwatch::start();
        self.count(StepId::Petitions, 1);
        if let Err(err) = policy.validate() {
            self.fail(
                StepId::Petitions,
                Location::Leaf { index },
                format!("V6.7 petition policy: {err}"),
            );
        }
        self.petition_policy = Some((index, policy));
        self.time(StepId::Petitions, sw);
    }

    fn on_signature(&mut self, index: u64, ts: i64, signature: PetitionSignature) {
        let sw = Stopwatch::start();
        let id = signature.petition_id.clone();
        let at = Location::Petition {
            petition: id.clone(),
            leaf: Some(index),
        };
        let Some(p) = self.petitions.get_mut(&id) else {
            self.count(StepId::Petitions, 1);
            self.fail(StepId::Petitions, at, "signature for an unknown petition");
            self.time(StepId::Petitions, sw);
            return;
        };
        // V6.6: the signer (or withdrawer) is in standing at this leaf, and is not the
        // replacement of a credential that took part already. The entry is still
        // replayed (one fault, one failure).
        let mut faults = Vec::new();
        let mut region = None;
        if let Some(e) = p.electorate.and_then(|h| self.electorates.get(&h)) {
            region = e.index.region_of(&signature.credential).map(str::to_owned);
            faults.extend(standing_fault(
                &e.index,
                &signature.credential,
                index,
                "V6.6",
            ));
            if let Some(pred) = e
                .index
                .predecessors(&signature.credential)
                .into_iter()
                .find(|k| p.tracker.has_taken_part(k))
            {
                faults.push(format!(
                    "V6.6: this credential replaces the revoked credential {}, which already \
                     took part in this petition: one citizen, one signature",
                    hex::encode(pred)
                ));
            }
        }
        let applied = p.tracker.apply_signature(&signature, region.as_deref(), ts);
        let petition_hash = p.tracker.hash;
        let electorate = p.electorate;
        match applied {
            Ok(crossed) => expect_crossed(&mut self.expected, &id, crossed, index),
            Err(e) => faults.push(e.to_string()),
        }
        for f in faults {
            self.fail(StepId::Petitions, at.clone(), f);
        }
        match electorate {
            Some(electorate) => self.signatures.push(SignatureWork {
                leaf: index,
                petition: id,
                petition_hash,
                electorate,
                signature,
            }),
            None => {
                self.count(StepId::Petitions, 1);
                self.fail(
                    StepId::Petitions,
                    at,
                    "signature cannot be checked: the petition's electorate is unknown",
                );
            }
        }
        self.time(StepId::Petitions, sw);
    }

    /// V6.8 (and V6.3's tracker rules): a ring signature names one of the rings derived
    /// for its petition at its leaf; its tag is counted in log order; the proof is queued
    /// for a batch.
    fn on_ring_signature(&mut self, index: u64, ts: i64, signature: RingPetitionSignature) {
        let sw = Stopwatch::start();
        let id = signature.petition_id.clone();
        let at = Location::Petition {
            petition: id.clone(),
            leaf: Some(index),
        };
        let Some(p) = self.petitions.get_mut(&id) else {
            self.count(StepId::Petitions, 1);
            self.fail(
                StepId::Petitions,
                at,
                "ring signature for an unknown petition",
            );
            self.time(StepId::Petitions, sw);
            return;
        };
        let mut faults = Vec::new();
        // The rings at this leaf: the roll holds every registrar act before it.
        let usable = p.electorate.and_then(|h| self.roll.usable(&h));
        let mut queued = None;
        match usable {
            None => faults.push(
                "V6.8: ring signature cannot be checked: the petition's electorate is unknown"
                    .to_owned(),
            ),
            Some((electorate, live)) => {
                let epoch = live.epoch();
                let rings = match &p.rings {
                    Some((e, r)) if *e == epoch => Ok(Arc::clone(r)),
                    _ => RingSet::for_petition(
                        electorate,
                        live,
                        index,
                        p.proposed_leaf,
                        p.tracker.petition.region_min_group,
                    )
                    .map(Arc::new),
                };
                match rings {
                    Err(e) => faults.push(format!("V6.8: the petition's rings: {e}")),
                    Ok(rings) => {
                        p.rings = Some((epoch, Arc::clone(&rings)));
                        match signature.check_scope(&p.tracker.hash, &rings) {
                            Err(e) => faults.push(format!("V6.8: {e}")),
                            Ok(pos) => queued = rings.rings().get(pos).cloned(),
                        }
                    }
                }
            }
        }
        let region = queued.as_ref().and_then(|r| r.region.clone());
        let region = match signature.action {
            SignatureAction::Sign => region,
            SignatureAction::Withdraw => None,
        };
        match p
            .tracker
            .apply_ring_signature(&signature, region.as_deref(), ts)
        {
            Ok(crossed) => expect_crossed(&mut self.expected, &id, crossed, index),
            Err(e) => faults.push(e.to_string()),
        }
        let tag_generator = vox_protocol::rings::petition_tag_generator(&p.tracker.hash);
        match (queued, tag_generator, signature.signature.decode()) {
            (Some(derived), Ok(tag_generator), Ok(proof)) => {
                self.ring_signatures.push(RingSignatureWork {
                    leaf: index,
                    petition: id,
                    ring: derived.ring,
                    tag_generator,
                    signature,
                    proof,
                });
                if self.ring_signatures.len() >= RING_FLUSH {
                    self.flush();
                }
            }
            (Some(_), Err(e), _) => faults.push(format!("V6.8: tag generator: {e}")),
            (Some(_), _, Err(e)) => faults.push(format!("V6.8: ring signature: {e} (13 §13.8 R1)")),
            (None, _, _) => self.count(StepId::Petitions, 1),
        }
        for f in faults {
            self.fail(StepId::Petitions, at.clone(), f);
        }
        self.time(StepId::Petitions, sw);
    }

    fn on_moderation(&mut self, index: u64, ts: i64, id: String, m: Moderation) {
        let sw = Stopwatch::start();
        self.count(StepId::Petitions, 1);
        let at = Location::Petition {
            petition: id.clone(),
            leaf: Some(index),
        };
        match self.petitions.get_mut(&id) {
            None => self.fail(StepId::Petitions, at, "moderation of an unknown petition"),
            Some(p) => match p.tracker.apply_moderation(&m, ts) {
                Ok(crossed) => {
                    if let Moderation::Publish { referendum, .. } = &m {
                        let rid = &referendum.referendum_id;
                        if self.panel.is_none() {
                            self.fail(
                                StepId::Petitions,
                                at.clone(),
                                "published while no standing trustee panel is in force: the \
                                 referendum its threshold obliges could not be run (07 §7.4)",
                            );
                        }
                        if self.referendum_ids.contains_key(rid) {
                            self.fail(
                                StepId::Petitions,
                                at.clone(),
                                format!("its referendum terms name {rid}, an existing referendum"),
                            );
                        } else if let Some(other) = self.reserved_ids.get(rid) {
                            self.fail(
                                StepId::Petitions,
                                at.clone(),
                                format!(
                                    "its referendum terms name {rid}, reserved by petition {other}"
                                ),
                            );
                        } else {
                            self.reserved_ids.insert(rid.clone(), id.clone());
                        }
                    }
                    expect_crossed(&mut self.expected, &id, crossed, index);
                }
                Err(e) => self.fail(StepId::Petitions, at, e.to_string()),
            },
        }
        self.time(StepId::Petitions, sw);
    }

    /// Apply a tracker rule; `Ok(Some(msg))` is a fault found by the closure.
    fn petition_step(
        &mut self,
        index: u64,
        id: &str,
        f: impl FnOnce(&mut PetitionTracker) -> vox_protocol::error::Result<Option<String>>,
    ) {
        let sw = Stopwatch::start();
        self.count(StepId::Petitions, 1);
        let at = Location::Petition {
            petition: id.to_owned(),
            leaf: Some(index),
        };
        let outcome = match self.petitions.get_mut(id) {
            None => Err("entry for an unknown petition".to_owned()),
            Some(p) => match f(&mut p.tracker) {
                Ok(None) => Ok(()),
                Ok(Some(msg)) => Err(msg),
                Err(e) => Err(e.to_string()),
            },
        };
        if let Err(msg) = outcome {
            self.fail(StepId::Petitions, at, msg);
        }
        self.time(StepId::Petitions, sw);
    }

    /// If thresholds are due, `payload` must be the next one. Returns whether it was.
    fn check_expected_thresholds(&mut self, index: u64, payload: &Payload) -> bool {
        if self.expected.is_empty() {
            return false;
        }
        let sw = Stopwatch::start();
        if let Payload::PetitionThreshold {
            petition_id,
            kind,
            count,
        } = payload
        {
            if let Some(front) = self.expected.front() {
                if front.petition == *petition_id && front.kind == *kind && front.count == *count {
                    self.expected.pop_front();
                    self.count(StepId::Petitions, 1);
                    self.time(StepId::Petitions, sw);
                    return true;
                }
            }
        }
        let missing: Vec<Expected> = self.expected.drain(..).collect();
        for e in missing {
            self.fail(
                StepId::Petitions,
                Location::Petition {
                    petition: e.petition,
                    leaf: Some(index),
                },
                format!(
                    "leaf {} took the petition to {} signatures, crossing its {} threshold, but the {} threshold entry (count {}) is not at leaf {index}",
                    e.cause,
                    e.count,
                    threshold_name(e.kind),
                    threshold_name(e.kind),
                    e.count
                ),
            );
        }
        self.time(StepId::Petitions, sw);
        false
    }

    // ---------------------------------------------------------------------------------
    // Referendums: manifests (V7), ceremony (V8), lifecycle (V9)
    // ---------------------------------------------------------------------------------

    fn on_manifest(&mut self, index: u64, manifest: Manifest) {
        let sw = Stopwatch::start();
        self.count(StepId::Manifests, 1);
        let id = manifest.referendum_id.clone();
        let at = Location::Referendum {
            referendum: id.clone(),
            leaf: Some(index),
        };
        if self.referendum_ids.contains_key(&id) {
            self.fail(
                StepId::Manifests,
                at,
                "a referendum with this id was created earlier",
            );
            self.time(StepId::Manifests, sw);
            return;
        }
        let mut ok = true;
        if let Err(e) = manifest.validate() {
            ok = false;
            self.fail(StepId::Manifests, at.clone(), e.to_string());
        }
        let electorate = self.use_electorate(&manifest.electorate_hash, at.clone());
        ok &= electorate.is_some();
        // V7.5: every slot's total stays within the discrete-log limit (04 §4.2 rule 6).
        if let Some(e) = electorate.and_then(|h| self.electorates.get(&h)) {
            if let Err(e) = manifest.check_slot_bound(e.index.listed() as u64) {
                ok = false;
                self.fail(StepId::Manifests, at.clone(), format!("V7.5: {e}"));
            }
        }
        let manifest_hash = manifest.canonical_hash();
        let ceremony = if ok {
            match CeremonyTracker::new(&manifest, manifest_hash) {
                Ok(t) => Some(t),
                Err(e) => {
                    ok = false;
                    self.fail(StepId::Ceremony, at, e.to_string());
                    None
                }
            }
        } else {
            None
        };
        let width = manifest.tally_width();
        let mut hasher = Sha256::new();
        hasher.update(b"vox/v2/counted-ballots");
        hasher.update([0u8]);
        let focus = self.focus.contains(&id);
        self.referendum_ids
            .insert(id.clone(), self.referendums.len());
        self.referendums.push(ReferendumState {
            id,
            manifest,
            manifest_hash,
            electorate,
            manifest_ok: ok,
            focus,
            ceremony,
            joint: None,
            phase: Phase::Ceremony,
            credentials: HashMap::new(),
            created_leaf: index,
            rings: None,
            tag_generator: None,
            ballots_cast: 0,
            audited: 0,
            counted: 0,
            counted_hasher: hasher,
            sums: zero_sums(width),
            sums_fit: true,
            unverifiable_noted: false,
            tally: None,
            share_trustees: BTreeSet::new(),
            valid_shares: BTreeMap::new(),
            result: None,
            times: ScheduleTimes::default(),
        });
        self.time(StepId::Manifests, sw);
    }

    /// The referendum `id`, or a V9 failure.
    fn referendum(&mut self, index: u64, id: &str, what: &str) -> Option<usize> {
        match self.referendum_ids.get(id) {
            Some(r) => Some(*r),
            None => {
                self.count(StepId::Lifecycle, 1);
                self.fail(
                    StepId::Lifecycle,
                    Location::Referendum {
                        referendum: id.to_owned(),
                        leaf: Some(index),
                    },
                    format!("{what} for a referendum that was never created"),
                );
                None
            }
        }
    }

    /// Record a scheduled step's time on the referendum `id`, if it exists.
    fn stamp(&mut self, id: &str, f: impl FnOnce(&mut ReferendumState)) {
        if let Some(st) = self
            .referendum_ids
            .get(id)
            .and_then(|r| self.referendums.get_mut(*r))
        {
            f(st);
        }
    }

    /// V9.4: nothing happens before its time — a `referendum-opened` (`close` false) at
    /// or after the manifest's opens_at, a `referendum-closed` at or after its closes_at
    /// (by the entry's board timestamp `ts`). Records the time for V15.
    fn check_schedule(&mut self, index: u64, ts: i64, id: &str, close: bool) {
        let sw = Stopwatch::start();
        let Some(st) = self
            .referendum_ids
            .get(id)
            .and_then(|r| self.referendums.get_mut(*r))
        else {
            // V9.1 already failed (an entry for a referendum never created).
            return;
        };
        let (what, due) = if close {
            ("closed", st.manifest.closes_at)
        } else {
            ("opened", st.manifest.opens_at)
        };
        let slot = if close {
            &mut st.times.closed
        } else {
            &mut st.times.opened
        };
        if slot.is_none() {
            *slot = Some(ts);
        }
        let at = st.location(index);
        if ts < due {
            self.fail(
                StepId::Lifecycle,
                at,
                format!(
                    "V9.4: {what} at {ts} ms, {} ms before the manifest's {} {due}: nothing \
                     ends (or starts) early",
                    due.saturating_sub(ts),
                    if close { "closes_at" } else { "opens_at" }
                ),
            );
        }
        self.time(StepId::Lifecycle, sw);
    }

    /// A `referendum-triggered` entry (07 §7.4): the petition it names reached its
    /// referendum threshold, had not triggered a referendum, and the manifest is exactly
    /// the one its terms and the standing panel determine at this entry's time. Then the
    /// manifest is checked like any other (V7).
    fn on_triggered(&mut self, index: u64, ts: i64, manifest: Manifest) {
        let sw = Stopwatch::start();
        let at = Location::Referendum {
            referendum: manifest.referendum_id.clone(),
            leaf: Some(index),
        };
        let outcome = match &manifest.source_petition {
            None => Err("V7.4: a triggered referendum must name its source petition".to_owned()),
            Some(src) => match self.petitions.get_mut(src) {
                None => Err(format!("V7.4: source petition {src} does not exist")),
                Some(p) => {
                    match p
                        .tracker
                        .apply_referendum_triggered(&manifest, self.panel.as_ref(), ts)
                    {
                        Ok(()) => {
                            if let Some((_, met)) = &mut p.trigger {
                                *met = Some((index, ts));
                            }
                            Ok(())
                        }
                        Err(e) => Err(format!("V7.4: source petition {src}: {e}")),
                    }
                }
            },
        };
        if let Err(msg) = outcome {
            self.fail(StepId::Manifests, at, msg);
        }
        self.time(StepId::Manifests, sw);
        self.on_manifest(index, manifest);
    }

    /// A `shares-overdue` entry (V12.5): the referendum was tallied, its decryption
    /// deadline (tally time + decryption_due_ms) has passed at this entry's time, it names
    /// exactly the manifest's trustees with no share by then, in increasing order, and it
    /// is the first such entry of the referendum.
    fn on_overdue(&mut self, index: u64, ts: i64, id: &str, trustees: Vec<u32>) {
        let sw = Stopwatch::start();
        let Some(r) = self.referendum(index, id, "shares-overdue") else {
            return;
        };
        self.count(StepId::Shares, 1);
        let Some(st) = self.referendums.get_mut(r) else {
            return;
        };
        let at = st.location(index);
        let fault = match st.times.tallied {
            None => Some(format!(
                "shares-overdue while the referendum is {}",
                st.phase.name()
            )),
            Some(_) if st.times.overdue.is_some() => {
                Some("a second shares-overdue entry for this referendum".to_owned())
            }
            Some(tallied) => {
                let deadline = tallied.saturating_add(st.manifest.decryption_due_ms);
                let missing = vox_protocol::ceremony::trustees_owing_a_share(
                    &st.manifest,
                    st.ceremony.as_ref(),
                    |i| st.times.shares.contains_key(&i),
                );
                if ts <= deadline {
                    Some(format!(
                        "shares-overdue at {ts} ms, before the decryption deadline {deadline}"
                    ))
                } else if missing.is_empty() || missing != trustees {
                    Some(format!(
                        "names trustees {trustees:?}; the trustees without a share are {missing:?}"
                    ))
                } else {
                    None
                }
            }
        };
        if st.times.overdue.is_none() {
            st.times.overdue = Some((ts, trustees));
        }
        if let Some(f) = fault {
            self.fail(StepId::Shares, at, format!("V12.5: {f}"));
        }
        self.time(StepId::Shares, sw);
    }

    fn transition(&mut self, index: u64, id: &str, from: &[Phase], to: Phase, what: &str) {
        let sw = Stopwatch::start();
        if let Some(r) = self.referendum(index, id, what) {
            self.count(StepId::Lifecycle, 1);
            if let Some(st) = self.referendums.get_mut(r) {
                let phase = st.phase;
                let at = st.location(index);
                if from.contains(&phase) {
                    st.phase = to;
                } else {
                    self.fail(
                        StepId::Lifecycle,
                        at,
                        format!("{what} while the referendum is {}", phase.name()),
                    );
                }
            }
        }
        self.time(StepId::Lifecycle, sw);
    }

    /// V8: after a bad complaint answer, the very next entry must disqualify its dealer
    /// (reason bad-answer), as the server appends both in one write. If it does not,
    /// the fault is at this leaf, and the dealer is disqualified anyway so that the
    /// rest of the ceremony is still checked.
    fn check_expected_disqualification(&mut self, index: u64, entry: &BoardEntry) {
        let Some((id, c, cause)) = self.expected_disqualification.take() else {
            return;
        };
        if let Payload::TrusteeDisqualified {
            referendum_id,
            complaint,
            reason: DisqualificationReason::BadAnswer,
            ..
        } = &entry.payload
        {
            if *referendum_id == id && *complaint == c {
                return;
            }
        }
        let Some(r) = self.referendum_ids.get(&id).copied() else {
            return;
        };
        let Some(st) = self.referendums.get_mut(r) else {
            return;
        };
        let at = st.trustee(c.dealer, index);
        if let Some(t) = st.ceremony.as_mut() {
            if let Ok(Some(joint)) = t.disqualify(
                c.dealer,
                c,
                DisqualificationReason::BadAnswer,
                entry.timestamp_ms,
            ) {
                st.joint = Some(joint);
            }
        }
        self.fail(
            StepId::Ceremony,
            at,
            format!(
                "leaf {cause} is a bad answer by trustee {} to the complaint of trustee {}, but \
                 leaf {index} is a {} entry, not the trustee-disqualified (bad-answer) that \
                 must follow it",
                c.dealer,
                c.recipient,
                entry.payload.kind()
            ),
        );
    }

    /// V8: a `trustee-disqualified` entry, replayed with the same tracker as the server.
    fn on_disqualified(
        &mut self,
        index: u64,
        ts: i64,
        id: &str,
        trustee: u32,
        complaint: ComplaintRef,
        reason: DisqualificationReason,
    ) {
        self.ceremony_entry(
            index,
            id,
            trustee,
            "trustee disqualified",
            |_, _, tracker| {
                tracker
                    .disqualify(trustee, complaint, reason, ts)
                    .map_err(|e| e.to_string())
            },
        );
    }

    fn on_ceremony(&mut self, index: u64, ts: i64, message: CeremonyMessage) {
        let id = message.referendum_id.clone();
        let pending = self.ceremony_entry(
            index,
            &id,
            message.trustee,
            "ceremony message",
            |manifest, mh, tracker| {
                message
                    .verify_signature(manifest, mh)
                    .map_err(|e| e.to_string())?;
                tracker
                    .apply(manifest, &message, ts)
                    .map_err(|e| e.to_string())
            },
        );
        if let Some(c) = pending {
            self.expected_disqualification = Some((id, c, index));
        }
    }

    /// The frame every ceremony entry shares (a trustee's message, or the board's
    /// disqualification of one, V8): the referendum must be in its ceremony; `apply`
    /// runs the entry through the tracker; a completion sets the joint keys, a failure
    /// ends the referendum; faults are the named trustee's. Returns the disqualification
    /// the tracker now waits for (after a bad answer), if the entry left one pending.
    fn ceremony_entry(
        &mut self,
        index: u64,
        id: &str,
        trustee: u32,
        what: &str,
        apply: impl FnOnce(
            &Manifest,
            &Hash32,
            &mut CeremonyTracker,
        ) -> Result<Option<JointPublicKeys>, String>,
    ) -> Option<ComplaintRef> {
        let sw = Stopwatch::start();
        let r = self.referendum(index, id, what)?;
        self.count(StepId::Ceremony, 1);
        let st = self.referendums.get_mut(r)?;
        let at = st.trustee(trustee, index);
        let mut faults: Vec<(StepId, String)> = Vec::new();
        let mut pending = None;
        if st.phase != Phase::Ceremony {
            faults.push((
                StepId::Lifecycle,
                format!("{what} while the referendum is {}", st.phase.name()),
            ));
        } else if let Some(tracker) = st.ceremony.as_mut() {
            match apply(&st.manifest, &st.manifest_hash, tracker) {
                Ok(Some(joint)) => st.joint = Some(joint),
                Ok(None) => pending = tracker.pending_disqualification(),
                Err(e) => faults.push((StepId::Ceremony, e)),
            }
            if let CeremonyPhase::Failed { reason } = &tracker.phase {
                st.phase = Phase::Failed;
                let note = format!("referendum {}: key ceremony failed: {reason}", st.id);
                self.note(StepId::Ceremony, note);
            }
        }
        for (step, f) in faults {
            self.fail(step, at.clone(), f);
        }
        self.time(StepId::Ceremony, sw);
        pending
    }

    fn on_completed(
        &mut self,
        index: u64,
        id: &str,
        election_key: vox_crypto::elgamal::ElectionPublicKey,
        public_shares: Vec<vox_crypto::Point>,
    ) {
        let sw = Stopwatch::start();
        let Some(r) = self.referendum(index, id, "ceremony completion") else {
            return;
        };
        self.count(StepId::Ceremony, 1);
        self.count(StepId::Lifecycle, 1);
        let Some(st) = self.referendums.get_mut(r) else {
            return;
        };
        let at = st.location(index);
        let mut faults = Vec::new();
        if st.phase != Phase::Ceremony {
            faults.push((
                StepId::Lifecycle,
                format!(
                    "ceremony completed while the referendum is {}",
                    st.phase.name()
                ),
            ));
        } else if !st.manifest_ok {
            st.phase = Phase::Ready;
        } else {
            match &st.joint {
                None => faults.push((
                    StepId::Ceremony,
                    "CeremonyCompleted before every trustee confirmed".to_owned(),
                )),
                Some(joint) => match completed_payload(joint) {
                    Err(e) => faults.push((StepId::Ceremony, e.to_string())),
                    Ok((key, shares)) => {
                        if key != election_key {
                            faults.push((
                                StepId::Ceremony,
                                "published election key differs from the key the reveals give"
                                    .to_owned(),
                            ));
                        }
                        if shares != public_shares {
                            faults.push((
                                StepId::Ceremony,
                                "published public shares differ from those the reveals give"
                                    .to_owned(),
                            ));
                        }
                    }
                },
            }
            st.phase = Phase::Ready;
        }
        for (step, f) in faults {
            self.fail(step, at.clone(), f);
        }
        self.time(StepId::Ceremony, sw);
    }

    // ---------------------------------------------------------------------------------
    // Ballots (V10)
    // ---------------------------------------------------------------------------------

    fn on_ballot(&mut self, index: u64, ts: i64, ballot: Ballot, hash: Option<Hash32>) {
        let sw = Stopwatch::start();
        let hash = hash.unwrap_or_else(|| ballot.hash());
        let at = Location::Ballot {
            referendum: ballot.referendum_id.clone(),
            leaf: index,
            tracking_code: human_code(&hash),
        };
        // The voter key: the credential, or an anonymous ballot's linking tag (a malformed
        // ballot, which fails B1 in its chunk, is never counted).
        let key = ballot.voter_key();
        // Counted = the voter's last ballot, as pass 1 found it (if there was one).
        let counted = match (self.counted_index.as_ref(), key) {
            (None, _) | (Some(_), None) => None,
            (Some(c), Some(k)) => Some(c.last(&ballot.referendum_id, &k)),
        };
        let key = key.unwrap_or_default();
        let counted = match counted {
            None => false,
            Some(Some(last)) if last == index => {
                *self
                    .last_seen
                    .entry(ballot.referendum_id.clone())
                    .or_default() += 1;
                true
            }
            Some(Some(last)) if last > index => false,
            Some(_) => {
                self.fail(
                    StepId::Log,
                    at.clone(),
                    "pass 1 did not see this ballot: the record changed between the passes",
                );
                false
            }
        };
        let Some(r) = self.referendum(index, &ballot.referendum_id, "ballot") else {
            return;
        };
        self.count(StepId::Lifecycle, 1);
        let mut faults: Vec<(StepId, Location, String)> = Vec::new();
        for f in self.ballot_standing(r, index, &ballot) {
            faults.push((StepId::Ballots, at.clone(), f));
        }
        let (ring_faults, ring) = self.ballot_ring(r, index, &ballot);
        for f in ring_faults {
            faults.push((StepId::Ballots, at.clone(), f));
        }
        let Some(st) = self.referendums.get_mut(r) else {
            return;
        };
        st.ballots_cast += 1;
        if st.phase != Phase::Open {
            faults.push((
                StepId::Lifecycle,
                at.clone(),
                format!("ballot cast while the referendum is {}", st.phase.name()),
            ));
        }
        if st.manifest.voting_period(ts) != VotingPeriod::Open {
            faults.push((
                StepId::Lifecycle,
                at.clone(),
                format!(
                    "ballot recorded at {ts}, outside the voting period [{}, {})",
                    st.manifest.opens_at, st.manifest.closes_at
                ),
            ));
        }
        let mut unverifiable = 0;
        if st.focus {
            let cred = st.credentials.entry(key).or_default();
            if cred.cast.contains(&hash) {
                faults.push((
                    StepId::Ballots,
                    at.clone(),
                    "this ballot was cast before: a ballot may appear once (replay)".into(),
                ));
            }
            let latest = cred.cast.last().copied();
            if ballot.previous != latest {
                let name = |h: Option<Hash32>| match h {
                    Some(h) => format!("ballot {}", human_code(&h)),
                    None => "no ballot".to_owned(),
                };
                faults.push((
                    StepId::Ballots,
                    at.clone(),
                    format!(
                        "V10.6: this ballot extends {} but its credential's latest ballot \
                         before it is {}: an older ballot posted after a newer one, or a \
                         ballot the voter did not order",
                        name(ballot.previous),
                        name(latest)
                    ),
                ));
            }
            if cred.audited.contains(&hash) {
                faults.push((
                    StepId::Ballots,
                    at.clone(),
                    "this ballot was opened for audit and must never be cast".into(),
                ));
            }
            cred.cast.push(hash);
            if counted {
                st.counted += 1;
                st.counted_hasher.update(hash.0);
            }
            let verifiable = st.manifest_ok && st.joint.is_some() && st.electorate.is_some();
            if verifiable {
                self.ballots.push(BallotWork {
                    leaf: index,
                    referendum: r,
                    ballot: Box::new(ballot),
                    hash,
                    counted,
                    ring,
                });
            } else {
                unverifiable += 1;
                if !st.unverifiable_noted {
                    st.unverifiable_noted = true;
                    faults.push((
                        StepId::Ballots,
                        at.clone(),
                        "ballots of this referendum cannot be verified: no valid manifest, electorate or election key".into(),
                    ));
                }
                if counted {
                    st.sums_fit = false;
                }
            }
        }
        self.count(StepId::Ballots, unverifiable);
        for (step, loc, f) in faults {
            self.fail(step, loc, f);
        }
        if self.ballots.len() >= self.chunk.saturating_mul(16) {
            self.flush();
        }
        self.time(StepId::Ballots, sw);
    }

    /// V10.5 for the ballot at `leaf` of referendum `r` (verified referendums only): its
    /// credential is in standing, and no credential it replaces cast a ballot earlier in
    /// this referendum (the per-credential bookkeeping holds every voter seen so far).
    fn ballot_standing(&self, r: usize, leaf: u64, ballot: &Ballot) -> Vec<String> {
        let mut faults = Vec::new();
        let Some(st) = self.referendums.get(r).filter(|st| st.focus) else {
            return faults;
        };
        let Some(e) = st.electorate.and_then(|h| self.electorates.get(&h)) else {
            return faults;
        };
        // An anonymous ballot's standing is its ring's (V10.7, `ballot_ring`).
        let Some(credential) = ballot.credential() else {
            return faults;
        };
        faults.extend(standing_fault(&e.index, credential, leaf, "V10.5"));
        for pred in e.index.predecessors(credential) {
            if st
                .credentials
                .get(&pred)
                .is_some_and(|c| !c.cast.is_empty())
            {
                faults.push(format!(
                    "V10.5: this credential replaces the revoked credential {}, which cast a \
                     ballot earlier in this referendum: one citizen, one vote",
                    hex::encode(pred)
                ));
            }
        }
        faults
    }

    /// V10.7 for an anonymous ballot at `leaf` of referendum `r` (verified referendums
    /// only): it names one of the rings derived for the referendum at its leaf (04
    /// §4.10). Returns the faults and, if it does, the ring and the referendum's tag
    /// generator, for the ring-signature check in the ballot's chunk (V10.8).
    fn ballot_ring(
        &mut self,
        r: usize,
        leaf: u64,
        ballot: &Ballot,
    ) -> (Vec<String>, Option<(Ring, TagGenerator)>) {
        let mut faults = Vec::new();
        if ballot.ring.is_none() {
            return (faults, None);
        }
        let Some(st) = self.referendums.get_mut(r).filter(|st| st.focus) else {
            return (faults, None);
        };
        let Some((electorate, live)) = st.electorate.and_then(|h| self.roll.usable(&h)) else {
            return (faults, None);
        };
        let epoch = live.epoch();
        let rings = match &st.rings {
            Some((e, rings)) if *e == epoch => Ok(Arc::clone(rings)),
            _ => RingSet::for_referendum(electorate, live, leaf, st.created_leaf).map(Arc::new),
        };
        let rings = match rings {
            Ok(rings) => rings,
            Err(e) => {
                faults.push(format!("V10.7: the referendum's rings: {e}"));
                return (faults, None);
            }
        };
        st.rings = Some((epoch, Arc::clone(&rings)));
        let generator = match st.tag_generator {
            Some(g) => g,
            None => match vox_protocol::rings::referendum_tag_generator(&st.manifest_hash) {
                Ok(g) => {
                    st.tag_generator = Some(g);
                    g
                }
                Err(e) => {
                    faults.push(format!("V10.7: tag generator: {e}"));
                    return (faults, None);
                }
            },
        };
        match ballot.check_ring(&rings) {
            Ok(derived) => (faults, Some((derived.ring.clone(), generator))),
            Err(e) => {
                faults.push(format!("V10.7: {e}"));
                (faults, None)
            }
        }
    }

    fn on_audit(&mut self, index: u64, audited: AuditedBallot) {
        let sw = Stopwatch::start();
        let Some(r) = self.referendum(index, &audited.ballot.referendum_id, "audited ballot")
        else {
            return;
        };
        self.count(StepId::Lifecycle, 1);
        let hash = audited.ballot.hash();
        let mut faults = Vec::new();
        // An anonymous audited ballot: its ring is derived (V10.7) and its ring
        // signature holds (V10.8), checked alone (audits are few).
        if audited.ballot.ring.is_some() {
            let (ring_faults, ring) = self.ballot_ring(r, index, &audited.ballot);
            faults.extend(ring_faults.into_iter().map(|f| (StepId::Ballots, f)));
            if let Some((ring, generator)) = ring {
                let checked = audited
                    .ballot
                    .ring_statement_on(&ring, &generator)
                    .and_then(|st| st.verify());
                if let Err(e) = checked {
                    faults.push((StepId::Ballots, format!("V10.8: {e}")));
                }
            }
        }
        let Some(st) = self.referendums.get_mut(r) else {
            return;
        };
        st.audited += 1;
        let at = Location::Ballot {
            referendum: st.id.clone(),
            leaf: index,
            tracking_code: human_code(&hash),
        };
        match (&st.joint, st.phase) {
            (_, Phase::Ceremony | Phase::Failed) | (None, _) => faults.push((
                StepId::Lifecycle,
                format!(
                    "ballot audit while the referendum is {} (no election key)",
                    st.phase.name()
                ),
            )),
            (Some(joint), _) if st.focus => {
                let ctx = BallotContext::new(&st.manifest, *joint.election_key());
                let electorate = st.electorate.and_then(|h| self.electorates.get(&h));
                if let Some(e) = electorate {
                    if let Err(err) = audited.ballot.check_structure(&ctx, &e.index) {
                        faults.push((StepId::Ballots, format!("audited ballot: {err}")));
                    }
                }
                if audited.ballot.ring.is_none() {
                    if let Err(err) = audited.ballot.check_signature(&st.manifest_hash) {
                        faults.push((
                            StepId::Ballots,
                            format!(
                                "V10.4: the audited ballot is not signed by its credential: {err}"
                            ),
                        ));
                    }
                }
                if let Err(err) = audited.verify_opening(&ctx) {
                    faults.push((StepId::Ballots, format!("audit opening: {err}")));
                }
                let cred = st
                    .credentials
                    .entry(audited.ballot.voter_key().unwrap_or_default())
                    .or_default();
                if cred.cast.contains(&hash) {
                    faults.push((
                        StepId::Ballots,
                        "this audited ballot was also cast: an audited ballot is never counted"
                            .into(),
                    ));
                }
                cred.audited.push(hash);
            }
            _ => {}
        }
        if st.focus {
            self.count(StepId::Ballots, 1);
        }
        for (step, f) in faults {
            self.fail(step, at.clone(), f);
        }
        self.time(StepId::Ballots, sw);
    }

    /// Verify every queued ballot and petition signature (in parallel chunks).
    pub fn flush(&mut self) {
        if !self.ballots.is_empty() {
            let sw = Stopwatch::start();
            let items = std::mem::take(&mut self.ballots);
            let mut chunks: Vec<Vec<BallotWork>> = Vec::new();
            for w in items {
                match chunks.last_mut() {
                    Some(c)
                        if c.len() < self.chunk
                            && c.first().is_some_and(|f| f.referendum == w.referendum) =>
                    {
                        c.push(w)
                    }
                    _ => chunks.push(vec![w]),
                }
            }
            let chunks = self.with_seeds(chunks);
            let refs = &self.referendums;
            let elects = &self.electorates;
            // The chunks move into the workers, so that their ballots are freed there
            // too, not one by one on this thread while the workers wait.
            let outcomes = parallel::map(chunks, |(chunk, seed)| {
                let inputs = chunk.first().and_then(|f| {
                    let st = refs.get(f.referendum)?;
                    Some(BallotInputs {
                        manifest: &st.manifest,
                        key: *st.joint.as_ref()?.election_key(),
                        electorate: &elects.get(&st.electorate?)?.index,
                    })
                });
                match inputs {
                    Some(i) => work::verify_ballots(&i, &chunk, seed.as_ref()),
                    None => work::Outcome::default(),
                }
            });
            for o in outcomes {
                self.apply_outcome(StepId::Ballots, o);
            }
            self.time(StepId::Ballots, sw);
        }
        if !self.signatures.is_empty() {
            let sw = Stopwatch::start();
            let items = std::mem::take(&mut self.signatures);
            let mut chunks: Vec<Vec<SignatureWork>> = Vec::new();
            for w in items {
                match chunks.last_mut() {
                    Some(c)
                        if c.len() < self.chunk
                            && c.first().is_some_and(|f| f.electorate == w.electorate) =>
                    {
                        c.push(w)
                    }
                    _ => chunks.push(vec![w]),
                }
            }
            let chunks = self.with_seeds(chunks);
            let elects = &self.electorates;
            let outcomes = parallel::map_ref(&chunks, |(chunk, seed)| {
                match chunk.first().and_then(|f| elects.get(&f.electorate)) {
                    Some(e) => work::verify_signatures(&e.index, chunk, seed.as_ref()),
                    None => work::Outcome::default(),
                }
            });
            for o in outcomes {
                self.apply_outcome(StepId::Petitions, o);
            }
            self.time(StepId::Petitions, sw);
        }
        if !self.ring_signatures.is_empty() {
            let sw = Stopwatch::start();
            let items = std::mem::take(&mut self.ring_signatures);
            // At least four chunks when there are few signatures (a ring signature costs
            // about 1.3·N scalar products before the multiplication, so small chunks
            // still keep both cores busy), at most RING_CHUNK each.
            let size = items.len().div_ceil(4).clamp(16, RING_CHUNK);
            let mut chunks: Vec<Vec<RingSignatureWork>> = Vec::new();
            for w in items {
                match chunks.last_mut() {
                    Some(c) if c.len() < size => c.push(w),
                    _ => chunks.push(vec![w]),
                }
            }
            let chunks = self.with_seeds(chunks);
            let outcomes = parallel::map_ref(&chunks, |(chunk, seed)| {
                work::verify_ring_signatures(chunk, seed.as_ref())
            });
            for o in outcomes {
                self.apply_outcome(StepId::Petitions, o);
            }
            self.time(StepId::Petitions, sw);
        }
    }

    /// Pair every chunk with its weight seed, drawn in order from the seeded generator
    /// (so the parallel chunks never share a stream); `None` without one (an `OsRng` key).
    fn with_seeds<T>(&mut self, chunks: Vec<T>) -> Vec<(T, Option<[u8; 32]>)> {
        chunks
            .into_iter()
            .map(|c| {
                let seed = self.weights.as_mut().map(|rng| {
                    let mut s = [0u8; 32];
                    rng.fill_bytes(&mut s);
                    s
                });
                (c, seed)
            })
            .collect()
    }

    fn apply_outcome(&mut self, step: StepId, o: work::Outcome) {
        self.count(step, o.checked);
        for (step, loc, msg) in o.failures {
            self.fail(step, loc, msg);
        }
        if let Some((r, sums, fits)) = o.sums {
            if let Some(st) = self.referendums.get_mut(r) {
                add_sums(&mut st.sums, &sums);
                st.sums_fit &= fits;
            }
        }
    }

    // ---------------------------------------------------------------------------------
    // Tally (V11), shares (V12), result (V13)
    // ---------------------------------------------------------------------------------

    fn on_tally(&mut self, index: u64, tally: EncryptedTally) {
        self.flush();
        self.transition(
            index,
            &tally.referendum_id.clone(),
            &[Phase::Closed],
            Phase::Tallied,
            "tally",
        );
        let sw = Stopwatch::start();
        let Some(r) = self.referendum_ids.get(&tally.referendum_id).copied() else {
            return;
        };
        let have_index = self.counted_index.is_some();
        let mut faults = Vec::new();
        let mut not_checked = None;
        let Some(st) = self.referendums.get_mut(r) else {
            return;
        };
        let at = st.location(index);
        if st.tally.is_some() {
            faults.push("a second tally for this referendum".to_owned());
        } else if st.focus {
            if !have_index {
                not_checked = Some(format!(
                    "referendum {}: the tally is checked only on a whole record (vox-verify RECORD_DIR)",
                    st.id
                ));
            } else {
                faults.extend(compare_tally(st, &tally));
            }
            st.tally = Some(tally);
        } else {
            st.tally = Some(tally);
        }
        if st.focus {
            self.count(StepId::Tally, 1);
        }
        for f in faults {
            self.fail(StepId::Tally, at.clone(), f);
        }
        if let Some(n) = not_checked {
            self.not_checked(StepId::Tally, n);
        }
        self.time(StepId::Tally, sw);
    }

    fn on_share(&mut self, index: u64, msg: DecryptionShareMessage) {
        let sw = Stopwatch::start();
        let Some(r) = self.referendum(index, &msg.referendum_id, "decryption share") else {
            return;
        };
        self.count(StepId::Lifecycle, 1);
        let trustee = msg.share.trustee.get();
        let mut faults = Vec::new();
        let Some(st) = self.referendums.get_mut(r) else {
            return;
        };
        let at = st.trustee(trustee, index);
        if !matches!(st.phase, Phase::Tallied | Phase::Published) {
            faults.push((
                StepId::Lifecycle,
                format!(
                    "decryption share while the referendum is {}",
                    st.phase.name()
                ),
            ));
        } else if st.focus {
            if !st.manifest.trustees.iter().any(|t| t.index == trustee) {
                faults.push((
                    StepId::Shares,
                    format!("share from trustee {trustee}, who is not a trustee of the manifest"),
                ));
            } else if let Some(at) = st
                .ceremony
                .as_ref()
                .and_then(|c| c.disqualified_at(trustee))
            {
                // V12.1: a disqualified trustee still knows a value matching X_l (it
                // received QUAL's shares), but it is out of the ceremony.
                faults.push((
                    StepId::Shares,
                    format!(
                        "share from trustee {trustee}, who was disqualified from the key \
                         ceremony at {at}"
                    ),
                ));
            } else if !st.share_trustees.insert(trustee) {
                faults.push((
                    StepId::Shares,
                    format!("a second decryption share from trustee {trustee}"),
                ));
            } else if let (Some(joint), Some(tally)) = (&st.joint, &st.tally) {
                match msg.check(
                    &st.manifest,
                    &st.manifest_hash,
                    joint,
                    &tally.ciphertexts,
                    &mut SingleVerifier,
                ) {
                    Ok(()) => {
                        st.valid_shares.insert(trustee, msg.share);
                    }
                    Err(e) => faults.push((StepId::Shares, e.to_string())),
                }
            }
        }
        if st.focus {
            self.count(StepId::Shares, 1);
        }
        for (step, f) in faults {
            self.fail(step, at.clone(), f);
        }
        self.time(StepId::Shares, sw);
    }

    fn on_result(&mut self, index: u64, result: ReferendumResult) {
        self.transition(
            index,
            &result.referendum_id.clone(),
            &[Phase::Tallied],
            Phase::Published,
            "result",
        );
        let sw = Stopwatch::start();
        let Some(r) = self.referendum_ids.get(&result.referendum_id).copied() else {
            return;
        };
        if !self.referendums.get(r).is_some_and(|st| st.focus) {
            return;
        }
        self.count(StepId::Result, 1);
        let Some(st) = self.referendums.get_mut(r) else {
            return;
        };
        let at = st.location(index);
        let faults = if st.result.is_some() {
            vec![(at.clone(), "a second result for this referendum".to_owned())]
        } else {
            let f = check_result(st, &result, index);
            if f.is_empty() {
                st.result = Some(result.counts.clone());
            }
            f
        };
        for (loc, f) in faults {
            self.fail(StepId::Result, loc, f);
        }
        self.time(StepId::Result, sw);
    }

    // ---------------------------------------------------------------------------------
    // The end
    // ---------------------------------------------------------------------------------

    /// Finish a whole-record run: end-of-log rules, completeness, and the report.
    pub fn finish(mut self) -> Report {
        self.flush();
        let size = self.tree.size();
        if let Some((id, c, cause)) = self.expected_disqualification.take() {
            self.fail(
                StepId::Ceremony,
                Location::Trustee {
                    referendum: id,
                    trustee: c.dealer,
                    leaf: Some(cause),
                },
                format!(
                    "leaf {cause} is a bad answer by trustee {}, but the log ends without \
                     its trustee-disqualified entry",
                    c.dealer
                ),
            );
        }
        // Thresholds still due at the end of the log.
        if !self.expected.is_empty() {
            let missing: Vec<Expected> = self.expected.drain(..).collect();
            for e in missing {
                self.fail(
                    StepId::Petitions,
                    Location::Petition {
                        petition: e.petition,
                        leaf: Some(e.cause),
                    },
                    format!(
                        "leaf {} crossed the {} threshold, but the log ends without its threshold entry",
                        e.cause,
                        threshold_name(e.kind)
                    ),
                );
            }
        }
        self.finish_log(size);
        self.finish_roles();
        self.finish_receipts(size);
        self.finish_referendums();
        self.finish_obligations(size);
        if let Some(h) = &self.header {
            for (what, id, known) in [
                (
                    "referendum_id",
                    h.referendum_id.clone(),
                    h.referendum_id
                        .as_ref()
                        .is_some_and(|r| self.referendum_ids.contains_key(r)),
                ),
                (
                    "petition_id",
                    h.petition_id.clone(),
                    h.petition_id
                        .as_ref()
                        .is_some_and(|p| self.petitions.contains_key(p)),
                ),
            ] {
                if let (Some(id), false) = (id, known) {
                    self.fail(
                        StepId::Record,
                        Location::Record { what: what.into() },
                        format!("the header names {id}, which does not occur in the log"),
                    );
                }
            }
        }
        let named = std::mem::take(&mut self.focus_named);
        for id in named {
            if !self.referendum_ids.contains_key(&id) {
                self.fail(
                    StepId::Record,
                    Location::Referendum {
                        referendum: id,
                        leaf: None,
                    },
                    "this referendum was asked for but does not occur in the log",
                );
            }
        }
        self.report()
    }

    /// V15 (10 §10.6): every obligation the record creates, its deadline and its fate
    /// at the record's time (the later of its last tree head's and its last entry's).
    /// Met late, broken and (for a close) early fail; running ones are listed.
    fn finish_obligations(&mut self, size: u64) {
        let sw = Stopwatch::start();
        // The record's time: its last tree head's, or its last entry's if later.
        let now = self
            .final_head
            .map(|h| h.timestamp_ms)
            .max(self.last_timestamp)
            .unwrap_or(i64::MIN);
        let mut list: Vec<Obligation> = Vec::new();
        for (pid, p) in &self.petitions {
            let t = &p.tracker;
            let loc = |leaf: Option<u64>| Location::Petition {
                petition: pid.clone(),
                leaf,
            };
            if let Some(due) = t.response_due_by {
                list.push(Obligation {
                    what: format!("petition {pid}: the official response"),
                    due,
                    met: t.responded_at,
                    at: loc(None),
                    early_before: None,
                    fixed: None,
                });
            }
            if let Some(((leaf, ts), met)) = p.trigger {
                // Due at the very next leaf; "met" on time only there.
                let fate = match met {
                    Some((l, _)) if l == leaf + 1 => Fate::OnTime,
                    Some((l, at)) => Fate::Late(format!(
                        "at leaf {l} ({at} ms), not at leaf {} right after the threshold entry",
                        leaf + 1
                    )),
                    None if leaf + 1 >= size => Fate::Running,
                    None => Fate::Broken,
                };
                list.push(Obligation {
                    what: format!(
                        "petition {pid}: the referendum its threshold (leaf {leaf}, {ts} ms) obliges"
                    ),
                    due: ts,
                    met: None,
                    at: loc(Some(leaf)),
                    early_before: None,
                    fixed: Some(fate),
                });
            }
        }
        for st in &self.referendums {
            let m = &st.manifest;
            let id = &st.id;
            let at = Location::Referendum {
                referendum: id.clone(),
                leaf: None,
            };
            let mut push = |what: String, due: i64, met: Option<i64>, early_before: Option<i64>| {
                list.push(Obligation {
                    what: format!("referendum {id}: {what}"),
                    due,
                    met,
                    at: at.clone(),
                    early_before,
                    fixed: None,
                })
            };
            // V15.7: every ceremony complaint obliges the accused dealer to answer by
            // its deadline, and, if it does not, the board to disqualify it by the
            // deadline + G (06 §6.6, §6.11). A dealer already out by the deadline (for
            // another complaint) owes no answer; a complaint closed because its recipient
            // was disqualified is owed nothing.
            for c in st.ceremony.iter().flat_map(|c| c.complaint_log()) {
                if c.withdrawn_at.is_some() && c.answered_at.is_none() {
                    continue;
                }
                if c.disqualified_at.is_some_and(|d| d <= c.answer_deadline) {
                    continue;
                }
                push(
                    format!(
                        "trustee {}'s answer to trustee {}'s ceremony complaint ({} ms)",
                        c.dealer, c.recipient, c.complaint_ts
                    ),
                    c.answer_deadline,
                    c.answered_at,
                    None,
                );
                if c.answered_at.is_none() {
                    push(
                        format!(
                            "disqualifying trustee {}, who did not answer trustee {}'s complaint",
                            c.dealer, c.recipient
                        ),
                        c.answer_deadline.saturating_add(SCHEDULE_GRACE_MS),
                        c.disqualified_at,
                        None,
                    );
                }
            }
            let t = &st.times;
            push(
                "opened".into(),
                m.opens_at.saturating_add(SCHEDULE_GRACE_MS),
                t.opened,
                None,
            );
            if t.opened.is_none() {
                continue;
            }
            push(
                "closed (not before closes_at)".into(),
                m.closes_at.saturating_add(SCHEDULE_GRACE_MS),
                t.closed,
                Some(m.closes_at),
            );
            let Some(closed) = t.closed else { continue };
            push(
                "tallied".into(),
                closed.saturating_add(SCHEDULE_GRACE_MS),
                t.tallied,
                None,
            );
            let Some(tallied) = t.tallied else { continue };
            if !st.manifest_ok {
                continue;
            }
            let deadline = tallied.saturating_add(m.decryption_due_ms);
            let naming_due = deadline.saturating_add(SCHEDULE_GRACE_MS);
            // Trustees the board must name: still without a share when the naming is due
            // (one who posts late, before the board's scheduler named it, is not named;
            // its late share fails on its own).
            let mut missing = Vec::new();
            for tr in &m.trustees {
                // A disqualified trustee holds no share (V12.1 refuses one): it owes none.
                if st
                    .ceremony
                    .as_ref()
                    .is_some_and(|c| c.is_disqualified(tr.index))
                {
                    continue;
                }
                let share = t.shares.get(&tr.index).copied();
                if !matches!(share, Some(t) if t <= naming_due) {
                    missing.push(tr.index);
                }
                push(
                    format!("trustee {} ({}): decryption share", tr.index, tr.name),
                    deadline,
                    share,
                    None,
                );
            }
            if !missing.is_empty() {
                push(
                    format!("naming the trustees without a share by the deadline {missing:?}"),
                    naming_due,
                    t.overdue.as_ref().map(|(ts, _)| *ts),
                    None,
                );
            }
            push(
                "result published".into(),
                deadline.saturating_add(SCHEDULE_GRACE_MS),
                t.result,
                None,
            );
        }
        self.count(StepId::Obligations, list.len() as u64);
        let (mut on_time, mut running) = (0usize, 0usize);
        for o in list {
            let fate = o.fate(now);
            let line = format!("{} — due {} ms: {}", o.what, o.due, fate.describe());
            match fate {
                Fate::OnTime => on_time += 1,
                Fate::Running => {
                    running += 1;
                    self.note(StepId::Obligations, line);
                }
                Fate::Late(_) | Fate::Broken | Fate::Early(_) => {
                    self.fail(StepId::Obligations, o.at, line);
                }
            }
        }
        self.note(
            StepId::Obligations,
            format!(
                "{on_time} obligations met on time, {running} still running at the record's \
                 time {now} ms"
            ),
        );
        self.time(StepId::Obligations, sw);
    }

    fn finish_log(&mut self, size: u64) {
        let beyond: Vec<(u64, Vec<(NodeHash, RootCheck)>)> =
            std::mem::take(&mut self.roots).into_iter().collect();
        for (s, checks) in beyond {
            for (_, check) in checks {
                if let RootCheck::Head = check {
                    self.fail(
                        StepId::Log,
                        Location::TreeHead { tree_size: s },
                        format!(
                            "signed tree head of size {s}, but the record has only {size} entries"
                        ),
                    );
                }
            }
        }
        if let Some(h) = &self.header {
            if h.tree_size != size {
                let declared = h.tree_size;
                self.fail(
                    StepId::Log,
                    Location::Record {
                        what: "entries.jsonl".into(),
                    },
                    format!("the header declares {declared} entries, entries.jsonl holds {size}"),
                );
            }
        }
        match self.final_head {
            None => self.fail(
                StepId::Log,
                Location::Record {
                    what: "tree-heads.jsonl".into(),
                },
                "no signed tree head: nothing vouches for the log",
            ),
            Some(f) if f.tree_size < size => self.fail(
                StepId::Log,
                Location::TreeHead {
                    tree_size: f.tree_size,
                },
                format!(
                    "the last signed tree head covers {} of {size} entries",
                    f.tree_size
                ),
            ),
            _ => {}
        }
        // Witnesses required one by one: the header's, and those the observer pins.
        let mut witnesses = self
            .header
            .as_ref()
            .map(|h| h.witnesses.clone())
            .unwrap_or_default();
        for w in &self.pinned.witnesses {
            if !witnesses.contains(w) {
                witnesses.push(*w);
            }
        }
        let final_size = self.final_head.map_or(0, |f| f.tree_size);
        // V3.5: the heads are checkpoints of the log the genesis names.
        if let (GenesisState::Valid { log_name, .. }, Some((first, origin))) =
            (&self.genesis, &self.head_origin)
        {
            if origin != log_name {
                let msg = format!(
                    "the tree heads are checkpoints of log {origin:?}, but the genesis names the log {log_name:?}"
                );
                self.fail(
                    StepId::TreeHeads,
                    Location::TreeHead { tree_size: *first },
                    msg,
                );
            }
        }
        // V3.4: the policy in force for the head covering the record (11 §11.6): the
        // heads not passed by the entries may still make a pending change take effect.
        let remaining: Vec<(u64, HashSet<[u8; 32]>)> = std::mem::take(&mut self.head_cosigners)
            .into_iter()
            .filter(|(size, _)| *size <= final_size)
            .collect();
        for (size, set) in &remaining {
            self.observe_witness_policy(*size, set);
        }
        let policy = match &self.genesis {
            GenesisState::Valid { witnesses, .. } => {
                let p = witnesses.in_force();
                let whose = witnesses.in_force_name();
                Some((
                    p.quorum(),
                    p.cosigners(|k| self.final_cosigners.contains(k.0.as_bytes())),
                    p.keys.len(),
                    whose,
                ))
            }
            GenesisState::Pending | GenesisState::Invalid => None,
        };
        if let Some((quorum, have, total, whose)) = policy {
            if quorum > 0 {
                self.count(StepId::TreeHeads, 1);
                if have < quorum {
                    // A board exports a record up to the latest head its witnesses vouched
                    // for (08 §8.4): one that ends without the quorum is not witnessed.
                    self.fail(
                        StepId::TreeHeads,
                        Location::TreeHead {
                            tree_size: final_size,
                        },
                        format!(
                            "the head of size {final_size} that covers the record carries valid cosignatures from {have} of the {total} witnesses of {whose}, which requires {quorum}: the record is not witnessed"
                        ),
                    );
                }
            }
        }
        for w in witnesses {
            let k = *w.0.as_bytes();
            self.count(StepId::TreeHeads, 1);
            if !self.final_cosigners.contains(&k) {
                let best = self.witness_best.get(&k).copied();
                self.not_checked(
                    StepId::TreeHeads,
                    match best {
                        Some(b) => format!(
                            "witness {} has cosigned heads up to size {b}, not the head of size {final_size} that covers the record",
                            w.to_hex()
                        ),
                        None => format!("witness {} has cosigned no tree head", w.to_hex()),
                    },
                );
            }
        }
    }

    fn finish_roles(&mut self) {
        match self.genesis {
            GenesisState::Pending => self.fail(
                StepId::Roles,
                Location::Record {
                    what: "entries.jsonl".into(),
                },
                "the log is empty: it has no genesis entry",
            ),
            GenesisState::Invalid if self.unverifiable_acts > 0 => {
                let n = self.unverifiable_acts;
                self.note(
                    StepId::Roles,
                    format!("{n} authority act(s) not verifiable without a valid genesis"),
                );
            }
            GenesisState::Invalid | GenesisState::Valid { .. } => {}
        }
    }

    fn finish_receipts(&mut self, size: u64) {
        let final_ts = self.final_head.map(|f| f.timestamp_ms);
        let pending: Vec<(usize, String, u64, i64, bool, bool)> = self
            .receipts
            .iter()
            .enumerate()
            .map(|(i, r)| {
                (
                    i,
                    r.name.clone(),
                    r.held.tree_head().head.tree_size,
                    r.held.tree_head().head.timestamp_ms,
                    r.leaf_checked,
                    r.root_checked,
                )
            })
            .collect();
        for (_, name, head_size, head_ts, leaf_checked, root_checked) in pending {
            if leaf_checked && (root_checked || head_size <= size) {
                continue;
            }
            let at = Location::Receipt { name };
            if head_size > size && final_ts.is_some_and(|t| t >= head_ts) {
                self.fail(
                    StepId::Receipts,
                    at,
                    format!(
                        "the board signed a head of size {head_size}, yet its later head in this record has only {size} entries: the log was truncated or forked"
                    ),
                );
            } else {
                self.not_checked(
                    StepId::Receipts,
                    format!(
                        "{at}: the record ({size} entries) is older than the receipt's tree head ({head_size} entries)"
                    ),
                );
            }
        }
        let mut notes = Vec::new();
        for r in &self.receipts {
            if let HeldReceipt::Signature(receipt, Some(watch)) = &r.held {
                let what = match receipt.action {
                    SignatureAction::Sign => "signature",
                    SignatureAction::Withdraw => "withdrawal",
                };
                let standing = match watch.standing() {
                    SignerStanding::Counted => "counted".to_owned(),
                    SignerStanding::Withdrawn { leaf_index } => {
                        format!("withdrawn at leaf {leaf_index}")
                    }
                    SignerStanding::Invalidated { leaf_index, reason } => format!(
                        "invalidated by the petitions office at leaf {leaf_index} ({reason})"
                    ),
                };
                notes.push(format!(
                    "{}: {what} of petition {} at leaf {}: {standing} as of entry {size}",
                    r.name, receipt.petition_id, receipt.leaf_index
                ));
            }
        }
        for n in notes {
            self.note(StepId::Receipts, n);
        }
        if self.receipts.is_empty() {
            self.not_checked(StepId::Receipts, "no receipt given (--receipt FILE)");
        }
    }

    fn finish_referendums(&mut self) {
        let have_index = self.counted_index.is_some();
        let mut notes = Vec::new();
        let mut gaps: Vec<(StepId, String)> = Vec::new();
        let mut changed = Vec::new();
        if let (Some(c), 0) = (&self.counted_index, self.undecodable) {
            for (id, voters) in c.referendums() {
                if self.last_seen.get(id).copied().unwrap_or(0) != voters {
                    changed.push(id.to_owned());
                }
            }
        }
        for st in self.referendums.iter().filter(|s| s.focus) {
            notes.push(format!(
                "{}: {} cast, {} counted, {} audited",
                st.id, st.ballots_cast, st.counted, st.audited
            ));
            if !have_index || !st.manifest_ok {
                continue;
            }
            match st.phase {
                Phase::Failed | Phase::Published => {}
                Phase::Tallied => {
                    let k = st.manifest.threshold as usize;
                    if st.valid_shares.len() < k {
                        gaps.push((
                            StepId::Shares,
                            format!(
                                "referendum {}: {} of {k} decryption shares so far",
                                st.id,
                                st.valid_shares.len()
                            ),
                        ));
                    }
                    gaps.push((
                        StepId::Result,
                        format!("referendum {} is tallied but has no result yet", st.id),
                    ));
                }
                phase => {
                    for step in [StepId::Tally, StepId::Shares, StepId::Result] {
                        gaps.push((
                            step,
                            format!("referendum {} is {}: no tally yet", st.id, phase.name()),
                        ));
                    }
                }
            }
        }
        for n in notes {
            self.note(StepId::Ballots, n);
        }
        for (step, g) in gaps {
            self.not_checked(step, g);
        }
        for id in changed {
            self.fail(
                StepId::Log,
                Location::Referendum {
                    referendum: id,
                    leaf: None,
                },
                "pass 1 and pass 2 disagree on the ballots: the record changed while it was read",
            );
        }
        let others = self.referendums.iter().filter(|s| !s.focus).count();
        if others > 0 {
            self.note(
                StepId::Ballots,
                format!("{others} other referendum(s) checked for lifecycle only"),
            );
        }
    }

    fn report(self) -> Report {
        let referendums = self
            .referendums
            .iter()
            .map(|st| ReferendumSummary {
                id: st.id.clone(),
                state: st.phase.name().to_owned(),
                verified: st.focus,
                ballots_cast: st.ballots_cast,
                counted: st.counted,
                audited: st.audited,
                result: st.result.clone(),
            })
            .collect();
        let petitions = self
            .petitions
            .iter()
            .map(|(id, p)| PetitionSummary {
                id: id.clone(),
                stage: format!("{:?}", p.tracker.stage).to_lowercase(),
                count: p.tracker.count(),
                thresholds: [
                    ThresholdKind::Sponsor,
                    ThresholdKind::Response,
                    ThresholdKind::Referendum,
                ]
                .into_iter()
                .filter(|k| p.tracker.reached.contains(k))
                .map(|k| threshold_name(k).to_owned())
                .collect(),
            })
            .collect();
        let tree_size = self.tree.size();
        let log_id = self.header.as_ref().map(|h| h.log_id.to_hex());
        let elapsed = self.started.elapsed();
        let steps: Vec<StepReport> = self
            .steps
            .into_states()
            .into_iter()
            .map(|s| {
                let unit = unit_of(s.info.step);
                s.finish(unit)
            })
            .collect();
        Report {
            tree_size,
            log_id,
            steps,
            referendums,
            petitions,
            elapsed_ms: elapsed,
        }
    }

    /// Count and time the V1 header check.
    pub(crate) fn record_checked(&mut self, took: core::time::Duration) {
        self.count(StepId::Record, 1);
        self.steps.get(StepId::Record).elapsed += took;
    }

    /// Time spent outside entry processing (reading, pass 1) charged to a step.
    pub(crate) fn charge(&mut self, step: StepId, since: Stopwatch) {
        self.time(step, since);
    }
}

fn unit_of(step: StepId) -> &'static str {
    match step {
        StepId::Record => "headers",
        StepId::Log => "entries",
        StepId::TreeHeads => "heads+witn.",
        StepId::Roles => "genesis+acts",
        StepId::Electorates => "uses",
        StepId::Petitions => "entries",
        StepId::Manifests => "manifests",
        StepId::Ceremony => "messages",
        StepId::Lifecycle => "transitions",
        StepId::Ballots => "ballots",
        StepId::Tally => "tallies",
        StepId::Shares => "shares",
        StepId::Result => "results",
        StepId::Receipts => "receipts",
        StepId::Obligations => "obligations",
    }
}

/// One obligation of V15: what, its deadline, when it was met (if it was).
struct Obligation {
    what: String,
    due: i64,
    met: Option<i64>,
    at: Location,
    /// Meeting it before this time is early (a close before closes_at).
    early_before: Option<i64>,
    /// A fate judged by leaves rather than times (the triggered referendum).
    fixed: Option<Fate>,
}

/// The fate of an obligation at the record's time (10 §10.6).
#[derive(Clone)]
enum Fate {
    OnTime,
    Late(String),
    Early(String),
    Broken,
    Running,
}

impl Fate {
    fn describe(&self) -> String {
        match self {
            Fate::OnTime => "met on time".into(),
            Fate::Late(how) => format!("met late ({how})"),
            Fate::Early(how) => format!("met early ({how})"),
            Fate::Broken => "broken (deadline passed, never met)".into(),
            Fate::Running => "still running".into(),
        }
    }
}

impl Obligation {
    fn fate(&self, now: i64) -> Fate {
        if let Some(f) = &self.fixed {
            return f.clone();
        }
        match self.met {
            Some(t) if self.early_before.is_some_and(|e| t < e) => Fate::Early(format!(
                "at {t} ms, {} ms before its time",
                self.early_before.unwrap_or(t).saturating_sub(t)
            )),
            Some(t) if t <= self.due => Fate::OnTime,
            Some(t) => Fate::Late(format!("at {t} ms, {} ms after the deadline", t - self.due)),
            None if now > self.due => Fate::Broken,
            None => Fate::Running,
        }
    }
}

fn threshold_name(kind: ThresholdKind) -> &'static str {
    match kind {
        ThresholdKind::Sponsor => "sponsor",
        ThresholdKind::Response => "response",
        ThresholdKind::Referendum => "referendum",
    }
}

/// V11: the published tally against the recomputed one.
fn compare_tally(st: &ReferendumState, tally: &EncryptedTally) -> Vec<String> {
    let mut faults = Vec::new();
    if tally.counted_ballots != st.counted {
        faults.push(format!(
            "tally counts {} ballots, the log has {} counted ballots (last per credential)",
            tally.counted_ballots, st.counted
        ));
    }
    let hash = Hash32(st.counted_hasher.clone().finalize().into());
    if tally.counted_hash != hash {
        faults.push(format!(
            "counted_hash {} differs from the hash {hash} of the counted ballots in log order",
            tally.counted_hash
        ));
    }
    if !st.sums_fit {
        faults.push(
            "some counted ballot does not fit the tally shape; the sum cannot be recomputed".into(),
        );
        return faults;
    }
    if tally.ciphertexts.len() != st.sums.len() {
        faults.push(format!(
            "tally has {} ciphertexts, the manifest needs {}",
            tally.ciphertexts.len(),
            st.sums.len()
        ));
        return faults;
    }
    for (slot, (ct, (a, b))) in tally.ciphertexts.iter().zip(&st.sums).enumerate() {
        if ct.a.to_bytes() != a.compress().to_bytes() || ct.b.to_bytes() != b.compress().to_bytes()
        {
            faults.push(format!(
                "tally ciphertext {slot} is not the sum of the counted ballots"
            ));
        }
    }
    faults
}

/// V13: the published result against the combination of the named shares.
fn check_result(
    st: &ReferendumState,
    result: &ReferendumResult,
    index: u64,
) -> Vec<(Location, String)> {
    let at = st.location(index);
    let mut faults = Vec::new();
    let (Some(tally), Some(joint)) = (&st.tally, &st.joint) else {
        faults.push((at, "result without a tally or an election key".to_owned()));
        return faults;
    };
    if result.counted_ballots != tally.counted_ballots {
        faults.push((
            at.clone(),
            format!(
                "result counts {} ballots, the tally {}",
                result.counted_ballots, tally.counted_ballots
            ),
        ));
    }
    // The trustees named must have valid shares: those are the shares combined.
    let mut seen = BTreeSet::new();
    let mut shares = Vec::new();
    for t in &result.trustees {
        if !seen.insert(*t) {
            faults.push((
                st.trustee(*t, index),
                "named twice in the result".to_owned(),
            ));
            continue;
        }
        match st.valid_shares.get(t) {
            Some(s) => shares.push(s.clone()),
            None => faults.push((
                st.trustee(*t, index),
                "named in the result but has no valid decryption share before it".to_owned(),
            )),
        }
    }
    let k = st.manifest.threshold as usize;
    if seen.len() < k {
        faults.push((
            at.clone(),
            format!(
                "the result combines {} shares; the threshold is {k}",
                seen.len()
            ),
        ));
    }
    if !faults.is_empty() {
        return faults;
    }
    let points = match combine(joint.params(), &tally.ciphertexts, &shares) {
        Ok(p) => p,
        Err(e) => {
            faults.push((at, format!("combining the shares: {e}")));
            return faults;
        }
    };
    let counted = tally.counted_ballots;
    // Slots the published counts claim (yes-no publishes [yes, no]; the slot is yes).
    let mut claimed = Vec::new();
    for (q, counts) in st.manifest.questions.iter().zip(&result.counts) {
        match q.kind {
            vox_protocol::manifest::QuestionKind::YesNo => {
                claimed.push(counts.first().copied().unwrap_or(u64::MAX))
            }
            _ => claimed.extend(counts.iter().copied()),
        }
    }
    match counts_from_slots(&st.manifest, counted, &claimed) {
        Ok(shape) if shape == result.counts => {}
        Ok(_) | Err(_) => {
            faults.push((
                at.clone(),
                "the counts do not have the manifest's shape (per question, per option; yes-no as [yes, counted − yes])".to_owned(),
            ));
            return faults;
        }
    }
    let bounds = slot_bounds(&st.manifest, counted);
    for (slot, ((point, value), bound)) in points.iter().zip(&claimed).zip(&bounds).enumerate() {
        if value > bound {
            faults.push((
                at.clone(),
                format!(
                    "slot {slot}: {value} exceeds the maximum {bound} (counted × max per option)"
                ),
            ));
            continue;
        }
        if Scalar::from_u64(*value).mul_base() == *point {
            continue;
        }
        let actual = true_total(point, *bound);
        faults.push((
            at.clone(),
            format!(
                "slot {slot}: the result says {value}, the shares decrypt the tally to {actual}"
            ),
        ));
    }
    faults
}

/// The true total of a slot whose published value is wrong, for the failure message:
/// a bounded discrete log, but never beyond [`MAX_SLOT_VALUE`] (a manifest that passed
/// V7.5 stays below it; a record that failed V7 must not make the verifier build a huge
/// table just to print a diagnostic).
fn true_total(point: &vox_crypto::group::Point, bound: u64) -> String {
    if bound > MAX_SLOT_VALUE {
        return format!(
            "a value not searched for (the bound {bound} exceeds the tally limit \
             {MAX_SLOT_VALUE}, V7.5)"
        );
    }
    DlogTable::new(bound.saturating_add(1))
        .and_then(|t| t.solve(point))
        .map(|v| v.to_string())
        .unwrap_or_else(|_| format!("no value in 0..={bound}"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use vox_protocol::tally::counted_hash;

    #[test]
    fn the_diagnostic_discrete_log_is_bounded() {
        let p = Scalar::from_u64(41).mul_base();
        assert_eq!(true_total(&p, 100), "41");
        assert_eq!(true_total(&p, 40), "no value in 0..=40");
        // Past the limit nothing is built or searched (a table for 2⁶⁰ would be 2³⁰
        // entries); the message says why.
        let past = true_total(&p, 1 << 60);
        assert!(
            past.contains("not searched") && past.contains("V7.5"),
            "{past}"
        );
        assert!(true_total(&p, MAX_SLOT_VALUE + 1).contains("not searched"));
    }

    #[test]
    fn streaming_counted_hash_matches_the_protocol() {
        let hashes: Vec<Hash32> = (0u8..5).map(|i| Hash32([i; 32])).collect();
        let mut h = Sha256::new();
        h.update(b"vox/v2/counted-ballots");
        h.update([0u8]);
        for x in &hashes {
            h.update(x.0);
        }
        assert_eq!(Hash32(h.finalize().into()), counted_hash(&hashes));
    }
}
