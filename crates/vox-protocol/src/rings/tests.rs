//! Ring derivation: deterministic, one ring per active credential, regions respected,
//! revocations and replacements applied at the leaf, and signatures over any other ring
//! refused.

use std::collections::HashSet;

use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use vox_crypto::credential::Credential;
use vox_crypto::ring::{self, Ring};
use vox_crypto::transcript::new_transcript;

use super::*;
use crate::electorate::{ElectorateEntry, Replacement};

fn electorate(regions: &[(Option<&str>, usize)], seed: u64) -> (Electorate, Vec<Credential>) {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let mut entries = Vec::new();
    let mut creds = Vec::new();
    for (region, count) in regions {
        for _ in 0..*count {
            let c = Credential::generate(&mut rng);
            entries.push(ElectorateEntry {
                credential: c.public_key(),
                region: region.map(str::to_owned),
            });
            creds.push(c);
        }
    }
    (
        Electorate {
            id: "e".into(),
            name: "E".into(),
            entries,
        },
        creds,
    )
}

const REGIONS: &[(Option<&str>, usize)] = &[(Some("south"), 5), (None, 3), (Some("north"), 10)];

#[test]
fn derivation_is_deterministic_and_partitions_by_region() {
    let (e, creds) = electorate(REGIONS, 1);
    let idx = e.index();
    let a = RingSet::derive(&e, &idx, 100).unwrap();
    let b = RingSet::derive(&e, &idx, 100).unwrap();
    let hashes = |s: &RingSet| s.rings().iter().map(|r| *r.ring.hash()).collect::<Vec<_>>();
    assert_eq!(hashes(&a), hashes(&b));
    // Regions in order: none, "north", "south"; one ring each.
    let regions: Vec<_> = a.rings().iter().map(|r| r.region.clone()).collect();
    assert_eq!(regions, [None, Some("north".into()), Some("south".into())]);
    // Every credential in exactly one ring, in its own region's ring, sorted by bytes.
    assert_eq!(a.member_count(), creds.len());
    let mut seen = HashSet::new();
    for r in a.rings() {
        let members = r.ring.members();
        assert!(members
            .windows(2)
            .all(|w| w[0].as_bytes() < w[1].as_bytes()));
        for m in members {
            assert!(seen.insert(m.to_bytes()), "a credential in two rings");
            let entry = e
                .entries
                .iter()
                .find(|x| x.credential.point() == m)
                .unwrap();
            assert_eq!(entry.region, r.region);
        }
    }
    for c in &creds {
        let (r, slot) = a.ring_of(&c.public_key()).unwrap();
        assert_eq!(r.ring.members()[slot], *c.public_key().point());
        assert!(a.by_hash(r.ring.hash()).is_some());
    }
    // The order of publication does not matter: the same entries reversed give the
    // same rings, except that the electorate hash (and so the labels) changes; with the
    // same hash the members are identical.
    let mut rev = e.clone();
    rev.entries.reverse();
    let r = RingSet::derive(&rev, &rev.index(), 100).unwrap();
    for (x, y) in r.rings().iter().zip(a.rings()) {
        assert_eq!(x.ring.members(), y.ring.members());
    }
}

#[test]
fn revoked_keys_leave_and_replacements_join_at_their_leaf() {
    let (e, creds) = electorate(REGIONS, 2);
    let mut idx = e.index();
    let revoked = creds[6].public_key(); // a "no region" credential
    idx.revoke(revoked.to_bytes(), 10);
    let mut rng = ChaCha20Rng::seed_from_u64(99);
    let replacement = Credential::generate(&mut rng);
    idx.add(
        replacement.public_key().to_bytes(),
        Replacement {
            region: None,
            since: 11,
            replaces: revoked.to_bytes(),
        },
    );
    // Before the revocation (leaf 10 itself still counts the key: revoked at 10 means
    // acts after leaf 10 are refused, as ElectorateIndex::standing says).
    let before = RingSet::derive(&e, &idx, 10).unwrap();
    assert!(before.ring_of(&revoked).is_some());
    assert!(before.ring_of(&replacement.public_key()).is_none());
    // After both.
    let after = RingSet::derive(&e, &idx, 12).unwrap();
    assert!(after.ring_of(&revoked).is_none());
    assert!(after
        .rings()
        .iter()
        .all(|r| !r.ring.members().contains(revoked.point())));
    let (r, _) = after.ring_of(&replacement.public_key()).unwrap();
    assert_eq!(r.region, None);
    assert_eq!(after.member_count(), creds.len());
    // The "no region" ring changed, the others did not.
    assert_ne!(before.rings()[0].ring.hash(), after.rings()[0].ring.hash());
    assert_eq!(before.rings()[1].ring.hash(), after.rings()[1].ring.hash());
}

