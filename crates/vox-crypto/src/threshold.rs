//! The trustees' k-of-n key ceremony (Feldman VSS, no trusted dealer) and threshold
//! decryption (protocol-spec/06-ceremony.md).
//!
//! Every trustee deals a random polynomial; the election key is the sum of the
//! polynomials' constant terms, so no single party ever holds the election secret and
//! any k of the n trustees can decrypt the tally. This follows ElectionGuard 2's key
//! generation, with the coefficient commitments hashed and posted before they are
//! revealed (against the rushing bias Belenios 4.0 had to fix).
//!
//! This documentation is normative for the spec writer: the formats below are what the
//! code does, byte for byte.
//!
//! # §6.1 Parameters and indices
//! `CeremonyParams { n, k }` with `1 ≤ k ≤ n ≤ 255`. Trustees are numbered `1..=n`
//! (`TrusteeIndex`; 0 is rejected because P(0) is the secret). In JSON an index is a
//! number, params are `{"n": 5, "k": 3}`. Points and scalars are 32-byte canonical
//! encodings, written in JSON as 64 lower-case hex characters. All JSON objects here
//! reject unknown fields.
//!
//! # §6.2 Signing and communication keys
//! Each trustee holds two independent key pairs (`TrusteeKeys`): a signing key
//! `(d, D = d·G)` that signs its board messages (06 §6.10), and a communication key
//! `(e, E = e·G)` used only to receive encrypted shares. The manifest names both
//! (`signing_key`, `communication_key`, which must differ). For a ceremony it publishes
//! `TrusteePublicKey {"trustee": i, "communication_key": E, "proof": {"t": T, "z": z}}`,
//! a Schnorr proof of possession with transcript:
//! `new_transcript("trustee-key", manifest_hash)`, `append_u64_le("trustee", i)`, then
//! the Schnorr proof (03-proofs §3.2) of `e` for `E` with empty message.
//!
//! # §6.3 Round 1: polynomial and commitment hash
//! Trustee i draws `P_i(X) = Σ_{j<k} a_ij·X^j` with uniformly random non-zero `a_ij`,
//! computes `K_ij = a_ij·G` and, for each j, a Schnorr proof of knowledge of `a_ij` with
//! transcript `new_transcript("ceremony", manifest_hash)`, `append_u64_le("trustee", i)`,
//! `append_u64_le("coefficient", j)`, then the Schnorr proof of `a_ij` for `K_ij` with
//! empty message (each proof has its own fresh transcript). It posts only
//! `CeremonyCommitment {"dealer": i, "hash": H_i}` where
//!
//! ```text
//! H_i = SHA-256( "vox/v2/ceremony-commitment" ‖ 0x00
//!              ‖ manifest_hash (32)
//!              ‖ u32be(i)
//!              ‖ u32be(k) ‖ K_i0 ‖ … ‖ K_i(k-1)              (32 bytes each)
//!              ‖ u32be(k) ‖ T_i0 ‖ z_i0 ‖ … ‖ T_i(k-1) ‖ z_i(k-1) )
//! ```
//!
//! (the counts are the actual lengths of the two lists; this is the
//! protocol-spec/01-encodings.md §1.5 layout: type tag, 0x00, fields, sequences as u32
//! count then elements).
//!
//! # §6.4 Round 2: reveal
//! Only once a commitment hash from every trustee 1..=n is posted does trustee i post
//! `CoefficientCommitments {"dealer": i, "commitments": [K_i0, …], "proofs": [{"t","z"}, …]}`.
//! Anyone checks: the hash equals the posted `H_i`; exactly k commitments and k proofs;
//! no commitment is the identity; every proof verifies (this is what stops a rogue-key
//! trustee from choosing `K_i0` as a function of the others' keys). A full set has one
//! reveal per trustee 1..=n, no duplicate, no other index.
//!
//! # §6.5 Round 2: encrypted shares
//! For each other trustee l, trustee i sends `P_i(l)` by hashed ElGamal to `E_l`:
//! random ρ, `R = ρ·G`, `S = ρ·E_l` (recipient computes `S = e_l·R`; R must not be the
//! identity). Keys: `(k_enc ‖ k_mac) = HKDF-SHA256(salt = "vox/v2/share-kdf", IKM = S
//! (32 bytes), info = manifest_hash ‖ u32be(i) ‖ u32be(l) ‖ R ‖ E_l, L = 64)` (RFC 5869).
//! `ct = scalar_bytes(P_i(l)) XOR k_enc` (32 bytes, canonical little-endian scalar),
//! `tag = HMAC-SHA256(k_mac, R ‖ ct)`. Message:
//! `EncryptedShare {"dealer": i, "recipient": l, "r": R, "ciphertext": hex(ct), "tag": hex(tag)}`.
//! The recipient verifies the tag in constant time before decrypting (encrypt-then-MAC)
//! and rejects a plaintext that is not a canonical scalar. Trustee i keeps `P_i(i)`.
//!
//! # §6.6 Round 3: check, complaints, answers
//! Recipient l accepts `s = P_i(l)` iff `s·G = Σ_j l^j·K_ij`. If decryption or this
//! check fails it posts `Complaint {"dealer": i, "recipient": l}`. Dealer i must answer
//! with `ComplaintAnswer {"dealer": i, "recipient": l, "share": s}`, revealing the share
//! publicly. Anyone judges: if there is no answer, or `s·G ≠ Σ_j l^j·K_ij`, dealer i is
//! disqualified and the ceremony restarts without it (new parameters, new indices);
//! otherwise l uses the revealed s.
//!
//! # §6.7 Results
//! Trustee l's secret share is `x_l = Σ_{i=1..n} P_i(l)` (including its own `P_l(l)`).
//! Anyone computes the aggregate commitments `C_j = Σ_i K_ij`, the public shares
//! `X_l = Σ_j l^j·C_j` (= `x_l·G`) and the election key `K = C_0 = Σ_i K_i0`, which must
//! not be the identity.
//!
//! # §6.8 Decryption shares
//! For ciphertexts `(A_p, B_p)`, p = 0.., trustee l posts
//! `DecryptionShare {"trustee": l, "shares": [D_0, …], "proofs": [{"t1","t2","z"}, …]}`
//! with `D_p = x_l·A_p` and a DLEQ proof (03-proofs §3.3) that `log_G X_l = log_{A_p} D_p`,
//! transcript `new_transcript("decryption", manifest_hash)`, `append_u64_le("trustee", l)`,
//! `append_u64_le("position", p)`, then the DLEQ proof with base `A_p`, public `X_l`,
//! image `D_p`. (A tally of zero ballots has `A = identity`; the proof then forces
//! `D = identity`, so it is accepted.)
//!
//! # §6.9 Combination
//! For a set S of at least k distinct trustees with verified shares,
//! `λ_l = Π_{m∈S, m≠l} m/(m − l)` and `t_p·G = B_p − Σ_{l∈S} λ_l·D_{l,p}`; t_p is then
//! found by bounded discrete log (05-tally §5.3).

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::traits::VartimeMultiscalarMul;
use hmac::{Hmac, Mac};
use merlin::Transcript;
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::batch::{BatchVerifier, Equations, SingleVerifier};
use crate::elgamal::{Ciphertext, ElectionPublicKey, SecretScalar};
use crate::error::{CryptoError, Result};
use crate::group::{Hash32, Point, Scalar};
use crate::proofs::{DleqProof, SchnorrProof};
use crate::transcript::{labels, new_transcript, TranscriptProtocol};

/// Largest number of trustees (indices fit one byte; ElectionGuard uses the same bound).
pub const MAX_TRUSTEES: u32 = 255;

/// Type tag of the round-1 commitment hash H_i (protocol-spec/06-ceremony.md §6.3).
pub const COMMITMENT_HASH_TAG: &[u8] = b"vox/v2/ceremony-commitment";

type HmacSha256 = Hmac<Sha256>;

// ---------------------------------------------------------------------------------------
// §6.1 Parameters and indices
// ---------------------------------------------------------------------------------------

/// A trustee's index in 1..=255 (protocol-spec/06-ceremony.md §6.1).
///
/// Zero is rejected: a share at 0 would be the joint secret itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct TrusteeIndex(u32);

impl TrusteeIndex {
    /// Wrap an index, rejecting 0 and anything above [`MAX_TRUSTEES`].
    pub fn new(i: u32) -> Result<Self> {
        if i == 0 || i > MAX_TRUSTEES {
            Err(CryptoError::Parameter("trustee index must be in 1..=255"))
        } else {
            Ok(Self(i))
        }
    }

    /// The index as an integer.
    pub fn get(self) -> u32 {
        self.0
    }

    /// The index as a scalar (the evaluation point of the polynomials).
    pub fn to_scalar(self) -> Scalar {
        Scalar::from_u64(u64::from(self.0))
    }

    fn to_u64(self) -> u64 {
        u64::from(self.0)
    }

    /// Zero-based slot (index − 1); an index is never 0.
    fn slot(self) -> usize {
        (self.0 as usize).saturating_sub(1)
    }
}

impl TryFrom<u32> for TrusteeIndex {
    type Error = CryptoError;
    fn try_from(i: u32) -> Result<Self> {
        Self::new(i)
    }
}

impl From<TrusteeIndex> for u32 {
    fn from(i: TrusteeIndex) -> u32 {
        i.0
    }
}

impl core::fmt::Display for TrusteeIndex {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The ceremony's size: n trustees, any k of whom can decrypt
/// (protocol-spec/06-ceremony.md §6.1). Always `1 ≤ k ≤ n ≤ 255`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(try_from = "RawParams")]
pub struct CeremonyParams {
    n: u32,
    k: u32,
}

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
struct RawParams {
    n: u32,
    k: u32,
}

impl TryFrom<RawParams> for CeremonyParams {
    type Error = CryptoError;
    fn try_from(r: RawParams) -> Result<Self> {
        Self::new(r.n, r.k)
    }
}

impl CeremonyParams {
    /// Validate `1 ≤ k ≤ n ≤ 255`. k = 1 is allowed (any one trustee decrypts) but the
    /// caller decides whether an election may use it; k = n means no trustee may be lost.
    pub fn new(n: u32, k: u32) -> Result<Self> {
        if k == 0 {
            return Err(CryptoError::Parameter("threshold k must be at least 1"));
        }
        if k > n {
            return Err(CryptoError::Parameter("threshold k must not exceed n"));
        }
        if n > MAX_TRUSTEES {
            return Err(CryptoError::Parameter("at most 255 trustees"));
        }
        Ok(Self { n, k })
    }

    /// Number of trustees n.
    pub fn n(&self) -> u32 {
        self.n
    }

    /// Threshold k (also the number of polynomial coefficients).
    pub fn k(&self) -> u32 {
        self.k
    }

    /// Whether `i` is one of this ceremony's trustees.
    pub fn contains(&self, i: TrusteeIndex) -> bool {
        i.0 <= self.n
    }

    /// Error unless `i` is one of this ceremony's trustees.
    pub fn check(&self, i: TrusteeIndex) -> Result<()> {
        if self.contains(i) {
            Ok(())
        } else {
            Err(CryptoError::UnknownTrustee { trustee: i.0 })
        }
    }

    /// The indices 1..=n.
    pub fn indices(&self) -> impl Iterator<Item = TrusteeIndex> {
        (1..=self.n).map(TrusteeIndex)
    }

