//! The genesis entry and signed authority acts ([`roles_json`]), against the fixture's
//! four roles (protocol-spec/11-roles.md).

use std::collections::BTreeSet;
use std::sync::OnceLock;

use ed25519_dalek::{Signer, SigningKey};
use vox_protocol::board::{BoardPublicKey, Payload, Sig};
use vox_protocol::encoding::{Canonical, Encoder};
use vox_protocol::manifest::TrusteePanel;
use vox_protocol::petition::{Moderation, PetitionPolicy, ReferendumTerms};
use vox_protocol::roles::{
    act_message, possession_message, ActError, ActSignature, Authorities, Genesis, Role,
    GENESIS_LABEL,
};

use crate::{fixture, parse_roundtrip, Fixture, T0};

/// Index of the petitions office's key rotation in [`RolesFixture::acts`].
pub const ROTATION: usize = 6;

/// Indexes in [`RolesFixture::acts`] of the registrar's `enrolment-opened`,
/// `credential-revoked` and `electorate-frozen` acts (after the rotation).
pub const REGISTRAR_ACTS: [usize; 3] = [8, 9, 10];

/// Index in [`RolesFixture::acts`] of the election authority's `trustee-panel-set` act.
pub const PANEL: usize = 5;

/// Index in [`RolesFixture::acts`] of the petitions office's `petition-policy-set` act
/// (signed with its rotated key).
pub const POLICY: usize = 11;

/// Index in [`RolesFixture::acts`] of the operator's `witness-policy-set` act (last).
pub const WITNESS_POLICY: usize = 12;

/// Honest signed acts of the fixture's roles, and the roles' state before and after the
/// rotation.
pub struct RolesFixture {
    /// The petitions office's key after the rotation.
    pub new_office_key: SigningKey,
    /// In log order: the registrar registers the fixture electorate; the election
    /// authority creates the fixture referendum; the petitions office publishes the
    /// fixture petition (with the referendum terms its threshold obliges), answers it and
    /// invalidates a signature; the election authority sets the standing trustee panel
    /// ([`PANEL`]); the petitions office rotates its key ([`ROTATION`]) and rejects
    /// petition `p2` with the new key; the registrar opens an enrolment, revokes a
    /// credential and freezes ([`REGISTRAR_ACTS`]); the petitions office publishes its
    /// bounds on proposals ([`POLICY`]); the operator names two witnesses, either of
    /// whom cosigns ([`WITNESS_POLICY`]).
    pub acts: Vec<Payload>,
    /// The roles right after the genesis.
    pub before: Authorities,
    /// After the genesis and the rotation (nothing else applied).
    pub after: Authorities,
    honest: BTreeSet<Vec<u8>>,
}

/// The referendum terms of the fixture petition's publication: the fixture manifest's
/// questions, opening a week after the threshold, voting for two weeks.
pub fn fixture_terms(f: &Fixture) -> ReferendumTerms {
    ReferendumTerms {
        referendum_id: format!("r-{}", f.petition.id),
        title: f.petition.action.clone(),
        description: f.petition.background.clone(),
        questions: f.manifest.questions.clone(),
        opens_after_ms: 7 * 86_400_000,
        voting_ms: 14 * 86_400_000,
        participation: Default::default(),
    }
}

