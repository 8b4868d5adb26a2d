//! Cross-check of `vox_protocol::tlog` against a stock C2SP implementation: Cloudflare
//! azul's `signed_note` 0.2 and `tlog_tiles` 0.2 (dev-dependencies only).
//!
//! Notes, verifier keys and checkpoints made by vox must be accepted by azul and the
//! reverse. azul 0.2 has no cosignature type, so the cosignature/v1 verifier and signer
//! plugged into azul's note code here are written from tlog-cosignature's text, apart
//! from vox's: a vox cosignature verifying through azul's note framing and key lookup,
//! and the reverse, checks the line format, the key-ID rule for type 0x04, the
//! `timestamped_signature` layout and the signed message.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use data_encoding::BASE64;
use ed25519_dalek::{Signer as _, SigningKey, Verifier as _};
use signed_note::{
    Note as AzulNote, Signer as AzulSigner, StandardSigner, StandardVerifier, Verifier,
    VerifierList,
};
use tlog_tiles::{Checkpoint as AzulCheckpoint, Hash as AzulHash};
use vox_protocol::merkle::{consistency_proof, leaf_hash, root_from_leaf_hashes, NodeHash};
use vox_protocol::tlog::{
    cosign, Checkpoint, KeyName, KeyType, Note, NoteSignature, Origin, VerifierKey,
};

const ORIGIN: &str = "vox.example/log";
const WITNESS: &str = "witness.example/w1";

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn name(s: &str) -> KeyName {
    KeyName::new(s).unwrap()
}

fn leaves(n: u64) -> Vec<NodeHash> {
    (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
}

fn checkpoint(size: u64, extensions: &[&str]) -> Checkpoint {
    Checkpoint {
        origin: Origin::new(ORIGIN).unwrap(),
        size,
        root: root_from_leaf_hashes(&leaves(size)),
        extensions: extensions.iter().map(|s| (*s).to_owned()).collect(),
    }
}

/// azul's private-key string for an Ed25519 note key (`PRIVATE+KEY+name+id+b64(1||seed)`).
fn azul_skey(name: &str, k: &SigningKey) -> String {
    let vkey = VerifierKey::new(
        KeyName::new(name).unwrap(),
        KeyType::Ed25519,
        k.verifying_key(),
    );
    let mut raw = vec![0x01];
    raw.extend_from_slice(&k.to_bytes());
    format!(
        "PRIVATE+KEY+{name}+{}+{}",
        vkey.key_id(),
        BASE64.encode(&raw)
    )
}

/// cosignature/v1 for azul's note code, from tlog-cosignature §Format and §Ed25519 signed
/// message (independent of vox's implementation).
struct CosigV1 {
    name: String,
    key: SigningKey,
    timestamp: u64,
}

impl CosigV1 {
    fn id(&self) -> u32 {
        let mut k = vec![0x04];
        k.extend_from_slice(self.key.verifying_key().as_bytes());
        signed_note::key_id(&self.name, &k)
    }
}

impl Verifier for CosigV1 {
    fn name(&self) -> &str {
        &self.name
    }
    fn key_id(&self) -> u32 {
        self.id()
    }
    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        if sig.len() != 72 {
            return false;
        }
        let ts = u64::from_be_bytes(sig[..8].try_into().unwrap());
        let mut m = format!("cosignature/v1\ntime {ts}\n").into_bytes();
        m.extend_from_slice(msg);
        let s = ed25519_dalek::Signature::from_slice(&sig[8..]).unwrap();
        self.key.verifying_key().verify(&m, &s).is_ok()
    }
}

impl AzulSigner for CosigV1 {
    fn name(&self) -> &str {
        &self.name
    }
    fn key_id(&self) -> u32 {
        self.id()
    }
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, ed25519_dalek::SignatureError> {
        let mut m = format!("cosignature/v1\ntime {}\n", self.timestamp).into_bytes();
        m.extend_from_slice(msg);
        let mut out = self.timestamp.to_be_bytes().to_vec();
        out.extend_from_slice(&self.key.sign(&m).to_bytes());
        Ok(out)
    }
}

#[test]
fn verifier_keys_are_spelled_alike() {
    for seed in [1u8, 2, 200] {
        let k = key(seed).verifying_key();
        let ours = VerifierKey::new(name(ORIGIN), KeyType::Ed25519, k).to_string();
        assert_eq!(ours, signed_note::new_ed25519_verifier_key(ORIGIN, &k));
        StandardVerifier::new(&ours).unwrap();
        let skey = azul_skey(ORIGIN, &key(seed));
        let signer = StandardSigner::new(&skey).unwrap();
        assert_eq!(
            format!("{:08x}", AzulSigner::key_id(&signer)),
            VerifierKey::parse(&ours).unwrap().key_id().to_string()
        );
    }
    let (_, vkey) = signed_note::generate_key(&mut rand::rngs::OsRng, "azul.example/k");
    let parsed = VerifierKey::parse(&vkey).unwrap();
    assert_eq!(parsed.to_string(), vkey);
}

