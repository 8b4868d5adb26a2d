//! Deterministic test vectors for `protocol-spec/` (protocol-spec/README.md §0.7).
//!
//! Every test builds one JSON file from a seeded ChaCha20 RNG (proofs drawn from a seeded
//! RNG are deterministic: merlin transcripts and Bulletproofs derive their nonces from it)
//! and compares it byte for byte with the file checked in under `protocol-spec/vectors/`.
//! Before comparing, it *verifies* the checked-in file: with the protocol code, and where
//! possible a second time from the spec alone (transcripts rebuilt from the listed appends,
//! hashes rebuilt from the documented byte layouts, HKDF/HMAC written out with SHA-256),
//! so a vector that does not verify fails even if it matches.
//!
//! Regenerate (only for an intended protocol change, which bumps the version, see
//! protocol-spec/README.md §0.6):
//!
//! ```text
//! VOX_UPDATE_VECTORS=1 cargo test -p vox-protocol --test vectors
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::PathBuf;

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use merlin::Transcript;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use sha2::{Digest, Sha256, Sha512};
use vox_crypto::batch::SingleVerifier;
use vox_crypto::credential::{Credential, CredentialSignature};
use vox_crypto::dlog::DlogTable;
use vox_crypto::elgamal::{Ciphertext, ElectionPublicKey};
use vox_crypto::generators::{hash_to_point, pedersen_h};
use vox_crypto::proofs::link::pedersen_commit;
use vox_crypto::proofs::{
    ConstantProof, DleqProof, LinkProof, RangeProof, RangeStatement, SchnorrProof, ZeroOneProof,
};
use vox_crypto::threshold::{
    combine, lagrange_coefficient, receive_share, CeremonyParams, Dealer, DecryptionShare,
    EncryptedShare, JointPublicKeys, KeyShare, ShareVerdict, TrusteeIndex, TrusteeKeys,
};
use vox_crypto::transcript::new_transcript;
use vox_crypto::{Hash32, Point, Scalar};
use vox_protocol::ballot::{encrypt_ballot, AuditedBallot, Ballot, BallotContext, Choices};
use vox_protocol::board::{
    board_note_key, BoardEntry, BoardPublicKey, EncryptedTally, Payload, Receipt, Sig,
    SignedTreeHead, TreeHead,
};
use vox_protocol::ceremony::{
    completed_payload, CeremonyBody, CeremonyMessage, CeremonyPhase, CeremonyTracker,
    DecryptionShareMessage,
};
use vox_protocol::electorate::{Electorate, ElectorateEntry, EnrolmentRequest};
use vox_protocol::encoding::{human_code, Canonical, Encoder, Hashable};
use vox_protocol::enrolment::{
    EnrolmentCode, EnrolmentError, EnrolmentOpening, RegionCount, Roll, CODE_LEN,
};
use vox_protocol::manifest::{Manifest, Question, QuestionKind, TrusteeInfo, MANIFEST_VERSION};
use vox_protocol::merkle::{
    consistency_proof, inclusion_proof, leaf_hash, node_hash, root_from_leaf_hashes,
    verify_consistency, verify_inclusion, NodeHash,
};
use vox_protocol::petition::{
    Moderation, Petition, PetitionProposal, PetitionSignature, RingPetitionSignature,
    SignatureAction, SignatureScheme, ThresholdKind,
};
use vox_protocol::rings::RingSet;
use vox_protocol::roles::{
    act_message, possession_message, ActError, ActSignature, Authorities, Genesis, LogLink, Role,
    RoleSignature, RoleSigners, WitnessPolicy,
};
use vox_protocol::tally::{counted_hash, ReferendumResult};

// =======================================================================================
// Harness
// =======================================================================================

const GENERATED_BY: &str = "crates/vox-protocol/tests/vectors.rs";
const REGENERATE: &str = "VOX_UPDATE_VECTORS=1 cargo test -p vox-protocol --test vectors";

fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../protocol-spec/vectors")
}

/// Rebuild every JSON object with its keys in sorted order, so the file is the same
/// whether or not serde_json's `preserve_order` feature is unified into this build.
fn sorted(v: Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut items: Vec<(String, Value)> = m.into_iter().collect();
            items.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(items.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(a) => Value::Array(a.into_iter().map(sorted).collect()),
        other => other,
    }
}

/// Write (with `VOX_UPDATE_VECTORS=1`) or read `name`, verify the file's content with
/// `verify`, then require it to equal the freshly generated vector byte for byte.
fn check(name: &str, generate: impl FnOnce() -> Value, verify: impl FnOnce(&Value)) {
    let path = vectors_dir().join(name);
    let generated = serde_json::to_string_pretty(&sorted(generate())).unwrap() + "\n";
    if std::env::var("VOX_UPDATE_VECTORS").as_deref() == Ok("1") {
        std::fs::create_dir_all(vectors_dir()).unwrap();
        std::fs::write(&path, &generated).unwrap();
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "test vector {} is missing ({e}). Generate it with:\n    {REGENERATE}",
            path.display()
        )
    });
    let parsed: Value =
        serde_json::from_str(&on_disk).unwrap_or_else(|e| panic!("{name} is not valid JSON: {e}"));
    verify(&parsed);
    assert!(
        on_disk == generated,
        "{name}: the checked-in vector differs from what the code generates now. The code \
         changed the protocol (or its RNG use). If that is intended, bump the version as \
         protocol-spec/README.md §0.6 requires and regenerate with:\n    {REGENERATE}"
    );
}

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

fn header(description: &str, spec: &str, seed: Option<u64>) -> serde_json::Map<String, Value> {
    let mut m = serde_json::Map::new();
    m.insert("description".into(), json!(description));
    m.insert("spec".into(), json!(spec));
    m.insert("generated_by".into(), json!(GENERATED_BY));
    if let Some(seed) = seed {
        m.insert(
            "rng".into(),
            json!(format!(
                "ChaCha20Rng::seed_from_u64({seed}) (rand_chacha 0.3)"
            )),
        );
    }
    m
}

fn with(mut m: serde_json::Map<String, Value>, extra: Value) -> Value {
    if let Value::Object(e) = extra {
        m.extend(e);
    }
    Value::Object(m)
}

fn to_json<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap()
}
fn s(v: &Value) -> &str {
    v.as_str()
        .unwrap_or_else(|| panic!("expected a string, got {v}"))
}
fn u(v: &Value) -> u64 {
    v.as_u64()
        .unwrap_or_else(|| panic!("expected an integer, got {v}"))
}
fn int(v: &Value) -> i64 {
    v.as_i64()
        .unwrap_or_else(|| panic!("expected an integer, got {v}"))
}
fn arr(v: &Value) -> &Vec<Value> {
    v.as_array()
        .unwrap_or_else(|| panic!("expected an array, got {v}"))
}
fn pt(v: &Value) -> Point {
    Point::from_hex(s(v)).unwrap()
}
fn sc(v: &Value) -> Scalar {
    Scalar::from_hex(s(v)).unwrap()
}
/// The referendum terms the vector petitions are published with (07 §7.4).
fn vector_terms() -> vox_protocol::petition::ReferendumTerms {
    vox_protocol::petition::ReferendumTerms {
        referendum_id: "vector-petition-referendum".into(),
        title: "Plant 1,000 trees?".into(),
        description: "Advisory referendum triggered by the petition.".into(),
        questions: vec![vox_protocol::manifest::Question {
            id: "q1".into(),
            text: "Should the council plant 1,000 trees?".into(),
            options: vec!["yes".into(), "no".into()],
            kind: vox_protocol::manifest::QuestionKind::YesNo,
        }],
        opens_after_ms: 7 * vox_protocol::manifest::DAY_MS,
        voting_ms: 14 * vox_protocol::manifest::DAY_MS,
        participation: Default::default(),
    }
}

fn h32(v: &Value) -> Hash32 {
    Hash32::from_hex(s(v)).unwrap()
}
fn nh(v: &Value) -> NodeHash {
    NodeHash::from_hex(s(v)).unwrap()
}
fn unhex(v: &Value) -> Vec<u8> {
    hex::decode(s(v)).unwrap()
}
fn parse<T: DeserializeOwned>(v: &Value) -> T {
    serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("cannot parse {v}: {e}"))
}
fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

// ---- spec replicas of the canonical encoding (01-encodings §1.5) --------------------

fn be32(v: usize) -> [u8; 4] {
    u32::try_from(v).unwrap().to_be_bytes()
}
fn enc_str(out: &mut Vec<u8>, v: &str) {
    out.extend_from_slice(&be32(v.len()));
    out.extend_from_slice(v.as_bytes());
}
/// SHA-256("vox/v2/" ‖ tag ‖ 0x00 ‖ canonical bytes).
fn tagged_hash(tag: &str, canonical: &[u8]) -> Hash32 {
    Hash32(sha256(&[b"vox/v2/", tag.as_bytes(), &[0u8], canonical]))
}

// ---- transcripts: recorded (generation) and replayed (verification) -----------------

/// A merlin transcript that records every append, so a vector can list them in order.
struct Rec {
    t: Transcript,
    ops: Vec<Value>,
}

impl Rec {
    /// `Transcript::new("vox/v2")` (02-transcripts §2.2).
    fn new() -> Self {
        Rec {
            t: Transcript::new(b"vox/v2"),
            ops: Vec::new(),
        }
    }
    fn msg(&mut self, label: &'static [u8], value: &[u8]) -> &mut Self {
        self.t.append_message(label, value);
        self.ops.push(json!({
            "label": std::str::from_utf8(label).unwrap(),
            "value": hex::encode(value),
        }));
        self
    }
    fn dom(&mut self, label: &'static [u8]) -> &mut Self {
        self.msg(b"dom-sep", label)
    }
    fn point(&mut self, label: &'static [u8], p: &Point) -> &mut Self {
        self.msg(label, p.as_bytes())
    }
    fn u64le(&mut self, label: &'static [u8], v: u64) -> &mut Self {
        self.msg(label, &v.to_le_bytes())
    }
    /// The appends recorded since the last call.
    fn take(&mut self) -> Value {
        Value::Array(std::mem::take(&mut self.ops))
    }
    /// The challenge scalar "c" (02-transcripts §2.3).
    fn challenge(&mut self) -> Scalar {
        challenge(&mut self.t)
    }
}

/// 64 challenge bytes under label "c", reduced modulo ℓ (02-transcripts §2.3).
fn challenge(t: &mut Transcript) -> Scalar {
    let mut b = [0u8; 64];
    t.challenge_bytes(b"c", &mut b);
    Scalar::from_dalek(curve25519_dalek::Scalar::from_bytes_mod_order_wide(&b))
}

fn leak(label: &str) -> &'static [u8] {
    Box::leak(label.as_bytes().to_vec().into_boxed_slice())
}

/// `Transcript::new("vox/v2")`, then every `{label, value}` of the given lists in order.
fn replay(lists: &[&Value]) -> Transcript {
    let mut t = Transcript::new(b"vox/v2");
    for list in lists {
        for op in arr(list) {
            t.append_message(leak(s(&op["label"])), &unhex(&op["value"]));
        }
    }
    t
}

// ---- spec replicas of each proof's appends (03-proofs) -------------------------------

fn schnorr_appends(r: &mut Rec, public: &Point, msg: &[u8], t: &Point) {
    r.dom(b"vox/v2/schnorr")
        .point(b"G", &Point::generator())
        .point(b"public", public)
        .msg(b"message", msg)
        .point(b"T", t);
}

fn dleq_appends(r: &mut Rec, base: &Point, public: &Point, image: &Point, p: &DleqProof) {
    r.dom(b"vox/v2/dleq")
        .point(b"G", &Point::generator())
        .point(b"base", base)
        .point(b"public", public)
        .point(b"image", image)
        .point(b"T", &p.t1)
        .point(b"T", &p.t2);
}

fn constant_appends(r: &mut Rec, k: &Point, ct: &Ciphertext, value: u64, p: &DleqProof) {
    r.dom(b"vox/v2/constant")
        .point(b"K", k)
        .point(b"a", &ct.a)
        .point(b"b", &ct.b)
        .u64le(b"constant", value);
    let d = ct.b - Scalar::from_u64(value).mul_base();
    dleq_appends(r, k, &ct.a, &d, p);
}

fn zero_one_appends(r: &mut Rec, k: &Point, ct: &Ciphertext, p: &ZeroOneProof) {
    r.dom(b"vox/v2/zero-one")
        .point(b"K", k)
        .point(b"a", &ct.a)
        .point(b"b", &ct.b);
    for t in [&p.t0a, &p.t0b, &p.t1a, &p.t1b] {
        r.point(b"T", t);
    }
}

fn link_appends(r: &mut Rec, k: &Point, ct: &Ciphertext, c: &Point, p: &LinkProof) {
    r.dom(b"vox/v2/link")
        .point(b"K", k)
        .point(b"a", &ct.a)
        .point(b"b", &ct.b)
        .point(b"C", c);
    for t in [&p.ta, &p.tb, &p.tc] {
        r.point(b"T", t);
    }
}

fn range_appends(r: &mut Rec, n: u64, statements: &[RangeStatement]) {
    r.dom(b"vox/v2/range")
        .u64le(b"n", n)
        .u64le(b"m", statements.len() as u64);
    for st in statements {
        r.point(b"C", &st.commitment)
            .u64le(b"lo", st.lo)
            .u64le(b"hi", st.hi);
    }
}

/// The ballot proof context of 02-transcripts table 2.2, as a recorder.
fn ballot_context(mh: &Hash32, credential: &Point) -> Rec {
    let mut r = Rec::new();
    r.msg(b"purpose", b"ballot")
        .msg(b"manifest-hash", &mh.0)
        .msg(b"credential", credential.as_bytes());
    r
}

fn test_manifest_hash() -> Hash32 {
    Hash32(sha256(&[b"vox test vectors: a manifest hash"]))
}

// =======================================================================================
// §2 transcripts
// =======================================================================================

fn gen_transcripts() -> Value {
    let mh = test_manifest_hash();
    let mut cases = Vec::new();
    // Case 1: the bare context of new_transcript("ballot", mh).
    let mut r = Rec::new();
    r.msg(b"purpose", b"ballot").msg(b"manifest-hash", &mh.0);
    let ops = r.take();
    let mut bytes = [0u8; 64];
    r.t.challenge_bytes(b"c", &mut bytes);
    cases.push(json!({
        "name": "new_transcript(\"ballot\", manifest_hash)",
        "appends": ops,
        "challenge_label": "c",
        "challenge_bytes": hex::encode(bytes),
        "challenge_scalar": Scalar::from_dalek(curve25519_dalek::Scalar::from_bytes_mod_order_wide(&bytes)).to_hex(),
    }));
    // Case 2: a ballot option context with little-endian u64 appends and a domain separator.
    let mut r = ballot_context(&mh, &Scalar::from_u64(7).mul_base());
    r.u64le(b"question", 0)
        .u64le(b"option", 1)
        .dom(b"vox/v2/zero-one");
    let ops = r.take();
    let mut bytes = [0u8; 64];
    r.t.challenge_bytes(b"c", &mut bytes);
    cases.push(json!({
        "name": "ballot option context (credential 7·G, question 0, option 1) then the zero-one domain separator",
        "appends": ops,
        "challenge_label": "c",
        "challenge_bytes": hex::encode(bytes),
        "challenge_scalar": Scalar::from_dalek(curve25519_dalek::Scalar::from_bytes_mod_order_wide(&bytes)).to_hex(),
    }));
    // Cases 3–10: every other purpose of table 2.3 with its further context, from the
    // table alone (the slot after `purpose` is the manifest hash, the petition hash or
    // the enrolment context; here the same test hash).
    for (purpose, context) in purpose_contexts() {
        let mut r = Rec::new();
        r.msg(b"purpose", purpose.as_bytes())
            .msg(b"manifest-hash", &mh.0);
        for (label, v) in &context {
            r.u64le(label.as_bytes(), *v);
        }
        let ops = r.take();
        let mut bytes = [0u8; 64];
        r.t.challenge_bytes(b"c", &mut bytes);
        let ctx: Vec<String> = context.iter().map(|(l, v)| format!("{l}={v}")).collect();
        cases.push(json!({
            "name": format!("purpose {purpose:?}{}", if ctx.is_empty() { String::new() } else { format!(", {}", ctx.join(", ")) }),
            "purpose": purpose,
            "appends": ops,
            "challenge_label": "c",
            "challenge_bytes": hex::encode(bytes),
            "challenge_scalar": Scalar::from_dalek(curve25519_dalek::Scalar::from_bytes_mod_order_wide(&bytes)).to_hex(),
        }));
    }
    with(
        header(
            "merlin transcripts as vox uses them: Transcript::new(\"vox/v2\"), then each append \
             (label, value) with merlin's append_message, then challenge_bytes(\"c\", 64) reduced \
             modulo the group order (little-endian, 512-bit wide reduction).",
            "protocol-spec/02-transcripts.md §2.1–§2.3",
            None,
        ),
        json!({ "protocol_label": "vox/v2", "cases": cases }),
    )
}

/// Table 2.3's purposes other than `ballot`, each with its further context
/// (label, u64 appended little-endian), as the table states them.
fn purpose_contexts() -> Vec<(&'static str, Vec<(&'static str, u64)>)> {
    vec![
        ("ballot-signature", vec![]),
        ("petition-proposal", vec![]),
        ("petition-signature", vec![]),
        ("petition-ring-signature", vec![]),
        ("enrolment-request", vec![]),
        ("trustee-key", vec![("trustee", 2)]),
        ("ceremony", vec![("trustee", 2), ("coefficient", 1)]),
        ("trustee-message", vec![]),
        ("decryption", vec![("trustee", 3), ("position", 5)]),
    ]
}

fn verify_transcripts(v: &Value) {
    assert_eq!(s(&v["protocol_label"]), "vox/v2");
    for case in arr(&v["cases"]) {
        let mut t = replay(&[&case["appends"]]);
        let mut bytes = [0u8; 64];
        t.challenge_bytes(leak(s(&case["challenge_label"])), &mut bytes);
        assert_eq!(hex::encode(bytes), s(&case["challenge_bytes"]));
        let c = Scalar::from_dalek(curve25519_dalek::Scalar::from_bytes_mod_order_wide(&bytes));
        assert_eq!(c, sc(&case["challenge_scalar"]));
    }
    // The code's own transcript constructor gives the same state as case 1.
    let case = &arr(&v["cases"])[0];
    let mh = Hash32(
        unhex(&arr(&case["appends"])[1]["value"])
            .try_into()
            .unwrap(),
    );
    let mut t = new_transcript(b"ballot", &mh);
    assert_eq!(challenge(&mut t), sc(&case["challenge_scalar"]));
    // Every purpose of table 2.3, rebuilt with the code's own constants and appends,
    // gives the case's challenge: the table names the code's purposes and labels.
    use vox_crypto::transcript::{labels, TranscriptProtocol};
    type Context = &'static [(&'static [u8], u64)];
    let purposes: [(&'static [u8], Context); 9] = [
        (vox_protocol::ballot::context_labels::BALLOT_SIGNATURE, &[]),
        (vox_protocol::petition::PROPOSAL_PURPOSE, &[]),
        (vox_protocol::petition::SIGNATURE_PURPOSE, &[]),
        (vox_protocol::petition::RING_SIGNATURE_PURPOSE, &[]),
        (vox_protocol::electorate::ENROLMENT_PURPOSE, &[]),
        (labels::PURPOSE_TRUSTEE_KEY, &[(labels::TRUSTEE, 2)]),
        (
            labels::PURPOSE_CEREMONY,
            &[(labels::TRUSTEE, 2), (labels::COEFFICIENT, 1)],
        ),
        (vox_protocol::ceremony::TRUSTEE_MESSAGE_PURPOSE, &[]),
        (
            labels::PURPOSE_DECRYPTION,
            &[(labels::TRUSTEE, 3), (labels::POSITION, 5)],
        ),
    ];
    let cases: Vec<&Value> = arr(&v["cases"])
        .iter()
        .filter(|c| c.get("purpose").is_some())
        .collect();
    assert_eq!(
        cases.len(),
        purposes.len(),
        "one case per purpose of table 2.3"
    );
    for (case, (purpose, context)) in cases.iter().zip(purposes) {
        assert_eq!(s(&case["purpose"]).as_bytes(), purpose);
        let mut t = new_transcript(purpose, &mh);
        for (label, x) in context {
            t.append_u64_le(label, *x);
        }
        assert_eq!(
            challenge(&mut t),
            sc(&case["challenge_scalar"]),
            "{}",
            s(&case["name"])
        );
    }
}

#[test]
fn transcripts() {
    check("transcripts.json", gen_transcripts, verify_transcripts);
}

// =======================================================================================
// §1.3–1.4 group elements and generators
// =======================================================================================

/// ℓ, the group order, little-endian.
const ELL_LE: &str = "edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010";

fn gen_group() -> Value {
    let multiples: Vec<Value> = (0u64..16)
        .map(|i| json!({"k": i, "encoding": Scalar::from_u64(i).mul_base().to_hex()}))
        .collect();
    let label = b"vox/v2/pedersen-H";
    let wide: [u8; 64] = Sha512::digest(label).into();
    let h = pedersen_h();
    let ell_minus_1 = Scalar::ZERO - Scalar::ONE;
    with(
        header(
            "Ristretto255 canonical encodings of k·G for k = 0..15 (k = 0 is the identity), the \
             Pedersen generator H derived from its label, and encodings a decoder must reject.",
            "protocol-spec/01-encodings.md §1.3–§1.4",
            None,
        ),
        json!({
            "multiples_of_G": multiples,
            "pedersen_h": {
                "label": std::str::from_utf8(label).unwrap(),
                "sha512_of_label": hex::encode(wide),
                "point": h.to_hex(),
            },
            "scalars": {
                "group_order_le": ELL_LE,
                "valid": [Scalar::ZERO.to_hex(), Scalar::ONE.to_hex(), ell_minus_1.to_hex()],
                "invalid_non_canonical": [
                    ELL_LE,
                    "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
                ],
            },
            "invalid_points": [
                {"encoding": "0100000000000000000000000000000000000000000000000000000000000000", "why": "s is odd (negative)"},
                {"encoding": "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", "why": "s = p is not a canonical field element"},
                {"encoding": "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", "why": "s ≥ p"},
                {"encoding": "00", "why": "not 32 bytes"},
            ],
            "identity": Point::identity().to_hex(),
        }),
    )
}

fn verify_group(v: &Value) {
    for m in arr(&v["multiples_of_G"]) {
        let p = pt(&m["encoding"]);
        assert_eq!(p, Scalar::from_u64(u(&m["k"])).mul_base());
        assert_eq!(p.to_hex(), s(&m["encoding"]));
    }
    let identity = pt(&v["identity"]);
    assert!(identity.is_identity());
    assert!(Point::try_from_bytes_nonidentity(identity.as_bytes(), "test").is_err());
    let h = &v["pedersen_h"];
    let wide: [u8; 64] = Sha512::digest(s(&h["label"]).as_bytes()).into();
    assert_eq!(hex::encode(wide), s(&h["sha512_of_label"]));
    let from_uniform =
        Point::from_point(curve25519_dalek::ristretto::RistrettoPoint::from_uniform_bytes(&wide));
    assert_eq!(from_uniform, pt(&h["point"]));
    assert_eq!(hash_to_point(s(&h["label"]).as_bytes()), pt(&h["point"]));
    assert_eq!(*pedersen_h(), pt(&h["point"]));
    for bad in arr(&v["invalid_points"]) {
        assert!(
            Point::try_from_bytes(&unhex(&bad["encoding"])).is_err(),
            "accepted {bad}"
        );
    }
    for ok in arr(&v["scalars"]["valid"]) {
        assert_eq!(Scalar::from_hex(s(ok)).unwrap().to_hex(), s(ok));
    }
    for bad in arr(&v["scalars"]["invalid_non_canonical"]) {
        assert!(Scalar::from_hex(s(bad)).is_err(), "accepted scalar {bad}");
    }
    // ℓ − 1 + 1 = 0.
    let ell_minus_1 = sc(&arr(&v["scalars"]["valid"])[2]);
    assert_eq!(ell_minus_1 + Scalar::ONE, Scalar::ZERO);
}

#[test]
fn group() {
    check("group.json", gen_group, verify_group);
}

// =======================================================================================
// §3 proofs
// =======================================================================================

#[allow(clippy::too_many_arguments)]
fn schnorr_case(
    name: &str,
    spec: &str,
    x: &Scalar,
    context: Rec,
    signature_dom: bool,
    msg: &[u8],
    rng: &mut ChaCha20Rng,
    prove: impl FnOnce(&mut Transcript, &mut ChaCha20Rng) -> SchnorrProof,
) -> (Value, SchnorrProof) {
    let mut rec = context;
    let ctx_ops = rec.take();
    let public = x.mul_base();
    let w = Scalar::random(&mut rng.clone());
    let mut code_t = rec.t.clone();
    let proof = prove(&mut code_t, rng);
    if signature_dom {
        rec.dom(b"vox/v2/signature");
    }
    schnorr_appends(&mut rec, &public, msg, &proof.t);
    let appends = rec.take();
    let c = rec.challenge();
    assert_eq!(proof.t, w.mul_base());
    assert_eq!(proof.z, w + c * *x);
    let case = json!({
        "name": name,
        "used_in": spec,
        "statement": {"public": public.to_hex(), "message": hex::encode(msg)},
        "witness": {"x": x.to_hex()},
        "prover_nonces": {"w": w.to_hex()},
        "transcript_context": ctx_ops,
        "transcript_appends": appends,
        "challenge": c.to_hex(),
        "proof": to_json(&proof),
        "proof_canonical": hex::encode([proof.t.to_bytes(), proof.z.to_bytes()].concat()),
    });
    (case, proof)
}

fn gen_schnorr() -> Value {
    let mut rng = rng(3);
    let mh = test_manifest_hash();
    // Case 1: a trustee's proof of possession of its communication key (06-ceremony §6.2).
    let keys = TrusteeKeys::generate(&mut rng);
    // The communication secret e: the second half of the key file (06 §6.2).
    let x = Scalar::try_from_bytes(&keys.secret_bytes()[32..]).unwrap();
    let mut ctx = Rec::new();
    ctx.msg(b"purpose", b"trustee-key")
        .msg(b"manifest-hash", &mh.0)
        .u64le(b"trustee", 1);
    let (pop, _) = schnorr_case(
        "proof of possession of a trustee communication key (trustee 1)",
        "protocol-spec/06-ceremony.md §6.2",
        &x,
        ctx,
        false,
        b"",
        &mut rng,
        |t, rng| SchnorrProof::prove(t, &x, &x.mul_base(), b"", rng),
    );
    // Case 2: a credential signature (04-ballots §4.1) over a 32-byte ballot body hash.
    let cred = Credential::generate(&mut rng);
    let x = credential_secret(cred.text());
    let body = sha256(&[b"an example ballot body"]);
    let mut ctx = Rec::new();
    ctx.msg(b"purpose", b"ballot-signature")
        .msg(b"manifest-hash", &mh.0);
    let (sig, proof) = schnorr_case(
        "credential signature over a ballot body hash",
        "protocol-spec/04-ballots.md §4.1, §4.4",
        &x,
        ctx,
        true,
        &body,
        &mut rng,
        |t, rng| cred.sign(t, &body, rng).0,
    );
    // The credential API produces the same kind of signature.
    let mut t = new_transcript(b"ballot-signature", &mh);
    CredentialSignature(proof)
        .verify(&mut t, &cred.public_key(), &body)
        .unwrap();
    let mut sig = sig;
    sig["credential_text"] = json!(cred.text());
    with(
        header(
            "Schnorr proofs of knowledge (T, z): z·G = T + c·X. transcript_context is appended \
             to Transcript::new(\"vox/v2\") by the caller, transcript_appends by the proof; the \
             challenge is drawn under label \"c\" right after them.",
            "protocol-spec/03-proofs.md §3.2",
            Some(3),
        ),
        json!({"manifest_hash": mh.to_hex(), "cases": [pop, sig]}),
    )
}

fn verify_schnorr(v: &Value) {
    let mh = h32(&v["manifest_hash"]);
    for case in arr(&v["cases"]) {
        let x_pub = pt(&case["statement"]["public"]);
        let msg = unhex(&case["statement"]["message"]);
        let proof: SchnorrProof = parse(&case["proof"]);
        // Spec replica: the listed appends give the challenge, which satisfies the equation.
        let c = challenge(&mut replay(&[
            &case["transcript_context"],
            &case["transcript_appends"],
        ]));
        assert_eq!(c, sc(&case["challenge"]));
        assert_eq!(proof.z.mul_base(), proof.t + c.mul_point(&x_pub));
        // Witness and nonce reproduce the proof.
        let x = sc(&case["witness"]["x"]);
        let w = sc(&case["prover_nonces"]["w"]);
        assert_eq!(x.mul_base(), x_pub);
        assert_eq!(w.mul_base(), proof.t);
        assert_eq!(w + c * x, proof.z);
        assert_eq!(
            hex::encode([proof.t.to_bytes(), proof.z.to_bytes()].concat()),
            s(&case["proof_canonical"])
        );
        // The code verifies it in the listed context.
        let mut t = replay(&[&case["transcript_context"]]);
        if case.get("credential_text").is_some() {
            let pk = Credential::from_text(s(&case["credential_text"]))
                .unwrap()
                .public_key();
            assert_eq!(*pk.point(), x_pub);
            let mut t2 = new_transcript(b"ballot-signature", &mh);
            CredentialSignature(proof)
                .verify(&mut t2, &pk, &msg)
                .unwrap();
            CredentialSignature(proof)
                .verify(&mut t, &pk, &msg)
                .unwrap();
        } else {
            proof.verify(&mut t, &x_pub, &msg).unwrap();
            let announcement = vox_crypto::threshold::TrusteePublicKey {
                trustee: TrusteeIndex::new(1).unwrap(),
                communication_key: x_pub,
                proof,
            };
            announcement.verify(&mh).unwrap();
        }
    }
}

#[test]
fn schnorr() {
    check("schnorr.json", gen_schnorr, verify_schnorr);
}

fn gen_dleq() -> Value {
    let mut rng = rng(4);
    let mh = test_manifest_hash();
    let x = Scalar::random(&mut rng);
    let x_pub = x.mul_base();
    let a = Scalar::random(&mut rng).mul_base();
    let d = x.mul_point(&a);
    let mut rec = Rec::new();
    rec.msg(b"purpose", b"decryption")
        .msg(b"manifest-hash", &mh.0)
        .u64le(b"trustee", 2)
        .u64le(b"position", 0);
    let ctx_ops = rec.take();
    let mut t = rec.t.clone();
    let w = Scalar::random(&mut rng.clone());
    let proof = DleqProof::prove(&mut t, &x, &a, &x_pub, &d, &mut rng);
    dleq_appends(&mut rec, &a, &x_pub, &d, &proof);
    let appends = rec.take();
    let c = rec.challenge();
    assert_eq!(proof.z, w + c * x);
    with(
        header(
            "Chaum–Pedersen (DLEQ) proof that log_G X = log_A D, in the context of trustee 2's \
             decryption share of ciphertext position 0 (06-ceremony §6.8): T1 = w·G, T2 = w·A, \
             z = w + c·x; z·G = T1 + c·X and z·A = T2 + c·D.",
            "protocol-spec/03-proofs.md §3.3",
            Some(4),
        ),
        json!({
            "manifest_hash": mh.to_hex(),
            "trustee": 2,
            "position": 0,
            "statement": {"base_A": a.to_hex(), "public_X": x_pub.to_hex(), "image_D": d.to_hex()},
            "witness": {"x": x.to_hex()},
            "prover_nonces": {"w": w.to_hex()},
            "transcript_context": ctx_ops,
            "transcript_appends": appends,
            "challenge": c.to_hex(),
            "proof": to_json(&proof),
            "proof_canonical": hex::encode([proof.t1.to_bytes(), proof.t2.to_bytes(), proof.z.to_bytes()].concat()),
        }),
    )
}

fn verify_dleq(v: &Value) {
    let mh = h32(&v["manifest_hash"]);
    let st = &v["statement"];
    let (a, x_pub, d) = (pt(&st["base_A"]), pt(&st["public_X"]), pt(&st["image_D"]));
    let proof: DleqProof = parse(&v["proof"]);
    let c = challenge(&mut replay(&[
        &v["transcript_context"],
        &v["transcript_appends"],
    ]));
    assert_eq!(c, sc(&v["challenge"]));
    assert_eq!(proof.z.mul_base(), proof.t1 + c.mul_point(&x_pub));
    assert_eq!(proof.z.mul_point(&a), proof.t2 + c.mul_point(&d));
    let (x, w) = (sc(&v["witness"]["x"]), sc(&v["prover_nonces"]["w"]));
    assert_eq!(x.mul_point(&a), d);
    assert_eq!(w.mul_base(), proof.t1);
    assert_eq!(w.mul_point(&a), proof.t2);
    assert_eq!(
        hex::encode([proof.t1.to_bytes(), proof.t2.to_bytes(), proof.z.to_bytes()].concat()),
        s(&v["proof_canonical"])
    );
    let mut t = replay(&[&v["transcript_context"]]);
    proof.verify(&mut t, &a, &x_pub, &d).unwrap();
    // The same proof as trustee 2's decryption share of a one-ciphertext list.
    let share = DecryptionShare {
        trustee: TrusteeIndex::new(u(&v["trustee"]) as u32).unwrap(),
        shares: vec![d],
        proofs: vec![proof],
    };
    let ct = Ciphertext {
        a,
        b: Point::generator(),
    };
    share.verify(&mh, &x_pub, &[ct]).unwrap();
}

