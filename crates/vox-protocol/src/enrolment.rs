//! Enrolment by one-time code, revocation and freezing (protocol-spec/04-ballots.md
//! §4.1.2–§4.1.4).
//!
//! The registrar never learns a citizen's secret and holds no online key on the server:
//!
//! 1. it draws one-time codes (100 random bits each), prints them on letters, and
//!    publishes a signed `enrolment-opened` act: the sorted list of the codes' hashes
//!    (each hash binds the electorate and the code's region) and the count per region;
//! 2. a citizen's device draws the credential, and posts a `credential-enrolled` entry:
//!    the code in clear (spent from then on), the region, the public key, and a credential
//!    signature that proves the device holds the secret. Anyone recomputes the code's hash
//!    and checks it against the commitment, and that no code is spent twice;
//! 3. the registrar freezes the electorate by a signed `electorate-frozen` act that names
//!    the hash of the enrolled list; only then may manifests and petitions use it;
//! 4. a lost or stolen credential is revoked by a signed `credential-revoked` act, which
//!    may commit to one replacement code for the same citizen.
//!
//! [`Roll`] replays these rules: the server uses it before appending, the verifier over
//! the record, so both apply exactly the same ones.

use std::collections::{BTreeMap, HashMap, HashSet};

use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use vox_crypto::credential::{CredentialPublicKey, ALPHABET};
use vox_crypto::Hash32;

use crate::electorate::{
    Electorate, ElectorateEntry, ElectorateIndex, EnrolmentRequest, Replacement,
};
use crate::encoding::{Canonical, Encoder, Hashable};

/// Characters of an enrolment code (Crockford base32: 20 × 5 = 100 bits).
pub const CODE_LEN: usize = 20;

/// Most codes one `enrolment-opened` act may commit to (a board entry stays < 64 MiB).
pub const MAX_CODES: usize = 1_000_000;

/// A one-time enrolment code, normalised: 20 characters of `0-9A-Z` without I, L, O, U.
/// Printed in groups of five (`7K2QM-…`); typed case-insensitively, with or without
/// dashes and spaces, `O` read as `0` and `I`/`L` as `1`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct EnrolmentCode(String);

impl core::fmt::Debug for EnrolmentCode {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // A code is a bearer secret until it is spent: never in logs.
        f.write_str("EnrolmentCode(<redacted>)")
    }
}

impl EnrolmentCode {
    /// Draw a fresh code.
    pub fn generate(rng: &mut (impl RngCore + CryptoRng)) -> Self {
        let text = (0..CODE_LEN)
            .map(|_| {
                char::from(
                    *ALPHABET
                        .get((rng.next_u32() & 31) as usize)
                        .unwrap_or(&b'0'),
                )
            })
            .collect();
        Self(text)
    }

    /// Read a code as a citizen types it.
    pub fn parse(text: &str) -> Result<Self, EnrolmentError> {
        let mut norm = String::with_capacity(CODE_LEN);
        for c in text.chars() {
            let c = match c.to_ascii_uppercase() {
                '-' | ' ' => continue,
                'O' => '0',
                'I' | 'L' => '1',
                c => c,
            };
            if !c.is_ascii() || !ALPHABET.contains(&(c as u8)) {
                return Err(EnrolmentError::Code(
                    "a code is 20 characters of 0-9 and A-Z (no U)",
                ));
            }
            norm.push(c);
        }
        if norm.len() != CODE_LEN {
            return Err(EnrolmentError::Code("a code is 20 characters long"));
        }
        Ok(Self(norm))
    }

    /// Accept only the normalised form (what board entries carry).
    pub fn from_normalised(text: &str) -> Result<Self, EnrolmentError> {
        if text.len() == CODE_LEN && text.bytes().all(|b| ALPHABET.contains(&b)) {
            Ok(Self(text.to_owned()))
        } else {
            Err(EnrolmentError::Code(
                "not a normalised code (20 characters of 0-9A-Z without I, L, O, U)",
            ))
        }
    }

    /// The normalised text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The printed form, in groups of five.
    pub fn grouped(&self) -> String {
        let mut out = String::with_capacity(CODE_LEN + 3);
        for (i, c) in self.0.chars().enumerate() {
            if i > 0 && i % 5 == 0 {
                out.push('-');
            }
            out.push(c);
        }
        out
    }

    /// `SHA-256("vox/v2/enrolment-code" ‖ 0x00 ‖ str(electorate_id) ‖ opt(region) ‖
    /// str(code))`: what the registrar commits to. The code's 100 random bits make the
    /// hash impossible to invert, so no salt is needed.
    pub fn hash(&self, electorate_id: &str, region: Option<&str>) -> Hash32 {
        let mut e = Encoder::new();
        e.str(electorate_id);
        match region {
            None => e.u8(0),
            Some(r) => e.u8(1).str(r),
        };
        e.str(&self.0);
        Hash32::sha256(&[b"vox/v2/enrolment-code\0", &e.into_bytes()])
    }
}

/// The registrar's count of codes for one region.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RegionCount {
    /// The region (absent: no region).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Number of codes.
    pub count: u64,
}

/// The registrar's commitment to the codes of an electorate (payload of
/// `enrolment-opened`, tag 20).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EnrolmentOpening {
    /// The electorate's id (new on this log).
    pub electorate_id: String,
    /// Its name.
    pub name: String,
    /// Codes per region, sorted by region (no region first), regions distinct.
    pub regions: Vec<RegionCount>,
    /// Hashes of every code ([`EnrolmentCode::hash`]), strictly ascending.
    pub codes: Vec<Hash32>,
}

impl Canonical for EnrolmentOpening {
    fn encode(&self, e: &mut Encoder) {
        e.str(&self.electorate_id)
            .str(&self.name)
            .count(self.regions.len());
        for r in &self.regions {
            match &r.region {
                None => e.u8(0),
                Some(x) => e.u8(1).str(x),
            };
            e.u64(r.count);
        }
        e.count(self.codes.len());
        for c in &self.codes {
            e.hash(c);
        }
    }
}

