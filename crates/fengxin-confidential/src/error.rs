//! The error type of this crate.

/// Everything that can go wrong in this crate.
///
/// Variants fall in three groups: malformed input (`BadHex`, `BadLength`, `InvalidPoint`,
/// `InvalidScalar`, `InvalidPublicKey`, `RangeProofMalformed`) — typically bytes received from a
/// peer or read from the ledger; rejected statements (`RangeProofRejected`, `HandleProofRejected`,
/// `DecryptionFailed`, `DiscreteLogNotFound`) — a peer misbehaved or the wrong key was used; and
/// caller misuse (`OutOfRange`, `UnsupportedBitSize`, `TooManyValues`, `NoValues`,
/// `ArithmeticOverflow`). None of them is fatal to the process.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfidentialError {
    /// A string was not valid hexadecimal (odd length or a non-hex character).
    #[error("not a valid hex string")]
    BadHex,
    /// A fixed-size encoding had the wrong number of bytes.
    #[error("wrong length: expected {expected} bytes, got {actual}")]
    BadLength {
        /// The required length in bytes.
        expected: usize,
        /// The length that was supplied.
        actual: usize,
    },
    /// 32 bytes that are not the canonical encoding of a Ristretto point.
    #[error("not a canonical Ristretto point encoding")]
    InvalidPoint,
    /// 32 bytes that are not the canonical encoding of a scalar modulo the group order.
    #[error("not a canonical scalar encoding")]
    InvalidScalar,
    /// A public key that is well-formed but unusable: the identity as ElGamal key, or a
    /// low-order or non-canonical X25519 key.
    #[error("invalid public key: {0}")]
    InvalidPublicKey(&'static str),
    /// Range proof bytes that cannot be parsed (wrong length or non-canonical elements).
    #[error("range proof encoding is malformed")]
    RangeProofMalformed,
    /// A well-formed range proof that does not prove the statement it was checked against.
    #[error("range proof rejected")]
    RangeProofRejected,
    /// A handle-consistency proof that does not verify (or does not parse).
    #[error("decrypt-handle proof rejected")]
    HandleProofRejected,
    /// The value does not fit in the requested number of bits, so no valid range proof exists.
    #[error("value {value} does not fit in {bits} bits")]
    OutOfRange {
        /// The value that was to be committed or proven.
        value: u64,
        /// The bit size of the requested range `[0, 2^bits)`.
        bits: usize,
    },
    /// A range-proof bit size other than 32 or 64.
    #[error("unsupported range proof bit size {0} (use 32 or 64)")]
    UnsupportedBitSize(usize),
    /// More values in one aggregated range proof than the generators support.
    #[error("too many values in one aggregated range proof: {count} > {max}")]
    TooManyValues {
        /// The number of values supplied.
        count: usize,
        /// The largest supported number ([`crate::MAX_AGGREGATION`]).
        max: usize,
    },
    /// An aggregated range proof over zero values.
    #[error("an aggregated range proof needs at least one value")]
    NoValues,
    /// Opening arithmetic left the `u64` range (overflow, or a negative difference): the
    /// commitment arithmetic is still defined, but its opening has no `u64` value.
    #[error("opening arithmetic overflowed or went negative")]
    ArithmeticOverflow,
    /// HPKE encryption failed (the recipient key was rejected by the KEM).
    #[error("HPKE encryption failed")]
    EncryptionFailed,
    /// HPKE decryption failed: wrong key, wrong associated data or a modified ciphertext.
    #[error("HPKE decryption failed")]
    DecryptionFailed,
    /// The decrypted group element is not `v·B` for any `v < 2^32` (wrong view key, a
    /// handle that does not match the commitment, or a value too large to decrypt).
    #[error("no value below 2^32 matches the decrypted point")]
    DiscreteLogNotFound,
}
