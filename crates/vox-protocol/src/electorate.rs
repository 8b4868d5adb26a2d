//! The electorate: the published list of credential public keys
//! (protocol-spec/04-ballots.md §4.1).

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use vox_crypto::credential::CredentialPublicKey;
use vox_crypto::Hash32;

use crate::encoding::{Canonical, Encoder, Hashable};
use crate::error::{ProtocolError, Result};

/// One eligible credential, with an optional region for per-region petition counts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ElectorateEntry {
    /// The credential's public key.
    pub credential: CredentialPublicKey,
    /// Optional region label (e.g. a district), used only for aggregate counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

/// A published electorate. Its hash is referenced by manifests and petitions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

    /// The eligibility index of this electorate as published (no revocation yet).
    pub fn index(&self) -> ElectorateIndex {
        let mut regions: Vec<Option<String>> = Vec::new();
        let mut region_ids: HashMap<Option<&str>, u32> = HashMap::new();
        let mut members = HashMap::with_capacity(self.entries.len());
        for e in &self.entries {
            let r = e.region.as_deref();
            let id = *region_ids.entry(r).or_insert_with(|| {
                regions.push(r.map(str::to_owned));
                u32::try_from(regions.len() - 1).unwrap_or(u32::MAX)
            });
            members.insert(e.credential.to_bytes(), id);
        }
        ElectorateIndex {
            hash: self.canonical_hash(),
            members: Arc::new(members),
            regions: Arc::new(regions),
            revoked: HashMap::new(),
            added: HashMap::new(),
        }
    }
}

/// A credential enrolled with a replacement code after its electorate was frozen
/// (protocol-spec/04-ballots.md §4.1.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Replacement {
    /// Its region (the revoked credential's).
    pub region: Option<String>,
    /// Leaf of its `credential-enrolled` entry.
    pub since: u64,
    /// The revoked credential it replaces.
    pub replaces: [u8; 32],
}

/// Why a credential may not act at some point of the log (04 §4.1.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Ineligible {
    /// Never on this electorate.
    #[error("the credential is not in the electorate")]
    NotMember,
    /// Revoked by the registrar at this leaf.
    #[error("the credential was revoked by the registrar at leaf {0}")]
    Revoked(u64),
    /// A replacement enrolled at this leaf, later than the act.
    #[error("the credential was enrolled only at leaf {0}")]
    NotYet(u64),
}

/// Eligibility of one electorate: the frozen list, then the registrar's later
/// revocations and replacement enrolments. Cheap to clone (the frozen part is shared),
/// so a server can hand a snapshot to a verifying thread.
#[derive(Clone, Debug)]
pub struct ElectorateIndex {
    /// Hash of the electorate this index was built from (what manifests and petitions
    /// name).
    pub hash: Hash32,
    members: Arc<HashMap<[u8; 32], u32>>,
    regions: Arc<Vec<Option<String>>>,
    revoked: HashMap<[u8; 32], u64>,
    added: HashMap<[u8; 32], Replacement>,
}

impl ElectorateIndex {
    /// Whether the credential was ever eligible (frozen member or replacement). The
    /// order-dependent rules (revocation, enrolment after the act) are
    /// [`ElectorateIndex::standing`]'s.
    pub fn contains(&self, credential: &CredentialPublicKey) -> bool {
        let k = credential.to_bytes();
        self.members.contains_key(&k) || self.added.contains_key(&k)
    }

    /// The region of an eligible credential.
    pub fn region_of(&self, credential: &CredentialPublicKey) -> Option<&str> {
        let k = credential.to_bytes();
        if let Some(id) = self.members.get(&k) {
            return self.regions.get(*id as usize)?.as_deref();
        }
        self.added.get(&k)?.region.as_deref()
    }

    /// May `credential` act at leaf `leaf` (a ballot, a signature, a proposal)? It must
    /// be a member, not revoked at an earlier leaf, and, for a replacement, enrolled at
    /// an earlier leaf.
    pub fn standing(
        &self,
        credential: &CredentialPublicKey,
        leaf: u64,
    ) -> core::result::Result<(), Ineligible> {
        let k = credential.to_bytes();
        if let Some(a) = self.added.get(&k) {
            if a.since >= leaf {
                return Err(Ineligible::NotYet(a.since));
            }
        } else if !self.members.contains_key(&k) {
            return Err(Ineligible::NotMember);
        }
        match self.revoked.get(&k) {
            Some(at) if *at < leaf => Err(Ineligible::Revoked(*at)),
            _ => Ok(()),
        }
    }

    /// The credentials this one replaces, nearest first (empty for a frozen member). A
    /// replacement may not take part where one of them already did (04 §4.1.3).
    pub fn predecessors(&self, credential: &CredentialPublicKey) -> Vec<[u8; 32]> {
        let mut out = Vec::new();
        let mut k = credential.to_bytes();
        while let Some(a) = self.added.get(&k) {
            out.push(a.replaces);
            k = a.replaces;
            if out.len() > self.added.len() {
                break; // impossible by construction; never loop
            }
        }
        out
    }

    /// Leaf at which the credential was revoked, if it was.
    pub fn revoked_at(&self, credential: &CredentialPublicKey) -> Option<u64> {
        self.revoked.get(&credential.to_bytes()).copied()
    }

    /// Record a revocation at `leaf` (the caller checked the registrar's act).
    pub(crate) fn revoke(&mut self, credential: [u8; 32], leaf: u64) {
        self.revoked.insert(credential, leaf);
    }