#[test]
fn vox_checkpoints_verify_with_azul() {
    for (size, ext) in [(0u64, &[][..]), (1, &[][..]), (13, &["ext a", "ext-b"][..])] {
        let c = checkpoint(size, ext);
        let note = c.sign(&key(1)).unwrap();
        let bytes = note.to_text().into_bytes();
        let azul = AzulNote::from_bytes(&bytes).unwrap();
        let vkey = VerifierKey::new(name(ORIGIN), KeyType::Ed25519, key(1).verifying_key());
        let verifiers = VerifierList::new(vec![Box::new(
            StandardVerifier::new(&vkey.to_string()).unwrap(),
        )]);
        let (ok, unknown) = azul.verify(&verifiers).unwrap();
        assert_eq!((ok.len(), unknown.len()), (1, 0));
        assert_eq!(azul.to_bytes(), bytes, "azul re-encodes the note unchanged");
        let cp = AzulCheckpoint::from_bytes(azul.text()).unwrap();
        assert_eq!(cp.origin(), ORIGIN);
        assert_eq!(cp.size(), size);
        assert_eq!(cp.hash().0, c.root.0);
        let ext_text: String = ext.iter().map(|e| format!("{e}\n")).collect();
        assert_eq!(cp.extension(), ext_text);
        assert_eq!(cp.to_bytes(), c.to_text().unwrap().into_bytes());
        // A wrong key is refused by azul too.
        let other = VerifierKey::new(name(ORIGIN), KeyType::Ed25519, key(9).verifying_key());
        let verifiers = VerifierList::new(vec![Box::new(
            StandardVerifier::new(&other.to_string()).unwrap(),
        )]);
        assert!(azul.verify(&verifiers).is_err());
    }
}

#[test]
fn azul_checkpoints_verify_with_vox() {
    let leaves = leaves(21);
    let root = root_from_leaf_hashes(&leaves);
    let cp = AzulCheckpoint::new(ORIGIN, 21, AzulHash(root.0), "one\ntwo\n").unwrap();
    let mut note = AzulNote::new(&cp.to_bytes(), &[]).unwrap();
    let signer = StandardSigner::new(&azul_skey(ORIGIN, &key(1))).unwrap();
    note.add_sigs(&[&signer]).unwrap();
    let bytes = note.to_bytes();
    let ours = Note::parse(&bytes).unwrap();
    let vkey = VerifierKey::new(name(ORIGIN), KeyType::Ed25519, key(1).verifying_key());
    ours.verify(&[vkey]).unwrap();
    assert_eq!(ours.to_text().into_bytes(), bytes);
    let c = Checkpoint::parse(ours.text()).unwrap();
    assert_eq!(c, checkpoint(21, &["one", "two"]));
}

#[test]
fn cosignatures_cross_verify() {
    let ts = 1_767_225_600u64;
    // vox cosigns; azul's note code with a spec-written cosignature verifier accepts it.
    let c = checkpoint(13, &[]);
    let mut note = c.sign(&key(1)).unwrap();
    note.add_signature(cosign(note.text(), &name(WITNESS), &key(2), ts).unwrap())
        .unwrap();
    let azul = AzulNote::from_bytes(note.to_text().as_bytes()).unwrap();
    let theirs = CosigV1 {
        name: WITNESS.into(),
        key: key(2),
        timestamp: 0,
    };
    let ours = VerifierKey::new(
        name(WITNESS),
        KeyType::CosignatureV1,
        key(2).verifying_key(),
    );
    assert_eq!(format!("{:08x}", theirs.id()), ours.key_id().to_string());
    let (ok, unknown) = azul
        .verify(&VerifierList::new(vec![Box::new(theirs)]))
        .unwrap();
    assert_eq!(
        (ok.len(), unknown.len()),
        (1, 1),
        "the log's line is unknown here"
    );
    assert_eq!(
        u64::from_be_bytes(ok[0].signature()[..8].try_into().unwrap()),
        ts
    );

    // azul signs with the spec-written cosigner; vox verifies and reads the timestamp.
    let mut azul = AzulNote::new(c.to_text().unwrap().as_bytes(), &[]).unwrap();
    let signer = CosigV1 {
        name: WITNESS.into(),
        key: key(2),
        timestamp: ts + 1,
    };
    azul.add_sigs(&[&signer]).unwrap();
    let parsed = Note::parse(&azul.to_bytes()).unwrap();
    let verified = parsed.verify(&[ours]).unwrap();
    assert_eq!(verified[0].timestamp, Some(ts + 1));
    // The line itself is read alike.
    let line = String::from_utf8(azul.to_bytes()).unwrap();
    let line = line.rsplit_once("\n\n").unwrap().1;
    let sig = NoteSignature::parse_line(line).unwrap();
    let az = signed_note::Signature::from_bytes(line.trim_end().as_bytes()).unwrap();
    assert_eq!(u32::from_be_bytes(sig.key_id.0), az.id());
    assert_eq!(sig.signature, az.signature());
}

