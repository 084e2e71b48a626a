//! Errors, one enum per operation. Each answers [`Blame`], so callers can keep
//! "the peer misbehaved" apart from "the peer is unreachable" and "we got it wrong".

use crate::admission::AdmissionError;
use crate::frame::FrameError;
use crate::identity::IdentityCertError;

/// Whose fault an error is, for logging, retry and reputation decisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Blame {
    /// The peer sent something it must not send, or is not who it must be. Do not retry
    /// blindly; record it.
    Peer,
    /// The peer could not be reached or went away (network, timeouts, closes). Retrying
    /// later is reasonable.
    Network,
    /// The caller misused the API or the local node is misconfigured; fatal for the
    /// operation.
    Local,
}

/// Error code used when a stream is reset or stopped because of a bad frame.
///
/// The receiving side of a rejected exchange sees it as [`ExchangeError::Rejected`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum StreamRejection {
    /// Our frame exceeded the peer's maximum.
    FrameTooLarge,
    /// The peer does not speak our frame version.
    UnsupportedVersion,
    /// The peer could not decode our frame.
    Malformed,
    /// The peer gave up waiting for us.
    Timeout,
    /// The peer read the request but declined to answer it (e.g. its handler failed).
    Unanswered,
    /// Any other code.
    Other(u64),
}

impl StreamRejection {
    pub(crate) fn code(self) -> quinn::VarInt {
        let code = match self {
            Self::FrameTooLarge => 1,
            Self::UnsupportedVersion => 2,
            Self::Malformed => 3,
            Self::Timeout => 4,
            Self::Unanswered => 5,
            Self::Other(code) => code,
        };
        quinn::VarInt::from_u64(code).unwrap_or(quinn::VarInt::MAX)
    }

    pub(crate) fn from_code(code: u64) -> Self {
        match code {
            1 => Self::FrameTooLarge,
            2 => Self::UnsupportedVersion,
            3 => Self::Malformed,
            4 => Self::Timeout,
            5 => Self::Unanswered,
            other => Self::Other(other),
        }
    }
}

