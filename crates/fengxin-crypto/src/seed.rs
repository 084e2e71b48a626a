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

    /// The (list, epoch) padding secret: SHA-512 of [`crate::labels::PADDING_SECRET`], the
    /// seed, the length-prefixed list id and the big-endian epoch, cut to 32 bytes. Its dummy
    /// tags pad the list's snapshot; it is sealed to the regulator with the list's layout.
    pub fn padding_secret(
        &self,
        list: &fengxin_types::ListId,
        epoch: fengxin_types::Epoch,
    ) -> [u8; 32] {
        use sha2::{Digest, Sha512};
        let list = list.as_str().as_bytes();
        let digest = Sha512::new()
            .chain_update(crate::labels::PADDING_SECRET)
            .chain_update(self.0)
            .chain_update([u8::try_from(list.len()).unwrap_or(u8::MAX)])
            .chain_update(list)
            .chain_update(epoch.get().to_be_bytes())
            .finalize();
        let mut out = [0u8; 32];
        out.copy_from_slice(&digest[..32]);
        out
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
