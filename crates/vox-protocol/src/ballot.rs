//! Ballots: construction on the voter's device and validation by the server and the
//! verifier, in one place (protocol-spec/04-ballots.md §4.3–4.6).
//!
//! A ballot carries, per question, one exponential-ElGamal ciphertext per option and the
//! proofs the question kind requires, one aggregated range proof for the whole ballot,
//! and either a Schnorr signature by the voter's credential key (pseudonymous
//! participation, the default) or a linkable ring signature in the credential's derived
//! ring (anonymous participation, 04 §4.10). Every proof's transcript absorbs the
//! manifest hash and the credential public key (or, anonymous, the linking tag), so a
//! ballot (or a proof lifted from it) cannot be replayed in another referendum or under
//! another voter.

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
use crate::manifest::{approve_sum_needs_range, Manifest, Participation, QuestionKind};
use crate::petition::RingSignatureBytes;
use crate::rings::{DerivedRing, RingSet, RingStatement};
use vox_crypto::ring::{LinkingTag, TagGenerator};

/// Current ballot format version. 3 added `previous` (the voter orders their own ballots);
/// 4 added anonymous ballots (`ring` and `ring_signature` instead of `credential` and
/// `signature`, 04 §4.10) and encodes which of the two a ballot carries.
pub const BALLOT_VERSION: u32 = 4;

/// Transcript labels of the ballot context (protocol-spec/02-transcripts.md, table 2.2).
pub mod context_labels {
    /// Purpose label of every ballot proof transcript.
    pub const BALLOT: &[u8] = b"ballot";
    /// Purpose label of the ballot signature transcript.
    pub const BALLOT_SIGNATURE: &[u8] = b"ballot-signature";
    /// The voter's credential public key (pseudonymous ballots).
    pub const CREDENTIAL: &[u8] = b"credential";
    /// The voter's linking tag (anonymous ballots).
    pub const LINKING_TAG: &[u8] = b"linking-tag";
    /// Purpose label of an anonymous ballot's ring-signature transcript.
    pub const BALLOT_RING_SIGNATURE: &[u8] = b"ballot-ring-signature";
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
    /// The voter's credential public key (pseudonymous ballots; absent from anonymous ones).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<CredentialPublicKey>,
    /// Anonymous ballots: the hash of the derived ring the voter hides in (04 §4.10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ring: Option<Hash32>,
    /// The hash of this voter's latest ballot on the board when the device signed
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
    /// Pseudonymous ballots: the credential's signature over the ballot body hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<CredentialSignature>,
    /// Anonymous ballots: the linking tag and Triptych proof over the body hash
    /// (13 §13.6), on the ring `ring`, with the referendum's tag generator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub ring_signature: Option<RingSignatureBytes>,
}

/// What [`Ballot::check_proofs`] leaves to its caller.
///
/// A pseudonymous ballot's credential signature is one more sigma equation, checked with
/// the others. An anonymous ballot's ring signature is not: Triptych verifies in its own
/// batch, against the rings derived at the ballot's leaf, which `check_proofs` does not
/// have. So the answer says which, and cannot be ignored: a caller that drops it gets a
/// warning (an error under `-D warnings`), and one that handles it must name the ring
/// check (`Ballot::ring_statement` / `ring_statement_on`, or `Ballot::validate`).
#[must_use = "an anonymous ballot's ring signature is not among check_proofs' equations: \
              check its ring statement before accepting the ballot"]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VoterProof {
    /// The credential's signature was among the equations: nothing is left.
    Checked,
    /// The ring signature is left to check (04 §4.5 B10–B11).
    RingSignaturePending,
}

