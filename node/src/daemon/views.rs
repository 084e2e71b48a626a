//! What the local API shows of the ledger: blocks, receipts, motions and status, as the
//! contract's views ([`fengxin_api`]).

use fengxin_types::MemberName;

/// A block as the API shows it.
pub(super) fn block_view(b: &fengxin_ledger::Block) -> fengxin_api::BlockView {
    use fengxin_ledger::RecordBody;
    let records = b
        .records
        .iter()
        .map(|r| {
            let summary = match &r.body {
                RecordBody::Publication(p) => serde_json::json!({
                    "list": p.list.as_str(),
                    "epoch": p.epoch.get(),
                    "root": hex::encode(p.root),
                    "oprf_public_key": hex::encode(p.oprf_public_key),
                }),
                RecordBody::Receipt(q) => {
                    let r = &q.request.request;
                    serde_json::json!({
                        "receipt": hex::encode(q.id()),
                        "querier": r.querier.as_str(),
                        "responder": r.responder.as_str(),
                        "list": r.list.as_str(),
                        "epoch": r.epoch.get(),
                        "mode": r.mode.code(),
                        "count": r.count,
                        "allowance_epoch": fengxin_ledger::AllowanceClaim::from_bytes(&r.allowance)
                            .ok()
                            .map(|c| c.epoch),
                        "answer_digest": hex::encode(q.answer_digest),
                    })
                }
                RecordBody::Details(d) => serde_json::json!({
                    "receipt": hex::encode(d.receipt),
                    "sealed_details_bytes": d.sealed.ciphertext.len(),
                }),
                RecordBody::ListSize(ls) => serde_json::json!({
                    "list": ls.list.as_str(),
                    "epoch": ls.epoch.get(),
                    "root": hex::encode(ls.root),
                    "commitment": ls.size.commitment.to_hex(),
                }),
                RecordBody::Attestation(a) => serde_json::json!({
                    "member": a.member.as_str(),
                    "list": a.list.as_str(),
                    "epoch": a.epoch.get(),
                    "root": hex::encode(a.root),
                    "size_commitment": hex::encode(a.size_commitment),
                    "outcome": match a.outcome {
                        fengxin_ledger::AttestationOutcome::Attested => "attested",
                        fengxin_ledger::AttestationOutcome::Refuted => "refuted",
                    },
                    "reason": a.reason,
                }),
                RecordBody::Settlement(st) => serde_json::json!({ "epoch": st.epoch }),
                RecordBody::Feedback(f) => serde_json::json!({
                    "receipt": hex::encode(f.receipt),
                    "verdict": fengxin_api::Feedback::from(f.verdict).as_str(),
                }),
                RecordBody::Motion(m) => serde_json::json!({
                    "action": format!("{:?}", m.action),
                    "note": m.note,
                }),
                RecordBody::Vote(v) => serde_json::json!({
                    "motion": hex::encode(v.motion),
                    "approve": v.approve,
                }),
                RecordBody::SnapshotFault(f) => serde_json::json!({
                    "member": f.member.as_str(),
                    "list": f.list.as_str(),
                    "epoch": f.epoch.get(),
                    "fault": f.evidence.kind(),
                    "chunk": f.evidence.chunk(),
                }),
                _ => serde_json::Value::Null,
            };
            fengxin_api::RecordView {
                id: fengxin_api::RecordId(r.id()),
                kind: r.kind().into(),
                author: r.author.clone(),
                summary,
            }
        })
        .collect();
    fengxin_api::BlockView {
        height: b.header.height,
        hash: fengxin_api::BlockHash(b.hash()),
        prev_hash: fengxin_api::BlockHash(b.header.prev_hash),
        proposer: b.header.proposer.clone(),
        term: b.header.term,
        proposed_at_ms: b.header.proposed_at_ms,
        proposed: b.proposed.len(),
        records,
    }
}

