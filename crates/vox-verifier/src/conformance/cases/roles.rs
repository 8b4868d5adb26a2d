//! Tampered cases of the genesis, the roles and their authority acts (V4), and the keys
//! an observer pins (V1, V4). Moved from the tamper tests, which assert more about each.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use ed25519_dalek::SigningKey;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use vox_protocol::board::{BoardPublicKey, Payload, Sig};
use vox_protocol::petition::Moderation;
use vox_protocol::roles::{Role, RoleSigners};

use super::Bases;
use crate::conformance::edits::{edit_resigned, find_kind, insert};
use crate::conformance::generate::Case;
use crate::report::Location;
use crate::synth::{rotation, Honest, SynthRecord, T0};
use crate::{StepId, TrustAnchors};

/// Flip one bit of an act's signature.
fn flip_act_signature(payload: &mut Payload) {
    let act = payload.act_mut().expect("not an act");
    let mut bytes = act.signature.0.to_bytes();
    bytes[9] ^= 0x10;
    act.signature = Sig(ed25519_dalek::Signature::from_bytes(&bytes));
}

fn act_at(leaf: usize, role: Role) -> Location {
    Location::Act {
        leaf: leaf as u64,
        role,
    }
}

fn leaf_0() -> Location {
    Location::Leaf { index: 0 }
}

/// A dishonest operator rewrites the log under its own fresh key (seed 77): header,
/// genesis operator key (with `change_genesis`) and every tree head. It can sign as the
/// operator, not as the roles.
pub fn resigned_by_other_operator(h: &Honest, change_genesis: bool) -> (SynthRecord, SigningKey) {
    let mut rng = ChaCha20Rng::seed_from_u64(77);
    let other = SigningKey::generate(&mut rng);
    let board = BoardPublicKey(other.verifying_key());
    let mut rec = h.record.clone();
    if change_genesis {
        if let Payload::Genesis { genesis } = &mut rec.entries[0].payload {
            genesis.keys.operator = board;
            genesis.sign(&other).unwrap();
        }
    }
    rec.header.board_public_key = board;
    rec.header.log_id = board.log_id();
    rec.resign(&other, &[]);
    (rec, other)
}

/// Fresh role keys (seed 78) that a regenesis would name.
pub fn fresh_roles() -> RoleSigners {
    RoleSigners::generate(&mut ChaCha20Rng::seed_from_u64(78))
}

/// The honest record's role keys, pinned (registrar, petitions office, election
/// authority).
pub fn pinned_roles(h: &Honest) -> TrustAnchors {
    let real = h.roles.public_keys();
    let mut trust = TrustAnchors::default();
    for role in [
        Role::Registrar,
        Role::PetitionsOffice,
        Role::ElectionAuthority,
    ] {
        trust.pin(role, *real.get(role)).unwrap();
    }
    trust
}

/// The honest record's board key, pinned.
pub fn pinned_board(h: &Honest) -> TrustAnchors {
    TrustAnchors {
        board_public_key: Some(BoardPublicKey(h.board_key.verifying_key())),
        ..TrustAnchors::default()
    }
}

/// Keys for the rotation cases: (`new_key`, `someone_else`) from seed 79.
pub fn rotation_keys() -> (SigningKey, SigningKey) {
    let mut rng = ChaCha20Rng::seed_from_u64(79);
    let new_key = SigningKey::generate(&mut rng);
    let someone_else = SigningKey::generate(&mut rng);
    (new_key, someone_else)
}

/// The petitions office's new key (seed 80) of the rotation before p1's response.
pub fn petitions_office_new_key() -> SigningKey {
    SigningKey::generate(&mut ChaCha20Rng::seed_from_u64(80))
}

/// Insert, before p1's response, the petitions office's rotation to `new_key`; the leaf
/// of the response after it.
pub fn rotate_petitions_office(h: &Honest, r: &mut SynthRecord, new_key: &SigningKey) -> usize {
    let log_id = h.roles.log_id();
    let at = find_kind(r, "petition-responded");
    let p = rotation(&log_id, Role::PetitionsOffice, new_key)
        .unwrap()
        .signed_act(&log_id, T0 + 6, &h.roles.petitions_office)
        .unwrap();
    insert(r, at, p);
    // The office's acts after the response (p3's invalidation) are signed with its new
    // key; the response itself, at `at + 1`, keeps the old signature for the cases to
    // sign as each needs.
    for e in r.entries.iter_mut().skip(at + 2) {
        if e.payload.act_role() == Some(Role::PetitionsOffice) {
            let issued = e.payload.act().map_or(T0, |a| a.issued_at_ms);
            e.payload.sign_act(&log_id, issued, new_key).unwrap();
        }
    }
    at + 1
}

