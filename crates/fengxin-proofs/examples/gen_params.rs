//! Regenerates the development parameters in `params/` (manifest, verifying key, proving key).
//!
//! `cargo run -p fengxin-proofs --example gen_params [DIR]`
//!
//! These are development keys — not for production.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .nth(1)
        .map(std::path::PathBuf::from)
        .unwrap_or_else(fengxin_proofs::keys::source_params_dir);
    let t = std::time::Instant::now();
    let manifest = fengxin_proofs::keys::write_development_params(&dir)?;
    println!(
        "wrote {} in {:.1} s\n{}",
        dir.display(),
        t.elapsed().as_secs_f64(),
        serde_json::to_string_pretty(&manifest)?
    );
    Ok(())
}
