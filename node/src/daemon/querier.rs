//! The querier side: screening identifiers against the other members, in parallel, one
//! exchange per (member, list) and chunk, each answer verified against the ledger's
//! publication; allowance claims, retries of network failures, connection slots, and the
//! receipt copy each exchange leaves in the outbox.

use super::state::Node;
use crate::genesis::Party;
use fengxin_api::{
    ApiError, BatchScreenReport, BatchScreenResult, ErrorKind, HitLabel, RootStatus, ScreenError,
    ScreenErrorKind, ScreenReport, ScreenResult, Verdict,
};
use fengxin_ledger::{Record, RecordBody};
use fengxin_net::PeerConnection;
use fengxin_protocol::{Publication, QueryError, Request, Response};
use fengxin_types::{CanonicalId, IdType, ListId, MemberName};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Identifiers per exchange when screening a batch: the responder proves each answer (about
/// 0.2-0.5 s apiece on two cores), so a chunk must finish well inside the exchange timeout.
pub const SCREEN_CHUNK: usize = 32;

/// Attempts for the idempotent steps (connect, fetching publications, a whole exchange after a
/// network failure).
pub(super) const ATTEMPTS: u32 = 3;

/// Screens identifiers against every other member (or `members`), in parallel; one exchange
/// per (member, list) and chunk of [`SCREEN_CHUNK`] identifiers.
pub(super) async fn screen_many(
    node: &Arc<Node>,
    id_type: IdType,
    raws: &[String],
    list: Option<ListId>,
    members: Option<Vec<MemberName>>,
    case_reference: Option<String>,
) -> Result<Vec<MemberOutcome>, ApiError> {
    let usage = |m: String| ApiError::new(ErrorKind::Usage, m);
    // Raw identifiers are never logged or stored; only their canonical forms are used, in memory.
    let ids = raws
        .iter()
        .enumerate()
        .map(|(i, raw)| {
            CanonicalId::parse(id_type, raw, fengxin_types::CivilDate::today_china())
                .map_err(|e| usage(format!("identifier {}: {e}", i + 1)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if ids.is_empty() {
        return Err(usage("no identifiers".into()));
    }
    let targets: Vec<Party> = node
        .parties()
        .into_iter()
        .filter(|p| p.name != node.member)
        .filter(|p| members.as_ref().is_none_or(|m| m.contains(&p.name)))
        .collect();
    if targets.is_empty() {
        return Err(usage("no member to screen against".into()));
    }
    // The whole request must fit the allowance: one identifier per (member, list) exchange.
    let exchanges: usize = node
        .ledger
        .read(|s| {
            s.current_publications()
                .into_iter()
                .filter(|p| targets.iter().any(|t| t.name == p.publication.member))
                .filter(|p| list.as_ref().is_none_or(|l| *l == p.publication.list))
                .count()
        })
        .unwrap_or(0);
    if let Some(remaining) = remaining_allowance(node) {
        let needed = (ids.len() * exchanges) as u64;
        if needed > remaining {
            return Err(ApiError::new(
                ErrorKind::OverAllowance,
                format!(
                    "over allowance: {needed} identifier checks ({} identifiers x {exchanges} \
                     lists), {remaining} left of this epoch's allowance",
                    ids.len()
                ),
            ));
        }
    }
    let ids = Arc::new(ids);
    let tasks: Vec<_> = targets
        .into_iter()
        .map(|party| {
            let node = node.clone();
            let ids = ids.clone();
            let list = list.clone();
            let case = case_reference.clone();
            tokio::spawn(async move {
                screen_member(&node, &party, &ids, list.as_ref(), case.as_deref()).await
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for t in tasks {
        match t.await {
            Ok(o) => outcomes.extend(o),
            Err(e) => tracing::warn!("screening task failed: {e}"),
        }
    }
    Ok(outcomes)
}

pub(super) fn screen_error(e: StepError) -> ScreenError {
    ScreenError {
        kind: e.kind,
        reason: e.reason.map(str::to_owned),
        message: e.message,
    }
}

/// Screens one identifier (`fengxin screen`).
pub async fn screen(
    node: &Arc<Node>,
    id_type: IdType,
    raw: &str,
    list: Option<ListId>,
    members: Option<Vec<MemberName>>,
    case_reference: Option<String>,
) -> Result<ScreenReport, ApiError> {
    let outcomes = screen_many(
        node,
        id_type,
        &[raw.to_owned()],
        list,
        members,
        case_reference,
    )
    .await?;
    let results = outcomes
        .into_iter()
        .map(|o| {
            let (result, error) = match o.outcome {
                Ok(hits) => (hits.first().map(|h| Verdict::from_hit(*h)), None),
                Err(e) => (None, Some(screen_error(e))),
            };
            ScreenResult {
                member: o.member,
                list: o.list,
                verified: result.is_some(),
                mode: o.mode,
                label: o.labels.into_iter().next().flatten(),
                result,
                root_status: o.root_status,
                error,
                latency_ms: o.latency_ms,
            }
        })
        .collect();
    Ok(ScreenReport {
        identifier_type: id_type,
        results,
        development: node.development,
    })
}

/// Screens a batch of identifiers: per (member, list), the positions that hit.
pub async fn screen_batch(
    node: &Arc<Node>,
    id_type: IdType,
    raws: &[String],
    list: Option<ListId>,
    members: Option<Vec<MemberName>>,
    case_reference: Option<String>,
) -> Result<BatchScreenReport, ApiError> {
    let outcomes = screen_many(node, id_type, raws, list, members, case_reference).await?;
    let results = outcomes
        .into_iter()
        .map(|o| {
            let (hits, verified, error): (Vec<usize>, _, _) = match o.outcome {
                Ok(hits) => (
                    hits.iter()
                        .enumerate()
                        .filter(|(_, h)| **h)
                        .map(|(i, _)| i)
                        .collect(),
                    true,
                    None,
                ),
                Err(e) => (Vec::new(), false, Some(screen_error(e))),
            };
            let labels = if o.labels.is_empty() {
                Vec::new()
            } else {
                hits.iter()
                    .map(|&i| {
                        o.labels.get(i).cloned().flatten().unwrap_or(HitLabel {
                            reason: String::new(),
                            added_on: None,
                        })
                    })
                    .collect()
            };
            BatchScreenResult {
                member: o.member,
                list: o.list,
                hits,
                verified,
                mode: o.mode,
                labels,
                root_status: o.root_status,
                error,
                latency_ms: o.latency_ms,
            }
        })
        .collect();
    Ok(BatchScreenReport {
        identifier_type: id_type,
        count: raws.len(),
        results,
        development: node.development,
    })
}

/// One (member, list) outcome of a screening.
pub(super) struct MemberOutcome {
    member: MemberName,
    list: Option<ListId>,
    outcome: Result<Vec<bool>, StepError>,
    /// In snapshot mode, per identifier, the label of its hit.
    labels: Vec<Option<fengxin_api::HitLabel>>,
    mode: Option<fengxin_api::ScreenMode>,
    root_status: Option<RootStatus>,
    latency_ms: f64,
}

pub(super) fn failed(
    member: &MemberName,
    list: Option<&ListId>,
    kind: ScreenErrorKind,
    message: String,
    started: Instant,
) -> MemberOutcome {
    MemberOutcome {
        member: member.clone(),
        list: list.cloned(),
        outcome: Err(StepError::new(kind, message, false)),
        labels: Vec::new(),
        mode: None,
        root_status: None,
        latency_ms: started.elapsed().as_secs_f64() * 1e3,
    }
}

/// A failed step of a screening exchange: the stable kind reported to the user, a stable
/// reason code within that kind, and whether retrying can help (only network failures are
/// retried).
pub(super) struct StepError {
    kind: ScreenErrorKind,
    reason: Option<&'static str>,
    message: String,
    retry: bool,
}

impl StepError {
    /// What went wrong, for the log.
    pub(super) fn message(&self) -> &str {
        &self.message
    }

    fn new(kind: ScreenErrorKind, message: impl Into<String>, retry: bool) -> Self {
        Self {
            kind,
            reason: None,
            message: message.into(),
            retry,
        }
    }

    /// The peer's fault, with a stable reason.
    pub(super) fn misbehaved(message: impl Into<String>, reason: &'static str) -> Self {
        Self::new(ScreenErrorKind::PeerMisbehaved, message, false).because(reason)
    }

    /// Whether the peer is at fault.
    pub(super) fn is_misbehaviour(&self) -> bool {
        self.kind == ScreenErrorKind::PeerMisbehaved
    }

    /// The peer refused.
    pub(super) fn refused(r: fengxin_protocol::Refusal) -> Self {
        QueryError::Refused(r).into()
    }

    /// This node's own failure.
    pub(super) fn local(message: impl Into<String>) -> Self {
        Self::new(ScreenErrorKind::Local, message, false)
    }

    fn because(mut self, reason: &'static str) -> Self {
        self.reason = Some(reason);
        self
    }
}

impl From<QueryError> for StepError {
    fn from(e: QueryError) -> Self {
        match e {
            QueryError::Misbehaved(m) => {
                Self::new(ScreenErrorKind::PeerMisbehaved, m.to_string(), false).because(m.code())
            }
            QueryError::Refused(r) => {
                Self::new(ScreenErrorKind::Refused, r.message.clone(), false).because(r.kind.code())
            }
            other => Self::new(
                ScreenErrorKind::InvalidPublication,
                other.to_string(),
                false,
            ),
        }
    }
}

impl From<fengxin_net::ConnectError> for StepError {
    fn from(e: fengxin_net::ConnectError) -> Self {
        use fengxin_net::ConnectError as E;
        let message = e.to_string();
        match e {
            E::Admission(_) => {
                Self::new(ScreenErrorKind::PeerMisbehaved, message, false).because("identity")
            }
            E::Timeout => {
                Self::new(ScreenErrorKind::PeerUnreachable, message, true).because("timeout")
            }
            E::Handshake(_) => {
                Self::new(ScreenErrorKind::PeerUnreachable, message, true).because("handshake")
            }
            E::Endpoint(_) => Self::new(ScreenErrorKind::Local, message, false),
            _ => Self::new(ScreenErrorKind::PeerUnreachable, message, true),
        }
    }
}

impl From<fengxin_net::ExchangeError> for StepError {
    fn from(e: fengxin_net::ExchangeError) -> Self {
        use fengxin_net::ExchangeError as E;
        let message = e.to_string();
        match e {
            // The peer refused our frame: a limit or version mismatch, or it would not answer.
            // Not a protocol violation by the peer, and not worth repeating.
            E::Rejected(_) => {
                Self::new(ScreenErrorKind::Refused, message, false).because("frame_rejected")
            }
            E::FrameTooLarge { .. } | E::UnsupportedVersion(_) | E::Malformed(_) => {
                Self::new(ScreenErrorKind::PeerMisbehaved, message, false).because("bad_frame")
            }
            E::Timeout => {
                Self::new(ScreenErrorKind::PeerUnreachable, message, true).because("timeout")
            }
            E::Closed | E::ConnectionLost(_) => {
                Self::new(ScreenErrorKind::PeerUnreachable, message, true)
                    .because("connection_lost")
            }
            E::OutgoingTooLarge { .. } | E::Encode(_) | E::Io(_) => {
                Self::new(ScreenErrorKind::Local, message, false)
            }
            _ => Self::new(ScreenErrorKind::PeerUnreachable, message, true),
        }
    }
}

/// The cached connection to one peer. Dialling holds only this peer's slot, so an unreachable
/// member never delays the exchanges with the others.
pub(super) type ConnectionSlot = Arc<tokio::sync::Mutex<Option<PeerConnection>>>;

pub(super) async fn slot(node: &Node, party: &Party) -> ConnectionSlot {
    node.connections
        .lock()
        .await
        .entry(party.name.clone())
        .or_default()
        .clone()
}

pub(super) async fn connection(node: &Node, party: &Party) -> Result<PeerConnection, StepError> {
    let slot = slot(node, party).await;
    let mut cached = slot.lock().await;
    if let Some(c) = cached.as_ref() {
        return Ok(c.clone());
    }
    let c = node.endpoint.connect(party.address, &party.name).await?;
    *cached = Some(c.clone());
    Ok(c)
}

/// One request/response exchange. A failed exchange drops the cached connection; the peer's
/// fault (bad frames, wrong identity) is misbehaviour, the network's is retryable.
pub(super) async fn exchange(
    node: &Node,
    party: &Party,
    request: &Request,
) -> Result<Response, StepError> {
    let conn = connection(node, party).await?;
    match conn.request::<Request, Response>(request).await {
        Ok(r) => Ok(r),
        Err(e) => {
            *slot(node, party).await.lock().await = None;
            Err(e.into())
        }
    }
}

/// Runs `step` up to [`ATTEMPTS`] times with exponential backoff while it fails retryably.
pub(super) async fn with_retries<T, F, Fut>(mut step: F) -> Result<T, StepError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, StepError>>,
{
    let mut delay = Duration::from_millis(100);
    let mut attempt = 1;
    loop {
        match step().await {
            Err(e) if e.retry && attempt < ATTEMPTS => {
                tokio::time::sleep(delay).await;
                delay *= 2;
                attempt += 1;
            }
            other => return other,
        }
    }
}

pub(super) async fn screen_member(
    node: &Node,
    party: &Party,
    ids: &[CanonicalId],
    only: Option<&ListId>,
    case_reference: Option<&str>,
) -> Vec<MemberOutcome> {
    let started = Instant::now();
    // The roots and keys come from the ledger: what the member committed to, signed by it and
    // validated by every node.
    let verified: Vec<Publication> = node
        .ledger
        .read(|s| {
            s.current_publications()
                .into_iter()
                .filter(|p| p.publication.member == party.name)
                .map(|p| p.publication.clone())
                .collect()
        })
        .unwrap_or_default();
    let mut out = Vec::new();
    for p in verified
        .iter()
        .filter(|p| only.is_none_or(|l| &p.list == l))
    {
        let started = Instant::now();
        let mut hits = Vec::with_capacity(ids.len());
        // A refuted root's answers are misbehaviour whatever they say: nothing is asked (and
        // no allowance spent) for it.
        let mut outcome = match root_judgment(node, &party.name, p).1 {
            Some(e) => Err(e),
            None => Ok(()),
        };
        // A held, verified snapshot of this publication: screened in snapshot mode.
        let held = super::snapshots::held(node, &party.name, &p.list, p.epoch, &p.root);
        let mode = if held.is_some() {
            fengxin_api::ScreenMode::Snapshot
        } else {
            fengxin_api::ScreenMode::Proof
        };
        let mut labels = Vec::new();
        let size = match held {
            Some(_) => fengxin_protocol::MAX_SNAPSHOT_BATCH,
            None => SCREEN_CHUNK,
        };
        for chunk in ids.chunks(size) {
            if outcome.is_err() {
                break;
            }
            // Every attempt signs a fresh claim: an attempt the responder evaluated is a
            // receipt it submits, and spending one claim twice would be an equivocation.
            let result = match &held {
                Some(h) => {
                    let attempt = || {
                        super::snapshots::query_snapshot(node, party, p, h, chunk, case_reference)
                    };
                    with_retries(attempt).await.map(|(hits, found, records)| {
                        labels.extend(found);
                        (hits, records)
                    })
                }
                None => {
                    let attempt = || query_batch(node, party, p, chunk, case_reference);
                    with_retries(attempt).await
                }
            };
            match result {
                Ok((h, records)) => {
                    hits.extend(h);
                    // The responder submits the receipt; the querier submits it too (the
                    // ledger keeps one per request id) with its details sealed to the
                    // regulator, into the durable outbox before the answer is reported.
                    let ledger = node.ledger.clone();
                    let submitted =
                        tokio::task::spawn_blocking(move || submit_receipt_copy(&ledger, records))
                            .await
                            .map_err(|e| e.to_string())
                            .and_then(|r| r.map_err(|e| e.to_string()));
                    if let Err(e) = submitted {
                        tracing::warn!("receipt for {} not submitted: {e}", party.name);
                    }
                }
                Err(e) => {
                    outcome = Err(e);
                    break;
                }
            }
        }
        // The root may have been refuted while the exchange ran.
        let (root_status, refuted) = root_judgment(node, &party.name, p);
        if let (Ok(()), Some(e)) = (&outcome, refuted) {
            outcome = Err(e);
        }
        out.push(MemberOutcome {
            member: party.name.clone(),
            list: Some(p.list.clone()),
            outcome: outcome.map(|()| hits),
            labels,
            mode: Some(mode),
            root_status: Some(root_status),
            latency_ms: started.elapsed().as_secs_f64() * 1e3,
        });
    }
    if out.is_empty() {
        let what = only.map_or("no published lists".to_owned(), |l| {
            format!("does not publish {l}")
        });
        out.push(failed(
            &party.name,
            only,
            ScreenErrorKind::NoList,
            what,
            started,
        ));
    }
    out
}

/// The status of `p`'s root on the ledger, and the misbehaviour of answering against it if
/// the regulator refuted it.
fn root_judgment(
    node: &Node,
    member: &MemberName,
    p: &Publication,
) -> (RootStatus, Option<StepError>) {
    let read = node.ledger.read(|s| {
        let status = crate::attest::root_status(s, member, &p.list, p.epoch);
        let refuted = s
            .attestation(member, &p.list, p.epoch)
            .filter(|_| status == RootStatus::Refuted)
            .map(|a| (a.regulator.clone(), a.attestation.reason.clone()));
        (status, refuted)
    });
    let Ok((status, refuted)) = read else {
        return (RootStatus::Pending, None);
    };
    let refuted = refuted.map(|(regulator, reason)| {
        StepError::new(
            ScreenErrorKind::PeerMisbehaved,
            format!(
                "{member}'s {} root of epoch {} was refuted by {regulator}: {reason}",
                p.list, p.epoch
            ),
            false,
        )
        .because("refuted_root")
    });
    (status, refuted)
}

/// What is left of this epoch's allowance (`None` when the consortium keeps no allowances or
/// the openings are missing).
pub(super) fn remaining_allowance(node: &Node) -> Option<u64> {
    let openings = node.openings.lock().ok()?.clone();
    let local = node.claimed.lock().ok()?.clone();
    node.ledger
        .read(|s| {
            s.view_key()?;
            let epoch = s.current_epoch();
            let allowance = openings.allowance_value(s, &node.member)?;
            let used = s
                .claimed(&node.member, epoch)
                .max(local.get(&epoch).copied().unwrap_or(0));
            Some(allowance.saturating_sub(used))
        })
        .ok()
        .flatten()
}

/// The allowance claim for `count` more identifiers (none when the consortium keeps no
/// allowances). Over allowance is a typed error and nothing is sent.
pub(super) fn allowance_claim(
    node: &Node,
    count: usize,
) -> Result<Option<fengxin_ledger::AllowanceClaim>, StepError> {
    let count = u32::try_from(count).unwrap_or(u32::MAX);
    let openings = node
        .openings
        .lock()
        .map_err(|_| StepError::new(ScreenErrorKind::Internal, "openings lock poisoned", false))?
        .clone();
    let mut claimed = node
        .claimed
        .lock()
        .map_err(|_| StepError::new(ScreenErrorKind::Internal, "claims lock poisoned", false))?;
    let result = node
        .ledger
        .read(|s| {
            if s.view_key().is_none() {
                return Ok(None);
            }
            let local = claimed.get(&s.current_epoch()).copied().unwrap_or(0);
            crate::credits::claim(&openings, s, &node.member, count, local).map(Some)
        })
        .map_err(|e| StepError::new(ScreenErrorKind::Ledger, e.to_string(), false))?;
    match result {
        Ok(Some(c)) => {
            // On disk before the claim goes out: a restarted node must not claim it again.
            node.spent
                .record_own_claim(c.epoch, c.used_after)
                .map_err(|e| {
                    StepError::new(
                        ScreenErrorKind::Internal,
                        format!("the claim could not be recorded: {e}"),
                        false,
                    )
                })?;
            claimed.insert(c.epoch, c.used_after);
            Ok(Some(c))
        }
        Ok(None) => Ok(None),
        Err(why) => Err(StepError::new(ScreenErrorKind::OverAllowance, why, false)),
    }
}

/// Submits the querier's copy of a receipt with its sealed details. The responder submits the
/// receipt too; if its copy is already on the ledger, the details go alone.
pub(super) fn submit_receipt_copy(
    ledger: &fengxin_consensus::Ledger,
    mut records: Vec<Record>,
) -> Result<Vec<[u8; 32]>, fengxin_consensus::LedgerError> {
    match ledger.submit(records.clone()) {
        Err(fengxin_consensus::LedgerError::Rejected {
            index: 0,
            reason: fengxin_ledger::Rejection::Replayed,
        }) => {
            records.remove(0);
            if records.is_empty() {
                Ok(Vec::new())
            } else {
                ledger.submit(records)
            }
        }
        other => other,
    }
}

/// The two-step exchange for one list and a batch of identifiers (restarted from a fresh
/// blinding and a fresh allowance claim when retried). Returns hit or miss per identifier,
/// every one proven, and the records to submit: the countersigned receipt and, with a
/// regulator, the details sealed to it.
pub(super) async fn query_batch(
    node: &Node,
    party: &Party,
    publication: &Publication,
    ids: &[CanonicalId],
    case_reference: Option<&str>,
) -> Result<(Vec<bool>, Vec<Record>), StepError> {
    let claim = allowance_claim(node, ids.len())?;
    let claim_bytes = claim
        .as_ref()
        .map(fengxin_ledger::AllowanceClaim::to_bytes)
        .unwrap_or_default();
    let querier = fengxin_protocol::Querier {
        chain: node.chain,
        member: &node.member,
        key: &node.identity,
    };
    let (awaiting, request) =
        querier.start(&mut rand_core::OsRng, publication, ids, claim_bytes)?;
    let response = exchange(node, party, &request).await?;
    let (awaiting, request) = awaiting.handle(response, &party.key)?;
    let response = exchange(node, party, &request).await?;
    // Proof verification is CPU work: let the runtime move other exchanges off this thread.
    let exchange = tokio::task::block_in_place(|| {
        awaiting.handle(response, &node.verifier, &mut rand_core::OsRng)
    })?;
    let records = receipt_records(node, &exchange.receipt, || {
        crate::credits::ReceiptDetails::of(&exchange, case_reference)
    })?;
    Ok((exchange.answers.iter().map(|a| a.hit()).collect(), records))
}

/// The records the querier submits for an exchange: its copy of the receipt and, when the
/// consortium has a regulator, the exchange's `details` sealed to its view key.
pub(super) fn receipt_records(
    node: &Node,
    receipt: &fengxin_protocol::Receipt,
    details: impl FnOnce() -> crate::credits::ReceiptDetails,
) -> Result<Vec<Record>, StepError> {
    let id = receipt.id();
    let mut records = vec![Record::sign(
        node.chain,
        node.member.clone(),
        &node.identity,
        RecordBody::Receipt(Box::new(receipt.clone())),
    )];
    if let Some(view) = node.ledger.read(|s| s.view_key().copied()).ok().flatten() {
        let sealed = crate::credits::seal(&view, &id, &details())
            .map_err(|e| StepError::new(ScreenErrorKind::Internal, e, false))?;
        records.push(Record::sign(
            node.chain,
            node.member.clone(),
            &node.identity,
            RecordBody::Details(Box::new(fengxin_ledger::ReceiptDetails {
                receipt: id,
                sealed,
            })),
        ));
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn only_network_failures_are_retried_with_growing_pauses() {
        use std::sync::atomic::{AtomicU32, Ordering};
        let calls = AtomicU32::new(0);
        let started = Instant::now();
        let r: Result<(), StepError> = with_retries(|| async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(StepError::new(
                ScreenErrorKind::PeerUnreachable,
                "timed out",
                true,
            ))
        })
        .await;
        assert_eq!(calls.load(Ordering::SeqCst), ATTEMPTS);
        assert_eq!(
            r.err().map(|e| e.kind),
            Some(ScreenErrorKind::PeerUnreachable)
        );
        // Pauses of 100 ms then 200 ms between the three attempts.
        assert!(started.elapsed() >= Duration::from_millis(300));

        let calls = AtomicU32::new(0);
        let r: Result<(), StepError> = with_retries(|| async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(StepError::new(
                ScreenErrorKind::PeerMisbehaved,
                "bad proof",
                false,
            ))
        })
        .await;
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "misbehaviour is never retried"
        );
        assert!(r.is_err());

        let calls = AtomicU32::new(0);
        let r = with_retries(|| async {
            if calls.fetch_add(1, Ordering::SeqCst) == 0 {
                Err(StepError::new(
                    ScreenErrorKind::PeerUnreachable,
                    "connection lost",
                    true,
                ))
            } else {
                Ok(7)
            }
        })
        .await;
        assert_eq!(
            r.ok(),
            Some(7),
            "a retried step that then succeeds succeeds"
        );
    }

    #[test]
    fn network_errors_are_classified_for_the_report() {
        use fengxin_net::{ExchangeError, StreamRejection};
        let e: StepError = ExchangeError::Rejected(StreamRejection::FrameTooLarge).into();
        assert_eq!(
            (e.kind, e.reason, e.retry),
            (ScreenErrorKind::Refused, Some("frame_rejected"), false)
        );
        let e: StepError = ExchangeError::Malformed("x".into()).into();
        assert_eq!(
            (e.kind, e.reason, e.retry),
            (ScreenErrorKind::PeerMisbehaved, Some("bad_frame"), false)
        );
        let e: StepError = ExchangeError::Timeout.into();
        assert_eq!(
            (e.kind, e.reason, e.retry),
            (ScreenErrorKind::PeerUnreachable, Some("timeout"), true)
        );
        let e: StepError = ExchangeError::Closed.into();
        assert_eq!(e.reason, Some("connection_lost"));
        assert!(e.retry);
        let e: StepError = fengxin_net::ConnectError::Timeout.into();
        assert_eq!((e.kind, e.retry), (ScreenErrorKind::PeerUnreachable, true));
    }
}
