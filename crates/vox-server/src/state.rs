//! Derived state: what the board's entries add up to, folded in log order.
//!
//! The board is the source of truth. Every process keeps this fold in memory together
//! with a cursor (the number of entries folded) and, inside each write transaction, after
//! locking the board head, folds whatever other processes appended before validating
//! anything. So all processes validate against the same state, and the lifecycle rules
//! are those of `vox_protocol` ([`PetitionTracker`], [`CeremonyTracker`]) — the same code
//! the verifier replays.
//!
//! The genesis (leaf 0) and every authority act are replayed by
//! [`vox_protocol::roles::Authorities`] (the roles' current keys and the acts already
//! seen), the same replay the verifier runs, so acts are checked against exactly what
//! the committed board says.
//!
//! Ballots and audits change nothing here: their indexes (`ballots`, `latest_ballot`,
//! `audited_ballots`) live in the database, written in the same transaction as the
//! entries, so catching up never needs to read ballot bodies.

use std::collections::HashMap;
use std::sync::Arc;

use serde::Serialize;
use vox_crypto::threshold::{ComplaintAnswer, JointPublicKeys};
use vox_crypto::Hash32;
use vox_protocol::board::{BoardEntry, BoardPublicKey, EncryptedTally, Payload};
use vox_protocol::ceremony::{
    CeremonyBody, CeremonyPhase, CeremonyTracker, DecryptionShareMessage,
};
use vox_protocol::electorate::{Electorate, ElectorateIndex, Ineligible};
use vox_protocol::encoding::Hashable;
use vox_protocol::enrolment::{Effect, Roll};
use vox_protocol::manifest::{Manifest, TrusteePanel};
use vox_protocol::petition::{PetitionPolicy, PetitionTracker, SignatureAction};
use vox_protocol::rings::RingSet;
use vox_protocol::roles::{ActError, Authorities, WitnessPolicy};
use vox_protocol::tally::ReferendumResult;
use vox_protocol::ProtocolError;

/// Entry kinds that leave the in-memory state unchanged (skipped when catching up).
pub const UNFOLDED_KINDS: [&str; 2] = ["ballot-cast", "ballot-audited"];

/// A usable electorate: registered whole, or frozen after enrolment by code.
#[derive(Debug)]
pub struct ElectorateInfo {
    /// The list as registered or frozen (replacements enrolled later are in `index`
    /// only). Shared, so refreshing the index after a revocation copies no list.
    pub electorate: Arc<Electorate>,
    /// Eligibility index, live: revocations and replacements up to the fold's cursor
    /// (a copy of the [`Roll`]'s, which owns the rules).
    pub index: ElectorateIndex,
    /// Its hash.
    pub hash: Hash32,
    /// The entry that made it usable (`electorate-registered` or `electorate-frozen`).
    pub leaf_index: u64,
}

impl ElectorateInfo {
    /// Region of an eligible credential.
    pub fn region_of(
        &self,
        credential: &vox_crypto::credential::CredentialPublicKey,
    ) -> Option<&str> {
        self.index.region_of(credential)
    }

    /// May `credential` act at leaf `leaf` (04 §4.1.3)?
    pub fn standing(
        &self,
        credential: &vox_crypto::credential::CredentialPublicKey,
        leaf: u64,
    ) -> Result<(), Ineligible> {
        self.index.standing(credential, leaf)
    }
}

/// A published invalidation.
#[derive(Clone, Debug, Serialize)]
pub struct Invalidation {
    /// Its board entry.
    pub leaf_index: u64,
    /// Signatures invalidated.
    pub count: u64,
    /// The public reason.
    pub reason: String,
}