fn build() -> RolesFixture {
    let f = fixture();
    let log_id = f.genesis.log_id();
    let new_office_key = SigningKey::generate(&mut Fixture::rng(0x70));
    let new_pk = BoardPublicKey(new_office_key.verifying_key());
    let act = ActSignature::unsigned();
    let unsigned = vec![
        Payload::ElectorateRegistered {
            electorate: f.electorate.clone(),
            act,
        },
        Payload::ReferendumCreated {
            manifest: f.manifest.clone(),
            act,
        },
        Payload::PetitionModerated {
            petition_id: f.petition.id.clone(),
            moderation: Moderation::Publish {
                closes_at: T0 + 86_400_000,
                referendum: fixture_terms(f),
            },
            act,
        },
        Payload::PetitionResponded {
            petition_id: f.petition.id.clone(),
            text: "The council will plant 200 trees.".into(),
            act,
        },
        Payload::SignaturesInvalidated {
            petition_id: f.petition.id.clone(),
            tags: Vec::new(),
            credentials: f
                .credentials
                .iter()
                .skip(5)
                .take(1)
                .map(|c| c.public_key())
                .collect(),
            reason: "registered twice".into(),
            act,
        },
        Payload::TrusteePanelSet {
            panel: TrusteePanel {
                trustees: f.manifest.trustees.clone(),
                threshold: f.manifest.threshold,
                answer_due_ms: f.manifest.answer_due_ms,
                decryption_due_ms: f.manifest.decryption_due_ms,
            },
            act,
        },
        Payload::RoleKeyRotated {
            role: Role::PetitionsOffice,
            new_key: new_pk,
            possession: Sig(new_office_key.sign(&possession_message(
                &log_id,
                Role::PetitionsOffice,
                &new_pk,
            ))),
            act,
        },
    ];
    let mut acts = Vec::new();
    for (i, p) in unsigned.into_iter().enumerate() {
        let at = T0 - 3_600_000 + 1000 * i as i64;
        match f.roles.sign(p, at) {
            Ok(p) => acts.push(p),
            Err(e) => panic!("fixture: cannot sign act {i}: {e}"),
        }
    }
    let rejected = Payload::PetitionModerated {
        petition_id: "p2".into(),
        moderation: Moderation::Reject {
            reason: "Duplicate of p1".into(),
        },
        act,
    }
    .signed_act(&log_id, T0 - 3_000_000, &new_office_key);
    match rejected {
        Ok(p) => acts.push(p),
        Err(e) => panic!("fixture: cannot sign with the new key: {e}"),
    }
    // The registrar's enrolment acts ([`REGISTRAR_ACTS`]): open the enrolment fixture's
    // electorate, revoke its second credential, freeze it.
    let ef = crate::enrolment_fixture();
    let Some(second) = ef.requests.get(1) else {
        panic!("fixture: the enrolment fixture has fewer than two requests")
    };
    let registrar = [
        Payload::EnrolmentOpened {
            opening: ef.opening.clone(),
            act,
        },
        Payload::CredentialRevoked {
            electorate_id: crate::ENROLMENT_ID.into(),
            credential: second.credential,
            replacement: None,
            reason: "lost".into(),
            act,
        },
        Payload::ElectorateFrozen {
            electorate_id: crate::ENROLMENT_ID.into(),
            electorate_hash: vox_crypto::Hash32([3; 32]),
            act,
        },
    ];
    for (i, p) in registrar.into_iter().enumerate() {
        match f.roles.sign(p, T0 - 2_000_000 + 1000 * i as i64) {
            Ok(p) => acts.push(p),
            Err(e) => panic!("fixture: cannot sign registrar act {i}: {e}"),
        }
    }
    let policy = Payload::PetitionPolicySet {
        policy: PetitionPolicy {
            min_sponsor_threshold: Some(2),
            max_response_threshold: Some(5_000),
            min_referendum_threshold: Some(3),
            max_response_due_ms: Some(30 * 86_400_000),
            ..PetitionPolicy::default()
        },
        act,
    }
    .signed_act(&log_id, T0 - 500_000, &new_office_key);
    match policy {
        Ok(p) => acts.push(p),
        Err(e) => panic!("fixture: cannot sign the policy: {e}"),
    }
    let witnesses = Payload::WitnessPolicySet {
        policy: vox_protocol::roles::WitnessPolicy {
            keys: [[0x57u8; 32], [0x58u8; 32]]
                .iter()
                .map(|seed| {
                    vox_protocol::board::BoardPublicKey(
                        SigningKey::from_bytes(seed).verifying_key(),
                    )
                })
                .collect(),
            quorum: 1,
        },
        act,
    };
    match f.roles.sign(witnesses, T0 - 400_000) {
        Ok(p) => acts.push(p),
        Err(e) => panic!("fixture: cannot sign the witness policy: {e}"),
    }
    let before = match Authorities::from_genesis(&f.genesis) {
        Ok(a) => a,
        Err(e) => panic!("fixture genesis refused: {e}"),
    };
    let mut after = before.clone();
    match acts.get(ROTATION) {
        Some(rotation) => {
            if let Err(e) = after.accept(rotation) {
                panic!("fixture rotation refused: {e}");
            }
        }
        None => panic!("fixture: no rotation"),
    }
    // Every act passes in the state it was signed for.
    for (i, p) in acts.iter().enumerate() {
        let state = if i > ROTATION { &after } else { &before };
        if let Err(e) = state.check(p) {
            panic!("fixture act {i} refused: {e}");
        }
    }
    let honest = acts.iter().map(Canonical::canonical_bytes).collect();
    RolesFixture {
        new_office_key,
        acts,
        before,
        after,
        honest,
    }
}

/// The roles fixture, built on first use.
pub fn roles_fixture() -> &'static RolesFixture {
    static FIXTURE: OnceLock<RolesFixture> = OnceLock::new();
    FIXTURE.get_or_init(build)
}

