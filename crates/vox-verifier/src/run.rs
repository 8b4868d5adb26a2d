//! Verifying a whole record: V1, then two streaming passes over the entries
//! (protocol-spec/10-verifier.md §10.1).
//!
//! - V1 reads and checks the header; without a usable header (board key) nothing else
//!   can be checked, and every other step is NOT-CHECKED. (The comparison with a pinned
//!   board key, [`Options::trust`], is part of V1 too; the [`Verifier`] makes it.)
//! - Leaf 0 (the genesis) and every authority act are checked in pass 2 (V4).
//! - Pass 1 ([`CountedIndex`]) finds the last ballot of each credential.
//! - Pass 2 feeds blocks of entries to the [`Verifier`], announcing each signed tree head
//!   before the block that completes its size; the next block is decoded (in parallel)
//!   while the verifier consumes the current one.

use vox_protocol::board::SignedTreeHead;
use vox_protocol::record::RecordHeader;

use crate::error::VerifyError;
use crate::parallel;
use crate::report::{Location, Report, Steps};
use crate::scan::CountedIndex;
use crate::source::{is_blank, Lines, RecordSource};
use crate::steps::StepId;
use crate::timer::Stopwatch;
use crate::verifier::{parse_block, HeadVerdict, Options, ParsedBlock, Verifier};

/// Entries decoded per block (one parallel decoding stage, then one flush of proofs).
pub const BLOCK: usize = 2048;

/// Progress of a long run (the CLI draws bars; the library draws nothing).
pub trait Progress {
    /// A phase starts; `total` entries if known.
    fn start(&mut self, _phase: &'static str, _total: Option<u64>) {}
    /// `n` more entries done.
    fn advance(&mut self, _n: u64) {}
    /// The phase is over.
    fn finish(&mut self) {}
}

/// No progress display.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoProgress;

impl Progress for NoProgress {}

/// The next block of non-blank lines.
fn next_block(lines: &mut Lines<'_>) -> Result<Vec<String>, VerifyError> {
    let mut block = Vec::with_capacity(BLOCK);
    for line in lines.by_ref() {
        let line = line?;
        if !is_blank(&line) {
            block.push(line);
            if block.len() == BLOCK {
                break;
            }
        }
    }
    Ok(block)
}

/// Reads tree heads lazily, one ahead.
struct Heads<'a> {
    lines: Lines<'a>,
    line: usize,
    next: Option<SignedTreeHead>,
    done: bool,
}

impl<'a> Heads<'a> {
    fn new(lines: Lines<'a>) -> Self {
        Self {
            lines,
            line: 0,
            next: None,
            done: false,
        }
    }

    /// Announce every head of size ≤ `upto` to the verifier (signatures checked in
    /// parallel: a board may sign one head per write, so there can be as many heads as
    /// entries).
    fn feed(&mut self, v: &mut Verifier, upto: u64) -> Result<(), VerifyError> {
        let mut due = Vec::new();
        loop {
            if self.next.is_none() && !self.done {
                match self.lines.next() {
                    None => self.done = true,
                    Some(line) => {
                        let line = line?;
                        self.line += 1;
                        if is_blank(&line) {
                            continue;
                        }
                        match serde_json::from_str::<SignedTreeHead>(&line) {
                            Ok(h) => self.next = Some(h),
                            Err(e) => v.fail(
                                StepId::TreeHeads,
                                Location::Record {
                                    what: format!("tree-heads.jsonl line {}", self.line),
                                },
                                format!("not a signed tree head: {e}"),
                            ),
                        }
                        continue;
                    }
                }
            }
            match self.next.take() {
                Some(h) if h.head.tree_size <= upto => due.push(h),
                Some(h) => {
                    self.next = Some(h);
                    break;
                }
                None => break,
            }
        }
        let board = *v.board();
        let checked = parallel::map(due, |h| {
            let verdict = HeadVerdict::check(&board, &h);
            (h, verdict)
        });
        for (h, verdict) in checked {
            v.queue_checked_tree_head(&h, verdict);
        }
        Ok(())
    }
}

