//! Deterministic validation of every record kind: valid records accepted, each kind of
//! tampering or replay rejected with its reason, and identical batches giving identical chains.

mod common;

use common::{genesis_members, list, plain_receipt, signed_receipt, Party};
use fengxin_crypto::IdentityKey;
use fengxin_ledger::{
    Batch, Feedback, LedgerState, Motion, MotionAction, Record, RecordBody, Rejection, ReplayError,
    Verdict, Vote,
};
use fengxin_types::{Epoch, MemberName};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

fn parties(n: usize) -> Vec<Party> {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    (0..n)
        .map(|i| Party {
            name: MemberName::parse(&format!("bank-{}", (b'a' + i as u8) as char)).expect("name"),
            key: IdentityKey::generate(&mut rng),
        })
        .collect()
}

/// The chain id of every test consortium here.
const CHAIN: [u8; 32] = [7; 32];

fn genesis(ps: &[Party]) -> LedgerState {
    LedgerState::genesis(CHAIN, genesis_members(ps), Vec::new())
}

fn publication(p: &Party, epoch: u64) -> Record {
    common::publication(p, epoch, [3; 32])
}

fn receipt(querier: &Party, responder: &Party, nonce: u8) -> Record {
    plain_receipt(
        querier,
        signed_receipt(querier, responder, [nonce; 16], 1, [3; 32]),
    )
}

fn batch(proposer: &Party, records: Vec<Record>) -> Batch {
    Batch::sign(proposer.name.clone(), &proposer.key, 1, 1_000, records)
}

#[test]
fn receipts_are_checked_and_replays_refused() {
    let ps = parties(3);
    let mut state = genesis(&ps);
    // A receipt against a list the responder never published.
    assert!(matches!(
        state.check(&receipt(&ps[0], &ps[1], 1)),
        Err(Rejection::NotPublished { .. })
    ));
    let applied = state.apply_batch(&batch(&ps[2], vec![publication(&ps[1], 1)]));
    assert_eq!(applied.rejected, vec![]);
    assert_eq!(state.height(), 1);

    let good = receipt(&ps[0], &ps[1], 1);
    assert_eq!(state.check(&good), Ok(()));

    // The responder's signature over another body.
    let mut forged = good.clone();
    if let RecordBody::Receipt(r) = &mut forged.body {
        r.receipt.body.count = 2;
    }
    let forged = Record::sign(ps[0].name.clone(), &ps[0].key, forged.body);
    assert_eq!(state.check(&forged), Err(Rejection::BadResponderSignature));

    // The querier's signature broken.
    let mut tampered = good.clone();
    tampered.signature[0] ^= 1;
    assert_eq!(state.check(&tampered), Err(Rejection::BadSignature));

    // A member submitting someone else's receipt.
    let RecordBody::Receipt(inner) = good.body.clone() else {
        panic!("receipt")
    };
    let stolen = Record::sign(ps[2].name.clone(), &ps[2].key, RecordBody::Receipt(inner));
    assert!(matches!(
        state.check(&stolen),
        Err(Rejection::NotAuthorsRecord { .. })
    ));

    // A receipt by a non-member.
    let outsider = Party {
        name: MemberName::parse("bank-x").expect("name"),
        key: IdentityKey::generate(&mut ChaCha20Rng::seed_from_u64(99)),
    };
    assert!(matches!(
        state.check(&receipt(&outsider, &ps[1], 1)),
        Err(Rejection::UnknownAuthor(_))
    ));

    // Accepted once; the same receipt again — in the same batch or later — is a replay.
    let applied = state.apply_batch(&batch(&ps[2], vec![good.clone(), good.clone()]));
    let block = applied.block.expect("block");
    assert_eq!(block.records.len(), 1);
    assert_eq!(applied.rejected, vec![(good.id(), Rejection::Replayed)]);
    assert!(block.check(&ps[2].key.public()));
    assert!(!block.check(&ps[1].key.public()));
    let applied = state.apply_batch(&batch(&ps[2], vec![good.clone()]));
    assert!(
        applied.block.is_none(),
        "an all-rejected batch makes no block"
    );
    assert_eq!(applied.rejected, vec![(good.id(), Rejection::Replayed)]);
    assert_eq!(state.height(), 2);

    let a = state.counters(&ps[0].name);
    let b = state.counters(&ps[1].name);
    assert_eq!((a.queries_made, a.identifiers_screened), (1, 1));
    assert_eq!((b.queries_served, b.identifiers_served), (1, 1));

    // Feedback: only by the querier, only once.
    let id = {
        let RecordBody::Receipt(r) = &good.body else {
            panic!("receipt")
        };
        r.receipt.body.id()
    };
    let feedback = |p: &Party| {
        Record::sign(
            p.name.clone(),
            &p.key,
            RecordBody::Feedback(Feedback {
                receipt: id,
                verdict: Verdict::Confirmed,
            }),
        )
    };
    assert!(matches!(
        state.check(&feedback(&ps[1])),
        Err(Rejection::NotAuthorsRecord { .. })
    ));
    state.apply_batch(&batch(&ps[0], vec![feedback(&ps[0])]));
    assert_eq!(state.counters(&ps[1].name).confirmed, 1);
    assert_eq!(
        state.check(&feedback(&ps[0])),
        Err(Rejection::FeedbackGiven)
    );
}

