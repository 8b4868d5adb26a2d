//! A petition signature's saved receipt, checked later on the citizen's device
//! (protocol-spec/07-petitions.md §7.10 "Receipt", R1–R6): the same steps as `vox voter
//! check-receipt` on a signature receipt, streaming so the board after the signature
//! never has to fit in one request, and with the same code (`vox_protocol::
//! signature_receipt`, `vox_verifier::compact::CompactTree`): no second Merkle or
//! standing logic here.
//!
//! 1. [`signature_receipt_begin`] takes the receipt, the board key this browser pinned,
//!    the board's latest signed tree head and the consistency proof from the receipt's
//!    head to it. R1 (the receipt's head verifies under the pinned key), R2 (its inclusion
//!    proof puts the leaf under that head), R3 (the latest head verifies under the same
//!    key, has the same origin, is not smaller, and extends the receipt's: consistency
//!    proof; any witness cosignature on it verifies). The compact stack of the board
//!    before the leaf is read off the checked inclusion proof
//!    (`SignatureReceipt::peaks_before`).
//! 2. [`signature_receipt_feed`], once per page of `GET /api/v1/board/entries`, in
//!    order from the receipt's leaf to the latest size: R4 at the leaf
//!    (`SignatureReceipt::check_entry`), then every entry's leaf hash is pushed on the
//!    compact stack and its payload goes through the signer's watch (`SignerWatch`).
//!    Nothing else is kept (a few hundred bytes, whatever the board's size).
//! 3. [`signature_receipt_finish`] concludes: R5 (the stack's root is the latest head's
//!    root) and R6 (the standing: counted, withdrawn at leaf j, invalidated at leaf j
//!    with the office's reason).
//!
//! Every refusal starts with a code the page turns into a sentence in the citizen's
//! language (`r1:`, `r2:`, `r3-head:`, `r3-origin:`, `r3-smaller:`, `r3-consistency:`,
//! `r3-cosignature:`, `r4:`, `r5:`, `entries:`, `receipt:`), then says it in English.
//! One session at a time, kept in wasm memory like [`crate::ring`]'s; a refusal ends it.

use std::cell::RefCell;

use serde::Deserialize;
use serde_json::json;
use vox_protocol::api::{ConsistencyProof, IndexedEntry};
use vox_protocol::board::{BoardPublicKey, SignedTreeHead};
use vox_protocol::merkle::{verify_consistency, verify_inclusion};
use vox_protocol::signature_receipt::{SignatureReceipt, SignerStanding, SignerWatch};
use vox_verifier::compact::CompactTree;

use crate::api::{envelope, parse_strict, Res};

thread_local! {
    /// The current check (wasm32 is single-threaded; natively, per test thread).
    static SESSION: RefCell<Option<Session>> = const { RefCell::new(None) };
}

