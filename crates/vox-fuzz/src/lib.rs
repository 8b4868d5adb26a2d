//! # vox-fuzz
//!
//! One function per fuzz target, each `pub fn NAME(data: &[u8])`. The property every
//! target checks is that **no input makes vox panic**; on top of it each target checks
//! what the decoder or verifier promises (a violated property is a panic too, so
//! libFuzzer and the stable replay test both report it):
//! - **no forgery**: whatever a verify entry point accepts was produced by the honest
//!   party holding the key — a signed ballot, petition signature, proposal, receipt,
//!   tree head, ceremony message, decryption share, genesis or authority act that
//!   verifies is canonically
//!   identical to one the fixture made, so a mutated valid input never verifies unless
//!   it means the same bytes;
//! - **soundness**: an accepted Benaloh opening decrypts to the claimed choices, an
//!   accepted partial decryption is the trustee's real one, a Merkle proof with a node
//!   flipped is refused, signed ceremony messages only complete the honest ceremony;
//! - **consistency**: decode → encode gives the input back, JSON round trips, single
//!   and batch verification agree, a refused ceremony message leaves the state machine
//!   unchanged, the server's parser agrees with serde_json and refuses with a 400/422.
//!
//! The same functions are driven by
//! - `fuzz/fuzz_targets/*.rs` under `cargo +nightly fuzz` (libFuzzer), see `fuzz/README.md`;
//! - `tests/replay.rs` on stable: every file of `fuzz/corpus/<target>/`, then a few
//!   thousand pseudo-random mutations per target from a fixed seed.
//!
//! Verification runs against one fixed [`Fixture`] (manifest, electorate, election key,
//! petition, board key, the four roles and their genesis) built once from a seeded ChaCha RNG, so the seed corpora can hold
//! inputs that pass every check and mutations start deep inside the verifiers.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use ed25519_dalek::SigningKey;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use vox_crypto::batch::{BatchVerifier, SingleVerifier};
use vox_crypto::credential::Credential;
use vox_crypto::elgamal::{ElectionPublicKey, SecretScalar};
use vox_crypto::proofs::RangeProof;
use vox_crypto::{Hash32, Point, Scalar};
use vox_protocol::api::SignatureAccepted;
use vox_protocol::ballot::{encrypt_ballot, Ballot, BallotContext, VoterProof};
use vox_protocol::board::{BoardEntry, BoardPublicKey, Payload, Receipt, SignedTreeHead, TreeHead};
use vox_protocol::electorate::{Electorate, ElectorateEntry, ElectorateIndex};
use vox_protocol::encoding::{Canonical, Hashable};
use vox_protocol::manifest::{Manifest, Question, QuestionKind, TrusteeInfo, MANIFEST_VERSION};
use vox_protocol::merkle::{
    consistency_proof, inclusion_proof, leaf_hash, root_from_leaf_hashes, verify_consistency,
    verify_inclusion, NodeHash,
};
use vox_protocol::petition::{Petition, PetitionProposal, PetitionSignature, SignatureAction};
use vox_protocol::record::{RecordHeader, RECORD_FORMAT, RECORD_VERSION};
use vox_protocol::roles::{Genesis, RoleSigners, WitnessPolicy};
use vox_protocol::signature_receipt::SignatureReceipt;
use vox_verifier::{verify_record, MemorySource, NoProgress, Options};

mod audit;
mod ceremony;
mod enrolment;
mod http;
mod nodes;
mod ring;
mod roles;

pub use audit::audit_opening_json;
pub use ceremony::{
    ceremony_fixture, ceremony_messages, decryption_share_json, CeremonyFixture, TALLY_MOD,
};
pub use enrolment::{enrolment_fixture, enrolment_json, EnrolmentFixture, ENROLMENT_ID};
pub use http::{http_bodies, QUERY_SELECTOR};
pub use nodes::merkle_nodes;
pub use ring::{ring_fixture, ring_signature, RingFixture};
pub use roles::{
    roles_fixture, roles_json, RolesFixture, PANEL, POLICY, REGISTRAR_ACTS, ROTATION,
    WITNESS_POLICY,
};

/// A fuzz target: must not panic on any input.
pub type Target = fn(&[u8]);

