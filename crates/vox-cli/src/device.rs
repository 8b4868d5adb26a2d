//! What a citizen's device checks before it encrypts anything (protocol-spec/04-ballots.md
//! §4.7, steps D1–D7).
//!
//! Why: the server is not trusted with ballot secrecy. If the device took the election key
//! (or the trustees' reveals that define it) from the server's JSON, a malicious server
//! could hand one voter a manifest and reveals for polynomials it drew itself, read that
//! voter's ballot, then answer with an error so the voter votes again. So the device takes
//! nothing about the key from the server's word:
//!
//! - the board key is **pinned** (trust on first use, like ssh's `known_hosts`, or given
//!   with `--board-key`), and the board's signed tree head must verify under it (D1);
//! - every entry the key depends on is fetched as a **board leaf** and proved included
//!   under that signed head: the genesis (D2), the role key rotations before the manifest
//!   (D3), the `referendum-created` entry, whose act must be signed by the election
//!   authority's key of that time (D4), every ceremony message of the referendum, each
//!   signed by its trustee and replayed with the ceremony rules (D5), and the
//!   `ceremony-completed` entry (D6);
//! - the election key K is **recomputed** from those leaves and must equal the key the
//!   completion entry and the server's view publish (D7).
//!
//! Efficiency: the server's referendum view gives the leaf indices of those entries
//! (`leaf_index`, `role_rotation_leaves`, `ceremony_leaves`, `completed_leaf`); they are
//! hints only, every fetched leaf is checked for its kind, its referendum and its
//! inclusion. A device thus reads about 4n + 3 entries (n trustees) plus the rare
//! rotations, never the ballots, however large the board. What it cannot see from these
//! hints is a rotation the server leaves out: that would make it check the manifest's act
//! against a role key the board has since replaced, which only helps an attacker who
//! holds that old key; the verifier (V4) replays every rotation and catches it.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use vox_crypto::elgamal::ElectionPublicKey;
use vox_crypto::Hash32;
use vox_protocol::board::{BoardEntry, BoardPublicKey, Payload, SignedTreeHead};
use vox_protocol::ceremony::{completed_payload, CeremonyPhase, CeremonyTracker};
use vox_protocol::encoding::Hashable;
use vox_protocol::manifest::Manifest;
use vox_protocol::merkle::{verify_inclusion, NodeHash};
use vox_protocol::roles::Authorities;

use crate::client::{Client, ReferendumDetail};

/// `xxxx xxxx xxxx xxxx`: the first 8 bytes of a hash as 4 groups of hex, short enough
/// to read aloud and compare with what the town publishes.
pub fn fingerprint(hash: &Hash32) -> String {
    hash.0
        .chunks(2)
        .take(4)
        .map(hex::encode)
        .collect::<Vec<_>>()
        .join(" ")
}

// ---- the pinned board key (D1) -------------------------------------------------------

/// The known-boards file: `$VOX_HOME/known_boards` if `VOX_HOME` is set, else
/// `$HOME/.config/vox/known_boards`.
pub fn known_boards_path() -> Result<PathBuf> {
    if let Some(home) = std::env::var_os("VOX_HOME").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(home).join("known_boards"));
    }
    let home = std::env::var_os("HOME")
        .filter(|v| !v.is_empty())
        .ok_or_else(|| anyhow!("neither VOX_HOME nor HOME is set: nowhere to pin the board key"))?;
    Ok(PathBuf::from(home)
        .join(".config")
        .join("vox")
        .join("known_boards"))
}

/// The server URL as it is pinned: no trailing slash.
fn pin_name(base: &str) -> String {
    base.trim_end_matches('/').to_owned()
}

/// Parse the known-boards file: `URL LOG_ID_HEX BOARD_KEY_HEX` per line; `#` comments and
/// blank lines are skipped. Returns (line number, url, key).
fn read_known_boards(path: &Path) -> Result<Vec<(usize, String, BoardPublicKey)>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let parts: Vec<&str> = line.split_whitespace().collect();
        let [url, log_id, key] = parts.as_slice() else {
            bail!(
                "{}:{n}: expected `URL LOG_ID BOARD_KEY`; fix or remove that line",
                path.display()
            );
        };
        let key = BoardPublicKey::from_hex(key)
            .map_err(|e| anyhow!("{}:{n}: board key: {e}", path.display()))?;
        if key.log_id().to_hex() != *log_id {
            bail!(
                "{}:{n}: the log id does not belong to the board key; fix or remove that line",
                path.display()
            );
        }
        out.push((n, (*url).to_owned(), key));
    }
    Ok(out)
}

