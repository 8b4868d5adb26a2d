//! C2SP transparency-log formats and a witness state machine, with no I/O
//! (protocol-spec/12-witnesses.md).
//!
//! This module speaks the formats the transparency ecosystem already uses, so that a
//! stock witness can cosign vox's log and vox's witness can cosign other logs:
//!
//! * [signed notes](https://c2sp.org/signed-note): [`Note`], [`NoteSignature`],
//!   [`VerifierKey`] (the `name+keyid+base64` "vkey" strings), Ed25519 note signatures;
//! * [checkpoints](https://c2sp.org/tlog-checkpoint): [`Checkpoint`], the tree head as
//!   note text, with vox's RFC 6962 root ([`crate::merkle::NodeHash`]);
//! * [cosignatures](https://c2sp.org/tlog-cosignature) `cosignature/v1` (Ed25519,
//!   signature type 0x04): [`cosign`], [`CosignatureV1`];
//! * the [witness protocol](https://c2sp.org/tlog-witness)'s `add-checkpoint` request and
//!   response bodies ([`AddCheckpointRequest`]) and its refusals with their HTTP statuses
//!   ([`WitnessError`]);
//! * [`Witness`]: the witness's rules as a state machine over a serializable
//!   [`WitnessState`], so that a service only adds HTTP and persistence.
//!
//! ## Why hand-written rather than the `signed_note` / `tlog_tiles` crates
//! Cloudflare's azul crates implement the same specifications and are used in this crate's
//! tests as an independent cross-check (`tests/tlog_interop.rs`, and the vector
//! `protocol-spec/vectors/tlog.json` is verified with them). They are not a runtime
//! dependency because vox-protocol is compiled to wasm for the browser: they would bring
//! `base64` 0.21 (vox already carries `data-encoding`), `thiserror` 1 (vox uses 2) and, for
//! `tlog_tiles`, `url` into the bundle; and these 0.2 releases have no cosignature or
//! witness types at all (azul's repository has since added `tlog_cosignature` and
//! `tlog_witness` crates; vox was not checked against them). Their errors also say
//! "malformed note" without the line or the rule. The formats are a few hundred lines of
//! line splitting; written here, every rule of the specifications is a named, tested error.
//!
//! Base64 is RFC 4648 §4 with padding ([`data_encoding::BASE64`]). That decoder refuses
//! non-zero trailing bits but accepts a concatenation of padded blocks (`Uk=gwM=`), so
//! `decode_base64` also requires the text to be the encoding of what it decodes to:
//! every byte string has exactly one accepted text encoding.

use core::fmt;
use std::collections::BTreeMap;

use data_encoding::BASE64;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::merkle::{verify_consistency, MerkleError, NodeHash, EMPTY_ROOT};

// =======================================================================================
// Limits and constants
// =======================================================================================

/// The largest signed note accepted, in bytes. signed-note asks verifiers to accept at
/// least 16 signatures, and post-quantum ones are up to ~5 kB each: 128 KiB leaves room
/// for that while bounding what an unauthenticated request can make us parse.
pub const MAX_NOTE_SIZE: usize = 128 * 1024;

/// The most signature lines accepted in one note (signed-note: at least 16).
pub const MAX_NOTE_SIGNATURES: usize = 64;

/// The most consistency-proof lines in an add-checkpoint request (tlog-witness: a client
/// MUST NOT send more than 63; a proof between trees of at most 2^64 leaves never needs
/// more).
pub const MAX_PROOF_LINES: usize = 63;

/// The largest add-checkpoint request body: the note plus the old-size and proof lines.
pub const MAX_REQUEST_SIZE: usize = MAX_NOTE_SIZE + 32 + (MAX_PROOF_LINES + 1) * 45;

/// The em dash (U+2014) and space that open every signature line.
const SIGNATURE_LINE_PREFIX: &str = "\u{2014} ";

/// The header line of the cosignature/v1 signed message (tlog-cosignature).
const COSIGNATURE_V1_HEADER: &str = "cosignature/v1\n";

/// The largest timestamp a cosignature may carry (tlog-cosignature: MUST NOT exceed
/// 2^63 − 1).
pub const MAX_TIMESTAMP: u64 = (1 << 63) - 1;

/// The media type of a 409 Conflict body (tlog-witness).
pub const TLOG_SIZE_CONTENT_TYPE: &str = "text/x.tlog.size";

// =======================================================================================
// Errors
// =======================================================================================

