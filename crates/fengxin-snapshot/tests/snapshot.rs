//! Snapshots: padding to the size class, the chunk root, and a receiver that rebuilds the
//! published tree from verified chunks and refuses (and names) every tampering.

use fengxin_snapshot::{
    chunk_count, chunk_root, dummy_tags, size_class, Assembler, Entry, PaddingSecret, Snapshot,
    SnapshotError, SnapshotHeader, CHUNK_ENTRIES, ENTRY_LEN, LABEL_LEN, MIN_CLASS,
};
use fengxin_tree::{IndexedMerkleTree, MemoryStore, Root};
use fengxin_types::{Epoch, ListId, Tag};
use proptest::prelude::*;

fn list() -> ListId {
    ListId::parse("fraud_txn").expect("list")
}

fn tag_of(seed: u64) -> Tag {
    let mut b = [0u8; Tag::LEN];
    b[..8].copy_from_slice(&seed.to_be_bytes());
    b[8..16].copy_from_slice(&seed.wrapping_mul(0x9e37_79b9_7f4a_7c15).to_be_bytes());
    b[Tag::LEN - 1] = 1;
    Tag::from_bytes(b).expect("non-zero")
}

fn entries(seeds: &[u64]) -> Vec<Entry> {
    seeds
        .iter()
        .map(|s| Entry {
            tag: tag_of(*s),
            label: [(*s % 251) as u8; LABEL_LEN],
        })
        .collect()
}

fn secret(n: u8) -> PaddingSecret {
    PaddingSecret::from_bytes([n; 32])
}

/// The member's published tree root: the tree over every snapshot tag, in sorted order.
fn published_root(s: &Snapshot) -> Root {
    IndexedMerkleTree::build_sorted(MemoryStore::new(), s.tags().map(Ok))
        .expect("tree")
        .root()
}

/// What a querier does: verify the manifest and each chunk, stream the tags into a tree.
fn receive(
    header: SnapshotHeader,
    manifest: Vec<[u8; 32]>,
    chunks: &[Vec<u8>],
) -> Result<Root, SnapshotError> {
    let mut a = Assembler::new(header);
    a.accept_manifest(manifest)?;
    let mut tags = Vec::new();
    for (i, c) in chunks.iter().enumerate() {
        tags.extend(a.accept_chunk(i as u32, c)?.into_iter().map(|e| e.tag));
    }
    a.finish()?;
    Ok(
        IndexedMerkleTree::build_sorted(MemoryStore::new(), tags.into_iter().map(Ok))
            .expect("tree")
            .root(),
    )
}

fn parts(s: &Snapshot) -> (SnapshotHeader, Vec<[u8; 32]>, Vec<Vec<u8>>) {
    (
        s.header(),
        s.manifest(),
        (0..s.chunks()).map(|i| s.chunk(i)).collect(),
    )
}

#[test]
fn size_classes_start_at_1024_and_grow_by_a_quarter() {
    assert_eq!(size_class(0), Some(MIN_CLASS));
    assert_eq!(size_class(1024), Some(1024));
    assert_eq!(size_class(1025), Some(1280));
    assert_eq!(size_class(1281), Some(1600));
    assert_eq!(size_class(2001), Some(2500));
    let c = size_class(1_000_000).expect("class");
    assert!((1_000_000..1_250_000).contains(&c), "{c}");
    assert_eq!(size_class(u64::MAX), None);
    // Every class holds its list and is less than 25 % (and one) over it.
    for n in [1u64, 5_000, 123_457, 9_999_999] {
        let c = size_class(n).expect("class");
        assert!(
            c >= n && (c <= MIN_CLASS || c * 4 <= n * 5 + 4),
            "{n} -> {c}"
        );
    }
}

#[test]
fn a_snapshot_is_its_list_padded_with_dummies_the_regulator_can_recompute() {
    let real = entries(&(0..3000).collect::<Vec<_>>());
    let s = Snapshot::build(real.clone(), &secret(1), &list(), Epoch::FIRST).expect("build");
    assert_eq!(s.entries().len() as u64, size_class(3000).expect("class"));
    assert!(s.entries().windows(2).all(|w| w[0].tag < w[1].tag));
    // The dummies are exactly the first (class - n) of the secret's sequence: whoever holds the
    // secret counts the real entries.
    let dummies = dummy_tags(
        &secret(1),
        &list(),
        Epoch::FIRST,
        s.entries().len() as u64 - 3000,
    );
    let tags: std::collections::BTreeSet<Tag> = s.tags().collect();
    assert!(dummies.iter().all(|d| tags.contains(d)));
    assert!(real.iter().all(|e| tags.contains(&e.tag)));
    // Another secret, list or epoch: other dummies, another chunk root.
    let other = Snapshot::build(real.clone(), &secret(2), &list(), Epoch::FIRST).expect("build");
    assert_ne!(other.header().root, s.header().root);
    let next = Epoch::FIRST.next().expect("epoch");
    assert_ne!(
        dummy_tags(&secret(1), &list(), next, 4),
        dummy_tags(&secret(1), &list(), Epoch::FIRST, 4)
    );
    // A repeated real tag is refused.
    let mut twice = real;
    twice.push(twice[7]);
    assert!(matches!(
        Snapshot::build(twice, &secret(1), &list(), Epoch::FIRST),
        Err(SnapshotError::Duplicate(_))
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8))]
    /// A receiver rebuilds exactly the published tree, whatever the list.
    #[test]
    fn the_rebuilt_tree_is_the_published_one(seeds in proptest::collection::btree_set(any::<u64>(), 0..6000), pad in any::<u8>()) {
        let seeds: Vec<u64> = seeds.into_iter().collect();
        let s = Snapshot::build(entries(&seeds), &secret(pad), &list(), Epoch::FIRST).expect("build");
        let (header, manifest, chunks) = parts(&s);
        prop_assert_eq!(u64::from(header.chunks), chunk_count(header.entries));
        prop_assert_eq!(receive(header, manifest, &chunks), Ok(published_root(&s)));
    }
}

