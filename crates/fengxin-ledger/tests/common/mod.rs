//! Builders shared by the ledger core's integration tests: parties, genesis members, signed
//! publications, signed requests and countersigned receipts, batches, governance records and,
//! for a consortium with a regulator, list sizes, allowance claims and sealed details, all for
//! [`CHAIN`].

// Each test file uses the part it needs.
#![allow(dead_code)]

use fengxin_confidential::{
    labels as clabels, prove_range_with_context, seal_details, CommittedCount, Opening, ViewSecret,
};
use fengxin_crypto::{IdentityKey, ListKey, MasterSeed};
use fengxin_ledger::credits::{allowance_context, list_size_context};
use fengxin_ledger::{
    AllowanceClaim, Applied, Batch, Block, BlockHeader, CreditParams, Digest, Feedback,
    GenesisMember, GenesisRegulator, LedgerState, ListSize, Motion, MotionAction, Position,
    ReceiptDetails, Record, RecordBody, Settlement, Verdict, Vote, BLOCK_VERSION,
};
use fengxin_signed::{
    blinded_digest, Mode, Publication, QueryRequest, Receipt, SignedQueryRequest, RECEIPT_VERSION,
};
use fengxin_types::{Epoch, ListId, MemberName};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

/// The chain every builder signs for (the genesis hash of the tests' ledgers).
pub const CHAIN: [u8; 32] = [7; 32];

/// A member: its name and identity key.
pub struct Party {
    pub name: MemberName,
    pub key: IdentityKey,
}

impl Party {
    /// A party named `name` with a key from `seed`.
    pub fn new(name: &str, seed: u64) -> Self {
        Self {
            name: MemberName::parse(name).expect("name"),
            key: IdentityKey::generate(&mut ChaCha20Rng::seed_from_u64(seed)),
        }
    }

    /// Signs `body` as this party for [`CHAIN`].
    pub fn sign(&self, body: RecordBody) -> Record {
        self.sign_for(CHAIN, body)
    }

    /// Signs `body` as this party for the chain `chain`.
    pub fn sign_for(&self, chain: Digest, body: RecordBody) -> Record {
        Record::sign(chain, self.name.clone(), &self.key, body)
    }
}

/// A request nonce made from a counter.
pub fn nonce(n: u64) -> [u8; 16] {
    let mut out = [0u8; 16];
    out[..8].copy_from_slice(&n.to_be_bytes());
    out
}

/// The list every test publishes.
pub fn list() -> ListId {
    ListId::parse("fraud_txn").expect("list")
}

/// The parties as genesis members.
pub fn genesis_members(ps: &[Party]) -> Vec<GenesisMember> {
    ps.iter()
        .map(|p| GenesisMember {
            name: p.name.clone(),
            identity_key: p.key.public().to_bytes(),
            address: "127.0.0.1:1".into(),
        })
        .collect()
}

/// `p`'s publication of [`list`] at `epoch` with `root` (OPRF key seeded by the epoch).
pub fn publication_body(p: &Party, epoch: u64, root: [u8; 32]) -> Publication {
    let seed = MasterSeed::generate(&mut ChaCha20Rng::seed_from_u64(epoch));
    let epoch = Epoch::new(epoch).expect("epoch");
    let key = ListKey::derive(&seed, &list(), epoch).expect("key");
    Publication {
        version: Publication::VERSION,
        chain: CHAIN,
        member: p.name.clone(),
        list: list(),
        epoch,
        root,
        oprf_public_key: key.public_key().to_bytes(),
        published_at: 1,
        policy: fengxin_types::ListPolicy::ProofOnly,
        snapshot: None,
    }
}

/// `p`'s signed publication record of [`list`] at `epoch` with `root`.
pub fn publication(p: &Party, epoch: u64, root: [u8; 32]) -> Record {
    p.sign(RecordBody::Publication(publication_body(p, epoch, root)))
}

