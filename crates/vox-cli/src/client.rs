//! A small typed client of the vox HTTP API (protocol-spec/api.md) over blocking `ureq`.
//!
//! Errors from the server are RFC 9457 problem details; [`ApiError`] keeps their status,
//! title, detail and offending field so that commands can print a clear message (and
//! react to a specific status, e.g. 409 for a wrong state).

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::{anyhow, bail, Result};
use ed25519_dalek::{Signer, SigningKey};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use vox_crypto::credential::CredentialPublicKey;
use vox_crypto::ring::LinkingTag;
use vox_crypto::Hash32;
use vox_protocol::ballot::{AuditedBallot, Ballot};
use vox_protocol::board::{
    BoardEntry, BoardPublicKey, EncryptedTally, Payload, Receipt, Sig, SignedTreeHead,
};
use vox_protocol::ceremony::{CeremonyMessage, DecryptionShareMessage};
use vox_protocol::electorate::{Electorate, EnrolmentRequest};
use vox_protocol::enrolment::EnrolmentOpening;
use vox_protocol::manifest::{Manifest, TrusteePanel};
use vox_protocol::merkle::root_from_leaf_hashes;
use vox_protocol::petition::{
    Moderation, PetitionPolicy, PetitionProposal, PetitionSignature, RingPetitionSignature,
};
use vox_protocol::record::RecordHeader;
use vox_protocol::rings::BoardView;
use vox_protocol::roles::{possession_message, ActSignature, Role, WitnessPolicy};
use vox_protocol::tally::ReferendumResult;

fn payload_kind_phrase(role: Role) -> String {
    format!("act of {}", role_phrase(role))
}

/// Largest page of board entries the server returns.
pub const ENTRIES_PAGE: u64 = 1000;

/// A problem-details error answered by the server.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP method and path of the request.
    pub request: String,
    /// HTTP status.
    pub status: u16,
    /// Last path segment of the problem `type`, e.g. `not-eligible`.
    pub kind: Option<String>,
    /// Short title.
    pub title: String,
    /// Longer explanation.
    pub detail: Option<String>,
    /// The offending field, if any.
    pub field: Option<String>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.status == 403 {
            // A refused act signature: the detail names the role whose key is needed.
            let why = self
                .detail
                .as_deref()
                .filter(|d| !d.is_empty())
                .unwrap_or(&self.title);
            write!(f, "the server refused {}: {why} (403", self.request)?;
            if !self.title.is_empty() {
                write!(f, " {}", self.title)?;
            }
            return write!(f, ")");
        }
        write!(f, "the server refused {} ({}", self.request, self.status)?;
        if !self.title.is_empty() {
            write!(f, " {}", self.title)?;
        }
        write!(f, ")")?;
        if let Some(d) = self.detail.as_deref().filter(|d| !d.is_empty()) {
            write!(f, ": {d}")?;
        }
        if let Some(field) = self.field.as_deref().filter(|d| !d.is_empty()) {
            write!(f, " [field: {field}]")?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

/// The status of an [`ApiError`] inside an `anyhow` error, if that is what it is.
pub fn api_status(e: &anyhow::Error) -> Option<u16> {
    e.downcast_ref::<ApiError>().map(|a| a.status)
}

/// The [`ApiError`] inside an `anyhow` error, if that is what it is.
pub fn api_error(e: &anyhow::Error) -> Option<&ApiError> {
    e.downcast_ref::<ApiError>()
}

#[derive(Deserialize)]
struct Problem {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    detail: Option<String>,
    #[serde(default)]
    field: Option<String>,
    /// A machine-readable code some problems carry besides their `type`.
    #[serde(default)]
    code: Option<String>,
}

// The answers' types are the server's own (`vox_protocol::api`): one contract, so that a
// renamed field breaks the build rather than this client.
/// `POST /api/v1/electorates` answer.
pub use vox_protocol::api::ElectorateRegistered as ElectorateCreated;
/// `POST /api/v1/electorates/{id}/freeze` answer.
pub use vox_protocol::api::ElectorateRegistered as ElectorateFrozen;
pub use vox_protocol::api::{
    AuditPosted, BallotStanding, BallotStatus, BoardInfo, CeremonyPhaseName, CeremonyPosted,
    CeremonyView, ConsistencyProof, CredentialEnrolled, CredentialRevoked, ElectorateInfo,
    ElectorateState, EnrolmentOpened, InclusionProof, IndexedEntry, LatestBallot, PetitionDetail,
    PetitionSummary, PolicyView, ReferendumCreated, ReferendumDetail, ReferendumState,
    ReferendumSummary, RoleKeyRotated, SharePosted, SignatureAccepted, WitnessPolicyView,
};
/// Codes committed and credentials enrolled in one region of an electorate.
pub use vox_protocol::enrolment::RegionTally as RegionCounts;

/// A role's key in a client: signs that role's acts for the server's log.
struct ActSigner {
    key: SigningKey,
    /// `issued_at_ms` of the last act signed (each act gets a later one).
    last_issued: AtomicI64,
}

/// A client of one vox server. Authority acts are signed locally with the role key
/// given to [`Client::with_key`]; the key never leaves this process.
#[derive(Clone)]
pub struct Client {
    agent: ureq::Agent,
    base: String,
    signer: Option<Arc<ActSigner>>,
    log_id: Arc<OnceLock<Hash32>>,
}

/// The time in Unix milliseconds.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// "the petitions office", "the registrar", … for messages.
pub fn role_phrase(role: Role) -> &'static str {
    match role {
        Role::Operator => "the board operator",
        Role::Registrar => "the registrar",
        Role::PetitionsOffice => "the petitions office",
        Role::ElectionAuthority => "the election authority",
    }
}

