//! Trustee messages: the key ceremony ([`ceremony_messages`]) and decryption shares
//! ([`decryption_share_json`]), against a fixed 2-of-3 ceremony run honestly once.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use vox_crypto::batch::{BatchVerifier, SingleVerifier};
use vox_crypto::elgamal::Ciphertext;
use vox_crypto::threshold::{
    receive_share, CeremonyParams, Complaint, Dealer, DecryptionShare, JointPublicKeys, KeyShare,
    ShareVerdict, TrusteeIndex, TrusteeKeys,
};
use vox_crypto::{Hash32, Scalar};
use vox_protocol::ceremony::{
    completed_payload, CeremonyBody, CeremonyMessage, CeremonyTracker, DecryptionShareMessage,
};
use vox_protocol::encoding::{Canonical, Hashable};
use vox_protocol::manifest::{Manifest, TrusteeInfo};

use crate::{fixture, parse_roundtrip, Fixture};

/// Trustees in the ceremony fixture.
pub const TRUSTEES: u32 = 3;
/// Its threshold.
pub const THRESHOLD: u32 = 2;
/// The plaintext of every slot of [`CeremonyFixture::tally`] is `i % 4` for slot `i`.
pub const TALLY_MOD: u64 = 4;

/// A 2-of-3 key ceremony run honestly on a copy of the fixture manifest (referendum
/// `r2`), with every signed message kept, and decryption shares of a fixed tally.
pub struct CeremonyFixture {
    /// The manifest (fixture questions and electorate; three trustees, k = 2).
    pub manifest: Manifest,
    /// Its hash.
    pub manifest_hash: Hash32,
    /// The trustees' communication (signing) keys.
    pub trustee_keys: Vec<TrusteeKeys>,
    /// The honest ceremony in board order: three commits, three reveals, three share
    /// messages, trustee 1's confirmation, trustee 2's complaint about dealer 1, dealer
    /// 1's answer, trustee 2's and trustee 3's confirmations.
    pub messages: Vec<CeremonyMessage>,
    /// The joint keys it ends with.
    pub joint: JointPublicKeys,
    /// Every trustee's key share.
    pub key_shares: Vec<KeyShare>,
    /// An encrypted tally (slot `i` encrypts `i % TALLY_MOD`).
    pub tally: Vec<Ciphertext>,
    /// Every trustee's signed decryption share of [`CeremonyFixture::tally`].
    pub shares: Vec<DecryptionShareMessage>,
    honest_messages: BTreeSet<Vec<u8>>,
    honest_shares: BTreeSet<Vec<u8>>,
}