/// A signed note, checkpoint, verifier key or witness request that breaks a rule of the
/// C2SP specifications, or a signature that does not verify.
///
/// Each variant names the rule, and where it helps the line, so that a witness or a
/// verifier can say exactly why it refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TlogError {
    /// The note is larger than [`MAX_NOTE_SIZE`].
    #[error("note is {size} bytes, more than the {MAX_NOTE_SIZE} accepted")]
    NoteTooLarge {
        /// Its size in bytes.
        size: usize,
    },
    /// The note is not UTF-8 (signed-note §Format).
    #[error("note is not valid UTF-8")]
    NotUtf8,
    /// The note contains an ASCII control character other than newline (signed-note
    /// §Format).
    #[error("note contains the control character U+{0:04X}")]
    ControlCharacter(u32),
    /// No blank line separates the text from the signatures, or the note does not end
    /// in a newline.
    #[error("note has no signature block after a blank line")]
    NoSignatureBlock,
    /// The note has more than [`MAX_NOTE_SIGNATURES`] signature lines.
    #[error("note has more than {MAX_NOTE_SIGNATURES} signatures")]
    TooManySignatures,
    /// A signature line is not `— <name> <base64(keyid || signature)>`.
    #[error("signature line {line}: {reason}")]
    SignatureLine {
        /// 1-based index among the signature lines.
        line: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// A key name is empty or contains a Unicode space, a plus sign or a control
    /// character (signed-note §Format).
    #[error("invalid key name {0:?}")]
    KeyName(String),
    /// A verifier key string is not `<name>+<hex key ID>+<base64(type || key)>`.
    #[error("verifier key: {0}")]
    VerifierKey(&'static str),
    /// A verifier key's key ID is not the one its name, type and key determine.
    #[error("verifier key ID {given} does not match the key (expected {expected})")]
    KeyIdMismatch {
        /// The ID written in the key.
        given: KeyId,
        /// The ID computed from name, type and key.
        expected: KeyId,
    },
    /// A signature type this module does not implement.
    #[error("unsupported signature type 0x{0:02x}")]
    UnsupportedKeyType(u8),
    /// A signature line from a known key fails to verify: the whole note is rejected
    /// (signed-note §Signatures).
    #[error("signature by {name}+{key_id} does not verify")]
    BadSignature {
        /// The signer's name.
        name: String,
        /// The signer's key ID.
        key_id: KeyId,
    },
    /// No signature of the note is from a known key (signed-note: the note MUST then be
    /// rejected).
    #[error("no signature from a known key")]
    NoKnownSignature,
    /// The note text is not a checkpoint (tlog-checkpoint §Note text).
    #[error("checkpoint: {0}")]
    Checkpoint(&'static str),
    /// An add-checkpoint request or response body is malformed (tlog-witness).
    #[error("add-checkpoint: {0}")]
    Request(&'static str),
    /// A cosignature timestamp above [`MAX_TIMESTAMP`] (or zero where the witness
    /// protocol forbids it).
    #[error("cosignature timestamp {0} is out of range")]
    Timestamp(u64),
}

// =======================================================================================
// Key names, key IDs, verifier keys
// =======================================================================================

/// A key name (or a checkpoint origin used as one): non-empty, with no Unicode space, no
/// plus sign and no control character (signed-note §Format).
///
/// A newtype so that an unchecked string can never be written into a signature line or a
/// verifier key, where a space or a `+` would change how the line splits.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct KeyName(String);

impl KeyName {
    /// Check and wrap a key name.
    ///
    /// # Errors
    /// [`TlogError::KeyName`] if it is empty or contains a space, `+` or control character.
    pub fn new(name: &str) -> Result<Self, TlogError> {
        let bad = name.is_empty()
            || name
                .chars()
                .any(|c| c.is_whitespace() || c == '+' || c.is_control());
        if bad {
            return Err(TlogError::KeyName(name.to_owned()));
        }
        Ok(Self(name.to_owned()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for KeyName {
    type Error = TlogError;
    fn try_from(s: String) -> Result<Self, TlogError> {
        Self::new(&s)
    }
}

impl From<KeyName> for String {
    fn from(n: KeyName) -> String {
        n.0
    }
}

impl fmt::Display for KeyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A log's origin, the first line of its checkpoints: non-empty, with no control
/// character (tlog-checkpoint §Note text).
///
/// Not a [`KeyName`]: the specification only RECOMMENDS an origin without spaces or `+`
/// and tells clients not to assume it, so a witness must accept such a log. Where vox
/// signs under the origin as key name ([`Checkpoint::sign`]), it checks the stricter rule
/// there.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Origin(String);

impl Origin {
    /// Check and wrap an origin.
    ///
    /// # Errors
    /// [`TlogError::Checkpoint`] if it is empty or contains a control character.
    pub fn new(origin: &str) -> Result<Self, TlogError> {
        if origin.is_empty() {
            return Err(TlogError::Checkpoint("empty origin"));
        }
        if origin.chars().any(char::is_control) {
            return Err(TlogError::Checkpoint("control character in origin"));
        }
        Ok(Self(origin.to_owned()))
    }

    /// The origin as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Origin {
    type Error = TlogError;
    fn try_from(s: String) -> Result<Self, TlogError> {
        Self::new(&s)
    }
}

impl From<Origin> for String {
    fn from(o: Origin) -> String {
        o.0
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The 4-byte key ID that opens every signature: SHA-256(name ‖ 0x0A ‖ type ‖ public
/// key)[:4] (signed-note §Signatures). It identifies, it does not authenticate: a
/// signature is only ever checked against a key the verifier was configured with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyId(pub [u8; 4]);

impl KeyId {
    /// The key ID of `public_key` under `name` for signature type `key_type`.
    pub fn compute(name: &KeyName, key_type: KeyType, public_key: &[u8]) -> Self {
        let digest = Sha256::new()
            .chain_update(name.as_str().as_bytes())
            .chain_update([b'\n', key_type.byte()])
            .chain_update(public_key)
            .finalize();
        let mut id = [0u8; 4];
        for (out, byte) in id.iter_mut().zip(digest.iter()) {
            *out = *byte;
        }
        Self(id)
    }
}

impl fmt::Display for KeyId {
    /// Eight lower-case hexadecimal digits, as in verifier keys.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

/// The signature types this module implements (signed-note §Signature types). Others are
/// ignored when verifying, as the specification requires of unknown keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum KeyType {
    /// 0x01: an Ed25519 signature over the note text (a log's checkpoint signature).
    Ed25519,
    /// 0x04: a timestamped Ed25519 `cosignature/v1` (a witness's cosignature).
    CosignatureV1,
}

impl KeyType {
    /// The signature type identifier byte.
    pub fn byte(self) -> u8 {
        match self {
            Self::Ed25519 => 0x01,
            Self::CosignatureV1 => 0x04,
        }
    }

    fn from_byte(b: u8) -> Result<Self, TlogError> {
        match b {
            0x01 => Ok(Self::Ed25519),
            0x04 => Ok(Self::CosignatureV1),
            other => Err(TlogError::UnsupportedKeyType(other)),
        }
    }
}

/// A public key a note may be verified with: a name, a signature type and an Ed25519
/// key, from which the key ID follows. Its text form is the "vkey" of signed-note
/// §Verifier keys: `<name>+<hex key ID>+<base64(type || public key)>`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct VerifierKey {
    name: KeyName,
    key_type: KeyType,
    key: VerifyingKey,
    key_id: KeyId,
}

impl VerifierKey {
    /// A verifier key for `key` under `name` with signature type `key_type`.
    pub fn new(name: KeyName, key_type: KeyType, key: VerifyingKey) -> Self {
        let key_id = KeyId::compute(&name, key_type, key.as_bytes());
        Self {
            name,
            key_type,
            key,
            key_id,
        }
    }

    /// The key's name.
    pub fn name(&self) -> &KeyName {
        &self.name
    }
    /// The key's ID.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }
    /// The signature type.
    pub fn key_type(&self) -> KeyType {
        self.key_type
    }
    /// The Ed25519 public key.
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.key
    }

    /// Parse a vkey string, checking that the key ID matches name, type and key.
    ///
    /// # Errors
    /// [`TlogError::VerifierKey`], [`TlogError::KeyName`], [`TlogError::UnsupportedKeyType`]
    /// or [`TlogError::KeyIdMismatch`].
    pub fn parse(s: &str) -> Result<Self, TlogError> {
        // Names contain no `+` but base64 may: split at the first two only.
        let (name, rest) = s
            .split_once('+')
            .ok_or(TlogError::VerifierKey("expected name+keyid+key"))?;
        let (id_hex, key_b64) = rest
            .split_once('+')
            .ok_or(TlogError::VerifierKey("expected name+keyid+key"))?;
        let name = KeyName::new(name)?;
        if id_hex.len() != 8
            || !id_hex
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            return Err(TlogError::VerifierKey(
                "key ID is not 8 lower-case hex digits",
            ));
        }
        let mut given = [0u8; 4];
        hex::decode_to_slice(id_hex, &mut given)
            .map_err(|_| TlogError::VerifierKey("key ID is not 8 lower-case hex digits"))?;
        let raw =
            decode_base64(key_b64).ok_or(TlogError::VerifierKey("key is not canonical base64"))?;
        let Some((&type_byte, key)) = raw.split_first() else {
            return Err(TlogError::VerifierKey("key is empty"));
        };
        let key_type = KeyType::from_byte(type_byte)?;
        let key: [u8; 32] = key
            .try_into()
            .map_err(|_| TlogError::VerifierKey("Ed25519 key is not 32 bytes"))?;
        let key = VerifyingKey::from_bytes(&key)
            .map_err(|_| TlogError::VerifierKey("not an Ed25519 public key"))?;
        let vkey = Self::new(name, key_type, key);
        if vkey.key_id.0 != given {
            return Err(TlogError::KeyIdMismatch {
                given: KeyId(given),
                expected: vkey.key_id,
            });
        }
        Ok(vkey)
    }

    /// Check one signature line against this key. The caller has matched name and ID.
    fn verify(&self, text: &str, sig: &NoteSignature) -> Result<Option<u64>, TlogError> {
        let bad = || TlogError::BadSignature {
            name: sig.name.to_string(),
            key_id: sig.key_id,
        };
        match self.key_type {
            KeyType::Ed25519 => {
                let s = Signature::from_slice(&sig.signature).map_err(|_| bad())?;
                self.key
                    .verify_strict(text.as_bytes(), &s)
                    .map_err(|_| bad())?;
                Ok(None)
            }
            KeyType::CosignatureV1 => {
                let c = CosignatureV1::from_signature_bytes(&sig.signature).map_err(|_| bad())?;
                let msg = cosignature_v1_message(c.timestamp, text)?;
                self.key
                    .verify_strict(&msg, &c.signature)
                    .map_err(|_| bad())?;
                Ok(Some(c.timestamp))
            }
        }
    }
}

impl fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut raw = Vec::with_capacity(33);
        raw.push(self.key_type.byte());
        raw.extend_from_slice(self.key.as_bytes());
        write!(f, "{}+{}+{}", self.name, self.key_id, BASE64.encode(&raw))
    }
}

impl TryFrom<String> for VerifierKey {
    type Error = TlogError;
    fn try_from(s: String) -> Result<Self, TlogError> {
        Self::parse(&s)
    }
}

impl From<VerifierKey> for String {
    fn from(k: VerifierKey) -> String {
        k.to_string()
    }
}

// =======================================================================================
// Signed notes
// =======================================================================================

/// One signature line of a note: `— <name> base64(key ID || signature)`.
///
/// The signature bytes are kept opaque: a line from an unknown key or of an unknown type
/// must be carried along (and ignored), not rejected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteSignature {
    /// The signer's key name.
    pub name: KeyName,
    /// The signer's key ID.
    pub key_id: KeyId,
    /// The signature, at least one byte (its meaning depends on the key's type).
    pub signature: Vec<u8>,
}

impl NoteSignature {
    /// Parse one line without its final newline. `line` (1-based) is only for errors.
    fn parse(s: &str, line: usize) -> Result<Self, TlogError> {
        let err = |reason| TlogError::SignatureLine { line, reason };
        let rest = s
            .strip_prefix(SIGNATURE_LINE_PREFIX)
            .ok_or(err("does not start with an em dash and a space"))?;
        let (name, b64) = rest
            .split_once(' ')
            .ok_or(err("no space between name and signature"))?;
        let name = KeyName::new(name).map_err(|_| err("invalid key name"))?;
        let raw = decode_base64(b64).ok_or(err("signature is not canonical base64"))?;
        let (id, sig) = raw
            .split_first_chunk::<4>()
            .ok_or(err("shorter than a key ID"))?;
        if sig.is_empty() {
            return Err(err("no signature after the key ID"));
        }
        Ok(Self {
            name,
            key_id: KeyId(*id),
            signature: sig.to_vec(),
        })
    }

    /// Parse one signature line (`— <name> <base64>\n`, with its final newline).
    ///
    /// # Errors
    /// [`TlogError::SignatureLine`] naming line 1.
    pub fn parse_line(line: &str) -> Result<Self, TlogError> {
        let body = line.strip_suffix('\n').ok_or(TlogError::SignatureLine {
            line: 1,
            reason: "does not end in a newline",
        })?;
        Self::parse(body, 1)
    }

    /// The line, with its final newline.
    pub fn to_line(&self) -> String {
        let mut raw = Vec::with_capacity(4 + self.signature.len());
        raw.extend_from_slice(&self.key_id.0);
        raw.extend_from_slice(&self.signature);
        format!(
            "{SIGNATURE_LINE_PREFIX}{} {}\n",
            self.name,
            BASE64.encode(&raw)
        )
    }
}

/// A signature that verified under a known key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedSignature {
    /// The key it verified under.
    pub key: VerifierKey,
    /// The cosignature's timestamp, for a `cosignature/v1` key.
    pub timestamp: Option<u64>,
}

/// A signed note: a text ending in a newline, a blank line, and one or more signature
/// lines (signed-note §Format).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    text: String,
    signatures: Vec<NoteSignature>,
}

/// Reject control characters other than newline (signed-note §Format).
fn check_note_characters(s: &str) -> Result<(), TlogError> {
    match s.chars().find(|&c| c < '\u{20}' && c != '\n') {
        Some(c) => Err(TlogError::ControlCharacter(u32::from(c))),
        None => Ok(()),
    }
}

impl Note {
    /// A note with `text` and no signature yet (sign it before sending it: a note
    /// without signatures is not a valid signed note).
    ///
    /// # Errors
    /// [`TlogError::ControlCharacter`], [`TlogError::NoteTooLarge`], or
    /// [`TlogError::NoSignatureBlock`] if the text does not end in a newline.
    pub fn new(text: &str) -> Result<Self, TlogError> {
        if text.len() > MAX_NOTE_SIZE {
            return Err(TlogError::NoteTooLarge { size: text.len() });
        }
        check_note_characters(text)?;
        if !text.ends_with('\n') {
            return Err(TlogError::NoSignatureBlock);
        }
        Ok(Self {
            text: text.to_owned(),
            signatures: Vec::new(),
        })
    }

    /// Parse a signed note. This checks its shape only; [`Note::verify`] checks the
    /// signatures.
    ///
    /// # Errors
    /// Any of the note-shape variants of [`TlogError`].
    pub fn parse(bytes: &[u8]) -> Result<Self, TlogError> {
        if bytes.len() > MAX_NOTE_SIZE {
            return Err(TlogError::NoteTooLarge { size: bytes.len() });
        }
        let s = core::str::from_utf8(bytes).map_err(|_| TlogError::NotUtf8)?;
        check_note_characters(s)?;
        // The text is separated from the signatures by the *last* empty line.
        let (text, sigs) = s.rsplit_once("\n\n").ok_or(TlogError::NoSignatureBlock)?;
        let sigs = sigs.strip_suffix('\n').ok_or(TlogError::NoSignatureBlock)?;
        if sigs.is_empty() {
            return Err(TlogError::NoSignatureBlock);
        }
        let mut signatures = Vec::new();
        for (i, line) in sigs.split('\n').enumerate() {
            if i >= MAX_NOTE_SIGNATURES {
                return Err(TlogError::TooManySignatures);
            }
            signatures.push(NoteSignature::parse(line, i + 1)?);
        }
        Ok(Self {
            text: format!("{text}\n"),
            signatures,
        })
    }

    /// The note text (including its final newline): what every signature signs.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The signature lines, in order.
    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }

    /// Append a signature line. One already present from the same name and key ID is
    /// replaced, so a note never carries two signatures of one key.
    ///
    /// # Errors
    /// [`TlogError::TooManySignatures`].
    pub fn add_signature(&mut self, sig: NoteSignature) -> Result<(), TlogError> {
        self.signatures
            .retain(|s| !(s.name == sig.name && s.key_id == sig.key_id));
        if self.signatures.len() >= MAX_NOTE_SIGNATURES {
            return Err(TlogError::TooManySignatures);
        }
        self.signatures.push(sig);
        Ok(())
    }

    /// Sign the text with an Ed25519 note key (type 0x01) and append the line.
    ///
    /// # Errors
    /// [`TlogError::TooManySignatures`].
    pub fn sign(&mut self, name: &KeyName, key: &SigningKey) -> Result<(), TlogError> {
        let vkey = VerifierKey::new(name.clone(), KeyType::Ed25519, key.verifying_key());
        let sig = key.sign(self.text.as_bytes());
        self.add_signature(NoteSignature {
            name: name.clone(),
            key_id: vkey.key_id,
            signature: sig.to_bytes().to_vec(),
        })
    }

    /// Verify the note against `known` keys (signed-note §Signatures): lines whose name
    /// and key ID match no known key are ignored; a line that matches one must verify,
    /// or the whole note is rejected; and at least one must verify.
    ///
    /// Returns the signatures that verified, one per known key.
    ///
    /// # Errors
    /// [`TlogError::BadSignature`] or [`TlogError::NoKnownSignature`].
    pub fn verify(&self, known: &[VerifierKey]) -> Result<Vec<VerifiedSignature>, TlogError> {
        let mut verified: Vec<VerifiedSignature> = Vec::new();
        for sig in &self.signatures {
            // Every known key with this name and ID must accept the line: if two known
            // keys collide on both, a line can only be taken for both or neither.
            let mut matching = known
                .iter()
                .filter(|k| k.name == sig.name && k.key_id == sig.key_id)
                .peekable();
            if matching.peek().is_none() {
                continue;
            }
            for key in matching {
                let timestamp = key.verify(&self.text, sig)?;
                if !verified.iter().any(|v| v.key == *key) {
                    verified.push(VerifiedSignature {
                        key: key.clone(),
                        timestamp,
                    });
                }
            }
        }
        if verified.is_empty() {
            return Err(TlogError::NoKnownSignature);
        }
        Ok(verified)
    }

    /// The signed note: text, blank line, signature lines.
    pub fn to_text(&self) -> String {
        let mut out = self.text.clone();
        out.push('\n');
        for s in &self.signatures {
            out.push_str(&s.to_line());
        }
        out
    }
}

// =======================================================================================
// Checkpoints
// =======================================================================================

/// Parse a decimal with no sign and no leading zeros ("0" itself excepted), as
/// tlog-checkpoint and tlog-witness require, so that each size has one spelling.
fn parse_decimal(s: &str) -> Option<u64> {
    let canonical =
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    if canonical {
        s.parse().ok()
    } else {
        None
    }
}

/// Decode canonical padded base64: the one text that [`BASE64`] encodes the bytes to.
/// The re-encoding check refuses what the decoder alone lets through: padding inside
/// the text (a concatenation of padded blocks), so no two texts carry the same bytes.
fn decode_base64(s: &str) -> Option<Vec<u8>> {
    let raw = BASE64.decode(s.as_bytes()).ok()?;
    (BASE64.encode(&raw) == s).then_some(raw)
}

/// Decode one base64 hash line (a checkpoint root or a proof hash).
fn parse_hash(s: &str) -> Option<NodeHash> {
    let raw = decode_base64(s)?;
    let bytes: [u8; 32] = raw.try_into().ok()?;
    Some(NodeHash(bytes))
}

/// A tree head in checkpoint form (tlog-checkpoint §Note text):
///
/// ```text
/// <origin>
/// <tree size, decimal>
/// <root hash, base64>
/// [extension lines]
/// ```
///
/// The root is the RFC 6962 Merkle tree hash, exactly vox's [`crate::merkle`] root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's identity, first line.
    pub origin: Origin,
    /// The number of leaves.
    pub size: u64,
    /// The RFC 6962 root hash at that size.
    pub root: NodeHash,
    /// Optional extension lines, each non-empty, without their newlines. Opaque: a
    /// cosigner signs them but vouches only for the first three lines.
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// Parse note text as a checkpoint.
    ///
    /// # Errors
    /// [`TlogError::Checkpoint`] naming the broken rule.
    pub fn parse(text: &str) -> Result<Self, TlogError> {
        check_note_characters(text)?;
        let body = text
            .strip_suffix('\n')
            .ok_or(TlogError::Checkpoint("text does not end in a newline"))?;
        let mut lines = body.split('\n');
        let origin = Origin::new(lines.next().unwrap_or_default())?;
        let size = lines
            .next()
            .ok_or(TlogError::Checkpoint("no tree size line"))?;
        let size = parse_decimal(size).ok_or(TlogError::Checkpoint(
            "tree size is not a decimal without leading zeros",
        ))?;
        let root = lines
            .next()
            .ok_or(TlogError::Checkpoint("no root hash line"))?;
        let root = parse_hash(root).ok_or(TlogError::Checkpoint(
            "root hash is not 32 bytes in canonical base64",
        ))?;
        let mut extensions = Vec::new();
        for line in lines {
            if line.is_empty() {
                return Err(TlogError::Checkpoint("empty extension line"));
            }
            extensions.push(line.to_owned());
        }
        Ok(Self {
            origin,
            size,
            root,
            extensions,
        })
    }

    /// The note text: three lines and the extensions, each ending in a newline.
    ///
    /// # Errors
    /// [`TlogError::Checkpoint`] if an extension line is empty or contains a newline or
    /// control character (it would change the checkpoint's lines).
    pub fn to_text(&self) -> Result<String, TlogError> {
        let mut out = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            BASE64.encode(self.root.as_bytes())
        );
        for e in &self.extensions {
            if e.is_empty() {
                return Err(TlogError::Checkpoint("empty extension line"));
            }
            if e.chars().any(|c| c < '\u{20}') {
                return Err(TlogError::Checkpoint(
                    "extension line contains a control character",
                ));
            }
            out.push_str(e);
            out.push('\n');
        }
        Ok(out)
    }

    /// The checkpoint as a note signed by the log's Ed25519 key under its origin (the
    /// log's key name SHOULD match the origin line, tlog-checkpoint §Signatures).
    ///
    /// # Errors
    /// As [`Checkpoint::to_text`], and [`TlogError::KeyName`] if the origin is not a valid
    /// key name (a space or `+` in it).
    pub fn sign(&self, log_key: &SigningKey) -> Result<Note, TlogError> {
        let name = KeyName::new(self.origin.as_str())?;
        let mut note = Note::new(&self.to_text()?)?;
        note.sign(&name, log_key)?;
        Ok(note)
    }
}