#[test]
fn publications_move_forward_only_and_speak_for_their_author() {
    let ps = parties(2);
    let mut state = genesis(&ps);
    state.apply_batch(&batch(&ps[0], vec![publication(&ps[0], 2)]));
    assert!(matches!(
        state.check(&publication(&ps[0], 2)),
        Err(Rejection::StaleEpoch { .. })
    ));
    assert!(matches!(
        state.check(&publication(&ps[0], 1)),
        Err(Rejection::StaleEpoch { .. })
    ));
    assert_eq!(state.check(&publication(&ps[0], 3)), Ok(()));
    // bank-b signing a publication in bank-a's name.
    let RecordBody::Publication(p) = publication(&ps[0], 3).body else {
        panic!("publication")
    };
    let forged = Record::sign(ps[1].name.clone(), &ps[1].key, RecordBody::Publication(p));
    assert!(matches!(
        state.check(&forged),
        Err(Rejection::NotAuthorsRecord { .. })
    ));
    // A root that is not a field element.
    let RecordBody::Publication(mut p) = publication(&ps[0], 3).body else {
        panic!("publication")
    };
    p.root = [0xff; 32];
    let bad = Record::sign(ps[0].name.clone(), &ps[0].key, RecordBody::Publication(p));
    assert!(matches!(
        state.check(&bad),
        Err(Rejection::Malformed { field: "root", .. })
    ));
    let current = state
        .current_publication(&ps[0].name, &list())
        .expect("published");
    assert_eq!(current.publication.epoch, Epoch::new(2).expect("2"));
}

