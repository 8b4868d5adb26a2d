//! Every rejected input gets the right 4xx problem and changes nothing: the board size is
//! the same before and after.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::*;
use rand::rngs::OsRng;
use serde_json::{json, Value};
use vox_crypto::credential::Credential;
use vox_protocol::ballot::AuditedBallot;
use vox_protocol::ceremony::CeremonyBody;
use vox_protocol::petition::{PetitionProposal, SignatureAction};

/// Run `f`, check it answered `status` (as RFC 9457 problem details) and that the board
/// did not change.
#[track_caller]
fn refused(c: &Client, status: u16, f: impl FnOnce() -> Resp) -> Resp {
    let before = c.size();
    let r = f();
    assert_eq!(r.status, status, "expected {status}: {}", r.body);
    assert_eq!(
        r.content_type.as_deref(),
        Some("application/problem+json"),
        "{}",
        r.body
    );
    let p = r.json();
    assert_eq!(p["status"], status);
    assert!(p["type"]
        .as_str()
        .unwrap()
        .starts_with("https://vox.invalid/problems/"));
    assert_eq!(c.size(), before, "a refused request changed the board");
    r
}

fn set(v: &mut Value, path: &[&str], new: Value) {
    let mut cur = v;
    for p in path {
        cur = match p.parse::<usize>() {
            Ok(i) => &mut cur[i],
            Err(_) => &mut cur[*p],
        };
    }
    *cur = new;
}

