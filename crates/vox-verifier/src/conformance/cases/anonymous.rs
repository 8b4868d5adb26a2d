//! Anonymous-participation referendums (04 §4.10, V10.7, V10.8): the honest record, and
//! ballots a malicious operator appends before the close (and re-signs the log): over a
//! ring that is not the derived one, over a ring from before a revocation, with another
//! referendum's tag, with a forged ring signature; and an audit with a forged ring
//! signature.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use vox_crypto::credential::Credential;
use vox_crypto::ring::TagGenerator;
use vox_crypto::transcript::new_transcript;
use vox_protocol::ballot::{context_labels, encrypt_anonymous_ballot, Ballot, BallotContext};
use vox_protocol::board::Payload;
use vox_protocol::encoding::{human_code, Hashable};
use vox_protocol::enrolment::Roll;
use vox_protocol::petition::RingSignatureBytes;
use vox_protocol::rings::RingSet;

use super::Bases;
use crate::conformance::edits::{closed_at, edit_resigned, find_kind, insert};
use crate::conformance::generate::Case;
use crate::report::Location;
use crate::synth::{referendum_rings_from_log, Honest, SynthRecord};
use crate::StepId;

const ID: &str = "ra";

fn at_ballot(leaf: usize, ballot: &Ballot) -> Location {
    Location::Ballot {
        referendum: ID.into(),
        leaf: leaf as u64,
        tracking_code: human_code(&ballot.hash()),
    }
}

/// `ballot` inserted just before the close, re-signed; and its leaf.
fn appended(h: &Honest, ballot: Ballot) -> (SynthRecord, usize) {
    let at = closed_at(&h.record);
    let rec = edit_resigned(h, |r| insert(r, at, Payload::BallotCast { ballot }));
    (rec, at)
}

/// The leaf of the referendum's creation.
fn created(h: &Honest) -> u64 {
    find_kind(&h.record, "referendum-created") as u64
}

/// The ring signature of `ballot` replaced by one by `credential` on `ring` with tag
/// generator `generator`, over the body with that signature's tag.
fn resign_ring(
    h: &Honest,
    ballot: &mut Ballot,
    credential: &Credential,
    ring: &vox_crypto::ring::Ring,
    generator: &TagGenerator,
    rng: &mut ChaCha20Rng,
) {
    let tag = vox_crypto::ring::linking_tag(credential, generator);
    ballot.ring = Some(*ring.hash());
    ballot.ring_signature = Some(RingSignatureBytes::from_bytes(tag.to_bytes().to_vec()).unwrap());
    let slot = ring.position_of(&credential.public_key()).unwrap();
    let mut t = new_transcript(
        context_labels::BALLOT_RING_SIGNATURE,
        &h.manifest.canonical_hash(),
    );
    let sig = vox_crypto::ring::sign(
        &mut t,
        credential,
        ring,
        slot,
        generator,
        &ballot.body_hash().0,
        rng,
    )
    .unwrap();
    ballot.ring_signature = Some(RingSignatureBytes::new(&sig));
}

