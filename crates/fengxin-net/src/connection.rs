//! An authenticated connection to a member, and request/response exchanges over it.

use crate::endpoint::Limits;
use crate::error::{ExchangeError, StreamRejection};
use crate::frame;
use crate::stream::{read_frame, reject, write_frame_and_finish};
use fengxin_crypto::IdentityPublicKey;
use fengxin_types::MemberName;
use quinn::{RecvStream, SendStream, VarInt};
use serde::{de::DeserializeOwned, Serialize};
use std::net::SocketAddr;
use tokio::time::{timeout, timeout_at, Instant};

/// A connection whose peer has been authenticated as a current member.
///
/// Cheap to clone; clones share the connection.
#[derive(Clone)]
pub struct PeerConnection {
    conn: quinn::Connection,
    member: MemberName,
    key: IdentityPublicKey,
    limits: Limits,
}

impl std::fmt::Debug for PeerConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerConnection")
            .field("member", &self.member)
            .field("key", &self.key)
            .field("remote_address", &self.conn.remote_address())
            .finish_non_exhaustive()
    }
}

impl PeerConnection {
    pub(crate) fn new(
        conn: quinn::Connection,
        member: MemberName,
        key: IdentityPublicKey,
        limits: Limits,
    ) -> Self {
        Self {
            conn,
            member,
            key,
            limits,
        }
    }

    /// The authenticated peer's member name.
    pub fn member(&self) -> &MemberName {
        &self.member
    }

    /// The authenticated peer's identity key.
    pub fn public_key(&self) -> IdentityPublicKey {
        self.key
    }

    /// The peer's current address.
    pub fn remote_address(&self) -> SocketAddr {
        self.conn.remote_address()
    }

    /// Sends `request` on a new stream and waits for one response, all within the
    /// exchange timeout. Both are postcard-encoded in version-1 frames.
    pub async fn request<Q, R>(&self, request: &Q) -> Result<R, ExchangeError>
    where
        Q: Serialize + ?Sized,
        R: DeserializeOwned,
    {
        let encoded = frame::encode_message(request, self.limits.max_frame_len)
            .map_err(ExchangeError::outgoing)?;
        let body = self.exchange(&encoded).await?;
        Ok(frame::decode_body(&body)?)
    }

    /// Sends a raw frame body with an explicit version byte and returns the raw
    /// response body (version-checked). For protocol evolution and tests; ordinary
    /// callers use [`PeerConnection::request`].
    pub async fn request_raw(&self, version: u8, body: &[u8]) -> Result<Vec<u8>, ExchangeError> {
        let encoded = frame::encode_frame_with_version(version, body, self.limits.max_frame_len)
            .map_err(ExchangeError::outgoing)?;
        self.exchange(&encoded).await
    }

    async fn exchange(&self, encoded: &[u8]) -> Result<Vec<u8>, ExchangeError> {
        let max = self.limits.max_frame_len;
        let run = async {
            let (mut send, mut recv) = self.conn.open_bi().await?;
            write_frame_and_finish(&mut send, encoded).await?;
            let response = read_frame(&mut recv, max).await;
            if let Err(e) = &response {
                reject(&mut send, &mut recv, e);
            }
            response
        };
        timeout(self.limits.exchange_timeout, run)
            .await
            .unwrap_or(Err(ExchangeError::Timeout))
    }

    /// Waits for the peer's next request stream. Fails with
    /// [`ExchangeError::Closed`] (or another connection error) once the connection
    /// ends, which ends a serving loop.
    pub async fn accept_request(&self) -> Result<IncomingRequest, ExchangeError> {
        let (send, recv) = self.conn.accept_bi().await?;
        Ok(IncomingRequest {
            send,
            recv,
            max: self.limits.max_frame_len,
            deadline: Instant::now() + self.limits.exchange_timeout,
        })
    }

    /// Closes the connection gracefully; the peer sees `Closed`.
    pub fn close(&self) {
        self.conn.close(VarInt::from_u32(0), b"closed");
    }

