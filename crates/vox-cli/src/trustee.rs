//! `vox trustee …`: key generation, the key ceremony over HTTP, and decryption shares
//! (protocol-spec/06-ceremony.md).
//!
//! A trustee's secrets never leave its machine. They live in two private (0600) files:
//! the long-term key file (`keygen`) and one ceremony state file per referendum, which
//! makes `ceremony` idempotent and resumable: every message is signed and saved before
//! it is sent, and re-sent byte for byte (with the same `Idempotency-Key`) after a
//! crash.
//!
//! The dealer's secret polynomial is drawn once from the OS RNG and kept in the state file
//! (`Dealer::export_secret`) together with its public coefficient commitments and proofs;
//! `Dealer::restore` checks a_ij·G = K_ij on every load, and the round-1 commitment hash
//! posted on the board pins the commitments, so a corrupted state file is caught before
//! anything is revealed.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Subcommand};
use rand::rngs::OsRng;
use serde::{Deserialize, Serialize};
use vox_crypto::elgamal::SecretScalar;
use vox_crypto::threshold::{
    judge_complaint, receive_share, CeremonyParams, CoefficientCommitments, Dealer,
    DecryptionShare, JointPublicKeys, KeyShare, RevealedDealer, ShareVerdict, TrusteeIndex,
    TrusteeKeys,
};
use vox_crypto::{Hash32, Point, Scalar};
use vox_protocol::board::{EncryptedTally, Payload};
use vox_protocol::ceremony::{CeremonyBody, CeremonyMessage, DecryptionShareMessage};
use vox_protocol::encoding::{Canonical, Hashable};
use vox_protocol::manifest::Manifest;
use vox_protocol::tally::{counted_hash, TallyAccumulator};
use zeroize::Zeroizing;

use crate::client::{api_status, CeremonyView, Client, ReferendumDetail};
use crate::files;
use crate::voter::default_server;

/// `vox trustee …`
#[derive(Debug, Subcommand)]
pub enum TrusteeCommand {
    /// Generate a trustee key pair: the secret goes to FILE (mode 0600, never
    /// overwritten), the public key to FILE.pub for the authority's manifest.
    Keygen {
        /// Secret key file to create.
        #[arg(long)]
        out: PathBuf,
        /// Your name as it will appear in manifests.
        #[arg(long, default_value = "trustee")]
        name: String,
    },
    /// Take part in a referendum's key ceremony: commit, reveal, send encrypted shares,
    /// check the shares received and confirm (or complain), answer complaints.
    /// Safe to re-run at any time: progress is kept in the state file.
    Ceremony(CeremonyArgs),
    /// Post this trustee's decryption share of the encrypted tally, after the
    /// referendum is closed and tallied. Checks first that the tally is the sum of the
    /// counted ballots on the board.
    Decrypt(DecryptArgs),
}

/// Arguments of `vox trustee ceremony`.
#[derive(Debug, Args)]
pub struct CeremonyArgs {
    /// Server URL [default: $VOX_SERVER or http://127.0.0.1:8080].
    #[arg(long)]
    pub server: Option<String>,
    /// Referendum id.
    #[arg(long)]
    pub referendum: String,
    /// This trustee's index in the manifest (1-based) [default: the index the manifest
    /// gives this key].
    #[arg(long)]
    pub index: Option<u32>,
    /// Secret key file from `vox trustee keygen`.
    #[arg(long)]
    pub key: PathBuf,
    /// Ceremony state file (created on first run, mode 0600). Keep it until the
    /// referendum is published: it holds your key share.
    #[arg(long)]
    pub state: PathBuf,
    /// Keep polling until the ceremony is complete.
    #[arg(long)]
    pub wait: bool,
    /// Give up waiting after this many seconds.
    #[arg(long, default_value_t = 3600)]
    pub timeout: u64,
}

/// Arguments of `vox trustee decrypt`.
#[derive(Debug, Args)]
pub struct DecryptArgs {
    /// Server URL [default: $VOX_SERVER or http://127.0.0.1:8080].
    #[arg(long)]
    pub server: Option<String>,
    /// Referendum id.
    #[arg(long)]
    pub referendum: String,
    /// Secret key file (signs the share).
    #[arg(long)]
    pub key: PathBuf,
    /// The ceremony state file holding your key share.
    #[arg(long)]
    pub state: PathBuf,
}

