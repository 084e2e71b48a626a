//! The regulator's view key.
//!
//! One 32-byte seed determines both halves of the key:
//!
//! - **HPKE** (X25519): `ikm = SHA-512(VIEW_KEY_HPKE ‖ seed)`, then RFC 9180 `DeriveKeyPair(ikm)`
//!   of DHKEM(X25519, HKDF-SHA256). Used by [`crate::seal_details`] / [`crate::open_details`].
//! - **ElGamal**: `s = SHA-512(VIEW_KEY_ELGAMAL ‖ ctr ‖ seed) mod ℓ` for the first one-byte
//!   counter `ctr = 0, 1, …` giving a non-zero `s` (in practice always `ctr = 0`). The public key
//!   is `P = s⁻¹·H` (see [`crate::elgamal`]).
//!
//! The labels are in [`crate::labels`]. The public half, [`ViewPublicKey`], is what the genesis
//! file names: 64 bytes `X25519 public key ‖ compressed Ristretto P`, written as 128 hex
//! characters (also its serde form).

use crate::elgamal::ElGamalSecret;
use crate::encoding::{decode_hex_array, serde_via_hex, to_array};
use crate::{labels, Commitment, ConfidentialError, DecryptHandle, ElGamalPublicKey};
use curve25519_dalek::montgomery::MontgomeryPoint;
use curve25519_dalek::scalar::Scalar;
use hpke::kem::X25519HkdfSha256;
use hpke::{Kem, Serializable};
use sha2::{Digest, Sha512};
use zeroize::Zeroizing;

/// The X25519 private key type of the HPKE suite.
pub(crate) type HpkePrivateKey = <X25519HkdfSha256 as Kem>::PrivateKey;

/// The regulator's view secret key: HPKE X25519 private key and ElGamal scalar, derived from a
/// 32-byte seed. Wiped on drop (the `hpke` private key wipes itself; see `Cargo.toml`).
#[derive(Clone)]
pub struct ViewSecret {
    hpke_secret: HpkePrivateKey,
    elgamal: ElGamalSecret,
    public: ViewPublicKey,
}

impl ViewSecret {
    /// Derives the view key from a 32-byte seed (see the [module documentation](self)).
    ///
    /// The seed should come from a CSPRNG and be stored like any other long-term secret;
    /// the same seed always gives the same key.
    pub fn from_seed(seed: [u8; 32]) -> Self {
        let seed = Zeroizing::new(seed);
        let ikm: Zeroizing<[u8; 64]> = Zeroizing::new(
            Sha512::new()
                .chain_update(labels::VIEW_KEY_HPKE)
                .chain_update(seed.as_slice())
                .finalize()
                .into(),
        );
        let (hpke_secret, hpke_public) = X25519HkdfSha256::derive_keypair(ikm.as_slice());

        let elgamal = derive_elgamal(&seed);
        let public = ViewPublicKey {
            hpke: hpke_public.to_bytes().into(),
            elgamal: elgamal.public(),
        };
        ViewSecret {
            hpke_secret,
            elgamal,
            public,
        }
    }

    /// The public half, to be published (genesis) and used by members.
    pub fn public(&self) -> ViewPublicKey {
        self.public
    }

    pub(crate) fn hpke_secret(&self) -> &HpkePrivateKey {
        &self.hpke_secret
    }

    #[cfg(test)]
    pub(crate) fn elgamal_secret(&self) -> &ElGamalSecret {
        &self.elgamal
    }

    /// Decrypts a committed value `v < 2^32` from its commitment and decrypt handle:
    /// `C - s·D = v·B`, then a discrete logarithm (see [`crate::dlog`]; the first call builds
    /// a 68 MiB table). Runs in time depending on `v`.
    ///
    /// # Errors
    /// [`ConfidentialError::DiscreteLogNotFound`] if `C - s·D` is not `v·B` for any `v < 2^32`:
    /// a handle made for another key or another blinding, or a value of 2^32 or more.
    pub fn decrypt(
        &self,
        commitment: &Commitment,
        handle: &DecryptHandle,
    ) -> Result<u64, ConfidentialError> {
        let target = self.elgamal.value_point(commitment, handle);
        crate::dlog::vartime_dlog_u32(&target).ok_or(ConfidentialError::DiscreteLogNotFound)
    }
}

impl std::fmt::Debug for ViewSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ViewSecret(<secret>, public {})", self.public.to_hex())
    }
}

fn derive_elgamal(seed: &[u8; 32]) -> ElGamalSecret {
    for counter in 0u8..=u8::MAX {
        let wide: Zeroizing<[u8; 64]> = Zeroizing::new(
            Sha512::new()
                .chain_update(labels::VIEW_KEY_ELGAMAL)
                .chain_update([counter])
                .chain_update(seed)
                .finalize()
                .into(),
        );
        if let Some(secret) = ElGamalSecret::new(Scalar::from_bytes_mod_order_wide(&wide)) {
            return secret;
        }
    }
    // Each attempt yields zero with probability 1/ℓ < 2^-252, so 256 failures do not happen;
    // this fallback only keeps the function total without a panic path.
    ElGamalSecret::one()
}

