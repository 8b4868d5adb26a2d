//! `vox authority …`: electorates and credentials, petition moderation and responses,
//! the standing trustee panel, referendums (creation, and nudges of the board's own
//! steps), role key rotation and record export.
//!
//! Every discretionary act is signed here, locally, with the key of the role it
//! belongs to (`--key FILE` or `$VOX_ROLE_KEY`, a file made by `vox keys new`): the
//! registrar registers electorates, the petitions office moderates (a publication fixes
//! the referendum the petition's threshold obliges), answers and invalidates, the
//! election authority sets the standing trustee panel and creates stand-alone
//! referendums. The server only checks the signature against that role's current key
//! (protocol-spec/11-roles.md). What follows from the board's rules needs no key: a
//! petition that reaches its referendum threshold triggers its referendum, the board
//! opens and closes referendums at their manifest's times, tallies, publishes the result
//! and closes petitions at their deadline (07 §7.4, 10 §10.3); the nudges here only ask
//! it to do so now. `export` and `show` only read public data.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Subcommand};
use rand::rngs::OsRng;
use rayon::prelude::*;
use vox_crypto::credential::{Credential, CredentialPublicKey};
use vox_crypto::ring::LinkingTag;
use vox_crypto::Point;
use vox_protocol::board::{BoardPublicKey, SignedTreeHead};
use vox_protocol::electorate::{Electorate, EnrolmentRequest};
use vox_protocol::encoding::Hashable;
use vox_protocol::enrolment::{EnrolmentCode, EnrolmentOpening};
use vox_protocol::manifest::{
    Manifest, Participation, Question, QuestionKind, TrusteeInfo, TrusteePanel, MANIFEST_VERSION,
};
use vox_protocol::merkle::{root_from_leaf_hashes, NodeHash};
use vox_protocol::petition::{Moderation, PetitionPolicy, ReferendumTerms};
use vox_protocol::record::{self, RecordHeader, ENTRIES_FILE, HEADER_FILE, TREE_HEADS_FILE};
use vox_protocol::roles::{Role, WitnessPolicy};
use vox_protocol::tally::ReferendumResult;

use crate::client::{api_error, api_status, role_phrase, Client, ElectorateInfo, PetitionSummary};
pub use crate::clock::now_ms;
use crate::clock::{self, DAY_MS};
use crate::files::{self, CredentialFile, RoleKey, ROLE_KEY_ENV};
use crate::petition_view::show_petition;
use crate::progress;
use crate::voter::default_server;

/// `vox authority [--server URL] [--key FILE] …`
#[derive(Debug, Args)]
pub struct AuthorityArgs {
    /// Server URL [default: $VOX_SERVER or http://127.0.0.1:8080].
    #[arg(long, global = true)]
    pub server: Option<String>,
    /// The key file of the role whose act this is (made by `vox keys new`; mode 0600):
    /// registrar for electorates, petitions office for moderation, responses and
    /// invalidations, election authority for referendums and the panel, operator for the
    /// witness policy [default: $VOX_ROLE_KEY].
    #[arg(long, global = true, value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: AuthorityCommand,
}

/// Authority commands.
#[derive(Debug, Subcommand)]
pub enum AuthorityCommand {
    /// Electorates: the published lists of eligible credentials (registrar).
    #[command(subcommand)]
    Electorate(ElectorateCommand),
    /// Petition moderation, responses, invalidations (petitions office).
    #[command(subcommand)]
    Petition(PetitionCommand),
    /// The standing trustee panel (election authority): the trustees who run the key
    /// ceremony of every referendum a petition triggers from now on, and its deadlines.
    /// A petition can only be published while a panel is in force.
    Panel(PanelArgs),
    /// The board's witness policy (operator): which witnesses must cosign, and how
    /// many, before the board ends a phase. A change takes effect once the current
    /// witnesses' quorum cosigns a head covering it; keep asking the old witnesses
    /// (`vox serve --witness`) until then.
    Witnesses(WitnessesArgs),
    /// Referendums: stand-alone creation (election authority), and nudges of the
    /// board's own steps (no key).
    #[command(subcommand)]
    Referendum(ReferendumCommand),
    /// Replace a role's key: the act is signed with the current key (--key) and proves
    /// possession of the new one. Make the new key first with
    /// `vox keys new --role ROLE --out NEW`.
    RotateKey {
        /// The role (registrar, petitions-office or election-authority; the operator
        /// key cannot be rotated within a log).
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// The new key file.
        #[arg(long, value_name = "NEW")]
        new_key: PathBuf,
    },
    /// Export the election record (the whole board with its signed tree heads) into a
    /// directory that `vox-verify` checks.
    Export {
        /// Referendum the record is about.
        #[arg(long, conflicts_with = "petition")]
        referendum: Option<String>,
        /// Petition the record is about.
        #[arg(long)]
        petition: Option<String>,
        /// Directory to create.
        #[arg(long)]
        out: PathBuf,
    },
}

/// `vox authority panel --trustee FILE … | --show`
#[derive(Debug, Args)]
pub struct PanelArgs {
    /// Show the panel in force instead (no key).
    #[arg(long, conflicts_with_all = ["trustees", "threshold", "answer_within", "decryption_within"])]
    pub show: bool,
    /// Trustee public key files (`vox trustee keygen` writes FILE.pub), in index order.
    #[arg(
        long = "trustee",
        value_name = "FILE",
        required_unless_present = "show"
    )]
    pub trustees: Vec<PathBuf>,
    /// Trustees needed to decrypt (k of n) [default: majority of the trustees, ⌊n/2⌋+1].
    #[arg(long)]
    pub threshold: Option<u32>,
    /// How long a trustee has to answer a complaint in the key ceremony (the manifest's
    /// answer_due_ms: 30m, 12h, 1d…).
    #[arg(long, value_name = "DURATION", default_value = "1d")]
    pub answer_within: String,
    /// How long after the tally every trustee has to post its decryption share (the
    /// manifest's decryption_due_ms); the board names the trustees who miss it.
    #[arg(long, value_name = "DURATION", default_value = "2d")]
    pub decryption_within: String,
}

/// `vox authority witnesses --witness KEY … [--quorum N] | --show`
#[derive(Debug, Args)]
pub struct WitnessesArgs {
    /// Show the policy in force (and a pending change) instead (no key).
    #[arg(long, conflicts_with_all = ["witnesses", "quorum"])]
    pub show: bool,
    /// A witness of the new policy: its verifier key (`name+keyid+base64`, as `vox
    /// witness keygen` prints it) or its Ed25519 public key in hex. Repeat for each.
    #[arg(long = "witness", value_name = "KEY", required_unless_present = "show")]
    pub witnesses: Vec<String>,
    /// How many of them must cosign [default: a majority, ⌊n/2⌋+1].
    #[arg(long)]
    pub quorum: Option<u32>,
}

/// A witness key on the command line: a C2SP verifier key or 64 hex characters.
pub fn parse_witness_key(s: &str) -> Result<BoardPublicKey> {
    if s.contains('+') {
        let vkey = vox_protocol::tlog::VerifierKey::parse(s)
            .map_err(|e| anyhow!("witness verifier key {s}: {e}"))?;
        return Ok(BoardPublicKey(*vkey.verifying_key()));
    }
    BoardPublicKey::from_hex(s).map_err(|e| anyhow!("witness key {s}: {e}"))
}

/// Print a witness policy view.
fn print_witness_policy(v: &vox_protocol::api::WitnessPolicyView) {
    let since = match v.in_force_since_leaf {
        0 => "the genesis".to_owned(),
        leaf => format!("leaf {leaf}"),
    };
    let p = &v.in_force;
    println!(
        "witness policy in force (since {since}): {} of {} witnesses cosign before a phase ends",
        p.quorum,
        p.keys.len()
    );
    for k in &p.keys {
        println!("  {}", k.to_hex());
    }
    if let Some(next) = &v.pending {
        println!(
            "pending (leaf {}): {} of {} witnesses, in force once the witnesses above cosign a \
             head covering it",
            next.leaf_index,
            next.policy.quorum,
            next.policy.keys.len()
        );
        for k in &next.policy.keys {
            println!("  {}", k.to_hex());
        }
    }
}

/// `vox authority witnesses`.
fn witnesses(
    public: &Client,
    operator: impl Fn() -> Result<Signing>,
    a: &WitnessesArgs,
) -> Result<()> {
    if a.show {
        print_witness_policy(&public.witness_policy()?);
        return Ok(());
    }
    let keys = a
        .witnesses
        .iter()
        .map(|s| parse_witness_key(s))
        .collect::<Result<Vec<_>>>()?;
    let n = u32::try_from(keys.len()).context("too many witnesses")?;
    let policy = WitnessPolicy {
        keys,
        quorum: a.quorum.unwrap_or(n / 2 + 1),
    };
    if policy.quorum() > policy.keys.len() {
        bail!(
            "--quorum {} is more than the {} witnesses given",
            policy.quorum,
            policy.keys.len()
        );
    }
    let op = operator()?;
    let view = op.explain(op.client.set_witness_policy(&policy))?;
    print_witness_policy(&view);
    Ok(())
}

/// A role name on the command line.
pub fn parse_role(s: &str) -> Result<Role, String> {
    Role::from_name(s).map_err(|e| e.to_string())
}

/// A delay on the command line: a duration, or 0 / 0s.
fn parse_delay(s: &str) -> Result<i64, String> {
    if s.trim_end_matches(['s', 'm', 'h', 'd']) == "0" {
        return Ok(0);
    }
    clock::parse_duration(s).map_err(|e| e.to_string())
}