#[test]
fn admission_needs_two_thirds_and_removal_revokes() {
    let ps = parties(4);
    let mut state = genesis(&ps);
    let newcomer = IdentityKey::generate(&mut ChaCha20Rng::seed_from_u64(42));
    let name = MemberName::parse("bank-new").expect("name");
    let motion = Record::sign(
        ps[0].name.clone(),
        &ps[0].key,
        RecordBody::Motion(Motion {
            action: MotionAction::Admit {
                name: name.clone(),
                identity_key: newcomer.public().to_bytes(),
                address: "127.0.0.1:9".into(),
            },
            note: "signed the agreement".into(),
        }),
    );
    let id = motion.id();
    let vote = |p: &Party, approve: bool| {
        Record::sign(
            p.name.clone(),
            &p.key,
            RecordBody::Vote(Vote {
                motion: id,
                approve,
            }),
        )
    };
    state.apply_batch(&batch(&ps[0], vec![motion.clone()]));
    assert_eq!(state.check(&motion), Err(Rejection::Replayed));
    assert!(matches!(
        state.check(&vote(&ps[0], true)),
        Err(Rejection::AlreadyVoted(_))
    ));
    // 2 of 4 in favour is not enough.
    state.apply_batch(&batch(&ps[0], vec![vote(&ps[1], true)]));
    assert!(!state.members().contains_key(&name));
    assert!(matches!(
        state.check(&vote(&ps[1], false)),
        Err(Rejection::AlreadyVoted(_))
    ));
    // 3 of 4 carries it.
    state.apply_batch(&batch(&ps[0], vec![vote(&ps[2], true)]));
    assert!(state.members().contains_key(&name));
    assert_eq!(
        state.member_for_key(&newcomer.public().to_bytes()),
        Some(&name)
    );
    assert_eq!(
        state.check(&vote(&ps[3], true)),
        Err(Rejection::MotionClosed)
    );

    // Removal: 5 members now, 4 approvals needed (2/3 of 5 = 3.33); two against sinks it.
    let removal = Record::sign(
        ps[1].name.clone(),
        &ps[1].key,
        RecordBody::Motion(Motion {
            action: MotionAction::Remove {
                name: ps[3].name.clone(),
            },
            note: String::new(),
        }),
    );
    let rid = removal.id();
    let rvote = |p: &Party, approve: bool| {
        Record::sign(
            p.name.clone(),
            &p.key,
            RecordBody::Vote(Vote {
                motion: rid,
                approve,
            }),
        )
    };
    state.apply_batch(&batch(
        &ps[0],
        vec![removal, rvote(&ps[0], true), rvote(&ps[2], true)],
    ));
    assert!(
        state.members().contains_key(&ps[3].name),
        "3 of 5 is not 2/3"
    );
    let newcomer_vote = Record::sign(
        name.clone(),
        &newcomer,
        RecordBody::Vote(Vote {
            motion: rid,
            approve: true,
        }),
    );
    state.apply_batch(&batch(&ps[0], vec![newcomer_vote]));
    assert!(!state.members().contains_key(&ps[3].name));
    // The removed member can no longer write or propose.
    assert!(matches!(
        state.check(&publication(&ps[3], 1)),
        Err(Rejection::UnknownAuthor(_))
    ));
    let refused = state.apply_batch(&batch(&ps[3], vec![publication(&ps[0], 1)]));
    assert!(refused.batch_error.is_some());
}

#[test]
fn a_forged_batch_is_refused_and_chains_are_deterministic() {
    let ps = parties(3);
    let mut a = genesis(&ps);
    let mut b = genesis(&ps);
    let mut forged = batch(&ps[0], vec![publication(&ps[0], 1)]);
    forged.proposer = ps[1].name.clone();
    let out = a.apply_batch(&forged);
    assert!(out.batch_error.is_some() && out.block.is_none());
    assert_eq!(a.height(), 0);

    let batches = vec![
        batch(&ps[0], vec![publication(&ps[0], 1), publication(&ps[1], 1)]),
        batch(
            &ps[1],
            vec![receipt(&ps[2], &ps[0], 1), receipt(&ps[2], &ps[1], 2)],
        ),
        batch(&ps[2], vec![receipt(&ps[0], &ps[1], 3)]),
    ];
    let mut blocks = Vec::new();
    for batch in &batches {
        let x = a.apply_batch(batch).block.expect("block");
        let y = b.apply_batch(batch).block.expect("block");
        assert_eq!(x.hash(), y.hash());
        blocks.push(x);
    }
    assert_eq!(a, b);
    for w in blocks.windows(2) {
        assert_eq!(w[1].header.prev_hash, w[0].hash());
    }
    // Replaying the stored blocks rebuilds the same state.
    let mut c = genesis(&ps);
    for block in &blocks {
        c = c.replay(block).expect("replay");
    }
    assert_eq!(c, a);
    assert!(matches!(
        c.replay(&blocks[0]),
        Err(ReplayError::DoesNotExtend { .. })
    ));
}

