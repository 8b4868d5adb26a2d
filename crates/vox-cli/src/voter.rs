//! `vox voter …` (and `vox vote`): list, sign and propose petitions, vote (with an
//! optional Benaloh audit first), and check a receipt against the board.
//!
//! Ballots are encrypted and signed here, on the voter's machine; the credential never
//! leaves it. Before encrypting, the device checks on the board what it encrypts to
//! ([`crate::device`], 04 §4.7): the pinned board key, the manifest signed by the
//! election authority, and the election key recomputed from the trustees' signed ceremony
//! messages, so a server cannot substitute a key it knows.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Subcommand};
use rand::rngs::OsRng;
use vox_crypto::elgamal::ElectionPublicKey;
use vox_crypto::Hash32;
use vox_protocol::api::SignatureAccepted;
use vox_protocol::ballot::{
    encrypt_anonymous_ballot, encrypt_ballot, AuditedBallot, BallotContext, Choices,
};
use vox_protocol::board::{BoardPublicKey, Payload, Receipt, SignedTreeHead};
use vox_protocol::encoding::{human_code, Hashable};
use vox_protocol::manifest::{Manifest, Participation, QuestionKind};
use vox_protocol::merkle::{prefix_peaks, verify_consistency, verify_inclusion, NodeHash};
use vox_protocol::petition::{
    Petition, PetitionProposal, PetitionSignature, RingPetitionSignature, SignatureAction,
    SignatureScheme,
};
use vox_protocol::signature_receipt::{SignatureReceipt, Signer, SignerStanding};

use crate::client::{api_error, api_status, BallotStanding, Client, ReferendumDetail};
use crate::files::{self, CredentialFile};
use crate::journal;

/// The device's part of enrolment (04 §4.1.1): draw a credential, sign its enrolment
/// request (with the letter's code, if any) and save the credential file (0600, never
/// overwritten) before anything else happens to the request.
fn new_device_credential(
    electorate: &str,
    region: Option<&str>,
    code: Option<&vox_protocol::enrolment::EnrolmentCode>,
    out: &std::path::Path,
) -> Result<(
    vox_crypto::credential::Credential,
    vox_protocol::electorate::EnrolmentRequest,
)> {
    let credential = vox_crypto::credential::Credential::generate(&mut OsRng);
    let request = vox_protocol::electorate::EnrolmentRequest::create(
        electorate,
        region,
        code,
        &credential,
        &mut OsRng,
    );
    CredentialFile {
        credential: credential.clone(),
        electorate: Some(electorate.to_owned()),
        voter: None,
        region: region.map(str::to_owned),
    }
    .save(out, false)?;
    Ok((credential, request))
}

/// `vox voter keygen`: the device draws the credential and writes the request
/// (protocol-spec/04-ballots.md §4.1.1).
fn keygen(
    electorate: &str,
    region: Option<&str>,
    out: &std::path::Path,
    request_out: Option<PathBuf>,
    show_credential: bool,
) -> Result<()> {
    let request_path = request_out.unwrap_or_else(|| out.with_extension("request.json"));
    if request_path.exists() {
        bail!(
            "{} already exists; choose another --request-out",
            request_path.display()
        );
    }
    let (credential, request) = new_device_credential(electorate, region, None, out)?;
    files::write_json(&request_path, &request)?;
    print_credential(&credential, out, show_credential);
    println!(
        "hand the registrar {} (it holds only your public key {}); keep the credential secret",
        request_path.display(),
        request.credential.point().to_hex()
    );
    Ok(())
}

/// Where the new credential is; its text only with `--show-credential` (a secret is
/// never printed by default: terminals, logs and screen sharing keep what they show).
fn print_credential(
    credential: &vox_crypto::credential::Credential,
    out: &std::path::Path,
    show: bool,
) {
    if show {
        println!(
            "your credential (also saved, readable only by you, in {}):",
            out.display()
        );
        println!("  {}", credential.text());
    } else {
        println!(
            "your credential is saved in {} (readable only by you; print it on paper \
             with `--show-credential` next time, or read the file)",
            out.display()
        );
    }
}

/// Default server URL (overridden by `--server` or `$VOX_SERVER`).
pub fn default_server() -> String {
    std::env::var("VOX_SERVER").unwrap_or_else(|_| "http://127.0.0.1:8080".into())
}

/// `vox voter [--server URL] …`
#[derive(Debug, Args)]
pub struct VoterArgs {
    /// Server URL [default: $VOX_SERVER or http://127.0.0.1:8080].
    #[arg(long, global = true)]
    pub server: Option<String>,
    /// What to do.
    #[command(subcommand)]
    pub command: VoterCommand,
}

/// Voter commands.
#[derive(Debug, Subcommand)]
pub enum VoterCommand {
    /// List petitions and referendums.
    List,
    /// Make your credential on this device: draws the secret credential (saved to --out,
    /// 0600; printed only with --show-credential), and writes an enrolment request (your public key with a
    /// proof that you hold its secret) for the registrar. Only the request leaves this
    /// machine; nobody else, the registrar included, ever sees your credential.
    Keygen {
        /// The electorate you ask to join (the registrar tells you its id).
        #[arg(long)]
        electorate: String,
        /// Your region, if the registrar asks for one (used only for counts).
        #[arg(long)]
        region: Option<String>,
        /// Where to save your secret credential (never overwritten).
        #[arg(long)]
        out: PathBuf,
        /// Where to write the enrolment request to hand to the registrar
        /// [default: the --out path with the extension `.request.json`].
        #[arg(long)]
        request_out: Option<PathBuf>,
        /// Also print the secret credential (e.g. to copy it onto paper); by default it
        /// is only saved to --out.
        #[arg(long)]
        show_credential: bool,
    },
    /// Enrol with the one-time code from the registrar's letter: draws your secret
    /// credential on this device, saves it to --out (mode 0600, never overwritten)
    /// BEFORE sending anything, then posts only your public key, the code and a
    /// signature proving you hold the credential. The code works once. Check the result
    /// later with `vox voter check-enrolment --credential FILE`.
    Enrol {
        /// The electorate id printed on the letter.
        #[arg(long)]
        electorate: String,
        /// The code printed on the letter (case and dashes do not matter).
        #[arg(long)]
        code: String,
        /// The region printed on the letter [default: the electorate's only region].
        #[arg(long)]
        region: Option<String>,
        /// Where to save your secret credential (never overwritten).
        #[arg(long)]
        out: PathBuf,
        /// Also print the secret credential (e.g. to copy it onto paper); by default it
        /// is only saved to --out.
        #[arg(long)]
        show_credential: bool,
    },
    /// Sign a petition (or withdraw your signature with --withdraw). The board's answer
    /// is checked as a receipt before success is reported, and saved: check later that
    /// your signature is still on the board and still counts with `vox voter
    /// check-receipt FILE`.
    Sign {
        /// Petition id.
        petition: String,
        /// Your credential file.
        #[arg(long)]
        credential: PathBuf,
        /// Withdraw your signature instead (only while the petition is open).
        #[arg(long)]
        withdraw: bool,
        /// Where to save the receipt [default:
        /// ./signature-receipt-<petition>-<leaf>.json]. On a ring-signed petition it
        /// holds your linking tag: whoever reads the file can tell this signature is
        /// yours, so keep it like your credential (or do not keep it).
        #[arg(long)]
        receipt_out: Option<PathBuf>,
        /// The board key to trust (64 hex) instead of the one pinned in the known-boards
        /// file (pinned on first contact, as `vox vote` does).
        #[arg(long, value_name = "HEX")]
        board_key: Option<String>,
    },
    /// Propose a petition; you are its first sponsor. It goes to moderation once enough
    /// other citizens have sponsored (signed) it.
    Propose(ProposeArgs),
    /// Vote in a referendum.
    Vote(VoteArgs),
    /// Check your own enrolment from your credential file alone: your public key is on
    /// the published electorate (with your region), that electorate is a board entry
    /// signed by the registrar's key of that time (replayed from the board's genesis),
    /// and the entry is included in the board's current signed tree head.
    CheckEnrolment {
        /// Your credential file.
        #[arg(long)]
        credential: PathBuf,
        /// Electorate id [default: the one named in the credential file].
        #[arg(long)]
        electorate: Option<String>,
        /// The board key to trust (64 hex) instead of the one pinned in the known-boards
        /// file (pinned on first contact, as `vox vote` does).
        #[arg(long, value_name = "HEX")]
        board_key: Option<String>,
    },
    /// Check a receipt: board signature, tree head, inclusion of your ballot or petition
    /// signature in the current board (with a consistency proof from the receipt's
    /// tree), and whether the ballot is counted or superseded by a later one, or the
    /// signature still counted, withdrawn or invalidated. Both are read from every entry
    /// after it, checked against the board's signed root: not the server's word.
    CheckReceipt {
        /// Receipt file saved by `vox vote` or `vox voter sign`.
        file: PathBuf,
        /// The board key to trust (64 hex) instead of the one pinned in the known-boards
        /// file (pinned on first contact, as `vox vote` does).
        #[arg(long, value_name = "HEX")]
        board_key: Option<String>,
    },
}

