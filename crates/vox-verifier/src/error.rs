//! The one error type of vox-verifier.
//!
//! Faults *in a record* are not errors: they are [`crate::report::Failure`]s in the
//! report, each naming its step and location. A [`VerifyError`] means the verifier could
//! not run (unreadable input) or, for the monitor, that the board misbehaved.

use vox_protocol::merkle::{MerkleError, NodeHash};
use vox_protocol::ProtocolError;

/// Why the verifier or the monitor stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// Reading the record (or writing a downloaded one) failed.
    #[error("{what}: {source}")]
    Io {
        /// Which file or stream.
        what: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A record source could not deliver its data (e.g. a download failed).
    #[error("record source: {0}")]
    Source(String),
    /// A monitor state or a server answer does not parse.
    #[error("{what}: {reason}")]
    Malformed {
        /// What was being read.
        what: &'static str,
        /// Why it is refused.
        reason: String,
    },
    /// A signed tree head or a cosignature does not verify.
    #[error("tree head of size {tree_size}: {source}")]
    TreeHeadSignature {
        /// Size of the head.
        tree_size: u64,
        /// Which signature.
        #[source]
        source: ProtocolError,
    },
    /// The board signed a smaller tree after a larger one: history was rewritten.
    #[error("the log shrank from {old_size} to {new_size} entries")]
    LogShrank {
        /// Size seen before.
        old_size: u64,
        /// Size now.
        new_size: u64,
    },
    /// Two signed heads of the same size with different roots: equivocation.
    #[error(
        "equivocation: two signed tree heads of size {tree_size} with roots {first} and {second}{evidence}"
    )]
    Equivocation {
        /// The size.
        tree_size: u64,
        /// Root seen first.
        first: NodeHash,
        /// Root seen now.
        second: NodeHash,
        /// Both signed checkpoint notes when both are at hand ("; evidence, …" and the
        /// two notes), else empty: what a journalist or a witness needs to prove it.
        evidence: String,
    },
    /// A consistency proof between two heads does not verify.
    #[error("tree heads {old_size} → {new_size} are not consistent: {source}")]
    Inconsistent {
        /// Earlier size.
        old_size: u64,
        /// Later size.
        new_size: u64,
        /// Why.
        #[source]
        source: MerkleError,
    },
    /// The root recomputed from the entries differs from the signed root.
    #[error("the entries up to {tree_size} give root {computed}, the signed head says {signed}")]
    RootMismatch {
        /// Tree size.
        tree_size: u64,
        /// Recomputed root.
        computed: NodeHash,
        /// Signed root.
        signed: NodeHash,
    },
    /// The synthetic-record generator could not build a record (feature `synth`).
    #[error("synthetic record: {0}")]
    Synth(String),
    /// The server delivered entries that do not continue the log where expected.
    #[error("expected entry {expected}, got {got}")]
    EntryGap {
        /// Next index expected.
        expected: u64,
        /// Index delivered.
        got: u64,
    },
}

impl VerifyError {
    /// Shorthand for [`VerifyError::Io`].
    pub fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            what: what.into(),
            source,
        }
    }
}