/// Who a ballot says cast it: exactly one of the two forms (04 §4.3 B1).
#[derive(Clone, Copy, Debug)]
pub enum Voter<'a> {
    /// Pseudonymous: the credential and its signature.
    Credential {
        /// The credential public key.
        credential: &'a CredentialPublicKey,
        /// Its signature over the body hash.
        signature: &'a CredentialSignature,
    },
    /// Anonymous: a derived ring and a linkable ring signature in it.
    Ring {
        /// The ring's hash.
        ring: &'a Hash32,
        /// The ring signature (its first 32 bytes are the linking tag).
        signature: &'a RingSignatureBytes,
    },
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

    /// The transcript every proof of the ballot starts from: the manifest hash and who
    /// votes (the credential, or for an anonymous ballot its linking tag).
    fn base_transcript(&self, voter: VoterId<'_>) -> Transcript {
        let mut t = new_transcript(cl::BALLOT, &self.manifest_hash);
        match voter {
            VoterId::Credential(c) => t.append_bytes(cl::CREDENTIAL, &c.to_bytes()),
            VoterId::Tag(j) => t.append_bytes(cl::LINKING_TAG, &j.to_bytes()),
        }
        t
    }

    /// The linking-tag generator of this referendum's anonymous ballots (04 §4.10).
    pub fn tag_generator(&self) -> Result<TagGenerator> {
        crate::rings::referendum_tag_generator(&self.manifest_hash)
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
    credential: Option<&'a CredentialPublicKey>,
    ring: Option<&'a Hash32>,
    tag: Option<&'a LinkingTag>,
    previous: &'a Option<Hash32>,
    answers: &'a [Answer],
    range_proof: &'a Option<RangeProof>,
}

/// Who the proofs of a ballot are bound to (its base transcript).
#[derive(Clone, Copy)]
enum VoterId<'a> {
    Credential(&'a CredentialPublicKey),
    Tag(&'a LinkingTag),
}

impl Body<'_> {
    /// The hash that the credential signs (or the ring signature's message).
    fn hash(&self) -> Hash32 {
        let mut e = Encoder::new();
        self.encode(&mut e);
        let bytes = e.into_bytes();
        Hash32::sha256(&[b"vox/v2/ballot-body", &[0u8], &bytes])
    }

    /// 04 §4.3: u32 version ‖ str referendum ‖ manifest hash ‖ opt credential ‖ opt ring
    /// ‖ opt tag ‖ opt previous ‖ answers ‖ opt range proof. A ballot carries either the
    /// credential or the ring and tag; the encoding of both forms is total, so two
    /// different ballots never share a body.
    fn encode(&self, e: &mut Encoder) {
        e.u32(self.version)
            .str(self.referendum_id)
            .hash(self.manifest_hash);
        match self.credential {
            None => e.u8(0),
            Some(c) => e.u8(1).raw32(&c.to_bytes()),
        };
        match self.ring {
            None => e.u8(0),
            Some(r) => e.u8(1).hash(r),
        };
        match self.tag {
            None => e.u8(0),
            Some(j) => e.u8(1).raw32(&j.to_bytes()),
        };
        e.opt(self.previous).seq(self.answers);
        match self.range_proof {
            None => e.u8(0),
            Some(p) => e.u8(1).bytes(&p.to_bytes()),
        };
    }
}

/// Encrypt and prove a ballot on the voter's device (protocol-spec/04-ballots.md §4.4).
/// `previous` is the hash of this credential's latest ballot on the board (`None` for
/// its first): the board refuses a ballot that does not extend the latest one.
/// Pseudonymous participation: the ballot names the credential and is signed by it.
pub fn encrypt_ballot(
    ctx: &BallotContext<'_>,
    credential: &Credential,
    choices: &Choices,
    previous: Option<Hash32>,
    rng: &mut (impl RngCore + CryptoRng),
) -> Result<(Ballot, BallotSecrets)> {
    if ctx.manifest.participation != Participation::Pseudonymous {
        return Err(ProtocolError::invalid(
            "participation",
            "this referendum takes anonymous ballots: encrypt with the rings \
             (encrypt_anonymous_ballot)",
        ));
    }
    let pk = credential.public_key();
    let (answers, range_proof, secrets) =
        encrypt_answers(ctx, VoterId::Credential(&pk), choices, rng)?;
    let rid = ctx.manifest.referendum_id.clone();
    let h = Body {
        version: BALLOT_VERSION,
        referendum_id: &rid,
        manifest_hash: &ctx.manifest_hash,
        credential: Some(&pk),
        ring: None,
        tag: None,
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
            credential: Some(pk),
            ring: None,
            previous,
            answers,
            range_proof,
            signature: Some(signature),
            ring_signature: None,
        },
        secrets,
    ))
}

