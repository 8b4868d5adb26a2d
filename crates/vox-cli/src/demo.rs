//! `vox demo`: a whole cycle from nothing, on a throw-away server, verified at the end.
//!
//! The parties are simulated in this process, each with its own key: the board operator
//! (the only key the server gets), the registrar, the petitions office and the election
//! authority. They sign the log's genesis (leaf 0), and each signs its own acts through
//! the client; the server never holds their keys. Three witnesses run as separate
//! `vox witness serve` processes; the genesis asks two of them to cosign, and the server
//! asks them (C2SP tlog-witness) before the referendum closes, is tallied and published.
//!
//! The registrar opens an electorate of N citizens with one-time enrolment codes (one
//! letter each); every citizen's device draws its own credential and enrols it on the
//! board with its code; the registrar freezes the list. One citizen proposes a petition,
//! sponsors sign; the election authority has set the standing trustee panel (three
//! trustees, any two decrypt), so the petitions office can publish the petition with the
//! referendum its threshold obliges (questions and a compressed schedule, in seconds);
//! citizens sign until the referendum threshold, and the board creates that referendum
//! by itself (the response threshold on the way obliges an official response); the
//! three trustees run the key ceremony over HTTP; the board opens voting at the
//! manifest's opens_at; every citizen votes (a few audit a ballot first, a few vote
//! again); the board closes voting at closes_at and tallies; two of the three trustees
//! post decryption shares; the board publishes the result; the record is exported under
//! the current directory and checked by the verifier library, in this process, with
//! every obligation met on time (V15).
//!
//! Ballots and signatures are prepared on all cores (rayon) and submitted by several
//! concurrent HTTP clients, as many citizens' devices would.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use indicatif::ProgressBar;
use rand::rngs::OsRng;
use rand::Rng;
use rayon::prelude::*;
use vox_crypto::credential::Credential;
use vox_crypto::threshold::TrusteeKeys;
use vox_crypto::Hash32;
use vox_protocol::ballot::{
    encrypt_anonymous_ballot, encrypt_ballot, AuditedBallot, Ballot, Choices,
};
use vox_protocol::board::{BoardPublicKey, Payload, Receipt};
use vox_protocol::encoding::Hashable;
use vox_protocol::enrolment::{EnrolmentCode, EnrolmentOpening};
use vox_protocol::manifest::{
    Manifest, Participation, Question, QuestionKind, TrusteeInfo, TrusteePanel,
};
use vox_protocol::petition::{
    Moderation, Petition, PetitionPolicy, PetitionProposal, ReferendumTerms, RingPetitionSignature,
    SignatureAction, SignatureScheme, ThresholdKind,
};
use vox_protocol::roles::{Genesis, Role, RoleKeys, RoleSigners, WitnessPolicy};
use vox_protocol::tally::ReferendumResult;

use crate::authority;
use crate::client::Client;
use crate::clock::{compact_utc, now_ms, DAY_MS};
use crate::files;
use crate::progress;
use crate::trustee::{Step, TrusteeSession};
use crate::voter::{check_receipt, VotingContext};

const REGIONS: [&str; 4] = ["north", "south", "east", "west"];
const DESIGNS: [&str; 3] = ["painted lane", "kerb-separated lane", "shared street"];

/// Arguments of `vox demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Number of citizens.
    #[arg(long, default_value_t = 1000)]
    pub voters: usize,
    /// Keep the working files (database, credentials, trustee keys and state) in DIR
    /// [default: a temporary directory, deleted at the end].
    #[arg(long, value_name = "DIR")]
    pub keep: Option<PathBuf>,
    /// Where to export the election record [default: ./vox-record-demo-<time>].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Concurrent HTTP clients submitting ballots and signatures.
    #[arg(long, default_value_t = 8)]
    pub clients: usize,
    /// Voting opens this long after the petition reaches its referendum threshold (the
    /// referendum terms' opens_after: 10s, 1m…) [default: 5 s + 2 ms per citizen].
    #[arg(long, value_name = "DURATION")]
    pub opens_after: Option<String>,
    /// Voting lasts this long (the terms' voting period) [default: 4 s + 4 ms per
    /// citizen].
    #[arg(long, value_name = "DURATION")]
    pub voting: Option<String>,
    /// The petition's referendum takes anonymous ballots (protocol-spec/04 §4.10: a ring
    /// signature and a linking tag, never the credential). Each ballot is then proved on
    /// a ring of the whole electorate (≈ 70 ms at 1,000 citizens), so the demo takes
    /// about a minute more; `--voters 200` keeps it short.
    #[arg(long)]
    pub anonymous: bool,
}

