//! Frames over QUIC streams: the thin I/O layer above [`crate::frame`].

use crate::error::{ExchangeError, StreamRejection};
use crate::frame::{self, FrameError, LENGTH_PREFIX_LEN};
use quinn::{ReadExactError, RecvStream, SendStream};

/// Payload buffer reserved up front; larger frames grow as their bytes arrive.
const INITIAL_PAYLOAD_CAPACITY: usize = 64 * 1024;

/// Reads one frame and returns its body (version already checked).
///
/// The length prefix is checked against `max` before any payload buffer is allocated,
/// and the buffer grows only as payload bytes arrive.
pub(crate) async fn read_frame(recv: &mut RecvStream, max: u32) -> Result<Vec<u8>, ExchangeError> {
    let mut prefix = [0u8; LENGTH_PREFIX_LEN];
    match recv.read_exact(&mut prefix).await {
        Ok(()) => {}
        Err(ReadExactError::FinishedEarly(0)) => return Err(ExchangeError::Closed),
        Err(ReadExactError::FinishedEarly(n)) => {
            return Err(
                FrameError::Malformed(format!("stream ended after {n} prefix bytes")).into(),
            )
        }
        Err(ReadExactError::ReadError(e)) => return Err(e.into()),
    }
    let len = frame::check_length_prefix(prefix, max)?;
    // Grow with the data actually received rather than trusting the announced length:
    // memory then follows flow control, not a peer's claim.
    let mut payload = Vec::with_capacity(len.min(INITIAL_PAYLOAD_CAPACITY));
    while payload.len() < len {
        match recv.read_chunk(len - payload.len(), true).await? {
            Some(chunk) => {
                payload.extend_from_slice(&chunk.bytes);
                // Refuse an unknown version as soon as its byte arrives.
                if let Some(&v) = payload.first() {
                    if v != frame::FRAME_VERSION {
                        return Err(FrameError::UnsupportedVersion(v).into());
                    }
                }
            }
            None => {
                return Err(FrameError::Malformed(format!(
                    "stream ended after {} of {len} payload bytes",
                    payload.len()
                ))
                .into())
            }
        }
    }
    let body_len = frame::open_payload(&payload)?.len();
    // Drop the version byte in place rather than copying the body.
    payload.drain(..payload.len() - body_len);
    Ok(payload)
}

/// Writes one already-encoded frame and finishes the stream.
pub(crate) async fn write_frame_and_finish(
    send: &mut SendStream,
    encoded: &[u8],
) -> Result<(), ExchangeError> {
    send.write_all(encoded).await?;
    send.finish()
        .map_err(|e| ExchangeError::Io(e.to_string()))?;
    Ok(())
}

/// Closes both halves of a stream because of a received error, telling the peer why.
pub(crate) fn reject(send: &mut SendStream, recv: &mut RecvStream, err: &ExchangeError) {
    let reason = match err {
        ExchangeError::FrameTooLarge { .. } => StreamRejection::FrameTooLarge,
        ExchangeError::UnsupportedVersion(_) => StreamRejection::UnsupportedVersion,
        ExchangeError::Malformed(_) => StreamRejection::Malformed,
        ExchangeError::Timeout => StreamRejection::Timeout,
        // The stream is already gone or the fault is ours; nothing useful to tell.
        _ => return,
    };
    let code = reason.code();
    // Both calls only fail if the stream half is already closed, which is fine.
    let _ = send.reset(code);
    let _ = recv.stop(code);
}
