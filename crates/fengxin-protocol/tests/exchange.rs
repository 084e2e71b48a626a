//! Full querier/responder exchanges with real VOPRF evaluations and real Groth16 proofs (records
//! v2): what the responder checks on a signed request before any work, the receipt it
//! countersigns and submits, the membership step's bookkeeping (one answer per evaluated
//! proof-mode request, to its querier), and every kind of responder misbehaviour the querier
//! must catch.
//!
//! Tests of a refused request re-sign the tampered request with the key the responder expects
//! wherever that is possible, so that each refusal can only come from the check under test
//! (not from the querier's signature no longer verifying), and end with the untampered
//! request being accepted.

use fengxin_crypto::{IdentityKey, IdentityPublicKey, ListKey, MasterSeed};
use fengxin_proofs::{keys, Prover, Verifier};
use fengxin_protocol::{
    evaluation_digest, AnswerSource, AwaitingAnswers, AwaitingEvaluation, EvaluateRequest,
    EvaluateResponse, MembershipRequest, MembershipResponse, Misbehaviour, Mode, Publication,
    PublicationError, Querier, QueryError, QueryRequest, Receipt, ReceiptError, Refusal,
    RefusalKind, Request, Responder, Response, RngCoreCrypto, SignedPublication, MAX_BATCH,
    RECEIPT_VERSION,
};
use fengxin_tree::{IndexedMerkleTree, MemoryStore};
use fengxin_types::{CanonicalId, Epoch, IdType, ListId, MemberName, Tag};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

/// The chain every party of these tests belongs to.
const CHAIN: [u8; 32] = [0xC4; 32];
/// Another chain (genesis).
const OTHER_CHAIN: [u8; 32] = [0x0C; 32];

fn prover() -> &'static Prover {
    static P: OnceLock<Prover> = OnceLock::new();
    P.get_or_init(|| {
        keys::load_prover(&keys::params_dir().expect("parameter directory"))
            .expect("development prover")
    })
}

fn verifier() -> Verifier {
    keys::load_verifier(&keys::params_dir().expect("parameter directory")).expect("verifier")
}

fn list() -> ListId {
    ListId::parse("fraud_txn").expect("valid")
}

fn id(s: &str) -> CanonicalId {
    CanonicalId::parse(IdType::Account, s, fengxin_types::CivilDate::today_china()).expect("valid")
}

fn name(s: &str) -> MemberName {
    MemberName::parse(s).expect("valid")
}

/// A member (or a stranger) with its identity key.
struct Party {
    name: MemberName,
    key: IdentityKey,
}

impl Party {
    fn new(member: &str, seed: u8) -> Self {
        Self {
            name: name(member),
            key: IdentityKey::from_slice(&[seed; 32]).expect("key"),
        }
    }

    fn public(&self) -> IdentityPublicKey {
        self.key.public()
    }

    /// The party as a querier on [`CHAIN`].
    fn querier(&self) -> Querier<'_> {
        self.on(CHAIN)
    }

    /// The party as a querier on `chain`.
    fn on(&self, chain: [u8; 32]) -> Querier<'_> {
        Querier {
            chain,
            member: &self.name,
            key: &self.key,
        }
    }
}

/// The querier of most tests.
fn bank_a() -> Party {
    Party::new("bank-a", 0xA1)
}

/// The responder.
fn bank_b() -> Party {
    Party::new("bank-b", 0xB1)
}

/// Another current member.
fn bank_c() -> Party {
    Party::new("bank-c", 0xC1)
}

/// Not a member: no key of its is registered.
fn stranger() -> Party {
    Party::new("bank-z", 0x5A)
}

/// The responder's view (bank-b) over an in-memory tree. Its behaviour can be bent for
/// misbehaviour tests, and it records what it evaluated and which receipts it was handed. It
/// keeps the trait's default `offers` (proof mode only); [`WithSnapshots`] offers both.
struct Member {
    me: Party,
    key: ListKey,
    tree: IndexedMerkleTree<MemoryStore>,
    published_root: [u8; 32],
    /// The registered identity keys of current members.
    directory: Vec<(MemberName, IdentityPublicKey)>,
    /// Evaluate with this key instead (a responder using an unpublished key).
    evaluate_with: Option<ListKey>,
    /// Accept only this allowance claim (none: no allowances kept).
    required_claim: Option<Vec<u8>>,
    /// Refuse every querier's credits with this kind (none: no credits kept).
    credits: Option<RefusalKind>,
    /// The ledger refuses receipts.
    fail_submit: bool,
    /// Refuse every spend as already spent (a request or claim served before a restart).
    refuse_spend: bool,
    /// The request ids spent, in order.
    spends: Mutex<Vec<[u8; 32]>>,
    /// How many proofs were made.
    proofs: AtomicUsize,
    /// How many batches were evaluated.
    evaluations: AtomicUsize,
    /// The receipts handed to the ledger.
    receipts: Mutex<Vec<Receipt>>,
}

impl Member {
    fn new(seed: u64, entries: &[&str]) -> Self {
        let master = MasterSeed::generate(&mut ChaCha20Rng::seed_from_u64(seed));
        let key = ListKey::derive(&master, &list(), Epoch::FIRST).expect("key");
        let tags: Vec<Tag> = entries
            .iter()
            .map(|e| key.tag(&id(e)).expect("tag"))
            .collect();
        let tree = IndexedMerkleTree::build(MemoryStore::new(), tags).expect("build");
        let published_root = tree.root().to_bytes();
        Self {
            me: bank_b(),
            key,
            tree,
            published_root,
            directory: [bank_a(), bank_b(), bank_c()]
                .iter()
                .map(|p| (p.name.clone(), p.public()))
                .collect(),
            evaluate_with: None,
            required_claim: None,
            credits: None,
            fail_submit: false,
            refuse_spend: false,
            spends: Mutex::new(Vec::new()),
            proofs: AtomicUsize::new(0),
            evaluations: AtomicUsize::new(0),
            receipts: Mutex::new(Vec::new()),
        }
    }

    fn publication(&self) -> Publication {
        Publication {
            version: Publication::VERSION,
            chain: CHAIN,
            member: self.me.name.clone(),
            list: list(),
            epoch: Epoch::FIRST,
            root: self.published_root,
            oprf_public_key: self.key.public_key().to_bytes(),
            published_at: 1_700_000_000,
            policy: fengxin_types::ListPolicy::ProofOnly,
            snapshot: None,
        }
    }

    /// The responder's registered identity key.
    fn identity(&self) -> IdentityPublicKey {
        self.me.public()
    }

    fn tag(&self, s: &str) -> Tag {
        self.key.tag(&id(s)).expect("tag")
    }

    fn receipts(&self) -> Vec<Receipt> {
        self.receipts.lock().expect("lock").clone()
    }

    fn evaluations(&self) -> usize {
        self.evaluations.load(Ordering::SeqCst)
    }
}