#[test]
fn dleq() {
    check("dleq.json", gen_dleq, verify_dleq);
}

/// A test-only election key K = x·G.
fn election_key(rng: &mut ChaCha20Rng) -> (Scalar, ElectionPublicKey) {
    let x = Scalar::random(rng);
    (x, ElectionPublicKey::new(x.mul_base()).unwrap())
}

fn gen_constant() -> Value {
    let mut rng = rng(5);
    let mh = test_manifest_hash();
    let (_, key) = election_key(&mut rng);
    let cred = Scalar::random(&mut rng).mul_base();
    let values = [0u64, 1, 0];
    let nonces: Vec<Scalar> = values.iter().map(|_| Scalar::random(&mut rng)).collect();
    let cts: Vec<Ciphertext> = values
        .iter()
        .zip(&nonces)
        .map(|(v, r)| Ciphertext::encrypt_with(&key, *v, r))
        .collect();
    let sum = Ciphertext::sum(&cts);
    let sum_r = nonces.iter().fold(Scalar::ZERO, |a, r| a + *r);
    let mut rec = ballot_context(&mh, &cred);
    rec.u64le(b"question", 0).msg(b"part", b"sum");
    let ctx_ops = rec.take();
    let mut t = rec.t.clone();
    let w = Scalar::random(&mut rng.clone());
    let proof = ConstantProof::prove(&mut t, &key, &sum, 1, &sum_r, &mut rng);
    constant_appends(&mut rec, key.point(), &sum, 1, &proof.0);
    let appends = rec.take();
    let c = rec.challenge();
    assert_eq!(proof.0.z, w + c * sum_r);
    with(
        header(
            "Proof that a ciphertext (A, B) encrypts the known constant L: a DLEQ proof that \
             log_G A = log_K (B − L·G) with witness R. Here (A, B) is the homomorphic sum of a \
             choose-one question's three option ciphertexts (04-ballots §4.4, part \"sum\") and \
             L = 1.",
            "protocol-spec/03-proofs.md §3.4",
            Some(5),
        ),
        json!({
            "manifest_hash": mh.to_hex(),
            "statement": {
                "election_key": key.point().to_hex(),
                "option_ciphertexts": to_json(&cts),
                "sum_ciphertext": to_json(&sum),
                "constant": 1,
                "credential": cred.to_hex(),
            },
            "witness": {"option_values": values, "option_nonces": to_json(&nonces), "R": sum_r.to_hex()},
            "prover_nonces": {"w": w.to_hex()},
            "transcript_context": ctx_ops,
            "transcript_appends": appends,
            "challenge": c.to_hex(),
            "proof": to_json(&proof),
            "proof_canonical": hex::encode([proof.0.t1.to_bytes(), proof.0.t2.to_bytes(), proof.0.z.to_bytes()].concat()),
        }),
    )
}

fn verify_constant(v: &Value) {
    let st = &v["statement"];
    let key = ElectionPublicKey::new(pt(&st["election_key"])).unwrap();
    let cts: Vec<Ciphertext> = parse(&st["option_ciphertexts"]);
    let sum: Ciphertext = parse(&st["sum_ciphertext"]);
    assert_eq!(Ciphertext::sum(&cts), sum);
    let l = u(&st["constant"]);
    let proof: ConstantProof = parse(&v["proof"]);
    let c = challenge(&mut replay(&[
        &v["transcript_context"],
        &v["transcript_appends"],
    ]));
    assert_eq!(c, sc(&v["challenge"]));
    let d = sum.b - Scalar::from_u64(l).mul_base();
    assert_eq!(proof.0.z.mul_base(), proof.0.t1 + c.mul_point(&sum.a));
    assert_eq!(
        proof.0.z.mul_point(key.point()),
        proof.0.t2 + c.mul_point(&d)
    );
    let r = sc(&v["witness"]["R"]);
    let values: Vec<u64> = parse(&v["witness"]["option_values"]);
    let nonces: Vec<Scalar> = parse(&v["witness"]["option_nonces"]);
    for ((ct, m), n) in cts.iter().zip(&values).zip(&nonces) {
        ct.check_opening(&key, *m, n).unwrap();
    }
    assert_eq!(sum.a, r.mul_base());
    let w = sc(&v["prover_nonces"]["w"]);
    assert_eq!(w + c * r, proof.0.z);
    let mut t = replay(&[&v["transcript_context"]]);
    proof.verify(&mut t, &key, &sum, l).unwrap();
}

#[test]
fn constant() {
    check("constant.json", gen_constant, verify_constant);
}

fn gen_zero_one() -> Value {
    let mut rng = rng(6);
    let mh = test_manifest_hash();
    let (_, key) = election_key(&mut rng);
    let cred = Scalar::random(&mut rng).mul_base();
    let mut cases = Vec::new();
    for (option, m) in [(0usize, 0u64), (1, 1)] {
        let r = Scalar::random(&mut rng);
        let ct = Ciphertext::encrypt_with(&key, m, &r);
        let mut rec = ballot_context(&mh, &cred);
        rec.u64le(b"question", 0).u64le(b"option", option as u64);
        let ctx_ops = rec.take();
        let mut t = rec.t.clone();
        let mut peek = rng.clone();
        let (cj, zj, w) = (
            Scalar::random(&mut peek),
            Scalar::random(&mut peek),
            Scalar::random(&mut peek),
        );
        let proof = ZeroOneProof::prove(&mut t, &key, &ct, m, &r, &mut rng).unwrap();
        zero_one_appends(&mut rec, key.point(), &ct, &proof);
        let appends = rec.take();
        let c = rec.challenge();
        assert_eq!(proof.c0 + proof.c1, c);
        cases.push(json!({
            "name": format!("encryption of {m} (question 0, option {option})"),
            "option": option,
            "statement": {"election_key": key.point().to_hex(), "ciphertext": to_json(&ct), "credential": cred.to_hex()},
            "witness": {"m": m, "r": r.to_hex()},
            "prover_nonces": {"simulated_challenge": cj.to_hex(), "simulated_response": zj.to_hex(), "w": w.to_hex()},
            "transcript_context": ctx_ops,
            "transcript_appends": appends,
            "challenge": c.to_hex(),
            "proof": to_json(&proof),
            "proof_canonical": hex::encode(proof.canonical_bytes()),
        }));
    }
    with(
        header(
            "Disjunctive Chaum–Pedersen (CDS) proofs that a ciphertext encrypts 0 or 1, in a \
             ballot option context (04-ballots §4.4). c0 + c1 = c; for j in {0, 1}: \
             zj·G = Tja + cj·a and zj·K = Tjb + cj·(b − j·G). The simulated branch is 1 − m.",
            "protocol-spec/03-proofs.md §3.5",
            Some(6),
        ),
        json!({"manifest_hash": mh.to_hex(), "cases": cases}),
    )
}

fn verify_zero_one(v: &Value) {
    for case in arr(&v["cases"]) {
        let st = &case["statement"];
        let key = ElectionPublicKey::new(pt(&st["election_key"])).unwrap();
        let k = *key.point();
        let ct: Ciphertext = parse(&st["ciphertext"]);
        let p: ZeroOneProof = parse(&case["proof"]);
        let c = challenge(&mut replay(&[
            &case["transcript_context"],
            &case["transcript_appends"],
        ]));
        assert_eq!(c, sc(&case["challenge"]));
        assert_eq!(p.c0 + p.c1, c);
        let g = Point::generator();
        assert_eq!(p.z0.mul_base(), p.t0a + p.c0.mul_point(&ct.a));
        assert_eq!(p.z0.mul_point(&k), p.t0b + p.c0.mul_point(&ct.b));
        assert_eq!(p.z1.mul_base(), p.t1a + p.c1.mul_point(&ct.a));
        assert_eq!(p.z1.mul_point(&k), p.t1b + p.c1.mul_point(&(ct.b - g)));
        // Prover side: the real branch m uses w, the simulated branch 1 − m uses (cj, zj).
        let m = u(&case["witness"]["m"]);
        let r = sc(&case["witness"]["r"]);
        ct.check_opening(&key, m, &r).unwrap();
        let n = &case["prover_nonces"];
        let (cj, zj, w) = (
            sc(&n["simulated_challenge"]),
            sc(&n["simulated_response"]),
            sc(&n["w"]),
        );
        let (cm, zm, cjj, zjj) = if m == 0 {
            (p.c0, p.z0, p.c1, p.z1)
        } else {
            (p.c1, p.z1, p.c0, p.z0)
        };
        assert_eq!((cjj, zjj), (cj, zj));
        assert_eq!(cm, c - cj);
        assert_eq!(zm, w + cm * r);
        assert_eq!(
            hex::encode(p.canonical_bytes()),
            s(&case["proof_canonical"])
        );
        let mut t = replay(&[&case["transcript_context"]]);
        p.verify(&mut t, &key, &ct).unwrap();
    }
}

#[test]
fn zero_one() {
    check("zero-one.json", gen_zero_one, verify_zero_one);
}

fn gen_link() -> Value {
    let mut rng = rng(7);
    let mh = test_manifest_hash();
    let (_, key) = election_key(&mut rng);
    let cred = Scalar::random(&mut rng).mul_base();
    let m = 3u64;
    let r = Scalar::random(&mut rng);
    let s_blind = Scalar::random(&mut rng);
    let ct = Ciphertext::encrypt_with(&key, m, &r);
    let commitment = pedersen_commit(&Scalar::from_u64(m), &s_blind);
    let mut rec = ballot_context(&mh, &cred);
    rec.u64le(b"question", 0)
        .u64le(b"option", 0)
        .msg(b"part", b"score");
    let ctx_ops = rec.take();
    let mut t = rec.t.clone();
    let mut peek = rng.clone();
    let (wm, wr, ws) = (
        Scalar::random(&mut peek),
        Scalar::random(&mut peek),
        Scalar::random(&mut peek),
    );
    let proof = LinkProof::prove(&mut t, &key, &ct, &commitment, m, &r, &s_blind, &mut rng);
    link_appends(&mut rec, key.point(), &ct, &commitment, &proof);
    let appends = rec.take();
    let c = rec.challenge();
    with(
        header(
            "Proof that an ElGamal ciphertext (a, b) = (r·G, m·G + r·K) and a Pedersen \
             commitment C = m·G + s·H hold the same m, in a score option context \
             (04-ballots §4.4, part \"score\"): z_r·G = T_a + c·a; z_m·G + z_r·K = T_b + c·b; \
             z_m·G + z_s·H = T_C + c·C.",
            "protocol-spec/03-proofs.md §3.6",
            Some(7),
        ),
        json!({
            "manifest_hash": mh.to_hex(),
            "statement": {
                "election_key": key.point().to_hex(),
                "ciphertext": to_json(&ct),
                "commitment": commitment.to_hex(),
                "credential": cred.to_hex(),
                "pedersen_h": pedersen_h().to_hex(),
            },
            "witness": {"m": m, "r": r.to_hex(), "s": s_blind.to_hex()},
            "prover_nonces": {"w_m": wm.to_hex(), "w_r": wr.to_hex(), "w_s": ws.to_hex()},
            "transcript_context": ctx_ops,
            "transcript_appends": appends,
            "challenge": c.to_hex(),
            "proof": to_json(&proof),
            "proof_canonical": hex::encode([proof.ta.to_bytes(), proof.tb.to_bytes(), proof.tc.to_bytes(), proof.zm.to_bytes(), proof.zr.to_bytes(), proof.zs.to_bytes()].concat()),
        }),
    )
}

fn verify_link(v: &Value) {
    let st = &v["statement"];
    let key = ElectionPublicKey::new(pt(&st["election_key"])).unwrap();
    let k = *key.point();
    let ct: Ciphertext = parse(&st["ciphertext"]);
    let cc = pt(&st["commitment"]);
    let h = pt(&st["pedersen_h"]);
    assert_eq!(h, *pedersen_h());
    let p: LinkProof = parse(&v["proof"]);
    let c = challenge(&mut replay(&[
        &v["transcript_context"],
        &v["transcript_appends"],
    ]));
    assert_eq!(c, sc(&v["challenge"]));
    assert_eq!(p.zr.mul_base(), p.ta + c.mul_point(&ct.a));
    assert_eq!(
        p.zm.mul_base() + p.zr.mul_point(&k),
        p.tb + c.mul_point(&ct.b)
    );
    assert_eq!(
        p.zm.mul_base() + p.zs.mul_point(&h),
        p.tc + c.mul_point(&cc)
    );
    let w = &v["witness"];
    let (m, r, sb) = (u(&w["m"]), sc(&w["r"]), sc(&w["s"]));
    ct.check_opening(&key, m, &r).unwrap();
    assert_eq!(Scalar::from_u64(m).mul_base() + sb.mul_point(&h), cc);
    let n = &v["prover_nonces"];
    let (wm, wr, ws) = (sc(&n["w_m"]), sc(&n["w_r"]), sc(&n["w_s"]));
    assert_eq!(p.ta, wr.mul_base());
    assert_eq!(p.tb, wm.mul_base() + wr.mul_point(&k));
    assert_eq!(p.tc, wm.mul_base() + ws.mul_point(&h));
    assert_eq!(p.zm, wm + c * Scalar::from_u64(m));
    assert_eq!(p.zr, wr + c * r);
    assert_eq!(p.zs, ws + c * sb);
    let mut t = replay(&[&v["transcript_context"]]);
    p.verify(&mut t, &key, &ct, &cc).unwrap();
}

#[test]
fn link() {
    check("link.json", gen_link, verify_link);
}

// ---- Bulletproofs from the spec alone (03-proofs §3.7, appendix B) ------------------
//
// Written from protocol-spec/B-bulletproofs.md, not from the bulletproofs crate: SHAKE256
// on the Keccak replica of appendix A, the generator chains, the transcript continuation
// and both verification equations, with curve25519-dalek only for the group arithmetic.

type DPoint = curve25519_dalek::RistrettoPoint;
type DScalar = curve25519_dalek::Scalar;

/// SHAKE256 (FIPS 202: rate 136 bytes, suffix bits 1111 = 0x1F, final bit 0x80) on the
/// Keccak-f[1600] replica (A §A.1).
struct Shake256Replica {
    st: [u8; 200],
    pos: usize,
}

impl Shake256Replica {
    const RATE: usize = 136;

    fn new(input: &[&[u8]]) -> Self {
        let mut x = Shake256Replica {
            st: [0u8; 200],
            pos: 0,
        };
        for part in input {
            for b in *part {
                x.st[x.pos] ^= b;
                x.pos += 1;
                if x.pos == Self::RATE {
                    keccak_f1600_replica(&mut x.st);
                    x.pos = 0;
                }
            }
        }
        x.st[x.pos] ^= 0x1f;
        x.st[Self::RATE - 1] ^= 0x80;
        keccak_f1600_replica(&mut x.st);
        x.pos = 0;
        x
    }

    fn read(&mut self, out: &mut [u8]) {
        for o in out.iter_mut() {
            if self.pos == Self::RATE {
                keccak_f1600_replica(&mut self.st);
                self.pos = 0;
            }
            *o = self.st[self.pos];
            self.pos += 1;
        }
    }
}

/// The first `count` points of GeneratorsChain(letter ‖ u32le(party)) (B §B.1), and the
/// 64 SHAKE256 bytes the first one is mapped from.
fn bp_generators_replica(letter: u8, party: u32, count: usize) -> (Vec<DPoint>, [u8; 64]) {
    let mut label = vec![letter];
    label.extend_from_slice(&party.to_le_bytes());
    let mut xof = Shake256Replica::new(&[b"GeneratorsChain", &label]);
    let mut first = [0u8; 64];
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let mut block = [0u8; 64];
        xof.read(&mut block);
        if i == 0 {
            first = block;
        }
        out.push(DPoint::from_uniform_bytes(&block));
    }
    (out, first)
}

/// G_vec and H_vec of a proof over `m` values of `n` bits: the first n points of each
/// party's chains, party 0 first (B §B.1).
fn bp_vector_generators(n: usize, m: usize) -> (Vec<DPoint>, Vec<DPoint>) {
    let (mut g, mut h) = (Vec::new(), Vec::new());
    for j in 0..m {
        let j32 = u32::try_from(j).unwrap();
        g.extend(bp_generators_replica(b'G', j32, n).0);
        h.extend(bp_generators_replica(b'H', j32, n).0);
    }
    (g, h)
}

/// A range proof's encoding split into its fields (03 §3.7 item 5, B §B.2).
struct BpProof {
    a_pt: [u8; 32],
    s_pt: [u8; 32],
    t1: [u8; 32],
    t2: [u8; 32],
    t_x: DScalar,
    t_x_blinding: DScalar,
    e_blinding: DScalar,
    l: Vec<[u8; 32]>,
    r: Vec<[u8; 32]>,
    a: DScalar,
    b: DScalar,
}

impl BpProof {
    fn parse(bytes: &[u8]) -> Self {
        assert!(bytes.len().is_multiple_of(32) && bytes.len() >= 9 * 32);
        let words = bytes.len() / 32;
        assert_eq!((words - 9) % 2, 0);
        let rounds = (words - 9) / 2;
        let word = |i: usize| -> [u8; 32] { bytes[32 * i..32 * i + 32].try_into().unwrap() };
        let scalar_at =
            |i: usize| Option::<DScalar>::from(DScalar::from_canonical_bytes(word(i))).unwrap();
        BpProof {
            a_pt: word(0),
            s_pt: word(1),
            t1: word(2),
            t2: word(3),
            t_x: scalar_at(4),
            t_x_blinding: scalar_at(5),
            e_blinding: scalar_at(6),
            l: (0..rounds).map(|k| word(7 + 2 * k)).collect(),
            r: (0..rounds).map(|k| word(8 + 2 * k)).collect(),
            a: scalar_at(7 + 2 * rounds),
            b: scalar_at(8 + 2 * rounds),
        }
    }
}

/// The merlin operations of the continuation, on merlin itself or on the appendix A
/// replica.
trait BpTranscript {
    fn append(&mut self, label: &'static [u8], value: &[u8]);
    fn challenge64(&mut self, label: &'static [u8]) -> [u8; 64];
}

impl BpTranscript for Transcript {
    fn append(&mut self, label: &'static [u8], value: &[u8]) {
        self.append_message(label, value);
    }
    fn challenge64(&mut self, label: &'static [u8]) -> [u8; 64] {
        let mut b = [0u8; 64];
        self.challenge_bytes(label, &mut b);
        b
    }
}

impl BpTranscript for MerlinReplica {
    fn append(&mut self, label: &'static [u8], value: &[u8]) {
        self.append_message(label, value);
    }
    fn challenge64(&mut self, label: &'static [u8]) -> [u8; 64] {
        self.challenge_bytes(label, 64).try_into().unwrap()
    }
}

/// The challenges of the continuation and the list of its operations.
struct BpChallenges {
    y: DScalar,
    z: DScalar,
    x: DScalar,
    w: DScalar,
    u: Vec<DScalar>,
    ops: Vec<Value>,
}

struct BpRec<'a, T: BpTranscript> {
    t: &'a mut T,
    ops: Vec<Value>,
}

impl<T: BpTranscript> BpRec<'_, T> {
    fn append(&mut self, label: &'static [u8], value: &[u8]) {
        self.t.append(label, value);
        self.ops.push(json!({
            "label": std::str::from_utf8(label).unwrap(),
            "value": hex::encode(value),
        }));
    }
    /// A point the verifier validates first: not the 32 zero bytes (B §B.2).
    fn append_nonzero(&mut self, label: &'static [u8], value: &[u8; 32]) {
        assert_ne!(
            value,
            &[0u8; 32],
            "{} is the identity",
            String::from_utf8_lossy(label)
        );
        self.append(label, value);
    }
    /// challenge_scalar: 64 bytes, little-endian, reduced mod ℓ (02 §2.3).
    fn challenge(&mut self, label: &'static [u8]) -> DScalar {
        let c = DScalar::from_bytes_mod_order_wide(&self.t.challenge64(label));
        self.ops.push(json!({
            "challenge": std::str::from_utf8(label).unwrap(),
            "scalar": hex::encode(c.as_bytes()),
        }));
        c
    }
}

/// The Bulletproofs continuation of a range transcript (02 §2.5, B §B.2): `t` holds the
/// context and vox's range appends; `v` are the M value commitments.
fn bp_continuation(
    t: &mut impl BpTranscript,
    n: usize,
    v: &[[u8; 32]],
    p: &BpProof,
) -> BpChallenges {
    let mut r = BpRec { t, ops: Vec::new() };
    let m = v.len();
    r.append(b"dom-sep", b"rangeproof v1");
    r.append(b"n", &(n as u64).to_le_bytes());
    r.append(b"m", &(m as u64).to_le_bytes());
    for vj in v {
        r.append(b"V", vj);
    }
    r.append_nonzero(b"A", &p.a_pt);
    r.append_nonzero(b"S", &p.s_pt);
    let y = r.challenge(b"y");
    let z = r.challenge(b"z");
    r.append_nonzero(b"T_1", &p.t1);
    r.append_nonzero(b"T_2", &p.t2);
    let x = r.challenge(b"x");
    r.append(b"t_x", p.t_x.as_bytes());
    r.append(b"t_x_blinding", p.t_x_blinding.as_bytes());
    r.append(b"e_blinding", p.e_blinding.as_bytes());
    let w = r.challenge(b"w");
    assert_eq!(n * m, 1 << p.l.len(), "log2(n·M) rounds");
    r.append(b"dom-sep", b"ipp v1");
    r.append(b"n", &((n * m) as u64).to_le_bytes());
    let mut u = Vec::new();
    for (lk, rk) in p.l.iter().zip(&p.r) {
        r.append_nonzero(b"L", lk);
        r.append_nonzero(b"R", rk);
        u.push(r.challenge(b"u"));
    }
    BpChallenges {
        y,
        z,
        x,
        w,
        u,
        ops: r.ops,
    }
}

/// x⁰, x¹, …, x^{count−1}.
fn bp_powers(x: DScalar, count: usize) -> Vec<DScalar> {
    let mut out = Vec::with_capacity(count);
    let mut acc = DScalar::ONE;
    for _ in 0..count {
        out.push(acc);
        acc *= x;
    }
    out
}

/// δ(y, z) = (z − z²)·Σ_{i<n·M} yⁱ − Σ_{j=1..M} z^{j+2}·Σ_{i<n} 2ⁱ (B §B.3).
fn bp_delta(n: usize, m: usize, y: DScalar, z: DScalar) -> DScalar {
    let sum_y: DScalar = bp_powers(y, n * m).into_iter().sum();
    let sum_2: DScalar = bp_powers(DScalar::from(2u64), n).into_iter().sum();
    let z_powers = bp_powers(z, m + 3);
    let sum_z: DScalar = (1..=m).map(|j| z_powers[j + 2]).sum();
    (z - z * z) * sum_y - sum_z * sum_2
}

/// s_i = Π_k u_k^{+1 if bit (r−1−k) of i is set, else −1} (B §B.3).
fn bp_s(u: &[DScalar], nm: usize) -> Vec<DScalar> {
    let rounds = u.len();
    (0..nm)
        .map(|i| {
            u.iter().enumerate().fold(DScalar::ONE, |acc, (k, uk)| {
                if (i >> (rounds - 1 - k)) & 1 == 1 {
                    acc * uk
                } else {
                    acc * uk.invert()
                }
            })
        })
        .collect()
}

fn bp_decompress(b: &[u8; 32]) -> DPoint {
    curve25519_dalek::ristretto::CompressedRistretto(*b)
        .decompress()
        .unwrap()
}

/// The two equations of B §B.3, each as a point that must be the identity:
/// (E1 = the t equation, E2 = the inner-product equation).
fn bp_equations(n: usize, v: &[[u8; 32]], p: &BpProof, ch: &BpChallenges) -> (DPoint, DPoint) {
    let m = v.len();
    let nm = n * m;
    let g = curve25519_dalek::constants::RISTRETTO_BASEPOINT_POINT;
    let h = *pedersen_h().as_point();
    let (gv, hv) = bp_vector_generators(n, m);
    let (y, z, x, w) = (ch.y, ch.z, ch.x, ch.w);
    let z_powers = bp_powers(z, m + 2);
    let delta = bp_delta(n, m, y, z);
    // E1 = Σ_j z^{j+2}·V_j + δ·G + x·T_1 + x²·T_2 − t_x·G − t_x_blinding·H
    let mut e1 = delta * g + x * bp_decompress(&p.t1) + (x * x) * bp_decompress(&p.t2)
        - p.t_x * g
        - p.t_x_blinding * h;
    for (j, vj) in v.iter().enumerate() {
        e1 += z_powers[j + 2] * bp_decompress(vj);
    }
    // E2 = A + x·S − e_blinding·H + w·(t_x − a·b)·G + Σ_i (−z − a·s_i)·G_i
    //      + Σ_i (z + y^{−i}·(z^{2+⌊i/n⌋}·2^{i mod n} − b/s_i))·H_i + Σ_k (u_k²·L_k + u_k^{−2}·R_k)
    let s = bp_s(&ch.u, nm);
    let y_inv_powers = bp_powers(y.invert(), nm);
    let two_powers = bp_powers(DScalar::from(2u64), n);
    let mut e2 = bp_decompress(&p.a_pt) + x * bp_decompress(&p.s_pt) - p.e_blinding * h
        + (w * (p.t_x - p.a * p.b)) * g;
    for i in 0..nm {
        e2 += (-z - p.a * s[i]) * gv[i];
        let d_i = z_powers[2 + i / n] * two_powers[i % n];
        e2 += (z + y_inv_powers[i] * (d_i - p.b * s[i].invert())) * hv[i];
    }
    for (k, uk) in ch.u.iter().enumerate() {
        let uk2 = uk * uk;
        e2 += uk2 * bp_decompress(&p.l[k]) + uk2.invert() * bp_decompress(&p.r[k]);
    }
    (e1, e2)
}

fn dhex(p: &DPoint) -> String {
    hex::encode(p.compress().as_bytes())
}
fn shex(x: &DScalar) -> String {
    hex::encode(x.as_bytes())
}

/// The bulletproofs crate's own G_vec of party j (its H_vec is not public).
fn crate_g(j: usize, n: usize) -> Vec<DPoint> {
    vox_crypto::generators::bulletproof_gens()
        .share(j)
        .G(n)
        .copied()
        .collect()
}

fn gen_range() -> Value {
    let mut rng = rng(8);
    let mh = test_manifest_hash();
    let cred = Scalar::random(&mut rng).mul_base();
    // A score option 0..=5 holding 3, and an approval sum 1..=2 holding 2.
    let openings: Vec<(u64, Scalar)> =
        vec![(3, Scalar::random(&mut rng)), (2, Scalar::random(&mut rng))];
    let bounds = [(0u64, 5u64), (1, 2)];
    let statements: Vec<RangeStatement> = openings
        .iter()
        .zip(bounds)
        .map(|((m, sb), (lo, hi))| RangeStatement {
            commitment: pedersen_commit(&Scalar::from_u64(*m), sb),
            lo,
            hi,
        })
        .collect();
    let mut rec = ballot_context(&mh, &cred);
    rec.msg(b"part", b"range");
    let ctx_ops = rec.take();
    let mut t = rec.t.clone();
    let proof = RangeProof::prove(&mut t, &statements, &openings, &mut rng).unwrap();
    range_appends(&mut rec, 8, &statements);
    let appends = rec.take();
    // The commitments the Bulletproof is over, derived by the verifier (§3.7).
    let mut derived = Vec::new();
    for st in &statements {
        derived.push((st.commitment - Scalar::from_u64(st.lo).mul_base()).to_hex());
        derived.push((Scalar::from_u64(st.hi).mul_base() - st.commitment).to_hex());
    }
    while derived.len() < 4 {
        derived.push(pedersen_h().to_hex());
    }
    // The Bulletproofs continuation (B §B.2) on merlin, after vox's appends. The prover's
    // transcript absorbed exactly the same: both give the same next challenge bytes.
    let parts = BpProof::parse(&proof.to_bytes());
    let v_bytes: Vec<[u8; 32]> = derived
        .iter()
        .map(|d| hex::decode(d).unwrap().try_into().unwrap())
        .collect();
    let mut t_bp = rec.t.clone();
    let ch = bp_continuation(&mut t_bp, 8, &v_bytes, &parts);
    assert_eq!(t.challenge64(b"check"), t_bp.challenge64(b"check"));
    let (e1, e2) = bp_equations(8, &v_bytes, &parts, &ch);
    {
        use curve25519_dalek::traits::Identity;
        assert!(e1 == DPoint::identity() && e2 == DPoint::identity());
    }
    // G_vec from the crate itself; its H_vec is private, so from the chain of B §B.1 (the
    // equations above only hold with the crate's H_vec).
    let party_gens = |j: usize| {
        let g = crate_g(j, 2);
        let (h, _) = bp_generators_replica(b'H', u32::try_from(j).unwrap(), 2);
        json!({
            "G": g.iter().map(dhex).collect::<Vec<_>>(),
            "H": h.iter().map(dhex).collect::<Vec<_>>(),
        })
    };
    let (_, uniform_g_0_0) = bp_generators_replica(b'G', 0, 1);
    let mut chain_input_g_0 = b"GeneratorsChain".to_vec();
    chain_input_g_0.extend_from_slice(b"G\0\0\0\0");
    let generators = json!({
        "note": "Bulletproofs vector generators (protocol-spec/B-bulletproofs.md §B.1): \
                 party_j.G[i] is point i of GeneratorsChain(\"G\" ‖ u32le(j)), i.e. the \
                 i-th 64-byte block of SHAKE256(\"GeneratorsChain\" ‖ \"G\" ‖ u32le(j)) \
                 mapped by RistrettoPoint::from_uniform_bytes; likewise H. last_used is the \
                 last point of G_vec/H_vec for this proof (party M−1, index n−1).",
        "shake256_input_G_party_0": hex::encode(&chain_input_g_0),
        "uniform_bytes_G_party_0_index_0": hex::encode(uniform_g_0_0),
        "party_0": party_gens(0),
        "party_1": party_gens(1),
        "last_used": {
            "party": 3,
            "index": 7,
            "G": dhex(&crate_g(3, 8)[7]),
            "H": dhex(&bp_generators_replica(b'H', 3, 8).0[7]),
        },
    });
    let challenges = json!({
        "note": "The Bulletproofs challenges of this proof (B §B.2) and δ(y, z) (B §B.3); \
                 u lists the inner-product rounds' challenges in round order. \
                 bulletproof_transcript lists every append ({label, value}) and challenge \
                 ({challenge, scalar}) after transcript_appends; bulletproof_ipp_s is the \
                 vector s of B §B.3.",
        "y": shex(&ch.y),
        "z": shex(&ch.z),
        "x": shex(&ch.x),
        "w": shex(&ch.w),
        "u": ch.u.iter().map(shex).collect::<Vec<_>>(),
        "delta": shex(&bp_delta(8, 4, ch.y, ch.z)),
    });
    with(
        header(
            "One aggregated Bulletproofs range proof (bulletproofs 5.0 RangeProof, \
             PedersenGens {B: G, B_blinding: H}, BulletproofGens(64, 64)) for two statements: \
             a score commitment in 0..=5 and an approval-sum commitment in 1..=2. The verifier \
             derives the value commitments [C − lo·G, hi·G − C] per statement, padded with H to \
             a power of two; n = 8 bits. transcript_appends are vox's; the Bulletproofs protocol \
             then appends its own (dom-sep \"rangeproof v1\", n, m, V…, A, S, y, z, T_1, T_2, x, \
             t_x, t_x_blinding, e_blinding, w, \"ipp v1\", L/R/u…).",
            "protocol-spec/03-proofs.md §3.7",
            Some(8),
        ),
        json!({
            "manifest_hash": mh.to_hex(),
            "credential": cred.to_hex(),
            "statements": statements.iter().map(|st| json!({"commitment": st.commitment.to_hex(), "lo": st.lo, "hi": st.hi})).collect::<Vec<_>>(),
            "openings": openings.iter().map(|(m, sb)| json!({"m": m, "s": sb.to_hex()})).collect::<Vec<_>>(),
            "bits_n": 8,
            "aggregated_values_m": 4,
            "bulletproof_value_commitments": derived,
            "transcript_context": ctx_ops,
            "transcript_appends": appends,
            "proof": hex::encode(proof.to_bytes()),
            "proof_length_bytes": proof.to_bytes().len(),
            "bulletproof_generators": generators,
            "bulletproof_challenges": challenges,
            "bulletproof_transcript": ch.ops,
            "bulletproof_ipp_s": bp_s(&ch.u, 32).iter().map(shex).collect::<Vec<_>>(),
        }),
    )
}

