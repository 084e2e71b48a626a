//! List import edge cases, against a real data directory and redb file.

use fengxin_crypto::ListKey;
use fengxin_node::datadir::{DataDir, Role};
use fengxin_node::import::{import_file, remove_file, Format, ImportError, Rejection};
use fengxin_types::{CanonicalId, Epoch, IdType, ListId, MemberName};
use std::path::{Path, PathBuf};

struct Node {
    _tmp: tempfile::TempDir,
    dir: DataDir,
    files: PathBuf,
}

fn node() -> Node {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = DataDir::init(
        &tmp.path().join("node"),
        MemberName::parse("bank-a").expect("valid"),
        "127.0.0.1:7400".into(),
        Role::Member,
    )
    .expect("init");
    let files = tmp.path().to_owned();
    Node {
        _tmp: tmp,
        dir,
        files,
    }
}

fn list() -> ListId {
    ListId::parse("high_risk_account").expect("valid")
}

impl Node {
    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.files.join(name);
        std::fs::write(&p, bytes).expect("write input");
        p
    }

    fn import(
        &self,
        path: &Path,
        t: IdType,
    ) -> Result<fengxin_node::import::ImportReport, ImportError> {
        let store = self.dir.store().expect("store");
        import_file(
            &store,
            &self.dir.master_seed().expect("seed"),
            &list(),
            t,
            path,
            Format::from_path(path),
        )
    }

    fn entries(&self) -> u64 {
        self.dir
            .store()
            .expect("store")
            .entry_count()
            .expect("count")
    }
}

fn rej(row: u64, field: &str) -> (u64, String) {
    (row, field.to_owned())
}

fn positions(r: &[Rejection]) -> Vec<(u64, String)> {
    r.iter().map(|r| (r.row, r.field.clone())).collect()
}

#[test]
fn bom_crlf_quotes_blank_lines_and_duplicates() {
    let n = node();
    let csv = "\u{feff}identifier,reason,added_on,source_ref\r\n\
               \"4111 1111 1111 1111\",card_fraud,2025-03-01,CORE-1\r\n\
               \r\n\
               \"5500,0000\",card_fraud,,\r\n\
               4111111111111111,\"quoted, with comma\",,CORE-2\r\n\
               4111111111111112,card_fraud,,\r\n\
               6011000990139424,card_fraud,2025-02-30,\r\n\
               6011000990139424,card_fraud,2025-02-28,\r\n";
    let path = n.write("cards.csv", csv.as_bytes());
    let report = n.import(&path, IdType::BankCard).expect("import");
    // Row numbers count data records from 1; the blank line is not a record.
    assert_eq!(
        positions(&report.rejected),
        vec![
            rej(2, "identifier"),
            rej(4, "identifier"),
            rej(5, "added_on")
        ]
    );
    assert_eq!(report.accepted, 2);
    assert_eq!(
        report.duplicates, 1,
        "the same card with spaces and without is one entry"
    );
    assert_eq!(n.entries(), 2);

    // Re-importing the same file changes nothing.
    let again = n.import(&path, IdType::BankCard).expect("import");
    assert_eq!(again.accepted, 0);
    assert_eq!(again.duplicates, 3);
    assert_eq!(n.entries(), 2);
}

#[test]
fn rejected_rows_name_the_row_field_and_reason() {
    let n = node();
    let csv = "identifier,reason\n110105194912310021,x\n11010519491231002X,\u{1}bad\n,empty\n11010519491231002x,ok,extra\n";
    let path = n.write("ids.csv", csv.as_bytes());
    let report = n.import(&path, IdType::CnId).expect("import");
    assert_eq!(
        positions(&report.rejected),
        vec![
            rej(1, "identifier"),
            rej(2, "reason"),
            rej(3, "identifier"),
            rej(4, "row")
        ]
    );
    assert!(report.rejected.iter().all(|r| !r.reason.is_empty()));
    assert_eq!(report.accepted, 0);
    assert_eq!(n.entries(), 0);
}

