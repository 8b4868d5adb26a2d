//! The clerk's guides in `docs/` are executable: this test runs them, so they cannot rot.
//!
//! For each guide, the fenced blocks marked ```` ```sh ```` are extracted in order and run
//! in ONE `bash` process (`set -euo pipefail`, stderr merged into stdout), in a fresh
//! temporary directory (also `HOME`), with the `vox` and `vox-verify` binaries of this
//! build first on `PATH` and `VOX_PORT` set to a free port on 127.0.0.1 (the guides start
//! `vox serve` there, in the background). Other fences (```` ```sh-norun ````,
//! ```` ```text ````, ```` ```json ````, …) are shown to the reader but not run. A comment
//! `<!-- expect: TEXT -->` after a block requires TEXT in that block's output.
//!
//! The bash process gets its own process group, killed at the end (also on failure or
//! timeout), which stops the server the guide started. A failing command fails the test
//! with the guide's name, the block's number and line, its commands and its output (and
//! the end of the guide's `server.log`, if any).
//!
//! `vox-verify` is another package's binary: taken from `VOX_VERIFY_BIN`, or from beside
//! `vox` when it is at least as new (as after `cargo test --workspace`), or else built
//! with `cargo build -p vox-verifier --bin vox-verify` into the same target directory.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::fmt::Write as _;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// A guide that takes longer than this is killed and fails.
const GUIDE_TIMEOUT: Duration = Duration::from_secs(240);

/// One runnable block of a guide.
#[derive(Debug)]
struct Block {
    /// 1-based number among the guide's runnable blocks.
    number: usize,
    /// 1-based line of the opening fence in the markdown.
    line: usize,
    code: String,
    /// `<!-- expect: … -->` lines after it: each must be in its output.
    expects: Vec<String>,
}

/// The runnable blocks of a guide: fences whose info string is exactly `sh`.
fn parse(md: &str) -> Vec<Block> {
    let mut blocks: Vec<Block> = Vec::new();
    let mut fence: Option<(bool, usize, String)> = None; // (runnable, line, code)
    for (i, line) in md.lines().enumerate() {
        let t = line.trim();
        match fence.as_mut() {
            None => {
                if let Some(info) = t.strip_prefix("```") {
                    fence = Some((info.trim() == "sh", i + 1, String::new()));
                } else if let Some(rest) = t.strip_prefix("<!-- expect:") {
                    let text = rest
                        .strip_suffix("-->")
                        .expect("<!-- expect: … --> on one line");
                    blocks
                        .last_mut()
                        .expect("an expect comment after a ```sh block")
                        .expects
                        .push(text.trim().to_owned());
                }
            }
            Some((runnable, start, code)) => {
                if t == "```" {
                    if *runnable {
                        blocks.push(Block {
                            number: blocks.len() + 1,
                            line: *start,
                            code: std::mem::take(code),
                            expects: Vec::new(),
                        });
                    }
                    fence = None;
                } else {
                    code.push_str(line);
                    code.push('\n');
                }
            }
        }
    }
    assert!(fence.is_none(), "unterminated code fence");
    blocks
}

const MARK: &str = "@@vox-guide-block ";

/// The bash script: the blocks in order, each announced by a marker line.
fn script(blocks: &[Block]) -> String {
    let mut s = String::from(
        "set -euo pipefail\nexec 2>&1\n\
         trap 'echo \"@@vox-guide: exit status $? of: $BASH_COMMAND\"' ERR\n",
    );
    for b in blocks {
        writeln!(s, "printf '\\n{MARK}{}@@\\n'", b.number).unwrap();
        s.push_str(&b.code);
    }
    writeln!(s, "printf '\\n{MARK}end@@\\n'").unwrap();
    s
}

/// The output of each block (index 0 = block 1), from the markers; and the last block
/// started.
fn split_output(out: &str) -> (Vec<String>, Option<usize>) {
    let mut parts: Vec<String> = Vec::new();
    let mut current: Option<usize> = None;
    for line in out.split_inclusive('\n') {
        if let Some(rest) = line.trim_end().strip_prefix(MARK) {
            let tag = rest.trim_end_matches('@');
            current = tag.parse::<usize>().ok();
            if current.is_some() {
                parts.push(String::new());
            }
            continue;
        }
        if current.is_some() {
            if let Some(p) = parts.last_mut() {
                p.push_str(line);
            }
        }
    }
    (parts, current)
}

