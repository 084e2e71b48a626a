//! The responder's step: checks a request against what it published and answers.

use crate::messages::{
    Answer, EvaluateRequest, EvaluateResponse, MembershipRequest, MembershipResponse, Refusal,
    RefusalKind, Request, Response,
};
use fengxin_crypto::IdentityPublicKey;
use fengxin_signed::SignedPublication;
use fengxin_signed::{
    blinded_digest, evaluation_digest, Mode, QueryRequest, Receipt, RECEIPT_VERSION,
};
use fengxin_types::{Epoch, ListId, MemberName, Tag};
use rand_core::{CryptoRng, RngCore};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Mutex;

/// What the responder answers from: its published lists, OPRF keys, trees and prover, and the
/// ledger's view of the querier. Implemented by the node over its database and ledger.
pub trait AnswerSource {
    /// The chain (genesis hash) this node belongs to.
    fn chain(&self) -> [u8; 32];

    /// The published (epoch, root bytes) of `list`, if this member publishes it.
    fn published(&self, list: &ListId) -> Option<(Epoch, [u8; 32])>;

    /// Whether `list` is offered in `mode`. The default offers proof mode only.
    fn offers(&self, _list: &ListId, mode: Mode) -> bool {
        mode == Mode::Proof
    }

    /// A current member's identity key (the querier's, to check its signed request).
    fn identity_key(&self, member: &MemberName) -> Option<IdentityPublicKey>;

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

    /// Signs bytes with this member's identity key (the receipt countersignature).
    fn sign(&self, bytes: &[u8]) -> Vec<u8>;

    /// Hands a countersigned receipt to the ledger (durably) before the answer leaves. An
    /// error refuses the request: a responder does not serve what it cannot be paid for.
    fn submit_receipt(&self, _receipt: &Receipt) -> Result<(), String> {
        Ok(())
    }

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

    /// Records, durably, that the signed request `id` (and the allowance interval it claims;
    /// its querier is the authenticated peer) is being served, before anything is evaluated; refuses (`replayed`) a request
    /// or an interval this responder has served before, even before a restart. Called after
    /// every other check, so only a request that will be served spends anything. The default
    /// keeps nothing (the core's in-memory replay set still refuses a request seen lately).
    fn spend(&self, _id: [u8; 32], _request: &QueryRequest) -> Result<(), Refusal> {
        Ok(())
    }

    /// Checks that the querier may screen and pay for `count` identifiers (not suspended, not
    /// in debt, balance covers the cost) before any work is done. The default accepts
    /// everything (no credits kept).
    fn check_credits(&self, _querier: &MemberName, _count: usize) -> Result<(), Refusal> {
        Ok(())
    }
}

/// An object-safe cryptographic RNG.
pub trait RngCoreCrypto: RngCore + CryptoRng {}
impl<T: RngCore + CryptoRng> RngCoreCrypto for T {}

/// Proof-mode requests evaluated and not yet answered, by request id, and the ids of every
/// request evaluated lately (a request is evaluated once).
#[derive(Debug, Default)]
struct Pending {
    by_id: BTreeMap<[u8; 32], Awaiting>,
    order: VecDeque<[u8; 32]>,
    seen: BTreeSet<[u8; 32]>,
    seen_order: VecDeque<[u8; 32]>,
}

#[derive(Debug, Clone)]
struct Awaiting {
    querier: MemberName,
    list: ListId,
    epoch: Epoch,
    count: usize,
}

/// The responder core. It remembers the proof-mode requests it evaluated (up to a bound, the
/// oldest forgotten first) so that each one's tags are answered once, by its querier, and the
/// ids of the requests it evaluated lately (sixteen times that bound) so that a request is
/// evaluated once: a replayed request is refused, not served again under the same receipt.
#[derive(Debug)]
pub struct Responder {
    pending: Mutex<Pending>,
    capacity: usize,
}

/// How many evaluated request ids a responder remembers per pending slot.
const SEEN_PER_PENDING: usize = 16;

impl Default for Responder {
    fn default() -> Self {
        Self::new(4096)
    }
}

fn refused(kind: RefusalKind, message: impl Into<String>) -> Response {
    Response::Refused(Refusal::new(kind, message))
}

impl Responder {
    /// A responder that remembers up to `capacity` evaluated proof-mode requests.
    pub fn new(capacity: usize) -> Self {
        Self {
            pending: Mutex::new(Pending::default()),
            capacity: capacity.max(1),
        }
    }

    /// Answers one request from `querier` (the authenticated peer). Never fails: problems
    /// become typed refusals.
    pub fn handle<S: AnswerSource + ?Sized, R: RngCore + CryptoRng>(
        &self,
        source: &S,
        querier: &MemberName,
        request: Request,
        rng: &mut R,
    ) -> Response {
        self.handle_until(source, querier, request, rng, &|| false)
    }