    fn k_usize(&self) -> usize {
        self.k as usize
    }
}

/// Check that `indices` holds every trustee 1..=n exactly once; names the culprit.
fn check_complete_set(
    params: &CeremonyParams,
    indices: impl IntoIterator<Item = TrusteeIndex>,
    missing: &'static str,
) -> Result<()> {
    let mut seen = vec![false; params.n as usize];
    for i in indices {
        let slot = seen
            .get_mut(i.slot())
            .ok_or(CryptoError::UnknownTrustee { trustee: i.0 })?;
        if *slot {
            return Err(CryptoError::DuplicateTrustee { trustee: i.0 });
        }
        *slot = true;
    }
    match seen.iter().position(|s| !s) {
        Some(pos) => Err(CryptoError::Trustee {
            dealer: u32::try_from(pos).unwrap_or(u32::MAX).saturating_add(1),
            reason: missing,
        }),
        None => Ok(()),
    }
}

/// Check that `indices` are distinct trustees of this ceremony; returns how many.
fn check_distinct(
    params: &CeremonyParams,
    indices: impl IntoIterator<Item = TrusteeIndex>,
) -> Result<usize> {
    let mut seen = vec![false; params.n as usize];
    let mut count = 0usize;
    for i in indices {
        let slot = seen
            .get_mut(i.slot())
            .ok_or(CryptoError::UnknownTrustee { trustee: i.0 })?;
        if *slot {
            return Err(CryptoError::DuplicateTrustee { trustee: i.0 });
        }
        *slot = true;
        count += 1;
    }
    Ok(count)
}

// ---------------------------------------------------------------------------------------
// §6.2 Communication keys
// ---------------------------------------------------------------------------------------

/// A trustee's two long-term key pairs (protocol-spec/06-ceremony.md §6.2): the
/// **signing key** (d, D = d·G), which signs every message the trustee puts on the board,
/// and the **communication key** (e, E = e·G), used only to receive encrypted shares.
///
/// They are independent secrets on purpose (issue 13: "the trustee's signing key and
/// share-encryption key are separate keys"): a key is used for one job only, so a
/// decryption oracle on shares can never help forge a trustee's signature and the two can
/// be kept, rotated or audited apart. Secrets are zeroized on drop and never printed.
#[derive(Clone)]
pub struct TrusteeKeys {
    signing_secret: SecretScalar,
    signing_key: Point,
    communication_secret: SecretScalar,
    communication_key: Point,
}

/// Length of [`TrusteeKeys::secret_bytes`]: the signing secret then the communication
/// secret, 32 canonical bytes each.
pub const TRUSTEE_SECRET_LEN: usize = 64;

impl TrusteeKeys {
    /// Fresh random keys: two independent non-zero scalars (so neither public key is the
    /// identity; they are distinct except with negligible probability, and a clash is
    /// redrawn).
    pub fn generate(rng: &mut (impl RngCore + CryptoRng)) -> Self {
        loop {
            let d = nonzero_scalar(rng);
            let e = nonzero_scalar(rng);
            if d != e {
                return Self::from_scalars(d, e);
            }
        }
    }

    fn from_scalars(d: Scalar, e: Scalar) -> Self {
        Self {
            signing_key: d.mul_base(),
            signing_secret: SecretScalar::new(d),
            communication_key: e.mul_base(),
            communication_secret: SecretScalar::new(e),
        }
    }

    /// The public signing key D (the manifest's `signing_key`).
    pub fn signing_key(&self) -> &Point {
        &self.signing_key
    }

    /// The public communication key E (the manifest's `communication_key`): dealers
    /// encrypt this trustee's shares to it.
    pub fn communication_key(&self) -> &Point {
        &self.communication_key
    }

    /// Sign `msg` with the signing key (a Schnorr proof of knowledge of d over the
    /// message, in the caller's transcript). Trustee messages on the board carry this
    /// signature, so the server cannot speak for a trustee (protocol-spec/06-ceremony.md §6.10).
    pub fn sign(
        &self,
        transcript: &mut Transcript,
        msg: &[u8],
        rng: &mut (impl RngCore + CryptoRng),
    ) -> SchnorrProof {
        SchnorrProof::prove(
            transcript,
            self.signing_secret.expose(),
            &self.signing_key,
            msg,
            rng,
        )
    }

    /// Restore keys from [`Self::secret_bytes`] (a trustee's key file): 64 bytes, the
    /// signing secret then the communication secret, each canonical, non-zero, and the
    /// two different.
    pub fn from_secret_bytes(bytes: &[u8]) -> Result<Self> {
        let (d, e) = match bytes.split_first_chunk::<32>() {
            Some((d, e)) if e.len() == 32 => (d, e),
            _ => {
                return Err(CryptoError::Parameter(
                    "trustee secret keys are 64 bytes: the signing secret, then the communication secret",
                ))
            }
        };
        let d = Scalar::try_from_bytes(d)?;
        let e = Scalar::try_from_bytes(e)?;
        if d == Scalar::ZERO || e == Scalar::ZERO {
            return Err(CryptoError::Parameter(
                "trustee secret key must not be zero",
            ));
        }
        if d == e {
            return Err(CryptoError::Parameter(
                "a trustee's signing and communication keys must be different keys",
            ));
        }
        Ok(Self::from_scalars(d, e))
    }

    /// Both secrets' canonical bytes (signing ‖ communication), for the trustee's own
    /// key file only.
    pub fn secret_bytes(&self) -> Zeroizing<[u8; TRUSTEE_SECRET_LEN]> {
        let mut out = Zeroizing::new([0u8; TRUSTEE_SECRET_LEN]);
        let (d, e) = out.split_at_mut(32);
        d.copy_from_slice(&self.signing_secret.expose().to_bytes());
        e.copy_from_slice(&self.communication_secret.expose().to_bytes());
        out
    }

    /// The announcement for one ceremony: E with a proof of possession bound to the
    /// trustee index and the manifest, so no one can register another trustee's key as
    /// theirs (protocol-spec/06-ceremony.md §6.2).
    pub fn announce(
        &self,
        trustee: TrusteeIndex,
        manifest_hash: &Hash32,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> TrusteePublicKey {
        let mut t = trustee_key_transcript(trustee, manifest_hash);
        let proof = SchnorrProof::prove(
            &mut t,
            self.communication_secret.expose(),
            &self.communication_key,
            b"",
            rng,
        );
        TrusteePublicKey {
            trustee,
            communication_key: self.communication_key,
            proof,
        }
    }
}

impl core::fmt::Debug for TrusteeKeys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TrusteeKeys")
            .field("signing_secret", &"<redacted>")
            .field("signing_key", &self.signing_key)
            .field("communication_secret", &"<redacted>")
            .field("communication_key", &self.communication_key)
            .finish()
    }
}

fn trustee_key_transcript(trustee: TrusteeIndex, manifest_hash: &Hash32) -> Transcript {
    let mut t = new_transcript(labels::PURPOSE_TRUSTEE_KEY, manifest_hash);
    t.append_u64_le(labels::TRUSTEE, trustee.to_u64());
    t
}

/// A trustee's published communication key with its proof of possession
/// (protocol-spec/06-ceremony.md §6.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TrusteePublicKey {
    /// The trustee.
    pub trustee: TrusteeIndex,
    /// E = e·G.
    pub communication_key: Point,
    /// Schnorr proof of knowledge of e.
    pub proof: SchnorrProof,
}

impl TrusteePublicKey {
    /// Check the key is not the identity and the proof of possession verifies.
    pub fn verify(&self, manifest_hash: &Hash32) -> Result<()> {
        let bad = |reason| CryptoError::Trustee {
            dealer: self.trustee.0,
            reason,
        };
        self.communication_key
            .ensure_not_identity("communication key")
            .map_err(|_| bad("communication key is the identity"))?;
        let mut t = trustee_key_transcript(self.trustee, manifest_hash);
        self.proof
            .verify(&mut t, &self.communication_key, b"")
            .map_err(|_| bad("proof of possession of the communication key does not verify"))
    }
}

// ---------------------------------------------------------------------------------------
// §6.3–6.4 Round 1 and round 2 (reveal)
// ---------------------------------------------------------------------------------------

/// A uniformly random non-zero scalar. Zero is drawn with probability 2⁻²⁵²; a zero
/// coefficient would give an identity commitment, which verifiers reject.
fn nonzero_scalar(rng: &mut (impl RngCore + CryptoRng)) -> Scalar {
    loop {
        let s = Scalar::random(rng);
        if s != Scalar::ZERO {
            return s;
        }
    }
}

/// Σ_j x^j·c_j by Horner's rule.
fn eval_poly(coefficients: &[Scalar], x: Scalar) -> Scalar {
    coefficients
        .iter()
        .rev()
        .fold(Scalar::ZERO, |acc, c| acc * x + *c)
}

/// x⁰, x¹, …, x^(len−1).
fn powers(x: Scalar, len: usize) -> Vec<curve25519_dalek::Scalar> {
    let mut out = Vec::with_capacity(len);
    let mut p = Scalar::ONE;
    for _ in 0..len {
        out.push(p.0);
        p = p * x;
    }
    out
}

/// Σ_j x^j·P_j for public points (variable time: all inputs are public).
fn eval_public(points: &[Point], x: Scalar) -> Point {
    Point::from_point(RistrettoPoint::vartime_multiscalar_mul(
        powers(x, points.len()),
        points.iter().map(|p| *p.as_point()),
    ))
}

fn coefficient_transcript(dealer: TrusteeIndex, j: usize, manifest_hash: &Hash32) -> Transcript {
    let mut t = new_transcript(labels::PURPOSE_CEREMONY, manifest_hash);
    t.append_u64_le(labels::TRUSTEE, dealer.to_u64());
    t.append_u64_le(labels::COEFFICIENT, j as u64);
    t
}

/// The round-1 message: a trustee's hash commitment H_i to its coefficient commitments
/// and proofs (protocol-spec/06-ceremony.md §6.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CeremonyCommitment {
    /// The dealer i.
    pub dealer: TrusteeIndex,
    /// H_i (see the module documentation for the exact encoding).
    pub hash: Hash32,
}

/// The round-2 reveal: coefficient commitments K_ij = a_ij·G and a Schnorr proof of
/// knowledge of each a_ij (protocol-spec/06-ceremony.md §6.4).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CoefficientCommitments {
    /// The dealer i.
    pub dealer: TrusteeIndex,
    /// K_i0, …, K_i(k−1); K_i0 is the dealer's contribution to the election key.
    pub commitments: Vec<Point>,
    /// Proof of knowledge of a_ij, one per commitment, in the same order.
    pub proofs: Vec<SchnorrProof>,
}

impl CoefficientCommitments {
    /// H_i = SHA-256 over the canonical encoding fixed in protocol-spec/06-ceremony.md §6.3.
    /// The manifest hash is included so a commitment cannot be replayed in another election.
    pub fn commitment_hash(&self, manifest_hash: &Hash32) -> Hash32 {
        use sha2::Digest;
        let count = |len: usize| u32::try_from(len).unwrap_or(u32::MAX).to_be_bytes();
        let mut h = Sha256::new();
        h.update(COMMITMENT_HASH_TAG);
        h.update([0u8]);
        h.update(manifest_hash.0);
        h.update(self.dealer.0.to_be_bytes());
        h.update(count(self.commitments.len()));
        for k in &self.commitments {
            h.update(k.as_bytes());
        }
        h.update(count(self.proofs.len()));
        for p in &self.proofs {
            h.update(p.t.as_bytes());
            h.update(p.z.to_bytes());
        }
        Hash32(h.finalize().into())
    }

    /// The round-1 message for this reveal.
    pub fn commitment_message(&self, manifest_hash: &Hash32) -> CeremonyCommitment {
        CeremonyCommitment {
            dealer: self.dealer,
            hash: self.commitment_hash(manifest_hash),
        }
    }

    /// Check this reveal against the dealer's earlier round-1 hash
    /// (protocol-spec/06-ceremony.md §6.4). Comparing public hashes needs no constant time.
    pub fn check_against(&self, manifest_hash: &Hash32, posted: &CeremonyCommitment) -> Result<()> {
        if posted.dealer != self.dealer {
            return Err(CryptoError::Parameter(
                "commitment hash and reveal are from different trustees",
            ));
        }
        if self.commitment_hash(manifest_hash) == posted.hash {
            Ok(())
        } else {
            Err(CryptoError::Trustee {
                dealer: self.dealer.0,
                reason: "revealed coefficient commitments do not match the posted hash",
            })
        }
    }

    /// Structural checks and every Schnorr proof's equation into `eq` (for batching):
    /// dealer in 1..=n, exactly k commitments and k proofs, no identity commitment
    /// (protocol-spec/06-ceremony.md §6.4). With a batch sink a bad proof is only caught
    /// by the batch's `finish`; re-check with [`Self::verify`] to name the dealer.
    pub fn check(
        &self,
        params: &CeremonyParams,
        manifest_hash: &Hash32,
        eq: &mut impl Equations,
    ) -> Result<()> {
        params.check(self.dealer)?;
        let bad = |reason| CryptoError::Trustee {
            dealer: self.dealer.0,
            reason,
        };
        if self.commitments.len() != params.k_usize() || self.proofs.len() != params.k_usize() {
            return Err(bad(
                "expected exactly k coefficient commitments and k proofs",
            ));
        }
        for (j, (k_ij, proof)) in self.commitments.iter().zip(&self.proofs).enumerate() {
            if k_ij.is_identity() {
                return Err(bad("a coefficient commitment is the identity"));
            }
            let mut t = coefficient_transcript(self.dealer, j, manifest_hash);
            proof
                .check(&mut t, k_ij, b"", eq)
                .map_err(|_| bad("Schnorr proof of a coefficient does not verify"))?;
        }
        Ok(())
    }