fn unique_dir(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let dir = std::env::temp_dir().join(format!("vox-guide-{name}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The directory holding `vox` and `vox-verify`.
fn bin_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let vox = PathBuf::from(env!("CARGO_BIN_EXE_vox"));
        let dir = vox.parent().unwrap().to_path_buf();
        if let Ok(v) = std::env::var("VOX_VERIFY_BIN") {
            // A given vox-verify: both binaries linked into one directory for PATH.
            let shim = unique_dir("bin");
            std::os::unix::fs::symlink(&vox, shim.join("vox")).unwrap();
            std::os::unix::fs::symlink(v, shim.join("vox-verify")).unwrap();
            return shim;
        }
        // `cargo test --workspace` has just built vox-verify beside vox (vox-verifier's
        // own tests need it): use it when it is at least as new as vox, which is relinked
        // whenever the verifier library changes (vox links it). Building it again here
        // could resolve other features for one package and rebuild shared crates.
        let sibling = dir.join("vox-verify");
        let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
        if let (Some(v), Some(x)) = (modified(&sibling), modified(&vox)) {
            if v >= x {
                return dir;
            }
        }
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.args(["build", "-q", "-p", "vox-verifier", "--bin", "vox-verify"]);
        if dir.file_name().is_some_and(|n| n == "release") {
            cmd.arg("--release");
        }
        // The same target directory as this build's `vox`.
        if let Some(target) = dir.parent() {
            cmd.env("CARGO_TARGET_DIR", target);
        }
        let out = cmd
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("running cargo to build vox-verify");
        assert!(
            out.status.success(),
            "cargo build -p vox-verifier --bin vox-verify failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(dir.join("vox-verify").is_file(), "no vox-verify in {dir:?}");
        dir
    })
}

/// Kills the guide's process group (the shell and everything it started) when dropped.
struct Group(u32);

impl Drop for Group {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.0)])
            .stderr(Stdio::null())
            .status();
    }
}

/// What a run of a guide printed, block by block.
struct Run {
    blocks: Vec<String>,
}

impl Run {
    /// The output of block `n` (1-based).
    fn block(&self, n: usize) -> &str {
        &self.blocks[n - 1]
    }

    fn all(&self) -> String {
        self.blocks.concat()
    }
}

