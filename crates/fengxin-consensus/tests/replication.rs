//! Four validators over the simulated network: crash and restart, a 2|2 partition, lossy and
//! slow links, and invalid or conflicting proposals — every node ends with the same blocks.

use fengxin_consensus::sim::SimNetwork;
use fengxin_consensus::{Ledger, LedgerConfig, LedgerTypes, Peer, Timing};
use fengxin_crypto::{IdentityKey, ListKey, MasterSeed};
use fengxin_ledger::{Batch, GenesisMember, Motion, MotionAction, Record, RecordBody, Vote};
use fengxin_protocol::Publication;
use fengxin_types::{Epoch, ListId, MemberName};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The chain of every test cluster.
const CHAIN: [u8; 32] = [9; 32];

const NAMES: [&str; 5] = ["bank-a", "bank-b", "bank-c", "bank-d", "bank-e"];
const WAIT: Duration = Duration::from_secs(20);

fn key(i: usize) -> IdentityKey {
    IdentityKey::from_slice(&[i as u8 + 1; 32]).expect("key")
}

fn name(i: usize) -> MemberName {
    MemberName::parse(NAMES[i]).expect("name")
}

fn members() -> Vec<GenesisMember> {
    (0..4)
        .map(|i| GenesisMember {
            name: name(i),
            identity_key: key(i).public().to_bytes(),
            address: format!("sim:{i}"),
        })
        .collect()
}

struct Cluster {
    net: SimNetwork,
    dir: tempfile::TempDir,
    nodes: Vec<Option<Ledger>>,
}

fn timing() -> Timing {
    Timing {
        heartbeat: Duration::from_millis(50),
        election_min: Duration::from_millis(250),
        election_max: Duration::from_millis(500),
        ..Timing::default()
    }
}

