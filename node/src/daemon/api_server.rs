//! The local API server: one request frame per line on the data directory's socket
//! ([`fengxin_api`]), answered by the member's node or the regulator's.

use super::duties::submit_publications;
use super::querier::{screen, screen_batch};
use super::state::Node;
use fengxin_api::{ApiRequest, ApiResponse, ErrorKind, Status};
use fengxin_ledger::{Record, RecordBody};
use fengxin_types::MemberName;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::sync::Notify;

/// Serves the local API socket: one JSON request per line, one JSON response per line (each
/// marked `development` in a development consortium). A failing `accept` (e.g. out of file
/// descriptors) is logged and retried after a pause.
pub(super) async fn serve_api<F, Fut>(
    listener: tokio::net::UnixListener,
    development: bool,
    handle: F,
) where
    F: Fn(ApiRequest) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = ApiResponse> + Send,
{
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                tracing::warn!("local API: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        let handle = handle.clone();
        tokio::spawn(async move {
            let (read, mut write) = stream.into_split();
            let mut lines = BufReader::new(read.take(fengxin_api::MAX_REQUESTS)).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let response = match fengxin_api::decode_request(&line) {
                    Err(e) => ApiResponse::Error(e),
                    Ok(req) => handle(req).await,
                };
                let text = fengxin_api::encode_reply(response, development);
                if write.write_all(text.as_bytes()).await.is_err() {
                    break;
                }
            }
        });
    }
}

pub(super) async fn handle_api(node: &Arc<Node>, req: ApiRequest) -> ApiResponse {
    match req {
        ApiRequest::Status => ApiResponse::Status(Status {
            member: node.member.clone(),
            listen: node.listen.clone(),
            members: node.parties().into_iter().map(|p| p.name).collect(),
            height: node.ledger.read(|s| s.height()).unwrap_or(0),
            publications: node
                .ledger
                .read(|s| s.current_publications().len())
                .unwrap_or(0),
            attested: node.ledger.read(crate::attest::attested_count).unwrap_or(0),
            held_snapshots: node.held.read().map_or(0, |h| h.len()),
            development: node.development,
        }),
        ApiRequest::Shutdown => {
            node.shutdown.notify_one();
            ApiResponse::ShuttingDown
        }
        ApiRequest::LedgerStatus => ledger_status(&node.ledger),
        ApiRequest::Root { list, epoch, root } => root_status(&node.ledger, &list, epoch, root),
        ApiRequest::LedgerBlock { height } => match node.ledger.block(height) {
            Ok(Some(b)) => ApiResponse::LedgerBlock(super::views::block_view(&b)),
            Ok(None) => api_error(
                ErrorKind::NotFound,
                format!(
                    "no block at height {height} (height is {})",
                    node.ledger.read(|s| s.height()).unwrap_or(0)
                ),
            ),
            Err(e) => api_error(ErrorKind::Ledger, e),
        },
        ApiRequest::Receipts => match super::views::receipts_view(&node.ledger, &node.member) {
            Ok(v) => ApiResponse::Receipts(v),
            Err(e) => api_error(ErrorKind::Ledger, e),
        },
        ApiRequest::Publish => match publish_running(node) {
            Ok(p) => ApiResponse::Published(p),
            Err(e) => ApiResponse::Error(e.into()),
        },
        ApiRequest::Credits => {
            let openings = match node.openings.lock() {
                Ok(o) => o.clone(),
                Err(_) => return api_error(ErrorKind::Internal, "openings lock poisoned"),
            };
            match node.ledger.read(|s| {
                let epoch = s.current_epoch();
                let allowance = openings.allowance_value(s, &node.member);
                let used = s.claimed(&node.member, epoch);
                fengxin_api::CreditsView {
                    member: node.member.clone(),
                    height: s.height(),
                    epoch,
                    balance: s.balance(&node.member),
                    quality: s.quality(&node.member),
                    allowance,
                    used,
                    remaining: allowance.map(|a| a.saturating_sub(used)),
                    history: s
                        .credit_history(&node.member)
                        .iter()
                        .map(fengxin_api::CreditChange::from)
                        .collect(),
                    suspended_since: s.suspended(&node.member),
                }
            }) {
                Ok(v) => ApiResponse::Credits(v),
                Err(e) => api_error(ErrorKind::Ledger, e),
            }
        }
        ApiRequest::Feedback { receipt, verdict } => submit_own(
            node,
            RecordBody::Feedback(fengxin_ledger::Feedback {
                receipt: receipt.0,
                verdict: verdict.into(),
            }),
        ),
        ApiRequest::Propose { action, note } => submit_own(
            node,
            RecordBody::Motion(fengxin_ledger::Motion { action, note }),
        ),
        ApiRequest::Vote { motion, approve } => submit_own(
            node,
            RecordBody::Vote(fengxin_ledger::Vote {
                motion: motion.0,
                approve,
            }),
        ),
        ApiRequest::Motions => match node.ledger.read(super::views::motions_view) {
            Ok(m) => ApiResponse::Motions(m),
            Err(e) => api_error(ErrorKind::Ledger, e),
        },
        ApiRequest::Audit { .. } => api_error(
            ErrorKind::NotRegulator,
            "only a regulator node holds the view key and can audit",
        ),
        ApiRequest::Openings { .. } => api_error(
            ErrorKind::NotRegulator,
            "only a regulator node holds the sealed layouts it samples",
        ),
        ApiRequest::Submit { records } => submitted(node.ledger.submit(records)),
        ApiRequest::Screen {
            id_type,
            identifier,
            list,
            members,
            case_reference,
        } => match screen(node, id_type, &identifier, list, members, case_reference).await {
            Ok(r) => ApiResponse::Screen(r),
            Err(e) => ApiResponse::Error(e),
        },
        ApiRequest::ScreenBatch {
            id_type,
            identifiers,
            list,
            members,
            case_reference,
        } => match screen_batch(node, id_type, &identifiers, list, members, case_reference).await {
            Ok(r) => ApiResponse::ScreenBatch(r),
            Err(e) => ApiResponse::Error(e),
        },
    }
}

