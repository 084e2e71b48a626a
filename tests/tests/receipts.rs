//! A querier that screens real nodes and never submits a receipt, and that spends one
//! allowance interval at two responders at once. Built from the same library pieces a node
//! uses (identity key, QUIC endpoint, the protocol's querier, the ledger's allowance claim),
//! it is a founding member that runs no node: the two honest members are a quorum of the three
//! validators, and the regulator replicates the ledger and audits it.

use fengxin_api::{self as api, ApiRequest, ApiResponse};
use fengxin_confidential::{labels as clabels, prove_range_with_context, Opening};
use fengxin_crypto::{IdentityKey, IdentityPublicKey};
use fengxin_e2e::{init_regulator, members_with_lists, write_genesis, MemberDir, RunningNode};
use fengxin_ledger::{credits::allowance_context, AllowanceClaim, CreditParams};
use fengxin_net::{Endpoint, Limits, PeerConnection, StaticRegistry};
use fengxin_node::datadir::{MemberFile, Role};
use fengxin_protocol::{AwaitingEvaluation, Publication, Querier, RefusalKind, Request, Response};
use fengxin_types::{CanonicalId, IdType, MemberName};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_fengxin-node-e2e");

fn name(s: &str) -> MemberName {
    MemberName::parse(s).expect("name")
}

fn identity_of(m: &MemberDir) -> IdentityPublicKey {
    let file: MemberFile =
        serde_json::from_slice(&std::fs::read(m.dir.join("member.json")).expect("member.json"))
            .expect("parse member.json");
    IdentityPublicKey::from_slice(file.identity_key.as_bytes()).expect("key")
}

/// A claim of `used_after` identifiers in `epoch` for one more identifier, proven against the
/// allowance of a member without committed list sizes (the public base allowance).
fn claim(chain: &[u8; 32], querier: &MemberName, epoch: u64, used_after: u64) -> Vec<u8> {
    let base = CreditParams::default().base_allowance;
    let remaining = Opening::public(base)
        .sub(&Opening::public(used_after))
        .expect("within the base allowance");
    let proof = prove_range_with_context(
        &remaining,
        64,
        clabels::ALLOWANCE_RANGE_PROOF,
        &allowance_context(chain, querier, epoch, used_after, 1),
        &mut rand_core::OsRng,
    )
    .expect("prove");
    AllowanceClaim {
        epoch,
        used_after,
        proof,
    }
    .to_bytes()
}

