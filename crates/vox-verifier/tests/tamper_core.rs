//! The tampered corpus, first half: each edit of the honest record is caught by the step
//! that owns the rule it breaks. The records are conformance cases
//! (`vox_verifier::conformance::cases::{core, roles}`); `run` checks each case's
//! declaration (target step fails, V1–V3 pass when the log was re-signed, only the
//! target fails, the location it names) and these tests assert the rest.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;
use common::*;

use vox_protocol::board::{BoardPublicKey, Payload};
use vox_protocol::petition::Moderation;
use vox_protocol::roles::Role;
use vox_verifier::conformance::cases::roles::{
    fresh_roles, pinned_board, resigned_by_other_operator,
};
use vox_verifier::conformance::edits::{ballots, edit_resigned, find_kind};
use vox_verifier::report::{Failure, Location, Report};
use vox_verifier::{Status, StepId, Verdict};

fn v4_failures(report: &Report) -> Vec<Failure> {
    failures(report, StepId::Roles)
}

// ---- no false alarms --------------------------------------------------------------

#[test]
fn untouched_and_resigned_records_pass() {
    assert_eq!(run("honest-by-code").verdict(), Verdict::Pass);
    // Re-signing an unedited record changes nothing the verifier cares about.
    let rec = edit_resigned(&bases().by_code, |_| {});
    let report = verify(&rec);
    assert_eq!(report.verdict(), Verdict::Pass, "{}", report.to_human());
}

// ---- ballots (V10), tally (V11) -------------------------------------------------------

#[test]
fn altered_ciphertext_is_caught_by_v10() {
    let report = run("v10-ciphertext-altered");
    let leaf = ballots(&bases().by_code.record)[3];
    // The culprit is named by its leaf.
    assert!(failure_locations(&report, StepId::Ballots)
        .iter()
        .any(|l| matches!(l, Location::Ballot { leaf: x, .. } if *x == leaf as u64)));
}

#[test]
fn altered_proof_response_is_caught_by_v10() {
    let report = run("v10-selection-proof-response-altered");
    let leaf = ballots(&bases().by_code.record)[1];
    let locs = failure_locations(&report, StepId::Ballots);
    assert_eq!(locs.len(), 1, "{locs:?}");
    assert!(matches!(&locs[0], Location::Ballot { leaf: x, .. } if *x == leaf as u64));
}

#[test]
fn altered_signature_is_caught_by_v10() {
    run("v10-ballot-signature-altered");
}

#[test]
fn removed_ballot_is_caught_by_v11() {
    run("v11-ballot-removed");
}

#[test]
fn duplicated_ballot_is_caught_by_v10() {
    run("v10-ballot-duplicated");
}

#[test]
fn ballot_without_credential_is_caught_by_v10() {
    let report = run("v10-ballot-from-a-credential-not-in-the-electorate");
    let first = &report.step(StepId::Ballots).unwrap().failures[0];
    assert!(first.message.contains("not in the electorate"), "{first}");
}

#[test]
fn ballot_copied_under_another_credential_is_caught_by_v10() {
    run("v10-ballot-copied-under-another-credential");
}

#[test]
fn ballot_for_another_manifest_is_caught_by_v10() {
    let report = run("v10-ballot-for-another-manifest");
    let first = &report.step(StepId::Ballots).unwrap().failures[0];
    assert!(first.message.contains("another referendum"), "{first}");
}

#[test]
fn audited_ballot_that_is_also_cast_is_caught_by_v10() {
    run("v10-audited-ballot-also-cast");
}

#[test]
fn ballot_after_close_is_caught_by_v9() {
    run("v9-ballot-after-close");
}

#[test]
fn changed_tally_is_caught_by_v11() {
    run("v11-tally-ciphertext-altered");
    run("v11-tally-counted-ballots-inflated");
}

// ---- shares (V12), result (V13), ceremony (V8) --------------------------------------

#[test]
fn result_changed_by_one_is_caught_by_v13() {
    let report = run("v13-result-count-increased-by-one");
    let msg = &report.step(StepId::Result).unwrap().failures[0].message;
    assert!(msg.contains("decrypt the tally to"), "{msg}");
    // Shifting a yes-no vote keeps the shape but not the decryption.
    run("v13-result-yes-no-vote-shifted");
}

#[test]
fn share_from_a_non_trustee_is_caught_by_v12() {
    let report = run("v12-share-from-a-non-trustee");
    assert!(failure_locations(&report, StepId::Shares)
        .iter()
        .any(|l| matches!(l, Location::Trustee { trustee: 4, .. })));
}

