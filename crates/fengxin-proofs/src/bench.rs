//! Proof and tree benchmarks, as a library call: `fengxin-node bench proofs --json` runs
//! [`run`] and prints the [`ProofBenchReport`].
//!
//! The MSM floor is the time of one G1 and one G2 multi-scalar multiplication of the prover's
//! size (the number of circuit variables) with random full-width scalars: the unavoidable core
//! of a Groth16 proof. [`ProofBenchReport::prove_to_msm_floor`] relates the measured proving
//! time to it.

use std::path::PathBuf;
use std::time::Instant;

use ark_bn254::{Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::{CurveGroup, VariableBaseMSM};
use ark_ff::UniformRand;
use fengxin_tree::{IndexedMerkleTree, MemoryStore};
use fengxin_types::Tag;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::error::{KeyLoadError, ProveError, VerifyError};
use crate::groth16::ProveBreakdown;
use crate::proof::{MembershipProof, PrivateWitness, PublicInputs};

/// What to measure.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BenchConfig {
    /// Number of tags in the tree built for the benchmark (1,000,000 for the reported figures).
    pub tree_tags: usize,
    /// Samples per proving and verification measurement.
    pub samples: usize,
    /// Single inserts and deletes measured.
    pub tree_ops: usize,
    /// Proofs per batch verification.
    pub batch_size: usize,
    /// Parameter directory (manifest and keys).
    pub params_dir: PathBuf,
    /// Seed for the tags and query choices (proof randomness is always fresh).
    pub seed: u64,
}

impl Default for BenchConfig {
    fn default() -> Self {
        Self {
            tree_tags: 1_000_000,
            samples: 20,
            tree_ops: 200,
            batch_size: 16,
            params_dir: crate::keys::default_params_dir(),
            seed: 1,
        }
    }
}

/// Percentiles of a measurement, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// Median.
    pub p50_ms: f64,
    /// 95th percentile.
    pub p95_ms: f64,
    /// Number of samples.
    pub samples: usize,
}

impl Stats {
    fn of(mut ms: Vec<f64>) -> Self {
        ms.sort_by(f64::total_cmp);
        let n = ms.len();
        let at = |q: f64| -> f64 {
            if n == 0 {
                return f64::NAN;
            }
            let i = ((q * n as f64).ceil() as usize).clamp(1, n) - 1;
            ms[i]
        };
        Self {
            p50_ms: at(0.5),
            p95_ms: at(0.95),
            samples: n,
        }
    }
}

/// The benchmark's results.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProofBenchReport {
    /// R1CS constraints of the membership circuit.
    pub constraints: usize,
    /// Circuit variables (instance + witness): the prover's MSM size.
    pub variables: usize,
    /// Rayon worker threads.
    pub threads: usize,
    /// Encoded proof size in bytes.
    pub proof_bytes: usize,
    /// Proving a hit (result = 1), witness lookup excluded.
    pub prove_hit: Stats,
    /// Proving a miss (result = 0), witness lookup excluded.
    pub prove_miss: Stats,
    /// Median time of each proving phase (hits and misses together).
    pub prove_breakdown: ProveBreakdown,
    /// Verifying one proof.
    pub verify: Stats,
    /// Proofs per batch in `batch_verify`.
    pub batch_size: usize,
    /// Verifying a batch of `batch_size` proofs.
    pub batch_verify: Stats,
    /// Tags in the built tree.
    pub tree_tags: usize,
    /// Bulk build of the tree (one sample) into the in-memory store.
    pub tree_build: Stats,
    /// Single insert into the built tree.
    pub insert: Stats,
    /// Single delete from the built tree.
    pub delete: Stats,
    /// Witness lookup (leaf and path) in the built tree.
    pub lookup: Stats,
    /// One G1 MSM of `variables` points, random scalars.
    pub msm_g1: Stats,
    /// One G2 MSM of `variables` points, random scalars.
    pub msm_g2: Stats,
    /// `msm_g1.p50_ms + msm_g2.p50_ms`.
    pub msm_floor_ms: f64,
    /// `max(prove_hit.p50, prove_miss.p50) / msm_floor_ms`.
    pub prove_to_msm_floor: f64,
}