fn verify_range(v: &Value) {
    let statements: Vec<RangeStatement> = arr(&v["statements"])
        .iter()
        .map(|st| RangeStatement {
            commitment: pt(&st["commitment"]),
            lo: u(&st["lo"]),
            hi: u(&st["hi"]),
        })
        .collect();
    let h = *pedersen_h();
    // Openings: C = m·G + s·H, and the derived commitments open to (m − lo, s), (hi − m, −s),
    // then (0, 1) for the padding.
    let derived: Vec<Point> = arr(&v["bulletproof_value_commitments"])
        .iter()
        .map(pt)
        .collect();
    assert_eq!(derived.len() as u64, u(&v["aggregated_values_m"]));
    let mut expected = Vec::new();
    for (st, o) in statements.iter().zip(arr(&v["openings"])) {
        let (m, sb) = (u(&o["m"]), sc(&o["s"]));
        assert!(st.lo <= m && m <= st.hi);
        assert_eq!(
            st.commitment,
            Scalar::from_u64(m).mul_base() + sb.mul_point(&h)
        );
        expected.push(Scalar::from_u64(m - st.lo).mul_base() + sb.mul_point(&h));
        expected.push(Scalar::from_u64(st.hi - m).mul_base() + (-sb).mul_point(&h));
    }
    while expected.len() < derived.len() {
        expected.push(Scalar::ZERO.mul_base() + Scalar::ONE.mul_point(&h));
    }
    assert_eq!(expected, derived);
    // The listed vox appends are what the code appends.
    let mut rec = Rec::new();
    range_appends(&mut rec, u(&v["bits_n"]), &statements);
    assert_eq!(rec.take(), v["transcript_appends"]);
    let proof = RangeProof::try_from_bytes(&unhex(&v["proof"])).unwrap();
    let mut t = replay(&[&v["transcript_context"]]);
    proof.verify(&mut t, &statements, &mut rng(0)).unwrap();
    verify_range_from_spec(v, &derived, &mut t);
    // A proof for other bounds does not verify.
    let mut other = statements.clone();
    other[0].hi = 2;
    let mut t = replay(&[&v["transcript_context"]]);
    assert!(proof.verify(&mut t, &other, &mut rng(0)).is_err());
}

/// B-bulletproofs.md, independently of the bulletproofs crate: the generators from SHAKE256
/// on the Keccak replica, the transcript continuation on the merlin replica of appendix A,
/// the challenges, δ and s, and both verification equations (and the batched one) with
/// curve25519-dalek arithmetic. `crate_t` is the crate's verifier transcript after it
/// accepted the proof.
fn verify_range_from_spec(v: &Value, derived: &[Point], crate_t: &mut Transcript) {
    use curve25519_dalek::traits::Identity;
    let n = usize::try_from(u(&v["bits_n"])).unwrap();
    let m = derived.len();
    let nm = n * m;
    let parts = BpProof::parse(&unhex(&v["proof"]));
    assert_eq!(
        unhex(&v["proof"]).len(),
        32 * (9 + 2 * parts.l.len()),
        "length 32·(9 + 2r)"
    );
    let v_bytes: Vec<[u8; 32]> = derived.iter().map(Point::to_bytes).collect();
    let fresh_replica = || {
        let mut rt = MerlinReplica::new(b"vox/v2");
        for op in arr(&v["transcript_context"])
            .iter()
            .chain(arr(&v["transcript_appends"]))
        {
            rt.append_message(s(&op["label"]).as_bytes(), &unhex(&op["value"]));
        }
        rt
    };
    let mut rt = fresh_replica();
    let ch = bp_continuation(&mut rt, n, &v_bytes, &parts);
    assert_eq!(Value::Array(ch.ops.clone()), v["bulletproof_transcript"]);
    // merlin itself with the same appends ends where the crate's verifier ended.
    let mut mt = replay(&[&v["transcript_context"], &v["transcript_appends"]]);
    bp_continuation(&mut mt, n, &v_bytes, &parts);
    assert_eq!(mt.challenge64(b"check"), crate_t.challenge64(b"check"));
    let chj = &v["bulletproof_challenges"];
    assert_eq!(s(&chj["y"]), shex(&ch.y));
    assert_eq!(s(&chj["z"]), shex(&ch.z));
    assert_eq!(s(&chj["x"]), shex(&ch.x));
    assert_eq!(s(&chj["w"]), shex(&ch.w));
    let u_json: Vec<&str> = arr(&chj["u"]).iter().map(s).collect();
    assert_eq!(u_json, ch.u.iter().map(shex).collect::<Vec<_>>());
    assert_eq!(ch.u.len(), nm.trailing_zeros() as usize);
    // δ as B §B.3 writes it, term by term.
    let mut delta = DScalar::ZERO;
    let (y, z) = (ch.y, ch.z);
    let mut y_i = DScalar::ONE;
    for _ in 0..nm {
        delta += (z - z * z) * y_i;
        y_i *= y;
    }
    let mut z_j2 = z * z * z;
    for _ in 1..=m {
        let mut two_i = DScalar::ONE;
        for _ in 0..n {
            delta -= z_j2 * two_i;
            two_i += two_i;
        }
        z_j2 *= z;
    }
    assert_eq!(s(&chj["delta"]), shex(&delta));
    assert_eq!(delta, bp_delta(n, m, y, z));
    // s_i, and s_{nm−1−i} = 1/s_i.
    let s_vec = bp_s(&ch.u, nm);
    let s_json: Vec<&str> = arr(&v["bulletproof_ipp_s"]).iter().map(s).collect();
    assert_eq!(s_json, s_vec.iter().map(shex).collect::<Vec<_>>());
    for (i, s_i) in s_vec.iter().enumerate() {
        assert_eq!(*s_i * s_vec[nm - 1 - i], DScalar::ONE);
    }
    // Generators: the replica's, the listed ones and the crate's own G_vec agree.
    let gj = &v["bulletproof_generators"];
    let mut chain_input = b"GeneratorsChain".to_vec();
    chain_input.extend_from_slice(b"G\0\0\0\0");
    assert_eq!(
        s(&gj["shake256_input_G_party_0"]),
        hex::encode(&chain_input)
    );
    let (g00, bytes00) = bp_generators_replica(b'G', 0, 1);
    assert_eq!(
        s(&gj["uniform_bytes_G_party_0_index_0"]),
        hex::encode(bytes00)
    );
    assert_eq!(g00[0], DPoint::from_uniform_bytes(&bytes00));
    let (gv, hv) = bp_vector_generators(n, m);
    for j in 0..2 {
        for i in 0..2 {
            assert_eq!(s(&gj[format!("party_{j}")]["G"][i]), dhex(&gv[j * n + i]));
            assert_eq!(s(&gj[format!("party_{j}")]["H"][i]), dhex(&hv[j * n + i]));
        }
    }
    assert_eq!(u(&gj["last_used"]["party"]) as usize, m - 1);
    assert_eq!(u(&gj["last_used"]["index"]) as usize, n - 1);
    assert_eq!(s(&gj["last_used"]["G"]), dhex(&gv[nm - 1]));
    assert_eq!(s(&gj["last_used"]["H"]), dhex(&hv[nm - 1]));
    for j in 0..m {
        assert_eq!(crate_g(j, n), gv[j * n..(j + 1) * n].to_vec());
    }
    // Both equations hold, and so does the crate's batched form E2 + c·E1 for a random c.
    let (e1, e2) = bp_equations(n, &v_bytes, &parts, &ch);
    assert_eq!(e1, DPoint::identity(), "t equation");
    assert_eq!(e2, DPoint::identity(), "inner-product equation");
    let c = DScalar::random(&mut rng(1));
    assert_eq!(e2 + c * e1, DPoint::identity());
    // A changed t_x (challenges recomputed) fails the t equation; other bounds change V.
    let mut bad = BpProof::parse(&unhex(&v["proof"]));
    bad.t_x += DScalar::ONE;
    let mut rt = fresh_replica();
    let bad_ch = bp_continuation(&mut rt, n, &v_bytes, &bad);
    assert_ne!(bad_ch.w, ch.w);
    let (e1, _) = bp_equations(n, &v_bytes, &bad, &bad_ch);
    assert_eq!(e1, -curve25519_dalek::constants::RISTRETTO_BASEPOINT_POINT);
}

#[test]
fn range() {
    check("range.json", gen_range, verify_range);
}

// =======================================================================================
// §4.1 credentials
// =======================================================================================

/// Spec replica of 04-ballots §4.1: x = SHA-512("vox/v2/credential-key" ‖ 25 characters) mod ℓ.
fn credential_secret(text: &str) -> Scalar {
    let norm: String = text
        .chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let wide: [u8; 64] = Sha512::new()
        .chain_update(b"vox/v2/credential-key")
        .chain_update(norm.as_bytes())
        .finalize()
        .into();
    Scalar::from_dalek(curve25519_dalek::Scalar::from_bytes_mod_order_wide(&wide))
}

fn gen_credential() -> Value {
    let mut rng = rng(9);
    let cred = Credential::generate(&mut rng);
    let text = cred.text().to_owned();
    let bare: String = text.chars().filter(|c| *c != '-').collect();
    let x = credential_secret(&text);
    let wide: [u8; 64] = Sha512::new()
        .chain_update(b"vox/v2/credential-key")
        .chain_update(bare.as_bytes())
        .finalize()
        .into();
    let spaced: String = bare
        .chars()
        .enumerate()
        .flat_map(|(i, c)| {
            let sep = if i > 0 && i % 5 == 0 { Some(' ') } else { None };
            sep.into_iter()
                .chain(std::iter::once(c.to_ascii_lowercase()))
        })
        .collect();
    with(
        header(
            "Credential derivation: the text is 25 Crockford base32 characters (0-9, A-Z \
             without I, L, O, U) shown in groups of 5 joined by '-'. Dashes and spaces are \
             ignored and letters upper-cased; x = SHA-512(\"vox/v2/credential-key\" ‖ the 25 \
             ASCII characters) reduced modulo ℓ; the public key is x·G.",
            "protocol-spec/04-ballots.md §4.1",
            Some(9),
        ),
        json!({
            "kdf_label": "vox/v2/credential-key",
            "credential_text": text,
            "normalised": bare,
            "sha512": hex::encode(wide),
            "secret_x": x.to_hex(),
            "public_key": cred.public_key().point().to_hex(),
            "equivalent_texts": [bare.clone(), spaced, text.to_ascii_lowercase()],
            "invalid_texts": [
                {"text": format!("{}I", &bare[..24]), "why": "I is not in the alphabet"},
                {"text": bare[..24].to_owned(), "why": "24 characters"},
                {"text": format!("{bare}0"), "why": "26 characters"},
                {"text": format!("{}_", &bare[..24]), "why": "'_' is not a separator"},
            ],
        }),
    )
}

fn verify_credential(v: &Value) {
    let text = s(&v["credential_text"]);
    let x = credential_secret(text);
    assert_eq!(x, sc(&v["secret_x"]));
    let wide: [u8; 64] = Sha512::new()
        .chain_update(s(&v["kdf_label"]).as_bytes())
        .chain_update(s(&v["normalised"]).as_bytes())
        .finalize()
        .into();
    assert_eq!(hex::encode(wide), s(&v["sha512"]));
    let public = pt(&v["public_key"]);
    assert_eq!(x.mul_base(), public);
    let cred = Credential::from_text(text).unwrap();
    assert_eq!(cred.text(), text);
    assert_eq!(*cred.public_key().point(), public);
    for t in arr(&v["equivalent_texts"]) {
        let c = Credential::from_text(s(t)).unwrap();
        assert_eq!(*c.public_key().point(), public);
        assert_eq!(c.text(), text, "the grouped upper-case form is canonical");
    }
    for bad in arr(&v["invalid_texts"]) {
        assert!(
            Credential::from_text(s(&bad["text"])).is_err(),
            "accepted {bad}"
        );
    }
}

#[test]
fn credential() {
    check("credential.json", gen_credential, verify_credential);
}

// ---- §4.1.1 enrolment requests -------------------------------------------------------

/// M = str(electorate_id) ‖ point(credential) ‖ (0x00 | 0x01 ‖ str(region))
/// ‖ (0x00 | 0x01 ‖ str(code)), by hand.
fn enrolment_message(
    electorate_id: &str,
    credential: &Point,
    region: Option<&str>,
    code: Option<&str>,
) -> Vec<u8> {
    let mut m = Vec::new();
    enc_str(&mut m, electorate_id);
    m.extend_from_slice(credential.as_bytes());
    for o in [region, code] {
        match o {
            None => m.push(0),
            Some(r) => {
                m.push(1);
                enc_str(&mut m, r);
            }
        }
    }
    m
}

fn gen_enrolment_request() -> Value {
    let mut rng = rng(15);
    let cred = Credential::generate(&mut rng);
    let code = EnrolmentCode::generate(&mut rng);
    let x = credential_secret(cred.text());
    let public = x.mul_base();
    let m = enrolment_message("town-2026", &public, Some("north"), Some(code.as_str()));
    let context = Hash32(sha256(&[b"vox/v2/enrolment-request\0", &m]));
    let mut ctx = Rec::new();
    ctx.msg(b"purpose", b"enrolment-request")
        .msg(b"manifest-hash", &context.0);
    let mut request = None;
    let (case, _) = schnorr_case(
        "a citizen's enrolment request by code (proof of possession of a new credential key)",
        "protocol-spec/04-ballots.md §4.1.1",
        &x,
        ctx,
        true,
        &m,
        &mut rng,
        |_, rng| {
            let r = EnrolmentRequest::create("town-2026", Some("north"), Some(&code), &cred, rng);
            let sig = r.signature.0;
            request = Some(r);
            sig
        },
    );
    let request = request.unwrap();
    request.verify().unwrap();
    // The same key, in person (no code): another message, another signature.
    let in_person = EnrolmentRequest::create("town-2026", Some("north"), None, &cred, &mut rng);
    in_person.verify().unwrap();
    let in_person_m = enrolment_message("town-2026", &public, Some("north"), None);
    let mut case = case;
    case["credential_text_test_only"] = json!(cred.text());
    with(
        header(
            "An enrolment request: the credential public key the citizen's device drew, its \
             region, the one-time code from the registrar's letter (normalised; absent for a \
             request approved in person), and a credential signature (Schnorr, separator \
             vox/v2/signature) over M = str(electorate_id) ‖ point(credential) ‖ (0x00 | \
             0x01 ‖ str(region)) ‖ (0x00 | 0x01 ‖ str(code)), in a transcript whose \
             manifest-hash slot holds SHA-256(\"vox/v2/enrolment-request\" ‖ 0x00 ‖ M). \
             in_person is the same key's request without a code. invalid_requests must all \
             be refused.",
            "protocol-spec/04-ballots.md §4.1.1",
            Some(15),
        ),
        json!({
            "request": to_json(&request),
            "message": hex::encode(&m),
            "context_hash": context.to_hex(),
            "canonical": hex::encode(request.canonical_bytes()),
            "signature_case": case,
            "in_person": {
                "request": to_json(&in_person),
                "message": hex::encode(&in_person_m),
                "context_hash": Hash32(sha256(&[b"vox/v2/enrolment-request\0", &in_person_m])).to_hex(),
            },
            "invalid_requests": invalid_enrolment_requests(&request),
        }),
    )
}

/// The request with one field changed each: every one must be refused.
fn invalid_enrolment_requests(request: &EnrolmentRequest) -> Value {
    let good = to_json(request);
    let tweak = |why: &str, field: &str, value: Value| {
        let mut r = good.clone();
        r[field] = value;
        json!({"why": why, "request": r})
    };
    let other = Credential::generate(&mut rng(16)).public_key();
    let mut without = good.clone();
    without.as_object_mut().unwrap().remove("code");
    let no_code = json!({"why": "the code left out (signed with one)", "request": without});
    json!([
        tweak(
            "another region than the one signed",
            "region",
            json!("south")
        ),
        tweak(
            "another electorate than the one signed",
            "electorate_id",
            json!("town-2027")
        ),
        tweak(
            "another code than the one signed",
            "code",
            json!("0".repeat(20))
        ),
        no_code,
        tweak(
            "another credential key",
            "credential",
            json!(other.point().to_hex())
        ),
        tweak(
            "z changed",
            "signature",
            json!({"t": good["signature"]["t"], "z": (request.signature.0.z + Scalar::from_u64(1)).to_hex()})
        ),
    ])
}

fn verify_enrolment_request(v: &Value) {
    let request: EnrolmentRequest = parse(&v["request"]);
    assert!(request.code.is_some(), "the main request enrols by code");
    // Spec replica: M and the context hash rebuilt by hand.
    let m = enrolment_message(
        &request.electorate_id,
        request.credential.point(),
        request.region.as_deref(),
        request.code.as_deref(),
    );
    assert_eq!(hex::encode(&m), s(&v["message"]));
    let context = sha256(&[b"vox/v2/enrolment-request\0", &m]);
    assert_eq!(hex::encode(context), s(&v["context_hash"]));
    // Canonical form (the body of a credential-enrolled entry after its tag, 08 table
    // 8.1): bytes(M) ‖ point(T) ‖ scalar(z).
    let mut canonical = be32(m.len()).to_vec();
    canonical.extend_from_slice(&m);
    canonical.extend_from_slice(request.signature.0.t.as_bytes());
    canonical.extend_from_slice(&request.signature.0.z.to_bytes());
    assert_eq!(hex::encode(&canonical), s(&v["canonical"]));
    assert_eq!(request.canonical_bytes(), canonical);
    // The signature: the listed appends give the challenge, and z·G = T + c·X.
    let case = &v["signature_case"];
    assert_eq!(unhex(&case["statement"]["message"]), m);
    let c = challenge(&mut replay(&[
        &case["transcript_context"],
        &case["transcript_appends"],
    ]));
    assert_eq!(c, sc(&case["challenge"]));
    let proof = request.signature.0;
    assert_eq!(
        proof.z.mul_base(),
        proof.t + c.mul_point(request.credential.point())
    );
    // The code agrees, and refuses every tweak.
    request.verify().unwrap();
    let cred = Credential::from_text(s(&case["credential_text_test_only"])).unwrap();
    assert_eq!(cred.public_key(), request.credential);
    // The in-person request: same key, no code, its own message.
    let in_person: EnrolmentRequest = parse(&v["in_person"]["request"]);
    assert_eq!(in_person.code, None);
    assert_eq!(in_person.credential, request.credential);
    let m0 = enrolment_message(
        &in_person.electorate_id,
        in_person.credential.point(),
        in_person.region.as_deref(),
        None,
    );
    assert_eq!(hex::encode(&m0), s(&v["in_person"]["message"]));
    assert_eq!(
        hex::encode(sha256(&[b"vox/v2/enrolment-request\0", &m0])),
        s(&v["in_person"]["context_hash"])
    );
    in_person.verify().unwrap();
    for bad in arr(&v["invalid_requests"]) {
        let r: EnrolmentRequest = parse(&bad["request"]);
        assert!(r.verify().is_err(), "{}", s(&bad["why"]));
    }
}

#[test]
fn enrolment_request() {
    check(
        "enrolment-request.json",
        gen_enrolment_request,
        verify_enrolment_request,
    );
}
// ---- §4.1.2–§4.1.4 enrolment by code, revocation, freezing ---------------------------

const ENROL_ID: &str = "town-2026";
const CROCKFORD: &str = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Spec replica of 04 §4.1.2: a typed code, normalised, or `None` if it is refused.
fn normalise_code_replica(text: &str) -> Option<String> {
    let mut out = String::new();
    for c in text.chars() {
        let c = match c.to_ascii_uppercase() {
            '-' | ' ' => continue,
            'O' => '0',
            'I' | 'L' => '1',
            c => c,
        };
        if !CROCKFORD.contains(c) {
            return None;
        }
        out.push(c);
    }
    (out.len() == 20).then_some(out)
}

/// Spec replica of `0x00 | 0x01 ‖ str(v)`.
fn enc_opt_str(out: &mut Vec<u8>, v: Option<&str>) {
    match v {
        None => out.push(0),
        Some(r) => {
            out.push(1);
            enc_str(out, r);
        }
    }
}

/// Spec replica of 04 §4.1.2: the code hash's preimage (after its label) and the hash.
fn code_hash_replica(electorate_id: &str, region: Option<&str>, code: &str) -> (Vec<u8>, Hash32) {
    let mut b = Vec::new();
    enc_str(&mut b, electorate_id);
    enc_opt_str(&mut b, region);
    enc_str(&mut b, code);
    let h = Hash32(sha256(&[b"vox/v2/enrolment-code\x00", &b]));
    (b, h)
}

fn opt_field<'a>(v: &'a Value, field: &str) -> Option<&'a str> {
    match v.get(field) {
        None | Some(Value::Null) => None,
        Some(x) => Some(s(x)),
    }
}

/// Spec replica of 04 §4.1.2: the canonical encoding of an opening, from its JSON.
fn opening_canonical_replica(o: &Value) -> Vec<u8> {
    let mut b = Vec::new();
    enc_str(&mut b, s(&o["electorate_id"]));
    enc_str(&mut b, s(&o["name"]));
    let regions = arr(&o["regions"]);
    b.extend_from_slice(&be32(regions.len()));
    for r in regions {
        enc_opt_str(&mut b, opt_field(r, "region"));
        b.extend_from_slice(&u(&r["count"]).to_be_bytes());
    }
    let codes = arr(&o["codes"]);
    b.extend_from_slice(&be32(codes.len()));
    for c in codes {
        b.extend_from_slice(&h32(c).0);
    }
    b
}

/// Spec replica of 04 §4.1.2: the opening's structural rules, from its JSON.
fn opening_valid_replica(o: &Value) -> bool {
    let id = s(&o["electorate_id"]);
    let codes: Vec<Hash32> = arr(&o["codes"]).iter().map(h32).collect();
    let regions: Vec<Option<&str>> = arr(&o["regions"])
        .iter()
        .map(|r| opt_field(r, "region"))
        .collect();
    let total = arr(&o["regions"])
        .iter()
        .try_fold(0u64, |a, r| a.checked_add(u(&r["count"])));
    (1..=64).contains(&id.len())
        && (1..=1_000_000).contains(&codes.len())
        && codes.windows(2).all(|w| w[0] < w[1])
        && regions.windows(2).all(|w| w[0] < w[1])
        && total == Some(codes.len() as u64)
}

/// Spec replica of table 8.1, tags 20–23: the payload body (tag and fields, without the
/// act suffix) from the entry's JSON.
fn enrolment_body_replica(payload: &Value) -> Vec<u8> {
    let mut b = Vec::new();
    match s(&payload["type"]) {
        "enrolment-opened" => {
            b.push(20);
            b.extend(opening_canonical_replica(&payload["opening"]));
        }
        "credential-enrolled" => {
            let r = &payload["enrolment"];
            b.push(21);
            let m = enrolment_message(
                s(&r["electorate_id"]),
                &pt(&r["credential"]),
                opt_field(r, "region"),
                opt_field(r, "code"),
            );
            b.extend_from_slice(&be32(m.len()));
            b.extend(m);
            b.extend(unhex(&r["signature"]["t"]));
            b.extend(unhex(&r["signature"]["z"]));
        }
        "credential-revoked" => {
            b.push(22);
            enc_str(&mut b, s(&payload["electorate_id"]));
            b.extend_from_slice(&key32(&payload["credential"]));
            match opt_field(payload, "replacement") {
                None => b.push(0),
                Some(h) => {
                    b.push(1);
                    b.extend(hex::decode(h).unwrap());
                }
            }
            enc_str(&mut b, s(&payload["reason"]));
        }
        "electorate-frozen" => {
            b.push(23);
            enc_str(&mut b, s(&payload["electorate_id"]));
            b.extend_from_slice(&h32(&payload["electorate_hash"]).0);
        }
        other => panic!("not an enrolment entry: {other}"),
    }
    b
}

fn enrol_effect_name(e: &vox_protocol::enrolment::Effect) -> String {
    use vox_protocol::enrolment::Effect;
    match e {
        Effect::None => "none".into(),
        Effect::Usable(h) => format!("usable {}", h.to_hex()),
        Effect::IndexChanged(h) => format!("index-changed {}", h.to_hex()),
    }
}

fn enrol_error_name(e: &EnrolmentError) -> &'static str {
    match e {
        EnrolmentError::Code(_) => "code",
        EnrolmentError::Opening(_) => "opening",
        EnrolmentError::UnknownElectorate(_) => "unknown-electorate",
        EnrolmentError::Duplicate(_) => "duplicate",
        EnrolmentError::NotCommitted => "not-committed",
        EnrolmentError::Spent(_) => "spent",
        EnrolmentError::KeyTaken => "key-taken",
        EnrolmentError::Signature(_) => "signature",
        EnrolmentError::Frozen => "frozen",
        EnrolmentError::Freeze(_) => "freeze",
        EnrolmentError::NotCurrent => "not-current",
        EnrolmentError::Region => "region",
    }
}

/// Replay `entries` (`{"leaf", "entry"}`) through a fresh [`Roll`].
fn replay_roll(entries: &[Value]) -> Roll {
    let mut roll = Roll::new();
    for e in entries {
        let entry: BoardEntry = parse(&e["entry"]);
        roll.apply(u(&e["leaf"]), &entry.payload).unwrap();
    }
    roll
}

fn gen_enrolment() -> Value {
    let mut rng = rng(18);
    let operator = signing_key(BOARD_SEED);
    let log_id = BoardPublicKey(operator.verifying_key()).log_id();
    let registrar = SigningKey::generate(&mut rng);
    let sign = |p: Payload, at: i64| p.signed_act(&log_id, at, &registrar).unwrap();

    // Normalisation of typed codes.
    let typed = [
        ("K3F90-1QXA7-MTB04-WDZ8N", "the printed form"),
        ("K3F901QXA7MTB04WDZ8N", "no dashes"),
        ("k3f90 1qxa7 mtb04 wdz8n", "lower case, spaces"),
        ("K3F9O-IQXA7-MTBO4-WDZ8N", "O read as 0, I as 1"),
        ("k3f9o-lqxa7-mtbo4-wdz8n", "o read as 0, l as 1"),
        (" K3F90--1QXA7-MTB04-WDZ8N ", "extra dashes and spaces"),
        ("K3F90-1QXA7-MTB04-WDZ8U", "U is not in the alphabet"),
        ("K3F90-1QXA7-MTB04-WDZ8", "19 characters"),
        ("K3F90-1QXA7-MTB04-WDZ8NN", "21 characters"),
        ("K3F90_1QXA7_MTB04_WDZ8N", "'_' is not a separator"),
        ("K3F90-1QXA7-MTB04-WDZ8\u{d1}", "not ASCII"),
        ("", "empty"),
    ];
    let normalisation: Vec<Value> = typed
        .iter()
        .map(|(text, why)| match EnrolmentCode::parse(text) {
            Ok(c) => {
                json!({"input": text, "why": why, "normalised": c.as_str(), "grouped": c.grouped()})
            }
            Err(_) => json!({"input": text, "why": why, "error": true}),
        })
        .collect();

    // Code hashes, with and without a region.
    let code = EnrolmentCode::parse(typed[0].0).unwrap();
    let code_hashes: Vec<Value> = [None, Some("north")]
        .iter()
        .map(|region| {
            let (pre, _) = code_hash_replica(ENROL_ID, *region, code.as_str());
            json!({
                "electorate_id": ENROL_ID,
                "region": region,
                "code": code.as_str(),
                "preimage_after_label": hex::encode(pre),
                "hash": code.hash(ENROL_ID, *region).to_hex(),
            })
        })
        .collect();

    // An opening: one code without region, two for north, one for south.
    let north = Some("north".to_owned());
    let (opening, letters) = EnrolmentOpening::draw(
        ENROL_ID,
        "Town",
        &[(None, 1), (north.clone(), 2), (Some("south".into()), 1)],
        &mut rng,
    )
    .unwrap();

    // One entry of each kind, in a valid order: open, enrol two, freeze, revoke one
    // with a replacement code, enrol the replacement.
    let a = Credential::generate(&mut rng);
    let b = Credential::generate(&mut rng);
    let c = Credential::generate(&mut rng);
    let north_letter = letters.iter().find(|(r, _)| r == &north).unwrap();
    let none_letter = letters.iter().find(|(r, _)| r.is_none()).unwrap();
    let mut roll = Roll::new();
    let mut entries: Vec<Value> = Vec::new();
    // Entry `leaf` is appended at at(leaf); an act is signed a second before.
    let at = |leaf: u64| OPENS_AT - 20 * 24 * 3600 * 1000 + i64::try_from(leaf).unwrap() * 60_000;
    let mut push = |roll: &mut Roll, leaf: u64, payload: Payload, extra: Value| {
        let effect = roll.apply(leaf, &payload).unwrap();
        let mut enc = Encoder::new();
        payload.encode_body(&mut enc);
        let body = enc.into_bytes();
        let entry = BoardEntry {
            timestamp_ms: at(leaf),
            payload,
        };
        let mut v = json!({
            "leaf": leaf,
            "entry": to_json(&entry),
            "tag": body[0],
            "body": hex::encode(&body),
            "payload_canonical": hex::encode(entry.payload.canonical_bytes()),
            "leaf_hash": entry.leaf_hash().to_hex(),
            "effect": enrol_effect_name(&effect),
        });
        if let Some(role) = entry.payload.act_role() {
            let at = entry.payload.act().unwrap().issued_at_ms;
            v["act_message"] = json!(hex::encode(vox_protocol::roles::act_message(
                &log_id,
                role,
                at,
                &entry.payload
            )));
        }
        if let (Value::Object(m), Value::Object(x)) = (&mut v, extra) {
            m.extend(x);
        }
        entries.push(v);
    };
    let open = sign(
        Payload::EnrolmentOpened {
            opening: opening.clone(),
            act: ActSignature::unsigned(),
        },
        at(1) - 1000,
    );
    push(&mut roll, 1, open, json!({}));
    for (leaf, (region, code), cred) in [(2, north_letter, &a), (3, none_letter, &b)] {
        let enrolment =
            EnrolmentRequest::create(ENROL_ID, region.as_deref(), Some(code), cred, &mut rng);
        push(
            &mut roll,
            leaf,
            Payload::CredentialEnrolled { enrolment },
            json!({}),
        );
    }
    let pending = roll.pending(ENROL_ID).unwrap();
    let frozen_hash = pending.canonical_hash();
    let freeze = sign(
        Payload::ElectorateFrozen {
            electorate_id: ENROL_ID.into(),
            electorate_hash: frozen_hash,
            act: ActSignature::unsigned(),
        },
        at(4) - 1000,
    );
    push(&mut roll, 4, freeze, json!({}));
    let replacement = EnrolmentCode::generate(&mut rng);
    let revoke = sign(
        Payload::CredentialRevoked {
            electorate_id: ENROL_ID.into(),
            credential: a.public_key(),
            replacement: Some(replacement.hash(ENROL_ID, Some("north"))),
            reason: "lost".into(),
            act: ActSignature::unsigned(),
        },
        at(5) - 1000,
    );
    push(
        &mut roll,
        5,
        revoke,
        json!({"replacement_code_test_only": replacement.as_str()}),
    );
    let enrolment =
        EnrolmentRequest::create(ENROL_ID, Some("north"), Some(&replacement), &c, &mut rng);
    push(
        &mut roll,
        6,
        Payload::CredentialEnrolled { enrolment },
        json!({"replaces": a.public_key().point().to_hex()}),
    );
    let tallies = roll.tallies(ENROL_ID).unwrap();

    // Entries that the roll must refuse after the sequence above.
    let d = Credential::generate(&mut rng);
    let south_letter = letters
        .iter()
        .find(|(r, _)| r.as_deref() == Some("south"))
        .unwrap();
    let fresh = EnrolmentCode::generate(&mut rng);
    let enrol =
        |region: Option<&str>, code: &EnrolmentCode, cred: &Credential, rng: &mut ChaCha20Rng| {
            Payload::CredentialEnrolled {
                enrolment: EnrolmentRequest::create(ENROL_ID, region, Some(code), cred, rng),
            }
        };
    let invalid_entries = vec![
        (
            "a code the registrar did not commit",
            enrol(Some("north"), &fresh, &d, &mut rng),
        ),
        (
            "a committed code claimed for another region",
            enrol(Some("south"), &north_letter.1, &d, &mut rng),
        ),
        (
            "a code spent at leaf 2",
            enrol(Some("north"), &north_letter.1, &d, &mut rng),
        ),
        (
            "an original code after the freeze",
            enrol(Some("south"), &south_letter.1, &d, &mut rng),
        ),
        (
            "the replacement code spent at leaf 6",
            enrol(Some("north"), &replacement, &d, &mut rng),
        ),
        (
            "a revocation of a credential revoked at leaf 5",
            sign(
                Payload::CredentialRevoked {
                    electorate_id: ENROL_ID.into(),
                    credential: a.public_key(),
                    replacement: None,
                    reason: "stolen".into(),
                    act: ActSignature::unsigned(),
                },
                at(7) - 1000,
            ),
        ),
        (
            "a revocation of a key never enrolled",
            sign(
                Payload::CredentialRevoked {
                    electorate_id: ENROL_ID.into(),
                    credential: d.public_key(),
                    replacement: None,
                    reason: "lost".into(),
                    act: ActSignature::unsigned(),
                },
                at(7) - 1000,
            ),
        ),
        (
            "a second freeze",
            sign(
                Payload::ElectorateFrozen {
                    electorate_id: ENROL_ID.into(),
                    electorate_hash: frozen_hash,
                    act: ActSignature::unsigned(),
                },
                at(7) - 1000,
            ),
        ),
        (
            "a second opening of the same id",
            sign(
                Payload::EnrolmentOpened {
                    opening: opening.clone(),
                    act: ActSignature::unsigned(),
                },
                at(7) - 1000,
            ),
        ),
    ]
    .into_iter()
    .map(|(why, payload)| {
        let err = replay_roll(&entries).apply(7, &payload).unwrap_err();
        json!({"why": why, "payload": to_json(&payload), "error": enrol_error_name(&err)})
    })
    .collect::<Vec<_>>();
    // A freeze naming another hash than the enrolled list's, at leaf 4.
    let mut reordered = pending.clone();
    reordered.entries.reverse();
    let wrong_freeze = sign(
        Payload::ElectorateFrozen {
            electorate_id: ENROL_ID.into(),
            electorate_hash: reordered.canonical_hash(),
            act: ActSignature::unsigned(),
        },
        at(4) - 1000,
    );
    let err = replay_roll(&entries[..3])
        .apply(4, &wrong_freeze)
        .unwrap_err();
    let wrong_freeze = json!({
        "why": "a freeze naming the hash of the enrolled keys in another order",
        "after_leaves": 3,
        "payload": to_json(&wrong_freeze),
        "error": enrol_error_name(&err),
    });

    // Invalid openings: validate must refuse each.
    let tweak = |why: &str, f: &dyn Fn(&mut EnrolmentOpening)| {
        let mut o = opening.clone();
        f(&mut o);
        assert!(o.validate().is_err(), "{why}");
        json!({"why": why, "opening": to_json(&o)})
    };
    let invalid_openings = vec![
        tweak("code hashes not sorted", &|o| o.codes.swap(0, 1)),
        tweak("a code hash twice", &|o| o.codes[1] = o.codes[0]),
        tweak("counts do not add up to the number of codes", &|o| {
            o.regions[0].count += 1
        }),
        tweak("regions not sorted", &|o| o.regions.swap(1, 2)),
        tweak("a region twice", &|o| {
            o.regions[2].region = Some("north".into())
        }),
        tweak("no code", &|o| {
            o.codes.clear();
            o.regions.clear();
        }),
        tweak("empty electorate id", &|o| o.electorate_id.clear()),
    ];

    with(
        header(
            "Enrolment by one-time code (04 §4.1.2–§4.1.4): how typed codes normalise (or are \
             refused), code hashes SHA-256(\"vox/v2/enrolment-code\" ‖ 0x00 ‖ \
             str(electorate_id) ‖ opt(region) ‖ str(code)) with their preimage after the \
             label, an opening with its canonical bytes and object hash, the letters it \
             commits to (codes_test_only), then one entry of each kind of tags 20–23 in a \
             valid order (open, two enrolments, freeze, revocation with a replacement code, \
             the replacement's enrolment) with body bytes (the canonical payload without the \
             act suffix, Payload::encode_body), canonical payload, leaf hash, act message for \
             the registrar's acts and the effect on the roll; the frozen electorate and the \
             counts per region at the end; entries the roll must refuse after that sequence \
             (with the error) and openings that fail validation. Log id: the board.json \
             operator key; the registrar key is drawn from the RNG.",
            "protocol-spec/04-ballots.md §4.1.2–§4.1.4, protocol-spec/08-board.md table 8.1",
            Some(18),
        ),
        json!({
            "log_id": log_id.to_hex(),
            "registrar_public_key": hex::encode(registrar.verifying_key().as_bytes()),
            "alphabet": CROCKFORD,
            "code_length": CODE_LEN,
            "normalisation": normalisation,
            "code_hashes": code_hashes,
            "opening": {
                "opening": to_json(&opening),
                "canonical": hex::encode(opening.canonical_bytes()),
                "hash": opening.canonical_hash().to_hex(),
                "codes_test_only": letters.iter().map(|(r, c)| json!({"region": r, "code": c.as_str()})).collect::<Vec<_>>(),
            },
            "entries": entries,
            "frozen": {
                "electorate": to_json(&pending),
                "electorate_hash": frozen_hash.to_hex(),
            },
            "tallies": to_json(&tallies),
            "invalid_entries": invalid_entries,
            "invalid_freeze": wrong_freeze,
            "invalid_openings": invalid_openings,
        }),
    )
}