#[test]
fn share_with_a_bad_proof_is_caught_by_v12_naming_the_trustee() {
    let report = run("v12-share-with-a-bad-proof");
    let rec = &bases().by_code.record;
    let i = rec
        .find(|p| matches!(p, Payload::DecryptionShare { .. }))
        .unwrap();
    let t = match &rec.entries[i].payload {
        Payload::DecryptionShare { share } => share.share.trustee.get(),
        _ => unreachable!(),
    };
    assert!(failure_locations(&report, StepId::Shares)
        .iter()
        .any(|l| matches!(l, Location::Trustee { trustee, .. } if *trustee == t)));
    // The result used that share, so it is not proven either.
    assert_eq!(report.status(StepId::Result), Status::Fail);
}

#[test]
fn published_election_key_differing_from_the_ceremony_is_caught_by_v8() {
    run("v8-published-public-share-differs-from-the-ceremony");
}

#[test]
fn ceremony_message_out_of_order_is_caught_by_v8() {
    run("v8-ceremony-reveal-before-the-last-commitment");
}

// ---- the log (V2), tree heads (V3) ---------------------------------------------------

#[test]
fn changed_leaf_is_caught_by_v2() {
    run("v2-leaf-changed");
}

#[test]
fn dropped_leaf_is_caught_by_v2() {
    run("v2-leaf-dropped");
}

#[test]
fn reordered_leaves_are_caught_by_v2() {
    run("v2-leaves-reordered");
}

#[test]
fn corrupt_entry_line_is_caught_by_v2() {
    let report = run("v2-entry-line-with-a-corrupt-point");
    // The undecodable ballot (and the roots it changes) are the faults: it is not also
    // blamed on the record changing between the two passes (which read ballots with
    // different parsers).
    let faults = failures(&report, StepId::Log);
    assert!(
        faults[0].message.starts_with("not a valid board entry"),
        "{faults:?}"
    );
    assert!(
        faults.iter().all(|f| !f.message.contains("changed")),
        "{faults:?}"
    );
}

#[test]
fn forged_tree_head_signature_is_caught_by_v3() {
    run("v3-tree-head-signature-forged");
}

#[test]
fn two_heads_of_one_size_with_different_roots_are_caught_by_v2() {
    let report = run("v2-two-heads-of-one-size-with-different-roots");
    let faults = &report.step(StepId::Log).unwrap().failures;
    let f = faults
        .iter()
        .find(|f| f.message.contains("equivocation"))
        .unwrap_or_else(|| panic!("{faults:?}"));
    // The evidence: both signed checkpoint notes, each with its board signature line.
    assert!(f.message.contains("evidence"), "{}", f.message);
    assert_eq!(f.message.matches("\n\n— ").count(), 2, "{}", f.message);
    // Both heads are validly signed: V3 has nothing to object to.
    assert_eq!(report.status(StepId::TreeHeads), Status::Pass);
}

#[test]
fn head_not_covering_the_record_is_caught_by_v2() {
    run("v2-last-head-does-not-cover-the-record");
}

// ---- petitions (V6) -----------------------------------------------------------------

#[test]
fn inflated_petition_count_is_caught_by_v6() {
    run("v6-petition-closed-count-inflated");
    run("v6-petition-threshold-count-inflated");
}

#[test]
fn duplicated_petition_signature_is_caught_by_v6() {
    run("v6-petition-signature-duplicated");
}

#[test]
fn missing_threshold_entry_is_caught_by_v6() {
    run("v6-referendum-threshold-entry-missing");
}

#[test]
fn early_threshold_entry_is_caught_by_v6() {
    run("v6-referendum-threshold-entry-before-its-crossing");
}

#[test]
fn forged_petition_signature_is_caught_by_v6() {
    let report = run("v6-petition-signature-forged");
    assert!(failure_locations(&report, StepId::Petitions)
        .iter()
        .any(|l| matches!(l, Location::Petition { leaf: Some(_), .. })));
}

// ---- the header (V1) -----------------------------------------------------------------

#[test]
fn header_with_its_own_generators_is_refused_by_v1() {
    let report = run("v1-header-with-its-own-generators");
    assert_eq!(report.status(StepId::Ballots), Status::NotChecked);
    assert_eq!(report.verdict(), Verdict::Fail);
}

#[test]
fn header_with_a_wrong_log_id_is_refused_by_v1() {
    run("v1-header-log-id-wrong");
}

#[test]
fn header_naming_an_unknown_referendum_fails_v1() {
    run("v1-header-names-an-unknown-referendum");
}

