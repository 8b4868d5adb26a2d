//! The receipt of a petition signature (protocol-spec/07 §7.10 "Receipt"): what a signer
//! keeps to check, later and without trusting the server, that its signature (or
//! withdrawal) is still on the board and whether it still counts.
//!
//! A ballot's receipt is a statement the board signs (08 §8.5). A signature's receipt
//! needs no signature of its own: it is the answer to the signature — the leaf, the leaf
//! hash, a board-signed tree head and the inclusion proof — plus what the signer already
//! knows (the petition, the action, and who signed: the credential, or the linking tag of
//! a ring signature). The signed head commits to the leaf, so the receipt is evidence on
//! its own.
//!
//! Checking it later (`vox voter check-receipt`) needs only the entries *after* the
//! signature: the inclusion proof's left siblings are the compact stack of the tree
//! before the leaf ([`crate::merkle::prefix_peaks`]), so the device folds in the leaf and
//! every later entry and compares with the current signed root. That proves the entries
//! it was shown are the board's, so "no withdrawal, no invalidation since" is a fact, not
//! the server's word ([`SignerWatch`]).

use serde::{Deserialize, Serialize};
use vox_crypto::credential::CredentialPublicKey;
use vox_crypto::ring::LinkingTag;
use vox_crypto::Hash32;

use crate::api::SignatureAccepted;
use crate::board::{BoardEntry, BoardPublicKey, Payload, SignedTreeHead};
use crate::error::{ProtocolError, Result};
use crate::merkle::{prefix_peaks, verify_inclusion, NodeHash};
use crate::petition::SignatureAction;

/// The `kind` of a signature receipt file (a ballot receipt has none).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SignatureReceiptKind {
    /// The only kind.
    PetitionSignature,
}

/// Who signed, as the board shows it: the credential of a credential-signed petition,
/// or the linking tag of a ring-signed one (the same for every signature of one
/// credential on one petition, and nothing else).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Signer {
    /// A credential signature (07 §7.3).
    Credential(CredentialPublicKey),
    /// A ring signature's linking tag (07 §7.10).
    Tag(LinkingTag),
}

impl Signer {
    /// The 32 bytes the petition's tracker keys this signer by.
    pub fn to_bytes(&self) -> [u8; 32] {
        match self {
            Signer::Credential(c) => c.to_bytes(),
            Signer::Tag(t) => t.to_bytes(),
        }
    }

    /// The petition, signer and action of a signature entry; `None` for any other entry.
    pub fn of_entry(payload: &Payload) -> Option<(&str, &Hash32, Signer, SignatureAction)> {
        match payload {
            Payload::PetitionSigned { signature } => Some((
                &signature.petition_id,
                &signature.petition_hash,
                Signer::Credential(signature.credential),
                signature.action,
            )),
            Payload::PetitionRingSigned { signature } => Some((
                &signature.petition_id,
                &signature.petition_hash,
                Signer::Tag(*signature.tag()),
                signature.action,
            )),
            _ => None,
        }
    }
}

/// A signature's receipt, saved by the signer's device (07 §7.10 "Receipt").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureReceipt {
    /// Always `petition-signature`: tells this file from a ballot receipt.
    pub kind: SignatureReceiptKind,
    /// The petition.
    pub petition_id: String,
    /// Its canonical hash, as the signature signed it.
    pub petition_hash: Hash32,
    /// Signed or withdrew.
    pub action: SignatureAction,
    /// The credential or linking tag the entry names.
    pub signer: Signer,
    /// The entry's leaf.
    pub leaf_index: u64,
    /// The entry's leaf hash.
    pub leaf_hash: NodeHash,
    /// A board-signed tree head that includes the leaf.
    pub tree_head: SignedTreeHead,
    /// RFC 9162 inclusion proof of the leaf under `tree_head`.
    pub inclusion_proof: Vec<NodeHash>,
    /// The petition's count in the answer (the server's word, shown for information).
    pub count: u64,
}

