//! Records v2: every record, request, publication and batch is signed for one chain and one
//! place; receipts are the querier's signed request countersigned by the responder, kept once
//! whoever of the two submits them; details, list sizes and attestations are bound to what the
//! ledger already holds. Each test here fails if the check it names were taken out of the
//! ledger.

mod common;

use common::{
    apply, apply_ok, claim, claimed_receipt, committed, countersigned, details_record,
    genesis_members, list, publication_body, publication_of, receipt_record, regulated_genesis,
    regulator, request, signed_block, signed_receipt, size, size_context, size_record, Party,
    CHAIN,
};
use fengxin_confidential::Opening;
use fengxin_ledger::credits::list_size_context;
use fengxin_ledger::{
    AttestationOutcome, Batch, CreditParams, LedgerState, Position, Record, RecordBody, Rejection,
    ReplayError, RootAttestation, MAX_REASON, RECORD_VERSION,
};
use fengxin_signed::{
    Mode, Publication, QueryRequest, Receipt, SignedQueryRequest, MAX_PROOF_BATCH,
    MAX_SNAPSHOT_BATCH,
};
use fengxin_types::{Epoch, ListId};

/// Another chain than [`CHAIN`].
const OTHER_CHAIN: [u8; 32] = [8; 32];

/// The root every publication here has.
const ROOT: [u8; 32] = [3; 32];

fn parties(n: usize) -> Vec<Party> {
    ["bank-a", "bank-b", "bank-c", "bank-d"][..n]
        .iter()
        .zip(1..)
        .map(|(name, seed)| Party::new(name, seed))
        .collect()
}

/// A consortium of `ps` without a regulator (no allowances, no details).
fn genesis(ps: &[Party]) -> LedgerState {
    LedgerState::genesis(CHAIN, genesis_members(ps), Vec::new())
}

/// A consortium of `ps` with the regulator.
fn regulated(ps: &[Party]) -> LedgerState {
    regulated_genesis(ps, CreditParams::default())
}

fn publication(p: &Party, epoch: u64) -> Record {
    common::publication(p, epoch, ROOT)
}

fn epoch(n: u64) -> Epoch {
    Epoch::new(n).expect("epoch")
}

#[test]
fn a_record_for_another_chain_is_refused_on_check_and_replay() {
    let ps = parties(2);
    let mut state = genesis(&ps);
    let body = RecordBody::Publication(publication_body(&ps[0], 1, ROOT));
    let here = ps[0].sign(body.clone());
    let elsewhere = ps[0].sign_for(OTHER_CHAIN, body.clone());
    assert_eq!(state.check(&here), Ok(()));
    assert_eq!(state.check(&elsewhere), Err(Rejection::OtherChain));
    assert_eq!(state.precheck(&elsewhere), Err(Rejection::OtherChain));

    // In a block of this chain, signed by a member: replay refuses the record.
    let block = signed_block(&ps[1], CHAIN, 1, CHAIN, vec![elsewhere.clone()]);
    assert!(matches!(
        genesis(&ps).replay(&block),
        Err(ReplayError::InvalidRecord {
            reason: Rejection::OtherChain,
            ..
        })
    ));
    // In a batch: refused, and no block is made of it.
    let out = apply(&mut state, &ps[1], vec![elsewhere.clone()]);
    assert_eq!(out.rejected, vec![(elsewhere.id(), Rejection::OtherChain)]);
    assert!(out.block.is_none());

    // A record of another version, signed as such.
    let mut old = Record {
        version: 1,
        ..here.clone()
    };
    old.signature = ps[0].key.sign(&old.signing_bytes()).to_vec();
    assert_eq!(state.check(&old), Err(Rejection::UnsupportedVersion(1)));
    assert_eq!(here.version, RECORD_VERSION);
}

#[test]
fn a_publication_for_another_chain_or_version_is_refused() {
    let ps = parties(1);
    let state = genesis(&ps);
    let sign = |p: Publication| ps[0].sign(RecordBody::Publication(p));
    let elsewhere = Publication {
        chain: OTHER_CHAIN,
        ..publication_body(&ps[0], 1, ROOT)
    };
    assert_eq!(state.check(&sign(elsewhere)), Err(Rejection::OtherChain));
    let old = Publication {
        version: 1,
        ..publication_body(&ps[0], 1, ROOT)
    };
    assert_eq!(
        state.check(&sign(old)),
        Err(Rejection::UnsupportedVersion(1))
    );
    assert_eq!(Publication::VERSION, 2);
    assert_eq!(
        state.check(&sign(publication_body(&ps[0], 1, ROOT))),
        Ok(())
    );
}