/// Every target with its name (= its `fuzz/fuzz_targets/` file and `fuzz/corpus/` dir).
pub const TARGETS: &[(&str, Target)] = &[
    ("point_and_scalar", point_and_scalar),
    ("ballot_json", ballot_json),
    ("petition_signature_json", petition_signature_json),
    ("receipt_json", receipt_json),
    ("merkle_proofs", merkle_proofs),
    ("board_entry_json", board_entry_json),
    ("record_lines", record_lines),
    ("ceremony_messages", ceremony_messages),
    ("decryption_share_json", decryption_share_json),
    ("audit_opening_json", audit_opening_json),
    ("merkle_nodes", merkle_nodes),
    ("http_bodies", http_bodies),
    ("roles_json", roles_json),
    ("enrolment_json", enrolment_json),
    ("ring_signature", ring_signature),
];

/// Seed of the fixture RNG (changing it invalidates the valid seeds of the corpora).
pub const FIXTURE_SEED: u64 = 0x766f_785f_6675_7a7a; // "vox_fuzz"

/// Separator line in [`record_lines`] input: entry lines before it, tree-head lines after.
pub const HEADS_SEPARATOR: &str = "#heads";

/// Unix ms at which the fixture referendum opens (2026-01-01T00:00:00Z).
pub const T0: i64 = 1_767_225_600_000;

/// The `log_name` of the fixture's genesis.
pub const LOG_NAME: &str = "fuzz.vox.example/fixture";

/// The fixed public context every verify target checks against.
pub struct Fixture {
    /// Four questions, one of every kind (the approve question needs a range proof).
    pub manifest: Manifest,
    /// `manifest.canonical_hash()`.
    pub manifest_hash: Hash32,
    /// The election key (a plain key pair, no ceremony: only ballots are checked here).
    pub election_key: ElectionPublicKey,
    /// Its secret (to check that accepted audit openings tell the truth).
    pub election_secret: SecretScalar,
    /// Eight voters; their public keys form [`Fixture::electorate`].
    pub credentials: Vec<Credential>,
    /// The electorate.
    pub electorate: Electorate,
    /// Its index.
    pub electorate_index: ElectorateIndex,
    /// A petition on that electorate.
    pub petition: Petition,
    /// `petition.canonical_hash()`.
    pub petition_hash: Hash32,
    /// The petition as proposed by voter 0 ([`Fixture::proposal_seed`]).
    pub proposal: PetitionProposal,
    /// The board's signing key (receipts, tree heads).
    pub board_key: SigningKey,
    /// Its public key.
    pub board: BoardPublicKey,
    /// The four roles (the operator's key is [`Fixture::board_key`]).
    pub roles: RoleSigners,
    /// Their genesis (no witnesses): leaf 0 of the fixture's log.
    pub genesis: Genesis,
}

