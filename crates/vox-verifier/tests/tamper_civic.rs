//! The tampered corpus, civic rules: enrolment by code, revocation and freezing (V5),
//! standing (V6.6, V10.5), replacement credentials, the early close (V9.4), the petitions
//! office's policy (V6.7, V4), ballot ordering (V10.6) and signed audits (V10.4). Each
//! record is a conformance case (`conformance::cases::civic`); these tests assert what
//! the case's declaration does not (messages, counts, other steps).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;
use common::*;

use vox_crypto::credential::CredentialPublicKey;
use vox_protocol::ballot::Ballot;
use vox_protocol::board::{BoardPublicKey, Payload};
use vox_verifier::conformance::cases::civic::{
    at_p1, at_town, ballot_at, ballot_location, p1, r1_ballot, replacement_votes_again,
};
use vox_verifier::conformance::edits::{ballots, closed_at, find_kind};
use vox_verifier::report::{Failure, Location, Report};
use vox_verifier::{Status, StepId, TrustAnchors, Verdict};

// ---- enrolment by code, revocation, freezing (V5), standing (V6.6, V10.5) ---------------

#[test]
fn honest_record_enrols_by_code_revokes_and_replaces() {
    let h = &bases().by_code;
    let rec = &h.record;
    for kind in [
        "enrolment-opened",
        "credential-enrolled",
        "credential-revoked",
        "electorate-frozen",
    ] {
        assert!(rec.find(|p| p.kind() == kind).is_some(), "no {kind}");
    }
    // The replacement enrols after the freeze and votes.
    let frozen = find_kind(rec, "electorate-frozen");
    let revoked = find_kind(rec, "credential-revoked");
    assert!(revoked > frozen);
    let replacement = h.replacement.public_key();
    assert!(
        rec.find_all(
            |p| matches!(p, Payload::BallotCast { ballot } if ballot.credential == Some(replacement))
        )
        .len()
            == 1
    );
    let report = run("honest-by-code");
    // 1 opening + 16 enrolments + 1 freeze + 1 revocation + 1 replacement enrolment, and
    // the uses by 3 petitions (p3 ring-signed) and 1 manifest.
    assert_eq!(report.step(StepId::Electorates).unwrap().checked, 20 + 4);
}

#[test]
fn honest_record_with_a_registered_electorate_passes() {
    let h = &bases().registered;
    assert!(h.record.find(|p| p.kind() == "enrolment-opened").is_none());
    assert!(h
        .record
        .find(|p| p.kind() == "credential-revoked")
        .is_some());
    let report = run("honest-registered");
    assert_eq!(report.verdict(), Verdict::Pass, "{}", report.to_human());
}

#[test]
fn enrolment_with_an_uncommitted_code_is_caught_by_v5() {
    let report = run("v5-enrolment-with-an-uncommitted-code");
    let leaf = find_kind(&bases().by_code.record, "electorate-frozen");
    let f = failures(&report, StepId::Electorates);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].location, at_town(leaf));
    assert!(
        f[0].message.contains("V5.5") && f[0].message.contains("not one the registrar committed"),
        "{}",
        f[0]
    );
}

#[test]
fn code_spent_twice_is_caught_by_v5() {
    let report = run("v5-enrolment-code-spent-twice");
    let rec = &bases().by_code.record;
    let first = rec
        .find(|p| matches!(p, Payload::CredentialEnrolled { .. }))
        .unwrap();
    let leaf = find_kind(rec, "electorate-frozen");
    let f = failures(&report, StepId::Electorates);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].location, at_town(leaf));
    assert!(
        f[0].message.contains("V5.5")
            && f[0]
                .message
                .contains(&format!("already spent at leaf {first}")),
        "{}",
        f[0]
    );
}

#[test]
fn enrolment_with_a_bad_credential_signature_is_caught_by_v5() {
    let report = run("v5-enrolment-with-a-bad-credential-signature");
    let leaf = bases()
        .by_code
        .record
        .find_all(|p| matches!(p, Payload::CredentialEnrolled { .. }))[4];
    let f = failures(&report, StepId::Electorates);
    assert_eq!(f[0].location, at_town(leaf));
    assert!(f[0].message.contains("signature"), "{}", f[0]);
}

