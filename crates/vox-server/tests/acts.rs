//! Authority acts (protocol-spec/11-roles.md §11.3, api.md): the server appends an act
//! only with a valid signature by its role's current key, never twice, and a role can
//! rotate its key. A refused act is answered with problem details and appends nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::*;
use ed25519_dalek::{Signer, SigningKey};
use rand::rngs::OsRng;
use vox_protocol::board::{BoardPublicKey, Payload, Sig};
use vox_protocol::petition::{Moderation, PetitionProposal, SignatureAction};
use vox_protocol::roles::{possession_message, ActSignature, Role, RoleKeys};

/// `f` is answered `status` with the problem `slug`, and the board does not change.
#[track_caller]
fn refused(c: &Client, status: u16, slug: &str, f: impl FnOnce() -> Resp) -> Resp {
    let before = c.size();
    let r = f();
    assert_eq!(r.status, status, "expected {status}: {}", r.body);
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
    assert_eq!(c.size(), before, "a refused act changed the board");
    r
}

/// Every way an act can fail to be signed by its role's current key for this log.
fn forgeries(act: &Payload) -> Vec<(&'static str, Payload)> {
    let role = act.act_role().unwrap();
    let other_role = if role == Role::Registrar {
        Role::PetitionsOffice
    } else {
        Role::Registrar
    };
    let mut out = vec![("unsigned placeholder", act.clone())];
    // Signed by another role's key (one body may hold several roles; keys stay apart).
    out.push((
        "another role's key",
        act.clone()
            .signed_act(&roles().log_id(), issued_at(), roles().key(other_role))
            .unwrap(),
    ));
    // Signed by the operator key (the one the server holds).
    out.push((
        "the operator key",
        act.clone()
            .signed_act(&roles().log_id(), issued_at(), roles().key(Role::Operator))
            .unwrap(),
    ));
    // The right key, for another log.
    let other_log = BoardPublicKey(SigningKey::generate(&mut OsRng).verifying_key()).log_id();
    out.push((
        "another log id",
        act.clone()
            .signed_act(&other_log, issued_at(), roles().key(role))
            .unwrap(),
    ));
    // The right key and log, then a field changed.
    let mut changed = signed(act.clone());
    match &mut changed {
        Payload::ElectorateRegistered { electorate, .. } => electorate.name.push('!'),
        Payload::PetitionModerated {
            moderation: Moderation::Publish { closes_at, .. },
            ..
        } => *closes_at -= 1,
        Payload::PetitionResponded { text, .. } => text.push('!'),
        Payload::ReferendumCreated { manifest, .. } => manifest.title.push('!'),
        Payload::PetitionPolicySet { policy, .. } => policy.max_response_due_ms = None,
        Payload::TrusteePanelSet { panel, .. } => panel.decryption_due_ms += 1,
        other => panic!("no field to change in {}", other.kind()),
    }
    out.push(("a field changed after signing", changed));
    // A valid signature moved to another act.
    let donor = signed(acts::response("elsewhere", "x"));
    let mut moved = act.clone();
    if let (Some(a), Payload::PetitionResponded { act: d, .. }) = (moved.act_mut(), &donor) {
        *a = *d;
    }
    out.push(("another act's signature", moved));
    out
}

fn role_prose(p: &Payload) -> &'static str {
    match p.act_role().unwrap() {
        Role::Registrar => "registrar",
        Role::PetitionsOffice => "petitions office",
        Role::ElectionAuthority => "election authority",
        Role::Operator => "board operator",
    }
}

/// Each forgery of `act` is refused with 403 naming the role; then the genuine act
/// (signed once, posted twice) is accepted, and its replay refused with 409.
#[track_caller]
fn only_the_role_can_act(c: &Client, act: Payload, ok: u16) {
    for (how, forged) in forgeries(&act) {
        let r = refused(c, 403, "forbidden", || c.post_act(&forged));
        let detail = r.json()["detail"].as_str().unwrap().to_owned();
        assert!(
            detail.contains(&format!(
                "not signed by the {}'s current key",
                role_prose(&act)
            )),
            "{how}: {detail}"
        );
        assert_eq!(r.field().as_deref(), Some("act/signature"), "{how}");
    }
    let genuine = signed(act);
    c.post_act(&genuine).expect(ok);
    let r = refused(c, 409, "already-exists", || c.post_act(&genuine));
    assert!(
        r.json()["detail"]
            .as_str()
            .unwrap()
            .contains("already on the board"),
        "{}",
        r.body
    );
}