/// The registrar's enrolment acts signed by the operator, by the election authority, or
/// with a flipped bit.
fn enrolment_act_cases(h: &Honest) -> Vec<Case> {
    let log_id = h.roles.log_id();
    let mut out = Vec::new();
    for (kind, what) in [
        ("enrolment-opened", "the opening of enrolment by code"),
        ("credential-revoked", "a credential's revocation"),
        ("electorate-frozen", "the electorate's freeze"),
    ] {
        let leaf = find_kind(&h.record, kind);
        for (how, key, by) in [
            (
                "signed-by-the-operator",
                Some(&h.board_key),
                "signed with the operator's key",
            ),
            (
                "signed-by-the-election-authority",
                Some(&h.roles.election_authority),
                "signed with the election authority's key",
            ),
            (
                "signature-forged",
                None,
                "with one bit of its signature flipped",
            ),
        ] {
            let rec = edit_resigned(h, |r| {
                let p = &mut r.entries[leaf].payload;
                match key {
                    Some(k) => {
                        let at = p.act().unwrap().issued_at_ms;
                        p.sign_act(&log_id, at, k).unwrap();
                    }
                    None => flip_act_signature(p),
                }
            });
            out.push(
                Case::fail(
                    &format!("v4-{kind}-{how}"),
                    &format!(
                        "The registrar's act for {what} ({kind}) is {by}, the log re-signed by \
                         the operator: only the registrar's key named in the genesis may \
                         sign it (11 §11.3, V4.3)."
                    ),
                    rec,
                    StepId::Roles,
                )
                .rule("V4.3")
                .resigned()
                .only()
                .at(act_at(leaf, Role::Registrar)),
            );
        }
    }
    out
}

