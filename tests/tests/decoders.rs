//! Every decoder of untrusted bytes, fed random inputs and mutations of valid encodings (bit
//! flips, byte edits, truncations, extensions, insertions, removals, length-field edits): each
//! must return a typed error or a value that round-trips, and never panic.
//!
//! The checks (decode, then re-encode and compare) live in `fuzz/src/lib.rs`, shared with the
//! cargo-fuzz targets; this file builds realistic encodings with the crates' own constructors
//! (signed records, receipts with allowance claims, sealed details, real Groth16 and Bulletproofs
//! proofs, consensus messages) and drives the checks with proptest on the stable toolchain, a
//! fixed number of cases per decoder.

#[path = "../../fuzz/src/lib.rs"]
mod checks;

use fengxin_confidential::{
    labels as clabels, prove_range_aggregated, prove_range_with_context, seal_details, Commitment,
    CommittedCount, Opening, SealedDetails, ViewSecret,
};
use fengxin_consensus::{node_id, LedgerTypes, Peer, RaftReply, RaftRpc, Refusal};
use fengxin_crypto::{oprf, IdentityKey, ListKey, MasterSeed};
use fengxin_ledger::credits::{allowance_context, list_size_context};
use fengxin_ledger::{
    AllowanceClaim, AttestationOutcome, Batch, Block, BlockHeader, CreditParams, Feedback,
    ListSize, Motion, MotionAction, Position, ReceiptDetails, Record, RecordBody, RootAttestation,
    Settlement, Verdict, Vote, BLOCK_VERSION,
};
use fengxin_net::frame as wire;
use fengxin_proofs::{keys, MembershipProof};
use fengxin_protocol::{
    Answer, EvaluateRequest, EvaluateResponse, MembershipRequest, MembershipResponse, RefusalKind,
    Request, Response,
};
use fengxin_signed::{
    blinded_digest, evaluation_digest, Mode, Publication, QueryRequest, Receipt, RECEIPT_VERSION,
};
use fengxin_tree::{Fr, IndexedMerkleTree, MemoryStore, Root};
use fengxin_types::{CanonicalId, Epoch, IdType, ListId, MemberName, Tag};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use openraft::{
    CommittedLeaderId, Entry, EntryPayload, LogId, Membership, SnapshotMeta, StoredMembership,
};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{select, Index};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

/// Cases per decoder.
const CASES: u32 = 512;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: CASES,
        // Failures are reported with their input; nothing is written to the source tree.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Inputs: random bytes and text, and mutations of valid encodings
// ---------------------------------------------------------------------------------------------

/// Bytes that print as hex in failure reports.
#[derive(Clone, PartialEq, Eq)]
struct Bytes(Vec<u8>);

impl std::fmt::Debug for Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "hex:{}", hex::encode(&self.0))
    }
}

/// One edit of an encoding. Positions are drawn as [`Index`]es, scaled to the input's length.
#[derive(Debug, Clone)]
enum Mutation {
    FlipBit(Index, u8),
    SetByte(Index, u8),
    Truncate(Index),
    Extend(Vec<u8>),
    Insert(Index, Vec<u8>),
    Remove(Index, usize),
    /// Replaces one byte with a postcard varint: how lengths, counts and variant indices are
    /// written, so this edits a length field when it lands on one.
    Varint(Index, u64),
    /// Overwrites up to 4 bytes with a big-endian `u32` (a frame's length prefix at 0).
    BigEndian(Index, u32),
}

/// The postcard (LEB128) varint of `v`.
fn varint(mut v: u64) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let low = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(low);
            return out;
        }
        out.push(low | 0x80);
    }
}

impl Mutation {
    fn apply(&self, b: &mut Vec<u8>) {
        // A position inside `b`, or (for insertions) up to its end.
        let inside = |i: &Index, b: &Vec<u8>| (!b.is_empty()).then(|| i.index(b.len()));
        let upto = |i: &Index, b: &Vec<u8>| i.index(b.len() + 1);
        match self {
            Self::FlipBit(i, bit) => {
                if let Some(k) = inside(i, b) {
                    b[k] ^= 1 << (bit % 8);
                }
            }
            Self::SetByte(i, v) => {
                if let Some(k) = inside(i, b) {
                    b[k] = *v;
                }
            }
            Self::Truncate(i) => b.truncate(upto(i, b)),
            Self::Extend(tail) => b.extend_from_slice(tail),
            Self::Insert(i, bytes) => {
                let k = upto(i, b);
                b.splice(k..k, bytes.iter().copied());
            }
            Self::Remove(i, n) => {
                if let Some(k) = inside(i, b) {
                    let end = (k + n).min(b.len());
                    b.drain(k..end);
                }
            }
            Self::Varint(i, v) => {
                if let Some(k) = inside(i, b) {
                    b.splice(k..=k, varint(*v));
                }
            }
            Self::BigEndian(i, v) => {
                let k = upto(i, b);
                let end = (k + 4).min(b.len());
                b.splice(k..end, v.to_be_bytes());
            }
        }
    }
}

/// Edited lengths: small, around typical sizes, and the extremes.
fn length() -> impl Strategy<Value = u64> {
    prop_oneof![
        0..4u64,
        4..300u64,
        Just(u64::from(u32::MAX)),
        Just(u64::MAX),
        any::<u64>(),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => (any::<Index>(), 0..8u8).prop_map(|(i, bit)| Mutation::FlipBit(i, bit)),
        2 => (any::<Index>(), any::<u8>()).prop_map(|(i, v)| Mutation::SetByte(i, v)),
        1 => any::<Index>().prop_map(Mutation::Truncate),
        1 => vec(any::<u8>(), 1..16).prop_map(Mutation::Extend),
        1 => (any::<Index>(), vec(any::<u8>(), 1..8)).prop_map(|(i, b)| Mutation::Insert(i, b)),
        1 => (any::<Index>(), 1..8usize).prop_map(|(i, n)| Mutation::Remove(i, n)),
        2 => (any::<Index>(), length()).prop_map(|(i, v)| Mutation::Varint(i, v)),
        1 => (any::<Index>(), any::<u32>()).prop_map(|(i, v)| Mutation::BigEndian(i, v)),
    ]
}

fn pick<'a, T>(seeds: &'a [T], i: &Index) -> &'a T {
    &seeds[i.index(seeds.len())]
}

/// Inputs for a byte decoder: random bytes, the valid encodings `seeds`, and (mostly) the seeds
/// under one to four mutations.
fn bytes(seeds: &'static [Vec<u8>]) -> impl Strategy<Value = Bytes> {
    prop_oneof![
        1 => vec(any::<u8>(), 0..200).prop_map(Bytes),
        1 => any::<Index>().prop_map(move |i| Bytes(pick(seeds, &i).clone())),
        6 => (any::<Index>(), vec(mutation(), 1..5)).prop_map(move |(i, ms)| {
            let mut b = pick(seeds, &i).clone();
            for m in &ms {
                m.apply(&mut b);
            }
            Bytes(b)
        }),
    ]
}

