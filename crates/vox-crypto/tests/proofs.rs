//! Completeness and soundness of every proof in vox-crypto (protocol-spec/03-proofs.md).
//!
//! Each proof is made once honestly and must verify. Then every "tweak" — any one
//! statement element, any one commitment, any challenge share, any response, or the
//! transcript context (manifest hash, purpose, credential public key) — must make it fail.
//! Regression tests build the classic forgeries by hand: weak Fiat–Shamir (a challenge
//! over the commitments only), a 0/1 proof for an encryption of 2, a ballot proof copied
//! under another credential, and range proofs for values out of range.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use vox_crypto::batch::{Base, Equations, SingleVerifier};
use vox_crypto::credential::{Credential, CredentialPublicKey, CredentialSignature};
use vox_crypto::dlog::DlogTable;
use vox_crypto::elgamal::{Ciphertext, ElectionPublicKey, SecretScalar};
use vox_crypto::error::Result;
use vox_crypto::generators::{bulletproof_gens, pedersen_gens, pedersen_h};
use vox_crypto::proofs::link::pedersen_commit;
use vox_crypto::proofs::{
    ConstantProof, DleqProof, LinkProof, RangeProof, RangeStatement, SchnorrProof, ZeroOneProof,
};
use vox_crypto::transcript::{labels, new_transcript, TranscriptProtocol};
use vox_crypto::{CryptoError, Hash32, Point, Scalar, Transcript};

// ---------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------

const PURPOSE: &[u8] = b"ballot";
const CREDENTIAL_LABEL: &[u8] = b"credential-public-key";

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

fn manifest() -> Hash32 {
    Hash32::sha256(&[b"vox test manifest"])
}

fn credential_a() -> CredentialPublicKey {
    CredentialPublicKey::new(Scalar::from_u64(1001).mul_base()).unwrap()
}

fn credential_b() -> CredentialPublicKey {
    CredentialPublicKey::new(Scalar::from_u64(1002).mul_base()).unwrap()
}

/// The transcript context a proof is made or checked in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ctx {
    /// The context the honest proofs are made in: ballot purpose, our manifest,
    /// credential A appended.
    Honest,
    /// Another election's manifest hash.
    OtherManifest,
    /// Another purpose label.
    OtherPurpose,
    /// Credential B appended instead of A.
    OtherCredential,
    /// No credential appended.
    NoCredential,
    /// A bare transcript with the protocol label only.
    Bare,
}

const WRONG_CONTEXTS: [Ctx; 5] = [
    Ctx::OtherManifest,
    Ctx::OtherPurpose,
    Ctx::OtherCredential,
    Ctx::NoCredential,
    Ctx::Bare,
];

fn transcript(ctx: Ctx) -> Transcript {
    let m = match ctx {
        Ctx::OtherManifest => Hash32::sha256(&[b"another election"]),
        _ => manifest(),
    };
    let purpose: &'static [u8] = match ctx {
        Ctx::OtherPurpose => b"petition",
        _ => PURPOSE,
    };
    if ctx == Ctx::Bare {
        return Transcript::new(labels::PROTOCOL);
    }
    let mut t = new_transcript(purpose, &m);
    match ctx {
        Ctx::NoCredential => {}
        Ctx::OtherCredential => t.append_bytes(CREDENTIAL_LABEL, &credential_b().to_bytes()),
        _ => t.append_bytes(CREDENTIAL_LABEL, &credential_a().to_bytes()),
    }
    t
}

fn honest() -> Transcript {
    transcript(Ctx::Honest)
}

fn keypair(rng: &mut ChaCha20Rng) -> (SecretScalar, ElectionPublicKey) {
    let x = SecretScalar::random(rng);
    let k = ElectionPublicKey::new(x.public()).unwrap();
    (x, k)
}

fn random_point(rng: &mut ChaCha20Rng) -> Point {
    Scalar::random(rng).mul_base()
}

/// Point tweak: P + δ·G (δ ≠ 0 gives another point).
fn tp(p: &Point, delta: &Scalar) -> Point {
    *p + delta.mul_base()
}

/// A list of named verification results that must all be errors.
type Cases = Vec<(String, Result<()>)>;

fn assert_all_rejected(cases: Cases) {
    assert!(!cases.is_empty());
    for (name, r) in cases {
        assert!(r.is_err(), "tweak `{name}` was accepted");
    }
}

fn context_cases(cases: &mut Cases, verify: impl Fn(&mut Transcript) -> Result<()>) {
    for ctx in WRONG_CONTEXTS {
        cases.push((format!("context {ctx:?}"), verify(&mut transcript(ctx))));
    }
}

fn message_cases(cases: &mut Cases, msg: &[u8], verify: impl Fn(&[u8]) -> Result<()>) {
    for i in 0..msg.len() {
        let mut m = msg.to_vec();
        m[i] ^= 0x01;
        cases.push((format!("message byte {i}"), verify(&m)));
    }
    let mut longer = msg.to_vec();
    longer.push(0);
    cases.push(("message + 0x00".into(), verify(&longer)));
    cases.push((
        "message truncated".into(),
        verify(&msg[..msg.len().saturating_sub(1)]),
    ));
    cases.push(("empty message".into(), verify(b"")));
}

// ---------------------------------------------------------------------------
// Schnorr
// ---------------------------------------------------------------------------

/// Returns the honest result and every tweak's result.
fn schnorr_cases(seed: u64, d: Scalar) -> (Result<()>, Cases) {
    let mut rng = rng(seed);
    let x = Scalar::random(&mut rng);
    let pk = x.mul_base();
    let msg = b"tracking code 0123".to_vec();
    let p = SchnorrProof::prove(&mut honest(), &x, &pk, &msg, &mut rng);
    let ok = p.verify(&mut honest(), &pk, &msg);

    let mut c: Cases = vec![
        (
            "public key".into(),
            p.verify(&mut honest(), &tp(&pk, &d), &msg),
        ),
        (
            "public key random".into(),
            p.verify(&mut honest(), &random_point(&mut rng), &msg),
        ),
        (
            "commitment T".into(),
            SchnorrProof {
                t: tp(&p.t, &d),
                ..p
            }
            .verify(&mut honest(), &pk, &msg),
        ),
        (
            "response z".into(),
            SchnorrProof { z: p.z + d, ..p }.verify(&mut honest(), &pk, &msg),
        ),
        (
            "identity public key".into(),
            p.verify(&mut honest(), &Point::identity(), &msg),
        ),
    ];
    message_cases(&mut c, &msg, |m| p.verify(&mut honest(), &pk, m));
    context_cases(&mut c, |t| p.verify(t, &pk, &msg));
    (ok, c)
}

#[test]
fn schnorr_completeness_and_tweaks() {
    for seed in 0..8 {
        let (ok, cases) = schnorr_cases(seed, Scalar::ONE);
        ok.unwrap();
        assert_all_rejected(cases);
    }
    let mut r = rng(99);
    let x = Scalar::random(&mut r);
    let p = SchnorrProof::prove(&mut honest(), &x, &x.mul_base(), b"m", &mut r);
    assert_eq!(
        p.verify(&mut honest(), &Point::identity(), b"m"),
        Err(CryptoError::IdentityPoint {
            what: "schnorr public key"
        })
    );
}

// ---------------------------------------------------------------------------
// Credential signatures
// ---------------------------------------------------------------------------

