//! Linkable ring signatures for private participation
//! (protocol-spec/13-ring-signatures.md).
//!
//! A [`RingSignature`] proves "I hold the secret key x of one of the credential public
//! keys x·G of this [`Ring`]" and carries a [`LinkingTag`] J = x⁻¹·U_p, where U_p is a
//! [`TagGenerator`] derived from a petition's label. One credential produces the same
//! tag on every signature for one petition (double signing and withdrawal are "the
//! same tag again") and unlinkable tags across petitions.
//!
//! The proof system is Triptych (Noether and Goodell, IACR eprint 2020/018), a
//! one-out-of-many proof with base n = [`RING_BASE`] and N = nᵐ ring members.
//!
//! - **Proving** uses the `triptych` crate 0.1.1 (tari-project), pinned, in its
//!   constant-time mode, with vox's G and the petition's U as its generators.
//! - **Verifying** is vox's own code ([`verify`], [`verify_batch`]): it decodes the
//!   proof with a strict decoder, recomputes the crate's Fiat–Shamir challenge and
//!   checks the four Triptych equations. The crate's own batch verifier derives its
//!   combination weights deterministically from a 64-bit digest per proof, which bounds
//!   its soundness against a grinding forger by about 2⁶⁴ work (13 §13.9); vox draws
//!   fresh 128-bit weights from the caller's RNG instead, and merges the ring points of
//!   every signature on the same ring (and across rings) into one multiscalar
//!   multiplication.
//!
//! Rings are padded to nᵐ with label-derived points of unknown discrete logarithm
//! (never the identity, never a repeated member), and the ring hash binds the unpadded
//! size, so a ring is one exact statement.

use std::collections::HashSet;
use std::sync::{Arc, OnceLock};

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
use merlin::Transcript;
use rand_core::{CryptoRng, RngCore};
use sha2::{Digest, Sha512};
use zeroize::Zeroizing;

use crate::credential::{Credential, CredentialPublicKey};
use crate::error::{CryptoError, Result};
use crate::group::{Hash32, Point, Scalar};
use crate::transcript::{labels, TranscriptProtocol};

type DScalar = curve25519_dalek::Scalar;

/// The Triptych base n: each signer index is written with m digits in base 4.
///
/// n = 4 minimises the proof size for N = 4,096 among n ∈ {2, 4, 8, 16, 64}
/// (13 §13.2): the proof holds m·(n − 1) scalars and 2m + 4 points.
pub const RING_BASE: u32 = 4;
/// Smallest exponent m the proof system allows (the crate requires m > 1): 16 slots.
pub const RING_MIN_EXPONENT: u32 = 2;
/// Largest exponent m: N = 4⁶ = 4,096 slots.
pub const RING_MAX_EXPONENT: u32 = 6;
/// Largest ring: 4,096 members.
pub const RING_MAX: usize = 4096;

/// Label of the linking-tag generator derivation (13 §13.1).
pub const TAG_GENERATOR_LABEL: &[u8] = b"vox/v2/ring-tag-generator";
/// Label of the padding points' derivation (13 §13.3).
pub const RING_PADDING_LABEL: &[u8] = b"vox/v2/ring-padding";
/// Label of the ring hash (13 §13.3).
pub const RING_HASH_LABEL: &[u8] = b"vox/v2/ring-hash";

/// SHA-512 over length-prefixed parts, then the Ristretto255 one-way map (RFC 9496
/// §4.3.4): the same hash-to-group as [`crate::generators::hash_to_point`], with each
/// part prefixed by its length (u64le) so no two part lists hash alike.
fn hash_parts_to_point(parts: &[&[u8]]) -> RistrettoPoint {
    let mut h = Sha512::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p);
    }
    let wide: [u8; 64] = h.finalize().into();
    RistrettoPoint::from_uniform_bytes(&wide)
}

/// The per-petition linking-tag generator U_p (13 §13.1).
///
/// U_p = map(SHA-512(len ‖ "vox/v2/ring-tag-generator" ‖ len ‖ context)), where
/// `context` names the petition (the protocol passes the petition hash). Nobody knows
/// log_G U_p, and the verifier recomputes it from the context: a generator is never
/// read from a signature or a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TagGenerator(Point);

impl TagGenerator {
    /// Derive U_p from the petition's context bytes.
    pub fn derive(context: &[u8]) -> Result<Self> {
        let p = Point::from_point(hash_parts_to_point(&[TAG_GENERATOR_LABEL, context]));
        // Probability 2^-252; checked so the statement can never be degenerate.
        p.ensure_not_identity("linking-tag generator")?;
        Ok(Self(p))
    }

    /// The point U_p.
    pub fn point(&self) -> &Point {
        &self.0
    }
}

/// A linking tag J = x⁻¹·U_p: the same for every signature of one credential on one
/// petition. Never the identity; canonical encoding only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LinkingTag([u8; 32]);

impl LinkingTag {
    /// Decode a canonical, non-identity point.
    pub fn try_from_bytes(bytes: &[u8]) -> Result<Self> {
        let p = Point::try_from_bytes_nonidentity(bytes, "linking tag")?;
        Ok(Self(p.to_bytes()))
    }

