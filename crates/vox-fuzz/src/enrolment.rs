//! Enrolment by code, revocation and freezing ([`enrolment_json`]), replayed through the
//! shared [`Roll`] against a fixture opening (protocol-spec/04-ballots.md §4.1.2–§4.1.4).

use std::collections::HashSet;
use std::sync::OnceLock;

use vox_crypto::credential::Credential;
use vox_crypto::Hash32;
use vox_protocol::board::Payload;
use vox_protocol::electorate::{Electorate, ElectorateEntry, EnrolmentRequest};
use vox_protocol::encoding::Hashable;
use vox_protocol::enrolment::{EnrolmentCode, EnrolmentOpening, Roll};

use crate::{parse_roundtrip, Fixture};

/// The electorate id of the fixture opening.
pub const ENROLMENT_ID: &str = "fuzz-town";

/// Four codes (two per region), the opening that commits to them and, per code, an honest
/// enrolment request by a fresh credential.
pub struct EnrolmentFixture {
    /// The registrar's commitment (leaf 1 of every replay).
    pub opening: EnrolmentOpening,
    /// The letters: region and code.
    pub letters: Vec<(Option<String>, EnrolmentCode)>,
    /// The citizens' credentials, one per letter.
    pub credentials: Vec<Credential>,
    /// Their enrolment requests, one per letter.
    pub requests: Vec<EnrolmentRequest>,
}

fn build() -> EnrolmentFixture {
    let mut rng = Fixture::rng(0xe7);
    let (opening, letters) = EnrolmentOpening::draw(
        ENROLMENT_ID,
        "Fuzz town",
        &[(Some("north".into()), 2), (Some("south".into()), 2)],
        &mut rng,
    )
    .unwrap_or_else(|e| panic!("fixture opening: {e}"));
    let credentials: Vec<Credential> = letters
        .iter()
        .map(|_| Credential::generate(&mut rng))
        .collect();
    let requests = letters
        .iter()
        .zip(&credentials)
        .map(|((region, code), c)| {
            EnrolmentRequest::create(ENROLMENT_ID, region.as_deref(), Some(code), c, &mut rng)
        })
        .collect();
    EnrolmentFixture {
        opening,
        letters,
        credentials,
        requests,
    }
}

/// The fixture (built once).
pub fn enrolment_fixture() -> &'static EnrolmentFixture {
    static F: OnceLock<EnrolmentFixture> = OnceLock::new();
    F.get_or_init(build)
}

/// Input: lines, each one board payload in JSON (any kind). After the fixture opening
/// (leaf 1), line `i` is replayed at leaf `i + 2` through [`Roll::apply`]. Nothing may
/// panic, and every entry the roll accepts is checked again here, independently:
/// an accepted enrolment has a valid credential signature and spends a code committed by
/// the opening (or by an accepted revocation) that no earlier accepted enrolment spent,
/// with a key never enrolled before; an accepted freeze names the hash of exactly the
/// accepted, non-revoked enrolments in order.
pub fn enrolment_json(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let f = enrolment_fixture();
    let mut roll = Roll::new();
    if let Err(e) = roll.open(&f.opening) {
        panic!("fixture opening refused: {e}");
    }
    let mut committed: HashSet<Hash32> = f.opening.codes.iter().copied().collect();
    let mut spent: HashSet<Hash32> = HashSet::new();
    let mut enrolled: Vec<ElectorateEntry> = Vec::new();
    let mut keys: HashSet<[u8; 32]> = HashSet::new();
    let mut revoked: HashSet<[u8; 32]> = HashSet::new();
    let mut frozen = false;
    let mut replacement_codes: HashSet<Hash32> = HashSet::new();
    for (i, line) in text.lines().enumerate().take(64) {
        let Some(p) = parse_roundtrip::<Payload>(line.as_bytes()) else {
            continue;
        };
        let leaf = i as u64 + 2;
        let accepted = roll.apply(leaf, &p).is_ok();
        if !accepted {
            continue;
        }
        // Other electorates (opened by the input itself) follow the same code; the
        // independent bookkeeping below is for the fixture's.
        let ours = match &p {
            Payload::CredentialEnrolled { enrolment } => enrolment.electorate_id == ENROLMENT_ID,
            Payload::CredentialRevoked { electorate_id, .. }
            | Payload::ElectorateFrozen { electorate_id, .. } => electorate_id == ENROLMENT_ID,
            _ => true,
        };
        if !ours {
            continue;
        }
        match &p {
            Payload::CredentialEnrolled { enrolment } => {
                assert!(
                    enrolment.verify().is_ok(),
                    "enrolment with a bad signature accepted"
                );
                let code = EnrolmentCode::from_normalised(enrolment.code.as_deref().unwrap_or(""))
                    .unwrap_or_else(|e| panic!("accepted a malformed code: {e}"));
                let h = code.hash(ENROLMENT_ID, enrolment.region.as_deref());
                assert!(committed.contains(&h), "accepted a code never committed");
                assert!(spent.insert(h), "accepted a code spent before");
                let k = enrolment.credential.to_bytes();
                assert!(keys.insert(k), "accepted a key enrolled before");
                assert!(
                    !frozen || replacement_codes.contains(&h),
                    "accepted an original code after the freeze"
                );
                if !frozen {
                    enrolled.push(enrolment.entry());
                }
            }
            Payload::CredentialRevoked {
                credential,
                replacement,
                ..
            } => {
                let k = credential.to_bytes();
                assert!(keys.contains(&k), "revoked a credential never enrolled");
                assert!(revoked.insert(k), "revoked a credential twice");
                if let Some(h) = replacement {
                    assert!(committed.insert(*h), "replacement code hash reused");
                    if frozen {
                        replacement_codes.insert(*h);
                    }
                }
            }
            Payload::ElectorateFrozen {
                electorate_hash, ..
            } => {
                assert!(!frozen, "frozen twice");
                frozen = true;
                let list = Electorate {
                    id: ENROLMENT_ID.into(),
                    name: f.opening.name.clone(),
                    entries: enrolled
                        .iter()
                        .filter(|e| !revoked.contains(&e.credential.to_bytes()))
                        .cloned()
                        .collect(),
                };
                assert_eq!(
                    list.canonical_hash(),
                    *electorate_hash,
                    "freeze accepted with another list's hash"
                );
            }
            Payload::EnrolmentOpened { opening, .. } => {
                assert_ne!(opening.electorate_id, ENROLMENT_ID, "opened twice");
            }
            _ => {}
        }
    }
}
