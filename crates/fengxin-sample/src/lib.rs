//! Deterministic sample data for Fengxin lists: tests, benches and the demo.
//!
//! - [`identifiers`]`(id_type, count, seed)`: valid identifiers in canonical form with
//!   realistic shapes: resident IDs with real region codes and birth dates 1950-2005, unified
//!   social credit codes, mainland mobile numbers, card numbers with issuer BINs such as
//!   `622202…`, account numbers, pinyin and QQ e-mail addresses, UUID and Android device ids.
//!   Values are a pure function of (type, seed, index) and distinct by construction (a keyed
//!   permutation over each shape's domain of 10^8 or more values), so the first `k` values do
//!   not depend on `count`.
//! - [`write_csv`] / [`write_csv_with`]: list files with header
//!   `identifier,reason,added_on,source_ref`, optionally with messy-but-valid identifiers
//!   (spaces, full-width digits, lower-case `x`, legacy IDs, `0086…`) and invalid ones, whose
//!   row numbers are returned in a [`CsvSummary`].
//! - [`bundle::bundled_samples`]: the small lists committed in `node/samples/`.
//!
//! Randomness comes from ChaCha12 seeded with (seed, type, purpose); nothing reads the clock
//! or the environment. Test data only: not for keys or anything secret.

pub mod bundle;
mod csv_file;
mod permute;
mod shapes;
mod variants;

pub use csv_file::{
    default_reasons, reasons_for_list, write_csv, write_csv_with, CsvOptions, CsvSummary, HEADER,
};
pub use shapes::{Generator, Identifiers};

use fengxin_types::IdType;

/// The first `count` generated identifiers of `id_type` for `seed`, in canonical form; each
/// passes [`fengxin_types::CanonicalId::parse`] unchanged.
pub fn identifiers(id_type: IdType, count: usize, seed: u64) -> Identifiers {
    Identifiers::new(id_type, count, seed)
}
