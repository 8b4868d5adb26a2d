#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| vox_fuzz::ring_signature(data));