/// Run a trustee command.
pub fn run(cmd: TrusteeCommand) -> Result<()> {
    match cmd {
        TrusteeCommand::Keygen { out, name } => {
            let keys = TrusteeKeys::generate(&mut OsRng);
            let public = files::save_trustee_keys(&out, &name, &keys)?;
            println!(
                "secret key:  {} (mode 0600; back it up, never share it)",
                out.display()
            );
            println!(
                "public key:  {} (give this file to the authority)",
                public.display()
            );
            println!("signing key:       {}", keys.signing_key().to_hex());
            println!("communication key: {}", keys.communication_key().to_hex());
            Ok(())
        }
        TrusteeCommand::Ceremony(a) => {
            let client = Client::new(&a.server.unwrap_or_else(default_server));
            let (_, keys) = files::load_trustee_keys(&a.key)?;
            let mut t = TrusteeSession::open(&client, &a.referendum, a.index, keys, &a.state)?;
            let deadline = Instant::now() + Duration::from_secs(a.timeout);
            loop {
                match t.advance(&client)? {
                    Step::Posted(what) => println!("trustee {}: posted {what}", t.state.trustee),
                    Step::Complete => {
                        println!(
                            "trustee {}: the key ceremony of {} is complete; your key share is in {}",
                            t.state.trustee,
                            a.referendum,
                            a.state.display()
                        );
                        return Ok(());
                    }
                    Step::Waiting(why) => {
                        if !a.wait {
                            println!(
                                "trustee {}: {why}. Run this command again later (or add --wait).",
                                t.state.trustee
                            );
                            return Ok(());
                        }
                        if Instant::now() > deadline {
                            bail!("gave up after {} s: {why}", a.timeout);
                        }
                        std::thread::sleep(Duration::from_millis(500));
                    }
                }
            }
        }
        TrusteeCommand::Decrypt(a) => {
            let client = Client::new(&a.server.unwrap_or_else(default_server));
            let (_, keys) = files::load_trustee_keys(&a.key)?;
            let mut t = TrusteeSession::resume(&client, &a.referendum, keys, &a.state)?;
            let posted = t.decrypt(&client)?;
            println!(
                "trustee {}: decryption share posted for {} ({} shares received so far)",
                t.state.trustee,
                a.referendum,
                posted.map(|n| n.to_string()).unwrap_or_else(|| "?".into())
            );
            Ok(())
        }
    }
}

// ---- state file --------------------------------------------------------------------

const STATE_FORMAT: &str = "vox-trustee-state";

/// A share P_i(l) this trustee (l) received from dealer i and accepted.
#[derive(Clone, Serialize, Deserialize)]
struct ReceivedShare {
    dealer: u32,
    share: Scalar,
}

/// A signed message, saved before it is sent.
#[derive(Clone, Serialize, Deserialize)]
struct Outgoing {
    step: String,
    message: CeremonyMessage,
    posted: bool,
}

/// QUAL: the trustees 1..=n the board has not disqualified (06 §6.6).
fn qualified(params: &CeremonyParams, view: &CeremonyView) -> Vec<TrusteeIndex> {
    params
        .indices()
        .filter(|i| !view.disqualified.contains(&i.get()))
        .collect()
}

/// The ceremony state file (private: holds the dealer seed and received shares).
#[derive(Clone, Serialize, Deserialize)]
pub struct TrusteeState {
    format: String,
    version: u32,
    /// Referendum.
    pub referendum_id: String,
    /// This trustee's index.
    pub trustee: u32,
    manifest_hash: Hash32,
    /// The trustee's signing key D (which key file made this state).
    signing_key: Point,
    /// Secret: the dealer's polynomial coefficients (hex of k × 32 bytes).
    dealer_secret: String,
    /// Public: the dealer's coefficient commitments and proofs (revealed in round 2).
    dealer_reveal: CoefficientCommitments,
    received: Vec<ReceivedShare>,
    complained: Vec<u32>,
    answered: Vec<u32>,
    outbox: Vec<Outgoing>,
    confirmed: bool,
    complete: bool,
    #[serde(default)]
    decryption: Option<DecryptionShareMessage>,
}

impl Drop for TrusteeState {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.dealer_secret.zeroize();
        for r in &mut self.received {
            r.share.zeroize();
        }
    }
}

/// What one call of [`TrusteeSession::advance`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A message was posted.
    Posted(String),
    /// Nothing to do until other trustees act.
    Waiting(String),
    /// The ceremony is complete and this trustee's key share checks out.
    Complete,
}

