//! Snapshots: padding to the size class, the chunk root, and a receiver that rebuilds the
//! published tree from verified chunks and refuses (and names) every tampering.

use fengxin_snapshot::{
    chunk_count, chunk_root, dummy_tags, size_class, Assembler, ChunkInfo, Entry, PaddingSecret,
    Snapshot, SnapshotError, SnapshotHeader, CHUNK_ENTRIES, CHUNK_INFO_LEN, ENTRY_LEN, LABEL_LEN,
    MIN_CLASS,
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

/// What a querier does against a publication of `header` and `published` tree root: verify
/// the manifest and each chunk; the accepted tags are streamed into a tree as a cross-check.
fn receive(
    header: SnapshotHeader,
    published: Root,
    manifest: Vec<ChunkInfo>,
    chunks: &[Vec<u8>],
) -> Result<Root, SnapshotError> {
    let mut a = Assembler::new(header, published.to_bytes());
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

fn parts(s: &Snapshot) -> (SnapshotHeader, Vec<ChunkInfo>, Vec<Vec<u8>>) {
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
        let root = published_root(&s);
        prop_assert_eq!(receive(header, root, manifest.clone(), &chunks), Ok(root));
        for (i, info) in manifest.iter().enumerate() {
            prop_assert_eq!(ChunkInfo::from_bytes(&info.to_bytes()), Some(*info));
            prop_assert_eq!(info.to_bytes().len(), CHUNK_INFO_LEN);
            let end = ((i + 1) * CHUNK_ENTRIES).min(s.entries().len());
            prop_assert_eq!(info.last, s.entries()[end - 1].tag);
        }
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
        Err(SnapshotError::BadChunk {
            index,
            reason,
            committed,
        }) => (index, reason, committed),
        other => panic!("not blamed on a chunk: {other:?}"),
    };
    let root = published_root(&s);
    let receive = |h, m, c: &[Vec<u8>]| receive(h, root, m, c);
    assert_eq!(receive(header, manifest.clone(), &chunks), Ok(root));

    // A wrong chunk root, or a manifest that is not the published one.
    let mut wrong = header;
    wrong.root[0] ^= 1;
    assert!(matches!(
        receive(wrong, manifest.clone(), &chunks),
        Err(SnapshotError::BadManifest(_))
    ));
    for bend in [0usize, 1, 2] {
        let mut bent = manifest.clone();
        match bend {
            0 => bent[1].hash[5] ^= 1,
            1 => bent[1].subtree[31] ^= 1,
            _ => bent.swap(0, 1),
        }
        assert!(matches!(
            receive(header, bent, &chunks),
            Err(SnapshotError::BadManifest(_))
        ));
    }
    let mut miscounted = header;
    miscounted.chunks += 1;
    assert!(matches!(
        receive(miscounted, manifest.clone(), &chunks),
        Err(SnapshotError::BadManifest(_))
    ));

    // A bad chunk: a flipped label byte, a dropped tag, an added tag, two tags swapped: none
    // is the chunk the manifest names.
    let at = |i: usize, c: Vec<u8>| {
        let mut all = chunks.clone();
        all[i] = c;
        all
    };
    let mut flipped = chunks[1].clone();
    flipped[Tag::LEN + 3] ^= 1;
    let dropped = chunks[2][ENTRY_LEN..].to_vec();
    let mut added = chunks[0].clone();
    added.extend_from_slice(&chunks[0][..ENTRY_LEN]);
    let mut swapped = chunks[1].clone();
    let (a, b) = swapped.split_at_mut(ENTRY_LEN);
    a.swap_with_slice(&mut b[..ENTRY_LEN]);
    for (i, bent) in [(1, flipped), (2, dropped), (0, added), (1, swapped)] {
        let (index, reason, committed) = blamed(receive(header, manifest.clone(), &at(i, bent)));
        assert_eq!((index as usize, committed), (i, false), "{reason}");
    }

    // A sender whose manifest and chunk root commit to chunks that do not make their subtree
    // roots (here chunks 0 and 1 swapped, with the honest subtree roots, last tags and tree):
    // the hashes check out, the first swapped chunk is blamed, and on the publication.
    let mut reordered: Vec<Vec<u8>> = chunks.clone();
    reordered.swap(0, 1);
    let lying_manifest: Vec<ChunkInfo> = manifest
        .iter()
        .enumerate()
        .map(|(i, info)| ChunkInfo {
            hash: fengxin_snapshot::chunk_hash(i as u32, &reordered[i]),
            ..*info
        })
        .collect();
    let lying = SnapshotHeader {
        root: chunk_root(header.entries, &lying_manifest),
        ..header
    };
    let (index, reason, committed) = blamed(receive(lying, lying_manifest, &reordered));
    assert_eq!((index, committed), (0, true), "{reason}");
    assert!(reason.contains("last tag"), "{reason}");

    // Out of turn, or finished early.
    let mut a = Assembler::new(header, root.to_bytes());
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
    // (one tag fewer, one tag more): its manifest checks out against its own chunk root, and
    // its subtree roots do not make the published tree, before any chunk is fetched.
    let seeds: Vec<u64> = (0..5000).collect();
    let honest =
        Snapshot::build(entries(&seeds), &secret(4), &list(), Epoch::FIRST).expect("build");
    let published = published_root(&honest);
    for other in [&seeds[1..], &[&seeds[..], &[99_999]].concat()[..]] {
        let s = Snapshot::build(entries(other), &secret(4), &list(), Epoch::FIRST).expect("build");
        let (header, manifest, chunks) = parts(&s);
        assert_eq!(
            receive(header, published_root(&s), manifest.clone(), &chunks),
            Ok(published_root(&s))
        );
        assert!(matches!(
            receive(header, published, manifest, &chunks),
            Err(SnapshotError::WrongTree { .. })
        ));
    }
}

#[test]
fn a_chunk_that_its_manifest_names_but_that_breaks_the_tree_is_the_publications_fault() {
    // The manifest is built from a snapshot whose middle chunk's tags were changed (and its
    // subtree root, last tag and hash recomputed for the changed chunk): the chunk root and the
    // tree root no longer match the honest tree, so a liar keeps the honest subtree roots. The
    // changed chunk then fails its subtree root, and the check needs only that chunk and the
    // two infos (anyone holding the publication can repeat it).
    let s = Snapshot::build(
        entries(&(0..9000).collect::<Vec<_>>()),
        &secret(5),
        &list(),
        Epoch::FIRST,
    )
    .expect("build");
    let (header, manifest, chunks) = parts(&s);
    let root = published_root(&s);
    let mut bent = chunks[1].clone();
    // Replace one tag by a value between its neighbours (the order still holds).
    let at = 7 * ENTRY_LEN;
    let (lo, hi) = (
        &bent[at - ENTRY_LEN..at - ENTRY_LEN + Tag::LEN],
        &bent[at + ENTRY_LEN..at + ENTRY_LEN + Tag::LEN],
    );
    assert!(lo < hi);
    let mut mid = bent[at..at + Tag::LEN].to_vec();
    let original = mid.clone();
    // Step the tag's last byte up or down while it stays strictly between its neighbours.
    mid[Tag::LEN - 1] ^= 1;
    if !(lo < &mid[..] && &mid[..] < hi) {
        mid = original.clone();
    }
    assert_ne!(mid, original, "a tag strictly between its neighbours");
    bent[at..at + Tag::LEN].copy_from_slice(&mid);
    let mut lying_manifest = manifest.clone();
    lying_manifest[1].hash = fengxin_snapshot::chunk_hash(1, &bent);
    let lying = SnapshotHeader {
        root: chunk_root(header.entries, &lying_manifest),
        ..header
    };
    let mut all = chunks.clone();
    all[1] = bent.clone();
    match receive(lying, root, lying_manifest.clone(), &all) {
        Err(SnapshotError::BadChunk {
            index: 1,
            reason,
            committed: true,
        }) => assert!(reason.contains("subtree root"), "{reason}"),
        other => panic!("{other:?}"),
    }
    assert!(fengxin_snapshot::check_committed_chunk(
        lying,
        1,
        Some(lying_manifest[0].last),
        &lying_manifest[1],
        &bent
    )
    .is_err());
    assert!(fengxin_snapshot::check_committed_chunk(
        header,
        1,
        Some(manifest[0].last),
        &manifest[1],
        &chunks[1]
    )
    .is_ok());
}

#[test]
fn the_manifest_tree_root_is_the_sorted_root_when_the_last_chunk_is_full_or_short() {
    // Snapshot sizes are size classes; these counts (two full chunks, one entry over) exercise
    // the subtree after a full last chunk and a last chunk of one entry.
    for n in [2 * CHUNK_ENTRIES, 2 * CHUNK_ENTRIES + 1, CHUNK_ENTRIES - 1] {
        let mut tags: Vec<Tag> = (0..n as u64).map(tag_of).collect();
        tags.sort_unstable();
        let chunks: Vec<&[Tag]> = tags.chunks(CHUNK_ENTRIES).collect();
        let manifest: Vec<ChunkInfo> = chunks
            .iter()
            .enumerate()
            .map(|(i, c)| ChunkInfo {
                hash: [0; 32],
                last: *c.last().expect("tag"),
                subtree: fengxin_snapshot::chunk_subtree(
                    i.checked_sub(1).map(|p| *chunks[p].last().expect("tag")),
                    c,
                    i + 1 == chunks.len(),
                ),
            })
            .collect();
        let sorted = fengxin_tree::sorted_root(tags.iter().copied()).expect("sorted");
        assert_eq!(
            fengxin_snapshot::manifest_tree_root(n as u64, &manifest),
            Some(sorted),
            "{n} tags"
        );
    }
}

#[test]
fn every_chunk_info_has_a_path_to_the_chunk_root_and_nothing_else_does() {
    use fengxin_snapshot::{info_path, verify_info};
    for n in [1000u64, 5000, 9000, 20_000, 30_000] {
        let s = Snapshot::build(
            entries(&(0..n).collect::<Vec<_>>()),
            &secret(6),
            &list(),
            Epoch::FIRST,
        )
        .expect("build");
        let (header, manifest, _) = parts(&s);
        for (i, info) in manifest.iter().enumerate() {
            let i = i as u32;
            let path = info_path(&manifest, i);
            assert!(verify_info(&header, i, info, &path), "{n}: chunk {i}");
            // Another index, another info, a bent or shortened path, another header.
            assert!(!verify_info(&header, i + 1, info, &path));
            let mut bent_info = *info;
            bent_info.subtree[0] ^= 1;
            assert!(!verify_info(&header, i, &bent_info, &path));
            if !path.is_empty() {
                let mut bent = path.clone();
                bent[0][0] ^= 1;
                assert!(!verify_info(&header, i, info, &bent));
                assert!(!verify_info(&header, i, info, &path[1..]));
            }
            let mut longer = path.clone();
            longer.push([0; 32]);
            assert!(!verify_info(&header, i, info, &longer));
            let mut other = header;
            other.root[31] ^= 1;
            assert!(!verify_info(&other, i, info, &path));
        }
        assert!(info_path(&manifest, header.chunks).is_empty());
    }
}