fn build() -> CeremonyFixture {
    let f = fixture();
    let mut rng = Fixture::rng(0xce);
    let trustee_keys: Vec<TrusteeKeys> = (0..TRUSTEES)
        .map(|_| TrusteeKeys::generate(&mut rng))
        .collect();
    let mut manifest = f.manifest.clone();
    manifest.referendum_id = "r2".into();
    manifest.trustees = TrusteeInfo::numbered(&trustee_keys);
    manifest.threshold = THRESHOLD;
    let mh = manifest.canonical_hash();
    let idx = |i: u32| match TrusteeIndex::new(i) {
        Ok(i) => i,
        Err(e) => panic!("ceremony fixture: trustee {i}: {e}"),
    };
    let key = |i: u32| match trustee_keys.get(i as usize - 1) {
        Some(k) => k,
        None => panic!("ceremony fixture: no trustee {i}"),
    };
    let params = match CeremonyParams::new(TRUSTEES, THRESHOLD) {
        Ok(p) => p,
        Err(e) => panic!("ceremony fixture: params: {e}"),
    };
    let mut tracker = match CeremonyTracker::new(&manifest, mh) {
        Ok(t) => t,
        Err(e) => panic!("ceremony fixture: tracker: {e}"),
    };
    let mut messages = Vec::new();
    let mut joint = None;
    let mut send = |tracker: &mut CeremonyTracker, i: u32, body: CeremonyBody, rng: &mut _| {
        let msg = CeremonyMessage::sign(&manifest, &mh, i, key(i), body, rng);
        if let Err(e) = msg.verify_signature(&manifest, &mh) {
            panic!("ceremony fixture: own signature: {e}");
        }
        match tracker.apply(&manifest, &msg, 0) {
            Ok(j) => joint = j.or(joint.take()),
            Err(e) => panic!("ceremony fixture: message of trustee {i} refused: {e}"),
        }
        messages.push(msg);
    };
    let dealers: Vec<Dealer> = (1..=TRUSTEES)
        .map(|i| match Dealer::new(&params, idx(i), &mh, &mut rng) {
            Ok(d) => d,
            Err(e) => panic!("ceremony fixture: dealer {i}: {e}"),
        })
        .collect();
    for (d, i) in dealers.iter().zip(1..) {
        let body = CeremonyBody::Commit {
            key: key(i).announce(idx(i), &mh, &mut rng),
            commitment: d.commitment(),
        };
        send(&mut tracker, i, body, &mut rng);
    }
    let posted = tracker.commitments();
    let revealed: Vec<_> = dealers
        .into_iter()
        .map(|d| match d.reveal(&posted) {
            Ok(r) => r,
            Err(e) => panic!("ceremony fixture: reveal: {e}"),
        })
        .collect();
    for (r, i) in revealed.iter().zip(1..) {
        let body = CeremonyBody::Reveal {
            coefficients: r.commitments().clone(),
        };
        send(&mut tracker, i, body, &mut rng);
    }
    let announced = tracker.trustee_keys();
    for (r, i) in revealed.iter().zip(1..) {
        let shares = match r.encrypt_shares(&announced, &mut rng) {
            Ok(s) => s,
            Err(e) => panic!("ceremony fixture: shares: {e}"),
        };
        send(&mut tracker, i, CeremonyBody::Shares { shares }, &mut rng);
    }
    let reveals = tracker.reveals();
    let mut key_shares = Vec::new();
    for (r, l) in revealed.iter().zip(1..) {
        let mut got = vec![(idx(l), r.own_share())];
        for es in tracker.shares_for(l) {
            let Some(dealer) = reveals.iter().find(|c| c.dealer == es.dealer) else {
                panic!("ceremony fixture: dealer without reveal");
            };
            match receive_share(&mh, idx(l), key(l), dealer, &es) {
                Ok(ShareVerdict::Accepted(s)) => got.push((es.dealer, s)),
                other => panic!("ceremony fixture: honest share refused: {other:?}"),
            }
        }
        match KeyShare::combine(&params, idx(l), &got) {
            Ok(k) => key_shares.push(k),
            Err(e) => panic!("ceremony fixture: key share {l}: {e}"),
        }
    }
    // Confirmations, with a (groundless) complaint of trustee 2 about dealer 1 answered
    // in between, so that every message kind appears.
    send(&mut tracker, 1, CeremonyBody::Confirm, &mut rng);
    let complaint = Complaint {
        dealer: idx(1),
        recipient: idx(2),
    };
    send(
        &mut tracker,
        2,
        CeremonyBody::Complaint { complaint },
        &mut rng,
    );
    let answer = match revealed.first().map(|r| r.answer_complaint(&complaint)) {
        Some(Ok(a)) => a,
        other => panic!("ceremony fixture: answer: {other:?}"),
    };
    send(&mut tracker, 1, CeremonyBody::Answer { answer }, &mut rng);
    send(&mut tracker, 2, CeremonyBody::Confirm, &mut rng);
    send(&mut tracker, 3, CeremonyBody::Confirm, &mut rng);
    let Some(joint) = joint else {
        panic!("ceremony fixture: the ceremony did not complete");
    };

    let election_key = *joint.election_key();
    let tally: Vec<Ciphertext> = (0..manifest.tally_width() as u64)
        .map(|i| {
            Ciphertext::encrypt_with(&election_key, i % TALLY_MOD, &Scalar::from_u64(1000 + i))
        })
        .collect();
    let shares: Vec<DecryptionShareMessage> = key_shares
        .iter()
        .map(|k| {
            let share = DecryptionShare::create(k, &mh, &tally, &mut rng);
            DecryptionShareMessage::sign(&manifest, &mh, key(k.trustee().get()), share, &mut rng)
        })
        .collect();
    let honest_messages = messages.iter().map(Canonical::canonical_bytes).collect();
    let honest_shares = shares.iter().map(Canonical::canonical_bytes).collect();
    CeremonyFixture {
        manifest,
        manifest_hash: mh,
        trustee_keys,
        messages,
        joint,
        key_shares,
        tally,
        shares,
        honest_messages,
        honest_shares,
    }
}