/// Characters the text decoders treat specially: digits, letters and separators, whitespace and
/// control characters, full-width forms, case-changing and combining characters, other scripts.
const ALPHABET: &[char] = &[
    '0',
    '1',
    '5',
    '9',
    'a',
    'f',
    'x',
    'z',
    'A',
    'F',
    'X',
    'Z',
    '-',
    '_',
    '.',
    '+',
    '@',
    '/',
    '{',
    '}',
    '(',
    ')',
    ' ',
    '\t',
    '\n',
    '\0',
    '\u{7f}',
    '\u{a0}',
    '\u{3000}',
    '\u{ff10}',
    '\u{ff19}',
    '\u{ff21}',
    '\u{ff41}',
    '\u{ff0b}',
    '\u{ff0d}',
    '\u{ff20}',
    '\u{ff0e}',
    '\u{130}',
    '\u{df}',
    '\u{e9}',
    '\u{301}',
    '\u{200b}',
    '\u{8d26}',
    '\u{1f980}',
];

fn character() -> impl Strategy<Value = char> {
    prop_oneof![3 => select(ALPHABET), 1 => any::<char>()]
}

/// One edit of a string.
#[derive(Debug, Clone)]
enum Edit {
    Insert(Index, char),
    Remove(Index),
    Replace(Index, char),
    Truncate(Index),
    /// ASCII to full-width forms (U+FF01..U+FF5E), as some bank exports write them.
    FullWidth,
    Upper,
    Pad(String, String),
    /// The string repeated, past the parsers' input limits.
    Repeat(usize),
}

impl Edit {
    fn apply(&self, s: &str) -> String {
        let mut cs: Vec<char> = s.chars().collect();
        match self {
            Self::Insert(i, c) => cs.insert(i.index(cs.len() + 1), *c),
            Self::Remove(i) if !cs.is_empty() => {
                cs.remove(i.index(cs.len()));
            }
            Self::Replace(i, c) if !cs.is_empty() => {
                let k = i.index(cs.len());
                cs[k] = *c;
            }
            Self::Truncate(i) => cs.truncate(i.index(cs.len() + 1)),
            Self::FullWidth => {
                for c in &mut cs {
                    if ('!'..='~').contains(c) {
                        *c = char::from_u32(u32::from(*c) + 0xfee0).unwrap_or(*c);
                    }
                }
            }
            Self::Upper => return s.to_uppercase(),
            Self::Pad(pre, post) => return format!("{pre}{s}{post}"),
            Self::Repeat(n) => return s.repeat(*n),
            Self::Remove(_) | Self::Replace(..) => {}
        }
        cs.into_iter().collect()
    }
}

fn edit() -> impl Strategy<Value = Edit> {
    let pad = || {
        vec(
            select(&[' ', '\t', '\n', '\u{3000}', '\u{a0}', '\0'][..]),
            0..3,
        )
    };
    prop_oneof![
        3 => (any::<Index>(), character()).prop_map(|(i, c)| Edit::Insert(i, c)),
        2 => any::<Index>().prop_map(Edit::Remove),
        3 => (any::<Index>(), character()).prop_map(|(i, c)| Edit::Replace(i, c)),
        1 => any::<Index>().prop_map(Edit::Truncate),
        1 => Just(Edit::FullWidth),
        1 => Just(Edit::Upper),
        1 => (2..80usize).prop_map(Edit::Repeat),
        1 => (pad(), pad()).prop_map(|(a, b)| {
            Edit::Pad(a.into_iter().collect(), b.into_iter().collect())
        }),
    ]
}

/// Inputs for a text decoder: random strings, the valid texts `seeds`, and (mostly) the seeds
/// under one to three edits.
fn text(seeds: &'static [String]) -> impl Strategy<Value = String> {
    prop_oneof![
        1 => vec(any::<char>(), 0..48).prop_map(String::from_iter),
        1 => vec(character(), 0..48).prop_map(String::from_iter),
        1 => any::<Index>().prop_map(move |i| pick(seeds, &i).clone()),
        5 => (any::<Index>(), vec(edit(), 1..4)).prop_map(move |(i, es)| {
            es.iter().fold(pick(seeds, &i).clone(), |s, e| e.apply(&s))
        }),
    ]
}

/// Inputs for a hex decoder: the hex (either case) of mutated encodings, and edited hex text.
fn hex_text(
    seeds: &'static [Vec<u8>],
    hex_seeds: &'static [String],
) -> impl Strategy<Value = String> {
    prop_oneof![
        2 => bytes(seeds).prop_map(|b| hex::encode(b.0)),
        1 => bytes(seeds).prop_map(|b| hex::encode_upper(b.0)),
        2 => text(hex_seeds),
    ]
}

// ---------------------------------------------------------------------------------------------
// Valid encodings, built with the crates' own constructors
// ---------------------------------------------------------------------------------------------

/// The chain every value is signed for.
const CHAIN: [u8; 32] = [7; 32];

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

fn list() -> ListId {
    ListId::parse(ListId::FRAUD_TXN).expect("list")
}

fn name(s: &str) -> MemberName {
    MemberName::parse(s).expect("name")
}

fn account(s: &str) -> CanonicalId {
    CanonicalId::parse(IdType::Account, s, fengxin_types::CivilDate::today_china())
        .expect("account")
}

fn postcard<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    postcard::to_allocvec(value).expect("encodes")
}

fn hexes(seeds: &[Vec<u8>]) -> Vec<String> {
    seeds.iter().map(hex::encode).collect()
}

/// A member (or the regulator): its name and identity key.
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

    fn sign(&self, body: RecordBody) -> Record {
        Record::sign(CHAIN, self.name.clone(), &self.key, body)
    }

    fn node(&self) -> u64 {
        node_id(&self.key.public().to_bytes())
    }

    fn peer(&self) -> Peer {
        Peer {
            name: self.name.as_str().into(),
            address: "127.0.0.1:7000".into(),
        }
    }
}

/// A responder's list: its OPRF key and tree, and the proofs of one hit and one miss.
struct Responder {
    oprf: ListKey,
    tags: Vec<Tag>,
    root: Root,
    proofs: Vec<MembershipProof>,
}

fn responder() -> &'static Responder {
    static R: OnceLock<Responder> = OnceLock::new();
    R.get_or_init(|| {
        let seed = MasterSeed::generate(&mut rng(1));
        let oprf = ListKey::derive(&seed, &list(), Epoch::FIRST).expect("key");
        let tags: Vec<Tag> = ["ACC-1", "ACC-2", "ACC-3"]
            .iter()
            .map(|s| oprf.tag(&account(s)).expect("tag"))
            .collect();
        let tree = IndexedMerkleTree::build(MemoryStore::new(), tags.clone()).expect("tree");
        let root = tree.root();
        let prover = keys::load_prover(&keys::params_dir().expect("parameter directory"))
            .expect("development prover");
        let miss = oprf.tag(&account("ACC-404")).expect("tag");
        let proofs = [tags[1], miss]
            .iter()
            .map(|&tag| {
                let lookup = tree.lookup(tag).expect("lookup");
                let (_, proof) = prover
                    .prove_lookup(root, tag, &lookup, &mut rng(2))
                    .expect("prove");
                proof
            })
            .collect();
        Responder {
            oprf,
            tags,
            root,
            proofs,
        }
    })
}

