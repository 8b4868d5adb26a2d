//! The server's Merkle functions over stored subtree hashes ([`merkle_nodes`]), driven
//! with sizes and indices of any magnitude (the server feeds them query parameters).

use std::collections::BTreeSet;

use vox_protocol::merkle::{
    consistency_proof, inclusion_proof, leaf_hash, node_hash, root_from_leaf_hashes,
    verify_consistency, verify_inclusion, MerkleError, NodeHash,
};
use vox_protocol::merkle_nodes::{
    consistency_proof_from_nodes, inclusion_proof_from_nodes, nodes_completed_by, peaks,
    required_nodes, root_from_nodes, NodeId,
};

use crate::Fields;

/// Trees up to this size are also built leaf by leaf and compared with `merkle`.
const SMALL: u64 = 96;

/// A tree of `size` leaves (any size up to 2^64 − 1) held implicitly: every leaf is
/// `fill` except leaf `special`. Level ℓ has only two distinct node values, so any node
/// is known in O(1), and the tree is a real RFC 9162 tree (each node hashes its children).
struct LazyTree {
    size: u64,
    special: u64,
    /// `fill[ℓ]`: a perfect subtree of 2^ℓ fill leaves.
    fill: Vec<NodeHash>,
    /// `path[ℓ]`: the subtree of 2^ℓ leaves that contains `special`.
    path: Vec<NodeHash>,
}

impl LazyTree {
    fn new(size: u64, special: u64, seed: &NodeHash) -> Self {
        let mut fill = vec![leaf_hash(b"fill")];
        let mut path = vec![leaf_hash(&seed.0)];
        for level in 1..=64u32 {
            let (Some(f), Some(p)) = (fill.last().copied(), path.last().copied()) else {
                break;
            };
            // Is `special` in the right half of its subtree at `level`?
            let right = (special >> (level - 1)) & 1 == 1;
            path.push(if right {
                node_hash(&f, &p)
            } else {
                node_hash(&p, &f)
            });
            fill.push(node_hash(&f, &f));
        }
        Self {
            size,
            special,
            fill,
            path,
        }
    }

    /// The stored node `id`; a node that is not a complete subtree of the tree is not
    /// stored, and asking for it is a bug of the caller.
    fn node(&self, id: NodeId) -> Result<NodeHash, MerkleError> {
        assert!(id.level <= 63, "looked up {id:?}, above any tree");
        let end = (u128::from(id.index) + 1) << id.level;
        assert!(
            end <= u128::from(self.size),
            "looked up {id:?}, not a complete subtree of a tree of {} leaves",
            self.size
        );
        let table = if self.special >> id.level == id.index {
            &self.path
        } else {
            &self.fill
        };
        table
            .get(id.level as usize)
            .copied()
            .ok_or(MerkleError::RootMismatch)
    }

    fn leaf(&self, i: u64) -> NodeHash {
        match self.node(NodeId { level: 0, index: i }) {
            Ok(h) => h,
            Err(e) => panic!("leaf {i}: {e}"),
        }
    }

    fn lookup(&self) -> impl FnMut(NodeId) -> Result<NodeHash, MerkleError> + '_ {
        |id| self.node(id)
    }
}

fn flip(proof: &[NodeHash], at: u64) -> Option<Vec<NodeHash>> {
    let mut p = proof.to_vec();
    let k = (at as usize) % p.len().max(1);
    p.get_mut(k)?.0[0] ^= 1;
    Some(p)
}

fn ok<T>(r: Result<T, MerkleError>, what: &str) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("{what}: {e}"),
    }
}