/// A checkpoint read from a note whose log signature verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedCheckpoint {
    /// The parsed checkpoint.
    pub checkpoint: Checkpoint,
    /// The note it came from, with every signature line (unknown ones included).
    pub note: Note,
}

impl SignedCheckpoint {
    /// Parse a signed note as a checkpoint and verify it under one of `log_keys`.
    ///
    /// # Errors
    /// Note-shape and checkpoint errors, [`TlogError::BadSignature`] or
    /// [`TlogError::NoKnownSignature`].
    pub fn parse_and_verify(bytes: &[u8], log_keys: &[VerifierKey]) -> Result<Self, TlogError> {
        let note = Note::parse(bytes)?;
        let checkpoint = Checkpoint::parse(note.text())?;
        note.verify(log_keys)?;
        Ok(Self { checkpoint, note })
    }
}

// =======================================================================================
// Cosignatures (cosignature/v1, Ed25519)
// =======================================================================================

/// The message a cosignature/v1 signs: `cosignature/v1\ntime <T>\n` followed by the
/// whole checkpoint text (tlog-cosignature §Ed25519 signed message).
///
/// # Errors
/// [`TlogError::Timestamp`] above [`MAX_TIMESTAMP`].
pub fn cosignature_v1_message(timestamp: u64, checkpoint_text: &str) -> Result<Vec<u8>, TlogError> {
    if timestamp > MAX_TIMESTAMP {
        return Err(TlogError::Timestamp(timestamp));
    }
    Ok(format!("{COSIGNATURE_V1_HEADER}time {timestamp}\n{checkpoint_text}").into_bytes())
}

