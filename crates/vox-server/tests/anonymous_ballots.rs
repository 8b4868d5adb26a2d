//! Anonymous-participation referendums over HTTP (protocol-spec/04 §4.10): ballots name a
//! ring the server derives itself and carry a linkable ring signature, never the
//! credential; a burst is checked in batches with exact answers (forged ones 422); a
//! pseudonymous ballot is refused; a revocation changes the rings (409 `rings-changed`);
//! the latest ballot is looked up by tag; the record verifies, V10.7–V10.8 included.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use rand::rngs::OsRng;
use vox_crypto::credential::Credential;
use vox_crypto::elgamal::ElectionPublicKey;
use vox_protocol::api::IndexedEntry;
use vox_protocol::ballot::{encrypt_anonymous_ballot, Ballot, BallotContext};
use vox_protocol::board::{Payload, SignedTreeHead};
use vox_protocol::manifest::{Manifest, Participation};
use vox_protocol::record::RecordHeader;
use vox_protocol::rings::{BoardView, RingSet};
use vox_testkit::*;
use vox_verifier::{MemorySource, NoProgress, Options, Status, StepId};

fn entries(c: &Client) -> Vec<IndexedEntry> {
    let n = c.size();
    c.get(&format!("/api/v1/board/entries?start=0&end={n}"))
        .parse()
}

/// The rings a device derives from the board as the server shows it now.
fn rings(c: &Client, id: &str) -> RingSet {
    let mut view = BoardView::new();
    for e in entries(c) {
        view.apply(&e.entry.payload).unwrap();
    }
    view.referendum_rings(id).unwrap()
}

fn anonymous(
    m: &Manifest,
    key: ElectionPublicKey,
    rings: &RingSet,
    cred: &Credential,
    yes: bool,
    previous: Option<vox_crypto::Hash32>,
) -> Ballot {
    let ctx = BallotContext::new(m, key);
    encrypt_anonymous_ballot(&ctx, rings, cred, &choices(m, yes, 0), previous, &mut OsRng)
        .unwrap()
        .0
}

