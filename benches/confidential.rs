//! Timings of the confidential counters' operations (crate `fengxin-confidential`), for the
//! operator's bench command.
//!
//! [`run`] measures each operation `iterations` times with `std::time::Instant` and reports the
//! median (p50) and the 95th percentile in microseconds. Inputs are random (OS randomness);
//! the one-off set-up costs (Bulletproofs generators, decryption table) are measured separately
//! and excluded from the per-operation figures. Build with optimisations: debug builds are
//! 20-50× slower.

use fengxin_confidential::range::{
    prove_range, prove_range_aggregated, verify_range, verify_range_aggregated,
};
use fengxin_confidential::{
    labels, open_details, seal_details, Commitment, HandleProof, Opening, RangeProof, ViewSecret,
};
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// Timing of one operation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BenchEntry {
    /// What was measured.
    pub name: String,
    /// Number of measured runs.
    pub iterations: usize,
    /// Median, in microseconds.
    pub p50_us: f64,
    /// 95th percentile, in microseconds.
    pub p95_us: f64,
}

/// The result of [`run`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BenchReport {
    /// Time to build the Bulletproofs generators (64 bits × 64 values), in milliseconds.
    pub bulletproof_gens_ms: f64,
    /// Time to build the regulator's discrete-log table (68 MiB), in milliseconds; 0 if it was
    /// already built in this process.
    pub decryption_table_ms: f64,
    /// One entry per operation.
    pub entries: Vec<BenchEntry>,
}

fn micros(start: Instant) -> f64 {
    start.elapsed().as_secs_f64() * 1e6
}

/// Runs `op` (which returns its own measured duration in µs) `iterations` times.
fn measure(name: &str, iterations: usize, mut op: impl FnMut() -> f64) -> BenchEntry {
    let iterations = iterations.max(1);
    let mut samples: Vec<f64> = (0..iterations).map(|_| op()).collect();
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| {
        let index = ((samples.len() as f64 - 1.0) * q).round() as usize;
        samples.get(index).copied().unwrap_or(0.0)
    };
    BenchEntry {
        name: name.to_owned(),
        iterations,
        p50_us: at(0.5),
        p95_us: at(0.95),
    }
}

/// Prove and verify timings of a range proof over `count` values of `bits` bits.
fn range_entries(entries: &mut Vec<BenchEntry>, iterations: usize, bits: usize, count: usize) {
    let mut rng = OsRng;
    let random_value = |rng: &mut OsRng| {
        if bits == 32 {
            u64::from(rng.next_u32())
        } else {
            rng.next_u64()
        }
    };
    let label = labels::ALLOWANCE_RANGE_PROOF;
    let what = if count == 1 {
        format!("range_{bits}_single")
    } else {
        format!("range_{bits}_aggregated_{count}")
    };
    let mut proofs: Vec<(Vec<Commitment>, RangeProof)> = Vec::new();
    entries.push(measure(&format!("{what}_prove"), iterations, || {
        let openings: Vec<Opening> = (0..count)
            .map(|_| Opening::new(random_value(&mut rng), &mut rng))
            .collect();
        let start = Instant::now();
        let proof = if count == 1 {
            prove_range(&openings[0], bits, label, &mut rng)
        } else {
            prove_range_aggregated(&openings, bits, label, &mut rng)
        };
        let elapsed = micros(start);
        if let Ok(proof) = proof {
            proofs.push((openings.iter().map(Opening::commit).collect(), proof));
        }
        elapsed
    }));
    let mut index = 0;
    entries.push(measure(&format!("{what}_verify"), iterations, || {
        let Some((commitments, proof)) = proofs.get(index % proofs.len().max(1)) else {
            return f64::NAN;
        };
        index += 1;
        let start = Instant::now();
        let ok = if count == 1 {
            verify_range(&commitments[0], proof, bits, label)
        } else {
            verify_range_aggregated(commitments, proof, bits, label)
        };
        let elapsed = micros(start);
        debug_assert!(ok.is_ok());
        elapsed
    }));
}