#[test]
fn freeze_naming_a_wrong_hash_is_caught_by_v5() {
    let report = run("v5-freeze-naming-a-wrong-electorate-hash");
    let leaf = find_kind(&bases().by_code.record, "electorate-frozen");
    assert_eq!(report.status(StepId::Roles), Status::Pass);
    let f = failures(&report, StepId::Electorates);
    assert_eq!(f[0].location, at_town(leaf));
    assert!(f[0].message.contains("V5.7"), "{}", f[0]);
    // The electorate never became usable: its petitions and manifest fail V5.3.
    assert!(f[1..].iter().all(|f| f.message.contains("V5.3")), "{f:?}");
}

#[test]
fn revocation_of_a_credential_not_current_is_caught_by_v5() {
    let report = run("v5-revocation-of-a-credential-already-revoked");
    let leaf = find_kind(&bases().by_code.record, "credential-revoked") + 1;
    let f = failures(&report, StepId::Electorates);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].location, at_town(leaf));
    assert!(f[0].message.contains("V5.6"), "{}", f[0]);
}

#[test]
fn manifest_naming_an_electorate_still_enrolling_is_caught_by_v5() {
    let name = "v5-referendum-on-an-electorate-still-enrolling";
    let report = run(name);
    // r2's creation is the last entry.
    let leaf = case(name).record.entries.len() - 1;
    let f = failures(&report, StepId::Electorates);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(
        f[0].location,
        Location::Referendum {
            referendum: "r2".into(),
            leaf: Some(leaf as u64)
        }
    );
    assert!(
        f[0].message.contains("V5.3") && f[0].message.contains("still enrolling"),
        "{}",
        f[0]
    );
}

#[test]
fn ballot_by_a_revoked_credential_is_caught_by_v10() {
    let h = &bases().by_code;
    let revoked = find_kind(&h.record, "credential-revoked");
    let ballot = r1_ballot(h, &h.credentials[h.revoked], 43);
    let leaf = closed_at(&h.record);
    let report = run("v10-ballot-by-a-revoked-credential");
    let f = failures(&report, StepId::Ballots);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].location, ballot_location(&ballot, leaf));
    assert!(
        f[0].message.contains("V10.5")
            && f[0]
                .message
                .contains(&format!("revoked by the registrar at leaf {revoked}")),
        "{}",
        f[0]
    );
    // The same ballot before the revocation is an ordinary vote, but then the
    // replacement's vote is the citizen's second one.
    let report = run("v10-replacement-votes-after-its-revoked-predecessor-voted");
    let f = failures(&report, StepId::Ballots);
    let replacement = h.replacement.public_key();
    // One entry was inserted before it.
    let second = h
        .record
        .find(|p| matches!(p, Payload::BallotCast { ballot } if ballot.credential == Some(replacement)))
        .unwrap()
        + 1;
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(
        matches!(&f[0].location, Location::Ballot { leaf, .. } if *leaf == second as u64),
        "{f:?}"
    );
    assert!(f[0].message.contains("cast a ballot earlier"), "{}", f[0]);
}

#[test]
fn petition_signature_by_a_revoked_credential_is_caught_by_v6() {
    let h = &bases().by_code;
    let revoked = find_kind(&h.record, "credential-revoked");
    assert_eq!(p1(&h.record).id, "p1");
    let leaf = revoked + 1;
    let report = run("v6-petition-signed-by-a-revoked-credential");
    let f = failures(&report, StepId::Petitions);
    assert_eq!(f[0].location, at_p1(leaf));
    assert!(
        f[0].message.contains("V6.6")
            && f[0]
                .message
                .contains(&format!("revoked by the registrar at leaf {revoked}")),
        "{}",
        f[0]
    );
    // The signature itself verifies: nothing else objects to it at its leaf.
    assert!(f[1..].iter().all(|x| x.location != f[0].location), "{f:?}");
}

