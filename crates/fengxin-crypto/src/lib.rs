//! Fengxin cryptography that does not involve the SNARK.
//!
//! - [`labels`]: every domain-separation label used anywhere in Fengxin, in one place.
//! - [`seed`]: the member's OPRF master seed (secret, zeroised on drop).
//! - [`oprf`]: per-(list, epoch) VOPRF keys (RFC 9497, ristretto255-SHA512, through the `voprf`
//!   crate), the 248-bit tag derived from an OPRF output, and the querier's side of a blinded
//!   evaluation with its DLEQ proof check.
//! - [`identity`]: the member's Ed25519 identity key.

pub mod dleq;
pub mod identity;
pub mod label;
pub mod labels;
pub mod oprf;
pub mod seed;

pub use identity::{IdentityKey, IdentityPublicKey};
pub use oprf::{ListKey, OprfError, OprfPublicKey};
pub use seed::MasterSeed;
