//! `vox keys …` and `vox genesis …`: the roles' own keys and the log's genesis
//! (protocol-spec/11-roles.md).
//!
//! Each role (board operator, registrar, petitions office, election authority) makes
//! its key on its own machine with `vox keys new`; only the public key leaves it. One
//! of them drafts the genesis with `vox genesis new` naming the four public keys (and
//! signing with any key file it holds); each other role checks it with `vox genesis
//! show` and adds its signature with `vox genesis sign`. The complete genesis, with all
//! four signatures, is what `vox serve --genesis` appends as leaf 0.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Result};
use clap::{Args, Subcommand};
use ed25519_dalek::SigningKey;
use rand::rngs::OsRng;
use vox_crypto::Hash32;
use vox_protocol::board::BoardPublicKey;
use vox_protocol::merkle::NodeHash;
use vox_protocol::roles::{Genesis, LogLink, Role, RoleKeys, WitnessPolicy};

use crate::authority::parse_role;
use crate::client::role_phrase;
use crate::clock;
use crate::files::{self, RoleKey};

/// `vox keys …`
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Make a role's key: writes the key file (mode 0600, never overwritten) and prints
    /// the public key (on stdout) to put in the genesis.
    New {
        /// operator, registrar, petitions-office or election-authority.
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// The key file to create.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Print a key file's role and public key.
    Show {
        /// The key file.
        file: PathBuf,
    },
}

/// `vox genesis …`
#[derive(Debug, Subcommand)]
pub enum GenesisCommand {
    /// Draft a log's genesis naming the four role keys; signs it with every one given
    /// as a key file (the others sign later with `vox genesis sign`).
    New(Box<GenesisNewArgs>),
    /// Add the signature of the role whose key file this is (the file is rewritten).
    Sign {
        /// The role's key file.
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
        /// The genesis file.
        genesis: PathBuf,
    },
    /// Show a genesis: its name, log id, keys, witnesses, signatures, and whether it
    /// is complete and valid. Exits non-zero with --check if it is not.
    Show {
        /// The genesis file.
        genesis: PathBuf,
        /// Fail unless the genesis is complete and valid.
        #[arg(long)]
        check: bool,
    },
}