    /// [`Self::check`] with every equation evaluated at once; errors name the dealer.
    pub fn verify(&self, params: &CeremonyParams, manifest_hash: &Hash32) -> Result<()> {
        self.check(params, manifest_hash, &mut SingleVerifier)
    }

    /// Σ_j l^j·K_ij = P_i(l)·G: what share l must match (protocol-spec/06-ceremony.md §6.6).
    pub fn expected_share_point(&self, recipient: TrusteeIndex) -> Point {
        eval_public(&self.commitments, recipient.to_scalar())
    }

    /// Check a share `s = P_i(l)` against the commitments: s·G = Σ_j l^j·K_ij
    /// (protocol-spec/06-ceremony.md §6.6). The commitments must have passed
    /// [`Self::verify`].
    pub fn verify_share(&self, recipient: TrusteeIndex, share: &Scalar) -> Result<()> {
        if share.mul_base() == self.expected_share_point(recipient) {
            Ok(())
        } else {
            Err(CryptoError::Trustee {
                dealer: self.dealer.0,
                reason: "share fails the commitment check P_i(l)·G = Σ_j l^j·K_ij",
            })
        }
    }
}

/// Verify a full set of reveals: one per trustee 1..=n, each passing
/// [`CoefficientCommitments::verify`] (protocol-spec/06-ceremony.md §6.4).
pub fn verify_commitments(
    params: &CeremonyParams,
    manifest_hash: &Hash32,
    reveals: &[CoefficientCommitments],
) -> Result<()> {
    check_complete_set(
        params,
        reveals.iter().map(|r| r.dealer),
        "no coefficient commitments from this trustee",
    )?;
    reveals
        .iter()
        .try_for_each(|r| r.verify(params, manifest_hash))
}

/// Check that every reveal matches its dealer's posted round-1 hash, and that the posted
/// hashes cover every trustee exactly once (protocol-spec/06-ceremony.md §6.4).
pub fn verify_reveals_match_hashes(
    params: &CeremonyParams,
    manifest_hash: &Hash32,
    posted: &[CeremonyCommitment],
    reveals: &[CoefficientCommitments],
) -> Result<()> {
    check_complete_set(
        params,
        posted.iter().map(|c| c.dealer),
        "no commitment hash from this trustee",
    )?;
    for r in reveals {
        let c =
            posted
                .iter()
                .find(|c| c.dealer == r.dealer)
                .ok_or(CryptoError::UnknownTrustee {
                    trustee: r.dealer.0,
                })?;
        r.check_against(manifest_hash, c)?;
    }
    Ok(())
}

/// The dealer's secret polynomial coefficients; zeroized on drop, never printed.
#[derive(Zeroize, ZeroizeOnDrop)]
struct SecretPolynomial(Vec<Scalar>);

impl core::fmt::Debug for SecretPolynomial {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "SecretPolynomial(<{} coefficients redacted>)",
            self.0.len()
        )
    }
}

impl SecretPolynomial {
    fn eval(&self, at: TrusteeIndex) -> Scalar {
        eval_poly(&self.0, at.to_scalar())
    }
}

/// Trustee i in round 1: it has drawn its polynomial and may post only the hash H_i
/// (protocol-spec/06-ceremony.md §6.3). The coefficient commitments stay hidden until
/// [`Dealer::reveal`], which requires every trustee's hash to be posted first, so no
/// trustee can choose its key after seeing the others' (rushing).
#[derive(Debug)]
pub struct Dealer {
    params: CeremonyParams,
    manifest_hash: Hash32,
    polynomial: SecretPolynomial,
    reveal: CoefficientCommitments,
}

impl Dealer {
    /// Draw P_i with k random non-zero coefficients, commit to each and prove knowledge
    /// of each (protocol-spec/06-ceremony.md §6.3).
    pub fn new(
        params: &CeremonyParams,
        dealer: TrusteeIndex,
        manifest_hash: &Hash32,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<Self> {
        params.check(dealer)?;
        let polynomial = SecretPolynomial((0..params.k).map(|_| nonzero_scalar(rng)).collect());
        let mut commitments = Vec::with_capacity(params.k_usize());
        let mut proofs = Vec::with_capacity(params.k_usize());
        for (j, a) in polynomial.0.iter().enumerate() {
            let k_ij = a.mul_base();
            let mut t = coefficient_transcript(dealer, j, manifest_hash);
            proofs.push(SchnorrProof::prove(&mut t, a, &k_ij, b"", rng));
            commitments.push(k_ij);
        }
        Ok(Self {
            params: *params,
            manifest_hash: *manifest_hash,
            polynomial,
            reveal: CoefficientCommitments {
                dealer,
                commitments,
                proofs,
            },
        })
    }

    /// This dealer's index.
    pub fn dealer(&self) -> TrusteeIndex {
        self.reveal.dealer
    }

    /// The round-1 message to post: `CeremonyCommitment { dealer: i, hash: H_i }`.
    pub fn commitment(&self) -> CeremonyCommitment {
        self.reveal.commitment_message(&self.manifest_hash)
    }

    /// Whether round 1 is complete: `posted` holds a hash from every trustee 1..=n
    /// exactly once, and the one under this dealer's index is its own.
    pub fn ready_to_reveal(&self, posted: &[CeremonyCommitment]) -> Result<()> {
        check_complete_set(
            &self.params,
            posted.iter().map(|c| c.dealer),
            "no commitment hash from this trustee yet",
        )?;
        let mine = self.commitment();
        if posted.contains(&mine) {
            Ok(())
        } else {
            Err(CryptoError::Trustee {
                dealer: mine.dealer.0,
                reason: "the posted commitment hash under this index is not this dealer's",
            })
        }
    }

    /// Enter round 2 once [`Self::ready_to_reveal`] holds (protocol-spec/06-ceremony.md
    /// §6.4). Consumes the round-1 state; call `ready_to_reveal` first to keep it on
    /// failure.
    pub fn reveal(self, posted: &[CeremonyCommitment]) -> Result<RevealedDealer> {
        self.ready_to_reveal(posted)?;
        Ok(RevealedDealer { inner: self })
    }

    /// The secret polynomial's coefficients (k × 32 canonical bytes), for the trustee's
    /// own 0600 state file only, so a ceremony can be resumed after a restart.
    pub fn export_secret(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(32 * self.polynomial.0.len()));
        for a in &self.polynomial.0 {
            out.extend_from_slice(&a.to_bytes());
        }
        out
    }

    /// Restore a dealer from [`Dealer::export_secret`] and its own (public) coefficient
    /// commitments and proofs. Checks a_ij·G = K_ij for every coefficient, so a corrupted
    /// state file cannot silently deal shares that do not match what was committed.
    pub fn restore(
        params: &CeremonyParams,
        manifest_hash: &Hash32,
        secret: &[u8],
        reveal: CoefficientCommitments,
    ) -> Result<Self> {
        params.check(reveal.dealer)?;
        if secret.len() != 32 * params.k_usize() || reveal.commitments.len() != params.k_usize() {
            return Err(CryptoError::Parameter(
                "dealer state must hold exactly k coefficients",
            ));
        }
        let mut coefficients = Vec::with_capacity(params.k_usize());
        for (chunk, k_ij) in secret.chunks_exact(32).zip(&reveal.commitments) {
            let a = Scalar::try_from_bytes(chunk)?;
            if a.mul_base() != *k_ij {
                return Err(CryptoError::Parameter(
                    "dealer state does not match its coefficient commitments",
                ));
            }
            coefficients.push(a);
        }
        reveal.verify(params, manifest_hash)?;
        Ok(Self {
            params: *params,
            manifest_hash: *manifest_hash,
            polynomial: SecretPolynomial(coefficients),
            reveal,
        })
    }

    /// The coefficient commitments and proofs this dealer will reveal.
    pub fn coefficients(&self) -> &CoefficientCommitments {
        &self.reveal
    }
}

/// Trustee i in rounds 2 and 3: its commitments are public; it sends encrypted shares
/// and answers complaints (protocol-spec/06-ceremony.md §6.4–6.6).
#[derive(Debug)]
pub struct RevealedDealer {
    inner: Dealer,
}

impl RevealedDealer {
    /// This dealer's index.
    pub fn dealer(&self) -> TrusteeIndex {
        self.inner.reveal.dealer
    }

    /// The round-2 reveal to post.
    pub fn commitments(&self) -> &CoefficientCommitments {
        &self.inner.reveal
    }

    /// P_i(i), the dealer's share for itself, kept locally (protocol-spec/06-ceremony.md §6.5).
    pub fn own_share(&self) -> SecretScalar {
        SecretScalar::new(self.inner.polynomial.eval(self.dealer()))
    }

    /// Encrypt P_i(l) to one other trustee, after checking its key announcement
    /// (protocol-spec/06-ceremony.md §6.5).
    pub fn encrypt_share(
        &self,
        recipient: &TrusteePublicKey,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<EncryptedShare> {
        self.inner.params.check(recipient.trustee)?;
        recipient.verify(&self.inner.manifest_hash)?;
        let share = Zeroizing::new(self.inner.polynomial.eval(recipient.trustee));
        EncryptedShare::encrypt(
            &self.inner.manifest_hash,
            self.dealer(),
            recipient,
            &share,
            rng,
        )
    }

    /// Encrypt shares to every other trustee. `recipients` must hold the announcement of
    /// every trustee l ≠ i exactly once (its own, if present, is skipped).
    pub fn encrypt_shares(
        &self,
        recipients: &[TrusteePublicKey],
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<Vec<EncryptedShare>> {
        let others: Vec<&TrusteePublicKey> = recipients
            .iter()
            .filter(|r| r.trustee != self.dealer())
            .collect();
        check_complete_set(
            &self.inner.params,
            others
                .iter()
                .map(|r| r.trustee)
                .chain(core::iter::once(self.dealer())),
            "no communication key from this trustee",
        )?;
        others
            .into_iter()
            .map(|r| self.encrypt_share(r, rng))
            .collect()
    }

    /// Answer a complaint by revealing P_i(l) publicly (protocol-spec/06-ceremony.md §6.6).
    /// The revealed share becomes public: one point of P_i, which does not reveal the
    /// joint secret while the other dealers' polynomials stay secret.
    pub fn answer_complaint(&self, complaint: &Complaint) -> Result<ComplaintAnswer> {
        if complaint.dealer != self.dealer() {
            return Err(CryptoError::Parameter("complaint is about another dealer"));
        }
        self.inner.params.check(complaint.recipient)?;
        Ok(ComplaintAnswer {
            dealer: self.dealer(),
            recipient: complaint.recipient,
            share: self.inner.polynomial.eval(complaint.recipient),
        })
    }
}

// ---------------------------------------------------------------------------------------
// §6.5 Encrypted shares
// ---------------------------------------------------------------------------------------

/// HMAC-SHA256 over the concatenation of `parts`.
fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> Result<Zeroizing<[u8; 32]>> {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key)
        .map_err(|_| CryptoError::Parameter("HMAC key length"))?;
    for p in parts {
        mac.update(p);
    }
    Ok(Zeroizing::new(mac.finalize().into_bytes().into()))
}

/// Two 32-byte secret blocks: HKDF's T(1), T(2), used as (k_enc, k_mac).
type KeyBlocks = (Zeroizing<[u8; 32]>, Zeroizing<[u8; 32]>);

/// HKDF-SHA256 (RFC 5869) with L = 64, returned as the two 32-byte output blocks
/// T(1), T(2), via the RustCrypto `hkdf` crate.
fn hkdf_sha256_64(salt: &[u8], ikm: &[u8], info: &[u8]) -> Result<KeyBlocks> {
    let hk = hkdf::Hkdf::<Sha256>::new(Some(salt), ikm);
    let mut okm = Zeroizing::new([0u8; 64]);
    hk.expand(info, okm.as_mut())
        .map_err(|_| CryptoError::Parameter("HKDF output length"))?;
    let mut t1 = Zeroizing::new([0u8; 32]);
    let mut t2 = Zeroizing::new([0u8; 32]);
    let (a, b) = okm.split_at(32);
    t1.copy_from_slice(a);
    t2.copy_from_slice(b);
    Ok((t1, t2))
}

/// The share-encryption keys (k_enc, k_mac) of protocol-spec/06-ceremony.md §6.5.
/// The context binds election, sender, recipient, R and E_l, so a ciphertext cannot be
/// re-addressed or replayed.
fn share_keys(
    manifest_hash: &Hash32,
    dealer: TrusteeIndex,
    recipient: TrusteeIndex,
    r: &Point,
    recipient_key: &Point,
    shared: &Point,
) -> Result<KeyBlocks> {
    let mut info = Vec::with_capacity(32 + 4 + 4 + 32 + 32);
    info.extend_from_slice(&manifest_hash.0);
    info.extend_from_slice(&dealer.0.to_be_bytes());
    info.extend_from_slice(&recipient.0.to_be_bytes());
    info.extend_from_slice(r.as_bytes());
    info.extend_from_slice(recipient_key.as_bytes());
    hkdf_sha256_64(labels::SHARE_KDF, shared.as_bytes(), &info)
}

fn xor32(a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    for ((o, x), y) in out.iter_mut().zip(a).zip(b) {
        *o = x ^ y;
    }
    out
}

mod hex32 {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(b: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(b))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        let v = hex::decode(s.as_ref()).map_err(serde::de::Error::custom)?;
        <[u8; 32]>::try_from(v.as_slice())
            .map_err(|_| serde::de::Error::custom("expected 32 bytes of hexadecimal"))
    }
}