/// Encrypt and prove an anonymous ballot (04 §4.10): the proofs are bound to the
/// credential's linking tag for this referendum, and a linkable ring signature in the
/// credential's ring of `rings` (derived by the device itself from the board, 13 §13.3)
/// signs the body. `previous` is the hash of this tag's latest ballot, `None` for its
/// first. Errors if the credential is in none of the rings.
pub fn encrypt_anonymous_ballot(
    ctx: &BallotContext<'_>,
    rings: &RingSet,
    credential: &Credential,
    choices: &Choices,
    previous: Option<Hash32>,
    rng: &mut (impl RngCore + CryptoRng),
) -> Result<(Ballot, BallotSecrets)> {
    if ctx.manifest.participation != Participation::Anonymous {
        return Err(ProtocolError::invalid(
            "participation",
            "this referendum takes pseudonymous (credential-signed) ballots",
        ));
    }
    let (derived, slot) = rings.ring_of(&credential.public_key()).ok_or_else(|| {
        ProtocolError::invalid(
            "credential",
            "not in any ring of this referendum: not on its electorate, revoked, or a \
             replacement enrolled after the referendum was created (04 §4.10)",
        )
    })?;
    let generator = ctx.tag_generator()?;
    let tag = vox_crypto::ring::linking_tag(credential, &generator);
    let (answers, range_proof, secrets) = encrypt_answers(ctx, VoterId::Tag(&tag), choices, rng)?;
    let rid = ctx.manifest.referendum_id.clone();
    let ring = *derived.ring.hash();
    let h = Body {
        version: BALLOT_VERSION,
        referendum_id: &rid,
        manifest_hash: &ctx.manifest_hash,
        credential: None,
        ring: Some(&ring),
        tag: Some(&tag),
        previous: &previous,
        answers: &answers,
        range_proof: &range_proof,
    }
    .hash();
    let mut t = new_transcript(cl::BALLOT_RING_SIGNATURE, &ctx.manifest_hash);
    let signature = vox_crypto::ring::sign(
        &mut t,
        credential,
        &derived.ring,
        slot,
        &generator,
        &h.0,
        rng,
    )
    .map_err(|e| ProtocolError::crypto("ring_signature", e))?;
    Ok((
        Ballot {
            version: BALLOT_VERSION,
            referendum_id: rid,
            manifest_hash: ctx.manifest_hash,
            credential: None,
            ring: Some(ring),
            previous,
            answers,
            range_proof,
            signature: None,
            ring_signature: Some(RingSignatureBytes::new(&signature)),
        },
        secrets,
    ))
}

