//! `vox-verify`: check a vox election or petition record, download one from a server,
//! or monitor a live board (protocol-spec/10-verifier.md).
//!
//! Exit status: 0 every step passed; 1 a step failed (or the monitor caught the board
//! misbehaving); 2 usage, I/O or download error; 3 nothing failed but some step is
//! NOT-CHECKED (incomplete record) and `--allow-partial` was not given.

mod http;
mod monitor;
mod progress;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use vox_protocol::board::{BoardPublicKey, Receipt};
use vox_protocol::roles::Role;
use vox_protocol::signature_receipt::SignatureReceipt;
use vox_verifier::dir::DirSource;
use vox_verifier::report::{EXIT_ERROR, EXIT_FAIL};
use vox_verifier::trust::parse_role_key;
use vox_verifier::{
    verify_record, NamedReceipt, NamedSignatureReceipt, Options, TrustAnchors, VerifyError, STEPS,
};

/// Independent verifier of vox records.
///
/// Re-checks, from the public board alone, every signed tree head, the genesis and every
/// role-signed authority act, petition count and threshold, key-ceremony message, ballot
/// (eligibility and proofs, batch-verified on all cores), the encrypted tally, every
/// decryption share and the published result.
/// Each check is a numbered step V1…V15 (`vox-verify steps`); the report gives PASS,
/// FAIL (with the leaf, ballot tracking code, trustee or petition at fault) or
/// NOT-CHECKED for each.
///
/// Exit status: 0 every step passed (V14 receipts may be NOT-CHECKED when no --receipt is
/// given); 1 some step failed; 2 usage, I/O or download error; 3 nothing failed but a
/// step is NOT-CHECKED, e.g. a referendum without a result yet (0 with --allow-partial).
///
/// A record vouches only for itself: its header names the board key, its genesis the
/// role keys. To catch a whole log forged under other keys, pin the keys you got from
/// the town itself (--board-key, --role-key, --trust).
#[derive(Parser, Debug)]
#[command(name = "vox-verify", version, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    verify: VerifyArgs,
}

#[derive(Args, Debug)]
struct VerifyArgs {
    /// Record directory: record.json, entries.jsonl, tree-heads.jsonl.
    #[arg(value_name = "RECORD_DIR", required_unless_present = "server")]
    record: Option<PathBuf>,
    /// Download the record from this vox server first (http://host:port), then verify it.
    #[arg(long, value_name = "URL", conflicts_with = "record")]
    server: Option<String>,
    /// With --server: where to write the downloaded record (default: a new directory
    /// in the system temp dir; its path is printed).
    #[arg(long, value_name = "DIR", requires = "server")]
    out: Option<PathBuf>,
    /// A voter receipt (JSON, as returned when the ballot was cast) to check against the
    /// record: signature, inclusion, and that its ballot is counted or superseded; or a
    /// petition signature's receipt (saved by `vox voter sign`): inclusion, the entry,
    /// and whether the signature still counts, was withdrawn or invalidated.
    /// Repeat for several.
    #[arg(long = "receipt", value_name = "FILE")]
    receipts: Vec<PathBuf>,
    /// Verify the ballots, tally and result of this referendum only (others get the log,
    /// ceremony and lifecycle checks). Default: the header's referendum, else all.
    #[arg(long, value_name = "ID")]
    referendum: Option<String>,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    json: bool,
    /// Exit 0 when nothing failed even if some step is NOT-CHECKED (incomplete record).
    #[arg(long)]
    allow_partial: bool,
    /// Keys pinned by the observer.
    #[command(flatten)]
    pins: PinArgs,
    /// No progress bars.
    #[arg(long, short)]
    quiet: bool,
}

