//! Full querier/responder exchanges with real VOPRF evaluations and real Groth16 proofs, and
//! every kind of responder misbehaviour the querier must catch.

use fengxin_crypto::{IdentityKey, ListKey, MasterSeed};
use fengxin_proofs::{keys, Prover, Verifier};
use fengxin_protocol::{
    start, Misbehaviour, Publication, PublicationError, QueryError, RefusalKind, Request,
    Responder, Response, SignedPublication,
};
use fengxin_protocol::{AnswerSource, ReceiptBody};
use fengxin_tree::{IndexedMerkleTree, MemoryStore};
use fengxin_types::{CanonicalId, Epoch, IdType, ListId, MemberName, Tag};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use std::sync::OnceLock;

fn prover() -> &'static Prover {
    static P: OnceLock<Prover> = OnceLock::new();
    P.get_or_init(|| keys::load_prover(&keys::default_params_dir()).expect("development prover"))
}

fn verifier() -> Verifier {
    keys::load_verifier(&keys::default_params_dir()).expect("verifier")
}

fn list() -> ListId {
    ListId::parse("fraud_txn").expect("valid")
}

fn id(s: &str) -> CanonicalId {
    CanonicalId::parse(IdType::Account, s).expect("valid")
}

/// A responder over an in-memory tree; its behaviour can be bent for misbehaviour tests.
struct Member {
    key: ListKey,
    tree: IndexedMerkleTree<MemoryStore>,
    published_root: [u8; 32],
    /// Evaluate with this key instead (a responder using an unpublished key).
    evaluate_with: Option<ListKey>,
    identity: IdentityKey,
    name: MemberName,
    /// Accept only this allowance claim (none: no allowances kept).
    required_claim: Option<Vec<u8>>,
}

fn querier() -> MemberName {
    MemberName::parse("bank-a").expect("valid")
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
            key,
            tree,
            published_root,
            evaluate_with: None,
            identity: IdentityKey::from_slice(&[seed as u8 + 1; 32]).expect("key"),
            name: MemberName::parse("bank-b").expect("valid"),
            required_claim: None,
        }
    }

    fn publication(&self) -> Publication {
        Publication {
            version: Publication::VERSION,
            member: MemberName::parse("bank-b").expect("valid"),
            list: list(),
            epoch: Epoch::FIRST,
            root: self.published_root,
            oprf_public_key: self.key.public_key().to_bytes(),
            published_at: 1_700_000_000,
        }
    }
}

impl AnswerSource for Member {
    fn published(&self, l: &ListId) -> Option<(Epoch, [u8; 32])> {
        (l == &list()).then_some((Epoch::FIRST, self.published_root))
    }

    fn evaluate(
        &self,
        _: &ListId,
        _: Epoch,
        blinded: &[[u8; 32]],
        rng: &mut dyn fengxin_protocol::RngCoreCrypto,
    ) -> Result<(Vec<[u8; 32]>, Vec<u8>), String> {
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
        rng: &mut dyn fengxin_protocol::RngCoreCrypto,
    ) -> Result<(bool, Vec<u8>), String> {
        let lookup = self.tree.lookup(tag).map_err(|e| e.to_string())?;
        let (public, proof) = prover()
            .prove_lookup(self.tree.root(), tag, &lookup, &mut &mut *rng)
            .map_err(|e| e.to_string())?;
        Ok((public.result, proof.to_bytes()))
    }

    fn publications(&self) -> Vec<SignedPublication> {
        Vec::new()
    }

    fn member(&self) -> &MemberName {
        &self.name
    }

    fn sign_receipt(&self, body: &ReceiptBody) -> Vec<u8> {
        self.identity.sign(&body.signing_bytes()).to_vec()
    }

    fn check_allowance(&self, _: &MemberName, count: usize, claim: &[u8]) -> Result<(), String> {
        match &self.required_claim {
            Some(c) if c.as_slice() != claim => Err(format!("no valid claim for {count}")),
            _ => Ok(()),
        }
    }
}

/// Runs steps 1 and 2 and returns the querier's state after step 1 plus the raw answers.
fn exchange(
    member: &Member,
    ids: &[CanonicalId],
    rng: &mut ChaCha20Rng,
) -> (fengxin_protocol::AwaitingAnswers, Response) {
    let (awaiting, request) =
        start(rng, &querier(), &member.publication(), ids, Vec::new()).expect("start");
    let response = Responder::handle(member, &querier(), request, rng);
    let (answers, request) = awaiting.handle(response).expect("valid evaluation");
    let response = Responder::handle(member, &querier(), request, rng);
    (answers, response)
}

