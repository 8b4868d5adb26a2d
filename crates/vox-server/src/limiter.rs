//! A small token-bucket rate limiter (per client address, per credential).
//!
//! Each key owns a bucket of `burst` tokens refilled at `per_second`; a request takes
//! one token or is refused with the time until the next token (→ 429 with
//! `Retry-After`). Limits are per process: behind a load balancer each process enforces
//! its own share.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::config::RateLimit;
use crate::error::AppError;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Buckets by key.
#[derive(Debug)]
pub struct RateLimiter<K> {
    limit: RateLimit,
    buckets: Mutex<HashMap<K, Bucket>>,
}

/// Above this many tracked keys, full buckets are forgotten.
const PRUNE_ABOVE: usize = 100_000;

impl<K: Hash + Eq + Clone> RateLimiter<K> {
    /// A limiter for `limit`.
    pub fn new(limit: RateLimit) -> Self {
        Self {
            limit,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Take a token for `key` at `now`, or say how long to wait.
    pub fn check_at(&self, key: &K, now: Instant) -> Result<(), Duration> {
        let burst = f64::from(self.limit.burst.max(1));
        let rate = self.limit.per_second.max(1e-9);
        let mut map = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        if map.len() > PRUNE_ABOVE {
            map.retain(|_, b| {
                b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * rate < burst
            });
        }
        let b = map.entry(key.clone()).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
        b.tokens = (b.tokens + elapsed * rate).min(burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - b.tokens) / rate))
        }
    }

    /// [`Self::check_at`] now, as a 429 problem.
    pub fn check(&self, key: &K, what: &str) -> Result<(), AppError> {
        self.check_at(key, Instant::now())
            .map_err(|wait| AppError::rate_limited(what, wait.as_secs_f64().ceil() as u64))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_refill() {
        let l = RateLimiter::new(RateLimit {
            burst: 3,
            per_second: 2.0,
        });
        let t0 = Instant::now();
        for _ in 0..3 {
            l.check_at(&"a", t0).unwrap();
        }
        let wait = l.check_at(&"a", t0).unwrap_err();
        assert!(wait <= Duration::from_millis(500) && wait > Duration::from_millis(400));
        // Another key has its own bucket.
        l.check_at(&"b", t0).unwrap();
        // Half a second later one token is back, not two.
        let t1 = t0 + Duration::from_millis(500);
        l.check_at(&"a", t1).unwrap();
        assert!(l.check_at(&"a", t1).is_err());
        // Long idle: back to the full burst, never more.
        let t2 = t1 + Duration::from_secs(60);
        for _ in 0..3 {
            l.check_at(&"a", t2).unwrap();
        }
        assert!(l.check_at(&"a", t2).is_err());
    }

    #[test]
    fn rate_limited_problem_has_retry_after() {
        let l = RateLimiter::new(RateLimit {
            burst: 1,
            per_second: 0.1,
        });
        l.check(&1u8, "credential").unwrap();
        let e = l.check(&1u8, "credential").unwrap_err();
        assert_eq!(e.status.as_u16(), 429);
        assert_eq!(e.retry_after, Some(10));
    }
}
