//! Anonymous ballots (04 §4.10): the honest path, the voter key (the tag), and every
//! tamper the verifier and the server must refuse — a ring that is not the derived one,
//! a tag from another referendum, a forged or altered ring signature, a proof lifted
//! into another voter's ballot, a ring with a revoked key after the revocation, and
//! ballots of the wrong form for the manifest.

use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use vox_crypto::credential::Credential;
use vox_crypto::elgamal::ElectionPublicKey;
use vox_crypto::Scalar;

use super::*;
use crate::electorate::{Electorate, ElectorateEntry};
use crate::manifest::{Question, TrusteeInfo, MANIFEST_VERSION};

struct Fixture {
    electorate: Electorate,
    creds: Vec<Credential>,
    manifest: Manifest,
    key: ElectionPublicKey,
}

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

fn fixture(participation: Participation, referendum_id: &str) -> Fixture {
    let mut r = rng(11);
    let creds: Vec<Credential> = (0..6).map(|_| Credential::generate(&mut r)).collect();
    let electorate = Electorate {
        id: "town".into(),
        name: "Town".into(),
        entries: creds
            .iter()
            .enumerate()
            .map(|(i, c)| ElectorateEntry {
                credential: c.public_key(),
                region: Some(if i % 2 == 0 { "north" } else { "south" }.into()),
            })
            .collect(),
    };
    let x = Scalar::random(&mut r);
    let key = ElectionPublicKey::new(x.mul_base()).unwrap();
    let manifest = Manifest {
        version: MANIFEST_VERSION,
        referendum_id: referendum_id.into(),
        title: "Trees".into(),
        description: String::new(),
        questions: vec![
            Question {
                id: "q1".into(),
                text: "Plant trees?".into(),
                options: vec!["yes".into(), "no".into()],
                kind: QuestionKind::YesNo,
            },
            Question {
                id: "q2".into(),
                text: "How many (0-5)?".into(),
                options: vec!["north".into(), "south".into()],
                kind: QuestionKind::Score { max: 5 },
            },
        ],
        opens_at: 0,
        closes_at: 10,
        electorate_hash: electorate.canonical_hash(),
        trustees: Vec::<TrusteeInfo>::new(),
        threshold: 1,
        answer_due_ms: crate::manifest::DAY_MS,
        decryption_due_ms: crate::manifest::DAY_MS,
        source_petition: None,
        participation,
    };
    Fixture {
        electorate,
        creds,
        manifest,
        key,
    }
}

impl Fixture {
    fn ctx(&self) -> BallotContext<'_> {
        BallotContext::new(&self.manifest, self.key)
    }

    fn rings(&self) -> RingSet {
        RingSet::for_referendum(&self.electorate, &self.electorate.index(), 5, 1).unwrap()
    }

    fn ballot(&self, voter: usize, seed: u64) -> Ballot {
        let choices = vec![vec![1, 0], vec![3, 5]];
        encrypt_anonymous_ballot(
            &self.ctx(),
            &self.rings(),
            &self.creds[voter],
            &choices,
            None,
            &mut rng(seed),
        )
        .unwrap()
        .0
    }

    fn validate(&self, b: &Ballot) -> Result<()> {
        b.validate(
            &self.ctx(),
            &self.electorate.index(),
            Some(&self.rings()),
            &mut rng(1),
        )
    }
}

#[test]
fn an_anonymous_ballot_names_no_credential_and_validates() {
    let f = fixture(Participation::Anonymous, "r1");
    let b = f.ballot(0, 1);
    f.validate(&b).unwrap();
    assert!(b.credential.is_none() && b.signature.is_none());
    let json = serde_json::to_string(&b).unwrap();
    for c in &f.creds {
        assert!(!json.contains(&c.public_key().point().to_hex()));
    }
    // The JSON round trip keeps the ballot (and its hash) intact.
    let back: Ballot = serde_json::from_str(&json).unwrap();
    assert_eq!(back, b);
    assert_eq!(back.hash(), b.hash());
    // All regions pooled: one ring holds the whole (small) electorate.
    let rings = f.rings();
    assert_eq!(rings.rings().len(), 1);
    assert_eq!(rings.member_count(), f.creds.len());
    // Without the rings, an anonymous ballot cannot be validated.
    assert!(b
        .validate(&f.ctx(), &f.electorate.index(), None, &mut rng(1))
        .is_err());
}

#[test]
fn the_voter_key_is_a_tag_per_referendum() {
    let f = fixture(Participation::Anonymous, "r1");
    let first = f.ballot(2, 1);
    let again = f.ballot(2, 2);
    let other_voter = f.ballot(3, 3);
    assert_ne!(first.hash(), again.hash());
    assert_eq!(
        first.voter_key(),
        again.voter_key(),
        "re-voting: the same tag"
    );
    assert_ne!(first.voter_key(), other_voter.voter_key());
    assert_ne!(
        first.voter_key(),
        Some(f.creds[2].public_key().to_bytes()),
        "the tag is not the credential"
    );
    // Another referendum: another tag for the same credential (unlinkable).
    let g = fixture(Participation::Anonymous, "r2");
    assert_ne!(g.ballot(2, 1).voter_key(), first.voter_key());
}

