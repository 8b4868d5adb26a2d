//! Files on the user's own disk: private files (voter credentials, trustee keys,
//! trustee ceremony state, role keys) written with mode 0600, and public JSON files.
//!
//! Nothing in this module sends anything anywhere: private keys only ever go to a
//! private file on the machine that made them.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use ed25519_dalek::SigningKey;
use serde::{Deserialize, Serialize};
use vox_crypto::credential::Credential;
use vox_crypto::threshold::TrusteeKeys;
use vox_crypto::Point;
use vox_protocol::board::BoardPublicKey;
use vox_protocol::roles::Role;
use zeroize::{Zeroize, Zeroizing};

/// `format` field of a trustee's secret key file.
pub const TRUSTEE_KEY_FORMAT: &str = "vox-trustee-key";
/// `format` field of a trustee's public key file.
pub const TRUSTEE_PUBLIC_FORMAT: &str = "vox-trustee-public-key";

/// The device's state directory (pinned board keys, the journal of cast ballots):
/// `$VOX_HOME` if set, else `$HOME/.config/vox`.
pub fn state_dir() -> Result<PathBuf> {
    if let Some(home) = std::env::var_os("VOX_HOME").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(home));
    }
    let home = std::env::var_os("HOME")
        .filter(|v| !v.is_empty())
        .ok_or_else(|| anyhow!("neither VOX_HOME nor HOME is set: nowhere to keep device state"))?;
    Ok(PathBuf::from(home).join(".config").join("vox"))
}

/// Append one line to a private file, creating its directory (0700) and the file
/// (0600) if needed, and sync it: the device's own records, which a crash must not lose.
pub fn append_private_line(path: &Path, line: &str) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        let mut b = fs::DirBuilder::new();
        b.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            b.mode(0o700);
        }
        b.create(dir)
            .with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut o = OpenOptions::new();
    o.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    let mut f = o
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    writeln!(f, "{line}")
        .and_then(|()| f.sync_all())
        .with_context(|| format!("writing {}", path.display()))
}

fn open_new(path: &Path, private: bool) -> std::io::Result<File> {
    let mut o = OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    o.open(path)
}