fn verify_enrolment(v: &Value) {
    assert_eq!(s(&v["alphabet"]), CROCKFORD);
    assert_eq!(u(&v["code_length"]) as usize, CODE_LEN);
    // Normalisation: the replica and the code agree with the file.
    for case in arr(&v["normalisation"]) {
        let input = s(&case["input"]);
        let replica = normalise_code_replica(input);
        let code = EnrolmentCode::parse(input).ok();
        match case.get("normalised") {
            Some(n) => {
                assert_eq!(replica.as_deref(), Some(s(n)), "{input}");
                let code = code.unwrap();
                assert_eq!(code.as_str(), s(n));
                assert_eq!(code.grouped(), s(&case["grouped"]));
                assert_eq!(EnrolmentCode::from_normalised(s(n)).unwrap(), code);
            }
            None => {
                assert_eq!(case["error"], json!(true));
                assert!(replica.is_none() && code.is_none(), "{input} accepted");
            }
        }
    }
    // Code hashes.
    for case in arr(&v["code_hashes"]) {
        let region = opt_field(case, "region");
        let (pre, h) = code_hash_replica(s(&case["electorate_id"]), region, s(&case["code"]));
        assert_eq!(hex::encode(pre), s(&case["preimage_after_label"]));
        assert_eq!(h, h32(&case["hash"]));
        let code = EnrolmentCode::from_normalised(s(&case["code"])).unwrap();
        assert_eq!(code.hash(s(&case["electorate_id"]), region), h);
    }
    // The opening: canonical bytes by hand, object hash, rules, and its letters.
    let o = &v["opening"];
    let canonical = opening_canonical_replica(&o["opening"]);
    assert_eq!(hex::encode(&canonical), s(&o["canonical"]));
    assert_eq!(
        tagged_hash("enrolment-opening", &canonical),
        h32(&o["hash"])
    );
    let opening: EnrolmentOpening = parse(&o["opening"]);
    assert_eq!(opening.canonical_bytes(), canonical);
    assert_eq!(opening.canonical_hash(), h32(&o["hash"]));
    assert!(opening_valid_replica(&o["opening"]));
    opening.validate().unwrap();
    let mut per_region: std::collections::BTreeMap<Option<String>, u64> = Default::default();
    for l in arr(&o["codes_test_only"]) {
        let region = opt_field(l, "region");
        let (_, h) = code_hash_replica(&opening.electorate_id, region, s(&l["code"]));
        assert!(opening.codes.binary_search(&h).is_ok());
        *per_region.entry(region.map(str::to_owned)).or_default() += 1;
    }
    assert_eq!(
        opening.regions,
        per_region
            .into_iter()
            .map(|(region, count)| RegionCount { region, count })
            .collect::<Vec<_>>()
    );
    // The entries: bodies by hand, act signatures under the registrar key, replay.
    let log_id = h32(&v["log_id"]);
    let registrar = key32(&v["registrar_public_key"]);
    let mut roll = Roll::new();
    let entries = arr(&v["entries"]);
    let mut tags = Vec::new();
    for e in entries {
        let payload = &e["entry"]["payload"];
        let body = enrolment_body_replica(payload);
        assert_eq!(hex::encode(&body), s(&e["body"]));
        assert_eq!(u64::from(body[0]), u(&e["tag"]));
        tags.push(body[0]);
        let entry: BoardEntry = parse(&e["entry"]);
        let mut enc = Encoder::new();
        entry.payload.encode_body(&mut enc);
        assert_eq!(enc.into_bytes(), body);
        let mut canonical = body.clone();
        if body[0] == 21 {
            assert!(
                payload.get("act").is_none(),
                "a credential-enrolled entry has no act"
            );
            assert_eq!(entry.payload.act_role(), None);
            let Payload::CredentialEnrolled { enrolment } = &entry.payload else {
                panic!("tag 21 is credential-enrolled")
            };
            enrolment.verify().unwrap();
        } else {
            // Tags 20, 22 and 23 are registrar acts (role code 1).
            assert_eq!(entry.payload.act_role(), Some(Role::Registrar));
            let act = &payload["act"];
            let msg = act_message_replica(&log_id, 1, int(&act["issued_at_ms"]), &body);
            assert_eq!(hex::encode(&msg), s(&e["act_message"]));
            assert!(ed25519_ok(&registrar, &msg, &sig64(&act["signature"])));
            canonical.extend(act_suffix_replica(act));
        }
        assert_eq!(hex::encode(&canonical), s(&e["payload_canonical"]));
        let mut leaf = int(&e["entry"]["timestamp_ms"]).to_be_bytes().to_vec();
        leaf.extend(&canonical);
        assert_eq!(hex::encode(sha256(&[&[0u8], &leaf])), s(&e["leaf_hash"]));
        assert_eq!(entry.leaf_hash().to_hex(), s(&e["leaf_hash"]));
        let effect = roll.apply(u(&e["leaf"]), &entry.payload).unwrap();
        assert_eq!(enrol_effect_name(&effect), s(&e["effect"]));
    }
    let mut kinds = tags.clone();
    kinds.sort_unstable();
    kinds.dedup();
    assert_eq!(
        kinds,
        vec![20, 21, 22, 23],
        "one entry of each new kind at least"
    );
    // The frozen electorate: the enrolled keys in enrolment order, hashed as 04 §4.1.
    let frozen: Electorate = parse(&v["frozen"]["electorate"]);
    let fh = h32(&v["frozen"]["electorate_hash"]);
    assert_eq!(frozen.canonical_hash(), fh);
    let (usable, index) = roll.usable(&fh).unwrap();
    assert_eq!(usable, &frozen);
    // The revoked credential and its replacement (V5.6, V6.6, V10.5 rely on these).
    let revoked = entries.iter().find(|e| u(&e["tag"]) == 22).unwrap();
    let revoked_leaf = u(&revoked["leaf"]);
    let a: vox_crypto::credential::CredentialPublicKey =
        parse(&revoked["entry"]["payload"]["credential"]);
    assert_eq!(index.standing(&a, revoked_leaf), Ok(()));
    assert!(index.standing(&a, revoked_leaf + 1).is_err());
    let replacement = entries
        .iter()
        .find(|e| e.get("replaces").is_some())
        .unwrap();
    let c: vox_crypto::credential::CredentialPublicKey =
        parse(&replacement["entry"]["payload"]["enrolment"]["credential"]);
    assert_eq!(index.predecessors(&c), vec![a.to_bytes()]);
    assert_eq!(s(&replacement["replaces"]), a.point().to_hex());
    let code = s(&revoked["replacement_code_test_only"]);
    let (_, rh) = code_hash_replica(ENROL_ID, Some("north"), code);
    assert_eq!(rh, h32(&revoked["entry"]["payload"]["replacement"]));
    assert!(index.standing(&c, u(&replacement["leaf"])).is_err());
    assert_eq!(index.standing(&c, u(&replacement["leaf"]) + 1), Ok(()));
    assert_eq!(to_json(&roll.tallies(ENROL_ID).unwrap()), v["tallies"]);
    // Refusals.
    for bad in arr(&v["invalid_entries"]) {
        let payload: Payload = parse(&bad["payload"]);
        let err = replay_roll(entries)
            .apply(u64::try_from(entries.len()).unwrap() + 1, &payload)
            .unwrap_err();
        assert_eq!(
            enrol_error_name(&err),
            s(&bad["error"]),
            "{}",
            s(&bad["why"])
        );
    }
    let bad = &v["invalid_freeze"];
    let n = u(&bad["after_leaves"]) as usize;
    let payload: Payload = parse(&bad["payload"]);
    let err = replay_roll(&entries[..n])
        .apply(n as u64 + 1, &payload)
        .unwrap_err();
    assert_eq!(enrol_error_name(&err), s(&bad["error"]));
    for bad in arr(&v["invalid_openings"]) {
        let o: EnrolmentOpening = parse(&bad["opening"]);
        assert!(o.validate().is_err(), "{}", s(&bad["why"]));
        assert!(Roll::new().open(&o).is_err(), "{}", s(&bad["why"]));
        assert!(
            !opening_valid_replica(&bad["opening"]),
            "{}",
            s(&bad["why"])
        );
    }
}

#[test]
fn enrolment() {
    check("enrolment.json", gen_enrolment, verify_enrolment);
}

// =======================================================================================
// §4.2–4.6 ballots
// =======================================================================================

const OPENS_AT: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z
const CLOSES_AT: i64 = OPENS_AT + 7 * 24 * 3600 * 1000;

struct BallotWorld {
    electorate: Electorate,
    manifest: Manifest,
    election_secret: Scalar,
    key: ElectionPublicKey,
    credential: Credential,
    choices: Choices,
    ballot: Ballot,
    nonces: Vec<Vec<Scalar>>,
}

/// With `revote`, the vector's ballot is the credential's second one: a first ballot is
/// drawn before it and its hash is the vector ballot's `previous` (04 §4.3).
fn ballot_world(
    seed: u64,
    referendum_id: &str,
    question: Question,
    choices: Choices,
    revote: bool,
) -> BallotWorld {
    let mut rng = rng(seed);
    let creds: Vec<Credential> = (0..3).map(|_| Credential::generate(&mut rng)).collect();
    let electorate = Electorate {
        id: "vector-electorate".into(),
        name: "Test-vector town".into(),
        entries: creds
            .iter()
            .enumerate()
            .map(|(i, c)| ElectorateEntry {
                credential: c.public_key(),
                region: (i != 2).then(|| {
                    if i == 0 {
                        "north".into()
                    } else {
                        "south".into()
                    }
                }),
            })
            .collect(),
    };
    let tkeys: Vec<TrusteeKeys> = (0..3).map(|_| TrusteeKeys::generate(&mut rng)).collect();
    let (election_secret, key) = election_key(&mut rng);
    let manifest = Manifest {
        version: MANIFEST_VERSION,
        referendum_id: referendum_id.into(),
        title: "Test-vector referendum".into(),
        description: "A referendum used only for test vectors.".into(),
        questions: vec![question],
        opens_at: OPENS_AT,
        closes_at: CLOSES_AT,
        electorate_hash: electorate.canonical_hash(),
        trustees: tkeys
            .iter()
            .enumerate()
            .map(|(i, k)| TrusteeInfo {
                index: i as u32 + 1,
                name: format!("Trustee {}", i + 1),
                signing_key: *k.signing_key(),
                communication_key: *k.communication_key(),
            })
            .collect(),
        threshold: 2,
        answer_due_ms: vox_protocol::manifest::DAY_MS,
        decryption_due_ms: vox_protocol::manifest::DAY_MS,
        source_petition: None,
        participation: Default::default(),
    };
    manifest.validate().unwrap();
    let ctx = BallotContext::new(&manifest, key);
    let credential = creds[0].clone();
    let previous = if revote {
        let (first, _) = encrypt_ballot(&ctx, &credential, &choices, None, &mut rng).unwrap();
        Some(first.hash())
    } else {
        None
    };
    let (ballot, secrets) =
        encrypt_ballot(&ctx, &credential, &choices, previous, &mut rng).unwrap();
    BallotWorld {
        electorate,
        manifest,
        election_secret,
        key,
        credential,
        choices,
        ballot,
        nonces: secrets.nonces,
    }
}

fn yes_no_world() -> BallotWorld {
    ballot_world(
        10,
        "vector-yes-no",
        Question {
            id: "q1".into(),
            text: "Should the town build a new library?".into(),
            options: vec!["yes".into(), "no".into()],
            kind: QuestionKind::YesNo,
        },
        vec![vec![1, 0]],
        false,
    )
}

fn choose_one_world() -> BallotWorld {
    ballot_world(
        11,
        "vector-choose-one",
        Question {
            id: "site".into(),
            text: "Where should the library be built?".into(),
            options: vec![
                "Market square".into(),
                "Old station".into(),
                "River park".into(),
            ],
            kind: QuestionKind::ChooseOne {
                blank_allowed: false,
            },
        },
        vec![vec![0, 1, 0]],
        true,
    )
}

fn approve_world() -> BallotWorld {
    ballot_world(
        12,
        "vector-approve",
        Question {
            id: "projects".into(),
            text: "Which projects should the town fund (one to three)?".into(),
            options: vec![
                "Library".into(),
                "Cycle lanes".into(),
                "Park".into(),
                "Pool".into(),
            ],
            kind: QuestionKind::Approve { min: 1, max: 3 },
        },
        vec![vec![1, 0, 1, 0]],
        false,
    )
}

fn score_world() -> BallotWorld {
    ballot_world(
        13,
        "vector-score",
        Question {
            id: "designs".into(),
            text: "Score each design from 0 to 5.".into(),
            options: vec!["Design A".into(), "Design B".into(), "Design C".into()],
            kind: QuestionKind::Score { max: 5 },
        },
        vec![vec![5, 0, 3]],
        false,
    )
}

fn ballot_vector(w: &BallotWorld, description: &str, seed: u64) -> Value {
    let canonical = w.ballot.canonical_bytes();
    with(
        header(
            description,
            "protocol-spec/04-ballots.md §4.2–§4.6",
            Some(seed),
        ),
        json!({
            "electorate": to_json(&w.electorate),
            "electorate_canonical": hex::encode(w.electorate.canonical_bytes()),
            "electorate_hash": w.electorate.canonical_hash().to_hex(),
            "manifest": to_json(&w.manifest),
            "manifest_canonical": hex::encode(w.manifest.canonical_bytes()),
            "manifest_hash": w.manifest.canonical_hash().to_hex(),
            "election_secret_test_only": w.election_secret.to_hex(),
            "election_key": w.key.point().to_hex(),
            "credential_text": w.credential.text(),
            "choices": w.choices,
            "nonces": to_json(&w.nonces),
            "ballot": to_json(&w.ballot),
            "ballot_canonical": hex::encode(&canonical),
            "body_hash": w.ballot.body_hash().to_hex(),
            "ballot_hash": w.ballot.hash().to_hex(),
            "tracking_code": w.ballot.tracking_code(),
        }),
    )
}

fn verify_ballot_vector(v: &Value) {
    let electorate: Electorate = parse(&v["electorate"]);
    electorate.validate().unwrap();
    assert_eq!(
        hex::encode(electorate.canonical_bytes()),
        s(&v["electorate_canonical"])
    );
    assert_eq!(
        tagged_hash("electorate", &unhex(&v["electorate_canonical"])),
        h32(&v["electorate_hash"])
    );
    assert_eq!(electorate.canonical_hash(), h32(&v["electorate_hash"]));
    let manifest: Manifest = parse(&v["manifest"]);
    manifest.validate().unwrap();
    assert_eq!(
        hex::encode(manifest.canonical_bytes()),
        s(&v["manifest_canonical"])
    );
    let mh = tagged_hash("manifest", &unhex(&v["manifest_canonical"]));
    assert_eq!(mh, h32(&v["manifest_hash"]));
    assert_eq!(manifest.canonical_hash(), mh);
    assert_eq!(manifest.electorate_hash, h32(&v["electorate_hash"]));
    let x = sc(&v["election_secret_test_only"]);
    let key = ElectionPublicKey::new(pt(&v["election_key"])).unwrap();
    assert_eq!(x.mul_base(), *key.point());
    let ballot: Ballot = parse(&v["ballot"]);
    let pk = Credential::from_text(s(&v["credential_text"]))
        .unwrap()
        .public_key();
    assert_eq!(ballot.credential, Some(pk));
    // Canonical bytes = body ‖ opt(signature: 64 bytes) ‖ opt(ring signature: absent);
    // body hash, ballot hash, code.
    let canonical = ballot.canonical_bytes();
    assert_eq!(hex::encode(&canonical), s(&v["ballot_canonical"]));
    let n = canonical.len();
    assert_eq!(canonical[n - 66], 1);
    assert_eq!(canonical[n - 1], 0);
    let body = &canonical[..n - 66];
    // body = u32(4) ‖ str(referendum_id) ‖ hash(MH) ‖ opt(credential) ‖ opt(ring) ‖
    // opt(tag) ‖ opt(previous) ‖ …
    assert_eq!(body[..4], 4u32.to_be_bytes());
    let rid = ballot.referendum_id.as_bytes();
    assert_eq!(body[4..8], (rid.len() as u32).to_be_bytes());
    let at = 8 + rid.len() + 32 + 1 + 32;
    assert_eq!(body[at - 33], 1);
    assert_eq!(&body[at - 32..at], &pk.to_bytes());
    assert_eq!(body[at..at + 2], [0, 0], "no ring, no tag");
    let at = at + 2;
    match &v["ballot"]["previous"] {
        Value::Null => assert_eq!(body[at], 0),
        p => {
            assert_eq!(body[at], 1);
            assert_eq!(&body[at + 1..at + 33], &h32(p).0);
        }
    }
    assert_eq!(tagged_hash("ballot-body", body), h32(&v["body_hash"]));
    assert_eq!(ballot.body_hash(), h32(&v["body_hash"]));
    assert_eq!(tagged_hash("ballot", &canonical), h32(&v["ballot_hash"]));
    assert_eq!(ballot.hash(), h32(&v["ballot_hash"]));
    assert_eq!(human_code(&ballot.hash()), s(&v["tracking_code"]));
    // Validation B1–B9.
    let ctx = BallotContext::new(&manifest, key);
    let index = electorate.index();
    ballot.validate(&ctx, &index, None, &mut rng(0)).unwrap();
    // The signature is over the body hash in the ballot-signature transcript.
    let mut t = new_transcript(b"ballot-signature", &mh);
    ballot
        .signature
        .unwrap()
        .verify(&mut t, &pk, &ballot.body_hash().0)
        .unwrap();
    // Benaloh audit with the revealed nonces, and decryption with the test-only key.
    let choices: Choices = parse(&v["choices"]);
    let nonces: Vec<Vec<Scalar>> = parse(&v["nonces"]);
    AuditedBallot {
        ballot: ballot.clone(),
        choices: choices.clone(),
        nonces,
    }
    .verify_opening(&ctx)
    .unwrap();
    let secret = vox_crypto::elgamal::SecretScalar::new(x);
    for ((q, a), c) in manifest.questions.iter().zip(&ballot.answers).zip(&choices) {
        let values: Vec<u64> = match q.kind {
            QuestionKind::YesNo => vec![c[0]],
            _ => c.clone(),
        };
        for (ct, m) in a.ciphertexts.iter().zip(values) {
            assert_eq!(ct.decrypt_to_point(&secret), Scalar::from_u64(m).mul_base());
        }
    }
    // The same ballot under another eligible credential does not verify (B9 and every proof).
    let mut stolen = ballot.clone();
    stolen.credential = Some(electorate.entries[1].credential);
    assert!(stolen.validate(&ctx, &index, None, &mut rng(0)).is_err());
}

#[test]
fn ballot_yes_no() {
    check(
        "ballot-yes-no.json",
        || {
            ballot_vector(
                &yes_no_world(),
                "A complete yes/no ballot (choice: yes), the credential's first: no `previous`. \
                 A yes-no question carries one ciphertext encrypting 1 for yes, 0 for no, with \
                 one zero-one proof and no sum proof. The election key is K = x·G with a \
                 test-only x, so the ciphertext can be decrypted.",
                10,
            )
        },
        |v| {
            assert!(v["ballot"]["previous"].is_null());
            verify_ballot_vector(v)
        },
    );
}

#[test]
fn ballot_choose_one() {
    check(
        "ballot-choose-one.json",
        || {
            ballot_vector(
                &choose_one_world(),
                "A complete 1-of-3 ballot (choose-one without blank, choice: the second option), \
                 the credential's second: `previous` is the hash of its first ballot (drawn \
                 first from the same RNG). Three ciphertexts with a zero-one proof each and a \
                 constant proof that their sum encrypts 1.",
                11,
            )
        },
        |v| {
            assert!(v["ballot"]["previous"].is_string());
            verify_ballot_vector(v)
        },
    );
}

#[test]
fn ballot_approve() {
    check(
        "ballot-approve.json",
        || {
            ballot_vector(
                &approve_world(),
                "A complete approve ballot (one to three of four options; choice: the first and \
                 the third), the range path of 04 §4.4: a zero-one proof per ciphertext, a \
                 Pedersen commitment C to the number approved linked to the summed ciphertext \
                 (part \"sum\"), and the aggregated range proof of (C, 1, 3) (part \"range\").",
                12,
            )
        },
        |v| {
            assert!(v["ballot"]["answers"][0]["sum_proof"]["type"] == "range");
            assert!(v["ballot"]["range_proof"].is_string());
            verify_ballot_vector(v)
        },
    );
}

#[test]
fn ballot_score() {
    check(
        "ballot-score.json",
        || {
            ballot_vector(
                &score_world(),
                "A complete score ballot (three options scored 0..=5; choice: 5, 0, 3): per \
                 option a Pedersen commitment C_i linked to its ciphertext (part \"score\") \
                 and no zero-one proofs, then one aggregated range proof of (C_i, 0, 5) for \
                 the three options in option order (part \"range\").",
                13,
            )
        },
        |v| {
            assert_eq!(arr(&v["ballot"]["answers"][0]["scores"]).len(), 3);
            assert!(v["ballot"]["range_proof"].is_string());
            verify_ballot_vector(v)
        },
    );
}

// =======================================================================================
// §6 threshold ceremony
// =======================================================================================

fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&sha256(&[key]));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let ipad: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
    let opad: Vec<u8> = k.iter().map(|b| b ^ 0x5c).collect();
    let mut inner_parts: Vec<&[u8]> = vec![&ipad];
    inner_parts.extend_from_slice(parts);
    let inner = sha256(&inner_parts);
    sha256(&[&opad, &inner])
}

/// Spec replica of 06-ceremony §6.3: H_i.
fn commitment_hash_replica(
    mh: &Hash32,
    dealer: u32,
    commitments: &[Point],
    proofs: &[SchnorrProof],
) -> Hash32 {
    let mut b = b"vox/v2/ceremony-commitment\x00".to_vec();
    b.extend_from_slice(&mh.0);
    b.extend_from_slice(&dealer.to_be_bytes());
    b.extend_from_slice(&be32(commitments.len()));
    for k in commitments {
        b.extend_from_slice(k.as_bytes());
    }
    b.extend_from_slice(&be32(proofs.len()));
    for p in proofs {
        b.extend_from_slice(p.t.as_bytes());
        b.extend_from_slice(&p.z.to_bytes());
    }
    Hash32(sha256(&[&b]))
}

