//! Referendum manifests and question kinds (protocol-spec/04-ballots.md §4.2).

use serde::{Deserialize, Serialize};
use vox_crypto::threshold::TrusteeKeys;
use vox_crypto::{Hash32, Point};

use crate::buffered::{tagged_variant, Buffered, TaggedVisitor};
use crate::encoding::{Canonical, Encoder, Hashable};
use crate::error::{ProtocolError, Result};

/// Current manifest format version. 5 added `participation` (04 §4.2).
pub const MANIFEST_VERSION: u32 = 5;

/// How ballots name their voter (protocol-spec/04-ballots.md §4.2, §4.10).
///
/// Pseudonymous ballots carry the credential key and its signature: cheap to check, and
/// the board shows which credentials voted (not how). Anonymous ballots carry a linkable
/// ring signature instead: the board shows that someone in a ring of up to 4,096
/// citizens voted, and a per-referendum tag that makes the last ballot per citizen count,
/// at the price of a ring-signature check per ballot (BENCHMARKS.md).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum Participation {
    /// Ballots signed by the credential (the default).
    #[default]
    Pseudonymous,
    /// Ballots ring-signed in the credential's derived ring, with a linking tag.
    Anonymous,
}

impl Participation {
    /// Its byte in the manifest's canonical encoding (0 pseudonymous, 1 anonymous).
    pub fn code(self) -> u8 {
        match self {
            Participation::Pseudonymous => 0,
            Participation::Anonymous => 1,
        }
    }

    /// `serde` skips the default, so a pseudonymous manifest's JSON is unchanged.
    pub fn is_pseudonymous(&self) -> bool {
        *self == Participation::Pseudonymous
    }
}

/// Upper bound on options per question (keeps ballots and tallies bounded).
pub const MAX_OPTIONS: usize = 64;
/// Upper bound on questions per referendum.
pub const MAX_QUESTIONS: usize = 32;
/// Upper bound on range statements per ballot (Bulletproofs aggregation of 64 values).
pub const MAX_RANGE_STATEMENTS: usize = 32;
/// The largest `max` of a score question.
pub const MAX_SCORE: u32 = 1_000;
/// The largest value any tally slot may reach: max per option × the electorate's size
/// must stay at or below it (protocol-spec/05-tally.md §5.3), so that recovering a total
/// by discrete log needs at most 2¹⁷ table entries (a few MB) and as many giant steps,
/// whatever the manifest says. 2³⁴ ≈ 1.7·10¹⁰: 17 million voters at score max 1,000.
pub const MAX_SLOT_VALUE: u64 = 1 << 34;

/// One day in milliseconds: the deadline tools use for a manifest's `answer_due_ms` and
/// `decryption_due_ms` unless told otherwise.
pub const DAY_MS: i64 = 86_400_000;

/// How long after its time a scheduled step of a referendum may come and still be on
/// time (10 §10.6): opening after `opens_at`, closing after `closes_at`, the tally after
/// the close, the result and the naming of overdue trustees after the decryption
/// deadline. The board's scheduler acts within a second; a minute covers a restart.
pub const SCHEDULE_GRACE_MS: i64 = 60_000;

/// What a voter may answer to a question.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum QuestionKind {
    /// Yes or no, no blank. One ciphertext encrypting 1 (yes) or 0 (no): the fast path.
    YesNo,
    /// Exactly one option (or none if `blank_allowed`).
    ChooseOne {
        /// Whether selecting nothing is a valid (blank) vote.
        blank_allowed: bool,
    },
    /// Approve between `min` and `max` options.
    Approve {
        /// Fewest options approved.
        min: u32,
        /// Most options approved.
        max: u32,
    },
    /// A score from 0 to `max` for every option.
    Score {
        /// Highest score.
        max: u32,
    },
}

