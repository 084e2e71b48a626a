//! The frame format, as pure functions over byte slices (no I/O).
//!
//! ```text
//! frame   = length:u32be payload
//! payload = version:u8 body           (length = 1 + body.len(), 1 ..= max)
//! body    = postcard(value)           (for the typed helpers)
//! ```
//!
//! The length prefix is checked against the receiver's maximum *before* any buffer
//! for the payload is allocated, so a peer cannot make us reserve memory by announcing
//! a huge frame.

use serde::{de::DeserializeOwned, Serialize};

/// The only payload version this build speaks: raised with every incompatible change of the
/// messages frames carry (2: records v2, signed query requests), so that nodes of different
/// versions refuse each other's frames with `UnsupportedVersion` instead of misreading them.
pub const FRAME_VERSION: u8 = 2;

/// Size of the big-endian length prefix.
pub const LENGTH_PREFIX_LEN: usize = 4;

/// Default maximum payload length (version byte plus body): 4 MiB.
pub const DEFAULT_MAX_FRAME_LEN: u32 = 4 * 1024 * 1024;

/// Why bytes are not an acceptable frame, or a value cannot be framed.
///
/// When *receiving*, every variant means the peer misbehaved. When *sending*,
/// [`FrameError::FrameTooLarge`] and [`FrameError::Encode`] mean the caller asked for
/// something the limits or the encoding forbid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The announced (or, when sending, the actual) payload length exceeds the maximum.
    #[error("frame of {len} bytes exceeds the maximum of {max} bytes")]
    FrameTooLarge {
        /// Payload length announced by the prefix or produced by the encoder.
        len: u64,
        /// The configured maximum payload length.
        max: u32,
    },
    /// The payload's version byte is not [`FRAME_VERSION`].
    #[error("unsupported frame version {0}")]
    UnsupportedVersion(u8),
    /// The bytes are not a frame, or the body is not a valid encoding of the expected type.
    #[error("malformed frame: {0}")]
    Malformed(String),
    /// A local value could not be serialised (caller misuse, never the peer's fault).
    #[error("cannot encode value: {0}")]
    Encode(String),
}

/// Checks a received length prefix against `max` and returns the payload length to read.
///
/// This is the check that must run before allocating the payload buffer.
pub fn check_length_prefix(prefix: [u8; LENGTH_PREFIX_LEN], max: u32) -> Result<usize, FrameError> {
    let len = u32::from_be_bytes(prefix);
    if len > max {
        return Err(FrameError::FrameTooLarge {
            len: u64::from(len),
            max,
        });
    }
    if len == 0 {
        return Err(FrameError::Malformed(
            "empty payload has no version byte".into(),
        ));
    }
    usize::try_from(len).map_err(|_| FrameError::FrameTooLarge {
        len: u64::from(len),
        max,
    })
}

/// Splits a received payload into its body after checking the version byte.
pub fn open_payload(payload: &[u8]) -> Result<&[u8], FrameError> {
    match payload.split_first() {
        None => Err(FrameError::Malformed(
            "empty payload has no version byte".into(),
        )),
        Some((&FRAME_VERSION, body)) => Ok(body),
        Some((&v, _)) => Err(FrameError::UnsupportedVersion(v)),
    }
}

/// Builds a complete frame (prefix, version, body) with an explicit version byte.
///
/// Ordinary callers use [`encode_frame`]; an explicit version exists for tests and for
/// negotiating future versions.
pub fn encode_frame_with_version(
    version: u8,
    body: &[u8],
    max: u32,
) -> Result<Vec<u8>, FrameError> {
    let payload_len = body.len().saturating_add(1);
    let too_large = || FrameError::FrameTooLarge {
        len: u64::try_from(payload_len).unwrap_or(u64::MAX),
        max,
    };
    let len = u32::try_from(payload_len).map_err(|_| too_large())?;
    if len > max {
        return Err(too_large());
    }
    let mut out = Vec::with_capacity(LENGTH_PREFIX_LEN + payload_len);
    out.extend_from_slice(&len.to_be_bytes());
    out.push(version);
    out.extend_from_slice(body);
    Ok(out)
}

/// Builds a complete frame carrying `body` at [`FRAME_VERSION`].
pub fn encode_frame(body: &[u8], max: u32) -> Result<Vec<u8>, FrameError> {
    encode_frame_with_version(FRAME_VERSION, body, max)
}

/// Decodes exactly one complete frame held in `bytes` and returns its body.
///
/// Truncated input, trailing bytes, an oversized prefix or an unknown version are errors.
pub fn decode_frame(bytes: &[u8], max: u32) -> Result<&[u8], FrameError> {
    let (prefix, rest) = bytes
        .split_first_chunk::<LENGTH_PREFIX_LEN>()
        .ok_or_else(|| FrameError::Malformed("truncated length prefix".into()))?;
    let len = check_length_prefix(*prefix, max)?;
    match rest.len().cmp(&len) {
        std::cmp::Ordering::Less => Err(FrameError::Malformed(format!(
            "truncated payload: {} of {len} bytes",
            rest.len()
        ))),
        std::cmp::Ordering::Greater => Err(FrameError::Malformed(format!(
            "{} trailing bytes after frame",
            rest.len() - len
        ))),
        std::cmp::Ordering::Equal => open_payload(rest),
    }
}