impl Fixture {
    /// The ballot context of [`Fixture::manifest`].
    pub fn context(&self) -> BallotContext<'_> {
        BallotContext {
            manifest: &self.manifest,
            manifest_hash: self.manifest_hash,
            election_key: self.election_key,
        }
    }

    /// A fresh RNG for proof generation and batch weights (deterministic).
    pub fn rng(tag: u64) -> ChaCha20Rng {
        ChaCha20Rng::seed_from_u64(FIXTURE_SEED ^ tag)
    }

    /// A valid ballot by voter `voter` (used to generate seeds and receipts).
    pub fn ballot(&self, voter: usize, rng: &mut ChaCha20Rng) -> Ballot {
        self.ballot_after(voter, None, rng)
    }

    /// Voter 0's re-vote: it names voter 0's first ballot (RNG tag 10) as `previous`.
    pub fn revote(&self) -> Ballot {
        let first = self.ballot(0, &mut Self::rng(10));
        self.ballot_after(0, Some(first.hash()), &mut Self::rng(Self::REVOTE_TAG))
    }

    /// RNG tag of [`Fixture::revote`].
    pub const REVOTE_TAG: u64 = 11;

    /// The fixture's manifest made anonymous (04 §4.10) and the rings of its electorate
    /// (created at leaf 0, rings at leaf 1).
    pub fn anonymous(&self) -> &'static (Manifest, vox_protocol::rings::RingSet) {
        static ANONYMOUS: OnceLock<(Manifest, vox_protocol::rings::RingSet)> = OnceLock::new();
        ANONYMOUS.get_or_init(|| {
            let mut manifest = self.manifest.clone();
            manifest.participation = vox_protocol::manifest::Participation::Anonymous;
            let rings = vox_protocol::rings::RingSet::for_referendum(
                &self.electorate,
                &self.electorate_index,
                1,
                0,
            )
            .unwrap_or_else(|e| panic!("fixture: no rings: {e}"));
            (manifest, rings)
        })
    }

    /// The honest anonymous ballot (voter 2, RNG tag 8): the seed `valid-anonymous-ballot`.
    pub fn anonymous_ballot(&self) -> Ballot {
        let (manifest, rings) = self.anonymous();
        let ctx = BallotContext::new(manifest, self.election_key);
        let choices = vec![vec![1, 0], vec![0, 1, 0], vec![1, 0, 1], vec![3, 1]];
        let Some(credential) = self.credentials.get(2) else {
            panic!("fixture: no voter 2");
        };
        match vox_protocol::ballot::encrypt_anonymous_ballot(
            &ctx,
            rings,
            credential,
            &choices,
            None,
            &mut Self::rng(8),
        ) {
            Ok((ballot, _)) => ballot,
            Err(e) => panic!("fixture: cannot encrypt an anonymous ballot: {e}"),
        }
    }

    fn ballot_after(
        &self,
        voter: usize,
        previous: Option<vox_crypto::Hash32>,
        rng: &mut ChaCha20Rng,
    ) -> Ballot {
        let Some(credential) = self.credentials.get(voter) else {
            panic!("fixture: no voter {voter}");
        };
        let choices = vec![vec![1, 0], vec![0, 1, 0], vec![1, 0, 1], vec![3, 1]];
        match encrypt_ballot(&self.context(), credential, &choices, previous, rng) {
            Ok((ballot, _)) => ballot,
            Err(e) => panic!("fixture: cannot encrypt a ballot: {e}"),
        }
    }

    /// The honest first ballots: (voter, RNG tag) of every ballot the seeds and the
    /// receipt hold. A ballot that verifies must be one of these or [`Fixture::revote`].
    pub const HONEST_BALLOTS: [(usize, u64); 2] = [(0, 10), (1, 3)];

    /// An honest signature (`Sign` by voter 1) or withdrawal (`Withdraw` by voter 2).
    pub fn petition_signature(&self, action: SignatureAction) -> PetitionSignature {
        let (voter, tag) = match action {
            SignatureAction::Sign => (1, 20),
            SignatureAction::Withdraw => (2, 21),
        };
        let Some(c) = self.credentials.get(voter) else {
            panic!("fixture: no voter {voter}");
        };
        PetitionSignature::create(&self.petition, c, action, &mut Self::rng(tag))
    }

    /// The honest proposal of the fixture petition (by voter 0).
    pub fn proposal_seed(&self) -> PetitionProposal {
        proposal(&self.petition, &self.credentials)
    }

    /// The record header [`record_lines`] verifies against, for `tree_size` entries.
    pub fn record_header(&self, tree_size: u64) -> RecordHeader {
        RecordHeader {
            format: RECORD_FORMAT.into(),
            version: RECORD_VERSION,
            board_public_key: self.board,
            log_id: self.board.log_id(),
            tree_size,
            referendum_id: None,
            petition_id: None,
            witnesses: Vec::new(),
        }
    }

    /// The receipt of the honest petition signature at leaf 3 of a 6-leaf log (07
    /// §7.10), and that entry.
    pub fn signature_receipt(&self) -> (SignatureReceipt, BoardEntry) {
        let entry = BoardEntry {
            timestamp_ms: T0 + 1500,
            payload: Payload::PetitionSigned {
                signature: self.petition_signature(SignatureAction::Sign),
            },
        };
        let mut leaves: Vec<NodeHash> = (0u8..6).map(|i| leaf_hash(&[i])).collect();
        if let Some(l) = leaves.get_mut(3) {
            *l = entry.leaf_hash();
        }
        let proof = match inclusion_proof(&leaves, 3) {
            Ok(p) => p,
            Err(e) => panic!("fixture: inclusion proof: {e}"),
        };
        let head = match SignedTreeHead::sign(
            TreeHead {
                tree_size: 6,
                root_hash: root_from_leaf_hashes(&leaves),
                timestamp_ms: T0 + 2500,
            },
            &self.genesis.log_name,
            &self.board_key,
        ) {
            Ok(h) => h,
            Err(e) => panic!("fixture: tree head: {e}"),
        };
        let answer = SignatureAccepted {
            leaf_index: 3,
            tree_head: head,
            inclusion_proof: proof,
            count: 2,
        };
        match SignatureReceipt::from_answer(answer, &entry) {
            Ok(r) => (r, entry),
            Err(e) => panic!("fixture: signature receipt: {e}"),
        }
    }

    /// A board-signed receipt for a valid ballot at leaf 2 of a 5-leaf log.
    pub fn receipt(&self) -> Receipt {
        let mut rng = Self::rng(3);
        let ballot = self.ballot(1, &mut rng);
        let entry = BoardEntry {
            timestamp_ms: T0 + 1000,
            payload: Payload::BallotCast {
                ballot: ballot.clone(),
            },
        };
        let mut leaves: Vec<NodeHash> = (0u8..5).map(|i| leaf_hash(&[i])).collect();
        if let Some(l) = leaves.get_mut(2) {
            *l = entry.leaf_hash();
        }
        let proof = match inclusion_proof(&leaves, 2) {
            Ok(p) => p,
            Err(e) => panic!("fixture: inclusion proof: {e}"),
        };
        let head = match SignedTreeHead::sign(
            TreeHead {
                tree_size: 5,
                root_hash: root_from_leaf_hashes(&leaves),
                timestamp_ms: T0 + 2000,
            },
            &self.genesis.log_name,
            &self.board_key,
        ) {
            Ok(h) => h,
            Err(e) => panic!("fixture: tree head: {e}"),
        };
        Receipt {
            referendum_id: self.manifest.referendum_id.clone(),
            tracking_code: ballot.tracking_code(),
            ballot_hash: ballot.hash(),
            leaf_index: 2,
            entry_timestamp_ms: entry.timestamp_ms,
            leaf_hash: entry.leaf_hash(),
            tree_head: head,
            inclusion_proof: proof,
            signature: vox_protocol::board::unsigned(),
        }
        .sign(&self.board_key)
    }
}