#[test]
fn honest_exchange_and_every_tampering() {
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    let member = Member::new(1, &["ACC-1", "ACC-2", "ACC-3"]);
    let ids = [id("ACC-2"), id("ACC-9"), id("acc-3")];
    let verifier = verifier();

    let (awaiting, response) = exchange(&member, &ids, &mut rng);
    let tags = awaiting.tags().to_vec();
    let honest = response.clone();
    let answers = awaiting
        .handle(response, &verifier, &member.identity.public(), &mut rng)
        .expect("honest answers verify");
    let receipt = answers.receipt.clone();
    assert!(receipt.verify(&member.identity.public()));
    assert_eq!(receipt.body.querier, querier());
    assert_eq!(receipt.body.responder, member.name);
    assert_eq!(receipt.body.count, 3);
    let answers = answers.answers;
    let hits: Vec<bool> = answers.iter().map(|a| a.hit()).collect();
    assert_eq!(hits, vec![true, false, true]);
    assert_eq!(answers[1].tag(), tags[1]);

    let Response::Answers(honest) = honest else {
        panic!("expected answers")
    };
    let again = |rng: &mut ChaCha20Rng,
                 tamper: &dyn Fn(&mut fengxin_protocol::MembershipResponse)| {
        let (awaiting, _) = exchange_step1(&member, &ids, rng);
        let mut r = honest.clone();
        tamper(&mut r);
        awaiting.handle(
            Response::Answers(r),
            &verifier,
            &member.identity.public(),
            rng,
        )
    };

    // A flipped result.
    let err = again(&mut rng, &|r| r.answers[1].result = true).expect_err("flipped result");
    assert_eq!(
        err,
        QueryError::Misbehaved(Misbehaviour::BadProof { index: 1 })
    );
    // Swapped proofs.
    let err = again(&mut rng, &|r| {
        let p = r.answers[0].proof.clone();
        r.answers[0].proof = r.answers[2].proof.clone();
        r.answers[2].proof = p;
    })
    .expect_err("swapped proofs");
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
    assert!(matches!(
        err,
        QueryError::Misbehaved(
            Misbehaviour::ProofEncoding { index: 0, .. } | Misbehaviour::BadProof { index: 0 }
        )
    ));
    // A receipt signature that is not the responder's, or signs another exchange.
    let err = again(&mut rng, &|r| r.receipt_signature[5] ^= 0x01).expect_err("bad receipt");
    assert_eq!(
        err,
        QueryError::Misbehaved(Misbehaviour::BadReceiptSignature)
    );
    let replayed = receipt.responder_signature.clone();
    let err = again(&mut rng, &|r| r.receipt_signature = replayed.clone())
        .expect_err("receipt of another exchange");
    assert_eq!(
        err,
        QueryError::Misbehaved(Misbehaviour::BadReceiptSignature)
    );
    // A dropped answer.
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
}

fn exchange_step1(
    member: &Member,
    ids: &[CanonicalId],
    rng: &mut ChaCha20Rng,
) -> (fengxin_protocol::AwaitingAnswers, Request) {
    let (awaiting, request) =
        start(rng, &querier(), &member.publication(), ids, Vec::new()).expect("start");
    let response = Responder::handle(member, &querier(), request, rng);
    awaiting.handle(response).expect("valid evaluation")
}

#[test]
fn responder_with_another_oprf_key_is_caught() {
    let mut rng = ChaCha20Rng::seed_from_u64(10);
    let mut member = Member::new(2, &["ACC-1"]);
    let other = MasterSeed::generate(&mut rng);
    member.evaluate_with = Some(ListKey::derive(&other, &list(), Epoch::FIRST).expect("key"));
    let (awaiting, request) = start(
        &mut rng,
        &querier(),
        &member.publication(),
        &[id("ACC-1")],
        Vec::new(),
    )
    .expect("start");
    let response = Responder::handle(&member, &querier(), request, &mut rng);
    let err = awaiting.handle(response).expect_err("wrong key");
    assert_eq!(err, QueryError::Misbehaved(Misbehaviour::BadDleq));
}

#[test]
fn responder_answering_against_another_root_is_caught() {
    let mut rng = ChaCha20Rng::seed_from_u64(11);
    let mut member = Member::new(3, &["ACC-1", "ACC-2"]);
    // The responder's tree moved on (an unpublished change); it proves against the new root.
    member
        .tree
        .insert(member.key.tag(&id("ACC-7")).expect("tag"))
        .expect("insert");
    let (awaiting, request) = exchange_step1(&member, &[id("ACC-7")], &mut rng);
    let response = Responder::handle(&member, &querier(), request, &mut rng);
    let err = awaiting
        .handle(response, &verifier(), &member.identity.public(), &mut rng)
        .expect_err("other root");
    assert_eq!(
        err,
        QueryError::Misbehaved(Misbehaviour::BadProof { index: 0 })
    );
}

