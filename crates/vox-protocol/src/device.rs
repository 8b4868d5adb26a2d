//! What a citizen's device checks before it encrypts anything (protocol-spec/04-ballots.md
//! §4.7, steps D1–D7), without I/O: the one implementation the command-line client
//! (`vox-cli`, which fetches over HTTP) and the browser (`vox-web`, compiled to wasm,
//! whose page fetches) both run.
//!
//! Why: the server is not trusted with ballot secrecy. If the device took the election key
//! (or the trustees' reveals that define it) from the server's JSON, a malicious server
//! could hand one voter a manifest and reveals for polynomials it drew itself, read that
//! voter's ballot, then answer with an error so the voter votes again. So the device takes
//! nothing about the key from the server's word:
//!
//! - the board key is one the device already trusts (pinned or given; pinning is the
//!   caller's I/O), and the board's signed tree head must verify under it (D1);
//! - every entry the key depends on is a **board leaf** proved included under that signed
//!   head: the genesis (D2), the role key rotations before the manifest (D3), the
//!   `referendum-created` entry, whose act must be signed by the election authority's key
//!   of that time (D4), every ceremony message of the referendum, each signed by its
//!   trustee and replayed with the ceremony rules (D5), and the `ceremony-completed`
//!   entry (D6);
//! - the election key K is **recomputed** from those leaves and must equal the key the
//!   completion entry and the server's view publish (D7).
//!
//! The server's referendum view ([`ReferendumClaims`]) gives the leaf indices of those
//! entries; they are hints only. [`leaves_to_fetch`] turns them into the list of leaves a
//! device fetches (about 4n + 3 for n trustees, plus the rare rotations, never the
//! ballots), and [`check_election_key`] checks each fetched leaf for its inclusion, its
//! kind, its referendum and its signature. What a device cannot see from these hints is a
//! rotation the server leaves out: that would make it check the manifest's act against a
//! role key the board has since replaced, which only helps an attacker who holds that old
//! key; the verifier (V4) replays every rotation and catches it.

use serde::{Deserialize, Serialize};
use vox_crypto::elgamal::ElectionPublicKey;
use vox_crypto::Hash32;

use crate::board::{BoardEntry, BoardPublicKey, Payload, SignedTreeHead};
use crate::ceremony::{completed_payload, CeremonyPhase, CeremonyTracker};
use crate::encoding::Hashable;
use crate::manifest::Manifest;
use crate::merkle::{verify_inclusion, NodeHash};
use crate::petition::Moderation;
use crate::roles::Authorities;

/// A device check failed: the device must not encrypt. The message says which leaf or
/// which claim of the server is wrong, for the voter (and whoever they report it to).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DeviceError(pub String);

type Result<T> = core::result::Result<T, DeviceError>;

macro_rules! refuse {
    ($($arg:tt)*) => {
        return Err(DeviceError(format!($($arg)*)))
    };
}

fn error(message: impl Into<String>) -> DeviceError {
    DeviceError(message.into())
}

/// `xxxx xxxx xxxx xxxx`: the first 8 bytes of a hash as 4 groups of hex, short enough
/// to read aloud and compare with what the town publishes.
pub fn fingerprint(hash: &Hash32) -> String {
    hash.0
        .chunks(2)
        .take(4)
        .map(hex::encode)
        .collect::<Vec<_>>()
        .join(" ")
}

/// What the server says about a referendum (`GET /api/v1/referendums/{id}`, the fields
/// the device uses; others are ignored when parsed from that JSON). The manifest and the
/// key are claims to check, the leaf indices are hints of where the evidence is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReferendumClaims {
    /// The manifest the server shows.
    pub manifest: Manifest,
    /// Its hash, as the server announces it.
    pub manifest_hash: Hash32,
    /// The election key the server shows (none before the ceremony completes).
    #[serde(default)]
    pub election_key: Option<ElectionPublicKey>,
    /// Leaf of the `referendum-created` entry (the manifest).
    #[serde(default)]
    pub leaf_index: Option<u64>,
    /// Leaves of the role key rotations before the manifest.
    #[serde(default)]
    pub role_rotation_leaves: Option<Vec<u64>>,
    /// Leaves of the referendum's ceremony messages, in board order.
    #[serde(default)]
    pub ceremony_leaves: Option<Vec<u64>>,
    /// Leaf of its `ceremony-completed` entry.
    #[serde(default)]
    pub completed_leaf: Option<u64>,
    /// For a referendum a petition triggered (`referendum-triggered`): the leaves that
    /// determine its manifest (07 §7.4). Absent for one the authority created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger: Option<TriggerLeaves>,
}

/// Where the parts of a triggered referendum's manifest are on the board: the petition
/// (its electorate), the petitions office's publication (the terms) and the election
/// authority's standing panel (the trustees), each signed by whoever is responsible.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TriggerLeaves {
    /// The `petition-proposed` entry.
    pub petition_leaf: u64,
    /// The `petition-moderated` publish entry carrying the referendum terms.
    pub publish_leaf: u64,
    /// The `trustee-panel-set` entry of the panel in the manifest.
    pub panel_leaf: u64,
}

/// A board leaf as the server served it (`GET /api/v1/board/entries`), with its audit
/// path under the signed tree head (`GET /api/v1/board/inclusion`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProvedLeaf {
    /// Leaf index.
    pub index: u64,
    /// The entry.
    pub entry: BoardEntry,
    /// Its inclusion proof in the tree the signed head signs.
    pub proof: Vec<NodeHash>,
}