struct Session {
    receipt: SignatureReceipt,
    latest: SignedTreeHead,
    /// The board from leaf 0 to the entries fed so far, as its compact stack.
    tree: CompactTree,
    watch: SignerWatch,
    cosigned: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BeginRequest {
    /// The saved receipt (the file `vox voter sign` and the petition page write).
    receipt: SignatureReceipt,
    /// The board key this browser trusts for the server (pinned on first contact).
    board_public_key: BoardPublicKey,
    /// `GET /api/v1/board/tree-head`: the board's latest signed tree head.
    tree_head: SignedTreeHead,
    /// `GET /api/v1/board/consistency?first=<receipt's size>&second=<latest size>`;
    /// not needed when the sizes are equal.
    #[serde(default)]
    consistency: Option<ConsistencyProof>,
}

/// R1–R3 of 07 §7.10.
fn begin(req: BeginRequest) -> Res<Session> {
    let board = &req.board_public_key;
    let r = req.receipt;
    let old = &r.tree_head;
    old.verify(board).map_err(|e| {
        format!("r1: the receipt's tree head does not verify under the trusted board key: {e}")
    })?;
    verify_inclusion(
        &r.leaf_hash,
        r.leaf_index,
        old.head.tree_size,
        &r.inclusion_proof,
        &old.head.root_hash,
    )
    .map_err(|e| format!("r2: the receipt's inclusion proof does not hold: {e}"))?;
    let latest = req.tree_head;
    latest.verify(board).map_err(|e| {
        format!("r3-head: the latest tree head does not verify under the trusted board key: {e}")
    })?;
    if latest.origin != old.origin {
        return Err(format!(
            "r3-origin: the latest tree head is of log {:?}, the receipt's of {:?}",
            latest.origin, old.origin
        ));
    }
    let (o, n) = (&old.head, &latest.head);
    if n.tree_size < o.tree_size {
        return Err(format!(
            "r3-smaller: the latest tree head has {} entries, the receipt's {}",
            n.tree_size, o.tree_size
        ));
    }
    let proof: &[_] = match &req.consistency {
        Some(c) if c.first == o.tree_size && c.second == n.tree_size => &c.proof,
        Some(c) => {
            return Err(format!(
                "r3-consistency: a proof for sizes {}→{}, not {}→{}",
                c.first, c.second, o.tree_size, n.tree_size
            ))
        }
        None if n.tree_size == o.tree_size => &[],
        None => {
            return Err(format!(
                "r3-consistency: no proof for sizes {}→{}",
                o.tree_size, n.tree_size
            ))
        }
    };
    verify_consistency(o.tree_size, n.tree_size, &o.root_hash, &n.root_hash, proof).map_err(
        |e| format!("r3-consistency: the latest tree head does not extend the receipt's: {e}"),
    )?;
    for (i, c) in latest.cosignatures.iter().enumerate() {
        latest
            .verify_cosignature(c)
            .map_err(|e| format!("r3-cosignature: witness cosignature {i}: {e}"))?;
    }
    let peaks = r
        .peaks_before()
        .map_err(|e| format!("r2: the receipt's inclusion proof does not hold: {e}"))?;
    // (Cannot fail after `peaks_before`: one peak per set bit of the leaf index. Not
    // formatted: `VerifyError`'s Display would weigh on the bundle for nothing.)
    let tree = CompactTree::from_parts(r.leaf_index, peaks)
        .map_err(|_| "r2: the receipt's inclusion proof gives no compact tree".to_owned())?;
    Ok(Session {
        watch: r.watch(),
        cosigned: !latest.cosignatures.is_empty(),
        receipt: r,
        latest,
        tree,
    })
}

/// Start checking a signature receipt: `{"receipt": SignatureReceipt, "board_public_key":
/// the pinned key, "tree_head": GET /api/v1/board/tree-head, "consistency"?: GET
/// /api/v1/board/consistency?first=<receipt's tree size>&second=<latest size>}`. Runs
/// R1–R3. Answer: `{"from": the receipt's leaf (the first entry to feed), "tree_size":
/// the latest size (feed up to it)}`. (The page shows the receipt's own fields: the
/// answers stay small, for the bundle's size.)
pub fn signature_receipt_begin(input: &str) -> String {
    envelope((|| {
        // A refused begin leaves no session: nothing is concluded from a half check.
        SESSION.with(|cell| *cell.borrow_mut() = None);
        let req: BeginRequest =
            parse_strict(input).map_err(|e| format!("receipt: not a signature receipt: {e}"))?;
        let s = begin(req)?;
        let out = json!({ "from": s.receipt.leaf_index, "tree_size": s.latest.head.tree_size });
        SESSION.with(|cell| *cell.borrow_mut() = Some(s));
        Ok(out)
    })())
}

fn with_session<T>(f: impl FnOnce(&mut Session) -> Res<T>) -> Res<T> {
    let out = SESSION.with(|cell| match cell.borrow_mut().as_mut() {
        Some(s) => f(s),
        None => Err("entries: no check in progress: call signature_receipt_begin first".into()),
    });
    if out.is_err() {
        SESSION.with(|cell| *cell.borrow_mut() = None);
    }
    out
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FeedRequest {
    /// A page of `GET /api/v1/board/entries`, continuing from the last entry fed.
    entries: Vec<IndexedEntry>,
}

/// Feed the next page of entries: `{"entries": [{"index", "entry"}…]}` (a page of `GET
/// /api/v1/board/entries`, as the server sent it), in log order from the receipt's leaf.
/// R4 at the leaf; every entry's leaf hash goes on the compact stack and its payload
/// through the signer's watch. Entries out of order or past the latest size are refused,
/// and a refusal ends the check. Answer: `{"received": the next leaf to feed,
/// "tree_size"}`.
pub fn signature_receipt_feed(input: &str) -> String {
    envelope((|| {
        let req: FeedRequest = match parse_strict(input) {
            Ok(r) => r,
            Err(e) => {
                SESSION.with(|cell| *cell.borrow_mut() = None);
                return Err(format!("entries: {e}"));
            }
        };
        with_session(|s| {
            let size = s.latest.head.tree_size;
            for item in &req.entries {
                let next = s.tree.size();
                if item.index != next {
                    return Err(format!(
                        "entries: expected entry {next}, got {} (out of order)",
                        item.index
                    ));
                }
                if next >= size {
                    return Err(format!(
                        "entries: entry {next} is past the latest size {size}"
                    ));
                }
                if next == s.receipt.leaf_index {
                    s.receipt.check_entry(&item.entry).map_err(|e| {
                        format!("r4: the board's entry at leaf {next} is not the receipt's: {e}")
                    })?;
                }
                s.tree.push(item.entry.leaf_hash());
                s.watch.apply(next, &item.entry.payload);
            }
            Ok(json!({ "received": s.tree.size(), "tree_size": size }))
        })
    })())
}

/// Conclude: `{}`. R5 (every entry up to the latest size was fed, and with the compact
/// stack of the receipt they hash to the latest head's root) and R6. Answer:
/// `{"tree_size", "cosigned": whether witnesses cosigned the latest head (each
/// cosignature was checked), "standing": "counted" | "withdrawn" | "invalidated",
/// "standing_leaf"?: the withdrawal's or invalidation's leaf, "reason"?: the office's
/// public reason for an invalidation}`. Ends the session.
pub fn signature_receipt_finish(_input: &str) -> String {
    let out = with_session(|s| {
        let size = s.latest.head.tree_size;
        if s.tree.size() != size {
            return Err(format!(
                "entries: {} of the board's {size} entries received",
                s.tree.size()
            ));
        }
        if s.tree.root() != s.latest.head.root_hash {
            return Err(format!(
                "r5: the board's entries {}..{size} do not hash to its latest signed tree \
                     head: the server shows another log than the one it signed",
                s.receipt.leaf_index
            ));
        }
        let standing = s.watch.standing();
        let mut out = json!({
            "tree_size": size,
            "cosigned": s.cosigned,
            "standing": standing.as_str(),
        });
        if let (
            Some(o),
            SignerStanding::Withdrawn { leaf_index }
            | SignerStanding::Invalidated { leaf_index, .. },
        ) = (out.as_object_mut(), standing)
        {
            o.insert("standing_leaf".into(), json!(leaf_index));
        }
        if let (Some(o), SignerStanding::Invalidated { reason, .. }) =
            (out.as_object_mut(), standing)
        {
            o.insert("reason".into(), json!(reason));
        }
        Ok(out)
    });
    SESSION.with(|cell| *cell.borrow_mut() = None);
    envelope(out)
}
