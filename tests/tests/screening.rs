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
        &write_csv(&root.join("a.csv"), &ids(505, 10)),
    );

    let genesis = root.join("genesis.json");
    node_cmd(
        bin,
        &[
            "genesis",
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
    let _node_c = RunningNode::start(bin, &c.dir, &genesis);

    let cases: Vec<(&String, &str, &str)> = b_only[..3]
        .iter()
        .map(|i| (i, "hit", "miss"))
        .chain(c_only[..3].iter().map(|i| (i, "miss", "hit")))
        .chain(shared[..2].iter().map(|i| (i, "hit", "hit")))
        .chain(nowhere.iter().map(|i| (i, "miss", "miss")))
        .collect();
    for (id, at_b, at_c) in &cases {
        let report = node_a.screen("cn_id", id);
        assert_eq!(report.identifier_type, "cn_id");
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
                (r.result.as_deref(), r.list.as_deref()),
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
    assert_eq!(at_b.result.as_deref(), Some("hit"));

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
    match fengxin_node::api::call(
        &a.dir,
        &fengxin_node::api::ApiRequest::ScreenBatch {
            id_type: "cn_id".into(),
            identifiers: batch,
            list: None,
            members: None,
        },
    )
    .expect("call")
    {
        fengxin_node::api::ApiResponse::ScreenBatch(r) => {
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
    let err = fengxin_node::api::call(
        &a.dir,
        &fengxin_node::api::ApiRequest::Screen {
            id_type: "cn_id".into(),
            identifier: "110105194912310021".into(),
            list: None,
            members: None,
        },
    )
    .expect("call");
    assert!(
        matches!(err, fengxin_node::api::ApiResponse::Error { .. }),
        "{err:?}"
    );

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