fn acts_need_their_roles_signature(db: &TestDb) {
    let h = Harness::start(config(&db.url));
    let c = &h.client;

    // Registrar.
    let voters = Voters::new("e", 4, |_| None);
    only_the_role_can_act(c, acts::electorate(&voters.electorate), 201);
    let eh = voters.hash();

    // Election authority: the standing trustee panel (a publish needs one).
    only_the_role_can_act(c, acts::panel(), 201);

    // Petitions office: publish, respond.
    let p = petition("p", eh, 600_000);
    c.post(
        "/api/v1/petitions",
        &PetitionProposal::create(p.clone(), &voters.creds[0], &mut OsRng),
    )
    .expect(201);
    sign(c, &p, &voters.creds[1], SignatureAction::Sign).expect(201);
    only_the_role_can_act(c, acts::publish("p", 600_000), 200);
    sign(c, &p, &voters.creds[2], SignatureAction::Sign).expect(201);
    only_the_role_can_act(c, acts::response("p", "Thank you."), 200);

    // Election authority: create.
    let trustees = Trustees::new(3);
    let m = yes_no_manifest("r", eh, &trustees, 2);
    only_the_role_can_act(c, acts::created(&m), 201);

    // A replay is refused even where its rules would pass again: the same response
    // re-signed is a new act (and refused by the petition's rules, 409 wrong-state),
    // the very same signed act is a replay.
    let again = signed(acts::response("p", "Thank you."));
    refused(c, 409, "wrong-state", || c.post_act(&again));
    // An act signed for this log by the right role but posted before its subject exists
    // is judged by the rules (404), not refused as forged.
    let unknown = signed(acts::response("nope", "x"));
    refused(c, 404, "not-found", || c.post_act(&unknown));

    // Everything appended is on the board as it was signed.
    let entries = check_log(c);
    let n_acts = entries.iter().filter(|e| e.payload.act().is_some()).count();
    assert_eq!(n_acts, 5);
}

/// Opening and closing are system steps on the manifest's schedule (V9.4): anyone may
/// ask, nothing starts or ends early (409 naming the time, nothing appended).
fn schedule_rules(db: &TestDb) {
    let mut cfg = config(&db.url);
    // Only requests act here (no schedule running).
    cfg.sweep_interval_ms = 3_600_000;
    let h = Harness::start(cfg);
    let c = &h.client;
    let voters = Voters::new("e", 3, |_| None);
    let eh = voters.register(c);
    let trustees = Trustees::new(3);
    let mut m = yes_no_manifest("r", eh, &trustees, 2);
    m.opens_at = now_ms() + 600_000;
    m.closes_at = now_ms() + 3_600_000;
    c.act(acts::created(&m)).expect(201);
    run_ceremony(c, &m, &trustees);
    // Before opens_at.
    let r = refused(c, 409, "too-early", || {
        c.post_empty("/api/v1/referendums/r/open")
    });
    assert!(r.body.contains(&m.opens_at.to_string()), "{}", r.body);
    c.advance_to(m.opens_at);
    c.post_empty("/api/v1/referendums/r/open").expect(200);
    refused(c, 409, "wrong-state", || {
        c.post_empty("/api/v1/referendums/r/open")
    });
    // Before closes_at.
    let r = refused(c, 409, "too-early", || {
        c.post_empty("/api/v1/referendums/r/close")
    });
    assert!(r.body.contains(&m.closes_at.to_string()), "{}", r.body);
    c.advance_to(m.closes_at);
    c.post_empty("/api/v1/referendums/r/close").expect(200);
    assert_eq!(c.get("/api/v1/referendums/r").json()["state"], "closed");
    // The early-close route is gone.
    assert_eq!(
        c.post_empty("/api/v1/referendums/r/close-early").status,
        404
    );
}

#[test]
fn schedule_rules_on_every_backend() {
    for db in databases("schedule_rules") {
        eprintln!("schedule rules on {}", db.label);
        schedule_rules(&db);
    }
}

#[test]
fn acts_need_their_roles_signature_on_every_backend() {
    for db in databases("acts") {
        eprintln!("acts on {}", db.label);
        acts_need_their_roles_signature(&db);
    }
}

