//! Fiat–Shamir transcripts (protocol-spec/02-transcripts.md).
//!
//! Every proof in vox is made non-interactive with a merlin transcript. The caller
//! creates the transcript and absorbs the context (protocol label, manifest hash, and
//! for ballots the credential public key, question and option indices); the proof then
//! appends its own versioned domain separator, its full statement and its commitments
//! before drawing a challenge. Leaving any public input out of the challenge is the
//! "weak Fiat–Shamir" flaw that broke Helios; the order below is normative.

use merlin::Transcript;

use crate::group::{Hash32, Point, Scalar};

/// Every label used in vox transcripts. Each has a row in protocol-spec's table;
/// changing a label or an order is a protocol change and bumps `v1`.
pub mod labels {
    /// Transcript protocol label passed to `Transcript::new`.
    pub const PROTOCOL: &[u8] = b"vox/v2";
    /// Label under which domain separators are appended.
    pub const DOMAIN: &[u8] = b"dom-sep";
    /// Context: the manifest (election or petition) hash.
    pub const MANIFEST_HASH: &[u8] = b"manifest-hash";
    /// Context: what the transcript is for (ballot, ceremony, decryption, credential).
    pub const PURPOSE: &[u8] = b"purpose";

    /// Domain separator of the Schnorr proof of knowledge.
    pub const SCHNORR: &[u8] = b"vox/v2/schnorr";
    /// Domain separator of the Chaum–Pedersen (DLEQ) proof.
    pub const DLEQ: &[u8] = b"vox/v2/dleq";
    /// Domain separator of the disjunctive 0/1 proof.
    pub const ZERO_ONE: &[u8] = b"vox/v2/zero-one";
    /// Domain separator of the "encrypts a known constant" proof.
    pub const CONSTANT: &[u8] = b"vox/v2/constant";
    /// Domain separator of the ciphertext/commitment linking proof.
    pub const LINK: &[u8] = b"vox/v2/link";
    /// Domain separator of the aggregated range proof.
    pub const RANGE: &[u8] = b"vox/v2/range";
    /// Domain separator of credential signatures.
    pub const SIGNATURE: &[u8] = b"vox/v2/signature";
    /// Domain separator of linkable ring signatures (protocol-spec/13-ring-signatures.md §13.5).
    pub const RING_SIGNATURE: &[u8] = b"vox/v2/ring-signature";
    /// Ring signature: the Triptych base n and exponent m (u64le each).
    pub const RING_BASE: &[u8] = b"ring-n";
    /// Ring signature: the exponent m (u64le).
    pub const RING_EXPONENT: &[u8] = b"ring-m";
    /// Ring signature: the number of real (unpadded) members (u64le).
    pub const RING_SIZE: &[u8] = b"ring-size";
    /// Ring signature: the ring hash (13 §13.3).
    pub const RING_HASH: &[u8] = b"ring";
    /// Ring signature: the linking-tag generator U.
    pub const TAG_GENERATOR: &[u8] = b"U";
    /// Ring signature: the linking tag J.
    pub const LINKING_TAG: &[u8] = b"J";
    /// Domain separator of trustee ceremony share encryption KDF.
    pub const SHARE_KDF: &[u8] = b"vox/v2/share-kdf";

    /// Statement labels.
    pub const G: &[u8] = b"G";
    /// Second generator / base.
    pub const BASE: &[u8] = b"base";
    /// Public key / image of the first base.
    pub const PUBLIC: &[u8] = b"public";
    /// Image of the second base.
    pub const IMAGE: &[u8] = b"image";
    /// Election public key K.
    pub const ELECTION_KEY: &[u8] = b"K";
    /// Ciphertext component a.
    pub const CT_A: &[u8] = b"a";
    /// Ciphertext component b.
    pub const CT_B: &[u8] = b"b";
    /// Pedersen commitment.
    pub const COMMITMENT: &[u8] = b"C";
    /// Known constant plaintext.
    pub const CONSTANT_VALUE: &[u8] = b"constant";
    /// Prover commitments.
    pub const T: &[u8] = b"T";
    /// Signed message.
    pub const MESSAGE: &[u8] = b"message";
    /// Range bounds and bit size.
    pub const RANGE_LO: &[u8] = b"lo";
    /// Upper bound.
    pub const RANGE_HI: &[u8] = b"hi";
    /// Bit size n.
    pub const RANGE_BITS: &[u8] = b"n";
    /// Number of aggregated values.
    pub const RANGE_COUNT: &[u8] = b"m";
    /// The Fiat–Shamir challenge.
    pub const CHALLENGE: &[u8] = b"c";