    /// The canonical encoding (what a board compares to detect a second signature).
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0
    }

    /// Lower-case hexadecimal.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

/// A ring: the credential keys a signer hides among, padded to N = 4ᵐ slots
/// (13 §13.3). Built by the protocol from the frozen electorate, never from input.
#[derive(Clone)]
pub struct Ring {
    label: Vec<u8>,
    points: Arc<Vec<Point>>,
    unpadded: usize,
    exponent: u32,
    hash: Hash32,
    /// The `triptych` crate's hash of the same padded ring (its "input set"), which its
    /// transcript absorbs; computed once per ring.
    input_set_hash: [u8; 32],
}

impl core::fmt::Debug for Ring {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "Ring {{ hash: {}, members: {}, slots: {} }}",
            self.hash,
            self.unpadded,
            1usize << (2 * self.exponent)
        )
    }
}

impl Ring {
    /// Build a ring from its label and members (in the order the protocol fixed).
    ///
    /// Errors on an empty ring, more than [`RING_MAX`] members or a repeated member.
    /// Slots `members.len()..4ᵐ` get padding points P_i = map(SHA-512(len ‖
    /// "vox/v2/ring-padding" ‖ len ‖ label ‖ len ‖ u64le(i))), m the smallest
    /// exponent ≥ 2 with 4ᵐ ≥ the member count.
    pub fn new(label: &[u8], members: &[CredentialPublicKey]) -> Result<Self> {
        if members.is_empty() {
            return Err(CryptoError::Parameter("a ring needs at least one member"));
        }
        if members.len() > RING_MAX {
            return Err(CryptoError::Parameter("a ring has at most 4096 members"));
        }
        let exponent = exponent_for(members.len())?;
        let slots = slots(exponent);
        let mut seen = HashSet::with_capacity(slots);
        let mut points = Vec::with_capacity(slots);
        for m in members {
            if !seen.insert(m.to_bytes()) {
                return Err(CryptoError::Parameter("a ring member appears twice"));
            }
            points.push(*m.point());
        }
        for i in members.len()..slots {
            let p = Point::from_point(hash_parts_to_point(&[
                RING_PADDING_LABEL,
                label,
                &(i as u64).to_le_bytes(),
            ]));
            p.ensure_not_identity("ring padding point")?;
            if !seen.insert(p.to_bytes()) {
                return Err(CryptoError::Parameter("a padding point equals a member"));
            }
            points.push(p);
        }
        let hash = ring_hash(label, exponent, members.len(), &points);
        let input_set_hash = triptych_input_set_hash(&points);
        Ok(Self {
            label: label.to_vec(),
            points: Arc::new(points),
            unpadded: members.len(),
            exponent,
            hash,
            input_set_hash,
        })
    }

    /// The ring's label (it names the padding points and enters the ring hash).
    pub fn label(&self) -> &[u8] {
        &self.label
    }

    /// All N slots: the members, then the padding points.
    pub fn slots(&self) -> &[Point] {
        &self.points
    }

    /// The real members (without padding).
    pub fn members(&self) -> &[Point] {
        self.points.get(..self.unpadded).unwrap_or(&[])
    }

    /// Number of real members: the signer's anonymity set.
    pub fn member_count(&self) -> usize {
        self.unpadded
    }

    /// The exponent m (N = 4ᵐ slots).
    pub fn exponent(&self) -> u32 {
        self.exponent
    }

    /// The ring hash (13 §13.3): binds the label, n, m, the member count and every slot.
    pub fn hash(&self) -> &Hash32 {
        &self.hash
    }

    /// The slot of a member, if it is one (padding slots are never returned).
    ///
    /// This runs in variable time: call it where the credential's membership is not
    /// secret from a local observer (the citizen's own device).
    pub fn position_of(&self, key: &CredentialPublicKey) -> Option<usize> {
        self.members().iter().position(|p| p == key.point())
    }
}

/// m for a member count: the smallest m ≥ 2 with 4ᵐ ≥ count.
fn exponent_for(count: usize) -> Result<u32> {
    (RING_MIN_EXPONENT..=RING_MAX_EXPONENT)
        .find(|m| slots(*m) >= count)
        .ok_or(CryptoError::Parameter("a ring has at most 4096 members"))
}

/// N = 4ᵐ.
fn slots(exponent: u32) -> usize {
    1usize << (2 * exponent)
}

/// SHA-256(len ‖ "vox/v2/ring-hash" ‖ len ‖ label ‖ u64le(n) ‖ u64le(m) ‖
/// u64le(member count) ‖ every slot's 32 bytes) (13 §13.3).
fn ring_hash(label: &[u8], exponent: u32, unpadded: usize, points: &[Point]) -> Hash32 {
    let mut h = sha2::Sha256::new();
    for part in [RING_HASH_LABEL, label] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part);
    }
    h.update(u64::from(RING_BASE).to_le_bytes());
    h.update(u64::from(exponent).to_le_bytes());
    h.update((unpadded as u64).to_le_bytes());
    for p in points {
        h.update(p.as_bytes());
    }
    Hash32(h.finalize().into())
}

