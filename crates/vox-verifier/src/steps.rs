//! The numbered verification steps V1…V15 (protocol-spec/10-verifier.md).
//!
//! [`STEPS`] is the one table of what `vox-verify` checks; the spec copies it. Every
//! failure the verifier reports names one of these steps and a location.

use serde::{Serialize, Serializer};

/// A verification step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum StepId {
    /// V1 record header.
    Record,
    /// V2 log structure and Merkle roots.
    Log,
    /// V3 tree-head signatures and witness cosignatures.
    TreeHeads,
    /// V4 genesis, roles and authority signatures.
    Roles,
    /// V5 electorates (registration, enrolment by code, revocation, freezing).
    Electorates,
    /// V6 petitions.
    Petitions,
    /// V7 referendum manifests.
    Manifests,
    /// V8 key ceremony.
    Ceremony,
    /// V9 referendum lifecycle.
    Lifecycle,
    /// V10 ballots.
    Ballots,
    /// V11 encrypted tally.
    Tally,
    /// V12 decryption shares.
    Shares,
    /// V13 result.
    Result,
    /// V14 receipts.
    Receipts,
    /// V15 obligations: every deadline the record creates, and its fate.
    Obligations,
}

/// One row of the step table.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct StepInfo {
    /// The step.
    #[serde(skip)]
    pub step: StepId,
    /// Its number, `"V1"` … `"V14"`.
    pub id: &'static str,
    /// Short title (one report line).
    pub title: &'static str,
    /// Where the rules it applies are specified.
    pub spec: &'static str,
    /// What exactly is checked.
    pub checks: &'static str,
    /// Whether the step needs input beyond the record (receipts). Such a step is
    /// NOT-CHECKED when that input is absent and, unlike every other step, this does not
    /// make the verdict partial: it says nothing about the record.
    pub needs_input: bool,
}

