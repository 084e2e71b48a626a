//! HPKE encryption of query-record details to the regulator's view key.
//!
//! RFC 9180 through the `hpke` crate, base mode, suite DHKEM(X25519, HKDF-SHA256) /
//! HKDF-SHA256 / ChaCha20Poly1305, `info` = [`crate::labels::HPKE_VIEW_INFO`]. Each
//! [`SealedDetails`] is a single-shot encryption with a fresh ephemeral key.
//!
//! The associated data `aad` binds the ciphertext to its context: the ledger passes the
//! canonical encoding of the *public* part of the record the details belong to, so sealed
//! details cannot be moved into another record (opening fails with a different `aad`).
//!
//! Serde: `{"encapped_key": <64 hex chars>, "ciphertext": <hex>}`; the ciphertext includes the
//! 16-byte Poly1305 tag.

use crate::encoding::{hex_32, hex_vec};
use crate::{labels, ConfidentialError, ViewPublicKey, ViewSecret};
use hpke::aead::ChaCha20Poly1305;
use hpke::kdf::HkdfSha256;
use hpke::kem::X25519HkdfSha256;
use hpke::{Deserializable, Kem, OpModeR, OpModeS, Serializable};
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};

/// HPKE ciphertext of record details for the regulator.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedDetails {
    /// The sender's ephemeral X25519 public key (`enc` in RFC 9180).
    #[serde(with = "hex_32")]
    pub encapped_key: [u8; 32],
    /// The AEAD ciphertext, tag included.
    #[serde(with = "hex_vec")]
    pub ciphertext: Vec<u8>,
}

/// Encrypts `plaintext` to the regulator's view key, bound to `aad`.
///
/// # Errors
/// [`ConfidentialError::EncryptionFailed`] if the HPKE library refuses the key (cannot happen
/// for a [`ViewPublicKey`], whose X25519 half is checked when it is built).
pub fn seal_details<R: RngCore + CryptoRng>(
    view: &ViewPublicKey,
    aad: &[u8],
    plaintext: &[u8],
    rng: &mut R,
) -> Result<SealedDetails, ConfidentialError> {
    let pk = <X25519HkdfSha256 as Kem>::PublicKey::from_bytes(&view.hpke())
        .map_err(|_| ConfidentialError::EncryptionFailed)?;
    let (encapped, ciphertext) =
        hpke::single_shot_seal::<ChaCha20Poly1305, HkdfSha256, X25519HkdfSha256, R>(
            &OpModeS::Base,
            &pk,
            labels::HPKE_VIEW_INFO,
            plaintext,
            aad,
            rng,
        )
        .map_err(|_| ConfidentialError::EncryptionFailed)?;
    Ok(SealedDetails {
        encapped_key: encapped.to_bytes().into(),
        ciphertext,
    })
}

/// Decrypts details sealed with [`seal_details`] to this view key and `aad`.
///
/// # Errors
/// [`ConfidentialError::DecryptionFailed`] for a wrong key, a different `aad`, or any change to
/// the encapsulated key or the ciphertext.
pub fn open_details(
    view: &ViewSecret,
    aad: &[u8],
    sealed: &SealedDetails,
) -> Result<Vec<u8>, ConfidentialError> {
    let encapped = <X25519HkdfSha256 as Kem>::EncappedKey::from_bytes(&sealed.encapped_key)
        .map_err(|_| ConfidentialError::DecryptionFailed)?;
    hpke::single_shot_open::<ChaCha20Poly1305, HkdfSha256, X25519HkdfSha256>(
        &OpModeR::Base,
        view.hpke_secret(),
        &encapped,
        labels::HPKE_VIEW_INFO,
        &sealed.ciphertext,
        aad,
    )
    .map_err(|_| ConfidentialError::DecryptionFailed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand_chacha::rand_core::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    const FAILED: Option<ConfidentialError> = Some(ConfidentialError::DecryptionFailed);

    #[test]
    fn roundtrip_and_rejections() {
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let regulator = ViewSecret::from_seed([42; 32]);
        let aad = b"public part of record 17";
        let plaintext = b"tags, results, nonce, case reference".to_vec();
        let sealed = seal_details(&regulator.public(), aad, &plaintext, &mut rng).expect("seal");
        assert_eq!(sealed.ciphertext.len(), plaintext.len() + 16);
        assert_eq!(
            open_details(&regulator, aad, &sealed),
            Ok(plaintext.clone())
        );

        // Serde roundtrip.
        let json = serde_json::to_string(&sealed).expect("serialises");
        let back: SealedDetails = serde_json::from_str(&json).expect("parses");
        assert_eq!(back, sealed);
        assert_eq!(open_details(&regulator, aad, &back), Ok(plaintext.clone()));

        // Wrong aad.
        assert_eq!(
            open_details(&regulator, b"record 18", &sealed).err(),
            FAILED
        );
        assert_eq!(open_details(&regulator, b"", &sealed).err(), FAILED);
        // Wrong key.
        let other = ViewSecret::from_seed([43; 32]);
        assert_eq!(open_details(&other, aad, &sealed).err(), FAILED);
        // Every flipped ciphertext byte (tag included) and every flipped encapped-key byte.
        for i in 0..sealed.ciphertext.len() {
            let mut t = sealed.clone();
            t.ciphertext[i] ^= 0x80;
            assert_eq!(
                open_details(&regulator, aad, &t).err(),
                FAILED,
                "ciphertext byte {i}"
            );
        }
        for i in 0..32 {
            let mut t = sealed.clone();
            t.encapped_key[i] ^= 0x01;
            assert_eq!(
                open_details(&regulator, aad, &t).err(),
                FAILED,
                "key byte {i}"
            );
        }
        // Truncated ciphertexts, down to nothing.
        for len in 0..sealed.ciphertext.len() {
            let mut t = sealed.clone();
            t.ciphertext.truncate(len);
            assert_eq!(open_details(&regulator, aad, &t).err(), FAILED);
        }
        // Each seal uses a fresh ephemeral key.
        let again = seal_details(&regulator.public(), aad, &plaintext, &mut rng).expect("seal");
        assert_ne!(again.encapped_key, sealed.encapped_key);
        assert_ne!(again.ciphertext, sealed.ciphertext);
    }

    #[test]
    fn empty_and_large_payloads() {
        let mut rng = ChaCha20Rng::seed_from_u64(4);
        let regulator = ViewSecret::from_seed([44; 32]);
        for len in [0usize, 1, 256, 65_536] {
            let plaintext = vec![0xa5; len];
            let sealed =
                seal_details(&regulator.public(), b"aad", &plaintext, &mut rng).expect("seal");
            assert_eq!(open_details(&regulator, b"aad", &sealed), Ok(plaintext));
        }
    }

    proptest! {
        #[test]
        fn arbitrary_sealed_details_never_panic(
            key: [u8; 32],
            ciphertext in proptest::collection::vec(any::<u8>(), 0..100),
            json in ".{0,200}",
        ) {
            let regulator = ViewSecret::from_seed([45; 32]);
            let sealed = SealedDetails { encapped_key: key, ciphertext };
            prop_assert_eq!(open_details(&regulator, b"aad", &sealed).err(), FAILED);
            let _ = serde_json::from_str::<SealedDetails>(&json);
        }
    }
}