/// The `triptych` crate's input-set hash of a full (already padded) ring:
/// merlin "Triptych input set", version 0, `unpadded_size` = u32le(N), each slot.
fn triptych_input_set_hash(points: &[Point]) -> [u8; 32] {
    let mut t = Transcript::new(b"Triptych input set");
    t.append_u64(b"version", 0);
    t.append_message(b"unpadded_size", &(points.len() as u32).to_le_bytes());
    for p in points {
        t.append_message(b"M", p.as_bytes());
    }
    let mut out = [0u8; 32];
    t.challenge_bytes(b"hash", &mut out);
    out
}

/// The Triptych commitment generators for exponent m: `CommitmentG` (n·m points from
/// BLAKE3-XOF("Triptych CommitmentG" ‖ u32le(n) ‖ u32le(m)), 64 bytes each) and
/// `CommitmentH` (BLAKE3-XOF("Triptych CommitmentH"), 64 bytes), each mapped with
/// the Ristretto255 one-way map. These are the crate's fixed, label-derived generators.
struct CommitmentGens {
    g: Vec<Point>,
    h: Point,
}

fn commitment_gens(exponent: u32) -> Result<&'static CommitmentGens> {
    static GENS: OnceLock<Vec<CommitmentGens>> = OnceLock::new();
    let all = GENS.get_or_init(|| {
        let mut hb = [0u8; 64];
        let mut hasher = blake3::Hasher::new();
        hasher.update(b"Triptych CommitmentH");
        hasher.finalize_xof().fill(&mut hb);
        let h = Point::from_point(RistrettoPoint::from_uniform_bytes(&hb));
        (RING_MIN_EXPONENT..=RING_MAX_EXPONENT)
            .map(|m| {
                let mut hasher = blake3::Hasher::new();
                hasher.update(b"Triptych CommitmentG");
                hasher.update(&RING_BASE.to_le_bytes());
                hasher.update(&m.to_le_bytes());
                let mut xof = hasher.finalize_xof();
                let g = (0..RING_BASE * m)
                    .map(|_| {
                        let mut b = [0u8; 64];
                        xof.fill(&mut b);
                        Point::from_point(RistrettoPoint::from_uniform_bytes(&b))
                    })
                    .collect();
                CommitmentGens { g, h }
            })
            .collect()
    });
    exponent
        .checked_sub(RING_MIN_EXPONENT)
        .and_then(|i| all.get(i as usize))
        .ok_or(CryptoError::Parameter("ring exponent out of range"))
}

/// The `triptych` crate's parameter hash for (n, m, G, U).
fn triptych_params_hash(exponent: u32, u: &TagGenerator) -> Result<[u8; 32]> {
    let gens = commitment_gens(exponent)?;
    let mut t = Transcript::new(b"Triptych parameters");
    t.append_u64(b"version", 0);
    t.append_message(b"n", &RING_BASE.to_le_bytes());
    t.append_message(b"m", &exponent.to_le_bytes());
    t.append_message(b"G", Point::generator().as_bytes());
    t.append_message(b"U", u.0.as_bytes());
    for g in &gens.g {
        t.append_message(b"CommitmentG", g.as_bytes());
    }
    t.append_message(b"CommitmentH", gens.h.as_bytes());
    let mut out = [0u8; 32];
    t.challenge_bytes(b"hash", &mut out);
    Ok(out)
}

/// The `triptych` crate's statement hash (parameters, input set, J).
fn triptych_statement_hash(ring: &Ring, params_hash: &[u8; 32], tag: &LinkingTag) -> [u8; 32] {
    let mut t = Transcript::new(b"Triptych statement");
    t.append_u64(b"version", 0);
    t.append_message(b"params", params_hash);
    t.append_message(b"input_set", &ring.input_set_hash);
    t.append_message(b"J", &tag.0);
    let mut out = [0u8; 32];
    t.challenge_bytes(b"hash", &mut out);
    out
}

/// vox's statement appends (13 §13.5), before the crate's own: the full statement
/// (n, m, member count, ring hash, U, J) and the message.
fn append_statement(
    t: &mut Transcript,
    ring: &Ring,
    u: &TagGenerator,
    tag_point: &Point,
    message: &[u8],
) {
    t.domain_sep(labels::RING_SIGNATURE);
    t.append_u64_le(labels::RING_BASE, u64::from(RING_BASE));
    t.append_u64_le(labels::RING_EXPONENT, u64::from(ring.exponent));
    t.append_u64_le(labels::RING_SIZE, ring.unpadded as u64);
    t.append_bytes(labels::RING_HASH, &ring.hash.0);
    t.append_point(labels::TAG_GENERATOR, &u.0);
    t.append_point(labels::LINKING_TAG, tag_point);
    t.append_bytes(labels::MESSAGE, message);
}

/// A Triptych proof, decoded (13 §13.6).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Proof {
    exponent: u32,
    a: Point,
    b: Point,
    c: Point,
    d: Point,
    z_a: Scalar,
    z_c: Scalar,
    z: Scalar,
    x: Vec<Point>,
    y: Vec<Point>,
    /// f_{j,i} for j in 0..m, i in 1..n, row-major (m rows of n − 1).
    f: Vec<Scalar>,
}

/// A linkable ring signature: the linking tag and a Triptych proof (13 §13.6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RingSignature {
    tag: LinkingTag,
    tag_point: Point,
    proof: Proof,
}

