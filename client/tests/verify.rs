//! `fengxin verify` on real proofs from a real node database: valid accepted, every tampering
//! rejected with a reason.

use fengxin_node::datadir::{DataDir, Role};
use fengxin_node::import::{import_file, Format};
use fengxin_node::publish::{prove, ProveOutput, ProveTarget};
use fengxin_types::{IdType, ListId, MemberName};
use std::io::Write;
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_fengxin");

/// Runs `fengxin verify --proof -` (with `extra` arguments) on `json`: success, stdout, stderr.
fn run_verify(json: &str, extra: &[&str]) -> (bool, String, String) {
    let mut child = Command::new(BIN)
        .args(["verify", "--proof", "-"])
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn fengxin");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(json.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn verify(json: &str) -> (bool, String) {
    let (ok, _, err) = run_verify(json, &[]);
    (ok, err)
}

fn flip_hex(s: &str, at: usize) -> String {
    let mut chars: Vec<char> = s.chars().collect();
    chars[at] = if chars[at] == '0' { '1' } else { '0' };
    chars.into_iter().collect()
}

#[test]
fn verify_accepts_valid_proofs_and_rejects_tampering() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = DataDir::init(
        &tmp.path().join("a"),
        MemberName::parse("bank-a").expect("valid"),
        "127.0.0.1:7400".into(),
        Role::Member,
    )
    .expect("init");
    let csv = tmp.path().join("l.csv");
    std::fs::write(&csv, "identifier\n11010519491231002X\n4111111111111111\n").expect("write");
    let list = ListId::parse("fraud_txn").expect("valid");
    import_file(
        &dir.store().expect("store"),
        &dir.master_seed().expect("seed"),
        &list,
        IdType::CnId,
        &csv,
        Format::Csv,
    )
    .expect("import");
    // A second list of the same member, with other entries: a genuine root of another tree.
    let other_list = ListId::parse("high_risk_account").expect("valid");
    let other_csv = tmp.path().join("other.csv");
    std::fs::write(&other_csv, "identifier\n110105194912310038\n").expect("write");
    import_file(
        &dir.store().expect("store"),
        &dir.master_seed().expect("seed"),
        &other_list,
        IdType::CnId,
        &other_csv,
        Format::Csv,
    )
    .expect("import other list");

    let hit = prove(
        &dir,
        &list,
        ProveTarget::Identifier(IdType::CnId, "11010519491231002x".into()),
    )
    .expect("prove hit");
    let miss = prove(
        &dir,
        &list,
        ProveTarget::Identifier(IdType::CnId, "110105491231003".into()),
    )
    .expect("prove miss");
    assert_eq!((hit.result.as_str(), miss.result.as_str()), ("hit", "miss"));

    let other = prove(
        &dir,
        &other_list,
        ProveTarget::Identifier(IdType::CnId, "110105194912310038".into()),
    )
    .expect("prove on the other list");
    assert_eq!(other.result, "hit");
    assert_ne!(other.root, hit.root, "two lists, two trees, two roots");

    for good in [&hit, &miss, &other] {
        let (ok, err) = verify(&serde_json::to_string(good).expect("json"));
        assert!(ok, "valid proof rejected: {err}");
    }

    // The output says what the proof binds and what is only claimed.
    let (ok, out, err) = run_verify(&serde_json::to_string(&hit).expect("json"), &[]);
    assert!(ok, "{err}");
    assert!(out.contains(&hit.root) && out.contains(&hit.tag), "{out}");
    assert!(
        out.contains("claimed, not verified: list fraud_txn"),
        "list and epoch must be labelled as claimed: {out}"
    );
    let (ok, out, err) = run_verify(&serde_json::to_string(&hit).expect("json"), &["--json"]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json output");
    assert_eq!(v["valid"], true);
    assert_eq!(v["bound"], serde_json::json!(["root", "tag", "result"]));
    assert_eq!(v["claimed"], serde_json::json!(["list", "epoch"]));
    assert_eq!(v["list"], "fraud_txn");
    assert_eq!(v["root"], hit.root.as_str());

    let tampered: Vec<(&str, ProveOutput)> = vec![
        (
            "root",
            ProveOutput {
                root: flip_hex(&hit.root, 63),
                ..hit.clone()
            },
        ),
        (
            "tag",
            ProveOutput {
                tag: flip_hex(&hit.tag, 61),
                ..hit.clone()
            },
        ),
        (
            "result",
            ProveOutput {
                result: "miss".into(),
                ..hit.clone()
            },
        ),
        (
            "result",
            ProveOutput {
                result: "hit".into(),
                ..miss.clone()
            },
        ),
        (
            "proof byte",
            ProveOutput {
                proof: flip_hex(&hit.proof, 70),
                ..hit.clone()
            },
        ),
        (
            "proof byte",
            ProveOutput {
                proof: flip_hex(&hit.proof, 200),
                ..hit.clone()
            },
        ),
        (
            "version byte",
            ProveOutput {
                proof: flip_hex(&hit.proof, 1),
                ..hit.clone()
            },
        ),
        (
            "swapped proof",
            ProveOutput {
                proof: miss.proof.clone(),
                ..hit.clone()
            },
        ),
        (
            "truncated proof",
            ProveOutput {
                proof: hit.proof[..100].to_owned(),
                ..hit.clone()
            },
        ),
        (
            "other list's root",
            ProveOutput {
                root: other.root.clone(),
                ..hit.clone()
            },
        ),
        (
            "other list's root, claimed as the other list",
            ProveOutput {
                list: other.list.clone(),
                root: other.root.clone(),
                ..hit.clone()
            },
        ),
        (
            "all-zero root",
            ProveOutput {
                root: "0".repeat(64),
                ..hit.clone()
            },
        ),
    ];
    for (what, t) in tampered {
        let (ok, err) = verify(&serde_json::to_string(&t).expect("json"));
        assert!(!ok, "tampered {what} accepted");
        assert!(
            err.starts_with("error: "),
            "{what}: no reason given: {err:?}"
        );
        assert_eq!(
            err.trim_end().lines().count(),
            1,
            "{what}: one-line reason expected: {err:?}"
        );
    }
    let (ok, err) = verify("not json at all");
    assert!(!ok && err.contains("not a prove object"), "{err}");
}