#[test]
fn a_batch_signed_for_another_position_is_refused_whole() {
    let ps = parties(2);
    let mut state = genesis(&ps);
    apply_ok(&mut state, &ps[0], vec![publication(&ps[0], 1)]);
    let here = state.next_position();
    let elsewhere = [
        Position {
            height: here.height + 1,
            ..here
        },
        Position {
            height: here.height - 1,
            ..here
        },
        Position {
            prev_hash: CHAIN,
            ..here
        },
        Position {
            chain: OTHER_CHAIN,
            ..here
        },
    ];
    for position in elsewhere {
        let records = vec![publication(&ps[1], 1)];
        let b = Batch::sign(position, ps[1].name.clone(), &ps[1].key, 1, 0, records);
        let before = state.clone();
        let out = state.apply_batch(&b);
        assert!(out.batch_error.is_some(), "{position:?}");
        assert!(out.block.is_none() && out.rejected.is_empty(), "{out:?}");
        assert_eq!(state, before, "nothing of it applied");
    }
    // A batch moved to the right position after it was signed.
    let mut moved = Batch::sign(
        elsewhere[0],
        ps[1].name.clone(),
        &ps[1].key,
        1,
        0,
        vec![publication(&ps[1], 1)],
    );
    moved.position = here;
    assert!(state.apply_batch(&moved).batch_error.is_some());
    // The same records, signed for the next position, are applied.
    let block = apply_ok(&mut state, &ps[1], vec![publication(&ps[1], 1)]);
    assert_eq!(block.header.height, here.height);
    assert_eq!(block.header.prev_hash, here.prev_hash);
}

#[test]
fn a_block_whose_header_height_was_changed_fails_replay() {
    let ps = parties(2);
    let mut a = genesis(&ps);
    let a1 = apply_ok(&mut a, &ps[0], vec![publication(&ps[0], 1)]);
    let mut b = genesis(&ps);
    let b1 = apply_ok(&mut b, &ps[1], vec![publication(&ps[1], 1)]);

    // A block at another height than its own.
    let mut higher = a1.clone();
    higher.header.height = 2;
    assert!(matches!(
        genesis(&ps).replay(&higher),
        Err(ReplayError::DoesNotExtend { height: 2, .. })
    ));
    // Block 1 of one history passed off as block 2 of another: it extends the head and its
    // records are valid there, but its proposer signed height 1 after the genesis.
    let mut moved = b1.clone();
    moved.header.height = 2;
    moved.header.prev_hash = a1.hash();
    assert!(matches!(
        a.clone().replay(&moved),
        Err(ReplayError::BadSignature { height: 2 })
    ));
    // Signed for that position, the same records replay.
    let proper = signed_block(&ps[1], CHAIN, 2, a1.hash(), b1.records.clone());
    assert_eq!(a.replay(&proper).expect("replay").height(), 2);
}

#[test]
fn a_receipt_is_kept_once_whichever_party_submits_it() {
    let ps = parties(3);
    let (q, r, third) = (&ps[0], &ps[1], &ps[2]);
    let mut state = genesis(&ps);
    apply_ok(&mut state, third, vec![publication(r, 1)]);
    let receipt = signed_receipt(q, r, [1; 16], 3);
    let id = receipt.id();
    let by_responder = receipt_record(r, receipt.clone());
    let by_querier = receipt_record(q, receipt.clone());
    assert_ne!(
        by_responder.id(),
        by_querier.id(),
        "two records, one request"
    );
    assert_eq!(
        state.check(&receipt_record(third, receipt.clone())),
        Err(Rejection::NotAuthorsRecord {
            author: third.name.clone(),
            subject: r.name.clone(),
        })
    );
    assert_eq!(state.check(&by_querier), Ok(()));

    let fresh = state.clone();
    let balance = state.balance(&q.name);
    apply_ok(&mut state, third, vec![by_responder.clone()]);
    assert_eq!(state.receipt(&id).expect("kept").submitted_by, r.name);
    assert_eq!(state.balance(&q.name), balance - 30);
    // The querier's copy is a replay, and charges nothing; it is settled by the responder's,
    // so it can leave the querier's outbox (the responder's own record is not "another's").
    assert_eq!(state.check(&by_querier), Err(Rejection::Replayed));
    assert!(state.settled_by_another(&by_querier));
    assert!(!state.settled_by_another(&by_responder));
    assert!(
        !fresh.settled_by_another(&by_querier),
        "nothing on the ledger yet"
    );
    let out = apply(&mut state, third, vec![by_querier.clone()]);
    assert_eq!(out.rejected, vec![(by_querier.id(), Rejection::Replayed)]);
    assert_eq!(state.balance(&q.name), balance - 30);
    assert_eq!(state.counters(&q.name).queries_made, 1);

    // The querier may submit first; in one batch, the second copy is the replay.
    let mut other = fresh;
    let out = apply(
        &mut other,
        third,
        vec![by_querier.clone(), by_responder.clone()],
    );
    assert_eq!(out.rejected, vec![(by_responder.id(), Rejection::Replayed)]);
    assert_eq!(other.receipt(&id).expect("kept").submitted_by, q.name);
    assert_eq!(other.balance(&q.name), balance - 30);

    // Nobody queries itself.
    let own = countersigned(r, r, request(r, r, [2; 16], 1, Vec::new()));
    assert!(matches!(
        state.check(&receipt_record(r, own)),
        Err(Rejection::Malformed {
            field: "responder",
            ..
        })
    ));
}