fn credential_cases(seed: u64, d: Scalar) -> (Result<()>, Cases) {
    let mut rng = rng(seed);
    let cred = Credential::generate(&mut rng);
    let other = Credential::generate(&mut rng);
    let pk = cred.public_key();
    let msg = b"ballot bytes".to_vec();
    let sig = cred.sign(&mut honest(), &msg, &mut rng);
    let ok = sig.verify(&mut honest(), &pk, &msg);
    let s = sig.0;
    let mut c: Cases = vec![
        (
            "another credential's public key".into(),
            sig.verify(&mut honest(), &other.public_key(), &msg),
        ),
        (
            "public key + δG".into(),
            sig.verify(
                &mut honest(),
                &CredentialPublicKey::new(tp(pk.point(), &d)).unwrap(),
                &msg,
            ),
        ),
        (
            "commitment T".into(),
            CredentialSignature(SchnorrProof {
                t: tp(&s.t, &d),
                ..s
            })
            .verify(&mut honest(), &pk, &msg),
        ),
        (
            "response z".into(),
            CredentialSignature(SchnorrProof { z: s.z + d, ..s }).verify(&mut honest(), &pk, &msg),
        ),
        // Domain separation: a signature is not a bare Schnorr proof, and back.
        (
            "signature as a plain Schnorr proof".into(),
            s.verify(&mut honest(), pk.point(), &msg),
        ),
    ];
    message_cases(&mut c, &msg, |m| sig.verify(&mut honest(), &pk, m));
    context_cases(&mut c, |t| sig.verify(t, &pk, &msg));
    (ok, c)
}

#[test]
fn credential_signature_completeness_and_tweaks() {
    for seed in 0..8 {
        let (ok, cases) = credential_cases(seed, Scalar::ONE);
        ok.unwrap();
        assert_all_rejected(cases);
    }
}

#[test]
fn plain_schnorr_proof_is_not_a_credential_signature() {
    let mut r = rng(5);
    let cred = Credential::from_text("ABCDE-FGHJK-MNPQR-STVWX-YZ012").unwrap();
    // Same credential from lower case / without dashes.
    let same = Credential::from_text("abcdefghjkmnpqrstvwxyz012").unwrap();
    assert_eq!(cred.public_key(), same.public_key());
    assert!(Credential::from_text("ABCDE-FGHJK-MNPQR-STVWX-YZ01I").is_err());
    let sig = cred.sign(&mut honest(), b"m", &mut r);
    sig.verify(&mut honest(), &same.public_key(), b"m").unwrap();
    // A Schnorr proof made without the signature domain separator is refused as a
    // signature, although it proves knowledge of the same kind of key over the same message.
    let x = Scalar::random(&mut r);
    let pk = CredentialPublicKey::new(x.mul_base()).unwrap();
    let plain = SchnorrProof::prove(&mut honest(), &x, pk.point(), b"m", &mut r);
    plain.verify(&mut honest(), pk.point(), b"m").unwrap();
    assert!(CredentialSignature(plain)
        .verify(&mut honest(), &pk, b"m")
        .is_err());
}

// ---------------------------------------------------------------------------
// DLEQ
// ---------------------------------------------------------------------------

fn dleq_cases(seed: u64, d: Scalar) -> (Result<()>, Cases) {
    let mut rng = rng(seed);
    let x = Scalar::random(&mut rng);
    let xp = x.mul_base();
    let y = random_point(&mut rng);
    let dd = x.mul_point(&y);
    let p = DleqProof::prove(&mut honest(), &x, &y, &xp, &dd, &mut rng);
    let ok = p.verify(&mut honest(), &y, &xp, &dd);
    let mut c: Cases = vec![
        (
            "base Y".into(),
            p.verify(&mut honest(), &tp(&y, &d), &xp, &dd),
        ),
        (
            "public X".into(),
            p.verify(&mut honest(), &y, &tp(&xp, &d), &dd),
        ),
        (
            "image D".into(),
            p.verify(&mut honest(), &y, &xp, &tp(&dd, &d)),
        ),
        (
            "X and D swapped".into(),
            p.verify(&mut honest(), &y, &dd, &xp),
        ),
        (
            "base Y = G".into(),
            p.verify(&mut honest(), &Point::generator(), &xp, &dd),
        ),
        (
            "T1".into(),
            DleqProof {
                t1: tp(&p.t1, &d),
                ..p
            }
            .verify(&mut honest(), &y, &xp, &dd),
        ),
        (
            "T2".into(),
            DleqProof {
                t2: tp(&p.t2, &d),
                ..p
            }
            .verify(&mut honest(), &y, &xp, &dd),
        ),
        (
            "T1 and T2 swapped".into(),
            DleqProof {
                t1: p.t2,
                t2: p.t1,
                ..p
            }
            .verify(&mut honest(), &y, &xp, &dd),
        ),
        (
            "z".into(),
            DleqProof { z: p.z + d, ..p }.verify(&mut honest(), &y, &xp, &dd),
        ),
    ];
    context_cases(&mut c, |t| p.verify(t, &y, &xp, &dd));
    (ok, c)
}

#[test]
fn dleq_completeness_and_tweaks() {
    for seed in 0..8 {
        let (ok, cases) = dleq_cases(seed, Scalar::ONE);
        ok.unwrap();
        assert_all_rejected(cases);
    }
}

#[test]
fn dleq_false_statement_is_rejected() {
    // D = x'·Y with x' ≠ x: the prover knows x for X but the statement is false.
    let mut r = rng(11);
    let x = Scalar::random(&mut r);
    let y = random_point(&mut r);
    let bad_d = (x + Scalar::ONE).mul_point(&y);
    let p = DleqProof::prove(&mut honest(), &x, &y, &x.mul_base(), &bad_d, &mut r);
    assert!(matches!(
        p.verify(&mut honest(), &y, &x.mul_base(), &bad_d),
        Err(CryptoError::ProofInvalid { proof: "dleq", .. })
    ));
}

// ---------------------------------------------------------------------------
// Constant (exact selection count on a homomorphic sum)
// ---------------------------------------------------------------------------

/// A 1-of-4 selection: the sum of the four ciphertexts encrypts 1 with nonce Σr.
fn one_of_four(rng: &mut ChaCha20Rng, key: &ElectionPublicKey) -> (Ciphertext, Scalar) {
    let mut cts = Vec::new();
    let mut r_sum = Scalar::ZERO;
    for m in [0u64, 0, 1, 0] {
        let (ct, r) = Ciphertext::encrypt(key, m, rng);
        cts.push(ct);
        r_sum = r_sum + r;
    }
    (Ciphertext::sum(&cts), r_sum)
}