#[test]
fn large_regions_split_into_balanced_rings() {
    assert_eq!(balanced_sizes(0), Vec::<usize>::new());
    assert_eq!(balanced_sizes(1), [1]);
    assert_eq!(balanced_sizes(4096), [4096]);
    assert_eq!(balanced_sizes(4097), [2049, 2048]);
    assert_eq!(balanced_sizes(10_000), [3334, 3333, 3333]);
    for s in [1usize, 4095, 4096, 4097, 8192, 8193, 100_001] {
        let sizes = balanced_sizes(s);
        assert_eq!(sizes.iter().sum::<usize>(), s);
        assert!(sizes.iter().all(|x| *x <= 4096));
        let (min, max) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
        assert!(max - min <= 1);
    }
    // A region of 4,100 credentials: two rings of 2,050, labels distinct, partition exact.
    let (e, creds) = electorate(&[(Some("big"), 4100)], 3);
    let set = RingSet::derive(&e, &e.index(), 1).unwrap();
    assert_eq!(set.rings().len(), 2);
    assert_eq!(set.rings()[0].ring.member_count(), 2050);
    assert_eq!(set.rings()[1].ring.member_count(), 2050);
    assert_eq!((set.rings()[1].index, set.rings()[1].count), (1, 2));
    assert_ne!(set.rings()[0].ring.label(), set.rings()[1].ring.label());
    assert_eq!(set.member_count(), creds.len());
    // Consecutive in byte order across the split.
    let last = set.rings()[0].ring.members().last().unwrap();
    let first = set.rings()[1].ring.members().first().unwrap();
    assert!(last.as_bytes() < first.as_bytes());
}

#[test]
fn labels_and_tag_generators_are_distinct() {
    let h = Hash32([1; 32]);
    let labels = [
        ring_label(&h, None, 0, 1),
        ring_label(&h, Some(""), 0, 1),
        ring_label(&h, Some("a"), 0, 1),
        ring_label(&h, Some("a"), 0, 2),
        ring_label(&h, Some("a"), 1, 2),
        ring_label(&Hash32([2; 32]), Some("a"), 0, 1),
    ];
    let set: HashSet<_> = labels.iter().collect();
    assert_eq!(set.len(), labels.len());
    assert_ne!(
        petition_tag_generator(&h).unwrap(),
        petition_tag_generator(&Hash32([2; 32])).unwrap()
    );
}

