//! The JSON functions behind the exports. Each takes the request as a JSON string and
//! returns `{"ok": …}` or `{"error": "…"}`; they are the same natively (tests) and in
//! the browser. Field names and types are the serde forms of `vox-protocol`
//! (points, scalars and hashes as lower-case hex).

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use vox_crypto::batch::SingleVerifier;
use vox_crypto::credential::Credential;
use vox_crypto::elgamal::ElectionPublicKey;
use vox_crypto::{Hash32, Point};
use vox_protocol::api::{ConsistencyProof, InclusionProof};
use vox_protocol::ballot::{encrypt_ballot as encrypt, AuditedBallot, Ballot, BallotContext};
use vox_protocol::board::{BoardPublicKey, Receipt, SignedTreeHead};
use vox_protocol::buffered::{Buffered, BufferedDeserializer};
use vox_protocol::device::{self, CheckedKey, ProvedLeaf, ReferendumClaims};
use vox_protocol::electorate::{Electorate, ElectorateEntry, EnrolmentRequest};
use vox_protocol::encoding::Hashable;
use vox_protocol::enrolment::EnrolmentCode;
use vox_protocol::manifest::{Manifest, QuestionKind};
use vox_protocol::merkle::{verify_consistency, verify_inclusion};
use vox_protocol::petition::{Petition, PetitionProposal, PetitionSignature, SignatureAction};

use crate::rng::with_rng;

pub(crate) type Res<T> = Result<T, String>;

/// `{"error": message}` as a string.
pub fn error_json(message: &str) -> String {
    json!({ "error": message }).to_string()
}

pub(crate) fn envelope(r: Res<Value>) -> String {
    match r {
        Ok(v) => json!({ "ok": v }).to_string(),
        Err(e) => error_json(&e),
    }
}

/// A request: the text read once into a [`Buffered`] value, then decoded from it.
///
/// Why (issue 15 §4, size of vox_web.wasm): the board payloads (`vox_protocol::board::
/// Payload`, decoded by hand through `vox_protocol::buffered`) hold manifests, ballots,
/// ceremony messages…, so every type a board entry can hold already has a decoder over
/// [`BufferedDeserializer`] in the bundle. Decoding the requests straight from the text
/// (`serde_json::from_str::<T>`) would add a second copy of the decoders of the same
/// types, over the text; through the buffer they share the first one (and the JSON
/// parser is instantiated once, for [`Buffered`]). The JSON accepted is the same as from
/// the text, except that a request must be an object (serde would also take a struct
/// as the array of its fields): `deny_unknown_fields` applies as written on the
/// request types; error messages lose the line and column.
fn parse<T: DeserializeOwned>(input: &str) -> Res<T> {
    let bad = |e: serde_json::Error| format!("bad request JSON: {e}");
    let value: Buffered<'_> = serde_json::from_str(input).map_err(bad)?;
    if !matches!(value, Buffered::Map(_)) {
        return Err(bad(serde::de::Error::invalid_type(
            value.unexpected(),
            &"a JSON object",
        )));
    }
    T::deserialize(BufferedDeserializer::<serde_json::Error>::new(value)).map_err(bad)
}

/// A request whose type says `deny_unknown_fields` (the name says so at the call site;
/// the decoding is [`parse`]'s).
pub(crate) fn parse_strict<T: DeserializeOwned>(input: &str) -> Res<T> {
    parse(input)
}

fn to_value<T: Serialize>(v: &T) -> Res<Value> {
    serde_json::to_value(v).map_err(|e| format!("cannot encode the answer: {e}"))
}

fn credential(text: &str) -> Res<Credential> {
    Credential::from_text(text).map_err(|e| format!("credential: {e}"))
}

/// The manifest's hash, checked against the one the server announced (if given).
fn manifest_context(
    manifest: &Manifest,
    announced: Option<Hash32>,
    key: ElectionPublicKey,
) -> Res<BallotContext<'_>> {
    let ctx = BallotContext::new(manifest, key);
    if let Some(h) = announced {
        if h != ctx.manifest_hash {
            return Err(format!(
                "manifest_hash: the manifest hashes to {}, not to the announced {}",
                ctx.manifest_hash.to_hex(),
                h.to_hex()
            ));
        }
    }
    Ok(ctx)
}

