//! Consensus messages are bound to their sender, end to end: a process holding the regulator's
//! identity key, and separately one holding a member's, connects to a running member node over
//! QUIC with mutual TLS and sends forged vote, append and snapshot messages (a replacement
//! chain, a membership in which it alone votes, an absurd snapshot chunk). Each is refused with
//! its reason; the node's ledger status, members and blocks are unchanged and it keeps serving.
//! A member removed by the council has its open connections closed when the removal commits.

use fengxin_api::{self as api, ApiRequest, ApiResponse};
use fengxin_consensus::{node_id, LedgerTypes, Peer, RaftReply, RaftRpc, Refusal};
use fengxin_crypto::IdentityKey;
use fengxin_e2e::{init_regulator, members_with_lists, write_genesis, MemberDir, RunningNode};
use fengxin_ledger::{Batch, Block, BlockHeader, Record, RecordBody, BLOCK_VERSION};
use fengxin_net::{Endpoint, Limits, StaticRegistry};
use fengxin_protocol::{Publication, Request, Response};
use fengxin_types::{Epoch, ListId, MemberName};
use openraft::raft::{AppendEntriesRequest, InstallSnapshotRequest, VoteRequest};
use openraft::{CommittedLeaderId, Entry, EntryPayload, LogId, Membership, SnapshotMeta, Vote};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

const BIN: &str = env!("CARGO_BIN_EXE_fengxin-node-e2e");

/// What a refused message's reply must look like.
type Expect = fn(&RaftReply) -> bool;

fn status(dir: &Path) -> fengxin_api::LedgerStatus {
    match api::call(dir, &ApiRequest::LedgerStatus).expect("local API") {
        ApiResponse::LedgerStatus(s) => s,
        other => panic!("unexpected {other:?}"),
    }
}

fn node_status(dir: &Path) -> fengxin_api::Status {
    match api::call(dir, &ApiRequest::Status).expect("local API") {
        ApiResponse::Status(s) => s,
        other => panic!("unexpected {other:?}"),
    }
}

fn block_hashes(dir: &Path, top: u64) -> Vec<fengxin_api::BlockHash> {
    (1..=top)
        .map(
            |height| match api::call(dir, &ApiRequest::LedgerBlock { height }).expect("API") {
                ApiResponse::LedgerBlock(b) => b.hash,
                other => panic!("height {height}: {other:?}"),
            },
        )
        .collect()
}

fn identity(dir: &Path) -> IdentityKey {
    fengxin_node::datadir::DataDir::open(dir)
        .expect("data directory")
        .identity()
        .expect("identity key")
}

/// A rogue peer: our own QUIC endpoint with a stolen (or own) identity key, speaking raw
/// consensus messages to `target`.
struct Rogue {
    endpoint: Endpoint,
    target: MemberName,
    address: std::net::SocketAddr,
}

impl Rogue {
    fn new(key: &IdentityKey, target: &MemberDir, target_key: &IdentityKey) -> Self {
        let name = target.name().clone();
        let registry: StaticRegistry = [(target_key.public(), name.clone())].into_iter().collect();
        let endpoint = Endpoint::bind(
            "127.0.0.1:0".parse().expect("addr"),
            key,
            Arc::new(registry),
            Limits::default(),
        )
        .expect("bind the rogue endpoint");
        Self {
            endpoint,
            target: name,
            address: target.address().parse().expect("addr"),
        }
    }

    async fn send(&self, rpc: &RaftRpc) -> RaftReply {
        let conn = self
            .endpoint
            .connect(self.address, &self.target)
            .await
            .expect("the target accepts our TLS identity");
        let bytes = postcard::to_allocvec(rpc).expect("encode");
        match conn
            .request::<_, Response>(&Request::Ledger(bytes))
            .await
            .expect("the target answers")
        {
            Response::Ledger(reply) => postcard::from_bytes(&reply).expect("a consensus reply"),
            other => panic!("unexpected response {other:?}"),
        }
    }
}

fn log_id(term: u64, node: u64, index: u64) -> LogId<u64> {
    LogId::new(CommittedLeaderId::new(term, node), index)
}

/// A membership in which `attacker` alone votes.
fn takeover(attacker: u64, name: &str) -> Membership<u64, Peer> {
    Membership::new(
        vec![BTreeSet::from([attacker])],
        BTreeMap::from([(
            attacker,
            Peer {
                name: name.into(),
                address: "127.0.0.1:9".into(),
            },
        )]),
    )
}

