//! The log monitor's checks, without I/O (protocol-spec/08-board.md §8.6).
//!
//! A monitor remembers the last tree head it checked and the compact stack of that
//! tree. For every new head it (1) checks the board's signature, (2) refuses a smaller
//! tree or another root for the same size, (3) checks the server's consistency proof from
//! the remembered head, and (4) recomputes the new root itself from the new entries. A
//! head that passes may be cosigned: a witness's cosignature then tells everyone that
//! this head extends every head the witness saw before, so a board that shows two
//! different logs to two people is caught as soon as either meets a witness.

use serde::{Deserialize, Serialize};
use vox_protocol::board::{BoardPublicKey, SignedTreeHead, TreeHead};
use vox_protocol::merkle::{verify_consistency, NodeHash};

use crate::compact::CompactTree;
use crate::error::VerifyError;

/// What a monitor remembers between runs (its state file).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonitorState {
    /// The board followed.
    pub board_public_key: BoardPublicKey,
    /// The last head checked.
    pub head: TreeHead,
    /// The signed head it came from, kept as evidence: if the board later signs another
    /// root for this size, both notes prove the equivocation (absent in older state
    /// files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed: Option<SignedTreeHead>,
    /// Its compact tree (peaks), to recompute later roots from new entries only.
    pub tree: CompactTree,
}

impl MonitorState {
    /// A first head, checked against the entries that `tree` was built from.
    pub fn bootstrap(
        board_public_key: BoardPublicKey,
        sth: &SignedTreeHead,
        tree: CompactTree,
    ) -> Result<Self, VerifyError> {
        verify_head(&board_public_key, sth)?;
        check_root(&tree, &sth.head)?;
        Ok(Self {
            board_public_key,
            head: sth.head,
            signed: Some(sth.clone()),
            tree,
        })
    }

    /// Check a new head against the remembered one: signature, no shrinking, no second
    /// root for a size, and the server's consistency proof (`proof`, for a larger head).
    pub fn check_head(&self, sth: &SignedTreeHead, proof: &[NodeHash]) -> Result<(), VerifyError> {
        verify_head(&self.board_public_key, sth)?;
        let (old, new) = (&self.head, &sth.head);
        if new.tree_size < old.tree_size {
            return Err(VerifyError::LogShrank {
                old_size: old.tree_size,
                new_size: new.tree_size,
            });
        }
        if new.tree_size == old.tree_size && new.root_hash != old.root_hash {
            return Err(VerifyError::Equivocation {
                tree_size: new.tree_size,
                first: old.root_hash,
                second: new.root_hash,
                evidence: evidence(&self.board_public_key, self.signed.as_ref(), Some(sth)),
            });
        }
        verify_consistency(
            old.tree_size,
            new.tree_size,
            &old.root_hash,
            &new.root_hash,
            proof,
        )
        .map_err(|source| VerifyError::Inconsistent {
            old_size: old.tree_size,
            new_size: new.tree_size,
            source,
        })
    }

    /// Accept `sth` after [`MonitorState::check_head`], given the leaf hashes of the
    /// entries from the remembered size up to its size: the recomputed root must match.
    pub fn advance(
        &mut self,
        sth: &SignedTreeHead,
        new_leaves: impl IntoIterator<Item = NodeHash>,
    ) -> Result<(), VerifyError> {
        let mut tree = self.tree.clone();
        for leaf in new_leaves {
            tree.push(leaf);
        }
        check_root(&tree, &sth.head)?;
        self.tree = tree;
        self.head = sth.head;
        self.signed = Some(sth.clone());
        Ok(())
    }
}

/// The two signed checkpoint notes of an equivocation, as the tail of its message
/// ("; evidence, the two signed checkpoints:" and both notes), or "" when either is
/// missing. Each note verifies under the board's note key with any C2SP implementation.
pub fn evidence(
    board: &BoardPublicKey,
    first: Option<&SignedTreeHead>,
    second: Option<&SignedTreeHead>,
) -> String {
    let note = |h: &SignedTreeHead| h.to_note(board).ok();
    match (first.and_then(note), second.and_then(note)) {
        (Some(a), Some(b)) => format!("; evidence, the two signed checkpoints:\n{a}\n{b}"),
        _ => String::new(),
    }
}

