//! Rings for linkable ring signatures, derived from the electorate
//! (protocol-spec/13-ring-signatures.md §13.3).
//!
//! No ring is ever supplied by a signer or the server: the verifier, the server and the
//! citizen's device each derive the same rings from the published electorate and the
//! registrar's revocations and replacements up to a given leaf. The derivation:
//!
//! 1. The credentials in standing at the leaf (frozen members and replacements enrolled
//!    before it, minus those revoked before it) are grouped by region; regions are
//!    taken in byte order of their names, "no region" first.
//! 2. Within a region, credentials are sorted by their 32-byte encoding. The order is
//!    a pseudorandom function of the keys, so a ring is not "the citizens enrolled
//!    together" (enrolment order may follow streets or alphabetical names, which the
//!    registrar knows), and it does not depend on publication order.
//! 3. A region of s credentials is split into k = ⌈s / 4096⌉ consecutive rings of
//!    balanced sizes (the first s mod k rings get ⌈s/k⌉ members, the others ⌊s/k⌋), so
//!    no ring is much smaller than its region's others.
//! 4. Ring i of k in a region gets the label `ring_label(electorate hash, region, i, k)`
//!    and is padded by [`vox_crypto::ring::Ring::new`] to 4ᵐ slots with points derived
//!    from that label.

use std::collections::{BTreeMap, HashMap};

use vox_crypto::credential::CredentialPublicKey;
use vox_crypto::ring::{Ring, RingSignature, TagGenerator, RING_MAX};
use vox_crypto::Hash32;

use crate::electorate::{Electorate, ElectorateIndex};
use crate::encoding::Encoder;
use crate::error::{ProtocolError, Result};

/// Domain string at the start of every ring label.
pub const RING_LABEL_DOMAIN: &str = "vox/v2/ring";
/// Domain string of a petition's tag-generator context.
pub const PETITION_TAG_DOMAIN: &str = "petition";
/// Domain string of a referendum's tag-generator context (anonymous ballots).
pub const REFERENDUM_TAG_DOMAIN: &str = "referendum";

/// The label of ring `index` of `count` in `region` of an electorate (13 §13.3):
/// str("vox/v2/ring") ‖ electorate hash ‖ (0x00 | 0x01 ‖ str(region)) ‖ u32(index) ‖
/// u32(count), in the canonical encoding of 01-encodings (big-endian integers,
/// u32-length-prefixed strings).
pub fn ring_label(electorate: &Hash32, region: Option<&str>, index: u32, count: u32) -> Vec<u8> {
    let mut e = Encoder::new();
    e.str(RING_LABEL_DOMAIN).hash(electorate);
    match region {
        None => e.u8(0),
        Some(r) => e.u8(1).str(r),
    };
    e.u32(index).u32(count);
    e.into_bytes()
}

/// The linking-tag generator of a petition: U_p = TagGenerator::derive(str("petition")
/// ‖ petition hash) (13 §13.1). Every verifier recomputes it from the petition.
pub fn petition_tag_generator(petition: &Hash32) -> Result<TagGenerator> {
    let mut e = Encoder::new();
    e.str(PETITION_TAG_DOMAIN).hash(petition);
    TagGenerator::derive(&e.into_bytes()).map_err(|err| ProtocolError::crypto("petition", err))
}

/// The linking-tag generator of an anonymous referendum's ballots: U_r =
/// TagGenerator::derive(str("referendum") ‖ manifest hash) (04 §4.10). A credential's tag
/// is the same on every ballot of one referendum (so its last ballot counts) and
/// unlinkable to its tags elsewhere.
pub fn referendum_tag_generator(manifest: &Hash32) -> Result<TagGenerator> {
    let mut e = Encoder::new();
    e.str(REFERENDUM_TAG_DOMAIN).hash(manifest);
    TagGenerator::derive(&e.into_bytes()).map_err(|err| ProtocolError::crypto("manifest", err))
}

/// One linkable ring signature to check: its context transcript (before the signature's
/// own appends), the decoded proof, the ring, the tag generator and the message.
/// Petition signatures and anonymous ballots both reduce to it.
pub struct RingStatement<'a> {
    /// The context transcript.
    pub transcript: merlin::Transcript,
    /// The decoded proof (its tag inside).
    pub proof: RingSignature,
    /// The ring, as the checker derived it.
    pub ring: &'a Ring,
    /// The tag generator of the petition or referendum.
    pub tag_generator: TagGenerator,
    /// The signed message.
    pub message: Vec<u8>,
}

