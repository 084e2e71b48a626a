//! Import + tagging throughput (criterion). The 1M-row figure with peak memory comes from
//! `fengxin-node bench import --rows 1000000`, which runs in a fresh process.
#![allow(missing_docs)] // criterion_group! generates undocumented items

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use fengxin_crypto::{ListKey, MasterSeed};
use fengxin_node::datadir::{DataDir, Role};
use fengxin_node::import::{import_file, Format};
use fengxin_types::{CanonicalId, Epoch, IdType, ListId, MemberName};

const ROWS: usize = 20_000;

fn import(c: &mut Criterion) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let csv = tmp.path().join("list.csv");
    let mut bytes = Vec::new();
    fengxin_sample::write_csv(&mut bytes, IdType::CnId, ROWS, 5).expect("generate");
    std::fs::write(&csv, bytes).expect("write");
    let list = ListId::parse(ListId::FRAUD_TXN).expect("valid");

    let mut g = c.benchmark_group("import");
    g.sample_size(10);
    g.throughput(Throughput::Elements(ROWS as u64));
    let mut n = 0u32;
    g.bench_function("csv_to_stored_tags_20k_cn_id", |b| {
        b.iter_batched(
            || {
                n += 1;
                DataDir::init(
                    &tmp.path().join(format!("node{n}")),
                    MemberName::parse("bench").expect("valid"),
                    "127.0.0.1:0".into(),
                    Role::Member,
                )
                .expect("init")
            },
            |dir| {
                let store = dir.store().expect("store");
                let seed = dir.master_seed().expect("seed");
                import_file(&store, &seed, &list, IdType::CnId, &csv, Format::Csv).expect("import")
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();

    let seed = MasterSeed::generate(&mut rand_core::OsRng);
    let key = ListKey::derive(&seed, &list, Epoch::FIRST).expect("key");
    let id = CanonicalId::parse(
        IdType::CnId,
        "11010519491231002X",
        fengxin_types::CivilDate::today_china(),
    )
    .expect("valid");
    c.bench_function("oprf/tag_one_entry", |b| {
        b.iter(|| key.tag(&id).expect("tag"))
    });
}

criterion_group!(benches, import);
criterion_main!(benches);