fn rejections(db: &TestDb) {
    let mut cfg = config(&db.url);
    cfg.max_body_bytes = 64 * 1024;
    let h = Harness::start(cfg);
    let c = &h.client;
    let voters = Voters::new("e", 6, |_| None);
    let eh = voters.register(c);
    let outsider = Credential::generate(&mut OsRng);

    // An open petition p (voters 0 and 1 signed), a short one that will close.
    let p = published_petition(c, &voters, "p", 600_000);
    let short = petition("short", eh, 300);
    c.post(
        "/api/v1/petitions",
        &PetitionProposal::create(short.clone(), &voters.creds[0], &mut OsRng),
    )
    .expect(201);
    sign(c, &short, &voters.creds[1], SignatureAction::Sign).expect(201);
    c.act(acts::publish("short", 300)).expect(200);
    // The short petition closes by itself at its deadline (the sweeper appends
    // `petition-closed`). Wait for it here, before any refusal is checked: a close
    // landing during a check would look like a refused request changing the board.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while c.get("/api/v1/petitions/short").json()["stage"] != "closed" {
        assert!(
            std::time::Instant::now() < deadline,
            "sweeper did not close the petition"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }

    // Referendums: r open, rc closed, rk in its key ceremony.
    let trustees = Trustees::new(3);
    let m = manifest("r", eh, &trustees, 2, None);
    let (_, key) = open_referendum(c, &m, &trustees);
    // rc closes a second after creation: the server's schedule closes and tallies it.
    let mut mc = manifest("rc", eh, &trustees, 2, None);
    mc.closes_at = now_ms() + 1_000;
    let (_, key_c) = open_referendum(c, &mc, &trustees);
    wait_state(c, "rc", &["tallied"]);
    let mk = manifest("rk", eh, &trustees, 2, None);
    c.act(acts::created(&mk)).expect(201);
    // Score maxima and tally bounds are limited (04 §4.2 rules 3 and 6): 422, nothing
    // appended.
    {
        use vox_protocol::manifest::{QuestionKind, MAX_SCORE};
        let mut big = manifest("big", eh, &trustees, 2, None);
        big.questions[1].kind = QuestionKind::Score { max: MAX_SCORE + 1 };
        let r = refused(c, 422, || c.post_act(&acts::created(&big)));
        assert!(r.body.contains("questions/1/kind"), "{}", r.body);
        big.questions[1].kind = QuestionKind::Score { max: u32::MAX };
        refused(c, 422, || c.post_act(&acts::created(&big)));
    }

    let sig_path = "/api/v1/petitions/p/signatures";

    // 400: malformed JSON, wrong types, wrong lengths, non-canonical encodings.
    refused(c, 400, || c.request("POST", sig_path, Some("{"), &[]));
    let r = refused(c, 400, || {
        c.request("POST", sig_path, Some(r#"{"petition_id": 5}"#), &[])
    });
    assert_eq!(r.field().as_deref(), Some("petition_id"));
    let (ballot, secrets) = encrypt(&m, key, &voters.creds[2], &choices(&m, true, 0));
    let bv = serde_json::to_value(&ballot).unwrap();
    let ballots = "/api/v1/referendums/r/ballots";
    let a_hex = bv["answers"][0]["ciphertexts"][0]["a"]
        .as_str()
        .unwrap()
        .to_owned();
    for bad in [a_hex[..62].to_owned(), "ff".repeat(32), "zz".repeat(32)] {
        let mut v = bv.clone();
        set(
            &mut v,
            &["answers", "0", "ciphertexts", "0", "a"],
            json!(bad),
        );
        let r = refused(c, 400, || c.post(ballots, &v));
        assert_eq!(
            r.field().as_deref(),
            Some("answers/0/ciphertexts/0/a"),
            "{}",
            r.body
        );
    }
    // The identity as `a` is canonical but forbidden: 422 before any proof is checked.
    let mut v = bv.clone();
    set(
        &mut v,
        &["answers", "0", "ciphertexts", "0", "a"],
        json!("00".repeat(32)),
    );
    let r = refused(c, 422, || c.post(ballots, &v));
    assert_eq!(r.field().as_deref(), Some("answers/0/ciphertexts/0"));
    // Wrong number of ciphertexts: a structure error.
    let mut v = bv.clone();
    let extra = v["answers"][1]["ciphertexts"][0].clone();
    v["answers"][1]["ciphertexts"]
        .as_array_mut()
        .unwrap()
        .push(extra);
    let r = refused(c, 422, || c.post(ballots, &v));
    assert_eq!(r.field().as_deref(), Some("answers/1/ciphertexts"));
    // A proof that does not verify names its field.
    let mut v = bv.clone();
    let z = v["answers"][0]["selection_proofs"][0]["z0"].clone();
    let z1 = v["answers"][0]["selection_proofs"][0]["z1"].clone();
    set(&mut v, &["answers", "0", "selection_proofs", "0", "z0"], z1);
    set(&mut v, &["answers", "0", "selection_proofs", "0", "z1"], z);
    let r = refused(c, 422, || c.post(ballots, &v));
    assert_eq!(
        r.field().as_deref(),
        Some("answers/0/selection_proofs/0"),
        "{}",
        r.body
    );
    // Not eligible.
    let (foreign, _) = encrypt(&m, key, &outsider, &choices(&m, true, 0));
    let r = refused(c, 422, || cast(c, &m, &foreign));
    assert_eq!(r.field().as_deref(), Some("credential"));
    // A ballot for r posted to rc: wrong scope.
    refused(c, 422, || c.post("/api/v1/referendums/rc/ballots", &ballot));

    // 404: unknown ids.
    refused(c, 404, || c.get("/api/v1/petitions/nope"));
    refused(c, 404, || c.get("/api/v1/referendums/nope"));
    refused(c, 404, || c.get("/api/v1/referendums/nope/ceremony"));
    refused(c, 404, || c.get("/api/v1/electorates/nope"));
    refused(c, 404, || {
        c.post("/api/v1/referendums/nope/ballots", &ballot)
    });
    refused(c, 404, || {
        c.post(
            "/api/v1/petitions/nope/signatures",
            &signature(&p, &voters.creds[3], SignatureAction::Sign),
        )
    });
    refused(c, 404, || c.post_empty("/api/v1/referendums/nope/open"));
    refused(c, 404, || c.get("/api/v1/no/such/route"));
    refused(c, 405, || {
        c.request("DELETE", "/api/v1/petitions", None, &[])
    });
    refused(c, 404, || {
        c.get(&format!(
            "/api/v1/referendums/r/ballots/{}",
            "ab".repeat(32)
        ))
    });

    // 409: wrong state.
    let (closed_ballot, _) = encrypt(&mc, key_c, &voters.creds[2], &choices(&mc, true, 0));
    refused(c, 409, || cast(c, &mc, &closed_ballot));
    refused(c, 409, || c.post_empty("/api/v1/referendums/r/tally"));
    refused(c, 409, || c.post_empty("/api/v1/referendums/r/publish"));
    refused(c, 409, || c.post_empty("/api/v1/referendums/rk/open"));
    refused(c, 409, || c.post_empty("/api/v1/referendums/rc/close"));
    // Closing before the manifest's closes_at is refused, naming the time.
    let r = refused(c, 409, || c.post_empty("/api/v1/referendums/r/close"));
    assert!(r.body.contains(&m.closes_at.to_string()), "{}", r.body);
    // The referendum a petition obliges is the board's, never an act's: a manifest may
    // name no source petition, nor a referendum id a published petition reserved.
    let sourced = manifest("rs", eh, &trustees, 2, Some("p".into()));
    let r = refused(c, 422, || c.act(acts::created(&sourced)));
    assert_eq!(r.field().as_deref(), Some("manifest/source_petition"));
    let reserved = manifest("p-r", eh, &trustees, 2, None);
    let r = refused(c, 422, || c.act(acts::created(&reserved)));
    assert_eq!(r.field().as_deref(), Some("manifest/referendum_id"));
    // The short petition closed by itself at its deadline; signing it now is refused.
    refused(c, 409, || {
        sign(c, &short, &voters.creds[3], SignatureAction::Sign)
    });
    refused(c, 409, || c.post_empty("/api/v1/petitions/short/close"));
    // Closing an open petition before its deadline is refused (anyone may trigger it,
    // the rule decides).
    refused(c, 409, || c.post_empty("/api/v1/petitions/p/close"));
    // Duplicate signature; withdrawing what was never signed.
    refused(c, 409, || {
        sign(c, &p, &voters.creds[1], SignatureAction::Sign)
    });
    refused(c, 409, || {
        sign(c, &p, &voters.creds[4], SignatureAction::Withdraw)
    });
    // Not eligible to sign.
    let r = refused(c, 422, || sign(c, &p, &outsider, SignatureAction::Sign));
    assert_eq!(r.field().as_deref(), Some("credential"));
    // A signature whose bytes were altered.
    let mut sv =
        serde_json::to_value(signature(&p, &voters.creds[3], SignatureAction::Sign)).unwrap();
    sv["action"] = json!("withdraw");
    refused(c, 422, || c.post(sig_path, &sv));
    // Publishing beyond the petition's fixed period, or with a deadline already past
    // (the signed closes_at is used as it is, never adjusted).
    let p2 = petition("p2", eh, 600_000);
    c.post(
        "/api/v1/petitions",
        &PetitionProposal::create(p2.clone(), &voters.creds[0], &mut OsRng),
    )
    .expect(201);
    sign(c, &p2, &voters.creds[1], SignatureAction::Sign).expect(201);
    for closes_at in [now_ms() + 10_000_000, now_ms() - 1] {
        let publish = acts::moderation(
            "p2",
            vox_protocol::petition::Moderation::Publish {
                closes_at,
                referendum: acts::terms("p2"),
            },
        );
        let r = refused(c, 422, || c.act(publish));
        assert_eq!(r.field().as_deref(), Some("moderation/closes_at"));
    }
    // A publish decision must carry closes_at (the role signs it).
    let mut no_deadline = serde_json::to_value(signed(acts::publish("p2", 600_000))).unwrap();
    no_deadline["moderation"]
        .as_object_mut()
        .unwrap()
        .remove("closes_at");
    refused(c, 400, || {
        c.post("/api/v1/petitions/p2/moderation", &no_deadline)
    });
    refused(c, 409, || c.act(acts::reject("p", "x")));
    refused(c, 409, || c.act(acts::response("p", "early")));
    refused(c, 422, || {
        c.act(acts::invalidation(
            "p",
            vec![voters.creds[5].public_key()],
            "never signed",
        ))
    });
    let r = refused(c, 422, || c.act(acts::invalidation("p", vec![], "nobody")));
    assert_eq!(r.field().as_deref(), Some("credentials"));

    // Acts: the wrong type for the endpoint, an id other than the path's (422).
    let panel = signed(acts::panel());
    let r = refused(c, 422, || c.post("/api/v1/referendums", &panel));
    assert_eq!(r.field().as_deref(), Some("type"));
    // A publish whose terms name an existing referendum, or an id another petition
    // reserved.
    for (rid, taken) in [("r", "already exists"), ("p-r", "reserved")] {
        let mut terms = acts::terms("p2");
        terms.referendum_id = rid.into();
        let publish = acts::moderation(
            "p2",
            vox_protocol::petition::Moderation::Publish {
                closes_at: now_ms() + 300_000,
                referendum: terms,
            },
        );
        let r = refused(c, 422, || c.act(publish));
        assert_eq!(
            r.field().as_deref(),
            Some("moderation/referendum/referendum_id")
        );
        assert!(r.body.contains(taken), "{}", r.body);
    }
    let response = signed(acts::response("p", "hello"));
    let r = refused(c, 422, || {
        c.post("/api/v1/petitions/p2/response", &response)
    });
    assert_eq!(r.field().as_deref(), Some("petition_id"));
    // A bare electorate (the v1 body) is not an act.
    let v = Voters::new("e-new", 2, |_| None);
    refused(c, 400, || c.post("/api/v1/electorates", &v.electorate));

    // Ceremony: out of phase (409), bad signature and strangers (422).
    let ck = "/api/v1/referendums/rk/ceremony";
    refused(c, 409, || {
        c.post(
            ck,
            &ceremony_message(&mk, &trustees, 1, CeremonyBody::Confirm),
        )
    });
    let mh = vox_protocol::encoding::Hashable::canonical_hash(&mk);
    let dealer = vox_crypto::threshold::Dealer::new(
        &vox_crypto::threshold::CeremonyParams::new(3, 2).unwrap(),
        vox_crypto::threshold::TrusteeIndex::new(1).unwrap(),
        &mh,
        &mut OsRng,
    )
    .unwrap();
    let commit = CeremonyBody::Commit {
        key: trustees.keys[0].announce(
            vox_crypto::threshold::TrusteeIndex::new(1).unwrap(),
            &mh,
            &mut OsRng,
        ),
        commitment: dealer.commitment(),
    };
    let good = ceremony_message(&mk, &trustees, 1, commit.clone());
    let mut forged = serde_json::to_value(&good).unwrap();
    // Trustee 1's signature of another message does not sign this one.
    let other_sig = ceremony_message(&mk, &trustees, 1, CeremonyBody::Confirm).signature;
    forged["signature"] = serde_json::to_value(other_sig).unwrap();
    let r = refused(c, 422, || c.post(ck, &forged));
    assert_eq!(r.field().as_deref(), Some("signature"));
    // Trustee 2 cannot send trustee 1's commitment.
    refused(c, 422, || {
        c.post(ck, &ceremony_message(&mk, &trustees, 2, commit.clone()))
    });
    c.post(ck, &good).expect(201);
    // Sending it twice.
    refused(c, 409, || c.post(ck, &good));

    // Audits: a cast ballot can never be opened.
    cast(c, &m, &ballot).expect(201);
    refused(c, 409, || {
        c.post(
            "/api/v1/referendums/r/audits",
            &AuditedBallot::new(ballot.clone(), secrets.clone()),
        )
    });
    // An audit whose opening is wrong.
    let (b2, s2) = encrypt(&m, key, &voters.creds[3], &choices(&m, true, 0));
    let mut wrong = AuditedBallot::new(b2, s2);
    wrong.choices = choices(&m, false, 0);
    refused(c, 422, || c.post("/api/v1/referendums/r/audits", &wrong));
    // An opening in another credential's name: the opening holds (it does not involve the
    // credential) but the credential did not sign the ballot; likewise a forged signature.
    let (b3, s3) = encrypt(&m, key, &voters.creds[3], &choices(&m, true, 0));
    let mut other_name = AuditedBallot::new(b3.clone(), s3.clone());
    other_name.ballot.credential = Some(voters.creds[4].public_key());
    let r = refused(c, 422, || {
        c.post("/api/v1/referendums/r/audits", &other_name)
    });
    assert_eq!(r.field().as_deref(), Some("ballot/signature"));
    let mut unsigned = AuditedBallot::new(b3, s3);
    let sig = unsigned.ballot.signature.as_mut().unwrap();
    sig.0.z = sig.0.z + vox_crypto::Scalar::ONE;
    let r = refused(c, 422, || c.post("/api/v1/referendums/r/audits", &unsigned));
    assert_eq!(r.field().as_deref(), Some("ballot/signature"));

    // 413 before parsing.
    let big = "x".repeat(100 * 1024);
    refused(c, 413, || c.request("POST", sig_path, Some(&big), &[]));

    // Idempotency-Key: replay returns the original answer; another body → 409.
    let s3 = signature(&p, &voters.creds[3], SignatureAction::Sign);
    let body = serde_json::to_string(&s3).unwrap();
    let k = [("Idempotency-Key", "sig-3")];
    let first = c.request("POST", sig_path, Some(&body), &k);
    first.expect(201);
    let size = c.size();
    let again = c.request("POST", sig_path, Some(&body), &k);
    assert_eq!((again.status, &again.body), (201, &first.body));
    assert_eq!(c.size(), size);
    let other =
        serde_json::to_string(&signature(&p, &voters.creds[4], SignatureAction::Sign)).unwrap();
    let r = refused(c, 409, || c.request("POST", sig_path, Some(&other), &k));
    assert_eq!(r.field().as_deref(), Some("Idempotency-Key"));
    refused(c, 400, || {
        c.request(
            "POST",
            sig_path,
            Some(&other),
            &[("Idempotency-Key", "has space")],
        )
    });
    // Idempotent ballots too: same key, same ballot → same receipt.
    let (b4, _) = encrypt(&m, key, &voters.creds[4], &choices(&m, false, 1));
    let body = serde_json::to_string(&b4).unwrap();
    let k = [("Idempotency-Key", "ballot-4")];
    let first = c.request("POST", ballots, Some(&body), &k);
    first.expect(201);
    let size = c.size();
    let again = c.request("POST", ballots, Some(&body), &k);
    assert_eq!((again.status, &again.body), (201, &first.body));
    assert_eq!(c.size(), size);

    check_log(c);
}

#[test]
fn rejected_requests_change_nothing_on_every_backend() {
    for db in databases("reject") {
        eprintln!("rejections on {}", db.label);
        rejections(&db);
    }
}

#[test]
fn refuses_to_start_when_writes_could_be_lost() {
    for bad in [
        "?synchronous=normal",
        "?synchronous=OFF",
        "?journal_mode=delete",
        "?journal_mode=memory",
    ] {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}{bad}", dir.path().join("vox.db").display());
        match Harness::try_start(config(&url)) {
            Err(vox_server::ServerError::Durability(reason)) => {
                eprintln!("{bad}: refused: {reason}")
            }
            Err(e) => panic!("{bad}: wrong error {e}"),
            Ok(_) => panic!("{bad}: started with a configuration that can lose writes"),
        }
    }
    assert!(matches!(
        Harness::try_start(config("sqlite::memory:")),
        Err(vox_server::ServerError::Durability(_))
    ));
    // PostgreSQL: a session with synchronous_commit=off is refused too.
    if let Some(db) = postgres_db("durability") {
        let sep = if db.url.contains('?') { '&' } else { '?' };
        let url = format!("{}{sep}options=-c%20synchronous_commit%3Doff", db.url);
        match Harness::try_start(config(&url)) {
            Err(vox_server::ServerError::Durability(reason)) => {
                eprintln!("postgres: refused: {reason}")
            }
            Err(e) => panic!("postgres: wrong error {e}"),
            Ok(_) => panic!("postgres: started with synchronous_commit=off"),
        }
        Harness::start(config(&db.url)).stop();
    }
    // FULL and EXTRA are fine.
    for good in ["", "?synchronous=full", "?synchronous=extra"] {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}{good}", dir.path().join("vox.db").display());
        Harness::start(config(&url)).stop();
    }
}