/// A petition and its lifecycle.
#[derive(Clone, Debug)]
pub struct PetitionInfo {
    /// The tracker (the protocol's rules).
    pub tracker: PetitionTracker,
    /// Its proposal's board entry.
    pub leaf_index: u64,
    /// When it was proposed.
    pub proposed_at: i64,
    /// Rejection reason, if rejected.
    pub rejection_reason: Option<String>,
    /// Published invalidations.
    pub invalidations: Vec<Invalidation>,
    /// Its publication's board entry (the referendum terms), once published.
    pub publish_leaf: Option<u64>,
    /// The count at the end of each UTC day on which it changed: (day start in Unix
    /// ms, count), ascending (open data: a petition's counts over time).
    pub daily_counts: Vec<(i64, u64)>,
    /// A ring-signed petition's rings at its electorate's current epoch (07 §7.10),
    /// derived on first use.
    pub rings: RingCache,
}

/// The rings of one ring-signed petition and the electorate epoch they were derived at:
/// rings change only when a revocation or a replacement changes the epoch, so one
/// derivation serves every signature in between. Shared by the copies of the state.
#[derive(Clone, Debug, Default)]
pub struct RingCache(Arc<std::sync::Mutex<Option<EpochRings>>>);

/// Rings and the electorate epoch they were derived at.
type EpochRings = (usize, Arc<RingSet>);

impl RingCache {
    /// The rings at `epoch`: the cached ones if derived at it, else `derive()` (cached).
    fn get_or_derive(
        &self,
        epoch: usize,
        derive: impl FnOnce() -> Result<RingSet, ProtocolError>,
    ) -> Result<Arc<RingSet>, ProtocolError> {
        let mut cache = self
            .0
            .lock()
            .map_err(|_| ProtocolError::invalid("rings", "a ring derivation panicked"))?;
        if let Some((at, rings)) = &*cache {
            if *at == epoch {
                return Ok(Arc::clone(rings));
            }
        }
        let rings = Arc::new(derive()?);
        *cache = Some((epoch, Arc::clone(&rings)));
        Ok(rings)
    }
}

impl PetitionInfo {
    /// Record the tracker's count after an entry at `ts`.
    fn note_count(&mut self, ts: i64) {
        let day = vox_protocol::time::day_start(ts);
        let count = self.tracker.count();
        match self.daily_counts.last_mut() {
            Some((d, c)) if *d == day => *c = count,
            _ => self.daily_counts.push((day, count)),
        }
    }
}

/// Where a referendum is: the API contract's own type (`vox_protocol::api`), so the
/// state the server folds is the state it sends.
pub use vox_protocol::api::ReferendumState as RefState;

/// A referendum and its lifecycle.
#[derive(Clone, Debug)]
pub struct ReferendumInfo {
    /// The manifest.
    pub manifest: Arc<Manifest>,
    /// Its hash.
    pub manifest_hash: Hash32,
    /// Its creation entry.
    pub leaf_index: u64,
    /// Lifecycle state.
    pub state: RefState,
    /// The key ceremony.
    pub ceremony: CeremonyTracker,
    /// Complaint answers posted (their shares are public).
    pub answers: Vec<ComplaintAnswer>,
    /// Trustees that confirmed.
    pub confirmed: Vec<u32>,
    /// The joint keys, once the ceremony completed.
    pub joint: Option<Arc<JointPublicKeys>>,
    /// The encrypted tally.
    pub tally: Option<Arc<EncryptedTally>>,
    /// Decryption shares received (each checked on arrival).
    pub shares: Vec<DecryptionShareMessage>,
    /// The published result.
    pub result: Option<ReferendumResult>,
    /// Ballots cast (every `ballot-cast` entry, re-votes included).
    pub ballots_cast: u64,
    /// Ballots opened for audit.
    pub audited: u64,
    /// Leaves of this referendum's ceremony messages, in board order (so a voter's
    /// device can fetch exactly those entries, 04 §4.7).
    pub ceremony_leaves: Vec<u64>,
    /// Leaf of its `ceremony-completed` entry.
    pub completed_leaf: Option<u64>,
    /// Board time of its `tally-computed` entry (the decryption deadline counts from it).
    pub tallied_at: Option<i64>,
    /// The trustees a `shares-overdue` entry named, once it is on the board.
    pub overdue: Option<Vec<u32>>,
    /// For a triggered referendum: the leaves its manifest is recomputed from (device
    /// checks D3–D4).
    pub trigger: Option<vox_protocol::device::TriggerLeaves>,
    /// Anonymous participation: its rings at its electorate's current epoch (04 §4.10),
    /// derived on first use.
    pub rings: RingCache,
}