/// The signature bytes of a cosignature/v1 line after the key ID: the timestamp as 8
/// big-endian bytes, then the 64-byte Ed25519 signature (tlog-cosignature §Format,
/// `timestamped_signature`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CosignatureV1 {
    /// POSIX seconds at which the witness cosigned.
    pub timestamp: u64,
    /// The Ed25519 signature over [`cosignature_v1_message`].
    pub signature: Signature,
}

impl CosignatureV1 {
    /// Split a 72-byte `timestamped_signature`.
    ///
    /// # Errors
    /// [`TlogError::SignatureLine`] for a wrong length, [`TlogError::Timestamp`].
    pub fn from_signature_bytes(bytes: &[u8]) -> Result<Self, TlogError> {
        let len_err = TlogError::SignatureLine {
            line: 1,
            reason: "a cosignature/v1 is 8 + 64 bytes",
        };
        let (ts, sig) = bytes.split_first_chunk::<8>().ok_or(len_err.clone())?;
        let sig: [u8; 64] = sig.try_into().map_err(|_| len_err)?;
        let timestamp = u64::from_be_bytes(*ts);
        if timestamp > MAX_TIMESTAMP {
            return Err(TlogError::Timestamp(timestamp));
        }
        Ok(Self {
            timestamp,
            signature: Signature::from_bytes(&sig),
        })
    }