/// Valid encodings for every decoder.
struct World {
    request_bodies: Vec<Vec<u8>>,
    response_bodies: Vec<Vec<u8>>,
    frames: Vec<Vec<u8>>,
    records: Vec<Vec<u8>>,
    batches: Vec<Vec<u8>>,
    blocks: Vec<Vec<u8>>,
    snapshots: Vec<Vec<u8>>,
    claims: Vec<Vec<u8>>,
    rpcs: Vec<Vec<u8>>,
    replies: Vec<Vec<u8>>,
    publications: Vec<Vec<u8>>,
    signed_publications: Vec<Vec<u8>>,
    query_requests: Vec<Vec<u8>>,
    signed_query_requests: Vec<Vec<u8>>,
    receipts: Vec<Vec<u8>>,
    proofs: Vec<Vec<u8>>,
    commitments: Vec<Vec<u8>>,
    handles: Vec<Vec<u8>>,
    elgamal_keys: Vec<Vec<u8>>,
    handle_proofs: Vec<Vec<u8>>,
    range_proofs: Vec<Vec<u8>>,
    view_keys: Vec<Vec<u8>>,
    counts: Vec<Vec<u8>>,
    sealed: Vec<Vec<u8>>,
    identity_keys: Vec<Vec<u8>>,
    /// Self-signed TLS certificates of identity keys, as peers present them.
    certificates: Vec<Vec<u8>>,
    oprf_keys: Vec<Vec<u8>>,
    roots: Vec<Vec<u8>>,
    tags: Vec<Vec<u8>>,
    tags_postcard: Vec<Vec<u8>>,
    names_postcard: Vec<Vec<u8>>,
    epochs_postcard: Vec<Vec<u8>>,
    epochs_json: Vec<String>,
    list_ids: Vec<String>,
    member_names: Vec<String>,
    identifiers: Vec<String>,
    hex: Hex,
    /// The one genuine sealing: `(sealed, aad, plaintext)`, opened with `view`.
    sealing: (SealedDetails, Vec<u8>, Vec<u8>),
    view: ViewSecret,
}

/// The hex of the encodings that also have a hex decoder.
struct Hex {
    commitments: Vec<String>,
    handles: Vec<String>,
    handle_proofs: Vec<String>,
    range_proofs: Vec<String>,
    view_keys: Vec<String>,
    identity_keys: Vec<String>,
    oprf_keys: Vec<String>,
    roots: Vec<String>,
    tags: Vec<String>,
}

fn world() -> &'static World {
    static W: OnceLock<World> = OnceLock::new();
    W.get_or_init(build_world)
}

fn log_id(term: u64, node: u64, index: u64) -> LogId<u64> {
    LogId::new(CommittedLeaderId::new(term, node), index)
}

