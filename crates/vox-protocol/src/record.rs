//! The election record: everything an observer needs to re-check a referendum or a
//! petition (protocol-spec/09-record.md).
//!
//! A record is a directory:
//! - `record.json` — the [`RecordHeader`] (format, version, board key, log id, scope);
//! - `entries.jsonl` — every board entry from index 0 to `tree_size − 1`, one JSON
//!   object per line, so verifiers can stream a record of millions of ballots;
//! - `tree-heads.jsonl` — signed tree heads the exporter saw, one per line, by size.
//!
//! JSON is transport only: every hash is recomputed from the canonical encoding of the
//! parsed objects, so whitespace or key order cannot change a verdict.

use std::io::{BufRead, Write};

use serde::{Deserialize, Serialize};
use vox_crypto::Hash32;

use crate::board::{BoardEntry, BoardPublicKey, SignedTreeHead};
use crate::error::{ProtocolError, Result};

/// Value of [`RecordHeader::format`].
pub const RECORD_FORMAT: &str = "vox-record";
/// Current record version.
pub const RECORD_VERSION: u32 = 2;
/// Header file name.
pub const HEADER_FILE: &str = "record.json";
/// Entries file name.
pub const ENTRIES_FILE: &str = "entries.jsonl";
/// Tree heads file name.
pub const TREE_HEADS_FILE: &str = "tree-heads.jsonl";

/// The record header.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RecordHeader {
    /// Always [`RECORD_FORMAT`].
    pub format: String,
    /// [`RECORD_VERSION`].
    pub version: u32,
    /// The board's Ed25519 key.
    pub board_public_key: BoardPublicKey,
    /// Its log id (checked against the key).
    pub log_id: Hash32,
    /// Number of entries in `entries.jsonl`.
    pub tree_size: u64,
    /// The referendum this record is about, if any (the whole log is included anyway).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referendum_id: Option<String>,
    /// The petition this record is about, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub petition_id: Option<String>,
    /// Witness keys whose cosignatures the verifier should require.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub witnesses: Vec<BoardPublicKey>,
}

impl RecordHeader {
    /// Structural checks of the header (protocol-spec/09-record.md §9.1; verifier step V1 of
    /// protocol-spec/10-verifier.md).
    pub fn validate(&self) -> Result<()> {
        if self.format != RECORD_FORMAT {
            return Err(ProtocolError::invalid(
                "format",
                format!("expected \"{RECORD_FORMAT}\""),
            ));
        }
        if self.version != RECORD_VERSION {
            return Err(ProtocolError::invalid(
                "version",
                format!("unsupported record version {}", self.version),
            ));
        }
        if self.log_id != self.board_public_key.log_id() {
            return Err(ProtocolError::invalid(
                "log_id",
                "does not match the board public key",
            ));
        }
        Ok(())
    }
}

/// Parse one JSON line.
pub fn parse_line<T: serde::de::DeserializeOwned>(line: &str, what: &'static str) -> Result<T> {
    serde_json::from_str(line).map_err(|e| ProtocolError::Json {
        what,
        reason: e.to_string(),
    })
}

/// Stream board entries from a JSON-lines reader, with their indices.
pub fn read_entries<R: BufRead>(reader: R) -> impl Iterator<Item = (u64, Result<BoardEntry>)> {
    reader
        .lines()
        .filter(|l| !matches!(l, Ok(s) if s.trim().is_empty()))
        .enumerate()
        .map(|(i, line)| {
            let r = match line {
                Ok(l) => parse_line::<BoardEntry>(&l, "board entry"),
                Err(e) => Err(ProtocolError::Json {
                    what: "board entry",
                    reason: e.to_string(),
                }),
            };
            (i as u64, r)
        })
}

/// Read every signed tree head.
pub fn read_tree_heads<R: BufRead>(reader: R) -> Result<Vec<SignedTreeHead>> {
    let mut out = Vec::new();
    for line in reader.lines() {
        let line = line.map_err(|e| ProtocolError::Json {
            what: "tree head",
            reason: e.to_string(),
        })?;
        if !line.trim().is_empty() {
            out.push(parse_line(&line, "tree head")?);
        }
    }
    Ok(out)
}

/// Write one value as a JSON line.
pub fn write_line<W: Write, T: Serialize>(w: &mut W, value: &T) -> std::io::Result<()> {
    serde_json::to_writer(&mut *w, value)?;
    w.write_all(b"\n")
}