/// Encoded size of a signature for exponent m: J, the 8-byte header, 7 + 2m + 3m
/// elements of 32 bytes (1,224 bytes for m = 6).
pub fn signature_len(exponent: u32) -> usize {
    let m = exponent as usize;
    32 + 8 + 32 * (7 + 2 * m + (RING_BASE as usize - 1) * m)
}

impl RingSignature {
    /// The linking tag.
    pub fn tag(&self) -> &LinkingTag {
        &self.tag
    }

    /// The exponent m of the ring it was made on.
    pub fn exponent(&self) -> u32 {
        self.proof.exponent
    }

    /// Canonical encoding: J ‖ u32le(n − 1) ‖ u32le(m) ‖ A ‖ B ‖ C ‖ D ‖ z_A ‖ z_C ‖
    /// z ‖ X_0..X_{m−1} ‖ Y_0..Y_{m−1} ‖ f_{0,1}..f_{m−1,n−1} (13 §13.6). After J this
    /// is byte for byte the `triptych` crate's proof encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        let p = &self.proof;
        let mut out = Vec::with_capacity(signature_len(p.exponent));
        out.extend_from_slice(&self.tag.0);
        out.extend_from_slice(&(RING_BASE - 1).to_le_bytes());
        out.extend_from_slice(&p.exponent.to_le_bytes());
        for q in [&p.a, &p.b, &p.c, &p.d] {
            out.extend_from_slice(q.as_bytes());
        }
        for s in [&p.z_a, &p.z_c, &p.z] {
            out.extend_from_slice(&s.to_bytes());
        }
        for q in p.x.iter().chain(p.y.iter()) {
            out.extend_from_slice(q.as_bytes());
        }
        for s in &p.f {
            out.extend_from_slice(&s.to_bytes());
        }
        out
    }

    /// Strict decoder (13 §13.6, step R1): exact length for the declared m, n = 4,
    /// 2 ≤ m ≤ 6, canonical points and scalars only, no identity point anywhere (J and
    /// every proof commitment).
    pub fn try_from_bytes(bytes: &[u8]) -> Result<Self> {
        let header = bytes.get(32..40).ok_or(CryptoError::Length {
            what: "ring signature",
            expected: signature_len(RING_MIN_EXPONENT),
            got: bytes.len(),
        })?;
        let (nm1, m) = header.split_at(4);
        let nm1 = u32::from_le_bytes(nm1.try_into().map_err(|_| bad("header"))?);
        let exponent = u32::from_le_bytes(m.try_into().map_err(|_| bad("header"))?);
        if nm1 != RING_BASE - 1 {
            return Err(CryptoError::Parameter("ring signature: n must be 4"));
        }
        if !(RING_MIN_EXPONENT..=RING_MAX_EXPONENT).contains(&exponent) {
            return Err(CryptoError::Parameter(
                "ring signature: m must be between 2 and 6",
            ));
        }
        if bytes.len() != signature_len(exponent) {
            return Err(CryptoError::Length {
                what: "ring signature",
                expected: signature_len(exponent),
                got: bytes.len(),
            });
        }
        let tag_bytes = bytes.get(..32).ok_or(bad("tag"))?;
        let tag_point = Point::try_from_bytes_nonidentity(tag_bytes, "linking tag")?;
        let body = bytes.get(40..).ok_or(bad("body"))?;
        let mut chunks = body.chunks_exact(32);
        let mut point = |what: &'static str| -> Result<Point> {
            Point::try_from_bytes_nonidentity(chunks.next().ok_or(bad(what))?, what)
        };
        let a = point("ring proof A")?;
        let b = point("ring proof B")?;
        let c = point("ring proof C")?;
        let d = point("ring proof D")?;
        let mut scalar_chunks = body.get(4 * 32..).ok_or(bad("body"))?.chunks_exact(32);
        let mut scalar = || -> Result<Scalar> {
            Scalar::try_from_bytes(scalar_chunks.next().ok_or(bad("scalar"))?)
        };
        let z_a = scalar()?;
        let z_c = scalar()?;
        let z = scalar()?;
        let m = exponent as usize;
        let mut points = body.get(7 * 32..).ok_or(bad("body"))?.chunks_exact(32);
        let mut x = Vec::with_capacity(m);
        let mut y = Vec::with_capacity(m);
        for _ in 0..m {
            x.push(Point::try_from_bytes_nonidentity(
                points.next().ok_or(bad("X"))?,
                "ring proof X",
            )?);
        }
        for _ in 0..m {
            y.push(Point::try_from_bytes_nonidentity(
                points.next().ok_or(bad("Y"))?,
                "ring proof Y",
            )?);
        }
        let f = body
            .get((7 + 2 * m) * 32..)
            .ok_or(bad("f"))?
            .chunks_exact(32)
            .map(Scalar::try_from_bytes)
            .collect::<Result<Vec<_>>>()?;
        if f.len() != m * (RING_BASE as usize - 1) {
            return Err(bad("f"));
        }
        Ok(Self {
            tag: LinkingTag(tag_point.to_bytes()),
            tag_point,
            proof: Proof {
                exponent,
                a,
                b,
                c,
                d,
                z_a,
                z_c,
                z,
                x,
                y,
                f,
            },
        })
    }

    /// Lower-case hexadecimal of [`RingSignature::to_bytes`].
    pub fn to_hex(&self) -> String {
        hex::encode(self.to_bytes())
    }

    /// Decode from hexadecimal (strict, as [`RingSignature::try_from_bytes`]).
    pub fn from_hex(s: &str) -> Result<Self> {
        let bytes = hex::decode(s).map_err(|_| CryptoError::Hex {
            what: "ring signature",
        })?;
        Self::try_from_bytes(&bytes)
    }
}

