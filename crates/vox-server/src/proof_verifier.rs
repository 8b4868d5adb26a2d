//! Batched verification of ballot proofs and petition credential signatures across
//! requests (03 §3.8: a batch and a single check take the very same equations).
//!
//! A yes/no ballot checked alone is one small multiscalar multiplication of its own
//! (≈ 130 µs idle: the fixed cost of the multiplication dominates). Folded into one batch
//! with other ballots, G and each election key K enter the multiplication once for the
//! whole batch, and a ballot's share falls to its own points (≈ 20 µs; BENCHMARKS.md
//! "Cryptography"). A credential's signature on a petition is one equation of three
//! terms, and batches the same way. So, as with ring signatures (`ring_verifier`), the
//! handlers do not verify: they queue the item here, and a few workers (one per core)
//! take whatever has queued while they were busy and check it as one batch — one item
//! when the server is quiet (the cost and answer of a check alone), up to [`MAX_BATCH`]
//! under load.
//!
//! Each answer is exactly the item's own. An item whose own checks fail (shape, scope,
//! eligibility, a range proof) gets its error, and the batch is checked again without it
//! (its equations may be in the batch already). A batch whose combined equation fails is
//! split in halves, each checked as a batch, down to the one item that fails, which is
//! then checked equation by equation to name the failing field. So a forged item costs
//! the honest ones of its batch about two batched checks each, not a check alone each.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use rand::rngs::OsRng;
use tokio::sync::oneshot;
use vox_crypto::batch::{BatchVerifier, Equations, SingleVerifier};
use vox_crypto::elgamal::ElectionPublicKey;
use vox_crypto::{CryptoError, Hash32};
use vox_protocol::ballot::{Ballot, BallotContext, VoterProof};
use vox_protocol::manifest::Manifest;
use vox_protocol::petition::PetitionSignature;
use vox_protocol::ProtocolError;

use crate::batch_queue::{BatchQueue, QueueShape};
use crate::error::AppError;
use crate::metrics::{BatchSizes, Metrics};
use crate::state::ElectorateInfo;

/// The most items checked as one batch. Past a few dozen yes/no ballots the shared bases
/// are amortised already; a larger batch only makes its items wait longer.
pub const MAX_BATCH: usize = 128;

/// How many items may wait for a worker before a handler waits for room.
const QUEUE: usize = 8192;

/// What is checked.
enum Item {
    /// A ballot whose structure was checked (B1–B4): its proofs and, if pseudonymous,
    /// its credential's signature (an anonymous ballot's ring signature is not among
    /// these equations: `ring_verifier` checks it).
    Ballot {
        ballot: Box<Ballot>,
        manifest: Arc<Manifest>,
        manifest_hash: Hash32,
        election_key: ElectionPublicKey,
    },
    /// A credential-signed petition signature or withdrawal (07 §7.5).
    Signature {
        signature: Box<PetitionSignature>,
        petition_hash: Hash32,
        electorate: Arc<ElectorateInfo>,
    },
}

impl Item {
    /// Hand the item's equations to `eq` and run its other checks. For a ballot, what
    /// is left to check besides (its ring signature or nothing).
    fn check(&self, eq: &mut impl Equations) -> Result<Option<VoterProof>, ProtocolError> {
        match self {
            Item::Ballot {
                ballot,
                manifest,
                manifest_hash,
                election_key,
            } => {
                let ctx = BallotContext {
                    manifest,
                    manifest_hash: *manifest_hash,
                    election_key: *election_key,
                };
                ballot.check_proofs(&ctx, eq, &mut OsRng).map(Some)
            }
            Item::Signature {
                signature,
                petition_hash,
                electorate,
            } => signature
                .check(petition_hash, &electorate.index, eq)
                .map(|()| None),
        }
    }

    /// The error of an item whose batch of one failed: checked equation by equation to
    /// name the failing one.
    fn name_failure(&self) -> ProtocolError {
        match self.check(&mut SingleVerifier) {
            Err(e) => e,
            // Only with a bad draw of the batch weights (probability 2^-128): still a
            // refusal, never a pass.
            Ok(_) => ProtocolError::crypto(
                match self {
                    Item::Ballot { .. } => "answers",
                    Item::Signature { .. } => "signature",
                },
                CryptoError::ProofInvalid {
                    proof: "batch",
                    reason: "batch failed but no single equation fails; retry",
                },
            ),
        }
    }
}