/// Polls `f` for up to 60 s.
fn eventually<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "{what} within 60 s");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The responder's publication, as it serves it.
async fn publication_of(conn: &PeerConnection) -> Publication {
    match conn
        .request(&Request::Publications)
        .await
        .expect("publications")
    {
        Response::Publications(p) => p.into_iter().next().expect("one").publication,
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_querier_cannot_withhold_receipts_and_spending_a_claim_twice_is_charged_and_suspended() {
    let bin = Path::new(BIN);
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path();
    let members = members_with_lists(bin, root, &["bank-a", "bank-b"], 3, 900);
    let reg = init_regulator(bin, root);
    let q_key = IdentityKey::generate(&mut rand_core::OsRng);
    let q = name("bank-q");
    let q_file = root.join("bank-q.json");
    let member_file = MemberFile {
        version: 1,
        name: q.clone(),
        identity_key: fengxin_api::IdentityKeyHex(q_key.public().to_bytes()),
        address: format!("127.0.0.1:{}", fengxin_e2e::free_port()),
        role: Role::Member,
        view_public_key: None,
    };
    std::fs::write(&q_file, serde_json::to_vec(&member_file).expect("json")).expect("write");
    let (a, b) = (&members[0].0, &members[1].0);
    let genesis = write_genesis(bin, root, &[&a.dir, &b.dir, &q_file], Some(&reg));
    let _nodes: Vec<RunningNode> = [&a.dir, &b.dir, &reg]
        .iter()
        .map(|d| RunningNode::start(bin, d, &genesis))
        .collect();
    for m in [a, b] {
        fengxin_node::consortium::wait_for_publications(&m.dir, 2).expect("publications");
    }
    let chain = fengxin_node::ledger::chain_id(
        &fengxin_node::genesis::Genesis::load(&genesis).expect("genesis"),
    )
    .expect("chain id");

    let (a_key, b_key) = (identity_of(a), identity_of(b));
    let registry: StaticRegistry = [(a_key, name("bank-a")), (b_key, name("bank-b"))]
        .into_iter()
        .collect();
    let endpoint = Endpoint::bind(
        "127.0.0.1:0".parse().expect("addr"),
        &q_key,
        Arc::new(registry),
        Limits::default(),
    )
    .expect("bind");
    let connect = |m: &MemberDir| {
        let addr: SocketAddr = m.address().parse().expect("addr");
        let endpoint = endpoint.clone();
        let who = m.name().clone();
        async move { endpoint.connect(addr, &who).await.expect("connect") }
    };
    let (conn_a, conn_b) = (connect(a).await, connect(b).await);
    let (pub_a, pub_b) = (publication_of(&conn_a).await, publication_of(&conn_b).await);
    let querier = Querier {
        chain,
        member: &q,
        key: &q_key,
    };
    let id = CanonicalId::parse(
        IdType::CnId,
        &members[0].1[0],
        fengxin_types::CivilDate::today_china(),
    )
    .expect("identifier");
    let start = |p: &Publication, allowance: Vec<u8>| {
        querier
            .start(
                &mut rand_core::OsRng,
                p,
                std::slice::from_ref(&id),
                allowance,
            )
            .expect("start")
    };

    // One claim, the interval (0, 1] of epoch 1, signed into requests to both responders, sent
    // at once. Both evaluate (neither has seen the other's receipt yet) and countersign.
    let spent = claim(&chain, &q, 1, 1);
    let (wait_a, req_a) = start(&pub_a, spent.clone());
    let (wait_b, req_b) = start(&pub_b, spent);
    let (resp_a, resp_b) = tokio::join!(
        conn_a.request::<Request, Response>(&req_a),
        conn_b.request::<Request, Response>(&req_b)
    );
    let receipt_of = |wait: AwaitingEvaluation,
                      resp: Result<Response, fengxin_net::ExchangeError>,
                      key: &IdentityPublicKey| {
        let (answers, _) = wait
            .handle(resp.expect("response"), key)
            .expect("a countersigned evaluation");
        hex::encode(answers.receipt().id())
    };
    let id_a = receipt_of(wait_a, resp_a, &a_key);
    let id_b = receipt_of(wait_b, resp_b, &b_key);
    // bank-q holds its tags and submits nothing, not even the membership step.

    // Each responder submitted its receipt: both are on the ledger and both are charged.
    let receipts_on = |m: &MemberDir| match api::call(&m.dir, &ApiRequest::Receipts) {
        Ok(ApiResponse::Receipts(r)) => r.receipts,
        other => panic!("unexpected {other:?}"),
    };
    for (m, id) in [(a, &id_a), (b, &id_b)] {
        let r = eventually(&format!("{}'s receipt on the ledger", m.name()), || {
            receipts_on(m).into_iter().find(|r| r.id.to_hex() == *id)
        });
        assert_eq!(r.querier, q);
        assert_eq!(&r.responder, m.name());
        assert_eq!(r.count, 1);
    }

    // The regulator's audit shows the equivocation, naming both receipts, and bank-q paid
    // for both exchanges.
    let audit = eventually("the equivocation in the audit", || {
        match api::call(
            &reg,
            &ApiRequest::Audit {
                from: None,
                to: None,
            },
        ) {
            Ok(ApiResponse::Audit(report)) => report
                .flags
                .iter()
                .any(|f| f.rule == fengxin_api::FlagRule::Equivocation)
                .then_some(report),
            _ => None,
        }
    });
    let flag = audit
        .flags
        .iter()
        .find(|f| f.rule == fengxin_api::FlagRule::Equivocation)
        .expect("flag");
    assert_eq!(flag.member, q);
    assert!(
        flag.evidence.contains(&id_a) && flag.evidence.contains(&id_b),
        "{flag:?}"
    );
    assert!(flag.evidence.contains("suspended"), "{flag:?}");
    let p = CreditParams::default();
    let balance = audit
        .members
        .iter()
        .find(|m| m.member == q)
        .expect("bank-q's figures")
        .balance;
    assert_eq!(balance, p.initial_grant - 2 * p.cost(1), "charged for both");

    // Suspended: a fresh request with a fresh claim is refused before any work.
    let (_, again) = start(&pub_a, claim(&chain, &q, 1, 2));
    match conn_a.request::<Request, Response>(&again).await {
        Ok(Response::Refused(r)) => assert_eq!(r.kind, RefusalKind::Suspended, "{r:?}"),
        other => panic!("a suspended querier was served: {other:?}"),
    }
    // And the same signed request again is refused as a replay, not served twice.
    match conn_a.request::<Request, Response>(&req_a).await {
        Ok(Response::Refused(r)) => assert!(
            matches!(r.kind, RefusalKind::Replayed | RefusalKind::Suspended),
            "{r:?}"
        ),
        other => panic!("a replayed request was served: {other:?}"),
    }
}