/// Run the demo. Succeeds only if the verifier passes every step of the record.
pub fn run(a: DemoArgs) -> Result<()> {
    if a.voters < 10 {
        bail!("--voters must be at least 10");
    }
    let started = Instant::now();
    let schedule = Schedule::new(&a)?;
    let work = WorkDir::new(a.keep.as_deref())?;
    let record_dir = match &a.out {
        Some(p) => p.clone(),
        None => {
            let base = std::env::current_dir()?.join(format!("vox-record-demo-{}", timestamp()));
            let mut dir = base.clone();
            let mut n = 1;
            while dir.exists() {
                n += 1;
                let mut name = base.as_os_str().to_owned();
                name.push(format!("-{n}"));
                dir = PathBuf::from(name);
            }
            dir
        }
    };
    println!(
        "vox demo: {} citizens, a petition, a referendum, a verified result\n",
        a.voters
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let mut phases = Phases::default();

    // 1. The parties' keys, three witness processes, the genesis, the server.
    let t = Instant::now();
    let signers = RoleSigners::generate(&mut OsRng);
    let board_vkey = vox_protocol::board::board_note_key(
        &BoardPublicKey(signers.operator.verifying_key()),
        DEMO_LOG_NAME,
    )
    .map_err(|e| anyhow!("the demo log's note key: {e}"))?;
    let witnesses = (1..=DEMO_WITNESSES)
        .map(|i| WitnessProcess::start(work.path(), i, &board_vkey.to_string()))
        .collect::<Result<Vec<_>>>()?;
    let policy = WitnessPolicy {
        keys: witnesses
            .iter()
            .map(|w| BoardPublicKey(*w.vkey.verifying_key()))
            .collect(),
        quorum: DEMO_WITNESS_QUORUM,
    };
    phases.done(
        "witnesses",
        t,
        format!(
            "{DEMO_WITNESSES} independent witness processes (`vox witness serve`) follow the \
             log; the genesis asks {DEMO_WITNESS_QUORUM} of them to cosign before a referendum \
             closes, is tallied or published"
        ),
    );
    let t = Instant::now();
    let genesis = signers
        .genesis(DEMO_LOG_NAME, now_ms(), policy)
        .map_err(|e| anyhow!("the demo genesis: {e}"))?;
    if a.keep.is_some() {
        save_parties(work.path(), &signers, &genesis)?;
    }
    let db = work.path().join("vox.db");
    let mut config = vox_server::ServerConfig::new(
        Some(format!("sqlite://{}", db.display())),
        std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
    );
    config.genesis = Some(genesis.clone());
    config.operator_key = Some(signers.operator.clone());
    config.witness_endpoints = witnesses
        .iter()
        .map(|w| vox_server::witness_client::WitnessEndpoint::new(&w.url, w.vkey.clone()))
        .collect::<Result<_, _>>()
        .map_err(|e| anyhow!("a demo witness: {e}"))?;
    config.witness_interval_ms = 200;
    let server = rt
        .block_on(vox_server::start(config))
        .map_err(|e| anyhow!("the server did not start: {e}"))?;
    let base = format!("http://{}", server.local_addr());
    let roles = signers.public_keys();
    phases.done(
        "server",
        t,
        format!(
            "listening on {base} (SQLite {}); genesis of log `{DEMO_LOG_NAME}` signed by the \
             operator, registrar, petitions office and election authority (the server holds \
             only the operator key)",
            db.display()
        ),
    );
    let party = |role: Role| Client::new(&base).with_key(signers.key(role).clone());
    let mut demo = Demo {
        public: Client::new(&base),
        registrar: party(Role::Registrar),
        office: party(Role::PetitionsOffice),
        authority: party(Role::ElectionAuthority),
        threads: a.clients.max(1),
        work: work.path().to_owned(),
        keep: a.keep.is_some(),
        creds: Vec::new(),
        board_key: None,
        participation: if a.anonymous {
            Participation::Anonymous
        } else {
            Participation::Pseudonymous
        },
    };
    drop(signers);
    let outcome = demo.cycle(a.voters, &schedule, &mut phases, &record_dir);
    if let Err(e) = rt.block_on(server.shutdown()) {
        eprintln!("warning: server shutdown: {e}");
    }
    drop(rt);
    drop(witnesses);
    let report = outcome?;

    let t = Instant::now();
    let receipts: Vec<(String, Receipt)> = report
        .receipts
        .iter()
        .map(|r| (format!("receipt {}", r.tracking_code), r.clone()))
        .collect();
    let n_receipts = receipts.len();
    let verdict = verify_record_pinned(&record_dir, receipts, Some(&roles))?;
    phases.done(
        "verify",
        t,
        format!(
            "record checked by the verifier library, with the citizens' {n_receipts} receipts \
             and the parties' public keys pinned"
        ),
    );
    println!();
    println!("Verification of {}:", record_dir.display());
    print!("{}", verdict.human);
    if let Some(s) = verdict
        .report
        .steps
        .iter()
        .find(|s| s.id == vox_verifier::StepId::Obligations)
    {
        println!("Obligations (V15, {}): {}", s.status, s.detail);
    }
    println!();
    authority::print_result(&report.manifest, &report.result, Some(a.voters));
    println!();
    println!("Timings:");
    for (name, d) in &phases.list {
        println!("  {name:<14} {:>8.2} s", d.as_secs_f64());
    }
    println!(
        "  {:<14} {:>8.2} s",
        "total",
        started.elapsed().as_secs_f64()
    );
    println!();
    println!("Election record: {}", record_dir.display());
    println!("Re-run the independent verifier by hand (pinning the parties' public keys):");
    println!(
        "  cargo run --release -p vox-verifier -- {} \\",
        record_dir.display()
    );
    println!("    --board-key {} \\", roles.operator.to_hex());
    for role in [
        Role::Registrar,
        Role::PetitionsOffice,
        Role::ElectionAuthority,
    ] {
        let end = if role == Role::ElectionAuthority {
            ""
        } else {
            " \\"
        };
        println!("    --role-key {role}={}{end}", roles.get(role).to_hex());
    }
    println!(
        "  (or the built binary: vox-verify {} …, same keys)",
        record_dir.display()
    );
    if a.keep.is_some() {
        println!("Working files kept in {}", work.path().display());
    }
    if !verdict.passed {
        bail!("the verifier did not pass the record");
    }
    println!("\nverification PASSED");
    Ok(())
}

/// What the cycle produced.
struct CycleReport {
    manifest: Manifest,
    result: ReferendumResult,
    receipts: Vec<Receipt>,
}

/// The demo log's name.
const DEMO_LOG_NAME: &str = "demo.vox.invalid/riverton";

/// The id of the referendum the demo's petition triggers.
const DEMO_REFERENDUM: &str = "riverton-cycle-lane-2026";

/// The demo's compressed schedule of the triggered referendum (07 §7.4 terms): long
/// enough for the rest of the signing, the response and the in-process key ceremony
/// before voting opens, and for every citizen's ballots (encrypted beforehand) to be
/// cast before it closes; the board's scheduler opens and closes on time by itself.
struct Schedule {
    opens_after_ms: i64,
    voting_ms: i64,
}

impl Schedule {
    fn new(a: &DemoArgs) -> Result<Self> {
        let v = i64::try_from(a.voters).unwrap_or(i64::MAX / 100);
        let given = |d: &Option<String>, flag: &str| -> Result<Option<i64>> {
            d.as_deref()
                .map(|d| crate::clock::parse_duration(d).with_context(|| flag.to_owned()))
                .transpose()
        };
        // Anonymous ballots are proved on a ring of the whole electorate before voting
        // opens: ≈ 70 µs per ring slot per ballot on this machine kind (BENCHMARKS.md
        // "Ring signatures"), on every core, twice that for a loaded machine. And each is
        // then checked by the server (≈ 1.5 ms batched): a longer voting period too.
        let (prove_ms, check_ms) = if a.anonymous {
            let slots = i64::try_from(a.voters.next_power_of_two().max(16)).unwrap_or(i64::MAX);
            let cores = std::thread::available_parallelism()
                .map_or(1, |n| i64::try_from(n.get()).unwrap_or(1));
            let ballots = v.saturating_add(v / 20);
            (
                ballots.saturating_mul(slots).saturating_mul(140) / 1_000 / cores,
                ballots.saturating_mul(6),
            )
        } else {
            (0, 0)
        };
        Ok(Self {
            opens_after_ms: given(&a.opens_after, "--opens-after")?
                .unwrap_or_else(|| 5_000 + 2 * v + prove_ms),
            voting_ms: given(&a.voting, "--voting")?.unwrap_or_else(|| 4_000 + 4 * v + check_ms),
        })
    }
}

/// The questions of the demo's referendum.
fn demo_questions() -> Vec<Question> {
    vec![
        Question {
            id: "q1".into(),
            text: "Should the council build a protected cycle lane on the High Street?".into(),
            options: vec!["yes".into(), "no".into()],
            kind: QuestionKind::YesNo,
        },
        Question {
            id: "q2".into(),
            text: "If it is built, which design do you prefer?".into(),
            options: DESIGNS.iter().map(|s| (*s).to_owned()).collect(),
            kind: QuestionKind::ChooseOne {
                blank_allowed: false,
            },
        },
    ]
}

/// How many witnesses the demo runs, and how many must cosign before a phase ends.
const DEMO_WITNESSES: usize = 3;
const DEMO_WITNESS_QUORUM: u32 = 2;

/// A `vox witness serve` child process of this demo, stopped on drop.
struct WitnessProcess {
    child: std::process::Child,
    url: String,
    vkey: vox_protocol::tlog::VerifierKey,
}

impl WitnessProcess {
    /// `vox witness keygen`, then `vox witness serve` on a free loopback port following
    /// the log whose note key is `log_vkey`; waits for its address.
    fn start(dir: &Path, i: usize, log_vkey: &str) -> Result<Self> {
        use std::io::BufRead;
        use std::process::{Command, Stdio};
        let exe = std::env::current_exe().context("locating the vox binary")?;
        let key = dir.join(format!("witness-{i}.key"));
        let name = format!("w{i}.witness.demo.vox.invalid");
        let out = Command::new(&exe)
            .args(["witness", "keygen", "--name", &name, "--out"])
            .arg(&key)
            .stderr(Stdio::null())
            .output()
            .context("running vox witness keygen")?;
        if !out.status.success() {
            bail!("vox witness keygen failed for witness {i}");
        }
        let vkey = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        let vkey = vox_protocol::tlog::VerifierKey::parse(&vkey)
            .map_err(|e| anyhow!("witness {i}'s verifier key: {e}"))?;
        let mut child = Command::new(&exe)
            .args(["witness", "serve", "--listen", "127.0.0.1:0", "--key"])
            .arg(&key)
            .arg("--state")
            .arg(dir.join(format!("witness-{i}.state.json")))
            .args(["--log", log_vkey])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("starting vox witness serve")?;
        let stdout = child.stdout.take().context("the witness's stdout")?;
        let mut lines = std::io::BufReader::new(stdout).lines();
        let url = loop {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(addr) = line.strip_prefix("vox witness listening on ") {
                        break addr.trim().to_owned();
                    }
                }
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    bail!("witness {i} did not start");
                }
            }
        };
        // Keep reading its stdout so that the process never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Ok(Self { child, url, vkey })
    }
}