/// Decode, validate and check a genesis. Properties: the signed message is the label
/// and the body, the canonical encoding the body and the signatures; `validate` implies
/// `validate_body` and agrees with `Authorities::from_genesis`; a valid genesis is the
/// fixture's (no one but the fixture holds its four keys); a genesis is never accepted
/// after leaf 0. Returns whether it is valid.
pub(crate) fn check_genesis(g: &Genesis) -> bool {
    let f = fixture();
    let mut e = Encoder::new();
    g.encode_body(&mut e);
    let body = e.into_bytes();
    let msg = g.signed_message();
    assert!(
        msg.strip_prefix(GENESIS_LABEL) == Some(&body[..]),
        "genesis signed message is not label ‖ body"
    );
    let canonical = g.canonical_bytes();
    assert!(
        canonical.strip_prefix(&body[..]).map(<[u8]>::len) == Some(4 + 65 * g.signatures.len()),
        "genesis canonical encoding is not body ‖ signatures"
    );
    let _ = (g.log_id(), g.missing_signatures());
    let body_ok = g.validate_body().is_ok();
    let ok = g.validate().is_ok();
    assert!(
        !ok || body_ok,
        "validate accepts what validate_body refuses"
    );
    assert_eq!(
        ok,
        Authorities::from_genesis(g).is_ok(),
        "validate and Authorities::from_genesis disagree"
    );
    if ok {
        assert!(
            canonical == f.genesis.canonical_bytes(),
            "forged genesis accepted: {g:?}"
        );
    }
    let again = Payload::Genesis { genesis: g.clone() };
    assert!(
        matches!(
            roles_fixture().before.check(&again),
            Err(ActError::Genesis(_))
        ),
        "a genesis accepted after leaf 0"
    );
    ok
}

/// Check a board payload as an authority act, against the roles before and after the
/// fixture's rotation. Properties: the canonical payload of an act is its body, then
/// `i64(issued_at_ms) ‖ signature`, and the act message ends with the body; refusals
/// name the right role and kind; an accepted act is byte for byte one of the fixture's
/// honest acts (no forgery); once applied, it is refused (no replay) and a rotation
/// installs its new key. Returns whether it was accepted in either state (non-acts are
/// never "accepted").
pub(crate) fn check_act(p: &Payload) -> bool {
    let rf = roles_fixture();
    let log_id = fixture().genesis.log_id();
    let canonical = p.canonical_bytes();
    let mut e = Encoder::new();
    p.encode_body(&mut e);
    let body = e.into_bytes();
    match (p.act_role(), p.act()) {
        (Some(role), Some(act)) => {
            let mut expect = body.clone();
            expect.extend(act.canonical_bytes());
            assert!(canonical == expect, "act canonical is not body ‖ act");
            assert!(
                act_message(&log_id, role, act.issued_at_ms, p).ends_with(&body),
                "act message does not end with the body"
            );
        }
        (None, None) => assert!(canonical == body, "a non-act has an act suffix"),
        _ => panic!("act_role and act disagree for {}", p.kind()),
    }
    let mut accepted = false;
    for state in [&rf.before, &rf.after] {
        match state.check(p) {
            Ok(()) => {
                if p.act_role().is_none() {
                    continue;
                }
                accepted = true;
                let mut s = state.clone();
                s.apply(p);
                assert!(s.check(p).is_err(), "an applied act is accepted again");
                if let Payload::RoleKeyRotated { role, new_key, .. } = p {
                    assert_eq!(s.current().get(*role), new_key, "rotation not applied");
                }
            }
            Err(ActError::Genesis(_)) => {
                assert!(
                    matches!(p, Payload::Genesis { .. }),
                    "genesis error on an act"
                );
            }
            Err(ActError::BadSignature { role, kind }) => {
                assert_eq!(Some(role), p.act_role(), "refusal names the wrong role");
                assert_eq!(kind, p.kind(), "refusal names the wrong kind");
            }
            Err(ActError::Rotation(_)) => {
                assert!(
                    matches!(p, Payload::RoleKeyRotated { .. }),
                    "rotation error on another act"
                );
            }
            Err(ActError::WitnessPolicy(_)) => {
                assert!(
                    matches!(p, Payload::WitnessPolicySet { .. }),
                    "witness policy error on another act"
                );
            }
            Err(_) => {}
        }
    }
    if accepted {
        assert!(rf.honest.contains(&canonical), "forged act accepted: {p:?}");
    }
    accepted
}

/// A `Genesis` from JSON (else a board payload, as an authority act): the genesis is
/// encoded and validated, the act checked against the fixture's roles. Never panics;
/// nothing but the fixture's own genesis and acts is accepted (see [`check_genesis`],
/// [`check_act`]).
pub fn roles_json(data: &[u8]) {
    if let Some(g) = parse_roundtrip::<Genesis>(data) {
        check_genesis(&g);
    } else if let Some(p) = parse_roundtrip::<Payload>(data) {
        if let Payload::Genesis { genesis } = &p {
            check_genesis(genesis);
        }
        check_act(&p);
    }
}
