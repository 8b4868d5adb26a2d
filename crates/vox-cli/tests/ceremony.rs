//! The trustee client's complaint paths against a real server: a dishonest dealer sends
//! a corrupted share (the victim complains, the dealer must reveal the share publicly,
//! the victim uses it) and files a false complaint (the honest dealer answers it); and a
//! dealer who never answers is disqualified by deadline and the rest complete over QUAL.
//! Trustee 1 is played by hand; trustees 2 and 3 are the `vox trustee` client.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use rand::rngs::OsRng;
use vox_cli::client::Client;
use vox_cli::trustee::{Step, TrusteeSession};
use vox_crypto::credential::Credential;
use vox_crypto::threshold::{CeremonyParams, Complaint, Dealer, TrusteeIndex, TrusteeKeys};
use vox_protocol::ceremony::{CeremonyBody, CeremonyMessage};
use vox_protocol::electorate::{Electorate, ElectorateEntry};
use vox_protocol::encoding::Hashable;
use vox_protocol::manifest::{Manifest, Question, QuestionKind, TrusteeInfo, MANIFEST_VERSION};
use vox_protocol::roles::{RoleSigners, WitnessPolicy};

fn post(client: &Client, m: &Manifest, keys: &TrusteeKeys, body: CeremonyBody, tag: &str) {
    let mh = m.canonical_hash();
    let msg = CeremonyMessage::sign(m, &mh, 1, keys, body, &mut OsRng);
    client
        .post_ceremony(&m.referendum_id, &msg, &format!("t1-{tag}"))
        .unwrap();
}

fn advance(client: &Client, s: &mut TrusteeSession) -> Step {
    s.advance(client).unwrap()
}

/// A server on loopback with three trustees (k = 2) and referendum `r` whose accused
/// trustees have `answer_due_ms` to answer a complaint; trustees 2 and 3 run the
/// `vox trustee` client, trustee 1 is played by hand.
struct World {
    rt: tokio::runtime::Runtime,
    server: vox_server::RunningServer,
    dir: std::path::PathBuf,
    public: Client,
    keys: Vec<TrusteeKeys>,
    manifest: Manifest,
    sessions: Vec<TrusteeSession>,
}

