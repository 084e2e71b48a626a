//! `fengxin-node bench`: this machine's figures, like `openssl speed`.

use crate::cli::CliError;
use fengxin_api::ErrorKind;
use fengxin_crypto::oprf::{self, ListKey};
use fengxin_crypto::MasterSeed;
use fengxin_types::{CanonicalId, Epoch, IdType, ListId, MemberName};
use std::time::{Duration, Instant};

/// What to measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Which {
    /// VOPRF tagging and the blinded exchange.
    Oprf,
    /// Import + tagging of a generated CSV list (`--rows`, default 1,000,000).
    Import,
    /// Groth16 proofs, verification, tree operations (in memory and in redb) and the MSM floor.
    Proofs,
    /// The indexed Merkle tree alone: 1M-tag build, single insert and delete, in memory and in
    /// the node's redb tree tables (`all` reports these within `proofs`).
    Tree,
    /// End-to-end screening on loopback: one and three responders, batches.
    Screening,
    /// The ledger: committed receipts per second and finality with four validators over QUIC.
    Ledger,
    /// Confidential counters: range proofs (single, aggregated), handles, decryption, HPKE.
    Confidential,
    /// Root attestation of a `--tree-tags` list: the member's layout and seal, the
    /// regulator's open and judgment (order, links, root recomputed, count).
    Attestation,
    /// Snapshot mode's parts, without the network: a `--tree-tags` snapshot built and
    /// verified (chunks checked, tree rebuilt, root compared), and one batch of 65,535
    /// identifiers blinded, evaluated with one DLEQ proof and finalized, and the
    /// per-identifier limit those set; then end to end on loopback (real processes, QUIC):
    /// one responder with a `--tree-tags` list, its snapshot synced and verified by the
    /// querier's node, a `--rows` file screened with `fengxin screen --file`, single
    /// identifiers through the held snapshot, the querier's peak memory.
    Snapshot,
    /// Everything available.
    All,
}

/// One operation's latency figures.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Figure {
    /// Operation.
    pub op: String,
    /// Samples taken.
    pub samples: usize,
    /// Median, milliseconds.
    pub p50_ms: f64,
    /// 95th percentile, milliseconds.
    pub p95_ms: f64,
    /// Operations per second at the median.
    pub per_second: f64,
}

/// Times `f` `n` times and summarises.
pub fn measure(op: &str, n: usize, mut f: impl FnMut()) -> Figure {
    let samples: Vec<Duration> = (0..n.max(1))
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    summarize(op, samples)
}

/// Summarises measured durations (at least one).
pub fn summarize(op: &str, mut samples: Vec<Duration>) -> Figure {
    if samples.is_empty() {
        samples.push(Duration::ZERO);
    }
    samples.sort();
    let pick = |q: f64| {
        let i = ((samples.len() as f64 - 1.0) * q).round() as usize;
        samples[i.min(samples.len() - 1)].as_secs_f64() * 1e3
    };
    let p50 = pick(0.5);
    Figure {
        op: op.to_owned(),
        samples: samples.len(),
        p50_ms: p50,
        p95_ms: pick(0.95),
        per_second: if p50 > 0.0 { 1e3 / p50 } else { f64::INFINITY },
    }
}

/// Figures for the VOPRF operations.
pub fn oprf_figures() -> Result<Vec<Figure>, CliError> {
    let seed = MasterSeed::generate(&mut rand_core::OsRng);
    let list = ListId::parse(ListId::FRAUD_TXN)
        .map_err(|e| CliError::new(ErrorKind::Internal, e.to_string()))?;
    let key = ListKey::derive(&seed, &list, Epoch::FIRST)
        .map_err(|e| CliError::new(ErrorKind::Internal, e.to_string()))?;
    let ids: Vec<CanonicalId> = fengxin_sample::identifiers(IdType::CnId, 256, 7)
        .map(|s| CanonicalId::parse(IdType::CnId, &s, fengxin_types::CivilDate::today_china()))
        .collect::<Result<_, _>>()
        .map_err(|e| CliError::new(ErrorKind::Internal, e.to_string()))?;
    let pk = key.public_key();
    let mut rng = rand_core::OsRng;
    let mut i = 0usize;
    let mut next = || {
        i = (i + 1) % ids.len();
        &ids[i]
    };
    let mut out = vec![measure("tag (own entry, full evaluation)", 2000, || {
        let _ = key.tag(next());
    })];
    let one = [ids[0].clone()];
    out.push(measure("querier blind (1 identifier)", 1000, || {
        let _ = oprf::blind(&mut rng, &list, &one);
    }));
    let (_, blinded) = oprf::blind(&mut rng, &list, &one)
        .map_err(|e| CliError::new(ErrorKind::Internal, e.to_string()))?;
    out.push(measure(
        "responder evaluate + DLEQ proof (1 identifier)",
        1000,
        || {
            let _ = key.blind_evaluate_batch(&mut rng, &blinded);
        },
    ));
    out.push(measure(
        "querier verify DLEQ + finalize (1 identifier)",
        1000,
        || {
            let (pending, blinded) = match oprf::blind(&mut rand_core::OsRng, &list, &one) {
                Ok(x) => x,
                Err(_) => return,
            };
            if let Ok((ev, proof)) = key.blind_evaluate_batch(&mut rand_core::OsRng, &blinded) {
                let _ = pending.finalize(&ev, &proof, &pk);
            }
        },
    ));
    Ok(out)
}

/// Import + tagging figures for one generated list.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ImportFigures {
    /// Rows in the generated CSV file.
    pub rows: u64,
    /// Entries stored.
    pub accepted: u64,
    /// CSV file size, bytes.
    pub file_bytes: u64,
    /// Wall time from opening the file to the committed transaction, seconds.
    pub seconds: f64,
    /// Stored and tagged entries per second.
    pub rows_per_second: f64,
    /// Peak resident set size of this process (VmHWM), MiB.
    pub peak_rss_mib: f64,
    /// Database file size after the import, bytes.
    pub db_bytes: u64,
}

