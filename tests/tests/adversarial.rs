//! A consolidated adversarial suite: one `#[test]` per attack, each asserting rejection
//! with a typed error (a `CryptoError` / `ProtocolError` / `MerkleError` / `VerifyError`
//! variant, or an HTTP problem-details status and slug) and, against a real server, that
//! the board did not change.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use ed25519_dalek::SigningKey;
use rand::rngs::OsRng;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde_json::{json, Value};
use vox_crypto::credential::{Credential, CredentialPublicKey};
use vox_crypto::elgamal::{Ciphertext, ElectionPublicKey, SecretScalar};
use vox_crypto::generators::{bulletproof_gens, pedersen_gens};
use vox_crypto::proofs::link::pedersen_commit;
use vox_crypto::proofs::{RangeProof, RangeStatement, ZeroOneProof};
use vox_crypto::threshold::{
    judge_complaint, CeremonyCommitment, CeremonyParams, CoefficientCommitments, Complaint, Dealer,
    DecryptionShare, JointPublicKeys, KeyShare, RevealedDealer, TrusteeIndex, TrusteeKeys,
};
use vox_crypto::transcript::{labels, new_transcript, TranscriptProtocol};
use vox_crypto::{CryptoError, Hash32, Point, Scalar, Transcript};
use vox_protocol::ballot::{context_labels, encrypt_ballot, Ballot, BallotContext};
use vox_protocol::board::{BoardPublicKey, Payload, Receipt, SignedTreeHead, TreeHead};
use vox_protocol::electorate::{Electorate, ElectorateEntry, ElectorateIndex};
use vox_protocol::encoding::{human_code, Hashable};
use vox_protocol::manifest::{Manifest, Question, QuestionKind, TrusteeInfo, MANIFEST_VERSION};
use vox_protocol::merkle::{
    consistency_proof, inclusion_proof, leaf_hash, root_from_leaf_hashes, verify_consistency,
    verify_inclusion, MerkleError, NodeHash,
};
use vox_protocol::roles::{ActSignature, Role};
use vox_protocol::ProtocolError;
use vox_server::ServerConfig;
use vox_testkit::{
    config, issued_at, open_referendum, roles, signed as sign_act, sqlite_db, Client, Harness,
    Resp, TestDb, Trustees,
};
use vox_verifier::compact::CompactTree;
use vox_verifier::monitor::MonitorState;
use vox_verifier::{verify_record, NoProgress, Options, Status, StepId, Verdict, VerifyError};

// =====================================================================================
// Fixtures
// =====================================================================================

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

fn test_manifest_hash() -> Hash32 {
    Hash32::sha256(&[b"vox adversarial manifest"])
}

fn honest_transcript() -> Transcript {
    let mut t = new_transcript(b"ballot", &test_manifest_hash());
    t.append_bytes(b"credential-public-key", &[7u8; 32]);
    t
}

fn keypair(r: &mut ChaCha20Rng) -> (SecretScalar, ElectionPublicKey) {
    let x = SecretScalar::random(r);
    let k = ElectionPublicKey::new(x.public()).unwrap();
    (x, k)
}

fn unhex32(s: &str) -> [u8; 32] {
    hex::decode(s).unwrap().try_into().unwrap()
}

#[track_caller]
fn assert_zero_one_invalid(r: Result<(), CryptoError>) {
    assert!(
        matches!(
            r,
            Err(CryptoError::ProofInvalid {
                proof: "zero-one",
                ..
            })
        ),
        "{r:?}"
    );
}

/// A 0/1 proof for an encryption of `m`.
fn zero_one(seed: u64, m: u64) -> (ElectionPublicKey, Ciphertext, ZeroOneProof) {
    let mut r = rng(seed);
    let (_, key) = keypair(&mut r);
    let (ct, nonce) = Ciphertext::encrypt(&key, m, &mut r);
    let p = ZeroOneProof::prove(&mut honest_transcript(), &key, &ct, m, &nonce, &mut r).unwrap();
    p.verify(&mut honest_transcript(), &key, &ct).unwrap();
    (key, ct, p)
}

fn flip_scalar_byte(s: &Scalar) -> Scalar {
    let mut b = s.to_bytes();
    b[0] ^= 0x01;
    Scalar::try_from_bytes(&b).unwrap()
}

// ---- an in-memory referendum ----------------------------------------------------------

struct Election {
    manifest: Manifest,
    key: ElectionPublicKey,
    creds: Vec<Credential>,
    index: ElectorateIndex,
}

fn in_memory_manifest(id: &str, electorate_hash: Hash32, trustees: &[TrusteeKeys]) -> Manifest {
    Manifest {
        version: MANIFEST_VERSION,
        referendum_id: id.into(),
        title: format!("Referendum {id}"),
        description: "Advisory".into(),
        questions: vec![
            Question {
                id: "q1".into(),
                text: "Yes or no?".into(),
                options: vec!["yes".into(), "no".into()],
                kind: QuestionKind::YesNo,
            },
            Question {
                id: "q2".into(),
                text: "Pick one".into(),
                options: vec!["a".into(), "b".into(), "c".into()],
                kind: QuestionKind::ChooseOne {
                    blank_allowed: false,
                },
            },
        ],
        opens_at: 0,
        closes_at: 4_000_000_000_000,
        electorate_hash,
        trustees: TrusteeInfo::numbered(trustees),
        threshold: 2,
        answer_due_ms: vox_protocol::manifest::DAY_MS,
        decryption_due_ms: vox_protocol::manifest::DAY_MS,
        source_petition: None,
        participation: Default::default(),
    }
}

fn election(id: &str, seed: u64) -> Election {
    let mut r = rng(seed);
    let creds: Vec<Credential> = (0..3).map(|_| Credential::generate(&mut r)).collect();
    let electorate = Electorate {
        id: "e".into(),
        name: "Electorate".into(),
        entries: creds
            .iter()
            .map(|c| ElectorateEntry {
                credential: c.public_key(),
                region: None,
            })
            .collect(),
    };
    let trustees: Vec<TrusteeKeys> = (0..3).map(|_| TrusteeKeys::generate(&mut r)).collect();
    let manifest = in_memory_manifest(id, electorate.canonical_hash(), &trustees);
    let (_, key) = keypair(&mut r);
    Election {
        manifest,
        key,
        creds,
        index: electorate.index(),
    }
}

