//! Ballots: construction on the voter's device and validation by the server and the
//! verifier, in one place (protocol-spec/04-ballots.md §4.3–4.6).
//!
//! A ballot carries, per question, one exponential-ElGamal ciphertext per option and the
//! proofs the question kind requires, one aggregated range proof for the whole ballot,
//! and a Schnorr signature by the voter's credential key. Every proof's transcript
//! absorbs the manifest hash and the credential public key, so a ballot (or a proof
//! lifted from it) cannot be replayed in another referendum or under another credential.

use merlin::Transcript;
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use vox_crypto::batch::{Equations, SingleVerifier};
use vox_crypto::credential::{Credential, CredentialPublicKey, CredentialSignature};
use vox_crypto::elgamal::{Ciphertext, ElectionPublicKey, PreparedKey};
use vox_crypto::proofs::link::pedersen_commit;
use vox_crypto::proofs::{ConstantProof, LinkProof, RangeProof, RangeStatement, ZeroOneProof};
use vox_crypto::transcript::{new_transcript, TranscriptProtocol};
use vox_crypto::{Hash32, Point, Scalar};

use crate::buffered::{tagged_variant, Buffered, TaggedVisitor};
use crate::electorate::ElectorateIndex;
use crate::encoding::{human_code, Canonical, Encoder, Hashable};
use crate::error::{ProtocolError, Result};
use crate::manifest::{approve_sum_needs_range, Manifest, QuestionKind};

/// Current ballot format version. 3 added `previous` (the voter orders their own ballots).
pub const BALLOT_VERSION: u32 = 3;

/// Transcript labels of the ballot context (protocol-spec/02-transcripts.md, table 2.2).
pub mod context_labels {
    /// Purpose label of every ballot proof transcript.
    pub const BALLOT: &[u8] = b"ballot";
    /// Purpose label of the ballot signature transcript.
    pub const BALLOT_SIGNATURE: &[u8] = b"ballot-signature";
    /// The voter's credential public key.
    pub const CREDENTIAL: &[u8] = b"credential";
    /// Question index.
    pub const QUESTION: &[u8] = b"question";
    /// Option index.
    pub const OPTION: &[u8] = b"option";
    /// Which part of the ballot (`sum`, `score`, `range`).
    pub const PART: &[u8] = b"part";
}
use context_labels as cl;

/// The proof about a question's homomorphic sum.
///
/// Serialized by serde's derive (internally tagged by `type`); decoded by hand, like
/// [`crate::board::Payload`] (see its `Deserialize` impl for why): the same JSON
/// accepted and refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum SumProof {
    /// The sum encrypts exactly this constant (choose-one without blank, approve with min = max).
    Constant {
        /// DLEQ proof on the summed ciphertext.
        proof: ConstantProof,
    },
    /// The sum encrypts 0 or 1 (choose-one with blank, approve 0..1).
    ZeroOne {
        /// CDS proof on the summed ciphertext.
        proof: ZeroOneProof,
    },
    /// The sum is in min..=max: a Pedersen commitment linked to the summed ciphertext;
    /// its range is proven in the ballot's aggregated range proof.
    Range {
        /// C = sum·G + s·H.
        commitment: Point,
        /// Same-plaintext proof between the summed ciphertext and C.
        link: LinkProof,
    },
}

/// The `type` of a [`SumProof`]: serde's variant identifier of it.
#[derive(Clone, Copy, Deserialize)]
#[serde(variant_identifier, rename_all = "kebab-case")]
enum SumProofTag {
    Constant,
    ZeroOne,
    Range,
}

impl SumProof {
    fn from_buffered<E: serde::de::Error>(
        tag: SumProofTag,
        body: Buffered<'_>,
    ) -> core::result::Result<Self, E> {
        Ok(match tag {
            SumProofTag::Constant => tagged_variant!(SumProof, body, Constant { proof: req }),
            SumProofTag::ZeroOne => tagged_variant!(SumProof, body, ZeroOne { proof: req }),
            SumProofTag::Range => {
                tagged_variant!(
                    SumProof,
                    body,
                    Range {
                        commitment: req,
                        link: req
                    }
                )
            }
        })
    }
}