/// Every path that installs blocks (start-up replay, catch-up, snapshots) validates them as
/// apply does: a block that was not built by applying a valid batch is refused.
#[test]
fn a_block_not_built_from_a_valid_batch_is_refused_on_replay() {
    let ps = parties(3);
    let mut a = genesis(&ps);
    let first = a
        .apply_batch(&batch(&ps[0], vec![publication(&ps[0], 1)]))
        .block
        .expect("block");
    let second = a
        .apply_batch(&batch(&ps[1], vec![receipt(&ps[2], &ps[0], 1)]))
        .block
        .expect("block");
    let replay_both = |b1: &fengxin_ledger::Block, b2: &fengxin_ledger::Block| {
        genesis(&ps).replay(b1).and_then(|s| s.replay(b2))
    };
    assert_eq!(replay_both(&first, &second).expect("valid chain"), a);

    // A record whose author signature was tampered with, the block re-hashed and re-signed
    // around it by its proposer: the block verifies, the record does not.
    let mut bad = publication(&ps[0], 1);
    bad.signature[3] ^= 1;
    let forged = signed_block(&ps[0], CHAIN, 1, CHAIN, vec![bad]);
    assert!(matches!(
        genesis(&ps).replay(&forged),
        Err(ReplayError::InvalidRecord {
            reason: Rejection::BadSignature,
            ..
        })
    ));
    // A record in another member's name, in a block signed by a member.
    let mut impostor = publication(&ps[1], 1);
    impostor.author = ps[0].name.clone();
    assert!(matches!(
        genesis(&ps).replay(&signed_block(&ps[0], CHAIN, 1, CHAIN, vec![impostor])),
        Err(ReplayError::InvalidRecord { .. })
    ));
    // A block signed by nobody in the membership (e.g. the regulator, or an outsider).
    let outsider = Party {
        name: MemberName::parse("regulator").expect("name"),
        key: IdentityKey::from_slice(&[42; 32]).expect("key"),
    };
    assert!(matches!(
        genesis(&ps).replay(&signed_block(
            &outsider,
            CHAIN,
            1,
            CHAIN,
            vec![publication(&ps[0], 1)]
        )),
        Err(ReplayError::UnknownProposer { .. })
    ));
    // A proposer signature that does not cover the block.
    let mut unsigned = first.clone();
    unsigned.proposer_signature[0] ^= 1;
    assert!(matches!(
        genesis(&ps).replay(&unsigned),
        Err(ReplayError::BadSignature { .. })
    ));
    // A record the proposer never signed for, spliced into a genuine block.
    let mut spliced = second.clone();
    spliced.records.push(publication(&ps[1], 1));
    spliced.header.records_digest = fengxin_ledger::Block::records_digest(&spliced.records);
    let one = genesis(&ps).replay(&first).expect("first");
    assert!(one.replay(&spliced).is_err());
    // Another chain's block, and a block that replays a record already applied.
    assert!(matches!(
        genesis(&ps).replay(&signed_block(
            &ps[0],
            [8; 32],
            1,
            [8; 32],
            vec![publication(&ps[0], 1)]
        )),
        Err(ReplayError::OtherChain { .. })
    ));
    let replayed = signed_block(&ps[0], CHAIN, 2, first.hash(), first.records.clone());
    assert!(matches!(
        genesis(&ps)
            .replay(&first)
            .and_then(|s| s.replay(&replayed)),
        Err(ReplayError::InvalidRecord { .. })
    ));
}

/// A block of `chain` as a proposer would build it around `records`, whatever they are.
fn signed_block(
    proposer: &Party,
    chain: [u8; 32],
    height: u64,
    prev_hash: [u8; 32],
    records: Vec<Record>,
) -> fengxin_ledger::Block {
    let b = batch(proposer, records);
    fengxin_ledger::Block {
        header: fengxin_ledger::BlockHeader {
            version: fengxin_ledger::BLOCK_VERSION,
            chain_id: chain,
            height,
            prev_hash,
            proposer: proposer.name.clone(),
            term: b.term,
            proposed_at_ms: b.proposed_at_ms,
            records_digest: fengxin_ledger::Block::records_digest(&b.records),
        },
        proposed: b.record_ids(),
        proposer_signature: b.signature.clone(),
        records: b.records,
    }
}

fn motion(p: &Party, action: MotionAction) -> Record {
    Record::sign(
        p.name.clone(),
        &p.key,
        RecordBody::Motion(Motion {
            action,
            note: String::new(),
        }),
    )
}

fn vote_on(p: &Party, motion: &Record) -> Record {
    Record::sign(
        p.name.clone(),
        &p.key,
        RecordBody::Vote(Vote {
            motion: motion.id(),
            approve: true,
        }),
    )
}