/// A signature made over any ring other than the derived one fails against the
/// derived ring: a ring missing a member, with an outsider, with another label, or the
/// ring from before a revocation.
#[test]
fn signatures_over_other_rings_fail_against_the_derived_ring() {
    let (e, creds) = electorate(REGIONS, 4);
    let mut idx = e.index();
    let set = RingSet::derive(&e, &idx, 5).unwrap();
    let u = petition_tag_generator(&Hash32([7; 32])).unwrap();
    let ctx = || new_transcript(b"petition-signature", &Hash32([7; 32]));
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let signer = &creds[0]; // "south"
    let (derived, slot) = set.ring_of(&signer.public_key()).unwrap();
    let derived = derived.ring.clone();
    let keys: Vec<_> = derived
        .members()
        .iter()
        .map(|p| vox_crypto::credential::CredentialPublicKey::new(*p).unwrap())
        .collect();

    // The honest signature on the derived ring verifies.
    let good = ring::sign(&mut ctx(), signer, &derived, slot, &u, b"m", &mut rng).unwrap();
    ring::verify(&mut ctx(), &good, &derived, &u, b"m").unwrap();

    // A smaller ring (a member dropped), same label.
    let without: Vec<_> = keys
        .iter()
        .filter(|k| *k != &keys[(slot + 1) % keys.len()])
        .copied()
        .collect();
    let small = Ring::new(derived.label(), &without).unwrap();
    let pos = small.position_of(&signer.public_key()).unwrap();
    // An outsider's key added, same label.
    let mut with = keys.clone();
    with.push(Credential::generate(&mut rng).public_key());
    let big = Ring::new(derived.label(), &with).unwrap();
    // Same members, another region's label.
    let relabelled = Ring::new(&ring_label(set.electorate(), Some("north"), 0, 1), &keys).unwrap();
    for (other, at) in [(&small, pos), (&big, slot), (&relabelled, slot)] {
        let s = ring::sign(&mut ctx(), signer, other, at, &u, b"m", &mut rng).unwrap();
        ring::verify(&mut ctx(), &s, other, &u, b"m").unwrap();
        assert!(ring::verify(&mut ctx(), &s, &derived, &u, b"m").is_err());
    }

    // After the signer's revocation, the re-derived ring no longer holds the key and
    // the old signature fails against it.
    idx.revoke(signer.public_key().to_bytes(), 6);
    let later = RingSet::derive(&e, &idx, 7).unwrap();
    assert!(later.ring_of(&signer.public_key()).is_none());
    let south = later
        .rings()
        .iter()
        .find(|r| r.region.as_deref() == Some("south"))
        .unwrap();
    assert!(ring::verify(&mut ctx(), &good, &south.ring, &u, b"m").is_err());
}

// ---- petition rings (07 §7.10) and ring-signed petition signatures ---------------------

use crate::encoding::{Canonical, Hashable};
use crate::petition::{
    Petition, PetitionProposal, PetitionTracker, RingPetitionSignature, SignatureAction,
    SignatureScheme,
};

fn ring_petition(e: &Electorate, min_group: u32) -> Petition {
    Petition {
        id: "ring-p".into(),
        action: "Plant trees".into(),
        background: "Shade".into(),
        details: String::new(),
        electorate_hash: e.canonical_hash(),
        sponsor_threshold: 2,
        response_threshold: 3,
        referendum_threshold: 5,
        open_for_ms: 30 * 86_400_000,
        response_due_ms: 14 * 86_400_000,
        region_min_group: min_group,
        signatures: SignatureScheme::Ring,
    }
}

#[test]
fn small_regions_are_pooled_with_the_credentials_without_a_region() {
    let (e, creds) = electorate(REGIONS, 3);
    let idx = e.index();
    // south has 5 members, north 10: with a minimum group of 6, south joins "no region".
    let rings = RingSet::for_petition(&e, &idx, 1, 0, 6).unwrap();
    let regions: Vec<Option<&str>> = rings.rings().iter().map(|r| r.region.as_deref()).collect();
    assert_eq!(regions, [None, Some("north")]);
    assert_eq!(rings.rings()[0].ring.member_count(), 5 + 3);
    let (r, _) = rings.ring_of(&creds[0].public_key()).unwrap(); // a south credential
    assert_eq!(r.region, None);
    // With a minimum of 5 nothing is pooled: the same rings as `derive`.
    let plain = RingSet::derive(&e, &idx, 1).unwrap();
    let kept = RingSet::for_petition(&e, &idx, 1, 0, 5).unwrap();
    let hashes = |s: &RingSet| s.rings().iter().map(|r| *r.ring.hash()).collect::<Vec<_>>();
    assert_eq!(hashes(&plain), hashes(&kept));
}

