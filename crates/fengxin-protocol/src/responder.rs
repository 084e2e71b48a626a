//! The responder's step: checks a request against what it published and answers.

use crate::messages::{
    EvaluateResponse, MembershipResponse, Refusal, RefusalKind, Request, Response, MAX_BATCH,
};
use crate::publication::SignedPublication;
use crate::receipt::ReceiptBody;
use fengxin_types::{Epoch, ListId, MemberName, Tag};
use rand_core::{CryptoRng, RngCore};

/// What the responder answers from: its published lists, OPRF keys, trees and prover.
/// Implemented by the node over its database.
pub trait AnswerSource {
    /// The published (epoch, root bytes) of `list`, if this member publishes it.
    fn published(&self, list: &ListId) -> Option<(Epoch, [u8; 32])>;

    /// Evaluates blinded elements with the (list, epoch) key: evaluations and a 64-byte DLEQ
    /// proof. An error is a malformed element from the querier.
    fn evaluate(
        &self,
        list: &ListId,
        epoch: Epoch,
        blinded: &[[u8; 32]],
        rng: &mut dyn RngCoreCrypto,
    ) -> Result<(Vec<[u8; 32]>, Vec<u8>), String>;

    /// Answers one tag against the published tree: hit or miss and the encoded proof.
    fn prove(
        &self,
        list: &ListId,
        epoch: Epoch,
        tag: Tag,
        rng: &mut dyn RngCoreCrypto,
    ) -> Result<(bool, Vec<u8>), String>;

    /// The signed publications to serve.
    fn publications(&self) -> Vec<SignedPublication>;

    /// This member's name (the responder in receipts).
    fn member(&self) -> &MemberName;

    /// Signs a receipt body with this member's identity key.
    fn sign_receipt(&self, body: &ReceiptBody) -> Vec<u8>;

    /// Checks the querier's allowance claim for `count` identifiers (encoded by the ledger)
    /// before any work is done. The default accepts everything (no allowances kept).
    fn check_allowance(
        &self,
        _querier: &MemberName,
        _count: usize,
        _claim: &[u8],
    ) -> Result<(), String> {
        Ok(())
    }

    /// Checks that the querier can pay for `count` identifiers (not in debt, balance covers
    /// the cost) before any work is done. The default accepts everything (no credits kept).
    fn check_credits(&self, _querier: &MemberName, _count: usize) -> Result<(), String> {
        Ok(())
    }
}

/// An object-safe cryptographic RNG.
pub trait RngCoreCrypto: RngCore + CryptoRng {}
impl<T: RngCore + CryptoRng> RngCoreCrypto for T {}

/// The responder core.
#[derive(Debug, Clone, Copy, Default)]
pub struct Responder;

impl Responder {
    /// Answers one request from `querier` (the authenticated peer). Never fails: problems
    /// become typed refusals.
    pub fn handle<S: AnswerSource + ?Sized, R: RngCore + CryptoRng>(
        source: &S,
        querier: &MemberName,
        request: Request,
        rng: &mut R,
    ) -> Response {
        match request {
            Request::Publications => Response::Publications(source.publications()),
            Request::Ledger(_) => Response::Refused(Refusal::new(
                RefusalKind::Malformed,
                "ledger messages go to the consensus host, not the screening responder",
            )),
            Request::Evaluate(req) => {
                if let Err(r) = check(source, &req.list, req.epoch, None, req.blinded.len()) {
                    return Response::Refused(r);
                }
                if let Err(why) = source.check_credits(querier, req.blinded.len()) {
                    return Response::Refused(Refusal::new(RefusalKind::InsufficientCredits, why));
                }
                if let Err(why) = source.check_allowance(querier, req.blinded.len(), &req.allowance)
                {
                    return Response::Refused(Refusal::new(RefusalKind::OverAllowance, why));
                }
                match source.evaluate(&req.list, req.epoch, &req.blinded, rng) {
                    Ok((evaluated, proof)) => {
                        Response::Evaluated(EvaluateResponse { evaluated, proof })
                    }
                    Err(e) => Response::Refused(Refusal::new(RefusalKind::Malformed, e)),
                }
            }
            Request::Membership(req) => {
                if let Err(r) = check(source, &req.list, req.epoch, Some(req.root), req.tags.len())
                {
                    return Response::Refused(r);
                }
                let mut answers = Vec::with_capacity(req.tags.len());
                for &tag in &req.tags {
                    match source.prove(&req.list, req.epoch, tag, rng) {
                        Ok((result, proof)) => {
                            answers.push(crate::messages::Answer { result, proof })
                        }
                        Err(e) => return Response::Refused(Refusal::new(RefusalKind::Internal, e)),
                    }
                }
                let body = ReceiptBody::for_exchange(
                    querier.clone(),
                    source.member().clone(),
                    &req,
                    &answers,
                );
                Response::Answers(MembershipResponse {
                    receipt_signature: source.sign_receipt(&body),
                    answers,
                })
            }
        }
    }
}

fn check<S: AnswerSource + ?Sized>(
    source: &S,
    list: &ListId,
    epoch: Epoch,
    root: Option<[u8; 32]>,
    n: usize,
) -> Result<(), Refusal> {
    let Some((published_epoch, published_root)) = source.published(list) else {
        return Err(Refusal::new(
            RefusalKind::UnknownList,
            format!("no published list {list}"),
        ));
    };
    if epoch != published_epoch || root.is_some_and(|r| r != published_root) {
        return Err(Refusal::new(
            RefusalKind::StaleRoot,
            format!("{list}: the current publication is epoch {published_epoch}"),
        ));
    }
    if n == 0 {
        return Err(Refusal::new(RefusalKind::Malformed, "empty request"));
    }
    if n > MAX_BATCH {
        return Err(Refusal::new(
            RefusalKind::BatchTooLarge,
            format!("{n} items, at most {MAX_BATCH} per request"),
        ));
    }
    Ok(())
}
