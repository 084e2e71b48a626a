//! Snapshot fault evidence on the ledger: each kind of evidence is accepted when it shows a
//! fault of the publication it names and rejected, with its reason, when it does not (an
//! honest snapshot, another member's signature, a path or info that is not the committed one,
//! the accused reporting itself, a proof-only list, a second report); an accepted fault is in
//! the state.

mod common;

use common::{genesis_members, list, publication_body, Party, CHAIN};
use fengxin_ledger::{FaultEvidence, LedgerState, Record, RecordBody, Rejection, SnapshotFault};
use fengxin_signed::{Publication, ServedChunk};
use fengxin_snapshot::{
    chunk_hash, chunk_root, info_path, ChunkInfo, Entry, PaddingSecret, Snapshot, SnapshotHeader,
    LABEL_LEN,
};
use fengxin_types::{Epoch, ListPolicy, Tag};

fn tag_of(seed: u64) -> Tag {
    let mut b = [0u8; Tag::LEN];
    b[..8].copy_from_slice(&seed.to_be_bytes());
    b[8..16].copy_from_slice(&seed.wrapping_mul(0x9e37_79b9_7f4a_7c15).to_be_bytes());
    b[Tag::LEN - 1] = 1;
    Tag::from_bytes(b).expect("non-zero")
}

/// A shared snapshot of 9,000 entries (three chunks) and its tree root.
fn snapshot() -> (Snapshot, [u8; 32]) {
    let entries = (0..9000u64)
        .map(|s| Entry {
            tag: tag_of(s),
            label: [(s % 251) as u8; LABEL_LEN],
        })
        .collect();
    let s = Snapshot::build(
        entries,
        &PaddingSecret::from_bytes([3; 32]),
        &list(),
        Epoch::FIRST,
    )
    .expect("build");
    let root = fengxin_tree::sorted_root(s.tags())
        .expect("tree")
        .to_bytes();
    (s, root)
}

/// bank-b's shared publication of epoch 1 with `root` and `header`.
fn shared(b: &Party, root: [u8; 32], header: SnapshotHeader) -> Publication {
    Publication {
        policy: ListPolicy::Shared,
        snapshot: Some(header),
        ..publication_body(b, 1, root)
    }
}

struct World {
    state: LedgerState,
    a: Party,
    b: Party,
    c: Party,
    publication: Publication,
}

fn world(root: [u8; 32], header: SnapshotHeader) -> World {
    let parties = parties(&["bank-a", "bank-b", "bank-c"]);
    let mut state = LedgerState::genesis(CHAIN, genesis_members(&parties), Vec::new());
    let [a, b, c]: [Party; 3] = parties.try_into().ok().expect("three parties");
    let publication = shared(&b, root, header);
    common::apply_ok(
        &mut state,
        &a,
        vec![b.sign(RecordBody::Publication(publication.clone()))],
    );
    World {
        state,
        a,
        b,
        c,
        publication,
    }
}

fn parties(names: &[&str]) -> Vec<Party> {
    names
        .iter()
        .zip(1u64..)
        .map(|(n, seed)| Party::new(n, seed))
        .collect()
}

fn fault(by: &Party, about: &Party, evidence: FaultEvidence) -> Record {
    by.sign(RecordBody::SnapshotFault(Box::new(SnapshotFault {
        member: about.name.clone(),
        list: list(),
        epoch: Epoch::FIRST,
        evidence,
    })))
}

fn rejected_because(state: &LedgerState, record: &Record) -> String {
    match state.check(record) {
        Err(Rejection::BadFaultEvidence(why)) => why,
        other => panic!("not rejected as bad evidence: {other:?}"),
    }
}