fn bad(what: &'static str) -> CryptoError {
    CryptoError::ProofInvalid {
        proof: "ring signature",
        reason: what,
    }
}

impl serde::Serialize for LinkingTag {
    fn serialize<S: serde::Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> serde::Deserialize<'de> for LinkingTag {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> core::result::Result<Self, D::Error> {
        let p = <Point as serde::Deserialize>::deserialize(d)?;
        LinkingTag::try_from_bytes(&p.to_bytes()).map_err(serde::de::Error::custom)
    }
}

impl serde::Serialize for RingSignature {
    fn serialize<S: serde::Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> serde::Deserialize<'de> for RingSignature {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> core::result::Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        RingSignature::from_hex(&s).map_err(serde::de::Error::custom)
    }
}

/// The linking tag a credential has on one petition: J = x⁻¹·U_p (13 §13.1).
pub fn linking_tag(credential: &Credential, tag_generator: &TagGenerator) -> LinkingTag {
    let inv = Zeroizing::new(credential.secret().0.invert());
    let j: RistrettoPoint = *inv * tag_generator.0.as_point();
    LinkingTag(j.compress().to_bytes())
}

/// Sign `message` with the credential at slot `index` of `ring` (13 §13.7).
///
/// `transcript` carries the caller's context (purpose, petition hash, action): the
/// signature appends the full statement and the message to it, then the proof. The
/// prover is the `triptych` crate's constant-time one; it checks that slot `index`
/// holds x·G and fails otherwise. Errors if `index` is not a real member's slot.
pub fn sign(
    transcript: &mut Transcript,
    credential: &Credential,
    ring: &Ring,
    index: usize,
    tag_generator: &TagGenerator,
    message: &[u8],
    rng: &mut (impl RngCore + CryptoRng),
) -> Result<RingSignature> {
    if index >= ring.unpadded {
        return Err(CryptoError::Parameter(
            "ring signature: the index is not a member's slot",
        ));
    }
    let tag = linking_tag(credential, tag_generator);
    let tag_point = Point::try_from_bytes_nonidentity(&tag.0, "linking tag")?;
    append_statement(transcript, ring, tag_generator, &tag_point, message);

    let params = Arc::new(
        triptych::TriptychParameters::new_with_generators(
            RING_BASE,
            ring.exponent,
            Point::generator().as_point(),
            tag_generator.0.as_point(),
        )
        .map_err(|_| CryptoError::Parameter("ring signature: Triptych parameters"))?,
    );
    let keys: Vec<RistrettoPoint> = ring.points.iter().map(|p| *p.as_point()).collect();
    let input_set = Arc::new(
        triptych::TriptychInputSet::new(&keys)
            .map_err(|_| CryptoError::Parameter("ring signature: Triptych input set"))?,
    );
    let statement = triptych::TriptychStatement::new(&params, &input_set, tag_point.as_point())
        .map_err(|_| CryptoError::Parameter("ring signature: Triptych statement"))?;
    let l = u32::try_from(index).map_err(|_| CryptoError::Parameter("ring index"))?;
    let witness = triptych::TriptychWitness::new(&params, l, &credential.secret().0)
        .map_err(|_| CryptoError::Parameter("ring signature: Triptych witness"))?;
    let proof = triptych::TriptychProof::prove_with_rng(&witness, &statement, rng, transcript)
        .map_err(|_| {
            CryptoError::Parameter("ring signature: the credential is not at that ring slot")
        })?;
    let mut bytes = tag.0.to_vec();
    bytes.extend_from_slice(&proof.to_bytes());
    RingSignature::try_from_bytes(&bytes)
}

/// Everything one verification needs, prepared: challenge powers and the full f matrix.
struct Prepared {
    /// ξ⁰ … ξᵐ.
    xi_powers: Vec<DScalar>,
    /// f_{j,i} for i in 0..n (f_{j,0} = ξ − Σ_{i≥1} f_{j,i}), m rows.
    f: Vec<[DScalar; RING_BASE as usize]>,
}

