//! Prints the prepared proving key's table sizes (development aid).
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let t = std::time::Instant::now();
    let prover = fengxin_proofs::keys::load_prover(&fengxin_proofs::keys::source_params_dir())?;
    println!("loaded in {:.2} s: {prover:?}", t.elapsed().as_secs_f64());
    Ok(())
}
