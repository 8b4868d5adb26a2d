//! Benaloh audits: the opening of a spoiled ballot ([`audit_opening_json`]).

use vox_crypto::Scalar;
use vox_protocol::ballot::AuditedBallot;
use vox_protocol::encoding::Canonical;
use vox_protocol::manifest::QuestionKind;

use crate::{fixture, parse_roundtrip};

/// The checks of an audit opening, as the server (`POST …/audits`: structure, the
/// credential's signature, then the opening) and the verifier run them. Property beyond "no panic": an accepted opening
/// tells the truth. Every ciphertext of the ballot, decrypted with the fixture's election
/// secret, must be the revealed choice; so no opening that lies about a ballot's content
/// (a changed choice, a swapped ciphertext, another nonce) can pass.
/// Returns whether the opening was accepted.
pub(crate) fn check_audit(audited: &AuditedBallot) -> bool {
    let f = fixture();
    let ctx = f.context();
    let _ = (audited.canonical_bytes(), audited.ballot.hash());
    let _ = audited.ballot.check_structure(&ctx, &f.electorate_index);
    // Only the credential's own device publishes an opening in its name (04 §4.6).
    if audited.ballot.check_signature(&ctx.manifest_hash).is_err() {
        return false;
    }
    if audited.verify_opening(&ctx).is_err() {
        return false;
    }
    let mut checked = 0usize;
    for ((q, a), c) in f
        .manifest
        .questions
        .iter()
        .zip(&audited.ballot.answers)
        .zip(&audited.choices)
    {
        let values: Vec<u64> = match q.kind {
            QuestionKind::YesNo => c.first().copied().into_iter().collect(),
            _ => c.clone(),
        };
        assert_eq!(
            values.len(),
            a.ciphertexts.len(),
            "accepted opening without one value per ciphertext"
        );
        for (ct, v) in a.ciphertexts.iter().zip(&values) {
            assert!(
                ct.decrypt_to_point(&f.election_secret) == Scalar::from_u64(*v).mul_base(),
                "accepted audit opening lies: a ciphertext does not encrypt {v}"
            );
            checked += 1;
        }
    }
    assert!(checked > 0, "accepted opening of an empty ballot");
    true
}

/// An `AuditedBallot` (a spoiled ballot with its choices and nonces) from JSON, checked
/// against the fixture referendum as in [`check_audit`].
pub fn audit_opening_json(data: &[u8]) {
    if let Some(audited) = parse_roundtrip::<AuditedBallot>(data) {
        check_audit(&audited);
    }
}
