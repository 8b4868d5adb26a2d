//! Crash-test failpoints (feature `failpoints`, off by default; without it [`hit`] is an
//! empty inline function).
//!
//! With the feature, `VOX_FAILPOINT=NAME:N` (read once) aborts the process on the N-th
//! hit of `NAME` (N ≥ 1). Names in the write path: `after-proofs` (a ballot's proofs
//! checked, nothing staged), `after-insert` (a batch's `ballots` rows written, in batches
//! that hold a ballot), `after-append` (log entries written), `before-commit` (head and
//! tree head written), `after-commit` (committed, no answer sent yet). The writer's
//! batches mix ballots, petition signatures and audits; `after-append` and
//! `before-commit` are in the board's commit, so every other write hits them too, and
//! `after-commit` is also hit after every other committed write.

/// Count a hit of `name`; abort the process if `VOX_FAILPOINT` says so.
#[cfg(feature = "failpoints")]
pub(crate) fn hit(name: &'static str) {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::OnceLock;
    static TARGET: OnceLock<Option<(String, u64)>> = OnceLock::new();
    static HITS: AtomicU64 = AtomicU64::new(0);
    let target = TARGET.get_or_init(|| {
        let v = std::env::var("VOX_FAILPOINT").ok()?;
        let (n, k) = v.rsplit_once(':')?;
        let k: u64 = k.parse().ok().filter(|k| *k >= 1)?;
        Some((n.to_owned(), k))
    });
    if let Some((n, k)) = target {
        if n == name && HITS.fetch_add(1, Ordering::SeqCst) + 1 == *k {
            eprintln!("failpoint {name}:{k} hit: aborting");
            std::process::abort();
        }
    }
}

/// Without the feature: nothing.
#[cfg(not(feature = "failpoints"))]
#[inline(always)]
pub(crate) fn hit(_name: &'static str) {}
