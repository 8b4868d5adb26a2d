//! Where a record comes from (protocol-spec/09-record.md).
//!
//! The core takes a record as three streams of text — the header, the tree-head lines
//! and the entry lines — so it runs unchanged on a directory ([`crate::dir::DirSource`],
//! feature `fs`), on memory (tests, a browser that fetched the record) or on anything
//! else that can hand out lines. Entries are read twice (two passes), so a source must
//! be able to restart them; neither pass holds more than one block of entries.

use vox_protocol::board::{BoardEntry, SignedTreeHead};
use vox_protocol::record::RecordHeader;

use crate::error::VerifyError;

/// A stream of JSON lines.
pub type Lines<'a> = Box<dyn Iterator<Item = Result<String, VerifyError>> + 'a>;

/// A record the verifier can read.
pub trait RecordSource {
    /// The text of `record.json`.
    fn header(&self) -> Result<String, VerifyError>;
    /// The lines of `tree-heads.jsonl` (ascending by tree size).
    fn tree_heads(&self) -> Result<Lines<'_>, VerifyError>;
    /// The lines of `entries.jsonl`, from leaf 0. Called once per pass.
    fn entries(&self) -> Result<Lines<'_>, VerifyError>;
}

/// Whether a line carries nothing (blank lines are skipped, as
/// [`vox_protocol::record::read_entries`] does).
pub(crate) fn is_blank(line: &str) -> bool {
    line.trim().is_empty()
}

/// A record held in memory as JSON text.
#[derive(Clone, Debug, Default)]
pub struct MemorySource {
    /// `record.json`.
    pub header: String,
    /// `tree-heads.jsonl`, one head per element.
    pub tree_heads: Vec<String>,
    /// `entries.jsonl`, one entry per element.
    pub entries: Vec<String>,
}

impl MemorySource {
    /// Serialize parsed objects (tests, in-browser use).
    pub fn from_parts(
        header: &RecordHeader,
        tree_heads: &[SignedTreeHead],
        entries: &[BoardEntry],
    ) -> Result<Self, VerifyError> {
        let json = |e: serde_json::Error| VerifyError::Malformed {
            what: "record",
            reason: e.to_string(),
        };
        Ok(Self {
            header: serde_json::to_string(header).map_err(json)?,
            tree_heads: tree_heads
                .iter()
                .map(serde_json::to_string)
                .collect::<Result<_, _>>()
                .map_err(json)?,
            entries: entries
                .iter()
                .map(serde_json::to_string)
                .collect::<Result<_, _>>()
                .map_err(json)?,
        })
    }
}

impl RecordSource for MemorySource {
    fn header(&self) -> Result<String, VerifyError> {
        Ok(self.header.clone())
    }

    fn tree_heads(&self) -> Result<Lines<'_>, VerifyError> {
        Ok(Box::new(self.tree_heads.iter().cloned().map(Ok)))
    }

    fn entries(&self) -> Result<Lines<'_>, VerifyError> {
        Ok(Box::new(self.entries.iter().cloned().map(Ok)))
    }
}
