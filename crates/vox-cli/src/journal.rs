//! The device's journal of the ballots it cast (protocol-spec/04-ballots.md §4.7, D8).
//!
//! Why: a ballot names the credential's latest ballot as `previous`, so the board can only
//! ever add a ballot that extends the chain the voter's devices built. What the board
//! cannot know is whether a ballot in that chain came from *this* citizen. The device
//! remembers the hashes of the ballots it cast; a latest ballot it does not remember (when
//! voting again, or a receipt reported superseded) is an alarm: someone else holds the
//! credential, or a signed ballot of it, unless the citizen voted from another device.
//!
//! The journal is a text file `ballots` next to the pinned board keys
//! (`$VOX_HOME/ballots`, else `$HOME/.config/vox/ballots`), one line per cast ballot:
//! `REFERENDUM_ID CREDENTIAL_HEX BALLOT_HASH_HEX LEAF`. It holds nothing secret (every
//! field is on the public board) but is written 0600 like the rest of the device's state.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context, Result};
use vox_crypto::Hash32;

/// The journal file.
pub fn journal_path() -> Result<PathBuf> {
    Ok(crate::files::state_dir()?.join("ballots"))
}

/// One cast ballot, as the journal remembers it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CastBallot {
    /// The referendum.
    pub referendum_id: String,
    /// The credential that signed it.
    pub credential: [u8; 32],
    /// The ballot hash.
    pub ballot_hash: Hash32,
    /// Its board leaf.
    pub leaf_index: u64,
}

/// Read the journal at `path` (missing file: empty). Malformed lines are an error: the
/// journal is the device's own memory and must not be silently half-read.
pub fn read(path: &Path) -> Result<Vec<CastBallot>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = || anyhow!("{} line {}: not a journal line", path.display(), n + 1);
        let f: Vec<&str> = line.split_whitespace().collect();
        let [rid, cred, hash, leaf] = f.as_slice() else {
            return Err(bad());
        };
        let credential = hex::decode(cred)
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .ok_or_else(bad)?;
        out.push(CastBallot {
            referendum_id: (*rid).to_owned(),
            credential,
            ballot_hash: Hash32::from_hex(hash).map_err(|_| bad())?,
            leaf_index: leaf.parse().map_err(|_| bad())?,
        });
    }
    Ok(out)
}

/// Append a cast ballot to the journal at `path` (creating it 0600, its directory 0700).
pub fn record(path: &Path, b: &CastBallot) -> Result<()> {
    crate::files::append_private_line(
        path,
        &format!(
            "{} {} {} {}",
            b.referendum_id,
            hex::encode(b.credential),
            b.ballot_hash.to_hex(),
            b.leaf_index
        ),
    )
}

/// Did this device cast `hash` in referendum `id` as `voter` (the credential's bytes, or
/// an anonymous ballot's linking tag)?
pub fn cast_here(journal: &[CastBallot], id: &str, voter: &[u8; 32], hash: &Hash32) -> bool {
    journal
        .iter()
        .any(|b| b.referendum_id == id && b.credential == *voter && b.ballot_hash == *hash)
}

/// Did this device cast `hash` in referendum `id` (with any credential)?
pub fn cast_hash_here(journal: &[CastBallot], id: &str, hash: &Hash32) -> bool {
    journal
        .iter()
        .any(|b| b.referendum_id == id && b.ballot_hash == *hash)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn journal_round_trips_and_refuses_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("ballots");
        assert!(read(&path).unwrap().is_empty());
        let b = CastBallot {
            referendum_id: "r1".into(),
            credential: [7; 32],
            ballot_hash: Hash32([9; 32]),
            leaf_index: 42,
        };
        record(&path, &b).unwrap();
        record(
            &path,
            &CastBallot {
                leaf_index: 43,
                ballot_hash: Hash32([8; 32]),
                ..b.clone()
            },
        )
        .unwrap();
        let j = read(&path).unwrap();
        assert_eq!(j.len(), 2);
        assert_eq!(j[0], b);
        assert!(cast_hash_here(&j, "r1", &Hash32([8; 32])));
        assert!(!cast_hash_here(&j, "r2", &Hash32([8; 32])));
        assert!(!cast_hash_here(&j, "r1", &Hash32([1; 32])));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&path, "r1 zz 00 1\n").unwrap();
        assert!(read(&path).is_err());
    }
}