/// Motions filed while they were valid are checked again when they carry: a second admission
/// cannot replace a member's identity key, nor give two members one key.
#[test]
fn a_carried_admission_is_checked_again_when_decided() {
    let ps = parties(4);
    let mut state = genesis(&ps);
    let k1 = IdentityKey::generate(&mut ChaCha20Rng::seed_from_u64(51)).public();
    let k2 = IdentityKey::generate(&mut ChaCha20Rng::seed_from_u64(52)).public();
    let x = MemberName::parse("bank-x").expect("name");
    let y = MemberName::parse("bank-y").expect("name");
    let admit = |name: &MemberName, key: &fengxin_crypto::IdentityPublicKey| MotionAction::Admit {
        name: name.clone(),
        identity_key: key.to_bytes(),
        address: "127.0.0.1:9".into(),
    };
    let first = motion(&ps[0], admit(&x, &k1));
    let same_name = motion(&ps[1], admit(&x, &k2));
    let same_key = motion(&ps[2], admit(&y, &k1));
    // All three are valid when filed.
    state.apply_batch(&batch(
        &ps[0],
        vec![first.clone(), same_name.clone(), same_key.clone()],
    ));
    assert_eq!(state.motions().len(), 3);
    // The first carries (3 of 4).
    state.apply_batch(&batch(
        &ps[0],
        vec![vote_on(&ps[1], &first), vote_on(&ps[2], &first)],
    ));
    assert_eq!(state.members()[&x].identity_key, k1.to_bytes());
    // The others gather their majorities (4 of 5 now) and are closed without effect.
    for (m, others) in [(&same_name, [0usize, 2, 3]), (&same_key, [0, 1, 3])] {
        let votes = others.iter().map(|&i| vote_on(&ps[i], m)).collect();
        state.apply_batch(&batch(&ps[0], votes));
        let decided = &state.motions()[&m.id()];
        assert_eq!(decided.decided, Some(false), "{decided:?}");
        assert!(
            decided
                .void
                .as_deref()
                .is_some_and(|w| w.contains("already")),
            "{decided:?}"
        );
    }
    assert_eq!(
        state.members()[&x].identity_key,
        k1.to_bytes(),
        "key not replaced"
    );
    assert!(
        !state.members().contains_key(&y),
        "no second member on one key"
    );
    assert_eq!(state.member_for_key(&k1.to_bytes()), Some(&x));

    // A key sharing another party's 8-byte node id is refused when filed.
    let mut collide = ps[0].key.public().to_bytes();
    collide[31] ^= 1;
    if let Ok(k) = fengxin_crypto::IdentityPublicKey::from_slice(&collide) {
        let z = MemberName::parse("bank-z").expect("name");
        assert!(matches!(
            state.check(&motion(&ps[0], admit(&z, &k))),
            Err(Rejection::InvalidMotion(_))
        ));
    }
}

/// Governance-set steps and attacker-chosen claims at the edges of the integers have a
/// defined outcome: saturation, or a typed rejection, never an overflow.
#[test]
fn arithmetic_on_replicated_state_saturates_or_rejects() {
    let ps = parties(3);
    let mut state = genesis(&ps);
    let extreme = fengxin_ledger::CreditParams {
        quality_confirmed_step: u32::MAX,
        quality_false_positive_step: u32::MAX,
        quality_min: 0,
        quality_start: u32::MAX - 1,
        quality_max: u32::MAX,
        ..fengxin_ledger::CreditParams::default()
    };
    let set = motion(&ps[0], MotionAction::SetParams(extreme));
    state.apply_batch(&batch(&ps[0], vec![set.clone(), vote_on(&ps[1], &set)]));
    assert_eq!(state.params().quality_confirmed_step, u32::MAX);
    state.apply_batch(&batch(
        &ps[0],
        vec![
            publication(&ps[0], 1),
            receipt(&ps[1], &ps[0], 1),
            receipt(&ps[1], &ps[0], 2),
        ],
    ));
    let receipts: Vec<_> = state.receipts().keys().copied().collect();
    for (id, verdict) in receipts
        .iter()
        .zip([Verdict::Confirmed, Verdict::Confirmed])
    {
        let fb = Record::sign(
            ps[1].name.clone(),
            &ps[1].key,
            RecordBody::Feedback(Feedback {
                receipt: *id,
                verdict,
            }),
        );
        let out = state.apply_batch(&batch(&ps[0], vec![fb]));
        assert!(out.rejected.is_empty(), "{:?}", out.rejected);
    }
    assert_eq!(state.quality(&ps[0].name), u32::MAX);
    assert_eq!(state.counters(&ps[0].name).confirmed, 2);
}
