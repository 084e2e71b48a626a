//! Benchmark runners and their reports, kept out of the library crates so that those stay free
//! of the I/O and storage a benchmark needs: `fengxin-node bench proofs|tree|confidential` runs
//! them and prints the reports, and the criterion benchmarks (the `[[bench]]` targets) time the
//! same operations.
//!
//! - [`proofs`]: Groth16 proving and verification against the MSM floor, and the tree on both
//!   stores (memory, redb).
//! - [`confidential`]: commitments, range proofs, handles and sealed details.

pub mod confidential;
pub mod proofs;