fn constant_cases(seed: u64, d: Scalar) -> (Result<()>, Cases) {
    let mut rng = rng(seed);
    let (_, key) = keypair(&mut rng);
    let (_, key2) = keypair(&mut rng);
    let (ct, r) = one_of_four(&mut rng, &key);
    let p = ConstantProof::prove(&mut honest(), &key, &ct, 1, &r, &mut rng);
    let ok = p.verify(&mut honest(), &key, &ct, 1);
    let q = p.0;
    let key_d = ElectionPublicKey::new(tp(key.point(), &d)).unwrap();
    let mut c: Cases = vec![
        (
            "election key".into(),
            p.verify(&mut honest(), &key_d, &ct, 1),
        ),
        (
            "another election key".into(),
            p.verify(&mut honest(), &key2, &ct, 1),
        ),
        (
            "ciphertext a".into(),
            p.verify(
                &mut honest(),
                &key,
                &Ciphertext {
                    a: tp(&ct.a, &d),
                    ..ct
                },
                1,
            ),
        ),
        (
            "ciphertext b".into(),
            p.verify(
                &mut honest(),
                &key,
                &Ciphertext {
                    b: tp(&ct.b, &d),
                    ..ct
                },
                1,
            ),
        ),
        ("value 0".into(), p.verify(&mut honest(), &key, &ct, 0)),
        ("value 2".into(), p.verify(&mut honest(), &key, &ct, 2)),
        (
            "value 2^32 + 1".into(),
            p.verify(&mut honest(), &key, &ct, (1 << 32) + 1),
        ),
        (
            "T1".into(),
            ConstantProof(DleqProof {
                t1: tp(&q.t1, &d),
                ..q
            })
            .verify(&mut honest(), &key, &ct, 1),
        ),
        (
            "T2".into(),
            ConstantProof(DleqProof {
                t2: tp(&q.t2, &d),
                ..q
            })
            .verify(&mut honest(), &key, &ct, 1),
        ),
        (
            "z".into(),
            ConstantProof(DleqProof { z: q.z + d, ..q }).verify(&mut honest(), &key, &ct, 1),
        ),
    ];
    context_cases(&mut c, |t| p.verify(t, &key, &ct, 1));
    (ok, c)
}

#[test]
fn constant_completeness_and_tweaks() {
    for seed in 0..8 {
        let (ok, cases) = constant_cases(seed, Scalar::ONE);
        ok.unwrap();
        assert_all_rejected(cases);
    }
}

#[test]
fn constant_proof_for_a_wrong_count_is_rejected() {
    // Two options selected in a 1-of-4 question: the prover claims 1 anyway.
    let mut r = rng(12);
    let (_, key) = keypair(&mut r);
    let (a, ra) = Ciphertext::encrypt(&key, 1, &mut r);
    let (b, rb) = Ciphertext::encrypt(&key, 1, &mut r);
    let sum = a.add(&b);
    let p = ConstantProof::prove(&mut honest(), &key, &sum, 1, &(ra + rb), &mut r);
    assert!(p.verify(&mut honest(), &key, &sum, 1).is_err());
    let p2 = ConstantProof::prove(&mut honest(), &key, &sum, 2, &(ra + rb), &mut r);
    p2.verify(&mut honest(), &key, &sum, 2).unwrap();
}

// ---------------------------------------------------------------------------
// Zero-one (CDS)
// ---------------------------------------------------------------------------

fn zero_one_cases(seed: u64, m: u64, d: Scalar) -> (Result<()>, Cases) {
    let mut rng = rng(seed);
    let (_, key) = keypair(&mut rng);
    let (_, key2) = keypair(&mut rng);
    let (ct, r) = Ciphertext::encrypt(&key, m, &mut rng);
    let p = ZeroOneProof::prove(&mut honest(), &key, &ct, m, &r, &mut rng).unwrap();
    let ok = p.verify(&mut honest(), &key, &ct);
    let v = |q: ZeroOneProof| q.verify(&mut honest(), &key, &ct);
    let key_d = ElectionPublicKey::new(tp(key.point(), &d)).unwrap();
    let mut c: Cases = vec![
        ("election key".into(), p.verify(&mut honest(), &key_d, &ct)),
        (
            "another election key".into(),
            p.verify(&mut honest(), &key2, &ct),
        ),
        (
            "ciphertext a".into(),
            p.verify(
                &mut honest(),
                &key,
                &Ciphertext {
                    a: tp(&ct.a, &d),
                    ..ct
                },
            ),
        ),
        (
            "ciphertext b".into(),
            p.verify(
                &mut honest(),
                &key,
                &Ciphertext {
                    b: tp(&ct.b, &d),
                    ..ct
                },
            ),
        ),
        (
            "ciphertext b ± G (the other bit)".into(),
            p.verify(
                &mut honest(),
                &key,
                &Ciphertext {
                    b: if m == 0 {
                        ct.b + Point::generator()
                    } else {
                        ct.b - Point::generator()
                    },
                    ..ct
                },
            ),
        ),
        (
            "T0a".into(),
            v(ZeroOneProof {
                t0a: tp(&p.t0a, &d),
                ..p
            }),
        ),
        (
            "T0b".into(),
            v(ZeroOneProof {
                t0b: tp(&p.t0b, &d),
                ..p
            }),
        ),
        (
            "T1a".into(),
            v(ZeroOneProof {
                t1a: tp(&p.t1a, &d),
                ..p
            }),
        ),
        (
            "T1b".into(),
            v(ZeroOneProof {
                t1b: tp(&p.t1b, &d),
                ..p
            }),
        ),
        ("c0".into(), v(ZeroOneProof { c0: p.c0 + d, ..p })),
        ("c1".into(), v(ZeroOneProof { c1: p.c1 + d, ..p })),
        (
            "c0 + δ, c1 − δ (sum kept)".into(),
            v(ZeroOneProof {
                c0: p.c0 + d,
                c1: p.c1 - d,
                ..p
            }),
        ),
        ("z0".into(), v(ZeroOneProof { z0: p.z0 + d, ..p })),
        ("z1".into(), v(ZeroOneProof { z1: p.z1 + d, ..p })),
        (
            "branches swapped".into(),
            v(ZeroOneProof {
                t0a: p.t1a,
                t0b: p.t1b,
                t1a: p.t0a,
                t1b: p.t0b,
                c0: p.c1,
                c1: p.c0,
                z0: p.z1,
                z1: p.z0,
            }),
        ),
    ];
    context_cases(&mut c, |t| p.verify(t, &key, &ct));
    (ok, c)
}

#[test]
fn zero_one_completeness_and_tweaks() {
    for seed in 0..8 {
        for m in [0, 1] {
            let (ok, cases) = zero_one_cases(seed, m, Scalar::ONE);
            ok.unwrap();
            assert_all_rejected(cases);
        }
    }
}

#[test]
fn zero_one_rejects_identity_a() {
    let mut r = rng(13);
    let (_, key) = keypair(&mut r);
    let (ct, nonce) = Ciphertext::encrypt(&key, 1, &mut r);
    let p = ZeroOneProof::prove(&mut honest(), &key, &ct, 1, &nonce, &mut r).unwrap();
    let bad = Ciphertext {
        a: Point::identity(),
        b: Point::generator(),
    };
    assert_eq!(
        p.verify(&mut honest(), &key, &bad),
        Err(CryptoError::IdentityPoint {
            what: "ciphertext a"
        })
    );
}

// ---------------------------------------------------------------------------
// Link (ciphertext and Pedersen commitment hold the same m)
// ---------------------------------------------------------------------------

