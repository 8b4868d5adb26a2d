//! Concurrency: parallel casts and signatures (a credential racing itself), and two
//! server instances on one PostgreSQL appending to one log.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use common::*;
use rand::rngs::OsRng;
use rand::seq::SliceRandom;
use vox_protocol::ballot::Ballot;
use vox_protocol::board::{Receipt, SignedTreeHead};
use vox_protocol::merkle::{verify_consistency, NodeHash};
use vox_protocol::petition::{Moderation, PetitionProposal, SignatureAction};

/// Run `jobs` on `threads` threads, each job picking a client by its index.
fn run_parallel<J: Sync, R: Send>(
    jobs: &[J],
    threads: usize,
    f: impl Fn(usize, &J) -> R + Sync,
) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let out = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(job) = jobs.get(i) else { break };
                let r = f(i, job);
                out.lock().unwrap().push((i, r));
            });
        }
    });
    let mut v = out.into_inner().unwrap();
    v.sort_by_key(|(i, _)| *i);
    v.into_iter().map(|(_, r)| r).collect()
}

/// Cast in parallel through `clients`: single voters, voters racing themselves with a
/// chain of four ballots (each naming the one before as `previous`), and one ballot posted
/// several times at once. A chained ballot that arrives before its predecessor is refused
/// (409 ballot-not-latest) and sent again afterwards, as a device would. Then close,
/// tally, publish, and check one counted ballot per credential (the chain's last) and a
/// consistent log.
fn casting_race(clients: &[Client], tag: &str) {
    let c = &clients[0];
    let voters = Voters::new(&format!("e-{tag}"), 40, |_| None);
    let eh = voters.register(c);
    let trustees = Trustees::new(3);
    let m = yes_no_manifest(&format!("r-{tag}"), eh, &trustees, 2);
    let (key_shares, key) = open_referendum(c, &m, &trustees);

    let mut jobs: Vec<(usize, Ballot)> = Vec::new();
    for v in 0..30 {
        let yes = v % 3 == 0;
        jobs.push((
            v,
            encrypt(&m, key, &voters.creds[v], &choices(&m, yes, 0)).0,
        ));
    }
    for v in 30..35 {
        let mut previous = None;
        for k in 0..4 {
            let b = encrypt_after(
                &m,
                key,
                &voters.creds[v],
                &choices(&m, k % 2 == 0, 0),
                previous,
            )
            .0;
            previous = Some(b.hash());
            jobs.push((v, b));
        }
    }
    let same = encrypt(&m, key, &voters.creds[35], &choices(&m, true, 0)).0;
    for _ in 0..4 {
        jobs.push((35, same.clone()));
    }
    let chain_order = jobs.clone();
    jobs.shuffle(&mut OsRng);
    let mut answers = run_parallel(&jobs, 12, |i, (_, b)| {
        let cl = &clients[i % clients.len()];
        cast(cl, &m, b)
    });
    // Out-of-order links of a chain were refused; send them again in chain order.
    let mut refused = 0;
    for (_, b) in &chain_order {
        let Some(i) = jobs.iter().position(|(_, x)| x == b) else {
            continue;
        };
        if answers[i].status == 409 {
            assert!(
                answers[i].body.contains("ballot-not-latest"),
                "{}",
                answers[i].body
            );
            assert!(
                b.previous.is_some(),
                "a first ballot was refused: {}",
                answers[i].body
            );
            refused += 1;
            answers[i] = cast(&clients[0], &m, b);
        }
    }
    eprintln!("{refused} chained ballots arrived before their predecessor and were resent");

    let mut receipts: HashMap<String, Receipt> = HashMap::new();
    let mut by_voter: HashMap<usize, Vec<(u64, Ballot)>> = HashMap::new();
    for ((v, b), r) in jobs.iter().zip(&answers) {
        assert!(
            r.status == 201 || r.status == 200,
            "{}: {}",
            r.status,
            r.body
        );
        let receipt: Receipt = r.parse();
        receipt.verify(&c.board_key()).unwrap();
        receipt.matches_ballot(b).unwrap();
        let h = b.hash().to_hex();
        if let Some(prev) = receipts.get(&h) {
            assert_eq!(prev, &receipt, "the same ballot got two receipts");
            continue;
        }
        receipts.insert(h, receipt.clone());
        by_voter
            .entry(*v)
            .or_default()
            .push((receipt.leaf_index, b.clone()));
    }
    // Every chained ballot landed after the ballot it extends.
    for (_, b) in &chain_order {
        if let Some(p) = b.previous {
            assert!(
                receipts[&p.to_hex()].leaf_index < receipts[&b.hash().to_hex()].leaf_index,
                "a ballot landed before the ballot it extends"
            );
        }
    }
    // The duplicated ballot: one 201, three 200, one leaf.
    let dup: Vec<u16> = jobs
        .iter()
        .zip(&answers)
        .filter(|((v, _), _)| *v == 35)
        .map(|(_, r)| r.status)
        .collect();
    assert_eq!(dup.iter().filter(|s| **s == 201).count(), 1, "{dup:?}");
    assert_eq!(by_voter[&35].len(), 1);
    // Exactly one counted ballot per credential: the last in log order.
    for (v, list) in &by_voter {
        let last = list.iter().max_by_key(|(leaf, _)| *leaf).unwrap();
        let mut counted = 0;
        for (leaf, b) in list {
            let st = c
                .get(&format!(
                    "/api/v1/referendums/{}/ballots/{}",
                    m.referendum_id,
                    b.hash().to_hex()
                ))
                .json();
            assert_eq!(st["leaf_index"].as_u64().unwrap(), *leaf);
            if st["status"] == "counted" {
                counted += 1;
                assert_eq!(
                    leaf, &last.0,
                    "voter {v}: the counted ballot is not the last"
                );
            }
        }
        assert_eq!(counted, 1, "voter {v}");
    }
    let leaves: HashSet<u64> = receipts.values().map(|r| r.leaf_index).collect();
    assert_eq!(leaves.len(), receipts.len(), "two ballots at one leaf");

    let result = close_and_publish(c, &m, &trustees, &key_shares, &[1, 2]);
    assert_eq!(result["counted_ballots"], 36);
    let yes = result["counts"][0][0].as_u64().unwrap();
    let no = result["counts"][0][1].as_u64().unwrap();
    assert_eq!(yes + no, 36);
    check_log(c);
}