/// The regulator's view public key: an X25519 public key for HPKE and an ElGamal public key for
/// decrypt handles. Encoding: 64 bytes (`X25519 ‖ compressed Ristretto`), 128 hex characters.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ViewPublicKey {
    hpke: [u8; 32],
    elgamal: ElGamalPublicKey,
}

impl ViewPublicKey {
    /// Length of the encoding in bytes.
    pub const LEN: usize = 64;

    /// Builds a view public key from its two halves.
    ///
    /// # Errors
    /// [`ConfidentialError::InvalidPublicKey`] if `hpke` is not a usable X25519 public key:
    /// non-canonical (top bit set, or `u ≥ 2^255 - 19`) or of small order (all Diffie–Hellman
    /// results would be known).
    pub fn new(hpke: [u8; 32], elgamal: ElGamalPublicKey) -> Result<Self, ConfidentialError> {
        check_x25519(&hpke)?;
        Ok(ViewPublicKey { hpke, elgamal })
    }

    /// The X25519 public key (RFC 7748 encoding) used for HPKE.
    pub fn hpke(&self) -> [u8; 32] {
        self.hpke
    }

    /// The ElGamal public key `P` used for decrypt handles.
    pub fn elgamal(&self) -> ElGamalPublicKey {
        self.elgamal
    }

    /// The 64-byte encoding `X25519 ‖ P`.
    pub fn to_bytes(&self) -> [u8; 64] {
        let mut out = [0u8; 64];
        out[..32].copy_from_slice(&self.hpke);
        out[32..].copy_from_slice(&self.elgamal.to_bytes());
        out
    }

    /// Parses the 64-byte encoding.
    ///
    /// # Errors
    /// [`ConfidentialError::BadLength`], [`ConfidentialError::InvalidPoint`],
    /// [`ConfidentialError::InvalidPublicKey`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ConfidentialError> {
        let bytes: [u8; 64] = to_array(bytes)?;
        let hpke: [u8; 32] = to_array(&bytes[..32])?;
        let elgamal = ElGamalPublicKey::from_bytes(&bytes[32..])?;
        ViewPublicKey::new(hpke, elgamal)
    }

    /// The encoding as 128 lower-case hex characters.
    pub fn to_hex(&self) -> String {
        hex::encode(self.to_bytes())
    }

    /// Parses 128 hex characters.
    ///
    /// # Errors
    /// As [`ViewPublicKey::from_bytes`], plus [`ConfidentialError::BadHex`].
    pub fn from_hex(s: &str) -> Result<Self, ConfidentialError> {
        ViewPublicKey::from_bytes(&decode_hex_array::<64>(s)?)
    }
}

impl std::fmt::Debug for ViewPublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ViewPublicKey({})", self.to_hex())
    }
}

serde_via_hex!(ViewPublicKey);

