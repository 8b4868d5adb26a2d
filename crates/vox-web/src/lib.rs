//! # vox-web
//!
//! The citizen's browser client: the same `vox-crypto` / `vox-protocol` code the server
//! and the verifier run, compiled to `wasm32-unknown-unknown`, behind a small
//! JSON-in / JSON-out ABI over linear memory (no wasm-bindgen), plus the static pages in
//! `static/` that drive it.
//!
//! ## ABI (what `static/js/vox-worker.js` calls)
//! The pages never call the wasm on their main thread: `static/js/vox.js` posts each
//! request to a Web Worker (`static/js/vox-worker.js`), which owns the instance, so that
//! proving a ballot or verifying a record never blocks the page (issue 15 §4).
//!
//! - `vox_alloc(len) -> ptr`: a zeroed buffer of `len` bytes the page writes JSON into.
//! - `vox_free(ptr, len)`: release a buffer (inputs and results alike).
//! - `vox_seed(ptr, len) -> 0 | -1`: mix 32+ bytes from `crypto.getRandomValues` into
//!   the ChaCha20 CSPRNG. The page calls it before every randomized call.
//! - `vox_<fn>(ptr, len) -> ptr`: read UTF-8 JSON from the input buffer, return a result
//!   buffer: 4 bytes little-endian length, then `{"ok": …}` or `{"error": "…"}`.
//!   Functions: [`board_key`], [`device_plan`] and [`check_election_key`] (the device
//!   check before encrypting, protocol-spec/04-ballots.md §4.7: the same
//!   `vox_protocol::device` code as `vox vote`), [`encrypt_ballot`] (which runs that
//!   check itself and encrypts only to the key it recomputes), [`audit_opening`],
//!   [`sign_petition`], [`propose_petition`], [`credential_public_key`],
//!   [`make_credential`], [`verify_receipt`], and the verifier on a downloaded record
//!   ([`verify`]): [`verify_record`] at once, or [`verify_begin`] /
//!   [`verify_feed`] (per page) / [`verify_run`] (until done) / [`verify_finish`] for a
//!   progress bar, or, streaming (`"stream": true`), pass 2 through [`verify_stream`]
//!   with the pages downloaded again instead of [`verify_run`]. Its batch weights come from the same seeded ChaCha20 (see [`verify`]).
//!   And the ring signer of ring-signed petitions ([`ring`], protocol-spec/07 §7.10):
//!   [`ring_begin`] (pinned board key, signed tree head) / [`ring_feed`] (per page of
//!   board entries) / [`ring_derive`] (the entries hash to the head; the petition's rings
//!   and this credential's) / [`ring_sign`] (the proof), and, after the same begin and
//!   feed, the anonymous ballots of protocol-spec/04 §4.10: [`ring_referendum_derive`]
//!   (the referendum's rings; the manifest must be the one created on that board) /
//!   [`ring_encrypt_ballot`] (encrypted, proved and ring-signed), and
//!   [`ring_referendum_tag`] (a credential's linking tag, for the latest-ballot lookup);
//!   [`ring_check_receipt`] checks the answer to a ring signature as a receipt and
//!   returns the receipt file to save (`SignatureReceipt`, the file `vox voter sign`
//!   writes). That file is checked later ([`signature_receipt`], protocol-spec/07 §7.10
//!   R1–R6, in `vox_receipt.wasm`, see below): [`signature_receipt_begin`]
//!   (the receipt, the pinned key, the latest head and the consistency proof) /
//!   [`signature_receipt_feed`] (per page of the entries from the receipt's leaf on) /
//!   [`signature_receipt_finish`] (the entries hash to the latest head; the standing).
//!
//! ## Four bundles (cargo features `client`, `verify`, `ring` and `receipt`, all on by default)
//! The exports above are split by feature, so that each page downloads only the code it
//! runs (issue 15 §4, size): `scripts/build-web.sh` builds `vox_web.wasm` with
//! `--no-default-features --features client` (every function but the record verifier
//! and the ring signer: the voting, petition, enrolment and receipt pages),
//! `vox_verify.wasm` with `--features verify` (the [`verify`] exports only: the results
//! page) and `vox_ring.wasm` with `--features ring` (the [`ring`] exports and its own
//! `vox_board_key`: fetched only when a citizen signs a ring-signed petition or votes in
//! an anonymous referendum; the
//! Triptych prover would take `vox_web.wasm` over its 300 KB budget) and
//! `vox_receipt.wasm` with `--features receipt` (the [`signature_receipt`] exports and
//! its own `vox_board_key`: fetched by the receipt page only for a petition signature's
//! receipt; in `vox_web.wasm` they took it from 291,750 to 300,714 B gzipped, over its
//! 300 KB budget, the decoders of the receipt's types being most of it). All have
//! `vox_alloc`, `vox_free`, `vox_seed` and `vox_version`. The Rust functions themselves
//! are compiled in either case (native tests and the rlib see all of them); only the
//! `#[no_mangle]` exports are gated, and link-time optimisation drops what no export
//! reaches.
//!
//! ## Why a seeded ChaCha20 and not `OsRng`
//! `wasm32-unknown-unknown` has no operating system: `OsRng` there needs `getrandom`'s
//! wasm-bindgen glue, which this build deliberately does not use. The page's
//! `crypto.getRandomValues` (the browser's CSPRNG) supplies the entropy instead: every
//! call to [`seed`] hashes 32+ fresh bytes from it together with output of the current
//! generator into a new ChaCha20 key, so the state only ever gains entropy. Nothing is
//! randomized before the first seed: those calls fail with an error.
//!
//! ## Why there is no `unsafe` block here
//! Buffers are `Vec<u8>`s owned by a registry keyed by their address. The page writes
//! into a buffer between calls (as a C caller would write into memory it was handed);
//! Rust reads it back through the registry, never through a raw pointer. The only thing rustc's
//! `unsafe_code` lint flags is `#[no_mangle]` on the exports, allowed in `ffi` alone.
//!
//! ## Invariants
//! - The credential text is passed in, used, and dropped (zeroized by `Credential`); it
//!   never leaves the page. Only [`make_credential`] (a credential drawn on this device,
//!   for the citizen to keep) and [`credential_public_key`] (the text the page passed
//!   in, normalised) return it, to the page that called; freed buffers are wiped.
//! - No ballot (cast or audited) is encrypted to a key the device check (D1–D7 of
//!   protocol-spec/04-ballots.md §4.7) did not recompute from board leaves under the
//!   pinned board key: [`encrypt_ballot`] accepts no key, only that evidence.
//! - No function panics on input: every failure is `{"error": …}`.