impl EnrolmentOpening {
    /// Draw `count` codes for each region and the opening that commits to them. The codes
    /// go on the letters; only their hashes are published.
    #[allow(clippy::type_complexity)]
    pub fn draw(
        electorate_id: &str,
        name: &str,
        per_region: &[(Option<String>, u64)],
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<(Self, Vec<(Option<String>, EnrolmentCode)>), EnrolmentError> {
        let mut letters = Vec::new();
        let mut regions: BTreeMap<Option<String>, u64> = BTreeMap::new();
        for (region, n) in per_region {
            *regions.entry(region.clone()).or_default() += n;
            for _ in 0..*n {
                letters.push((region.clone(), EnrolmentCode::generate(rng)));
            }
        }
        let mut codes: Vec<Hash32> = letters
            .iter()
            .map(|(r, c)| c.hash(electorate_id, r.as_deref()))
            .collect();
        codes.sort_unstable();
        let opening = Self {
            electorate_id: electorate_id.to_owned(),
            name: name.to_owned(),
            regions: regions
                .into_iter()
                .map(|(region, count)| RegionCount { region, count })
                .collect(),
            codes,
        };
        opening.validate()?;
        Ok((opening, letters))
    }

    /// Structural rules (04 §4.1.2).
    pub fn validate(&self) -> Result<(), EnrolmentError> {
        check_id(&self.electorate_id)?;
        if self.codes.is_empty() || self.codes.len() > MAX_CODES {
            return Err(EnrolmentError::Opening(format!(
                "needs 1 to {MAX_CODES} codes"
            )));
        }
        if self.codes.windows(2).any(|w| matches!(w, [a, b] if a >= b)) {
            return Err(EnrolmentError::Opening(
                "code hashes must be strictly ascending (sorted, no duplicate)".into(),
            ));
        }
        if self
            .regions
            .windows(2)
            .any(|w| matches!(w, [a, b] if a.region >= b.region))
        {
            return Err(EnrolmentError::Opening(
                "regions must be sorted and distinct".into(),
            ));
        }
        let total = self
            .regions
            .iter()
            .try_fold(0u64, |a, r| a.checked_add(r.count));
        if total != Some(self.codes.len() as u64) {
            return Err(EnrolmentError::Opening(
                "the counts per region do not add up to the number of codes".into(),
            ));
        }
        Ok(())
    }
}

fn check_id(id: &str) -> Result<(), EnrolmentError> {
    if id.is_empty() || id.len() > 64 {
        return Err(EnrolmentError::Opening(
            "electorate id must be 1 to 64 characters".into(),
        ));
    }
    Ok(())
}

/// Why an enrolment entry breaks the rules.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EnrolmentError {
    /// A malformed code.
    #[error("enrolment code: {0}")]
    Code(&'static str),
    /// A malformed or duplicate opening.
    #[error("enrolment opening: {0}")]
    Opening(String),
    /// No electorate with this id.
    #[error("no electorate {0} is open for enrolment on this log")]
    UnknownElectorate(String),
    /// The electorate was registered or opened already.
    #[error("electorate {0} exists already on this log")]
    Duplicate(String),
    /// The code's hash is not in the registrar's commitment (nor a replacement code).
    #[error("the code is not one the registrar committed to for this electorate and region")]
    NotCommitted,
    /// The code was used by an earlier entry.
    #[error("the code was already spent at leaf {0}")]
    Spent(u64),
    /// The key is on this electorate already.
    #[error("this credential is already enrolled in the electorate")]
    KeyTaken,
    /// The credential signature does not verify.
    #[error("the credential signature does not verify: {0}")]
    Signature(String),
    /// The electorate is frozen and the code is not a replacement code.
    #[error("the electorate is frozen; only replacement codes can still be used")]
    Frozen,
    /// The electorate is not frozen yet (to use it) or frozen twice.
    #[error("{0}")]
    Freeze(String),
    /// A revocation of a credential that is not a current member.
    #[error("the credential is not a current member of the electorate")]
    NotCurrent,
    /// The replacement's region differs from the revoked credential's.
    #[error("a replacement code must be for the revoked credential's region")]
    Region,
}

/// What a replayed entry changed, for the caller's own indexes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Nothing outside the roll.
    None,
    /// An electorate became usable (registered, or frozen) under this hash.
    Usable(Hash32),
    /// The index of the frozen electorate with this hash changed (revocation or
    /// replacement).
    IndexChanged(Hash32),
}

#[derive(Clone, Debug)]
enum CodeState {
    Unspent,
    /// A replacement code: the revoked credential it replaces, and its region.
    Replacement([u8; 32], Option<String>),
    Spent(u64),
}

#[derive(Debug)]
struct Book {
    name: String,
    /// Committed counts per region (empty for an electorate registered whole).
    committed: Vec<RegionCount>,
    codes: HashMap<Hash32, CodeState>,
    /// Before freezing: the enrolled credentials in order, and who is revoked.
    enrolled: Vec<ElectorateEntry>,
    keys: HashMap<[u8; 32], bool>,
    /// Keys revoked before the freeze (left out of the frozen list): never enrolled again.
    retired: HashSet<[u8; 32]>,
    /// After freezing (or registration): the electorate and its live index.
    frozen: Option<(Electorate, ElectorateIndex)>,
}

/// Counts an observer compares: codes committed and credentials enrolled per region.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegionTally {
    /// Region (absent: no region).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Codes the registrar committed to (0 for an electorate registered whole).
    pub committed: u64,
    /// Credentials enrolled and not revoked.
    pub enrolled: u64,
}

/// The registrar's books, replayed from the board: every electorate by id.
#[derive(Debug, Default)]
pub struct Roll {
    books: HashMap<String, Book>,
    by_hash: HashMap<Hash32, String>,
}

impl Roll {
    /// Empty.
    pub fn new() -> Self {
        Self::default()
    }

    /// `electorate-registered`: a whole list approved in person (§4.1.1), usable at once.
    pub fn register(&mut self, electorate: &Electorate) -> Result<Hash32, EnrolmentError> {
        electorate
            .validate()
            .map_err(|e| EnrolmentError::Opening(e.to_string()))?;
        if self.books.contains_key(&electorate.id) {
            return Err(EnrolmentError::Duplicate(electorate.id.clone()));
        }
        let index = electorate.index();
        let hash = index.hash;
        self.by_hash.insert(hash, electorate.id.clone());
        self.books.insert(
            electorate.id.clone(),
            Book {
                name: electorate.name.clone(),
                committed: Vec::new(),
                codes: HashMap::new(),
                enrolled: Vec::new(),
                keys: HashMap::new(),
                retired: HashSet::new(),
                frozen: Some((electorate.clone(), index)),
            },
        );
        Ok(hash)
    }

    /// Every rule of [`Roll::open`], without changing anything (a server checks a new
    /// act under its board lock before appending it).
    pub fn check_open(&self, opening: &EnrolmentOpening) -> Result<(), EnrolmentError> {
        opening.validate()?;
        if self.books.contains_key(&opening.electorate_id) {
            return Err(EnrolmentError::Duplicate(opening.electorate_id.clone()));
        }
        Ok(())
    }

    /// `enrolment-opened` (§4.1.2).
    pub fn open(&mut self, opening: &EnrolmentOpening) -> Result<(), EnrolmentError> {
        self.check_open(opening)?;
        self.books.insert(
            opening.electorate_id.clone(),
            Book {
                name: opening.name.clone(),
                committed: opening.regions.clone(),
                codes: opening
                    .codes
                    .iter()
                    .map(|h| (*h, CodeState::Unspent))
                    .collect(),
                enrolled: Vec::new(),
                keys: HashMap::new(),
                retired: HashSet::new(),
                frozen: None,
            },
        );
        Ok(())
    }

    /// `credential-enrolled` at `leaf` (§4.1.2, §4.1.3). Checks everything, including
    /// the credential signature.
    pub fn enrol(&mut self, leaf: u64, req: &EnrolmentRequest) -> Result<Effect, EnrolmentError> {
        self.check_enrol(req)?;
        req.verify()
            .map_err(|e| EnrolmentError::Signature(e.to_string()))?;
        self.apply_enrol(leaf, req)
    }

    /// Every rule of [`Roll::enrol`] except the signature (a caller that verified it
    /// in parallel).
    pub fn check_enrol(&self, req: &EnrolmentRequest) -> Result<(), EnrolmentError> {
        let code = EnrolmentCode::from_normalised(req.code.as_deref().unwrap_or_default())?;
        let book = self
            .books
            .get(&req.electorate_id)
            .ok_or_else(|| EnrolmentError::UnknownElectorate(req.electorate_id.clone()))?;
        let h = code.hash(&req.electorate_id, req.region.as_deref());
        let key = req.credential.to_bytes();
        match book.codes.get(&h) {
            None => return Err(EnrolmentError::NotCommitted),
            Some(CodeState::Spent(at)) => return Err(EnrolmentError::Spent(*at)),
            Some(CodeState::Unspent) if book.frozen.is_some() => {
                return Err(EnrolmentError::Frozen)
            }
            Some(CodeState::Replacement(_, region)) => {
                if region.as_deref() != req.region.as_deref() {
                    return Err(EnrolmentError::Region);
                }
            }
            Some(CodeState::Unspent) => {}
        }
        let taken = match &book.frozen {
            Some((_, index)) => index.contains(&req.credential) || book.retired.contains(&key),
            None => book.keys.contains_key(&key),
        };
        if taken {
            return Err(EnrolmentError::KeyTaken);
        }
        Ok(())
    }

