//! The one error type of vox-protocol.

use vox_crypto::CryptoError;

/// A rule of the protocol is broken. Variants name the offending object and field,
/// so the server can answer with a precise problem-details body and the verifier can
/// say which ballot, which entry or which share failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// A structural rule (shape, count, length, range of a field) is broken.
    #[error("{field}: {reason}")]
    Invalid {
        /// JSON-pointer-like path of the offending field, e.g. `answers/2/ciphertexts`.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// A cryptographic check failed at `field`.
    #[error("{field}: {source}")]
    Crypto {
        /// Where.
        field: String,
        /// Which check.
        #[source]
        source: CryptoError,
    },
    /// The credential is not on the electorate list.
    #[error("credential {0} is not in the electorate")]
    NotEligible(String),
    /// The object belongs to another referendum or petition.
    #[error("{what} belongs to another {scope}")]
    WrongScope {
        /// What.
        what: &'static str,
        /// Referendum, petition, electorate.
        scope: &'static str,
    },
    /// A signature (Ed25519 tree head, receipt, cosignature) does not verify.
    #[error("{0}: signature does not verify")]
    Signature(&'static str),
    /// A Merkle proof does not verify.
    #[error("merkle: {0}")]
    Merkle(#[from] crate::merkle::MerkleError),
    /// JSON that does not parse into the expected type.
    #[error("{what}: malformed JSON: {reason}")]
    Json {
        /// What was being parsed.
        what: &'static str,
        /// serde's message.
        reason: String,
    },
}

impl ProtocolError {
    /// Shorthand for [`ProtocolError::Invalid`].
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// Shorthand for [`ProtocolError::Crypto`].
    pub fn crypto(field: impl Into<String>, source: CryptoError) -> Self {
        Self::Crypto {
            field: field.into(),
            source,
        }
    }
}

/// Short alias.
pub type Result<T> = core::result::Result<T, ProtocolError>;
