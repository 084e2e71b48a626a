//! The responder side: answering other members' blinded queries from this member's lists
//! (evaluation, proofs and their cache, the ledger's current publication as the gate), and the
//! peer endpoint that admits, limits and serves them.

use super::state::{internal, Node};
use fengxin_ledger::{Record, RecordBody};
use fengxin_protocol::{
    AnswerSource, Refusal, RefusalKind, Request, Response, RngCoreCrypto, SignedPublication,
};
use fengxin_types::{Epoch, ListId, MemberName, Tag};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Proven answers kept (about 200 bytes each); the cache is emptied when full.
pub const PROOF_CACHE: usize = 65_536;

/// A proven answer's cache key: (list, epoch, root, tag).
pub(super) type ProofKey = (ListId, Epoch, [u8; 32], Tag);

impl AnswerSource for Node {
    fn chain(&self) -> [u8; 32] {
        self.chain
    }

    /// The list's publication on the ledger, if the tree this node proves against is still
    /// the one it names: a list changed since its publication is not served (queriers verify
    /// against the ledger's root), and nothing is evaluated or charged for it.
    fn published(&self, list: &ListId) -> Option<(Epoch, [u8; 32])> {
        let here = self.current.get(list).copied()?;
        let on_ledger = self
            .ledger
            .read(|s| {
                s.current_publication(&self.member, list)
                    .map(|p| (p.publication.epoch, p.publication.root))
            })
            .ok()
            .flatten()?;
        (on_ledger == here).then_some(here)
    }

    /// Proof mode for every published list; snapshot mode for a list published `shared`.
    fn offers(&self, list: &ListId, mode: fengxin_protocol::Mode) -> bool {
        match mode {
            fengxin_protocol::Mode::Proof => true,
            fengxin_protocol::Mode::Snapshot => self
                .ledger
                .read(|s| {
                    s.current_publication(&self.member, list)
                        .is_some_and(|p| p.publication.policy == fengxin_types::ListPolicy::Shared)
                })
                .unwrap_or(false),
        }
    }

    fn identity_key(&self, member: &MemberName) -> Option<fengxin_crypto::IdentityPublicKey> {
        self.ledger.read(|s| s.identity_key(member)).ok().flatten()
    }

    fn evaluate(
        &self,
        list: &ListId,
        epoch: Epoch,
        blinded: &[[u8; 32]],
        rng: &mut dyn RngCoreCrypto,
    ) -> Result<(Vec<[u8; 32]>, Vec<u8>), String> {
        let key = self.list_key(list, epoch)?;
        key.blind_evaluate_batch(&mut &mut *rng, blinded)
            .map(|(e, p)| (e, p.to_vec()))
            .map_err(internal)
    }

    fn prove(
        &self,
        list: &ListId,
        epoch: Epoch,
        tag: Tag,
        rng: &mut dyn RngCoreCrypto,
    ) -> Result<(bool, Vec<u8>), String> {
        let (root, lookup) = self.store.lookup(list, epoch, tag).map_err(internal)?;
        let key = (list.clone(), epoch, root.to_bytes(), tag);
        let cached = self
            .proofs
            .lock()
            .map_err(|_| "proof cache poisoned".to_owned())?
            .get(&key)
            .cloned();
        if let Some(answer) = cached {
            return Ok(answer);
        }
        let (public, proof) = self
            .prover
            .prove_lookup(root, tag, &lookup, &mut &mut *rng)
            .map_err(internal)?;
        let answer = (public.result, proof.to_bytes());
        let mut cache = self
            .proofs
            .lock()
            .map_err(|_| "proof cache poisoned".to_owned())?;
        if cache.len() >= PROOF_CACHE {
            cache.clear();
        }
        cache.insert(key, answer.clone());
        Ok(answer)
    }

    fn publications(&self) -> Vec<SignedPublication> {
        self.publications.clone()
    }

    fn member(&self) -> &MemberName {
        &self.member
    }

