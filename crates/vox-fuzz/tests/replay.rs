//! Stable replay of the fuzz corpora, plus a short deterministic mutation loop.
//!
//! - `replay_corpora`: every file of every `fuzz/corpus/<target>/` through its target;
//!   a missing or empty corpus directory fails the test.
//! - `mutations`: a few thousand mutated corpus inputs per target from a fixed seed,
//!   bounded in time (at least 50, then more within 0.3 s per target), so CI exercises
//!   mutations without nightly or libFuzzer.
//! - `generate_valid_seeds`: with `VOX_UPDATE_CORPUS=1`, (re)writes the `valid-*` (and
//!   `roles_json`'s `reject-*`) seeds from the fixture; otherwise checks that the
//!   checked-in ones are still what the fixture makes, and that they pass (or, for
//!   `reject-*`, fail) verification.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ed25519_dalek::Signer;
use vox_fuzz::{
    ceremony_fixture, enrolment_fixture, fixture, roles_fixture, Fixture, ENROLMENT_ID,
    HEADS_SEPARATOR, PANEL, POLICY, QUERY_SELECTOR, REGISTRAR_ACTS, ROTATION, TARGETS,
    WITNESS_POLICY,
};
use vox_protocol::ballot::{encrypt_ballot, AuditedBallot};
use vox_protocol::board::{
    BoardEntry, BoardPublicKey, Cosignature, Payload, Sig, SignedTreeHead, TreeHead,
};
use vox_protocol::merkle::{consistency_proof, inclusion_proof, root_from_leaf_hashes};
use vox_protocol::petition::{PetitionProposal, PetitionSignature, SignatureAction};
use vox_protocol::roles::{possession_message, ActSignature, Genesis, Role, RoleSignature};
use vox_server::bodies::{parse_body, Route};
use vox_verifier::{verify_record, MemorySource, NoProgress, Options, Verdict};

fn corpus_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus")
}

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = corpus_root().join(target);
    let mut files: Vec<_> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus directory {} missing: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "corpus {} is empty", dir.display());
    files
        .into_iter()
        .map(|p| {
            let data = fs::read(&p).unwrap();
            (p, data)
        })
        .collect()
}

#[test]
fn replay_corpora() {
    for (name, target) in TARGETS {
        for (path, data) in corpus(name) {
            let r = std::panic::catch_unwind(|| target(&data));
            assert!(r.is_ok(), "{name}: {} panicked", path.display());
        }
    }
}

/// xorshift64*: a tiny deterministic generator (no extra dependency).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

const INTERESTING: &[&[u8]] = &[
    b"0",
    b"-1",
    b"18446744073709551615",
    b"18446744073709551616",
    b"-9223372036854775808",
    b"1e999",
    b"null",
    b"\"\"",
    b"[]",
    b"{}",
    b"\"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff\"",
    b"\"0000000000000000000000000000000000000000000000000000000000000000\"",
    b"\"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f\"",
    b"\n",
    b"\xff",
];

/// One libFuzzer-like mutation: byte flips, insertions, deletions, duplications,
/// splices with another corpus input, and JSON-aware token swaps.
fn mutate(rng: &mut Rng, data: &[u8], other: &[u8]) -> Vec<u8> {
    let mut d = data.to_vec();
    for _ in 0..=rng.below(4) {
        let len = d.len();
        match rng.below(9) {
            0 if len > 0 => {
                let i = rng.below(len);
                d[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                d[i] = rng.next() as u8;
            }
            2 => {
                let i = rng.below(len + 1);
                d.insert(i, rng.next() as u8);
            }
            3 if len > 0 => {
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(64));
                d.drain(i..i + n);
            }
            4 if len > 0 => {
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(64));
                let chunk = d[i..i + n].to_vec();
                let j = rng.below(len + 1);
                d.splice(j..j, chunk);
            }
            5 if !other.is_empty() => {
                let i = rng.below(len + 1);
                let j = rng.below(other.len());
                let n = 1 + rng.below((other.len() - j).min(256));
                d.truncate(i);
                d.extend_from_slice(&other[j..j + n]);
            }
            6 => {
                // Replace a JSON scalar token (number or string) with an interesting one.
                let starts: Vec<usize> = d
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| **c == b'"' || c.is_ascii_digit())
                    .map(|(i, _)| i)
                    .collect();
                if let Some(&s) = starts.get(rng.below(starts.len())) {
                    let end = if d[s] == b'"' {
                        d[s + 1..]
                            .iter()
                            .position(|c| *c == b'"')
                            .map_or(d.len(), |p| s + p + 2)
                    } else {
                        d[s..]
                            .iter()
                            .position(|c| !c.is_ascii_digit())
                            .map_or(d.len(), |p| s + p)
                    };
                    let tok = INTERESTING[rng.below(INTERESTING.len())];
                    d.splice(s..end, tok.iter().copied());
                }
            }
            7 if len > 0 => {
                // Increment or decrement a byte (off-by-one in numbers and hex digits).
                let i = rng.below(len);
                d[i] = if rng.next() & 1 == 0 {
                    d[i].wrapping_add(1)
                } else {
                    d[i].wrapping_sub(1)
                };
            }
            _ => {
                let i = rng.below(len + 1);
                d.truncate(i);
            }
        }
    }
    d
}

