//! # vox-protocol
//!
//! The vox data model and its rules, with no I/O: manifests, electorates, ballots,
//! petitions, ceremony messages, board entries, receipts, tallies and the election
//! record. Ballot construction (client side) and ballot validation (server and
//! verifier side) live here together, so there is one source of truth.
//!
//! ## Layout
//! - [`encoding`]: canonical binary encoding and hashes of everything signed or hashed.
//! - [`electorate`], [`manifest`]: who may vote, and what the referendum asks.
//! - [`ballot`]: encrypt + prove a ballot; validate one; Benaloh audits.
//! - [`petition`]: petitions, signatures and the lifecycle tracker.
//! - [`ceremony`]: trustees' signed key-ceremony and decryption-share messages.
//! - [`rings`]: the rings of linkable ring signatures, derived from the electorate
//!   (protocol-spec/13-ring-signatures.md §13.3).
//! - [`tally`]: homomorphic tally and results.
//! - [`merkle`]: RFC 6962 / 9162 Merkle tree, inclusion and consistency proofs.
//! - [`merkle_nodes`]: the same roots and proofs from stored perfect-subtree hashes (O(log n)).
//! - [`board`]: board entries, signed tree heads, cosignatures and receipts.
//! - [`buffered`]: a decoded JSON value kept for a second decoding (the hand-written
//!   decoder of board payloads; the browser's requests).
//! - [`roles`]: the four roles, the genesis entry, signed authority acts and key rotation.
//! - [`record`]: the election record format read by `vox-verify`.
//! - [`signature_receipt`]: a petition signature's receipt and the later check that it
//!   still counts (protocol-spec/07 §7.10).
//! - [`tlog`]: the C2SP signed-note, checkpoint, cosignature and witness formats, and a
//!   witness state machine (protocol-spec/12-witnesses.md).
//! - [`device`]: what a citizen's device checks before it encrypts (D1–D7: the election
//!   key recomputed from board leaves under a pinned board key), shared by `vox vote` and
//!   the browser (wasm), with no I/O: the caller fetches, this module judges.

pub mod api;
pub mod ballot;
pub mod board;
pub mod buffered;
pub mod ceremony;
pub mod device;
pub mod electorate;
pub mod encoding;
pub mod enrolment;
pub mod error;
pub mod manifest;
pub mod merkle;
pub mod merkle_nodes;
#[cfg(feature = "openapi")]
mod openapi;
pub mod petition;
pub mod record;
pub mod rings;
pub mod roles;
pub mod signature_receipt;
pub mod tally;
pub mod time;
pub mod tlog;

pub use error::ProtocolError;
