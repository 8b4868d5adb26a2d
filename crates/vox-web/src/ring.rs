//! Ring signatures on the citizen's device (protocol-spec/07-petitions.md §7.10,
//! 13-ring-signatures.md §13.7): the same steps as `vox voter sign` on a ring-signed
//! petition, streaming so the board never has to fit in one request.
//!
//! The device derives the rings itself and never takes them from the server:
//! 1. [`ring_begin`]: the board key this browser pinned for the origin and the board's
//!    signed tree head, whose signature is checked under that key;
//! 2. [`ring_feed`], once per page of `GET /api/v1/board/entries`, in order from leaf 0
//!    to the head's size: every entry goes through a [`BoardView`] (which refuses a log
//!    that does not start with a genesis, and any authority act whose signature or role
//!    is wrong) and its leaf hash is kept (32 bytes per entry);
//! 3. [`ring_derive`]: the leaf hashes must hash to the head's root (otherwise the
//!    server showed this device another log than the one it signed: refused), the
//!    petition the page got from the server must be the one proposed on the board under
//!    its id (same hash), then the petition's rings at the next leaf (`BoardView::petition_rings`) and this
//!    credential's ring (`RingSet::ring_of`; refused if none);
//! 4. [`ring_sign`]: the Triptych proof (`RingPetitionSignature::create`) over the ring
//!    derived in step 3.
//!
//! Steps 3 and 4 are separate calls so that the page can say "deriving the rings" and
//! "proving" and the worker can time the proof alone. One session at a time, kept in
//! wasm memory like [`crate::verify`]'s; [`ring_begin`] replaces any previous one (a
//! 409 `rings-changed` from the server means: begin again).

use std::cell::RefCell;
use std::collections::HashMap;

use serde::Deserialize;
use serde_json::{json, Value};
use vox_crypto::credential::Credential;
use vox_crypto::elgamal::ElectionPublicKey;
use vox_crypto::Hash32;
use vox_protocol::api::IndexedEntry;
use vox_protocol::ballot::{encrypt_anonymous_ballot, BallotContext};
use vox_protocol::board::{BoardPublicKey, Payload, SignedTreeHead};
use vox_protocol::encoding::Hashable;
use vox_protocol::manifest::{Manifest, Participation};
use vox_protocol::merkle::{root_from_leaf_hashes, NodeHash};
use vox_protocol::petition::{Petition, RingPetitionSignature, SignatureAction, SignatureScheme};
use vox_protocol::rings::{BoardView, RingSet};
use vox_protocol::signature_receipt::SignatureReceipt;

use crate::api::{envelope, parse_strict, Res};
use crate::rng::with_rng;

thread_local! {
    /// The current session (wasm32 is single-threaded; natively, per test thread).
    static SESSION: RefCell<Option<Session>> = const { RefCell::new(None) };
}

struct Session {
    head: SignedTreeHead,
    view: BoardView,
    leaves: Vec<NodeHash>,
    /// The hash of every petition proposed on the board, by id (the first proposal of
    /// an id, as `BoardView` counts it): the petition the server sends must be that one.
    proposed: HashMap<String, Hash32>,
    /// The hash of every referendum's manifest created on the board (its
    /// `referendum-created` or `referendum-triggered` entry), by referendum id (the first
    /// creation of an id, as `BoardView` counts it): the manifest the page passes in must
    /// be that one.
    created: HashMap<String, Hash32>,
    /// The rings last derived, with what they were derived for.
    derived: Option<(Subject, RingSet)>,
}

/// What a [`RingSet`] of the session was derived for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Subject {
    /// A ring-signed petition, by its hash.
    Petition(Hash32),
    /// An anonymous referendum, by its manifest's hash.
    Referendum(Hash32),
}

impl Session {
    fn tree_size(&self) -> u64 {
        self.head.head.tree_size
    }
}