#[test]
fn replacements_enrolled_after_the_proposal_are_in_no_ring() {
    let (e, creds) = electorate(REGIONS, 4);
    let mut idx = e.index();
    let revoked = creds[0].public_key();
    idx.revoke(revoked.to_bytes(), 10);
    let replacement = Credential::generate(&mut ChaCha20Rng::seed_from_u64(5));
    idx.add(
        replacement.public_key().to_bytes(),
        Replacement {
            region: Some("south".into()),
            since: 11,
            replaces: revoked.to_bytes(),
        },
    );
    // Proposed at leaf 12 (after the enrolment): the replacement is in.
    let after = RingSet::for_petition(&e, &idx, 20, 12, 1).unwrap();
    assert!(after.ring_of(&replacement.public_key()).is_some());
    assert!(after.ring_of(&revoked).is_none());
    // Proposed at leaf 11 (the enrolment's own leaf) or before: it is not.
    for proposed_at in [0, 11] {
        let rings = RingSet::for_petition(&e, &idx, 20, proposed_at, 1).unwrap();
        assert!(rings.ring_of(&replacement.public_key()).is_none());
        assert!(rings.ring_of(&revoked).is_none());
    }
}

/// A ring-signed petition on REGIONS and a signature by credential `who`.
pub(crate) fn signed(
    who: usize,
    action: SignatureAction,
) -> (Petition, RingSet, Vec<Credential>, RingPetitionSignature) {
    let (e, creds) = electorate(REGIONS, 6);
    let rings = RingSet::for_petition(&e, &e.index(), 1, 0, 1).unwrap();
    let p = ring_petition(&e, 1);
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let sig = RingPetitionSignature::create(&p, &rings, &creds[who], action, &mut rng).unwrap();
    (p, rings, creds, sig)
}

#[test]
fn ring_petition_signature_round_trip_and_tag() {
    let (p, rings, creds, sig) = signed(2, SignatureAction::Sign);
    let ph = p.canonical_hash();
    sig.verify(&ph, &rings).unwrap();
    // The tag is the credential's on this petition, whatever the action or ring.
    let u = petition_tag_generator(&ph).unwrap();
    assert_eq!(*sig.tag(), ring::linking_tag(&creds[2], &u));
    let mut rng = ChaCha20Rng::seed_from_u64(8);
    let w =
        RingPetitionSignature::create(&p, &rings, &creds[2], SignatureAction::Withdraw, &mut rng)
            .unwrap();
    assert_eq!(w.tag(), sig.tag());
    // JSON round trip.
    let json = serde_json::to_string(&sig).unwrap();
    let back: RingPetitionSignature = serde_json::from_str(&json).unwrap();
    assert_eq!(back, sig);
    assert_eq!(back.canonical_bytes(), sig.canonical_bytes());
    // A credential in no ring cannot sign.
    let stranger = Credential::generate(&mut rng);
    assert!(
        RingPetitionSignature::create(&p, &rings, &stranger, SignatureAction::Sign, &mut rng)
            .is_err()
    );
}

#[test]
fn tampering_with_any_part_of_the_statement_fails() {
    let (p, rings, _creds, sig) = signed(4, SignatureAction::Sign);
    let ph = p.canonical_hash();
    // Another action (the message).
    let mut t = sig.clone();
    t.action = SignatureAction::Withdraw;
    assert!(t.verify(&ph, &rings).is_err());
    // Another petition id.
    let mut t = sig.clone();
    t.petition_id = "other".into();
    assert!(t.verify(&ph, &rings).is_err());
    // Another petition hash (scope, then the tag generator).
    let mut t = sig.clone();
    t.petition_hash = Hash32([9; 32]);
    assert!(t.verify(&ph, &rings).is_err());
    assert!(t.verify(&t.petition_hash.clone(), &rings).is_err());
    // Another ring of the set (named, but the proof is over the first).
    let other_ring = rings
        .rings()
        .iter()
        .map(|r| *r.ring.hash())
        .find(|h| *h != sig.ring)
        .unwrap();
    let mut t = sig.clone();
    t.ring = other_ring;
    assert!(t.verify(&ph, &rings).is_err());
    // A ring hash of no ring of the set.
    let mut t = sig.clone();
    t.ring = Hash32([7; 32]);
    assert!(t.verify(&ph, &rings).is_err());
    // Every byte of the signature: refused when read (a tag that is no point) or when
    // verified (decoder R1, or an equation).
    let bytes = sig.signature.as_bytes().to_vec();
    for i in 0..bytes.len() {
        let mut b = bytes.clone();
        b[i] ^= 0x01;
        let Ok(s) = crate::petition::RingSignatureBytes::from_bytes(b) else {
            assert!(i < 32, "byte {i}: only the tag is checked when read");
            continue;
        };
        let t = RingPetitionSignature {
            signature: s,
            ..sig.clone()
        };
        assert!(
            t.verify(&ph, &rings).is_err(),
            "byte {i} flipped still verifies"
        );
    }
    // Truncated, or extended by a byte.
    for b in [
        bytes[..bytes.len() - 1].to_vec(),
        [&bytes[..], &[0]].concat(),
    ] {
        let t = RingPetitionSignature {
            signature: crate::petition::RingSignatureBytes::from_bytes(b).unwrap(),
            ..sig.clone()
        };
        assert!(t.verify(&ph, &rings).is_err());
    }
}