impl SignatureReceipt {
    /// The receipt of a signature from the server's answer and the board's entry at the
    /// answer's leaf. The caller has checked that the entry's payload is exactly the
    /// signature it posted; this takes the petition, action and signer from it.
    ///
    /// # Errors
    /// The entry is not a petition signature.
    pub fn from_answer(answer: SignatureAccepted, entry: &BoardEntry) -> Result<Self> {
        let (petition_id, petition_hash, signer, action) = Signer::of_entry(&entry.payload)
            .ok_or_else(|| {
                ProtocolError::invalid("entry", "the entry is not a petition signature")
            })?;
        Ok(Self {
            kind: SignatureReceiptKind::PetitionSignature,
            petition_id: petition_id.to_owned(),
            petition_hash: *petition_hash,
            action,
            signer,
            leaf_index: answer.leaf_index,
            leaf_hash: entry.leaf_hash(),
            tree_head: answer.tree_head,
            inclusion_proof: answer.inclusion_proof,
            count: answer.count,
        })
    }

    /// The receipt's own evidence (R1–R2 of 07 §7.10): its tree head is signed by
    /// `board`, the key the device trusts, and the inclusion proof puts `leaf_hash` at
    /// `leaf_index` under that head.
    ///
    /// # Errors
    /// A bad head signature or inclusion proof.
    pub fn verify(&self, board: &BoardPublicKey) -> Result<()> {
        self.tree_head.verify(board)?;
        verify_inclusion(
            &self.leaf_hash,
            self.leaf_index,
            self.tree_head.head.tree_size,
            &self.inclusion_proof,
            &self.tree_head.head.root_hash,
        )?;
        Ok(())
    }

    /// The board's entry at `leaf_index` is the one this receipt is for (R4): the same
    /// leaf hash, and a signature of this petition, by this signer, with this action.
    ///
    /// # Errors
    /// Any difference.
    pub fn check_entry(&self, entry: &BoardEntry) -> Result<()> {
        if entry.leaf_hash() != self.leaf_hash {
            return Err(ProtocolError::invalid(
                "leaf_hash",
                "the board's entry at the receipt's leaf is not the receipt's entry",
            ));
        }
        match Signer::of_entry(&entry.payload) {
            Some((id, hash, signer, action))
                if id == self.petition_id
                    && *hash == self.petition_hash
                    && signer == self.signer
                    && action == self.action =>
            {
                Ok(())
            }
            _ => Err(ProtocolError::invalid(
                "entry",
                "the receipt's petition, signer or action is not the entry's",
            )),
        }
    }

    /// The compact stack of the board before the receipt's leaf (R5 of 07 §7.10), read
    /// off its inclusion proof once that proof is checked: push the leaf and every later
    /// entry's leaf hash onto it to reach a later root.
    ///
    /// Call [`SignatureReceipt::verify`] first: the proof binds the leaf to the head's
    /// root, only the head's signature binds the size.
    ///
    /// # Errors
    /// The inclusion proof does not hold under the receipt's head.
    pub fn peaks_before(&self) -> Result<Vec<NodeHash>> {
        Ok(prefix_peaks(
            &self.leaf_hash,
            self.leaf_index,
            self.tree_head.head.tree_size,
            &self.inclusion_proof,
            &self.tree_head.head.root_hash,
        )?)
    }

    /// A watch over the entries after the receipt's leaf, starting from what the
    /// receipt's own entry did.
    pub fn watch(&self) -> SignerWatch {
        SignerWatch {
            petition_id: self.petition_id.clone(),
            signer: self.signer,
            standing: match self.action {
                SignatureAction::Sign => SignerStanding::Counted,
                SignatureAction::Withdraw => SignerStanding::Withdrawn {
                    leaf_index: self.leaf_index,
                },
            },
        }
    }
}

/// Where one signer stands on one petition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignerStanding {
    /// Signed; neither withdrawn nor invalidated since.
    Counted,
    /// Withdrew, by the entry at `leaf_index` (a withdrawal only the holder of the
    /// credential can make: it is signed like the signature).
    Withdrawn {
        /// The withdrawal's leaf.
        leaf_index: u64,
    },
    /// The petitions office invalidated the signature, by its signed act at
    /// `leaf_index`, with a public reason.
    Invalidated {
        /// The `signatures-invalidated` entry's leaf.
        leaf_index: u64,
        /// The reason it published.
        reason: String,
    },
}

impl SignerStanding {
    /// `counted`, `withdrawn` or `invalidated`.
    pub fn as_str(&self) -> &'static str {
        match self {
            SignerStanding::Counted => "counted",
            SignerStanding::Withdrawn { .. } => "withdrawn",
            SignerStanding::Invalidated { .. } => "invalidated",
        }
    }
}

/// Follows one signer of one petition along board entries (R6 of 07 §7.10). Fed only
/// entries whose every leaf the caller has checked against a signed root, it tells
/// exactly whether the signature still counts.
#[derive(Clone, Debug)]
pub struct SignerWatch {
    petition_id: String,
    signer: Signer,
    standing: SignerStanding,
}