/// Signs `body` as this member and submits it; the reply names the record.
pub(super) fn submit_own(node: &Node, body: RecordBody) -> ApiResponse {
    let record = Record::sign(node.chain, node.member.clone(), &node.identity, body);
    submitted(node.ledger.submit(vec![record]))
}

/// The local API's answer to a submission: the ids, or why nothing was submitted.
pub(super) fn submitted(
    result: Result<Vec<[u8; 32]>, fengxin_consensus::LedgerError>,
) -> ApiResponse {
    match result {
        Ok(ids) => ApiResponse::Submitted(ids.into_iter().map(fengxin_api::RecordId).collect()),
        Err(e @ fengxin_consensus::LedgerError::QueueFull(_)) => api_error(ErrorKind::QueueFull, e),
        Err(e) => api_error(ErrorKind::Rejected, e),
    }
}

pub(super) fn api_error(kind: ErrorKind, e: impl std::fmt::Display) -> ApiResponse {
    ApiResponse::error(kind, e)
}

/// `ledger status` on this node.
pub(super) fn ledger_status(ledger: &fengxin_consensus::Ledger) -> ApiResponse {
    match ledger
        .status()
        .map_err(|e| e.to_string())
        .and_then(super::views::status_view)
    {
        Ok(s) => ApiResponse::LedgerStatus(s),
        Err(e) => api_error(ErrorKind::Ledger, e),
    }
}

/// A root as this node's replica of the ledger knows it.
fn root_status(
    ledger: &fengxin_consensus::Ledger,
    list: &fengxin_types::ListId,
    epoch: fengxin_types::Epoch,
    root: fengxin_api::ListRoot,
) -> ApiResponse {
    match ledger.read(|s| super::views::root_view(s, list, epoch, root)) {
        Ok(v) => ApiResponse::Root(v),
        Err(e) => api_error(ErrorKind::Ledger, e),
    }
}

/// `lists publish` against the running node: signs every list's current publication, stores
/// them, and submits those the ledger does not hold yet.
pub(super) fn publish_running(
    node: &Node,
) -> Result<Vec<crate::publish::Published>, crate::publish::PublishError> {
    let (published, signed) = crate::publish::sign_publications(
        &node.store,
        &node.seed,
        &node.identity,
        &node.member,
        node.chain,
    )?;
    crate::publish::write_publications(&node.data, &signed)?;
    submit_publications(node, &signed)?;
    Ok(published)
}

/// What the regulator's node audits with: its view key and the consortium's verifier.
pub(super) struct RegulatorKeys {
    /// Decrypts sealed details and committed sizes.
    pub(super) view: fengxin_confidential::ViewSecret,
    /// Re-verifies the answers queriers seal.
    pub(super) verifier: fengxin_proofs::Verifier,
}

pub(super) async fn regulator_api(
    ledger: &fengxin_consensus::Ledger,
    view: &Arc<RegulatorKeys>,
    me: &MemberName,
    shutdown: &Notify,
    development: bool,
    req: ApiRequest,
) -> ApiResponse {
    match req {
        ApiRequest::Shutdown => {
            shutdown.notify_one();
            ApiResponse::ShuttingDown
        }
        ApiRequest::Status => match ledger.read(|s| Status {
            member: me.clone(),
            listen: String::new(),
            members: s.members().keys().cloned().collect(),
            height: s.height(),
            publications: s.current_publications().len(),
            attested: crate::attest::attested_count(s),
            held_snapshots: 0,
            development,
        }) {
            Ok(s) => ApiResponse::Status(s),
            Err(e) => api_error(ErrorKind::Ledger, e),
        },
        ApiRequest::LedgerStatus => ledger_status(ledger),
        ApiRequest::Root { list, epoch, root } => root_status(ledger, &list, epoch, root),
        ApiRequest::LedgerBlock { height } => match ledger.block(height) {
            Ok(Some(b)) => ApiResponse::LedgerBlock(super::views::block_view(&b)),
            Ok(None) => api_error(ErrorKind::NotFound, format!("no block at height {height}")),
            Err(e) => api_error(ErrorKind::Ledger, e),
        },
        ApiRequest::Audit { from, to } => {
            let (ledger, view) = (ledger.clone(), view.clone());
            // Decryption (a one-off 68 MiB table, then a discrete log per size) is CPU work.
            let report = tokio::task::spawn_blocking(move || {
                ledger.read(|s| {
                    crate::audit::audit(
                        s,
                        &view.view,
                        &view.verifier,
                        from.unwrap_or(1),
                        to.unwrap_or(s.height()),
                    )
                })
            })
            .await;
            match report {
                Ok(Ok(r)) => ApiResponse::Audit(r),
                Ok(Err(e)) => api_error(ErrorKind::Ledger, e),
                Err(e) => api_error(ErrorKind::Internal, e),
            }
        }
        _ => api_error(
            ErrorKind::Regulator,
            "a regulator node answers status, ledger and audit requests only",
        ),
    }
}