impl Election {
    fn ctx(&self) -> BallotContext<'_> {
        BallotContext::new(&self.manifest, self.key)
    }
    fn ballot(&self, voter: usize, seed: u64) -> Ballot {
        let (b, _) = encrypt_ballot(
            &self.ctx(),
            &self.creds[voter],
            &vec![vec![1, 0], vec![0, 1, 0]],
            None,
            &mut rng(seed),
        )
        .unwrap();
        b.validate(&self.ctx(), &self.index, None, &mut OsRng)
            .unwrap();
        b
    }
    fn validate(&self, b: &Ballot) -> Result<(), ProtocolError> {
        b.validate(&self.ctx(), &self.index, None, &mut OsRng)
    }
    /// Re-sign the ballot body with a credential (so a failure cannot come from the
    /// signature).
    fn resign(&self, b: &mut Ballot, cred: &Credential) {
        let mut st = new_transcript(
            context_labels::BALLOT_SIGNATURE,
            &self.manifest.canonical_hash(),
        );
        b.signature = Some(cred.sign(&mut st, &b.body_hash().0, &mut OsRng));
    }
}

#[track_caller]
fn assert_proof_field(r: Result<(), ProtocolError>, field: &str) {
    match r {
        Err(ProtocolError::Crypto { field: f, source }) => {
            assert_eq!(f, field, "{source}");
            assert!(
                matches!(source, CryptoError::ProofInvalid { .. }),
                "{source:?}"
            );
        }
        other => panic!("expected a proof failure on {field}, got {other:?}"),
    }
}

// ---- an in-memory key ceremony --------------------------------------------------------

struct Ceremony {
    params: CeremonyParams,
    mh: Hash32,
    revealed: Vec<RevealedDealer>,
    key_shares: Vec<KeyShare>,
    joint: JointPublicKeys,
}

fn ceremony(seed: u64) -> Ceremony {
    let mut r = rng(seed);
    let mh = test_manifest_hash();
    let params = CeremonyParams::new(3, 2).unwrap();
    let dealers: Vec<Dealer> = (1..=3)
        .map(|i| Dealer::new(&params, TrusteeIndex::new(i).unwrap(), &mh, &mut r).unwrap())
        .collect();
    let posted: Vec<CeremonyCommitment> = dealers.iter().map(Dealer::commitment).collect();
    let revealed: Vec<RevealedDealer> = dealers
        .into_iter()
        .map(|d| d.reveal(&posted).unwrap())
        .collect();
    let reveals: Vec<CoefficientCommitments> =
        revealed.iter().map(|d| d.commitments().clone()).collect();
    let joint = JointPublicKeys::from_commitments(&params, &mh, &reveals).unwrap();
    let key_shares = (1..=3u32)
        .map(|l| {
            let li = TrusteeIndex::new(l).unwrap();
            let got: Vec<(TrusteeIndex, SecretScalar)> = revealed
                .iter()
                .map(|d| {
                    let a = d
                        .answer_complaint(&Complaint {
                            dealer: d.dealer(),
                            recipient: li,
                        })
                        .unwrap();
                    (d.dealer(), SecretScalar::new(a.share))
                })
                .collect();
            KeyShare::combine(&params, li, &got).unwrap()
        })
        .collect();
    Ceremony {
        params,
        mh,
        revealed,
        key_shares,
        joint,
    }
}

// =====================================================================================
// Encodings
// =====================================================================================

#[track_caller]
fn assert_non_canonical(hex_str: &str) {
    let bytes = unhex32(hex_str);
    assert_eq!(
        Point::try_from_bytes(&bytes),
        Err(CryptoError::NonCanonicalPoint)
    );
    assert_eq!(
        Point::try_from_bytes_nonidentity(&bytes, "key"),
        Err(CryptoError::NonCanonicalPoint)
    );
    assert!(serde_json::from_str::<Point>(&format!("\"{hex_str}\"")).is_err());
}

#[test]
fn rfc9496_non_canonical_field_encoding_is_rejected() {
    assert_non_canonical("00ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff");
    assert_non_canonical("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f");
}

#[test]
fn rfc9496_negative_field_element_is_rejected() {
    assert_non_canonical("0100000000000000000000000000000000000000000000000000000000000000");
    assert_non_canonical("ed57ffd8c914fb201471d1c3d245ce3c746fcbe63a3679d51b6a516ebebe0e20");
}

#[test]
fn rfc9496_negative_xy_is_rejected() {
    assert_non_canonical("3eb858e78f5a7254d8c9731174a94f76755fd3941c0ac93735c07ba14579630e");
}

#[test]
fn rfc9496_s_minus_one_is_rejected() {
    assert_non_canonical("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f");
}

#[test]
fn identity_is_rejected_as_election_key() {
    assert_eq!(
        Point::try_from_bytes_nonidentity(&[0u8; 32], "election public key"),
        Err(CryptoError::IdentityPoint {
            what: "election public key"
        })
    );
    assert!(matches!(
        ElectionPublicKey::new(Point::identity()),
        Err(CryptoError::IdentityPoint { .. })
    ));
    assert!(matches!(
        CredentialPublicKey::new(Point::identity()),
        Err(CryptoError::IdentityPoint { .. })
    ));
}

#[test]
fn identity_is_rejected_as_ciphertext_a() {
    let (key, _, p) = zero_one(1, 1);
    let bad = Ciphertext {
        a: Point::identity(),
        b: Point::generator(),
    };
    assert_eq!(
        bad.validate(),
        Err(CryptoError::IdentityPoint {
            what: "ciphertext a"
        })
    );
    assert_eq!(
        p.verify(&mut honest_transcript(), &key, &bad),
        Err(CryptoError::IdentityPoint {
            what: "ciphertext a"
        })
    );
}

#[test]
fn identity_is_rejected_as_coefficient_commitment() {
    let c = ceremony(2);
    let mut reveal = c.revealed[0].commitments().clone();
    reveal.commitments[0] = Point::identity();
    assert_eq!(
        reveal.verify(&c.params, &c.mh),
        Err(CryptoError::Trustee {
            dealer: 1,
            reason: "a coefficient commitment is the identity"
        })
    );
}

#[test]
fn scalar_at_or_above_the_group_order_is_rejected() {
    // ℓ, little-endian, and 2²⁵⁶ − 1.
    let ell = unhex32("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010");
    for bytes in [ell, [0xff; 32]] {
        assert_eq!(
            Scalar::try_from_bytes(&bytes),
            Err(CryptoError::NonCanonicalScalar)
        );
        assert!(serde_json::from_str::<Scalar>(&format!("\"{}\"", hex::encode(bytes))).is_err());
    }
}