    /// Transcript purpose of the key ceremony's coefficient proofs
    /// (protocol-spec/06-ceremony.md §6.4).
    pub const PURPOSE_CEREMONY: &[u8] = b"ceremony";
    /// Transcript purpose of a trustee's proof of possession of its communication key
    /// (protocol-spec/06-ceremony.md §6.2).
    pub const PURPOSE_TRUSTEE_KEY: &[u8] = b"trustee-key";
    /// Transcript purpose of decryption-share proofs (protocol-spec/06-ceremony.md §6.8).
    pub const PURPOSE_DECRYPTION: &[u8] = b"decryption";
    /// Context: a trustee's index (1..=n), as a little-endian u64.
    pub const TRUSTEE: &[u8] = b"trustee";
    /// Context: a polynomial coefficient's index j (0..k), as a little-endian u64.
    pub const COEFFICIENT: &[u8] = b"coefficient";
    /// Context: a ciphertext's position in the decrypted list, as a little-endian u64.
    pub const POSITION: &[u8] = b"position";
}

/// Create a transcript for a given purpose, bound to a manifest hash.
///
/// `purpose` is a short ASCII label such as `b"ballot"`; the manifest hash binds
/// every proof to one election, so a proof cannot be replayed in another.
pub fn new_transcript(purpose: &'static [u8], manifest_hash: &Hash32) -> Transcript {
    let mut t = Transcript::new(labels::PROTOCOL);
    t.append_message(labels::PURPOSE, purpose);
    t.append_message(labels::MANIFEST_HASH, &manifest_hash.0);
    t
}

/// vox's extension trait on merlin transcripts. Points and scalars enter only as
/// canonical encodings.
pub trait TranscriptProtocol {
    /// Append a versioned domain separator (one of [`labels`]).
    fn domain_sep(&mut self, label: &'static [u8]);
    /// Append a point's canonical encoding.
    fn append_point(&mut self, label: &'static [u8], p: &Point);
    /// Append a scalar's canonical encoding.
    fn append_scalar(&mut self, label: &'static [u8], s: &Scalar);
    /// Append an integer (little-endian u64).
    fn append_u64_le(&mut self, label: &'static [u8], v: u64);
    /// Append arbitrary bytes (already canonical).
    fn append_bytes(&mut self, label: &'static [u8], bytes: &[u8]);
    /// Draw a challenge scalar (64 bytes reduced mod ℓ: negligible bias).
    fn challenge_scalar(&mut self, label: &'static [u8]) -> Scalar;
}

impl TranscriptProtocol for Transcript {
    fn domain_sep(&mut self, label: &'static [u8]) {
        self.append_message(labels::DOMAIN, label);
    }
    fn append_point(&mut self, label: &'static [u8], p: &Point) {
        self.append_message(label, p.as_bytes());
    }
    fn append_scalar(&mut self, label: &'static [u8], s: &Scalar) {
        self.append_message(label, &s.to_bytes());
    }
    fn append_u64_le(&mut self, label: &'static [u8], v: u64) {
        self.append_message(label, &v.to_le_bytes());
    }
    fn append_bytes(&mut self, label: &'static [u8], bytes: &[u8]) {
        self.append_message(label, bytes);
    }
    fn challenge_scalar(&mut self, label: &'static [u8]) -> Scalar {
        let mut buf = [0u8; 64];
        self.challenge_bytes(label, &mut buf);
        Scalar(curve25519_dalek::Scalar::from_bytes_mod_order_wide(&buf))
    }
}
