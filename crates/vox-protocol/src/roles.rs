//! Roles, the genesis entry and signed authority acts (protocol-spec/11-roles.md).
//!
//! vox separates four roles so that no single party has to be trusted:
//! - the **board operator** runs the server and signs tree heads (the only key the
//!   server holds);
//! - the **registrar** decides who may enrol and registers electorates;
//! - the **petitions office** moderates petitions, answers them and invalidates
//!   signatures;
//! - the **election authority** creates, opens and closes referendums.
//!
//! Each role has its own Ed25519 key. The first entry of every log, the [`Genesis`],
//! names the log and all four keys (and the witness policy), and is signed by every one
//! of them, so an operator cannot invent a log in the roles' names. Every discretionary
//! act of a role is a board entry carrying an [`ActSignature`] by that role's current key
//! over the entry's canonical encoding; entries without discretion (thresholds, the
//! completed ceremony, tallies, results, closing a petition at its deadline) are appended
//! by the board under rules the verifier recomputes in full and carry no signature.
//! [`Authorities`] replays the genesis and every act in log order: the server uses it
//! before appending, the verifier to check a record.

use std::collections::HashSet;

use ed25519_dalek::{Signer, SigningKey};
use serde::{Deserialize, Serialize};
use vox_crypto::Hash32;

use crate::board::{BoardPublicKey, Payload, Sig};
use crate::encoding::{Canonical, Encoder};
use crate::error::{ProtocolError, Result};
use crate::merkle::NodeHash;

/// Longest `log_name`, in bytes.
pub const MAX_LOG_NAME_BYTES: usize = 255;
/// Domain separator of the genesis signatures.
pub const GENESIS_LABEL: &[u8] = b"vox/v2/genesis\0";
/// Domain separator of authority-act signatures.
pub const ACT_LABEL: &[u8] = b"vox/v2/act\0";
/// Domain separator of a new role key's proof of possession.
pub const ROLE_KEY_LABEL: &[u8] = b"vox/v2/role-key\0";

/// Who acts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Runs the board: signs tree heads and receipts.
    Operator,
    /// Enrols citizens and registers electorates.
    Registrar,
    /// Moderates and answers petitions.
    PetitionsOffice,
    /// Runs referendums.
    ElectionAuthority,
}

impl Role {
    /// Every role, in canonical order.
    pub const ALL: [Role; 4] = [
        Role::Operator,
        Role::Registrar,
        Role::PetitionsOffice,
        Role::ElectionAuthority,
    ];

    /// The canonical byte (table 11.1).
    pub fn code(self) -> u8 {
        match self {
            Role::Operator => 0,
            Role::Registrar => 1,
            Role::PetitionsOffice => 2,
            Role::ElectionAuthority => 3,
        }
    }

    /// The JSON / command-line name.
    pub fn name(self) -> &'static str {
        match self {
            Role::Operator => "operator",
            Role::Registrar => "registrar",
            Role::PetitionsOffice => "petitions-office",
            Role::ElectionAuthority => "election-authority",
        }
    }

    /// Parse a role name (`registrar`, `petitions-office`, …).
    pub fn from_name(s: &str) -> Result<Self> {
        Role::ALL
            .into_iter()
            .find(|r| r.name() == s)
            .ok_or_else(|| {
                ProtocolError::invalid(
                    "role",
                    format!(
                        "unknown role {s:?} (expected operator, registrar, petitions-office or \
                         election-authority)"
                    ),
                )
            })
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Canonical for Role {
    fn encode(&self, e: &mut Encoder) {
        e.u8(self.code());
    }
}

/// Which witnesses must cosign, and how many of them (protocol-spec/11-roles.md §11.2).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct WitnessPolicy {
    /// The witnesses' Ed25519 keys.
    #[serde(default)]
    pub keys: Vec<BoardPublicKey>,
    /// How many distinct witnesses of `keys` must cosign a head.
    #[serde(default)]
    pub quorum: u32,
}

impl WitnessPolicy {
    /// The rules of 11 §11.2 for a witness policy (a genesis's or a `witness-policy-set`'s):
    /// no witness key repeats or is one of the roles' `role_keys`, and `quorum` ≤ the
    /// number of keys. `field` prefixes the error's field name.
    pub fn validate(&self, role_keys: &RoleKeys, field: &str) -> Result<()> {
        let mut seen: HashSet<[u8; 32]> = Role::ALL
            .iter()
            .map(|r| *role_keys.get(*r).0.as_bytes())
            .collect();
        for (i, w) in self.keys.iter().enumerate() {
            if !seen.insert(*w.0.as_bytes()) {
                return Err(ProtocolError::invalid(
                    format!("{field}/keys/{i}"),
                    "a witness key repeats, or is a role key",
                ));
            }
        }
        if usize::try_from(self.quorum).unwrap_or(usize::MAX) > self.keys.len() {
            return Err(ProtocolError::invalid(
                format!("{field}/quorum"),
                "larger than the number of witnesses",
            ));
        }
        Ok(())
    }

    /// The quorum as a count.
    pub fn quorum(&self) -> usize {
        usize::try_from(self.quorum).unwrap_or(usize::MAX)
    }

    /// How many distinct witnesses of this policy are among `cosigned` (a predicate on
    /// keys: "has validly cosigned the head in question").
    pub fn cosigners(&self, cosigned: impl Fn(&BoardPublicKey) -> bool) -> usize {
        self.keys.iter().filter(|k| cosigned(k)).count()
    }

    /// Whether the witnesses `cosigned` reach the quorum.
    pub fn is_met_by(&self, cosigned: impl Fn(&BoardPublicKey) -> bool) -> bool {
        self.cosigners(cosigned) >= self.quorum()
    }
}

impl Canonical for WitnessPolicy {
    /// `u32(#keys) ‖ key… ‖ u32(quorum)` (11 §11.2).
    fn encode(&self, e: &mut Encoder) {
        e.count(self.keys.len());
        for w in &self.keys {
            e.raw32(w.0.as_bytes());
        }
        e.u32(self.quorum);
    }
}

/// A change of witness policy declared while an earlier one is not in force yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "the witness policy change at leaf {pending_leaf} is not in force yet (no tree head \
     covering it carries the quorum of the policy before it): one change at a time"
)]
pub struct PendingChange {
    /// Leaf of the change still waiting.
    pub pending_leaf: u64,
}

/// The witness policies a log declared, in log order, and which one is in force
/// (11 §11.6). The genesis policy is in force from the start; a `witness-policy-set` at
/// leaf c takes effect once a tree head of a size > c carries valid cosignatures from the
/// quorum of the policy it replaces (immediately, if that quorum is 0): the old witnesses
/// vouch that every view of the log holds the change, so an operator cannot swap its
/// witnesses for friendly ones behind their back. Until then the old policy stays in
/// force, and no further change may be declared.
///
/// Feed it in log order: [`WitnessPolicies::observe`] every head (by increasing size)
/// and [`WitnessPolicies::declare`] every change. The verifier (V3.4, V3.6, V3.7) and the
/// server (before it ends a phase or accepts a change) share it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WitnessPolicies {
    /// The policy in force and the leaf that declared it (0: the genesis).
    in_force: (u64, WitnessPolicy),
    /// A change declared but not in force yet.
    pending: Option<(u64, WitnessPolicy)>,
}

impl WitnessPolicies {
    /// Start from the genesis policy (in force).
    pub fn new(genesis: WitnessPolicy) -> Self {
        Self {
            in_force: (0, genesis),
            pending: None,
        }
    }

    /// The policy in force now.
    pub fn in_force(&self) -> &WitnessPolicy {
        &self.in_force.1
    }

    /// The leaf that declared the policy in force (0: the genesis).
    pub fn in_force_leaf(&self) -> u64 {
        self.in_force.0
    }

    /// "the genesis witness policy" or "the witness policy set at leaf N", for reports.
    pub fn in_force_name(&self) -> String {
        match self.in_force_leaf() {
            0 => "the genesis witness policy".to_owned(),
            leaf => format!("the witness policy set at leaf {leaf}"),
        }
    }

    /// The change waiting for the old quorum, if any: its leaf and policy.
    pub fn pending(&self) -> Option<(u64, &WitnessPolicy)> {
        self.pending.as_ref().map(|(l, p)| (*l, p))
    }

    /// A tree head of `size`, validly cosigned by the witnesses `cosigned` says: if it
    /// covers the pending change and carries the quorum of the policy in force, the
    /// change takes effect. Returns whether it did.
    pub fn observe(&mut self, size: u64, cosigned: impl Fn(&BoardPublicKey) -> bool) -> bool {
        let covered = matches!(&self.pending, Some((leaf, _)) if size > *leaf);
        if covered && self.in_force().is_met_by(cosigned) {
            if let Some(next) = self.pending.take() {
                self.in_force = next;
                return true;
            }
        }
        false
    }

    /// A change declared at `leaf` (after every head of a size ≤ `leaf` was observed).
    ///
    /// # Errors
    /// [`PendingChange`] while the previous change is not in force; nothing changes.
    pub fn declare(
        &mut self,
        leaf: u64,
        policy: WitnessPolicy,
    ) -> core::result::Result<(), PendingChange> {
        if let Some((pending_leaf, _)) = self.pending() {
            return Err(PendingChange { pending_leaf });
        }
        if self.in_force().quorum == 0 {
            self.in_force = (leaf, policy);
        } else {
            self.pending = Some((leaf, policy));
        }
        Ok(())
    }