    /// The 72 bytes: timestamp then signature.
    pub fn to_signature_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(72);
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        out.extend_from_slice(&self.signature.to_bytes());
        out
    }
}

/// Cosign checkpoint text at `timestamp` with a witness key under `name` (key type 0x04):
/// the signature line a witness returns.
///
/// # Errors
/// [`TlogError::Timestamp`] above [`MAX_TIMESTAMP`].
pub fn cosign(
    checkpoint_text: &str,
    name: &KeyName,
    key: &SigningKey,
    timestamp: u64,
) -> Result<NoteSignature, TlogError> {
    let msg = cosignature_v1_message(timestamp, checkpoint_text)?;
    let c = CosignatureV1 {
        timestamp,
        signature: key.sign(&msg),
    };
    Ok(NoteSignature {
        name: name.clone(),
        key_id: KeyId::compute(name, KeyType::CosignatureV1, key.verifying_key().as_bytes()),
        signature: c.to_signature_bytes(),
    })
}

// =======================================================================================
// tlog-witness add-checkpoint
// =======================================================================================

/// An add-checkpoint request body (tlog-witness §add-checkpoint):
///
/// ```text
/// old <size>
/// <consistency proof hash, base64>      (zero to 63 lines)
///
/// <signed checkpoint note>
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddCheckpointRequest {
    /// The size of the last checkpoint the client believes the witness cosigned.
    pub old_size: u64,
    /// The RFC 6962 consistency proof from `old_size` to the checkpoint's size.
    pub proof: Vec<NodeHash>,
    /// The signed checkpoint (its signatures are checked by the witness, not here).
    pub note: Note,
}

