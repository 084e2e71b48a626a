//! The 248-bit tag of a list entry (docs/cryptography.md).

use std::fmt;
use std::str::FromStr;

/// Why bytes or a string are not a valid tag.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TagError {
    /// The tag 0 is reserved for the tree's sentinel leaf.
    #[error("tag must not be zero")]
    Zero,
    /// Not exactly [`Tag::LEN`] bytes.
    #[error("tag must be 31 bytes (62 hex digits), got {0} bytes")]
    Length(usize),
    /// Not hexadecimal.
    #[error("tag is not hexadecimal")]
    Hex,
}

/// A tag: a non-zero 248-bit integer, stored as 31 big-endian bytes.
///
/// Tags are the pseudorandom images of identifiers under a member's OPRF key; they are what the
/// tree commits to and what the circuit compares. Because the bytes are big-endian, the derived
/// byte-wise ordering is the numeric ordering, which the indexed Merkle tree relies on.
/// Every tag is below 2^248, hence below the BN254 scalar field modulus.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tag([u8; Tag::LEN]);

impl Tag {
    /// Length in bytes (248 bits).
    pub const LEN: usize = 31;

    /// Checks that the value is non-zero.
    pub fn from_bytes(bytes: [u8; Self::LEN]) -> Result<Self, TagError> {
        if bytes.iter().all(|b| *b == 0) {
            Err(TagError::Zero)
        } else {
            Ok(Self(bytes))
        }
    }

    /// Parses a tag from a byte slice of exactly [`Tag::LEN`] bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, TagError> {
        let arr: [u8; Self::LEN] = bytes
            .try_into()
            .map_err(|_| TagError::Length(bytes.len()))?;
        Self::from_bytes(arr)
    }

    /// Parses 62 hexadecimal digits.
    pub fn from_hex(s: &str) -> Result<Self, TagError> {
        let bytes = hex::decode(s.trim()).map_err(|_| TagError::Hex)?;
        Self::from_slice(&bytes)
    }

    /// The big-endian bytes.
    pub fn to_bytes(self) -> [u8; Self::LEN] {
        self.0
    }

    /// The big-endian bytes, borrowed.
    pub fn as_bytes(&self) -> &[u8; Self::LEN] {
        &self.0
    }

    /// Lower-case hexadecimal, 62 digits.
    pub fn to_hex(self) -> String {
        hex::encode(self.0)
    }
}

impl FromStr for Tag {
    type Err = TagError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_hex(s)
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tag({})", self.to_hex())
    }
}

impl serde::Serialize for Tag {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> serde::Deserialize<'de> for Tag {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::from_hex(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_and_bad_lengths_rejected() {
        assert_eq!(Tag::from_bytes([0; 31]), Err(TagError::Zero));
        assert_eq!(Tag::from_slice(&[1; 32]), Err(TagError::Length(32)));
        assert_eq!(Tag::from_hex("zz"), Err(TagError::Hex));
        assert_eq!(Tag::from_hex(&"00".repeat(31)), Err(TagError::Zero));
    }

    #[test]
    fn hex_round_trip_and_order() {
        let mut a = [0u8; 31];
        a[30] = 1;
        let mut b = [0u8; 31];
        b[0] = 1;
        let ta = Tag::from_bytes(a).expect("non-zero");
        let tb = Tag::from_bytes(b).expect("non-zero");
        assert!(ta < tb, "big-endian byte order is numeric order");
        assert_eq!(Tag::from_hex(&ta.to_hex()), Ok(ta));
        let json = serde_json::to_string(&tb).expect("serialise");
        assert_eq!(serde_json::from_str::<Tag>(&json).expect("deserialise"), tb);
    }
}