/// P_i(l) encrypted to trustee l by hashed ElGamal with encrypt-then-MAC
/// (protocol-spec/06-ceremony.md §6.5).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EncryptedShare {
    /// Sender i.
    pub dealer: TrusteeIndex,
    /// Recipient l.
    pub recipient: TrusteeIndex,
    /// R = ρ·G.
    pub r: Point,
    /// Share bytes XOR k_enc.
    #[serde(with = "hex32")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^[0-9a-f]{64}$"))]
    pub ciphertext: [u8; 32],
    /// HMAC-SHA256(k_mac, R ‖ ciphertext).
    #[serde(with = "hex32")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^[0-9a-f]{64}$"))]
    pub tag: [u8; 32],
}

impl EncryptedShare {
    /// Encrypt `share` from `dealer` to `recipient` (whose announcement the caller has
    /// verified). Prefer [`RevealedDealer::encrypt_share`], which evaluates and checks.
    pub fn encrypt(
        manifest_hash: &Hash32,
        dealer: TrusteeIndex,
        recipient: &TrusteePublicKey,
        share: &Scalar,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<Self> {
        if dealer == recipient.trustee {
            return Err(CryptoError::Parameter(
                "a dealer keeps its own share; it does not encrypt it",
            ));
        }
        recipient
            .communication_key
            .ensure_not_identity("communication key")?;
        let rho = SecretScalar::new(nonzero_scalar(rng));
        let r = rho.public();
        let shared = rho.expose().mul_point(&recipient.communication_key);
        let (k_enc, k_mac) = share_keys(
            manifest_hash,
            dealer,
            recipient.trustee,
            &r,
            &recipient.communication_key,
            &shared,
        )?;
        let plain = Zeroizing::new(share.to_bytes());
        let ciphertext = xor32(&plain, &k_enc);
        let tag = hmac_sha256(k_mac.as_ref(), &[r.as_bytes(), &ciphertext])?;
        Ok(Self {
            dealer,
            recipient: recipient.trustee,
            r,
            ciphertext,
            tag: *tag,
        })
    }

    /// Authenticate and decrypt with the recipient's keys (protocol-spec/06-ceremony.md
    /// §6.5). The tag is checked in constant time before anything is decrypted; any
    /// tampering (or the wrong key or context) gives [`CryptoError::ShareDecryption`].
    /// An authentic plaintext that is not a canonical scalar is the dealer's fault.
    pub fn decrypt(&self, manifest_hash: &Hash32, keys: &TrusteeKeys) -> Result<SecretScalar> {
        let fail = CryptoError::ShareDecryption {
            dealer: self.dealer.0,
            recipient: self.recipient.0,
        };
        // R = identity would make S the identity: a key everyone knows.
        if self.r.is_identity() {
            return Err(fail);
        }
        let shared = keys.communication_secret.expose().mul_point(&self.r);
        let (k_enc, k_mac) = share_keys(
            manifest_hash,
            self.dealer,
            self.recipient,
            &self.r,
            &keys.communication_key,
            &shared,
        )?;
        let mut mac = <HmacSha256 as Mac>::new_from_slice(k_mac.as_ref())
            .map_err(|_| CryptoError::Parameter("HMAC key length"))?;
        mac.update(self.r.as_bytes());
        mac.update(&self.ciphertext);
        // `verify_slice` compares in constant time.
        mac.verify_slice(&self.tag).map_err(|_| fail)?;
        let plain = Zeroizing::new(xor32(&self.ciphertext, &k_enc));
        let mut s = Scalar::try_from_bytes(plain.as_ref()).map_err(|_| CryptoError::Trustee {
            dealer: self.dealer.0,
            reason: "decrypted share is not a canonical scalar",
        })?;
        let out = SecretScalar::new(s);
        s.zeroize();
        Ok(out)
    }
}

// ---------------------------------------------------------------------------------------
// §6.6 Round 3: check, complaints, answers
// ---------------------------------------------------------------------------------------

/// Recipient l's public complaint that dealer i's share is missing, does not decrypt or
/// fails the commitment check (protocol-spec/06-ceremony.md §6.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Complaint {
    /// The accused dealer i.
    pub dealer: TrusteeIndex,
    /// The complaining recipient l.
    pub recipient: TrusteeIndex,
}

/// Dealer i's answer to a complaint: P_i(l) in the clear (protocol-spec/06-ceremony.md §6.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ComplaintAnswer {
    /// The dealer i.
    pub dealer: TrusteeIndex,
    /// The recipient l who complained.
    pub recipient: TrusteeIndex,
    /// P_i(l), now public.
    pub share: Scalar,
}

/// What recipient l makes of one encrypted share (protocol-spec/06-ceremony.md §6.6).
#[derive(Debug)]
pub enum ShareVerdict {
    /// The share decrypts and matches the dealer's commitments.
    Accepted(SecretScalar),
    /// It does not: post this complaint.
    Complaint(Complaint),
}

/// Recipient l decrypts dealer i's share and checks it against i's commitments (which
/// must have passed [`CoefficientCommitments::verify`]); every failure of the dealer's
/// (bad tag, non-canonical plaintext, wrong value) becomes a complaint
/// (protocol-spec/06-ceremony.md §6.6). Errors are only for mismatched inputs.
pub fn receive_share(
    manifest_hash: &Hash32,
    recipient: TrusteeIndex,
    keys: &TrusteeKeys,
    dealer_commitments: &CoefficientCommitments,
    encrypted: &EncryptedShare,
) -> Result<ShareVerdict> {
    if encrypted.recipient != recipient {
        return Err(CryptoError::Parameter(
            "encrypted share is addressed to another trustee",
        ));
    }
    if encrypted.dealer != dealer_commitments.dealer {
        return Err(CryptoError::Parameter(
            "encrypted share and commitments are from different dealers",
        ));
    }
    let complaint = Complaint {
        dealer: encrypted.dealer,
        recipient,
    };
    match encrypted.decrypt(manifest_hash, keys) {
        Ok(share)
            if dealer_commitments
                .verify_share(recipient, share.expose())
                .is_ok() =>
        {
            Ok(ShareVerdict::Accepted(share))
        }
        _ => Ok(ShareVerdict::Complaint(complaint)),
    }
}

/// Anyone's judgement of a complaint (protocol-spec/06-ceremony.md §6.6). `answer` is the
/// dealer's answer for this (dealer, recipient), or `None` if it posted none. Returns the
/// now-public share, which the recipient uses instead of the encrypted one; or an error
/// naming the dealer, who is disqualified.
pub fn judge_complaint(
    dealer_commitments: &CoefficientCommitments,
    complaint: &Complaint,
    answer: Option<&ComplaintAnswer>,
) -> Result<Scalar> {
    if complaint.dealer != dealer_commitments.dealer {
        return Err(CryptoError::Parameter(
            "complaint and commitments are about different dealers",
        ));
    }
    let answer = answer.ok_or(CryptoError::Trustee {
        dealer: complaint.dealer.0,
        reason: "disqualified: did not answer a complaint",
    })?;
    if answer.dealer != complaint.dealer || answer.recipient != complaint.recipient {
        return Err(CryptoError::Parameter(
            "complaint answer does not match the complaint",
        ));
    }
    dealer_commitments
        .verify_share(complaint.recipient, &answer.share)
        .map_err(|_| CryptoError::Trustee {
            dealer: complaint.dealer.0,
            reason: "disqualified: the publicly revealed share fails the commitment check",
        })?;
    Ok(answer.share)
}

// ---------------------------------------------------------------------------------------
// §6.7 Results
// ---------------------------------------------------------------------------------------

/// Trustee l's secret key share x_l = Σ_i P_i(l) (protocol-spec/06-ceremony.md §6.7).
/// Zeroized on drop, never printed.
#[derive(Clone)]
pub struct KeyShare {
    trustee: TrusteeIndex,
    secret: SecretScalar,
}

impl core::fmt::Debug for KeyShare {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("KeyShare")
            .field("trustee", &self.trustee)
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl KeyShare {
    /// Sum the shares P_i(l) received from every dealer i = 1..=n (including l's own
    /// P_l(l) and any share revealed by a complaint answer), each exactly once.
    pub fn combine(
        params: &CeremonyParams,
        trustee: TrusteeIndex,
        shares: &[(TrusteeIndex, SecretScalar)],
    ) -> Result<Self> {
        let all: Vec<TrusteeIndex> = params.indices().collect();
        Self::combine_qualified(params, trustee, shares, &all)
    }

    /// Sum the shares P_j(l) from exactly the qualified dealers j ∈ QUAL (including l's
    /// own and any share revealed by an answer), each once: a disqualified dealer's
    /// polynomial is not part of the joint key ([`JointPublicKeys::from_qualified`]), so
    /// its share must not be part of x_l either.
    pub fn combine_qualified(
        params: &CeremonyParams,
        trustee: TrusteeIndex,
        shares: &[(TrusteeIndex, SecretScalar)],
        qualified: &[TrusteeIndex],
    ) -> Result<Self> {
        params.check(trustee)?;
        check_distinct(params, qualified.iter().copied())?;
        check_distinct(params, shares.iter().map(|(i, _)| *i))?;
        if let Some((i, _)) = shares.iter().find(|(i, _)| !qualified.contains(i)) {
            return Err(CryptoError::Trustee {
                dealer: i.0,
                reason: "share from a dealer outside the qualified set",
            });
        }
        if let Some(q) = qualified
            .iter()
            .find(|q| !shares.iter().any(|(i, _)| i == *q))
        {
            return Err(CryptoError::Trustee {
                dealer: q.0,
                reason: "no share from this qualified dealer",
            });
        }
        let mut acc = Scalar::ZERO;
        for (_, s) in shares {
            acc = acc + *s.expose();
        }
        let secret = SecretScalar::new(acc);
        acc.zeroize();
        Ok(Self { trustee, secret })
    }

    /// The trustee l.
    pub fn trustee(&self) -> TrusteeIndex {
        self.trustee
    }

    /// The secret x_l.
    pub fn secret(&self) -> &SecretScalar {
        &self.secret
    }

    /// X_l = x_l·G.
    pub fn public(&self) -> Point {
        self.secret.public()
    }

    /// Check x_l·G against the public share everyone computes from the commitments.
    pub fn check(&self, joint: &JointPublicKeys) -> Result<()> {
        if *joint.public_share(self.trustee)? == self.public() {
            Ok(())
        } else {
            Err(CryptoError::Trustee {
                dealer: self.trustee.0,
                reason: "key share does not match the public share X_l",
            })
        }
    }
}

/// The ceremony's public outcome: the election key K and every trustee's public share
/// X_l (protocol-spec/06-ceremony.md §6.7). Anyone recomputes it from the reveals.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(try_from = "RawJointPublicKeys")]
pub struct JointPublicKeys {
    params: CeremonyParams,
    election_key: ElectionPublicKey,
    /// X_1, …, X_n.
    public_shares: Vec<Point>,
}

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
struct RawJointPublicKeys {
    params: CeremonyParams,
    election_key: ElectionPublicKey,
    public_shares: Vec<Point>,
}

impl TryFrom<RawJointPublicKeys> for JointPublicKeys {
    type Error = CryptoError;
    fn try_from(r: RawJointPublicKeys) -> Result<Self> {
        if r.public_shares.len() != r.params.n as usize {
            return Err(CryptoError::Parameter(
                "expected one public share per trustee",
            ));
        }
        Ok(Self {
            params: r.params,
            election_key: r.election_key,
            public_shares: r.public_shares,
        })
    }
}

impl JointPublicKeys {
    /// Verify every reveal ([`verify_commitments`]) and compute C_j = Σ_i K_ij,
    /// K = C_0 (rejecting the identity) and X_l = Σ_j l^j·C_j
    /// (protocol-spec/06-ceremony.md §6.7).
    pub fn from_commitments(
        params: &CeremonyParams,
        manifest_hash: &Hash32,
        reveals: &[CoefficientCommitments],
    ) -> Result<Self> {
        let all: Vec<TrusteeIndex> = params.indices().collect();
        Self::from_qualified(params, manifest_hash, reveals, &all)
    }