/// Hand-written for the size of the web bundle, as [`crate::board::Payload`]'s: the
/// derive instantiated these variants' decoders a second time over serde's private
/// buffer, besides the copies the ballot's other fields need.
impl<'de> Deserialize<'de> for SumProof {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> core::result::Result<Self, D::Error> {
        let (tag, body) = d.deserialize_any(TaggedVisitor::<SumProofTag>::new(
            "type",
            "internally tagged enum SumProof",
        ))?;
        SumProof::from_buffered(tag, body)
    }
}

/// A score option's commitment and link proof (range proven in the aggregate).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScoreProof {
    /// C = score·G + s·H.
    pub commitment: Point,
    /// Same-plaintext proof between the option's ciphertext and C.
    pub link: LinkProof,
}

/// The encrypted answer to one question.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Answer {
    /// One ciphertext per option (one in all for yes-no).
    pub ciphertexts: Vec<Ciphertext>,
    /// One 0/1 proof per ciphertext (yes-no, choose-one, approve); empty for score.
    #[serde(default)]
    pub selection_proofs: Vec<ZeroOneProof>,
    /// The proof on the sum (choose-one, approve).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sum_proof: Option<SumProof>,
    /// Per-option commitments and links (score only).
    #[serde(default)]
    pub scores: Vec<ScoreProof>,
}

/// A cast ballot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Ballot {
    /// [`BALLOT_VERSION`].
    pub version: u32,
    /// The referendum.
    pub referendum_id: String,
    /// Hash of that referendum's manifest.
    pub manifest_hash: Hash32,
    /// The voter's credential public key.
    pub credential: CredentialPublicKey,
    /// The hash of this credential's latest ballot on the board when the device signed
    /// this one, `None` for its first. Signed, so the voter (not the server, nor anyone
    /// holding an uncast ballot) decides which ballot counts: the board accepts a ballot
    /// only if it extends the credential's latest one (10 V10.6), so an older ballot
    /// withheld and posted later is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<Hash32>,
    /// One answer per question, in manifest order.
    pub answers: Vec<Answer>,
    /// Aggregated range proof for every range statement of the ballot, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range_proof: Option<RangeProof>,
    /// Credential signature over the ballot body hash.
    pub signature: CredentialSignature,
}

/// What the voter chose: per question, the value for each option
/// (yes-no: `[1, 0]` for yes, `[0, 1]` for no).
pub type Choices = Vec<Vec<u64>>;

/// The secrets of a freshly encrypted ballot, needed for a Benaloh audit.
#[derive(Clone, Debug)]
pub struct BallotSecrets {
    /// The plaintext choices.
    pub choices: Choices,
    /// One nonce per ciphertext, per question.
    pub nonces: Vec<Vec<Scalar>>,
}

/// A spoiled ballot opened for a Benaloh audit: never counted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditedBallot {
    /// The ballot as it was prepared (not cast).
    pub ballot: Ballot,
    /// The claimed choices.
    pub choices: Choices,
    /// The revealed nonces.
    pub nonces: Vec<Vec<Scalar>>,
}

/// Public inputs needed to build or validate ballots of one referendum.
#[derive(Clone, Debug)]
pub struct BallotContext<'a> {
    /// The manifest.
    pub manifest: &'a Manifest,
    /// Its hash.
    pub manifest_hash: Hash32,
    /// The joint election key from the ceremony.
    pub election_key: ElectionPublicKey,
}

impl<'a> BallotContext<'a> {
    /// Build a context (hashes the manifest).
    pub fn new(manifest: &'a Manifest, election_key: ElectionPublicKey) -> Self {
        Self {
            manifest,
            manifest_hash: manifest.canonical_hash(),
            election_key,
        }
    }

    fn base_transcript(&self, credential: &CredentialPublicKey) -> Transcript {
        let mut t = new_transcript(cl::BALLOT, &self.manifest_hash);
        t.append_bytes(cl::CREDENTIAL, &credential.to_bytes());
        t
    }
}

