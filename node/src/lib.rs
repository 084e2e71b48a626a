//! `fengxin-node`: the member bank's node and operator tool.
//!
//! - [`attest`]: root attestation: the leaf layout a publisher seals to the regulator, and the
//!   regulator's judgment of a published root.
//! - [`datadir`]: the data directory (secrets, config, public member file, database).
//! - [`import`]: list files (CSV / JSON Lines) into the database, row by row, one transaction.
//! - [`publish`]: signed list publications and single-tag proofs.
//! - [`bench`]: this machine's figures (`fengxin-node bench`).
//! - [`genesis`]: the consortium's genesis file (the registry until the ledger lands).
//! - [`daemon`]: `run`: QUIC peer endpoint, screening, local API.
//! - [`consortium`]: a local consortium built through the node's own commands (demo, benches,
//!   end-to-end tests).
//! - [`demo`]: `fengxin-node demo`.
//! - The local API's messages are the contract crate `fengxin_api`, shared with the client.
//! - [`cli`]: the command-line surface of docs/cli.md.
//! - [`edge`]: every operation's typed error mapped to its stable kind, in one place.

pub mod attest;
pub mod audit;
pub mod bench;
pub mod cli;
pub mod consortium;
pub mod credits;
pub mod daemon;
pub mod datadir;
pub mod demo;
pub mod edge;
pub mod genesis;
pub mod import;
pub mod ledger;
pub mod publish;