#[test]
fn manifest_carrying_its_own_generators_is_refused_by_v1() {
    let report = run("v1-manifest-with-its-own-generators");
    let f = &report.step(StepId::Record).unwrap().failures[0];
    assert!(f.message.contains("/payload/manifest/generators"), "{f}");
    // A null optional field is not an extra field. (This changes the manifest's source
    // petition, so other steps object; V1 not.)
    let report = run("v7-manifest-source-petition-set-to-null");
    assert_eq!(report.status(StepId::Record), Status::Pass);
}

// ---- genesis, roles and authority signatures (V4) --------------------------------------

#[test]
fn act_signed_by_wrong_role_is_caught_by_v4() {
    // The petition office's publication of p1, signed by the election authority.
    let leaf = bases()
        .by_code
        .record
        .find(|p| {
            matches!(
                p,
                Payload::PetitionModerated {
                    moderation: Moderation::Publish { .. },
                    ..
                }
            )
        })
        .unwrap();
    let f = v4_failures(&run(
        "v4-petition-publication-signed-by-the-election-authority",
    ));
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(
        f[0].location,
        Location::Act {
            leaf: leaf as u64,
            role: Role::PetitionsOffice
        }
    );
    assert!(f[0].message.contains("petitions-office"), "{}", f[0]);
    // The operator cannot register an electorate in the registrar's name either.
    let i = find_kind(&bases().registered.record, "electorate-registered");
    let f = v4_failures(&run("v4-electorate-registered-signed-by-the-operator"));
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(
        f[0].location,
        Location::Act {
            leaf: i as u64,
            role: Role::Registrar
        }
    );
}

/// The registrar's enrolment acts (opening, revocation, freeze), signed by another role
/// or with a forged signature, fail V4 and nothing else.
#[test]
fn enrolment_acts_signed_by_wrong_role_or_forged_are_caught_by_v4() {
    for kind in [
        "enrolment-opened",
        "credential-revoked",
        "electorate-frozen",
    ] {
        let leaf = find_kind(&bases().by_code.record, kind);
        for how in [
            "signed-by-the-operator",
            "signed-by-the-election-authority",
            "signature-forged",
        ] {
            let f = v4_failures(&run(&format!("v4-{kind}-{how}")));
            assert_eq!(f.len(), 1, "{kind} {how}: {f:?}");
            assert_eq!(
                f[0].location,
                Location::Act {
                    leaf: leaf as u64,
                    role: Role::Registrar
                },
                "{kind} {how}"
            );
            assert!(f[0].message.contains("does not verify"), "{}", f[0]);
        }
    }
}

#[test]
fn forged_act_signature_is_caught_by_v4() {
    let leaf = find_kind(&bases().by_code.record, "trustee-panel-set");
    let f = v4_failures(&run("v4-act-signature-forged"));
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(
        f[0].location,
        Location::Act {
            leaf: leaf as u64,
            role: Role::ElectionAuthority
        }
    );
    // A changed decision under the old signature: the same.
    let f = v4_failures(&run("v4-petition-response-changed-under-its-signature"));
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(f[0].message.contains("does not verify"), "{}", f[0]);
}

#[test]
fn replayed_act_is_caught_by_v4() {
    let first = find_kind(&bases().by_code.record, "trustee-panel-set");
    let f = v4_failures(&run("v4-act-replayed"));
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(
        f[0].location,
        Location::Act {
            leaf: first as u64 + 1,
            role: Role::ElectionAuthority
        }
    );
    assert!(
        f[0].message.contains("replay") && f[0].message.contains(&format!("leaf {first}")),
        "{}",
        f[0]
    );
}

#[test]
fn resigned_by_other_operator_is_caught_by_v4() {
    let report = run("v4-log-resigned-by-another-operator-with-a-new-genesis");
    let f = v4_failures(&report);
    assert_eq!(f.len(), 1, "one clear failure, not one per act: {f:?}");
    assert_eq!(f[0].location, Location::Leaf { index: 0 });
    assert!(f[0].message.contains("genesis is not valid"), "{}", f[0]);
    assert!(report
        .step(StepId::Roles)
        .unwrap()
        .detail
        .contains("not verifiable"));
    // Keeping the roles' genesis does not help: it names the real operator.
    let (_, other) = resigned_by_other_operator(&bases().by_code, false);
    let f = v4_failures(&run(
        "v4-log-resigned-by-another-operator-keeping-the-genesis",
    ));
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].location, Location::Leaf { index: 0 });
    assert!(
        f[0].message
            .contains(&BoardPublicKey(other.verifying_key()).to_hex()),
        "{}",
        f[0]
    );
}

