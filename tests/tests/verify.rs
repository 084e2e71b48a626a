//! `fengxin verify` on real proofs from a real node database: valid accepted, every tampering
//! rejected with a reason.

use fengxin_api::{ProveOutput, Verdict};
use fengxin_node::datadir::{DataDir, Role};
use fengxin_node::import::{import_file, Format};
use fengxin_node::publish::{prove, ProveTarget};
use fengxin_types::{IdType, ListId, MemberName};
use std::io::Write;
use std::process::{Command, Stdio};

/// The `fengxin` client, built from client/src/main.rs in this package.
const BIN: &str = env!("CARGO_BIN_EXE_fengxin-e2e-client");

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

/// A prove object's JSON with `field` replaced: tampering happens in the JSON a verifier
/// reads, where any string can stand.
fn with(p: &ProveOutput, field: &str, value: &str) -> serde_json::Value {
    let mut v = serde_json::to_value(p).expect("json");
    v[field] = serde_json::Value::String(value.to_owned());
    v
}

/// A field of a prove object as its JSON text.
fn text(p: &ProveOutput, field: &str) -> String {
    serde_json::to_value(p).expect("json")[field]
        .as_str()
        .expect("string field")
        .to_owned()
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
    assert_eq!((hit.result, miss.result), (Verdict::Hit, Verdict::Miss));

    let other = prove(
        &dir,
        &other_list,
        ProveTarget::Identifier(IdType::CnId, "110105194912310038".into()),
    )
    .expect("prove on the other list");
    assert_eq!(other.result, Verdict::Hit);
    assert_ne!(other.root, hit.root, "two lists, two trees, two roots");

    for good in [&hit, &miss, &other] {
        let (ok, err) = verify(&serde_json::to_string(good).expect("json"));
        assert!(ok, "valid proof rejected: {err}");
    }

    // The output says what the proof binds and what is only claimed.
    let (ok, out, err) = run_verify(&serde_json::to_string(&hit).expect("json"), &[]);
    assert!(ok, "{err}");
    assert!(
        out.contains(&text(&hit, "root")) && out.contains(&text(&hit, "tag")),
        "{out}"
    );
    assert!(
        out.contains("root not checked: list fraud_txn"),
        "list and epoch must be labelled as claimed, the root as unchecked: {out}"
    );
    let (ok, out, err) = run_verify(&serde_json::to_string(&hit).expect("json"), &["--json"]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json output");
    assert_eq!(v["valid"], true);
    assert_eq!(v["bound"], serde_json::json!(["root", "tag", "result"]));
    assert_eq!(v["claimed"], serde_json::json!(["list", "epoch"]));
    assert_eq!(v["root_checked"], false);
    assert_eq!(v["list"], "fraud_txn");
    assert_eq!(v["root"], text(&hit, "root"));

    let (root, tag, proof) = (text(&hit, "root"), text(&hit, "tag"), text(&hit, "proof"));
    let other_root = text(&other, "root");
    let tampered: Vec<(&str, serde_json::Value)> = vec![
        ("root", with(&hit, "root", &flip_hex(&root, 63))),
        ("tag", with(&hit, "tag", &flip_hex(&tag, 61))),
        ("result", with(&hit, "result", "miss")),
        ("result", with(&miss, "result", "hit")),
        ("result", with(&hit, "result", "maybe")),
        ("proof byte", with(&hit, "proof", &flip_hex(&proof, 70))),
        ("proof byte", with(&hit, "proof", &flip_hex(&proof, 200))),
        ("version byte", with(&hit, "proof", &flip_hex(&proof, 1))),
        ("swapped proof", with(&hit, "proof", &text(&miss, "proof"))),
        ("truncated proof", with(&hit, "proof", &proof[..100])),
        ("odd-length proof", with(&hit, "proof", &proof[..101])),
        ("short root", with(&hit, "root", &root[..62])),
        ("other list's root", with(&hit, "root", &other_root)),
        (
            "other list's root, claimed as the other list",
            with(
                &ProveOutput {
                    list: other.list.clone(),
                    ..hit.clone()
                },
                "root",
                &other_root,
            ),
        ),
        ("all-zero root", with(&hit, "root", &"0".repeat(64))),
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

#[test]
fn verify_with_a_node_checks_the_root_against_the_ledger() {
    let node_bin = std::path::Path::new(env!("CARGO_BIN_EXE_fengxin-node-e2e"));
    let tmp = tempfile::tempdir().expect("tempdir");
    let builder = fengxin_e2e::Builder::new(node_bin, tmp.path());
    let a = builder.member("bank-a").expect("init");
    let list = ListId::parse("fraud_txn").expect("valid");
    builder
        .import_text(
            &a,
            &list,
            IdType::CnId,
            "a.csv",
            "identifier\n11010519491231002X\n",
        )
        .expect("import");
    builder.publish(&a).expect("publish");
    let dir = DataDir::open(&a.dir).expect("open");
    let published = prove(
        &dir,
        &list,
        ProveTarget::Identifier(IdType::CnId, "11010519491231002x".into()),
    )
    .expect("prove against the published root");
    // The list changes after publication: a valid proof against a root nobody published.
    builder
        .import_text(
            &a,
            &list,
            IdType::CnId,
            "b.csv",
            "identifier\n110105194912310038\n",
        )
        .expect("import");
    let unpublished = prove(
        &dir,
        &list,
        ProveTarget::Identifier(IdType::CnId, "110105194912310038".into()),
    )
    .expect("prove against the unpublished root");
    drop(dir);
    assert_ne!(unpublished.root, published.root);
    let genesis = builder
        .genesis(&[a.dir.as_path()], &[], None)
        .expect("genesis");
    let _node = fengxin_e2e::RunningNode::start(node_bin, &a.dir, &genesis);
    fengxin_node::consortium::wait_for_publications(&a.dir, 1).expect("published");
    let node = a.dir.to_str().expect("utf-8");

    // The published root: valid, checked, pending attestation (no regulator has checked it).
    let json = serde_json::to_string(&published).expect("json");
    let (ok, out, err) = run_verify(&json, &["--node", node, "--json"]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json output");
    assert_eq!(v["root_checked"], true);
    assert_eq!(v["published_by"], "bank-a");
    assert_eq!(v["root_status"], "pending");
    assert_eq!(v["checked"], serde_json::json!(["list", "epoch", "member"]));
    let (ok, out, err) = run_verify(&json, &["--node", node]);
    assert!(ok, "{err}");
    assert!(
        out.contains("root checked on the ledger: bank-a's publication of list fraud_txn")
            && out.contains("pending attestation"),
        "{out}"
    );
    // A development node's reply is announced.
    assert!(err.contains("development consortium"), "{err}");

    // Valid proofs whose root the ledger does not hold for the claimed list and epoch.
    let refused: Vec<(&str, ProveOutput)> = vec![
        ("an unpublished root", unpublished.clone()),
        (
            "another epoch claimed",
            ProveOutput {
                epoch: published.epoch.next().expect("next epoch"),
                ..published.clone()
            },
        ),
        (
            "another list claimed",
            ProveOutput {
                list: ListId::parse("high_risk_account").expect("valid"),
                ..published.clone()
            },
        ),
    ];
    for (what, p) in refused {
        let json = serde_json::to_string(&p).expect("json");
        let (ok, _, _) = run_verify(&json, &[]);
        assert!(ok, "{what}: the proof itself is valid");
        let (ok, out, err) = run_verify(&json, &["--node", node, "--json"]);
        assert!(!ok, "{what}: accepted: {out}");
        let e: serde_json::Value = serde_json::from_str(&out).expect("json error");
        assert_eq!(
            e["error"]["kind"], "unpublished_root",
            "{what}: {out} {err}"
        );
    }
}