/// V1: parse and validate the header text, or the reason it is unusable.
fn read_header(text: &str) -> Result<RecordHeader, String> {
    let header = serde_json::from_str::<RecordHeader>(text).map_err(|e| {
        format!("record.json is not a valid record header (unknown fields are refused): {e}")
    })?;
    header.validate().map_err(|e| format!("record.json: {e}"))?;
    Ok(header)
}

/// Verify a whole record. `Err` only when the record cannot be read; every fault in
/// the record is in the report.
pub fn verify_record(
    source: &dyn RecordSource,
    options: Options,
    progress: &mut dyn Progress,
) -> Result<Report, VerifyError> {
    let total = Stopwatch::start();
    // V1: the header.
    let sw = Stopwatch::start();
    let text = source.header()?;
    let header = match read_header(&text) {
        Ok(h) => h,
        Err(why) => return Ok(unusable_header(why, total)),
    };
    let expected = header.tree_size;
    let v1_time = sw.elapsed();

    // Pass 1: the last ballot of every credential.
    let p1 = Stopwatch::start();
    progress.start("pass 1/2: indexing ballots", Some(expected));
    let mut index = CountedIndex::new();
    let mut lines = source.entries()?;
    loop {
        let block = next_block(&mut lines)?;
        if block.is_empty() {
            break;
        }
        progress.advance(block.len() as u64);
        index.observe_block(block);
    }
    drop(lines);
    progress.finish();

    let mut v = Verifier::new(header, options, Some(index));
    v.record_checked(v1_time);
    v.charge(StepId::Tally, p1);

    // Pass 2: everything else.
    progress.start("pass 2/2: verifying", Some(expected));
    let mut heads = Heads::new(source.tree_heads()?);
    heads.feed(&mut v, 0)?;
    // Pipelined: while this thread applies block k to the verifier (the sequential part:
    // Merkle tree, bookkeeping, then the parallel proof checks), block k + 1 is decoded
    // on the pool. Decoding is a pure function of the lines, so the order in which the
    // verifier sees entries, and every check, is unchanged.
    let mut lines = source.entries()?;
    let mut pending: Option<ParsedBlock> = None;
    loop {
        let block = next_block(&mut lines)?;
        let next = (!block.is_empty()).then_some(block);
        let queued = pending.as_ref().map_or(0, |p| p.len() as u64);
        let first = v.tree_size().saturating_add(queued);
        let Some(current) = pending.take() else {
            match next {
                Some(b) => {
                    pending = Some(parse_block(first, b));
                    continue;
                }
                None => break,
            }
        };
        let n = current.len() as u64;
        let upto = v.tree_size().saturating_add(n);
        heads.feed(&mut v, upto)?;
        pending = alongside(next.map(|b| move || parse_block(first, b)), || {
            v.push_block(current)
        });
        progress.advance(n);
    }
    heads.feed(&mut v, u64::MAX)?;
    progress.finish();
    let mut report = v.finish();
    report.elapsed_ms = total.elapsed();
    Ok(report)
}

/// Run `background` (if any) on another thread while `foreground` runs on this one, and
/// return its result. A panic there is a panic here (nothing in the verifier panics on
/// input; the lints deny it).
#[cfg(all(feature = "parallel", not(target_arch = "wasm32")))]
fn alongside<T: Send>(
    background: Option<impl FnOnce() -> T + Send>,
    foreground: impl FnOnce(),
) -> Option<T> {
    std::thread::scope(|s| {
        let handle = background.map(|f| s.spawn(f));
        foreground();
        handle.map(|h| match h.join() {
            Ok(t) => t,
            Err(panic) => std::panic::resume_unwind(panic),
        })
    })
}