fn link_cases(seed: u64, d: Scalar) -> (Result<()>, Cases) {
    let mut rng = rng(seed);
    let (_, key) = keypair(&mut rng);
    let (_, key2) = keypair(&mut rng);
    let m = 7u64;
    let (ct, r) = Ciphertext::encrypt(&key, m, &mut rng);
    let s = Scalar::random(&mut rng);
    let cm = pedersen_commit(&Scalar::from_u64(m), &s);
    let p = LinkProof::prove(&mut honest(), &key, &ct, &cm, m, &r, &s, &mut rng);
    let ok = p.verify(&mut honest(), &key, &ct, &cm);
    let v = |q: LinkProof| q.verify(&mut honest(), &key, &ct, &cm);
    let key_d = ElectionPublicKey::new(tp(key.point(), &d)).unwrap();
    let mut c: Cases = vec![
        (
            "election key".into(),
            p.verify(&mut honest(), &key_d, &ct, &cm),
        ),
        (
            "another election key".into(),
            p.verify(&mut honest(), &key2, &ct, &cm),
        ),
        (
            "ciphertext a".into(),
            p.verify(
                &mut honest(),
                &key,
                &Ciphertext {
                    a: tp(&ct.a, &d),
                    ..ct
                },
                &cm,
            ),
        ),
        (
            "ciphertext b".into(),
            p.verify(
                &mut honest(),
                &key,
                &Ciphertext {
                    b: tp(&ct.b, &d),
                    ..ct
                },
                &cm,
            ),
        ),
        (
            "commitment C".into(),
            p.verify(&mut honest(), &key, &ct, &tp(&cm, &d)),
        ),
        (
            "commitment C + H".into(),
            p.verify(&mut honest(), &key, &ct, &(cm + *pedersen_h())),
        ),
        (
            "identity commitment".into(),
            p.verify(&mut honest(), &key, &ct, &Point::identity()),
        ),
        (
            "T_a".into(),
            v(LinkProof {
                ta: tp(&p.ta, &d),
                ..p
            }),
        ),
        (
            "T_b".into(),
            v(LinkProof {
                tb: tp(&p.tb, &d),
                ..p
            }),
        ),
        (
            "T_C".into(),
            v(LinkProof {
                tc: tp(&p.tc, &d),
                ..p
            }),
        ),
        ("z_m".into(), v(LinkProof { zm: p.zm + d, ..p })),
        ("z_r".into(), v(LinkProof { zr: p.zr + d, ..p })),
        ("z_s".into(), v(LinkProof { zs: p.zs + d, ..p })),
    ];
    context_cases(&mut c, |t| p.verify(t, &key, &ct, &cm));
    (ok, c)
}

#[test]
fn link_completeness_and_tweaks() {
    for seed in 0..8 {
        let (ok, cases) = link_cases(seed, Scalar::ONE);
        ok.unwrap();
        assert_all_rejected(cases);
    }
}

#[test]
fn link_proof_for_different_values_is_rejected() {
    // The ciphertext holds 1, the commitment 2: no honest proof exists.
    let mut r = rng(14);
    let (_, key) = keypair(&mut r);
    let (ct, nonce) = Ciphertext::encrypt(&key, 1, &mut r);
    let s = Scalar::random(&mut r);
    let cm = pedersen_commit(&Scalar::from_u64(2), &s);
    for claimed in [1u64, 2] {
        let p = LinkProof::prove(&mut honest(), &key, &ct, &cm, claimed, &nonce, &s, &mut r);
        assert!(p.verify(&mut honest(), &key, &ct, &cm).is_err());
    }
}

// ---------------------------------------------------------------------------
// Tweak proptests: random seeds and random nonzero deltas for every proof
// ---------------------------------------------------------------------------