fn question_transcript(base: &Transcript, q: usize) -> Transcript {
    let mut t = base.clone();
    t.append_u64_le(cl::QUESTION, q as u64);
    t
}

fn option_transcript(qt: &Transcript, i: usize) -> Transcript {
    let mut t = qt.clone();
    t.append_u64_le(cl::OPTION, i as u64);
    t
}

fn part_transcript(t: &Transcript, part: &'static [u8]) -> Transcript {
    let mut t = t.clone();
    t.append_bytes(cl::PART, part);
    t
}

/// Check that `choices` is a valid answer set for `manifest` (client side).
pub fn validate_choices(manifest: &Manifest, choices: &Choices) -> Result<()> {
    if choices.len() != manifest.questions.len() {
        return Err(ProtocolError::invalid("choices", "one answer per question"));
    }
    for (qi, (q, c)) in manifest.questions.iter().zip(choices).enumerate() {
        let f = format!("choices/{qi}");
        if c.len() != q.options.len() {
            return Err(ProtocolError::invalid(f, "one value per option"));
        }
        // Values are untrusted (an audit opening carries them): a sum past u64::MAX is
        // no valid answer, not an overflow.
        let sum = c.iter().try_fold(0u64, |acc, v| acc.checked_add(*v));
        let all01 = c.iter().all(|v| *v <= 1);
        let ok = match q.kind {
            QuestionKind::YesNo => all01 && sum == Some(1),
            QuestionKind::ChooseOne { blank_allowed } => {
                all01 && (sum == Some(1) || (blank_allowed && sum == Some(0)))
            }
            QuestionKind::Approve { min, max } => {
                all01 && sum.is_some_and(|s| s >= u64::from(min) && s <= u64::from(max))
            }
            QuestionKind::Score { max } => c.iter().all(|v| *v <= u64::from(max)),
        };
        if !ok {
            return Err(ProtocolError::invalid(
                f,
                "not a valid answer for this question kind",
            ));
        }
    }
    Ok(())
}

/// The signed part of a ballot (everything but the signature), borrowed: built on the
/// device before the signature exists, and from a parsed ballot when checking it.
struct Body<'a> {
    version: u32,
    referendum_id: &'a str,
    manifest_hash: &'a Hash32,
    credential: &'a CredentialPublicKey,
    previous: &'a Option<Hash32>,
    answers: &'a [Answer],
    range_proof: &'a Option<RangeProof>,
}

impl Body<'_> {
    /// The hash that the credential signs.
    fn hash(&self) -> Hash32 {
        let mut e = Encoder::new();
        self.encode(&mut e);
        let bytes = e.into_bytes();
        Hash32::sha256(&[b"vox/v2/ballot-body", &[0u8], &bytes])
    }

    fn encode(&self, e: &mut Encoder) {
        e.u32(self.version)
            .str(self.referendum_id)
            .hash(self.manifest_hash)
            .raw32(&self.credential.to_bytes())
            .opt(self.previous)
            .seq(self.answers);
        match self.range_proof {
            None => e.u8(0),
            Some(p) => e.u8(1).bytes(&p.to_bytes()),
        };
    }
}