    fn sign(&self, bytes: &[u8]) -> Vec<u8> {
        self.identity.sign(bytes).to_vec()
    }

    /// The responder submits every receipt it countersigns (it is the party paid for serving):
    /// the record is in the ledger's durable outbox before the evaluation leaves.
    fn submit_receipt(&self, receipt: &fengxin_protocol::Receipt) -> Result<(), String> {
        let record = Record::sign(
            self.chain,
            self.member.clone(),
            &self.identity,
            RecordBody::Receipt(Box::new(receipt.clone())),
        );
        self.ledger
            .submit(vec![record])
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    /// The request and its allowance interval go into the durable book before anything is
    /// evaluated: one already there is refused, even after a restart of this node.
    fn spend(&self, id: [u8; 32], request: &fengxin_protocol::QueryRequest) -> Result<(), Refusal> {
        use fengxin_store::{ClaimedInterval, Spend, SpendError};
        let claim = fengxin_ledger::AllowanceClaim::from_bytes(&request.allowance)
            .ok()
            .and_then(|c| ClaimedInterval::of(c.epoch, c.used_after, u64::from(request.count)));
        let spend = Spend {
            querier: request.querier.as_str(),
            request: id,
            list: request.list.as_str(),
            list_epoch: request.epoch.get(),
            claim,
        };
        self.spent.spend(&spend).map_err(|e| match e {
            SpendError::Store(e) => Refusal::new(
                RefusalKind::Internal,
                format!("the spent-claims book failed: {e}"),
            ),
            spent => Refusal::new(RefusalKind::Replayed, spent.to_string()),
        })
    }

    fn check_credits(&self, querier: &MemberName, count: usize) -> Result<(), Refusal> {
        let checked = self
            .ledger
            .read(|s| s.can_pay(querier, u64::try_from(count).unwrap_or(u64::MAX)))
            .map_err(|e| Refusal::new(RefusalKind::Internal, e.to_string()))?;
        checked.map_err(|e| {
            let kind = match e {
                fengxin_ledger::Rejection::Suspended(_) => RefusalKind::Suspended,
                _ => RefusalKind::InsufficientCredits,
            };
            Refusal::new(kind, e.to_string())
        })
    }

    fn check_allowance(
        &self,
        querier: &MemberName,
        count: usize,
        claim: &[u8],
    ) -> Result<(), String> {
        self.ledger
            .read(|s| {
                if s.view_key().is_none() {
                    return Ok(());
                }
                let claim = fengxin_ledger::AllowanceClaim::from_bytes(claim)
                    .map_err(|_| "no allowance claim with the request".to_owned())?;
                let count = u32::try_from(count).unwrap_or(u32::MAX);
                // A claim already spent on the ledger would be the querier's equivocation:
                // refused before any work.
                if let Some(first) = s.overlapping_claim(querier, count, &claim) {
                    return Err(format!(
                        "the claimed interval overlaps receipt {} already on the ledger",
                        hex::encode(first)
                    ));
                }
                s.check_claim(querier, count, &claim)
                    .map_err(|e| e.to_string())
            })
            .map_err(|e| e.to_string())?
    }
}

pub(super) async fn serve_peers(node: Arc<Node>) {
    while let Some(incoming) = node.endpoint.accept().await {
        let node = node.clone();
        tokio::spawn(async move {
            let remote = incoming.remote_address();
            let conn = match incoming.establish().await {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!("refused connection from {remote}: {e}");
                    return;
                }
            };
            let peer = conn.member().clone();
            let peer_key = conn.public_key();
            tracing::info!("{peer} connected from {remote}");
            tokio::spawn(close_when_removed(node.clone(), conn.clone()));
            loop {
                let req = match conn.accept_request().await {
                    Ok(r) => r,
                    Err(_) => break,
                };
                let node = node.clone();
                let peer = peer.clone();
                tokio::spawn(async move {
                    let (request, responder) = match req.read::<Request>().await {
                        Ok(x) => x,
                        Err(e) => {
                            tracing::warn!("{peer}: bad request: {e}");
                            return;
                        }
                    };
                    if let Request::Ledger(bytes) = &request {
                        let response = crate::ledger::serve(&node.ledger, &peer_key, bytes).await;
                        let _ = responder.respond(&response).await;
                        return;
                    }
                    if let Request::Snapshot(req) = request {
                        let is_member = node
                            .ledger
                            .read(|s| s.member_for_key(&peer_key.to_bytes()) == Some(&peer))
                            .unwrap_or(false);
                        let response = if is_member {
                            super::snapshots::serve(node.clone(), peer.clone(), req).await
                        } else {
                            Response::Refused(Refusal::new(
                                RefusalKind::NotMember,
                                "only current members may hold snapshots",
                            ))
                        };
                        let _ = responder.respond(&response).await;
                        return;
                    }
                    if matches!(request, Request::Open(_) | Request::OpenEvaluate(_)) {
                        let response =
                            super::attestor::open(node.clone(), peer.clone(), peer_key, request)
                                .await;
                        let _ = responder.respond(&response).await;
                        return;
                    }
                    let Some(busy) = node.work.begin() else {
                        let refusal =
                            Refusal::new(RefusalKind::ShuttingDown, "the node is shutting down");
                        let _ = responder.respond(&Response::Refused(refusal)).await;
                        return;
                    };
                    // By key, not by name: a removed member's name may since belong to
                    // another key.
                    let is_member = node
                        .ledger
                        .read(|s| s.member_for_key(&peer_key.to_bytes()) == Some(&peer))
                        .unwrap_or(false);
                    let response = match node.admit(&peer) {
                        Err(refusal) => Response::Refused(refusal),
                        Ok(_) if !is_member => Response::Refused(Refusal::new(
                            RefusalKind::NotMember,
                            "only current members may screen",
                        )),
                        Ok(permit) => {
                            let n = node.clone();
                            let querier = peer.clone();
                            // Set once the querier stops waiting: proving stops between
                            // one proof and the next.
                            let gone = Arc::new(AtomicBool::new(false));
                            let watch = responder.abandoned();
                            let flag = gone.clone();
                            let watcher = tokio::spawn(async move {
                                watch.await;
                                flag.store(true, Ordering::Relaxed);
                            });
                            let r = tokio::task::spawn_blocking(move || {
                                let resp = n.responder.handle_until(
                                    &*n,
                                    &querier,
                                    request,
                                    &mut rand_core::OsRng,
                                    &|| gone.load(Ordering::Relaxed),
                                );
                                drop(permit);
                                resp
                            })
                            .await;
                            watcher.abort();
                            r.unwrap_or_else(|e| {
                                Response::Refused(Refusal::new(
                                    RefusalKind::Internal,
                                    e.to_string(),
                                ))
                            })
                        }
                    };
                    if let Response::Refused(r) = &response {
                        tracing::warn!("{peer}: refused ({:?}): {}", r.kind, r.message);
                    }
                    if let Err(e) = responder.respond(&response).await {
                        tracing::warn!("{peer}: could not answer: {e}");
                    }
                    drop(busy);
                });
            }
            tracing::info!("{peer} disconnected");
        });
    }
}

/// Closes `conn` as soon as the block that removes its peer (by key) from the ledger's
/// members and regulators is applied.
pub(super) async fn close_when_removed(node: Arc<Node>, conn: fengxin_net::PeerConnection) {
    let key = conn.public_key().to_bytes();
    let peer = conn.member().clone();
    let is_party = |node: &Node| {
        node.ledger
            .read(|s| s.party_for_key(&key) == Some(&peer))
            .unwrap_or(false)
    };
    let mut heights = node.ledger.heights();
    loop {
        tokio::select! {
            _ = conn.closed() => return,
            changed = heights.changed() => {
                if changed.is_err() {
                    return;
                }
                if !is_party(&node) {
                    tracing::warn!("{peer}: no longer a party to the ledger; connection closed");
                    conn.close();
                    return;
                }
            }
        }
    }
}