impl AnswerSource for Member {
    fn chain(&self) -> [u8; 32] {
        CHAIN
    }

    fn published(&self, l: &ListId) -> Option<(Epoch, [u8; 32])> {
        (l == &list()).then_some((Epoch::FIRST, self.published_root))
    }

    fn identity_key(&self, member: &MemberName) -> Option<IdentityPublicKey> {
        self.directory
            .iter()
            .find(|(n, _)| n == member)
            .map(|(_, k)| *k)
    }

    fn evaluate(
        &self,
        _: &ListId,
        _: Epoch,
        blinded: &[[u8; 32]],
        rng: &mut dyn RngCoreCrypto,
    ) -> Result<(Vec<[u8; 32]>, Vec<u8>), String> {
        self.evaluations.fetch_add(1, Ordering::SeqCst);
        let key = self.evaluate_with.as_ref().unwrap_or(&self.key);
        key.blind_evaluate_batch(&mut &mut *rng, blinded)
            .map(|(e, p)| (e, p.to_vec()))
            .map_err(|e| e.to_string())
    }

    fn prove(
        &self,
        _: &ListId,
        _: Epoch,
        tag: Tag,
        rng: &mut dyn RngCoreCrypto,
    ) -> Result<(bool, Vec<u8>), String> {
        self.proofs.fetch_add(1, Ordering::SeqCst);
        let lookup = self.tree.lookup(tag).map_err(|e| e.to_string())?;
        let (public, proof) = prover()
            .prove_lookup(self.tree.root(), tag, &lookup, &mut &mut *rng)
            .map_err(|e| e.to_string())?;
        Ok((public.result, proof.to_bytes()))
    }

    fn publications(&self) -> Vec<SignedPublication> {
        vec![self.publication().sign(&self.me.key)]
    }

    fn member(&self) -> &MemberName {
        &self.me.name
    }

    fn sign(&self, bytes: &[u8]) -> Vec<u8> {
        self.me.key.sign(bytes).to_vec()
    }

    fn submit_receipt(&self, receipt: &Receipt) -> Result<(), String> {
        if self.fail_submit {
            return Err("the ledger is unreachable".into());
        }
        self.receipts.lock().expect("lock").push(receipt.clone());
        Ok(())
    }

    fn check_allowance(&self, _: &MemberName, count: usize, claim: &[u8]) -> Result<(), String> {
        match &self.required_claim {
            Some(c) if c.as_slice() != claim => Err(format!("no valid claim for {count}")),
            _ => Ok(()),
        }
    }

    fn check_credits(&self, querier: &MemberName, _: usize) -> Result<(), Refusal> {
        match self.credits {
            Some(kind) => Err(Refusal::new(kind, format!("{querier} may not screen"))),
            None => Ok(()),
        }
    }

    fn spend(&self, id: [u8; 32], _: &QueryRequest) -> Result<(), Refusal> {
        if self.refuse_spend {
            return Err(Refusal::new(RefusalKind::Replayed, "spent before"));
        }
        self.spends.lock().expect("lock").push(id);
        Ok(())
    }
}

/// A responder that offers its list in snapshot mode as well; everything else is the
/// [`Member`]'s.
struct WithSnapshots<'a>(&'a Member);

impl AnswerSource for WithSnapshots<'_> {
    fn chain(&self) -> [u8; 32] {
        self.0.chain()
    }

    fn published(&self, l: &ListId) -> Option<(Epoch, [u8; 32])> {
        self.0.published(l)
    }

    fn offers(&self, l: &ListId, _: Mode) -> bool {
        l == &list()
    }

    fn identity_key(&self, member: &MemberName) -> Option<IdentityPublicKey> {
        self.0.identity_key(member)
    }

    fn check_allowance(
        &self,
        querier: &MemberName,
        count: usize,
        claim: &[u8],
    ) -> Result<(), String> {
        self.0.check_allowance(querier, count, claim)
    }

    fn evaluate(
        &self,
        l: &ListId,
        epoch: Epoch,
        blinded: &[[u8; 32]],
        rng: &mut dyn RngCoreCrypto,
    ) -> Result<(Vec<[u8; 32]>, Vec<u8>), String> {
        self.0.evaluate(l, epoch, blinded, rng)
    }

    fn prove(
        &self,
        l: &ListId,
        epoch: Epoch,
        tag: Tag,
        rng: &mut dyn RngCoreCrypto,
    ) -> Result<(bool, Vec<u8>), String> {
        self.0.prove(l, epoch, tag, rng)
    }

    fn publications(&self) -> Vec<SignedPublication> {
        self.0.publications()
    }

    fn member(&self) -> &MemberName {
        self.0.member()
    }

    fn sign(&self, bytes: &[u8]) -> Vec<u8> {
        self.0.sign(bytes)
    }

    fn submit_receipt(&self, receipt: &Receipt) -> Result<(), String> {
        self.0.submit_receipt(receipt)
    }
}

// ---------------------------------------------------------------------------------------------
// Driving an exchange
// ---------------------------------------------------------------------------------------------

/// A responder core with the member it answers for.
struct Session {
    member: Member,
    responder: Responder,
}

impl Session {
    fn new(member: Member) -> Self {
        Self {
            member,
            responder: Responder::default(),
        }
    }

    fn send(&self, peer: &MemberName, request: Request, rng: &mut ChaCha20Rng) -> Response {
        self.responder.handle(&self.member, peer, request, rng)
    }

    /// Step 1 as received from the authenticated `peer`.
    fn evaluate(&self, peer: &MemberName, req: EvaluateRequest, rng: &mut ChaCha20Rng) -> Response {
        self.send(peer, Request::Evaluate(req), rng)
    }

    /// Step 2 as received from the authenticated `peer`.
    fn ask(&self, peer: &MemberName, req: MembershipRequest, rng: &mut ChaCha20Rng) -> Response {
        self.send(peer, Request::Membership(req), rng)
    }

    /// `who` starts a query of `ids` against the member's publication (no allowance claim).
    fn start(
        &self,
        who: &Party,
        ids: &[CanonicalId],
        rng: &mut ChaCha20Rng,
    ) -> (AwaitingEvaluation, EvaluateRequest) {
        start(
            who.querier(),
            &self.member.publication(),
            ids,
            Vec::new(),
            rng,
        )
    }

    /// Runs step 1 honestly: the querier's state and the membership request it sends.
    fn step1(
        &self,
        who: &Party,
        ids: &[CanonicalId],
        rng: &mut ChaCha20Rng,
    ) -> (AwaitingAnswers, MembershipRequest) {
        let (awaiting, request) = self.start(who, ids, rng);
        let response = self.evaluate(&who.name, request, rng);
        let (answers, request) = awaiting
            .handle(response, &self.member.identity())
            .expect("valid evaluation");
        (answers, membership(request))
    }

