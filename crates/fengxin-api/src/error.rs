//! Stable error codes. Every failure a command, the local socket or (later) the HTTP API
//! reports carries one of these codes; scripts match on the code, people read the message.
//! The codes never change meaning once shipped; new ones may be added.

use serde::{Deserialize, Serialize};

macro_rules! codes {
    ($(#[$doc:meta])* pub enum $name:ident { $($(#[$vdoc:meta])* $variant:ident = $code:literal,)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vdoc])* $variant,)*
            /// A code this version does not know (reported by a newer peer); kept verbatim.
            Unrecognised(String),
        }

        impl $name {
            /// Every known kind.
            pub const KNOWN: &'static [$name] = &[$($name::$variant,)*];

            /// The stable code.
            pub fn code(&self) -> &str {
                match self {
                    $($name::$variant => $code,)*
                    $name::Unrecognised(code) => code,
                }
            }

            /// The kind a code names.
            pub fn from_code(code: &str) -> Self {
                match code {
                    $($code => $name::$variant,)*
                    other => $name::Unrecognised(other.to_owned()),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.code())
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.code() == *other
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.code())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let code = String::deserialize(d)?;
                Ok(Self::from_code(&code))
            }
        }
    };
}

codes! {
    /// Why a command or a request failed.
    pub enum ErrorKind {
        /// Arguments or request fields that do not parse (a bad flag, an unknown identifier
        /// type, a malformed id).
        Usage = "usage",
        /// The local socket got a line that is not a request of this version.
        BadRequest = "bad_request",
        /// The request names a wire version this node does not speak.
        UnsupportedVersion = "unsupported_version",
        /// A data file (member.json, a proof object, a candidate) that does not parse.
        InvalidInput = "invalid_input",
        /// A list file with a file-level error (rows are reported one by one instead).
        InputFile = "input_file",
        /// The data directory is missing, not initialised, already initialised or damaged.
        DataDir = "data_dir",
        /// A secret file is readable by others.
        SecretPermissions = "secret_permissions",
        /// The list database failed.
        Store = "store",
        /// The lists were tagged with another generation of the master seed than the seed
        /// file holds: a rotation to finish (`fengxin-node lists rotate`), or a seed file
        /// older than the database.
        SeedGeneration = "seed_generation",
        /// Reading or writing a file failed.
        Io = "io",
        /// The circuit parameters are missing or do not match their manifest.
        Params = "params",
        /// A proof that does not verify.
        InvalidProof = "invalid_proof",
        /// A root that the ledger holds no publication of (for the list and epoch claimed).
        UnpublishedRoot = "unpublished_root",
        /// A root the regulator refuted: answers against it are misbehaviour.
        RefutedRoot = "refuted_root",
        /// Proving failed.
        Prove = "prove",
        /// The genesis file or a member file for it is invalid.
        Genesis = "genesis",
        /// The node's configuration is invalid.
        Config = "config",
        /// The node could not start or run (endpoint, runtime).
        Node = "node",
        /// The QUIC endpoint or a peer connection failed.
        Network = "network",
        /// The ledger could not be read or written.
        Ledger = "ledger",
        /// A confidential value (list size, allowance proof) could not be made or opened.
        Confidential = "confidential",
        /// The node is not running or its socket cannot be reached.
        NodeUnreachable = "node_unreachable",
        /// The node answered something this tool does not expect.
        Protocol = "protocol",
        /// No such block, receipt or motion.
        NotFound = "not_found",
        /// The list does not exist.
        UnknownList = "unknown_list",
        /// The screening would exceed this epoch's allowance.
        OverAllowance = "over_allowance",
        /// The ledger refused the records (each is named in the message).
        Rejected = "rejected",
        /// The node's outbox is full; retry later.
        QueueFull = "queue_full",
        /// The node is stopping.
        ShuttingDown = "shutting_down",
        /// Only a regulator node can do this.
        NotRegulator = "not_regulator",
        /// A regulator node does not do this (it answers status, ledger and audit requests).
        Regulator = "regulator",
        /// A benchmark could not run.
        Bench = "bench",
        /// The demo consortium gave a wrong answer or could not run.
        Demo = "demo",
        /// A bug: the node could not encode its own reply, or a lock was poisoned.
        Internal = "internal",
    }
}

codes! {
    /// Why one member gave no verified answer to a screening. Within a kind, a `reason` code
    /// says more (the responder's refusal, the proof that failed, the network step).
    pub enum ScreenErrorKind {
        /// The member could not be reached (`timeout`, `handshake`, `connection_lost`).
        PeerUnreachable = "peer_unreachable",
        /// The member's answer broke the protocol (`bad_dleq_proof`, `bad_groth16_proof`,
        /// `malformed_proof`, `wrong_count`, `bad_evaluated_element`,
        /// `bad_receipt_signature`, `unexpected_response`, `bad_frame`, `identity`).
        PeerMisbehaved = "peer_misbehaved",
        /// The member refused the request (`stale_root`, `unknown_list`, `rate_limited`,
        /// `not_member`, `shutting_down`, `replayed`, ..., or `frame_rejected`).
        Refused = "refused",
        /// The member's publication on the ledger cannot be used.
        InvalidPublication = "invalid_publication",
        /// The member publishes no list (or not the one asked for).
        NoList = "no_list",
        /// This member's allowance does not cover the exchange.
        OverAllowance = "over_allowance",
        /// This node failed (endpoint, encoding).
        Local = "local",
        /// This node's ledger could not be read.
        Ledger = "ledger",
        /// A bug in this node.
        Internal = "internal",
    }
}

/// A failure with its stable kind and a one-line message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    /// The stable kind.
    pub kind: ErrorKind,
    /// One line for people.
    pub message: String,
}

impl ApiError {
    /// A failure of the given kind.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// The stable kind.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// The one-line message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips_and_codes_are_distinct() {
        let mut seen = std::collections::BTreeSet::new();
        for k in ErrorKind::KNOWN {
            assert!(seen.insert(k.code()), "duplicate code {}", k.code());
            let json = serde_json::to_string(k).expect("encode");
            assert_eq!(
                serde_json::from_str::<ErrorKind>(&json).expect("decode"),
                *k
            );
            assert!(
                k.code()
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{}",
                k.code()
            );
        }
        let mut seen = std::collections::BTreeSet::new();
        for k in ScreenErrorKind::KNOWN {
            assert!(seen.insert(k.code()));
            assert_eq!(ScreenErrorKind::from_code(k.code()), *k);
        }
    }

    #[test]
    fn an_unknown_code_is_kept_verbatim() {
        let k: ErrorKind = serde_json::from_str("\"from_the_future\"").expect("decode");
        assert_eq!(k, ErrorKind::Unrecognised("from_the_future".into()));
        assert_eq!(
            serde_json::to_string(&k).expect("encode"),
            "\"from_the_future\""
        );
    }
}