/// `original` signed by the querier `q`, its fields then replaced by `altered`'s under the
/// querier's signature, countersigned and submitted by `r`.
fn tampered(q: &Party, r: &Party, original: QueryRequest, altered: QueryRequest) -> Record {
    let signed = original.sign(&q.key);
    let forged = SignedQueryRequest {
        request: altered,
        querier_signature: signed.querier_signature,
    };
    receipt_record(r, Receipt::countersign(forged, [9; 32], &r.key))
}

#[test]
fn a_request_tampered_after_the_querier_signed_is_refused() {
    let ps = parties(3);
    let (q, r, s) = (&ps[0], &ps[1], &ps[2]);
    let mut state = genesis(&ps);
    let mule = ListId::parse("mule").expect("list");
    apply_ok(
        &mut state,
        q,
        vec![
            publication(r, 1),
            publication(r, 2),
            publication_of(r, mule.clone(), 1, ROOT),
            publication(s, 1),
        ],
    );
    let base = request(q, r, [1; 16], 2, Vec::new());
    assert_eq!(
        state.check(&receipt_record(r, countersigned(q, r, base.clone()))),
        Ok(())
    );
    let alterations = [
        QueryRequest {
            count: 3,
            ..base.clone()
        },
        QueryRequest {
            list: mule,
            ..base.clone()
        },
        QueryRequest {
            epoch: epoch(2),
            ..base.clone()
        },
        QueryRequest {
            mode: Mode::Snapshot,
            ..base.clone()
        },
        QueryRequest {
            nonce: [2; 16],
            ..base.clone()
        },
        QueryRequest {
            blinded_digest: [0; 32],
            ..base.clone()
        },
        QueryRequest {
            allowance: vec![1],
            ..base.clone()
        },
    ];
    for altered in alterations {
        // Each alteration on its own is a request the ledger would take.
        let honest = receipt_record(r, countersigned(q, r, altered.clone()));
        assert_eq!(state.check(&honest), Ok(()), "{altered:?}");
        assert_eq!(
            state.check(&tampered(q, r, base.clone(), altered.clone())),
            Err(Rejection::BadQuerierSignature),
            "{altered:?}"
        );
    }
    // Another responder, who countersigns and submits the request as altered.
    let to_s = QueryRequest {
        responder: s.name.clone(),
        ..base.clone()
    };
    assert_eq!(
        state.check(&tampered(q, s, base.clone(), to_s)),
        Err(Rejection::BadQuerierSignature)
    );
    // A request signed for another chain: refused as it is, and once moved to this chain.
    let elsewhere = QueryRequest {
        chain: OTHER_CHAIN,
        ..base.clone()
    };
    assert_eq!(
        state.check(&receipt_record(r, countersigned(q, r, elsewhere.clone()))),
        Err(Rejection::OtherChain)
    );
    assert_eq!(
        state.check(&tampered(q, r, elsewhere, base.clone())),
        Err(Rejection::BadQuerierSignature)
    );
    // A request of another version.
    let old = QueryRequest {
        version: 1,
        ..base.clone()
    };
    assert_eq!(
        state.check(&receipt_record(r, countersigned(q, r, old))),
        Err(Rejection::UnsupportedVersion(1))
    );
    // The responder's countersignature over another answer.
    let mut answer = countersigned(q, r, base);
    answer.answer_digest = [1; 32];
    assert_eq!(
        state.check(&receipt_record(r, answer)),
        Err(Rejection::BadResponderSignature)
    );
}

