//! Four real node processes replicating the ledger over QUIC on loopback: one is killed with
//! SIGKILL while two others screen continuously, then restarted. Every node ends with the same
//! block at every height, and the ledger holds one receipt for every verified exchange, none
//! twice. (A responder submits its receipt when it evaluates, so an attempt that the kill cut
//! off after the evaluation is a receipt too: the querier holds the tags it paid for.)

use fengxin_api::{self as api, ApiRequest, ApiResponse};
use fengxin_e2e::{import_and_publish, init_member, RunningNode};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_fengxin-node-e2e");

fn status(dir: &Path) -> fengxin_api::LedgerStatus {
    match api::call(dir, &ApiRequest::LedgerStatus).expect("local API") {
        ApiResponse::LedgerStatus(s) => s,
        other => panic!("unexpected {other:?}"),
    }
}

fn block_hash(dir: &Path, height: u64) -> fengxin_api::BlockHash {
    match api::call(dir, &ApiRequest::LedgerBlock { height }).expect("local API") {
        ApiResponse::LedgerBlock(b) => b.hash,
        other => panic!("height {height}: {other:?}"),
    }
}

/// Screens `ids` against `member` in a loop until `stop`; returns the numbers of verified and
/// failed (member, list) exchanges reported back. One loader per responder, so that a killed
/// responder's timeouts hold up only its own loader.
fn load(
    dir: PathBuf,
    member: fengxin_types::MemberName,
    ids: Vec<String>,
    stop: Arc<AtomicBool>,
) -> (usize, usize) {
    let mut verified = 0;
    let mut failed = 0;
    let mut i = 0;
    while !stop.load(Ordering::SeqCst) {
        let request = ApiRequest::Screen {
            id_type: fengxin_types::IdType::CnId,
            identifier: ids[i % ids.len()].clone(),
            list: None,
            members: Some(vec![member.clone()]),
            case_reference: None,
        };
        i += 1;
        if let Ok(ApiResponse::Screen(r)) = api::call(&dir, &request) {
            verified += r.results.iter().filter(|r| r.verified).count();
            failed += r.results.iter().filter(|r| !r.verified).count();
        }
    }
    (verified, failed)
}

/// The last lines of every node's log, for a failure's report.
fn dump_logs(dirs: &[PathBuf]) {
    for d in dirs {
        let log = std::fs::read_to_string(d.join("node.log")).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(40).collect();
        eprintln!(
            "--- {}\n{}",
            d.display(),
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
    }
}

#[test]
fn a_validator_killed_under_load_restarts_and_no_receipt_is_lost_or_duplicated() {
    let bin = Path::new(BIN);
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path();
    let names = ["bank-a", "bank-b", "bank-c", "bank-d"];
    let ids: Vec<String> =
        fengxin_sample::identifiers(fengxin_types::IdType::CnId, 6, 55).collect();
    let mut dirs = Vec::new();
    for (k, name) in names.iter().enumerate() {
        let m = init_member(bin, root, name);
        let csv = root.join(format!("{name}.csv"));
        let rows: String = ids
            .iter()
            .skip(k)
            .step_by(2)
            .map(|i| format!("{i}\n"))
            .collect();
        std::fs::write(&csv, format!("identifier\n{rows}")).expect("write");
        import_and_publish(bin, &m, "fraud_txn", "cn_id", &csv);
        dirs.push(m.dir);
    }
    let founders: Vec<&Path> = dirs.iter().map(PathBuf::as_path).collect();
    let genesis = fengxin_e2e::write_genesis(bin, root, &founders, None);
    let mut nodes: Vec<RunningNode> = dirs
        .iter()
        .map(|d| RunningNode::start(bin, d, &genesis))
        .collect();
    for d in &dirs {
        fengxin_node::consortium::wait_for_publications(d, 4).expect("publications committed");
    }

    // bank-a and bank-b screen every other member continuously; every answer is proven once,
    // then cached.
    let stop = Arc::new(AtomicBool::new(false));
    let loaders: Vec<Vec<_>> = [0usize, 1]
        .iter()
        .map(|&k| {
            names
                .iter()
                .filter(|n| **n != names[k])
                .map(|n| {
                    let (dir, ids, stop) = (dirs[k].clone(), ids.clone(), stop.clone());
                    let member = fengxin_types::MemberName::parse(n).expect("member name");
                    std::thread::spawn(move || load(dir, member, ids, stop))
                })
                .collect()
        })
        .collect();
    std::thread::sleep(Duration::from_secs(4));
    let before = status(&dirs[0]).height;
    nodes[3].kill();
    std::thread::sleep(Duration::from_secs(4));
    let during = status(&dirs[0]).height;
    if during <= before {
        dump_logs(&dirs);
        panic!("the other three keep committing ({before} -> {during})");
    }
    nodes[3] = RunningNode::start(bin, &dirs[3], &genesis);
    std::thread::sleep(Duration::from_secs(4));
    stop.store(true, Ordering::SeqCst);
    let outcomes: Vec<(usize, usize)> = loaders
        .into_iter()
        .map(|threads| {
            threads
                .into_iter()
                .map(|t| t.join().expect("load thread"))
                .fold((0, 0), |(v, f), (dv, df)| (v + dv, f + df))
        })
        .collect();
    assert!(outcomes.iter().all(|(v, _)| *v > 0), "{outcomes:?}");

    // Everything submitted is committed; every node reaches the same head.
    for d in &dirs {
        if let Err(e) = fengxin_node::consortium::wait_for_outbox(d) {
            dump_logs(&dirs);
            panic!("outbox not drained: {e:?}");
        }
    }
    let top = dirs.iter().map(|d| status(d).height).max().expect("nodes");
    for d in &dirs {
        let deadline = Instant::now() + Duration::from_secs(60);
        while status(d).height < top {
            assert!(
                Instant::now() < deadline,
                "{} did not catch up",
                d.display()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    for h in 1..=top {
        let want = block_hash(&dirs[0], h);
        for d in &dirs[1..] {
            assert_eq!(block_hash(d, h), want, "height {h} at {}", d.display());
        }
    }

    // A receipt for every verified exchange, none twice; at most one more per attempt that did
    // not verify (each exchange makes at most three attempts, each evaluated at most once).
    for (k, d) in dirs.iter().enumerate().take(2) {
        let receipts = match api::call(d, &ApiRequest::Receipts).expect("local API") {
            ApiResponse::Receipts(r) => r,
            other => panic!("unexpected {other:?}"),
        };
        let own = receipts
            .receipts
            .iter()
            .filter(|r| r.querier.as_str() == names[k])
            .count();
        let (verified, failed) = outcomes[k];
        assert!(
            own >= verified && own <= 3 * (verified + failed),
            "{}: {own} receipts for {verified} verified and {failed} failed exchanges",
            names[k]
        );
        let distinct: std::collections::BTreeSet<&fengxin_api::RecordId> =
            receipts.receipts.iter().map(|r| &r.id).collect();
        assert_eq!(distinct.len(), receipts.receipts.len());
    }
    drop(nodes);
}
