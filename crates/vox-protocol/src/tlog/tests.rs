//! Unit tests of the C2SP formats and the witness rules. Each case is built so that it
//! fails if the rule it names is dropped: malformed inputs differ from a valid one in
//! exactly one place, and the valid one is checked to pass first.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use super::*;
use crate::merkle::{consistency_proof, leaf_hash, root_from_leaf_hashes};

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn name(s: &str) -> KeyName {
    KeyName::new(s).unwrap()
}

const ORIGIN: &str = "vox.example/log";
const WITNESS: &str = "witness.example/w1";

fn log_vkey() -> VerifierKey {
    VerifierKey::new(name(ORIGIN), KeyType::Ed25519, key(1).verifying_key())
}

fn leaves(n: u64) -> Vec<NodeHash> {
    (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
}

fn origin(s: &str) -> Origin {
    Origin::new(s).unwrap()
}

fn checkpoint(size: u64) -> Checkpoint {
    Checkpoint {
        origin: origin(ORIGIN),
        size,
        root: root_from_leaf_hashes(&leaves(size)),
        extensions: Vec::new(),
    }
}

// ----------------------------------------------------------------------------------------
// signed-note
// ----------------------------------------------------------------------------------------

/// The example of signed-note §Verifier keys, verified as published: an outsider's
/// known answer for the key-ID rule, the vkey encoding and Ed25519 note signatures.
#[test]
fn c2sp_signed_note_example_verifies() {
    let vkey_text = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
    let vkey = VerifierKey::parse(vkey_text).unwrap();
    assert_eq!(vkey.to_string(), vkey_text);
    assert_eq!(vkey.key_type(), KeyType::Ed25519);
    let note = "This is an example message.\n\n\u{2014} example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";
    let parsed = Note::parse(note.as_bytes()).unwrap();
    assert_eq!(parsed.text(), "This is an example message.\n");
    assert_eq!(parsed.to_text(), note);
    let ok = parsed.verify(std::slice::from_ref(&vkey)).unwrap();
    assert_eq!(ok.len(), 1);
    // One changed character of the text and it no longer verifies.
    let tampered = note.replace("example message", "example massage");
    assert!(matches!(
        Note::parse(tampered.as_bytes()).unwrap().verify(&[vkey]),
        Err(TlogError::BadSignature { .. })
    ));
}

#[test]
fn verifier_key_round_trip_and_rejections() {
    let vkey = log_vkey();
    let text = vkey.to_string();
    assert_eq!(VerifierKey::parse(&text).unwrap(), vkey);
    let cos = VerifierKey::new(
        name(WITNESS),
        KeyType::CosignatureV1,
        key(2).verifying_key(),
    );
    assert_eq!(VerifierKey::parse(&cos.to_string()).unwrap(), cos);
    // Same key and name under another type: another key ID (signed-note §Verifier keys).
    let other = VerifierKey::new(name(WITNESS), KeyType::Ed25519, key(2).verifying_key());
    assert_ne!(other.key_id(), cos.key_id());

    let (n, rest) = text.split_once('+').unwrap();
    let (id, b64) = rest.split_once('+').unwrap();
    let mut wrong_id = id.to_owned();
    wrong_id.replace_range(0..1, if id.starts_with('0') { "1" } else { "0" });
    let mut raw = BASE64.decode(b64.as_bytes()).unwrap();
    raw[0] = 0x02;
    let bad_type = BASE64.encode(&raw);
    let cases: Vec<(String, &str)> = vec![
        (format!("{n}+{id}"), "two parts"),
        (format!("{n}+{id}+{b64}+x"), "a fourth part"),
        (format!("+{id}+{b64}"), "empty name"),
        (format!("{n} x+{id}+{b64}"), "space in name"),
        (format!("{n}+{}+{b64}", id.to_uppercase()), "upper-case id"),
        (format!("{n}+{}+{b64}", &id[..7]), "short id"),
        (format!("{n}+{wrong_id}+{b64}"), "wrong id"),
        (format!("{n}+{id}+{}", &b64[..b64.len() - 4]), "short key"),
        (format!("{n}+{id}+{bad_type}"), "unknown type"),
        (
            format!(
                "{n}+{id}+{}",
                padded_inside(&BASE64.decode(b64.as_bytes()).unwrap())
            ),
            "padding inside the base64",
        ),
        (format!("{n}+{id}+{b64}="), "extra padding"),
        (format!("{n}+{id}+"), "empty key"),
    ];
    for (case, why) in cases {
        assert!(
            VerifierKey::parse(&case).is_err(),
            "accepted ({why}): {case}"
        );
    }
}

/// Base64 may contain `+`, the vkey separator: such keys must round-trip (found by the
/// cross-check against azul).
#[test]
fn verifier_key_with_plus_in_base64() {
    let mut found = 0;
    for seed in 0..=255u8 {
        let vkey = VerifierKey::new(name(ORIGIN), KeyType::Ed25519, key(seed).verifying_key());
        let text = vkey.to_string();
        if text[ORIGIN.len() + 10..].contains('+') {
            found += 1;
            assert_eq!(VerifierKey::parse(&text).unwrap(), vkey);
        }
    }
    assert!(found > 0);
}

fn signed_note(text: &str) -> String {
    let mut note = Note::new(text).unwrap();
    note.sign(&name(ORIGIN), &key(1)).unwrap();
    note.to_text()
}

#[test]
fn note_round_trip() {
    let text = signed_note("hello\n\nworld\n");
    let note = Note::parse(text.as_bytes()).unwrap();
    // The last blank line separates: the text keeps its own empty line.
    assert_eq!(note.text(), "hello\n\nworld\n");
    assert_eq!(note.to_text(), text);
    note.verify(&[log_vkey()]).unwrap();
}

/// The same bytes as two padded base64 blocks (`Uk=` + `gwM=`): `data_encoding` decodes
/// such a concatenation, so the parsers must refuse it themselves (one text per value).
fn padded_inside(raw: &[u8]) -> String {
    let text = format!("{}{}", BASE64.encode(&raw[..1]), BASE64.encode(&raw[1..]));
    assert_eq!(
        BASE64.decode(text.as_bytes()).unwrap(),
        raw,
        "the decoder accepts it"
    );
    text
}

#[test]
fn note_parse_rejects_each_malformed_variant() {
    let good = signed_note("hello\n");
    Note::parse(good.as_bytes()).unwrap();
    let sig_line = good.strip_prefix("hello\n\n").unwrap().to_owned();
    let b64 = sig_line
        .strip_suffix('\n')
        .unwrap()
        .rsplit_once(' ')
        .unwrap()
        .1
        .to_owned();
    // Non-canonical base64: the last character's unused low bits set.
    let raw = BASE64.decode(b64.as_bytes()).unwrap();
    assert_eq!(raw.len() % 3, 2, "68 bytes end in one padding character");
    let last = b64.trim_end_matches('=').chars().last().unwrap();
    let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let pos = alphabet.find(last).unwrap();
    let bumped = alphabet.chars().nth(pos ^ 1).unwrap();
    let trimmed = b64.trim_end_matches('=');
    let noncanonical = format!("{}{bumped}=", &trimmed[..trimmed.len() - 1]);
    let many: String = sig_line.repeat(MAX_NOTE_SIGNATURES + 1);

    let cases: Vec<(Vec<u8>, &str)> = vec![
        (vec![b'a'; MAX_NOTE_SIZE + 1], "too large"),
        (b"hello\xff\n\n".to_vec(), "not UTF-8"),
        (good.replace("hello", "hel\tlo").into_bytes(), "tab"),
        (
            good.replace("hello", "hel\rlo").into_bytes(),
            "carriage return",
        ),
        (
            good.replace("hello\n\n", "hello\n").into_bytes(),
            "no blank line",
        ),
        (
            good.strip_suffix('\n').unwrap().as_bytes().to_vec(),
            "no final newline",
        ),
        (b"hello\n\n".to_vec(), "no signature line"),
        (
            good.replace("\u{2014} ", "- ").into_bytes(),
            "hyphen for em dash",
        ),
        (
            good.replace("\u{2014} ", "\u{2014}").into_bytes(),
            "no space after dash",
        ),
        (
            good.replace(&format!("{ORIGIN} "), ORIGIN).into_bytes(),
            "no space before sig",
        ),
        (
            good.replace(ORIGIN, "vox.example+log").into_bytes(),
            "plus in name",
        ),
        (good.replace(&b64, "!!!!").into_bytes(), "not base64"),
        (
            good.replace(&b64, &noncanonical).into_bytes(),
            "non-canonical base64",
        ),
        (
            good.replace(&b64, &padded_inside(&raw)).into_bytes(),
            "padding inside the base64",
        ),
        (good.replace(&b64, "AAAAAA==").into_bytes(), "key ID only"),
        (good.replace(&b64, "AAAA").into_bytes(), "short of a key ID"),
        (
            good.replace(&sig_line, &format!("{sig_line}\n"))
                .into_bytes(),
            "trailing empty line",
        ),
        (
            format!("hello\n\n{many}").into_bytes(),
            "too many signatures",
        ),
    ];
    for (bytes, why) in cases {
        assert!(Note::parse(&bytes).is_err(), "accepted: {why}");
    }
    // Exactly the limit is accepted.
    let limit: String = sig_line.repeat(MAX_NOTE_SIGNATURES);
    Note::parse(format!("hello\n\n{limit}").as_bytes()).unwrap();
}

#[test]
fn note_verification_rules() {
    let good = Note::parse(signed_note("hello\n").as_bytes()).unwrap();
    let vkey = log_vkey();
    // A key with the same name but another ID, and one with the same ID but another
    // name, are unknown keys: ignored, so nothing verifies.
    let same_name = VerifierKey::new(name(ORIGIN), KeyType::Ed25519, key(9).verifying_key());
    assert_eq!(
        good.verify(std::slice::from_ref(&same_name)),
        Err(TlogError::NoKnownSignature)
    );
    let mut renamed = good.clone();
    renamed.signatures[0].name = name("other.example/log");
    assert_eq!(
        renamed.verify(std::slice::from_ref(&vkey)),
        Err(TlogError::NoKnownSignature)
    );
    // An unknown signature beside a good one is ignored.
    let mut extra = good.clone();
    extra
        .add_signature(NoteSignature {
            name: name("stranger.example"),
            key_id: KeyId([1, 2, 3, 4]),
            signature: vec![7; 10],
        })
        .unwrap();
    assert_eq!(extra.verify(std::slice::from_ref(&vkey)).unwrap().len(), 1);
    // A known key's bad signature rejects the note even beside a good one.
    let mut bad = good.clone();
    let mut forged = good.signatures[0].clone();
    forged.signature[0] ^= 1;
    bad.signatures.insert(0, forged);
    let other_good = {
        let mut n = good.clone();
        n.sign(&name(ORIGIN), &key(9)).unwrap();
        n.signatures.swap(0, 1);
        n
    };
    bad.signatures.push(other_good.signatures[0].clone());
    assert!(matches!(
        bad.verify(&[vkey.clone(), same_name]),
        Err(TlogError::BadSignature { .. })
    ));
    // A signature of the wrong length from a known key is a bad signature.
    let mut short = good.clone();
    short.signatures[0].signature.truncate(63);
    assert!(matches!(
        short.verify(&[vkey]),
        Err(TlogError::BadSignature { .. })
    ));
}

// ----------------------------------------------------------------------------------------
// tlog-checkpoint
// ----------------------------------------------------------------------------------------

#[test]
fn checkpoint_round_trip() {
    let mut c = checkpoint(5);
    c.extensions = vec!["ext one".into(), "ext-two".into()];
    let text = c.to_text().unwrap();
    let root = BASE64.encode(c.root.as_bytes());
    assert_eq!(text, format!("{ORIGIN}\n5\n{root}\next one\next-two\n"));
    assert_eq!(Checkpoint::parse(&text).unwrap(), c);
    // The empty tree: size 0 written as "0".
    let empty = checkpoint(0);
    assert_eq!(empty.root, EMPTY_ROOT);
    let text = empty.to_text().unwrap();
    assert!(text.contains("\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"));
    assert_eq!(Checkpoint::parse(&text).unwrap(), empty);
}

#[test]
fn checkpoint_parse_rejects_each_malformed_variant() {
    let root = BASE64.encode(checkpoint(5).root.as_bytes());
    let good = format!("{ORIGIN}\n5\n{root}\n");
    Checkpoint::parse(&good).unwrap();
    let short_root = BASE64.encode(&[0u8; 31]);
    let long_root = BASE64.encode(&[0u8; 33]);
    let cases: Vec<(String, &str)> = vec![
        (format!("{ORIGIN}\n5\n{root}"), "no final newline"),
        (format!("{ORIGIN}\n5\n"), "no root line"),
        (format!("{ORIGIN}\n"), "no size line"),
        (String::new(), "empty"),
        (format!("\n5\n{root}\n"), "empty origin"),
        (format!("{ORIGIN}\n05\n{root}\n"), "leading zero"),
        (
            format!("{ORIGIN}\n00\n{root}\n"),
            "zero with a leading zero",
        ),
        (format!("{ORIGIN}\n+5\n{root}\n"), "plus sign"),
        (format!("{ORIGIN}\n-5\n{root}\n"), "minus sign"),
        (format!("{ORIGIN}\n 5\n{root}\n"), "space before size"),
        (format!("{ORIGIN}\n5 \n{root}\n"), "space after size"),
        (format!("{ORIGIN}\n\n{root}\n"), "empty size"),
        (
            format!("{ORIGIN}\n18446744073709551616\n{root}\n"),
            "size overflows u64",
        ),
        (format!("{ORIGIN}\n0x5\n{root}\n"), "hex size"),
        (format!("{ORIGIN}\n5\n{short_root}\n"), "31-byte root"),
        (format!("{ORIGIN}\n5\n{long_root}\n"), "33-byte root"),
        (
            format!(
                "{ORIGIN}\n5\n{}\n",
                padded_inside(checkpoint(5).root.as_bytes())
            ),
            "padding inside the root's base64",
        ),
        (
            format!("{ORIGIN}\n5\n{}\n", root.trim_end_matches('=')),
            "unpadded root",
        ),
        (
            format!("{ORIGIN}\n5\n{}\n", hex::encode([0u8; 32])),
            "hex root",
        ),
        (format!("{ORIGIN}\n5\n{root}\n\n"), "empty extension line"),
        (
            format!("{ORIGIN}\n5\n{root}\next\n\n"),
            "empty line after extension",
        ),
        (
            format!("{ORIGIN}\n5\n{root}\next\x01\n"),
            "control character",
        ),
    ];
    for (text, why) in cases {
        assert!(Checkpoint::parse(&text).is_err(), "accepted: {why}");
    }
    // The largest size parses.
    Checkpoint::parse(&format!("{ORIGIN}\n{}\n{root}\n", u64::MAX)).unwrap();
}

#[test]
fn checkpoint_to_text_refuses_extensions_that_change_its_lines() {
    for bad in ["", "two\nlines", "tab\there"] {
        let mut c = checkpoint(1);
        c.extensions = vec![bad.to_owned()];
        assert!(c.to_text().is_err(), "accepted extension {bad:?}");
    }
}

// ----------------------------------------------------------------------------------------
// tlog-cosignature
// ----------------------------------------------------------------------------------------

fn witness_vkey() -> VerifierKey {
    VerifierKey::new(
        name(WITNESS),
        KeyType::CosignatureV1,
        key(2).verifying_key(),
    )
}

/// A checkpoint with an extension, signed by the log and cosigned by the witness.
fn cosigned_note(timestamp: u64) -> String {
    let mut c = checkpoint(7);
    c.extensions = vec!["extension".into()];
    let mut note = c.sign(&key(1)).unwrap();
    let line = cosign(note.text(), &name(WITNESS), &key(2), timestamp).unwrap();
    note.add_signature(line).unwrap();
    note.to_text()
}

#[test]
fn cosignature_round_trip_and_message() {
    let text = cosigned_note(1_700_000_000);
    let note = Note::parse(text.as_bytes()).unwrap();
    let ok = note.verify(&[witness_vkey()]).unwrap();
    assert_eq!(ok[0].timestamp, Some(1_700_000_000));
    let ok = note.verify(&[log_vkey()]).unwrap();
    assert_eq!(ok[0].timestamp, None);
    // The signed message is spelled out in tlog-cosignature §Ed25519 signed message.
    let msg = cosignature_v1_message(1_700_000_000, note.text()).unwrap();
    assert_eq!(
        String::from_utf8(msg.clone()).unwrap(),
        format!("cosignature/v1\ntime 1700000000\n{}", note.text())
    );
    let c = CosignatureV1::from_signature_bytes(&note.signatures()[1].signature).unwrap();
    assert_eq!(c.timestamp, 1_700_000_000);
    key(2)
        .verifying_key()
        .verify_strict(&msg, &c.signature)
        .unwrap();
    assert_eq!(
        CosignatureV1::from_signature_bytes(&c.to_signature_bytes()).unwrap(),
        c
    );
    // The log's note key does not verify a cosignature, nor the reverse: the type byte
    // is in the key ID.
    let swapped = VerifierKey::new(name(WITNESS), KeyType::Ed25519, key(2).verifying_key());
    assert_eq!(note.verify(&[swapped]), Err(TlogError::NoKnownSignature));
}

#[test]
fn cosignature_timestamp_limits() {
    assert_eq!(
        cosign("a\n", &name(WITNESS), &key(2), MAX_TIMESTAMP + 1),
        Err(TlogError::Timestamp(MAX_TIMESTAMP + 1))
    );
    let line = cosign("a\n", &name(WITNESS), &key(2), MAX_TIMESTAMP).unwrap();
    let mut raw = line.signature.clone();
    raw[0] = 0x80; // timestamp 2^63 + …
    assert!(matches!(
        CosignatureV1::from_signature_bytes(&raw),
        Err(TlogError::Timestamp(_))
    ));
    assert!(CosignatureV1::from_signature_bytes(&raw[..71]).is_err());
    assert!(CosignatureV1::from_signature_bytes(&[raw.clone(), vec![0]].concat()).is_err());
}

/// Tamper with every part of a signed and cosigned checkpoint: each change must make
/// the log's signature, or the witness's cosignature, or both, fail.
#[test]
fn tampering_with_any_part_fails_verification() {
    let ts = 1_700_000_000u64;
    let good = cosigned_note(ts);
    let note = Note::parse(good.as_bytes()).unwrap();
    let log = log_vkey();
    let wit = witness_vkey();
    note.verify(std::slice::from_ref(&log)).unwrap();
    note.verify(std::slice::from_ref(&wit)).unwrap();

    let c = Checkpoint::parse(note.text()).unwrap();
    let root_b64 = BASE64.encode(c.root.as_bytes());
    let mut other_root = c.root;
    other_root.0[0] ^= 1;
    let text_tampers: Vec<(String, &str)> = vec![
        (
            good.replace(&format!("{ORIGIN}\n"), "vox.example/lag\n"),
            "origin",
        ),
        (good.replacen("\n7\n", "\n8\n", 1), "size"),
        (
            good.replace(&root_b64, &BASE64.encode(other_root.as_bytes())),
            "root",
        ),
        (good.replace("extension\n", "extensioN\n"), "extension"),
        (good.replace("extension\n", ""), "removed extension"),
        (
            good.replace("extension\n", "extension\nmore\n"),
            "added extension",
        ),
    ];
    for (text, what) in text_tampers {
        let n = Note::parse(text.as_bytes()).unwrap();
        for k in [&log, &wit] {
            assert!(
                matches!(
                    n.verify(std::slice::from_ref(k)),
                    Err(TlogError::BadSignature { .. })
                ),
                "tampered {what} still verifies under {}",
                k.name()
            );
        }
    }

    // Signature-line tampers: key ID (then the line is from an unknown key), signature
    // bytes, timestamp.
    for (i, k) in [(0usize, &log), (1, &wit)] {
        let mut n = note.clone();
        n.signatures[i].key_id.0[3] ^= 1;
        assert_eq!(
            n.verify(std::slice::from_ref(k)),
            Err(TlogError::NoKnownSignature),
            "key ID of {}",
            k.name()
        );
        let len = n.signatures[i].signature.len();
        for byte in [0, len / 2, len - 1] {
            let mut n = note.clone();
            n.signatures[i].signature[byte] ^= 0x10;
            assert!(
                n.verify(std::slice::from_ref(k)).is_err(),
                "signature byte {byte} of {}",
                k.name()
            );
        }
    }
    let mut n = note.clone();
    n.signatures[1].signature[7] ^= 1; // the timestamp's last byte
    assert!(matches!(
        n.verify(std::slice::from_ref(&wit)),
        Err(TlogError::BadSignature { .. })
    ));
}

// ----------------------------------------------------------------------------------------
// tlog-witness add-checkpoint
// ----------------------------------------------------------------------------------------

fn request(old: u64, new: u64) -> AddCheckpointRequest {
    let all = leaves(new);
    let proof = if old == 0 {
        Vec::new()
    } else {
        consistency_proof(&all, old).unwrap()
    };
    AddCheckpointRequest {
        old_size: old,
        proof,
        note: checkpoint(new).sign(&key(1)).unwrap(),
    }
}

#[test]
fn request_round_trip() {
    let r = request(3, 7);
    assert!(!r.proof.is_empty());
    let bytes = r.to_bytes().unwrap();
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(text.starts_with("old 3\n"));
    assert_eq!(AddCheckpointRequest::parse(&bytes).unwrap(), r);
    let r0 = request(0, 7);
    let bytes = r0.to_bytes().unwrap();
    assert!(String::from_utf8(bytes.clone())
        .unwrap()
        .starts_with("old 0\n\n"));
    assert_eq!(AddCheckpointRequest::parse(&bytes).unwrap(), r0);
}

#[test]
fn request_parse_rejects_each_malformed_variant() {
    let good = String::from_utf8(request(3, 7).to_bytes().unwrap()).unwrap();
    AddCheckpointRequest::parse(good.as_bytes()).unwrap();
    let first_proof = good.lines().nth(1).unwrap().to_owned();
    let too_many = {
        let mut r = request(3, 7);
        r.proof = vec![NodeHash([0; 32]); MAX_PROOF_LINES + 1];
        let mut s = format!("old {}\n", r.old_size);
        for h in &r.proof {
            s.push_str(&BASE64.encode(h.as_bytes()));
            s.push('\n');
        }
        s.push('\n');
        s.push_str(&r.note.to_text());
        s
    };
    let cases: Vec<(String, &str)> = vec![
        (good.replacen("old 3\n", "old 03\n", 1), "leading zero"),
        (good.replacen("old 3\n", "old  3\n", 1), "two spaces"),
        (good.replacen("old 3\n", "Old 3\n", 1), "capital"),
        (good.replacen("old 3\n", "old -3\n", 1), "negative"),
        (good.replacen("old 3\n", "old\n", 1), "no size"),
        (good.replacen("old 3\n", "", 1), "no old line"),
        (
            good.replacen(&first_proof, &first_proof[..first_proof.len() - 4], 1),
            "short hash",
        ),
        (
            good.replacen(&first_proof, &hex::encode([0u8; 32]), 1),
            "hex hash",
        ),
        (
            good.replacen(
                &first_proof,
                &padded_inside(&BASE64.decode(first_proof.as_bytes()).unwrap()),
                1,
            ),
            "padding inside a proof hash's base64",
        ),
        // The shape proptest found: a proof line whose base64 has padding in the middle.
        ("old 3\n2B9gwM=\n".to_owned(), "short padded proof line"),
        (good.replacen("\n\n", "\n", 1), "no empty line"),
        (too_many, "64 proof lines"),
        (good.replace("\u{2014} ", "- "), "bad note"),
    ];
    for (text, why) in cases {
        assert!(
            AddCheckpointRequest::parse(text.as_bytes()).is_err(),
            "accepted: {why}"
        );
    }
    let mut r = request(3, 7);
    r.proof = vec![NodeHash([0; 32]); MAX_PROOF_LINES + 1];
    assert!(r.to_bytes().is_err());
}

#[test]
fn response_parse() {
    let line = cosign("a\n", &name(WITNESS), &key(2), 5).unwrap();
    let body = format!("{}{}", line.to_line(), line.to_line());
    assert_eq!(
        parse_add_checkpoint_response(body.as_bytes()).unwrap(),
        vec![line.clone(), line.clone()]
    );
    for bad in ["", "\n", "x\n", line.to_line().trim_end()] {
        assert!(
            parse_add_checkpoint_response(bad.as_bytes()).is_err(),
            "{bad:?}"
        );
    }
}

// ----------------------------------------------------------------------------------------
// The witness
// ----------------------------------------------------------------------------------------

fn witness() -> Witness {
    let mut logs = BTreeMap::new();
    logs.insert(origin(ORIGIN), vec![log_vkey()]);
    Witness::new(name(WITNESS), key(2), logs, WitnessState::default())
}

fn add(w: &mut Witness, r: &AddCheckpointRequest, now: u64) -> Result<Cosigned, WitnessError> {
    w.add_checkpoint(&r.to_bytes().unwrap(), now)
}

/// The response verifies as a cosignature of the submitted checkpoint.
fn assert_cosigns(w: &Witness, r: &AddCheckpointRequest, c: &Cosigned, now: u64) {
    let mut note = r.note.clone();
    for s in parse_add_checkpoint_response(c.body().as_bytes()).unwrap() {
        note.add_signature(s).unwrap();
    }
    let ok = note.verify(&[w.verifier_key()]).unwrap();
    assert_eq!(ok[0].timestamp, Some(now));
}

#[test]
fn witness_accepts_a_consistent_growing_sequence() {
    let mut w = witness();
    let mut old = 0;
    for (i, size) in [0u64, 1, 2, 3, 7, 8, 8, 20, 64, 100]
        .into_iter()
        .enumerate()
    {
        let r = request(old, size);
        let now = 1_000 + i as u64;
        let c = add(&mut w, &r, now).unwrap_or_else(|e| panic!("{old} -> {size}: {e}"));
        assert_cosigns(&w, &r, &c, now);
        let latest = w.latest(&origin(ORIGIN)).unwrap();
        assert_eq!(latest.size, size);
        assert_eq!(latest.root, root_from_leaf_hashes(&leaves(size)));
        // The stored note carries the log's signature and the witness's cosignature.
        let stored = Note::parse(latest.note.as_bytes()).unwrap();
        stored.verify(&[log_vkey()]).unwrap();
        stored.verify(&[w.verifier_key()]).unwrap();
        old = size;
    }
    assert!(w.state().evidence.is_empty());
}

#[test]
fn witness_state_survives_serialization() {
    let mut w = witness();
    add(&mut w, &request(0, 5), 10).unwrap();
    let json = serde_json::to_string(w.state()).unwrap();
    let state: WitnessState = serde_json::from_str(&json).unwrap();
    assert_eq!(&state, w.state());
    let mut logs = BTreeMap::new();
    logs.insert(origin(ORIGIN), vec![log_vkey()]);
    let mut resumed = Witness::new(name(WITNESS), key(2), logs, state);
    // The resumed witness remembers size 5: old 0 is now a conflict, old 5 works.
    assert_eq!(
        add(&mut resumed, &request(0, 9), 11).unwrap_err().status(),
        409
    );
    add(&mut resumed, &request(5, 9), 12).unwrap();
}

#[test]
fn witness_conflict_answers_409_with_its_size() {
    let mut w = witness();
    add(&mut w, &request(0, 10), 1).unwrap();
    let before = w.state().clone();
    for old in [0, 3, 9, 11] {
        let e = add(&mut w, &request(old, 12), 2).unwrap_err();
        assert_eq!(e.status(), 409, "old {old}");
        assert_eq!(e.conflict_body().as_deref(), Some("10\n"));
        assert!(e.evidence().is_none());
    }
    assert_eq!(w.state(), &before, "a refusal changes nothing");
    // A witness that never saw the log has size 0.
    let e = add(&mut witness(), &request(4, 12), 2).unwrap_err();
    assert_eq!(e.conflict_body().as_deref(), Some("0\n"));
}

#[test]
fn witness_refuses_a_bad_proof_with_422() {
    let mut w = witness();
    add(&mut w, &request(0, 10), 1).unwrap();
    let before = w.state().clone();
    let good = request(10, 13);
    let mut cases = Vec::new();
    for i in 0..good.proof.len() {
        let mut r = good.clone();
        r.proof[i].0[0] ^= 1;
        cases.push((r, "flipped hash"));
    }
    let mut r = good.clone();
    r.proof.pop();
    cases.push((r, "short proof"));
    let mut r = good.clone();
    r.proof.push(NodeHash([0; 32]));
    cases.push((r, "long proof"));
    let mut r = good.clone();
    r.proof.clear();
    cases.push((r, "no proof"));
    // A proof for another tree of the same size.
    let mut r = good.clone();
    let mut other = leaves(13);
    other[12] = leaf_hash(b"other");
    r.note = Checkpoint {
        root: root_from_leaf_hashes(&other),
        ..checkpoint(13)
    }
    .sign(&key(1))
    .unwrap();
    cases.push((r, "checkpoint not extending the cosigned one"));
    for (r, why) in cases {
        let e = add(&mut w, &r, 2).unwrap_err();
        assert_eq!(e.status(), 422, "{why}: {e}");
        let ev = e.evidence().unwrap();
        assert_eq!(ev.kind, EvidenceKind::UnprovenConsistency);
        assert_eq!(ev.submitted_note, r.note.to_text());
    }
    assert_eq!(w.state(), &before, "failed proofs are returned, not stored");
    add(&mut w, &good, 3).unwrap();
}

#[test]
fn witness_refuses_rollback() {
    let mut w = witness();
    add(&mut w, &request(0, 10), 1).unwrap();
    let before = w.state().clone();
    // With the witness's size as old: old > size, 400.
    let mut r = request(0, 6);
    r.old_size = 10;
    let e = add(&mut w, &r, 2).unwrap_err();
    assert_eq!(e.status(), 400);
    assert!(matches!(e, WitnessError::OldSizeTooLarge { .. }));
    // With a consistent-looking old size: 409, the witness says 10.
    let e = add(&mut w, &request(3, 6), 2).unwrap_err();
    assert_eq!(e.status(), 409);
    assert_eq!(e.conflict_body().as_deref(), Some("10\n"));
    assert_eq!(w.state(), &before);
}

#[test]
fn witness_refuses_fork_and_keeps_evidence() {
    let mut w = witness();
    add(&mut w, &request(0, 10), 1).unwrap();
    let cosigned = w.latest(&origin(ORIGIN)).unwrap().note.clone();
    let mut forked_leaves = leaves(10);
    forked_leaves[4] = leaf_hash(b"rewritten history");
    let fork = Checkpoint {
        root: root_from_leaf_hashes(&forked_leaves),
        ..checkpoint(10)
    };
    let fork_note = fork.sign(&key(1)).unwrap();
    let r = AddCheckpointRequest {
        old_size: 10,
        proof: Vec::new(),
        note: fork_note.clone(),
    };
    let e = add(&mut w, &r, 2).unwrap_err();
    assert_eq!(e.status(), 422);
    assert!(matches!(e, WitnessError::Fork(_)));
    let ev = e.evidence().unwrap().clone();
    assert_eq!(ev.kind, EvidenceKind::Equivocation);
    assert_eq!(ev.cosigned_note, cosigned);
    assert_eq!(ev.submitted_note, fork_note.to_text());
    // The evidence stands on its own: both notes verify under the log key, same size,
    // different roots.
    let a = SignedCheckpoint::parse_and_verify(ev.cosigned_note.as_bytes(), &[log_vkey()]).unwrap();
    let b =
        SignedCheckpoint::parse_and_verify(ev.submitted_note.as_bytes(), &[log_vkey()]).unwrap();
    assert_eq!(a.checkpoint.size, b.checkpoint.size);
    assert_ne!(a.checkpoint.root, b.checkpoint.root);
    // Kept in the state, once.
    assert_eq!(w.state().evidence, vec![ev.clone()]);
    let _ = add(&mut w, &r, 3).unwrap_err();
    assert_eq!(w.state().evidence.len(), 1);
    // Lines a client adds do not make it new evidence, nor get into it.
    for i in 0..3u8 {
        let mut padded = r.clone();
        padded
            .note
            .add_signature(NoteSignature {
                name: name("stranger.example"),
                key_id: KeyId([i; 4]),
                signature: vec![i; 64],
            })
            .unwrap();
        let e = add(&mut w, &padded, 4).unwrap_err();
        assert_eq!(e.evidence().unwrap().submitted_note, fork_note.to_text());
    }
    assert_eq!(w.state().evidence.len(), 1);
    // The stored checkpoint is unchanged.
    assert_eq!(w.latest(&origin(ORIGIN)).unwrap().note, cosigned);

    // The same fork submitted with a wrong old size is a 409 but still caught.
    let mut w2 = witness();
    add(&mut w2, &request(0, 10), 1).unwrap();
    let r = AddCheckpointRequest {
        old_size: 4,
        proof: Vec::new(),
        note: fork_note,
    };
    let e = add(&mut w2, &r, 2).unwrap_err();
    assert_eq!(e.status(), 409);
    assert_eq!(e.evidence().unwrap().kind, EvidenceKind::Equivocation);
    assert_eq!(w2.state().evidence.len(), 1);
}

#[test]
fn witness_statuses_for_the_other_refusals() {
    let mut w = witness();
    // 400: not a request at all.
    assert_eq!(w.add_checkpoint(b"hello", 1).unwrap_err().status(), 400);
    // 400: a note that is not a checkpoint.
    let mut r = request(0, 3);
    let mut note = Note::new("not a checkpoint\n").unwrap();
    note.sign(&name(ORIGIN), &key(1)).unwrap();
    r.note = note;
    assert_eq!(add(&mut w, &r, 1).unwrap_err().status(), 400);
    // 404: unknown origin.
    let c = Checkpoint {
        origin: origin("elsewhere.example/log"),
        ..checkpoint(3)
    };
    let mut r = request(0, 3);
    r.note = c.sign(&key(1)).unwrap();
    let e = add(&mut w, &r, 1).unwrap_err();
    assert_eq!(e.status(), 404);
    // 403: signed by another key under the log's name.
    let mut r = request(0, 3);
    r.note = checkpoint(3).sign(&key(9)).unwrap();
    assert_eq!(add(&mut w, &r, 1).unwrap_err().status(), 403);
    // 403: a known key's signature that does not verify.
    let mut r = request(0, 3);
    r.note.signatures[0].signature[5] ^= 1;
    assert_eq!(add(&mut w, &r, 1).unwrap_err().status(), 403);
    // 422: size 0 with another root.
    let mut r = request(0, 0);
    r.note = Checkpoint {
        root: NodeHash([1; 32]),
        ..checkpoint(0)
    }
    .sign(&key(1))
    .unwrap();
    assert!(matches!(
        add(&mut w, &r, 1).unwrap_err(),
        WitnessError::EmptyTreeRoot
    ));
    // 422: a proof with old size 0.
    let mut r = request(0, 3);
    r.proof = vec![NodeHash([0; 32])];
    assert!(matches!(
        add(&mut w, &r, 1).unwrap_err(),
        WitnessError::ProofNotEmpty
    ));
    // 500: a clock at 0 or past 2^63 − 1 cannot timestamp a cosignature.
    for now in [0, MAX_TIMESTAMP + 1] {
        assert_eq!(add(&mut w, &request(0, 3), now).unwrap_err().status(), 500);
    }
    assert_eq!(w.state(), &WitnessState::default(), "nothing was cosigned");
    add(&mut w, &request(0, 3), 1).unwrap();
}

#[test]
fn witness_accepts_log_key_rotation_and_unknown_extra_signatures() {
    let mut logs = BTreeMap::new();
    let new_key = VerifierKey::new(name(ORIGIN), KeyType::Ed25519, key(3).verifying_key());
    logs.insert(origin(ORIGIN), vec![log_vkey(), new_key]);
    let mut w = Witness::new(name(WITNESS), key(2), logs, WitnessState::default());
    add(&mut w, &request(0, 4), 1).unwrap();
    let mut r = request(4, 9);
    r.note = checkpoint(9).sign(&key(3)).unwrap();
    // Another witness's cosignature on the submitted note is ignored.
    let other = cosign(r.note.text(), &name("w2.example"), &key(4), 7).unwrap();
    r.note.add_signature(other).unwrap();
    add(&mut w, &r, 2).unwrap();
    // The stored note keeps the verified log signature and this witness's cosignature,
    // not the unverified line the client sent.
    let stored = Note::parse(w.latest(&origin(ORIGIN)).unwrap().note.as_bytes()).unwrap();
    let names: Vec<&str> = stored
        .signatures()
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(names, [ORIGIN, WITNESS]);
}

/// tlog-checkpoint only RECOMMENDS origins without spaces: a witness must follow such a
/// log (its key name then differs from the origin), but vox will not sign under it.
#[test]
fn origin_with_a_space() {
    let o = origin("Vox Example Log");
    let c = Checkpoint {
        origin: o.clone(),
        ..checkpoint(4)
    };
    assert!(matches!(c.sign(&key(1)), Err(TlogError::KeyName(_))));
    let text = c.to_text().unwrap();
    assert_eq!(Checkpoint::parse(&text).unwrap(), c);
    let mut note = Note::new(&text).unwrap();
    note.sign(&name("vox.example/key"), &key(1)).unwrap();
    let mut logs = BTreeMap::new();
    logs.insert(
        o.clone(),
        vec![VerifierKey::new(
            name("vox.example/key"),
            KeyType::Ed25519,
            key(1).verifying_key(),
        )],
    );
    let mut w = Witness::new(name(WITNESS), key(2), logs, WitnessState::default());
    let r = AddCheckpointRequest {
        old_size: 0,
        proof: Vec::new(),
        note,
    };
    add(&mut w, &r, 1).unwrap();
    assert_eq!(w.latest(&o).unwrap().size, 4);
    assert!(Origin::new("").is_err());
    assert!(Origin::new("a\u{1}b").is_err());
    assert!(Origin::new("a\u{7f}b").is_err());
}

// ----------------------------------------------------------------------------------------
// Every single-bit change ("tweaks", exhaustively)
// ----------------------------------------------------------------------------------------

/// Flip each bit of a signed and cosigned checkpoint in turn: the result must fail to
/// parse, or fail to verify under the log key, or under the witness key. No byte of the
/// note is outside what the two signatures and the format pin down.
#[test]
fn every_bit_flip_of_a_cosigned_note_is_caught() {
    let good = cosigned_note(1_700_000_000).into_bytes();
    let (log, wit) = (log_vkey(), witness_vkey());
    for i in 0..good.len() {
        for bit in 0..8 {
            let mut b = good.clone();
            b[i] ^= 1 << bit;
            let Ok(n) = Note::parse(&b) else { continue };
            let both = n.verify(std::slice::from_ref(&log)).is_ok()
                && n.verify(std::slice::from_ref(&wit)).is_ok();
            assert!(!both, "flip of bit {bit} of byte {i} still verifies");
        }
    }
}

/// Flip each bit of a valid add-checkpoint request: the witness must refuse every one
/// and keep its state.
#[test]
fn every_bit_flip_of_a_request_is_refused() {
    let mut w = witness();
    add(&mut w, &request(0, 6), 1).unwrap();
    let before = w.state().clone();
    let good = request(6, 11).to_bytes().unwrap();
    for i in 0..good.len() {
        for bit in 0..8 {
            let mut b = good.clone();
            b[i] ^= 1 << bit;
            let e = w.add_checkpoint(&b, 2);
            assert!(e.is_err(), "flip of bit {bit} of byte {i} was cosigned");
            assert_eq!(w.state().logs, before.logs);
        }
    }
    w.add_checkpoint(&good, 2).unwrap();
}

// ----------------------------------------------------------------------------------------
// Arbitrary input: no panic, and whatever parses re-encodes to the same bytes
// ----------------------------------------------------------------------------------------

mod arbitrary {
    use super::*;
    use proptest::prelude::*;

    /// A valid request body with up to four random byte edits (insert, delete, replace),
    /// so that most inputs get deep into the parsers.
    fn edited_request() -> impl Strategy<Value = Vec<u8>> {
        let base = request(3, 11).to_bytes().unwrap();
        let len = base.len();
        proptest::collection::vec((0..3u8, 0..len, any::<u8>()), 0..4).prop_map(move |edits| {
            let mut b = base.clone();
            for (kind, pos, byte) in edits {
                let pos = pos.min(b.len().saturating_sub(1));
                match kind {
                    0 => b.insert(pos, byte),
                    1 if !b.is_empty() => {
                        b.remove(pos);
                    }
                    _ if !b.is_empty() => b[pos] = byte,
                    _ => {}
                }
            }
            b
        })
    }

    proptest! {
        #[test]
        fn parsers_never_panic_and_are_canonical(
            body in prop_oneof![edited_request(), proptest::collection::vec(any::<u8>(), 0..300)],
        ) {
            if let Ok(r) = AddCheckpointRequest::parse(&body) {
                prop_assert_eq!(r.to_bytes().unwrap(), body.clone());
            }
            let text = String::from_utf8_lossy(&body).into_owned();
            if let Ok(n) = Note::parse(text.as_bytes()) {
                prop_assert_eq!(n.to_text(), text.clone());
            }
            if let Ok(c) = Checkpoint::parse(&text) {
                prop_assert_eq!(c.to_text().unwrap(), text.clone());
            }
            let _ = VerifierKey::parse(&text);
            let _ = parse_add_checkpoint_response(&body);
            let mut w = witness();
            let _ = w.add_checkpoint(&body, 1);
        }
    }
}