/// Every step, in report order.
pub const STEPS: &[StepInfo] = &[
    StepInfo {
        step: StepId::Record,
        id: "V1",
        title: "record header and version",
        spec: "protocol-spec/09-record.md §9.1",
        checks: "record.json parses with no unknown field (a record cannot carry its own \
                 generators, group or parameters: every generator is recomputed from its \
                 label), format \"vox-record\" version 2, log id = SHA-256(\"vox/v2/log-id\" ‖ 0 ‖ \
                 board key), the board key equals the observer's pinned board key (--board-key, \
                 --trust) if one is given, and the referendum or petition the header (or \
                 --referendum) names occurs in the log",
        needs_input: false,
    },
    StepInfo {
        step: StepId::Log,
        id: "V2",
        title: "board log and Merkle roots",
        spec: "protocol-spec/08-board.md §8.1, §8.3",
        checks: "entries.jsonl holds leaves 0..tree_size, each a well-formed board entry with \
                 canonical encodings; entry timestamps never decrease; tree heads are in size \
                 order; the RFC 6962 root of every prefix equals the root of each signed tree \
                 head of that size (computed streaming with a compact stack of subtrees, which \
                 also proves consistency between successive heads); no two heads of one size \
                 differ; the last head covers the whole record",
        needs_input: false,
    },
    StepInfo {
        step: StepId::TreeHeads,
        id: "V3",
        title: "tree-head signatures and cosignatures",
        spec: "protocol-spec/08-board.md §8.4, protocol-spec/11-roles.md §11.2, §11.6",
        checks: "every signed tree head verifies (Ed25519, strict) under the board key; every \
                 witness cosignature present verifies; the head before every close, tally \
                 and result, and the head covering the record, carry valid cosignatures from \
                 at least `quorum` distinct witnesses of the witness policy in force (the \
                 genesis's, or a later one once the old quorum cosigned it), and the latter \
                 one from each witness the header lists or the observer pins (NOT-CHECKED \
                 while they have not cosigned it yet)",
        needs_input: false,
    },
    StepInfo {
        step: StepId::Roles,
        id: "V4",
        title: "genesis, roles and authority signatures",
        spec: "protocol-spec/11-roles.md §11.2–11.4",
        checks: "leaf 0, and no other leaf, is a genesis entry; the genesis is valid (log name, \
                 four distinct role keys, witness policy, one valid signature by each role) and \
                 its operator key is the header's board key; every role key the observer pins \
                 (--role-key, --trust) equals the genesis key of that role; every authority act \
                 verifies (Ed25519, strict) under its role's current key at its place in the log \
                 (key rotations applied in log order) and occurs once (no replay); every key \
                 rotation is by a role other than the operator, proves possession of the new \
                 key and names a key no role or witness holds",
        needs_input: false,
    },
    StepInfo {
        step: StepId::Electorates,
        id: "V5",
        title: "electorates",
        spec: "protocol-spec/04-ballots.md §4.1–4.1.4",
        checks: "every entry about an electorate is replayed through the same Roll as the \
                 server's: every registered electorate is well-formed (id, at least one \
                 credential, no duplicate credential) and no electorate id or hash occurs \
                 twice; every enrolment opening commits to 1..1,000,000 strictly ascending \
                 code hashes with per-region counts that add up, under a new id; every \
                 enrolment spends a committed, unspent code (or a replacement code, for the \
                 revoked credential's region) of an electorate still enrolling, with a new key \
                 and a valid credential signature; every revocation names a current member \
                 and a new replacement code hash; every freeze names the hash of exactly the \
                 enrolled, non-revoked credentials in enrolment order; every petition and \
                 manifest names an electorate registered or frozen earlier in the log",
        needs_input: false,
    },
    StepInfo {
        step: StepId::Petitions,
        id: "V6",
        title: "petitions",
        spec: "protocol-spec/07-petitions.md §7.1–7.5, protocol-spec/04-ballots.md §4.1.3",
        checks: "every proposal, signature and withdrawal is valid and from a credential \
                 of the petition's electorate in standing at its leaf (not revoked earlier; a \
                 replacement enrolled earlier, and not standing for a revoked credential that \
                 took part in the petition); the whole lifecycle is replayed through \
                 PetitionTracker (one signature per credential, withdrawals only while open, \
                 moderation, response, invalidations, close after the deadline); threshold \
                 entries appear exactly when the count reaches them, immediately after the \
                 signature or moderation entry that crossed them, in the order \
                 sponsor/response/referendum, with the recomputed count, and never otherwise; \
                 every published count equals the recomputed one",
        needs_input: false,
    },
    StepInfo {
        step: StepId::Manifests,
        id: "V7",
        title: "referendum manifests",
        spec: "protocol-spec/04-ballots.md §4.2",
        checks: "every manifest is valid (questions, options, trustees 1..n, threshold), its \
                 referendum id is new, and a source petition exists and had reached its \
                 referendum threshold (and triggers one referendum only)",
        needs_input: false,
    },
    StepInfo {
        step: StepId::Ceremony,
        id: "V8",
        title: "key ceremony",
        spec: "protocol-spec/06-ceremony.md §6.10–6.12",
        checks: "every ceremony message is signed by the manifest's trustee key and is \
                 replayed through CeremonyTracker (phase order, proofs of possession and of \
                 knowledge, reveals against their hash commitments, shares, complaints, \
                 answers by their deadline); every trustee-disqualified entry is accepted by \
                 the same tracker (bad-answer right after a bad answer, unanswered only after \
                 the deadline); the CeremonyCompleted entry comes after completion and its \
                 election key and public shares equal those computed from the reveals of the \
                 qualified set",
        needs_input: false,
    },
    StepInfo {
        step: StepId::Lifecycle,
        id: "V9",
        title: "referendum lifecycle",
        spec: "protocol-spec/10-verifier.md §10.3",
        checks: "created → ceremony complete → opened → ballots → closed → tally → shares → \
                 result, each once and in this order; ballots only while open and with an \
                 entry timestamp in [opens_at, closes_at); audits only once the key exists; \
                 opened at or after opens_at and closed at or after closes_at (nothing \
                 ends early); trustees named overdue exactly when the decryption deadline \
                 passed without their share",
        needs_input: false,
    },
    StepInfo {
        step: StepId::Ballots,
        id: "V10",
        title: "ballots",
        spec: "protocol-spec/04-ballots.md §4.5–4.6, §4.1.3",
        checks: "every cast ballot: credential in the electorate and in standing at its leaf \
                 (not revoked earlier; a replacement enrolled earlier, and not voting in a \
                 referendum where a credential it replaces voted), structure, every proof and \
                 the credential signature bound to the manifest hash and the credential \
                 (batch-verified: one random linear combination per chunk in one multiscalar \
                 multiplication, falling back to single checks to name the culprit); no \
                 ballot cast twice; the counted ballot of a credential is its last; every \
                 audited ballot opens to its claimed choices and is never cast",
        needs_input: false,
    },
    StepInfo {
        step: StepId::Tally,
        id: "V11",
        title: "encrypted tally",
        spec: "protocol-spec/05-tally.md §5.1–5.2",
        checks: "the TallyComputed entry equals the homomorphic sum of exactly the counted \
                 ballots: every ciphertext, the counted-ballot count and counted_hash (the \
                 hash of the counted ballot hashes in log order)",
        needs_input: false,
    },
    StepInfo {
        step: StepId::Shares,
        id: "V12",
        title: "decryption shares",
        spec: "protocol-spec/06-ceremony.md §6.8",
        checks: "every decryption share is from a trustee of the manifest not disqualified \
                 in the ceremony, once, signed by \
                 that trustee, with a valid DLEQ proof per tally ciphertext against that \
                 trustee's public share; at least k valid shares",
        needs_input: false,
    },
    StepInfo {
        step: StepId::Result,
        id: "V13",
        title: "result",
        spec: "protocol-spec/05-tally.md §5.3, protocol-spec/06-ceremony.md §6.9",
        checks: "the result names at least k distinct trustees with valid shares; the \
                 Lagrange combination of exactly their shares decrypts every tally slot to \
                 the published count (checked as count·G, with a bounded discrete log to \
                 report the true value on mismatch); every slot ≤ counted × max per option; \
                 the counted-ballot count matches the tally",
        needs_input: false,
    },
    StepInfo {
        step: StepId::Receipts,
        id: "V14",
        title: "voter receipts",
        spec: "protocol-spec/08-board.md §8.5, 07-petitions.md §7.10",
        checks: "each --receipt: board signature, tree-head signature, tracking code, \
                 inclusion proof; its tree head's root equals the record's root of that size; \
                 the record's leaf at that index has that leaf hash and is the BallotCast of \
                 that ballot; the ballot is counted or superseded by a later ballot of the \
                 same credential. A petition signature's receipt: tree-head signature, \
                 inclusion proof, root, the leaf is that signature, and its standing \
                 (counted, withdrawn, invalidated) from the later entries",
        needs_input: true,
    },
    StepInfo {
        step: StepId::Obligations,
        id: "V15",
        title: "obligations",
        spec: "protocol-spec/10-verifier.md §10.6",
        checks: "every obligation the record creates, with its deadline and its fate (met on \
                 time, met late, broken, still running at the time of the record's last tree \
                 head): the official response of a petition that reached its response \
                 threshold, the referendum a petition's referendum threshold triggers (the \
                 very next entry), and for every referendum its opening, closing (never \
                 before closes_at), tally, every trustee's decryption share, the naming of \
                 trustees whose share is overdue and the result; a late or broken \
                 obligation fails, and late stays late",
        needs_input: false,
    },
];