/// Encrypt and prove a ballot on the voter's device (protocol-spec/04-ballots.md §4.4).
/// `previous` is the hash of this credential's latest ballot on the board (`None` for
/// its first): the board refuses a ballot that does not extend the latest one.
pub fn encrypt_ballot(
    ctx: &BallotContext<'_>,
    credential: &Credential,
    choices: &Choices,
    previous: Option<Hash32>,
    rng: &mut (impl RngCore + CryptoRng),
) -> Result<(Ballot, BallotSecrets)> {
    validate_choices(ctx.manifest, choices)?;
    let pk = credential.public_key();
    let key = &ctx.election_key;
    let base = ctx.base_transcript(&pk);
    // The options proven 0/1 decide whether a table for K pays (PreparedKey); the
    // prepared prover's output is byte-identical to the plain one's.
    let bit_options: usize = ctx
        .manifest
        .questions
        .iter()
        .zip(choices)
        .map(|(q, c)| match q.kind {
            QuestionKind::YesNo => 1,
            QuestionKind::Score { .. } => 0,
            _ => c.len(),
        })
        .sum();
    let prepared = PreparedKey::for_options(key, bit_options);
    let mut answers = Vec::with_capacity(choices.len());
    let mut nonces_all = Vec::with_capacity(choices.len());
    let mut range_statements = Vec::new();
    let mut range_openings = Vec::new();
    let crypto = |f: String| move |e| ProtocolError::crypto(f, e);

    for (qi, (q, c)) in ctx.manifest.questions.iter().zip(choices).enumerate() {
        let qt = question_transcript(&base, qi);
        // Values encrypted: yes-no encrypts only the "yes" bit.
        let values: Vec<u64> = match q.kind {
            QuestionKind::YesNo => vec![c.first().copied().unwrap_or(0)],
            _ => c.clone(),
        };
        let (cts, nonces): (Vec<Ciphertext>, Vec<Scalar>) = match q.kind {
            QuestionKind::Score { .. } => values
                .iter()
                .map(|v| Ciphertext::encrypt(key, *v, rng))
                .unzip(),
            // Every value of the other kinds is a 0 or a 1 (validate_choices).
            _ => prepared
                .encrypt_bits(&values, rng)
                .map_err(crypto(format!("answers/{qi}/ciphertexts")))?
                .into_iter()
                .unzip(),
        };
        let mut answer = Answer {
            ciphertexts: cts.clone(),
            selection_proofs: Vec::new(),
            sum_proof: None,
            scores: Vec::new(),
        };
        match q.kind {
            QuestionKind::Score { max } => {
                for (i, ((ct, r), v)) in cts.iter().zip(&nonces).zip(&values).enumerate() {
                    let s = Scalar::random(rng);
                    let commitment = pedersen_commit(&Scalar::from_u64(*v), &s);
                    let mut t = part_transcript(&option_transcript(&qt, i), b"score");
                    let link = LinkProof::prove(&mut t, key, ct, &commitment, *v, r, &s, rng);
                    answer.scores.push(ScoreProof { commitment, link });
                    range_statements.push(RangeStatement {
                        commitment,
                        lo: 0,
                        hi: u64::from(max),
                    });
                    range_openings.push((*v, s));
                }
            }
            _ => {
                let mut ts: Vec<Transcript> =
                    (0..cts.len()).map(|i| option_transcript(&qt, i)).collect();
                let statements = ts
                    .iter_mut()
                    .zip(&cts)
                    .zip(&values)
                    .zip(&nonces)
                    .map(|(((t, ct), v), r)| (t, ct, *v, r));
                answer.selection_proofs =
                    ZeroOneProof::prove_many_prepared(&prepared, statements, rng)
                        .map_err(crypto(format!("answers/{qi}/selection_proofs")))?;
                let sum_ct = Ciphertext::sum(&cts);
                let sum_r = nonces.iter().fold(Scalar::ZERO, |acc, r| acc + *r);
                let sum: u64 = values.iter().sum();
                let mut t = part_transcript(&qt, b"sum");
                answer.sum_proof = match q.kind {
                    QuestionKind::YesNo => None,
                    QuestionKind::ChooseOne {
                        blank_allowed: false,
                    } => Some(SumProof::Constant {
                        proof: ConstantProof::prove_prepared(
                            &mut t, &prepared, &sum_ct, 1, &sum_r, rng,
                        ),
                    }),
                    QuestionKind::ChooseOne {
                        blank_allowed: true,
                    } => Some(SumProof::ZeroOne {
                        proof: ZeroOneProof::prove_prepared(
                            &mut t, &prepared, &sum_ct, sum, &sum_r, rng,
                        )
                        .map_err(crypto(format!("answers/{qi}/sum_proof")))?,
                    }),
                    QuestionKind::Approve { min, max } if min == max => Some(SumProof::Constant {
                        proof: ConstantProof::prove_prepared(
                            &mut t,
                            &prepared,
                            &sum_ct,
                            u64::from(min),
                            &sum_r,
                            rng,
                        ),
                    }),
                    QuestionKind::Approve { min, max } if !approve_sum_needs_range(min, max) => {
                        Some(SumProof::ZeroOne {
                            proof: ZeroOneProof::prove_prepared(
                                &mut t, &prepared, &sum_ct, sum, &sum_r, rng,
                            )
                            .map_err(crypto(format!("answers/{qi}/sum_proof")))?,
                        })
                    }
                    QuestionKind::Approve { min, max } => {
                        let s = Scalar::random(rng);
                        let commitment = pedersen_commit(&Scalar::from_u64(sum), &s);
                        let link = LinkProof::prove(
                            &mut t,
                            key,
                            &sum_ct,
                            &commitment,
                            sum,
                            &sum_r,
                            &s,
                            rng,
                        );
                        range_statements.push(RangeStatement {
                            commitment,
                            lo: u64::from(min),
                            hi: u64::from(max),
                        });
                        range_openings.push((sum, s));
                        Some(SumProof::Range { commitment, link })
                    }
                    QuestionKind::Score { .. } => None,
                };
            }
        }
        answers.push(answer);
        nonces_all.push(nonces);
    }

    let range_proof = if range_statements.is_empty() {
        None
    } else {
        let mut t = part_transcript(&base, b"range");
        Some(
            RangeProof::prove(&mut t, &range_statements, &range_openings, rng)
                .map_err(crypto("range_proof".into()))?,
        )
    };
    let rid = ctx.manifest.referendum_id.clone();
    let h = Body {
        version: BALLOT_VERSION,
        referendum_id: &rid,
        manifest_hash: &ctx.manifest_hash,
        credential: &pk,
        previous: &previous,
        answers: &answers,
        range_proof: &range_proof,
    }
    .hash();
    let mut st = new_transcript(cl::BALLOT_SIGNATURE, &ctx.manifest_hash);
    let signature = credential.sign(&mut st, &h.0, rng);
    Ok((
        Ballot {
            version: BALLOT_VERSION,
            referendum_id: rid,
            manifest_hash: ctx.manifest_hash,
            credential: pk,
            previous,
            answers,
            range_proof,
            signature,
        },
        BallotSecrets {
            choices: choices.clone(),
            nonces: nonces_all,
        },
    ))
}

