//! Snapshot-mode screening across real `fengxin-node` processes on loopback: a querier holds a
//! member's verified snapshot of a shared list and screens a batch against it with one blinded
//! evaluation (labels on the hits), while a proof-only list is answered in proof mode; the
//! responder's data directory and log hold neither the identifiers nor the querier's tags.

use fengxin_e2e::{
    files_containing, init_member, member_with_labelled_list, node_cmd, path_str, result_of,
    sample_ids, write_labelled_csv, RunningNode,
};
use fengxin_types::{CanonicalId, Epoch, IdType, ListId};
use std::path::Path;

const BIN: &str = env!("CARGO_BIN_EXE_fengxin-node-e2e");

#[test]
fn a_held_snapshot_answers_a_batch_with_labels_and_a_proof_only_list_stays_in_proof_mode() {
    let bin = Path::new(BIN);
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path();
    let b_list = sample_ids(11, 1500);
    let c_list = sample_ids(22, 20);
    let nowhere = sample_ids(33, 300);
    let a = member_with_labelled_list(bin, root, "bank-a", &sample_ids(44, 3000), "fraud");
    let b = member_with_labelled_list(bin, root, "bank-b", &b_list, "mule_account");
    let c = init_member(bin, root, "bank-c");
    write_labelled_csv(&root.join("c.csv"), &c_list, "overdue");
    // bank-c's list is proof-only: published without a snapshot.
    node_cmd(
        bin,
        &[
            "lists",
            "import",
            "--data",
            path_str(&c.dir),
            "--list",
            "credit_overdue",
            "--id-type",
            "cn_id",
            "--file",
            path_str(&root.join("c.csv")),
        ],
    );
    node_cmd(
        bin,
        &[
            "lists",
            "policy",
            "--data",
            path_str(&c.dir),
            "--list",
            "credit_overdue",
            "--policy",
            "proof_only",
        ],
    );
    let published = node_cmd(
        bin,
        &["lists", "publish", "--data", path_str(&c.dir), "--json"],
    );
    let published: serde_json::Value = serde_json::from_str(&published).expect("json");
    assert_eq!(published[0]["policy"], "proof_only");
    assert!(published[0].get("snapshot_entries").is_none());
    let b_published = fengxin_node::publish::read_publications(&b.dir).expect("publications");
    let header = b_published[0]
        .publication
        .snapshot
        .expect("a shared list's header");
    assert_eq!(
        header.entries, 1600,
        "1,500 entries pad to the class of 1,600"
    );

    let genesis = fengxin_e2e::write_genesis(bin, root, &[&a.dir, &b.dir, &c.dir], None);
    let _node_a = RunningNode::start(bin, &a.dir, &genesis);
    let _node_b = RunningNode::start(bin, &b.dir, &genesis);
    let _node_c = RunningNode::start(bin, &c.dir, &genesis);
    for d in [&a.dir, &b.dir, &c.dir] {
        fengxin_node::consortium::wait_for_publications(d, 3).expect("publications committed");
    }
    // bank-a holds bank-b's snapshot (bank-c shares none); bank-b holds bank-a's.
    fengxin_node::consortium::wait_for_snapshots(&a.dir, 1).expect("bank-a holds a snapshot");
    let held: Vec<_> = fengxin_e2e::held_copies(&a.dir)
        .iter()
        .map(|n| a.dir.join("held").join(n))
        .collect();
    assert_eq!(held.len(), 1, "{held:?}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode(&a.dir.join("held")), 0o700);
        assert_eq!(mode(&held[0]), 0o600);
        assert_eq!(mode(&held[0].with_extension("manifest")), 0o600);
        assert_eq!(
            std::fs::metadata(&held[0]).expect("meta").len(),
            1600 * fengxin_snapshot::ENTRY_LEN as u64
        );
    }

    // A batch: hits from bank-b's list among identifiers on no list, and bank-c's.
    let mut batch: Vec<String> = b_list[..40].to_vec();
    batch.extend(nowhere.iter().cloned());
    batch.extend(c_list[..5].iter().cloned());
    let report = match fengxin_api::call(
        &a.dir,
        &fengxin_api::ApiRequest::ScreenBatch {
            id_type: IdType::CnId,
            identifiers: batch.clone(),
            list: None,
            members: None,
            case_reference: None,
        },
    )
    .expect("call")
    {
        fengxin_api::ApiResponse::ScreenBatch(r) => r,
        other => panic!("unexpected {other:?}"),
    };
    assert_eq!(report.results.len(), 2, "{report:?}");
    for r in &report.results {
        assert!(r.verified, "{r:?}");
        match r.member.as_str() {
            "bank-b" => {
                assert_eq!(r.mode, Some(fengxin_api::ScreenMode::Snapshot));
                assert_eq!(r.hits, (0..40).collect::<Vec<_>>());
                assert_eq!(r.labels.len(), 40);
                for l in &r.labels {
                    assert_eq!(l.reason, "mule_account");
                    assert_eq!(l.added_on.as_deref(), Some("2026-11-30"));
                }
            }
            "bank-c" => {
                assert_eq!(r.mode, Some(fengxin_api::ScreenMode::Proof));
                assert_eq!(r.hits, (340..345).collect::<Vec<_>>());
                assert!(r.labels.is_empty());
            }
            other => panic!("unexpected member {other}"),
        }
    }
    // One identifier: snapshot mode with its label.
    let report = _node_a.screen("cn_id", &b_list[100]);
    let at_b = result_of(&report, "bank-b");
    assert_eq!(at_b.result, Some(fengxin_api::Verdict::Hit));
    assert_eq!(at_b.mode, Some(fengxin_api::ScreenMode::Snapshot));
    assert_eq!(
        at_b.label.as_ref().map(|l| l.reason.as_str()),
        Some("mule_account")
    );

    // bank-b evaluated blinded elements only: no identifier and none of bank-a's tags (under
    // bank-b's key) reached its data directory or its log.
    let seed = fengxin_node::datadir::DataDir::open(&b.dir)
        .expect("bank-b's data directory")
        .master_seed()
        .expect("seed");
    let key = fengxin_crypto::ListKey::derive(
        &seed,
        &ListId::parse("fraud_txn").expect("list"),
        Epoch::FIRST,
    )
    .expect("key");
    for raw in nowhere.iter().take(20) {
        assert!(files_containing(&b.dir, raw.as_bytes()).is_empty(), "{raw}");
        let id = CanonicalId::parse(IdType::CnId, raw, fengxin_types::CivilDate::today_china())
            .expect("id");
        let tag = key.tag(&id).expect("tag");
        assert!(
            files_containing(&b.dir, tag.as_bytes()).is_empty(),
            "a querier's tag in bank-b's files"
        );
        assert!(
            files_containing(&b.dir, tag.to_string().as_bytes()).is_empty(),
            "a querier's tag (hex) in bank-b's files"
        );
    }
}