/// Genesis and operator-key cases.
fn genesis_cases(h: &Honest) -> Vec<Case> {
    let created = find_kind(&h.record, "trustee-panel-set");
    let fresh = fresh_roles();
    let mut regenesis = h.record.clone();
    regenesis.regenesis(&fresh).unwrap();
    regenesis.resign(&fresh.operator, &[]);
    vec![
        Case::fail(
            "v4-log-resigned-by-another-operator-with-a-new-genesis",
            "A dishonest operator rewrites the log under a fresh key of its own: the header, \
             the genesis's operator key (signed again with that key only) and every tree \
             head. The genesis no longer carries valid signatures of all four roles, so no \
             act can be checked: one failure at leaf 0, not one per act (11 §11.2, V4.1).",
            resigned_by_other_operator(h, true).0,
            StepId::Roles,
        )
        .rule("V4.1")
        .resigned()
        .only()
        .at(leaf_0()),
        Case::fail(
            "v4-log-resigned-by-another-operator-keeping-the-genesis",
            "A dishonest operator rewrites the header and every tree head under a fresh key \
             of its own but keeps the roles' genesis: the genesis names the real operator, \
             not the key the record is signed with (V4.2).",
            resigned_by_other_operator(h, false).0,
            StepId::Roles,
        )
        .rule("V4.2")
        .resigned()
        .only()
        .at(leaf_0()),
        Case::fail(
            "v1-log-resigned-by-another-operator-with-the-board-key-pinned",
            "The log of v4-log-resigned-by-another-operator-with-a-new-genesis, checked by \
             an observer who pinned the real board key: the record's key is not the pinned \
             one (10 §10.1, V1.5).",
            resigned_by_other_operator(h, true).0,
            StepId::Record,
        )
        .rule("V1.5")
        .with_trust(pinned_board(h)),
        Case::pass(
            "honest-by-code-with-the-board-key-pinned",
            "The honest record honest-by-code, checked by an observer who pinned its board \
             key (10 §10.1).",
            h.record.clone(),
        )
        .rule("V1.5")
        .with_trust(pinned_board(h)),
        Case::pass(
            "honest-looking-regenesis-by-fresh-roles-unpinned",
            "Not an honest record: the whole log passed off as theirs by parties holding \
             four fresh role keys (a new genesis signed by all four, every act and tree head \
             signed again). It is consistent on its own, so an observer who pinned no key \
             cannot tell (10 §10.1): every step passes.",
            regenesis.clone(),
        )
        .rule("V4.2"),
        Case::fail(
            "v4-regenesis-by-fresh-roles-with-role-keys-pinned",
            "The log of honest-looking-regenesis-by-fresh-roles-unpinned, checked by an \
             observer who pinned the real registrar's, petitions office's and election \
             authority's keys: the genesis names other keys, one failure per pinned role at \
             leaf 0 (10 §10.1, V4.2).",
            regenesis,
            StepId::Roles,
        )
        .rule("V4.2")
        .resigned()
        .only()
        .at(leaf_0())
        .with_trust(pinned_roles(h)),
        Case::pass(
            "honest-by-code-with-role-keys-pinned",
            "The honest record honest-by-code, checked by an observer who pinned its \
             registrar's, petitions office's and election authority's keys (10 §10.1).",
            h.record.clone(),
        )
        .rule("V4.2")
        .with_trust(pinned_roles(h)),
        Case::fail(
            "v4-leaf-0-is-not-a-genesis",
            "A malicious operator removes the genesis and re-signs the log: leaf 0 must be \
             the genesis naming the roles' keys (11 §11.2, V4.1).",
            edit_resigned(h, |r| {
                r.entries.remove(0);
            }),
            StepId::Roles,
        )
        .rule("V4.1")
        .resigned()
        .only()
        .at(leaf_0()),
        Case::fail(
            "v4-genesis-without-the-election-authority-signature",
            "A malicious operator removes the election authority's signature from the \
             genesis and re-signs the log: the genesis must be signed by all four roles (11 \
             §11.2, V4.1).",
            edit_resigned(h, |r| {
                if let Payload::Genesis { genesis } = &mut r.entries[0].payload {
                    genesis
                        .signatures
                        .retain(|s| s.role != Role::ElectionAuthority);
                }
            }),
            StepId::Roles,
        )
        .rule("V4.1")
        .resigned()
        .only()
        .at(leaf_0()),
        Case::fail(
            "v4-second-genesis",
            "A malicious operator inserts a copy of the genesis before r1's creation and \
             re-signs the log: a log has exactly one genesis, at leaf 0 (V4.2).",
            edit_resigned(h, |r| {
                let genesis = r.entries[0].payload.clone();
                insert(r, created, genesis);
            }),
            StepId::Roles,
        )
        .rule("V4.2")
        .resigned()
        .only()
        .at(Location::Leaf {
            index: created as u64,
        }),
    ]
}

/// Key rotations.
fn rotation_cases(h: &Honest) -> Vec<Case> {
    let log_id = h.roles.log_id();
    let (new_key, someone_else) = rotation_keys();
    let office_key = petitions_office_new_key();
    let response = find_kind(&h.record, "petition-responded") + 1;
    vec![
        Case::fail(
            "v4-rotation-with-a-possession-proof-by-another-key",
            "The registrar rotates to a new key, but the proof of possession is made by \
             another key than the one rotated to (the log re-signed): a rotation must prove \
             the new key's holder agreed (11 §11.4, V4.5).",
            edit_resigned(h, |r| {
                let mut p = rotation(&log_id, Role::Registrar, &someone_else).unwrap();
                if let Payload::RoleKeyRotated { new_key: k, .. } = &mut p {
                    *k = BoardPublicKey(new_key.verifying_key());
                }
                let p = p.signed_act(&log_id, T0 + 5, &h.roles.registrar).unwrap();
                insert(r, 2, p);
            }),
            StepId::Roles,
        )
        .rule("V4.5")
        .resigned()
        .only()
        .at(act_at(2, Role::Registrar)),
        Case::fail(
            "v4-rotation-of-the-operator-key",
            "The operator publishes, signed with its key, a rotation of the operator key to \
             a new key (with a valid proof of possession), the log re-signed: the operator \
             key is never rotated within a log (11 §11.4, V4.5).",
            edit_resigned(h, |r| {
                let p = rotation(&log_id, Role::Operator, &new_key)
                    .unwrap()
                    .signed_act(&log_id, T0 + 5, &h.board_key)
                    .unwrap();
                insert(r, 2, p);
            }),
            StepId::Roles,
        )
        .rule("V4.5")
        .resigned()
        .only(),
        Case::fail(
            "v4-act-signed-by-the-old-key-after-a-rotation",
            "The petitions office rotates its key just before its response to p1, and the \
             response is still signed with the old key (the log re-signed): after a \
             rotation only the new key speaks for the role (11 §11.4, V4.3, V4.5).",
            edit_resigned(h, |r| {
                rotate_petitions_office(h, r, &office_key);
            }),
            StepId::Roles,
        )
        .rule("V4.3")
        .resigned()
        .only()
        .at(act_at(response, Role::PetitionsOffice)),
        Case::pass(
            "honest-act-signed-by-the-new-key-after-a-rotation",
            "The petitions office rotates its key just before its response to p1 and signs \
             the response with the new key: the rotation took effect (11 §11.4).",
            edit_resigned(h, |r| {
                let i = rotate_petitions_office(h, r, &office_key);
                let p = &mut r.entries[i].payload;
                let at = p.act().unwrap().issued_at_ms;
                p.sign_act(&log_id, at, &office_key).unwrap();
            }),
        )
        .rule("V4.5"),
    ]
}

