//! Held snapshots across restarts of the querier's real `fengxin-node` process: a complete copy
//! is checked again from its own files and held without fetching a chunk; a copy damaged on
//! disk keeps its good leading chunks and fetches the rest; a transfer cut off part way resumes
//! after its last whole chunk; files of no current publication are deleted. Every time, the
//! copy screens hits (with labels) and misses in snapshot mode.

use fengxin_e2e::{
    assert_snapshot_answer, held_copies, held_copies_until, member_with_labelled_list, sample_ids,
    RunningNode,
};
use fengxin_snapshot::{CHUNK_ENTRIES, ENTRY_LEN};
use std::path::Path;

const BIN: &str = env!("CARGO_BIN_EXE_fengxin-node-e2e");

/// bank-b's list: 9,000 entries, padded to a size class of three chunks.
const ENTRIES: usize = 9000;
const CHUNKS: u64 = 3;

fn holding_line(log: &str) -> Option<&str> {
    log.lines()
        .find(|l| l.contains("holding bank-b's fraud_txn epoch 1 snapshot"))
}

/// Starts bank-a, waits until it holds bank-b's copy, and returns the node and how many chunks
/// it fetched from bank-b to do so.
fn restart(bin: &Path, dir: &Path, genesis: &Path) -> (RunningNode, u64) {
    let node = RunningNode::start(bin, dir, genesis);
    fengxin_node::consortium::wait_for_snapshots(dir, 1).expect("bank-a holds bank-b's copy");
    let log = std::fs::read_to_string(dir.join("node.log")).expect("log");
    let line = holding_line(&log).unwrap_or_else(|| panic!("no holding line:\n{log}"));
    let fetched = line
        .split(" entries, ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{line}"));
    let class = fengxin_snapshot::size_class(ENTRIES as u64).expect("class");
    assert!(line.contains(&format!("({class} entries,")), "{line}");
    (node, fetched)
}

fn screens_in_snapshot_mode(node: &RunningNode, hits: &[String], miss: &str) {
    for raw in hits {
        assert_snapshot_answer(node, "bank-b", raw, Some("mule_account"));
    }
    assert_snapshot_answer(node, "bank-b", miss, None);
}

#[test]
fn held_copies_survive_restarts_and_damage_and_resume_after_their_last_whole_chunk() {
    let bin = Path::new(BIN);
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path();
    let b_list = sample_ids(61, ENTRIES);
    let nowhere = sample_ids(62, 1);
    let b = member_with_labelled_list(bin, root, "bank-b", &b_list, "mule_account");
    let a = member_with_labelled_list(bin, root, "bank-a", &sample_ids(63, 100), "fraud");
    let genesis = fengxin_e2e::write_genesis(bin, root, &[&a.dir, &b.dir], None);
    let _node_b = RunningNode::start(bin, &b.dir, &genesis);
    let class = fengxin_snapshot::size_class(ENTRIES as u64).expect("class");
    assert_eq!(fengxin_snapshot::chunk_count(class), CHUNKS);
    let (mut node_a, fetched) = restart(bin, &a.dir, &genesis);
    assert_eq!(fetched, CHUNKS, "the first copy comes from the responder");
    let names = held_copies(&a.dir);
    assert_eq!(names.len(), 1, "{names:?}");
    let entries = a.dir.join("held").join(&names[0]);
    assert_eq!(
        std::fs::metadata(&entries).expect("copy").len(),
        class * ENTRY_LEN as u64
    );
    let probes = [
        b_list[0].clone(),
        b_list[4500].clone(),
        b_list[8999].clone(),
    ];
    screens_in_snapshot_mode(&node_a, &probes, &nowhere[0]);

    // A restart holds the same copy again from disk: no chunk is fetched.
    node_a.stop();
    let (mut node_a, fetched) = restart(bin, &a.dir, &genesis);
    assert_eq!(fetched, 0, "a complete copy is not fetched again");
    screens_in_snapshot_mode(&node_a, &probes, &nowhere[0]);

    // One byte of the middle chunk changed on disk: chunk 0 is kept, chunks 1 and 2 fetched.
    node_a.stop();
    let mut bytes = std::fs::read(&entries).expect("copy");
    let middle = (CHUNK_ENTRIES * ENTRY_LEN) + 100;
    bytes[middle] ^= 0x01;
    std::fs::write(&entries, &bytes).expect("damage the copy");
    let (mut node_a, fetched) = restart(bin, &a.dir, &genesis);
    assert_eq!(
        fetched,
        CHUNKS - 1,
        "the damaged chunk and the one after it"
    );
    assert_eq!(
        std::fs::read(&entries).expect("copy")[middle],
        bytes[middle] ^ 0x01
    );
    screens_in_snapshot_mode(&node_a, &probes, &nowhere[0]);

    // A transfer cut off one and a half chunks in (as if the node had stopped mid-fetch), and a
    // file of a publication that is no longer current.
    node_a.stop();
    let part = entries.with_extension("part");
    let cut = (CHUNK_ENTRIES * ENTRY_LEN * 3) / 2;
    std::fs::write(&part, &std::fs::read(&entries).expect("copy")[..cut]).expect("part");
    std::fs::remove_file(&entries).expect("remove the complete copy");
    let stale = a
        .dir
        .join("held")
        .join("bank-b.fraud_txn.0.0000000000000000.entries");
    std::fs::write(&stale, b"left over").expect("stale file");
    let (node_a, fetched) = restart(bin, &a.dir, &genesis);
    assert_eq!(fetched, CHUNKS - 1, "resumed after the last whole chunk");
    assert!(!part.exists() && !stale.exists());
    assert_eq!(held_copies_until(&a.dir, |h| h.len() == 1), names);
    screens_in_snapshot_mode(&node_a, &probes, &nowhere[0]);
}