impl ReferendumInfo {
    /// A referendum just created (by `referendum-created` or `referendum-triggered`) at
    /// leaf `index`.
    fn new(manifest: &Manifest, index: u64) -> Result<Self, ProtocolError> {
        let manifest_hash = manifest.canonical_hash();
        let ceremony = CeremonyTracker::new(manifest, manifest_hash)?;
        Ok(ReferendumInfo {
            manifest: Arc::new(manifest.clone()),
            manifest_hash,
            leaf_index: index,
            state: RefState::KeyCeremony,
            ceremony,
            answers: Vec::new(),
            confirmed: Vec::new(),
            joint: None,
            tally: None,
            shares: Vec::new(),
            result: None,
            ballots_cast: 0,
            audited: 0,
            ceremony_leaves: Vec::new(),
            completed_leaf: None,
            tallied_at: None,
            overdue: None,
            trigger: None,
            rings: RingCache::default(),
        })
    }

    /// The decryption deadline (tally time + the manifest's `decryption_due_ms`), once
    /// tallied.
    pub fn decryption_deadline(&self) -> Option<i64> {
        self.tallied_at
            .map(|t| t.saturating_add(self.manifest.decryption_due_ms))
    }

    /// The manifest's trustees without a decryption share, increasing.
    pub fn silent_trustees(&self) -> Vec<u32> {
        vox_protocol::ceremony::trustees_owing_a_share(&self.manifest, Some(&self.ceremony), |i| {
            self.shares.iter().any(|m| m.share.trustee.get() == i)
        })
    }
}

/// The API name of a ceremony phase.
pub fn phase_name(p: &CeremonyPhase) -> &'static str {
    match p {
        CeremonyPhase::Commit => "commit",
        CeremonyPhase::Reveal => "reveal",
        CeremonyPhase::Shares => "shares",
        CeremonyPhase::Confirm => "confirm",
        CeremonyPhase::Complete => "complete",
        CeremonyPhase::Failed { .. } => "failed",
    }
}

/// Everything folded from the board.
#[derive(Debug, Default)]
pub struct Derived {
    /// Number of entries folded (the next entry's index).
    pub cursor: u64,
    /// Electorates by hash.
    pub electorates: HashMap<Hash32, Arc<ElectorateInfo>>,
    /// Electorate hash by id.
    pub electorate_ids: HashMap<String, Hash32>,
    /// Petitions by id.
    pub petitions: HashMap<String, PetitionInfo>,
    /// Petition ids in proposal order.
    pub petition_order: Vec<String>,
    /// Referendums by id.
    pub referendums: HashMap<String, ReferendumInfo>,
    /// Referendum ids in creation order.
    pub referendum_order: Vec<String>,
    /// The genesis, the roles' current keys and the acts seen (from leaf 0 on).
    pub authorities: Option<Authorities>,
    /// The registrar's books (every electorate rule), replayed exactly as the verifier
    /// replays them.
    pub roll: Roll,
    /// Leaf of the `enrolment-opened` entry of each electorate opened by code.
    pub openings: HashMap<String, u64>,
    /// Credentials revoked per electorate id (before and after freezing).
    pub revocations: HashMap<String, u64>,
    /// Leaves of the `role-key-rotated` entries, in board order (a voter's device
    /// replays them to know a role's key at a leaf without reading the whole board).
    pub rotation_leaves: Vec<u64>,
    /// The petitions office's policy in force (the latest `petition-policy-set`), which
    /// every new proposal must respect (07 §7.8).
    pub petition_policy: Option<PolicyInForce>,
    /// The standing trustee panel in force (the latest `trustee-panel-set`, 07 §7.4).
    pub panel: Option<PanelInForce>,
    /// The witness policies the log declared (genesis and `witness-policy-set`s,
    /// 11 §11.6). Which one is in force depends on the cosignatures too:
    /// [`crate::witnessing::policies_at`].
    pub witness_policies: Option<DeclaredWitnessPolicies>,
    /// Referendum ids reserved by published petitions' terms → the petition.
    pub reserved_ids: HashMap<String, String>,
}