/// Why [`Endpoint::bind`](crate::Endpoint::bind) failed. All variants are local.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BindError {
    /// The identity certificate could not be built.
    #[error(transparent)]
    Identity(#[from] IdentityCertError),
    /// TLS or QUIC configuration was refused (a bug or an unusable provider).
    #[error("TLS configuration: {0}")]
    Tls(String),
    /// The limits are inconsistent (e.g. a zero frame size or an idle timeout too large).
    #[error("invalid limits: {0}")]
    InvalidLimits(&'static str),
    /// The UDP socket could not be bound, or no Tokio runtime is running.
    #[error("cannot bind: {0}")]
    Io(#[from] std::io::Error),
}

impl BindError {
    /// Always [`Blame::Local`].
    pub fn blame(&self) -> Blame {
        Blame::Local
    }
}

/// Why [`Endpoint::connect`](crate::Endpoint::connect) failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The server is not the member we dialled, or is no member at all (peer).
    #[error("peer refused: {0}")]
    Admission(#[from] AdmissionError),
    /// The handshake was aborted by the peer's TLS stack or failed on the wire, for
    /// example because the peer does not admit us (network/peer; the reason is the
    /// peer's or transport's description).
    #[error("handshake failed: {0}")]
    Handshake(String),
    /// No handshake completed within the connect timeout (network).
    #[error("connect timed out")]
    Timeout,
    /// The endpoint cannot dial this address or is shutting down (local).
    #[error("cannot start connection: {0}")]
    Endpoint(String),
}

impl ConnectError {
    /// Whose fault this is.
    pub fn blame(&self) -> Blame {
        match self {
            Self::Admission(_) => Blame::Peer,
            Self::Handshake(_) | Self::Timeout => Blame::Network,
            Self::Endpoint(_) => Blame::Local,
        }
    }
}

/// Why an incoming connection was not established.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AcceptError {
    /// The client's certificate was not admitted (peer).
    #[error("client refused: {0}")]
    Admission(#[from] AdmissionError),
    /// The handshake failed for another reason: protocol violation, no common
    /// parameters, or a transport failure (peer or network; the reason names the cause).
    #[error("handshake failed: {0}")]
    Handshake(String),
    /// No handshake completed within the connect timeout (network).
    #[error("handshake timed out")]
    Timeout,
    /// The local TLS configuration could not be built (local, fatal).
    #[error("local TLS configuration: {0}")]
    Local(String),
}

impl AcceptError {
    /// Whose fault this is. Handshake failures are counted as the peer's: over a
    /// working network they mean a refused certificate or a protocol violation.
    pub fn blame(&self) -> Blame {
        match self {
            Self::Admission(_) | Self::Handshake(_) => Blame::Peer,
            Self::Timeout => Blame::Network,
            Self::Local(_) => Blame::Local,
        }
    }
}

/// Why a request/response exchange failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExchangeError {
    /// A received frame announces more than our maximum; refused before allocating
    /// (peer).
    #[error("frame of {len} bytes exceeds the maximum of {max} bytes")]
    FrameTooLarge {
        /// The announced or encoded payload length.
        len: u64,
        /// The configured maximum.
        max: u32,
    },
    /// The frame we were asked to send exceeds our own maximum; nothing was sent
    /// (local).
    #[error("outgoing frame of {len} bytes exceeds the maximum of {max} bytes")]
    OutgoingTooLarge {
        /// The encoded payload length.
        len: u64,
        /// The configured maximum.
        max: u32,
    },
    /// The received frame has an unknown version byte (peer).
    #[error("unsupported frame version {0}")]
    UnsupportedVersion(u8),
    /// The received frame or its body is malformed (peer).
    #[error("malformed frame: {0}")]
    Malformed(String),
    /// A local value could not be encoded (local).
    #[error("cannot encode value: {0}")]
    Encode(String),
    /// The peer reset or stopped the stream, refusing our frame (peer, but it reports
    /// a fault of ours: check versions and limits).
    #[error("peer rejected the exchange: {0:?}")]
    Rejected(StreamRejection),
    /// The exchange did not complete within its timeout, or the connection idled out
    /// (network).
    #[error("exchange timed out")]
    Timeout,
    /// The connection or stream was closed before the exchange completed (network).
    #[error("connection or stream closed")]
    Closed,
    /// The connection was lost with a transport error, e.g. because the peer's TLS
    /// stack refused our identity after the handshake (network).
    #[error("connection lost: {0}")]
    ConnectionLost(String),
    /// A stream operation failed locally (local).
    #[error("stream I/O: {0}")]
    Io(String),
}

impl ExchangeError {
    /// Whose fault this is.
    pub fn blame(&self) -> Blame {
        match self {
            Self::FrameTooLarge { .. }
            | Self::UnsupportedVersion(_)
            | Self::Malformed(_)
            | Self::Rejected(_) => Blame::Peer,
            Self::Timeout | Self::Closed | Self::ConnectionLost(_) => Blame::Network,
            Self::OutgoingTooLarge { .. } | Self::Encode(_) | Self::Io(_) => Blame::Local,
        }
    }
}

impl ExchangeError {
    /// Converts an encoding error on the *sending* side: too large is our fault.
    pub(crate) fn outgoing(e: FrameError) -> Self {
        match e {
            FrameError::FrameTooLarge { len, max } => Self::OutgoingTooLarge { len, max },
            other => other.into(),
        }
    }
}

/// Receiving side: frame errors are the peer's.
impl From<FrameError> for ExchangeError {
    fn from(e: FrameError) -> Self {
        match e {
            FrameError::FrameTooLarge { len, max } => Self::FrameTooLarge { len, max },
            FrameError::UnsupportedVersion(v) => Self::UnsupportedVersion(v),
            FrameError::Malformed(m) => Self::Malformed(m),
            FrameError::Encode(m) => Self::Encode(m),
        }
    }
}

impl From<quinn::ConnectionError> for ExchangeError {
    fn from(e: quinn::ConnectionError) -> Self {
        use quinn::ConnectionError as C;
        match e {
            C::TimedOut => Self::Timeout,
            C::ApplicationClosed(_) | C::ConnectionClosed(_) | C::LocallyClosed | C::Reset => {
                Self::Closed
            }
            other => Self::ConnectionLost(other.to_string()),
        }
    }
}

impl From<quinn::ReadError> for ExchangeError {
    fn from(e: quinn::ReadError) -> Self {
        use quinn::ReadError as R;
        match e {
            R::Reset(code) => Self::Rejected(StreamRejection::from_code(code.into_inner())),
            R::ConnectionLost(c) => c.into(),
            other => Self::Io(other.to_string()),
        }
    }
}

impl From<quinn::WriteError> for ExchangeError {
    fn from(e: quinn::WriteError) -> Self {
        use quinn::WriteError as W;
        match e {
            W::Stopped(code) => Self::Rejected(StreamRejection::from_code(code.into_inner())),
            W::ConnectionLost(c) => c.into(),
            other => Self::Io(other.to_string()),
        }
    }
}
