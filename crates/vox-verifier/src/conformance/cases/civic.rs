//! Tampered cases of the civic rules (see [`super`]): enrolment by code, revocation and
//! freezing (V5), standing of petition signers and voters (V6.6, V10.5), replacement
//! credentials, the early close (V9.4), the petitions office's policy (V6.7, V4), the
//! order of a credential's ballots (V10.6) and signed audits (V10.4).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use vox_crypto::credential::{Credential, CredentialPublicKey};
use vox_crypto::{Hash32, Scalar};
use vox_protocol::ballot::{encrypt_ballot, AuditedBallot, Ballot, BallotContext};
use vox_protocol::board::Payload;
use vox_protocol::electorate::{Electorate, EnrolmentRequest};
use vox_protocol::encoding::human_code;
use vox_protocol::enrolment::{EnrolmentCode, EnrolmentOpening};
use vox_protocol::manifest::QuestionKind;
use vox_protocol::petition::{Petition, PetitionPolicy, PetitionSignature, SignatureAction};
use vox_protocol::roles::{ActSignature, Role};

use super::Bases;
use crate::conformance::edits::{
    ballots, closed_at, edit, edit_resigned, find_kind, insert, restamp,
};
use crate::conformance::generate::Case;
use crate::report::Location;
use crate::synth::{manifest, question, Honest, SynthRecord, DAY};
use crate::StepId;

// ---- helpers (shared with the thin tests) -----------------------------------------------

/// Where V5 names an entry of the electorate `town`.
pub fn at_town(leaf: usize) -> Location {
    Location::Electorate {
        electorate: "town".into(),
        leaf: Some(leaf as u64),
    }
}

/// Where V6 names an entry of petition p1.
pub fn at_p1(leaf: usize) -> Location {
    Location::Petition {
        petition: "p1".into(),
        leaf: Some(leaf as u64),
    }
}

/// The enrolment request at leaf `i` (panics if leaf `i` is not one).
pub fn enrolment_at(rec: &SynthRecord, i: usize) -> EnrolmentRequest {
    match &rec.entries[i].payload {
        Payload::CredentialEnrolled { enrolment } => enrolment.clone(),
        _ => panic!("leaf {i} is not an enrolment"),
    }
}

/// A registrar act signed with `h`'s registrar key.
pub fn registrar(h: &Honest, payload: Payload, issued_at_ms: i64) -> Payload {
    payload
        .signed_act(&h.roles.log_id(), issued_at_ms, &h.roles.registrar)
        .unwrap()
}

/// A ballot for r1 by `credential`, encrypted with randomness from `seed`.
pub fn r1_ballot(h: &Honest, credential: &Credential, seed: u64) -> Ballot {
    let ctx = BallotContext::new(&h.manifest, *h.joint.election_key());
    let choices = vec![vec![1, 0], vec![0, 1, 0], vec![1, 0, 0], vec![1, 2]];
    let (ballot, _) = encrypt_ballot(
        &ctx,
        credential,
        &choices,
        None,
        &mut ChaCha20Rng::seed_from_u64(seed),
    )
    .unwrap();
    ballot
}

/// Where V10 names `ballot`, cast at leaf `leaf`.
pub fn ballot_location(ballot: &Ballot, leaf: usize) -> Location {
    Location::Ballot {
        referendum: "r1".into(),
        leaf: leaf as u64,
        tracking_code: human_code(&ballot.hash()),
    }
}

/// The ballot cast at leaf `i` (panics if leaf `i` is not one).
pub fn ballot_at(rec: &SynthRecord, i: usize) -> Ballot {
    match &rec.entries[i].payload {
        Payload::BallotCast { ballot } => ballot.clone(),
        _ => panic!("leaf {i} is not a ballot"),
    }
}

/// Petition p1 as proposed in `rec`.
pub fn p1(rec: &SynthRecord) -> Petition {
    match &rec.entries[find_kind(rec, "petition-proposed")].payload {
        Payload::PetitionProposed { proposal } => proposal.petition.clone(),
        _ => unreachable!(),
    }
}