    /// A change the caller already accepted once (the server replaying its own log):
    /// an earlier pending change counts as in force, this one as pending unless the
    /// policy it replaces has quorum 0. The truth about earlier changes is in the
    /// cosignatures; the server refused a change while another was pending, so it held
    /// then.
    pub fn replay(&mut self, leaf: u64, policy: WitnessPolicy) {
        if let Some(earlier) = self.pending.take() {
            self.in_force = earlier;
        }
        let _ = self.declare(leaf, policy);
    }
}

/// A link to the log this one replaces (re-genesis after a compromise).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LogLink {
    /// The predecessor's log id.
    pub log_id: Hash32,
    /// Its last tree size this log acknowledges.
    pub tree_size: u64,
    /// The root of that size.
    pub root_hash: NodeHash,
}

/// One role's signature on a genesis.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RoleSignature {
    /// Who signed.
    pub role: Role,
    /// Ed25519 over [`Genesis::signed_message`].
    pub signature: Sig,
}

/// The current public key of each role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RoleKeys {
    /// Board operator (tree heads, receipts).
    pub operator: BoardPublicKey,
    /// Registrar.
    pub registrar: BoardPublicKey,
    /// Petitions office.
    pub petitions_office: BoardPublicKey,
    /// Election authority.
    pub election_authority: BoardPublicKey,
}

impl RoleKeys {
    /// The key of `role`.
    pub fn get(&self, role: Role) -> &BoardPublicKey {
        match role {
            Role::Operator => &self.operator,
            Role::Registrar => &self.registrar,
            Role::PetitionsOffice => &self.petitions_office,
            Role::ElectionAuthority => &self.election_authority,
        }
    }

    fn get_mut(&mut self, role: Role) -> &mut BoardPublicKey {
        match role {
            Role::Operator => &mut self.operator,
            Role::Registrar => &mut self.registrar,
            Role::PetitionsOffice => &mut self.petitions_office,
            Role::ElectionAuthority => &mut self.election_authority,
        }
    }
}

/// The first entry of every log (protocol-spec/11-roles.md §11.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Genesis {
    /// The log's name: printable ASCII without spaces or `+`, 1–255 bytes (usable as a
    /// C2SP checkpoint origin), e.g. `vox.example.org/town-board`.
    pub log_name: String,
    /// When the parties agreed on it (Unix ms).
    pub created_at_ms: i64,
    /// The four role keys; pairwise distinct.
    pub keys: RoleKeys,
    /// Witness keys and quorum.
    #[serde(default)]
    pub witnesses: WitnessPolicy,
    /// The log this one replaces, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predecessor: Option<LogLink>,
    /// One signature per role, in role order (operator, registrar, petitions office,
    /// election authority). A draft being passed around may hold fewer.
    #[serde(default)]
    pub signatures: Vec<RoleSignature>,
}

impl Genesis {
    /// A draft with no signature yet.
    pub fn draft(log_name: &str, created_at_ms: i64, keys: RoleKeys) -> Self {
        Self {
            log_name: log_name.to_owned(),
            created_at_ms,
            keys,
            witnesses: WitnessPolicy::default(),
            predecessor: None,
            signatures: Vec::new(),
        }
    }

    /// Everything but the signatures, canonically encoded.
    pub fn encode_body(&self, e: &mut Encoder) {
        e.str(&self.log_name).i64(self.created_at_ms);
        for r in Role::ALL {
            e.raw32(self.keys.get(r).0.as_bytes());
        }
        self.witnesses.encode(e);
        match &self.predecessor {
            None => e.u8(0),
            Some(p) => e
                .u8(1)
                .hash(&p.log_id)
                .u64(p.tree_size)
                .raw32(&p.root_hash.0),
        };
    }

    /// The bytes every role signs: `"vox/v2/genesis" ‖ 0x00 ‖ body`.
    pub fn signed_message(&self) -> Vec<u8> {
        let mut e = Encoder::new();
        self.encode_body(&mut e);
        let mut m = GENESIS_LABEL.to_vec();
        m.extend(e.into_bytes());
        m
    }

    /// The log id: that of the operator key (08 §8.3).
    pub fn log_id(&self) -> Hash32 {
        self.keys.operator.log_id()
    }

    /// Add (or replace) the signature of the role whose key `key` is. Signatures are
    /// kept in role order.
    pub fn sign(&mut self, key: &SigningKey) -> Result<Role> {
        let public = BoardPublicKey(key.verifying_key());
        let role = Role::ALL
            .into_iter()
            .find(|r| *self.keys.get(*r) == public)
            .ok_or_else(|| {
                ProtocolError::invalid("signatures", "this key is not one of the genesis keys")
            })?;
        let signature = Sig(key.sign(&self.signed_message()));
        self.signatures.retain(|s| s.role != role);
        self.signatures.push(RoleSignature { role, signature });
        self.signatures.sort_by_key(|s| s.role);
        Ok(role)
    }

    /// The roles that have not signed yet.
    pub fn missing_signatures(&self) -> Vec<Role> {
        Role::ALL
            .into_iter()
            .filter(|r| !self.signatures.iter().any(|s| s.role == *r))
            .collect()
    }

    /// Every rule of §11.2 except the signatures: the name, distinct keys, the witness
    /// policy.
    pub fn validate_body(&self) -> Result<()> {
        let n = self.log_name.len();
        if n == 0 || n > MAX_LOG_NAME_BYTES {
            return Err(ProtocolError::invalid(
                "log_name",
                format!("must be 1 to {MAX_LOG_NAME_BYTES} bytes"),
            ));
        }
        if !self
            .log_name
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'+')
        {
            return Err(ProtocolError::invalid(
                "log_name",
                "printable ASCII only, without spaces or '+'",
            ));
        }
        let mut seen = HashSet::new();
        for r in Role::ALL {
            if !seen.insert(*self.keys.get(r).0.as_bytes()) {
                return Err(ProtocolError::invalid(
                    format!("keys/{}", r.name()),
                    "every role needs its own key",
                ));
            }
        }
        self.witnesses.validate(&self.keys, "witnesses")
    }

    /// The whole genesis rule (§11.2): a valid body and exactly one valid signature by
    /// each role, in role order.
    pub fn validate(&self) -> Result<()> {
        self.validate_body()?;
        if self.signatures.len() != Role::ALL.len() {
            let missing: Vec<&str> = self.missing_signatures().iter().map(|r| r.name()).collect();
            return Err(ProtocolError::invalid(
                "signatures",
                format!(
                    "needs one signature by each of the four roles (missing: {})",
                    missing.join(", ")
                ),
            ));
        }
        let msg = self.signed_message();
        for (s, role) in self.signatures.iter().zip(Role::ALL) {
            if s.role != role {
                return Err(ProtocolError::invalid(
                    "signatures",
                    "one signature per role, in role order",
                ));
            }
            self.keys
                .get(role)
                .0
                .verify_strict(&msg, &s.signature.0)
                .map_err(|_| {
                    ProtocolError::invalid(
                        format!("signatures/{}", role.name()),
                        format!("the {role} signature on the genesis does not verify"),
                    )
                })?;
        }
        Ok(())
    }
}

impl Canonical for Genesis {
    fn encode(&self, e: &mut Encoder) {
        self.encode_body(e);
        e.count(self.signatures.len());
        for s in &self.signatures {
            e.u8(s.role.code()).raw64(&s.signature.0.to_bytes());
        }
    }
}

/// A role's signature on one of its acts (protocol-spec/11-roles.md §11.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ActSignature {
    /// When the role signed it (Unix ms, the role's clock; also makes every act unique).
    pub issued_at_ms: i64,
    /// Ed25519 over the act message.
    pub signature: Sig,
}

impl ActSignature {
    /// A placeholder (all-zero signature) for an act about to be signed with
    /// [`Payload::sign_act`]; it never verifies.
    pub fn unsigned() -> Self {
        Self {
            issued_at_ms: 0,
            signature: crate::board::unsigned(),
        }
    }
}

impl Canonical for ActSignature {
    fn encode(&self, e: &mut Encoder) {
        e.i64(self.issued_at_ms).raw64(&self.signature.0.to_bytes());
    }
}

/// The bytes a role signs for an act:
/// `"vox/v2/act" ‖ 0x00 ‖ log id ‖ u8(role) ‖ i64(issued_at_ms) ‖ payload body`,
/// the payload body being the entry's canonical payload without its act signature.
pub fn act_message(log_id: &Hash32, role: Role, issued_at_ms: i64, payload: &Payload) -> Vec<u8> {
    let mut e = Encoder::new();
    e.raw32(&log_id.0).u8(role.code()).i64(issued_at_ms);
    payload.encode_body(&mut e);
    let mut m = ACT_LABEL.to_vec();
    m.extend(e.into_bytes());
    m
}

/// The bytes a new role key signs to show it is held:
/// `"vox/v2/role-key" ‖ 0x00 ‖ log id ‖ u8(role) ‖ new key`.
pub fn possession_message(log_id: &Hash32, role: Role, new_key: &BoardPublicKey) -> Vec<u8> {
    let mut m = ROLE_KEY_LABEL.to_vec();
    m.extend_from_slice(&log_id.0);
    m.push(role.code());
    m.extend_from_slice(new_key.0.as_bytes());
    m
}