    fn apply_enrol(&mut self, leaf: u64, req: &EnrolmentRequest) -> Result<Effect, EnrolmentError> {
        let code = EnrolmentCode::from_normalised(req.code.as_deref().unwrap_or_default())?;
        let h = code.hash(&req.electorate_id, req.region.as_deref());
        let book = self
            .books
            .get_mut(&req.electorate_id)
            .ok_or_else(|| EnrolmentError::UnknownElectorate(req.electorate_id.clone()))?;
        let state = book.codes.insert(h, CodeState::Spent(leaf));
        let key = req.credential.to_bytes();
        match (&mut book.frozen, state) {
            (Some((_, index)), Some(CodeState::Replacement(old, _))) => {
                index.add(
                    key,
                    Replacement {
                        region: req.region.clone(),
                        since: leaf,
                        replaces: old,
                    },
                );
                Ok(Effect::IndexChanged(index.hash))
            }
            _ => {
                book.enrolled.push(req.entry());
                book.keys.insert(key, false);
                Ok(Effect::None)
            }
        }
    }

    /// Every rule of [`Roll::revoke`], without changing anything.
    pub fn check_revoke(
        &self,
        electorate_id: &str,
        credential: &CredentialPublicKey,
        replacement: Option<&Hash32>,
    ) -> Result<(), EnrolmentError> {
        let book = self
            .books
            .get(electorate_id)
            .ok_or_else(|| EnrolmentError::UnknownElectorate(electorate_id.to_owned()))?;
        let key = credential.to_bytes();
        let current = match &book.frozen {
            Some((_, index)) => index.is_current(&key),
            None => book.keys.get(&key) == Some(&false),
        };
        if !current {
            return Err(EnrolmentError::NotCurrent);
        }
        if let Some(h) = replacement {
            if book.codes.contains_key(h) {
                return Err(EnrolmentError::Opening(
                    "the replacement code hash is already committed".into(),
                ));
            }
        }
        Ok(())
    }

    /// `credential-revoked` at `leaf` (§4.1.3): the credential must be a current member;
    /// a replacement code hash must be new.
    pub fn revoke(
        &mut self,
        leaf: u64,
        electorate_id: &str,
        credential: &CredentialPublicKey,
        replacement: Option<&Hash32>,
    ) -> Result<Effect, EnrolmentError> {
        self.check_revoke(electorate_id, credential, replacement)?;
        let book = self
            .books
            .get_mut(electorate_id)
            .ok_or_else(|| EnrolmentError::UnknownElectorate(electorate_id.to_owned()))?;
        let key = credential.to_bytes();
        let (effect, region) = match &mut book.frozen {
            Some((_, index)) => {
                index.revoke(key, leaf);
                let region = index.region_of(credential).map(str::to_owned);
                (Effect::IndexChanged(index.hash), region)
            }
            None => {
                book.keys.insert(key, true);
                let region = book
                    .enrolled
                    .iter()
                    .find(|e| e.credential == *credential)
                    .and_then(|e| e.region.clone());
                (Effect::None, region)
            }
        };
        if let Some(h) = replacement {
            // A replacement code is for the revoked credential's region. Used before the
            // freeze, its credential simply joins the list (the revoked key is left out);
            // used after, it takes the revoked credential's place (§4.1.3).
            book.codes.insert(*h, CodeState::Replacement(key, region));
        }
        Ok(effect)
    }

    /// The electorate the registrar would freeze now: the enrolled, non-revoked
    /// credentials in enrolment order.
    pub fn pending(&self, electorate_id: &str) -> Result<Electorate, EnrolmentError> {
        let book = self
            .books
            .get(electorate_id)
            .ok_or_else(|| EnrolmentError::UnknownElectorate(electorate_id.to_owned()))?;
        if book.frozen.is_some() {
            return Err(EnrolmentError::Freeze(format!(
                "electorate {electorate_id} is frozen already"
            )));
        }
        Ok(Electorate {
            id: electorate_id.to_owned(),
            name: book.name.clone(),
            entries: book
                .enrolled
                .iter()
                .filter(|e| book.keys.get(&e.credential.to_bytes()) == Some(&false))
                .cloned()
                .collect(),
        })
    }

    /// Every rule of [`Roll::freeze`], without changing anything; returns the electorate
    /// that would be frozen and its index.
    pub fn check_freeze(
        &self,
        electorate_id: &str,
        hash: &Hash32,
    ) -> Result<(Electorate, ElectorateIndex), EnrolmentError> {
        let electorate = self.pending(electorate_id)?;
        electorate
            .validate()
            .map_err(|e| EnrolmentError::Freeze(format!("cannot freeze: {e}")))?;
        let index = electorate.index();
        if index.hash != *hash {
            return Err(EnrolmentError::Freeze(format!(
                "the act names electorate hash {hash}, but the enrolled credentials give {}",
                index.hash
            )));
        }
        Ok((electorate, index))
    }

    /// `electorate-frozen` (§4.1.4): `hash` must be the hash of [`Roll::pending`].
    pub fn freeze(&mut self, electorate_id: &str, hash: &Hash32) -> Result<Effect, EnrolmentError> {
        let (electorate, index) = self.check_freeze(electorate_id, hash)?;
        let book = self
            .books
            .get_mut(electorate_id)
            .ok_or_else(|| EnrolmentError::UnknownElectorate(electorate_id.to_owned()))?;
        book.enrolled = Vec::new();
        book.retired = std::mem::take(&mut book.keys)
            .into_iter()
            .filter_map(|(k, revoked)| revoked.then_some(k))
            .collect();
        book.frozen = Some((electorate, index));
        self.by_hash.insert(*hash, electorate_id.to_owned());
        Ok(Effect::Usable(*hash))
    }

    /// Replay one payload at `leaf` (entries that are not about electorates: no effect).
    pub fn apply(
        &mut self,
        leaf: u64,
        payload: &crate::board::Payload,
    ) -> Result<Effect, EnrolmentError> {
        use crate::board::Payload as P;
        match payload {
            P::ElectorateRegistered { electorate, .. } => {
                self.register(electorate).map(Effect::Usable)
            }
            P::EnrolmentOpened { opening, .. } => self.open(opening).map(|()| Effect::None),
            P::CredentialEnrolled { enrolment } => self.enrol(leaf, enrolment),
            P::CredentialRevoked {
                electorate_id,
                credential,
                replacement,
                ..
            } => self.revoke(leaf, electorate_id, credential, replacement.as_ref()),
            P::ElectorateFrozen {
                electorate_id,
                electorate_hash,
                ..
            } => self.freeze(electorate_id, electorate_hash),
            _ => Ok(Effect::None),
        }
    }

    /// The usable electorate (registered or frozen) with this hash, and its live index.
    pub fn usable(&self, hash: &Hash32) -> Option<(&Electorate, &ElectorateIndex)> {
        let id = self.by_hash.get(hash)?;
        let (e, i) = self.books.get(id)?.frozen.as_ref()?;
        Some((e, i))
    }

    /// The hash of a usable electorate by id.
    pub fn hash_of(&self, electorate_id: &str) -> Option<Hash32> {
        Some(self.books.get(electorate_id)?.frozen.as_ref()?.1.hash)
    }

    /// Whether an electorate with this id exists (open, registered or frozen).
    pub fn exists(&self, electorate_id: &str) -> bool {
        self.books.contains_key(electorate_id)
    }