fn verify_head(board: &BoardPublicKey, sth: &SignedTreeHead) -> Result<(), VerifyError> {
    sth.verify(board)
        .map_err(|source| VerifyError::TreeHeadSignature {
            tree_size: sth.head.tree_size,
            source,
        })
}

fn check_root(tree: &CompactTree, head: &TreeHead) -> Result<(), VerifyError> {
    if tree.size() != head.tree_size {
        return Err(VerifyError::EntryGap {
            expected: head.tree_size,
            got: tree.size(),
        });
    }
    let computed = tree.root();
    if computed != head.root_hash {
        return Err(VerifyError::RootMismatch {
            tree_size: head.tree_size,
            computed,
            signed: head.root_hash,
        });
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;
    use vox_protocol::merkle::{consistency_proof, leaf_hash, root_from_leaf_hashes};

    fn head(key: &SigningKey, leaves: &[NodeHash], ts: i64) -> SignedTreeHead {
        SignedTreeHead::sign(
            TreeHead {
                tree_size: leaves.len() as u64,
                root_hash: root_from_leaf_hashes(leaves),
                timestamp_ms: ts,
            },
            "monitor.vox.example/test",
            key,
        )
        .unwrap()
    }

    #[test]
    fn follows_a_growing_log_and_catches_forks() {
        let key = SigningKey::from_bytes(&[7u8; 32]);
        let board = BoardPublicKey(key.verifying_key());
        let leaves: Vec<NodeHash> = (0u32..20).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        let mut tree = CompactTree::new();
        for l in leaves.iter().take(5) {
            tree.push(*l);
        }
        let h5 = head(&key, leaves.get(..5).unwrap(), 1);
        let mut st = MonitorState::bootstrap(board, &h5, tree).unwrap();
        let h12 = head(&key, leaves.get(..12).unwrap(), 2);
        let proof = consistency_proof(leaves.get(..12).unwrap(), 5).unwrap();
        st.check_head(&h12, &proof).unwrap();
        st.advance(&h12, leaves.get(5..12).unwrap().iter().copied())
            .unwrap();
        assert_eq!(st.head.tree_size, 12);
        // Same size, same root: fine. Same size, other root: equivocation.
        st.check_head(&h12, &[]).unwrap();
        let mut forked = leaves.get(..12).unwrap().to_vec();
        forked[3] = leaf_hash(b"rewritten");
        let fork = head(&key, &forked, 3);
        assert!(matches!(
            st.check_head(&fork, &[]),
            Err(VerifyError::Equivocation { .. })
        ));
        // A larger fork fails the consistency proof; a smaller head is a shrink.
        forked.extend(leaves.get(12..).unwrap());
        let fork20 = head(&key, &forked, 4);
        let proof = consistency_proof(&forked, 12).unwrap();
        assert!(matches!(
            st.check_head(&fork20, &proof),
            Err(VerifyError::Inconsistent { .. })
        ));
        assert!(matches!(
            st.check_head(&h5, &[]),
            Err(VerifyError::LogShrank { .. })
        ));
        // Entries that do not give the signed root are refused.
        let h20 = head(&key, &leaves, 5);
        assert!(matches!(
            st.clone().advance(
                &h20,
                leaves
                    .get(12..19)
                    .unwrap()
                    .iter()
                    .copied()
                    .chain([leaf_hash(b"x")])
            ),
            Err(VerifyError::RootMismatch { .. })
        ));
        // A bad signature is refused.
        let mut bad = h20.clone();
        bad.head.timestamp_ms += 1;
        assert!(matches!(
            st.check_head(&bad, &[]),
            Err(VerifyError::TreeHeadSignature { .. })
        ));
    }
}
