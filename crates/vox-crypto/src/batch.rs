//! One code path for single and batch verification (protocol-spec/03-proofs.md §3.8).
//!
//! Every sigma-proof check in vox is a set of equations Σ sᵢ·Pᵢ = 0. A proof's
//! `check` method hands each equation to an [`Equations`] sink:
//! - [`SingleVerifier`] evaluates it at once and names the failing equation;
//! - [`BatchVerifier`] multiplies it by a fresh random 128-bit weight and folds it into
//!   one multiscalar multiplication, merging the coefficients of the shared bases
//!   (G, H and the election key). A forged equation survives with probability ≤ 2⁻¹²⁸.
//!
//! Because both sinks receive the very same equations, batch and single verification
//! can never drift apart.

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
use rand_core::{CryptoRng, RngCore};

use crate::error::{CryptoError, Result};
use crate::generators::pedersen_h;
use crate::group::{Point, Scalar};

/// A base point in a verification equation.
#[derive(Clone, Copy, Debug)]
pub enum Base<'a> {
    /// The generator G.
    G,
    /// The Pedersen generator H.
    H,
    /// A base shared by many equations (e.g. the election key K): its coefficients are merged.
    Shared(&'a Point),
    /// Any other point.
    Var(&'a Point),
}

/// A sink for verification equations.
pub trait Equations {
    /// Require Σ coeffᵢ·baseᵢ = identity. `proof`/`what` name the equation for errors.
    fn require_zero(
        &mut self,
        terms: &[(Scalar, Base<'_>)],
        proof: &'static str,
        what: &'static str,
    ) -> Result<()>;
}

/// Checks each equation as it arrives.
#[derive(Default, Debug, Clone, Copy)]
pub struct SingleVerifier;

impl Equations for SingleVerifier {
    fn require_zero(
        &mut self,
        terms: &[(Scalar, Base<'_>)],
        proof: &'static str,
        what: &'static str,
    ) -> Result<()> {
        let g = curve25519_dalek::constants::RISTRETTO_BASEPOINT_POINT;
        let h = *pedersen_h().as_point();
        let sum = RistrettoPoint::vartime_multiscalar_mul(
            terms.iter().map(|(s, _)| s.0),
            terms.iter().map(|(_, b)| match b {
                Base::G => g,
                Base::H => h,
                Base::Shared(p) | Base::Var(p) => *p.as_point(),
            }),
        );
        if sum.is_identity() {
            Ok(())
        } else {
            Err(CryptoError::ProofInvalid {
                proof,
                reason: what,
            })
        }
    }
}

/// Folds equations into one random linear combination, checked by [`BatchVerifier::finish`].
pub struct BatchVerifier<R: RngCore + CryptoRng> {
    rng: R,
    g: curve25519_dalek::Scalar,
    h: curve25519_dalek::Scalar,
    shared: Vec<(Point, curve25519_dalek::Scalar)>,
    scalars: Vec<curve25519_dalek::Scalar>,
    points: Vec<RistrettoPoint>,
    /// Encodings of `points`, to merge a point that recurs within one proof
    /// (a ciphertext's `a` and `b` appear in two equations each): fewer MSM terms.
    keys: Vec<[u8; 32]>,
    equations: usize,
}

/// How far back a variable point is looked up for merging (one ballot's proof).
const MERGE_WINDOW: usize = 8;

impl<R: RngCore + CryptoRng> BatchVerifier<R> {
    /// A new, empty batch drawing weights from `rng` (OS randomness in production).
    pub fn new(rng: R) -> Self {
        Self {
            rng,
            g: curve25519_dalek::Scalar::ZERO,
            h: curve25519_dalek::Scalar::ZERO,
            shared: Vec::new(),
            scalars: Vec::new(),
            points: Vec::new(),
            keys: Vec::new(),
            equations: 0,
        }
    }

    /// Reserve room for `n` variable points.
    pub fn with_capacity(rng: R, n: usize) -> Self {
        let mut b = Self::new(rng);
        b.scalars.reserve(n);
        b.points.reserve(n);
        b.keys.reserve(n);
        b
    }

    /// Number of equations folded so far.
    pub fn len(&self) -> usize {
        self.equations
    }

    /// Whether no equation has been added.
    pub fn is_empty(&self) -> bool {
        self.equations == 0
    }

    fn weight(&mut self) -> curve25519_dalek::Scalar {
        let mut w = [0u8; 32];
        // 128-bit weights: enough for 2^-128 soundness and twice as fast in the MSM.
        if let Some(low) = w.get_mut(..16) {
            self.rng.fill_bytes(low);
        }
        curve25519_dalek::Scalar::from_bytes_mod_order(w)
    }

    /// Evaluate the combined equation: Ok if all folded equations hold (w.h.p.).
    pub fn finish(self) -> Result<()> {
        let g = curve25519_dalek::constants::RISTRETTO_BASEPOINT_POINT;
        let h = *pedersen_h().as_point();
        let scalars = [self.g, self.h]
            .into_iter()
            .chain(self.shared.iter().map(|(_, s)| *s))
            .chain(self.scalars);
        let points = [g, h]
            .into_iter()
            .chain(self.shared.iter().map(|(p, _)| *p.as_point()))
            .chain(self.points);
        if RistrettoPoint::vartime_multiscalar_mul(scalars, points).is_identity() {
            Ok(())
        } else {
            Err(CryptoError::ProofInvalid {
                proof: "batch",
                reason: "random linear combination of the batch is not the identity",
            })
        }
    }
}

impl<R: RngCore + CryptoRng> Equations for BatchVerifier<R> {
    fn require_zero(
        &mut self,
        terms: &[(Scalar, Base<'_>)],
        _proof: &'static str,
        _what: &'static str,
    ) -> Result<()> {
        let w = self.weight();
        self.equations += 1;
        for (s, base) in terms {
            let ws = w * s.0;
            match base {
                Base::G => self.g += ws,
                Base::H => self.h += ws,
                Base::Shared(p) => {
                    if let Some(entry) = self.shared.iter_mut().find(|(q, _)| q == *p) {
                        entry.1 += ws;
                    } else {
                        self.shared.push((**p, ws));
                    }
                }
                Base::Var(p) => {
                    let start = self.keys.len().saturating_sub(MERGE_WINDOW);
                    let recent = self.keys.get(start..).unwrap_or(&[]);
                    match recent.iter().rposition(|k| k == p.as_bytes()) {
                        Some(pos) => {
                            if let Some(s) = self.scalars.get_mut(start + pos) {
                                *s += ws;
                            }
                        }
                        None => {
                            self.scalars.push(ws);
                            self.points.push(*p.as_point());
                            self.keys.push(p.to_bytes());
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

/// Verify many items in one batch; if the batch fails, re-check each item alone and
/// return the first culprit's index and error. `check(item, sink)` must add all of an
/// item's equations to `sink` and perform its non-equation checks.
pub fn verify_batch_or_find_culprit<T, R, F>(items: &[T], rng: R, check: F) -> Result<()>
where
    R: RngCore + CryptoRng,
    F: Fn(&T, &mut dyn Equations) -> Result<()>,
{
    let mut batch = BatchVerifier::new(rng);
    let mut structural: Option<(usize, CryptoError)> = None;
    for (i, item) in items.iter().enumerate() {
        if let Err(e) = check(item, &mut batch) {
            structural = Some((i, e));
            break;
        }
    }
    if let Some((index, e)) = structural {
        // An earlier item may fail an equation the batch has not evaluated yet; check
        // those alone so that `index` is the first item that fails on its own.
        for (earlier, item) in items.iter().enumerate().take(index) {
            if let Err(e) = check(item, &mut SingleVerifier) {
                return Err(CryptoError::BatchItem {
                    index: earlier,
                    source: Box::new(e),
                });
            }
        }
        return Err(CryptoError::BatchItem {
            index,
            source: Box::new(e),
        });
    }
    if batch.finish().is_ok() {
        return Ok(());
    }
    for (index, item) in items.iter().enumerate() {
        if let Err(e) = check(item, &mut SingleVerifier) {
            return Err(CryptoError::BatchItem {
                index,
                source: Box::new(e),
            });
        }
    }
    // The batch failed but every item passes alone: only possible with a bad RNG draw
    // (probability 2^-128) — still report failure rather than pass.
    Err(CryptoError::ProofInvalid {
        proof: "batch",
        reason: "batch failed but no single item fails; retry verification",
    })
}

impl Equations for &mut dyn Equations {
    fn require_zero(
        &mut self,
        terms: &[(Scalar, Base<'_>)],
        proof: &'static str,
        what: &'static str,
    ) -> Result<()> {
        (**self).require_zero(terms, proof, what)
    }
}