impl Drop for WitnessProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// With `--keep`: the parties' key files (0600) and the genesis, so that the kept
/// server can be restarted and driven by hand (`vox serve --genesis … --operator-key …`,
/// `vox authority --key …`).
fn save_parties(dir: &Path, signers: &RoleSigners, genesis: &Genesis) -> Result<()> {
    for role in Role::ALL {
        crate::files::save_role_key(
            &dir.join("keys").join(format!("{role}.key")),
            role,
            signers.key(role),
        )?;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.join("keys"), std::fs::Permissions::from_mode(0o700))?;
    }
    files::write_json(&dir.join("genesis.json"), genesis)
}

struct Demo {
    public: Client,
    /// The registrar's tool (its own key).
    registrar: Client,
    /// The petitions office's tool.
    office: Client,
    /// The election authority's tool.
    authority: Client,
    threads: usize,
    work: PathBuf,
    keep: bool,
    creds: Vec<Credential>,
    board_key: Option<BoardPublicKey>,
    /// The referendum's participation (`--anonymous`).
    participation: Participation,
}

#[derive(Default)]
struct Phases {
    list: Vec<(&'static str, Duration)>,
}

impl Phases {
    fn done(&mut self, name: &'static str, t: Instant, what: String) {
        let d = t.elapsed();
        println!(
            "[{:>2}] {name:<12} {what}  ({:.2} s)",
            self.list.len() + 1,
            d.as_secs_f64()
        );
        self.list.push((name, d));
    }
}

/// One citizen's plan in the referendum.
struct Plan {
    voter: usize,
    audit: bool,
    first: Option<Choices>,
    last: Choices,
}

impl Demo {
    fn cred(&self, i: usize) -> Result<&Credential> {
        self.creds
            .get(i)
            .ok_or_else(|| anyhow!("no citizen number {i}"))
    }

    fn board_key(&mut self) -> Result<BoardPublicKey> {
        if let Some(k) = self.board_key {
            return Ok(k);
        }
        let k = self.public.board()?.board_public_key;
        self.board_key = Some(k);
        Ok(k)
    }

