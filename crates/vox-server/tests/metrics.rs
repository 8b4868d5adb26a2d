//! `GET /metrics` (issue 16 §4): scraped after a real petition and referendum, every
//! line is well-formed Prometheus text, and the numbers agree with what happened (the
//! board's size, the ballots and signatures accepted, requests by route template and
//! status, the ballot batches, the witness lag).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::collections::BTreeMap;

use common::*;
use vox_protocol::petition::SignatureAction;

/// `name{labels}` → value, for every sample line; panics on a malformed line, and
/// checks every sample belongs to a family announced by `# TYPE` before it.
fn parse(text: &str) -> BTreeMap<String, f64> {
    let mut typed: Vec<String> = Vec::new();
    let mut out = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert!(
                ["counter", "gauge", "histogram"].contains(&kind),
                "unknown type in {line:?}"
            );
            typed.push(name.to_owned());
            continue;
        }
        if line.starts_with("# HELP ") {
            continue;
        }
        assert!(
            !line.is_empty() && !line.starts_with('#'),
            "stray line {line:?}"
        );
        let (series, value) = line.rsplit_once(' ').unwrap();
        let name = series.split('{').next().unwrap();
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "bad metric name in {line:?}"
        );
        if series.contains('{') {
            assert!(series.ends_with('}'), "unterminated labels in {line:?}");
        }
        let family = typed.last().expect("a sample before any # TYPE");
        assert!(
            name == family
                || [
                    format!("{family}_bucket"),
                    format!("{family}_sum"),
                    format!("{family}_count")
                ]
                .contains(&name.to_owned()),
            "{name} is not in the family {family} announced before it"
        );
        let v: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("bad value in {line:?}"));
        assert!(v.is_finite() && v >= 0.0, "{line:?}");
        assert!(
            out.insert(series.to_owned(), v).is_none(),
            "duplicate {series}"
        );
    }
    out
}

fn scrape(c: &Client) -> (String, BTreeMap<String, f64>) {
    let r = c.get("/metrics");
    r.expect(200);
    let ct = r.content_type.clone().unwrap_or_default();
    assert!(ct.starts_with("text/plain; version=0.0.4"), "{ct}");
    let m = parse(&r.body);
    (r.body.clone(), m)
}

#[test]
fn metrics_follow_a_petition_and_a_referendum() {
    let db = sqlite_db();
    let h = Harness::start(config(&db.url));
    let c = Client::new(format!("http://{}", h.server().local_addr()));

    // Before anything: the genesis is on the board, no witness has cosigned it.
    let (_, m0) = scrape(&c);
    assert_eq!(m0["vox_board_size"], 1.0);
    assert_eq!(m0["vox_witness_lag_entries"], 1.0);
    assert_eq!(m0["vox_ballots_accepted_total"], 0.0);

    let voters = Voters::new("metrics-e", 6, |_| None);
    let hash = voters.register(&c);
    let p = published_petition(&c, &voters, "metrics-p", 3_600_000);
    // Voter 0 proposed and voter 1 sponsored (one signature); four more sign.
    for cred in voters.creds.iter().skip(2) {
        sign(&c, &p, cred, SignatureAction::Sign).expect(201);
    }
    let trustees = Trustees::new(3);
    let man = yes_no_manifest("metrics-r", hash, &trustees, 2);
    let (_, key) = open_referendum(&c, &man, &trustees);
    for (i, cred) in voters.creds.iter().enumerate() {
        let (ballot, _) = encrypt(&man, key, cred, &choices(&man, i % 2 == 0, 0));
        cast(&c, &man, &ballot).expect(201);
    }
    c.get("/api/v1/no-such-thing").expect(404);
    c.get("/healthz").expect(200);
    c.get("/healthz").expect(200);

    let (text, m) = scrape(&c);
    let size = c.size() as f64;
    assert_eq!(m["vox_board_size"], size, "{text}");
    assert_eq!(m["vox_witness_lag_entries"], size, "{text}");
    assert_eq!(m["vox_ballots_accepted_total"], 6.0, "{text}");
    assert_eq!(m["vox_petition_signatures_accepted_total"], 5.0, "{text}");
    assert_eq!(
        m["vox_board_entries_appended_total{kind=\"ballot-cast\"}"],
        6.0
    );
    assert_eq!(
        m["vox_board_entries_appended_total{kind=\"referendum-created\"}"],
        1.0
    );
    // This process appended everything but the genesis (leaf 0 is counted too: it is
    // appended by this process at its first start).
    let appended: f64 = m
        .iter()
        .filter(|(k, _)| k.starts_with("vox_board_entries_appended_total{"))
        .map(|(_, v)| v)
        .sum();
    assert_eq!(appended, size, "{text}");
    // Requests by route template, never by concrete path.
    assert!(m["vox_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"}"] >= 2.0);
    assert_eq!(
        m["vox_http_requests_total{method=\"POST\",route=\"/api/v1/referendums/{id}/ballots\",status=\"201\"}"],
        6.0,
        "{text}"
    );
    assert!(
        !text.contains("metrics-r/ballots"),
        "a concrete path leaked"
    );
    assert!(m["vox_http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"}"] >= 1.0);
    // The latency histogram counts each request once; buckets are cumulative.
    let route = "method=\"POST\",route=\"/api/v1/referendums/{id}/ballots\"";
    assert_eq!(
        m[&format!("vox_http_request_duration_seconds_count{{{route}}}")],
        6.0
    );
    assert_eq!(
        m[&format!("vox_http_request_duration_seconds_bucket{{{route},le=\"+Inf\"}}")],
        6.0
    );
    assert!(m[&format!("vox_http_request_duration_seconds_sum{{{route}}}")] > 0.0);
    // Six ballots in some number of group commits.
    let batches = m["vox_ballot_commit_batch_size_count"];
    assert!((1.0..=6.0).contains(&batches), "{text}");
    assert_eq!(m["vox_ballot_commit_batch_size_sum"], 6.0);
    assert!(m["vox_ballot_verify_seconds_total"] > 0.0);
    h.stop();
}

#[test]
fn a_malformed_exposition_is_caught_by_the_parser() {
    // The parser above is the test's only judge of the format: make sure it can say no.
    for bad in [
        "vox_x 1\n",                               // no # TYPE before it
        "# TYPE vox_x counter\nvox_x one\n",       // not a number
        "# TYPE vox_x counter\nvox_y 1\n",         // outside its family
        "# TYPE vox_x counter\nvox_x{a=\"b\" 1\n", // unterminated labels
        "# TYPE vox_x summary-ish\nvox_x 1\n",     // unknown type
    ] {
        let r = std::panic::catch_unwind(|| parse(bad));
        assert!(r.is_err(), "accepted {bad:?}");
    }
}