#[test]
fn resigned_by_other_operator_with_the_board_key_pinned_fails_v1() {
    let c = case("v1-log-resigned-by-another-operator-with-the-board-key-pinned");
    let (_, other) = resigned_by_other_operator(&bases().by_code, true);
    let original = BoardPublicKey(bases().by_code.board_key.verifying_key());
    assert_eq!(c.trust, Some(pinned_board(&bases().by_code)));
    assert_eq!(c.trust.as_ref().unwrap().board_public_key, Some(original));
    let report = run(&c.name);
    let f = &report.step(StepId::Record).unwrap().failures[0];
    assert_eq!(
        f.message,
        format!(
            "board key mismatch: pinned {}, record {}",
            original.to_hex(),
            BoardPublicKey(other.verifying_key()).to_hex()
        )
    );
    // The honest record with the right key pinned passes.
    let report = run("honest-by-code-with-the-board-key-pinned");
    assert_eq!(report.verdict(), Verdict::Pass, "{}", report.to_human());
}

#[test]
fn regenesis_by_fresh_roles_passes_unpinned_and_fails_v4_with_pinned_role_keys() {
    let h = &bases().by_code;
    let fresh = fresh_roles();
    // Consistent on its own: only keys learned elsewhere can tell.
    let report = run("honest-looking-regenesis-by-fresh-roles-unpinned");
    assert_eq!(report.verdict(), Verdict::Pass, "{}", report.to_human());
    let real = h.roles.public_keys();
    let report = run("v4-regenesis-by-fresh-roles-with-role-keys-pinned");
    assert_eq!(
        report.failed_steps(),
        vec![StepId::Roles],
        "{}",
        report.to_human()
    );
    let f = v4_failures(&report);
    assert_eq!(f.len(), 3, "{f:?}");
    assert!(f.iter().all(|f| f.location == Location::Leaf { index: 0 }));
    assert_eq!(
        f[0].message,
        format!(
            "registrar key mismatch: pinned {}, genesis {}",
            real.registrar.to_hex(),
            fresh.public_keys().registrar.to_hex()
        )
    );
    // The honest record passes with the same pins.
    let pins = |name: &str| case(name).trust.clone().unwrap();
    assert_eq!(
        pins("honest-by-code-with-role-keys-pinned"),
        pins("v4-regenesis-by-fresh-roles-with-role-keys-pinned")
    );
    let report = run("honest-by-code-with-role-keys-pinned");
    assert_eq!(report.verdict(), Verdict::Pass, "{}", report.to_human());
}

#[test]
fn leaf_0_that_is_not_a_genesis_is_caught_by_v4() {
    let f = v4_failures(&run("v4-leaf-0-is-not-a-genesis"));
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].location, Location::Leaf { index: 0 });
    assert!(f[0].message.contains("not the genesis"), "{}", f[0]);
    // A genesis short of one role's signature is not valid.
    let f = v4_failures(&run("v4-genesis-without-the-election-authority-signature"));
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].location, Location::Leaf { index: 0 });
    assert!(f[0].message.contains("election-authority"), "{}", f[0]);
}

#[test]
fn second_genesis_is_caught_by_v4() {
    let at = find_kind(&bases().by_code.record, "trustee-panel-set");
    let f = v4_failures(&run("v4-second-genesis"));
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].location, Location::Leaf { index: at as u64 });
    assert!(f[0].message.contains("second genesis"), "{}", f[0]);
}

#[test]
fn rotation_with_bad_possession_is_caught_by_v4() {
    let f = v4_failures(&run("v4-rotation-with-a-possession-proof-by-another-key"));
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(
        f[0].location,
        Location::Act {
            leaf: 2,
            role: Role::Registrar
        }
    );
    assert!(f[0].message.contains("possession"), "{}", f[0]);
    // The operator key is never rotated within a log.
    let f = v4_failures(&run("v4-rotation-of-the-operator-key"));
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(
        f[0].message.contains("operator key cannot be rotated"),
        "{}",
        f[0]
    );
}

#[test]
fn act_signed_by_the_old_key_after_a_rotation_is_caught_by_v4() {
    // The rotation is inserted before the response, which moves one leaf on.
    let leaf = find_kind(&bases().by_code.record, "petition-responded") + 1;
    // The response that follows is still signed by the old key.
    let f = v4_failures(&run("v4-act-signed-by-the-old-key-after-a-rotation"));
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(
        f[0].location,
        Location::Act {
            leaf: leaf as u64,
            role: Role::PetitionsOffice
        }
    );
    // Signed by the new key, it passes: the rotation took effect.
    let report = run("honest-act-signed-by-the-new-key-after-a-rotation");
    assert_eq!(report.verdict(), Verdict::Pass, "{}", report.to_human());
}
