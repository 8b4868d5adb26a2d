//! The JSON bodies of the HTTP API (protocol-spec/api.md) that are not protocol objects
//! of their own: the server serializes these types and the clients deserialize the very
//! same ones, so that a renamed field breaks the build instead of a client.
//!
//! Request bodies are mostly signed acts and other protocol objects (`board::Payload`,
//! `ballot::Ballot`, …); this module holds the answers around them. Field order is wire
//! order (serde keeps declaration order). No server dependency: this module builds for
//! wasm32 like the rest of the crate.

use serde::{Deserialize, Serialize};
use vox_crypto::credential::CredentialPublicKey;
use vox_crypto::elgamal::ElectionPublicKey;
use vox_crypto::threshold::{
    CeremonyCommitment, CoefficientCommitments, Complaint, ComplaintAnswer, EncryptedShare,
    TrusteePublicKey,
};
use vox_crypto::{Hash32, Point};

use crate::board::{BoardEntry, BoardPublicKey, Cosignature, SignedTreeHead};
use crate::electorate::Electorate;
use crate::enrolment::RegionTally;
use crate::manifest::Manifest;
use crate::merkle::NodeHash;
use crate::petition::{Petition, PetitionPolicy, PetitionStage, ThresholdKind};
use crate::roles::{Genesis, RoleKeys, WitnessPolicy};
use crate::tally::ReferendumResult;

// ---- errors --------------------------------------------------------------------------

/// Every error answer: RFC 9457 problem details (`application/problem+json`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Problem {
    /// `https://vox.invalid/problems/<slug>`; the slug is machine-readable
    /// (`not-eligible`, `wrong-state`, `already-exists`, …).
    #[serde(rename = "type")]
    pub problem_type: String,
    /// The HTTP status's reason phrase.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong, for a person.
    pub detail: String,
    /// The offending field (a JSON-pointer-like path such as `answers/0/ciphertexts/1`),
    /// whenever there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

// ---- board ---------------------------------------------------------------------------

/// `GET /api/v1/witness-policy` and the answer to `POST /api/v1/witness-policy`: the
/// witness policy in force for the board's latest head and a change waiting to take
/// effect (11 §11.6).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WitnessPolicyView {
    /// The policy in force: its witnesses' quorum must cosign the head before an entry
    /// that ends a phase.
    pub in_force: WitnessPolicy,
    /// Leaf of the entry that declared it (0: the genesis).
    pub in_force_since_leaf: u64,
    /// A change declared but not in force yet: it takes effect once a head covering it
    /// carries the quorum of the policy in force.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<PendingWitnessPolicy>,
}

/// A witness policy change not in force yet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PendingWitnessPolicy {
    /// Leaf of the `witness-policy-set` entry.
    pub leaf_index: u64,
    /// The policy it declares.
    pub policy: WitnessPolicy,
}

/// `GET /api/v1/board`: what a client needs to check the board's answers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BoardInfo {
    /// The board's Ed25519 key (it signs the tree heads).
    pub board_public_key: BoardPublicKey,
    /// The log id (hex): the hash that binds every tree head to this log.
    pub log_id: Hash32,
    /// Current number of entries.
    pub tree_size: u64,
    /// Witness keys: those the genesis names and those the operator configured.
    pub witnesses: Vec<BoardPublicKey>,
    /// Leaf 0: the log's genesis. This server always sends it; optional so that a
    /// client can still talk to a board that predates genesis entries.
    pub genesis: Option<Genesis>,
    /// Every role's current key (after the rotations on the board).
    pub roles: RoleKeys,
}

/// One item of `GET /api/v1/board/entries`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IndexedEntry {
    /// Leaf index.
    pub index: u64,
    /// The entry, as stored on the board.
    pub entry: BoardEntry,
}

/// `GET /api/v1/board/inclusion`: an RFC 6962 inclusion proof.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InclusionProof {
    /// The leaf.
    pub leaf_index: u64,
    /// The tree the proof is for.
    pub tree_size: u64,
    /// The leaf's hash (0x00 prefix).
    pub leaf_hash: NodeHash,
    /// The audit path, leaf to root.
    pub proof: Vec<NodeHash>,
}