/// Input: size ‖ index ‖ old size (u64 LE each) ‖ 32-byte seed of the special leaf.
/// On the implicit tree of `size` leaves whose leaf `index % size` is special:
/// - every node the functions look up is a complete subtree of the tree;
/// - the inclusion proof of the special leaf verifies against `root_from_nodes`, and with
///   any node flipped it does not; an index ≥ size is refused;
/// - the consistency proof from `old % (size + 1)` verifies, flipped it does not; an old
///   size above the size is refused;
/// - `required_nodes` lists exactly what a proof needs (≤ 2·64 nodes), as the server
///   fetches them in one query; `nodes_completed_by` yields the tree's own nodes;
/// - for sizes up to 96, roots and proofs equal those computed from all the leaves.
pub fn merkle_nodes(data: &[u8]) {
    let mut r = Fields(data);
    let size = r.u64();
    let raw_index = r.u64();
    let raw_old = r.u64();
    let seed = r.node();
    let special = if size == 0 { 0 } else { raw_index % size };
    let tree = LazyTree::new(size, special, &seed);

    let root = ok(root_from_nodes(size, &mut tree.lookup()), "root");
    let peak_ids = peaks(size);
    assert_eq!(
        peak_ids.len(),
        size.count_ones() as usize,
        "one peak per bit"
    );

    if size > 0 {
        let proof = ok(
            inclusion_proof_from_nodes(special, size, &mut tree.lookup()),
            "inclusion proof",
        );
        assert!(
            proof.len() <= 64,
            "inclusion proof of {} nodes",
            proof.len()
        );
        let leaf = tree.leaf(special);
        if let Err(e) = verify_inclusion(&leaf, special, size, &proof, &root) {
            panic!("inclusion proof of {special} in {size} from nodes rejected: {e}");
        }
        if let Some(bad) = flip(&proof, raw_index) {
            assert!(
                verify_inclusion(&leaf, special, size, &bad, &root).is_err(),
                "flipped inclusion proof of {special} in {size} accepted"
            );
        }
        // Exactly the recorded nodes suffice (the server fetches them in one query).
        let ids = ok(
            required_nodes(|l| inclusion_proof_from_nodes::<MerkleError>(special, size, l)),
            "required nodes",
        );
        assert!(ids.len() <= 128, "{} nodes for one proof", ids.len());
        let allowed: BTreeSet<NodeId> = ids.into_iter().collect();
        let again = ok(
            inclusion_proof_from_nodes(special, size, &mut |id: NodeId| {
                assert!(allowed.contains(&id), "{id:?} was not recorded");
                tree.node(id)
            }),
            "inclusion proof from the recorded nodes",
        );
        assert_eq!(again, proof, "proof differs with the recorded nodes only");
        // The nodes the special leaf's append completed are the tree's own.
        let done = ok(
            nodes_completed_by(special, leaf, &mut tree.lookup()),
            "nodes completed",
        );
        for (id, h) in done {
            if u128::from(id.start()) + (1u128 << id.level) <= u128::from(size) {
                assert_eq!(Ok(h), tree.node(id), "completed node {id:?} differs");
            }
        }
    }
    let past = size.saturating_add(raw_index % 3);
    assert!(
        inclusion_proof_from_nodes(past, size, &mut tree.lookup()).is_err(),
        "inclusion proof of leaf {past} in a tree of {size}"
    );

    let old = if raw_old <= size {
        raw_old
    } else {
        raw_old % (size.saturating_add(1)).max(1)
    };
    let old_root = ok(root_from_nodes(old, &mut tree.lookup()), "old root");
    let proof = ok(
        consistency_proof_from_nodes(old, size, &mut tree.lookup()),
        "consistency proof",
    );
    assert!(proof.len() <= 128, "consistency proof of {}", proof.len());
    if let Err(e) = verify_consistency(old, size, &old_root, &root, &proof) {
        panic!("consistency proof {old} -> {size} from nodes rejected: {e}");
    }
    if let Some(bad) = flip(&proof, raw_old) {
        assert!(
            verify_consistency(old, size, &old_root, &root, &bad).is_err(),
            "flipped consistency proof {old} -> {size} accepted"
        );
    }
    if let Some(bigger) = size.checked_add(1 + raw_old % 5) {
        assert!(
            consistency_proof_from_nodes(bigger, size, &mut tree.lookup()).is_err(),
            "consistency proof from {bigger} to {size}"
        );
    }

    // Small trees: the same as computing from every leaf.
    if size <= SMALL {
        let leaves: Vec<NodeHash> = (0..size).map(|i| tree.leaf(i)).collect();
        assert_eq!(root, root_from_leaf_hashes(&leaves), "root of {size}");
        if size > 0 {
            let p = ok(inclusion_proof(&leaves, special), "inclusion from leaves");
            let q = ok(
                inclusion_proof_from_nodes(special, size, &mut tree.lookup()),
                "inclusion",
            );
            assert_eq!(p, q, "inclusion proof of {special} in {size}");
        }
        let p = ok(consistency_proof(&leaves, old), "consistency from leaves");
        assert_eq!(p, proof, "consistency proof {old} -> {size}");
    }
}