fn gen_ceremony() -> Value {
    let mut rng = rng(12);
    let tkeys: Vec<TrusteeKeys> = (0..3).map(|_| TrusteeKeys::generate(&mut rng)).collect();
    let manifest = Manifest {
        version: MANIFEST_VERSION,
        referendum_id: "vector-ceremony".into(),
        title: "Key ceremony test vector".into(),
        description: "Three trustees, any two decrypt.".into(),
        questions: vec![Question {
            id: "q1".into(),
            text: "Yes or no?".into(),
            options: vec!["yes".into(), "no".into()],
            kind: QuestionKind::YesNo,
        }],
        opens_at: OPENS_AT,
        closes_at: CLOSES_AT,
        electorate_hash: Hash32(sha256(&[b"placeholder electorate for the ceremony vector"])),
        trustees: tkeys
            .iter()
            .enumerate()
            .map(|(i, k)| TrusteeInfo {
                index: i as u32 + 1,
                name: format!("Trustee {}", i + 1),
                signing_key: *k.signing_key(),
                communication_key: *k.communication_key(),
            })
            .collect(),
        threshold: 2,
        answer_due_ms: vox_protocol::manifest::DAY_MS,
        decryption_due_ms: vox_protocol::manifest::DAY_MS,
        source_petition: None,
        participation: Default::default(),
    };
    manifest.validate().unwrap();
    let mh = manifest.canonical_hash();
    let mut tracker = CeremonyTracker::new(&manifest, mh).unwrap();
    let params = *tracker.params();
    let idx = |i: u32| TrusteeIndex::new(i).unwrap();
    let mut messages: Vec<CeremonyMessage> = Vec::new();
    let mut send =
        |tracker: &mut CeremonyTracker, i: u32, body: CeremonyBody, rng: &mut ChaCha20Rng| {
            let msg = CeremonyMessage::sign(&manifest, &mh, i, &tkeys[(i - 1) as usize], body, rng);
            let out = tracker.apply(&manifest, &msg, 0).unwrap();
            messages.push(msg);
            out
        };
    let dealers: Vec<Dealer> = (1..=3)
        .map(|i| Dealer::new(&params, idx(i), &mh, &mut rng).unwrap())
        .collect();
    for (i, d) in dealers.iter().enumerate() {
        let i = i as u32 + 1;
        let key = tkeys[(i - 1) as usize].announce(idx(i), &mh, &mut rng);
        send(
            &mut tracker,
            i,
            CeremonyBody::Commit {
                key,
                commitment: d.commitment(),
            },
            &mut rng,
        );
    }
    let posted = tracker.commitments();
    let revealed: Vec<_> = dealers
        .into_iter()
        .map(|d| d.reveal(&posted).unwrap())
        .collect();
    for (i, r) in revealed.iter().enumerate() {
        send(
            &mut tracker,
            i as u32 + 1,
            CeremonyBody::Reveal {
                coefficients: r.commitments().clone(),
            },
            &mut rng,
        );
    }
    let announced = tracker.trustee_keys();
    let mut all_shares: Vec<EncryptedShare> = Vec::new();
    for (i, r) in revealed.iter().enumerate() {
        let shares = r.encrypt_shares(&announced, &mut rng).unwrap();
        all_shares.extend(shares.iter().cloned());
        send(
            &mut tracker,
            i as u32 + 1,
            CeremonyBody::Shares { shares },
            &mut rng,
        );
    }
    let reveals = tracker.reveals();
    // A complaint and its two possible answers (06 §6.6), on a copy of the ceremony
    // after the shares, with their own RNG so that the messages above and below do not
    // change: trustee 2 complains about dealer 1; the honest answer reveals P_1(2) and
    // the ceremony goes on; a wrong answer fails the commitment check and the ceremony.
    let complaint_example = {
        let mut crng = ChaCha20Rng::seed_from_u64(15);
        let mut t = tracker.clone();
        let sign = |i: u32, body: CeremonyBody, r: &mut ChaCha20Rng| {
            CeremonyMessage::sign(&manifest, &mh, i, &tkeys[(i - 1) as usize], body, r)
        };
        let complaint = sign(
            2,
            CeremonyBody::Complaint {
                complaint: vox_crypto::threshold::Complaint {
                    dealer: idx(1),
                    recipient: idx(2),
                },
            },
            &mut crng,
        );
        assert_eq!(t.apply(&manifest, &complaint, 0).unwrap(), None);
        let es = all_shares
            .iter()
            .find(|e| e.dealer.get() == 1 && e.recipient.get() == 2)
            .unwrap();
        let ShareVerdict::Accepted(p12) = receive_share(
            &mh,
            idx(2),
            &tkeys[1],
            reveals.iter().find(|c| c.dealer.get() == 1).unwrap(),
            es,
        )
        .unwrap() else {
            panic!("honest share refused")
        };
        let answer = |share: Scalar, r: &mut ChaCha20Rng| {
            sign(
                1,
                CeremonyBody::Answer {
                    answer: vox_crypto::threshold::ComplaintAnswer {
                        dealer: idx(1),
                        recipient: idx(2),
                        share,
                    },
                },
                r,
            )
        };
        let p12 = *p12.expose();
        let honest = answer(p12, &mut crng);
        let wrong = answer(p12 + Scalar::ONE, &mut crng);
        let mut upheld = t.clone();
        upheld.apply(&manifest, &honest, 1).unwrap();
        assert_eq!(upheld.phase, CeremonyPhase::Confirm);
        let mut bad = t.clone();
        bad.apply(&manifest, &wrong, 1).unwrap();
        assert_eq!(bad.phase, CeremonyPhase::Confirm);
        let complaint_ref = vox_protocol::board::ComplaintRef {
            dealer: 1,
            recipient: 2,
        };
        assert_eq!(bad.pending_disqualification(), Some(complaint_ref));
        let disqualified = vox_protocol::board::BoardEntry {
            timestamp_ms: 1,
            payload: vox_protocol::board::Payload::TrusteeDisqualified {
                referendum_id: manifest.referendum_id.clone(),
                trustee: 1,
                complaint: complaint_ref,
                reason: vox_protocol::board::DisqualificationReason::BadAnswer,
            },
        };
        bad.disqualify(
            1,
            complaint_ref,
            vox_protocol::board::DisqualificationReason::BadAnswer,
            1,
        )
        .unwrap();
        assert_eq!(
            bad.qualified(),
            vec![idx(2), idx(3)],
            "dealer 1 leaves QUAL"
        );
        // Unanswered: the same complaint, no answer, disqualified 1 ms after its deadline.
        let mut late = t.clone();
        let due = manifest.answer_due_ms;
        assert!(late
            .disqualify(
                1,
                complaint_ref,
                vox_protocol::board::DisqualificationReason::Unanswered,
                due
            )
            .is_err());
        late.disqualify(
            1,
            complaint_ref,
            vox_protocol::board::DisqualificationReason::Unanswered,
            due + 1,
        )
        .unwrap();
        let unanswered = vox_protocol::board::BoardEntry {
            timestamp_ms: due + 1,
            payload: vox_protocol::board::Payload::TrusteeDisqualified {
                referendum_id: manifest.referendum_id.clone(),
                trustee: 1,
                complaint: complaint_ref,
                reason: vox_protocol::board::DisqualificationReason::Unanswered,
            },
        };
        json!({
            "description": "After the nine commit/reveal/shares messages: trustee 2 complains \
                            about dealer 1 (body tag 4); dealer 1's honest answer (tag 5) \
                            reveals P_1(2), which passes P_1(2)·G = Σ_j 2^j·K_1j, and the \
                            ceremony stays in phase confirm; a wrong answer (P_1(2) + 1) fails \
                            that check, and the next board entry must be trustee-disqualified \
                            (tag 28, reason bad-answer) removing dealer 1 from QUAL; without \
                            any answer, trustee-disqualified with reason unanswered is valid \
                            from complaint ts + answer_due_ms + 1 (the complaint here is at \
                            ts 0). Entries are given as whole board entries (timestamp, \
                            payload) with their canonical bytes (06 §6.6, §6.11; 08 table 8.1).",
            "complaint": {"message": to_json(&complaint), "canonical": hex::encode(complaint.canonical_bytes())},
            "honest_answer": {"message": to_json(&honest), "canonical": hex::encode(honest.canonical_bytes()), "phase_after": "confirm"},
            "wrong_answer": {"message": to_json(&wrong), "canonical": hex::encode(wrong.canonical_bytes()), "phase_after": "confirm", "next_entry_must_be": "trustee-disqualified"},
            "bad_answer_disqualification": {"entry": to_json(&disqualified), "canonical": hex::encode(disqualified.canonical_bytes()), "qualified_after": [2, 3]},
            "unanswered_disqualification": {"entry": to_json(&unanswered), "canonical": hex::encode(unanswered.canonical_bytes()), "qualified_after": [2, 3]},
        })
    };
    let mut key_shares = Vec::new();
    let mut joint = None;
    for (l, r) in revealed.iter().enumerate() {
        let li = idx(l as u32 + 1);
        let mut got = vec![(li, r.own_share())];
        for es in tracker.shares_for(l as u32 + 1) {
            let dealer = reveals.iter().find(|c| c.dealer == es.dealer).unwrap();
            match receive_share(&mh, li, &tkeys[l], dealer, &es).unwrap() {
                ShareVerdict::Accepted(s) => got.push((es.dealer, s)),
                ShareVerdict::Complaint(_) => panic!("honest share refused"),
            }
        }
        key_shares.push(KeyShare::combine(&params, li, &got).unwrap());
        joint = send(&mut tracker, l as u32 + 1, CeremonyBody::Confirm, &mut rng).or(joint);
    }
    let joint = joint.unwrap();
    assert_eq!(tracker.phase, CeremonyPhase::Complete);
    let (election_key, public_shares) = completed_payload(&joint).unwrap();

    // One encrypted share worked through by hand (dealer 1 → recipient 2).
    let es = all_shares
        .iter()
        .find(|e| e.dealer.get() == 1 && e.recipient.get() == 2)
        .unwrap();
    // The recipient's communication secret e: the second half of its key file.
    let e2 = Scalar::try_from_bytes(&tkeys[1].secret_bytes()[32..]).unwrap();
    let shared = e2.mul_point(&es.r);
    let mut info = mh.0.to_vec();
    info.extend_from_slice(&1u32.to_be_bytes());
    info.extend_from_slice(&2u32.to_be_bytes());
    info.extend_from_slice(es.r.as_bytes());
    info.extend_from_slice(tkeys[1].communication_key().as_bytes());
    let prk = hmac_sha256(b"vox/v2/share-kdf", &[shared.as_bytes()]);
    let k_enc = hmac_sha256(&prk, &[&info, &[1u8]]);
    let k_mac = hmac_sha256(&prk, &[&k_enc, &info, &[2u8]]);
    let plain: Vec<u8> = es
        .ciphertext
        .iter()
        .zip(k_enc)
        .map(|(c, k)| c ^ k)
        .collect();

    // A two-slot "tally" decrypted by trustees 1 and 3.
    let values = [2u64, 1];
    let tally: Vec<Ciphertext> = values
        .iter()
        .map(|m| Ciphertext::encrypt_with(&election_key, *m, &Scalar::random(&mut rng)))
        .collect();
    let share_msgs: Vec<DecryptionShareMessage> = [0usize, 2]
        .iter()
        .map(|&t| {
            let s = DecryptionShare::create(&key_shares[t], &mh, &tally, &mut rng);
            DecryptionShareMessage::sign(&manifest, &mh, &tkeys[t], s, &mut rng)
        })
        .collect();
    let set = [idx(1), idx(3)];
    let lambdas: Vec<Scalar> = set
        .iter()
        .map(|l| lagrange_coefficient(&set, *l).unwrap())
        .collect();
    let shares: Vec<DecryptionShare> = share_msgs.iter().map(|m| m.share.clone()).collect();
    let combined = combine(&params, &tally, &shares).unwrap();

    with(
        header(
            "A complete 3-trustee, threshold-2 key ceremony run through the ceremony state \
             machine with signed messages (commit ×3, reveal ×3, shares ×3, confirm ×3), one \
             encrypted share worked through by hand (HKDF-SHA256 / XOR / HMAC-SHA256), the \
             resulting joint key and public shares, and the threshold decryption of a two-slot \
             tally by trustees 1 and 3 (DLEQ-proven shares, Lagrange coefficients at 0, bounded \
             discrete log). trustee_secrets_test_only are the trustees' key files' secrets, \
             64 bytes each: the signing secret d_i (D_i = d_i·G, the manifest's signing_key) \
             then the communication secret e_i (E_i = e_i·G, its communication_key), given so \
             every encrypted share can be decrypted.",
            "protocol-spec/06-ceremony.md §6.1–§6.12",
            Some(12),
        ),
        json!({
            "manifest": to_json(&manifest),
            "manifest_hash": mh.to_hex(),
            "params": to_json(&params),
            "trustee_secrets_test_only": tkeys.iter().map(|k| hex::encode(k.secret_bytes().as_ref())).collect::<Vec<_>>(),
            "messages": messages.iter().map(|m| json!({
                "message": to_json(m),
                "canonical": hex::encode(m.canonical_bytes()),
            })).collect::<Vec<_>>(),
            "joint_public_keys": to_json(&joint),
            "ceremony_completed": {"election_key": election_key.point().to_hex(), "public_shares": to_json(&public_shares)},
            "share_encryption_example": {
                "dealer": 1,
                "recipient": 2,
                "R": es.r.to_hex(),
                "recipient_key_E": tkeys[1].communication_key().to_hex(),
                "shared_S": shared.to_hex(),
                "hkdf_salt": "vox/v2/share-kdf",
                "hkdf_info": hex::encode(&info),
                "hkdf_prk": hex::encode(prk),
                "k_enc": hex::encode(k_enc),
                "k_mac": hex::encode(k_mac),
                "share_plaintext": hex::encode(&plain),
                "ciphertext": hex::encode(es.ciphertext),
                "tag": hex::encode(es.tag),
            },
            "tally_ciphertexts": to_json(&tally),
            "tally_values": values,
            "decryption_shares": share_msgs.iter().map(|m| json!({
                "message": to_json(m),
                "canonical": hex::encode(m.canonical_bytes()),
            })).collect::<Vec<_>>(),
            "lagrange": {
                "set": [1, 3],
                "coefficients": lambdas.iter().map(Scalar::to_hex).collect::<Vec<_>>(),
            },
            "combined_points": to_json(&combined),
            "complaint_example": complaint_example,
        }),
    )
}

/// The complaint example: body encodings by hand (06 §6.10: tag 4 ‖ u32 dealer ‖
/// u32 recipient; tag 5 ‖ u32 dealer ‖ u32 recipient ‖ scalar share, at the end of the
/// signed bytes, before the 64-byte signature), the judgement by hand (P·G against dealer
/// 1's revealed commitments), and the state machine's verdict after the first nine
/// messages.
fn verify_complaint_example(x: &Value, v: &Value, manifest: &Manifest, mh: &Hash32) {
    let first_nine: Vec<CeremonyMessage> = arr(&v["messages"])
        .iter()
        .take(9)
        .map(|m| parse(&m["message"]))
        .collect();
    let dealer1 = first_nine
        .iter()
        .find_map(|m| match &m.body {
            CeremonyBody::Reveal { coefficients } if coefficients.dealer.get() == 1 => {
                Some(coefficients.commitments.clone())
            }
            _ => None,
        })
        .unwrap();
    let mut t = CeremonyTracker::new(manifest, *mh).unwrap();
    for m in &first_nine {
        t.apply(manifest, m, 0).unwrap();
    }
    let complaint: CeremonyMessage = parse(&x["complaint"]["message"]);
    complaint.verify_signature(manifest, mh).unwrap();
    let c = unhex(&x["complaint"]["canonical"]);
    assert_eq!(hex::encode(complaint.canonical_bytes()), hex::encode(&c));
    let body = &c[..c.len() - 64];
    assert_eq!(body[body.len() - 9..], [4, 0, 0, 0, 1, 0, 0, 0, 2]);
    t.apply(manifest, &complaint, 0).unwrap();
    for (key, share_ok) in [("honest_answer", true), ("wrong_answer", false)] {
        let answer: CeremonyMessage = parse(&x[key]["message"]);
        answer.verify_signature(manifest, mh).unwrap();
        let a = unhex(&x[key]["canonical"]);
        assert_eq!(hex::encode(answer.canonical_bytes()), hex::encode(&a));
        let body = &a[..a.len() - 64];
        let tail = &body[body.len() - 41..];
        assert_eq!(tail[..9], [5, 0, 0, 0, 1, 0, 0, 0, 2]);
        let share = Scalar::try_from_bytes(&tail[9..]).unwrap();
        // P_1(2)·G = Σ_j 2^j·K_1j.
        let mut rhs = Scalar::from_u64(0).mul_base();
        let mut power = Scalar::ONE;
        for k in &dealer1 {
            rhs = rhs + power.mul_point(k);
            power = power * Scalar::from_u64(2);
        }
        assert_eq!(share.mul_base() == rhs, share_ok, "{key}");
        let mut after = t.clone();
        after.apply(manifest, &answer, 1).unwrap();
        match (s(&x[key]["phase_after"]), &after.phase) {
            ("confirm", CeremonyPhase::Confirm) => {}
            (want, got) => panic!("{key}: expected {want}, got {got:?}"),
        }
        assert_eq!(after.pending_disqualification().is_some(), !share_ok);
        if !share_ok {
            disqualification_example(&x["bad_answer_disqualification"], &mut after, manifest, 1);
        }
    }
    let mut unanswered = t.clone();
    disqualification_example(
        &x["unanswered_disqualification"],
        &mut unanswered,
        manifest,
        0,
    );
}

/// A `trustee-disqualified` board entry by hand (08 table 8.1: i64 timestamp ‖ tag 28 ‖
/// str referendum_id ‖ u32 trustee ‖ u32 dealer ‖ u32 recipient ‖ u8 reason), then
/// applied to the tracker: dealer 1 leaves QUAL.
fn disqualification_example(x: &Value, t: &mut CeremonyTracker, manifest: &Manifest, code: u8) {
    let entry: vox_protocol::board::BoardEntry = parse(&x["entry"]);
    let c = unhex(&x["canonical"]);
    assert_eq!(hex::encode(entry.canonical_bytes()), hex::encode(&c));
    let mut want = entry.timestamp_ms.to_be_bytes().to_vec();
    want.push(28);
    want.extend((manifest.referendum_id.len() as u32).to_be_bytes());
    want.extend(manifest.referendum_id.as_bytes());
    want.extend([0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, code]);
    assert_eq!(hex::encode(&c), hex::encode(&want));
    let vox_protocol::board::Payload::TrusteeDisqualified {
        trustee,
        complaint,
        reason,
        ..
    } = &entry.payload
    else {
        panic!("not a trustee-disqualified entry")
    };
    t.disqualify(*trustee, *complaint, *reason, entry.timestamp_ms)
        .unwrap();
    let qual: Vec<u32> = t.qualified().iter().map(|i| i.get()).collect();
    let want_qual: Vec<u32> = arr(&x["qualified_after"])
        .iter()
        .map(|v| v.as_u64().unwrap() as u32)
        .collect();
    assert_eq!(qual, want_qual);
}

fn verify_ceremony(v: &Value) {
    let manifest: Manifest = parse(&v["manifest"]);
    manifest.validate().unwrap();
    let mh = h32(&v["manifest_hash"]);
    assert_eq!(manifest.canonical_hash(), mh);
    let params: CeremonyParams = parse(&v["params"]);
    assert_eq!((params.n(), params.k()), (3, 2));
    let secrets: Vec<TrusteeKeys> = arr(&v["trustee_secrets_test_only"])
        .iter()
        .map(|x| TrusteeKeys::from_secret_bytes(&unhex(x)).unwrap())
        .collect();
    for (k, t) in secrets.iter().zip(&manifest.trustees) {
        assert_eq!(*k.signing_key(), t.signing_key);
        assert_eq!(*k.communication_key(), t.communication_key);
    }
    // Replay every signed message through the state machine (§6.10–§6.11).
    let mut tracker = CeremonyTracker::new(&manifest, mh).unwrap();
    let mut joint = None;
    let mut hashes = std::collections::BTreeMap::new();
    for m in arr(&v["messages"]) {
        let msg: CeremonyMessage = parse(&m["message"]);
        assert_eq!(hex::encode(msg.canonical_bytes()), s(&m["canonical"]));
        msg.verify_signature(&manifest, &mh).unwrap();
        match &msg.body {
            CeremonyBody::Commit { commitment, .. } => {
                hashes.insert(commitment.dealer.get(), commitment.hash);
            }
            CeremonyBody::Reveal { coefficients } => {
                let replica = commitment_hash_replica(
                    &mh,
                    coefficients.dealer.get(),
                    &coefficients.commitments,
                    &coefficients.proofs,
                );
                assert_eq!(hashes[&coefficients.dealer.get()], replica);
            }
            _ => {}
        }
        joint = tracker.apply(&manifest, &msg, 0).unwrap().or(joint);
    }
    let joint = joint.expect("the ceremony completes");
    assert_eq!(tracker.phase, CeremonyPhase::Complete);
    verify_complaint_example(&v["complaint_example"], v, &manifest, &mh);
    let recorded: JointPublicKeys = parse(&v["joint_public_keys"]);
    assert_eq!(recorded, joint);
    let c = &v["ceremony_completed"];
    assert_eq!(*joint.election_key().point(), pt(&c["election_key"]));
    // K = Σ_i K_i0 and X_l = Σ_j l^j·C_j, recomputed from the reveals.
    let reveals = tracker.reveals();
    let k_sum = reveals
        .iter()
        .fold(Point::identity(), |acc, r| acc + r.commitments[0]);
    assert_eq!(k_sum, pt(&c["election_key"]));
    for (l, x) in arr(&c["public_shares"]).iter().enumerate() {
        let lf = Scalar::from_u64(l as u64 + 1);
        let mut acc = Point::identity();
        for r in &reveals {
            let mut pow = Scalar::ONE;
            for k in &r.commitments {
                acc = acc + pow.mul_point(k);
                pow = pow * lf;
            }
        }
        assert_eq!(acc, pt(x));
    }
    // Every encrypted share decrypts under its recipient's key and matches the commitments.
    for l in 1..=3u32 {
        for es in tracker.shares_for(l) {
            let dealer = reveals.iter().find(|r| r.dealer == es.dealer).unwrap();
            let verdict = receive_share(
                &mh,
                TrusteeIndex::new(l).unwrap(),
                &secrets[(l - 1) as usize],
                dealer,
                &es,
            )
            .unwrap();
            assert!(matches!(verdict, ShareVerdict::Accepted(_)));
        }
    }
    // The worked share, from the spec alone.
    let ex = &v["share_encryption_example"];
    let e2 = Scalar::try_from_bytes(&secrets[1].secret_bytes()[32..]).unwrap();
    let r = pt(&ex["R"]);
    assert_eq!(e2.mul_point(&r), pt(&ex["shared_S"]));
    let mut info = mh.0.to_vec();
    info.extend_from_slice(&(u(&ex["dealer"]) as u32).to_be_bytes());
    info.extend_from_slice(&(u(&ex["recipient"]) as u32).to_be_bytes());
    info.extend_from_slice(r.as_bytes());
    info.extend_from_slice(pt(&ex["recipient_key_E"]).as_bytes());
    assert_eq!(hex::encode(&info), s(&ex["hkdf_info"]));
    let prk = hmac_sha256(
        s(&ex["hkdf_salt"]).as_bytes(),
        &[pt(&ex["shared_S"]).as_bytes()],
    );
    assert_eq!(hex::encode(prk), s(&ex["hkdf_prk"]));
    let k_enc = hmac_sha256(&prk, &[&info, &[1u8]]);
    let k_mac = hmac_sha256(&prk, &[&k_enc, &info, &[2u8]]);
    assert_eq!(hex::encode(k_enc), s(&ex["k_enc"]));
    assert_eq!(hex::encode(k_mac), s(&ex["k_mac"]));
    let ct = unhex(&ex["ciphertext"]);
    assert_eq!(
        hex::encode(hmac_sha256(&k_mac, &[r.as_bytes(), &ct])),
        s(&ex["tag"])
    );
    let plain: Vec<u8> = ct.iter().zip(k_enc).map(|(c, k)| c ^ k).collect();
    assert_eq!(hex::encode(&plain), s(&ex["share_plaintext"]));
    let share = Scalar::try_from_bytes(&plain).unwrap();
    let dealer1 = reveals.iter().find(|r| r.dealer.get() == 1).unwrap();
    dealer1
        .verify_share(TrusteeIndex::new(2).unwrap(), &share)
        .unwrap();
    // Decryption shares (§6.8) and their combination (§6.9).
    let tally: Vec<Ciphertext> = parse(&v["tally_ciphertexts"]);
    let mut shares = Vec::new();
    for m in arr(&v["decryption_shares"]) {
        let msg: DecryptionShareMessage = parse(&m["message"]);
        assert_eq!(hex::encode(msg.canonical_bytes()), s(&m["canonical"]));
        msg.check(&manifest, &mh, &joint, &tally, &mut SingleVerifier)
            .unwrap();
        shares.push(msg.share);
    }
    let set: Vec<TrusteeIndex> = arr(&v["lagrange"]["set"])
        .iter()
        .map(|i| TrusteeIndex::new(u(i) as u32).unwrap())
        .collect();
    assert_eq!(shares.iter().map(|s| s.trustee).collect::<Vec<_>>(), set);
    let lambdas: Vec<Scalar> = arr(&v["lagrange"]["coefficients"]).iter().map(sc).collect();
    // λ_1 = 3/(3 − 1), λ_3 = 1/(1 − 3).
    assert_eq!(
        lambdas[0],
        Scalar::from_u64(3) * Scalar::from_u64(2).invert()
    );
    assert_eq!(lambdas[1], -Scalar::from_u64(2).invert());
    for (l, lambda) in set.iter().zip(&lambdas) {
        assert_eq!(lagrange_coefficient(&set, *l).unwrap(), *lambda);
    }
    let combined: Vec<Point> = parse(&v["combined_points"]);
    let values: Vec<u64> = parse(&v["tally_values"]);
    let table = DlogTable::new(16).unwrap();
    for (p, ((ct, want), point)) in tally.iter().zip(&values).zip(&combined).enumerate() {
        let mut acc = ct.b;
        for (share, lambda) in shares.iter().zip(&lambdas) {
            acc = acc - lambda.mul_point(&share.shares[p]);
        }
        assert_eq!(acc, *point);
        assert_eq!(table.solve(point).unwrap(), *want);
    }
    let points = joint
        .verify_and_combine(&mh, &tally, &shares, &mut rng(0))
        .unwrap();
    assert_eq!(points, combined);
}

#[test]
fn ceremony() {
    check("ceremony.json", gen_ceremony, verify_ceremony);
}

// =======================================================================================
// §8.1 Merkle tree
// =======================================================================================

/// Leaf inputs and roots of the Certificate Transparency reference tests
/// (transparency-dev/merkle `testonly/constants.go`).
const CT_LEAVES: [&str; 8] = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
];
const CT_ROOT_8: &str = "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328";
const CT_ROOT_0: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

fn gen_merkle() -> Value {
    let leaves: Vec<Vec<u8>> = CT_LEAVES.iter().map(|l| hex::decode(l).unwrap()).collect();
    let hashes: Vec<NodeHash> = leaves.iter().map(|l| leaf_hash(l)).collect();
    let roots: Vec<Value> = (0..=8)
        .map(|n| json!({"tree_size": n, "root": root_from_leaf_hashes(&hashes[..n]).to_hex()}))
        .collect();
    let mut inclusion = Vec::new();
    for (index, size) in [(0u64, 1u64), (0, 8), (5, 8), (2, 3), (6, 7)] {
        let proof = inclusion_proof(&hashes[..size as usize], index).unwrap();
        inclusion.push(json!({
            "leaf_index": index,
            "tree_size": size,
            "leaf_hash": hashes[index as usize].to_hex(),
            "root": root_from_leaf_hashes(&hashes[..size as usize]).to_hex(),
            "proof": proof.iter().map(NodeHash::to_hex).collect::<Vec<_>>(),
        }));
    }
    let mut consistency = Vec::new();
    for (m, n) in [(1u64, 8u64), (3, 7), (4, 8), (6, 8), (2, 5), (8, 8), (0, 8)] {
        let proof = consistency_proof(&hashes[..n as usize], m).unwrap();
        consistency.push(json!({
            "first": m,
            "second": n,
            "first_root": root_from_leaf_hashes(&hashes[..m as usize]).to_hex(),
            "second_root": root_from_leaf_hashes(&hashes[..n as usize]).to_hex(),
            "proof": proof.iter().map(NodeHash::to_hex).collect::<Vec<_>>(),
        }));
    }
    with(
        header(
            "RFC 6962 / RFC 9162 Merkle tree hashing on the Certificate Transparency reference \
             leaves: leaf hash = SHA-256(0x00 ‖ leaf), node hash = SHA-256(0x01 ‖ left ‖ right), \
             empty root = SHA-256(\"\"). Roots for every size 0..8, inclusion proofs (audit paths, \
             from the leaf's sibling up) and consistency proofs (RFC 9162 §2.1.4 order).",
            "protocol-spec/08-board.md §8.1",
            None,
        ),
        json!({
            "leaves": CT_LEAVES,
            "leaf_hashes": hashes.iter().map(NodeHash::to_hex).collect::<Vec<_>>(),
            "node_hash_example": {
                "left": hashes[0].to_hex(),
                "right": hashes[1].to_hex(),
                "node": node_hash(&hashes[0], &hashes[1]).to_hex(),
            },
            "roots": roots,
            "inclusion": inclusion,
            "consistency": consistency,
        }),
    )
}

fn verify_merkle(v: &Value) {
    let leaves: Vec<Vec<u8>> = arr(&v["leaves"]).iter().map(unhex).collect();
    let hashes: Vec<NodeHash> = arr(&v["leaf_hashes"]).iter().map(nh).collect();
    for (l, h) in leaves.iter().zip(&hashes) {
        assert_eq!(NodeHash(sha256(&[&[0u8], l])), *h);
        assert_eq!(leaf_hash(l), *h);
    }
    let ex = &v["node_hash_example"];
    let (l, r) = (nh(&ex["left"]), nh(&ex["right"]));
    assert_eq!(NodeHash(sha256(&[&[1u8], &l.0, &r.0])), nh(&ex["node"]));
    for root in arr(&v["roots"]) {
        let n = u(&root["tree_size"]) as usize;
        assert_eq!(root_from_leaf_hashes(&hashes[..n]), nh(&root["root"]));
    }
    // Known answers from the CT reference implementation.
    assert_eq!(s(&arr(&v["roots"])[8]["root"]), CT_ROOT_8);
    assert_eq!(s(&arr(&v["roots"])[0]["root"]), CT_ROOT_0);
    for inc in arr(&v["inclusion"]) {
        let proof: Vec<NodeHash> = arr(&inc["proof"]).iter().map(nh).collect();
        verify_inclusion(
            &nh(&inc["leaf_hash"]),
            u(&inc["leaf_index"]),
            u(&inc["tree_size"]),
            &proof,
            &nh(&inc["root"]),
        )
        .unwrap();
        // A wrong index fails.
        assert!(verify_inclusion(
            &nh(&inc["leaf_hash"]),
            u(&inc["leaf_index"]) ^ 1,
            u(&inc["tree_size"]),
            &proof,
            &nh(&inc["root"])
        )
        .is_err());
    }
    for con in arr(&v["consistency"]) {
        let proof: Vec<NodeHash> = arr(&con["proof"]).iter().map(nh).collect();
        verify_consistency(
            u(&con["first"]),
            u(&con["second"]),
            &nh(&con["first_root"]),
            &nh(&con["second_root"]),
            &proof,
        )
        .unwrap();
    }
}

#[test]
fn merkle() {
    check("merkle.json", gen_merkle, verify_merkle);
}

// =======================================================================================
// §8.2–8.5 board entries, signed tree heads, cosignatures, receipts
// =======================================================================================

/// RFC 8032 §7.1 TEST 1 secret key: the board's key in this vector.
const BOARD_SEED: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
/// RFC 8032 §7.1 TEST 2 secret key: a witness.
const WITNESS_SEED: &str = "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb";
/// The vector witness's C2SP key name and the time of its cosignature (POSIX seconds).
const WITNESS_NAME: &str = "witness.vox.example/w1";
const WITNESS_TIMESTAMP: u64 = 1_767_226_200;

fn signing_key(seed_hex: &str) -> SigningKey {
    SigningKey::from_bytes(&hex::decode(seed_hex).unwrap().try_into().unwrap())
}

/// (tag byte, JSON type) of every payload kind (08-board table 8.1).
const KINDS: [(u8, &str); 24] = [
    (0, "genesis"),
    (1, "electorate-registered"),
    (2, "petition-proposed"),
    (3, "petition-signed"),
    (4, "petition-threshold"),
    (5, "petition-moderated"),
    (6, "petition-responded"),
    (7, "signatures-invalidated"),
    (8, "petition-closed"),
    (9, "referendum-created"),
    (10, "ceremony"),
    (11, "ceremony-completed"),
    (12, "referendum-opened"),
    (13, "ballot-cast"),
    (14, "ballot-audited"),
    (15, "referendum-closed"),
    (16, "tally-computed"),
    (17, "decryption-share"),
    (18, "result-published"),
    (19, "role-key-rotated"),
    (26, "trustee-panel-set"),
    (27, "referendum-triggered"),
    (29, "shares-overdue"),
    (31, "petition-ring-signed"),
];

/// The log name of the board vector's genesis.
const BOARD_LOG_NAME: &str = "vox.example.org/vector-board";

/// A small board with one entry of every kind: a petition and a one-trustee referendum.
fn board_entries() -> Vec<BoardEntry> {
    let mut rng = rng(13);
    let creds: Vec<Credential> = (0..3).map(|_| Credential::generate(&mut rng)).collect();
    let electorate = Electorate {
        id: "vector-board-electorate".into(),
        name: "Test-vector village".into(),
        entries: creds
            .iter()
            .map(|c| ElectorateEntry {
                credential: c.public_key(),
                region: Some("centre".into()),
            })
            .collect(),
    };
    let petition = Petition {
        id: "vector-petition".into(),
        action: "Open the library on Sundays".into(),
        background: "Many residents work on weekdays.".into(),
        details: String::new(),
        electorate_hash: electorate.canonical_hash(),
        sponsor_threshold: 2,
        response_threshold: 2,
        referendum_threshold: 3,
        open_for_ms: 30 * 24 * 3600 * 1000,
        response_due_ms: 14 * 24 * 3600 * 1000,
        region_min_group: 1,
        signatures: Default::default(),
    };
    let proposal = PetitionProposal::create(petition.clone(), &creds[0], &mut rng);
    let sign = PetitionSignature::create(&petition, &creds[1], SignatureAction::Sign, &mut rng);
    // A ring-signed petition (07 §7.10) on the same electorate, signed by creds[2] in the
    // one ring of region "centre" (3 members, 16 slots).
    let ring_petition = Petition {
        id: "vector-ring-petition".into(),
        signatures: SignatureScheme::Ring,
        ..petition.clone()
    };
    let ring_proposal = PetitionProposal::create(ring_petition.clone(), &creds[0], &mut rng);
    let rings = RingSet::for_petition(&electorate, &electorate.index(), u64::MAX, 0, 1).unwrap();
    let ring_sign = RingPetitionSignature::create(
        &ring_petition,
        &rings,
        &creds[2],
        SignatureAction::Sign,
        &mut rng,
    )
    .unwrap();
    let tkey = TrusteeKeys::generate(&mut rng);
    let manifest = Manifest {
        version: MANIFEST_VERSION,
        referendum_id: "vector-board-referendum".into(),
        title: "Sunday opening".into(),
        description: "Advisory referendum".into(),
        questions: vec![Question {
            id: "q1".into(),
            text: "Open on Sundays?".into(),
            options: vec!["yes".into(), "no".into()],
            kind: QuestionKind::YesNo,
        }],
        opens_at: OPENS_AT,
        closes_at: CLOSES_AT,
        electorate_hash: electorate.canonical_hash(),
        trustees: vec![TrusteeInfo {
            index: 1,
            name: "Sole trustee".into(),
            signing_key: *tkey.signing_key(),
            communication_key: *tkey.communication_key(),
        }],
        threshold: 1,
        answer_due_ms: vox_protocol::manifest::DAY_MS,
        decryption_due_ms: vox_protocol::manifest::DAY_MS,
        source_petition: Some(petition.id.clone()),
        participation: Default::default(),
    };
    let mh = manifest.canonical_hash();
    let params = CeremonyParams::new(1, 1).unwrap();
    let dealer = Dealer::new(&params, TrusteeIndex::new(1).unwrap(), &mh, &mut rng).unwrap();
    let posted = [dealer.commitment()];
    let revealed = dealer.reveal(&posted).unwrap();
    let joint =
        JointPublicKeys::from_commitments(&params, &mh, &[revealed.commitments().clone()]).unwrap();
    let key_share = KeyShare::combine(
        &params,
        TrusteeIndex::new(1).unwrap(),
        &[(TrusteeIndex::new(1).unwrap(), revealed.own_share())],
    )
    .unwrap();
    let confirm = CeremonyMessage::sign(&manifest, &mh, 1, &tkey, CeremonyBody::Confirm, &mut rng);
    let ctx = BallotContext::new(&manifest, *joint.election_key());
    let (ballot, _) = encrypt_ballot(&ctx, &creds[1], &vec![vec![1, 0]], None, &mut rng).unwrap();
    let (spoiled, secrets) =
        encrypt_ballot(&ctx, &creds[2], &vec![vec![0, 1]], None, &mut rng).unwrap();
    let audited = AuditedBallot::new(spoiled, secrets);
    let tally = EncryptedTally {
        referendum_id: manifest.referendum_id.clone(),
        counted_ballots: 1,
        counted_hash: counted_hash([&ballot.hash()]),
        ciphertexts: ballot.answers[0].ciphertexts.clone(),
    };
    let share = DecryptionShare::create(&key_share, &mh, &tally.ciphertexts, &mut rng);
    let share_msg = DecryptionShareMessage::sign(&manifest, &mh, &tkey, share, &mut rng);
    let result = ReferendumResult {
        referendum_id: manifest.referendum_id.clone(),
        counted_ballots: 1,
        counts: vec![vec![1, 0]],
        trustees: vec![1],
    };
    // The standing panel (tag 26) and the referendum the petition's terms oblige with it
    // (tag 27; 07 §7.4), as if triggered a minute after voting opened for `manifest`.
    let panel = vox_protocol::manifest::TrusteePanel {
        trustees: manifest.trustees.clone(),
        threshold: manifest.threshold,
        answer_due_ms: vox_protocol::manifest::DAY_MS,
        decryption_due_ms: 2 * vox_protocol::manifest::DAY_MS,
    };
    let triggered = vector_terms().manifest(&petition, &panel, OPENS_AT + 60_000);
    // Role keys (protocol-spec/11-roles.md): the operator's is the board key (RFC 8032
    // TEST 1); the three authority keys and the petitions office's key after its rotation
    // are drawn from this RNG. The witness (RFC 8032 TEST 2) is the genesis's only witness.
    let mut signers = RoleSigners {
        operator: signing_key(BOARD_SEED),
        registrar: SigningKey::generate(&mut rng),
        petitions_office: SigningKey::generate(&mut rng),
        election_authority: SigningKey::generate(&mut rng),
    };
    let new_office = SigningKey::generate(&mut rng);
    let genesis = signers
        .genesis(
            BOARD_LOG_NAME,
            OPENS_AT - 3_600_000,
            WitnessPolicy {
                keys: vec![BoardPublicKey(signing_key(WITNESS_SEED).verifying_key())],
                quorum: 1,
            },
        )
        .unwrap();
    let log_id = signers.log_id();
    let new_office_pk = BoardPublicKey(new_office.verifying_key());
    let possession = Sig(new_office.sign(&possession_message(
        &log_id,
        Role::PetitionsOffice,
        &new_office_pk,
    )));
    let act = ActSignature::unsigned();
    let pid = petition.id.clone();
    let rid = manifest.referendum_id.clone();
    let payloads = vec![
        Payload::Genesis { genesis },
        Payload::ElectorateRegistered { electorate, act },
        Payload::PetitionProposed { proposal },
        Payload::PetitionSigned { signature: sign },
        Payload::PetitionThreshold {
            petition_id: pid.clone(),
            kind: ThresholdKind::Sponsor,
            count: 2,
        },
        Payload::PetitionModerated {
            petition_id: pid.clone(),
            moderation: Moderation::Publish {
                // Within 07 §7.4's bound: publish time < closes_at ≤ publish time + open_for_ms.
                closes_at: OPENS_AT + 30 * 24 * 3600 * 1000,
                referendum: vector_terms(),
            },
            act,
        },
        Payload::PetitionModerated {
            petition_id: "another-petition".into(),
            moderation: Moderation::Reject {
                reason: "Duplicate of vector-petition".into(),
            },
            act,
        },
        // The petitions office replaces its key: the acts below are signed with the new one.
        Payload::RoleKeyRotated {
            role: Role::PetitionsOffice,
            new_key: new_office_pk,
            possession,
            act,
        },
        Payload::PetitionSigned {
            signature: PetitionSignature::create(
                &petition,
                &creds[1],
                SignatureAction::Withdraw,
                &mut rng,
            ),
        },
        Payload::PetitionResponded {
            petition_id: pid.clone(),
            text: "The council will consider it.".into(),
            act,
        },
        Payload::SignaturesInvalidated {
            petition_id: pid.clone(),
            credentials: vec![creds[0].public_key()],
            tags: Vec::new(),
            reason: "Example invalidation".into(),
            act,
        },
        Payload::PetitionClosed {
            petition_id: pid.clone(),
            count: 0,
        },
        Payload::ReferendumCreated { manifest, act },
        Payload::Ceremony { message: confirm },
        Payload::CeremonyCompleted {
            referendum_id: rid.clone(),
            election_key: *joint.election_key(),
            public_shares: vec![*joint.public_share(TrusteeIndex::new(1).unwrap()).unwrap()],
        },
        Payload::ReferendumOpened {
            referendum_id: rid.clone(),
        },
        Payload::BallotCast { ballot },
        Payload::BallotAudited { audited },
        Payload::ReferendumClosed {
            referendum_id: rid.clone(),
        },
        Payload::TallyComputed { tally },
        Payload::DecryptionShare { share: share_msg },
        Payload::ResultPublished { result },
        Payload::TrusteePanelSet { panel, act },
        Payload::ReferendumTriggered {
            manifest: triggered,
        },
        Payload::SharesOverdue {
            referendum_id: rid.clone(),
            trustees: vec![1],
        },
        Payload::PetitionProposed {
            proposal: ring_proposal,
        },
        Payload::PetitionRingSigned {
            signature: Box::new(ring_sign),
        },
    ];
    // Each act is signed (by its role's current key) 2 s before the board appends it.
    let mut entries = Vec::new();
    for (i, payload) in payloads.into_iter().enumerate() {
        let timestamp_ms = OPENS_AT - 1000 + (i as i64) * 60_000;
        let payload = match payload.act_role() {
            Some(_) => signers.sign(payload, timestamp_ms - 2000).unwrap(),
            None => payload,
        };
        if matches!(payload, Payload::RoleKeyRotated { .. }) {
            signers.petitions_office = new_office.clone();
        }
        entries.push(BoardEntry {
            timestamp_ms,
            payload,
        });
    }
    entries
}

