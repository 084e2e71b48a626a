//! `member.json`: what a node shares with the consortium to be named in genesis or admitted
//! by the council.

use crate::hex::{IdentityKeyHex, ViewPublicKeyHex};
use fengxin_types::MemberName;
use serde::{Deserialize, Serialize};

/// The encoding version of [`MemberFile`].
pub const MEMBER_FILE_VERSION: u32 = 1;

/// A node's role in the consortium.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A member bank: holds lists, answers and makes queries, votes on the ledger.
    Member,
    /// A regulator: non-voting, holds the view secret key.
    Regulator,
}

impl Role {
    /// `member` or `regulator`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Member => "member",
            Role::Regulator => "regulator",
        }
    }
}

/// `member.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberFile {
    /// Encoding version ([`MEMBER_FILE_VERSION`]).
    pub version: u32,
    /// Member name.
    pub name: MemberName,
    /// Ed25519 identity public key.
    pub identity_key: IdentityKeyHex,
    /// QUIC address.
    pub address: String,
    /// Role.
    pub role: Role,
    /// Regulator only: the view public key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub view_public_key: Option<ViewPublicKeyHex>,
}