/// The registrar revokes voter `voter` (who voted in r1) with a replacement code, the
/// replacement enrols and votes: three entries inserted before the close, the log
/// re-signed. Returns the record, the replacement's ballot and its leaf.
pub fn replacement_votes_again(h: &Honest, voter: usize) -> (SynthRecord, Ballot, usize) {
    let mut rng = ChaCha20Rng::seed_from_u64(45);
    let old = h.credentials[voter].public_key();
    let region = Some(if voter.is_multiple_of(2) {
        "north"
    } else {
        "south"
    });
    let code = EnrolmentCode::generate(&mut rng);
    let new = Credential::generate(&mut rng);
    let ballot = r1_ballot(h, &new, 46);
    let mut leaf = 0;
    let rec = edit_resigned(h, |r| {
        let at = closed_at(r);
        let ts = r.entries[at - 1].timestamp_ms;
        let revoke = registrar(
            h,
            Payload::CredentialRevoked {
                electorate_id: "town".into(),
                credential: old,
                replacement: Some(code.hash("town", region)),
                reason: "Device stolen.".into(),
                act: ActSignature::unsigned(),
            },
            ts,
        );
        let enrolment = EnrolmentRequest::create("town", region, Some(&code), &new, &mut rng);
        insert(r, at, revoke);
        insert(r, at + 1, Payload::CredentialEnrolled { enrolment });
        insert(
            r,
            at + 2,
            Payload::BallotCast {
                ballot: ballot.clone(),
            },
        );
        leaf = at + 2;
    });
    (rec, ballot, leaf)
}

/// Replace the honest policy with `edit(policy)`, re-signed by the petitions office at the
/// original act's `issued_at_ms` (so V4 passes and only V6.7 can catch it). Returns the
/// policy's leaf.
pub fn replace_policy(
    h: &Honest,
    r: &mut SynthRecord,
    edit: impl FnOnce(&mut PetitionPolicy),
) -> usize {
    let at = find_kind(r, "petition-policy-set");
    let (mut policy, issued) = match &r.entries[at].payload {
        Payload::PetitionPolicySet { policy, act } => (policy.clone(), act.issued_at_ms),
        other => panic!("not a policy: {}", other.kind()),
    };
    edit(&mut policy);
    r.entries[at].payload = Payload::PetitionPolicySet {
        policy,
        act: ActSignature::unsigned(),
    }
    .signed_act(
        &h.roles.log_id(),
        issued,
        h.roles.key(Role::PetitionsOffice),
    )
    .unwrap();
    at
}

/// The stricter policy (minimum referendum threshold 1000) set after both proposals:
/// it governs no proposal, so V6.7 has nothing to judge.
pub fn policy_after_the_proposals(h: &Honest) -> SynthRecord {
    edit_resigned(h, |r| {
        let at = replace_policy(h, r, |p| p.min_referendum_threshold = Some(1000));
        let entry = r.entries.remove(at);
        let after = r
            .find_all(|p| p.kind() == "petition-proposed")
            .last()
            .copied()
            .unwrap();
        r.entries.insert(after + 1, entry);
        restamp(r);
    })
}

/// The leaf and credential of the first ballot whose credential casts no other ballot.
pub fn lone_first_ballot(rec: &SynthRecord) -> (usize, CredentialPublicKey) {
    let all = ballots(rec);
    let cred = |i: usize| ballot_at(rec, i).credential.unwrap();
    let i = all
        .iter()
        .copied()
        .find(|&i| all.iter().filter(|&&j| cred(j) == cred(i)).count() == 1)
        .unwrap();
    (i, cred(i))
}

/// Where V10 names the (first) audited ballot of `rec`.
pub fn audit_location(rec: &SynthRecord) -> Location {
    let a = find_kind(rec, "ballot-audited");
    match &rec.entries[a].payload {
        Payload::BallotAudited { audited } => ballot_location(&audited.ballot, a),
        _ => unreachable!(),
    }
}

/// The (first) audited ballot of `rec`.
fn audited_mut(rec: &mut SynthRecord) -> &mut AuditedBallot {
    let a = find_kind(rec, "ballot-audited");
    match &mut rec.entries[a].payload {
        Payload::BallotAudited { audited } => audited,
        _ => unreachable!(),
    }
}

// ---- the cases -------------------------------------------------------------------------

/// The cases of this group.
pub fn cases(b: &Bases) -> Vec<Case> {
    let h = &b.by_code;
    let mut out = Vec::new();
    out.extend(electorates(h));
    out.extend(standing(h));
    out.extend(replacements(h));
    out.extend(early_close(h));
    out.extend(obligations(h));
    out.extend(policy(h));
    out.extend(ordering_and_audits(h));
    out
}