fn question(id: &str, options: usize, kind: QuestionKind) -> Question {
    Question {
        id: id.into(),
        text: format!("Question {id}?"),
        options: if matches!(kind, QuestionKind::YesNo) {
            vec!["yes".into(), "no".into()]
        } else {
            (0..options).map(|i| format!("option {}", i + 1)).collect()
        },
        kind,
    }
}

fn proposal(petition: &Petition, credentials: &[Credential]) -> PetitionProposal {
    let Some(c) = credentials.first() else {
        panic!("fixture: no voter 0");
    };
    PetitionProposal::create(petition.clone(), c, &mut Fixture::rng(22))
}

fn build_fixture() -> Fixture {
    let mut rng = ChaCha20Rng::seed_from_u64(FIXTURE_SEED);
    let credentials: Vec<Credential> = (0..8).map(|_| Credential::generate(&mut rng)).collect();
    let electorate = Electorate {
        id: "fuzz-town".into(),
        name: "Fuzz Town".into(),
        entries: credentials
            .iter()
            .enumerate()
            .map(|(i, c)| ElectorateEntry {
                credential: c.public_key(),
                region: Some(if i % 2 == 0 { "north" } else { "south" }.into()),
            })
            .collect(),
    };
    let electorate_index = electorate.index();
    let secret = SecretScalar::random(&mut rng);
    let election_key = match ElectionPublicKey::new(secret.public()) {
        Ok(k) => k,
        Err(e) => panic!("fixture: election key: {e}"),
    };
    let manifest = Manifest {
        version: MANIFEST_VERSION,
        referendum_id: "r1".into(),
        title: "Fuzz referendum".into(),
        description: "Fixed context of the vox fuzz targets.".into(),
        questions: vec![
            question("q1", 2, QuestionKind::YesNo),
            question(
                "q2",
                3,
                QuestionKind::ChooseOne {
                    blank_allowed: true,
                },
            ),
            question("q3", 3, QuestionKind::Approve { min: 1, max: 2 }),
            question("q4", 2, QuestionKind::Score { max: 3 }),
        ],
        opens_at: T0,
        closes_at: T0 + 7 * 86_400_000,
        electorate_hash: electorate.canonical_hash(),
        // One trustee with its own two keys (its own stream, so the rest of the
        // fixture does not move).
        trustees: TrusteeInfo::numbered([&vox_crypto::threshold::TrusteeKeys::generate(
            &mut Fixture::rng(23),
        )]),
        threshold: 1,
        answer_due_ms: vox_protocol::manifest::DAY_MS,
        decryption_due_ms: vox_protocol::manifest::DAY_MS,
        source_petition: None,
        participation: Default::default(),
    };
    let manifest_hash = manifest.canonical_hash();
    let petition = Petition {
        id: "p1".into(),
        action: "Plant more trees".into(),
        background: "Because many residents want it.".into(),
        details: String::new(),
        electorate_hash: electorate.canonical_hash(),
        sponsor_threshold: 2,
        response_threshold: 3,
        referendum_threshold: 5,
        open_for_ms: 30 * 86_400_000,
        response_due_ms: 14 * 86_400_000,
        region_min_group: 2,
        signatures: Default::default(),
    };
    let petition_hash = petition.canonical_hash();
    let proposal = proposal(&petition, &credentials);
    let board_key = SigningKey::generate(&mut rng);
    let board = BoardPublicKey(board_key.verifying_key());
    let roles = RoleSigners {
        operator: board_key.clone(),
        registrar: SigningKey::generate(&mut rng),
        petitions_office: SigningKey::generate(&mut rng),
        election_authority: SigningKey::generate(&mut rng),
    };
    let genesis = match roles.genesis(LOG_NAME, T0 - 86_400_000, WitnessPolicy::default()) {
        Ok(g) => g,
        Err(e) => panic!("fixture: genesis: {e}"),
    };
    Fixture {
        manifest,
        manifest_hash,
        election_key,
        election_secret: secret,
        credentials,
        electorate,
        electorate_index,
        petition,
        petition_hash,
        proposal,
        board_key,
        board,
        roles,
        genesis,
    }
}

