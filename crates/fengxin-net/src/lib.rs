//! Fengxin transport: QUIC between member banks, authenticated by identity key.
//!
//! # Identity and admission
//!
//! Every member has an Ed25519 identity key ([`fengxin_crypto::IdentityKey`]). At
//! start-up [`Endpoint::bind`] builds a self-signed X.509 certificate (rcgen) whose
//! SubjectPublicKeyInfo *is* that key; nothing is stored and there is no CA. Both sides
//! present their certificate (client certificates are mandatory) in a TLS 1.3-only
//! handshake (rustls, `ring` provider) with ALPN `fengxin/1`.
//!
//! Custom verifiers replace PKI validation:
//!
//! * the Ed25519 key is parsed out of the end-entity certificate with `x509-cert`
//!   (chains are refused; names, validity dates and the self-signature are ignored);
//! * the key must be a current member according to the [`PeerRegistry`] (the ledger);
//!   removing a member from the registry revokes it at its next handshake;
//! * when dialling, the key must belong to the member we meant to reach;
//! * the TLS 1.3 `CertificateVerify` signature (Ed25519 only) is checked with the
//!   provider's algorithms against that same key, which proves possession of the
//!   identity key.
//!
//! Session resumption and 0-RTT are disabled so every connection runs the registry
//! check. The TLS server name is a fixed placeholder ([`SERVER_NAME`]).
//!
//! # Frames
//!
//! Each request/response exchange uses one bidirectional QUIC stream carrying one frame
//! each way:
//!
//! ```text
//! frame   = length:u32 (big-endian) payload
//! payload = version:u8 body          1 <= length <= max_frame_len
//! body    = postcard(serde value)
//! ```
//!
//! The version is [`FRAME_VERSION`] (2). The length prefix is checked against the
//! endpoint's [`Limits::max_frame_len`] (default 4 MiB) before any payload buffer is
//! allocated, and the buffer then grows only as bytes arrive (an unknown version is
//! refused on its first byte). Bodies are encoded with [`postcard`](https://docs.rs/postcard) (compact,
//! varint-based, serde); trailing bytes are refused. A bad frame is answered by
//! resetting the stream with a [`StreamRejection`] code and returned as a typed
//! [`ExchangeError`]; it never panics and never affects other streams or the
//! connection. A responder dropped without answering resets the stream with
//! [`StreamRejection::Unanswered`]. The whole exchange runs under
//! [`Limits::exchange_timeout`].
//!
//! Known TLS 1.3 property: a client finishes its handshake before the server has
//! checked the client certificate, so a client the server does not admit may see
//! [`Endpoint::connect`] succeed and its first exchange fail with
//! [`ExchangeError::ConnectionLost`]. The server side always reports the refusal as
//! [`AcceptError::Admission`].
//!
//! The pure codec lives in [`frame`] (no I/O) so it can be tested and fuzzed on bytes.
//!
//! # Implementing the registry
//!
//! The ledger implements [`PeerRegistry`]; [`testing::check_peer_registry`] is the
//! conformance check every implementation should pass.
//!
//! # Errors
//!
//! One enum per operation ([`BindError`], [`ConnectError`], [`AcceptError`],
//! [`ExchangeError`], [`frame::FrameError`]); each has a `blame()` returning
//! [`Blame::Peer`], [`Blame::Network`] or [`Blame::Local`].

#![forbid(unsafe_code)]

mod admission;
mod connection;
mod endpoint;
mod error;
pub mod frame;
mod identity;
mod stream;
pub mod testing;

pub use admission::{AdmissionError, PeerRegistry, StaticRegistry};
pub use connection::{IncomingRequest, PeerConnection, Responder};
pub use endpoint::{Endpoint, IncomingPeer, Limits, ALPN, SERVER_NAME};
pub use error::{AcceptError, BindError, Blame, ConnectError, ExchangeError, StreamRejection};
pub use frame::{FrameError, DEFAULT_MAX_FRAME_LEN, FRAME_VERSION};
pub use identity::{key_from_certificate, IdentityCert, IdentityCertError, PeerCertError};
