//! RFC 9162 Merkle roots and proofs from stored perfect-subtree hashes.
//!
//! [`crate::merkle`] computes everything from the full list of leaf hashes, which is
//! O(n) per call. A log server cannot afford that on every append. It stores instead,
//! as leaves arrive, the hash of every *perfect aligned subtree*: the node
//! ([`NodeId`]) at `level` ℓ and `index` i covering leaves `[i·2^ℓ, (i+1)·2^ℓ)`. Every
//! subtree that the RFC 9162 tree of any size `n` splits into is a concatenation of at
//! most ⌈log₂ n⌉ such nodes, so roots, inclusion proofs and consistency proofs need only
//! O(log n) stored hashes (O(log² n) hash evaluations at worst).
//!
//! The functions here take a `lookup` closure from [`NodeId`] to the stored hash. The
//! sequence of ids a function looks up depends only on the sizes and indices, never on
//! the hashes, so a caller holding its nodes in a database can run a function once with
//! a recording closure (returning any hash), fetch the recorded ids in one query, and
//! run it again for real. Results are identical to [`crate::merkle`]'s (tested for every
//! size up to 80 and every index).

use crate::merkle::{node_hash, MerkleError, NodeHash, EMPTY_ROOT};

/// A perfect, aligned subtree: leaves `[index·2^level, (index+1)·2^level)`.
/// Level 0 nodes are the leaf hashes themselves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    /// Height above the leaves (0 = a leaf).
    pub level: u32,
    /// Position among the nodes of that level.
    pub index: u64,
}

impl NodeId {
    /// First leaf covered.
    pub fn start(&self) -> u64 {
        self.index.checked_shl(self.level).unwrap_or(u64::MAX)
    }
}

/// The perfect subtrees ("peaks") whose concatenation is the tree of `size` leaves,
/// left to right (one per set bit of `size`, largest first).
pub fn peaks(size: u64) -> Vec<NodeId> {
    let mut out = Vec::new();
    let mut start = 0u64;
    for level in (0..64u32).rev() {
        let width = 1u64 << level;
        if size & width != 0 {
            out.push(NodeId {
                level,
                index: start >> level,
            });
            start += width;
        }
    }
    out
}

/// The nodes completed by appending the leaf at `index` with hash `leaf`, bottom up:
/// the leaf itself, then every ancestor of which it is the last leaf. Each ancestor's
/// left child is fetched with `lookup` (it is a peak of the tree before the append, or
/// a node returned by an earlier call).
pub fn nodes_completed_by<E>(
    index: u64,
    leaf: NodeHash,
    lookup: &mut (impl FnMut(NodeId) -> Result<NodeHash, E> + ?Sized),
) -> Result<Vec<(NodeId, NodeHash)>, E> {
    let mut id = NodeId { level: 0, index };
    let mut hash = leaf;
    let mut out = vec![(id, hash)];
    while id.index & 1 == 1 {
        let left = lookup(NodeId {
            level: id.level,
            index: id.index - 1,
        })?;
        hash = node_hash(&left, &hash);
        id = NodeId {
            level: id.level + 1,
            index: id.index >> 1,
        };
        out.push((id, hash));
    }
    Ok(out)
}

/// MTH(D\[start:end\]) from stored nodes, for a range produced by the RFC 9162
/// recursion: `start` is then a multiple of the largest power of two not above
/// `end − start`, so the range is a sequence of aligned perfect subtrees of strictly
/// decreasing size, hashed together from the right exactly as MTH does.
fn range_root<E>(
    start: u64,
    end: u64,
    lookup: &mut (impl FnMut(NodeId) -> Result<NodeHash, E> + ?Sized),
) -> Result<NodeHash, E> {
    // Peaks of the range, left to right; the range's root hashes them from the right.
    let mut ids = Vec::new();
    let mut at = start;
    while at < end {
        let len = end - at;
        // The largest aligned power of two that starts at `at` and fits in the range.
        let mut level = 63 - len.leading_zeros();
        while level > 0 && at & ((1u64 << level) - 1) != 0 {
            level -= 1;
        }
        ids.push(NodeId {
            level,
            index: at >> level,
        });
        at += 1u64 << level;
    }
    let mut acc: Option<NodeHash> = None;
    for id in ids.into_iter().rev() {
        let h = lookup(id)?;
        acc = Some(match acc {
            None => h,
            Some(right) => node_hash(&h, &right),
        });
    }
    Ok(acc.unwrap_or(EMPTY_ROOT))
}