    /// Committed and enrolled counts per region, for the board's electorate page.
    pub fn tallies(&self, electorate_id: &str) -> Option<Vec<RegionTally>> {
        let book = self.books.get(electorate_id)?;
        let mut out: BTreeMap<Option<String>, RegionTally> = book
            .committed
            .iter()
            .map(|r| {
                (
                    r.region.clone(),
                    RegionTally {
                        region: r.region.clone(),
                        committed: r.count,
                        enrolled: 0,
                    },
                )
            })
            .collect();
        let mut bump = |region: &Option<String>| {
            out.entry(region.clone())
                .or_insert_with(|| RegionTally {
                    region: region.clone(),
                    committed: 0,
                    enrolled: 0,
                })
                .enrolled += 1;
        };
        match &book.frozen {
            Some((e, index)) => {
                for entry in &e.entries {
                    if index.revoked_at(&entry.credential).is_none() {
                        bump(&entry.region);
                    }
                }
                for (_, r) in index.replacements() {
                    bump(&r.region);
                }
            }
            None => {
                for entry in &book.enrolled {
                    if book.keys.get(&entry.credential.to_bytes()) == Some(&false) {
                        bump(&entry.region);
                    }
                }
            }
        }
        Some(out.into_values().collect())
    }

    /// Whether the electorate `electorate_id` is frozen (or was registered whole).
    pub fn is_frozen(&self, electorate_id: &str) -> bool {
        self.books
            .get(electorate_id)
            .is_some_and(|b| b.frozen.is_some())
    }

    /// Number of unspent codes (committed or replacement) of an electorate.
    pub fn unspent_codes(&self, electorate_id: &str) -> u64 {
        self.books.get(electorate_id).map_or(0, |b| {
            b.codes
                .values()
                .filter(|s| !matches!(s, CodeState::Spent(_)))
                .count() as u64
        })
    }
}

impl Hashable for EnrolmentOpening {
    const TAG: &'static str = "enrolment-opening";
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    //! The rules of 04 §4.1.2–§4.1.4 as [`Roll`] applies them: one happy path, then every
    //! broken rule on its own, each of which must make the call fail and leave the roll
    //! as it was.

    use super::*;
    use crate::board::Payload;
    use crate::electorate::Ineligible;
    use crate::roles::ActSignature;
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;
    use vox_crypto::credential::Credential;

    const ID: &str = "town-2026";

    fn rng(seed: u64) -> ChaCha20Rng {
        ChaCha20Rng::seed_from_u64(seed)
    }

    fn north() -> Option<String> {
        Some("north".into())
    }

    /// An opening with one code without region, two for "north" and one for "south".
    fn opened(rng: &mut ChaCha20Rng) -> (Roll, Vec<(Option<String>, EnrolmentCode)>) {
        let (opening, letters) = EnrolmentOpening::draw(
            ID,
            "Town",
            &[(None, 1), (north(), 2), (Some("south".into()), 1)],
            rng,
        )
        .unwrap();
        let mut roll = Roll::new();
        roll.open(&opening).unwrap();
        (roll, letters)
    }

    /// A request signed by `cred` for `code` in `region`.
    fn request(
        region: &Option<String>,
        code: &EnrolmentCode,
        cred: &Credential,
        rng: &mut ChaCha20Rng,
    ) -> EnrolmentRequest {
        EnrolmentRequest::create(ID, region.as_deref(), Some(code), cred, rng)
    }

    fn pk(c: &Credential) -> CredentialPublicKey {
        c.public_key()
    }

    #[test]
    fn open_enrol_freeze_happy_path() {
        let mut rng = rng(1);
        let (opening, letters) =
            EnrolmentOpening::draw(ID, "Town", &[(None, 1), (north(), 2)], &mut rng).unwrap();
        assert_eq!(letters.len(), 3);
        assert_eq!(
            opening.regions,
            vec![
                RegionCount {
                    region: None,
                    count: 1
                },
                RegionCount {
                    region: north(),
                    count: 2
                },
            ]
        );
        // Every letter's code hash is committed.
        for (r, c) in &letters {
            assert!(opening.codes.contains(&c.hash(ID, r.as_deref())));
        }
        let mut roll = Roll::new();
        let open = Payload::EnrolmentOpened {
            opening: opening.clone(),
            act: ActSignature::unsigned(),
        };
        assert_eq!(roll.apply(1, &open).unwrap(), Effect::None);
        assert!(roll.exists(ID) && !roll.is_frozen(ID));
        assert_eq!(roll.hash_of(ID), None, "not usable before the freeze");
        assert_eq!(roll.unspent_codes(ID), 3);

        let creds: Vec<Credential> = (0..3).map(|_| Credential::generate(&mut rng)).collect();
        for (i, ((r, code), cred)) in letters.iter().zip(&creds).enumerate() {
            let enrolment = request(r, code, cred, &mut rng);
            let p = Payload::CredentialEnrolled { enrolment };
            assert_eq!(roll.apply(2 + i as u64, &p).unwrap(), Effect::None);
        }
        assert_eq!(roll.unspent_codes(ID), 0);
        let pending = roll.pending(ID).unwrap();
        assert_eq!(pending.name, "Town");
        let order: Vec<_> = pending.entries.iter().map(|e| e.credential).collect();
        assert_eq!(
            order,
            creds.iter().map(pk).collect::<Vec<_>>(),
            "enrolment order"
        );
        assert_eq!(pending.entries[0].region, letters[0].0);

        let hash = pending.canonical_hash();
        let freeze = Payload::ElectorateFrozen {
            electorate_id: ID.into(),
            electorate_hash: hash,
            act: ActSignature::unsigned(),
        };
        assert_eq!(roll.apply(5, &freeze).unwrap(), Effect::Usable(hash));
        assert!(roll.is_frozen(ID));
        assert_eq!(roll.hash_of(ID), Some(hash));
        let (electorate, index) = roll.usable(&hash).unwrap();
        assert_eq!(electorate, &pending);
        assert_eq!(index.hash, hash);
        for c in &creds {
            assert_eq!(index.standing(&pk(c), 6), Ok(()));
            assert!(index.predecessors(&pk(c)).is_empty());
        }
        let stranger = Credential::generate(&mut rng);
        assert_eq!(
            index.standing(&pk(&stranger), 6),
            Err(Ineligible::NotMember)
        );
        // Entries that are not about electorates change nothing.
        let other = Payload::PetitionClosed {
            petition_id: "p".into(),
            count: 0,
        };
        assert_eq!(roll.apply(7, &other).unwrap(), Effect::None);
    }

    #[test]
    fn a_code_not_committed_is_refused() {
        let mut rng = rng(2);
        let (mut roll, letters) = opened(&mut rng);
        let cred = Credential::generate(&mut rng);
        // A fresh code the registrar never drew.
        let fresh = EnrolmentCode::generate(&mut rng);
        let r = request(&north(), &fresh, &cred, &mut rng);
        assert_eq!(roll.enrol(2, &r), Err(EnrolmentError::NotCommitted));
        // A committed code claimed for another region: its hash binds the region.
        let (region, code) = letters.iter().find(|(r, _)| r == &north()).unwrap();
        assert_eq!(region, &north());
        let r = request(&Some("south".into()), code, &cred, &mut rng);
        assert_eq!(roll.enrol(2, &r), Err(EnrolmentError::NotCommitted));
        let r = request(&None, code, &cred, &mut rng);
        assert_eq!(roll.enrol(2, &r), Err(EnrolmentError::NotCommitted));
        // A committed code used on another electorate: its hash binds the electorate.
        let (other, _) =
            EnrolmentOpening::draw("other", "Other", &[(north(), 1)], &mut rng).unwrap();
        roll.open(&other).unwrap();
        let r = EnrolmentRequest::create("other", Some("north"), Some(code), &cred, &mut rng);
        assert_eq!(roll.enrol(2, &r), Err(EnrolmentError::NotCommitted));
        // An electorate that does not exist.
        let r = EnrolmentRequest::create("nowhere", Some("north"), Some(code), &cred, &mut rng);
        assert_eq!(
            roll.enrol(2, &r),
            Err(EnrolmentError::UnknownElectorate("nowhere".into()))
        );
        // Nothing was spent; the right request still works.
        assert_eq!(roll.unspent_codes(ID), 4);
        let r = request(region, code, &cred, &mut rng);
        roll.enrol(2, &r).unwrap();
        assert_eq!(roll.unspent_codes(ID), 3);
    }