/// Arguments of `vox voter propose`.
#[derive(Debug, Args)]
pub struct ProposeArgs {
    /// Your credential file.
    #[arg(long)]
    pub credential: PathBuf,
    /// What the petition asks for (one sentence).
    #[arg(long)]
    pub action: String,
    /// Why.
    #[arg(long)]
    pub background: String,
    /// More detail.
    #[arg(long, default_value = "")]
    pub details: String,
    /// Petition id [default: random].
    #[arg(long)]
    pub id: Option<String>,
    /// Electorate id [default: the one named in the credential file].
    #[arg(long)]
    pub electorate: Option<String>,
    /// Sponsors needed (you included) before moderation.
    #[arg(long, default_value_t = 5)]
    pub sponsors: u32,
    /// Signatures that oblige an official response.
    #[arg(long, default_value_t = 10_000)]
    pub response_threshold: u32,
    /// Signatures that trigger an advisory referendum.
    #[arg(long, default_value_t = 100_000)]
    pub referendum_threshold: u32,
    /// Days open once published.
    #[arg(long, default_value_t = 180)]
    pub days: u32,
    /// Days the authority has to respond once the response threshold is reached.
    #[arg(long, default_value_t = 30)]
    pub response_days: u32,
    /// Smallest region group reported separately (and, for ring signatures, the
    /// smallest region with rings of its own: smaller ones are pooled).
    #[arg(long, default_value_t = 10)]
    pub region_min_group: u32,
    /// Signatures name their credentials (anyone can list who signed) instead of being
    /// ring signatures that name no one (the default; protocol-spec/07 §7.10).
    #[arg(long)]
    pub public_signatures: bool,
}

/// Arguments of `vox vote` / `vox voter vote`.
#[derive(Debug, Args)]
pub struct VoteArgs {
    /// Referendum id.
    pub referendum: String,
    /// Your credential file.
    #[arg(long)]
    pub credential: PathBuf,
    /// An answer, as QUESTION=VALUE; QUESTION is the question id or number (from 1).
    /// VALUE: yes/no; an option label or number for choose-one (empty for blank);
    /// a comma-separated list for approval (`q2=1,3`); scores for every option in
    /// order for score questions (`q4=3,0,5`). Missing answers are asked for
    /// interactively on a terminal.
    #[arg(long = "choice", value_name = "QUESTION=VALUE")]
    pub choices: Vec<String>,
    /// Audit first (Benaloh challenge): encrypt, show the tracking code, publish that
    /// ballot opened, check the opening, then cast a FRESH encryption.
    #[arg(long)]
    pub audit: bool,
    /// Where to save the receipt [default: ./receipt-<tracking code>.json].
    #[arg(long)]
    pub receipt_out: Option<PathBuf>,
    /// The board key to trust (64 hex characters, as the town publishes it) instead of
    /// the one pinned in the known-boards file ($VOX_HOME/known_boards, else
    /// ~/.config/vox/known_boards; pinned on first contact).
    #[arg(long, value_name = "HEX")]
    pub board_key: Option<String>,
}

/// Run a voter command.
pub fn run(args: VoterArgs) -> Result<()> {
    let client = Client::new(&args.server.unwrap_or_else(default_server));
    match args.command {
        VoterCommand::List => list(&client),
        VoterCommand::Keygen {
            electorate,
            region,
            out,
            request_out,
            show_credential,
        } => keygen(
            &electorate,
            region.as_deref(),
            &out,
            request_out,
            show_credential,
        ),
        VoterCommand::Enrol {
            electorate,
            code,
            region,
            out,
            show_credential,
        } => enrol(&client, &electorate, &code, region, &out, show_credential),
        VoterCommand::Sign {
            petition,
            credential,
            withdraw,
            receipt_out,
            board_key,
        } => {
            let cred = CredentialFile::load(&credential)?;
            let key = crate::device::trusted_board_key(&client, board_key.as_deref())?;
            let action = if withdraw {
                SignatureAction::Withdraw
            } else {
                SignatureAction::Sign
            };
            let receipt = sign(&client, &key, &petition, &cred, action)?;
            let out = receipt_out.unwrap_or_else(|| {
                PathBuf::from(format!(
                    "signature-receipt-{}-{}.json",
                    file_safe(&petition),
                    receipt.leaf_index
                ))
            });
            files::write_json(&out, &receipt)?;
            println!(
                "{} petition {petition}; it now has {} signature(s)",
                if withdraw { "withdrew from" } else { "signed" },
                receipt.count
            );
            println!("Receipt:       {}", out.display());
            println!(
                "Check it any time with: vox voter check-receipt {} --server {}",
                out.display(),
                client.base()
            );
            Ok(())
        }
        VoterCommand::Propose(a) => propose(&client, a),
        VoterCommand::Vote(a) => vote_command(&client, a),
        VoterCommand::CheckEnrolment {
            credential,
            electorate,
            board_key,
        } => {
            let key = crate::device::trusted_board_key(&client, board_key.as_deref())?;
            check_enrolment(&client, &key, &credential, electorate)
        }
        VoterCommand::CheckReceipt { file, board_key } => {
            let value: serde_json::Value = files::read_json(&file)?;
            if value.get("kind").is_some() {
                let receipt: SignatureReceipt = serde_json::from_value(value)
                    .with_context(|| format!("{} is not a signature receipt", file.display()))?;
                let key = crate::device::trusted_board_key(&client, board_key.as_deref())?;
                check_signature_receipt_later(&client, &key, &receipt, true)?;
                return Ok(());
            }
            let receipt: Receipt = serde_json::from_value(value)
                .with_context(|| format!("{} is not a ballot receipt", file.display()))?;
            let key = crate::device::trusted_board_key(&client, board_key.as_deref())?;
            let journal = journal::read(&journal::journal_path()?)?;
            let own = |h: &Hash32| journal::cast_hash_here(&journal, &receipt.referendum_id, h);
            check_receipt(&client, &key, &receipt, &own, true)?;
            Ok(())
        }
    }
}