/// The witness policies a log declared, in log order: which one is in force for a head
/// also depends on the cosignatures ([`crate::witnessing::policies_at`], 11 §11.6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeclaredWitnessPolicies {
    /// The genesis policy.
    pub genesis: WitnessPolicy,
    /// Each `witness-policy-set`: its leaf and policy.
    pub changes: Vec<(u64, WitnessPolicy)>,
}

impl DeclaredWitnessPolicies {
    /// Whether `key` is a witness of any declared policy (its cosignatures are kept).
    pub fn knows(&self, key: &BoardPublicKey) -> bool {
        self.genesis.keys.contains(key) || self.changes.iter().any(|(_, p)| p.keys.contains(key))
    }

    /// Every witness key of a declared policy, in order of first appearance.
    pub fn known_keys(&self) -> Vec<BoardPublicKey> {
        let mut out: Vec<BoardPublicKey> = Vec::new();
        for p in std::iter::once(&self.genesis).chain(self.changes.iter().map(|(_, p)| p)) {
            for k in &p.keys {
                if !out.contains(k) {
                    out.push(*k);
                }
            }
        }
        out
    }

    /// Whether no policy ever asks for a cosignature (nothing to wait for, ever).
    pub fn never_required(&self) -> bool {
        self.genesis.quorum == 0 && self.changes.iter().all(|(_, p)| p.quorum == 0)
    }
}

/// The standing trustee panel and where it was set.
#[derive(Clone, Debug, Serialize)]
pub struct PanelInForce {
    /// The panel.
    pub panel: TrusteePanel,
    /// Leaf of the `trustee-panel-set` entry.
    pub leaf_index: u64,
    /// Its board timestamp (ms).
    pub set_at: i64,
}

/// A petitions office policy and where it was set.
#[derive(Clone, Debug, Serialize)]
pub struct PolicyInForce {
    /// The bounds.
    pub policy: PetitionPolicy,
    /// Leaf of the `petition-policy-set` entry.
    pub leaf_index: u64,
    /// Its board timestamp (ms).
    pub set_at: i64,
}

/// Folding an entry that does not apply means the stored board contradicts the rules
/// it was validated against: a bug or tampering. It is logged, never ignored silently.
#[derive(Debug, thiserror::Error)]
#[error("entry {index}: {reason}")]
pub struct FoldError {
    /// The entry.
    pub index: u64,
    /// What does not apply.
    pub reason: String,
}

impl Derived {
    /// Fold entry `index`. Entries must come in order; an entry already folded is
    /// skipped (several tasks may race to fold the same committed entries).
    pub fn fold(&mut self, index: u64, entry: &BoardEntry) -> Result<(), FoldError> {
        if index < self.cursor {
            return Ok(());
        }
        if index > self.cursor {
            return Err(FoldError {
                index,
                reason: format!("gap: expected entry {}", self.cursor),
            });
        }
        self.cursor = index + 1;
        let kind = entry.payload.kind();
        if UNFOLDED_KINDS.contains(&kind) {
            self.cursor = index;
            self.note_unfolded(index, kind, entry.scope());
            return Ok(());
        }
        let fail = |reason: String| FoldError { index, reason };
        self.authority(index, &entry.payload)
            .map_err(|e| fail(e.to_string()))?;
        self.apply(index, entry).map_err(|e| fail(e.to_string()))
    }

    /// The witness policies the log declared (500 before the genesis is folded, which
    /// the start-up prevents).
    pub fn witness_policies(&self) -> Result<&DeclaredWitnessPolicies, ActError> {
        self.witness_policies
            .as_ref()
            .ok_or_else(|| ActError::Genesis("the board has no genesis entry".into()))
    }

