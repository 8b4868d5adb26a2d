//! The `extern "C"` exports: buffers in linear memory, JSON in, JSON out.
//!
//! Addresses are `usize` (i32 in wasm32). A result buffer holds a 4-byte little-endian
//! length followed by that many bytes of JSON; the caller frees it with
//! `vox_free(ptr, 4 + length)`. Input buffers are not consumed: the caller frees them too.

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::api;

/// Live buffers, keyed by the address of their first byte. A `Vec` in here is never
/// resized, so its address stays valid until `vox_free` removes it.
static BUFFERS: Mutex<BTreeMap<usize, Vec<u8>>> = Mutex::new(BTreeMap::new());

fn register(mut v: Vec<u8>) -> usize {
    let addr = v.as_mut_ptr() as usize;
    match BUFFERS.lock() {
        Ok(mut map) => {
            map.insert(addr, v);
            addr
        }
        Err(_) => 0,
    }
}

/// The `getrandom` backend of the wasm build: the page-seeded ChaCha20 (see
/// [`crate::rng::fill`]), so that no dependency pulls in wasm-bindgen for `OsRng`.
#[cfg(target_arch = "wasm32")]
fn getrandom_from_page(dest: &mut [u8]) -> Result<(), getrandom::Error> {
    crate::rng::fill(dest).map_err(|e| {
        let code = match e {
            crate::rng::FillError::NotSeeded => 1,
            crate::rng::FillError::Busy => 2,
        };
        // CUSTOM_START + 1 or + 2 is never 0; the fallback is UNSUPPORTED.
        std::num::NonZeroU32::new(getrandom::Error::CUSTOM_START + code)
            .map_or(getrandom::Error::UNSUPPORTED, getrandom::Error::from)
    })
}

#[cfg(target_arch = "wasm32")]
getrandom::register_custom_getrandom!(getrandom_from_page);

/// Allocate a zeroed buffer of `len` bytes (at least 1) and return its address
/// (0 on failure).
#[no_mangle]
pub extern "C" fn vox_alloc(len: usize) -> usize {
    register(vec![0u8; len.max(1)])
}

/// Free a buffer returned by `vox_alloc` or by a `vox_*` function. Unknown addresses
/// are ignored.
#[no_mangle]
pub extern "C" fn vox_free(ptr: usize, _len: usize) {
    if let Ok(mut map) = BUFFERS.lock() {
        if let Some(mut buf) = map.remove(&ptr) {
            // Results may hold a credential (`vox_make_credential`): wipe before release.
            buf.fill(0);
            drop(std::hint::black_box(buf));
        }
    }
}

/// A copy of the first `len` bytes of the buffer at `ptr`.
fn read(ptr: usize, len: usize) -> Option<Vec<u8>> {
    let map = BUFFERS.lock().ok()?;
    map.get(&ptr)?.get(..len).map(<[u8]>::to_vec)
}

/// Store `json` as a length-prefixed result buffer.
#[cfg_attr(
    not(any(
        feature = "client",
        feature = "verify",
        feature = "ring",
        feature = "receipt"
    )),
    allow(dead_code)
)]
fn result(json: String) -> usize {
    let bytes = json.into_bytes();
    let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    let mut out = Vec::with_capacity(bytes.len() + 4);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&bytes);
    register(out)
}

#[cfg_attr(
    not(any(
        feature = "client",
        feature = "verify",
        feature = "ring",
        feature = "receipt"
    )),
    allow(dead_code)
)]
fn call(ptr: usize, len: usize, f: fn(&str) -> String) -> usize {
    let out = match read(ptr, len) {
        None => api::error_json("input buffer: unknown address or length past its end"),
        Some(bytes) => match std::str::from_utf8(&bytes) {
            Err(_) => api::error_json("input is not UTF-8"),
            // Natively a panic would be caught here; in wasm32 panics abort (trap) and the
            // page re-instantiates the module. Library code is written not to panic.
            Ok(s) => std::panic::catch_unwind(|| f(s))
                .unwrap_or_else(|_| api::error_json("internal error (panic)")),
        },
    };
    result(out)
}