/// Steps R2–R5 of 13 §13.8: the statement checks, the challenge and the f matrix.
/// `params_hash` is the crate's parameter hash for (m, U) if the caller has it already
/// (a batch computes it once per petition and ring size).
fn prepare(
    transcript: &mut Transcript,
    signature: &RingSignature,
    ring: &Ring,
    tag_generator: &TagGenerator,
    message: &[u8],
    params_hash: Option<&[u8; 32]>,
) -> Result<Prepared> {
    let p = &signature.proof;
    if p.exponent != ring.exponent {
        return Err(CryptoError::ProofInvalid {
            proof: "ring signature",
            reason: "made for a ring of another size",
        });
    }
    append_statement(
        transcript,
        ring,
        tag_generator,
        &signature.tag_point,
        message,
    );
    // The `triptych` crate's appends (its ProofTranscript, version 0).
    transcript.append_message(b"dom-sep", b"Triptych proof");
    transcript.append_u64(b"version", 0);
    let params_hash = match params_hash {
        Some(h) => *h,
        None => triptych_params_hash(ring.exponent, tag_generator)?,
    };
    transcript.append_message(
        b"statement",
        &triptych_statement_hash(ring, &params_hash, &signature.tag),
    );
    transcript.append_message(b"A", p.a.as_bytes());
    transcript.append_message(b"B", p.b.as_bytes());
    transcript.append_message(b"C", p.c.as_bytes());
    transcript.append_message(b"D", p.d.as_bytes());
    for x in &p.x {
        transcript.append_message(b"X", x.as_bytes());
    }
    for y in &p.y {
        transcript.append_message(b"Y", y.as_bytes());
    }
    let mut wide = [0u8; 64];
    transcript.challenge_bytes(b"xi", &mut wide);
    let xi = DScalar::from_bytes_mod_order_wide(&wide);
    if xi == DScalar::ZERO {
        return Err(bad("zero challenge"));
    }
    let mut xi_powers = Vec::with_capacity(p.exponent as usize + 1);
    let mut power = DScalar::ONE;
    for _ in 0..=p.exponent {
        xi_powers.push(power);
        power *= xi;
    }
    let mut f = Vec::with_capacity(p.exponent as usize);
    for row in p.f.chunks_exact(RING_BASE as usize - 1) {
        let mut full = [DScalar::ZERO; RING_BASE as usize];
        let mut sum = DScalar::ZERO;
        for (slot, v) in full.iter_mut().skip(1).zip(row) {
            *slot = v.0;
            sum += v.0;
        }
        if let Some(first) = full.first_mut() {
            *first = xi - sum;
        }
        // The crate rejects a zero f (it inverts them); vox does the same so that both
        // accept exactly the same proofs. An honest proof has one with probability 2^-250.
        if full.contains(&DScalar::ZERO) {
            return Err(bad("an f entry is zero"));
        }
        f.push(full);
    }
    Ok(Prepared { xi_powers, f })
}

/// The slot order of the Triptych crate: slot k is the digit vector of the k-th
/// base-4 Gray code (13 §13.4); `gray_index(m)[k]` = Σ_j digit_j(k)·4ʲ.
fn gray_index(exponent: u32) -> Result<&'static [u32]> {
    static TABLES: OnceLock<Vec<Vec<u32>>> = OnceLock::new();
    let all = TABLES.get_or_init(|| {
        (RING_MIN_EXPONENT..=RING_MAX_EXPONENT)
            .map(|m| {
                let n = RING_BASE;
                (0..slots(m) as u32)
                    .map(|k| {
                        // Base-n digits of k, least significant first.
                        let mut base = Vec::with_capacity(m as usize);
                        let mut v = k;
                        for _ in 0..m {
                            base.push(v % n);
                            v /= n;
                        }
                        // Gray digits from the most significant one down.
                        let mut shift = 0u32;
                        let mut index = 0u32;
                        for (j, b) in base.iter().enumerate().rev() {
                            let g = (b + shift) % n;
                            shift = shift + n - g;
                            index += g * n.pow(j as u32);
                        }
                        index
                    })
                    .collect()
            })
            .collect()
    });
    exponent
        .checked_sub(RING_MIN_EXPONENT)
        .and_then(|i| all.get(i as usize))
        .map(Vec::as_slice)
        .ok_or(CryptoError::Parameter("ring exponent out of range"))
}

/// Add weight·p_k to `out[k]` for every slot k, p_k = Π_j f_{j, digit_j(k)}.
///
/// The products are built as a tensor (n + n² + … + nᵐ ≈ 1.33·N multiplications, no
/// inversions), then read in the crate's Gray-code slot order.
fn add_ring_coefficients(
    prepared: &Prepared,
    weight: DScalar,
    exponent: u32,
    out: &mut [DScalar],
) -> Result<()> {
    const N: usize = RING_BASE as usize;
    // Rows m−1 … 1 as a tensor (index = Σ_{j≥1} digit_j·4^{j−1}); row 0, the least
    // significant digit, is multiplied in while accumulating, so the N-entry product
    // vector is never materialised.
    let (row0, upper) = prepared.f.split_first().ok_or(bad("f"))?;
    let mut products = vec![weight];
    for row in upper.iter().rev() {
        let mut next = Vec::with_capacity(products.len() * N);
        for v in &products {
            for fi in row {
                next.push(v * fi);
            }
        }
        products = next;
    }
    let order = gray_index(exponent)?;
    if order.len() != out.len() || products.len() * N != out.len() {
        return Err(CryptoError::Parameter("ring size mismatch"));
    }
    for (o, idx) in out.iter_mut().zip(order) {
        let idx = *idx as usize;
        if let (Some(p), Some(f)) = (products.get(idx / N), row0.get(idx % N)) {
            *o += p * f;
        }
    }
    Ok(())
}

