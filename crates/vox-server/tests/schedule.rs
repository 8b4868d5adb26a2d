//! The referendum a petition obliges, run by the board on schedule (07 §7.4, 10 §10.3,
//! V15): a petition published with referendum terms crosses its referendum threshold and
//! the board appends `referendum-triggered` right after the threshold entry; the panel's
//! trustees run the ceremony; with the server's clock moved, the schedule opens the
//! referendum at opens_at, refuses an early close, closes and tallies at closes_at,
//! publishes the result once k shares are in, and names a silent trustee once the
//! decryption deadline has passed. The exported record then goes through the verifier
//! library: V15 passes on the on-time run and fails, naming the trustee's share, on the
//! run with the silent trustee.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::*;
use rand::rngs::OsRng;
use vox_crypto::threshold::DecryptionShare;
use vox_protocol::board::{BoardEntry, Payload, SignedTreeHead};
use vox_protocol::ceremony::DecryptionShareMessage;
use vox_protocol::encoding::Hashable;
use vox_protocol::manifest::{Manifest, DAY_MS};
use vox_protocol::petition::{SignatureAction, ThresholdKind};
use vox_protocol::record::RecordHeader;
use vox_verifier::{MemorySource, NoProgress, Options, Status, StepId};

fn kinds(c: &Client, from: u64) -> Vec<String> {
    let n = c.size();
    let v = c
        .get(&format!("/api/v1/board/entries?start={from}&end={n}"))
        .json();
    v.as_array()
        .unwrap()
        .iter()
        .map(|e| e["entry"]["payload"]["type"].as_str().unwrap().to_owned())
        .collect()
}

fn schedule(h: &Harness) {
    h.rt.block_on(h.server().run_schedule()).unwrap();
}