/// What the device checked on the board.
#[derive(Clone, Debug)]
pub struct CheckedKey {
    /// The manifest, as the board holds it.
    pub manifest: Manifest,
    /// Its hash.
    pub manifest_hash: Hash32,
    /// K, recomputed from the trustees' signed ceremony messages.
    pub election_key: ElectionPublicKey,
    /// The size of the signed tree head everything was checked under.
    pub tree_size: u64,
    /// The manifest's leaf.
    pub manifest_leaf: u64,
}

// ---- D1: the signed head and inclusion ------------------------------------------------

/// The board's signed tree head must verify under the key the device trusts (D1).
pub fn check_signed_head(sth: &SignedTreeHead, key: &BoardPublicKey) -> Result<()> {
    sth.verify(key).map_err(|e| {
        error(format!(
            "the board's tree head is not signed by the pinned board key: {e}"
        ))
    })
}

/// `leaf_hash` must be leaf `index` of the tree `sth` signs (`proof` is the server's
/// audit path, checked here).
pub fn check_included(
    sth: &SignedTreeHead,
    index: u64,
    leaf_hash: &NodeHash,
    proof: &[NodeHash],
) -> Result<()> {
    let size = sth.head.tree_size;
    verify_inclusion(leaf_hash, index, size, proof, &sth.head.root_hash).map_err(|e| {
        error(format!(
            "leaf {index} is not in the board's signed tree of size {size}: {e}"
        ))
    })
}

/// Start the role replay at leaf 0: it must be a valid genesis naming `board_key` as
/// the operator's (the key that signs the board) (D2).
pub fn genesis_authorities(
    index: u64,
    payload: &Payload,
    board_key: &BoardPublicKey,
) -> Result<Authorities> {
    match payload {
        Payload::Genesis { genesis } if index == 0 => {
            if genesis.keys.operator != *board_key {
                refuse!("the board's genesis names another operator key than the board's");
            }
            Authorities::from_genesis(genesis).map_err(|e| error(format!("leaf 0: {e}")))
        }
        _ => refuse!("leaf 0 of the board is not a valid genesis"),
    }
}

// ---- the plan: which leaves, from the server's hints -----------------------------------

/// Leaf indices must increase strictly and stay in `after..before`.
fn check_order(what: &str, leaves: &[u64], after: Option<u64>, before: u64) -> Result<()> {
    let mut last = after;
    for l in leaves {
        if last.is_some_and(|p| *l <= p) || *l >= before {
            refuse!("the server's {what} leaves {leaves:?} are not in board order");
        }
        last = Some(*l);
    }
    Ok(())
}

/// The server's hints, checked for presence and order.
struct Hints<'a> {
    manifest_leaf: u64,
    rotations: &'a [u64],
    ceremony: &'a [u64],
    completed: u64,
    trigger: Option<TriggerLeaves>,
}

/// D1 and the hints: `sth` must verify under `board_key`, and the server must name every
/// leaf the check needs, in board order, inside the signed tree, with no more ceremony
/// messages than a ceremony of the manifest's trustees can have (so that a device never
/// fetches an unbounded list).
fn hints<'a>(
    board_key: &BoardPublicKey,
    sth: &SignedTreeHead,
    id: &str,
    claims: &'a ReferendumClaims,
) -> Result<Hints<'a>> {
    let old_server = || {
        error(format!(
            "the server does not say where referendum {id}'s entries are on the board \
             (leaf indices missing): this device cannot check the election key, so it \
             will not encrypt"
        ))
    };
    let manifest_leaf = claims.leaf_index.ok_or_else(old_server)?;
    let rotations = claims
        .role_rotation_leaves
        .as_deref()
        .ok_or_else(old_server)?;
    let ceremony = claims.ceremony_leaves.as_deref().ok_or_else(old_server)?;
    let completed = claims.completed_leaf.ok_or_else(|| {
        error(format!(
            "referendum {id}: the key ceremony is not complete on the board"
        ))
    })?;
    check_signed_head(sth, board_key)?;
    let size = sth.head.tree_size;
    check_order("role rotation", rotations, Some(0), manifest_leaf)?;
    check_order("ceremony message", ceremony, Some(manifest_leaf), completed)?;
    if completed >= size {
        refuse!(
            "the ceremony's completion (leaf {completed}) is beyond the signed tree of size {size}"
        );
    }
    // Commit, reveal, shares and confirm per trustee, plus at most a complaint and an
    // answer per pair. Checked against the server's manifest before anything is fetched;
    // the board's manifest must equal it (D4).
    let n = claims.manifest.trustees.len();
    let bound = n
        .saturating_mul(4)
        .saturating_add(n.saturating_mul(n).saturating_mul(2));
    if ceremony.len() > bound {
        refuse!(
            "the server names {} ceremony leaves, more than a ceremony of {} trustees can have",
            ceremony.len(),
            n
        );
    }
    let trigger = claims.trigger;
    if let Some(t) = trigger {
        if !(t.petition_leaf < t.publish_leaf
            && t.publish_leaf < manifest_leaf
            && t.panel_leaf < manifest_leaf)
        {
            refuse!(
                "the server's leaves of the triggering petition ({}, {}) and panel ({}) do \
                 not come before the referendum (leaf {manifest_leaf})",
                t.petition_leaf,
                t.publish_leaf,
                t.panel_leaf
            );
        }
    }
    Ok(Hints {
        manifest_leaf,
        rotations,
        ceremony,
        completed,
        trigger,
    })
}