    /// The roles' state for checking an act at the locked head (500 before the genesis
    /// is folded, which the start-up prevents).
    pub fn authorities(&self) -> Result<&Authorities, ActError> {
        self.authorities
            .as_ref()
            .ok_or_else(|| ActError::Genesis("the board has no genesis entry".into()))
    }

    /// Replay the authority rules: the genesis starts them at leaf 0; an act must pass
    /// them (it did when it was appended) and is recorded.
    fn authority(&mut self, index: u64, payload: &Payload) -> Result<(), ActError> {
        match (payload, &mut self.authorities) {
            (Payload::Genesis { genesis }, None) if index == 0 => {
                self.authorities = Some(Authorities::from_genesis(genesis)?);
                Ok(())
            }
            (Payload::Genesis { .. }, _) => Err(ActError::Genesis(
                "a genesis entry may only be the first entry of the log".into(),
            )),
            (_, None) => Err(ActError::Genesis(
                "the first entry of the log is not a genesis".into(),
            )),
            (p, Some(a)) => a.accept(p),
        }
    }

    /// Fold a ballot or audit entry from its kind and scope alone (its body changes
    /// nothing here but the counters).
    pub fn note_unfolded(&mut self, index: u64, kind: &str, scope: Option<&str>) {
        if index < self.cursor {
            return;
        }
        self.cursor = index + 1;
        if let Some(r) = scope.and_then(|id| self.referendums.get_mut(id)) {
            match kind {
                "ballot-cast" => r.ballots_cast += 1,
                "ballot-audited" => r.audited += 1,
                _ => {}
            }
        }
    }

    /// The rings a ring signature on petition `id` uses now (07 §7.10, 13 §13.3): every
    /// registrar act folded so far is before the next leaf.
    pub fn petition_rings(&self, id: &str) -> Result<Arc<RingSet>, ProtocolError> {
        let p = self.petitions.get(id).ok_or_else(|| {
            ProtocolError::invalid("petition_id", format!("unknown petition {id}"))
        })?;
        let e = self
            .electorates
            .get(&p.tracker.petition.electorate_hash)
            .ok_or_else(|| {
                ProtocolError::invalid("electorate", "petition without its electorate")
            })?;
        p.rings.get_or_derive(e.index.epoch(), || {
            RingSet::for_petition(
                &e.electorate,
                &e.index,
                u64::MAX,
                p.leaf_index,
                p.tracker.petition.region_min_group,
            )
        })
    }

    /// The rings an anonymous ballot of referendum `id` uses now (04 §4.10): every
    /// registrar act folded so far is before the next leaf.
    pub fn referendum_rings(&self, id: &str) -> Result<Arc<RingSet>, ProtocolError> {
        let r = self.referendums.get(id).ok_or_else(|| {
            ProtocolError::invalid("referendum_id", format!("unknown referendum {id}"))
        })?;
        let e = self
            .electorates
            .get(&r.manifest.electorate_hash)
            .ok_or_else(|| {
                ProtocolError::invalid("electorate", "referendum without its electorate")
            })?;
        r.rings.get_or_derive(e.index.epoch(), || {
            RingSet::for_referendum(&e.electorate, &e.index, u64::MAX, r.leaf_index)
        })
    }

    fn petition(&mut self, id: &str) -> Result<&mut PetitionInfo, ProtocolError> {
        self.petitions
            .get_mut(id)
            .ok_or_else(|| ProtocolError::invalid("petition_id", format!("unknown petition {id}")))
    }

    fn referendum(&mut self, id: &str) -> Result<&mut ReferendumInfo, ProtocolError> {
        self.referendums.get_mut(id).ok_or_else(|| {
            ProtocolError::invalid("referendum_id", format!("unknown referendum {id}"))
        })
    }

