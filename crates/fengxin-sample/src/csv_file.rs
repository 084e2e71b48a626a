//! Sample list files: CSV with header `identifier,reason,added_on,source_ref`.

use crate::shapes::{rng_for, Generator};
use crate::variants;
use fengxin_types::id::CivilDate;
use fengxin_types::IdType;
use rand::Rng;
use rand_chacha::ChaCha12Rng;
use std::io::{self, BufWriter, Write};

/// The header row of generated files.
pub const HEADER: &str = "identifier,reason,added_on,source_ref";

/// Reason codes by list (docs/design.md, launch lists); unknown lists get [`default_reasons`] of
/// `cn_id`.
pub fn reasons_for_list(list: &str) -> &'static [&'static str] {
    match list {
        "fraud_txn" => &[
            "telecom_fraud",
            "card_fraud",
            "account_takeover",
            "identity_theft",
            "money_mule",
        ],
        "high_risk_account" => &[
            "money_mule",
            "card_fraud",
            "account_rental",
            "aml_alert",
            "card_skimming",
        ],
        "marketing_abuse" => &[
            "promotion_abuse",
            "fake_account_farm",
            "cashback_fraud",
            "bonus_hunting",
        ],
        "credit_overdue" => &["overdue_90d", "overdue_180d", "written_off"],
        _ => default_reasons(IdType::CnId),
    }
}

/// Plausible reason codes for a list of `id_type` identifiers.
pub fn default_reasons(id_type: IdType) -> &'static [&'static str] {
    match id_type {
        IdType::CnId => &[
            "telecom_fraud",
            "identity_theft",
            "money_mule",
            "loan_fraud",
            "overdue_90d",
        ],
        IdType::Uscc => &["shell_company", "invoice_fraud", "aml_alert", "loan_fraud"],
        IdType::Phone => &[
            "telecom_fraud",
            "promotion_abuse",
            "fake_account_farm",
            "phishing",
        ],
        IdType::BankCard => &[
            "card_fraud",
            "card_skimming",
            "chargeback_fraud",
            "money_mule",
        ],
        IdType::Account => &[
            "money_mule",
            "account_rental",
            "aml_alert",
            "account_takeover",
        ],
        IdType::Email => &["phishing", "fake_account_farm", "promotion_abuse"],
        IdType::DeviceId => &["emulator_farm", "device_fraud", "account_takeover"],
    }
}

/// The `source_ref` prefix of generated rows: the member's source system.
fn source_prefix(id_type: IdType) -> &'static str {
    match id_type {
        IdType::CnId | IdType::Account => "CORE",
        IdType::Uscc => "CORP",
        IdType::Phone | IdType::Email => "CRM",
        IdType::BankCard => "CARD",
        IdType::DeviceId => "APP",
    }
}

/// What to generate in a CSV sample file; build with [`CsvOptions::new`].
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct CsvOptions {
    /// The identifier type.
    pub id_type: IdType,
    /// Data rows (not counting the header).
    pub count: usize,
    /// The seed; identifiers are those of [`crate::identifiers`]`(id_type, count, seed)`.
    pub seed: u64,
    /// Fraction (0-1) of rows whose identifier is written in a messy but valid form (spaces,
    /// full-width digits, lower-case `x`, legacy 15-digit IDs, `0086…`, …).
    pub messy_fraction: f64,
    /// Fraction (0-1) of rows whose identifier is invalid (wrong check character, impossible
    /// date, bad length, stray character, …); see [`CsvSummary::invalid_rows`].
    pub invalid_fraction: f64,
    /// Reason codes to draw from; [`default_reasons`] of the type if empty.
    pub reasons: Vec<&'static str>,
}

impl CsvOptions {
    /// All rows valid and canonical, default reasons.
    pub fn new(id_type: IdType, count: usize, seed: u64) -> Self {
        Self {
            id_type,
            count,
            seed,
            messy_fraction: 0.0,
            invalid_fraction: 0.0,
            reasons: Vec::new(),
        }
    }

    /// Sets the fraction of messy-but-valid rows.
    pub fn messy(mut self, fraction: f64) -> Self {
        self.messy_fraction = fraction;
        self
    }

    /// Sets the fraction of invalid rows.
    pub fn invalid(mut self, fraction: f64) -> Self {
        self.invalid_fraction = fraction;
        self
    }