/// The `type` of a [`QuestionKind`]: serde's variant identifier of it.
#[derive(Clone, Copy, Deserialize)]
#[serde(variant_identifier, rename_all = "kebab-case")]
enum QuestionKindTag {
    YesNo,
    ChooseOne,
    Approve,
    Score,
}

impl QuestionKind {
    fn from_buffered<E: serde::de::Error>(
        tag: QuestionKindTag,
        body: Buffered<'_>,
    ) -> core::result::Result<Self, E> {
        use QuestionKindTag as T;
        Ok(match tag {
            // A unit variant: like serde's derive, the other keys of a map are ignored,
            // and the array form may hold nothing after its tag.
            T::YesNo => match body {
                Buffered::Seq(rest) if !rest.is_empty() => {
                    return Err(E::invalid_length(rest.len(), &"0 elements in sequence"))
                }
                _ => QuestionKind::YesNo,
            },
            T::ChooseOne => tagged_variant!(QuestionKind, body, ChooseOne { blank_allowed: req }),
            T::Approve => tagged_variant!(QuestionKind, body, Approve { min: req, max: req }),
            T::Score => tagged_variant!(QuestionKind, body, Score { max: req }),
        })
    }
}

/// Hand-written for the size of the web bundle, as [`crate::board::Payload`]'s: serde's
/// derive of an internally tagged enum buffers through its own private `Content` and
/// decodes the variant from it again, one more copy of that machinery in the bundle.
impl<'de> Deserialize<'de> for QuestionKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> core::result::Result<Self, D::Error> {
        let (tag, body) = d.deserialize_any(TaggedVisitor::<QuestionKindTag>::new(
            "type",
            "internally tagged enum QuestionKind",
        ))?;
        QuestionKind::from_buffered(tag, body)
    }
}

/// One question of a referendum.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Question {
    /// Stable identifier (unique within the manifest).
    pub id: String,
    /// The question as shown to voters.
    pub text: String,
    /// Option labels. For `yes-no`, exactly `["yes", "no"]` in the voter's language.
    pub options: Vec<String>,
    /// The kind, which fixes the ballot's proofs.
    pub kind: QuestionKind,
}

impl Question {
    /// Number of ciphertexts a ballot carries for this question.
    pub fn ciphertext_count(&self) -> usize {
        match self.kind {
            QuestionKind::YesNo => 1,
            _ => self.options.len(),
        }
    }

    /// The most any one option can receive from one ballot.
    pub fn max_per_option(&self) -> u64 {
        match self.kind {
            QuestionKind::Score { max } => u64::from(max),
            _ => 1,
        }
    }
}

/// A trustee as named in the manifest: index (1-based), name and its two public keys
/// (06 §6.2): one that signs, one that receives encrypted shares. Separate keys, so a
/// key does one job only.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TrusteeInfo {
    /// 1-based trustee index (the evaluation point of its key share).
    pub index: u32,
    /// Display name.
    pub name: String,
    /// D: verifies the trustee's signed board messages (ceremony, decryption shares).
    pub signing_key: Point,
    /// E: dealers encrypt this trustee's key-ceremony shares to it; its round-1
    /// announcement must carry exactly this key.
    pub communication_key: Point,
}

/// Everything that defines a referendum before its key exists.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Manifest {
    /// Format version ([`MANIFEST_VERSION`]).
    pub version: u32,
    /// Identifier of the referendum on this board.
    pub referendum_id: String,
    /// Title.
    pub title: String,
    /// Longer description.
    pub description: String,
    /// The questions, in ballot order.
    pub questions: Vec<Question>,
    /// Voting opens (Unix milliseconds).
    pub opens_at: i64,
    /// Voting closes (Unix milliseconds).
    pub closes_at: i64,
    /// Hash of the electorate whose credentials may vote.
    pub electorate_hash: Hash32,
    /// The trustees, indices 1..=n in order.
    pub trustees: Vec<TrusteeInfo>,
    /// Trustees needed to decrypt (k of n).
    pub threshold: u32,
    /// How long a trustee accused by a ceremony complaint has to answer it (ms after the
    /// complaint's board entry); then the board disqualifies it (protocol-spec/06 §6.11).
    pub answer_due_ms: i64,
    /// How long every trustee has to post its decryption share (ms after the tally's
    /// board entry); then the board names those who did not (protocol-spec/10 V15).
    pub decryption_due_ms: i64,
    /// The petition that triggered this referendum, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_petition: Option<String>,
    /// Pseudonymous (credential-signed) or anonymous (ring-signed) ballots.
    #[serde(default, skip_serializing_if = "Participation::is_pseudonymous")]
    pub participation: Participation,
}

