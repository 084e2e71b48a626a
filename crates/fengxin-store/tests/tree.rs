//! The redb tree store: the conformance suite, and trees kept in step with imports.

use fengxin_crypto::MasterSeed;
use fengxin_store::{NewEntry, Store, TreeTables};
use fengxin_tree::{IndexedMerkleTree, MemoryStore};
use fengxin_types::{CanonicalId, Epoch, IdType, ListId};
use rand_chacha::rand_core::SeedableRng;
use redb::backends::InMemoryBackend;
use redb::Database;

#[test]
fn redb_tree_store_passes_the_conformance_suite() {
    fengxin_tree::conformance::run(|| {
        // Each store gets its own in-memory database and transaction, leaked so that the
        // borrowing store can outlive this closure (test-only).
        let db: &'static Database = Box::leak(Box::new(
            Database::builder()
                .create_with_backend(InMemoryBackend::new())
                .expect("in-memory db"),
        ));
        let txn: &'static redb::WriteTransaction =
            Box::leak(Box::new(db.begin_write().expect("write txn")));
        TreeTables::open(txn, "fraud_txn", 1).expect("tables")
    });
}

fn entries(prefix: &str, n: usize) -> Vec<NewEntry> {
    (0..n)
        .map(|i| NewEntry {
            id: CanonicalId::parse(
                IdType::Account,
                &format!("{prefix}{i}"),
                fengxin_types::CivilDate::today_china(),
            )
            .expect("valid"),
            reason: None,
            added_on: None,
            source_ref: None,
        })
        .collect()
}

fn padding(seed: &MasterSeed, list: &ListId) -> fengxin_snapshot::PaddingSecret {
    fengxin_snapshot::PaddingSecret::from_bytes(seed.padding_secret(list, Epoch::FIRST))
}

/// The root of a fresh build over the list's snapshot: its stored tags and its dummies.
fn reference_root(store: &Store, seed: &MasterSeed, list: &ListId) -> String {
    let snapshot = store
        .snapshot(list, Epoch::FIRST, &padding(seed, list))
        .expect("snapshot");
    let real = store.tags(list, Epoch::FIRST).expect("tags");
    let class = fengxin_snapshot::size_class(real.len() as u64).expect("class");
    assert_eq!(snapshot.entries().len() as u64, class);
    // Every stored tag is in the snapshot, and the rest are the list's dummies.
    let dummies = fengxin_snapshot::dummy_tags(
        &padding(seed, list),
        list,
        Epoch::FIRST,
        class - real.len() as u64,
    );
    let mut expected: Vec<_> = real.into_iter().chain(dummies).collect();
    expected.sort_unstable();
    assert_eq!(snapshot.tags().collect::<Vec<_>>(), expected);
    let root = IndexedMerkleTree::build(MemoryStore::new(), expected)
        .expect("build")
        .root();
    // What a querier computes from the snapshot alone.
    assert_eq!(
        fengxin_tree::sorted_root(snapshot.tags()).expect("root"),
        root
    );
    // The manifest's subtree roots, read from the stored tree, are the ones a querier hashes
    // from each chunk: every chunk checks out against the published root.
    let mut assembler = fengxin_snapshot::Assembler::new(snapshot.header(), root.to_bytes());
    assembler
        .accept_manifest(snapshot.manifest())
        .expect("the manifest makes the root");
    for i in 0..snapshot.chunks() {
        assembler
            .accept_chunk(i, &snapshot.chunk(i))
            .expect("each chunk makes its subtree root");
    }
    assembler.finish().expect("complete");
    root.to_hex()
}

