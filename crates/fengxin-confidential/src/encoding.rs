//! Hex and fixed-size byte helpers shared by every type of this crate.
//!
//! Every type serialises (serde) as its canonical byte encoding: a lower-case hex string in
//! human-readable formats (JSON), raw bytes in binary ones (the ledger's postcard records, which
//! are signed and hashed in that one format). Parsing accepts upper- or lower-case hex, and
//! checks bytes exactly as `from_bytes` does.

use crate::ConfidentialError;
use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;

/// Decodes a hex string, refusing it before decoding if it would exceed `max_bytes`.
pub(crate) fn decode_hex(s: &str, max_bytes: usize) -> Result<Vec<u8>, ConfidentialError> {
    if s.len() > max_bytes.saturating_mul(2) {
        return Err(ConfidentialError::BadLength {
            expected: max_bytes,
            actual: s.len() / 2,
        });
    }
    hex::decode(s).map_err(|_| ConfidentialError::BadHex)
}

/// Decodes a hex string of exactly `N` bytes.
pub(crate) fn decode_hex_array<const N: usize>(s: &str) -> Result<[u8; N], ConfidentialError> {
    let bytes = decode_hex(s, N)?;
    to_array(&bytes)
}

/// Copies a slice of exactly `N` bytes into an array.
pub(crate) fn to_array<const N: usize>(bytes: &[u8]) -> Result<[u8; N], ConfidentialError> {
    <[u8; N]>::try_from(bytes).map_err(|_| ConfidentialError::BadLength {
        expected: N,
        actual: bytes.len(),
    })
}

/// Parses the canonical encoding of a Ristretto point (the identity is accepted).
pub(crate) fn decode_point(bytes: &[u8]) -> Result<RistrettoPoint, ConfidentialError> {
    let array: [u8; 32] = to_array(bytes)?;
    // `decompress` rejects every non-canonical encoding (RFC 9496 §4.3.1).
    CompressedRistretto(array)
        .decompress()
        .ok_or(ConfidentialError::InvalidPoint)
}

/// Parses the canonical encoding of a scalar modulo the group order.
pub(crate) fn decode_scalar(bytes: &[u8]) -> Result<Scalar, ConfidentialError> {
    let array: [u8; 32] = to_array(bytes)?;
    Option::from(Scalar::from_canonical_bytes(array)).ok_or(ConfidentialError::InvalidScalar)
}

/// Reads a byte string (binary formats), borrowed or owned.
pub(crate) struct BytesVisitor;

impl<'de> serde::de::Visitor<'de> for BytesVisitor {
    type Value = Vec<u8>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a byte string")
    }

    fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
        Ok(v.to_vec())
    }

    fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
        Ok(v)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u8>, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(b) = seq.next_element::<u8>()? {
            out.push(b);
        }
        Ok(out)
    }
}

/// Implements `Serialize`/`Deserialize` through the type's `to_hex`/`from_hex` (human-readable
/// formats) and `to_bytes`/`from_bytes` (binary formats).
macro_rules! serde_via_hex {
    ($ty:ty) => {
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                if serializer.is_human_readable() {
                    serializer.serialize_str(&self.to_hex())
                } else {
                    serializer.serialize_bytes(&self.to_bytes())
                }
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                if deserializer.is_human_readable() {
                    let s = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(
                        deserializer,
                    )?;
                    <$ty>::from_hex(&s).map_err(serde::de::Error::custom)
                } else {
                    let bytes = deserializer.deserialize_bytes($crate::encoding::BytesVisitor)?;
                    <$ty>::from_bytes(&bytes).map_err(serde::de::Error::custom)
                }
            }
        }
    };
}
pub(crate) use serde_via_hex;

/// `#[serde(with = ...)]` helper: a `[u8; 32]` as a 64-character hex string.
pub(crate) mod hex_32 {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::borrow::Cow;

    pub(crate) fn serialize<S: Serializer>(bytes: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.serialize_str(&hex::encode(bytes))
        } else {
            s.serialize_bytes(bytes)
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        if d.is_human_readable() {
            let s = Cow::<'de, str>::deserialize(d)?;
            super::decode_hex_array::<32>(&s).map_err(serde::de::Error::custom)
        } else {
            let bytes = d.deserialize_bytes(super::BytesVisitor)?;
            super::to_array::<32>(&bytes).map_err(serde::de::Error::custom)
        }
    }
}

/// `#[serde(with = ...)]` helper: a byte vector as a hex string.
pub(crate) mod hex_vec {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::borrow::Cow;

    pub(crate) fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.serialize_str(&hex::encode(bytes))
        } else {
            s.serialize_bytes(bytes)
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        if d.is_human_readable() {
            let s = Cow::<'de, str>::deserialize(d)?;
            hex::decode(s.as_bytes()).map_err(serde::de::Error::custom)
        } else {
            d.deserialize_bytes(super::BytesVisitor)
        }
    }
}
