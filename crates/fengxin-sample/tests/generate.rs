//! Generated identifiers are valid, canonical, distinct and deterministic; CSV files mark
//! exactly the rows that are invalid; the bundled samples are up to date.

use fengxin_sample::bundle::{bundled_samples, SHARED_WITH_BANK_B};
use fengxin_sample::{identifiers, write_csv, write_csv_with, CsvOptions, Generator, HEADER};
use fengxin_types::id::CnId;
use fengxin_types::{CanonicalId, IdType};
use std::collections::BTreeSet;

#[test]
fn ten_thousand_of_each_type_are_valid_canonical_and_distinct() {
    for t in IdType::ALL {
        let ids: Vec<String> = identifiers(t, 10_000, 42).collect();
        assert_eq!(ids.len(), 10_000);
        for id in &ids {
            let parsed = CanonicalId::parse(t, id, fengxin_types::CivilDate::today_china())
                .unwrap_or_else(|e| panic!("{t} {id:?}: {e}"));
            assert_eq!(parsed.as_str(), id, "{t} value is not canonical");
        }
        let distinct: BTreeSet<&String> = ids.iter().collect();
        assert_eq!(distinct.len(), ids.len(), "{t} values repeat");
    }
}

#[test]
fn deterministic_and_prefix_stable() {
    for t in IdType::ALL {
        let short: Vec<String> = identifiers(t, 50, 7).collect();
        let long: Vec<String> = identifiers(t, 500, 7).collect();
        assert_eq!(short[..], long[..50], "{t}");
        assert_eq!(identifiers(t, 50, 7).collect::<Vec<_>>(), short, "{t}");
        let other: Vec<String> = identifiers(t, 50, 8).collect();
        assert_ne!(short, other, "{t}: seeds 7 and 8 agree");
        let g = Generator::new(t, 7);
        assert_eq!(g.get(49), short[49]);
        assert_eq!(g.id_type(), t);
    }
    assert_eq!(identifiers(IdType::Phone, 3, 1).len(), 3);
}

#[test]
fn shapes_are_realistic() {
    for id in identifiers(IdType::CnId, 2000, 1) {
        let year: u16 = id[6..10].parse().expect("digits");
        assert!((1950..=2005).contains(&year), "{id}");
        assert_ne!(&id[..1], "0");
    }
    for id in identifiers(IdType::Phone, 2000, 1) {
        assert!(id.starts_with("+861") && id.len() == 14, "{id}");
    }
    for id in identifiers(IdType::BankCard, 2000, 1) {
        assert!(id.len() == 16 || id.len() == 19, "{id}");
        assert!(["62", "60", "43", "52"].contains(&&id[..2]), "{id}");
    }
    for id in identifiers(IdType::Uscc, 2000, 1) {
        assert_eq!(&id[8..10], "MA", "{id}");
    }
    let devices: Vec<String> = identifiers(IdType::DeviceId, 2000, 1).collect();
    let uuids = devices.iter().filter(|d| d.len() == 36).count();
    assert_eq!(uuids, 1500);
    for d in devices.iter().filter(|d| d.len() == 36) {
        assert_eq!(&d[14..15], "4", "version 4: {d}");
        assert!("89ab".contains(&d[19..20]), "RFC 4122 variant: {d}");
    }
    assert!(devices.iter().all(|d| d.len() == 36 || d.len() == 16));
    let emails: Vec<String> = identifiers(IdType::Email, 3000, 1).collect();
    let qq = emails
        .iter()
        .filter(|e| {
            e.split('@')
                .next()
                .is_some_and(|l| l.bytes().all(|b| b.is_ascii_digit()))
        })
        .count();
    assert_eq!(qq, 1000);
}

/// Splits generated CSV text into (identifier, reason, added_on, source_ref) rows.
fn rows(csv: &str) -> Vec<[String; 4]> {
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some(HEADER));
    lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            assert_eq!(f.len(), 4, "{l:?}");
            [f[0], f[1], f[2], f[3]].map(str::to_owned)
        })
        .collect()
}

#[test]
fn plain_csv_rows_are_canonical() {
    for t in IdType::ALL {
        let mut out = Vec::new();
        write_csv(&mut out, t, 500, 3).expect("write to memory");
        let text = String::from_utf8(out).expect("UTF-8");
        let rows = rows(&text);
        let ids: Vec<String> = identifiers(t, 500, 3).collect();
        assert_eq!(rows.len(), 500);
        for (i, (row, id)) in rows.iter().zip(&ids).enumerate() {
            assert_eq!(&row[0], id);
            assert!(!row[1].is_empty());
            let d = &row[2];
            assert!(d.len() == 10 && ("2024".."2027").contains(&&d[..4]), "{d}");
            assert!(row[3].ends_with(&format!("-{:06}", i + 1)), "{}", row[3]);
        }
    }
}