/// Generates a `rows`-row cn_id CSV, then times `lists import` of it into a fresh node.
pub fn import_figures(rows: usize) -> Result<ImportFigures, CliError> {
    use crate::datadir::{DataDir, Role};
    let io = |e: std::io::Error| CliError::new(ErrorKind::Io, e.to_string());
    let tmp = std::env::temp_dir().join(format!("fengxin-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(io)?;
    let csv = tmp.join("list.csv");
    {
        let mut w = std::io::BufWriter::new(std::fs::File::create(&csv).map_err(io)?);
        fengxin_sample::write_csv(&mut w, IdType::CnId, rows, 2026).map_err(io)?;
        std::io::Write::flush(&mut w).map_err(io)?;
    }
    let name = fengxin_types::MemberName::parse("bench")
        .map_err(|e| CliError::new(ErrorKind::Internal, e.to_string()))?;
    let dir = DataDir::init(&tmp.join("node"), name, "127.0.0.1:0".into(), Role::Member)?;
    let store = dir.store()?;
    let seed = dir.master_seed()?;
    let list = ListId::parse(ListId::FRAUD_TXN)
        .map_err(|e| CliError::new(ErrorKind::Internal, e.to_string()))?;
    let t = Instant::now();
    let report = crate::import::import_file(
        &store,
        &seed,
        &list,
        IdType::CnId,
        &csv,
        crate::import::Format::Csv,
    )?;
    let seconds = t.elapsed().as_secs_f64();
    drop(store);
    let file_bytes = std::fs::metadata(&csv).map_err(io)?.len();
    let db_bytes = std::fs::metadata(dir.root().join("node.redb"))
        .map_err(io)?
        .len();
    let _ = std::fs::remove_dir_all(&tmp);
    Ok(ImportFigures {
        rows: rows as u64,
        accepted: report.accepted,
        file_bytes,
        seconds,
        rows_per_second: report.accepted as f64 / seconds,
        peak_rss_mib: peak_rss_mib(),
        db_bytes,
    })
}

/// Peak resident set size of this process in MiB (Linux `VmHWM`; 0 where unavailable).
pub fn peak_rss_mib() -> f64 {
    peak_rss_of("self")
}

/// Peak resident set size of process `pid` (`self` for this one) in MiB.
fn peak_rss_of(pid: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// End-to-end screening figures.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ScreeningFigures {
    /// Entries per responder list.
    pub list_size: usize,
    /// One identifier against one responder (client-side wall time, local API included).
    pub one_member: Figure,
    /// One identifier against three responders in parallel.
    pub three_members: Figure,
    /// `three_members.p50 / one_member.p50`.
    pub three_to_one: f64,
    /// One identifier against three responders whose answers are already proven: the
    /// fan-out without proving, which shows whether the members are asked in parallel.
    pub three_members_cached: Figure,
    /// `three_members_cached.p50 / one_member_cached.p50`.
    pub three_to_one_cached: f64,
    /// Proving one answer in this process (same keys), for the split below.
    pub prove: Figure,
    /// One identifier against one responder whose answer is already proven (the responder's
    /// proof cache): everything except proving, measured directly.
    pub one_member_cached: Figure,
    /// Identifiers in the batch exchange.
    pub batch_size: usize,
    /// One batch of `batch_size` fresh identifiers against one responder, over several runs.
    pub batch: Figure,
    /// Batch screening against one responder: identifiers per second at the median batch.
    pub batch_ids_per_second: f64,
}

/// A sample CSV list of `count` resident IDs.
fn sample_csv(count: usize, seed: u64) -> Result<String, CliError> {
    let mut out = Vec::new();
    fengxin_sample::write_csv(&mut out, IdType::CnId, count, seed)
        .map_err(|e| CliError::new(ErrorKind::Io, e.to_string()))?;
    String::from_utf8(out).map_err(internal)
}

fn internal(e: impl std::fmt::Display) -> CliError {
    CliError::new(ErrorKind::Internal, e.to_string())
}

fn screen_once(dir: &std::path::Path, request: &fengxin_api::ApiRequest) -> Result<(), CliError> {
    use fengxin_api::ApiResponse;
    match fengxin_api::call(dir, request)
        .map_err(|e| CliError::new(ErrorKind::Node, e.to_string()))?
    {
        ApiResponse::Screen(r) if r.results.iter().all(|x| x.verified) => Ok(()),
        ApiResponse::ScreenBatch(r) if r.results.iter().all(|x| x.verified) => Ok(()),
        other => Err(CliError::new(
            ErrorKind::Bench,
            format!("screening failed: {other:?}"),
        )),
    }
}

/// Starts a four-member consortium on loopback (separate processes) and times screening from
/// one member through its local API.
pub fn screening_figures(samples: usize) -> Result<ScreeningFigures, CliError> {
    use fengxin_api::ApiRequest;
    const LIST: usize = 1000;
    const BATCH: usize = 64;
    const BATCH_RUNS: usize = 5;
    let root = std::env::temp_dir().join(format!("fengxin-bench-screen-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).map_err(|e| CliError::new(ErrorKind::Io, e.to_string()))?;
    let csv = |seed: u64| sample_csv(LIST, seed);
    let mut specs = Vec::new();
    for (i, name) in ["bank-a", "bank-b", "bank-c", "bank-d"]
        .into_iter()
        .enumerate()
    {
        let file = (
            "list.csv".to_owned(),
            ListId::FRAUD_TXN,
            IdType::CnId,
            csv(900 + i as u64)?,
        );
        specs.push((name, vec![file]));
    }
    let result = (|| {
        let consortium = crate::consortium::Builder::this_executable(&root)?.start_consortium(
            &specs,
            None,
            &mut |_| (),
        )?;
        let a = consortium.members[0].dir.clone();
        let ids: Vec<String> =
            fengxin_sample::identifiers(IdType::CnId, 2 * samples + BATCH * BATCH_RUNS + 1, 4242)
                .collect();
        let bank_b = MemberName::parse("bank-b").map_err(internal)?;
        let screen = |id: &str, members: Option<Vec<MemberName>>| ApiRequest::Screen {
            id_type: IdType::CnId,
            identifier: id.to_owned(),
            list: None,
            members,
            case_reference: None,
        };
        screen_once(&a, &screen(&ids[0], None))?;
        let mut err = Ok(());
        // Identifiers 1..=samples: none was screened in the warm-up (`ids[0]`), so every sample
        // is proven afresh.
        let mut i = 0;
        let one = measure("screen 1 identifier, 1 responder", samples, || {
            i += 1;
            let req = screen(&ids[i], Some(vec![bank_b.clone()]));
            if let Err(e) = screen_once(&a, &req) {
                err = Err(e);
            }
        });
        err?;
        // The same identifier again: the responder answers from its proof cache, so this is
        // the exchange without proving (QUIC, OPRF with DLEQ, publications, verification).
        let mut err = Ok(());
        let cached = measure(
            "screen 1 identifier, 1 responder, answer cached",
            samples,
            || {
                let req = screen(&ids[1], Some(vec![bank_b.clone()]));
                if let Err(e) = screen_once(&a, &req) {
                    err = Err(e);
                }
            },
        );
        err?;
        let mut err = Ok(());
        // Fresh identifiers: no responder has proven these yet.
        let mut k = samples;
        let three = measure("screen 1 identifier, 3 responders", samples, || {
            k += 1;
            if let Err(e) = screen_once(&a, &screen(&ids[k], None)) {
                err = Err(e);
            }
        });
        err?;
        // The last of those again: every responder answers from its proof cache.
        let mut err = Ok(());
        let three_cached = measure(
            "screen 1 identifier, 3 responders, answers cached",
            samples,
            || {
                if let Err(e) = screen_once(&a, &screen(&ids[k], None)) {
                    err = Err(e);
                }
            },
        );
        err?;
        // Batches of fresh identifiers, each proven afresh.
        let mut err = Ok(());
        let mut chunks = ids[2 * samples + 1..].chunks(BATCH);
        let batch = measure(
            &format!("screen a batch of {BATCH} identifiers, 1 responder"),
            BATCH_RUNS,
            || {
                let Some(chunk) = chunks.next() else { return };
                let req = ApiRequest::ScreenBatch {
                    id_type: IdType::CnId,
                    identifiers: chunk.to_vec(),
                    list: None,
                    members: Some(vec![bank_b.clone()]),
                    case_reference: None,
                };
                if let Err(e) = screen_once(&a, &req) {
                    err = Err(e);
                }
            },
        );
        err?;
        let bank_b_dir = consortium.members[1].dir.clone();
        drop(consortium);
        // Proving alone, same keys, on a tree of the same size.
        let prover = fengxin_proofs::keys::load_prover(&crate::publish::params_dir()?)
            .map_err(|e| CliError::new(ErrorKind::Params, e.to_string()))?;
        let list = ListId::parse(ListId::FRAUD_TXN).map_err(internal)?;
        let tags = crate::datadir::DataDir::open(&bank_b_dir)?
            .store()?
            .tags(&list, Epoch::FIRST)
            .map_err(|e| CliError::new(ErrorKind::Store, e.to_string()))?;
        let tree =
            fengxin_tree::IndexedMerkleTree::build(fengxin_tree::MemoryStore::new(), tags.clone())
                .map_err(internal)?;
        let mut j = 0;
        let prove = measure(
            "prove one answer (same keys, in-process)",
            samples.min(20),
            || {
                j += 1;
                let tag = tags[j % tags.len()];
                if let Ok(lookup) = tree.lookup(tag) {
                    let _ = prover.prove_lookup(tree.root(), tag, &lookup, &mut rand_core::OsRng);
                }
            },
        );
        Ok(ScreeningFigures {
            list_size: LIST,
            three_to_one: three.p50_ms / one.p50_ms,
            three_to_one_cached: three_cached.p50_ms / cached.p50_ms,
            three_members_cached: three_cached,
            one_member: one,
            one_member_cached: cached,
            three_members: three,
            prove,
            batch_size: BATCH,
            batch_ids_per_second: BATCH as f64 / (batch.p50_ms / 1e3),
            batch,
        })
    })();
    let _ = std::fs::remove_dir_all(&root);
    result
}

/// `fengxin-node bench`: `rows` sizes the import benchmark, `tree_tags` the tree of the proof
/// and tree benchmarks.
pub fn run(which: Which, rows: usize, tree_tags: usize, json: bool) -> Result<(), CliError> {
    let all = which == Which::All;
    let oprf = (all || which == Which::Oprf)
        .then(oprf_figures)
        .transpose()?;
    let proofs = (all || which == Which::Proofs)
        .then(|| {
            let cfg = fengxin_benches::proofs::BenchConfig {
                params_dir: crate::publish::params_dir()?,
                tree_tags,
                ..Default::default()
            };
            fengxin_benches::proofs::run(cfg)
                .map_err(|e| CliError::new(ErrorKind::Bench, e.to_string()))
        })
        .transpose()?;
    let tree = (which == Which::Tree)
        .then(|| {
            let cfg = fengxin_benches::proofs::BenchConfig {
                params_dir: crate::publish::params_dir()?,
                tree_tags,
                ..Default::default()
            };
            fengxin_benches::proofs::run_tree(cfg)
                .map_err(|e| CliError::new(ErrorKind::Bench, e.to_string()))
        })
        .transpose()?;
    let screening = (all || which == Which::Screening)
        .then(|| screening_figures(30))
        .transpose()?;
    let ledger = (all || which == Which::Ledger)
        .then(|| -> Result<_, CliError> {
            Ok(vec![
                ledger_figures(LEDGER_RECEIPTS, false)?,
                ledger_figures(LEDGER_RECEIPTS_CONFIDENTIAL, true)?,
            ])
        })
        .transpose()?;
    let confidential =
        (all || which == Which::Confidential).then(|| fengxin_benches::confidential::run(30));
    let import = (all || which == Which::Import)
        .then(|| import_figures(rows))
        .transpose()?;
    let attestation = (all || which == Which::Attestation)
        .then(|| attestation_figures(tree_tags))
        .transpose()?;
    let snapshot = (all || which == Which::Snapshot)
        .then(|| snapshot_figures(tree_tags))
        .transpose()?;
    let snapshot_network = (all || which == Which::Snapshot)
        .then(|| snapshot_network_figures(tree_tags, rows))
        .transpose()?;
    if json {
        let text = serde_json::to_string_pretty(&serde_json::json!({
            "oprf": oprf, "proofs": proofs, "tree": tree, "screening": screening, "ledger": ledger, "confidential": confidential, "import": import, "attestation": attestation, "snapshot": snapshot, "snapshot_network": snapshot_network
        }))
        .map_err(internal)?;
        println!("{text}");
        return Ok(());
    }
    if let Some(p) = &proofs {
        println!(
            "proofs:\n{}",
            serde_json::to_string_pretty(p).map_err(internal)?
        );
        println!(
            "MSM floor: G1 MSM of {} points (p50 {:.1} ms) + G2 MSM of {} points (p50 {:.1} ms) \
             = {:.1} ms; prove p50 (hit {:.1} ms, miss {:.1} ms) = {:.2}x the floor",
            p.msm_g1_points,
            p.msm_g1.p50_ms,
            p.msm_g2_points,
            p.msm_g2.p50_ms,
            p.msm_floor_ms,
            p.prove_hit.p50_ms,
            p.prove_miss.p50_ms,
            p.prove_to_msm_floor
        );
        print_tree(&p.tree);
    }
    if let Some(t) = &tree {
        print_tree(t);
    }
    if let Some(s) = &screening {
        println!("{:<50} {:>10} {:>10}", "screening", "p50 ms", "p95 ms");
        for f in [
            &s.one_member,
            &s.one_member_cached,
            &s.three_members,
            &s.three_members_cached,
            &s.batch,
            &s.prove,
        ] {
            println!("{:<50} {:>10.1} {:>10.1}", f.op, f.p50_ms, f.p95_ms);
        }
        println!(
            "three/one responders {:.2}x (answers cached: {:.2}x); one responder without proving \
             (answer cached) p50 {:.1} ms; batch of {} against one responder: {:.1} identifiers/s",
            s.three_to_one,
            s.three_to_one_cached,
            s.one_member_cached.p50_ms,
            s.batch_size,
            s.batch_ids_per_second
        );
    }
    for l in ledger.iter().flatten() {
        println!(
            "ledger, {} validators over QUIC on loopback: {} receipts committed in {:.2} s = {:.0} receipts/s \
             ({} blocks); finality p50 {:.1} ms p95 {:.1} ms ({} samples); signature checks alone: {:.0} receipts/s per core",
            l.validators,
            l.receipts,
            l.seconds,
            l.receipts_per_second,
            l.blocks,
            l.finality.p50_ms,
            l.finality.p95_ms,
            l.finality.samples,
            l.verify_limit_per_core
        );
        if let (Some(v), Some(limit), Some(ratio), Some(audit)) = (
            l.range_verify_per_core,
            l.range_limit,
            l.ratio_to_range_limit,
            l.audit_records_per_second,
        ) {
            println!(
                "  with allowance proofs and sealed details: range-proof verification alone {v:.0}/s per core, \
                 so {limit:.0} receipts/s for 4 validators on this machine's {} cores; committed rate is {ratio:.2}x that limit; \
                 audit decrypts {audit:.0} records/s",
                l.cores
            );
        }
    }
    if let Some(c) = &confidential {
        println!(
            "{:<50} {:>10} {:>10}   (generators {:.0} ms, decryption table {:.0} ms, once)",
            "confidential counters",
            "p50 µs",
            "p95 µs",
            c.bulletproof_gens_ms,
            c.decryption_table_ms
        );
        for e in &c.entries {
            println!("{:<50} {:>10.0} {:>10.0}", e.name, e.p50_us, e.p95_us);
        }
    }
    if let Some(a) = &attestation {
        println!(
            "attestation of {} entries: sealed layout {:.1} MiB",
            a.entries,
            a.sealed_bytes as f64 / 1048576.0
        );
        for f in &a.figures {
            println!("  {:<48} {:>10.1} ms", f.op, f.p50_ms);
        }
    }
    if let Some(s) = &snapshot {
        println!(
            "snapshot of {} real entries ({} with padding, {} chunks):",
            s.real, s.entries, s.chunks
        );
        for f in &s.figures {
            println!("  {:<58} {:>10.1} ms", f.op, f.p50_ms);
        }
        println!(
            "  batch of {}: responder {:.0} elements/s, querier {:.0} identifiers/s; limit \
             {:.0} identifiers/s (both sides' per-identifier work, one machine)",
            s.batch, s.responder_per_second, s.querier_per_second, s.limit_per_second
        );
    }
    if let Some(n) = &snapshot_network {
        println!(
            "snapshot mode on loopback (one responder, {} real entries; querier node and \
             client on the same two cores):",
            n.real
        );
        println!(
            "  responder's import of the list                            {:>10.1} s",
            n.import_seconds
        );
        println!(
            "  sync and verification of its snapshot (from publication)  {:>10.1} s",
            n.sync_seconds
        );
        println!(
            "  file of {} rows screened ({} hits, as listed): {:.1} s = {:.0} identifiers/s",
            n.rows, n.hits, n.file_seconds, n.file_per_second
        );
        if let Some(s) = &snapshot {
            println!(
                "  limit (per-identifier work, this run) {:.0} identifiers/s; ratio {:.2}",
                s.limit_per_second,
                n.file_per_second / s.limit_per_second.max(1e-9)
            );
        }
        println!(
            "  one identifier, one member and list, held snapshot: p50 {:.1} ms, p95 {:.1} ms \
             ({} samples)",
            n.one.p50_ms, n.one.p95_ms, n.one.samples
        );
        println!(
            "  querier peak RSS: node {:.0} MiB, client {:.0} MiB",
            n.node_peak_rss_mib, n.client_peak_rss_mib
        );
    }
    if let Some(figures) = oprf {
        println!(
            "{:<50} {:>10} {:>10} {:>12}",
            "operation", "p50 ms", "p95 ms", "ops/s"
        );
        for f in &figures {
            println!(
                "{:<50} {:>10.3} {:>10.3} {:>12.0}",
                f.op, f.p50_ms, f.p95_ms, f.per_second
            );
        }
    }
    if let Some(i) = import {
        println!(
            "import + tagging: {} rows ({:.1} MiB CSV) in {:.1} s = {:.0} rows/s; peak RSS {:.0} MiB; database {:.1} MiB",
            i.accepted,
            i.file_bytes as f64 / 1048576.0,
            i.seconds,
            i.rows_per_second,
            i.peak_rss_mib,
            i.db_bytes as f64 / 1048576.0
        );
    }
    Ok(())
}

fn print_tree(t: &fengxin_benches::proofs::TreeBenchReport) {
    println!(
        "{:<50} {:>10} {:>10} {:>8}",
        format!("tree of {} tags", t.tree_tags),
        "p50 ms",
        "p95 ms",
        "samples"
    );
    for (op, s) in [
        ("build, in memory", &t.tree_build),
        ("single insert, in memory", &t.insert),
        ("single delete, in memory", &t.delete),
        ("build, redb (one transaction, commit)", &t.tree_build_redb),
        (
            "single insert, redb (own transaction, commit)",
            &t.insert_redb,
        ),
        (
            "single delete, redb (own transaction, commit)",
            &t.delete_redb,
        ),
    ] {
        println!(
            "{:<50} {:>10.3} {:>10.3} {:>8}",
            op, s.p50_ms, s.p95_ms, s.samples
        );
    }
    println!(
        "redb database file: {:.1} MiB",
        t.redb_file_bytes as f64 / 1048576.0
    );
}

/// Receipts committed in the ledger throughput run.
pub const LEDGER_RECEIPTS: usize = 20_000;
/// Receipts in the run with allowance proofs and sealed details (each takes a range proof to
/// build beforehand).
pub const LEDGER_RECEIPTS_CONFIDENTIAL: usize = 2_000;

/// Ledger figures.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LedgerFigures {
    /// Validators.
    pub validators: usize,
    /// Receipts submitted and committed.
    pub receipts: usize,
    /// Wall time from the first submission until every validator held them all.
    pub seconds: f64,
    /// Committed receipts per second.
    pub receipts_per_second: f64,
    /// Blocks they took.
    pub blocks: u64,
    /// Submission to commit at the submitting node, one receipt at a time.
    pub finality: Figure,
    /// Receipts per second one core can validate (two Ed25519 verifications and the ids):
    /// the ceiling a single-threaded apply can reach.
    pub verify_limit_per_core: f64,
    /// Whether receipts carried allowance proofs and sealed details.
    pub confidential: bool,
    /// Cores of this machine.
    pub cores: usize,
    /// Allowance range proofs one core verifies per second.
    pub range_verify_per_core: Option<f64>,
    /// The receipts/s range-proof verification alone allows four validators on these cores.
    pub range_limit: Option<f64>,
    /// Committed rate / that limit.
    pub ratio_to_range_limit: Option<f64>,
    /// Sealed receipt details the regulator opens and parses per second.
    pub audit_records_per_second: Option<f64>,
}

/// Four in-process validators, each with its own QUIC endpoint and redb file, replicate
/// `n` query receipts submitted at one of them.
pub fn ledger_figures(n: usize, confidential: bool) -> Result<LedgerFigures, CliError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(internal)?;
    runtime.block_on(ledger_figures_async(n, confidential))
}

async fn ledger_figures_async(n: usize, confidential: bool) -> Result<LedgerFigures, CliError> {
    use fengxin_crypto::IdentityKey;
    use fengxin_ledger::Record;
    use std::sync::Arc;

    let tmp = std::env::temp_dir().join(format!("fengxin-bench-ledger-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(internal)?;
    let mut addrs = Vec::new();
    for _ in 0..4 {
        addrs.push(format!("127.0.0.1:{}", crate::consortium::free_port()?));
    }
    let w = if confidential {
        ReceiptWorkload::confidential(&addrs)?
    } else {
        ReceiptWorkload::new(&addrs)?
    };
    let (names, keys, members) = (&w.names, &w.keys, &w.members);
    let registry: fengxin_net::StaticRegistry = (0..4)
        .map(|i| (keys[i].public(), names[i].clone()))
        .collect();
    let registry = Arc::new(registry);
    let mut ledgers = Vec::new();
    for i in 0..4 {
        let endpoint = fengxin_net::Endpoint::bind(
            addrs[i].parse().map_err(internal)?,
            &keys[i],
            registry.clone(),
            fengxin_net::Limits::default(),
        )
        .map_err(internal)?;
        let config = fengxin_consensus::LedgerConfig {
            name: names[i].clone(),
            key: IdentityKey::from_slice(&keys[i].expose_secret()).map_err(internal)?,
            path: tmp.join(format!("{}.redb", names[i])),
            chain_id: BENCH_CHAIN,
            members: members.clone(),
            regulators: w.regulators.clone(),
            params: fengxin_ledger::CreditParams::default(),
            timing: fengxin_consensus::Timing::default(),
        };
        let ledger = fengxin_consensus::Ledger::start(
            config,
            crate::ledger::QuicTransport::new(endpoint.clone()),
        )
        .await
        .map_err(internal)?;
        tokio::spawn(crate::ledger::serve_endpoint(endpoint, ledger.clone()));
        ledgers.push(ledger);
    }
    let wait = Duration::from_secs(120);
    let ids = ledgers[0]
        .submit(w.publications.clone())
        .map_err(internal)?;
    for id in ids {
        ledgers[0]
            .wait_committed(id, wait)
            .await
            .map_err(internal)?;
    }
    let receipt = |k: usize| w.receipt(k);
    let records: Vec<Record> = (0..n).map(receipt).collect();

    // The validation ceiling: what one core spends per receipt at apply time.
    let probe = ledgers[0].read(|s| s.clone()).map_err(internal)?;
    let sample = &records[..records.len().min(2000)];
    let t = Instant::now();
    for r in sample {
        probe.check(r).map_err(internal)?;
        let _ = r.id();
    }
    let verify_limit_per_core = sample.len() as f64 / t.elapsed().as_secs_f64();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (range_verify_per_core, audit_records_per_second) = match &w.view {
        None => (None, None),
        Some(view) => {
            let t = Instant::now();
            for r in sample {
                if let fengxin_ledger::RecordBody::Receipt(q) = &r.body {
                    let c =
                        fengxin_ledger::AllowanceClaim::from_bytes(&q.request.request.allowance)
                            .map_err(internal)?;
                    probe
                        .check_claim(&w.names[0], q.request.request.count, &c)
                        .map_err(internal)?;
                }
            }
            let range = sample.len() as f64 / t.elapsed().as_secs_f64();
            let details: Vec<Record> = (0..records.len())
                .filter_map(|k| w.details(k, &records[k]))
                .collect();
            let t = Instant::now();
            for r in &details {
                if let fengxin_ledger::RecordBody::Details(d) = &r.body {
                    let plain = fengxin_confidential::open_details(view, &d.receipt, &d.sealed)
                        .map_err(internal)?;
                    let _: crate::credits::ReceiptDetails =
                        serde_json::from_slice(&plain).map_err(internal)?;
                }
            }
            (
                Some(range),
                Some(details.len() as f64 / t.elapsed().as_secs_f64()),
            )
        }
    };

    let start_height = ledgers[0].read(|s| s.height()).map_err(internal)?;
    let started = Instant::now();
    let mut last = None;
    for chunk in records.chunks(512) {
        let ids = ledgers[0].submit(chunk.to_vec()).map_err(internal)?;
        last = ids.last().copied();
    }
    let last = last.ok_or_else(|| CliError::new(ErrorKind::Bench, "no receipts"))?;
    ledgers[0]
        .wait_committed(last, wait)
        .await
        .map_err(internal)?;
    // Receipts proposed again after a leader change may commit after the last one submitted:
    // wait for all of them.
    let deadline = Instant::now() + wait;
    let committed = |l: &fengxin_consensus::Ledger| l.read(|s| s.receipts().len()).unwrap_or(0);
    while committed(&ledgers[0]) < n {
        if Instant::now() > deadline {
            return Err(CliError::new(
                ErrorKind::Bench,
                format!("{} of {n} receipts committed", committed(&ledgers[0])),
            ));
        }
        let h = ledgers[0].read(|s| s.height()).map_err(internal)?;
        let _ = ledgers[0]
            .wait_height(h + 1, Duration::from_millis(200))
            .await;
    }
    let height = ledgers[0].read(|s| s.height()).map_err(internal)?;
    for l in &ledgers {
        l.wait_height(height, wait).await.map_err(internal)?;
    }
    let seconds = started.elapsed().as_secs_f64();

    // Finality: one receipt at a time, submitted at a follower half the time.
    let mut samples = Vec::new();
    for k in 0..60 {
        let r = receipt(n + k);
        let node = &ledgers[k % 2];
        let t = Instant::now();
        let ids = node.submit(vec![r]).map_err(internal)?;
        node.wait_committed(ids[0], wait).await.map_err(internal)?;
        samples.push(t.elapsed());
    }
    let finality = summarize("receipt submitted -> committed at the submitter", samples);
    for l in &ledgers {
        l.shutdown().await;
    }
    let _ = std::fs::remove_dir_all(&tmp);
    Ok(LedgerFigures {
        validators: 4,
        receipts: n,
        seconds,
        receipts_per_second: n as f64 / seconds,
        blocks: height - start_height,
        finality,
        verify_limit_per_core,
        confidential,
        cores,
        range_verify_per_core,
        range_limit: range_verify_per_core.map(|v| v * cores as f64 / 4.0),
        ratio_to_range_limit: range_verify_per_core
            .map(|v| (n as f64 / seconds) / (v * cores as f64 / 4.0)),
        audit_records_per_second,
    })
}

/// A synthetic ledger workload: four members, three published lists, and as many distinct,
/// correctly signed query receipts (bank-a asking the others) as wanted.
pub struct ReceiptWorkload {
    /// Member names.
    pub names: Vec<fengxin_types::MemberName>,
    /// Their identity keys.
    pub keys: Vec<fengxin_crypto::IdentityKey>,
    /// Genesis entries.
    pub members: Vec<fengxin_ledger::GenesisMember>,
    /// Publications of bank-b, bank-c and bank-d (and bank-a's list size, when confidential).
    pub publications: Vec<fengxin_ledger::Record>,
    /// The regulator (when confidential).
    pub regulators: Vec<fengxin_ledger::GenesisRegulator>,
    /// The regulator's view secret (when confidential).
    pub view: Option<fengxin_confidential::ViewSecret>,
    allowance: Option<fengxin_confidential::Opening>,
    list: ListId,
    oprf_public_key: [u8; 32],
}

/// The chain the ledger benchmark's consortium runs on.
pub const BENCH_CHAIN: [u8; 32] = [7; 32];

impl ReceiptWorkload {
    /// A workload whose members listen at `addrs` (four).
    pub fn new(addrs: &[String]) -> Result<Self, CliError> {
        use fengxin_ledger::{GenesisMember, Record, RecordBody};
        use fengxin_protocol::Publication;
        let names: Vec<fengxin_types::MemberName> = ["bank-a", "bank-b", "bank-c", "bank-d"]
            .iter()
            .map(|s| fengxin_types::MemberName::parse(s).map_err(internal))
            .collect::<Result<_, _>>()?;
        let keys: Vec<fengxin_crypto::IdentityKey> = (0..4)
            .map(|_| fengxin_crypto::IdentityKey::generate(&mut rand_core::OsRng))
            .collect();
        let members = (0..4)
            .map(|i| GenesisMember {
                name: names[i].clone(),
                identity_key: keys[i].public().to_bytes(),
                address: addrs.get(i).cloned().unwrap_or_default(),
            })
            .collect();
        let list = ListId::parse(ListId::FRAUD_TXN).map_err(internal)?;
        let seed = MasterSeed::generate(&mut rand_core::OsRng);
        let oprf_key = ListKey::derive(&seed, &list, Epoch::FIRST).map_err(internal)?;
        let publications = (1..4)
            .map(|i| {
                Record::sign(
                    BENCH_CHAIN,
                    names[i].clone(),
                    &keys[i],
                    RecordBody::Publication(Publication {
                        version: Publication::VERSION,
                        chain: BENCH_CHAIN,
                        member: names[i].clone(),
                        list: list.clone(),
                        epoch: Epoch::FIRST,
                        root: [1; 32],
                        oprf_public_key: oprf_key.public_key().to_bytes(),
                        published_at: 1,
                        policy: fengxin_types::ListPolicy::ProofOnly,
                        snapshot: None,
                    }),
                )
            })
            .collect();
        Ok(Self {
            names,
            keys,
            members,
            publications,
            regulators: Vec::new(),
            view: None,
            allowance: None,
            list,
            oprf_public_key: oprf_key.public_key().to_bytes(),
        })
    }

    /// As [`ReceiptWorkload::new`], with a regulator: bank-a commits a list of 1,000,000
    /// entries, and every receipt carries an allowance proof and sealed details.
    pub fn confidential(addrs: &[String]) -> Result<Self, CliError> {
        let mut w = Self::new(addrs)?;
        let view = fengxin_confidential::ViewSecret::from_seed([42; 32]);
        w.regulators = vec![fengxin_ledger::GenesisRegulator {
            name: fengxin_types::MemberName::parse("regulator").map_err(internal)?,
            identity_key: fengxin_crypto::IdentityKey::generate(&mut rand_core::OsRng)
                .public()
                .to_bytes(),
            address: String::new(),
            view_public_key: view.public().to_hex(),
        }];
        let own = fengxin_protocol::Publication {
            version: fengxin_protocol::Publication::VERSION,
            chain: BENCH_CHAIN,
            member: w.names[0].clone(),
            list: w.list.clone(),
            epoch: Epoch::FIRST,
            root: [1; 32],
            oprf_public_key: w.oprf_public_key,
            published_at: 1,
            policy: fengxin_types::ListPolicy::ProofOnly,
            snapshot: None,
        };
        let (size, opening) = fengxin_confidential::CommittedCount::new(
            1_000_000,
            &view.public().elgamal(),
            &fengxin_ledger::credits::list_size_context(
                &BENCH_CHAIN,
                &w.names[0],
                &w.list,
                Epoch::FIRST,
                &own.root,
            ),
            &mut rand_core::OsRng,
        )
        .map_err(internal)?;
        w.publications.push(fengxin_ledger::Record::sign(
            BENCH_CHAIN,
            w.names[0].clone(),
            &w.keys[0],
            fengxin_ledger::RecordBody::Publication(own),
        ));
        w.publications.push(fengxin_ledger::Record::sign(
            BENCH_CHAIN,
            w.names[0].clone(),
            &w.keys[0],
            fengxin_ledger::RecordBody::ListSize(Box::new(fengxin_ledger::ListSize {
                list: w.list.clone(),
                epoch: Epoch::FIRST,
                root: [1; 32],
                size,
            })),
        ));
        let p = fengxin_ledger::CreditParams::default();
        w.allowance = Some(
            fengxin_confidential::Opening::public(p.base_allowance)
                .add(&opening.mul_u64(p.allowance_per_entry).map_err(internal)?)
                .map_err(internal)?,
        );
        w.view = Some(view);
        Ok(w)
    }

    /// The genesis state with the publications applied (height 1).
    pub fn state(&self) -> Result<fengxin_ledger::LedgerState, CliError> {
        let mut state =
            fengxin_ledger::LedgerState::genesis(BENCH_CHAIN, self.members.clone(), Vec::new());
        let batch = fengxin_ledger::Batch::sign(
            state.next_position(),
            self.names[0].clone(),
            &self.keys[0],
            1,
            0,
            self.publications.clone(),
        );
        let applied = state.apply_batch(&batch);
        if applied.block.is_none() {
            return Err(CliError::new(
                ErrorKind::Bench,
                format!("{:?}", applied.rejected),
            ));
        }
        Ok(state)
    }

    /// A batch of `records` proposed by bank-a, for the block after `state`'s head.
    pub fn batch(
        &self,
        state: &fengxin_ledger::LedgerState,
        records: Vec<fengxin_ledger::Record>,
    ) -> fengxin_ledger::Batch {
        fengxin_ledger::Batch::sign(
            state.next_position(),
            self.names[0].clone(),
            &self.keys[0],
            1,
            0,
            records,
        )
    }

    /// The `k`-th receipt: bank-a asked one of the others about one identifier, and that
    /// responder submits the receipt.
    pub fn receipt(&self, k: usize) -> fengxin_ledger::Record {
        use fengxin_protocol::{blinded_digest, Mode, QueryRequest, Receipt, RECEIPT_VERSION};
        let mut nonce = [0u8; 16];
        nonce[..8].copy_from_slice(&(k as u64).to_be_bytes());
        let responder = 1 + k % 3;
        let allowance = match &self.allowance {
            Some(allowance) => {
                // Epoch 1: the run stays well inside the default 100-block epoch.
                let used_after = k as u64 + 1;
                allowance
                    .sub(&fengxin_confidential::Opening::public(used_after))
                    .ok()
                    .and_then(|remaining| {
                        fengxin_confidential::prove_range_with_context(
                            &remaining,
                            64,
                            fengxin_confidential::labels::ALLOWANCE_RANGE_PROOF,
                            &fengxin_ledger::credits::allowance_context(
                                &BENCH_CHAIN,
                                &self.names[0],
                                1,
                                used_after,
                                1,
                            ),
                            &mut rand_core::OsRng,
                        )
                        .ok()
                    })
                    .map(|proof| {
                        fengxin_ledger::AllowanceClaim {
                            epoch: 1,
                            used_after,
                            proof,
                        }
                        .to_bytes()
                    })
                    .unwrap_or_default()
            }
            None => Vec::new(),
        };
        let request = QueryRequest {
            version: RECEIPT_VERSION,
            chain: BENCH_CHAIN,
            querier: self.names[0].clone(),
            responder: self.names[responder].clone(),
            list: self.list.clone(),
            epoch: Epoch::FIRST,
            mode: Mode::Proof,
            nonce,
            count: 1,
            blinded_digest: blinded_digest(&[[5; 32]]),
            allowance,
        }
        .sign(&self.keys[0]);
        let receipt = Receipt::countersign(request, [6; 32], &self.keys[responder]);
        fengxin_ledger::Record::sign(
            BENCH_CHAIN,
            self.names[responder].clone(),
            &self.keys[responder],
            fengxin_ledger::RecordBody::Receipt(Box::new(receipt)),
        )
    }

    /// The querier's sealed details of the `k`-th receipt (with a regulator).
    pub fn details(
        &self,
        k: usize,
        receipt: &fengxin_ledger::Record,
    ) -> Option<fengxin_ledger::Record> {
        let view = self.view.as_ref()?;
        let fengxin_ledger::RecordBody::Receipt(r) = &receipt.body else {
            return None;
        };
        let id = r.id();
        let plain = serde_json::to_vec(&crate::credits::ReceiptDetails {
            tags: vec![hex::encode([5u8; 31])],
            results: vec![false],
            nonce: hex::encode(r.request.request.nonce),
            request_digest: hex::encode(id),
            answer_digest: hex::encode(r.answer_digest),
            case_reference: Some(format!("CASE-{k}")),
            // Evidence of the sizes a one-identifier exchange seals (the audit is not run).
            blinded: vec![hex::encode([1u8; 32])],
            evaluated: vec![hex::encode([2u8; 32])],
            dleq_proof: hex::encode([3u8; 64]),
            proofs: vec![hex::encode([4u8; 128])],
            hits: None,
        })
        .ok()?;
        let sealed =
            fengxin_confidential::seal_details(&view.public(), &id, &plain, &mut rand_core::OsRng)
                .ok()?;
        Some(fengxin_ledger::Record::sign(
            BENCH_CHAIN,
            self.names[0].clone(),
            &self.keys[0],
            fengxin_ledger::RecordBody::Details(Box::new(fengxin_ledger::ReceiptDetails {
                receipt: id,
                sealed,
            })),
        ))
    }
}

/// Root attestation figures for one list.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AttestationFigures {
    /// Entries in the list.
    pub entries: usize,
    /// Length of the sealed layout sent to the regulator.
    pub sealed_bytes: usize,
    /// One sample each (the list is built once): layout, seal, open, judge.
    pub figures: Vec<Figure>,
}

/// Times root attestation of a list of `n` random tags: the member reads the layout and seals
/// it; the regulator opens it and judges it (the same code the nodes run).
pub fn attestation_figures(n: usize) -> Result<AttestationFigures, CliError> {
    use crate::attest::{judge, open_sealed, seal_layout, LayoutHeader};
    let fail = |e: String| CliError::new(ErrorKind::Bench, e);
    let mut rng = rand_core::OsRng;
    let list = fengxin_types::ListId::parse("fraud_txn").map_err(|e| fail(e.to_string()))?;
    let epoch = fengxin_types::Epoch::FIRST;
    let padding = [9; 32];
    let class = fengxin_snapshot::size_class(n as u64)
        .ok_or_else(|| fail(format!("{n} entries: more than a list holds")))?;
    let mut tags: Vec<fengxin_types::Tag> = (0..n)
        .map(|_| fengxin_benches::proofs::random_tag(&mut rng))
        .collect();
    tags.extend(fengxin_snapshot::dummy_tags(
        &fengxin_snapshot::PaddingSecret::from_bytes(padding),
        &list,
        epoch,
        class - n as u64,
    ));
    let tree = fengxin_tree::IndexedMerkleTree::build(fengxin_tree::MemoryStore::new(), tags)
        .map_err(|e| fail(e.to_string()))?;
    let root = tree.root().to_bytes();
    let view = fengxin_confidential::ViewSecret::from_seed([5; 32]);
    let header = LayoutHeader {
        chain: [1; 32],
        member: fengxin_types::MemberName::parse("bank-b").map_err(|e| fail(e.to_string()))?,
        list,
        epoch,
        root,
    };
    let mut figures = Vec::new();
    let t = Instant::now();
    let layout = tree.layout().map_err(|e| fail(format!("{e:?}")))?;
    figures.push(summarize("member: read the layout", vec![t.elapsed()]));
    let t = Instant::now();
    let sealed = seal_layout(&view.public(), header.clone(), &layout, padding)
        .map_err(|e| fail(e.to_string()))?;
    figures.push(summarize("member: encode and seal it", vec![t.elapsed()]));
    let t = Instant::now();
    let package = open_sealed(&view, &header, &sealed).map_err(|e| fail(e.to_string()))?;
    figures.push(summarize(
        "regulator: open and decode it",
        vec![t.elapsed()],
    ));
    let t = Instant::now();
    let (outcome, reason) = judge(&package, &root, n as u64);
    figures.push(summarize(
        "regulator: judge (order, links, root, dummies, count)",
        vec![t.elapsed()],
    ));
    if outcome != fengxin_ledger::AttestationOutcome::Attested {
        return Err(fail(format!("an honest list was refuted: {reason}")));
    }
    Ok(AttestationFigures {
        entries: n,
        sealed_bytes: sealed.len(),
        figures,
    })
}

/// Snapshot-mode figures without the network.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SnapshotFigures {
    /// Real entries.
    pub real: usize,
    /// Entries with padding (the size class).
    pub entries: u64,
    /// Chunks.
    pub chunks: u32,
    /// Identifiers in the evaluated batch.
    pub batch: usize,
    /// One sample each: build, verify chunks, rebuild the tree, blind, evaluate, finalize.
    pub figures: Vec<Figure>,
    /// Responder batch evaluation, elements per second.
    pub responder_per_second: f64,
    /// Querier blinding and finalization, identifiers per second.
    pub querier_per_second: f64,
    /// Identifiers per second the per-identifier work of both sides allows on this machine.
    pub limit_per_second: f64,
}

/// Times a `real`-entry snapshot's build and verification and one full batch's evaluation.
pub fn snapshot_figures(real: usize) -> Result<SnapshotFigures, CliError> {
    use fengxin_snapshot::{Assembler, Entry, PaddingSecret, Snapshot, LABEL_LEN};
    let fail = |e: String| CliError::new(ErrorKind::Bench, e);
    let mut rng = rand_core::OsRng;
    let list = ListId::parse(ListId::FRAUD_TXN).map_err(|e| fail(e.to_string()))?;
    let mut figures = Vec::new();
    let entries: Vec<Entry> = (0..real)
        .map(|_| {
            let tag = fengxin_benches::proofs::random_tag(&mut rng);
            let mut label = [0u8; LABEL_LEN];
            rand_core::RngCore::fill_bytes(&mut rng, &mut label);
            Entry { tag, label }
        })
        .collect();
    let t = Instant::now();
    let snapshot = Snapshot::build(
        entries,
        &PaddingSecret::generate(&mut rng),
        &list,
        Epoch::FIRST,
    )
    .map_err(|e| fail(e.to_string()))?;
    let header = snapshot.header();
    figures.push(summarize(
        "member: pad, sort, chunk and commit",
        vec![t.elapsed()],
    ));
    let t = Instant::now();
    let published = fengxin_tree::IndexedMerkleTree::build_sorted(
        fengxin_tree::MemoryStore::new(),
        snapshot.tags().map(Ok),
    )
    .map_err(|e| fail(e.to_string()))?
    .root();
    figures.push(summarize(
        "member: build the published tree",
        vec![t.elapsed()],
    ));
    let chunks: Vec<Vec<u8>> = (0..header.chunks).map(|i| snapshot.chunk(i)).collect();
    let manifest = snapshot.manifest();
    drop(snapshot);
    let t = Instant::now();
    let mut assembler = Assembler::new(header, published.to_bytes());
    assembler
        .accept_manifest(manifest)
        .map_err(|e| fail(e.to_string()))?;
    for (i, c) in chunks.iter().enumerate() {
        assembler
            .accept_chunk(i as u32, c)
            .map_err(|e| fail(e.to_string()))?;
    }
    assembler.finish().map_err(|e| fail(e.to_string()))?;
    figures.push(summarize(
        "querier: check the manifest and every chunk (hash, order, subtree root)",
        vec![t.elapsed()],
    ));

    let batch = fengxin_protocol::MAX_SNAPSHOT_BATCH;
    let key = ListKey::derive(&MasterSeed::generate(&mut rng), &list, Epoch::FIRST)
        .map_err(|e| fail(e.to_string()))?;
    let ids: Vec<CanonicalId> = fengxin_sample::identifiers(IdType::CnId, batch, 11)
        .map(|s| CanonicalId::parse(IdType::CnId, &s, fengxin_types::CivilDate::today_china()))
        .collect::<Result<_, _>>()
        .map_err(|e| fail(e.to_string()))?;
    let t = Instant::now();
    let (pending, blinded) = oprf::blind(&mut rng, &list, &ids).map_err(|e| fail(e.to_string()))?;
    let blind = t.elapsed();
    figures.push(summarize("querier: blind the batch", vec![blind]));
    let t = Instant::now();
    let (evaluated, proof) = key
        .blind_evaluate_batch(&mut rng, &blinded)
        .map_err(|e| fail(e.to_string()))?;
    let evaluate = t.elapsed();
    figures.push(summarize(
        "responder: evaluate the batch, one DLEQ proof",
        vec![evaluate],
    ));
    let t = Instant::now();
    let tags = pending
        .finalize(&evaluated, &proof, &key.public_key())
        .map_err(|e| fail(e.to_string()))?;
    let finalize = t.elapsed();
    figures.push(summarize(
        "querier: verify the proof and finalize",
        vec![finalize],
    ));
    if tags.len() != batch {
        return Err(fail("the batch lost identifiers".into()));
    }
    let per = |d: std::time::Duration| batch as f64 / d.as_secs_f64().max(1e-9);
    Ok(SnapshotFigures {
        real,
        entries: header.entries,
        chunks: header.chunks,
        batch,
        figures,
        responder_per_second: per(evaluate),
        querier_per_second: per(blind + finalize),
        limit_per_second: per(blind + evaluate + finalize),
    })
}

/// Snapshot mode end to end on loopback.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SnapshotNetworkFigures {
    /// Real entries in the responder's list.
    pub real: usize,
    /// Rows of the screened file.
    pub rows: usize,
    /// The responder's `lists import` of its list.
    pub import_seconds: f64,
    /// From the publication's commit until the querier's node holds the verified snapshot.
    pub sync_seconds: f64,
    /// `fengxin screen --file` of the whole file, wall time.
    pub file_seconds: f64,
    /// Rows per second of that.
    pub file_per_second: f64,
    /// Hits the file screening reported (checked equal to the listed rows).
    pub hits: u64,
    /// One identifier against the responder's list through the held snapshot.
    pub one: Figure,
    /// The querier's node, peak RSS over the run.
    pub node_peak_rss_mib: f64,
    /// The `fengxin` client screening the file, peak RSS.
    pub client_peak_rss_mib: f64,
}

/// Every row `k` of the bench's file with `k % HIT_EVERY == 0` is a listed identifier.
const HIT_EVERY: usize = 97;

/// Two members on loopback; bank-b holds a `real`-entry list, bank-a syncs its snapshot and
/// screens a `rows`-row file against it with the `fengxin` binary beside this one.
pub fn snapshot_network_figures(
    real: usize,
    rows: usize,
) -> Result<SnapshotNetworkFigures, CliError> {
    use fengxin_api::{ApiRequest, ApiResponse};
    use std::io::Write;
    let fail = |e: String| CliError::new(ErrorKind::Bench, e);
    let io = |e: std::io::Error| CliError::new(ErrorKind::Io, e.to_string());
    let exe = std::env::current_exe().map_err(io)?;
    let client = exe.with_file_name("fengxin");
    if !client.is_file() {
        return Err(fail(format!(
            "{} not found: build the client too (cargo build --release -p fengxin-client)",
            client.display()
        )));
    }
    let root = std::env::temp_dir().join(format!("fengxin-bench-snapshot-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).map_err(io)?;
    let result = (|| {
        let csv = sample_csv;
        let listed: std::collections::BTreeSet<String> =
            fengxin_sample::identifiers(IdType::CnId, real, 77).collect();
        let specs = vec![
            (
                "bank-a",
                vec![(
                    "a.csv".to_owned(),
                    ListId::FRAUD_TXN,
                    IdType::CnId,
                    csv(1000, 78)?,
                )],
            ),
            (
                "bank-b",
                vec![(
                    "b.csv".to_owned(),
                    ListId::FRAUD_TXN,
                    IdType::CnId,
                    csv(real, 77)?,
                )],
            ),
        ];
        let params = fengxin_ledger::CreditParams {
            initial_grant: 1_000_000_000_000,
            cost_per_identifier: 1,
            base_allowance: 1_000_000_000,
            ..Default::default()
        };
        let mut import_seconds = 0.0;
        let mut last = Instant::now();
        let consortium = crate::consortium::Builder::this_executable(&root)?
            .with_credits(params)
            .start_consortium(&specs, None, &mut |line| {
                if line.starts_with("bank-b: b.csv") {
                    import_seconds = last.elapsed().as_secs_f64();
                }
                last = Instant::now();
            })?;
        let published = Instant::now();
        let a = consortium.members[0].dir.clone();
        let pid = consortium
            .nodes
            .pid(&a)
            .ok_or_else(|| fail("bank-a's node has no process".into()))?;
        loop {
            if let Ok(ApiResponse::Status(s)) = fengxin_api::call(&a, &ApiRequest::Status) {
                if s.held_snapshots >= 1 {
                    break;
                }
            }
            if published.elapsed() > Duration::from_secs(600) {
                return Err(fail(
                    "bank-a did not hold bank-b's snapshot in 600 s".into(),
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let sync_seconds = published.elapsed().as_secs_f64();

        // The file: unlisted identifiers with a listed one every HIT_EVERY rows.
        let file = root.join("portfolio.csv");
        let mut expected = 0u64;
        {
            let mut w = std::io::BufWriter::new(std::fs::File::create(&file).map_err(io)?);
            writeln!(w, "identifier").map_err(io)?;
            let mut hits = fengxin_sample::identifiers(IdType::CnId, real, 77).cycle();
            let mut others = fengxin_sample::identifiers(IdType::CnId, rows, 4343);
            for k in 0..rows {
                let id = if k % HIT_EVERY == 0 {
                    hits.next()
                } else {
                    others.next()
                }
                .ok_or_else(|| fail("the sample generator ran out".into()))?;
                if listed.contains(&id) {
                    expected += 1;
                }
                writeln!(w, "{id}").map_err(io)?;
            }
            w.flush().map_err(io)?;
        }
        drop(listed);
        let out = root.join("results.csv");
        let t = Instant::now();
        let mut child = std::process::Command::new(&client)
            .arg("screen")
            .arg("--node")
            .arg(&a)
            .args(["--id-type", "cn_id", "--member", "bank-b", "--list"])
            .arg(ListId::FRAUD_TXN)
            .arg("--file")
            .arg(&file)
            .arg("--out")
            .arg(&out)
            .arg("--json")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .map_err(io)?;
        let child_pid = child.id().to_string();
        let mut client_peak = 0.0f64;
        let status = loop {
            client_peak = client_peak.max(peak_rss_of(&child_pid));
            if let Some(status) = child.try_wait().map_err(io)? {
                break status;
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        let file_seconds = t.elapsed().as_secs_f64();
        let mut summary = String::new();
        if let Some(mut stdout) = child.stdout.take() {
            std::io::Read::read_to_string(&mut stdout, &mut summary).map_err(io)?;
        }
        if !status.success() {
            return Err(fail(format!("fengxin screen --file failed ({status})")));
        }
        let summary: serde_json::Value = summary
            .lines()
            .last()
            .and_then(|l| serde_json::from_str(l).ok())
            .ok_or_else(|| fail(format!("no summary from fengxin screen --file: {summary}")))?;
        let hits = summary["hits"].as_u64().unwrap_or(0);
        let screened = summary["screened"].as_u64().unwrap_or(0);
        if hits != expected || screened != rows as u64 {
            return Err(fail(format!(
                "the file's results differ from the list: {screened} of {rows} rows screened, \
                 {hits} hits for {expected} listed"
            )));
        }

        // Single identifiers through the held snapshot.
        let bank_b = MemberName::parse("bank-b").map_err(internal)?;
        let list = ListId::parse(ListId::FRAUD_TXN).map_err(internal)?;
        // Paced under the responder's per-peer rate limit (50 a second): the latency of each
        // call is timed, not the pause between them.
        let singles: Vec<String> = fengxin_sample::identifiers(IdType::CnId, 200, 9191).collect();
        let mut err = Ok(());
        let mut samples = Vec::with_capacity(singles.len());
        for identifier in &singles {
            let request = ApiRequest::Screen {
                id_type: IdType::CnId,
                identifier: identifier.clone(),
                list: Some(list.clone()),
                members: Some(vec![bank_b.clone()]),
                case_reference: None,
            };
            let t = Instant::now();
            let reply = fengxin_api::call(&a, &request);
            samples.push(t.elapsed());
            match reply {
                Ok(ApiResponse::Screen(r))
                    if r.results.iter().all(|x| {
                        x.verified && x.mode == Some(fengxin_api::ScreenMode::Snapshot)
                    }) => {}
                other => {
                    err = Err(fail(format!("a single screening failed: {other:?}")));
                    break;
                }
            }
            std::thread::sleep(Duration::from_millis(30));
        }
        let one = summarize("one identifier, held snapshot", samples);
        err?;
        let node_peak_rss_mib = peak_rss_of(&pid.to_string());
        drop(consortium);
        Ok(SnapshotNetworkFigures {
            real,
            rows,
            import_seconds,
            sync_seconds,
            file_seconds,
            file_per_second: rows as f64 / file_seconds.max(1e-9),
            hits,
            one,
            node_peak_rss_mib,
            client_peak_rss_mib: client_peak,
        })
    })();
    let _ = std::fs::remove_dir_all(&root);
    result
}