/// `vox voter check-enrolment` (protocol-spec/11-roles.md §11.3, 08 §8.1).
///
/// Every signature and tree head is checked under `board_key`, the key this device trusts
/// (pinned or given), not one the server names now.
fn check_enrolment(
    client: &Client,
    board_key: &BoardPublicKey,
    credential: &std::path::Path,
    electorate: Option<String>,
) -> Result<()> {
    use vox_protocol::board::Payload;
    use vox_protocol::roles::Authorities;

    let file = CredentialFile::load(credential)?;
    let key = file.credential.public_key();
    let id = electorate
        .or_else(|| file.electorate.clone())
        .ok_or_else(|| anyhow!("the credential file names no electorate: give --electorate"))?;
    let info = client.electorate(&id)?;
    let opened_at = info.leaf_index;
    let opened_by_code = client
        .entries(opened_at, opened_at + 1)?
        .first()
        .is_some_and(|e| {
            // The server names the opening while enrolling, the freeze after.
            matches!(
                e.entry.payload,
                Payload::EnrolmentOpened { .. } | Payload::ElectorateFrozen { .. }
            )
        });
    if opened_by_code {
        return check_code_enrolment(client, board_key, &file, &id);
    }
    let Some(entry) = info.electorate.entries.iter().find(|e| e.credential == key) else {
        bail!(
            "NOT ENROLLED: your public key {} is not on electorate {id:?} ({} keys)",
            key.point().to_hex(),
            info.electorate.entries.len()
        );
    };
    if file.region.is_some() && entry.region != file.region {
        bail!(
            "your key is on electorate {id:?} but with region {:?}, not {:?}",
            entry.region,
            file.region
        );
    }
    let leaf = info.leaf_index;
    // Replay the roles from the genesis up to the electorate's entry: it must be an act
    // signed by the registrar's key of that time, and list exactly this electorate.
    let mut authorities: Option<Authorities> = None;
    let mut leaf_hash = None;
    client.all_entries(0, leaf + 1, |i, e| {
        match (&mut authorities, &e.payload) {
            (None, p) => {
                authorities = Some(crate::device::genesis_authorities(i, p, board_key)?);
            }
            (Some(a), p) => {
                a.accept(p).map_err(|e| anyhow!("leaf {i}: {e}"))?;
                if i == leaf {
                    match p {
                        Payload::ElectorateRegistered { electorate, .. }
                            if electorate.canonical_hash() == info.electorate_hash
                                && *electorate == info.electorate =>
                        {
                            leaf_hash = Some(e.leaf_hash());
                        }
                        _ => bail!("leaf {i} is not the registration of electorate {id:?}"),
                    }
                }
            }
        }
        Ok(())
    })?;
    let Some(leaf_hash) = leaf_hash else {
        bail!("the registration of electorate {id:?} was not found at leaf {leaf}");
    };
    // The entry is in the board's signed tree.
    let sth = crate::device::signed_head(client, board_key)?;
    crate::device::verify_included(client, &sth, leaf, &leaf_hash)?;
    println!(
        "ENROLLED: your key {} is on electorate {id:?}{}",
        key.point().to_hex(),
        entry
            .region
            .as_deref()
            .map(|r| format!(" (region {r})"))
            .unwrap_or_default()
    );
    println!(
        "  registered at leaf {leaf}, signed by the registrar's key of that time; included \
         in the board's signed tree head of size {} (board key {})",
        sth.head.tree_size,
        board_key.to_hex()
    );
    println!("  compare the board key with the one your town publishes (or pin it in vox-verify)");
    Ok(())
}

/// `vox voter check-enrolment` for an electorate enrolled by code (04 §4.1.2–§4.1.4):
/// replays the whole board up to its current signed head with the same rules as the
/// server and the verifier (`Roll`: every code committed by the registrar and spent
/// once, every registrar act signed by its key of that time), checks that the entries
/// hash to that signed head, and finds this credential's enrolment, revocation and the
/// freeze.
fn check_code_enrolment(
    client: &Client,
    board_key: &BoardPublicKey,
    file: &CredentialFile,
    id: &str,
) -> Result<()> {
    use vox_protocol::board::Payload;
    use vox_protocol::enrolment::Roll;
    use vox_protocol::merkle::root_from_leaf_hashes;
    use vox_protocol::roles::Authorities;

    let key = file.credential.public_key();
    let sth = client.tree_head()?;
    sth.verify(board_key)
        .map_err(|e| anyhow!("the board's tree head: {e}"))?;
    let size = sth.head.tree_size;
    let mut authorities: Option<Authorities> = None;
    let mut roll = Roll::new();
    let mut leaves = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    let mut enrolled: Option<(u64, Option<String>)> = None;
    let mut revoked: Option<(u64, String)> = None;
    let mut frozen: Option<(u64, vox_crypto::Hash32)> = None;
    client.all_entries(0, size, |i, e| {
        leaves.push(e.leaf_hash());
        match (&mut authorities, &e.payload) {
            (None, p) => {
                authorities = Some(crate::device::genesis_authorities(i, p, board_key)?);
                return Ok(());
            }
            (Some(a), p) => a.accept(p).map_err(|e| anyhow!("leaf {i}: {e}"))?,
        }
        roll.apply(i, &e.payload)
            .map_err(|err| anyhow!("leaf {i} breaks the electorate rules: {err}"))?;
        match &e.payload {
            Payload::CredentialEnrolled { enrolment }
                if enrolment.electorate_id == id && enrolment.credential == key =>
            {
                enrolled = Some((i, enrolment.region.clone()));
            }
            Payload::CredentialRevoked {
                electorate_id,
                credential,
                reason,
                ..
            } if electorate_id == id && *credential == key => {
                revoked = Some((i, reason.clone()));
            }
            Payload::ElectorateFrozen {
                electorate_id,
                electorate_hash,
                ..
            } if electorate_id == id => frozen = Some((i, *electorate_hash)),
            _ => {}
        }
        Ok(())
    })?;
    if root_from_leaf_hashes(&leaves) != sth.head.root_hash {
        bail!("the board's entries do not hash to its signed tree head of size {size}");
    }
    let Some((leaf, region)) = enrolled else {
        bail!(
            "NOT ENROLLED: your public key {} was never enrolled in electorate {id:?} (board \
             of {size} entries replayed)",
            key.point().to_hex()
        );
    };
    if let Some((at, reason)) = revoked {
        bail!(
            "REVOKED: your key {} was enrolled at leaf {leaf} but revoked by the registrar at \
             leaf {at} ({reason}); it can no longer vote or sign",
            key.point().to_hex()
        );
    }
    if file.region.is_some() && region != file.region {
        bail!(
            "your key is enrolled in electorate {id:?} with region {region:?}, not {:?}",
            file.region
        );
    }
    println!(
        "ENROLLED: your key {} is on electorate {id:?}{}",
        key.point().to_hex(),
        region
            .as_deref()
            .map(|r| format!(" (region {r})"))
            .unwrap_or_default()
    );
    println!(
        "  enrolled at leaf {leaf} with a code the registrar committed to; the {size} board \
         entries replayed with the enrolment rules and hashed to the signed tree head (board \
         key {})",
        board_key.to_hex()
    );
    match frozen {
        Some((at, hash)) => {
            println!("  the electorate was frozen at leaf {at} (hash {hash}); your key is eligible")
        }
        None => println!(
            "  enrolment is still open: you can vote once the registrar freezes the electorate"
        ),
    }
    println!("  compare the board key with the one your town publishes (or pin it in vox-verify)");
    Ok(())
}

/// `vox voter enrol`: the device draws the credential, saves it, then enrols it with the
/// code from the registrar's letter (protocol-spec/04-ballots.md §4.1.2). Only the
/// public key, the code and the credential's signature are sent.
fn enrol(
    client: &Client,
    electorate: &str,
    code: &str,
    region: Option<String>,
    out: &std::path::Path,
    show_credential: bool,
) -> Result<()> {
    use vox_protocol::enrolment::EnrolmentCode;

    let code = EnrolmentCode::parse(code).map_err(|e| {
        anyhow!(
            "{e}: type the code exactly as printed on your letter (groups of five, dashes \
             optional)"
        )
    })?;
    if out.exists() {
        bail!(
            "{} already exists (it may hold a credential): choose another --out",
            out.display()
        );
    }
    let info = client.electorate(electorate).map_err(|e| {
        if api_status(&e) == Some(404) {
            e.context(format!(
                "no electorate {electorate:?} on {}: check the electorate id on your letter and \
                 the server address",
                client.base()
            ))
        } else {
            e
        }
    })?;
    // The code is bound to a region: a citizen who did not give one gets the only
    // region there is, or is asked for the one printed on the letter.
    let region = match region {
        Some(r) => Some(r),
        None => match info.regions.as_slice() {
            [only] => only.region.clone(),
            many if many.iter().any(|r| r.region.is_some()) => {
                let names: Vec<&str> = many.iter().filter_map(|r| r.region.as_deref()).collect();
                bail!(
                    "electorate {electorate:?} issues codes per region ({}): pass --region as \
                     printed on your letter",
                    names.join(", ")
                )
            }
            _ => None,
        },
    };
    // Saved before it is sent: a credential on the board must never be lost with a crash.
    let (credential, request) =
        new_device_credential(electorate, region.as_deref(), Some(&code), out)?;
    let key_hex = request.credential.point().to_hex();
    let leaf = match client.enrol(&request) {
        Ok(r) => {
            if r.credential != request.credential {
                bail!("the server answered for another credential than the one sent");
            }
            r.leaf_index
        }
        Err(e) => {
            let Some(problem) = api_error(&e) else {
                // No answer: the enrolment may have been recorded.
                return Err(e.context(format!(
                    "your credential is saved in {}; it may or may not be enrolled: run `vox \
                     voter check-enrolment --credential {}` before using your code again",
                    out.display(),
                    out.display()
                )));
            };
            let (status, kind, field) = (
                problem.status,
                problem.kind.clone().unwrap_or_default(),
                problem.field.clone().unwrap_or_default(),
            );
            // A retry of our own request that had gone through answers "spent" or "key
            // enrolled": look for our key before calling it a refusal.
            if status == 409 && (kind.contains("spent") || kind == "credential-enrolled") {
                if let Ok(now) = client.electorate(electorate) {
                    if now
                        .electorate
                        .entries
                        .iter()
                        .any(|x| x.credential == request.credential)
                    {
                        println!("your credential is enrolled (an earlier attempt went through)");
                        return enrolled_message(out, &key_hex, None);
                    }
                }
            }
            let why = enrol_refusal(status, &kind, &field, electorate);
            // Refused: this credential is on no board and never will be; its file is
            // removed so that the same --out can be used again.
            let _ = std::fs::remove_file(out);
            return Err(e.context(why));
        }
    };
    print_credential(&credential, out, show_credential);
    enrolled_message(out, &key_hex, Some(leaf))
}