/// The largest power of two strictly smaller than `n` (n ≥ 2).
fn split_point(n: u64) -> u64 {
    1u64 << (63 - (n - 1).leading_zeros())
}

/// The root of the tree of `size` leaves.
pub fn root_from_nodes<E>(
    size: u64,
    lookup: &mut (impl FnMut(NodeId) -> Result<NodeHash, E> + ?Sized),
) -> Result<NodeHash, E> {
    range_root(0, size, lookup)
}

/// The RFC 9162 §2.1.3.1 inclusion proof of leaf `index` in the tree of `size` leaves,
/// ordered as [`crate::merkle::verify_inclusion`] expects.
///
/// # Errors
/// [`MerkleError::IndexOutOfRange`] (converted into `E`) if `index >= size`.
pub fn inclusion_proof_from_nodes<E: From<MerkleError>>(
    index: u64,
    size: u64,
    lookup: &mut (impl FnMut(NodeId) -> Result<NodeHash, E> + ?Sized),
) -> Result<Vec<NodeHash>, E> {
    if index >= size {
        return Err(MerkleError::IndexOutOfRange { index, size }.into());
    }
    let (mut start, mut end) = (0u64, size);
    let mut path = Vec::new();
    while end - start > 1 {
        let k = split_point(end - start);
        if index < start + k {
            path.push(range_root(start + k, end, lookup)?);
            end = start + k;
        } else {
            path.push(range_root(start, start + k, lookup)?);
            start += k;
        }
    }
    path.reverse();
    Ok(path)
}

/// The RFC 9162 §2.1.4.1 consistency proof from the tree of `old_size` leaves to the
/// tree of `new_size` leaves, as [`crate::merkle::verify_consistency`] expects (empty
/// when `old_size` is 0 or equal to `new_size`).
///
/// # Errors
/// [`MerkleError::SizeMismatch`] (converted into `E`) if `old_size > new_size`.
pub fn consistency_proof_from_nodes<E: From<MerkleError>>(
    old_size: u64,
    new_size: u64,
    lookup: &mut (impl FnMut(NodeId) -> Result<NodeHash, E> + ?Sized),
) -> Result<Vec<NodeHash>, E> {
    if old_size > new_size {
        return Err(MerkleError::SizeMismatch { old_size, new_size }.into());
    }
    if old_size == 0 || old_size == new_size {
        return Ok(Vec::new());
    }
    let mut m = old_size;
    let (mut start, mut end) = (0u64, new_size);
    let mut complete = true;
    let mut proof = Vec::new();
    loop {
        let n = end - start;
        if m == n {
            if !complete {
                proof.push(range_root(start, end, lookup)?);
            }
            break;
        }
        if n < 2 {
            break;
        }
        let k = split_point(n);
        if m <= k {
            proof.push(range_root(start + k, end, lookup)?);
            end = start + k;
        } else {
            proof.push(range_root(start, start + k, lookup)?);
            m -= k;
            start += k;
            complete = false;
        }
    }
    proof.reverse();
    Ok(proof)
}

