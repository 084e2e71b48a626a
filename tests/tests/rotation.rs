//! Epoch rotation across real `fengxin-node` processes: bank-b stops, ratchets its seed and
//! re-tags its list (`lists rotate`), restarts; bank-a, which held bank-b's epoch-1 snapshot,
//! then holds exactly its epoch-2 copy and screens against it. The old seed is gone from
//! bank-b's data directory; a rotation stopped after the ratchet is refused at start and
//! finished by running the command again.

use fengxin_e2e::{
    assert_snapshot_answer, files_containing, held_copies_until, member_with_labelled_list,
    path_str, result_of, sample_ids, Builder, RunningNode,
};
use std::path::{Path, PathBuf};

const BIN: &str = env!("CARGO_BIN_EXE_fengxin-node-e2e");

fn rotate(bin: &Path, dir: &Path) -> serde_json::Value {
    let out = Builder::new(bin, Path::new("."))
        .command(&[
            "lists".as_ref(),
            "rotate".as_ref(),
            "--data".as_ref(),
            dir.as_os_str(),
            "--json".as_ref(),
        ])
        .unwrap_or_else(|e| panic!("lists rotate: {e}"));
    serde_json::from_str(&out).expect("json")
}

#[test]
fn a_rotated_list_is_screened_through_its_new_epoch_and_the_old_seed_is_gone() {
    let bin = Path::new(BIN);
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path();
    let b_list = sample_ids(51, 1200);
    let nowhere = sample_ids(52, 10);
    let b = member_with_labelled_list(bin, root, "bank-b", &b_list, "mule_account");
    let a = member_with_labelled_list(bin, root, "bank-a", &sample_ids(53, 500), "fraud");
    let genesis = fengxin_e2e::write_genesis(bin, root, &[&a.dir, &b.dir], None);
    let node_a = RunningNode::start(bin, &a.dir, &genesis);
    let mut node_b = RunningNode::start(bin, &b.dir, &genesis);
    for d in [&a.dir, &b.dir] {
        fengxin_node::consortium::wait_for_publications(d, 2).expect("publications committed");
    }
    let first = held_copies_until(&a.dir, |h| h.len() == 1);
    assert!(first[0].starts_with("bank-b.fraud_txn.1."), "{first:?}");
    let before = node_a.screen("cn_id", &b_list[0]);
    let at_b = result_of(&before, "bank-b");
    assert_eq!(at_b.result, Some(fengxin_api::Verdict::Hit));
    assert_eq!(at_b.mode, Some(fengxin_api::ScreenMode::Snapshot));

    // bank-b stops and rotates.
    node_b.stop();
    let old_seed = fengxin_node::datadir::DataDir::open(&b.dir)
        .expect("bank-b")
        .master_seed()
        .expect("seed");
    let old_bytes = *old_seed.expose_secret();
    let report = rotate(bin, &b.dir);
    assert_eq!(report["generation"], 1, "{report}");
    assert_eq!(report["ratcheted"], true);
    assert_eq!(report["rotated"][0]["list"], "fraud_txn");
    assert_eq!(report["rotated"][0]["from"], 1);
    assert_eq!(report["rotated"][0]["to"], 2);
    assert_eq!(report["rotated"][0]["entries"], 1200);
    assert_eq!(report["published"][0]["epoch"], 2);
    // The old seed is in no file of bank-b's (it cannot be re-derived from the new one: the
    // ratchet is a one-way hash), and the new seed's generation is on disk.
    assert!(
        files_containing(&b.dir, &old_bytes).is_empty(),
        "the old seed survives in bank-b's data directory"
    );
    let new_seed = fengxin_node::datadir::DataDir::open(&b.dir)
        .expect("bank-b")
        .master_seed()
        .expect("seed");
    assert_eq!(new_seed.generation(), 1);
    assert_ne!(new_seed.expose_secret(), &old_bytes);

    // bank-b restarts and submits its epoch-2 publication; bank-a replaces its copy.
    let _node_b = RunningNode::start(bin, &b.dir, &genesis);
    let second = held_copies_until(&a.dir, |h| {
        h.len() == 1 && h[0].starts_with("bank-b.fraud_txn.2.")
    });
    assert_eq!(second.len(), 1, "{second:?}");
    for (raw, hit) in [
        (&b_list[1], Some("mule_account")),
        (&b_list[1199], Some("mule_account")),
        (&nowhere[0], None),
    ] {
        assert_snapshot_answer(&node_a, "bank-b", raw, hit);
    }
}

/// `fengxin-node` with `args` and `--json`: `Ok` if it succeeded, else its error's kind.
fn node_kind(bin: &Path, args: &[&std::ffi::OsStr]) -> Result<(), String> {
    let out = std::process::Command::new(bin)
        .args(args)
        .arg("--json")
        .output()
        .expect("fengxin-node");
    if out.status.success() {
        return Ok(());
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {} {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    Err(v["error"]["kind"].as_str().unwrap_or_default().to_owned())
}

#[test]
fn a_rotation_stopped_after_the_ratchet_is_refused_until_it_is_finished() {
    let bin = Path::new(BIN);
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path();
    let b = member_with_labelled_list(bin, root, "bank-b", &sample_ids(61, 300), "mule_account");
    let data: PathBuf = b.dir.clone();
    let d = data.as_os_str();
    // The ratchet happened, the re-tagging did not (a crash in between).
    fengxin_node::datadir::DataDir::open(&data)
        .expect("bank-b")
        .ratchet_seed()
        .expect("ratchet");
    for args in [
        vec!["lists".as_ref(), "publish".as_ref(), "--data".as_ref(), d],
        vec![
            "prove".as_ref(),
            "--data".as_ref(),
            d,
            "--list".as_ref(),
            "fraud_txn".as_ref(),
            "--id-type".as_ref(),
            "cn_id".as_ref(),
            "--identifier".as_ref(),
            "110101199003077777".as_ref(),
        ],
    ] {
        assert_eq!(
            node_kind(bin, &args),
            Err("seed_generation".to_owned()),
            "{args:?}"
        );
    }
    let genesis = fengxin_e2e::write_genesis(bin, root, &[&data], None);
    let run = std::process::Command::new(bin)
        .args([
            "run",
            "--data",
            path_str(&data),
            "--genesis",
            path_str(&genesis),
        ])
        .output()
        .expect("run");
    assert!(!run.status.success());
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("the seed is at generation 1") && stderr.contains("lists rotate"),
        "run: {stderr}"
    );
    // Running the command again finishes the rotation without ratcheting twice.
    let report = rotate(bin, &data);
    assert_eq!(report["generation"], 1, "{report}");
    assert_eq!(report["ratcheted"], false);
    assert_eq!(report["rotated"][0]["to"], 2);
    assert_eq!(report["rotated"][0]["entries"], 300);
    let again = rotate(bin, &data);
    assert_eq!(again["generation"], 2, "{again}");
    assert_eq!(again["ratcheted"], true);
    assert_eq!(again["rotated"][0]["to"], 3);
    assert!(node_kind(
        bin,
        &["lists".as_ref(), "publish".as_ref(), "--data".as_ref(), d]
    )
    .is_ok());
}
