//! # vox-crypto
//!
//! The cryptography of vox, with no I/O, so the same code runs in the server, the
//! verifier and the citizen's browser (wasm32). The equations are in
//! `protocol-spec/03-proofs.md`; every function that implements a spec step cites it.
//!
//! ## Layout
//! - [`group`]: canonical Ristretto255 points and scalars, SHA-256 hashes.
//! - [`generators`]: nothing-up-my-sleeve generators (Pedersen H) from labels.
//! - [`transcript`]: the merlin `TranscriptProtocol` trait and every label.
//! - [`elgamal`]: exponential ElGamal; [`dlog`]: bounded discrete log for tallies.
//! - [`proofs`]: Schnorr, DLEQ, constant, zero-one (CDS), link and range proofs.
//! - [`batch`]: one equation sink for single and batch verification.
//! - [`credential`]: voter credentials and credential signatures.
//! - [`ring`]: linkable ring signatures (Triptych) for private petition signatures.
//! - [`threshold`]: the trustees' key ceremony and threshold decryption.
//!
//! ## Invariants
//! - Decoders reject non-canonical encodings and, where the role forbids it, the identity.
//! - Every challenge covers the protocol label, the manifest hash, the full statement and
//!   the commitments, in the order fixed by the spec.
//! - No generator is read from input; RNGs are parameters; secrets are zeroized.

pub mod batch;
pub mod credential;
pub mod dlog;
pub mod elgamal;
pub mod error;
pub mod generators;
pub mod group;
#[cfg(feature = "openapi")]
pub mod openapi;
pub mod proofs;
pub mod ring;
pub mod threshold;
pub mod transcript;

pub use error::CryptoError;
pub use group::{Hash32, Point, Scalar};
pub use merlin::Transcript;
