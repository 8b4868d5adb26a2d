//! The HTTP API's JSON request bodies and query strings ([`http_bodies`]), through the
//! server's own parser and pre-checks (`vox_server::bodies`) and then the protocol
//! checks each handler makes against the board, here against the fixtures.

use serde::de::DeserializeOwned;
use vox_protocol::ballot::{AuditedBallot, Ballot};
use vox_protocol::board::Payload;
use vox_protocol::ceremony::{CeremonyMessage, DecryptionShareMessage};
use vox_protocol::electorate::EnrolmentRequest;
use vox_protocol::encoding::Hashable;
use vox_protocol::petition::{
    Moderation, PetitionProposal, PetitionSignature, PetitionTracker, RingPetitionSignature,
    SignatureAction,
};
use vox_protocol::ProtocolError;
use vox_server::bodies::{parse_body, parse_json, Body, QueryParams, Route};
use vox_server::error::{act_error, enrolment_error, rule_error, AppError};

use crate::ceremony::{
    apply_checked, ceremony_fixture, check_ceremony_message, check_decryption_share,
};
use crate::roles::{check_act, roles_fixture};
use crate::{check_ballot, check_petition_signature, check_proposal, fixture, T0};

/// Selector value (first input byte modulo this) of a query string instead of a body.
pub const QUERY_SELECTOR: u8 = Route::ALL.len() as u8;

/// A rejected request must be a typed client error (400 or 422), never a 5xx, with a
/// problem-details body that is JSON and repeats the status.
fn assert_client_error(route: &str, e: &AppError) {
    assert!(
        e.status.as_u16() == 400 || e.status.as_u16() == 422,
        "{route}: rejected with {} ({}), not 400/422",
        e.status,
        e.detail
    );
    let body: serde_json::Value = match serde_json::from_str(&e.body()) {
        Ok(v) => v,
        Err(err) => panic!("{route}: problem body is not JSON: {err}"),
    };
    assert_eq!(
        body.get("status").and_then(serde_json::Value::as_u64),
        Some(u64::from(e.status.as_u16())),
        "{route}: problem body does not repeat the status"
    );
}

/// A refusal by a state machine: like [`assert_client_error`], or a 409 conflict.
fn assert_client_error_or_conflict(route: &str, e: &AppError) {
    if e.status.as_u16() != 409 {
        assert_client_error(route, e);
    }
}

/// A refused enrolment: a client error, a conflict (spent code, key taken) or 404 (no
/// such electorate).
fn assert_client_error_or_404(route: &str, e: &AppError) {
    if e.status.as_u16() != 404 {
        assert_client_error_or_conflict(route, e);
    }
}

/// A refused authority act: 403 (not signed by the role's current key), 409 (a replay)
/// or 400/422, with a JSON problem body.
fn assert_act_refusal(route: &str, e: &AppError) {
    if e.status.as_u16() != 403 {
        assert_client_error_or_conflict(route, e);
    }
}

/// A protocol error as the handler turns it into an answer (422, or 400 for JSON).
fn client_error(route: &str, e: ProtocolError) {
    assert_client_error(route, &AppError::from(e));
}

/// The server's parser must accept exactly what serde_json accepts, with the same value.
fn agrees<T: DeserializeOwned + PartialEq + std::fmt::Debug>(route: &str, body: &[u8]) {
    let ours = parse_json::<T>(body);
    let plain = serde_json::from_slice::<T>(body);
    match (&ours, &plain) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "{route}: parsers disagree on the value"),
        (Err(e), Err(_)) => {
            assert_eq!(e.status.as_u16(), 400, "{route}: malformed JSON not a 400")
        }
        _ => panic!(
            "{route}: server parser {} but serde_json {}",
            if ours.is_ok() { "accepts" } else { "refuses" },
            if plain.is_ok() { "accepts" } else { "refuses" },
        ),
    }
}