async fn start_node(net: &SimNetwork, dir: &Path, i: usize) -> Ledger {
    let path: PathBuf = dir.join(format!("{}.redb", NAMES[i]));
    // A restarted node may find its previous instance still releasing the file.
    let mut tries = 0;
    let ledger = loop {
        let config = LedgerConfig {
            name: name(i),
            key: key(i),
            path: path.clone(),
            chain_id: CHAIN,
            members: members(),
            regulators: Vec::new(),
            params: fengxin_ledger::CreditParams::default(),
            timing: timing(),
        };
        match Ledger::start(config, net.transport(NAMES[i])).await {
            Ok(l) => break l,
            Err(e) if tries < 50 => {
                tries += 1;
                let _ = e;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("start {}: {e}", NAMES[i]),
        }
    };
    net.attach(NAMES[i], ledger.clone());
    ledger
}

impl Cluster {
    async fn start() -> Self {
        let net = SimNetwork::new();
        let dir = tempfile::tempdir().expect("tempdir");
        let mut nodes = Vec::new();
        for i in 0..4 {
            nodes.push(Some(start_node(&net, dir.path(), i).await));
        }
        Self { net, dir, nodes }
    }

    fn node(&self, i: usize) -> &Ledger {
        self.nodes[i].as_ref().expect("running")
    }

    async fn crash(&mut self, i: usize) {
        self.net.detach(NAMES[i]);
        if let Some(l) = self.nodes[i].take() {
            l.shutdown().await;
        }
    }

    async fn restart(&mut self, i: usize) {
        self.nodes[i] = Some(start_node(&self.net, self.dir.path(), i).await);
    }

    async fn leader(&self) -> usize {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            for (i, n) in self.nodes.iter().enumerate() {
                if n.as_ref().is_some_and(Ledger::is_leader) {
                    return i;
                }
            }
            assert!(tokio::time::Instant::now() < deadline, "no leader elected");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Every running node holds the same block at every height up to the highest.
    async fn assert_same_chain(&self) -> u64 {
        let top = self
            .nodes
            .iter()
            .flatten()
            .map(|n| n.read(|s| s.height()).expect("state"))
            .max()
            .unwrap_or(0);
        for n in self.nodes.iter().flatten() {
            n.wait_height(top, WAIT).await.expect("catches up");
        }
        let reference = self.nodes.iter().flatten().next().expect("a node");
        for h in 1..=top {
            let want = reference.block(h).expect("read").expect("block").hash();
            for n in self.nodes.iter().flatten() {
                let got = n.block(h).expect("read").expect("block").hash();
                assert_eq!(got, want, "height {h} differs");
            }
        }
        top
    }

    async fn stop(mut self) {
        for i in 0..self.nodes.len() {
            self.crash(i).await;
        }
    }
}

fn publication(i: usize, list: &str, epoch: u64, root_byte: u8) -> Record {
    let list = ListId::parse(list).expect("list");
    let epoch = Epoch::new(epoch).expect("epoch");
    let seed = MasterSeed::generate(&mut ChaCha20Rng::seed_from_u64(i as u64));
    let oprf = ListKey::derive(&seed, &list, epoch).expect("key");
    Record::sign(
        CHAIN,
        name(i),
        &key(i),
        RecordBody::Publication(Publication {
            version: Publication::VERSION,
            chain: CHAIN,
            member: name(i),
            list,
            epoch,
            root: [root_byte; 32],
            oprf_public_key: oprf.public_key().to_bytes(),
            published_at: epoch.get(),
            policy: fengxin_types::ListPolicy::ProofOnly,
            snapshot: None,
        }),
    )
}

async fn submit_and_wait(node: &Ledger, records: Vec<Record>) -> u64 {
    let ids = node.submit(records).expect("valid records");
    let mut top = 0;
    for id in ids {
        top = top.max(node.wait_committed(id, WAIT).await.expect("committed"));
    }
    top
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_validator_restarts_replays_and_catches_up() {
    let mut c = Cluster::start().await;
    c.leader().await;
    for epoch in 1..=5 {
        let recs = (0..4)
            .map(|i| publication(i, "fraud_txn", epoch, 1))
            .collect();
        submit_and_wait(c.node(epoch as usize % 4), recs).await;
    }
    let before = c.assert_same_chain().await;
    assert!(before >= 1);

    // Crash bank-d; the other three keep committing.
    c.crash(3).await;
    for epoch in 6..=10 {
        let recs = (0..3)
            .map(|i| publication(i, "fraud_txn", epoch, 1))
            .collect();
        submit_and_wait(c.node(epoch as usize % 3), recs).await;
    }
    let during = c.node(0).read(|s| s.height()).expect("state");
    assert!(during > before);

    // bank-d restarts from its own file (its blocks replay) and catches up from its peers.
    c.restart(3).await;
    let replayed = c.node(3).read(|s| s.height()).expect("state");
    assert!(replayed >= before, "replayed {replayed} of {before}");
    c.node(3)
        .wait_height(during, WAIT)
        .await
        .expect("caught up");
    // It takes part again: its own submission commits.
    submit_and_wait(c.node(3), vec![publication(3, "fraud_txn", 6, 2)]).await;
    c.assert_same_chain().await;
    let status = c.node(3).status().expect("status");
    assert_eq!(status.validators.len(), 4);
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_two_two_partition_halts_without_forking_and_resumes_after_healing() {
    let c = Cluster::start().await;
    c.leader().await;
    submit_and_wait(c.node(0), vec![publication(0, "fraud_txn", 1, 1)]).await;
    let before = c.assert_same_chain().await;

    c.net
        .partition(&["bank-a", "bank-b"], &["bank-c", "bank-d"]);
    let left = c
        .node(0)
        .submit(vec![publication(0, "fraud_txn", 2, 1)])
        .expect("queued");
    let right = c
        .node(2)
        .submit(vec![publication(2, "fraud_txn", 1, 1)])
        .expect("queued");
    tokio::time::sleep(Duration::from_secs(3)).await;
    for n in c.nodes.iter().flatten() {
        assert_eq!(
            n.read(|s| s.height()).expect("state"),
            before,
            "no side has a quorum"
        );
    }

    c.net.heal();
    c.node(0)
        .wait_committed(left[0], WAIT)
        .await
        .expect("left commits");
    c.node(2)
        .wait_committed(right[0], WAIT)
        .await
        .expect("right commits");
    let after = c.assert_same_chain().await;
    assert!(after > before);
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lossy_and_slow_links_still_commit_the_same_chain() {
    let c = Cluster::start().await;
    c.leader().await;
    c.net.set_drop(150);
    c.net.set_delay(Duration::from_millis(5));
    for epoch in 1..=4 {
        let recs = (0..4)
            .map(|i| publication(i, "marketing_abuse", epoch, 3))
            .collect();
        submit_and_wait(c.node(epoch as usize % 4), recs).await;
    }
    c.net.set_drop(0);
    c.assert_same_chain().await;
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_and_conflicting_proposals_never_enter_a_block() {
    let c = Cluster::start().await;
    let l = c.leader().await;
    let leader = c.node(l);
    submit_and_wait(c.node(0), vec![publication(0, "fraud_txn", 1, 1)]).await;

    let valid = publication(1, "fraud_txn", 1, 1);
    let mut bad_signature = publication(2, "fraud_txn", 1, 1);
    bad_signature.signature[3] ^= 1;
    let outsider = IdentityKey::from_slice(&[77; 32]).expect("key");
    let unknown_author = Record::sign(
        CHAIN,
        MemberName::parse("bank-x").expect("name"),
        &outsider,
        publication(3, "fraud_txn", 1, 1).body,
    );
    let replayed = publication(0, "fraud_txn", 1, 1);
    // bank-c equivocates: two different roots for the same (list, epoch) in one batch.
    let first = publication(2, "credit_overdue", 1, 4);
    let second = publication(2, "credit_overdue", 1, 5);
    let records = vec![
        bad_signature.clone(),
        unknown_author.clone(),
        replayed.clone(),
        valid.clone(),
        first.clone(),
        second.clone(),
    ];
    let here = leader.read(|s| s.next_position()).expect("state");
    let batch = Batch::sign(here, name(l), leader.identity(), 1, 0, records);
    leader.propose_raw(batch).await.expect("ordered");

    // A batch signed for a position it does not take (a later height, the height just used,
    // another chain) is refused whole, however well signed.
    let next = leader.read(|s| s.next_position()).expect("state");
    assert_eq!(next.height, here.height + 1, "the batch made one block");
    let misplaced: Vec<Record> = (0..3).map(|k| publication(3, "mule", k + 1, 6)).collect();
    let positions = [
        fengxin_ledger::Position {
            height: next.height + 5,
            ..next
        },
        here,
        fengxin_ledger::Position {
            chain: [8; 32],
            ..next
        },
    ];
    for (position, record) in positions.into_iter().zip(&misplaced) {
        let batch = Batch::sign(
            position,
            name(l),
            leader.identity(),
            1,
            0,
            vec![record.clone()],
        );
        leader.propose_raw(batch).await.expect("ordered");
    }

    // A batch whose signature does not match its proposer is refused whole.
    let mut forged = Batch::sign(
        leader.read(|s| s.next_position()).expect("state"),
        name(l),
        leader.identity(),
        1,
        0,
        vec![publication(3, "fraud_txn", 1, 1)],
    );
    forged.proposer = name((l + 1) % 4);
    leader.propose_raw(forged).await.expect("ordered");

    let top = c.assert_same_chain().await;
    let mut committed = Vec::new();
    for h in 1..=top {
        let block = leader.block(h).expect("read").expect("block");
        committed.extend(block.records.iter().map(Record::id));
    }
    assert!(committed.contains(&valid.id()));
    assert!(committed.contains(&first.id()));
    for bad in [&bad_signature, &unknown_author, &second]
        .into_iter()
        .chain(&misplaced)
    {
        assert!(
            !committed.contains(&bad.id()),
            "{} entered a block",
            bad.kind()
        );
    }
    assert_eq!(
        committed.iter().filter(|id| **id == replayed.id()).count(),
        1,
        "a replayed record is committed once"
    );
    assert!(!committed.contains(&publication(3, "fraud_txn", 1, 1).id()));
    for n in c.nodes.iter().flatten() {
        let root = n
            .read(|s| {
                s.current_publication(&name(2), &ListId::parse("credit_overdue").expect("list"))
                    .map(|p| p.publication.root)
            })
            .expect("state");
        assert_eq!(
            root,
            Some([4; 32]),
            "every node keeps the first of the conflicting pair"
        );
    }
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admitted_member_syncs_as_a_learner_then_votes() {
    let mut c = Cluster::start().await;
    c.leader().await;
    for epoch in 1..=3 {
        let recs = (0..4)
            .map(|i| publication(i, "fraud_txn", epoch, 1))
            .collect();
        submit_and_wait(c.node(0), recs).await;
    }
    // bank-e starts before its admission: it is nobody's voter and replicates nothing yet.
    let e = start_node(&c.net, c.dir.path(), 4).await;
    c.nodes.push(Some(e));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(c.node(4).read(|s| s.height()).expect("state"), 0);
    assert!(
        c.node(4)
            .submit(vec![publication(4, "fraud_txn", 1, 1)])
            .is_err(),
        "not a member yet"
    );

    let motion = Record::sign(
        CHAIN,
        name(0),
        &key(0),
        RecordBody::Motion(Motion {
            action: MotionAction::Admit {
                name: name(4),
                identity_key: key(4).public().to_bytes(),
                address: "sim:4".into(),
            },
            note: "admitted by the council".into(),
        }),
    );
    let id = motion.id();
    submit_and_wait(c.node(0), vec![motion]).await;
    // Votes are checked against the receiving node's own state: wait until bank-b has applied
    // the motion (committed at bank-a is not yet applied everywhere).
    let deadline = tokio::time::Instant::now() + WAIT;
    while !c
        .node(1)
        .read(|s| s.motions().contains_key(&id))
        .expect("read")
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the motion never reached bank-b"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let votes: Vec<Record> = [1, 2]
        .iter()
        .map(|&i| {
            Record::sign(
                CHAIN,
                name(i),
                &key(i),
                RecordBody::Vote(Vote {
                    motion: id,
                    approve: true,
                }),
            )
        })
        .collect();
    submit_and_wait(c.node(1), votes).await;

    // The leader adds bank-e as a learner, it syncs every block, then becomes a validator.
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let status = c.node(4).status().expect("status");
        if status.validators.len() == 5 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not promoted: {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Seeing five validators is not yet a settled membership: until the leader has committed
    // the single five-member configuration after the joint one, a quorum of the old four is
    // still needed, and crashing two of them would stall the ledger.
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let settled = (0..5).all(|i| {
            c.node(i).membership_settled()
                && c.node(i).status().expect("status").validators.len() == 5
        });
        if settled {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "membership never settled"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    c.assert_same_chain().await;
    // With two of the founders down, bank-e's vote is needed for a quorum (3 of 5).
    c.crash(2).await;
    c.crash(3).await;
    submit_and_wait(c.node(4), vec![publication(4, "fraud_txn", 1, 1)]).await;
    c.assert_same_chain().await;
    c.stop().await;
}

/// The leader's raft vote, as a committed vote of `term` for `node`.
fn leader_vote(term: u64, node: u64) -> openraft::Vote<u64> {
    openraft::Vote::new_committed(term, node)
}

/// Log entries that would hand the whole ledger to `attacker`: a membership in which it is
/// the only voter, at an index beyond anything committed.
fn takeover_entries(attacker: u64, term: u64, index: u64) -> Vec<openraft::Entry<LedgerTypes>> {
    let peer = Peer {
        name: "bank-b".into(),
        address: "sim:1".into(),
    };
    let membership = openraft::Membership::new(
        vec![std::collections::BTreeSet::from([attacker])],
        std::collections::BTreeMap::from([(attacker, peer)]),
    );
    vec![openraft::Entry {
        log_id: openraft::LogId::new(openraft::CommittedLeaderId::new(term, attacker), index),
        payload: openraft::EntryPayload::Membership(membership),
    }]
}

/// A participant that is not the leader cannot install state on another node: forged vote,
/// append and snapshot messages (claiming another node's id, or from a node that is no
/// validator, or with an absurd chunk) are refused before the engine sees them, and the
/// target's ledger is unchanged and keeps committing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_participant_that_is_not_the_leader_cannot_install_state_on_another_node() {
    use fengxin_consensus::{RaftReply, RaftRpc, Refusal};
    use openraft::raft::{AppendEntriesRequest, InstallSnapshotRequest, VoteRequest};
    let c = Cluster::start().await;
    let leader = c.leader().await;
    submit_and_wait(c.node(leader), vec![publication(0, "fraud_txn", 1, 1)]).await;
    c.assert_same_chain().await;
    let attacker = (leader + 1) % 4;
    let target = (leader + 2) % 4;
    let before = c.node(target).status().expect("status");
    let (leader_id, attacker_id) = (c.node(leader).id(), c.node(attacker).id());
    let attacker_key = key(attacker).public();
    let term = before.term;

    let send = |from: fengxin_crypto::IdentityPublicKey, rpc: RaftRpc| {
        let node = c.node(target).clone();
        async move { node.handle(&from, rpc).await }
    };
    let append = |vote: openraft::Vote<u64>, claimed: u64| {
        RaftRpc::AppendEntries(AppendEntriesRequest {
            vote,
            prev_log_id: None,
            entries: takeover_entries(claimed, term + 100, 1),
            leader_commit: Some(openraft::LogId::new(
                openraft::CommittedLeaderId::new(term + 100, claimed),
                1,
            )),
        })
    };
    // Append entries in the leader's name, from another validator.
    let reply = send(
        attacker_key,
        append(leader_vote(term + 100, leader_id), leader_id),
    )
    .await;
    assert!(
        matches!(reply, RaftReply::Refused(Refusal::WrongSender { claimed, sender_id, .. })
            if claimed == leader_id && sender_id == attacker_id),
        "{reply:?}"
    );
    // Append entries as itself without having been elected.
    let reply = send(
        attacker_key,
        append(openraft::Vote::new(term + 100, attacker_id), attacker_id),
    )
    .await;
    assert!(
        matches!(reply, RaftReply::Refused(Refusal::NotALeader { .. })),
        "{reply:?}"
    );
    // A vote request on behalf of another candidate.
    let reply = send(
        attacker_key,
        RaftRpc::Vote(VoteRequest {
            vote: openraft::Vote::new(term + 100, leader_id),
            last_log_id: Some(openraft::LogId::new(
                openraft::CommittedLeaderId::new(term + 100, leader_id),
                1_000_000,
            )),
        }),
    )
    .await;
    assert!(
        matches!(reply, RaftReply::Refused(Refusal::WrongSender { .. })),
        "{reply:?}"
    );
    // A snapshot replacing the chain, claimed as the leader, then sent by the leader's own key,
    // then with an absurd offset.
    let snapshot = |vote: openraft::Vote<u64>, offset: u64| {
        RaftRpc::InstallSnapshot(InstallSnapshotRequest {
            vote,
            meta: openraft::SnapshotMeta {
                last_log_id: Some(openraft::LogId::new(
                    openraft::CommittedLeaderId::new(term + 100, attacker_id),
                    1_000,
                )),
                last_membership: openraft::StoredMembership::new(
                    None,
                    openraft::Membership::new(
                        vec![std::collections::BTreeSet::from([attacker_id])],
                        (),
                    ),
                ),
                snapshot_id: "forged".into(),
            },
            offset,
            data: vec![0; 64],
            done: true,
        })
    };
    let reply = send(
        attacker_key,
        snapshot(leader_vote(term + 100, leader_id), 0),
    )
    .await;
    assert!(
        matches!(reply, RaftReply::Refused(Refusal::WrongSender { .. })),
        "{reply:?}"
    );
    let leader_key = key(leader).public();
    let reply = send(leader_key, snapshot(leader_vote(term, leader_id), 0)).await;
    assert!(
        matches!(reply, RaftReply::Refused(Refusal::SnapshotsDisabled)),
        "{reply:?}"
    );
    let reply = send(
        leader_key,
        snapshot(leader_vote(term, leader_id), u64::MAX - 8),
    )
    .await;
    assert!(
        matches!(reply, RaftReply::Refused(Refusal::ChunkOutOfBounds { .. })),
        "{reply:?}"
    );
    // A key that is no party to the ledger at all.
    let stranger = IdentityKey::from_slice(&[99; 32]).expect("key").public();
    let reply = send(
        stranger,
        append(leader_vote(term + 100, leader_id), leader_id),
    )
    .await;
    assert!(
        matches!(reply, RaftReply::Refused(Refusal::UnknownSender)),
        "{reply:?}"
    );

    // Nothing changed on the target, and the ledger keeps committing.
    let after = c.node(target).status().expect("status");
    assert_eq!(after.term, before.term);
    assert_eq!(after.validators, before.validators);
    assert_eq!(
        (after.height, &after.block_hash),
        (before.height, &before.block_hash)
    );
    submit_and_wait(c.node(target), vec![publication(1, "fraud_txn", 1, 1)]).await;
    c.assert_same_chain().await;
    c.stop().await;
}

/// The ledger file holds receipts and sealed details: it is created owner-only, and a file
/// left readable by others is tightened when the ledger opens it.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ledger_file_is_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
    let net = SimNetwork::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(format!("{}.redb", NAMES[0]));
    let node = start_node(&net, dir.path(), 0).await;
    assert_eq!(mode(&path), 0o600);
    node.shutdown().await;
    drop(node);
    net.detach(NAMES[0]);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let node = start_node(&net, dir.path(), 0).await;
    assert_eq!(mode(&path), 0o600);
    node.shutdown().await;
}

/// The submission queue is bounded per peer and in total: a submission that does not fit is
/// refused whole with a typed reason, and the queue still takes other peers' records.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_submission_queue_is_bounded_per_peer_and_in_total() {
    use fengxin_consensus::{RaftReply, RaftRpc, Refusal};
    let net = SimNetwork::new();
    let dir = tempfile::tempdir().expect("tempdir");
    // A single node that is not a founding validator: it never leads, so nothing drains its
    // queue while the test fills it.
    let config = LedgerConfig {
        name: name(4),
        key: key(4),
        path: dir.path().join("e.redb"),
        chain_id: CHAIN,
        members: members(),
        regulators: Vec::new(),
        params: fengxin_ledger::CreditParams::default(),
        timing: Timing {
            queue_per_peer: 4,
            queue_total: 6,
            ..timing()
        },
    };
    let node = Ledger::start(config, net.transport(NAMES[4]))
        .await
        .expect("start");
    let records = |i: usize, epochs: std::ops::Range<u64>| -> Vec<Record> {
        epochs.map(|e| publication(i, "fraud_txn", e, 1)).collect()
    };
    let submit = |i: usize, recs: Vec<Record>| {
        let node = node.clone();
        async move { node.handle(&key(i).public(), RaftRpc::Submit(recs)).await }
    };
    // Five records from one peer exceed its four.
    let reply = submit(0, records(0, 1..6)).await;
    assert!(
        matches!(reply, RaftReply::Refused(Refusal::QueueFull(_))),
        "{reply:?}"
    );
    // Four fit; then one more from the same peer does not.
    assert!(matches!(
        submit(0, records(0, 1..5)).await,
        RaftReply::Submitted(Ok(4))
    ));
    let reply = submit(0, records(0, 5..6)).await;
    assert!(
        matches!(reply, RaftReply::Refused(Refusal::QueueFull(_))),
        "{reply:?}"
    );
    // Resubmitting what is already queued costs nothing.
    assert!(matches!(
        submit(0, records(0, 1..3)).await,
        RaftReply::Submitted(Ok(2))
    ));
    // Another peer fits two more, then the total of six is reached.
    assert!(matches!(
        submit(1, records(1, 1..3)).await,
        RaftReply::Submitted(Ok(2))
    ));
    let reply = submit(2, records(2, 1..2)).await;
    assert!(
        matches!(reply, RaftReply::Refused(Refusal::QueueFull(ref why)) if why.contains("in all")),
        "{reply:?}"
    );
    node.shutdown().await;
}