    /// Wait (at most 20 s) until the latest tree head carries the witness quorum's
    /// cosignatures, so that the exported record's last head is vouched for (V3.4).
    fn await_cosigned_head(&mut self) -> Result<vox_protocol::board::SignedTreeHead> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let sth = self.public.tree_head()?;
            let valid = sth
                .cosignatures
                .iter()
                .filter(|c| sth.verify_cosignature(c).is_ok())
                .count();
            if valid >= DEMO_WITNESS_QUORUM as usize {
                return Ok(sth);
            }
            if Instant::now() >= deadline {
                bail!(
                    "the witnesses cosigned the final head (size {}) {valid} times in 20 s; \
                     {DEMO_WITNESS_QUORUM} are needed",
                    sth.head.tree_size
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn cycle(
        &mut self,
        voters: usize,
        schedule: &Schedule,
        phases: &mut Phases,
        record_dir: &Path,
    ) -> Result<CycleReport> {
        // 2. Electorate, enrolled by code (protocol-spec/04-ballots.md §4.1.2–§4.1.4).
        let t = Instant::now();
        let electorate_hash = self.electorate(voters)?;
        phases.done(
            "electorate",
            t,
            format!(
                "the registrar opened `riverton` with {voters} one-time codes (letters); each \
                 citizen's device drew its credential and enrolled it with its code over HTTP; \
                 the registrar froze the list (hash {}…)",
                electorate_hash.to_hex().get(..16).unwrap_or_default()
            ),
        );

        // 3. The standing trustee panel, then the petition (published with the
        // referendum its threshold obliges).
        let t = Instant::now();
        let keys = self.panel()?;
        let (petition, signers) = self.petition(voters, electorate_hash, schedule)?;
        phases.done(
            "petition",
            t,
            format!(
                "trustee panel set; `{}` proposed, sponsored, published with its referendum \
                 terms; {signers} citizens signed",
                petition.id
            ),
        );
        let t = Instant::now();
        let manifest = self.show_petition(&petition)?;
        phases.done("response", t, "official response recorded".into());

        // 4. The key ceremony of the referendum the board created.
        let t = Instant::now();
        let trustees = self.ceremony(&manifest, keys)?;
        phases.done(
            "ceremony",
            t,
            format!(
                "3 trustees completed the key ceremony of `{}` (threshold 2)",
                manifest.referendum_id
            ),
        );

        // 5. Voting, opened by the board at opens_at.
        let t = Instant::now();
        let (expected, stats, receipts) = self.vote(&manifest)?;
        phases.done("voting", t, stats);

        // 6. The board closes and tallies at closes_at; two of three trustees decrypt;
        // the board publishes the result.
        let t = Instant::now();
        let rid = manifest.referendum_id.clone();
        self.await_state(
            &rid,
            &["tallied", "published"],
            manifest.closes_at,
            "close voting and compute the tally",
        )?;
        let tally = self.public.tally(&rid)?;
        let mut decrypting: Vec<TrusteeSession> = trustees
            .into_iter()
            .filter(|s| s.state.trustee != 2)
            .collect();
        let public = &self.public;
        std::thread::scope(|s| -> Result<()> {
            let handles: Vec<_> = decrypting
                .iter_mut()
                .map(|session| s.spawn(move || session.decrypt(public)))
                .collect();
            for h in handles {
                h.join()
                    .map_err(|_| anyhow!("a trustee thread panicked"))??;
            }
            Ok(())
        })?;
        self.await_state(&rid, &["published"], now_ms(), "publish the result")?;
        let result = self.public.result(&rid)?;
        if result.counts != expected {
            bail!(
                "the published result {:?} differs from the votes the citizens cast {:?}",
                result.counts,
                expected
            );
        }
        phases.done(
            "tally",
            t,
            format!(
                "the board closed voting at closes_at and computed the encrypted tally of {} \
                 ballots; trustees 1 and 3 decrypted (trustee 2 absent); the board published \
                 the result, equal to the votes cast",
                tally.counted_ballots
            ),
        );

        // 7. The witnesses cosign the final board (the server asks them as it grows), then
        // the export.
        let t = Instant::now();
        let cosigned = self.await_cosigned_head()?;
        phases.done(
            "cosigned",
            t,
            format!(
                "the head of the whole board (size {}) cosigned by {} witnesses; each close, \
                 tally and result waited for {DEMO_WITNESS_QUORUM}",
                cosigned.head.tree_size,
                cosigned.cosignatures.len()
            ),
        );
        let t = Instant::now();
        let s = authority::export(&self.public, Some(&rid), None, record_dir)?;
        phases.done(
            "export",
            t,
            format!(
                "{} entries and {} signed tree heads written to {}",
                s.entries,
                s.tree_heads,
                record_dir.display()
            ),
        );
        Ok(CycleReport {
            manifest,
            result,
            receipts,
        })
    }

    // ---- electorate ----------------------------------------------------------------

    /// The real enrolment path: the registrar draws one code per citizen (regions
    /// round-robin) and publishes the signed commitment; every citizen's device draws
    /// its credential and posts its `credential-enrolled` request with its code (each one
    /// a durable board commit, [`ENROL_CLIENTS`] in flight); the registrar checks the
    /// enrolled list's hash itself and freezes it. Returns the frozen hash.
    fn electorate(&mut self, voters: usize) -> Result<vox_crypto::Hash32> {
        const ID: &str = "riverton";
        let per_region: Vec<(Option<String>, u64)> = REGIONS
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let n = voters / REGIONS.len() + usize::from(i < voters % REGIONS.len());
                (Some((*r).to_owned()), n as u64)
            })
            .filter(|(_, n)| *n > 0)
            .collect();
        let (opening, letters) =
            EnrolmentOpening::draw(ID, "Riverton residents", &per_region, &mut OsRng)
                .map_err(|e| anyhow!("drawing the codes: {e}"))?;
        let letters = interleave_regions(letters);
        if self.keep {
            let csv = authority::letters_csv(ID, self.public.base(), &letters);
            files::write_private(&self.work.join("letters.csv"), csv.as_bytes(), false)?;
        }
        let opened = self.registrar.open_enrolment(&opening)?;
        println!(
            "       board leaf {:>5}: enrolment opened, {} code hashes committed ({} regions)",
            opened.leaf_index,
            opening.codes.len(),
            opening.regions.len()
        );

        // Each device: draw the credential, sign the request with the letter's code.
        let (creds, requests) = authority::simulate_code_enrolment(ID, &letters);
        let public = &self.public;
        let posting = Instant::now();
        let bar = progress::bar(requests.len() as u64, "enrolling");
        let enrolled = parallel(&requests, ENROL_CLIENTS, &bar, |r| {
            let a = public.enrol(r)?;
            if a.credential != r.credential {
                bail!("the enrolment answer is for another credential");
            }
            Ok(a.leaf_index)
        })?;
        bar.finish_and_clear();
        let posting = posting.elapsed();
        // A spent code is refused: another device tries the first citizen's letter.
        let (region, code) = letters.first().ok_or_else(|| anyhow!("no letter"))?;
        let thief = Credential::generate(&mut OsRng);
        let again = vox_protocol::electorate::EnrolmentRequest::create(
            ID,
            region.as_deref(),
            Some(code),
            &thief,
            &mut OsRng,
        );
        drop(letters);
        match public.enrol(&again) {
            Err(e) if crate::client::api_status(&e) == Some(409) => {}
            Err(e) => return Err(e.context("re-using a spent code: expected 409")),
            Ok(_) => bail!("the server accepted a spent enrolment code"),
        }

        // The registrar freezes what it sees, by the hash it computes itself.
        let info = self.public.electorate(ID)?;
        let hash = info.electorate.canonical_hash();
        if hash != info.electorate_hash || info.electorate.entries.len() != voters {
            bail!(
                "the server's enrolled list ({} credentials, hash {}) is not what the citizens \
                 enrolled ({voters}) or does not hash to {hash}",
                info.electorate.entries.len(),
                info.electorate_hash
            );
        }
        let frozen = self.registrar.freeze_electorate(ID, &hash)?;
        let first = enrolled.iter().min().copied().unwrap_or_default();
        let last = enrolled.iter().max().copied().unwrap_or_default();
        println!(
            "       board leaves {first}..={last}: {} credentials enrolled ({:.2} s over HTTP, \
             {ENROL_CLIENTS} in flight); leaf {}: frozen",
            enrolled.len(),
            posting.as_secs_f64(),
            frozen.leaf_index
        );
        if self.keep {
            authority::write_device_credentials(&self.work.join("devices"), &creds, &requests)?;
            files::write_json(&self.work.join("devices/electorate.json"), &info.electorate)?;
        }
        self.creds = creds;
        Ok(frozen.electorate_hash)
    }

    // ---- petition ------------------------------------------------------------------