/// `vox authority electorate …`
#[derive(Debug, Subcommand)]
pub enum ElectorateCommand {
    /// Register an electorate from citizens' enrolment requests (registrar key). Each
    /// citizen made their credential on their own device (`vox voter keygen`) and
    /// handed you only the request: their public key with a proof that they hold its
    /// secret. Checks every request, writes OUT/electorate.json (the public list) and
    /// publishes it as a signed act. No secret credential passes through this command.
    Create {
        /// Request files (one request or a JSON array each) or directories of `*.json`
        /// requests.
        #[arg(long = "requests", required = true, num_args = 1.., value_name = "PATH")]
        requests: Vec<PathBuf>,
        /// Output directory (for electorate.json).
        #[arg(long)]
        out: PathBuf,
        /// Electorate id (the requests must name it).
        #[arg(long)]
        id: String,
        /// Display name.
        #[arg(long, default_value = "Electorate")]
        name: String,
        /// Only write the files; do not publish (needs no key).
        #[arg(long)]
        no_publish: bool,
    },
    /// Open an electorate for enrolment by one-time code (registrar key): draws one
    /// random code per citizen (100 bits each), writes them to the LETTERS file (CSV for
    /// a mail merge: region, code, electorate, instructions; mode 0600, never
    /// overwritten), then publishes a signed `enrolment-opened` act holding only the
    /// codes' hashes and the count per region. The letters file is written BEFORE
    /// anything is sent, so a crash can never publish codes that nobody holds. Each
    /// citizen then enrols with `vox voter enrol` (or the web page `/enrol.html`); end
    /// enrolment with `vox authority electorate freeze`.
    Open {
        /// Electorate id (new on this board).
        #[arg(long)]
        id: String,
        /// Display name.
        #[arg(long, default_value = "Electorate")]
        name: String,
        /// Codes to draw, as N or N:REGION (repeat for each region), e.g.
        /// `--codes 500:north --codes 480:south`.
        #[arg(long = "codes", required = true, num_args = 1.., value_name = "N[:REGION]",
              value_parser = parse_codes)]
        codes: Vec<(Option<String>, u64)>,
        /// Where to write the letters (CSV; mode 0600; must not exist). It holds every
        /// code in clear: print the letters, then destroy it.
        #[arg(long, value_name = "FILE")]
        letters: PathBuf,
        /// The server address printed on the letters [default: --server].
        #[arg(long, value_name = "URL")]
        public_url: Option<String>,
    },
    /// End enrolment (registrar key): fetches the list of enrolled, non-revoked
    /// credentials, recomputes its hash here, shows codes committed and credentials
    /// enrolled per region, and publishes a signed `electorate-frozen` act naming that
    /// hash. Only a frozen electorate can be named by a petition or a referendum.
    Freeze {
        /// Electorate id.
        #[arg(long)]
        id: String,
    },
    /// Revoke a lost or stolen credential (registrar key), optionally with one
    /// replacement code for the same citizen. The replacement letter is written (mode
    /// 0600, never overwritten) BEFORE the act is sent, and the act carries only the
    /// code's hash. After the freeze, the credential enrolled with the replacement code
    /// takes the revoked one's place (and may not vote where the revoked one voted).
    Revoke {
        /// Electorate id.
        #[arg(long)]
        id: String,
        /// The credential's public key (hex).
        #[arg(long, value_name = "HEX")]
        credential: String,
        /// The public reason ("lost", "stolen", …).
        #[arg(long)]
        reason: String,
        /// Draw a replacement code and write its letter here (CSV, same columns as
        /// the letters of `open`).
        #[arg(long, value_name = "FILE")]
        replacement_letter: Option<PathBuf>,
        /// The revoked credential's region, if it is not on the listed electorate (a
        /// replacement credential enrolled after the freeze) [default: looked up].
        #[arg(long, requires = "replacement_letter")]
        region: Option<String>,
        /// The server address printed on the letter [default: --server].
        #[arg(long, value_name = "URL")]
        public_url: Option<String>,
    },
    /// Show an electorate: state (enrolling or frozen), codes committed and credentials
    /// enrolled per region, revocations, unused codes, hash.
    Show {
        /// Electorate id.
        #[arg(value_name = "ID", required_unless_present = "id_flag")]
        id: Option<String>,
        /// Electorate id (same as the positional ID).
        #[arg(long = "id", value_name = "ID", conflicts_with = "id")]
        id_flag: Option<String>,
    },
}

/// `N` or `N:REGION` of `--codes`.
fn parse_codes(s: &str) -> Result<(Option<String>, u64), String> {
    let (n, region) = match s.split_once(':') {
        Some((n, r)) if !r.trim().is_empty() => (n, Some(r.trim().to_owned())),
        Some(_) => return Err(format!("{s:?}: the region after ':' is empty")),
        None => (s, None),
    };
    let n: u64 = n
        .trim()
        .parse()
        .map_err(|_| format!("{s:?}: expected N or N:REGION, N a number of codes"))?;
    if n == 0 {
        return Err(format!("{s:?}: at least one code"));
    }
    Ok((region, n))
}

/// `vox authority petition …`
#[derive(Debug, Subcommand)]
pub enum PetitionCommand {
    /// Show a petition (no key: from the public API): its text, state, sponsors and
    /// signatures, thresholds (sponsors, response, referendum), deadlines (UTC),
    /// regions and minimum group size.
    Show {
        /// Petition id.
        id: String,
    },
    /// Publish a sponsored petition or reject it with a public reason (petitions
    /// office key). A publication fixes the closing time (by default the petition stays
    /// open for its whole `open_for_ms`, less a minute for clock differences) and the
    /// referendum its referendum threshold obliges: when the petition reaches it, the
    /// board creates that referendum by itself, with the standing trustee panel
    /// (`vox authority panel`; a publication is refused without one), voting opening
    /// --opens-after the threshold and lasting --voting.
    Moderate {
        /// Petition id.
        id: String,
        /// Publish it.
        #[arg(long, conflicts_with = "reject", required_unless_present = "reject")]
        publish: bool,
        /// Close at this time (Unix ms or YYYY-MM-DDTHH:MM:SSZ, UTC) [default: now +
        /// the petition's open_for_ms].
        #[arg(long, conflicts_with = "open_for", value_name = "TIME")]
        closes_at: Option<String>,
        /// Stay open this long from now (30d, 12h, 1d12h…; at most the petition's
        /// open_for_ms) [default: the petition's open_for_ms].
        #[arg(long, value_name = "DURATION")]
        open_for: Option<String>,
        /// Reject with this public reason.
        #[arg(long)]
        reject: Option<String>,
        /// The referendum the threshold triggers, with --publish.
        #[command(flatten)]
        terms: Box<TermsArgs>,
    },
    /// Record the official response (petitions office key).
    Respond {
        /// Petition id.
        id: String,
        /// The response.
        #[arg(long)]
        text: String,
    },
    /// Invalidate signatures, published with the reason and count (petitions office
    /// key).
    Invalidate {
        /// Petition id.
        id: String,
        /// Credential public keys (hex) whose signatures no longer count (a petition
        /// with public signatures).
        #[arg(
            long = "credential",
            value_name = "HEX",
            required_unless_present = "tags",
            conflicts_with = "tags"
        )]
        credentials: Vec<String>,
        /// Linking tags (hex, from their `petition-ring-signed` entries) whose signatures
        /// no longer count (a ring-signed petition, protocol-spec/07 §7.10).
        #[arg(long = "tag", value_name = "HEX")]
        tags: Vec<String>,
        /// Public reason.
        #[arg(long)]
        reason: String,
    },
    /// Close a petition past its deadline (no key: anyone may trigger it; the server
    /// also does it by itself).
    Close {
        /// Petition id.
        id: String,
    },
    /// The bounds every new proposal must respect (thresholds, periods), published on
    /// the board: `set` (petitions office key) or `show` (no key).
    #[command(subcommand)]
    Policy(PolicyCommand),
}

/// The referendum terms of a publication (`petition moderate --publish`, 07 §7.4).
#[derive(Debug, Args)]
pub struct TermsArgs {
    /// The id of the referendum the threshold triggers (1 to 64 bytes) [default:
    /// r-PETITION].
    #[arg(long, value_name = "ID", conflicts_with = "reject")]
    pub referendum_id: Option<String>,
    /// Its yes/no question [default: the petition's action as a question].
    #[arg(long, value_name = "TEXT", conflicts_with = "reject")]
    pub referendum_question: Option<String>,
    /// An extra choose-one question (with --referendum-option, at least two).
    #[arg(long, value_name = "TEXT", requires = "referendum_options")]
    pub referendum_choose_one: Option<String>,
    /// Options of the choose-one question.
    #[arg(long = "referendum-option", value_name = "TEXT")]
    pub referendum_options: Vec<String>,
    /// Its title [default: the petition's action].
    #[arg(long, value_name = "TEXT", conflicts_with = "reject")]
    pub referendum_title: Option<String>,
    /// Its description [default: the petition's background].
    #[arg(long, value_name = "TEXT", conflicts_with = "reject")]
    pub referendum_description: Option<String>,
    /// Voting opens this long after the threshold is reached (the trustees' key
    /// ceremony runs in between: 7d, 12h, 30s…).
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "7d",
        conflicts_with = "reject"
    )]
    pub opens_after: String,
    /// Voting lasts this long.
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "14d",
        conflicts_with = "reject"
    )]
    pub voting: String,
    /// The triggered referendum takes anonymous ballots (protocol-spec/04 §4.10: a ring
    /// signature and a linking tag instead of the credential), e.g. for a ring-signed
    /// petition whose signers name no one.
    #[arg(long, conflicts_with = "reject")]
    pub anonymous_referendum: bool,
}