#[test]
fn the_count_is_capped_by_the_requests_mode() {
    assert_eq!((MAX_PROOF_BATCH, MAX_SNAPSHOT_BATCH), (1024, 65_535));
    assert_eq!(Mode::Proof.max_count(), MAX_PROOF_BATCH);
    assert_eq!(Mode::Snapshot.max_count(), MAX_SNAPSHOT_BATCH);
    let ps = parties(3);
    let (q, r) = (&ps[0], &ps[1]);
    let mut state = genesis(&ps);
    apply_ok(&mut state, &ps[2], vec![publication(r, 1)]);
    let receipt = |nonce: u8, mode: Mode, count: u32| {
        let req = QueryRequest {
            mode,
            count,
            ..request(q, r, [nonce; 16], 1, Vec::new())
        };
        receipt_record(r, countersigned(q, r, req))
    };
    let proof_cap = MAX_PROOF_BATCH as u32;
    let snapshot_cap = MAX_SNAPSHOT_BATCH as u32;
    let cases = [
        (Mode::Proof, 0, false),
        (Mode::Proof, 1, true),
        (Mode::Proof, proof_cap, true),
        (Mode::Proof, proof_cap + 1, false),
        (Mode::Proof, snapshot_cap, false),
        (Mode::Snapshot, 0, false),
        (Mode::Snapshot, proof_cap + 1, true),
        (Mode::Snapshot, snapshot_cap, true),
        (Mode::Snapshot, snapshot_cap + 1, false),
        (Mode::Snapshot, u32::MAX, false),
    ];
    for (mode, count, ok) in cases {
        let result = state.check(&receipt(1, mode, count));
        if ok {
            assert_eq!(result, Ok(()), "{mode:?} {count}");
        } else {
            assert!(
                matches!(result, Err(Rejection::Malformed { field: "count", .. })),
                "{mode:?} {count}: {result:?}"
            );
        }
    }
    // The largest snapshot request is charged in full, whatever the balance.
    let balance = state.balance(&q.name);
    apply_ok(
        &mut state,
        &ps[2],
        vec![receipt(2, Mode::Snapshot, snapshot_cap)],
    );
    assert_eq!(
        state.counters(&q.name).identifiers_screened,
        u64::from(snapshot_cap)
    );
    assert_eq!(
        state.balance(&q.name),
        balance - 10 * i64::from(snapshot_cap)
    );
    assert!(matches!(
        state.can_pay(&q.name, 1),
        Err(Rejection::InsufficientCredits { .. })
    ));
}

#[test]
fn details_come_from_the_querier_once_for_a_receipt_on_the_ledger() {
    let ps = parties(3);
    let (q, r, third) = (&ps[0], &ps[1], &ps[2]);
    let mut state = regulated(&ps);
    apply_ok(&mut state, third, vec![publication(r, 1)]);
    let base = Opening::public(state.params().base_allowance);
    let receipt = claimed_receipt(q, r, [1; 16], 1, &claim(&state, q, &base, 1, 1));
    let id = receipt.id();
    // Not before the receipt is on the ledger.
    assert_eq!(
        state.check(&details_record(q, id, 1)),
        Err(Rejection::UnknownReceipt(hex::encode(id)))
    );
    apply_ok(&mut state, r, vec![receipt_record(r, receipt)]);
    // Only its querier: not the responder, another member or the regulator.
    for other in [r, third] {
        assert_eq!(
            state.check(&details_record(other, id, 1)),
            Err(Rejection::NotAuthorsRecord {
                author: other.name.clone(),
                subject: q.name.clone(),
            })
        );
    }
    assert_eq!(
        state.check(&details_record(&regulator(), id, 1)),
        Err(Rejection::UnknownAuthor(regulator().name))
    );
    // Once: a second sealing, in the same batch or later, is a replay.
    let details = details_record(q, id, 1);
    let again = details_record(q, id, 2);
    let out = apply(&mut state, third, vec![details.clone(), again.clone()]);
    assert_eq!(out.rejected, vec![(again.id(), Rejection::Replayed)]);
    let RecordBody::Details(d) = &details.body else {
        panic!("details")
    };
    assert_eq!(
        state.receipt(&id).and_then(|s| s.details.as_ref()),
        Some(&d.sealed)
    );
    assert_eq!(state.check(&details), Err(Rejection::Replayed));

    // A consortium without a view key keeps no details.
    let mut plain = genesis(&ps);
    apply_ok(&mut plain, third, vec![publication(r, 1)]);
    let receipt = signed_receipt(q, r, [1; 16], 1);
    let id = receipt.id();
    apply_ok(&mut plain, third, vec![receipt_record(r, receipt)]);
    assert!(matches!(
        plain.check(&details_record(q, id, 1)),
        Err(Rejection::Malformed {
            field: "details",
            ..
        })
    ));
}