    /// The joint keys over the qualified set QUAL only (protocol-spec/06-ceremony.md
    /// §6.7, §6.11): every reveal is still verified (all n were revealed before any
    /// dealer could be disqualified), but only QUAL dealers' polynomials are summed,
    /// K = Σ_{j∈QUAL} K_j0 and X_l = Σ_{j∈QUAL} Σ_m l^m·K_jm for every l = 1..=n. A
    /// disqualified dealer's polynomial is excluded because its shares are in dispute;
    /// QUAL must keep at least k dealers, or k honest trustees could not decrypt.
    pub fn from_qualified(
        params: &CeremonyParams,
        manifest_hash: &Hash32,
        reveals: &[CoefficientCommitments],
        qualified: &[TrusteeIndex],
    ) -> Result<Self> {
        verify_commitments(params, manifest_hash, reveals)?;
        let count = check_distinct(params, qualified.iter().copied())?;
        if count < params.k_usize() {
            return Err(CryptoError::Parameter(
                "fewer qualified trustees than the threshold k",
            ));
        }
        let mut aggregate = vec![RistrettoPoint::default(); params.k_usize()];
        for r in reveals.iter().filter(|r| qualified.contains(&r.dealer)) {
            for (c, k_ij) in aggregate.iter_mut().zip(&r.commitments) {
                *c += k_ij.as_point();
            }
        }
        let aggregate: Vec<Point> = aggregate.into_iter().map(Point::from_point).collect();
        let k0 = aggregate
            .first()
            .copied()
            .ok_or(CryptoError::Parameter("threshold k must be at least 1"))?;
        let election_key = ElectionPublicKey::new(k0)?;
        let public_shares = params
            .indices()
            .map(|l| eval_public(&aggregate, l.to_scalar()))
            .collect();
        Ok(Self {
            params: *params,
            election_key,
            public_shares,
        })
    }

    /// [`Self::from_commitments`] after checking every reveal against the round-1 hashes
    /// ([`verify_reveals_match_hashes`]): the full public check of a ceremony.
    pub fn from_ceremony(
        params: &CeremonyParams,
        manifest_hash: &Hash32,
        posted: &[CeremonyCommitment],
        reveals: &[CoefficientCommitments],
    ) -> Result<Self> {
        verify_reveals_match_hashes(params, manifest_hash, posted, reveals)?;
        Self::from_commitments(params, manifest_hash, reveals)
    }

    /// The ceremony parameters.
    pub fn params(&self) -> &CeremonyParams {
        &self.params
    }

    /// The joint election key K.
    pub fn election_key(&self) -> &ElectionPublicKey {
        &self.election_key
    }

    /// X_l for trustee l.
    pub fn public_share(&self, trustee: TrusteeIndex) -> Result<&Point> {
        self.params.check(trustee)?;
        self.public_shares
            .get(trustee.slot())
            .ok_or(CryptoError::UnknownTrustee { trustee: trustee.0 })
    }