/// Rejects non-canonical and small-order X25519 public keys.
fn check_x25519(bytes: &[u8; 32]) -> Result<(), ConfidentialError> {
    // Canonical: top bit clear and u < p = 2^255 - 19, i.e. not in [p, 2^255).
    let top_bit_set = bytes[31] & 0x80 != 0;
    let at_least_p =
        bytes[31] == 0x7f && bytes[1..31].iter().all(|&b| b == 0xff) && bytes[0] >= 0xed;
    if top_bit_set || at_least_p {
        return Err(ConfidentialError::InvalidPublicKey(
            "non-canonical X25519 public key",
        ));
    }
    // Small order: 8·u is the point at infinity (encoded as u = 0) exactly when the order of
    // the point (on the curve or its twist) divides 8.
    if MontgomeryPoint(*bytes) * Scalar::from(8u64) == MontgomeryPoint([0u8; 32]) {
        return Err(ConfidentialError::InvalidPublicKey(
            "small-order X25519 public key",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Opening;
    use proptest::prelude::*;
    use rand_chacha::rand_core::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    #[test]
    fn derivation_is_deterministic_and_seed_dependent() {
        let a = ViewSecret::from_seed([5; 32]);
        let b = ViewSecret::from_seed([5; 32]);
        let c = ViewSecret::from_seed([6; 32]);
        assert_eq!(a.public(), b.public());
        assert_ne!(a.public().hpke(), c.public().hpke());
        assert_ne!(a.public().elgamal(), c.public().elgamal());
        assert_ne!(a.public().hpke(), [0u8; 32]);
        // Pinned so that a change of derivation cannot go unnoticed (it would orphan every
        // regulator key in every genesis file).
        assert_eq!(
            ViewSecret::from_seed([0; 32]).public().to_hex(),
            PINNED_ZERO_SEED_PUBLIC
        );
        assert!(format!("{a:?}").starts_with("ViewSecret(<secret>"));
    }

    const PINNED_ZERO_SEED_PUBLIC: &str = "67259f4d74d49addd3dd517e11edc9a0cd8c8bc6cb708bdccad3d55fbf7a9955f857741d2dc6f1463885621e8f0a5b6aaace87822922fc208ea993424c01ab2d";

    #[test]
    fn public_key_roundtrips_and_rejects_garbage() {
        let pk = ViewSecret::from_seed([7; 32]).public();
        let hex = pk.to_hex();
        assert_eq!(hex.len(), 128);
        assert_eq!(ViewPublicKey::from_hex(&hex), Ok(pk));
        let json = serde_json::to_string(&pk).expect("serialises");
        assert_eq!(json, format!("\"{hex}\""));
        assert_eq!(serde_json::from_str::<ViewPublicKey>(&json).ok(), Some(pk));

        assert_eq!(
            ViewPublicKey::from_hex(&hex[..126]),
            Err(ConfidentialError::BadLength {
                expected: 64,
                actual: 63
            })
        );
        assert_eq!(
            ViewPublicKey::from_hex(&format!("{hex}00")),
            Err(ConfidentialError::BadLength {
                expected: 64,
                actual: 65
            })
        );
        assert_eq!(
            ViewPublicKey::from_hex(&hex.replace(&hex[..2], "g0")),
            Err(ConfidentialError::BadHex)
        );
        // Bad ElGamal half.
        let mut bytes = pk.to_bytes();
        bytes[32..].copy_from_slice(&[0xff; 32]);
        assert_eq!(
            ViewPublicKey::from_bytes(&bytes),
            Err(ConfidentialError::InvalidPoint)
        );
        bytes[32..].copy_from_slice(&[0; 32]);
        assert!(matches!(
            ViewPublicKey::from_bytes(&bytes),
            Err(ConfidentialError::InvalidPublicKey(_))
        ));
        // Bad X25519 half: zero (small order), one (small order), non-canonical.
        let elgamal = pk.elgamal();
        for bad in [[0u8; 32], one(), [0xff; 32], p_bytes()] {
            assert!(
                matches!(
                    ViewPublicKey::new(bad, elgamal),
                    Err(ConfidentialError::InvalidPublicKey(_))
                ),
                "{}",
                hex::encode(bad)
            );
        }
    }

    fn one() -> [u8; 32] {
        let mut b = [0u8; 32];
        b[0] = 1;
        b
    }

    fn p_bytes() -> [u8; 32] {
        let mut b = [0xffu8; 32];
        b[0] = 0xed;
        b[31] = 0x7f;
        b
    }

    #[test]
    fn a_different_view_secret_cannot_decrypt() {
        let mut rng = ChaCha20Rng::seed_from_u64(5);
        let regulator = ViewSecret::from_seed([10; 32]);
        let other = ViewSecret::from_seed([11; 32]);
        let o = Opening::new(31_337, &mut rng);
        let c = o.commit();
        let d = o.handle(&regulator.public().elgamal());
        assert_eq!(regulator.decrypt(&c, &d), Ok(31_337));
        assert_eq!(
            other.decrypt(&c, &d),
            Err(ConfidentialError::DiscreteLogNotFound)
        );
        // Handle of the wrong blinding.
        let d_wrong = Opening::new(31_337, &mut rng).handle(&regulator.public().elgamal());
        assert_eq!(
            regulator.decrypt(&c, &d_wrong),
            Err(ConfidentialError::DiscreteLogNotFound)
        );
        // Values of 2^32 and more are out of the decryptable range.
        let big = Opening::new(1 << 32, &mut rng);
        assert_eq!(
            regulator.decrypt(&big.commit(), &big.handle(&regulator.public().elgamal())),
            Err(ConfidentialError::DiscreteLogNotFound)
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]

        #[test]
        fn regulator_decrypts_committed_values(v: u32, seed: u64) {
            let regulator = ViewSecret::from_seed([12; 32]);
            let o = Opening::new(u64::from(v), &mut ChaCha20Rng::seed_from_u64(seed));
            let d = o.handle(&regulator.public().elgamal());
            prop_assert_eq!(regulator.decrypt(&o.commit(), &d), Ok(u64::from(v)));
        }
    }

    proptest! {
        #[test]
        fn parsing_arbitrary_input_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..100), s in ".{0,140}") {
            let _ = ViewPublicKey::from_bytes(&bytes);
            let _ = ViewPublicKey::from_hex(&s);
            let _ = ViewPublicKey::from_hex(&hex::encode(&bytes));
            let _ = serde_json::from_str::<ViewPublicKey>(&s);
        }

        #[test]
        fn x25519_check_never_panics(bytes: [u8; 32]) {
            let _ = check_x25519(&bytes);
        }
    }
}