// =====================================================================================
// Proofs
// =====================================================================================

#[test]
fn zero_one_proof_with_a_challenge_byte_flipped_is_rejected() {
    let (key, ct, p) = zero_one(3, 1);
    let bad = ZeroOneProof {
        c0: flip_scalar_byte(&p.c0),
        ..p
    };
    assert_zero_one_invalid(bad.verify(&mut honest_transcript(), &key, &ct));
}

#[test]
fn zero_one_proof_with_a_response_byte_flipped_is_rejected() {
    let (key, ct, p) = zero_one(4, 0);
    let bad = ZeroOneProof {
        z1: flip_scalar_byte(&p.z1),
        ..p
    };
    assert_zero_one_invalid(bad.verify(&mut honest_transcript(), &key, &ct));
}

#[test]
fn zero_one_proof_for_an_encryption_of_two_is_rejected() {
    // Simulate both branches: every equation holds, but c0 + c1 is not the challenge.
    let mut r = rng(5);
    let (_, key) = keypair(&mut r);
    let k = *key.point();
    let (ct, _) = Ciphertext::encrypt(&key, 2, &mut r);
    let (c0, c1, z0, z1) = (
        Scalar::random(&mut r),
        Scalar::random(&mut r),
        Scalar::random(&mut r),
        Scalar::random(&mut r),
    );
    let sim = ZeroOneProof {
        t0a: z0.mul_base() - c0.mul_point(&ct.a),
        t0b: z0.mul_point(&k) - c0.mul_point(&ct.b),
        t1a: z1.mul_base() - c1.mul_point(&ct.a),
        t1b: z1.mul_point(&k) - c1.mul_point(&(ct.b - Point::generator())),
        c0,
        c1,
        z0,
        z1,
    };
    assert_eq!(
        sim.verify(&mut honest_transcript(), &key, &ct),
        Err(CryptoError::ProofInvalid {
            proof: "zero-one",
            reason: "c0 + c1 differs from the Fiat–Shamir challenge",
        })
    );
    // The prover itself refuses to make one.
    assert!(
        ZeroOneProof::prove(&mut honest_transcript(), &key, &ct, 2, &Scalar::ONE, &mut r).is_err()
    );
}

#[test]
fn weak_fiat_shamir_forgery_is_rejected() {
    // Challenge over the commitments only: a key chosen after the challenge lets a
    // forger "prove" that an encryption of 2 holds 0 or 1 (Bernhard–Pereira–Warinschi).
    let mut r = rng(6);
    let tau: Vec<Scalar> = (0..4).map(|_| Scalar::random(&mut r)).collect();
    let ts: Vec<Point> = tau.iter().map(Scalar::mul_base).collect();
    let mut weak = Transcript::new(labels::PROTOCOL);
    for p in &ts {
        weak.append_point(labels::T, p);
    }
    let c = weak.challenge_scalar(labels::CHALLENGE);
    let half = Scalar::from_u64(2).invert();
    let x = (c + tau[1] * half + tau[3]) * (tau[0] * half + tau[2]).invert();
    let key = ElectionPublicKey::new(x.mul_base()).unwrap();
    let alpha = Scalar::random(&mut r);
    let ct = Ciphertext::encrypt_with(&key, 2, &alpha);
    let c0 = (tau[0] * x - tau[1]) * half;
    let c1 = tau[2] * x - tau[3];
    assert_eq!(
        c0 + c1,
        c,
        "the forgery is consistent with the weak challenge"
    );
    let forged = ZeroOneProof {
        t0a: ts[0],
        t0b: ts[1],
        t1a: ts[2],
        t1b: ts[3],
        c0,
        c1,
        z0: tau[0] + c0 * alpha,
        z1: tau[2] + c1 * alpha,
    };
    assert_zero_one_invalid(forged.verify(&mut honest_transcript(), &key, &ct));
}

/// The range statement exactly as vox appends it (protocol-spec §3.7).
fn append_range_statement(t: &mut Transcript, sts: &[RangeStatement], n: u64) {
    t.domain_sep(labels::RANGE);
    t.append_u64_le(labels::RANGE_BITS, n);
    t.append_u64_le(labels::RANGE_COUNT, sts.len() as u64);
    for s in sts {
        t.append_point(labels::COMMITMENT, &s.commitment);
        t.append_u64_le(labels::RANGE_LO, s.lo);
        t.append_u64_le(labels::RANGE_HI, s.hi);
    }
}

/// A Bulletproof made directly with the bulletproofs crate.
fn raw_range_proof(
    sts: &[RangeStatement],
    n_in_transcript: u64,
    n: usize,
    values: &[u64],
    blindings: &[Scalar],
    r: &mut ChaCha20Rng,
) -> RangeProof {
    let mut t = honest_transcript();
    append_range_statement(&mut t, sts, n_in_transcript);
    let bl: Vec<_> = blindings.iter().map(|s| *s.as_dalek()).collect();
    let (p, _) = bulletproofs::RangeProof::prove_multiple_with_rng(
        bulletproof_gens(),
        &pedersen_gens(),
        &mut t,
        values,
        &bl,
        n,
        r,
    )
    .unwrap();
    RangeProof::try_from_bytes(&p.to_bytes()).unwrap()
}

fn range_statement(m: u64, s: &Scalar) -> [RangeStatement; 1] {
    // The span [0, 5] gives n = 8 bits.
    [RangeStatement {
        commitment: pedersen_commit(&Scalar::from_u64(m), s),
        lo: 0,
        hi: 5,
    }]
}

#[track_caller]
fn assert_range_invalid(r: Result<(), CryptoError>) {
    assert_eq!(
        r,
        Err(CryptoError::ProofInvalid {
            proof: "range",
            reason: "aggregated bulletproof does not verify"
        })
    );
}

#[test]
fn range_proof_with_the_wrong_bit_size_is_rejected() {
    let mut r = rng(7);
    let s = Scalar::random(&mut r);
    let st = range_statement(3, &s);
    // Control: n = 8 as the manifest implies verifies.
    raw_range_proof(&st, 8, 8, &[3, 2], &[s, -s], &mut r)
        .verify(&mut honest_transcript(), &st, &mut r)
        .unwrap();
    for n_in_transcript in [8, 16] {
        let p16 = raw_range_proof(&st, n_in_transcript, 16, &[3, 2], &[s, -s], &mut r);
        assert_range_invalid(p16.verify(&mut honest_transcript(), &st, &mut r));
    }
}