/// An item's verdict: what was checked, handed back, and what a ballot leaves.
type Verdict = Result<Option<VoterProof>, ProtocolError>;

struct Request {
    item: Item,
    reply: oneshot::Sender<(Item, Verdict)>,
}

/// The queue in front of the verification workers; cheap to share (`Arc` inside).
#[derive(Debug, Clone)]
pub struct ProofVerifier {
    queue: BatchQueue<Request>,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = match &self.item {
            Item::Ballot { ballot, .. } => format!("ballot of {}", ballot.referendum_id),
            Item::Signature { signature, .. } => format!("signature of {}", signature.petition_id),
        };
        f.debug_struct("Request")
            .field("item", &what)
            .finish_non_exhaustive()
    }
}

impl ProofVerifier {
    /// Start `workers` verification workers (at least one) on the current runtime. They
    /// stop when the last [`ProofVerifier`] is dropped. Each batch's size goes to
    /// `batch_sizes` and its time to `metrics.verify_nanos`.
    pub fn start(workers: usize, batch_sizes: Arc<BatchSizes>, metrics: Arc<Metrics>) -> Self {
        let shape = QueueShape {
            workers,
            capacity: QUEUE,
            max_batch: MAX_BATCH,
        };
        let check = move |batch: Vec<Request>| check_batch(batch, &metrics);
        Self {
            queue: BatchQueue::start(shape, batch_sizes, "ballot proofs", check),
        }
    }

    /// Check a structurally checked ballot's proofs (04 §4.5 B5–B9) against the
    /// manifest and election key, batched with whatever else is waiting. Returns the
    /// ballot and what is left to check (its ring signature, for an anonymous ballot).
    pub async fn verify_ballot(
        &self,
        ballot: Ballot,
        manifest: Arc<Manifest>,
        manifest_hash: Hash32,
        election_key: ElectionPublicKey,
    ) -> Result<(Ballot, VoterProof), AppError> {
        let item = Item::Ballot {
            ballot: Box::new(ballot),
            manifest,
            manifest_hash,
            election_key,
        };
        match self.check(item).await? {
            (Item::Ballot { ballot, .. }, Ok(Some(left))) => Ok((*ballot, left)),
            (_, Err(e)) => Err(e.into()),
            _ => Err(AppError::internal("the verifier answered another item")),
        }
    }

    /// Check a credential-signed petition signature (scope, eligibility in `electorate`,
    /// the signature: what [`PetitionSignature::verify`] checks), batched with whatever
    /// else is waiting. Returns the signature if it holds.
    pub async fn verify_signature(
        &self,
        signature: PetitionSignature,
        petition_hash: Hash32,
        electorate: Arc<ElectorateInfo>,
    ) -> Result<PetitionSignature, AppError> {
        let item = Item::Signature {
            signature: Box::new(signature),
            petition_hash,
            electorate,
        };
        match self.check(item).await? {
            (Item::Signature { signature, .. }, Ok(None)) => Ok(*signature),
            (_, Err(e)) => Err(e.into()),
            _ => Err(AppError::internal("the verifier answered another item")),
        }
    }

    /// Queue `item` and wait for its verdict.
    async fn check(&self, item: Item) -> Result<(Item, Verdict), AppError> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Request { item, reply })
            .await
            .map_err(|_| AppError::internal("the proof verifier has stopped"))?;
        answer
            .await
            .map_err(|_| AppError::internal("the proof verifier has stopped"))
    }
}

/// Check a batch, add its time to `metrics.verify_nanos` and answer each request.
fn check_batch(batch: Vec<Request>, metrics: &Metrics) {
    let t0 = Instant::now();
    let (items, replies): (Vec<Item>, Vec<_>) =
        batch.into_iter().map(|r| (r.item, r.reply)).unzip();
    let verdicts = verify_items(&items);
    let nanos = u64::try_from(t0.elapsed().as_nanos()).unwrap_or(u64::MAX);
    metrics.verify_nanos.fetch_add(nanos, Ordering::Relaxed);
    for ((item, reply), verdict) in items.into_iter().zip(replies).zip(verdicts) {
        // A caller that went away (client disconnected) no longer needs it.
        let _ = reply.send((item, verdict));
    }
}