/// Why the benchmark could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BenchError {
    /// The keys did not load.
    #[error("keys: {0}")]
    Keys(#[from] KeyLoadError),
    /// Proving failed.
    #[error("prove: {0}")]
    Prove(#[from] ProveError),
    /// A proof did not verify (a bug).
    #[error("verify: {0}")]
    Verify(#[from] VerifyError),
    /// A tree operation failed.
    #[error("tree: {0}")]
    Tree(String),
    /// The configuration cannot be run (for example zero samples).
    #[error("configuration: {0}")]
    Config(&'static str),
}

type Statement = (PublicInputs, MembershipProof);

fn ms_since(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

fn random_tag(rng: &mut impl Rng) -> Tag {
    let mut b = [0u8; Tag::LEN];
    rng.fill(&mut b[..]);
    b[Tag::LEN - 1] |= 1;
    Tag::from_bytes(b).expect("invariant: the last byte is odd, so the tag is non-zero")
}

/// Runs the benchmark.
pub fn run(cfg: BenchConfig) -> Result<ProofBenchReport, BenchError> {
    if cfg.samples == 0 || cfg.batch_size == 0 || cfg.tree_ops == 0 {
        return Err(BenchError::Config(
            "samples, batch_size and tree_ops must be positive",
        ));
    }
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(cfg.seed);
    let mut proof_rng = rand_chacha::ChaCha20Rng::from_entropy();
    let prover = crate::keys::load_prover(&cfg.params_dir)?;
    let verifier = crate::keys::load_verifier(&cfg.params_dir)?;

    // Tree: bulk build, then single inserts and deletes.
    let tags: Vec<Tag> = (0..cfg.tree_tags).map(|_| random_tag(&mut rng)).collect();
    let t = Instant::now();
    let mut tree = IndexedMerkleTree::build(MemoryStore::new(), tags.clone())
        .map_err(|e| BenchError::Tree(e.to_string()))?;
    let tree_build = Stats::of(vec![ms_since(t)]);
    let fresh: Vec<Tag> = (0..cfg.tree_ops).map(|_| random_tag(&mut rng)).collect();
    let mut ins = Vec::with_capacity(fresh.len());
    for t in &fresh {
        let s = Instant::now();
        match tree.insert(*t) {
            Ok(()) | Err(fengxin_tree::InsertError::AlreadyPresent(_)) => {}
            Err(e) => return Err(BenchError::Tree(e.to_string())),
        }
        ins.push(ms_since(s));
    }
    let mut del = Vec::with_capacity(fresh.len());
    for t in &fresh {
        let s = Instant::now();
        match tree.delete(*t) {
            Ok(()) | Err(fengxin_tree::DeleteError::NotPresent(_)) => {}
            Err(e) => return Err(BenchError::Tree(e.to_string())),
        }
        del.push(ms_since(s));
    }
    let root = tree.root();

    // Proving: hits are tags of the list (or, for an empty list, misses stand in), misses fresh.
    let mut lookups = Vec::new();
    let mut breakdowns = Vec::new();
    let mut prove = |want_hit: bool,
                     rng: &mut rand_chacha::ChaCha20Rng|
     -> Result<(Vec<f64>, Vec<Statement>), BenchError> {
        let mut times = Vec::with_capacity(cfg.samples);
        let mut proofs = Vec::with_capacity(cfg.samples);
        for _ in 0..cfg.samples {
            let tag = if want_hit && !tags.is_empty() {
                tags[rng.gen_range(0..tags.len())]
            } else {
                random_tag(rng)
            };
            let s = Instant::now();
            let look = tree
                .lookup(tag)
                .map_err(|e| BenchError::Tree(e.to_string()))?;
            lookups.push(ms_since(s));
            let public = PublicInputs::from_lookup(root, tag, &look);
            let witness = PrivateWitness::try_from(look.witness())?;
            let s = Instant::now();
            let (proof, phases) = prover.prove_timed(&public, &witness, &mut proof_rng)?;
            times.push(ms_since(s));
            breakdowns.push(phases);
            proofs.push((public, proof));
        }
        Ok((times, proofs))
    };
    let (hit_ms, hits) = prove(true, &mut rng)?;
    let (miss_ms, misses) = prove(false, &mut rng)?;
    let all: Vec<_> = hits.into_iter().chain(misses).collect();

    let mut ver = Vec::with_capacity(all.len());
    for (public, proof) in &all {
        let s = Instant::now();
        verifier.verify(public, proof)?;
        ver.push(ms_since(s));
    }
    let mut batch_ms = Vec::new();
    let mut batch_rng = rand_chacha::ChaCha20Rng::from_entropy();
    for _ in 0..cfg.samples.min(10) {
        let batch: Vec<_> = (0..cfg.batch_size)
            .map(|i| all[(i * 7 + batch_ms.len()) % all.len()].clone())
            .collect();
        let s = Instant::now();
        verifier.verify_batch(&batch, &mut batch_rng)?;
        batch_ms.push(ms_since(s));
    }

    // The MSM floor at the prover's size.
    let variables = prover.proving_key().a_query.len();
    let g1: Vec<G1Projective> = (0..variables)
        .map(|_| G1Projective::rand(&mut rng))
        .collect();
    let g1: Vec<G1Affine> = G1Projective::normalize_batch(&g1);
    let g2: Vec<G2Projective> = (0..variables)
        .map(|_| G2Projective::rand(&mut rng))
        .collect();
    let g2: Vec<G2Affine> = G2Projective::normalize_batch(&g2);
    let scalars: Vec<Fr> = (0..variables).map(|_| Fr::rand(&mut rng)).collect();
    let mut m1 = Vec::new();
    let mut m2 = Vec::new();
    for _ in 0..cfg.samples.clamp(3, 10) {
        let s = Instant::now();
        let _ = std::hint::black_box(G1Projective::msm_unchecked(&g1, &scalars));
        m1.push(ms_since(s));
        let s = Instant::now();
        let _ = std::hint::black_box(G2Projective::msm_unchecked(&g2, &scalars));
        m2.push(ms_since(s));
    }
    let median =
        |f: fn(&ProveBreakdown) -> f64| Stats::of(breakdowns.iter().map(f).collect()).p50_ms;
    let prove_breakdown = ProveBreakdown {
        witness_ms: median(|b| b.witness_ms),
        h_poly_ms: median(|b| b.h_poly_ms),
        msm_h_ms: median(|b| b.msm_h_ms),
        msm_l_ms: median(|b| b.msm_l_ms),
        msm_a_ms: median(|b| b.msm_a_ms),
        msm_b1_ms: median(|b| b.msm_b1_ms),
        msm_b2_ms: median(|b| b.msm_b2_ms),
    };
    let msm_g1 = Stats::of(m1);
    let msm_g2 = Stats::of(m2);
    let msm_floor_ms = msm_g1.p50_ms + msm_g2.p50_ms;
    let prove_hit = Stats::of(hit_ms);
    let prove_miss = Stats::of(miss_ms);
    let proof_bytes = all
        .first()
        .map_or(MembershipProof::LEN, |(_, p)| p.to_bytes().len());

    Ok(ProofBenchReport {
        constraints: prover.num_constraints(),
        variables,
        threads: rayon::current_num_threads(),
        proof_bytes,
        prove_to_msm_floor: prove_hit.p50_ms.max(prove_miss.p50_ms) / msm_floor_ms,
        prove_hit,
        prove_miss,
        prove_breakdown,
        verify: Stats::of(ver),
        batch_size: cfg.batch_size,
        batch_verify: Stats::of(batch_ms),
        tree_tags: cfg.tree_tags,
        tree_build,
        insert: Stats::of(ins),
        delete: Stats::of(del),
        lookup: Stats::of(lookups),
        msm_g1,
        msm_g2,
        msm_floor_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles() {
        let s = Stats::of((1..=100).map(f64::from).collect());
        assert_eq!(s.p50_ms, 50.0);
        assert_eq!(s.p95_ms, 95.0);
        assert_eq!(s.samples, 100);
        let one = Stats::of(vec![3.0]);
        assert_eq!((one.p50_ms, one.p95_ms), (3.0, 3.0));
    }
}