fn write_atomically(path: &Path, bytes: &[u8], private: bool, overwrite: bool) -> Result<()> {
    if !overwrite && path.exists() {
        bail!(
            "refusing to overwrite {} (move it away first)",
            path.display()
        );
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let name = path
        .file_name()
        .ok_or_else(|| anyhow!("{} is not a file path", path.display()))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".tmp-{}", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    let _ = fs::remove_file(&tmp);
    let result = (|| -> Result<()> {
        let mut f =
            open_new(&tmp, private).with_context(|| format!("creating {}", tmp.display()))?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Write a private file (mode 0600 on Unix), atomically (temporary file + rename).
pub fn write_private(path: &Path, bytes: &[u8], overwrite: bool) -> Result<()> {
    write_atomically(path, bytes, true, overwrite)
}

/// Write a public file, atomically.
pub fn write_public(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomically(path, bytes, false, true)
}

/// Write a value as pretty JSON to a public file.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let mut s = serde_json::to_string_pretty(value)?;
    s.push('\n');
    write_public(path, s.as_bytes())
}

/// Read and parse a JSON file.
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let text = fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

/// Warn when a private file can be read by others (it may have been copied carelessly).
pub fn warn_if_exposed(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(m) = fs::metadata(path) {
            if m.permissions().mode() & 0o077 != 0 {
                eprintln!(
                    "warning: {} is readable by other users; run `chmod 600 {}`",
                    path.display(),
                    path.display()
                );
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

// ---- voter credentials -------------------------------------------------------------

/// A voter's credential file: the secret credential plus the labels printed with it.
///
/// The format is plain text so that it can be printed on a letter:
/// ```text
/// # comment lines
/// electorate: town-2026
/// voter: voter-0001
/// region: north
/// credential: ABCDE-FGHJK-MNPQR-STVWX-YZ012
/// ```
/// A file holding only the credential text is accepted too.
pub struct CredentialFile {
    /// The secret credential.
    pub credential: Credential,
    /// Electorate id, if recorded.
    pub electorate: Option<String>,
    /// Voter label, if recorded.
    pub voter: Option<String>,
    /// Region, if any.
    pub region: Option<String>,
}

impl CredentialFile {
    /// The file's text.
    pub fn render(&self) -> String {
        let mut s = String::new();
        s.push_str("# vox voting credential. Keep it secret: whoever holds it can vote and\n");
        s.push_str("# sign petitions in your name. Re-voting replaces your earlier ballot.\n");
        let mut line = |k: &str, v: &Option<String>| {
            if let Some(v) = v {
                s.push_str(&format!("{k}: {v}\n"));
            }
        };
        line("electorate", &self.electorate);
        line("voter", &self.voter);
        line("region", &self.region);
        s.push_str(&format!("credential: {}\n", self.credential.text()));
        s
    }

    /// Parse a credential file's text.
    pub fn parse(text: &str) -> Result<Self> {
        let mut credential = None;
        let mut electorate = None;
        let mut voter = None;
        let mut region = None;
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            match line.split_once(':') {
                Some((k, v)) => {
                    let v = v.trim().to_owned();
                    match k.trim() {
                        "credential" => credential = Some(v),
                        "electorate" => electorate = Some(v),
                        "voter" => voter = Some(v),
                        "region" => region = Some(v),
                        _ => {}
                    }
                }
                None if credential.is_none() => credential = Some(line.to_owned()),
                None => bail!("unexpected line in credential file"),
            }
        }
        let text = Zeroizing::new(credential.ok_or_else(|| anyhow!("no `credential:` line"))?);
        let credential = parse_credential_text(&text)?;
        Ok(Self {
            credential,
            electorate,
            voter,
            region,
        })
    }

    /// Read a credential file (warns when others can read it).
    pub fn load(path: &Path) -> Result<Self> {
        let text = Zeroizing::new(
            fs::read_to_string(path)
                .with_context(|| format!("reading credential file {}", path.display()))?,
        );
        warn_if_exposed(path);
        Self::parse(&text).with_context(|| format!("credential file {}", path.display()))
    }

    /// Write it as a private file.
    pub fn save(&self, path: &Path, overwrite: bool) -> Result<()> {
        let text = Zeroizing::new(self.render());
        write_private(path, text.as_bytes(), overwrite)
    }
}

/// Read a credential as typed or printed, or say why it is not one: "this is not a
/// valid credential: <why> (check for a typo)". The error never repeats the text (it may
/// be a secret with one character wrong), only its length and any character that no
/// credential can hold.
pub fn parse_credential_text(text: &str) -> Result<Credential> {
    Credential::from_text(text).map_err(|e| {
        let why = credential_format_problem(text).unwrap_or_else(|| e.to_string());
        anyhow!("this is not a valid credential: {why} (check for a typo)")
    })
}

/// What is wrong with a credential's text, if its format is wrong: a credential is 25
/// characters of 0-9 and A-Z without I, L, O, U, in any case, dashes and spaces ignored.
fn credential_format_problem(text: &str) -> Option<String> {
    let chars: Vec<char> = text
        .chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let alphabet = vox_crypto::credential::ALPHABET;
    if let Some((i, c)) = chars
        .iter()
        .enumerate()
        .find(|(_, c)| !(c.is_ascii() && alphabet.contains(&(**c as u8))))
    {
        let hint = match c {
            'I' | 'L' => " (credentials use the digit 1, never I or L)",
            'O' => " (credentials use the digit 0, never the letter O)",
            'U' => " (credentials never use U: is it a V?)",
            _ => "",
        };
        let shown = if c.is_ascii_graphic() {
            format!("'{c}'")
        } else {
            format!("U+{:04X}", u32::from(*c))
        };
        return Some(format!(
            "character {} ({shown}) cannot be in a credential{hint}; a credential is 25 \
             characters of 0-9 and A-Z without I, L, O, U",
            i + 1
        ));
    }
    if chars.len() != 25 {
        return Some(format!(
            "it has {} characters (dashes and spaces aside); a credential has 25",
            chars.len()
        ));
    }
    None
}

// ---- trustee keys ------------------------------------------------------------------

/// Version of the trustee key files: 2 since the signing key and the communication
/// (share-encryption) key are separate keys (06 §6.2). A version-1 file held one key for
/// both jobs and is refused with a pointer to `vox trustee keygen`.
pub const TRUSTEE_KEY_VERSION: u32 = 2;

/// A trustee's secret key file (JSON, mode 0600): both public keys and both secrets
/// (`secret_key` is 64 bytes in hex: the signing secret, then the communication secret).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TrusteeKeyFile {
    format: String,
    version: u32,
    name: String,
    signing_key: Point,
    communication_key: Point,
    secret_key: String,
}

impl Drop for TrusteeKeyFile {
    /// The hex of both secrets must not linger in freed memory.
    fn drop(&mut self) {
        self.secret_key.zeroize();
    }
}

/// A trustee's public key file, handed to the election authority for its panel or a
/// manifest: `{"format": "vox-trustee-public-key", "version": 2, "name",
/// "signing_key", "communication_key"}`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrusteePublicFile {
    /// [`TRUSTEE_PUBLIC_FORMAT`].
    pub format: String,
    /// [`TRUSTEE_KEY_VERSION`].
    pub version: u32,
    /// Display name in the manifest.
    pub name: String,
    /// D: verifies the trustee's signed messages.
    pub signing_key: Point,
    /// E: receives the trustee's encrypted key-ceremony shares.
    pub communication_key: Point,
}

/// Where `keygen --out FILE` puts the public half: `FILE.pub`.
pub fn public_key_path(secret_path: &Path) -> PathBuf {
    let mut s = secret_path.as_os_str().to_owned();
    s.push(".pub");
    PathBuf::from(s)
}

/// Write a trustee's secret key file (0600, never overwritten) and its public file.
pub fn save_trustee_keys(path: &Path, name: &str, keys: &TrusteeKeys) -> Result<PathBuf> {
    let secret = keys.secret_bytes();
    let file = TrusteeKeyFile {
        format: TRUSTEE_KEY_FORMAT.into(),
        version: TRUSTEE_KEY_VERSION,
        name: name.to_owned(),
        signing_key: *keys.signing_key(),
        communication_key: *keys.communication_key(),
        secret_key: hex::encode(secret.as_ref()),
    };
    let text = Zeroizing::new(serde_json::to_string_pretty(&file)? + "\n");
    drop(file);
    write_private(path, text.as_bytes(), false)?;
    let public_path = public_key_path(path);
    write_json(
        &public_path,
        &TrusteePublicFile {
            format: TRUSTEE_PUBLIC_FORMAT.into(),
            version: TRUSTEE_KEY_VERSION,
            name: name.to_owned(),
            signing_key: *keys.signing_key(),
            communication_key: *keys.communication_key(),
        },
    )?;
    Ok(public_path)
}

/// The refusal for a trustee key file of another version.
fn old_trustee_version(path: &Path, version: u32) -> anyhow::Error {
    anyhow!(
        "{} is a version-{version} trustee key file; this vox reads version \
         {TRUSTEE_KEY_VERSION} (separate signing and communication keys): generate new keys \
         with `vox trustee keygen` and give the election authority the new `.pub` file",
        path.display()
    )
}

/// Read a trustee's secret key file; returns its name and keys.
pub fn load_trustee_keys(path: &Path) -> Result<(String, TrusteeKeys)> {
    let text = read_private_strict(path, "trustee key file")?;
    // Format and version first (a struct that takes only those two, so the secret is
    // not copied into an intermediate value), then the whole file.
    #[derive(Deserialize)]
    struct Head {
        format: Option<String>,
        version: Option<u32>,
    }
    let head: Head = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a trustee key file", path.display()))?;
    if head.format.as_deref() != Some(TRUSTEE_KEY_FORMAT) {
        bail!("{} is not a trustee key file", path.display());
    }
    match head.version {
        Some(TRUSTEE_KEY_VERSION) => {}
        Some(v) => return Err(old_trustee_version(path, v)),
        None => bail!("{} has no version", path.display()),
    }
    let file: TrusteeKeyFile = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a trustee key file", path.display()))?;
    let bytes = Zeroizing::new(hex::decode(&file.secret_key).context("secret_key is not hex")?);
    let keys =
        TrusteeKeys::from_secret_bytes(&bytes).map_err(|e| anyhow!("{}: {e}", path.display()))?;
    if *keys.signing_key() != file.signing_key
        || *keys.communication_key() != file.communication_key
    {
        bail!(
            "{}: the secret keys do not match the public keys written beside them",
            path.display()
        );
    }
    Ok((file.name.clone(), keys))
}

/// Read a trustee's public key file (the `.pub` file `vox trustee keygen` writes).
pub fn load_trustee_public(path: &Path) -> Result<TrusteePublicFile> {
    let text = fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    if text.contains("secret_key") || text.contains(&format!("\"{TRUSTEE_KEY_FORMAT}\"")) {
        bail!(
            "{} is a trustee's SECRET key file; use its public `.pub` file instead",
            path.display()
        );
    }
    let head: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        anyhow!(
            "{}: not a trustee public key file ({e}); use the `.pub` file `vox trustee keygen` wrote",
            path.display()
        )
    })?;
    if head.get("format").and_then(|f| f.as_str()) != Some(TRUSTEE_PUBLIC_FORMAT) {
        bail!("{} is not a trustee public key file", path.display());
    }
    match head.get("version").and_then(|v| v.as_u64()) {
        Some(v) if v == u64::from(TRUSTEE_KEY_VERSION) => {}
        Some(v) => return Err(old_trustee_version(path, v as u32)),
        None => return Err(old_trustee_version(path, 1)),
    }
    let f: TrusteePublicFile = serde_json::from_value(head)
        .with_context(|| format!("{} is not a trustee public key file", path.display()))?;
    if f.signing_key == f.communication_key {
        bail!(
            "{}: the signing and communication keys must be different keys",
            path.display()
        );
    }
    Ok(f)
}

// ---- role keys ---------------------------------------------------------------------

/// `format` field of a role's key file.
pub const ROLE_KEY_FORMAT: &str = "vox-role-key";
/// Environment variable naming the role key file of `vox authority` commands.
pub const ROLE_KEY_ENV: &str = "VOX_ROLE_KEY";

/// A role's key file (JSON, mode 0600): `{"format": "vox-role-key", "version": 1,
/// "role": "registrar", "public_key": hex, "secret_key": hex}`. The secret is wiped
/// from memory when the value is dropped.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleKeyJson {
    format: String,
    version: u32,
    role: Role,
    public_key: BoardPublicKey,
    secret_key: String,
}

