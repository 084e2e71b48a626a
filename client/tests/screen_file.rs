//! `fengxin screen --file` without a node: its arguments, file-level errors, a file of only
//! invalid rows (nothing to send) and a node that cannot be reached.

use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_fengxin");

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("spawn fengxin")
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 test path")
}

fn json_error(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON on stdout ({e}): {:?}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

#[test]
fn exactly_one_of_an_identifier_or_a_file() {
    let base = ["screen", "--node", "/nonexistent", "--id-type", "cn_id"];
    for extra in [
        vec!["110101199003074477", "--file", "x.csv"],
        vec![],
        vec!["110101199003074477", "--format", "jsonl"],
        vec!["110101199003074477", "--out", "o.csv"],
        vec!["--file", "x.csv", "--case", "C-1"],
    ] {
        let mut args = base.to_vec();
        args.extend(&extra);
        args.push("--json");
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert_eq!(json_error(&out)["error"]["kind"], "usage", "{args:?}");
    }
}

#[test]
fn file_level_problems_fail_before_anything_is_sent() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let no_column = tmp.path().join("a.csv");
    std::fs::write(&no_column, "id,name\n1,x\n").expect("write");
    let no_field = tmp.path().join("a.jsonl");
    std::fs::write(&no_field, "{\"id\": \"1\"}\n").expect("write");
    let missing = tmp.path().join("missing.csv");
    for (file, kind, needle) in [
        (&no_column, "input_file", "no `identifier` column"),
        (&no_field, "input_file", "`identifier` field"),
        (&missing, "io", "cannot read"),
    ] {
        let out = run(&[
            "screen",
            "--node",
            "/nonexistent",
            "--id-type",
            "cn_id",
            "--file",
            path(file),
            "--json",
        ]);
        assert_eq!(out.status.code(), Some(1), "{file:?}");
        let err = json_error(&out);
        assert_eq!(err["error"]["kind"], kind, "{err}");
        let message = err["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(needle), "{message}");
    }
    // --out must not overwrite the input.
    let out = run(&[
        "screen",
        "--node",
        "/nonexistent",
        "--id-type",
        "cn_id",
        "--file",
        path(&no_column),
        "--out",
        path(&no_column),
    ]);
    assert!(!out.status.success());
    assert_eq!(
        std::fs::read_to_string(&no_column).expect("read"),
        "id,name\n1,x\n"
    );
}

#[test]
fn only_invalid_rows_are_reported_without_asking_the_node() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let input = tmp.path().join("rows.csv");
    std::fs::write(&input, "identifier,note\nnope,a\n\n\"1,2\",b\n").expect("write");
    let out = run(&[
        "screen",
        "--node",
        "/nonexistent",
        "--id-type",
        "cn_id",
        "--file",
        path(&input),
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert_eq!(
        lines[0],
        "row,identifier,member,list,result,mode,verified,label,error"
    );
    assert!(lines[1].starts_with("1,nope,,,,,,,"), "{}", lines[1]);
    assert!(lines[2].starts_with("2,\"1,2\",,,,,,,"), "{}", lines[2]);
    let summary: serde_json::Value = serde_json::from_str(lines[3]).expect("summary");
    assert_eq!(summary["rows"], 2);
    assert_eq!(summary["screened"], 0);
    assert_eq!(summary["rejected"], 2);
    assert_eq!(summary["hits"], 0);
    assert!(summary["identifiers_per_second"].is_number());
}

#[test]
fn an_unreachable_node_stops_the_run_and_names_the_rows() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let input = tmp.path().join("rows.jsonl");
    let ids: Vec<String> = fengxin_sample::identifiers(fengxin_types::IdType::CnId, 2, 1).collect();
    std::fs::write(
        &input,
        format!(
            "{{\"identifier\": \"{}\"}}\n{{\"identifier\": \"{}\"}}\n",
            ids[0], ids[1]
        ),
    )
    .expect("write");
    let records = tmp.path().join("out.jsonl");
    let out = run(&[
        "screen",
        "--node",
        path(tmp.path()),
        "--id-type",
        "cn_id",
        "--file",
        path(&input),
        "--out",
        path(&records),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = json_error(&out);
    assert_eq!(err["error"]["kind"], "node_unreachable", "{err}");
    let message = err["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("rows 1 to 2"), "{message}");
    assert_eq!(std::fs::read_to_string(&records).expect("out"), "");
}