impl Payload {
    /// The role whose signature this entry needs, if it is an authority act (table 8.1).
    pub fn act_role(&self) -> Option<Role> {
        match self {
            Payload::ElectorateRegistered { .. }
            | Payload::EnrolmentOpened { .. }
            | Payload::CredentialRevoked { .. }
            | Payload::ElectorateFrozen { .. } => Some(Role::Registrar),
            Payload::PetitionModerated { .. }
            | Payload::PetitionResponded { .. }
            | Payload::SignaturesInvalidated { .. }
            | Payload::PetitionPolicySet { .. } => Some(Role::PetitionsOffice),
            Payload::ReferendumCreated { .. } | Payload::TrusteePanelSet { .. } => {
                Some(Role::ElectionAuthority)
            }
            Payload::RoleKeyRotated { role, .. } => Some(*role),
            Payload::WitnessPolicySet { .. } => Some(Role::Operator),
            _ => None,
        }
    }

    /// The act signature of an authority act.
    pub fn act(&self) -> Option<&ActSignature> {
        match self {
            Payload::ElectorateRegistered { act, .. }
            | Payload::EnrolmentOpened { act, .. }
            | Payload::CredentialRevoked { act, .. }
            | Payload::ElectorateFrozen { act, .. }
            | Payload::PetitionModerated { act, .. }
            | Payload::PetitionResponded { act, .. }
            | Payload::SignaturesInvalidated { act, .. }
            | Payload::PetitionPolicySet { act, .. }
            | Payload::ReferendumCreated { act, .. }
            | Payload::TrusteePanelSet { act, .. }
            | Payload::RoleKeyRotated { act, .. }
            | Payload::WitnessPolicySet { act, .. } => Some(act),
            _ => None,
        }
    }

    /// The act signature of an authority act, to fill in or (in tamper tests) to alter.
    pub fn act_mut(&mut self) -> Option<&mut ActSignature> {
        match self {
            Payload::ElectorateRegistered { act, .. }
            | Payload::EnrolmentOpened { act, .. }
            | Payload::CredentialRevoked { act, .. }
            | Payload::ElectorateFrozen { act, .. }
            | Payload::PetitionModerated { act, .. }
            | Payload::PetitionResponded { act, .. }
            | Payload::SignaturesInvalidated { act, .. }
            | Payload::PetitionPolicySet { act, .. }
            | Payload::ReferendumCreated { act, .. }
            | Payload::TrusteePanelSet { act, .. }
            | Payload::RoleKeyRotated { act, .. }
            | Payload::WitnessPolicySet { act, .. } => Some(act),
            _ => None,
        }
    }

    /// Sign this authority act with `key` for the log `log_id` (the role's client does
    /// this; the server never holds `key`). Fails on an entry that is not an act.
    pub fn sign_act(&mut self, log_id: &Hash32, issued_at_ms: i64, key: &SigningKey) -> Result<()> {
        let role = self
            .act_role()
            .ok_or_else(|| ProtocolError::invalid("type", "this entry is not an authority act"))?;
        let msg = act_message(log_id, role, issued_at_ms, self);
        let signature = Sig(key.sign(&msg));
        if let Some(a) = self.act_mut() {
            *a = ActSignature {
                issued_at_ms,
                signature,
            };
        }
        Ok(())
    }

    /// Sign this authority act, builder style.
    pub fn signed_act(
        mut self,
        log_id: &Hash32,
        issued_at_ms: i64,
        key: &SigningKey,
    ) -> Result<Self> {
        self.sign_act(log_id, issued_at_ms, key)?;
        Ok(self)
    }
}

/// Why an act was refused, with the role involved (for precise reports).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ActError {
    /// The genesis entry is missing, misplaced or invalid.
    #[error("genesis: {0}")]
    Genesis(String),
    /// The signature does not verify under the role's current key.
    #[error("the {role} signature on this {kind} does not verify under the {role}'s current key")]
    BadSignature {
        /// The role the entry needs.
        role: Role,
        /// The entry kind.
        kind: &'static str,
    },
    /// The same act (same signed message) already occurred.
    #[error("this {role} act already occurred in the log (a replay)")]
    Replayed {
        /// Its role.
        role: Role,
    },
    /// A key rotation breaks a rule.
    #[error("role key rotation: {0}")]
    Rotation(String),
    /// A `witness-policy-set` declares an invalid policy.
    #[error("witness policy: {0}")]
    WitnessPolicy(String),
}

/// The roles' keys as of a point in the log, and the acts already seen: the replay of
/// §11.2–§11.4 that the server and the verifier share.
#[derive(Clone, Debug)]
pub struct Authorities {
    genesis: Genesis,
    current: RoleKeys,
    seen: HashSet<Hash32>,
    /// Every witness key a policy of this log declared (no role may rotate to one).
    witness_keys: HashSet<[u8; 32]>,
}

impl Authorities {
    /// Start from a genesis entry (validated here).
    pub fn from_genesis(genesis: &Genesis) -> core::result::Result<Self, ActError> {
        genesis
            .validate()
            .map_err(|e| ActError::Genesis(e.to_string()))?;
        Ok(Self {
            current: genesis.keys,
            genesis: genesis.clone(),
            seen: HashSet::new(),
            witness_keys: genesis
                .witnesses
                .keys
                .iter()
                .map(|k| *k.0.as_bytes())
                .collect(),
        })
    }

    /// The genesis this started from.
    pub fn genesis(&self) -> &Genesis {
        &self.genesis
    }

    /// The log id.
    pub fn log_id(&self) -> Hash32 {
        self.genesis.log_id()
    }

    /// Every role's current key.
    pub fn current(&self) -> &RoleKeys {
        &self.current
    }

    /// Check an entry's authority rules without recording it: a genesis may not repeat;
    /// an act must carry a valid signature by its role's current key, must not repeat,
    /// and a rotation must be well-formed. Entries that are not acts pass.
    pub fn check(&self, payload: &Payload) -> core::result::Result<(), ActError> {
        if matches!(payload, Payload::Genesis { .. }) {
            return Err(ActError::Genesis(
                "a genesis entry may only be the first entry of the log".into(),
            ));
        }
        let (Some(role), Some(act)) = (payload.act_role(), payload.act()) else {
            return Ok(());
        };
        let log_id = self.log_id();
        let msg = act_message(&log_id, role, act.issued_at_ms, payload);
        self.current
            .get(role)
            .0
            .verify_strict(&msg, &act.signature.0)
            .map_err(|_| ActError::BadSignature {
                role,
                kind: payload.kind(),
            })?;
        if self.seen.contains(&Hash32::sha256(&[&msg])) {
            return Err(ActError::Replayed { role });
        }
        if let Payload::RoleKeyRotated {
            role,
            new_key,
            possession,
            ..
        } = payload
        {
            if *role == Role::Operator {
                return Err(ActError::Rotation(
                    "the operator key cannot be rotated within a log (start a new log whose \
                     genesis names this one as predecessor)"
                        .into(),
                ));
            }
            let taken = Role::ALL.iter().any(|r| self.current.get(*r) == new_key)
                || self.witness_keys.contains(new_key.0.as_bytes());
            if taken {
                return Err(ActError::Rotation(
                    "the new key is already a role or witness key".into(),
                ));
            }
            new_key
                .0
                .verify_strict(&possession_message(&log_id, *role, new_key), &possession.0)
                .map_err(|_| {
                    ActError::Rotation("the new key's proof of possession does not verify".into())
                })?;
        }
        if let Payload::WitnessPolicySet { policy, .. } = payload {
            policy
                .validate(&self.current, "policy")
                .map_err(|e| ActError::WitnessPolicy(e.to_string()))?;
        }
        Ok(())
    }

    /// Record an entry already checked with [`Authorities::check`].
    pub fn apply(&mut self, payload: &Payload) {
        let (Some(role), Some(act)) = (payload.act_role(), payload.act()) else {
            return;
        };
        let msg = act_message(&self.log_id(), role, act.issued_at_ms, payload);
        self.seen.insert(Hash32::sha256(&[&msg]));
        if let Payload::RoleKeyRotated { role, new_key, .. } = payload {
            *self.current.get_mut(*role) = *new_key;
        }
        if let Payload::WitnessPolicySet { policy, .. } = payload {
            self.witness_keys
                .extend(policy.keys.iter().map(|k| *k.0.as_bytes()));
        }
    }

    /// [`Authorities::check`] then [`Authorities::apply`].
    pub fn accept(&mut self, payload: &Payload) -> core::result::Result<(), ActError> {
        self.check(payload)?;
        self.apply(payload);
        Ok(())
    }
}

/// The secret keys of all four roles, for a deployment where one body holds every role
/// on one machine (a town that runs everything itself), for the demo's simulated
/// parties and for tests. Real deployments keep each key with its own role (key files,
/// `vox keys new`).
pub struct RoleSigners {
    /// Board operator.
    pub operator: SigningKey,
    /// Registrar.
    pub registrar: SigningKey,
    /// Petitions office.
    pub petitions_office: SigningKey,
    /// Election authority.
    pub election_authority: SigningKey,
}