impl AddCheckpointRequest {
    /// Parse a request body. The note's text is not yet parsed as a checkpoint.
    ///
    /// # Errors
    /// [`TlogError::Request`] or a note-shape error.
    pub fn parse(body: &[u8]) -> Result<Self, TlogError> {
        if body.len() > MAX_REQUEST_SIZE {
            return Err(TlogError::Request("body too large"));
        }
        // The control block ends at the first empty line; the note follows.
        let split = body
            .windows(2)
            .position(|w| w == b"\n\n")
            .ok_or(TlogError::Request("no empty line before the checkpoint"))?;
        let (control, note) = body.split_at(split);
        let note = note.get(2..).unwrap_or_default();
        let control = core::str::from_utf8(control).map_err(|_| TlogError::NotUtf8)?;
        let mut lines = control.split('\n');
        let old = lines.next().unwrap_or_default();
        let old_size =
            old.strip_prefix("old ")
                .and_then(parse_decimal)
                .ok_or(TlogError::Request(
                    "first line is not `old <decimal without leading zeros>`",
                ))?;
        let mut proof = Vec::new();
        for line in lines {
            if proof.len() >= MAX_PROOF_LINES {
                return Err(TlogError::Request("more than 63 consistency proof lines"));
            }
            proof.push(parse_hash(line).ok_or(TlogError::Request(
                "a proof line is not a 32-byte hash in canonical base64",
            ))?);
        }
        Ok(Self {
            old_size,
            proof,
            note: Note::parse(note)?,
        })
    }

    /// The request body.
    ///
    /// # Errors
    /// [`TlogError::Request`] if the proof has more than [`MAX_PROOF_LINES`] hashes.
    pub fn to_bytes(&self) -> Result<Vec<u8>, TlogError> {
        if self.proof.len() > MAX_PROOF_LINES {
            return Err(TlogError::Request("more than 63 consistency proof lines"));
        }
        let mut out = format!("old {}\n", self.old_size);
        for h in &self.proof {
            out.push_str(&BASE64.encode(h.as_bytes()));
            out.push('\n');
        }
        out.push('\n');
        out.push_str(&self.note.to_text());
        Ok(out.into_bytes())
    }
}

/// Parse an add-checkpoint 200 response: one or more signature lines, each ending in a
/// newline. A client appends the ones from keys it trusts to its copy of the note (and
/// verifies them there with [`Note::verify`]).
///
/// # Errors
/// [`TlogError::Request`] or [`TlogError::SignatureLine`].
pub fn parse_add_checkpoint_response(body: &[u8]) -> Result<Vec<NoteSignature>, TlogError> {
    let s = core::str::from_utf8(body).map_err(|_| TlogError::NotUtf8)?;
    let s = s
        .strip_suffix('\n')
        .ok_or(TlogError::Request("response does not end in a newline"))?;
    if s.is_empty() {
        return Err(TlogError::Request("response has no signature line"));
    }
    let mut out = Vec::new();
    for (i, line) in s.split('\n').enumerate() {
        if i >= MAX_NOTE_SIGNATURES {
            return Err(TlogError::TooManySignatures);
        }
        out.push(NoteSignature::parse(line, i + 1)?);
    }
    Ok(out)
}

/// What a witness keeps of a log misbehaving or of a failed proof: both signed notes,
/// as received, so that anyone holding the log's key can check them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// How strong the evidence is.
    pub kind: EvidenceKind,
    /// The log's origin.
    pub origin: Origin,
    /// The checkpoint the witness had cosigned (signed note, with the witness's
    /// cosignature).
    pub cosigned_note: String,
    /// The checkpoint submitted (signed note, with the log's verified signature lines
    /// only).
    pub submitted_note: String,
    /// The request's old size and proof, for [`EvidenceKind::UnprovenConsistency`].
    pub old_size: u64,
    /// The consistency proof as received.
    pub proof: Vec<NodeHash>,
}