/// A trustee taking part in one referendum.
pub struct TrusteeSession {
    keys: TrusteeKeys,
    path: PathBuf,
    manifest: Manifest,
    params: CeremonyParams,
    /// The persisted state.
    pub state: TrusteeState,
}

impl TrusteeSession {
    /// Load the state file, or create it for a new ceremony.
    pub fn open(
        client: &Client,
        referendum: &str,
        index: Option<u32>,
        keys: TrusteeKeys,
        path: &Path,
    ) -> Result<Self> {
        Self::open_with(client, referendum, index, keys, path, true)
    }

    /// Load an existing state file (no new ceremony).
    pub fn resume(
        client: &Client,
        referendum: &str,
        keys: TrusteeKeys,
        path: &Path,
    ) -> Result<Self> {
        if !path.exists() {
            bail!(
                "no ceremony state file at {}: decrypting needs the state from `vox trustee ceremony`",
                path.display()
            );
        }
        Self::open_with(client, referendum, None, keys, path, false)
    }

    fn open_with(
        client: &Client,
        referendum: &str,
        index: Option<u32>,
        keys: TrusteeKeys,
        path: &Path,
        create: bool,
    ) -> Result<Self> {
        let detail = client.referendum(referendum)?;
        let manifest = detail.manifest.clone();
        let mh = manifest.canonical_hash();
        if mh != detail.manifest_hash {
            bail!("the server's manifest hash does not match the manifest it sent");
        }
        let mine = manifest
            .trustees
            .iter()
            .find(|t| t.signing_key == *keys.signing_key())
            .ok_or_else(|| {
                anyhow!(
                    "this key (signing key {}) is not one of the trustees of referendum {referendum}",
                    keys.signing_key().to_hex()
                )
            })?;
        if mine.communication_key != *keys.communication_key() {
            bail!(
                "the manifest lists this signing key as trustee {} but with another \
                 communication key ({}): shares encrypted to it could not be read with this \
                 key file",
                mine.index,
                mine.communication_key.to_hex()
            );
        }
        if let Some(i) = index {
            if i != mine.index {
                bail!(
                    "--index {i} does not match the manifest, which lists this key as trustee {}",
                    mine.index
                );
            }
        }
        let params = CeremonyParams::new(manifest.trustees.len() as u32, manifest.threshold)
            .map_err(|e| anyhow!("{e}"))?;
        let state = if path.exists() {
            // It holds this trustee's dealer secret and key share: refused if others
            // can read it, like a key file.
            let text = files::read_private_strict(path, "ceremony state file")?;
            let s: TrusteeState = serde_json::from_str(&text)
                .with_context(|| format!("{} is not a trustee state file", path.display()))?;
            if s.format != STATE_FORMAT {
                bail!("{} is not a trustee state file", path.display());
            }
            if s.referendum_id != referendum || s.manifest_hash != mh {
                bail!(
                    "{} belongs to referendum {} (or another manifest); use one state file per referendum",
                    path.display(),
                    s.referendum_id
                );
            }
            if s.signing_key != *keys.signing_key() || s.trustee != mine.index {
                bail!("{} was made with another trustee key", path.display());
            }
            s
        } else if !create {
            bail!("no ceremony state file at {}", path.display());
        } else {
            let index = TrusteeIndex::new(mine.index).map_err(|e| anyhow!("{e}"))?;
            let dealer =
                Dealer::new(&params, index, &mh, &mut OsRng).map_err(|e| anyhow!("{e}"))?;
            let s = TrusteeState {
                format: STATE_FORMAT.into(),
                version: 1,
                referendum_id: referendum.to_owned(),
                trustee: mine.index,
                manifest_hash: mh,
                signing_key: *keys.signing_key(),
                dealer_secret: hex::encode(dealer.export_secret().as_slice()),
                dealer_reveal: dealer.coefficients().clone(),
                received: Vec::new(),
                complained: Vec::new(),
                answered: Vec::new(),
                outbox: Vec::new(),
                confirmed: false,
                complete: false,
                decryption: None,
            };
            save_state(path, &s)?;
            s
        };
        Ok(Self {
            keys,
            path: path.to_owned(),
            manifest,
            params,
            state,
        })
    }

    fn save(&self) -> Result<()> {
        save_state(&self.path, &self.state)
    }

    fn index(&self) -> Result<TrusteeIndex> {
        TrusteeIndex::new(self.state.trustee).map_err(|e| anyhow!("{e}"))
    }

