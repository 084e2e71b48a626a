//! Runs the proof benchmark and prints its JSON report.
//!
//! `cargo run --release -p fengxin-benches --example bench_proofs -- [TREE_TAGS] [SAMPLES]`

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut cfg = fengxin_benches::proofs::BenchConfig::default();
    if let Some(n) = args.next() {
        cfg.tree_tags = n.parse()?;
    }
    if let Some(n) = args.next() {
        cfg.samples = n.parse()?;
    }
    let report = fengxin_benches::proofs::run(cfg)?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}
