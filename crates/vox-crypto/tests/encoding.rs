//! Canonical encodings of points, scalars and hashes (protocol-spec/01-encodings.md).
//!
//! Known-answer tests from RFC 9496 (ristretto255) Appendix A.1 and A.2, the scalar
//! boundary around the group order ℓ, wrong lengths, and property tests that no byte
//! string makes a decoder panic and that every accepted encoding is the canonical one.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use vox_crypto::credential::CredentialPublicKey;
use vox_crypto::elgamal::{Ciphertext, ElectionPublicKey};
use vox_crypto::proofs::RangeProof;
use vox_crypto::{CryptoError, Hash32, Point, Scalar};

/// RFC 9496 Appendix A.1: encodings of 0·G, 1·G, …, 15·G.
const SMALL_MULTIPLES: [&str; 16] = [
    "0000000000000000000000000000000000000000000000000000000000000000",
    "e2f2ae0a6abc4e71a884a961c500515f58e30b6aa582dd8db6a65945e08d2d76",
    "6a493210f7499cd17fecb510ae0cea23a110e8d5b901f8acadd3095c73a3b919",
    "94741f5d5d52755ece4f23f044ee27d5d1ea1e2bd196b462166b16152a9d0259",
    "da80862773358b466ffadfe0b3293ab3d9fd53c5ea6c955358f568322daf6a57",
    "e882b131016b52c1d3337080187cf768423efccbb517bb495ab812c4160ff44e",
    "f64746d3c92b13050ed8d80236a7f0007c3b3f962f5ba793d19a601ebb1df403",
    "44f53520926ec81fbd5a387845beb7df85a96a24ece18738bdcfa6a7822a176d",
    "903293d8f2287ebe10e2374dc1a53e0bc887e592699f02d077d5263cdd55601c",
    "02622ace8f7303a31cafc63f8fc48fdc16e1c8c8d234b2f0d6685282a9076031",
    "20706fd788b2720a1ed2a5dad4952b01f413bcf0e7564de8cdc816689e2db95f",
    "bce83f8ba5dd2fa572864c24ba1810f9522bc6004afe95877ac73241cafdab42",
    "e4549ee16b9aa03099ca208c67adafcafa4c3f3e4e5303de6026e3ca8ff84460",
    "aa52e000df2e16f55fb1032fc33bc42742dad6bd5a8fc0be0167436c5948501f",
    "46376b80f409b29dc2b5f6f0c52591990896e5716f41477cd30085ab7f10301e",
    "e0c418f7c8d9c4cdd7395b93ea124f3ad99021bb681dfc3302a9d99a2e53e64e",
];