/// V5: enrolment by code, revocation, freezing.
fn electorates(h: &Honest) -> Vec<Case> {
    let frozen = find_kind(&h.record, "electorate-frozen");
    let mut out = Vec::new();

    // An enrolment with a code the registrar never committed.
    let mut rng = ChaCha20Rng::seed_from_u64(40);
    let rec = edit_resigned(h, |r| {
        // Before the freeze, with a valid credential signature: only the code is wrong.
        let c = Credential::generate(&mut rng);
        let code = EnrolmentCode::generate(&mut rng);
        let enrolment = EnrolmentRequest::create("town", Some("north"), Some(&code), &c, &mut rng);
        insert(r, frozen, Payload::CredentialEnrolled { enrolment });
    });
    out.push(
        Case::fail(
            "v5-enrolment-with-an-uncommitted-code",
            "A malicious operator inserts, before the freeze, the enrolment of a new \
             credential with a well-formed one-time code whose hash the registrar never \
             committed in its enrolment-opened entry, and re-signs the log. Only codes the \
             registrar committed (or a revocation's replacement code) may enrol (04 \
             §4.1.2, V5.5).",
            rec,
            StepId::Electorates,
        )
        .rule("V5.5")
        .resigned()
        .only()
        .at(at_town(frozen)),
    );

    // A code spent twice.
    let mut rng = ChaCha20Rng::seed_from_u64(41);
    let rec = edit_resigned(h, |r| {
        let first = r
            .find(|p| matches!(p, Payload::CredentialEnrolled { .. }))
            .unwrap();
        let spent = enrolment_at(r, first);
        let code = EnrolmentCode::from_normalised(spent.code.as_deref().unwrap()).unwrap();
        // A second device enrols another key with the same letter.
        let c = Credential::generate(&mut rng);
        let enrolment =
            EnrolmentRequest::create("town", spent.region.as_deref(), Some(&code), &c, &mut rng);
        insert(r, frozen, Payload::CredentialEnrolled { enrolment });
    });
    out.push(
        Case::fail(
            "v5-enrolment-code-spent-twice",
            "A second credential enrols, before the freeze, with the one-time code the \
             first enrolment already spent (as a copied enrolment letter would allow), the \
             log re-signed by a malicious operator. A code enrols one credential only (04 \
             §4.1.2, V5.5).",
            rec,
            StepId::Electorates,
        )
        .rule("V5.5")
        .resigned()
        .only()
        .at(at_town(frozen)),
    );

    // An enrolment whose credential signature does not verify.
    let leaf = h
        .record
        .find_all(|p| matches!(p, Payload::CredentialEnrolled { .. }))[4];
    let rec = edit_resigned(h, |r| {
        if let Payload::CredentialEnrolled { enrolment } = &mut r.entries[leaf].payload {
            enrolment.signature.0.z = enrolment.signature.0.z + Scalar::ONE;
        }
    });
    out.push(
        Case::fail(
            "v5-enrolment-with-a-bad-credential-signature",
            "The fifth enrolment's credential signature is altered (its response scalar \
             plus one) and the log re-signed by a malicious operator: an enrolment must be \
             signed by the credential it enrols, proving the device holds its key (04 \
             §4.1.1, V5.5).",
            rec,
            StepId::Electorates,
        )
        .rule("V5.5")
        .resigned()
        .at(at_town(leaf)),
    );

    // A freeze naming a wrong electorate hash.
    let rec = edit_resigned(h, |r| {
        let p = &mut r.entries[frozen].payload;
        let at = p.act().unwrap().issued_at_ms;
        if let Payload::ElectorateFrozen {
            electorate_hash, ..
        } = p
        {
            *electorate_hash = Hash32([5; 32]);
        }
        // Correctly signed by the registrar: only the hash is wrong.
        *p = registrar(h, p.clone(), at);
    });
    out.push(
        Case::fail(
            "v5-freeze-naming-a-wrong-electorate-hash",
            "The registrar signs an electorate-frozen entry whose electorate_hash is not \
             the hash of the enrolled, non-revoked credentials (04 §4.1.4, V5.7); the log \
             re-signed. The electorate never becomes usable, so the petitions and the \
             manifest naming it fail V5.3 as well.",
            rec,
            StepId::Electorates,
        )
        .rule("V5.7")
        .resigned()
        .at(at_town(frozen)),
    );

    // Revoking a credential that is already revoked.
    let first = find_kind(&h.record, "credential-revoked");
    let rec = edit_resigned(h, |r| {
        let ts = r.entries[first].timestamp_ms;
        let p = Payload::CredentialRevoked {
            electorate_id: "town".into(),
            credential: h.credentials[h.revoked].public_key(),
            replacement: None,
            reason: "Reported twice.".into(),
            act: ActSignature::unsigned(),
        };
        insert(r, first + 1, registrar(h, p, ts));
    });
    out.push(
        Case::fail(
            "v5-revocation-of-a-credential-already-revoked",
            "Right after revoking a credential, the registrar signs a second revocation of \
             the same credential; the log re-signed. Only a current (enrolled or frozen, \
             not revoked) member may be revoked (04 §4.1.3, V5.6).",
            rec,
            StepId::Electorates,
        )
        .rule("V5.6")
        .resigned()
        .only()
        .at(at_town(first + 1)),
    );

    // A referendum on an electorate that is still enrolling.
    let (rec, leaf) = referendum_on_pending_electorate(h);
    out.push(
        Case::fail(
            "v5-referendum-on-an-electorate-still-enrolling",
            "The registrar opens a second electorate `city` by code and two citizens enrol, \
             but it is never frozen; the election authority creates referendum r2 on the \
             hash of its enrolled credentials all the same (log re-signed). Only an \
             electorate registered whole or frozen is usable: the hash of one still \
             enrolling is not (04 §4.1.4, V5.3).",
            rec,
            StepId::Electorates,
        )
        .rule("V5.3")
        .resigned()
        .only()
        .at(Location::Referendum {
            referendum: "r2".into(),
            leaf: Some(leaf as u64),
        }),
    );
    out
}