#[test]
fn consistency_proofs_check_with_azul() {
    let all = leaves(70);
    for (old, new) in [
        (1u64, 2u64),
        (3, 7),
        (4, 8),
        (6, 13),
        (16, 70),
        (69, 70),
        (7, 7),
    ] {
        let proof = consistency_proof(&all[..new as usize], old).unwrap();
        let old_root = root_from_leaf_hashes(&all[..old as usize]);
        let new_root = root_from_leaf_hashes(&all[..new as usize]);
        let p: Vec<AzulHash> = proof.iter().map(|h| AzulHash(h.0)).collect();
        tlog_tiles::check_tree(&p, new, AzulHash(new_root.0), old, AzulHash(old_root.0))
            .unwrap_or_else(|e| panic!("{old} -> {new}: {e:?}"));
    }
}

/// Inputs vox refuses that azul refuses too (the strict decimal, the exact root length,
/// non-empty extension lines, the signature-line shape).
#[test]
fn both_refuse_malformed_checkpoints_and_notes() {
    let root = BASE64.encode(&checkpoint(5, &[]).root.0);
    for text in [
        format!("{ORIGIN}\n05\n{root}\n"),
        format!("{ORIGIN}\n+5\n{root}\n"),
        format!("{ORIGIN}\n5\n{}\n", BASE64.encode(&[0u8; 31])),
        format!("{ORIGIN}\n5\n{root}\n\n"),
        format!("{ORIGIN}\n5\n"),
        format!("\n5\n{root}\n"),
    ] {
        assert!(Checkpoint::parse(&text).is_err(), "vox accepted {text:?}");
        assert!(
            AzulCheckpoint::from_bytes(text.as_bytes()).is_err(),
            "azul accepted {text:?}"
        );
    }
    let good = checkpoint(5, &[]).sign(&key(1)).unwrap().to_text();
    for text in [
        good.replace("\n\n", "\n"),
        good.replace("\u{2014} ", "- "),
        good.trim_end().to_owned(),
        good.replace("5\n", "5\t\n"),
    ] {
        assert!(
            Note::parse(text.as_bytes()).is_err(),
            "vox accepted {text:?}"
        );
        assert!(
            AzulNote::from_bytes(text.as_bytes()).is_err(),
            "azul accepted {text:?}"
        );
    }
}

/// The board's tree heads are C2SP checkpoints (08 §8.3): the cosigned note of
/// `vectors/board.json` verifies with azul alone, under the board's and the witness's
/// verifier keys from the vector, and azul reads the same origin, size and root.
#[test]
fn board_vector_checkpoint_verifies_with_azul() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../protocol-spec/vectors/board.json"
    );
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let note = v["cosigned_note"].as_str().unwrap();
    let azul = AzulNote::from_bytes(note.as_bytes()).unwrap();
    let board = StandardVerifier::new(v["board_vkey"].as_str().unwrap()).unwrap();
    let wkey = VerifierKey::parse(v["witness_vkey"].as_str().unwrap()).unwrap();
    let witness = CosigV1 {
        name: wkey.name().as_str().to_owned(),
        key: SigningKey::from_bytes(
            &hex::decode(v["witness_secret_seed"].as_str().unwrap())
                .unwrap()
                .try_into()
                .unwrap(),
        ),
        timestamp: 0,
    };
    assert_eq!(format!("{:08x}", witness.id()), wkey.key_id().to_string());
    let verifiers = VerifierList::new(vec![Box::new(board), Box::new(witness)]);
    let (ok, unknown) = azul.verify(&verifiers).unwrap();
    assert_eq!((ok.len(), unknown.len()), (2, 0), "board and witness lines");
    let head = &v["cosigned_tree_head"];
    let cp = AzulCheckpoint::from_bytes(azul.text()).unwrap();
    assert_eq!(cp.origin(), head["origin"].as_str().unwrap());
    assert_eq!(cp.size(), head["tree_size"].as_u64().unwrap());
    assert_eq!(
        hex::encode(cp.hash().0),
        head["root_hash"].as_str().unwrap()
    );
    assert_eq!(
        cp.extension(),
        format!(
            "vox-timestamp-ms {}\n",
            head["timestamp_ms"].as_i64().unwrap()
        )
    );
    // A tampered root is refused by azul.
    let forged = note.replacen(&BASE64.encode(&cp.hash().0), &BASE64.encode(&[7u8; 32]), 1);
    let azul = AzulNote::from_bytes(forged.as_bytes()).unwrap();
    let board = StandardVerifier::new(v["board_vkey"].as_str().unwrap()).unwrap();
    assert!(azul
        .verify(&VerifierList::new(vec![Box::new(board)]))
        .is_err());
}