/// Arguments of `vox genesis new`. Each key is a public key (64 hex characters), a
/// file holding one, or the role's key file (which then signs the genesis).
#[derive(Debug, Args)]
pub struct GenesisNewArgs {
    /// The log's name: printable ASCII without spaces or `+`, e.g.
    /// vox.example.org/town-board.
    #[arg(long)]
    pub log_name: String,
    /// The board operator's key (public key or key file).
    #[arg(long, value_name = "PUB_OR_KEYFILE")]
    pub operator: String,
    /// The registrar's key.
    #[arg(long, value_name = "PUB_OR_KEYFILE")]
    pub registrar: String,
    /// The petitions office's key.
    #[arg(long, value_name = "PUB_OR_KEYFILE")]
    pub petitions_office: String,
    /// The election authority's key.
    #[arg(long, value_name = "PUB_OR_KEYFILE")]
    pub election_authority: String,
    /// A witness's public key (hex); repeat for several.
    #[arg(long = "witness", value_name = "HEX")]
    pub witnesses: Vec<String>,
    /// How many of the witnesses must cosign a tree head.
    #[arg(long, default_value_t = 0)]
    pub witness_quorum: u32,
    /// When the parties agreed on it (Unix ms or YYYY-MM-DDTHH:MM:SSZ) [default: now].
    #[arg(long, value_name = "TIME")]
    pub created_at: Option<String>,
    /// Recovery after a compromise (protocol-spec/11-roles.md §11.5): this log replaces
    /// the log LOG_ID, whose entries up to SIZE with root ROOT the parties still
    /// acknowledge (take them from its last trusted signed tree head). The new log needs a
    /// new operator key; the verifier reports the link.
    #[arg(long, value_name = "LOG_ID:SIZE:ROOT")]
    pub replaces: Option<String>,
    /// The genesis file to create (never overwritten).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

/// Run `vox keys …`.
pub fn run_keys(cmd: KeysCommand) -> Result<()> {
    match cmd {
        KeysCommand::New { role, out } => {
            let key = SigningKey::generate(&mut OsRng);
            files::save_role_key(&out, role, &key)?;
            eprintln!(
                "wrote {}'s key to {} (mode 0600; keep it there, never send it); public key:",
                role_phrase(role),
                out.display()
            );
            println!("{}", BoardPublicKey(key.verifying_key()).to_hex());
            Ok(())
        }
        KeysCommand::Show { file } => {
            let k = files::load_role_key(&file)?;
            println!("role: {}", k.role);
            println!("public key: {}", k.public().to_hex());
            Ok(())
        }
    }
}

/// Run `vox genesis …`.
pub fn run_genesis(cmd: GenesisCommand) -> Result<()> {
    match cmd {
        GenesisCommand::New(a) => genesis_new(&a),
        GenesisCommand::Sign { key, genesis } => {
            let k = files::load_role_key(&key)?;
            let mut g: Genesis = files::read_json(&genesis)?;
            g.validate_body()
                .map_err(|e| anyhow!("{} is not a valid genesis: {e}", genesis.display()))?;
            sign_as(&mut g, &k)?;
            files::write_json(&genesis, &g)?;
            println!("{} signed {}", role_phrase(k.role), genesis.display());
            print_status(&g);
            Ok(())
        }
        GenesisCommand::Show { genesis, check } => {
            let g: Genesis = files::read_json(&genesis)?;
            show(&g);
            if check {
                g.validate()
                    .map_err(|e| anyhow!("{} is not a valid genesis: {e}", genesis.display()))?;
            }
            Ok(())
        }
    }
}

/// Sign `g` with `k`, checking that the key is the one the genesis names for the role
/// its file says.
fn sign_as(g: &mut Genesis, k: &RoleKey) -> Result<()> {
    if *g.keys.get(k.role) != k.public() {
        bail!(
            "{} is a {} key, but the genesis names another key for {} ({})",
            k.path.display(),
            k.role,
            role_phrase(k.role),
            g.keys.get(k.role).to_hex()
        );
    }
    let signed = g
        .sign(&k.key)
        .map_err(|e| anyhow!("signing the genesis: {e}"))?;
    if signed != k.role {
        bail!("internal error: signed as {signed}, expected {}", k.role);
    }
    Ok(())
}

fn genesis_new(a: &GenesisNewArgs) -> Result<()> {
    if a.out.exists() {
        bail!(
            "refusing to overwrite {} (move it away first)",
            a.out.display()
        );
    }
    let mut signers: Vec<RoleKey> = Vec::new();
    let mut key = |role: Role, arg: &str| -> Result<BoardPublicKey> {
        let (public, file) = files::public_or_key_file(arg)?;
        if let Some(f) = file {
            if f.role != role {
                bail!(
                    "{arg} is a {} key file, given as {}'s key",
                    f.role,
                    role_phrase(role)
                );
            }
            signers.push(f);
        }
        Ok(public)
    };
    let keys = RoleKeys {
        operator: key(Role::Operator, &a.operator)?,
        registrar: key(Role::Registrar, &a.registrar)?,
        petitions_office: key(Role::PetitionsOffice, &a.petitions_office)?,
        election_authority: key(Role::ElectionAuthority, &a.election_authority)?,
    };
    let witnesses = a
        .witnesses
        .iter()
        .map(|h| BoardPublicKey::from_hex(h).map_err(|e| anyhow!("witness {h}: {e}")))
        .collect::<Result<Vec<_>>>()?;
    let created_at_ms = match &a.created_at {
        Some(t) => clock::parse_time(t)?,
        None => clock::now_ms(),
    };
    let mut g = Genesis::draft(&a.log_name, created_at_ms, keys);
    g.witnesses = WitnessPolicy {
        keys: witnesses,
        quorum: a.witness_quorum,
    };
    if let Some(r) = &a.replaces {
        let link = parse_log_link(r)?;
        if link.log_id == g.log_id() {
            bail!(
                "--replaces names this very log: a new log needs a new operator key \
                 (`vox keys new --role operator`)"
            );
        }
        g.predecessor = Some(link);
    }
    g.validate_body()
        .map_err(|e| anyhow!("the genesis is not valid: {e}"))?;
    for k in &signers {
        sign_as(&mut g, k)?;
    }
    drop(signers);
    files::write_json(&a.out, &g)?;
    println!(
        "wrote the genesis of log {} to {}",
        g.log_name,
        a.out.display()
    );
    println!("log id: {}", g.log_id().to_hex());
    print_status(&g);
    Ok(())
}

/// `LOG_ID:SIZE:ROOT` (hex, decimal, hex) → the predecessor link of a re-genesis.
fn parse_log_link(s: &str) -> Result<LogLink> {
    let bad = || anyhow!("--replaces takes LOG_ID:SIZE:ROOT (64 hex, a number, 64 hex), got {s:?}");
    let mut parts = s.split(':');
    let (Some(id), Some(size), Some(root), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    Ok(LogLink {
        log_id: Hash32::from_hex(id).map_err(|_| bad())?,
        tree_size: size.parse().map_err(|_| bad())?,
        root_hash: NodeHash::from_hex(root).map_err(|_| bad())?,
    })
}

/// Which signatures are there, which are missing, and what to do next.
fn print_status(g: &Genesis) {
    let missing = g.missing_signatures();
    if missing.is_empty() {
        match g.validate() {
            Ok(()) => println!("complete: signed by all four roles; serve it with `vox serve --genesis FILE --operator-key KEY`"),
            Err(e) => println!("NOT VALID: {e}"),
        }
    } else {
        let names: Vec<&str> = missing.iter().map(|r| r.name()).collect();
        println!(
            "still to sign (each with `vox genesis sign --key KEY FILE`): {}",
            names.join(", ")
        );
    }
}

fn show(g: &Genesis) {
    println!("log name:    {}", g.log_name);
    println!("log id:      {}", g.log_id().to_hex());
    println!(
        "created at:  {} ({} ms)",
        clock::format_utc(g.created_at_ms),
        g.created_at_ms
    );
    println!("keys:");
    for r in Role::ALL {
        let signed = if g.signatures.iter().any(|s| s.role == r) {
            "signed"
        } else {
            "NOT SIGNED"
        };
        println!("  {:<19} {}  {signed}", r.name(), g.keys.get(r).to_hex());
    }
    if g.witnesses.keys.is_empty() {
        println!("witnesses:   none");
    } else {
        println!(
            "witnesses:   {} of {} must cosign",
            g.witnesses.quorum,
            g.witnesses.keys.len()
        );
        for w in &g.witnesses.keys {
            println!("  {}", w.to_hex());
        }
    }
    if let Some(p) = &g.predecessor {
        println!(
            "predecessor: log {} at size {} (root {})",
            p.log_id.to_hex(),
            p.tree_size,
            hex::encode(p.root_hash.0)
        );
    }
    match g.validate() {
        Ok(()) => println!("valid:       yes (all four signatures verify)"),
        Err(e) => println!("valid:       no ({e})"),
    }
}

/// Read a complete genesis file (for `vox serve`).
pub fn load_genesis(path: &Path) -> Result<Genesis> {
    let g: Genesis = files::read_json(path)?;
    g.validate().map_err(|e| {
        anyhow!(
            "{} is not a complete, valid genesis: {e} (check it with `vox genesis show {}`)",
            path.display(),
            path.display()
        )
    })?;
    Ok(g)
}