    /// Add a replacement credential (the caller checked its enrolment).
    pub(crate) fn add(&mut self, credential: [u8; 32], r: Replacement) {
        self.added.insert(credential, r);
    }

    /// Every replacement credential with its enrolment facts (revoked ones included).
    pub(crate) fn added(&self) -> impl Iterator<Item = (&[u8; 32], &Replacement)> {
        self.added.iter()
    }

    /// Whether the key is a member now (not revoked).
    pub(crate) fn is_current(&self, credential: &[u8; 32]) -> bool {
        (self.members.contains_key(credential) || self.added.contains_key(credential))
            && !self.revoked.contains_key(credential)
    }

    /// Number of credentials on the list the hash names (registered or frozen), without
    /// later replacements: the number of citizens, which bounds the counted ballots
    /// (a replacement never adds a vote, 04 §4.1.3).
    pub fn listed(&self) -> usize {
        self.members.len()
    }

    /// Number of credentials on the frozen list plus replacements.
    pub fn len(&self) -> usize {
        self.members.len() + self.added.len()
    }

    /// Whether empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The replacement credentials that are not revoked themselves.
    pub fn replacements(&self) -> impl Iterator<Item = (&[u8; 32], &Replacement)> {
        self.added
            .iter()
            .filter(|(k, _)| !self.revoked.contains_key(*k))
    }

    /// How many registrar acts changed who is in standing (revocations plus replacement
    /// enrolments). Rings (13 §13.3) change only when this number does, so it keys a
    /// cache of derived rings.
    pub fn epoch(&self) -> usize {
        self.revoked.len() + self.added.len()
    }

    /// Number of revoked credentials.
    pub fn revoked_count(&self) -> usize {
        self.revoked.len()
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    /// The one-time enrolment code from the registrar's letter, normalised
    /// ([`crate::enrolment::EnrolmentCode`]), when the citizen enrols on the board by
    /// code (04 §4.1.2); absent for a request the registrar approves in person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Credential signature over [`EnrolmentRequest::message`].
    pub signature: vox_crypto::credential::CredentialSignature,
}

impl EnrolmentRequest {
    /// `M = str(electorate_id) ‖ point(credential) ‖ (0x00 | 0x01 ‖ str(region))
    ///      ‖ (0x00 | 0x01 ‖ str(code))`.
    fn message(
        electorate_id: &str,
        credential: &CredentialPublicKey,
        region: Option<&str>,
        code: Option<&str>,
    ) -> Vec<u8> {
        let mut e = Encoder::new();
        e.str(electorate_id).raw32(&credential.to_bytes());
        for o in [region, code] {
            match o {
                None => e.u8(0),
                Some(r) => e.u8(1).str(r),
            };
        }
        e.into_bytes()
    }

    /// The transcript context: SHA-256("vox/v2/enrolment-request" ‖ 0x00 ‖ M) takes the
    /// manifest-hash slot of `new_transcript` (02 §2.2).
    fn context(m: &[u8]) -> Hash32 {
        Hash32::sha256(&[b"vox/v2/enrolment-request\0", m])
    }

    /// Made on the citizen's device; `code` is the normalised enrolment code when the
    /// citizen enrols by code.
    pub fn create(
        electorate_id: &str,
        region: Option<&str>,
        code: Option<&crate::enrolment::EnrolmentCode>,
        credential: &vox_crypto::credential::Credential,
        rng: &mut (impl rand_core::RngCore + rand_core::CryptoRng),
    ) -> Self {
        let public = credential.public_key();
        let code = code.map(|c| c.as_str().to_owned());
        let m = Self::message(electorate_id, &public, region, code.as_deref());
        let mut t = vox_crypto::transcript::new_transcript(ENROLMENT_PURPOSE, &Self::context(&m));
        let signature = credential.sign(&mut t, &m, rng);
        Self {
            electorate_id: electorate_id.to_owned(),
            credential: public,
            region: region.map(str::to_owned),
            code,
            signature,
        }
    }

    /// Check the proof of possession (the registrar's tool does this before registering).
    pub fn verify(&self) -> Result<()> {
        let m = Self::message(
            &self.electorate_id,
            &self.credential,
            self.region.as_deref(),
            self.code.as_deref(),
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

impl Canonical for EnrolmentRequest {
    /// `M ‖ point(T) ‖ scalar(z)` (the signed message, then the Schnorr signature).
    fn encode(&self, e: &mut Encoder) {
        let m = Self::message(
            &self.electorate_id,
            &self.credential,
            self.region.as_deref(),
            self.code.as_deref(),
        );
        e.bytes(&m)
            .point(&self.signature.0.t)
            .scalar(&self.signature.0.z);
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
        let code = crate::enrolment::EnrolmentCode::generate(&mut rng);
        let r = EnrolmentRequest::create("town", Some("north"), Some(&code), &c, &mut rng);
        r.verify().unwrap();
        let other = Credential::generate(&mut rng).public_key();
        type Tweak = Box<dyn Fn(&mut EnrolmentRequest)>;
        let tweaks: Vec<Tweak> = vec![
            Box::new(|r| r.electorate_id.push('x')),
            Box::new(|r| r.region = Some("south".into())),
            Box::new(|r| r.region = None),
            Box::new(|r| r.code = None),
            Box::new(|r| r.code = Some("0".repeat(20))),
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