/// The batch check answers exactly what checking each signature alone answers: all
/// good, or precisely the tampered ones named (a flipped proof byte, another petition's
/// hash, a ring of no set, an undecodable proof), on two petitions at once.
#[test]
fn batch_verification_names_exactly_the_bad_signatures() {
    use crate::petition::{verify_ring_batch, RingCheck, RingSignatureBytes};
    let (e, creds) = electorate(REGIONS, 6);
    let rings = RingSet::for_petition(&e, &e.index(), 1, 0, 1).unwrap();
    let p1 = ring_petition(&e, 1);
    let p2 = Petition {
        id: "ring-q".into(),
        ..p1.clone()
    };
    let (h1, h2) = (p1.canonical_hash(), p2.canonical_hash());
    let mut rng = ChaCha20Rng::seed_from_u64(11);
    let mut sigs = Vec::new();
    for (i, c) in creds.iter().enumerate().take(6) {
        let p = if i % 2 == 0 { &p1 } else { &p2 };
        sigs.push(
            RingPetitionSignature::create(p, &rings, c, SignatureAction::Sign, &mut rng).unwrap(),
        );
    }
    let hash_of = |s: &RingPetitionSignature| if s.petition_id == p1.id { h1 } else { h2 };
    let check = |sigs: &[RingPetitionSignature], rng: &mut ChaCha20Rng| {
        let hashes: Vec<Hash32> = sigs.iter().map(hash_of).collect();
        let items: Vec<RingCheck<'_>> = sigs
            .iter()
            .zip(&hashes)
            .map(|(signature, petition_hash)| RingCheck {
                signature,
                petition_hash,
                rings: &rings,
            })
            .collect();
        let batch: Vec<bool> = verify_ring_batch(&items, rng)
            .iter()
            .map(Result::is_ok)
            .collect();
        let alone: Vec<bool> = items
            .iter()
            .map(|c| c.signature.verify(c.petition_hash, c.rings).is_ok())
            .collect();
        assert_eq!(batch, alone);
        batch
    };
    assert!(verify_ring_batch(&[], &mut rng).is_empty());
    assert_eq!(check(&sigs, &mut rng), [true; 6]);

    let mut bad = sigs.clone();
    // A flipped proof byte (past the tag, so it still reads).
    let mut b = bad[1].signature.as_bytes().to_vec();
    b[100] ^= 1;
    bad[1].signature = RingSignatureBytes::from_bytes(b).unwrap();
    // Named for the other petition (scope).
    bad[2].petition_hash = h2;
    // A ring of no set.
    bad[3].ring = Hash32([7; 32]);
    // A truncated proof (refused when decoded).
    let b = bad[4].signature.as_bytes();
    bad[4].signature = RingSignatureBytes::from_bytes(b[..b.len() - 1].to_vec()).unwrap();
    assert_eq!(
        check(&bad, &mut rng),
        [true, false, false, false, false, true]
    );
    // Only a forged proof among good ones: the batch fails and names it alone.
    let mut one = sigs.clone();
    one[5].action = SignatureAction::Withdraw;
    assert_eq!(check(&one, &mut rng), [true, true, true, true, true, false]);
}