/// The ids a function of this module will look up, found by running it with a
/// recording closure. `run` receives a lookup that records and returns a dummy hash.
pub fn required_nodes<T, E>(
    run: impl FnOnce(&mut dyn FnMut(NodeId) -> Result<NodeHash, E>) -> Result<T, E>,
) -> Result<Vec<NodeId>, E> {
    let mut ids = Vec::new();
    let mut record = |id: NodeId| -> Result<NodeHash, E> {
        ids.push(id);
        Ok(EMPTY_ROOT)
    };
    run(&mut record)?;
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::merkle::{
        consistency_proof, inclusion_proof, leaf_hash, root_from_leaf_hashes, verify_consistency,
        verify_inclusion,
    };

    fn build(n: u64) -> (Vec<NodeHash>, HashMap<NodeId, NodeHash>) {
        let mut leaves = Vec::new();
        let mut nodes: HashMap<NodeId, NodeHash> = HashMap::new();
        for i in 0..n {
            let l = leaf_hash(&i.to_be_bytes());
            leaves.push(l);
            let new = nodes_completed_by(i, l, &mut |id| {
                nodes.get(&id).copied().ok_or(MerkleError::RootMismatch)
            })
            .unwrap();
            for (id, h) in new {
                assert!(nodes.insert(id, h).is_none(), "node stored twice");
            }
        }
        (leaves, nodes)
    }

    #[test]
    fn peaks_cover_the_tree() {
        assert!(peaks(0).is_empty());
        assert_eq!(
            peaks(11),
            vec![
                NodeId { level: 3, index: 0 },
                NodeId { level: 1, index: 4 },
                NodeId {
                    level: 0,
                    index: 10
                }
            ]
        );
        assert_eq!(peaks(11)[1].start(), 8);
    }

    #[test]
    fn matches_leaf_based_functions_for_all_small_trees() {
        let (leaves, nodes) = build(80);
        let mut lookup =
            |id: NodeId| -> Result<NodeHash, MerkleError> { Ok(*nodes.get(&id).unwrap()) };
        for n in 0..=80u64 {
            let prefix = &leaves[..n as usize];
            let root = root_from_leaf_hashes(prefix);
            assert_eq!(root_from_nodes(n, &mut lookup).unwrap(), root, "root {n}");
            // Every peak of the tree is stored.
            for p in peaks(n) {
                assert!(nodes.contains_key(&p));
            }
            for i in 0..n {
                let p = inclusion_proof_from_nodes(i, n, &mut lookup).unwrap();
                assert_eq!(
                    p,
                    inclusion_proof(prefix, i).unwrap(),
                    "inclusion {i} in {n}"
                );
                verify_inclusion(&leaves[i as usize], i, n, &p, &root).unwrap();
            }
            assert!(inclusion_proof_from_nodes(n, n, &mut lookup).is_err());
            for m in 0..=n {
                let p = consistency_proof_from_nodes(m, n, &mut lookup).unwrap();
                assert_eq!(
                    p,
                    consistency_proof(prefix, m).unwrap(),
                    "consistency {m} → {n}"
                );
                let old = root_from_leaf_hashes(&leaves[..m as usize]);
                verify_consistency(m, n, &old, &root, &p).unwrap();
            }
            assert!(consistency_proof_from_nodes(n + 1, n, &mut lookup).is_err());
        }
    }

    #[test]
    fn required_nodes_are_exactly_what_is_looked_up() {
        let (_, nodes) = build(77);
        for (i, n) in [(0u64, 77u64), (76, 77), (40, 64), (5, 33)] {
            let ids =
                required_nodes(|l| inclusion_proof_from_nodes::<MerkleError>(i, n, l)).unwrap();
            let subset: HashMap<NodeId, NodeHash> = ids.iter().map(|id| (*id, nodes[id])).collect();
            let mut lookup = |id: NodeId| subset.get(&id).copied().ok_or(MerkleError::RootMismatch);
            inclusion_proof_from_nodes(i, n, &mut lookup).unwrap();
            // Logarithmic, not linear.
            assert!(ids.len() <= 2 * 7, "{} nodes for a proof in {n}", ids.len());
        }
    }
}