/// A rotation act for `role` to `new`, signed with `current`.
fn rotation(role: Role, new: &SigningKey, current: &SigningKey) -> Payload {
    let log_id = roles().log_id();
    let new_key = BoardPublicKey(new.verifying_key());
    Payload::RoleKeyRotated {
        role,
        new_key,
        possession: Sig(new.sign(&possession_message(&log_id, role, &new_key))),
        act: ActSignature::unsigned(),
    }
    .signed_act(&log_id, issued_at(), current)
    .unwrap()
}

fn board_roles(c: &Client) -> RoleKeys {
    serde_json::from_value(c.get("/api/v1/board").json()["roles"].clone()).unwrap()
}

fn rotations(db: &TestDb) {
    let h = Harness::start(config(&db.url));
    let c = &h.client;
    let new = SigningKey::generate(&mut OsRng);
    let new_pub = BoardPublicKey(new.verifying_key());
    let log_id = roles().log_id();

    // Refused: signed by the new key instead of the current one (403); the operator key
    // (422 naming the role); a key already a role's (422); a possession proof by another
    // key (422).
    refused(c, 403, "forbidden", || {
        c.post_act(&rotation(Role::Registrar, &new, &new))
    });
    let r = refused(c, 422, "invalid", || {
        c.post_act(&rotation(Role::Operator, &new, &roles().operator))
    });
    assert_eq!(r.field().as_deref(), Some("role"));
    let r = refused(c, 422, "invalid", || {
        c.post_act(&rotation(
            Role::Registrar,
            &roles().petitions_office,
            &roles().registrar,
        ))
    });
    assert_eq!(r.field().as_deref(), Some("new_key"));
    let stranger = SigningKey::generate(&mut OsRng);
    let bad_possession = Payload::RoleKeyRotated {
        role: Role::Registrar,
        new_key: new_pub,
        possession: Sig(stranger.sign(&possession_message(&log_id, Role::Registrar, &new_pub))),
        act: ActSignature::unsigned(),
    }
    .signed_act(&log_id, issued_at(), &roles().registrar)
    .unwrap();
    let r = refused(c, 422, "invalid", || c.post_act(&bad_possession));
    assert_eq!(r.field().as_deref(), Some("possession"));

    // The registrar rotates.
    let rot = rotation(Role::Registrar, &new, &roles().registrar);
    let r = c.post_act(&rot);
    r.expect(201);
    let answer = r.json();
    assert!(answer["leaf_index"].as_u64().unwrap() >= 1);
    let after: RoleKeys = serde_json::from_value(answer["roles"].clone()).unwrap();
    assert_eq!(after.registrar, new_pub);
    // The board shows the new key; the genesis keeps the original ones.
    let shown = board_roles(c);
    assert_eq!(shown, after);
    assert_eq!(
        shown.petitions_office,
        roles().public_keys().petitions_office
    );
    let info = c.get("/api/v1/board").json();
    assert_eq!(
        info["genesis"]["keys"]["registrar"],
        roles().public_keys().registrar.to_hex()
    );
    // The rotation cannot be posted again: it is signed by a key that is no longer the
    // registrar's.
    refused(c, 403, "forbidden", || c.post_act(&rot));

    // The old key is refused; the new one accepted.
    let voters = Voters::new("e", 2, |_| None);
    let with_old = signed(acts::electorate(&voters.electorate));
    let r = refused(c, 403, "forbidden", || c.post_act(&with_old));
    assert!(r.body.contains("registrar"), "{}", r.body);
    let with_new = acts::electorate(&voters.electorate)
        .signed_act(&log_id, issued_at(), &new)
        .unwrap();
    c.post_act(&with_new).expect(201);
    // Other roles are unaffected.
    let trustees = Trustees::new(3);
    c.act(acts::created(&yes_no_manifest(
        "r",
        voters.hash(),
        &trustees,
        2,
    )))
    .expect(201);

    // After a restart the fold replays the rotation.
    let url = db.url.clone();
    h.stop();
    let h = Harness::start(config(&url));
    assert_eq!(board_roles(&h.client).registrar, new_pub);
    let v2 = Voters::new("e2", 2, |_| None);
    refused(&h.client, 403, "forbidden", || {
        h.client.act(acts::electorate(&v2.electorate))
    });
    // Rotating back to the genesis key is allowed (it is no current key any more).
    h.client
        .post_act(&rotation(Role::Registrar, &roles().registrar, &new))
        .expect(201);
    h.client.act(acts::electorate(&v2.electorate)).expect(201);
    let entries = check_log(&h.client);
    assert_eq!(
        entries
            .iter()
            .filter(|e| matches!(e.payload, Payload::RoleKeyRotated { .. }))
            .count(),
        2
    );
}