/// The fixture, built on first use.
pub fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(build_fixture)
}

/// Canonical encodings of the honest signed objects: anything a verify entry point
/// accepts must be in here.
struct Honest {
    ballots: BTreeSet<Vec<u8>>,
    petition_signatures: BTreeSet<Vec<u8>>,
    proposal: Vec<u8>,
    receipt: Receipt,
    signature_receipt: (SignatureReceipt, BoardEntry),
}

/// Built on first use: only when something verified (encrypting the ballots is slow).
fn honest() -> &'static Honest {
    static HONEST: OnceLock<Honest> = OnceLock::new();
    HONEST.get_or_init(|| {
        let f = fixture();
        Honest {
            ballots: Fixture::HONEST_BALLOTS
                .iter()
                .map(|(voter, tag)| f.ballot(*voter, &mut Fixture::rng(*tag)).canonical_bytes())
                .chain([f.revote().canonical_bytes()])
                .collect(),
            petition_signatures: [SignatureAction::Sign, SignatureAction::Withdraw]
                .into_iter()
                .map(|a| f.petition_signature(a).canonical_bytes())
                .collect(),
            proposal: f.proposal.canonical_bytes(),
            receipt: f.receipt(),
            signature_receipt: f.signature_receipt(),
        }
    })
}

/// Parse JSON, then check that serializing and re-parsing gives the same value.
pub(crate) fn parse_roundtrip<T>(data: &[u8]) -> Option<T>
where
    T: serde::de::DeserializeOwned + serde::Serialize + PartialEq + std::fmt::Debug,
{
    let value: T = serde_json::from_slice(data).ok()?;
    let again = match serde_json::to_vec(&value) {
        Ok(v) => v,
        Err(e) => panic!("parsed value does not serialize: {e}"),
    };
    match serde_json::from_slice::<T>(&again) {
        Ok(v) => assert_eq!(v, value, "JSON round trip changed the value"),
        Err(e) => panic!("serialized value does not parse again: {e}"),
    }
    Some(value)
}

/// `Point::try_from_bytes`, `Point::try_from_bytes_nonidentity`, `Scalar::try_from_bytes`
/// and `RangeProof::try_from_bytes` on the input (and on each 32-byte window of it);
/// whatever decodes must re-encode to exactly its input.
pub fn point_and_scalar(data: &[u8]) {
    let one = |bytes: &[u8]| {
        if let Ok(p) = Point::try_from_bytes(bytes) {
            assert_eq!(&p.to_bytes()[..], bytes, "point re-encoding differs");
            let ni = Point::try_from_bytes_nonidentity(bytes, "fuzz");
            assert_eq!(
                ni.is_ok(),
                !p.is_identity(),
                "nonidentity decoder disagrees"
            );
        } else {
            assert!(Point::try_from_bytes_nonidentity(bytes, "fuzz").is_err());
        }
        if let Ok(s) = Scalar::try_from_bytes(bytes) {
            assert_eq!(&s.to_bytes()[..], bytes, "scalar re-encoding differs");
        }
    };
    one(data);
    for w in data.chunks(32).take(64) {
        one(w);
    }
    if let Ok(r) = RangeProof::try_from_bytes(data) {
        assert_eq!(r.to_bytes(), data, "range proof re-encoding differs");
        let again = RangeProof::try_from_bytes(&r.to_bytes());
        assert!(
            again.is_ok_and(|a| a == r),
            "range proof does not decode again"
        );
    }
}

/// Parse a `Ballot` from JSON; if it parses, run `check_structure` and `check_proofs`
/// (single and batch verification, which must agree) against the fixture.
pub fn ballot_json(data: &[u8]) {
    if let Some(ballot) = parse_roundtrip::<Ballot>(data) {
        check_ballot(&ballot);
    }
}

