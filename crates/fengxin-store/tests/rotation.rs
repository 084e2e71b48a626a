//! Epoch rotation over a real redb file: every entry re-tagged under the next generation of
//! the master seed, nothing of the old epoch left, and a seed of the wrong generation refused.

use fengxin_crypto::label;
use fengxin_crypto::{ListKey, MasterSeed};
use fengxin_store::{NewEntry, Store, StoreError};
use fengxin_types::{CanonicalId, Epoch, IdType, ListId, Tag};
use rand_chacha::rand_core::SeedableRng;
use std::collections::BTreeSet;

fn seed() -> MasterSeed {
    MasterSeed::generate(&mut rand_chacha::ChaCha20Rng::seed_from_u64(7))
}

fn id(t: IdType, s: &str) -> CanonicalId {
    CanonicalId::parse(t, s, fengxin_types::CivilDate::today_china()).expect("valid identifier")
}

fn entry(t: IdType, s: &str, reason: &str) -> NewEntry {
    NewEntry {
        id: id(t, s),
        reason: Some(reason.into()),
        added_on: Some("2025-03-04".into()),
        source_ref: Some("core-7".into()),
    }
}

fn list(name: &str) -> ListId {
    ListId::parse(name).expect("valid")
}

fn accounts(n: usize) -> Vec<NewEntry> {
    (0..n)
        .map(|i| entry(IdType::Account, &format!("ACC{i:06}"), "card_fraud"))
        .collect()
}

fn fill(store: &Store, seed: &MasterSeed, l: &ListId, entries: Vec<NewEntry>) {
    let mut w = store.writer(l, seed).expect("writer");
    w.add(entries).expect("add");
    w.commit().expect("commit");
}

#[test]
fn rotation_retags_every_entry_under_the_next_seed_and_erases_the_old_epoch() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::create(&dir.path().join("db.redb")).expect("create");
    let old = seed();
    let fraud = list("fraud_txn");
    let abuse = list("marketing_abuse");
    fill(&store, &old, &fraud, accounts(1_500));
    fill(
        &store,
        &old,
        &abuse,
        vec![
            entry(IdType::Phone, "13800138000", "promo_abuse"),
            entry(IdType::Email, "x@example.com", "promo_abuse"),
        ],
    );
    let before = store.stats().expect("stats");
    let old_tags = store.tags(&fraud, Epoch::FIRST).expect("tags");
    assert_eq!(old_tags.len(), 1_500);

    let new = old.ratchet().expect("ratchet");
    // The old seed no longer opens a writer once the lists moved; the new one does not
    // before they have.
    assert!(matches!(
        store.writer(&fraud, &new),
        Err(StoreError::SeedGeneration {
            list_generation: 0,
            seed_generation: 1,
            ..
        })
    ));
    assert!(store.check_generation(&new).is_err());
    let rotated = store.rotate(&new).expect("rotate");
    assert_eq!(rotated.len(), 2);
    let second = Epoch::new(2).expect("epoch");
    for r in &rotated {
        assert_eq!((r.from, r.to), (Epoch::FIRST, second));
    }
    assert_eq!(
        rotated.iter().map(|r| r.entries).collect::<Vec<_>>(),
        vec![1_500, 2]
    );
    store
        .check_generation(&new)
        .expect("every list at the new generation");
    assert!(matches!(
        store.check_generation(&old),
        Err(StoreError::SeedGeneration {
            list_generation: 1,
            seed_generation: 0,
            ..
        })
    ));
    assert!(matches!(
        store.writer(&fraud, &old),
        Err(StoreError::SeedGeneration { .. })
    ));
    // Running it again changes nothing: every list is at the seed's generation.
    assert!(store.rotate(&new).expect("rotate again").is_empty());

    // Same entries, new epoch, and nothing of the old epoch left.
    let after = store.stats().expect("stats");
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(a.list, b.list);
        assert_eq!(a.epoch, second);
        assert_eq!(a.entries, b.entries);
        assert_eq!(a.by_type, b.by_type);
        assert_eq!(a.tags, b.tags);
        assert_ne!(a.root, b.root);
    }
    assert!(store.tags(&fraud, Epoch::FIRST).expect("tags").is_empty());
    // The old epoch's tree is gone: there is nothing to open (an empty tree cannot be read).
    assert!(store.layout(&fraud, Epoch::FIRST).is_err());

    // Every tag is the new key's tag of its entry, disjoint from the old ones, and its label
    // opens under the new output only.
    let new_key = ListKey::derive(&new, &fraud, second).expect("key");
    let old_key = ListKey::derive(&old, &fraud, Epoch::FIRST).expect("key");
    let new_tags: BTreeSet<Tag> = store
        .tags(&fraud, second)
        .expect("tags")
        .into_iter()
        .collect();
    let old_set: BTreeSet<Tag> = old_tags.into_iter().collect();
    assert!(new_tags.is_disjoint(&old_set));
    let padding = fengxin_snapshot::PaddingSecret::from_bytes(new.padding_secret(&fraud, second));
    let snapshot = store.snapshot(&fraud, second, &padding).expect("snapshot");
    for i in [0usize, 7, 1_499] {
        let account = id(IdType::Account, &format!("ACC{i:06}"));
        let output = new_key.output(&account).expect("output");
        let tag = output.tag();
        assert!(new_tags.contains(&tag), "entry {i} re-tagged");
        assert!(store.has_tag(&fraud, second, &tag).expect("has"));
        let e = snapshot
            .entries()
            .iter()
            .find(|e| e.tag == tag)
            .expect("in the snapshot");
        let opened = label::open(&output.label_key(), &tag, &e.label).expect("label opens");
        assert_eq!(
            opened,
            label::Label::new(Some("card_fraud"), Some("2025-03-04"))
        );
        let stale = old_key.output(&account).expect("output");
        assert!(label::open(&stale.label_key(), &tag, &e.label).is_err());
    }
    // The snapshot's tags are the tree's leaves: the tree was rebuilt over the new tags.
    let (root, _) = store
        .lookup(&fraud, second, *new_tags.first().expect("tag"))
        .expect("lookup");
    assert_eq!(
        Some(root.to_hex()),
        after
            .iter()
            .find(|s| s.list == fraud)
            .and_then(|s| s.root.clone())
    );
    assert_eq!(
        snapshot.tags().filter(|t| new_tags.contains(t)).count(),
        1_500
    );

    // The list keeps working at its new epoch: adds and removals tag with the new key.
    let mut w = store.writer(&fraud, &new).expect("writer");
    assert_eq!(w.epoch(), second);
    w.add(vec![entry(IdType::Account, "NEW1", "mule")])
        .expect("add");
    w.remove(vec![id(IdType::Account, "ACC000000")])
        .expect("remove");
    w.commit().expect("commit");
    let tag = new_key.tag(&id(IdType::Account, "NEW1")).expect("tag");
    assert!(store.has_tag(&fraud, second, &tag).expect("has"));
    let gone = new_key.tag(&id(IdType::Account, "ACC000000")).expect("tag");
    assert!(!store.has_tag(&fraud, second, &gone).expect("has"));
}