/// `GET /api/v1/board/consistency`: an RFC 6962 consistency proof.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConsistencyProof {
    /// The older tree size.
    pub first: u64,
    /// The newer tree size.
    pub second: u64,
    /// The proof.
    pub proof: Vec<NodeHash>,
}

/// `POST /api/v1/board/cosignatures`: a witness's cosignature of a tree head the board
/// signed (the head is named by its size, root and timestamp). The answer is that
/// head with its cosignatures (`board::SignedTreeHead`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CosignatureRequest {
    /// The tree head's size.
    pub tree_size: u64,
    /// Its root hash.
    pub root_hash: NodeHash,
    /// Its timestamp (ms).
    pub timestamp_ms: i64,
    /// The witness's cosignature over it.
    pub cosignature: Cosignature,
}

/// `POST /api/v1/roles/rotations` answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RoleKeyRotated {
    /// Leaf index of the `role-key-rotated` entry.
    pub leaf_index: u64,
    /// Every role's current key afterwards.
    pub roles: RoleKeys,
}

// ---- electorates ---------------------------------------------------------------------

/// `POST /api/v1/electorates` and `POST /api/v1/electorates/{id}/freeze` answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ElectorateRegistered {
    /// The electorate's id.
    pub electorate_id: String,
    /// Its canonical hash (what manifests and petitions name).
    pub electorate_hash: Hash32,
    /// Leaf index of its `electorate-registered` (or `electorate-frozen`) entry.
    pub leaf_index: u64,
}

/// `POST /api/v1/enrolments` answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnrolmentOpened {
    /// The electorate's id.
    pub electorate_id: String,
    /// Leaf index of the `enrolment-opened` entry.
    pub leaf_index: u64,
}

/// `POST /api/v1/electorates/{id}/credentials` answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CredentialEnrolled {
    /// The electorate's id.
    pub electorate_id: String,
    /// The enrolled credential's public key.
    pub credential: CredentialPublicKey,
    /// Leaf index of the `credential-enrolled` entry.
    pub leaf_index: u64,
}

/// `POST /api/v1/electorates/{id}/revocations` answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CredentialRevoked {
    /// Leaf index of the `credential-revoked` entry.
    pub leaf_index: u64,
}

/// Whether citizens are still enrolling in an electorate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum ElectorateState {
    /// Enrolment by code is open: the electorate cannot be used yet.
    Enrolling,
    /// The list is fixed (an electorate registered whole is frozen from the start).
    Frozen,
}

/// `GET /api/v1/electorates/{id}` (by id or hash).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ElectorateInfo {
    /// The list; while enrolling, the list that would be frozen now.
    pub electorate: Electorate,
    /// Its canonical hash.
    pub electorate_hash: Hash32,
    /// Its `electorate-registered` entry (enrolled by code: its `enrolment-opened`
    /// entry).
    pub leaf_index: u64,
    /// Enrolling or frozen.
    pub state: ElectorateState,
    /// Codes committed and credentials enrolled (not revoked) per region.
    pub regions: Vec<RegionTally>,
    /// Credentials revoked.
    pub revoked: u64,
    /// Enrolment codes (committed or replacement) not used yet.
    pub unspent_codes: u64,
}

impl ElectorateState {
    /// The API name (`enrolling`, `frozen`).
    pub fn as_str(self) -> &'static str {
        match self {
            ElectorateState::Enrolling => "enrolling",
            ElectorateState::Frozen => "frozen",
        }
    }
}

impl ElectorateInfo {
    /// Whether citizens are still enrolling (the electorate cannot be used yet).
    pub fn is_enrolling(&self) -> bool {
        self.state == ElectorateState::Enrolling
    }
}

// ---- petitions -----------------------------------------------------------------------

/// A petition's three thresholds (signatures).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Thresholds {
    /// Sponsors needed before the petition is published.
    pub sponsor: u32,
    /// Signatures that oblige an official response.
    pub response: u32,
    /// Signatures that trigger a referendum.
    pub referendum: u32,
}

/// One line of `GET /api/v1/petitions`; also the answer of the petition acts
/// (proposal, moderation, response, invalidation, closing).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PetitionSummary {
    /// The petition's id.
    pub id: String,
    /// What it asks.
    pub action: String,
    /// Lifecycle stage.
    pub stage: PetitionStage,
    /// Valid signatures now.
    pub count: u64,
    /// Its thresholds.
    pub thresholds: Thresholds,
    /// When signing closes (ms since the epoch), once published.
    pub closes_at: Option<i64>,
    /// The official response's deadline (ms), once the response threshold is reached.
    pub response_due_by: Option<i64>,
    /// Whether that deadline has passed without a response.
    pub response_overdue: bool,
    /// The referendum created from it, if any.
    pub referendum_id: Option<String>,
}