fn enrolled_message(out: &std::path::Path, key_hex: &str, leaf: Option<u64>) -> Result<()> {
    match leaf {
        Some(l) => println!("enrolled: your public key {key_hex} is on the board at leaf {l}"),
        None => println!("enrolled: your public key {key_hex} is on the board"),
    }
    println!(
        "check it at any time with: vox voter check-enrolment --credential {}",
        out.display()
    );
    println!("keep the credential secret: whoever holds it can vote and sign in your name");
    Ok(())
}

/// A citizen's explanation of a refused enrolment (the server's problem `type` or
/// `code`, and its field).
fn enrol_refusal(status: u16, kind: &str, field: &str, electorate: &str) -> String {
    match (status, kind, field) {
        (404, _, _) => format!(
            "electorate {electorate:?} is not open for enrolment on this server: check the \
             electorate id on your letter and the server address"
        ),
        (_, k, _) if k.contains("spent") => "this code was already used to enrol a credential. \
             If you did not use it, contact the registrar: they can revoke that credential and \
             send you a new code"
            .into(),
        (_, k, _) if k.contains("frozen") => "enrolment in this electorate has closed (the \
             registrar froze the list); only a replacement code from the registrar still works"
            .into(),
        (_, "region", _) | (422, _, "region") => "this replacement code is for another region: \
             pass the --region printed on the replacement letter"
            .into(),
        (_, k, _) if k.contains("not-committed") => "this code is not one the registrar issued \
             for this electorate and region: check the letter (the code, the electorate id and \
             the --region printed on it)"
            .into(),
        (422, _, "code") => "this code is not one the registrar issued for this electorate and \
             region: check the letter (the code, the electorate id and the --region printed \
             on it)"
            .into(),
        (409, "credential-enrolled", _) => {
            "this credential is already enrolled (run the command again: a new credential is \
             drawn)"
                .into()
        }
        (422, _, f) if f.contains("signature") => "the server could not verify this device's \
             signature on the request (please report this)"
            .into(),
        _ => "the enrolment was refused".into(),
    }
}

fn list(client: &Client) -> Result<()> {
    let petitions = client.petitions()?;
    println!("Petitions ({}):", petitions.len());
    for p in &petitions {
        let mut extra = String::new();
        if p.response_overdue {
            extra.push_str("  RESPONSE OVERDUE");
        }
        if let Some(r) = &p.referendum_id {
            extra.push_str(&format!("  → referendum {r}"));
        }
        println!(
            "  {:<20} {:<20} {:>7} signatures  {}{extra}",
            p.id,
            p.stage.as_str(),
            p.count,
            p.action
        );
    }
    let refs = client.referendums()?;
    println!("Referendums ({}):", refs.len());
    for r in &refs {
        println!(
            "  {:<20} {:<12} {:>7} ballots  {}",
            r.id,
            r.state.as_str(),
            r.ballots_cast,
            r.title
        );
    }
    Ok(())
}

/// Sign or withdraw; returns the checked receipt (which carries the petition's new
/// count). `key` is the board key this device trusts.
pub fn sign(
    client: &Client,
    key: &BoardPublicKey,
    petition_id: &str,
    cred: &CredentialFile,
    action: SignatureAction,
) -> Result<SignatureReceipt> {
    let detail = client.petition(petition_id)?;
    if detail.petition.canonical_hash() != detail.petition_hash {
        bail!("the server's petition hash does not match the petition text it sent");
    }
    let (accepted, posted) = match detail.petition.signatures {
        SignatureScheme::Credential => {
            let sig =
                PetitionSignature::create(&detail.petition, &cred.credential, action, &mut OsRng);
            let accepted = client
                .sign_petition(petition_id, &sig)
                .map_err(|e| explain_not_member(client, e, &detail.petition.electorate_hash))
                .context("the signature was not accepted")?;
            (accepted, Payload::PetitionSigned { signature: sig })
        }
        SignatureScheme::Ring => {
            let (accepted, sig) = ring_sign(client, key, &detail.petition, cred, action)?;
            (
                accepted,
                Payload::PetitionRingSigned {
                    signature: Box::new(sig),
                },
            )
        }
    };
    check_signature_receipt(client, key, accepted, &posted)
}

/// The answer to a signature is its receipt (like a ballot's, 08 §8.5; 07 §7.10): the
/// tree head must be signed by the board key this device trusts, the entry at
/// `leaf_index` must be exactly the signature this device posted, and its leaf hash must
/// be included under that head (the inclusion proof). Anything else: the board did not
/// record what it said it did.
fn check_signature_receipt(
    client: &Client,
    key: &BoardPublicKey,
    accepted: SignatureAccepted,
    posted: &Payload,
) -> Result<SignatureReceipt> {
    let head = &accepted.tree_head;
    head.verify(key)
        .map_err(|e| anyhow!("the board's tree head on the answer does not verify: {e}"))?;
    let leaf = accepted.leaf_index;
    let mut entry = None;
    client.all_entries(leaf, leaf.saturating_add(1), |_, e| {
        entry = Some(e);
        Ok(())
    })?;
    let entry = entry.ok_or_else(|| anyhow!("the board has no entry at leaf {leaf}"))?;
    if entry.payload != *posted {
        bail!("the board's entry at leaf {leaf} is not the signature this device posted");
    }
    verify_inclusion(
        &entry.leaf_hash(),
        leaf,
        head.head.tree_size,
        &accepted.inclusion_proof,
        &head.head.root_hash,
    )
    .map_err(|e| anyhow!("the signature is NOT included under the signed tree head: {e}"))?;
    println!(
        "  receipt checked: the signature is leaf {leaf}, included in the board's signed tree \
         of size {} (inclusion proof)",
        head.head.tree_size
    );
    SignatureReceipt::from_answer(accepted, &entry).map_err(|e| anyhow!("{e}"))
}

