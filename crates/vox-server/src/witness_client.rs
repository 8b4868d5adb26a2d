//! The board's client of tlog witnesses (c2sp.org/tlog-witness, protocol-spec/12-witnesses.md
//! §12.5): ask one witness to cosign a signed checkpoint, and return its cosignature only
//! once it verifies against the checkpoint text under the witness's pinned key.
//!
//! Depends on `vox_protocol::tlog` and an HTTP client only (no module of this crate), so it
//! sits at the bottom of the module layers and the board's append path can call it.
//!
//! The HTTP client is `ureq` (blocking), run on tokio's blocking pool by
//! [`request_cosignature`]: one request per witness per tree head does not need an async
//! client, and ureq is already in the workspace. Every request has a connect timeout and
//! a total timeout ([`WitnessEndpoint::timeout`]), so a dead or stalled witness costs the
//! board at most that long, never a hang.

use std::io::Read;
use std::time::Duration;

use vox_protocol::merkle::NodeHash;
use vox_protocol::tlog::{
    parse_add_checkpoint_response, AddCheckpointRequest, Checkpoint, CosignatureV1, KeyType, Note,
    NoteSignature, TlogError, VerifierKey, TLOG_SIZE_CONTENT_TYPE,
};

/// How long a witness may take, connect and answer included, unless the endpoint says
/// otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// The most bytes read from a witness's answer: a few signature lines, or an error text.
const MAX_RESPONSE_SIZE: u64 = 64 * 1024;

/// Why a witness gave no usable cosignature.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WitnessClientError {
    /// The witness's URL is not an `http://` or `https://` base URL.
    #[error("witness URL {url:?}: {reason}")]
    BadUrl {
        /// The URL given.
        url: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// The key given for a witness is not a cosignature/v1 key (type 0x04).
    #[error("witness key {0} is not a cosignature/v1 witness key (type 0x04)")]
    NotAWitnessKey(String),
    /// A `--witness` argument that is not `VKEY@URL`.
    #[error("witness {arg:?}: {reason} (expected VKEY@URL, e.g. w.example/w1+1a2b3c4d+BK…@http://127.0.0.1:7380)")]
    BadArgument {
        /// The argument.
        arg: String,
        /// What is wrong.
        reason: String,
    },
    /// The request could not be built (a proof of more than 63 hashes).
    #[error("building the add-checkpoint request: {0}")]
    Request(#[source] TlogError),
    /// No answer: connection refused, timeout, TLS or I/O error.
    #[error("witness {url} did not answer: {reason}")]
    Unreachable {
        /// The request URL.
        url: String,
        /// What happened.
        reason: String,
    },
    /// 409: the witness's last cosigned checkpoint has `size`, not the `old` sent. Retry
    /// with `old = size` and a consistency proof from `size` (if `size` is not larger
    /// than the checkpoint; if it is, the log has rolled back or forked).
    #[error("witness {url} has cosigned size {size}, not the old size sent; retry from {size}")]
    Conflict {
        /// The request URL.
        url: String,
        /// The size of the last checkpoint the witness cosigned for this log.
        size: u64,
    },
    /// Another refusal (400, 403, 404, 422, 5xx…), with the witness's words.
    #[error("witness {url} refused with {status}: {body}")]
    Refused {
        /// The request URL.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The start of the answer's body.
        body: String,
    },
    /// A 200 whose body is not signature lines, or a 409 whose body is not a size.
    #[error("witness {url} answered something malformed: {reason}")]
    BadResponse {
        /// The request URL.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// A 200 with no signature line from this witness's key.
    #[error("witness {url} answered without a cosignature from {vkey}")]
    NoCosignature {
        /// The request URL.
        url: String,
        /// The witness key expected.
        vkey: String,
    },
    /// A cosignature line from this witness's key that does not verify on the checkpoint.
    #[error("witness {url}: the cosignature does not verify on the checkpoint: {source}")]
    BadCosignature {
        /// The request URL.
        url: String,
        /// Why.
        #[source]
        source: TlogError,
    },
    /// The blocking task running the request failed (runtime shutting down).
    #[error("the witness request task failed: {0}")]
    Task(String),
}

/// A witness the board asks for cosignatures: where it listens and the key its
/// cosignatures must verify under (the one pinned in the genesis).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WitnessEndpoint {
    /// The base URL, without a trailing `/`: requests go to `<url>/add-checkpoint`.
    url: String,
    /// The witness's cosignature/v1 verifier key.
    vkey: VerifierKey,
    /// Connect + answer time limit for one request.
    pub timeout: Duration,
}

impl WitnessEndpoint {
    /// A witness at base URL `url` (`http://` or `https://`; its submission prefix) with
    /// verifier key `vkey`, with [`DEFAULT_TIMEOUT`].
    ///
    /// # Errors
    /// [`WitnessClientError::BadUrl`], or [`WitnessClientError::NotAWitnessKey`] if `vkey`
    /// is not of type 0x04 (a log's note key would never verify a cosignature).
    pub fn new(url: &str, vkey: VerifierKey) -> Result<Self, WitnessClientError> {
        let bad = |reason| WitnessClientError::BadUrl {
            url: url.to_owned(),
            reason,
        };
        let rest = url
            .strip_prefix("http://")
            .or_else(|| url.strip_prefix("https://"))
            .ok_or(bad("only http:// and https:// URLs are supported"))?;
        if rest.is_empty() || rest.starts_with('/') {
            return Err(bad("no host"));
        }
        if url.contains(['?', '#']) || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad("a base URL has no query, fragment or spaces"));
        }
        if vkey.key_type() != KeyType::CosignatureV1 {
            return Err(WitnessClientError::NotAWitnessKey(vkey.to_string()));
        }
        Ok(Self {
            url: url.trim_end_matches('/').to_owned(),
            vkey,
            timeout: DEFAULT_TIMEOUT,
        })
    }

    /// The base URL (no trailing `/`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The witness's verifier key.
    pub fn vkey(&self) -> &VerifierKey {
        &self.vkey
    }
}

