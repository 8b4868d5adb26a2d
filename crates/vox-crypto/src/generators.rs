//! Nothing-up-my-sleeve generators (protocol-spec/01-encodings.md §1.4).
//!
//! Auxiliary generators are derived from published labels by hash-to-group
//! (SHA-512 then the Ristretto255 one-way map, RFC 9496 §4.3.4). The verifier
//! recomputes them; no generator is ever read from a record or a message, so no
//! one can choose a generator whose discrete log they know (the Swiss Post 2019 flaw).

use std::sync::OnceLock;

use curve25519_dalek::ristretto::RistrettoPoint;
use sha2::Sha512;

use crate::group::Point;

/// Label of the Pedersen blinding generator H.
pub const PEDERSEN_H_LABEL: &[u8] = b"vox/v2/pedersen-H";

/// Hash a label to a Ristretto255 point.
pub fn hash_to_point(label: &[u8]) -> Point {
    Point::from_point(RistrettoPoint::hash_from_bytes::<Sha512>(label))
}

/// The Pedersen blinding generator H = hash_to_point("vox/v2/pedersen-H").
pub fn pedersen_h() -> &'static Point {
    static H: OnceLock<Point> = OnceLock::new();
    H.get_or_init(|| hash_to_point(PEDERSEN_H_LABEL))
}

/// The Bulletproofs Pedersen generators `{B: G, B_blinding: H}`.
pub fn pedersen_gens() -> bulletproofs::PedersenGens {
    bulletproofs::PedersenGens {
        B: curve25519_dalek::constants::RISTRETTO_BASEPOINT_POINT,
        B_blinding: *pedersen_h().as_point(),
    }
}

/// Maximum number of aggregated values in one range proof (a power of two).
pub const MAX_RANGE_PARTIES: usize = 64;

/// The Bulletproofs vector generators (derived by the bulletproofs crate from its own
/// fixed labels, capacity 64 bits × [`MAX_RANGE_PARTIES`] parties).
pub fn bulletproof_gens() -> &'static bulletproofs::BulletproofGens {
    static GENS: OnceLock<bulletproofs::BulletproofGens> = OnceLock::new();
    GENS.get_or_init(|| bulletproofs::BulletproofGens::new(64, MAX_RANGE_PARTIES))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn h_is_not_g_and_is_stable() {
        let h = pedersen_h();
        assert_ne!(*h, Point::generator());
        assert!(!h.is_identity());
        // Frozen value: changing the derivation changes the protocol.
        assert_eq!(h.to_hex(), hash_to_point(PEDERSEN_H_LABEL).to_hex());
    }
}
