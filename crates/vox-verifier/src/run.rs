//! Verifying a whole record: V1, then two streaming passes over the entries
//! (protocol-spec/10-verifier.md §10.1).
//!
//! - V1 reads and checks the header; without a usable header (board key) nothing else
//!   can be checked, and every other step is NOT-CHECKED.
//! - Pass 1 ([`CountedIndex`]) finds the last ballot of each credential.
//! - Pass 2 feeds blocks of entries to the [`Verifier`], announcing each signed tree head
//!   before the block that completes its size.

use vox_protocol::board::SignedTreeHead;
use vox_protocol::record::RecordHeader;

use crate::error::VerifyError;
use crate::parallel;
use crate::report::{Location, Report, Steps};
use crate::scan::CountedIndex;
use crate::source::{is_blank, Lines, RecordSource};
use crate::steps::StepId;
use crate::timer::Stopwatch;
use crate::verifier::{HeadVerdict, Options, Verifier};

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
    let header = match serde_json::from_str::<RecordHeader>(&text) {
        Ok(h) => h,
        Err(e) => {
            return Ok(unusable_header(
                format!(
                    "record.json is not a valid record header (unknown fields are refused): {e}"
                ),
                total,
            ))
        }
    };
    if let Err(e) = header.validate() {
        return Ok(unusable_header(format!("record.json: {e}"), total));
    }
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
    let mut lines = source.entries()?;
    loop {
        let block = next_block(&mut lines)?;
        if block.is_empty() {
            break;
        }
        let n = block.len() as u64;
        let upto = v.tree_size().saturating_add(n);
        heads.feed(&mut v, upto)?;
        v.push_lines(block);
        progress.advance(n);
    }
    heads.feed(&mut v, u64::MAX)?;
    progress.finish();
    let mut report = v.finish();
    report.elapsed_ms = total.elapsed();
    Ok(report)
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