#[test]
fn forms_must_match_the_manifest() {
    let anon = fixture(Participation::Anonymous, "r1");
    let pseudo = fixture(Participation::Pseudonymous, "r1");
    let choices = vec![vec![1, 0], vec![0, 0]];
    // Each encryptor refuses the other mode's manifest.
    assert!(encrypt_ballot(&anon.ctx(), &anon.creds[0], &choices, None, &mut rng(1)).is_err());
    assert!(encrypt_anonymous_ballot(
        &pseudo.ctx(),
        &anon.rings(),
        &pseudo.creds[0],
        &choices,
        None,
        &mut rng(1)
    )
    .is_err());
    // A pseudonymous ballot on an anonymous referendum (same manifest but the mode) is
    // refused by structure, and the other way round.
    let (named, _) =
        encrypt_ballot(&pseudo.ctx(), &pseudo.creds[0], &choices, None, &mut rng(1)).unwrap();
    let mut named_here = named.clone();
    named_here.manifest_hash = anon.ctx().manifest_hash;
    let err = named_here
        .check_structure(&anon.ctx(), &anon.electorate.index())
        .unwrap_err();
    assert!(err.to_string().contains("anonymous"), "{err}");
    let mut ringed_there = anon.ballot(0, 1);
    ringed_there.manifest_hash = pseudo.ctx().manifest_hash;
    assert!(ringed_there
        .check_structure(&pseudo.ctx(), &pseudo.electorate.index())
        .is_err());
    // Mixed forms: both, neither, half of one.
    let honest = anon.ballot(0, 1);
    let mut both = honest.clone();
    both.credential = Some(anon.creds[0].public_key());
    both.signature = named.signature;
    let mut neither = honest.clone();
    neither.ring = None;
    neither.ring_signature = None;
    let mut half = honest.clone();
    half.ring_signature = None;
    for b in [&both, &neither, &half] {
        assert!(b.voter().is_err());
        assert!(b.voter_key().is_none());
        assert!(anon.validate(b).is_err());
    }
}

#[test]
fn a_ring_that_is_not_derived_is_refused() {
    let f = fixture(Participation::Anonymous, "r1");
    let b = f.ballot(0, 1);
    // A ring of the signer's own choosing (a subset: the signer and one other).
    let own = vox_crypto::ring::Ring::new(
        b"my own ring",
        &[f.creds[0].public_key(), f.creds[1].public_key()],
    )
    .unwrap();
    let generator = f.ctx().tag_generator().unwrap();
    let mut t = new_transcript(cl::BALLOT_RING_SIGNATURE, &f.ctx().manifest_hash);
    let mut forged = b.clone();
    forged.ring = Some(*own.hash());
    let proof = vox_crypto::ring::sign(
        &mut t,
        &f.creds[0],
        &own,
        own.position_of(&f.creds[0].public_key()).unwrap(),
        &generator,
        &forged.body_hash().0,
        &mut rng(3),
    )
    .unwrap();
    forged.ring_signature = Some(RingSignatureBytes::new(&proof));
    let err = forged.check_ring(&f.rings()).unwrap_err();
    assert!(err
        .to_string()
        .contains("not one of the referendum's rings"));
    assert!(f.validate(&forged).is_err());
    // The proof itself holds on the signer's ring: only the derivation rule refuses it.
    assert!(forged.ring_statement_on(&own, &generator).is_ok());
}

#[test]
fn a_revoked_key_leaves_the_ring_at_its_revocation() {
    let f = fixture(Participation::Anonymous, "r1");
    let mut index = f.electorate.index();
    let before = RingSet::for_referendum(&f.electorate, &index, 5, 1).unwrap();
    let (b, _) = encrypt_anonymous_ballot(
        &f.ctx(),
        &before,
        &f.creds[4],
        &vec![vec![1, 0], vec![0, 0]],
        None,
        &mut rng(5),
    )
    .unwrap();
    b.check_ring(&before).unwrap();
    index.revoke(f.creds[4].public_key().to_bytes(), 7);
    // At leaf 7 the revocation is not yet in force; after it, the ring changed.
    let at = RingSet::for_referendum(&f.electorate, &index, 7, 1).unwrap();
    assert!(b.check_ring(&at).is_ok());
    let after = RingSet::for_referendum(&f.electorate, &index, 8, 1).unwrap();
    assert!(after.ring_of(&f.creds[4].public_key()).is_none());
    assert!(b.check_ring(&after).is_err());
    // The revoked credential cannot make a new ballot on the rings after it.
    assert!(encrypt_anonymous_ballot(
        &f.ctx(),
        &after,
        &f.creds[4],
        &vec![vec![1, 0], vec![0, 0]],
        None,
        &mut rng(6)
    )
    .is_err());
}