fn assert_predecessor_voted(
    f: &[Failure],
    ballot: &Ballot,
    leaf: usize,
    old: &CredentialPublicKey,
) {
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].location, ballot_location(ballot, leaf));
    assert!(
        f[0].message.contains("V10.5")
            && f[0].message.contains("cast a ballot earlier")
            && f[0].message.contains(&hex::encode(old.to_bytes())),
        "{}",
        f[0]
    );
}

#[test]
fn replacement_voting_where_its_predecessor_voted_is_caught_by_v10() {
    let h = &bases().by_code;
    let voter = 1;
    let report = run("v10-replacement-votes-where-its-predecessor-voted");
    let (rec, ballot, leaf) = replacement_votes_again(h, voter);
    // V5 accepts the revocation and the enrolment: the fault is the second vote.
    assert_eq!(report.status(StepId::Electorates), Status::Pass);
    let old = h.credentials[voter].public_key();
    assert_predecessor_voted(&failures(&report, StepId::Ballots), &ballot, leaf, &old);
    // The monitor, without pass 1, finds it from the ballots it has seen.
    let mut v = vox_verifier::Verifier::for_monitor(
        BoardPublicKey(h.board_key.verifying_key()),
        TrustAnchors::default(),
    );
    v.push_entries(rec.entries.clone());
    let f: Vec<Failure> = v
        .take_new_failures()
        .into_iter()
        .filter(|(s, _)| *s == StepId::Ballots)
        .map(|(_, f)| f)
        .collect();
    assert_predecessor_voted(&f, &ballot, leaf, &old);
    // A voter who had not voted may be replaced and vote (the honest record does so).
    let (rec, _, _) = replacement_votes_again(h, 14);
    let report = verify(&rec);
    assert_eq!(
        report.status(StepId::Ballots),
        Status::Pass,
        "{}",
        report.to_human()
    );
}

#[test]
fn replacement_ballot_before_its_enrolment_is_caught_by_v10() {
    let h = &bases().by_code;
    let replacement = h.replacement.public_key();
    let i = h
        .record
        .find(|p| matches!(p, Payload::BallotCast { ballot } if ballot.credential == Some(replacement)))
        .unwrap();
    let ballot = ballot_at(&h.record, i);
    let leaf = h
        .record
        .find(|p| matches!(p, Payload::CredentialEnrolled { enrolment } if enrolment.credential == replacement))
        .unwrap();
    let report = run("v10-replacement-ballot-before-its-enrolment");
    let f = failures(&report, StepId::Ballots);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].location, ballot_location(&ballot, leaf));
    assert!(f[0].message.contains("not in the electorate"), "{}", f[0]);
}

#[test]
fn replacement_signing_a_petition_its_predecessor_signed_is_caught_by_v6() {
    let h = &bases().by_code;
    let voter = 1; // signed p1
    let old = h.credentials[voter].public_key();
    // Revocation, enrolment, then the signature, inserted before the close.
    let leaf = closed_at(&h.record) + 2;
    let report = run("v6-replacement-signs-a-petition-its-predecessor-signed");
    assert_eq!(report.status(StepId::Electorates), Status::Pass);
    let f = failures(&report, StepId::Petitions);
    assert_eq!(f[0].location, at_p1(leaf));
    assert!(
        f[0].message.contains("V6.6")
            && f[0].message.contains("already took part")
            && f[0].message.contains(&hex::encode(old.to_bytes())),
        "{}",
        f[0]
    );
}

// ---- V9.4 early close ------------------------------------------------------------------

fn v9_messages(report: &Report) -> Vec<String> {
    report
        .step(StepId::Lifecycle)
        .unwrap()
        .failures
        .iter()
        .map(|f| f.message.clone())
        .collect()
}

#[test]
fn honest_record_meets_every_obligation() {
    let report = run("honest-by-code");
    assert_eq!(report.verdict(), Verdict::Pass);
    let detail = &report.step(StepId::Obligations).unwrap().detail;
    assert!(detail.contains("met on time"), "{detail}");
}