    #[test]
    fn a_code_spent_twice_names_the_first_leaf() {
        let mut rng = rng(3);
        let (mut roll, letters) = opened(&mut rng);
        let (region, code) = &letters[1];
        let first = Credential::generate(&mut rng);
        roll.enrol(5, &request(region, code, &first, &mut rng))
            .unwrap();
        let second = Credential::generate(&mut rng);
        let r = request(region, code, &second, &mut rng);
        assert_eq!(roll.check_enrol(&r), Err(EnrolmentError::Spent(5)));
        assert_eq!(roll.enrol(6, &r), Err(EnrolmentError::Spent(5)));
        // The same request again is refused too (the code, not the key, is checked first).
        let again = request(region, code, &first, &mut rng);
        assert_eq!(roll.enrol(6, &again), Err(EnrolmentError::Spent(5)));
        assert_eq!(roll.pending(ID).unwrap().entries.len(), 1);
    }

    #[test]
    fn a_code_must_be_normalised_and_present() {
        let mut rng = rng(4);
        let (roll, letters) = opened(&mut rng);
        let (region, code) = &letters[0];
        let cred = Credential::generate(&mut rng);
        let good = request(region, code, &cred, &mut rng);
        roll.check_enrol(&good).unwrap();
        let variants = [
            Some(code.as_str().to_ascii_lowercase()),
            Some(code.grouped()),
            Some(format!(" {}", code.as_str())),
            Some(code.as_str()[..19].to_owned()),
            Some(format!("{}0", code.as_str())),
            Some(String::new()),
            None,
        ];
        for v in variants {
            let mut bad = good.clone();
            bad.code = v.clone();
            assert!(
                matches!(roll.check_enrol(&bad), Err(EnrolmentError::Code(_))),
                "accepted code {v:?}"
            );
        }
        // A code with O where the letter has 0 is refused on the board (the citizen's
        // device normalises before signing): only if the code has a 0.
        if let Some(i) = code.as_str().find('0') {
            let mut text = code.as_str().to_owned();
            text.replace_range(i..=i, "O");
            let mut bad = good.clone();
            bad.code = Some(text);
            assert!(matches!(
                roll.check_enrol(&bad),
                Err(EnrolmentError::Code(_))
            ));
        }
    }

    #[test]
    fn a_bad_signature_is_refused_and_spends_nothing() {
        let mut rng = rng(5);
        let (mut roll, letters) = opened(&mut rng);
        let (region, code) = &letters[0];
        let cred = Credential::generate(&mut rng);
        let good = request(region, code, &cred, &mut rng);
        let mut bad = good.clone();
        bad.signature.0.z = bad.signature.0.z + vox_crypto::Scalar::from_u64(1);
        assert!(
            roll.check_enrol(&bad).is_ok(),
            "check_enrol leaves the signature out"
        );
        assert!(matches!(
            roll.enrol(2, &bad),
            Err(EnrolmentError::Signature(_))
        ));
        // Signed by another credential than the one enrolled.
        let mut stolen = good.clone();
        stolen.credential = Credential::generate(&mut rng).public_key();
        assert!(matches!(
            roll.enrol(2, &stolen),
            Err(EnrolmentError::Signature(_))
        ));
        assert_eq!(roll.unspent_codes(ID), 4);
        assert!(roll.pending(ID).unwrap().entries.is_empty());
        roll.enrol(3, &good).unwrap();
    }

    #[test]
    fn an_original_code_after_the_freeze_is_refused() {
        let mut rng = rng(6);
        let (mut roll, letters) = opened(&mut rng);
        let a = Credential::generate(&mut rng);
        roll.enrol(2, &request(&letters[0].0, &letters[0].1, &a, &mut rng))
            .unwrap();
        let h = roll.pending(ID).unwrap().canonical_hash();
        roll.freeze(ID, &h).unwrap();
        let b = Credential::generate(&mut rng);
        let r = request(&letters[1].0, &letters[1].1, &b, &mut rng);
        assert_eq!(roll.enrol(4, &r), Err(EnrolmentError::Frozen));
        // Still unspent (the registrar's counts show codes never used).
        assert_eq!(roll.unspent_codes(ID), 3);
        assert!(!roll.usable(&h).unwrap().1.contains(&pk(&b)));
    }

    #[test]
    fn a_key_enrolled_twice_is_refused() {
        let mut rng = rng(7);
        let (mut roll, letters) = opened(&mut rng);
        let a = Credential::generate(&mut rng);
        roll.enrol(2, &request(&letters[0].0, &letters[0].1, &a, &mut rng))
            .unwrap();
        let r = request(&letters[1].0, &letters[1].1, &a, &mut rng);
        assert_eq!(roll.enrol(3, &r), Err(EnrolmentError::KeyTaken));
        assert_eq!(roll.unspent_codes(ID), 3, "the second code is not spent");
        // After the freeze, a replacement code cannot bring a member's key in again.
        let b = Credential::generate(&mut rng);
        roll.enrol(3, &request(&letters[1].0, &letters[1].1, &b, &mut rng))
            .unwrap();
        let h = roll.pending(ID).unwrap().canonical_hash();
        roll.freeze(ID, &h).unwrap();
        let spare = EnrolmentCode::generate(&mut rng);
        let region = letters[0].0.clone();
        roll.revoke(5, ID, &pk(&a), Some(&spare.hash(ID, region.as_deref())))
            .unwrap();
        let r = request(&region, &spare, &b, &mut rng);
        assert_eq!(roll.enrol(6, &r), Err(EnrolmentError::KeyTaken));
        // The revoked key itself cannot come back either.
        let r = request(&region, &spare, &a, &mut rng);
        assert_eq!(roll.enrol(6, &r), Err(EnrolmentError::KeyTaken));
    }