/// A replacement chain: one block, signed by `signer`, publishing a root of its choosing in
/// `victim`'s name under a signature that is not `victim`'s.
fn forged_chain(
    chain_id: [u8; 32],
    signer: &IdentityKey,
    signer_name: &str,
    victim: &str,
) -> Vec<u8> {
    let seed = fengxin_crypto::MasterSeed::generate(&mut rand_core::OsRng);
    let list = ListId::parse("fraud_txn").expect("list");
    let oprf = fengxin_crypto::ListKey::derive(&seed, &list, Epoch::FIRST).expect("key");
    let victim = MemberName::parse(victim).expect("name");
    let publication = Publication {
        version: Publication::VERSION,
        chain: chain_id,
        member: victim.clone(),
        list,
        epoch: Epoch::new(99).expect("epoch"),
        root: [0xee; 32],
        oprf_public_key: oprf.public_key().to_bytes(),
        published_at: 1,
        policy: fengxin_types::ListPolicy::ProofOnly,
        snapshot: None,
    };
    let record = Record::sign(
        chain_id,
        victim,
        signer,
        RecordBody::Publication(publication),
    );
    let proposer = MemberName::parse(signer_name).expect("name");
    let position = fengxin_ledger::Position {
        chain: chain_id,
        height: 1,
        prev_hash: chain_id,
    };
    let batch = Batch::sign(position, proposer.clone(), signer, 1_000, 1, vec![record]);
    let block = Block {
        header: BlockHeader {
            version: BLOCK_VERSION,
            chain_id,
            height: 1,
            prev_hash: chain_id,
            proposer,
            term: 1_000,
            proposed_at_ms: 1,
            records_digest: Block::records_digest(&batch.records),
        },
        proposed: batch.record_ids(),
        proposer_signature: batch.signature.clone(),
        records: batch.records,
    };
    // The snapshot body is the list of blocks.
    postcard::to_allocvec(&(vec![block],)).expect("encode")
}

fn snapshot(
    vote: Vote<u64>,
    membership: Membership<u64, Peer>,
    offset: u64,
    data: Vec<u8>,
) -> RaftRpc {
    let leader = vote.leader_id().voted_for().unwrap_or(0);
    RaftRpc::InstallSnapshot(InstallSnapshotRequest {
        vote,
        meta: SnapshotMeta {
            last_log_id: Some(log_id(vote.leader_id().term, leader, 1_000_000)),
            last_membership: openraft::StoredMembership::new(
                Some(log_id(vote.leader_id().term, leader, 1_000_000)),
                membership,
            ),
            snapshot_id: "forged".into(),
        },
        offset,
        data,
        done: true,
    })
}

fn append(vote: Vote<u64>, membership: Membership<u64, Peer>) -> RaftRpc {
    let leader = vote.leader_id().voted_for().unwrap_or(0);
    let term = vote.leader_id().term;
    let entry: Entry<LedgerTypes> = Entry {
        log_id: log_id(term, leader, 1),
        payload: EntryPayload::Membership(membership),
    };
    RaftRpc::AppendEntries(AppendEntriesRequest {
        vote,
        prev_log_id: None,
        entries: vec![entry],
        leader_commit: Some(log_id(term, leader, 1)),
    })
}