fn world(tag: &str, answer_due_ms: i64) -> World {
    let dir = std::env::temp_dir().join(format!("vox-cli-ceremony-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let signers = RoleSigners::generate(&mut OsRng);
    let mut config = vox_server::ServerConfig::new(
        Some(format!("sqlite://{}", dir.join("vox.db").display())),
        "127.0.0.1:0".parse().unwrap(),
    );
    config.genesis = Some(
        signers
            .genesis(
                "test.vox.invalid/ceremony",
                vox_server::now_ms(),
                WitnessPolicy::default(),
            )
            .unwrap(),
    );
    config.operator_key = Some(signers.operator.clone());
    let server = rt.block_on(vox_server::start(config)).unwrap();
    let url = format!("http://{}", server.local_addr());
    let public = Client::new(&url);
    let registrar = Client::new(&url).with_key(signers.registrar.clone());
    let authority = Client::new(&url).with_key(signers.election_authority.clone());

    let electorate = Electorate {
        id: "e".into(),
        name: "E".into(),
        entries: vec![ElectorateEntry {
            credential: Credential::generate(&mut OsRng).public_key(),
            region: None,
        }],
    };
    registrar.create_electorate(&electorate).unwrap();
    let keys: Vec<TrusteeKeys> = (0..3).map(|_| TrusteeKeys::generate(&mut OsRng)).collect();
    let manifest = Manifest {
        version: MANIFEST_VERSION,
        referendum_id: "r".into(),
        title: "T".into(),
        description: "D".into(),
        questions: vec![Question {
            id: "q1".into(),
            text: "?".into(),
            options: vec!["yes".into(), "no".into()],
            kind: QuestionKind::YesNo,
        }],
        opens_at: 0,
        closes_at: i64::MAX / 2,
        electorate_hash: electorate.canonical_hash(),
        trustees: TrusteeInfo::numbered(&keys),
        threshold: 2,
        answer_due_ms,
        decryption_due_ms: vox_protocol::manifest::DAY_MS,
        source_petition: None,
        participation: Default::default(),
    };
    authority.create_referendum(&manifest).unwrap();
    let sessions: Vec<TrusteeSession> = (2..=3)
        .map(|i| {
            TrusteeSession::open(
                &public,
                "r",
                Some(i),
                keys[i as usize - 1].clone(),
                &dir.join(format!("t{i}.state")),
            )
            .unwrap()
        })
        .collect();
    World {
        rt,
        server,
        dir,
        public,
        keys,
        manifest,
        sessions,
    }
}

impl World {
    fn stop(self) {
        let _ = self.rt.block_on(self.server.shutdown());
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Rounds 1 and 2 with trustee 1 corrupting the share it sends to trustee 2; returns
/// trustee 1's dealer.
fn to_bad_share(w: &mut World) -> vox_crypto::threshold::RevealedDealer {
    let (public, manifest, keys) = (&w.public, &w.manifest, &w.keys);
    let mh = manifest.canonical_hash();
    let params = CeremonyParams::new(3, 2).unwrap();
    let one = TrusteeIndex::new(1).unwrap();
    let dealer = Dealer::new(&params, one, &mh, &mut OsRng).unwrap();
    let announce = keys[0].announce(one, &mh, &mut OsRng);
    post(
        public,
        manifest,
        &keys[0],
        CeremonyBody::Commit {
            key: announce,
            commitment: dealer.commitment(),
        },
        "commit",
    );
    for s in w.sessions.iter_mut() {
        assert_eq!(advance(public, s), Step::Posted("commitment".into()));
    }
    let view = public.ceremony("r").unwrap();
    let revealed = dealer.reveal(&view.commitments).unwrap();
    post(
        public,
        manifest,
        &keys[0],
        CeremonyBody::Reveal {
            coefficients: revealed.commitments().clone(),
        },
        "reveal",
    );
    for s in w.sessions.iter_mut() {
        assert_eq!(advance(public, s), Step::Posted("reveal".into()));
    }
    let mut view = public.ceremony("r").unwrap();
    view.keys.sort_by_key(|k| k.trustee);
    let mut shares = revealed.encrypt_shares(&view.keys, &mut OsRng).unwrap();
    shares[0].ciphertext[0] ^= 1;
    post(
        public,
        manifest,
        &keys[0],
        CeremonyBody::Shares { shares },
        "shares",
    );
    for s in w.sessions.iter_mut() {
        assert_eq!(advance(public, s), Step::Posted("encrypted shares".into()));
    }
    revealed
}

#[test]
fn complaints_are_raised_answered_and_resolved() {
    let mut w = world("answered", vox_protocol::manifest::DAY_MS);
    let revealed = to_bad_share(&mut w);
    let one = TrusteeIndex::new(1).unwrap();
    let World {
        public,
        manifest,
        keys,
        sessions,
        ..
    } = &mut w;
    let public = &*public;
    let (manifest, keys) = (&*manifest, &*keys);

    // Trustee 1 also complains, falsely, about trustee 3.
    post(
        public,
        manifest,
        &keys[0],
        CeremonyBody::Complaint {
            complaint: Complaint {
                dealer: TrusteeIndex::new(3).unwrap(),
                recipient: one,
            },
        },
        "complaint",
    );
    // Trustee 2 finds the bad share and complains; it waits for the answer.
    let (s2, s3) = sessions.split_at_mut(1);
    let (s2, s3) = (&mut s2[0], &mut s3[0]);
    assert_eq!(
        advance(public, s2),
        Step::Posted("complaint about trustee 1".into())
    );
    assert!(matches!(advance(public, s2), Step::Waiting(w) if w.contains("answer")));
    // Trustee 3 answers the complaint about it, then checks its shares and confirms.
    assert_eq!(advance(public, s3), Step::Posted("complaint answer".into()));
    assert_eq!(advance(public, s3), Step::Posted("confirmation".into()));

    // Trustee 1 must reveal the disputed share; trustee 2 then uses it and confirms.
    let view = public.ceremony("r").unwrap();
    let c = view
        .complaints
        .iter()
        .find(|c| c.dealer == one)
        .copied()
        .unwrap();
    post(
        public,
        manifest,
        &keys[0],
        CeremonyBody::Answer {
            answer: revealed.answer_complaint(&c).unwrap(),
        },
        "answer",
    );
    assert_eq!(advance(public, s2), Step::Posted("confirmation".into()));
    post(public, manifest, &keys[0], CeremonyBody::Confirm, "confirm");

    // Complete: both clients' key shares match the published public shares.
    assert_eq!(advance(public, s2), Step::Complete);
    assert_eq!(advance(public, s3), Step::Complete);
    let detail = public.referendum("r").unwrap();
    assert!(detail.election_key.is_some());

    w.stop();
}

/// Trustee 1 sends trustee 2 a bad share and never answers the complaint: once the
/// answer deadline passes the board disqualifies it (`trustee-disqualified`), trustee 2
/// stops waiting for the answer, and both clients combine their key shares over QUAL =
/// {2, 3} only: each matches the public share the board publishes, and the election key
/// is the sum of trustees 2 and 3's polynomials (06 §6.6–§6.7). Summing trustee 1's
/// share too, as an all-dealer sum would, gives a key share that matches nothing.
#[test]
fn an_unanswered_complaint_disqualifies_the_dealer_and_the_rest_complete_over_qual() {
    let mut w = world("unanswered", 1_500);
    let _ = to_bad_share(&mut w);
    let (s2, s3) = w.sessions.split_at_mut(1);
    let (s2, s3) = (&mut s2[0], &mut s3[0]);
    assert_eq!(
        advance(&w.public, s2),
        Step::Posted("complaint about trustee 1".into())
    );
    assert_eq!(advance(&w.public, s3), Step::Posted("confirmation".into()));
    // Trustee 2 waits for trustee 1's answer until the board disqualifies trustee 1.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let step = loop {
        match advance(&w.public, s2) {
            Step::Waiting(why) => {
                assert!(why.contains("answer"), "{why}");
                assert!(
                    std::time::Instant::now() < deadline,
                    "trustee 1 was never disqualified"
                );
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
            other => break other,
        }
    };
    assert_eq!(step, Step::Posted("confirmation".into()));
    let view = w.public.ceremony("r").unwrap();
    assert_eq!(view.disqualified, vec![1]);
    // Both complete: their key shares (over QUAL) match the board's public shares, and
    // the board's election key is the one the QUAL reveals define.
    assert_eq!(advance(&w.public, s2), Step::Complete);
    assert_eq!(advance(&w.public, s3), Step::Complete);
    let params = CeremonyParams::new(3, 2).unwrap();
    let qual = [2, 3].map(|i| TrusteeIndex::new(i).unwrap());
    let joint = vox_crypto::threshold::JointPublicKeys::from_qualified(
        &params,
        &w.manifest.canonical_hash(),
        &view.reveals,
        &qual,
    )
    .unwrap();
    let detail = w.public.referendum("r").unwrap();
    assert_eq!(detail.election_key, Some(*joint.election_key()));
    let all = vox_crypto::threshold::JointPublicKeys::from_commitments(
        &params,
        &w.manifest.canonical_hash(),
        &view.reveals,
    )
    .unwrap();
    assert_ne!(detail.election_key, Some(*all.election_key()));
    w.stop();
}