#[test]
fn every_tampering_is_refused_and_blames_its_chunk() {
    let s = Snapshot::build(
        entries(&(0..9000).collect::<Vec<_>>()),
        &secret(3),
        &list(),
        Epoch::FIRST,
    )
    .expect("build");
    let (header, manifest, chunks) = parts(&s);
    assert!(chunks.len() >= 3, "several chunks");
    assert_eq!(chunks[0].len(), CHUNK_ENTRIES * ENTRY_LEN);
    let blamed = |r: Result<Root, SnapshotError>| match r {
        Err(SnapshotError::BadChunk { index, reason }) => (index, reason),
        other => panic!("not blamed on a chunk: {other:?}"),
    };
    let root = published_root(&s);
    assert_eq!(receive(header, manifest.clone(), &chunks), Ok(root));

    // A wrong chunk root, or a manifest that is not the published one.
    let mut wrong = header;
    wrong.root[0] ^= 1;
    assert!(matches!(
        receive(wrong, manifest.clone(), &chunks),
        Err(SnapshotError::BadManifest(_))
    ));
    let mut bent = manifest.clone();
    bent[1][5] ^= 1;
    assert!(matches!(
        receive(header, bent, &chunks),
        Err(SnapshotError::BadManifest(_))
    ));
    let mut miscounted = header;
    miscounted.chunks += 1;
    assert!(matches!(
        receive(miscounted, manifest.clone(), &chunks),
        Err(SnapshotError::BadManifest(_))
    ));

    // A bad chunk: a flipped label byte, a dropped tag, an added tag, two tags swapped.
    let at = |i: usize, c: Vec<u8>| {
        let mut all = chunks.clone();
        all[i] = c;
        all
    };
    let mut flipped = chunks[1].clone();
    flipped[Tag::LEN + 3] ^= 1;
    assert_eq!(
        blamed(receive(header, manifest.clone(), &at(1, flipped))).0,
        1
    );
    let dropped = chunks[2][ENTRY_LEN..].to_vec();
    assert_eq!(
        blamed(receive(header, manifest.clone(), &at(2, dropped))).0,
        2
    );
    let mut added = chunks[0].clone();
    added.extend_from_slice(&chunks[0][..ENTRY_LEN]);
    assert_eq!(
        blamed(receive(header, manifest.clone(), &at(0, added))).0,
        0
    );
    let mut swapped = chunks[1].clone();
    let (a, b) = swapped.split_at_mut(ENTRY_LEN);
    a.swap_with_slice(&mut b[..ENTRY_LEN]);
    assert_eq!(
        blamed(receive(header, manifest.clone(), &at(1, swapped))).0,
        1
    );

    // A sender whose manifest and chunk root commit to a reordered or shortened list: the
    // hashes check out, the order or the count does not.
    let mut reordered: Vec<Vec<u8>> = chunks.clone();
    reordered.swap(0, 1);
    let rehashed: Vec<[u8; 32]> = reordered
        .iter()
        .enumerate()
        .map(|(i, c)| fengxin_snapshot::chunk_hash(i as u32, c))
        .collect();
    let lying = SnapshotHeader {
        root: chunk_root(header.entries, &rehashed),
        ..header
    };
    let (index, reason) = blamed(receive(lying, rehashed, &reordered));
    assert_eq!(index, 1, "{reason}");
    assert!(reason.contains("not strictly increasing"), "{reason}");

    // Out of turn, or finished early.
    let mut a = Assembler::new(header);
    assert!(matches!(
        a.accept_chunk(0, &chunks[0]),
        Err(SnapshotError::NoManifest)
    ));
    a.accept_manifest(manifest).expect("manifest");
    assert!(matches!(
        a.accept_chunk(1, &chunks[1]),
        Err(SnapshotError::OutOfTurn {
            expected: 0,
            got: 1
        })
    ));
    a.accept_chunk(0, &chunks[0]).expect("first chunk");
    assert_eq!(a.next_chunk(), 1, "a resumed transfer starts here");
    assert!(matches!(
        a.finish(),
        Err(SnapshotError::Incomplete { received: 1, .. })
    ));
}

#[test]
fn a_snapshot_with_one_dropped_or_added_tag_is_not_the_published_tree() {
    // A responder that publishes one tree but serves a consistent snapshot of another list
    // (one tag fewer, one tag more): every chunk checks out against its own root, and the
    // rebuilt tree is not the published one.
    let seeds: Vec<u64> = (0..2000).collect();
    let honest =
        Snapshot::build(entries(&seeds), &secret(4), &list(), Epoch::FIRST).expect("build");
    let published = published_root(&honest);
    for other in [&seeds[1..], &[&seeds[..], &[99_999]].concat()[..]] {
        let s = Snapshot::build(entries(other), &secret(4), &list(), Epoch::FIRST).expect("build");
        let (header, manifest, chunks) = parts(&s);
        let rebuilt = receive(header, manifest, &chunks).expect("consistent");
        assert_ne!(rebuilt, published);
    }
}