    /// Restore the round-1 dealer from the state file (checked against its commitments).
    fn dealer(&self) -> Result<Dealer> {
        let bytes =
            Zeroizing::new(hex::decode(&self.state.dealer_secret).context("dealer secret")?);
        Dealer::restore(
            &self.params,
            &self.state.manifest_hash,
            &bytes,
            self.state.dealer_reveal.clone(),
        )
        .map_err(|e| anyhow!("ceremony state file is corrupted: {e}"))
    }

    fn revealed(&self, view: &CeremonyView) -> Result<RevealedDealer> {
        self.dealer()?
            .reveal(&view.commitments)
            .map_err(|e| anyhow!("cannot reveal yet: {e}"))
    }

    /// Sign, save, then send one ceremony message.
    fn send(&mut self, client: &Client, step: &str, body: CeremonyBody) -> Result<Step> {
        let message = CeremonyMessage::sign(
            &self.manifest,
            &self.state.manifest_hash,
            self.state.trustee,
            &self.keys,
            body,
            &mut OsRng,
        );
        self.state.outbox.push(Outgoing {
            step: step.to_owned(),
            message,
            posted: false,
        });
        self.save()?;
        self.flush(client)?;
        Ok(Step::Posted(step.to_owned()))
    }

    /// Send every saved message not yet acknowledged.
    fn flush(&mut self, client: &Client) -> Result<()> {
        let rid = self.state.referendum_id.clone();
        for i in 0..self.state.outbox.len() {
            let Some(out) = self.state.outbox.get(i).filter(|o| !o.posted).cloned() else {
                continue;
            };
            let key = format!(
                "ceremony-{}",
                Hash32::sha256(&[&out.message.canonical_bytes()]).to_hex()
            );
            match client.post_ceremony(&rid, &out.message, &key) {
                Ok(_) => {}
                // A resend after a crash, once the server forgot the idempotency key:
                // fine if exactly this message is already on the board.
                Err(e)
                    if matches!(api_status(&e), Some(409 | 422))
                        && on_board(client, &out.message)? => {}
                Err(e) => {
                    return Err(e.context(format!("posting the {} message", out.step)));
                }
            }
            if let Some(o) = self.state.outbox.get_mut(i) {
                o.posted = true;
            }
            self.save()?;
        }
        Ok(())
    }