#[test]
fn range_proof_with_the_wrong_aggregation_size_is_rejected() {
    let mut r = rng(8);
    let (s1, s2) = (Scalar::random(&mut r), Scalar::random(&mut r));
    let two = [range_statement(3, &s1)[0], range_statement(4, &s2)[0]];
    let p = RangeProof::prove(&mut honest_transcript(), &two, &[(3, s1), (4, s2)], &mut r).unwrap();
    p.verify(&mut honest_transcript(), &two, &mut r).unwrap();
    // Verified against one statement, or against three.
    assert_range_invalid(p.verify(&mut honest_transcript(), &two[..1], &mut r));
    let three = [two[0], two[1], two[0]];
    assert_range_invalid(p.verify(&mut honest_transcript(), &three, &mut r));
}

#[test]
fn generators_supplied_by_the_record_header_are_refused_by_v1() {
    let base = vox_verifier::synth::honest(11, 0).unwrap();
    let mut src = base.record.source().unwrap();
    let mut v: Value = serde_json::from_str(&src.header).unwrap();
    v["generators"] = json!({"H": Point::generator().to_hex()});
    src.header = v.to_string();
    let report = verify_record(&src, Options::default(), &mut NoProgress).unwrap();
    assert_eq!(report.status(StepId::Record), Status::Fail);
    assert_eq!(report.status(StepId::Ballots), Status::NotChecked);
    assert_eq!(report.verdict(), Verdict::Fail);
}

// =====================================================================================
// Ballots
// =====================================================================================

#[test]
fn ballot_copied_verbatim_under_another_credential_is_rejected() {
    let e = election("r", 10);
    let mut b = e.ballot(0, 11);
    b.credential = Some(e.creds[1].public_key());
    e.resign(&mut b, &e.creds[1]);
    assert_proof_field(e.validate(&b), "answers/0/selection_proofs/0");
}

#[test]
fn rerandomised_ciphertext_with_the_old_proof_is_rejected() {
    let e = election("r", 12);
    let mut b = e.ballot(0, 13);
    let (zero, _) = Ciphertext::encrypt(&e.key, 0, &mut rng(14));
    let ct = &mut b.answers[0].ciphertexts[0];
    *ct = Ciphertext::sum(&[*ct, zero]);
    e.resign(&mut b, &e.creds[0]);
    assert_proof_field(e.validate(&b), "answers/0/selection_proofs/0");
}

#[test]
fn ballot_from_another_referendum_is_rejected() {
    let e = election("r", 15);
    let mut other = election("r", 15);
    other.manifest.title = "Another referendum, same id".into();
    assert_ne!(e.manifest.canonical_hash(), other.manifest.canonical_hash());
    let b = other.ballot(0, 16);
    assert_eq!(
        e.validate(&b),
        Err(ProtocolError::WrongScope {
            what: "ballot",
            scope: "referendum"
        })
    );
}

#[test]
fn duplicate_ciphertexts_for_two_options_are_rejected() {
    let e = election("r", 17);
    let mut b = e.ballot(0, 18);
    let a = &mut b.answers[1];
    a.ciphertexts[1] = a.ciphertexts[0];
    a.selection_proofs[1] = a.selection_proofs[0];
    e.resign(&mut b, &e.creds[0]);
    // The copied proof is bound to option 0's position in the transcript.
    assert_proof_field(e.validate(&b), "answers/1/selection_proofs/1");
}

// =====================================================================================
// Trustees
// =====================================================================================

#[test]
fn rogue_key_without_a_valid_proof_is_rejected() {
    let c = ceremony(20);
    let mut reveal = c.revealed[1].commitments().clone();
    // A key chosen to cancel the others' (rogue-key attack), with no proof of knowledge.
    let others: Point = c
        .revealed
        .iter()
        .filter(|d| d.dealer() != reveal.dealer)
        .fold(Point::identity(), |acc, d| {
            acc + d.commitments().commitments[0]
        });
    reveal.commitments[0] = Scalar::from_u64(42).mul_base() - others;
    assert_eq!(
        reveal.verify(&c.params, &c.mh),
        Err(CryptoError::Trustee {
            dealer: 2,
            reason: "Schnorr proof of a coefficient does not verify"
        })
    );
}

#[test]
fn share_inconsistent_with_commitments_is_judged_against_the_dealer() {
    let c = ceremony(21);
    let d = &c.revealed[0];
    let complaint = Complaint {
        dealer: d.dealer(),
        recipient: TrusteeIndex::new(2).unwrap(),
    };
    let mut answer = d.answer_complaint(&complaint).unwrap();
    assert!(judge_complaint(d.commitments(), &complaint, Some(&answer)).is_ok());
    answer.share = answer.share + Scalar::ONE;
    assert_eq!(
        d.commitments()
            .verify_share(complaint.recipient, &answer.share),
        Err(CryptoError::Trustee {
            dealer: 1,
            reason: "share fails the commitment check P_i(l)·G = Σ_j l^j·K_ij"
        })
    );
    assert_eq!(
        judge_complaint(d.commitments(), &complaint, Some(&answer)),
        Err(CryptoError::Trustee {
            dealer: 1,
            reason: "disqualified: the publicly revealed share fails the commitment check"
        })
    );
}

#[test]
fn unanswered_complaint_disqualifies_the_dealer() {
    let c = ceremony(22);
    let d = &c.revealed[2];
    let complaint = Complaint {
        dealer: d.dealer(),
        recipient: TrusteeIndex::new(1).unwrap(),
    };
    assert_eq!(
        judge_complaint(d.commitments(), &complaint, None),
        Err(CryptoError::Trustee {
            dealer: 3,
            reason: "disqualified: did not answer a complaint"
        })
    );
}

fn tally_ciphertexts(c: &Ceremony, seed: u64) -> Vec<Ciphertext> {
    let mut r = rng(seed);
    (0..2)
        .map(|m| Ciphertext::encrypt(c.joint.election_key(), m, &mut r).0)
        .collect()
}

#[test]
fn decryption_share_for_the_wrong_ciphertext_is_rejected() {
    let c = ceremony(23);
    let cts = tally_ciphertexts(&c, 24);
    let other = tally_ciphertexts(&c, 25);
    let share = DecryptionShare::create(&c.key_shares[0], &c.mh, &other, &mut OsRng);
    assert_eq!(
        c.joint
            .verify_decryption_shares(&c.mh, &cts, &[share], &mut OsRng),
        Err(CryptoError::InvalidDecryptionShare {
            trustee: 1,
            position: 0,
            reason: "DLEQ proof log_G X_l = log_A D does not verify"
        })
    );
}