/// `VOX_FUZZ_MUTATIONS=N` (per target) and `VOX_FUZZ_SECONDS=S` (per target) widen the
/// loop for a local bug hunt without nightly; `VOX_FUZZ_SEED` changes the seed.
fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Mutations every target gets, even past the time budget.
const MIN_MUTATIONS: usize = 50;

#[test]
fn mutations() {
    let per_target: usize = env_or("VOX_FUZZ_MUTATIONS", 3000);
    let budget = Duration::from_secs_f64(env_or("VOX_FUZZ_SECONDS", 0.3));
    let mut rng = Rng(env_or("VOX_FUZZ_SEED", 0x9e37_79b9_7f4a_7c15_u64) | 1);
    for (name, target) in TARGETS {
        let seeds = corpus(name);
        // The fixture is built outside the timed loop.
        target(&seeds[0].1);
        let start = Instant::now();
        let mut runs = 0;
        // At least MIN_MUTATIONS whatever the machine's load (a busy CI runner must not
        // fail the time-bounded loop), then up to the budget.
        while runs < MIN_MUTATIONS.min(per_target)
            || (runs < per_target && start.elapsed() < budget)
        {
            let (path, base) = &seeds[rng.below(seeds.len())];
            let other = &seeds[rng.below(seeds.len())].1;
            let input = mutate(&mut rng, base, other);
            let r = std::panic::catch_unwind(|| target(&input));
            if r.is_err() {
                let out = std::env::temp_dir().join(format!("vox-fuzz-crash-{name}-{runs}"));
                fs::write(&out, &input).unwrap();
                panic!(
                    "{name}: mutation {runs} of {} panicked; input saved to {}",
                    path.display(),
                    out.display()
                );
            }
            runs += 1;
        }
        eprintln!("{name}: {runs} mutated inputs in {:?}", start.elapsed());
        assert!(
            runs >= MIN_MUTATIONS.min(per_target),
            "{name}: only {runs} mutations ran"
        );
    }
}