/// Parse a `--witness` argument, `VKEY@URL`: the witness's verifier key, `@`, its base URL.
///
/// Unambiguous although a key name may contain `@`: the name ends at the vkey's first `+`,
/// and the key ID and base64 key after it contain no `@`, so the first `@` after the
/// first `+` ends the vkey.
///
/// # Errors
/// [`WitnessClientError::BadArgument`], or those of [`WitnessEndpoint::new`].
pub fn parse_witness_arg(arg: &str) -> Result<WitnessEndpoint, WitnessClientError> {
    let bad = |reason: String| WitnessClientError::BadArgument {
        arg: arg.to_owned(),
        reason,
    };
    let name_end = arg.find('+').ok_or_else(|| bad("no verifier key".into()))?;
    let at = arg
        .get(name_end..)
        .and_then(|tail| tail.find('@'))
        .map(|i| name_end + i)
        .ok_or_else(|| bad("no `@` between the verifier key and the URL".into()))?;
    let (vkey, url) = (arg.get(..at), arg.get(at + 1..));
    let (Some(vkey), Some(url)) = (vkey, url) else {
        return Err(bad("no `@` between the verifier key and the URL".into()));
    };
    let vkey = VerifierKey::parse(vkey).map_err(|e| bad(format!("verifier key: {e}")))?;
    WitnessEndpoint::new(url, vkey)
}

/// A witness's verified cosignature of a checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WitnessCosignature {
    /// The signature line, to add to the checkpoint note (`Note::add_signature`).
    pub line: NoteSignature,
    /// Its timestamp (POSIX seconds) and Ed25519 signature.
    pub cosignature: CosignatureV1,
}