    /// Do the next thing the ceremony needs from this trustee, if anything.
    pub fn advance(&mut self, client: &Client) -> Result<Step> {
        self.flush(client)?;
        let rid = self.state.referendum_id.clone();
        let view = client.ceremony(&rid)?;
        if let Some(reason) = view.failure() {
            bail!("the key ceremony of {rid} failed: {reason}");
        }
        let me = self.index()?;
        if view.disqualified.contains(&me.get()) {
            bail!(
                "trustee {me} was disqualified from the key ceremony of {rid} (a complaint \
                 against it was not answered in time, or its answer was wrong): the ceremony \
                 goes on without it"
            );
        }
        let n = self.params.n() as usize;
        let phase = view.phase_name();
        let dealer = self.dealer()?;

        // Round 1: commitment hash.
        match view.commitments.iter().find(|c| c.dealer == me) {
            None if phase == "commit" => {
                let key = self
                    .keys
                    .announce(me, &self.state.manifest_hash, &mut OsRng);
                let commitment = dealer.commitment();
                return self.send(
                    client,
                    "commitment",
                    CeremonyBody::Commit { key, commitment },
                );
            }
            None => bail!(
                "the ceremony is in the {phase} phase but has no commitment from trustee {me}"
            ),
            Some(c) if *c != dealer.commitment() => bail!(
                "the commitment posted for trustee {me} was not made from {} (wrong state file?)",
                self.path.display()
            ),
            Some(_) => {}
        }
        if phase == "commit" {
            return Ok(Step::Waiting(format!(
                "waiting for commitments ({}/{n})",
                view.commitments.len()
            )));
        }

        // Round 2: reveal, then encrypted shares.
        let revealed = self.revealed(&view)?;
        if !view.reveals.iter().any(|r| r.dealer == me) {
            if phase != "reveal" {
                bail!("the ceremony is in the {phase} phase but has no reveal from trustee {me}");
            }
            let coefficients = revealed.commitments().clone();
            return self.send(client, "reveal", CeremonyBody::Reveal { coefficients });
        }
        if phase == "reveal" {
            return Ok(Step::Waiting(format!(
                "waiting for reveals ({}/{n})",
                view.reveals.len()
            )));
        }
        // Shares are sent once, in the shares phase (with one trustee the list is empty,
        // so the board alone cannot tell whether it was sent).
        let shares_sent = view.shares.iter().any(|s| s.dealer == me)
            || self
                .state
                .outbox
                .iter()
                .any(|o| matches!(o.message.body, CeremonyBody::Shares { .. }));
        if phase == "shares" && !shares_sent {
            let mut keys = view.keys.clone();
            keys.sort_by_key(|k| k.trustee);
            let shares = revealed
                .encrypt_shares(&keys, &mut OsRng)
                .map_err(|e| anyhow!("encrypting shares: {e}"))?;
            return self.send(client, "encrypted shares", CeremonyBody::Shares { shares });
        }
        if phase == "shares" {
            let dealers: std::collections::BTreeSet<u32> =
                view.shares.iter().map(|s| s.dealer.get()).collect();
            return Ok(Step::Waiting(format!(
                "waiting for encrypted shares ({}/{n})",
                dealers.len()
            )));
        }

        // Round 3: answer complaints about me; check my shares; confirm or complain.
        if phase == "confirm" {
            for c in view.complaints.iter().filter(|c| c.dealer == me) {
                if !self.state.answered.contains(&c.recipient.get()) {
                    let answer = revealed
                        .answer_complaint(c)
                        .map_err(|e| anyhow!("answering a complaint: {e}"))?;
                    self.state.answered.push(c.recipient.get());
                    return self.send(client, "complaint answer", CeremonyBody::Answer { answer });
                }
            }
            if !self.state.confirmed {
                return self.check_and_confirm(client, &view, &revealed);
            }
            return Ok(Step::Waiting(
                "waiting for the other trustees to confirm".into(),
            ));
        }

        if phase == "complete" {
            let key_share = self.key_share(&revealed, &view)?;
            let joint = self
                .joint(&view)
                .map_err(|e| anyhow!("the published reveals do not make a valid key: {e}"))?;
            key_share
                .check(&joint)
                .map_err(|e| anyhow!("this trustee's key share is wrong: {e}"))?;
            let detail = client.referendum(&rid)?;
            if let Some(k) = detail.election_key {
                if k != *joint.election_key() {
                    bail!("the server's election key differs from the one the reveals define");
                }
            }
            if !self.state.complete {
                self.state.complete = true;
                self.save()?;
            }
            return Ok(Step::Complete);
        }
        bail!("unexpected ceremony phase `{phase}`")
    }

    fn check_and_confirm(
        &mut self,
        client: &Client,
        view: &CeremonyView,
        revealed: &RevealedDealer,
    ) -> Result<Step> {
        let me = self.index()?;
        let mh = self.state.manifest_hash;
        for es in view.shares.iter().filter(|s| s.recipient == me) {
            let d = es.dealer.get();
            // A disqualified dealer is outside QUAL: its share is not part of the key.
            if self.state.received.iter().any(|r| r.dealer == d)
                || self.state.complained.contains(&d)
                || view.disqualified.contains(&d)
            {
                continue;
            }
            let reveal = view
                .reveals
                .iter()
                .find(|r| r.dealer == es.dealer)
                .ok_or_else(|| anyhow!("no reveal from trustee {d}"))?;
            match receive_share(&mh, me, &self.keys, reveal, es).map_err(|e| anyhow!("{e}"))? {
                ShareVerdict::Accepted(s) => {
                    self.state.received.push(ReceivedShare {
                        dealer: d,
                        share: *s.expose(),
                    });
                    self.save()?;
                }
                ShareVerdict::Complaint(complaint) => {
                    self.state.complained.push(d);
                    return self.send(
                        client,
                        &format!("complaint about trustee {d}"),
                        CeremonyBody::Complaint { complaint },
                    );
                }
            }
        }
        // Shares revealed publicly in answers to my complaints.
        let pending: Vec<u32> = self
            .state
            .complained
            .iter()
            .copied()
            .filter(|d| !self.state.received.iter().any(|r| r.dealer == *d))
            // No answer will come from a disqualified dealer, and none is needed.
            .filter(|d| !view.disqualified.contains(d))
            .collect();
        if !pending.is_empty() {
            let answers = find_answers(client, &self.state.referendum_id, me)?;
            for d in &pending {
                let Some(answer) = answers.iter().find(|a| a.dealer.get() == *d) else {
                    return Ok(Step::Waiting(format!(
                        "waiting for trustee {d} to answer this trustee's complaint"
                    )));
                };
                let reveal = view
                    .reveals
                    .iter()
                    .find(|r| r.dealer.get() == *d)
                    .ok_or_else(|| anyhow!("no reveal from trustee {d}"))?;
                let complaint = vox_crypto::threshold::Complaint {
                    dealer: answer.dealer,
                    recipient: me,
                };
                let share = judge_complaint(reveal, &complaint, Some(answer))
                    .map_err(|e| anyhow!("trustee {d}'s answer does not check out: {e}"))?;
                self.state
                    .received
                    .push(ReceivedShare { dealer: *d, share });
                self.save()?;
            }
        }
        let others = qualified(&self.params, view)
            .iter()
            .filter(|i| **i != me)
            .count();
        let have = self
            .state
            .received
            .iter()
            .filter(|r| !view.disqualified.contains(&r.dealer))
            .count();
        if have < others {
            return Ok(Step::Waiting(format!(
                "waiting for shares ({have}/{others})"
            )));
        }
        let key_share = self.key_share(revealed, view)?;
        let joint = self.joint(view).map_err(|e| anyhow!("{e}"))?;
        key_share
            .check(&joint)
            .map_err(|e| anyhow!("combined key share does not match: {e}"))?;
        self.state.confirmed = true;
        self.send(client, "confirmation", CeremonyBody::Confirm)
    }