    #[test]
    fn revocation_before_the_freeze_leaves_the_key_out() {
        let mut rng = rng(8);
        let (mut roll, letters) = opened(&mut rng);
        let (region, _) = &letters[1];
        assert_eq!(region, &north());
        let a = Credential::generate(&mut rng);
        let b = Credential::generate(&mut rng);
        roll.enrol(2, &request(&letters[1].0, &letters[1].1, &a, &mut rng))
            .unwrap();
        roll.enrol(3, &request(&letters[0].0, &letters[0].1, &b, &mut rng))
            .unwrap();
        let replacement = EnrolmentCode::generate(&mut rng);
        let rh = replacement.hash(ID, Some("north"));
        // A replacement hash that is already committed is refused.
        let taken = letters[2].1.hash(ID, letters[2].0.as_deref());
        assert!(matches!(
            roll.revoke(4, ID, &pk(&a), Some(&taken)),
            Err(EnrolmentError::Opening(_))
        ));
        assert_eq!(roll.revoke(4, ID, &pk(&a), Some(&rh)), Ok(Effect::None));
        assert_eq!(
            roll.unspent_codes(ID),
            3,
            "two original codes and the replacement"
        );
        let pending = roll.pending(ID).unwrap();
        assert_eq!(
            pending
                .entries
                .iter()
                .map(|e| e.credential)
                .collect::<Vec<_>>(),
            vec![pk(&b)],
            "the revoked key is left out"
        );
        // Revoking it again, or revoking a stranger, is refused.
        assert_eq!(
            roll.revoke(5, ID, &pk(&a), None),
            Err(EnrolmentError::NotCurrent)
        );
        let stranger = Credential::generate(&mut rng);
        assert_eq!(
            roll.revoke(5, ID, &pk(&stranger), None),
            Err(EnrolmentError::NotCurrent)
        );
        // The revoked key cannot enrol again with another code.
        let r = request(&letters[2].0, &letters[2].1, &a, &mut rng);
        assert_eq!(roll.enrol(5, &r), Err(EnrolmentError::KeyTaken));
        // The replacement code is an ordinary code: any region it was hashed with.
        let c = Credential::generate(&mut rng);
        let wrong = request(&Some("south".into()), &replacement, &c, &mut rng);
        assert_eq!(roll.enrol(5, &wrong), Err(EnrolmentError::NotCommitted));
        let r = request(&north(), &replacement, &c, &mut rng);
        assert_eq!(roll.enrol(5, &r), Ok(Effect::None));
        let pending = roll.pending(ID).unwrap();
        assert_eq!(
            pending
                .entries
                .iter()
                .map(|e| e.credential)
                .collect::<Vec<_>>(),
            vec![pk(&b), pk(&c)]
        );
        let h = pending.canonical_hash();
        assert_eq!(roll.freeze(ID, &h), Ok(Effect::Usable(h)));
        let (_, index) = roll.usable(&h).unwrap();
        assert!(!index.contains(&pk(&a)));
        assert_eq!(index.standing(&pk(&a), 100), Err(Ineligible::NotMember));
        assert!(
            index.predecessors(&pk(&c)).is_empty(),
            "not a replacement after all"
        );
        assert_eq!(index.revoked_count(), 0);
    }

    #[test]
    fn a_replacement_code_issued_before_the_freeze_still_works_after_it() {
        let mut rng = rng(9);
        let (mut roll, letters) = opened(&mut rng);
        let a = Credential::generate(&mut rng);
        let b = Credential::generate(&mut rng);
        roll.enrol(2, &request(&letters[0].0, &letters[0].1, &a, &mut rng))
            .unwrap();
        roll.enrol(3, &request(&letters[1].0, &letters[1].1, &b, &mut rng))
            .unwrap();
        let replacement = EnrolmentCode::generate(&mut rng);
        let region = letters[0].0.clone();
        roll.revoke(
            4,
            ID,
            &pk(&a),
            Some(&replacement.hash(ID, region.as_deref())),
        )
        .unwrap();
        let h = roll.pending(ID).unwrap().canonical_hash();
        roll.freeze(ID, &h).unwrap();
        // The key revoked before the freeze can never come back, not even with the
        // replacement code.
        let back = request(&region, &replacement, &a, &mut rng);
        assert_eq!(roll.enrol(6, &back), Err(EnrolmentError::KeyTaken));
        // The citizen's new credential takes the revoked one's place.
        let c = Credential::generate(&mut rng);
        let r = request(&region, &replacement, &c, &mut rng);
        assert!(matches!(roll.enrol(7, &r), Ok(Effect::IndexChanged(_))));
        let (_, index) = roll.usable(&h).unwrap();
        assert_eq!(index.standing(&pk(&c), 8), Ok(()));
        assert_eq!(index.standing(&pk(&c), 7), Err(Ineligible::NotYet(7)));
        assert_eq!(index.predecessors(&pk(&c)), vec![pk(&a).to_bytes()]);
        assert_eq!(index.standing(&pk(&a), 8), Err(Ineligible::NotMember));
        assert_eq!(roll.enrol(8, &r), Err(EnrolmentError::Spent(7)));
    }

    #[test]
    fn revocation_after_the_freeze_and_the_replacement() {
        let mut rng = rng(10);
        let (mut roll, letters) = opened(&mut rng);
        let (region, _) = &letters[1];
        assert_eq!(region, &north());
        let a = Credential::generate(&mut rng);
        let b = Credential::generate(&mut rng);
        roll.enrol(2, &request(&letters[1].0, &letters[1].1, &a, &mut rng))
            .unwrap();
        roll.enrol(3, &request(&letters[0].0, &letters[0].1, &b, &mut rng))
            .unwrap();
        let h = roll.pending(ID).unwrap().canonical_hash();
        roll.freeze(ID, &h).unwrap();

        let r1 = EnrolmentCode::generate(&mut rng);
        let r1h = r1.hash(ID, Some("north"));
        assert_eq!(
            roll.revoke(10, ID, &pk(&a), Some(&r1h)),
            Ok(Effect::IndexChanged(h))
        );
        assert_eq!(
            roll.unspent_codes(ID),
            3,
            "two original codes and the replacement"
        );
        {
            let (_, index) = roll.usable(&h).unwrap();
            assert_eq!(index.revoked_at(&pk(&a)), Some(10));
            assert_eq!(
                index.standing(&pk(&a), 9),
                Ok(()),
                "earlier acts stay valid"
            );
            assert_eq!(index.standing(&pk(&a), 10), Ok(()));
            assert_eq!(index.standing(&pk(&a), 11), Err(Ineligible::Revoked(10)));
            assert_eq!(index.standing(&pk(&b), 11), Ok(()));
            assert!(index.contains(&pk(&a)), "a revoked key was eligible once");
        }
        assert_eq!(
            roll.revoke(11, ID, &pk(&a), None),
            Err(EnrolmentError::NotCurrent),
            "revoked twice"
        );

        // The replacement code must be used for the revoked credential's region.
        let c = Credential::generate(&mut rng);
        let r = request(&Some("south".into()), &r1, &c, &mut rng);
        assert_eq!(
            roll.enrol(12, &r),
            Err(EnrolmentError::NotCommitted),
            "the hash binds the region"
        );
        let r = request(&north(), &r1, &c, &mut rng);
        assert_eq!(roll.enrol(12, &r), Ok(Effect::IndexChanged(h)));
        assert_eq!(roll.unspent_codes(ID), 2);
        {
            let (electorate, index) = roll.usable(&h).unwrap();
            assert_eq!(
                electorate.entries.len(),
                2,
                "the frozen list does not change"
            );
            assert_eq!(index.hash, h, "nor does its hash");
            assert!(index.contains(&pk(&c)));
            assert_eq!(index.region_of(&pk(&c)), Some("north"));
            assert_eq!(index.standing(&pk(&c), 12), Err(Ineligible::NotYet(12)));
            assert_eq!(index.standing(&pk(&c), 13), Ok(()));
            assert_eq!(index.predecessors(&pk(&c)), vec![pk(&a).to_bytes()]);
            assert_eq!(index.len(), 3);
        }
        // Spent: a second replacement enrolment with the same code.
        let d = Credential::generate(&mut rng);
        let r = request(&north(), &r1, &d, &mut rng);
        assert_eq!(roll.enrol(14, &r), Err(EnrolmentError::Spent(12)));

        // The replacement is revoked in turn; its replacement stands for both.
        let r2 = EnrolmentCode::generate(&mut rng);
        roll.revoke(20, ID, &pk(&c), Some(&r2.hash(ID, Some("north"))))
            .unwrap();
        roll.enrol(21, &request(&north(), &r2, &d, &mut rng))
            .unwrap();
        let (_, index) = roll.usable(&h).unwrap();
        assert_eq!(index.standing(&pk(&c), 21), Err(Ineligible::Revoked(20)));
        assert_eq!(
            index.predecessors(&pk(&d)),
            vec![pk(&c).to_bytes(), pk(&a).to_bytes()]
        );
        assert_eq!(index.revoked_count(), 2);
        let north_tally = roll
            .tallies(ID)
            .unwrap()
            .into_iter()
            .find(|t| t.region == north())
            .unwrap();
        assert_eq!(
            north_tally,
            RegionTally {
                region: north(),
                committed: 2,
                enrolled: 1
            },
            "one citizen in the north, on their third key"
        );
    }