/// `h` with electorate `city` opened, two enrolments and referendum r2 on it appended at
/// the end of the log (never frozen). Returns the record and r2's leaf.
fn referendum_on_pending_electorate(h: &Honest) -> (SynthRecord, usize) {
    let mut rng = ChaCha20Rng::seed_from_u64(42);
    let log_id = h.roles.log_id();
    let mut leaf = 0;
    let rec = edit_resigned(h, |r| {
        let end = r.entries.len();
        let ts = r.entries[end - 1].timestamp_ms;
        let (opening, letters) =
            EnrolmentOpening::draw("city", "City", &[(None, 3)], &mut rng).unwrap();
        let mut payloads = vec![registrar(
            h,
            Payload::EnrolmentOpened {
                opening,
                act: ActSignature::unsigned(),
            },
            ts,
        )];
        let mut entries = Vec::new();
        for (region, code) in letters.iter().take(2) {
            let c = Credential::generate(&mut rng);
            let enrolment =
                EnrolmentRequest::create("city", region.as_deref(), Some(code), &c, &mut rng);
            entries.push(enrolment.entry());
            payloads.push(Payload::CredentialEnrolled { enrolment });
        }
        let pending = Electorate {
            id: "city".into(),
            name: "City".into(),
            entries,
        };
        let m = manifest(
            "r2",
            &pending,
            vec![question("q", 2, QuestionKind::YesNo)],
            &h.trustee_keys,
            2,
            ts + DAY,
            None,
        );
        payloads.push(
            Payload::ReferendumCreated {
                manifest: m,
                act: ActSignature::unsigned(),
            }
            .signed_act(&log_id, ts, &h.roles.election_authority)
            .unwrap(),
        );
        for (i, p) in payloads.into_iter().enumerate() {
            insert(r, end + i, p);
        }
        leaf = r.entries.len() - 1;
    });
    (rec, leaf)
}

/// V10.5, V6.6: standing of a revoked credential.
fn standing(h: &Honest) -> Vec<Case> {
    let revoked = find_kind(&h.record, "credential-revoked");
    let mut out = Vec::new();

    // A ballot by the revoked credential after its revocation.
    let ballot = r1_ballot(h, &h.credentials[h.revoked], 43);
    let leaf = closed_at(&h.record);
    let rec = edit_resigned(h, |r| {
        insert(
            r,
            leaf,
            Payload::BallotCast {
                ballot: ballot.clone(),
            },
        );
    });
    out.push(
        Case::fail(
            "v10-ballot-by-a-revoked-credential",
            "A malicious operator appends, just before the close, a valid ballot by the \
             credential the registrar revoked earlier in the voting period, and re-signs \
             the log. A revoked credential is not in standing from its revocation on (04 \
             §4.1.3, V10.5).",
            rec,
            StepId::Ballots,
        )
        .rule("V10.5")
        .resigned()
        .at(ballot_location(&ballot, leaf)),
    );

    // The same ballot before the revocation: the replacement's vote is then the second.
    let rec = edit_resigned(h, |r| {
        insert(
            r,
            revoked,
            Payload::BallotCast {
                ballot: ballot.clone(),
            },
        );
    });
    let replacement = h.replacement.public_key();
    let second = rec
        .find(|p| matches!(p, Payload::BallotCast { ballot } if ballot.credential == Some(replacement)))
        .unwrap();
    let second_at = ballot_location(&ballot_at(&rec, second), second);
    out.push(
        Case::fail(
            "v10-replacement-votes-after-its-revoked-predecessor-voted",
            "A malicious operator inserts a ballot by the later-revoked credential just \
             before its revocation (an ordinary, counted vote there) and re-signs the log; \
             the honest replacement credential's vote is then the citizen's second one. A \
             replacement does not vote in a referendum in which a predecessor cast a \
             ballot (04 §4.1.3, V10.5).",
            rec,
            StepId::Ballots,
        )
        .rule("V10.5")
        .resigned()
        .at(second_at),
    );

    // A petition signature by the revoked credential.
    let mut rng = ChaCha20Rng::seed_from_u64(44);
    let sig = PetitionSignature::create(
        &p1(&h.record),
        &h.credentials[h.revoked],
        SignatureAction::Sign,
        &mut rng,
    );
    let rec = edit_resigned(h, |r| {
        insert(r, revoked + 1, Payload::PetitionSigned { signature: sig });
    });
    out.push(
        Case::fail(
            "v6-petition-signed-by-a-revoked-credential",
            "A malicious operator inserts, right after the revocation, a validly signed \
             signature of petition p1 by the revoked credential, and re-signs the log. A \
             revoked credential may no longer sign (04 §4.1.3, 07 §7.3, V6.6).",
            rec,
            StepId::Petitions,
        )
        .rule("V6.6")
        .resigned()
        .at(at_p1(revoked + 1)),
    );
    out
}