/// The cases of this group.
pub fn cases(b: &Bases) -> Vec<Case> {
    let h = &b.by_code;
    let log_id = h.roles.log_id();
    let publish = h
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
        .expect("p1 is published");
    let reg = &b.registered;
    let registered = find_kind(&reg.record, "electorate-registered");
    let opened = find_kind(&h.record, "trustee-panel-set");
    let replayed = find_kind(&h.record, "trustee-panel-set") + 1;
    let mut out = vec![
        Case::fail(
            "v4-petition-publication-signed-by-the-election-authority",
            "The petitions office's publication of p1 is signed with the election \
             authority's key, the log re-signed: each act must be signed by the key of the \
             role it belongs to (11 §11.3, V4.3).",
            edit_resigned(h, |r| {
                let p = &mut r.entries[publish].payload;
                let at = p.act().unwrap().issued_at_ms;
                p.sign_act(&log_id, at, &h.roles.election_authority)
                    .unwrap();
            }),
            StepId::Roles,
        )
        .rule("V4.3")
        .resigned()
        .only()
        .at(act_at(publish, Role::PetitionsOffice)),
        Case::fail(
            "v4-electorate-registered-signed-by-the-operator",
            "The registrar's registration of the whole electorate is signed with the \
             operator's key, the log re-signed: the operator cannot register an electorate \
             in the registrar's name (11 §11.3, V4.3).",
            edit_resigned(reg, |r| {
                let p = &mut r.entries[registered].payload;
                let at = p.act().unwrap().issued_at_ms;
                p.sign_act(&reg.roles.log_id(), at, &reg.board_key).unwrap();
            }),
            StepId::Roles,
        )
        .rule("V4.3")
        .resigned()
        .only()
        .at(act_at(registered, Role::Registrar)),
    ];
    out.extend(enrolment_act_cases(h));
    out.extend([
        Case::fail(
            "v4-act-signature-forged",
            "One bit of the election authority's signature on its standing trustee panel is \
             flipped, the log re-signed: the act no longer verifies under the role's key \
             (11 §11.3, V4.3).",
            edit_resigned(h, |r| flip_act_signature(&mut r.entries[opened].payload)),
            StepId::Roles,
        )
        .rule("V4.3")
        .resigned()
        .only()
        .at(act_at(opened, Role::ElectionAuthority)),
        Case::fail(
            "v4-petition-response-changed-under-its-signature",
            "A malicious operator rewrites the text of the petitions office's response to \
             p1 under the office's original signature and re-signs the log: the act \
             signature covers the decision (11 §11.3, V4.3).",
            edit_resigned(h, |r| {
                let i = find_kind(r, "petition-responded");
                if let Payload::PetitionResponded { text, .. } = &mut r.entries[i].payload {
                    *text = "The council will do nothing.".into();
                }
            }),
            StepId::Roles,
        )
        .rule("V4.3")
        .resigned()
        .only(),
        Case::fail(
            "v4-act-replayed",
            "A malicious operator appends a copy of the election authority's trustee-panel \
             act right after it and re-signs the log: an act signature is valid once, a copy \
             is a replay, named at the later leaf (V4.4).",
            edit_resigned(h, |r| {
                let copy = r.entries[replayed - 1].payload.clone();
                insert(r, replayed, copy);
            }),
            StepId::Roles,
        )
        .rule("V4.4")
        .resigned()
        .at(act_at(replayed, Role::ElectionAuthority)),
    ]);
    out.extend(genesis_cases(h));
    out.extend(rotation_cases(h));
    out
}