fn gen_board() -> Value {
    let entries = board_entries();
    let board = signing_key(BOARD_SEED);
    let board_pk = BoardPublicKey(board.verifying_key());
    let log_id = board_pk.log_id();
    let leaves: Vec<NodeHash> = entries.iter().map(BoardEntry::leaf_hash).collect();
    let entries_json: Vec<Value> = entries
        .iter()
        .zip(&leaves)
        .map(|(e, l)| {
            let bytes = e.canonical_bytes();
            json!({
                "tag": bytes[8],
                "entry": to_json(e),
                "canonical": hex::encode(&bytes),
                "leaf_hash": l.to_hex(),
            })
        })
        .collect();
    let small = 12usize;
    let heads: Vec<SignedTreeHead> = [small, entries.len()]
        .iter()
        .map(|&n| {
            SignedTreeHead::sign(
                TreeHead {
                    tree_size: n as u64,
                    root_hash: root_from_leaf_hashes(&leaves[..n]),
                    timestamp_ms: entries[n - 1].timestamp_ms + 500,
                },
                BOARD_LOG_NAME,
                &board,
            )
            .unwrap()
        })
        .collect();
    let witness = signing_key(WITNESS_SEED);
    let mut latest = heads[1].clone();
    let cosig = latest
        .cosign(WITNESS_NAME, &witness, WITNESS_TIMESTAMP)
        .unwrap();
    latest.cosignatures.push(cosig.clone());
    let cosign_message = vox_protocol::tlog::cosignature_v1_message(
        WITNESS_TIMESTAMP,
        &latest.checkpoint_text().unwrap(),
    )
    .unwrap();
    let consistency = consistency_proof(&leaves, small as u64).unwrap();
    // A receipt for the ballot-cast entry against the latest head.
    let ballot_index = entries
        .iter()
        .position(|e| matches!(e.payload, Payload::BallotCast { .. }))
        .unwrap();
    let Payload::BallotCast { ballot } = &entries[ballot_index].payload else {
        unreachable!()
    };
    let receipt = Receipt {
        referendum_id: ballot.referendum_id.clone(),
        tracking_code: ballot.tracking_code(),
        ballot_hash: ballot.hash(),
        leaf_index: ballot_index as u64,
        entry_timestamp_ms: entries[ballot_index].timestamp_ms,
        leaf_hash: leaves[ballot_index],
        tree_head: latest.clone(),
        inclusion_proof: inclusion_proof(&leaves, ballot_index as u64).unwrap(),
        signature: vox_protocol::board::unsigned(),
    }
    .sign(&board);
    with(
        header(
            &format!(
                "A small board with one entry of every payload kind (a petition and a \
                 one-trustee referendum; each entry is valid in its own context, but the \
                 sequence is an example, not a board that follows every lifecycle rule), with \
                 canonical bytes and leaf hashes. Leaf 0 is the genesis (signed by all four \
                 roles, the witness below as its only witness, quorum 1); every authority act \
                 carries its role's signature; the petitions office rotates its key at leaf 7 \
                 and signs its later acts with the new key. Two signed tree heads (sizes {small} \
                 and {}) with a consistency proof; a witness cosignature; and a signed receipt \
                 for the ballot-cast entry. Ed25519 keys: the RFC 8032 §7.1 TEST 1 (board = \
                 operator) and TEST 2 (witness) secret keys; the other role keys are drawn from \
                 the RNG.",
                entries.len()
            ),
            "protocol-spec/08-board.md §8.2–§8.5, protocol-spec/11-roles.md §11.2–§11.4",
            Some(13),
        ),
        json!({
            "board_secret_seed": BOARD_SEED,
            "board_public_key": board_pk.to_hex(),
            "log_id": log_id.to_hex(),
            "witness_secret_seed": WITNESS_SEED,
            "witness_public_key": hex::encode(witness.verifying_key().as_bytes()),
            "entries": entries_json,
            "tree_heads": heads.iter().map(|h| json!({
                "signed_tree_head": to_json(h),
                "checkpoint_text": h.checkpoint_text().unwrap(),
                "signed_note": h.to_note(&board_pk).unwrap(),
            })).collect::<Vec<_>>(),
            "consistency": {"first": small, "second": entries.len(), "proof": consistency.iter().map(NodeHash::to_hex).collect::<Vec<_>>()},
            "cosigned_tree_head": to_json(&latest),
            "cosigned_note": latest.to_note(&board_pk).unwrap(),
            "board_vkey": board_note_key(&board_pk, BOARD_LOG_NAME).unwrap().to_string(),
            "witness_vkey": cosig.verifier_key().unwrap().to_string(),
            "cosignature_message": String::from_utf8(cosign_message).unwrap(),
            "receipt": to_json(&receipt),
            "receipt_signed_message": hex::encode(receipt_message_replica(&receipt, &log_id)),
        }),
    )
}

// ---- spec replicas of 11-roles (genesis, act messages, possession) -------------------

/// Role names in code order (table 11.1): index = the role's byte.
const ROLE_NAMES: [&str; 4] = [
    "operator",
    "registrar",
    "petitions-office",
    "election-authority",
];
/// The genesis `keys` JSON fields, in code order.
const ROLE_FIELDS: [&str; 4] = [
    "operator",
    "registrar",
    "petitions_office",
    "election_authority",
];

fn role_code(name: &str) -> u8 {
    ROLE_NAMES
        .iter()
        .position(|r| *r == name)
        .unwrap_or_else(|| panic!("unknown role {name}")) as u8
}
fn key32(v: &Value) -> [u8; 32] {
    unhex(v).try_into().unwrap()
}
fn sig64(v: &Value) -> Signature {
    Signature::from_bytes(&unhex(v).try_into().unwrap())
}
/// Ed25519 (RFC 8032, strict: canonical S, no small-order R or key) with dalek only.
fn ed25519_ok(key: &[u8; 32], msg: &[u8], sig: &Signature) -> bool {
    VerifyingKey::from_bytes(key).is_ok_and(|k| k.verify_strict(msg, sig).is_ok())
}

/// Spec replica of 11 §11.2: the genesis body, from its JSON.
fn genesis_body_replica(g: &Value) -> Vec<u8> {
    let mut b = Vec::new();
    enc_str(&mut b, s(&g["log_name"]));
    b.extend_from_slice(&int(&g["created_at_ms"]).to_be_bytes());
    for f in ROLE_FIELDS {
        b.extend_from_slice(&key32(&g["keys"][f]));
    }
    let witnesses = arr(&g["witnesses"]["keys"]);
    b.extend_from_slice(&be32(witnesses.len()));
    for w in witnesses {
        b.extend_from_slice(&key32(w));
    }
    b.extend_from_slice(
        &u32::try_from(u(&g["witnesses"]["quorum"]))
            .unwrap()
            .to_be_bytes(),
    );
    match g.get("predecessor") {
        None | Some(Value::Null) => b.push(0),
        Some(p) => {
            b.push(1);
            b.extend_from_slice(&key32(&p["log_id"]));
            b.extend_from_slice(&u(&p["tree_size"]).to_be_bytes());
            b.extend_from_slice(&key32(&p["root_hash"]));
        }
    }
    b
}

/// Spec replica of 11 §11.2: `"vox/v2/genesis" ‖ 0x00 ‖ body`.
fn genesis_message_replica(g: &Value) -> Vec<u8> {
    let mut m = b"vox/v2/genesis\x00".to_vec();
    m.extend(genesis_body_replica(g));
    m
}

/// Spec replica of 11 §11.2: the genesis's canonical encoding (body, then the
/// signatures as a sequence of `u8(role) ‖ 64 bytes`).
fn genesis_canonical_replica(g: &Value) -> Vec<u8> {
    let mut b = genesis_body_replica(g);
    let sigs = arr(&g["signatures"]);
    b.extend_from_slice(&be32(sigs.len()));
    for x in sigs {
        b.push(role_code(s(&x["role"])));
        b.extend(unhex(&x["signature"]));
    }
    b
}

/// Spec replica of the genesis rules of 11 §11.2, from the JSON alone.
fn genesis_verdict_replica(g: &Value) -> std::result::Result<(), &'static str> {
    let name = s(&g["log_name"]);
    if name.is_empty() || name.len() > 255 {
        return Err("log_name length");
    }
    if !name
        .bytes()
        .all(|b| (0x21..=0x7e).contains(&b) && b != b'+')
    {
        return Err("log_name characters");
    }
    let mut keys: Vec<[u8; 32]> = ROLE_FIELDS.iter().map(|f| key32(&g["keys"][f])).collect();
    keys.extend(arr(&g["witnesses"]["keys"]).iter().map(key32));
    let distinct: std::collections::BTreeSet<[u8; 32]> = keys.iter().copied().collect();
    if distinct.len() != keys.len() {
        return Err("keys not pairwise distinct");
    }
    if u(&g["witnesses"]["quorum"]) > arr(&g["witnesses"]["keys"]).len() as u64 {
        return Err("quorum larger than the witnesses");
    }
    let sigs = arr(&g["signatures"]);
    if sigs.len() != 4 {
        return Err("not four signatures");
    }
    let msg = genesis_message_replica(g);
    for (code, x) in sigs.iter().enumerate() {
        if usize::from(role_code(s(&x["role"]))) != code {
            return Err("signatures not one per role in role order");
        }
        if !ed25519_ok(
            &key32(&g["keys"][ROLE_FIELDS[code]]),
            &msg,
            &sig64(&x["signature"]),
        ) {
            return Err("a signature does not verify");
        }
    }
    Ok(())
}

/// Spec replica of 11 §11.3: `"vox/v2/act" ‖ 0x00 ‖ log id ‖ u8(role) ‖
/// i64(issued_at_ms) ‖ payload body`.
fn act_message_replica(log_id: &Hash32, role: u8, issued_at_ms: i64, body: &[u8]) -> Vec<u8> {
    let mut m = b"vox/v2/act\x00".to_vec();
    m.extend_from_slice(&log_id.0);
    m.push(role);
    m.extend_from_slice(&issued_at_ms.to_be_bytes());
    m.extend_from_slice(body);
    m
}

/// Spec replica of 11 §11.3: the canonical act suffix `i64(issued_at_ms) ‖ signature`.
fn act_suffix_replica(act: &Value) -> Vec<u8> {
    let mut b = int(&act["issued_at_ms"]).to_be_bytes().to_vec();
    let sig = unhex(&act["signature"]);
    assert_eq!(sig.len(), 64);
    b.extend(sig);
    b
}

/// Spec replica of 11 §11.4: `"vox/v2/role-key" ‖ 0x00 ‖ log id ‖ u8(role) ‖ new key`.
fn possession_message_replica(log_id: &Hash32, role: u8, new_key: &[u8; 32]) -> Vec<u8> {
    let mut m = b"vox/v2/role-key\x00".to_vec();
    m.extend_from_slice(&log_id.0);
    m.push(role);
    m.extend_from_slice(new_key);
    m
}

/// The role an entry's JSON needs (table 8.1), if it is an authority act.
fn act_role_replica(payload: &Value) -> Option<u8> {
    match s(&payload["type"]) {
        "electorate-registered" => Some(1),
        "petition-moderated"
        | "petition-responded"
        | "signatures-invalidated"
        | "petition-policy-set" => Some(2),
        "referendum-created" | "trustee-panel-set" => Some(3),
        "role-key-rotated" => Some(role_code(s(&payload["role"]))),
        "witness-policy-set" => Some(0),
        _ => None,
    }
}

/// Spec replica of 04 §4.2: a question's canonical bytes.
fn question_replica(b: &mut Vec<u8>, q: &Value) {
    enc_str(b, s(&q["id"]));
    enc_str(b, s(&q["text"]));
    let options = arr(&q["options"]);
    b.extend_from_slice(&be32(options.len()));
    for o in options {
        enc_str(b, s(o));
    }
    let k = &q["kind"];
    match s(&k["type"]) {
        "yes-no" => b.push(0),
        "choose-one" => {
            b.push(1);
            b.push(u8::from(k["blank_allowed"].as_bool().unwrap()));
        }
        "approve" => {
            b.push(2);
            b.extend_from_slice(&u32::try_from(u(&k["min"])).unwrap().to_be_bytes());
            b.extend_from_slice(&u32::try_from(u(&k["max"])).unwrap().to_be_bytes());
        }
        "score" => {
            b.push(3);
            b.extend_from_slice(&u32::try_from(u(&k["max"])).unwrap().to_be_bytes());
        }
        other => panic!("unknown question kind {other}"),
    }
}

/// Spec replica of 04 §4.2: a seq of questions.
fn questions_replica(b: &mut Vec<u8>, qs: &Value) {
    let qs = arr(qs);
    b.extend_from_slice(&be32(qs.len()));
    for q in qs {
        question_replica(b, q);
    }
}

/// Spec replica of 04 §4.2: a seq of trustees.
fn trustees_replica(b: &mut Vec<u8>, ts: &Value) {
    let ts = arr(ts);
    b.extend_from_slice(&be32(ts.len()));
    for t in ts {
        b.extend_from_slice(&u32::try_from(u(&t["index"])).unwrap().to_be_bytes());
        enc_str(b, s(&t["name"]));
        b.extend_from_slice(&key32(&t["signing_key"]));
        b.extend_from_slice(&key32(&t["communication_key"]));
    }
}

/// Spec replica of 04 §4.2: a manifest's canonical bytes.
fn manifest_replica(b: &mut Vec<u8>, m: &Value) {
    b.extend_from_slice(&u32::try_from(u(&m["version"])).unwrap().to_be_bytes());
    enc_str(b, s(&m["referendum_id"]));
    enc_str(b, s(&m["title"]));
    enc_str(b, s(&m["description"]));
    questions_replica(b, &m["questions"]);
    b.extend_from_slice(&int(&m["opens_at"]).to_be_bytes());
    b.extend_from_slice(&int(&m["closes_at"]).to_be_bytes());
    b.extend_from_slice(&key32(&m["electorate_hash"]));
    trustees_replica(b, &m["trustees"]);
    b.extend_from_slice(&u32::try_from(u(&m["threshold"])).unwrap().to_be_bytes());
    b.extend_from_slice(&int(&m["answer_due_ms"]).to_be_bytes());
    b.extend_from_slice(&int(&m["decryption_due_ms"]).to_be_bytes());
    match m.get("source_petition") {
        None | Some(Value::Null) => b.push(0),
        Some(p) => {
            b.push(1);
            enc_str(b, s(p));
        }
    }
    // u8(participation): 0 pseudonymous (absent from the JSON), 1 anonymous.
    b.push(match m.get("participation").and_then(Value::as_str) {
        None | Some("pseudonymous") => 0,
        Some("anonymous") => 1,
        Some(other) => panic!("unknown participation {other}"),
    });
}

/// Spec replica of table 8.1: an authority act's payload body (tag and fields, without
/// the act signature) from its JSON.
fn act_body_replica(payload: &Value) -> Option<Vec<u8>> {
    let mut b = Vec::new();
    match s(&payload["type"]) {
        "electorate-registered" => {
            let el = &payload["electorate"];
            b.push(1);
            enc_str(&mut b, s(&el["id"]));
            enc_str(&mut b, s(&el["name"]));
            let entries = arr(&el["entries"]);
            b.extend_from_slice(&be32(entries.len()));
            for e in entries {
                b.extend_from_slice(&key32(&e["credential"]));
                match e.get("region") {
                    None | Some(Value::Null) => b.push(0),
                    Some(r) => {
                        b.push(1);
                        enc_str(&mut b, s(r));
                    }
                }
            }
        }
        "petition-moderated" => {
            b.push(5);
            enc_str(&mut b, s(&payload["petition_id"]));
            let m = &payload["moderation"];
            match s(&m["decision"]) {
                "publish" => {
                    // 07 §7.4: closes_at, then the referendum terms.
                    b.push(0);
                    b.extend_from_slice(&int(&m["closes_at"]).to_be_bytes());
                    let t = &m["referendum"];
                    enc_str(&mut b, s(&t["referendum_id"]));
                    enc_str(&mut b, s(&t["title"]));
                    enc_str(&mut b, s(&t["description"]));
                    questions_replica(&mut b, &t["questions"]);
                    b.extend_from_slice(&int(&t["opens_after_ms"]).to_be_bytes());
                    b.extend_from_slice(&int(&t["voting_ms"]).to_be_bytes());
                    // u8(participation): 0 pseudonymous (omitted), 1 anonymous.
                    b.push(u8::from(t["participation"].as_str() == Some("anonymous")));
                }
                "reject" => {
                    b.push(1);
                    enc_str(&mut b, s(&m["reason"]));
                }
                other => panic!("unknown decision {other}"),
            }
        }
        "petition-responded" => {
            b.push(6);
            enc_str(&mut b, s(&payload["petition_id"]));
            enc_str(&mut b, s(&payload["text"]));
        }
        "signatures-invalidated" => {
            b.push(7);
            enc_str(&mut b, s(&payload["petition_id"]));
            let creds = arr(&payload["credentials"]);
            b.extend_from_slice(&be32(creds.len()));
            for c in creds {
                b.extend_from_slice(&key32(c));
            }
            let tags = arr(&payload["tags"]);
            b.extend_from_slice(&be32(tags.len()));
            for t in tags {
                b.extend_from_slice(&key32(t));
            }
            enc_str(&mut b, s(&payload["reason"]));
        }
        "petition-ring-signed" => {
            // 07 §7.10: u8(31) ‖ bytes(message) ‖ bytes(signature), the message being
            // str(petition_id) ‖ petition_hash ‖ ring ‖ u8(action).
            b.push(31);
            let sig = &payload["signature"];
            let mut m = Vec::new();
            enc_str(&mut m, s(&sig["petition_id"]));
            m.extend_from_slice(&key32(&sig["petition_hash"]));
            m.extend_from_slice(&key32(&sig["ring"]));
            m.push(match s(&sig["action"]) {
                "sign" => 0,
                "withdraw" => 1,
                other => panic!("unknown action {other}"),
            });
            b.extend_from_slice(&be32(m.len()));
            b.extend_from_slice(&m);
            let proof = unhex(&sig["signature"]);
            b.extend_from_slice(&be32(proof.len()));
            b.extend_from_slice(&proof);
        }
        "referendum-created" => {
            b.push(9);
            manifest_replica(&mut b, &payload["manifest"]);
        }
        "trustee-panel-set" => {
            // 07 §7.4: the standing panel.
            b.push(26);
            let p = &payload["panel"];
            trustees_replica(&mut b, &p["trustees"]);
            b.extend_from_slice(&u32::try_from(u(&p["threshold"])).unwrap().to_be_bytes());
            b.extend_from_slice(&int(&p["answer_due_ms"]).to_be_bytes());
            b.extend_from_slice(&int(&p["decryption_due_ms"]).to_be_bytes());
        }
        "witness-policy-set" => {
            // 11 §11.6: the witness policy as in the genesis body (§11.2).
            b.push(30);
            let keys = arr(&payload["policy"]["keys"]);
            b.extend_from_slice(&be32(keys.len()));
            for k in keys {
                b.extend_from_slice(&key32(k));
            }
            let q = u32::try_from(u(&payload["policy"]["quorum"])).unwrap();
            b.extend_from_slice(&q.to_be_bytes());
        }
        "petition-policy-set" => {
            // 07 §7.8: ten optional bounds in order, u32 or i64 big-endian.
            b.push(25);
            let p = &payload["policy"];
            assert!(p.as_object().unwrap().len() <= 10);
            for (field, wide) in [
                ("min_sponsor_threshold", false),
                ("min_response_threshold", false),
                ("max_response_threshold", false),
                ("min_referendum_threshold", false),
                ("max_referendum_threshold", false),
                ("min_open_for_ms", true),
                ("max_open_for_ms", true),
                ("min_response_due_ms", true),
                ("max_response_due_ms", true),
                ("min_region_min_group", false),
            ] {
                match p.get(field) {
                    None => b.push(0),
                    Some(v) => {
                        b.push(1);
                        if wide {
                            b.extend_from_slice(&v.as_i64().unwrap().to_be_bytes());
                        } else {
                            let x = u32::try_from(v.as_u64().unwrap()).unwrap();
                            b.extend_from_slice(&x.to_be_bytes());
                        }
                    }
                }
            }
        }
        "role-key-rotated" => {
            b.push(19);
            b.push(role_code(s(&payload["role"])));
            b.extend_from_slice(&key32(&payload["new_key"]));
            b.extend(unhex(&payload["possession"]));
        }
        _ => return None,
    }
    Some(b)
}

/// The authority state of 11 §11.3–§11.4 replayed by hand: current key per role byte,
/// the witness keys, and the SHA-256 of every act message seen.
#[derive(Clone)]
struct RolesReplica {
    log_id: Hash32,
    keys: [[u8; 32]; 4],
    witnesses: Vec<[u8; 32]>,
    seen: std::collections::BTreeSet<[u8; 32]>,
}

impl RolesReplica {
    /// From a genesis JSON that passes [`genesis_verdict_replica`].
    fn new(g: &Value) -> Self {
        genesis_verdict_replica(g).unwrap();
        let operator = key32(&g["keys"]["operator"]);
        RolesReplica {
            log_id: Hash32(sha256(&[b"vox/v2/log-id\x00", &operator])),
            keys: ROLE_FIELDS.map(|f| key32(&g["keys"][f])),
            witnesses: arr(&g["witnesses"]["keys"]).iter().map(key32).collect(),
            seen: Default::default(),
        }
    }

    /// The verdict on one more entry, from its JSON payload and, for an act, its body
    /// bytes: "accept", "genesis-refused", "bad-signature", "replayed",
    /// "rotation-refused" or "witness-policy-refused". Records accepted acts.
    fn accept(&mut self, payload: &Value, body: &[u8]) -> &'static str {
        if s(&payload["type"]) == "genesis" {
            return "genesis-refused";
        }
        let Some(role) = act_role_replica(payload) else {
            assert!(
                payload.get("act").is_none(),
                "only authority acts carry an act"
            );
            return "accept";
        };
        let act = &payload["act"];
        let msg = act_message_replica(&self.log_id, role, int(&act["issued_at_ms"]), body);
        if !ed25519_ok(
            &self.keys[usize::from(role)],
            &msg,
            &sig64(&act["signature"]),
        ) {
            return "bad-signature";
        }
        let h = sha256(&[&msg]);
        if self.seen.contains(&h) {
            return "replayed";
        }
        if s(&payload["type"]) == "witness-policy-set" {
            // 11 §11.6: no key twice, none a current role key, quorum <= #keys.
            let keys: Vec<[u8; 32]> = arr(&payload["policy"]["keys"]).iter().map(key32).collect();
            let mut distinct = std::collections::BTreeSet::new();
            let ok = keys
                .iter()
                .all(|k| distinct.insert(*k) && !self.keys.contains(k))
                && u(&payload["policy"]["quorum"]) <= keys.len() as u64;
            if !ok {
                return "witness-policy-refused";
            }
            self.witnesses.extend(keys);
        }
        if s(&payload["type"]) == "role-key-rotated" {
            let new_key = key32(&payload["new_key"]);
            if role == 0
                || self.keys.contains(&new_key)
                || self.witnesses.contains(&new_key)
                || !ed25519_ok(
                    &new_key,
                    &possession_message_replica(&self.log_id, role, &new_key),
                    &sig64(&payload["possession"]),
                )
            {
                return "rotation-refused";
            }
            self.keys[usize::from(role)] = new_key;
        }
        self.seen.insert(h);
        "accept"
    }
}

/// The verdict names of [`RolesReplica::accept`] for the library's [`ActError`].
fn act_error_name(e: &ActError) -> &'static str {
    match e {
        ActError::Genesis(_) => "genesis-refused",
        ActError::BadSignature { .. } => "bad-signature",
        ActError::Replayed { .. } => "replayed",
        ActError::Rotation(_) => "rotation-refused",
        ActError::WitnessPolicy(_) => "witness-policy-refused",
        other => panic!("unexpected {other:?}"),
    }
}

/// Spec replica of 08-board §8.5: the bytes the board signs for a receipt.
fn receipt_message_replica(r: &Receipt, log_id: &Hash32) -> Vec<u8> {
    let mut m = b"vox/v2/receipt\x00".to_vec();
    m.extend_from_slice(&log_id.0);
    enc_str(&mut m, &r.referendum_id);
    enc_str(&mut m, &r.tracking_code);
    m.extend_from_slice(&r.ballot_hash.0);
    m.extend_from_slice(&r.leaf_index.to_be_bytes());
    m.extend_from_slice(&r.entry_timestamp_ms.to_be_bytes());
    m.extend_from_slice(&r.leaf_hash.0);
    m.extend_from_slice(&r.tree_head.head.tree_size.to_be_bytes());
    m.extend_from_slice(&r.tree_head.head.root_hash.0);
    m.extend_from_slice(&r.tree_head.head.timestamp_ms.to_be_bytes());
    m.extend_from_slice(&be32(r.inclusion_proof.len()));
    for n in &r.inclusion_proof {
        m.extend_from_slice(&n.0);
    }
    m
}