fn nonzero_scalar() -> impl Strategy<Value = Scalar> {
    any::<u64>().prop_map(|s| {
        let mut r = rng(s);
        loop {
            let x = Scalar::random(&mut r);
            if x != Scalar::ZERO {
                return x;
            }
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn prop_schnorr_tweaks(seed in any::<u64>(), d in nonzero_scalar()) {
        let (ok, cases) = schnorr_cases(seed, d);
        prop_assert!(ok.is_ok());
        assert_all_rejected(cases);
    }

    #[test]
    fn prop_credential_tweaks(seed in any::<u64>(), d in nonzero_scalar()) {
        let (ok, cases) = credential_cases(seed, d);
        prop_assert!(ok.is_ok());
        assert_all_rejected(cases);
    }

    #[test]
    fn prop_dleq_tweaks(seed in any::<u64>(), d in nonzero_scalar()) {
        let (ok, cases) = dleq_cases(seed, d);
        prop_assert!(ok.is_ok());
        assert_all_rejected(cases);
    }

    #[test]
    fn prop_constant_tweaks(seed in any::<u64>(), d in nonzero_scalar()) {
        let (ok, cases) = constant_cases(seed, d);
        prop_assert!(ok.is_ok());
        assert_all_rejected(cases);
    }

    #[test]
    fn prop_zero_one_tweaks(seed in any::<u64>(), m in 0u64..=1, d in nonzero_scalar()) {
        let (ok, cases) = zero_one_cases(seed, m, d);
        prop_assert!(ok.is_ok());
        assert_all_rejected(cases);
    }

    #[test]
    fn prop_link_tweaks(seed in any::<u64>(), d in nonzero_scalar()) {
        let (ok, cases) = link_cases(seed, d);
        prop_assert!(ok.is_ok());
        assert_all_rejected(cases);
    }
}

// ---------------------------------------------------------------------------
// Weak Fiat–Shamir regressions
// ---------------------------------------------------------------------------

/// How a weak challenge is computed: over the commitments only (optionally after the
/// context and domain separator), never over the statement.
#[derive(Clone, Copy, Debug)]
enum Weak {
    /// Context and domain separator, then only the commitments.
    ContextThenCommitments,
    /// A bare transcript holding only the commitments.
    CommitmentsOnly,
}

fn weak_challenge(kind: Weak, dom: &'static [u8], commitments: &[&Point]) -> Scalar {
    let mut t = match kind {
        Weak::ContextThenCommitments => {
            let mut t = honest();
            t.domain_sep(dom);
            t
        }
        Weak::CommitmentsOnly => Transcript::new(labels::PROTOCOL),
    };
    for p in commitments {
        t.append_point(labels::T, p);
    }
    t.challenge_scalar(labels::CHALLENGE)
}

#[test]
fn weak_fiat_shamir_schnorr_forgery_is_rejected() {
    // With c = H(T) only, anyone can "prove" knowledge for a public key chosen after the
    // challenge: pick T and z, then set X = c⁻¹·(z·G − T).
    for kind in [Weak::ContextThenCommitments, Weak::CommitmentsOnly] {
        let mut r = rng(21);
        let t = random_point(&mut r);
        let z = Scalar::random(&mut r);
        let c = weak_challenge(kind, labels::SCHNORR, &[&t]);
        let x_pub = c.invert().mul_point(&(z.mul_base() - t));
        // The forged proof satisfies the verification equation with the weak challenge...
        SingleVerifier
            .require_zero(
                &[
                    (z, Base::G),
                    (-Scalar::ONE, Base::Var(&t)),
                    (-c, Base::Var(&x_pub)),
                ],
                "weak schnorr",
                "z·G = T + c·X",
            )
            .unwrap();
        // ...and vox's verifier, whose challenge covers X and the message, refuses it.
        let forged = SchnorrProof { t, z };
        assert!(matches!(
            forged.verify(&mut honest(), &x_pub, b""),
            Err(CryptoError::ProofInvalid {
                proof: "schnorr",
                ..
            })
        ));
    }
}

#[test]
fn weak_fiat_shamir_dleq_is_rejected() {
    // An honest witness but a challenge over (T1, T2) only.
    for kind in [Weak::ContextThenCommitments, Weak::CommitmentsOnly] {
        let mut r = rng(22);
        let x = Scalar::random(&mut r);
        let y = random_point(&mut r);
        let (xp, dd) = (x.mul_base(), x.mul_point(&y));
        let w = Scalar::random(&mut r);
        let (t1, t2) = (w.mul_base(), w.mul_point(&y));
        let c = weak_challenge(kind, labels::DLEQ, &[&t1, &t2]);
        let weak = DleqProof {
            t1,
            t2,
            z: w + c * x,
        };
        assert!(weak.verify(&mut honest(), &y, &xp, &dd).is_err());
        // Control: the same witness with vox's challenge verifies.
        DleqProof::prove(&mut honest(), &x, &y, &xp, &dd, &mut r)
            .verify(&mut honest(), &y, &xp, &dd)
            .unwrap();
    }
}

/// The four CDS equations and c0 + c1 = c, checked against a given challenge.
fn zero_one_equations_with(
    p: &ZeroOneProof,
    key: &ElectionPublicKey,
    ct: &Ciphertext,
    c: Scalar,
) -> Result<()> {
    if p.c0 + p.c1 != c {
        return Err(CryptoError::ProofInvalid {
            proof: "weak zero-one",
            reason: "c0 + c1 != c",
        });
    }
    let k = key.point();
    let mut eq = SingleVerifier;
    let n1 = -Scalar::ONE;
    eq.require_zero(
        &[
            (p.z0, Base::G),
            (n1, Base::Var(&p.t0a)),
            (-p.c0, Base::Var(&ct.a)),
        ],
        "weak zero-one",
        "0a",
    )?;
    eq.require_zero(
        &[
            (p.z0, Base::Var(k)),
            (n1, Base::Var(&p.t0b)),
            (-p.c0, Base::Var(&ct.b)),
        ],
        "weak zero-one",
        "0b",
    )?;
    eq.require_zero(
        &[
            (p.z1, Base::G),
            (n1, Base::Var(&p.t1a)),
            (-p.c1, Base::Var(&ct.a)),
        ],
        "weak zero-one",
        "1a",
    )?;
    eq.require_zero(
        &[
            (p.z1, Base::Var(k)),
            (p.c1, Base::G),
            (n1, Base::Var(&p.t1b)),
            (-p.c1, Base::Var(&ct.b)),
        ],
        "weak zero-one",
        "1b",
    )
}

#[test]
fn weak_fiat_shamir_zero_one_forgery_for_two_is_rejected() {
    // The Helios attack (Bernhard–Pereira–Warinschi 2012): if the challenge covers only
    // the commitments, a party who picks the election key K after seeing the challenge
    // (a colluding trustee) can make a "valid" 0/1 proof for an encryption of 2.
    //
    // With T's = τ·G, K = x·G, a = α·G, b = (α·x + 2)·G the four equations reduce to
    //   c0 = (τ0a·x − τ0b)/2,  c1 = τ1a·x − τ1b,
    // and c0 + c1 = c fixes x = (c + τ0b/2 + τ1b) / (τ0a/2 + τ1a).
    for kind in [Weak::ContextThenCommitments, Weak::CommitmentsOnly] {
        let mut r = rng(23);
        let tau: Vec<Scalar> = (0..4).map(|_| Scalar::random(&mut r)).collect();
        let (t0a, t0b, t1a, t1b) = (
            tau[0].mul_base(),
            tau[1].mul_base(),
            tau[2].mul_base(),
            tau[3].mul_base(),
        );
        let c = weak_challenge(kind, labels::ZERO_ONE, &[&t0a, &t0b, &t1a, &t1b]);
        let half = Scalar::from_u64(2).invert();
        let x = (c + tau[1] * half + tau[3]) * (tau[0] * half + tau[2]).invert();
        let key = ElectionPublicKey::new(x.mul_base()).unwrap();
        let alpha = Scalar::random(&mut r);
        let ct = Ciphertext::encrypt_with(&key, 2, &alpha);
        let c0 = (tau[0] * x - tau[1]) * half;
        let c1 = tau[2] * x - tau[3];
        let forged = ZeroOneProof {
            t0a,
            t0b,
            t1a,
            t1b,
            c0,
            c1,
            z0: tau[0] + c0 * alpha,
            z1: tau[2] + c1 * alpha,
        };
        // The ciphertext really encrypts 2 ...
        let x_secret = SecretScalar::new(x);
        assert_eq!(
            ct.decrypt_to_point(&x_secret),
            Scalar::from_u64(2).mul_base()
        );
        // ... the forgery passes a weak verifier ...
        zero_one_equations_with(&forged, &key, &ct, c).unwrap();
        // ... and vox's verifier rejects it: its challenge covers K, a and b.
        assert!(matches!(
            forged.verify(&mut honest(), &key, &ct),
            Err(CryptoError::ProofInvalid {
                proof: "zero-one",
                ..
            })
        ));
    }
}

#[test]
fn weak_fiat_shamir_zero_one_forgery_with_fixed_key_is_rejected() {
    // With the election key fixed and honest, but the ciphertext left out of the
    // challenge, a voter (knowing no secret) can still forge a 0/1 proof for a ciphertext
    // chosen after the challenge, encrypting δ = 1 − ρ/c ∉ {0, 1}:
    //   T0 = (τ0·G, τ0·K), c0 = 0, z0 = τ0           (branch 0 holds trivially)
    //   T1 = (τ1·G, τ1·K + ρ·G), c1 = c, z1 = τ1 + c·α,
    //   a = α·G, b = δ·G + α·K.
    // Branch 1: z1·K = τ1·K + c·α·K = T1b + c·(b − G) since c·(δ − 1) = −ρ.
    for variant in 0..3 {
        let mut r = rng(25 + variant);
        let (x, key) = keypair(&mut r);
        let k = *key.point();
        let (tau0, tau1, rho, alpha) = (
            Scalar::random(&mut r),
            Scalar::random(&mut r),
            Scalar::random(&mut r),
            Scalar::random(&mut r),
        );
        let (t0a, t0b) = (tau0.mul_base(), tau0.mul_point(&k));
        let (t1a, t1b) = (tau1.mul_base(), tau1.mul_point(&k) + rho.mul_base());
        let ts = [&t0a, &t0b, &t1a, &t1b];
        let c = match variant {
            0 => weak_challenge(Weak::CommitmentsOnly, labels::ZERO_ONE, &ts),
            1 => weak_challenge(Weak::ContextThenCommitments, labels::ZERO_ONE, &ts),
            _ => {
                // Everything but the ciphertext: context, K, commitments.
                let mut t = honest();
                t.domain_sep(labels::ZERO_ONE);
                t.append_point(labels::ELECTION_KEY, &k);
                for p in ts {
                    t.append_point(labels::T, p);
                }
                t.challenge_scalar(labels::CHALLENGE)
            }
        };
        let delta = Scalar::ONE - rho * c.invert();
        let ct = Ciphertext {
            a: alpha.mul_base(),
            b: delta.mul_base() + alpha.mul_point(&k),
        };
        let forged = ZeroOneProof {
            t0a,
            t0b,
            t1a,
            t1b,
            c0: Scalar::ZERO,
            c1: c,
            z0: tau0,
            z1: tau1 + c * alpha,
        };
        // The ciphertext encrypts δ, which is neither 0 nor 1 ...
        let m_point = ct.decrypt_to_point(&x);
        assert_ne!(m_point, Point::identity());
        assert_ne!(m_point, Point::generator());
        assert_eq!(m_point, delta.mul_base());
        // ... the weak verifier accepts the forgery ...
        zero_one_equations_with(&forged, &key, &ct, c).unwrap();
        // ... and vox's verifier, whose challenge covers a and b, rejects it.
        assert!(
            forged.verify(&mut honest(), &key, &ct).is_err(),
            "variant {variant}"
        );
    }
}

#[test]
fn weak_fiat_shamir_link_is_rejected() {
    for kind in [Weak::ContextThenCommitments, Weak::CommitmentsOnly] {
        let mut r = rng(24);
        let (_, key) = keypair(&mut r);
        let (m, rr, s) = (
            Scalar::from_u64(3),
            Scalar::random(&mut r),
            Scalar::random(&mut r),
        );
        let ct = Ciphertext::encrypt_with(&key, 3, &rr);
        let cm = pedersen_commit(&m, &s);
        let (wm, wr, ws) = (
            Scalar::random(&mut r),
            Scalar::random(&mut r),
            Scalar::random(&mut r),
        );
        let ta = wr.mul_base();
        let tb = wm.mul_base() + wr.mul_point(key.point());
        let tc = pedersen_commit(&wm, &ws);
        let c = weak_challenge(kind, labels::LINK, &[&ta, &tb, &tc]);
        let weak = LinkProof {
            ta,
            tb,
            tc,
            zm: wm + c * m,
            zr: wr + c * rr,
            zs: ws + c * s,
        };
        assert!(weak.verify(&mut honest(), &key, &ct, &cm).is_err());
    }
}

// ---------------------------------------------------------------------------
// Zero-one proofs for an encryption of 2
// ---------------------------------------------------------------------------

#[test]
fn zero_one_prove_refuses_values_other_than_zero_and_one() {
    let mut r = rng(31);
    let (_, key) = keypair(&mut r);
    for m in [2u64, 3, 255, u64::MAX] {
        let (ct, nonce) = Ciphertext::encrypt(&key, m, &mut r);
        assert!(matches!(
            ZeroOneProof::prove(&mut honest(), &key, &ct, m, &nonce, &mut r),
            Err(CryptoError::Parameter(_))
        ));
    }
}

#[test]
fn zero_one_lying_prover_is_rejected() {
    // The ciphertext encrypts 2; the prover claims 0 or 1 with the true nonce.
    let mut r = rng(32);
    let (_, key) = keypair(&mut r);
    let (ct, nonce) = Ciphertext::encrypt(&key, 2, &mut r);
    for claim in [0u64, 1] {
        let p = ZeroOneProof::prove(&mut honest(), &key, &ct, claim, &nonce, &mut r).unwrap();
        assert!(p.verify(&mut honest(), &key, &ct).is_err(), "claim {claim}");
    }
}

#[test]
fn zero_one_cheating_proof_for_two_by_simulating_both_branches_fails() {
    for seed in 0..16 {
        let mut r = rng(100 + seed);
        let (_, key) = keypair(&mut r);
        let k = *key.point();
        let g = Point::generator();
        let (ct, nonce) = Ciphertext::encrypt(&key, 2, &mut r);

        // 1. Simulate both branches with random c0, c1, z0, z1: every equation holds,
        //    but c0 + c1 is not the Fiat–Shamir challenge.
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
            t1b: z1.mul_point(&k) - c1.mul_point(&(ct.b - g)),
            c0,
            c1,
            z0,
            z1,
        };
        zero_one_equations_with(&sim, &key, &ct, c0 + c1).unwrap();
        assert_eq!(
            sim.verify(&mut honest(), &key, &ct),
            Err(CryptoError::ProofInvalid {
                proof: "zero-one",
                reason: "c0 + c1 differs from the Fiat–Shamir challenge",
            })
        );

        // 2. Fix the sum after the fact (c1 := c − c0): now branch 1's equations break.
        let mut t = honest();
        t.domain_sep(labels::ZERO_ONE);
        t.append_point(labels::ELECTION_KEY, &k);
        t.append_point(labels::CT_A, &ct.a);
        t.append_point(labels::CT_B, &ct.b);
        for p in [&sim.t0a, &sim.t0b, &sim.t1a, &sim.t1b] {
            t.append_point(labels::T, p);
        }
        let c = t.challenge_scalar(labels::CHALLENGE);
        let patched = ZeroOneProof { c1: c - c0, ..sim };
        assert!(matches!(
            patched.verify(&mut honest(), &key, &ct),
            Err(CryptoError::ProofInvalid {
                proof: "zero-one",
                ..
            })
        ));

        // 3. Use the true nonce in branch 1 (b − G = G + r·K is not r·(G, K)): fails too.
        let w = Scalar::random(&mut r);
        let (t1a, t1b) = (w.mul_base(), w.mul_point(&k));
        let (t0a, t0b) = (sim.t0a, sim.t0b);
        let mut t = honest();
        t.domain_sep(labels::ZERO_ONE);
        t.append_point(labels::ELECTION_KEY, &k);
        t.append_point(labels::CT_A, &ct.a);
        t.append_point(labels::CT_B, &ct.b);
        for p in [&t0a, &t0b, &t1a, &t1b] {
            t.append_point(labels::T, p);
        }
        let c = t.challenge_scalar(labels::CHALLENGE);
        let c1 = c - c0;
        let real_branch = ZeroOneProof {
            t0a,
            t0b,
            t1a,
            t1b,
            c0,
            c1,
            z0,
            z1: w + c1 * nonce,
        };
        assert!(matches!(
            real_branch.verify(&mut honest(), &key, &ct),
            Err(CryptoError::ProofInvalid {
                proof: "zero-one",
                reason: "branch 1: z1·K = T1b + c1·(b − G)",
            })
        ));
    }
}

// ---------------------------------------------------------------------------
// Ballot proofs bound to the credential (Cortier–Smyth replay)
// ---------------------------------------------------------------------------

fn ballot_context(cred: &CredentialPublicKey) -> Transcript {
    let mut t = new_transcript(PURPOSE, &manifest());
    t.append_bytes(CREDENTIAL_LABEL, &cred.to_bytes());
    t
}

#[test]
fn ballot_proofs_copied_under_another_credential_fail() {
    let mut r = rng(41);
    let (_, key) = keypair(&mut r);
    let alice = Credential::generate(&mut r);
    let bob = Credential::generate(&mut r);
    let (pa, pb) = (alice.public_key(), bob.public_key());

    // Alice's ballot: a 1-of-3 question with 0/1 proofs and a count proof, and a score
    // with a link and range proof, all in one transcript, then her signature.
    let selections = [0u64, 1, 0];
    let mut t = ballot_context(&pa);
    let mut cts = Vec::new();
    let mut proofs = Vec::new();
    let mut r_sum = Scalar::ZERO;
    for &m in &selections {
        let (ct, nonce) = Ciphertext::encrypt(&key, m, &mut r);
        proofs.push(ZeroOneProof::prove(&mut t, &key, &ct, m, &nonce, &mut r).unwrap());
        cts.push(ct);
        r_sum = r_sum + nonce;
    }
    let sum = Ciphertext::sum(&cts);
    let count = ConstantProof::prove(&mut t, &key, &sum, 1, &r_sum, &mut r);
    let (score_ct, score_r) = Ciphertext::encrypt(&key, 4, &mut r);
    let s = Scalar::random(&mut r);
    let cm = pedersen_commit(&Scalar::from_u64(4), &s);
    let link = LinkProof::prove(&mut t, &key, &score_ct, &cm, 4, &score_r, &s, &mut r);
    let st = [RangeStatement {
        commitment: cm,
        lo: 0,
        hi: 10,
    }];
    let range = RangeProof::prove(&mut t, &st, &[(4, s)], &mut r).unwrap();
    let ballot_hash = Hash32::sha256(&[b"alice's ballot bytes"]);
    let sig = alice.sign(&mut ballot_context(&pa), &ballot_hash.0, &mut r);

    // Verify the whole ballot in a given context.
    let verify_all = |cred: &CredentialPublicKey, rng: &mut ChaCha20Rng| -> Result<()> {
        let mut t = ballot_context(cred);
        for (p, ct) in proofs.iter().zip(&cts) {
            p.verify(&mut t, &key, ct)?;
        }
        count.verify(&mut t, &key, &sum, 1)?;
        link.verify(&mut t, &key, &score_ct, &cm)?;
        range.verify(&mut t, &st, rng)
    };
    verify_all(&pa, &mut r).unwrap();
    sig.verify(&mut ballot_context(&pa), &pa, &ballot_hash.0)
        .unwrap();

    // Bob copies Alice's ballot and submits it under his credential.
    assert!(verify_all(&pb, &mut r).is_err());
    // Each proof on its own fails in Bob's context, not only the first.
    assert!(proofs[0]
        .verify(&mut ballot_context(&pb), &key, &cts[0])
        .is_err());
    assert!(count
        .verify(&mut ballot_context(&pb), &key, &sum, 1)
        .is_err());
    assert!(link
        .verify(&mut ballot_context(&pb), &key, &score_ct, &cm)
        .is_err());
    assert!(range.verify(&mut ballot_context(&pb), &st, &mut r).is_err());
    // Alice's signature is not Bob's, in either context.
    assert!(sig
        .verify(&mut ballot_context(&pb), &pb, &ballot_hash.0)
        .is_err());
    assert!(sig
        .verify(&mut ballot_context(&pa), &pb, &ballot_hash.0)
        .is_err());
}

// ---------------------------------------------------------------------------
// Range proofs
// ---------------------------------------------------------------------------

/// Three statements: 3 ∈ [0, 5], 10 ∈ [1, 10], 0 ∈ [0, 1] (six values, padded to eight).
fn range_fixture(rng: &mut ChaCha20Rng) -> (Vec<RangeStatement>, Vec<(u64, Scalar)>) {
    let mut sts = Vec::new();
    let mut open = Vec::new();
    for (m, lo, hi) in [(3u64, 0u64, 5u64), (10, 1, 10), (0, 0, 1)] {
        let s = Scalar::random(rng);
        sts.push(RangeStatement {
            commitment: pedersen_commit(&Scalar::from_u64(m), &s),
            lo,
            hi,
        });
        open.push((m, s));
    }
    (sts, open)
}

#[test]
fn range_completeness_for_various_spans() {
    let mut r = rng(51);
    for (m, lo, hi) in [
        (0u64, 0u64, 0u64),
        (5, 5, 5),
        (0, 0, 255),
        (255, 0, 255),
        (256, 0, 256),
        (70_000, 0, 1 << 20),
        (u64::MAX, 0, u64::MAX),
        (1 << 40, 1 << 39, 1 << 41),
    ] {
        let s = Scalar::random(&mut r);
        let st = [RangeStatement {
            commitment: pedersen_commit(&Scalar::from_u64(m), &s),
            lo,
            hi,
        }];
        let p = RangeProof::prove(&mut honest(), &st, &[(m, s)], &mut r).unwrap();
        p.verify(&mut honest(), &st, &mut r)
            .unwrap_or_else(|e| panic!("{m} in [{lo}, {hi}]: {e}"));
        // Bytes round-trip through the canonical decoder and JSON.
        let back = RangeProof::try_from_bytes(&p.to_bytes()).unwrap();
        assert_eq!(back, p);
        let j = serde_json::to_string(&p).unwrap();
        assert_eq!(serde_json::from_str::<RangeProof>(&j).unwrap(), p);
    }
}

#[test]
fn range_completeness_and_tweaks() {
    let mut r = rng(52);
    let (sts, open) = range_fixture(&mut r);
    let p = RangeProof::prove(&mut honest(), &sts, &open, &mut r).unwrap();
    p.verify(&mut honest(), &sts, &mut r).unwrap();

    let mut cases: Cases = Vec::new();
    for i in 0..sts.len() {
        let mut v = sts.clone();
        v[i].commitment = v[i].commitment + Point::generator();
        cases.push((
            format!("commitment {i} + G"),
            p.verify(&mut honest(), &v, &mut r),
        ));
        let mut v = sts.clone();
        v[i].commitment = v[i].commitment + *pedersen_h();
        cases.push((
            format!("commitment {i} + H"),
            p.verify(&mut honest(), &v, &mut r),
        ));
        let mut v = sts.clone();
        v[i].commitment = random_point(&mut r);
        cases.push((
            format!("commitment {i} random"),
            p.verify(&mut honest(), &v, &mut r),
        ));
        for (name, dlo, dhi) in [
            ("lo + 1", 1i64, 0i64),
            ("lo - 1", -1, 0),
            ("hi + 1", 0, 1),
            ("hi - 1", 0, -1),
            ("lo + 1, hi + 1", 1, 1),
        ] {
            let mut v = sts.clone();
            let (Some(lo), Some(hi)) = (
                v[i].lo.checked_add_signed(dlo),
                v[i].hi.checked_add_signed(dhi),
            ) else {
                continue;
            };
            v[i].lo = lo;
            v[i].hi = hi;
            cases.push((
                format!("statement {i}: {name}"),
                p.verify(&mut honest(), &v, &mut r),
            ));
        }
    }
    let mut v = sts.clone();
    v.swap(0, 1);
    cases.push((
        "statements reordered".into(),
        p.verify(&mut honest(), &v, &mut r),
    ));
    cases.push((
        "last statement dropped".into(),
        p.verify(&mut honest(), &sts[..2], &mut r),
    ));
    let mut v = sts.clone();
    v.push(sts[0]);
    cases.push((
        "statement duplicated".into(),
        p.verify(&mut honest(), &v, &mut r),
    ));
    cases.push(("no statements".into(), p.verify(&mut honest(), &[], &mut r)));
    for ctx in WRONG_CONTEXTS {
        cases.push((
            format!("context {ctx:?}"),
            p.verify(&mut transcript(ctx), &sts, &mut r),
        ));
    }
    assert_all_rejected(cases);
}

#[test]
fn range_proof_for_0_5_is_not_one_for_0_6_or_1_5() {
    let mut r = rng(53);
    for m in 0..=5u64 {
        let s = Scalar::random(&mut r);
        let c = pedersen_commit(&Scalar::from_u64(m), &s);
        let st = |lo, hi, commitment| [RangeStatement { commitment, lo, hi }];
        let p = RangeProof::prove(&mut honest(), &st(0, 5, c), &[(m, s)], &mut r).unwrap();
        p.verify(&mut honest(), &st(0, 5, c), &mut r).unwrap();
        assert!(
            p.verify(&mut honest(), &st(0, 6, c), &mut r).is_err(),
            "m={m} as [0,6]"
        );
        assert!(
            p.verify(&mut honest(), &st(1, 5, c), &mut r).is_err(),
            "m={m} as [1,5]"
        );
        assert!(
            p.verify(&mut honest(), &st(0, 4, c), &mut r).is_err(),
            "m={m} as [0,4]"
        );
        let other = pedersen_commit(&Scalar::from_u64(m), &Scalar::random(&mut r));
        assert!(
            p.verify(&mut honest(), &st(0, 5, other), &mut r).is_err(),
            "m={m} other C"
        );
        assert!(p
            .verify(&mut honest(), &st(0, 5, Point::identity()), &mut r)
            .is_err());
    }
}

#[test]
fn range_values_out_of_range_cannot_be_proven() {
    let mut r = rng(54);
    let s = Scalar::random(&mut r);
    for (m, lo, hi) in [(6u64, 0u64, 5u64), (0, 1, 5), (u64::MAX, 0, 5), (11, 0, 10)] {
        let st = [RangeStatement {
            commitment: pedersen_commit(&Scalar::from_u64(m), &s),
            lo,
            hi,
        }];
        assert!(
            matches!(
                RangeProof::prove(&mut honest(), &st, &[(m, s)], &mut r),
                Err(CryptoError::Parameter(_))
            ),
            "{m} in [{lo}, {hi}]"
        );
    }
    // hi < lo, a missing opening, no statements and too many statements are refused.
    let c = pedersen_commit(&Scalar::ONE, &s);
    let bad = [RangeStatement {
        commitment: c,
        lo: 5,
        hi: 4,
    }];
    assert!(RangeProof::prove(&mut honest(), &bad, &[(4, s)], &mut r).is_err());
    let good = RangeStatement {
        commitment: c,
        lo: 0,
        hi: 1,
    };
    assert!(RangeProof::prove(&mut honest(), &[good], &[], &mut r).is_err());
    assert!(RangeProof::prove(&mut honest(), &[], &[], &mut r).is_err());
    let many = vec![good; 33];
    let openings = vec![(1u64, s); 33];
    assert!(RangeProof::prove(&mut honest(), &many, &openings, &mut r).is_err());
    // 32 statements (64 aggregated values) is the maximum and works.
    let p = RangeProof::prove(&mut honest(), &many[..32], &openings[..32], &mut r).unwrap();
    p.verify(&mut honest(), &many[..32], &mut r).unwrap();
}

/// Append the range statement exactly as vox does (protocol-spec §3.7), for hand-made proofs.
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

/// A Bulletproof made directly with the bulletproofs crate over arbitrary values.
fn raw_range_proof(
    sts: &[RangeStatement],
    n_in_transcript: u64,
    n: usize,
    values: &[u64],
    blindings: &[Scalar],
    rng: &mut ChaCha20Rng,
) -> RangeProof {
    let mut t = honest();
    append_range_statement(&mut t, sts, n_in_transcript);
    let bl: Vec<_> = blindings.iter().map(|s| *s.as_dalek()).collect();
    let (p, _) = bulletproofs::RangeProof::prove_multiple_with_rng(
        bulletproof_gens(),
        &pedersen_gens(),
        &mut t,
        values,
        &bl,
        n,
        rng,
    )
    .unwrap();
    RangeProof::try_from_bytes(&p.to_bytes()).unwrap()
}

#[test]
fn range_cheating_prover_with_raw_bulletproofs_fails() {
    let mut r = rng(55);
    let s = Scalar::random(&mut r);
    let st = |m: u64| {
        [RangeStatement {
            commitment: pedersen_commit(&Scalar::from_u64(m), &s),
            lo: 0,
            hi: 5,
        }]
    };
    // Control: the hand-made construction with honest values [m − lo, hi − m] verifies,
    // so the failures below come from the lies, not from the harness.
    let honest_st = st(3);
    raw_range_proof(&honest_st, 8, 8, &[3, 2], &[s, -s], &mut r)
        .verify(&mut honest(), &honest_st, &mut r)
        .unwrap();

    // m = 7 ∉ [0, 5]: hi − m = −2 is no u64; the cheater substitutes other values.
    let bad = st(7);
    for (values, blindings) in [
        ([7u64, 0u64], [s, -s]),
        ([7, 254], [s, -s]),
        ([7, 0], [s, Scalar::random(&mut r)]),
        ([5, 0], [s, -s]),
    ] {
        let p = raw_range_proof(&bad, 8, 8, &values, &blindings, &mut r);
        assert!(
            p.verify(&mut honest(), &bad, &mut r).is_err(),
            "values {values:?}"
        );
    }
    // A wider bit size than the manifest's span (n is the verifier's, never the prover's).
    let p16 = raw_range_proof(&honest_st, 8, 16, &[3, 2], &[s, -s], &mut r);
    assert!(p16.verify(&mut honest(), &honest_st, &mut r).is_err());
    let p16b = raw_range_proof(&honest_st, 16, 16, &[3, 2], &[s, -s], &mut r);
    assert!(p16b.verify(&mut honest(), &honest_st, &mut r).is_err());
}

#[test]
fn range_proof_byte_tampering_fails() {
    let mut r = rng(56);
    let (sts, open) = range_fixture(&mut r);
    let p = RangeProof::prove(&mut honest(), &sts, &open, &mut r).unwrap();
    let bytes = p.to_bytes();
    // 4 points + 3 scalars + 2·log2(8·8) points + 2 scalars.
    assert_eq!(bytes.len(), 32 * (7 + 2 * 6 + 2));
    let (mut decode_errors, mut verify_errors) = (0, 0);
    for i in 0..bytes.len() {
        let mut b = bytes.clone();
        b[i] ^= 1 << (i % 8);
        match RangeProof::try_from_bytes(&b) {
            Err(_) => decode_errors += 1,
            Ok(q) => {
                assert!(
                    q.verify(&mut honest(), &sts, &mut r).is_err(),
                    "byte {i} flipped still verifies"
                );
                verify_errors += 1;
            }
        }
    }
    assert!(decode_errors > 0 && verify_errors > 0);
    // Truncated, extended, and empty encodings.
    for b in [
        bytes[..bytes.len() - 32].to_vec(),
        bytes[..bytes.len() - 1].to_vec(),
        [bytes.clone(), vec![0u8; 32]].concat(),
        [bytes.clone(), vec![0u8; 64]].concat(),
        vec![],
    ] {
        if let Ok(q) = RangeProof::try_from_bytes(&b) {
            assert!(
                q.verify(&mut honest(), &sts, &mut r).is_err(),
                "len {}",
                b.len()
            );
        }
    }
    // A scalar field ≥ ℓ is refused at decoding (t_x is bytes 128..160).
    let mut b = bytes.clone();
    for byte in &mut b[128..160] {
        *byte = 0xff;
    }
    assert!(RangeProof::try_from_bytes(&b).is_err());
}

// ---------------------------------------------------------------------------
// Homomorphic tally
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn homomorphic_sum_decrypts_to_the_sum(
        seed in any::<u64>(),
        values in proptest::collection::vec(0u64..1000, 1..24),
    ) {
        let mut r = rng(seed);
        let (x, key) = keypair(&mut r);
        let cts: Vec<Ciphertext> =
            values.iter().map(|&m| Ciphertext::encrypt(&key, m, &mut r).0).collect();
        let total: u64 = values.iter().sum();
        let table = DlogTable::new(24_000).unwrap();
        let sum = Ciphertext::sum(&cts);
        prop_assert_eq!(table.solve(&sum.decrypt_to_point(&x)).unwrap(), total);
        // Pairwise `add` agrees with `sum`.
        let folded = cts.iter().fold(Ciphertext::zero(), |acc, c| acc.add(c));
        prop_assert_eq!(folded, sum);
        // A wrong key does not decrypt to the sum.
        let (y, _) = keypair(&mut r);
        prop_assert!(table.solve(&sum.decrypt_to_point(&y)).is_err());
    }
}

#[test]
fn ballot_opening_audit() {
    // Benaloh challenge: the revealed (m, r) must reproduce the ciphertext.
    let mut r = rng(61);
    let (_, key) = keypair(&mut r);
    let (ct, nonce) = Ciphertext::encrypt(&key, 1, &mut r);
    ct.check_opening(&key, 1, &nonce).unwrap();
    assert!(ct.check_opening(&key, 0, &nonce).is_err());
    assert!(ct.check_opening(&key, 1, &(nonce + Scalar::ONE)).is_err());
}