/// Without threads: `foreground`, then `background`.
#[cfg(not(all(feature = "parallel", not(target_arch = "wasm32"))))]
fn alongside<T>(background: Option<impl FnOnce() -> T>, foreground: impl FnOnce()) -> Option<T> {
    foreground();
    background.map(|f| f())
}

/// The report when the header is unusable: V1 fails, nothing else can be checked.
fn unusable_header(message: String, total: Stopwatch) -> Report {
    let mut steps = Steps::new();
    steps.get(StepId::Record).checked = 1;
    steps.get(StepId::Record).fail(
        Location::Record {
            what: "record.json".into(),
        },
        message,
    );
    for s in StepId::ALL.into_iter().skip(1) {
        steps
            .get(s)
            .not_checked
            .push("the record header is unusable (V1)".into());
    }
    Report {
        tree_size: 0,
        log_id: None,
        steps: steps
            .into_states()
            .into_iter()
            .map(|s| s.finish("items"))
            .collect(),
        referendums: Vec::new(),
        petitions: Vec::new(),
        elapsed_ms: total.elapsed(),
    }
}

/// The two passes of [`verify_record`] over a record held in memory, driven one call at
/// a time so that a caller without threads (a browser page) can draw progress and stay
/// responsive between calls. Same checks, same report:
///
/// 1. [`StagedVerification::new`]: V1 on the header; the tree heads are kept.
/// 2. [`StagedVerification::add_entries`], once per page of entry lines, in log order:
///    pass 1 (the last ballot of each credential); the lines are kept for pass 2.
/// 3. [`StagedVerification::verify_some`] until it reports nothing left: pass 2.
/// 4. [`StagedVerification::finish`]: the report (it runs whatever pass 2 has left).
///
/// Memory holds the whole record's entry text (a browser already downloaded it), or,
/// with [`StagedVerification::new_streaming`], 32 bytes per entry: the caller reads the
/// entries again for pass 2 ([`StagedVerification::verify_entries`]).
pub struct StagedVerification {
    total: Stopwatch,
    stage: Stage,
}

/// Where a [`StagedVerification`] is.
enum Stage {
    /// V1 failed: the report is ready.
    Unusable(Box<Report>),
    /// Pass 1: entries arrive.
    Indexing(Box<Indexing>),
    /// Pass 2: the verifier consumes the kept entries.
    Verifying(Box<Verifying>),
    /// Only while moving between stages.
    Moving,
}

struct Indexing {
    header: RecordHeader,
    options: Options,
    v1_time: core::time::Duration,
    p1: Stopwatch,
    index: CountedIndex,
    tree_heads: Vec<String>,
    entries: Vec<String>,
    /// How pass 2 gets the entries: from `entries` (kept), or again from the caller.
    pass_two: PassTwo,
    /// Non-blank entry lines received in pass 1.
    received: u64,
}

/// Where pass 2 of a [`StagedVerification`] reads the entries.
enum PassTwo {
    /// From the lines kept in pass 1 ([`StagedVerification::new`]).
    Kept,
    /// From the caller again ([`StagedVerification::new_streaming`]): pass 1 keeps only
    /// the SHA-256 of each line, and pass 2 refuses a line that differs, so that a
    /// source cannot show pass 1 (which decides each credential's last ballot) another
    /// record than the one pass 2 checks against the signed tree heads.
    Streamed(Vec<[u8; 32]>),
}

fn line_digest(line: &str) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(line.as_bytes()).into()
}

struct Verifying {
    v: Verifier,
    heads: Heads<'static>,
    entries: std::vec::IntoIter<String>,
    /// The pass-1 digests of a streaming session (empty otherwise).
    digests: Vec<[u8; 32]>,
    done: u64,
    total: u64,
}

impl StagedVerification {
    /// Start: V1 on `header` (the text of `record.json`); `tree_heads` are the lines of
    /// `tree-heads.jsonl` (ascending by size).
    pub fn new(header: &str, tree_heads: Vec<String>, options: Options) -> Self {
        Self::start(header, tree_heads, options, PassTwo::Kept)
    }

