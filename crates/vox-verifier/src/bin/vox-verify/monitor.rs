//! `vox-verify monitor`: follow a live board and catch equivocation
//! (protocol-spec/08-board.md §8.6).
//!
//! Each poll fetches the latest signed tree head and checks, against the last head this
//! monitor accepted (kept in a state file): the board's signature; that the log did not
//! shrink; that a head of the same size has the same root; the server's consistency
//! proof; and, from the new entries alone (the state keeps the compact stack), that the
//! new root is right. Unless `--log-only`, the monitor also replays the whole board
//! through the verifier once per run and checks every new entry as it arrives (ballot
//! proofs, petition signatures and thresholds, ceremony messages, lifecycles). With a witness key it
//! cosigns each head that passed and posts the cosignature to the board.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use ed25519_dalek::SigningKey;
use vox_protocol::board::{BoardPublicKey, SignedTreeHead};
use vox_protocol::merkle::NodeHash;
use vox_verifier::compact::CompactTree;
use vox_verifier::monitor::MonitorState;
use vox_verifier::report::{EXIT_ERROR, EXIT_FAIL, EXIT_PASS};
use vox_verifier::{Verifier, VerifyError};

use crate::http::{Server, PAGE};

#[derive(Args, Debug)]
pub struct MonitorArgs {
    /// The vox server to follow (http://host:port).
    #[arg(long, value_name = "URL")]
    server: String,
    /// Witness secret key file: 32 bytes as 64 hex characters (Ed25519 seed). Every
    /// head that passes is cosigned and the cosignature posted to the board.
    #[arg(long, value_name = "FILE")]
    witness_key: Option<PathBuf>,
    /// The witness's C2SP key name, under which it cosigns (`cosignature/v1`, protocol-spec
    /// 12 §12.4): with the key, it makes the witness's verifier key that observers pin.
    #[arg(long, value_name = "NAME", default_value = "vox-monitor")]
    witness_name: String,
    /// Seconds between polls.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    interval: u64,
    /// Poll once and exit (for cron-style use; the state file carries over).
    #[arg(long)]
    once: bool,
    /// Check the log only: signatures, consistency and the roots of new entries, fetching
    /// only entries the state file has not covered. Without it every entry is also
    /// verified in context (ballots, petition rules, ceremony...), which means replaying
    /// the whole board once per run.
    #[arg(long)]
    log_only: bool,
    /// State file: the last head accepted and its compact tree.
    #[arg(long, value_name = "FILE", default_value = "vox-monitor-state.json")]
    state: PathBuf,
    /// Keys pinned by the observer: a board key that differs from the server's is an
    /// alert (exit 1) before anything else is fetched; pinned role keys are checked
    /// against the genesis (V4) when entries are verified in context.
    #[command(flatten)]
    pins: crate::PinArgs,
}

/// Why the monitor stopped.
enum Stop {
    /// The board misbehaved (exit 1).
    Board(String),
    /// The monitor could not do its job (exit 2).
    Error(VerifyError),
}

impl From<VerifyError> for Stop {
    fn from(e: VerifyError) -> Self {
        match e {
            VerifyError::Io { .. } | VerifyError::Source(_) | VerifyError::Synth(_) => {
                Stop::Error(e)
            }
            other => Stop::Board(other.to_string()),
        }
    }
}

pub fn run(args: &MonitorArgs) -> i32 {
    match follow(args) {
        Ok(()) => EXIT_PASS,
        Err(Stop::Board(msg)) => {
            eprintln!("ALERT: {msg}");
            EXIT_FAIL
        }
        Err(Stop::Error(e)) => {
            eprintln!("vox-verify monitor: {e}");
            EXIT_ERROR
        }
    }
}

fn load_witness(path: &Path) -> Result<SigningKey, VerifyError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| VerifyError::io(path.display().to_string(), e))?;
    let bytes = hex::decode(text.trim()).map_err(|e| VerifyError::Malformed {
        what: "witness key",
        reason: e.to_string(),
    })?;
    let seed: [u8; 32] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| VerifyError::Malformed {
            what: "witness key",
            reason: format!("expected 32 bytes, got {}", bytes.len()),
        })?;
    Ok(SigningKey::from_bytes(&seed))
}

fn load_state(path: &Path) -> Result<Option<MonitorState>, VerifyError> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| VerifyError::Malformed {
                what: "monitor state",
                reason: format!("{}: {e}", path.display()),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(VerifyError::io(path.display().to_string(), e)),
    }
}

fn save_state(path: &Path, state: &MonitorState) -> Result<(), VerifyError> {
    let tmp = path.with_extension("tmp");
    let text = serde_json::to_string_pretty(state).map_err(|e| VerifyError::Malformed {
        what: "monitor state",
        reason: e.to_string(),
    })?;
    std::fs::write(&tmp, text).map_err(|e| VerifyError::io(tmp.display().to_string(), e))?;
    std::fs::rename(&tmp, path).map_err(|e| VerifyError::io(path.display().to_string(), e))
}

