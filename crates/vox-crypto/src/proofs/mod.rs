//! Zero-knowledge proofs (protocol-spec/03-proofs.md).
//!
//! Each proof is sent in commitment form (the prover's T values, the challenge
//! shares where a disjunction needs them, and the responses), so that many proofs can
//! be checked at once by a [`crate::batch::BatchVerifier`]. Each `check` method
//! recomputes the Fiat–Shamir challenge from the transcript (context, full statement,
//! commitments) and hands its verification equations to an [`crate::batch::Equations`] sink.

pub mod dleq;
pub mod link;
pub mod range;
pub mod schnorr;
pub mod zero_one;

pub use dleq::{ConstantProof, DleqProof};
pub use link::LinkProof;
pub use range::{RangeProof, RangeStatement};
pub use schnorr::SchnorrProof;
pub use zero_one::ZeroOneProof;