/// Mix 32+ random bytes from the page into the CSPRNG: 0 on success, -1 on error.
#[no_mangle]
pub extern "C" fn vox_seed(ptr: usize, len: usize) -> i32 {
    match read(ptr, len) {
        Some(bytes) if crate::rng::seed(&bytes).is_ok() => 0,
        _ => -1,
    }
}

/// Encrypt and prove a ballot: see [`api::encrypt_ballot`].
#[cfg(feature = "client")]
#[no_mangle]
pub extern "C" fn vox_encrypt_ballot(ptr: usize, len: usize) -> usize {
    call(ptr, len, api::encrypt_ballot)
}

/// The board key a server presents, checked against its log id: see [`api::board_key`].
#[cfg(feature = "client")]
#[no_mangle]
pub extern "C" fn vox_board_key(ptr: usize, len: usize) -> usize {
    call(ptr, len, api::board_key)
}

/// The board leaves to fetch for the device check: see [`api::device_plan`].
#[cfg(feature = "client")]
#[no_mangle]
pub extern "C" fn vox_device_plan(ptr: usize, len: usize) -> usize {
    call(ptr, len, api::device_plan)
}

/// The device check D1–D7 alone: see [`api::check_election_key`].
#[cfg(feature = "client")]
#[no_mangle]
pub extern "C" fn vox_check_election_key(ptr: usize, len: usize) -> usize {
    call(ptr, len, api::check_election_key)
}

/// Check an opened (audited) ballot and decrypt it: see [`api::audit_opening`].
#[cfg(feature = "client")]
#[no_mangle]
pub extern "C" fn vox_audit_opening(ptr: usize, len: usize) -> usize {
    call(ptr, len, api::audit_opening)
}

/// Sign or withdraw from a petition: see [`api::sign_petition`].
#[cfg(feature = "client")]
#[no_mangle]
pub extern "C" fn vox_sign_petition(ptr: usize, len: usize) -> usize {
    call(ptr, len, api::sign_petition)
}

/// Propose a petition (the proposal signed by the proposer): see
/// [`api::propose_petition`].
#[cfg(feature = "client")]
#[no_mangle]
pub extern "C" fn vox_propose_petition(ptr: usize, len: usize) -> usize {
    call(ptr, len, api::propose_petition)
}

/// The public key of a credential: see [`api::credential_public_key`].
#[cfg(feature = "client")]
#[no_mangle]
pub extern "C" fn vox_credential_public_key(ptr: usize, len: usize) -> usize {
    call(ptr, len, api::credential_public_key)
}

/// Draw a credential and its enrolment request: see [`api::make_credential`].
#[cfg(feature = "client")]
#[no_mangle]
pub extern "C" fn vox_make_credential(ptr: usize, len: usize) -> usize {
    call(ptr, len, api::make_credential)
}

/// Verify a receipt against the current tree head: see [`api::verify_receipt`].
#[cfg(feature = "client")]
#[no_mangle]
pub extern "C" fn vox_verify_receipt(ptr: usize, len: usize) -> usize {
    call(ptr, len, api::verify_receipt)
}

/// Start checking a petition signature's receipt (R1–R3): see
/// [`crate::signature_receipt::signature_receipt_begin`].
#[cfg(feature = "receipt")]
#[no_mangle]
pub extern "C" fn vox_signature_receipt_begin(ptr: usize, len: usize) -> usize {
    call(ptr, len, crate::signature_receipt::signature_receipt_begin)
}

/// Feed a page of the entries from the receipt's leaf on (R4): see
/// [`crate::signature_receipt::signature_receipt_feed`].
#[cfg(feature = "receipt")]
#[no_mangle]
pub extern "C" fn vox_signature_receipt_feed(ptr: usize, len: usize) -> usize {
    call(ptr, len, crate::signature_receipt::signature_receipt_feed)
}

