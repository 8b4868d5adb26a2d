//! Tampered ring signatures on the ring-signed petition p3 of the honest record (07 §7.10,
//! 13 §13.8, V6.3, V6.8). Each case appends one signature after p3's last entry and
//! re-signs the log, as a malicious operator would.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use vox_protocol::board::Payload;
use vox_protocol::electorate::Electorate;
use vox_protocol::enrolment::Roll;
use vox_protocol::petition::{
    Petition, RingPetitionSignature, RingSignatureBytes, SignatureAction,
};
use vox_protocol::rings::RingSet;

use super::Bases;
use crate::conformance::edits::{edit_resigned, find_kind, insert};
use crate::conformance::generate::Case;
use crate::report::Location;
use crate::synth::{rings_from_log, Honest, SynthRecord};
use crate::StepId;

/// Where V6 names an entry of petition p3.
fn at_p3(leaf: usize) -> Location {
    Location::Petition {
        petition: "p3".into(),
        leaf: Some(leaf as u64),
    }
}

/// The ring-signed petition p3, as proposed.
fn p3(rec: &SynthRecord) -> Petition {
    rec.entries
        .iter()
        .find_map(|e| match &e.payload {
            Payload::PetitionProposed { proposal } if proposal.petition.id == "p3" => {
                Some(proposal.petition.clone())
            }
            _ => None,
        })
        .expect("the honest record proposes p3")
}

/// The electorate `town` as registered or frozen, and its index with every registrar act
/// of the record applied.
fn town(
    rec: &SynthRecord,
    hash: &vox_crypto::Hash32,
) -> (Electorate, vox_protocol::electorate::ElectorateIndex) {
    let mut roll = Roll::new();
    for (i, e) in rec.entries.iter().enumerate() {
        roll.apply(i as u64, &e.payload).unwrap();
    }
    let (electorate, index) = roll.usable(hash).expect("town is usable");
    (electorate.clone(), index.clone())
}

/// Append `sig` at the end of the record (after p3's last entry), re-signed.
fn appended(h: &Honest, sig: RingPetitionSignature) -> (SynthRecord, usize) {
    let at = h.record.entries.len();
    let rec = edit_resigned(h, |r| {
        insert(
            r,
            at,
            Payload::PetitionRingSigned {
                signature: Box::new(sig),
            },
        );
    });
    (rec, at)
}