/// The strength of an [`Evidence`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceKind {
    /// Two checkpoints of one size with different roots, both signed by the log: proof
    /// on its own that the log showed two histories (a split view).
    Equivocation,
    /// The log signed a larger checkpoint but the proof offered does not connect it to
    /// the cosigned one. Not conclusive alone (the client may have sent a wrong proof),
    /// but an auditor who fetches the real proof from the log settles it.
    UnprovenConsistency,
}

/// Why a witness refused an add-checkpoint request, with the HTTP status tlog-witness
/// prescribes for each case ([`WitnessError::status`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WitnessError {
    /// 400: the body is not an add-checkpoint request, or its note not a checkpoint.
    #[error("malformed request: {0}")]
    Malformed(#[source] TlogError),
    /// 404: the witness knows no log with this origin.
    #[error("unknown log origin {0}")]
    UnknownOrigin(String),
    /// 403: no signature from a trusted log key, or one that does not verify.
    #[error("checkpoint not signed by the log: {0}")]
    Forbidden(#[source] TlogError),
    /// 400: `old` is larger than the checkpoint's size (this is how a rolled-back
    /// checkpoint submitted with the witness's size is refused).
    #[error("old size {old_size} exceeds the checkpoint size {size}")]
    OldSizeTooLarge {
        /// The request's old size.
        old_size: u64,
        /// The checkpoint's size.
        size: u64,
    },
    /// 409: `old` is not the size of the last checkpoint the witness cosigned for this
    /// log. The body is [`WitnessError::conflict_body`]. If the submitted checkpoint has
    /// the witness's size but another root, the log equivocated and `evidence` says so.
    #[error("old size does not match the witness's size {latest_size}")]
    Conflict {
        /// The size of the last checkpoint the witness cosigned (0 if none).
        latest_size: u64,
        /// Equivocation detected on the way, if any.
        evidence: Option<Box<Evidence>>,
    },
    /// 422: a checkpoint of size 0 whose root is not the empty tree's.
    #[error("a checkpoint of size 0 must have the empty tree's root")]
    EmptyTreeRoot,
    /// 422: a proof was sent with old size 0 (the empty tree needs none).
    #[error("old size 0 needs an empty consistency proof")]
    ProofNotEmpty,
    /// 422: same size as the cosigned checkpoint, different root: equivocation.
    #[error("checkpoint has the cosigned size but another root (equivocation)")]
    Fork(Box<Evidence>),
    /// 422: the consistency proof does not verify.
    #[error("consistency proof does not verify: {source}")]
    Inconsistent {
        /// Which check of the proof failed.
        #[source]
        source: MerkleError,
        /// Both notes and the proof.
        evidence: Box<Evidence>,
    },
    /// 500: the clock gave a timestamp a cosignature cannot carry (0 or above 2^63 − 1).
    #[error("clock gave an invalid cosignature timestamp {0}")]
    Clock(u64),
}

impl WitnessError {
    /// The HTTP status tlog-witness prescribes.
    pub fn status(&self) -> u16 {
        match self {
            Self::Malformed(_) | Self::OldSizeTooLarge { .. } => 400,
            Self::Forbidden(_) => 403,
            Self::UnknownOrigin(_) => 404,
            Self::Conflict { .. } => 409,
            Self::EmptyTreeRoot
            | Self::ProofNotEmpty
            | Self::Fork(_)
            | Self::Inconsistent { .. } => 422,
            Self::Clock(_) => 500,
        }
    }

    /// For a 409, the body (`<latest size>\n`) to send with content type
    /// [`TLOG_SIZE_CONTENT_TYPE`].
    pub fn conflict_body(&self) -> Option<String> {
        match self {
            Self::Conflict { latest_size, .. } => Some(format!("{latest_size}\n")),
            _ => None,
        }
    }

    /// The evidence of log misbehaviour this refusal carries, if any.
    pub fn evidence(&self) -> Option<&Evidence> {
        match self {
            Self::Conflict { evidence, .. } => evidence.as_deref(),
            Self::Fork(e) | Self::Inconsistent { evidence: e, .. } => Some(e),
            _ => None,
        }
    }
}

// =======================================================================================
// The witness
// =======================================================================================

/// What a witness remembers of one log: the last checkpoint it cosigned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogState {
    /// Its size.
    pub size: u64,
    /// Its root.
    pub root: NodeHash,
    /// The signed note, with the log's signatures and the witness's cosignature: what the
    /// monitoring endpoint `GET <prefix>/<origin hash>/checkpoint` serves.
    pub note: String,
}

/// Everything a witness must persist (tlog-witness: before it answers): per origin the
/// last cosigned checkpoint, and the conclusive evidence of equivocation it has seen.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WitnessState {
    /// Per log origin, the last checkpoint cosigned.
    pub logs: BTreeMap<Origin, LogState>,
    /// Equivocations seen (kept, not just returned, so that they survive the request).
    /// Only conclusive evidence is kept: it needs two log signatures, so a stranger
    /// cannot fill this list.
    #[serde(default)]
    pub evidence: Vec<Evidence>,
}

/// The most equivocation records kept per origin: one is enough to prove the log
/// dishonest; a few show the extent.
pub const MAX_EVIDENCE_PER_LOG: usize = 16;

/// A witness (tlog-witness), without HTTP or storage: a name and Ed25519 cosigning key,
/// the logs it follows (origin and trusted log keys) and its [`WitnessState`].
///
/// [`Witness::add_checkpoint`] takes `&mut self`, so checking `old` against the stored
/// size and storing the new checkpoint happen atomically, as the specification demands
/// (a service wraps the witness in a mutex and persists [`Witness::state`] before it
/// answers).
pub struct Witness {
    name: KeyName,
    key: SigningKey,
    logs: BTreeMap<Origin, Vec<VerifierKey>>,
    state: WitnessState,
}