impl Drop for RoleKeyJson {
    fn drop(&mut self) {
        self.secret_key.zeroize();
    }
}

/// A role's signing key, read from its key file.
pub struct RoleKey {
    /// The role the file says the key is for.
    pub role: Role,
    /// The secret key (wiped on drop).
    pub key: SigningKey,
    /// Where it was read from.
    pub path: PathBuf,
}

impl std::fmt::Debug for RoleKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoleKey")
            .field("role", &self.role)
            .field("public_key", &self.public().to_hex())
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl RoleKey {
    /// Its public key.
    pub fn public(&self) -> BoardPublicKey {
        BoardPublicKey(self.key.verifying_key())
    }
}

/// Write a role's key file (0600, never overwritten).
pub fn save_role_key(path: &Path, role: Role, key: &SigningKey) -> Result<()> {
    let secret = Zeroizing::new(key.to_bytes());
    let file = RoleKeyJson {
        format: ROLE_KEY_FORMAT.into(),
        version: 1,
        role,
        public_key: BoardPublicKey(key.verifying_key()),
        secret_key: hex::encode(secret.as_ref()),
    };
    let text = Zeroizing::new(serde_json::to_string_pretty(&file)? + "\n");
    drop(file);
    write_private(path, text.as_bytes(), false)
}