#[test]
fn messy_rows_clean_to_canonical_and_invalid_rows_are_rejected() {
    for t in IdType::ALL {
        let options = CsvOptions::new(t, 10_000, 9).messy(0.3).invalid(0.1);
        let mut out = Vec::new();
        let summary = write_csv_with(&mut out, &options).expect("write to memory");
        let text = String::from_utf8(out).expect("UTF-8");
        let rows = rows(&text);
        let ids: Vec<String> = identifiers(t, 10_000, 9).collect();
        assert_eq!(summary.rows, 10_000);
        assert!((2500..3500).contains(&summary.messy_rows.len()), "{t}");
        assert!((700..1300).contains(&summary.invalid_rows.len()), "{t}");
        let invalid: BTreeSet<u64> = summary.invalid_rows.iter().copied().collect();
        let messy: BTreeSet<u64> = summary.messy_rows.iter().copied().collect();
        let mut changed = 0;
        for (i, (row, id)) in rows.iter().zip(&ids).enumerate() {
            let n = i as u64 + 1;
            let parsed = CanonicalId::parse(t, &row[0], fengxin_types::CivilDate::today_china());
            if invalid.contains(&n) {
                assert!(
                    parsed.is_err(),
                    "{t} row {n} {:?} should be invalid",
                    row[0]
                );
            } else {
                let parsed = parsed.unwrap_or_else(|e| panic!("{t} row {n} {:?}: {e}", row[0]));
                assert_eq!(parsed.as_str(), id, "{t} row {n} {:?}", row[0]);
                if messy.contains(&n) && row[0] != *id {
                    changed += 1;
                }
                if !messy.contains(&n) {
                    assert_eq!(&row[0], id);
                }
            }
        }
        assert!(
            changed * 10 > messy.len() * 8,
            "{t}: messy forms mostly differ"
        );
    }
}

#[test]
fn two_hundred_thousand_rows_quickly() {
    let start = std::time::Instant::now();
    let mut out = Vec::with_capacity(20 << 20);
    write_csv(&mut out, IdType::CnId, 200_000, 11).expect("write to memory");
    assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 200_001);
    assert!(start.elapsed().as_secs() < 5, "{:?}", start.elapsed());
}

#[test]
fn bundled_samples_match_committed_files() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../node/samples");
    let samples = bundled_samples().expect("generate");
    for s in &samples {
        let committed = std::fs::read_to_string(dir.join(s.file_name)).unwrap_or_else(|e| {
            panic!(
                "{}: {e} (run `cargo run -p fengxin-sample --example bundle`)",
                s.file_name
            )
        });
        assert_eq!(
            committed, s.contents,
            "{} is stale: run `cargo run -p fengxin-sample --example bundle`",
            s.file_name
        );
        let rows = rows(&s.contents);
        let rejected: Vec<u64> = rows
            .iter()
            .enumerate()
            .filter(|(_, r)| {
                CanonicalId::parse(s.id_type, &r[0], fengxin_types::CivilDate::today_china())
                    .is_err()
            })
            .map(|(i, _)| i as u64 + 1)
            .collect();
        assert_eq!(rejected, s.invalid_rows, "{}", s.file_name);
    }
    // The file with errors has a handful of them, documented in node/samples/README.md.
    let with_errors = samples
        .iter()
        .find(|s| s.file_name.contains("with_errors"))
        .expect("a file with errors");
    assert_eq!(with_errors.invalid_rows, [7, 10, 13, 15, 22, 36, 37, 39]);
    // Bank B shares SHARED_WITH_BANK_B identifiers with bank A, in messy forms.
    let canonical = |name: &str| -> BTreeSet<String> {
        let s = samples.iter().find(|s| s.file_name == name).expect(name);
        rows(&s.contents)
            .iter()
            .map(|r| {
                CnId::parse_as_of(&r[0], fengxin_types::CivilDate::today_china())
                    .expect("valid")
                    .into_string()
            })
            .collect()
    };
    let a = canonical("bank_a_fraud_txn_cn_id.csv");
    let b = canonical("bank_b_fraud_txn_cn_id.csv");
    assert_eq!((a.len(), b.len()), (120, 80));
    assert_eq!(a.intersection(&b).count(), SHARED_WITH_BANK_B);
}
