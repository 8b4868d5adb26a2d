//! The electorate: the published list of credential public keys
//! (protocol-spec/04-ballots.md §4.1).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use vox_crypto::credential::CredentialPublicKey;
use vox_crypto::Hash32;

use crate::encoding::{Canonical, Encoder, Hashable};
use crate::error::{ProtocolError, Result};

/// One eligible credential, with an optional region for per-region petition counts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ElectorateEntry {
    /// The credential's public key.
    pub credential: CredentialPublicKey,
    /// Optional region label (e.g. a district), used only for aggregate counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

/// A published electorate. Its hash is referenced by manifests and petitions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Electorate {
    /// Identifier chosen by the authority.
    pub id: String,
    /// Human-readable name.
    pub name: String,
    /// The eligible credentials, in publication order.
    pub entries: Vec<ElectorateEntry>,
}

impl Canonical for ElectorateEntry {
    fn encode(&self, e: &mut Encoder) {
        e.raw32(&self.credential.to_bytes());
        match &self.region {
            None => e.u8(0),
            Some(r) => e.u8(1).str(r),
        };
    }
}

impl Canonical for Electorate {
    fn encode(&self, e: &mut Encoder) {
        e.str(&self.id).str(&self.name).seq(&self.entries);
    }
}

impl Hashable for Electorate {
    const TAG: &'static str = "electorate";
}

impl Electorate {
    /// Structural validation: non-empty id, no duplicate credential.
    pub fn validate(&self) -> Result<()> {
        if self.id.is_empty() || self.id.len() > 64 {
            return Err(ProtocolError::invalid("id", "must be 1 to 64 characters"));
        }
        if self.entries.is_empty() {
            return Err(ProtocolError::invalid(
                "entries",
                "an electorate needs at least one credential",
            ));
        }
        let mut seen = std::collections::HashSet::with_capacity(self.entries.len());
        for (i, e) in self.entries.iter().enumerate() {
            if !seen.insert(e.credential.to_bytes()) {
                return Err(ProtocolError::invalid(
                    format!("entries/{i}/credential"),
                    "duplicate credential",
                ));
            }
        }
        Ok(())
    }

    /// An index from credential bytes to entry position, for eligibility checks.
    pub fn index(&self) -> ElectorateIndex {
        ElectorateIndex {
            hash: self.canonical_hash(),
            by_key: self
                .entries
                .iter()
                .enumerate()
                .map(|(i, e)| (e.credential.to_bytes(), i))
                .collect(),
        }
    }
}

/// Fast eligibility look-up for one electorate.
#[derive(Clone, Debug)]
pub struct ElectorateIndex {
    /// Hash of the electorate this index was built from.
    pub hash: Hash32,
    by_key: HashMap<[u8; 32], usize>,
}

impl ElectorateIndex {
    /// Position of a credential in the electorate, if eligible.
    pub fn position(&self, credential: &CredentialPublicKey) -> Option<usize> {
        self.by_key.get(&credential.to_bytes()).copied()
    }
    /// Number of eligible credentials.
    pub fn len(&self) -> usize {
        self.by_key.len()
    }
    /// Whether empty.
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }
}

/// Transcript purpose of an enrolment request's credential signature (table 2.3).
pub const ENROLMENT_PURPOSE: &[u8] = b"enrolment-request";

/// A citizen's request to be put on an electorate: the credential public key their own
/// device drew, with a credential signature that proves the device holds its secret
/// (protocol-spec/04-ballots.md §4.1.1). The registrar checks it before registering the
/// key; the secret never leaves the device, so no registrar, server or tool of vox ever
/// holds a citizen's credential.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrolmentRequest {
    /// The electorate asked for.
    pub electorate_id: String,
    /// The credential public key.
    pub credential: CredentialPublicKey,
    /// The region the citizen declares (the registrar checks it like any other fact of
    /// eligibility, out of band).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Credential signature over [`EnrolmentRequest::message`].
    pub signature: vox_crypto::credential::CredentialSignature,
}

impl EnrolmentRequest {
    /// `M = str(electorate_id) ‖ point(credential) ‖ (0x00 | 0x01 ‖ str(region))`.
    fn message(
        electorate_id: &str,
        credential: &CredentialPublicKey,
        region: Option<&str>,
    ) -> Vec<u8> {
        let mut e = Encoder::new();
        e.str(electorate_id).raw32(&credential.to_bytes());
        match region {
            None => e.u8(0),
            Some(r) => e.u8(1).str(r),
        };
        e.into_bytes()
    }

    /// The transcript context: SHA-256("vox/v2/enrolment-request" ‖ 0x00 ‖ M) takes the
    /// manifest-hash slot of `new_transcript` (02 §2.2).
    fn context(m: &[u8]) -> Hash32 {
        Hash32::sha256(&[b"vox/v2/enrolment-request\0", m])
    }

    /// Made on the citizen's device.
    pub fn create(
        electorate_id: &str,
        region: Option<&str>,
        credential: &vox_crypto::credential::Credential,
        rng: &mut (impl rand_core::RngCore + rand_core::CryptoRng),
    ) -> Self {
        let public = credential.public_key();
        let m = Self::message(electorate_id, &public, region);
        let mut t = vox_crypto::transcript::new_transcript(ENROLMENT_PURPOSE, &Self::context(&m));
        let signature = credential.sign(&mut t, &m, rng);
        Self {
            electorate_id: electorate_id.to_owned(),
            credential: public,
            region: region.map(str::to_owned),
            signature,
        }
    }

    /// Check the proof of possession (the registrar's tool does this before registering).
    pub fn verify(&self) -> Result<()> {
        let m = Self::message(
            &self.electorate_id,
            &self.credential,
            self.region.as_deref(),
        );
        let mut t = vox_crypto::transcript::new_transcript(ENROLMENT_PURPOSE, &Self::context(&m));
        self.signature
            .verify(&mut t, &self.credential, &m)
            .map_err(|e| ProtocolError::crypto("signature", e))
    }

    /// The electorate entry this request asks for.
    pub fn entry(&self) -> ElectorateEntry {
        ElectorateEntry {
            credential: self.credential,
            region: self.region.clone(),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod enrolment_tests {
    use super::*;
    use rand::SeedableRng;
    use vox_crypto::credential::Credential;

    #[test]
    fn request_verifies_and_every_tweak_fails() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
        let c = Credential::generate(&mut rng);
        let r = EnrolmentRequest::create("town", Some("north"), &c, &mut rng);
        r.verify().unwrap();
        let other = Credential::generate(&mut rng).public_key();
        type Tweak = Box<dyn Fn(&mut EnrolmentRequest)>;
        let tweaks: Vec<Tweak> = vec![
            Box::new(|r| r.electorate_id.push('x')),
            Box::new(|r| r.region = Some("south".into())),
            Box::new(|r| r.region = None),
            Box::new(move |r| r.credential = other),
            Box::new(|r| r.signature.0.z = r.signature.0.z + vox_crypto::Scalar::from_u64(1)),
        ];
        for (i, t) in tweaks.iter().enumerate() {
            let mut bad = r.clone();
            t(&mut bad);
            assert!(bad.verify().is_err(), "tweak {i} still verifies");
        }
        // The JSON form round-trips.
        let back: EnrolmentRequest =
            serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        back.verify().unwrap();
    }
}