#[test]
fn a_list_size_is_bound_to_its_publication() {
    let ps = parties(2);
    let (m, other) = (&ps[0], &ps[1]);
    let mut state = regulated(&ps);
    apply_ok(&mut state, other, vec![publication(m, 1)]);
    let (good, _) = size(m, 1, ROOT, 40, 1);
    assert_eq!(state.check(&good), Ok(()));

    // Without that publication: another member's, or another epoch.
    assert!(matches!(
        state.check(&size(other, 1, ROOT, 40, 2).0),
        Err(Rejection::NotPublished { .. })
    ));
    assert!(matches!(
        state.check(&size(m, 2, ROOT, 40, 3).0),
        Err(Rejection::NotPublished { .. })
    ));
    // Naming another root than the published one, with proofs made for it.
    assert!(matches!(
        state.check(&size(m, 1, [4; 32], 40, 4).0),
        Err(Rejection::BadListSize(_))
    ));
    // Proofs made for another publication (epoch), or another chain.
    let (for_epoch_2, _) = committed(40, &size_context(m, 2, ROOT), 5);
    assert!(matches!(
        state.check(&size_record(m, 1, ROOT, for_epoch_2)),
        Err(Rejection::BadListSize(_))
    ));
    let context = list_size_context(&[8; 32], &m.name, &list(), epoch(1), &ROOT);
    let (for_other_chain, _) = committed(40, &context, 6);
    assert!(matches!(
        state.check(&size_record(m, 1, ROOT, for_other_chain)),
        Err(Rejection::BadListSize(_))
    ));

    let block = apply_ok(&mut state, other, vec![good.clone()]);
    let stored = state.size_record(&m.name, &list()).expect("size");
    assert_eq!((stored.epoch, stored.root), (epoch(1), ROOT));
    assert_eq!(stored.height, block.header.height);
    // One per publication: the same record, or a fresh commitment, is a replay.
    assert_eq!(state.check(&good), Err(Rejection::Replayed));
    assert_eq!(
        state.check(&size(m, 1, ROOT, 41, 7).0),
        Err(Rejection::Replayed)
    );
    // A new publication takes a new size; the older one can no longer be sized.
    apply_ok(&mut state, other, vec![publication(m, 2)]);
    let (next, _) = size(m, 2, ROOT, 50, 8);
    apply_ok(&mut state, other, vec![next]);
    assert_eq!(
        state.size_record(&m.name, &list()).map(|s| s.epoch),
        Some(epoch(2))
    );
    assert_eq!(
        state.check(&size(m, 1, ROOT, 40, 9).0),
        Err(Rejection::Replayed)
    );
    // Only the current publication takes a size: one superseded before it was sized cannot.
    apply_ok(&mut state, other, vec![publication(m, 3)]);
    apply_ok(&mut state, other, vec![publication(m, 4)]);
    assert!(matches!(
        state.check(&size(m, 3, ROOT, 40, 10).0),
        Err(Rejection::StaleEpoch { .. })
    ));
    assert_eq!(state.check(&size(m, 4, ROOT, 40, 11).0), Ok(()));

    // A consortium without a view key takes no sizes.
    let mut plain = genesis(&ps);
    apply_ok(&mut plain, other, vec![publication(m, 1)]);
    assert!(matches!(plain.check(&good), Err(Rejection::BadListSize(_))));
}

