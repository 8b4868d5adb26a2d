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
