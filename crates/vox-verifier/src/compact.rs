//! A streaming RFC 6962 Merkle tree: the compact stack of perfect subtrees
//! (protocol-spec/08-board.md §8.3).
//!
//! The verifier never holds all leaves. After n leaves the tree is the list of perfect
//! subtrees ("peaks") given by the binary digits of n, largest first; appending a leaf
//! merges equal-height peaks like a binary counter, and the root of the prefix of size n
//! hashes the peaks together from the right. So the root of *every* prefix is available
//! as the log streams past, which checks each signed tree head and, given the full log,
//! the consistency of successive heads, in O(log n) memory.

use serde::{Deserialize, Serialize};
use vox_protocol::merkle::{node_hash, NodeHash, EMPTY_ROOT};

use crate::error::VerifyError;

/// The peaks of a Merkle tree of `size` leaves.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompactTree {
    size: u64,
    /// One peak per set bit of `size`, from the highest bit (leftmost subtree) down.
    peaks: Vec<NodeHash>,
}

impl CompactTree {
    /// The empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Rebuild from stored peaks (monitor state); refuses a peak count that does not
    /// match the size.
    pub fn from_parts(size: u64, peaks: Vec<NodeHash>) -> Result<Self, VerifyError> {
        if peaks.len() != size.count_ones() as usize {
            return Err(VerifyError::Malformed {
                what: "compact tree",
                reason: format!(
                    "a tree of {size} leaves has {} peaks, got {}",
                    size.count_ones(),
                    peaks.len()
                ),
            });
        }
        Ok(Self { size, peaks })
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The peaks, leftmost first.
    pub fn peaks(&self) -> &[NodeHash] {
        &self.peaks
    }

    /// Append one leaf hash.
    pub fn push(&mut self, leaf: NodeHash) {
        let mut node = leaf;
        let mut s = self.size;
        // Each trailing one bit of the size is a peak of the height being built: merge.
        while s & 1 == 1 {
            match self.peaks.pop() {
                Some(left) => node = node_hash(&left, &node),
                None => break,
            }
            s >>= 1;
        }
        self.peaks.push(node);
        self.size = self.size.saturating_add(1);
    }

    /// The root MTH of the leaves pushed so far (RFC 9162 §2.1.1).
    pub fn root(&self) -> NodeHash {
        let mut from_right = self.peaks.iter().rev();
        match from_right.next() {
            None => EMPTY_ROOT,
            Some(last) => from_right.fold(*last, |acc, peak| node_hash(peak, &acc)),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use vox_protocol::merkle::{leaf_hash, root_from_leaf_hashes};

    #[test]
    fn every_prefix_root_matches_the_reference() {
        let leaves: Vec<NodeHash> = (0u32..300).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        let mut t = CompactTree::new();
        assert_eq!(t.root(), EMPTY_ROOT);
        for (i, l) in leaves.iter().enumerate() {
            t.push(*l);
            assert_eq!(t.size(), i as u64 + 1);
            assert_eq!(
                t.root(),
                root_from_leaf_hashes(&leaves[..=i]),
                "size {}",
                i + 1
            );
            let back = CompactTree::from_parts(t.size(), t.peaks().to_vec()).unwrap();
            assert_eq!(back, t);
        }
        assert!(CompactTree::from_parts(3, vec![]).is_err());
    }

    /// The left siblings of an inclusion proof are the compact stack of the prefix
    /// before the leaf (`merkle::prefix_peaks`), for every leaf of every size up to 70;
    /// a tampered proof gives nothing.
    #[test]
    fn inclusion_proofs_give_the_prefix_peaks() {
        use vox_protocol::merkle::{inclusion_proof, prefix_peaks};
        let leaves: Vec<NodeHash> = (0u32..70).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        for n in 1..=leaves.len() {
            let root = root_from_leaf_hashes(&leaves[..n]);
            for i in 0..n {
                let proof = inclusion_proof(&leaves[..n], i as u64).unwrap();
                let peaks = prefix_peaks(&leaves[i], i as u64, n as u64, &proof, &root).unwrap();
                let mut expected = CompactTree::new();
                for l in &leaves[..i] {
                    expected.push(*l);
                }
                assert_eq!(peaks, expected.peaks(), "leaf {i} of {n}");
                // Extending from the peaks reaches the same root.
                let mut t = CompactTree::from_parts(i as u64, peaks).unwrap();
                for l in &leaves[i..n] {
                    t.push(*l);
                }
                assert_eq!(t.root(), root);
                for k in 0..proof.len() {
                    let mut bad = proof.clone();
                    bad[k].0[0] ^= 1;
                    assert!(
                        prefix_peaks(&leaves[i], i as u64, n as u64, &bad, &root).is_err(),
                        "leaf {i} of {n}, node {k} tampered"
                    );
                }
            }
        }
    }
}