/// V10.5, V6.6: replacement credentials.
fn replacements(h: &Honest) -> Vec<Case> {
    let mut out = Vec::new();

    let (rec, ballot, leaf) = replacement_votes_again(h, 1);
    out.push(
        Case::fail(
            "v10-replacement-votes-where-its-predecessor-voted",
            "The registrar revokes voter 1, who has voted in r1, with a replacement code; \
             the replacement enrols and votes again before the close (log re-signed). V5 \
             accepts the revocation and the enrolment; the second vote of one citizen is \
             the fault: a replacement does not vote where a predecessor voted (04 §4.1.3, \
             V10.5).",
            rec,
            StepId::Ballots,
        )
        .rule("V10.5")
        .resigned()
        .at(ballot_location(&ballot, leaf)),
    );

    // The replacement's honest ballot moved before its enrolment.
    let replacement = h.replacement.public_key();
    let mut moved = None;
    let rec = edit_resigned(h, |r| {
        let i = r
            .find(
                |p| matches!(p, Payload::BallotCast { ballot } if ballot.credential == Some(replacement)),
            )
            .unwrap();
        let enrolled = r
            .find(|p| matches!(p, Payload::CredentialEnrolled { enrolment } if enrolment.credential == replacement))
            .unwrap();
        let e = r.entries.remove(i);
        moved = Some((ballot_at_payload(&e.payload), enrolled));
        // After the revocation, just before the replacement's enrolment.
        r.entries.insert(enrolled, e);
        restamp(r);
    });
    let (ballot, enrolled) = moved.unwrap();
    out.push(
        Case::fail(
            "v10-replacement-ballot-before-its-enrolment",
            "A malicious operator moves the replacement credential's ballot before the \
             entry enrolling that credential (restamping to keep time monotonic) and \
             re-signs the log: at that leaf the credential is not in the electorate (04 \
             §4.1.3, V10.5).",
            rec,
            StepId::Ballots,
        )
        .rule("V10.5")
        .resigned()
        .at(ballot_location(&ballot, enrolled)),
    );

    // A replacement signing a petition its predecessor signed.
    let voter = 1; // signed p1
    let mut rng = ChaCha20Rng::seed_from_u64(47);
    let old = h.credentials[voter].public_key();
    let code = EnrolmentCode::generate(&mut rng);
    let new = Credential::generate(&mut rng);
    let sig = PetitionSignature::create(&p1(&h.record), &new, SignatureAction::Sign, &mut rng);
    let leaf = closed_at(&h.record) + 2;
    let rec = edit_resigned(h, |r| {
        let at = closed_at(r);
        let ts = r.entries[at - 1].timestamp_ms;
        let revoke = registrar(
            h,
            Payload::CredentialRevoked {
                electorate_id: "town".into(),
                credential: old,
                replacement: Some(code.hash("town", Some("south"))),
                reason: "Device stolen.".into(),
                act: ActSignature::unsigned(),
            },
            ts,
        );
        let enrolment =
            EnrolmentRequest::create("town", Some("south"), Some(&code), &new, &mut rng);
        insert(r, at, revoke);
        insert(r, at + 1, Payload::CredentialEnrolled { enrolment });
        insert(r, at + 2, Payload::PetitionSigned { signature: sig });
    });
    out.push(
        Case::fail(
            "v6-replacement-signs-a-petition-its-predecessor-signed",
            "The registrar revokes voter 1, who signed petition p1, with a replacement \
             code; the replacement enrols and signs p1 too (log re-signed). V5 accepts the \
             revocation and the enrolment; a replacement does not sign a petition in which \
             a predecessor took part (04 §4.1.3, V6.6).",
            rec,
            StepId::Petitions,
        )
        .rule("V6.6")
        .resigned()
        .at(at_p1(leaf)),
    );
    out
}