#[test]
fn role_key_rotation_on_every_backend() {
    for db in databases("rotate") {
        eprintln!("rotations on {}", db.label);
        rotations(&db);
    }
}

/// The petitions office's policy (07 §7.8): only its key sets it; a policy that no
/// proposal could meet is refused; a later proposal outside the bounds is refused with
/// 422 naming the field and the bound, and appends nothing; a proposal inside them, and
/// petitions proposed before the policy, go on by the ordinary rules.
fn petition_policy_rules(db: &TestDb) {
    use vox_protocol::petition::PetitionPolicy;
    let h = Harness::start(config(&db.url));
    let c = &h.client;
    let voters = Voters::new("e", 3, |_| None);
    let eh = voters.register(c);
    assert_eq!(
        c.get("/api/v1/petition-policy").expect(200).json()["policy"],
        serde_json::Value::Null
    );
    // Proposed before any policy: a referendum threshold of 4.
    let early = petition("early", eh, 3_600_000);
    c.post(
        "/api/v1/petitions",
        &PetitionProposal::create(early, &voters.creds[0], &mut OsRng),
    )
    .expect(201);

    let bounds = PetitionPolicy {
        min_referendum_threshold: Some(10),
        max_response_due_ms: Some(86_400_000),
        ..PetitionPolicy::default()
    };
    // Only the petitions office's key sets it (forgeries 403, replay 409).
    only_the_role_can_act(c, acts::policy(bounds.clone()), 201);
    let shown = c.get("/api/v1/petition-policy").expect(200).json();
    assert_eq!(shown["policy"]["policy"]["min_referendum_threshold"], 10);
    let policy_leaf = shown["policy"]["leaf_index"].as_u64().unwrap();

    // A policy no proposal could meet is refused before its signature is looked at.
    let impossible = PetitionPolicy {
        min_response_threshold: Some(5),
        max_response_threshold: Some(4),
        ..PetitionPolicy::default()
    };
    let r = refused(c, 422, "invalid", || c.act(acts::policy(impossible)));
    assert_eq!(r.field().as_deref(), Some("policy/max_response_threshold"));

    // Outside the bounds: refused, naming the field, the bound and the leaf.
    let mut low = petition("low", eh, 3_600_000);
    low.referendum_threshold = 9;
    let r = refused(c, 422, "policy-violation", || {
        c.post(
            "/api/v1/petitions",
            &PetitionProposal::create(low.clone(), &voters.creds[1], &mut OsRng),
        )
    });
    assert_eq!(r.field().as_deref(), Some("petition/referendum_threshold"));
    let detail = r.json()["detail"].as_str().unwrap().to_owned();
    assert!(
        detail.contains("min_referendum_threshold = 10")
            && detail.contains(&format!("leaf {policy_leaf}")),
        "{detail}"
    );
    let mut slow = petition("slow", eh, 3_600_000);
    slow.referendum_threshold = 10;
    slow.response_due_ms = 86_400_001;
    let r = refused(c, 422, "policy-violation", || {
        c.post(
            "/api/v1/petitions",
            &PetitionProposal::create(slow.clone(), &voters.creds[1], &mut OsRng),
        )
    });
    assert_eq!(r.field().as_deref(), Some("petition/response_due_ms"));
    assert_eq!(c.get("/api/v1/petitions/low").status, 404);

    // Inside the bounds: accepted. The earlier petition is unaffected.
    low.referendum_threshold = 10;
    c.post(
        "/api/v1/petitions",
        &PetitionProposal::create(low, &voters.creds[1], &mut OsRng),
    )
    .expect(201);
    sign(
        c,
        &petition("early", eh, 3_600_000),
        &voters.creds[2],
        SignatureAction::Sign,
    )
    .expect(201);

    // An empty policy lifts every bound.
    c.act(acts::policy(PetitionPolicy::default())).expect(201);
    let mut any = petition("any", eh, 3_600_000);
    any.referendum_threshold = 3;
    c.post(
        "/api/v1/petitions",
        &PetitionProposal::create(any, &voters.creds[2], &mut OsRng),
    )
    .expect(201);
}

#[test]
fn petition_policy_on_every_backend() {
    for db in databases("policy") {
        eprintln!("petition policy on {}", db.label);
        petition_policy_rules(&db);
    }
}