    /// Replay an electorate entry through the [`Roll`], then mirror its effect in
    /// `electorates`/`electorate_ids` (what manifests, petitions and ballots look up).
    fn electorate_entry(&mut self, index: u64, payload: &Payload) -> Result<(), ProtocolError> {
        let effect = self
            .roll
            .apply(index, payload)
            .map_err(|e| ProtocolError::invalid("electorate", e.to_string()))?;
        match payload {
            Payload::EnrolmentOpened { opening, .. } => {
                self.openings.insert(opening.electorate_id.clone(), index);
            }
            Payload::CredentialRevoked { electorate_id, .. } => {
                *self.revocations.entry(electorate_id.clone()).or_default() += 1;
            }
            _ => {}
        }
        let missing = |hash: Hash32| {
            ProtocolError::invalid("electorate", format!("the roll lost electorate {hash}"))
        };
        match effect {
            Effect::None => {}
            Effect::Usable(hash) => {
                let (electorate, live) = self.roll.usable(&hash).ok_or_else(|| missing(hash))?;
                let info = Arc::new(ElectorateInfo {
                    electorate: Arc::new(electorate.clone()),
                    index: live.clone(),
                    hash,
                    leaf_index: index,
                });
                self.electorate_ids.insert(electorate.id.clone(), hash);
                self.electorates.insert(hash, info);
            }
            Effect::IndexChanged(hash) => {
                let (_, live) = self.roll.usable(&hash).ok_or_else(|| missing(hash))?;
                let old = self.electorates.get(&hash).ok_or_else(|| missing(hash))?;
                let info = Arc::new(ElectorateInfo {
                    electorate: Arc::clone(&old.electorate),
                    index: live.clone(),
                    hash,
                    leaf_index: old.leaf_index,
                });
                self.electorates.insert(hash, info);
            }
        }
        Ok(())
    }

    /// The id of the electorate still enrolling whose list, frozen now, would have
    /// hash `hash` (a manifest or petition naming it is refused with a clear answer
    /// rather than as an unknown hash). Hashes every enrolling list: only called on the
    /// refusal path.
    pub fn enrolling_with_hash(&self, hash: &Hash32) -> Option<String> {
        self.openings
            .keys()
            .filter(|id| !self.roll.is_frozen(id))
            .find(|id| {
                self.roll
                    .pending(id)
                    .is_ok_and(|e| e.canonical_hash() == *hash)
            })
            .cloned()
    }