/// The handler's checks of a parsed body against the state it reads (the fixtures
/// standing in for the board): path ids, registered electorate, signatures, proofs,
/// openings, the petition and ceremony state machines, the act signatures. Every refusal
/// must be a client error; every acceptance must pass the no-forgery checks of the
/// per-type targets.
fn stateful(which: Route, raw: &[u8], body: Body) {
    let f = fixture();
    let name = format!("{which:?}");
    let route = name.as_str();
    match body {
        Body::Act(p) => {
            // The server appends the act exactly as sent: its value is what serde_json
            // reads from the body, of the type the route takes.
            match serde_json::from_slice::<Payload>(raw) {
                Ok(plain) => assert_eq!(plain, p, "{route}: the act was changed"),
                Err(e) => panic!("{route}: accepted an act serde_json refuses: {e}"),
            }
            match &p {
                Payload::ElectorateRegistered { electorate, .. } => {
                    let _ = electorate.canonical_hash();
                }
                Payload::ReferendumCreated { manifest, .. } => {
                    let _ = manifest.canonical_hash();
                }
                // The parser refuses a policy no proposal could meet (07 §7.8).
                Payload::PetitionPolicySet { policy, .. } => {
                    assert!(
                        policy.validate().is_ok(),
                        "{route}: invalid policy accepted"
                    );
                }
                _ => {}
            }
            // The roles' check at the board head (here the fixture's log, after its
            // genesis): a refusal is 403/409/422; an acceptance an honest act.
            match roles_fixture().before.check(&p) {
                Ok(()) => assert!(check_act(&p), "{route}: accepted act not accepted"),
                Err(e) => {
                    assert_act_refusal(route, &act_error(e));
                    check_act(&p);
                }
            }
        }
        Body::Enrolment(req) => {
            // Against the fixture opening: a refusal is a client error or a conflict; an
            // acceptance spends a committed code with a valid credential signature.
            let ef = crate::enrolment_fixture();
            let mut roll = vox_protocol::enrolment::Roll::new();
            if let Err(e) = roll.open(&ef.opening) {
                panic!("fixture opening refused: {e}");
            }
            match roll.enrol(2, &req) {
                Ok(_) => {
                    assert!(req.verify().is_ok(), "{route}: bad signature accepted");
                    let code = req.code.as_deref().unwrap_or_default();
                    assert!(
                        ef.letters
                            .iter()
                            .any(|(r, c)| c.as_str() == code && *r == req.region),
                        "{route}: accepted a code and region the registrar never issued"
                    );
                }
                Err(e) => assert_client_error_or_404(route, &enrolment_error(e)),
            }
        }
        Body::Proposal(p) => {
            if p.petition.electorate_hash != f.electorate.canonical_hash() {
                return; // 422: no electorate with this hash is registered
            }
            if let Err(e) = p.verify(&f.electorate_index) {
                return client_error(route, e);
            }
            assert!(check_proposal(&p));
        }
        Body::RingSignature(s) => {
            // The fixture's petition takes credential signatures and nobody holds a ring
            // signature on it: whatever parses, its proof cannot verify against the
            // rings of the fixture's electorate (no forgery), and the refusal is a client
            // error.
            let rings = match vox_protocol::rings::RingSet::derive(
                &f.electorate,
                &f.electorate_index,
                u64::MAX,
            ) {
                Ok(r) => r,
                Err(e) => panic!("fixture rings: {e}"),
            };
            match s.verify(&f.petition_hash, &rings) {
                Ok(()) => panic!("{route}: a ring signature nobody made verified"),
                Err(e) => client_error(route, e),
            }
        }
        Body::Signature(s) => {
            if s.petition_id != f.petition.id {
                return; // 422: does not match the petition in the path
            }
            if !check_petition_signature(&s) {
                if let Err(e) = s.verify(&f.petition_hash, &f.electorate_index) {
                    client_error(route, e);
                }
                return;
            }
            // Apply to the petition as the handler does: a signature to the freshly
            // proposed petition (collecting sponsors), a withdrawal to the petition
            // once published (after voter 1's sponsorship).
            let mut t = PetitionTracker::new(&f.proposal, Some("north"));
            let region = match s.action {
                SignatureAction::Sign => f.electorate_index.region_of(&s.credential),
                SignatureAction::Withdraw => {
                    let sponsor = f.petition_signature(SignatureAction::Sign);
                    let publish = Moderation::Publish {
                        closes_at: T0 + 86_400_000,
                        referendum: crate::roles::fixture_terms(fixture()),
                    };
                    if let Err(e) = t
                        .apply_signature(&sponsor, Some("south"), T0)
                        .and_then(|_| t.apply_moderation(&publish, T0))
                    {
                        panic!("fixture petition cannot be published: {e}");
                    }
                    None
                }
            };
            if let Err(e) = t.apply_signature(&s, region, T0 + 1000) {
                // A rule of the petition's state: 409 (already signed, closed) or 422.
                assert_client_error_or_conflict(route, &rule_error(e));
            }
        }
        Body::Ballot(b) => {
            if b.referendum_id != f.manifest.referendum_id {
                return;
            }
            let ctx = f.context();
            if let Err(e) = b.check_structure(&ctx, &f.electorate_index) {
                return client_error(route, e);
            }
            if !check_ballot(&b) {
                let mut rng = crate::Fixture::rng(7);
                if let Err(e) =
                    b.check_proofs(&ctx, &mut vox_crypto::batch::SingleVerifier, &mut rng)
                {
                    client_error(route, e);
                }
            }
        }
        Body::Audit(a) => {
            if a.ballot.referendum_id != f.manifest.referendum_id {
                return;
            }
            let ctx = f.context();
            if let Err(e) = a.ballot.check_structure(&ctx, &f.electorate_index) {
                return client_error(route, e);
            }
            if !crate::audit::check_audit(&a) {
                if let Err(e) = a.verify_opening(&ctx) {
                    client_error(route, e);
                }
            }
        }
        Body::CeremonyMessage(m) => {
            let cf = ceremony_fixture();
            if m.referendum_id != cf.manifest.referendum_id {
                return;
            }
            if !check_ceremony_message(&m) {
                if let Err(e) = m.verify_signature(&cf.manifest, &cf.manifest_hash) {
                    client_error(route, e);
                }
                return;
            }
            // A signed message is an honest one: on the board as it was when the trustee
            // sent it, the state machine must take it.
            let Some(at) = cf.position(&m) else {
                panic!("{route}: signed message not in the honest ceremony");
            };
            let mut t = cf.tracker_after(at);
            if let Err(e) = apply_checked(&mut t, &cf.manifest, &m) {
                panic!("{route}: honest message {at} refused: {e}");
            }
        }
        Body::DecryptionShare(d) => {
            let cf = ceremony_fixture();
            if d.referendum_id != cf.manifest.referendum_id {
                return;
            }
            if !check_decryption_share(&d) {
                if let Err(e) = d.check(
                    &cf.manifest,
                    &cf.manifest_hash,
                    &cf.joint,
                    &cf.tally,
                    &mut vox_crypto::batch::SingleVerifier,
                ) {
                    client_error(route, e);
                }
            }
        }
        Body::Cosignature => {}
    }
}