/// The checks of [`ballot_json`]; returns whether the ballot is accepted (structure and
/// proofs), in which case it must be one of the honest ballots.
pub(crate) fn check_ballot(ballot: &Ballot) -> bool {
    let f = fixture();
    if ballot.ring.is_some() || ballot.ring_signature.is_some() {
        check_anonymous_ballot(ballot);
    }
    let ctx = f.context();
    let _ = (ballot.hash(), ballot.tracking_code(), ballot.body_hash());
    let structure = ballot.check_structure(&ctx, &f.electorate_index);
    // check_proofs re-checks the shape itself, so it is also driven on ballots that fail
    // the structural checks: no input may make it panic either.
    let mut rng = Fixture::rng(1);
    let single = ballot.check_proofs(&ctx, &mut SingleVerifier, &mut rng);
    let mut batch = BatchVerifier::new(Fixture::rng(2));
    let batched = ballot
        .check_proofs(&ctx, &mut batch, &mut rng)
        .is_ok_and(|_| batch.finish().is_ok());
    assert_eq!(
        single.is_ok(),
        batched,
        "single and batch verification disagree: single {single:?}"
    );
    let accepted = structure.is_ok() && single.is_ok();
    if accepted {
        // The fixture is pseudonymous: nothing may be left after the proofs (a ring
        // signature pending would mean a ring-form ballot passed the structure check).
        assert_eq!(
            single.as_ref().ok(),
            Some(&VoterProof::Checked),
            "a pseudonymous referendum's ballot left a ring signature pending"
        );
    }
    if accepted {
        assert!(ballot
            .validate(&ctx, &f.electorate_index, None, &mut Fixture::rng(4))
            .is_ok());
        assert!(
            honest().ballots.contains(&ballot.canonical_bytes()),
            "forged ballot accepted: {ballot:?}"
        );
    }
    accepted
}

/// An anonymous ballot against the fixture made anonymous: structure, proofs, the ring
/// and the ring signature; accepted only if it is the honest one.
fn check_anonymous_ballot(ballot: &Ballot) {
    let f = fixture();
    let (manifest, rings) = f.anonymous();
    let ctx = BallotContext::new(manifest, f.election_key);
    let _ = ballot.voter_key();
    let accepted = ballot
        .validate(&ctx, &f.electorate_index, Some(rings), &mut Fixture::rng(5))
        .is_ok();
    if accepted {
        static HONEST_ANONYMOUS: OnceLock<Vec<u8>> = OnceLock::new();
        let honest = HONEST_ANONYMOUS.get_or_init(|| f.anonymous_ballot().canonical_bytes());
        assert!(
            ballot.canonical_bytes() == *honest,
            "forged anonymous ballot accepted: {ballot:?}"
        );
    }
}

/// Parse a `PetitionSignature` (or, failing that, a `PetitionProposal`) from JSON and
/// verify it against the fixture petition and electorate (single and batch must agree).
pub fn petition_signature_json(data: &[u8]) {
    if let Some(sig) = parse_roundtrip::<PetitionSignature>(data) {
        check_petition_signature(&sig);
    } else if let Some(proposal) = parse_roundtrip::<PetitionProposal>(data) {
        check_proposal(&proposal);
    }
}

/// Single and batch verification must agree; an accepted signature must be an honest
/// one. Returns whether it was accepted.
pub(crate) fn check_petition_signature(sig: &PetitionSignature) -> bool {
    let f = fixture();
    let _ = sig.canonical_hash();
    let single = sig.verify(&f.petition_hash, &f.electorate_index);
    let mut batch = BatchVerifier::new(Fixture::rng(5));
    let batched = sig
        .check(&f.petition_hash, &f.electorate_index, &mut batch)
        .is_ok_and(|()| batch.finish().is_ok());
    assert_eq!(
        single.is_ok(),
        batched,
        "single and batch verification disagree: single {single:?}"
    );
    let ok = single.is_ok();
    assert!(
        !ok || honest()
            .petition_signatures
            .contains(&sig.canonical_bytes()),
        "forged petition signature accepted: {sig:?}"
    );
    ok
}

/// An accepted proposal must be the honest one. Returns whether it was accepted.
pub(crate) fn check_proposal(proposal: &PetitionProposal) -> bool {
    let f = fixture();
    let ok = proposal.verify(&f.electorate_index).is_ok();
    assert!(
        !ok || honest().proposal == proposal.canonical_bytes(),
        "forged petition proposal accepted: {proposal:?}"
    );
    ok
}