fn with_session<T>(f: impl FnOnce(&mut Session) -> Res<T>) -> Res<T> {
    SESSION.with(|cell| match cell.borrow_mut().as_mut() {
        Some(s) => f(s),
        None => Err("no ring signature in progress: call ring_begin first".into()),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BeginRequest {
    /// The board key this browser trusts for the server (pinned on first contact).
    board_public_key: BoardPublicKey,
    /// `GET /api/v1/board/tree-head`.
    tree_head: SignedTreeHead,
}

/// Start deriving rings: `{"board_public_key": the pinned key, "tree_head": GET
/// /api/v1/board/tree-head}`. The head's signature must verify under the pinned key.
/// Answer: `{"tree_size": n}`, the entries to feed (leaves 0..n).
pub fn ring_begin(input: &str) -> String {
    envelope(begin_inner(input))
}

fn begin_inner(input: &str) -> Res<Value> {
    // A failed begin leaves no session behind: a half-checked one must not be signed from.
    SESSION.with(|cell| *cell.borrow_mut() = None);
    let req: BeginRequest = parse_strict(input)?;
    req.tree_head.verify(&req.board_public_key).map_err(|e| {
        format!(
            "the board's signed tree head does not verify under the board key this browser \
             trusts: {e}"
        )
    })?;
    let size = req.tree_head.head.tree_size;
    let session = Session {
        leaves: Vec::with_capacity(usize::try_from(size.min(1 << 20)).unwrap_or(0)),
        head: req.tree_head,
        view: BoardView::new(),
        proposed: HashMap::new(),
        created: HashMap::new(),
        derived: None,
    };
    SESSION.with(|cell| *cell.borrow_mut() = Some(session));
    Ok(json!({ "tree_size": size }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FeedRequest {
    /// A page of `GET /api/v1/board/entries` (`[{"index", "entry"}]`), continuing from
    /// the last entry fed.
    entries: Vec<IndexedEntry>,
}

/// Feed the next page of entries: `{"entries": [{"index", "entry"}…]}` (a page of `GET
/// /api/v1/board/entries`, as the server sent it), in log order from leaf 0. Every entry
/// is applied to the device's view of the board (genesis, authority acts, electorates,
/// revocations, replacements, proposals) and its leaf hash kept. Entries past the head's
/// size, or out of order, are refused, and so is the whole session after an entry the
/// view refuses. Answer: `{"received": entries so far, "tree_size"}`.
pub fn ring_feed(input: &str) -> String {
    envelope(feed_inner(input))
}

fn feed_inner(input: &str) -> Res<Value> {
    let req: FeedRequest = parse_strict(input)?;
    let out = with_session(|s| {
        for item in &req.entries {
            let next = s.view.size();
            if item.index != next {
                return Err(format!(
                    "entries: expected entry {next}, got {} (a page is missing or out of order)",
                    item.index
                ));
            }
            if next >= s.tree_size() {
                return Err(format!(
                    "entries: entry {next} is past the signed tree head (size {})",
                    s.tree_size()
                ));
            }
            s.view
                .apply(&item.entry.payload)
                .map_err(|e| format!("board entry {next}: {e}"))?;
            s.leaves.push(item.entry.leaf_hash());
            if let Payload::PetitionProposed { proposal } = &item.entry.payload {
                s.proposed
                    .entry(proposal.petition.id.clone())
                    .or_insert_with(|| proposal.petition.canonical_hash());
            }
            if let Payload::ReferendumCreated { manifest, .. }
            | Payload::ReferendumTriggered { manifest } = &item.entry.payload
            {
                s.created
                    .entry(manifest.referendum_id.clone())
                    .or_insert_with(|| manifest.canonical_hash());
            }
        }
        s.derived = None;
        Ok(json!({ "received": s.view.size(), "tree_size": s.tree_size() }))
    });
    if out.is_err() {
        // The view may hold half a page: nothing is derived from it.
        SESSION.with(|cell| *cell.borrow_mut() = None);
    }
    out
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
/// The request of [`ring_derive`] and [`ring_sign`] (the page sends the same to both;
/// `action` matters to the signature only).
struct SignRequest {
    petition: Petition,
    #[serde(default)]
    petition_hash: Option<Hash32>,
    credential: String,
    #[serde(default)]
    action: Option<SignatureAction>,
}

/// The petition's hash, checked against the one the server announced, and that it is
/// ring-signed.
fn petition_hash(petition: &Petition, announced: Option<Hash32>) -> Res<Hash32> {
    let h = petition.canonical_hash();
    if let Some(a) = announced {
        if a != h {
            return Err(format!(
                "petition_hash: the petition hashes to {}, not to the announced {}",
                h.to_hex(),
                a.to_hex()
            ));
        }
    }
    if petition.signatures != SignatureScheme::Ring {
        return Err(
            "this petition takes credential signatures, not ring signatures (07 §7.1)".into(),
        );
    }
    Ok(h)
}

fn credential(text: &str) -> Res<Credential> {
    Credential::from_text(text).map_err(|e| format!("credential: {e}"))
}

/// The rings of `petition` in this session (derived once per petition and board).
fn rings_of<'s>(s: &'s mut Session, petition: &Petition, hash: Hash32) -> Res<&'s RingSet> {
    let size = s.tree_size();
    if s.view.size() != size {
        return Err(format!(
            "entries: {} of the board's {size} entries received; all of them are needed",
            s.view.size()
        ));
    }
    if !matches!(&s.derived, Some((Subject::Petition(h), _)) if *h == hash) {
        check_root(s)?;
        match s.proposed.get(&petition.id) {
            Some(h) if *h == hash => {}
            Some(_) => {
                return Err(format!(
                    "petition {:?}: the text the server sent is not the petition proposed on \
                     the board under this id; nothing was signed",
                    petition.id
                ))
            }
            None => {
                return Err(format!(
                    "petition {:?} is not proposed on the board (up to its signed tree head)",
                    petition.id
                ))
            }
        }
        let rings = s
            .view
            .petition_rings(petition)
            .map_err(|e| format!("cannot derive the petition's rings: {e}"))?;
        s.derived = Some((Subject::Petition(hash), rings));
    }
    match &s.derived {
        Some((_, rings)) => Ok(rings),
        None => Err("cannot derive the petition's rings".into()),
    }
}

/// Every entry up to the head's size was fed, and the entries hash to the head's root.
fn check_root(s: &Session) -> Res<()> {
    let size = s.tree_size();
    if s.view.size() != size {
        return Err(format!(
            "entries: {} of the board's {size} entries received; all of them are needed",
            s.view.size()
        ));
    }
    if root_from_leaf_hashes(&s.leaves) != s.head.head.root_hash {
        return Err(format!(
            "the board's entries 0..{size} do not hash to its signed tree head: it shows \
             this device a different log than the one it signed; nothing was signed"
        ));
    }
    Ok(())
}

/// The facts the page shows about the ring a credential signs in.
fn ring_facts(rings: &RingSet, c: &Credential, tree_size: u64, refusal: &str) -> Res<Value> {
    let Some((ring, _)) = rings.ring_of(&c.public_key()) else {
        return Err(refusal.into());
    };
    Ok(json!({
        "ring": ring.ring.hash().to_hex(),
        "region": ring.region,
        "ring_index": ring.index,
        "ring_count": ring.count,
        "ring_members": ring.ring.member_count(),
        "rings": rings.rings().len(),
        "tree_size": tree_size,
    }))
}

/// The refusal when the credential is in no ring (it starts with `not-in-ring:` so the
/// page can say it in the citizen's language).
pub const NOT_IN_RING: &str = "not-in-ring: this credential is in none of the petition's \
    rings: it is not on the petition's electorate, or it was revoked, or it replaced a \
    revoked credential after the petition was proposed (protocol-spec/07 §7.10); nothing \
    was signed";

/// Check the fed entries against the head and derive the petition's rings:
/// `{"petition": Petition, "petition_hash"?, "credential": text, "action"?}` (as for
/// [`ring_sign`]). Refused if not every
/// entry up to the head's size was fed, if the entries do not hash to the head's root,
/// if the petition is not ring-signed, or (error starting with `not-in-ring:`) if the
/// credential is in none of the rings. Answer: `{"ring": hex ring hash, "region": name
/// or null (the pooled small regions and no region), "ring_index": i (0-based),
/// "ring_count": rings of that region, "ring_members": members of that ring, "rings":
/// rings of the petition, "tree_size"}`.
pub fn ring_derive(input: &str) -> String {
    envelope(derive_inner(input))
}

fn derive_inner(input: &str) -> Res<Value> {
    let req: SignRequest = parse_strict(input)?;
    let hash = petition_hash(&req.petition, req.petition_hash)?;
    let cred = credential(&req.credential)?;
    with_session(|s| {
        let size = s.tree_size();
        ring_facts(rings_of(s, &req.petition, hash)?, &cred, size, NOT_IN_RING)
    })
}

/// Make the ring signature: `{"petition": Petition, "petition_hash"?, "credential":
/// text, "action"?: "sign" | "withdraw"}`, over the rings [`ring_derive`] derived (or
/// derives now) from the fed board. Answer: `{"signature": RingPetitionSignature (what
/// to POST to /api/v1/petitions/{id}/ring-signatures; it names the ring and the linking
/// tag, never the credential), "signature_hash", "tag": hex linking tag, and the facts
/// of [`ring_derive`]}`.
pub fn ring_sign(input: &str) -> String {
    envelope(sign_inner(input))
}

fn sign_inner(input: &str) -> Res<Value> {
    let req: SignRequest = parse_strict(input)?;
    let hash = petition_hash(&req.petition, req.petition_hash)?;
    let cred = credential(&req.credential)?;
    let action = req.action.unwrap_or(SignatureAction::Sign);
    let (mut facts, sig) = with_session(|s| {
        let size = s.tree_size();
        let rings = rings_of(s, &req.petition, hash)?;
        let facts = ring_facts(rings, &cred, size, NOT_IN_RING)?;
        let sig = with_rng(|rng| {
            RingPetitionSignature::create(&req.petition, rings, &cred, action, rng)
                .map_err(|e| format!("ring signature: {e}"))
        })?;
        Ok((facts, sig))
    })?;
    if let Some(obj) = facts.as_object_mut() {
        obj.insert("tag".into(), json!(sig.tag().to_hex()));
        obj.insert(
            "signature_hash".into(),
            json!(sig.canonical_hash().to_hex()),
        );
        obj.insert(
            "signature".into(),
            serde_json::to_value(&sig).map_err(|e| format!("cannot encode the answer: {e}"))?,
        );
    }
    Ok(facts)
}

// ---- anonymous ballots (protocol-spec/04-ballots.md §4.10) -------------------------
//
// The same session (ring_begin / ring_feed) serves an anonymous referendum: after the
// board is fed, [`ring_referendum_derive`] checks it against the head and derives the
// referendum's rings (`BoardView::referendum_rings`, the pooled electorate without the
// replacements enrolled after the referendum was created), and [`ring_encrypt_ballot`]
// encrypts, proves and ring-signs the ballot in this credential's ring. The manifest and
// election key come from the device check of vox_web.wasm (D1–D7, 04 §4.7); here the
// manifest must also be the one created on the board this session checked, under the
// referendum's id, and anonymous.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
/// The request of [`ring_referendum_tag`], [`ring_referendum_derive`] and
/// [`ring_encrypt_ballot`] (the page may send the same to all three; `election_key`,
/// `choices` and `previous` matter to the encryption only).
struct BallotRequest {
    manifest: Manifest,
    #[serde(default)]
    manifest_hash: Option<Hash32>,
    credential: String,
    #[serde(default)]
    election_key: Option<ElectionPublicKey>,
    #[serde(default)]
    choices: Option<Vec<Vec<u64>>>,
    /// The hash of this credential's tag's latest ballot on the board (04 §4.8), absent
    /// for a first ballot.
    #[serde(default)]
    previous: Option<Hash32>,
}

/// The refusal when the credential is in none of the referendum's rings (it starts with
/// `not-in-ring:`, like [`NOT_IN_RING`]).
pub const NOT_IN_REFERENDUM_RING: &str = "not-in-ring: this credential is in none of the \
    referendum's rings: it is not on the referendum's electorate, or it was revoked, or it \
    replaced a revoked credential after the referendum was created (protocol-spec/04 \
    §4.10); nothing was encrypted";

/// The manifest's hash, checked against the one announced (if any), and that the
/// referendum takes anonymous ballots.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReceiptRequest {
    /// The board key this browser trusts for the server.
    board_public_key: BoardPublicKey,
    /// The server's answer to the POST (`SignatureAccepted`).
    answer: vox_protocol::api::SignatureAccepted,
    /// `GET /api/v1/board/entries?start=L&end=L+1` for the answer's leaf L.
    entries: Vec<IndexedEntry>,
    /// The signature this device posted.
    signature: RingPetitionSignature,
}

/// The answer to a ring signature is its receipt (like a ballot's, 08 §8.5): `{"board_public_key",
/// "answer", "entries", "signature"}`. The answer's tree head must be signed under the
/// pinned key, the entry at its `leaf_index` must be exactly the posted signature, and that
/// entry's leaf hash must be included under the head (the answer's inclusion proof).
/// Answer: `{"leaf_index", "tree_size", "leaf_hash", "receipt_file"}`; `receipt_file` is
/// the text of the receipt to save, exactly the file `vox voter sign` writes
/// (`SignatureReceipt::from_answer`, pretty JSON and a newline; 07 §7.10), which
/// [`crate::signature_receipt`] checks later. It names the linking tag. No session needed.
pub fn ring_check_receipt(input: &str) -> String {
    envelope((|| {
        let req: ReceiptRequest = parse_strict(input)?;
        let head = &req.answer.tree_head;
        head.verify(&req.board_public_key).map_err(|e| {
            format!("the answer's tree head does not verify under the board key: {e}")
        })?;
        let leaf = req.answer.leaf_index;
        let entry = match req.entries.as_slice() {
            [one] if one.index == leaf => &one.entry,
            _ => return Err(format!("the board did not return its entry at leaf {leaf}")),
        };
        let posted = Payload::PetitionRingSigned {
            signature: Box::new(req.signature),
        };
        if entry.payload != posted {
            return Err(format!(
                "the board's entry at leaf {leaf} is not the signature this device posted"
            ));
        }
        let leaf_hash = entry.leaf_hash();
        vox_protocol::merkle::verify_inclusion(
            &leaf_hash,
            leaf,
            head.head.tree_size,
            &req.answer.inclusion_proof,
            &head.head.root_hash,
        )
        .map_err(|e| format!("the signature is not included under the signed tree head: {e}"))?;
        let tree_size = head.head.tree_size;
        let receipt = SignatureReceipt::from_answer(req.answer, entry)
            .map_err(|e| format!("cannot make the receipt: {e}"))?;
        let mut file = serde_json::to_string_pretty(&receipt)
            .map_err(|e| format!("cannot encode the receipt: {e}"))?;
        file.push('\n');
        Ok(json!({
            "leaf_index": leaf,
            "tree_size": tree_size,
            "leaf_hash": hex::encode(leaf_hash.0),
            "receipt_file": file,
        }))
    })())
}

fn anonymous_manifest(manifest: &Manifest, announced: Option<Hash32>) -> Res<Hash32> {
    let h = manifest.canonical_hash();
    if let Some(a) = announced {
        if a != h {
            return Err(format!(
                "manifest_hash: the manifest hashes to {}, not to the announced {}",
                h.to_hex(),
                a.to_hex()
            ));
        }
    }
    if manifest.participation != Participation::Anonymous {
        return Err(format!(
            "referendum {:?} takes pseudonymous (credential-signed) ballots, not anonymous \
             ones (04 §4.10)",
            manifest.referendum_id
        ));
    }
    Ok(h)
}

/// The credential's linking tag in the referendum of `manifest_hash` (04 §4.10).
fn referendum_tag(manifest_hash: &Hash32, cred: &Credential) -> Res<vox_crypto::ring::LinkingTag> {
    let generator = vox_protocol::rings::referendum_tag_generator(manifest_hash)
        .map_err(|e| format!("tag generator: {e}"))?;
    Ok(vox_crypto::ring::linking_tag(cred, &generator))
}

/// The rings of the anonymous referendum of `manifest` in this session (derived once
/// per manifest and board).
fn referendum_rings_of<'s>(
    s: &'s mut Session,
    manifest: &Manifest,
    hash: Hash32,
) -> Res<&'s RingSet> {
    if !matches!(&s.derived, Some((Subject::Referendum(h), _)) if *h == hash) {
        check_root(s)?;
        let id = &manifest.referendum_id;
        match s.created.get(id) {
            Some(h) if *h == hash => {}
            Some(_) => {
                return Err(format!(
                    "referendum {id:?}: the manifest given is not the one created on the \
                     board under this id; nothing was encrypted"
                ))
            }
            None => {
                return Err(format!(
                    "referendum {id:?} is not created on the board (up to its signed tree \
                     head); nothing was encrypted"
                ))
            }
        }
        let rings = s
            .view
            .referendum_rings(id)
            .map_err(|e| format!("cannot derive the referendum's rings: {e}"))?;
        s.derived = Some((Subject::Referendum(hash), rings));
    }
    match &s.derived {
        Some((_, rings)) => Ok(rings),
        None => Err("cannot derive the referendum's rings".into()),
    }
}

/// The credential's linking tag in an anonymous referendum, for the lookup of its
/// latest ballot (`GET /api/v1/referendums/{id}/credentials/{tag}/latest-ballot`) and
/// this device's journal: `{"manifest", "manifest_hash"?, "credential"}` (no session
/// needed). Refused if the manifest is not anonymous. Answer: `{"tag": hex,
/// "manifest_hash"}`.
pub fn ring_referendum_tag(input: &str) -> String {
    envelope((|| {
        let req: BallotRequest = parse_strict(input)?;
        let hash = anonymous_manifest(&req.manifest, req.manifest_hash)?;
        let cred = credential(&req.credential)?;
        let tag = referendum_tag(&hash, &cred)?;
        Ok(json!({ "tag": tag.to_hex(), "manifest_hash": hash.to_hex() }))
    })())
}

/// Check the fed entries against the head and derive the anonymous referendum's rings:
/// `{"manifest", "manifest_hash"?, "credential"}`. Refused if not every entry up to the
/// head's size was fed, if they do not hash to the head's root, if the manifest is not
/// anonymous or not the one created on that board under its referendum id, or (error
/// starting with `not-in-ring:`) if the credential is in none of the rings. Answer: the
/// facts of [`ring_derive`] and `"tag"` (hex linking tag).
pub fn ring_referendum_derive(input: &str) -> String {
    envelope((|| {
        let req: BallotRequest = parse_strict(input)?;
        let hash = anonymous_manifest(&req.manifest, req.manifest_hash)?;
        let cred = credential(&req.credential)?;
        let tag = referendum_tag(&hash, &cred)?;
        let mut facts = with_session(|s| {
            let size = s.tree_size();
            let rings = referendum_rings_of(s, &req.manifest, hash)?;
            ring_facts(rings, &cred, size, NOT_IN_REFERENDUM_RING)
        })?;
        if let Some(obj) = facts.as_object_mut() {
            obj.insert("tag".into(), json!(tag.to_hex()));
        }
        Ok(facts)
    })())
}

/// Encrypt, prove and ring-sign an anonymous ballot (`encrypt_anonymous_ballot`, the
/// code of `vox vote`): `{"manifest", "manifest_hash"?, "election_key", "credential",
/// "choices": [[u64]], "previous"?: hex}`, over the rings [`ring_referendum_derive`]
/// derived (or derives now) from the fed board. `manifest` and `election_key` are what
/// the device check of vox_web.wasm (`check_election_key`, D1–D7) established; the
/// manifest is checked again here against the board of this session. Answer:
/// `{"ballot": Ballot (what to POST to /ballots; it names the ring and carries the ring
/// signature, never the credential), "ballot_hash", "tracking_code", "tag", the facts of
/// [`ring_derive`], "secrets": {"choices", "nonces"}}`. `{ballot, ...secrets}` is the
/// `AuditedBallot` to POST to `/audits` for a Benaloh challenge; the secrets must
/// otherwise be discarded.
pub fn ring_encrypt_ballot(input: &str) -> String {
    envelope(encrypt_ballot_inner(input))
}

fn encrypt_ballot_inner(input: &str) -> Res<Value> {
    let req: BallotRequest = parse_strict(input)?;
    let hash = anonymous_manifest(&req.manifest, req.manifest_hash)?;
    let key = req
        .election_key
        .ok_or("election_key: the key the device check recomputed is needed")?;
    let choices = req
        .choices
        .as_ref()
        .ok_or("choices: one list of values per question is needed")?;
    let cred = credential(&req.credential)?;
    let ctx = BallotContext::new(&req.manifest, key);
    let (mut facts, ballot, secrets) = with_session(|s| {
        let size = s.tree_size();
        let rings = referendum_rings_of(s, &req.manifest, hash)?;
        let facts = ring_facts(rings, &cred, size, NOT_IN_REFERENDUM_RING)?;
        let (ballot, secrets) = with_rng(|rng| {
            encrypt_anonymous_ballot(&ctx, rings, &cred, choices, req.previous, rng)
                .map_err(|e| format!("ballot: {e}"))
        })?;
        Ok((facts, ballot, secrets))
    })?;
    let tag = ballot
        .ring_signature
        .as_ref()
        .map(|sig| sig.tag().to_hex())
        .ok_or("ballot: no ring signature")?;
    if let Some(obj) = facts.as_object_mut() {
        obj.insert("tag".into(), json!(tag));
        obj.insert("ballot_hash".into(), json!(ballot.hash().to_hex()));
        obj.insert("tracking_code".into(), json!(ballot.tracking_code()));
        obj.insert(
            "ballot".into(),
            serde_json::to_value(&ballot).map_err(|e| format!("cannot encode the answer: {e}"))?,
        );
        obj.insert(
            "secrets".into(),
            json!({
                "choices": secrets.choices,
                "nonces": serde_json::to_value(&secrets.nonces)
                    .map_err(|e| format!("cannot encode the answer: {e}"))?,
            }),
        );
    }
    Ok(facts)
}
