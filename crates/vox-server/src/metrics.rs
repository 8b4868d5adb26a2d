//! The server's counters, and their Prometheus text exposition (version 0.0.4) that
//! `GET /metrics` serves (`middleware::scrape`) for an operator's monitoring.
//!
//! Written by hand rather than with a metrics crate: a dozen families, all atomics the
//! server already keeps, and a format of a few lines (names, `# HELP`/`# TYPE`,
//! `name{label="value"} number`). Everything shown is either public on the board
//! already (sizes, entry counts) or harmless operational data (request counts and
//! latencies per route *template*, never a path with an id, an address or a key), so the
//! endpoint needs no authentication; an operator who prefers to hide it blocks
//! `/metrics` at the reverse proxy.
//!
//! Families:
//! - `vox_http_requests_total{method,route,status}` and
//!   `vox_http_request_duration_seconds{method,route}` (histogram): every request, by
//!   the route template it matched (`unmatched` otherwise), timed until the response
//!   head is ready;
//! - `vox_ballots_accepted_total`, `vox_petition_signatures_accepted_total`,
//!   `vox_board_entries_appended_total{kind}`: what this process appended;
//! - `vox_board_size`: the entries on the board (as this process knows it);
//! - `vox_ballot_commit_batch_size` (histogram), `vox_ballot_verify_seconds_total`,
//!   `vox_ballot_commit_seconds_total`: the group-commit writer;
//! - `vox_ring_signature_verify_batch_size` (histogram): ring signatures per batch check
//!   (`ring_verifier`);
//! - `vox_proof_verify_batch_size` (histogram): ballots and petition credential
//!   signatures per batch check (`proof_verifier`);
//! - `vox_witness_lag_entries`: entries appended since the largest tree head any witness
//!   has cosigned (the whole board when none has), read from the database per scrape.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

/// Counters for benchmarks and monitoring.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Ballots accepted (committed).
    pub ballots_accepted: AtomicU64,
    /// Group-commit transactions of ballots.
    pub ballot_batches: AtomicU64,
    /// Nanoseconds spent in batch checks of ballot proofs and petition credential
    /// signatures (all threads).
    pub verify_nanos: AtomicU64,
    /// Nanoseconds spent in ballot transactions (lock to commit).
    pub commit_nanos: AtomicU64,
}

/// A snapshot of [`Metrics`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MetricsSnapshot {
    /// Ballots accepted (committed).
    pub ballots_accepted: u64,
    /// Group-commit transactions of ballots.
    pub ballot_batches: u64,
    /// Nanoseconds spent verifying ballot proofs (summed over threads).
    pub verify_nanos: u64,
    /// Nanoseconds spent in ballot transactions.
    pub commit_nanos: u64,
}

impl Metrics {
    /// Read every counter.
    pub fn snapshot(&self) -> MetricsSnapshot {
        MetricsSnapshot {
            ballots_accepted: self.ballots_accepted.load(Ordering::Relaxed),
            ballot_batches: self.ballot_batches.load(Ordering::Relaxed),
            verify_nanos: self.verify_nanos.load(Ordering::Relaxed),
            commit_nanos: self.commit_nanos.load(Ordering::Relaxed),
        }
    }
}

/// Upper bounds (seconds) of the request-duration histogram buckets.
const LATENCY_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Upper bounds of the ballot commit batch-size histogram buckets.
const BATCH_BUCKETS: [f64; 10] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];

/// The content type of the text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A histogram with fixed buckets: cumulative counts are computed at scrape time, so an
/// observation is two atomic adds and one bucket search.
#[derive(Debug)]
pub struct Histogram {
    bounds: &'static [f64],
    /// Observations per bucket (not cumulative); the last slot is `+Inf`.
    counts: Vec<AtomicU64>,
    /// Sum of the observations, in millionths (so it stays an integer atomic).
    sum_micros: AtomicU64,
}

impl Histogram {
    fn new(bounds: &'static [f64]) -> Self {
        Self {
            bounds,
            counts: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum_micros: AtomicU64::new(0),
        }
    }

    /// Record one observation.
    pub fn observe(&self, value: f64) {
        let slot = self
            .bounds
            .iter()
            .position(|b| value <= *b)
            .unwrap_or(self.bounds.len());
        if let Some(c) = self.counts.get(slot) {
            c.fetch_add(1, Ordering::Relaxed);
        }
        let micros = (value.max(0.0) * 1e6).round();
        // `as` saturates for floats too large for u64.
        self.sum_micros.fetch_add(micros as u64, Ordering::Relaxed);
    }