/// A published invalidation of signatures.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Invalidation {
    /// Its board entry.
    pub leaf_index: u64,
    /// Signatures invalidated.
    pub count: u64,
    /// The public reason.
    pub reason: String,
}

/// `GET /api/v1/petitions/{id}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PetitionDetail {
    /// The petition's text and rules.
    pub petition: Petition,
    /// Its canonical hash.
    pub petition_hash: Hash32,
    /// Lifecycle stage.
    pub stage: PetitionStage,
    /// Valid signatures now.
    pub count: u64,
    /// Signatures per region (regions below the petition's minimum group omitted).
    pub region_counts: Vec<(String, u64)>,
    /// When signing closes (ms).
    pub closes_at: Option<i64>,
    /// The official response's deadline (ms).
    pub response_due_by: Option<i64>,
    /// Whether that deadline has passed without a response.
    pub response_overdue: bool,
    /// The official response.
    pub response: Option<String>,
    /// The referendum created from it.
    pub referendum_id: Option<String>,
    /// Thresholds reached, in the order sponsor, response, referendum.
    pub thresholds_reached: Vec<ThresholdKind>,
    /// Its thresholds.
    pub thresholds: Thresholds,
    /// Why moderation rejected it, if it did.
    pub rejection_reason: Option<String>,
    /// Published invalidations.
    pub invalidations: Vec<Invalidation>,
    /// Board time of its proposal (ms).
    pub proposed_at: i64,
    /// Leaf index of its proposal.
    pub leaf_index: u64,
}

/// A petitions office policy and where it was set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PolicyInForce {
    /// The bounds.
    pub policy: PetitionPolicy,
    /// Leaf of the `petition-policy-set` entry.
    pub leaf_index: u64,
    /// Its board timestamp (ms).
    pub set_at: i64,
}

/// `GET` and `POST /api/v1/petition-policy`: the policy in force, `null` when the
/// office has set none.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PolicyView {
    /// The policy in force.
    pub policy: Option<PolicyInForce>,
}

/// `POST /api/v1/petitions/{id}/signatures` answer: the signature's leaf with its proof.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignatureAccepted {
    /// Leaf index of the signature.
    pub leaf_index: u64,
    /// A signed tree head that includes it.
    pub tree_head: SignedTreeHead,
    /// Its inclusion proof against that head.
    pub inclusion_proof: Vec<NodeHash>,
    /// The petition's count afterwards.
    pub count: u64,
}

// ---- referendums ---------------------------------------------------------------------

/// Where a referendum is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum ReferendumState {
    /// Trustees are running the key ceremony.
    KeyCeremony,
    /// The joint key is fixed; waiting to open.
    Ready,
    /// Accepting ballots.
    Open,
    /// No more ballots.
    Closed,
    /// The encrypted tally is on the board.
    Tallied,
    /// The result is on the board.
    Published,
    /// The ceremony failed.
    Failed,
}

impl ReferendumState {
    /// The API name (`key-ceremony`, `ready`, `open`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            ReferendumState::KeyCeremony => "key-ceremony",
            ReferendumState::Ready => "ready",
            ReferendumState::Open => "open",
            ReferendumState::Closed => "closed",
            ReferendumState::Tallied => "tallied",
            ReferendumState::Published => "published",
            ReferendumState::Failed => "failed",
        }
    }
}

/// A key ceremony's phase, by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum CeremonyPhaseName {
    /// Trustees post commitments.
    Commit,
    /// Trustees reveal their coefficient commitments.
    Reveal,
    /// Dealers post encrypted shares.
    Shares,
    /// Trustees confirm or complain.
    Confirm,
    /// The joint key is fixed.
    Complete,
    /// The ceremony failed (see `failure_reason`).
    Failed,
}

