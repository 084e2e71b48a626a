//! A member that is not in genesis starts as a replica nobody admits, is admitted by the
//! council (2 of 3 founders) through `fengxin council`, syncs every block, becomes a
//! validator, publishes, and screens the founders.

use fengxin_api::{self as api, ApiRequest, ApiResponse};
use fengxin_e2e::{import_and_publish, init_member, path_str, RunningNode};
use fengxin_types::IdType;
use std::path::Path;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_fengxin-node-e2e");
const CLIENT: &str = env!("CARGO_BIN_EXE_fengxin-e2e-client");

fn client(args: &[&str]) -> serde_json::Value {
    let out = std::process::Command::new(CLIENT)
        .args(args)
        .output()
        .expect("run fengxin");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json")
}

fn status(dir: &Path) -> fengxin_api::LedgerStatus {
    match api::call(dir, &ApiRequest::LedgerStatus).expect("local API") {
        ApiResponse::LedgerStatus(s) => s,
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn the_council_admits_a_new_member_who_syncs_votes_and_screens() {
    let bin = Path::new(BIN);
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path();
    let ids: Vec<String> = fengxin_sample::identifiers(IdType::CnId, 8, 99).collect();
    let mut members = Vec::new();
    for (k, name) in ["bank-a", "bank-b", "bank-c", "bank-d"].iter().enumerate() {
        let m = init_member(bin, root, name);
        let csv = root.join(format!("{name}.csv"));
        std::fs::write(
            &csv,
            format!("identifier\n{}\n{}\n", ids[2 * k], ids[2 * k + 1]),
        )
        .expect("write");
        import_and_publish(bin, &m, "fraud_txn", "cn_id", &csv);
        members.push(m);
    }
    // Genesis names the three founders only.
    let founders: Vec<&Path> = members[..3].iter().map(|m| m.dir.as_path()).collect();
    let genesis = fengxin_e2e::write_genesis(bin, root, &founders, None);
    let _founders: Vec<RunningNode> = members[..3]
        .iter()
        .map(|m| RunningNode::start(bin, &m.dir, &genesis))
        .collect();
    let newcomer = RunningNode::start(bin, &members[3].dir, &genesis);
    let (a, b, d) = (&members[0].dir, &members[1].dir, &members[3].dir);
    fengxin_node::consortium::wait_for_publications(a, 3).expect("founders' publications");
    assert_eq!(status(d).height, 0, "nobody replicates to a stranger");

    // bank-a proposes; bank-b's vote makes 2 of 3.
    let candidate = members[3].dir.join("member.json");
    client(&[
        "council",
        "admit",
        "--node",
        path_str(a),
        "--candidate",
        path_str(&candidate),
        "--json",
    ]);
    fengxin_node::consortium::wait_for_outbox(a).expect("motion committed");
    let motions = client(&["council", "motions", "--node", path_str(b), "--json"]);
    let motion = motions[0]["id"].as_str().expect("motion id").to_owned();
    assert_eq!(motions[0]["status"], "open");
    client(&[
        "council",
        "vote",
        "--node",
        path_str(b),
        "--motion",
        &motion,
        "--json",
    ]);
    fengxin_node::consortium::wait_for_outbox(b).expect("vote committed");
    let motions = client(&["council", "motions", "--node", path_str(a), "--json"]);
    assert_eq!(motions[0]["status"], "carried");

    // bank-d syncs as a learner, becomes a validator, and publishes its list.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let s = status(d);
        if s.validators.iter().any(|v| v.as_str() == "bank-d") && s.height >= status(a).height {
            break;
        }
        assert!(Instant::now() < deadline, "bank-d not promoted: {s:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
    fengxin_node::consortium::wait_for_publications(a, 4).expect("bank-d's publication");
    // It screens the founders: bank-b lists ids[2].
    let report = newcomer.screen("cn_id", &ids[2]);
    assert_eq!(report.results.len(), 3, "{report:?}");
    for r in &report.results {
        assert!(r.verified, "{r:?}");
        let want = if r.member.as_str() == "bank-b" {
            "hit"
        } else {
            "miss"
        };
        assert_eq!(r.result.map(|v| v.as_str()), Some(want), "{r:?}");
    }
    // And the founders screen it: bank-d lists ids[6].
    match api::call(
        a,
        &ApiRequest::Screen {
            id_type: fengxin_types::IdType::CnId,
            identifier: ids[6].clone(),
            list: None,
            members: Some(vec![
                fengxin_types::MemberName::parse("bank-d").expect("member name")
            ]),
            case_reference: None,
        },
    )
    .expect("local API")
    {
        ApiResponse::Screen(r) => assert_eq!(
            r.results[0].result.map(|v| v.as_str()),
            Some("hit"),
            "{r:?}"
        ),
        other => panic!("unexpected {other:?}"),
    }
}