fn build_world() -> World {
    let (a, b, c) = (
        Party::new("bank-a", 0xa1),
        Party::new("bank-b", 0xb1),
        Party::new("bank-c", 0xc1),
    );
    let regulator = Party::new("regulator", 99);
    let view = checks::confidential::fuzz_view();
    let r = responder();
    let root = r.root.to_bytes();

    // Publications.
    let publication = Publication {
        version: Publication::VERSION,
        chain: CHAIN,
        member: b.name.clone(),
        list: list(),
        epoch: Epoch::FIRST,
        root,
        oprf_public_key: r.oprf.public_key().to_bytes(),
        published_at: 1_700_000_000,
        policy: fengxin_types::ListPolicy::ProofOnly,
        snapshot: None,
    };
    let signed_publication = publication.clone().sign(&b.key);

    // A proof-mode request with an allowance claim, its evaluation and receipt; a snapshot-mode
    // request without claim.
    let ids: Vec<CanonicalId> = ["ACC-2", "ACC-404", "ACC-9"].map(account).to_vec();
    let (_pending, blinded) = oprf::blind(&mut rng(3), &list(), &ids).expect("blind");
    let (evaluated, dleq) = r
        .oprf
        .blind_evaluate_batch(&mut rng(4), &blinded)
        .expect("evaluate");
    let count = u32::try_from(blinded.len()).expect("few");
    let remaining = Opening::public(1_000)
        .sub(&Opening::public(3))
        .expect("within allowance");
    let claim = AllowanceClaim {
        epoch: 0,
        used_after: 3,
        proof: prove_range_with_context(
            &remaining,
            64,
            clabels::ALLOWANCE_RANGE_PROOF,
            &allowance_context(&CHAIN, &a.name, 0, 3, count),
            &mut rng(5),
        )
        .expect("prove"),
    };
    let query = QueryRequest {
        version: RECEIPT_VERSION,
        chain: CHAIN,
        querier: a.name.clone(),
        responder: b.name.clone(),
        list: list(),
        epoch: Epoch::FIRST,
        mode: Mode::Proof,
        nonce: [1; 16],
        count,
        blinded_digest: blinded_digest(&blinded),
        allowance: claim.to_bytes(),
    };
    let snapshot_query = QueryRequest {
        mode: Mode::Snapshot,
        nonce: [2; 16],
        allowance: Vec::new(),
        ..query.clone()
    };
    let signed_query = query.clone().sign(&a.key);
    let signed_snapshot_query = snapshot_query.clone().sign(&a.key);
    let receipt = Receipt::countersign(
        signed_query.clone(),
        evaluation_digest(&evaluated, &dleq),
        &b.key,
    );
    let snapshot_receipt = Receipt::countersign(signed_snapshot_query.clone(), [9; 32], &b.key);

    // The list's size, committed for the regulator, and details sealed to it.
    let size_context = list_size_context(&CHAIN, &b.name, &list(), Epoch::FIRST, &root);
    let (size, size_opening) =
        CommittedCount::new(3, &view.public().elgamal(), &size_context, &mut rng(6))
            .expect("commit");
    let aad = receipt.id().to_vec();
    let plaintext = b"case ref CASE-1; tags and results".to_vec();
    let sealed = seal_details(&view.public(), &aad, &plaintext, &mut rng(7)).expect("seal");
    let empty_sealed = seal_details(
        &view.public(),
        checks::confidential::FUZZ_AAD,
        b"",
        &mut rng(8),
    )
    .expect("seal");

    // One record of every kind (and every motion).
    let motions: Vec<Record> = [
        MotionAction::Admit {
            name: c.name.clone(),
            identity_key: c.key.public().to_bytes(),
            address: "127.0.0.1:7003".into(),
        },
        MotionAction::Remove {
            name: c.name.clone(),
        },
        MotionAction::SetParams(CreditParams::default()),
        MotionAction::Reinstate {
            name: a.name.clone(),
        },
    ]
    .into_iter()
    .map(|action| {
        a.sign(RecordBody::Motion(Motion {
            action,
            note: "membership agreement, clause 3".into(),
        }))
    })
    .collect();
    let mut records = vec![
        b.sign(RecordBody::Publication(publication.clone())),
        b.sign(RecordBody::Receipt(Box::new(receipt.clone()))),
        a.sign(RecordBody::Receipt(Box::new(snapshot_receipt.clone()))),
        a.sign(RecordBody::Details(Box::new(ReceiptDetails {
            receipt: receipt.id(),
            sealed: sealed.clone(),
        }))),
        b.sign(RecordBody::ListSize(Box::new(ListSize {
            list: list(),
            epoch: Epoch::FIRST,
            root,
            size: size.clone(),
        }))),
        regulator.sign(RecordBody::Attestation(RootAttestation {
            member: b.name.clone(),
            list: list(),
            epoch: Epoch::FIRST,
            root,
            size_commitment: size.commitment.to_bytes(),
            outcome: AttestationOutcome::Refuted,
            reason: "the committed size does not count the tree's entries".into(),
        })),
        b.sign(RecordBody::Settlement(Settlement { epoch: 1 })),
        a.sign(RecordBody::Feedback(Feedback {
            receipt: receipt.id(),
            verdict: Verdict::FalsePositive,
        })),
        b.sign(RecordBody::Vote(Vote {
            motion: motions[0].id(),
            approve: true,
        })),
    ];
    records.extend(motions);

    // A batch of them, the block it makes (one record rejected) and a snapshot body.
    let position = Position {
        chain: CHAIN,
        height: 1,
        prev_hash: CHAIN,
    };
    let batch = Batch::sign(position, b.name.clone(), &b.key, 3, 1_000, records.clone());
    let small_batch = Batch::sign(position, a.name.clone(), &a.key, 4, 2_000, vec![]);
    let accepted: Vec<Record> = batch.records[1..].to_vec();
    let block = Block {
        header: BlockHeader {
            version: BLOCK_VERSION,
            chain_id: CHAIN,
            height: 1,
            prev_hash: CHAIN,
            proposer: b.name.clone(),
            term: batch.term,
            proposed_at_ms: batch.proposed_at_ms,
            records_digest: Block::records_digest(&accepted),
        },
        proposed: batch.record_ids(),
        proposer_signature: batch.signature.clone(),
        records: accepted,
    };
    let empty_block = Block {
        header: BlockHeader {
            height: 2,
            prev_hash: block.hash(),
            records_digest: Block::records_digest(&[]),
            ..block.header.clone()
        },
        proposed: Vec::new(),
        proposer_signature: small_batch.signature.clone(),
        records: Vec::new(),
    };
    let snapshot = vec![block.clone(), empty_block.clone()];

    // Consensus messages.
    let (leader, follower) = (b.node(), a.node());
    let membership = Membership::new(
        vec![BTreeSet::from([leader, follower])],
        BTreeMap::from([(leader, b.peer()), (follower, a.peer())]),
    );
    let vote = openraft::Vote::new_committed(3, leader);
    let entries: Vec<Entry<LedgerTypes>> = vec![
        Entry {
            log_id: log_id(3, leader, 1),
            payload: EntryPayload::Blank,
        },
        Entry {
            log_id: log_id(3, leader, 2),
            payload: EntryPayload::Membership(membership.clone()),
        },
        Entry {
            log_id: log_id(3, leader, 3),
            payload: EntryPayload::Normal(batch.clone()),
        },
    ];
    let rpcs = [
        RaftRpc::AppendEntries(AppendEntriesRequest {
            vote,
            prev_log_id: Some(log_id(2, follower, 0)),
            entries,
            leader_commit: Some(log_id(3, leader, 2)),
        }),
        RaftRpc::Vote(VoteRequest {
            vote: openraft::Vote::new(4, follower),
            last_log_id: Some(log_id(3, leader, 3)),
        }),
        RaftRpc::InstallSnapshot(InstallSnapshotRequest {
            vote,
            meta: SnapshotMeta {
                last_log_id: Some(log_id(3, leader, 3)),
                last_membership: StoredMembership::new(Some(log_id(3, leader, 2)), membership),
                snapshot_id: "3-1-3".into(),
            },
            offset: 0,
            data: postcard(&snapshot),
            done: true,
        }),
        RaftRpc::Submit(records.clone()),
    ];
    let replies = vec![
        RaftReply::AppendEntries(Ok(AppendEntriesResponse::Success)),
        RaftReply::AppendEntries(Ok(AppendEntriesResponse::PartialSuccess(Some(log_id(
            3, leader, 2,
        ))))),
        RaftReply::AppendEntries(Ok(AppendEntriesResponse::Conflict)),
        RaftReply::AppendEntries(Ok(AppendEntriesResponse::HigherVote(vote))),
        RaftReply::AppendEntries(Err("storage failure: disk failure".into())),
        RaftReply::Vote(Ok(VoteResponse {
            vote,
            vote_granted: false,
            last_log_id: Some(log_id(3, leader, 3)),
        })),
        RaftReply::Vote(Err("the engine stopped".into())),
        RaftReply::InstallSnapshot(Ok(InstallSnapshotResponse { vote })),
        RaftReply::Submitted(Ok(4)),
        RaftReply::Submitted(Err("ledger state unavailable".into())),
        RaftReply::Refused(Refusal::WrongSender {
            sender: "bank-a".into(),
            sender_id: follower,
            claimed: leader,
        }),
        RaftReply::Refused(Refusal::ChunkOutOfBounds {
            offset: 1 << 40,
            len: 1 << 20,
            max: 1 << 30,
        }),
        RaftReply::Refused(Refusal::SnapshotsDisabled),
    ];
    let rpcs: Vec<Vec<u8>> = rpcs.iter().map(postcard).collect();
    let replies: Vec<Vec<u8>> = replies.iter().map(postcard).collect();

    // Protocol messages and their frames.
    let proofs: Vec<Vec<u8>> = r.proofs.iter().map(MembershipProof::to_bytes).collect();
    let requests = [
        Request::Evaluate(EvaluateRequest {
            request: signed_query.clone(),
            blinded: blinded.clone(),
        }),
        Request::Membership(MembershipRequest {
            request_id: signed_query.id(),
            root,
            tags: r.tags.clone(),
        }),
        Request::Publications,
        Request::Ledger(rpcs[1].clone()),
        Request::Ledger(rpcs[3].clone()),
    ];
    let responses = [
        Response::Evaluated(EvaluateResponse {
            evaluated: evaluated.clone(),
            proof: dleq.to_vec(),
            receipt_signature: receipt.responder_signature.clone(),
        }),
        Response::Answers(MembershipResponse {
            answers: vec![
                Answer {
                    result: true,
                    proof: proofs[0].clone(),
                },
                Answer {
                    result: false,
                    proof: proofs[1].clone(),
                },
            ],
        }),
        Response::Publications(vec![signed_publication.clone()]),
        Response::Refused(fengxin_protocol::Refusal::new(
            RefusalKind::OverAllowance,
            "the allowance claim does not hold",
        )),
        Response::Ledger(replies[0].clone()),
        Response::Ledger(replies[4].clone()),
    ];
    let request_bodies: Vec<Vec<u8>> = requests.iter().map(postcard).collect();
    let response_bodies: Vec<Vec<u8>> = responses.iter().map(postcard).collect();
    let frames = request_bodies
        .iter()
        .chain(&response_bodies)
        .chain(&[Vec::new()])
        .map(|body| wire::encode_frame(body, wire::DEFAULT_MAX_FRAME_LEN).expect("fits"))
        .collect();

    // Confidential values.
    let openings = [Opening::new(7, &mut rng(9)), Opening::new(11, &mut rng(10))];
    let aggregated =
        prove_range_aggregated(&openings, 32, clabels::LIST_SIZE_RANGE_PROOF, &mut rng(11))
            .expect("prove");
    let other_view = ViewSecret::from_seed([1; 32]).public();
    let commitments = vec![
        size.commitment.to_bytes().to_vec(),
        Commitment::public(5).to_bytes().to_vec(),
        Commitment::zero().to_bytes().to_vec(),
    ];
    let handles = vec![
        size.handle.to_bytes().to_vec(),
        size_opening
            .handle(&other_view.elgamal())
            .to_bytes()
            .to_vec(),
    ];
    let elgamal_keys = vec![
        view.public().elgamal().to_bytes().to_vec(),
        other_view.elgamal().to_bytes().to_vec(),
    ];
    let handle_proofs = vec![size.handle_proof.to_bytes().to_vec()];
    let range_proofs = vec![
        size.range_proof.to_bytes(),
        claim.proof.to_bytes(),
        aggregated.to_bytes(),
    ];
    let view_keys = vec![
        view.public().to_bytes().to_vec(),
        other_view.to_bytes().to_vec(),
    ];

    // Keys, roots and tags (the largest root is the field modulus minus one).
    let identity_keys: Vec<Vec<u8>> = [&a, &b, &regulator]
        .iter()
        .map(|p| p.key.public().to_bytes().to_vec())
        .collect();
    let certificates = [&a, &b, &regulator]
        .iter()
        .map(|p| {
            let cert = fengxin_net::IdentityCert::generate(&p.key).expect("certificate");
            cert.certificate().to_vec()
        })
        .collect();
    let other_oprf = ListKey::derive(
        &MasterSeed::generate(&mut rng(12)),
        &list(),
        Epoch::new(2).expect("epoch"),
    )
    .expect("key");
    let oprf_keys = vec![
        r.oprf.public_key().to_bytes().to_vec(),
        other_oprf.public_key().to_bytes().to_vec(),
    ];
    let roots = vec![
        root.to_vec(),
        Root::from_field(-Fr::from(1u64)).to_bytes().to_vec(),
        vec![0; 32],
    ];
    let mut edge_tags = vec![[0u8; Tag::LEN], [0xff; Tag::LEN]];
    edge_tags[0][Tag::LEN - 1] = 1;
    let tags: Vec<Vec<u8>> = r
        .tags
        .iter()
        .map(|t| t.to_bytes())
        .chain(edge_tags)
        .map(|t| t.to_vec())
        .collect();
    let tags_postcard = r.tags.iter().map(postcard).collect();
    let list_ids: Vec<String> = ListId::LAUNCH
        .iter()
        .map(|s| s.to_string())
        .chain(["a".into(), format!("l{}", "0_".repeat(15) + "z")])
        .collect();
    let member_names: Vec<String> = ["bank-a", "regulator", "0", "bank_9-x"]
        .iter()
        .map(|s| s.to_string())
        .chain(["z".repeat(64)])
        .collect();
    let names_postcard = list_ids.iter().chain(&member_names).map(postcard).collect();
    let epochs = [
        Epoch::FIRST,
        Epoch::new(42).expect("epoch"),
        Epoch::new(u64::MAX).expect("epoch"),
    ];
    let identifiers = [
        "11010519491231002X",
        "110105491231002",
        "91350100M000100Y43",
        "+86 138 0013 8000",
        "+1 (415) 555-2671",
        "00852 2123 4567",
        "4111 1111 1111 1111",
        "6228480012345678901",
        " acc-1 ",
        "CN/310_A.B",
        "Li.Lei@Example.COM",
        "o'neil+tag!#$%&*/=?^_`{|}~-x@mail-1.example.co.uk",
        "{6F9619FF-8B86-D011-B42D-00C04FC964FF}",
        "9774D56D682E549C",
    ]
    .map(String::from)
    .to_vec();

    let hex = Hex {
        commitments: hexes(&commitments),
        handles: hexes(&handles),
        handle_proofs: hexes(&handle_proofs),
        range_proofs: hexes(&range_proofs),
        view_keys: hexes(&view_keys),
        identity_keys: hexes(&identity_keys),
        oprf_keys: hexes(&oprf_keys),
        roots: hexes(&roots),
        tags: hexes(&tags),
    };
    World {
        request_bodies,
        response_bodies,
        frames,
        records: records.iter().map(postcard).collect(),
        batches: vec![postcard(&batch), postcard(&small_batch)],
        blocks: vec![postcard(&block), postcard(&empty_block)],
        snapshots: vec![postcard(&snapshot), postcard(&Vec::<Block>::new())],
        claims: vec![claim.to_bytes()],
        rpcs,
        replies,
        publications: vec![postcard(&publication)],
        signed_publications: vec![postcard(&signed_publication)],
        query_requests: vec![postcard(&query), postcard(&snapshot_query)],
        signed_query_requests: vec![postcard(&signed_query), postcard(&signed_snapshot_query)],
        receipts: vec![postcard(&receipt), postcard(&snapshot_receipt)],
        proofs,
        commitments,
        handles,
        elgamal_keys,
        handle_proofs,
        range_proofs,
        view_keys,
        counts: vec![postcard(&size)],
        sealed: vec![postcard(&sealed), postcard(&empty_sealed)],
        identity_keys,
        certificates,
        oprf_keys,
        roots,
        tags,
        tags_postcard,
        names_postcard,
        epochs_postcard: epochs.iter().map(postcard).collect(),
        epochs_json: epochs
            .iter()
            .map(|e| serde_json::to_string(e).expect("json"))
            .collect(),
        list_ids,
        member_names,
        identifiers,
        hex,
        sealing: (sealed, aad, plaintext),
        view,
    }
}