/// The longest referendum id, in bytes (07 §7.4).
pub const MAX_REFERENDUM_ID_BYTES: usize = 64;

/// `r-PETITION`, cut to [`MAX_REFERENDUM_ID_BYTES`] on a character boundary.
pub fn default_referendum_id(petition_id: &str) -> String {
    let mut id = format!("r-{petition_id}");
    let mut end = id.len().min(MAX_REFERENDUM_ID_BYTES);
    while !id.is_char_boundary(end) {
        end -= 1;
    }
    id.truncate(end);
    id
}

/// A petition's action as a yes/no question: "Build a lane" → "Build a lane?".
pub fn action_as_question(action: &str) -> String {
    let a = action.trim().trim_end_matches(['.', '!', '?']);
    format!("{a}?")
}

/// The single yes/no question of a triggered referendum.
pub fn yes_no(text: String) -> Vec<Question> {
    vec![Question {
        id: "q1".into(),
        text,
        options: vec!["yes".into(), "no".into()],
        kind: QuestionKind::YesNo,
    }]
}

/// The terms `a` describes for petition `id` (defaults from the petition), validated.
fn referendum_terms(public: &Client, id: &str, a: &TermsArgs) -> Result<ReferendumTerms> {
    let p = public.petition(id)?.petition;
    let mut questions = yes_no(
        a.referendum_question
            .clone()
            .unwrap_or_else(|| action_as_question(&p.action)),
    );
    if let Some(text) = &a.referendum_choose_one {
        questions.push(Question {
            id: "q2".into(),
            text: text.clone(),
            options: a.referendum_options.clone(),
            kind: QuestionKind::ChooseOne {
                blank_allowed: false,
            },
        });
    }
    let terms = ReferendumTerms {
        referendum_id: a
            .referendum_id
            .clone()
            .unwrap_or_else(|| default_referendum_id(id)),
        title: a
            .referendum_title
            .clone()
            .unwrap_or_else(|| p.action.clone()),
        description: a
            .referendum_description
            .clone()
            .unwrap_or_else(|| p.background.clone()),
        questions,
        opens_after_ms: clock::parse_duration(&a.opens_after).context("--opens-after")?,
        voting_ms: clock::parse_duration(&a.voting).context("--voting")?,
        participation: if a.anonymous_referendum {
            Participation::Anonymous
        } else {
            Participation::Pseudonymous
        },
    };
    terms
        .validate()
        .map_err(|e| anyhow!("the referendum terms are not valid: {e}"))?;
    Ok(terms)
}

/// Print the terms of a publication.
pub fn print_terms(t: &ReferendumTerms) {
    println!(
        "on reaching its referendum threshold it triggers referendum {}: {}",
        t.referendum_id, t.title
    );
    for q in &t.questions {
        println!(
            "  question {}: {} ({})",
            q.id,
            q.text,
            q.options.join(" / ")
        );
    }
    println!(
        "  voting opens {} after the threshold is reached and lasts {}; the trustees are the \
         standing panel in force then",
        clock::format_duration(t.opens_after_ms),
        clock::format_duration(t.voting_ms)
    );
}

/// Read the trustees' public key files, in index order.
fn read_trustees(paths: &[PathBuf]) -> Result<Vec<TrusteeInfo>> {
    if paths.is_empty() {
        bail!("name the trustees' public key files with --trustee FILE (one per trustee)");
    }
    paths
        .iter()
        .enumerate()
        .map(|(i, path)| {
            let f = files::load_trustee_public(path)?;
            Ok(TrusteeInfo {
                index: i as u32 + 1,
                name: f.name,
                signing_key: f.signing_key,
                communication_key: f.communication_key,
            })
        })
        .collect()
}

/// The panel `a` describes, validated.
fn panel_from_args(a: &PanelArgs) -> Result<TrusteePanel> {
    let trustees = read_trustees(&a.trustees)?;
    let threshold = a
        .threshold
        .unwrap_or_else(|| (trustees.len() as u32 / 2) + 1);
    let panel = TrusteePanel {
        trustees,
        threshold,
        answer_due_ms: clock::parse_duration(&a.answer_within).context("--answer-within")?,
        decryption_due_ms: clock::parse_duration(&a.decryption_within)
            .context("--decryption-within")?,
    };
    panel
        .validate()
        .map_err(|e| anyhow!("the panel is not valid: {e}"))?;
    Ok(panel)
}

/// Print a panel.
pub fn print_panel(p: &TrusteePanel) {
    println!(
        "trustee panel: {} of {} trustees decrypt; complaints answered within {}, decryption \
         shares due {} after the tally",
        p.threshold,
        p.trustees.len(),
        clock::format_duration(p.answer_due_ms),
        clock::format_duration(p.decryption_due_ms)
    );
    for t in &p.trustees {
        println!(
            "  {} {} signing {} communication {}",
            t.index,
            t.name,
            t.signing_key.to_hex(),
            t.communication_key.to_hex()
        );
    }
}

/// The panel in a `GET /api/v1/panel` answer (`{"panel": …}` or the panel itself).
pub fn panel_of(v: &serde_json::Value) -> Option<TrusteePanel> {
    let p = v.get("panel").unwrap_or(v);
    if p.is_null() {
        return None;
    }
    serde_json::from_value(p.clone()).ok()
}

/// `vox authority panel`.
fn panel(public: &Client, authority: impl Fn() -> Result<Signing>, a: &PanelArgs) -> Result<()> {
    if a.show {
        match public.panel()?.as_ref().and_then(panel_of) {
            Some(p) => print_panel(&p),
            None => println!("no trustee panel in force: petitions cannot be published yet"),
        }
        return Ok(());
    }
    let ea = authority()?;
    let panel = panel_from_args(a)?;
    ea.explain(ea.client.set_panel(&panel))?;
    print_panel(&panel);
    println!(
        "in force from now on: every referendum a petition triggers gets these trustees and \
         deadlines"
    );
    Ok(())
}

/// `vox authority petition policy …`
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Publish the bounds later proposals must respect, as a signed
    /// `petition-policy-set` act (petitions office key). It replaces the policy in
    /// force whole: a bound not given here is lifted. Petitions already proposed keep
    /// the rules they were proposed under. The server refuses a proposal outside the
    /// bounds, and the verifier fails a record in which one was accepted (V6.7).
    Set(Box<PolicyArgs>),
    /// Show the policy in force (no key).
    Show,
}

/// Bounds of `vox authority petition policy set` (none given: an error, unless --none).
#[derive(Debug, Args)]
pub struct PolicyArgs {
    /// Least number of sponsors a proposal may ask for before moderation.
    #[arg(long, value_name = "N")]
    pub min_sponsors: Option<u32>,
    /// Least response threshold (signatures that oblige an official response).
    #[arg(long, value_name = "N")]
    pub min_response: Option<u32>,
    /// Greatest response threshold.
    #[arg(long, value_name = "N")]
    pub max_response: Option<u32>,
    /// Least referendum threshold (signatures that trigger a referendum).
    #[arg(long, value_name = "N")]
    pub min_referendum: Option<u32>,
    /// Greatest referendum threshold.
    #[arg(long, value_name = "N")]
    pub max_referendum: Option<u32>,
    /// Shortest time a petition stays open once published (30d, 12h, 1d12h…).
    #[arg(long, value_name = "DURATION")]
    pub min_open_for: Option<String>,
    /// Longest time a petition stays open once published.
    #[arg(long, value_name = "DURATION")]
    pub max_open_for: Option<String>,
    /// Shortest response period a proposal may give the office.
    #[arg(long, value_name = "DURATION")]
    pub min_response_due: Option<String>,
    /// Longest response period (how long the office may take to answer).
    #[arg(long, value_name = "DURATION")]
    pub max_response_due: Option<String>,
    /// Least regional minimum group size (regions with fewer signers are not shown).
    #[arg(long, value_name = "N")]
    pub min_region_group: Option<u32>,
    /// Lift every bound (publish an empty policy).
    #[arg(long, conflicts_with_all = ["min_sponsors", "min_response", "max_response",
        "min_referendum", "max_referendum", "min_open_for", "max_open_for",
        "min_response_due", "max_response_due", "min_region_group"])]
    pub none: bool,
}

impl PolicyArgs {
    /// The policy these flags describe (durations parsed, the policy's own rules checked).
    pub fn policy(&self) -> Result<PetitionPolicy> {
        let dur = |flag: &str, v: &Option<String>| -> Result<Option<i64>> {
            v.as_deref()
                .map(|d| clock::parse_duration(d).with_context(|| format!("--{flag}")))
                .transpose()
        };
        let p = PetitionPolicy {
            min_sponsor_threshold: self.min_sponsors,
            min_response_threshold: self.min_response,
            max_response_threshold: self.max_response,
            min_referendum_threshold: self.min_referendum,
            max_referendum_threshold: self.max_referendum,
            min_open_for_ms: dur("min-open-for", &self.min_open_for)?,
            max_open_for_ms: dur("max-open-for", &self.max_open_for)?,
            min_response_due_ms: dur("min-response-due", &self.min_response_due)?,
            max_response_due_ms: dur("max-response-due", &self.max_response_due)?,
            min_region_min_group: self.min_region_group,
        };
        if p.is_empty() && !self.none {
            bail!(
                "no bound given: name at least one (--min-referendum 1000, --max-response-due \
                 30d, …; see --help), or --none to lift every bound"
            );
        }
        p.validate().map_err(|e| anyhow!("{e}"))?;
        Ok(p)
    }
}

