//! `fengxin-node`: the member bank's node and operator tool.
//!
//! - [`datadir`]: the data directory (secrets, config, public member file, database).
//! - [`import`]: list files (CSV / JSON Lines) into the database, row by row, one transaction.
//! - [`bench`]: this machine's figures (`fengxin-node bench`).
//! - [`cli`]: the command-line surface of `../shared/CLI.md`.

pub mod bench;
pub mod cli;
pub mod datadir;
pub mod import;
