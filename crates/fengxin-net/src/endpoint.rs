//! The QUIC endpoint: one UDP socket that both accepts and dials member connections.

use crate::admission::{
    admit, AdmissionError, MemberClientVerifier, MemberServerVerifier, PeerRegistry,
};
use crate::connection::PeerConnection;
use crate::error::{AcceptError, BindError, ConnectError};
use crate::frame::DEFAULT_MAX_FRAME_LEN;
use crate::identity::{IdentityCert, PeerCertError};
use fengxin_crypto::{IdentityKey, IdentityPublicKey};
use fengxin_types::MemberName;
use quinn::crypto::rustls::{HandshakeData, QuicClientConfig, QuicServerConfig};
use quinn::{IdleTimeout, TransportConfig, VarInt};
use rustls::client::ResolvesClientCert;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::CertificateDer;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// The application protocol negotiated with ALPN.
pub const ALPN: &[u8] = b"fengxin/1";

/// The TLS server name every client sends. Identity is by key, so it is fixed and never
/// checked.
pub const SERVER_NAME: &str = "fengxin.invalid";

/// Application close code: normal shutdown.
const CLOSE_NORMAL: u32 = 0;
/// Application close code: the peer failed admission after the handshake.
const CLOSE_NOT_ADMITTED: u32 = 1;

/// Per-endpoint limits and timers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Largest accepted payload (version byte plus body) in one frame, both directions.
    pub max_frame_len: u32,
    /// Deadline for one whole request/response exchange.
    pub exchange_timeout: Duration,
    /// Deadline for a handshake, dialling or accepting.
    pub connect_timeout: Duration,
    /// A connection with no traffic for this long is dropped.
    pub idle_timeout: Duration,
    /// Keep-alive interval; must be shorter than `idle_timeout`.
    pub keep_alive: Duration,
    /// Concurrent request streams a peer may open on one connection.
    pub max_concurrent_streams: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_frame_len: DEFAULT_MAX_FRAME_LEN,
            exchange_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            keep_alive: Duration::from_secs(15),
            max_concurrent_streams: 64,
        }
    }
}

impl Limits {
    fn transport(&self) -> Result<TransportConfig, BindError> {
        if self.max_frame_len == 0 {
            return Err(BindError::InvalidLimits(
                "max_frame_len must hold the version byte",
            ));
        }
        if self.keep_alive.is_zero() || self.keep_alive >= self.idle_timeout {
            return Err(BindError::InvalidLimits(
                "keep_alive must be non-zero and shorter than idle_timeout",
            ));
        }
        if self.exchange_timeout.is_zero() || self.connect_timeout.is_zero() {
            return Err(BindError::InvalidLimits("timeouts must be non-zero"));
        }
        let idle = IdleTimeout::try_from(self.idle_timeout)
            .map_err(|_| BindError::InvalidLimits("idle_timeout too large"))?;
        let mut t = TransportConfig::default();
        t.max_idle_timeout(Some(idle))
            .keep_alive_interval(Some(self.keep_alive))
            .max_concurrent_bidi_streams(VarInt::from_u32(self.max_concurrent_streams))
            .max_concurrent_uni_streams(VarInt::from_u32(0))
            .datagram_receive_buffer_size(None);
        Ok(t)
    }
}

/// A member's QUIC endpoint. Cheap to clone; clones share the socket.
#[derive(Clone)]
pub struct Endpoint {
    inner: quinn::Endpoint,
    shared: Arc<Shared>,
}

struct Shared {
    server: quinn::ServerConfig,
    public: IdentityPublicKey,
    certified: Arc<CertifiedKey>,
    registry: Arc<dyn PeerRegistry>,
    provider: Arc<CryptoProvider>,
    transport: Arc<TransportConfig>,
    limits: Limits,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("public_key", &self.shared.public)
            .field("local_addr", &self.inner.local_addr().ok())
            .finish_non_exhaustive()
    }
}

fn tls_err(e: impl std::fmt::Display) -> BindError {
    BindError::Tls(e.to_string())
}

/// Presents our one certificate, whatever the peer asks for. The signing key is loaded
/// once at bind.
#[derive(Debug)]
struct FixedCert(Arc<CertifiedKey>);

impl ResolvesServerCert for FixedCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }
}

impl ResolvesClientCert for FixedCert {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[rustls::SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }

    fn has_certs(&self) -> bool {
        true
    }
}