/// Ask `endpoint` to cosign `checkpoint` (the log-signed checkpoint note), telling it the
/// last size it cosigned is `old_size` and proving consistency from there with `proof`
/// (RFC 9162 §2.1.4; empty when `old_size` is 0 or the checkpoint's size).
///
/// Returns the cosignature only if it verifies on the checkpoint text under the
/// endpoint's key. Runs the blocking HTTP request on tokio's blocking pool.
///
/// # Errors
/// [`WitnessClientError::Conflict`] carries the witness's size, to retry with the right
/// `old_size` and proof; every other failure is final for this attempt.
pub async fn request_cosignature(
    endpoint: &WitnessEndpoint,
    checkpoint: &Note,
    old_size: u64,
    proof: &[NodeHash],
) -> Result<WitnessCosignature, WitnessClientError> {
    let (endpoint, checkpoint, proof) = (endpoint.clone(), checkpoint.clone(), proof.to_vec());
    tokio::task::spawn_blocking(move || {
        request_cosignature_blocking(&endpoint, &checkpoint, old_size, &proof)
    })
    .await
    .map_err(|e| WitnessClientError::Task(e.to_string()))?
}

/// [`request_cosignature`] on the calling thread (for tools and tests without a runtime).
///
/// # Errors
/// As [`request_cosignature`].
pub fn request_cosignature_blocking(
    endpoint: &WitnessEndpoint,
    checkpoint: &Note,
    old_size: u64,
    proof: &[NodeHash],
) -> Result<WitnessCosignature, WitnessClientError> {
    let url = format!("{}/add-checkpoint", endpoint.url);
    let body = AddCheckpointRequest {
        old_size,
        proof: proof.to_vec(),
        note: checkpoint.clone(),
    }
    .to_bytes()
    .map_err(WitnessClientError::Request)?;
    let agent = ureq::AgentBuilder::new()
        .timeout_connect(endpoint.timeout)
        .timeout(endpoint.timeout)
        // A witness answers; it does not send the board elsewhere.
        .redirects(0)
        .build();
    let unreachable = |reason: String| WitnessClientError::Unreachable {
        url: url.clone(),
        reason,
    };
    let (status, content_type, answer) = match agent
        .post(&url)
        .set("Content-Type", "text/plain; charset=utf-8")
        .send_bytes(&body)
    {
        Ok(r) => {
            let ct = r.content_type().to_owned();
            (r.status(), ct, read_body(r).map_err(unreachable)?)
        }
        Err(ureq::Error::Status(status, r)) => {
            let ct = r.content_type().to_owned();
            (status, ct, read_body(r).map_err(unreachable)?)
        }
        Err(ureq::Error::Transport(t)) => return Err(unreachable(t.to_string())),
    };
    match status {
        200 => verify_answer(endpoint, checkpoint, &url, &answer),
        409 => {
            let size = std::str::from_utf8(&answer)
                .ok()
                .and_then(|s| s.strip_suffix('\n'))
                .and_then(|s| s.parse::<u64>().ok())
                .filter(|_| content_type == TLOG_SIZE_CONTENT_TYPE);
            match size {
                Some(size) => Err(WitnessClientError::Conflict { url, size }),
                None => Err(WitnessClientError::BadResponse {
                    url,
                    reason: format!(
                        "a 409 must be `<size>\\n` as {TLOG_SIZE_CONTENT_TYPE}, got {content_type}"
                    ),
                }),
            }
        }
        _ => {
            let text = String::from_utf8_lossy(&answer);
            let body: String = text.trim().chars().take(300).collect();
            Err(WitnessClientError::Refused { url, status, body })
        }
    }
}