/// Read a private file, refusing it if other users can read or write it (a key file
/// that others can read must be considered leaked; `chmod 600` it after checking).
pub fn read_private_strict(path: &Path, what: &str) -> Result<Zeroizing<String>> {
    let mut f = File::open(path).with_context(|| format!("reading {what} {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = f
            .metadata()
            .with_context(|| format!("reading {what} {}", path.display()))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            bail!(
                "{what} {} can be read by other users (mode {:o}); refusing to use it. \
                 If nobody else had access, run `chmod 600 {}` and try again; otherwise \
                 treat the key as compromised",
                path.display(),
                mode & 0o777,
                path.display()
            );
        }
    }
    let mut text = Zeroizing::new(String::new());
    std::io::Read::read_to_string(&mut f, &mut text)
        .with_context(|| format!("reading {what} {}", path.display()))?;
    Ok(text)
}

/// Read a role's key file: refuses a file readable by group or others, a file that is
/// not a role key file, and a secret that does not match its public key.
pub fn load_role_key(path: &Path) -> Result<RoleKey> {
    let text = read_private_strict(path, "key file")?;
    if text.contains(TRUSTEE_KEY_FORMAT) {
        bail!(
            "{} is a trustee key file, not a role key file (make one with `vox keys new`)",
            path.display()
        );
    }
    let file: RoleKeyJson = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a vox role key file", path.display()))?;
    if file.format != ROLE_KEY_FORMAT {
        bail!("{} is not a vox role key file", path.display());
    }
    if file.version != 1 {
        bail!(
            "{}: role key file version {} is not supported (expected 1)",
            path.display(),
            file.version
        );
    }
    let bytes = Zeroizing::new(
        hex::decode(&file.secret_key)
            .map_err(|_| anyhow!("{}: secret_key is not hex", path.display()))?,
    );
    let secret: Zeroizing<[u8; 32]> = Zeroizing::new(
        bytes
            .as_slice()
            .try_into()
            .map_err(|_| anyhow!("{}: secret_key must be 32 bytes", path.display()))?,
    );
    let key = SigningKey::from_bytes(&secret);
    if BoardPublicKey(key.verifying_key()) != file.public_key {
        bail!(
            "{}: the secret key does not match its public key",
            path.display()
        );
    }
    Ok(RoleKey {
        role: file.role,
        key,
        path: path.to_owned(),
    })
}

