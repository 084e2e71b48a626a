//! The small sample lists bundled in `node/samples/` (written by `examples/bundle.rs`; a test
//! checks the committed files match).

use crate::csv_file::{reasons_for_list, write_csv_with, CsvOptions, Form, RowWriter, HEADER};
use crate::shapes::Generator;
use fengxin_types::IdType;
use rand::Rng;
use std::io;

/// One bundled sample list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BundledSample {
    /// File name in `node/samples/`.
    pub file_name: &'static str,
    /// The list it is meant for (`fraud_txn`, …).
    pub list: &'static str,
    /// The identifier type of its rows.
    pub id_type: IdType,
    /// The CSV text.
    pub contents: String,
    /// Data rows (from 1) that must be rejected on import.
    pub invalid_rows: Vec<u64>,
}

/// Seed of bank A's `fraud_txn` list; bank B's list repeats its first [`SHARED_WITH_BANK_B`]
/// identifiers.
const BANK_A_FRAUD_SEED: u64 = 101;
/// How many of bank A's `fraud_txn` identifiers bank B also lists (in messy forms).
pub const SHARED_WITH_BANK_B: usize = 25;

/// The bundled sample lists, generated deterministically.
pub fn bundled_samples() -> io::Result<Vec<BundledSample>> {
    let simple = |file_name, list, id_type, count, seed, messy, invalid| -> io::Result<_> {
        let mut contents = Vec::new();
        let options = CsvOptions::new(id_type, count, seed)
            .messy(messy)
            .invalid(invalid)
            .reasons(reasons_for_list(list));
        let summary = write_csv_with(&mut contents, &options)?;
        Ok(BundledSample {
            file_name,
            list,
            id_type,
            contents: String::from_utf8(contents).map_err(io::Error::other)?,
            invalid_rows: summary.invalid_rows,
        })
    };
    Ok(vec![
        simple(
            "bank_a_fraud_txn_cn_id.csv",
            "fraud_txn",
            IdType::CnId,
            120,
            BANK_A_FRAUD_SEED,
            0.0,
            0.0,
        )?,
        bank_b_fraud_txn()?,
        simple(
            "bank_a_high_risk_account_bank_card.csv",
            "high_risk_account",
            IdType::BankCard,
            100,
            103,
            0.2,
            0.0,
        )?,
        simple(
            "bank_a_marketing_abuse_phone.csv",
            "marketing_abuse",
            IdType::Phone,
            100,
            104,
            0.3,
            0.0,
        )?,
        simple(
            "bank_c_credit_overdue_cn_id_with_errors.csv",
            "credit_overdue",
            IdType::CnId,
            40,
            105,
            0.25,
            0.15,
        )?,
    ])
}

/// Bank B's `fraud_txn` list: 80 identifiers, of which [`SHARED_WITH_BANK_B`] are also on
/// bank A's list but written in messy forms (they must still match after cleaning).
fn bank_b_fraud_txn() -> io::Result<BundledSample> {
    let list = "fraud_txn";
    let shared = Generator::new(IdType::CnId, BANK_A_FRAUD_SEED);
    let own = Generator::new(IdType::CnId, 102);
    let mut rows = RowWriter::new(IdType::CnId, 102, reasons_for_list(list));
    let mut out = Vec::new();
    io::Write::write_all(&mut out, format!("{HEADER}\n").as_bytes())?;
    let (mut next_shared, mut next_own) = (0u64, 0u64);
    for _ in 0..80 {
        let remaining_shared = SHARED_WITH_BANK_B as u64 - next_shared;
        let take_shared = remaining_shared > 0 && rows.rng().gen_bool(0.35);
        let (id, form) = if take_shared || next_own >= 80 - SHARED_WITH_BANK_B as u64 {
            next_shared += 1;
            (shared.get(next_shared - 1), Form::Messy)
        } else {
            next_own += 1;
            (own.get(next_own - 1), Form::Canonical)
        };
        rows.write(&mut out, &id, form)?;
    }
    Ok(BundledSample {
        file_name: "bank_b_fraud_txn_cn_id.csv",
        list,
        id_type: IdType::CnId,
        contents: String::from_utf8(out).map_err(io::Error::other)?,
        invalid_rows: Vec::new(),
    })
}