#[test]
fn fewer_than_k_decryption_shares_are_refused() {
    let c = ceremony(26);
    let cts = tally_ciphertexts(&c, 27);
    let share = DecryptionShare::create(&c.key_shares[1], &c.mh, &cts, &mut OsRng);
    assert_eq!(
        c.joint
            .verify_and_combine(&c.mh, &cts, &[share], &mut OsRng),
        Err(CryptoError::TooFewShares { got: 1, needed: 2 })
    );
}

#[test]
fn duplicate_trustee_index_is_refused() {
    let c = ceremony(28);
    let cts = tally_ciphertexts(&c, 29);
    let share = DecryptionShare::create(&c.key_shares[0], &c.mh, &cts, &mut OsRng);
    let shares = [share.clone(), share];
    assert_eq!(
        c.joint.verify_and_combine(&c.mh, &cts, &shares, &mut OsRng),
        Err(CryptoError::DuplicateTrustee { trustee: 1 })
    );
    assert_eq!(
        vox_crypto::threshold::combine(&c.params, &cts, &shares),
        Err(CryptoError::DuplicateTrustee { trustee: 1 })
    );
}

// =====================================================================================
// Logs
// =====================================================================================

fn leaves(n: u64) -> Vec<NodeHash> {
    (0..n).map(|i| leaf_hash(&i.to_le_bytes())).collect()
}

fn signed(key: &SigningKey, leaves: &[NodeHash]) -> SignedTreeHead {
    SignedTreeHead::sign(
        TreeHead {
            tree_size: leaves.len() as u64,
            root_hash: root_from_leaf_hashes(leaves),
            timestamp_ms: 1_000,
        },
        "adversarial.vox.example/log",
        key,
    )
    .unwrap()
}

#[test]
fn equivocating_tree_heads_are_detected() {
    let key = SigningKey::from_bytes(&[9u8; 32]);
    let board = BoardPublicKey(key.verifying_key());
    let honest = leaves(5);
    let mut tree = CompactTree::new();
    for l in &honest {
        tree.push(*l);
    }
    let state = MonitorState::bootstrap(board, &signed(&key, &honest), tree).unwrap();
    let mut fork = honest.clone();
    fork[4] = leaf_hash(b"another entry");
    let r = state.check_head(&signed(&key, &fork), &[]);
    assert!(
        matches!(r, Err(VerifyError::Equivocation { tree_size: 5, .. })),
        "{r:?}"
    );
}

struct Incl {
    leaves: Vec<NodeHash>,
    proof: Vec<NodeHash>,
    root: NodeHash,
}

fn inclusion(n: u64, index: u64) -> Incl {
    let leaves = leaves(n);
    let proof = inclusion_proof(&leaves, index).unwrap();
    let root = root_from_leaf_hashes(&leaves);
    verify_inclusion(&leaves[index as usize], index, n, &proof, &root).unwrap();
    Incl {
        leaves,
        proof,
        root,
    }
}

#[test]
fn inclusion_proof_with_a_wrong_index_is_rejected() {
    let i = inclusion(8, 3);
    assert_eq!(
        verify_inclusion(&i.leaves[3], 2, 8, &i.proof, &i.root),
        Err(MerkleError::RootMismatch)
    );
    assert_eq!(
        verify_inclusion(&i.leaves[3], 8, 8, &i.proof, &i.root),
        Err(MerkleError::IndexOutOfRange { index: 8, size: 8 })
    );
}

#[test]
fn inclusion_proof_with_a_wrong_size_is_rejected() {
    let i = inclusion(8, 3);
    assert_eq!(
        verify_inclusion(&i.leaves[3], 3, 9, &i.proof, &i.root),
        Err(MerkleError::ProofLength {
            expected: 4,
            got: 3
        })
    );
    assert_eq!(
        verify_inclusion(&i.leaves[3], 3, 16, &i.proof, &i.root),
        Err(MerkleError::ProofLength {
            expected: 4,
            got: 3
        })
    );
}

#[test]
fn truncated_inclusion_proof_is_rejected() {
    let i = inclusion(8, 3);
    assert_eq!(
        verify_inclusion(&i.leaves[3], 3, 8, &i.proof[..2], &i.root),
        Err(MerkleError::ProofLength {
            expected: 3,
            got: 2
        })
    );
}

#[test]
fn inclusion_proof_with_an_extra_node_is_rejected() {
    let i = inclusion(8, 3);
    let mut proof = i.proof.clone();
    proof.push(i.leaves[0]);
    assert_eq!(
        verify_inclusion(&i.leaves[3], 3, 8, &proof, &i.root),
        Err(MerkleError::ProofLength {
            expected: 3,
            got: 4
        })
    );
}

#[test]
fn consistency_proof_with_swapped_roots_is_rejected() {
    let l = leaves(11);
    let proof = consistency_proof(&l, 6).unwrap();
    let (old, new) = (root_from_leaf_hashes(&l[..6]), root_from_leaf_hashes(&l));
    verify_consistency(6, 11, &old, &new, &proof).unwrap();
    assert_eq!(
        verify_consistency(6, 11, &new, &old, &proof),
        Err(MerkleError::OldRootMismatch)
    );
    assert_eq!(
        verify_consistency(11, 6, &new, &old, &proof),
        Err(MerkleError::SizeMismatch {
            old_size: 11,
            new_size: 6
        })
    );
}

#[test]
fn truncated_consistency_proof_is_rejected() {
    let l = leaves(11);
    let proof = consistency_proof(&l, 6).unwrap();
    let (old, new) = (root_from_leaf_hashes(&l[..6]), root_from_leaf_hashes(&l));
    assert_eq!(proof.len(), 4);
    assert_eq!(
        verify_consistency(6, 11, &old, &new, &proof[..3]),
        Err(MerkleError::ProofLength {
            expected: 4,
            got: 3
        })
    );
}