/// A petition id as part of a file name: anything but letters, digits, `-` and `_`
/// becomes `_`.
fn file_safe(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Sign a ring-signed petition (07 §7.10): derive its rings from the board this device
/// checked itself (never from the server's say-so), prove membership of this
/// credential's ring, and post the signature, which names the ring and the linking tag
/// only. A revocation or replacement between deriving and posting changes the rings (409
/// `rings-changed`): derive again, at most three times.
fn ring_sign(
    client: &Client,
    key: &BoardPublicKey,
    petition: &Petition,
    cred: &CredentialFile,
    action: SignatureAction,
) -> Result<(SignatureAccepted, RingPetitionSignature)> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let view = client
            .board_view(key)
            .context("cannot derive the petition's rings from the board")?;
        let rings = view
            .petition_rings(petition)
            .map_err(|e| anyhow!("cannot derive the petition's rings: {e}"))?;
        let Some((ring, _)) = rings.ring_of(&cred.credential.public_key()) else {
            bail!(
                "this credential is in none of the petition's rings: it is not on the \
                 petition's electorate, or it was revoked, or it replaced a revoked credential \
                 after the petition was proposed (protocol-spec/07 §7.10); nothing was sent"
            );
        };
        eprintln!(
            "  ring signature: one of {} credentials of {} (ring {} of {})",
            ring.ring.member_count(),
            ring.region.as_deref().map_or(
                "the pooled small regions and no region".to_owned(),
                |r| format!("region {r}")
            ),
            ring.index + 1,
            ring.count
        );
        let sig =
            RingPetitionSignature::create(petition, &rings, &cred.credential, action, &mut OsRng)
                .map_err(|e| anyhow!("{e}"))?;
        match client.ring_sign_petition(&petition.id, &sig) {
            Ok(a) => return Ok((a, sig)),
            Err(e)
                if attempt < 3
                    && api_error(&e).is_some_and(|a| {
                        a.status == 409 && a.kind.as_deref() == Some("rings-changed")
                    }) =>
            {
                eprintln!("  the rings changed meanwhile; deriving them again");
            }
            Err(e) => return Err(e.context("the signature was not accepted")),
        }
    }
}

/// A refusal because the credential is not on the electorate (422 naming the
/// credential, protocol-spec/api.md) says so plainly: the credential itself is well
/// formed (a mistyped one is caught before anything is sent), it is just not on that
/// list. Any other error is returned unchanged.
fn explain_not_member(
    client: &Client,
    e: anyhow::Error,
    electorate_hash: &vox_crypto::Hash32,
) -> anyhow::Error {
    let not_member = api_error(&e).is_some_and(|a| {
        a.status == 422
            && a.detail
                .as_deref()
                .is_some_and(|d| d.contains("not in the electorate"))
    });
    if !not_member {
        return e;
    }
    let name = client
        .electorate(&electorate_hash.to_hex())
        .map(|i| format!("{:?}", i.electorate.id))
        .unwrap_or_else(|_| format!("with hash {electorate_hash}"));
    e.context(format!(
        "this valid credential is not on electorate {name}: is this the credential file you \
         enrolled, for this electorate?"
    ))
}

fn propose(client: &Client, a: ProposeArgs) -> Result<()> {
    let cred = CredentialFile::load(&a.credential)?;
    let electorate_id = a
        .electorate
        .or_else(|| cred.electorate.clone())
        .ok_or_else(|| anyhow!("which electorate? pass --electorate ID"))?;
    let electorate = client.electorate(&electorate_id)?;
    let id = a.id.unwrap_or_else(|| format!("p-{}", random_hex(4)));
    const DAY_MS: i64 = 24 * 3600 * 1000;
    let petition = Petition {
        id: id.clone(),
        action: a.action,
        background: a.background,
        details: a.details,
        electorate_hash: electorate.electorate_hash,
        sponsor_threshold: a.sponsors,
        response_threshold: a.response_threshold,
        referendum_threshold: a.referendum_threshold,
        open_for_ms: i64::from(a.days) * DAY_MS,
        response_due_ms: i64::from(a.response_days) * DAY_MS,
        region_min_group: a.region_min_group,
        signatures: if a.public_signatures {
            SignatureScheme::Credential
        } else {
            SignatureScheme::Ring
        },
    };
    petition.validate().map_err(|e| anyhow!("{e}"))?;
    let proposal = PetitionProposal::create(petition, &cred.credential, &mut OsRng);
    let s = client.propose(&proposal)?;
    println!(
        "proposed petition {id} ({}); it needs {} sponsors in all before moderation",
        s.stage.as_str(),
        a.sponsors
    );
    if !a.public_signatures {
        println!(
            "  its signatures are ring signatures: they name no one, and you count only if \
             you sign it too (`vox voter sign {id}`)"
        );
    }
    Ok(())
}

/// Random lower-case hex of `n` bytes.
pub fn random_hex(n: usize) -> String {
    let mut b = vec![0u8; n];
    rand::RngCore::fill_bytes(&mut OsRng, &mut b);
    hex::encode(b)
}

// ---- voting ------------------------------------------------------------------------

/// A referendum ready for voting: manifest and checked election key.
pub struct VotingContext {
    /// The manifest.
    pub manifest: Manifest,
    /// Its hash.
    pub manifest_hash: vox_crypto::Hash32,
    /// The election key, recomputed from the trustees' signed ceremony messages on the
    /// board ([`crate::device::check_election_key`]).
    pub election_key: ElectionPublicKey,
    /// State name.
    pub state: String,
    /// The size of the signed tree head the key was checked under.
    pub tree_size: u64,
}

impl VotingContext {
    /// Fetch and check before anything is encrypted (04 §4.7, D1–D7): under a tree head
    /// signed by `board_key` (the key the device trusts: pinned or given), the manifest
    /// signed by the election authority and the election key recomputed from the
    /// trustees' signed ceremony messages, all read as board leaves with inclusion
    /// proofs. The server's JSON view supplies only where those leaves are.
    pub fn fetch(client: &Client, referendum: &str, board_key: &BoardPublicKey) -> Result<Self> {
        let detail: ReferendumDetail = client.referendum(referendum)?;
        let state = detail.state_name();
        if detail.election_key.is_none() {
            bail!("referendum {referendum} is {state}: its election key does not exist yet");
        }
        let checked = crate::device::check_election_key(client, board_key, referendum, &detail)
            .context(format!(
                "refusing to encrypt: the election key of referendum {referendum} could not be \
                 checked on the board"
            ))?;
        Ok(Self {
            manifest: checked.manifest,
            manifest_hash: checked.manifest_hash,
            election_key: checked.election_key,
            state,
            tree_size: checked.tree_size,
        })
    }

    /// The ballot context.
    pub fn ballot_context(&self) -> BallotContext<'_> {
        BallotContext::new(&self.manifest, self.election_key)
    }
}