/// [`request_cosignature`] that recovers from a stale `old_size` once: on a 409 whose size
/// is not larger than the checkpoint's, it retries from the witness's size with the
/// proof `proof_from(size)` (the board computes it from its tree). A 409 with a larger
/// size (the checkpoint would roll the witness back), or `proof_from` returning `None`,
/// ends with the [`WitnessClientError::Conflict`].
///
/// # Errors
/// As [`request_cosignature`]; [`WitnessClientError::BadResponse`] if `checkpoint` is not
/// a checkpoint.
pub async fn request_cosignature_with_retry<F>(
    endpoint: &WitnessEndpoint,
    checkpoint: &Note,
    old_size: u64,
    proof: &[NodeHash],
    proof_from: F,
) -> Result<WitnessCosignature, WitnessClientError>
where
    F: FnOnce(u64) -> Option<Vec<NodeHash>> + Send + 'static,
{
    let (endpoint, checkpoint, proof) = (endpoint.clone(), checkpoint.clone(), proof.to_vec());
    tokio::task::spawn_blocking(move || {
        request_cosignature_with_retry_blocking(
            &endpoint,
            &checkpoint,
            old_size,
            &proof,
            proof_from,
        )
    })
    .await
    .map_err(|e| WitnessClientError::Task(e.to_string()))?
}

/// [`request_cosignature_with_retry`] on the calling thread.
///
/// # Errors
/// As [`request_cosignature_with_retry`].
pub fn request_cosignature_with_retry_blocking<F>(
    endpoint: &WitnessEndpoint,
    checkpoint: &Note,
    old_size: u64,
    proof: &[NodeHash],
    proof_from: F,
) -> Result<WitnessCosignature, WitnessClientError>
where
    F: FnOnce(u64) -> Option<Vec<NodeHash>>,
{
    let size = Checkpoint::parse(checkpoint.text())
        .map_err(|e| WitnessClientError::BadResponse {
            url: endpoint.url.clone(),
            reason: format!("the note to cosign is not a checkpoint: {e}"),
        })?
        .size;
    match request_cosignature_blocking(endpoint, checkpoint, old_size, proof) {
        Err(WitnessClientError::Conflict { url, size: theirs }) => {
            let retry = (theirs <= size && theirs != old_size)
                .then(|| proof_from(theirs))
                .flatten();
            match retry {
                Some(p) => request_cosignature_blocking(endpoint, checkpoint, theirs, &p),
                None => Err(WitnessClientError::Conflict { url, size: theirs }),
            }
        }
        other => other,
    }
}

fn read_body(r: ureq::Response) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    r.into_reader()
        .take(MAX_RESPONSE_SIZE)
        .read_to_end(&mut out)
        .map_err(|e| format!("reading the answer: {e}"))?;
    Ok(out)
}

