//! A querier that screens real nodes and never submits a receipt, and that spends one
//! allowance interval at two responders at once. Built from the same library pieces a node
//! uses (identity key, QUIC endpoint, the protocol's querier, the ledger's allowance claim),
//! it is a founding member that runs no node: the two honest members are a quorum of the three
//! validators, and the regulator replicates the ledger and audits it.

use fengxin_api::{self as api, ApiRequest, ApiResponse};
use fengxin_confidential::{labels as clabels, prove_range_with_context, Opening};
use fengxin_crypto::{IdentityKey, IdentityPublicKey};
use fengxin_e2e::{
    identity_of, init_regulator, members_with_lists, write_genesis, MemberDir, RunningNode,
};
use fengxin_ledger::{credits::allowance_context, AllowanceClaim, CreditParams};
use fengxin_net::{Endpoint, Limits, PeerConnection, StaticRegistry};
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

/// A claim of `used_after` identifiers in `epoch` for one more identifier, proven against the
/// allowance of a member without committed list sizes (the public base allowance).
fn claim(chain: &[u8; 32], querier: &MemberName, epoch: u64, used_after: u64) -> Vec<u8> {
    claim_of(chain, querier, epoch, used_after, 1)
}

/// As [`claim`], for `count` identifiers.
fn claim_of(
    chain: &[u8; 32],
    querier: &MemberName,
    epoch: u64,
    used_after: u64,
    count: u32,
) -> Vec<u8> {
    let base = CreditParams::default().base_allowance;
    let remaining = Opening::public(base)
        .sub(&Opening::public(used_after))
        .expect("within the base allowance");
    let proof = prove_range_with_context(
        &remaining,
        64,
        clabels::ALLOWANCE_RANGE_PROOF,
        &allowance_context(chain, querier, epoch, used_after, count),
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

/// Two members with lists (bank-a, bank-b), a regulator, and bank-q: a founding member that
/// runs no node, only this test's querier (so the honest two are a quorum of three).
struct Rig {
    members: Vec<(MemberDir, Vec<String>)>,
    reg: std::path::PathBuf,
    genesis: std::path::PathBuf,
    nodes: Vec<RunningNode>,
    chain: [u8; 32],
    q: MemberName,
    q_key: IdentityKey,
    a_key: IdentityPublicKey,
    b_key: IdentityPublicKey,
    endpoint: Endpoint,
}

impl Rig {
    fn new(root: &Path, seed: u64) -> Self {
        let bin = Path::new(BIN);
        let members = members_with_lists(bin, root, &["bank-a", "bank-b"], 3, seed);
        let reg = init_regulator(bin, root);
        let (q_key, q_file, member_file) = fengxin_e2e::member_without_node(root, "bank-q");
        let q = member_file.name.clone();
        let (a, b) = (&members[0].0, &members[1].0);
        let genesis = write_genesis(bin, root, &[&a.dir, &b.dir, &q_file], Some(&reg));
        let nodes: Vec<RunningNode> = [&a.dir, &b.dir, &reg]
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
        let (a_key, b_key) = (identity_of(&a.file), identity_of(&b.file));
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
        Self {
            members,
            reg,
            genesis,
            nodes,
            chain,
            q,
            q_key,
            a_key,
            b_key,
            endpoint,
        }
    }

    async fn connect(&self, m: &MemberDir) -> PeerConnection {
        let addr: SocketAddr = m.address().parse().expect("addr");
        self.endpoint
            .connect(addr, m.name())
            .await
            .expect("connect")
    }

    fn querier(&self) -> Querier<'_> {
        Querier {
            chain: self.chain,
            member: &self.q,
            key: &self.q_key,
        }
    }

    /// The first identifier on bank-a's list.
    fn identifier(&self) -> CanonicalId {
        CanonicalId::parse(
            IdType::CnId,
            &self.members[0].1[0],
            fengxin_types::CivilDate::today_china(),
        )
        .expect("identifier")
    }

    /// A request for one identifier to the member that published `p`, claiming `allowance`.
    fn start(&self, p: &Publication, allowance: Vec<u8>) -> (AwaitingEvaluation, Request) {
        self.querier()
            .start(
                &mut rand_core::OsRng,
                p,
                std::slice::from_ref(&self.identifier()),
                allowance,
            )
            .expect("start")
    }
}

/// The ledger's receipts as `m`'s node lists them.
fn receipts_on(m: &MemberDir) -> Vec<fengxin_api::ReceiptView> {
    match api::call(&m.dir, &ApiRequest::Receipts) {
        Ok(ApiResponse::Receipts(r)) => r.receipts,
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_querier_cannot_withhold_receipts_and_spending_a_claim_twice_is_charged_and_suspended() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let rig = Rig::new(tmp.path(), 900);
    let (chain, q, reg) = (rig.chain, &rig.q, &rig.reg);
    let (a, b) = (&rig.members[0].0, &rig.members[1].0);
    let (a_key, b_key) = (rig.a_key, rig.b_key);
    let (conn_a, conn_b) = (rig.connect(a).await, rig.connect(b).await);
    let (pub_a, pub_b) = (publication_of(&conn_a).await, publication_of(&conn_b).await);
    let start = |p: &Publication, allowance: Vec<u8>| rig.start(p, allowance);

    // One claim, the interval (0, 1] of epoch 1, signed into requests to both responders, sent
    // at once. Both evaluate (neither has seen the other's receipt yet) and countersign.
    let spent = claim(&chain, q, 1, 1);
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
    for (m, id) in [(a, &id_a), (b, &id_b)] {
        let r = eventually(&format!("{}'s receipt on the ledger", m.name()), || {
            receipts_on(m).into_iter().find(|r| r.id.to_hex() == *id)
        });
        assert_eq!(&r.querier, q);
        assert_eq!(&r.responder, m.name());
        assert_eq!(r.count, 1);
    }

    // The regulator's audit shows the equivocation, naming both receipts, and bank-q paid
    // for both exchanges.
    let audit = eventually("the equivocation in the audit", || {
        match api::call(
            reg,
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
    assert_eq!(&flag.member, q);
    assert!(
        flag.evidence.contains(&id_a) && flag.evidence.contains(&id_b),
        "{flag:?}"
    );
    assert!(flag.evidence.contains("suspended"), "{flag:?}");
    let p = CreditParams::default();
    let balance = audit
        .members
        .iter()
        .find(|m| &m.member == q)
        .expect("bank-q's figures")
        .balance;
    assert_eq!(balance, p.initial_grant - 2 * p.cost(1), "charged for both");

    // Suspended: a fresh request with a fresh claim is refused before any work.
    let (_, again) = start(&pub_a, claim(&chain, q, 1, 2));
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

/// Sends `req` and returns the refusal's kind and message; panics if it was served.
async fn refusal_of(conn: &PeerConnection, req: &Request) -> (RefusalKind, String) {
    match conn.request::<Request, Response>(req).await {
        Ok(Response::Refused(r)) => (r.kind, r.message),
        other => panic!("served: {other:?}"),
    }
}

/// Sends `req` and checks the countersigned evaluation; returns the receipt id (hex).
async fn served(
    conn: &PeerConnection,
    wait: AwaitingEvaluation,
    req: &Request,
    key: &IdentityPublicKey,
) -> String {
    let resp = conn.request::<Request, Response>(req).await;
    let (answers, _) = wait
        .handle(resp.expect("response"), key)
        .expect("a countersigned evaluation");
    hex::encode(answers.receipt().id())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_responder_spends_each_claim_durably_before_it_evaluates() {
    let bin = Path::new(BIN);
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut rig = Rig::new(tmp.path(), 950);
    let (a, b) = (rig.members[0].0.clone(), rig.members[1].0.clone());
    // bank-b stops: bank-a alone is no quorum, so nothing it serves can reach the ledger yet
    // and only bank-a's own book knows what it served.
    assert!(rig.nodes[1].stop().is_some(), "bank-b stopped");
    let conn_a = rig.connect(&a).await;
    let pub_a = publication_of(&conn_a).await;
    let (chain, q) = (rig.chain, rig.q.clone());

    let (wait, first) = rig.start(&pub_a, claim(&chain, &q, 1, 1));
    let first_id = served(&conn_a, wait, &first, &rig.a_key).await;
    // The same allowance interval in a new request (fresh nonce): refused, before any work.
    let (_, again) = rig.start(&pub_a, claim(&chain, &q, 1, 1));
    let (kind, message) = refusal_of(&conn_a, &again).await;
    assert_eq!(kind, RefusalKind::Replayed, "{message}");
    assert!(message.contains("already spent"), "{message}");

    // bank-a is killed (no shutdown) and restarted: the book is on disk.
    rig.nodes[0].kill();
    rig.nodes[0] = RunningNode::start(bin, &a.dir, &rig.genesis);
    let conn_a = rig.connect(&a).await;
    let (kind, message) = refusal_of(&conn_a, &first).await;
    assert_eq!(
        kind,
        RefusalKind::Replayed,
        "the first request again: {message}"
    );
    let (_, again) = rig.start(&pub_a, claim(&chain, &q, 1, 1));
    let (kind, message) = refusal_of(&conn_a, &again).await;
    assert_eq!(kind, RefusalKind::Replayed, "its interval again: {message}");
    // The next interval is the querier's to spend.
    let (wait, next) = rig.start(&pub_a, claim(&chain, &q, 1, 2));
    let next_id = served(&conn_a, wait, &next, &rig.a_key).await;

    // bank-b comes back: both receipts bank-a served (one queued before the kill) commit,
    // and nothing else; the querier did not equivocate and is not flagged.
    rig.nodes[1] = RunningNode::start(bin, &b.dir, &rig.genesis);
    fengxin_node::consortium::wait_for_outbox(&a.dir).expect("bank-a's receipts committed");
    let mut at_a: Vec<String> = receipts_on(&a)
        .into_iter()
        .filter(|r| r.querier == q && &r.responder == a.name())
        .map(|r| r.id.to_hex())
        .collect();
    at_a.sort();
    let mut expected = vec![first_id, next_id];
    expected.sort();
    assert_eq!(at_a, expected);
    fengxin_node::consortium::wait_for_height(&rig.reg, &a.dir).expect("regulator caught up");
    match api::call(
        &rig.reg,
        &ApiRequest::Audit {
            from: None,
            to: None,
        },
    ) {
        Ok(ApiResponse::Audit(report)) => assert!(
            !report
                .flags
                .iter()
                .any(|f| f.rule == fengxin_api::FlagRule::Equivocation),
            "{:?}",
            report.flags
        ),
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_querier_that_leaves_mid_proof_stops_the_responders_work() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let rig = Rig::new(tmp.path(), 970);
    let a = rig.members[0].0.clone();
    let conn_a = rig.connect(&a).await;
    let pub_a = publication_of(&conn_a).await;
    // 64 identifiers, paid for: proving them all takes the responder many seconds.
    const N: u32 = 64;
    let ids: Vec<CanonicalId> = fengxin_sample::identifiers(IdType::CnId, N as usize, 971)
        .map(|s| {
            CanonicalId::parse(IdType::CnId, &s, fengxin_types::CivilDate::today_china())
                .expect("identifier")
        })
        .collect();
    let (wait, request) = rig
        .querier()
        .start(
            &mut rand_core::OsRng,
            &pub_a,
            &ids,
            claim_of(&rig.chain, &rig.q, 1, u64::from(N), N),
        )
        .expect("start");
    let response = conn_a
        .request::<Request, Response>(&request)
        .await
        .expect("evaluated");
    let (_, membership) = wait.handle(response, &rig.a_key).expect("countersigned");
    // The querier asks for the proofs and leaves after a second.
    let asked = tokio::time::timeout(
        Duration::from_secs(1),
        conn_a.request::<Request, Response>(&membership),
    )
    .await;
    assert!(
        asked.is_err(),
        "64 proofs in under a second: the test proves nothing"
    );
    drop(conn_a);
    let log = a.dir.join("node.log");
    let line = eventually("the responder stopping the abandoned work", || {
        std::fs::read_to_string(&log)
            .ok()?
            .lines()
            .find(|l| l.contains("stopped waiting after"))
            .map(str::to_owned)
    });
    let done: u32 = line
        .split("stopped waiting after ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no proof count in {line:?}"));
    assert!(done < N, "{line}");
    // And the node is idle again: no proving goes on in the background.
    let pid = rig.nodes[0].pid();
    let before = fengxin_e2e::cpu_time(pid);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let used = fengxin_e2e::cpu_time(pid) - before;
    assert!(
        used < Duration::from_millis(700),
        "bank-a used {used:?} of CPU in the 2 s after the querier left"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_checks_what_the_querier_sealed_against_the_receipt_and_the_proofs() {
    use fengxin_node::credits::ReceiptDetails;
    let tmp = tempfile::tempdir().expect("tempdir");
    let rig = Rig::new(tmp.path(), 990);
    let a = rig.members[0].0.clone();
    let conn_a = rig.connect(&a).await;
    let pub_a = publication_of(&conn_a).await;
    let reg_file = fengxin_e2e::member_file(&rig.reg);
    let view = fengxin_confidential::ViewPublicKey::from_bytes(
        reg_file.view_public_key.expect("view key").as_bytes(),
    )
    .expect("view key");
    let verifier = fengxin_proofs::keys::configured_verifier().expect("verifier");
    // bank-q screens bank-a honestly, once per case, and seals each exchange's details,
    // honest or bent, itself.
    let flip = |h: &str| {
        let mut b = hex::decode(h).expect("hex");
        b[0] ^= 1;
        hex::encode(b)
    };
    type Bend = fn(&mut ReceiptDetails, &dyn Fn(&str) -> String);
    let cases: Vec<(&str, Bend)> = vec![
        ("honest", |_, _| {}),
        ("a result flipped", |d, _| d.results[0] = !d.results[0]),
        ("a tag replaced", |d, _| {
            d.tags[0] = fengxin_types::Tag::from_bytes([9; 31])
                .expect("tag")
                .to_string()
        }),
        ("a blinded element changed", |d, f| {
            d.blinded[0] = f(&d.blinded[0])
        }),
        ("an evaluation changed", |d, f| {
            d.evaluated[0] = f(&d.evaluated[0])
        }),
        ("the nonce changed", |d, f| d.nonce = f(&d.nonce)),
        ("a proof swapped", |d, f| d.proofs[0] = f(&d.proofs[0])),
        ("the evidence left out", |d, _| {
            d.blinded.clear();
            d.evaluated.clear();
            d.proofs.clear();
        }),
    ];
    let mut receipts = Vec::new();
    for (k, (what, bend)) in cases.iter().enumerate() {
        let used = k as u64 + 1;
        let (wait, request) = rig.start(&pub_a, claim(&rig.chain, &rig.q, 1, used));
        let response = conn_a.request::<Request, Response>(&request).await;
        let (answers, membership) = wait
            .handle(response.expect("response"), &rig.a_key)
            .expect("evaluated");
        let response = conn_a.request::<Request, Response>(&membership).await;
        let exchange = answers
            .handle(
                response.expect("response"),
                &verifier,
                &mut rand_core::OsRng,
            )
            .expect("verified answers");
        let mut d = ReceiptDetails::of(&exchange, Some(what));
        bend(&mut d, &flip);
        let id = exchange.receipt.id();
        let sealed = fengxin_node::credits::seal(&view, &id, &d).expect("seal");
        let record = fengxin_ledger::Record::sign(
            rig.chain,
            rig.q.clone(),
            &rig.q_key,
            fengxin_ledger::RecordBody::Details(Box::new(fengxin_ledger::ReceiptDetails {
                receipt: id,
                sealed,
            })),
        );
        // bank-q runs no node: its details go through bank-a's, once bank-a's receipt is in.
        eventually(&format!("{what}: the receipt on the ledger"), || {
            receipts_on(&a)
                .iter()
                .any(|r| r.id.as_bytes() == &id)
                .then_some(())
        });
        match api::call(
            &a.dir,
            &ApiRequest::Submit {
                records: vec![record],
            },
        ) {
            Ok(ApiResponse::Submitted(_)) => {}
            other => panic!("{what}: details not submitted: {other:?}"),
        }
        receipts.push((*what, hex::encode(id)));
    }
    fengxin_node::consortium::wait_for_outbox(&a.dir).expect("details committed");
    fengxin_node::consortium::wait_for_height(&rig.reg, &a.dir).expect("regulator caught up");
    let audit = eventually(
        "every sealed details record in the audit",
        || match api::call(
            &rig.reg,
            &ApiRequest::Audit {
                from: None,
                to: None,
            },
        ) {
            Ok(ApiResponse::Audit(r))
                if receipts.iter().all(|(_, id)| {
                    r.records
                        .iter()
                        .any(|x| &x.receipt.to_hex() == id && x.details.is_some())
                }) =>
            {
                Some(r)
            }
            _ => None,
        },
    );
    for (what, id) in &receipts {
        let record = audit
            .records
            .iter()
            .find(|r| &r.receipt.to_hex() == id)
            .expect("audited");
        let flagged = audit.flags.iter().find(|f| {
            f.rule == fengxin_api::FlagRule::InconsistentDetails && f.evidence.contains(id.as_str())
        });
        if *what == "honest" {
            assert!(flagged.is_none(), "honest details flagged: {flagged:?}");
            assert!(record.error.is_none(), "{record:?}");
        } else {
            let flag = flagged.unwrap_or_else(|| panic!("{what}: not flagged: {:?}", audit.flags));
            assert_eq!(flag.member, rig.q, "{what}");
            assert!(
                record
                    .error
                    .as_deref()
                    .is_some_and(|e| e.contains("inconsistent")),
                "{what}: {record:?}"
            );
        }
    }
    // Inconsistent details count for nothing: bank-q's hits come from the honest record only.
    let q = audit
        .members
        .iter()
        .find(|m| m.member == rig.q)
        .expect("bank-q's figures");
    let honest_hits = audit
        .records
        .iter()
        .find(|r| r.receipt.to_hex() == receipts[0].1)
        .and_then(|r| r.details.as_ref())
        .map_or(0, |d| {
            d.results.iter().filter(|v| v.is_hit()).count() as u64
        });
    assert_eq!(q.hits_received, honest_hits);
}