pub mod api;
// `#[no_mangle]` counts as unsafe code for rustc (duplicate symbol names across
// libraries are the linker's business). The exports need it; this module holds only
// them and no `unsafe` block.
#[allow(unsafe_code)]
mod ffi;
pub mod ring;
mod rng;
pub mod signature_receipt;
pub mod verify;

pub use api::{
    audit_opening, board_key, check_election_key, credential_file_text, credential_public_key,
    device_plan, encrypt_ballot, make_credential, propose_petition, sign_petition, verify_receipt,
};
pub use ffi::{vox_alloc, vox_free, vox_seed, vox_version};
#[cfg(feature = "client")]
pub use ffi::{
    vox_audit_opening, vox_board_key, vox_check_election_key, vox_credential_public_key,
    vox_device_plan, vox_encrypt_ballot, vox_make_credential, vox_propose_petition,
    vox_sign_petition, vox_verify_receipt,
};
#[cfg(feature = "ring")]
pub use ffi::{
    vox_ring_begin, vox_ring_check_receipt, vox_ring_derive, vox_ring_encrypt_ballot,
    vox_ring_feed, vox_ring_referendum_derive, vox_ring_referendum_tag, vox_ring_sign,
};
#[cfg(feature = "receipt")]
pub use ffi::{
    vox_signature_receipt_begin, vox_signature_receipt_feed, vox_signature_receipt_finish,
};
#[cfg(feature = "verify")]
pub use ffi::{
    vox_verify_begin, vox_verify_feed, vox_verify_finish, vox_verify_record, vox_verify_run,
    vox_verify_stream,
};
pub use ring::{
    ring_begin, ring_check_receipt, ring_derive, ring_encrypt_ballot, ring_feed,
    ring_referendum_derive, ring_referendum_tag, ring_sign,
};
pub use rng::{fill, seed, FillError};
pub use signature_receipt::{
    signature_receipt_begin, signature_receipt_feed, signature_receipt_finish,
};
pub use verify::{
    verify_begin, verify_feed, verify_finish, verify_record, verify_run, verify_stream,
};