/// The cases of this group.
pub fn cases(b: &Bases) -> Vec<Case> {
    let h = &b.by_code;
    let petition = p3(&h.record);
    let rings = rings_from_log(&h.record.entries, &petition).unwrap();
    let mut rng = ChaCha20Rng::seed_from_u64(120);
    let voter = |i: usize| &h.credentials[i];
    let mut out = Vec::new();
    let revoked_leaf = find_kind(&h.record, "credential-revoked");
    let proposed = h
        .record
        .entries
        .iter()
        .position(|e| matches!(&e.payload, Payload::PetitionProposed { proposal } if proposal.petition.id == "p3"))
        .unwrap();

    // 1. A ring that is not the derived one: the signer's region shrunk to the signer and
    //    one other credential (same label), the kind of ring a server would hand a
    //    device to learn who signs.
    let (town_list, index) = town(&h.record, &petition.electorate_hash);
    let signer = voter(8).public_key();
    let (ring, _) = rings.ring_of(&signer).expect("voter 8 is in a ring of p3");
    let region = ring.region.clone();
    let mut shrunk = town_list.clone();
    let mut kept_other = false;
    shrunk.entries.retain(|e| {
        if e.region != region || e.credential == signer {
            return true;
        }
        let keep = !kept_other;
        kept_other = true;
        keep
    });
    let small = RingSet::for_petition(&shrunk, &index, u64::MAX, proposed as u64, 0).unwrap();
    let sig =
        RingPetitionSignature::create(&petition, &small, voter(8), SignatureAction::Sign, &mut rng)
            .unwrap();
    let (rec, at) = appended(h, sig);
    out.push(
        Case::fail(
            "v6-ring-signature-over-a-ring-that-is-not-derived",
            "A malicious operator appends a valid ring signature on p3 made over a ring of \
             two credentials (the signer's region cut down to the signer and one other, \
             with the real ring's label), the kind of ring a server would hand a device to \
             learn who signs, and re-signs the log. A signature's ring must be one of the \
             rings derived from the electorate at its leaf (07 §7.10, 13 §13.3, V6.8).",
            rec,
            StepId::Petitions,
        )
        .rule("V6.8")
        .resigned()
        .only()
        .at(at_p3(at)),
    );

    // 2. The same linking tag twice: voter 5 signs p3 again with a fresh proof.
    let sig =
        RingPetitionSignature::create(&petition, &rings, voter(5), SignatureAction::Sign, &mut rng)
            .unwrap();
    let (rec, at) = appended(h, sig);
    out.push(
        Case::fail(
            "v6-ring-signature-with-a-linking-tag-used-twice",
            "A malicious operator appends a second, freshly proved ring signature on p3 by a \
             citizen who signed it already (same linking tag, a new proof) and re-signs the \
             log: counted twice, one citizen would weigh two. One signature per linking tag \
             (07 §7.10, V6.3).",
            rec,
            StepId::Petitions,
        )
        .rule("V6.3")
        .resigned()
        .only()
        .at(at_p3(at)),
    );

    // 3. A tag (and proof) made for another petition: voter 9's signature on a petition
    //    that differs from p3 only in its id, relabelled as p3's.
    let other = Petition {
        id: "p3-elsewhere".into(),
        ..petition.clone()
    };
    let mut sig =
        RingPetitionSignature::create(&other, &rings, voter(9), SignatureAction::Sign, &mut rng)
            .unwrap();
    sig.petition_id = petition.id.clone();
    sig.petition_hash = vox_protocol::encoding::Hashable::canonical_hash(&petition);
    let (rec, at) = appended(h, sig);
    out.push(
        Case::fail(
            "v6-ring-signature-with-a-tag-from-another-petition",
            "A malicious operator takes a valid ring signature made for another petition \
             (its linking tag belongs to that petition's tag generator), relabels it as a \
             signature on p3 and re-signs the log. The tag generator is recomputed from \
             the petition, so the proof fails (13 §13.1, §13.8 R9, V6.8).",
            rec,
            StepId::Petitions,
        )
        .rule("V6.8")
        .resigned()
        .only()
        .at(at_p3(at)),
    );

    // 4. A forged proof: one bit of z flipped.
    let sig = RingPetitionSignature::create(
        &petition,
        &rings,
        voter(10),
        SignatureAction::Sign,
        &mut rng,
    )
    .unwrap();
    let mut bytes = sig.signature.as_bytes().to_vec();
    // z is the third scalar after J, the 8-byte header and A, B, C, D (13 §13.6).
    let z = 32 + 8 + 4 * 32 + 2 * 32;
    bytes[z] ^= 1;
    let forged = RingPetitionSignature {
        signature: RingSignatureBytes::from_bytes(bytes).unwrap(),
        ..sig
    };
    let (rec, at) = appended(h, forged);
    out.push(
        Case::fail(
            "v6-ring-signature-with-a-forged-proof",
            "A malicious operator appends a ring signature on p3 whose response z has one \
             bit flipped (still a canonical scalar) and re-signs the log: the membership \
             equation fails (13 §13.8 R8, V6.8).",
            rec,
            StepId::Petitions,
        )
        .rule("V6.8")
        .resigned()
        .only()
        .at(at_p3(at)),
    );

    // 5. A ring that still holds the credential the registrar revoked: the rings as they
    //    stood at the revocation's own leaf, used after it.
    let before = RingSet::for_petition(
        &town_list,
        &index,
        revoked_leaf as u64,
        proposed as u64,
        petition.region_min_group,
    )
    .unwrap();
    assert!(
        before
            .ring_of(&h.credentials[h.revoked].public_key())
            .is_some(),
        "the rings before the revocation hold the revoked credential"
    );
    let sig = RingPetitionSignature::create(
        &petition,
        &before,
        &h.credentials[h.revoked],
        SignatureAction::Sign,
        &mut rng,
    )
    .unwrap();
    let (rec, at) = appended(h, sig);
    out.push(
        Case::fail(
            "v6-ring-signature-over-a-ring-with-a-revoked-credential",
            "A malicious operator appends, long after the registrar revoked a credential, a \
             valid ring signature on p3 by that credential, made over its ring as it stood \
             before the revocation, and re-signs the log. From its revocation on a \
             credential is in no ring, so that ring is not one derived at the signature's \
             leaf (04 §4.1.3, 07 §7.10, V6.8).",
            rec,
            StepId::Petitions,
        )
        .rule("V6.8")
        .resigned()
        .only()
        .at(at_p3(at)),
    );
    out
}