impl RingStatement<'_> {
    /// Check this statement alone (13 §13.8 R2–R9): one multiscalar multiplication over
    /// the ring. Deterministic (no batch weights).
    pub fn verify(mut self) -> Result<()> {
        vox_crypto::ring::verify(
            &mut self.transcript,
            &self.proof,
            self.ring,
            &self.tag_generator,
            &self.message,
        )
        .map_err(|e| ProtocolError::crypto("signature", e))
    }
}

/// Check ring-signature statements: every ready one in one batch (random weights from
/// `rng`, each distinct ring's points once); if the batch fails, each alone, so each
/// answer is exactly its own. An `Err` item (a statement that could not be built) stays
/// that error. One result per item, in order.
pub fn verify_ring_statements(
    items: Vec<Result<RingStatement<'_>>>,
    rng: &mut (impl rand_core::RngCore + rand_core::CryptoRng),
) -> Vec<Result<()>> {
    let mut results: Vec<Result<()>> = Vec::with_capacity(items.len());
    let mut ready: Vec<(usize, RingStatement<'_>)> = Vec::with_capacity(items.len());
    for (index, item) in items.into_iter().enumerate() {
        match item {
            Ok(st) => {
                ready.push((index, st));
                results.push(Ok(()));
            }
            Err(e) => results.push(Err(e)),
        }
    }
    let batch: Vec<vox_crypto::ring::BatchItem<'_>> = ready
        .iter()
        .map(|(_, r)| vox_crypto::ring::BatchItem {
            transcript: r.transcript.clone(),
            signature: &r.proof,
            ring: r.ring,
            tag_generator: &r.tag_generator,
            message: &r.message,
        })
        .collect();
    if vox_crypto::ring::verify_batch(&batch, rng).is_err() {
        for ((index, _), item) in ready.iter().zip(batch) {
            let mut transcript = item.transcript;
            let alone = vox_crypto::ring::verify(
                &mut transcript,
                item.signature,
                item.ring,
                item.tag_generator,
                item.message,
            );
            if let (Err(e), Some(slot)) = (alone, results.get_mut(*index)) {
                *slot = Err(ProtocolError::crypto("signature", e));
            }
        }
    }
    results
}

/// One derived ring: where it sits in the partition, and the ring itself.
#[derive(Clone, Debug)]
pub struct DerivedRing {
    /// The region its members share (None: credentials without a region).
    pub region: Option<String>,
    /// Its position among the region's rings (0-based).
    pub index: u32,
    /// How many rings the region has.
    pub count: u32,
    /// The ring (members in order, padded, hashed).
    pub ring: Ring,
}

/// Every ring of an electorate at one leaf.
#[derive(Clone, Debug)]
pub struct RingSet {
    electorate: Hash32,
    rings: Vec<DerivedRing>,
    /// Credential encoding → (ring position in `rings`, slot in the ring).
    slots: HashMap<[u8; 32], (usize, usize)>,
}

impl RingSet {
    /// Derive the rings of `electorate` as they stand just before board leaf `leaf`
    /// (13 §13.3): a credential revoked at an earlier leaf is in no ring, a replacement
    /// enrolled at an earlier leaf is in its region's rings. `index` must be the
    /// electorate's index with the registrar's acts applied (at least up to `leaf`).
    pub fn derive(electorate: &Electorate, index: &ElectorateIndex, leaf: u64) -> Result<Self> {
        Self::derive_with(electorate, index, leaf, u64::MAX, 0)
    }

    /// The rings a signature on a petition uses at board leaf `leaf` (07 §7.10, 13 §13.3):
    /// the credentials in standing at `leaf`, without replacements enrolled at or after
    /// the petition's proposal leaf `proposed_at` (a replacement's predecessor may have
    /// signed already, and tags cannot tell), with the regions of fewer than
    /// `region_min_group` such credentials pooled with the credentials that have no
    /// region, so that a small region's signers are not counted (or hidden) apart.
    pub fn for_petition(
        electorate: &Electorate,
        index: &ElectorateIndex,
        leaf: u64,
        proposed_at: u64,
        region_min_group: u32,
    ) -> Result<Self> {
        Self::derive_with(
            electorate,
            index,
            leaf,
            proposed_at,
            usize::try_from(region_min_group).unwrap_or(usize::MAX),
        )
    }

    /// The rings an anonymous ballot of a referendum uses at board leaf `leaf` (04 §4.10):
    /// the credentials in standing at `leaf`, without replacements enrolled at or after
    /// the referendum's creation leaf `created_at` (a replaced credential may have voted
    /// already, and tags cannot tell), every region pooled (no count is per region, so
    /// the largest rings: the anonymity set is the whole electorate, split in rings of at
    /// most 4,096).
    pub fn for_referendum(
        electorate: &Electorate,
        index: &ElectorateIndex,
        leaf: u64,
        created_at: u64,
    ) -> Result<Self> {
        Self::derive_with(electorate, index, leaf, created_at, usize::MAX)
    }

    fn derive_with(
        electorate: &Electorate,
        index: &ElectorateIndex,
        leaf: u64,
        enrolled_before: u64,
        min_region: usize,
    ) -> Result<Self> {
        let hash = index.hash;
        let mut regions: BTreeMap<Option<&str>, Vec<CredentialPublicKey>> = BTreeMap::new();
        for e in &electorate.entries {
            if index.standing(&e.credential, leaf).is_ok() {
                regions
                    .entry(e.region.as_deref())
                    .or_default()
                    .push(e.credential);
            }
        }
        for (key, replacement) in index.added() {
            if replacement.since >= enrolled_before {
                continue;
            }
            let Ok(point) = vox_crypto::Point::try_from_bytes(key) else {
                continue;
            };
            let Ok(credential) = CredentialPublicKey::new(point) else {
                continue;
            };
            if index.standing(&credential, leaf).is_ok() {
                regions
                    .entry(replacement.region.as_deref())
                    .or_default()
                    .push(credential);
            }
        }
        // Pool the regions below the minimum group with the credentials without one.
        let small: Vec<Option<&str>> = regions
            .iter()
            .filter(|(r, keys)| r.is_some() && keys.len() < min_region)
            .map(|(r, _)| *r)
            .collect();
        for r in small {
            if let Some(keys) = regions.remove(&r) {
                regions.entry(None).or_default().extend(keys);
            }
        }

        let mut rings = Vec::new();
        let mut slots = HashMap::new();
        for (region, mut keys) in regions {
            keys.sort_by_key(CredentialPublicKey::to_bytes);
            keys.dedup();
            let sizes = balanced_sizes(keys.len());
            let count = u32::try_from(sizes.len())
                .map_err(|_| ProtocolError::invalid("electorate", "too many rings"))?;
            let mut rest = keys.as_slice();
            for (i, size) in sizes.into_iter().enumerate() {
                let (members, tail) = rest.split_at(size.min(rest.len()));
                rest = tail;
                let i = u32::try_from(i)
                    .map_err(|_| ProtocolError::invalid("electorate", "too many rings"))?;
                let label = ring_label(&hash, region, i, count);
                let ring = Ring::new(&label, members)
                    .map_err(|e| ProtocolError::crypto("electorate/rings", e))?;
                for (slot, m) in members.iter().enumerate() {
                    slots.insert(m.to_bytes(), (rings.len(), slot));
                }
                rings.push(DerivedRing {
                    region: region.map(str::to_owned),
                    index: i,
                    count,
                    ring,
                });
            }
        }
        Ok(Self {
            electorate: hash,
            rings,
            slots,
        })
    }

    /// The electorate hash the rings were derived from.
    pub fn electorate(&self) -> &Hash32 {
        &self.electorate
    }

    /// All rings, by region then index.
    pub fn rings(&self) -> &[DerivedRing] {
        &self.rings
    }

    /// The ring with this hash (what a signature names), if it is one of this set's.
    pub fn by_hash(&self, hash: &Hash32) -> Option<&DerivedRing> {
        self.rings.iter().find(|r| r.ring.hash() == hash)
    }

    /// The ring and slot of a credential (for the signer's device), if it is in one.
    pub fn ring_of(&self, credential: &CredentialPublicKey) -> Option<(&DerivedRing, usize)> {
        let (r, slot) = self.slots.get(&credential.to_bytes())?;
        Some((self.rings.get(*r)?, *slot))
    }

    /// The ring with this hash and its position in [`RingSet::rings`].
    pub fn position_of(&self, hash: &Hash32) -> Option<usize> {
        self.rings.iter().position(|r| r.ring.hash() == hash)
    }

    /// Number of credentials in all rings.
    pub fn member_count(&self) -> usize {
        self.slots.len()
    }
}

/// A signer's own view of the board, enough to derive a petition's rings (07 §7.10)
/// without taking them from the server: the genesis and every authority act's
/// signature (so the registrar's revocations and replacements are the registrar's),
/// the electorates with their revocations and replacements, and the leaf of every
/// petition proposal. Feed it every entry in order from leaf 0 (after checking that
/// they hash to a signed tree head), then ask for [`BoardView::petition_rings`].
#[derive(Debug, Default)]
pub struct BoardView {
    authorities: Option<crate::roles::Authorities>,
    roll: crate::enrolment::Roll,
    proposals: HashMap<String, u64>,
    /// Referendum id → (leaf of its creation, its electorate's hash).
    referendums: HashMap<String, (u64, Hash32)>,
    size: u64,
}

impl BoardView {
    /// An empty view (before leaf 0).
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of entries applied.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Apply the entry at the next leaf. Refuses a log that does not start with a
    /// genesis, an act whose signature or role is wrong, and a registrar act the roll
    /// refuses: a device must not derive rings from a board it cannot vouch for.
    pub fn apply(&mut self, payload: &crate::board::Payload) -> Result<()> {
        use crate::board::Payload as P;
        let leaf = self.size;
        match (&mut self.authorities, payload) {
            (None, P::Genesis { genesis }) => {
                let a = crate::roles::Authorities::from_genesis(genesis)
                    .map_err(|e| ProtocolError::invalid("genesis", format!("leaf {leaf}: {e}")))?;
                self.authorities = Some(a);
            }
            (None, _) => {
                return Err(ProtocolError::invalid(
                    "board",
                    "leaf 0 is not a genesis entry",
                ))
            }
            (Some(a), p) => a
                .accept(p)
                .map_err(|e| ProtocolError::invalid("board", format!("leaf {leaf}: {e}")))?,
        }
        self.roll
            .apply(leaf, payload)
            .map_err(|e| ProtocolError::invalid("board", format!("leaf {leaf}: {e}")))?;
        match payload {
            P::PetitionProposed { proposal } => {
                self.proposals
                    .entry(proposal.petition.id.clone())
                    .or_insert(leaf);
            }
            P::ReferendumCreated { manifest, .. } | P::ReferendumTriggered { manifest, .. } => {
                self.referendums
                    .entry(manifest.referendum_id.clone())
                    .or_insert((leaf, manifest.electorate_hash));
            }
            _ => {}
        }
        self.size += 1;
        Ok(())
    }

    /// The rings of `petition` for a signature at the next leaf (13 §13.3, 07 §7.10).
    pub fn petition_rings(&self, petition: &crate::petition::Petition) -> Result<RingSet> {
        let proposed_at = *self.proposals.get(&petition.id).ok_or_else(|| {
            ProtocolError::invalid("petition", "not proposed on this board (yet)")
        })?;
        let (electorate, index) = self
            .roll
            .usable(&petition.electorate_hash)
            .ok_or_else(|| ProtocolError::invalid("electorate", "not usable on this board"))?;
        RingSet::for_petition(
            electorate,
            index,
            self.size,
            proposed_at,
            petition.region_min_group,
        )
    }
}

impl BoardView {
    /// The rings of an anonymous referendum for a ballot at the next leaf (04 §4.10).
    pub fn referendum_rings(&self, referendum_id: &str) -> Result<RingSet> {
        let (created_at, electorate_hash) =
            *self.referendums.get(referendum_id).ok_or_else(|| {
                ProtocolError::invalid("referendum", "not created on this board (yet)")
            })?;
        let (electorate, index) = self
            .roll
            .usable(&electorate_hash)
            .ok_or_else(|| ProtocolError::invalid("electorate", "not usable on this board"))?;
        RingSet::for_referendum(electorate, index, self.size, created_at)
    }
}

/// Sizes of the rings of a region of `s` credentials: k = ⌈s / 4096⌉ rings, the first
/// s mod k of ⌈s/k⌉ members and the rest of ⌊s/k⌋.
pub fn balanced_sizes(s: usize) -> Vec<usize> {
    if s == 0 {
        return Vec::new();
    }
    let k = s.div_ceil(RING_MAX);
    let base = s / k;
    let extra = s % k;
    (0..k).map(|i| base + usize::from(i < extra)).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
pub(crate) mod tests;
