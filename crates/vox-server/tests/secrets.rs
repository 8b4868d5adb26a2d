//! The server stores no secret of any role, trustee or voter: after a whole petition and
//! referendum (and a key rotation), neither the database's rows (both backends) nor, on
//! SQLite, its files (database, WAL, shared memory) contain the bytes — raw, or as hex,
//! or as text — of the roles' secret keys (the operator's included: it was given by key
//! file, so it is not stored either), of the trustees' keys, or of any voter credential.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::*;
use ed25519_dalek::{Signer, SigningKey};
use rand::rngs::OsRng;
use sha2::{Digest, Sha512};
use sqlx::{Column, Row};
use vox_crypto::credential::{Credential, CREDENTIAL_KDF_LABEL};
use vox_protocol::ballot::AuditedBallot;
use vox_protocol::board::{BoardPublicKey, Payload, Sig};
use vox_protocol::petition::{PetitionProposal, SignatureAction};
use vox_protocol::roles::{possession_message, ActSignature, Role};

/// A secret and the forms in which it could have been written.
struct Needle {
    what: String,
    forms: Vec<Vec<u8>>,
}

fn bytes_needle(what: String, secret: &[u8]) -> Needle {
    Needle {
        what,
        forms: vec![
            secret.to_vec(),
            hex::encode(secret).into_bytes(),
            hex::encode_upper(secret).into_bytes(),
        ],
    }
}

/// A credential: its text (as printed, and normalised) and its signing scalar.
fn credential_needle(i: usize, c: &Credential) -> Needle {
    let text = c.text().to_owned();
    let norm: String = text.chars().filter(|ch| *ch != '-').collect();
    let mut h = Sha512::new();
    h.update(CREDENTIAL_KDF_LABEL);
    h.update(norm.as_bytes());
    let wide: [u8; 64] = h.finalize().into();
    let scalar = curve25519_dalek::Scalar::from_bytes_mod_order_wide(&wide).to_bytes();
    // The scalar really is the credential's: its public key.
    assert_eq!(
        (curve25519_dalek::constants::RISTRETTO_BASEPOINT_POINT
            * curve25519_dalek::Scalar::from_bytes_mod_order(scalar))
        .compress()
        .to_bytes(),
        c.public_key().to_bytes()
    );
    let mut n = bytes_needle(format!("credential {i}"), &scalar);
    n.forms.push(text.into_bytes());
    n.forms.push(norm.into_bytes());
    n
}