#[test]
fn a_rotation_more_than_one_slice_long_retags_every_entry() {
    // 65,536 entries a slice: 70,000 entries take two slices.
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::create(&dir.path().join("db.redb")).expect("create");
    let old = seed();
    let fraud = list("fraud_txn");
    fill(&store, &old, &fraud, accounts(70_000));
    let new = old.ratchet().expect("ratchet");
    let rotated = store.rotate(&new).expect("rotate");
    assert_eq!(rotated[0].entries, 70_000);
    let second = Epoch::new(2).expect("epoch");
    assert_eq!(store.tags(&fraud, second).expect("tags").len(), 70_000);
    let key = ListKey::derive(&new, &fraud, second).expect("key");
    for i in [0usize, 65_535, 65_536, 69_999] {
        let tag = key
            .tag(&id(IdType::Account, &format!("ACC{i:06}")))
            .expect("tag");
        assert!(store.has_tag(&fraud, second, &tag).expect("has"), "{i}");
    }
}

#[test]
fn a_list_created_after_a_ratchet_starts_at_the_seed_generation() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::create(&dir.path().join("db.redb")).expect("create");
    let new = seed().ratchet().and_then(|s| s.ratchet()).expect("ratchet");
    let fraud = list("fraud_txn");
    fill(&store, &new, &fraud, accounts(3));
    let meta = store.list_meta(&fraud).expect("meta").expect("list");
    assert_eq!((meta.generation, meta.epoch), (2, 1));
    store.check_generation(&new).expect("same generation");
    assert!(store.rotate(&new).expect("rotate").is_empty());
    // A seed that went back a generation (a restored backup) is refused, not rotated.
    let older = seed().ratchet().expect("ratchet");
    assert!(matches!(
        store.rotate(&older),
        Err(StoreError::SeedGeneration {
            list_generation: 2,
            seed_generation: 1,
            ..
        })
    ));
    let err = store.check_generation(&older).expect_err("older seed");
    assert!(err.to_string().contains("older than the database"), "{err}");
}