/// One line per bound of a policy (`policy` as the API shows it), or "no bounds".
fn print_policy(v: &serde_json::Value) {
    let Some(inforce) = v.get("policy").filter(|p| !p.is_null()) else {
        println!("no petition policy: proposals are bound only by the protocol's rules");
        return;
    };
    let leaf = inforce.get("leaf_index").and_then(|x| x.as_u64());
    let at = inforce
        .get("set_at")
        .and_then(|x| x.as_i64())
        .map(clock::format_utc)
        .unwrap_or_default();
    println!(
        "petition policy set at leaf {} ({at}):",
        leaf.map_or("?".into(), |l| l.to_string())
    );
    let bounds = inforce.get("policy").and_then(|p| p.as_object());
    let Some(bounds) = bounds.filter(|b| !b.is_empty()) else {
        println!("  no bounds (every bound lifted)");
        return;
    };
    for (k, val) in bounds {
        let shown = match val.as_i64() {
            Some(ms) if k.ends_with("_ms") => clock::format_duration(ms),
            _ => val.to_string(),
        };
        println!("  {k:<26} {shown}");
    }
}

/// `vox authority referendum …`
#[derive(Debug, Subcommand)]
pub enum ReferendumCommand {
    /// Create a stand-alone referendum from a manifest file or from flags (election
    /// authority key). A referendum a petition obliges is not created by anyone: the
    /// board creates it by itself when the petition reaches its threshold.
    Create(Box<CreateReferendumArgs>),
    /// Ask the board to open voting now (no key). The board opens a referendum by
    /// itself at its manifest's opens_at once the key ceremony is complete; before that
    /// time the server refuses (409).
    Open {
        /// Referendum id.
        id: String,
    },
    /// Ask the board to close voting now (no key). The board closes a referendum by
    /// itself at its manifest's closes_at, never before (the server answers 409), and
    /// then computes the tally.
    Close {
        /// Referendum id.
        id: String,
    },
    /// Wait until the board has moved a referendum to a state by itself (no key): `open`
    /// (at opens_at, once the ceremony is complete), `closed` or `tallied` (at
    /// closes_at), `published` (once enough decryption shares are in).
    Wait {
        /// Referendum id.
        id: String,
        /// The state to wait for (ready, open, closed, tallied, published); a later state
        /// also ends the wait.
        #[arg(long, value_name = "STATE")]
        until: String,
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 3600)]
        timeout: u64,
    },
    /// Compute the encrypted tally of a closed referendum (no key).
    Tally {
        /// Referendum id.
        id: String,
    },
    /// Combine the trustees' decryption shares and publish the result (no key).
    Publish {
        /// Referendum id.
        id: String,
    },
    /// Show a referendum's state.
    Show {
        /// Referendum id.
        id: String,
    },
}

/// Arguments of `vox authority referendum create`.
#[derive(Debug, Args)]
pub struct CreateReferendumArgs {
    /// A complete manifest (JSON).
    #[arg(long, conflicts_with = "question")]
    pub manifest: Option<PathBuf>,
    /// The yes/no question.
    #[arg(long, required_unless_present = "manifest")]
    pub question: Option<String>,
    /// An extra choose-one question (with --option, at least two).
    #[arg(long, requires = "options")]
    pub choose_one: Option<String>,
    /// Options of the choose-one question.
    #[arg(long = "option")]
    pub options: Vec<String>,
    /// Referendum id [default: random].
    #[arg(long)]
    pub id: Option<String>,
    /// Title [default: the question].
    #[arg(long)]
    pub title: Option<String>,
    /// Description [default: empty].
    #[arg(long)]
    pub description: Option<String>,
    /// Electorate id.
    #[arg(long, required_unless_present = "manifest")]
    pub electorate: Option<String>,
    /// Trustee public key files (`vox trustee keygen` writes FILE.pub), in index order.
    #[arg(long = "trustee", value_name = "FILE")]
    pub trustees: Vec<PathBuf>,
    /// Trustees needed to decrypt (k of n) [default: majority of the trustees, ⌊n/2⌋+1].
    #[arg(long)]
    pub threshold: Option<u32>,
    /// Voting opens this long from now (the manifest's opens_at): the trustees' key
    /// ceremony must be complete by then, and the board opens voting by itself at that
    /// time (a late opening fails verification step V15). 0s opens as soon as the
    /// ceremony completes.
    #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = parse_delay)]
    pub opens_in: i64,
    /// Days voting stays open, counted from opens_at (both times are printed before
    /// anything is sent).
    #[arg(long, default_value_t = 14)]
    pub days: u32,
    /// Voting lasts this long from opens_at instead (30m, 12h, 45s…).
    #[arg(long, value_name = "DURATION", conflicts_with_all = ["days", "closes_at"])]
    pub voting: Option<String>,
    /// Close voting at this absolute time instead (Unix ms or YYYY-MM-DDTHH:MM:SSZ,
    /// UTC); it must lie in the future.
    #[arg(long, value_name = "TIME", conflicts_with = "days")]
    pub closes_at: Option<String>,
    /// Anonymous participation (04 §4.10): ballots carry a ring signature and a
    /// per-referendum linking tag instead of the credential, so the board does not show
    /// who voted. Each ballot costs a ring-signature check (BENCHMARKS.md); replacement
    /// credentials enrolled after the referendum is created cannot vote in it.
    #[arg(long)]
    pub anonymous: bool,
    /// Write the manifest here as well.
    #[arg(long)]
    pub save_manifest: Option<PathBuf>,
}

/// The role key file for an act of `role`: `--key`, else `$VOX_ROLE_KEY`.
fn role_key(flag: Option<&Path>, role: Role) -> Result<RoleKey> {
    let path = match flag {
        Some(p) => p.to_owned(),
        None => match std::env::var_os(ROLE_KEY_ENV).filter(|v| !v.is_empty()) {
            Some(p) => PathBuf::from(p),
            None => bail!(
                "this command is an act of {who} and must be signed with {who}'s key: pass \
                 --key FILE or set {ROLE_KEY_ENV} (make the key with `vox keys new --role {role} \
                 --out FILE`; its public key must be in the log's genesis)",
                who = role_phrase(role),
            ),
        },
    };
    let key = files::load_role_key(&path)?;
    if key.role != role {
        eprintln!(
            "warning: {} holds a {} key, but this act needs {}'s; the server will refuse it",
            path.display(),
            key.role,
            role_phrase(role)
        );
    }
    Ok(key)
}

/// A client signing with `key`; on a 403 the error says which key was used.
struct Signing {
    client: Client,
    role: Role,
    path: PathBuf,
    file_role: Role,
}

impl Signing {
    fn new(server: &str, flag: Option<&Path>, role: Role) -> Result<Self> {
        let key = role_key(flag, role)?;
        let file_role = key.role;
        let path = key.path.clone();
        Ok(Self {
            client: Client::new(server).with_key(key.key.clone()),
            role,
            path,
            file_role,
        })
    }

    /// Add which key signed to a refusal of its signature.
    fn explain<T>(&self, r: Result<T>) -> Result<T> {
        r.map_err(|e| {
            if api_status(&e) == Some(403) {
                let hint = if self.file_role == self.role {
                    format!(
                        "{} is not {}'s current key in this log (was it rotated, or is it \
                         another log's key?)",
                        self.path.display(),
                        role_phrase(self.role)
                    )
                } else {
                    format!(
                        "{} is a {} key; this act needs {}'s key",
                        self.path.display(),
                        self.file_role,
                        role_phrase(self.role)
                    )
                };
                e.context(hint)
            } else {
                e
            }
        })
    }
}

