//! The verifier (`vox-verifier`, built without rayon, files or HTTP) on a record the
//! page downloaded: the same numbered steps V1…V15 and the same report as
//! `vox-verify --json`.
//!
//! Two ways in:
//! - [`verify_record`]: everything at once.
//! - A session, for a progress bar: [`verify_begin`] (header, tree heads), then
//!   [`verify_feed`] once per downloaded page of entries (pass 1), then [`verify_run`]
//!   until it says `done` (pass 2, a few hundred entries per call so the page can
//!   repaint in between), then [`verify_finish`] (the report). One session at a time;
//!   `verify_begin` replaces any previous one.
//! - A streaming session (`"stream": true` in [`verify_begin`]): pass 1 as above, but
//!   the entry text is not kept (32 bytes of SHA-256 per entry instead); the caller
//!   downloads the pages again and hands them to [`verify_stream`] for pass 2, which
//!   refuses an entry that differs from the one pass 1 saw. The page's worker does this,
//!   so that neither it nor the wasm holds the record's text
//!   ([`vox_verifier::StagedVerification::new_streaming`]).
//!
//! ## Randomness
//! Batch verification folds many proofs into one equation with random 128-bit weights;
//! a forged proof slips through only if its author can predict them. The verifier takes
//! them from a 32-byte seed ([`vox_verifier::Options::seed`]) drawn here from the
//! page-seeded ChaCha20 generator ([`crate::rng`]), which the page re-keys with fresh
//! `crypto.getRandomValues` bytes before every call — so the seed is drawn after the
//! record was downloaded, from the browser's CSPRNG, and never leaves the page: whoever
//! made the record cannot predict it. `OsRng` (which would need wasm-bindgen glue) is
//! not compiled into this build at all.
//!
//! The in-browser verifier is only as independent as the code the page was served with;
//! for an audit that does not trust the server, run `vox-verify` from source.

use std::cell::RefCell;

use serde::Deserialize;
use serde_json::Value;
use vox_verifier::{Options, Seed, StagedVerification, TrustAnchors};

use crate::rng::with_rng;

type Res<T> = Result<T, String>;

thread_local! {
    /// The current session (wasm32 is single-threaded; natively, per test thread).
    static SESSION: RefCell<Option<Session>> = const { RefCell::new(None) };
}

struct Session {
    staged: StagedVerification,
    /// Entries received so far (to check the indices of API pages).
    received: u64,
    /// Entries received by pass 2 of a streaming session (same purpose).
    streamed: u64,
}

/// Entries per [`verify_run`] call when the request does not say.
const DEFAULT_RUN: usize = 256;

fn envelope(r: Res<Value>) -> String {
    match r {
        Ok(v) => serde_json::json!({ "ok": v }).to_string(),
        Err(e) => crate::api::error_json(&e),
    }
}

fn parse<T: serde::de::DeserializeOwned>(input: &str) -> Res<T> {
    serde_json::from_str(input).map_err(|e| format!("bad request JSON: {e}"))
}

/// A JSON document given either as an object or as its text.
fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Lines of a JSON-lines text, or of an array of objects.
fn lines_of(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => s.lines().map(str::to_owned).collect(),
        Value::Array(items) => items.iter().map(text_of).collect(),
        Value::Null => Vec::new(),
        other => vec![other.to_string()],
    }
}