fn state(c: &Client, id: &str) -> String {
    c.get(&format!("/api/v1/referendums/{id}")).json()["state"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The whole record, through the verifier library.
fn verify(c: &Client) -> vox_verifier::Report {
    let entries = check_log(c);
    let header: RecordHeader = c.get("/api/v1/record").parse();
    let heads: Vec<SignedTreeHead> = c.get("/api/v1/board/tree-heads").parse();
    let source = MemorySource::from_parts(&header, &heads, &entries).unwrap();
    vox_verifier::verify_record(&source, Options::default(), &mut NoProgress).unwrap()
}

/// Run the obliged referendum; `silent` trustee (1-based) never sends its share.
fn run(silent: Option<usize>) -> vox_verifier::Report {
    let db = sqlite_db();
    let mut cfg = config(&db.url);
    // Only the test runs the schedule (`run_schedule`), so each step is seen.
    cfg.sweep_interval_ms = 3_600_000;
    let h = Harness::start(cfg);
    let c = &h.client;
    let voters = Voters::new("town", 6, |i| {
        Some(if i < 3 { "north" } else { "south" }.into())
    });
    let eh = voters.register(c);
    // A publish needs a standing trustee panel.
    let p = petition("p1", eh, 30 * DAY_MS);
    c.post(
        "/api/v1/petitions",
        &vox_protocol::petition::PetitionProposal::create(p.clone(), &voters.creds[0], &mut OsRng),
    )
    .expect(201);
    sign(c, &p, &voters.creds[1], SignatureAction::Sign).expect(201);
    let r = c.post_act(&signed(acts::publish("p1", 30 * DAY_MS)));
    r.expect(422);
    assert!(r.body.contains("panel"), "{}", r.body);
    c.get("/api/v1/panel").expect(404);
    c.act(acts::panel()).expect(201);
    assert_eq!(c.get("/api/v1/panel").json()["panel"]["threshold"], 2);
    c.act(acts::publish("p1", 30 * DAY_MS)).expect(200);
    // The terms' id is reserved: no act may create it.
    let m0 = manifest("p1-r", eh, panel_trustees(), 2, None);
    c.act(acts::created(&m0)).expect(422);
    // The response threshold (3): answered at once.
    sign(c, &p, &voters.creds[2], SignatureAction::Sign).expect(201);
    c.act(acts::response(
        "p1",
        "We will hold the referendum if asked.",
    ))
    .expect(200);
    // The referendum threshold (4): the triggered referendum right after its entry.
    let before = c.size();
    sign(c, &p, &voters.creds[3], SignatureAction::Sign).expect(201);
    assert_eq!(
        kinds(c, before),
        [
            "petition-signed",
            "petition-threshold",
            "referendum-triggered"
        ]
    );
    let entries = check_log(c);
    let n = entries.len();
    assert!(matches!(
        entries[n - 2].payload,
        Payload::PetitionThreshold {
            kind: ThresholdKind::Referendum,
            ..
        }
    ));
    let Payload::ReferendumTriggered { manifest: m } = &entries[n - 1].payload else {
        panic!("not triggered");
    };
    let m: Manifest = m.clone();
    assert_eq!(m.referendum_id, "p1-r");
    assert_eq!(m.source_petition.as_deref(), Some("p1"));
    assert_eq!(m.opens_at, entries[n - 1].timestamp_ms + 60_000);
    assert_eq!(state(c, "p1-r"), "key-ceremony");

    // The panel's trustees run the ceremony.
    let trustees = panel_trustees();
    let key_shares = run_ceremony(c, &m, trustees);
    // Not yet opens_at: neither the schedule nor a request opens it.
    schedule(&h);
    assert_eq!(state(c, "p1-r"), "ready");
    let size = c.size();
    let r = c.post_empty("/api/v1/referendums/p1-r/open");
    r.expect(409);
    assert!(r.body.contains(&m.opens_at.to_string()), "{}", r.body);
    assert_eq!(c.size(), size);
    c.advance_to(m.opens_at);
    schedule(&h);
    assert_eq!(state(c, "p1-r"), "open");
    assert_eq!(kinds(c, size), ["referendum-opened"]);

    // Ballots.
    let key = election_key(c, "p1-r");
    for (i, cred) in voters.creds.iter().take(4).enumerate() {
        let (b, _) = encrypt(&m, key, cred, &choices(&m, i % 2 == 0, i % 3));
        cast(c, &m, &b).expect(201);
    }
    // An early close is refused and appends nothing.
    let size = c.size();
    let r = c.post_empty("/api/v1/referendums/p1-r/close");
    r.expect(409);
    assert!(r.body.contains(&m.closes_at.to_string()), "{}", r.body);
    assert_eq!(c.size(), size);
    schedule(&h);
    assert_eq!(c.size(), size);
    // At closes_at the schedule closes and tallies.
    c.advance_to(m.closes_at);
    schedule(&h);
    assert_eq!(kinds(c, size), ["referendum-closed", "tally-computed"]);
    let tally: vox_protocol::board::EncryptedTally =
        c.get("/api/v1/referendums/p1-r/tally").parse();
    assert_eq!(tally.counted_ballots, 4);

    // Decryption shares, then the result by the schedule.
    let mh = m.canonical_hash();
    for i in 0..3 {
        if silent == Some(i + 1) {
            continue;
        }
        let share = DecryptionShare::create(&key_shares[i], &mh, &tally.ciphertexts, &mut OsRng);
        let msg = DecryptionShareMessage::sign(&m, &mh, &trustees.keys[i], share, &mut OsRng);
        c.post("/api/v1/referendums/p1-r/decryption-shares", &msg)
            .expect(201);
    }
    schedule(&h);
    assert_eq!(state(c, "p1-r"), "published");
    let result = c.get("/api/v1/referendums/p1-r/result").json();
    assert_eq!(result["counts"][0], serde_json::json!([2, 2]));

    if let Some(t) = silent {
        // Before the decryption deadline: nothing to name.
        let size = c.size();
        schedule(&h);
        assert_eq!(c.size(), size);
        let tallied_at = check_log(c)
            .iter()
            .rev()
            .find(|e| matches!(e.payload, Payload::TallyComputed { .. }))
            .map(|e| e.timestamp_ms)
            .unwrap();
        c.advance_to(tallied_at + m.decryption_due_ms + 1);
        schedule(&h);
        let entries: Vec<BoardEntry> = check_log(c);
        assert_eq!(entries.len() as u64, size + 1);
        assert_eq!(
            entries.last().unwrap().payload,
            Payload::SharesOverdue {
                referendum_id: "p1-r".into(),
                trustees: vec![t as u32],
            }
        );
        // Named once.
        schedule(&h);
        assert_eq!(c.size(), size + 1);
    }
    verify(c)
}

fn obligations(report: &vox_verifier::Report) -> &vox_verifier::report::StepReport {
    report
        .steps
        .iter()
        .find(|s| s.id == StepId::Obligations)
        .unwrap()
}

#[test]
fn the_obliged_referendum_runs_on_schedule_and_passes_v15() {
    let report = run(None);
    let failed: Vec<String> = report
        .steps
        .iter()
        .filter(|s| s.status == Status::Fail)
        .map(|s| format!("{:?} {}: {:?}", s.id, s.detail, s.failures))
        .collect();
    assert!(failed.is_empty(), "{failed:#?}");
    assert_eq!(obligations(&report).status, Status::Pass);
}

#[test]
fn a_silent_trustee_is_named_and_v15_fails_on_its_share() {
    let report = run(Some(3));
    let v15 = obligations(&report);
    assert_eq!(v15.status, Status::Fail, "{}", v15.detail);
    let text: Vec<String> = v15.failures.iter().map(ToString::to_string).collect();
    assert!(
        text.iter()
            .any(|f| f.contains("trustee 3") && f.contains("decryption share")),
        "{text:#?}"
    );
    // Naming it was on time: only the share itself fails.
    assert!(
        !text.iter().any(|f| f.contains("naming the trustees")),
        "{text:#?}"
    );
    // Every other step passes.
    let other: Vec<String> = report
        .steps
        .iter()
        .filter(|s| s.id != StepId::Obligations && s.status == Status::Fail)
        .map(|s| format!("{:?} {}: {:?}", s.id, s.detail, s.failures))
        .collect();
    assert!(other.is_empty(), "{other:#?}");
}
