//! RFC 9162 (Certificate Transparency 2.0) Merkle trees, with RFC 6962 hashing.
//!
//! The bulletin board is an append-only log. Anyone holding a signed tree head
//! must be able to check, without trusting the server, that
//!
//! * a given entry (a ballot, a petition signature, ...) is in the log at a
//!   given position: an *inclusion proof* (RFC 9162 §2.1.3), and
//! * a later tree head extends an earlier one without rewriting history: a
//!   *consistency proof* (RFC 9162 §2.1.4).
//!
//! We use exactly the RFC 9162 §2.1.1 tree (identical to RFC 6962 §2.1) with
//! SHA-256, so existing Certificate Transparency tooling and test vectors
//! apply unchanged:
//!
//! * leaf hash  = SHA-256(0x00 ‖ leaf bytes),
//! * node hash  = SHA-256(0x01 ‖ left ‖ right),
//! * empty root = SHA-256("").
//!
//! The distinct 0x00 / 0x01 prefixes are domain separation: without them an
//! interior node could be passed off as a leaf (second-preimage attack).
//!
//! This module does no I/O. The server keeps all leaf hashes (in memory or in
//! its database) and calls [`root_from_leaf_hashes`], [`inclusion_proof`] and
//! [`consistency_proof`]; each is O(n) hash evaluations in the number of
//! leaves. Verifiers call [`verify_inclusion`] and [`verify_consistency`],
//! which are O(log n) and implement the iterative algorithms of RFC 9162
//! §2.1.3.2 and §2.1.4.2 step by step. Nothing here panics, whatever the input.

use core::fmt;
use core::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};
use subtle::{Choice, ConstantTimeEq};

/// Domain-separation prefix for leaf hashes (RFC 9162 §2.1.1).
const LEAF_PREFIX: u8 = 0x00;
/// Domain-separation prefix for interior node hashes (RFC 9162 §2.1.1).
const NODE_PREFIX: u8 = 0x01;

/// The root of the empty tree, MTH({}) = SHA-256("") (RFC 9162 §2.1.1).
///
/// Spelled out as a constant so that callers can compare against it without
/// hashing; a unit test checks it against SHA-256 of the empty string.
pub const EMPTY_ROOT: NodeHash = NodeHash([
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
]);

/// A 32-byte SHA-256 value in a Merkle tree: a leaf hash, an interior node
/// hash or a root.
///
/// A distinct type (rather than a bare `[u8; 32]` or a general-purpose hash)
/// so that a leaf's *data* cannot be confused with its *leaf hash*: every
/// function here takes leaf hashes, produced once by [`leaf_hash`].
///
/// Serialized (serde) as exactly 64 lower-case hexadecimal characters.
/// Deserialization rejects upper-case digits so that every value has a
/// single canonical text encoding, which matters when the encoding is signed.
///
/// `PartialEq` is an ordinary (variable-time) comparison, fine for public
/// data such as maps keyed by hash; the verification functions of this module
/// compare roots with [`ConstantTimeEq`] instead.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeHash(pub [u8; 32]);

impl NodeHash {
    /// The raw 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lower-case hexadecimal (64 characters).
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Decode exactly 64 lower-case hexadecimal characters.
    ///
    /// Upper case is rejected to keep the text encoding canonical.
    pub fn from_hex(s: &str) -> Result<Self, MerkleError> {
        if s.len() != 64 {
            return Err(MerkleError::InvalidHashEncoding {
                reason: "expected exactly 64 hexadecimal characters",
            });
        }
        if !s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(MerkleError::InvalidHashEncoding {
                reason: "expected lower-case hexadecimal characters only",
            });
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).map_err(|_| MerkleError::InvalidHashEncoding {
            reason: "not valid hexadecimal",
        })?;
        Ok(NodeHash(out))
    }
}

impl ConstantTimeEq for NodeHash {
    fn ct_eq(&self, other: &Self) -> Choice {
        self.0.as_slice().ct_eq(other.0.as_slice())
    }
}

impl From<[u8; 32]> for NodeHash {
    fn from(bytes: [u8; 32]) -> Self {
        NodeHash(bytes)
    }
}

impl From<NodeHash> for [u8; 32] {
    fn from(h: NodeHash) -> Self {
        h.0
    }
}

impl AsRef<[u8]> for NodeHash {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for NodeHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NodeHash({})", self.to_hex())
    }
}

impl fmt::Display for NodeHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl FromStr for NodeHash {
    type Err = MerkleError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        NodeHash::from_hex(s)
    }
}

impl Serialize for NodeHash {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for NodeHash {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        NodeHash::from_hex(&s).map_err(serde::de::Error::custom)
    }
}