impl fmt::Debug for Witness {
    /// The signing key stays out of logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Witness")
            .field("name", &self.name)
            .field("logs", &self.logs)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

/// The result of a successful add-checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cosigned {
    /// The cosignature line (the 200 response body is [`Cosigned::body`]).
    pub cosignature: NoteSignature,
}

impl Cosigned {
    /// The 200 response body: the cosignature line.
    pub fn body(&self) -> String {
        self.cosignature.to_line()
    }
}

impl Witness {
    /// A witness that follows `logs` (each an origin and the log keys it trusts for it;
    /// several keys allow rotation), resuming from `state`.
    pub fn new(
        name: KeyName,
        key: SigningKey,
        logs: BTreeMap<Origin, Vec<VerifierKey>>,
        state: WitnessState,
    ) -> Self {
        Self {
            name,
            key,
            logs,
            state,
        }
    }

    /// The witness's cosignature verifier key (type 0x04), to give to log clients.
    pub fn verifier_key(&self) -> VerifierKey {
        VerifierKey::new(
            self.name.clone(),
            KeyType::CosignatureV1,
            self.key.verifying_key(),
        )
    }

    /// The state to persist.
    pub fn state(&self) -> &WitnessState {
        &self.state
    }

    /// The last checkpoint cosigned for `origin`.
    pub fn latest(&self, origin: &Origin) -> Option<&LogState> {
        self.state.logs.get(origin)
    }

    /// Handle an add-checkpoint request body at time `now` (POSIX seconds), applying the
    /// checks of tlog-witness §add-checkpoint in its order; the state changes only if all
    /// pass.
    ///
    /// # Errors
    /// A [`WitnessError`] with the prescribed status; conclusive evidence of equivocation
    /// is also kept in the state.
    pub fn add_checkpoint(&mut self, body: &[u8], now: u64) -> Result<Cosigned, WitnessError> {
        let request = AddCheckpointRequest::parse(body).map_err(WitnessError::Malformed)?;
        let checkpoint = Checkpoint::parse(request.note.text()).map_err(WitnessError::Malformed)?;
        let origin = checkpoint.origin.clone();
        let keys = self
            .logs
            .get(&origin)
            .ok_or_else(|| WitnessError::UnknownOrigin(origin.to_string()))?;
        let verified = request.note.verify(keys).map_err(WitnessError::Forbidden)?;
        // The note as the log signed it: its verified signature lines only. This is what
        // evidence holds and what is stored, so a client cannot vary either by adding
        // lines of its own (Ed25519 strict verification leaves the log's lines no
        // malleability).
        let mut log_signed = request.note.clone();
        log_signed.signatures.retain(|sig| {
            verified
                .iter()
                .any(|v| v.key.name == sig.name && v.key.key_id == sig.key_id)
        });
        if request.old_size > checkpoint.size {
            return Err(WitnessError::OldSizeTooLarge {
                old_size: request.old_size,
                size: checkpoint.size,
            });
        }
        let (stored_size, stored_root) = match self.state.logs.get(&origin) {
            Some(s) => (s.size, s.root),
            None => (0, EMPTY_ROOT),
        };
        let submitted_note = log_signed.to_text();
        let evidence = |kind| {
            Box::new(Evidence {
                kind,
                origin: origin.clone(),
                cosigned_note: self
                    .state
                    .logs
                    .get(&origin)
                    .map(|s| s.note.clone())
                    .unwrap_or_default(),
                submitted_note: submitted_note.clone(),
                old_size: request.old_size,
                proof: request.proof.clone(),
            })
        };
        // Same size as the cosigned checkpoint with another root: whatever `old` says,
        // the log signed two histories.
        let forked = self.state.logs.contains_key(&origin)
            && checkpoint.size == stored_size
            && !bool::from(checkpoint.root.ct_eq(&stored_root));
        if request.old_size != stored_size {
            let evidence = forked.then(|| evidence(EvidenceKind::Equivocation));
            if let Some(e) = &evidence {
                self.keep(e);
            }
            return Err(WitnessError::Conflict {
                latest_size: stored_size,
                evidence,
            });
        }
        if checkpoint.size == 0 && !bool::from(checkpoint.root.ct_eq(&EMPTY_ROOT)) {
            return Err(WitnessError::EmptyTreeRoot);
        }
        if request.old_size == 0 && !request.proof.is_empty() {
            return Err(WitnessError::ProofNotEmpty);
        }
        if forked {
            let e = evidence(EvidenceKind::Equivocation);
            self.keep(&e);
            return Err(WitnessError::Fork(e));
        }
        verify_consistency(
            stored_size,
            checkpoint.size,
            &stored_root,
            &checkpoint.root,
            &request.proof,
        )
        .map_err(|source| WitnessError::Inconsistent {
            source,
            evidence: evidence(EvidenceKind::UnprovenConsistency),
        })?;
        if now == 0 || now > MAX_TIMESTAMP {
            return Err(WitnessError::Clock(now));
        }
        let cosignature = cosign(request.note.text(), &self.name, &self.key, now)
            .map_err(|_| WitnessError::Clock(now))?;
        // What the monitoring endpoint serves: the log's verified signatures and this
        // witness's cosignature, not the other lines the client happened to send.
        let mut note = log_signed;
        note.add_signature(cosignature.clone())
            .map_err(WitnessError::Malformed)?;
        self.state.logs.insert(
            origin,
            LogState {
                size: checkpoint.size,
                root: checkpoint.root,
                note: note.to_text(),
            },
        );
        Ok(Cosigned { cosignature })
    }

    /// Keep conclusive evidence once, up to [`MAX_EVIDENCE_PER_LOG`] per origin.
    fn keep(&mut self, e: &Evidence) {
        let same_origin = self
            .state
            .evidence
            .iter()
            .filter(|k| k.origin == e.origin)
            .count();
        let seen = self
            .state
            .evidence
            .iter()
            .any(|k| k.origin == e.origin && k.submitted_note == e.submitted_note);
        if !seen && same_origin < MAX_EVIDENCE_PER_LOG {
            self.state.evidence.push(e.clone());
        }
    }
}

#[cfg(test)]
mod tests;