fn ballot_at_payload(p: &Payload) -> Ballot {
    match p {
        Payload::BallotCast { ballot } => ballot.clone(),
        _ => panic!("not a ballot"),
    }
}

/// V15: obligations met late or never.
fn obligations(h: &Honest) -> Vec<Case> {
    let rec = &h.record;
    let shares = rec.find_all(|p| matches!(p, Payload::DecryptionShare { .. }));
    let last_share = *shares.last().expect("r1 has shares");
    let trigger = find_kind(rec, "referendum-triggered");
    let responded = find_kind(rec, "petition-responded");
    let opens_at = h.manifest.opens_at;
    let closes_at = h.manifest.closes_at;
    let p1 = |leaf: Option<u64>| Location::Petition {
        petition: "p1".into(),
        leaf,
    };
    vec![
        Case::fail(
            "v15-trustee-share-never-posted",
            "Trustee 2 never posts its decryption share (its entry after the result \
             removed, the log re-signed): the result stands on the shares of trustees 1 and \
             3, but every trustee owes a share by the decryption deadline and the board \
             never named trustee 2 as overdue: both obligations are broken (V15).",
            edit_resigned(h, |r| {
                r.entries.remove(last_share);
            }),
            StepId::Obligations,
        )
        .rule("V15.6")
        .resigned()
        .only(),
        Case::fail(
            "v15-response-never-given",
            "The petitions office never answers p1, which reached its response threshold \
             (the response entry removed, the log re-signed): the record's last head is \
             long past the response deadline, so the obligation is broken (07 §7.4, V15).",
            edit_resigned(h, |r| {
                r.entries.remove(responded);
            }),
            StepId::Obligations,
        )
        .rule("V15.1")
        .resigned()
        .only()
        .at(p1(None)),
        Case::fail(
            "v15-response-given-late",
            "The petitions office answers p1 only after the petition closed, weeks past its \
             response deadline (the signed response moved to the end of the log with the \
             last entry's time, the log re-signed): the response counts, but it is late, and \
             late stays late (07 §7.4, V15).",
            edit_resigned(h, |r| {
                let mut e = r.entries.remove(responded);
                e.timestamp_ms = r.entries.last().map_or(e.timestamp_ms, |l| l.timestamp_ms);
                r.entries.push(e);
            }),
            StepId::Obligations,
        )
        .rule("V15.1")
        .resigned()
        .only()
        .at(p1(None)),
        Case::fail(
            "v15-triggered-referendum-missing",
            "The board never creates the referendum p1's threshold obliges: the \
             referendum-triggered entry and every later entry of r1 removed, the log \
             re-signed. Nothing left is wrong in itself; the broken obligation is (07 §7.4, \
             V15).",
            edit_resigned(h, |r| {
                r.entries.retain(|e| e.scope() != Some("r1"));
            }),
            StepId::Obligations,
        )
        .rule("V15.2")
        .resigned()
        .only()
        .at(p1(Some(trigger as u64 - 1))),
        Case::fail(
            "v15-triggered-referendum-not-next",
            "A malicious operator slips a (validly signed) petitions-office act between p1's \
             referendum threshold entry and the referendum-triggered entry and re-signs the \
             log: the referendum a threshold obliges is the very next entry; later is late, \
             and late stays late (07 §7.4, V15).",
            edit_resigned(h, |r| {
                let ts = r.entries[trigger - 1].timestamp_ms;
                let act = Payload::PetitionPolicySet {
                    policy: crate::synth::honest_policy(),
                    act: ActSignature::unsigned(),
                }
                .signed_act(&h.roles.log_id(), ts, h.roles.key(Role::PetitionsOffice))
                .unwrap();
                insert(r, trigger, act);
            }),
            StepId::Obligations,
        )
        .rule("V15.2")
        .resigned()
        .only()
        .at(p1(Some(trigger as u64 - 1))),
        Case::fail(
            "v15-opened-late",
            "A malicious operator stamps r1's referendum-opened two minutes after opens_at \
             (later entries restamped to keep time monotonic) and re-signs the log: the \
             board opens on schedule, within the one-minute grace (10 §10.6, V15).",
            edit_resigned(h, |r| {
                let at = find_kind(r, "referendum-opened");
                r.entries[at].timestamp_ms = opens_at + 120_000;
                restamp(r);
            }),
            StepId::Obligations,
        )
        .rule("V15.3")
        .resigned()
        .only(),
        Case::fail(
            "v15-closed-late",
            "A malicious operator stamps r1's referendum-closed two minutes after closes_at \
             (later entries restamped) and re-signs the log: the close is late (V15).",
            edit_resigned(h, |r| {
                let at = closed_at(r);
                r.entries[at].timestamp_ms = closes_at + 120_000;
                restamp(r);
            }),
            StepId::Obligations,
        )
        .rule("V15.4")
        .resigned()
        .only(),
        Case::fail(
            "v15-tally-late",
            "A malicious operator stamps r1's tally two minutes after its close (later \
             entries restamped) and re-signs the log: the tally follows the close within the \
             grace (V15).",
            edit_resigned(h, |r| {
                let close = closed_at(r);
                let at = find_kind(r, "tally-computed");
                r.entries[at].timestamp_ms = r.entries[close].timestamp_ms + 120_000;
                restamp(r);
            }),
            StepId::Obligations,
        )
        .rule("V15.5")
        .resigned()
        .only(),
        Case::fail(
            "v12-shares-overdue-before-the-deadline",
            "A malicious operator names trustee 2 as overdue right after the tally, long \
             before the decryption deadline, and re-signs the log: a shares-overdue entry \
             comes only after the deadline and names exactly the trustees without a share \
             (V12.5).",
            edit_resigned(h, |r| {
                let at = find_kind(r, "tally-computed") + 1;
                insert(
                    r,
                    at,
                    Payload::SharesOverdue {
                        referendum_id: "r1".into(),
                        trustees: vec![2],
                    },
                );
            }),
            StepId::Shares,
        )
        .rule("V12.5")
        .resigned()
        .only(),
        Case::fail(
            "v7-trustee-panel-with-threshold-zero",
            "The election authority signs a standing panel asking 0 of its 3 trustees to \
             decrypt (re-signed by the authority, the log re-signed): the panel is invalid \
             (07 §7.9, V7.6) and never in force, so p1's publication and its triggered \
             referendum fail as well.",
            {
                let mut rec = edit(h, |r| {
                    let at = find_kind(r, "trustee-panel-set");
                    if let Payload::TrusteePanelSet { panel, .. } = &mut r.entries[at].payload {
                        panel.threshold = 0;
                    }
                });
                rec.resign_acts(&h.roles).unwrap();
                rec.resign(&h.board_key, &h.witness_keys);
                rec
            },
            StepId::Manifests,
        )
        .rule("V7.6")
        .resigned(),
    ]
}