impl Ballot {
    /// The ballot's hash (over everything, signature included): its identity on the board.
    pub fn hash(&self) -> Hash32 {
        self.canonical_hash()
    }

    /// The human-friendly tracking code shown to the voter.
    pub fn tracking_code(&self) -> String {
        human_code(&self.hash())
    }

    /// The hash signed by the credential.
    pub fn body_hash(&self) -> Hash32 {
        self.body().hash()
    }

    fn body(&self) -> Body<'_> {
        Body {
            version: self.version,
            referendum_id: &self.referendum_id,
            manifest_hash: &self.manifest_hash,
            credential: &self.credential,
            previous: &self.previous,
            answers: &self.answers,
            range_proof: &self.range_proof,
        }
    }

    /// Structural checks (protocol-spec/04-ballots.md §4.5 steps B1–B4): version,
    /// referendum, manifest hash, eligibility and the shape of every answer. These run
    /// before any scalar multiplication, so malformed ballots are cheap to refuse.
    pub fn check_structure(
        &self,
        ctx: &BallotContext<'_>,
        electorate: &ElectorateIndex,
    ) -> Result<()> {
        if self.version != BALLOT_VERSION {
            return Err(ProtocolError::invalid(
                "version",
                format!("unsupported ballot version {}", self.version),
            ));
        }
        if self.referendum_id != ctx.manifest.referendum_id
            || self.manifest_hash != ctx.manifest_hash
        {
            return Err(ProtocolError::WrongScope {
                what: "ballot",
                scope: "referendum",
            });
        }
        if ctx.manifest.electorate_hash != electorate.hash {
            return Err(ProtocolError::WrongScope {
                what: "electorate",
                scope: "referendum",
            });
        }
        if !electorate.contains(&self.credential) {
            return Err(ProtocolError::NotEligible(self.credential.point().to_hex()));
        }
        self.check_shape(ctx)
    }

    /// The shape of every answer against its question kind (B4). Cheap; also run by
    /// [`Ballot::check_proofs`] so that proofs are never checked against the wrong kind.
    fn check_shape(&self, ctx: &BallotContext<'_>) -> Result<()> {
        if self.version != BALLOT_VERSION {
            return Err(ProtocolError::invalid(
                "version",
                format!("unsupported ballot version {}", self.version),
            ));
        }
        let qs = &ctx.manifest.questions;
        if self.answers.len() != qs.len() {
            return Err(ProtocolError::invalid(
                "answers",
                format!("expected {} answers, got {}", qs.len(), self.answers.len()),
            ));
        }
        let mut ranges = 0usize;
        for (qi, (q, a)) in qs.iter().zip(&self.answers).enumerate() {
            let f = |s: &str| format!("answers/{qi}/{s}");
            let n = q.ciphertext_count();
            if a.ciphertexts.len() != n {
                return Err(ProtocolError::invalid(
                    f("ciphertexts"),
                    format!("expected {n} ciphertexts"),
                ));
            }
            for (i, ct) in a.ciphertexts.iter().enumerate() {
                ct.validate()
                    .map_err(|e| ProtocolError::crypto(f(&format!("ciphertexts/{i}")), e))?;
            }
            let (want_sel, want_scores, want_sum) = match q.kind {
                QuestionKind::YesNo => (n, 0, None),
                QuestionKind::ChooseOne { blank_allowed } => (
                    n,
                    0,
                    Some(if blank_allowed {
                        "zero-one"
                    } else {
                        "constant"
                    }),
                ),
                QuestionKind::Approve { min, max } => (
                    n,
                    0,
                    Some(if min == max {
                        "constant"
                    } else if approve_sum_needs_range(min, max) {
                        "range"
                    } else {
                        "zero-one"
                    }),
                ),
                QuestionKind::Score { .. } => (0, n, None),
            };
            if a.selection_proofs.len() != want_sel {
                return Err(ProtocolError::invalid(
                    f("selection_proofs"),
                    format!("expected {want_sel} proofs"),
                ));
            }
            if a.scores.len() != want_scores {
                return Err(ProtocolError::invalid(
                    f("scores"),
                    format!("expected {want_scores} score proofs"),
                ));
            }
            ranges += want_scores;
            let got_sum = match &a.sum_proof {
                None => None,
                Some(SumProof::Constant { .. }) => Some("constant"),
                Some(SumProof::ZeroOne { .. }) => Some("zero-one"),
                Some(SumProof::Range { .. }) => Some("range"),
            };
            if got_sum != want_sum {
                return Err(ProtocolError::invalid(
                    f("sum_proof"),
                    format!("expected {}", want_sum.unwrap_or("no sum proof")),
                ));
            }
            if want_sum == Some("range") {
                ranges += 1;
            }
        }
        if (ranges > 0) != self.range_proof.is_some() {
            return Err(ProtocolError::invalid(
                "range_proof",
                if ranges > 0 {
                    "missing"
                } else {
                    "not expected"
                },
            ));
        }
        Ok(())
    }

    /// Hand every sigma-proof equation (selections, sums, links, the signature) to `eq`
    /// and verify the aggregated range proof (protocol-spec/04-ballots.md §4.5 B5–B9).
    /// Call [`Ballot::check_structure`] first.
    pub fn check_proofs(
        &self,
        ctx: &BallotContext<'_>,
        eq: &mut impl Equations,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<()> {
        self.check_shape(ctx)?;
        let key = &ctx.election_key;
        let base = ctx.base_transcript(&self.credential);
        let mut range_statements = Vec::new();
        for (qi, (q, a)) in ctx.manifest.questions.iter().zip(&self.answers).enumerate() {
            let qt = question_transcript(&base, qi);
            let f = |s: String| format!("answers/{qi}/{s}");
            for (i, (ct, p)) in a.ciphertexts.iter().zip(&a.selection_proofs).enumerate() {
                let mut t = option_transcript(&qt, i);
                p.check(&mut t, key, ct, eq)
                    .map_err(|e| ProtocolError::crypto(f(format!("selection_proofs/{i}")), e))?;
            }
            if let QuestionKind::Score { max } = q.kind {
                for (i, (ct, s)) in a.ciphertexts.iter().zip(&a.scores).enumerate() {
                    let mut t = part_transcript(&option_transcript(&qt, i), b"score");
                    s.link
                        .check(&mut t, key, ct, &s.commitment, eq)
                        .map_err(|e| ProtocolError::crypto(f(format!("scores/{i}")), e))?;
                    range_statements.push(RangeStatement {
                        commitment: s.commitment,
                        lo: 0,
                        hi: u64::from(max),
                    });
                }
            }
            if let Some(sp) = &a.sum_proof {
                let sum_ct = Ciphertext::sum(&a.ciphertexts);
                let mut t = part_transcript(&qt, b"sum");
                let res = match (sp, &q.kind) {
                    (SumProof::Constant { proof }, QuestionKind::ChooseOne { .. }) => {
                        proof.check(&mut t, key, &sum_ct, 1, eq)
                    }
                    (SumProof::Constant { proof }, QuestionKind::Approve { min, .. }) => {
                        proof.check(&mut t, key, &sum_ct, u64::from(*min), eq)
                    }
                    (SumProof::ZeroOne { proof }, _) => proof.check(&mut t, key, &sum_ct, eq),
                    (SumProof::Range { commitment, link }, QuestionKind::Approve { min, max }) => {
                        range_statements.push(RangeStatement {
                            commitment: *commitment,
                            lo: u64::from(*min),
                            hi: u64::from(*max),
                        });
                        link.check(&mut t, key, &sum_ct, commitment, eq)
                    }
                    _ => {
                        return Err(ProtocolError::invalid(
                            f("sum_proof".into()),
                            "wrong proof kind for this question",
                        ))
                    }
                };
                res.map_err(|e| ProtocolError::crypto(f("sum_proof".into()), e))?;
            }
        }
        match (&self.range_proof, range_statements.is_empty()) {
            (None, true) => {}
            (Some(p), false) => {
                let mut t = part_transcript(&base, b"range");
                p.verify(&mut t, &range_statements, rng)
                    .map_err(|e| ProtocolError::crypto("range_proof", e))?;
            }
            _ => {
                return Err(ProtocolError::invalid(
                    "range_proof",
                    "does not match the question kinds",
                ))
            }
        }
        let mut st = new_transcript(cl::BALLOT_SIGNATURE, &ctx.manifest_hash);
        self.signature
            .check(&mut st, &self.credential, &self.body_hash().0, eq)
            .map_err(|e| ProtocolError::crypto("signature", e))
    }

    /// B9 alone: the credential signed this ballot's body. An audit needs it (an opened
    /// ballot in a credential's name must come from that credential's device, 04 §4.6) but
    /// not the proofs, which the opening makes moot.
    pub fn check_signature(&self, manifest_hash: &Hash32) -> Result<()> {
        let mut st = new_transcript(cl::BALLOT_SIGNATURE, manifest_hash);
        self.signature
            .check(
                &mut st,
                &self.credential,
                &self.body_hash().0,
                &mut SingleVerifier,
            )
            .map_err(|e| ProtocolError::crypto("signature", e))
    }

    /// Full validation of one ballot on its own (structure, then every proof).
    pub fn validate(
        &self,
        ctx: &BallotContext<'_>,
        electorate: &ElectorateIndex,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<()> {
        self.check_structure(ctx, electorate)?;
        self.check_proofs(ctx, &mut SingleVerifier, rng)
    }
}

impl AuditedBallot {
    /// Open a prepared ballot for a Benaloh audit.
    pub fn new(ballot: Ballot, secrets: BallotSecrets) -> Self {
        Self {
            ballot,
            choices: secrets.choices,
            nonces: secrets.nonces,
        }
    }

    /// Check that every ciphertext encrypts the claimed choice with the revealed nonce
    /// (protocol-spec/04-ballots.md §4.6). Anyone can run this: it needs no secret key.
    pub fn verify_opening(&self, ctx: &BallotContext<'_>) -> Result<()> {
        validate_choices(ctx.manifest, &self.choices)?;
        let qs = &ctx.manifest.questions;
        if self.ballot.answers.len() != qs.len() || self.nonces.len() != qs.len() {
            return Err(ProtocolError::invalid(
                "nonces",
                "one nonce list per question",
            ));
        }
        for (qi, ((q, a), (c, ns))) in qs
            .iter()
            .zip(&self.ballot.answers)
            .zip(self.choices.iter().zip(&self.nonces))
            .enumerate()
        {
            let values: Vec<u64> = match q.kind {
                QuestionKind::YesNo => vec![c.first().copied().unwrap_or(0)],
                _ => c.clone(),
            };
            if ns.len() != a.ciphertexts.len() || values.len() != a.ciphertexts.len() {
                return Err(ProtocolError::invalid(
                    format!("nonces/{qi}"),
                    "one nonce per ciphertext",
                ));
            }
            for (i, ((ct, v), r)) in a.ciphertexts.iter().zip(&values).zip(ns).enumerate() {
                ct.check_opening(&ctx.election_key, *v, r).map_err(|e| {
                    ProtocolError::crypto(format!("answers/{qi}/ciphertexts/{i}"), e)
                })?;
            }
        }
        Ok(())
    }
}

// ---- canonical encodings -------------------------------------------------------

impl Canonical for Ciphertext {
    fn encode(&self, e: &mut Encoder) {
        e.point(&self.a).point(&self.b);
    }
}

fn encode_zero_one(e: &mut Encoder, p: &ZeroOneProof) {
    e.point(&p.t0a)
        .point(&p.t0b)
        .point(&p.t1a)
        .point(&p.t1b)
        .scalar(&p.c0)
        .scalar(&p.c1)
        .scalar(&p.z0)
        .scalar(&p.z1);
}

fn encode_link(e: &mut Encoder, p: &LinkProof) {
    e.point(&p.ta)
        .point(&p.tb)
        .point(&p.tc)
        .scalar(&p.zm)
        .scalar(&p.zr)
        .scalar(&p.zs);
}

impl Canonical for ZeroOneProof {
    fn encode(&self, e: &mut Encoder) {
        encode_zero_one(e, self);
    }
}

impl Canonical for ScoreProof {
    fn encode(&self, e: &mut Encoder) {
        e.point(&self.commitment);
        encode_link(e, &self.link);
    }
}

impl Canonical for Answer {
    fn encode(&self, e: &mut Encoder) {
        e.seq(&self.ciphertexts).seq(&self.selection_proofs);
        match &self.sum_proof {
            None => {
                e.u8(0);
            }
            Some(SumProof::Constant { proof }) => {
                e.u8(1)
                    .point(&proof.0.t1)
                    .point(&proof.0.t2)
                    .scalar(&proof.0.z);
            }
            Some(SumProof::ZeroOne { proof }) => {
                e.u8(2);
                encode_zero_one(e, proof);
            }
            Some(SumProof::Range { commitment, link }) => {
                e.u8(3).point(commitment);
                encode_link(e, link);
            }
        }
        e.seq(&self.scores);
    }
}

impl Canonical for Ballot {
    fn encode(&self, e: &mut Encoder) {
        self.body().encode(e);
        e.point(&self.signature.0.t).scalar(&self.signature.0.z);
    }
}

impl Hashable for Ballot {
    const TAG: &'static str = "ballot";
}

impl Canonical for AuditedBallot {
    fn encode(&self, e: &mut Encoder) {
        self.ballot.encode(e);
        e.count(self.choices.len());
        for c in &self.choices {
            e.seq(c);
        }
        e.count(self.nonces.len());
        for n in &self.nonces {
            e.seq(n);
        }
    }
}