/// Run `docs/NAME.md`; panics with the guide, block and output on any failure.
fn run_guide(name: &str) -> Run {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../docs")
        .join(format!("{name}.md"));
    let md = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let blocks = parse(&md);
    assert!(!blocks.is_empty(), "{name}: no ```sh blocks");
    let bins = bin_dir();
    let work = unique_dir(name);
    std::fs::write(work.join(".guide.sh"), script(&blocks)).unwrap();
    let log_path = work.join(".guide-output.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let path_var = format!(
        "{}:{}",
        bins.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let started = Instant::now();
    // Output to a file, not a pipe: the background server must not hold our pipe open.
    let mut child = Command::new("bash")
        .arg(work.join(".guide.sh"))
        .current_dir(&work)
        .env("PATH", path_var)
        .env("HOME", &work)
        .env("VOX_PORT", free_port().to_string())
        .env("NO_COLOR", "1")
        .env_remove("VOX_SERVER")
        .env_remove("VOX_ROLE_KEY")
        .env_remove("VOX_WEB_DIR")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .process_group(0)
        .spawn()
        .expect("bash");
    let group = Group(child.id());
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if started.elapsed() > GUIDE_TIMEOUT {
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    drop(group); // stops the server (and anything else the guide left running)
    let _ = child.wait();
    let out = std::fs::read_to_string(&log_path).unwrap_or_default();
    let (outputs, last) = split_output(&out);
    let fail = |why: String, n: Option<usize>| -> ! {
        let mut msg = format!("guide docs/{name}.md: {why}\n");
        if let Some(b) = n.and_then(|n| blocks.get(n.wrapping_sub(1))) {
            let _ = write!(
                msg,
                "block {} (line {}):\n{}\n--- its output ---\n{}\n",
                b.number,
                b.line,
                b.code.trim_end(),
                outputs.get(b.number - 1).map_or("", String::as_str)
            );
        } else {
            let _ = write!(msg, "--- output ---\n{out}\n");
        }
        if let Ok(log) = std::fs::read_to_string(work.join("server.log")) {
            let tail: Vec<&str> = log.lines().rev().take(15).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            let _ = write!(msg, "--- end of server.log ---\n{}\n", tail.join("\n"));
        }
        let _ = write!(msg, "(work dir kept: {})", work.display());
        panic!("{msg}");
    };
    match status {
        None => fail(format!("timed out after {GUIDE_TIMEOUT:?}"), last),
        Some(s) if !s.success() => fail(format!("failed ({s})"), last),
        Some(_) => {}
    }
    assert_eq!(outputs.len(), blocks.len(), "{name}: block markers\n{out}");
    for b in &blocks {
        for e in &b.expects {
            if !outputs[b.number - 1].contains(e.as_str()) {
                fail(format!("expected {e:?} in the output"), Some(b.number));
            }
        }
    }
    eprintln!(
        "docs/{name}.md: {} blocks passed in {:.1} s",
        blocks.len(),
        started.elapsed().as_secs_f64()
    );
    let _ = std::fs::remove_dir_all(&work);
    Run { blocks: outputs }
}

#[test]
fn parser_and_markers() {
    let md = "# t\n\n```sh\necho one\n```\n<!-- expect: one -->\n\n```sh-norun\nexit 1\n```\n\n```text\nexit 1\n```\n\n```sh\necho two\necho three\n```\n";
    let b = parse(md);
    assert_eq!(b.len(), 2);
    assert_eq!(b[0].code, "echo one\n");
    assert_eq!(b[0].expects, vec!["one".to_owned()]);
    assert_eq!((b[1].number, b[1].line), (2, 16));
    let s = script(&b);
    assert!(s.starts_with("set -euo pipefail\n"), "{s}");
    let (parts, last) = split_output(&format!(
        "\n{MARK}1@@\none\n\n{MARK}2@@\ntwo\nthree\n\n{MARK}end@@\n"
    ));
    assert_eq!(
        parts,
        vec!["one\n\n".to_owned(), "two\nthree\n\n".to_owned()]
    );
    assert_eq!(last, None);
}

/// The count printed for `option` in a published result (`    yes     3  ( 75.0%)`), in
/// the given block's output.
fn count(out: &str, option: &str) -> u64 {
    out.lines()
        .filter_map(|l| l.trim().strip_prefix(option))
        .filter(|rest| rest.starts_with("  "))
        .filter_map(|rest| rest.split_whitespace().next()?.parse().ok())
        .next()
        .unwrap_or_else(|| panic!("no count for {option:?} in:\n{out}"))
}

fn check_run_a_referendum(r: &Run) {
    // Step 16: the published result (Dave's last ballot counts; Carol left design blank).
    let result = r.block(16);
    assert!(result.contains("counted ballots: 4"), "{result}");
    assert_eq!(count(result, "yes"), 3, "{result}");
    assert_eq!(count(result, "no"), 1, "{result}");
    for option in ["Painted lane", "Kerb-separated lane", "Shared street"] {
        assert_eq!(count(result, option), 1, "{result}");
    }
    // The same result as open data: one CSV row per option, with the turnout (4 of 5).
    let csv = r.block(17);
    assert!(
        csv.lines()
            .any(|l| l.starts_with("town-2026,lane,") && l.ends_with(",yes-no,0,yes,3,4,5,0.8000")),
        "{csv}"
    );
    // Step 17: the independent verifier, keys pinned, every step passed.
    let verify = r.block(18);
    assert!(verify.contains("verdict: PASS"), "{verify}");
    assert!(!verify.contains("FAIL"), "{verify}");
    assert!(verify.contains("result [[3, 1], [1, 1, 1]]"), "{verify}");
    assert!(
        verify.contains("is superseded by the credential's later ballot"),
        "{verify}"
    );
}

fn check_run_a_petition(r: &Run) {
    let all = r.all();
    // Thresholds reached in order, the response recorded, the referendum linked.
    assert!(
        all.contains(r#""thresholds_reached":["sponsor","response","referendum"]"#),
        "{all}"
    );
    assert!(
        all.contains(r#""response":"The council will fund"#),
        "{all}"
    );
    assert!(all.contains(r#""stage":"closed","count":4"#), "{all}");
    assert!(
        all.contains("pink-town-hall") && all.contains("rejected"),
        "{all}"
    );
    assert!(
        all.contains("verdict: PARTIAL") && !all.contains("FAIL"),
        "{all}"
    );
    assert!(
        all.contains("referendum r-cycle-lane: ") && all.contains("state ready"),
        "{all}"
    );
}

fn check_be_a_trustee(r: &Run) {
    let all = r.all();
    assert!(all.contains("decrypted by trustees 1, 3"), "{all}");
    assert_eq!(count(&all, "yes"), 2, "{all}");
    assert_eq!(count(&all, "no"), 1, "{all}");
    assert!(all.contains("verdict: PASS"), "{all}");
}

fn check_verify_as_observer(r: &Run) {
    let all = r.all();
    assert!(all.contains("result [[1, 1]]"), "{all}");
    // The honest record passes with receipts; the tampered copy fails.
    assert_eq!(all.matches("verdict: PASS").count(), 1, "{all}");
    assert!(all.contains("verdict: FAIL"), "{all}");
    assert!(all.contains("V14  PASS"), "{all}");
}

fn check_operate_a_server(r: &Run) {
    let all = r.all();
    // The server restored from the backup serves the same board.
    let size = |file: &str| -> u64 {
        let tag = format!("{file}:\"tree_size\":");
        let at = all
            .find(&tag)
            .unwrap_or_else(|| panic!("no {tag} in {all}"));
        all[at + tag.len()..]
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    assert_eq!(size("head-before.json"), size("head-after.json"), "{all}");
    assert!(size("head-before.json") >= 4, "{all}");
    assert!(all.contains("registrar key rotated"), "{all}");
    assert!(all.contains("verdict: PASS"), "{all}");
}

fn check_run_a_witness(r: &Run) {
    let all = r.all();
    // Two cosignatures, then the served checkpoint of size 10 with the witness's line.
    assert!(
        all.matches("\u{2014} witness.example.org/w1 ").count() >= 3,
        "{all}"
    );
    assert!(all.contains("vox.example/board\n10\n"), "{all}");
    // The replay and the rollback are refused with the witness's size, also after a
    // restart; no evidence from an honest log.
    assert!(r.block(6).contains("409\n10\n409\n10\n"), "{}", r.block(6));
    assert!(r.block(7).contains("10\n\n409"), "{}", r.block(7));
    assert!(r.block(8).contains("[]"), "{}", r.block(8));
}

/// The checks of a guide's outcome, on its output.
type Check = fn(&Run);

/// Every guide with the checks of its outcome.
const GUIDES: [(&str, Check); 6] = [
    ("run-a-referendum", check_run_a_referendum),
    ("run-a-petition", check_run_a_petition),
    ("be-a-trustee", check_be_a_trustee),
    ("verify-as-observer", check_verify_as_observer),
    ("operate-a-server", check_operate_a_server),
    ("run-a-witness", check_run_a_witness),
];

/// All guides at once, each in its own thread (most of their time is spent waiting for a
/// voting period or a petition to end); `VOX_GUIDE=NAME` runs one. A failure panics the
/// guide's thread (named after the guide) with the details, and the test lists them.
#[test]
fn guides() {
    let only = std::env::var("VOX_GUIDE").ok();
    bin_dir(); // build vox-verify once, before the threads
    let started = Instant::now();
    let failed: Vec<&str> = std::thread::scope(|s| {
        let handles: Vec<_> = GUIDES
            .iter()
            .filter(|(name, _)| match only.as_deref() {
                Some(o) => o == *name,
                None => true,
            })
            .map(|&(name, check)| {
                let h = std::thread::Builder::new()
                    .name(format!("docs/{name}.md"))
                    .spawn_scoped(s, move || check(&run_guide(name)))
                    .unwrap();
                (name, h)
            })
            .collect();
        assert!(!handles.is_empty(), "no guide named {only:?}");
        handles
            .into_iter()
            .filter_map(|(name, h)| h.join().is_err().then_some(name))
            .collect()
    });
    assert!(
        failed.is_empty(),
        "guides failed (details above): {failed:?}"
    );
    eprintln!(
        "all guides passed in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