/// V9.4 and V15: nothing ends early.
fn early_close(h: &Honest) -> Vec<Case> {
    let close = Location::Referendum {
        referendum: "r1".into(),
        leaf: Some(closed_at(&h.record) as u64),
    };
    let closes_at = h.manifest.closes_at;
    vec![Case::fail(
        "v9-close-before-closes-at",
        "A malicious operator stamps r1's referendum-closed entry one second before the \
         manifest's closes_at (later entries keep their times) and re-signs the log: voting \
         closes at closes_at and never before (10 §10.3, V9.4); the obligations step reports \
         the close as early (V15).",
        edit_resigned(h, |r| {
            let at = closed_at(r);
            r.entries[at].timestamp_ms = closes_at - 1000;
        }),
        StepId::Lifecycle,
    )
    .rule("V9.4")
    .resigned()
    .at(close)]
}

/// V6.7, V4: the petitions office's policy.
fn policy(h: &Honest) -> Vec<Case> {
    let policy_leaf = find_kind(&h.record, "petition-policy-set");
    let proposed = find_kind(&h.record, "petition-proposed");
    vec![
        Case::fail(
            "v6-proposal-below-the-policy-minimum-referendum-threshold",
            "The petitions office's published policy (re-signed by the office) raises the \
             minimum referendum threshold to 7; petition p1, proposed later, asks for 6. \
             Every proposal respects the policy in force at its leaf (07 §7.8, V6.7).",
            edit_resigned(h, |r| {
                replace_policy(h, r, |p| p.min_referendum_threshold = Some(7));
            }),
            StepId::Petitions,
        )
        .rule("V6.7")
        .resigned()
        .at(at_p1(proposed)),
        Case::fail(
            "v6-policy-with-a-maximum-open-period-below-its-minimum",
            "The petitions office signs a policy whose maximum open period is one \
             millisecond below its minimum, the log re-signed: no minimum may exceed its \
             maximum (07 §7.8, V6.7).",
            edit_resigned(h, |r| {
                replace_policy(h, r, |p| {
                    p.max_open_for_ms = Some(p.min_open_for_ms.unwrap() - 1);
                });
            }),
            StepId::Petitions,
        )
        .rule("V6.7")
        .resigned()
        .at(Location::Leaf {
            index: policy_leaf as u64,
        }),
        Case::fail(
            "v4-policy-altered-without-the-office-signature",
            "A malicious operator lifts the policy's minimum referendum threshold without \
             the petitions office's key (the old act signature kept) and re-signs the log: \
             a policy is the petitions office's act (07 §7.8, 08 §8.2 kind 25, V4).",
            edit_resigned(h, |r| {
                if let Payload::PetitionPolicySet { policy, .. } =
                    &mut r.entries[policy_leaf].payload
                {
                    policy.min_referendum_threshold = None;
                }
            }),
            StepId::Roles,
        )
        .rule("V4.3")
        .resigned()
        .at(Location::Act {
            leaf: policy_leaf as u64,
            role: Role::PetitionsOffice,
        }),
        Case::pass(
            "honest-policy-set-after-the-proposals-it-would-forbid",
            "The petitions office's policy, raised to a minimum referendum threshold of \
             1000 and signed by the office, is published after both proposals (entries \
             restamped, the log re-signed). A policy governs only the proposals after it \
             (07 §7.8, V6.7): p1's threshold of 6 stays valid and the record passes.",
            policy_after_the_proposals(h),
        )
        .rule("V6.7"),
    ]
}

