//! Ledger block validation (criterion): applying a batch of query receipts, as every validator
//! does for every block. The end-to-end figures (committed receipts per second with four
//! validators over QUIC, finality p50/p95) come from `fengxin-node bench ledger`.
#![allow(missing_docs)] // criterion_group! generates undocumented items

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use fengxin_node::bench::ReceiptWorkload;

const RECEIPTS: usize = 1024;

/// Receipts per block with allowance proofs (each proof takes milliseconds to build).
const CONFIDENTIAL_RECEIPTS: usize = 128;

fn apply(c: &mut Criterion) {
    let mut g = c.benchmark_group("ledger");
    g.sample_size(10);
    for (name, w, n) in [
        (
            "apply_block_1024_receipts",
            ReceiptWorkload::new(&[]).expect("workload"),
            RECEIPTS,
        ),
        (
            "apply_block_128_receipts_with_allowance_proofs",
            ReceiptWorkload::confidential(&[]).expect("workload"),
            CONFIDENTIAL_RECEIPTS,
        ),
    ] {
        let state = w.state().expect("state");
        let batch = w.batch(&state, (0..n).map(|k| w.receipt(k)).collect());
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(name, |b| {
            b.iter_batched(
                || state.clone(),
                |mut s| {
                    let applied = s.apply_batch(&batch);
                    assert_eq!(applied.block.map(|b| b.records.len()), Some(n));
                },
                BatchSize::LargeInput,
            )
        });
    }
    g.finish();
}

criterion_group!(benches, apply);
criterion_main!(benches);