    /// Sets the reason codes (for example [`reasons_for_list`]`("fraud_txn")`).
    pub fn reasons(mut self, reasons: &[&'static str]) -> Self {
        self.reasons = reasons.to_vec();
        self
    }
}

/// What [`write_csv_with`] wrote. Row numbers count data rows from 1 (the header is row 0),
/// as `fengxin-node lists import` reports them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CsvSummary {
    /// Data rows written.
    pub rows: u64,
    /// Rows whose identifier is in a messy but valid form.
    pub messy_rows: Vec<u64>,
    /// Rows whose identifier is invalid and must be rejected on import.
    pub invalid_rows: Vec<u64>,
}

/// How a row's identifier is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Form {
    Canonical,
    Messy,
    Invalid,
}

/// Writes data rows with reason, date and source reference drawn from a row RNG.
pub(crate) struct RowWriter {
    id_type: IdType,
    rng: ChaCha12Rng,
    reasons: Vec<&'static str>,
    first_day: i64,
    day_span: i64,
    line: String,
    row: u64,
}

impl RowWriter {
    pub(crate) fn new(id_type: IdType, seed: u64, reasons: &[&'static str]) -> Self {
        let reasons = if reasons.is_empty() {
            default_reasons(id_type).to_vec()
        } else {
            reasons.to_vec()
        };
        let day = |y, m, d| {
            CivilDate::new(y, m, d)
                .expect("the added_on bounds are real dates")
                .days_since_epoch()
        };
        let first_day = day(2024, 1, 1);
        Self {
            id_type,
            rng: rng_for(seed, id_type, 1),
            reasons,
            first_day,
            day_span: day(2026, 10, 31) - first_day + 1,
            line: String::with_capacity(128),
            row: 0,
        }
    }

    pub(crate) fn rng(&mut self) -> &mut ChaCha12Rng {
        &mut self.rng
    }

    /// Writes one row for the canonical identifier `id` in the given form; returns its number.
    pub(crate) fn write(&mut self, w: &mut impl Write, id: &str, form: Form) -> io::Result<u64> {
        use std::fmt::Write as _;
        self.row += 1;
        self.line.clear();
        match form {
            Form::Canonical => self.line.push_str(id),
            Form::Messy => self
                .line
                .push_str(&variants::messy(self.id_type, id, &mut self.rng)),
            Form::Invalid => {
                self.line
                    .push_str(&variants::invalid(self.id_type, id, &mut self.rng))
            }
        }
        let reason = self
            .reasons
            .get(self.rng.gen_range(0..self.reasons.len().max(1)))
            .copied()
            .unwrap_or("other");
        let added = CivilDate::from_days_since_epoch(
            self.first_day + self.rng.gen_range(0..self.day_span.max(1)),
        );
        let _ = writeln!(
            self.line,
            ",{reason},{added},{}-{:06}",
            source_prefix(self.id_type),
            self.row
        );
        w.write_all(self.line.as_bytes())?;
        Ok(self.row)
    }
}

/// Writes a CSV list of `count` valid identifiers of `id_type` in canonical form, with header
/// [`HEADER`], default reasons, `added_on` dates from 2024-01-01 to 2026-10-31 and `source_ref`s like
/// `CORE-000123`. Deterministic in (`id_type`, `count`, `seed`).
pub fn write_csv<W: Write>(w: W, id_type: IdType, count: usize, seed: u64) -> io::Result<()> {
    write_csv_with(w, &CsvOptions::new(id_type, count, seed)).map(|_| ())
}

/// Writes a CSV list as `options` describes and reports which rows are messy or invalid.
pub fn write_csv_with<W: Write>(w: W, options: &CsvOptions) -> io::Result<CsvSummary> {
    let mut w = BufWriter::with_capacity(1 << 16, w);
    let generator = Generator::new(options.id_type, options.seed);
    let mut rows = RowWriter::new(options.id_type, options.seed, &options.reasons);
    let mut summary = CsvSummary::default();
    let mut id = String::with_capacity(64);
    writeln!(w, "{HEADER}")?;
    for i in 0..options.count as u64 {
        id.clear();
        generator.write(i, &mut id);
        let roll: f64 = rows.rng().gen();
        let form = if roll < options.invalid_fraction {
            Form::Invalid
        } else if roll < options.invalid_fraction + options.messy_fraction {
            Form::Messy
        } else {
            Form::Canonical
        };
        let row = rows.write(&mut w, &id, form)?;
        match form {
            Form::Invalid => summary.invalid_rows.push(row),
            Form::Messy => summary.messy_rows.push(row),
            Form::Canonical => {}
        }
    }
    w.flush()?;
    summary.rows = options.count as u64;
    Ok(summary)
}
