//! Identity certificates: a self-signed X.509 certificate whose subject public key is
//! the member's Ed25519 identity key, and the inverse — extracting that key from a
//! peer's certificate.

use ed25519_dalek::pkcs8::EncodePrivateKey;
use fengxin_crypto::{IdentityKey, IdentityPublicKey};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use x509_cert::der::Decode;
use zeroize::Zeroizing;

/// DER of the Ed25519 algorithm OID 1.3.101.112 (RFC 8410), without tag and length.
const ED25519_OID: &[u8] = &[0x2b, 0x65, 0x70];

/// DER `SubjectPublicKeyInfo` prefix for an Ed25519 key (RFC 8410 §4); the 32 key
/// bytes follow.
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// Subject common name written into every identity certificate. Informational only:
/// peers are identified by key, never by name.
const CERT_COMMON_NAME: &str = "fengxin member";

/// Why an identity certificate could not be built (fatal, local).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityCertError {
    /// The identity key could not be encoded as PKCS#8.
    #[error("cannot encode the identity key as PKCS#8: {0}")]
    Pkcs8(String),
    /// rcgen refused the key or the certificate parameters.
    #[error("cannot build the identity certificate: {0}")]
    Certificate(String),
}

/// Why a peer's certificate does not carry an acceptable identity key (peer misbehaved).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PeerCertError {
    /// Not a DER X.509 certificate.
    #[error("not an X.509 certificate: {0}")]
    NotX509(String),
    /// The subject public key is not Ed25519 (RFC 8410, no parameters).
    #[error("certificate key is not Ed25519")]
    NotEd25519,
    /// The Ed25519 key bytes are not a valid point or have the wrong length.
    #[error("certificate carries an invalid Ed25519 key")]
    InvalidKey,
}

/// The local identity as TLS material: certificate and PKCS#8 private key.
pub struct IdentityCert {
    public: IdentityPublicKey,
    cert: CertificateDer<'static>,
    /// PKCS#8 v2 DER of the identity key, zeroised on drop.
    key: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for IdentityCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentityCert")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

impl IdentityCert {
    /// Builds the self-signed certificate for `identity`. Deterministic in the key apart
    /// from rcgen's random serial number; nothing needs to be stored.
    pub fn generate(identity: &IdentityKey) -> Result<Self, IdentityCertError> {
        let secret = Zeroizing::new(identity.expose_secret());
        let signing = ed25519_dalek::SigningKey::from_bytes(&secret);
        let pkcs8 = signing
            .to_pkcs8_der()
            .map_err(|e| IdentityCertError::Pkcs8(e.to_string()))?;
        let key = Zeroizing::new(pkcs8.as_bytes().to_vec());
        let key_pair = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(
            &PrivatePkcs8KeyDer::from(key.as_slice()),
            &rcgen::PKCS_ED25519,
        )
        .map_err(|e| IdentityCertError::Certificate(e.to_string()))?;
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new())
            .map_err(|e| IdentityCertError::Certificate(e.to_string()))?;
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, CERT_COMMON_NAME);
        let cert = params
            .self_signed(&key_pair)
            .map_err(|e| IdentityCertError::Certificate(e.to_string()))?;
        let cert = cert.der().clone();
        let public = identity.public();
        // The certificate must carry exactly the identity key; anything else is a bug in
        // the encoding above, reported rather than shipped.
        if key_from_certificate(&cert).ok() != Some(public) {
            return Err(IdentityCertError::Certificate(
                "generated certificate does not carry the identity key".into(),
            ));
        }
        Ok(Self { public, cert, key })
    }

    /// The identity public key the certificate carries.
    pub fn public_key(&self) -> IdentityPublicKey {
        self.public
    }

    /// The DER certificate.
    pub fn certificate(&self) -> &CertificateDer<'static> {
        &self.cert
    }

    /// A copy of the private key for loading into the TLS provider (once, at bind).
    pub(crate) fn private_key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key.to_vec()))
    }
}

/// Extracts the Ed25519 identity key from a DER certificate's SubjectPublicKeyInfo.
///
/// Only the key matters: the self-signature, names and validity period are not checked,
/// because the TLS handshake signature proves possession of this key and admission is
/// decided by the registry.
pub fn key_from_certificate(der: &[u8]) -> Result<IdentityPublicKey, PeerCertError> {
    let cert =
        x509_cert::Certificate::from_der(der).map_err(|e| PeerCertError::NotX509(e.to_string()))?;
    let spki = &cert.tbs_certificate.subject_public_key_info;
    if spki.algorithm.oid.as_bytes() != ED25519_OID || spki.algorithm.parameters.is_some() {
        return Err(PeerCertError::NotEd25519);
    }
    let bytes = spki
        .subject_public_key
        .as_bytes()
        .ok_or(PeerCertError::InvalidKey)?;
    IdentityPublicKey::from_slice(bytes).map_err(|_| PeerCertError::InvalidKey)
}

/// The canonical DER SubjectPublicKeyInfo of an identity key.
pub(crate) fn ed25519_spki_der(key: &IdentityPublicKey) -> Vec<u8> {
    let mut out = ED25519_SPKI_PREFIX.to_vec();
    out.extend_from_slice(&key.to_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;

    #[test]
    fn certificate_carries_identity_key() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        let id = IdentityKey::generate(&mut rng);
        let cert = IdentityCert::generate(&id).expect("certificate");
        assert_eq!(key_from_certificate(cert.certificate()), Ok(id.public()));
        assert_eq!(cert.public_key(), id.public());
    }

    #[test]
    fn rejects_non_certificates_and_other_keys() {
        assert!(matches!(
            key_from_certificate(b"not a certificate"),
            Err(PeerCertError::NotX509(_))
        ));
        let ecdsa = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
        let cert = rcgen::CertificateParams::new(vec!["x".to_string()])
            .expect("params")
            .self_signed(&ecdsa)
            .expect("cert");
        assert_eq!(
            key_from_certificate(cert.der()),
            Err(PeerCertError::NotEd25519)
        );
    }

    #[test]
    fn spki_prefix_matches_rcgen() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(2);
        let id = IdentityKey::generate(&mut rng);
        let cert = IdentityCert::generate(&id).expect("certificate");
        let parsed = x509_cert::Certificate::from_der(cert.certificate()).expect("x509");
        let spki = x509_cert::der::Encode::to_der(&parsed.tbs_certificate.subject_public_key_info)
            .expect("encode");
        assert_eq!(spki, ed25519_spki_der(&id.public()));
    }
}