/// Entry lines from `entries` (BoardEntry objects, or the API's `{"index", "entry"}`
/// items, whose indices must continue from `first`) or `entries_jsonl` (text).
fn entry_lines(entries: &Value, jsonl: Option<&str>, first: u64) -> Res<Vec<String>> {
    let mut out = Vec::new();
    if let Some(text) = jsonl {
        out.extend(text.lines().map(str::to_owned));
    }
    match entries {
        Value::Null => {}
        Value::String(s) => out.extend(s.lines().map(str::to_owned)),
        Value::Array(items) => {
            let mut next = first.saturating_add(out.len() as u64);
            for item in items {
                match (item.get("index"), item.get("entry")) {
                    (Some(index), Some(entry)) => {
                        if index.as_u64() != Some(next) {
                            return Err(format!(
                                "entries: expected entry {next}, got index {index} (a page is missing or out of order)"
                            ));
                        }
                        out.push(text_of(entry));
                    }
                    _ => out.push(text_of(item)),
                }
                next = next.saturating_add(1);
            }
        }
        _ => return Err("entries: expected an array or JSON-lines text".into()),
    }
    Ok(out)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BeginRequest {
    header: Value,
    #[serde(default)]
    tree_heads: Value,
    #[serde(default)]
    referendum_id: Option<String>,
    #[serde(default)]
    trust: TrustAnchors,
    /// Pass 2 reads the entries again ([`verify_stream`]) instead of keeping them.
    #[serde(default)]
    stream: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RecordRequest {
    header: Value,
    #[serde(default)]
    tree_heads: Value,
    #[serde(default)]
    referendum_id: Option<String>,
    #[serde(default)]
    entries: Value,
    #[serde(default)]
    entries_jsonl: Option<String>,
    #[serde(default)]
    trust: TrustAnchors,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FeedRequest {
    #[serde(default)]
    entries: Value,
    #[serde(default)]
    entries_jsonl: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RunRequest {
    #[serde(default)]
    max: Option<usize>,
}

/// A staged verification keyed by a fresh seed from the page's generator.
fn start(
    header: &Value,
    tree_heads: &Value,
    referendum_id: Option<String>,
    trust: TrustAnchors,
    stream: bool,
) -> Res<Session> {
    let seed = with_rng(|rng| {
        let mut s = [0u8; 32];
        rand_core::RngCore::fill_bytes(rng, &mut s);
        Ok(s)
    })?;
    let options = Options {
        referendums: referendum_id.map(|r| vec![r]),
        trust,
        seed: Some(Seed(seed)),
        ..Options::default()
    };
    let staged = if stream {
        StagedVerification::new_streaming(&text_of(header), lines_of(tree_heads), options)
    } else {
        StagedVerification::new(&text_of(header), lines_of(tree_heads), options)
    };
    Ok(Session {
        staged,
        received: 0,
        streamed: 0,
    })
}

fn report_json(staged: StagedVerification) -> Res<Value> {
    let report = staged
        .finish()
        .map_err(|e| format!("cannot read the record: {e}"))?;
    Ok(report.to_json(false))
}

/// Verify a whole record at once. Request: `{"header": record.json (object or text),
/// "tree_heads": [SignedTreeHead…] or JSON-lines text, "entries": [BoardEntry…] or
/// [{"index", "entry"}…] (API pages) or JSON-lines text, "entries_jsonl"?: text,
/// "referendum_id"?: string, "trust"?: pinned keys}`, `trust` being the object of
/// `vox-verify --trust` (`{"board_public_key"?: hex, "roles"?: {"registrar"?: hex,
/// "petitions-office"?: hex, "election-authority"?: hex}, "witnesses"?: [hex]}`: V1
/// fails on another board key, V4 on another role key in the genesis). Answer: the report of `vox-verify --json` (steps with
/// `id` "V1"…, `title`, `status` "pass" | "fail" | "not-checked", `checked`, `detail`,
/// `failures`…, plus `verdict` and `exit_code`).
pub fn verify_record(input: &str) -> String {
    envelope(record_inner(input))
}

fn record_inner(input: &str) -> Res<Value> {
    let req: RecordRequest = parse(input)?;
    let mut s = start(
        &req.header,
        &req.tree_heads,
        req.referendum_id,
        req.trust,
        false,
    )?;
    s.staged
        .add_entries(entry_lines(&req.entries, req.entries_jsonl.as_deref(), 0)?);
    report_json(s.staged)
}

/// Start a session: `{"header", "tree_heads", "referendum_id"?, "trust"?}` as in
/// [`verify_record`], and `"stream"?: true` for a streaming session (pass 2 through
/// [`verify_stream`]). Answer: `{"expected_entries": n}` (the header's tree size; 0 if
/// the header is unusable, in which case [`verify_finish`] reports V1 failed).
pub fn verify_begin(input: &str) -> String {
    envelope(begin_inner(input))
}

fn begin_inner(input: &str) -> Res<Value> {
    let req: BeginRequest = parse(input)?;
    let s = start(
        &req.header,
        &req.tree_heads,
        req.referendum_id,
        req.trust,
        req.stream,
    )?;
    let expected = s.staged.expected_entries();
    SESSION.with(|cell| *cell.borrow_mut() = Some(s));
    Ok(serde_json::json!({ "expected_entries": expected }))
}

fn with_session<T>(f: impl FnOnce(&mut Session) -> Res<T>) -> Res<T> {
    SESSION.with(|cell| match cell.borrow_mut().as_mut() {
        Some(s) => f(s),
        None => Err("no verification in progress: call verify_begin first".into()),
    })
}

/// Pass 1 over the next page: `{"entries": …}` or `{"entries_jsonl": text}`, in log
/// order. Answer: `{"received": entries so far}`.
pub fn verify_feed(input: &str) -> String {
    envelope(feed_inner(input))
}

fn feed_inner(input: &str) -> Res<Value> {
    let req: FeedRequest = parse(input)?;
    with_session(|s| {
        let lines = entry_lines(&req.entries, req.entries_jsonl.as_deref(), s.received)?;
        s.received = s.received.saturating_add(lines.len() as u64);
        s.staged.add_entries(lines);
        Ok(serde_json::json!({ "received": s.received }))
    })
}

/// Pass 2 over up to `max` (default 256) more entries: `{"max"?: n}`. Answer:
/// `{"verified": n, "total": n, "done": bool}`. The first call ends pass 1.
pub fn verify_run(input: &str) -> String {
    envelope(run_inner(input))
}

fn run_inner(input: &str) -> Res<Value> {
    let req: RunRequest = if input.trim().is_empty() {
        RunRequest::default()
    } else {
        parse(input)?
    };
    with_session(|s| {
        let (done, total) = s
            .staged
            .verify_some(req.max.unwrap_or(DEFAULT_RUN))
            .map_err(|e| format!("cannot read the record: {e}"))?;
        Ok(serde_json::json!({ "verified": done, "total": total, "done": done >= total }))
    })
}

/// Pass 2 of a streaming session over the next page, downloaded again: `{"entries": …}`
/// or `{"entries_jsonl": text}`, the same entries as pass 1 in log order. Answer:
/// `{"verified": n, "total": n, "done": bool}`. The first call ends pass 1; an entry
/// that differs from the one pass 1 saw is an error.
pub fn verify_stream(input: &str) -> String {
    envelope(stream_inner(input))
}

fn stream_inner(input: &str) -> Res<Value> {
    let req: FeedRequest = parse(input)?;
    with_session(|s| {
        let lines = entry_lines(&req.entries, req.entries_jsonl.as_deref(), s.streamed)?;
        s.streamed = s.streamed.saturating_add(lines.len() as u64);
        let (done, total) = s
            .staged
            .verify_entries(lines)
            .map_err(|e| format!("cannot read the record: {e}"))?;
        Ok(serde_json::json!({ "verified": done, "total": total, "done": done >= total }))
    })
}

/// End the session: the report, as [`verify_record`] answers it. Request: `{}`.
pub fn verify_finish(_input: &str) -> String {
    envelope(
        SESSION
            .with(|cell| cell.borrow_mut().take())
            .ok_or_else(|| "no verification in progress: call verify_begin first".to_owned())
            .and_then(|s| report_json(s.staged)),
    )
}