/// First byte: which route (modulo [`QUERY_SELECTOR`] + 1: an index in [`Route::ALL`];
/// [`QUERY_SELECTOR`] is a query string); the rest: the body.
///
/// Properties: the body goes through `vox_server::bodies::parse_body`, the very parser
/// and pre-checks of the handlers; a refusal is a 400/422 with a JSON problem body,
/// never a 5xx; for the body types shared with clients the server's parser accepts
/// exactly what serde_json accepts, and an authority act it accepts is the payload
/// serde_json reads, unchanged; then the handler's state-dependent checks run against
/// the fixtures, where an accepted signature, ballot, opening, ceremony message,
/// decryption share or act must be an honest one (see the per-type targets), and a
/// refused act is a 403/409/422. Query strings go through `QueryParams::parse` and its
/// integer getters.
pub fn http_bodies(data: &[u8]) {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let which = selector % (QUERY_SELECTOR + 1);
    let Some(route) = Route::ALL.get(usize::from(which)).copied() else {
        query(body);
        return;
    };
    let name = format!("{route:?}");
    match route {
        Route::CeremonyMessage => agrees::<CeremonyMessage>(&name, body),
        Route::Ballot => agrees::<Ballot>(&name, body),
        Route::Audit => agrees::<AuditedBallot>(&name, body),
        Route::DecryptionShare => agrees::<DecryptionShareMessage>(&name, body),
        Route::Proposal => agrees::<PetitionProposal>(&name, body),
        Route::Signature => agrees::<PetitionSignature>(&name, body),
        Route::RingSignature => agrees::<RingPetitionSignature>(&name, body),
        Route::Enrolment => agrees::<EnrolmentRequest>(&name, body),
        // Authority acts: the server's parser is stricter than serde_json's (the type
        // first, no unknown field); what it accepts is checked in `stateful`.
        Route::Electorate
        | Route::Referendum
        | Route::Moderation
        | Route::Response
        | Route::Invalidation
        | Route::TrusteePanel
        | Route::RoleRotation
        | Route::EnrolmentOpening
        | Route::Revocation
        | Route::Freeze
        | Route::PetitionPolicy
        | Route::WitnessPolicy
        | Route::Cosignature => {}
    }
    match parse_body(route, body) {
        Err(e) => assert_client_error(&name, &e),
        Ok(b) => {
            if let Body::Act(p) = &b {
                assert_eq!(
                    Some(p.kind()),
                    route.act_type(),
                    "{name}: an act of another type"
                );
            }
            stateful(route, body, b)
        }
    }
}

/// A query string: decoded, then every parameter read as the handlers read them.
fn query(body: &[u8]) {
    let text = String::from_utf8_lossy(body);
    let q = QueryParams::parse(Some(&text));
    for name in q.0.keys() {
        match q.opt_u64(name) {
            Ok(Some(v)) => assert_eq!(q.get(name).and_then(|s| s.parse().ok()), Some(v)),
            Ok(None) => panic!("parameter {name:?} vanished"),
            Err(e) => assert_client_error("query", &e),
        }
    }
    if let Err(e) = q.u64("index") {
        assert_client_error("query", &e);
    }
}