/// Parse a `Receipt` from JSON and verify it against the fixture board key (and, as a
/// voter would, against the fixture's ballot); or, for a file with a `kind`, a petition
/// signature's receipt ([`signature_receipt`]).
pub fn receipt_json(data: &[u8]) {
    signature_receipt(data);
    let Some(receipt) = parse_roundtrip::<Receipt>(data) else {
        return;
    };
    let f = fixture();
    let h = honest();
    if receipt.verify(&f.board).is_ok() {
        // Everything but the tree head's (unsigned) cosignatures is under the signature.
        let mut same = receipt.clone();
        same.tree_head
            .cosignatures
            .clone_from(&h.receipt.tree_head.cosignatures);
        assert!(same == h.receipt, "forged receipt accepted: {receipt:?}");
    }
    if receipt.tree_head.verify(&f.board).is_ok() {
        assert!(
            receipt.tree_head.head == h.receipt.tree_head.head,
            "forged tree head accepted: {:?}",
            receipt.tree_head
        );
    }
    for c in &receipt.tree_head.cosignatures {
        let _ = receipt.tree_head.verify_cosignature(c);
    }
    static BALLOT: OnceLock<Ballot> = OnceLock::new();
    let ballot = BALLOT.get_or_init(|| f.ballot(1, &mut Fixture::rng(3)));
    let _ = receipt.matches_ballot(ballot);
}

/// A petition signature's receipt (07 §7.10), checked as `vox voter check-receipt` and
/// V14 do: what the board key's head and the inclusion proof accept (R1–R2) is exactly
/// the honest leaf under the honest head; what the entry then accepts (R4) is the honest
/// receipt but for its `count` (the server's word, bound by nothing) and the head's
/// unsigned cosignatures. Nothing panics, whatever the input.
fn signature_receipt(data: &[u8]) {
    let Some(receipt) = parse_roundtrip::<SignatureReceipt>(data) else {
        return;
    };
    let f = fixture();
    let h = honest();
    let (good, entry) = &h.signature_receipt;
    if receipt.verify(&f.board).is_ok() {
        assert!(
            receipt.leaf_index == good.leaf_index
                && receipt.leaf_hash == good.leaf_hash
                && receipt.tree_head.head == good.tree_head.head,
            "forged signature receipt evidence accepted: {receipt:?}"
        );
        assert!(receipt.peaks_before().is_ok(), "verified but no peaks");
        if receipt.check_entry(entry).is_ok() {
            let mut same = receipt.clone();
            same.count = good.count;
            same.tree_head
                .cosignatures
                .clone_from(&good.tree_head.cosignatures);
            assert!(
                same == *good,
                "forged signature receipt accepted: {receipt:?}"
            );
        }
    }
    let mut watch = receipt.watch();
    watch.apply(receipt.leaf_index.saturating_add(1), &entry.payload);
    let _ = watch.standing().as_str();
}

/// Reads fixed-width fields from the input, zero-padding past its end.
pub(crate) struct Fields<'a>(&'a [u8]);

impl Fields<'_> {
    fn take<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        let n = self.0.len().min(N);
        let (head, rest) = self.0.split_at(n);
        if let Some(dst) = out.get_mut(..n) {
            dst.copy_from_slice(head);
        }
        self.0 = rest;
        out
    }
    fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.take())
    }
    fn node(&mut self) -> NodeHash {
        NodeHash(self.take())
    }
}

