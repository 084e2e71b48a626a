//! Peer admission: the registry of current members and the rustls verifiers that
//! consult it on both sides of the handshake.

use crate::identity::{ed25519_spki_der, key_from_certificate, PeerCertError};
use fengxin_crypto::IdentityPublicKey;
use fengxin_types::MemberName;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls13_signature_with_raw_key, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, SubjectPublicKeyInfoDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{
    CertificateError, DigitallySignedStruct, DistinguishedName, OtherError, PeerIncompatible,
    PeerMisbehaved, SignatureScheme,
};
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

/// Who the current members are, by identity key.
///
/// The ledger implements this (genesis plus membership records); removing a member from
/// the registry is revocation: its next handshake fails. Implementations must be cheap
/// and must not block, because they are consulted inside the TLS handshake.
pub trait PeerRegistry: Send + Sync {
    /// The member that owns `key`, if it is a current member.
    fn member_for_key(&self, key: &IdentityPublicKey) -> Option<MemberName>;
}

/// A fixed registry, for tests, tools and the genesis set.
#[derive(Debug, Clone, Default)]
pub struct StaticRegistry {
    members: BTreeMap<IdentityPublicKey, MemberName>,
}

impl StaticRegistry {
    /// A registry holding exactly `members`.
    pub fn new(members: BTreeMap<IdentityPublicKey, MemberName>) -> Self {
        Self { members }
    }

    /// Adds or replaces a member.
    pub fn insert(&mut self, key: IdentityPublicKey, member: MemberName) {
        self.members.insert(key, member);
    }
}

impl FromIterator<(IdentityPublicKey, MemberName)> for StaticRegistry {
    fn from_iter<I: IntoIterator<Item = (IdentityPublicKey, MemberName)>>(iter: I) -> Self {
        Self::new(iter.into_iter().collect())
    }
}

impl PeerRegistry for StaticRegistry {
    fn member_for_key(&self, key: &IdentityPublicKey) -> Option<MemberName> {
        self.members.get(key).cloned()
    }
}

/// Why a peer was not admitted (the peer misbehaved or is not who we wanted).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AdmissionError {
    /// The certificate does not carry a usable Ed25519 identity key.
    #[error("peer certificate: {0}")]
    Certificate(#[from] PeerCertError),
    /// The peer sent a certificate chain; identities are single self-signed certificates.
    #[error("peer sent {0} intermediate certificates")]
    UnexpectedChain(usize),
    /// The key is not a current member's.
    #[error("identity key {0} is not a current member")]
    UnknownKey(IdentityPublicKey),
    /// The key belongs to a member, but not to the one we dialled.
    #[error("dialled {expected} but the peer's key {key} belongs to {actual}")]
    WrongMember {
        /// The member we meant to reach.
        expected: MemberName,
        /// The member the presented key belongs to.
        actual: MemberName,
        /// The presented key.
        key: IdentityPublicKey,
    },
    /// The connection did not negotiate the `fengxin/1` application protocol.
    #[error("peer did not negotiate the fengxin/1 application protocol")]
    Alpn,
}

/// Checks a peer's end-entity certificate against the registry.
pub(crate) fn admit(
    registry: &dyn PeerRegistry,
    end_entity: &[u8],
    intermediates: usize,
    expected: Option<&MemberName>,
) -> Result<(MemberName, IdentityPublicKey), AdmissionError> {
    if intermediates != 0 {
        return Err(AdmissionError::UnexpectedChain(intermediates));
    }
    let key = key_from_certificate(end_entity)?;
    let member = registry
        .member_for_key(&key)
        .ok_or(AdmissionError::UnknownKey(key))?;
    match expected {
        Some(expected) if *expected != member => Err(AdmissionError::WrongMember {
            expected: expected.clone(),
            actual: member,
            key,
        }),
        _ => Ok((member, key)),
    }
}

fn to_rustls(e: AdmissionError) -> rustls::Error {
    rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(e))))
}

/// Verifies a TLS 1.3 handshake signature: Ed25519 only, checked with the provider's
/// algorithms against the key extracted from the certificate (re-encoded canonically, so
/// the key that signed is exactly the key that was admitted).
fn verify_handshake_signature(
    provider: &CryptoProvider,
    message: &[u8],
    cert: &CertificateDer<'_>,
    dss: &DigitallySignedStruct,
) -> Result<HandshakeSignatureValid, rustls::Error> {
    if dss.scheme != SignatureScheme::ED25519 {
        return Err(PeerMisbehaved::SignedHandshakeWithUnadvertisedSigScheme.into());
    }
    let key = key_from_certificate(cert).map_err(|e| to_rustls(e.into()))?;
    let spki = ed25519_spki_der(&key);
    verify_tls13_signature_with_raw_key(
        message,
        &SubjectPublicKeyInfoDer::from(spki.as_slice()),
        dss,
        &provider.signature_verification_algorithms,
    )
}

/// Server side: mandatory client certificates, admitted if the registry knows the key.
/// Built per incoming connection so the reason for a refusal can be reported typed.
pub(crate) struct MemberClientVerifier {
    registry: Arc<dyn PeerRegistry>,
    provider: Arc<CryptoProvider>,
    refusal: Arc<OnceLock<AdmissionError>>,
}

impl MemberClientVerifier {
    pub(crate) fn new(
        registry: Arc<dyn PeerRegistry>,
        provider: Arc<CryptoProvider>,
        refusal: Arc<OnceLock<AdmissionError>>,
    ) -> Self {
        Self {
            registry,
            provider,
            refusal,
        }
    }
}

impl std::fmt::Debug for MemberClientVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemberClientVerifier")
            .finish_non_exhaustive()
    }
}

impl ClientCertVerifier for MemberClientVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        match admit(&*self.registry, end_entity, intermediates.len(), None) {
            Ok(_) => Ok(ClientCertVerified::assertion()),
            Err(e) => {
                // First refusal wins; a verifier is used for one handshake only.
                let _ = self.refusal.set(e.clone());
                Err(to_rustls(e))
            }
        }
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(PeerIncompatible::Tls13RequiredForQuic.into())
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_handshake_signature(&self.provider, message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        vec![SignatureScheme::ED25519]
    }
}

/// Client side: the server must be the member we dialled. Built per connection; the
/// reason for a refusal is kept so `connect` can return it as a typed error.
pub(crate) struct MemberServerVerifier {
    registry: Arc<dyn PeerRegistry>,
    provider: Arc<CryptoProvider>,
    expected: MemberName,
    refusal: Arc<OnceLock<AdmissionError>>,
}

impl MemberServerVerifier {
    pub(crate) fn new(
        registry: Arc<dyn PeerRegistry>,
        provider: Arc<CryptoProvider>,
        expected: MemberName,
        refusal: Arc<OnceLock<AdmissionError>>,
    ) -> Self {
        Self {
            registry,
            provider,
            expected,
            refusal,
        }
    }
}

impl std::fmt::Debug for MemberServerVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemberServerVerifier")
            .field("expected", &self.expected)
            .finish_non_exhaustive()
    }
}

impl ServerCertVerifier for MemberServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match admit(
            &*self.registry,
            end_entity,
            intermediates.len(),
            Some(&self.expected),
        ) {
            Ok(_) => Ok(ServerCertVerified::assertion()),
            Err(e) => {
                // First refusal wins; a verifier is used for one handshake only.
                let _ = self.refusal.set(e.clone());
                Err(to_rustls(e))
            }
        }
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(PeerIncompatible::Tls13RequiredForQuic.into())
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_handshake_signature(&self.provider, message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        vec![SignatureScheme::ED25519]
    }
}
