//! The contract between a Fengxin node and the tools that drive it: the `fengxin` and
//! `fengxin-node` commands, scripts, and (later) bank systems over HTTP.
//!
//! Every request the node serves ([`ApiRequest`]) and every answer ([`ApiResponse`]) is here
//! with typed fields: identifier types, lists and members are the data standard's types,
//! digests and keys are hex newtypes ([`hex`]), verdicts are enums. Failures carry stable
//! codes ([`ErrorKind`], [`ScreenErrorKind`]). Requests and responses travel in frames that
//! name their [`WIRE_VERSION`]. The types print as the JSON that docs/cli.md promises.
//!
//! This crate does no I/O but the local socket's blocking client ([`call`]); it links neither
//! the node's runtime, its network nor its databases.

pub mod error;
pub mod hex;
pub mod member;
pub mod request;
pub mod socket;
pub mod views;

#[cfg(feature = "cli")]
pub mod cli;

pub use error::{ApiError, ErrorKind, ScreenErrorKind};
pub use hex::{
    BlockHash, ChainId, Digest, HexBytes, HexError, IdentityKeyHex, ListRoot, Nonce, OprfPublicKey,
    RecordId, ViewPublicKeyHex,
};
pub use member::{MemberFile, Role, MEMBER_FILE_VERSION};
pub use request::{
    decode_reply, decode_request, decode_response, encode_reply, encode_request, encode_response,
    ApiRequest, ApiResponse, Reply, RequestFrame, ResponseFrame, WIRE_VERSION,
};
pub use socket::{call, call_reply, MAX_REPLY, MAX_REQUESTS, SOCKET};
pub use views::*;