/// `p`'s signed publication of another list, `list`, at `epoch` with `root`.
pub fn publication_of(p: &Party, list: ListId, epoch: u64, root: [u8; 32]) -> Record {
    p.sign(RecordBody::Publication(Publication {
        list,
        ..publication_body(p, epoch, root)
    }))
}

/// The query request `q` signs for `count` identifiers at `r` (proof mode, epoch 1 of
/// [`list`]), with the encoded allowance claim `allowance` (empty: none).
pub fn request(
    q: &Party,
    r: &Party,
    nonce: [u8; 16],
    count: u32,
    allowance: Vec<u8>,
) -> QueryRequest {
    let blinded: Vec<[u8; 32]> = (0..count).map(|i| [(i % 251) as u8 + 1; 32]).collect();
    QueryRequest {
        version: RECEIPT_VERSION,
        chain: CHAIN,
        querier: q.name.clone(),
        responder: r.name.clone(),
        list: list(),
        epoch: Epoch::FIRST,
        mode: Mode::Proof,
        nonce,
        count,
        blinded_digest: blinded_digest(&blinded),
        allowance,
    }
}

/// `q`'s signed request, countersigned by `r`: the receipt of one exchange.
pub fn countersigned(q: &Party, r: &Party, request: QueryRequest) -> Receipt {
    let signed: SignedQueryRequest = request.sign(&q.key);
    Receipt::countersign(signed, [9; 32], &r.key)
}

/// The receipt for `q` screening `count` identifiers at `r`, without an allowance claim (a
/// consortium with no regulator view key).
pub fn signed_receipt(q: &Party, r: &Party, nonce: [u8; 16], count: u32) -> Receipt {
    countersigned(q, r, request(q, r, nonce, count, Vec::new()))
}

/// The receipt record as `author` (the responder or the querier) submits it.
pub fn receipt_record(author: &Party, receipt: Receipt) -> Record {
    author.sign(RecordBody::Receipt(Box::new(receipt)))
}

/// The responder's record of a receipt without allowance claim (a consortium with no regulator
/// view key): `r` submits what it countersigned for `q`.
pub fn plain_receipt(q: &Party, r: &Party, nonce: [u8; 16], count: u32) -> Record {
    receipt_record(r, signed_receipt(q, r, nonce, count))
}

/// A batch of `records` proposed by `proposer` for the block after `state`'s head.
pub fn batch(state: &LedgerState, proposer: &Party, records: Vec<Record>) -> Batch {
    Batch::sign(
        state.next_position(),
        proposer.name.clone(),
        &proposer.key,
        1,
        0,
        records,
    )
}

/// A block of `chain` as a proposer would build it around `records`, whatever they are.
pub fn signed_block(
    proposer: &Party,
    chain: [u8; 32],
    height: u64,
    prev_hash: [u8; 32],
    records: Vec<Record>,
) -> Block {
    let position = Position {
        chain,
        height,
        prev_hash,
    };
    let b = Batch::sign(
        position,
        proposer.name.clone(),
        &proposer.key,
        1,
        1_000,
        records,
    );
    Block {
        header: BlockHeader {
            version: BLOCK_VERSION,
            chain_id: chain,
            height,
            prev_hash,
            proposer: proposer.name.clone(),
            term: b.term,
            proposed_at_ms: b.proposed_at_ms,
            records_digest: Block::records_digest(&b.records),
        },
        proposed: b.record_ids(),
        proposer_signature: b.signature.clone(),
        records: b.records,
    }
}

/// The id (its request's) of the receipt a receipt record carries.
pub fn receipt_id(record: &Record) -> Digest {
    match &record.body {
        RecordBody::Receipt(r) => r.id(),
        other => panic!("not a receipt record: {other:?}"),
    }
}

/// Applies `records` as one batch proposed by `proposer` at `state`'s next position.
pub fn apply(state: &mut LedgerState, proposer: &Party, records: Vec<Record>) -> Applied {
    let batch = batch(state, proposer, records);
    state.apply_batch(&batch)
}

