//! Leaf values and their conversions to and from field elements and [`Tag`]s.

use ark_bn254::Fr;
use ark_ff::{BigInteger, PrimeField};
use fengxin_types::Tag;

/// Number of bits of a leaf value (and of a tag).
pub const VALUE_BITS: usize = 248;

/// A leaf value: a 248-bit integer as 31 big-endian bytes. Zero is the sentinel's value (and, as
/// a `next_value`, stands for +infinity); every other value is a [`Tag`].
///
/// The byte order is big-endian so that byte-wise order is numeric order; stores may use the bytes
/// directly as ordered keys.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Value([u8; Tag::LEN]);

impl Value {
    /// The sentinel value 0 (as a `next_value`: the end of the list, +infinity).
    pub const ZERO: Value = Value([0; Tag::LEN]);

    /// Length of the byte encoding.
    pub const LEN: usize = Tag::LEN;

    /// Wraps 31 big-endian bytes. Every byte string is a valid value.
    pub const fn from_bytes(bytes: [u8; Tag::LEN]) -> Self {
        Self(bytes)
    }

    /// The 31 big-endian bytes.
    pub const fn to_bytes(self) -> [u8; Tag::LEN] {
        self.0
    }

    /// Whether this is the sentinel value 0.
    pub fn is_zero(&self) -> bool {
        self.0.iter().all(|b| *b == 0)
    }

    /// The tag with this value, or `None` for 0.
    pub fn to_tag(self) -> Option<Tag> {
        Tag::from_bytes(self.0).ok()
    }

    /// The value as a field element (exact: 2^248 is below the BN254 scalar modulus).
    pub fn to_field(self) -> Fr {
        Fr::from_be_bytes_mod_order(&self.0)
    }

    /// The value of a field element below 2^248, or `None` if it is 2^248 or more.
    pub fn from_field(f: Fr) -> Option<Self> {
        let be = f.into_bigint().to_bytes_be();
        let (high, low) = be.split_at(be.len() - Tag::LEN);
        if high.iter().any(|b| *b != 0) {
            return None;
        }
        let mut out = [0u8; Tag::LEN];
        out.copy_from_slice(low);
        Some(Self(out))
    }
}

impl From<Tag> for Value {
    fn from(t: Tag) -> Self {
        Self(t.to_bytes())
    }
}

impl std::fmt::Debug for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Value({})", hex::encode(self.0))
    }
}

/// A tag as a field element.
pub fn tag_to_field(tag: Tag) -> Fr {
    Value::from(tag).to_field()
}

/// The tag with this field value: `None` if it is 0 or not below 2^248.
pub fn field_to_tag(f: Fr) -> Option<Tag> {
    Value::from_field(f)?.to_tag()
}

/// The canonical 32-byte big-endian encoding of a field element (what stores keep for node
/// hashes).
pub fn fr_to_bytes(f: Fr) -> [u8; 32] {
    let be = f.into_bigint().to_bytes_be();
    let mut out = [0u8; 32];
    out.copy_from_slice(&be);
    out
}

/// Decodes [`fr_to_bytes`]'s encoding; `None` if the integer is not below the field modulus.
pub fn fr_from_bytes(bytes: &[u8; 32]) -> Option<Fr> {
    let f = Fr::from_be_bytes_mod_order(bytes);
    (fr_to_bytes(f) == *bytes).then_some(f)
}

/// A leaf of the indexed Merkle tree: a value and the next larger value in the tree (0 when this
/// is the largest).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct Leaf {
    /// This leaf's value.
    pub value: Value,
    /// The next larger value in the tree, or 0 for +infinity.
    pub next_value: Value,
}

impl Leaf {
    /// Length of [`Leaf::to_bytes`].
    pub const LEN: usize = 2 * Value::LEN;

    /// The leaf hash `Poseidon(value, next_value)`.
    pub fn hash(&self) -> Fr {
        crate::poseidon::hash2(self.value.to_field(), self.next_value.to_field())
    }