    /// x_l = Σ_{j∈QUAL} P_j(l): this trustee's own share and the ones received from the
    /// other qualified dealers (06 §6.7). A disqualified dealer's share is left out, as
    /// its polynomial is left out of the election key.
    fn key_share(&self, revealed: &RevealedDealer, view: &CeremonyView) -> Result<KeyShare> {
        let me = self.index()?;
        if view.disqualified.contains(&me.get()) {
            bail!("this trustee (trustee {me}) was disqualified from the key ceremony: it holds no key share");
        }
        let qual = qualified(&self.params, view);
        let mut parts = vec![(me, revealed.own_share())];
        for r in &self.state.received {
            let i = TrusteeIndex::new(r.dealer).map_err(|e| anyhow!("{e}"))?;
            if qual.contains(&i) {
                parts.push((i, SecretScalar::new(r.share)));
            }
        }
        KeyShare::combine_qualified(&self.params, me, &parts, &qual).map_err(|e| anyhow!("{e}"))
    }

    /// The joint keys over QUAL from the published reveals (06 §6.7).
    fn joint(&self, view: &CeremonyView) -> Result<JointPublicKeys> {
        JointPublicKeys::from_qualified(
            &self.params,
            &self.state.manifest_hash,
            &view.reveals,
            &qualified(&self.params, view),
        )
        .map_err(|e| anyhow!("{e}"))
    }

    /// The key share after a complete ceremony, checked against the published key.
    fn final_key_share(&self, client: &Client) -> Result<(KeyShare, JointPublicKeys)> {
        let view = client.ceremony(&self.state.referendum_id)?;
        if view.phase_name() != "complete" || !self.state.confirmed {
            bail!(
                "the key ceremony of {} is not complete (phase {}); run `vox trustee ceremony` first",
                self.state.referendum_id,
                view.phase_name()
            );
        }
        let revealed = self.revealed(&view)?;
        let key_share = self.key_share(&revealed, &view)?;
        let joint = self.joint(&view)?;
        key_share.check(&joint).map_err(|e| anyhow!("{e}"))?;
        Ok((key_share, joint))
    }