/// Run an authority command.
pub fn run(args: AuthorityArgs) -> Result<()> {
    let server = args.server.clone().unwrap_or_else(default_server);
    let public = Client::new(&server);
    let key = args.key.as_deref();
    let signing = |role: Role| Signing::new(&server, key, role);
    match args.command {
        AuthorityCommand::Electorate(ElectorateCommand::Create {
            requests,
            out,
            id,
            name,
            no_publish,
        }) => {
            // Read the key before writing anything: a missing key fails early.
            let registrar = if no_publish {
                None
            } else {
                Some(signing(Role::Registrar)?)
            };
            let requests = read_requests(&requests)?;
            let electorate = electorate_from_requests(&id, &name, &requests)?;
            std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
            files::write_json(&out.join("electorate.json"), &electorate)?;
            println!(
                "{} enrolment requests checked; public list in {}",
                electorate.entries.len(),
                out.join("electorate.json").display()
            );
            if let Some(r) = registrar {
                let c = r.explain(r.client.create_electorate(&electorate))?;
                println!(
                    "published electorate {} (hash {})",
                    c.electorate_id, c.electorate_hash
                );
            }
            Ok(())
        }
        AuthorityCommand::Electorate(ElectorateCommand::Show { id, id_flag }) => {
            let id = id
                .or(id_flag)
                .ok_or_else(|| anyhow!("name the electorate: --id ID"))?;
            show_electorate(&public.electorate(&id)?);
            Ok(())
        }
        AuthorityCommand::Electorate(ElectorateCommand::Open {
            id,
            name,
            codes,
            letters,
            public_url,
        }) => open_electorate(
            &signing(Role::Registrar)?,
            &id,
            &name,
            &codes,
            &letters,
            public_url.as_deref().unwrap_or(&server),
        ),
        AuthorityCommand::Electorate(ElectorateCommand::Freeze { id }) => {
            freeze_electorate(&public, &signing(Role::Registrar)?, &id)
        }
        AuthorityCommand::Electorate(ElectorateCommand::Revoke {
            id,
            credential,
            reason,
            replacement_letter,
            region,
            public_url,
        }) => revoke_credential(
            &public,
            &signing(Role::Registrar)?,
            &RevokeArgs {
                id,
                credential,
                reason,
                replacement_letter,
                region,
                public_url: public_url.unwrap_or_else(|| server.clone()),
            },
        ),
        AuthorityCommand::Petition(cmd) => {
            let summary = match cmd {
                PetitionCommand::Moderate {
                    id,
                    publish,
                    closes_at,
                    open_for,
                    reject,
                    terms,
                } => {
                    let office = signing(Role::PetitionsOffice)?;
                    let m = match (publish, reject) {
                        (true, _) => {
                            let closes_at = closing_time(
                                &public,
                                &id,
                                closes_at.as_deref(),
                                open_for.as_deref(),
                            )?;
                            let referendum = referendum_terms(&public, &id, &terms)?;
                            print_terms(&referendum);
                            Moderation::Publish {
                                closes_at,
                                referendum,
                            }
                        }
                        (false, Some(reason)) => Moderation::Reject { reason },
                        (false, None) => bail!("pass --publish or --reject REASON"),
                    };
                    office.explain(office.client.moderate(&id, &m))?
                }
                PetitionCommand::Respond { id, text } => {
                    let office = signing(Role::PetitionsOffice)?;
                    office.explain(office.client.respond(&id, &text))?
                }
                PetitionCommand::Invalidate {
                    id,
                    credentials,
                    tags,
                    reason,
                } => {
                    let office = signing(Role::PetitionsOffice)?;
                    let keys = credentials
                        .iter()
                        .map(|h| parse_credential(h))
                        .collect::<Result<Vec<_>>>()?;
                    let tags = tags
                        .iter()
                        .map(|h| {
                            hex::decode(h.trim())
                                .ok()
                                .and_then(|b| LinkingTag::try_from_bytes(&b).ok())
                                .ok_or_else(|| {
                                    anyhow!(
                                        "--tag {h}: not a linking tag (64 hex digits of a \
                                         Ristretto point, as in a petition-ring-signed entry)"
                                    )
                                })
                        })
                        .collect::<Result<Vec<_>>>()?;
                    office.explain(office.client.invalidate(&id, &keys, &tags, &reason))?
                }
                PetitionCommand::Close { id } => public.close_petition(&id)?,
                PetitionCommand::Policy(PolicyCommand::Show) => {
                    print_policy(&public.petition_policy()?);
                    return Ok(());
                }
                PetitionCommand::Policy(PolicyCommand::Set(a)) => {
                    let policy = a.policy()?;
                    let office = signing(Role::PetitionsOffice)?;
                    let set = office.explain(office.client.set_petition_policy(&policy))?;
                    print_policy(&set);
                    println!(
                        "proposals from now on must respect it; earlier petitions keep their rules"
                    );
                    return Ok(());
                }
                PetitionCommand::Show { id } => return show_petition(&public, &id),
            };
            print_summary(&summary);
            Ok(())
        }
        AuthorityCommand::Panel(a) => panel(&public, || signing(Role::ElectionAuthority), &a),
        AuthorityCommand::Witnesses(a) => witnesses(&public, || signing(Role::Operator), &a),
        AuthorityCommand::Referendum(cmd) => {
            referendum(&public, || signing(Role::ElectionAuthority), cmd)
        }
        AuthorityCommand::RotateKey { role, new_key } => rotate_key(&server, key, role, &new_key),
        AuthorityCommand::Export {
            referendum,
            petition,
            out,
        } => {
            let s = export(&public, referendum.as_deref(), petition.as_deref(), &out)?;
            println!(
                "exported {} entries and {} signed tree heads to {}",
                s.entries,
                s.tree_heads,
                out.display()
            );
            println!("verify it with: vox-verify {}", out.display());
            Ok(())
        }
    }
}

/// The `closes_at` of a publication: `--closes-at`, else now + `--open-for`, else now +
/// the petition's `open_for_ms` less a margin for the difference between this
/// machine's clock and the server's (which must find it in (now, now + open_for_ms]).
/// Printed before anything is sent.
fn closing_time(
    public: &Client,
    id: &str,
    closes_at: Option<&str>,
    open_for: Option<&str>,
) -> Result<i64> {
    let p = public.petition(id)?;
    let max = p.petition.open_for_ms;
    let now = now_ms();
    let latest = now.saturating_add(max);
    let (t, why) = match (closes_at, open_for) {
        (Some(t), _) => (clock::parse_time(t)?, "--closes-at".to_owned()),
        (None, Some(d)) => {
            let d = clock::parse_duration(d)?;
            (
                now.saturating_add(d),
                format!("open for {}", clock::format_duration(d)),
            )
        }
        (None, None) => {
            let margin = (max / 100).clamp(0, 60_000);
            (
                latest - margin,
                format!(
                    "the petition's open period of {}",
                    clock::format_duration(max)
                ),
            )
        }
    };
    if t <= now {
        bail!(
            "petition {id} would close at {}, which is not in the future",
            clock::format_utc(t)
        );
    }
    if t > latest {
        bail!(
            "petition {id} may stay open for at most {} (its open_for_ms): close it at {} \
             or earlier",
            clock::format_duration(max),
            clock::format_utc(latest)
        );
    }
    println!(
        "petition {id} will close at {} ({t} ms; {why})",
        clock::format_utc(t)
    );
    Ok(t)
}

/// `vox authority rotate-key`.
fn rotate_key(server: &str, key: Option<&Path>, role: Role, new_key: &Path) -> Result<()> {
    if role == Role::Operator {
        bail!(
            "the operator key cannot be rotated within a log: start a new log whose genesis \
             names this one as its predecessor"
        );
    }
    let old = role_key(key, role)?;
    if old.role != role {
        bail!(
            "{} holds a {} key, not the {role} key to rotate",
            old.path.display(),
            old.role
        );
    }
    let new = files::load_role_key(new_key)?;
    if new.role != role {
        bail!(
            "{} holds a {} key; make a new {role} key with `vox keys new --role {role} --out \
             FILE`",
            new_key.display(),
            new.role
        );
    }
    if new.public() == old.public() {
        bail!("the new key is the current key");
    }
    let signing = Signing {
        client: Client::new(server).with_key(old.key.clone()),
        role,
        path: old.path.clone(),
        file_role: old.role,
    };
    let r = signing.explain(signing.client.rotate_key(role, &new.key))?;
    println!(
        "{} key rotated (board leaf {}): {} is now {}'s key",
        role,
        r.leaf_index,
        r.roles.get(role).to_hex(),
        role_phrase(role)
    );
    println!(
        "sign {}'s acts with {} from now on; the old key {} no longer counts (destroy it)",
        role_phrase(role),
        new_key.display(),
        old.path.display()
    );
    Ok(())
}

fn print_summary(v: &PetitionSummary) {
    println!(
        "petition {}: {}, {} signature(s)",
        v.id,
        v.stage.as_str(),
        v.count
    );
}

fn referendum(
    public: &Client,
    authority: impl Fn() -> Result<Signing>,
    cmd: ReferendumCommand,
) -> Result<()> {
    match cmd {
        ReferendumCommand::Create(a) => {
            let ea = authority()?;
            let manifest = match &a.manifest {
                Some(path) => files::read_json::<Manifest>(path)?,
                None => build_manifest(public, &a)?,
            };
            manifest
                .validate()
                .map_err(|e| anyhow!("the manifest is not valid: {e}"))?;
            if let Some(p) = &a.save_manifest {
                files::write_json(p, &manifest)?;
            }
            print!("{}", voting_period(&manifest, now_ms()));
            let created = ea.explain(ea.client.create_referendum(&manifest))?;
            println!(
                "created referendum {} (manifest hash {}), state {}",
                created.referendum_id,
                created.manifest_hash,
                created.state.as_str()
            );
            println!(
                "next: each trustee runs `vox trustee ceremony --referendum {} --key KEY --state STATE --wait`",
                created.referendum_id
            );
            Ok(())
        }
        ReferendumCommand::Open { id } => {
            let manifest = public.referendum(&id)?.manifest;
            if let Some(w) = late_opening_warning(&manifest, now_ms()) {
                eprintln!("{w}");
            }
            public.referendum_action(&id, "open").map_err(|e| {
                if api_status(&e) == Some(409) {
                    e.context(format!(
                        "the board opens referendum {id} by itself at {} once its key ceremony \
                         is complete",
                        clock::describe_time(manifest.opens_at, now_ms())
                    ))
                } else {
                    e
                }
            })?;
            println!(
                "referendum {id} is open for voting until {}",
                clock::describe_time(manifest.closes_at, now_ms())
            );
            Ok(())
        }
        ReferendumCommand::Close { id } => {
            let closes_at = public.referendum(&id)?.manifest.closes_at;
            let now = now_ms();
            if now < closes_at {
                bail!(
                    "referendum {id} closes at {} ({}); nothing closes a referendum earlier, and \
                     the board closes it by itself then",
                    clock::format_utc(closes_at),
                    clock::relative(closes_at, now)
                );
            }
            public.referendum_action(&id, "close")?;
            println!("referendum {id} is closed");
            Ok(())
        }
        ReferendumCommand::Wait { id, until, timeout } => {
            const ORDER: [&str; 6] = [
                "key-ceremony",
                "ready",
                "open",
                "closed",
                "tallied",
                "published",
            ];
            let want = ORDER
                .iter()
                .position(|s| *s == until)
                .ok_or_else(|| anyhow!("--until {until}: one of {}", ORDER.join(", ")))?;
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(timeout);
            let mut told = false;
            loop {
                let d = public.referendum(&id)?;
                let state = d.state_name();
                if state == "failed" {
                    bail!("referendum {id}: the key ceremony failed");
                }
                if ORDER
                    .iter()
                    .position(|s| *s == state)
                    .is_some_and(|i| i >= want)
                {
                    println!("referendum {id} is {state}");
                    return Ok(());
                }
                if !told {
                    let when = match until.as_str() {
                        "open" => format!(
                            " (opens_at {})",
                            clock::describe_time(d.manifest.opens_at, now_ms())
                        ),
                        "closed" | "tallied" => format!(
                            " (closes_at {})",
                            clock::describe_time(d.manifest.closes_at, now_ms())
                        ),
                        _ => String::new(),
                    };
                    eprintln!("referendum {id} is {state}; waiting for the board to make it {until}{when}");
                    told = true;
                }
                if std::time::Instant::now() >= deadline {
                    bail!("referendum {id} is still {state} after {timeout} s");
                }
                std::thread::sleep(std::time::Duration::from_millis(250));
            }
        }
        ReferendumCommand::Tally { id } => {
            let t = public.compute_tally(&id)?;
            println!(
                "encrypted tally of {id}: {} counted ballots, {} ciphertexts; trustees can now post decryption shares",
                t.counted_ballots,
                t.ciphertexts.len()
            );
            Ok(())
        }
        ReferendumCommand::Publish { id } => {
            let r = public.publish(&id)?;
            let d = public.referendum(&id)?;
            print_result(&d.manifest, &r, None);
            Ok(())
        }
        ReferendumCommand::Show { id } => {
            let d = public.referendum(&id)?;
            println!(
                "referendum {id}: {} — state {}, ceremony {}, {} ballots cast",
                d.manifest.title,
                d.state_name(),
                d.ceremony_phase.as_str(),
                d.ballots_cast
            );
            if let Some(r) = &d.result {
                print_result(&d.manifest, r, None);
            }
            Ok(())
        }
    }
}