    fn write(&self, out: &mut String, name: &str, labels: &str) {
        let mut cumulative = 0u64;
        let sep = if labels.is_empty() { "" } else { "," };
        for (i, c) in self.counts.iter().enumerate() {
            cumulative += c.load(Ordering::Relaxed);
            let le = self
                .bounds
                .get(i)
                .map_or_else(|| "+Inf".to_owned(), |b| b.to_string());
            let _ = writeln!(
                out,
                "{name}_bucket{{{labels}{sep}le=\"{le}\"}} {cumulative}"
            );
        }
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let braces = |l: &str| {
            if l.is_empty() {
                String::new()
            } else {
                format!("{{{l}}}")
            }
        };
        let _ = writeln!(out, "{name}_sum{} {sum}", braces(labels));
        let _ = writeln!(out, "{name}_count{} {cumulative}", braces(labels));
    }
}

/// Per route template and method: statuses and latency.
#[derive(Debug)]
struct RouteStats {
    statuses: Mutex<BTreeMap<u16, u64>>,
    latency: Histogram,
}

/// Route template → method → stats. Keyed in two levels so that a request that finds
/// its entry (every request but the first per route and method) looks it up with the
/// borrowed `&str`s, without allocating; sorted, as the exposition lists it.
type RouteTable = BTreeMap<String, BTreeMap<String, Arc<RouteStats>>>;

/// The HTTP side of the metrics, filled by `middleware::track`.
#[derive(Debug, Default)]
pub struct HttpMetrics {
    routes: RwLock<RouteTable>,
}

impl HttpMetrics {
    /// Count one answered request and its duration.
    pub fn record(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let stats = self.stats(method, route);
        stats.latency.observe(seconds);
        *stats
            .statuses
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(status)
            .or_insert(0) += 1;
    }

    fn stats(&self, method: &str, route: &str) -> Arc<RouteStats> {
        if let Some(s) = self
            .routes
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(route)
            .and_then(|m| m.get(method))
        {
            return Arc::clone(s);
        }
        let mut w = self.routes.write().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(
            w.entry(route.to_owned())
                .or_default()
                .entry(method.to_owned())
                .or_insert_with(|| {
                    Arc::new(RouteStats {
                        statuses: Mutex::new(BTreeMap::new()),
                        latency: Histogram::new(&LATENCY_BUCKETS),
                    })
                }),
        )
    }
}