#[test]
fn a_signed_chunk_that_is_not_the_committed_one_is_a_fault_and_an_honest_one_is_not() {
    let (s, root) = snapshot();
    let header = s.header();
    let manifest = s.manifest();
    let mut w = world(root, header);
    let index = 1;
    let path = info_path(&manifest, index);
    let mut bytes = s.chunk(index);
    bytes[Tag::LEN] ^= 1;
    let bent = ServedChunk::sign(&w.b.key, &w.publication, &header.root, index, bytes.clone());
    let honest = ServedChunk::sign(
        &w.b.key,
        &w.publication,
        &header.root,
        index,
        s.chunk(index),
    );
    let evidence =
        |served: ServedChunk, info: ChunkInfo, path: Vec<[u8; 32]>| FaultEvidence::Unfaithful {
            index,
            served,
            info,
            path,
        };
    let info = manifest[index as usize];

    // Rejected: an honest chunk, a chunk signed by someone else, an info or path that is not the
    // committed one, the accused reporting itself.
    let why = rejected_because(
        &w.state,
        &fault(&w.a, &w.b, evidence(honest, info, path.clone())),
    );
    assert!(why.contains("is the committed one"), "{why}");
    let forged = ServedChunk::sign(&w.a.key, &w.publication, &header.root, index, bytes.clone());
    let why = rejected_because(
        &w.state,
        &fault(&w.a, &w.b, evidence(forged, info, path.clone())),
    );
    assert!(why.contains("not signed by bank-b"), "{why}");
    let mut other_info = info;
    other_info.hash = chunk_hash(index, &bytes);
    let why = rejected_because(
        &w.state,
        &fault(&w.a, &w.b, evidence(bent.clone(), other_info, path.clone())),
    );
    assert!(why.contains("not the committed one"), "{why}");
    let why = rejected_because(
        &w.state,
        &fault(&w.a, &w.b, evidence(bent.clone(), info, path[1..].to_vec())),
    );
    assert!(why.contains("not the committed one"), "{why}");
    let why = rejected_because(
        &w.state,
        &fault(&w.b, &w.b, evidence(bent.clone(), info, path.clone())),
    );
    assert!(why.contains("its own snapshot"), "{why}");

    // Accepted once, with the reporter, kind and chunk in the state; a second report is a
    // replay.
    let good = fault(&w.a, &w.b, evidence(bent.clone(), info, path.clone()));
    assert_eq!(w.state.check(&good), Ok(()));
    common::apply_ok(&mut w.state, &w.a, vec![good.clone()]);
    let f = w
        .state
        .snapshot_fault(&w.b.name, &list(), Epoch::FIRST)
        .expect("fault recorded");
    assert_eq!(
        (f.reporter.as_str(), f.kind.as_str(), f.chunk, f.record),
        ("bank-a", "unfaithful_chunk", Some(index), good.id())
    );
    let again = fault(&w.c, &w.b, evidence(bent, info, path));
    assert_eq!(w.state.check(&again), Err(Rejection::Replayed));
}