/// The encrypted answers and their proofs, bound to `voter` (04 §4.4).
fn encrypt_answers(
    ctx: &BallotContext<'_>,
    voter: VoterId<'_>,
    choices: &Choices,
    rng: &mut (impl RngCore + CryptoRng),
) -> Result<(Vec<Answer>, Option<RangeProof>, BallotSecrets)> {
    validate_choices(ctx.manifest, choices)?;
    let key = &ctx.election_key;
    let base = ctx.base_transcript(voter);

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
    Ok((
        answers,
        range_proof,
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
            credential: self.credential.as_ref(),
            ring: self.ring.as_ref(),
            tag: self.ring_signature.as_ref().map(RingSignatureBytes::tag),
            previous: &self.previous,
            answers: &self.answers,
            range_proof: &self.range_proof,
        }
    }

    /// Who cast it: the credential and its signature, or the ring and the ring signature
    /// (04 §4.5 B1). Refuses a ballot with both, with neither, or with half of one.
    pub fn voter(&self) -> Result<Voter<'_>> {
        match (
            &self.credential,
            &self.signature,
            &self.ring,
            &self.ring_signature,
        ) {
            (Some(credential), Some(signature), None, None) => Ok(Voter::Credential {
                credential,
                signature,
            }),
            (None, None, Some(ring), Some(signature)) => Ok(Voter::Ring { ring, signature }),
            _ => Err(ProtocolError::invalid(
                "ballot",
                "carries either `credential` and `signature` (pseudonymous) or `ring` and \
                 `ring_signature` (anonymous), nothing else",
            )),
        }
    }

    /// The key the board counts one ballot for (04 §4.8, 05 §5.1): the credential's
    /// 32 bytes, or an anonymous ballot's linking tag. `None` for a malformed ballot.
    pub fn voter_key(&self) -> Option<[u8; 32]> {
        match self.voter().ok()? {
            Voter::Credential { credential, .. } => Some(credential.to_bytes()),
            Voter::Ring { signature, .. } => Some(signature.tag().to_bytes()),
        }
    }

    /// The credential of a pseudonymous ballot (`None` for an anonymous one).
    pub fn credential(&self) -> Option<&CredentialPublicKey> {
        match self.voter().ok()? {
            Voter::Credential { credential, .. } => Some(credential),
            Voter::Ring { .. } => None,
        }
    }

    fn voter_id(&self) -> Result<VoterId<'_>> {
        Ok(match self.voter()? {
            Voter::Credential { credential, .. } => VoterId::Credential(credential),
            Voter::Ring { signature, .. } => VoterId::Tag(signature.tag()),
        })
    }

    /// Structural checks (protocol-spec/04-ballots.md §4.5 steps B1–B4): version,
    /// referendum, manifest hash, the voter's form against the manifest's participation,
    /// eligibility of a pseudonymous ballot's credential, and the shape of every answer.
    /// These run before any scalar multiplication, so malformed ballots are cheap to
    /// refuse. An anonymous ballot's ring is checked against the rings derived at its
    /// leaf by [`Ballot::check_ring`].
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
        match (self.voter()?, ctx.manifest.participation) {
            (Voter::Credential { credential, .. }, Participation::Pseudonymous) => {
                if !electorate.contains(credential) {
                    return Err(ProtocolError::NotEligible(credential.point().to_hex()));
                }
            }
            (Voter::Ring { .. }, Participation::Anonymous) => {}
            (Voter::Credential { .. }, Participation::Anonymous) => {
                return Err(ProtocolError::invalid(
                    "credential",
                    "this referendum takes anonymous ballots: a ring signature, no credential \
                     (04 §4.10)",
                ))
            }
            (Voter::Ring { .. }, Participation::Pseudonymous) => {
                return Err(ProtocolError::invalid(
                    "ring",
                    "this referendum takes pseudonymous ballots signed by the credential",
                ))
            }
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

    /// Hand every sigma-proof equation (selections, sums, links, a credential's
    /// signature) to `eq` and verify the aggregated range proof (protocol-spec/
    /// 04-ballots.md §4.5 B5–B9). Call [`Ballot::check_structure`] first. An anonymous
    /// ballot's ring signature is left to the caller ([`VoterProof`]).
    pub fn check_proofs(
        &self,
        ctx: &BallotContext<'_>,
        eq: &mut impl Equations,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<VoterProof> {
        self.check_shape(ctx)?;
        let key = &ctx.election_key;
        let base = ctx.base_transcript(self.voter_id()?);
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
        match self.voter()? {
            Voter::Credential {
                credential,
                signature,
            } => {
                let mut st = new_transcript(cl::BALLOT_SIGNATURE, &ctx.manifest_hash);
                signature
                    .check(&mut st, credential, &self.body_hash().0, eq)
                    .map(|()| VoterProof::Checked)
                    .map_err(|e| ProtocolError::crypto("signature", e))
            }
            // Not a sigma equation: the caller checks it with `ring_statement` (alone or
            // in a batch of ring signatures), against the rings derived at its leaf.
            Voter::Ring { .. } => Ok(VoterProof::RingSignaturePending),
        }
    }

    /// B9 alone for a pseudonymous ballot: the credential signed this ballot's body. An
    /// audit needs it (an opened ballot in a credential's name must come from that
    /// credential's device, 04 §4.6) but not the proofs, which the opening makes moot.
    /// An anonymous ballot's ring signature is checked with [`Ballot::ring_statement`].
    pub fn check_signature(&self, manifest_hash: &Hash32) -> Result<()> {
        match self.voter()? {
            Voter::Credential {
                credential,
                signature,
            } => {
                let mut st = new_transcript(cl::BALLOT_SIGNATURE, manifest_hash);
                signature
                    .check(
                        &mut st,
                        credential,
                        &self.body_hash().0,
                        &mut SingleVerifier,
                    )
                    .map_err(|e| ProtocolError::crypto("signature", e))
            }
            Voter::Ring { .. } => Err(ProtocolError::invalid(
                "ring_signature",
                "an anonymous ballot's signature is a ring signature: check it against the \
                 rings (ring_statement)",
            )),
        }
    }

    /// B10 for an anonymous ballot (04 §4.10): its ring is one of `rings` (the rings the
    /// checker derived itself for the ballot's leaf). Returns the ring. Errors for a
    /// pseudonymous ballot.
    pub fn check_ring<'r>(&self, rings: &'r RingSet) -> Result<&'r DerivedRing> {
        let Voter::Ring { ring, .. } = self.voter()? else {
            return Err(ProtocolError::invalid(
                "ring",
                "a pseudonymous ballot has no ring",
            ));
        };
        rings.by_hash(ring).ok_or_else(|| {
            ProtocolError::invalid(
                "ring",
                "is not one of the referendum's rings at this leaf (derive them again: a \
                 credential may have been revoked since)",
            )
        })
    }

    /// The ring-signature statement of an anonymous ballot (B10–B11, 04 §4.10): its ring
    /// among `rings`, the referendum's tag generator `generator`, the transcript and the
    /// message (the body hash), with the proof decoded strictly. Check it with
    /// [`crate::rings::verify_ring_statements`] (alone or batched).
    pub fn ring_statement<'r>(
        &self,
        rings: &'r RingSet,
        generator: &TagGenerator,
    ) -> Result<RingStatement<'r>> {
        let derived = self.check_ring(rings)?;
        self.ring_statement_on(&derived.ring, generator)
    }

    /// [`Ballot::ring_statement`] on a ring the caller already matched to the ballot
    /// (refused if the ballot names another ring).
    pub fn ring_statement_on<'r>(
        &self,
        ring: &'r vox_crypto::ring::Ring,
        generator: &TagGenerator,
    ) -> Result<RingStatement<'r>> {
        let (Some(named), Some(signature)) = (&self.ring, &self.ring_signature) else {
            return Err(ProtocolError::invalid(
                "ring_signature",
                "a pseudonymous ballot has no ring signature",
            ));
        };
        if named != ring.hash() {
            return Err(ProtocolError::invalid("ring", "is not the ring checked"));
        }
        Ok(RingStatement {
            transcript: new_transcript(cl::BALLOT_RING_SIGNATURE, &self.manifest_hash),
            proof: signature
                .decode()
                .map_err(|e| ProtocolError::invalid("ring_signature", e.to_string()))?,
            ring,
            tag_generator: *generator,
            message: self.body_hash().0.to_vec(),
        })
    }

    /// Full validation of one ballot on its own (structure, then every proof; an
    /// anonymous ballot's ring signature against `rings`, which it needs).
    pub fn validate(
        &self,
        ctx: &BallotContext<'_>,
        electorate: &ElectorateIndex,
        rings: Option<&RingSet>,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<()> {
        self.check_structure(ctx, electorate)?;
        match self.check_proofs(ctx, &mut SingleVerifier, rng)? {
            VoterProof::Checked => Ok(()),
            VoterProof::RingSignaturePending => {
                let rings = rings.ok_or_else(|| {
                    ProtocolError::invalid(
                        "ring",
                        "an anonymous ballot needs the referendum's rings",
                    )
                })?;
                self.ring_statement(rings, &ctx.tag_generator()?)?.verify()
            }
        }
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
    /// The body, then opt(signature point ‖ scalar) ‖ opt(bytes(ring signature)) (04 §4.3).
    fn encode(&self, e: &mut Encoder) {
        self.body().encode(e);
        match &self.signature {
            None => e.u8(0),
            Some(s) => e.u8(1).point(&s.0.t).scalar(&s.0.z),
        };
        match &self.ring_signature {
            None => e.u8(0),
            Some(r) => e.u8(1).bytes(r.as_bytes()),
        };
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod anonymous_tests;