impl CeremonyPhaseName {
    /// The API name.
    pub fn as_str(self) -> &'static str {
        match self {
            CeremonyPhaseName::Commit => "commit",
            CeremonyPhaseName::Reveal => "reveal",
            CeremonyPhaseName::Shares => "shares",
            CeremonyPhaseName::Confirm => "confirm",
            CeremonyPhaseName::Complete => "complete",
            CeremonyPhaseName::Failed => "failed",
        }
    }
}

/// One line of `GET /api/v1/referendums`; also the answer of open, close and
/// close-early.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReferendumSummary {
    /// The referendum's id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// Where it is.
    pub state: ReferendumState,
    /// Voting opens (ms).
    pub opens_at: i64,
    /// Voting closes (ms).
    pub closes_at: i64,
    /// Ballots cast so far (each credential's latest counts once).
    pub ballots_cast: u64,
    /// The petition it comes from, if any.
    pub source_petition: Option<String>,
}

/// `POST /api/v1/referendums` answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReferendumCreated {
    /// The referendum's id.
    pub referendum_id: String,
    /// Its manifest's hash.
    pub manifest_hash: Hash32,
    /// Its state (a new referendum starts with its key ceremony).
    pub state: ReferendumState,
    /// Leaf index of the `referendum-created` entry.
    pub leaf_index: u64,
}

/// `GET /api/v1/referendums/{id}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReferendumDetail {
    /// The manifest.
    pub manifest: Manifest,
    /// Its hash.
    pub manifest_hash: Hash32,
    /// Where the referendum is.
    pub state: ReferendumState,
    /// The key ceremony's phase.
    pub ceremony_phase: CeremonyPhaseName,
    /// Why the ceremony failed (only when it did).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    /// The joint election key, once the ceremony is complete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub election_key: Option<ElectionPublicKey>,
    /// The trustees' public shares, once the ceremony is complete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_shares: Option<Vec<Point>>,
    /// Ballots cast so far.
    pub ballots_cast: u64,
    /// Ballots audited (spoiled) so far.
    pub audited_ballots: u64,
    /// Ballots counted (once closed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counted_ballots: Option<u64>,
    /// The result, once published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<ReferendumResult>,
    /// Leaf of the `referendum-created` entry (the manifest).
    pub leaf_index: u64,
    /// Where a voter's device finds the entries that define the election key (04
    /// §4.7): this referendum's ceremony messages, in board order. Hints only: the
    /// device checks each entry and its inclusion proof.
    pub ceremony_leaves: Vec<u64>,
    /// Leaf of its `ceremony-completed` entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_leaf: Option<u64>,
    /// Leaves of the role key rotations before the manifest (to know the election
    /// authority's key there).
    pub role_rotation_leaves: Vec<u64>,
    /// For a referendum a petition triggered: the petition, publication and panel
    /// leaves its manifest is recomputed from (04 §4.7 D3–D4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger: Option<crate::device::TriggerLeaves>,
}

impl ReferendumDetail {
    /// The state's name.
    pub fn state_name(&self) -> String {
        self.state.as_str().to_owned()
    }
}

/// `GET /api/v1/referendums/{id}/ceremony`: the key ceremony so far.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CeremonyView {
    /// The phase.
    pub phase: CeremonyPhaseName,
    /// Why the ceremony failed (only when it did).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    /// The trustees' announced keys.
    pub keys: Vec<TrusteePublicKey>,
    /// The commitments posted.
    pub commitments: Vec<CeremonyCommitment>,
    /// The coefficient commitments revealed.
    pub reveals: Vec<CoefficientCommitments>,
    /// The encrypted shares, by recipient.
    pub shares: Vec<EncryptedShare>,
    /// Complaints.
    pub complaints: Vec<Complaint>,
    /// Dealers' public answers to complaints.
    pub answers: Vec<ComplaintAnswer>,
    /// Trustees that confirmed their shares.
    pub confirmed: Vec<u32>,
    /// Trustees disqualified by a `trustee-disqualified` entry (06 §6.6), ascending. They
    /// are outside QUAL: a trustee's key share sums the shares of the other dealers only,
    /// and it waits for no answer from a disqualified one.
    #[serde(default)]
    pub disqualified: Vec<u32>,
}

impl CeremonyView {
    /// The phase's name (`commit`, `reveal`, `shares`, `confirm`, `complete`, `failed`).
    pub fn phase_name(&self) -> String {
        self.phase.as_str().to_owned()
    }

