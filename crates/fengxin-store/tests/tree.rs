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

fn reference_root(store: &Store, list: &ListId) -> String {
    let tags = store.tags(list, Epoch::FIRST).expect("tags");
    IndexedMerkleTree::build(MemoryStore::new(), tags)
        .expect("build")
        .root()
        .to_hex()
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
    assert_eq!(r1, reference_root(&store, &list));

    // A small change: incremental insert and delete. Slots depend on history, so the root
    // differs from a fresh build's; every tag must still be proven against it.
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
    assert_ne!(
        r2,
        reference_root(&store, &list),
        "a small change must not rebuild"
    );
    let tags = store.tags(&list, Epoch::FIRST).expect("tags");
    assert_eq!(tags.len(), 202);
    for tag in &tags {
        let (root, found) = store.lookup(&list, Epoch::FIRST, *tag).expect("lookup");
        assert!(found.is_member(), "{tag:?} missing from the tree");
        assert_eq!(root.to_hex(), r2);
        assert_eq!(found.witness().root(), root);
    }

    // A large change: rebuild, the same root as a fresh build.
    let mut w = store.writer(&list, &seed).expect("writer");
    w.add(entries("C", 100)).expect("add");
    w.commit().expect("commit");
    assert_eq!(root_of(&store), reference_root(&store, &list));

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
fn empty_list_after_removing_everything_has_the_empty_root() {
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
    let empty = IndexedMerkleTree::open(MemoryStore::new())
        .expect("open")
        .root();
    assert_eq!(store.stats().expect("stats")[0].root, Some(empty.to_hex()));
}
