//! The member's Ed25519 identity key.

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use rand_core::{CryptoRng, RngCore};
use std::fmt;

/// The identity secret key (Ed25519). Zeroised on drop by `ed25519-dalek`.
pub struct IdentityKey(SigningKey);

/// A member's public identity key.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IdentityPublicKey([u8; 32]);

/// Why bytes are not a valid identity key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityKeyError {
    /// Wrong length.
    #[error("identity key must be 32 bytes, got {0}")]
    Length(usize),
    /// Not hexadecimal.
    #[error("identity key is not hexadecimal")]
    Hex,
    /// Not a valid Ed25519 point.
    #[error("identity public key is not a valid Ed25519 point")]
    Point,
}

impl IdentityKey {
    /// A fresh identity key.
    pub fn generate<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        Self(SigningKey::generate(rng))
    }

    /// Loads the secret key from its stored 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, IdentityKeyError> {
        let arr: [u8; 32] = bytes
            .try_into()
            .map_err(|_| IdentityKeyError::Length(bytes.len()))?;
        Ok(Self(SigningKey::from_bytes(&arr)))
    }

    /// The secret bytes, for writing to the owner-only key file.
    pub fn expose_secret(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// The public key.
    pub fn public(&self) -> IdentityPublicKey {
        IdentityPublicKey(self.0.verifying_key().to_bytes())
    }

    /// Signs `message` (which must start with a domain-separation label from [`crate::labels`]).
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.0.sign(message).to_bytes()
    }
}

impl fmt::Debug for IdentityKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdentityKey(public: {})", self.public())
    }
}

impl IdentityPublicKey {
    /// Checks that the bytes are a valid Ed25519 public key.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, IdentityKeyError> {
        let arr: [u8; 32] = bytes
            .try_into()
            .map_err(|_| IdentityKeyError::Length(bytes.len()))?;
        VerifyingKey::from_bytes(&arr).map_err(|_| IdentityKeyError::Point)?;
        Ok(Self(arr))
    }

    /// Parses 64 hexadecimal digits.
    pub fn from_hex(s: &str) -> Result<Self, IdentityKeyError> {
        let bytes = hex::decode(s.trim()).map_err(|_| IdentityKeyError::Hex)?;
        Self::from_slice(&bytes)
    }

    /// The 32 public bytes.
    pub fn to_bytes(self) -> [u8; 32] {
        self.0
    }

    /// Verifies a signature made by [`IdentityKey::sign`] (strict Ed25519 verification).
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        let Ok(sig) = Signature::from_slice(signature) else {
            return false;
        };
        VerifyingKey::from_bytes(&self.0)
            .map(|vk| vk.verify_strict(message, &sig).is_ok())
            .unwrap_or(false)
    }
}

impl fmt::Display for IdentityPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for IdentityPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdentityPublicKey({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;

    #[test]
    fn round_trip_and_rejects() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
        let k = IdentityKey::generate(&mut rng);
        let k2 = IdentityKey::from_slice(&k.expose_secret()).expect("32 bytes");
        assert_eq!(k.public(), k2.public());
        let pk = IdentityPublicKey::from_hex(&k.public().to_string()).expect("valid");
        assert_eq!(pk, k.public());
        assert_eq!(
            IdentityPublicKey::from_slice(&[0; 31]),
            Err(IdentityKeyError::Length(31))
        );
        assert_eq!(
            IdentityPublicKey::from_hex("xy"),
            Err(IdentityKeyError::Hex)
        );
        assert!(IdentityKey::from_slice(&[1; 33]).is_err());
    }

    #[test]
    fn signatures() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(8);
        let k = IdentityKey::generate(&mut rng);
        let other = IdentityKey::generate(&mut rng);
        let sig = k.sign(b"fengxin/test/v1 message");
        assert!(k.public().verify(b"fengxin/test/v1 message", &sig));
        assert!(!k.public().verify(b"fengxin/test/v1 massage", &sig));
        assert!(!other.public().verify(b"fengxin/test/v1 message", &sig));
        let mut bad = sig;
        bad[10] ^= 1;
        assert!(!k.public().verify(b"fengxin/test/v1 message", &bad));
        assert!(!k.public().verify(b"fengxin/test/v1 message", &sig[..63]));
    }
}