    /// The failure reason, if the ceremony failed.
    pub fn failure(&self) -> Option<String> {
        (self.phase == CeremonyPhaseName::Failed).then(|| {
            self.failure_reason
                .clone()
                .unwrap_or_else(|| "no reason given".to_owned())
        })
    }
}

/// `POST /api/v1/referendums/{id}/ceremony` answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CeremonyPosted {
    /// Leaf index of the message.
    pub leaf_index: u64,
    /// The phase after the message.
    pub phase: CeremonyPhaseName,
    /// Why the ceremony failed (only when it did).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
}

/// `POST /api/v1/referendums/{id}/audits` answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditPosted {
    /// Leaf index of the audited ballot.
    pub leaf_index: u64,
}

/// What became of a cast ballot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum BallotStanding {
    /// It is its credential's latest ballot (it will be counted).
    Counted,
    /// A later ballot of the same credential replaced it.
    Superseded,
    /// It was audited (spoiled) and will not be counted.
    Audited,
}

impl BallotStanding {
    /// The API name (`counted`, `superseded`, `audited`).
    pub fn as_str(self) -> &'static str {
        match self {
            BallotStanding::Counted => "counted",
            BallotStanding::Superseded => "superseded",
            BallotStanding::Audited => "audited",
        }
    }
}

/// A credential's latest ballot in a referendum: what its next ballot names as
/// `previous` (04 §4.3). `GET …/credentials/{credential}/latest-ballot` answers it or
/// `null`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LatestBallot {
    /// Its hash.
    pub ballot_hash: Hash32,
    /// Its leaf.
    pub leaf_index: u64,
    /// Its tracking code.
    pub tracking_code: String,
}

/// `GET /api/v1/referendums/{id}/ballots/{hash}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BallotStatus {
    /// The ballot's leaf.
    pub leaf_index: u64,
    /// Counted, superseded or audited.
    pub status: BallotStanding,
    /// When superseded: the credential's latest ballot, so that the device can tell
    /// whether it cast that one itself (an alarm if not, 04 §4.7).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub superseded_by: Option<LatestBallot>,
}

/// `POST /api/v1/referendums/{id}/decryption-shares` answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SharePosted {
    /// Leaf index of the share.
    pub leaf_index: u64,
    /// Shares received so far.
    pub shares_received: u64,
}

// ---- open data -----------------------------------------------------------------------

/// One row of a result: a question's option and its total.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResultRow {
    /// The question's id.
    pub question_id: String,
    /// The question's text.
    pub question: String,
    /// The question's kind (`yes-no`, `choose-one`, `approve`, `score`).
    pub kind: String,
    /// The option's index in the question.
    pub option_index: u64,
    /// The option's text.
    pub option: String,
    /// Votes (yes-no, choose-one), approvals (approve) or score points (score).
    pub count: u64,
}

/// `GET /api/v1/referendums/{id}/result.json`: a published result as data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResultData {
    /// The referendum's id.
    pub referendum_id: String,
    /// Its title.
    pub title: String,
    /// Ballots counted.
    pub counted_ballots: u64,
    /// Ballots cast.
    pub ballots_cast: u64,
    /// Credentials in its electorate, when known.
    pub electorate_size: Option<u64>,
    /// Counted ballots over the electorate, as a decimal string (e.g. `"61.5"`).
    pub turnout: Option<String>,
    /// The trustees whose shares decrypted it.
    pub trustees: Vec<u32>,
    /// One row per question option.
    pub rows: Vec<ResultRow>,
}

/// A region's count.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegionCount {
    /// The region.
    pub region: String,
    /// Its signatures.
    pub count: u64,
}

/// A petition's count at the end of a day.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DayCount {
    /// `YYYY-MM-DD`, UTC.
    pub date: String,
    /// The count at the end of that day.
    pub count: u64,
}

/// `GET /api/v1/petitions/{id}/counts.json`: a petition's count now, per region
/// (groups below the petition's minimum omitted) and at the end of each day it changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CountsData {
    /// The petition's id.
    pub petition_id: String,
    /// Valid signatures now.
    pub count: u64,
    /// The smallest group published per region.
    pub region_min_group: u32,
    /// Counts per region.
    pub regions: Vec<RegionCount>,
    /// Counts at the end of each day.
    pub daily: Vec<DayCount>,
}
