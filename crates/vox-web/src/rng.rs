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

/// Why [`fill`] could not fill a buffer.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FillError {
    /// The page has not called `vox_seed` yet: there is no entropy to give.
    #[error("the random generator is not seeded")]
    NotSeeded,
    /// The generator is in use by the caller itself (a draw inside a draw) or its lock
    /// was poisoned: waiting would deadlock a single-threaded wasm instance.
    #[error("the random generator is busy")]
    Busy,
}

/// Fill `dest` from the page-seeded generator, without waiting for its lock.
///
/// This is the `getrandom` backend of the wasm build (registered in `ffi`): whatever
/// dependency asks `getrandom` for bytes (`OsRng`, `thread_rng`) gets them from the
/// same ChaCha20 the page keys with `crypto.getRandomValues`, instead of from
/// wasm-bindgen glue. vox's own code never asks (it passes this generator explicitly),
/// so this only guards against a dependency that would. It never blocks: a nested call
/// (inside [`with_rng`]) is an error, not a deadlock.
pub fn fill(dest: &mut [u8]) -> Result<(), FillError> {
    fill_from(&RNG, dest)
}

fn fill_from(rng: &Mutex<Option<ChaCha20Rng>>, dest: &mut [u8]) -> Result<(), FillError> {
    let mut guard = rng.try_lock().map_err(|_| FillError::Busy)?;
    let rng = guard.as_mut().ok_or(FillError::NotSeeded)?;
    rng.fill_bytes(dest);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    // A generator of the test's own: the global one is shared by tests running in
    // parallel, whose draws would make `fill` answer Busy at random.
    #[test]
    fn fill_draws_from_the_seeded_generator_and_never_blocks() {
        let m: Mutex<Option<ChaCha20Rng>> = Mutex::new(None);
        let mut a = [0u8; 48];
        assert_eq!(fill_from(&m, &mut a), Err(FillError::NotSeeded));
        let mut guard = m.lock().unwrap_or_else(|e| e.into_inner());
        *guard = Some(ChaCha20Rng::from_seed([7u8; 32]));
        let mut expected = [0u8; 48];
        if let Some(g) = guard.as_mut() {
            g.clone().fill_bytes(&mut expected);
        }
        // Held (as inside `with_rng`): a nested fill fails at once instead of waiting.
        assert_eq!(fill_from(&m, &mut a), Err(FillError::Busy));
        drop(guard);
        assert_eq!(fill_from(&m, &mut a), Ok(()));
        assert_eq!(a, expected, "the bytes are the generator's next output");
    }
}