#[test]
fn the_tracker_counts_tags_and_refuses_the_other_scheme() {
    let (e, creds) = electorate(REGIONS, 6);
    let rings = RingSet::for_petition(&e, &e.index(), 1, 0, 1).unwrap();
    let p = ring_petition(&e, 1);
    let mut rng = ChaCha20Rng::seed_from_u64(10);
    let proposal = PetitionProposal::create(p.clone(), &creds[0], &mut rng);
    let mut t = PetitionTracker::new(&proposal, Some("south"));
    assert_eq!(
        t.count(),
        0,
        "the proposer of a ring-signed petition is not counted"
    );
    let sig = |who: usize, action, rng: &mut ChaCha20Rng| {
        RingPetitionSignature::create(&p, &rings, &creds[who], action, rng).unwrap()
    };
    let a = sig(0, SignatureAction::Sign, &mut rng);
    t.apply_ring_signature(&a, Some("south"), 1).unwrap();
    // The same tag again, with a fresh proof: refused.
    let again = sig(0, SignatureAction::Sign, &mut rng);
    assert_ne!(again.signature, a.signature);
    assert!(t.apply_ring_signature(&again, Some("south"), 2).is_err());
    let b = sig(9, SignatureAction::Sign, &mut rng);
    let crossed = t.apply_ring_signature(&b, Some("north"), 3).unwrap();
    assert_eq!(t.count(), 2);
    assert_eq!(crossed.0.len(), 1, "the sponsor threshold of 2 is crossed");
    // A credential signature on a ring-signed petition is refused.
    let cred_sig =
        crate::petition::PetitionSignature::create(&p, &creds[3], SignatureAction::Sign, &mut rng);
    assert!(t.apply_signature(&cred_sig, Some("south"), 4).is_err());
    // Invalidation names tags, not credentials.
    assert!(t.apply_invalidation(&[creds[9].public_key()], &[]).is_err());
    assert_eq!(t.apply_invalidation(&[], &[*b.tag()]).unwrap(), 1);
    assert_eq!(t.count(), 1);
    // An invalidated tag cannot sign again.
    let b2 = sig(9, SignatureAction::Sign, &mut rng);
    assert!(t.apply_ring_signature(&b2, Some("north"), 5).is_err());
}

#[test]
fn a_board_view_derives_rings_only_from_a_log_it_can_vouch_for() {
    use crate::board::Payload;
    use crate::roles::{ActSignature, RoleSigners, WitnessPolicy};
    let mut rng = ChaCha20Rng::seed_from_u64(11);
    let roles = RoleSigners::generate(&mut rng);
    let genesis = roles
        .genesis("vox.test/view", 1, WitnessPolicy::default())
        .unwrap();
    let (e, creds) = electorate(REGIONS, 12);
    let registered = roles
        .sign(
            Payload::ElectorateRegistered {
                electorate: e.clone(),
                act: ActSignature::unsigned(),
            },
            2,
        )
        .unwrap();
    let p = ring_petition(&e, 1);
    let proposal = Payload::PetitionProposed {
        proposal: PetitionProposal::create(p.clone(), &creds[0], &mut rng),
    };

    // Leaf 0 must be the genesis.
    assert!(BoardView::new().apply(&registered).is_err());
    // A registrar act signed by another role's key is refused.
    let mut view = BoardView::new();
    view.apply(&Payload::Genesis {
        genesis: genesis.clone(),
    })
    .unwrap();
    let forged = Payload::ElectorateRegistered {
        electorate: e.clone(),
        act: ActSignature::unsigned(),
    }
    .signed_act(&roles.log_id(), 2, &roles.operator)
    .unwrap();
    assert!(view.apply(&forged).is_err());
    // An honest log: the rings are the ones derived from the electorate.
    let mut view = BoardView::new();
    for payload in [Payload::Genesis { genesis }, registered, proposal] {
        view.apply(&payload).unwrap();
    }
    assert_eq!(view.size(), 3);
    let rings = view.petition_rings(&p).unwrap();
    let direct = RingSet::for_petition(&e, &e.index(), 3, 2, 1).unwrap();
    let hashes = |s: &RingSet| s.rings().iter().map(|r| *r.ring.hash()).collect::<Vec<_>>();
    assert_eq!(hashes(&rings), hashes(&direct));
    // A petition it has not seen proposed has no rings.
    let other = Petition {
        id: "unseen".into(),
        ..p
    };
    assert!(view.petition_rings(&other).is_err());
}