/// Keys an observer obtained independently of the record (or of the server), shared by
/// verification and `monitor`.
#[derive(Args, Debug, Default)]
pub struct PinArgs {
    /// Pin the board (operator) key, 64 hex characters, obtained independently of the
    /// record: V1 fails if the record's board key differs.
    #[arg(long, value_name = "HEX", value_parser = parse_board_key)]
    pub board_key: Option<BoardPublicKey>,
    /// Pin a role key: ROLE=HEX, ROLE one of registrar, petitions-office,
    /// election-authority (V4 fails if the genesis names another key for it) or operator
    /// (the board key, as --board-key). Repeat for several roles.
    #[arg(long = "role-key", value_name = "ROLE=HEX", value_parser = parse_role_key)]
    pub role_keys: Vec<(Role, BoardPublicKey)>,
    /// Pin a witness by its C2SP verifier key (`name+keyid+base64`, type 0x04, as
    /// `vox witness keygen` prints it): it must have cosigned the head covering the
    /// record (V3.3; NOT-CHECKED until it has). Repeat for several witnesses.
    #[arg(long = "witness", value_name = "VKEY", value_parser = parse_witness_vkey)]
    pub witnesses: Vec<BoardPublicKey>,
    /// Trust file (JSON, every field optional, unknown fields refused):
    /// {"board_public_key": HEX, "roles": {"registrar": HEX, "petitions-office": HEX,
    /// "election-authority": HEX}, "witnesses": [HEX, …]}. Keys pinned as by --board-key
    /// and --role-key; each witness must have cosigned the head covering the record (V3).
    /// A key given both here and by a flag must be the same.
    #[arg(long, value_name = "FILE")]
    pub trust: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Follow a live board: check every new signed tree head's signature, its
    /// consistency with the last head seen (equivocation), the new entries and their
    /// root; optionally cosign each checked head as a witness. Exits 1 on any
    /// inconsistency.
    Monitor(Box<monitor::MonitorArgs>),
    /// Print the table of verification steps (markdown).
    Steps,
    /// Run a conformance corpus (protocol-spec/conformance/): verify every case's record
    /// with its inputs and compare each step's status and the locations named with the
    /// case's expected.json. Exits 1 if any case differs.
    Conformance(ConformanceArgs),
}

#[derive(Args, Debug)]
struct ConformanceArgs {
    /// The corpus directory (holding index.json and cases/).
    #[arg(value_name = "CORPUS_DIR", default_value = "protocol-spec/conformance")]
    corpus: PathBuf,
    /// Run only the cases whose name contains this text.
    #[arg(long, value_name = "TEXT")]
    only: Option<String>,
    /// Print one JSON object per case on stdout (case, ok, mismatches).
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Some(Command::Monitor(args)) => monitor::run(&args),
        Some(Command::Steps) => {
            print_steps();
            0
        }
        Some(Command::Conformance(args)) => match conformance(&args) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("vox-verify: {e}");
                EXIT_ERROR
            }
        },
        None => match verify(&cli.verify) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("vox-verify: {e}");
                EXIT_ERROR
            }
        },
    };
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

/// Run every case of a corpus; one line per case, a summary, exit 1 on any mismatch.
fn conformance(args: &ConformanceArgs) -> Result<i32, VerifyError> {
    use vox_verifier::conformance::{case_dir, read_index, run_case};
    let index = read_index(&args.corpus)?;
    let cases: Vec<_> = index
        .cases
        .iter()
        .filter(|c| {
            args.only
                .as_ref()
                .is_none_or(|t| c.case.contains(t.as_str()))
        })
        .collect();
    let (mut passed, mut failed) = (0usize, 0usize);
    for entry in &cases {
        let outcome = run_case(&case_dir(&args.corpus, &entry.case))?;
        if args.json {
            println!(
                "{}",
                serde_json::json!({
                    "case": outcome.case,
                    "ok": outcome.ok(),
                    "mismatches": outcome.mismatches,
                })
            );
        } else if outcome.ok() {
            println!("ok    {}", outcome.case);
        } else {
            println!("DIFF  {}", outcome.case);
            for m in &outcome.mismatches {
                println!("        {m}");
            }
        }
        if outcome.ok() {
            passed += 1;
        } else {
            failed += 1;
        }
    }
    eprintln!(
        "conformance: {passed} of {} cases as expected, {failed} differ (corpus format {} \
         version {}, record version {})",
        cases.len(),
        index.format,
        index.version,
        index.record_version
    );
    Ok(if failed == 0 { 0 } else { EXIT_FAIL })
}

fn print_steps() {
    println!("| step | title | spec | checks |");
    println!("| --- | --- | --- | --- |");
    for s in STEPS {
        println!("| {} | {} | {} | {} |", s.id, s.title, s.spec, s.checks);
    }
}

/// A receipt file: a petition signature's (it has a `kind`, 07 §7.10) or a ballot's.
enum AnyReceipt {
    Ballot(NamedReceipt),
    Signature(NamedSignatureReceipt),
}