/// The leaves to fetch, each with its inclusion proof under `sth`, for
/// [`check_election_key`]: the genesis, the rotations, the manifest, the ceremony
/// messages and the completion, in board order. Fails (before anything is fetched) if
/// `sth` does not verify under `board_key` or the server's hints are missing or
/// impossible.
pub fn leaves_to_fetch(
    board_key: &BoardPublicKey,
    sth: &SignedTreeHead,
    id: &str,
    claims: &ReferendumClaims,
) -> Result<Vec<u64>> {
    let h = hints(board_key, sth, id, claims)?;
    let mut out = Vec::with_capacity(h.rotations.len() + h.ceremony.len() + 6);
    out.push(0);
    out.extend_from_slice(h.rotations);
    if let Some(t) = h.trigger {
        out.extend([t.petition_leaf, t.publish_leaf, t.panel_leaf]);
    }
    out.push(h.manifest_leaf);
    out.extend_from_slice(h.ceremony);
    out.push(h.completed);
    Ok(out)
}

/// The entry of leaf `index` among the fetched `leaves`, proved included under `sth`.
fn leaf<'a>(leaves: &'a [ProvedLeaf], sth: &SignedTreeHead, index: u64) -> Result<&'a BoardEntry> {
    let Some(l) = leaves.iter().find(|l| l.index == index) else {
        refuse!("the server did not return board leaf {index}");
    };
    check_included(sth, index, &l.entry.leaf_hash(), &l.proof)?;
    Ok(&l.entry)
}

// ---- the election key (D1–D7) ----------------------------------------------------------

