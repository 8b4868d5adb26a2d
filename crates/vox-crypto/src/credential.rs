//! Voter credentials and credential signatures (protocol-spec/04-ballots.md §4.1).
//!
//! The credential authority hands each voter a secret credential string; the voter's
//! signing key is derived from it, and only the public key goes on the electorate list.
//! Ballots and petition signatures carry a Schnorr signature under that key, so the
//! server cannot invent ballots, and the verifier checks each against the list.

use merlin::Transcript;
use rand_core::{CryptoRng, RngCore};
use sha2::{Digest, Sha512};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::batch::{Equations, SingleVerifier};
use crate::error::{CryptoError, Result};
use crate::group::{Point, Scalar};
use crate::proofs::SchnorrProof;
use crate::transcript::labels;

/// Domain label of the credential-to-key derivation.
pub const CREDENTIAL_KDF_LABEL: &[u8] = b"vox/v2/credential-key";

/// Alphabet of credential strings (Crockford base32, no I L O U: easy to read aloud).
///
/// Credentials (and enrolment codes) keep a hand-written check rather than a
/// `data-encoding` decoder: a credential is 25 independent symbols (125 bits, not a
/// whole number of bytes, a length base32 decoders refuse), and the secret is derived
/// from the normalised *text*, not from decoded bytes, so there is nothing to decode.
/// Generation draws one symbol per `next_u32` (fixed by the test vectors). The
/// byte-aligned tracking code (`vox_protocol::encoding::human_code`) uses `data-encoding`.
pub const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A voter's public credential key (on the electorate list). Never the identity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CredentialPublicKey(Point);

impl CredentialPublicKey {
    /// Wrap a point, rejecting the identity.
    pub fn new(p: Point) -> Result<Self> {
        p.ensure_not_identity("credential public key")?;
        Ok(Self(p))
    }
    /// The point.
    pub fn point(&self) -> &Point {
        &self.0
    }
    /// Canonical bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }
}

impl<'de> serde::Deserialize<'de> for CredentialPublicKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> core::result::Result<Self, D::Error> {
        let p = Point::deserialize(d)?;
        CredentialPublicKey::new(p).map_err(serde::de::Error::custom)
    }
}

/// A voter's secret credential: the string printed on the voter's letter and the
/// signing scalar derived from it. Zeroized on drop, never printed.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Credential {
    text: String,
    secret: Scalar,
}

impl core::fmt::Debug for Credential {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Credential(<redacted>)")
    }
}

impl Credential {
    /// Draw a fresh credential: 25 base32 characters (125 bits), grouped by 5 with dashes.
    pub fn generate(rng: &mut (impl RngCore + CryptoRng)) -> Self {
        let mut text = String::with_capacity(29);
        for i in 0..25 {
            if i > 0 && i % 5 == 0 {
                text.push('-');
            }
            let idx = (rng.next_u32() & 31) as usize;
            text.push(char::from(*ALPHABET.get(idx).unwrap_or(&b'0')));
        }
        // Infallible: the text was built from the alphabet.
        Self::derive(&text)
    }

    /// Normalise and derive: case-insensitive, dashes and spaces ignored.
    /// x = SHA-512(label ‖ normalised text) mod ℓ.
    pub fn from_text(text: &str) -> Result<Self> {
        let norm: String = text
            .chars()
            .filter(|c| !matches!(c, '-' | ' '))
            .map(|c| c.to_ascii_uppercase())
            .collect();
        if norm.len() != 25 || !norm.bytes().all(|b| ALPHABET.contains(&b)) {
            return Err(CryptoError::Parameter(
                "a credential is 25 characters of 0-9 and A-Z without I, L, O, U",
            ));
        }
        Ok(Self::derive(&norm))
    }

    fn derive(text: &str) -> Self {
        let norm: String = text.chars().filter(|c| *c != '-').collect();
        let mut h = Sha512::new();
        h.update(CREDENTIAL_KDF_LABEL);
        h.update(norm.as_bytes());
        let wide: [u8; 64] = h.finalize().into();
        let secret = Scalar(curve25519_dalek::Scalar::from_bytes_mod_order_wide(&wide));
        let mut grouped = String::with_capacity(29);
        for (i, c) in norm.chars().enumerate() {
            if i > 0 && i % 5 == 0 {
                grouped.push('-');
            }
            grouped.push(c);
        }
        Self {
            text: grouped,
            secret,
        }
    }

    /// The secret scalar x (for the ring-signature prover in this crate only).
    pub(crate) fn secret(&self) -> &Scalar {
        &self.secret
    }

    /// The human-readable credential (for the voter's letter or file).
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The public key x·G.
    pub fn public_key(&self) -> CredentialPublicKey {
        // x = 0 has probability 2^-252; the identity check stays in `new` for decoders.
        CredentialPublicKey(self.secret.mul_base())
    }

    /// Sign `msg` in the given transcript context.
    pub fn sign(
        &self,
        transcript: &mut Transcript,
        msg: &[u8],
        rng: &mut (impl RngCore + CryptoRng),
    ) -> CredentialSignature {
        let public = self.public_key();
        transcript_sig_context(transcript);
        CredentialSignature(SchnorrProof::prove(
            transcript,
            &self.secret,
            public.point(),
            msg,
            rng,
        ))
    }
}

fn transcript_sig_context(t: &mut Transcript) {
    use crate::transcript::TranscriptProtocol;
    t.domain_sep(labels::SIGNATURE);
}

/// A Schnorr signature by a credential key (a Schnorr proof of knowledge over the message).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CredentialSignature(pub SchnorrProof);

impl CredentialSignature {
    /// Hand the signature's equation to `eq`.
    pub fn check(
        &self,
        transcript: &mut Transcript,
        key: &CredentialPublicKey,
        msg: &[u8],
        eq: &mut impl Equations,
    ) -> Result<()> {
        transcript_sig_context(transcript);
        self.0.check(transcript, key.point(), msg, eq)
    }

    /// Verify on its own.
    pub fn verify(
        &self,
        transcript: &mut Transcript,
        key: &CredentialPublicKey,
        msg: &[u8],
    ) -> Result<()> {
        self.check(transcript, key, msg, &mut SingleVerifier)
    }
}
