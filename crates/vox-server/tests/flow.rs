//! The whole system over HTTP: petition → triggered referendum → key ceremony (3
//! trustees, k = 2) → casting with re-votes and an audit → close → tally → 2 decryption
//! shares → result; then the exported log reproduces the signed tree head.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::*;
use vox_protocol::api;
use vox_protocol::ballot::AuditedBallot;
use vox_protocol::board::{Payload, Receipt, SignedTreeHead};
use vox_protocol::merkle::{verify_consistency, verify_inclusion, NodeHash};
use vox_protocol::petition::SignatureAction;
use vox_protocol::record::RecordHeader;

/// The answer is exactly what its `vox_protocol::api` type serializes (vox_protocol::api
/// is the one contract of server and clients): the client's type reads every field the
/// server wrote and writes back the same bytes (names, order, omitted fields).
fn contract<T: serde::de::DeserializeOwned + serde::Serialize>(r: &common::Resp) -> T {
    let t: T = serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{e}: {}", r.body));
    assert_eq!(serde_json::to_string(&t).unwrap(), r.body);
    t
}

fn full_flow(db: &TestDb) {
    let h = Harness::start(config(&db.url));
    let c = &h.client;
    c.get("/healthz").expect(200);
    // The board starts with its genesis and shows the roles' keys.
    let info = c.get("/api/v1/board").json();
    contract::<api::BoardInfo>(&c.get("/api/v1/board"));
    assert_eq!(info["tree_size"], 1);
    assert_eq!(info["genesis"], serde_json::to_value(genesis()).unwrap());
    assert_eq!(
        info["roles"],
        serde_json::to_value(roles().public_keys()).unwrap()
    );
    assert_eq!(info["log_id"], roles().log_id().to_hex());
    assert_eq!(c.get("/api/v1/").json()["api"], "v1");
    let openapi = c.get("/api/v1/openapi.json").json();
    assert_eq!(openapi["openapi"], "3.1.0");

    // Electorate: regions north (4) and south (2).
    let voters = Voters::new("town", 6, |i| {
        Some(if i < 4 { "north" } else { "south" }.into())
    });
    let eh = voters.register(c);
    let shown = c.get("/api/v1/electorates/town").json();
    assert_eq!(shown["electorate_hash"], eh.to_hex());
    contract::<api::ElectorateInfo>(&c.get("/api/v1/electorates/town"));

    // Petition lifecycle.
    let mut p = petition("p1", eh, 60_000);
    p.response_due_ms = 150;
    let proposal = vox_protocol::petition::PetitionProposal::create(
        p.clone(),
        &voters.creds[0],
        &mut rand::rngs::OsRng,
    );
    let r = c.post("/api/v1/petitions", &proposal);
    r.expect(201);
    assert_eq!(r.json()["stage"], "proposed");
    contract::<api::PetitionSummary>(&r);
    // Moderation before enough sponsors is a state conflict.
    c.act(acts::publish("p1", 60_000)).expect(409);
    let r = sign(c, &p, &voters.creds[1], SignatureAction::Sign);
    r.expect(201);
    assert_eq!(r.json()["count"], 2);
    contract::<api::SignatureAccepted>(&r);
    let detail = c.get("/api/v1/petitions/p1").json();
    assert_eq!(detail["stage"], "awaiting-moderation");
    // Published with the terms of the referendum its threshold obliges: id r1.
    let r = c.act(acts::moderation(
        "p1",
        vox_protocol::petition::Moderation::Publish {
            closes_at: now_ms() + 60_000,
            referendum: vox_protocol::petition::ReferendumTerms {
                referendum_id: "r1".into(),
                ..acts::terms("p1")
            },
        },
    ));
    r.expect(200);
    assert_eq!(r.json()["stage"], "open");
    // The signature receipt's inclusion proof checks against its signed tree head.
    let r = sign(c, &p, &voters.creds[2], SignatureAction::Sign);
    r.expect(201);
    let v = r.json();
    let sth: SignedTreeHead = serde_json::from_value(v["tree_head"].clone()).unwrap();
    sth.verify(&c.board_key()).unwrap();
    let proof: Vec<NodeHash> = serde_json::from_value(v["inclusion_proof"].clone()).unwrap();
    let leaf = v["leaf_index"].as_u64().unwrap();
    let entries = check_log(c);
    verify_inclusion(
        &entries[leaf as usize].leaf_hash(),
        leaf,
        sth.head.tree_size,
        &proof,
        &sth.head.root_hash,
    )
    .unwrap();
    // Response threshold (3) reached: a response is due, and becomes overdue.
    assert!(matches!(
        entries.last().unwrap().payload,
        Payload::PetitionThreshold { count: 3, .. }
    ));
    std::thread::sleep(std::time::Duration::from_millis(250));
    let d = c.get("/api/v1/petitions/p1").json();
    assert_eq!(d["response_overdue"], true, "{d}");
    assert!(d["response_due_by"].as_i64().is_some());
    c.act(acts::response("p1", "We will consider it."))
        .expect(200);
    let d = c.get("/api/v1/petitions/p1").json();
    assert_eq!(d["response_overdue"], false);
    assert_eq!(d["response"], "We will consider it.");
    // Voter 4 signs and withdraws; voter 5 signs and is invalidated; voter 3 triggers.
    sign(c, &p, &voters.creds[4], SignatureAction::Sign).expect(201);
    let r = sign(c, &p, &voters.creds[4], SignatureAction::Withdraw);
    r.expect(201);
    assert_eq!(r.json()["count"], 3);
    sign(c, &p, &voters.creds[5], SignatureAction::Sign).expect(201);
    let r = c.act(acts::invalidation(
        "p1",
        vec![voters.creds[5].public_key()],
        "proven duplicate person",
    ));
    r.expect(200);
    assert_eq!(r.json()["count"], 3);
    sign(c, &p, &voters.creds[3], SignatureAction::Sign).expect(201);
    let d = c.get("/api/v1/petitions/p1").json();
    assert_eq!(d["count"], 4);
    assert_eq!(
        d["thresholds_reached"],
        serde_json::json!(["sponsor", "response", "referendum"])
    );
    // North has 4 signers (the proposer included); south has none left (withdrawn,
    // invalidated).
    assert_eq!(d["region_counts"], serde_json::json!([["north", 4]]));
    assert_eq!(d["invalidations"][0]["count"], 1);
    contract::<api::PetitionDetail>(&c.get("/api/v1/petitions/p1"));
    contract::<Vec<api::PetitionSummary>>(&c.get("/api/v1/petitions"));
    contract::<api::PolicyView>(&c.get("/api/v1/petition-policy"));
    let list = c.get("/api/v1/petitions").json();
    assert_eq!(list[0]["id"], "p1");
    let csv = c.get("/api/v1/petitions.csv");
    csv.expect(200);
    assert!(csv.content_type.as_deref().unwrap().starts_with("text/csv"));
    assert!(csv
        .body
        .lines()
        .nth(1)
        .unwrap()
        .starts_with("p1,Do the thing p1,open,4,"));
    // Open data: the petition's counts in total, per region (south, with no signer
    // left, is below region_min_group = 2 and withheld) and per day.
    let counts = c.get("/api/v1/petitions/p1/counts.json").json();
    contract::<api::CountsData>(&c.get("/api/v1/petitions/p1/counts.json"));
    assert_eq!(counts["count"], 4);
    assert_eq!(counts["region_min_group"], 2);
    assert_eq!(
        counts["regions"],
        serde_json::json!([{"region": "north", "count": 4}])
    );
    // Every signature so far is from the last minutes (the day may have just changed,
    // hence at most two days, the last one ending at 4).
    let daily = counts["daily"].as_array().unwrap();
    assert!((1..=2).contains(&daily.len()), "{counts}");
    let today = daily.last().unwrap()["date"].as_str().unwrap().to_owned();
    let now = now_ms();
    assert!(
        [now, now - 600_000]
            .map(vox_protocol::time::utc_date)
            .contains(&today),
        "{counts}"
    );
    assert_eq!(daily.last().unwrap()["count"], 4);
    let counts_csv = c.get("/api/v1/petitions/p1/counts.csv");
    counts_csv.expect(200);
    assert!(counts_csv
        .content_type
        .as_deref()
        .unwrap()
        .starts_with("text/csv"));
    assert!(
        counts_csv.body.starts_with(
            "petition_id,scope,key,count\r\np1,total,,4\r\np1,region,north,4\r\np1,day,"
        ),
        "{}",
        counts_csv.body
    );
    assert!(counts_csv.body.ends_with(&format!("p1,day,{today},4\r\n")));
    c.get("/api/v1/petitions/nope/counts.csv").expect(404);

    // The referendum the petition obliged: the board triggered it at the threshold,
    // with the standing panel's trustees.
    let trustees = panel_trustees();
    let detail = c.get("/api/v1/referendums/r1").json();
    assert_eq!(detail["state"], "key-ceremony");
    let m: vox_protocol::manifest::Manifest =
        serde_json::from_value(detail["manifest"].clone()).unwrap();
    assert_eq!(m.source_petition.as_deref(), Some("p1"));
    assert_eq!(c.get("/api/v1/petitions/p1").json()["referendum_id"], "r1");
    // No act may create a referendum from a petition.
    let m2 = manifest("r1b", eh, trustees, 2, Some("p1".into()));
    c.act(acts::created(&m2)).expect(422);
    let key_shares = run_ceremony(c, &m, trustees);
    let ceremony = contract::<api::CeremonyView>(&c.get("/api/v1/referendums/r1/ceremony"));
    assert_eq!(ceremony.phase, api::CeremonyPhaseName::Complete);
    c.advance_to(m.opens_at);
    open_now(c, "r1");
    let key = election_key(c, "r1");
    let board = c.board_key();

    // Ballots: every voter votes; voter 0 re-votes; voter 1 audits one ballot first.
    let votes = [
        (true, 0),
        (false, 1),
        (true, 2),
        (true, 0),
        (false, 0),
        (true, 1),
    ];
    let mut receipts = Vec::new();
    let mut first_ballot_v0 = None;
    for (i, (yes, pick)) in votes.iter().enumerate() {
        let (b, secrets) = encrypt(&m, key, &voters.creds[i], &choices(&m, *yes, *pick));
        if i == 1 {
            let audited = AuditedBallot::new(b.clone(), secrets);
            let r = c.post("/api/v1/referendums/r1/audits", &audited);
            r.expect(201);
            contract::<api::AuditPosted>(&r);
            // The audited ballot can never be cast.
            let size = c.size();
            cast(c, &m, &b).expect(409);
            assert_eq!(c.size(), size);
            let (b2, _) = encrypt(&m, key, &voters.creds[i], &choices(&m, *yes, *pick));
            let r = cast(c, &m, &b2);
            r.expect(201);
            receipts.push((b2, r.parse::<Receipt>()));
            continue;
        }
        let r = cast(c, &m, &b);
        r.expect(201);
        let receipt: Receipt = r.parse();
        receipt.verify(&board).unwrap();
        receipt.matches_ballot(&b).unwrap();
        if i == 0 {
            // Re-posting the same ballot returns the same receipt, appends no ballot.
            // (Counted on the entries: the board's own scheduler and head signer run
            // concurrently, so its size is not a stable measure here.)
            let ballots_on_board = || {
                c.get("/api/v1/board/entries?start=0&end=100000")
                    .json()
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|e| e["entry"]["payload"]["type"] == "ballot-cast")
                    .count()
            };
            let before = ballots_on_board();
            assert!(before > 0, "the first ballot is on the board");
            let again = cast(c, &m, &b);
            again.expect(200);
            assert_eq!(again.parse::<Receipt>(), receipt);
            assert_eq!(ballots_on_board(), before);
            first_ballot_v0 = Some(b.clone());
        }
        receipts.push((b, receipt));
    }
    // Voter 0 changes their mind: no and option c.
    let first = first_ballot_v0.unwrap();
    // A re-vote must name the ballot it supersedes: one that does not is refused.
    let (stale, _) = encrypt(&m, key, &voters.creds[0], &choices(&m, false, 2));
    let r = cast(c, &m, &stale);
    r.expect(409);
    assert!(r.body.contains("ballot-not-latest"), "{}", r.body);
    let (revote, _) = encrypt_after(
        &m,
        key,
        &voters.creds[0],
        &choices(&m, false, 2),
        Some(first.hash()),
    );
    cast(c, &m, &revote).expect(201);
    let superseded = contract::<api::BallotStatus>(&c.get(&format!(
        "/api/v1/referendums/r1/ballots/{}",
        first.hash().to_hex()
    )));
    assert_eq!(superseded.status, api::BallotStanding::Superseded);
    let st = c
        .get(&format!(
            "/api/v1/referendums/r1/ballots/{}",
            first.hash().to_hex()
        ))
        .json();
    assert_eq!(st["status"], "superseded");
    assert_eq!(st["superseded_by"]["ballot_hash"], revote.hash().to_hex());
    let st = c
        .get(&format!(
            "/api/v1/referendums/r1/ballots/{}",
            revote.hash().to_hex()
        ))
        .json();
    assert_eq!(st["status"], "counted");
    contract::<api::BallotStatus>(&c.get(&format!(
        "/api/v1/referendums/r1/ballots/{}",
        revote.hash().to_hex()
    )));
    assert!(st.get("superseded_by").is_none());
    // What a device names as `previous`: the credential's latest ballot, or 404.
    let latest = |cred: &vox_crypto::credential::Credential| {
        c.get(&format!(
            "/api/v1/referendums/r1/credentials/{}/latest-ballot",
            cred.public_key().point().to_hex()
        ))
    };
    let l = latest(&voters.creds[0]).json();
    assert!(contract::<Option<api::LatestBallot>>(&latest(&voters.creds[0])).is_some());
    assert_eq!(l["ballot_hash"], revote.hash().to_hex());
    assert_eq!(l["tracking_code"], revote.tracking_code());
    let never = vox_crypto::credential::Credential::generate(&mut rand::rngs::OsRng);
    assert!(latest(&never).expect(200).json().is_null());
    let d = c.get("/api/v1/referendums/r1").json();
    assert_eq!(d["ballots_cast"], 7);
    assert_eq!(d["audited_ballots"], 1);
    contract::<api::ReferendumDetail>(&c.get("/api/v1/referendums/r1"));

    // Close, tally, two of three trustees decrypt, publish.
    let result = close_and_publish(c, &m, trustees, &key_shares, &[0, 2]);
    // Counted: v0 (no, c), v1 (no, b), v2 (yes, c), v3 (yes, a), v4 (no, a), v5 (yes, b).
    assert_eq!(result["counted_ballots"], 6);
    assert_eq!(result["counts"], serde_json::json!([[3, 3], [2, 2, 2]]));
    assert_eq!(result["trustees"], serde_json::json!([1, 3]));
    let d = c.get("/api/v1/referendums/r1").json();
    assert_eq!(d["state"], "published");
    assert_eq!(c.get("/api/v1/referendums/r1/result").json(), result);
    contract::<api::ReferendumDetail>(&c.get("/api/v1/referendums/r1"));
    contract::<Vec<api::ReferendumSummary>>(&c.get("/api/v1/referendums"));
    let listed = c.get("/api/v1/referendums").json();
    assert_eq!(listed[0]["state"], "published");
    assert_eq!(listed[0]["source_petition"], "p1");
    // Open data: the result per question and option, with turnout (6 of 6).
    let data = c.get("/api/v1/referendums/r1/result.json").json();
    contract::<api::ResultData>(&c.get("/api/v1/referendums/r1/result.json"));
    assert_eq!(data["counted_ballots"], 6);
    assert_eq!(data["electorate_size"], 6);
    assert_eq!(data["turnout"], "1.0000");
    assert_eq!(data["rows"].as_array().unwrap().len(), 5);
    assert_eq!(
        data["rows"][2],
        serde_json::json!({"question_id": "q2", "question": "Pick one", "kind": "choose-one",
            "option_index": 0, "option": "a", "count": 2})
    );
    let rcsv = c.get("/api/v1/referendums/r1/result.csv");
    rcsv.expect(200);
    let lines: Vec<&str> = rcsv.body.split("\r\n").collect();
    assert_eq!(
        lines[0],
        "referendum_id,question_id,question,kind,option_index,option,count,\
         counted_ballots,electorate_size,turnout"
    );
    assert_eq!(lines[1], "r1,q1,Yes or no?,yes-no,0,yes,3,6,6,1.0000");
    assert_eq!(lines[5], "r1,q2,Pick one,choose-one,2,c,2,6,6,1.0000");
    assert_eq!(lines.len(), 7, "{}", rcsv.body);
    let list_csv = c.get("/api/v1/referendums.csv");
    list_csv.expect(200);
    let row = list_csv.body.split("\r\n").nth(1).unwrap().to_owned();
    assert!(
        row.starts_with("r1,Referendum on petition p1,published,"),
        "{row}"
    );
    assert!(row.ends_with(",7,6,6,1.0000,p1"), "{row}");

    // The exported log reproduces the latest signed tree head; every receipt's tree head
    // is consistent with it; served proofs verify.
    let entries = check_log(c);
    let head = c.sth();
    for (_, r) in &receipts {
        let old = &r.tree_head.head;
        let p = c
            .get(&format!(
                "/api/v1/board/consistency?first={}&second={}",
                old.tree_size, head.head.tree_size
            ))
            .json();
        let proof: Vec<NodeHash> = serde_json::from_value(p["proof"].clone()).unwrap();
        contract::<api::ConsistencyProof>(&c.get(&format!(
            "/api/v1/board/consistency?first={}&second={}",
            old.tree_size, head.head.tree_size
        )));
        verify_consistency(
            old.tree_size,
            head.head.tree_size,
            &old.root_hash,
            &head.head.root_hash,
            &proof,
        )
        .unwrap();
        let inc = c
            .get(&format!(
                "/api/v1/board/inclusion?index={}&tree_size={}",
                r.leaf_index, head.head.tree_size
            ))
            .json();
        let proof: Vec<NodeHash> = serde_json::from_value(inc["proof"].clone()).unwrap();
        contract::<api::InclusionProof>(&c.get(&format!(
            "/api/v1/board/inclusion?index={}&tree_size={}",
            r.leaf_index, head.head.tree_size
        )));
        assert_eq!(inc["leaf_hash"], r.leaf_hash.to_hex());
        verify_inclusion(
            &r.leaf_hash,
            r.leaf_index,
            head.head.tree_size,
            &proof,
            &head.head.root_hash,
        )
        .unwrap();
    }
    // Leaf 0 is the genesis, and only leaf 0.
    assert!(matches!(&entries[0].payload, Payload::Genesis { genesis: g } if g == genesis()));
    assert_eq!(
        entries
            .iter()
            .filter(|e| matches!(e.payload, Payload::Genesis { .. }))
            .count(),
        1
    );
    let kinds: Vec<&str> = entries
        .iter()
        .map(|e| match &e.payload {
            Payload::ReferendumOpened { .. } => "opened",
            Payload::ReferendumClosed { .. } => "closed",
            Payload::TallyComputed { .. } => "tally",
            Payload::ResultPublished { .. } => "result",
            Payload::CeremonyCompleted { .. } => "completed",
            _ => "",
        })
        .filter(|k| !k.is_empty())
        .collect();
    assert_eq!(kinds, ["completed", "opened", "closed", "tally", "result"]);
    contract::<Vec<api::IndexedEntry>>(&c.get("/api/v1/board/entries?start=0&end=1000"));
    let heads: Vec<SignedTreeHead> = c.get("/api/v1/board/tree-heads").parse();
    assert_eq!(heads.first().unwrap().head.tree_size, 0);
    // The head read above is listed; the board's schedule may have appended since (e.g.
    // `shares-overdue` once the decryption deadline passed), so it need not be the last.
    assert!(heads.contains(&head), "{head:?} not among the heads");
    assert!(heads.last().unwrap().head.tree_size >= head.head.tree_size);
    assert!(heads
        .windows(2)
        .all(|w| w[0].head.tree_size < w[1].head.tree_size));
    assert!(heads
        .windows(2)
        .all(|w| w[0].head.timestamp_ms <= w[1].head.timestamp_ms));
    // Entries are never older than the head of the board before them.
    assert!(entries.first().unwrap().timestamp_ms >= heads.first().unwrap().head.timestamp_ms);
    let rec: RecordHeader = c.get("/api/v1/record?referendum=r1").parse();
    rec.validate().unwrap();
    assert!(rec.tree_size >= head.head.tree_size, "{rec:?}");
    assert_eq!(rec.board_public_key, board);
    let missing = c.get("/api/v1/record?referendum=nope");
    missing.expect(404);
    let problem = contract::<api::Problem>(&missing);
    assert_eq!((problem.status, problem.title.as_str()), (404, "Not Found"));
}

#[test]
fn full_flow_on_every_backend() {
    for db in databases("flow") {
        eprintln!("full flow on {}", db.label);
        full_flow(&db);
    }
}

#[test]
fn restart_keeps_board_key_and_state() {
    let db = sqlite_db();
    let h = Harness::start(config(&db.url));
    let key = h.client.board_key();
    assert_eq!(key, roles().public_keys().operator);
    let voters = Voters::new("e", 3, |_| None);
    voters.register(&h.client);
    let size = h.client.size();
    h.stop();
    let h2 = Harness::start(config(&db.url));
    assert_eq!(h2.client.board_key(), key);
    assert_eq!(h2.client.size(), size);
    h2.client.get("/api/v1/electorates/e").expect(200);
    // The registrar still acts with its key.
    let voters2 = Voters::new("e2", 2, |_| None);
    voters2.register(&h2.client);
    check_log(&h2.client);
}
