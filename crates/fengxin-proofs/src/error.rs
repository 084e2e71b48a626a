//! Errors, one `#[non_exhaustive]` enum per operation.

use std::path::PathBuf;

/// Why loading (or generating on first use) a key failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyLoadError {
    /// A parameter file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The manifest is not valid JSON of the expected shape.
    #[error("manifest {path}: {source}")]
    Manifest {
        /// The manifest file.
        path: PathBuf,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
    /// The manifest's format version is not one this build understands.
    #[error("manifest version {0} is not supported")]
    ManifestVersion(u32),
    /// A key file's SHA-256 differs from the manifest's: the key is refused. (A development
    /// proving key left over from older parameters can simply be deleted: it is regenerated on
    /// the next load.)
    #[error("{file}: SHA-256 {actual} does not match the manifest's {expected} (key refused)")]
    HashMismatch {
        /// The key file.
        file: PathBuf,
        /// The manifest's hash (hex).
        expected: String,
        /// The file's hash (hex).
        actual: String,
    },
    /// The key's bytes match the manifest but do not decode (the manifest pins a broken key).
    #[error("{file}: key does not decode: {reason}")]
    Decode {
        /// The key file.
        file: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The proving key is missing and the manifest is not for development keys, so it cannot be
    /// regenerated here (production keys come from the ceremony).
    #[error("proving key {0} is missing and the manifest is not for development keys")]
    MissingProvingKey(PathBuf),
    /// Regenerating the development keys failed.
    #[error("development key generation: {0}")]
    Setup(#[from] SetupError),
    /// The key was built for another circuit (its shape does not match this build's circuit).
    #[error("key does not fit the membership circuit: {0}")]
    WrongCircuit(String),
}

/// Why the deterministic development setup failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SetupError {
    /// Constraint synthesis or key generation failed (fatal: a bug).
    #[error("groth16 setup: {0}")]
    Groth16(String),
    /// Serialising a key failed (fatal: a bug).
    #[error("key serialisation: {0}")]
    Serialize(String),
    /// Writing a parameter file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// Why a proof could not be produced.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProveError {
    /// The witness does not prove the public statement (caller misuse: wrong leaf, path, root
    /// or answer). Nothing was proven.
    #[error("the witness does not satisfy the membership statement")]
    FalseStatement,
    /// The tree witness has a slot index beyond the tree's depth (caller misuse).
    #[error("witness slot index out of range")]
    BadWitness,
    /// Witness generation or the prover failed (fatal: a bug).
    #[error("groth16 prover: {0}")]
    Groth16(String),
}

/// Why a proof was not accepted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The proof does not verify against these public inputs (the prover misbehaved, or the
    /// inputs are not the ones proven).
    #[error("proof rejected")]
    Rejected,
    /// A batch was empty (caller misuse).
    #[error("empty batch")]
    EmptyBatch,
    /// The verifier itself failed (fatal: a bug).
    #[error("groth16 verifier: {0}")]
    Groth16(String),
}

/// Why bytes are not a proof.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// Wrong length.
    #[error("proof must be {expected} bytes, got {got}")]
    Length {
        /// [`crate::MembershipProof::LEN`].
        expected: usize,
        /// Received length.
        got: usize,
    },
    /// Unknown encoding version byte.
    #[error("unknown proof encoding version {0}")]
    Version(u8),
    /// A curve point is malformed, off the curve or outside the prime-order subgroup.
    #[error("proof points are invalid")]
    Points,
    /// The points decode but the bytes are not their canonical encoding.
    #[error("proof encoding is not canonical")]
    NonCanonical,
}