/// The valid seeds, generated from the fixture (and, for records, from the verifier's
/// honest-record generator, re-signed with the fixture's board key).
fn valid_seeds() -> Vec<(&'static str, String, Vec<u8>)> {
    let f = fixture();
    let json = |v: &dyn erased::Json| v.to_json();
    let mut out = Vec::new();

    // point_and_scalar: a canonical point, the basepoint, a scalar, a range proof.
    let ballot = f.ballot(0, &mut Fixture::rng(10));
    out.push((
        "point_and_scalar",
        "valid-point".into(),
        f.election_key.point().to_bytes().to_vec(),
    ));
    out.push((
        "point_and_scalar",
        "valid-credential".into(),
        f.credentials[0].public_key().to_bytes().to_vec(),
    ));
    let rp = ballot
        .range_proof
        .as_ref()
        .expect("approve question has a range proof");
    out.push((
        "point_and_scalar",
        "valid-range-proof".into(),
        rp.to_bytes(),
    ));

    // ballot_json: a valid ballot (passes every check), pretty and compact.
    out.push(("ballot_json", "valid-ballot.json".into(), json(&ballot)));
    out.push((
        "ballot_json",
        "valid-ballot-pretty.json".into(),
        serde_json::to_vec_pretty(&ballot).unwrap(),
    ));
    // A re-vote: `previous` names the credential's first ballot (04 §4.3).
    out.push(("ballot_json", "valid-revote.json".into(), json(&f.revote())));
    // An anonymous ballot (04 §4.10): ring and ring signature instead of the credential
    // (valid for the fixture's manifest made anonymous, which the target also checks).
    out.push((
        "ballot_json",
        "valid-anonymous-ballot.json".into(),
        json(&f.anonymous_ballot()),
    ));

    // petition_signature_json: a signature, a withdrawal and a proposal.
    for (name, action) in [
        ("sign", SignatureAction::Sign),
        ("withdraw", SignatureAction::Withdraw),
    ] {
        out.push((
            "petition_signature_json",
            format!("valid-{name}.json"),
            json(&f.petition_signature(action)),
        ));
    }
    out.push((
        "petition_signature_json",
        "valid-proposal.json".into(),
        json(&f.proposal_seed()),
    ));

    // receipt_json.
    out.push((
        "receipt_json",
        "valid-receipt.json".into(),
        json(&f.receipt()),
    ));
    out.push((
        "receipt_json",
        "valid-signature-receipt.json".into(),
        json(&f.signature_receipt().0),
    ));

    // merkle_proofs: honest inclusion and consistency proofs over 11 leaves.
    let leaves: Vec<_> = (0u8..11)
        .map(|i| vox_protocol::merkle::leaf_hash(&[i]))
        .collect();
    let root = root_from_leaf_hashes(&leaves);
    let old_root = root_from_leaf_hashes(&leaves[..6]);
    let frame = |index: u64, size: u64, old: u64, leaf: &[u8; 32], proof: &[_]| {
        let mut b = Vec::new();
        b.extend(index.to_le_bytes());
        b.extend(size.to_le_bytes());
        b.extend(old.to_le_bytes());
        b.extend(leaf);
        b.extend(root.0);
        b.extend(old_root.0);
        for n in proof {
            let n: &vox_protocol::merkle::NodeHash = n;
            b.extend(n.0);
        }
        b
    };
    let ip = inclusion_proof(&leaves, 4).unwrap();
    out.push((
        "merkle_proofs",
        "valid-inclusion".into(),
        frame(4, 11, 6, &leaves[4].0, &ip),
    ));
    let cp = consistency_proof(&leaves, 6).unwrap();
    out.push((
        "merkle_proofs",
        "valid-consistency".into(),
        frame(4, 11, 6, &leaves[4].0, &cp),
    ));

    // board_entry_json and record_lines: an honest record (every payload kind), made the
    // fixture's log: its genesis replaced by the fixture's, every act re-signed by the
    // fixture's roles and its tree heads re-signed by the fixture board, so that the
    // header matches.
    let mut honest = vox_verifier::synth::honest(7, 0).unwrap();
    assert!(
        matches!(honest.record.entries[0].payload, Payload::Genesis { .. }),
        "leaf 0 of the honest record is not a genesis"
    );
    honest.record.entries[0].payload = Payload::Genesis {
        genesis: f.genesis.clone(),
    };
    honest.record.resign_acts(&f.roles).unwrap();
    let entries = &honest.record.entries;
    let mut kinds = std::collections::BTreeMap::new();
    for e in entries {
        let v = serde_json::to_value(&e.payload).unwrap();
        let kind = v["type"].as_str().unwrap().to_owned();
        kinds.entry(kind).or_insert(e);
    }
    // The record rotates no key: the fixture's rotation, as the entry after the record.
    let rotation = BoardEntry {
        timestamp_ms: entries.last().unwrap().timestamp_ms + 1000,
        payload: roles_fixture().acts[ROTATION].clone(),
    };
    kinds.entry("role-key-rotated".into()).or_insert(&rotation);
    for (kind, e) in &kinds {
        out.push(("board_entry_json", format!("valid-{kind}.json"), json(*e)));
    }
    roles_seeds(&mut out);
    enrolment_seeds(&mut out);
    let leaf_hashes: Vec<_> = entries.iter().map(|e| e.leaf_hash()).collect();
    let heads: Vec<SignedTreeHead> = honest
        .record
        .heads
        .iter()
        .map(|h| {
            let size = h.head.tree_size as usize;
            SignedTreeHead::sign(
                TreeHead {
                    tree_size: h.head.tree_size,
                    root_hash: root_from_leaf_hashes(&leaf_hashes[..size]),
                    timestamp_ms: h.head.timestamp_ms,
                },
                &f.genesis.log_name,
                &f.board_key,
            )
            .unwrap()
        })
        .collect();
    out.push((
        "board_entry_json",
        "valid-tree-head.json".into(),
        json(heads.last().unwrap()),
    ));
    out.push((
        "board_entry_json",
        "valid-record-header.json".into(),
        json(&f.record_header(entries.len() as u64)),
    ));
    let src =
        MemorySource::from_parts(&f.record_header(entries.len() as u64), &heads, entries).unwrap();
    let report = verify_record(&src, Options::default(), &mut NoProgress).unwrap();
    assert_ne!(
        report.verdict(),
        Verdict::Fail,
        "the re-signed honest record must not fail:\n{}",
        report.to_human()
    );
    new_target_seeds(&mut out, &json(&ballot));
    let mut text = src.entries.join("\n");
    text.push('\n');
    text.push_str(HEADS_SEPARATOR);
    text.push('\n');
    text.push_str(&src.tree_heads.join("\n"));
    text.push('\n');
    out.push(("record_lines", "valid-record.txt".into(), text.into_bytes()));
    // A short prefix (genesis, electorate, petition proposal), without heads.
    let short: Vec<_> = src.entries.iter().take(3).cloned().collect();
    out.push((
        "record_lines",
        "valid-prefix.txt".into(),
        (short.join("\n") + "\n").into_bytes(),
    ));
    // ring_signature: the fixture's honest ring signature, as bytes and as hex text.
    let rf = vox_fuzz::ring_fixture();
    out.push((
        "ring_signature",
        "valid-signature".into(),
        rf.signature.to_bytes(),
    ));
    out.push((
        "ring_signature",
        "valid-signature.hex".into(),
        rf.signature.to_hex().into_bytes(),
    ));

    out
}