/// The cases of this group.
pub fn cases(b: &Bases) -> Vec<Case> {
    let h = &b.anonymous;
    let mut rng = ChaCha20Rng::seed_from_u64(130);
    let ctx = BallotContext::new(&h.manifest, *h.joint.election_key());
    let yes = vec![vec![1, 0]];
    let close = closed_at(&h.record);
    let rings_now = referendum_rings_from_log(&h.record.entries[..close], ID).unwrap();
    let voter7 = &h.credentials[7];
    let mut out = vec![Case::pass(
        "honest-anonymous-referendum",
        "An honest record with an anonymous-participation referendum (04 §4.10): an \
         electorate of 8 enrolled by code and frozen; referendum ra (yes-no, 3 trustees, \
         k = 2, `participation: anonymous`); six citizens vote with ballots that carry a \
         ring signature and a linking tag, never a credential; one re-votes under the same \
         tag; one audits a ballot then casts; one citizen's credential is revoked after it \
         voted (its ballot stays counted) and its replacement, enrolled after the \
         referendum was created, is in no ring; close, tally, shares and result.",
        h.record.clone(),
    )];

    // 1. A ring of the voter's choosing: the electorate cut down to voter 7 and one other.
    let mut roll = Roll::new();
    for (i, e) in h.record.entries[..close].iter().enumerate() {
        roll.apply(i as u64, &e.payload).unwrap();
    }
    let (town, index) = roll.usable(&h.manifest.electorate_hash).unwrap();
    let mut shrunk = town.clone();
    shrunk.entries.truncate(2);
    shrunk
        .entries
        .push(vox_protocol::electorate::ElectorateEntry {
            credential: voter7.public_key(),
            region: None,
        });
    let small = RingSet::for_referendum(&shrunk, index, u64::MAX, created(h)).unwrap();
    let (ballot, _) = encrypt_anonymous_ballot(&ctx, &small, voter7, &yes, None, &mut rng).unwrap();
    let (rec, at) = appended(h, ballot.clone());
    out.push(
        Case::fail(
            "v10-anonymous-ballot-over-a-ring-that-is-not-derived",
            "A malicious operator appends, before the close, an anonymous ballot ring-signed \
             over a ring of three credentials (the kind of ring a server would hand a device \
             to learn who votes) and re-signs the log. An anonymous ballot's ring must be one \
             of the rings derived from the electorate at its leaf (04 §4.10, B10, V10.7); the \
             tally no longer matches either (V11).",
            rec,
            StepId::Ballots,
        )
        .rule("V10.7")
        .resigned()
        .at(at_ballot(at, &ballot)),
    );

    // 2. The revoked voter casts again after its revocation, over the rings from before
    //    it (extending its own latest ballot, so V10.6 holds).
    let revoked_at = find_kind(&h.record, "credential-revoked");
    let before = referendum_rings_from_log(&h.record.entries[..revoked_at], ID).unwrap();
    let revoked = &h.credentials[h.revoked];
    let tag = vox_crypto::ring::linking_tag(revoked, &ctx.tag_generator().unwrap());
    let previous = h.record.entries[..revoked_at]
        .iter()
        .rev()
        .find_map(|e| match &e.payload {
            Payload::BallotCast { ballot } if ballot.voter_key() == Some(tag.to_bytes()) => {
                Some(ballot.hash())
            }
            _ => None,
        })
        .expect("the revoked voter voted");
    let (ballot, _) =
        encrypt_anonymous_ballot(&ctx, &before, revoked, &yes, Some(previous), &mut rng).unwrap();
    let (rec, at) = appended(h, ballot.clone());
    out.push(
        Case::fail(
            "v10-anonymous-ballot-over-a-ring-from-before-a-revocation",
            "After the registrar revoked a credential (which had voted), a malicious operator \
             appends a new ballot of that credential, ring-signed over the ring as it stood \
             before the revocation and extending its earlier ballot, and re-signs the log. \
             The rings are derived at each ballot's own leaf: the revoked key is in none of \
             them any more (04 §4.10, B10, V10.7).",
            rec,
            StepId::Ballots,
        )
        .rule("V10.7")
        .resigned()
        .at(at_ballot(at, &ballot)),
    );

    // 3. A tag made with another referendum's generator (the ring is the derived one).
    let (mut ballot, _) =
        encrypt_anonymous_ballot(&ctx, &rings_now, voter7, &yes, None, &mut rng).unwrap();
    let mut other = h.manifest.clone();
    other.referendum_id = "another".into();
    let other_generator =
        vox_protocol::rings::referendum_tag_generator(&other.canonical_hash()).unwrap();
    let (derived, _) = rings_now.ring_of(&voter7.public_key()).unwrap();
    resign_ring(
        h,
        &mut ballot,
        voter7,
        &derived.ring,
        &other_generator,
        &mut rng,
    );
    let (rec, at) = appended(h, ballot.clone());
    out.push(
        Case::fail(
            "v10-anonymous-ballot-with-another-referendums-tag",
            "A malicious operator appends an anonymous ballot whose ring signature was made \
             with another referendum's tag generator (so its linking tag is the voter's tag \
             there, and re-voting here would count twice), and re-signs the log. The tag \
             generator is derived from this referendum's manifest hash (04 §4.10, B11, \
             V10.8); the answers' proofs, bound to the honest tag, fail too (B5).",
            rec,
            StepId::Ballots,
        )
        .rule("V10.8")
        .resigned()
        .at(at_ballot(at, &ballot)),
    );

    // 4. A forged ring signature: one response byte of an honest one changed.
    let (mut ballot, _) =
        encrypt_anonymous_ballot(&ctx, &rings_now, voter7, &yes, None, &mut rng).unwrap();
    let mut bytes = ballot.ring_signature.as_ref().unwrap().as_bytes().to_vec();
    let n = bytes.len();
    bytes[n - 32] ^= 0x01;
    ballot.ring_signature = Some(RingSignatureBytes::from_bytes(bytes).unwrap());
    let (rec, at) = appended(h, ballot.clone());
    out.push(
        Case::fail(
            "v10-anonymous-ballot-with-a-forged-ring-signature",
            "A malicious operator appends an anonymous ballot whose ring signature has one \
             response scalar changed (a ballot no enrolled citizen made) and re-signs the \
             log. Every anonymous ballot's ring signature must verify (04 §4.10, B11, \
             V10.8).",
            rec,
            StepId::Ballots,
        )
        .rule("V10.8")
        .resigned()
        .at(at_ballot(at, &ballot)),
    );

    // 5. An audit whose ring signature is forged (no tally change: only V10 fails).
    let audit_at = find_kind(&h.record, "ballot-audited");
    let rec = edit_resigned(h, |r| {
        if let Payload::BallotAudited { audited } = &mut r.entries[audit_at].payload {
            let mut bytes = audited
                .ballot
                .ring_signature
                .as_ref()
                .unwrap()
                .as_bytes()
                .to_vec();
            let n = bytes.len();
            bytes[n - 32] ^= 0x01;
            audited.ballot.ring_signature = Some(RingSignatureBytes::from_bytes(bytes).unwrap());
        }
    });
    let audited_hash = match &rec.entries[audit_at].payload {
        Payload::BallotAudited { audited } => audited.ballot.hash(),
        _ => unreachable!(),
    };
    out.push(
        Case::fail(
            "v10-anonymous-audit-with-a-forged-ring-signature",
            "A malicious operator changes one response scalar of an anonymous audited \
             ballot's ring signature and re-signs the log: the opening still checks, but \
             only a device holding a credential of the ring may publish an opening (04 §4.6, \
             B11, V10.4, V10.8).",
            rec,
            StepId::Ballots,
        )
        .rule("V10.8")
        .resigned()
        .only()
        .at(Location::Ballot {
            referendum: ID.into(),
            leaf: audit_at as u64,
            tracking_code: human_code(&audited_hash),
        }),
    );
    out
}
