//! The `ring_signature` target: the ring-signature decoder and verifier
//! (protocol-spec/13-ring-signatures.md §13.6, §13.8).

use std::sync::OnceLock;

use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use vox_crypto::credential::Credential;
use vox_crypto::ring::{self, BatchItem, Ring, RingSignature, TagGenerator};
use vox_crypto::transcript::new_transcript;
use vox_crypto::{Hash32, Transcript};

use crate::FIXTURE_SEED;

/// A fixed ring of ten credentials (m = 2), a petition and one honest signature.
pub struct RingFixture {
    /// The ring.
    pub ring: Ring,
    /// The petition's tag generator.
    pub tag_generator: TagGenerator,
    /// The petition hash (the transcript's manifest hash).
    pub petition: Hash32,
    /// The signed message.
    pub message: Vec<u8>,
    /// The honest signature by member 4.
    pub signature: RingSignature,
}

/// The signer's context transcript for `petition`.
fn context(petition: &Hash32) -> Transcript {
    new_transcript(b"petition-signature", petition)
}

/// The ring fixture, built once from the fixture seed.
pub fn ring_fixture() -> &'static RingFixture {
    static F: OnceLock<RingFixture> = OnceLock::new();
    F.get_or_init(|| {
        let mut rng = ChaCha20Rng::seed_from_u64(FIXTURE_SEED ^ 0x7269_6e67); // "ring"
        let creds: Vec<Credential> = (0..10).map(|_| Credential::generate(&mut rng)).collect();
        let keys: Vec<_> = creds.iter().map(Credential::public_key).collect();
        let ring = match Ring::new(b"fuzz-ring", &keys) {
            Ok(r) => r,
            Err(e) => panic!("fixture: ring: {e}"),
        };
        let petition = Hash32::sha256(&[b"fuzz petition"]);
        let tag_generator = match TagGenerator::derive(&petition.0) {
            Ok(u) => u,
            Err(e) => panic!("fixture: tag generator: {e}"),
        };
        let message = b"sign".to_vec();
        let Some(signer) = creds.get(4) else {
            panic!("fixture: no credential 4");
        };
        let signature = match ring::sign(
            &mut context(&petition),
            signer,
            &ring,
            4,
            &tag_generator,
            &message,
            &mut rng,
        ) {
            Ok(s) => s,
            Err(e) => panic!("fixture: ring signature: {e}"),
        };
        RingFixture {
            ring,
            tag_generator,
            petition,
            message,
            signature,
        }
    })
}

/// Decode a ring signature from raw bytes (and, if the input is text, from hex).
///
/// Properties: the decoder never panics; what decodes re-encodes to the same bytes
/// (one encoding per signature); the hex and byte decoders agree; single and batch
/// verification agree; and whatever verifies against the fixture is the fixture's own
/// signature (no forgery from a mutated one).
pub fn ring_signature(data: &[u8]) {
    let from_bytes = RingSignature::try_from_bytes(data);
    if let Ok(text) = core::str::from_utf8(data) {
        let from_hex = RingSignature::from_hex(text.trim_end_matches('\n'));
        if let (Ok(s), Ok(b)) = (&from_hex, hex::decode(text.trim_end_matches('\n'))) {
            assert_eq!(s.to_bytes(), b, "hex decoding is not canonical");
        }
        if let Ok(s) = from_hex {
            check(&s);
        }
    }
    if let Ok(s) = from_bytes {
        assert_eq!(s.to_bytes(), data, "ring signature re-encoding differs");
        check(&s);
    }
}

fn check(s: &RingSignature) {
    let f = ring_fixture();
    let single = ring::verify(
        &mut context(&f.petition),
        s,
        &f.ring,
        &f.tag_generator,
        &f.message,
    );
    if single.is_ok() {
        assert_eq!(
            s, &f.signature,
            "a signature other than the fixture's verifies"
        );
    }
    let items = [
        BatchItem {
            transcript: context(&f.petition),
            signature: &f.signature,
            ring: &f.ring,
            tag_generator: &f.tag_generator,
            message: &f.message,
        },
        BatchItem {
            transcript: context(&f.petition),
            signature: s,
            ring: &f.ring,
            tag_generator: &f.tag_generator,
            message: &f.message,
        },
    ];
    let batch = ring::verify_batch(&items, &mut ChaCha20Rng::seed_from_u64(1));
    assert_eq!(
        single.is_ok(),
        batch.is_ok(),
        "single and batch verification disagree"
    );
}