/// Everything that can go wrong when building or checking Merkle proofs.
///
/// Verification never returns `bool`: the error says which check failed, so
/// that a verifier can report *why* the board's evidence is rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MerkleError {
    /// A leaf index outside the tree (`index >= size`, including any index
    /// into the empty tree).
    #[error("leaf index {index} is out of range for a tree of size {size}")]
    IndexOutOfRange {
        /// The requested leaf index.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// A consistency proof was requested or presented from a larger tree to a
    /// smaller one: logs only grow.
    #[error("old tree size {old_size} exceeds new tree size {new_size}")]
    SizeMismatch {
        /// The size of the earlier tree.
        old_size: u64,
        /// The size of the later tree.
        new_size: u64,
    },
    /// The proof has the wrong number of hashes for the given index and
    /// size(s). The length is fully determined by those numbers (RFC 9162
    /// §2.1.3.1, §2.1.4.1), so this is a definite rejection.
    #[error("proof has {got} hashes, expected {expected}")]
    ProofLength {
        /// The number of hashes the tree shape requires.
        expected: usize,
        /// The number of hashes supplied.
        got: usize,
    },
    /// The root recomputed from the leaf and its inclusion proof differs from
    /// the expected root.
    #[error("inclusion proof does not lead to the expected root")]
    RootMismatch,
    /// The old root recomputed from a consistency proof differs from the
    /// supplied old root (or, for an old tree of size 0, the supplied old
    /// root is not [`EMPTY_ROOT`]).
    #[error("consistency proof does not reproduce the old root")]
    OldRootMismatch,
    /// The new root recomputed from a consistency proof differs from the
    /// supplied new root.
    #[error("consistency proof does not reproduce the new root")]
    NewRootMismatch,
    /// A hash's text encoding is not 64 lower-case hexadecimal characters.
    #[error("invalid node hash encoding: {reason}")]
    InvalidHashEncoding {
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// The leaf hash of one log entry: SHA-256(0x00 ‖ leaf) (RFC 9162 §2.1.1).
pub fn leaf_hash(leaf: &[u8]) -> NodeHash {
    let mut h = Sha256::new();
    h.update([LEAF_PREFIX]);
    h.update(leaf);
    NodeHash(h.finalize().into())
}

/// The hash of an interior node: SHA-256(0x01 ‖ left ‖ right) (RFC 9162 §2.1.1).
pub fn node_hash(left: &NodeHash, right: &NodeHash) -> NodeHash {
    let mut h = Sha256::new();
    h.update([NODE_PREFIX]);
    h.update(left.0);
    h.update(right.0);
    NodeHash(h.finalize().into())
}

/// The Merkle Tree Hash MTH(D\[n\]) of a list of leaf hashes (RFC 9162 §2.1.1).
///
/// RFC 9162 defines MTH recursively, splitting at the largest power of two
/// smaller than n. That tree is the sequence of perfect subtrees ("peaks")
/// given by the binary digits of n, left to right, with the root formed by
/// hashing the peaks together from the right. We build the peaks with a stack
/// as the leaves stream past (each interior node hashed exactly once, n - 1
/// hashes in all) and so need only O(log n) extra memory and no indexing.
pub fn root_from_leaf_hashes(leaves: &[NodeHash]) -> NodeHash {
    // (hash, height) of the perfect subtrees built so far, strictly
    // decreasing heights from bottom to top of the stack.
    let mut peaks: Vec<(NodeHash, u32)> = Vec::with_capacity(64);
    for leaf in leaves {
        let mut node = *leaf;
        let mut height = 0u32;
        while let Some(&(left, left_height)) = peaks.last() {
            if left_height != height {
                break;
            }
            peaks.pop();
            node = node_hash(&left, &node);
            height = height.saturating_add(1);
        }
        peaks.push((node, height));
    }
    let mut from_right = peaks.into_iter().rev();
    match from_right.next() {
        None => EMPTY_ROOT,
        Some((last, _)) => from_right.fold(last, |acc, (peak, _)| node_hash(&peak, &acc)),
    }
}

/// The audit path PATH(m, D\[n\]) proving that leaf `index` is in the tree of
/// all `leaves` (RFC 9162 §2.1.3.1), ordered from the leaf's sibling up to the
/// root's child, as [`verify_inclusion`] expects.
///
/// Descends from the root: at each level the sibling subtree's hash is
/// computed once and we continue into the other half, so the work is at most
/// n/2 + n/4 + … < n hashes.
///
/// # Errors
/// [`MerkleError::IndexOutOfRange`] if `index >= leaves.len()`.
pub fn inclusion_proof(leaves: &[NodeHash], index: u64) -> Result<Vec<NodeHash>, MerkleError> {
    let size = len_u64(leaves.len());
    let out_of_range = MerkleError::IndexOutOfRange { index, size };
    if index >= size {
        return Err(out_of_range);
    }
    let mut m = usize::try_from(index).map_err(|_| out_of_range)?;
    let mut subtree = leaves;
    let mut path = Vec::new();
    // The loop ends when the subtree is the single leaf `index`.
    while let Some((k, left, right)) = split(subtree) {
        if m < k {
            // PATH(m, D[n]) = PATH(m, D[0:k]) : MTH(D[k:n])
            path.push(root_from_leaf_hashes(right));
            subtree = left;
        } else {
            // PATH(m, D[n]) = PATH(m - k, D[k:n]) : MTH(D[0:k])
            path.push(root_from_leaf_hashes(left));
            m -= k;
            subtree = right;
        }
    }
    // We pushed from the root down; the RFC lists the path from the leaf up.
    path.reverse();
    Ok(path)
}

/// The consistency proof PROOF(m, D\[n\]) that the tree of the first
/// `old_size` leaves is a prefix of the tree of all `leaves` (RFC 9162
/// §2.1.4.1), as [`verify_consistency`] expects.
///
/// RFC 9162 defines PROOF only for 0 < m < n. At the edges we return the
/// empty proof, matching what [`verify_consistency`] accepts:
/// * `old_size == leaves.len()`: a tree is consistent with itself (this is
///   RFC 6962's SUBPROOF(m, D\[m\], true) = {});
/// * `old_size == 0`: every tree extends the empty tree, so there is nothing
///   to prove.
///
/// Like [`inclusion_proof`], each level hashes one sibling subtree once and
/// recurses into the other: fewer than n hashes overall.
///
/// # Errors
/// [`MerkleError::SizeMismatch`] if `old_size > leaves.len()`.
pub fn consistency_proof(leaves: &[NodeHash], old_size: u64) -> Result<Vec<NodeHash>, MerkleError> {
    let new_size = len_u64(leaves.len());
    let mismatch = MerkleError::SizeMismatch { old_size, new_size };
    if old_size > new_size {
        return Err(mismatch);
    }
    if old_size == 0 || old_size == new_size {
        return Ok(Vec::new());
    }
    let mut m = usize::try_from(old_size).map_err(|_| mismatch)?;
    let mut subtree = leaves;
    // `complete` is the RFC's flag b: true while the current subtree's left
    // part is exactly the old tree, whose root the verifier already has.
    let mut complete = true;
    let mut proof = Vec::new();
    loop {
        if m == subtree.len() {
            // SUBPROOF(m, D[m], true) = {}; SUBPROOF(m, D[m], false) = {MTH(D[m])}
            if !complete {
                proof.push(root_from_leaf_hashes(subtree));
            }
            break;
        }
        // Here 0 < m < subtree.len(), so the split exists.
        let Some((k, left, right)) = split(subtree) else {
            break;
        };
        if m <= k {
            // SUBPROOF(m, D[n], b) = SUBPROOF(m, D[0:k], b) : MTH(D[k:n])
            proof.push(root_from_leaf_hashes(right));
            subtree = left;
        } else {
            // SUBPROOF(m, D[n], b) = SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k])
            proof.push(root_from_leaf_hashes(left));
            m -= k;
            subtree = right;
            complete = false;
        }
    }
    // Pushed from the root down; the RFC lists the innermost part first.
    proof.reverse();
    Ok(proof)
}

/// Check that `leaf` (a leaf hash) is at position `index` in the tree of size
/// `tree_size` whose root is `root`, using the algorithm of RFC 9162 §2.1.3.2
/// verbatim.
///
/// The proof length is checked first against the length the tree shape
/// requires. The RFC loop would reject every wrong length anyway (through its
/// `sn` checks); the early check only makes the error precise.
///
/// The proof authenticates the leaf against `root`, *not* `tree_size`: for
/// some sizes two trees have identically shaped paths for the same index
/// (e.g. index 0 in trees of size 3 and 4), and such a proof verifies under
/// either size. Callers must take `tree_size` and `root` together from the
/// same signed tree head.
///
/// The final root comparison is constant-time.
///
/// # Errors
/// [`MerkleError::IndexOutOfRange`], [`MerkleError::ProofLength`] or
/// [`MerkleError::RootMismatch`].
pub fn verify_inclusion(
    leaf: &NodeHash,
    index: u64,
    tree_size: u64,
    proof: &[NodeHash],
    root: &NodeHash,
) -> Result<(), MerkleError> {
    // 1. If leaf_index >= tree_size, fail.
    if index >= tree_size {
        return Err(MerkleError::IndexOutOfRange {
            index,
            size: tree_size,
        });
    }
    let expected = inclusion_proof_len(index, tree_size);
    let length_error = MerkleError::ProofLength {
        expected,
        got: proof.len(),
    };
    if proof.len() != expected {
        return Err(length_error);
    }
    // 2. Set fn to leaf_index and sn to tree_size - 1.
    let mut f_n = index;
    let mut s_n = tree_size - 1;
    // 3. Set r to hash.
    let mut r = *leaf;
    // 4. For each value p in the inclusion_path array:
    for p in proof {
        // a. If sn is 0, stop the iteration and fail the proof verification.
        if s_n == 0 {
            return Err(length_error);
        }
        // b. If LSB(fn) is set, or if fn is equal to sn, then:
        if f_n & 1 == 1 || f_n == s_n {
            // i. Set r to HASH(0x01 || p || r).
            r = node_hash(p, &r);
            // ii. If LSB(fn) is not set, right-shift both fn and sn equally
            //     until either LSB(fn) is set or fn is 0.
            if f_n & 1 == 0 {
                while f_n & 1 == 0 && f_n != 0 {
                    f_n >>= 1;
                    s_n >>= 1;
                }
            }
        } else {
            // Otherwise: set r to HASH(0x01 || r || p).
            r = node_hash(&r, p);
        }
        // c. Finally, right-shift both fn and sn one time.
        f_n >>= 1;
        s_n >>= 1;
    }
    // 5. Compare sn to 0 and r against root_hash.
    if s_n != 0 {
        return Err(length_error);
    }
    if bool::from(r.ct_eq(root)) {
        Ok(())
    } else {
        Err(MerkleError::RootMismatch)
    }
}

/// The perfect subtrees ("peaks") that cover leaves `0..index` of a tree, largest
/// first, read off a checked inclusion proof of leaf `index`.
///
/// In the RFC 9162 tree every left sibling on a leaf's audit path is a perfect subtree
/// lying wholly to the left of the leaf, one per set bit of `index`, so the left
/// siblings (nearest first) reversed are exactly the compact stack of the prefix
/// `0..index`. Whoever holds an inclusion proof under a trusted root can therefore
/// extend the tree from that leaf onwards — fetch the later entries, fold them in and
/// compare with a later signed root — without ever downloading the entries before it
/// (a signer re-checking its receipt, protocol-spec/07 §7.10).
///
/// The proof is verified first ([`verify_inclusion`]); nothing is returned from an
/// unchecked one.
///
/// # Errors
/// Those of [`verify_inclusion`].
pub fn prefix_peaks(
    leaf: &NodeHash,
    index: u64,
    tree_size: u64,
    proof: &[NodeHash],
    root: &NodeHash,
) -> Result<Vec<NodeHash>, MerkleError> {
    verify_inclusion(leaf, index, tree_size, proof, root)?;
    // The same walk as verify_inclusion, keeping the left siblings.
    let mut left = Vec::with_capacity(index.count_ones() as usize);
    let mut f_n = index;
    let mut s_n = tree_size - 1;
    for p in proof {
        if f_n & 1 == 1 || f_n == s_n {
            left.push(*p);
            while f_n & 1 == 0 && f_n != 0 {
                f_n >>= 1;
                s_n >>= 1;
            }
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    left.reverse();
    Ok(left)
}

/// Check that the tree of size `new_size` with root `new_root` extends the tree
/// of size `old_size` with root `old_root`, using the algorithm of RFC 9162
/// §2.1.4.2 verbatim for 0 < `old_size` < `new_size`.
///
/// RFC 9162 only defines the case 0 < old_size < new_size. The edges, which
/// a monitor meets in practice (no new entries since the last check; a log
/// first seen when empty), are decided here as follows:
/// * `old_size == new_size`: accepted iff the proof is empty and the roots are
///   equal (RFC 6962's empty SUBPROOF(m, D\[m\], true));
/// * `old_size == 0`: accepted iff the proof is empty and `old_root` is
///   [`EMPTY_ROOT`]. Every tree extends the empty tree, so nothing about
///   `new_root` can be checked; but a nonsensical claimed old root is still
///   rejected rather than silently ignored.
///
/// As in [`verify_inclusion`], a precise length check precedes the RFC loop
/// and both root comparisons are constant-time. The proof authenticates the
/// roots, not the sizes: callers must take each size with its root from the
/// same signed tree head.
///
/// # Errors
/// [`MerkleError::SizeMismatch`], [`MerkleError::ProofLength`],
/// [`MerkleError::OldRootMismatch`] or [`MerkleError::NewRootMismatch`].
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &NodeHash,
    new_root: &NodeHash,
    proof: &[NodeHash],
) -> Result<(), MerkleError> {
    if old_size > new_size {
        return Err(MerkleError::SizeMismatch { old_size, new_size });
    }
    if old_size == 0 || old_size == new_size {
        if !proof.is_empty() {
            return Err(MerkleError::ProofLength {
                expected: 0,
                got: proof.len(),
            });
        }
        let (expected_old, error) = if old_size == 0 {
            (&EMPTY_ROOT, MerkleError::OldRootMismatch)
        } else {
            (new_root, MerkleError::NewRootMismatch)
        };
        return if bool::from(old_root.ct_eq(expected_old)) {
            Ok(())
        } else {
            Err(error)
        };
    }
    // From here on 0 < old_size < new_size, as RFC 9162 §2.1.4.2 assumes.
    let expected = consistency_proof_len(old_size, new_size);
    let length_error = MerkleError::ProofLength {
        expected,
        got: proof.len(),
    };
    if proof.len() != expected {
        return Err(length_error);
    }
    // 1. If consistency_path is empty, fail.  (Here expected >= 1.)
    // 2. If first is an exact power of 2, prepend first_hash to the path.
    //    (Done without allocating: the seed is the path's first element.)
    let (seed, rest) = if old_size.is_power_of_two() {
        (old_root, proof)
    } else {
        match proof.split_first() {
            Some(split) => split,
            None => return Err(length_error),
        }
    };
    // 3. Set fn to first - 1 and sn to second - 1.
    let mut f_n = old_size - 1;
    let mut s_n = new_size - 1;
    // 4. If LSB(fn) is set, right-shift both fn and sn equally until LSB(fn)
    //    is not set.
    while f_n & 1 == 1 {
        f_n >>= 1;
        s_n >>= 1;
    }
    // 5. Set both fr and sr to the first value in the consistency_path array.
    let mut f_r = *seed;
    let mut s_r = *seed;
    // 6. For each subsequent value c in the consistency_path array:
    for c in rest {
        // a. If sn is 0, stop the iteration and fail the proof verification.
        if s_n == 0 {
            return Err(length_error);
        }
        // b. If LSB(fn) is set, or if fn is equal to sn, then:
        if f_n & 1 == 1 || f_n == s_n {
            // i. Set fr to HASH(0x01 || c || fr); set sr to HASH(0x01 || c || sr).
            f_r = node_hash(c, &f_r);
            s_r = node_hash(c, &s_r);
            // ii. If LSB(fn) is not set, right-shift both fn and sn equally
            //     until either LSB(fn) is set or fn is 0.
            if f_n & 1 == 0 {
                while f_n & 1 == 0 && f_n != 0 {
                    f_n >>= 1;
                    s_n >>= 1;
                }
            }
        } else {
            // Otherwise: set sr to HASH(0x01 || sr || c).
            s_r = node_hash(&s_r, c);
        }
        // c. Finally, right-shift both fn and sn one time.
        f_n >>= 1;
        s_n >>= 1;
    }
    // 7. Verify fr == first_hash, sr == second_hash and sn == 0.
    if s_n != 0 {
        return Err(length_error);
    }
    let old_ok = f_r.ct_eq(old_root);
    let new_ok = s_r.ct_eq(new_root);
    if !bool::from(old_ok) {
        Err(MerkleError::OldRootMismatch)
    } else if !bool::from(new_ok) {
        Err(MerkleError::NewRootMismatch)
    } else {
        Ok(())
    }
}

/// A slice length as a tree size. `usize` is at most 64 bits on every
/// platform Rust supports, so the fallback is unreachable.
fn len_u64(len: usize) -> u64 {
    u64::try_from(len).unwrap_or(u64::MAX)
}

/// The largest power of two strictly less than `n`, for `n >= 2`: the RFC
/// 9162 §2.1.1 split point k with k < n <= 2k. Returns `None` for `n < 2`.
fn split_point(n: u64) -> Option<u64> {
    if n < 2 {
        return None;
    }
    // n - 1 >= 1, so leading_zeros <= 63 and the shift is in 0..=63.
    Some(1u64 << (u64::BITS - 1 - (n - 1).leading_zeros()))
}

/// Split a list of at least two leaf hashes at the RFC 9162 §2.1.1 point k,
/// returning (k, D\[0:k\], D\[k:n\]); `None` for fewer than two leaves.
fn split(leaves: &[NodeHash]) -> Option<(usize, &[NodeHash], &[NodeHash])> {
    let k = usize::try_from(split_point(len_u64(leaves.len()))?).ok()?;
    let (left, right) = leaves.split_at_checked(k)?;
    Some((k, left, right))
}

/// The length of PATH(index, D\[size\]), from the recursive definition of RFC
/// 9162 §2.1.3.1 (one hash per level descended). Requires `index < size`.
///
/// Derived from the *generation* rules, independently of the verification
/// loop, which the tests check against each other.
fn inclusion_proof_len(mut index: u64, mut size: u64) -> usize {
    let mut len = 0usize;
    while let Some(k) = split_point(size) {
        if index < k {
            size = k;
        } else {
            index -= k;
            size -= k;
        }
        len += 1;
    }
    len
}

/// The length of PROOF(old_size, D\[new_size\]) from the recursive definition
/// of SUBPROOF in RFC 9162 §2.1.4.1. Requires 0 < old_size < new_size.
fn consistency_proof_len(mut m: u64, mut n: u64) -> usize {
    let mut complete = true;
    let mut len = 0usize;
    loop {
        if m == n {
            if !complete {
                len += 1;
            }
            return len;
        }
        let Some(k) = split_point(n) else {
            return len;
        };
        if m <= k {
            n = k;
        } else {
            m -= k;
            n -= k;
            complete = false;
        }
        len += 1;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha20Rng;

    fn h(s: &str) -> NodeHash {
        NodeHash::from_hex(s).unwrap()
    }

    /// Leaf inputs of the Certificate Transparency reference tests
    /// (transparency-dev/merkle `testonly/constants.go`, `LeafInputs`).
    fn ct_leaf_inputs() -> Vec<Vec<u8>> {
        [
            "",
            "00",
            "10",
            "2021",
            "3031",
            "40414243",
            "5051525354555657",
            "606162636465666768696a6b6c6d6e6f",
        ]
        .iter()
        .map(|s| hex::decode(s).unwrap())
        .collect()
    }

    fn ct_leaf_hashes() -> Vec<NodeHash> {
        ct_leaf_inputs().iter().map(|d| leaf_hash(d)).collect()
    }

    /// `RootHashes` of transparency-dev/merkle `testonly/constants.go`,
    /// indexed by tree size 0..=8.
    const CT_ROOTS: [&str; 9] = [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    /// `NodeHashes` level 0 (the leaf hashes) of the same file.
    const CT_LEAF_HASHES: [&str; 8] = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
        "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
        "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
        "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
    ];

    // ---- Naive reference implementation, straight from the RFC text. ----

    fn k_of(n: usize) -> usize {
        let mut k = 1;
        while k * 2 < n {
            k *= 2;
        }
        k
    }

    fn ref_mth(d: &[NodeHash]) -> NodeHash {
        match d.len() {
            0 => NodeHash(Sha256::digest([]).into()),
            1 => d[0],
            n => {
                let k = k_of(n);
                node_hash(&ref_mth(&d[..k]), &ref_mth(&d[k..]))
            }
        }
    }

    fn ref_path(m: usize, d: &[NodeHash]) -> Vec<NodeHash> {
        if d.len() == 1 {
            return Vec::new();
        }
        let k = k_of(d.len());
        if m < k {
            let mut p = ref_path(m, &d[..k]);
            p.push(ref_mth(&d[k..]));
            p
        } else {
            let mut p = ref_path(m - k, &d[k..]);
            p.push(ref_mth(&d[..k]));
            p
        }
    }

    fn ref_subproof(m: usize, d: &[NodeHash], b: bool) -> Vec<NodeHash> {
        let n = d.len();
        if m == n {
            return if b { Vec::new() } else { vec![ref_mth(d)] };
        }
        let k = k_of(n);
        if m <= k {
            let mut p = ref_subproof(m, &d[..k], b);
            p.push(ref_mth(&d[k..]));
            p
        } else {
            let mut p = ref_subproof(m - k, &d[k..], false);
            p.push(ref_mth(&d[..k]));
            p
        }
    }

    /// The sequence of sibling sides (true = sibling on the left) along
    /// PATH(m, D[n]), leaf first. Two (index, size) pairs with the same shape
    /// combine the same proof the same way, so their verifications agree.
    fn path_shape(mut m: u64, mut n: u64) -> Vec<bool> {
        let mut s = Vec::new();
        while n > 1 {
            let k = k_of(n as usize) as u64;
            if m < k {
                s.push(false);
                n = k;
            } else {
                s.push(true);
                m -= k;
                n -= k;
            }
        }
        s.reverse();
        s
    }

    /// Analogue of `path_shape` for SUBPROOF(m, D[n], true): the final flag b
    /// and the sides taken, leaf first.
    fn subproof_shape(mut m: u64, mut n: u64) -> (bool, Vec<bool>) {
        let mut s = Vec::new();
        let mut b = true;
        while m != n {
            let k = k_of(n as usize) as u64;
            if m <= k {
                s.push(false);
                n = k;
            } else {
                s.push(true);
                m -= k;
                n -= k;
                b = false;
            }
        }
        s.reverse();
        (b, s)
    }

    /// Distinct, arbitrary leaves.
    fn leaves(n: usize) -> Vec<NodeHash> {
        (0..n as u64).map(|i| leaf_hash(&i.to_be_bytes())).collect()
    }

    fn flip(p: &[NodeHash], i: usize, bit: u8) -> Vec<NodeHash> {
        let mut q = p.to_vec();
        q[i].0[0] ^= bit;
        q
    }

    // ---- Known-answer tests ----

    #[test]
    fn empty_root_constant() {
        assert_eq!(EMPTY_ROOT, NodeHash(Sha256::digest(b"").into()));
        assert_eq!(EMPTY_ROOT, h(CT_ROOTS[0]));
        assert_eq!(root_from_leaf_hashes(&[]), EMPTY_ROOT);
    }

    #[test]
    fn kat_leaf_hashes() {
        let got = ct_leaf_hashes();
        for (g, want) in got.iter().zip(CT_LEAF_HASHES) {
            assert_eq!(*g, h(want));
        }
    }

    #[test]
    fn kat_roots() {
        let lh = ct_leaf_hashes();
        for (n, want) in CT_ROOTS.iter().enumerate() {
            assert_eq!(root_from_leaf_hashes(&lh[..n]), h(want), "size {n}");
            assert_eq!(ref_mth(&lh[..n]), h(want), "reference, size {n}");
        }
    }

    #[test]
    fn kat_interior_nodes() {
        // NodeHashes levels 1 and 2 of transparency-dev/merkle testonly.
        let lh = ct_leaf_hashes();
        let level1 = [
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        ];
        for (i, want) in level1.iter().enumerate() {
            assert_eq!(node_hash(&lh[2 * i], &lh[2 * i + 1]), h(want));
        }
        assert_eq!(
            root_from_leaf_hashes(&lh[4..8]),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4")
        );
    }

    #[test]
    fn kat_inclusion_proofs() {
        // transparency-dev/merkle proof/verify_test.go `inclusionProofs`
        // (1-based leaf numbers there, 0-based indices here).
        let vectors: [(u64, u64, &[&str]); 5] = [
            (0, 1, &[]),
            (
                0,
                8,
                &[
                    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ],
            ),
            (
                5,
                8,
                &[
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
            (
                2,
                3,
                &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
            ),
            (
                1,
                5,
                &[
                    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                ],
            ),
        ];
        let lh = ct_leaf_hashes();
        for (index, size, want) in vectors {
            let want: Vec<NodeHash> = want.iter().map(|s| h(s)).collect();
            let tree = &lh[..size as usize];
            assert_eq!(inclusion_proof(tree, index).unwrap(), want);
            let root = h(CT_ROOTS[size as usize]);
            verify_inclusion(&lh[index as usize], index, size, &want, &root).unwrap();
        }
    }

    #[test]
    fn kat_consistency_proofs() {
        // transparency-dev/merkle proof/verify_test.go `consistencyProofs`.
        let vectors: [(u64, u64, &[&str]); 5] = [
            (1, 1, &[]),
            (
                1,
                8,
                &[
                    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ],
            ),
            (
                6,
                8,
                &[
                    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
            (
                2,
                5,
                &[
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                ],
            ),
            (
                6,
                7,
                &[
                    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                    "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
        ];
        let lh = ct_leaf_hashes();
        for (m, n, want) in vectors {
            let want: Vec<NodeHash> = want.iter().map(|s| h(s)).collect();
            assert_eq!(consistency_proof(&lh[..n as usize], m).unwrap(), want);
            let (r1, r2) = (h(CT_ROOTS[m as usize]), h(CT_ROOTS[n as usize]));
            verify_consistency(m, n, &r1, &r2, &want).unwrap();
        }
    }

    // ---- Exhaustive round trips ----

    #[test]
    fn roots_match_reference_up_to_200() {
        let all = leaves(200);
        for n in 0..=200 {
            assert_eq!(
                root_from_leaf_hashes(&all[..n]),
                ref_mth(&all[..n]),
                "n={n}"
            );
        }
    }

    #[test]
    fn inclusion_round_trip_all_sizes() {
        let all = leaves(40);
        for n in 1..=40usize {
            let tree = &all[..n];
            let root = root_from_leaf_hashes(tree);
            for i in 0..n {
                let proof = inclusion_proof(tree, i as u64).unwrap();
                assert_eq!(proof, ref_path(i, tree), "n={n} i={i}");
                assert_eq!(proof.len(), inclusion_proof_len(i as u64, n as u64));
                verify_inclusion(&tree[i], i as u64, n as u64, &proof, &root)
                    .unwrap_or_else(|e| panic!("n={n} i={i}: {e}"));
            }
        }
    }

    #[test]
    fn consistency_round_trip_all_sizes() {
        let all = leaves(40);
        for n in 1..=40usize {
            let new_root = root_from_leaf_hashes(&all[..n]);
            for m in 1..=n {
                let old_root = root_from_leaf_hashes(&all[..m]);
                let proof = consistency_proof(&all[..n], m as u64).unwrap();
                if m < n {
                    assert_eq!(proof, ref_subproof(m, &all[..n], true), "m={m} n={n}");
                    assert_eq!(proof.len(), consistency_proof_len(m as u64, n as u64));
                } else {
                    assert!(proof.is_empty());
                }
                verify_consistency(m as u64, n as u64, &old_root, &new_root, &proof)
                    .unwrap_or_else(|e| panic!("m={m} n={n}: {e}"));
            }
        }
    }

    // ---- Mutations that must be rejected ----

    #[test]
    fn inclusion_mutations_rejected() {
        let all = leaves(41);
        let other = h("abacaba000000000000000000000000000000000000000000060061e00123456");
        for n in 1..=40u64 {
            let tree = &all[..n as usize];
            let root = root_from_leaf_hashes(tree);
            for i in 0..n {
                let leaf = tree[i as usize];
                let proof = inclusion_proof(tree, i).unwrap();
                let v = |leaf: &NodeHash, i: u64, n: u64, p: &[NodeHash], r: &NodeHash| {
                    verify_inclusion(leaf, i, n, p, r)
                };
                // Wrong index, anywhere in the tree.
                for j in (0..n).filter(|&j| j != i) {
                    assert!(v(&leaf, j, n, &proof, &root).is_err(), "n={n} i={i} j={j}");
                }
                // Index at or beyond the size.
                for j in [n, n + 1, u64::MAX] {
                    assert_eq!(
                        v(&leaf, j, n, &proof, &root),
                        Err(MerkleError::IndexOutOfRange { index: j, size: n })
                    );
                }
                // Wrong tree size: rejected unless the path has exactly the
                // same shape (the size is not authenticated by the proof; see
                // `tree_size_is_bound_by_the_root_not_the_proof`).
                for n2 in (i + 1..=2 * n + 1).filter(|&n2| n2 != n) {
                    let accepted = v(&leaf, i, n2, &proof, &root).is_ok();
                    assert_eq!(
                        accepted,
                        path_shape(i, n2) == path_shape(i, n),
                        "n={n} i={i} n2={n2}"
                    );
                }
                assert!(v(&leaf, i, n, &proof, &other).is_err());
                assert!(v(&leaf, i, n, &proof, &EMPTY_ROOT).is_err());
                assert!(v(&all[40], i, n, &proof, &root).is_err());
                // Extra node appended / prepended.
                for extra in [root, other, leaf] {
                    let mut longer = proof.clone();
                    longer.push(extra);
                    assert!(matches!(
                        v(&leaf, i, n, &longer, &root),
                        Err(MerkleError::ProofLength { .. })
                    ));
                    longer.pop();
                    longer.insert(0, extra);
                    assert!(v(&leaf, i, n, &longer, &root).is_err());
                }
                // Truncated, or a node removed from the middle.
                if !proof.is_empty() {
                    assert!(v(&leaf, i, n, &proof[..proof.len() - 1], &root).is_err());
                    assert!(v(&leaf, i, n, &proof[1..], &root).is_err());
                }
                // Each node flipped, in two different bits.
                for k in 0..proof.len() {
                    for bit in [0x01, 0x80] {
                        assert_eq!(
                            v(&leaf, i, n, &flip(&proof, k, bit), &root),
                            Err(MerkleError::RootMismatch)
                        );
                    }
                }
                // Two nodes swapped.
                if proof.len() > 1 {
                    let mut swapped = proof.clone();
                    swapped.swap(0, proof.len() - 1);
                    assert!(v(&leaf, i, n, &swapped, &root).is_err());
                }
            }
        }
    }

    #[test]
    fn tree_size_is_bound_by_the_root_not_the_proof() {
        // Index 0 has the same path shape in trees of size 3 and 4, so a
        // size-3 proof also "verifies" when the root is mislabelled as size 4.
        // This is inherent to RFC 9162; it is why callers must take size and
        // root from one signed tree head.
        let lh = ct_leaf_hashes();
        let proof = inclusion_proof(&lh[..3], 0).unwrap();
        let root3 = h(CT_ROOTS[3]);
        verify_inclusion(&lh[0], 0, 3, &proof, &root3).unwrap();
        verify_inclusion(&lh[0], 0, 4, &proof, &root3).unwrap();
        // But never against the true size-4 root.
        assert!(verify_inclusion(&lh[0], 0, 4, &proof, &h(CT_ROOTS[4])).is_err());
    }

    #[test]
    fn consistency_mutations_rejected() {
        let all = leaves(81);
        let other = h("abacaba000000000000000000000000000000000000000000060061e00123456");
        let roots: Vec<NodeHash> = (0..=81).map(|n| root_from_leaf_hashes(&all[..n])).collect();
        for n in 2..=40u64 {
            let r2 = roots[n as usize];
            for m in 1..n {
                let r1 = roots[m as usize];
                let proof = consistency_proof(&all[..n as usize], m).unwrap();
                let v = |m: u64, n: u64, r1: &NodeHash, r2: &NodeHash, p: &[NodeHash]| {
                    verify_consistency(m, n, r1, r2, p)
                };
                v(m, n, &r1, &r2, &proof).unwrap();
                // Swapped roots; wrong old or new root.
                assert!(v(m, n, &r2, &r1, &proof).is_err(), "m={m} n={n}");
                assert!(v(m, n, &other, &r2, &proof).is_err());
                assert!(v(m, n, &r1, &other, &proof).is_err());
                assert!(v(m, n, &r1, &r1, &proof).is_err());
                assert!(v(m, n, &r2, &r2, &proof).is_err());
                // Empty proof.
                assert!(v(m, n, &r1, &r2, &[]).is_err());
                // Old size beyond new size; old size 0 with this proof.
                assert_eq!(
                    v(n + 1, n, &r1, &r2, &proof),
                    Err(MerkleError::SizeMismatch {
                        old_size: n + 1,
                        new_size: n
                    })
                );
                assert!(v(0, n, &r1, &r2, &proof).is_err());
                assert!(v(0, n, &EMPTY_ROOT, &r2, &proof).is_err());
                // Wrong sizes (roots kept): rejected unless the proof has
                // exactly the same shape for the wrong sizes.
                for (m2, n2) in [
                    (m - 1, n),
                    (m + 1, n),
                    (m ^ 2, n),
                    (m, n - 1),
                    (m, n + 1),
                    (m, 2 * n),
                    (m, n / 2),
                ] {
                    if (m2, n2) == (m, n) {
                        continue;
                    }
                    let accepted = v(m2, n2, &r1, &r2, &proof).is_ok();
                    let same_shape = m2 > 0
                        && m2 < n2
                        && subproof_shape(m2, n2) == subproof_shape(m, n)
                        && m2.is_power_of_two() == m.is_power_of_two();
                    assert_eq!(accepted, same_shape, "m={m} n={n} -> m2={m2} n2={n2}");
                }
                // Extra node appended or prepended.
                for extra in [r1, r2, other, proof[0]] {
                    let mut longer = proof.clone();
                    longer.push(extra);
                    assert!(matches!(
                        v(m, n, &r1, &r2, &longer),
                        Err(MerkleError::ProofLength { .. })
                    ));
                    longer.pop();
                    longer.insert(0, extra);
                    assert!(v(m, n, &r1, &r2, &longer).is_err());
                }
                // Truncated.
                assert!(v(m, n, &r1, &r2, &proof[..proof.len() - 1]).is_err());
                assert!(v(m, n, &r1, &r2, &proof[1..]).is_err());
                // Each node flipped.
                for k in 0..proof.len() {
                    for bit in [0x01, 0x10] {
                        let bad = flip(&proof, k, bit);
                        assert!(
                            matches!(
                                v(m, n, &r1, &r2, &bad),
                                Err(MerkleError::OldRootMismatch | MerkleError::NewRootMismatch)
                            ),
                            "m={m} n={n} k={k}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn consistency_edge_cases() {
        let all = leaves(10);
        let r5 = root_from_leaf_hashes(&all[..5]);
        let r6 = root_from_leaf_hashes(&all[..6]);
        // Equal sizes: empty proof and equal roots only.
        verify_consistency(5, 5, &r5, &r5, &[]).unwrap();
        assert_eq!(
            verify_consistency(5, 5, &r5, &r6, &[]),
            Err(MerkleError::NewRootMismatch)
        );
        assert_eq!(
            verify_consistency(5, 5, &r5, &r5, &[r5]),
            Err(MerkleError::ProofLength {
                expected: 0,
                got: 1
            })
        );
        // Old size 0: the documented decision. Only the empty proof from the
        // genuine empty root is accepted; the new root is unconstrained.
        assert!(consistency_proof(&all, 0).unwrap().is_empty());
        verify_consistency(0, 6, &EMPTY_ROOT, &r6, &[]).unwrap();
        verify_consistency(0, 0, &EMPTY_ROOT, &EMPTY_ROOT, &[]).unwrap();
        assert_eq!(
            verify_consistency(0, 6, &r5, &r6, &[]),
            Err(MerkleError::OldRootMismatch)
        );
        assert_eq!(
            verify_consistency(0, 6, &EMPTY_ROOT, &r6, &[EMPTY_ROOT]),
            Err(MerkleError::ProofLength {
                expected: 0,
                got: 1
            })
        );
        // Shrinking.
        assert_eq!(
            consistency_proof(&all[..5], 6),
            Err(MerkleError::SizeMismatch {
                old_size: 6,
                new_size: 5
            })
        );
        assert!(verify_consistency(6, 5, &r6, &r5, &[]).is_err());
        assert!(verify_consistency(u64::MAX, 5, &r6, &r5, &[]).is_err());
        // Huge sizes do not panic or overflow.
        assert!(verify_consistency(u64::MAX - 1, u64::MAX, &r5, &r6, &[r5; 3]).is_err());
        assert!(verify_consistency(1, u64::MAX, &r5, &r6, &[r5; 64]).is_err());
        assert!(verify_consistency(1 << 63, u64::MAX, &r5, &r6, &[r5; 64]).is_err());
    }

    #[test]
    fn inclusion_edge_cases() {
        let all = leaves(3);
        assert_eq!(
            inclusion_proof(&[], 0),
            Err(MerkleError::IndexOutOfRange { index: 0, size: 0 })
        );
        assert_eq!(
            inclusion_proof(&all, 3),
            Err(MerkleError::IndexOutOfRange { index: 3, size: 3 })
        );
        assert!(inclusion_proof(&all, u64::MAX).is_err());
        assert!(verify_inclusion(&all[0], 0, 0, &[], &EMPTY_ROOT).is_err());
        // A one-leaf tree: the root is the leaf hash, the proof is empty.
        verify_inclusion(&all[0], 0, 1, &[], &all[0]).unwrap();
        assert!(verify_inclusion(&all[0], 0, 1, &[], &all[1]).is_err());
        assert!(verify_inclusion(&all[0], 0, 1, &[all[1]], &all[0]).is_err());
        // Huge sizes do not panic or overflow.
        for (i, n) in [(u64::MAX - 1, u64::MAX), (0, u64::MAX), (1 << 63, u64::MAX)] {
            let len = inclusion_proof_len(i, n);
            assert!(len <= 64);
            let p = vec![all[1]; len];
            assert_eq!(
                verify_inclusion(&all[0], i, n, &p, &all[2]),
                Err(MerkleError::RootMismatch)
            );
            assert!(verify_inclusion(&all[0], i, n, &p[1..], &all[2]).is_err());
        }
    }

    #[test]
    fn randomized_large_trees() {
        let mut rng = ChaCha20Rng::seed_from_u64(0x766f_785f_6d6b);
        let all = leaves(3000);
        for _ in 0..200 {
            let n = rng.gen_range(1..=all.len());
            let tree = &all[..n];
            let root = root_from_leaf_hashes(tree);
            let i = rng.gen_range(0..n);
            let proof = inclusion_proof(tree, i as u64).unwrap();
            verify_inclusion(&tree[i], i as u64, n as u64, &proof, &root).unwrap();
            if !proof.is_empty() {
                let k = rng.gen_range(0..proof.len());
                let bit = 1u8 << rng.gen_range(0..8);
                let bad = flip(&proof, k, bit);
                assert!(verify_inclusion(&tree[i], i as u64, n as u64, &bad, &root).is_err());
            }
            let m = rng.gen_range(1..=n);
            let old_root = root_from_leaf_hashes(&tree[..m]);
            let cproof = consistency_proof(tree, m as u64).unwrap();
            verify_consistency(m as u64, n as u64, &old_root, &root, &cproof).unwrap();
            if !cproof.is_empty() {
                let k = rng.gen_range(0..cproof.len());
                let bit = 1u8 << rng.gen_range(0..8);
                let bad = flip(&cproof, k, bit);
                assert!(verify_consistency(m as u64, n as u64, &old_root, &root, &bad).is_err());
            }
        }
    }

    #[test]
    fn big_tree_is_linear_enough() {
        // 2^17 + 3 leaves: a quadratic implementation would take hours here.
        let n = (1usize << 17) + 3;
        let all = leaves(n);
        let root = root_from_leaf_hashes(&all);
        for i in [0, 1, n / 2, n - 1] {
            let proof = inclusion_proof(&all, i as u64).unwrap();
            verify_inclusion(&all[i], i as u64, n as u64, &proof, &root).unwrap();
        }
        for m in [1usize, 1 << 17, n - 1] {
            let old_root = root_from_leaf_hashes(&all[..m]);
            let proof = consistency_proof(&all, m as u64).unwrap();
            verify_consistency(m as u64, n as u64, &old_root, &root, &proof).unwrap();
        }
    }

    // ---- Encoding ----

    #[test]
    fn hex_serde_and_debug() {
        let x = h(CT_ROOTS[8]);
        assert_eq!(x.to_string(), CT_ROOTS[8]);
        assert_eq!(format!("{x:?}"), format!("NodeHash({})", CT_ROOTS[8]));
        let json = serde_json::to_string(&x).unwrap();
        assert_eq!(json, format!("\"{}\"", CT_ROOTS[8]));
        assert_eq!(serde_json::from_str::<NodeHash>(&json).unwrap(), x);
        assert_eq!(CT_ROOTS[8].parse::<NodeHash>().unwrap(), x);
        // Not canonical or not a hash.
        let upper = CT_ROOTS[8].to_uppercase();
        assert!(NodeHash::from_hex(&upper).is_err());
        assert!(serde_json::from_str::<NodeHash>(&format!("\"{upper}\"")).is_err());
        assert!(NodeHash::from_hex(&CT_ROOTS[8][..62]).is_err());
        assert!(NodeHash::from_hex(&format!("{}00", CT_ROOTS[8])).is_err());
        assert!(NodeHash::from_hex(&format!("{}zz", &CT_ROOTS[8][..62])).is_err());
        assert!(NodeHash::from_hex("é").is_err());
        assert!(serde_json::from_str::<NodeHash>("42").is_err());
    }
}