/// Append a pin, creating the directory (0700) and the file (0600) if needed.
fn append_pin(path: &Path, url: &str, key: &BoardPublicKey) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        let mut b = std::fs::DirBuilder::new();
        b.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            b.mode(0o700);
        }
        b.create(dir)
            .with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut o = std::fs::OpenOptions::new();
    o.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    let mut f = o
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    writeln!(f, "{url} {} {}", key.log_id().to_hex(), key.to_hex())
        .with_context(|| format!("writing {}", path.display()))?;
    f.sync_all()?;
    Ok(())
}

/// The board key this device trusts for `client`'s server: `explicit` (`--board-key
/// HEX`) if given, else the pinned one; on first contact the server's key is pinned
/// (trust on first use) with a notice. A server whose key differs from the pin is
/// refused with an alarm naming the line to remove if the change is legitimate.
pub fn trusted_board_key(client: &Client, explicit: Option<&str>) -> Result<BoardPublicKey> {
    if let Some(hex) = explicit {
        return BoardPublicKey::from_hex(hex.trim())
            .map_err(|e| anyhow!("--board-key: {e} (expected 64 hex characters)"));
    }
    let path = known_boards_path()?;
    let url = pin_name(client.base());
    let board = client.board()?;
    let offered = board.board_public_key;
    if board.log_id != offered.log_id() {
        bail!("the server's log id does not match its board key");
    }
    let known = read_known_boards(&path)?;
    if let Some((line, _, pinned)) = known.iter().find(|(_, u, _)| *u == url) {
        if *pinned == offered {
            return Ok(offered);
        }
        bail!(
            "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n\
             @    WARNING: THE BOARD KEY OF THIS SERVER HAS CHANGED!    @\n\
             @@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n\
             {url} now presents board key {} (fingerprint {}),\n\
             but this device pinned board key {} (fingerprint {}).\n\
             Someone may be impersonating the board to read your ballot, or the town moved\n\
             to a new log. Nothing was encrypted or sent. Ask the town which board key is\n\
             right; if the change is legitimate, remove line {line} of {} and run again\n\
             (or pass --board-key with the published key).",
            offered.to_hex(),
            fingerprint(&offered.log_id()),
            pinned.to_hex(),
            fingerprint(&pinned.log_id()),
            path.display()
        );
    }
    append_pin(&path, &url, &offered)?;
    println!(
        "First contact with {url}: pinned its board key {} (fingerprint {}) in {}.",
        offered.to_hex(),
        fingerprint(&offered.log_id()),
        path.display()
    );
    println!(
        "  Compare that fingerprint with the one your town publishes; from now on this \
         device refuses a server that presents another key."
    );
    Ok(offered)
}

/// The board's latest signed tree head, verified under `key` (D1).
pub fn signed_head(client: &Client, key: &BoardPublicKey) -> Result<SignedTreeHead> {
    let sth = client.tree_head()?;
    sth.verify(key)
        .map_err(|e| anyhow!("the board's tree head is not signed by the pinned board key: {e}"))?;
    Ok(sth)
}

// ---- leaves under a signed head --------------------------------------------------------

/// Check that `leaf_hash` is leaf `index` of the tree `sth` signs (inclusion proof from
/// the server, checked here).
pub fn verify_included(
    client: &Client,
    sth: &SignedTreeHead,
    index: u64,
    leaf_hash: &NodeHash,
) -> Result<()> {
    let size = sth.head.tree_size;
    let proof = client.inclusion(index, size)?;
    verify_inclusion(leaf_hash, index, size, &proof.proof, &sth.head.root_hash)
        .map_err(|e| anyhow!("leaf {index} is not in the board's signed tree of size {size}: {e}"))
}

/// Fetch board leaf `index` and prove it included under `sth`.
pub fn fetch_leaf(client: &Client, sth: &SignedTreeHead, index: u64) -> Result<BoardEntry> {
    if index >= sth.head.tree_size {
        bail!(
            "leaf {index} is beyond the board's signed tree of size {}",
            sth.head.tree_size
        );
    }
    let page = client.entries(index, index + 1)?;
    let Some(item) = page.into_iter().next().filter(|e| e.index == index) else {
        bail!("the server did not return board leaf {index}");
    };
    verify_included(client, sth, index, &item.entry.leaf_hash())?;
    Ok(item.entry)
}

