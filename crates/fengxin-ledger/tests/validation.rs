//! Deterministic validation of every record kind: valid records accepted, each kind of
//! tampering or replay rejected with its reason, and identical batches giving identical chains.

mod common;

use common::{
    apply, batch, feedback, genesis_members, list, motion, plain_receipt, receipt_id,
    receipt_record, signed_block, signed_receipt, vote, Party, CHAIN,
};
use fengxin_crypto::IdentityKey;
use fengxin_ledger::{
    LedgerState, MotionAction, Record, RecordBody, Rejection, ReplayError, Verdict,
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

fn genesis(ps: &[Party]) -> LedgerState {
    LedgerState::genesis(CHAIN, genesis_members(ps), Vec::new())
}

fn publication(p: &Party, epoch: u64) -> Record {
    common::publication(p, epoch, [3; 32])
}

/// The responder's record of `querier` screening one identifier at it.
fn receipt(querier: &Party, responder: &Party, nonce: u8) -> Record {
    plain_receipt(querier, responder, [nonce; 16], 1)
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
    let applied = apply(&mut state, &ps[2], vec![publication(&ps[1], 1)]);
    assert_eq!(applied.rejected, vec![]);
    assert_eq!(state.height(), 1);

    let good = receipt(&ps[0], &ps[1], 1);
    assert_eq!(state.check(&good), Ok(()));

    let RecordBody::Receipt(inner) = good.body.clone() else {
        panic!("receipt")
    };
    // The responder's countersignature over another answer.
    let mut forged = (*inner).clone();
    forged.answer_digest = [8; 32];
    assert_eq!(
        state.check(&receipt_record(&ps[1], forged)),
        Err(Rejection::BadResponderSignature)
    );
    // The querier's signature over another request (the responder countersigning it anew).
    let mut altered = inner.request.request.clone();
    altered.count = 2;
    let forged = fengxin_signed::Receipt::countersign(
        fengxin_signed::SignedQueryRequest {
            request: altered,
            querier_signature: inner.request.querier_signature.clone(),
        },
        inner.answer_digest,
        &ps[1].key,
    );
    assert_eq!(
        state.check(&receipt_record(&ps[1], forged)),
        Err(Rejection::BadQuerierSignature)
    );

    // The submitter's signature broken.
    let mut tampered = good.clone();
    tampered.signature[0] ^= 1;
    assert_eq!(state.check(&tampered), Err(Rejection::BadSignature));

    // A member submitting a receipt it is no party to.
    let stolen = receipt_record(&ps[2], (*inner).clone());
    assert!(matches!(
        state.check(&stolen),
        Err(Rejection::NotAuthorsRecord { .. })
    ));

    // A receipt with a non-member, submitted by the member or by the outsider.
    let outsider = Party::new("bank-x", 99);
    assert_eq!(
        state.check(&receipt(&outsider, &ps[1], 1)),
        Err(Rejection::UnknownAuthor(outsider.name.clone()))
    );
    let by_outsider = receipt_record(&outsider, signed_receipt(&outsider, &ps[1], [1; 16], 1));
    assert_eq!(
        state.check(&by_outsider),
        Err(Rejection::UnknownAuthor(outsider.name.clone()))
    );

    // Accepted once; the same receipt again — in the same batch or later — is a replay.
    let applied = apply(&mut state, &ps[2], vec![good.clone(), good.clone()]);
    let block = applied.block.expect("block");
    assert_eq!(block.records.len(), 1);
    assert_eq!(applied.rejected, vec![(good.id(), Rejection::Replayed)]);
    assert!(block.check(&ps[2].key.public()));
    assert!(!block.check(&ps[1].key.public()));
    let applied = apply(&mut state, &ps[2], vec![good.clone()]);
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
    let id = receipt_id(&good);
    let confirm = |p: &Party| feedback(p, id, Verdict::Confirmed);
    assert!(matches!(
        state.check(&confirm(&ps[1])),
        Err(Rejection::NotAuthorsRecord { .. })
    ));
    apply(&mut state, &ps[0], vec![confirm(&ps[0])]);
    assert_eq!(state.counters(&ps[1].name).confirmed, 1);
    assert_eq!(state.check(&confirm(&ps[0])), Err(Rejection::FeedbackGiven));
}

#[test]
fn publications_move_forward_only_and_speak_for_their_author() {
    let ps = parties(2);
    let mut state = genesis(&ps);
    apply(&mut state, &ps[0], vec![publication(&ps[0], 2)]);
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
    let forged = ps[1].sign(RecordBody::Publication(p));
    assert!(matches!(
        state.check(&forged),
        Err(Rejection::NotAuthorsRecord { .. })
    ));
    // A root that is not a field element.
    let RecordBody::Publication(mut p) = publication(&ps[0], 3).body else {
        panic!("publication")
    };
    p.root = [0xff; 32];
    let bad = ps[0].sign(RecordBody::Publication(p));
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
    let admit = motion(
        &ps[0],
        MotionAction::Admit {
            name: name.clone(),
            identity_key: newcomer.public().to_bytes(),
            address: "127.0.0.1:9".into(),
        },
    );
    let vote = |p: &Party, approve: bool| vote(p, &admit, approve);
    apply(&mut state, &ps[0], vec![admit.clone()]);
    assert_eq!(state.check(&admit), Err(Rejection::Replayed));
    assert!(matches!(
        state.check(&vote(&ps[0], true)),
        Err(Rejection::AlreadyVoted(_))
    ));
    // 2 of 4 in favour is not enough.
    apply(&mut state, &ps[0], vec![vote(&ps[1], true)]);
    assert!(!state.members().contains_key(&name));
    assert!(matches!(
        state.check(&vote(&ps[1], false)),
        Err(Rejection::AlreadyVoted(_))
    ));
    // 3 of 4 carries it.
    apply(&mut state, &ps[0], vec![vote(&ps[2], true)]);
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
    let removal = motion(
        &ps[1],
        MotionAction::Remove {
            name: ps[3].name.clone(),
        },
    );
    let rvote = |p: &Party| common::vote(p, &removal, true);
    let votes = vec![removal.clone(), rvote(&ps[0]), rvote(&ps[2])];
    apply(&mut state, &ps[0], votes);
    assert!(
        state.members().contains_key(&ps[3].name),
        "3 of 5 is not 2/3"
    );
    let newcomer = Party {
        name: name.clone(),
        key: newcomer,
    };
    apply(&mut state, &ps[0], vec![rvote(&newcomer)]);
    assert!(!state.members().contains_key(&ps[3].name));
    // The removed member can no longer write or propose.
    assert!(matches!(
        state.check(&publication(&ps[3], 1)),
        Err(Rejection::UnknownAuthor(_))
    ));
    let refused = apply(&mut state, &ps[3], vec![publication(&ps[0], 1)]);
    assert!(refused.batch_error.is_some());
}

#[test]
fn a_forged_batch_is_refused_and_chains_are_deterministic() {
    let ps = parties(3);
    let mut a = genesis(&ps);
    let mut b = genesis(&ps);
    let mut forged = batch(&a, &ps[0], vec![publication(&ps[0], 1)]);
    forged.proposer = ps[1].name.clone();
    let out = a.apply_batch(&forged);
    assert!(out.batch_error.is_some() && out.block.is_none());
    assert_eq!(a.height(), 0);

    let proposals = vec![
        (0, vec![publication(&ps[0], 1), publication(&ps[1], 1)]),
        (
            1,
            vec![receipt(&ps[2], &ps[0], 1), receipt(&ps[2], &ps[1], 2)],
        ),
        (2, vec![receipt(&ps[0], &ps[1], 3)]),
    ];
    let mut blocks = Vec::new();
    for (proposer, records) in proposals {
        let batch = batch(&a, &ps[proposer], records);
        let x = a.apply_batch(&batch).block.expect("block");
        let y = b.apply_batch(&batch).block.expect("block");
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
    let first = apply(&mut a, &ps[0], vec![publication(&ps[0], 1)])
        .block
        .expect("block");
    let second = apply(&mut a, &ps[1], vec![receipt(&ps[2], &ps[0], 1)])
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

fn vote_on(p: &Party, motion: &Record) -> Record {
    vote(p, motion, true)
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
    apply(
        &mut state,
        &ps[0],
        vec![first.clone(), same_name.clone(), same_key.clone()],
    );
    assert_eq!(state.motions().len(), 3);
    // The first carries (3 of 4).
    apply(
        &mut state,
        &ps[0],
        vec![vote_on(&ps[1], &first), vote_on(&ps[2], &first)],
    );
    assert_eq!(state.members()[&x].identity_key, k1.to_bytes());
    // The others gather their majorities (4 of 5 now) and are closed without effect.
    for (m, others) in [(&same_name, [0usize, 2, 3]), (&same_key, [0, 1, 3])] {
        let votes = others.iter().map(|&i| vote_on(&ps[i], m)).collect();
        apply(&mut state, &ps[0], votes);
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
    apply(&mut state, &ps[0], vec![set.clone(), vote_on(&ps[1], &set)]);
    assert_eq!(state.params().quality_confirmed_step, u32::MAX);
    apply(
        &mut state,
        &ps[0],
        vec![
            publication(&ps[0], 1),
            receipt(&ps[1], &ps[0], 1),
            receipt(&ps[1], &ps[0], 2),
        ],
    );
    let receipts: Vec<_> = state.receipts().keys().copied().collect();
    for (id, verdict) in receipts
        .iter()
        .zip([Verdict::Confirmed, Verdict::Confirmed])
    {
        let out = apply(&mut state, &ps[0], vec![feedback(&ps[1], *id, verdict)]);
        assert!(out.rejected.is_empty(), "{:?}", out.rejected);
    }
    assert_eq!(state.quality(&ps[0].name), u32::MAX);
    assert_eq!(state.counters(&ps[0].name).confirmed, 2);
}