fn vote_command(client: &Client, a: VoteArgs) -> Result<()> {
    let cred = CredentialFile::load(&a.credential)?;
    let board_key = crate::device::trusted_board_key(client, a.board_key.as_deref())?;
    let vc = VotingContext::fetch(client, &a.referendum, &board_key)?;
    match vc.state.as_str() {
        "open" => {}
        "key-ceremony" | "ready" => bail!(
            "referendum {} is not open for voting yet (state: {})",
            a.referendum,
            vc.state
        ),
        s => bail!(
            "referendum {} is {s}: voting has ended, no ballot can be cast",
            a.referendum
        ),
    }
    if let Some(eid) = &cred.electorate {
        if let Ok(e) = client.electorate(eid) {
            // After a revocation, a replacement credential votes without being on the
            // frozen list: then only the server (and the verifier) can tell.
            if e.electorate_hash == vc.manifest.electorate_hash
                && e.revoked == 0
                && !e
                    .electorate
                    .entries
                    .iter()
                    .any(|x| x.credential == cred.credential.public_key())
            {
                bail!(
                    "this valid credential is not on electorate {eid:?} (it is not in the \
                     electorate of referendum {}): is this the credential file you enrolled?",
                    a.referendum
                );
            }
        }
    }
    let choices = collect_choices(&vc.manifest, &a.choices)?;
    println!(
        "Referendum {}: manifest hash {}",
        a.referendum,
        vc.manifest_hash.to_hex()
    );
    println!(
        "  fingerprint {} (compare it with the one the election authority publishes)",
        crate::device::fingerprint(&vc.manifest_hash)
    );
    println!(
        "  checked on the board (signed tree of size {}, board key fingerprint {}): the \
         manifest is signed by the election authority and the election key is the one the \
         trustees' signed ceremony messages define",
        vc.tree_size,
        crate::device::fingerprint(&board_key.log_id())
    );
    // Anonymous participation (04 §4.10): the rings come from the board this device
    // checks itself, and the ballot is known on the board by its linking tag, never by
    // the credential.
    let ctx = vc.ballot_context();
    let anonymous = vc.manifest.participation == Participation::Anonymous;
    let ring_sets = if anonymous {
        let view = client
            .board_view(&board_key)
            .context("cannot derive the referendum's rings from the board")?;
        let rings = view
            .referendum_rings(&a.referendum)
            .map_err(|e| anyhow!("cannot derive the referendum's rings: {e}"))?;
        let Some((ring, _)) = rings.ring_of(&cred.credential.public_key()) else {
            bail!(
                "this credential is in none of the referendum's rings: it is not on the \
                 referendum's electorate, or it was revoked, or it replaced a revoked credential \
                 after the referendum was created (protocol-spec/04 §4.10); nothing was sent"
            );
        };
        println!(
            "  anonymous ballot: the board will show one of {} credentials (ring {} of {}), \
             never which",
            ring.ring.member_count(),
            ring.index + 1,
            ring.count
        );
        Some(rings)
    } else {
        None
    };
    let encrypt = |previous: Option<vox_crypto::Hash32>| match &ring_sets {
        None => encrypt_ballot(&ctx, &cred.credential, &choices, previous, &mut OsRng),
        Some(rings) => encrypt_anonymous_ballot(
            &ctx,
            rings,
            &cred.credential,
            &choices,
            previous,
            &mut OsRng,
        ),
    };
    // D8: the ballot names the voter's latest ballot, which this device should know. An
    // anonymous ballot's voter is its tag (the board looks it up like a credential).
    let journal_file = journal::journal_path()?;
    let journal = journal::read(&journal_file)?;
    let pk: [u8; 32] = match &ring_sets {
        None => cred.credential.public_key().to_bytes(),
        Some(_) => vox_crypto::ring::linking_tag(
            &cred.credential,
            &ctx.tag_generator().map_err(|e| anyhow!("{e}"))?,
        )
        .to_bytes(),
    };
    let latest = client.latest_ballot(&a.referendum, &pk)?;
    if let Some(l) = &latest {
        if journal::cast_here(&journal, &a.referendum, &pk, &l.ballot_hash) {
            println!(
                "You voted before from this device (tracking code {}, leaf {}): the ballot \
                 you cast now replaces it.",
                l.tracking_code, l.leaf_index
            );
        } else {
            eprintln!(
                "ALARM: the board holds a ballot of this credential that this device did not \
                 cast (tracking code {}, leaf {}). Unless you voted from another device, \
                 someone else holds your credential or a ballot it signed: report it to the \
                 election authority. The ballot you cast now replaces it.",
                l.tracking_code, l.leaf_index
            );
        }
    }
    let previous = latest.map(|l| l.ballot_hash);
    if a.audit {
        let (ballot, secrets) = encrypt(previous).map_err(|e| anyhow!("{e}"))?;
        println!(
            "Audit: prepared a ballot with tracking code {}",
            ballot.tracking_code()
        );
        let audited = AuditedBallot::new(ballot, secrets);
        let posted = client
            .audit(&a.referendum, &audited)
            .context("the audited ballot was not accepted")?;
        audited
            .verify_opening(&ctx)
            .map_err(|e| anyhow!("AUDIT FAILED: the ballot does not encrypt your choices: {e}"))?;
        println!(
            "Audit: published opened at leaf {}; it encrypts exactly: {}",
            posted.leaf_index,
            describe_choices(&vc.manifest, &audited.choices)
        );
        println!("Audit: that ballot is spoiled (never counted). Casting a fresh encryption…");
    }
    let (ballot, _secrets) = encrypt(previous).map_err(|e| anyhow!("{e}"))?;
    let receipt = client
        .cast(&a.referendum, &ballot)
        .map_err(|e| explain_not_member(client, e, &vc.manifest.electorate_hash))
        .context("your ballot was not accepted")?;
    receipt
        .verify(&board_key)
        .map_err(|e| anyhow!("the receipt is not signed by the board key: {e}"))?;
    receipt
        .matches_ballot(&ballot)
        .map_err(|e| anyhow!("the receipt is not for your ballot: {e}"))?;
    journal::record(
        &journal_file,
        &journal::CastBallot {
            referendum_id: a.referendum.clone(),
            credential: pk,
            ballot_hash: ballot.hash(),
            leaf_index: receipt.leaf_index,
        },
    )?;
    let out = a
        .receipt_out
        .unwrap_or_else(|| PathBuf::from(format!("receipt-{}.json", receipt.tracking_code)));
    files::write_json(&out, &receipt)?;
    println!(
        "Your ballot is cast: {}",
        describe_choices(&vc.manifest, &choices)
    );
    println!("Tracking code: {}", receipt.tracking_code);
    println!("Board leaf:    {}", receipt.leaf_index);
    println!("Receipt:       {}", out.display());
    println!(
        "Check it any time with: vox voter check-receipt {} --server {}",
        out.display(),
        client.base()
    );
    Ok(())
}

/// Parse `--choice` specs into choices, prompting for missing answers on a terminal.
pub fn collect_choices(manifest: &Manifest, specs: &[String]) -> Result<Choices> {
    let mut given: Vec<Option<String>> = vec![None; manifest.questions.len()];
    for spec in specs {
        let (q, v) = spec
            .split_once('=')
            .ok_or_else(|| anyhow!("--choice {spec}: expected QUESTION=VALUE"))?;
        let pos = manifest
            .questions
            .iter()
            .position(|x| x.id == q.trim())
            .or_else(|| {
                q.trim()
                    .parse::<usize>()
                    .ok()
                    .filter(|n| *n >= 1 && *n <= manifest.questions.len())
                    .map(|n| n - 1)
            })
            .ok_or_else(|| anyhow!("--choice {spec}: no question `{q}` in this referendum"))?;
        if let Some(slot) = given.get_mut(pos) {
            *slot = Some(v.trim().to_owned());
        }
    }
    let interactive = std::io::stdin().is_terminal();
    let mut out = Vec::with_capacity(manifest.questions.len());
    for (qi, (q, g)) in manifest.questions.iter().zip(given).enumerate() {
        let mut value = g;
        loop {
            let v = match value.take() {
                Some(v) => v,
                None if interactive => prompt(qi, q)?,
                None => bail!(
                    "no answer for question {} ({}): pass --choice {}=…",
                    q.id,
                    q.text,
                    q.id
                ),
            };
            match parse_answer(q, &v) {
                Ok(c) => {
                    out.push(c);
                    break;
                }
                Err(e) if interactive => eprintln!("  {e}; try again"),
                Err(e) => return Err(e.context(format!("question {}", q.id))),
            }
        }
    }
    vox_protocol::ballot::validate_choices(manifest, &out).map_err(|e| anyhow!("{e}"))?;
    Ok(out)
}

fn prompt(qi: usize, q: &vox_protocol::manifest::Question) -> Result<String> {
    let mut err = std::io::stderr();
    writeln!(err, "\nQuestion {}: {}", qi + 1, q.text)?;
    for (i, o) in q.options.iter().enumerate() {
        writeln!(err, "  {}. {o}", i + 1)?;
    }
    let hint = match q.kind {
        QuestionKind::YesNo => "yes or no".to_owned(),
        QuestionKind::ChooseOne { blank_allowed } => format!(
            "one option number{}",
            if blank_allowed {
                " (empty for blank)"
            } else {
                ""
            }
        ),
        QuestionKind::Approve { min, max } => {
            format!("between {min} and {max} option numbers, comma-separated")
        }
        QuestionKind::Score { max } => format!("a score 0..{max} per option, comma-separated"),
    };
    write!(err, "Your answer ({hint}): ")?;
    err.flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim().to_owned())
}

fn option_index(q: &vox_protocol::manifest::Question, v: &str) -> Result<usize> {
    let v = v.trim();
    if let Some(i) = q.options.iter().position(|o| o.eq_ignore_ascii_case(v)) {
        return Ok(i);
    }
    v.parse::<usize>()
        .ok()
        .filter(|n| *n >= 1 && *n <= q.options.len())
        .map(|n| n - 1)
        .ok_or_else(|| anyhow!("`{v}` is not an option (options: {})", q.options.join(", ")))
}