#[test]
fn tree_follows_imports_and_removals() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::create(&dir.path().join("db.redb")).expect("create");
    let seed = MasterSeed::generate(&mut rand_chacha::ChaCha20Rng::seed_from_u64(3));
    let list = ListId::parse("fraud_txn").expect("valid");
    let root_of = |s: &Store| {
        s.stats().expect("stats")[0]
            .root
            .clone()
            .expect("root after commit")
    };

    // First import: bulk build.
    let mut w = store.writer(&list, &seed).expect("writer");
    w.add(entries("A", 200)).expect("add");
    w.commit().expect("commit");
    let r1 = root_of(&store);
    assert_eq!(r1, reference_root(&store, &seed, &list));

    // A small change: the tree is rebuilt in sorted order, so its root is a fresh build's
    // (what a querier holding the snapshot recomputes); every tag is proven against it.
    let mut w = store.writer(&list, &seed).expect("writer");
    w.add(entries("B", 3)).expect("add");
    w.remove(vec![CanonicalId::parse(
        IdType::Account,
        "A7",
        fengxin_types::CivilDate::today_china(),
    )
    .expect("valid")])
        .expect("remove");
    w.commit().expect("commit");
    let r2 = root_of(&store);
    assert_ne!(r2, r1);
    assert_eq!(r2, reference_root(&store, &seed, &list));
    let tags = store.tags(&list, Epoch::FIRST).expect("tags");
    assert_eq!(tags.len(), 202);
    for tag in &tags {
        let (root, found) = store.lookup(&list, Epoch::FIRST, *tag).expect("lookup");
        assert!(found.is_member(), "{tag:?} missing from the tree");
        assert_eq!(root.to_hex(), r2);
        assert_eq!(found.witness().root(), root);
    }

    // A larger change: the same.
    let mut w = store.writer(&list, &seed).expect("writer");
    w.add(entries("C", 100)).expect("add");
    w.commit().expect("commit");
    assert_eq!(root_of(&store), reference_root(&store, &seed, &list));

    // Witnesses from the committed snapshot authenticate against the root.
    let tags = store.tags(&list, Epoch::FIRST).expect("tags");
    let (root, hit) = store.lookup(&list, Epoch::FIRST, tags[5]).expect("lookup");
    assert!(hit.is_member());
    assert_eq!(hit.witness().root(), root);
    assert_eq!(root.to_hex(), root_of(&store));
    let removed_tag = {
        let key = fengxin_crypto::ListKey::derive(&seed, &list, Epoch::FIRST).expect("key");
        key.tag(
            &CanonicalId::parse(
                IdType::Account,
                "A7",
                fengxin_types::CivilDate::today_china(),
            )
            .expect("valid"),
        )
        .expect("tag")
    };
    let (_, miss) = store
        .lookup(&list, Epoch::FIRST, removed_tag)
        .expect("lookup");
    assert!(!miss.is_member());
    assert_eq!(miss.witness().root(), root);
}

#[test]
fn a_list_emptied_by_removals_keeps_its_padding() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::create(&dir.path().join("db.redb")).expect("create");
    let seed = MasterSeed::generate(&mut rand_chacha::ChaCha20Rng::seed_from_u64(4));
    let list = ListId::parse("fraud_txn").expect("valid");
    let mut w = store.writer(&list, &seed).expect("writer");
    w.add(entries("A", 2)).expect("add");
    w.commit().expect("commit");
    let mut w = store.writer(&list, &seed).expect("writer");
    w.remove(
        ["A0", "A1"]
            .iter()
            .map(|s| {
                CanonicalId::parse(IdType::Account, s, fengxin_types::CivilDate::today_china())
                    .expect("valid")
            })
            .collect(),
    )
    .expect("remove");
    w.commit().expect("commit");
    // The tree of an empty list holds the smallest class of dummies, as a fresh build does.
    assert_eq!(store.stats().expect("stats")[0].tags, 0);
    assert_eq!(
        store.stats().expect("stats")[0].root,
        Some(reference_root(&store, &seed, &list))
    );
    let empty = IndexedMerkleTree::open(MemoryStore::new())
        .expect("open")
        .root();
    assert_ne!(store.stats().expect("stats")[0].root, Some(empty.to_hex()));
}