    /// As [`Self::new`], but pass 1 does not keep the entry text: the caller reads the
    /// record twice (a browser downloads its pages again) and hands pass 2 the same lines
    /// with [`Self::verify_entries`]. Memory holds 32 bytes per entry instead of its
    /// text. Pass 2 compares each line with the SHA-256 pass 1 saw: a line that differs
    /// stops the verification with an error.
    pub fn new_streaming(header: &str, tree_heads: Vec<String>, options: Options) -> Self {
        Self::start(header, tree_heads, options, PassTwo::Streamed(Vec::new()))
    }

    fn start(header: &str, tree_heads: Vec<String>, options: Options, pass_two: PassTwo) -> Self {
        let total = Stopwatch::start();
        let sw = Stopwatch::start();
        let stage = match read_header(header) {
            Err(why) => Stage::Unusable(Box::new(unusable_header(why, total))),
            Ok(header) => Stage::Indexing(Box::new(Indexing {
                header,
                options,
                v1_time: sw.elapsed(),
                p1: Stopwatch::start(),
                index: CountedIndex::new(),
                tree_heads,
                entries: Vec::new(),
                pass_two,
                received: 0,
            })),
        };
        Self { total, stage }
    }

    /// The tree size the header announces (0 if it is unusable): how many entries
    /// [`Self::add_entries`] should receive.
    pub fn expected_entries(&self) -> u64 {
        match &self.stage {
            Stage::Indexing(i) => i.header.tree_size,
            Stage::Verifying(v) => v.total,
            Stage::Unusable(_) | Stage::Moving => 0,
        }
    }

    /// Pass 1 over the next entry lines (blank lines are skipped). Ignored once pass 2
    /// has started or when the header is unusable.
    pub fn add_entries(&mut self, lines: Vec<String>) {
        if let Stage::Indexing(i) = &mut self.stage {
            let lines: Vec<String> = lines.into_iter().filter(|l| !is_blank(l)).collect();
            i.received = i.received.saturating_add(lines.len() as u64);
            match &mut i.pass_two {
                PassTwo::Kept => i.entries.extend(lines.iter().cloned()),
                PassTwo::Streamed(digests) => digests.extend(lines.iter().map(|l| line_digest(l))),
            }
            i.index.observe_block(lines);
        }
    }

    /// Pass 2 over up to `max` more entries (at least one block of 1 when `max` is 0).
    /// Returns `(verified so far, total entries)`; pass 2 is over when they are equal.
    /// The first call ends pass 1: later [`Self::add_entries`] are ignored.
    pub fn verify_some(&mut self, max: usize) -> Result<(u64, u64), VerifyError> {
        self.start_pass_two()?;
        match &mut self.stage {
            Stage::Verifying(s) if !s.digests.is_empty() => Err(VerifyError::Malformed {
                what: "record",
                reason: "a streaming verification reads pass 2 with verify_entries".into(),
            }),
            Stage::Verifying(s) => {
                let block: Vec<String> = s.entries.by_ref().take(max.max(1)).collect();
                if !block.is_empty() {
                    let n = block.len() as u64;
                    let upto = s.v.tree_size().saturating_add(n);
                    s.heads.feed(&mut s.v, upto)?;
                    s.v.push_lines(block);
                    s.done = s.done.saturating_add(n);
                }
                Ok((s.done, s.total))
            }
            Stage::Unusable(_) | Stage::Indexing(_) | Stage::Moving => Ok((0, 0)),
        }
    }

