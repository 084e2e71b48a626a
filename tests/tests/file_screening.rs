//! `fengxin screen --file` against real `fengxin-node` processes: a CSV file and a JSON Lines
//! file screened against the held snapshots of two members' lists, one record per (row,
//! member, list) matching what was listed, with the entry's label on each hit, invalid rows
//! reported at their row with a reason, and the summary's counts; then a 10,000-row file.

use fengxin_e2e::{
    import_and_publish, init_member, path_str, sample_ids, write_labelled_csv, RunningNode,
};
use std::collections::BTreeMap;
use std::path::Path;

const BIN: &str = env!("CARGO_BIN_EXE_fengxin-node-e2e");
const CLIENT: &str = env!("CARGO_BIN_EXE_fengxin-e2e-client");

/// What one input row should produce: valid rows a hit or miss at each responder, invalid
/// rows an error.
#[derive(Debug, Clone)]
enum Expect {
    Screened {
        at_b: &'static str,
        at_c: &'static str,
    },
    Rejected,
}

/// One output record, from either format.
#[derive(Debug, Clone, PartialEq)]
struct Out {
    row: u64,
    identifier: String,
    member: Option<String>,
    list: Option<String>,
    result: Option<String>,
    mode: Option<String>,
    verified: Option<bool>,
    label: Option<String>,
    error: Option<String>,
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

fn parse_csv(text: &str) -> Vec<Out> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader.headers().expect("header").clone();
    assert_eq!(
        header.iter().collect::<Vec<_>>(),
        [
            "row",
            "identifier",
            "member",
            "list",
            "result",
            "mode",
            "verified",
            "label",
            "error"
        ]
    );
    reader
        .records()
        .map(|r| {
            let r = r.expect("record");
            Out {
                row: r[0].parse().expect("row number"),
                identifier: r[1].to_owned(),
                member: non_empty(&r[2]),
                list: non_empty(&r[3]),
                result: non_empty(&r[4]),
                mode: non_empty(&r[5]),
                verified: non_empty(&r[6]).map(|v| v == "true"),
                label: non_empty(&r[7]),
                error: non_empty(&r[8]),
            }
        })
        .collect()
}

fn parse_jsonl(text: &str) -> Vec<Out> {
    let s = |v: &serde_json::Value| v.as_str().map(str::to_owned);
    text.lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("a JSON line");
            assert_eq!(v.as_object().expect("object").len(), 9, "{v}");
            Out {
                row: v["row"].as_u64().expect("row"),
                identifier: s(&v["identifier"]).expect("identifier"),
                member: s(&v["member"]),
                list: s(&v["list"]),
                result: s(&v["result"]),
                mode: s(&v["mode"]),
                verified: v["verified"].as_bool(),
                label: v["label"].as_object().map(|l| {
                    format!(
                        "{}@{}",
                        l["reason"].as_str().unwrap_or(""),
                        l["added_on"].as_str().unwrap_or("")
                    )
                }),
                error: s(&v["error"]),
            }
        })
        .collect()
}

/// Checks every record against `expected` (row number → identifier as given, what it should
/// give); returns the number of hits.
fn check(records: &[Out], expected: &BTreeMap<u64, (String, Expect)>) -> u64 {
    // Records come in row order.
    let rows: Vec<u64> = records.iter().map(|r| r.row).collect();
    let mut sorted = rows.clone();
    sorted.sort_unstable();
    assert_eq!(rows, sorted, "records out of row order");
    let mut hits = 0;
    for (row, (identifier, expect)) in expected {
        let mine: Vec<&Out> = records.iter().filter(|r| r.row == *row).collect();
        for r in &mine {
            assert_eq!(&r.identifier, identifier, "row {row}: identifier as given");
        }
        match expect {
            Expect::Rejected => {
                assert_eq!(mine.len(), 1, "row {row}: one record: {mine:?}");
                let r = mine[0];
                assert!(r.error.is_some(), "row {row}: a reason");
                assert_eq!(
                    (&r.member, &r.list, &r.result, r.verified),
                    (&None, &None, &None, None),
                    "row {row}: no member"
                );
            }
            Expect::Screened { at_b, at_c } => {
                let mut members: Vec<&str> =
                    mine.iter().filter_map(|r| r.member.as_deref()).collect();
                members.sort_unstable();
                assert_eq!(members, ["bank-b", "bank-c"], "row {row}: {mine:?}");
                for r in &mine {
                    let (result, list, reason) = match r.member.as_deref() {
                        Some("bank-b") => (*at_b, "fraud_txn", "listed_by_b"),
                        _ => (*at_c, "credit_overdue", "listed_by_c"),
                    };
                    assert_eq!(r.list.as_deref(), Some(list), "row {row}");
                    assert_eq!(r.verified, Some(true), "row {row}: {r:?}");
                    assert_eq!(r.mode.as_deref(), Some("snapshot"), "row {row}");
                    let label = (result == "hit").then(|| format!("{reason}@2026-11-30"));
                    assert_eq!(r.label, label, "row {row}: the entry's label on a hit only");
                    assert_eq!(r.error, None, "row {row}");
                    assert_eq!(
                        r.result.as_deref(),
                        Some(result),
                        "row {row} ({identifier}) at {:?}",
                        r.member
                    );
                    hits += u64::from(result == "hit");
                }
            }
        }
    }
    let known: Vec<u64> = expected.keys().copied().collect();
    assert!(
        records.iter().all(|r| known.contains(&r.row)),
        "records for rows that do not exist"
    );
    hits
}