/// The voting period of a manifest, printed before it is sent: absolute UTC times, how
/// far they are from `now`, and how long voting lasts.
pub fn voting_period(m: &Manifest, now: i64) -> String {
    format!(
        "voting period of {}: {}\n  opens  {}\n  closes {}\n  (the period is fixed by the manifest: the board opens and closes voting at these times)\n",
        m.referendum_id,
        clock::format_duration(m.closes_at.saturating_sub(m.opens_at)),
        clock::describe_time(m.opens_at, now),
        clock::describe_time(m.closes_at, now)
    )
}

/// How late an opening may be before `referendum open` warns.
pub const LATE_OPENING_MS: i64 = 10 * 60 * 1000;

/// A warning when a referendum is opened well after the opens_at its manifest announced:
/// the period still ends at closes_at, so voting time is lost.
pub fn late_opening_warning(m: &Manifest, now: i64) -> Option<String> {
    if now.saturating_sub(m.opens_at) <= LATE_OPENING_MS {
        return None;
    }
    let announced = format!(
        "warning: referendum {} was announced to open at {}; its voting period counts from the \
         manifest's times, not from this command",
        m.referendum_id,
        clock::describe_time(m.opens_at, now)
    );
    Some(if m.closes_at <= now {
        format!(
            "{announced}, and it ended at {}: no ballot can be cast",
            clock::describe_time(m.closes_at, now)
        )
    } else {
        format!(
            "{announced}: voting closes at {}, leaving {} of the {} announced",
            clock::describe_time(m.closes_at, now),
            clock::format_duration(m.closes_at - now),
            clock::format_duration(m.closes_at.saturating_sub(m.opens_at))
        )
    })
}

fn build_manifest(client: &Client, a: &CreateReferendumArgs) -> Result<Manifest> {
    let question = a
        .question
        .clone()
        .ok_or_else(|| anyhow!("pass --question (or --manifest FILE)"))?;
    let eid = a
        .electorate
        .as_deref()
        .ok_or_else(|| anyhow!("pass --electorate ID"))?;
    let electorate_hash = client.electorate(eid)?.electorate_hash;
    let trustees = read_trustees(&a.trustees)?;
    let threshold = a
        .threshold
        .unwrap_or_else(|| (trustees.len() as u32 / 2) + 1);
    let mut questions = yes_no(question.clone());
    if let Some(text) = &a.choose_one {
        questions.push(Question {
            id: "q2".into(),
            text: text.clone(),
            options: a.options.clone(),
            kind: QuestionKind::ChooseOne {
                blank_allowed: false,
            },
        });
    }
    let now = now_ms();
    let opens_at = now.saturating_add(a.opens_in);
    let closes_at = match a.closes_at.as_deref() {
        None => match a.voting.as_deref() {
            Some(d) => opens_at.saturating_add(clock::parse_duration(d).context("--voting")?),
            None => opens_at + i64::from(a.days.max(1)) * DAY_MS,
        },
        Some(t) => {
            let t = clock::parse_time(t).context("--closes-at")?;
            if t <= opens_at {
                if t <= now {
                    bail!(
                        "--closes-at {} is not in the future (now is {})",
                        clock::format_utc(t),
                        clock::format_utc(now)
                    );
                }
                bail!(
                    "--closes-at {} is not after the opening ({})",
                    clock::format_utc(t),
                    clock::format_utc(opens_at)
                );
            }
            t
        }
    };
    Ok(Manifest {
        version: MANIFEST_VERSION,
        referendum_id: a
            .id
            .clone()
            .unwrap_or_else(|| format!("r-{}", crate::voter::random_hex(4))),
        title: a.title.clone().unwrap_or(question),
        description: a.description.clone().unwrap_or_default(),
        questions,
        opens_at,
        closes_at,
        electorate_hash,
        trustees,
        threshold,
        answer_due_ms: DAY_MS,
        decryption_due_ms: DAY_MS,
        source_petition: None,
        participation: if a.anonymous {
            Participation::Anonymous
        } else {
            Participation::Pseudonymous
        },
    })
}

/// Print a result with counts per option and turnout.
pub fn print_result(manifest: &Manifest, r: &ReferendumResult, electorate_size: Option<usize>) {
    println!("Result of {} — {}", r.referendum_id, manifest.title);
    match electorate_size {
        Some(n) if n > 0 => println!(
            "  counted ballots: {} of {} eligible (turnout {:.1}%)",
            r.counted_ballots,
            n,
            100.0 * r.counted_ballots as f64 / n as f64
        ),
        _ => println!("  counted ballots: {}", r.counted_ballots),
    }
    for (q, counts) in manifest.questions.iter().zip(&r.counts) {
        println!("  {}: {}", q.id, q.text);
        let total: u64 = counts.iter().sum();
        for (o, c) in q.options.iter().zip(counts) {
            let pct = if total > 0 {
                100.0 * *c as f64 / total as f64
            } else {
                0.0
            };
            println!("    {o:<24} {c:>8}  ({pct:5.1}%)");
        }
    }
    let trustees: Vec<String> = r.trustees.iter().map(u32::to_string).collect();
    println!("  decrypted by trustees {}", trustees.join(", "));
}

// ---- enrolment by code --------------------------------------------------------------

/// Header of a letters file (`open`, `revoke --replacement-letter`).
pub const LETTERS_HEADER: &str = "region,code,electorate,instructions";

/// The letters as CSV for a mail merge: one row per code, the code in its printed
/// (grouped) form, and a line telling the citizen how to enrol.
pub fn letters_csv(
    electorate_id: &str,
    public_url: &str,
    letters: &[(Option<String>, EnrolmentCode)],
) -> String {
    let url = public_url.trim_end_matches('/');
    // RFC 4180 fields via the `csv` crate (quoted only when holding a comma, quote or
    // line break), rows ended by a bare LF as before.
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::with_capacity(letters.len() * 220 + 64));
    let mut rows = vec![LETTERS_HEADER
        .split(',')
        .map(str::to_owned)
        .collect::<Vec<_>>()];
    for (region, code) in letters {
        let region_arg = region
            .as_deref()
            .map(|r| format!(" --region {}", shell_word(r)))
            .unwrap_or_default();
        let instructions = format!(
            "Enrol on your own device at {url}/enrol.html, or run: vox voter enrol --server \
             {url} --electorate {} --code {}{region_arg} --out my-credential.txt. The code \
             works once; keep the credential you get secret.",
            shell_word(electorate_id),
            code.grouped(),
        );
        rows.push(vec![
            region.clone().unwrap_or_default(),
            code.grouped(),
            electorate_id.to_owned(),
            instructions,
        ]);
    }
    for row in &rows {
        // Writing to a Vec cannot fail.
        let _ = w.write_record(row);
    }
    // A Vec writer never fails to flush, and every field is UTF-8, so the output is too.
    let bytes = w.into_inner().unwrap_or_default();
    String::from_utf8(bytes).unwrap_or_default()
}

