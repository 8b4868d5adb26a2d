//! Enrolment by one-time code, revocation and freezing (protocol-spec/04-ballots.md
//! §4.1.2–§4.1.4, api.md): the registrar commits to the codes' hashes, citizens' devices
//! enrol their own credentials (the server never sees a secret), each code is spent
//! once (also under a race), the registrar freezes exactly the enrolled list, and a
//! revoked credential can neither sign nor vote any more, while its replacement takes
//! its place without a second vote or signature for the same citizen. Every refusal is
//! problem details and appends nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::sync::Barrier;

use common::*;
use rand::rngs::OsRng;
use sqlx::Row;
use vox_crypto::credential::Credential;
use vox_crypto::Hash32;
use vox_protocol::board::Payload;
use vox_protocol::electorate::EnrolmentRequest;
use vox_protocol::enrolment::{EnrolmentCode, EnrolmentOpening};
use vox_protocol::petition::{PetitionProposal, SignatureAction};
use vox_protocol::roles::Role;

const ID: &str = "town";

/// `f` is answered `status` with the problem `slug`, and the board does not change.
#[track_caller]
fn refused(c: &Client, status: u16, slug: &str, f: impl FnOnce() -> Resp) -> Resp {
    let before = c.size();
    let r = f();
    assert_eq!(r.status, status, "expected {status} {slug}: {}", r.body);
    assert_eq!(
        r.content_type.as_deref(),
        Some("application/problem+json"),
        "{}",
        r.body
    );
    assert_eq!(
        r.json()["type"],
        format!("https://vox.invalid/problems/{slug}"),
        "{}",
        r.body
    );
    assert_eq!(c.size(), before, "a refused request changed the board");
    r
}

/// An act signed by another role than the one it needs.
fn signed_by(act: &Payload, role: Role) -> Payload {
    act.clone()
        .signed_act(&roles().log_id(), issued_at(), roles().key(role))
        .unwrap()
}

/// Unsigned, and signed by the wrong role: 403, nothing appended.
#[track_caller]
fn forgeries_refused(c: &Client, act: &Payload) {
    for forged in [
        act.clone(),
        signed_by(act, Role::PetitionsOffice),
        signed_by(act, Role::Operator),
    ] {
        let r = refused(c, 403, "forbidden", || c.post_act(&forged));
        assert_eq!(r.field().as_deref(), Some("act/signature"), "{}", r.body);
    }
}

fn request(region: Option<&str>, code: &EnrolmentCode, cred: &Credential) -> EnrolmentRequest {
    EnrolmentRequest::create(ID, region, Some(code), cred, &mut OsRng)
}

fn enrol_path() -> String {
    format!("/api/v1/electorates/{ID}/credentials")
}

fn enrol(c: &Client, req: &EnrolmentRequest) -> Resp {
    c.post(&enrol_path(), req)
}

/// Enrol `cred` with `code`: 201 with the public key and the leaf.
#[track_caller]
fn enrolled(c: &Client, region: Option<&str>, code: &EnrolmentCode, cred: &Credential) {
    let r = enrol(c, &request(region, code, cred));
    r.expect(201);
    let v = r.json();
    assert_eq!(v["electorate_id"], ID);
    assert_eq!(v["credential"], hex::encode(cred.public_key().to_bytes()));
    assert_eq!(v["leaf_index"].as_u64().unwrap() + 1, c.size());
}

fn show(c: &Client) -> serde_json::Value {
    let r = c.get(&format!("/api/v1/electorates/{ID}"));
    r.expect(200);
    r.json()
}