impl std::fmt::Debug for RoleSigners {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoleSigners")
            .field("keys", &self.public_keys())
            .finish_non_exhaustive()
    }
}

impl RoleSigners {
    /// Four fresh keys.
    pub fn generate<R: rand_core::RngCore + rand_core::CryptoRng>(rng: &mut R) -> Self {
        Self {
            operator: SigningKey::generate(rng),
            registrar: SigningKey::generate(rng),
            petitions_office: SigningKey::generate(rng),
            election_authority: SigningKey::generate(rng),
        }
    }

    /// The key of `role`.
    pub fn key(&self, role: Role) -> &SigningKey {
        match role {
            Role::Operator => &self.operator,
            Role::Registrar => &self.registrar,
            Role::PetitionsOffice => &self.petitions_office,
            Role::ElectionAuthority => &self.election_authority,
        }
    }

    /// The public keys.
    pub fn public_keys(&self) -> RoleKeys {
        RoleKeys {
            operator: BoardPublicKey(self.operator.verifying_key()),
            registrar: BoardPublicKey(self.registrar.verifying_key()),
            petitions_office: BoardPublicKey(self.petitions_office.verifying_key()),
            election_authority: BoardPublicKey(self.election_authority.verifying_key()),
        }
    }

    /// A genesis signed by all four roles.
    pub fn genesis(
        &self,
        log_name: &str,
        created_at_ms: i64,
        witnesses: WitnessPolicy,
    ) -> Result<Genesis> {
        let mut g = Genesis::draft(log_name, created_at_ms, self.public_keys());
        g.witnesses = witnesses;
        for r in Role::ALL {
            g.sign(self.key(r))?;
        }
        g.validate()?;
        Ok(g)
    }

    /// The log id of logs these keys run.
    pub fn log_id(&self) -> Hash32 {
        BoardPublicKey(self.operator.verifying_key()).log_id()
    }