    #[test]
    fn a_replacement_region_mismatch_is_refused() {
        // The registrar committed the replacement with another region than the revoked
        // credential's: the code then cannot be used at all (Region for the hash it was
        // committed with).
        let mut rng = rng(11);
        let (mut roll, letters) = opened(&mut rng);
        let a = Credential::generate(&mut rng);
        roll.enrol(2, &request(&north(), &letters[1].1, &a, &mut rng))
            .unwrap();
        let h = roll.pending(ID).unwrap().canonical_hash();
        roll.freeze(ID, &h).unwrap();
        let r1 = EnrolmentCode::generate(&mut rng);
        roll.revoke(4, ID, &pk(&a), Some(&r1.hash(ID, Some("south"))))
            .unwrap();
        let c = Credential::generate(&mut rng);
        let r = request(&Some("south".into()), &r1, &c, &mut rng);
        assert_eq!(roll.enrol(5, &r), Err(EnrolmentError::Region));
        let r = request(&north(), &r1, &c, &mut rng);
        assert_eq!(roll.enrol(5, &r), Err(EnrolmentError::NotCommitted));
    }

    #[test]
    fn revoking_a_non_member_or_a_revoked_credential_is_refused() {
        let mut rng = rng(12);
        let (mut roll, letters) = opened(&mut rng);
        let a = Credential::generate(&mut rng);
        let stranger = Credential::generate(&mut rng);
        assert_eq!(
            roll.revoke(2, ID, &pk(&a), None),
            Err(EnrolmentError::NotCurrent),
            "not enrolled yet"
        );
        roll.enrol(3, &request(&letters[0].0, &letters[0].1, &a, &mut rng))
            .unwrap();
        assert_eq!(
            roll.revoke(4, "nowhere", &pk(&a), None),
            Err(EnrolmentError::UnknownElectorate("nowhere".into()))
        );
        let h = roll.pending(ID).unwrap().canonical_hash();
        roll.freeze(ID, &h).unwrap();
        assert_eq!(
            roll.revoke(5, ID, &pk(&stranger), None),
            Err(EnrolmentError::NotCurrent)
        );
        roll.revoke(6, ID, &pk(&a), None).unwrap();
        assert_eq!(
            roll.revoke(7, ID, &pk(&a), None),
            Err(EnrolmentError::NotCurrent)
        );
        // A registered electorate's members can be revoked too.
        let b = Credential::generate(&mut rng);
        let registered = Electorate {
            id: "whole".into(),
            name: "Whole".into(),
            entries: vec![b.public_key()]
                .into_iter()
                .map(|credential| ElectorateEntry {
                    credential,
                    region: None,
                })
                .collect(),
        };
        let rh = roll.register(&registered).unwrap();
        assert_eq!(
            roll.revoke(8, "whole", &pk(&a), None),
            Err(EnrolmentError::NotCurrent)
        );
        assert_eq!(
            roll.revoke(8, "whole", &pk(&b), None),
            Ok(Effect::IndexChanged(rh))
        );
    }

    #[test]
    fn a_freeze_must_name_the_pending_hash_and_happens_once() {
        let mut rng = rng(13);
        let (mut roll, letters) = opened(&mut rng);
        // Nothing enrolled: nothing to freeze.
        let empty = roll.pending(ID).unwrap().canonical_hash();
        assert!(matches!(
            roll.freeze(ID, &empty),
            Err(EnrolmentError::Freeze(_))
        ));
        let a = Credential::generate(&mut rng);
        let b = Credential::generate(&mut rng);
        roll.enrol(2, &request(&letters[0].0, &letters[0].1, &a, &mut rng))
            .unwrap();
        roll.enrol(3, &request(&letters[1].0, &letters[1].1, &b, &mut rng))
            .unwrap();
        let pending = roll.pending(ID).unwrap();
        let h = pending.canonical_hash();
        // Wrong hashes: the empty list's, another order, another name, a flipped bit.
        let mut reordered = pending.clone();
        reordered.entries.reverse();
        let mut renamed = pending.clone();
        renamed.name.push('!');
        let mut flipped = h;
        flipped.0[0] ^= 1;
        for wrong in [
            empty,
            reordered.canonical_hash(),
            renamed.canonical_hash(),
            flipped,
        ] {
            assert!(matches!(
                roll.freeze(ID, &wrong),
                Err(EnrolmentError::Freeze(_))
            ));
            assert!(!roll.is_frozen(ID));
            assert!(roll.usable(&wrong).is_none());
        }
        assert_eq!(
            roll.freeze("nowhere", &h),
            Err(EnrolmentError::UnknownElectorate("nowhere".into()))
        );
        assert_eq!(roll.freeze(ID, &h), Ok(Effect::Usable(h)));
        assert!(matches!(
            roll.freeze(ID, &h),
            Err(EnrolmentError::Freeze(_))
        ));
        assert!(matches!(roll.pending(ID), Err(EnrolmentError::Freeze(_))));
        // A registered electorate is usable at once and cannot be frozen.
        let registered = Electorate {
            id: "whole".into(),
            name: "Whole".into(),
            entries: vec![ElectorateEntry {
                credential: Credential::generate(&mut rng).public_key(),
                region: None,
            }],
        };
        let rh = roll.register(&registered).unwrap();
        assert!(roll.is_frozen("whole"));
        assert!(matches!(
            roll.freeze("whole", &rh),
            Err(EnrolmentError::Freeze(_))
        ));
    }

    #[test]
    fn electorate_ids_are_new_on_the_log() {
        let mut rng = rng(14);
        let (mut roll, _) = opened(&mut rng);
        let (again, _) = EnrolmentOpening::draw(ID, "Again", &[(None, 1)], &mut rng).unwrap();
        assert_eq!(roll.open(&again), Err(EnrolmentError::Duplicate(ID.into())));
        let registered = Electorate {
            id: ID.into(),
            name: "Town".into(),
            entries: vec![ElectorateEntry {
                credential: Credential::generate(&mut rng).public_key(),
                region: None,
            }],
        };
        assert_eq!(
            roll.register(&registered),
            Err(EnrolmentError::Duplicate(ID.into()))
        );
        let mut other = registered.clone();
        other.id = "whole".into();
        roll.register(&other).unwrap();
        let (opening, _) =
            EnrolmentOpening::draw("whole", "Whole", &[(None, 1)], &mut rng).unwrap();
        assert_eq!(
            roll.open(&opening),
            Err(EnrolmentError::Duplicate("whole".into()))
        );
    }

