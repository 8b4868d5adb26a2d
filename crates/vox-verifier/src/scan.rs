//! Pass 1: which ballot of each credential is counted (protocol-spec/05-tally.md §5.1).
//!
//! The counted ballot of a credential (for an anonymous ballot: of a linking tag, the
//! first 32 bytes of its `ring_signature`, 04 §4.10) is its last BallotCast in log order. Pass 1 reads
//! only the entry type, the referendum and the credential of each ballot (no point is
//! decompressed, no proof is read) and keeps, per referendum and credential, the index
//! of the last ballot: per-credential bookkeeping, independent of the number of ballots.
//! Pass 2 then knows, when it meets a ballot, whether to add it to the tally.

use std::borrow::Cow;
use std::collections::HashMap;

use serde::Deserialize;

use crate::parallel;

#[derive(Deserialize)]
struct LightEntry<'a> {
    #[serde(borrow)]
    payload: LightPayload<'a>,
}

#[derive(Deserialize)]
struct LightPayload<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default, borrow)]
    ballot: Option<LightBallot<'a>>,
}

#[derive(Deserialize)]
struct LightBallot<'a> {
    #[serde(borrow)]
    referendum_id: Cow<'a, str>,
    #[serde(default, borrow)]
    credential: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    ring_signature: Option<Cow<'a, str>>,
}

/// A ballot seen by pass 1: referendum and credential bytes.
type Seen = Option<(String, [u8; 32])>;

fn light(line: &str) -> Seen {
    let e: LightEntry<'_> = serde_json::from_str(line).ok()?;
    if e.payload.kind != "ballot-cast" {
        return None;
    }
    let b = e.payload.ballot?;
    // The voter key: the credential, or the linking tag that starts the ring signature.
    let hex_key = match (&b.credential, &b.ring_signature) {
        (Some(c), _) => c.as_bytes(),
        (None, Some(r)) => r.as_bytes().get(..64)?,
        (None, None) => return None,
    };
    let mut key = [0u8; 32];
    hex::decode_to_slice(hex_key, &mut key).ok()?;
    Some((b.referendum_id.into_owned(), key))
}

/// For every referendum and credential, the leaf index of its last cast ballot.
#[derive(Clone, Debug, Default)]
pub struct CountedIndex {
    last: HashMap<String, HashMap<[u8; 32], u64>>,
    entries: u64,
}

impl CountedIndex {
    /// Empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// Read the next block of entry lines (in log order, blank lines already removed).
    pub fn observe_block(&mut self, lines: Vec<String>) {
        let first = self.entries;
        self.entries = self.entries.saturating_add(lines.len() as u64);
        let seen = parallel::map(lines, |l| light(&l));
        for (offset, s) in seen.into_iter().enumerate() {
            if let Some((referendum, credential)) = s {
                self.last
                    .entry(referendum)
                    .or_default()
                    .insert(credential, first.saturating_add(offset as u64));
            }
        }
    }

    /// Index of the last ballot of `credential` in `referendum`.
    pub fn last(&self, referendum: &str, credential: &[u8; 32]) -> Option<u64> {
        self.last.get(referendum)?.get(credential).copied()
    }

    /// Credentials with at least one ballot in `referendum` (= counted ballots).
    pub fn voters(&self, referendum: &str) -> u64 {
        self.last.get(referendum).map_or(0, |m| m.len() as u64)
    }

    /// Every referendum with ballots, and its number of voting credentials.
    pub fn referendums(&self) -> impl Iterator<Item = (&str, u64)> {
        self.last.iter().map(|(r, m)| (r.as_str(), m.len() as u64))
    }

    /// Entries read.
    pub fn entries(&self) -> u64 {
        self.entries
    }
}