fn summary_of(line: &str) -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_str(line).expect("summary JSON");
    assert!(
        v["identifiers_per_second"]
            .as_f64()
            .is_some_and(|r| r > 0.0),
        "{v}"
    );
    v
}

#[test]
fn a_csv_and_a_jsonl_file_are_screened_row_by_row() {
    let bin = Path::new(BIN);
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path();
    let a = init_member(bin, root, "bank-a");
    let b = init_member(bin, root, "bank-b");
    let c = init_member(bin, root, "bank-c");

    let b_only = sample_ids(11, 10);
    let c_only = sample_ids(22, 10);
    let shared = sample_ids(33, 3);
    let nowhere = sample_ids(44, 3);
    // Beyond the rows of the small files, 400 more on bank-b's list and 300 on bank-c's, for
    // the 10,000-row file.
    let b_list: Vec<String> = b_only
        .iter()
        .chain(&shared)
        .chain(&sample_ids(66, 400))
        .cloned()
        .collect();
    let c_list: Vec<String> = c_only
        .iter()
        .chain(&shared)
        .chain(&sample_ids(77, 300))
        .cloned()
        .collect();
    import_and_publish(
        bin,
        &b,
        "fraud_txn",
        "cn_id",
        &write_labelled_csv(&root.join("b.csv"), &b_list, "listed_by_b"),
    );
    import_and_publish(
        bin,
        &c,
        "credit_overdue",
        "cn_id",
        &write_labelled_csv(&root.join("c.csv"), &c_list, "listed_by_c"),
    );
    // The querier's own list: its size sets its allowance.
    import_and_publish(
        bin,
        &a,
        "fraud_txn",
        "cn_id",
        &write_labelled_csv(&root.join("a.csv"), &sample_ids(55, 200), "own"),
    );
    // Credits for the 10,000-row file against two lists.
    let credits = fengxin_ledger::CreditParams {
        initial_grant: 10_000_000,
        ..Default::default()
    };
    let genesis = fengxin_e2e::Builder::new(bin, root)
        .genesis(&[&a.dir, &b.dir, &c.dir], &[], Some(&credits))
        .expect("genesis");
    let _node_a = RunningNode::start(bin, &a.dir, &genesis);
    let _node_b = RunningNode::start(bin, &b.dir, &genesis);
    let _node_c = RunningNode::start(bin, &c.dir, &genesis);
    let published: usize = [&a.dir, &b.dir, &c.dir]
        .iter()
        .map(|d| fengxin_node::publish::read_publications(d).map_or(0, |p| p.len()))
        .sum();
    for d in [&a.dir, &b.dir, &c.dir] {
        fengxin_node::consortium::wait_for_publications(d, published)
            .expect("publications committed");
    }
    // bank-a holds bank-b's and bank-c's snapshots: every answer comes from them.
    fengxin_node::consortium::wait_for_snapshots(&a.dir, 2).expect("snapshots held");

    // CSV: 12 data rows (a blank line is not one), 3 of them invalid, the rest on b's list,
    // c's, both or neither.
    let hit_b = Expect::Screened {
        at_b: "hit",
        at_c: "miss",
    };
    let hit_c = Expect::Screened {
        at_b: "miss",
        at_c: "hit",
    };
    let hit_both = Expect::Screened {
        at_b: "hit",
        at_c: "hit",
    };
    let hit_none = Expect::Screened {
        at_b: "miss",
        at_c: "miss",
    };
    let csv_rows: Vec<(String, Expect)> = vec![
        (b_only[0].clone(), hit_b.clone()),
        (c_only[0].clone(), hit_c.clone()),
        ("not-an-id".into(), Expect::Rejected),
        (shared[0].clone(), hit_both.clone()),
        (nowhere[0].clone(), hit_none.clone()),
        (b_only[1].clone(), hit_b.clone()),
        (String::new(), Expect::Rejected),
        (c_only[1].clone(), hit_c.clone()),
        (nowhere[1].clone(), hit_none.clone()),
        (b_only[2].clone(), Expect::Rejected), // an extra field
        (shared[1].clone(), hit_both.clone()),
        (b_only[3].clone(), hit_b.clone()),
    ];
    let mut text = String::from("identifier,note\n");
    for (i, (id, _)) in csv_rows.iter().enumerate() {
        match i {
            4 => text.push_str(&format!("\n{id},x\n")),
            9 => text.push_str(&format!("{id},x,surplus\n")),
            _ => text.push_str(&format!("{id},x\n")),
        }
    }
    let csv_file = root.join("customers.csv");
    std::fs::write(&csv_file, text).expect("write input");
    let expected: BTreeMap<u64, (String, Expect)> = csv_rows
        .into_iter()
        .enumerate()
        .map(|(i, r)| (i as u64 + 1, r))
        .collect();

    // Records and the summary on stdout; the progress bar, if any, only on stderr.
    let out = std::process::Command::new(CLIENT)
        .args([
            "screen",
            "--node",
            path_str(&a.dir),
            "--id-type",
            "cn_id",
            "--file",
            path_str(&csv_file),
            "--json",
        ])
        .output()
        .expect("run fengxin screen --file");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    let (records, summary) = stdout.trim_end().rsplit_once('\n').expect("records");
    let records = parse_csv(records);
    assert_eq!(records.len(), 9 * 2 + 3, "{records:#?}");
    let hits = check(&records, &expected);
    assert_eq!(hits, 9);
    let rejected = records.iter().find(|r| r.row == 10).expect("row 10");
    assert_eq!(
        rejected.error.as_deref(),
        Some("3 fields, the header has 2")
    );
    let summary = summary_of(summary);
    assert_eq!(summary["rows"], 12, "{summary}");
    assert_eq!(summary["screened"], 9);
    assert_eq!(summary["rejected"], 3);
    assert_eq!(summary["hits"], 9);

    // JSON Lines, to a file, with the human summary on stderr.
    let jsonl_rows: Vec<(String, Expect, String)> = vec![
        (
            b_only[4].clone(),
            hit_b,
            format!("{{\"identifier\": \"{}\"}}", b_only[4]),
        ),
        (
            String::new(),
            Expect::Rejected,
            "{\"identifier\": 42}".into(),
        ),
        (
            c_only[4].clone(),
            hit_c,
            format!("{{\"identifier\": \"{}\", \"ref\": \"T-9\"}}", c_only[4]),
        ),
        (String::new(), Expect::Rejected, "not json".into()),
        (
            nowhere[2].clone(),
            hit_none,
            format!("{{\"identifier\": \"{}\"}}", nowhere[2]),
        ),
    ];
    let mut text = String::new();
    for (i, (_, _, line)) in jsonl_rows.iter().enumerate() {
        if i == 1 {
            text.push_str("\n   \n");
        }
        text.push_str(line);
        text.push('\n');
    }
    let jsonl_file = root.join("customers.jsonl");
    std::fs::write(&jsonl_file, text).expect("write input");
    let records_file = root.join("results.jsonl");
    let out = std::process::Command::new(CLIENT)
        .args([
            "screen",
            "--node",
            path_str(&a.dir),
            "--id-type",
            "cn_id",
            "--file",
            path_str(&jsonl_file),
            "--out",
            path_str(&records_file),
            "--member",
            "bank-b",
            "--member",
            "bank-c",
        ])
        .output()
        .expect("run fengxin screen --file");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(out.stdout.is_empty(), "records go to --out");
    assert!(
        stderr.contains("5 rows: 3 screened, 2 rejected, 2 hits"),
        "{stderr}"
    );
    let expected: BTreeMap<u64, (String, Expect)> = jsonl_rows
        .into_iter()
        .enumerate()
        .map(|(i, (id, e, _))| (i as u64 + 1, (id, e)))
        .collect();
    let records = parse_jsonl(&std::fs::read_to_string(&records_file).expect("results"));
    assert_eq!(records.len(), 3 * 2 + 2, "{records:#?}");
    assert_eq!(check(&records, &expected), 2);
    let bad = records.iter().find(|r| r.row == 2).expect("row 2");
    assert_eq!(
        bad.error.as_deref(),
        Some("identifier: expected a string, got 42")
    );

    ten_thousand_rows(root, &a.dir, &b_list, &c_list);
}