/// As [`apply`], asserting that every record is accepted; the block made.
pub fn apply_ok(state: &mut LedgerState, proposer: &Party, records: Vec<Record>) -> Block {
    let out = apply(state, proposer, records);
    assert_eq!(out.batch_error, None);
    assert!(out.rejected.is_empty(), "{:?}", out.rejected);
    out.block.expect("a block")
}

/// `p`'s motion for `action`.
pub fn motion(p: &Party, action: MotionAction) -> Record {
    p.sign(RecordBody::Motion(Motion {
        action,
        note: String::new(),
    }))
}

/// `p`'s vote on `motion`.
pub fn vote(p: &Party, motion: &Record, approve: bool) -> Record {
    p.sign(RecordBody::Vote(Vote {
        motion: motion.id(),
        approve,
    }))
}

/// A motion for `action` by the first party, approved by every other current member: enough to
/// carry it.
pub fn council(ps: &[Party], state: &LedgerState, action: MotionAction) -> Vec<Record> {
    let m = motion(&ps[0], action);
    let votes: Vec<Record> = ps[1..]
        .iter()
        .filter(|p| state.members().contains_key(&p.name))
        .map(|p| vote(p, &m, true))
        .collect();
    std::iter::once(m).chain(votes).collect()
}

/// `p`'s feedback on the receipt `receipt`.
pub fn feedback(p: &Party, receipt: Digest, verdict: Verdict) -> Record {
    p.sign(RecordBody::Feedback(Feedback { receipt, verdict }))
}

/// `p`'s settlement of `epoch`.
pub fn settlement(p: &Party, epoch: u64) -> Record {
    p.sign(RecordBody::Settlement(Settlement { epoch }))
}

// A consortium with a regulator: view key, list sizes, allowance claims, sealed details.

/// A deterministic RNG.
pub fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

/// The regulator's view secret.
pub fn view() -> ViewSecret {
    ViewSecret::from_seed([9; 32])
}

/// The regulator: its name and identity key (which signs its attestations).
pub fn regulator() -> Party {
    Party {
        name: MemberName::parse("regulator").expect("name"),
        key: IdentityKey::from_slice(&[99; 32]).expect("key"),
    }
}

/// The [`regulator`] as genesis names it, with the [`view`] public key.
pub fn genesis_regulators() -> Vec<GenesisRegulator> {
    let r = regulator();
    vec![GenesisRegulator {
        name: r.name,
        identity_key: r.key.public().to_bytes(),
        address: "127.0.0.1:2".into(),
        view_public_key: view().public().to_hex(),
    }]
}

/// A consortium of `ps` with the [`regulator`] and `params`, on [`CHAIN`].
pub fn regulated_genesis(ps: &[Party], params: CreditParams) -> LedgerState {
    LedgerState::genesis_with(CHAIN, genesis_members(ps), genesis_regulators(), params)
}

/// The context of `p`'s size of [`list`] for its publication at `epoch` with `root`.
pub fn size_context(p: &Party, epoch: u64, root: [u8; 32]) -> Vec<u8> {
    let epoch = Epoch::new(epoch).expect("epoch");
    list_size_context(&CHAIN, &p.name, &list(), epoch, &root)
}

/// A commitment to `value` for `context`, with its opening.
pub fn committed(value: u64, context: &[u8], seed: u64) -> (CommittedCount, Opening) {
    CommittedCount::new(value, &view().public().elgamal(), context, &mut rng(seed)).expect("commit")
}

/// `p`'s size record of [`list`] for its publication at `epoch` with `root`.
pub fn size_record(p: &Party, epoch: u64, root: [u8; 32], size: CommittedCount) -> Record {
    p.sign(RecordBody::ListSize(Box::new(ListSize {
        list: list(),
        epoch: Epoch::new(epoch).expect("epoch"),
        root,
        size,
    })))
}

