//! # vox-cli
//!
//! The `vox` command: run the server, the authority's, trustees' and voters' clients,
//! and `vox demo`, which runs a whole petition-to-referendum cycle end to end and
//! verifies its record.
//!
//! ## Layout
//! - [`serve`]: `vox serve`.
//! - [`keys`]: `vox keys` (role key files) and `vox genesis` (the log's first entry).
//! - [`authority`]: electorates and credentials, petitions, referendums, role key
//!   rotation, record export; every act signed locally with its role's key.
//! - [`trustee`]: key generation, the key ceremony, decryption shares.
//! - [`voter`]: list, sign, propose, vote (with Benaloh audit), check a receipt.
//! - [`device`]: what the voter's device checks on the board before encrypting (the
//!   pinned board key, the manifest's and the ceremony's signed leaves, K recomputed).
//! - [`demo`]: `vox demo`.
//! - [`client`]: the typed HTTP client of protocol-spec/api.md.
//! - [`petition_view`]: `vox authority petition show`.
//! - [`files`]: private (0600) and public files.
//! - [`clock`]: times and durations on the command line.
//! - [`witness`]: `vox witness`: a tlog witness service (keys, HTTP, durable state).
//!
//! ## Invariants
//! - Secrets (credentials, trustee keys, role keys, dealer seeds, key shares) are only
//!   ever written to 0600 files on the machine that made them; nothing secret is sent to
//!   the server. Role key files readable by others are refused.
//! - The server holds only the operator key; authority acts are signed by the role's
//!   own key in the authority tool.
//! - Clients check what they can before acting: before encrypting, the manifest and the
//!   election key from signed board leaves under the pinned board key ([`device`]); receipts against the board key; the tally against the
//!   board before a trustee decrypts it.

use clap::{Parser, Subcommand};

pub mod authority;
pub mod client;
pub mod clock;
pub mod demo;
pub mod device;
pub mod files;
pub mod journal;
pub mod keys;
pub mod petition_view;
pub mod progress;
pub mod serve;
pub mod trustee;
pub mod voter;
pub mod witness;

/// vox: verifiable e-petitions and advisory referendums.
#[derive(Debug, Parser)]
#[command(
    name = "vox",
    version,
    about = "vox: verifiable e-petitions and advisory referendums",
    long_about = None
)]
pub struct Cli {
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the vox server.
    Serve(serve::ServeArgs),
    /// Run a whole petition → referendum → verified result cycle on a throw-away
    /// server, and verify the exported election record.
    Demo(demo::DemoArgs),
    /// Role keys: make a key file for the operator, registrar, petitions office or
    /// election authority.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// The log's genesis: draft it, sign it with each role's key, show it.
    #[command(subcommand)]
    Genesis(keys::GenesisCommand),
    /// Authority: electorates, petitions, referendums, key rotation, record export
    /// (acts signed with the role's key file).
    Authority(authority::AuthorityArgs),
    /// Trustee: keys, key ceremony, decryption shares.
    #[command(subcommand)]
    Trustee(trustee::TrusteeCommand),
    /// Citizen: list, sign, propose, vote, check receipts.
    Voter(voter::VoterArgs),
    /// Witness: cosign the checkpoints of transparency logs (vox's board or any C2SP
    /// log) after checking that each extends the last one; keys, the service, evidence.
    #[command(subcommand)]
    Witness(witness::WitnessCommand),
    /// Vote in a referendum (same as `vox voter vote`).
    Vote {
        /// Server URL [default: $VOX_SERVER or http://127.0.0.1:8080].
        #[arg(long)]
        server: Option<String>,
        /// Vote arguments.
        #[command(flatten)]
        args: voter::VoteArgs,
    },
}

/// Run a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(a) => serve::run(a),
        Command::Demo(a) => demo::run(a),
        Command::Keys(c) => keys::run_keys(c),
        Command::Genesis(c) => keys::run_genesis(c),
        Command::Authority(a) => authority::run(a),
        Command::Trustee(c) => trustee::run(c),
        Command::Voter(a) => voter::run(a),
        Command::Witness(c) => witness::run(c),
        Command::Vote { server, args } => voter::run(voter::VoterArgs {
            server,
            command: voter::VoterCommand::Vote(args),
        }),
    }
}