/// Each item's own verdict, as if it had been checked alone.
fn verify_items(items: &[Item]) -> Vec<Verdict> {
    let mut out: Vec<Option<Verdict>> = items.iter().map(|_| None).collect();
    let all: Vec<usize> = (0..items.len()).collect();
    settle(items, &all, &mut out);
    out.into_iter()
        .map(|v| {
            v.unwrap_or_else(|| {
                Err(ProtocolError::invalid(
                    "proofs",
                    "internal: the batch left this item unchecked",
                ))
            })
        })
        .collect()
}

/// Decide every item of `idx` (see the module docs): one batch; items failing their own
/// checks are decided at once and the rest checked again without them; a failing batch
/// is split in halves down to the failing item.
fn settle(items: &[Item], idx: &[usize], out: &mut [Option<Verdict>]) {
    let mut batch = BatchVerifier::new(OsRng);
    let mut passed = Vec::with_capacity(idx.len());
    let mut polluted = false;
    for &i in idx {
        let Some(item) = items.get(i) else { continue };
        match item.check(&mut batch) {
            Ok(left) => passed.push((i, left)),
            Err(e) => {
                if let Some(slot) = out.get_mut(i) {
                    *slot = Some(Err(e));
                }
                polluted = true;
            }
        }
    }
    if passed.is_empty() {
        return;
    }
    let rest: Vec<usize> = passed.iter().map(|(i, _)| *i).collect();
    if polluted {
        // The refused items may have left some equations in the batch: again without
        // them (a strictly smaller set).
        return settle(items, &rest, out);
    }
    if batch.finish().is_ok() {
        for (i, left) in passed {
            if let Some(slot) = out.get_mut(i) {
                *slot = Some(Ok(left));
            }
        }
        return;
    }
    match rest.as_slice() {
        [i] => {
            if let (Some(slot), Some(item)) = (out.get_mut(*i), items.get(*i)) {
                *slot = Some(Err(item.name_failure()));
            }
        }
        _ => {
            let (a, b) = rest.split_at(rest.len() / 2);
            settle(items, a, out);
            settle(items, b, out);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

    use vox_crypto::credential::Credential;
    use vox_crypto::Scalar;
    use vox_protocol::electorate::{Electorate, ElectorateEntry};
    use vox_protocol::encoding::Hashable;
    use vox_protocol::manifest::{Question, QuestionKind, TrusteeInfo, MANIFEST_VERSION};
    use vox_protocol::petition::{Petition, SignatureAction};

    use super::*;

    struct Fixture {
        creds: Vec<Credential>,
        manifest: Arc<Manifest>,
        manifest_hash: Hash32,
        key: ElectionPublicKey,
        electorate: Arc<ElectorateInfo>,
        petition: Petition,
    }

    fn fixture() -> Fixture {
        let mut r = OsRng;
        let creds: Vec<Credential> = (0..8).map(|_| Credential::generate(&mut r)).collect();
        let electorate = Electorate {
            id: "town".into(),
            name: "Town".into(),
            entries: creds
                .iter()
                .map(|c| ElectorateEntry {
                    credential: c.public_key(),
                    region: None,
                })
                .collect(),
        };
        let hash = electorate.canonical_hash();
        let key = ElectionPublicKey::new(Scalar::random(&mut r).mul_base()).unwrap();
        let manifest = Manifest {
            version: MANIFEST_VERSION,
            referendum_id: "trees".into(),
            title: "Trees".into(),
            description: String::new(),
            questions: vec![
                Question {
                    id: "q1".into(),
                    text: "Plant trees?".into(),
                    options: vec!["yes".into(), "no".into()],
                    kind: QuestionKind::YesNo,
                },
                Question {
                    id: "q2".into(),
                    text: "Where?".into(),
                    options: vec!["north".into(), "south".into(), "east".into()],
                    kind: QuestionKind::ChooseOne {
                        blank_allowed: false,
                    },
                },
            ],
            opens_at: 0,
            closes_at: 10,
            electorate_hash: hash,
            trustees: Vec::<TrusteeInfo>::new(),
            threshold: 1,
            answer_due_ms: vox_protocol::manifest::DAY_MS,
            decryption_due_ms: vox_protocol::manifest::DAY_MS,
            source_petition: None,
            participation: Default::default(),
        };
        let petition = Petition {
            id: "p1".into(),
            action: "Plant trees".into(),
            background: "Shade".into(),
            details: String::new(),
            electorate_hash: hash,
            sponsor_threshold: 1,
            response_threshold: 2,
            referendum_threshold: 3,
            open_for_ms: 1_000,
            response_due_ms: 1_000,
            region_min_group: 1,
            signatures: Default::default(),
        };
        Fixture {
            manifest_hash: manifest.canonical_hash(),
            manifest: Arc::new(manifest),
            key,
            electorate: Arc::new(ElectorateInfo {
                index: electorate.index(),
                electorate: Arc::new(electorate),
                hash,
                leaf_index: 0,
            }),
            petition,
            creds,
        }
    }

    impl Fixture {
        fn ballot(&self, voter: usize, yes: bool) -> Item {
            let ctx = BallotContext {
                manifest: &self.manifest,
                manifest_hash: self.manifest_hash,
                election_key: self.key,
            };
            let choices = vec![vec![u64::from(yes), u64::from(!yes)], vec![0, 1, 0]];
            let (ballot, _) = vox_protocol::ballot::encrypt_ballot(
                &ctx,
                &self.creds[voter],
                &choices,
                None,
                &mut OsRng,
            )
            .unwrap();
            Item::Ballot {
                ballot: Box::new(ballot),
                manifest: Arc::clone(&self.manifest),
                manifest_hash: self.manifest_hash,
                election_key: self.key,
            }
        }

        fn signature(&self, voter: usize) -> Item {
            Item::Signature {
                signature: Box::new(PetitionSignature::create(
                    &self.petition,
                    &self.creds[voter],
                    SignatureAction::Sign,
                    &mut OsRng,
                )),
                petition_hash: self.petition.canonical_hash(),
                electorate: Arc::clone(&self.electorate),
            }
        }

        /// Honest ballots and signatures, interleaved.
        fn honest(&self, n: usize) -> Vec<Item> {
            (0..n)
                .map(|i| {
                    if i % 3 == 2 {
                        self.signature(i % self.creds.len())
                    } else {
                        self.ballot(i % self.creds.len(), i % 2 == 0)
                    }
                })
                .collect()
        }
    }

    fn ballot_mut(item: &mut Item) -> &mut Ballot {
        match item {
            Item::Ballot { ballot, .. } => ballot,
            Item::Signature { .. } => panic!("not a ballot"),
        }
    }

    /// What checking the item alone, equation by equation, says.
    fn alone(item: &Item) -> String {
        match item.check(&mut SingleVerifier) {
            Ok(_) => "ok".into(),
            Err(e) => e.to_string(),
        }
    }

    fn said(v: &Verdict) -> String {
        match v {
            Ok(_) => "ok".into(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn an_honest_batch_passes_with_what_each_item_leaves() {
        let f = fixture();
        let items = f.honest(13);
        let verdicts = verify_items(&items);
        for (item, v) in items.iter().zip(&verdicts) {
            match item {
                Item::Ballot { .. } => assert_eq!(v.as_ref().unwrap(), &Some(VoterProof::Checked)),
                Item::Signature { .. } => assert_eq!(v.as_ref().unwrap(), &None),
            }
        }
        // A batch of one is the quiet server's case.
        let one = vec![f.ballot(0, true)];
        assert_eq!(
            verify_items(&one)[0].as_ref().unwrap(),
            &Some(VoterProof::Checked)
        );
    }

    #[test]
    fn each_forged_item_gets_its_own_error_and_the_others_pass() {
        let f = fixture();
        let mut items = f.honest(24);
        let donor = f.ballot(1, false);
        let Item::Ballot { ballot: donor, .. } = donor else {
            unreachable!()
        };
        // A 0/1 proof lifted from another ballot: an equation fails (batch-level).
        ballot_mut(&mut items[0]).answers[0].selection_proofs[0] =
            donor.answers[0].selection_proofs[0];
        // A ciphertext replaced: its proofs no longer hold (batch-level).
        ballot_mut(&mut items[10]).answers[1].ciphertexts[2] = donor.answers[1].ciphertexts[2];
        // A missing proof: the item's own shape check fails (and may have left equations).
        ballot_mut(&mut items[4]).answers[1].selection_proofs.pop();
        // A signature claimed by another eligible credential: its equation fails.
        if let Item::Signature { signature, .. } = &mut items[5] {
            signature.credential = f.creds[7].public_key();
        }
        // A credential outside the electorate: refused before any equation.
        if let Item::Signature { signature, .. } = &mut items[23] {
            signature.credential = Credential::generate(&mut OsRng).public_key();
        }
        let bad = [0, 4, 5, 10, 23];
        let verdicts = verify_items(&items);
        assert_eq!(verdicts.len(), items.len());
        for (i, (item, v)) in items.iter().zip(&verdicts).enumerate() {
            let expected = alone(item);
            assert_eq!(said(v), expected, "item {i}");
            assert_eq!(bad.contains(&i), v.is_err(), "item {i}: {}", said(v));
        }
        assert!(
            said(&verdicts[0]).contains("answers/0/selection_proofs/0"),
            "{}",
            said(&verdicts[0])
        );
        assert!(
            said(&verdicts[10]).contains("answers/1"),
            "{}",
            said(&verdicts[10])
        );
        assert!(
            said(&verdicts[5]).contains("signature"),
            "{}",
            said(&verdicts[5])
        );
    }

    #[test]
    fn a_batch_of_forgeries_fails_every_item() {
        let f = fixture();
        let mut items: Vec<Item> = (0..6).map(|i| f.ballot(i, true)).collect();
        for item in &mut items {
            let b = ballot_mut(item);
            b.answers[0].selection_proofs[0] = b.answers[1].selection_proofs[0];
        }
        for (item, v) in items.iter().zip(verify_items(&items)) {
            assert!(v.is_err());
            assert_eq!(said(&v), alone(item));
        }
        // Alone, too.
        let v = verify_items(&items[..1]);
        assert!(
            said(&v[0]).contains("answers/0/selection_proofs/0"),
            "{}",
            said(&v[0])
        );
    }

    #[tokio::test]
    async fn the_queue_answers_each_caller_with_its_own_verdict() {
        let f = fixture();
        let verifier = ProofVerifier::start(
            2,
            Arc::new(BatchSizes::default()),
            Arc::new(Metrics::default()),
        );
        let mut calls = Vec::new();
        for i in 0..12 {
            let Item::Ballot { mut ballot, .. } = f.ballot(i % 8, i % 2 == 0) else {
                unreachable!()
            };
            if i == 7 {
                ballot.answers[0].selection_proofs[0] = ballot.answers[1].selection_proofs[1];
            }
            let v = verifier.clone();
            let (m, h, k) = (Arc::clone(&f.manifest), f.manifest_hash, f.key);
            calls.push(tokio::spawn(async move {
                v.verify_ballot(*ballot, m, h, k).await
            }));
        }
        let Item::Signature { signature, .. } = f.signature(3) else {
            unreachable!()
        };
        let sig = verifier
            .verify_signature(
                *signature.clone(),
                f.petition.canonical_hash(),
                Arc::clone(&f.electorate),
            )
            .await
            .unwrap();
        assert_eq!(sig, *signature);
        for (i, c) in calls.into_iter().enumerate() {
            let r = c.await.unwrap();
            if i == 7 {
                let e = r.unwrap_err();
                assert_eq!(e.status, axum::http::StatusCode::UNPROCESSABLE_ENTITY);
            } else {
                assert_eq!(r.unwrap().1, VoterProof::Checked);
            }
        }
    }
}