/// A Benaloh audit opening of a prepared (never cast) ballot by voter 3.
fn audit_seed() -> AuditedBallot {
    let f = fixture();
    let choices = vec![vec![0, 1], vec![0, 0, 1], vec![0, 1, 1], vec![2, 0]];
    let (ballot, secrets) = encrypt_ballot(
        &f.context(),
        &f.credentials[3],
        &choices,
        None,
        &mut Fixture::rng(30),
    )
    .unwrap();
    AuditedBallot::new(ballot, secrets)
}

/// merkle_nodes input: size ‖ index ‖ old size ‖ seed.
fn nodes_input(size: u64, index: u64, old: u64, seed: u8) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend(size.to_le_bytes());
    b.extend(index.to_le_bytes());
    b.extend(old.to_le_bytes());
    b.extend([seed; 32]);
    b
}

/// Seeds of the ceremony, decryption-share, audit, Merkle-node and HTTP-body targets.
fn new_target_seeds(out: &mut Vec<(&'static str, String, Vec<u8>)>, ballot: &[u8]) {
    let f = fixture();
    let cf = ceremony_fixture();
    let json = |v: &dyn erased::Json| v.to_json();

    // ceremony_messages: the whole honest ceremony (one message per line), and one
    // message of every kind on its own.
    let lines: Vec<String> = cf
        .messages
        .iter()
        .map(|m| serde_json::to_string(m).unwrap())
        .collect();
    out.push((
        "ceremony_messages",
        "valid-ceremony.txt".into(),
        (lines.join("\n") + "\n").into_bytes(),
    ));
    for (name, i) in [
        ("commit", 0),
        ("reveal", 3),
        ("shares", 6),
        ("confirm", 9),
        ("complaint", 10),
        ("answer", 11),
    ] {
        out.push((
            "ceremony_messages",
            format!("valid-{name}.json"),
            json(&cf.messages[i]),
        ));
    }

    // decryption_share_json: every trustee's share, and the joint keys.
    for (i, s) in cf.shares.iter().enumerate() {
        out.push((
            "decryption_share_json",
            format!("valid-share-{}.json", i + 1),
            json(s),
        ));
    }
    out.push((
        "decryption_share_json",
        "valid-joint-keys.json".into(),
        json(&cf.joint),
    ));

    // audit_opening_json.
    let audit = audit_seed();
    out.push((
        "audit_opening_json",
        "valid-audit.json".into(),
        json(&audit),
    ));

    // merkle_nodes: small, power of two, one leaf, huge.
    for (name, size, index, old, seed) in [
        ("valid-11", 11, 4, 6, 1),
        ("valid-64", 64, 63, 32, 2),
        ("valid-1", 1, 0, 1, 3),
        ("valid-96", 96, 95, 95, 4),
        ("valid-huge", u64::MAX, u64::MAX - 1, 1 << 63, 5),
        ("valid-2pow40", 1 << 40, (1 << 40) - 1, (1 << 40) - 1, 6),
    ] {
        out.push((
            "merkle_nodes",
            name.into(),
            nodes_input(size, index, old, seed),
        ));
    }

    // http_bodies: the selector byte, then a body the route accepts.
    let cosign = {
        let head = f.receipt().tree_head;
        let witness = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
        let c: Cosignature = head
            .cosign("witness.fuzz.vox.example", &witness, 1_767_226_200)
            .unwrap();
        serde_json::json!({
            "tree_size": head.head.tree_size,
            "root_hash": head.head.root_hash,
            "timestamp_ms": head.head.timestamp_ms,
            "cosignature": c,
        })
    };
    let acts = &roles_fixture().acts;
    let bodies: Vec<(Route, &str, Vec<u8>)> = vec![
        (Route::Electorate, "electorate", json(&acts[0])),
        (Route::Referendum, "referendum", json(&acts[1])),
        (Route::CeremonyMessage, "ceremony", json(&cf.messages[3])),
        (Route::Ballot, "ballot", ballot.to_vec()),
        (Route::Audit, "audit", json(&audit)),
        (
            Route::DecryptionShare,
            "decryption-share",
            json(&cf.shares[1]),
        ),
        (Route::Proposal, "proposal", json(&f.proposal_seed())),
        (
            Route::Signature,
            "signature",
            json(&f.petition_signature(SignatureAction::Sign)),
        ),
        (Route::Moderation, "moderation", json(&acts[2])),
        (Route::Response, "response", json(&acts[3])),
        (Route::Invalidation, "invalidation", json(&acts[4])),
        (Route::Cosignature, "cosignature", json(&cosign)),
        (Route::RoleRotation, "role-rotation", json(&acts[ROTATION])),
        (
            Route::EnrolmentOpening,
            "enrolment-opening",
            json(&acts[REGISTRAR_ACTS[0]]),
        ),
        (
            Route::Enrolment,
            "enrolment",
            json(&enrolment_fixture().requests[0]),
        ),
        (
            Route::Revocation,
            "revocation",
            json(&acts[REGISTRAR_ACTS[1]]),
        ),
        (Route::Freeze, "freeze", json(&acts[REGISTRAR_ACTS[2]])),
        (
            Route::PetitionPolicy,
            "petition-policy",
            json(&acts[POLICY]),
        ),
        (Route::TrusteePanel, "trustee-panel", json(&acts[PANEL])),
        (
            Route::WitnessPolicy,
            "witness-policy",
            json(&acts[WITNESS_POLICY]),
        ),
        (
            Route::RingSignature,
            "ring-signature",
            json(&ring_signature(f)),
        ),
    ];
    for (route, name, body) in bodies {
        let selector = Route::ALL.iter().position(|r| *r == route).unwrap() as u8;
        let mut data = vec![selector];
        data.extend(body);
        out.push((
            "http_bodies",
            format!("valid-{selector:02}-{name}.json"),
            data,
        ));
    }
    let mut q = vec![QUERY_SELECTOR];
    q.extend_from_slice(b"index=3&tree_size=10&since=%31%32&x=a+b%2");
    out.push((
        "http_bodies",
        format!("valid-{QUERY_SELECTOR:02}-query.txt"),
        q,
    ));
}

/// A ring signature by voter 2 on the fixture's petition made ring-signed (07 §7.10),
/// over the fixture electorate's rings, from a fixed seed: it parses, and (the fixture's
/// petition being credential-signed) never verifies.
fn ring_signature(f: &Fixture) -> vox_protocol::petition::RingPetitionSignature {
    use rand_chacha::rand_core::SeedableRng;
    let petition = vox_protocol::petition::Petition {
        signatures: vox_protocol::petition::SignatureScheme::Ring,
        ..f.petition.clone()
    };
    let rings =
        vox_protocol::rings::RingSet::derive(&f.electorate, &f.electorate_index, u64::MAX).unwrap();
    vox_protocol::petition::RingPetitionSignature::create(
        &petition,
        &rings,
        &f.credentials[2],
        SignatureAction::Sign,
        &mut rand_chacha::ChaCha20Rng::seed_from_u64(20),
    )
    .unwrap()
}

/// roles_json: the fixture's genesis and every honest act (`valid-*`), and forgeries that
/// must be refused (`reject-*`).
/// enrolment_json: honest sequences (`valid-*`: every line accepted by the roll) and
/// sequences with one refused line (`reject-*`).
fn enrolment_lines() -> Vec<(String, Vec<Payload>)> {
    use vox_protocol::encoding::Hashable;
    use vox_protocol::enrolment::{EnrolmentCode, Roll};
    let ef = enrolment_fixture();
    let act = ActSignature::unsigned();
    let enrol = |i: usize| Payload::CredentialEnrolled {
        enrolment: ef.requests[i].clone(),
    };
    let mut rng = Fixture::rng(0xe8);
    // Revoke credential 3 before the freeze, with a replacement code for region south.
    let replacement = EnrolmentCode::generate(&mut rng);
    let revoke = Payload::CredentialRevoked {
        electorate_id: ENROLMENT_ID.into(),
        credential: ef.requests[3].credential,
        replacement: Some(replacement.hash(ENROLMENT_ID, Some("south"))),
        reason: "lost".into(),
        act,
    };
    let fresh = vox_crypto::credential::Credential::generate(&mut rng);
    let replaced = Payload::CredentialEnrolled {
        enrolment: vox_protocol::electorate::EnrolmentRequest::create(
            ENROLMENT_ID,
            Some("south"),
            Some(&replacement),
            &fresh,
            &mut rng,
        ),
    };
    let mut honest = vec![enrol(0), enrol(1), enrol(2), enrol(3), revoke, replaced];
    let mut roll = Roll::new();
    roll.open(&ef.opening).unwrap();
    for (i, p) in honest.iter().enumerate() {
        roll.apply(i as u64 + 2, p).unwrap();
    }
    let pending = roll.pending(ENROLMENT_ID).unwrap();
    honest.push(Payload::ElectorateFrozen {
        electorate_id: ENROLMENT_ID.into(),
        electorate_hash: pending.canonical_hash(),
        act,
    });
    let mut wrong_hash = honest.clone();
    if let Some(Payload::ElectorateFrozen {
        electorate_hash, ..
    }) = wrong_hash.last_mut()
    {
        electorate_hash.0[0] ^= 1;
    }
    let other_region = {
        let mut r = ef.requests[0].clone();
        r.region = Some("south".into());
        Payload::CredentialEnrolled { enrolment: r }
    };
    vec![
        ("valid-enrolment.txt".into(), honest),
        (
            "reject-code-spent-twice.txt".into(),
            vec![enrol(0), enrol(0)],
        ),
        ("reject-other-region.txt".into(), vec![other_region]),
        ("reject-freeze-wrong-hash.txt".into(), wrong_hash),
    ]
}

fn enrolment_seeds(out: &mut Vec<(&'static str, String, Vec<u8>)>) {
    for (name, lines) in enrolment_lines() {
        let mut text = Vec::new();
        for p in lines {
            text.extend(serde_json::to_vec(&p).unwrap());
            text.push(b'\n');
        }
        out.push(("enrolment_json", name, text));
    }
}

fn roles_seeds(out: &mut Vec<(&'static str, String, Vec<u8>)>) {
    let f = fixture();
    let rf = roles_fixture();
    let json = |v: &dyn erased::Json| v.to_json();
    let log_id = f.genesis.log_id();
    out.push(("roles_json", "valid-genesis.json".into(), json(&f.genesis)));
    out.push((
        "roles_json",
        "valid-genesis-pretty.json".into(),
        serde_json::to_vec_pretty(&f.genesis).unwrap(),
    ));
    for (i, p) in rf.acts.iter().enumerate() {
        out.push((
            "roles_json",
            format!("valid-act-{i}-{}.json", p.kind()),
            json(p),
        ));
    }
    let mut reject = |name: &str, data: Vec<u8>| {
        out.push(("roles_json", format!("reject-{name}.json"), data));
    };
    // Genesis: a field changed after signing; a signature missing; out of order.
    let tweak = |f: &dyn Fn(&mut Genesis)| {
        let mut g = fixture().genesis.clone();
        f(&mut g);
        json(&g)
    };
    reject("genesis-created-at", tweak(&|g| g.created_at_ms += 1));
    reject("genesis-quorum", tweak(&|g| g.witnesses.quorum = 1));
    reject(
        "genesis-missing-signature",
        tweak(&|g| {
            g.signatures.pop();
        }),
    );
    reject("genesis-order", tweak(&|g| g.signatures.swap(1, 2)));
    reject(
        "genesis-duplicate-signature",
        tweak(&|g| g.signatures[3] = g.signatures[2]),
    );
    reject(
        "genesis-signed-by-operator-for-all",
        tweak(&|g| {
            let msg = g.signed_message();
            g.signatures = Role::ALL
                .into_iter()
                .map(|role| RoleSignature {
                    role,
                    signature: Sig(f.board_key.sign(&msg)),
                })
                .collect();
        }),
    );
    // Acts: signed by another role; a field or issued_at_ms changed after signing; for
    // another log; a rotation with a possession by the old key.
    let act = ActSignature::unsigned();
    let respond = Payload::PetitionResponded {
        petition_id: f.petition.id.clone(),
        text: "Signed by the registrar.".into(),
        act,
    };
    reject(
        "act-wrong-role",
        json(
            &respond
                .clone()
                .signed_act(&log_id, forged_at(), &f.roles.registrar)
                .unwrap(),
        ),
    );
    let mut p = rf.acts[2].clone();
    if let Payload::PetitionModerated { petition_id, .. } = &mut p {
        petition_id.push('x');
    }
    reject("act-tampered-id", json(&p));
    let mut p = rf.acts[PANEL].clone();
    if let Payload::TrusteePanelSet { act, .. } = &mut p {
        act.issued_at_ms += 1;
    }
    reject("act-tampered-issued-at", json(&p));
    let mut p = rf.acts[PANEL].clone();
    if let Payload::TrusteePanelSet { panel, .. } = &mut p {
        panel.threshold += 1;
    }
    reject("act-tampered-panel", json(&p));
    let other_log = BoardPublicKey(f.roles.registrar.verifying_key()).log_id();
    reject(
        "act-other-log",
        json(
            &respond
                .signed_act(&other_log, forged_at(), &f.roles.petitions_office)
                .unwrap(),
        ),
    );
    let new_pk = BoardPublicKey(rf.new_office_key.verifying_key());
    let bad_rotation = Payload::RoleKeyRotated {
        role: Role::PetitionsOffice,
        new_key: new_pk,
        possession: Sig(f.roles.petitions_office.sign(&possession_message(
            &log_id,
            Role::PetitionsOffice,
            &new_pk,
        ))),
        act,
    };
    reject(
        "act-rotation-bad-possession",
        json(&f.roles.sign(bad_rotation, forged_at()).unwrap()),
    );
    reject(
        "act-second-genesis",
        json(&Payload::Genesis {
            genesis: f.genesis.clone(),
        }),
    );
}

/// `issued_at_ms` of the forged acts.
fn forged_at() -> i64 {
    vox_fuzz::T0 - 1_000_000
}

mod erased {
    pub trait Json {
        fn to_json(&self) -> Vec<u8>;
    }
    impl<T: serde::Serialize> Json for T {
        fn to_json(&self) -> Vec<u8> {
            serde_json::to_vec(self).unwrap()
        }
    }
}

#[test]
fn generate_valid_seeds() {
    let update = std::env::var_os("VOX_UPDATE_CORPUS").is_some_and(|v| v == "1");
    let seeds = valid_seeds();
    for (target, name, data) in &seeds {
        let path = corpus_root().join(target).join(name);
        if update {
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(&path, data).unwrap();
        } else {
            // The seeds are deterministic: a stale checked-in seed means the fixture or an
            // encoding changed; rerun with VOX_UPDATE_CORPUS=1.
            let on_disk = fs::read(&path).unwrap_or_else(|e| {
                panic!(
                    "{} missing ({e}); run VOX_UPDATE_CORPUS=1 cargo test -p vox-fuzz",
                    path.display()
                )
            });
            assert!(
                on_disk == *data,
                "{} is stale; run VOX_UPDATE_CORPUS=1 cargo test -p vox-fuzz",
                path.display()
            );
        }
    }
    // The valid seeds must pass verification (so mutations start deep in the checks).
    let f = fixture();
    let ctx = f.context();
    for (target, name, data) in &seeds {
        match *target {
            "ballot_json" if name.contains("anonymous") => {
                let b: vox_protocol::ballot::Ballot = serde_json::from_slice(data).unwrap();
                let (manifest, rings) = f.anonymous();
                let actx = vox_protocol::ballot::BallotContext::new(manifest, f.election_key);
                b.validate(
                    &actx,
                    &f.electorate_index,
                    Some(rings),
                    &mut Fixture::rng(9),
                )
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            }
            "ballot_json" => {
                let b: vox_protocol::ballot::Ballot = serde_json::from_slice(data).unwrap();
                b.validate(&ctx, &f.electorate_index, None, &mut Fixture::rng(9))
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
            }
            "receipt_json" if name.contains("signature") => {
                let r: vox_protocol::signature_receipt::SignatureReceipt =
                    serde_json::from_slice(data).unwrap();
                r.verify(&f.board).unwrap_or_else(|e| panic!("{name}: {e}"));
                r.check_entry(&f.signature_receipt().1)
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
            }
            "receipt_json" => {
                let r: vox_protocol::board::Receipt = serde_json::from_slice(data).unwrap();
                r.verify(&f.board).unwrap_or_else(|e| panic!("{name}: {e}"));
            }
            "petition_signature_json" if name.contains("proposal") => {
                let p: PetitionProposal = serde_json::from_slice(data).unwrap();
                p.verify(&f.electorate_index)
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
            }
            "petition_signature_json" => {
                let s: PetitionSignature = serde_json::from_slice(data).unwrap();
                s.verify(&f.petition_hash, &f.electorate_index)
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
            }
            "ceremony_messages" => {
                let cf = ceremony_fixture();
                for line in data.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
                    let m: vox_protocol::ceremony::CeremonyMessage =
                        serde_json::from_slice(line).unwrap();
                    m.verify_signature(&cf.manifest, &cf.manifest_hash)
                        .unwrap_or_else(|e| panic!("{name}: {e}"));
                }
            }
            "decryption_share_json" if name.contains("share") => {
                let cf = ceremony_fixture();
                let m: vox_protocol::ceremony::DecryptionShareMessage =
                    serde_json::from_slice(data).unwrap();
                m.check(
                    &cf.manifest,
                    &cf.manifest_hash,
                    &cf.joint,
                    &cf.tally,
                    &mut vox_crypto::batch::SingleVerifier,
                )
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            }
            "audit_opening_json" => {
                let a: AuditedBallot = serde_json::from_slice(data).unwrap();
                a.ballot
                    .check_structure(&ctx, &f.electorate_index)
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
                a.verify_opening(&ctx)
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
            }
            "roles_json" => {
                let rf = roles_fixture();
                let valid = name.starts_with("valid-");
                assert!(valid || name.starts_with("reject-"), "{name}");
                if name.contains("genesis") && !name.contains("second-genesis") {
                    let g: Genesis = serde_json::from_slice(data).unwrap();
                    assert_eq!(g.validate().is_ok(), valid, "{name}");
                } else {
                    let p: Payload = serde_json::from_slice(data).unwrap();
                    let i = rf.acts.iter().position(|a| *a == p);
                    let state = match i {
                        Some(i) if i > ROTATION => &rf.after,
                        _ => &rf.before,
                    };
                    assert_eq!(state.check(&p).is_ok(), valid, "{name}");
                    assert_eq!(i.is_some(), valid, "{name}");
                }
                // And through the target itself.
                vox_fuzz::roles_json(data);
            }
            "enrolment_json" => {
                // valid: every line accepted; reject: exactly the last line refused.
                let ef = enrolment_fixture();
                let mut roll = vox_protocol::enrolment::Roll::new();
                roll.open(&ef.opening).unwrap();
                let lines: Vec<&[u8]> = data
                    .split(|b| *b == b'\n')
                    .filter(|l| !l.is_empty())
                    .collect();
                for (i, line) in lines.iter().enumerate() {
                    let p: Payload = serde_json::from_slice(line).unwrap();
                    let ok = roll.apply(i as u64 + 2, &p).is_ok();
                    let last = i + 1 == lines.len();
                    let expect = name.starts_with("valid-") || !last;
                    assert_eq!(ok, expect, "{name}: line {i}");
                }
                vox_fuzz::enrolment_json(data);
            }
            "http_bodies" if data[0] < QUERY_SELECTOR => {
                let route = Route::ALL[usize::from(data[0])];
                parse_body(route, &data[1..]).unwrap_or_else(|e| panic!("{name}: {e:?}"));
            }
            "ring_signature" => {
                let rf = vox_fuzz::ring_fixture();
                let text = String::from_utf8_lossy(data);
                let sig = if name.ends_with(".hex") {
                    vox_crypto::ring::RingSignature::from_hex(&text).unwrap()
                } else {
                    vox_crypto::ring::RingSignature::try_from_bytes(data).unwrap()
                };
                vox_crypto::ring::verify(
                    &mut vox_crypto::transcript::new_transcript(
                        b"petition-signature",
                        &rf.petition,
                    ),
                    &sig,
                    &rf.ring,
                    &rf.tag_generator,
                    &rf.message,
                )
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            }
            _ => {}
        }
    }
}

/// Any two honest decryption shares decrypt the fixture tally to its plaintexts, and
/// the honest ceremony ends with the fixture's joint keys.
#[test]
fn ceremony_fixture_is_honest() {
    use vox_crypto::{Point, Scalar};
    let cf = ceremony_fixture();
    let mut t = cf.tracker();
    let mut joint = None;
    for m in &cf.messages {
        joint = t.apply(&cf.manifest, m, 0).unwrap().or(joint);
    }
    assert_eq!(joint.as_ref(), Some(&cf.joint));
    for pair in [[0, 1], [0, 2], [1, 2]] {
        let shares: Vec<_> = pair.iter().map(|i| cf.shares[*i].share.clone()).collect();
        let points = cf
            .joint
            .verify_and_combine(&cf.manifest_hash, &cf.tally, &shares, &mut Fixture::rng(8))
            .unwrap();
        for (i, p) in points.iter().enumerate() {
            let want: Point = Scalar::from_u64(i as u64 % vox_fuzz::TALLY_MOD).mul_base();
            assert_eq!(*p, want, "slot {i} with trustees {pair:?}");
        }
    }
}