#[test]
fn receipt_with_a_forged_signature_is_rejected() {
    let board_key = SigningKey::from_bytes(&[1u8; 32]);
    let forger = SigningKey::from_bytes(&[2u8; 32]);
    let board = BoardPublicKey(board_key.verifying_key());
    let l = leaves(4);
    let ballot_hash = Hash32::sha256(&[b"a ballot"]);
    let receipt = Receipt {
        referendum_id: "r".into(),
        tracking_code: human_code(&ballot_hash),
        ballot_hash,
        leaf_index: 2,
        entry_timestamp_ms: 1_000,
        leaf_hash: l[2],
        tree_head: signed(&board_key, &l),
        inclusion_proof: inclusion_proof(&l, 2).unwrap(),
        signature: vox_protocol::board::unsigned(),
    };
    receipt.clone().sign(&board_key).verify(&board).unwrap();
    assert_eq!(
        receipt.clone().sign(&forger).verify(&board),
        Err(ProtocolError::Signature("receipt"))
    );
    assert_eq!(
        receipt.verify(&board),
        Err(ProtocolError::Signature("receipt"))
    );
}

// =====================================================================================
// HTTP against a real server on loopback
// =====================================================================================

/// A server of the shared test kit (`vox-testkit`) on its own SQLite database.
struct Server {
    h: Harness,
    _db: TestDb,
}

impl Server {
    fn client(&self) -> &Client {
        &self.h.client
    }
}

fn start(tune: impl FnOnce(&mut ServerConfig)) -> Server {
    let db = sqlite_db();
    let mut cfg = config(&db.url);
    tune(&mut cfg);
    Server {
        h: Harness::start(cfg),
        _db: db,
    }
}

/// An open referendum "r" (one yes/no question, 3 trustees, k = 2) on a fresh server.
struct Open {
    srv: Server,
    manifest: Manifest,
    key: ElectionPublicKey,
    creds: Vec<Credential>,
}

const BALLOTS: &str = "/api/v1/referendums/r/ballots";

fn open(tune: impl FnOnce(&mut ServerConfig)) -> Open {
    let srv = start(tune);
    let c = srv.client();
    let creds: Vec<Credential> = (0..4).map(|_| Credential::generate(&mut OsRng)).collect();
    let electorate = Electorate {
        id: "e".into(),
        name: "Electorate e".into(),
        entries: creds
            .iter()
            .map(|k| ElectorateEntry {
                credential: k.public_key(),
                region: None,
            })
            .collect(),
    };
    c.act(Payload::ElectorateRegistered {
        electorate: electorate.clone(),
        act: ActSignature::unsigned(),
    })
    .expect(201);
    let trustees = Trustees::new(3);
    let mut m = in_memory_manifest("r", electorate.canonical_hash(), &trustees.keys);
    m.questions.truncate(1);
    let now = vox_server::now_ms();
    m.opens_at = now;
    m.closes_at = now + 3_600_000;
    let (_, key) = open_referendum(c, &m, &trustees);
    Open {
        srv,
        manifest: m,
        key,
        creds,
    }
}

impl Open {
    fn c(&self) -> &Client {
        self.srv.client()
    }
    /// A first ballot of `voter`.
    fn ballot(&self, voter: usize) -> Ballot {
        self.ballot_after(voter, None)
    }
    /// A ballot of `voter` extending their ballot `previous`.
    fn ballot_after(&self, voter: usize, previous: Option<Hash32>) -> Ballot {
        let ctx = BallotContext::new(&self.manifest, self.key);
        encrypt_ballot(
            &ctx,
            &self.creds[voter],
            &vec![vec![1, 0]],
            previous,
            &mut OsRng,
        )
        .unwrap()
        .0
    }
}

/// Run `f`, check it answered `status` with problem `slug` (RFC 9457) and that the
/// board did not change. Returns the problem document.
#[track_caller]
fn refused(c: &Client, status: u16, slug: &str, f: impl FnOnce() -> Resp) -> Value {
    let before = c.size();
    let r = f();
    assert_eq!(r.status, status, "expected {status}: {}", r.body);
    assert_eq!(
        r.content_type.as_deref(),
        Some("application/problem+json"),
        "{}",
        r.body
    );
    let p = r.json();
    assert_eq!(p["status"], status);
    assert_eq!(
        p["type"].as_str().unwrap(),
        format!("https://vox.invalid/problems/{slug}"),
        "{p}"
    );
    assert_eq!(c.size(), before, "a refused request changed the board");
    p
}

#[test]
fn http_oversized_body_is_413() {
    let o = open(|cfg| cfg.max_body_bytes = 64 * 1024);
    let big = "x".repeat(100 * 1024);
    refused(o.c(), 413, "body-too-large", || {
        o.c().request("POST", BALLOTS, Some(&big), &[])
    });
}

#[test]
fn http_deeply_nested_json_is_400_without_crash() {
    let o = open(|_| {});
    let nested = "[".repeat(100_000);
    refused(o.c(), 400, "malformed-request", || {
        o.c().request("POST", BALLOTS, Some(&nested), &[])
    });
    // Still serving.
    o.c().get("/api/v1/referendums/r").expect(200);
    o.c().post(BALLOTS, &o.ballot(0)).expect(201);
}

#[test]
fn http_non_canonical_point_in_a_ballot_is_400() {
    let o = open(|_| {});
    let mut v = serde_json::to_value(o.ballot(0)).unwrap();
    v["answers"][0]["ciphertexts"][0]["a"] =
        json!("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f");
    let p = refused(o.c(), 400, "malformed-request", || o.c().post(BALLOTS, &v));
    assert_eq!(p["field"], "answers/0/ciphertexts/0/a", "{p}");
}

#[test]
fn http_ballot_with_a_bad_proof_is_422() {
    let o = open(|_| {});
    let mut v = serde_json::to_value(o.ballot(0)).unwrap();
    let proof = &mut v["answers"][0]["selection_proofs"][0];
    let (z0, z1) = (proof["z0"].clone(), proof["z1"].clone());
    proof["z0"] = z1;
    proof["z1"] = z0;
    let p = refused(o.c(), 422, "invalid", || o.c().post(BALLOTS, &v));
    assert_eq!(p["field"], "answers/0/selection_proofs/0", "{p}");
}

#[test]
fn http_ballot_for_an_unknown_referendum_is_404() {
    let o = open(|_| {});
    let b = o.ballot(0);
    refused(o.c(), 404, "not-found", || {
        o.c().post("/api/v1/referendums/nope/ballots", &b)
    });
}