    /// Check many decryption shares in one batch; if the batch fails, re-check each on its
    /// own and return the first named culprit (protocol-spec/06-ceremony.md §6.8).
    pub fn verify_decryption_shares(
        &self,
        manifest_hash: &Hash32,
        ciphertexts: &[Ciphertext],
        shares: &[DecryptionShare],
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<()> {
        check_distinct(&self.params, shares.iter().map(|s| s.trustee))?;
        let mut batch = BatchVerifier::new(rng);
        for s in shares {
            s.check(
                manifest_hash,
                self.public_share(s.trustee)?,
                ciphertexts,
                &mut batch,
            )?;
        }
        if batch.finish().is_ok() {
            return Ok(());
        }
        for s in shares {
            s.verify(manifest_hash, self.public_share(s.trustee)?, ciphertexts)?;
        }
        Err(CryptoError::ProofInvalid {
            proof: "batch",
            reason: "batch failed but no single share fails; retry verification",
        })
    }

    /// Verify the shares, then [`combine`] them: t_p·G for every ciphertext.
    pub fn verify_and_combine(
        &self,
        manifest_hash: &Hash32,
        ciphertexts: &[Ciphertext],
        shares: &[DecryptionShare],
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<Vec<Point>> {
        self.verify_decryption_shares(manifest_hash, ciphertexts, shares, rng)?;
        combine(&self.params, ciphertexts, shares)
    }
}

// ---------------------------------------------------------------------------------------
// §6.8 Decryption shares
// ---------------------------------------------------------------------------------------

fn decryption_transcript(
    trustee: TrusteeIndex,
    position: usize,
    manifest_hash: &Hash32,
) -> Transcript {
    let mut t = new_transcript(labels::PURPOSE_DECRYPTION, manifest_hash);
    t.append_u64_le(labels::TRUSTEE, trustee.to_u64());
    t.append_u64_le(labels::POSITION, position as u64);
    t
}

/// Trustee l's partial decryptions D_p = x_l·A_p of a list of ciphertexts, each with a
/// DLEQ proof log_G X_l = log_{A_p} D_p (protocol-spec/06-ceremony.md §6.8).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DecryptionShare {
    /// The trustee l.
    pub trustee: TrusteeIndex,
    /// D_p = x_l·A_p, in ciphertext order.
    pub shares: Vec<Point>,
    /// One DLEQ proof per ciphertext, same order.
    pub proofs: Vec<DleqProof>,
}

impl DecryptionShare {
    /// Partially decrypt every ciphertext with `key_share` and prove each.
    pub fn create(
        key_share: &KeyShare,
        manifest_hash: &Hash32,
        ciphertexts: &[Ciphertext],
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Self {
        let x = key_share.secret.expose();
        let x_pub = key_share.public();
        let mut shares = Vec::with_capacity(ciphertexts.len());
        let mut proofs = Vec::with_capacity(ciphertexts.len());
        for (p, ct) in ciphertexts.iter().enumerate() {
            let d = x.mul_point(&ct.a);
            let mut t = decryption_transcript(key_share.trustee, p, manifest_hash);
            proofs.push(DleqProof::prove(&mut t, x, &ct.a, &x_pub, &d, rng));
            shares.push(d);
        }
        Self {
            trustee: key_share.trustee,
            shares,
            proofs,
        }
    }

    /// Hand every proof's equations to `eq` (for batching) against this trustee's public
    /// share X_l. Structural errors and, with a [`SingleVerifier`], bad proofs name the
    /// trustee and the ciphertext position.
    pub fn check(
        &self,
        manifest_hash: &Hash32,
        public_share: &Point,
        ciphertexts: &[Ciphertext],
        eq: &mut impl Equations,
    ) -> Result<()> {
        let bad = |position, reason| CryptoError::InvalidDecryptionShare {
            trustee: self.trustee.0,
            position,
            reason,
        };
        let n = ciphertexts.len();
        if self.shares.len() != n || self.proofs.len() != n {
            return Err(bad(
                self.shares.len().min(self.proofs.len()).min(n),
                "number of shares or proofs differs from the number of ciphertexts",
            ));
        }
        for (p, ((ct, d), proof)) in ciphertexts
            .iter()
            .zip(&self.shares)
            .zip(&self.proofs)
            .enumerate()
        {
            let mut t = decryption_transcript(self.trustee, p, manifest_hash);
            proof
                .check(&mut t, &ct.a, false, public_share, d, eq)
                .map_err(|_| bad(p, "DLEQ proof log_G X_l = log_A D does not verify"))?;
        }
        Ok(())
    }

    /// [`Self::check`] evaluated at once.
    pub fn verify(
        &self,
        manifest_hash: &Hash32,
        public_share: &Point,
        ciphertexts: &[Ciphertext],
    ) -> Result<()> {
        self.check(
            manifest_hash,
            public_share,
            ciphertexts,
            &mut SingleVerifier,
        )
    }
}

// ---------------------------------------------------------------------------------------
// §6.9 Combination
// ---------------------------------------------------------------------------------------

/// λ_l = Π_{m∈set, m≠l} m/(m − l), the Lagrange coefficient at 0
/// (protocol-spec/06-ceremony.md §6.9). `set` must be distinct and contain `l`.
pub fn lagrange_coefficient(set: &[TrusteeIndex], l: TrusteeIndex) -> Result<Scalar> {
    for (pos, m) in set.iter().enumerate() {
        if set.iter().skip(pos + 1).any(|other| other == m) {
            return Err(CryptoError::DuplicateTrustee { trustee: m.0 });
        }
    }
    if !set.contains(&l) {
        return Err(CryptoError::UnknownTrustee { trustee: l.0 });
    }
    let xl = l.to_scalar();
    let mut num = Scalar::ONE;
    let mut den = Scalar::ONE;
    for m in set.iter().filter(|m| **m != l) {
        let xm = m.to_scalar();
        num = num * xm;
        den = den * (xm - xl);
    }
    // Distinct indices below the group order, so den ≠ 0.
    Ok(num * den.invert())
}

/// Combine verified decryption shares from at least k distinct trustees:
/// t_p·G = B_p − Σ_l λ_l·D_{l,p} for each ciphertext (protocol-spec/06-ceremony.md §6.9).
/// This does not check proofs: use [`JointPublicKeys::verify_and_combine`] unless the
/// shares were verified already.
pub fn combine(
    params: &CeremonyParams,
    ciphertexts: &[Ciphertext],
    shares: &[DecryptionShare],
) -> Result<Vec<Point>> {
    let distinct = check_distinct(params, shares.iter().map(|s| s.trustee))?;
    if distinct < params.k_usize() {
        return Err(CryptoError::TooFewShares {
            got: distinct,
            needed: params.k,
        });
    }
    for s in shares {
        if s.shares.len() != ciphertexts.len() {
            return Err(CryptoError::InvalidDecryptionShare {
                trustee: s.trustee.0,
                position: s.shares.len().min(ciphertexts.len()),
                reason: "number of shares differs from the number of ciphertexts",
            });
        }
    }
    let set: Vec<TrusteeIndex> = shares.iter().map(|s| s.trustee).collect();
    let neg_lambdas = set
        .iter()
        .map(|l| lagrange_coefficient(&set, *l).map(|lambda| (-lambda).0))
        .collect::<Result<Vec<_>>>()?;
    ciphertexts
        .iter()
        .enumerate()
        .map(|(p, ct)| {
            // Collected first: dalek's multiscalar multiplication asserts that both
            // iterators report exact, equal lengths.
            let mut points = Vec::with_capacity(shares.len() + 1);
            let mut scalars = Vec::with_capacity(shares.len() + 1);
            points.push(*ct.b.as_point());
            scalars.push(curve25519_dalek::Scalar::ONE);
            for (s, neg_lambda) in shares.iter().zip(&neg_lambdas) {
                let d = s.shares.get(p).ok_or(CryptoError::InvalidDecryptionShare {
                    trustee: s.trustee.0,
                    position: p,
                    reason: "number of shares differs from the number of ciphertexts",
                })?;
                points.push(*d.as_point());
                scalars.push(*neg_lambda);
            }
            Ok(Point::from_point(RistrettoPoint::vartime_multiscalar_mul(
                scalars, points,
            )))
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::dlog::DlogTable;
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    fn rng(seed: u64) -> ChaCha20Rng {
        ChaCha20Rng::seed_from_u64(seed)
    }

    fn mh() -> Hash32 {
        Hash32::sha256(&[b"vox test manifest"])
    }

    fn idx(i: u32) -> TrusteeIndex {
        TrusteeIndex::new(i).unwrap()
    }

    /// Everything a finished ceremony leaves behind.
    struct Ceremony {
        params: CeremonyParams,
        keys: Vec<TrusteeKeys>,
        announcements: Vec<TrusteePublicKey>,
        dealers: Vec<RevealedDealer>,
        posted: Vec<CeremonyCommitment>,
        reveals: Vec<CoefficientCommitments>,
        joint: JointPublicKeys,
        key_shares: Vec<KeyShare>,
    }

    fn run_ceremony(n: u32, k: u32, seed: u64) -> Ceremony {
        let mut rng = rng(seed);
        let params = CeremonyParams::new(n, k).unwrap();
        let mh = mh();
        let keys: Vec<TrusteeKeys> = params
            .indices()
            .map(|_| TrusteeKeys::generate(&mut rng))
            .collect();
        let announcements: Vec<TrusteePublicKey> = params
            .indices()
            .zip(&keys)
            .map(|(i, kp)| kp.announce(i, &mh, &mut rng))
            .collect();
        for a in &announcements {
            a.verify(&mh).unwrap();
        }
        // Round 1: hashes only.
        let dealers: Vec<Dealer> = params
            .indices()
            .map(|i| Dealer::new(&params, i, &mh, &mut rng).unwrap())
            .collect();
        let posted: Vec<CeremonyCommitment> = dealers.iter().map(Dealer::commitment).collect();
        // Round 2: reveal once every hash is posted.
        let dealers: Vec<RevealedDealer> = dealers
            .into_iter()
            .map(|d| d.reveal(&posted).unwrap())
            .collect();
        let reveals: Vec<CoefficientCommitments> =
            dealers.iter().map(|d| d.commitments().clone()).collect();
        let joint = JointPublicKeys::from_ceremony(&params, &mh, &posted, &reveals).unwrap();
        let encrypted: Vec<EncryptedShare> = dealers
            .iter()
            .flat_map(|d| d.encrypt_shares(&announcements, &mut rng).unwrap())
            .collect();
        assert_eq!(encrypted.len(), (n * (n - 1)) as usize);
        // Round 3: every recipient checks and sums its shares.
        let key_shares: Vec<KeyShare> = params
            .indices()
            .map(|l| {
                let mut shares = vec![(l, dealers[l.slot()].own_share())];
                for e in encrypted.iter().filter(|e| e.recipient == l) {
                    match receive_share(&mh, l, &keys[l.slot()], &reveals[e.dealer.slot()], e)
                        .unwrap()
                    {
                        ShareVerdict::Accepted(s) => shares.push((e.dealer, s)),
                        ShareVerdict::Complaint(c) => panic!("unexpected complaint {c:?}"),
                    }
                }
                let ks = KeyShare::combine(&params, l, &shares).unwrap();
                ks.check(&joint).unwrap();
                ks
            })
            .collect();
        Ceremony {
            params,
            keys,
            announcements,
            dealers,
            posted,
            reveals,
            joint,
            key_shares,
        }
    }

    fn subsets<T: Clone>(items: &[T], k: usize) -> Vec<Vec<T>> {
        if k == 0 {
            return vec![vec![]];
        }
        if items.len() < k {
            return vec![];
        }
        let mut out = Vec::new();
        for (pos, first) in items.iter().enumerate() {
            for mut rest in subsets(&items[pos + 1..], k - 1) {
                rest.insert(0, first.clone());
                out.push(rest);
            }
        }
        out
    }

    /// Encrypt ballots under the joint key and return the per-option tally ciphertexts
    /// and the expected counts.
    fn tally(c: &Ceremony, seed: u64) -> (Vec<Ciphertext>, Vec<u64>) {
        let mut rng = rng(seed);
        let ballots: [[u64; 3]; 7] = [
            [1, 0, 0],
            [0, 1, 0],
            [1, 0, 1],
            [1, 1, 1],
            [0, 0, 0],
            [1, 0, 0],
            [0, 0, 1],
        ];
        let mut cts = vec![Ciphertext::zero(); 3];
        let mut expected = vec![0u64; 3];
        for b in ballots {
            for (opt, v) in b.iter().enumerate() {
                let (ct, _) = Ciphertext::encrypt(c.joint.election_key(), *v, &mut rng);
                cts[opt] = cts[opt].add(&ct);
                expected[opt] += v;
            }
        }
        (cts, expected)
    }

    /// Dealer 2 of 4 (k = 2) is disqualified: the joint key is over QUAL = {1, 3, 4},
    /// every remaining trustee's x_l sums only QUAL shares and matches X_l, and every
    /// k-subset of the remaining trustees decrypts a tally under the QUAL key.
    #[test]
    fn qualified_subset_key_decrypts_without_the_disqualified_dealer() {
        let table = DlogTable::new(100).unwrap();
        let mh = mh();
        let mut c = run_ceremony(4, 2, 77);
        let qual = [idx(1), idx(3), idx(4)];
        let joint = JointPublicKeys::from_qualified(&c.params, &mh, &c.reveals, &qual).unwrap();
        let sum = qual.iter().fold(Point::identity(), |acc, q| {
            acc + c.reveals[q.slot()].commitments[0]
        });
        assert_eq!(*joint.election_key().point(), sum);
        assert_ne!(joint.election_key(), c.joint.election_key());
        // Each remaining trustee's share over QUAL, rebuilt from the dealers' polynomials.
        let key_shares: Vec<KeyShare> = qual
            .iter()
            .map(|l| {
                let shares: Vec<(TrusteeIndex, SecretScalar)> = qual
                    .iter()
                    .map(|j| {
                        (
                            *j,
                            SecretScalar::new(c.dealers[j.slot()].inner.polynomial.eval(*l)),
                        )
                    })
                    .collect();
                let ks = KeyShare::combine_qualified(&c.params, *l, &shares, &qual).unwrap();
                ks.check(&joint).unwrap();
                ks
            })
            .collect();
        // The full-set share does not match the QUAL public share.
        assert!(c.key_shares[0].check(&joint).is_err());
        c.joint = joint.clone();
        let (cts, expected) = tally(&c, 5);
        let mut rng = rng(11);
        let all: Vec<DecryptionShare> = key_shares
            .iter()
            .map(|ks| DecryptionShare::create(ks, &mh, &cts, &mut rng))
            .collect();
        for sub in subsets(&all, 2) {
            let points = joint.verify_and_combine(&mh, &cts, &sub, &mut rng).unwrap();
            let got: Vec<u64> = points.iter().map(|p| table.solve(p).unwrap()).collect();
            assert_eq!(got, expected);
        }
        // Too few qualified dealers, or a share from outside QUAL, are refused.
        assert!(JointPublicKeys::from_qualified(&c.params, &mh, &c.reveals, &[idx(1)]).is_err());
        let with_bad: Vec<(TrusteeIndex, SecretScalar)> = c
            .params
            .indices()
            .map(|j| {
                (
                    j,
                    SecretScalar::new(c.dealers[j.slot()].inner.polynomial.eval(idx(1))),
                )
            })
            .collect();
        assert!(KeyShare::combine_qualified(&c.params, idx(1), &with_bad, &qual).is_err());
    }

    #[test]
    fn full_ceremony_and_every_k_subset_decrypts() {
        let table = DlogTable::new(100).unwrap();
        let mh = mh();
        for (n, k) in [(1u32, 1u32), (3, 2), (5, 3)] {
            let c = run_ceremony(n, k, u64::from(n * 100 + k));
            // K = Σ K_i0.
            let sum = c
                .reveals
                .iter()
                .fold(Point::identity(), |acc, r| acc + r.commitments[0]);
            assert_eq!(*c.joint.election_key().point(), sum);
            // Any k key shares interpolate the joint secret.
            let set: Vec<TrusteeIndex> = c.params.indices().take(k as usize).collect();
            let secret = set.iter().fold(Scalar::ZERO, |acc, l| {
                acc + lagrange_coefficient(&set, *l).unwrap()
                    * *c.key_shares[l.slot()].secret().expose()
            });
            assert_eq!(secret.mul_base(), sum);

            let (cts, expected) = tally(&c, 7);
            let mut rng = rng(9);
            let all: Vec<DecryptionShare> = c
                .key_shares
                .iter()
                .map(|ks| DecryptionShare::create(ks, &mh, &cts, &mut rng))
                .collect();
            for s in &all {
                s.verify(&mh, c.joint.public_share(s.trustee).unwrap(), &cts)
                    .unwrap();
            }
            c.joint
                .verify_decryption_shares(&mh, &cts, &all, &mut rng)
                .unwrap();
            let solve = |points: Vec<Point>| -> Vec<u64> {
                points.iter().map(|p| table.solve(p).unwrap()).collect()
            };
            let subs = subsets(&all, k as usize);
            assert!(!subs.is_empty());
            for sub in subs {
                assert_eq!(solve(combine(&c.params, &cts, &sub).unwrap()), expected);
                assert_eq!(
                    solve(
                        c.joint
                            .verify_and_combine(&mh, &cts, &sub, &mut rng)
                            .unwrap()
                    ),
                    expected
                );
            }
            // More than k shares also work.
            assert_eq!(solve(combine(&c.params, &cts, &all).unwrap()), expected);

            // Fewer than k fails.
            if k > 1 {
                let few = &all[..(k - 1) as usize];
                assert_eq!(
                    combine(&c.params, &cts, few).unwrap_err(),
                    CryptoError::TooFewShares {
                        got: (k - 1) as usize,
                        needed: k
                    }
                );
            }
            assert!(matches!(
                combine(&c.params, &cts, &[]).unwrap_err(),
                CryptoError::TooFewShares { got: 0, .. }
            ));
            // A duplicated trustee fails, even when the count would reach k.
            let mut dup: Vec<DecryptionShare> = all[..k as usize].to_vec();
            dup.push(all[0].clone());
            assert_eq!(
                combine(&c.params, &cts, &dup).unwrap_err(),
                CryptoError::DuplicateTrustee { trustee: 1 }
            );
            assert_eq!(
                c.joint
                    .verify_decryption_shares(&mh, &cts, &dup, &mut rng)
                    .unwrap_err(),
                CryptoError::DuplicateTrustee { trustee: 1 }
            );
            // An index outside 1..=n fails.
            let mut unknown = all[0].clone();
            unknown.trustee = idx(n + 1);
            let mut with_unknown = all.clone();
            with_unknown.push(unknown);
            assert_eq!(
                combine(&c.params, &cts, &with_unknown).unwrap_err(),
                CryptoError::UnknownTrustee { trustee: n + 1 }
            );
        }
    }

    #[test]
    fn bad_share_complaint_and_judgement() {
        let c = run_ceremony(3, 2, 11);
        let mh = mh();
        let mut rng = rng(12);
        let (d1, l2) = (idx(1), idx(2));
        let complaint = Complaint {
            dealer: d1,
            recipient: l2,
        };
        let honest = c.dealers[0].answer_complaint(&complaint).unwrap();
        // Dealer 1 sends trustee 2 a wrong value, properly encrypted.
        let wrong = honest.share + Scalar::ONE;
        let enc = EncryptedShare::encrypt(&mh, d1, &c.announcements[1], &wrong, &mut rng).unwrap();
        let verdict = receive_share(&mh, l2, &c.keys[1], &c.reveals[0], &enc).unwrap();
        match verdict {
            ShareVerdict::Complaint(got) => assert_eq!(got, complaint),
            ShareVerdict::Accepted(_) => panic!("a wrong share was accepted"),
        }
        // A good public answer clears the complaint and gives the right share.
        let cleared = judge_complaint(&c.reveals[0], &complaint, Some(&honest)).unwrap();
        assert_eq!(cleared, honest.share);
        c.reveals[0].verify_share(l2, &cleared).unwrap();
        // A bad answer disqualifies the dealer, named.
        let bad = ComplaintAnswer {
            share: wrong,
            ..honest
        };
        let err = judge_complaint(&c.reveals[0], &complaint, Some(&bad)).unwrap_err();
        assert!(
            matches!(err, CryptoError::Trustee { dealer: 1, .. }),
            "{err}"
        );
        // So does no answer.
        let err = judge_complaint(&c.reveals[0], &complaint, None).unwrap_err();
        assert!(
            matches!(err, CryptoError::Trustee { dealer: 1, .. }),
            "{err}"
        );
        // An answer for another recipient is not an answer to this complaint.
        let other = ComplaintAnswer {
            recipient: idx(3),
            ..honest
        };
        assert!(matches!(
            judge_complaint(&c.reveals[0], &complaint, Some(&other)).unwrap_err(),
            CryptoError::Parameter(_)
        ));
        // The dealer only answers complaints about itself.
        assert!(c.dealers[1].answer_complaint(&complaint).is_err());
    }

    #[test]
    fn tampering_any_byte_of_an_encrypted_share_fails_the_mac() {
        let c = run_ceremony(3, 2, 21);
        let mh = mh();
        let mut rng = rng(22);
        let enc = c.dealers[0]
            .encrypt_share(&c.announcements[1], &mut rng)
            .unwrap();
        let keys = &c.keys[1];
        enc.decrypt(&mh, keys).unwrap();
        let fail = CryptoError::ShareDecryption {
            dealer: 1,
            recipient: 2,
        };
        for pos in 0..32 {
            for mask in [0x01u8, 0x80, 0xff] {
                let mut t = enc.clone();
                t.ciphertext[pos] ^= mask;
                assert_eq!(t.decrypt(&mh, keys).unwrap_err(), fail);
                // Through the round-3 check it becomes a complaint.
                assert!(matches!(
                    receive_share(&mh, idx(2), keys, &c.reveals[0], &t).unwrap(),
                    ShareVerdict::Complaint(_)
                ));
                let mut t = enc.clone();
                t.tag[pos] ^= mask;
                assert_eq!(t.decrypt(&mh, keys).unwrap_err(), fail);
            }
        }
        // Another R, the identity R, another election, another key: all fail.
        let mut t = enc.clone();
        t.r = t.r + Point::generator();
        assert_eq!(t.decrypt(&mh, keys).unwrap_err(), fail);
        let mut t = enc.clone();
        t.r = Point::identity();
        assert_eq!(t.decrypt(&mh, keys).unwrap_err(), fail);
        let other_mh = Hash32::sha256(&[b"another election"]);
        assert_eq!(enc.decrypt(&other_mh, keys).unwrap_err(), fail);
        assert_eq!(enc.decrypt(&mh, &c.keys[2]).unwrap_err(), fail);
        // Re-addressing (sender or recipient field) breaks the KDF context.
        let mut t = enc.clone();
        t.dealer = idx(3);
        assert!(matches!(
            t.decrypt(&mh, keys).unwrap_err(),
            CryptoError::ShareDecryption { dealer: 3, .. }
        ));
        let mut t = enc.clone();
        t.recipient = idx(3);
        assert!(t.decrypt(&mh, &c.keys[2]).is_err());
        // Mismatched inputs to receive_share are caller errors, not complaints.
        assert!(receive_share(&mh, idx(3), keys, &c.reveals[0], &enc).is_err());
        assert!(receive_share(&mh, idx(2), keys, &c.reveals[2], &enc).is_err());
    }

    #[test]
    fn reveal_must_match_the_hash_commitment() {
        let c = run_ceremony(3, 2, 31);
        let mh = mh();
        let mut changed = c.reveals.clone();
        changed[1].commitments[1] = changed[1].commitments[1] + Point::generator();
        assert!(matches!(
            changed[1].check_against(&mh, &c.posted[1]).unwrap_err(),
            CryptoError::Trustee { dealer: 2, .. }
        ));
        assert!(matches!(
            JointPublicKeys::from_ceremony(&c.params, &mh, &c.posted, &changed).unwrap_err(),
            CryptoError::Trustee { dealer: 2, .. }
        ));
        // A reordered proof list or another manifest also changes the hash.
        let mut swapped = c.reveals[0].clone();
        swapped.proofs.swap(0, 1);
        assert!(swapped.check_against(&mh, &c.posted[0]).is_err());
        assert!(c.reveals[0]
            .check_against(&Hash32::sha256(&[b"other"]), &c.posted[0])
            .is_err());
        // The hash is the documented encoding.
        let r = &c.reveals[0];
        let mut enc = Vec::new();
        enc.extend_from_slice(b"vox/v2/ceremony-commitment\x00");
        enc.extend_from_slice(&mh.0);
        enc.extend_from_slice(&1u32.to_be_bytes());
        enc.extend_from_slice(&2u32.to_be_bytes());
        for k in &r.commitments {
            enc.extend_from_slice(k.as_bytes());
        }
        enc.extend_from_slice(&2u32.to_be_bytes());
        for p in &r.proofs {
            enc.extend_from_slice(p.t.as_bytes());
            enc.extend_from_slice(&p.z.to_bytes());
        }
        assert_eq!(r.commitment_hash(&mh), Hash32::sha256(&[&enc]));
    }

    #[test]
    fn dealer_reveals_only_after_every_hash_is_posted() {
        let params = CeremonyParams::new(3, 2).unwrap();
        let mh = mh();
        let mut rng = rng(41);
        let dealers: Vec<Dealer> = params
            .indices()
            .map(|i| Dealer::new(&params, i, &mh, &mut rng).unwrap())
            .collect();
        let posted: Vec<CeremonyCommitment> = dealers.iter().map(Dealer::commitment).collect();
        let d = &dealers[0];
        assert!(matches!(
            d.ready_to_reveal(&posted[..2]).unwrap_err(),
            CryptoError::Trustee { dealer: 3, .. }
        ));
        let mut dup = posted.clone();
        dup.push(posted[2]);
        assert_eq!(
            d.ready_to_reveal(&dup).unwrap_err(),
            CryptoError::DuplicateTrustee { trustee: 3 }
        );
        // Someone else's hash under this dealer's index.
        let mut forged = posted.clone();
        forged[0].hash = posted[1].hash;
        assert!(matches!(
            d.ready_to_reveal(&forged).unwrap_err(),
            CryptoError::Trustee { dealer: 1, .. }
        ));
        d.ready_to_reveal(&posted).unwrap();
        assert!(Dealer::new(&params, idx(4), &mh, &mut rng).is_err());
    }

    #[test]
    fn tweaked_coefficient_proofs_fail() {
        let c = run_ceremony(3, 2, 51);
        let mh = mh();
        let base = &c.reveals[2];
        base.verify(&c.params, &mh).unwrap();
        let mut tweaks: Vec<CoefficientCommitments> = Vec::new();
        for j in 0..2 {
            let mut t = base.clone();
            t.proofs[j].z = t.proofs[j].z + Scalar::ONE;
            tweaks.push(t);
            let mut t = base.clone();
            t.proofs[j].t = t.proofs[j].t + Point::generator();
            tweaks.push(t);
            let mut t = base.clone();
            t.commitments[j] = t.commitments[j] + Point::generator();
            tweaks.push(t);
            let mut t = base.clone();
            t.commitments[j] = Point::identity();
            tweaks.push(t);
        }
        let mut t = base.clone();
        t.proofs.swap(0, 1);
        tweaks.push(t);
        let mut t = base.clone();
        t.commitments.swap(0, 1);
        t.proofs.swap(0, 1);
        tweaks.push(t);
        let mut t = base.clone();
        t.commitments.pop();
        t.proofs.pop();
        tweaks.push(t);
        let mut t = base.clone();
        t.commitments.push(t.commitments[0]);
        t.proofs.push(t.proofs[0]);
        tweaks.push(t);
        for t in &tweaks {
            let err = t.verify(&c.params, &mh).unwrap_err();
            assert!(
                matches!(err, CryptoError::Trustee { dealer: 3, .. }),
                "{err}"
            );
            let mut all = c.reveals.clone();
            all[2] = t.clone();
            let err = JointPublicKeys::from_commitments(&c.params, &mh, &all).unwrap_err();
            assert!(
                matches!(err, CryptoError::Trustee { dealer: 3, .. }),
                "{err}"
            );
        }
        // Under another election the proofs do not verify.
        assert!(base
            .verify(&c.params, &Hash32::sha256(&[b"other"]))
            .is_err());
        // Batched: the good set passes, a tweaked one fails in `finish`.
        let mut batch = BatchVerifier::new(rng(52));
        for r in &c.reveals {
            r.check(&c.params, &mh, &mut batch).unwrap();
        }
        batch.finish().unwrap();
        let mut batch = BatchVerifier::new(rng(53));
        tweaks[0].check(&c.params, &mh, &mut batch).unwrap();
        assert!(batch.finish().is_err());
        // Missing, duplicate and unknown dealers in the full set.
        assert!(matches!(
            verify_commitments(&c.params, &mh, &c.reveals[..2]).unwrap_err(),
            CryptoError::Trustee { dealer: 3, .. }
        ));
        let mut dup = c.reveals.clone();
        dup[2] = dup[1].clone();
        assert_eq!(
            verify_commitments(&c.params, &mh, &dup).unwrap_err(),
            CryptoError::DuplicateTrustee { trustee: 2 }
        );
    }

    #[test]
    fn rogue_key_trustee_is_rejected() {
        let c = run_ceremony(3, 2, 61);
        let mh = mh();
        let mut rng = rng(62);
        // Trustee 3 wants K = x·G for an x it alone knows, so it sets
        // K_30 = x·G − K_10 − K_20 — but then it cannot prove knowledge of a_30.
        let x = Scalar::random(&mut rng);
        let rogue = x.mul_base() - c.reveals[0].commitments[0] - c.reveals[1].commitments[0];
        let mut forged = c.reveals[2].clone();
        forged.commitments[0] = rogue;
        let attempts = [c.reveals[2].proofs[0], c.reveals[0].proofs[0], {
            // A proof for x under the rogue key's transcript is still not a proof for rogue.
            let mut t = coefficient_transcript(idx(3), 0, &mh);
            SchnorrProof::prove(&mut t, &x, &rogue, b"", &mut rng)
        }];
        for proof in attempts {
            forged.proofs[0] = proof;
            let mut all = c.reveals.clone();
            all[2] = forged.clone();
            let err = JointPublicKeys::from_commitments(&c.params, &mh, &all).unwrap_err();
            assert!(
                matches!(err, CryptoError::Trustee { dealer: 3, .. }),
                "{err}"
            );
        }
        // Replaying trustee 1's whole reveal as trustee 3 fails: proofs bind the index.
        let mut replay = c.reveals[0].clone();
        replay.dealer = idx(3);
        let mut all = c.reveals.clone();
        all[2] = replay;
        let err = JointPublicKeys::from_commitments(&c.params, &mh, &all).unwrap_err();
        assert!(
            matches!(err, CryptoError::Trustee { dealer: 3, .. }),
            "{err}"
        );
    }

    #[test]
    fn bad_decryption_shares_name_the_trustee() {
        let c = run_ceremony(3, 2, 71);
        let mh = mh();
        let mut rng = rng(72);
        let (cts, _) = tally(&c, 73);
        let shares: Vec<DecryptionShare> = c
            .key_shares
            .iter()
            .map(|ks| DecryptionShare::create(ks, &mh, &cts, &mut rng))
            .collect();
        let x2 = *c.joint.public_share(idx(2)).unwrap();
        let expect = |position| CryptoError::InvalidDecryptionShare {
            trustee: 2,
            position,
            reason: "DLEQ proof log_G X_l = log_A D does not verify",
        };
        let mut tweaks: Vec<(DecryptionShare, CryptoError)> = Vec::new();
        let mut t = shares[1].clone();
        t.proofs[1].z = t.proofs[1].z + Scalar::ONE;
        tweaks.push((t, expect(1)));
        let mut t = shares[1].clone();
        t.shares[2] = t.shares[2] + Point::generator();
        tweaks.push((t, expect(2)));
        let mut t = shares[1].clone();
        t.proofs.swap(0, 1);
        tweaks.push((t, expect(0)));
        let mut t = shares[1].clone();
        t.proofs[0] = shares[0].proofs[0];
        tweaks.push((t, expect(0)));
        // A share made for other ciphertexts.
        let other: Vec<Ciphertext> = cts
            .iter()
            .map(|ct| ct.add(&Ciphertext::encrypt(c.joint.election_key(), 0, &mut rng).0))
            .collect();
        let t = DecryptionShare::create(&c.key_shares[1], &mh, &other, &mut rng);
        tweaks.push((t, expect(0)));
        let mut t = shares[1].clone();
        t.shares.pop();
        tweaks.push((
            t,
            CryptoError::InvalidDecryptionShare {
                trustee: 2,
                position: 2,
                reason: "number of shares or proofs differs from the number of ciphertexts",
            },
        ));
        for (t, err) in tweaks {
            assert_eq!(t.verify(&mh, &x2, &cts).unwrap_err(), err);
            // The batch path falls back and names the same culprit.
            let mut all = shares.clone();
            all[1] = t;
            assert_eq!(
                c.joint
                    .verify_decryption_shares(&mh, &cts, &all, &mut rng)
                    .unwrap_err(),
                err
            );
            assert_eq!(
                c.joint
                    .verify_and_combine(&mh, &cts, &all, &mut rng)
                    .unwrap_err(),
                err
            );
        }
        // Claiming to be another trustee fails against that trustee's public share.
        let mut t = shares[1].clone();
        t.trustee = idx(3);
        assert!(matches!(
            t.verify(&mh, c.joint.public_share(idx(3)).unwrap(), &cts)
                .unwrap_err(),
            CryptoError::InvalidDecryptionShare { trustee: 3, .. }
        ));
        // Another election's transcript.
        assert!(shares[1]
            .verify(&Hash32::sha256(&[b"other"]), &x2, &cts)
            .is_err());
    }

    #[test]
    fn zero_ballot_tally_decrypts_to_zero() {
        let c = run_ceremony(3, 2, 81);
        let mh = mh();
        let mut rng = rng(82);
        let cts = vec![Ciphertext::zero()];
        let shares: Vec<DecryptionShare> = c
            .key_shares
            .iter()
            .map(|ks| DecryptionShare::create(ks, &mh, &cts, &mut rng))
            .collect();
        let out = c
            .joint
            .verify_and_combine(&mh, &cts, &shares, &mut rng)
            .unwrap();
        assert_eq!(out, vec![Point::identity()]);
        // With A = identity a non-identity D cannot be proven.
        let mut bad = shares[0].clone();
        bad.shares[0] = Point::generator();
        assert!(bad
            .verify(&mh, c.joint.public_share(idx(1)).unwrap(), &cts)
            .is_err());
    }

    #[test]
    fn lagrange_coefficients() {
        let set = [idx(1), idx(2)];
        assert_eq!(
            lagrange_coefficient(&set, idx(1)).unwrap(),
            Scalar::from_u64(2)
        );
        assert_eq!(lagrange_coefficient(&set, idx(2)).unwrap(), -Scalar::ONE);
        // They interpolate the constant polynomial 1 at 0, so they sum to 1.
        let set = [idx(1), idx(3), idx(4), idx(7), idx(255)];
        let sum = set.iter().fold(Scalar::ZERO, |a, l| {
            a + lagrange_coefficient(&set, *l).unwrap()
        });
        assert_eq!(sum, Scalar::ONE);
        assert_eq!(
            lagrange_coefficient(&[idx(1), idx(3)], idx(2)).unwrap_err(),
            CryptoError::UnknownTrustee { trustee: 2 }
        );
        assert_eq!(
            lagrange_coefficient(&[idx(1), idx(3), idx(1)], idx(1)).unwrap_err(),
            CryptoError::DuplicateTrustee { trustee: 1 }
        );
        assert_eq!(
            lagrange_coefficient(&[idx(5)], idx(5)).unwrap(),
            Scalar::ONE
        );
    }

    #[test]
    fn parameters_and_indices_are_validated() {
        assert!(CeremonyParams::new(1, 1).is_ok());
        assert!(CeremonyParams::new(255, 255).is_ok());
        assert!(CeremonyParams::new(255, 1).is_ok());
        assert!(CeremonyParams::new(3, 0).is_err());
        assert!(CeremonyParams::new(3, 4).is_err());
        assert!(CeremonyParams::new(0, 0).is_err());
        assert!(CeremonyParams::new(256, 2).is_err());
        assert!(TrusteeIndex::new(0).is_err());
        assert!(TrusteeIndex::new(256).is_err());
        assert_eq!(TrusteeIndex::new(255).unwrap().get(), 255);
        assert!(serde_json::from_str::<TrusteeIndex>("0").is_err());
        assert_eq!(serde_json::from_str::<TrusteeIndex>("7").unwrap(), idx(7));
        assert!(serde_json::from_str::<CeremonyParams>(r#"{"n":3,"k":4}"#).is_err());
        assert!(serde_json::from_str::<CeremonyParams>(r#"{"n":3,"k":2,"x":1}"#).is_err());
        let p: CeremonyParams = serde_json::from_str(r#"{"n":3,"k":2}"#).unwrap();
        assert_eq!((p.n(), p.k()), (3, 2));
        assert_eq!(serde_json::to_string(&p).unwrap(), r#"{"n":3,"k":2}"#);
        let p3 = CeremonyParams::new(3, 2).unwrap();
        assert!(p3.check(idx(3)).is_ok());
        assert_eq!(
            p3.check(idx(4)).unwrap_err(),
            CryptoError::UnknownTrustee { trustee: 4 }
        );
    }

    #[test]
    fn communication_keys_and_share_distribution() {
        let c = run_ceremony(3, 2, 91);
        let mh = mh();
        let mut rng = rng(92);
        let a = c.announcements[0];
        a.verify(&mh).unwrap();
        let mut wrong_index = a;
        wrong_index.trustee = idx(2);
        assert!(matches!(
            wrong_index.verify(&mh).unwrap_err(),
            CryptoError::Trustee { dealer: 2, .. }
        ));
        let mut identity = a;
        identity.communication_key = Point::identity();
        assert!(identity.verify(&mh).is_err());
        assert!(c.dealers[1].encrypt_share(&wrong_index, &mut rng).is_err());
        // Every other trustee's key is needed; a missing one is named.
        assert!(matches!(
            c.dealers[0]
                .encrypt_shares(&c.announcements[..2], &mut rng)
                .unwrap_err(),
            CryptoError::Trustee { dealer: 3, .. }
        ));
        // A dealer does not encrypt to itself.
        assert!(EncryptedShare::encrypt(&mh, idx(1), &a, &Scalar::ONE, &mut rng).is_err());
        // A key share needs one share from every dealer.
        let own = c.dealers[0].own_share();
        assert!(matches!(
            KeyShare::combine(&c.params, idx(1), &[(idx(1), own.clone())]).unwrap_err(),
            CryptoError::Trustee { dealer: 2, .. }
        ));
        assert!(
            KeyShare::combine(&c.params, idx(1), &[(idx(1), own.clone()), (idx(1), own)]).is_err()
        );
    }

    #[test]
    fn signing_and_communication_keys_are_separate_keys() {
        let mut rng = rng(95);
        let keys = TrusteeKeys::generate(&mut rng);
        assert_ne!(keys.signing_key(), keys.communication_key());
        // A message signature verifies under the signing key only.
        let sig = keys.sign(&mut Transcript::new(b"test"), b"msg", &mut rng);
        sig.verify(&mut Transcript::new(b"test"), keys.signing_key(), b"msg")
            .unwrap();
        assert!(sig
            .verify(
                &mut Transcript::new(b"test"),
                keys.communication_key(),
                b"msg"
            )
            .is_err());
        // The announcement proves possession of the communication key, not the signing key.
        let mh = mh();
        let a = keys.announce(idx(1), &mh, &mut rng);
        assert_eq!(a.communication_key, *keys.communication_key());
        a.verify(&mh).unwrap();
        let mut swapped = a;
        swapped.communication_key = *keys.signing_key();
        assert!(swapped.verify(&mh).is_err());
        // The key file holds both secrets and restores both keys.
        let bytes = keys.secret_bytes();
        let back = TrusteeKeys::from_secret_bytes(bytes.as_ref()).unwrap();
        assert_eq!(back.signing_key(), keys.signing_key());
        assert_eq!(back.communication_key(), keys.communication_key());
        // Wrong length, a zero secret, or one secret used for both jobs is refused.
        assert!(TrusteeKeys::from_secret_bytes(&bytes[..32]).is_err());
        let mut same = *bytes;
        same.copy_within(..32, 32);
        assert!(TrusteeKeys::from_secret_bytes(&same).is_err());
        let mut zero = *bytes;
        zero[32..].fill(0);
        assert!(TrusteeKeys::from_secret_bytes(&zero).is_err());
        // A share encrypted to E decrypts only with the communication secret.
        let c = run_ceremony(3, 2, 96);
        let enc = c.dealers[0]
            .encrypt_share(&c.announcements[1], &mut rng)
            .unwrap();
        enc.decrypt(&mh, &c.keys[1]).unwrap();
        let mut swapped_secrets = [0u8; TRUSTEE_SECRET_LEN];
        let own = c.keys[1].secret_bytes();
        swapped_secrets[..32].copy_from_slice(&own[32..]);
        swapped_secrets[32..].copy_from_slice(&own[..32]);
        let swapped_keys = TrusteeKeys::from_secret_bytes(&swapped_secrets).unwrap();
        assert!(enc.decrypt(&mh, &swapped_keys).is_err());
    }

    #[test]
    fn wire_formats_round_trip_and_secrets_are_redacted() {
        let c = run_ceremony(3, 2, 101);
        let mh = mh();
        let mut rng = rng(102);
        let enc = c.dealers[0]
            .encrypt_share(&c.announcements[1], &mut rng)
            .unwrap();
        let json = serde_json::to_value(&enc).unwrap();
        let keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, ["ciphertext", "dealer", "r", "recipient", "tag"]);
        assert_eq!(json["ciphertext"].as_str().unwrap().len(), 64);
        assert_eq!(json["dealer"], 1);
        let back: EncryptedShare = serde_json::from_value(json).unwrap();
        assert_eq!(back, enc);
        let (cts, _) = tally(&c, 103);
        let share = DecryptionShare::create(&c.key_shares[0], &mh, &cts, &mut rng);
        let s = serde_json::to_string(&share).unwrap();
        assert_eq!(serde_json::from_str::<DecryptionShare>(&s).unwrap(), share);
        for r in &c.reveals {
            let s = serde_json::to_string(r).unwrap();
            assert_eq!(
                serde_json::from_str::<CoefficientCommitments>(&s).unwrap(),
                *r
            );
        }
        let s = serde_json::to_string(&c.posted[0]).unwrap();
        assert_eq!(
            serde_json::from_str::<CeremonyCommitment>(&s).unwrap(),
            c.posted[0]
        );
        let s = serde_json::to_string(&c.joint).unwrap();
        assert_eq!(
            serde_json::from_str::<JointPublicKeys>(&s).unwrap(),
            c.joint
        );
        let s = serde_json::to_string(&c.announcements[0]).unwrap();
        assert_eq!(
            serde_json::from_str::<TrusteePublicKey>(&s).unwrap(),
            c.announcements[0]
        );
        let ans = c.dealers[0]
            .answer_complaint(&Complaint {
                dealer: idx(1),
                recipient: idx(2),
            })
            .unwrap();
        let s = serde_json::to_string(&ans).unwrap();
        assert_eq!(serde_json::from_str::<ComplaintAnswer>(&s).unwrap(), ans);
        // Bad hex length is rejected.
        let mut v = serde_json::to_value(&enc).unwrap();
        v["tag"] = serde_json::Value::String("00".into());
        assert!(serde_json::from_value::<EncryptedShare>(v).is_err());

        // Secrets never show up in Debug output.
        let secret_hex = c.key_shares[0].secret().expose().to_hex();
        let dbg = format!("{:?}", c.key_shares[0]);
        assert!(
            dbg.contains("redacted") && !dbg.contains(&secret_hex),
            "{dbg}"
        );
        let own_hex = c.dealers[0].own_share().expose().to_hex();
        let dbg = format!("{:?}", c.dealers[0]);
        assert!(dbg.contains("redacted") && !dbg.contains(&own_hex), "{dbg}");
        let dbg = format!("{:?}", c.keys[0]);
        assert!(dbg.contains("redacted"), "{dbg}");
        let poly = &c.dealers[0].inner.polynomial;
        let dbg = format!("{:?}", c.dealers[0]);
        for a in &poly.0 {
            assert!(!dbg.contains(&a.to_hex()));
        }
    }

    #[test]
    fn hkdf_matches_rfc5869_test_case_1() {
        let ikm = [0x0bu8; 22];
        let salt: Vec<u8> = (0x00u8..=0x0c).collect();
        let info: Vec<u8> = (0xf0u8..=0xf9).collect();
        let (t1, t2) = hkdf_sha256_64(&salt, &ikm, &info).unwrap();
        let mut okm = t1.to_vec();
        okm.extend_from_slice(t2.as_ref());
        assert_eq!(
            hex::encode(&okm[..42]),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf\
             34007208d5b887185865"
        );
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod restore_tests {
    use super::*;
    use rand::rngs::OsRng;

    #[test]
    fn dealer_restores_from_its_exported_secret_and_rejects_a_wrong_one() {
        let params = CeremonyParams::new(3, 2).unwrap();
        let mh = Hash32([7u8; 32]);
        let i = TrusteeIndex::new(2).unwrap();
        let d = Dealer::new(&params, i, &mh, &mut OsRng).unwrap();
        let secret = d.export_secret();
        let restored = Dealer::restore(&params, &mh, &secret, d.coefficients().clone()).unwrap();
        assert_eq!(restored.commitment(), d.commitment());
        let mut bad = secret.to_vec();
        bad[0] ^= 1;
        assert!(Dealer::restore(&params, &mh, &bad, d.coefficients().clone()).is_err());
        assert!(Dealer::restore(&params, &mh, &secret[..32], d.coefficients().clone()).is_err());
        let other = Dealer::new(&params, i, &mh, &mut OsRng).unwrap();
        assert!(Dealer::restore(&params, &mh, &secret, other.coefficients().clone()).is_err());
    }
}