/// Fetch entries `start..end` page by page; return their leaf hashes and feed them to
/// the verifier (if any) after announcing `sth`.
fn fetch(
    server: &Server,
    start: u64,
    end: u64,
    verifier: Option<&mut Verifier>,
) -> Result<Vec<NodeHash>, Stop> {
    let mut leaves = Vec::new();
    let mut verifier = verifier;
    let mut next = start;
    while next < end {
        let stop = end.min(next + PAGE * 4);
        let entries = server.entries(next, stop)?;
        leaves.extend(entries.iter().map(|e| e.leaf_hash()));
        if let Some(v) = verifier.as_deref_mut() {
            v.push_entries(entries);
            let failures = v.take_new_failures();
            if let Some((step, first)) = failures.first() {
                for (s, f) in &failures {
                    eprintln!("ALERT {s}: {f}");
                }
                return Err(Stop::Board(format!(
                    "{} fault(s) on the board, first {step}: {first}",
                    failures.len()
                )));
            }
        }
        next = stop;
    }
    Ok(leaves)
}

fn short(h: &NodeHash) -> String {
    h.to_hex().chars().take(16).collect()
}

fn follow(args: &MonitorArgs) -> Result<(), Stop> {
    let trust = crate::trust_anchors(&args.pins).map_err(Stop::Error)?;
    let server = Server::new(&args.server);
    let board: BoardPublicKey = server.board()?.board_public_key;
    if let Some(pinned) = trust.board_public_key {
        if pinned != board {
            return Err(Stop::Board(format!(
                "board key mismatch: pinned {}, the server's is {}",
                pinned.to_hex(),
                board.to_hex()
            )));
        }
    }
    let witness = args.witness_key.as_deref().map(load_witness).transpose()?;
    let mut state = load_state(&args.state)?;
    if let Some(st) = &state {
        if st.board_public_key != board {
            return Err(Stop::Error(VerifyError::Malformed {
                what: "monitor state",
                reason: format!(
                    "{} follows board {}, the server's key is {}",
                    args.state.display(),
                    st.board_public_key.to_hex(),
                    board.to_hex()
                ),
            }));
        }
    }
    let mut verifier = (!args.log_only).then(|| Verifier::for_monitor(board, trust.clone()));
    // Replay what the state already covers, so every later entry is
    // checked in context; the replay must give the remembered root.
    if let (Some(v), Some(st)) = (verifier.as_mut(), &state) {
        fetch(&server, 0, st.head.tree_size, Some(v))?;
        if v.root() != st.head.root_hash {
            return Err(Stop::Board(
                VerifyError::Equivocation {
                    tree_size: st.head.tree_size,
                    first: st.head.root_hash,
                    second: v.root(),
                    // The entries served now hash to another root: there is one signed
                    // note (the remembered one) and the entries themselves.
                    evidence: st
                        .signed
                        .as_ref()
                        .and_then(|h| h.to_note(&st.board_public_key).ok())
                        .map(|n| format!("; the remembered signed checkpoint:\n{n}"))
                        .unwrap_or_default(),
                }
                .to_string(),
            ));
        }
    }
    let mut last_printed: Option<SignedTreeHead> = None;
    loop {
        let sth = server.latest_head()?;
        let is_new = last_printed.as_ref().is_none_or(|l| l.head != sth.head);
        let before = state.as_ref().map(|s| s.head.tree_size);
        if let Some(v) = verifier.as_mut() {
            v.queue_tree_head(&sth);
        }
        match state.as_mut() {
            None => {
                let leaves = fetch(&server, 0, sth.head.tree_size, verifier.as_mut())?;
                let mut tree = CompactTree::new();
                for l in leaves {
                    tree.push(l);
                }
                state = Some(MonitorState::bootstrap(board, &sth, tree)?);
            }
            Some(st) => {
                let old = st.head.tree_size;
                let new = sth.head.tree_size;
                let proof = if new > old {
                    server.consistency(old, new)?
                } else {
                    Vec::new()
                };
                st.check_head(&sth, &proof)?;
                let leaves = if new > old {
                    fetch(&server, old, new, verifier.as_mut())?
                } else {
                    Vec::new()
                };
                st.advance(&sth, leaves)?;
            }
        }
        if let Some(v) = verifier.as_mut() {
            let failures = v.take_new_failures();
            if let Some((step, first)) = failures.first() {
                return Err(Stop::Board(format!("{step}: {first}")));
            }
        }
        if is_new {
            let mut line = format!(
                "tree head size {} root {}… time {} ok",
                sth.head.tree_size,
                short(&sth.head.root_hash),
                sth.head.timestamp_ms
            );
            match before {
                Some(b) if b < sth.head.tree_size => line.push_str(&format!(
                    ", consistent with size {b}, {} new entries checked",
                    sth.head.tree_size - b
                )),
                Some(_) => line.push_str(", unchanged"),
                None => line.push_str(&format!(
                    ", first head: all {} entries checked",
                    sth.head.tree_size
                )),
            }
            if let Some(w) = &witness {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(1, |d| d.as_secs().max(1));
                let c = sth.cosign(&args.witness_name, w, now).map_err(|e| {
                    Stop::Error(VerifyError::Malformed {
                        what: "witness name",
                        reason: e.to_string(),
                    })
                })?;
                if let Err(e) = server.post_cosignature(&sth, &c) {
                    // The head checked out, but the board would not take this witness's
                    // cosignature: not silent, and not success (exit 2).
                    println!("{line}, cosignature refused");
                    return Err(Stop::Error(e));
                }
                line.push_str(", cosigned");
            }
            println!("{line}");
            last_printed = Some(sth);
        }
        if let Some(st) = &state {
            save_state(&args.state, st)?;
        }
        if args.once {
            return Ok(());
        }
        std::thread::sleep(Duration::from_secs(args.interval.max(1)));
    }
}