/// A 10,000-row file: every identifier on bank-b's or bank-c's list (some on both) spread
/// through it, every 97th row invalid, the rest on no list; the results equal the lists
/// exactly, with each list's label on its hits.
fn ten_thousand_rows(root: &Path, a: &Path, b_list: &[String], c_list: &[String]) {
    let nowhere = sample_ids(88, 10_000);
    let on_b: std::collections::BTreeSet<&str> = b_list.iter().map(String::as_str).collect();
    let on_c: std::collections::BTreeSet<&str> = c_list.iter().map(String::as_str).collect();
    let mut listed: Vec<&str> = on_b.union(&on_c).copied().collect();
    listed.reverse();
    let mut text = String::from("identifier\n");
    let mut expected: Vec<Option<&str>> = Vec::new();
    let mut spare = nowhere.iter();
    for row in 1..=10_000u64 {
        if row % 97 == 0 {
            text.push_str("12345\n");
            expected.push(None);
            continue;
        }
        let id = if row % 13 == 0 {
            listed.pop().or_else(|| spare.next().map(String::as_str))
        } else {
            spare.next().map(String::as_str)
        }
        .expect("identifiers enough");
        text.push_str(id);
        text.push('\n');
        expected.push(Some(id));
    }
    assert!(listed.is_empty(), "every listed identifier is in the file");
    let file = root.join("portfolio.csv");
    std::fs::write(&file, text).expect("write input");
    let out_file = root.join("portfolio-results.csv");
    let out = std::process::Command::new(CLIENT)
        .args([
            "screen",
            "--node",
            path_str(a),
            "--id-type",
            "cn_id",
            "--file",
            path_str(&file),
            "--out",
            path_str(&out_file),
            "--json",
        ])
        .output()
        .expect("run fengxin screen --file");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let records = parse_csv(&std::fs::read_to_string(&out_file).expect("results"));
    let mut by_row: BTreeMap<u64, Vec<&Out>> = BTreeMap::new();
    for r in &records {
        by_row.entry(r.row).or_default().push(r);
    }
    assert_eq!(by_row.len(), 10_000, "every row has its records");
    let mut hits = 0u64;
    let mut rejected = 0u64;
    for (i, want) in expected.iter().enumerate() {
        let row = i as u64 + 1;
        let mine = &by_row[&row];
        match want {
            None => {
                rejected += 1;
                assert_eq!(mine.len(), 1, "row {row}");
                assert!(
                    mine[0].error.is_some() && mine[0].member.is_none(),
                    "row {row}"
                );
            }
            Some(id) => {
                assert_eq!(mine.len(), 2, "row {row}");
                for r in mine {
                    let (listed, reason) = match r.member.as_deref() {
                        Some("bank-b") => (on_b.contains(id), "listed_by_b"),
                        _ => (on_c.contains(id), "listed_by_c"),
                    };
                    assert_eq!(r.verified, Some(true), "row {row}: {r:?}");
                    assert_eq!(r.mode.as_deref(), Some("snapshot"), "row {row}");
                    assert_eq!(
                        r.result.as_deref(),
                        Some(if listed { "hit" } else { "miss" }),
                        "row {row} at {:?}",
                        r.member
                    );
                    let label = listed.then(|| format!("{reason}@2026-11-30"));
                    assert_eq!(r.label, label, "row {row}: the entry's label on a hit");
                    hits += u64::from(listed);
                }
            }
        }
    }
    assert!(hits > 700, "{hits} hits");
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    let summary = summary_of(stdout.trim_end());
    assert_eq!(summary["rows"], 10_000, "{summary}");
    assert_eq!(summary["rejected"], rejected);
    assert_eq!(summary["screened"], 10_000 - rejected);
    assert_eq!(summary["hits"], hits);
}