/// A role's public key given on the command line: 64 hex characters, a role key file
/// (then the key is returned too, to sign with), or a file holding only the hex key.
pub fn public_or_key_file(arg: &str) -> Result<(BoardPublicKey, Option<RoleKey>)> {
    let path = Path::new(arg);
    if !path.exists() {
        if arg.len() == 64 && arg.bytes().all(|b| b.is_ascii_hexdigit()) {
            let k = BoardPublicKey::from_hex(arg).map_err(|e| anyhow!("public key {arg}: {e}"))?;
            return Ok((k, None));
        }
        bail!("{arg} is neither a public key (64 hex characters) nor an existing key file");
    }
    let text = Zeroizing::new(fs::read_to_string(path).with_context(|| format!("reading {arg}"))?);
    let trimmed = text.trim();
    if trimmed.len() == 64 && trimmed.bytes().all(|b| b.is_ascii_hexdigit()) {
        let k = BoardPublicKey::from_hex(trimmed).map_err(|e| anyhow!("{arg}: {e}"))?;
        return Ok((k, None));
    }
    drop(text);
    let key = load_role_key(path)?;
    Ok((key.public(), Some(key)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn credential_file_round_trip() {
        let c = Credential::generate(&mut rand::rngs::OsRng);
        let f = CredentialFile {
            credential: c.clone(),
            electorate: Some("e1".into()),
            voter: Some("voter-0001".into()),
            region: None,
        };
        let back = CredentialFile::parse(&f.render()).unwrap();
        assert_eq!(back.credential.public_key(), c.public_key());
        assert_eq!(back.electorate.as_deref(), Some("e1"));
        let bare = CredentialFile::parse(c.text()).unwrap();
        assert_eq!(bare.credential.public_key(), c.public_key());
        assert!(CredentialFile::parse("credential: nope").is_err());
    }

    #[test]
    #[allow(clippy::indexing_slicing)] // a test: a missing field is a failure
    fn trustee_key_files() {
        let dir = std::env::temp_dir().join(format!("vox-files-test-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let path = dir.join("t.key");
        let keys = TrusteeKeys::generate(&mut rand::rngs::OsRng);
        let public = save_trustee_keys(&path, "T", &keys).unwrap();
        assert!(
            save_trustee_keys(&path, "T", &keys).is_err(),
            "never overwrites"
        );
        let (name, back) = load_trustee_keys(&path).unwrap();
        assert_eq!(name, "T");
        assert_eq!(back.signing_key(), keys.signing_key());
        assert_eq!(back.communication_key(), keys.communication_key());
        let pubfile = load_trustee_public(&public).unwrap();
        assert_eq!(pubfile.signing_key, *keys.signing_key());
        assert_eq!(pubfile.communication_key, *keys.communication_key());
        let e = load_trustee_public(&path).err().unwrap();
        assert!(e.to_string().contains("SECRET"), "{e}");
        // A version-1 public file (one key for both jobs) is refused with the way out.
        let old = dir.join("old.pub");
        fs::write(
            &old,
            format!(
                r#"{{"format":"{TRUSTEE_PUBLIC_FORMAT}","name":"T","public_key":"{}"}}"#,
                keys.signing_key().to_hex()
            ),
        )
        .unwrap();
        let e = load_trustee_public(&old).err().unwrap().to_string();
        assert!(
            e.contains("version-1") && e.contains("vox trustee keygen"),
            "{e}"
        );
        // A public file whose two keys are one key is refused.
        let mut same = serde_json::to_value(&pubfile).unwrap();
        same["communication_key"] = same["signing_key"].clone();
        fs::write(&old, same.to_string()).unwrap();
        let e = load_trustee_public(&old).err().unwrap().to_string();
        assert!(e.contains("different keys"), "{e}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn role_key_files() {
        let dir = std::env::temp_dir().join(format!("vox-role-key-test-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let path = dir.join("registrar.key");
        let key = SigningKey::generate(&mut rand::rngs::OsRng);
        save_role_key(&path, Role::Registrar, &key).unwrap();
        let e = save_role_key(&path, Role::Registrar, &key).err().unwrap();
        assert!(e.to_string().contains("refusing to overwrite"), "{e}");
        let back = load_role_key(&path).unwrap();
        assert_eq!(back.role, Role::Registrar);
        assert_eq!(back.key.to_bytes(), key.to_bytes());
        let (public, k) = public_or_key_file(&path.display().to_string()).unwrap();
        assert_eq!(public, back.public());
        assert!(k.is_some());
        let hex_key = back.public().to_hex();
        let (public, k) = public_or_key_file(&hex_key).unwrap();
        assert_eq!(public, back.public());
        assert!(k.is_none());
        assert!(public_or_key_file("nope").is_err());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
            fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
            let e = load_role_key(&path).err().unwrap();
            assert!(
                e.to_string()
                    .contains(&format!("chmod 600 {}", path.display())),
                "{e}"
            );
        }
        // A tampered public key is refused.
        let other = dir.join("other.key");
        let text = Zeroizing::new(fs::read_to_string(&path).unwrap());
        let wrong = BoardPublicKey(SigningKey::generate(&mut rand::rngs::OsRng).verifying_key());
        write_private(
            &other,
            text.replace(&back.public().to_hex(), &wrong.to_hex())
                .as_bytes(),
            false,
        )
        .unwrap();
        let e = load_role_key(&other).err().unwrap();
        assert!(e.to_string().contains("does not match"), "{e}");
        let _ = fs::remove_dir_all(&dir);
    }
}