impl Client {
    /// A client of the server at `base` (e.g. `http://127.0.0.1:8080`).
    pub fn new(base: &str) -> Self {
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(Duration::from_secs(10))
            .timeout(Duration::from_secs(120))
            .max_idle_connections_per_host(64)
            .build();
        Self {
            agent,
            base: base.trim_end_matches('/').to_owned(),
            signer: None,
            log_id: Arc::new(OnceLock::new()),
        }
    }

    /// The same client signing authority acts with a role's key (registrar, petitions
    /// office or election authority). The server checks the signature against that
    /// role's current key: an act needing another role is refused with 403.
    pub fn with_key(mut self, key: SigningKey) -> Self {
        self.signer = Some(Arc::new(ActSigner {
            key,
            last_issued: AtomicI64::new(0),
        }));
        self
    }

    /// The public key this client signs acts with, if any.
    pub fn signing_key(&self) -> Option<BoardPublicKey> {
        self.signer
            .as_ref()
            .map(|s| BoardPublicKey(s.key.verifying_key()))
    }

    /// The server's log id (fetched once from `GET /api/v1/board`, checked against its
    /// board key, then cached).
    pub fn log_id(&self) -> Result<Hash32> {
        if let Some(id) = self.log_id.get() {
            return Ok(*id);
        }
        let b = self.board()?;
        if b.board_public_key.log_id() != b.log_id {
            bail!(
                "the server at {} announces a log id that is not its board key's",
                self.base
            );
        }
        if let Some(g) = &b.genesis {
            if g.keys.operator != b.board_public_key {
                bail!(
                    "the server at {} runs a log whose genesis names another operator key",
                    self.base
                );
            }
        }
        Ok(*self.log_id.get_or_init(|| b.log_id))
    }

    /// Sign an authority act with this client's role key for the server's log, with
    /// `issued_at_ms` = now (strictly later than this client's previous act).
    pub fn sign_act(&self, payload: Payload) -> Result<Payload> {
        let role = payload
            .act_role()
            .ok_or_else(|| anyhow!("a {} entry is not an authority act", payload.kind()))?;
        let Some(signer) = &self.signer else {
            bail!(
                "this act must be signed by {}: give its key file (--key FILE or ${})",
                role_phrase(role),
                crate::files::ROLE_KEY_ENV
            );
        };
        let log_id = self.log_id()?;
        let now = now_ms();
        let mut prev = signer.last_issued.load(Ordering::SeqCst);
        let issued = loop {
            let next = now.max(prev.saturating_add(1));
            match signer.last_issued.compare_exchange(
                prev,
                next,
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(_) => break next,
                Err(p) => prev = p,
            }
        };
        payload
            .signed_act(&log_id, issued, &signer.key)
            .map_err(|e| anyhow!("signing the {}: {e}", payload_kind_phrase(role)))
    }