// ---------------------------------------------------------------------------------------------
// Valid encodings decode and re-encode to the same bytes
// ---------------------------------------------------------------------------------------------

/// Decodes every seed with `decode` (which returns the value's re-encoding) and asserts the
/// round trip is exact.
fn assert_seeds<E: std::fmt::Debug>(
    what: &str,
    seeds: &[Vec<u8>],
    decode: impl Fn(&[u8]) -> Result<Vec<u8>, E>,
) {
    assert!(!seeds.is_empty(), "{what}: no seeds");
    for seed in seeds {
        match decode(seed) {
            Ok(again) => assert_eq!(again, *seed, "{what}: re-encodes differently"),
            Err(e) => panic!("{what}: a valid encoding is refused: {e:?}"),
        }
    }
}

/// A 32-byte encoding as a vector.
fn vec32<E>(r: Result<[u8; 32], E>) -> Result<Vec<u8>, E> {
    r.map(|b| b.to_vec())
}

/// As [`assert_seeds`] for postcard values.
fn assert_postcard_seeds<T: Serialize, E: std::fmt::Debug>(
    what: &str,
    seeds: &[Vec<u8>],
    decode: impl Fn(&[u8]) -> Result<T, E>,
) {
    assert_seeds(what, seeds, |b| decode(b).map(|v| postcard(&v)));
}

