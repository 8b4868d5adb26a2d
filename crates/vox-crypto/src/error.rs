//! The one error type of vox-crypto.

/// Everything that can go wrong when decoding or verifying cryptographic objects.
///
/// Verification never returns `bool`: a failure says which equation or which
/// encoding was wrong, so callers (the server, the verifier) can name the culprit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// Bytes of the wrong length for a point, scalar or proof.
    #[error("{what}: expected {expected} bytes, got {got}")]
    Length {
        /// What was being decoded.
        what: &'static str,
        /// Required length.
        expected: usize,
        /// Length given.
        got: usize,
    },
    /// Not hexadecimal.
    #[error("{what}: not valid hexadecimal")]
    Hex {
        /// What was being decoded.
        what: &'static str,
    },
    /// The 32 bytes are not the canonical encoding of a Ristretto255 point.
    #[error("non-canonical or invalid Ristretto255 point encoding")]
    NonCanonicalPoint,
    /// The 32 bytes are not a canonical scalar (must be < ℓ).
    #[error("non-canonical scalar encoding (not reduced modulo the group order)")]
    NonCanonicalScalar,
    /// The identity point where it is forbidden (keys, ciphertext `a`, commitments).
    #[error("{what} must not be the identity point")]
    IdentityPoint {
        /// Which role the point plays.
        what: &'static str,
    },
    /// A proof's verification equation does not hold.
    #[error("{proof} proof does not verify: {reason}")]
    ProofInvalid {
        /// The proof kind, e.g. "zero-one", "dleq".
        proof: &'static str,
        /// Which check failed.
        reason: &'static str,
    },
    /// A batch of proofs failed; `index` is the first item that fails on its own.
    #[error("batch item {index} does not verify: {source}")]
    BatchItem {
        /// Position of the culprit in the batch.
        index: usize,
        /// Why it failed.
        #[source]
        source: Box<CryptoError>,
    },
    /// A parameter is out of the range the protocol allows.
    #[error("invalid parameter: {0}")]
    Parameter(&'static str),
    /// The bounded discrete logarithm search found no solution in range.
    #[error("discrete logarithm not found below the bound {bound}")]
    DlogNotFound {
        /// The exclusive upper bound that was searched.
        bound: u64,
    },
    /// A threshold-ceremony check failed; names the dealer and recipient where known.
    #[error("trustee {dealer}: {reason}")]
    Trustee {
        /// The trustee (1-based index) at fault.
        dealer: u32,
        /// What is wrong.
        reason: &'static str,
    },
    /// Authenticated decryption of an encrypted share failed (wrong key or tampered).
    #[error("encrypted share from trustee {dealer} to trustee {recipient} fails authentication")]
    ShareDecryption {
        /// Sender.
        dealer: u32,
        /// Recipient.
        recipient: u32,
    },
    /// Fewer decryption shares than the threshold k.
    #[error("{got} distinct decryption shares, but the threshold is {needed}")]
    TooFewShares {
        /// Distinct shares given.
        got: usize,
        /// The threshold k.
        needed: u32,
    },
    /// The same trustee index appears twice where each trustee may appear once.
    #[error("trustee {trustee} appears more than once")]
    DuplicateTrustee {
        /// The repeated trustee index.
        trustee: u32,
    },
    /// A trustee index outside 1..=n of this ceremony.
    #[error("trustee {trustee} is not a trustee of this ceremony")]
    UnknownTrustee {
        /// The unknown trustee index.
        trustee: u32,
    },
    /// A trustee's decryption share for one ciphertext is wrong (bad proof, wrong
    /// ciphertext, missing item).
    #[error("decryption share of trustee {trustee} for ciphertext {position}: {reason}")]
    InvalidDecryptionShare {
        /// The trustee (1-based index) at fault.
        trustee: u32,
        /// Position of the ciphertext in the decrypted list.
        position: usize,
        /// What is wrong.
        reason: &'static str,
    },
}

/// Short alias used throughout the crate.
pub type Result<T> = core::result::Result<T, CryptoError>;