    /// As [`Responder::handle`], but stops proving as soon as `abandoned` says the querier no
    /// longer waits for the answer (its stream stopped, its connection closed, or the exchange
    /// timed out), between one proof and the next: a querier that leaves costs at most the
    /// proof in progress. The pending request is kept, so the querier can ask again.
    pub fn handle_until<S: AnswerSource + ?Sized, R: RngCore + CryptoRng>(
        &self,
        source: &S,
        querier: &MemberName,
        request: Request,
        rng: &mut R,
        abandoned: &dyn Fn() -> bool,
    ) -> Response {
        match request {
            Request::Publications => Response::Publications(source.publications()),
            Request::Ledger(_) => refused(
                RefusalKind::Malformed,
                "ledger messages go to the consensus host, not the screening responder",
            ),
            Request::Open(_) | Request::OpenEvaluate(_) => refused(
                RefusalKind::Malformed,
                "sampled openings are answered by the member's daemon, for regulators only",
            ),
            Request::Snapshot(_) => refused(
                RefusalKind::Malformed,
                "snapshots are served by the member's daemon",
            ),
            Request::Layout(_) => refused(
                RefusalKind::Malformed,
                "layouts for root attestation go to a regulator, not to a member",
            ),
            Request::Evaluate(req) => self.evaluate(source, querier, req, rng),
            Request::Membership(req) => self.membership(source, querier, req, rng, abandoned),
        }
    }

    fn evaluate<S: AnswerSource + ?Sized, R: RngCore + CryptoRng>(
        &self,
        source: &S,
        querier: &MemberName,
        req: EvaluateRequest,
        rng: &mut R,
    ) -> Response {
        let r = &req.request.request;
        if let Err(refusal) = check_request(source, querier, &req) {
            return Response::Refused(refusal);
        }
        let id = req.request.id();
        if !self.first_sight(id) {
            return refused(
                RefusalKind::Replayed,
                format!("request {} was already evaluated", hex::encode(id)),
            );
        }
        if let Err(refusal) = source.check_credits(querier, req.blinded.len()) {
            return Response::Refused(refusal);
        }
        if let Err(why) = source.check_allowance(querier, req.blinded.len(), &r.allowance) {
            return refused(RefusalKind::OverAllowance, why);
        }
        if let Err(refusal) = source.spend(id, r) {
            return Response::Refused(refusal);
        }
        let (evaluated, proof) = match source.evaluate(&r.list, r.epoch, &req.blinded, rng) {
            Ok(e) => e,
            Err(e) => return refused(RefusalKind::Malformed, e),
        };
        let answer_digest = evaluation_digest(&evaluated, &proof);
        let receipt_signature = source.sign(&Receipt::signing_bytes(&id, &answer_digest));
        let awaiting = Awaiting {
            querier: querier.clone(),
            list: r.list.clone(),
            epoch: r.epoch,
            count: req.blinded.len(),
        };
        let mode = r.mode;
        let receipt = Receipt {
            request: req.request,
            answer_digest,
            responder_signature: receipt_signature.clone(),
        };
        if let Err(why) = source.submit_receipt(&receipt) {
            return refused(
                RefusalKind::Internal,
                format!("the receipt could not be recorded: {why}"),
            );
        }
        if mode == Mode::Proof {
            self.remember(id, awaiting);
        }
        Response::Evaluated(EvaluateResponse {
            evaluated,
            proof,
            receipt_signature,
        })
    }

    /// Marks a request id as evaluated; `false` if it already was.
    fn first_sight(&self, id: [u8; 32]) -> bool {
        let Ok(mut p) = self.pending.lock() else {
            return false;
        };
        if !p.seen.insert(id) {
            return false;
        }
        p.seen_order.push_back(id);
        while p.seen.len() > self.capacity.saturating_mul(SEEN_PER_PENDING) {
            let Some(old) = p.seen_order.pop_front() else {
                break;
            };
            p.seen.remove(&old);
        }
        true
    }

    fn remember(&self, id: [u8; 32], awaiting: Awaiting) {
        let Ok(mut p) = self.pending.lock() else {
            return;
        };
        if p.by_id.insert(id, awaiting).is_none() {
            p.order.push_back(id);
        }
        while p.by_id.len() > self.capacity {
            let Some(old) = p.order.pop_front() else {
                break;
            };
            p.by_id.remove(&old);
        }
    }