fn verify_board(v: &Value) {
    let board = signing_key(s(&v["board_secret_seed"]));
    let board_pk = BoardPublicKey::from_hex(s(&v["board_public_key"])).unwrap();
    assert_eq!(board.verifying_key(), board_pk.0);
    let log_id = h32(&v["log_id"]);
    assert_eq!(
        Hash32(sha256(&[b"vox/v2/log-id\x00", board_pk.0.as_bytes()])),
        log_id
    );
    assert_eq!(board_pk.log_id(), log_id);
    // Entries: tag byte, canonical bytes (timestamp first), leaf hash; then each in context.
    let mut entries = Vec::new();
    let mut leaves = Vec::new();
    for (i, e) in arr(&v["entries"]).iter().enumerate() {
        let entry: BoardEntry = parse(&e["entry"]);
        let bytes = entry.canonical_bytes();
        assert_eq!(hex::encode(&bytes), s(&e["canonical"]));
        assert_eq!(&bytes[..8], &entry.timestamp_ms.to_be_bytes());
        let kind = s(&e["entry"]["payload"]["type"]);
        let tag = KINDS.iter().find(|(_, name)| *name == kind).unwrap().0;
        assert_eq!(bytes[8], tag, "entry {i}: {kind}");
        assert_eq!(u(&e["tag"]), u64::from(tag));
        let leaf = NodeHash(sha256(&[&[0u8], &bytes]));
        assert_eq!(leaf, nh(&e["leaf_hash"]));
        assert_eq!(entry.leaf_hash(), leaf);
        leaves.push(leaf);
        entries.push(entry);
    }
    let kinds: std::collections::BTreeSet<u8> =
        entries.iter().map(|e| e.canonical_bytes()[8]).collect();
    assert_eq!(kinds.len(), KINDS.len(), "one entry of every kind");
    // Leaf 0 is the genesis (11 §11.2) naming the board key as operator; every authority
    // act verifies under its role's current key (11 §11.3–§11.4). Rebuilt from the
    // layouts and checked with ed25519-dalek alone.
    let jentries = arr(&v["entries"]);
    let g = &jentries[0]["entry"]["payload"]["genesis"];
    assert_eq!(s(&jentries[0]["entry"]["payload"]["type"]), "genesis");
    let mut genesis_bytes = int(&jentries[0]["entry"]["timestamp_ms"])
        .to_be_bytes()
        .to_vec();
    genesis_bytes.push(0);
    genesis_bytes.extend(genesis_canonical_replica(g));
    assert_eq!(hex::encode(&genesis_bytes), s(&jentries[0]["canonical"]));
    assert_eq!(key32(&g["keys"]["operator"]), *board_pk.0.as_bytes());
    let mut roles = RolesReplica::new(g);
    assert_eq!(roles.log_id, log_id);
    let mut acts = 0;
    for (i, e) in jentries.iter().enumerate().skip(1) {
        let payload = &e["entry"]["payload"];
        let bytes = unhex(&e["canonical"]);
        let body = if act_role_replica(payload).is_some() {
            acts += 1;
            let (body, suffix) = bytes[8..].split_at(bytes.len() - 8 - 72);
            assert_eq!(suffix, act_suffix_replica(&payload["act"]), "entry {i}");
            if let Some(b) = act_body_replica(payload) {
                assert_eq!(b, body, "entry {i}");
            }
            body.to_vec()
        } else {
            bytes[8..].to_vec()
        };
        assert_eq!(roles.accept(payload, &body), "accept", "entry {i}");
    }
    assert_eq!(acts, 8, "eight authority acts, a rotation among them");
    assert_ne!(
        roles.keys[2],
        key32(&g["keys"]["petitions_office"]),
        "the petitions office's key was rotated"
    );
    verify_board_semantics(&entries);
    // Tree heads (§8.3).
    let mut heads = Vec::new();
    for h in arr(&v["tree_heads"]) {
        let sth: SignedTreeHead = parse(&h["signed_tree_head"]);
        // The checkpoint text rebuilt from the spec alone (08 §8.3, 12 §12.3).
        assert_eq!(sth.origin, s(&g["log_name"]));
        let text = format!(
            "{}\n{}\n{}\nvox-timestamp-ms {}\n",
            sth.origin,
            sth.head.tree_size,
            data_encoding::BASE64.encode(&sth.head.root_hash.0),
            sth.head.timestamp_ms
        );
        assert_eq!(text, s(&h["checkpoint_text"]));
        board_pk
            .0
            .verify_strict(text.as_bytes(), &sth.signature.0)
            .unwrap();
        sth.verify(&board_pk).unwrap();
        // The signed note: text, blank line, the board's line (key ID of 12 §12.2).
        let id = &sha2::Sha256::digest(
            [sth.origin.as_bytes(), b"\n\x01", board_pk.0.as_bytes()].concat(),
        )[..4];
        let line = format!(
            "\u{2014} {} {}\n",
            sth.origin,
            data_encoding::BASE64.encode(&[id, &sth.signature.0.to_bytes()[..]].concat())
        );
        assert_eq!(format!("{text}\n{line}"), s(&h["signed_note"]));
        assert_eq!(
            root_from_leaf_hashes(&leaves[..sth.head.tree_size as usize]),
            sth.head.root_hash
        );
        heads.push(sth);
    }
    let con = &v["consistency"];
    let proof: Vec<NodeHash> = arr(&con["proof"]).iter().map(nh).collect();
    assert_eq!(u(&con["first"]), heads[0].head.tree_size);
    assert_eq!(u(&con["second"]), heads[1].head.tree_size);
    verify_consistency(
        heads[0].head.tree_size,
        heads[1].head.tree_size,
        &heads[0].head.root_hash,
        &heads[1].head.root_hash,
        &proof,
    )
    .unwrap();
    // Cosignature (§8.4).
    let cosigned: SignedTreeHead = parse(&v["cosigned_tree_head"]);
    assert_eq!(cosigned.head, heads[1].head);
    let witness = BoardPublicKey::from_hex(s(&v["witness_public_key"])).unwrap();
    assert_eq!(
        signing_key(s(&v["witness_secret_seed"])).verifying_key(),
        witness.0
    );
    assert_eq!(cosigned.cosignatures.len(), 1);
    let c0 = &cosigned.cosignatures[0];
    let cmsg = format!(
        "cosignature/v1\ntime {}\n{}",
        c0.timestamp,
        s(&arr(&v["tree_heads"])[1]["checkpoint_text"])
    )
    .into_bytes();
    assert_eq!(cmsg, s(&v["cosignature_message"]).as_bytes());
    // The whole cosigned note, with the witness's cosignature/v1 line (12 §12.4).
    let wid =
        &sha2::Sha256::digest([c0.name.as_bytes(), b"\n\x04", witness.0.as_bytes()].concat())[..4];
    let wline = format!(
        "\u{2014} {} {}\n",
        c0.name,
        data_encoding::BASE64.encode(
            &[
                wid,
                &c0.timestamp.to_be_bytes()[..],
                &c0.signature.0.to_bytes()[..]
            ]
            .concat()
        )
    );
    assert_eq!(
        format!("{}{wline}", s(&arr(&v["tree_heads"])[1]["signed_note"])),
        s(&v["cosigned_note"])
    );
    assert_eq!(cosigned.cosignatures[0].witness, witness);
    witness
        .0
        .verify(&cmsg, &cosigned.cosignatures[0].signature.0)
        .unwrap();
    cosigned
        .verify_cosignature(&cosigned.cosignatures[0])
        .unwrap();
    // The cosigning witness is the genesis's witness: quorum 1 is met (11 §11.2).
    assert_eq!(roles.witnesses, vec![*witness.0.as_bytes()]);
    assert_eq!(u(&g["witnesses"]["quorum"]), 1);
    // Receipt (§8.5).
    let receipt: Receipt = parse(&v["receipt"]);
    receipt.verify(&board_pk).unwrap();
    board_pk
        .0
        .verify_strict(
            &receipt_message_replica(&receipt, &log_id),
            &receipt.signature.0,
        )
        .unwrap();
    let entry = &entries[receipt.leaf_index as usize];
    let Payload::BallotCast { ballot } = &entry.payload else {
        panic!("receipt does not point at a ballot")
    };
    receipt.matches_ballot(ballot).unwrap();
    assert_eq!(receipt.leaf_hash, leaves[receipt.leaf_index as usize]);
    assert_eq!(receipt.tree_head.head, heads[1].head);
    // The receipt's signed message (08 §8.5), rebuilt by hand from the receipt's JSON
    // fields: the board's signature verifies over exactly these bytes.
    let rj = &v["receipt"];
    let th = &rj["tree_head"]; // the head's fields are flattened into the signed head
    let mut rmsg = b"vox/v2/receipt\x00".to_vec();
    rmsg.extend_from_slice(&log_id.0);
    enc_str(&mut rmsg, s(&rj["referendum_id"]));
    enc_str(&mut rmsg, s(&rj["tracking_code"]));
    rmsg.extend(unhex(&rj["ballot_hash"]));
    rmsg.extend_from_slice(&u(&rj["leaf_index"]).to_be_bytes());
    rmsg.extend_from_slice(&int(&rj["entry_timestamp_ms"]).to_be_bytes());
    rmsg.extend(unhex(&rj["leaf_hash"]));
    rmsg.extend_from_slice(&u(&th["tree_size"]).to_be_bytes());
    rmsg.extend(unhex(&th["root_hash"]));
    rmsg.extend_from_slice(&int(&th["timestamp_ms"]).to_be_bytes());
    let path = arr(&rj["inclusion_proof"]);
    rmsg.extend_from_slice(&be32(path.len()));
    for n in path {
        rmsg.extend(unhex(n));
    }
    let rid_len = s(&rj["referendum_id"]).len();
    assert_eq!(
        rmsg.len(),
        15 + 32 + 4 + rid_len + 4 + 19 + 32 + 8 + 8 + 32 + 8 + 32 + 8 + 4 + 32 * path.len()
    );
    assert_eq!(hex::encode(&rmsg), s(&v["receipt_signed_message"]));
    assert_eq!(rmsg, receipt_message_replica(&receipt, &log_id));
    let rsig = Signature::from_bytes(&unhex(&rj["signature"]).try_into().unwrap());
    board_pk.0.verify_strict(&rmsg, &rsig).unwrap();
}

/// Check every entry of the example board in the context of the entries before it.
fn verify_board_semantics(entries: &[BoardEntry]) {
    let mut electorate = None;
    let mut electorate_list = None;
    let mut ring_petition = None;
    let mut petition = None;
    let mut open_for_ms = None;
    let mut manifest: Option<Manifest> = None;
    let mut joint: Option<JointPublicKeys> = None;
    let mut ballot_hashes = Vec::new();
    let mut tally_cts = Vec::new();
    let mut shares = Vec::new();
    let Payload::Genesis { genesis } = &entries[0].payload else {
        panic!("leaf 0 is not a genesis")
    };
    assert_eq!(
        genesis.log_id(),
        BoardPublicKey(signing_key(BOARD_SEED).verifying_key()).log_id()
    );
    let mut authorities = Authorities::from_genesis(genesis).unwrap();
    for (i, e) in entries.iter().enumerate() {
        if i > 0 {
            assert!(e.timestamp_ms >= entries[i - 1].timestamp_ms);
            authorities
                .accept(&e.payload)
                .unwrap_or_else(|err| panic!("entry {i}: {err}"));
        }
        match &e.payload {
            Payload::ElectorateRegistered { electorate: el, .. } => {
                el.validate().unwrap();
                electorate = Some(el.index());
                electorate_list = Some(el.clone());
            }
            Payload::PetitionProposed { proposal }
                if proposal.petition.signatures == SignatureScheme::Ring =>
            {
                proposal.verify(electorate.as_ref().unwrap()).unwrap();
                ring_petition = Some((proposal.petition.clone(), i as u64));
            }
            Payload::PetitionProposed { proposal } => {
                proposal.verify(electorate.as_ref().unwrap()).unwrap();
                petition = Some(proposal.petition.canonical_hash());
                open_for_ms = Some(proposal.petition.open_for_ms);
            }
            Payload::PetitionRingSigned { signature } => {
                // 07 §7.10: the rings derived at this leaf; 13 §13.8: the proof.
                let (p, proposed_at) = ring_petition.as_ref().unwrap();
                let rings = RingSet::for_petition(
                    electorate_list.as_ref().unwrap(),
                    electorate.as_ref().unwrap(),
                    i as u64,
                    *proposed_at,
                    p.region_min_group,
                )
                .unwrap();
                assert_eq!(rings.rings().len(), 1);
                signature.verify(&p.canonical_hash(), &rings).unwrap();
            }
            Payload::PetitionModerated {
                moderation: Moderation::Publish { closes_at, .. },
                ..
            } => {
                // 07 §7.4: now < closes_at ≤ now + open_for_ms, now = the entry's timestamp.
                let bound = e.timestamp_ms + open_for_ms.unwrap();
                assert!(e.timestamp_ms < *closes_at && *closes_at <= bound);
            }
            Payload::PetitionSigned { signature } => {
                signature
                    .verify(petition.as_ref().unwrap(), electorate.as_ref().unwrap())
                    .unwrap();
            }
            Payload::ReferendumCreated { manifest: m, .. } => {
                m.validate().unwrap();
                assert_eq!(m.electorate_hash, electorate.as_ref().unwrap().hash);
                manifest = Some(m.clone());
            }
            Payload::Ceremony { message } => {
                let m = manifest.as_ref().unwrap();
                message.verify_signature(m, &m.canonical_hash()).unwrap();
            }
            Payload::CeremonyCompleted {
                election_key,
                public_shares,
                ..
            } => {
                let m = manifest.as_ref().unwrap();
                joint = Some(parse(&json!({
                    "params": {"n": m.trustees.len(), "k": m.threshold},
                    "election_key": election_key,
                    "public_shares": public_shares,
                })));
            }
            Payload::BallotCast { ballot } => {
                let m = manifest.as_ref().unwrap();
                let ctx = BallotContext::new(m, *joint.as_ref().unwrap().election_key());
                ballot
                    .validate(&ctx, electorate.as_ref().unwrap(), None, &mut rng(0))
                    .unwrap();
                ballot_hashes.push(ballot.hash());
                tally_cts = ballot.answers[0].ciphertexts.clone();
            }
            Payload::BallotAudited { audited } => {
                let m = manifest.as_ref().unwrap();
                let ctx = BallotContext::new(m, *joint.as_ref().unwrap().election_key());
                audited.verify_opening(&ctx).unwrap();
                assert!(!ballot_hashes.contains(&audited.ballot.hash()));
            }
            Payload::TallyComputed { tally } => {
                assert_eq!(tally.ciphertexts, tally_cts);
                assert_eq!(tally.counted_ballots, ballot_hashes.len() as u64);
                assert_eq!(tally.counted_hash, counted_hash(&ballot_hashes));
                let mut concat = Vec::new();
                for h in &ballot_hashes {
                    concat.extend_from_slice(&h.0);
                }
                assert_eq!(
                    tally.counted_hash,
                    Hash32(sha256(&[b"vox/v2/counted-ballots\x00", &concat]))
                );
            }
            Payload::DecryptionShare { share } => {
                let m = manifest.as_ref().unwrap();
                share
                    .check(
                        m,
                        &m.canonical_hash(),
                        joint.as_ref().unwrap(),
                        &tally_cts,
                        &mut SingleVerifier,
                    )
                    .unwrap();
                shares.push(share.share.clone());
            }
            Payload::ResultPublished { result } => {
                let j = joint.as_ref().unwrap();
                let points = combine(j.params(), &tally_cts, &shares).unwrap();
                let table = DlogTable::new(result.counted_ballots + 1).unwrap();
                let yes = table.solve(&points[0]).unwrap();
                assert_eq!(result.counts, vec![vec![yes, result.counted_ballots - yes]]);
            }
            _ => {}
        }
    }
}

#[test]
fn board() {
    check("board.json", gen_board, verify_board);
}

// =======================================================================================
// §11 roles: the genesis, signed authority acts, key rotation
// =======================================================================================

const ROLES_LOG_NAME: &str = "vox.example.org/roles-vector";
const ROLES_CREATED_AT: i64 = OPENS_AT - 30 * 24 * 3600 * 1000;

fn public(k: &SigningKey) -> BoardPublicKey {
    BoardPublicKey(k.verifying_key())
}

/// Replace a genesis's signatures by one per role, each made with the given key (in role
/// order), whatever the keys in the genesis are.
fn resign(g: &mut Genesis, keys: [&SigningKey; 4]) {
    let msg = g.signed_message();
    g.signatures = Role::ALL
        .into_iter()
        .zip(keys)
        .map(|(role, k)| RoleSignature {
            role,
            signature: Sig(k.sign(&msg)),
        })
        .collect();
}

fn gen_roles() -> Value {
    let mut rng = rng(14);
    let signers = RoleSigners::generate(&mut rng);
    let witnesses: Vec<SigningKey> = (0..2).map(|_| SigningKey::generate(&mut rng)).collect();
    let new_registrar = SigningKey::generate(&mut rng);
    let outsider = SigningKey::generate(&mut rng);
    let creds: Vec<Credential> = (0..2).map(|_| Credential::generate(&mut rng)).collect();
    let all = [
        &signers.operator,
        &signers.registrar,
        &signers.petitions_office,
        &signers.election_authority,
    ];

    let mut genesis = Genesis::draft(ROLES_LOG_NAME, ROLES_CREATED_AT, signers.public_keys());
    genesis.witnesses = WitnessPolicy {
        keys: witnesses.iter().map(public).collect(),
        quorum: 2,
    };
    genesis.predecessor = Some(LogLink {
        log_id: Hash32(sha256(&[b"example predecessor log id"])),
        tree_size: 22,
        root_hash: NodeHash(sha256(&[b"example predecessor root"])),
    });
    for r in Role::ALL {
        genesis.sign(signers.key(r)).unwrap();
    }
    genesis.validate().unwrap();
    let log_id = genesis.log_id();

    // The log: one act of each authority role, a rotation of the registrar's key, and a
    // registrar act under its new key.
    let t = |k: i64| ROLES_CREATED_AT + 3_600_000 + k * 60_000;
    let act = ActSignature::unsigned();
    let electorate = |id: &str, c: &Credential| Electorate {
        id: id.into(),
        name: "Roles vector".into(),
        entries: vec![ElectorateEntry {
            credential: c.public_key(),
            region: None,
        }],
    };
    let registered = signers
        .sign(
            Payload::ElectorateRegistered {
                electorate: electorate("roles-electorate-1", &creds[0]),
                act,
            },
            t(0),
        )
        .unwrap();
    let moderation = Payload::PetitionModerated {
        petition_id: "roles-petition".into(),
        moderation: Moderation::Publish {
            closes_at: t(1) + 30 * 24 * 3600 * 1000,
            referendum: vector_terms(),
        },
        act,
    };
    let moderated = signers.sign(moderation.clone(), t(1)).unwrap();
    let panel_trustee = vox_crypto::threshold::TrusteeKeys::generate(&mut rng);
    let opened = signers
        .sign(
            Payload::TrusteePanelSet {
                panel: vox_protocol::manifest::TrusteePanel {
                    trustees: vox_protocol::manifest::TrusteeInfo::numbered([&panel_trustee]),
                    threshold: 1,
                    answer_due_ms: vox_protocol::manifest::DAY_MS,
                    decryption_due_ms: 2 * vox_protocol::manifest::DAY_MS,
                },
                act,
            },
            t(2),
        )
        .unwrap();
    let new_pk = public(&new_registrar);
    let possession_msg = possession_message(&log_id, Role::Registrar, &new_pk);
    let possession = Sig(new_registrar.sign(&possession_msg));
    let rotation_body = Payload::RoleKeyRotated {
        role: Role::Registrar,
        new_key: new_pk,
        possession,
        act,
    };
    let rotation = signers.sign(rotation_body.clone(), t(3)).unwrap();
    let second_electorate = Payload::ElectorateRegistered {
        electorate: electorate("roles-electorate-2", &creds[1]),
        act,
    };
    let after = second_electorate
        .clone()
        .signed_act(&log_id, t(4), &new_registrar)
        .unwrap();
    let early_close = Payload::ReferendumCreated {
        manifest: vox_protocol::manifest::Manifest {
            version: vox_protocol::manifest::MANIFEST_VERSION,
            referendum_id: "roles-referendum".into(),
            title: "Roles".into(),
            description: String::new(),
            questions: vec![vox_protocol::manifest::Question {
                id: "q1".into(),
                text: "Yes?".into(),
                options: vec!["yes".into(), "no".into()],
                kind: vox_protocol::manifest::QuestionKind::YesNo,
            }],
            opens_at: t(6),
            closes_at: t(6) + 86_400_000,
            electorate_hash: Hash32([7; 32]),
            trustees: vox_protocol::manifest::TrusteeInfo::numbered([&panel_trustee]),
            threshold: 1,
            answer_due_ms: vox_protocol::manifest::DAY_MS,
            decryption_due_ms: vox_protocol::manifest::DAY_MS,
            source_petition: None,
            participation: Default::default(),
        },
        act,
    };
    let closed_early = signers.sign(early_close.clone(), t(5)).unwrap();
    let policy_body = Payload::PetitionPolicySet {
        policy: vox_protocol::petition::PetitionPolicy {
            min_sponsor_threshold: Some(5),
            min_referendum_threshold: Some(1000),
            max_response_due_ms: Some(30 * 86_400_000),
            ..Default::default()
        },
        act,
    };
    let policy_set = signers.sign(policy_body.clone(), t(6)).unwrap();
    // The operator replaces the witness policy (11 §11.6): the second genesis witness
    // stays, two new ones join, any two of the three cosign.
    let joining: Vec<BoardPublicKey> = [b"roles-vector witness 3", b"roles-vector witness 4"]
        .iter()
        .map(|l| public(&SigningKey::from_bytes(&sha256(&[*l]))))
        .collect();
    let witness_body = |keys: Vec<BoardPublicKey>, quorum: u32| Payload::WitnessPolicySet {
        policy: WitnessPolicy { keys, quorum },
        act,
    };
    let new_witnesses = vec![public(&witnesses[1]), joining[0], joining[1]];
    let witness_set = signers
        .sign(witness_body(new_witnesses.clone(), 2), t(7))
        .unwrap();
    let log: Vec<(Payload, &SigningKey, &str)> = vec![
        (
            registered.clone(),
            &signers.registrar,
            "registrar: an electorate",
        ),
        (
            moderated.clone(),
            &signers.petitions_office,
            "petitions office: publish a petition",
        ),
        (
            opened.clone(),
            &signers.election_authority,
            "election authority: the standing trustee panel (trustee-panel-set, tag 26)",
        ),
        (
            rotation,
            &signers.registrar,
            "registrar: rotate its key (act signed with the current key; possession signed \
             with the new key)",
        ),
        (
            after,
            &new_registrar,
            "registrar: an electorate, signed with its new key",
        ),
        (
            closed_early.clone(),
            &signers.election_authority,
            "election authority: create a referendum (referendum-created, tag 9)",
        ),
        (
            policy_set.clone(),
            &signers.petitions_office,
            "petitions office: bounds on later proposals (petition-policy-set, tag 25; three \
             bounds present, seven absent: 07 §7.8)",
        ),
        (
            witness_set.clone(),
            &signers.operator,
            "operator: a new witness policy, 2 of 3 (witness-policy-set, tag 30; in force \
             once a head covering it carries the genesis quorum: 11 §11.6)",
        ),
    ];
    let mut authorities = Authorities::from_genesis(&genesis).unwrap();
    let acts: Vec<Value> = log
        .iter()
        .map(|(p, signer, note)| {
            authorities.accept(p).unwrap();
            let role = p.act_role().unwrap();
            let a = p.act().unwrap();
            let mut body = Encoder::new();
            p.encode_body(&mut body);
            json!({
                "note": note,
                "role": role.name(),
                "signer_public_key": public(signer).to_hex(),
                "payload": to_json(p),
                "body": hex::encode(body.into_bytes()),
                "act_message": hex::encode(act_message(&log_id, role, a.issued_at_ms, p)),
                "issued_at_ms": a.issued_at_ms,
                "signature": hex::encode(a.signature.0.to_bytes()),
                "canonical": hex::encode(p.canonical_bytes()),
            })
        })
        .collect();

    // Acts an outsider must reject, each against the state after the first `after_acts`
    // acts above.
    let mut negative_acts = Vec::new();
    let mut neg = |description: &str, after: usize, p: Payload, error: &str| {
        negative_acts.push(json!({
            "description": description,
            "after_acts": after,
            "payload": to_json(&p),
            "verdict": "reject",
            "error": error,
        }));
    };
    let set_act = |p: &mut Payload, f: &dyn Fn(&mut ActSignature)| match p {
        Payload::ElectorateRegistered { act, .. }
        | Payload::PetitionModerated { act, .. }
        | Payload::TrusteePanelSet { act, .. } => f(act),
        _ => unreachable!(),
    };
    neg(
        "a petitions-office act signed with the registrar's key",
        3,
        Payload::PetitionResponded {
            petition_id: "roles-petition".into(),
            text: "Answered.".into(),
            act,
        }
        .signed_act(&log_id, t(2), &signers.registrar)
        .unwrap(),
        "bad-signature",
    );
    let mut p = moderated.clone();
    if let Payload::PetitionModerated { petition_id, .. } = &mut p {
        *petition_id = "another-petition".into();
    }
    neg(
        "acts[1] with petition_id changed after signing",
        1,
        p,
        "bad-signature",
    );
    let mut p = opened.clone();
    set_act(&mut p, &|a| a.issued_at_ms += 1);
    neg(
        "acts[2] with issued_at_ms changed after signing",
        2,
        p,
        "bad-signature",
    );
    let mut p = registered.clone();
    set_act(&mut p, &|a| {
        let mut b = a.signature.0.to_bytes();
        b[0] ^= 1;
        a.signature = Sig(Signature::from_bytes(&b));
    });
    neg(
        "acts[0] with the first signature byte flipped",
        0,
        p,
        "bad-signature",
    );
    neg(
        "acts[1] as signed for another log (another operator key's log id)",
        1,
        moderation
            .signed_act(&public(&outsider).log_id(), t(1), &signers.petitions_office)
            .unwrap(),
        "bad-signature",
    );
    neg(
        "acts[0] again (a replay)",
        1,
        registered.clone(),
        "replayed",
    );
    neg(
        "a registrar act signed with the registrar's old key after the rotation",
        4,
        second_electorate
            .signed_act(&log_id, t(5), &signers.registrar)
            .unwrap(),
        "bad-signature",
    );
    neg(
        "the rotation signed with the new key instead of the current one",
        3,
        rotation_body
            .signed_act(&log_id, t(3), &new_registrar)
            .unwrap(),
        "bad-signature",
    );
    let rotate =
        |role: Role, new_key: &SigningKey, possession_by: &SigningKey, possession_role: Role| {
            let new_pk = public(new_key);
            Payload::RoleKeyRotated {
                role,
                new_key: new_pk,
                possession: Sig(possession_by.sign(&possession_message(
                    &log_id,
                    possession_role,
                    &new_pk,
                ))),
                act,
            }
            .signed_act(&log_id, t(3), signers.key(role))
            .unwrap()
        };
    neg(
        "a rotation whose possession is signed by the old key, not the new one",
        3,
        rotate(
            Role::Registrar,
            &outsider,
            &signers.registrar,
            Role::Registrar,
        ),
        "rotation-refused",
    );
    neg(
        "a rotation whose possession names another role",
        3,
        rotate(Role::Registrar, &outsider, &outsider, Role::PetitionsOffice),
        "rotation-refused",
    );
    neg(
        "a rotation of the operator key (never allowed within a log)",
        3,
        rotate(Role::Operator, &outsider, &outsider, Role::Operator),
        "rotation-refused",
    );
    neg(
        "the petitions office rotating to the election authority's key",
        3,
        rotate(
            Role::PetitionsOffice,
            &signers.election_authority,
            &signers.election_authority,
            Role::PetitionsOffice,
        ),
        "rotation-refused",
    );
    neg(
        "the election authority rotating to a witness key",
        3,
        rotate(
            Role::ElectionAuthority,
            &witnesses[0],
            &witnesses[0],
            Role::ElectionAuthority,
        ),
        "rotation-refused",
    );
    neg(
        "a witness-policy-set signed with the election authority's key (only the operator \
         sets the witness policy)",
        7,
        witness_body(new_witnesses.clone(), 2)
            .signed_act(&log_id, t(7), &signers.election_authority)
            .unwrap(),
        "bad-signature",
    );
    neg(
        "a witness-policy-set whose quorum exceeds its witnesses",
        7,
        witness_body(new_witnesses.clone(), 4)
            .signed_act(&log_id, t(7), &signers.operator)
            .unwrap(),
        "witness-policy-refused",
    );
    neg(
        "a witness-policy-set naming one witness twice",
        7,
        witness_body(vec![joining[0], joining[1], joining[0]], 2)
            .signed_act(&log_id, t(7), &signers.operator)
            .unwrap(),
        "witness-policy-refused",
    );
    neg(
        "a witness-policy-set naming a role key as a witness",
        7,
        witness_body(vec![joining[0], public(&signers.petitions_office)], 1)
            .signed_act(&log_id, t(7), &signers.operator)
            .unwrap(),
        "witness-policy-refused",
    );
    neg(
        "the election authority rotating to a witness key of a later witness policy",
        8,
        rotate(
            Role::ElectionAuthority,
            &SigningKey::from_bytes(&sha256(&[b"roles-vector witness 3"])),
            &SigningKey::from_bytes(&sha256(&[b"roles-vector witness 3"])),
            Role::ElectionAuthority,
        ),
        "rotation-refused",
    );
    neg(
        "a referendum-created signed with the petitions office's key",
        5,
        early_close
            .clone()
            .signed_act(&log_id, t(5), &signers.petitions_office)
            .unwrap(),
        "bad-signature",
    );
    let mut p = closed_early.clone();
    if let Payload::ReferendumCreated { manifest, .. } = &mut p {
        manifest.closes_at += 1;
    }
    neg(
        "acts[5] with its manifest's closes_at changed after signing",
        5,
        p,
        "bad-signature",
    );
    neg(
        "a petition policy signed with the election authority's key",
        6,
        policy_body
            .clone()
            .signed_act(&log_id, t(6), &signers.election_authority)
            .unwrap(),
        "bad-signature",
    );
    let mut p = policy_set.clone();
    if let Payload::PetitionPolicySet { policy, .. } = &mut p {
        policy.min_referendum_threshold = Some(10);
    }
    neg(
        "acts[6] with a bound lowered after signing",
        6,
        p,
        "bad-signature",
    );
    let mut p = policy_set.clone();
    if let Payload::PetitionPolicySet { policy, .. } = &mut p {
        policy.max_response_due_ms = None;
    }
    neg(
        "acts[6] with a bound lifted after signing",
        6,
        p,
        "bad-signature",
    );
    neg(
        "a second genesis",
        5,
        Payload::Genesis {
            genesis: genesis.clone(),
        },
        "genesis-refused",
    );

    // Genesis entries an outsider must reject, with the rule they break.
    let mut negative_genesis = Vec::new();
    let mut bad = |description: &str, g: Genesis, reason: &str| {
        negative_genesis.push(json!({
            "description": description,
            "genesis": to_json(&g),
            "verdict": "reject",
            "reason": reason,
        }));
    };
    let tweak = |f: &dyn Fn(&mut Genesis)| {
        let mut g = genesis.clone();
        f(&mut g);
        g
    };
    let broken = "a signature does not verify";
    bad(
        "created_at_ms changed after signing",
        tweak(&|g| g.created_at_ms += 1),
        broken,
    );
    bad(
        "log_name changed after signing",
        tweak(&|g| g.log_name.push('x')),
        broken,
    );
    bad(
        "the registrar key replaced after signing",
        tweak(&|g| g.keys.registrar = public(&outsider)),
        broken,
    );
    bad(
        "quorum changed after signing",
        tweak(&|g| g.witnesses.quorum = 1),
        broken,
    );
    bad(
        "predecessor tree_size changed after signing",
        tweak(&|g| {
            if let Some(p) = &mut g.predecessor {
                p.tree_size += 1;
            }
        }),
        broken,
    );
    bad(
        "the election authority's signature missing",
        tweak(&|g| {
            g.signatures.pop();
        }),
        "not four signatures",
    );
    bad(
        "signatures out of role order",
        tweak(&|g| g.signatures.swap(0, 1)),
        "signatures not one per role in role order",
    );
    bad(
        "the petitions office's signature twice, no election authority signature",
        tweak(&|g| g.signatures[3] = g.signatures[2]),
        "signatures not one per role in role order",
    );
    bad(
        "a space in log_name (signed by all four)",
        tweak(&|g| {
            g.log_name = "vox.example.org/roles vector".into();
            resign(g, all);
        }),
        "log_name characters",
    );
    bad(
        "a witness key equal to the registrar's key (signed by all four)",
        tweak(&|g| {
            g.witnesses.keys[1] = g.keys.registrar;
            resign(g, all);
        }),
        "keys not pairwise distinct",
    );
    bad(
        "registrar and petitions office with one key (signed by all four)",
        tweak(&|g| {
            g.keys.petitions_office = g.keys.registrar;
            resign(
                g,
                [
                    &signers.operator,
                    &signers.registrar,
                    &signers.registrar,
                    &signers.election_authority,
                ],
            );
        }),
        "keys not pairwise distinct",
    );
    bad(
        "quorum 3 with two witnesses (signed by all four)",
        tweak(&|g| {
            g.witnesses.quorum = 3;
            resign(g, all);
        }),
        "quorum larger than the witnesses",
    );

    let mut body = Encoder::new();
    genesis.encode_body(&mut body);
    let secret = |k: &SigningKey| hex::encode(k.to_bytes());
    with(
        header(
            "Roles (table 11.1); a genesis (with two witnesses, quorum 2, and a predecessor \
             link) with its body, signed message, canonical encoding, the four role \
             signatures and the log id; a log of signed authority acts (one per authority \
             role, a rotation of the registrar's key with its proof of possession, a registrar \
             act under the new key, an early close with its reason), each with its payload body, act message, signature and \
             canonical payload (body ‖ i64(issued_at_ms) ‖ signature); and cases an outsider \
             must reject, with the verdict: acts (checked against the roles' state after the \
             first `after_acts` acts; errors bad-signature, replayed, rotation-refused, \
             genesis-refused) and genesis entries (with the rule they break). Ed25519 secret \
             keys (test only) are drawn from the RNG.",
            "protocol-spec/11-roles.md",
            Some(14),
        ),
        json!({
            "roles": Role::ALL.map(|r| json!({"role": r.name(), "code": r.code()})),
            "secret_keys_test_only": {
                "operator": secret(&signers.operator),
                "registrar": secret(&signers.registrar),
                "petitions_office": secret(&signers.petitions_office),
                "election_authority": secret(&signers.election_authority),
                "registrar_after_rotation": secret(&new_registrar),
                "witnesses": witnesses.iter().map(secret).collect::<Vec<_>>(),
                "outsider": secret(&outsider),
            },
            "genesis": {
                "json": to_json(&genesis),
                "body": hex::encode(body.into_bytes()),
                "signed_message": hex::encode(genesis.signed_message()),
                "signatures": genesis.signatures.iter().map(|x| json!({
                    "role": x.role.name(),
                    "signature": hex::encode(x.signature.0.to_bytes()),
                })).collect::<Vec<_>>(),
                "canonical": hex::encode(genesis.canonical_bytes()),
                "entry_payload_canonical": hex::encode(Payload::Genesis { genesis: genesis.clone() }.canonical_bytes()),
                "log_id": log_id.to_hex(),
            },
            "acts": acts,
            "rotation": {
                "act_index": 3,
                "role": "registrar",
                "old_key": public(&signers.registrar).to_hex(),
                "new_key": new_pk.to_hex(),
                "possession_message": hex::encode(&possession_msg),
                "possession": hex::encode(possession.0.to_bytes()),
                "keys_after": to_json(authorities.current()),
            },
            "negative_acts": negative_acts,
            "negative_genesis": negative_genesis,
        }),
    )
}

