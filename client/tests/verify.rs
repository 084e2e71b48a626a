//! `fengxin verify` on real proofs from a real node database: valid accepted, every tampering
//! rejected with a reason.

use fengxin_node::datadir::{DataDir, Role};
use fengxin_node::import::{import_file, Format};
use fengxin_node::publish::{prove, ProveOutput, ProveTarget};
use fengxin_types::{IdType, ListId, MemberName};
use std::io::Write;
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_fengxin");

fn verify(json: &str) -> (bool, String) {
    let mut child = Command::new(BIN)
        .args(["verify", "--proof", "-"])
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
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
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

    for good in [&hit, &miss] {
        let (ok, err) = verify(&serde_json::to_string(good).expect("json"));
        assert!(ok, "valid proof rejected: {err}");
    }

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
                root: miss.root.replace(&miss.root, &"0".repeat(64)),
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