/// Counters of what this process appended, by entry kind (`Payload::kind`).
#[derive(Debug, Default)]
pub struct AppendCounters(Mutex<BTreeMap<&'static str, u64>>);

impl AppendCounters {
    /// Count one committed transaction's entries.
    pub fn add<'a>(&self, kinds: impl Iterator<Item = &'static str> + 'a) {
        let mut m = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        for k in kinds {
            *m.entry(k).or_insert(0) += 1;
        }
    }

    fn snapshot(&self) -> BTreeMap<&'static str, u64> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// The ballot writer's batch sizes.
#[derive(Debug)]
pub struct BatchSizes(Histogram);

impl Default for BatchSizes {
    fn default() -> Self {
        Self(Histogram::new(&BATCH_BUCKETS))
    }
}

impl BatchSizes {
    /// Record one committed batch of `n` ballots.
    pub fn observe(&self, n: usize) {
        self.0.observe(n as f64);
    }
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// Label values are route templates, methods and entry kinds (no user input reaches
/// them except through the router's own templates), escaped anyway as the format says.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// What one scrape shows.
#[derive(Debug)]
pub struct Sources<'a> {
    /// The ballot counters.
    pub metrics: &'a Metrics,
    /// Requests by route.
    pub http: &'a HttpMetrics,
    /// Entries appended by kind.
    pub appended: &'a AppendCounters,
    /// Ballot batch sizes.
    pub batch_sizes: &'a BatchSizes,
    /// Ring signatures per batch check.
    pub ring_batch_sizes: &'a BatchSizes,
    /// Ballots and credential signatures per batch check.
    pub proof_batch_sizes: &'a BatchSizes,
    /// The board's size as this process knows it.
    pub board_size: u64,
    /// The largest tree size a witness has cosigned (0 if none).
    pub witnessed: u64,
}

/// The exposition text.
pub fn render(src: &Sources<'_>) -> String {
    let mut out = String::with_capacity(8192);
    let m = src.metrics.snapshot();
    let size = src.board_size;
    let witnessed = src.witnessed;

    // Sorted by route, then method (the table's own order).
    let routes: Vec<((String, String), Arc<RouteStats>)> = src
        .http
        .routes
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .flat_map(|(route, methods)| {
            methods
                .iter()
                .map(|(method, v)| ((method.clone(), route.clone()), Arc::clone(v)))
        })
        .collect();

    family(
        &mut out,
        "vox_http_requests_total",
        "counter",
        "HTTP requests answered, by method, route template and status.",
    );
    for ((method, route), s) in &routes {
        let statuses = s
            .statuses
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        for (status, n) in statuses {
            let _ = writeln!(
                out,
                "vox_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{status}\"}} {n}",
                escape(method),
                escape(route)
            );
        }
    }
    family(
        &mut out,
        "vox_http_request_duration_seconds",
        "histogram",
        "Time from a request's arrival at the router to its response head.",
    );
    for ((method, route), s) in &routes {
        let labels = format!("method=\"{}\",route=\"{}\"", escape(method), escape(route));
        s.latency
            .write(&mut out, "vox_http_request_duration_seconds", &labels);
    }

    let appended = src.appended.snapshot();
    family(
        &mut out,
        "vox_ballots_accepted_total",
        "counter",
        "Ballots committed to the board by this process.",
    );
    let _ = writeln!(out, "vox_ballots_accepted_total {}", m.ballots_accepted);
    family(
        &mut out,
        "vox_petition_signatures_accepted_total",
        "counter",
        "Petition signatures committed to the board by this process (credential- and \
         ring-signed).",
    );
    let _ = writeln!(
        out,
        "vox_petition_signatures_accepted_total {}",
        ["petition-signed", "petition-ring-signed"]
            .iter()
            .map(|k| appended.get(k).copied().unwrap_or(0))
            .sum::<u64>()
    );
    family(
        &mut out,
        "vox_board_entries_appended_total",
        "counter",
        "Board entries committed by this process, by entry type.",
    );
    for (kind, n) in &appended {
        let _ = writeln!(
            out,
            "vox_board_entries_appended_total{{kind=\"{}\"}} {n}",
            escape(kind)
        );
    }
    family(
        &mut out,
        "vox_board_size",
        "gauge",
        "Entries on the board (tree size) as this process last saw it.",
    );
    let _ = writeln!(out, "vox_board_size {size}");
    family(
        &mut out,
        "vox_ballot_commit_batch_size",
        "histogram",
        "Ballots per group-commit transaction.",
    );
    src.batch_sizes
        .0
        .write(&mut out, "vox_ballot_commit_batch_size", "");
    family(
        &mut out,
        "vox_ring_signature_verify_batch_size",
        "histogram",
        "Ring signatures (petitions and anonymous ballots) checked per batch (one multiscalar multiplication per ring).",
    );
    src.ring_batch_sizes
        .0
        .write(&mut out, "vox_ring_signature_verify_batch_size", "");
    family(
        &mut out,
        "vox_proof_verify_batch_size",
        "histogram",
        "Ballots and petition credential signatures checked per batch (one multiscalar multiplication).",
    );
    src.proof_batch_sizes
        .0
        .write(&mut out, "vox_proof_verify_batch_size", "");
    family(
        &mut out,
        "vox_ballot_verify_seconds_total",
        "counter",
        "Time spent in batch checks of ballot proofs and petition credential signatures, summed over threads.",
    );
    let _ = writeln!(
        out,
        "vox_ballot_verify_seconds_total {}",
        m.verify_nanos as f64 / 1e9
    );
    family(
        &mut out,
        "vox_ballot_commit_seconds_total",
        "counter",
        "Time spent in ballot group-commit transactions.",
    );
    let _ = writeln!(
        out,
        "vox_ballot_commit_seconds_total {}",
        m.commit_nanos as f64 / 1e9
    );
    family(
        &mut out,
        "vox_witness_lag_entries",
        "gauge",
        "Entries appended since the largest tree head a witness has cosigned.",
    );
    let _ = writeln!(
        out,
        "vox_witness_lag_entries {}",
        size.saturating_sub(witnessed)
    );
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative_and_sum_is_kept() {
        let h = Histogram::new(&BATCH_BUCKETS);
        for v in [1.0, 3.0, 3.0, 1000.0] {
            h.observe(v);
        }
        let mut out = String::new();
        h.write(&mut out, "x", "");
        assert!(out.contains("x_bucket{le=\"1\"} 1\n"), "{out}");
        assert!(out.contains("x_bucket{le=\"2\"} 1\n"), "{out}");
        assert!(out.contains("x_bucket{le=\"4\"} 3\n"), "{out}");
        assert!(out.contains("x_bucket{le=\"512\"} 3\n"), "{out}");
        assert!(out.contains("x_bucket{le=\"+Inf\"} 4\n"), "{out}");
        assert!(out.contains("x_sum 1007\n"), "{out}");
        assert!(out.contains("x_count 4\n"), "{out}");
    }

    #[test]
    fn labels_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
