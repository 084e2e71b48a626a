//! Screening across real `fengxin-node` processes on loopback: three members with generated
//! lists, answers matching the lists exactly, and the raw identifier never reaching a responder.

use fengxin_e2e::{
    files_containing, import_and_publish, init_member, node_cmd, path_str, RunningNode,
};
use fengxin_types::IdType;
use std::path::{Path, PathBuf};

const BIN: &str = env!("CARGO_BIN_EXE_fengxin-node-e2e");

fn ids(seed: u64, n: usize) -> Vec<String> {
    fengxin_sample::identifiers(IdType::CnId, n, seed).collect()
}

fn write_csv(path: &Path, ids: &[String]) -> PathBuf {
    let mut text = String::from("identifier,reason\n");
    for id in ids {
        text.push_str(id);
        text.push_str(",card_fraud\n");
    }
    std::fs::write(path, text).expect("write csv");
    path.to_owned()
}

#[test]
fn three_members_answers_match_the_lists_and_identifiers_stay_private() {
    let bin = Path::new(BIN);
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path();
    let a = init_member(bin, root, "bank-a");
    let b = init_member(bin, root, "bank-b");
    let c = init_member(bin, root, "bank-c");

    let b_only = ids(101, 30);
    let c_only = ids(202, 30);
    let shared = ids(303, 5);
    let nowhere = ids(404, 3);
    let mut b_list = b_only.clone();
    b_list.extend(shared.iter().cloned());
    let mut c_list = c_only.clone();
    c_list.extend(shared.iter().cloned());
    import_and_publish(
        bin,
        &b,
        "fraud_txn",
        "cn_id",
        &write_csv(&root.join("b.csv"), &b_list),
    );
    import_and_publish(
        bin,
        &c,
        "credit_overdue",
        "cn_id",
        &write_csv(&root.join("c.csv"), &c_list),
    );
    import_and_publish(
        bin,
        &a,
        "fraud_txn",
        "cn_id",
        // Large enough for an allowance that covers screening every seeded identifier.
        &write_csv(&root.join("a.csv"), &ids(505, 200)),
    );

    let genesis = root.join("genesis.json");
    node_cmd(
        bin,
        &[
            "genesis",
            "--development",
            "--out",
            path_str(&genesis),
            "--member",
            path_str(&a.dir),
            "--member",
            path_str(&b.dir),
            "--member",
            path_str(&c.dir),
        ],
    );
    let node_a = RunningNode::start(bin, &a.dir, &genesis);
    let _node_b = RunningNode::start(bin, &b.dir, &genesis);
    let mut node_c = RunningNode::start(bin, &c.dir, &genesis);
    let published: usize = [&a.dir, &b.dir, &c.dir]
        .iter()
        .map(|d| fengxin_node::publish::read_publications(d).map_or(0, |p| p.len()))
        .sum();
    for d in [&a.dir, &b.dir, &c.dir] {
        fengxin_node::consortium::wait_for_publications(d, published)
            .expect("publications committed");
    }

    let cases: Vec<(&String, &str, &str)> = b_only[..3]
        .iter()
        .map(|i| (i, "hit", "miss"))
        .chain(c_only[..3].iter().map(|i| (i, "miss", "hit")))
        .chain(shared[..2].iter().map(|i| (i, "hit", "hit")))
        .chain(nowhere.iter().map(|i| (i, "miss", "miss")))
        .collect();
    for (id, at_b, at_c) in &cases {
        let report = node_a.screen("cn_id", id);
        assert_eq!(report.identifier_type, fengxin_types::IdType::CnId);
        assert_eq!(report.results.len(), 2, "{report:?}");
        for r in &report.results {
            assert!(r.verified, "unverified answer: {r:?}");
            assert!(r.error.is_none());
            assert!(r.latency_ms > 0.0);
            let expected = match r.member.as_str() {
                "bank-b" => (*at_b, "fraud_txn"),
                "bank-c" => (*at_c, "credit_overdue"),
                other => panic!("unexpected member {other}"),
            };
            assert_eq!(
                (
                    r.result.map(|v| v.as_str()),
                    r.list.as_ref().map(|l| l.as_str())
                ),
                (Some(expected.0), Some(expected.1)),
                "{id} at {}",
                r.member
            );
        }
    }
    // The same person written untidily is the same identifier.
    let messy = format!(" {} ", b_only[0].to_lowercase());
    let report = node_a.screen("cn_id", &messy);
    let at_b = report
        .results
        .iter()
        .find(|r| r.member.as_str() == "bank-b")
        .expect("bank-b");
    assert_eq!(at_b.result.map(|v| v.as_str()), Some("hit"));

    // The risk team's CLI prints the same answers as JSON.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_fengxin-e2e-client"))
        .args([
            "screen",
            "--node",
            path_str(&a.dir),
            "--id-type",
            "cn_id",
            &shared[0],
            "--json",
        ])
        .output()
        .expect("run fengxin screen");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json["identifier_type"], "cn_id");
    let results = json["results"].as_array().expect("results");
    assert_eq!(results.len(), 2);
    for r in results {
        assert_eq!(r["result"], "hit");
        assert_eq!(r["verified"], true);
        assert!(r["latency_ms"].as_f64().is_some_and(|l| l > 0.0));
        assert!(r["member"] == "bank-b" || r["member"] == "bank-c");
    }
    // A batch: one exchange per (member, list), hits by position.
    let batch: Vec<String> = vec![
        b_only[5].clone(),
        nowhere[0].clone(),
        shared[3].clone(),
        c_only[7].clone(),
    ];
    match fengxin_api::call(
        &a.dir,
        &fengxin_api::ApiRequest::ScreenBatch {
            id_type: fengxin_types::IdType::CnId,
            identifiers: batch,
            list: None,
            members: None,
            case_reference: None,
        },
    )
    .expect("call")
    {
        fengxin_api::ApiResponse::ScreenBatch(r) => {
            assert_eq!(r.count, 4);
            for m in &r.results {
                assert!(m.verified, "{m:?}");
                let expected: Vec<usize> = match m.member.as_str() {
                    "bank-b" => vec![0, 2],
                    _ => vec![2, 3],
                };
                assert_eq!(m.hits, expected, "{}", m.member);
            }
        }
        other => panic!("unexpected {other:?}"),
    }

    // Invalid input is an error, not a miss.
    let err = fengxin_api::call(
        &a.dir,
        &fengxin_api::ApiRequest::Screen {
            id_type: fengxin_types::IdType::CnId,
            identifier: "110105194912310021".into(),
            list: None,
            members: None,
            case_reference: None,
        },
    )
    .expect("call");
    assert!(matches!(err, fengxin_api::ApiResponse::Error(_)), "{err:?}");

    // Every exchange left one receipt on the ledger, signed by both parties, identical on every
    // node: cases and the untidy one through the API, one through the CLI, and the batch.
    let exchanges = (cases.len() + 2) * 2 + 2;
    let status = fengxin_node::consortium::wait_for_outbox(&a.dir).expect("receipts committed");
    assert_eq!(status.validators.len(), 3, "{status:?}");
    let receipts =
        match fengxin_api::call(&a.dir, &fengxin_api::ApiRequest::Receipts).expect("call") {
            fengxin_api::ApiResponse::Receipts(r) => r,
            other => panic!("unexpected {other:?}"),
        };
    assert_eq!(receipts.receipts.len(), exchanges, "{receipts:?}");
    let to_b = receipts
        .receipts
        .iter()
        .filter(|r| r.responder.as_str() == "bank-b")
        .count();
    assert_eq!(to_b, exchanges / 2);
    assert!(receipts
        .receipts
        .iter()
        .all(|r| r.querier.as_str() == "bank-a" && r.height >= 1));
    let batch_receipts: Vec<_> = receipts.receipts.iter().filter(|r| r.count == 4).collect();
    assert_eq!(
        batch_receipts.len(),
        2,
        "the batch is one receipt per responder"
    );
    for d in [&b.dir, &c.dir] {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let s =
                match fengxin_api::call(d, &fengxin_api::ApiRequest::LedgerStatus).expect("call") {
                    fengxin_api::ApiResponse::LedgerStatus(s) => s,
                    other => panic!("unexpected {other:?}"),
                };
            if s.height == status.height {
                assert_eq!(s.block_hash, status.block_hash, "same chain on every node");
                break;
            }
            assert!(std::time::Instant::now() < deadline, "{s:?} vs {status:?}");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
    // bank-b's view lists only the receipts it is party to.
    match fengxin_api::call(&b.dir, &fengxin_api::ApiRequest::Receipts).expect("call") {
        fengxin_api::ApiResponse::Receipts(r) => {
            assert_eq!(r.receipts.len(), to_b);
            assert!(r.receipts.iter().all(|x| x.responder.as_str() == "bank-b"));
        }
        other => panic!("unexpected {other:?}"),
    }
    // The CLI prints the ledger status and blocks as JSON; a missing block is an error.
    let client = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_fengxin-e2e-client"))
            .args(args)
            .output()
            .expect("run fengxin")
    };
    let out = client(&["ledger", "status", "--node", path_str(&a.dir), "--json"]);
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json["height"], status.height);
    assert_eq!(json["block_hash"], status.block_hash.to_hex());
    assert_eq!(json["validators"].as_array().map(Vec::len), Some(3));
    let out = client(&[
        "ledger",
        "block",
        "--node",
        path_str(&a.dir),
        "--height",
        "1",
        "--json",
    ]);
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json["height"], 1);
    assert!(json["records"].as_array().is_some_and(|r| !r.is_empty()));
    let out = client(&[
        "ledger",
        "block",
        "--node",
        path_str(&a.dir),
        "--height",
        "999999",
        "--json",
    ]);
    assert!(!out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json["error"]["kind"], "not_found");
    let out = client(&["receipts", "--node", path_str(&a.dir), "--json"]);
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json["receipts"].as_array().map(Vec::len), Some(exchanges));

    // Every seeded identifier, and some on no list, in one batch: the hits are exactly the
    // lists' entries.
    let everyone: Vec<String> = b_only
        .iter()
        .chain(&c_only)
        .chain(&shared)
        .chain(&nowhere)
        .cloned()
        .collect();
    let position = |set: &[String]| -> Vec<usize> {
        let mut p: Vec<usize> = everyone
            .iter()
            .enumerate()
            .filter(|(_, id)| set.contains(id))
            .map(|(i, _)| i)
            .collect();
        p.sort_unstable();
        p
    };
    match fengxin_api::call(
        &a.dir,
        &fengxin_api::ApiRequest::ScreenBatch {
            id_type: fengxin_types::IdType::CnId,
            identifiers: everyone.clone(),
            list: None,
            members: None,
            case_reference: None,
        },
    )
    .expect("call")
    {
        fengxin_api::ApiResponse::ScreenBatch(r) => {
            assert_eq!(r.count, everyone.len());
            assert_eq!(r.results.len(), 2, "{r:?}");
            for m in &r.results {
                assert!(m.verified, "{m:?}");
                let expected = match m.member.as_str() {
                    "bank-b" => position(&b_list),
                    "bank-c" => position(&c_list),
                    other => panic!("unexpected member {other}"),
                };
                assert_eq!(m.hits, expected, "{}", m.member);
            }
        }
        other => panic!("unexpected {other:?}"),
    }

    // bank-c shuts down gracefully: it exits cleanly. bank-a then reports it unreachable (never
    // a miss), and bank-b's answer does not wait for bank-c's connection attempts.
    let status = node_c
        .stop()
        .expect("bank-c exits after a shutdown request");
    assert!(status.success(), "bank-c exit status {status:?}");
    let log_c = std::fs::read_to_string(c.dir.join("node.log")).expect("bank-c log");
    assert!(log_c.contains("stopped"), "{log_c}");
    let report = node_a.screen("cn_id", &shared[4]);
    assert_eq!(report.results.len(), 2, "{report:?}");
    for r in &report.results {
        match r.member.as_str() {
            "bank-b" => {
                assert!(r.verified, "{r:?}");
                assert_eq!(r.result.map(|v| v.as_str()), Some("hit"));
                assert!(
                    r.latency_ms < 10_000.0,
                    "bank-b waited for bank-c's dialling: {r:?}"
                );
            }
            "bank-c" => {
                assert!(!r.verified, "{r:?}");
                assert_eq!(r.result, None, "an unreachable member gives no result");
                let e = r.error.as_ref().expect("error");
                assert_eq!(e.kind, "peer_unreachable", "{e:?}");
            }
            other => panic!("unexpected member {other}"),
        }
    }

    // Responders saw blinded elements and tags only: the identifiers they do not list appear
    // nowhere in their data directories or logs, raw or canonical.
    drop(node_a);
    let private: Vec<(&String, &PathBuf)> = c_only[..3]
        .iter()
        .chain(nowhere.iter())
        .map(|i| (i, &b.dir))
        .chain(
            b_only[..3]
                .iter()
                .chain(nowhere.iter())
                .map(|i| (i, &c.dir)),
        )
        .collect();
    for (id, dir) in private {
        let hits = files_containing(dir, id.as_bytes());
        assert!(hits.is_empty(), "{id} found in {hits:?}");
    }
    // Sanity check of the scan itself: a responder's own entries are in its own database.
    assert!(!files_containing(&b.dir, b_only[0].as_bytes()).is_empty());
}