    #[test]
    fn tallies_count_committed_and_current_credentials() {
        let mut rng = rng(15);
        let (mut roll, letters) = opened(&mut rng);
        let t = |n: Option<&str>, committed, enrolled| RegionTally {
            region: n.map(str::to_owned),
            committed,
            enrolled,
        };
        assert_eq!(
            roll.tallies(ID).unwrap(),
            vec![
                t(None, 1, 0),
                t(Some("north"), 2, 0),
                t(Some("south"), 1, 0)
            ]
        );
        let creds: Vec<Credential> = (0..4).map(|_| Credential::generate(&mut rng)).collect();
        for (i, ((r, code), c)) in letters.iter().zip(&creds).enumerate() {
            roll.enrol(2 + i as u64, &request(r, code, c, &mut rng))
                .unwrap();
        }
        // letters: [None, north, north, south]
        roll.revoke(7, ID, &pk(&creds[3]), None).unwrap();
        assert_eq!(
            roll.tallies(ID).unwrap(),
            vec![
                t(None, 1, 1),
                t(Some("north"), 2, 2),
                t(Some("south"), 1, 0)
            ]
        );
        let h = roll.pending(ID).unwrap().canonical_hash();
        roll.freeze(ID, &h).unwrap();
        // After the freeze: revoke one north key with a replacement, enrol it.
        let r = EnrolmentCode::generate(&mut rng);
        roll.revoke(9, ID, &pk(&creds[1]), Some(&r.hash(ID, Some("north"))))
            .unwrap();
        assert_eq!(
            roll.tallies(ID).unwrap(),
            vec![
                t(None, 1, 1),
                t(Some("north"), 2, 1),
                t(Some("south"), 1, 0)
            ]
        );
        let fresh = Credential::generate(&mut rng);
        roll.enrol(10, &request(&north(), &r, &fresh, &mut rng))
            .unwrap();
        assert_eq!(
            roll.tallies(ID).unwrap(),
            vec![
                t(None, 1, 1),
                t(Some("north"), 2, 2),
                t(Some("south"), 1, 0)
            ]
        );
        // A registered electorate: nothing committed, every entry enrolled.
        let registered = Electorate {
            id: "whole".into(),
            name: "Whole".into(),
            entries: vec![ElectorateEntry {
                credential: Credential::generate(&mut rng).public_key(),
                region: north(),
            }],
        };
        roll.register(&registered).unwrap();
        assert_eq!(roll.tallies("whole").unwrap(), vec![t(Some("north"), 0, 1)]);
        assert_eq!(roll.tallies("nowhere"), None);
    }

    #[test]
    fn code_parse_normalises_what_citizens_type() {
        let code = EnrolmentCode::parse("7K2QM-0A1B4-XYZ89-HJKMN").unwrap();
        assert_eq!(code.as_str(), "7K2QM0A1B4XYZ89HJKMN");
        assert_eq!(code.grouped(), "7K2QM-0A1B4-XYZ89-HJKMN");
        for same in [
            "7k2qm-0a1b4-xyz89-hjkmn",
            "7K2QM0A1B4XYZ89HJKMN",
            " 7K2QM 0A1B4 XYZ89 HJKMN ",
            "7K2QM--0A1B4-XYZ89-HJKMN",
            "7K2QMOA1B4-XYZ89-HJKMN",  // O read as 0
            "7K2QM-oAIB4-XYZ89-HJKMN", // o as 0, I as 1
            "7K2QM-0ALB4-XYZ89-HJKMN", // L as 1
            "7K2QM-0Alb4-XYZ89-HJKMN", // l as 1
        ] {
            assert_eq!(EnrolmentCode::parse(same).unwrap(), code, "{same}");
        }
        for bad in [
            "7K2QM-0A1B4-XYZ89-HJKMU",   // U is not in the alphabet
            "7K2QM-0A1B4-XYZ89-HJKM",    // 19 characters
            "7K2QM-0A1B4-XYZ89-HJKMN0",  // 21 characters
            "",                          // nothing
            "7K2QM_0A1B4_XYZ89_HJKMN",   // '_' is not a separator
            "7K2QM-0A1B4-XYZ89-HJKMÑ",   // not ASCII
            "7K2QM-0A1B4-XYZ89-HJKM\tN", // tab is not a separator
        ] {
            assert!(
                matches!(EnrolmentCode::parse(bad), Err(EnrolmentError::Code(_))),
                "accepted {bad:?}"
            );
        }
        // Board entries carry only the normalised form.
        assert_eq!(
            EnrolmentCode::from_normalised("7K2QM0A1B4XYZ89HJKMN").unwrap(),
            code
        );
        for bad in [
            "7k2qm0a1b4xyz89hjkmn",
            "7K2QM-0A1B4-XYZ89-HJKMN",
            "7K2QMOA1B4XYZ89HJKMN",
            "7K2QM0A1B4XYZ89HJKM",
        ] {
            assert!(EnrolmentCode::from_normalised(bad).is_err(), "{bad}");
        }
        // Generated codes are normalised, and the debug form hides them.
        let g = EnrolmentCode::generate(&mut rng(16));
        assert_eq!(EnrolmentCode::from_normalised(g.as_str()).unwrap(), g);
        assert_eq!(EnrolmentCode::parse(&g.grouped()).unwrap(), g);
        assert!(!format!("{g:?}").contains(g.as_str()));
    }

    #[test]
    fn code_hash_binds_electorate_region_and_code() {
        let code = EnrolmentCode::parse("7K2QM-0A1B4-XYZ89-HJKMN").unwrap();
        let other = EnrolmentCode::parse("7K2QM-0A1B4-XYZ89-HJKMP").unwrap();
        let base = code.hash(ID, Some("north"));
        // The documented layout, by hand.
        let mut pre = b"vox/v2/enrolment-code\0".to_vec();
        pre.extend_from_slice(&(ID.len() as u32).to_be_bytes());
        pre.extend_from_slice(ID.as_bytes());
        pre.push(1);
        pre.extend_from_slice(&5u32.to_be_bytes());
        pre.extend_from_slice(b"north");
        pre.extend_from_slice(&20u32.to_be_bytes());
        pre.extend_from_slice(b"7K2QM0A1B4XYZ89HJKMN");
        assert_eq!(base, Hash32::sha256(&[&pre]));
        let all = [
            base,
            code.hash(ID, None),
            code.hash(ID, Some("south")),
            code.hash(ID, Some("")),
            code.hash("town-2027", Some("north")),
            other.hash(ID, Some("north")),
        ];
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }

    #[test]
    fn invalid_openings_are_refused() {
        let mut rng = rng(17);
        let (good, _) = EnrolmentOpening::draw(
            ID,
            "Town",
            &[(north(), 2), (None, 1), (north(), 1)],
            &mut rng,
        )
        .unwrap();
        assert_eq!(
            good.regions,
            vec![
                RegionCount {
                    region: None,
                    count: 1
                },
                RegionCount {
                    region: north(),
                    count: 3
                },
            ],
            "draw sorts and merges regions"
        );
        good.validate().unwrap();
        type Tweak = Box<dyn Fn(&mut EnrolmentOpening)>;
        let tweaks: Vec<(&str, Tweak)> = vec![
            ("unsorted codes", Box::new(|o| o.codes.swap(0, 1))),
            ("duplicate code", Box::new(|o| o.codes[1] = o.codes[0])),
            (
                "no code",
                Box::new(|o| {
                    o.codes.clear();
                    o.regions.clear();
                }),
            ),
            ("counts too high", Box::new(|o| o.regions[1].count += 1)),
            ("counts too low", Box::new(|o| o.regions[0].count = 0)),
            (
                "counts overflow",
                Box::new(|o| {
                    o.regions[0].count = u64::MAX;
                    o.regions[1].count = 5;
                }),
            ),
            ("unsorted regions", Box::new(|o| o.regions.swap(0, 1))),
            (
                "duplicate region",
                Box::new(|o| o.regions[0].region = north()),
            ),
            ("empty id", Box::new(|o| o.electorate_id.clear())),
            (
                "id too long",
                Box::new(|o| o.electorate_id = "x".repeat(65)),
            ),
        ];
        for (why, t) in tweaks {
            let mut bad = good.clone();
            t(&mut bad);
            assert!(
                matches!(bad.validate(), Err(EnrolmentError::Opening(_))),
                "{why} accepted"
            );
            assert!(Roll::new().open(&bad).is_err(), "{why} opened");
        }
        // A count of 0 for a region is allowed when the total still adds up.
        let mut zero = good.clone();
        zero.regions.push(RegionCount {
            region: Some("south".into()),
            count: 0,
        });
        zero.validate().unwrap();
    }
}