fn vote_request(vote: Vote<u64>) -> RaftRpc {
    let candidate = vote.leader_id().voted_for().unwrap_or(0);
    RaftRpc::Vote(VoteRequest {
        vote,
        last_log_id: Some(log_id(vote.leader_id().term, candidate, 1_000_000)),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_consensus_messages_from_the_regulator_or_a_member_change_nothing() {
    let bin = Path::new(BIN);
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path();
    let members = members_with_lists(bin, root, &["bank-a", "bank-b", "bank-c"], 3, 500);
    let reg = init_regulator(bin, root);
    let dirs: Vec<&Path> = members.iter().map(|(m, _)| m.dir.as_path()).collect();
    let genesis = write_genesis(bin, root, &dirs, Some(&reg));
    let _nodes: Vec<RunningNode> = members
        .iter()
        .map(|(m, _)| RunningNode::start(bin, &m.dir, &genesis))
        .collect();
    let _regulator = RunningNode::start(bin, &reg, &genesis);
    for (m, _) in &members {
        fengxin_node::consortium::wait_for_publications(&m.dir, 3).expect("publications");
        fengxin_node::consortium::wait_for_outbox(&m.dir).expect("outbox drained");
    }

    let (target, _) = &members[0];
    let target_key = identity(&target.dir);
    let before = status(&target.dir);
    let before_node = node_status(&target.dir);
    let before_blocks = block_hashes(&target.dir, before.height);
    let chain_id: [u8; 32] = before.chain_id.0;
    let leader_name = before.leader.clone().expect("a leader");
    let leader_dir = if leader_name.as_str() == "regulator" {
        panic!("the regulator cannot lead")
    } else {
        root.join(leader_name.as_str())
    };
    let leader_id = node_id(&identity(&leader_dir).public().to_bytes());
    let term = before.term + 1_000;

    // The regulator's key: trusted to read, never to order. Every kind of message is refused.
    let reg_key = identity(&reg);
    let reg_id = node_id(&reg_key.public().to_bytes());
    let rogue = Rogue::new(&reg_key, target, &target_key);
    let forged = forged_chain(chain_id, &reg_key, "regulator", "bank-a");
    for rpc in [
        snapshot(
            Vote::new_committed(term, reg_id),
            takeover(reg_id, "regulator"),
            0,
            forged,
        ),
        append(
            Vote::new_committed(term, reg_id),
            takeover(reg_id, "regulator"),
        ),
        vote_request(Vote::new(term, reg_id)),
        snapshot(
            Vote::new_committed(term, leader_id),
            takeover(reg_id, "regulator"),
            0,
            vec![1],
        ),
    ] {
        let reply = rogue.send(&rpc).await;
        assert!(
            matches!(reply, RaftReply::Refused(Refusal::NotAValidator { ref sender }) if sender == "regulator"),
            "{} from the regulator: {reply:?}",
            rpc.kind()
        );
    }

    // A member's key (a current validator, not the leader): messages in another node's name,
    // appends without an election, and snapshots of any kind are refused.
    let (mallory, _) = members
        .iter()
        .find(|(m, _)| m.name() != &leader_name && m.name() != target.name())
        .or_else(|| members.iter().find(|(m, _)| m.name() != target.name()))
        .expect("another member");
    let mallory_key = identity(&mallory.dir);
    let mallory_id = node_id(&mallory_key.public().to_bytes());
    let rogue = Rogue::new(&mallory_key, target, &target_key);
    let forged = forged_chain(chain_id, &mallory_key, mallory.name().as_str(), "bank-a");
    let cases: Vec<(RaftRpc, Expect)> = vec![
        (
            append(
                Vote::new_committed(term, leader_id),
                takeover(mallory_id, mallory.name().as_str()),
            ),
            |r| matches!(r, RaftReply::Refused(Refusal::WrongSender { .. })),
        ),
        (vote_request(Vote::new(term, leader_id)), |r| {
            matches!(r, RaftReply::Refused(Refusal::WrongSender { .. }))
        }),
        (
            append(
                Vote::new(term, mallory_id),
                takeover(mallory_id, mallory.name().as_str()),
            ),
            |r| matches!(r, RaftReply::Refused(Refusal::NotALeader { .. })),
        ),
        (
            snapshot(
                Vote::new_committed(term, leader_id),
                takeover(mallory_id, mallory.name().as_str()),
                0,
                forged.clone(),
            ),
            |r| matches!(r, RaftReply::Refused(Refusal::WrongSender { .. })),
        ),
        (
            snapshot(
                Vote::new_committed(term, mallory_id),
                takeover(mallory_id, mallory.name().as_str()),
                0,
                forged,
            ),
            |r| matches!(r, RaftReply::Refused(Refusal::SnapshotsDisabled)),
        ),
        (
            snapshot(
                Vote::new_committed(term, mallory_id),
                takeover(mallory_id, mallory.name().as_str()),
                u64::MAX - 16,
                vec![0; 32],
            ),
            |r| matches!(r, RaftReply::Refused(Refusal::ChunkOutOfBounds { .. })),
        ),
    ];
    for (rpc, expected) in &cases {
        let reply = rogue.send(rpc).await;
        assert!(
            expected(&reply),
            "{} from {}: {reply:?}",
            rpc.kind(),
            mallory.name()
        );
    }

    // Nothing moved: the same validators, term, members, publications and blocks.
    let after = status(&target.dir);
    assert_eq!(after.validators, before.validators);
    assert_eq!(after.chain_id, before.chain_id);
    assert!(
        after.term < term,
        "the forged term was not adopted: {after:?}"
    );
    assert!(after.height >= before.height);
    assert_eq!(block_hashes(&target.dir, before.height), before_blocks);
    let after_node = node_status(&target.dir);
    assert_eq!(after_node.members, before_node.members);
    assert_eq!(after_node.publications, before_node.publications);
    let log = std::fs::read_to_string(target.dir.join("node.log")).unwrap_or_default();
    assert!(
        log.contains("refused a snapshot message"),
        "refusals are logged"
    );

    // It keeps serving: bank-b screens one of bank-a's entries and gets a verified hit.
    let (b, _) = &members[1];
    let listed = members[0].1[0].clone();
    let dir = b.dir.clone();
    let report = tokio::task::spawn_blocking(move || {
        match api::call(
            &dir,
            &ApiRequest::Screen {
                id_type: fengxin_types::IdType::CnId,
                identifier: listed,
                list: None,
                members: Some(vec![
                    fengxin_types::MemberName::parse("bank-a").expect("member name")
                ]),
                case_reference: None,
            },
        )
        .expect("local API")
        {
            ApiResponse::Screen(r) => r,
            other => panic!("unexpected {other:?}"),
        }
    })
    .await
    .expect("join");
    let row = report
        .results
        .iter()
        .find(|r| r.member.as_str() == "bank-a")
        .expect("bank-a answered");
    assert!(row.verified, "{report:?}");
    assert_eq!(row.result.map(|v| v.as_str()), Some("hit"), "{report:?}");
}

fn call(dir: &Path, request: ApiRequest) -> ApiResponse {
    api::call(dir, &request).expect("local API")
}

/// A removed member's open connections are closed when its removal commits, whatever it was
/// doing on them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_members_connections_are_closed_when_the_removal_commits() {
    let bin = Path::new(BIN);
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path();
    let members: Vec<MemberDir> =
        members_with_lists(bin, root, &["bank-a", "bank-b", "bank-c"], 2, 700)
            .into_iter()
            .map(|(m, _)| m)
            .collect();
    let dirs: Vec<&Path> = members.iter().map(|m| m.dir.as_path()).collect();
    let genesis = write_genesis(bin, root, &dirs, None);
    let _nodes: Vec<RunningNode> = members
        .iter()
        .map(|m| RunningNode::start(bin, &m.dir, &genesis))
        .collect();
    for m in &members {
        fengxin_node::consortium::wait_for_publications(&m.dir, 3).expect("publications");
    }
    let (a, b, c) = (&members[0], &members[1], &members[2]);
    // A process holding bank-c's key keeps a connection to bank-a open, and uses it.
    let c_key = identity(&c.dir);
    let rogue = Rogue::new(&c_key, a, &identity(&a.dir));
    let conn = rogue
        .endpoint
        .connect(rogue.address, &rogue.target)
        .await
        .expect("bank-c is a member");
    match conn.request::<_, Response>(&Request::Publications).await {
        Ok(Response::Publications(p)) => assert!(!p.is_empty()),
        other => panic!("a member is served: {other:?}"),
    }

    // The council removes bank-c (bank-a proposes, bank-b agrees: 2 of 3).
    let motion = match call(
        &a.dir,
        ApiRequest::Propose {
            action: fengxin_ledger::MotionAction::Remove {
                name: MemberName::parse("bank-c").expect("name"),
            },
            note: "breach of the agreement".into(),
        },
    ) {
        ApiResponse::Submitted(ids) => ids[0],
        other => panic!("motion refused: {other:?}"),
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        if let ApiResponse::Motions(ms) = call(&b.dir, ApiRequest::Motions) {
            if ms.iter().any(|m| m.id == motion) {
                break;
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the motion reached bank-b"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    match call(
        &b.dir,
        ApiRequest::Vote {
            motion,
            approve: true,
        },
    ) {
        ApiResponse::Submitted(_) => {}
        other => panic!("vote refused: {other:?}"),
    }

    // The connection is closed by bank-a once the removal is applied.
    tokio::time::timeout(std::time::Duration::from_secs(30), conn.closed())
        .await
        .expect("bank-a closed the removed member's connection");
    let members_now = node_status(&a.dir).members;
    assert!(
        !members_now.iter().any(|m| m.as_str() == "bank-c"),
        "{members_now:?}"
    );
    // A new connection with the removed key is not served.
    let again = rogue.endpoint.connect(rogue.address, &rogue.target).await;
    if let Ok(conn) = again {
        let r = conn.request::<_, Response>(&Request::Publications).await;
        assert!(
            !matches!(r, Ok(Response::Publications(_))),
            "a removed member is served: {r:?}"
        );
    }
    let log = std::fs::read_to_string(a.dir.join("node.log")).unwrap_or_default();
    assert!(
        log.contains("bank-c: no longer a party to the ledger"),
        "logged"
    );
}