/// Start the role replay at leaf 0: it must be a valid genesis naming `board_key` as
/// the operator's (the key that signs the board).
pub fn genesis_authorities(
    index: u64,
    payload: &Payload,
    board_key: &BoardPublicKey,
) -> Result<Authorities> {
    match payload {
        Payload::Genesis { genesis } if index == 0 => {
            if genesis.keys.operator != *board_key {
                bail!("the board's genesis names another operator key than the board's");
            }
            Authorities::from_genesis(genesis).map_err(|e| anyhow!("leaf 0: {e}"))
        }
        _ => bail!("leaf 0 of the board is not a valid genesis"),
    }
}

// ---- the election key (D2–D7) ----------------------------------------------------------

/// What the device checked on the board.
#[derive(Clone, Debug)]
pub struct CheckedKey {
    /// The manifest, as the board holds it.
    pub manifest: Manifest,
    /// Its hash.
    pub manifest_hash: Hash32,
    /// K, recomputed from the trustees' signed ceremony messages.
    pub election_key: ElectionPublicKey,
    /// The size of the signed tree head everything was checked under.
    pub tree_size: u64,
    /// The manifest's leaf.
    pub manifest_leaf: u64,
}

/// Leaf indices must increase strictly and stay in `after..before`.
fn check_order(what: &str, leaves: &[u64], after: Option<u64>, before: u64) -> Result<()> {
    let mut last = after;
    for l in leaves {
        if last.is_some_and(|p| *l <= p) || *l >= before {
            bail!("the server's {what} leaves {leaves:?} are not in board order");
        }
        last = Some(*l);
    }
    Ok(())
}