    fn membership<S: AnswerSource + ?Sized, R: RngCore + CryptoRng>(
        &self,
        source: &S,
        querier: &MemberName,
        req: MembershipRequest,
        rng: &mut R,
        abandoned: &dyn Fn() -> bool,
    ) -> Response {
        let awaiting = {
            let Ok(mut p) = self.pending.lock() else {
                return refused(RefusalKind::Internal, "pending requests lock poisoned");
            };
            // Taken out while it is answered (so a concurrent copy finds nothing), and put
            // back if the answer fails, so the querier that paid can try again.
            match p.by_id.get(&req.request_id) {
                Some(a) if &a.querier == querier => {
                    let a = a.clone();
                    p.by_id.remove(&req.request_id);
                    p.order.retain(|id| id != &req.request_id);
                    a
                }
                _ => {
                    return refused(
                        RefusalKind::UnknownRequest,
                        format!(
                            "no evaluated proof-mode request {} from {querier} awaits its tags",
                            hex::encode(req.request_id)
                        ),
                    )
                }
            }
        };
        let response = Self::answer(source, &awaiting, &req, rng, abandoned);
        if matches!(response, Response::Refused(_)) {
            self.remember(req.request_id, awaiting);
        }
        response
    }

    fn answer<S: AnswerSource + ?Sized, R: RngCore + CryptoRng>(
        source: &S,
        awaiting: &Awaiting,
        req: &MembershipRequest,
        rng: &mut R,
        abandoned: &dyn Fn() -> bool,
    ) -> Response {
        if req.tags.len() != awaiting.count {
            return refused(
                RefusalKind::BadRequest,
                format!(
                    "{} tags for a request of {} identifiers",
                    req.tags.len(),
                    awaiting.count
                ),
            );
        }
        match source.published(&awaiting.list) {
            Some((epoch, root)) if epoch == awaiting.epoch && root == req.root => {}
            _ => {
                return refused(
                    RefusalKind::StaleRoot,
                    format!(
                        "{}: epoch {} and that root are no longer the current publication",
                        awaiting.list, awaiting.epoch
                    ),
                )
            }
        }
        let mut answers = Vec::with_capacity(req.tags.len());
        for (done, &tag) in req.tags.iter().enumerate() {
            if abandoned() {
                return refused(
                    RefusalKind::Abandoned,
                    format!(
                        "the querier stopped waiting after {done} of {} proofs",
                        req.tags.len()
                    ),
                );
            }
            match source.prove(&awaiting.list, awaiting.epoch, tag, rng) {
                Ok((result, proof)) => answers.push(Answer { result, proof }),
                Err(e) => return refused(RefusalKind::Internal, e),
            }
        }
        Response::Answers(MembershipResponse { answers })
    }
}

/// Checks a signed request before any work: version, chain, parties, list and epoch, mode and
/// count, the digest of the blinded elements, and the querier's signature.
fn check_request<S: AnswerSource + ?Sized>(
    source: &S,
    querier: &MemberName,
    req: &EvaluateRequest,
) -> Result<(), Refusal> {
    let bad = |why: String| Err(Refusal::new(RefusalKind::BadRequest, why));
    let r = &req.request.request;
    if r.version != RECEIPT_VERSION {
        return bad(format!(
            "request version {}, expected {RECEIPT_VERSION}",
            r.version
        ));
    }
    if r.chain != source.chain() {
        return bad("the request is signed for another chain".into());
    }
    if &r.querier != querier {
        return bad(format!(
            "the request names querier {}, the connection is {querier}'s",
            r.querier
        ));
    }
    if &r.responder != source.member() {
        return bad(format!("the request is addressed to {}", r.responder));
    }
    let Some(key) = source.identity_key(querier) else {
        return Err(Refusal::new(
            RefusalKind::NotMember,
            format!("{querier} is not a current member"),
        ));
    };
    let Some((published_epoch, _)) = source.published(&r.list) else {
        return Err(Refusal::new(
            RefusalKind::UnknownList,
            format!(
                "no current publication of {} (not published, or changed since)",
                r.list
            ),
        ));
    };
    if r.epoch != published_epoch {
        return Err(Refusal::new(
            RefusalKind::StaleRoot,
            format!(
                "{}: the current publication is epoch {published_epoch}",
                r.list
            ),
        ));
    }
    if !source.offers(&r.list, r.mode) {
        return Err(Refusal::new(
            RefusalKind::ModeNotOffered,
            format!("{} is not offered in {} mode", r.list, r.mode.code()),
        ));
    }
    let n = req.blinded.len();
    if n == 0 {
        return Err(Refusal::new(RefusalKind::Malformed, "empty request"));
    }
    if n > r.mode.max_count() {
        return Err(Refusal::new(
            RefusalKind::BatchTooLarge,
            format!(
                "{n} items, at most {} per {} request",
                r.mode.max_count(),
                r.mode.code()
            ),
        ));
    }
    if usize::try_from(r.count).ok() != Some(n) {
        return bad(format!("the request counts {}, {n} were sent", r.count));
    }
    if r.blinded_digest != blinded_digest(&req.blinded) {
        return bad("the blinded elements are not the ones the request signs".into());
    }
    req.request
        .verify(&key)
        .map_err(|e| Refusal::new(RefusalKind::BadRequest, e.to_string()))
}