    /// Post this trustee's decryption share of the tally; returns the server's count of
    /// shares received.
    pub fn decrypt(&mut self, client: &Client) -> Result<Option<u64>> {
        let rid = self.state.referendum_id.clone();
        let detail = client.referendum(&rid)?;
        let state = detail.state_name();
        if !matches!(state.as_str(), "tallied" | "published") {
            bail!(
                "referendum {rid} is {state}: a decryption share can only be posted after the \
                 referendum is closed and its encrypted tally computed"
            );
        }
        let (key_share, _joint) = self.final_key_share(client)?;
        let tally = client.tally(&rid)?;
        check_tally(client, &detail, &tally)?;
        let message = match &self.state.decryption {
            Some(m)
                if m.share
                    .check(
                        &self.state.manifest_hash,
                        &key_share.public(),
                        &tally.ciphertexts,
                        &mut vox_crypto::batch::SingleVerifier,
                    )
                    .is_ok() =>
            {
                m.clone()
            }
            _ => {
                let share = DecryptionShare::create(
                    &key_share,
                    &self.state.manifest_hash,
                    &tally.ciphertexts,
                    &mut OsRng,
                );
                let m = DecryptionShareMessage::sign(
                    &self.manifest,
                    &self.state.manifest_hash,
                    &self.keys,
                    share,
                    &mut OsRng,
                );
                self.state.decryption = Some(m.clone());
                self.save()?;
                m
            }
        };
        let key = format!(
            "decryption-{}",
            Hash32::sha256(&[&message.canonical_bytes()]).to_hex()
        );
        match client.post_decryption_share(&rid, &message, &key) {
            Ok(p) => Ok(Some(p.shares_received)),
            Err(e) if state == "published" && api_status(&e) == Some(409) => {
                bail!("referendum {rid} is already published; no share is needed")
            }
            Err(e) => Err(e),
        }
    }
}

fn save_state(path: &Path, s: &TrusteeState) -> Result<()> {
    let text = Zeroizing::new(serde_json::to_string_pretty(s)? + "\n");
    files::write_private(path, text.as_bytes(), true)
}

/// Whether exactly this ceremony message is on the board.
fn on_board(client: &Client, message: &CeremonyMessage) -> Result<bool> {
    let size = client.board()?.tree_size;
    let mut found = false;
    client.all_entries(0, size, |_, e| {
        if let Payload::Ceremony { message: m } = e.payload {
            found |= m == *message;
        }
        Ok(())
    })?;
    Ok(found)
}

/// Answers to complaints by this trustee, from the board.
fn find_answers(
    client: &Client,
    referendum: &str,
    me: TrusteeIndex,
) -> Result<Vec<vox_crypto::threshold::ComplaintAnswer>> {
    let size = client.board()?.tree_size;
    let mut out = Vec::new();
    client.all_entries(0, size, |_, e| {
        if let Payload::Ceremony { message } = e.payload {
            if message.referendum_id == referendum {
                if let CeremonyBody::Answer { answer } = message.body {
                    if answer.recipient == me {
                        out.push(answer);
                    }
                }
            }
        }
        Ok(())
    })?;
    Ok(out)
}

/// Recompute the encrypted tally from the board: the homomorphic sum of the last ballot
/// of each credential cast before the referendum closed. A trustee checks this before
/// decrypting, so that it never decrypts anything but the sum (a single ballot, say).
pub fn check_tally(
    client: &Client,
    detail: &ReferendumDetail,
    tally: &EncryptedTally,
) -> Result<()> {
    let rid = &detail.manifest.referendum_id;
    let size = client.board()?.tree_size;
    let mut last: std::collections::HashMap<[u8; 32], (u64, vox_protocol::ballot::Ballot)> =
        std::collections::HashMap::new();
    let mut closed = false;
    client.all_entries(0, size, |i, e| {
        match e.payload {
            Payload::BallotCast { ballot } if !closed && &ballot.referendum_id == rid => {
                // The voter key: the credential, or an anonymous ballot's linking tag.
                if let Some(key) = ballot.voter_key() {
                    last.insert(key, (i, ballot));
                }
            }
            Payload::ReferendumClosed { referendum_id } if &referendum_id == rid => closed = true,
            _ => {}
        }
        Ok(())
    })?;
    let mut ballots: Vec<(u64, vox_protocol::ballot::Ballot)> = last.into_values().collect();
    ballots.sort_by_key(|(i, _)| *i);
    let mut acc = TallyAccumulator::new(&detail.manifest);
    for (_, b) in &ballots {
        acc.add(b).map_err(|e| anyhow!("{e}"))?;
    }
    let (sums, n) = acc.finish();
    if n != tally.counted_ballots || sums != tally.ciphertexts {
        bail!(
            "refusing to decrypt: the tally the server asks to decrypt is not the sum of the \
             {n} counted ballots on the board"
        );
    }
    let hashes: Vec<Hash32> = ballots.iter().map(|(_, b)| b.hash()).collect();
    if counted_hash(hashes.iter()) != tally.counted_hash {
        bail!("refusing to decrypt: the tally's counted-ballots hash does not match the board");
    }
    Ok(())
}