/// Conclude a signature receipt's check (R5, R6: the standing): see
/// [`crate::signature_receipt::signature_receipt_finish`].
#[cfg(feature = "receipt")]
#[no_mangle]
pub extern "C" fn vox_signature_receipt_finish(ptr: usize, len: usize) -> usize {
    call(ptr, len, crate::signature_receipt::signature_receipt_finish)
}

/// Verify a whole downloaded record: see [`crate::verify::verify_record`].
#[cfg(feature = "verify")]
#[no_mangle]
pub extern "C" fn vox_verify_record(ptr: usize, len: usize) -> usize {
    call(ptr, len, crate::verify::verify_record)
}

/// Start a staged verification (header, tree heads): see [`crate::verify::verify_begin`].
#[cfg(feature = "verify")]
#[no_mangle]
pub extern "C" fn vox_verify_begin(ptr: usize, len: usize) -> usize {
    call(ptr, len, crate::verify::verify_begin)
}

/// Feed a page of entries (pass 1): see [`crate::verify::verify_feed`].
#[cfg(feature = "verify")]
#[no_mangle]
pub extern "C" fn vox_verify_feed(ptr: usize, len: usize) -> usize {
    call(ptr, len, crate::verify::verify_feed)
}

/// Verify some more entries (pass 2): see [`crate::verify::verify_run`].
#[cfg(feature = "verify")]
#[no_mangle]
pub extern "C" fn vox_verify_run(ptr: usize, len: usize) -> usize {
    call(ptr, len, crate::verify::verify_run)
}

/// Pass 2 of a streaming verification (a page downloaded again): see
/// [`crate::verify::verify_stream`].
#[cfg(feature = "verify")]
#[no_mangle]
pub extern "C" fn vox_verify_stream(ptr: usize, len: usize) -> usize {
    call(ptr, len, crate::verify::verify_stream)
}

/// The report of the staged verification: see [`crate::verify::verify_finish`].
#[cfg(feature = "verify")]
#[no_mangle]
pub extern "C" fn vox_verify_finish(ptr: usize, len: usize) -> usize {
    call(ptr, len, crate::verify::verify_finish)
}

/// The board key a server presents, checked against its log id (the ring bundle's own
/// copy, so that signing a ring-signed petition needs no other bundle): see
/// [`api::board_key`].
#[cfg(all(feature = "ring", not(feature = "client")))]
#[no_mangle]
pub extern "C" fn vox_board_key(ptr: usize, len: usize) -> usize {
    call(ptr, len, api::board_key)
}

/// The board key a server presents, checked against its log id (the receipt bundle's
/// own copy, so that checking a signature receipt needs no other bundle): see
/// [`api::board_key`].
#[cfg(all(feature = "receipt", not(feature = "client"), not(feature = "ring")))]
#[no_mangle]
pub extern "C" fn vox_board_key(ptr: usize, len: usize) -> usize {
    call(ptr, len, api::board_key)
}

/// Start deriving a ring-signed petition's rings: see [`crate::ring::ring_begin`].
#[cfg(feature = "ring")]
#[no_mangle]
pub extern "C" fn vox_ring_begin(ptr: usize, len: usize) -> usize {
    call(ptr, len, crate::ring::ring_begin)
}

/// Feed a page of board entries: see [`crate::ring::ring_feed`].
#[cfg(feature = "ring")]
#[no_mangle]
pub extern "C" fn vox_ring_feed(ptr: usize, len: usize) -> usize {
    call(ptr, len, crate::ring::ring_feed)
}

/// Check the fed board and derive the petition's rings: see
/// [`crate::ring::ring_derive`].
#[cfg(feature = "ring")]
#[no_mangle]
pub extern "C" fn vox_ring_derive(ptr: usize, len: usize) -> usize {
    call(ptr, len, crate::ring::ring_derive)
}

/// Prove a ring signature: see [`crate::ring::ring_sign`].
#[cfg(feature = "ring")]
#[no_mangle]
pub extern "C" fn vox_ring_sign(ptr: usize, len: usize) -> usize {
    call(ptr, len, crate::ring::ring_sign)
}

