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
//!
//! The checks themselves are [`vox_protocol::device`], the same code the browser runs
//! (compiled to wasm in `vox-web`); this module does the I/O around them: the
//! known-boards file and the HTTP fetches of the signed head, the leaves and their
//! inclusion proofs.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use vox_protocol::board::{BoardPublicKey, Payload, SignedTreeHead};
use vox_protocol::device::{self, ProvedLeaf, ReferendumClaims, TriggerLeaves};
use vox_protocol::merkle::NodeHash;
use vox_protocol::petition::Moderation;
use vox_protocol::roles::Authorities;

use crate::client::{Client, ReferendumDetail};

pub use vox_protocol::device::{fingerprint, CheckedKey};

// ---- the pinned board key (D1) -------------------------------------------------------

/// The known-boards file: `known_boards` in the device's state directory
/// ([`crate::files::state_dir`]: `$VOX_HOME`, else `$HOME/.config/vox`).
pub fn known_boards_path() -> Result<PathBuf> {
    Ok(crate::files::state_dir()?.join("known_boards"))
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
    crate::files::append_private_line(
        path,
        &format!("{url} {} {}", key.log_id().to_hex(), key.to_hex()),
    )
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
    device::check_signed_head(&sth, key)?;
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
    let proof = client.inclusion(index, sth.head.tree_size)?;
    device::check_included(sth, index, leaf_hash, &proof.proof)?;
    Ok(())
}

/// Fetch board leaf `index` and its inclusion proof under `sth` (both checked by
/// [`device::check_election_key`]; `index` is one of [`device::leaves_to_fetch`], inside
/// the signed tree).
fn fetch_proved(client: &Client, sth: &SignedTreeHead, index: u64) -> Result<ProvedLeaf> {
    let page = client.entries(index, index + 1)?;
    let Some(item) = page.into_iter().next().filter(|e| e.index == index) else {
        bail!("the server did not return board leaf {index}");
    };
    let proof = client.inclusion(index, sth.head.tree_size)?;
    Ok(ProvedLeaf {
        index,
        entry: item.entry,
        proof: proof.proof,
    })
}

/// Start the role replay at leaf 0: it must be a valid genesis naming `board_key` as
/// the operator's (the key that signs the board).
pub fn genesis_authorities(
    index: u64,
    payload: &Payload,
    board_key: &BoardPublicKey,
) -> Result<Authorities> {
    Ok(device::genesis_authorities(index, payload, board_key)?)
}

// ---- the election key (D1–D7) ----------------------------------------------------------

/// For a referendum a petition triggered, where the parts of its manifest are on the
/// board (hints for D3/D4, which check them): the petition's proposal (from the petition's
/// page), the office's publication with the terms and the panel in force at the trigger
/// (found on the board between the proposal and the manifest; the panel, if set before
/// the proposal, is the one the panel page names). The server's referendum page does
/// not name these leaves yet.
fn trigger_leaves(client: &Client, detail: &ReferendumDetail) -> Result<Option<TriggerLeaves>> {
    let Some(pid) = detail.manifest.source_petition.as_deref() else {
        return Ok(None);
    };
    let petition_leaf = client.petition(pid)?.leaf_index;
    let manifest_leaf = detail.leaf_index;
    let (mut publish_leaf, mut panel_leaf) = (None, None);
    client.all_entries(petition_leaf, manifest_leaf, |i, e| {
        match e.payload {
            Payload::PetitionModerated {
                petition_id,
                moderation: Moderation::Publish { .. },
                ..
            } if petition_id == pid => publish_leaf = Some(i),
            Payload::TrusteePanelSet { .. } => panel_leaf = Some(i),
            _ => {}
        }
        Ok(())
    })?;
    let panel_leaf = match panel_leaf {
        Some(l) => Some(l),
        None => client
            .panel()?
            .and_then(|v| v.get("leaf_index").and_then(serde_json::Value::as_u64))
            .filter(|l| *l < petition_leaf),
    };
    Ok(match (publish_leaf, panel_leaf) {
        (Some(publish_leaf), Some(panel_leaf)) => Some(TriggerLeaves {
            petition_leaf,
            publish_leaf,
            panel_leaf,
        }),
        _ => None,
    })
}

/// D1–D7 for referendum `id` ([`vox_protocol::device::check_election_key`]): the election
/// key recomputed from board leaves proved included under a tree head signed by
/// `board_key`. `detail` is the server's view; only its leaf indices are used (as hints),
/// and its manifest and key must agree with the board's. The server's hints are checked
/// before any leaf is fetched.
pub fn check_election_key(
    client: &Client,
    board_key: &BoardPublicKey,
    id: &str,
    detail: &ReferendumDetail,
) -> Result<CheckedKey> {
    let claims = ReferendumClaims {
        manifest: detail.manifest.clone(),
        manifest_hash: detail.manifest_hash,
        election_key: detail.election_key,
        leaf_index: Some(detail.leaf_index),
        role_rotation_leaves: Some(detail.role_rotation_leaves.clone()),
        ceremony_leaves: Some(detail.ceremony_leaves.clone()),
        completed_leaf: detail.completed_leaf,
        trigger: trigger_leaves(client, detail)?,
    };
    let sth = client.tree_head()?;
    let wanted = device::leaves_to_fetch(board_key, &sth, id, &claims)?;
    let leaves = wanted
        .into_iter()
        .map(|index| fetch_proved(client, &sth, index))
        .collect::<Result<Vec<_>>>()?;
    Ok(device::check_election_key(
        board_key, &sth, id, &claims, &leaves,
    )?)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

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