#[test]
fn http_cast_after_close_is_409() {
    let o = open(|_| {});
    let b = o.ballot(0);
    // Nothing closes a referendum before its closes_at (no early close): 409.
    let c = o.c();
    refused(c, 409, "too-early", || c.post_empty(CLOSE));
    // At closes_at (the server's clock moved there) the board closes and tallies it.
    vox_testkit::close_and_tally(c, &o.manifest);
    refused(c, 409, "wrong-state", || c.post(BALLOTS, &b));
}

/// The board closes a referendum by itself at closes_at; this only nudges it (no body,
/// no key).
const CLOSE: &str = "/api/v1/referendums/r/close";

/// The election authority's act these tests forge, replay and misdirect.
const PANEL: &str = "/api/v1/panel";

/// A `trustee-panel-set` act (unsigned) of three fresh trustees, any `k` decrypt.
fn panel(k: u32) -> Payload {
    let trustees = Trustees::new(3);
    Payload::TrusteePanelSet {
        panel: vox_protocol::manifest::TrusteePanel {
            trustees: TrusteeInfo::numbered(&trustees.keys),
            threshold: k,
            answer_due_ms: vox_protocol::manifest::DAY_MS,
            decryption_due_ms: 2 * vox_protocol::manifest::DAY_MS,
        },
        act: ActSignature::unsigned(),
    }
}

#[test]
fn http_act_signed_by_another_role_is_403() {
    let o = open(|_| {});
    let c = o.c();
    let log_id = roles().log_id();
    let now = issued_at();
    // The registrar, the petitions office and the operator cannot set the trustee panel.
    for key in [
        &roles().registrar,
        &roles().petitions_office,
        &roles().operator,
    ] {
        let forged = panel(2).signed_act(&log_id, now, key).unwrap();
        let p = refused(c, 403, "forbidden", || c.post(PANEL, &forged));
        assert_eq!(p["field"], "act/signature", "{p}");
        assert!(
            p["detail"].as_str().unwrap().contains("election authority"),
            "{p}"
        );
    }
    // Unsigned, or signed for another log by the right key: refused the same way.
    let unsigned = serde_json::to_value(panel(2)).unwrap();
    refused(c, 403, "forbidden", || c.post(PANEL, &unsigned));
    let other_log = Hash32::sha256(&[b"another log"]);
    let elsewhere = panel(2)
        .signed_act(&other_log, now, &roles().election_authority)
        .unwrap();
    refused(c, 403, "forbidden", || c.post(PANEL, &elsewhere));
    // The old bearer token means nothing: no header authorizes anything.
    refused(c, 400, "malformed-request", || {
        c.request("POST", PANEL, Some(""), &[("Authorization", "Bearer 0000")])
    });
    assert_eq!(c.get("/api/v1/panel").status, 404);
    assert_eq!(c.get("/api/v1/referendums/r").json()["state"], "open");
}

#[test]
fn http_act_altered_after_signing_is_403() {
    let o = open(|_| {});
    let c = o.c();
    let electorate = Electorate {
        id: "e2".into(),
        name: "Second".into(),
        entries: vec![ElectorateEntry {
            credential: Credential::generate(&mut OsRng).public_key(),
            region: None,
        }],
    };
    let signed = sign_act(Payload::ElectorateRegistered {
        electorate,
        act: ActSignature::unsigned(),
    });
    let mut v = serde_json::to_value(&signed).unwrap();
    v["electorate"]["name"] = json!("Renamed by the operator");
    let p = refused(c, 403, "forbidden", || c.post("/api/v1/electorates", &v));
    assert!(p["detail"].as_str().unwrap().contains("registrar"), "{p}");
    let mut v = serde_json::to_value(&signed).unwrap();
    v["act"]["issued_at_ms"] = json!(v["act"]["issued_at_ms"].as_i64().unwrap() + 1);
    refused(c, 403, "forbidden", || c.post("/api/v1/electorates", &v));
    c.post("/api/v1/electorates", &signed).expect(201);
}

#[test]
fn http_replayed_act_is_409() {
    let o = open(|_| {});
    let c = o.c();
    let set = sign_act(panel(2));
    c.post(PANEL, &set).expect(201);
    let p = refused(c, 409, "already-exists", || c.post(PANEL, &set));
    assert_eq!(p["field"], "act", "{p}");
}

#[test]
fn http_act_of_the_wrong_type_or_id_is_422() {
    let o = open(|_| {});
    let c = o.c();
    // A signed referendum creation posted to the panel endpoint.
    let created = sign_act(Payload::ReferendumCreated {
        manifest: o.manifest.clone(),
        act: ActSignature::unsigned(),
    });
    let p = refused(c, 422, "invalid", || c.post(PANEL, &created));
    assert_eq!(p["field"], "type", "{p}");
    // A panel that breaks the trustee rules (k > n).
    let p = refused(c, 422, "invalid", || c.post(PANEL, &sign_act(panel(4))));
    assert_eq!(p["field"], "panel/threshold", "{p}");
    assert_eq!(c.get("/api/v1/referendums/r").json()["state"], "open");
}

#[test]
fn http_role_key_rotation_retires_the_old_key() {
    use ed25519_dalek::Signer;
    use vox_protocol::board::Sig;
    use vox_protocol::roles::possession_message;
    let o = open(|_| {});
    let c = o.c();
    let log_id = roles().log_id();
    let new_key = SigningKey::generate(&mut OsRng);
    let rotation = |role: Role, new: &SigningKey| {
        let public = BoardPublicKey(new.verifying_key());
        Payload::RoleKeyRotated {
            role,
            new_key: public,
            possession: Sig(new.sign(&possession_message(&log_id, role, &public))),
            act: ActSignature::unsigned(),
        }
    };
    // Without proof of possession of the new key: refused.
    let mut bad = rotation(Role::ElectionAuthority, &new_key);
    if let Payload::RoleKeyRotated { possession, .. } = &mut bad {
        *possession = Sig(new_key.sign(b"something else"));
    }
    let p = refused(c, 422, "invalid", || {
        c.act_at("/api/v1/roles/rotations", bad.clone())
    });
    assert_eq!(p["field"], "possession", "{p}");
    // The operator key cannot be rotated within a log.
    let op = rotation(Role::Operator, &SigningKey::generate(&mut OsRng))
        .signed_act(&log_id, issued_at(), &roles().operator)
        .unwrap();
    refused(c, 422, "invalid", || c.post("/api/v1/roles/rotations", &op));
    // Signed by another role's key: 403.
    let forged = rotation(Role::ElectionAuthority, &new_key)
        .signed_act(&log_id, issued_at(), &roles().registrar)
        .unwrap();
    refused(c, 403, "forbidden", || {
        c.post("/api/v1/roles/rotations", &forged)
    });
    // Rotated: the old key's acts are refused, the new key's accepted.
    let r = c
        .act_at(
            "/api/v1/roles/rotations",
            rotation(Role::ElectionAuthority, &new_key),
        )
        .expect(201)
        .json();
    assert_eq!(
        r["roles"]["election_authority"],
        hex::encode(new_key.verifying_key().as_bytes()),
        "{r}"
    );
    let old = sign_act(panel(2));
    refused(c, 403, "forbidden", || c.post(PANEL, &old));
    let new = panel(2).signed_act(&log_id, issued_at(), &new_key).unwrap();
    c.post(PANEL, &new).expect(201);
}