/// D1–D7 for referendum `id`: the election key recomputed from board `leaves` proved
/// included under `sth`, a tree head that must be signed by `board_key` (the key the
/// device trusts). `claims` is the server's view: its leaf indices say which of `leaves`
/// to use, and its manifest and key must agree with the board's. `leaves` must hold
/// every leaf [`leaves_to_fetch`] names; others are ignored.
pub fn check_election_key(
    board_key: &BoardPublicKey,
    sth: &SignedTreeHead,
    id: &str,
    claims: &ReferendumClaims,
    leaves: &[ProvedLeaf],
) -> Result<CheckedKey> {
    // D1: the signed tree head under the trusted key, and the hints.
    let Hints {
        manifest_leaf,
        rotations,
        ceremony,
        completed,
        trigger,
    } = hints(board_key, sth, id, claims)?;
    let size = sth.head.tree_size;

    // D2: the genesis.
    let genesis = leaf(leaves, sth, 0)?;
    let mut authorities = genesis_authorities(0, &genesis.payload, board_key)?;
    if let Payload::Genesis { genesis } = &genesis.payload {
        if sth.origin != genesis.log_name {
            refuse!("the signed tree head names another log than the board's genesis");
        }
    }

    // D3: the role key rotations before the manifest, and (for a triggered referendum)
    // the acts that fixed its parts, each checked under its role's key at its leaf.
    let mut acts: Vec<u64> = rotations.to_vec();
    if let Some(t) = trigger {
        acts.extend([t.publish_leaf, t.panel_leaf]);
    }
    acts.sort_unstable();
    for at in acts {
        let e = leaf(leaves, sth, at)?;
        match &e.payload {
            Payload::RoleKeyRotated { .. } => authorities
                .accept(&e.payload)
                .map_err(|err| error(format!("the role key rotation at leaf {at}: {err}")))?,
            Payload::PetitionModerated { .. } | Payload::TrusteePanelSet { .. }
                if trigger.is_some_and(|t| at == t.publish_leaf || at == t.panel_leaf) =>
            {
                authorities.check(&e.payload).map_err(|err| {
                    error(format!(
                        "the {} act at leaf {at} is not signed by its role's key of that \
                         time: {err}",
                        e.payload.kind()
                    ))
                })?
            }
            other => refuse!(
                "leaf {at} is a {} entry, not the one expected",
                other.kind()
            ),
        }
    }

    // D4: the manifest, signed by the election authority's key of that time — or, for a
    // referendum a petition triggered, exactly the one the office's terms, the
    // authority's panel and the petition determine at the trigger's time (07 §7.4).
    let created = leaf(leaves, sth, manifest_leaf)?;
    let manifest = match (&created.payload, trigger) {
        (Payload::ReferendumCreated { manifest, .. }, None) => {
            authorities.check(&created.payload).map_err(|e| {
                error(format!(
                    "the manifest at leaf {manifest_leaf} is not signed by the election \
                     authority's key of that time: {e}"
                ))
            })?;
            manifest
        }
        (Payload::ReferendumTriggered { manifest }, Some(t)) => {
            let petition = match &leaf(leaves, sth, t.petition_leaf)?.payload {
                Payload::PetitionProposed { proposal } => &proposal.petition,
                other => refuse!(
                    "leaf {} is a {} entry, not the triggering petition",
                    t.petition_leaf,
                    other.kind()
                ),
            };
            let terms = match &leaf(leaves, sth, t.publish_leaf)?.payload {
                Payload::PetitionModerated {
                    petition_id,
                    moderation: Moderation::Publish { referendum, .. },
                    ..
                } if *petition_id == petition.id => referendum,
                other => refuse!(
                    "leaf {} is a {} entry, not the publication of petition {:?}",
                    t.publish_leaf,
                    other.kind(),
                    petition.id
                ),
            };
            let panel = match &leaf(leaves, sth, t.panel_leaf)?.payload {
                Payload::TrusteePanelSet { panel, .. } => panel,
                other => refuse!(
                    "leaf {} is a {} entry, not a trustee panel",
                    t.panel_leaf,
                    other.kind()
                ),
            };
            if terms.manifest(petition, panel, created.timestamp_ms) != *manifest {
                refuse!(
                    "the manifest at leaf {manifest_leaf} is not the one petition {:?}'s \
                     published terms and the standing panel determine",
                    petition.id
                );
            }
            manifest
        }
        (other, _) => refuse!(
            "leaf {manifest_leaf} is a {} entry, not the creation of referendum {id}",
            other.kind()
        ),
    };
    if manifest.referendum_id != id {
        refuse!(
            "leaf {manifest_leaf} creates referendum {:?}, not {id:?}",
            manifest.referendum_id
        );
    }
    manifest.validate().map_err(|e| {
        error(format!(
            "the manifest at leaf {manifest_leaf} is invalid: {e}"
        ))
    })?;
    let manifest_hash = manifest.canonical_hash();
    if manifest_hash != claims.manifest_hash || *manifest != claims.manifest {
        refuse!(
            "the server's manifest of referendum {id} is not the one on the board at leaf \
             {manifest_leaf}"
        );
    }

    // D5: every ceremony message, signed by its trustee, replayed with the ceremony rules.
    let mut tracker = CeremonyTracker::new(manifest, manifest_hash)
        .map_err(|e| error(format!("ceremony: {e}")))?;
    let mut joint = None;
    for &at in ceremony {
        let e = leaf(leaves, sth, at)?;
        // A disqualification (tag 28) is part of the ceremony: it changes QUAL and so
        // the key the device must encrypt to.
        if let Payload::TrusteeDisqualified {
            referendum_id,
            trustee,
            complaint,
            reason,
        } = &e.payload
        {
            if referendum_id != id {
                refuse!(
                    "leaf {at} disqualifies a trustee of referendum {referendum_id:?}, not {id:?}"
                );
            }
            match tracker.disqualify(*trustee, *complaint, *reason, e.timestamp_ms) {
                Ok(Some(j)) => joint = Some(j),
                Ok(None) => {}
                Err(err) => {
                    refuse!("the disqualification at leaf {at} breaks the ceremony rules: {err}")
                }
            }
            if let CeremonyPhase::Failed { reason } = &tracker.phase {
                refuse!("the key ceremony failed on the board (leaf {at}): {reason}");
            }
            continue;
        }
        let Payload::Ceremony { message } = &e.payload else {
            refuse!(
                "leaf {at} is a {} entry, not a ceremony message",
                e.payload.kind()
            );
        };
        if message.referendum_id != id {
            refuse!(
                "leaf {at} is a ceremony message of referendum {:?}, not {id:?}",
                message.referendum_id
            );
        }
        message
            .verify_signature(manifest, &manifest_hash)
            .map_err(|err| {
                error(format!(
                    "the ceremony message at leaf {at} is not signed by trustee {}'s key in \
                     the manifest: {err}",
                    message.trustee
                ))
            })?;
        match tracker.apply(manifest, message, e.timestamp_ms) {
            Ok(Some(j)) => joint = Some(j),
            Ok(None) => {}
            Err(err) => {
                refuse!("the ceremony message at leaf {at} breaks the ceremony rules: {err}")
            }
        }
        if let CeremonyPhase::Failed { reason } = &tracker.phase {
            refuse!("the key ceremony failed on the board (leaf {at}): {reason}");
        }
    }
    let joint = joint.ok_or_else(|| {
        error(format!(
            "the ceremony messages the server pointed to ({} leaves) do not complete the \
             ceremony: every trustee's signed commitment, reveal, shares and confirmation are \
             needed",
            ceremony.len()
        ))
    })?;
    let (key, shares) = completed_payload(&joint).map_err(|e| error(format!("ceremony: {e}")))?;

    // D6: the completion entry publishes that key.
    let done = leaf(leaves, sth, completed)?;
    match &done.payload {
        Payload::CeremonyCompleted {
            referendum_id,
            election_key,
            public_shares,
        } if referendum_id == id => {
            if *election_key != key || *public_shares != shares {
                refuse!(
                    "the ceremony completion at leaf {completed} publishes another key than \
                     the trustees' signed reveals give"
                );
            }
        }
        p => refuse!(
            "leaf {completed} is a {} entry, not the completion of referendum {id}'s ceremony",
            p.kind()
        ),
    }

    // D7: the server's own view must agree.
    if claims.election_key != Some(key) {
        refuse!(
            "the server's election key for referendum {id} is NOT the key the trustees' signed \
             ceremony messages on the board define: refusing to encrypt to it"
        );
    }
    Ok(CheckedKey {
        manifest: manifest.clone(),
        manifest_hash,
        election_key: key,
        tree_size: size,
        manifest_leaf,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use crate::board::{Sig, TreeHead};
    use crate::ceremony::{CeremonyBody, CeremonyMessage};
    use crate::manifest::{Question, QuestionKind, TrusteeInfo, MANIFEST_VERSION};
    use crate::merkle::{inclusion_proof, root_from_leaf_hashes};
    use crate::roles::{possession_message, ActSignature, Role, RoleSigners, WitnessPolicy};
    use ed25519_dalek::{Signer, SigningKey};
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;
    use vox_crypto::threshold::{
        receive_share, Dealer, KeyShare, ShareVerdict, TrusteeIndex, TrusteeKeys,
    };

    const T0: i64 = 1_767_225_600_000;
    const ORIGIN: &str = "device.vox.example/test";
    const ID: &str = "r1";

    /// An honest board built with the same constructors as the server and the
    /// trustees' tools: genesis, a rotation of the election authority's key, the
    /// manifest signed with the new key, a whole ceremony of three trustees (k = 2), its
    /// completion and one later entry; and the server's honest view of it.
    struct World {
        roles: RoleSigners,
        /// The election authority's key before the rotation.
        old_authority: SigningKey,
        entries: Vec<BoardEntry>,
        claims: ReferendumClaims,
        rng: ChaCha20Rng,
    }

    impl World {
        fn new(seed: u64) -> Self {
            Self::build(seed, false)
        }

        /// The same board, but the referendum is the one a petition triggered: the
        /// petition, its publication with the referendum terms and the standing panel come
        /// before a `referendum-triggered` entry (07 §7.4).
        fn triggered(seed: u64) -> Self {
            Self::build(seed, true)
        }

        fn build(seed: u64, triggered: bool) -> Self {
            let mut rng = ChaCha20Rng::seed_from_u64(seed);
            let mut roles = RoleSigners::generate(&mut rng);
            let genesis = roles.genesis(ORIGIN, T0, WitnessPolicy::default()).unwrap();
            let mut entries = vec![BoardEntry {
                timestamp_ms: T0,
                payload: Payload::Genesis { genesis },
            }];
            let put = |entries: &mut Vec<BoardEntry>, payload| {
                let i = entries.len() as u64;
                entries.push(BoardEntry {
                    timestamp_ms: T0 + i as i64,
                    payload,
                });
                i
            };
            // D3: the election authority rotates its key before the manifest.
            let new_key = SigningKey::generate(&mut rng);
            let public = BoardPublicKey(new_key.verifying_key());
            let possession = Sig(new_key.sign(&possession_message(
                &roles.log_id(),
                Role::ElectionAuthority,
                &public,
            )));
            let rotation = roles
                .sign(
                    Payload::RoleKeyRotated {
                        role: Role::ElectionAuthority,
                        new_key: public,
                        possession,
                        act: ActSignature::unsigned(),
                    },
                    T0 + 1,
                )
                .unwrap();
            let rotated_at = put(&mut entries, rotation);
            let old_authority = std::mem::replace(&mut roles.election_authority, new_key);

            let trustees: Vec<TrusteeKeys> =
                (0..3).map(|_| TrusteeKeys::generate(&mut rng)).collect();
            let mut manifest = Manifest {
                version: MANIFEST_VERSION,
                referendum_id: ID.into(),
                title: "Plant trees?".into(),
                description: "".into(),
                questions: vec![Question {
                    id: "q1".into(),
                    text: "Plant trees?".into(),
                    options: vec!["yes".into(), "no".into()],
                    kind: QuestionKind::YesNo,
                }],
                opens_at: T0,
                closes_at: T0 + 1_000_000,
                electorate_hash: Hash32([5; 32]),
                trustees: TrusteeInfo::numbered(trustees.iter()),
                threshold: 2,
                answer_due_ms: crate::manifest::DAY_MS,
                decryption_due_ms: crate::manifest::DAY_MS,
                source_petition: None,
                participation: Default::default(),
            };
            let mut trigger = None;
            let created = if triggered {
                // The petition (its electorate), its publication with the terms, the
                // panel: each signed by whoever is responsible; then the board's entry.
                let citizen = vox_crypto::credential::Credential::generate(&mut rng);
                let petition = crate::petition::Petition {
                    id: "p1".into(),
                    action: "Plant trees".into(),
                    background: "Shade".into(),
                    details: String::new(),
                    electorate_hash: manifest.electorate_hash,
                    sponsor_threshold: 1,
                    response_threshold: 1,
                    referendum_threshold: 1,
                    open_for_ms: crate::manifest::DAY_MS,
                    response_due_ms: crate::manifest::DAY_MS,
                    region_min_group: 1,
                    signatures: Default::default(),
                };
                let proposal =
                    crate::petition::PetitionProposal::create(petition.clone(), &citizen, &mut rng);
                let petition_leaf = put(&mut entries, Payload::PetitionProposed { proposal });
                let terms = crate::petition::ReferendumTerms {
                    referendum_id: ID.into(),
                    title: manifest.title.clone(),
                    description: String::new(),
                    questions: manifest.questions.clone(),
                    opens_after_ms: 10_000,
                    voting_ms: 1_000_000,
                    participation: Default::default(),
                };
                let at = T0 + entries.len() as i64;
                let publish = roles
                    .sign(
                        Payload::PetitionModerated {
                            petition_id: "p1".into(),
                            moderation: Moderation::Publish {
                                closes_at: at + 1_000,
                                referendum: terms.clone(),
                            },
                            act: ActSignature::unsigned(),
                        },
                        at,
                    )
                    .unwrap();
                let publish_leaf = put(&mut entries, publish);
                let panel = crate::manifest::TrusteePanel {
                    trustees: manifest.trustees.clone(),
                    threshold: 2,
                    answer_due_ms: crate::manifest::DAY_MS,
                    decryption_due_ms: crate::manifest::DAY_MS,
                };
                let at = T0 + entries.len() as i64;
                let panel_act = roles
                    .sign(
                        Payload::TrusteePanelSet {
                            panel: panel.clone(),
                            act: ActSignature::unsigned(),
                        },
                        at,
                    )
                    .unwrap();
                let panel_leaf = put(&mut entries, panel_act);
                trigger = Some(TriggerLeaves {
                    petition_leaf,
                    publish_leaf,
                    panel_leaf,
                });
                manifest = terms.manifest(&petition, &panel, T0 + entries.len() as i64);
                Payload::ReferendumTriggered {
                    manifest: manifest.clone(),
                }
            } else {
                roles
                    .sign(
                        Payload::ReferendumCreated {
                            manifest: manifest.clone(),
                            act: ActSignature::unsigned(),
                        },
                        T0 + 2,
                    )
                    .unwrap()
            };
            let mh = manifest.canonical_hash();
            let manifest_leaf = put(&mut entries, created);

            // The ceremony, every message signed by its trustee and applied to a tracker.
            let mut tracker = CeremonyTracker::new(&manifest, mh).unwrap();
            let params = *tracker.params();
            let mut ceremony = Vec::new();
            let mut send = |entries: &mut Vec<BoardEntry>,
                            tracker: &mut CeremonyTracker,
                            i: u32,
                            body,
                            rng: &mut ChaCha20Rng| {
                let msg = CeremonyMessage::sign(
                    &manifest,
                    &mh,
                    i,
                    &trustees[(i - 1) as usize],
                    body,
                    rng,
                );
                let joint = tracker.apply(&manifest, &msg, 0).unwrap();
                ceremony.push(put(entries, Payload::Ceremony { message: msg }));
                joint
            };
            let dealers: Vec<Dealer> = (1..=3)
                .map(|i| {
                    Dealer::new(&params, TrusteeIndex::new(i).unwrap(), &mh, &mut rng).unwrap()
                })
                .collect();
            for (d, i) in dealers.iter().zip(1u32..) {
                let key = trustees[(i - 1) as usize].announce(
                    TrusteeIndex::new(i).unwrap(),
                    &mh,
                    &mut rng,
                );
                let body = CeremonyBody::Commit {
                    key,
                    commitment: d.commitment(),
                };
                send(&mut entries, &mut tracker, i, body, &mut rng);
            }
            let posted = tracker.commitments();
            let revealed: Vec<_> = dealers
                .into_iter()
                .map(|d| d.reveal(&posted).unwrap())
                .collect();
            for (r, i) in revealed.iter().zip(1u32..) {
                let body = CeremonyBody::Reveal {
                    coefficients: r.commitments().clone(),
                };
                send(&mut entries, &mut tracker, i, body, &mut rng);
            }
            let announced = tracker.trustee_keys();
            for (r, i) in revealed.iter().zip(1u32..) {
                let shares = r.encrypt_shares(&announced, &mut rng).unwrap();
                send(
                    &mut entries,
                    &mut tracker,
                    i,
                    CeremonyBody::Shares { shares },
                    &mut rng,
                );
            }
            let reveals = tracker.reveals();
            let mut joint = None;
            for (r, l) in revealed.iter().zip(1u32..) {
                let li = TrusteeIndex::new(l).unwrap();
                let mut got = vec![(li, r.own_share())];
                for es in tracker.shares_for(l) {
                    let dealer = reveals.iter().find(|c| c.dealer == es.dealer).unwrap();
                    match receive_share(&mh, li, &trustees[(l - 1) as usize], dealer, &es).unwrap()
                    {
                        ShareVerdict::Accepted(s) => got.push((es.dealer, s)),
                        ShareVerdict::Complaint(_) => panic!("honest share refused"),
                    }
                }
                KeyShare::combine(&params, li, &got).unwrap();
                joint = send(
                    &mut entries,
                    &mut tracker,
                    l,
                    CeremonyBody::Confirm,
                    &mut rng,
                )
                .or(joint);
            }
            let (election_key, public_shares) = completed_payload(&joint.unwrap()).unwrap();
            let completed = put(
                &mut entries,
                Payload::CeremonyCompleted {
                    referendum_id: ID.into(),
                    election_key,
                    public_shares,
                },
            );
            put(
                &mut entries,
                Payload::ReferendumOpened {
                    referendum_id: ID.into(),
                },
            );
            let claims = ReferendumClaims {
                manifest,
                manifest_hash: mh,
                election_key: Some(election_key),
                leaf_index: Some(manifest_leaf),
                role_rotation_leaves: Some(vec![rotated_at]),
                ceremony_leaves: Some(ceremony),
                completed_leaf: Some(completed),
                trigger,
            };
            Self {
                roles,
                old_authority,
                entries,
                claims,
                rng,
            }
        }

        fn board_key(&self) -> BoardPublicKey {
            BoardPublicKey(self.roles.operator.verifying_key())
        }

        /// The board's signed head over every entry (a dishonest server holds the board
        /// key too, so a changed board gets a head signed by it).
        fn head(&self) -> SignedTreeHead {
            let hashes: Vec<NodeHash> = self.entries.iter().map(BoardEntry::leaf_hash).collect();
            SignedTreeHead::sign(
                TreeHead {
                    tree_size: hashes.len() as u64,
                    root_hash: root_from_leaf_hashes(&hashes),
                    timestamp_ms: T0 + 1_000,
                },
                ORIGIN,
                &self.roles.operator,
            )
            .unwrap()
        }

        /// The leaves a device fetches, with their proofs under `head()`.
        fn fetched(&self, sth: &SignedTreeHead) -> Vec<ProvedLeaf> {
            let hashes: Vec<NodeHash> = self.entries.iter().map(BoardEntry::leaf_hash).collect();
            leaves_to_fetch(&self.board_key(), sth, ID, &self.claims)
                .unwrap()
                .into_iter()
                .map(|index| ProvedLeaf {
                    index,
                    entry: self.entries[index as usize].clone(),
                    proof: inclusion_proof(&hashes, index).unwrap(),
                })
                .collect()
        }

        /// The check as a device runs it on this board.
        fn check(&self) -> Result<CheckedKey> {
            let sth = self.head();
            let leaves = self.fetched(&sth);
            check_election_key(&self.board_key(), &sth, ID, &self.claims, &leaves)
        }

        fn ceremony_leaf(&self, k: usize) -> usize {
            self.claims.ceremony_leaves.as_ref().unwrap()[k] as usize
        }

        fn message_mut(&mut self, k: usize) -> &mut CeremonyMessage {
            let at = self.ceremony_leaf(k);
            match &mut self.entries[at].payload {
                Payload::Ceremony { message } => message,
                p => panic!("leaf {at} is {}", p.kind()),
            }
        }
    }

    fn refused(r: Result<CheckedKey>, needle: &str) {
        match r {
            Ok(_) => panic!("accepted, expected a refusal with {needle:?}"),
            Err(e) => assert!(e.0.contains(needle), "{e}"),
        }
    }

    #[test]
    fn fingerprints_are_four_groups() {
        let h = Hash32([0xab; 32]);
        assert_eq!(fingerprint(&h), "abab abab abab abab");
    }

    #[test]
    fn order_checks() {
        assert!(check_order("x", &[1, 2, 5], Some(0), 6).is_ok());
        assert!(check_order("x", &[1, 1], Some(0), 6).is_err());
        assert!(check_order("x", &[0], Some(0), 6).is_err());
        assert!(check_order("x", &[6], Some(0), 6).is_err());
        assert!(check_order("x", &[], Some(0), 0).is_ok());
    }

    #[test]
    fn an_honest_board_gives_the_key_the_trustees_made() {
        let w = World::new(1);
        let sth = w.head();
        let want = leaves_to_fetch(&w.board_key(), &sth, ID, &w.claims).unwrap();
        // Genesis, one rotation, the manifest, 4 messages × 3 trustees, the completion.
        assert_eq!(want.len(), 3 + 12 + 1);
        assert_eq!(want[0], 0);
        let got = w.check().unwrap();
        assert_eq!(Some(got.election_key), w.claims.election_key);
        assert_eq!(got.manifest, w.claims.manifest);
        assert_eq!(got.manifest_hash, w.claims.manifest_hash);
        assert_eq!(got.tree_size, w.entries.len() as u64);
        assert_eq!(Some(got.manifest_leaf), w.claims.leaf_index);
        // The order of the fetched leaves does not matter, extra leaves are ignored.
        let mut leaves = w.fetched(&sth);
        leaves.reverse();
        check_election_key(&w.board_key(), &sth, ID, &w.claims, &leaves).unwrap();
    }

    #[test]
    fn a_triggered_referendum_is_checked_against_its_terms_and_panel() {
        let w = World::triggered(7);
        let sth = w.head();
        let want = leaves_to_fetch(&w.board_key(), &sth, ID, &w.claims).unwrap();
        // Genesis, the rotation, petition, publication, panel, the manifest, 12 messages,
        // the completion.
        assert_eq!(want.len(), 6 + 12 + 1);
        let got = w.check().unwrap();
        assert_eq!(Some(got.election_key), w.claims.election_key);
        let t = w.claims.trigger.unwrap();
        let manifest_leaf = w.claims.leaf_index.unwrap() as usize;

        // The operator changes the question of the triggered manifest (and shows the same
        // to the device): not the one the office's terms determine.
        let mut bad = World::triggered(7);
        if let Payload::ReferendumTriggered { manifest } = &mut bad.entries[manifest_leaf].payload {
            manifest.questions[0].text = "Cut trees?".into();
            bad.claims.manifest = manifest.clone();
            bad.claims.manifest_hash = manifest.canonical_hash();
        }
        refused(bad.check(), "not the one petition");

        // The terms under a signature that is not the petitions office's.
        let mut bad = World::triggered(7);
        let at = t.publish_leaf as usize;
        let ts = bad.entries[at].timestamp_ms;
        let payload = bad.entries[at].payload.clone();
        bad.entries[at].payload = payload
            .signed_act(&bad.roles.log_id(), ts, &bad.roles.registrar)
            .unwrap();
        refused(bad.check(), "not signed by its role's key");

        // A panel leaf that is not a panel.
        let mut bad = World::triggered(7);
        bad.claims.trigger = Some(TriggerLeaves {
            panel_leaf: t.petition_leaf,
            ..t
        });
        refused(bad.check(), "not the one expected");

        // A triggered entry presented as if the authority had created it.
        let mut bad = World::triggered(7);
        bad.claims.trigger = None;
        refused(bad.check(), "not the creation of referendum");
    }

    #[test]
    fn another_board_key_is_refused() {
        let w = World::new(2);
        let sth = w.head();
        let leaves = w.fetched(&sth);
        let other = BoardPublicKey(SigningKey::from_bytes(&[9; 32]).verifying_key());
        let e = check_election_key(&other, &sth, ID, &w.claims, &leaves).unwrap_err();
        assert!(e.0.contains("not signed by the pinned board key"), "{e}");
        assert!(leaves_to_fetch(&other, &sth, ID, &w.claims).is_err());
        // D2: a head signed by the trusted key over a board whose genesis names another
        // operator (the trusted key is not this log's).
        let mut w = World::new(2);
        w.roles.operator = SigningKey::from_bytes(&[9; 32]);
        refused(
            w.check(),
            "the board's genesis names another operator key than the board's",
        );
    }

    #[test]
    fn a_leaf_not_in_the_signed_tree_is_refused() {
        let w = World::new(3);
        let sth = w.head();
        // A ceremony message the server serves differently from the one in its tree.
        let mut leaves = w.fetched(&sth);
        let k = leaves
            .iter()
            .position(|l| l.index == w.ceremony_leaf(4) as u64)
            .unwrap();
        leaves[k].entry.timestamp_ms += 1;
        refused(
            check_election_key(&w.board_key(), &sth, ID, &w.claims, &leaves),
            &format!(
                "leaf {} is not in the board's signed tree",
                w.ceremony_leaf(4)
            ),
        );
        // A wrong audit path.
        let mut leaves = w.fetched(&sth);
        leaves[0].proof.pop();
        refused(
            check_election_key(&w.board_key(), &sth, ID, &w.claims, &leaves),
            "leaf 0 is not in the board's signed tree",
        );
        // A leaf left out.
        let mut leaves = w.fetched(&sth);
        leaves.retain(|l| Some(l.index) != w.claims.completed_leaf);
        refused(
            check_election_key(&w.board_key(), &sth, ID, &w.claims, &leaves),
            "did not return board leaf",
        );
    }

    #[test]
    fn a_ceremony_message_with_a_bad_signature_is_refused() {
        // The server swaps a trustee's reveal for its own polynomial's (keeping the
        // trustee's signature) and signs a new head over that board.
        let mut w = World::new(4);
        let params = vox_crypto::threshold::CeremonyParams::new(3, 2).unwrap();
        let mh = w.claims.manifest_hash;
        let fake = Dealer::new(&params, TrusteeIndex::new(1).unwrap(), &mh, &mut w.rng).unwrap();
        let msg = w.message_mut(3);
        assert!(matches!(msg.body, CeremonyBody::Reveal { .. }));
        msg.body = CeremonyBody::Reveal {
            coefficients: fake.coefficients().clone(),
        };
        refused(
            w.check(),
            "is not signed by trustee 1's key in the manifest",
        );
    }

    #[test]
    fn a_ceremony_message_from_a_substituted_trustee_is_refused() {
        // The server runs trustee 2's part itself, signing with a key of its own.
        let mut w = World::new(5);
        let impostor = TrusteeKeys::generate(&mut w.rng);
        let manifest = w.claims.manifest.clone();
        let mh = w.claims.manifest_hash;
        let body = w.message_mut(1).body.clone();
        let forged = CeremonyMessage::sign(&manifest, &mh, 2, &impostor, body, &mut w.rng);
        *w.message_mut(1) = forged;
        refused(
            w.check(),
            "is not signed by trustee 2's key in the manifest",
        );
        // A message of another referendum at a ceremony leaf.
        let mut w = World::new(5);
        w.message_mut(0).referendum_id = "r2".into();
        refused(w.check(), "is a ceremony message of referendum \"r2\"");
    }

    #[test]
    fn a_manifest_not_signed_by_the_authority_is_refused() {
        let at = World::new(6).claims.leaf_index.unwrap() as usize;
        let resign = |w: &mut World, key: &SigningKey| {
            let log_id = w.roles.log_id();
            let mut p = w.entries[at].payload.clone();
            p.sign_act(&log_id, T0 + 2, key).unwrap();
            w.entries[at].payload = p;
        };
        // Signed by the registrar.
        let mut w = World::new(6);
        let registrar = w.roles.registrar.clone();
        resign(&mut w, &registrar);
        refused(
            w.check(),
            "is not signed by the election authority's key of that time",
        );
        // Signed with the election authority's key the board had replaced.
        let mut w = World::new(6);
        let old = w.old_authority.clone();
        resign(&mut w, &old);
        refused(
            w.check(),
            "is not signed by the election authority's key of that time",
        );
        // A rotation leaf the server leaves out cannot make the new key's act pass.
        let mut w = World::new(6);
        w.claims.role_rotation_leaves = Some(Vec::new());
        refused(
            w.check(),
            "is not signed by the election authority's key of that time",
        );
    }

    #[test]
    fn a_server_manifest_other_than_the_board_one_is_refused() {
        let mut w = World::new(7);
        w.claims.manifest.questions[0].text = "Cut the trees down?".into();
        w.claims.manifest_hash = w.claims.manifest.canonical_hash();
        refused(w.check(), "is not the one on the board");
    }

    #[test]
    fn a_key_other_than_the_recomputed_one_is_refused() {
        // The server's view names another key.
        let mut w = World::new(8);
        let other = World::new(9).claims.election_key;
        assert_ne!(other, w.claims.election_key);
        w.claims.election_key = other;
        refused(
            w.check(),
            "NOT the key the trustees' signed ceremony messages",
        );
        // The completion entry on the board publishes another key.
        let mut w = World::new(8);
        let at = w.claims.completed_leaf.unwrap() as usize;
        if let Payload::CeremonyCompleted { election_key, .. } = &mut w.entries[at].payload {
            *election_key = other.unwrap();
        }
        refused(
            w.check(),
            "publishes another key than the trustees' signed reveals give",
        );
    }

    #[test]
    fn missing_or_impossible_hints_are_refused() {
        let w = World::new(10);
        let sth = w.head();
        let leaves = w.fetched(&sth);
        let run = |c: &ReferendumClaims| check_election_key(&w.board_key(), &sth, ID, c, &leaves);
        let mut c = w.claims.clone();
        c.leaf_index = None;
        refused(run(&c), "leaf indices missing");
        let mut c = w.claims.clone();
        c.completed_leaf = None;
        refused(run(&c), "the key ceremony is not complete");
        // The last message left out: the ceremony is not complete.
        let mut c = w.claims.clone();
        c.ceremony_leaves.as_mut().unwrap().pop();
        refused(run(&c), "do not complete the ceremony");
        let mut c = w.claims.clone();
        c.ceremony_leaves.as_mut().unwrap().swap(0, 1);
        refused(run(&c), "not in board order");
        let mut c = w.claims.clone();
        c.completed_leaf = Some(sth.head.tree_size);
        refused(run(&c), "beyond the signed tree");
        let mut c = w.claims.clone();
        let last = *c.ceremony_leaves.as_ref().unwrap().last().unwrap();
        c.ceremony_leaves = Some((c.leaf_index.unwrap() + 1..=last + 100).collect());
        c.completed_leaf = Some(last + 101);
        let big = SignedTreeHead::sign(
            TreeHead {
                tree_size: last + 200,
                ..sth.head
            },
            ORIGIN,
            &w.roles.operator,
        )
        .unwrap();
        refused(
            leaves_to_fetch(&w.board_key(), &big, ID, &c).map(|_| unreachable!()),
            "more than a ceremony of 3 trustees can have",
        );
        // A leaf of another kind where the server says the manifest is.
        let mut c = w.claims.clone();
        c.leaf_index = Some(1);
        c.role_rotation_leaves = Some(Vec::new());
        refused(
            run(&c),
            "is a role-key-rotated entry, not the creation of referendum",
        );
        // Another referendum's id.
        let e = check_election_key(&w.board_key(), &sth, "r2", &w.claims, &leaves).unwrap_err();
        assert!(e.0.contains("creates referendum \"r1\", not \"r2\""), "{e}");
    }
}