#[test]
fn a_querier_over_its_allowance_is_refused_before_any_evaluation() {
    let mut rng = ChaCha20Rng::seed_from_u64(21);
    let mut member = Member::new(6, &["ACC-1"]);
    member.required_claim = Some(b"valid claim".to_vec());
    let (awaiting, request) = start(
        &mut rng,
        &querier(),
        &member.publication(),
        &[id("ACC-1")],
        b"forged claim".to_vec(),
    )
    .expect("start");
    let response = Responder::handle(&member, &querier(), request, &mut rng);
    assert!(
        matches!(&response, Response::Refused(r) if r.kind == RefusalKind::OverAllowance),
        "{response:?}"
    );
    assert!(matches!(
        awaiting.handle(response),
        Err(QueryError::Refused(r)) if r.kind == RefusalKind::OverAllowance
    ));
    // With the claim the responder accepts, the exchange proceeds.
    let (awaiting, request) = start(
        &mut rng,
        &querier(),
        &member.publication(),
        &[id("ACC-1")],
        b"valid claim".to_vec(),
    )
    .expect("start");
    let response = Responder::handle(&member, &querier(), request, &mut rng);
    assert!(awaiting.handle(response).is_ok());
}

#[test]
fn refusals_and_unexpected_responses() {
    let mut rng = ChaCha20Rng::seed_from_u64(12);
    let member = Member::new(4, &["ACC-1"]);
    // A query against a stale epoch is refused, and the refusal is reported as such.
    let mut stale = member.publication();
    stale.epoch = Epoch::FIRST.next().expect("epoch 2");
    let (awaiting, request) =
        start(&mut rng, &querier(), &stale, &[id("ACC-1")], Vec::new()).expect("start");
    let response = Responder::handle(&member, &querier(), request, &mut rng);
    match awaiting.handle(response) {
        Err(QueryError::Refused(r)) => assert_eq!(r.kind, RefusalKind::StaleRoot),
        other => panic!("expected a refusal, got {other:?}"),
    }
    // Unknown list.
    let mut other_list = member.publication();
    other_list.list = ListId::parse("marketing_abuse").expect("valid");
    let (awaiting, request) = start(
        &mut rng,
        &querier(),
        &other_list,
        &[id("ACC-1")],
        Vec::new(),
    )
    .expect("start");
    let response = Responder::handle(&member, &querier(), request, &mut rng);
    assert!(
        matches!(awaiting.handle(response), Err(QueryError::Refused(r)) if r.kind == RefusalKind::UnknownList)
    );
    // A response of the wrong kind.
    let (awaiting, _) = start(
        &mut rng,
        &querier(),
        &member.publication(),
        &[id("ACC-1")],
        Vec::new(),
    )
    .expect("start");
    let err = awaiting
        .handle(Response::Publications(Vec::new()))
        .expect_err("wrong kind");
    assert_eq!(
        err,
        QueryError::Misbehaved(Misbehaviour::UnexpectedResponse)
    );
    // Caller misuse.
    assert!(matches!(
        start(&mut rng, &querier(), &member.publication(), &[], Vec::new()),
        Err(QueryError::Invalid(_))
    ));
}

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
    let mut tampered = signed.clone();
    tampered.publication.root[31] ^= 1;
    assert!(tampered.verify(&author.public()).is_err());
    let mut tampered = signed.clone();
    tampered.publication.epoch = Epoch::FIRST.next().expect("2");
    assert!(tampered.verify(&author.public()).is_err());
    let mut tampered = signed.clone();
    tampered.signature[0] ^= 1;
    assert!(tampered.verify(&author.public()).is_err());
    let mut tampered = signed;
    tampered.publication.version = 9;
    assert_eq!(
        tampered.verify(&author.public()),
        Err(PublicationError::Version(9))
    );
}

#[test]
fn messages_round_trip_and_garbage_never_panics() {
    let mut rng = ChaCha20Rng::seed_from_u64(14);
    let member = Member::new(6, &["ACC-1"]);
    let (_, request) = start(
        &mut rng,
        &querier(),
        &member.publication(),
        &[id("ACC-1")],
        Vec::new(),
    )
    .expect("start");
    let bytes = postcard::to_stdvec(&request).expect("encode");
    let back: Request = postcard::from_bytes(&bytes).expect("decode");
    assert_eq!(back, request);
    for len in 0..200 {
        let mut garbage = vec![0u8; len];
        rand_chacha::rand_core::RngCore::fill_bytes(&mut rng, &mut garbage);
        let _ = postcard::from_bytes::<Request>(&garbage);
        let _ = postcard::from_bytes::<Response>(&garbage);
    }
}