impl Canonical for QuestionKind {
    fn encode(&self, e: &mut Encoder) {
        match self {
            QuestionKind::YesNo => {
                e.u8(0);
            }
            QuestionKind::ChooseOne { blank_allowed } => {
                e.u8(1).bool(*blank_allowed);
            }
            QuestionKind::Approve { min, max } => {
                e.u8(2).u32(*min).u32(*max);
            }
            QuestionKind::Score { max } => {
                e.u8(3).u32(*max);
            }
        }
    }
}

impl Canonical for Question {
    fn encode(&self, e: &mut Encoder) {
        e.str(&self.id).str(&self.text).seq(&self.options);
        self.kind.encode(e);
    }
}

impl TrusteeInfo {
    /// The manifest's trustee list for key pairs in index order: indices 1..=n, named
    /// "Trustee i" (what every tool that builds a manifest from bare keys needs).
    pub fn numbered<'a>(keys: impl IntoIterator<Item = &'a TrusteeKeys>) -> Vec<TrusteeInfo> {
        keys.into_iter()
            .zip(1u32..)
            .map(|(k, index)| TrusteeInfo {
                index,
                name: format!("Trustee {index}"),
                signing_key: *k.signing_key(),
                communication_key: *k.communication_key(),
            })
            .collect()
    }
}

impl Canonical for TrusteeInfo {
    fn encode(&self, e: &mut Encoder) {
        e.u32(self.index)
            .str(&self.name)
            .point(&self.signing_key)
            .point(&self.communication_key);
    }
}

impl Canonical for Manifest {
    fn encode(&self, e: &mut Encoder) {
        e.u32(self.version)
            .str(&self.referendum_id)
            .str(&self.title)
            .str(&self.description)
            .seq(&self.questions)
            .i64(self.opens_at)
            .i64(self.closes_at)
            .hash(&self.electorate_hash)
            .seq(&self.trustees)
            .u32(self.threshold)
            .i64(self.answer_due_ms)
            .i64(self.decryption_due_ms)
            .opt(&self.source_petition)
            .u8(self.participation.code());
    }
}

impl Hashable for Manifest {
    const TAG: &'static str = "manifest";
}

/// Where a moment falls against a referendum's voting period `[opens_at, closes_at)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VotingPeriod {
    /// Before `opens_at`.
    NotYetOpen,
    /// Within the period: a ballot (or an audit) recorded now counts.
    Open,
    /// At or after `closes_at`.
    Over,
}

impl Manifest {
    /// Where the board timestamp `ts` (ms) falls against the voting period: the one rule
    /// the server applies when it accepts a ballot and the verifier when it replays one
    /// (protocol-spec/10-verifier.md, V9).
    pub fn voting_period(&self, ts: i64) -> VotingPeriod {
        if ts < self.opens_at {
            VotingPeriod::NotYetOpen
        } else if ts >= self.closes_at {
            VotingPeriod::Over
        } else {
            VotingPeriod::Open
        }
    }