    /// Nothing was evaluated, and no receipt was handed to the ledger.
    #[track_caller]
    fn assert_untouched(&self, what: &str) {
        assert_eq!(self.member.evaluations(), 0, "{what}: evaluated");
        assert!(
            self.member.receipts().is_empty(),
            "{what}: receipt submitted"
        );
    }
}

/// Starts a query as `querier` against `publication`.
fn start(
    querier: Querier<'_>,
    publication: &Publication,
    ids: &[CanonicalId],
    allowance: Vec<u8>,
    rng: &mut ChaCha20Rng,
) -> (AwaitingEvaluation, EvaluateRequest) {
    let (awaiting, request) = querier
        .start(rng, publication, ids, allowance)
        .expect("start");
    let Request::Evaluate(request) = request else {
        panic!("step 1 sends an evaluate request, got {request:?}")
    };
    (awaiting, request)
}

#[track_caller]
fn membership(request: Request) -> MembershipRequest {
    match request {
        Request::Membership(m) => m,
        other => panic!("expected a membership request, got {other:?}"),
    }
}

#[track_caller]
fn evaluated(response: Response) -> EvaluateResponse {
    match response {
        Response::Evaluated(e) => e,
        other => panic!("expected an evaluation, got {other:?}"),
    }
}

#[track_caller]
fn refusal(response: &Response) -> RefusalKind {
    match response {
        Response::Refused(r) => r.kind,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[track_caller]
fn refused<T: std::fmt::Debug>(result: Result<T, QueryError>) -> RefusalKind {
    match result {
        Err(QueryError::Refused(r)) => r.kind,
        other => panic!("expected the querier to report a refusal, got {other:?}"),
    }
}

/// `req` with its signed request edited by `edit` and signed again with `key`.
fn resign(
    req: &EvaluateRequest,
    key: &IdentityKey,
    edit: impl FnOnce(&mut QueryRequest),
) -> EvaluateRequest {
    let mut request = req.request.request.clone();
    edit(&mut request);
    EvaluateRequest {
        request: request.sign(key),
        blinded: req.blinded.clone(),
    }
}

/// `req` with its blinded elements edited after signing.
fn reblind(req: &EvaluateRequest, edit: impl FnOnce(&mut Vec<[u8; 32]>)) -> EvaluateRequest {
    let mut req = req.clone();
    edit(&mut req.blinded);
    req
}

/// An evaluate request that must be refused.
struct Case<'a> {
    what: &'a str,
    peer: &'a MemberName,
    request: EvaluateRequest,
    kind: RefusalKind,
}

/// Each case is refused with its kind before anything is evaluated or recorded; then the
/// untampered `honest` request from `peer` is accepted and its receipt submitted, so the
/// refusals came from the tampering.
fn assert_refused_before_work(
    session: &Session,
    cases: Vec<Case<'_>>,
    (peer, honest): (&MemberName, EvaluateRequest),
    rng: &mut ChaCha20Rng,
) {
    for case in cases {
        let response = session.evaluate(case.peer, case.request, rng);
        assert_eq!(refusal(&response), case.kind, "{}: {response:?}", case.what);
        session.assert_untouched(case.what);
    }
    evaluated(session.evaluate(peer, honest, rng));
    assert_eq!(session.member.receipts().len(), 1);
}

// ---------------------------------------------------------------------------------------------
// The honest exchange and a responder's misbehaviour
// ---------------------------------------------------------------------------------------------

#[test]
fn honest_exchange_and_every_tampering_of_the_answers() {
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    let session = Session::new(Member::new(1, &["ACC-1", "ACC-2", "ACC-3"]));
    let a = bank_a();
    let ids = [id("ACC-2"), id("ACC-9"), id("acc-3")];
    let verifier = verifier();

    let (awaiting, request) = session.step1(&a, &ids, &mut rng);
    let tags = awaiting.tags().to_vec();
    assert_eq!(tags, request.tags);
    let response = session.ask(&a.name, request, &mut rng);
    let Response::Answers(honest) = response.clone() else {
        panic!("expected answers, got {response:?}")
    };
    let exchange = awaiting
        .handle(response, &verifier, &mut rng)
        .expect("honest answers verify");

    let hits: Vec<bool> = exchange.answers.iter().map(|a| a.hit()).collect();
    assert_eq!(hits, vec![true, false, true]);
    let indices: Vec<usize> = exchange.answers.iter().map(|a| a.index()).collect();
    assert_eq!(indices, vec![0, 1, 2]);
    assert_eq!(exchange.answers[1].tag(), tags[1]);

    // The evidence recomputes both digests of the receipt and carries every answer's proof.
    let e = &exchange.evidence;
    let signed = &exchange.receipt.request.request;
    assert_eq!(
        fengxin_protocol::blinded_digest(&e.blinded),
        signed.blinded_digest
    );
    assert_eq!(
        evaluation_digest(&e.evaluated, &e.dleq_proof),
        exchange.receipt.answer_digest
    );
    let proofs: Vec<Vec<u8>> = honest.answers.iter().map(|a| a.proof.clone()).collect();
    assert_eq!(e.proofs, proofs);

    let receipt = &exchange.receipt;
    assert_eq!(
        receipt.verify(&a.public(), &session.member.identity()),
        Ok(())
    );
    let r = &receipt.request.request;
    assert_eq!(
        (r.version, r.chain, &r.querier, &r.responder, &r.list),
        (
            RECEIPT_VERSION,
            CHAIN,
            &a.name,
            &session.member.me.name,
            &list()
        )
    );
    assert_eq!((r.epoch, r.mode, r.count), (Epoch::FIRST, Mode::Proof, 3));
    assert_eq!(session.member.receipts(), vec![receipt.clone()]);

    // Each tampering on a fresh evaluation of the same identifiers (the tags are the same, so
    // the honest answers would verify).
    let again = |rng: &mut ChaCha20Rng, tamper: &dyn Fn(&mut MembershipResponse)| {
        let (awaiting, _) = session.step1(&a, &ids, rng);
        let mut r = honest.clone();
        tamper(&mut r);
        awaiting.handle(Response::Answers(r), &verifier, rng)
    };
    assert!(again(&mut rng, &|_| {}).is_ok(), "the honest answers again");

    // A flipped result.
    let err = again(&mut rng, &|r| r.answers[1].result = true).expect_err("flipped result");
    assert_eq!(
        err,
        QueryError::Misbehaved(Misbehaviour::BadProof { index: 1 })
    );
    // Swapped proofs.
    let err = again(&mut rng, &|r| r.answers.swap(0, 2)).expect_err("swapped answers");
    assert_eq!(
        err,
        QueryError::Misbehaved(Misbehaviour::BadProof { index: 0 })
    );
    // A flipped proof byte (either undecodable or not verifying).
    let err = again(&mut rng, &|r| r.answers[2].proof[40] ^= 0x01).expect_err("proof byte");
    assert!(
        matches!(
            err,
            QueryError::Misbehaved(
                Misbehaviour::BadProof { index: 2 } | Misbehaviour::ProofEncoding { index: 2, .. }
            )
        ),
        "{err:?}"
    );
    // Garbage instead of a proof.
    let err = again(&mut rng, &|r| r.answers[0].proof = vec![7; 129]).expect_err("garbage");
    assert!(
        matches!(
            err,
            QueryError::Misbehaved(
                Misbehaviour::ProofEncoding { index: 0, .. } | Misbehaviour::BadProof { index: 0 }
            )
        ),
        "{err:?}"
    );
    // A dropped answer, an extra one.
    let err = again(&mut rng, &|r| {
        r.answers.pop();
    })
    .expect_err("dropped");
    assert_eq!(
        err,
        QueryError::Misbehaved(Misbehaviour::WrongCount {
            expected: 3,
            got: 2
        })
    );
    let err = again(&mut rng, &|r| r.answers.push(r.answers[0].clone())).expect_err("extra");
    assert_eq!(
        err,
        QueryError::Misbehaved(Misbehaviour::WrongCount {
            expected: 3,
            got: 4
        })
    );
}

#[test]
fn responder_with_another_oprf_key_is_caught() {
    let mut rng = ChaCha20Rng::seed_from_u64(10);
    let mut member = Member::new(2, &["ACC-1"]);
    let other = MasterSeed::generate(&mut rng);
    member.evaluate_with = Some(ListKey::derive(&other, &list(), Epoch::FIRST).expect("key"));
    let session = Session::new(member);
    let a = bank_a();
    let (awaiting, request) = session.start(&a, &[id("ACC-1")], &mut rng);
    let response = session.evaluate(&a.name, request, &mut rng);
    let err = awaiting
        .handle(response, &session.member.identity())
        .expect_err("wrong key");
    assert_eq!(err, QueryError::Misbehaved(Misbehaviour::BadDleq));
}

#[test]
fn responder_answering_against_another_root_is_caught() {
    let mut rng = ChaCha20Rng::seed_from_u64(11);
    let mut member = Member::new(3, &["ACC-1", "ACC-2"]);
    // The responder's tree moved on (an unpublished change); it proves against the new root.
    let moved = member.tag("ACC-7");
    member.tree.insert(moved).expect("insert");
    let session = Session::new(member);
    let a = bank_a();
    let (awaiting, request) = session.step1(&a, &[id("ACC-7")], &mut rng);
    let response = session.ask(&a.name, request, &mut rng);
    let err = awaiting
        .handle(response, &verifier(), &mut rng)
        .expect_err("other root");
    assert_eq!(
        err,
        QueryError::Misbehaved(Misbehaviour::BadProof { index: 0 })
    );
}

/// Item 8: the querier checks the countersignature it is handed against the responder's
/// identity key, over its own request id and the evaluation it received.
#[test]
fn the_querier_catches_a_countersignature_that_does_not_verify() {
    let mut rng = ChaCha20Rng::seed_from_u64(15);
    let session = Session::new(Member::new(7, &["ACC-1"]));
    let a = bank_a();
    let ids = [id("ACC-1")];
    let responder = session.member.identity();
    let tampered =
        |rng: &mut ChaCha20Rng, key: &IdentityPublicKey, tamper: &dyn Fn(&mut EvaluateResponse)| {
            let (awaiting, request) = session.start(&a, &ids, rng);
            let mut response = evaluated(session.evaluate(&a.name, request, rng));
            tamper(&mut response);
            awaiting
                .handle(Response::Evaluated(response), key)
                .map(|_| ())
        };
    assert_eq!(tampered(&mut rng, &responder, &|_| {}), Ok(()), "honest");
    let of_another_exchange = session.member.receipts()[0].responder_signature.clone();

    let bad = QueryError::Misbehaved(Misbehaviour::BadReceiptSignature);
    let flipped = |r: &mut EvaluateResponse| r.receipt_signature[5] ^= 0x01;
    assert_eq!(tampered(&mut rng, &responder, &flipped), Err(bad.clone()));
    let replayed = |r: &mut EvaluateResponse| r.receipt_signature = of_another_exchange.clone();
    assert_eq!(tampered(&mut rng, &responder, &replayed), Err(bad.clone()));
    let missing = |r: &mut EvaluateResponse| r.receipt_signature.clear();
    assert_eq!(tampered(&mut rng, &responder, &missing), Err(bad.clone()));
    // A countersignature by a key other than the responder's registered one.
    assert_eq!(tampered(&mut rng, &bank_c().public(), &|_| {}), Err(bad));
}

// ---------------------------------------------------------------------------------------------
// What the responder checks before any work (items 1-5)
// ---------------------------------------------------------------------------------------------

/// Item 1.
#[test]
fn a_request_signed_for_another_chain_is_refused_before_any_work() {
    let mut rng = ChaCha20Rng::seed_from_u64(30);
    let session = Session::new(Member::new(8, &["ACC-1"]));
    let a = bank_a();
    let ids = [id("ACC-1")];
    let mut elsewhere = session.member.publication();
    elsewhere.chain = OTHER_CHAIN;
    let (_, other_chain) = start(a.on(OTHER_CHAIN), &elsewhere, &ids, Vec::new(), &mut rng);
    let (_, honest) = session.start(&a, &ids, &mut rng);
    let cases = vec![Case {
        what: "signed by the querier for another chain",
        peer: &a.name,
        request: other_chain,
        kind: RefusalKind::BadRequest,
    }];
    assert_refused_before_work(&session, cases, (&a.name, honest), &mut rng);
}

/// Item 2.
#[test]
fn a_request_must_name_the_authenticated_querier_and_this_responder() {
    let mut rng = ChaCha20Rng::seed_from_u64(31);
    let session = Session::new(Member::new(9, &["ACC-1"]));
    let (a, c) = (bank_a(), bank_c());
    let ids = [id("ACC-1")];
    let (_, honest) = session.start(&a, &ids, &mut rng);
    let (_, of_c) = session.start(&c, &ids, &mut rng);
    let mut at_c = session.member.publication();
    at_c.member = c.name.clone();
    let (_, addressed_to_c) = start(a.querier(), &at_c, &ids, Vec::new(), &mut rng);
    let cases = vec![
        Case {
            what: "bank-a's request naming bank-c as the querier (bank-c would pay)",
            peer: &a.name,
            request: resign(&honest, &a.key, |r| r.querier = c.name.clone()),
            kind: RefusalKind::BadRequest,
        },
        Case {
            what: "bank-c's request replayed on bank-a's connection",
            peer: &a.name,
            request: of_c,
            kind: RefusalKind::BadRequest,
        },
        Case {
            what: "a request bank-a addressed to bank-c",
            peer: &a.name,
            request: addressed_to_c,
            kind: RefusalKind::BadRequest,
        },
    ];
    assert_refused_before_work(&session, cases, (&a.name, honest), &mut rng);
}

/// Item 3.
#[test]
fn the_signed_count_and_digest_bind_the_blinded_elements() {
    let mut rng = ChaCha20Rng::seed_from_u64(32);
    let session = Session::new(Member::new(10, &["ACC-1"]));
    let a = bank_a();
    let (_, honest) = session.start(&a, &[id("ACC-1"), id("ACC-2"), id("ACC-3")], &mut rng);
    let (_, other) = session.start(&a, &[id("ACC-4")], &mut rng);
    let extra = other.blinded[0];
    let case = |what, request| Case {
        what,
        peer: &a.name,
        request,
        kind: RefusalKind::BadRequest,
    };
    let cases = vec![
        case(
            "elements swapped after signing",
            reblind(&honest, |b| b.swap(0, 1)),
        ),
        case(
            "an element replaced after signing",
            reblind(&honest, |b| b[2] = extra),
        ),
        case(
            "an element added after signing",
            reblind(&honest, |b| b.push(extra)),
        ),
        case(
            "an element dropped after signing",
            reblind(&honest, |b| {
                b.pop();
            }),
        ),
        case(
            "an element added, the count signed for it, the digest left",
            resign(&reblind(&honest, |b| b.push(extra)), &a.key, |r| {
                r.count = 4
            }),
        ),
        case(
            "a signed count above the elements sent",
            resign(&honest, &a.key, |r| r.count = 4),
        ),
        case(
            "a signed count below the elements sent",
            resign(&honest, &a.key, |r| r.count = 2),
        ),
    ];
    assert_refused_before_work(&session, cases, (&a.name, honest), &mut rng);
}

/// Item 4.
#[test]
fn only_the_querier_s_own_signature_is_accepted() {
    let mut rng = ChaCha20Rng::seed_from_u64(33);
    let session = Session::new(Member::new(11, &["ACC-1"]));
    let (a, z) = (bank_a(), stranger());
    let ids = [id("ACC-1")];
    let (_, honest) = session.start(&a, &ids, &mut rng);
    let (_, of_stranger) = session.start(&z, &ids, &mut rng);
    let mut flipped = honest.clone();
    flipped.request.querier_signature[0] ^= 0x01;
    let mut unsigned = honest.clone();
    unsigned.request.querier_signature.clear();
    let case = |what, peer, request, kind| Case {
        what,
        peer,
        request,
        kind,
    };
    let bad = RefusalKind::BadRequest;
    let cases = vec![
        case(
            "signed by the responder's own key",
            &a.name,
            resign(&honest, &session.member.me.key, |_| {}),
            bad,
        ),
        case(
            "signed by another member's key",
            &a.name,
            resign(&honest, &bank_c().key, |_| {}),
            bad,
        ),
        case(
            "signed by a stranger's key",
            &a.name,
            resign(&honest, &z.key, |_| {}),
            bad,
        ),
        case("a flipped signature byte", &a.name, flipped, bad),
        case("no signature", &a.name, unsigned, bad),
        case(
            "an old version, signed",
            &a.name,
            resign(&honest, &a.key, |r| r.version = 1),
            bad,
        ),
        case(
            "a querier with no registered key",
            &z.name,
            of_stranger,
            RefusalKind::NotMember,
        ),
    ];
    assert_refused_before_work(&session, cases, (&a.name, honest), &mut rng);
}

/// Item 5, and the snapshot request a responder does offer is evaluated and receipted but
/// never answered in the membership step.
#[test]
fn snapshot_mode_is_not_offered_by_default() {
    let mut rng = ChaCha20Rng::seed_from_u64(34);
    let a = bank_a();
    let ids = [id("ACC-1")];
    let session = Session::new(Member::new(12, &["ACC-1"]));
    let (_, honest) = session.start(&a, &ids, &mut rng);
    let snapshot = resign(&honest, &a.key, |r| r.mode = Mode::Snapshot);
    let cases = vec![Case {
        what: "a snapshot-mode request",
        peer: &a.name,
        request: snapshot.clone(),
        kind: RefusalKind::ModeNotOffered,
    }];
    assert_refused_before_work(&session, cases, (&a.name, honest), &mut rng);

    let member = Member::new(12, &["ACC-1"]);
    let source = WithSnapshots(&member);
    let responder = Responder::default();
    let request_id = snapshot.request.id();
    evaluated(responder.handle(&source, &a.name, Request::Evaluate(snapshot), &mut rng));
    let receipts = member.receipts();
    assert_eq!(receipts.len(), 1);
    assert_eq!(receipts[0].request.request.mode, Mode::Snapshot);
    let membership = MembershipRequest {
        request_id,
        root: member.published_root,
        tags: vec![member.tag("ACC-1")],
    };
    let response = responder.handle(&source, &a.name, Request::Membership(membership), &mut rng);
    assert_eq!(refusal(&response), RefusalKind::UnknownRequest);
}

/// A snapshot batch of the largest size whose allowance claim the responder does not accept is
/// refused before anything is evaluated or receipted; with a claim it accepts, the same batch
/// is evaluated with one proof and one receipt; a batch over the largest size never leaves the
/// querier.
#[test]
fn a_snapshot_batch_over_allowance_is_refused_before_any_evaluation() {
    let mut rng = ChaCha20Rng::seed_from_u64(35);
    let a = bank_a();
    let mut member = Member::new(36, &["ACC-1"]);
    member.required_claim = Some(b"valid claim".to_vec());
    let source = WithSnapshots(&member);
    let responder = Responder::default();
    let publication = member.publication();
    let largest = Mode::Snapshot.max_count();
    assert_eq!(largest, 65_535);
    let ids: Vec<CanonicalId> = (0..=largest).map(|i| id(&format!("ACC-{i}"))).collect();
    let snapshot_request = |claim: &[u8], rng: &mut ChaCha20Rng| match a
        .querier()
        .start_mode(
            rng,
            &publication,
            &ids[..largest],
            claim.to_vec(),
            Mode::Snapshot,
        )
        .expect("start")
    {
        (_, Request::Evaluate(r)) => r,
        (_, other) => panic!("expected an evaluate request, got {other:?}"),
    };
    let forged = snapshot_request(b"forged claim", &mut rng);
    let response = responder.handle(&source, &a.name, Request::Evaluate(forged), &mut rng);
    assert_eq!(refusal(&response), RefusalKind::OverAllowance);
    assert_eq!(member.evaluations(), 0, "evaluated over allowance");
    assert!(member.receipts().is_empty(), "receipted over allowance");

    let valid = snapshot_request(b"valid claim", &mut rng);
    let e = evaluated(responder.handle(&source, &a.name, Request::Evaluate(valid), &mut rng));
    assert_eq!(e.evaluated.len(), largest);
    assert_eq!(member.evaluations(), 1);
    let receipts = member.receipts();
    assert_eq!(receipts.len(), 1);
    assert_eq!(receipts[0].request.request.mode, Mode::Snapshot);
    assert_eq!(receipts[0].request.request.count as usize, largest);

    assert!(a
        .querier()
        .start_mode(
            &mut rng,
            &publication,
            &ids,
            b"valid claim".to_vec(),
            Mode::Snapshot
        )
        .is_err());
}

#[test]
fn a_querier_over_its_allowance_or_credits_is_refused_before_any_work() {
    let mut rng = ChaCha20Rng::seed_from_u64(21);
    let a = bank_a();
    let ids = [id("ACC-1")];

    let mut member = Member::new(6, &["ACC-1"]);
    member.required_claim = Some(b"valid claim".to_vec());
    let session = Session::new(member);
    let publication = session.member.publication();
    let (awaiting, forged) = start(
        a.querier(),
        &publication,
        &ids,
        b"forged claim".to_vec(),
        &mut rng,
    );
    let response = session.evaluate(&a.name, forged, &mut rng);
    assert_eq!(refusal(&response), RefusalKind::OverAllowance);
    session.assert_untouched("over allowance");
    let identity = session.member.identity();
    assert_eq!(
        refused(awaiting.handle(response, &identity)),
        RefusalKind::OverAllowance
    );
    // With the claim the responder accepts, the exchange proceeds.
    let (awaiting, valid) = start(
        a.querier(),
        &publication,
        &ids,
        b"valid claim".to_vec(),
        &mut rng,
    );
    let response = session.evaluate(&a.name, valid, &mut rng);
    assert!(awaiting.handle(response, &identity).is_ok());

    // The credits check's refusal reaches the querier as it is.
    for kind in [RefusalKind::Suspended, RefusalKind::InsufficientCredits] {
        let mut member = Member::new(6, &["ACC-1"]);
        member.credits = Some(kind);
        let session = Session::new(member);
        let (awaiting, request) = session.start(&a, &ids, &mut rng);
        let response = session.evaluate(&a.name, request, &mut rng);
        assert_eq!(refusal(&response), kind);
        session.assert_untouched(kind.code());
        assert_eq!(refused(awaiting.handle(response, &identity)), kind);
    }
}

#[test]
fn refusals_and_unexpected_responses() {
    let mut rng = ChaCha20Rng::seed_from_u64(12);
    let session = Session::new(Member::new(4, &["ACC-1"]));
    let a = bank_a();
    let ids = [id("ACC-1")];
    let identity = session.member.identity();
    let refused_for = |rng: &mut ChaCha20Rng, publication: &Publication| {
        let (awaiting, request) = start(a.querier(), publication, &ids, Vec::new(), rng);
        let response = session.evaluate(&a.name, request, rng);
        refused(awaiting.handle(response, &identity))
    };
    // A query against a stale epoch, or a list the responder does not hold.
    let mut stale = session.member.publication();
    stale.epoch = Epoch::FIRST.next().expect("epoch 2");
    assert_eq!(refused_for(&mut rng, &stale), RefusalKind::StaleRoot);
    let mut other_list = session.member.publication();
    other_list.list = ListId::parse("marketing_abuse").expect("valid");
    assert_eq!(refused_for(&mut rng, &other_list), RefusalKind::UnknownList);

    // Batches of no element or too many.
    let (_, honest) = session.start(&a, &ids, &mut rng);
    let empty = reblind(&honest, Vec::clear);
    let response = session.evaluate(&a.name, empty, &mut rng);
    assert_eq!(refusal(&response), RefusalKind::Malformed);
    let huge = reblind(&honest, |b| *b = vec![b[0]; MAX_BATCH + 1]);
    let response = session.evaluate(&a.name, huge, &mut rng);
    assert_eq!(refusal(&response), RefusalKind::BatchTooLarge);
    session.assert_untouched("malformed batches");

    // Publications are served; ledger messages are not the responder's.
    let response = session.send(&a.name, Request::Publications, &mut rng);
    assert!(
        matches!(&response, Response::Publications(p) if p.len() == 1),
        "{response:?}"
    );
    let response = session.send(&a.name, Request::Ledger(vec![1, 2, 3]), &mut rng);
    assert_eq!(refusal(&response), RefusalKind::Malformed);

    // A response of the wrong kind, at either step.
    let (awaiting, _) = session.start(&a, &ids, &mut rng);
    let err = awaiting
        .handle(Response::Publications(Vec::new()), &identity)
        .expect_err("wrong kind");
    assert_eq!(
        err,
        QueryError::Misbehaved(Misbehaviour::UnexpectedResponse)
    );
    let (awaiting, _) = session.step1(&a, &ids, &mut rng);
    let err = awaiting
        .handle(Response::Ledger(Vec::new()), &verifier(), &mut rng)
        .expect_err("wrong kind");
    assert_eq!(
        err,
        QueryError::Misbehaved(Misbehaviour::UnexpectedResponse)
    );

    // Caller misuse: no identifiers, too many, a publication of another chain or unusable.
    let publication = session.member.publication();
    let invalid = |publication: &Publication, ids: &[CanonicalId], rng: &mut ChaCha20Rng| {
        matches!(
            a.querier().start(rng, publication, ids, Vec::new()),
            Err(QueryError::Invalid(_))
        )
    };
    assert!(invalid(&publication, &[], &mut rng), "no identifiers");
    let too_many: Vec<CanonicalId> = (0..=MAX_BATCH).map(|i| id(&format!("ACC-{i}"))).collect();
    assert!(invalid(&publication, &too_many, &mut rng), "too many");
    let elsewhere = Publication {
        chain: OTHER_CHAIN,
        ..publication.clone()
    };
    assert!(invalid(&elsewhere, &ids, &mut rng), "another chain");
    let no_root = Publication {
        root: [0xFF; 32],
        ..publication.clone()
    };
    assert!(
        invalid(&no_root, &ids, &mut rng),
        "root not a field element"
    );
}

// ---------------------------------------------------------------------------------------------
// The receipt (item 6)
// ---------------------------------------------------------------------------------------------

#[test]
fn the_responder_submits_the_receipt_it_countersigns() {
    let mut rng = ChaCha20Rng::seed_from_u64(40);
    let session = Session::new(Member::new(13, &["ACC-1"]));
    let a = bank_a();
    let responder = session.member.identity();
    let (awaiting, request) = session.start(&a, &[id("ACC-1"), id("ACC-2")], &mut rng);
    let signed = awaiting.request().clone();
    assert_eq!(signed, request.request);
    let response = session.evaluate(&a.name, request, &mut rng);
    let Response::Evaluated(e) = &response else {
        panic!("expected an evaluation, got {response:?}")
    };

    let submitted = session.member.receipts();
    assert_eq!(submitted.len(), 1, "exactly one receipt per evaluation");
    let receipt = &submitted[0];
    assert_eq!(
        receipt.request, signed,
        "the querier's request as it signed it"
    );
    assert_eq!(receipt.id(), signed.id());
    assert_eq!(
        receipt.answer_digest,
        evaluation_digest(&e.evaluated, &e.proof)
    );
    assert_eq!(receipt.responder_signature, e.receipt_signature);
    assert_eq!(receipt.verify(&a.public(), &responder), Ok(()));
    assert_eq!(
        receipt.verify(&responder, &a.public()),
        Err(ReceiptError::QuerierSignature)
    );
    assert_eq!(
        receipt.verify(&a.public(), &a.public()),
        Err(ReceiptError::ResponderSignature)
    );

    // The querier ends up holding the same receipt, and asks its tags under its id.
    let (answers, request) = awaiting.handle(response, &responder).expect("valid");
    assert_eq!(answers.receipt(), receipt);
    assert_eq!(membership(request).request_id, receipt.id());
}

#[test]
fn a_receipt_that_cannot_be_recorded_refuses_the_request() {
    let mut rng = ChaCha20Rng::seed_from_u64(41);
    let mut member = Member::new(14, &["ACC-1"]);
    member.fail_submit = true;
    let session = Session::new(member);
    let a = bank_a();
    let (awaiting, request) = session.start(&a, &[id("ACC-1")], &mut rng);
    let request_id = awaiting.request().id();
    let response = session.evaluate(&a.name, request, &mut rng);
    assert_eq!(refusal(&response), RefusalKind::Internal);
    assert_eq!(
        refused(awaiting.handle(response, &session.member.identity())),
        RefusalKind::Internal
    );
    assert!(session.member.receipts().is_empty());
    // Nor does the responder wait for the request's tags.
    let membership = MembershipRequest {
        request_id,
        root: session.member.published_root,
        tags: vec![session.member.tag("ACC-1")],
    };
    let response = session.ask(&a.name, membership, &mut rng);
    assert_eq!(refusal(&response), RefusalKind::UnknownRequest);
}

// ---------------------------------------------------------------------------------------------
// The membership step (item 7)
// ---------------------------------------------------------------------------------------------

/// A change to an honest membership request.
type MembershipTamper = dyn Fn(&mut MembershipRequest);

#[test]
fn membership_is_answered_once_for_an_evaluated_request_by_its_querier() {
    let mut rng = ChaCha20Rng::seed_from_u64(50);
    let session = Session::new(Member::new(15, &["ACC-1"]));
    let (a, c) = (bank_a(), bank_c());
    let ids = [id("ACC-1")];
    let (awaiting, request) = session.step1(&a, &ids, &mut rng);

    let unknown = MembershipRequest {
        request_id: [0x55; 32],
        ..request.clone()
    };
    let response = session.ask(&a.name, unknown, &mut rng);
    assert_eq!(
        refusal(&response),
        RefusalKind::UnknownRequest,
        "unknown id"
    );
    let response = session.ask(&c.name, request.clone(), &mut rng);
    assert_eq!(
        refusal(&response),
        RefusalKind::UnknownRequest,
        "another querier"
    );

    // Its querier is answered (another querier's attempt did not use the request up)...
    let response = session.ask(&a.name, request.clone(), &mut rng);
    let exchange = awaiting
        .handle(response, &verifier(), &mut rng)
        .expect("answers verify");
    assert!(exchange.answers[0].hit());
    // ...once.
    let response = session.ask(&a.name, request, &mut rng);
    assert_eq!(refusal(&response), RefusalKind::UnknownRequest, "replayed");

    // The tags of a request, as many as it counted, against the current root.
    let ids = [id("ACC-1"), id("ACC-2")];
    let wrong: [(&str, &MembershipTamper, RefusalKind); 4] = [
        (
            "a tag dropped",
            &|m| {
                m.tags.pop();
            },
            RefusalKind::BadRequest,
        ),
        (
            "a tag added",
            &|m| m.tags.push(m.tags[0]),
            RefusalKind::BadRequest,
        ),
        ("no tags", &|m| m.tags.clear(), RefusalKind::BadRequest),
        ("another root", &|m| m.root[31] ^= 1, RefusalKind::StaleRoot),
    ];
    for (what, tamper, kind) in wrong {
        let (awaiting, honest) = session.step1(&a, &ids, &mut rng);
        let mut request = honest.clone();
        tamper(&mut request);
        let response = session.ask(&a.name, request, &mut rng);
        assert_eq!(refusal(&response), kind, "{what}");
        // A refused membership request does not use up the request the querier paid for.
        let response = session.ask(&a.name, honest, &mut rng);
        awaiting
            .handle(response, &verifier(), &mut rng)
            .unwrap_or_else(|e| panic!("{what}: the honest retry is answered: {e}"));
    }
}

#[test]
fn a_request_is_evaluated_once() {
    let mut rng = ChaCha20Rng::seed_from_u64(51);
    let session = Session::new(Member::new(16, &["ACC-1"]));
    let a = bank_a();
    let (_, request) = session.start(&a, &[id("ACC-1")], &mut rng);
    evaluated(session.evaluate(&a.name, request.clone(), &mut rng));
    assert_eq!(session.member.evaluations(), 1);
    assert_eq!(session.member.receipts().len(), 1);
    // The same signed request again: refused, not evaluated or countersigned a second time
    // (which would buy a second set of proofs under one receipt id).
    let response = session.evaluate(&a.name, request, &mut rng);
    assert_eq!(refusal(&response), RefusalKind::Replayed);
    assert_eq!(session.member.evaluations(), 1, "evaluated again");
    assert_eq!(session.member.receipts().len(), 1, "countersigned again");
}

#[test]
fn the_responder_forgets_the_oldest_request_past_its_capacity() {
    let mut rng = ChaCha20Rng::seed_from_u64(51);
    let session = Session {
        member: Member::new(16, &["ACC-1"]),
        responder: Responder::new(1),
    };
    let a = bank_a();
    let ids = [id("ACC-1")];
    let (_, first) = session.step1(&a, &ids, &mut rng);
    let (awaiting, second) = session.step1(&a, &ids, &mut rng);
    let response = session.ask(&a.name, first, &mut rng);
    assert_eq!(refusal(&response), RefusalKind::UnknownRequest);
    let response = session.ask(&a.name, second, &mut rng);
    assert!(awaiting.handle(response, &verifier(), &mut rng).is_ok());
}

// ---------------------------------------------------------------------------------------------
// Publications and encodings
// ---------------------------------------------------------------------------------------------

#[test]
fn publications_are_signed() {
    let mut rng = ChaCha20Rng::seed_from_u64(13);
    let member = Member::new(5, &["ACC-1"]);
    let author = IdentityKey::generate(&mut rng);
    let other = IdentityKey::generate(&mut rng);
    let signed = member.publication().sign(&author);
    assert_eq!(signed.verify(&author.public()), Ok(&member.publication()));
    assert!(matches!(
        signed.verify(&other.public()),
        Err(PublicationError::Signature(_))
    ));
    let tampered: [&dyn Fn(&mut SignedPublication); 5] = [
        &|s| s.publication.root[31] ^= 1,
        &|s| s.publication.epoch = Epoch::FIRST.next().expect("2"),
        &|s| s.publication.chain = OTHER_CHAIN,
        &|s| s.publication.member = name("bank-c"),
        &|s| s.signature[0] ^= 1,
    ];
    for (i, tamper) in tampered.iter().enumerate() {
        let mut t = signed.clone();
        tamper(&mut t);
        assert!(
            matches!(
                t.verify(&author.public()),
                Err(PublicationError::Signature(_))
            ),
            "tampering {i}"
        );
    }
    let mut old = signed;
    old.publication.version = 1;
    assert_eq!(
        old.verify(&author.public()),
        Err(PublicationError::Version(1))
    );
}

#[test]
fn messages_round_trip_and_garbage_never_panics() {
    let mut rng = ChaCha20Rng::seed_from_u64(14);
    let session = Session::new(Member::new(6, &["ACC-1"]));
    let a = bank_a();
    let (_, request) = session.start(&a, &[id("ACC-1")], &mut rng);
    let request = Request::Evaluate(request);
    let bytes = postcard::to_stdvec(&request).expect("encode");
    let back: Request = postcard::from_bytes(&bytes).expect("decode");
    assert_eq!(back, request);
    let response = session.send(&a.name, request, &mut rng);
    let bytes = postcard::to_stdvec(&response).expect("encode");
    let back: Response = postcard::from_bytes(&bytes).expect("decode");
    assert_eq!(back, response);
    for len in 0..200 {
        let mut garbage = vec![0u8; len];
        rand_chacha::rand_core::RngCore::fill_bytes(&mut rng, &mut garbage);
        let _ = postcard::from_bytes::<Request>(&garbage);
        let _ = postcard::from_bytes::<Response>(&garbage);
    }
}

#[test]
fn the_claim_is_spent_after_every_check_and_before_anything_is_evaluated() {
    let mut rng = ChaCha20Rng::seed_from_u64(52);
    let a = bank_a();
    let ids = [id("ACC-1")];
    // Refused by a check: nothing is spent.
    let mut member = Member::new(17, &["ACC-1"]);
    member.credits = Some(RefusalKind::InsufficientCredits);
    let session = Session::new(member);
    let (_, request) = session.start(&a, &ids, &mut rng);
    let response = session.evaluate(&a.name, request, &mut rng);
    assert_eq!(refusal(&response), RefusalKind::InsufficientCredits);
    assert!(session.member.spends.lock().expect("lock").is_empty());
    session.assert_untouched("refused by credits");

    // Spent before (the responder's durable book says so): refused, nothing evaluated.
    let mut member = Member::new(17, &["ACC-1"]);
    member.refuse_spend = true;
    let session = Session::new(member);
    let (_, request) = session.start(&a, &ids, &mut rng);
    let response = session.evaluate(&a.name, request, &mut rng);
    assert_eq!(refusal(&response), RefusalKind::Replayed);
    session.assert_untouched("spent before");

    // Served: spent once, under the request's id, and the receipt carries that request.
    let session = Session::new(Member::new(17, &["ACC-1"]));
    let (_, request) = session.start(&a, &ids, &mut rng);
    let id = request.request.id();
    evaluated(session.evaluate(&a.name, request, &mut rng));
    assert_eq!(*session.member.spends.lock().expect("lock"), vec![id]);
    assert_eq!(session.member.receipts()[0].request.id(), id);
}

#[test]
fn tags_without_a_paid_evaluation_are_refused_without_proving() {
    let mut rng = ChaCha20Rng::seed_from_u64(53);
    let session = Session::new(Member::new(18, &["ACC-1"]));
    let a = bank_a();
    let random_tags = |n: usize, rng: &mut ChaCha20Rng| -> Vec<Tag> {
        (0..n)
            .map(|_| {
                let mut b = [0u8; Tag::LEN];
                rand_chacha::rand_core::RngCore::fill_bytes(rng, &mut b);
                Tag::from_bytes(b).expect("tag")
            })
            .collect()
    };
    // 1,024 random tags under a request id nobody evaluated.
    let unpaid = MembershipRequest {
        request_id: [0x77; 32],
        root: session.member.published_root,
        tags: random_tags(1024, &mut rng),
    };
    let response = session.ask(&a.name, unpaid, &mut rng);
    assert_eq!(refusal(&response), RefusalKind::UnknownRequest);
    // 1,024 tags under a request that paid for one identifier.
    let (awaiting, paid) = session.step1(&a, &[id("ACC-1")], &mut rng);
    let padded = MembershipRequest {
        tags: random_tags(1024, &mut rng),
        ..paid.clone()
    };
    let response = session.ask(&a.name, padded, &mut rng);
    assert_eq!(refusal(&response), RefusalKind::BadRequest);
    assert_eq!(session.member.proofs.load(Ordering::SeqCst), 0, "proved");
    // The paid request is still answered, once, for its one tag.
    let response = session.ask(&a.name, paid, &mut rng);
    awaiting
        .handle(response, &verifier(), &mut rng)
        .expect("answers verify");
    assert_eq!(session.member.proofs.load(Ordering::SeqCst), 1);
}

#[test]
fn a_querier_that_stops_waiting_stops_the_proving() {
    let mut rng = ChaCha20Rng::seed_from_u64(54);
    let session = Session::new(Member::new(19, &["ACC-1", "ACC-3"]));
    let a = bank_a();
    let ids: Vec<CanonicalId> = ["ACC-1", "ACC-2", "ACC-3", "ACC-4", "ACC-5", "ACC-6"]
        .iter()
        .map(|s| id(s))
        .collect();
    let (awaiting, request) = session.step1(&a, &ids, &mut rng);
    let proofs = || session.member.proofs.load(Ordering::SeqCst);
    // The querier leaves while the second proof is made.
    let response = session.responder.handle_until(
        &session.member,
        &a.name,
        Request::Membership(request.clone()),
        &mut rng,
        &|| proofs() >= 2,
    );
    assert_eq!(refusal(&response), RefusalKind::Abandoned);
    assert_eq!(proofs(), 2, "proving went on after the querier left");
    // The request stays pending for its querier, who can come back for the answers.
    let response = session.ask(&a.name, request, &mut rng);
    let exchange = awaiting
        .handle(response, &verifier(), &mut rng)
        .expect("answers verify");
    assert_eq!(exchange.answers.iter().filter(|r| r.hit()).count(), 2);
}