/// One question's answer from its VALUE text.
pub fn parse_answer(q: &vox_protocol::manifest::Question, v: &str) -> Result<Vec<u64>> {
    let k = q.options.len();
    let mut out = vec![0u64; k];
    let set = |out: &mut Vec<u64>, i: usize, x: u64| {
        if let Some(s) = out.get_mut(i) {
            *s = x;
        }
    };
    match q.kind {
        QuestionKind::YesNo => {
            let i = match v.to_ascii_lowercase().as_str() {
                "yes" | "y" => 0,
                "no" | "n" => 1,
                other => option_index(q, other)?,
            };
            set(&mut out, i, 1);
        }
        QuestionKind::ChooseOne { blank_allowed } => {
            if v.is_empty() || v.eq_ignore_ascii_case("blank") {
                if !blank_allowed {
                    bail!("a blank answer is not allowed here");
                }
            } else {
                set(&mut out, option_index(q, v)?, 1);
            }
        }
        QuestionKind::Approve { min, max } => {
            for part in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                set(&mut out, option_index(q, part)?, 1);
            }
            let n: u64 = out.iter().sum();
            if n < u64::from(min) || n > u64::from(max) {
                bail!("approve between {min} and {max} options (you chose {n})");
            }
        }
        QuestionKind::Score { max } => {
            let parts: Vec<&str> = v.split(',').map(str::trim).collect();
            if parts.len() != k {
                bail!("give one score per option ({k}), comma-separated");
            }
            for (i, p) in parts.iter().enumerate() {
                let s: u64 = p.parse().map_err(|_| anyhow!("`{p}` is not a score"))?;
                if s > u64::from(max) {
                    bail!("scores go from 0 to {max}");
                }
                set(&mut out, i, s);
            }
        }
    }
    Ok(out)
}

/// Human-readable choices.
pub fn describe_choices(manifest: &Manifest, choices: &Choices) -> String {
    let mut parts = Vec::new();
    for (q, c) in manifest.questions.iter().zip(choices) {
        let picked: Vec<String> = match q.kind {
            QuestionKind::Score { .. } => q
                .options
                .iter()
                .zip(c)
                .map(|(o, s)| format!("{o}:{s}"))
                .collect(),
            _ => q
                .options
                .iter()
                .zip(c)
                .filter(|(_, s)| **s > 0)
                .map(|(o, _)| o.clone())
                .collect(),
        };
        let shown = if picked.is_empty() {
            "(blank)".to_owned()
        } else {
            picked.join("+")
        };
        parts.push(format!("{}={shown}", q.id));
    }
    parts.join(", ")
}

// ---- receipts ----------------------------------------------------------------------

/// Check a receipt against the live board; prints each check when `verbose`.
/// Returns the ballot's status (`counted` or `superseded`).
///
/// Everything is checked under `key`, the board key the device trusts (pinned or given),
/// never under a key the server names at check time: a server that swapped its key would
/// otherwise vouch for itself (issue 18 item 6). The status is read from the board's
/// entries after the ballot ([`entries_since`]), and the server's answer must agree. A
/// ballot superseded by one that `own` (the device's journal) does not know is an alarm
/// and an error (04 §4.8 D8).
pub fn check_receipt(
    client: &Client,
    key: &BoardPublicKey,
    receipt: &Receipt,
    own: &dyn Fn(&Hash32) -> bool,
    verbose: bool,
) -> Result<String> {
    let say = |s: String| {
        if verbose {
            println!("  ok  {s}");
        }
    };
    receipt
        .verify(key)
        .map_err(|e| anyhow!("RECEIPT INVALID: {e}"))?;
    say(format!(
        "receipt signed by the board, tracking code {}",
        receipt.tracking_code
    ));
    say(format!(
        "ballot at leaf {} is in the signed tree of size {}",
        receipt.leaf_index, receipt.tree_head.head.tree_size
    ));
    let latest = latest_extending(client, key, &receipt.tree_head, &say)?;
    let new = &latest.head;
    let inc = client.inclusion(receipt.leaf_index, new.tree_size)?;
    verify_inclusion(
        &receipt.leaf_hash,
        receipt.leaf_index,
        new.tree_size,
        &inc.proof,
        &new.root_hash,
    )
    .map_err(|e| anyhow!("your ballot is NOT in the current board: {e}"))?;
    say(format!(
        "the ballot is still at leaf {} of the current board (inclusion proof)",
        receipt.leaf_index
    ));
    show_witnesses(client, &latest, verbose, &say)?;
    // The standing, read from the board itself (05 §5.1: the credential's or tag's last
    // ballot counts): every entry from the ballot on, checked against the current root.
    let mut voter = None;
    let mut last: Option<(u64, Hash32)> = None;
    entries_since(
        client,
        receipt.leaf_index,
        &receipt.leaf_hash,
        &receipt.tree_head,
        &receipt.inclusion_proof,
        &latest,
        |index, entry| {
            let Payload::BallotCast { ballot } = &entry.payload else {
                if index == receipt.leaf_index {
                    bail!("the board's entry at leaf {index} is not a cast ballot");
                }
                return Ok(());
            };
            if index == receipt.leaf_index {
                receipt
                    .matches_ballot(ballot)
                    .map_err(|e| anyhow!("the board's entry at leaf {index}: {e}"))?;
                voter = ballot.voter_key();
            } else if ballot.referendum_id == receipt.referendum_id
                && voter.is_some()
                && ballot.voter_key() == voter
            {
                last = Some((index, ballot.hash()));
            }
            Ok(())
        },
    )?;
    say(format!(
        "the entries from leaf {} on hash to the current signed root; the standing is read \
         from them",
        receipt.leaf_index
    ));
    let status = if last.is_some() {
        BallotStanding::Superseded
    } else {
        BallotStanding::Counted
    };
    // The server's answer must agree with the board up to the head this device read
    // (asked after it: a ballot it names past that head is newer, not a contradiction).
    let answer = client.ballot_status(&receipt.referendum_id, &receipt.ballot_hash)?;
    let server_last = answer
        .superseded_by
        .as_ref()
        .map(|b| (b.leaf_index, b.ballot_hash));
    let agrees = answer.leaf_index == receipt.leaf_index
        && (server_last == last || server_last.is_some_and(|(l, _)| l >= latest.head.tree_size));
    if !agrees {
        bail!(
            "the server's status for this ballot ({} at leaf {}) is not what its board shows \
             ({} at leaf {})",
            answer.status.as_str(),
            answer.leaf_index,
            status.as_str(),
            receipt.leaf_index
        );
    }
    if let Some((by_leaf, by_hash)) = last {
        let by = BallotRef {
            leaf_index: by_leaf,
            tracking_code: human_code(&by_hash),
        };
        if !own(&by_hash) {
            bail!(
                "ALARM: your ballot {} is superseded by a ballot this device did not cast \
                 (tracking code {}, leaf {}). Unless you voted again from another device, \
                 someone else holds your credential or a ballot it signed: report it to the \
                 election authority, and vote again while the referendum is open (your new \
                 ballot replaces that one).",
                receipt.tracking_code,
                by.tracking_code,
                by.leaf_index
            );
        }
        say(format!(
            "status: superseded by your later ballot {} (leaf {}), cast from this device; \
             your last ballot counts",
            by.tracking_code, by.leaf_index
        ));
    } else {
        say(format!("status: {}", status.as_str()));
    }
    if verbose {
        println!("Receipt {} checks out.", receipt.tracking_code);
    }
    Ok(status.as_str().to_owned())
}

/// A later ballot, as the alarm and the status line name it.
struct BallotRef {
    leaf_index: u64,
    tracking_code: String,
}

/// Every board entry from `leaf` to the latest signed head, authenticated without the
/// entries before it (07 §7.10 R5, and the same for a ballot's receipt, 08 §8.5): the
/// checked inclusion proof of `leaf` under `old` gives the compact stack of the board
/// before the leaf (`merkle::prefix_peaks`); each fetched entry's leaf hash is pushed on
/// it, the entry at `leaf` must have `leaf_hash`, and the stack's root must be
/// `latest`'s. Each entry goes to `each` as it comes; the caller concludes only once
/// this returns `Ok` (an error means the server showed entries other than the board it
/// signed).
fn entries_since(
    client: &Client,
    leaf: u64,
    leaf_hash: &NodeHash,
    old: &SignedTreeHead,
    proof: &[NodeHash],
    latest: &SignedTreeHead,
    mut each: impl FnMut(u64, &vox_protocol::board::BoardEntry) -> Result<()>,
) -> Result<()> {
    let size = latest.head.tree_size;
    let peaks = prefix_peaks(
        leaf_hash,
        leaf,
        old.head.tree_size,
        proof,
        &old.head.root_hash,
    )
    .map_err(|e| anyhow!("RECEIPT INVALID: {e}"))?;
    let mut tree = vox_verifier::compact::CompactTree::from_parts(leaf, peaks)
        .map_err(|e| anyhow!("RECEIPT INVALID: {e}"))?;
    let bar = crate::progress::bar(size.saturating_sub(leaf), "entries since");
    client.all_entries(leaf, size, |index, entry| {
        let hash = entry.leaf_hash();
        if index == leaf && hash != *leaf_hash {
            bail!("the board's entry at leaf {index} is not the receipt's entry");
        }
        tree.push(hash);
        each(index, &entry)?;
        bar.inc(1);
        Ok(())
    })?;
    bar.finish_and_clear();
    if tree.size() != size || tree.root() != latest.head.root_hash {
        bail!(
            "the entries the server sent from leaf {leaf} on do not hash to its signed tree \
             head of size {size}: it shows this device something other than the board it \
             signed"
        );
    }
    Ok(())
}