/// The ceremony fixture, built on first use.
pub fn ceremony_fixture() -> &'static CeremonyFixture {
    static FIXTURE: OnceLock<CeremonyFixture> = OnceLock::new();
    FIXTURE.get_or_init(build)
}

impl CeremonyFixture {
    /// Whether `msg` is, byte for byte in its canonical encoding, a message of the honest
    /// ceremony.
    pub fn is_honest_message(&self, msg: &CeremonyMessage) -> bool {
        self.honest_messages.contains(&msg.canonical_bytes())
    }

    /// Where `msg` is in the honest ceremony (canonically identical), if it is.
    pub fn position(&self, msg: &CeremonyMessage) -> Option<usize> {
        let bytes = msg.canonical_bytes();
        self.messages
            .iter()
            .position(|m| m.canonical_bytes() == bytes)
    }

    /// Whether `msg` is one of the honest decryption shares.
    pub fn is_honest_share(&self, msg: &DecryptionShareMessage) -> bool {
        self.honest_shares.contains(&msg.canonical_bytes())
    }

    /// A fresh tracker for the fixture manifest.
    pub fn tracker(&self) -> CeremonyTracker {
        match CeremonyTracker::new(&self.manifest, self.manifest_hash) {
            Ok(t) => t,
            Err(e) => panic!("ceremony fixture: tracker: {e}"),
        }
    }

    /// The tracker after the first `n` honest messages.
    pub fn tracker_after(&self, n: usize) -> CeremonyTracker {
        let mut t = self.tracker();
        for m in self.messages.iter().take(n) {
            if let Err(e) = t.apply(&self.manifest, m, 0) {
                panic!("ceremony fixture: replay: {e}");
            }
        }
        t
    }
}

/// Apply `msg` to `tracker`; a refused message must leave the tracker exactly as it was
/// (the server applies to a copy, but the verifier replays in place).
pub(crate) fn apply_checked(
    tracker: &mut CeremonyTracker,
    manifest: &Manifest,
    msg: &CeremonyMessage,
) -> Result<Option<JointPublicKeys>, vox_protocol::ProtocolError> {
    let before = format!("{tracker:?}");
    // Every fuzzed message is at board time 0: answers are always in time.
    let r = tracker.apply(manifest, msg, 0);
    if r.is_err() {
        assert_eq!(
            format!("{tracker:?}"),
            before,
            "a refused ceremony message changed the tracker"
        );
    }
    r
}

/// The checks every accepted ceremony message must pass: a message whose signature
/// verifies is one the trustees really sent (canonically identical to an honest one).
pub(crate) fn check_ceremony_message(msg: &CeremonyMessage) -> bool {
    let cf = ceremony_fixture();
    let _ = msg.canonical_bytes();
    let ok = msg
        .verify_signature(&cf.manifest, &cf.manifest_hash)
        .is_ok();
    assert!(
        !ok || cf.is_honest_message(msg),
        "forged ceremony message accepted: {msg:?}"
    );
    ok
}

