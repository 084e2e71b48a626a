//! The member's OPRF master seed.

use rand_core::{CryptoRng, RngCore};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// The OPRF master seed: 32 secret bytes from which every (list, epoch) OPRF key is derived.
///
/// It never leaves the node. Zeroised on drop; `Debug` does not print it.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct MasterSeed([u8; MasterSeed::LEN]);

/// The seed file has the wrong length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("OPRF master seed must be {expected} bytes, got {0}", expected = MasterSeed::LEN)]
pub struct SeedLengthError(pub usize);

impl MasterSeed {
    /// Length in bytes.
    pub const LEN: usize = 32;

    /// A fresh random seed.
    pub fn generate<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        let mut b = [0u8; Self::LEN];
        rng.fill_bytes(&mut b);
        Self(b)
    }

    /// Loads a seed from its stored bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, SeedLengthError> {
        let arr: [u8; Self::LEN] = bytes.try_into().map_err(|_| SeedLengthError(bytes.len()))?;
        Ok(Self(arr))
    }

    /// The secret bytes, for writing to the owner-only seed file.
    pub fn expose_secret(&self) -> &[u8; Self::LEN] {
        &self.0
    }
}

impl std::fmt::Debug for MasterSeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterSeed(..)")
    }
}