/// V10.6: the order of a credential's ballots; V10.4: signed audits.
fn ordering_and_audits(h: &Honest) -> Vec<Case> {
    let mut out = Vec::new();

    // A withheld ballot posted after the voter's later ballot.
    let (_, cred) = lone_first_ballot(&h.record);
    let credential = h
        .credentials
        .iter()
        .find(|c| c.public_key() == cred)
        .unwrap();
    let withheld = r1_ballot(h, credential, 77);
    assert_eq!(withheld.previous, None);
    let leaf = closed_at(&h.record);
    let at = ballot_location(&withheld, leaf);
    let rec = edit_resigned(h, |r| {
        insert(r, leaf, Payload::BallotCast { ballot: withheld });
    });
    out.push(
        Case::fail(
            "v10-withheld-ballot-posted-after-the-voters-later-ballot",
            "A coercer (or the server) holds a ballot signed by the voter's device but \
             never cast; the voter votes. The withheld ballot, naming no predecessor, is \
             posted just before the close and the log re-signed: a ballot must extend its \
             credential's latest ballot, or the withheld one would count (04 §4.3, §4.8, \
             V10.6).",
            rec,
            StepId::Ballots,
        )
        .rule("V10.6")
        .resigned()
        .at(at),
    );

    out.push(
        Case::fail(
            "v10-revote-moved-before-the-ballot-it-supersedes",
            "A malicious operator moves a re-vote (whose previous names the voter's first \
             ballot) before every ballot, restamps to keep time monotonic and re-signs the \
             log: the re-vote no longer extends its credential's latest ballot (04 §4.3, \
             §4.8, V10.6).",
            edit_resigned(h, |r| {
                let j = ballots(r)
                    .into_iter()
                    .find(|&i| ballot_at(r, i).previous.is_some())
                    .unwrap();
                let e = r.entries.remove(j);
                let first = ballots(r)[0];
                insert(r, first.max(1), e.payload);
                restamp(r);
            }),
            StepId::Ballots,
        )
        .rule("V10.6")
        .resigned(),
    );

    let rec = edit_resigned(h, |r| {
        let audited = audited_mut(r);
        let other = h
            .credentials
            .iter()
            .map(Credential::public_key)
            .find(|k| Some(*k) != audited.ballot.credential)
            .unwrap();
        audited.ballot.credential = Some(other);
    });
    let at = audit_location(&rec);
    out.push(
        Case::fail(
            "v10-audit-in-another-credentials-name",
            "A malicious operator changes the credential an audited ballot names to another \
             voter's and re-signs the log. The opening still checks (it does not involve \
             the credential), but only the credential's device may publish an opening in \
             its name: the ballot is not signed by the credential it names (04 §4.6, \
             B9, V10.4).",
            rec,
            StepId::Ballots,
        )
        .rule("V10.4")
        .resigned()
        .at(at),
    );

    let rec = edit_resigned(h, |r| {
        let audited = audited_mut(r);
        let s = audited.ballot.signature.as_mut().unwrap();
        s.0.z = s.0.z + Scalar::ONE;
    });
    let at = audit_location(&rec);
    out.push(
        Case::fail(
            "v10-audit-with-a-forged-signature",
            "The audited ballot's credential signature is altered (its response scalar \
             plus one) and the log re-signed: only the credential's device may publish an \
             opening in its name (04 §4.6, B9, V10.4).",
            rec,
            StepId::Ballots,
        )
        .rule("V10.4")
        .resigned()
        .at(at),
    );
    out
}