impl StepId {
    /// Every step, in order.
    pub const ALL: [StepId; 15] = [
        StepId::Record,
        StepId::Log,
        StepId::TreeHeads,
        StepId::Roles,
        StepId::Electorates,
        StepId::Petitions,
        StepId::Manifests,
        StepId::Ceremony,
        StepId::Lifecycle,
        StepId::Ballots,
        StepId::Tally,
        StepId::Shares,
        StepId::Result,
        StepId::Receipts,
        StepId::Obligations,
    ];

    /// Position in [`STEPS`].
    pub fn position(self) -> usize {
        Self::ALL.iter().position(|s| *s == self).unwrap_or(0)
    }

    /// The table row of this step.
    pub fn info(self) -> &'static StepInfo {
        STEPS
            .iter()
            .find(|s| s.step == self)
            .unwrap_or(&FALLBACK_INFO)
    }

    /// `"V1"` … `"V14"`.
    pub fn code(self) -> &'static str {
        self.info().id
    }

    /// Parse `"V9"` (case-insensitive).
    pub fn from_code(code: &str) -> Option<Self> {
        STEPS
            .iter()
            .find(|s| s.id.eq_ignore_ascii_case(code))
            .map(|s| s.step)
    }
}

// Never used: every StepId has a row (a unit test checks it); this keeps `info` total.
const FALLBACK_INFO: StepInfo = StepInfo {
    step: StepId::Record,
    id: "V?",
    title: "unknown step",
    spec: "",
    checks: "",
    needs_input: false,
};

impl core::fmt::Display for StepId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.code())
    }
}

impl Serialize for StepId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_complete_and_ordered() {
        assert_eq!(STEPS.len(), StepId::ALL.len());
        for (i, (row, step)) in STEPS.iter().zip(StepId::ALL).enumerate() {
            assert_eq!(row.step, step);
            assert_eq!(row.id, format!("V{}", i + 1));
            assert_eq!(step.position(), i);
            assert_eq!(StepId::from_code(row.id), Some(step));
        }
    }
}