#[test]
fn anonymous_ballots_over_http() {
    let db = sqlite_db();
    let h = Harness::start(config(&db.url));
    let c = &h.client;
    let voters = Voters::new("town", 10, |i| {
        Some(if i < 5 { "north" } else { "south" }.into())
    });
    let eh = voters.register(c);
    let trustees = Trustees::new(3);
    let m = Manifest {
        participation: Participation::Anonymous,
        ..yes_no_manifest("anon", eh, &trustees, 2)
    };
    let (key_shares, key) = open_referendum(c, &m, &trustees);
    let r0 = rings(c, "anon");
    assert_eq!(r0.rings().len(), 1, "regions pooled");

    // A pseudonymous ballot on an anonymous referendum: refused, nothing appended.
    let size = c.size();
    let (named, _) = encrypt(
        &Manifest {
            participation: Participation::Pseudonymous,
            ..m.clone()
        },
        key,
        &voters.creds[0],
        &choices(&m, true, 0),
    );
    let mut named = named;
    named.manifest_hash = vox_protocol::encoding::Hashable::canonical_hash(&m);
    c.post("/api/v1/referendums/anon/ballots", &named)
        .expect(422);
    assert_eq!(c.size(), size);

    // A burst of eight: every third one forged (a flipped response bit).
    let ballots: Vec<(Ballot, bool)> = (0..8)
        .map(|v| {
            let mut b = anonymous(&m, key, &r0, &voters.creds[v], v % 2 == 0, None);
            let forged = v % 3 == 1;
            if forged {
                let mut bytes = b.ring_signature.as_ref().unwrap().as_bytes().to_vec();
                let n = bytes.len();
                bytes[n - 32] ^= 1;
                b.ring_signature =
                    Some(vox_protocol::petition::RingSignatureBytes::from_bytes(bytes).unwrap());
            }
            (b, !forged)
        })
        .collect();
    std::thread::scope(|scope| {
        for (b, good) in &ballots {
            scope.spawn(move || {
                let r = c.post("/api/v1/referendums/anon/ballots", b);
                r.expect(if *good { 201 } else { 422 });
                if !*good {
                    assert_eq!(r.field().as_deref(), Some("ring_signature"));
                }
            });
        }
    });
    let good: Vec<&Ballot> = ballots.iter().filter(|(_, g)| *g).map(|(b, _)| b).collect();
    let cast: Vec<IndexedEntry> = entries(c)
        .into_iter()
        .filter(|e| matches!(e.entry.payload, Payload::BallotCast { .. }))
        .collect();
    assert_eq!(cast.len(), good.len(), "one entry per accepted ballot");
    for e in &cast {
        let text = serde_json::to_string(&e.entry).unwrap();
        for v in &voters.creds {
            assert!(!text.contains(&v.public_key().point().to_hex()));
        }
    }

    // Re-voting: the latest ballot is found by the tag, and the next names it.
    let first = good[0];
    let tag = first.ring_signature.as_ref().unwrap().tag().to_hex();
    let latest = c
        .get(&format!(
            "/api/v1/referendums/anon/credentials/{tag}/latest-ballot"
        ))
        .json();
    assert_eq!(latest["ballot_hash"], first.hash().to_hex());
    let stale = anonymous(&m, key, &r0, &voters.creds[0], false, None);
    c.post("/api/v1/referendums/anon/ballots", &stale)
        .expect(409);
    let again = anonymous(&m, key, &r0, &voters.creds[0], false, Some(first.hash()));
    c.post("/api/v1/referendums/anon/ballots", &again)
        .expect(201);

    // The registrar revokes voter 9: a ballot over the rings from before is 409.
    c.act(acts::revoked(
        "town",
        voters.creds[9].public_key(),
        None,
        "lost device",
    ))
    .expect(201);
    let old = anonymous(&m, key, &r0, &voters.creds[8], true, None);
    let r = c.post("/api/v1/referendums/anon/ballots", &old);
    r.expect(409);
    assert_eq!(
        r.json()["type"].as_str().unwrap().rsplit('/').next(),
        Some("rings-changed")
    );
    let r1 = rings(c, "anon");
    assert!(r1.ring_of(&voters.creds[9].public_key()).is_none());
    let new = anonymous(&m, key, &r1, &voters.creds[8], true, None);
    c.post("/api/v1/referendums/anon/ballots", &new).expect(201);

    // Close, tally, decrypt. Accepted: voters 0, 2, 3, 5, 6 (1, 4, 7 forged), voter 0
    // re-voted no, voter 8 yes: yes = 2, 6, 8; no = 0, 3, 5; one ballot per tag counted.
    let result = close_and_publish(c, &m, &trustees, &key_shares, &[0, 2]);
    assert_eq!(result["counted_ballots"], 6, "{result}");
    assert_eq!(result["counts"][0], serde_json::json!([3, 3]), "{result}");
    let header: RecordHeader = c.get("/api/v1/record").parse();
    let heads: Vec<SignedTreeHead> = c.get("/api/v1/board/tree-heads").parse();
    let list: Vec<_> = entries(c).into_iter().map(|e| e.entry).collect();
    let source = MemorySource::from_parts(&header, &heads, &list).unwrap();
    let report = vox_verifier::verify_record(&source, Options::default(), &mut NoProgress).unwrap();
    // (Obligations, V15, are about the test harness's clock, not ballots.)
    for step in [StepId::Ballots, StepId::Tally, StepId::Result] {
        let r = report.step(step).unwrap();
        assert_eq!(r.status, Status::Pass, "{step:?}: {}", r.detail);
    }
    assert_eq!(report.step(StepId::Ballots).unwrap().checked, 7);
    h.stop();
}
