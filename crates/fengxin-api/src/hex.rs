//! Fixed-size byte strings that travel as lower-case hex: digests, roots and keys each have
//! their own type, so a block hash cannot be passed where a record id is expected.

/// A hex field that does not decode to the expected number of bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what}: expected {len} bytes as {} hex characters, got {got:?}", len * 2)]
pub struct HexError {
    /// What was being decoded.
    pub what: &'static str,
    /// Bytes expected.
    pub len: usize,
    /// The text (cut to 80 characters).
    pub got: String,
}

macro_rules! hex_bytes {
    ($(#[$doc:meta])* $name:ident, $len:expr, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub [u8; $len]);

        impl $name {
            /// Length in bytes.
            pub const LEN: usize = $len;

            /// Decodes exactly `2 × LEN` hex characters.
            pub fn from_hex(text: &str) -> Result<Self, $crate::hex::HexError> {
                let mut out = [0u8; $len];
                ::hex::decode_to_slice(text, &mut out).map_err(|_| $crate::hex::HexError {
                    what: $what,
                    len: $len,
                    got: text.chars().take(80).collect(),
                })?;
                Ok(Self(out))
            }

            /// Lower-case hex.
            pub fn to_hex(&self) -> String {
                ::hex::encode(self.0)
            }

            /// The first 8 bytes in hex, for tables.
            pub fn short(&self) -> String {
                ::hex::encode(&self.0[..8])
            }

            /// The bytes.
            pub fn as_bytes(&self) -> &[u8; $len] {
                &self.0
            }
        }

        impl From<[u8; $len]> for $name {
            fn from(bytes: [u8; $len]) -> Self {
                Self(bytes)
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::hex::HexError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::from_hex(s)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.to_hex())
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self.to_hex())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.to_hex())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                Self::from_hex(&text).map_err(serde::de::Error::custom)
            }
        }
    };
}

hex_bytes!(
    /// A ledger record's id: SHA-256 of its canonical encoding. Receipts, motions and feedback
    /// are named by it.
    RecordId, 32, "record id"
);
hex_bytes!(
    /// A block's hash.
    BlockHash, 32, "block hash"
);
hex_bytes!(
    /// The chain id: the hash of the consortium's genesis.
    ChainId, 32, "chain id"
);
hex_bytes!(
    /// A list's committed tree root (a BN254 scalar, big-endian).
    ListRoot, 32, "root"
);
hex_bytes!(
    /// A list's published OPRF public key (a compressed ristretto255 point).
    OprfPublicKey, 32, "OPRF public key"
);
hex_bytes!(
    /// A participant's Ed25519 identity public key.
    IdentityKeyHex, 32, "identity key"
);
hex_bytes!(
    /// The regulator's view public key: X25519 (for HPKE) then ristretto255 (for ElGamal).
    ViewPublicKeyHex, 64, "view public key"
);
hex_bytes!(
    /// A SHA-256 digest inside a receipt (of the blinded request or of the answer).
    Digest, 32, "digest"
);
hex_bytes!(
    /// A query request's nonce.
    Nonce, 16, "nonce"
);

/// Bytes of any length as hex (an encoded proof).
#[derive(Clone, PartialEq, Eq)]
pub struct HexBytes(pub Vec<u8>);

impl std::fmt::Display for HexBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&hex::encode(&self.0))
    }
}

impl std::fmt::Debug for HexBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HexBytes({})", hex::encode(&self.0))
    }
}

impl serde::Serialize for HexBytes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(&self.0))
    }
}

impl<'de> serde::Deserialize<'de> for HexBytes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        hex::decode(text.as_ref())
            .map(HexBytes)
            .map_err(|_| serde::de::Error::custom("not hexadecimal"))
    }
}