    fn apply(&mut self, index: u64, entry: &BoardEntry) -> Result<(), ProtocolError> {
        let ts = entry.timestamp_ms;
        match &entry.payload {
            // Folded by `authority`; the witness policy starts here.
            Payload::Genesis { genesis } => {
                self.witness_policies = Some(DeclaredWitnessPolicies {
                    genesis: genesis.witnesses.clone(),
                    changes: Vec::new(),
                });
            }
            Payload::WitnessPolicySet { policy, .. } => {
                if let Some(w) = &mut self.witness_policies {
                    w.changes.push((index, policy.clone()));
                }
            }
            Payload::RoleKeyRotated { .. } => self.rotation_leaves.push(index),
            // Every electorate rule is the roll's; here only what it changed is mirrored.
            Payload::ElectorateRegistered { .. }
            | Payload::EnrolmentOpened { .. }
            | Payload::CredentialEnrolled { .. }
            | Payload::CredentialRevoked { .. }
            | Payload::ElectorateFrozen { .. } => self.electorate_entry(index, &entry.payload)?,
            Payload::PetitionProposed { proposal } => {
                let id = proposal.petition.id.clone();
                let proposer_region = self
                    .electorates
                    .get(&proposal.petition.electorate_hash)
                    .and_then(|e| e.region_of(&proposal.proposer));
                let mut info = PetitionInfo {
                    tracker: PetitionTracker::new(proposal, proposer_region),
                    leaf_index: index,
                    proposed_at: ts,
                    rejection_reason: None,
                    invalidations: Vec::new(),
                    publish_leaf: None,
                    daily_counts: Vec::new(),
                    rings: RingCache::default(),
                };
                info.note_count(ts);
                self.petitions.insert(id.clone(), info);
                self.petition_order.push(id);
            }
            Payload::PetitionSigned { signature } => {
                let electorate = self
                    .petitions
                    .get(&signature.petition_id)
                    .and_then(|p| self.electorates.get(&p.tracker.petition.electorate_hash))
                    .cloned();
                let region = match signature.action {
                    SignatureAction::Sign => electorate
                        .as_ref()
                        .and_then(|e| e.region_of(&signature.credential)),
                    SignatureAction::Withdraw => None,
                };
                let p = self.petition(&signature.petition_id)?;
                p.tracker.apply_signature(signature, region, ts)?;
                p.note_count(ts);
            }
            Payload::PetitionRingSigned { signature } => {
                let region = match signature.action {
                    SignatureAction::Sign => {
                        let rings = self.petition_rings(&signature.petition_id)?;
                        let pos = rings.position_of(&signature.ring).ok_or_else(|| {
                            ProtocolError::invalid("ring", "not one of the petition's rings")
                        })?;
                        rings.rings().get(pos).and_then(|r| r.region.clone())
                    }
                    SignatureAction::Withdraw => None,
                };
                let p = self.petition(&signature.petition_id)?;
                p.tracker
                    .apply_ring_signature(signature, region.as_deref(), ts)?;
                p.note_count(ts);
            }
            // Thresholds are consequences the tracker derives itself; the entries make
            // them visible on the board.
            Payload::PetitionThreshold { .. } => {}
            Payload::PetitionModerated {
                petition_id,
                moderation,
                ..
            } => {
                let p = self.petition(petition_id)?;
                p.tracker.apply_moderation(moderation, ts)?;
                match moderation {
                    vox_protocol::petition::Moderation::Reject { reason } => {
                        p.rejection_reason = Some(reason.clone());
                    }
                    vox_protocol::petition::Moderation::Publish { referendum, .. } => {
                        p.publish_leaf = Some(index);
                        self.reserved_ids
                            .insert(referendum.referendum_id.clone(), petition_id.clone());
                    }
                }
            }
            Payload::PetitionResponded {
                petition_id, text, ..
            } => {
                self.petition(petition_id)?
                    .tracker
                    .apply_response(text, ts)?;
            }
            Payload::PetitionPolicySet { policy, .. } => {
                self.petition_policy = Some(PolicyInForce {
                    policy: policy.clone(),
                    leaf_index: index,
                    set_at: ts,
                });
            }
            Payload::SignaturesInvalidated {
                petition_id,
                credentials,
                tags,
                reason,
                ..
            } => {
                let p = self.petition(petition_id)?;
                let count = p.tracker.apply_invalidation(credentials, tags)?;
                p.note_count(ts);
                p.invalidations.push(Invalidation {
                    leaf_index: index,
                    count,
                    reason: reason.clone(),
                });
            }
            Payload::PetitionClosed { petition_id, .. } => {
                self.petition(petition_id)?.tracker.apply_close(ts)?;
            }
            Payload::ReferendumCreated { manifest, .. } => {
                if manifest.source_petition.is_some() {
                    return Err(ProtocolError::invalid(
                        "source_petition",
                        "a referendum-created act may not name a source petition",
                    ));
                }
                self.create_referendum(index, manifest)?;
            }
            Payload::ReferendumTriggered { manifest } => {
                let pid = manifest.source_petition.clone().ok_or_else(|| {
                    ProtocolError::invalid("source_petition", "a triggered referendum names none")
                })?;
                let panel = self.panel.as_ref().map(|p| p.panel.clone());
                let panel_leaf = self.panel.as_ref().map(|p| p.leaf_index);
                let p = self.petition(&pid)?;
                p.tracker
                    .apply_referendum_triggered(manifest, panel.as_ref(), ts)?;
                let trigger = match (p.publish_leaf, panel_leaf) {
                    (Some(publish_leaf), Some(panel_leaf)) => {
                        Some(vox_protocol::device::TriggerLeaves {
                            petition_leaf: p.leaf_index,
                            publish_leaf,
                            panel_leaf,
                        })
                    }
                    _ => None,
                };
                self.create_referendum(index, manifest)?;
                if let Some(r) = self.referendums.get_mut(&manifest.referendum_id) {
                    r.trigger = trigger;
                }
            }
            Payload::TrusteePanelSet { panel, .. } => {
                panel.validate()?;
                self.panel = Some(PanelInForce {
                    panel: panel.clone(),
                    leaf_index: index,
                    set_at: ts,
                });
            }
            Payload::SharesOverdue {
                referendum_id,
                trustees,
            } => {
                self.referendum(referendum_id)?.overdue = Some(trustees.clone());
            }
            Payload::Ceremony { message } => {
                let r = self.referendum(&message.referendum_id)?;
                let manifest = Arc::clone(&r.manifest);
                if let Some(joint) = r.ceremony.apply(&manifest, message, ts)? {
                    r.joint = Some(Arc::new(joint));
                }
                r.ceremony_leaves.push(index);
                match &message.body {
                    CeremonyBody::Answer { answer } => r.answers.push(*answer),
                    CeremonyBody::Confirm => r.confirmed.push(message.trustee),
                    _ => {}
                }
                if matches!(r.ceremony.phase, CeremonyPhase::Failed { .. }) {
                    r.state = RefState::Failed;
                }
            }
            Payload::TrusteeDisqualified {
                referendum_id,
                trustee,
                complaint,
                reason,
            } => {
                let r = self.referendum(referendum_id)?;
                if let Some(joint) = r.ceremony.disqualify(*trustee, *complaint, *reason, ts)? {
                    r.joint = Some(Arc::new(joint));
                }
                // A device replaying the ceremony (D5) needs the disqualifications too:
                // they change QUAL and so the election key.
                r.ceremony_leaves.push(index);
                if matches!(r.ceremony.phase, CeremonyPhase::Failed { .. }) {
                    r.state = RefState::Failed;
                }
            }
            Payload::CeremonyCompleted {
                referendum_id,
                election_key,
                ..
            } => {
                let r = self.referendum(referendum_id)?;
                match &r.joint {
                    Some(j) if j.election_key() == election_key => {
                        r.state = RefState::Ready;
                        r.completed_leaf = Some(index);
                    }
                    _ => {
                        return Err(ProtocolError::invalid(
                            "election_key",
                            "does not match the ceremony",
                        ))
                    }
                }
            }
            Payload::ReferendumOpened { referendum_id, .. } => {
                self.referendum(referendum_id)?.state = RefState::Open;
            }
            Payload::BallotCast { .. } | Payload::BallotAudited { .. } => {}
            Payload::ReferendumClosed { referendum_id } => {
                self.referendum(referendum_id)?.state = RefState::Closed;
            }
            Payload::TallyComputed { tally } => {
                let r = self.referendum(&tally.referendum_id)?;
                r.tally = Some(Arc::new(tally.clone()));
                r.state = RefState::Tallied;
                r.tallied_at = Some(ts);
            }
            Payload::DecryptionShare { share } => {
                self.referendum(&share.referendum_id)?
                    .shares
                    .push(share.clone());
            }
            Payload::ResultPublished { result } => {
                let r = self.referendum(&result.referendum_id)?;
                r.result = Some(result.clone());
                r.state = RefState::Published;
            }
        }
        Ok(())
    }

    /// Record a referendum created at leaf `index` (`referendum-created` or
    /// `referendum-triggered`).
    fn create_referendum(&mut self, index: u64, manifest: &Manifest) -> Result<(), ProtocolError> {
        let id = manifest.referendum_id.clone();
        if self.referendums.contains_key(&id) {
            return Err(ProtocolError::invalid(
                "referendum_id",
                format!("referendum {id} already exists"),
            ));
        }
        let info = ReferendumInfo::new(manifest, index)?;
        self.referendums.insert(id.clone(), info);
        self.referendum_order.push(id);
        Ok(())
    }
}