    /// Waits until the connection is closed, by either side or by idling out.
    pub async fn closed(&self) {
        let _ = self.conn.closed().await;
    }
}

/// A request stream opened by the peer; read it once, then answer with the
/// [`Responder`]. The whole exchange shares one deadline, counted from
/// [`PeerConnection::accept_request`].
///
/// Any receive error resets the stream with a code the peer sees as
/// [`ExchangeError::Rejected`].
pub struct IncomingRequest {
    send: SendStream,
    recv: RecvStream,
    max: u32,
    deadline: Instant,
}

impl std::fmt::Debug for IncomingRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IncomingRequest").finish_non_exhaustive()
    }
}

impl IncomingRequest {
    /// Reads and decodes the request.
    pub async fn read<T: DeserializeOwned>(self) -> Result<(T, Responder), ExchangeError> {
        let (body, mut responder) = self.read_raw().await?;
        match frame::decode_body(&body) {
            Ok(value) => Ok((value, responder)),
            Err(e) => {
                let e = ExchangeError::from(e);
                reject(&mut responder.send, &mut responder.recv, &e);
                Err(e)
            }
        }
    }

    /// Reads the request frame and returns its body (version-checked).
    pub async fn read_raw(mut self) -> Result<(Vec<u8>, Responder), ExchangeError> {
        let result = timeout_at(self.deadline, read_frame(&mut self.recv, self.max))
            .await
            .unwrap_or(Err(ExchangeError::Timeout));
        match result {
            Ok(body) => Ok((
                body,
                Responder {
                    send: self.send,
                    recv: self.recv,
                    max: self.max,
                    deadline: self.deadline,
                    answered: false,
                },
            )),
            Err(e) => {
                reject(&mut self.send, &mut self.recv, &e);
                Err(e)
            }
        }
    }
}

/// The answering half of a request stream.
///
/// Dropping it without a successful response resets the stream with
/// [`StreamRejection::Unanswered`](crate::StreamRejection), so the requester gets a
/// prompt typed error instead of waiting for its timeout.
pub struct Responder {
    send: SendStream,
    recv: RecvStream,
    max: u32,
    deadline: Instant,
    answered: bool,
}

impl Drop for Responder {
    fn drop(&mut self) {
        if !self.answered {
            let code = StreamRejection::Unanswered.code();
            // Fails only if the stream is already reset or finished, which is fine.
            let _ = self.send.reset(code);
        }
    }
}

impl std::fmt::Debug for Responder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Responder").finish_non_exhaustive()
    }
}

impl Responder {
    /// Encodes and sends the response, then finishes the stream.
    pub async fn respond<T: Serialize + ?Sized>(self, value: &T) -> Result<(), ExchangeError> {
        let encoded = frame::encode_message(value, self.max).map_err(ExchangeError::outgoing)?;
        self.send_encoded(&encoded).await
    }

    /// Resolves once the requester no longer waits for this answer: it stopped the stream,
    /// the connection closed, or the exchange deadline passed. Independent of `self`, so work
    /// for the request can watch it and stop early.
    pub fn abandoned(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let stopped = self.send.stopped();
        let deadline = self.deadline;
        async move {
            let _ = timeout_at(deadline, stopped).await;
        }
    }

    /// Sends a raw response body at the current frame version.
    pub async fn respond_raw(self, body: &[u8]) -> Result<(), ExchangeError> {
        let encoded = frame::encode_frame(body, self.max).map_err(ExchangeError::outgoing)?;
        self.send_encoded(&encoded).await
    }

    async fn send_encoded(mut self, encoded: &[u8]) -> Result<(), ExchangeError> {
        let result = timeout_at(
            self.deadline,
            write_frame_and_finish(&mut self.send, encoded),
        )
        .await
        .unwrap_or(Err(ExchangeError::Timeout));
        self.answered = result.is_ok();
        result
    }
}
