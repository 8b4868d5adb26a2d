//! The HTTP side of `vox-verify` (protocol-spec/api.md): downloading a record and the
//! board endpoints the monitor follows. Plain HTTP/1.1 via ureq (blocking).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Deserialize;
use vox_protocol::board::{BoardEntry, BoardPublicKey, Cosignature, SignedTreeHead};
use vox_protocol::merkle::NodeHash;
use vox_protocol::record::{RECORD_FORMAT, RECORD_VERSION};
use vox_verifier::dir::RecordWriter;
use vox_verifier::VerifyError;

use crate::progress;

/// Entries per page (the server's maximum).
pub const PAGE: u64 = 1000;

/// A vox server.
pub struct Server {
    agent: ureq::Agent,
    base: String,
}

/// `GET /api/v1/board`.
#[derive(Debug, Deserialize)]
pub struct BoardInfo {
    pub board_public_key: BoardPublicKey,
    pub tree_size: u64,
    #[serde(default)]
    pub witnesses: Vec<BoardPublicKey>,
}

#[derive(Debug, Deserialize)]
struct IndexedEntry {
    index: u64,
    entry: serde_json::Value,
}

fn source(what: &str, e: impl std::fmt::Display) -> VerifyError {
    VerifyError::Source(format!("{what}: {e}"))
}

impl Server {
    pub fn new(url: &str) -> Self {
        Self {
            agent: ureq::AgentBuilder::new()
                .timeout_connect(Duration::from_secs(20))
                .timeout_read(Duration::from_secs(120))
                .build(),
            base: url.trim_end_matches('/').to_owned(),
        }
    }

    fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, VerifyError> {
        let url = format!("{}{path}", self.base);
        let resp = self.agent.get(&url).call().map_err(|e| source(&url, e))?;
        resp.into_json::<T>().map_err(|e| source(&url, e))
    }

    pub fn board(&self) -> Result<BoardInfo, VerifyError> {
        self.get("/api/v1/board")
    }

    pub fn latest_head(&self) -> Result<SignedTreeHead, VerifyError> {
        self.get("/api/v1/board/tree-head")
    }

    /// Every signed head, ascending: pages of `?since=SIZE` (heads of size ≥ SIZE, at most
    /// 1000 each), until a page brings nothing new.
    pub fn tree_heads(&self) -> Result<Vec<serde_json::Value>, VerifyError> {
        let size_of =
            |h: &serde_json::Value| h.get("tree_size").and_then(serde_json::Value::as_u64);
        let mut all: Vec<serde_json::Value> = self.get("/api/v1/board/tree-heads?since=0")?;
        while let Some(last) = all.last().and_then(size_of) {
            let page: Vec<serde_json::Value> =
                self.get(&format!("/api/v1/board/tree-heads?since={}", last + 1))?;
            let fresh: Vec<serde_json::Value> = page
                .into_iter()
                .filter(|h| size_of(h).is_some_and(|s| s > last))
                .collect();
            if fresh.is_empty() {
                break;
            }
            all.extend(fresh);
        }
        Ok(all)
    }

    /// Entries `start..end` as raw JSON, in order, paged.
    pub fn entries_raw(
        &self,
        start: u64,
        end: u64,
        mut each: impl FnMut(u64, serde_json::Value) -> Result<(), VerifyError>,
    ) -> Result<(), VerifyError> {
        let mut next = start;
        while next < end {
            let stop = end.min(next.saturating_add(PAGE));
            let page: Vec<IndexedEntry> =
                self.get(&format!("/api/v1/board/entries?start={next}&end={stop}"))?;
            if page.is_empty() {
                return Err(VerifyError::EntryGap {
                    expected: next,
                    got: stop,
                });
            }
            for e in page {
                if e.index != next {
                    return Err(VerifyError::EntryGap {
                        expected: next,
                        got: e.index,
                    });
                }
                each(e.index, e.entry)?;
                next += 1;
                if next == stop {
                    break;
                }
            }
        }
        Ok(())
    }

    /// Entries `start..end`, parsed.
    pub fn entries(&self, start: u64, end: u64) -> Result<Vec<BoardEntry>, VerifyError> {
        let mut out = Vec::new();
        self.entries_raw(start, end, |i, v| {
            let e =
                serde_json::from_value::<BoardEntry>(v).map_err(|e| VerifyError::Malformed {
                    what: "board entry",
                    reason: format!("entry {i}: {e}"),
                })?;
            out.push(e);
            Ok(())
        })?;
        Ok(out)
    }