// ---- the device check (protocol-spec/04-ballots.md §4.7, D1–D7) ------------------

/// The evidence the page gathers before anything is encrypted: the board key this
/// browser trusts for the server (pinned in localStorage on first use), the board's
/// signed tree head, the server's referendum view (`GET /api/v1/referendums/{id}`, as
/// is) and the leaves [`device_plan`] names, each with its inclusion proof.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Evidence {
    referendum_id: String,
    board_public_key: BoardPublicKey,
    tree_head: SignedTreeHead,
    detail: ReferendumClaims,
    leaves: Vec<ProvedLeaf>,
}

/// D1–D7 on the evidence: the same code as `vox vote` (`vox_protocol::device`).
fn checked_key(e: &Evidence) -> Res<CheckedKey> {
    device::check_election_key(
        &e.board_public_key,
        &e.tree_head,
        &e.referendum_id,
        &e.detail,
        &e.leaves,
    )
    .map_err(|err| {
        format!(
            "refusing to encrypt: the election key of referendum {} could not be checked on \
             the board: {err}",
            e.referendum_id
        )
    })
}

/// What the page shows the voter about a checked key.
fn checked_json(c: &CheckedKey) -> Res<Value> {
    Ok(json!({
        "manifest_hash": c.manifest_hash.to_hex(),
        "fingerprint": device::fingerprint(&c.manifest_hash),
        "election_key": to_value(&c.election_key)?,
        "tree_size": c.tree_size,
        "manifest_leaf": c.manifest_leaf,
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BoardKeyRequest {
    board_public_key: BoardPublicKey,
    log_id: Hash32,
}

/// The board key a server presents (`GET /api/v1/board`), before the page pins it on
/// first contact (D1): its log id must be that key's.
///
/// Request: `{"board_public_key", "log_id"}` (the fields of `GET /api/v1/board`; the
/// page passes only those two). Answer: `{"board_public_key": normalised hex, "log_id",
/// "fingerprint"}` (the fingerprint is of the log id, as the CLI shows it).
pub fn board_key(input: &str) -> String {
    envelope((|| {
        let req: BoardKeyRequest = parse_strict(input)?;
        let key = req.board_public_key;
        if req.log_id != key.log_id() {
            return Err("the server's log id does not match its board key".into());
        }
        Ok(json!({
            "board_public_key": key.to_hex(),
            "log_id": key.log_id().to_hex(),
            "fingerprint": device::fingerprint(&key.log_id()),
        }))
    })())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanRequest {
    referendum_id: String,
    board_public_key: BoardPublicKey,
    tree_head: SignedTreeHead,
    detail: ReferendumClaims,
}

/// Which board leaves the page must fetch (each with `GET /api/v1/board/entries` and
/// `GET /api/v1/board/inclusion` at the signed head's size) for the device check.
///
/// Request: `{"referendum_id", "board_public_key": the trusted key, "tree_head": GET
/// /api/v1/board/tree-head, "detail": GET /api/v1/referendums/{id}}`. Checks the head's
/// signature under the trusted key and the server's hints (present, in board order,
/// inside the signed tree, a bounded number), so the page never fetches an unbounded
/// list. Answer: `{"leaves": [u64], "tree_size"}`.
pub fn device_plan(input: &str) -> String {
    envelope((|| {
        let req: PlanRequest = parse_strict(input)?;
        let leaves = device::leaves_to_fetch(
            &req.board_public_key,
            &req.tree_head,
            &req.referendum_id,
            &req.detail,
        )
        .map_err(|e| e.to_string())?;
        Ok(json!({ "leaves": leaves, "tree_size": req.tree_head.head.tree_size }))
    })())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckRequest {
    evidence: Evidence,
}

/// Run D1–D7 (protocol-spec/04-ballots.md §4.7) on the evidence, for the page to show
/// what the voter is about to encrypt to before they vote.
///
/// Request: `{"evidence": {"referendum_id", "board_public_key", "tree_head", "detail",
/// "leaves": [{"index", "entry", "proof"}]}}`. Answer: `{"manifest_hash",
/// "fingerprint", "election_key", "tree_size", "manifest_leaf"}`; the election key is
/// the one recomputed from the trustees' signed ceremony messages on the board.
pub fn check_election_key(input: &str) -> String {
    envelope((|| {
        let req: CheckRequest = parse_strict(input)?;
        checked_json(&checked_key(&req.evidence)?)
    })())
}

// ---- encrypt -------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EncryptRequest {
    evidence: Evidence,
    credential: String,
    choices: Vec<Vec<u64>>,
    /// The hash of the credential's latest ballot on the board (04 §4.8), absent for a
    /// first ballot.
    #[serde(default)]
    previous: Option<Hash32>,
}

/// Check the election key on the board, then encrypt and prove a ballot on this device.
///
/// Request: `{"evidence": (as for [`check_election_key`]), "credential": text,
/// "choices": [[u64]], "previous"?: hex}` (yes-no: `[1,0]` yes, `[0,1]` no; `previous`:
/// the credential's latest ballot hash, 04 §4.8). There is no way to pass a
/// key: the ballot is encrypted to the key D1–D7 recompute from the evidence, under the
/// board's manifest, and nothing is encrypted if any step fails (the error starts with
/// `refusing to encrypt`).
/// Answer: `{"ballot": Ballot, "ballot_hash", "tracking_code", "credential_public_key",
/// "checked": (as [`check_election_key`] answers), "secrets": {"choices", "nonces"}}`.
/// `{ballot, ...secrets}` is the `AuditedBallot` to POST to `/audits` for a Benaloh
/// challenge; the secrets must otherwise be discarded.
pub fn encrypt_ballot(input: &str) -> String {
    envelope(encrypt_inner(input))
}

fn encrypt_inner(input: &str) -> Res<Value> {
    let req: EncryptRequest = parse_strict(input)?;
    let checked = checked_key(&req.evidence)?;
    let ctx = BallotContext::new(&checked.manifest, checked.election_key);
    let cred = credential(&req.credential)?;
    let (ballot, secrets) = with_rng(|rng| {
        encrypt(&ctx, &cred, &req.choices, req.previous, rng).map_err(|e| format!("ballot: {e}"))
    })?;
    Ok(json!({
        "ballot": to_value(&ballot)?,
        "ballot_hash": ballot.hash().to_hex(),
        "tracking_code": ballot.tracking_code(),
        "credential_public_key": cred.public_key().point().to_hex(),
        "checked": checked_json(&checked)?,
        "secrets": {
            "choices": secrets.choices,
            "nonces": to_value(&secrets.nonces)?,
        },
    }))
}

// ---- Benaloh audit -------------------------------------------------------------

#[derive(Deserialize)]
struct AuditRequest {
    manifest: Manifest,
    #[serde(default)]
    manifest_hash: Option<Hash32>,
    election_key: ElectionPublicKey,
    audited: AuditedBallot,
}

/// Check an opened ballot (Benaloh challenge) and decrypt it with its revealed nonces.
///
/// Request: `{"manifest", "manifest_hash"?, "election_key", "audited": AuditedBallot}`.
/// Checks: the ballot belongs to this manifest; every ciphertext decrypts, with its
/// nonce, to a value in range (found independently of the claimed choices); those
/// values are the claimed choices; every proof and the signature of the ballot verify.
/// Answer: `{"tracking_code", "choices": [[u64]], "answers": [{"question", "selected":
/// [{"option", "value"}]}]}`.
pub fn audit_opening(input: &str) -> String {
    envelope(audit_inner(input))
}

fn audit_inner(input: &str) -> Res<Value> {
    let req: AuditRequest = parse(input)?;
    let ctx = manifest_context(&req.manifest, req.manifest_hash, req.election_key)?;
    let ballot = &req.audited.ballot;
    if ballot.referendum_id != req.manifest.referendum_id
        || ballot.manifest_hash != ctx.manifest_hash
    {
        return Err("ballot: belongs to another referendum or manifest".into());
    }
    let qs = &req.manifest.questions;
    if ballot.answers.len() != qs.len() || req.audited.nonces.len() != qs.len() {
        return Err("audited: one answer and one nonce list per question".into());
    }
    let key = ctx.election_key;
    let mut decrypted: Vec<Vec<u64>> = Vec::with_capacity(qs.len());
    for (qi, ((q, a), ns)) in qs
        .iter()
        .zip(&ballot.answers)
        .zip(&req.audited.nonces)
        .enumerate()
    {
        if ns.len() != a.ciphertexts.len() {
            return Err(format!("nonces/{qi}: one nonce per ciphertext"));
        }
        let mut values = Vec::with_capacity(ns.len());
        for (i, (ct, r)) in a.ciphertexts.iter().zip(ns).enumerate() {
            // m·G = b − r·K, then m by a short search in 0..=max (the nonce is public now).
            let target = ct.b - r.mul_point(key.point());
            let mut acc = Point::identity();
            let g = Point::generator();
            let mut found = None;
            for m in 0..=q.max_per_option() {
                if acc == target {
                    found = Some(m);
                    break;
                }
                acc = acc + g;
            }
            match found {
                Some(m) if ct.check_opening(&key, m, r).is_ok() => values.push(m),
                _ => {
                    return Err(format!(
                        "answers/{qi}/ciphertexts/{i}: does not open to a value in range with its nonce"
                    ))
                }
            }
        }
        let values = match q.kind {
            QuestionKind::YesNo => match values.first() {
                Some(1) => vec![1, 0],
                Some(0) => vec![0, 1],
                _ => return Err(format!("answers/{qi}: yes-no ciphertext is not 0 or 1")),
            },
            _ => values,
        };
        decrypted.push(values);
    }
    if decrypted != req.audited.choices {
        return Err(
            "choices: the ballot does not encrypt the choices it claims (do NOT cast ballots from this device)"
                .into(),
        );
    }
    req.audited
        .verify_opening(&ctx)
        .map_err(|e| format!("opening: {e}"))?;
    // An anonymous ballot's ring signature is not checked here (`VoterProof::
    // RingSignaturePending`): an audit asks whether the ballot encrypts the choices it
    // claims; the ring signature only says that someone of a ring made it, which the
    // board's verifier checks against the derived rings (10 V10.8).
    let _who_made_it = with_rng(|rng| {
        ballot
            .check_proofs(&ctx, &mut SingleVerifier, rng)
            .map_err(|e| format!("ballot proofs: {e}"))
    })?;
    let answers: Vec<Value> = qs
        .iter()
        .zip(&decrypted)
        .map(|(q, vals)| {
            let selected: Vec<Value> = q
                .options
                .iter()
                .zip(vals)
                .filter(|(_, v)| **v > 0 || matches!(q.kind, QuestionKind::Score { .. }))
                .map(|(o, v)| json!({ "option": o, "value": v }))
                .collect();
            json!({ "question": q.text, "selected": selected })
        })
        .collect();
    Ok(json!({
        "tracking_code": ballot.tracking_code(),
        "ballot_hash": ballot.hash().to_hex(),
        "choices": decrypted,
        "answers": answers,
    }))
}

// ---- petitions -----------------------------------------------------------------

#[derive(Deserialize)]
struct SignRequest {
    petition: Petition,
    #[serde(default)]
    petition_hash: Option<Hash32>,
    credential: String,
    #[serde(default)]
    action: Option<SignatureAction>,
}

/// Sign (or withdraw from) a petition.
///
/// Request: `{"petition": Petition, "petition_hash"?, "credential": text,
/// "action"?: "sign" | "withdraw"}`. Answer: `{"signature": PetitionSignature,
/// "signature_hash", "credential_public_key"}`; the signature is checked before it is
/// returned.
pub fn sign_petition(input: &str) -> String {
    envelope(sign_inner(input))
}

fn sign_inner(input: &str) -> Res<Value> {
    let req: SignRequest = parse(input)?;
    let h = req.petition.canonical_hash();
    if let Some(announced) = req.petition_hash {
        if announced != h {
            return Err(format!(
                "petition_hash: the petition hashes to {}, not to the announced {}",
                h.to_hex(),
                announced.to_hex()
            ));
        }
    }
    let cred = credential(&req.credential)?;
    let action = req.action.unwrap_or(SignatureAction::Sign);
    let sig = with_rng(|rng| Ok(PetitionSignature::create(&req.petition, &cred, action, rng)))?;
    // Self-check against a one-entry electorate (eligibility is the server's business).
    let me = Electorate {
        id: "self".into(),
        name: "self".into(),
        entries: vec![ElectorateEntry {
            credential: sig.credential,
            region: None,
        }],
    };
    sig.verify(&h, &me.index())
        .map_err(|e| format!("signature self-check: {e}"))?;
    Ok(json!({
        "signature": to_value(&sig)?,
        "signature_hash": sig.canonical_hash().to_hex(),
        "credential_public_key": sig.credential.point().to_hex(),
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProposeRequest {
    petition: Petition,
    credential: String,
}

/// Propose a petition: the petition signed by the proposer's credential, the first
/// sponsor (protocol-spec/07-petitions.md; the same `PetitionProposal::create` as
/// `vox voter propose`). The page then POSTs the proposal to `/api/v1/petitions`; the
/// server checks eligibility and the office's policy, and the petitions office moderates
/// it once it has its sponsors, exactly as for a proposal made with the CLI.
///
/// Request: `{"petition": Petition, "credential": text}` (the petition's
/// `electorate_hash` is the one `GET /api/v1/electorates/{id}` announced). The petition's
/// structural rules are checked first (`Petition::validate`), so a malformed proposal is
/// refused before anything is signed or sent. Answer: `{"proposal": PetitionProposal,
/// "petition_hash", "credential_public_key"}`.
pub fn propose_petition(input: &str) -> String {
    envelope(propose_inner(input))
}

fn propose_inner(input: &str) -> Res<Value> {
    let req: ProposeRequest = parse_strict(input)?;
    req.petition
        .validate()
        .map_err(|e| format!("petition: {e}"))?;
    let cred = credential(&req.credential)?;
    let h = req.petition.canonical_hash();
    let proposal = with_rng(|rng| Ok(PetitionProposal::create(req.petition, &cred, rng)))?;
    // Self-check, as the server will (`PetitionProposal::verify`), against a one-entry
    // electorate of this credential that carries the petition's electorate hash
    // (eligibility on the real electorate is the server's business).
    let me = Electorate {
        id: "self".into(),
        name: "self".into(),
        entries: vec![ElectorateEntry {
            credential: proposal.proposer,
            region: None,
        }],
    };
    let mut index = me.index();
    index.hash = proposal.petition.electorate_hash;
    proposal
        .verify(&index)
        .map_err(|e| format!("proposal self-check: {e}"))?;
    Ok(json!({
        "proposal": to_value(&proposal)?,
        "petition_hash": h.to_hex(),
        "credential_public_key": proposal.proposer.point().to_hex(),
    }))
}

#[derive(Deserialize)]
struct CredentialRequest {
    credential: String,
}

/// `{"credential": text}` → `{"public_key": hex, "credential": normalised text}`. The
/// normalised text is only ever returned to the page that supplied it.
pub fn credential_public_key(input: &str) -> String {
    envelope((|| {
        let req: CredentialRequest = parse(input)?;
        let cred = credential(&req.credential)?;
        Ok(json!({
            "public_key": cred.public_key().point().to_hex(),
            "credential": cred.text(),
        }))
    })())
}

// ---- enrolment -------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MakeCredentialRequest {
    electorate_id: String,
    #[serde(default)]
    region: Option<String>,
    /// The one-time code from the registrar's letter, as the citizen typed it.
    #[serde(default)]
    code: Option<String>,
}

/// A label of the credential file and the request: no line breaks or other control
/// characters (the file is line-based), at most `max` characters.
fn label(field: &str, value: &str, max: usize) -> Res<String> {
    let v = value.trim();
    if v.chars().any(char::is_control) {
        return Err(format!("{field}: no line breaks or control characters"));
    }
    if v.chars().count() > max {
        return Err(format!("{field}: at most {max} characters"));
    }
    Ok(v.to_owned())
}

/// The credential file's text, in the format the CLI reads and writes
/// (`CredentialFile::render` in vox-cli): two comment lines, `electorate:`, `region:` if
/// any, `credential:`.
pub fn credential_file_text(
    cred: &Credential,
    electorate_id: &str,
    region: Option<&str>,
) -> String {
    let mut s = String::new();
    s.push_str("# vox voting credential. Keep it secret: whoever holds it can vote and\n");
    s.push_str("# sign petitions in your name. Re-voting replaces your earlier ballot.\n");
    s.push_str(&format!("electorate: {electorate_id}\n"));
    if let Some(r) = region {
        s.push_str(&format!("region: {r}\n"));
    }
    s.push_str(&format!("credential: {}\n", cred.text()));
    s
}

/// Draw a new credential on this device and the enrolment request for it
/// (protocol-spec/04-ballots.md §4.1.1).
///
/// Request: `{"electorate_id", "region"?, "code"?}` (an empty region is no region).
/// With `code` (the one-time code of the registrar's letter, typed in any case, with or
/// without dashes and spaces; §4.1.2) the request carries the normalised code, signed
/// with the rest, and is what the page posts to `/electorates/{id}/credentials`; without
/// it, the request is a file for the registrar to approve in person. A code that is not
/// 20 Crockford characters is refused here, with an error that starts with `code:`, so
/// the page can say so before anything is sent. Answer: `{"credential": text,
/// "public_key": hex, "request": EnrolmentRequest, "file": credential file text,
/// "code"?: normalised code, "code_grouped"?: "XXXXX-XXXXX-XXXXX-XXXXX"}`. The
/// credential (in `credential` and `file`) is returned only to the page that asked, for
/// the citizen to write down or save; the request, which holds only the public key, the
/// code and the proof of possession, is what leaves the device. The request is verified
/// before it is returned.
pub fn make_credential(input: &str) -> String {
    envelope(make_credential_inner(input))
}

fn make_credential_inner(input: &str) -> Res<Value> {
    let req: MakeCredentialRequest = parse_strict(input)?;
    let electorate_id = label("electorate_id", &req.electorate_id, 64)?;
    if electorate_id.is_empty() {
        return Err("electorate_id: the electorate's identifier is needed".into());
    }
    let region = req
        .region
        .as_deref()
        .map(|r| label("region", r, 64))
        .transpose()?
        .filter(|r| !r.is_empty());
    // Parsed before anything is drawn: a mistyped code costs the citizen nothing.
    let code = req
        .code
        .as_deref()
        .map(|c| EnrolmentCode::parse(c).map_err(|e| format!("code: {e}")))
        .transpose()?;
    let (cred, request) = with_rng(|rng| {
        let cred = Credential::generate(rng);
        let request =
            EnrolmentRequest::create(&electorate_id, region.as_deref(), code.as_ref(), &cred, rng);
        Ok((cred, request))
    })?;
    request
        .verify()
        .map_err(|e| format!("enrolment request self-check: {e}"))?;
    let mut out = json!({
        "credential": cred.text(),
        "public_key": request.credential.point().to_hex(),
        "request": to_value(&request)?,
        "file": credential_file_text(&cred, &electorate_id, region.as_deref()),
    });
    if let (Some(c), Some(obj)) = (&code, out.as_object_mut()) {
        obj.insert("code".into(), json!(c.as_str()));
        obj.insert("code_grouped".into(), json!(c.grouped()));
    }
    Ok(out)
}

// ---- receipts ------------------------------------------------------------------
// The server's proofs are read as the API contract's own types (`vox_protocol::api`).

#[derive(Deserialize)]
struct ReceiptRequest {
    receipt: Receipt,
    board_public_key: BoardPublicKey,
    #[serde(default)]
    tree_head: Option<SignedTreeHead>,
    #[serde(default)]
    consistency: Option<ConsistencyProof>,
    #[serde(default)]
    inclusion: Option<InclusionProof>,
    #[serde(default)]
    ballot: Option<Ballot>,
}

/// Verify a receipt, and that the board it points into still contains the ballot.
///
/// Request: `{"receipt", "board_public_key", "tree_head"?: the current SignedTreeHead,
/// "consistency"?: GET /board/consistency?first=<receipt size>&second=<current size>,
/// "inclusion"?: GET /board/inclusion?index=<leaf>&tree_size=<current size>,
/// "ballot"?: the ballot the receipt is for}`.
/// Checks: the receipt's board signature, its tree head's signature, its tracking code,
/// its inclusion proof; with `ballot`, that the receipt is for that ballot; with
/// `tree_head`, its signature and cosignatures, and that it extends the receipt's head
/// (a consistency proof; equal roots at equal sizes), and, with `inclusion`, that the
/// leaf is in the current tree. Answer: `{"tracking_code", "leaf_index",
/// "receipt_tree_size", "current_tree_size"?, "checks": [string]}`.
pub fn verify_receipt(input: &str) -> String {
    envelope(receipt_inner(input))
}

fn receipt_inner(input: &str) -> Res<Value> {
    let req: ReceiptRequest = parse(input)?;
    let board = req.board_public_key;
    let r = &req.receipt;
    let mut checks: Vec<&str> = Vec::new();
    r.verify(&board).map_err(|e| format!("receipt: {e}"))?;
    checks.push("receipt-signature");
    checks.push("receipt-tree-head-signature");
    checks.push("tracking-code");
    checks.push("inclusion-in-receipt-tree-head");
    if let Some(b) = &req.ballot {
        r.matches_ballot(b).map_err(|e| format!("ballot: {e}"))?;
        checks.push("receipt-matches-ballot");
    }
    let old = r.tree_head.head;
    let mut current_size = None;
    if let Some(sth) = &req.tree_head {
        sth.verify(&board)
            .map_err(|e| format!("current tree head: {e}"))?;
        if sth.origin != r.tree_head.origin {
            return Err(format!(
                "current tree head: it is a checkpoint of log {:?}, the receipt's of {:?}",
                sth.origin, r.tree_head.origin
            ));
        }
        checks.push("current-tree-head-signature");
        for (i, c) in sth.cosignatures.iter().enumerate() {
            sth.verify_cosignature(c)
                .map_err(|e| format!("current tree head cosignature {i}: {e}"))?;
        }
        if !sth.cosignatures.is_empty() {
            checks.push("current-tree-head-cosignatures");
        }
        let new = sth.head;
        current_size = Some(new.tree_size);
        if new.tree_size < old.tree_size {
            return Err(format!(
                "current tree head (size {}) is older than the receipt's (size {})",
                new.tree_size, old.tree_size
            ));
        }
        if new.tree_size == old.tree_size {
            if new.root_hash != old.root_hash {
                return Err(
                    "equivocation: two signed tree heads of the same size with different roots"
                        .into(),
                );
            }
        } else {
            let c = req.consistency.as_ref().ok_or(
                "consistency: a proof from the receipt's tree head to the current one is needed",
            )?;
            if c.first != old.tree_size || c.second != new.tree_size {
                return Err(format!(
                    "consistency: proof is for sizes {}→{}, expected {}→{}",
                    c.first, c.second, old.tree_size, new.tree_size
                ));
            }
            verify_consistency(
                old.tree_size,
                new.tree_size,
                &old.root_hash,
                &new.root_hash,
                &c.proof,
            )
            .map_err(|e| format!("consistency: {e} (the board rewrote its history)"))?;
        }
        checks.push("current-tree-head-extends-receipt");
        if let Some(inc) = &req.inclusion {
            if inc.leaf_index != r.leaf_index
                || inc.leaf_hash != r.leaf_hash
                || inc.tree_size != new.tree_size
            {
                return Err("inclusion: proof is for another leaf or tree size".into());
            }
            verify_inclusion(
                &r.leaf_hash,
                r.leaf_index,
                new.tree_size,
                &inc.proof,
                &new.root_hash,
            )
            .map_err(|e| format!("inclusion in the current tree: {e}"))?;
            checks.push("inclusion-in-current-tree-head");
        }
    } else if req.inclusion.is_some() || req.consistency.is_some() {
        return Err("tree_head: proofs against the current tree need the current tree head".into());
    }
    Ok(json!({
        "tracking_code": r.tracking_code,
        "referendum_id": r.referendum_id,
        "leaf_index": r.leaf_index,
        "receipt_tree_size": old.tree_size,
        "current_tree_size": current_size,
        "checks": checks,
    }))
}