#[test]
fn valid_encodings_round_trip() {
    use checks::*;
    let w = world();
    for frame in &w.frames {
        let body = frame::decode_frame(frame, wire::DEFAULT_MAX_FRAME_LEN).expect("frame");
        assert_eq!(&frame[5..], body);
    }
    assert_postcard_seeds("request", &w.request_bodies, protocol::request);
    assert_postcard_seeds("response", &w.response_bodies, protocol::response);
    assert_postcard_seeds("record", &w.records, ledger::record);
    assert_postcard_seeds("batch", &w.batches, ledger::batch);
    assert_postcard_seeds("block", &w.blocks, ledger::block);
    assert_postcard_seeds("snapshot", &w.snapshots, ledger::snapshot);
    assert_seeds("allowance claim", &w.claims, |b| {
        ledger::allowance_claim(b).map(|c| c.to_bytes())
    });
    assert_postcard_seeds("raft rpc", &w.rpcs, consensus::rpc);
    assert_postcard_seeds("raft reply", &w.replies, consensus::reply);
    assert_postcard_seeds("publication", &w.publications, signed::publication);
    assert_postcard_seeds(
        "signed publication",
        &w.signed_publications,
        signed::signed_publication,
    );
    assert_postcard_seeds("query request", &w.query_requests, signed::query_request);
    assert_postcard_seeds(
        "signed request",
        &w.signed_query_requests,
        signed::signed_query_request,
    );
    assert_postcard_seeds("receipt", &w.receipts, signed::receipt);
    assert_seeds("membership proof", &w.proofs, |b| {
        proofs::membership_proof(b).map(|p| p.to_bytes())
    });
    assert_seeds("commitment", &w.commitments, |b| {
        vec32(confidential::commitment(b).map(|v| v.to_bytes()))
    });
    assert_seeds("handle", &w.handles, |b| {
        vec32(confidential::decrypt_handle(b).map(|v| v.to_bytes()))
    });
    assert_seeds("elgamal key", &w.elgamal_keys, |b| {
        vec32(confidential::elgamal_key(b).map(|v| v.to_bytes()))
    });
    assert_seeds("handle proof", &w.handle_proofs, |b| {
        confidential::handle_proof(b).map(|p| p.to_bytes().to_vec())
    });
    assert_seeds("range proof", &w.range_proofs, |b| {
        confidential::range_proof(b).map(|p| p.to_bytes())
    });
    assert_seeds("view key", &w.view_keys, |b| {
        confidential::view_key(b).map(|k| k.to_bytes().to_vec())
    });
    assert_postcard_seeds("committed count", &w.counts, confidential::committed_count);
    assert_postcard_seeds("sealed details", &w.sealed, confidential::sealed_details);
    let (sealed, aad, plaintext) = &w.sealing;
    assert_eq!(
        confidential::open(&w.view, aad, sealed).as_ref(),
        Ok(plaintext)
    );
    assert_seeds("identity key", &w.identity_keys, |b| {
        vec32(crypto::identity_key(b).map(|k| k.to_bytes()))
    });
    for (cert, key) in w.certificates.iter().zip(&w.identity_keys) {
        let found = crypto::peer_certificate(cert).expect("a peer certificate");
        assert_eq!(found.to_bytes().to_vec(), *key);
    }
    assert_seeds("oprf key", &w.oprf_keys, |b| {
        vec32(crypto::oprf_key(b).map(|k| k.to_bytes()))
    });
    assert_seeds("root", &w.roots, |b| {
        vec32(tree::root(b).map(|r| r.to_bytes()))
    });
    assert_seeds("tag", &w.tags, |b| {
        types::tag(b).map(|t| t.to_bytes().to_vec())
    });
    assert_postcard_seeds("tag (serde)", &w.tags_postcard, types::tag_postcard);
    assert_postcard_seeds("epoch", &w.epochs_postcard, types::epoch_postcard);
    for s in &w.hex.commitments {
        confidential::commitment_hex(s).expect("commitment hex");
        confidential::commitment_hex(&s.to_uppercase()).expect("upper-case hex");
    }
    for s in &w.hex.handles {
        confidential::decrypt_handle_hex(s).expect("handle hex");
    }
    for s in &w.hex.handle_proofs {
        confidential::handle_proof_hex(s).expect("handle proof hex");
    }
    for s in &w.hex.range_proofs {
        confidential::range_proof_hex(s).expect("range proof hex");
    }
    for s in &w.hex.view_keys {
        confidential::view_key_hex(s).expect("view key hex");
    }
    for s in &w.hex.identity_keys {
        crypto::identity_key_hex(s).expect("identity key hex");
    }
    for s in &w.hex.oprf_keys {
        crypto::oprf_key_hex(s).expect("oprf key hex");
    }
    for s in &w.hex.roots {
        tree::root_hex(&format!(" {s}\n")).expect("root hex");
    }
    for s in &w.hex.tags {
        types::tag_hex(s).expect("tag hex");
    }
    for s in &w.epochs_json {
        types::epoch_json(s).expect("epoch json");
    }
    for s in &w.list_ids {
        types::list_id(s).expect("list id");
    }
    for s in &w.member_names {
        types::member_name(s).expect("member name");
    }
    for s in &w.identifiers {
        let parsed = IdType::ALL
            .iter()
            .filter(|&&t| types::canonical_id(t, s).is_ok())
            .count();
        assert!(parsed >= 1, "{s:?} is an identifier of no type");
    }
    for t in IdType::ALL {
        assert_eq!(types::id_type(t.as_str()), Some(t));
    }
}

// ---------------------------------------------------------------------------------------------
// Properties, one block per decoder family
// ---------------------------------------------------------------------------------------------

/// An edit of a frame's length prefix.
#[derive(Debug, Clone)]
enum Prefix {
    /// Announce this length.
    Set(u32),
    /// Announce the real length plus this (off by a little).
    Off(i64),
}

fn prefix() -> impl Strategy<Value = Prefix> {
    prop_oneof![
        prop_oneof![
            Just(0u32),
            Just(1),
            Just(wire::DEFAULT_MAX_FRAME_LEN),
            Just(wire::DEFAULT_MAX_FRAME_LEN + 1),
            Just(u32::MAX),
            any::<u32>(),
        ]
        .prop_map(Prefix::Set),
        (-2i64..=2).prop_map(Prefix::Off),
    ]
}