/// The server-side TLS configuration, with a verifier that records its refusal in
/// `refusal`.
fn server_tls(
    certified: &Arc<CertifiedKey>,
    registry: &Arc<dyn PeerRegistry>,
    provider: &Arc<CryptoProvider>,
    refusal: Arc<OnceLock<AdmissionError>>,
) -> Result<QuicServerConfig, BindError> {
    let verifier = MemberClientVerifier::new(registry.clone(), provider.clone(), refusal);
    let mut tls = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(tls_err)?
        .with_client_cert_verifier(Arc::new(verifier))
        .with_cert_resolver(Arc::new(FixedCert(certified.clone())));
    tls.alpn_protocols = vec![ALPN.to_vec()];
    // No resumption: a resumed session would skip the registry check.
    tls.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
    tls.send_tls13_tickets = 0;
    tls.max_early_data_size = 0;
    QuicServerConfig::try_from(tls).map_err(tls_err)
}

impl Endpoint {
    /// Binds a UDP socket at `addr` that accepts members' connections and dials them.
    ///
    /// The identity certificate is generated here from `identity`. Must be called inside
    /// a Tokio runtime (with I/O and time enabled).
    pub fn bind(
        addr: SocketAddr,
        identity: &IdentityKey,
        registry: Arc<dyn PeerRegistry>,
        limits: Limits,
    ) -> Result<Self, BindError> {
        let transport = Arc::new(limits.transport()?);
        let identity = IdentityCert::generate(identity)?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        // Checks that the loaded signing key matches the certificate's key.
        let certified = Arc::new(
            CertifiedKey::from_der(
                vec![identity.certificate().clone()],
                identity.private_key(),
                &provider,
            )
            .map_err(tls_err)?,
        );

        // The endpoint-wide server configuration is a template: every incoming
        // connection gets its own TLS configuration (see `IncomingPeer::establish`).
        let quic = server_tls(&certified, &registry, &provider, Arc::new(OnceLock::new()))?;
        let mut server = quinn::ServerConfig::with_crypto(Arc::new(quic));
        server.transport_config(transport.clone());

        let inner = quinn::Endpoint::server(server.clone(), addr)?;
        Ok(Self {
            inner,
            shared: Arc::new(Shared {
                server,
                public: identity.public_key(),
                certified,
                registry,
                provider,
                transport,
                limits,
            }),
        })
    }

    /// The bound socket address.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    /// Our identity public key (the key in our certificate).
    pub fn public_key(&self) -> IdentityPublicKey {
        self.shared.public
    }

    /// The limits this endpoint was bound with.
    pub fn limits(&self) -> Limits {
        self.shared.limits
    }

    /// Dials `addr` and authenticates it as `expected`.
    ///
    /// The server's certificate key must belong to `expected` in the registry, otherwise
    /// the handshake is aborted with [`ConnectError::Admission`].
    ///
    /// In TLS 1.3 the client finishes its handshake before the server has checked the
    /// client certificate, so a server that does not admit *us* shows up as an error on
    /// the first exchange ([`ExchangeError::ConnectionLost`](crate::ExchangeError)),
    /// not necessarily here.
    pub async fn connect(
        &self,
        addr: SocketAddr,
        expected: &MemberName,
    ) -> Result<PeerConnection, ConnectError> {
        let shared = &self.shared;
        let refusal = Arc::new(OnceLock::new());
        let verifier = MemberServerVerifier::new(
            shared.registry.clone(),
            shared.provider.clone(),
            expected.clone(),
            refusal.clone(),
        );
        let local = |e: &dyn std::fmt::Display| ConnectError::Endpoint(e.to_string());
        let mut tls = rustls::ClientConfig::builder_with_provider(shared.provider.clone())
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(|e| local(&e))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_client_cert_resolver(Arc::new(FixedCert(shared.certified.clone())));
        tls.alpn_protocols = vec![ALPN.to_vec()];
        tls.resumption = rustls::client::Resumption::disabled();
        tls.enable_early_data = false;
        let quic = QuicClientConfig::try_from(tls).map_err(|e| local(&e))?;
        let mut client = quinn::ClientConfig::new(Arc::new(quic));
        client.transport_config(shared.transport.clone());

        let connecting = self
            .inner
            .connect_with(client, addr, SERVER_NAME)
            .map_err(|e| local(&e))?;
        let conn = match tokio::time::timeout(shared.limits.connect_timeout, connecting).await {
            Err(_) => return Err(ConnectError::Timeout),
            Ok(Err(e)) => {
                return Err(match refusal.get() {
                    Some(reason) => ConnectError::Admission(reason.clone()),
                    None => ConnectError::Handshake(e.to_string()),
                })
            }
            Ok(Ok(conn)) => conn,
        };
        let (member, key) = authenticate(&conn, &*shared.registry, Some(expected))?;
        Ok(PeerConnection::new(conn, member, key, shared.limits))
    }