#[test]
fn a_replacement_enrolled_after_creation_is_in_no_ring() {
    let f = fixture(Participation::Anonymous, "r1");
    let mut index = f.electorate.index();
    index.revoke(f.creds[1].public_key().to_bytes(), 3);
    let replacement = Credential::generate(&mut rng(77));
    index.add(
        replacement.public_key().to_bytes(),
        crate::electorate::Replacement {
            region: Some("south".into()),
            since: 4,
            replaces: f.creds[1].public_key().to_bytes(),
        },
    );
    // Created at leaf 2: the replacement (leaf 4) could vote again where the revoked
    // credential voted, and tags cannot tell, so it is left out.
    let late = RingSet::for_referendum(&f.electorate, &index, 9, 2).unwrap();
    assert!(late.ring_of(&replacement.public_key()).is_none());
    // Created after the replacement: it is in.
    let early = RingSet::for_referendum(&f.electorate, &index, 9, 5).unwrap();
    assert!(early.ring_of(&replacement.public_key()).is_some());
}

#[test]
fn a_tag_from_another_referendum_is_refused() {
    let f = fixture(Participation::Anonymous, "r1");
    let g = fixture(Participation::Anonymous, "r2");
    let b = f.ballot(0, 1);
    // Re-sign the same body with r2's tag generator: the tag is r2's.
    let rings = f.rings();
    let (derived, slot) = rings.ring_of(&f.creds[0].public_key()).unwrap();
    let other_generator = g.ctx().tag_generator().unwrap();
    let mut t = new_transcript(cl::BALLOT_RING_SIGNATURE, &f.ctx().manifest_hash);
    let proof = vox_crypto::ring::sign(
        &mut t,
        &f.creds[0],
        &derived.ring,
        slot,
        &other_generator,
        &b.body_hash().0,
        &mut rng(2),
    )
    .unwrap();
    let mut lifted = b.clone();
    lifted.ring_signature = Some(RingSignatureBytes::new(&proof));
    assert!(f.validate(&lifted).is_err());
}

#[test]
fn answers_lifted_into_another_voters_ballot_fail() {
    let f = fixture(Participation::Anonymous, "r1");
    let victim = f.ballot(0, 1);
    let thief = f.ballot(1, 2);
    // The thief copies the victim's encrypted answers and proofs, then ring-signs the
    // new body honestly with their own credential: the answers' proofs are bound to the
    // victim's tag (the base transcript), so they fail under the thief's.
    let mut copy = thief.clone();
    copy.answers = victim.answers.clone();
    copy.range_proof = victim.range_proof.clone();
    let rings = f.rings();
    let (derived, slot) = rings.ring_of(&f.creds[1].public_key()).unwrap();
    let generator = f.ctx().tag_generator().unwrap();
    let mut t = new_transcript(cl::BALLOT_RING_SIGNATURE, &f.ctx().manifest_hash);
    let proof = vox_crypto::ring::sign(
        &mut t,
        &f.creds[1],
        &derived.ring,
        slot,
        &generator,
        &copy.body_hash().0,
        &mut rng(4),
    )
    .unwrap();
    copy.ring_signature = Some(RingSignatureBytes::new(&proof));
    let err = f.validate(&copy).unwrap_err();
    assert!(err.to_string().contains("answers/0"), "{err}");
}

#[test]
fn every_tweak_of_the_ring_signature_or_the_body_fails() {
    let f = fixture(Participation::Anonymous, "r1");
    let b = f.ballot(0, 1);
    let bytes = b.ring_signature.as_ref().unwrap().as_bytes().to_vec();
    // Every 32-byte element of the signature (the tag, each commitment, each response).
    let mut offsets: Vec<usize> = (0..bytes.len()).step_by(32).collect();
    offsets.push(bytes.len() - 1);
    for at in offsets {
        let mut tweaked = bytes.clone();
        tweaked[at] ^= 0x01;
        let mut t = b.clone();
        match RingSignatureBytes::from_bytes(tweaked) {
            // A tag that no longer decodes is refused when read.
            Err(_) => continue,
            Ok(sig) => t.ring_signature = Some(sig),
        }
        assert!(f.validate(&t).is_err(), "byte {at} of the ring signature");
    }
    // The statement: every field the body hash covers.
    type Tweak = (&'static str, fn(&mut Ballot));
    let tweaks: &[Tweak] = &[
        ("previous", |b| b.previous = Some(Hash32([7; 32]))),
        ("ciphertext", |b| {
            let ct = &mut b.answers[0].ciphertexts[0];
            std::mem::swap(&mut ct.a, &mut ct.b);
        }),
        ("score commitment", |b| {
            b.answers[1].scores.swap(0, 1);
        }),
        ("range proof", |b| b.range_proof = None),
        ("ring", |b| b.ring = Some(Hash32([9; 32]))),
        ("referendum", |b| b.referendum_id = "r9".into()),
        ("version", |b| b.version = 3),
    ];
    for (name, tweak) in tweaks {
        let mut t = b.clone();
        tweak(&mut t);
        assert!(f.validate(&t).is_err(), "tweaked {name}");
    }
}
