//! The page-seeded ChaCha20 CSPRNG (see the crate docs for why).

use std::sync::Mutex;

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use sha2::{Digest, Sha256};

static RNG: Mutex<Option<ChaCha20Rng>> = Mutex::new(None);

/// Fewest fresh bytes accepted by [`seed`].
pub const MIN_SEED_BYTES: usize = 32;

/// Mix `fresh` (at least 32 bytes from `crypto.getRandomValues`) into the generator:
/// key = SHA-256("vox/web/seed" ‖ 32 bytes of the current generator, if any ‖ fresh).
pub fn seed(fresh: &[u8]) -> Result<(), String> {
    if fresh.len() < MIN_SEED_BYTES {
        return Err(format!(
            "seed: need at least {MIN_SEED_BYTES} random bytes, got {}",
            fresh.len()
        ));
    }
    let mut guard = RNG.lock().map_err(|_| "seed: generator lock poisoned")?;
    let mut h = Sha256::new();
    h.update(b"vox/web/seed\0");
    if let Some(current) = guard.as_mut() {
        let mut prev = [0u8; 32];
        current.fill_bytes(&mut prev);
        h.update(prev);
    }
    h.update(fresh);
    let key: [u8; 32] = h.finalize().into();
    *guard = Some(ChaCha20Rng::from_seed(key));
    Ok(())
}

/// Run `f` with the generator; fails if the page never seeded it.
pub(crate) fn with_rng<T>(
    f: impl FnOnce(&mut ChaCha20Rng) -> Result<T, String>,
) -> Result<T, String> {
    let mut guard = RNG.lock().map_err(|_| "generator lock poisoned")?;
    match guard.as_mut() {
        Some(rng) => f(rng),
        None => Err("the random generator is not seeded: call vox_seed first".into()),
    }
}