    /// Sign an authority act with the key of the role it needs.
    pub fn sign(&self, payload: Payload, issued_at_ms: i64) -> Result<Payload> {
        let role = payload
            .act_role()
            .ok_or_else(|| ProtocolError::invalid("type", "this entry is not an authority act"))?;
        payload.signed_act(&self.log_id(), issued_at_ms, self.key(role))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::electorate::{Electorate, ElectorateEntry};
    use crate::manifest::{Manifest, Question, QuestionKind, MANIFEST_VERSION};
    use crate::petition::Moderation;
    use ed25519_dalek::Signature;
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;
    use vox_crypto::credential::Credential;

    const T0: i64 = 1_767_225_600_000;

    fn rng() -> ChaCha20Rng {
        ChaCha20Rng::seed_from_u64(11)
    }

    fn public(k: &SigningKey) -> BoardPublicKey {
        BoardPublicKey(k.verifying_key())
    }

    /// Signers, a valid genesis with two witnesses (quorum 1) and a predecessor.
    fn world(rng: &mut ChaCha20Rng) -> (RoleSigners, Vec<SigningKey>, Genesis) {
        let signers = RoleSigners::generate(rng);
        let witnesses: Vec<SigningKey> = (0..2).map(|_| SigningKey::generate(rng)).collect();
        let mut g = Genesis::draft("vox.example.org/test", T0, signers.public_keys());
        g.witnesses = WitnessPolicy {
            keys: witnesses.iter().map(public).collect(),
            quorum: 1,
        };
        g.predecessor = Some(LogLink {
            log_id: Hash32([7; 32]),
            tree_size: 9,
            root_hash: NodeHash([8; 32]),
        });
        for r in Role::ALL {
            g.sign(signers.key(r)).unwrap();
        }
        g.validate().unwrap();
        (signers, witnesses, g)
    }

    /// Sign every role's signature again (for body-rule tests, so that only the rule
    /// under test is broken).
    fn resign_all(g: &mut Genesis, signers: &RoleSigners) {
        let msg = g.signed_message();
        g.signatures = Role::ALL
            .into_iter()
            .map(|role| RoleSignature {
                role,
                signature: Sig(signers.key(role).sign(&msg)),
            })
            .collect();
    }

    fn field_of(e: &ProtocolError) -> &str {
        match e {
            ProtocolError::Invalid { field, .. } => field,
            other => panic!("unexpected error {other:?}"),
        }
    }

    fn flip_sig(s: &mut Sig) {
        let mut b = s.0.to_bytes();
        b[5] ^= 0x40;
        s.0 = Signature::from_bytes(&b);
    }

    fn electorate(rng: &mut ChaCha20Rng) -> Electorate {
        Electorate {
            id: "e".into(),
            name: "Village".into(),
            entries: (0..2)
                .map(|_| ElectorateEntry {
                    credential: Credential::generate(rng).public_key(),
                    region: Some("north".into()),
                })
                .collect(),
        }
    }

    fn manifest() -> Manifest {
        Manifest {
            version: MANIFEST_VERSION,
            referendum_id: "r".into(),
            title: "Title".into(),
            description: "Description".into(),
            questions: vec![Question {
                id: "q1".into(),
                text: "Yes?".into(),
                options: vec!["yes".into(), "no".into()],
                kind: QuestionKind::YesNo,
            }],
            opens_at: T0,
            closes_at: T0 + 1000,
            electorate_hash: Hash32([1; 32]),
            trustees: Vec::new(),
            threshold: 1,
            answer_due_ms: crate::manifest::DAY_MS,
            decryption_due_ms: crate::manifest::DAY_MS,
            source_petition: None,
            participation: Default::default(),
        }
    }

    fn terms() -> crate::petition::ReferendumTerms {
        crate::petition::ReferendumTerms {
            referendum_id: "r-p".into(),
            title: "Plant trees?".into(),
            description: "Triggered by petition p.".into(),
            questions: manifest().questions,
            opens_after_ms: 7 * crate::manifest::DAY_MS,
            voting_ms: 14 * crate::manifest::DAY_MS,
            participation: Default::default(),
        }
    }

    /// One unsigned act of every authority kind (rotation of the registrar to `new_key`).
    fn unsigned_acts(rng: &mut ChaCha20Rng, log_id: &Hash32, new_key: &SigningKey) -> Vec<Payload> {
        let act = ActSignature::unsigned();
        let new_pk = public(new_key);
        vec![
            Payload::ElectorateRegistered {
                electorate: electorate(rng),
                act,
            },
            Payload::PetitionModerated {
                petition_id: "p".into(),
                moderation: Moderation::Publish {
                    closes_at: T0 + 5,
                    referendum: terms(),
                },
                act,
            },
            Payload::PetitionModerated {
                petition_id: "p2".into(),
                moderation: Moderation::Reject {
                    reason: "duplicate".into(),
                },
                act,
            },
            Payload::PetitionResponded {
                petition_id: "p".into(),
                text: "answer".into(),
                act,
            },
            Payload::SignaturesInvalidated {
                petition_id: "p".into(),
                credentials: vec![Credential::generate(rng).public_key()],
                tags: Vec::new(),
                reason: "fraud".into(),
                act,
            },
            Payload::ReferendumCreated {
                manifest: manifest(),
                act,
            },
            Payload::TrusteePanelSet {
                panel: crate::manifest::TrusteePanel {
                    trustees: crate::manifest::TrusteeInfo::numbered([
                        &vox_crypto::threshold::TrusteeKeys::generate(rng),
                    ]),
                    threshold: 1,
                    answer_due_ms: crate::manifest::DAY_MS,
                    decryption_due_ms: 2 * crate::manifest::DAY_MS,
                },
                act,
            },
            Payload::PetitionPolicySet {
                policy: crate::petition::PetitionPolicy {
                    min_response_threshold: Some(100),
                    max_referendum_threshold: Some(100_000),
                    max_response_due_ms: Some(30 * 86_400_000),
                    ..Default::default()
                },
                act,
            },
            Payload::EnrolmentOpened {
                opening: crate::enrolment::EnrolmentOpening::draw(
                    "town",
                    "Town",
                    &[(None, 2), (Some("north".into()), 3)],
                    rng,
                )
                .unwrap()
                .0,
                act,
            },
            Payload::CredentialRevoked {
                electorate_id: "town".into(),
                credential: Credential::generate(rng).public_key(),
                replacement: Some(Hash32([7; 32])),
                reason: "lost".into(),
                act,
            },
            Payload::ElectorateFrozen {
                electorate_id: "town".into(),
                electorate_hash: Hash32([8; 32]),
                act,
            },
            Payload::RoleKeyRotated {
                role: Role::Registrar,
                new_key: new_pk,
                possession: Sig(new_key.sign(&possession_message(
                    log_id,
                    Role::Registrar,
                    &new_pk,
                ))),
                act,
            },
            Payload::WitnessPolicySet {
                policy: WitnessPolicy {
                    keys: (0..3).map(|_| public(&SigningKey::generate(rng))).collect(),
                    quorum: 2,
                },
                act,
            },
        ]
    }

    /// Every way to change one field of a signed act (the act's own fields included).
    fn tweaks(p: &Payload, rng: &mut ChaCha20Rng) -> Vec<(String, Payload)> {
        let mut out: Vec<(String, Payload)> = Vec::new();
        let mut push = |what: &str, f: &mut dyn FnMut(&mut Payload)| {
            let mut q = p.clone();
            f(&mut q);
            assert_ne!(&q, p, "{what} changed nothing");
            out.push((format!("{} {what}", p.kind()), q));
        };
        push("issued_at_ms", &mut |q| {
            q.act_mut().unwrap().issued_at_ms += 1;
        });
        push("signature byte", &mut |q| {
            flip_sig(&mut q.act_mut().unwrap().signature)
        });
        match p {
            Payload::ElectorateRegistered { .. } => {
                let fresh = Credential::generate(rng).public_key();
                let el = |f: &mut dyn FnMut(&mut Electorate)| {
                    let mut q = p.clone();
                    if let Payload::ElectorateRegistered { electorate, .. } = &mut q {
                        f(electorate);
                    }
                    q
                };
                out.push(("electorate id".into(), el(&mut |e| e.id.push('x'))));
                out.push(("electorate name".into(), el(&mut |e| e.name.push('x'))));
                out.push((
                    "electorate credential".into(),
                    el(&mut |e| e.entries[0].credential = fresh),
                ));
                out.push((
                    "electorate region".into(),
                    el(&mut |e| e.entries[1].region = None),
                ));
                out.push((
                    "electorate entry removed".into(),
                    el(&mut |e| {
                        e.entries.pop();
                    }),
                ));
            }
            Payload::PetitionModerated { moderation, .. } => {
                push("petition_id", &mut |q| {
                    if let Payload::PetitionModerated { petition_id, .. } = q {
                        petition_id.push('x');
                    }
                });
                let other = match moderation {
                    Moderation::Publish {
                        closes_at,
                        referendum,
                    } => vec![
                        Moderation::Publish {
                            closes_at: closes_at + 1,
                            referendum: referendum.clone(),
                        },
                        Moderation::Publish {
                            closes_at: *closes_at,
                            referendum: crate::petition::ReferendumTerms {
                                voting_ms: referendum.voting_ms + 1,
                                ..referendum.clone()
                            },
                        },
                        Moderation::Publish {
                            closes_at: *closes_at,
                            referendum: crate::petition::ReferendumTerms {
                                referendum_id: format!("{}x", referendum.referendum_id),
                                ..referendum.clone()
                            },
                        },
                        Moderation::Reject {
                            reason: String::new(),
                        },
                    ],
                    Moderation::Reject { reason } => vec![
                        Moderation::Reject {
                            reason: format!("{reason}."),
                        },
                        Moderation::Publish {
                            closes_at: T0,
                            referendum: terms(),
                        },
                    ],
                };
                for m in other {
                    push("moderation", &mut |q| {
                        if let Payload::PetitionModerated { moderation, .. } = q {
                            *moderation = m.clone();
                        }
                    });
                }
            }
            Payload::PetitionResponded { .. } => {
                push("petition_id", &mut |q| {
                    if let Payload::PetitionResponded { petition_id, .. } = q {
                        petition_id.push('x');
                    }
                });
                push("text", &mut |q| {
                    if let Payload::PetitionResponded { text, .. } = q {
                        text.push('x');
                    }
                });
            }
            Payload::SignaturesInvalidated { .. } => {
                let fresh = Credential::generate(rng).public_key();
                push("petition_id", &mut |q| {
                    if let Payload::SignaturesInvalidated { petition_id, .. } = q {
                        petition_id.push('x');
                    }
                });
                push("credential replaced", &mut |q| {
                    if let Payload::SignaturesInvalidated { credentials, .. } = q {
                        credentials[0] = fresh;
                    }
                });
                push("credential added", &mut |q| {
                    if let Payload::SignaturesInvalidated { credentials, .. } = q {
                        credentials.push(fresh);
                    }
                });
                push("reason", &mut |q| {
                    if let Payload::SignaturesInvalidated { reason, .. } = q {
                        reason.push('x');
                    }
                });
            }
            Payload::ReferendumCreated { .. } => {
                let m = |f: &mut dyn FnMut(&mut Manifest)| {
                    let mut q = p.clone();
                    if let Payload::ReferendumCreated { manifest, .. } = &mut q {
                        f(manifest);
                    }
                    q
                };
                out.push(("manifest id".into(), m(&mut |x| x.referendum_id.push('x'))));
                out.push(("manifest title".into(), m(&mut |x| x.title.push('x'))));
                out.push(("manifest closes_at".into(), m(&mut |x| x.closes_at += 1)));
                out.push(("manifest threshold".into(), m(&mut |x| x.threshold += 1)));
                out.push((
                    "manifest source_petition".into(),
                    m(&mut |x| x.source_petition = Some("p".into())),
                ));
            }
            Payload::TrusteePanelSet { .. } => {
                let m = |f: &mut dyn FnMut(&mut crate::manifest::TrusteePanel)| {
                    let mut q = p.clone();
                    if let Payload::TrusteePanelSet { panel, .. } = &mut q {
                        f(panel);
                    }
                    q
                };
                out.push(("panel threshold".into(), m(&mut |x| x.threshold += 1)));
                out.push((
                    "panel answer deadline".into(),
                    m(&mut |x| x.answer_due_ms += 1),
                ));
                out.push((
                    "panel decryption deadline".into(),
                    m(&mut |x| x.decryption_due_ms += 1),
                ));
                out.push((
                    "panel trustee name".into(),
                    m(&mut |x| x.trustees[0].name.push('x')),
                ));
            }
            Payload::EnrolmentOpened { .. } => {
                let op = |f: &mut dyn FnMut(&mut crate::enrolment::EnrolmentOpening)| {
                    let mut q = p.clone();
                    if let Payload::EnrolmentOpened { opening, .. } = &mut q {
                        f(opening);
                    }
                    q
                };
                out.push(("opening id".into(), op(&mut |o| o.electorate_id.push('x'))));
                out.push(("opening name".into(), op(&mut |o| o.name.push('x'))));
                out.push(("opening count".into(), op(&mut |o| o.regions[0].count += 1)));
                out.push((
                    "opening region".into(),
                    op(&mut |o| o.regions[1].region = Some("south".into())),
                ));
                out.push(("opening code".into(), op(&mut |o| o.codes[0].0[0] ^= 1)));
                out.push((
                    "opening code removed".into(),
                    op(&mut |o| {
                        o.codes.pop();
                    }),
                ));
            }
            Payload::CredentialRevoked { .. } => {
                let fresh = Credential::generate(rng).public_key();
                push("electorate_id", &mut |q| {
                    if let Payload::CredentialRevoked { electorate_id, .. } = q {
                        electorate_id.push('x');
                    }
                });
                push("credential", &mut |q| {
                    if let Payload::CredentialRevoked { credential, .. } = q {
                        *credential = fresh;
                    }
                });
                push("replacement", &mut |q| {
                    if let Payload::CredentialRevoked { replacement, .. } = q {
                        *replacement = None;
                    }
                });
                push("reason", &mut |q| {
                    if let Payload::CredentialRevoked { reason, .. } = q {
                        reason.push('x');
                    }
                });
            }
            Payload::PetitionPolicySet { .. } => {
                push("bound value", &mut |q| {
                    if let Payload::PetitionPolicySet { policy, .. } = q {
                        policy.min_response_threshold = Some(99);
                    }
                });
                push("bound lifted", &mut |q| {
                    if let Payload::PetitionPolicySet { policy, .. } = q {
                        policy.max_response_due_ms = None;
                    }
                });
                push("bound added", &mut |q| {
                    if let Payload::PetitionPolicySet { policy, .. } = q {
                        policy.min_sponsor_threshold = Some(5);
                    }
                });
                push("bound moved to another field", &mut |q| {
                    if let Payload::PetitionPolicySet { policy, .. } = q {
                        policy.min_response_threshold = None;
                        policy.min_referendum_threshold = Some(100);
                    }
                });
            }
            Payload::ElectorateFrozen { .. } => {
                push("electorate_id", &mut |q| {
                    if let Payload::ElectorateFrozen { electorate_id, .. } = q {
                        electorate_id.push('x');
                    }
                });
                push("electorate_hash", &mut |q| {
                    if let Payload::ElectorateFrozen {
                        electorate_hash, ..
                    } = q
                    {
                        electorate_hash.0[31] ^= 1;
                    }
                });
            }
            Payload::RoleKeyRotated { .. } => {
                let other = public(&SigningKey::generate(rng));
                push("role", &mut |q| {
                    if let Payload::RoleKeyRotated { role, .. } = q {
                        *role = Role::PetitionsOffice;
                    }
                });
                push("new_key", &mut |q| {
                    if let Payload::RoleKeyRotated { new_key, .. } = q {
                        *new_key = other;
                    }
                });
                push("possession", &mut |q| {
                    if let Payload::RoleKeyRotated { possession, .. } = q {
                        flip_sig(possession);
                    }
                });
            }
            Payload::WitnessPolicySet { .. } => {
                let other = public(&SigningKey::generate(rng));
                push("quorum", &mut |q| {
                    if let Payload::WitnessPolicySet { policy, .. } = q {
                        policy.quorum -= 1;
                    }
                });
                push("witness key", &mut |q| {
                    if let Payload::WitnessPolicySet { policy, .. } = q {
                        policy.keys[1] = other;
                    }
                });
                push("witness removed", &mut |q| {
                    if let Payload::WitnessPolicySet { policy, .. } = q {
                        policy.keys.pop();
                    }
                });
                push("witnesses reordered", &mut |q| {
                    if let Payload::WitnessPolicySet { policy, .. } = q {
                        policy.keys.swap(0, 2);
                    }
                });
            }
            other => panic!("not an act: {}", other.kind()),
        }
        out
    }

    #[test]
    fn role_codes_and_names() {
        for (i, r) in Role::ALL.into_iter().enumerate() {
            assert_eq!(usize::from(r.code()), i);
            assert_eq!(Role::from_name(r.name()).unwrap(), r);
            assert_eq!(r.to_string(), r.name());
            assert_eq!(serde_json::to_value(r).unwrap(), r.name());
            assert_eq!(r.canonical_bytes(), vec![r.code()]);
        }
        assert!(Role::from_name("Registrar").is_err());
        assert!(Role::from_name("petitions_office").is_err());
        assert!(Role::from_name("").is_err());
    }

    #[test]
    fn genesis_signs_validates_and_round_trips() {
        let (signers, _, g) = world(&mut rng());
        assert!(g.missing_signatures().is_empty());
        assert_eq!(g.log_id(), signers.log_id());
        assert_eq!(g.log_id(), public(&signers.operator).log_id());
        let json = serde_json::to_string(&g).unwrap();
        let back: Genesis = serde_json::from_str(&json).unwrap();
        assert_eq!(back, g);
        back.validate().unwrap();
        // The signed message is the label and the body; the canonical encoding appends
        // the signatures.
        let mut e = Encoder::new();
        g.encode_body(&mut e);
        let body = e.into_bytes();
        assert_eq!(g.signed_message(), [GENESIS_LABEL, &body].concat());
        let canonical = g.canonical_bytes();
        assert_eq!(&canonical[..body.len()], &body[..]);
        assert_eq!(&canonical[body.len()..body.len() + 4], &4u32.to_be_bytes());
        assert_eq!(canonical.len(), body.len() + 4 + 4 * 65);
        // RoleSigners::genesis gives the same thing.
        let mut again = signers
            .genesis("vox.example.org/test", T0, g.witnesses.clone())
            .unwrap();
        again.predecessor = g.predecessor;
        resign_all(&mut again, &signers);
        assert_eq!(again, g);
    }

    #[test]
    fn genesis_signing_in_any_order_and_refusing_foreign_keys() {
        let mut r = rng();
        let (signers, witnesses, g) = world(&mut r);
        let mut d = g.clone();
        d.signatures.clear();
        assert_eq!(d.missing_signatures(), Role::ALL.to_vec());
        for role in Role::ALL.into_iter().rev() {
            assert_eq!(d.sign(signers.key(role)).unwrap(), role);
        }
        assert_eq!(d, g);
        // Signing twice replaces.
        assert_eq!(d.sign(&signers.registrar).unwrap(), Role::Registrar);
        assert_eq!(d, g);
        // A key that is not a role key (a witness, a stranger) cannot sign.
        assert!(d.sign(&witnesses[0]).is_err());
        assert!(d.sign(&SigningKey::generate(&mut r)).is_err());
        assert_eq!(d, g);
        let mut partial = g.clone();
        partial
            .signatures
            .retain(|s| s.role != Role::PetitionsOffice);
        assert_eq!(partial.missing_signatures(), vec![Role::PetitionsOffice]);
    }

    type GenesisTweak = Box<dyn Fn(&mut Genesis)>;

    #[test]
    fn every_genesis_field_is_signed() {
        let mut r = rng();
        let (_, _, g) = world(&mut r);
        let fresh = public(&SigningKey::generate(&mut r));
        let tweaks: Vec<(&str, GenesisTweak)> = vec![
            ("log_name", Box::new(|g| g.log_name.push('x'))),
            ("created_at_ms", Box::new(|g| g.created_at_ms += 1)),
            ("operator key", Box::new(move |g| g.keys.operator = fresh)),
            ("registrar key", Box::new(move |g| g.keys.registrar = fresh)),
            (
                "petitions office key",
                Box::new(move |g| g.keys.petitions_office = fresh),
            ),
            (
                "election authority key",
                Box::new(move |g| g.keys.election_authority = fresh),
            ),
            (
                "witness key",
                Box::new(move |g| g.witnesses.keys[1] = fresh),
            ),
            (
                "witness added",
                Box::new(move |g| g.witnesses.keys.push(fresh)),
            ),
            (
                "witness removed",
                Box::new(|g| {
                    g.witnesses.keys.pop();
                }),
            ),
            ("witness order", Box::new(|g| g.witnesses.keys.swap(0, 1))),
            ("quorum", Box::new(|g| g.witnesses.quorum = 2)),
            ("quorum 0", Box::new(|g| g.witnesses.quorum = 0)),
            ("predecessor removed", Box::new(|g| g.predecessor = None)),
            (
                "predecessor log_id",
                Box::new(|g| g.predecessor.as_mut().unwrap().log_id.0[0] ^= 1),
            ),
            (
                "predecessor tree_size",
                Box::new(|g| g.predecessor.as_mut().unwrap().tree_size += 1),
            ),
            (
                "predecessor root",
                Box::new(|g| g.predecessor.as_mut().unwrap().root_hash.0[31] ^= 1),
            ),
        ];
        for (what, tweak) in &tweaks {
            let mut t = g.clone();
            tweak(&mut t);
            assert_ne!(t, g, "{what}");
            assert_ne!(t.signed_message(), g.signed_message(), "{what}");
            t.validate_body().unwrap_or_else(|e| panic!("{what}: {e}"));
            let err = t.validate().expect_err(what);
            assert!(field_of(&err).starts_with("signatures/"), "{what}: {err}");
            assert!(
                matches!(Authorities::from_genesis(&t), Err(ActError::Genesis(_))),
                "{what}"
            );
        }
        // Adding a predecessor to a genesis without one is signed too.
        let mut none = g.clone();
        none.predecessor = None;
        let mut some = none.clone();
        some.predecessor = g.predecessor;
        assert_ne!(none.signed_message(), some.signed_message());
        // A flipped signature byte, for each role.
        for i in 0..4 {
            let mut t = g.clone();
            flip_sig(&mut t.signatures[i].signature);
            let err = t.validate().expect_err("flipped");
            assert_eq!(
                field_of(&err),
                format!("signatures/{}", Role::ALL[i].name())
            );
        }
    }

    #[test]
    fn genesis_signatures_missing_duplicated_or_misordered() {
        let (signers, _, g) = world(&mut rng());
        for i in 0..4 {
            let mut t = g.clone();
            t.signatures.remove(i);
            assert_eq!(field_of(&t.validate().unwrap_err()), "signatures");
        }
        let mut t = g.clone();
        t.signatures.clear();
        assert!(t.validate().is_err());
        // Five: one role twice.
        let mut t = g.clone();
        t.signatures.push(g.signatures[3]);
        assert!(t.validate().is_err());
        // Four, one role twice and one missing.
        for (dup, missing) in [(0, 1), (1, 0), (2, 3), (3, 2), (1, 3)] {
            let mut t = g.clone();
            t.signatures[missing] = g.signatures[dup];
            assert!(t.validate().is_err(), "{dup} for {missing}");
        }
        // Out of role order (each signature is valid on its own).
        let mut t = g.clone();
        t.signatures.swap(1, 2);
        assert_eq!(field_of(&t.validate().unwrap_err()), "signatures");
        let mut t = g.clone();
        t.signatures.reverse();
        assert!(t.validate().is_err());
        // The right role label on another role's signature.
        let mut t = g.clone();
        t.signatures[1].signature = Sig(signers.petitions_office.sign(&g.signed_message()));
        assert_eq!(field_of(&t.validate().unwrap_err()), "signatures/registrar");
    }

    #[test]
    fn genesis_body_rules() {
        let (signers, witnesses, g) = world(&mut rng());
        let refused = |what: &str, f: &dyn Fn(&mut Genesis), field: &str| {
            let mut t = g.clone();
            f(&mut t);
            resign_all(&mut t, &signers);
            let err = t.validate_body().expect_err(what);
            assert_eq!(field_of(&err), field, "{what}: {err}");
            assert!(t.validate().is_err(), "{what}");
            assert!(Authorities::from_genesis(&t).is_err(), "{what}");
        };
        let accepted = |what: &str, f: &dyn Fn(&mut Genesis)| {
            let mut t = g.clone();
            f(&mut t);
            resign_all(&mut t, &signers);
            t.validate().unwrap_or_else(|e| panic!("{what}: {e}"));
        };
        refused("empty log_name", &|t| t.log_name.clear(), "log_name");
        refused(
            "space in log_name",
            &|t| t.log_name = "vox example".into(),
            "log_name",
        );
        refused(
            "'+' in log_name",
            &|t| t.log_name = "vox+example".into(),
            "log_name",
        );
        refused(
            "tab in log_name",
            &|t| t.log_name = "vox\texample".into(),
            "log_name",
        );
        refused(
            "newline in log_name",
            &|t| t.log_name = "vox\nexample".into(),
            "log_name",
        );
        refused(
            "non-ASCII log_name",
            &|t| t.log_name = "vöx".into(),
            "log_name",
        );
        refused(
            "DEL in log_name",
            &|t| t.log_name = "vox\u{7f}".into(),
            "log_name",
        );
        refused(
            "256-byte log_name",
            &|t| t.log_name = "a".repeat(256),
            "log_name",
        );
        accepted("255-byte log_name", &|t| t.log_name = "a".repeat(255));
        accepted("1-byte log_name", &|t| t.log_name = "~".into());
        refused(
            "registrar = operator",
            &|t| t.keys.registrar = t.keys.operator,
            "keys/registrar",
        );
        refused(
            "petitions office = registrar",
            &|t| t.keys.petitions_office = t.keys.registrar,
            "keys/petitions-office",
        );
        refused(
            "election authority = operator",
            &|t| t.keys.election_authority = t.keys.operator,
            "keys/election-authority",
        );
        refused(
            "witness = operator",
            &|t| t.witnesses.keys[0] = t.keys.operator,
            "witnesses/keys/0",
        );
        refused(
            "witness = election authority",
            &|t| t.witnesses.keys[1] = t.keys.election_authority,
            "witnesses/keys/1",
        );
        refused(
            "witness twice",
            &|t| t.witnesses.keys[1] = t.witnesses.keys[0],
            "witnesses/keys/1",
        );
        refused(
            "quorum 3 of 2",
            &|t| t.witnesses.quorum = 3,
            "witnesses/quorum",
        );
        refused(
            "quorum u32::MAX",
            &|t| t.witnesses.quorum = u32::MAX,
            "witnesses/quorum",
        );
        refused(
            "quorum 1 of none",
            &|t| {
                t.witnesses.keys.clear();
                t.witnesses.quorum = 1;
            },
            "witnesses/quorum",
        );
        accepted("quorum 2 of 2", &|t| t.witnesses.quorum = 2);
        accepted("no witnesses", &|t| t.witnesses = WitnessPolicy::default());
        accepted("no predecessor", &|t| t.predecessor = None);
        // A witness key cannot sign for a role.
        let mut t = g.clone();
        t.signatures[0].signature = Sig(witnesses[0].sign(&g.signed_message()));
        assert!(t.validate().is_err());
        // RoleSigners::genesis refuses what validate refuses.
        assert!(signers
            .genesis("bad name", T0, WitnessPolicy::default())
            .is_err());
        assert!(signers
            .genesis(
                "ok",
                T0,
                WitnessPolicy {
                    keys: vec![],
                    quorum: 1
                }
            )
            .is_err());
    }

    #[test]
    fn genesis_json_is_strict() {
        let (_, _, g) = world(&mut rng());
        let mut v = serde_json::to_value(&g).unwrap();
        v["extra"] = serde_json::json!(1);
        assert!(serde_json::from_value::<Genesis>(v).is_err());
        let mut v = serde_json::to_value(&g).unwrap();
        v["keys"]["petitions-office"] = v["keys"]["petitions_office"].clone();
        assert!(serde_json::from_value::<Genesis>(v).is_err());
        let mut v = serde_json::to_value(&g).unwrap();
        v["signatures"][0]["role"] = serde_json::json!("board");
        assert!(serde_json::from_value::<Genesis>(v).is_err());
        // Optional fields: a draft without witnesses, predecessor or signatures parses.
        let mut v = serde_json::to_value(&g).unwrap();
        let o = v.as_object_mut().unwrap();
        o.remove("witnesses");
        o.remove("predecessor");
        o.remove("signatures");
        let d: Genesis = serde_json::from_value(v).unwrap();
        assert_eq!(d.witnesses, WitnessPolicy::default());
        assert_eq!(d.missing_signatures(), Role::ALL.to_vec());
    }

    #[test]
    fn act_message_and_canonical_layout() {
        let mut r = rng();
        let (signers, _, g) = world(&mut r);
        let log_id = g.log_id();
        let p = signers
            .sign(
                Payload::PetitionResponded {
                    petition_id: "r".into(),
                    text: "t".into(),
                    act: ActSignature::unsigned(),
                },
                -5,
            )
            .unwrap();
        let a = p.act().unwrap();
        assert_eq!(a.issued_at_ms, -5);
        let body = [
            &[6u8][..],
            &1u32.to_be_bytes(),
            b"r",
            &1u32.to_be_bytes(),
            b"t",
        ]
        .concat();
        let msg = [
            b"vox/v2/act\0".as_slice(),
            &log_id.0,
            &[Role::PetitionsOffice.code()],
            &(-5i64).to_be_bytes(),
            &body,
        ]
        .concat();
        assert_eq!(act_message(&log_id, Role::PetitionsOffice, -5, &p), msg);
        signers
            .petitions_office
            .verifying_key()
            .verify_strict(&msg, &a.signature.0)
            .unwrap();
        assert_eq!(
            p.canonical_bytes(),
            [&body[..], &(-5i64).to_be_bytes(), &a.signature.0.to_bytes()].concat()
        );
        let nk = public(&SigningKey::generate(&mut r));
        assert_eq!(
            possession_message(&log_id, Role::PetitionsOffice, &nk),
            [
                b"vox/v2/role-key\0".as_slice(),
                &log_id.0,
                &[2],
                nk.0.as_bytes()
            ]
            .concat()
        );
        // The act's JSON.
        let v = serde_json::to_value(&p).unwrap();
        assert_eq!(v["type"], "petition-responded");
        assert_eq!(v["act"]["issued_at_ms"], -5);
        assert_eq!(v["act"]["signature"].as_str().unwrap().len(), 128);
        assert_eq!(serde_json::from_value::<Payload>(v).unwrap(), p);
    }

    #[test]
    fn acts_need_their_roles_current_key() {
        let mut r = rng();
        let (signers, _, g) = world(&mut r);
        let new_key = SigningKey::generate(&mut r);
        let log_id = g.log_id();
        let auth = Authorities::from_genesis(&g).unwrap();
        for (i, unsigned) in unsigned_acts(&mut r, &log_id, &new_key)
            .into_iter()
            .enumerate()
        {
            let role = unsigned.act_role().unwrap();
            let kind = unsigned.kind();
            // The placeholder never verifies.
            assert_eq!(
                auth.check(&unsigned),
                Err(ActError::BadSignature { role, kind }),
                "{kind} unsigned"
            );
            let t = T0 + i as i64;
            let signed = signers.sign(unsigned.clone(), t).unwrap();
            auth.check(&signed)
                .unwrap_or_else(|e| panic!("{kind}: {e}"));
            assert_eq!(
                signed,
                unsigned
                    .clone()
                    .signed_act(&log_id, t, signers.key(role))
                    .unwrap()
            );
            // Any other key (another role, a stranger) gives BadSignature naming the role
            // the act needs.
            let stranger = SigningKey::generate(&mut r);
            let others = Role::ALL
                .into_iter()
                .filter(|x| *x != role)
                .map(|x| signers.key(x))
                .chain([&stranger, &new_key]);
            for k in others {
                let forged = unsigned.clone().signed_act(&log_id, t, k).unwrap();
                assert_eq!(
                    auth.check(&forged),
                    Err(ActError::BadSignature { role, kind }),
                    "{kind}"
                );
            }
            // Signed for another log.
            let other_log = public(&stranger).log_id();
            let elsewhere = unsigned
                .clone()
                .signed_act(&other_log, t, signers.key(role))
                .unwrap();
            assert!(matches!(
                auth.check(&elsewhere),
                Err(ActError::BadSignature { .. })
            ));
            // Every field tweaked after signing.
            for (what, tweaked) in tweaks(&signed, &mut r) {
                assert!(
                    matches!(auth.check(&tweaked), Err(ActError::BadSignature { .. })),
                    "{what}: {:?}",
                    auth.check(&tweaked)
                );
            }
        }
    }

    #[test]
    fn entries_that_are_not_acts() {
        let mut r = rng();
        let (signers, _, g) = world(&mut r);
        let auth = Authorities::from_genesis(&g).unwrap();
        let closed = Payload::PetitionClosed {
            petition_id: "p".into(),
            count: 3,
        };
        assert_eq!(closed.act_role(), None);
        assert!(closed.act().is_none());
        auth.check(&closed).unwrap();
        assert!(signers.sign(closed.clone(), T0).is_err());
        let mut c = closed.clone();
        assert!(c.sign_act(&g.log_id(), T0, &signers.operator).is_err());
        assert_eq!(c, closed);
        // Not even the genesis itself may come again.
        let again = Payload::Genesis { genesis: g.clone() };
        assert_eq!(again.act_role(), None);
        assert!(matches!(auth.check(&again), Err(ActError::Genesis(_))));
        // Another valid genesis neither.
        let (_, _, other) = world(&mut r);
        assert!(matches!(
            auth.check(&Payload::Genesis { genesis: other }),
            Err(ActError::Genesis(_))
        ));
    }

    #[test]
    fn replays_are_refused() {
        let mut r = rng();
        let (signers, _, g) = world(&mut r);
        let new_key = SigningKey::generate(&mut r);
        let mut auth = Authorities::from_genesis(&g).unwrap();
        let acts = unsigned_acts(&mut r, &g.log_id(), &new_key);
        for (i, unsigned) in acts.iter().enumerate() {
            let role = unsigned.act_role().unwrap();
            // The rotation is last in the list: nothing is signed after it.
            let key = signers.key(role);
            let signed = unsigned
                .clone()
                .signed_act(&g.log_id(), T0 + i as i64, key)
                .unwrap();
            auth.accept(&signed).unwrap();
            if let Payload::RoleKeyRotated { .. } = signed {
                // Replaying a rotation now fails its signature (the old key is retired).
                assert!(auth.check(&signed).is_err());
                continue;
            }
            assert_eq!(auth.check(&signed), Err(ActError::Replayed { role }));
            assert_eq!(auth.accept(&signed), Err(ActError::Replayed { role }));
            // The same decision signed at another time is a new act.
            let later = unsigned
                .clone()
                .signed_act(&g.log_id(), T0 + 1000 + i as i64, key)
                .unwrap();
            auth.check(&later).unwrap();
        }
    }

    #[test]
    fn rotation() {
        let mut r = rng();
        let (signers, witnesses, g) = world(&mut r);
        let log_id = g.log_id();
        let mut auth = Authorities::from_genesis(&g).unwrap();
        let new_key = SigningKey::generate(&mut r);
        let rotate = |role: Role, new: &SigningKey, signer: &SigningKey, t: i64| {
            let pk = public(new);
            Payload::RoleKeyRotated {
                role,
                new_key: pk,
                possession: Sig(new.sign(&possession_message(&log_id, role, &pk))),
                act: ActSignature::unsigned(),
            }
            .signed_act(&log_id, t, signer)
            .unwrap()
        };
        let refused = |auth: &Authorities, p: &Payload| {
            assert!(
                matches!(auth.check(p), Err(ActError::Rotation(_))),
                "{:?}",
                auth.check(p)
            );
        };
        // Operator: never, even properly signed.
        refused(
            &auth,
            &rotate(Role::Operator, &new_key, &signers.operator, T0),
        );
        // To a key that is already a role's or a witness's.
        for (role, to) in [
            (Role::PetitionsOffice, &signers.registrar),
            (Role::PetitionsOffice, &signers.operator),
            (Role::PetitionsOffice, &signers.petitions_office),
            (Role::Registrar, &witnesses[0]),
            (Role::ElectionAuthority, &witnesses[1]),
        ] {
            refused(&auth, &rotate(role, to, signers.key(role), T0));
        }
        // Bad possession: signed by the old key, for another role, for another log,
        // or not at all.
        let pk = public(&new_key);
        let with_possession = |possession: Sig| {
            Payload::RoleKeyRotated {
                role: Role::PetitionsOffice,
                new_key: pk,
                possession,
                act: ActSignature::unsigned(),
            }
            .signed_act(&log_id, T0, &signers.petitions_office)
            .unwrap()
        };
        let other_log = public(&witnesses[0]).log_id();
        for possession in [
            Sig(signers.petitions_office.sign(&possession_message(
                &log_id,
                Role::PetitionsOffice,
                &pk,
            ))),
            Sig(new_key.sign(&possession_message(&log_id, Role::Registrar, &pk))),
            Sig(new_key.sign(&possession_message(&other_log, Role::PetitionsOffice, &pk))),
            crate::board::unsigned(),
        ] {
            refused(&auth, &with_possession(possession));
        }
        // Signed by the new key rather than the current one.
        assert!(matches!(
            auth.check(&rotate(Role::PetitionsOffice, &new_key, &new_key, T0)),
            Err(ActError::BadSignature {
                role: Role::PetitionsOffice,
                ..
            })
        ));
        // Proper: accepted; the old key no longer works, the new one does.
        let good = rotate(
            Role::PetitionsOffice,
            &new_key,
            &signers.petitions_office,
            T0,
        );
        auth.accept(&good).unwrap();
        assert_eq!(auth.current().petitions_office, pk);
        assert_eq!(auth.current().registrar, g.keys.registrar);
        assert_eq!(auth.genesis(), &g);
        let respond = Payload::PetitionResponded {
            petition_id: "p".into(),
            text: "answer".into(),
            act: ActSignature::unsigned(),
        };
        let old = respond
            .clone()
            .signed_act(&log_id, T0 + 1, &signers.petitions_office)
            .unwrap();
        assert_eq!(
            auth.check(&old),
            Err(ActError::BadSignature {
                role: Role::PetitionsOffice,
                kind: "petition-responded"
            })
        );
        let new = respond.signed_act(&log_id, T0 + 1, &new_key).unwrap();
        auth.accept(&new).unwrap();
        // The same rotation again: it is now signed by a retired key.
        assert!(auth.check(&good).is_err());
        // Another role cannot take the new current key.
        refused(
            &auth,
            &rotate(Role::Registrar, &new_key, &signers.registrar, T0 + 3),
        );
        // Other roles are unaffected.
        let created = signers
            .sign(
                Payload::ReferendumCreated {
                    manifest: manifest(),
                    act: ActSignature::unsigned(),
                },
                T0 + 4,
            )
            .unwrap();
        auth.accept(&created).unwrap();
    }

    #[test]
    fn witness_policy_set_is_an_operator_act_with_a_valid_policy() {
        let mut r = rng();
        let (signers, _, g) = world(&mut r);
        let log_id = g.log_id();
        let mut auth = Authorities::from_genesis(&g).unwrap();
        let fresh: Vec<SigningKey> = (0..3).map(|_| SigningKey::generate(&mut r)).collect();
        let set = |keys: Vec<BoardPublicKey>, quorum: u32, signer: &SigningKey, t: i64| {
            Payload::WitnessPolicySet {
                policy: WitnessPolicy { keys, quorum },
                act: ActSignature::unsigned(),
            }
            .signed_act(&log_id, t, signer)
            .unwrap()
        };
        let keys: Vec<BoardPublicKey> = fresh.iter().map(public).collect();
        // Signed by another role than the operator: the signature is not the operator's.
        for role in [
            Role::Registrar,
            Role::PetitionsOffice,
            Role::ElectionAuthority,
        ] {
            assert_eq!(
                auth.check(&set(keys.clone(), 2, signers.key(role), T0)),
                Err(ActError::BadSignature {
                    role: Role::Operator,
                    kind: "witness-policy-set"
                })
            );
        }
        // Invalid policies, properly signed.
        let invalid = |auth: &Authorities, p: &Payload| {
            assert!(
                matches!(auth.check(p), Err(ActError::WitnessPolicy(_))),
                "{:?}",
                auth.check(p)
            );
        };
        invalid(&auth, &set(keys.clone(), 4, &signers.operator, T0));
        invalid(
            &auth,
            &set(vec![keys[0], keys[1], keys[0]], 2, &signers.operator, T0),
        );
        invalid(
            &auth,
            &set(vec![keys[0], g.keys.registrar], 1, &signers.operator, T0),
        );
        // Valid: accepted, and no role may rotate to one of its keys afterwards.
        let good = set(keys.clone(), 2, &signers.operator, T0);
        auth.accept(&good).unwrap();
        assert_eq!(
            auth.check(&good),
            Err(ActError::Replayed {
                role: Role::Operator
            })
        );
        let pk = keys[2];
        let rotation = Payload::RoleKeyRotated {
            role: Role::Registrar,
            new_key: pk,
            possession: Sig(fresh[2].sign(&possession_message(&log_id, Role::Registrar, &pk))),
            act: ActSignature::unsigned(),
        }
        .signed_act(&log_id, T0 + 1, &signers.registrar)
        .unwrap();
        assert!(matches!(auth.check(&rotation), Err(ActError::Rotation(_))));
    }

    #[test]
    fn a_witness_policy_change_takes_effect_once_the_old_quorum_cosigns() {
        let mut r = rng();
        let k = |r: &mut ChaCha20Rng| public(&SigningKey::generate(r));
        let (a, b, c) = (k(&mut r), k(&mut r), k(&mut r));
        let old = WitnessPolicy {
            keys: vec![a, b],
            quorum: 2,
        };
        let new = WitnessPolicy {
            keys: vec![b, c],
            quorum: 2,
        };
        let mut ps = WitnessPolicies::new(old.clone());
        assert_eq!(ps.in_force(), &old);
        ps.declare(10, new.clone()).unwrap();
        assert_eq!(ps.pending(), Some((10, &new)));
        // Still the old policy: a head that does not cover the change does not count,
        // even with every witness; nor does one covering it with only new witnesses.
        assert!(!ps.observe(10, |_| true));
        assert!(!ps.observe(11, |w| *w == b || *w == c));
        assert_eq!(ps.in_force(), &old);
        // One change at a time.
        assert_eq!(
            ps.declare(12, old.clone()),
            Err(PendingChange { pending_leaf: 10 })
        );
        assert_eq!(ps.pending(), Some((10, &new)));
        // The old quorum on a head covering it: the new policy is in force.
        assert!(ps.observe(12, |w| *w == a || *w == b));
        assert_eq!(ps.in_force(), &new);
        assert_eq!(ps.pending(), None);
        assert!(!ps.observe(13, |_| true));
        // From quorum 0 a change takes effect at once.
        let mut ps = WitnessPolicies::new(WitnessPolicy::default());
        ps.declare(3, new.clone()).unwrap();
        assert_eq!(ps.in_force(), &new);
        // A server replaying its own log trusts its earlier acceptances.
        let mut ps = WitnessPolicies::new(old.clone());
        ps.replay(5, new.clone());
        ps.replay(9, old.clone());
        assert_eq!(ps.pending(), Some((9, &old)));
        assert_eq!(ps.in_force(), &new);
        assert_eq!(ps.in_force_leaf(), 5);
    }
}
