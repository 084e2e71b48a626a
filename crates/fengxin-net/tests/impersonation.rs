//! A client that presents a member's certificate without holding its key must fail the
//! TLS 1.3 CertificateVerify check, not pass admission. Built directly on quinn/rustls
//! so the client can lie about its key.

use fengxin_crypto::IdentityKey;
use fengxin_net::{AcceptError, Endpoint, Limits, StaticRegistry, ALPN, SERVER_NAME};
use fengxin_types::MemberName;
use quinn::crypto::rustls::QuicClientConfig;
use rand_chacha::rand_core::SeedableRng;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::ResolvesClientCert;
use rustls::pki_types::{CertificateDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::sign::CertifiedKey;
use rustls::{DigitallySignedStruct, SignatureScheme};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug)]
struct AcceptAnyServer;

impl ServerCertVerifier for AcceptAnyServer {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }
    fn verify_tls13_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        vec![SignatureScheme::ED25519]
    }
}

/// Presents `cert` but signs the handshake with whatever key it was given.
#[derive(Debug)]
struct FixedClientCert(Arc<CertifiedKey>);

impl ResolvesClientCert for FixedClientCert {
    fn resolve(&self, _: &[&[u8]], _: &[SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }
    fn has_certs(&self) -> bool {
        true
    }
}

fn ed25519_pkcs8(kp: &rcgen::KeyPair) -> PrivatePkcs8KeyDer<'static> {
    PrivatePkcs8KeyDer::from(kp.serialize_der())
}

/// Dials `server` presenting `cert`, signing with `signer`; returns what the server saw.
async fn dial_with(
    server: &Endpoint,
    cert: CertificateDer<'static>,
    signer: &rcgen::KeyPair,
) -> Result<MemberName, AcceptError> {
    let key = rustls::crypto::ring::sign::any_eddsa_type(&ed25519_pkcs8(signer))
        .expect("ring loads an Ed25519 PKCS#8 key");
    let certified = Arc::new(CertifiedKey::new(vec![cert], key));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .expect("TLS 1.3 supported")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAnyServer))
        .with_client_cert_resolver(Arc::new(FixedClientCert(certified)));
    tls.alpn_protocols = vec![ALPN.to_vec()];
    let quic = QuicClientConfig::try_from(tls).expect("QUIC-capable TLS config");
    let client = quinn::Endpoint::client(SocketAddr::from(([127, 0, 0, 1], 0))).expect("client");
    let server_addr = server.local_addr().expect("bound");
    let attempt = {
        let server = server.clone();
        tokio::spawn(async move {
            let incoming = server.accept().await.expect("an attempt arrives");
            incoming.establish().await.map(|conn| conn.member().clone())
        })
    };
    let connecting = client
        .connect_with(
            quinn::ClientConfig::new(Arc::new(quic)),
            server_addr,
            SERVER_NAME,
        )
        .expect("start connecting");
    // The client's own view does not matter here; it may even think it connected.
    let _ = tokio::time::timeout(Duration::from_secs(5), connecting).await;
    tokio::time::timeout(Duration::from_secs(5), attempt)
        .await
        .expect("server decides within 5 s")
        .expect("server task did not panic")
}

#[tokio::test]
async fn presenting_a_members_certificate_without_its_key_fails() {
    let victim = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).expect("keygen");
    let attacker = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).expect("keygen");
    let victim_cert = rcgen::CertificateParams::new(Vec::<String>::new())
        .expect("params")
        .self_signed(&victim)
        .expect("victim certificate")
        .der()
        .clone();
    let victim_public = fengxin_crypto::IdentityPublicKey::from_slice(victim.public_key_raw())
        .expect("Ed25519 public key");

    let server_id = IdentityKey::generate(&mut rand_chacha::ChaCha20Rng::seed_from_u64(99));
    let registry: StaticRegistry = [
        (victim_public, MemberName::parse("bank-v").expect("name")),
        (
            server_id.public(),
            MemberName::parse("bank-s").expect("name"),
        ),
    ]
    .into_iter()
    .collect();
    let server = Endpoint::bind(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        &server_id,
        Arc::new(registry),
        Limits::default(),
    )
    .expect("bind");

    // Control: the real holder of the key (certificate from another generator) is admitted.
    let admitted = dial_with(&server, victim_cert.clone(), &victim).await;
    assert_eq!(
        admitted.expect("key holder admitted"),
        MemberName::parse("bank-v").expect("name")
    );

    // Attack: same certificate, handshake signed with another key.
    match dial_with(&server, victim_cert, &attacker).await {
        Err(AcceptError::Handshake(reason)) => {
            assert!(reason.to_lowercase().contains("signature"), "{reason}");
        }
        other => panic!("impersonation not refused by the signature check: {other:?}"),
    }
}