#[test]
fn close_before_closes_at_is_caught_by_v9_and_v15() {
    let report = run("v9-close-before-closes-at");
    assert_eq!(report.status(StepId::Roles), Status::Pass);
    let m = v9_messages(&report);
    assert_eq!(m.len(), 1, "{m:?}");
    assert!(m[0].contains("before the manifest's closes_at"), "{}", m[0]);
    let f = failures(&report, StepId::Obligations);
    assert!(f.iter().any(|x| x.message.contains("met early")), "{f:?}");
}

// ---- V6.7 petitions office policy ------------------------------------------------------

#[test]
fn proposal_breaking_the_published_policy_is_caught_by_v6() {
    // p1 asks for a referendum threshold of 6; the office's published minimum becomes 7.
    let rec = &bases().by_code.record;
    let policy_leaf = find_kind(rec, "petition-policy-set");
    let report = run("v6-proposal-below-the-policy-minimum-referendum-threshold");
    assert_eq!(report.status(StepId::Roles), Status::Pass);
    let f = failures(&report, StepId::Petitions);
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(
        f[0].message.contains("V6.7")
            && f[0].message.contains("referendum_threshold")
            && f[0].message.contains(&format!("leaf {policy_leaf}")),
        "{}",
        f[0]
    );
    let p1 = find_kind(rec, "petition-proposed");
    assert_eq!(f[0].location, at_p1(p1));
}

#[test]
fn policy_with_a_maximum_below_its_minimum_is_caught_by_v6() {
    let report = run("v6-policy-with-a-maximum-open-period-below-its-minimum");
    let f = failures(&report, StepId::Petitions);
    assert!(
        f.iter()
            .any(|x| x.message.contains("V6.7") && x.message.contains("max_open_for_ms")),
        "{f:?}"
    );
}

#[test]
fn altered_policy_without_the_office_signature_is_caught_by_v4() {
    // The operator lifts a bound without the petitions office's key.
    run("v4-policy-altered-without-the-office-signature");
}

#[test]
fn a_policy_governs_only_later_proposals() {
    // The same stricter policy, set after both proposals: nothing to judge.
    let report = run("honest-policy-set-after-the-proposals-it-would-forbid");
    assert_eq!(
        report.status(StepId::Petitions),
        Status::Pass,
        "{}",
        report.to_human()
    );
}

// ---- ballot ordering (V10.6) and signed audits (V10.4) ------------------------------------

#[test]
fn honest_revote_names_the_ballot_it_supersedes() {
    let rec = &bases().by_code.record;
    let chained = ballots(rec)
        .into_iter()
        .any(|i| ballot_at(rec, i).previous.is_some());
    assert!(
        chained,
        "the honest record has a re-vote naming its predecessor"
    );
    assert_eq!(run("honest-by-code").verdict(), Verdict::Pass);
}

#[test]
fn withheld_ballot_posted_after_the_voters_later_ballot_is_caught_by_v10() {
    // A coercer (or the server) holds ballot A, signed by the voter's device but never
    // cast; the voter votes B. Posting A after B must not make A count.
    let leaf = closed_at(&bases().by_code.record);
    let report = run("v10-withheld-ballot-posted-after-the-voters-later-ballot");
    let f = failures(&report, StepId::Ballots);
    assert!(
        f.iter().any(|f| f.message.contains("V10.6")
            && matches!(&f.location, Location::Ballot { leaf: x, .. } if *x == leaf as u64)),
        "{f:?}"
    );
}

#[test]
fn revote_moved_before_the_ballot_it_supersedes_is_caught_by_v10() {
    let report = run("v10-revote-moved-before-the-ballot-it-supersedes");
    assert_fault(&report, StepId::Ballots, "V10.6");
}

#[test]
fn audit_in_another_credentials_name_is_caught_by_v10() {
    // The opening still checks (it does not involve the credential), but the ballot is
    // not signed by the credential it names.
    let report = run("v10-audit-in-another-credentials-name");
    assert_fault(&report, StepId::Ballots, "not signed by its credential");
}

#[test]
fn audit_with_a_forged_signature_is_caught_by_v10() {
    let report = run("v10-audit-with-a-forged-signature");
    assert_fault(&report, StepId::Ballots, "not signed by its credential");
}