#[test]
fn file_level_errors_store_nothing() {
    let n = node();
    let good = n.write("good.csv", b"identifier\nACC-1\n");
    n.import(&good, IdType::Account).expect("import");
    assert_eq!(n.entries(), 1);

    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("no_id.csv", b"reason,added_on\nx,2025-01-01\n".to_vec()),
        ("unknown.csv", b"identifier,colour\nACC-2,red\n".to_vec()),
        (
            "twice.csv",
            b"identifier,identifier\nACC-2,ACC-3\n".to_vec(),
        ),
        ("latin1.csv", b"identifier\nACC-2\nACC-\xe9\n".to_vec()),
        (
            "latin1.jsonl",
            b"{\"identifier\":\"ACC-2\"}\n{\"identifier\":\"\xe9\"}\n".to_vec(),
        ),
        ("empty.csv", Vec::new()),
    ];
    for (name, bytes) in cases {
        let path = n.write(name, &bytes);
        let err = n.import(&path, IdType::Account).expect_err(name);
        match (name, &err) {
            ("no_id.csv", ImportError::NoIdentifierColumn { .. })
            | ("unknown.csv", ImportError::UnknownColumn { .. })
            | ("twice.csv", ImportError::DuplicateColumn { .. })
            | ("latin1.csv", ImportError::NotUtf8 { row: 2, .. })
            | ("latin1.jsonl", ImportError::NotUtf8 { row: 2, .. })
            | ("empty.csv", ImportError::Empty { .. }) => {}
            _ => panic!("{name}: unexpected error {err:?}"),
        }
        assert_eq!(n.entries(), 1, "{name} stored something");
    }
    let missing = n.files.join("missing.csv");
    assert!(matches!(
        n.import(&missing, IdType::Account),
        Err(ImportError::Read { .. })
    ));
}

#[test]
fn json_lines() {
    let n = node();
    let jsonl = "\u{feff}{\"identifier\": \"138 0013 8000\", \"reason\": \"sim_swap\"}\n\
                 \n\
                 {\"identifier\": \"+86 138-0013-8000\"}\n\
                 not json\n\
                 {\"identifier\": 13800138000}\n\
                 {\"phone\": \"13800138001\"}\n\
                 [1,2]\n\
                 {\"identifier\": \"13800138001\", \"added_on\": null}\r\n";
    let path = n.write("phones.jsonl", jsonl.as_bytes());
    let report = n.import(&path, IdType::Phone).expect("import");
    // Rows are numbered from 1 at the first data row; the blank line is not a data row.
    assert_eq!(
        positions(&report.rejected),
        vec![
            rej(3, "row"),
            rej(4, "identifier"),
            rej(5, "phone"),
            rej(6, "row")
        ]
    );
    assert_eq!((report.accepted, report.duplicates), (2, 1));
}

#[test]
fn csv_and_json_lines_number_the_same_rows_alike() {
    let n = node();
    // The same rows, with the same blank lines (LF and CRLF), in both formats.
    let rows = [
        Some("ACC-1"),
        None,
        Some("bad id"),
        None,
        None,
        Some("ACC-2"),
        Some(""),
        None,
        Some("also bad"),
    ];
    let mut csv = String::from("identifier\n\n");
    let mut jsonl = String::from("\n");
    for (i, r) in rows.iter().enumerate() {
        let eol = if i % 2 == 0 { "\n" } else { "\r\n" };
        match r {
            Some(id) => {
                csv.push_str(&format!("\"{id}\"{eol}"));
                jsonl.push_str(&format!("{{\"identifier\": \"{id}\"}}{eol}"));
            }
            None => {
                csv.push_str(eol);
                jsonl.push_str(eol);
            }
        }
    }
    let csv = n.write("rows.csv", csv.as_bytes());
    let jsonl = n.write("rows.jsonl", jsonl.as_bytes());
    let from_csv = n.import(&csv, IdType::Account).expect("csv");
    let from_jsonl = n.import(&jsonl, IdType::Account).expect("jsonl");
    let expected = vec![
        rej(2, "identifier"),
        rej(4, "identifier"),
        rej(5, "identifier"),
    ];
    assert_eq!(positions(&from_csv.rejected), expected);
    assert_eq!(positions(&from_jsonl.rejected), expected);
    assert_eq!((from_csv.accepted, from_jsonl.duplicates), (2, 2));
}