/// Check the answer to a ring signature as a receipt: see
/// [`crate::ring::ring_check_receipt`].
#[cfg(feature = "ring")]
#[no_mangle]
pub extern "C" fn vox_ring_check_receipt(ptr: usize, len: usize) -> usize {
    call(ptr, len, crate::ring::ring_check_receipt)
}

/// An anonymous referendum's linking tag of a credential: see
/// [`crate::ring::ring_referendum_tag`].
#[cfg(feature = "ring")]
#[no_mangle]
pub extern "C" fn vox_ring_referendum_tag(ptr: usize, len: usize) -> usize {
    call(ptr, len, crate::ring::ring_referendum_tag)
}

/// Check the fed board and derive an anonymous referendum's rings: see
/// [`crate::ring::ring_referendum_derive`].
#[cfg(feature = "ring")]
#[no_mangle]
pub extern "C" fn vox_ring_referendum_derive(ptr: usize, len: usize) -> usize {
    call(ptr, len, crate::ring::ring_referendum_derive)
}

/// Encrypt, prove and ring-sign an anonymous ballot: see
/// [`crate::ring::ring_encrypt_ballot`].
#[cfg(feature = "ring")]
#[no_mangle]
pub extern "C" fn vox_ring_encrypt_ballot(ptr: usize, len: usize) -> usize {
    call(ptr, len, crate::ring::ring_encrypt_ballot)
}

/// The ABI version (bumped on incompatible changes to the JSON shapes).
#[no_mangle]
pub extern "C" fn vox_version() -> u32 {
    // 2: `encrypt_ballot` takes the board evidence instead of a key (D1–D7).
    2
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(s: &str) -> usize {
        let p = vox_alloc(s.len());
        let mut map = BUFFERS.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(buf) = map.get_mut(&p) {
            if let Some(d) = buf.get_mut(..s.len()) {
                d.copy_from_slice(s.as_bytes());
            }
        }
        p
    }

    fn take(p: usize) -> String {
        let map = BUFFERS.lock().unwrap_or_else(|e| e.into_inner());
        let buf = map.get(&p).cloned().unwrap_or_default();
        drop(map);
        vox_free(p, buf.len());
        String::from_utf8(buf.get(4..).unwrap_or_default().to_vec()).unwrap_or_default()
    }

    #[cfg(feature = "client")]
    #[test]
    fn round_trip_through_the_abi() {
        let input = r#"{"credential": "not a credential"}"#;
        let p = write(input);
        let out = take(vox_credential_public_key(p, input.len()));
        vox_free(p, input.len());
        assert!(out.starts_with(r#"{"error":"#), "{out}");
        // An unknown address is an error, not a crash.
        let out = take(vox_credential_public_key(12345, 3));
        assert!(out.contains("unknown address"), "{out}");
        // Length past the end of the buffer.
        let p = write("{}");
        let out = take(vox_sign_petition(p, 100));
        vox_free(p, 2);
        assert!(out.contains("error"), "{out}");
    }

    #[cfg(feature = "verify")]
    #[test]
    fn verify_record_through_the_abi() {
        let h = vox_verifier::synth::honest(31, 0).unwrap_or_else(|e| panic!("{e}"));
        let rec = &h.record;
        let input = serde_json::json!({
            "header": rec.header, "tree_heads": rec.heads, "entries": rec.entries,
        })
        .to_string();
        // The generator is global and tests run in any order: seed it here.
        assert!(crate::rng::seed(&[3u8; 32]).is_ok());
        let p = write(&input);
        let out = take(vox_verify_record(p, input.len()));
        vox_free(p, input.len());
        assert!(out.contains(r#""verdict":"pass""#), "{out}");
        // The staged exports without a session are errors, not crashes.
        let p = write("{}");
        let out = take(vox_verify_run(p, 2));
        assert!(out.contains("no verification in progress"), "{out}");
        let out = take(vox_verify_finish(p, 2));
        assert!(out.contains("no verification in progress"), "{out}");
        vox_free(p, 2);
    }
}