    /// `value || next_value`, 62 bytes.
    pub fn to_bytes(&self) -> [u8; Self::LEN] {
        let mut out = [0u8; Self::LEN];
        out[..Value::LEN].copy_from_slice(&self.value.0);
        out[Value::LEN..].copy_from_slice(&self.next_value.0);
        out
    }

    /// Inverse of [`Leaf::to_bytes`]; every 62-byte string decodes.
    pub fn from_bytes(bytes: &[u8; Self::LEN]) -> Self {
        let mut v = [0u8; Value::LEN];
        let mut n = [0u8; Value::LEN];
        v.copy_from_slice(&bytes[..Value::LEN]);
        n.copy_from_slice(&bytes[Value::LEN..]);
        Self {
            value: Value(v),
            next_value: Value(n),
        }
    }

    /// Whether `t` falls in this leaf's gap: `value < t` and (`next_value = 0` or `t < next_value`).
    pub fn gap_contains(&self, t: Value) -> bool {
        self.value < t && (self.next_value.is_zero() || t < self.next_value)
    }
}

/// A tree root: the public commitment to a list (published on the ledger).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Root(Fr);

/// Why bytes are not a root.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RootError {
    /// Not 32 bytes (64 hex digits).
    #[error("a root is 32 bytes, got {0}")]
    Length(usize),
    /// Not hexadecimal.
    #[error("root is not hexadecimal")]
    Hex,
    /// The integer is not below the BN254 scalar field modulus.
    #[error("root is not a canonical field element")]
    NotCanonical,
}

impl Root {
    /// Wraps a field element.
    pub const fn from_field(f: Fr) -> Self {
        Self(f)
    }

    /// The field element (the circuit's public input).
    pub const fn to_field(self) -> Fr {
        self.0
    }

    /// 32 big-endian bytes.
    pub fn to_bytes(self) -> [u8; 32] {
        fr_to_bytes(self.0)
    }

    /// Parses 32 big-endian bytes; rejects non-canonical encodings.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, RootError> {
        fr_from_bytes(bytes)
            .map(Self)
            .ok_or(RootError::NotCanonical)
    }

    /// Parses a byte slice of exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, RootError> {
        let arr: [u8; 32] = bytes
            .try_into()
            .map_err(|_| RootError::Length(bytes.len()))?;
        Self::from_bytes(&arr)
    }

    /// Lower-case hexadecimal, 64 digits.
    pub fn to_hex(self) -> String {
        hex::encode(self.to_bytes())
    }

    /// Parses 64 hexadecimal digits.
    pub fn from_hex(s: &str) -> Result<Self, RootError> {
        let bytes = hex::decode(s.trim()).map_err(|_| RootError::Hex)?;
        Self::from_slice(&bytes)
    }
}

impl std::fmt::Display for Root {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl std::fmt::Debug for Root {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Root({})", self.to_hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ff::{Field, UniformRand};
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn value_field_round_trip(bytes in proptest::array::uniform31(any::<u8>())) {
            let v = Value::from_bytes(bytes);
            prop_assert_eq!(Value::from_field(v.to_field()), Some(v));
            let leaf = Leaf { value: v, next_value: Value::ZERO };
            prop_assert_eq!(Leaf::from_bytes(&leaf.to_bytes()), leaf);
        }
    }

    #[test]
    fn large_fields_are_not_values() {
        let two_248 = Fr::from(2u64).pow([248u64]);
        assert_eq!(Value::from_field(two_248), None);
        assert_eq!(Value::from_field(-Fr::from(1u64)), None);
        assert_eq!(field_to_tag(Fr::from(0u64)), None);
        assert!(field_to_tag(two_248 - Fr::from(1u64)).is_some());
        let mut rng = rand::thread_rng();
        let f = Fr::rand(&mut rng);
        assert_eq!(fr_from_bytes(&fr_to_bytes(f)), Some(f));
        assert_eq!(fr_from_bytes(&[0xff; 32]), None);
        let r = Root::from_field(f);
        assert_eq!(Root::from_hex(&r.to_hex()), Ok(r));
        assert_eq!(Root::from_bytes(&[0xff; 32]), Err(RootError::NotCanonical));
        assert_eq!(Root::from_slice(&[1; 31]), Err(RootError::Length(31)));
    }
}