    /// Pass 2 of a streaming session ([`Self::new_streaming`]) over the next entry lines,
    /// read again by the caller: the same non-blank lines as pass 1 received, in the same
    /// order (blank lines are skipped). Returns `(verified so far, total entries)`. The
    /// first call ends pass 1. A line whose SHA-256 is not the one pass 1 saw at its
    /// index, or a line past the end, is an error (the source changed the record between
    /// the two reads): nothing of it is verified.
    pub fn verify_entries(&mut self, lines: Vec<String>) -> Result<(u64, u64), VerifyError> {
        self.start_pass_two()?;
        match &mut self.stage {
            Stage::Verifying(s) => {
                let block: Vec<String> = lines.into_iter().filter(|l| !is_blank(l)).collect();
                if block.is_empty() {
                    return Ok((s.done, s.total));
                }
                for (offset, line) in block.iter().enumerate() {
                    let index = s.done.saturating_add(offset as u64);
                    let seen = usize::try_from(index)
                        .ok()
                        .and_then(|i| s.digests.get(i))
                        .ok_or_else(|| VerifyError::Malformed {
                            what: "record",
                            reason: format!(
                                "pass 2 received entry {index}, but pass 1 saw only {} entries",
                                s.total
                            ),
                        })?;
                    if *seen != line_digest(line) {
                        return Err(VerifyError::Malformed {
                            what: "record",
                            reason: format!(
                                "entry {index} differs between the two reads of the record"
                            ),
                        });
                    }
                }
                let n = block.len() as u64;
                let upto = s.v.tree_size().saturating_add(n);
                s.heads.feed(&mut s.v, upto)?;
                s.v.push_lines(block);
                s.done = s.done.saturating_add(n);
                Ok((s.done, s.total))
            }
            Stage::Unusable(_) | Stage::Indexing(_) | Stage::Moving => Ok((0, 0)),
        }
    }

    /// The report: finishes pass 2 if needed.
    pub fn finish(mut self) -> Result<Report, VerifyError> {
        self.start_pass_two()?;
        match std::mem::replace(&mut self.stage, Stage::Moving) {
            Stage::Verifying(s) if s.done < s.total && !s.digests.is_empty() => {
                Err(VerifyError::Malformed {
                    what: "record",
                    reason: format!(
                        "pass 2 received {} of the {} entries pass 1 saw",
                        s.done, s.total
                    ),
                })
            }
            Stage::Verifying(mut s) => {
                loop {
                    let block: Vec<String> = s.entries.by_ref().take(BLOCK).collect();
                    if block.is_empty() {
                        break;
                    }
                    let upto = s.v.tree_size().saturating_add(block.len() as u64);
                    s.heads.feed(&mut s.v, upto)?;
                    s.v.push_lines(block);
                }
                s.heads.feed(&mut s.v, u64::MAX)?;
                let mut report = s.v.finish();
                report.elapsed_ms = self.total.elapsed();
                Ok(report)
            }
            Stage::Unusable(r) => Ok(*r),
            Stage::Indexing(_) | Stage::Moving => Err(VerifyError::Malformed {
                what: "record",
                reason: "the staged verification lost its state".into(),
            }),
        }
    }

    /// Pass 1 → pass 2 (once).
    fn start_pass_two(&mut self) -> Result<(), VerifyError> {
        if !matches!(self.stage, Stage::Indexing(_)) {
            return Ok(());
        }
        let Stage::Indexing(i) = std::mem::replace(&mut self.stage, Stage::Moving) else {
            return Ok(());
        };
        let i = *i;
        let total = i.received;
        let digests = match i.pass_two {
            PassTwo::Kept => Vec::new(),
            PassTwo::Streamed(d) => d,
        };
        let mut v = Verifier::new(i.header, i.options, Some(i.index));
        v.record_checked(i.v1_time);
        v.charge(StepId::Tally, i.p1);
        let lines: Lines<'static> = Box::new(i.tree_heads.into_iter().map(Ok));
        let mut heads = Heads::new(lines);
        heads.feed(&mut v, 0)?;
        self.stage = Stage::Verifying(Box::new(Verifying {
            v,
            heads,
            entries: i.entries.into_iter(),
            digests,
            done: 0,
            total,
        }));
        Ok(())
    }
}
