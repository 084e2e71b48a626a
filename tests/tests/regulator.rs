//! A consortium with a regulator node: list sizes are committed confidentially, receipts carry
//! allowance proofs and details sealed to the view key. The regulator recovers exactly the
//! sizes and details; no member's (or the regulator's) disk holds a detail in the clear; the
//! audit flags a member that screens far more distinct identifiers than its peers.

use fengxin_api::{self as api, ApiRequest, ApiResponse};
use fengxin_e2e::{import_and_publish, init_member, node_cmd, path_str, RunningNode};
use fengxin_types::IdType;
use std::path::Path;

const BIN: &str = env!("CARGO_BIN_EXE_fengxin-node-e2e");
const CLIENT: &str = env!("CARGO_BIN_EXE_fengxin-e2e-client");

fn ids(seed: u64, n: usize) -> Vec<String> {
    fengxin_sample::identifiers(IdType::CnId, n, seed).collect()
}

fn credits(dir: &Path) -> fengxin_api::CreditsView {
    match api::call(dir, &ApiRequest::Credits).expect("local API") {
        ApiResponse::Credits(c) => c,
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn the_regulator_reads_sizes_and_details_that_no_member_can() {
    let bin = Path::new(BIN);
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path();
    let sizes = [
        ("bank-a", 5usize, 11u64),
        ("bank-b", 12, 22),
        ("bank-c", 7, 33),
    ];
    let mut members = Vec::new();
    let mut listed = Vec::new();
    for (name, n, seed) in sizes {
        let m = init_member(bin, root, name);
        let rows = ids(seed, n);
        let csv = root.join(format!("{name}.csv"));
        std::fs::write(&csv, format!("identifier\n{}\n", rows.join("\n"))).expect("write");
        import_and_publish(bin, &m, "fraud_txn", "cn_id", &csv);
        // Proof mode: every answer's tag and result is sealed to the regulator (a snapshot
        // receipt seals counts only).
        let dir = path_str(&m.dir);
        node_cmd(
            bin,
            &[
                "lists",
                "policy",
                "--data",
                dir,
                "--list",
                "fraud_txn",
                "--policy",
                "proof_only",
            ],
        );
        node_cmd(bin, &["lists", "publish", "--data", dir]);
        listed.push(rows);
        members.push(m);
    }
    let reg = fengxin_e2e::init_regulator(bin, root);
    let dirs: Vec<&Path> = members.iter().map(|m| m.dir.as_path()).collect();
    let genesis = fengxin_e2e::write_genesis(bin, root, &dirs, Some(&reg));

    let nodes: Vec<RunningNode> = members
        .iter()
        .map(|m| RunningNode::start(bin, &m.dir, &genesis))
        .collect();
    let regulator = RunningNode::start(bin, &reg, &genesis);
    for m in &members {
        fengxin_node::consortium::wait_for_publications(&m.dir, 3).expect("publications");
    }
    for m in &members {
        fengxin_node::consortium::wait_for_outbox(&m.dir).expect("sizes committed");
    }
    // Sizes count toward allowances once the regulator has attested their roots.
    for m in &members {
        fengxin_node::consortium::wait_for_attestations(&m.dir, 3).expect("roots attested");
    }

    // bank-a screens: two of bank-b's entries, one of bank-c's, one listed nowhere.
    let a = &members[0].dir;
    let queries = [
        listed[1][0].clone(),
        listed[1][1].clone(),
        listed[2][0].clone(),
        ids(44, 1)[0].clone(),
    ];
    let mut expected_hits = 0;
    for q in &queries[..3] {
        let report = nodes[0].screen("cn_id", q);
        assert_eq!(report.results.len(), 2, "{report:?}");
        assert!(report.results.iter().all(|r| r.verified), "{report:?}");
        expected_hits += report
            .results
            .iter()
            .filter(|r| r.result.map(|v| v.as_str()) == Some("hit"))
            .count();
    }
    assert_eq!(expected_hits, 3);
    // The last one through the risk team's CLI, with a case reference for the regulator.
    let out = std::process::Command::new(CLIENT)
        .args([
            "screen",
            "--node",
            path_str(a),
            "--id-type",
            "cn_id",
            &queries[3],
            "--case",
            "CASE-7731",
            "--json",
        ])
        .output()
        .expect("run fengxin screen");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A batch of 25 identifiers at bank-b alone: far more distinct tags than any peer.
    let fishing = ids(55, 25);
    match api::call(
        a,
        &ApiRequest::ScreenBatch {
            id_type: fengxin_types::IdType::CnId,
            identifiers: fishing,
            list: None,
            members: Some(vec![
                fengxin_types::MemberName::parse("bank-b").expect("member name")
            ]),
            case_reference: None,
        },
    )
    .expect("local API")
    {
        ApiResponse::ScreenBatch(r) => assert!(r.results.iter().all(|m| m.verified), "{r:?}"),
        other => panic!("unexpected {other:?}"),
    }
    fengxin_node::consortium::wait_for_outbox(a).expect("receipts committed");

    // Feedback: bank-a confirms a hit from bank-b (its quality rises); bank-c cannot give
    // feedback on bank-a's receipt.
    let receipts = match api::call(a, &ApiRequest::Receipts).expect("local API") {
        ApiResponse::Receipts(r) => r.receipts,
        other => panic!("unexpected {other:?}"),
    };
    let at_b = receipts
        .iter()
        .find(|r| r.responder.as_str() == "bank-b")
        .expect("a receipt at bank-b");
    let feedback = |dir: &Path, verdict: fengxin_api::Feedback| {
        api::call(
            dir,
            &ApiRequest::Feedback {
                receipt: at_b.id,
                verdict,
            },
        )
        .expect("local API")
    };
    match feedback(&members[2].dir, fengxin_api::Feedback::FalsePositive) {
        ApiResponse::Error(fengxin_api::ApiError { kind, message }) => {
            assert_eq!(kind, "rejected");
            assert!(message.contains("cannot write a record"), "{message}");
        }
        other => panic!("bank-c's feedback on bank-a's receipt was accepted: {other:?}"),
    }
    assert!(matches!(
        feedback(a, fengxin_api::Feedback::Confirmed),
        ApiResponse::Submitted(_)
    ));
    fengxin_node::consortium::wait_for_outbox(a).expect("feedback committed");
    assert_eq!(credits(&members[1].dir).quality, 1050);

    // bank-a's own view: public balance moved by 10 per identifier and responder; its
    // allowance is 100 + 5 entries, and it has claimed 4 x 2 + 25 identifiers of it.
    let c = credits(a);
    assert_eq!(c.balance, 10_000 - 10 * (4 * 2 + 25));
    assert_eq!(c.allowance, Some(105));
    assert_eq!(c.used, 33);
    assert_eq!(c.remaining, Some(72));
    assert!(c.history.iter().skip(1).all(|e| e.record.is_some()));
    let b = credits(&members[1].dir);
    // bank-b served 4 + 25 identifiers at quality 1000 (of 2000): half of each fee; the other
    // half waits in the validators' pool for the epoch's settlement.
    assert_eq!(b.balance, 10_000 + 10 * (4 + 25) / 2);
    assert_eq!(b.allowance, Some(112));

    // Over the allowance: bank-c (100 + 7) asking for 108 is refused before anything is sent.
    match api::call(
        &members[2].dir,
        &ApiRequest::ScreenBatch {
            id_type: fengxin_types::IdType::CnId,
            identifiers: ids(66, 108),
            list: None,
            members: Some(vec![
                fengxin_types::MemberName::parse("bank-a").expect("member name")
            ]),
            case_reference: None,
        },
    )
    .expect("local API")
    {
        ApiResponse::Error(fengxin_api::ApiError { kind, message }) => {
            assert_eq!(kind, "over_allowance", "{message}");
            assert!(message.contains("107 left"), "{message}");
        }
        other => panic!("unexpected {other:?}"),
    }

    // The regulator decrypts everything: sizes, allowances, every receipt's tags and results.
    fengxin_node::consortium::wait_for_height(&reg, a).expect("regulator caught up");
    let out = std::process::Command::new(CLIENT)
        .args(["audit", "--node", path_str(&reg), "--json"])
        .output()
        .expect("run fengxin audit");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Per-tag results read as screening says them.
    let raw: serde_json::Value = serde_json::from_slice(&out.stdout).expect("audit json");
    for r in raw["records"].as_array().expect("records") {
        for v in r["details"]["results"].as_array().expect("results") {
            assert!(v == "hit" || v == "miss", "{v}");
        }
    }
    let audit: fengxin_api::AuditReport = serde_json::from_slice(&out.stdout).expect("audit json");
    assert_eq!(audit.records.len(), 4 * 2 + 1);
    assert!(
        audit
            .records
            .iter()
            .all(|r| r.details.is_some() && r.error.is_none()),
        "{audit:?}"
    );
    // Honest queriers' sealed details check out against their receipts and proofs.
    assert!(
        !audit
            .flags
            .iter()
            .any(|f| f.rule == fengxin_api::FlagRule::InconsistentDetails),
        "{:?}",
        audit.flags
    );
    let hits: usize = audit
        .records
        .iter()
        .filter_map(|r| r.details.as_ref())
        .map(|d| d.results.iter().filter(|v| v.is_hit()).count())
        .sum();
    assert_eq!(hits, expected_hits);
    for (name, n, _) in sizes {
        let m = audit
            .members
            .iter()
            .find(|m| m.member.as_str() == name)
            .expect("member figures");
        assert_eq!(m.list_sizes.len(), 1);
        assert_eq!(m.list_sizes[0].size, Some(n as u64), "{name}");
        assert_eq!(m.allowance, Some(100 + n as u64), "{name}");
    }
    let flag = audit
        .flags
        .iter()
        .find(|f| f.rule == fengxin_api::FlagRule::Enumeration)
        .expect("enumeration flag");
    assert_eq!(flag.member.as_str(), "bank-a");
    assert!(
        flag.evidence.contains("33 distinct tags"),
        "{}",
        flag.evidence
    );
    let cased: Vec<_> = audit
        .records
        .iter()
        .filter_map(|r| r.details.as_ref())
        .filter(|d| d.case_reference.as_deref() == Some("CASE-7731"))
        .collect();
    assert_eq!(
        cased.len(),
        2,
        "one receipt per responder carries the case reference"
    );
    // Members cannot audit.
    let out = std::process::Command::new(CLIENT)
        .args(["audit", "--node", path_str(a), "--json"])
        .output()
        .expect("run fengxin audit");
    assert!(!out.status.success());

    // The details never reach a disk in the clear: the tags of the miss (listed nowhere) and
    // of bank-a's batch appear in no file of any member or of the regulator.
    drop(nodes);
    drop(regulator);
    let miss_tags: Vec<String> = audit
        .records
        .iter()
        .filter_map(|r| r.details.as_ref())
        .flat_map(|d| d.tags.iter().zip(&d.results))
        .filter(|(_, v)| !v.is_hit())
        .map(|(t, _)| t.to_hex())
        .collect();
    assert!(miss_tags.len() >= 25);
    for tag in &miss_tags {
        let bytes = hex::decode(tag).expect("hex tag");
        for dir in members.iter().map(|m| &m.dir).chain([&reg]) {
            assert!(
                fengxin_e2e::files_containing(dir, &bytes).is_empty(),
                "tag {tag} found under {}",
                dir.display()
            );
            assert!(fengxin_e2e::files_containing(dir, tag.as_bytes()).is_empty());
        }
    }
    for dir in members.iter().map(|m| &m.dir).chain([&reg]) {
        assert!(fengxin_e2e::files_containing(dir, b"CASE-7731").is_empty());
    }
}