/// The board's latest tree head, checked under `key` (the key the device trusts) and
/// against an earlier head `old` the device holds: same log, not shrunk, and extending
/// it (consistency proof). Anything else is equivocation.
fn latest_extending(
    client: &Client,
    key: &BoardPublicKey,
    old_head: &SignedTreeHead,
    say: &dyn Fn(String),
) -> Result<SignedTreeHead> {
    let old = &old_head.head;
    let latest = client.tree_head()?;
    latest
        .verify(key)
        .map_err(|e| anyhow!("the board's latest tree head is not signed by the board: {e}"))?;
    if latest.origin != old_head.origin {
        bail!(
            "the board's latest tree head is a checkpoint of log {:?}, your receipt's of {:?}",
            latest.origin,
            old_head.origin
        );
    }
    let new = &latest.head;
    if new.tree_size < old.tree_size {
        bail!(
            "EQUIVOCATION: the board now claims {} entries, fewer than the {} your receipt saw",
            new.tree_size,
            old.tree_size
        );
    }
    let cons = client.consistency(old.tree_size, new.tree_size)?;
    verify_consistency(
        old.tree_size,
        new.tree_size,
        &old.root_hash,
        &new.root_hash,
        &cons.proof,
    )
    .map_err(|e| {
        anyhow!("EQUIVOCATION: the current board does not extend the one your receipt saw: {e}")
    })?;
    say(format!(
        "the current board (size {}) extends the receipt's tree (consistency proof)",
        new.tree_size
    ));
    Ok(latest)
}

/// The witnesses the server names: only extra evidence, each cosignature checked.
fn show_witnesses(
    client: &Client,
    latest: &SignedTreeHead,
    verbose: bool,
    say: &dyn Fn(String),
) -> Result<()> {
    let board = client.board()?;
    for w in &board.witnesses {
        match latest.cosignatures.iter().find(|c| c.witness == *w) {
            Some(c) => {
                latest
                    .verify_cosignature(c)
                    .map_err(|e| anyhow!("witness {} cosignature invalid: {e}", w.to_hex()))?;
                say(format!("cosigned by witness {}", w.to_hex()));
            }
            None if verbose => println!(
                "  --  witness {} has not cosigned the latest tree head yet",
                w.to_hex()
            ),
            None => {}
        }
    }
    Ok(())
}

/// Check a petition signature's receipt against the live board (07 §7.10 R1–R6);
/// prints each check when `verbose`. Returns the signer's standing (`counted`,
/// `withdrawn` or `invalidated`).
///
/// Unlike a ballot's standing, which the server reports, this one is read from the board
/// itself: the receipt's inclusion proof gives the compact stack of the board before the
/// signature, so the device fetches only the entries from the signature on, folds their
/// leaf hashes in and requires the current signed root. Those entries are then exactly
/// the board's, and a withdrawal or an invalidation among them cannot be hidden.
pub fn check_signature_receipt_later(
    client: &Client,
    key: &BoardPublicKey,
    receipt: &SignatureReceipt,
    verbose: bool,
) -> Result<String> {
    let say = |s: String| {
        if verbose {
            println!("  ok  {s}");
        }
    };
    receipt
        .verify(key)
        .map_err(|e| anyhow!("RECEIPT INVALID: {e}"))?;
    let who = match &receipt.signer {
        Signer::Credential(c) => format!("credential {}", hex::encode(c.to_bytes())),
        Signer::Tag(t) => format!("linking tag {}", hex::encode(t.to_bytes())),
    };
    say(format!(
        "{} of petition {} by {who} is leaf {} of the board-signed tree of size {}",
        match receipt.action {
            SignatureAction::Sign => "signature",
            SignatureAction::Withdraw => "withdrawal",
        },
        receipt.petition_id,
        receipt.leaf_index,
        receipt.tree_head.head.tree_size
    ));
    let latest = latest_extending(client, key, &receipt.tree_head, &say)?;
    let size = latest.head.tree_size;
    let mut watch = receipt.watch();
    entries_since(
        client,
        receipt.leaf_index,
        &receipt.leaf_hash,
        &receipt.tree_head,
        &receipt.inclusion_proof,
        &latest,
        |index, entry| {
            if index == receipt.leaf_index {
                receipt.check_entry(entry).map_err(|e| {
                    anyhow!("the board's entry at leaf {index} is not your signature: {e}")
                })?;
            }
            watch.apply(index, &entry.payload);
            Ok(())
        },
    )?;
    say(format!(
        "the signature is still at leaf {}, and the {} entries from it on hash to the current \
         signed root",
        receipt.leaf_index,
        size - receipt.leaf_index
    ));
    show_witnesses(client, &latest, verbose, &say)?;
    let standing = watch.standing();
    match standing {
        SignerStanding::Counted => say("status: counted (not withdrawn, not invalidated)".into()),
        SignerStanding::Withdrawn { leaf_index } => say(format!(
            "status: withdrawn at leaf {leaf_index} (a withdrawal signed with your credential: \
             if you did not withdraw, someone else holds it; report it to the registrar)"
        )),
        SignerStanding::Invalidated { leaf_index, reason } => say(format!(
            "status: invalidated by the petitions office at leaf {leaf_index}, reason: {reason}"
        )),
    }
    if verbose {
        println!("Receipt for petition {} checks out.", receipt.petition_id);
    }
    Ok(standing.as_str().to_owned())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use vox_protocol::manifest::Question;

    fn q(kind: QuestionKind, options: &[&str]) -> Question {
        Question {
            id: "q".into(),
            text: "?".into(),
            options: options.iter().map(|s| (*s).to_owned()).collect(),
            kind,
        }
    }

    #[test]
    fn answers_parse_by_label_and_number() {
        let yn = q(QuestionKind::YesNo, &["yes", "no"]);
        assert_eq!(parse_answer(&yn, "yes").unwrap(), vec![1, 0]);
        assert_eq!(parse_answer(&yn, "No").unwrap(), vec![0, 1]);
        assert_eq!(parse_answer(&yn, "2").unwrap(), vec![0, 1]);
        assert!(parse_answer(&yn, "maybe").is_err());
        let one = q(
            QuestionKind::ChooseOne {
                blank_allowed: false,
            },
            &["a", "b", "c"],
        );
        assert_eq!(parse_answer(&one, "b").unwrap(), vec![0, 1, 0]);
        assert_eq!(parse_answer(&one, "3").unwrap(), vec![0, 0, 1]);
        assert!(parse_answer(&one, "").is_err());
        let blank = q(
            QuestionKind::ChooseOne {
                blank_allowed: true,
            },
            &["a", "b"],
        );
        assert_eq!(parse_answer(&blank, "").unwrap(), vec![0, 0]);
        let appr = q(QuestionKind::Approve { min: 1, max: 2 }, &["a", "b", "c"]);
        assert_eq!(parse_answer(&appr, "1,3").unwrap(), vec![1, 0, 1]);
        assert!(parse_answer(&appr, "1,2,3").is_err());
        let score = q(QuestionKind::Score { max: 5 }, &["a", "b"]);
        assert_eq!(parse_answer(&score, "3, 5").unwrap(), vec![3, 5]);
        assert!(parse_answer(&score, "6,0").is_err());
        assert!(parse_answer(&score, "1").is_err());
    }
}