/// Keep the line from the endpoint's key (name and key ID) and verify it on the
/// checkpoint text; lines from other keys are ignored (a witness may cosign with several).
fn verify_answer(
    endpoint: &WitnessEndpoint,
    checkpoint: &Note,
    url: &str,
    answer: &[u8],
) -> Result<WitnessCosignature, WitnessClientError> {
    let lines =
        parse_add_checkpoint_response(answer).map_err(|e| WitnessClientError::BadResponse {
            url: url.to_owned(),
            reason: e.to_string(),
        })?;
    let vkey = &endpoint.vkey;
    let line = lines
        .into_iter()
        .find(|l| l.name == *vkey.name() && l.key_id == vkey.key_id())
        .ok_or_else(|| WitnessClientError::NoCosignature {
            url: url.to_owned(),
            vkey: vkey.to_string(),
        })?;
    let bad = |source| WitnessClientError::BadCosignature {
        url: url.to_owned(),
        source,
    };
    // The checkpoint text with this line only: `Note::verify` checks it under the key.
    let mut note = Note::new(checkpoint.text()).map_err(bad)?;
    note.add_signature(line.clone()).map_err(bad)?;
    note.verify(std::slice::from_ref(vkey)).map_err(bad)?;
    let cosignature = CosignatureV1::from_signature_bytes(&line.signature).map_err(bad)?;
    Ok(WitnessCosignature { line, cosignature })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use ed25519_dalek::SigningKey;
    use vox_protocol::tlog::{cosign, KeyName};

    fn witness_vkey(name: &str) -> (SigningKey, VerifierKey) {
        let k = SigningKey::from_bytes(&[9; 32]);
        let v = VerifierKey::new(
            KeyName::new(name).unwrap(),
            KeyType::CosignatureV1,
            k.verifying_key(),
        );
        (k, v)
    }

    #[test]
    fn witness_arguments_parse_or_explain() {
        let (_, v) = witness_vkey("w@example/w1");
        let e = parse_witness_arg(&format!("{v}@http://127.0.0.1:7380/")).unwrap();
        assert_eq!(e.url(), "http://127.0.0.1:7380");
        assert_eq!(e.vkey(), &v);
        assert_eq!(e.timeout, DEFAULT_TIMEOUT);
        for (bad, says) in [
            (format!("{v}"), "no `@`"),
            ("http://127.0.0.1:1".to_owned(), "no verifier key"),
            (format!("{v}@ftp://x"), "http://"),
            (format!("{v}@http://"), "no host"),
            (format!("{v}@http://x/?a=b"), "query"),
            ("a+00000000+AAAA@http://x".to_owned(), "verifier key"),
        ] {
            let e = parse_witness_arg(&bad).unwrap_err().to_string();
            assert!(e.contains(says), "{bad}: {e}");
        }
        // A log's note key is not a witness key.
        let k = SigningKey::from_bytes(&[3; 32]);
        let note_key = VerifierKey::new(
            KeyName::new("log.example").unwrap(),
            KeyType::Ed25519,
            k.verifying_key(),
        );
        let e = parse_witness_arg(&format!("{note_key}@http://x")).unwrap_err();
        assert!(matches!(e, WitnessClientError::NotAWitnessKey(_)), "{e}");
    }

    #[test]
    fn only_a_verifying_line_of_this_witness_is_accepted() {
        let (k, v) = witness_vkey("w.example/w1");
        let endpoint = WitnessEndpoint::new("http://127.0.0.1:1", v).unwrap();
        let log = SigningKey::from_bytes(&[1; 32]);
        let mut note =
            Note::new("log.example\n1\nbv2tZ2FJzPK7pZ1YvhXrOpodhGqBHC/sDaJ+Kp2ZCeU=\n").unwrap();
        note.sign(&KeyName::new("log.example").unwrap(), &log)
            .unwrap();
        let good = cosign(note.text(), endpoint.vkey().name(), &k, 1_767_226_200).unwrap();
        let c = verify_answer(&endpoint, &note, "u", good.to_line().as_bytes()).unwrap();
        assert_eq!(c.cosignature.timestamp, 1_767_226_200);
        assert_eq!(c.line, good);
        // Another witness's line only: no cosignature.
        let other = SigningKey::from_bytes(&[8; 32]);
        let theirs = cosign(
            note.text(),
            &KeyName::new("w.example/w2").unwrap(),
            &other,
            5,
        )
        .unwrap();
        let e = verify_answer(&endpoint, &note, "u", theirs.to_line().as_bytes()).unwrap_err();
        assert!(matches!(e, WitnessClientError::NoCosignature { .. }), "{e}");
        // This witness's line over another text: refused.
        let wrong = cosign("log.example\n2\nx\n", endpoint.vkey().name(), &k, 5).unwrap();
        let e = verify_answer(&endpoint, &note, "u", wrong.to_line().as_bytes()).unwrap_err();
        assert!(
            matches!(e, WitnessClientError::BadCosignature { .. }),
            "{e}"
        );
        let e = verify_answer(&endpoint, &note, "u", b"nonsense\n").unwrap_err();
        assert!(matches!(e, WitnessClientError::BadResponse { .. }), "{e}");
    }
}