impl SignerWatch {
    /// Apply the entry at leaf `index`.
    pub fn apply(&mut self, index: u64, payload: &Payload) {
        if let Some((id, _, signer, action)) = Signer::of_entry(payload) {
            if id == self.petition_id && signer == self.signer {
                self.standing = match action {
                    SignatureAction::Sign => SignerStanding::Counted,
                    SignatureAction::Withdraw => SignerStanding::Withdrawn { leaf_index: index },
                };
            }
            return;
        }
        if let Payload::SignaturesInvalidated {
            petition_id,
            credentials,
            tags,
            reason,
            ..
        } = payload
        {
            let named = match &self.signer {
                Signer::Credential(c) => credentials.contains(c),
                Signer::Tag(t) => tags.contains(t),
            };
            if *petition_id == self.petition_id && named {
                self.standing = SignerStanding::Invalidated {
                    leaf_index: index,
                    reason: reason.clone(),
                };
            }
        }
    }

    /// Where the signer stands after the entries applied so far.
    pub fn standing(&self) -> &SignerStanding {
        &self.standing
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use ed25519_dalek::SigningKey;
    use rand_chacha::rand_core::SeedableRng;
    use rand_chacha::ChaCha20Rng;
    use vox_crypto::credential::Credential;

    use super::*;
    use crate::board::TreeHead;
    use crate::merkle::{inclusion_proof, node_hash, root_from_leaf_hashes};
    use crate::petition::{PetitionSignature, RingPetitionSignature, SignatureScheme};
    use crate::roles::ActSignature;

    const ORIGIN: &str = "board.vox.example/receipts";

    fn filler(i: i64) -> BoardEntry {
        invalidation("another-petition", vec![], vec![], i)
    }

    fn invalidation(
        petition: &str,
        credentials: Vec<CredentialPublicKey>,
        tags: Vec<LinkingTag>,
        i: i64,
    ) -> BoardEntry {
        BoardEntry {
            timestamp_ms: i,
            payload: Payload::SignaturesInvalidated {
                petition_id: petition.into(),
                credentials,
                tags,
                reason: format!("reason {i}"),
                act: ActSignature::unsigned(),
            },
        }
    }

    fn ring_entry(sig: RingPetitionSignature, i: i64) -> BoardEntry {
        BoardEntry {
            timestamp_ms: i,
            payload: Payload::PetitionRingSigned {
                signature: Box::new(sig),
            },
        }
    }

    /// A board of `entries`, the answer to the entry at `leaf` under a head of the
    /// whole board, and the board key.
    fn answer(entries: &[BoardEntry], leaf: u64) -> (SignatureAccepted, BoardPublicKey) {
        let key = SigningKey::from_bytes(&[9; 32]);
        let leaves: Vec<NodeHash> = entries.iter().map(BoardEntry::leaf_hash).collect();
        let head = TreeHead {
            tree_size: leaves.len() as u64,
            root_hash: root_from_leaf_hashes(&leaves),
            timestamp_ms: 1_000,
        };
        let accepted = SignatureAccepted {
            leaf_index: leaf,
            tree_head: SignedTreeHead::sign(head, ORIGIN, &key).unwrap(),
            inclusion_proof: inclusion_proof(&leaves, leaf).unwrap(),
            count: 1,
        };
        (accepted, BoardPublicKey(key.verifying_key()))
    }

    /// Filler, the ring signature at leaf 5, filler: its receipt.
    fn ring_board() -> (Vec<BoardEntry>, SignatureReceipt, BoardPublicKey) {
        let (_p, _rings, _creds, sig) = crate::rings::tests::signed(2, SignatureAction::Sign);
        let mut entries: Vec<BoardEntry> = (0..5).map(filler).collect();
        entries.push(ring_entry(sig, 5));
        entries.extend((6..9).map(filler));
        let (accepted, key) = answer(&entries, 5);
        let receipt = SignatureReceipt::from_answer(accepted, &entries[5]).unwrap();
        (entries, receipt, key)
    }

    #[test]
    fn a_ring_signature_receipt_verifies_and_names_the_tag_not_the_credential() {
        let (entries, receipt, key) = ring_board();
        receipt.verify(&key).unwrap();
        receipt.check_entry(&entries[5]).unwrap();
        assert!(matches!(receipt.signer, Signer::Tag(_)));
        assert_eq!(receipt.action, SignatureAction::Sign);
        assert_eq!(receipt.petition_id, "ring-p");
        let json = serde_json::to_string(&receipt).unwrap();
        assert!(json.contains("\"kind\":\"petition-signature\""), "{json}");
        assert!(json.contains("\"signer\":{\"tag\":\""), "{json}");
        let back: SignatureReceipt = serde_json::from_str(&json).unwrap();
        assert_eq!(back, receipt);
        // A file without the kind (a ballot receipt) is not a signature receipt.
        let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
        v.as_object_mut().unwrap().remove("kind");
        assert!(serde_json::from_value::<SignatureReceipt>(v).is_err());
        // Only a signature entry makes a receipt.
        let (accepted, _) = answer(&entries, 4);
        assert!(SignatureReceipt::from_answer(accepted, &entries[4]).is_err());
    }

    /// R1–R2: every part of the evidence is bound (head fields, head signature, the
    /// board key, leaf, leaf hash, each proof node).
    #[test]
    fn tampering_with_the_receipts_evidence_fails() {
        let (_entries, receipt, key) = ring_board();
        let mut bad: Vec<(&str, SignatureReceipt)> = Vec::new();
        let mut r = receipt.clone();
        r.tree_head.head.tree_size += 1;
        bad.push(("tree size", r));
        let mut r = receipt.clone();
        r.tree_head.head.root_hash.0[0] ^= 1;
        bad.push(("root", r));
        let mut r = receipt.clone();
        r.tree_head.head.timestamp_ms += 1;
        bad.push(("head time", r));
        let mut r = receipt.clone();
        r.leaf_index = 4;
        bad.push(("leaf index", r));
        let mut r = receipt.clone();
        r.leaf_hash.0[31] ^= 1;
        bad.push(("leaf hash", r));
        for k in 0..receipt.inclusion_proof.len() {
            let mut r = receipt.clone();
            r.inclusion_proof[k].0[0] ^= 1;
            bad.push(("proof node", r));
        }
        let mut r = receipt.clone();
        r.inclusion_proof.pop();
        bad.push(("short proof", r));
        for (what, r) in &bad {
            assert!(r.verify(&key).is_err(), "{what}");
            // The proof alone binds the root, not the size or time (the head's
            // signature does: `verify` comes first).
            if !matches!(*what, "tree size" | "head time") {
                assert!(r.peaks_before().is_err(), "{what}");
            }
        }
        let other = BoardPublicKey(SigningKey::from_bytes(&[8; 32]).verifying_key());
        assert!(receipt.verify(&other).is_err());
    }

    /// R4: the entry at the leaf must be the receipt's, with its petition, signer and
    /// action.
    #[test]
    fn the_entry_must_be_the_receipts() {
        let (entries, receipt, _) = ring_board();
        assert!(receipt.check_entry(&entries[4]).is_err());
        let mut r = receipt.clone();
        r.action = SignatureAction::Withdraw;
        assert!(r.check_entry(&entries[5]).is_err());
        let mut r = receipt.clone();
        r.petition_id = "other".into();
        assert!(r.check_entry(&entries[5]).is_err());
        let mut r = receipt.clone();
        r.petition_hash.0[0] ^= 1;
        assert!(r.check_entry(&entries[5]).is_err());
        let mut r = receipt.clone();
        let (_, _, _, other) = crate::rings::tests::signed(3, SignatureAction::Sign);
        r.signer = Signer::Tag(*other.tag());
        assert!(r.check_entry(&entries[5]).is_err());
        // The same entry at another time is another leaf.
        let mut moved = entries[5].clone();
        moved.timestamp_ms += 1;
        assert!(receipt.check_entry(&moved).is_err());
    }

    /// R5: the peaks before the leaf, the leaf and the later entries give the later
    /// root, without the entries before the leaf.
    #[test]
    fn later_entries_extend_the_receipts_tree_to_a_later_root() {
        let (mut entries, receipt, _) = ring_board();
        entries.extend((9..21).map(filler));
        let later: Vec<NodeHash> = entries.iter().map(BoardEntry::leaf_hash).collect();
        let mut peaks = receipt.peaks_before().unwrap();
        assert_eq!(peaks.len(), 2); // 5 = 4 + 1 leaves before
                                    // A compact-stack push per later leaf (merge while the size is odd), then the
                                    // root from the right (the verifier's CompactTree, written out).
        for (size, leaf) in (receipt.leaf_index..).zip(&later[5..]) {
            let mut node = *leaf;
            let mut s = size;
            while s & 1 == 1 {
                let left = peaks.pop().unwrap();
                node = node_hash(&left, &node);
                s >>= 1;
            }
            peaks.push(node);
        }
        let mut from_right = peaks.iter().rev();
        let last = *from_right.next().unwrap();
        let root = from_right.fold(last, |acc, p| node_hash(p, &acc));
        assert_eq!(root, root_from_leaf_hashes(&later));
    }

    /// R6: the standing follows withdrawals by the same signer and invalidations that
    /// name it on this petition, and nothing else.
    #[test]
    fn the_watch_follows_the_signer_only() {
        let (_entries, receipt, _) = ring_board();
        let tag = match receipt.signer {
            Signer::Tag(t) => t,
            Signer::Credential(_) => unreachable!(),
        };
        let mut w = receipt.watch();
        assert_eq!(w.standing(), &SignerStanding::Counted);
        // Another signer's withdrawal, an invalidation of another petition naming the
        // tag, an invalidation of this petition naming someone else: nothing changes.
        let (_, _, _, other) = crate::rings::tests::signed(3, SignatureAction::Withdraw);
        w.apply(9, &ring_entry(other, 9).payload);
        w.apply(
            10,
            &invalidation("another-petition", vec![], vec![tag], 10).payload,
        );
        let (_, _, _, third) = crate::rings::tests::signed(4, SignatureAction::Sign);
        w.apply(
            11,
            &invalidation("ring-p", vec![], vec![*third.tag()], 11).payload,
        );
        assert_eq!(w.standing(), &SignerStanding::Counted);
        assert_eq!(w.standing().as_str(), "counted");
        // Its own withdrawal.
        let (_, _, _, mine) = crate::rings::tests::signed(2, SignatureAction::Withdraw);
        w.apply(12, &ring_entry(mine, 12).payload);
        assert_eq!(w.standing(), &SignerStanding::Withdrawn { leaf_index: 12 });
        // An invalidation naming it.
        let mut w = receipt.watch();
        w.apply(13, &invalidation("ring-p", vec![], vec![tag], 13).payload);
        assert_eq!(
            w.standing(),
            &SignerStanding::Invalidated {
                leaf_index: 13,
                reason: "reason 13".into()
            }
        );
        assert_eq!(w.standing().as_str(), "invalidated");
    }

    /// A credential-signed petition's receipt names the credential, and its watch
    /// follows invalidations by credential.
    #[test]
    fn a_credential_signature_receipt_follows_its_credential() {
        let mut rng = ChaCha20Rng::seed_from_u64(5);
        let cred = Credential::generate(&mut rng);
        let petition = crate::petition::Petition {
            id: "p".into(),
            action: "Plant trees".into(),
            background: "Shade".into(),
            details: String::new(),
            electorate_hash: Hash32([1; 32]),
            sponsor_threshold: 5,
            response_threshold: 100,
            referendum_threshold: 1000,
            open_for_ms: 30 * 86_400_000,
            response_due_ms: 14 * 86_400_000,
            region_min_group: 10,
            signatures: SignatureScheme::Credential,
        };
        let sig = PetitionSignature::create(&petition, &cred, SignatureAction::Withdraw, &mut rng);
        let entries = vec![
            filler(0),
            BoardEntry {
                timestamp_ms: 1,
                payload: Payload::PetitionSigned { signature: sig },
            },
        ];
        let (accepted, key) = answer(&entries, 1);
        let receipt = SignatureReceipt::from_answer(accepted, &entries[1]).unwrap();
        receipt.verify(&key).unwrap();
        receipt.check_entry(&entries[1]).unwrap();
        assert_eq!(receipt.signer, Signer::Credential(cred.public_key()));
        // A withdrawal's receipt starts withdrawn.
        let mut w = receipt.watch();
        assert_eq!(w.standing(), &SignerStanding::Withdrawn { leaf_index: 1 });
        let sig = PetitionSignature::create(&petition, &cred, SignatureAction::Sign, &mut rng);
        w.apply(2, &Payload::PetitionSigned { signature: sig });
        assert_eq!(w.standing(), &SignerStanding::Counted);
        w.apply(
            3,
            &invalidation("p", vec![cred.public_key()], vec![], 3).payload,
        );
        assert_eq!(w.standing().as_str(), "invalidated");
    }
}
