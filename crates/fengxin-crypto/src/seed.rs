//! The member's OPRF master seed.

use rand_core::{CryptoRng, RngCore};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// The OPRF master seed: 32 secret bytes from which every (list, epoch) OPRF key of one
/// generation is derived, and the generation's number.
///
/// Generation 0 is drawn at random when the node is created; each later one is
/// [`MasterSeed::ratchet`]ed from the one before by a one-way function, and the node then
/// erases the old one. A node compromised at generation n exposes the keys derived from
/// generation n and later, not those of the earlier generations whose snapshots queriers kept.
///
/// It never leaves the node. Zeroised on drop; `Debug` does not print it.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct MasterSeed {
    bytes: [u8; MasterSeed::LEN],
    generation: u64,
}

/// The seed file has the wrong length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "OPRF master seed must be {short} bytes (generation 0) or {long} bytes (generation, seed), got {0}",
    short = MasterSeed::LEN,
    long = MasterSeed::ENCODED_LEN
)]
pub struct SeedLengthError(pub usize);

impl MasterSeed {
    /// Length of the secret in bytes.
    pub const LEN: usize = 32;

    /// Length of [`MasterSeed::encode`]: the generation (u64 BE) and the secret.
    pub const ENCODED_LEN: usize = 8 + Self::LEN;

    /// A fresh random seed, generation 0.
    pub fn generate<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        let mut bytes = [0u8; Self::LEN];
        rng.fill_bytes(&mut bytes);
        Self {
            bytes,
            generation: 0,
        }
    }

    /// Loads a seed from its stored bytes: [`MasterSeed::encode`]'s 40 bytes, or 32 bytes of a
    /// generation-0 seed.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, SeedLengthError> {
        match bytes.len() {
            Self::LEN => Ok(Self::from_parts(
                bytes.try_into().map_err(|_| SeedLengthError(bytes.len()))?,
                0,
            )),
            Self::ENCODED_LEN => {
                let (generation, secret) = bytes.split_at(8);
                let generation = u64::from_be_bytes(
                    generation
                        .try_into()
                        .map_err(|_| SeedLengthError(bytes.len()))?,
                );
                Ok(Self::from_parts(
                    secret
                        .try_into()
                        .map_err(|_| SeedLengthError(bytes.len()))?,
                    generation,
                ))
            }
            n => Err(SeedLengthError(n)),
        }
    }

    /// A seed from its secret bytes and generation.
    pub fn from_parts(bytes: [u8; Self::LEN], generation: u64) -> Self {
        Self { bytes, generation }
    }

    /// The stored form: the generation (u64 BE) followed by the secret (owner-only file).
    pub fn encode(&self) -> zeroize::Zeroizing<[u8; Self::ENCODED_LEN]> {
        let mut out = zeroize::Zeroizing::new([0u8; Self::ENCODED_LEN]);
        out[..8].copy_from_slice(&self.generation.to_be_bytes());
        out[8..].copy_from_slice(&self.bytes);
        out
    }

    /// The seed's generation: 0 when the node was created, one more at each ratchet.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The next generation's seed: SHA-512 of [`crate::labels::SEED_RATCHET`] and this seed,
    /// cut to 32 bytes. One-way: the new seed does not give this one back, so erasing this
    /// one erases every key derived from it. `None` after `u64::MAX` generations.
    pub fn ratchet(&self) -> Option<Self> {
        use sha2::{Digest, Sha512};
        let generation = self.generation.checked_add(1)?;
        let mut digest = Sha512::new()
            .chain_update(crate::labels::SEED_RATCHET)
            .chain_update(self.bytes)
            .finalize();
        let mut bytes = [0u8; Self::LEN];
        bytes.copy_from_slice(&digest[..Self::LEN]);
        digest[..].zeroize();
        Some(Self { bytes, generation })
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
            .chain_update(self.bytes)
            .chain_update([u8::try_from(list.len()).unwrap_or(u8::MAX)])
            .chain_update(list)
            .chain_update(epoch.get().to_be_bytes())
            .finalize();
        let mut out = [0u8; 32];
        out.copy_from_slice(&digest[..32]);
        out
    }

    /// The secret bytes (the input of every key derivation).
    pub fn expose_secret(&self) -> &[u8; Self::LEN] {
        &self.bytes
    }
}

impl std::fmt::Debug for MasterSeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MasterSeed(generation {}, ..)", self.generation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ListKey;
    use fengxin_types::{Epoch, ListId};

    #[test]
    fn the_ratchet_moves_forward_and_changes_every_key() {
        let seed = MasterSeed::from_slice(&[7; 32]).expect("seed");
        assert_eq!(seed.generation(), 0);
        let next = seed.ratchet().expect("ratchet");
        assert_eq!(next.generation(), 1);
        assert_ne!(next.expose_secret(), seed.expose_secret());
        // Deterministic: the same seed ratchets to the same next one.
        let again = seed.ratchet().expect("ratchet");
        assert_eq!(again.expose_secret(), next.expose_secret());
        // Every key and padding secret changes, for the same (list, epoch) too.
        let list = ListId::parse("fraud_txn").expect("list");
        let epoch = Epoch::new(2).expect("epoch");
        let old = ListKey::derive(&seed, &list, epoch).expect("key");
        let new = ListKey::derive(&next, &list, epoch).expect("key");
        assert_ne!(old.public_key().to_bytes(), new.public_key().to_bytes());
        assert_ne!(
            seed.padding_secret(&list, epoch),
            next.padding_secret(&list, epoch)
        );
        // The label separates the ratchet from a plain hash of the seed.
        use sha2::{Digest, Sha512};
        let plain = Sha512::digest(seed.expose_secret());
        assert_ne!(&plain[..32], next.expose_secret());
        let last = MasterSeed::from_parts([1; 32], u64::MAX);
        assert!(last.ratchet().is_none());
    }

    #[test]
    fn the_stored_form_round_trips_and_bad_lengths_are_refused() {
        let seed = MasterSeed::from_slice(&[9; 32])
            .expect("seed")
            .ratchet()
            .and_then(|s| s.ratchet())
            .expect("ratchet");
        let stored = seed.encode();
        assert_eq!(&stored[..8], &2u64.to_be_bytes());
        let back = MasterSeed::from_slice(&stored[..]).expect("decode");
        assert_eq!(back.generation(), 2);
        assert_eq!(back.expose_secret(), seed.expose_secret());
        for len in [0, 31, 33, 39, 41, 64] {
            assert_eq!(
                MasterSeed::from_slice(&vec![1; len]).map(|_| ()),
                Err(SeedLengthError(len))
            );
        }
        assert_eq!(format!("{seed:?}"), "MasterSeed(generation 2, ..)");
    }
}