fn verify_roles(v: &Value) {
    // Table 11.1.
    for (i, r) in arr(&v["roles"]).iter().enumerate() {
        assert_eq!(u(&r["code"]), i as u64);
        assert_eq!(s(&r["role"]), ROLE_NAMES[i]);
        assert_eq!(Role::from_name(s(&r["role"])).unwrap().code(), i as u8);
    }
    assert_eq!(arr(&v["roles"]).len(), 4);
    // The genesis, by hand.
    let gv = &v["genesis"];
    let g = &gv["json"];
    for (i, f) in ROLE_FIELDS.iter().enumerate() {
        let k = signing_key(s(&v["secret_keys_test_only"][f]));
        assert_eq!(k.verifying_key().as_bytes(), &key32(&g["keys"][f]), "{f}");
        let x = &arr(&gv["signatures"])[i];
        assert_eq!(s(&x["role"]), ROLE_NAMES[i]);
        assert_eq!(x, &arr(&g["signatures"])[i]);
    }
    assert_eq!(hex::encode(genesis_body_replica(g)), s(&gv["body"]));
    assert_eq!(
        hex::encode(genesis_message_replica(g)),
        s(&gv["signed_message"])
    );
    assert_eq!(
        hex::encode(genesis_canonical_replica(g)),
        s(&gv["canonical"])
    );
    let mut entry_payload = vec![0u8];
    entry_payload.extend(genesis_canonical_replica(g));
    assert_eq!(
        hex::encode(entry_payload),
        s(&gv["entry_payload_canonical"])
    );
    genesis_verdict_replica(g).unwrap();
    assert_eq!(
        Hash32(sha256(&[
            b"vox/v2/log-id\x00",
            &key32(&g["keys"]["operator"])
        ])),
        h32(&gv["log_id"])
    );
    // The genesis, with the library.
    let genesis: Genesis = parse(g);
    genesis.validate().unwrap();
    let mut body = Encoder::new();
    genesis.encode_body(&mut body);
    assert_eq!(hex::encode(body.into_bytes()), s(&gv["body"]));
    assert_eq!(
        hex::encode(genesis.signed_message()),
        s(&gv["signed_message"])
    );
    assert_eq!(hex::encode(genesis.canonical_bytes()), s(&gv["canonical"]));
    assert_eq!(genesis.log_id(), h32(&gv["log_id"]));
    assert!(genesis.missing_signatures().is_empty());
    // The acts, in log order: by hand, then with the library.
    let log_id = h32(&gv["log_id"]);
    let mut replica = RolesReplica::new(g);
    let mut authorities = Authorities::from_genesis(&genesis).unwrap();
    let acts = arr(&v["acts"]);
    let payloads: Vec<Payload> = acts.iter().map(|a| parse(&a["payload"])).collect();
    for (i, (a, p)) in acts.iter().zip(&payloads).enumerate() {
        let pj = &a["payload"];
        let role = act_role_replica(pj).unwrap();
        assert_eq!(ROLE_NAMES[usize::from(role)], s(&a["role"]));
        let body = act_body_replica(pj).unwrap();
        assert_eq!(hex::encode(&body), s(&a["body"]), "act {i}");
        assert_eq!(int(&pj["act"]["issued_at_ms"]), int(&a["issued_at_ms"]));
        assert_eq!(s(&pj["act"]["signature"]), s(&a["signature"]));
        let msg = act_message_replica(&log_id, role, int(&a["issued_at_ms"]), &body);
        assert_eq!(hex::encode(&msg), s(&a["act_message"]), "act {i}");
        assert_eq!(
            key32(&a["signer_public_key"]),
            replica.keys[usize::from(role)]
        );
        assert!(ed25519_ok(
            &key32(&a["signer_public_key"]),
            &msg,
            &sig64(&a["signature"])
        ));
        let mut canonical = body.clone();
        canonical.extend(act_suffix_replica(&pj["act"]));
        assert_eq!(hex::encode(&canonical), s(&a["canonical"]), "act {i}");
        assert_eq!(replica.accept(pj, &body), "accept", "act {i}");
        // Library.
        let mut e = Encoder::new();
        p.encode_body(&mut e);
        assert_eq!(e.into_bytes(), body);
        let act = p.act().unwrap();
        assert_eq!(
            act_message(&log_id, p.act_role().unwrap(), act.issued_at_ms, p),
            msg
        );
        assert_eq!(p.canonical_bytes(), canonical);
        authorities.accept(p).unwrap();
    }
    // The rotation, by hand.
    let rot = &v["rotation"];
    let index = u(&rot["act_index"]) as usize;
    let rp = &acts[index]["payload"];
    assert_eq!(s(&rp["type"]), "role-key-rotated");
    assert_eq!(s(&rp["role"]), s(&rot["role"]));
    assert_eq!(s(&rp["new_key"]), s(&rot["new_key"]));
    assert_eq!(s(&rp["possession"]), s(&rot["possession"]));
    assert_eq!(s(&rot["old_key"]), s(&g["keys"]["registrar"]));
    let new_key = key32(&rot["new_key"]);
    let pmsg = possession_message_replica(&log_id, role_code(s(&rot["role"])), &new_key);
    assert_eq!(hex::encode(&pmsg), s(&rot["possession_message"]));
    assert!(ed25519_ok(&new_key, &pmsg, &sig64(&rot["possession"])));
    assert_eq!(
        signing_key(s(&v["secret_keys_test_only"]["registrar_after_rotation"]))
            .verifying_key()
            .as_bytes(),
        &new_key
    );
    for (i, f) in ROLE_FIELDS.iter().enumerate() {
        assert_eq!(key32(&rot["keys_after"][f]), replica.keys[i], "{f}");
    }
    assert_eq!(&to_json(authorities.current()), &rot["keys_after"]);
    // Acts to reject: by hand and with the library, against the state after `after_acts`.
    let negatives = arr(&v["negative_acts"]);
    assert!(negatives.len() >= 10);
    for n in negatives {
        let what = s(&n["description"]);
        assert_eq!(s(&n["verdict"]), "reject");
        let after = u(&n["after_acts"]) as usize;
        let mut state = RolesReplica::new(g);
        let mut lib = Authorities::from_genesis(&genesis).unwrap();
        for (a, p) in acts.iter().zip(&payloads).take(after) {
            let body = act_body_replica(&a["payload"]).unwrap();
            assert_eq!(state.accept(&a["payload"], &body), "accept");
            lib.accept(p).unwrap();
        }
        let pj = &n["payload"];
        let body = act_body_replica(pj).unwrap_or_default();
        assert_eq!(state.accept(pj, &body), s(&n["error"]), "{what} (by hand)");
        let p: Payload = parse(pj);
        let err = lib.check(&p).expect_err(what);
        assert_eq!(act_error_name(&err), s(&n["error"]), "{what}: {err}");
    }
    // Genesis entries to reject.
    let bad = arr(&v["negative_genesis"]);
    assert!(bad.len() >= 8);
    for n in bad {
        let what = s(&n["description"]);
        assert_eq!(s(&n["verdict"]), "reject");
        assert_eq!(
            genesis_verdict_replica(&n["genesis"]),
            Err(s(&n["reason"])),
            "{what} (by hand)"
        );
        let g: Genesis = parse(&n["genesis"]);
        assert!(g.validate().is_err(), "{what}");
        assert!(Authorities::from_genesis(&g).is_err(), "{what}");
    }
}

#[test]
fn roles() {
    check("roles.json", gen_roles, verify_roles);
}

// =======================================================================================
// Appendix A: STROBE-128 and merlin, replicated from protocol-spec/A-merlin-strobe.md
// =======================================================================================

/// ρ rotation of lane i = x + 5y (A §A.1).
const KECCAK_ROT: [u32; 25] = [
    0, 1, 62, 28, 27, 36, 44, 6, 55, 20, 3, 10, 43, 25, 39, 41, 45, 15, 21, 8, 18, 2, 61, 56, 14,
];
/// ι round constants (A §A.1).
const KECCAK_RC: [u64; 24] = [
    0x0000000000000001,
    0x0000000000008082,
    0x800000000000808a,
    0x8000000080008000,
    0x000000000000808b,
    0x0000000080000001,
    0x8000000080008081,
    0x8000000000008009,
    0x000000000000008a,
    0x0000000000000088,
    0x0000000080008009,
    0x000000008000000a,
    0x000000008000808b,
    0x800000000000008b,
    0x8000000000008089,
    0x8000000000008003,
    0x8000000000008002,
    0x8000000000000080,
    0x000000000000800a,
    0x800000008000000a,
    0x8000000080008081,
    0x8000000000008080,
    0x0000000080000001,
    0x8000000080008008,
];

/// Keccak-f[1600] on 200 bytes read as 25 little-endian lanes, lane x + 5y = A[x, y]
/// (A §A.1), written from the appendix, not from merlin or the keccak crate.
#[allow(clippy::needless_range_loop)]
fn keccak_f1600_replica(st: &mut [u8; 200]) {
    let mut a = [0u64; 25];
    for i in 0..25 {
        a[i] = u64::from_le_bytes(st[8 * i..8 * i + 8].try_into().unwrap());
    }
    for rc in KECCAK_RC {
        // θ
        let mut c = [0u64; 5];
        for x in 0..5 {
            c[x] = a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20];
        }
        for x in 0..5 {
            let d = c[(x + 4) % 5] ^ c[(x + 1) % 5].rotate_left(1);
            for y in 0..5 {
                a[x + 5 * y] ^= d;
            }
        }
        // ρ and π: B[y, 2x + 3y] = rot(A[x, y], ROT[x + 5y])
        let mut b = [0u64; 25];
        for x in 0..5 {
            for y in 0..5 {
                b[y + 5 * ((2 * x + 3 * y) % 5)] = a[x + 5 * y].rotate_left(KECCAK_ROT[x + 5 * y]);
            }
        }
        // χ
        for x in 0..5 {
            for y in 0..5 {
                a[x + 5 * y] = b[x + 5 * y] ^ (!b[(x + 1) % 5 + 5 * y] & b[(x + 2) % 5 + 5 * y]);
            }
        }
        // ι
        a[0] ^= rc;
    }
    for i in 0..25 {
        st[8 * i..8 * i + 8].copy_from_slice(&a[i].to_le_bytes());
    }
}

const STROBE_R: usize = 166;
const STROBE_I: u8 = 0x01;
const STROBE_A: u8 = 0x02;
const STROBE_C: u8 = 0x04;
const STROBE_T: u8 = 0x08;
const STROBE_M: u8 = 0x10;
const STROBE_K: u8 = 0x20;

/// The 200 bytes of A §A.3 before the permutation.
fn strobe_init_block() -> [u8; 200] {
    let mut st = [0u8; 200];
    st[..6].copy_from_slice(&[1, 168, 1, 0, 1, 96]);
    st[6..18].copy_from_slice(b"STROBEv1.0.2");
    st
}

/// STROBE-128 as merlin uses it (A §A.2–§A.5).
#[derive(Clone)]
struct StrobeReplica {
    st: [u8; 200],
    pos: usize,
    pos_begin: usize,
    cur_flags: u8,
}

impl StrobeReplica {
    fn new(protocol_label: &[u8]) -> Self {
        let mut st = strobe_init_block();
        keccak_f1600_replica(&mut st);
        let mut s = StrobeReplica {
            st,
            pos: 0,
            pos_begin: 0,
            cur_flags: 0,
        };
        s.meta_ad(protocol_label, false);
        s
    }
    fn run_f(&mut self) {
        self.st[self.pos] ^= u8::try_from(self.pos_begin).unwrap();
        self.st[self.pos + 1] ^= 0x04;
        self.st[STROBE_R + 1] ^= 0x80;
        keccak_f1600_replica(&mut self.st);
        self.pos = 0;
        self.pos_begin = 0;
    }
    fn absorb(&mut self, data: &[u8]) {
        for b in data {
            self.st[self.pos] ^= b;
            self.pos += 1;
            if self.pos == STROBE_R {
                self.run_f();
            }
        }
    }
    fn squeeze(&mut self, n: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(self.st[self.pos]);
            self.st[self.pos] = 0;
            self.pos += 1;
            if self.pos == STROBE_R {
                self.run_f();
            }
        }
        out
    }
    fn begin_op(&mut self, flags: u8, more: bool) {
        if more {
            assert_eq!(self.cur_flags, flags);
            return;
        }
        assert_eq!(flags & STROBE_T, 0);
        let old_begin = u8::try_from(self.pos_begin).unwrap();
        self.pos_begin = self.pos + 1;
        self.cur_flags = flags;
        self.absorb(&[old_begin, flags]);
        if flags & (STROBE_C | STROBE_K) != 0 && self.pos != 0 {
            self.run_f();
        }
    }
    fn meta_ad(&mut self, data: &[u8], more: bool) {
        self.begin_op(STROBE_M | STROBE_A, more);
        self.absorb(data);
    }
    fn ad(&mut self, data: &[u8], more: bool) {
        self.begin_op(STROBE_A, more);
        self.absorb(data);
    }
    fn prf(&mut self, n: usize, more: bool) -> Vec<u8> {
        self.begin_op(STROBE_I | STROBE_A | STROBE_C, more);
        self.squeeze(n)
    }
}

/// merlin's transcript on the STROBE replica (A §A.6).
struct MerlinReplica(StrobeReplica);

impl MerlinReplica {
    fn new(label: &[u8]) -> Self {
        let mut t = MerlinReplica(StrobeReplica::new(b"Merlin v1.0"));
        t.append_message(b"dom-sep", label);
        t
    }
    fn append_message(&mut self, label: &[u8], m: &[u8]) {
        self.0.meta_ad(label, false);
        self.0
            .meta_ad(&u32::try_from(m.len()).unwrap().to_le_bytes(), true);
        self.0.ad(m, false);
    }
    fn challenge_bytes(&mut self, label: &[u8], n: usize) -> Vec<u8> {
        self.0.meta_ad(label, false);
        self.0
            .meta_ad(&u32::try_from(n).unwrap().to_le_bytes(), true);
        self.0.prf(n, false)
    }
    fn state_json(&self) -> Value {
        json!({
            "st": hex::encode(self.0.st),
            "pos": self.0.pos,
            "pos_begin": self.0.pos_begin,
            "cur_flags": self.0.cur_flags,
        })
    }
}

/// One step of a STROBE vector case, as (op, label, message or challenge length).
enum StrobeOp {
    New(&'static str),
    Append(&'static str, Vec<u8>),
    Challenge(&'static str, usize),
}

fn strobe_cases() -> Vec<(&'static str, Vec<StrobeOp>)> {
    use StrobeOp::{Append, Challenge, New};
    let long: Vec<u8> = (0..400u32).map(|i| (i % 251) as u8).collect();
    let x122: &'static str = leak_str(&"x".repeat(122));
    let y123: &'static str = leak_str(&"y".repeat(123));
    vec![
        (
            "Transcript::new(\"vox-test\"), then a 32-byte and a 64-byte challenge (§A.7)",
            vec![New("vox-test"), Challenge("c", 32), Challenge("c", 64)],
        ),
        (
            "two appends (one of them empty), then a 64-byte challenge",
            vec![
                New("vox-test"),
                Append("msg", b"hello vox".to_vec()),
                Append("empty", Vec::new()),
                Challenge("c", 64),
            ],
        ),
        (
            "a 400-byte message (run_f twice inside absorb), a 200-byte challenge (run_f inside \
             squeeze), a u64 append (LE64 of 2^53 + 1) and a 32-byte challenge",
            vec![
                New("vox-test"),
                Append("long", long),
                Challenge("wide", 200),
                Append("n", (9_007_199_254_740_993u64).to_le_bytes().to_vec()),
                Challenge("c", 32),
            ],
        ),
        (
            "a 122-byte challenge label: the PRF framing ends exactly at pos = R, so absorb runs \
             run_f and begin_op does not run it again",
            vec![New("vox-test"), Challenge(x122, 16)],
        ),
        (
            "a 123-byte challenge label: the PRF framing's first byte fills pos = R (run_f inside \
             absorb, pos_begin reset to 0), the flags byte lands at pos 0, then the C flag runs \
             run_f at pos = 1",
            vec![New("vox-test"), Challenge(y123, 16)],
        ),
    ]
}

fn leak_str(s: &str) -> &'static str {
    Box::leak(s.to_string().into_boxed_str())
}

fn gen_strobe() -> Value {
    let mut zero = [0u8; 200];
    keccak_f1600_replica(&mut zero);
    let block = strobe_init_block();
    let mut permuted = block;
    keccak_f1600_replica(&mut permuted);
    let mut cases = Vec::new();
    for (name, ops) in strobe_cases() {
        let mut steps = Vec::new();
        let mut replica: Option<MerlinReplica> = None;
        let mut merlin: Option<Transcript> = None;
        for op in ops {
            let mut step = match op {
                StrobeOp::New(label) => {
                    replica = Some(MerlinReplica::new(label.as_bytes()));
                    merlin = Some(Transcript::new(label.as_bytes()));
                    json!({ "op": "new", "label": label })
                }
                StrobeOp::Append(label, m) => {
                    replica
                        .as_mut()
                        .unwrap()
                        .append_message(label.as_bytes(), &m);
                    merlin
                        .as_mut()
                        .unwrap()
                        .append_message(label.as_bytes(), &m);
                    json!({ "op": "append_message", "label": label, "message": hex::encode(&m) })
                }
                StrobeOp::Challenge(label, n) => {
                    // The challenge bytes come from the merlin crate; the replica must agree.
                    let mut out = vec![0u8; n];
                    merlin
                        .as_mut()
                        .unwrap()
                        .challenge_bytes(label.as_bytes(), &mut out);
                    let mine = replica
                        .as_mut()
                        .unwrap()
                        .challenge_bytes(label.as_bytes(), n);
                    assert_eq!(mine, out, "{name}: replica ≠ merlin");
                    json!({ "op": "challenge_bytes", "label": label, "n": n, "output": hex::encode(&out) })
                }
            };
            step["after"] = replica.as_ref().unwrap().state_json();
            steps.push(step);
        }
        cases.push(json!({ "name": name, "steps": steps }));
    }
    with(
        header(
            "STROBE-128 and merlin 3.0 from the specification (appendix A): Keccak-f[1600] of \
             the zero state, the STROBE initial block before and after the permutation, and \
             merlin transcripts with the full STROBE state (st, pos, pos_begin, cur_flags) after \
             each operation. States are computed by an independent replica of the appendix; \
             challenge outputs by the merlin crate, and the replica reproduces them. Labels are \
             ASCII text; messages and outputs are hex.",
            "protocol-spec/A-merlin-strobe.md §A.1–§A.7",
            None,
        ),
        json!({
            "rate": STROBE_R,
            "keccak_f1600_of_zero": hex::encode(zero),
            "init_block": hex::encode(block),
            "init_block_permuted": hex::encode(permuted),
            "merlin_protocol_label": "Merlin v1.0",
            "cases": cases,
        }),
    )
}

fn verify_strobe(v: &Value) {
    assert_eq!(u(&v["rate"]), 166);
    // Keccak-f[1600] of the zero state: lane 0 is 0xf1258f7940e1dde7 (FIPS 202 KAT).
    let mut zero = [0u8; 200];
    keccak_f1600_replica(&mut zero);
    assert_eq!(hex::encode(zero), s(&v["keccak_f1600_of_zero"]));
    assert_eq!(&s(&v["keccak_f1600_of_zero"])[..16], "e7dde140798f25f1");
    let block = strobe_init_block();
    assert_eq!(hex::encode(block), s(&v["init_block"]));
    let mut permuted = block;
    keccak_f1600_replica(&mut permuted);
    assert_eq!(hex::encode(permuted), s(&v["init_block_permuted"]));
    assert_eq!(s(&v["merlin_protocol_label"]), "Merlin v1.0");
    assert!(arr(&v["cases"]).len() >= 5);
    for case in arr(&v["cases"]) {
        let name = s(&case["name"]);
        let mut replica: Option<MerlinReplica> = None;
        let mut merlin: Option<Transcript> = None;
        for step in arr(&case["steps"]) {
            let label = s(&step["label"]);
            match s(&step["op"]) {
                "new" => {
                    replica = Some(MerlinReplica::new(label.as_bytes()));
                    merlin = Some(Transcript::new(leak(label)));
                }
                "append_message" => {
                    let m = unhex(&step["message"]);
                    replica
                        .as_mut()
                        .unwrap()
                        .append_message(label.as_bytes(), &m);
                    merlin.as_mut().unwrap().append_message(leak(label), &m);
                }
                "challenge_bytes" => {
                    let n = usize::try_from(u(&step["n"])).unwrap();
                    let mine = replica
                        .as_mut()
                        .unwrap()
                        .challenge_bytes(label.as_bytes(), n);
                    assert_eq!(hex::encode(&mine), s(&step["output"]), "{name} (replica)");
                    let mut out = vec![0u8; n];
                    merlin
                        .as_mut()
                        .unwrap()
                        .challenge_bytes(leak(label), &mut out);
                    assert_eq!(hex::encode(&out), s(&step["output"]), "{name} (merlin)");
                }
                other => panic!("unknown op {other}"),
            }
            assert_eq!(
                replica.as_ref().unwrap().state_json(),
                step["after"],
                "{name}: state after {}",
                s(&step["op"])
            );
        }
    }
    // A §A.7 by hand: the state after Transcript::new("vox-test") is the permuted initial
    // block xored with the absorbed framing and data at positions 0..36.
    let first = &arr(&arr(&v["cases"])[0]["steps"])[0];
    assert_eq!(s(&first["label"]), "vox-test");
    let mut absorbed = vec![0x00, 0x12];
    absorbed.extend_from_slice(b"Merlin v1.0");
    absorbed.extend_from_slice(&[0x01, 0x12]);
    absorbed.extend_from_slice(b"dom-sep");
    absorbed.extend_from_slice(&[8, 0, 0, 0, 0x0e, 0x02]);
    absorbed.extend_from_slice(b"vox-test");
    assert_eq!(absorbed.len(), 36);
    let mut expect = permuted;
    for (i, b) in absorbed.iter().enumerate() {
        expect[i] ^= b;
    }
    assert_eq!(s(&first["after"]["st"]), hex::encode(expect));
    assert_eq!(u(&first["after"]["pos"]), 36);
    assert_eq!(u(&first["after"]["pos_begin"]), 27);
    assert_eq!(u(&first["after"]["cur_flags"]), 0x02);
    // The replica also reproduces every challenge of transcripts.json (02 §2.1–§2.3).
    let tj: Value = serde_json::from_str(
        &std::fs::read_to_string(vectors_dir().join("transcripts.json")).unwrap(),
    )
    .unwrap();
    for case in arr(&tj["cases"]) {
        let mut t = MerlinReplica::new(s(&tj["protocol_label"]).as_bytes());
        for op in arr(&case["appends"]) {
            t.append_message(s(&op["label"]).as_bytes(), &unhex(&op["value"]));
        }
        let out = t.challenge_bytes(s(&case["challenge_label"]).as_bytes(), 64);
        assert_eq!(hex::encode(out), s(&case["challenge_bytes"]));
    }
}

#[test]
fn strobe() {
    check("strobe.json", gen_strobe, verify_strobe);
}

// =======================================================================================
// tlog.json: C2SP signed note, checkpoint, cosignature/v1, add-checkpoint (12-witnesses)
// =======================================================================================

const TLOG_ORIGIN: &str = "vox.example/board";
const TLOG_WITNESS: &str = "witness.example/w1";
/// 2026-01-01T00:00:00Z and ten minutes later: the two cosignature timestamps.
const TLOG_T0: u64 = 1_767_225_600;
const TLOG_T1: u64 = 1_767_226_200;

fn gen_tlog() -> Value {
    use vox_protocol::tlog::{
        cosignature_v1_message, AddCheckpointRequest, Checkpoint, KeyName, KeyType, Origin,
        Witness, WitnessState,
    };
    let mut r = rng(12);
    let mut seed = [0u8; 32];
    rand::RngCore::fill_bytes(&mut r, &mut seed);
    let log_key = SigningKey::from_bytes(&seed);
    rand::RngCore::fill_bytes(&mut r, &mut seed);
    let witness_key = SigningKey::from_bytes(&seed);
    let origin = Origin::new(TLOG_ORIGIN).unwrap();
    let log_name = KeyName::new(TLOG_ORIGIN).unwrap();
    let witness_name = KeyName::new(TLOG_WITNESS).unwrap();
    let log_vkey =
        vox_protocol::tlog::VerifierKey::new(log_name, KeyType::Ed25519, log_key.verifying_key());

    let leaves: Vec<String> = (0..10)
        .map(|i| format!("vox tlog vector leaf {i}"))
        .collect();
    let hashes: Vec<NodeHash> = leaves.iter().map(|l| leaf_hash(l.as_bytes())).collect();
    let checkpoint = |size: usize| Checkpoint {
        origin: origin.clone(),
        size: size as u64,
        root: root_from_leaf_hashes(&hashes[..size]),
        extensions: Vec::new(),
    };
    let old = checkpoint(6);
    let new = checkpoint(10);
    let old_note = old.sign(&log_key).unwrap();
    let new_note = new.sign(&log_key).unwrap();

    let mut logs = std::collections::BTreeMap::new();
    logs.insert(origin.clone(), vec![log_vkey.clone()]);
    let mut witness = Witness::new(witness_name, witness_key, logs, WitnessState::default());
    let first = AddCheckpointRequest {
        old_size: 0,
        proof: Vec::new(),
        note: old_note.clone(),
    };
    let first_body = first.to_bytes().unwrap();
    let first_response = witness.add_checkpoint(&first_body, TLOG_T0).unwrap().body();
    let second = AddCheckpointRequest {
        old_size: 6,
        proof: consistency_proof(&hashes, 6).unwrap(),
        note: new_note.clone(),
    };
    let second_body = second.to_bytes().unwrap();
    let second_response = witness
        .add_checkpoint(&second_body, TLOG_T1)
        .unwrap()
        .body();
    let conflict = witness.add_checkpoint(&second_body, TLOG_T1).unwrap_err();
    let mut cosigned = new_note.clone();
    cosigned
        .add_signature(
            vox_protocol::tlog::parse_add_checkpoint_response(second_response.as_bytes())
                .unwrap()
                .remove(0),
        )
        .unwrap();
    let text = |b: Vec<u8>| String::from_utf8(b).unwrap();

    with(
        header(
            "C2SP formats as vox writes them: an Ed25519 log key and a witness key (seeds drawn \
             from the RNG), the RFC 6962 tree of the ten UTF-8 leaves, the checkpoints of sizes 6 \
             and 10 as signed notes, and a witness that cosigns size 6 at t0 (add-checkpoint with \
             old 0), then size 10 at t1 (old 6 and the consistency proof), then answers a replay \
             of the second request with 409 and its size. Every note, vkey and cosignature here \
             verifies with any C2SP implementation (signed-note, tlog-checkpoint, \
             tlog-cosignature cosignature/v1, tlog-witness).",
            "protocol-spec/12-witnesses.md",
            Some(12),
        ),
        json!({
            "log": {
                "origin": TLOG_ORIGIN,
                "ed25519_seed": hex::encode(log_key.to_bytes()),
                "public_key": hex::encode(log_key.verifying_key().as_bytes()),
                "key_id": log_vkey.key_id().to_string(),
                "vkey": log_vkey.to_string(),
            },
            "witness": {
                "name": TLOG_WITNESS,
                "ed25519_seed": hex::encode(seed),
                "public_key": hex::encode(witness.verifier_key().verifying_key().as_bytes()),
                "key_id": witness.verifier_key().key_id().to_string(),
                "vkey": witness.verifier_key().to_string(),
            },
            "leaves": leaves,
            "old_checkpoint": {
                "size": 6,
                "root_hex": old.root.to_hex(),
                "text": old.to_text().unwrap(),
                "signed_note": old_note.to_text(),
            },
            "checkpoint": {
                "size": 10,
                "root_hex": new.root.to_hex(),
                "text": new.to_text().unwrap(),
                "signed_note": new_note.to_text(),
            },
            "cosignature": {
                "timestamp": TLOG_T1,
                "signed_message": text(cosignature_v1_message(TLOG_T1, new_note.text()).unwrap()),
                "line": second_response,
                "cosigned_note": cosigned.to_text(),
            },
            "add_checkpoint": [
                {"now": TLOG_T0, "request": text(first_body), "status": 200, "response": first_response},
                {"now": TLOG_T1, "request": text(second_body), "status": 200, "response": second_response},
                {
                    "now": TLOG_T1,
                    "request": text(second.to_bytes().unwrap()),
                    "status": conflict.status(),
                    "content_type": vox_protocol::tlog::TLOG_SIZE_CONTENT_TYPE,
                    "response": conflict.conflict_body().unwrap(),
                },
            ],
        }),
    )
}

/// Check tlog.json from the C2SP texts alone (key IDs and messages rebuilt with SHA-256
/// and Ed25519, the proof with the RFC 9162 algorithm of vox's merkle module), and the
/// notes and proof a second time with Cloudflare azul's stock implementation.
fn verify_tlog(v: &Value) {
    use data_encoding::BASE64;
    let b64 = |b: &[u8]| BASE64.encode(b);
    for (who, ty) in [("log", 1u8), ("witness", 4u8)] {
        let pk = unhex(&v[who]["public_key"]);
        let seed: [u8; 32] = unhex(&v[who]["ed25519_seed"]).try_into().unwrap();
        assert_eq!(
            SigningKey::from_bytes(&seed)
                .verifying_key()
                .to_bytes()
                .to_vec(),
            pk
        );
        let name = if who == "log" {
            s(&v["log"]["origin"])
        } else {
            s(&v["witness"]["name"])
        };
        let id = &sha256(&[name.as_bytes(), &[b'\n', ty], &pk])[..4];
        assert_eq!(s(&v[who]["key_id"]), hex::encode(id));
        let vkey = format!(
            "{name}+{}+{}",
            hex::encode(id),
            b64(&[&[ty][..], &pk].concat())
        );
        assert_eq!(s(&v[who]["vkey"]), vkey);
    }
    let log_pk =
        VerifyingKey::from_bytes(&unhex(&v["log"]["public_key"]).try_into().unwrap()).unwrap();
    let wit_pk =
        VerifyingKey::from_bytes(&unhex(&v["witness"]["public_key"]).try_into().unwrap()).unwrap();
    let hashes: Vec<NodeHash> = arr(&v["leaves"])
        .iter()
        .map(|l| leaf_hash(s(l).as_bytes()))
        .collect();
    for cp in [&v["old_checkpoint"], &v["checkpoint"]] {
        let size = u(&cp["size"]) as usize;
        let root = root_from_leaf_hashes(&hashes[..size]);
        assert_eq!(nh(&cp["root_hex"]), root);
        let body = format!(
            "{}\n{size}\n{}\n",
            s(&v["log"]["origin"]),
            b64(root.as_bytes())
        );
        assert_eq!(s(&cp["text"]), body);
        // The note: text, blank line, one line "— origin base64(keyid || Ed25519(text))".
        let sig = Signature::from_slice(
            &BASE64
                .decode(
                    s(&cp["signed_note"])
                        .strip_prefix(&format!("{body}\n\u{2014} {} ", s(&v["log"]["origin"])))
                        .unwrap()
                        .trim_end()
                        .as_bytes(),
                )
                .unwrap()[4..],
        )
        .unwrap();
        log_pk.verify(body.as_bytes(), &sig).unwrap();
        // With azul's stock implementation.
        let note = signed_note::Note::from_bytes(s(&cp["signed_note"]).as_bytes()).unwrap();
        let list = signed_note::VerifierList::new(vec![Box::new(
            signed_note::StandardVerifier::new(s(&v["log"]["vkey"])).unwrap(),
        )]);
        note.verify(&list).unwrap();
        let parsed = tlog_tiles::Checkpoint::from_bytes(note.text()).unwrap();
        assert_eq!(parsed.size() as usize, size);
        assert_eq!(parsed.hash().0, root.0);
    }
    // The cosignature: 4-byte key ID, 8-byte big-endian timestamp, Ed25519 signature over
    // "cosignature/v1\ntime <T>\n" + checkpoint text.
    let c = &v["cosignature"];
    let ts = u(&c["timestamp"]);
    let body = s(&v["checkpoint"]["text"]);
    let msg = format!("cosignature/v1\ntime {ts}\n{body}");
    assert_eq!(s(&c["signed_message"]), msg);
    let line = s(&c["line"]);
    let raw = BASE64
        .decode(
            line.strip_prefix(&format!("\u{2014} {} ", s(&v["witness"]["name"])))
                .unwrap()
                .trim_end()
                .as_bytes(),
        )
        .unwrap();
    assert_eq!(hex::encode(&raw[..4]), s(&v["witness"]["key_id"]));
    assert_eq!(u64::from_be_bytes(raw[4..12].try_into().unwrap()), ts);
    wit_pk
        .verify(msg.as_bytes(), &Signature::from_slice(&raw[12..]).unwrap())
        .unwrap();
    assert_eq!(
        s(&c["cosigned_note"]),
        format!("{}{line}", s(&v["checkpoint"]["signed_note"]))
    );
    // The requests: "old N", the proof lines, a blank line, the note; the proof checks
    // with vox's RFC 9162 code and with azul's.
    let ac = arr(&v["add_checkpoint"]);
    let second = s(&ac[1]["request"]);
    let (control, note) = second.split_once("\n\n").unwrap();
    assert_eq!(note, s(&v["checkpoint"]["signed_note"]));
    let mut lines = control.lines();
    assert_eq!(lines.next(), Some("old 6"));
    let proof: Vec<NodeHash> = lines
        .map(|l| NodeHash(BASE64.decode(l.as_bytes()).unwrap().try_into().unwrap()))
        .collect();
    let old_root = nh(&v["old_checkpoint"]["root_hex"]);
    let new_root = nh(&v["checkpoint"]["root_hex"]);
    verify_consistency(6, 10, &old_root, &new_root, &proof).unwrap();
    let azul_proof: Vec<tlog_tiles::Hash> = proof.iter().map(|h| tlog_tiles::Hash(h.0)).collect();
    tlog_tiles::check_tree(
        &azul_proof,
        10,
        tlog_tiles::Hash(new_root.0),
        6,
        tlog_tiles::Hash(old_root.0),
    )
    .unwrap();
    assert_eq!(
        s(&ac[0]["request"]),
        format!("old 0\n\n{}", s(&v["old_checkpoint"]["signed_note"]))
    );
    assert_eq!(s(&ac[1]["response"]), line);
    assert_eq!(u(&ac[2]["status"]), 409);
    assert_eq!(s(&ac[2]["response"]), "10\n");
}

#[test]
fn tlog() {
    check("tlog.json", gen_tlog, verify_tlog);
}
