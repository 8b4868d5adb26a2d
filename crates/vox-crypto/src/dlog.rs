//! Bounded discrete logarithm by baby-step giant-step (protocol-spec/05-tally.md §5.3).
//!
//! A tally t is recovered from t·G. With bound N the table holds ⌈√N⌉ baby steps,
//! so 10⁹ votes per option need a 31,623-entry table and at most as many giant steps.

use std::collections::HashMap;

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::traits::Identity;

use crate::error::{CryptoError, Result};
use crate::group::Point;

/// A baby-step table for solving t·G = P with 0 ≤ t < bound.
pub struct DlogTable {
    /// compressed(j·G) first 8 bytes → j, for 0 ≤ j < m.
    table: HashMap<u64, Vec<u32>>,
    m: u64,
    bound: u64,
}

fn key(p: &RistrettoPoint) -> ([u8; 32], u64) {
    let bytes = p.compress().to_bytes();
    let mut k = [0u8; 8];
    k.copy_from_slice(bytes.get(..8).unwrap_or(&[0u8; 8]));
    (bytes, u64::from_le_bytes(k))
}

impl DlogTable {
    /// Build a table for values below `bound` (at least 1). Bounds above 2⁶⁰ are refused.
    pub fn new(bound: u64) -> Result<Self> {
        if bound == 0 || bound > (1u64 << 60) {
            return Err(CryptoError::Parameter("dlog bound must be in 1..=2^60"));
        }
        let m = (bound as f64).sqrt().ceil() as u64;
        let m = m.max(1);
        let g = curve25519_dalek::constants::RISTRETTO_BASEPOINT_POINT;
        let mut table: HashMap<u64, Vec<u32>> = HashMap::with_capacity(m as usize);
        let mut p = RistrettoPoint::identity();
        for j in 0..m {
            let (_, k) = key(&p);
            table.entry(k).or_default().push(j as u32);
            p += g;
        }
        Ok(Self { table, m, bound })
    }

    /// The exclusive bound this table solves for.
    pub fn bound(&self) -> u64 {
        self.bound
    }

    /// Find t with t·G = `target`, 0 ≤ t < bound.
    pub fn solve(&self, target: &Point) -> Result<u64> {
        let giant = RistrettoPoint::mul_base(&curve25519_dalek::Scalar::from(self.m));
        let mut gamma = *target.as_point();
        let steps = self.bound.div_ceil(self.m);
        for i in 0..steps {
            let (bytes, k) = key(&gamma);
            if let Some(cands) = self.table.get(&k) {
                for &j in cands {
                    let t = i * self.m + u64::from(j);
                    // Confirm the full encoding: the table is keyed by 8 bytes only.
                    let jg = RistrettoPoint::mul_base(&curve25519_dalek::Scalar::from(j));
                    if jg.compress().to_bytes() == bytes && t < self.bound {
                        return Ok(t);
                    }
                }
            }
            gamma -= giant;
        }
        Err(CryptoError::DlogNotFound { bound: self.bound })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::group::Scalar;

    #[test]
    fn solves_small_and_edges() {
        let t = DlogTable::new(1000).unwrap();
        for v in [0u64, 1, 2, 31, 32, 33, 500, 998, 999] {
            assert_eq!(t.solve(&Scalar::from_u64(v).mul_base()).unwrap(), v);
        }
        assert!(t.solve(&Scalar::from_u64(1000).mul_base()).is_err());
        assert!(t.solve(&Scalar::from_u64(5000).mul_base()).is_err());
    }

    #[test]
    fn solves_near_a_billion() {
        let t = DlogTable::new(1_000_000_001).unwrap();
        for v in [0u64, 999_999_999, 1_000_000_000, 123_456_789] {
            assert_eq!(t.solve(&Scalar::from_u64(v).mul_base()).unwrap(), v);
        }
    }

    #[test]
    fn bound_one_and_zero() {
        assert!(DlogTable::new(0).is_err());
        let t = DlogTable::new(1).unwrap();
        assert_eq!(t.solve(&Point::identity()).unwrap(), 0);
        assert!(t.solve(&Point::generator()).is_err());
    }
}
