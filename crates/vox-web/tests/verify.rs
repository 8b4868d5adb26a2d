//! The verifier behind `vox_verify_record` and the staged exports, on synthetic records:
//! an honest one passes every step, tampered ones fail the step that owns the rule.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::sync::OnceLock;

use serde_json::{json, Value};
use vox_protocol::board::Payload;
use vox_verifier::synth::{honest, Honest, SynthRecord};

fn seed() {
    vox_web::seed(&[7u8; 32]).unwrap();
}

fn base() -> &'static Honest {
    static BASE: OnceLock<Honest> = OnceLock::new();
    BASE.get_or_init(|| honest(21, 0).unwrap())
}

fn ok(answer: &str) -> Value {
    let v: Value = serde_json::from_str(answer).unwrap();
    assert!(v.get("error").is_none(), "{answer}");
    v["ok"].clone()
}

fn request(rec: &SynthRecord) -> Value {
    json!({
        "header": rec.header,
        "tree_heads": rec.heads,
        "entries": rec.entries,
        "referendum_id": "r1",
    })
}

fn status(report: &Value, id: &str) -> String {
    report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .map(|s| s["status"].as_str().unwrap().to_owned())
        .unwrap()
}

fn assert_all_pass(report: &Value) {
    let steps = report["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 15, "{report:#}");
    for (i, s) in steps.iter().enumerate() {
        assert_eq!(s["id"], format!("V{}", i + 1));
        assert!(!s["title"].as_str().unwrap().is_empty());
        let want = if s["id"] == "V14" {
            "not-checked"
        } else {
            "pass"
        };
        assert_eq!(s["status"], want, "{s:#}");
    }
    assert_eq!(report["verdict"], "pass", "{report:#}");
    assert_eq!(report["exit_code"], 0);
}

#[test]
fn honest_record_passes_every_step() {
    seed();
    let report = ok(&vox_web::verify_record(
        &request(&base().record).to_string(),
    ));
    assert_all_pass(&report);
    assert_eq!(
        report["referendums"][0]["result"],
        serde_json::to_value(&base().result.counts).unwrap()
    );
}

#[test]
fn honest_record_as_jsonl_text_and_api_pages_passes() {
    seed();
    let rec = &base().record;
    let jsonl: String = rec
        .entries
        .iter()
        .map(|e| serde_json::to_string(e).unwrap() + "\n")
        .collect();
    let heads: String = rec
        .heads
        .iter()
        .map(|h| serde_json::to_string(h).unwrap() + "\n")
        .collect();
    let req = json!({
        "header": serde_json::to_string(&rec.header).unwrap(),
        "tree_heads": heads,
        "entries_jsonl": jsonl,
    });
    assert_all_pass(&ok(&vox_web::verify_record(&req.to_string())));
}

#[test]
fn staged_session_with_progress_passes_and_reports_progress() {
    seed();
    let rec = &base().record;
    let begin = ok(&vox_web::verify_begin(
        &json!({"header": rec.header, "tree_heads": rec.heads, "referendum_id": "r1"}).to_string(),
    ));
    assert_eq!(begin["expected_entries"], rec.entries.len());
    // API pages: {"index", "entry"}.
    let mut index = 0;
    for page in rec.entries.chunks(10) {
        let items: Vec<Value> = page
            .iter()
            .map(|e| {
                index += 1;
                json!({"index": index - 1, "entry": e})
            })
            .collect();
        let fed = ok(&vox_web::verify_feed(
            &json!({ "entries": items }).to_string(),
        ));
        assert_eq!(fed["received"], index);
    }
    let mut calls = 0;
    loop {
        seed();
        let p = ok(&vox_web::verify_run(r#"{"max": 16}"#));
        calls += 1;
        assert_eq!(p["total"], rec.entries.len());
        if p["done"] == true {
            assert_eq!(p["verified"], rec.entries.len());
            break;
        }
    }
    assert!(calls > 1);
    assert_all_pass(&ok(&vox_web::verify_finish("{}")));
    // The session is gone.
    assert!(vox_web::verify_finish("{}").contains("no verification in progress"));
}

/// The record's entries as API pages of `size` (`{"index", "entry"}` items).
fn api_pages(rec: &SynthRecord, size: usize) -> Vec<String> {
    rec.entries
        .chunks(size)
        .enumerate()
        .map(|(p, page)| {
            let items: Vec<Value> = page
                .iter()
                .enumerate()
                .map(|(i, e)| json!({"index": p * size + i, "entry": e}))
                .collect();
            json!({ "entries": items }).to_string()
        })
        .collect()
}

#[test]
fn streaming_session_reads_the_record_twice_and_passes() {
    seed();
    let rec = &base().record;
    ok(&vox_web::verify_begin(
        &json!({"header": rec.header, "tree_heads": rec.heads, "referendum_id": "r1", "stream": true})
            .to_string(),
    ));
    let pages = api_pages(rec, 10);
    for page in &pages {
        ok(&vox_web::verify_feed(page));
    }
    let mut last = Value::Null;
    for page in &pages {
        seed();
        last = ok(&vox_web::verify_stream(page));
        assert_eq!(last["total"], rec.entries.len());
    }
    assert_eq!(last["verified"], rec.entries.len());
    assert_eq!(last["done"], true);
    // Pass 2 of a streaming session only takes the pages again.
    let run = vox_web::verify_run("{}");
    assert!(run.contains("verify_entries"), "{run}");
    assert_all_pass(&ok(&vox_web::verify_finish("{}")));
}

#[test]
fn streaming_session_refuses_a_record_that_changed_between_the_reads() {
    seed();
    let h = base();
    let rec = &h.record;
    // The second read shows another (re-signed, so otherwise valid-looking) entry 3.
    let mut other = rec.clone();
    other.entries[3].timestamp_ms += 1;
    other.resign(&h.board_key, &[]);
    ok(&vox_web::verify_begin(
        &json!({"header": rec.header, "tree_heads": rec.heads, "stream": true}).to_string(),
    ));
    for page in api_pages(rec, 10) {
        ok(&vox_web::verify_feed(&page));
    }
    let pages = api_pages(&other, 10);
    let out = vox_web::verify_stream(&pages[0]);
    assert!(
        out.contains("entry 3 differs between the two reads"),
        "{out}"
    );
}

#[test]
fn streaming_session_with_pages_missing_in_pass_two_has_no_report() {
    seed();
    let rec = &base().record;
    ok(&vox_web::verify_begin(
        &json!({"header": rec.header, "tree_heads": rec.heads, "stream": true}).to_string(),
    ));
    let pages = api_pages(rec, 10);
    for page in &pages {
        ok(&vox_web::verify_feed(page));
    }
    ok(&vox_web::verify_stream(&pages[0]));
    let out = vox_web::verify_finish("{}");
    assert!(out.contains("pass 2 received 10 of the"), "{out}");
}

#[test]
fn a_page_out_of_order_is_an_error() {
    seed();
    let rec = &base().record;
    ok(&vox_web::verify_begin(
        &json!({"header": rec.header, "tree_heads": rec.heads}).to_string(),
    ));
    let out = vox_web::verify_feed(
        &json!({"entries": [{"index": 5, "entry": rec.entries[5]}]}).to_string(),
    );
    assert!(out.contains("expected entry 0"), "{out}");
}

#[test]
fn forged_ballot_fails_v10() {
    seed();
    let h = base();
    let mut rec = h.record.clone();
    let i = rec
        .find(|p| matches!(p, Payload::BallotCast { .. }))
        .unwrap();
    if let Payload::BallotCast { ballot } = &mut rec.entries[i].payload {
        let ct = &mut ballot.answers[0].ciphertexts[0];
        std::mem::swap(&mut ct.a, &mut ct.b);
    }
    // What a dishonest server holding the board key would publish.
    rec.resign(&h.board_key, &[]);
    let report = ok(&vox_web::verify_record(&request(&rec).to_string()));
    assert_eq!(report["verdict"], "fail");
    assert_eq!(status(&report, "V10"), "fail", "{report:#}");
    for s in ["V1", "V2", "V3"] {
        assert_eq!(status(&report, s), "pass", "{report:#}");
    }
    let failure = &report["steps"][9]["failures"][0];
    assert_eq!(failure["location"]["leaf"], i, "{failure:#}");
}

#[test]
fn edited_entry_without_resigning_fails_the_log() {
    seed();
    let mut rec = base().record.clone();
    rec.entries[2].timestamp_ms += 1;
    let report = ok(&vox_web::verify_record(&request(&rec).to_string()));
    assert_eq!(report["verdict"], "fail");
    assert_eq!(status(&report, "V2"), "fail", "{report:#}");
}

#[test]
fn bad_header_fails_v1_and_checks_nothing_else() {
    seed();
    let report = ok(&vox_web::verify_record(
        &json!({"header": {"format": "nope"}, "tree_heads": [], "entries": []}).to_string(),
    ));
    assert_eq!(status(&report, "V1"), "fail");
    assert_eq!(status(&report, "V10"), "not-checked");
}

#[test]
fn pinned_keys_are_checked() {
    seed();
    let h = base();
    let board = vox_protocol::board::BoardPublicKey(h.board_key.verifying_key()).to_hex();
    let keys = h.roles.public_keys();
    let mut req = request(&h.record);
    req["trust"] = json!({
        "board_public_key": board,
        "roles": {"registrar": keys.registrar, "petitions-office": keys.petitions_office},
    });
    assert_all_pass(&ok(&vox_web::verify_record(&req.to_string())));
    // Another board key fails V1; another registrar key fails V4 at leaf 0.
    let other = vox_protocol::board::BoardPublicKey(
        ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]).verifying_key(),
    );
    req["trust"] = json!({"board_public_key": other, "roles": {"registrar": other}});
    let report = ok(&vox_web::verify_record(&req.to_string()));
    assert_eq!(report["verdict"], "fail");
    assert_eq!(status(&report, "V1"), "fail", "{report:#}");
    assert_eq!(status(&report, "V4"), "fail", "{report:#}");
    assert_eq!(
        report["steps"][3]["title"],
        "genesis, roles and authority signatures"
    );
    assert_eq!(report["steps"][3]["failures"][0]["location"]["index"], 0);
    // An unknown field in the trust object is refused.
    req["trust"] = json!({"roles": {"mayor": board}});
    let answer = vox_web::verify_record(&req.to_string());
    assert!(answer.contains("unknown field"), "{answer}");
}

#[test]
fn forged_authority_act_fails_v4() {
    seed();
    let h = base();
    let mut rec = h.record.clone();
    let i = rec.find(|p| p.kind() == "trustee-panel-set").unwrap();
    let p = &mut rec.entries[i].payload;
    let at = p.act().unwrap().issued_at_ms;
    // Signed by the operator instead of the election authority.
    p.sign_act(&h.roles.log_id(), at, &h.board_key).unwrap();
    rec.resign(&h.board_key, &[]);
    let report = ok(&vox_web::verify_record(&request(&rec).to_string()));
    assert_eq!(report["verdict"], "fail");
    assert_eq!(status(&report, "V4"), "fail", "{report:#}");
    let failure = &report["steps"][3]["failures"][0];
    assert_eq!(
        failure["location"],
        json!({"kind": "act", "leaf": i, "role": "election-authority"}),
        "{failure:#}"
    );
    for s in ["V1", "V2", "V3", "V9"] {
        assert_eq!(status(&report, s), "pass", "{report:#}");
    }
}
