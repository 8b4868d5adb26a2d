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