    fn petition(
        &mut self,
        voters: usize,
        electorate_hash: vox_crypto::Hash32,
        schedule: &Schedule,
    ) -> Result<(Petition, usize)> {
        let sponsors = 5u32;
        let response = ((voters / 10) as u32).max(sponsors + 1);
        let referendum = ((voters / 2) as u32).max(response + 1);
        let petition = Petition {
            id: "riverton-cycle-lane".into(),
            action: "Build a protected cycle lane on the High Street".into(),
            background: "Cycling to school on the High Street is dangerous; a protected lane \
                         would make it safe for children and reduce traffic."
                .into(),
            details: String::new(),
            electorate_hash,
            sponsor_threshold: sponsors,
            response_threshold: response,
            referendum_threshold: referendum,
            open_for_ms: 30 * DAY_MS,
            response_due_ms: 14 * DAY_MS,
            region_min_group: 5,
            // Ring signatures (07 §7.10): the board counts signatures per region from
            // their rings, and no one, the registrar included, learns who signed.
            signatures: SignatureScheme::Ring,
        };
        // The petitions office's published bounds (07 §7.8): the proposal below meets
        // them, and the verifier checks that it does (V6.7).
        self.office.set_petition_policy(&PetitionPolicy {
            min_sponsor_threshold: Some(sponsors),
            min_open_for_ms: Some(7 * DAY_MS),
            max_open_for_ms: Some(90 * DAY_MS),
            max_response_due_ms: Some(30 * DAY_MS),
            min_region_min_group: Some(5),
            ..PetitionPolicy::default()
        })?;
        let proposer = self.cred(0)?;
        let proposal = PetitionProposal::create(petition.clone(), proposer, &mut OsRng);
        self.public.propose(&proposal)?;
        // Every device derives the rings from the board it checked itself (entries
        // hashing to the signed head, every act's signature): no ring comes from the
        // server. Nothing is revoked during the demo, so one view serves every signer.
        let board_key = self.board_key()?;
        let rings = self
            .public
            .board_view(&board_key)?
            .petition_rings(&petition)
            .map_err(|e| anyhow!("the petition's rings: {e}"))?;
        let sizes: Vec<String> = rings
            .rings()
            .iter()
            .map(|r| {
                format!(
                    "{} {}",
                    r.region.as_deref().unwrap_or("(pooled)"),
                    r.ring.member_count()
                )
            })
            .collect();
        println!(
            "       ring-signed: {} rings derived from the electorate ({}); a signature names \
             its ring and a per-petition linking tag, never the citizen",
            rings.rings().len(),
            sizes.join(", ")
        );
        // The proposer is public as the author, and counts only by signing like anyone.
        for i in 0..sponsors as usize {
            let s = RingPetitionSignature::create(
                &petition,
                &rings,
                self.cred(i)?,
                SignatureAction::Sign,
                &mut OsRng,
            )
            .map_err(|e| anyhow!("{e}"))?;
            self.public.ring_sign_petition(&petition.id, &s)?;
        }
        // The whole open period, less a second for clock differences; the referendum the
        // threshold obliges, on the demo's compressed schedule (seconds, not weeks).
        let terms = ReferendumTerms {
            referendum_id: DEMO_REFERENDUM.into(),
            title: petition.action.clone(),
            description: petition.background.clone(),
            questions: demo_questions(),
            opens_after_ms: schedule.opens_after_ms,
            voting_ms: schedule.voting_ms,
            participation: self.participation,
        };
        self.office.moderate(
            &petition.id,
            &Moderation::Publish {
                closes_at: now_ms() + petition.open_for_ms - 1000,
                referendum: terms,
            },
        )?;
        println!(
            "       published with its referendum terms: `{DEMO_REFERENDUM}` opens {} after the \
             threshold and lasts {} (a compressed schedule; the CLI's defaults are 7 and 14 days)",
            crate::clock::format_duration(schedule.opens_after_ms),
            crate::clock::format_duration(schedule.voting_ms)
        );
        // Citizens sign until past the referendum threshold.
        let target = (referendum as usize + voters / 10).min(voters);
        let first = sponsors as usize;
        let prove = progress::bar((target - first) as u64, "proving ring signatures");
        let sigs: Vec<RingPetitionSignature> = self
            .creds
            .get(first..target)
            .unwrap_or_default()
            .par_iter()
            .map(|c| {
                let s = RingPetitionSignature::create(
                    &petition,
                    &rings,
                    c,
                    SignatureAction::Sign,
                    &mut OsRng,
                );
                prove.inc(1);
                s
            })
            .collect::<Result<_, _>>()
            .map_err(|e| anyhow!("{e}"))?;
        prove.finish_and_clear();
        let bar = progress::bar(sigs.len() as u64, "signing the petition");
        let public = &self.public;
        parallel(&sigs, self.threads, &bar, |s| {
            public.ring_sign_petition(&petition.id, s).map(|_| ())
        })?;
        bar.finish_and_clear();
        // One signer changes their mind while the petition is open: the same tag, with
        // the withdraw action.
        let w = RingPetitionSignature::create(
            &petition,
            &rings,
            self.cred(first)?,
            SignatureAction::Withdraw,
            &mut OsRng,
        )
        .map_err(|e| anyhow!("{e}"))?;
        self.public.ring_sign_petition(&petition.id, &w)?;
        Ok((petition, target - 1))
    }

    fn show_petition(&mut self, petition: &Petition) -> Result<Manifest> {
        let size = self.public.board()?.tree_size;
        let mut events = Vec::new();
        let mut triggered = None;
        self.public.all_entries(0, size, |i, e| {
            match e.payload {
                Payload::PetitionThreshold {
                    petition_id,
                    kind,
                    count,
                } if petition_id == petition.id => events.push((i, kind, count)),
                Payload::ReferendumTriggered { manifest }
                    if manifest.source_petition.as_deref() == Some(petition.id.as_str()) =>
                {
                    triggered = Some((i, manifest));
                }
                _ => {}
            }
            Ok(())
        })?;
        for (i, kind, count) in &events {
            let what = match kind {
                ThresholdKind::Sponsor => "sponsor threshold reached: sent to moderation",
                ThresholdKind::Response => {
                    "RESPONSE threshold reached: an official response is now due"
                }
                ThresholdKind::Referendum => {
                    "REFERENDUM threshold reached: a referendum is triggered"
                }
            };
            println!("       board leaf {i:>5}: {what} (at {count} signatures)");
        }
        let Some((_, _, reached)) = events
            .iter()
            .find(|(_, k, _)| *k == ThresholdKind::Referendum)
        else {
            bail!("the petition did not reach its referendum threshold");
        };
        let Some((leaf, manifest)) = triggered else {
            bail!("the petition reached its referendum threshold, but no referendum-triggered entry is on the board");
        };
        println!(
            "       the petition reached {reached} signatures: the board created referendum `{}` \
             by itself (leaf {leaf}); voting opens {} and closes {}",
            manifest.referendum_id,
            crate::clock::format_utc(manifest.opens_at),
            crate::clock::format_utc(manifest.closes_at)
        );
        let d = self.public.petition(&petition.id)?;
        let regions: Vec<String> = d
            .region_counts
            .iter()
            .map(|(r, n)| format!("{r} {n}"))
            .collect();
        println!(
            "       petition now {} with {} signatures (by region: {})",
            d.stage.as_str(),
            d.count,
            regions.join(", ")
        );
        self.office.respond(
            &petition.id,
            "The council welcomes the petition and will put the question to residents in an \
             advisory referendum.",
        )?;
        Ok(manifest)
    }