/// RFC 9496 Appendix A.2: byte strings that are not valid ristretto255 encodings.
const INVALID_ENCODINGS: [(&str, &str); 29] = [
    // Non-canonical field encodings.
    (
        "non-canonical field encoding",
        "00ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    ),
    (
        "non-canonical field encoding",
        "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    ),
    (
        "non-canonical field encoding",
        "f3ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    ),
    (
        "non-canonical field encoding",
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    ),
    // Negative field elements.
    (
        "negative field element",
        "0100000000000000000000000000000000000000000000000000000000000000",
    ),
    (
        "negative field element",
        "01ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    ),
    (
        "negative field element",
        "ed57ffd8c914fb201471d1c3d245ce3c746fcbe63a3679d51b6a516ebebe0e20",
    ),
    (
        "negative field element",
        "c34c4e1826e5d403b78e246e88aa051c36ccf0aafebffe137d148a2bf9104562",
    ),
    (
        "negative field element",
        "c940e5a4404157cfb1628b108db051a8d439e1a421394ec4ebccb9ec92a8ac78",
    ),
    (
        "negative field element",
        "47cfc5497c53dc8e61c91d17fd626ffb1c49e2bca94eed052281b510b1117a24",
    ),
    (
        "negative field element",
        "f1c6165d33367351b0da8f6e4511010c68174a03b6581212c71c0e1d026c3c72",
    ),
    (
        "negative field element",
        "87260f7a2f12495118360f02c26a470f450dadf34a413d21042b43b9d93e1309",
    ),
    // Non-square x².
    (
        "non-square x^2",
        "26948d35ca62e643e26a83177332e6b6afeb9d08e4268b650f1f5bbd8d81d371",
    ),
    (
        "non-square x^2",
        "4eac077a713c57b4f4397629a4145982c661f48044dd3f96427d40b147d9742f",
    ),
    (
        "non-square x^2",
        "de6a7b00deadc788eb6b6c8d20c0ae96c2f2019078fa604fee5b87d6e989ad7b",
    ),
    (
        "non-square x^2",
        "bcab477be20861e01e4a0e295284146a510150d9817763caf1a6f4b422d67042",
    ),
    (
        "non-square x^2",
        "2a292df7e32cababbd9de088d1d1abec9fc0440f637ed2fba145094dc14bea08",
    ),
    (
        "non-square x^2",
        "f4a9e534fc0d216c44b218fa0c42d99635a0127ee2e53c712f70609649fdff22",
    ),
    (
        "non-square x^2",
        "8268436f8c4126196cf64b3c7ddbda90746a378625f9813dd9b8457077256731",
    ),
    (
        "non-square x^2",
        "2810e5cbc2cc4d4eece54f61c6f69758e289aa7ab440b3cbeaa21995c2f4232b",
    ),
    // Negative xy value.
    (
        "negative xy",
        "3eb858e78f5a7254d8c9731174a94f76755fd3941c0ac93735c07ba14579630e",
    ),
    (
        "negative xy",
        "a45fdc55c76448c049a1ab33f17023edfb2be3581e9c7aade8a6125215e04220",
    ),
    (
        "negative xy",
        "d483fe813c6ba647ebbfd3ec41adca1c6130c2beeee9d9bf065c8d151c5f396e",
    ),
    (
        "negative xy",
        "8a2e1d30050198c65a54483123960ccc38aef6848e1ec8f5f780e8523769ba32",
    ),
    (
        "negative xy",
        "32888462f8b486c68ad7dd9610be5192bbeaf3b443951ac1a8118419d9fa097b",
    ),
    (
        "negative xy",
        "227142501b9d4355ccba290404bde41575b037693cef1f438c47f8fbf35d1165",
    ),
    (
        "negative xy",
        "5c37cc491da847cfeb9281d407efc41e15144c876e0170b499a96a22ed31e01e",
    ),
    (
        "negative xy",
        "445425117cb8c90edcbc7c1cc0e74f747f2c1efa5630a967c64f287792a48a4b",
    ),
    // s = −1, which causes y = 0.
    (
        "s = -1",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    ),
];

/// The group order ℓ = 2²⁵² + 27742317777372353535851937790883648493, little-endian.
const ELL: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
];

fn unhex32(s: &str) -> [u8; 32] {
    hex::decode(s).unwrap().try_into().unwrap()
}

/// Little-endian add of a small integer to a 32-byte number (no overflow in our uses).
fn add_small(mut v: [u8; 32], k: u8) -> [u8; 32] {
    let mut carry = u16::from(k);
    for byte in v.iter_mut() {
        let s = u16::from(*byte) + carry;
        *byte = (s & 0xff) as u8;
        carry = s >> 8;
    }
    assert_eq!(carry, 0);
    v
}

fn sub_one(mut v: [u8; 32]) -> [u8; 32] {
    for byte in v.iter_mut() {
        if *byte == 0 {
            *byte = 0xff;
        } else {
            *byte -= 1;
            break;
        }
    }
    v
}

// ---------------------------------------------------------------------------
// RFC 9496 known answers
// ---------------------------------------------------------------------------

#[test]
fn rfc9496_small_multiples_decode_reencode_and_equal_i_g() {
    let mut acc = Point::identity();
    for (i, hex_str) in SMALL_MULTIPLES.iter().enumerate() {
        let bytes = unhex32(hex_str);
        let p = Point::try_from_bytes(&bytes).unwrap();
        // Byte-identical re-encoding.
        assert_eq!(p.to_bytes(), bytes, "re-encoding of {i}·G");
        assert_eq!(p.to_hex(), *hex_str);
        assert_eq!(Point::from_hex(hex_str).unwrap(), p);
        // Equal to i·G computed two ways.
        let i_u64 = u64::try_from(i).unwrap();
        assert_eq!(Scalar::from_u64(i_u64).mul_base(), p, "{i}·G by scalar mul");
        assert_eq!(acc, p, "{i}·G by repeated addition");
        assert_eq!(
            Scalar::from_u64(i_u64).mul_point(&Point::generator()),
            p,
            "{i}·G by variable-base mul"
        );
        acc = acc + Point::generator();
    }
    assert_eq!(Point::generator().to_hex(), SMALL_MULTIPLES[1]);
    assert_eq!(Point::identity().to_hex(), SMALL_MULTIPLES[0]);
}

#[test]
fn rfc9496_invalid_encodings_are_rejected() {
    for (kind, hex_str) in INVALID_ENCODINGS {
        let bytes = unhex32(hex_str);
        assert_eq!(
            Point::try_from_bytes(&bytes),
            Err(CryptoError::NonCanonicalPoint),
            "{kind}: {hex_str}"
        );
        assert_eq!(
            Point::try_from_bytes_nonidentity(&bytes, "key"),
            Err(CryptoError::NonCanonicalPoint),
            "{kind}: {hex_str}"
        );
        assert_eq!(
            Point::from_hex(hex_str),
            Err(CryptoError::NonCanonicalPoint)
        );
        // And through serde, as a record would carry it.
        let json = format!("\"{hex_str}\"");
        assert!(
            serde_json::from_str::<Point>(&json).is_err(),
            "{kind}: {hex_str}"
        );
        assert!(serde_json::from_str::<ElectionPublicKey>(&json).is_err());
    }
}

#[test]
fn high_bit_set_encodings_are_rejected() {
    // Not in RFC 9496's list but the same rule (§4.3.1: s must be canonical, < p):
    // setting bit 255 of any valid encoding makes it non-canonical.
    for hex_str in SMALL_MULTIPLES {
        let mut bytes = unhex32(hex_str);
        bytes[31] |= 0x80;
        assert_eq!(
            Point::try_from_bytes(&bytes),
            Err(CryptoError::NonCanonicalPoint)
        );
    }
}

#[test]
fn identity_is_rejected_where_forbidden() {
    let zero = [0u8; 32];
    let id = Point::try_from_bytes(&zero).unwrap();
    assert!(id.is_identity());
    assert_eq!(
        Point::try_from_bytes_nonidentity(&zero, "election public key"),
        Err(CryptoError::IdentityPoint {
            what: "election public key"
        })
    );
    assert!(ElectionPublicKey::new(id).is_err());
    assert!(CredentialPublicKey::new(id).is_err());
    let json = format!("\"{}\"", hex::encode(zero));
    assert!(serde_json::from_str::<Point>(&json).is_ok());
    assert!(serde_json::from_str::<ElectionPublicKey>(&json).is_err());
    assert!(serde_json::from_str::<CredentialPublicKey>(&json).is_err());
    // A ciphertext with a = identity decodes but fails validation (r = 0 shows m·G).
    let ct = Ciphertext {
        a: id,
        b: Point::generator(),
    };
    assert_eq!(
        ct.validate(),
        Err(CryptoError::IdentityPoint {
            what: "ciphertext a"
        })
    );
    // Every non-identity small multiple passes the non-identity decoder.
    for hex_str in &SMALL_MULTIPLES[1..] {
        assert!(Point::try_from_bytes_nonidentity(&unhex32(hex_str), "key").is_ok());
    }
}

// ---------------------------------------------------------------------------
// Scalars
// ---------------------------------------------------------------------------

#[test]
fn scalars_at_and_above_the_group_order_are_rejected() {
    let ell_minus_one = sub_one(ELL);
    let ell_plus_one = add_small(ELL, 1);
    for (name, bytes) in [
        ("ℓ", ELL),
        ("ℓ+1", ell_plus_one),
        ("ℓ+2^8", {
            let mut v = ELL;
            v[1] = v[1].wrapping_add(1);
            v
        }),
        ("2^255", {
            let mut v = [0u8; 32];
            v[31] = 0x80;
            v
        }),
        ("2^256-1", [0xffu8; 32]),
    ] {
        assert_eq!(
            Scalar::try_from_bytes(&bytes),
            Err(CryptoError::NonCanonicalScalar),
            "{name} must be rejected"
        );
        assert_eq!(
            Scalar::from_hex(&hex::encode(bytes)),
            Err(CryptoError::NonCanonicalScalar)
        );
        let json = format!("\"{}\"", hex::encode(bytes));
        assert!(serde_json::from_str::<Scalar>(&json).is_err());
    }
    // ℓ − 1 is the largest canonical scalar, and equals −1.
    let s = Scalar::try_from_bytes(&ell_minus_one).unwrap();
    assert_eq!(s.to_bytes(), ell_minus_one);
    assert_eq!(s, -Scalar::ONE);
    assert_eq!(s + Scalar::ONE, Scalar::ZERO);
    // 0 and 1 are accepted.
    assert_eq!(Scalar::try_from_bytes(&[0u8; 32]).unwrap(), Scalar::ZERO);
    let mut one = [0u8; 32];
    one[0] = 1;
    assert_eq!(Scalar::try_from_bytes(&one).unwrap(), Scalar::ONE);
}

#[test]
fn wrong_lengths_are_rejected() {
    for len in [0usize, 1, 16, 31, 33, 48, 64, 96] {
        let bytes = vec![0u8; len];
        assert_eq!(
            Point::try_from_bytes(&bytes),
            Err(CryptoError::Length {
                what: "point",
                expected: 32,
                got: len
            })
        );
        assert!(matches!(
            Point::try_from_bytes_nonidentity(&bytes, "key"),
            Err(CryptoError::Length { got, .. }) if got == len
        ));
        assert_eq!(
            Scalar::try_from_bytes(&bytes),
            Err(CryptoError::Length {
                what: "scalar",
                expected: 32,
                got: len
            })
        );
        assert!(matches!(
            Hash32::from_hex(&hex::encode(&bytes)),
            Err(CryptoError::Length { got, .. }) if got == len
        ));
        assert!(Point::from_hex(&hex::encode(&bytes)).is_err());
        assert!(Scalar::from_hex(&hex::encode(&bytes)).is_err());
    }
    // A valid point with one trailing byte is not accepted by truncation.
    let mut long = unhex32(SMALL_MULTIPLES[1]).to_vec();
    long.push(0);
    assert!(matches!(
        Point::try_from_bytes(&long),
        Err(CryptoError::Length { got: 33, .. })
    ));
}

#[test]
fn bad_hex_is_rejected() {
    let g = Point::generator().to_hex();
    for bad in [
        "zz".repeat(32),
        g[..63].to_string(), // odd length
        format!("0x{}", &g[2..]),
        format!(" {}", &g[1..]),
        format!("{}g", &g[..63]),
    ] {
        assert_eq!(
            Point::from_hex(&bad),
            Err(CryptoError::Hex { what: "point" }),
            "{bad:?}"
        );
        assert_eq!(
            Scalar::from_hex(&bad),
            Err(CryptoError::Hex { what: "scalar" }),
            "{bad:?}"
        );
        assert_eq!(
            Hash32::from_hex(&bad),
            Err(CryptoError::Hex { what: "hash" }),
            "{bad:?}"
        );
    }
}

// ---------------------------------------------------------------------------
// Hash32
// ---------------------------------------------------------------------------

#[test]
fn hash32_known_answers_and_hex() {
    // FIPS 180-2 SHA-256 test vectors.
    let empty = Hash32::sha256(&[]);
    assert_eq!(
        empty.to_hex(),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    let abc = Hash32::sha256(&[b"abc"]);
    assert_eq!(
        abc.to_hex(),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    // Parts are concatenated.
    assert_eq!(Hash32::sha256(&[b"a", b"", b"bc"]), abc);
    // Display is the lower-case hex; from_hex inverts it.
    assert_eq!(abc.to_string(), abc.to_hex());
    assert_eq!(Hash32::from_hex(&abc.to_hex()).unwrap(), abc);
    // serde: a JSON string of 64 hex characters.
    let json = serde_json::to_string(&abc).unwrap();
    assert_eq!(json, format!("\"{}\"", abc.to_hex()));
    assert_eq!(serde_json::from_str::<Hash32>(&json).unwrap(), abc);
    assert!(serde_json::from_str::<Hash32>("\"abcd\"").is_err());
    assert!(serde_json::from_str::<Hash32>("42").is_err());
    assert!(format!("{abc:?}").contains(&abc.to_hex()));
}

// ---------------------------------------------------------------------------
// serde of points and scalars
// ---------------------------------------------------------------------------

#[test]
fn serde_is_lower_case_hex_of_the_canonical_bytes() {
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    for _ in 0..32 {
        let s = Scalar::random(&mut rng);
        let p = s.mul_base();
        let pj = serde_json::to_string(&p).unwrap();
        assert_eq!(pj, format!("\"{}\"", hex::encode(p.to_bytes())));
        assert_eq!(serde_json::from_str::<Point>(&pj).unwrap(), p);
        let sj = serde_json::to_string(&s).unwrap();
        assert_eq!(sj, format!("\"{}\"", hex::encode(s.to_bytes())));
        assert_eq!(serde_json::from_str::<Scalar>(&sj).unwrap(), s);
        let key = ElectionPublicKey::new(p).unwrap();
        let kj = serde_json::to_string(&key).unwrap();
        assert_eq!(kj, pj);
        assert_eq!(serde_json::from_str::<ElectionPublicKey>(&kj).unwrap(), key);
        let (ct, _) = Ciphertext::encrypt(&key, 1, &mut rng);
        let cj = serde_json::to_string(&ct).unwrap();
        assert_eq!(serde_json::from_str::<Ciphertext>(&cj).unwrap(), ct);
    }
}

#[test]
fn generator_and_identity_constants_are_the_computed_encodings() {
    // Point::generator() and Point::identity() carry their encodings as constants.
    let g = Point::generator();
    let computed = Point::from_point(curve25519_dalek::constants::RISTRETTO_BASEPOINT_POINT);
    assert_eq!(g.to_bytes(), computed.to_bytes());
    assert_eq!(g.as_point(), computed.as_point());
    assert_eq!(g.to_hex(), SMALL_MULTIPLES[1]);
    let o = Point::identity();
    let computed = Point::from_point(curve25519_dalek::ristretto::RistrettoPoint::default());
    assert_eq!(o.to_bytes(), computed.to_bytes());
    assert!(o.is_identity());
    assert_eq!(o.to_hex(), SMALL_MULTIPLES[0]);
}

#[test]
fn serde_decodes_escaped_and_upper_case_hex_like_from_hex() {
    // The deserializers read the string in place; escaped JSON strings (no borrow
    // possible) and upper-case digits decode exactly as `from_hex` does.
    let g = Point::generator();
    let escaped = format!(
        "\"\\u00{:x}{}\"",
        g.to_hex().as_bytes()[0],
        &g.to_hex()[1..]
    );
    assert_eq!(serde_json::from_str::<Point>(&escaped).unwrap(), g);
    let upper = format!("\"{}\"", g.to_hex().to_uppercase());
    assert_eq!(Point::from_hex(&g.to_hex().to_uppercase()).unwrap(), g);
    assert_eq!(serde_json::from_str::<Point>(&upper).unwrap(), g);
    assert_eq!(
        serde_json::from_str::<Scalar>(&format!("\"{}\"", Scalar::ONE.to_hex().to_uppercase()))
            .unwrap(),
        Scalar::ONE
    );
    let h = Hash32::sha256(&[b"x"]);
    assert_eq!(
        serde_json::from_str::<Hash32>(&format!("\"{}\"", h.to_hex().to_uppercase())).unwrap(),
        h
    );
    // Not a string: the same complaint as before (serde's "expected a string").
    for bad in ["42", "null", "[1]", "{}"] {
        let e = serde_json::from_str::<Point>(bad).unwrap_err().to_string();
        assert!(e.contains("expected a string"), "{bad}: {e}");
        assert!(serde_json::from_str::<Scalar>(bad).is_err());
        assert!(serde_json::from_str::<Hash32>(bad).is_err());
    }
    // Errors inside the string keep their messages.
    let e = serde_json::from_str::<Point>("\"zz\"")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(&CryptoError::Hex { what: "point" }.to_string()),
        "{e}"
    );
    let e = serde_json::from_str::<Point>(&format!("\"{}\"", "ff".repeat(32)))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(&CryptoError::NonCanonicalPoint.to_string()),
        "{e}"
    );
}

// ---------------------------------------------------------------------------
// Property tests
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// No 32-byte string makes a decoder panic, and whatever is accepted is canonical.
    #[test]
    fn arbitrary_32_bytes_never_panic(bytes in any::<[u8; 32]>()) {
        if let Ok(p) = Point::try_from_bytes(&bytes) {
            prop_assert_eq!(p.to_bytes(), bytes);
            prop_assert_eq!(Point::from_point(*p.as_point()).to_bytes(), bytes);
        }
        let _ = Point::try_from_bytes_nonidentity(&bytes, "key");
        if let Ok(s) = Scalar::try_from_bytes(&bytes) {
            prop_assert_eq!(s.to_bytes(), bytes);
        } else {
            prop_assert_eq!(Scalar::try_from_bytes(&bytes), Err(CryptoError::NonCanonicalScalar));
        }
        let _ = Hash32::from_hex(&hex::encode(bytes)).unwrap();
    }

    /// Arbitrary lengths: only 32 bytes can succeed; nothing panics.
    #[test]
    fn arbitrary_length_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let p = Point::try_from_bytes(&bytes);
        let s = Scalar::try_from_bytes(&bytes);
        if bytes.len() != 32 {
            let is_point_length_error = matches!(p, Err(CryptoError::Length { .. }));
            let is_scalar_length_error = matches!(s, Err(CryptoError::Length { .. }));
            prop_assert!(is_point_length_error);
            prop_assert!(is_scalar_length_error);
        }
        let _ = Point::from_hex(&hex::encode(&bytes));
        let _ = Scalar::from_hex(&hex::encode(&bytes));
        let _ = Hash32::from_hex(&hex::encode(&bytes));
        // Range proofs are variable-length byte strings from untrusted ballots.
        let _ = RangeProof::try_from_bytes(&bytes);
    }

    /// Arbitrary strings through the hex/serde decoders never panic.
    #[test]
    fn arbitrary_strings_never_panic(s in ".{0,80}") {
        let _ = Point::from_hex(&s);
        let _ = Scalar::from_hex(&s);
        let _ = Hash32::from_hex(&s);
        let json = serde_json::to_string(&s).unwrap();
        let _ = serde_json::from_str::<Point>(&json);
        let _ = serde_json::from_str::<Scalar>(&json);
        let _ = serde_json::from_str::<Hash32>(&json);
        let _ = serde_json::from_str::<RangeProof>(&json);
    }

    /// Random points and scalars round-trip through bytes, hex and JSON.
    #[test]
    fn random_points_and_scalars_round_trip(seed in any::<u64>()) {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let s = Scalar::random(&mut rng);
        let p = s.mul_base();
        prop_assert_eq!(Scalar::try_from_bytes(&s.to_bytes()).unwrap(), s);
        prop_assert_eq!(Scalar::from_hex(&s.to_hex()).unwrap(), s);
        prop_assert_eq!(Point::try_from_bytes(&p.to_bytes()).unwrap(), p);
        prop_assert_eq!(Point::try_from_bytes_nonidentity(p.as_bytes(), "key").unwrap(), p);
        prop_assert_eq!(Point::from_hex(&p.to_hex()).unwrap(), p);
        // The decoded point is the same group element, not just the same bytes.
        let q = Point::try_from_bytes(&p.to_bytes()).unwrap();
        prop_assert_eq!(*q.as_point(), *p.as_point());
        let pj = serde_json::to_string(&p).unwrap();
        prop_assert_eq!(serde_json::from_str::<Point>(&pj).unwrap(), p);
        let sj = serde_json::to_string(&s).unwrap();
        prop_assert_eq!(serde_json::from_str::<Scalar>(&sj).unwrap(), s);
    }

    /// Any 32 bytes below 2²⁵² are canonical scalars (ℓ > 2²⁵²).
    #[test]
    fn scalars_below_2_252_are_canonical(mut bytes in any::<[u8; 32]>()) {
        bytes[31] &= 0x0f;
        prop_assert_eq!(Scalar::try_from_bytes(&bytes).unwrap().to_bytes(), bytes);
    }

    /// Every byte string in [ℓ, 2²⁵⁶) is refused (top byte ≥ 0x11 is always ≥ ℓ).
    #[test]
    fn scalars_at_or_above_ell_are_rejected(mut bytes in any::<[u8; 32]>(), top in 0x11u8..=0xff) {
        bytes[31] = top;
        prop_assert_eq!(Scalar::try_from_bytes(&bytes), Err(CryptoError::NonCanonicalScalar));
    }

    /// Hash32 hex round trip.
    #[test]
    fn hash32_hex_round_trip(bytes in any::<[u8; 32]>()) {
        let h = Hash32(bytes);
        prop_assert_eq!(h.to_hex().len(), 64);
        prop_assert_eq!(Hash32::from_hex(&h.to_hex()).unwrap(), h);
        let j = serde_json::to_string(&h).unwrap();
        prop_assert_eq!(serde_json::from_str::<Hash32>(&j).unwrap(), h);
    }
}