/// `p`'s size record of `value` entries for its publication at `epoch` with `root`, and the
/// opening it keeps.
pub fn size(p: &Party, epoch: u64, root: [u8; 32], value: u64, seed: u64) -> (Record, Opening) {
    let (count, opening) = committed(value, &size_context(p, epoch, root), seed);
    (size_record(p, epoch, root, count), opening)
}

/// The allowance opening of a member with `base` and sizes `sizes`: `base + Σ sizes` (one
/// entry, one identifier).
pub fn allowance(base: u64, sizes: &[&Opening]) -> Opening {
    sizes
        .iter()
        .fold(Opening::public(base), |a, s| a.add(s).expect("add"))
}

/// `q`'s claim, in `state`'s current epoch, that `used_after` identifiers (this receipt's
/// `count` included) stay within `allowance`.
pub fn claim(
    state: &LedgerState,
    q: &Party,
    allowance: &Opening,
    used_after: u64,
    count: u32,
) -> AllowanceClaim {
    let epoch = state.current_epoch();
    claim_for(&CHAIN, q, epoch, allowance, used_after, count)
}

/// As [`claim`], for any chain and epoch.
pub fn claim_for(
    chain: &Digest,
    q: &Party,
    epoch: u64,
    allowance: &Opening,
    used_after: u64,
    count: u32,
) -> AllowanceClaim {
    let remaining = allowance
        .sub(&Opening::public(used_after))
        .expect("within allowance");
    AllowanceClaim {
        epoch,
        used_after,
        proof: prove_range_with_context(
            &remaining,
            64,
            clabels::ALLOWANCE_RANGE_PROOF,
            &allowance_context(chain, &q.name, epoch, used_after, count),
            &mut rng(used_after),
        )
        .expect("prove"),
    }
}

/// The receipt of `q` screening `count` identifiers at `r` under `claim`.
pub fn claimed_receipt(
    q: &Party,
    r: &Party,
    nonce: [u8; 16],
    count: u32,
    claim: &AllowanceClaim,
) -> Receipt {
    countersigned(q, r, request(q, r, nonce, count, claim.to_bytes()))
}

/// The plaintext details a querier seals for receipt `n`.
pub fn details_text(n: u64) -> Vec<u8> {
    format!("case ref CASE-{n}; tags and results").into_bytes()
}

/// `q`'s details of the receipt `receipt`, sealed to the regulator and bound to the receipt id.
pub fn details_record(q: &Party, receipt: Digest, n: u64) -> Record {
    let sealed =
        seal_details(&view().public(), &receipt, &details_text(n), &mut rng(n)).expect("seal");
    q.sign(RecordBody::Details(Box::new(ReceiptDetails {
        receipt,
        sealed,
    })))
}

/// The [`regulator`]'s attestation of the publication a size record is for.
pub fn attestation_of(
    member: &MemberName,
    ls: &ListSize,
    outcome: fengxin_ledger::AttestationOutcome,
    reason: &str,
) -> Record {
    regulator().sign(RecordBody::Attestation(fengxin_ledger::RootAttestation {
        member: member.clone(),
        list: ls.list.clone(),
        epoch: ls.epoch,
        root: ls.root,
        size_commitment: ls.size.commitment.to_bytes(),
        outcome,
        reason: reason.into(),
    }))
}

/// `records` with the [`regulator`]'s attestation of each size record right after it (what
/// the regulator signs once it has checked the publication's tree): sizes count toward an
/// allowance only once attested.
pub fn attested(records: Vec<Record>) -> Vec<Record> {
    records
        .into_iter()
        .flat_map(|r| {
            let attestation = match &r.body {
                RecordBody::ListSize(ls) => Some(attestation_of(
                    &r.author,
                    ls,
                    fengxin_ledger::AttestationOutcome::Attested,
                    "",
                )),
                _ => None,
            };
            std::iter::once(r).chain(attestation)
        })
        .collect()
}