    pub fn consistency(&self, first: u64, second: u64) -> Result<Vec<NodeHash>, VerifyError> {
        let a: vox_protocol::api::ConsistencyProof = self.get(&format!(
            "/api/v1/board/consistency?first={first}&second={second}"
        ))?;
        if a.first != first || a.second != second {
            return Err(VerifyError::Malformed {
                what: "consistency proof",
                reason: format!("asked {first}→{second}, got {}→{}", a.first, a.second),
            });
        }
        Ok(a.proof)
    }

    pub fn post_cosignature(
        &self,
        sth: &SignedTreeHead,
        cosignature: &Cosignature,
    ) -> Result<(), VerifyError> {
        let url = format!("{}/api/v1/board/cosignatures", self.base);
        let body = serde_json::json!({
            "tree_size": sth.head.tree_size,
            "root_hash": sth.head.root_hash,
            "timestamp_ms": sth.head.timestamp_ms,
            "cosignature": cosignature,
        });
        match self.agent.post(&url).send_json(body) {
            Ok(_) => Ok(()),
            // A refusal is problem details (RFC 9457): say its status, title and detail.
            Err(ureq::Error::Status(status, resp)) => {
                let problem: serde_json::Value = resp.into_json().unwrap_or_default();
                let field = |k: &str| problem.get(k).and_then(|v| v.as_str()).unwrap_or("");
                Err(source(
                    &url,
                    format!("{status} {}: {}", field("title"), field("detail")),
                ))
            }
            Err(e) => Err(source(&url, e)),
        }
    }
}

/// A fresh directory under the system temp dir.
pub fn temp_record_dir() -> PathBuf {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    std::env::temp_dir().join(format!("vox-record-{}-{stamp}", std::process::id()))
}

/// Download a record (header, every entry, every head) into `out`
/// (protocol-spec/api.md: /api/v1/record, /board/entries, /board/tree-heads).
pub fn download(
    url: &str,
    referendum: Option<&str>,
    out: &Path,
    show_progress: bool,
) -> Result<PathBuf, VerifyError> {
    let server = Server::new(url);
    let path = match referendum {
        Some(r) => format!("/api/v1/record?referendum={r}"),
        None => "/api/v1/record".to_owned(),
    };
    // The header is kept as the server sent it: unknown fields must reach V1.
    let mut header: serde_json::Value = match server.get(&path) {
        Ok(h) => h,
        Err(e) if referendum.is_none() => {
            // A whole-board record: the header follows from the board's description.
            let b = server.board().map_err(|_| e)?;
            serde_json::json!({
                "format": RECORD_FORMAT,
                "version": RECORD_VERSION,
                "board_public_key": b.board_public_key,
                "log_id": b.board_public_key.log_id(),
                "tree_size": b.tree_size,
                "witnesses": b.witnesses,
            })
        }
        Err(e) => return Err(e),
    };
    let declared = header
        .get("tree_size")
        .and_then(serde_json::Value::as_u64)
        .ok_or_else(|| source("record header", "no tree_size"))?;
    let heads = server.tree_heads()?;
    // Take the log up to the largest head, so that a head covers the whole record.
    let size_of = |h: &serde_json::Value| h.get("tree_size").and_then(serde_json::Value::as_u64);
    let largest = heads.iter().filter_map(size_of).max().unwrap_or(declared);
    let size = declared.max(largest);
    if let Some(obj) = header.as_object_mut() {
        obj.insert("tree_size".into(), size.into());
    }
    let mut w = RecordWriter::create(out)?;
    let bar = show_progress.then(|| progress::bar("downloading entries", Some(size)));
    server.entries_raw(0, size, |_, entry| {
        if let Some(b) = &bar {
            b.inc(1);
        }
        w.entry(&entry.to_string())
    })?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    for h in heads
        .iter()
        .filter(|h| size_of(h).is_some_and(|s| s <= size))
    {
        w.tree_head(&h.to_string())?;
    }
    w.header(&serde_json::to_string_pretty(&header).map_err(|e| source("header", e))?)?;
    w.finish()
}
