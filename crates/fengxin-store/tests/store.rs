//! Storage behaviour over a real redb file.

use fengxin_crypto::{ListKey, MasterSeed};
use fengxin_store::{ChunkOutcome, NewEntry, RemoveOutcome, Store, StoreError, SCHEMA_VERSION};
use fengxin_types::{CanonicalId, Epoch, IdType, ListId};
use rand_chacha::rand_core::SeedableRng;

fn seed() -> MasterSeed {
    MasterSeed::generate(&mut rand_chacha::ChaCha20Rng::seed_from_u64(1))
}

fn entry(t: IdType, s: &str) -> NewEntry {
    NewEntry {
        id: CanonicalId::parse(t, s, fengxin_types::CivilDate::today_china())
            .expect("valid identifier"),
        reason: Some("card_fraud".into()),
        added_on: Some("2025-01-02".into()),
        source_ref: None,
    }
}

fn list() -> ListId {
    ListId::parse("fraud_txn").expect("valid")
}

#[test]
fn add_dedupes_and_reimport_changes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::create(&dir.path().join("db.redb")).expect("create");
    let seed = seed();
    let mut w = store.writer(&list(), &seed).expect("writer");
    let out = w
        .add(vec![
            entry(IdType::Account, "A1"),
            entry(IdType::Account, "A2"),
            entry(IdType::Account, "a1"),
            entry(IdType::Email, "x@example.com"),
        ])
        .expect("add");
    assert_eq!(
        out,
        ChunkOutcome {
            accepted: 3,
            duplicates: 1
        }
    );
    // A later chunk in the same transaction sees the earlier one.
    let out = w.add(vec![entry(IdType::Account, "A2")]).expect("add");
    assert_eq!(
        out,
        ChunkOutcome {
            accepted: 0,
            duplicates: 1
        }
    );
    w.commit().expect("commit");

    let stats = store.stats().expect("stats");
    assert_eq!(stats.len(), 1);
    assert_eq!(stats[0].entries, 3);
    assert_eq!(stats[0].tags, 3);
    assert_eq!(stats[0].by_type.get("account"), Some(&2));
    let tags_before = store.tags(&list(), Epoch::FIRST).expect("tags");

    let mut w = store.writer(&list(), &seed).expect("writer");
    let out = w
        .add(vec![
            entry(IdType::Account, "A1"),
            entry(IdType::Email, "X@example.com"),
        ])
        .expect("add");
    assert_eq!(
        out,
        ChunkOutcome {
            accepted: 0,
            duplicates: 2
        }
    );
    w.commit().expect("commit");
    assert_eq!(store.stats().expect("stats"), stats);
    assert_eq!(
        store.tags(&list(), Epoch::FIRST).expect("tags"),
        tags_before
    );

    // Stored tags are exactly the OPRF tags of the entries.
    let key = ListKey::derive(&seed, &list(), Epoch::FIRST).expect("key");
    for (t, s) in [
        (IdType::Account, "A1"),
        (IdType::Account, "A2"),
        (IdType::Email, "x@example.com"),
    ] {
        let tag = key
            .tag(&CanonicalId::parse(t, s, fengxin_types::CivilDate::today_china()).expect("valid"))
            .expect("tag");
        assert!(store.has_tag(&list(), Epoch::FIRST, &tag).expect("lookup"));
    }
    assert!(
        tags_before.windows(2).all(|w| w[0] < w[1]),
        "tags come back sorted"
    );
}

#[test]
fn remove_keeps_tags_in_step() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::create(&dir.path().join("db.redb")).expect("create");
    let seed = seed();
    let mut w = store.writer(&list(), &seed).expect("writer");
    w.add(vec![
        entry(IdType::Account, "A1"),
        entry(IdType::Account, "A2"),
    ])
    .expect("add");
    w.commit().expect("commit");
    let key = ListKey::derive(&seed, &list(), Epoch::FIRST).expect("key");
    let a1 = CanonicalId::parse(
        IdType::Account,
        "A1",
        fengxin_types::CivilDate::today_china(),
    )
    .expect("valid");
    let tag = key.tag(&a1).expect("tag");

    let mut w = store.writer(&list(), &seed).expect("writer");
    let out = w
        .remove(vec![
            a1.clone(),
            a1.clone(),
            CanonicalId::parse(
                IdType::Account,
                "NOPE",
                fengxin_types::CivilDate::today_china(),
            )
            .expect("valid"),
        ])
        .expect("remove");
    assert_eq!(
        out,
        RemoveOutcome {
            removed: 1,
            duplicates: 1,
            not_found: 1
        }
    );
    w.commit().expect("commit");
    assert!(!store.has_tag(&list(), Epoch::FIRST, &tag).expect("lookup"));
    let stats = store.stats().expect("stats");
    assert_eq!((stats[0].entries, stats[0].tags), (1, 1));
}