#[test]
fn rate_limits_answer_429_with_retry_after() {
    let db = sqlite_db();
    let mut cfg = config(&db.url);
    cfg.rate_limit_exempt_loopback = false;
    cfg.rate_limit_per_address = Some(vox_server::RateLimit {
        burst: 30,
        per_second: 0.5,
    });
    cfg.rate_limit_per_credential = Some(vox_server::RateLimit {
        burst: 1,
        per_second: 0.01,
    });
    let h = Harness::start(cfg);
    let c = &h.client;
    let voters = Voters::new("e", 3, |_| None);
    let eh = voters.register(c);
    let p = petition("p", eh, 600_000);
    c.post(
        "/api/v1/petitions",
        &PetitionProposal::create(p.clone(), &voters.creds[0], &mut OsRng),
    )
    .expect(201);
    // Per credential: voter 0 proposed (one token); a second request is throttled.
    let r = refused(c, 429, || {
        sign(c, &p, &voters.creds[0], SignatureAction::Withdraw)
    });
    assert!(r.retry_after.unwrap().parse::<u64>().unwrap() >= 1);
    sign(c, &p, &voters.creds[1], SignatureAction::Sign).expect(201);
    // Per address: the burst runs out.
    let mut limited = None;
    for _ in 0..40 {
        let r = c.get("/healthz");
        if r.status == 429 {
            limited = Some(r);
            break;
        }
    }
    let r = limited.expect("per-address limit never triggered");
    assert!(r.retry_after.unwrap().parse::<u64>().unwrap() >= 1);
}

/// RFC 9112 §3.2: an HTTP/1.1 request without Host is answered 400 (problem details);
/// the same request with Host, and an HTTP/1.0 request without one, are served.
#[test]
fn http11_request_without_host_is_400() {
    use std::io::{Read, Write};
    let db = sqlite_db();
    let h = Harness::start(config(&db.url));
    let addr = h.server().local_addr();
    let ask = |request: &str| {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        s.write_all(request.as_bytes()).unwrap();
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        out
    };
    let no_host = ask("GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n");
    assert!(no_host.starts_with("HTTP/1.1 400"), "{no_host}");
    assert!(no_host.contains("application/problem+json"), "{no_host}");
    assert!(no_host.contains("Host header"), "{no_host}");
    let with_host = ask("GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    assert!(with_host.starts_with("HTTP/1.1 200"), "{with_host}");
    let http10 = ask("GET /healthz HTTP/1.0\r\n\r\n");
    assert!(http10.starts_with("HTTP/1.0 200"), "{http10}");
}
