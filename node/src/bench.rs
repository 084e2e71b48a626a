//! `fengxin-node bench`: this machine's figures, like `openssl speed`.

use crate::cli::CliError;
use fengxin_crypto::oprf::{self, ListKey};
use fengxin_crypto::MasterSeed;
use fengxin_types::{CanonicalId, Epoch, IdType, ListId};
use std::time::{Duration, Instant};

/// What to measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Which {
    /// VOPRF tagging and the blinded exchange.
    Oprf,
    /// Import + tagging of a generated CSV list (`--rows`, default 1,000,000).
    Import,
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
    let mut samples: Vec<Duration> = (0..n.max(1))
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
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
    let list =
        ListId::parse(ListId::FRAUD_TXN).map_err(|e| CliError::new("internal", e.to_string()))?;
    let key = ListKey::derive(&seed, &list, Epoch::FIRST)
        .map_err(|e| CliError::new("internal", e.to_string()))?;
    let ids: Vec<CanonicalId> = fengxin_sample::identifiers(IdType::CnId, 256, 7)
        .map(|s| CanonicalId::parse(IdType::CnId, &s))
        .collect::<Result<_, _>>()
        .map_err(|e| CliError::new("internal", e.to_string()))?;
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
    let (_, blinded) =
        oprf::blind(&mut rng, &list, &one).map_err(|e| CliError::new("internal", e.to_string()))?;
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
    let io = |e: std::io::Error| CliError::new("io", e.to_string());
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
        .map_err(|e| CliError::new("internal", e.to_string()))?;
    let dir = DataDir::init(&tmp.join("node"), name, "127.0.0.1:0".into(), Role::Member)?;
    let store = dir.store()?;
    let seed = dir.master_seed()?;
    let list =
        ListId::parse(ListId::FRAUD_TXN).map_err(|e| CliError::new("internal", e.to_string()))?;
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
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// `fengxin-node bench`.
pub fn run(which: Which, rows: usize, json: bool) -> Result<(), CliError> {
    let oprf = match which {
        Which::Oprf | Which::All => Some(oprf_figures()?),
        Which::Import => None,
    };
    let import = match which {
        Which::Import | Which::All => Some(import_figures(rows)?),
        Which::Oprf => None,
    };
    if json {
        let text =
            serde_json::to_string_pretty(&serde_json::json!({ "oprf": oprf, "import": import }))
                .map_err(|e| CliError::new("internal", e.to_string()))?;
        println!("{text}");
        return Ok(());
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
