//! Record directories on disk: `record.json`, `entries.jsonl`, `tree-heads.jsonl`
//! (protocol-spec/09-record.md). Feature `fs`.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use vox_protocol::record::{ENTRIES_FILE, HEADER_FILE, TREE_HEADS_FILE};

use crate::error::VerifyError;
use crate::source::{Lines, RecordSource};

/// A record directory, read line by line.
#[derive(Clone, Debug)]
pub struct DirSource {
    dir: PathBuf,
}

impl DirSource {
    /// A record in `dir` (nothing is read yet).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn lines(&self, name: &str) -> Result<Lines<'_>, VerifyError> {
        let path = self.dir.join(name);
        let what = path.display().to_string();
        let file = File::open(&path).map_err(|e| VerifyError::io(what.clone(), e))?;
        let reader = BufReader::with_capacity(1 << 20, file);
        Ok(Box::new(reader.lines().map(move |l| {
            l.map_err(|e| VerifyError::io(what.clone(), e))
        })))
    }
}

impl RecordSource for DirSource {
    fn header(&self) -> Result<String, VerifyError> {
        let path = self.dir.join(HEADER_FILE);
        std::fs::read_to_string(&path).map_err(|e| VerifyError::io(path.display().to_string(), e))
    }

    fn tree_heads(&self) -> Result<Lines<'_>, VerifyError> {
        self.lines(TREE_HEADS_FILE)
    }

    fn entries(&self) -> Result<Lines<'_>, VerifyError> {
        self.lines(ENTRIES_FILE)
    }
}

/// Writes a record directory: the header, then entry and tree-head lines as they come.
pub struct RecordWriter {
    dir: PathBuf,
    entries: BufWriter<File>,
    heads: BufWriter<File>,
}

impl RecordWriter {
    /// Create `dir` (and parents) and empty `entries.jsonl` / `tree-heads.jsonl`.
    pub fn create(dir: impl Into<PathBuf>) -> Result<Self, VerifyError> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir).map_err(|e| VerifyError::io(dir.display().to_string(), e))?;
        let open = |name: &str| {
            let p = dir.join(name);
            File::create(&p)
                .map(|f| BufWriter::with_capacity(1 << 20, f))
                .map_err(|e| VerifyError::io(p.display().to_string(), e))
        };
        Ok(Self {
            entries: open(ENTRIES_FILE)?,
            heads: open(TREE_HEADS_FILE)?,
            dir,
        })
    }

    /// Write `record.json`.
    pub fn header(&mut self, json: &str) -> Result<(), VerifyError> {
        let p = self.dir.join(HEADER_FILE);
        std::fs::write(&p, format!("{json}\n"))
            .map_err(|e| VerifyError::io(p.display().to_string(), e))
    }

    /// Append one entry line (JSON without newline).
    pub fn entry(&mut self, json: &str) -> Result<(), VerifyError> {
        writeln!(self.entries, "{json}").map_err(|e| VerifyError::io(ENTRIES_FILE, e))
    }

    /// Append one tree-head line.
    pub fn tree_head(&mut self, json: &str) -> Result<(), VerifyError> {
        writeln!(self.heads, "{json}").map_err(|e| VerifyError::io(TREE_HEADS_FILE, e))
    }

    /// Flush both files.
    pub fn finish(mut self) -> Result<PathBuf, VerifyError> {
        self.entries
            .flush()
            .map_err(|e| VerifyError::io(ENTRIES_FILE, e))?;
        self.heads
            .flush()
            .map_err(|e| VerifyError::io(TREE_HEADS_FILE, e))?;
        Ok(self.dir)
    }
}