fn read_receipt(path: &PathBuf) -> Result<AnyReceipt, VerifyError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| VerifyError::io(path.display().to_string(), e))?;
    let malformed = |e: serde_json::Error| VerifyError::Malformed {
        what: "receipt",
        reason: format!("{}: {e}", path.display()),
    };
    let value: serde_json::Value = serde_json::from_str(&text).map_err(malformed)?;
    let name = path.display().to_string();
    if value.get("kind").is_some() {
        let receipt: SignatureReceipt = serde_json::from_value(value).map_err(malformed)?;
        return Ok(AnyReceipt::Signature(NamedSignatureReceipt {
            name,
            receipt,
        }));
    }
    let receipt: Receipt = serde_json::from_value(value).map_err(malformed)?;
    Ok(AnyReceipt::Ballot(NamedReceipt { name, receipt }))
}

/// A witness's C2SP verifier key, of the cosignature/v1 type (12 §12.2, §12.4).
fn parse_witness_vkey(s: &str) -> Result<BoardPublicKey, String> {
    let v = vox_protocol::tlog::VerifierKey::parse(s.trim()).map_err(|e| e.to_string())?;
    if v.key_type() != vox_protocol::tlog::KeyType::CosignatureV1 {
        return Err("not a witness (cosignature/v1, type 0x04) verifier key".into());
    }
    Ok(BoardPublicKey(*v.verifying_key()))
}

fn parse_board_key(s: &str) -> Result<BoardPublicKey, String> {
    BoardPublicKey::from_hex(s.trim()).map_err(|e| e.to_string())
}

/// The pinned keys: the trust file, then --board-key and --role-key.
pub fn trust_anchors(args: &PinArgs) -> Result<TrustAnchors, VerifyError> {
    let bad = |reason: String| VerifyError::Malformed {
        what: "trust file",
        reason,
    };
    let mut trust = match &args.trust {
        None => TrustAnchors::default(),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| VerifyError::io(path.display().to_string(), e))?;
            TrustAnchors::from_json(&text).map_err(|e| bad(format!("{}: {e}", path.display())))?
        }
    };
    let flags = |reason: String| VerifyError::Malformed {
        what: "pinned keys",
        reason,
    };
    if let Some(k) = args.board_key {
        trust.pin(Role::Operator, k).map_err(flags)?;
    }
    for (role, k) in &args.role_keys {
        trust.pin(*role, *k).map_err(flags)?;
    }
    for w in &args.witnesses {
        if !trust.witnesses.contains(w) {
            trust.witnesses.push(*w);
        }
    }
    Ok(trust)
}

fn verify(args: &VerifyArgs) -> Result<i32, VerifyError> {
    let trust = trust_anchors(&args.pins)?;
    let mut receipts = Vec::new();
    let mut signature_receipts = Vec::new();
    for path in &args.receipts {
        match read_receipt(path)? {
            AnyReceipt::Ballot(r) => receipts.push(r),
            AnyReceipt::Signature(r) => signature_receipts.push(r),
        }
    }
    let dir = match (&args.record, &args.server) {
        (Some(dir), _) => dir.clone(),
        (None, Some(url)) => {
            let out = args.out.clone().unwrap_or_else(http::temp_record_dir);
            let dir = http::download(url, args.referendum.as_deref(), &out, !args.quiet)?;
            eprintln!("record written to {}", dir.display());
            dir
        }
        (None, None) => {
            return Err(VerifyError::Source(
                "give RECORD_DIR or --server URL".into(),
            ))
        }
    };
    let options = Options {
        referendums: args.referendum.clone().map(|r| vec![r]),
        receipts,
        signature_receipts,
        trust,
        ..Options::default()
    };
    let source = DirSource::new(&dir);
    let mut bars = progress::Bars::new(args.quiet || args.json);
    let report = verify_record(&source, options, &mut bars)?;
    if args.json {
        let v = report.to_json(args.allow_partial);
        println!(
            "{}",
            serde_json::to_string_pretty(&v).unwrap_or_else(|_| v.to_string())
        );
    } else {
        print!("{}", report.to_human());
    }
    let code = report.exit_code(args.allow_partial);
    debug_assert!(code != EXIT_FAIL || !report.failed_steps().is_empty());
    Ok(code)
}