/// A word for a shell command line printed on a letter (quoted unless plain).
fn shell_word(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/'))
    {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// `vox authority electorate open`.
fn open_electorate(
    registrar: &Signing,
    id: &str,
    name: &str,
    codes: &[(Option<String>, u64)],
    letters_path: &Path,
    public_url: &str,
) -> Result<()> {
    if letters_path.exists() {
        bail!(
            "{} already exists: the letters file is never overwritten (it may hold codes \
             already printed); choose another --letters",
            letters_path.display()
        );
    }
    let (opening, letters) = EnrolmentOpening::draw(id, name, codes, &mut OsRng)
        .map_err(|e| anyhow!("cannot open electorate {id:?}: {e}"))?;
    // The letters first: once the act is public its codes must exist somewhere.
    let csv = zeroize::Zeroizing::new(letters_csv(id, public_url, &letters));
    files::write_private(letters_path, csv.as_bytes(), false)?;
    drop(letters);
    let opened = registrar
        .explain(registrar.client.open_enrolment(&opening))
        .with_context(|| {
            format!(
                "the codes in {} were NOT published (unless the answer was lost: check \
                 with `vox authority electorate show --id {id}`); if the electorate does \
                 not exist, destroy that file and run this command again",
                letters_path.display()
            )
        })?;
    println!(
        "opened electorate {} for enrolment (board leaf {}): {} codes",
        opened.electorate_id,
        opened.leaf_index,
        opening.codes.len()
    );
    for r in &opening.regions {
        println!(
            "  {:<20} {:>8} codes",
            r.region.as_deref().unwrap_or("(no region)"),
            r.count
        );
    }
    println!(
        "letters (every code in clear, readable only by you): {}",
        letters_path.display()
    );
    println!(
        "print and send them, then destroy the file. Citizens enrol with \
         `vox voter enrol` or {}/enrol.html; end enrolment with \
         `vox authority electorate freeze --id {id}`",
        public_url.trim_end_matches('/')
    );
    Ok(())
}

/// Print an electorate's state and counts.
fn show_electorate(e: &ElectorateInfo) {
    let state = e.state.as_str();
    println!(
        "electorate {} ({}): {state}, {} credentials, hash {}",
        e.electorate.id,
        e.electorate.name,
        e.electorate.entries.len(),
        e.electorate_hash
    );
    if e.is_enrolling() {
        println!("  (the hash of the list as it would be frozen now)");
    }
    print_region_counts(e);
    println!("  revoked credentials: {}", e.revoked);
    println!("  unused codes: {}", e.unspent_codes);
}

fn print_region_counts(e: &ElectorateInfo) {
    if e.regions.is_empty() {
        return;
    }
    println!("  {:<20} {:>10} {:>10}", "region", "committed", "enrolled");
    let (mut c, mut n) = (0u64, 0u64);
    for r in &e.regions {
        println!(
            "  {:<20} {:>10} {:>10}",
            r.region.as_deref().unwrap_or("(no region)"),
            r.committed,
            r.enrolled
        );
        c += r.committed;
        n += r.enrolled;
    }
    println!("  {:<20} {c:>10} {n:>10}", "total");
}

/// `vox authority electorate freeze`: the registrar signs the hash it computed itself
/// from the list the server shows; a list that changed in between is refused by the
/// server (the act names another hash), never frozen unseen.
fn freeze_electorate(public: &Client, registrar: &Signing, id: &str) -> Result<()> {
    let info = public.electorate(id)?;
    if !info.is_enrolling() {
        bail!("electorate {id} is not open for enrolment (state: frozen); nothing to freeze");
    }
    if info.electorate.id != id {
        bail!(
            "the server answered with electorate {:?} for {id:?}",
            info.electorate.id
        );
    }
    let hash = info.electorate.canonical_hash();
    if hash != info.electorate_hash {
        bail!(
            "the server's hash {} is not the hash {hash} of the list it returned: not freezing",
            info.electorate_hash
        );
    }
    info.electorate
        .validate()
        .map_err(|e| anyhow!("the enrolled list cannot be frozen: {e}"))?;
    println!(
        "electorate {id}: {} credentials enrolled",
        info.electorate.entries.len()
    );
    print_region_counts(&info);
    if info.revoked > 0 {
        println!("  revoked (left out): {}", info.revoked);
    }
    let frozen = registrar
        .explain(registrar.client.freeze_electorate(id, &hash))
        .map_err(|e| match api_error(&e) {
            Some(a) if a.status == 422 => e.context(
                "the list changed while this command ran (a citizen enrolled, or a \
                 credential was revoked); run it again",
            ),
            Some(a) if a.status == 409 => e.context(format!("electorate {id} is frozen already")),
            _ => e,
        })?;
    println!(
        "froze electorate {} (board leaf {}): hash {}",
        frozen.electorate_id, frozen.leaf_index, frozen.electorate_hash
    );
    println!(
        "petitions and referendums can now name it; unused codes no longer work (a \
         replacement code from `vox authority electorate revoke` still does)"
    );
    Ok(())
}

/// Arguments of `vox authority electorate revoke`.
struct RevokeArgs {
    id: String,
    credential: String,
    reason: String,
    replacement_letter: Option<PathBuf>,
    region: Option<String>,
    public_url: String,
}

/// A credential public key given in hex on the command line.
fn parse_credential(h: &str) -> Result<CredentialPublicKey> {
    Point::from_hex(h.trim())
        .map_err(|e| anyhow!("{e}"))
        .and_then(|p| CredentialPublicKey::new(p).map_err(|e| anyhow!("{e}")))
        .map_err(|e| anyhow!("credential {h}: {e}"))
}

/// `vox authority electorate revoke`.
fn revoke_credential(public: &Client, registrar: &Signing, a: &RevokeArgs) -> Result<()> {
    let key = parse_credential(&a.credential)?;
    let mut replacement = None;
    if let Some(path) = &a.replacement_letter {
        if path.exists() {
            bail!(
                "{} already exists: a letter file is never overwritten; choose another \
                 --replacement-letter",
                path.display()
            );
        }
        // The replacement code is bound to the revoked credential's region.
        let region = match &a.region {
            Some(r) => Some(r.clone()),
            None => {
                let info = public.electorate(&a.id)?;
                let entry = info
                    .electorate
                    .entries
                    .iter()
                    .find(|e| e.credential == key)
                    .ok_or_else(|| {
                        anyhow!(
                            "credential {} is not on the list of electorate {} (a replacement \
                             enrolled after the freeze is not): give its region with --region",
                            a.credential,
                            a.id
                        )
                    })?;
                entry.region.clone()
            }
        };
        let code = EnrolmentCode::generate(&mut OsRng);
        let hash = code.hash(&a.id, region.as_deref());
        let csv = zeroize::Zeroizing::new(letters_csv(&a.id, &a.public_url, &[(region, code)]));
        files::write_private(path, csv.as_bytes(), false)?;
        replacement = Some((hash, path));
    }
    let posted = registrar.explain(registrar.client.revoke_credential(
        &a.id,
        &key,
        replacement.map(|(h, _)| h),
        &a.reason,
    ));
    let revoked = match posted {
        Ok(r) => r,
        Err(e) => {
            let refused = api_error(&e).is_some();
            let mut e = match api_error(&e) {
                Some(x) if x.status == 409 => e.context(format!(
                    "credential {} is not a current member of electorate {} (never enrolled, \
                     or revoked already)",
                    a.credential, a.id
                )),
                _ => e,
            };
            if let Some((_, path)) = replacement {
                if refused {
                    // Refused: its code was never committed, so the letter is void.
                    let _ = std::fs::remove_file(path);
                    e = e.context(format!(
                        "nothing was revoked; the replacement letter {} was void and is deleted",
                        path.display()
                    ));
                } else {
                    e = e.context(format!(
                        "the replacement letter {} is valid only if the revocation was \
                         recorded: check with `vox authority electorate show --id {}`",
                        path.display(),
                        a.id
                    ));
                }
            }
            return Err(e);
        }
    };
    println!(
        "revoked credential {} of electorate {} (board leaf {}): {}",
        a.credential, a.id, revoked.leaf_index, a.reason
    );
    if let Some((_, path)) = replacement {
        println!(
            "replacement letter (its code in clear, readable only by you): {}; the citizen \
             enrols with it like with the first letter",
            path.display()
        );
    }
    Ok(())
}

/// A simulated citizen's device enrolling by code: it draws its credential and signs an
/// enrolment request carrying the code from its letter (the demo and tests play every
/// citizen in one process; a real citizen runs `vox voter enrol`).
pub fn simulate_code_enrolment(
    electorate_id: &str,
    letters: &[(Option<String>, EnrolmentCode)],
) -> (Vec<Credential>, Vec<EnrolmentRequest>) {
    letters
        .par_iter()
        .map(|(region, code)| {
            let c = Credential::generate(&mut OsRng);
            let r = EnrolmentRequest::create(
                electorate_id,
                region.as_deref(),
                Some(code),
                &c,
                &mut OsRng,
            );
            (c, r)
        })
        .unzip()
}

// ---- electorates -------------------------------------------------------------------

/// Play `n` citizens' devices at once (the demo and the load bench simulate every
/// citizen in one process): each draws its own credential and makes its enrolment
/// request, with regions assigned round-robin. A real citizen runs `vox voter keygen`;
/// the registrar only ever receives the requests.
pub fn simulate_devices(
    n: usize,
    regions: &[String],
    electorate_id: &str,
) -> (Vec<Credential>, Vec<EnrolmentRequest>) {
    (0..n)
        .into_par_iter()
        .map(|i| {
            let region = if regions.is_empty() {
                None
            } else {
                regions.get(i % regions.len()).map(String::as_str)
            };
            let c = Credential::generate(&mut OsRng);
            let r = EnrolmentRequest::create(electorate_id, region, None, &c, &mut OsRng);
            (c, r)
        })
        .unzip()
}

/// The registrar's check of enrolment requests (protocol-spec/04-ballots.md §4.1.1):
/// each is for this electorate and proves possession of its key; no key twice. Returns
/// the electorate listing them in the given order.
pub fn electorate_from_requests(
    id: &str,
    name: &str,
    requests: &[EnrolmentRequest],
) -> Result<Electorate> {
    if requests.is_empty() {
        bail!("no enrolment request given");
    }
    let checked: Vec<Result<()>> = requests
        .par_iter()
        .map(|r| {
            if r.electorate_id != id {
                bail!(
                    "a request for electorate {:?}, not {id:?} (key {})",
                    r.electorate_id,
                    r.credential.point().to_hex()
                );
            }
            r.verify().map_err(|e| {
                anyhow!(
                    "the request of key {} does not prove possession of its key: {e}",
                    r.credential.point().to_hex()
                )
            })
        })
        .collect();
    for c in checked {
        c?;
    }
    let electorate = Electorate {
        id: id.to_owned(),
        name: name.to_owned(),
        entries: requests.iter().map(EnrolmentRequest::entry).collect(),
    };
    electorate
        .validate()
        .map_err(|e| anyhow!("the requests do not make a valid electorate: {e}"))?;
    Ok(electorate)
}

/// Read enrolment requests: each path is a request file (one JSON request, or a JSON
/// array of them) or a directory whose `*.json` files are read in name order.
pub fn read_requests(paths: &[PathBuf]) -> Result<Vec<EnrolmentRequest>> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut in_dir: Vec<PathBuf> = std::fs::read_dir(p)
                .with_context(|| format!("reading {}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.extension().is_some_and(|x| x == "json"))
                .collect();
            in_dir.sort();
            files.extend(in_dir);
        } else {
            files.push(p.clone());
        }
    }
    let mut out = Vec::new();
    for f in files {
        let text =
            std::fs::read_to_string(&f).with_context(|| format!("reading {}", f.display()))?;
        let v: serde_json::Value =
            serde_json::from_str(&text).with_context(|| format!("{} is not JSON", f.display()))?;
        let parse = |v: serde_json::Value| {
            serde_json::from_value::<EnrolmentRequest>(v)
                .with_context(|| format!("{} is not an enrolment request", f.display()))
        };
        match v {
            serde_json::Value::Array(items) => {
                for item in items {
                    out.push(parse(item)?);
                }
            }
            other => out.push(parse(other)?),
        }
    }
    Ok(out)
}

/// The label of voter `i` (0-based): `voter-0001`.
pub fn voter_label(i: usize) -> String {
    format!("voter-{:04}", i + 1)
}

/// Keep simulated citizens' credentials as their devices would: one private file per
/// citizen under `dir/<voter-0001>/credential.txt` (the demo's `--keep`). No list of
/// credentials is ever written.
pub fn write_device_credentials(
    dir: &Path,
    creds: &[Credential],
    requests: &[EnrolmentRequest],
) -> Result<()> {
    let bar = progress::bar(
        creds.len() as u64,
        "saving the simulated devices' credentials",
    );
    for (i, (c, e)) in creds.iter().zip(requests).enumerate() {
        let device = dir.join(voter_label(i));
        std::fs::create_dir_all(&device)
            .with_context(|| format!("creating {}", device.display()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&device, std::fs::Permissions::from_mode(0o700))?;
        }
        let f = CredentialFile {
            credential: c.clone(),
            electorate: Some(e.electorate_id.clone()),
            voter: Some(voter_label(i)),
            region: e.region.clone(),
        };
        f.save(&device.join("credential.txt"), false)?;
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(())
}

// ---- record export -----------------------------------------------------------------

/// What an export wrote.
#[derive(Debug, Clone)]
pub struct ExportSummary {
    /// Entries written.
    pub entries: u64,
    /// Signed tree heads written.
    pub tree_heads: u64,
}

/// Export the record: `record.json` from `GET /api/v1/record`, every entry up to its
/// tree size, and the signed tree heads up to that size (protocol-spec/09-record.md).
/// Checks on the way that the entries hash to the signed root of that size.
pub fn export(
    client: &Client,
    referendum: Option<&str>,
    petition: Option<&str>,
    out: &Path,
) -> Result<ExportSummary> {
    let header: RecordHeader = client.record_header(referendum, petition)?;
    header
        .validate()
        .map_err(|e| anyhow!("the server's record header is not valid: {e}"))?;
    if out.exists() && std::fs::read_dir(out)?.next().is_some() {
        bail!("{} exists and is not empty", out.display());
    }
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let size = header.tree_size;

    let bar = progress::bar(size, "exporting entries");
    let mut w = BufWriter::new(File::create(out.join(ENTRIES_FILE))?);
    let mut leaves: Vec<NodeHash> = Vec::with_capacity(size as usize);
    client.all_entries(0, size, |_, entry| {
        leaves.push(entry.leaf_hash());
        record::write_line(&mut w, &entry)?;
        bar.inc(1);
        Ok(())
    })?;
    w.flush()?;
    w.into_inner()
        .map_err(|e| anyhow!("writing entries: {e}"))?
        .sync_all()?;
    bar.finish_and_clear();

    let heads = fetch_tree_heads(client, size)?;
    let key = &header.board_public_key;
    for h in &heads {
        h.verify(key).map_err(|e| {
            anyhow!(
                "the tree head of size {} is not signed by the board: {e}",
                h.head.tree_size
            )
        })?;
    }
    let root = root_from_leaf_hashes(&leaves);
    match heads.iter().find(|h| h.head.tree_size == size) {
        Some(h) if h.head.root_hash != root => {
            bail!("the entries do not hash to the board's signed root of size {size}")
        }
        Some(_) => {}
        None => eprintln!("warning: the board gave no signed tree head of size {size}"),
    }
    let mut w = BufWriter::new(File::create(out.join(TREE_HEADS_FILE))?);
    for h in &heads {
        record::write_line(&mut w, h)?;
    }
    w.flush()?;
    files::write_json(&out.join(HEADER_FILE), &header)?;
    Ok(ExportSummary {
        entries: size,
        tree_heads: heads.len() as u64,
    })
}

/// Every signed tree head of size ≤ `max_size`, ascending, paging with `?since=`.
fn fetch_tree_heads(client: &Client, max_size: u64) -> Result<Vec<SignedTreeHead>> {
    let mut out: Vec<SignedTreeHead> = Vec::new();
    let mut since: Option<u64> = None;
    loop {
        let page = client.tree_heads(since)?;
        let last = out.last().map(|h| h.head.tree_size);
        let fresh: Vec<SignedTreeHead> = page
            .into_iter()
            .filter(|h| match last {
                None => true,
                Some(l) => h.head.tree_size > l,
            })
            .collect();
        let Some(max) = fresh.iter().map(|h| h.head.tree_size).max() else {
            break;
        };
        out.extend(fresh.into_iter().filter(|h| h.head.tree_size <= max_size));
        out.sort_by_key(|h| h.head.tree_size);
        out.dedup_by_key(|h| h.head.tree_size);
        if max >= max_size {
            break;
        }
        since = Some(max);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn codes_arguments() {
        assert_eq!(parse_codes("12").unwrap(), (None, 12));
        assert_eq!(
            parse_codes("3:north").unwrap(),
            (Some("north".to_owned()), 3)
        );
        for bad in ["0", "x:north", "3:", "-1"] {
            assert!(parse_codes(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn letters_csv_quotes_like_the_hand_written_rfc4180_writer() {
        // The writer `letters_csv` used before the `csv` crate.
        fn old_field(s: &str) -> String {
            if s.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", s.replace('"', "\"\""))
            } else {
                s.to_owned()
            }
        }
        let code = EnrolmentCode::parse("0123456789ABCDEFGHJK").unwrap();
        for region in [
            "plain",
            "a,b",
            "say \"hi\"",
            "line\nbreak",
            "cr\rhere",
            " spaced ",
            "",
            "#hash",
            "'quote'",
        ] {
            let csv = letters_csv(
                "town",
                "https://vox.example",
                &[(Some(region.into()), code.clone())],
            );
            let row = csv.strip_prefix(&format!("{LETTERS_HEADER}\n")).unwrap();
            let instructions = row.rsplit_once(",\"").map(|(_, i)| i).unwrap_or("");
            let want = format!("{},{},town,", old_field(region), code.grouped());
            assert!(row.starts_with(&want), "{region:?}: {row:?}");
            assert!(row.ends_with("\n") && !instructions.is_empty(), "{row:?}");
        }
    }

    #[test]
    fn letters_are_one_csv_row_per_code_and_hash_to_the_commitment() {
        let (opening, letters) = EnrolmentOpening::draw(
            "town",
            "Town",
            &[(Some("north, old town".into()), 2), (None, 1)],
            &mut OsRng,
        )
        .unwrap();
        let csv = letters_csv("town", "https://vox.example/", &letters);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 4);
        assert_eq!(lines[0], LETTERS_HEADER);
        // A region with a comma is quoted; the code is printed grouped and, parsed back as
        // a citizen types it, hashes to one of the committed hashes.
        let row = lines.iter().find(|l| l.starts_with('"')).unwrap();
        assert!(row.starts_with("\"north, old town\","), "{row}");
        let code = row.split("\",").nth(1).unwrap().split(',').next().unwrap();
        assert_eq!(code.len(), 23);
        let parsed = EnrolmentCode::parse(code).unwrap();
        let h = parsed.hash("town", Some("north, old town"));
        assert!(opening.codes.binary_search(&h).is_ok());
        assert!(row.contains("https://vox.example/enrol.html"), "{row}");
        assert!(row.contains("--region 'north, old town'"), "{row}");
    }
}
