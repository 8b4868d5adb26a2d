//! Cases of the ceremony's complaint deadline and disqualification (V8, 06 §6.6,
//! §6.11): edits of the failed-ceremony record, where dealer 1's bad answer is followed
//! by its `trustee-disqualified` (tag 28) entry. The record's operator key is not kept,
//! so these edits are not re-signed: the tree-head steps fail too, and the cases only
//! require V8 to fail at the named leaf.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use vox_protocol::board::{DisqualificationReason, Payload};

use super::Bases;
use crate::conformance::edits::find_kind;
use crate::conformance::generate::Case;
use crate::report::Location;
use crate::synth::SynthRecord;
use crate::StepId;

fn trustee_1_at(leaf: usize) -> Location {
    Location::Trustee {
        referendum: "r1".into(),
        trustee: 1,
        leaf: Some(leaf as u64),
    }
}

fn edited(base: &SynthRecord, f: impl FnOnce(&mut SynthRecord)) -> SynthRecord {
    let mut rec = base.clone();
    f(&mut rec);
    rec
}

/// The cases of this group.
pub fn cases(b: &Bases) -> Vec<Case> {
    let base = &b.failed_ceremony;
    let disq = find_kind(base, "trustee-disqualified");
    let answer = disq - 1;
    vec![
        Case::fail(
            "v8-bad-answer-without-disqualification",
            "The trustee-disqualified entry after dealer 1's bad answer is removed. A bad \
             answer does not end the ceremony by itself: the very next entry must disqualify \
             the dealer (reason bad-answer), as the server appends both in one write \
             (06 §6.6, §6.11); the log ends without it.",
            edited(base, |r| {
                r.entries.remove(disq);
            }),
            StepId::Ceremony,
        )
        .rule("V8.4")
        .at(trustee_1_at(answer)),
        Case::fail(
            "v8-disqualification-wrong-reason",
            "The disqualification after dealer 1's bad answer gives the reason `unanswered`. \
             The dealer did answer, in time: only `bad-answer` may follow a bad answer \
             (08 table 8.1, tag 28).",
            edited(base, |r| {
                if let Payload::TrusteeDisqualified { reason, .. } = &mut r.entries[disq].payload {
                    *reason = DisqualificationReason::Unanswered;
                }
            }),
            StepId::Ceremony,
        )
        .rule("V8.4")
        .at(trustee_1_at(disq)),
        Case::fail(
            "v8-disqualification-before-the-deadline",
            "Dealer 1's answer is removed and its disqualification says `unanswered`, at the \
             complaint's own time. A dealer has answer_due_ms from the complaint's board \
             timestamp to answer; a disqualification for an unanswered complaint is valid \
             only strictly after that deadline (06 §6.11).",
            edited(base, |r| {
                r.entries.remove(answer);
                if let Payload::TrusteeDisqualified { reason, .. } = &mut r.entries[answer].payload
                {
                    *reason = DisqualificationReason::Unanswered;
                }
            }),
            StepId::Ceremony,
        )
        .rule("V8.4")
        .at(trustee_1_at(answer)),
        Case::fail(
            "v15-ceremony-complaint-never-answered",
            "Dealer 1 sends trustee 2 a bad share and never answers the complaint; a day \
             (answer_due_ms) later the board disqualifies it (tag 28, unanswered) and the \
             ceremony completes over QUAL = {2, 3}: the election key and the public shares \
             leave dealer 1's polynomial out, trustees 2 and 3 decrypt, and trustee 1 owes no \
             share. Everything checks (V8 the disqualification, V12 the decryption over QUAL) \
             but the obligations: dealer 1's answer was due and never came (V15.7).",
            b.qualified_ceremony.clone(),
            StepId::Obligations,
        )
        .rule("V15.7")
        .at(r1()),
        Case::fail(
            "v15-unanswered-complaint-disqualified-late",
            "As above, but the board disqualifies the silent dealer two grace periods after \
             the answer deadline: the board, not only the dealer, is late (V15.7: the \
             disqualification is due by the deadline + G).",
            b.late_disqualification.clone(),
            StepId::Obligations,
        )
        .rule("V15.7")
        .at(r1()),
    ]
}

fn r1() -> Location {
    Location::Referendum {
        referendum: "r1".into(),
        leaf: None,
    }
}