#[test]
fn parallel_casts_one_counted_ballot_per_credential() {
    for db in databases("cast") {
        eprintln!("casting race on {}", db.label);
        let h = Harness::start(config(&db.url));
        casting_race(std::slice::from_ref(&h.client), "one");
    }
}

fn signing_race(db: &TestDb) {
    let h = Harness::start(config(&db.url));
    let c = &h.client;
    let voters = Voters::new("e", 40, |i| Some(format!("region-{}", i % 2)));
    voters.register(c);
    let p = published_petition(c, &voters, "p", 600_000);
    // Voters 2..32 once each; voter 39 four times with four different signatures.
    let mut jobs: Vec<usize> = (2..32).collect();
    jobs.extend([39; 4]);
    jobs.shuffle(&mut OsRng);
    let sigs: Vec<_> = jobs
        .iter()
        .map(|v| signature(&p, &voters.creds[*v], SignatureAction::Sign))
        .collect();
    let answers = run_parallel(&sigs, 12, |_, s| {
        c.post("/api/v1/petitions/p/signatures", s)
    });
    for (v, r) in jobs.iter().zip(&answers) {
        if *v != 39 {
            r.expect(201);
        }
    }
    let racer: Vec<u16> = jobs
        .iter()
        .zip(&answers)
        .filter(|(v, _)| **v == 39)
        .map(|(_, r)| r.status)
        .collect();
    assert_eq!(racer.iter().filter(|s| **s == 201).count(), 1, "{racer:?}");
    assert_eq!(racer.iter().filter(|s| **s == 409).count(), 3, "{racer:?}");
    let d = c.get("/api/v1/petitions/p").json();
    assert_eq!(d["count"], 2 + 30 + 1);
    // Every threshold entry was emitted exactly once, at the right count.
    let entries = check_log(c);
    let thresholds: Vec<(String, u64)> = entries
        .iter()
        .filter_map(|e| match &e.payload {
            vox_protocol::board::Payload::PetitionThreshold { kind, count, .. } => {
                Some((format!("{kind:?}"), *count))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        thresholds,
        vec![
            ("Sponsor".into(), 2),
            ("Response".into(), 3),
            ("Referendum".into(), 4)
        ]
    );
}

#[test]
fn parallel_signatures_one_per_credential() {
    for db in databases("sign") {
        eprintln!("signing race on {}", db.label);
        signing_race(&db);
    }
}

#[test]
fn two_servers_on_one_postgres_keep_one_log() {
    let Some(db) = postgres_db("two") else {
        eprintln!("skipped: DATABASE_URL is not a PostgreSQL URL");
        return;
    };
    let a = Harness::start(config(&db.url));
    let b = Harness::start(config(&db.url));
    let cb = b.client.clone();
    assert_eq!(a.client.board_key(), cb.board_key());
    let clients = [a.client.clone(), cb.clone()];
    // Ballots race through both processes.
    casting_race(&clients, "two");
    // A petition proposed on one process, signed through both at once, moderated on the
    // other: each validates against the other's entries (catch-up under the lock).
    let voters = Voters::new("pe", 24, |_| None);
    let eh = voters.register(&clients[1]);
    let p = petition("p2", eh, 600_000);
    clients[0]
        .post(
            "/api/v1/petitions",
            &PetitionProposal::create(p.clone(), &voters.creds[0], &mut OsRng),
        )
        .expect(201);
    sign(&clients[1], &p, &voters.creds[1], SignatureAction::Sign).expect(201);
    // The ballot race moved server a's clock to its referendum's closing time; server b
    // keeps the real time, and the board's time is the later of the two (entries never go
    // back in time). Align b's clock, and publish against the board's time, not the
    // test's wall clock.
    let board_now = clients.iter().map(|c| c.server_now()).max().unwrap_or(0);
    clients[1].advance_to(board_now);
    clients[1]
        .act(acts::moderation(
            "p2",
            Moderation::Publish {
                closes_at: board_now + 300_000,
                referendum: acts::terms("p2"),
            },
        ))
        .expect(200);
    let mut jobs: Vec<usize> = (2..24).collect();
    jobs.extend([5; 3]);
    let sigs: Vec<_> = jobs
        .iter()
        .map(|v| signature(&p, &voters.creds[*v], SignatureAction::Sign))
        .collect();
    let answers = run_parallel(&sigs, 8, |i, s| {
        clients[i % 2].post("/api/v1/petitions/p2/signatures", s)
    });
    let ok = answers.iter().filter(|r| r.status == 201).count();
    assert_eq!(ok, 22, "one signature per credential across both processes");
    assert!(answers.iter().all(|r| r.status == 201 || r.status == 409));
    for cl in &clients {
        assert_eq!(cl.get("/api/v1/petitions/p2").json()["count"], 24);
    }
    let sa = a.client.sth();
    let sb = cb.sth();
    assert_eq!(sa, sb);
    check_log(&cb);
    // Every tree head either process issued is consistent with the final one: no fork.
    let final_head = sa;
    let mut since = 0;
    let mut heads: Vec<SignedTreeHead> = Vec::new();
    loop {
        let page: Vec<SignedTreeHead> = a
            .client
            .get(&format!("/api/v1/board/tree-heads?since={since}"))
            .parse();
        let Some(last) = page.last() else { break };
        since = last.head.tree_size + 1;
        heads.extend(page);
    }
    assert_eq!(heads.last().unwrap(), &final_head);
    for h in &heads {
        h.verify(&a.client.board_key()).unwrap();
        let p = cb
            .get(&format!(
                "/api/v1/board/consistency?first={}&second={}",
                h.head.tree_size, final_head.head.tree_size
            ))
            .json();
        let proof: Vec<NodeHash> = serde_json::from_value(p["proof"].clone()).unwrap();
        verify_consistency(
            h.head.tree_size,
            final_head.head.tree_size,
            &h.head.root_hash,
            &final_head.head.root_hash,
            &proof,
        )
        .unwrap();
    }
}
