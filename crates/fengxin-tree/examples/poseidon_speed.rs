//! Single-thread native Poseidon throughput (development aid).
use fengxin_tree::{poseidon::hash2, Fr};

fn main() {
    let n = 100_000;
    let mut a = Fr::from(1u64);
    let b = Fr::from(2u64);
    let t = std::time::Instant::now();
    for _ in 0..n {
        a = hash2(a, b);
    }
    println!(
        "{:.2} µs/hash ({a})",
        t.elapsed().as_secs_f64() * 1e6 / n as f64
    );
}