/// Verify one ring signature (13 §13.8, R1–R9). `transcript` must carry the same
/// context the signer's did; `tag_generator` and `ring` are recomputed by the
/// verifier (from the petition and the electorate), never taken from the signer.
///
/// Each of the four Triptych equations is checked on its own, so a failure names it.
pub fn verify(
    transcript: &mut Transcript,
    signature: &RingSignature,
    ring: &Ring,
    tag_generator: &TagGenerator,
    message: &[u8],
) -> Result<()> {
    let prep = prepare(transcript, signature, ring, tag_generator, message, None)?;
    let p = &signature.proof;
    let gens = commitment_gens(p.exponent)?;
    let xi = prep.xi_powers.get(1).copied().ok_or(bad("challenge"))?;
    let xi_m = prep.xi_powers.last().copied().ok_or(bad("challenge"))?;
    let flat = || prep.f.iter().flatten();

    // R6: A + ξ·B = Σ f_{j,i}·CG_{j,i} + z_A·CH.
    let e1 = RistrettoPoint::vartime_multiscalar_mul(
        [DScalar::ONE, xi, -p.z_a.0]
            .into_iter()
            .chain(flat().map(|f| -f)),
        [p.a.as_point(), p.b.as_point(), gens.h.as_point()]
            .into_iter()
            .chain(gens.g.iter().map(Point::as_point)),
    );
    if !e1.is_identity() {
        return Err(bad("A + ξB is not the commitment to f (R6)"));
    }
    // R7: ξ·C + D = Σ f_{j,i}(ξ − f_{j,i})·CG_{j,i} + z_C·CH.
    let e2 = RistrettoPoint::vartime_multiscalar_mul(
        [xi, DScalar::ONE, -p.z_c.0]
            .into_iter()
            .chain(flat().map(|f| -(f * (xi - f)))),
        [p.c.as_point(), p.d.as_point(), gens.h.as_point()]
            .into_iter()
            .chain(gens.g.iter().map(Point::as_point)),
    );
    if !e2.is_identity() {
        return Err(bad("ξC + D is not the commitment to f(ξ − f) (R7)"));
    }
    // R8: Σ_k p_k·M_k − Σ_j ξʲ·X_j − z·G = 0.
    let mut coeffs = vec![DScalar::ZERO; ring.points.len()];
    add_ring_coefficients(&prep, DScalar::ONE, p.exponent, &mut coeffs)?;
    let e3 = RistrettoPoint::vartime_multiscalar_mul(
        coeffs
            .into_iter()
            .chain(prep.xi_powers.iter().take(p.x.len()).map(|x| -x))
            .chain([-p.z.0]),
        ring.points
            .iter()
            .map(Point::as_point)
            .chain(p.x.iter().map(Point::as_point))
            .chain([Point::generator().as_point()]),
    );
    if !e3.is_identity() {
        return Err(bad("ring membership equation fails (R8)"));
    }
    // R9: ξᵐ·U − Σ_j ξʲ·Y_j − z·J = 0.
    let e4 = RistrettoPoint::vartime_multiscalar_mul(
        [xi_m, -p.z.0]
            .into_iter()
            .chain(prep.xi_powers.iter().take(p.y.len()).map(|x| -x)),
        [tag_generator.0.as_point(), signature.tag_point.as_point()]
            .into_iter()
            .chain(p.y.iter().map(Point::as_point)),
    );
    if !e4.is_identity() {
        return Err(bad("linking-tag equation fails (R9)"));
    }
    Ok(())
}

/// One signature to check in a batch: the caller's context transcript (as the signer
/// started it), the signature, and the ring, tag generator and message the verifier
/// derived itself.
pub struct BatchItem<'a> {
    /// The context transcript, before the signature's appends.
    pub transcript: Transcript,
    /// The signature.
    pub signature: &'a RingSignature,
    /// The derived ring.
    pub ring: &'a Ring,
    /// The petition's tag generator.
    pub tag_generator: &'a TagGenerator,
    /// The signed message.
    pub message: &'a [u8],
}