#[test]
fn json_lines_without_any_identifier_field_stores_nothing() {
    let n = node();
    let good = n.write("good.csv", b"identifier\nACC-1\n");
    n.import(&good, IdType::Account).expect("import");
    let other = ListId::parse("marketing_abuse").expect("valid");
    let no_id = n.write(
        "no_id.jsonl",
        b"{\"account\": \"ACC-2\"}\n\n{\"acct\": \"ACC-3\", \"reason\": \"mule\"}\n",
    );
    let store = n.dir.store().expect("store");
    let seed = n.dir.master_seed().expect("seed");
    for target in [list(), other.clone()] {
        let err = import_file(
            &store,
            &seed,
            &target,
            IdType::Account,
            &no_id,
            Format::Jsonl,
        )
        .expect_err("no identifier field");
        assert!(
            matches!(err, ImportError::NoIdentifierField { rows: 2, .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("identifier"), "{err}");
        let err = remove_file(
            &store,
            &seed,
            &target,
            IdType::Account,
            &no_id,
            Format::Jsonl,
        )
        .expect_err("no identifier field");
        assert!(
            matches!(err, ImportError::NoIdentifierField { .. }),
            "{err:?}"
        );
    }
    assert_eq!(store.entry_count().expect("count"), 1);
    let stats = store.stats().expect("stats");
    assert_eq!(
        stats.iter().map(|s| s.list.as_str()).collect::<Vec<_>>(),
        vec!["high_risk_account"],
        "no empty list recorded"
    );
    drop(store);
    // One row with the field is enough for the file to be a list: the others are row errors.
    let some = n.write(
        "some.jsonl",
        b"{\"account\": \"ACC-2\"}\n{\"identifier\": \"ACC-3\"}\n",
    );
    let report = n.import(&some, IdType::Account).expect("import");
    assert_eq!(report.accepted, 1);
    assert_eq!(positions(&report.rejected), vec![rej(1, "account")]);
}

#[test]
fn nothing_accepted_creates_no_list() {
    let n = node();
    let store = n.dir.store().expect("store");
    let seed = n.dir.master_seed().expect("seed");
    let all_bad = n.write("bad.csv", b"identifier\nnot a card\n\n1234\n");
    let header_only = n.write("header.csv", b"identifier,reason\n");
    let empty_jsonl = n.write("empty.jsonl", b"\n\n");
    let cards = ListId::parse("fraud_txn").expect("valid");
    for path in [&all_bad, &header_only, &empty_jsonl] {
        let report = import_file(
            &store,
            &seed,
            &cards,
            IdType::BankCard,
            path,
            Format::from_path(path),
        )
        .expect("import");
        assert_eq!(report.accepted, 0);
        let report = remove_file(
            &store,
            &seed,
            &cards,
            IdType::BankCard,
            path,
            Format::from_path(path),
        )
        .expect("remove");
        assert_eq!(report.accepted, 0);
    }
    assert_eq!(store.list_meta(&cards).expect("meta"), None);
    assert!(
        store.stats().expect("stats").is_empty(),
        "an empty list was recorded"
    );

    // A list that exists stays, even when a removal empties it.
    let one = n.write("one.csv", b"identifier\n4111111111111111\n");
    import_file(&store, &seed, &cards, IdType::BankCard, &one, Format::Csv).expect("import");
    remove_file(&store, &seed, &cards, IdType::BankCard, &one, Format::Csv).expect("remove");
    let stats = store.stats().expect("stats");
    assert_eq!((stats.len(), stats[0].entries), (1, 0));
}

#[test]
fn removal_ignores_everything_but_the_identifier() {
    let n = node();
    let path = n.write(
        "a.csv",
        b"identifier,reason\nACC-1,mule\nACC-2,mule\nACC-3,mule\n",
    );
    n.import(&path, IdType::Account).expect("import");
    let store = n.dir.store().expect("store");
    let seed = n.dir.master_seed().expect("seed");
    let long = "r".repeat(300);
    let csv = format!("identifier,reason,added_on,source_ref\nACC-1,\u{7}bell,2025-02-30,{long}\n");
    let rm = n.write("rm.csv", csv.as_bytes());
    let report =
        remove_file(&store, &seed, &list(), IdType::Account, &rm, Format::Csv).expect("remove");
    assert_eq!((report.accepted, report.removed), (1, 1), "{report:?}");
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    let jsonl = format!(
        "{{\"identifier\": \"ACC-2\", \"reason\": 5, \"added_on\": \"yesterday\", \"source_ref\": \"{long}\"}}\n"
    );
    let rm = n.write("rm.jsonl", jsonl.as_bytes());
    let report =
        remove_file(&store, &seed, &list(), IdType::Account, &rm, Format::Jsonl).expect("remove");
    assert_eq!((report.accepted, report.removed), (1, 1), "{report:?}");
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    assert_eq!(store.entry_count().expect("count"), 1);
}

#[test]
fn remove_reports_and_keeps_tags_in_step() {
    let n = node();
    let path = n.write("a.csv", b"identifier\nACC-1\nACC-2\nACC-3\n");
    n.import(&path, IdType::Account).expect("import");
    let rm = n.write("rm.csv", b"identifier\nacc-1\nACC-1\nACC-9\nbad id\n");
    let store = n.dir.store().expect("store");
    let seed = n.dir.master_seed().expect("seed");
    let report =
        remove_file(&store, &seed, &list(), IdType::Account, &rm, Format::Csv).expect("remove");
    // Each of the four data rows is counted once: removed, repeated, not on the list, invalid.
    assert_eq!(
        (
            report.accepted,
            report.removed,
            report.duplicates,
            report.not_found
        ),
        (1, 1, 1, 1)
    );
    assert_eq!(positions(&report.rejected), vec![rej(4, "identifier")]);
    let key = ListKey::derive(&seed, &list(), Epoch::FIRST).expect("key");
    let gone = key
        .tag(
            &CanonicalId::parse(
                IdType::Account,
                "ACC-1",
                fengxin_types::CivilDate::today_china(),
            )
            .expect("valid"),
        )
        .expect("tag");
    let kept = key
        .tag(
            &CanonicalId::parse(
                IdType::Account,
                "ACC-2",
                fengxin_types::CivilDate::today_china(),
            )
            .expect("valid"),
        )
        .expect("tag");
    assert!(!store.has_tag(&list(), Epoch::FIRST, &gone).expect("lookup"));
    assert!(store.has_tag(&list(), Epoch::FIRST, &kept).expect("lookup"));
    assert_eq!(store.tags(&list(), Epoch::FIRST).expect("tags").len(), 2);
}

#[test]
fn hundred_thousand_rows() {
    let n = node();
    let mut csv = Vec::new();
    fengxin_sample::write_csv(&mut csv, IdType::CnId, 100_000, 11).expect("generate");
    let path = n.write("big.csv", &csv);
    let report = n.import(&path, IdType::CnId).expect("import");
    assert!(
        report.rejected.is_empty(),
        "{:?}",
        &report.rejected[..report.rejected.len().min(3)]
    );
    assert_eq!(report.accepted + report.duplicates, 100_000);
    assert!(report.duplicates < 10, "generator should give distinct ids");
    assert_eq!(n.entries(), report.accepted);
    let stats = n.dir.store().expect("store").stats().expect("stats");
    assert_eq!(stats[0].tags, report.accepted);
}