/// Newline-separated JSON ceremony messages, fed in order to two trackers of the fixture
/// ceremony as the board would: one gets only messages whose signature verifies (as the
/// server and the verifier do), the other every message (the state machine's own rules).
///
/// Properties: no panic; a signed message is one of the honest ceremony's (no forgery);
/// a refused message leaves a tracker unchanged; if the signed tracker completes, its
/// joint keys are the honest ceremony's.
pub fn ceremony_messages(data: &[u8]) {
    let cf = ceremony_fixture();
    let mut signed = cf.tracker();
    let mut unchecked = cf.tracker();
    let mut completed = None;
    for line in data.split(|b| *b == b'\n').take(64) {
        let Some(msg) = parse_roundtrip::<CeremonyMessage>(line) else {
            continue;
        };
        let sig_ok = check_ceremony_message(&msg);
        let _ = apply_checked(&mut unchecked, &cf.manifest, &msg);
        if sig_ok {
            if let Ok(Some(joint)) = apply_checked(&mut signed, &cf.manifest, &msg) {
                completed = Some(joint);
            }
        }
    }
    if let Some(joint) = completed {
        assert!(
            joint == cf.joint,
            "signed messages completed a ceremony with other keys"
        );
        assert!(completed_payload(&joint).is_ok());
    }
}

/// The checks of an accepted decryption share: signed by its trustee, so one of the
/// honest shares; and (whatever the signature) every accepted partial decryption is
/// x_l·A_p for the trustee's real key share (the DLEQ proofs are sound).
pub(crate) fn check_decryption_share(msg: &DecryptionShareMessage) -> bool {
    let cf = ceremony_fixture();
    let _ = msg.canonical_bytes();
    let single = msg.check(
        &cf.manifest,
        &cf.manifest_hash,
        &cf.joint,
        &cf.tally,
        &mut SingleVerifier,
    );
    let mut batch = BatchVerifier::new(Fixture::rng(6));
    let batched = msg
        .check(
            &cf.manifest,
            &cf.manifest_hash,
            &cf.joint,
            &cf.tally,
            &mut batch,
        )
        .is_ok_and(|()| batch.finish().is_ok());
    assert_eq!(
        single.is_ok(),
        batched,
        "single and batch verification disagree: single {single:?}"
    );
    // The proofs alone (without the signature) must not accept a wrong decryption.
    let trustee = msg.share.trustee;
    if let Ok(x) = cf.joint.public_share(trustee) {
        let mut eq = SingleVerifier;
        if msg
            .share
            .check(&cf.manifest_hash, x, &cf.tally, &mut eq)
            .is_ok()
        {
            let Some(k) = cf.key_shares.iter().find(|k| k.trustee() == trustee) else {
                panic!("no key share for trustee {trustee}");
            };
            for (d, ct) in msg.share.shares.iter().zip(&cf.tally) {
                assert!(
                    *d == k.secret().expose().mul_point(&ct.a),
                    "a wrong partial decryption of trustee {trustee} passed its DLEQ proof"
                );
            }
        }
    }
    let ok = single.is_ok();
    assert!(
        !ok || cf.is_honest_share(msg),
        "forged decryption share accepted: {msg:?}"
    );
    ok
}

/// A `DecryptionShareMessage` from JSON, checked against the fixture ceremony's joint
/// keys and tally (single and batch must agree; see [`check_decryption_share`]). Inputs
/// that are not share messages are tried as `JointPublicKeys` (a trustee's state file).
pub fn decryption_share_json(data: &[u8]) {
    if let Some(msg) = parse_roundtrip::<DecryptionShareMessage>(data) {
        check_decryption_share(&msg);
    } else if let Some(joint) = parse_roundtrip::<JointPublicKeys>(data) {
        let _ = completed_payload(&joint);
        for i in 1..=joint.params().n().saturating_add(1) {
            if let Ok(i) = TrusteeIndex::new(i) {
                let _ = joint.public_share(i);
            }
        }
    }
}
