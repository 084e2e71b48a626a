//! Membership proofs and the indexed Merkle tree (criterion). The full report with the 1M-tag
//! tree and the MSM floor comes from `fengxin-node bench proofs --json`
//! (`fengxin_benches::proofs::run`).

#![allow(missing_docs)] // criterion_group! defines an undocumented function

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use fengxin_proofs::keys;
use fengxin_tree::{IndexedMerkleTree, MemoryStore};
use fengxin_types::Tag;
use rand_core::{OsRng, RngCore};

const TREE_TAGS: usize = 100_000;
const BUILD_TAGS: usize = 10_000;

fn random_tag() -> Tag {
    let mut b = [0u8; Tag::LEN];
    OsRng.fill_bytes(&mut b);
    b[Tag::LEN - 1] |= 1;
    Tag::from_bytes(b).expect("odd last byte: non-zero")
}

fn proofs(c: &mut Criterion) {
    let dir = keys::source_params_dir();
    let prover = keys::load_prover(&dir).expect("proving key");
    let verifier = keys::load_verifier(&dir).expect("verifying key");
    let tags: Vec<Tag> = (0..TREE_TAGS).map(|_| random_tag()).collect();
    let tree = IndexedMerkleTree::build(MemoryStore::new(), tags.clone()).expect("build");
    let root = tree.root();

    let mut g = c.benchmark_group("proofs");
    g.sample_size(10);
    let mut i = 0usize;
    g.bench_function("prove_hit_100k_tree", |b| {
        b.iter_batched(
            || {
                i = (i + 7919) % tags.len();
                let t = tags[i];
                (t, tree.lookup(t).expect("lookup"))
            },
            |(t, look)| {
                prover
                    .prove_lookup(root, t, &look, &mut OsRng)
                    .expect("prove")
            },
            BatchSize::SmallInput,
        )
    });
    g.bench_function("prove_miss_100k_tree", |b| {
        b.iter_batched(
            || {
                let t = random_tag();
                (t, tree.lookup(t).expect("lookup"))
            },
            |(t, look)| {
                prover
                    .prove_lookup(root, t, &look, &mut OsRng)
                    .expect("prove")
            },
            BatchSize::SmallInput,
        )
    });
    let proofs: Vec<_> = (0..16)
        .map(|k| {
            let t = if k % 2 == 0 { tags[k] } else { random_tag() };
            let look = tree.lookup(t).expect("lookup");
            prover
                .prove_lookup(root, t, &look, &mut OsRng)
                .expect("prove")
        })
        .collect();
    g.sample_size(50);
    g.bench_function("verify", |b| {
        b.iter(|| verifier.verify(&proofs[0].0, &proofs[0].1).expect("valid"))
    });
    g.bench_function("verify_batch_16", |b| {
        b.iter(|| verifier.verify_batch(&proofs, &mut OsRng).expect("valid"))
    });
    g.finish();

    let mut g = c.benchmark_group("tree");
    g.sample_size(10);
    g.bench_function("build_10k", |b| {
        b.iter_batched(
            || (0..BUILD_TAGS).map(|_| random_tag()).collect::<Vec<_>>(),
            |tags| IndexedMerkleTree::build(MemoryStore::new(), tags).expect("build"),
            BatchSize::LargeInput,
        )
    });
    let mut tree = tree;
    g.sample_size(50);
    g.bench_function("insert_then_delete_100k_tree", |b| {
        b.iter_batched(
            random_tag,
            |t| {
                tree.insert(t).expect("insert");
                tree.delete(t).expect("delete");
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(benches, proofs);
criterion_main!(benches);