#[test]
fn http_idempotency_key_reuse_with_another_body_is_409() {
    let o = open(|_| {});
    let k = [("Idempotency-Key", "ballot-1")];
    let first = serde_json::to_string(&o.ballot(0)).unwrap();
    o.c().request("POST", BALLOTS, Some(&first), &k).expect(201);
    let other = serde_json::to_string(&o.ballot(1)).unwrap();
    let p = refused(o.c(), 409, "idempotency-key-reused", || {
        o.c().request("POST", BALLOTS, Some(&other), &k)
    });
    assert_eq!(p["field"], "Idempotency-Key", "{p}");
}

/// Issue 18 item 2: a coercer (or the server) holds ballot A, signed by the voter's device
/// but never cast; the voter casts B. A can no longer be posted: it does not extend B.
#[test]
fn http_withheld_ballot_posted_after_a_later_one_is_409() {
    let o = open(|_| {});
    let c = o.c();
    let withheld = o.ballot(0);
    let later = o.ballot(0);
    c.post(BALLOTS, &later).expect(201);
    let before = c.size();
    let p = refused(c, 409, "ballot-not-latest", || c.post(BALLOTS, &withheld));
    assert_eq!(p["field"], "previous", "{p}");
    assert_eq!(c.size(), before);
    // A re-vote that names the latest ballot is accepted, and supersedes it.
    let revote = o.ballot_after(0, Some(later.hash()));
    c.post(BALLOTS, &revote).expect(201);
    let st = c
        .get(&format!("{BALLOTS}/{}", later.hash().to_hex()))
        .json();
    assert_eq!(st["status"], "superseded");
    assert_eq!(st["superseded_by"]["ballot_hash"], revote.hash().to_hex());
}

#[test]
fn http_flood_from_one_credential_is_429_while_another_is_served() {
    let o = open(|cfg| {
        cfg.rate_limit_per_credential = Some(vox_server::RateLimit {
            burst: 2,
            per_second: 0.01,
        });
    });
    let c = o.c();
    let mut limited = false;
    let mut previous = None;
    for _ in 0..6 {
        let b = o.ballot_after(0, previous);
        let before = c.size();
        let r = c.post(BALLOTS, &b);
        previous = Some(b.hash());
        if r.status == 429 {
            assert_eq!(
                r.json()["type"],
                "https://vox.invalid/problems/rate-limited"
            );
            assert_eq!(c.size(), before, "a throttled ballot changed the board");
            limited = true;
            break;
        }
        r.expect(201);
    }
    assert!(limited, "the per-credential limit never triggered");
    c.post(BALLOTS, &o.ballot(1)).expect(201);
}

/// One HTTP/1.1 request over a fresh connection whose source address is `from` (any
/// 127.x.y.z is loopback on Linux), so one test can play several client addresses.
/// Returns the status code and the body.
fn request_from(o: &Open, from: [u8; 4], method: &str, path: &str, body: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server: std::net::SocketAddr = o.c().base.trim_start_matches("http://").parse().unwrap();
    o.srv.h.rt.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(std::net::SocketAddr::from((from, 0))).unwrap();
        let mut s = socket.connect(server).await.unwrap();
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {server}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        s.write_all(head.as_bytes()).await.unwrap();
        s.write_all(body.as_bytes()).await.unwrap();
        let mut answer = String::new();
        s.read_to_string(&mut answer).await.unwrap();
        let status = answer
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or_else(|| panic!("no status line: {answer}"));
        let body = answer
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default();
        (status, body)
    })
}

#[test]
fn http_flood_from_one_address_is_429_while_other_addresses_are_served() {
    // Loopback is not exempt here: 127.0.0.2 floods, 127.0.0.3 is an honest voter.
    let o = open(|cfg| {
        cfg.rate_limit_exempt_loopback = false;
        cfg.rate_limit_per_address = Some(vox_server::RateLimit {
            burst: 40,
            per_second: 0.5,
        });
    });
    let (flooder, honest) = ([127, 0, 0, 2], [127, 0, 0, 3]);
    let mut served = 0;
    let mut limited = 0;
    for _ in 0..80 {
        match request_from(&o, flooder, "GET", "/api/v1/board", "").0 {
            200 => served += 1,
            429 => limited += 1,
            s => panic!("flood request answered {s}"),
        }
    }
    assert!(served <= 42, "the flooder was served {served} times");
    assert!(
        limited >= 38,
        "only {limited} flood requests were throttled"
    );

    // A ballot from the flooding address is refused with a typed problem and changes
    // nothing; the same kind of ballot from another address is accepted.
    let size = |o: &Open| -> u64 {
        let (s, b) = request_from(o, honest, "GET", "/api/v1/board", "");
        assert_eq!(s, 200, "{b}");
        serde_json::from_str::<Value>(&b).unwrap()["tree_size"]
            .as_u64()
            .unwrap()
    };
    let before = size(&o);
    let ballot = serde_json::to_string(&o.ballot(0)).unwrap();
    let (s, b) = request_from(&o, flooder, "POST", BALLOTS, &ballot);
    assert_eq!(s, 429, "{b}");
    let p: Value = serde_json::from_str(&b).unwrap();
    assert_eq!(p["type"], "https://vox.invalid/problems/rate-limited");
    assert_eq!(size(&o), before, "a throttled ballot changed the board");
    for voter in 1..4 {
        let ballot = serde_json::to_string(&o.ballot(voter)).unwrap();
        let (s, b) = request_from(&o, honest, "POST", BALLOTS, &ballot);
        assert_eq!(
            s, 201,
            "an honest voter was not served during the flood: {b}"
        );
    }
    assert_eq!(size(&o), before + 3);
}