    /// Waits for the next incoming connection attempt; `None` once the endpoint is
    /// closed.
    pub async fn accept(&self) -> Option<IncomingPeer> {
        let incoming = self.inner.accept().await?;
        Some(IncomingPeer {
            incoming,
            shared: self.shared.clone(),
        })
    }

    /// Closes every connection immediately with a normal close code and stops
    /// accepting. Pending exchanges fail with `Closed`.
    pub fn close(&self) {
        self.inner
            .close(VarInt::from_u32(CLOSE_NORMAL), b"endpoint closed");
    }

    /// Waits until all connections have been closed and their close frames sent.
    pub async fn wait_idle(&self) {
        self.inner.wait_idle().await;
    }
}

/// An incoming connection attempt, not yet authenticated.
pub struct IncomingPeer {
    incoming: quinn::Incoming,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for IncomingPeer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IncomingPeer")
            .field("remote_address", &self.incoming.remote_address())
            .finish_non_exhaustive()
    }
}

impl IncomingPeer {
    /// The address the attempt came from (unauthenticated).
    pub fn remote_address(&self) -> SocketAddr {
        self.incoming.remote_address()
    }

    /// Refuses the attempt without a handshake (e.g. under load).
    pub fn refuse(self) {
        self.incoming.refuse();
    }

    /// Runs the handshake and admits the client if the registry knows its key.
    pub async fn establish(self) -> Result<PeerConnection, AcceptError> {
        let shared = &self.shared;
        let limits = shared.limits;
        let refusal = Arc::new(OnceLock::new());
        let quic = server_tls(
            &shared.certified,
            &shared.registry,
            &shared.provider,
            refusal.clone(),
        )
        .map_err(|e| AcceptError::Local(e.to_string()))?;
        let mut config = shared.server.clone();
        config.crypto = Arc::new(quic);
        let connecting = self
            .incoming
            .accept_with(Arc::new(config))
            .map_err(|e| AcceptError::Handshake(e.to_string()))?;
        let conn = match tokio::time::timeout(limits.connect_timeout, connecting).await {
            Err(_) => return Err(AcceptError::Timeout),
            Ok(Err(e)) => {
                return Err(match refusal.get() {
                    Some(reason) => AcceptError::Admission(reason.clone()),
                    None => AcceptError::Handshake(e.to_string()),
                })
            }
            Ok(Ok(conn)) => conn,
        };
        // The verifier admitted the key during the handshake; check again on the
        // negotiated state (ALPN, the registry may have changed) and learn the name.
        let (member, key) = authenticate(&conn, &*shared.registry, None)?;
        Ok(PeerConnection::new(conn, member, key, limits))
    }
}

/// Reads the authenticated peer from a finished handshake; closes the connection if it
/// does not pass.
fn authenticate(
    conn: &quinn::Connection,
    registry: &dyn PeerRegistry,
    expected: Option<&MemberName>,
) -> Result<(MemberName, IdentityPublicKey), AdmissionError> {
    let result = (|| {
        let protocol = conn
            .handshake_data()
            .and_then(|d| d.downcast::<HandshakeData>().ok())
            .and_then(|d| d.protocol);
        if protocol.as_deref() != Some(ALPN) {
            return Err(AdmissionError::Alpn);
        }
        let certs = conn
            .peer_identity()
            .and_then(|i| i.downcast::<Vec<CertificateDer<'static>>>().ok())
            .ok_or_else(|| PeerCertError::NotX509("no peer certificate".into()))?;
        let (end_entity, chain) = certs
            .split_first()
            .ok_or_else(|| PeerCertError::NotX509("empty certificate chain".into()))?;
        admit(registry, end_entity, chain.len(), expected)
    })();
    if let Err(e) = &result {
        conn.close(
            VarInt::from_u32(CLOSE_NOT_ADMITTED),
            e.to_string().as_bytes(),
        );
    }
    result
}