/// The receipts `member` is party to.
pub(super) fn receipts_view(
    ledger: &fengxin_consensus::Ledger,
    member: &MemberName,
) -> Result<fengxin_api::ReceiptsView, fengxin_consensus::LedgerError> {
    ledger.read(|s| {
        let mut receipts: Vec<fengxin_api::ReceiptView> = s
            .receipts()
            .iter()
            .filter(|(_, r)| {
                let q = &r.receipt.request.request;
                q.querier == *member || q.responder == *member
            })
            .map(|(id, r)| fengxin_api::ReceiptView {
                id: fengxin_api::RecordId(*id),
                height: r.height,
                querier: r.receipt.request.request.querier.clone(),
                responder: r.receipt.request.request.responder.clone(),
                list: r.receipt.request.request.list.clone(),
                epoch: r.receipt.request.request.epoch,
                count: r.receipt.request.request.count,
                feedback: r.feedback.map(fengxin_api::Feedback::from),
            })
            .collect();
        receipts.sort_by(|a, b| a.height.cmp(&b.height).then(a.id.cmp(&b.id)));
        fengxin_api::ReceiptsView {
            member: member.clone(),
            height: s.height(),
            receipts,
        }
    })
}

/// The ledger's motions.
pub(super) fn motions_view(state: &fengxin_ledger::LedgerState) -> Vec<fengxin_api::MotionView> {
    state
        .motions()
        .iter()
        .map(|(id, m)| fengxin_api::MotionView {
            id: fengxin_api::RecordId(*id),
            proposer: m.proposer.clone(),
            action: m.motion.action.clone(),
            note: m.motion.note.clone(),
            approve: m.approve.iter().cloned().collect(),
            reject: m.reject.iter().cloned().collect(),
            status: match m.decided {
                None => fengxin_api::MotionStatus::Open,
                Some(true) => fengxin_api::MotionStatus::Carried,
                Some(false) => fengxin_api::MotionStatus::Failed,
            },
            void: m.void.clone(),
        })
        .collect()
}

/// The ledger's status as the API shows it.
pub(super) fn status_view(
    s: fengxin_consensus::LedgerStatus,
) -> Result<fengxin_api::LedgerStatus, String> {
    use fengxin_api::LedgerRole;
    let name = |n: &str| MemberName::parse(n).map_err(|e| format!("ledger node {n:?}: {e}"));
    let names = |v: &[String]| v.iter().map(|n| name(n)).collect::<Result<Vec<_>, _>>();
    Ok(fengxin_api::LedgerStatus {
        node: name(&s.node)?,
        height: s.height,
        block_hash: fengxin_api::BlockHash::from_hex(&s.block_hash).map_err(|e| e.to_string())?,
        chain_id: fengxin_api::ChainId::from_hex(&s.chain_id).map_err(|e| e.to_string())?,
        role: match s.role.as_str() {
            "leader" => LedgerRole::Leader,
            "candidate" => LedgerRole::Candidate,
            "follower" => LedgerRole::Follower,
            "learner" => LedgerRole::Learner,
            _ => LedgerRole::Stopped,
        },
        leader: s.leader.as_deref().map(name).transpose()?,
        term: s.term,
        validators: names(&s.validators)?,
        learners: names(&s.learners)?,
        outbox: s.outbox,
    })
}

/// The ledger's view of `root` as (list, epoch)'s publication: by whom, and attested or not.
pub(super) fn root_view(
    state: &fengxin_ledger::LedgerState,
    list: &fengxin_types::ListId,
    epoch: fengxin_types::Epoch,
    root: fengxin_api::ListRoot,
) -> fengxin_api::RootView {
    use fengxin_api::RootPublication;
    use fengxin_ledger::AttestationOutcome;
    let published_by = state
        .publications_with_root(list, epoch, root.as_bytes())
        .into_iter()
        .map(|(member, p)| {
            let attestation = state.attestation(member, list, epoch);
            let status = crate::attest::root_status(state, member, list, epoch);
            RootPublication {
                member: member.clone(),
                height: p.height,
                current: state
                    .current_publication(member, list)
                    .is_some_and(|c| c.publication.epoch == epoch),
                status,
                regulator: attestation.map(|a| a.regulator.clone()),
                reason: attestation
                    .filter(|a| a.outcome() == AttestationOutcome::Refuted)
                    .map(|a| a.attestation.reason.clone()),
            }
        })
        .collect();
    fengxin_api::RootView {
        list: list.clone(),
        epoch,
        root,
        published_by,
    }
}