    // ---- referendum and ceremony ---------------------------------------------------

    /// The election authority's standing panel: three trustees (keys drawn here, as
    /// each trustee would on their own machine), any two decrypt.
    fn panel(&mut self) -> Result<Vec<TrusteeKeys>> {
        let keys: Vec<TrusteeKeys> = (0..3).map(|_| TrusteeKeys::generate(&mut OsRng)).collect();
        for (i, k) in keys.iter().enumerate() {
            let path = self.work.join(format!("trustee-{}.key", i + 1));
            files::save_trustee_keys(&path, &format!("Trustee {}", i + 1), k)?;
        }
        let panel = TrusteePanel {
            trustees: TrusteeInfo::numbered(keys.iter()),
            threshold: 2,
            answer_due_ms: DAY_MS,
            decryption_due_ms: DAY_MS,
        };
        self.authority.set_panel(&panel)?;
        println!(
            "       the election authority set the standing trustee panel: 3 trustees, any 2 \
             decrypt (a petition can be published only with a panel in force)"
        );
        Ok(keys)
    }

    /// Wait until referendum `rid` is in one of the states `want`, which the board's
    /// scheduler reaches by itself at `at` (Unix ms); at most a minute past it.
    fn await_state(&self, rid: &str, want: &[&str], at: i64, what: &str) -> Result<()> {
        let started = Instant::now();
        let mut told = false;
        loop {
            let state = self.public.referendum(rid)?.state_name();
            if want.contains(&state.as_str()) {
                if told {
                    println!(
                        "       the board did it by itself ({state}) after {:.1} s",
                        started.elapsed().as_secs_f64()
                    );
                }
                return Ok(());
            }
            let now = now_ms();
            if !told {
                if at > now {
                    println!(
                        "       waiting for the board to {what} at {} (in {:.1} s)…",
                        crate::clock::format_utc(at),
                        (at - now) as f64 / 1000.0
                    );
                } else {
                    println!("       waiting for the board to {what}…");
                }
                told = true;
            }
            if now > at.saturating_add(60_000) {
                bail!(
                    "the board did not {what} within a minute of {} (referendum {rid} is {state})",
                    crate::clock::format_utc(at)
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The trustees run the key ceremony of the referendum the board created.
    fn ceremony(
        &mut self,
        manifest: &Manifest,
        keys: Vec<TrusteeKeys>,
    ) -> Result<Vec<TrusteeSession>> {
        let rid = manifest.referendum_id.clone();

        let mut sessions = Vec::new();
        for (i, k) in keys.into_iter().enumerate() {
            let state = self
                .work
                .join(format!("trustee-{}-{rid}.state.json", i + 1));
            sessions.push(TrusteeSession::open(
                &self.public,
                &rid,
                Some(i as u32 + 1),
                k,
                &state,
            )?);
        }
        // Round-robin: each trustee does what it can, until all are done.
        let mut done = vec![false; sessions.len()];
        let mut posted: Vec<(String, Vec<u32>)> = Vec::new();
        for _round in 0..100 {
            let mut progressed = false;
            for (s, d) in sessions.iter_mut().zip(done.iter_mut()) {
                if *d {
                    continue;
                }
                match s.advance(&self.public)? {
                    Step::Posted(what) => {
                        progressed = true;
                        match posted.iter_mut().find(|(w, _)| *w == what) {
                            Some((_, who)) => who.push(s.state.trustee),
                            None => posted.push((what, vec![s.state.trustee])),
                        }
                    }
                    Step::Complete => {
                        *d = true;
                        progressed = true;
                    }
                    Step::Waiting(_) => {}
                }
            }
            if done.iter().all(|d| *d) {
                break;
            }
            if !progressed {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        for (what, who) in &posted {
            let who: Vec<String> = who.iter().map(u32::to_string).collect();
            println!("       trustees {} posted their {what}", who.join(", "));
        }
        if !done.iter().all(|d| *d) {
            bail!("the key ceremony did not complete");
        }
        Ok(sessions)
    }

    // ---- voting --------------------------------------------------------------------

    fn vote(&mut self, manifest: &Manifest) -> Result<(Vec<Vec<u64>>, String, Vec<Receipt>)> {
        let rid = manifest.referendum_id.clone();
        // The device checks of 04 §4.7 (D1–D7), with the board key the demo read from
        // its own in-process server (there is no pin to keep for a throw-away board).
        let board_key = self.board_key()?;
        let vc = VotingContext::fetch(&self.public, &rid, &board_key)?;
        let ctx = vc.ballot_context();
        // Anonymous participation: every device derives the referendum's rings from the
        // board it checked (nothing is revoked during the demo: one view serves all).
        let rings = match manifest.participation {
            Participation::Pseudonymous => None,
            Participation::Anonymous => {
                let rings = self
                    .public
                    .board_view(&board_key)?
                    .referendum_rings(&rid)
                    .map_err(|e| anyhow!("the referendum's rings: {e}"))?;
                println!(
                    "       anonymous ballots: {} ring(s) of {} citizens; a ballot names its \
                     ring and a per-referendum linking tag, never the citizen",
                    rings.rings().len(),
                    rings.member_count()
                );
                Some(rings)
            }
        };
        let n = self.creds.len();
        let auditors = (n / 100).max(2);
        let revoters = (n / 50).max(2);
        let mut rng = rand::thread_rng();
        let mut random_choices = |yes_bias: f64| -> Choices {
            let yes = rng.gen_bool(yes_bias);
            let d = if yes {
                [0.25, 0.55, 0.20]
            } else {
                [0.45, 0.25, 0.30]
            };
            let x: f64 = rng.gen();
            let pick = if x < d[0] {
                0
            } else if x < d[0] + d[1] {
                1
            } else {
                2
            };
            let mut q2 = vec![0u64; 3];
            if let Some(s) = q2.get_mut(pick) {
                *s = 1;
            }
            vec![if yes { vec![1, 0] } else { vec![0, 1] }, q2]
        };
        let plans: Vec<Plan> = (0..n)
            .map(|i| {
                let last = random_choices(0.62);
                let first = (i >= n - revoters).then(|| {
                    // A citizen who changes their mind: the first ballot says the opposite.
                    let mut c = last.clone();
                    c.reverse_yes_no();
                    c
                });
                Plan {
                    voter: i,
                    audit: i < auditors,
                    first,
                    last,
                }
            })
            .collect();
        let mut expected = vec![vec![0u64; 2], vec![0u64; 3]];
        for p in &plans {
            for (e, c) in expected.iter_mut().zip(&p.last) {
                for (x, y) in e.iter_mut().zip(c) {
                    *x += *y;
                }
            }
        }
        let board_key = self.board_key()?;

        // Prepare every encryption on all cores.
        let enc_bar = progress::bar(n as u64, "encrypting ballots");
        let creds = &self.creds;
        let prepared: Vec<(Option<AuditedBallot>, Ballot, Option<Ballot>)> = plans
            .par_iter()
            .map(|p| -> Result<_> {
                let c = creds
                    .get(p.voter)
                    .ok_or_else(|| anyhow!("no citizen {}", p.voter))?;
                // A re-vote names the ballot it supersedes (`previous`, 04 §4.3).
                let enc = |ch: &Choices, previous: Option<Hash32>| {
                    match &rings {
                        None => encrypt_ballot(&ctx, c, ch, previous, &mut OsRng),
                        Some(r) => encrypt_anonymous_ballot(&ctx, r, c, ch, previous, &mut OsRng),
                    }
                    .map_err(|e| anyhow!("{e}"))
                };
                let audit = if p.audit {
                    let (b, s) = enc(&p.last, None)?;
                    Some(AuditedBallot::new(b, s))
                } else {
                    None
                };
                let out = match &p.first {
                    Some(first) => {
                        let first = enc(first, None)?.0;
                        let last = enc(&p.last, Some(first.hash()))?.0;
                        (audit, first, Some(last))
                    }
                    None => (audit, enc(&p.last, None)?.0, None),
                };
                enc_bar.inc(1);
                Ok(out)
            })
            .collect::<Result<_>>()?;
        enc_bar.finish_and_clear();

        // Ballots are ready (the election key is fixed by the ceremony); the board opens
        // voting at opens_at.
        self.await_state(&rid, &["open"], manifest.opens_at, "open voting")?;
        let voting_started = Instant::now();

        // Benaloh audits: publish the opened ballot, check the opening.
        let audits: Vec<&AuditedBallot> = prepared.iter().filter_map(|p| p.0.as_ref()).collect();
        let public = &self.public;
        let bar = progress::bar(audits.len() as u64, "auditing ballots");
        parallel(&audits, self.threads, &bar, |a| {
            public.audit(&rid, a)?;
            a.verify_opening(&ctx)
                .map_err(|e| anyhow!("audit failed: {e}"))
        })?;
        bar.finish_and_clear();

        // Cast: everyone, then the citizens who vote again.
        let first_round: Vec<&Ballot> = prepared.iter().map(|p| &p.1).collect();
        let bar = progress::bar(first_round.len() as u64, "casting ballots");
        let receipts = parallel(&first_round, self.threads, &bar, |b| {
            cast_checked(public, &rid, b, &board_key)
        })?;
        bar.finish_and_clear();
        let second_round: Vec<&Ballot> = prepared.iter().filter_map(|p| p.2.as_ref()).collect();
        let bar = progress::bar(second_round.len() as u64, "re-voting");
        let revote_receipts = parallel(&second_round, self.threads, &bar, |b| {
            cast_checked(public, &rid, b, &board_key)
        })?;
        bar.finish_and_clear();

        // A citizen checks a receipt online; a re-voter sees the first ballot superseded
        // by the ballot their own device cast (the demo's devices: every re-vote).
        let revoted: HashSet<Hash32> = revote_receipts.iter().map(|r| r.ballot_hash).collect();
        let own = |h: &Hash32| revoted.contains(h);
        let sample = receipts.first().ok_or_else(|| anyhow!("no receipt"))?;
        let status = check_receipt(public, &board_key, sample, &own, false)?;
        if status != "counted" {
            bail!(
                "receipt {} is {status}, expected counted",
                sample.tracking_code
            );
        }
        let superseded = receipts
            .get(n - revoters)
            .ok_or_else(|| anyhow!("no re-voter receipt"))?;
        let status = check_receipt(public, &board_key, superseded, &own, false)?;
        if status != "superseded" {
            bail!(
                "receipt {} of a re-voter's first ballot is {status}, expected superseded",
                superseded.tracking_code
            );
        }
        let last_revote = revote_receipts
            .last()
            .ok_or_else(|| anyhow!("no re-vote receipt"))?;
        let status = check_receipt(public, &board_key, last_revote, &own, false)?;
        if status != "counted" {
            bail!(
                "receipt {} is {status}, expected counted",
                last_revote.tracking_code
            );
        }
        println!(
            "       receipt {} checked online: signed, included, consistent with the current board, counted",
            sample.tracking_code
        );
        println!(
            "       receipt {} (a re-voter's first ballot) checked: superseded by {}",
            superseded.tracking_code, last_revote.tracking_code
        );
        let stats = format!(
            "{n} citizens voted in {:.1} s of the {} voting period ({} ballots cast, {revoters} \
             re-voted, {auditors} audited a ballot first); every receipt verified",
            voting_started.elapsed().as_secs_f64(),
            crate::clock::format_duration(manifest.closes_at - manifest.opens_at),
            receipts.len() + revote_receipts.len()
        );
        let mut all = receipts;
        all.extend(revote_receipts);
        Ok((expected, stats, all))
    }
}

/// Concurrent enrolments in flight. Each is one verified, durably committed board entry;
/// on the two-core bench machine 8, 16, 32 and 64 in flight gave the same throughput
/// (CPU-bound, not fsync-bound: the server groups concurrent commits), BENCHMARKS.md.
const ENROL_CLIENTS: usize = 16;

/// Order the letters round-robin by region, as citizens of every region arrive together
/// (the draw groups them by region).
fn interleave_regions(
    letters: Vec<(Option<String>, EnrolmentCode)>,
) -> Vec<(Option<String>, EnrolmentCode)> {
    let mut by_region: Vec<std::collections::VecDeque<(Option<String>, EnrolmentCode)>> =
        Vec::new();
    for l in letters {
        match by_region
            .iter_mut()
            .find(|q| q.front().map(|f| &f.0) == Some(&l.0))
        {
            Some(q) => q.push_back(l),
            None => by_region.push(std::collections::VecDeque::from([l])),
        }
    }
    let mut out = Vec::new();
    while by_region.iter().any(|q| !q.is_empty()) {
        for q in &mut by_region {
            if let Some(l) = q.pop_front() {
                out.push(l);
            }
        }
    }
    out
}

trait ReverseYesNo {
    fn reverse_yes_no(&mut self);
}

impl ReverseYesNo for Choices {
    fn reverse_yes_no(&mut self) {
        if let Some(q1) = self.first_mut() {
            q1.reverse();
        }
    }
}

/// Cast a ballot and check its receipt offline (board signature, tree head, inclusion,
/// and that it is for this ballot).
fn cast_checked(
    client: &Client,
    rid: &str,
    ballot: &Ballot,
    board_key: &BoardPublicKey,
) -> Result<Receipt> {
    let r = client.cast(rid, ballot)?;
    r.verify(board_key)
        .map_err(|e| anyhow!("receipt does not verify: {e}"))?;
    r.matches_ballot(ballot)
        .map_err(|e| anyhow!("receipt is for another ballot: {e}"))?;
    Ok(r)
}

/// Run `f` on every item with `threads` workers; results in item order. Stops at the
/// first error.
fn parallel<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    bar: &ProgressBar,
    f: impl Fn(&T) -> Result<R> + Sync,
) -> Result<Vec<R>> {
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let f = &f;
    let per_thread: Vec<Result<Vec<(usize, R)>>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads.max(1).min(items.len().max(1)))
            .map(|_| {
                s.spawn(|| -> Result<Vec<(usize, R)>> {
                    let mut out = Vec::new();
                    while !failed.load(Ordering::Relaxed) {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else { break };
                        match f(item) {
                            Ok(r) => {
                                out.push((i, r));
                                bar.inc(1);
                            }
                            Err(e) => {
                                failed.store(true, Ordering::Relaxed);
                                return Err(e);
                            }
                        }
                    }
                    Ok(out)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow!("a worker thread panicked")))
            })
            .collect()
    });
    let mut all = Vec::with_capacity(items.len());
    for r in per_thread {
        all.extend(r?);
    }
    all.sort_by_key(|(i, _)| *i);
    Ok(all.into_iter().map(|(_, r)| r).collect())
}

// ---- verifier ----------------------------------------------------------------------

/// The verifier's verdict on a record.
pub struct Verdict {
    /// Every step passed.
    pub passed: bool,
    /// A short human summary: one line per step, then the faults.
    pub human: String,
    /// The full report.
    pub report: vox_verifier::Report,
}

/// Run the verifier library on a record directory.
pub fn verify_record(dir: &Path) -> Result<Verdict> {
    verify_record_with(dir, Vec::new())
}

/// Run the verifier library on a record directory, with receipts to check.
pub fn verify_record_with(dir: &Path, receipts: Vec<(String, Receipt)>) -> Result<Verdict> {
    verify_record_pinned(dir, receipts, None)
}

/// Run the verifier library on a record directory, with receipts to check and, if
/// known, the role keys the observer expects (the genesis must name them).
pub fn verify_record_pinned(
    dir: &Path,
    receipts: Vec<(String, Receipt)>,
    roles: Option<&RoleKeys>,
) -> Result<Verdict> {
    // The observer's own knowledge of the keys: the board key (V1) and the role keys
    // the genesis must name (V4).
    let mut trust = vox_verifier::TrustAnchors::default();
    if let Some(keys) = roles {
        for role in Role::ALL {
            trust
                .pin(role, *keys.get(role))
                .map_err(|e| anyhow!("pinning the {role} key: {e}"))?;
        }
    }
    let options = vox_verifier::Options {
        trust,
        receipts: receipts
            .into_iter()
            .map(|(name, receipt)| vox_verifier::NamedReceipt { name, receipt })
            .collect(),
        ..vox_verifier::Options::default()
    };
    let source = vox_verifier::dir::DirSource::new(dir);
    let report = vox_verifier::verify_record(&source, options, &mut vox_verifier::NoProgress)
        .map_err(|e| anyhow!("the verifier could not read {}: {e}", dir.display()))?;
    Ok(Verdict {
        passed: report.verdict() == vox_verifier::Verdict::Pass,
        human: summarize(&report),
        report,
    })
}

/// One line per step (details shortened), then up to five faults per failed step.
fn summarize(report: &vox_verifier::Report) -> String {
    let short = |s: &str, max: usize| -> String {
        if s.chars().count() <= max {
            s.to_owned()
        } else {
            let mut t: String = s.chars().take(max).collect();
            t.push('…');
            t
        }
    };
    let mut out = String::new();
    for s in &report.steps {
        out.push_str(&format!(
            "  {:<4} {:<11} {:<40} {:>6} {:<13} {:>6.2} s  {}\n",
            s.id.code(),
            s.status.to_string(),
            s.title,
            s.checked,
            s.unit,
            s.elapsed_ms.as_secs_f64(),
            short(&s.detail, 70)
        ));
    }
    for s in report.steps.iter().filter(|s| s.failures_total > 0) {
        out.push_str(&format!(
            "  {} failed ({} fault(s)):\n",
            s.id.code(),
            s.failures_total
        ));
        for f in s.failures.iter().take(5) {
            out.push_str(&format!("    {}\n", short(&f.to_string(), 200)));
        }
    }
    out.push_str(&format!(
        "  verdict: {:?} ({} entries, {:.2} s)\n",
        report.verdict(),
        report.tree_size,
        report.elapsed_ms.as_secs_f64()
    ));
    out
}

// ---- working directory -------------------------------------------------------------

/// The demo's working directory: kept if the user asked, else removed at the end.
struct WorkDir {
    path: PathBuf,
    remove: bool,
}

impl WorkDir {
    fn new(keep: Option<&Path>) -> Result<Self> {
        let (path, remove) = match keep {
            Some(p) if p.is_absolute() => (p.to_owned(), false),
            Some(p) => (std::env::current_dir()?.join(p), false),
            None => (
                std::env::temp_dir().join(format!("vox-demo-{}-{}", std::process::id(), now_ms())),
                true,
            ),
        };
        if path.join("vox.db").exists() {
            bail!(
                "{} already holds a demo database; choose another --keep directory",
                path.display()
            );
        }
        std::fs::create_dir_all(&path).with_context(|| format!("creating {}", path.display()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o700))?;
        }
        Ok(Self { path, remove })
    }

    fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        if self.remove {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// UTC time as `YYYYMMDD-HHMMSS`.
fn timestamp() -> String {
    compact_utc(now_ms())
}

#[cfg(test)]
mod tests {
    #[test]
    fn timestamp_shape() {
        let t = super::timestamp();
        assert_eq!(t.len(), 15);
        assert!(t.starts_with("20"));
    }
}