/// A version byte other than (or, rarely, equal to) the one this build speaks.
fn version() -> impl Strategy<Value = u8> {
    prop_oneof![
        Just(wire::FRAME_VERSION - 1),
        Just(wire::FRAME_VERSION + 1),
        any::<u8>(),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn frames(
        input in bytes(&world().frames),
        prefix in proptest::option::of(prefix()),
        version in proptest::option::of(version()),
        limit in any::<Index>(),
    ) {
        let mut b = input.0;
        if let Some(p) = prefix {
            let announced = match p {
                Prefix::Set(n) => n,
                Prefix::Off(d) => {
                    let real = i64::try_from(b.len()).unwrap_or(i64::MAX) - 4;
                    u32::try_from((real + d).max(0)).unwrap_or(u32::MAX)
                }
            };
            let end = b.len().min(4);
            b.splice(0..end, announced.to_be_bytes());
        }
        if let (Some(v), Some(byte)) = (version, b.get_mut(4)) {
            *byte = v;
        }
        checks::frame::all(&b, *pick(&checks::frame::LIMITS, &limit));
    }

    #[test]
    fn length_prefixes(
        prefix in any::<[u8; 4]>(),
        max in prop_oneof![Just(wire::DEFAULT_MAX_FRAME_LEN), any::<u32>()],
    ) {
        let _ = checks::frame::check_length_prefix(prefix, max);
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn protocol_requests(b in bytes(&world().request_bodies)) {
        let _ = checks::protocol::request(&b.0);
    }

    #[test]
    fn protocol_responses(b in bytes(&world().response_bodies)) {
        let _ = checks::protocol::response(&b.0);
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn ledger_records(b in bytes(&world().records)) {
        let _ = checks::ledger::record(&b.0);
    }

    #[test]
    fn ledger_batches(b in bytes(&world().batches)) {
        let _ = checks::ledger::batch(&b.0);
    }

    #[test]
    fn ledger_blocks(b in bytes(&world().blocks)) {
        let _ = checks::ledger::block(&b.0);
    }

    #[test]
    fn ledger_snapshots(b in bytes(&world().snapshots)) {
        let _ = checks::ledger::snapshot(&b.0);
    }

    #[test]
    fn allowance_claims(b in bytes(&world().claims)) {
        let _ = checks::ledger::allowance_claim(&b.0);
    }

}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn consensus_rpcs(b in bytes(&world().rpcs)) {
        let _ = checks::consensus::rpc(&b.0);
    }

    #[test]
    fn consensus_replies(b in bytes(&world().replies)) {
        let _ = checks::consensus::reply(&b.0);
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn publications(b in bytes(&world().publications)) {
        let _ = checks::signed::publication(&b.0);
    }

    #[test]
    fn signed_publications(b in bytes(&world().signed_publications)) {
        let _ = checks::signed::signed_publication(&b.0);
    }

    #[test]
    fn query_requests(b in bytes(&world().query_requests)) {
        let _ = checks::signed::query_request(&b.0);
    }

    #[test]
    fn signed_query_requests(b in bytes(&world().signed_query_requests)) {
        let _ = checks::signed::signed_query_request(&b.0);
    }

    #[test]
    fn receipts(b in bytes(&world().receipts)) {
        let _ = checks::signed::receipt(&b.0);
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn membership_proofs(b in bytes(&world().proofs)) {
        let _ = checks::proofs::membership_proof(&b.0);
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn commitments(
        b in bytes(&world().commitments),
        s in hex_text(&world().commitments, &world().hex.commitments),
    ) {
        let _ = checks::confidential::commitment(&b.0);
        let _ = checks::confidential::commitment_hex(&s);
    }

    #[test]
    fn decrypt_handles_and_elgamal_keys(
        b in bytes(&world().handles),
        k in bytes(&world().elgamal_keys),
        s in hex_text(&world().handles, &world().hex.handles),
    ) {
        let _ = checks::confidential::decrypt_handle(&b.0);
        let _ = checks::confidential::decrypt_handle_hex(&s);
        let _ = checks::confidential::elgamal_key(&k.0);
    }

    #[test]
    fn handle_proofs(
        b in bytes(&world().handle_proofs),
        s in hex_text(&world().handle_proofs, &world().hex.handle_proofs),
    ) {
        let _ = checks::confidential::handle_proof(&b.0);
        let _ = checks::confidential::handle_proof_hex(&s);
    }

    #[test]
    fn range_proofs(
        b in bytes(&world().range_proofs),
        s in hex_text(&world().range_proofs, &world().hex.range_proofs),
    ) {
        let _ = checks::confidential::range_proof(&b.0);
        let _ = checks::confidential::range_proof_hex(&s);
    }

    #[test]
    fn view_keys(
        b in bytes(&world().view_keys),
        s in hex_text(&world().view_keys, &world().hex.view_keys),
    ) {
        let _ = checks::confidential::view_key(&b.0);
        let _ = checks::confidential::view_key_hex(&s);
    }

    #[test]
    fn committed_counts(b in bytes(&world().counts)) {
        let _ = checks::confidential::committed_count(&b.0);
    }

    /// Whatever sealed details decode, only the genuine sealing opens (to its plaintext).
    #[test]
    fn sealed_details_and_open_details(b in bytes(&world().sealed)) {
        let w = world();
        let (genuine, aad, plaintext) = &w.sealing;
        if let Ok(sealed) = checks::confidential::sealed_details(&b.0) {
            let opened = checks::confidential::open(&w.view, aad, &sealed);
            if &sealed == genuine {
                prop_assert_eq!(opened.as_ref(), Ok(plaintext));
            } else {
                prop_assert!(opened.is_err(), "tampered details opened");
            }
        }
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn identity_keys(
        b in bytes(&world().identity_keys),
        s in hex_text(&world().identity_keys, &world().hex.identity_keys),
    ) {
        let _ = checks::crypto::identity_key(&b.0);
        let _ = checks::crypto::identity_key_hex(&s);
    }

    #[test]
    fn peer_certificates(b in bytes(&world().certificates)) {
        let _ = checks::crypto::peer_certificate(&b.0);
    }

    #[test]
    fn oprf_keys(
        b in bytes(&world().oprf_keys),
        s in hex_text(&world().oprf_keys, &world().hex.oprf_keys),
    ) {
        let _ = checks::crypto::oprf_key(&b.0);
        let _ = checks::crypto::oprf_key_hex(&s);
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn roots(b in bytes(&world().roots), s in hex_text(&world().roots, &world().hex.roots)) {
        let _ = checks::tree::root(&b.0);
        let _ = checks::tree::root_hex(&s);
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn tags(
        b in bytes(&world().tags),
        p in bytes(&world().tags_postcard),
        s in hex_text(&world().tags, &world().hex.tags),
    ) {
        let _ = checks::types::tag(&b.0);
        let _ = checks::types::tag_postcard(&p.0);
        let _ = checks::types::tag_hex(&s);
    }

    #[test]
    fn list_ids_and_member_names(
        l in text(&world().list_ids),
        m in text(&world().member_names),
        p in bytes(&world().names_postcard),
    ) {
        let _ = checks::types::list_id(&l);
        let _ = checks::types::member_name(&m);
        let _ = checks::types::list_id(&m);
        let _ = checks::types::member_name(&l);
        checks::types::names_postcard(&p.0);
    }

    #[test]
    fn epochs(b in bytes(&world().epochs_postcard), s in text(&world().epochs_json)) {
        let _ = checks::types::epoch_postcard(&b.0);
        let _ = checks::types::epoch_json(&s);
    }

    /// Every identifier type parses every string: canonical forms are fixed points.
    #[test]
    fn canonical_ids(s in text(&world().identifiers)) {
        let _ = checks::types::id_type(&s);
        for t in IdType::ALL {
            let _ = checks::types::canonical_id(t, &s);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The cargo-fuzz targets: their entry points, and seed corpora from the valid encodings
// ---------------------------------------------------------------------------------------------

/// One fuzz target's seeds for one of its decoders: the valid encodings, prefixed with the byte
/// that makes the target pick that decoder.
struct Corpus {
    target: &'static str,
    fuzz: fn(&[u8]),
    decoder: &'static str,
    seeds: Vec<Vec<u8>>,
}

/// The seeds of every fuzz target, for every decoder.
fn corpora() -> &'static [Corpus] {
    static C: OnceLock<Vec<Corpus>> = OnceLock::new();
    C.get_or_init(|| {
        use checks::*;
        let w = world();
        let text =
            |v: &[String]| -> Vec<Vec<u8>> { v.iter().map(|s| s.as_bytes().to_vec()).collect() };
        // `(target, its entry point, its decoders, [(decoder, seeds)])`; no decoders: the target
        // has one and no choice byte.
        type Family<'a> = (
            &'static str,
            fn(&[u8]),
            &'a [&'static str],
            Vec<(&'static str, Vec<Vec<u8>>)>,
        );
        let families: Vec<Family> = vec![
            (
                "frame",
                frame::fuzz,
                &["default limit"],
                vec![("default limit", w.frames.clone())],
            ),
            (
                "protocol",
                protocol::fuzz,
                &protocol::DECODERS,
                vec![
                    ("request", w.request_bodies.clone()),
                    ("response", w.response_bodies.clone()),
                ],
            ),
            (
                "ledger",
                ledger::fuzz,
                &ledger::DECODERS,
                vec![
                    ("record", w.records.clone()),
                    ("batch", w.batches.clone()),
                    ("block", w.blocks.clone()),
                    ("snapshot", w.snapshots.clone()),
                    ("allowance_claim", w.claims.clone()),
                ],
            ),
            (
                "consensus",
                consensus::fuzz,
                &consensus::DECODERS,
                vec![("rpc", w.rpcs.clone()), ("reply", w.replies.clone())],
            ),
            (
                "signed",
                signed::fuzz,
                &signed::DECODERS,
                vec![
                    ("publication", w.publications.clone()),
                    ("signed_publication", w.signed_publications.clone()),
                    ("query_request", w.query_requests.clone()),
                    ("signed_query_request", w.signed_query_requests.clone()),
                    ("receipt", w.receipts.clone()),
                ],
            ),
            (
                "proofs",
                proofs::fuzz,
                &[],
                vec![("membership_proof", w.proofs.clone())],
            ),
            (
                "confidential",
                confidential::fuzz,
                &confidential::DECODERS,
                vec![
                    ("commitment", w.commitments.clone()),
                    ("commitment_hex", text(&w.hex.commitments)),
                    ("decrypt_handle", w.handles.clone()),
                    ("decrypt_handle_hex", text(&w.hex.handles)),
                    ("elgamal_key", w.elgamal_keys.clone()),
                    ("handle_proof", w.handle_proofs.clone()),
                    ("handle_proof_hex", text(&w.hex.handle_proofs)),
                    ("range_proof", w.range_proofs.clone()),
                    ("range_proof_hex", text(&w.hex.range_proofs)),
                    ("view_key", w.view_keys.clone()),
                    ("view_key_hex", text(&w.hex.view_keys)),
                    (
                        "committed_count_or_sealed_details",
                        [w.counts.clone(), w.sealed.clone()].concat(),
                    ),
                ],
            ),
            (
                "crypto",
                crypto::fuzz,
                &crypto::DECODERS,
                vec![
                    ("identity_key", w.identity_keys.clone()),
                    ("identity_key_hex", text(&w.hex.identity_keys)),
                    ("oprf_key", w.oprf_keys.clone()),
                    ("oprf_key_hex", text(&w.hex.oprf_keys)),
                    ("peer_certificate", w.certificates.clone()),
                ],
            ),
            (
                "tree",
                tree::fuzz,
                &tree::DECODERS,
                vec![("root", w.roots.clone()), ("root_hex", text(&w.hex.roots))],
            ),
            (
                "types",
                types::fuzz,
                &types::DECODERS,
                vec![
                    ("tag", w.tags.clone()),
                    ("tag_hex", text(&w.hex.tags)),
                    ("tag_postcard", w.tags_postcard.clone()),
                    ("list_id", text(&w.list_ids)),
                    ("member_name", text(&w.member_names)),
                    ("names_postcard", w.names_postcard.clone()),
                    ("epoch_postcard", w.epochs_postcard.clone()),
                    ("epoch_json", text(&w.epochs_json)),
                    ("canonical_id", text(&w.identifiers)),
                ],
            ),
        ];
        let mut out = Vec::new();
        for (target, fuzz, decoders, seeds) in families {
            for (decoder, seeds) in seeds {
                let prefix: Vec<u8> = match decoders {
                    [] => Vec::new(),
                    [_] => vec![0],
                    _ => vec![choice(decoders, decoder)],
                };
                let seeds = seeds.iter().map(|s| [&prefix[..], s].concat()).collect();
                out.push(Corpus {
                    target,
                    fuzz,
                    decoder,
                    seeds,
                });
            }
        }
        out
    })
}

/// A seed of some fuzz target, mutated.
fn fuzz_input() -> impl Strategy<Value = (&'static str, &'static str, fn(&[u8]), Bytes)> {
    let corpora = corpora();
    (0..corpora.len()).prop_flat_map(move |i| {
        let c = &corpora[i];
        bytes(&c.seeds).prop_map(move |b| (c.target, c.decoder, c.fuzz, b))
    })
}

proptest! {
    #![proptest_config(config())]

    /// The fuzz targets' entry points, on their mutated seeds and on any decoder choice.
    #[test]
    fn fuzz_target_entry_points(
        (_target, _decoder, fuzz, input) in fuzz_input(),
        choice in any::<u8>(),
        raw in vec(any::<u8>(), 0..64),
    ) {
        fuzz(&input.0);
        let data = [&[choice][..], &raw].concat();
        for c in corpora() {
            (c.fuzz)(&data);
        }
    }
}

/// Every seed goes through its fuzz target's entry point (to the decoder it is meant for: the
/// decoders refuse no valid encoding, which [`valid_encodings_round_trip`] checks directly).
#[test]
fn fuzz_targets_take_their_seeds() {
    for c in corpora() {
        assert!(!c.seeds.is_empty(), "{} {}: no seeds", c.target, c.decoder);
        for seed in &c.seeds {
            (c.fuzz)(seed);
        }
    }
}

/// Writes the seeds as cargo-fuzz corpora, `$FENGXIN_FUZZ_CORPUS/<target>/<decoder>-<n>` (see
/// fuzz/README.md); does nothing without the variable.
#[test]
#[ignore = "writes files (see fuzz/README.md)"]
fn write_fuzz_corpora() {
    let Some(root) = std::env::var_os("FENGXIN_FUZZ_CORPUS") else {
        return;
    };
    let root = std::path::PathBuf::from(root);
    for c in corpora() {
        let dir = root.join(c.target);
        std::fs::create_dir_all(&dir).expect("corpus directory");
        for (n, seed) in c.seeds.iter().enumerate() {
            let name = format!("{}-{n}", c.decoder.replace(' ', "_"));
            std::fs::write(dir.join(name), seed).expect("write a seed");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Regression: deeply nested consensus replies
// ---------------------------------------------------------------------------------------------

/// The bytes of a consensus reply as it was when replies carried openraft's own error type: an
/// AppendEntries failure whose storage error nests `depth` causes (openraft's `AnyError` has
/// `source: Option<Box<AnyError>>`, which postcard decoded by recursion, one stack frame per
/// level, 5 bytes a level). Replies now carry the engine's failure as text, so these bytes are
/// an ordinary malformed or short reply.
fn nested_reply(depth: usize) -> Vec<u8> {
    [
        &[0x00, 0x01, 0x01, 0x00, 0x01, 0x00, 0x00][..],
        &[0, 0, 1].repeat(depth),
        &[0; 5],
        &[0, 0].repeat(depth),
        &[0],
    ]
    .concat()
}

/// Set in the child process of [`deeply_nested_consensus_reply_does_not_crash`].
const NESTED_CHILD: &str = "FENGXIN_DECODERS_NESTED_CHILD";

/// Decodes (and drops) a reply nested 100 000 deep (500 kB, far below the 4 MiB frame limit) on
/// a thread with a tokio worker's 2 MiB stack, as `fengxin-node`'s `QuicTransport::call` decodes
/// the replies of its peers. Runs only in the child process.
#[test]
#[ignore = "run by deeply_nested_consensus_reply_does_not_crash"]
fn nested_consensus_reply_child() {
    if std::env::var_os(NESTED_CHILD).is_none() {
        return;
    }
    let bytes = nested_reply(100_000);
    let outcome = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || checks::consensus::reply(&bytes).is_ok())
        .expect("spawn")
        .join();
    assert!(outcome.is_ok(), "the decoder panicked");
}

/// Regression found by this file: a peer's consensus reply nesting ~10 000 error causes (50 kB)
/// overflowed the stack in `postcard::from_bytes::<RaftReply>`, which aborted the whole node (a
/// stack overflow is not a panic and cannot be caught). Runs the decoder in a child process so
/// a crash is reported as a failure.
#[test]
fn deeply_nested_consensus_reply_does_not_crash() {
    let out = std::process::Command::new(std::env::current_exe().expect("the test binary"))
        .args([
            "--exact",
            "nested_consensus_reply_child",
            "--ignored",
            "--nocapture",
        ])
        .env(NESTED_CHILD, "1")
        .output()
        .expect("run the child");
    assert!(
        out.status.success(),
        "decoding a deeply nested consensus reply crashed the process ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}