#[test]
fn a_committed_chunk_that_breaks_its_info_is_a_fault_and_an_honest_one_is_not() {
    let (s, honest_root) = snapshot();
    let honest = s.manifest();
    // A publisher that commits to chunk 1 with one tag changed (still in order) but keeps the
    // honest subtree roots, last tags and tree root: its manifest makes the published tree, and
    // chunk 1 does not make its subtree root.
    let mut bytes = s.chunk(1);
    let at = 7 * fengxin_snapshot::ENTRY_LEN + Tag::LEN - 1;
    bytes[at] ^= 2;
    let mut manifest = honest.clone();
    manifest[1].hash = chunk_hash(1, &bytes);
    let header = SnapshotHeader {
        root: chunk_root(s.header().entries, &manifest),
        ..s.header()
    };
    let mut w = world(honest_root, header);
    let broken = |index: u32, bytes: Vec<u8>, previous: bool| FaultEvidence::Broken {
        index,
        bytes,
        info: manifest[index as usize],
        path: info_path(&manifest, index),
        previous: previous.then(|| {
            (
                manifest[index as usize - 1],
                info_path(&manifest, index - 1),
            )
        }),
    };
    // Rejected: the honest chunk 0 (it checks out), chunk 1 without the previous info, chunk
    // 1's bytes not the committed ones.
    let honest_chunk = fault(&w.a, &w.b, broken(0, s.chunk(0), false));
    let why = rejected_because(&w.state, &honest_chunk);
    assert!(why.contains("checks out"), "{why}");
    // A submission's precheck leaves the subtree hashing to the block's application, where
    // every node rejects it.
    assert_eq!(
        w.state
            .precheck_submission(std::slice::from_ref(&honest_chunk)),
        vec![Ok(())]
    );
    let applied = common::apply(&mut w.state, &w.c, vec![honest_chunk.clone()]);
    assert!(
        matches!(&applied.rejected[..], [(id, Rejection::BadFaultEvidence(_))] if *id == honest_chunk.id()),
        "{:?}",
        applied.rejected
    );
    let why = rejected_because(
        &w.state,
        &fault(&w.a, &w.b, broken(1, bytes.clone(), false)),
    );
    assert!(why.contains("previous chunk's info"), "{why}");
    let why = rejected_because(&w.state, &fault(&w.a, &w.b, broken(1, s.chunk(1), true)));
    assert!(why.contains("not the committed chunk"), "{why}");
    let good = fault(&w.a, &w.b, broken(1, bytes, true));
    assert_eq!(w.state.check(&good), Ok(()));
    common::apply_ok(&mut w.state, &w.c, vec![good]);
    let f = w
        .state
        .snapshot_fault(&w.b.name, &list(), Epoch::FIRST)
        .expect("fault recorded");
    assert_eq!((f.kind.as_str(), f.chunk), ("broken_chunk", Some(1)));
}

#[test]
fn a_committed_manifest_that_does_not_make_the_published_tree_is_a_fault() {
    let (s, root) = snapshot();
    let manifest = s.manifest();
    // Honest: the manifest makes the published tree.
    let w = world(root, s.header());
    let why = rejected_because(
        &w.state,
        &fault(
            &w.a,
            &w.b,
            FaultEvidence::WrongTree {
                manifest: manifest.clone(),
            },
        ),
    );
    assert!(why.contains("make the published tree root"), "{why}");
    // Another manifest than the committed one.
    let mut other = manifest.clone();
    other[0].subtree[31] ^= 1;
    let why = rejected_because(
        &w.state,
        &fault(&w.a, &w.b, FaultEvidence::WrongTree { manifest: other }),
    );
    assert!(
        why.contains("not the one the chunk root commits to"),
        "{why}"
    );
    // A publication whose tree root is another list's: the committed manifest shows it.
    let mut lying_root = root;
    lying_root[31] ^= 1;
    let mut w = world(lying_root, s.header());
    let good = fault(&w.a, &w.b, FaultEvidence::WrongTree { manifest });
    assert_eq!(w.state.check(&good), Ok(()));
    common::apply_ok(&mut w.state, &w.a, vec![good]);
    assert_eq!(w.state.snapshot_faults().count(), 1);
}

#[test]
fn a_proof_only_list_and_an_unknown_publication_have_no_snapshot_fault() {
    let (s, root) = snapshot();
    let parties = parties(&["bank-a", "bank-b"]);
    let mut state = LedgerState::genesis(CHAIN, genesis_members(&parties), Vec::new());
    let [a, b]: [Party; 2] = parties.try_into().ok().expect("two parties");
    let evidence = FaultEvidence::WrongTree {
        manifest: s.manifest(),
    };
    assert!(matches!(
        state.check(&fault(&a, &b, evidence.clone())),
        Err(Rejection::NotPublished { .. })
    ));
    common::apply_ok(&mut state, &a, vec![common::publication(&b, 1, root)]);
    let why = rejected_because(&state, &fault(&a, &b, evidence));
    assert!(why.contains("proof-only"), "{why}");
}