/// Split the input into index ‖ size ‖ old size (u64 LE each) ‖ leaf ‖ root ‖ old root
/// (32 bytes each) ‖ proof nodes, and call `verify_inclusion` and `verify_consistency`
/// (which must never panic). Then, on a tree of `size % 65` leaves derived from the
/// input, honestly generated inclusion and consistency proofs must verify and a proof
/// with one node changed must not.
pub fn merkle_proofs(data: &[u8]) {
    let mut r = Fields(data);
    let index = r.u64();
    let size = r.u64();
    let old_size = r.u64();
    let leaf = r.node();
    let root = r.node();
    let old_root = r.node();
    let proof: Vec<NodeHash> = r.0.chunks(32).take(128).map(|c| Fields(c).node()).collect();
    let _ = verify_inclusion(&leaf, index, size, &proof, &root);
    let _ = verify_consistency(old_size, size, &old_root, &root, &proof);
    let _ = verify_consistency(old_size, index, &old_root, &leaf, &proof);

    // Honest proofs on a small tree must verify; tampered ones must not.
    let n = size % 65;
    let leaves: Vec<NodeHash> = (0..n)
        .map(|i| leaf_hash(&[&leaf.0[..], &i.to_le_bytes()[..]].concat()))
        .collect();
    let full = root_from_leaf_hashes(&leaves);
    let tamper = |p: &[NodeHash]| -> Option<Vec<NodeHash>> {
        let mut p = p.to_vec();
        let k = (index as usize) % p.len().max(1);
        let node = p.get_mut(k)?;
        node.0[0] ^= 1;
        Some(p)
    };
    if n > 0 {
        let i = index % n;
        match inclusion_proof(&leaves, i) {
            Ok(p) => {
                let Some(l) = leaves.get(i as usize) else {
                    panic!("leaf {i} missing");
                };
                if let Err(e) = verify_inclusion(l, i, n, &p, &full) {
                    panic!("honest inclusion proof of {i} in {n} rejected: {e}");
                }
                if let Some(bad) = tamper(&p) {
                    assert!(
                        verify_inclusion(l, i, n, &bad, &full).is_err(),
                        "tampered inclusion proof of {i} in {n} accepted"
                    );
                }
            }
            Err(e) => panic!("inclusion_proof({i}, {n}) failed: {e}"),
        }
    }
    let m = old_size % (n + 1);
    let Some(old_leaves) = leaves.get(..m as usize) else {
        panic!("old tree {m} > {n}");
    };
    let old = root_from_leaf_hashes(old_leaves);
    match consistency_proof(&leaves, m) {
        Ok(p) => {
            if let Err(e) = verify_consistency(m, n, &old, &full, &p) {
                panic!("honest consistency proof {m} -> {n} rejected: {e}");
            }
            if let Some(bad) = tamper(&p) {
                assert!(
                    verify_consistency(m, n, &old, &full, &bad).is_err(),
                    "tampered consistency proof {m} -> {n} accepted"
                );
            }
        }
        Err(e) => panic!("consistency_proof({m}, {n}) failed: {e}"),
    }
}

/// Parse a `BoardEntry` from JSON and compute its leaf hash, canonical bytes and scope
/// (re-parsing its JSON must give the same leaf hash); a genesis is validated, an act's
/// message built and checked against the fixture's roles. Inputs that are not entries are
/// tried as a signed tree head (verified against the fixture board) and a record header.
pub fn board_entry_json(data: &[u8]) {
    if let Some(entry) = parse_roundtrip::<BoardEntry>(data) {
        let leaf = entry.leaf_hash();
        let bytes = entry.canonical_bytes();
        let _ = (entry.scope(), entry.canonical_hash());
        assert_eq!(
            leaf,
            leaf_hash(&bytes),
            "leaf hash is not the hash of the canonical bytes"
        );
        // The authority rules against the fixture's roles (the record seeds hold acts of
        // other honest logs, so acceptance is not asserted here: see `roles_json`).
        let f = fixture();
        if let Payload::Genesis { genesis } = &entry.payload {
            let _ = genesis.validate();
        }
        if let (Some(role), Some(act)) = (entry.payload.act_role(), entry.payload.act()) {
            let _ = vox_protocol::roles::act_message(
                &f.board.log_id(),
                role,
                act.issued_at_ms,
                &entry.payload,
            );
        }
        let _ = roles_fixture().before.check(&entry.payload);
    } else if let Some(head) = parse_roundtrip::<SignedTreeHead>(data) {
        let f = fixture();
        let _ = head.verify(&f.board);
        for c in &head.cosignatures {
            let _ = head.verify_cosignature(c);
        }
    } else if let Some(header) = parse_roundtrip::<RecordHeader>(data) {
        let _ = header.validate();
    }
}

/// Feed the input to the verifier as a record held in memory: the lines before a line
/// `#heads` are `entries.jsonl`, the lines after it `tree-heads.jsonl`; `record.json` is
/// the fixture's header, claiming as many entries as there are non-blank entry lines.
/// `verify_record` must return (a report or an error), never panic.
pub fn record_lines(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut entries = Vec::new();
    let mut tree_heads = Vec::new();
    let mut in_heads = false;
    for line in text.split('\n') {
        if line.trim_end_matches('\r') == HEADS_SEPARATOR {
            in_heads = true;
        } else if in_heads {
            tree_heads.push(line.to_owned());
        } else {
            entries.push(line.to_owned());
        }
    }
    let size = entries.iter().filter(|l| !l.trim().is_empty()).count() as u64;
    let header = match serde_json::to_string(&fixture().record_header(size)) {
        Ok(h) => h,
        Err(e) => panic!("fixture header does not serialize: {e}"),
    };
    let source = MemorySource {
        header,
        tree_heads,
        entries,
    };
    let _ = verify_record(&source, Options::default(), &mut NoProgress);
}
