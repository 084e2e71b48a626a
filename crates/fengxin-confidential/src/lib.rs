//! Fengxin confidential counters and the regulator's view key (docs/cryptography.md,
//! docs/credits.md).
//!
//! # What this crate provides
//!
//! - [`pedersen`]: Pedersen commitments `C = v·B + r·H` over Ristretto255 with the generators of
//!   `bulletproofs::PedersenGens::default()`, their openings, and the homomorphic operations
//!   the ledger uses to compute allowances from committed list sizes.
//! - [`range`]: Bulletproofs range proofs (32- and 64-bit, single or aggregated up to
//!   [`MAX_AGGREGATION`] values) that a commitment opens to a value in `[0, 2^bits)`.
//! - [`elgamal`]: twisted ElGamal decrypt handles `D = r·P` that let the regulator, holding
//!   `s` with `P = s⁻¹·H`, compute `C - s·D = v·B`; [`dlog`] turns `v·B` back into `v < 2^32`.
//! - [`handle_proof`]: a sigma protocol proving that a handle matches its commitment.
//! - [`count`]: [`CommittedCount`], the bundle a member publishes for each list size.
//! - [`view`]: the regulator's view key ([`ViewSecret`] / [`ViewPublicKey`]), one seed for both
//!   the HPKE and the ElGamal halves.
//! - [`details`]: HPKE (RFC 9180) encryption of query-record details to the view key.
//! - [`labels`]: every domain-separation label of this crate.
//!
//! # What is proven, and to whom
//!
//! Anyone with the ledger can check, for a [`CommittedCount`], that the committed size is below
//! `2^32` and that the regulator can decrypt it, without learning the size. A querier's
//! allowance proof ([`prove_range_with_context`] under [`labels::ALLOWANCE_RANGE_PROOF`]) shows
//! that its remaining allowance — a commitment the ledger derives homomorphically — is in
//! `[0, 2^64)`, i.e. not negative, without revealing it. Only the regulator learns the values
//! (and the sealed record details).
//!
//! # Conventions
//!
//! All group arithmetic is in Ristretto255 (prime order `ℓ ≈ 2^252`). All encodings are
//! canonical and fixed: 32-byte compressed points, 32-byte little-endian canonical scalars;
//! serde writes every type as lower-case hex of its bytes. Parsing never panics; every failure
//! is a [`ConfidentialError`]. Secrets ([`Opening`], [`ViewSecret`]) are wiped on drop and
//! never printed.
//!
//! # Example
//!
//! ```
//! use fengxin_confidential::{CommittedCount, ViewSecret};
//! use rand_core::OsRng;
//!
//! // The regulator's key (in production the seed comes from the regulator's key store,
//! // and members only see `regulator.public()` in the genesis file).
//! let regulator = ViewSecret::from_seed([7u8; 32]);
//! let pk = regulator.public().elgamal();
//!
//! // A member commits to the size of one of its lists for this epoch.
//! let context = b"member 3 / fraud_txn / epoch 12";
//! let (count, _opening) = CommittedCount::new(1_234, &pk, context, &mut OsRng)?;
//!
//! // Every node checks it without learning the size.
//! count.verify(&pk, context)?;
//! # Ok::<(), fengxin_confidential::ConfidentialError>(())
//! ```

pub mod count;
pub mod details;
pub mod dlog;
pub mod elgamal;
mod encoding;
mod error;
pub mod handle_proof;
pub mod labels;
pub mod pedersen;
pub mod range;
pub mod view;

pub use count::CommittedCount;
pub use details::{open_details, seal_details, SealedDetails};
pub use dlog::precompute_decryption_table;
pub use elgamal::{DecryptHandle, ElGamalPublicKey};
pub use error::ConfidentialError;
pub use handle_proof::HandleProof;
pub use pedersen::{pedersen_gens, Commitment, Opening};
pub use range::{
    prove_range, prove_range_aggregated, prove_range_aggregated_with_context,
    prove_range_with_context, verify_range, verify_range_aggregated,
    verify_range_aggregated_with_context, verify_range_with_context, RangeProof, MAX_AGGREGATION,
    MAX_RANGE_PROOF_LEN,
};
pub use view::{ViewPublicKey, ViewSecret};