/// Verify many ring signatures with one multiscalar multiplication (13 §13.8).
///
/// Each signature's four equations are multiplied by fresh 128-bit weights from `rng`
/// (OS randomness in production) and summed; the coefficients of shared points — G,
/// the commitment generators, each distinct ring's slots, each distinct U — are merged,
/// so a ring's N points enter the multiplication once however many signatures use it.
/// A forged signature survives with probability ≤ 2⁻¹²⁸. On failure every item is
/// verified on its own and the first culprit is named ([`CryptoError::BatchItem`]).
pub fn verify_batch(items: &[BatchItem<'_>], rng: &mut (impl RngCore + CryptoRng)) -> Result<()> {
    if items.is_empty() {
        return Ok(());
    }
    let mut prepared = Vec::with_capacity(items.len());
    // The crate's parameter hash per (U, m): ≈ 30 merlin operations, once per petition.
    let mut params_hashes: Vec<(Point, u32, [u8; 32])> = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let key = (item.tag_generator.0, item.ring.exponent);
        let params_hash = match params_hashes.iter().find(|(u, m, _)| (*u, *m) == key) {
            Some((_, _, h)) => *h,
            None => {
                let h = triptych_params_hash(key.1, item.tag_generator).map_err(|e| {
                    CryptoError::BatchItem {
                        index,
                        source: Box::new(e),
                    }
                })?;
                params_hashes.push((key.0, key.1, h));
                h
            }
        };
        let mut t = item.transcript.clone();
        let prep = prepare(
            &mut t,
            item.signature,
            item.ring,
            item.tag_generator,
            item.message,
            Some(&params_hash),
        )
        .map_err(|e| CryptoError::BatchItem {
            index,
            source: Box::new(e),
        })?;
        prepared.push(prep);
    }

    let weight = |rng: &mut dyn RngCore| -> DScalar {
        let mut w = [0u8; 32];
        if let Some(low) = w.get_mut(..16) {
            rng.fill_bytes(low);
        }
        DScalar::from_bytes_mod_order(w)
    };

    let mut g_coeff = DScalar::ZERO;
    // Per exponent m (index m − 2): coefficients of CommitmentG and CommitmentH.
    let span = (RING_MAX_EXPONENT - RING_MIN_EXPONENT + 1) as usize;
    let mut cg: Vec<Vec<DScalar>> = vec![Vec::new(); span];
    let mut ch = vec![DScalar::ZERO; span];
    let mut rings: Vec<(&Ring, Vec<DScalar>)> = Vec::new();
    let mut us: Vec<(Point, DScalar)> = Vec::new();
    let mut scalars: Vec<DScalar> = Vec::new();
    let mut points: Vec<RistrettoPoint> = Vec::new();

    for (item, prep) in items.iter().zip(&prepared) {
        let p = &item.signature.proof;
        let (w1, w2, w3, w4) = (weight(rng), weight(rng), weight(rng), weight(rng));
        let xi = prep.xi_powers.get(1).copied().ok_or(bad("challenge"))?;
        let xi_m = prep.xi_powers.last().copied().ok_or(bad("challenge"))?;
        let slot = (p.exponent - RING_MIN_EXPONENT) as usize;

        // R6 and R7, weighted.
        let cg_row = cg.get_mut(slot).ok_or(bad("exponent"))?;
        if cg_row.is_empty() {
            cg_row.resize((RING_BASE * p.exponent) as usize, DScalar::ZERO);
        }
        for (c, f) in cg_row.iter_mut().zip(prep.f.iter().flatten()) {
            *c -= w1 * f + w2 * f * (xi - f);
        }
        if let Some(h) = ch.get_mut(slot) {
            *h -= w1 * p.z_a.0 + w2 * p.z_c.0;
        }
        scalars.extend([w1, w1 * xi, w2 * xi, w2]);
        points.extend([p.a, p.b, p.c, p.d].iter().map(|q| *q.as_point()));

        // R8, weighted: ring slots merged per ring.
        let ring_entry = match rings.iter().position(|(r, _)| r.hash == item.ring.hash) {
            Some(i) => rings.get_mut(i),
            None => {
                rings.push((item.ring, vec![DScalar::ZERO; item.ring.points.len()]));
                rings.last_mut()
            }
        }
        .ok_or(bad("ring"))?;
        add_ring_coefficients(prep, w3, p.exponent, &mut ring_entry.1)?;
        for (x, power) in p.x.iter().zip(&prep.xi_powers) {
            scalars.push(-(w3 * power));
            points.push(*x.as_point());
        }
        g_coeff -= w3 * p.z.0;

        // R9, weighted: U merged per petition.
        let u = item.tag_generator.0;
        match us.iter_mut().find(|(q, _)| *q == u) {
            Some(entry) => entry.1 += w4 * xi_m,
            None => us.push((u, w4 * xi_m)),
        }
        for (y, power) in p.y.iter().zip(&prep.xi_powers) {
            scalars.push(-(w4 * power));
            points.push(*y.as_point());
        }
        scalars.push(-(w4 * p.z.0));
        points.push(*item.signature.tag_point.as_point());
    }

    scalars.push(g_coeff);
    points.push(*Point::generator().as_point());
    for (i, (row, h)) in cg.iter().zip(&ch).enumerate() {
        if row.is_empty() {
            continue;
        }
        let gens = commitment_gens(RING_MIN_EXPONENT + i as u32)?;
        scalars.extend(row.iter().copied());
        points.extend(gens.g.iter().map(|g| *g.as_point()));
        scalars.push(*h);
        points.push(*gens.h.as_point());
    }
    for (ring, coeffs) in &rings {
        scalars.extend(coeffs.iter().copied());
        points.extend(ring.points.iter().map(|q| *q.as_point()));
    }
    for (u, c) in &us {
        scalars.push(*c);
        points.push(*u.as_point());
    }

    if RistrettoPoint::vartime_multiscalar_mul(scalars, points).is_identity() {
        return Ok(());
    }
    for (index, item) in items.iter().enumerate() {
        let mut t = item.transcript.clone();
        verify(
            &mut t,
            item.signature,
            item.ring,
            item.tag_generator,
            item.message,
        )
        .map_err(|e| CryptoError::BatchItem {
            index,
            source: Box::new(e),
        })?;
    }
    // Every item verifies alone yet the batch failed: only possible with probability
    // 2^-128 (or a bug); refuse rather than accept.
    Err(CryptoError::ProofInvalid {
        proof: "ring signature batch",
        reason: "the batch fails although each item verifies",
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests;
