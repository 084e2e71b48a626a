//! Ledger block validation (criterion): applying a batch of query receipts, as every validator
//! does for every block. The end-to-end figures (committed receipts per second with four
//! validators over QUIC, finality p50/p95) come from `fengxin-node bench ledger`.
#![allow(missing_docs)] // criterion_group! generates undocumented items

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use fengxin_node::bench::ReceiptWorkload;

const RECEIPTS: usize = 1024;

fn apply(c: &mut Criterion) {
    let w = ReceiptWorkload::new(&[]).expect("workload");
    let state = w.state().expect("state");
    let batch = w.batch((0..RECEIPTS).map(|k| w.receipt(k)).collect());
    let mut g = c.benchmark_group("ledger");
    g.sample_size(10);
    g.throughput(Throughput::Elements(RECEIPTS as u64));
    g.bench_function("apply_block_1024_receipts", |b| {
        b.iter_batched(
            || state.clone(),
            |mut s| {
                let applied = s.apply_batch(&batch);
                assert_eq!(applied.block.map(|b| b.records.len()), Some(RECEIPTS));
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(benches, apply);
criterion_main!(benches);
