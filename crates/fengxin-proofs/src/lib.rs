//! Groth16 membership proofs for Fengxin (docs/cryptography.md).
//!
//! A responder proves, for a queried tag, either that the tag's leaf is in its indexed Merkle
//! tree (`result = true`) or that the tag falls in the gap of one of its leaves (`result =
//! false`); see `fengxin_circuits::membership` for the statement. One circuit and one verifying
//! key serve both answers.
//!
//! * [`PublicInputs`] `{ root, tag, result }` and [`PrivateWitness`] (a tree leaf and its path);
//! * [`Prover`]: proving with cached constraint matrices ([`Prover::prove`],
//!   [`Prover::prove_lookup`]);
//! * [`Verifier`]: [`Verifier::verify`] and [`Verifier::verify_batch`];
//! * [`MembershipProof`]: 129-byte versioned, compressed encoding; decoding never panics;
//! * [`keys`]: the manifest of key hashes and key loading ([`keys::load_prover`],
//!   [`keys::load_verifier`]); keys whose SHA-256 differs from the manifest are refused. The
//!   committed keys are **development keys — not for production** (deterministic setup from a
//!   public seed).

mod error;
mod groth16;
pub mod keys;
mod msm;
mod proof;
mod prover;
mod verifier;

pub use error::{DecodeError, KeyLoadError, ProveError, SetupError, VerifyError};
pub use groth16::ProveBreakdown;
pub use proof::{MembershipProof, PrivateWitness, PublicInputs};
pub use prover::Prover;
pub use verifier::{VerifiedAnswer, Verifier};