fn find(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[track_caller]
fn assert_absent(place: &str, haystack: &[u8], needles: &[Needle]) {
    for n in needles {
        for f in &n.forms {
            assert!(!find(haystack, f), "{place} contains {} ", n.what);
        }
    }
}

/// Every text and byte column of every table.
fn rows_of(url: &str) -> Vec<(String, Vec<u8>)> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        use sqlx::{AnyConnection, Connection};
        sqlx::any::install_default_drivers();
        let mut c = AnyConnection::connect(url).await.unwrap();
        let mut out = Vec::new();
        for table in [
            "server_keys",
            "board_head",
            "board_entries",
            "merkle_nodes",
            "tree_heads",
            "cosignatures",
            "ballots",
            "latest_ballot",
            "audited_ballots",
            "idempotency",
        ] {
            let rows = sqlx::query(&format!("SELECT * FROM {table}"))
                .fetch_all(&mut c)
                .await
                .unwrap();
            for r in &rows {
                for col in r.columns() {
                    let i = col.ordinal();
                    let name = format!("{table}.{}", col.name());
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

fn sqlite_files(url: &str) -> Vec<(String, Vec<u8>)> {
    let path = url.strip_prefix("sqlite://").unwrap();
    ["", "-wal", "-shm"]
        .iter()
        .filter_map(|s| {
            let p = format!("{path}{s}");
            std::fs::read(&p).ok().map(|b| (p, b))
        })
        .collect()
}

/// A whole petition and referendum, an audit, a key rotation; returns every secret used.
fn everything(c: &Client) -> Vec<Needle> {
    let voters = Voters::new("town", 6, |i| Some(format!("r{}", i % 2)));
    let eh = voters.register(c);
    let p = published_petition(c, &voters, "p", 600_000);
    for v in 2..5 {
        sign(c, &p, &voters.creds[v], SignatureAction::Sign).expect(201);
    }
    c.act(acts::response("p", "We agree.")).expect(200);
    c.act(acts::invalidation(
        "p",
        vec![voters.creds[4].public_key()],
        "duplicate",
    ))
    .expect(200);
    // A second petition, rejected.
    let q = petition("q", eh, 600_000);
    c.post(
        "/api/v1/petitions",
        &PetitionProposal::create(q.clone(), &voters.creds[5], &mut OsRng),
    )
    .expect(201);
    sign(c, &q, &voters.creds[0], SignatureAction::Sign).expect(201);
    c.act(acts::reject("q", "out of scope")).expect(200);

    let trustees = Trustees::new(3);
    let m = manifest("r", eh, &trustees, 2, None);
    let (shares, key) = open_referendum(c, &m, &trustees);
    for (i, v) in voters.creds.iter().enumerate() {
        let (b, s) = encrypt(&m, key, v, &choices(&m, i % 2 == 0, i % 3));
        if i == 5 {
            c.post("/api/v1/referendums/r/audits", &AuditedBallot::new(b, s))
                .expect(201);
            continue;
        }
        cast(c, &m, &b).expect(201);
    }
    close_and_publish(c, &m, &trustees, &shares, &[0, 1]);

    // The petitions office rotates its key and acts with the new one.
    let log_id = roles().log_id();
    let new = SigningKey::generate(&mut OsRng);
    let new_key = BoardPublicKey(new.verifying_key());
    let rot = Payload::RoleKeyRotated {
        role: Role::PetitionsOffice,
        new_key,
        possession: Sig(new.sign(&possession_message(
            &log_id,
            Role::PetitionsOffice,
            &new_key,
        ))),
        act: ActSignature::unsigned(),
    }
    .signed_act(&log_id, issued_at(), &roles().petitions_office)
    .unwrap();
    c.post_act(&rot).expect(201);
    let p3 = petition("p3", eh, 600_000);
    c.post(
        "/api/v1/petitions",
        &PetitionProposal::create(p3.clone(), &voters.creds[1], &mut OsRng),
    )
    .expect(201);
    sign(c, &p3, &voters.creds[2], SignatureAction::Sign).expect(201);
    c.post_act(
        // The server's clock is past the referendum's close (moved there): the deadline is
        // counted from it.
        &acts::moderation(
            "p3",
            vox_protocol::petition::Moderation::Publish {
                closes_at: c.server_now() + 600_000,
                referendum: acts::terms("p3"),
            },
        )
        .signed_act(&log_id, issued_at(), &new)
        .unwrap(),
    )
    .expect(200);
    check_log(c);

    let mut needles: Vec<Needle> = Role::ALL
        .iter()
        .map(|r| bytes_needle(format!("the {r} secret key"), &roles().key(*r).to_bytes()))
        .collect();
    needles.push(bytes_needle(
        "the rotated petitions-office secret key".into(),
        &new.to_bytes(),
    ));
    for (i, t) in trustees.keys.iter().enumerate() {
        needles.push(bytes_needle(
            format!("trustee {i}'s secret key"),
            &*t.secret_bytes(),
        ));
    }
    for (i, cred) in voters.creds.iter().enumerate() {
        needles.push(credential_needle(i, cred));
    }
    needles
}

fn no_secret_stored(db: &TestDb) {
    let h = Harness::start(config(&db.url));
    let needles = everything(&h.client);
    let check = |when: &str| {
        for (col, value) in rows_of(&db.url) {
            assert_absent(
                &format!("{} ({when}): column {col}", db.label),
                &value,
                &needles,
            );
        }
        if db.label == "sqlite" {
            for (file, bytes) in sqlite_files(&db.url) {
                assert!(!bytes.is_empty() || file.ends_with("-wal"));
                assert_absent(&format!("{file} ({when})"), &bytes, &needles);
            }
        }
    };
    check("while serving");
    h.stop();
    check("after shutdown");
}

#[test]
fn the_server_stores_no_secret_on_every_backend() {
    for db in databases("secrets") {
        eprintln!("secrets on {}", db.label);
        no_secret_stored(&db);
    }
}