    /// Sign an authority act and POST it (the body is the signed board payload). The
    /// Idempotency-Key is derived from the signature, so a retry after a lost answer
    /// gets the first answer instead of a replay refusal.
    pub fn post_act<T: DeserializeOwned>(&self, path: &str, payload: Payload) -> Result<T> {
        let signed = self.sign_act(payload)?;
        let key = match signed.act() {
            Some(a) => format!("act-{}", hex::encode(&a.signature.0.to_bytes()[..16])),
            None => bail!("internal error: the signed act carries no signature"),
        };
        self.post_idempotent(path, &signed, &key)
    }

    /// The server's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        idempotency_key: Option<&str>,
    ) -> Result<T> {
        let request = format!("{method} {path}");
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let mut req = self
                .agent
                .request(method, &self.url(path))
                .set("Accept", "application/json");
            if let Some(k) = idempotency_key {
                req = req.set("Idempotency-Key", k);
            }
            let result = match body {
                Some(b) => req.send_json(b),
                None => req.call(),
            };
            match result {
                Ok(resp) => {
                    return resp
                        .into_json::<T>()
                        .map_err(|e| anyhow!("{request}: unexpected answer from the server: {e}"))
                }
                Err(ureq::Error::Status(429, resp)) if attempt < 20 => {
                    let wait = resp
                        .header("Retry-After")
                        .and_then(|s| s.trim().parse::<u64>().ok())
                        .unwrap_or(1)
                        .clamp(1, 10);
                    std::thread::sleep(Duration::from_millis(wait * 1000));
                }
                Err(ureq::Error::Status(status, resp)) => {
                    let text = resp.into_string().unwrap_or_default();
                    let p: Option<Problem> = serde_json::from_str(&text).ok();
                    let e = match p {
                        Some(p) => ApiError {
                            request,
                            status,
                            kind: p.code.or_else(|| {
                                p.kind
                                    .as_deref()
                                    .and_then(|k| k.rsplit('/').next())
                                    .map(str::to_owned)
                            }),
                            title: p.title.unwrap_or_default(),
                            detail: p.detail,
                            field: p.field,
                        },
                        None => ApiError {
                            request,
                            status,
                            kind: None,
                            title: String::new(),
                            detail: Some(text.chars().take(300).collect()),
                            field: None,
                        },
                    };
                    return Err(e.into());
                }
                Err(ureq::Error::Transport(t)) => {
                    // Connection resets under load are retried: every POST of the API is
                    // idempotent for the same body.
                    if attempt < 4 && matches!(t.kind(), ureq::ErrorKind::Io) {
                        std::thread::sleep(Duration::from_millis(100 * u64::from(attempt)));
                        continue;
                    }
                    return Err(anyhow!(
                        "cannot reach the vox server at {} ({request}): {t}",
                        self.base
                    ));
                }
            }
        }
    }

    /// GET a JSON resource.
    pub fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        self.call("GET", path, None, None)
    }

    /// POST a JSON body.
    pub fn post<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T> {
        let v = serde_json::to_value(body)?;
        self.call("POST", path, Some(&v), None)
    }

    /// POST with an `Idempotency-Key`.
    pub fn post_idempotent<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        path: &str,
        body: &B,
        key: &str,
    ) -> Result<T> {
        let v = serde_json::to_value(body)?;
        self.call("POST", path, Some(&v), Some(key))
    }

    // ---- service and board -------------------------------------------------------

    /// `GET /healthz`.
    pub fn health(&self) -> Result<Value> {
        self.get("/healthz")
    }

    /// `GET /api/v1/board`.
    pub fn board(&self) -> Result<BoardInfo> {
        self.get("/api/v1/board")
    }

    /// `GET /api/v1/board/tree-head`.
    pub fn tree_head(&self) -> Result<SignedTreeHead> {
        self.get("/api/v1/board/tree-head")
    }

    /// `GET /api/v1/board/tree-heads[?since=SIZE]`.
    pub fn tree_heads(&self, since: Option<u64>) -> Result<Vec<SignedTreeHead>> {
        match since {
            Some(s) => self.get(&format!("/api/v1/board/tree-heads?since={s}")),
            None => self.get("/api/v1/board/tree-heads"),
        }
    }

    /// `GET /api/v1/board/entries?start=A&end=B` (at most [`ENTRIES_PAGE`]).
    pub fn entries(&self, start: u64, end: u64) -> Result<Vec<IndexedEntry>> {
        self.get(&format!("/api/v1/board/entries?start={start}&end={end}"))
    }

    /// Every entry in `start..end`, page by page, in order (checks the indices).
    pub fn all_entries(
        &self,
        start: u64,
        end: u64,
        mut each: impl FnMut(u64, BoardEntry) -> Result<()>,
    ) -> Result<()> {
        let mut next = start;
        while next < end {
            let stop = end.min(next + ENTRIES_PAGE);
            let page = self.entries(next, stop)?;
            if page.is_empty() {
                anyhow::bail!("the server returned no entries for {next}..{stop}");
            }
            for item in page {
                if item.index != next {
                    anyhow::bail!(
                        "the server returned entry {} where {next} was expected",
                        item.index
                    );
                }
                each(item.index, item.entry)?;
                next += 1;
                if next >= end {
                    break;
                }
            }
        }
        Ok(())
    }

    /// `GET /api/v1/board/inclusion`.
    pub fn inclusion(&self, index: u64, tree_size: u64) -> Result<InclusionProof> {
        self.get(&format!(
            "/api/v1/board/inclusion?index={index}&tree_size={tree_size}"
        ))
    }

    /// `GET /api/v1/board/consistency`.
    pub fn consistency(&self, first: u64, second: u64) -> Result<ConsistencyProof> {
        self.get(&format!(
            "/api/v1/board/consistency?first={first}&second={second}"
        ))
    }

    /// `GET /api/v1/record?referendum=ID` or `?petition=ID`.
    pub fn record_header(
        &self,
        referendum: Option<&str>,
        petition: Option<&str>,
    ) -> Result<RecordHeader> {
        match (referendum, petition) {
            (Some(r), _) => self.get(&format!("/api/v1/record?referendum={}", enc(r))),
            (None, Some(p)) => self.get(&format!("/api/v1/record?petition={}", enc(p))),
            (None, None) => self.get("/api/v1/record"),
        }
    }

    // ---- electorates -------------------------------------------------------------

    /// `POST /api/v1/electorates`: the registrar's signed `electorate-registered` act.
    pub fn create_electorate(&self, e: &Electorate) -> Result<ElectorateCreated> {
        self.post_act(
            "/api/v1/electorates",
            Payload::ElectorateRegistered {
                electorate: e.clone(),
                act: ActSignature::unsigned(),
            },
        )
    }

    /// `GET /api/v1/electorates/{id}`.
    pub fn electorate(&self, id: &str) -> Result<ElectorateInfo> {
        self.get(&format!("/api/v1/electorates/{}", enc(id)))
    }

    /// `POST /api/v1/enrolments`: the registrar's signed `enrolment-opened` act (the
    /// hashes of the codes on the letters).
    pub fn open_enrolment(&self, opening: &EnrolmentOpening) -> Result<EnrolmentOpened> {
        self.post_act(
            "/api/v1/enrolments",
            Payload::EnrolmentOpened {
                opening: opening.clone(),
                act: ActSignature::unsigned(),
            },
        )
    }

    /// `POST /api/v1/electorates/{id}/credentials`: a citizen's device enrols its
    /// credential with a code (no act: the credential signs the request).
    pub fn enrol(&self, request: &EnrolmentRequest) -> Result<CredentialEnrolled> {
        self.post(
            &format!(
                "/api/v1/electorates/{}/credentials",
                enc(&request.electorate_id)
            ),
            request,
        )
    }

    /// `POST /api/v1/electorates/{id}/revocations`: the registrar's signed
    /// `credential-revoked` act, with the hash of a replacement code if one was drawn.
    pub fn revoke_credential(
        &self,
        electorate_id: &str,
        credential: &CredentialPublicKey,
        replacement: Option<Hash32>,
        reason: &str,
    ) -> Result<CredentialRevoked> {
        self.post_act(
            &format!("/api/v1/electorates/{}/revocations", enc(electorate_id)),
            Payload::CredentialRevoked {
                electorate_id: electorate_id.to_owned(),
                credential: *credential,
                replacement,
                reason: reason.to_owned(),
                act: ActSignature::unsigned(),
            },
        )
    }

    /// `POST /api/v1/electorates/{id}/freeze`: the registrar's signed
    /// `electorate-frozen` act naming the hash of the enrolled list.
    pub fn freeze_electorate(
        &self,
        electorate_id: &str,
        electorate_hash: &Hash32,
    ) -> Result<ElectorateFrozen> {
        self.post_act(
            &format!("/api/v1/electorates/{}/freeze", enc(electorate_id)),
            Payload::ElectorateFrozen {
                electorate_id: electorate_id.to_owned(),
                electorate_hash: *electorate_hash,
                act: ActSignature::unsigned(),
            },
        )
    }

    // ---- petitions ---------------------------------------------------------------

    /// `GET /api/v1/petitions`.
    pub fn petitions(&self) -> Result<Vec<PetitionSummary>> {
        self.get("/api/v1/petitions")
    }

    /// `POST /api/v1/petitions`.
    pub fn propose(&self, p: &PetitionProposal) -> Result<PetitionSummary> {
        self.post("/api/v1/petitions", p)
    }

    /// `GET /api/v1/petitions/{id}`.
    pub fn petition(&self, id: &str) -> Result<PetitionDetail> {
        self.get(&format!("/api/v1/petitions/{}", enc(id)))
    }

    /// `POST /api/v1/petitions/{id}/signatures`.
    pub fn sign_petition(&self, id: &str, s: &PetitionSignature) -> Result<SignatureAccepted> {
        self.post(&format!("/api/v1/petitions/{}/signatures", enc(id)), s)
    }

    /// `POST /api/v1/petitions/{id}/ring-signatures` (a ring-signed petition, 07 §7.10).
    pub fn ring_sign_petition(
        &self,
        id: &str,
        s: &RingPetitionSignature,
    ) -> Result<SignatureAccepted> {
        self.post(&format!("/api/v1/petitions/{}/ring-signatures", enc(id)), s)
    }

    /// The board as the signer's device sees it, built from every entry up to the
    /// latest signed tree head: the entries must hash to that head's root (so the
    /// server cannot show this device a made-up electorate or hide a revocation without
    /// signing a different log), and every act's signature is checked on the way
    /// (`BoardView::apply`). The head is checked under `key`, the board key this device
    /// trusts (pinned or given), never one the server names now. Ring-signed petitions
    /// and anonymous referendums derive their rings from it.
    pub fn board_view(&self, key: &BoardPublicKey) -> Result<BoardView> {
        let head = self.tree_head()?;
        head.verify(key).map_err(|e| {
            anyhow!("the board's tree head does not verify under the trusted board key: {e}")
        })?;
        let size = head.head.tree_size;
        let mut view = BoardView::new();
        let mut leaves = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        self.all_entries(0, size, |index, entry| {
            leaves.push(entry.leaf_hash());
            view.apply(&entry.payload)
                .map_err(|e| anyhow!("board entry {index}: {e}"))
        })?;
        if root_from_leaf_hashes(&leaves) != head.head.root_hash {
            bail!(
                "the board's entries 0..{size} do not hash to its signed tree head: it shows \
                 this device a different log than the one it signed"
            );
        }
        Ok(view)
    }

    /// `POST /api/v1/petitions/{id}/moderation`: the petitions office's signed
    /// `petition-moderated` act (a publication carries its `closes_at`).
    pub fn moderate(&self, id: &str, m: &Moderation) -> Result<PetitionSummary> {
        self.post_act(
            &format!("/api/v1/petitions/{}/moderation", enc(id)),
            Payload::PetitionModerated {
                petition_id: id.to_owned(),
                moderation: m.clone(),
                act: ActSignature::unsigned(),
            },
        )
    }

    /// `POST /api/v1/petition-policy`: the petitions office's signed
    /// `petition-policy-set` act (replaces the policy in force for later proposals).
    pub fn set_petition_policy(&self, policy: &PetitionPolicy) -> Result<Value> {
        self.post_act(
            "/api/v1/petition-policy",
            Payload::PetitionPolicySet {
                policy: policy.clone(),
                act: ActSignature::unsigned(),
            },
        )
    }

    /// `GET /api/v1/petition-policy`: the policy in force (`{"policy": null}` if none).
    pub fn petition_policy(&self) -> Result<Value> {
        self.get("/api/v1/petition-policy")
    }

    /// `POST /api/v1/petitions/{id}/response`: the petitions office's signed
    /// `petition-responded` act.
    pub fn respond(&self, id: &str, text: &str) -> Result<PetitionSummary> {
        self.post_act(
            &format!("/api/v1/petitions/{}/response", enc(id)),
            Payload::PetitionResponded {
                petition_id: id.to_owned(),
                text: text.to_owned(),
                act: ActSignature::unsigned(),
            },
        )
    }

    /// `POST /api/v1/petitions/{id}/invalidations`: the petitions office's signed
    /// `signatures-invalidated` act.
    pub fn invalidate(
        &self,
        id: &str,
        credentials: &[CredentialPublicKey],
        tags: &[LinkingTag],
        reason: &str,
    ) -> Result<PetitionSummary> {
        self.post_act(
            &format!("/api/v1/petitions/{}/invalidations", enc(id)),
            Payload::SignaturesInvalidated {
                petition_id: id.to_owned(),
                credentials: credentials.to_vec(),
                tags: tags.to_vec(),
                reason: reason.to_owned(),
                act: ActSignature::unsigned(),
            },
        )
    }

    /// `POST /api/v1/petitions/{id}/close`: close a petition at or after its deadline
    /// (no key: the board's rules decide; anyone may trigger it).
    pub fn close_petition(&self, id: &str) -> Result<PetitionSummary> {
        self.post(
            &format!("/api/v1/petitions/{}/close", enc(id)),
            &serde_json::json!({}),
        )
    }

    // ---- roles -------------------------------------------------------------------

    /// `POST /api/v1/roles/rotations`: replace this client's role key by `new_key`
    /// (signed by the current key, with `new_key`'s proof of possession). Afterwards
    /// this client still holds the old key: make a new client with the new one.
    pub fn rotate_key(&self, role: Role, new_key: &SigningKey) -> Result<RoleKeyRotated> {
        let log_id = self.log_id()?;
        let new_public = BoardPublicKey(new_key.verifying_key());
        let possession = Sig(new_key.sign(&possession_message(&log_id, role, &new_public)));
        self.post_act(
            "/api/v1/roles/rotations",
            Payload::RoleKeyRotated {
                role,
                new_key: new_public,
                possession,
                act: ActSignature::unsigned(),
            },
        )
    }

    // ---- referendums -------------------------------------------------------------

    /// `POST /api/v1/witness-policy`: the operator's signed `witness-policy-set` act (in
    /// force once the current witnesses' quorum cosigns a head covering it).
    pub fn set_witness_policy(&self, policy: &WitnessPolicy) -> Result<WitnessPolicyView> {
        self.post_act(
            "/api/v1/witness-policy",
            Payload::WitnessPolicySet {
                policy: policy.clone(),
                act: ActSignature::unsigned(),
            },
        )
    }

    /// `GET /api/v1/witness-policy`: the policy in force and a pending change.
    pub fn witness_policy(&self) -> Result<WitnessPolicyView> {
        self.get("/api/v1/witness-policy")
    }

    /// `POST /api/v1/panel`: the election authority's signed `trustee-panel-set` act
    /// (the standing panel of every referendum a petition triggers from now on).
    pub fn set_panel(&self, panel: &TrusteePanel) -> Result<Value> {
        self.post_act(
            "/api/v1/panel",
            Payload::TrusteePanelSet {
                panel: panel.clone(),
                act: ActSignature::unsigned(),
            },
        )
    }

    /// `GET /api/v1/panel`: the standing trustee panel in force (`{"panel": …,
    /// "leaf_index": …}`), `None` if none is (404).
    pub fn panel(&self) -> Result<Option<Value>> {
        match self.get("/api/v1/panel") {
            Ok(v) => Ok(Some(v)),
            Err(e) if api_status(&e) == Some(404) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `GET /api/v1/referendums`.
    pub fn referendums(&self) -> Result<Vec<ReferendumSummary>> {
        self.get("/api/v1/referendums")
    }

    /// `POST /api/v1/referendums`: the election authority's signed `referendum-created`
    /// act.
    pub fn create_referendum(&self, m: &Manifest) -> Result<ReferendumCreated> {
        self.post_act(
            "/api/v1/referendums",
            Payload::ReferendumCreated {
                manifest: m.clone(),
                act: ActSignature::unsigned(),
            },
        )
    }

    /// `GET /api/v1/referendums/{id}`.
    pub fn referendum(&self, id: &str) -> Result<ReferendumDetail> {
        self.get(&format!("/api/v1/referendums/{}", enc(id)))
    }

    /// `GET /api/v1/referendums/{id}/ceremony`.
    pub fn ceremony(&self, id: &str) -> Result<CeremonyView> {
        self.get(&format!("/api/v1/referendums/{}/ceremony", enc(id)))
    }

    /// `POST /api/v1/referendums/{id}/ceremony` (trustee-signed).
    pub fn post_ceremony(
        &self,
        id: &str,
        m: &CeremonyMessage,
        key: &str,
    ) -> Result<CeremonyPosted> {
        self.post_idempotent(&format!("/api/v1/referendums/{}/ceremony", enc(id)), m, key)
    }

    /// `POST /api/v1/referendums/{id}/open` or `/close` (`action`): no key and no body.
    /// Opening and closing are system entries the board's scheduler appends at the
    /// manifest's `opens_at` and `closes_at` (10 §10.3); this only nudges it, and the
    /// server answers 409 before the time.
    pub fn referendum_action(&self, id: &str, action: &str) -> Result<Value> {
        if !matches!(action, "open" | "close") {
            bail!("unknown referendum action {action:?} (open or close)");
        }
        self.call(
            "POST",
            &format!("/api/v1/referendums/{}/{action}", enc(id)),
            None,
            None,
        )
    }

    /// `POST /api/v1/referendums/{id}/ballots`.
    pub fn cast(&self, id: &str, b: &Ballot) -> Result<Receipt> {
        self.post(&format!("/api/v1/referendums/{}/ballots", enc(id)), b)
    }

    /// `POST /api/v1/referendums/{id}/audits`.
    pub fn audit(&self, id: &str, a: &AuditedBallot) -> Result<AuditPosted> {
        self.post(&format!("/api/v1/referendums/{}/audits", enc(id)), a)
    }

    /// `GET /api/v1/referendums/{id}/ballots/{hash}`.
    pub fn ballot_status(&self, id: &str, hash: &Hash32) -> Result<BallotStatus> {
        self.get(&format!(
            "/api/v1/referendums/{}/ballots/{}",
            enc(id),
            hash.to_hex()
        ))
    }

    /// `GET /api/v1/referendums/{id}/credentials/{key}/latest-ballot`; `None` (the server
    /// answers `null`) if the credential has cast no ballot in that referendum.
    /// The voter is a credential's 32 bytes, or for an anonymous referendum the
    /// credential's linking tag (04 §4.10).
    pub fn latest_ballot(&self, id: &str, voter: &[u8; 32]) -> Result<Option<LatestBallot>> {
        let path = format!(
            "/api/v1/referendums/{}/credentials/{}/latest-ballot",
            enc(id),
            hex::encode(voter)
        );
        self.get(&path)
    }

    /// `POST /api/v1/referendums/{id}/tally` (no key: a deterministic step).
    pub fn compute_tally(&self, id: &str) -> Result<EncryptedTally> {
        self.post(
            &format!("/api/v1/referendums/{}/tally", enc(id)),
            &serde_json::json!({}),
        )
    }

    /// `GET /api/v1/referendums/{id}/tally`.
    pub fn tally(&self, id: &str) -> Result<EncryptedTally> {
        self.get(&format!("/api/v1/referendums/{}/tally", enc(id)))
    }

    /// `POST /api/v1/referendums/{id}/decryption-shares` (trustee-signed).
    pub fn post_decryption_share(
        &self,
        id: &str,
        m: &DecryptionShareMessage,
        key: &str,
    ) -> Result<SharePosted> {
        self.post_idempotent(
            &format!("/api/v1/referendums/{}/decryption-shares", enc(id)),
            m,
            key,
        )
    }

    /// `POST /api/v1/referendums/{id}/publish` (no key: a deterministic step).
    pub fn publish(&self, id: &str) -> Result<ReferendumResult> {
        self.post(
            &format!("/api/v1/referendums/{}/publish", enc(id)),
            &serde_json::json!({}),
        )
    }

    /// `GET /api/v1/referendums/{id}/result`.
    pub fn result(&self, id: &str) -> Result<ReferendumResult> {
        self.get(&format!("/api/v1/referendums/{}/result", enc(id)))
    }
}

/// Percent-encode an id for a URL path segment or query value.
pub fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
