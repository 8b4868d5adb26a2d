//! # vox-verifier
//!
//! The independent verifier of vox records: it re-checks, from the public board alone,
//! every signed tree head, the genesis and every role-signed authority act, every
//! petition count and threshold, every ceremony message,
//! every ballot's eligibility and proofs, the encrypted tally, every decryption share and
//! the published result, in numbered steps V1…V15 ([`STEPS`], protocol-spec/10-verifier.md).
//! It depends on `vox-crypto` and `vox-protocol` only — never on the server — so an
//! observer can audit it on its own.
//!
//! ```text
//! vox-verify RECORD_DIR [--receipt FILE]... [--json] [--referendum ID] [--allow-partial]
//!            [--board-key HEX] [--role-key ROLE=HEX]... [--trust FILE]
//! vox-verify --server URL [--referendum ID] [--out DIR] [same options]
//! vox-verify monitor --server URL [--witness-key FILE] [--interval SECS] [--once]
//! ```
//!
//! ## Layout
//! - [`steps`]: the table of steps V1…V15.
//! - [`run`]: [`verify_record`], the two-pass driver over a [`RecordSource`], and
//!   [`StagedVerification`], the same two passes over a record held in memory, one
//!   call per page (a browser draws progress between calls).
//! - [`verifier`]: the incremental state machine that applies every rule to the entries.
//! - `work` (private): batch verification of ballots and petition
//!   signatures in parallel chunks, and the homomorphic sums.
//! - [`scan`]: pass 1, the last ballot of each credential.
//! - [`compact`]: the streaming RFC 6962 tree (compact stack of subtrees).
//! - [`monitor`]: the log monitor's checks (consistency, equivocation), without I/O.
//! - [`report`]: PASS / FAIL / NOT-CHECKED per step, locations, exit codes, output.
//! - [`trust`]: keys the observer pins (board, roles, witnesses) — [`Options::trust`].
//! - [`source`], `dir` (feature `fs`): where records come from.
//! - `synth` (feature `synth`): an honest-record generator for tests and benchmarks.
//!
//! ## Invariants
//! - No I/O in the core: records arrive as lines from a [`RecordSource`]; files are
//!   behind feature `fs`, HTTP and terminals in the `vox-verify` binary (feature `cli`).
//!   Without default features the library builds for wasm32 (no rayon).
//! - Randomness (batch weights) is injectable: [`Options::seed`]. Natively `None` means
//!   a fresh `OsRng` key per chunk; on wasm32 `OsRng` is not compiled at all, so a browser build needs no
//!   wasm-bindgen glue and must pass a seed (else the batches fail, never pass).
//! - Memory does not grow with the number of ballots beyond per-credential bookkeeping:
//!   entries are streamed in blocks, the Merkle tree is a compact stack, the tally is a
//!   running sum.
//! - A generator is never read from a record: the header refuses unknown fields, and G,
//!   H and the Bulletproofs generators are recomputed from their labels by `vox-crypto`.
//! - A fault is never a panic or a `bool`: it is a [`report::Failure`] naming its step and
//!   location; NOT-CHECKED is never counted as a pass.
//!
//! ## Exit status (`vox-verify`)
//! 0 every step passed (V14 may be NOT-CHECKED when no receipt was given); 1 some step
//! failed; 2 usage, I/O or download error; 3 nothing failed but a step is NOT-CHECKED
//! (e.g. a referendum without a result yet, a witness that has not cosigned the last
//! head) — `--allow-partial` turns 3 into 0.

pub mod compact;
#[cfg(feature = "fs")]
pub mod conformance;
#[cfg(feature = "fs")]
pub mod dir;
pub mod error;
pub mod monitor;
mod parallel;
pub mod report;
pub mod run;
pub mod scan;
pub mod source;
pub mod steps;
#[cfg(feature = "synth")]
pub mod synth;
mod timer;
pub mod trust;
pub mod verifier;
mod work;

pub use error::VerifyError;
pub use report::{Report, Status, Verdict};
pub use run::{verify_record, NoProgress, Progress, StagedVerification};
pub use source::{MemorySource, RecordSource};
pub use steps::{StepId, StepInfo, STEPS};
pub use trust::TrustAnchors;
pub use verifier::{NamedReceipt, NamedSignatureReceipt, Options, Seed, Verifier};