/// `(region, committed, enrolled)` of the electorate page.
fn regions(v: &serde_json::Value) -> Vec<(Option<String>, u64, u64)> {
    v["regions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["region"].as_str().map(str::to_owned),
                r["committed"].as_u64().unwrap(),
                r["enrolled"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn region(r: &str) -> Option<String> {
    Some(r.to_owned())
}

fn hash_of(v: &serde_json::Value) -> Hash32 {
    Hash32::from_hex(v["electorate_hash"].as_str().unwrap()).unwrap()
}

/// Propose petition `id` by `proposer`, sponsored by `sponsor`, published.
fn published(
    c: &Client,
    id: &str,
    eh: Hash32,
    proposer: &Credential,
    sponsor: &Credential,
) -> vox_protocol::petition::Petition {
    let p = petition(id, eh, 600_000);
    c.post(
        "/api/v1/petitions",
        &PetitionProposal::create(p.clone(), proposer, &mut OsRng),
    )
    .expect(201);
    sign(c, &p, sponsor, SignatureAction::Sign).expect(201);
    c.act(acts::publish(id, 600_000)).expect(200);
    p
}

/// Every text and byte value stored in the board's tables.
fn stored_rows(url: &str) -> Vec<(String, Vec<u8>)> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        use sqlx::{AnyConnection, Column, Connection};
        sqlx::any::install_default_drivers();
        let mut c = AnyConnection::connect(url).await.unwrap();
        let mut out = Vec::new();
        for table in ["board_entries", "idempotency", "ballots", "latest_ballot"] {
            let rows = sqlx::query(&format!("SELECT * FROM {table}"))
                .fetch_all(&mut c)
                .await
                .unwrap();
            for r in &rows {
                for col in r.columns() {
                    let name = format!("{table}.{}", col.name());
                    let i = col.ordinal();
                    if let Ok(Some(b)) = r.try_get::<Option<Vec<u8>>, _>(i) {
                        out.push((name, b));
                    } else if let Ok(Some(s)) = r.try_get::<Option<String>, _>(i) {
                        out.push((name, s.into_bytes()));
                    }
                }
            }
        }
        c.close().await.unwrap();
        out
    })
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn enrolment_lifecycle(db: &TestDb) {
    let h = Harness::start(config(&db.url));
    let c = &h.client;

    // ---- opening ----------------------------------------------------------------------
    let (opening, letters) = EnrolmentOpening::draw(
        ID,
        "Town of Vox",
        &[(region("north"), 4), (region("south"), 2)],
        &mut OsRng,
    )
    .unwrap();
    let code = |r: &str, i: usize| -> EnrolmentCode {
        letters
            .iter()
            .filter(|(reg, _)| reg.as_deref() == Some(r))
            .nth(i)
            .unwrap()
            .1
            .clone()
    };
    let open = acts::enrolment_opened(&opening);
    forgeries_refused(c, &open);
    let r = c.act(open.clone());
    r.expect(201);
    assert_eq!(r.json()["electorate_id"], ID);
    let opening_leaf = r.json()["leaf_index"].as_u64().unwrap();
    // The id is taken: by another opening, and by a registration.
    refused(c, 409, "already-exists", || c.act(open.clone()));
    let whole = Voters::new(ID, 2, |_| None);
    refused(c, 409, "already-exists", || {
        c.act(acts::electorate(&whole.electorate))
    });

    let v = show(c);
    assert_eq!(v["state"], "enrolling");
    assert_eq!(v["leaf_index"].as_u64(), Some(opening_leaf));
    assert_eq!(
        regions(&v),
        vec![(region("north"), 4, 0), (region("south"), 2, 0)]
    );
    assert_eq!(
        (v["revoked"].as_u64(), v["unspent_codes"].as_u64()),
        (Some(0), Some(6))
    );
    assert!(v["electorate"]["entries"].as_array().unwrap().is_empty());

    // ---- enrolment --------------------------------------------------------------------
    let a = Credential::generate(&mut OsRng);
    let b = Credential::generate(&mut OsRng);
    let cc = Credential::generate(&mut OsRng);
    enrolled(c, Some("north"), &code("north", 0), &a);
    enrolled(c, Some("north"), &code("north", 1), &b);
    enrolled(c, Some("south"), &code("south", 0), &cc);

    // The same code again: spent (from then on, for anyone).
    let stranger = Credential::generate(&mut OsRng);
    let r = refused(c, 409, "code-spent", || {
        enrol(c, &request(Some("north"), &code("north", 0), &stranger))
    });
    assert_eq!(r.field().as_deref(), Some("code"));
    // Two devices race with one code: exactly one wins.
    let racers = [
        Credential::generate(&mut OsRng),
        Credential::generate(&mut OsRng),
    ];
    let before = c.size();
    let barrier = Barrier::new(2);
    let answers: Vec<Resp> = std::thread::scope(|s| {
        let handles: Vec<_> = racers
            .iter()
            .map(|cred| {
                let req = request(Some("north"), &code("north", 2), cred);
                let (c, barrier) = (c.clone(), &barrier);
                s.spawn(move || {
                    barrier.wait();
                    enrol(&c, &req)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let won: Vec<usize> = (0..2).filter(|i| answers[*i].status == 201).collect();
    assert_eq!(won.len(), 1, "{answers:?}");
    let lost = &answers[1 - won[0]];
    assert_eq!(lost.status, 409, "{}", lost.body);
    assert!(lost.body.contains("/code-spent"), "{}", lost.body);
    assert_eq!(c.size(), before + 1);
    let w = &racers[won[0]];

    // A code the registrar never committed to; a code of another region; a key already
    // enrolled; a bad signature; a code not in its normalised form; another electorate
    // in the path; an unknown electorate.
    let r = refused(c, 422, "code-not-committed", || {
        enrol(
            c,
            &request(
                Some("north"),
                &EnrolmentCode::generate(&mut OsRng),
                &stranger,
            ),
        )
    });
    assert_eq!(r.field().as_deref(), Some("code"));
    refused(c, 422, "code-not-committed", || {
        enrol(c, &request(Some("north"), &code("south", 1), &stranger))
    });
    refused(c, 409, "credential-enrolled", || {
        enrol(c, &request(Some("south"), &code("south", 1), &a))
    });
    let mut bad = request(Some("south"), &code("south", 1), &stranger);
    bad.signature.0.z = bad.signature.0.z + vox_crypto::Scalar::from_u64(1);
    let r = refused(c, 422, "invalid", || enrol(c, &bad));
    assert_eq!(r.field().as_deref(), Some("signature"));
    let mut lower = request(Some("south"), &code("south", 1), &stranger);
    lower.code = Some(code("south", 1).grouped().to_lowercase());
    let r = refused(c, 422, "invalid", || enrol(c, &lower));
    assert_eq!(r.field().as_deref(), Some("code"));
    let ok = request(Some("south"), &code("south", 1), &stranger);
    let r = refused(c, 422, "invalid", || {
        c.post("/api/v1/electorates/elsewhere/credentials", &ok)
    });
    assert_eq!(r.field().as_deref(), Some("electorate_id"));
    let mut other = ok.clone();
    other.electorate_id = "elsewhere".into();
    refused(c, 404, "not-found", || {
        c.post("/api/v1/electorates/elsewhere/credentials", &other)
    });

    // Revoked before the freeze: simply left out of the list.
    let x = Credential::generate(&mut OsRng);
    enrolled(c, Some("north"), &code("north", 3), &x);
    let revoke_x = acts::revoked(ID, x.public_key(), None, "moved away");
    forgeries_refused(c, &revoke_x);
    c.act(revoke_x).expect(201);
    refused(c, 409, "not-current", || {
        c.act(acts::revoked(ID, x.public_key(), None, "again"))
    });

    let v = show(c);
    assert_eq!(v["state"], "enrolling");
    assert_eq!(
        regions(&v),
        vec![(region("north"), 4, 3), (region("south"), 2, 1)]
    );
    assert_eq!(
        (v["revoked"].as_u64(), v["unspent_codes"].as_u64()),
        (Some(1), Some(1))
    );
    let listed: Vec<String> = v["electorate"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["credential"].as_str().unwrap().to_owned())
        .collect();
    let hex = |c: &Credential| hex::encode(c.public_key().to_bytes());
    assert_eq!(listed, vec![hex(&a), hex(&b), hex(&cc), hex(w)]);
    let pending = hash_of(&v);

    // Not usable while enrolling, even under the hash it would have now.
    let r = refused(c, 409, "electorate-not-frozen", || {
        c.post(
            "/api/v1/petitions",
            &PetitionProposal::create(petition("early", pending, 600_000), &a, &mut OsRng),
        )
    });
    assert_eq!(r.field().as_deref(), Some("petition/electorate_hash"));
    let trustees = Trustees::new(3);
    refused(c, 409, "electorate-not-frozen", || {
        c.act(acts::created(&yes_no_manifest(
            "early", pending, &trustees, 2,
        )))
    });

    // ---- freeze -----------------------------------------------------------------------
    let wrong = acts::frozen(ID, Hash32::sha256(&[b"not the list".as_slice()]));
    forgeries_refused(c, &wrong);
    let r = refused(c, 422, "hash-mismatch", || c.act(wrong));
    assert_eq!(r.field().as_deref(), Some("electorate_hash"));
    assert!(r.body.contains(&pending.to_hex()), "{}", r.body);
    let r = c.act(acts::frozen(ID, pending));
    r.expect(201);
    assert_eq!(hash_of(&r.json()), pending);
    let frozen_leaf = r.json()["leaf_index"].as_u64().unwrap();
    refused(c, 409, "frozen", || c.act(acts::frozen(ID, pending)));
    let v = show(c);
    assert_eq!(v["state"], "frozen");
    assert_eq!(hash_of(&v), pending);
    assert_eq!(v["leaf_index"].as_u64(), Some(frozen_leaf));
    let by_hash = c.get(&format!("/api/v1/electorates/{}", pending.to_hex()));
    assert_eq!(by_hash.json()["state"], "frozen");
    let eh = pending;

    // An original code after the freeze.
    refused(c, 409, "electorate-frozen", || {
        enrol(c, &request(Some("south"), &code("south", 1), &stranger))
    });

    // ---- taking part, revocation, replacement -----------------------------------------
    let p1 = published(c, "p1", eh, &a, &cc);
    let p2 = published(c, "p2", eh, &a, w);
    let m = yes_no_manifest("r", eh, &trustees, 2);
    let (_, key) = open_referendum(c, &m, &trustees);
    let ballot = |cred: &Credential| encrypt(&m, key, cred, &choices(&m, true, 0)).0;
    cast(c, &m, &ballot(&cc)).expect(201);

    // C is revoked, with a replacement code for its region.
    let rc = EnrolmentCode::generate(&mut OsRng);
    c.act(acts::revoked(
        ID,
        cc.public_key(),
        Some(rc.hash(ID, Some("south"))),
        "lost",
    ))
    .expect(201);
    let r = refused(c, 403, "credential-revoked", || {
        sign(c, &p2, &cc, SignatureAction::Sign)
    });
    assert_eq!(r.field().as_deref(), Some("credential"));
    refused(c, 403, "credential-revoked", || cast(c, &m, &ballot(&cc)));
    refused(c, 403, "credential-revoked", || {
        c.post(
            "/api/v1/petitions",
            &PetitionProposal::create(petition("p3", eh, 600_000), &cc, &mut OsRng),
        )
    });

    // Its replacement enrols (after the freeze: a replacement code), once.
    let r_cred = Credential::generate(&mut OsRng);
    enrolled(c, Some("south"), &rc, &r_cred);
    refused(c, 409, "code-spent", || {
        enrol(c, &request(Some("south"), &rc, &stranger))
    });
    // One signature and one vote per citizen.
    refused(c, 409, "replaced-credential-took-part", || {
        sign(c, &p1, &r_cred, SignatureAction::Sign)
    });
    sign(c, &p2, &r_cred, SignatureAction::Sign).expect(201);
    refused(c, 409, "replaced-credential-took-part", || {
        cast(c, &m, &ballot(&r_cred))
    });

    // W (who never voted) is replaced: the replacement votes.
    let rw = EnrolmentCode::generate(&mut OsRng);
    c.act(acts::revoked(
        ID,
        w.public_key(),
        Some(rw.hash(ID, Some("north"))),
        "stolen",
    ))
    .expect(201);
    let r2 = Credential::generate(&mut OsRng);
    enrolled(c, Some("north"), &rw, &r2);
    cast(c, &m, &ballot(&r2)).expect(201);

    // A replacement code the registrar committed for the wrong region.
    let rb = EnrolmentCode::generate(&mut OsRng);
    c.act(acts::revoked(
        ID,
        b.public_key(),
        Some(rb.hash(ID, Some("south"))),
        "lost",
    ))
    .expect(201);
    refused(c, 422, "region", || {
        enrol(c, &request(Some("south"), &rb, &stranger))
    });

    let v = show(c);
    assert_eq!(v["state"], "frozen");
    assert_eq!(
        regions(&v),
        vec![(region("north"), 4, 2), (region("south"), 2, 1)]
    );
    // x, c, w, b revoked; south code 1 and b's replacement unspent.
    assert_eq!(
        (v["revoked"].as_u64(), v["unspent_codes"].as_u64()),
        (Some(4), Some(2))
    );

    // ---- no secret stored, and the state replays from the database ---------------------
    let entries = check_log(c);
    let enrolments: Vec<&EnrolmentRequest> = entries
        .iter()
        .filter_map(|e| match &e.payload {
            Payload::CredentialEnrolled { enrolment } => Some(enrolment),
            _ => None,
        })
        .collect();
    assert_eq!(enrolments.len(), 7);
    let url = db.url.clone();
    h.stop();
    let rows = stored_rows(&url);
    let bodies: Vec<&[u8]> = rows
        .iter()
        .filter(|(name, _)| name == "board_entries.body")
        .map(|(_, b)| b.as_slice())
        .collect();
    for cred in [&a, &b, &cc, w, &x, &r_cred, &r2] {
        let public = hex(cred);
        assert!(
            bodies.iter().any(|b| contains(b, public.as_bytes())),
            "the public key is on the board"
        );
        let text = cred.text().to_owned();
        let norm: String = text.chars().filter(|ch| *ch != '-').collect();
        for (name, value) in &rows {
            assert!(
                !contains(value, text.as_bytes()),
                "{name} holds a credential"
            );
            assert!(
                !contains(value, norm.as_bytes()),
                "{name} holds a credential"
            );
        }
    }

    let h = Harness::start(config(&url));
    let c = &h.client;
    let again = show(c);
    assert_eq!(
        again, v,
        "the replay from the database gives the same electorate"
    );
    refused(c, 403, "credential-revoked", || {
        sign(c, &p2, &cc, SignatureAction::Sign)
    });
    refused(c, 409, "replaced-credential-took-part", || {
        sign(c, &p1, &r_cred, SignatureAction::Sign)
    });
    refused(c, 409, "electorate-frozen", || {
        enrol(c, &request(Some("south"), &code("south", 1), &stranger))
    });
}

#[test]
fn enrolment_by_code_on_every_backend() {
    for db in databases("enrol") {
        eprintln!("enrolment on {}", db.label);
        enrolment_lifecycle(&db);
    }
}

/// Two processes on one database; B's fold lags behind A's. A revocation appended
/// through A refuses B's ballot and signature under the board lock (B's own state still
/// shows the credential in standing); a replacement enrolled through A is accepted by B
/// (which catches up rather than refusing it as unknown). Revocation and replacement work
/// on an electorate registered whole too.
fn lagging_process(db: &TestDb) {
    let a = Harness::start(config(&db.url));
    let mut cfg = config(&db.url);
    cfg.sweep_interval_ms = 3_600_000;
    let b = Harness::start(cfg);
    let (ca, cb) = (&a.client, &b.client);

    let voters = Voters::new(ID, 4, |_| None);
    let eh = voters.register(ca);
    let p = published(ca, "p", eh, &voters.creds[2], &voters.creds[3]);
    let trustees = Trustees::new(3);
    let m = yes_no_manifest("r", eh, &trustees, 2);
    let (_, key) = open_referendum(ca, &m, &trustees);
    // B folds up to here.
    assert_eq!(cb.get("/api/v1/referendums/r").json()["state"], "open");
    assert_eq!(cb.get("/api/v1/petitions/p").json()["stage"], "open");

    let ballot = |cred: &Credential| encrypt(&m, key, cred, &choices(&m, true, 0)).0;
    let revoked = &voters.creds[0];
    let code = EnrolmentCode::generate(&mut OsRng);
    ca.act(acts::revoked(
        ID,
        revoked.public_key(),
        Some(code.hash(ID, None)),
        "lost",
    ))
    .expect(201);
    // (`refused` asks the board's size through A: a read through B would catch it up.)
    let r = refused(ca, 403, "credential-revoked", || {
        cast(cb, &m, &ballot(revoked))
    });
    assert!(
        r.body.contains("revoked by the registrar at leaf"),
        "{}",
        r.body
    );
    // Another ballot of B's fold's past (the writer folded): refused by the handler.
    refused(ca, 403, "credential-revoked", || {
        cast(cb, &m, &ballot(revoked))
    });

    // B has not folded the replacement's enrolment, yet accepts it.
    let replacement = Credential::generate(&mut OsRng);
    ca.post(
        &enrol_path(),
        &EnrolmentRequest::create(ID, None, Some(&code), &replacement, &mut OsRng),
    )
    .expect(201);
    cast(cb, &m, &ballot(&replacement)).expect(201);
    sign(cb, &p, &replacement, SignatureAction::Sign).expect(201);

    // Revoked through A while B still shows the replacement in standing: B's petition
    // signature is refused under the lock.
    ca.act(acts::revoked(ID, replacement.public_key(), None, "stolen"))
        .expect(201);
    let p2 = published(ca, "p2", eh, &voters.creds[2], &voters.creds[3]);
    let r = refused(ca, 403, "credential-revoked", || {
        sign(cb, &p2, &replacement, SignatureAction::Sign)
    });
    assert_eq!(r.field().as_deref(), Some("credential"));
    let v = show(cb);
    assert_eq!(v["state"], "frozen");
    assert_eq!(regions(&v), vec![(None, 0, 3)]);
    assert_eq!(
        (v["revoked"].as_u64(), v["unspent_codes"].as_u64()),
        (Some(2), Some(0))
    );
    check_log(cb);
}

#[test]
fn a_lagging_process_refuses_revoked_credentials_under_the_lock() {
    for db in databases("enrol_stale") {
        eprintln!("two processes on {}", db.label);
        lagging_process(&db);
    }
}