#[test]
fn attestations_are_the_regulators_and_match_the_ledger() {
    let ps = parties(3);
    let (m, sizeless, other) = (&ps[0], &ps[1], &ps[2]);
    let reg = regulator();
    let mut state = regulated(&ps);
    let (sm, _) = size(m, 1, ROOT, 40, 1);
    let (so, _) = size(other, 1, ROOT, 7, 2);
    let publications = vec![
        publication(m, 1),
        publication(sizeless, 1),
        publication(other, 1),
    ];
    apply_ok(&mut state, m, [publications, vec![sm, so]].concat());
    let commitment = |p: &Party| {
        let size = state.size_record(&p.name, &list()).expect("size");
        size.size.commitment.to_bytes()
    };
    let sizes = [
        (m.name.clone(), commitment(m)),
        (other.name.clone(), commitment(other)),
    ];
    // `p`'s attestation of its publication at epoch 1, with its size commitment on the ledger.
    let attestation = |p: &Party, outcome, reason: &str| RootAttestation {
        member: p.name.clone(),
        list: list(),
        epoch: Epoch::FIRST,
        root: ROOT,
        size_commitment: sizes
            .iter()
            .find(|(n, _)| *n == p.name)
            .map_or([0; 32], |(_, c)| *c),
        outcome,
        reason: reason.into(),
    };
    let by = |author: &Party, a: RootAttestation| author.sign(RecordBody::Attestation(a));
    let bad = |a: RootAttestation| {
        let result = state.check(&by(&reg, a));
        assert!(
            matches!(result, Err(Rejection::BadAttestation(_))),
            "{result:?}"
        );
    };
    let good = by(&reg, attestation(m, AttestationOutcome::Attested, ""));
    assert_eq!(state.check(&good), Ok(()));
    // A member that publishes and sizes its list again does not escape the attestation of the
    // previous publication.
    let mut moved_on = state.clone();
    let (next, _) = size(m, 2, ROOT, 40, 3);
    apply_ok(&mut moved_on, other, vec![publication(m, 2), next]);
    assert_eq!(moved_on.check(&good), Ok(()));

    // The regulator's alone: a member's attestation, even of its own list, is refused.
    for author in [m, other] {
        assert_eq!(
            state.check(&by(
                author,
                attestation(m, AttestationOutcome::Attested, "")
            )),
            Err(Rejection::UnknownAuthor(author.name.clone()))
        );
    }
    // ...and the regulator writes nothing else.
    assert_eq!(
        state.check(&reg.sign(RecordBody::Publication(publication_body(&reg, 1, ROOT)))),
        Err(Rejection::UnknownAuthor(reg.name.clone()))
    );
    // It matches the ledger: the published root, the size commitment of that publication.
    bad(RootAttestation {
        root: [4; 32],
        ..attestation(m, AttestationOutcome::Attested, "")
    });
    bad(RootAttestation {
        size_commitment: sizes[1].1,
        ..attestation(m, AttestationOutcome::Attested, "")
    });
    bad(RootAttestation {
        size_commitment: sizes[0].1,
        ..attestation(other, AttestationOutcome::Attested, "")
    });
    let no_size = RootAttestation {
        member: sizeless.name.clone(),
        ..attestation(m, AttestationOutcome::Attested, "")
    };
    bad(no_size);
    let unpublished = RootAttestation {
        epoch: epoch(2),
        ..attestation(m, AttestationOutcome::Attested, "")
    };
    assert!(matches!(
        state.check(&by(&reg, unpublished)),
        Err(Rejection::NotPublished { .. })
    ));
    // A refutation gives its reason; no reason is over MAX_REASON bytes.
    bad(attestation(m, AttestationOutcome::Refuted, ""));
    bad(attestation(m, AttestationOutcome::Refuted, "  \n"));
    let long = "x".repeat(MAX_REASON + 1);
    bad(attestation(m, AttestationOutcome::Attested, &long));
    bad(attestation(m, AttestationOutcome::Refuted, &long));
    let at_most = "x".repeat(MAX_REASON);
    let refutation = by(
        &reg,
        attestation(other, AttestationOutcome::Refuted, &at_most),
    );
    assert_eq!(state.check(&refutation), Ok(()));

    let block = apply_ok(&mut state, other, vec![good.clone(), refutation]);
    let stored = state
        .attestation(&m.name, &list(), Epoch::FIRST)
        .expect("attested");
    assert_eq!(stored.regulator, reg.name);
    assert_eq!(stored.height, block.header.height);
    assert_eq!(stored.attestation.outcome, AttestationOutcome::Attested);
    let refuted = state
        .attestation(&other.name, &list(), Epoch::FIRST)
        .expect("refuted");
    assert_eq!(refuted.attestation.outcome, AttestationOutcome::Refuted);
    // Once per publication, whatever the verdict.
    assert_eq!(state.check(&good), Err(Rejection::Replayed));
    let change_of_mind = by(
        &reg,
        attestation(m, AttestationOutcome::Refuted, "on reflection"),
    );
    assert_eq!(state.check(&change_of_mind), Err(Rejection::Replayed));
}