/// Serialises a value with `postcard` (the wire encoding of all typed messages).
pub fn encode_body<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, FrameError> {
    postcard::to_stdvec(value).map_err(|e| FrameError::Encode(e.to_string()))
}

/// Deserialises a body with `postcard`; trailing bytes are refused.
pub fn decode_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, FrameError> {
    let (value, rest) =
        postcard::take_from_bytes::<T>(body).map_err(|e| FrameError::Malformed(e.to_string()))?;
    if rest.is_empty() {
        Ok(value)
    } else {
        Err(FrameError::Malformed(format!(
            "{} trailing bytes after message",
            rest.len()
        )))
    }
}

/// Encodes a value into a complete frame.
pub fn encode_message<T: Serialize + ?Sized>(value: &T, max: u32) -> Result<Vec<u8>, FrameError> {
    encode_frame(&encode_body(value)?, max)
}

/// Decodes a complete frame held in `bytes` into a value.
pub fn decode_message<T: DeserializeOwned>(bytes: &[u8], max: u32) -> Result<T, FrameError> {
    decode_body(decode_frame(bytes, max)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Msg {
        id: u32,
        tags: Vec<[u8; 4]>,
        note: String,
    }

    #[test]
    fn round_trip() {
        let m = Msg {
            id: 7,
            tags: vec![[1, 2, 3, 4]],
            note: "x".into(),
        };
        let bytes = encode_message(&m, 1024).expect("fits");
        assert_eq!(bytes[4], FRAME_VERSION);
        assert_eq!(decode_message::<Msg>(&bytes, 1024), Ok(m));
    }

    #[test]
    fn typed_errors() {
        // Oversized prefix: refused from the prefix alone.
        let mut huge = u32::MAX.to_be_bytes().to_vec();
        huge.push(FRAME_VERSION);
        assert_eq!(
            decode_frame(&huge, 16),
            Err(FrameError::FrameTooLarge {
                len: u64::from(u32::MAX),
                max: 16
            })
        );
        // Unknown version.
        let v9 = encode_frame_with_version(9, b"hi", 16).expect("fits");
        assert_eq!(
            decode_frame(&v9, 16),
            Err(FrameError::UnsupportedVersion(9))
        );
        // Empty payload, truncation, trailing bytes.
        assert!(matches!(
            decode_frame(&[0, 0, 0, 0], 16),
            Err(FrameError::Malformed(_))
        ));
        assert!(matches!(
            decode_frame(&[0, 0], 16),
            Err(FrameError::Malformed(_))
        ));
        assert!(matches!(
            decode_frame(&[0, 0, 0, 3, 1], 16),
            Err(FrameError::Malformed(_))
        ));
        assert!(matches!(
            decode_frame(&[0, 0, 0, 1, 1, 0], 16),
            Err(FrameError::Malformed(_))
        ));
        // Garbage body for the expected type.
        let garbage = encode_frame(&[0xff; 9], 16).expect("fits");
        assert!(matches!(
            decode_message::<Msg>(&garbage, 16),
            Err(FrameError::Malformed(_))
        ));
        // Sending more than the maximum is refused too.
        assert_eq!(
            encode_frame(&[0; 16], 16),
            Err(FrameError::FrameTooLarge { len: 17, max: 16 })
        );
        // Trailing bytes inside the body.
        let mut body = encode_body(&5u32).expect("encodes");
        body.push(0);
        assert!(matches!(
            decode_body::<u32>(&body),
            Err(FrameError::Malformed(_))
        ));
    }

    proptest! {
        #[test]
        fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64), max in 0u32..128) {
            let _ = decode_frame(&bytes, max);
            let _ = decode_message::<Msg>(&bytes, max);
            let _ = decode_body::<Msg>(&bytes);
        }

        #[test]
        fn arbitrary_prefix_is_checked_before_allocation(prefix in any::<[u8; 4]>(), max in any::<u32>()) {
            match check_length_prefix(prefix, max) {
                Ok(len) => prop_assert!(len >= 1 && u64::try_from(len).unwrap_or(u64::MAX) <= u64::from(max)),
                Err(FrameError::FrameTooLarge { len, .. }) => prop_assert!(len > u64::from(max)),
                Err(FrameError::Malformed(_)) => prop_assert_eq!(u32::from_be_bytes(prefix), 0),
                Err(e) => prop_assert!(false, "unexpected {e}"),
            }
        }
    }
}