/// Measures every operation `iterations` times (at least once). With `iterations = 20` this
/// takes about ten seconds in an optimised build (mostly the 32-value aggregated proofs), plus
/// the one-off table builds.
pub fn run(iterations: usize) -> BenchReport {
    let mut rng = OsRng;
    let start = Instant::now();
    // Building any proof forces the lazily built generators.
    let _ = prove_range(
        &Opening::public(0),
        64,
        labels::ALLOWANCE_RANGE_PROOF,
        &mut rng,
    );
    let bulletproof_gens_ms = micros(start) / 1e3;

    let start = Instant::now();
    fengxin_confidential::precompute_decryption_table();
    let decryption_table_ms = micros(start) / 1e3;

    let mut entries = Vec::new();
    range_entries(&mut entries, iterations, 32, 1);
    range_entries(&mut entries, iterations, 64, 1);
    range_entries(&mut entries, iterations, 64, 8);
    range_entries(&mut entries, iterations, 64, 32);

    let mut seed = [0u8; 32];
    rng.fill_bytes(&mut seed);
    let regulator = ViewSecret::from_seed(seed);
    let view = regulator.public();
    let pk = view.elgamal();

    let mut handles = Vec::new();
    entries.push(measure("handle_proof_prove", iterations, || {
        let o = Opening::new(u64::from(rng.next_u32()), &mut rng);
        let (c, d) = (o.commit(), o.handle(&pk));
        let start = Instant::now();
        let proof = HandleProof::prove(&o, &c, &d, &pk, b"bench", &mut rng);
        let elapsed = micros(start);
        handles.push((o.value, c, d, proof));
        elapsed
    }));
    let mut index = 0;
    entries.push(measure("handle_proof_verify", iterations, || {
        let Some((_, c, d, proof)) = handles.get(index % handles.len().max(1)) else {
            return f64::NAN;
        };
        index += 1;
        let start = Instant::now();
        let ok = proof.verify(c, d, &pk, b"bench");
        let elapsed = micros(start);
        debug_assert!(ok.is_ok());
        elapsed
    }));
    let mut index = 0;
    entries.push(measure("elgamal_decrypt_u32", iterations, || {
        let Some((v, c, d, _)) = handles.get(index % handles.len().max(1)) else {
            return f64::NAN;
        };
        index += 1;
        let start = Instant::now();
        let decrypted = regulator.decrypt(c, d);
        let elapsed = micros(start);
        debug_assert_eq!(decrypted, Ok(*v));
        elapsed
    }));

    let mut payload = vec![0u8; 256];
    rng.fill_bytes(&mut payload);
    let mut sealed = Vec::new();
    entries.push(measure("hpke_seal_256b", iterations, || {
        let start = Instant::now();
        let s = seal_details(&view, b"bench aad", &payload, &mut rng);
        let elapsed = micros(start);
        if let Ok(s) = s {
            sealed.push(s);
        }
        elapsed
    }));
    let mut index = 0;
    entries.push(measure("hpke_open_256b", iterations, || {
        let Some(s) = sealed.get(index % sealed.len().max(1)) else {
            return f64::NAN;
        };
        index += 1;
        let start = Instant::now();
        let opened = open_details(&regulator, b"bench aad", s);
        let elapsed = micros(start);
        debug_assert!(opened.is_ok());
        elapsed
    }));

    BenchReport {
        bulletproof_gens_ms,
        decryption_table_ms,
        entries,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn report_covers_every_operation() {
        let report = super::run(2);
        let names: Vec<&str> = report.entries.iter().map(|e| e.name.as_str()).collect();
        for expected in [
            "range_32_single_prove",
            "range_32_single_verify",
            "range_64_single_prove",
            "range_64_single_verify",
            "range_64_aggregated_8_prove",
            "range_64_aggregated_8_verify",
            "range_64_aggregated_32_prove",
            "range_64_aggregated_32_verify",
            "handle_proof_prove",
            "handle_proof_verify",
            "elgamal_decrypt_u32",
            "hpke_seal_256b",
            "hpke_open_256b",
        ] {
            assert!(
                names.contains(&expected),
                "{expected} missing from {names:?}"
            );
        }
        for e in &report.entries {
            assert!(e.p50_us.is_finite() && e.p50_us > 0.0, "{e:?}");
            assert!(e.p95_us >= e.p50_us, "{e:?}");
        }
    }
}