#[test]
fn dropped_writer_changes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::create(&dir.path().join("db.redb")).expect("create");
    let seed = seed();
    let mut w = store.writer(&list(), &seed).expect("writer");
    w.add(vec![entry(IdType::Account, "A1")]).expect("add");
    drop(w);
    assert_eq!(store.entry_count().expect("count"), 0);
    assert!(store.stats().expect("stats").is_empty());
}

#[test]
fn reopen_and_refuse_missing_or_existing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db.redb");
    assert!(matches!(Store::open(&path), Err(StoreError::Missing(_))));
    {
        let store = Store::create(&path).expect("create");
        let mut w = store.writer(&list(), &seed()).expect("writer");
        w.add(vec![entry(IdType::Account, "A1")]).expect("add");
        w.commit().expect("commit");
    }
    assert!(matches!(
        Store::create(&path),
        Err(StoreError::AlreadyExists(_))
    ));
    let store = Store::open(&path).expect("open");
    assert_eq!(store.entry_count().expect("count"), 1);
}

#[test]
fn garbage_file_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db.redb");
    std::fs::write(&path, b"not a redb file at all").expect("write");
    assert!(Store::open(&path).is_err());
}

#[test]
fn a_second_open_is_refused_with_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db.redb");
    let _first = Store::create(&path).expect("create");
    match Store::open(&path) {
        Err(StoreError::InUse(p)) => assert_eq!(p, path),
        other => panic!("expected InUse, got {other:?}"),
    }
}

#[test]
fn another_schema_version_is_refused_naming_both_versions() {
    // The `meta` table as the schema defines it: name → bytes, `schema_version` a u32 BE.
    const META: redb::TableDefinition<&str, &[u8]> = redb::TableDefinition::new("meta");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db.redb");
    drop(Store::create(&path).expect("create"));
    for other in [SCHEMA_VERSION + 1, 0, u32::MAX] {
        {
            let db = redb::Database::open(&path).expect("redb open");
            let txn = db.begin_write().expect("write");
            {
                let mut meta = txn.open_table(META).expect("meta table");
                meta.insert("schema_version", other.to_be_bytes().as_slice())
                    .expect("insert");
            }
            txn.commit().expect("commit");
        }
        match Store::open(&path) {
            Err(e @ StoreError::SchemaVersion { found, expected }) => {
                assert_eq!((found, expected), (other, SCHEMA_VERSION));
                let message = e.to_string();
                assert!(
                    message.contains(&other.to_string())
                        && message.contains(&SCHEMA_VERSION.to_string()),
                    "{message}"
                );
            }
            result => panic!("schema version {other} not refused: {result:?}"),
        }
    }
}

#[test]
fn a_commit_that_stores_nothing_creates_no_list() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::create(&dir.path().join("db.redb")).expect("create");
    let seed = seed();
    let w = store.writer(&list(), &seed).expect("writer");
    w.commit().expect("commit");
    let mut w = store.writer(&list(), &seed).expect("writer");
    let out = w
        .remove(vec![CanonicalId::parse(
            IdType::Account,
            "A1",
            fengxin_types::CivilDate::today_china(),
        )
        .expect("valid")])
        .expect("remove");
    assert_eq!(out.not_found, 1);
    w.commit().expect("commit");
    assert!(store.stats().expect("stats").is_empty());
    assert_eq!(store.list_meta(&list()).expect("meta"), None);
    // The next writer still starts the list afresh and can store into it.
    let mut w = store.writer(&list(), &seed).expect("writer");
    w.add(vec![entry(IdType::Account, "A1")]).expect("add");
    w.commit().expect("commit");
    assert_eq!(store.stats().expect("stats")[0].entries, 1);
}