    /// Check every structural rule of protocol-spec/04-ballots.md §4.2.
    pub fn validate(&self) -> Result<()> {
        if self.version != MANIFEST_VERSION {
            return Err(ProtocolError::invalid(
                "version",
                format!("unsupported manifest version {}", self.version),
            ));
        }
        if self.referendum_id.is_empty() || self.referendum_id.len() > 64 {
            return Err(ProtocolError::invalid(
                "referendum_id",
                "must be 1 to 64 characters",
            ));
        }
        if self.closes_at <= self.opens_at {
            return Err(ProtocolError::invalid(
                "closes_at",
                "must be after opens_at",
            ));
        }
        if self.answer_due_ms <= 0 {
            return Err(ProtocolError::invalid("answer_due_ms", "must be positive"));
        }
        if self.decryption_due_ms <= 0 {
            return Err(ProtocolError::invalid(
                "decryption_due_ms",
                "must be positive",
            ));
        }
        validate_questions(&self.questions)?;
        validate_trustees(&self.trustees, self.threshold)?;
        Ok(())
    }

    /// The tally bound for an electorate of `eligible` credentials (04 §4.2 rule 6): every
    /// slot's largest possible total, max per option × eligible, must not exceed
    /// [`MAX_SLOT_VALUE`]. Checked where the electorate is known: when the referendum is
    /// created (server) and at V7.
    pub fn check_slot_bound(&self, eligible: u64) -> Result<()> {
        for (qi, q) in self.questions.iter().enumerate() {
            let top = eligible.saturating_mul(q.max_per_option());
            if top > MAX_SLOT_VALUE {
                return Err(ProtocolError::invalid(
                    format!("questions/{qi}/kind"),
                    format!(
                        "max per option {} × {eligible} eligible credentials exceeds the \
                         tally limit {MAX_SLOT_VALUE}",
                        q.max_per_option()
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Number of tally slots: every question's ciphertexts, flattened in question order
    /// (protocol-spec/05-tally.md §5.2).
    pub fn tally_width(&self) -> usize {
        self.questions.iter().map(Question::ciphertext_count).sum()
    }
}

/// The question rules of 04 §4.2 (rules 2–4), shared by manifests and by the referendum
/// terms a petition fixes at publication (07 §7.4).
pub fn validate_questions(questions: &[Question]) -> Result<()> {
    if questions.is_empty() || questions.len() > MAX_QUESTIONS {
        return Err(ProtocolError::invalid(
            "questions",
            format!("1 to {MAX_QUESTIONS} questions"),
        ));
    }
    let mut ids = std::collections::HashSet::new();
    let mut ranges = 0usize;
    for (qi, q) in questions.iter().enumerate() {
        let f = |s: &str| format!("questions/{qi}/{s}");
        if q.id.is_empty() || !ids.insert(q.id.as_str()) {
            return Err(ProtocolError::invalid(
                f("id"),
                "empty or duplicate question id",
            ));
        }
        let k = q.options.len();
        if k == 0 || k > MAX_OPTIONS {
            return Err(ProtocolError::invalid(
                f("options"),
                format!("1 to {MAX_OPTIONS} options"),
            ));
        }
        match q.kind {
            QuestionKind::YesNo => {
                if k != 2 {
                    return Err(ProtocolError::invalid(
                        f("options"),
                        "a yes-no question has exactly two options (yes, no)",
                    ));
                }
            }
            QuestionKind::ChooseOne { .. } => {
                if k < 2 {
                    return Err(ProtocolError::invalid(
                        f("options"),
                        "choose-one needs at least two options",
                    ));
                }
            }
            QuestionKind::Approve { min, max } => {
                if min > max || max as usize > k || max == 0 {
                    return Err(ProtocolError::invalid(
                        f("kind"),
                        "approve needs 0 ≤ min ≤ max ≤ options, max ≥ 1",
                    ));
                }
                if approve_sum_needs_range(min, max) {
                    ranges += 1;
                }
            }
            QuestionKind::Score { max } => {
                if max == 0 || max > MAX_SCORE {
                    return Err(ProtocolError::invalid(
                        f("kind"),
                        format!("score max must be in 1..={MAX_SCORE}"),
                    ));
                }
                ranges += k;
            }
        }
    }
    if ranges > MAX_RANGE_STATEMENTS {
        return Err(ProtocolError::invalid("questions", format!("at most {MAX_RANGE_STATEMENTS} range statements per ballot (score options plus approve sums)")));
    }
    Ok(())
}

/// The trustee rules of 04 §4.2 (rule 5), shared by manifests and standing panels.
pub fn validate_trustees(trustees: &[TrusteeInfo], threshold: u32) -> Result<()> {
    let n = trustees.len();
    if n == 0 || n > 255 {
        return Err(ProtocolError::invalid("trustees", "1 to 255 trustees"));
    }
    for (i, t) in trustees.iter().enumerate() {
        if t.index as usize != i + 1 {
            return Err(ProtocolError::invalid(
                format!("trustees/{i}/index"),
                "trustee indices must be 1..=n in order",
            ));
        }
        t.signing_key
            .ensure_not_identity("trustee signing key")
            .map_err(|e| ProtocolError::crypto(format!("trustees/{i}/signing_key"), e))?;
        t.communication_key
            .ensure_not_identity("trustee communication key")
            .map_err(|e| ProtocolError::crypto(format!("trustees/{i}/communication_key"), e))?;
        if t.signing_key == t.communication_key {
            return Err(ProtocolError::invalid(
                format!("trustees/{i}/communication_key"),
                "a trustee's signing and communication keys must be different keys",
            ));
        }
        // Two trustees with one key would be one party holding two shares; and a key
        // that is both one trustee's signing key and another's communication key is one
        // key doing two jobs.
        let clash = trustees.iter().take(i).position(|o| {
            [o.signing_key, o.communication_key]
                .iter()
                .any(|k| *k == t.signing_key || *k == t.communication_key)
        });
        if let Some(j) = clash {
            return Err(ProtocolError::invalid(
                format!("trustees/{i}"),
                format!("shares a key with trustee {}", j + 1),
            ));
        }
    }
    if threshold == 0 || threshold as usize > n {
        return Err(ProtocolError::invalid(
            "threshold",
            "must be in 1..=number of trustees",
        ));
    }
    Ok(())
}

/// The standing trustee panel (08 table 8.1, tag 26): the trustees who run the key
/// ceremony of every referendum a petition triggers, and the deadlines those referendums
/// carry. Set by the election authority; the panel in force when a petition crosses its
/// referendum threshold goes into that referendum's manifest (07 §7.4), so no one has to
/// choose trustees after the fact (and no one can stall a triggered referendum by not
/// choosing them).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TrusteePanel {
    /// The trustees, indices 1..=n in order.
    pub trustees: Vec<TrusteeInfo>,
    /// Trustees needed to decrypt (k of n).
    pub threshold: u32,
    /// The manifest's `answer_due_ms` for triggered referendums.
    pub answer_due_ms: i64,
    /// The manifest's `decryption_due_ms` for triggered referendums.
    pub decryption_due_ms: i64,
}

impl TrusteePanel {
    /// Trustee rules of 04 §4.2 rule 5 and positive deadlines.
    pub fn validate(&self) -> Result<()> {
        validate_trustees(&self.trustees, self.threshold)?;
        if self.answer_due_ms <= 0 {
            return Err(ProtocolError::invalid("answer_due_ms", "must be positive"));
        }
        if self.decryption_due_ms <= 0 {
            return Err(ProtocolError::invalid(
                "decryption_due_ms",
                "must be positive",
            ));
        }
        Ok(())
    }
}

impl Canonical for TrusteePanel {
    fn encode(&self, e: &mut Encoder) {
        e.seq(&self.trustees)
            .u32(self.threshold)
            .i64(self.answer_due_ms)
            .i64(self.decryption_due_ms);
    }
}

/// Whether an approval sum needs a range proof (rather than a constant or 0/1 proof).
pub fn approve_sum_needs_range(min: u32, max: u32) -> bool {
    !(min == max || (min == 0 && max == 1))
}