/// D2–D7 for referendum `id`: the election key recomputed from board leaves proved
/// included under a tree head signed by `board_key`. `detail` is the server's view; only
/// its leaf indices are used (as hints), and its manifest and key must agree with the
/// board's.
pub fn check_election_key(
    client: &Client,
    board_key: &BoardPublicKey,
    id: &str,
    detail: &ReferendumDetail,
) -> Result<CheckedKey> {
    let old_server = || {
        anyhow!(
            "the server does not say where referendum {id}'s entries are on the board \
             (leaf indices missing): this device cannot check the election key, so it \
             will not encrypt"
        )
    };
    let manifest_leaf = detail.leaf_index.ok_or_else(old_server)?;
    let rotations = detail
        .role_rotation_leaves
        .as_deref()
        .ok_or_else(old_server)?;
    let ceremony = detail.ceremony_leaves.as_deref().ok_or_else(old_server)?;
    let completed = detail
        .completed_leaf
        .ok_or_else(|| anyhow!("referendum {id}: the key ceremony is not complete on the board"))?;

    // D1: the signed tree head under the pinned key.
    let sth = signed_head(client, board_key)?;
    let size = sth.head.tree_size;
    check_order("role rotation", rotations, Some(0), manifest_leaf)?;
    check_order("ceremony message", ceremony, Some(manifest_leaf), completed)?;
    if completed >= size {
        bail!(
            "the ceremony's completion (leaf {completed}) is beyond the signed tree of size {size}"
        );
    }

    // D2: the genesis.
    let genesis = fetch_leaf(client, &sth, 0)?;
    let mut authorities = genesis_authorities(0, &genesis.payload, board_key)?;

    // D3: the role key rotations before the manifest.
    for &at in rotations {
        let e = fetch_leaf(client, &sth, at)?;
        if !matches!(e.payload, Payload::RoleKeyRotated { .. }) {
            bail!(
                "leaf {at} is a {} entry, not a role key rotation",
                e.payload.kind()
            );
        }
        authorities
            .accept(&e.payload)
            .map_err(|err| anyhow!("the role key rotation at leaf {at}: {err}"))?;
    }

    // D4: the manifest, signed by the election authority's key of that time.
    let created = fetch_leaf(client, &sth, manifest_leaf)?;
    let Payload::ReferendumCreated { manifest, .. } = &created.payload else {
        bail!(
            "leaf {manifest_leaf} is a {} entry, not the creation of referendum {id}",
            created.payload.kind()
        );
    };
    if manifest.referendum_id != id {
        bail!(
            "leaf {manifest_leaf} creates referendum {:?}, not {id:?}",
            manifest.referendum_id
        );
    }
    authorities.check(&created.payload).map_err(|e| {
        anyhow!(
            "the manifest at leaf {manifest_leaf} is not signed by the election authority's \
             key of that time: {e}"
        )
    })?;
    manifest
        .validate()
        .map_err(|e| anyhow!("the manifest at leaf {manifest_leaf} is invalid: {e}"))?;
    let manifest_hash = manifest.canonical_hash();
    if manifest_hash != detail.manifest_hash || *manifest != detail.manifest {
        bail!(
            "the server's manifest of referendum {id} is not the one on the board at leaf \
             {manifest_leaf}"
        );
    }

    // D5: every ceremony message, signed by its trustee, replayed with the ceremony rules.
    let n = manifest.trustees.len();
    let bound = n
        .saturating_mul(4)
        .saturating_add(n.saturating_mul(n).saturating_mul(2));
    if ceremony.len() > bound {
        bail!(
            "the server names {} ceremony leaves, more than a ceremony of {} trustees can have",
            ceremony.len(),
            manifest.trustees.len()
        );
    }
    let mut tracker =
        CeremonyTracker::new(manifest, manifest_hash).map_err(|e| anyhow!("ceremony: {e}"))?;
    let mut joint = None;
    for &at in ceremony {
        let e = fetch_leaf(client, &sth, at)?;
        let Payload::Ceremony { message } = &e.payload else {
            bail!(
                "leaf {at} is a {} entry, not a ceremony message",
                e.payload.kind()
            );
        };
        if message.referendum_id != id {
            bail!(
                "leaf {at} is a ceremony message of referendum {:?}, not {id:?}",
                message.referendum_id
            );
        }
        message
            .verify_signature(manifest, &manifest_hash)
            .map_err(|err| {
                anyhow!(
                    "the ceremony message at leaf {at} is not signed by trustee {}'s key in the \
                 manifest: {err}",
                    message.trustee
                )
            })?;
        match tracker.apply(manifest, message) {
            Ok(Some(j)) => joint = Some(j),
            Ok(None) => {}
            Err(err) => bail!("the ceremony message at leaf {at} breaks the ceremony rules: {err}"),
        }
        if let CeremonyPhase::Failed { reason } = &tracker.phase {
            bail!("the key ceremony failed on the board (leaf {at}): {reason}");
        }
    }
    let joint = joint.ok_or_else(|| {
        anyhow!(
            "the ceremony messages the server pointed to ({} leaves) do not complete the \
             ceremony: every trustee's signed commitment, reveal, shares and confirmation are \
             needed",
            ceremony.len()
        )
    })?;
    let (key, shares) = completed_payload(&joint).map_err(|e| anyhow!("ceremony: {e}"))?;

    // D6: the completion entry publishes that key.
    let done = fetch_leaf(client, &sth, completed)?;
    match &done.payload {
        Payload::CeremonyCompleted {
            referendum_id,
            election_key,
            public_shares,
        } if referendum_id == id => {
            if *election_key != key || *public_shares != shares {
                bail!(
                    "the ceremony completion at leaf {completed} publishes another key than \
                     the trustees' signed reveals give"
                );
            }
        }
        p => bail!(
            "leaf {completed} is a {} entry, not the completion of referendum {id}'s ceremony",
            p.kind()
        ),
    }

    // D7: the server's own view must agree.
    if detail.election_key != Some(key) {
        bail!(
            "the server's election key for referendum {id} is NOT the key the trustees' signed \
             ceremony messages on the board define: refusing to encrypt to it"
        );
    }
    Ok(CheckedKey {
        manifest: manifest.clone(),
        manifest_hash,
        election_key: key,
        tree_size: size,
        manifest_leaf,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn fingerprints_are_four_groups() {
        let h = Hash32([0xab; 32]);
        assert_eq!(fingerprint(&h), "abab abab abab abab");
    }

    #[test]
    fn order_checks() {
        assert!(check_order("x", &[1, 2, 5], Some(0), 6).is_ok());
        assert!(check_order("x", &[1, 1], Some(0), 6).is_err());
        assert!(check_order("x", &[0], Some(0), 6).is_err());
        assert!(check_order("x", &[6], Some(0), 6).is_err());
        assert!(check_order("x", &[], Some(0), 0).is_ok());
    }

    #[test]
    fn known_boards_round_trip_and_refuse_garbage() {
        let dir = std::env::temp_dir().join(format!("vox-kb-{}", std::process::id()));
        let path = dir.join("sub").join("known_boards");
        let key = BoardPublicKey(ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]).verifying_key());
        append_pin(&path, "http://127.0.0.1:1", &key).unwrap();
        let got = read_known_boards(&path).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0, 1);
        assert_eq!(got[0].2, key);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let m = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(m, 0o600);
        }
        std::fs::write(&path, "# c\n\nhttp://x only-two\n").unwrap();
        let err = read_known_boards(&path).unwrap_err().to_string();
        assert!(err.contains(":3:"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
