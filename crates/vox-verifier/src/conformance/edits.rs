//! Edits of an honest record, as a dishonest party would make them: the building blocks
//! of the tampered cases (and of the tamper tests, which assert more about each).
//!
//! Generator code over a fixed, seeded scenario, never run on input: indexing a leaf the
//! scenario is known to have, and panicking if it does not, is a bug in the generator
//! that the corpus test shows at once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use vox_crypto::Point;
use vox_protocol::ballot::Ballot;
use vox_protocol::board::{BoardEntry, Payload};

use crate::synth::{Honest, SynthRecord};

/// A copy of `base`'s record with `f` applied.
pub fn edit(base: &Honest, f: impl FnOnce(&mut SynthRecord)) -> SynthRecord {
    let mut rec = base.record.clone();
    f(&mut rec);
    rec
}

/// [`edit`], then every tree head re-signed by the operator's key over the edited log,
/// as a malicious operator would publish it.
pub fn edit_resigned(base: &Honest, f: impl FnOnce(&mut SynthRecord)) -> SynthRecord {
    let mut rec = edit(base, f);
    rec.resign(&base.board_key, &base.witness_keys);
    rec
}

/// The leaves holding a cast ballot.
pub fn ballots(rec: &SynthRecord) -> Vec<usize> {
    rec.find_all(|p| matches!(p, Payload::BallotCast { .. }))
}

/// The ballot cast at leaf `i` (panics if leaf `i` is not one).
pub fn ballot_mut(rec: &mut SynthRecord, i: usize) -> &mut Ballot {
    match &mut rec.entries[i].payload {
        Payload::BallotCast { ballot } => ballot,
        _ => panic!("leaf {i} is not a ballot"),
    }
}

/// Insert `payload` before leaf `at`, with the timestamp of the entry before it.
pub fn insert(rec: &mut SynthRecord, at: usize, payload: Payload) {
    let ts = rec.entries[at - 1].timestamp_ms;
    rec.entries.insert(
        at,
        BoardEntry {
            timestamp_ms: ts,
            payload,
        },
    );
}

/// A dishonest server that moves entries also restamps them to keep time monotonic.
pub fn restamp(rec: &mut SynthRecord) {
    let mut last = i64::MIN;
    for e in &mut rec.entries {
        e.timestamp_ms = e.timestamp_ms.max(last);
        last = e.timestamp_ms;
    }
}

/// The leaf that closes the referendum.
pub fn closed_at(rec: &SynthRecord) -> usize {
    rec.find(|p| matches!(p, Payload::ReferendumClosed { .. }))
        .expect("the honest record closes its referendum")
}

/// The leaf of the first entry of kind `kind` (its JSON `type`).
pub fn find_kind(rec: &SynthRecord, kind: &str) -> usize {
    rec.find(|p| p.kind() == kind)
        .unwrap_or_else(|| panic!("no {kind} entry"))
}

/// The group generator G.
pub fn g() -> Point {
    Point::generator()
}
