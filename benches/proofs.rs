//! Proof and tree benchmarks (crate `fengxin-proofs`), as a library call: `fengxin-node bench proofs --json` runs
//! [`run`] and prints the [`ProofBenchReport`]; `fengxin-node bench tree` runs [`run_tree`] and
//! prints the [`TreeBenchReport`].
//!
//! # The MSM floor
//!
//! The floor is the time of the two multi-scalar multiplications a Groth16 prover cannot avoid
//! at this circuit's size, measured with plain arkworks [`VariableBaseMSM`] (no precomputation)
//! over random full-width scalars and the proving key's own bases:
//!
//! * **G1**: one MSM of as many points as the circuit has variables (the constant one, the
//!   instance and the witness: the length of the key's A query), the bases being non-identity
//!   points of the key's G1 queries (A, then B in G1, L and H);
//! * **G2**: one MSM over the non-identity bases of the key's B-in-G2 query, every position
//!   counted (the constant one's included). Identity bases belong to variables that never occur
//!   on the B side of a constraint; the prover skips them, so they are no part of the floor.
//!
//! [`ProofBenchReport::msm_floor_ms`] is the sum of the two medians and
//! [`ProofBenchReport::prove_to_msm_floor`] relates the measured proving time to it; the point
//! counts used are reported as [`ProofBenchReport::msm_g1_points`] and
//! [`ProofBenchReport::msm_g2_points`].
//!
//! # Tree figures
//!
//! The tree is measured twice: in the in-memory store, and in the node's redb tree tables
//! ([`fengxin_store::TreeTables`]) in a database file in a temporary directory, where the build
//! and every single insert and delete run in their own write transaction, commit included.

use std::path::PathBuf;
use std::time::Instant;

use ark_bn254::{Bn254, Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::{AffineRepr, VariableBaseMSM};
use ark_ff::UniformRand;
use ark_groth16::ProvingKey;
use fengxin_store::TreeTables;
use fengxin_tree::{IndexedMerkleTree, MemoryStore};
use fengxin_types::Tag;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use fengxin_proofs::{
    KeyLoadError, MembershipProof, PrivateWitness, ProveBreakdown, ProveError, PublicInputs,
    VerifyError,
};

/// What to measure.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BenchConfig {
    /// Number of tags in the tree built for the benchmark (1,000,000 for the reported figures).
    pub tree_tags: usize,
    /// Samples per proving and verification measurement.
    pub samples: usize,
    /// Single inserts and deletes measured, in each store (at least 100 for the reported
    /// figures).
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
            params_dir: fengxin_proofs::keys::source_params_dir(),
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
    /// The tree figures, in memory and in redb (their fields appear at the top level of the
    /// JSON report).
    #[serde(flatten)]
    pub tree: TreeBenchReport,
    /// Witness lookup (leaf and path) in the built in-memory tree.
    pub lookup: Stats,
    /// Points in the floor's G1 MSM: the circuit's variables (see the [module docs](self)).
    pub msm_g1_points: usize,
    /// Points in the floor's G2 MSM: the non-identity bases of the key's B-in-G2 query.
    pub msm_g2_points: usize,
    /// One plain G1 MSM of `msm_g1_points` of the key's points, random scalars.
    pub msm_g1: Stats,
    /// One plain G2 MSM of the key's `msm_g2_points` non-identity B-in-G2 bases, random
    /// scalars.
    pub msm_g2: Stats,
    /// `msm_g1.p50_ms + msm_g2.p50_ms`: the MSM floor.
    pub msm_floor_ms: f64,
    /// `max(prove_hit.p50, prove_miss.p50) / msm_floor_ms`.
    pub prove_to_msm_floor: f64,
}

/// The tree benchmark's results: the in-memory store, and the node's redb tree tables.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TreeBenchReport {
    /// Tags in the built tree.
    pub tree_tags: usize,
    /// Bulk build of the tree (one sample) into the in-memory store.
    pub tree_build: Stats,
    /// Single insert into the built in-memory tree.
    pub insert: Stats,
    /// Single delete from the built in-memory tree.
    pub delete: Stats,
    /// Bulk build of the same tags (one sample) into the redb tree tables of a fresh database
    /// file, in one write transaction, commit included.
    pub tree_build_redb: Stats,
    /// Single insert into the redb tree, in its own write transaction, commit included.
    pub insert_redb: Stats,
    /// Single delete from the redb tree, in its own write transaction, commit included.
    pub delete_redb: Stats,
    /// Size of the database file after the inserts and deletes, in bytes.
    pub redb_file_bytes: u64,
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
    /// The temporary database for the redb tree figures failed (I/O, redb).
    #[error("storage: {0}")]
    Storage(String),
    /// The configuration cannot be run (for example zero samples).
    #[error("configuration: {0}")]
    Config(&'static str),
}

type Statement = (PublicInputs, MembershipProof);

fn ms_since(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

/// A uniformly random non-zero tag (the benchmarks' stand-in for an OPRF-derived one).
pub fn random_tag(rng: &mut impl Rng) -> Tag {
    let mut b = [0u8; Tag::LEN];
    rng.fill(&mut b[..]);
    b[Tag::LEN - 1] |= 1;
    Tag::from_bytes(b).expect("invariant: the last byte is odd, so the tag is non-zero")
}

fn tree_err(e: impl std::fmt::Display) -> BenchError {
    BenchError::Tree(e.to_string())
}

fn storage_err(e: impl std::fmt::Display) -> BenchError {
    BenchError::Storage(e.to_string())
}

fn check_config(cfg: &BenchConfig) -> Result<(), BenchError> {
    if cfg.samples == 0 || cfg.batch_size == 0 || cfg.tree_ops == 0 {
        return Err(BenchError::Config(
            "samples, batch_size and tree_ops must be positive",
        ));
    }
    Ok(())
}

/// The tree figures, and the built in-memory tree with its tags (for the proving figures).
fn tree_figures(
    cfg: &BenchConfig,
    rng: &mut impl Rng,
) -> Result<(TreeBenchReport, IndexedMerkleTree<MemoryStore>, Vec<Tag>), BenchError> {
    let tags: Vec<Tag> = (0..cfg.tree_tags).map(|_| random_tag(rng)).collect();
    let fresh: Vec<Tag> = (0..cfg.tree_ops).map(|_| random_tag(rng)).collect();

    // In memory: bulk build, then single inserts and deletes.
    let t = Instant::now();
    let mut tree = IndexedMerkleTree::build(MemoryStore::new(), tags.clone()).map_err(tree_err)?;
    let tree_build = Stats::of(vec![ms_since(t)]);
    let mut ins = Vec::with_capacity(fresh.len());
    for t in &fresh {
        let s = Instant::now();
        match tree.insert(*t) {
            Ok(()) | Err(fengxin_tree::InsertError::AlreadyPresent(_)) => {}
            Err(e) => return Err(tree_err(e)),
        }
        ins.push(ms_since(s));
    }
    let mut del = Vec::with_capacity(fresh.len());
    for t in &fresh {
        let s = Instant::now();
        match tree.delete(*t) {
            Ok(()) | Err(fengxin_tree::DeleteError::NotPresent(_)) => {}
            Err(e) => return Err(tree_err(e)),
        }
        del.push(ms_since(s));
    }
    let redb = redb_tree_figures(&tags, &fresh)?;
    let report = TreeBenchReport {
        tree_tags: cfg.tree_tags,
        tree_build,
        insert: Stats::of(ins),
        delete: Stats::of(del),
        tree_build_redb: redb.build,
        insert_redb: redb.insert,
        delete_redb: redb.delete,
        redb_file_bytes: redb.file_bytes,
    };
    Ok((report, tree, tags))
}

struct RedbFigures {
    build: Stats,
    insert: Stats,
    delete: Stats,
    file_bytes: u64,
}

/// The list and epoch the redb tree figures use.
const REDB_LIST: &str = "bench";
const REDB_EPOCH: u64 = 1;

/// Build, single inserts and single deletes through the node's redb tree tables, each in its
/// own write transaction (commit included), in a database file in a temporary directory.
fn redb_tree_figures(tags: &[Tag], fresh: &[Tag]) -> Result<RedbFigures, BenchError> {
    let dir = tempfile::tempdir().map_err(storage_err)?;
    let path = dir.path().join("tree.redb");
    let db = redb::Database::create(&path).map_err(storage_err)?;

    let all = tags.to_vec();
    let t = Instant::now();
    let txn = db.begin_write().map_err(storage_err)?;
    {
        let tables = TreeTables::open(&txn, REDB_LIST, REDB_EPOCH).map_err(storage_err)?;
        IndexedMerkleTree::build(tables, all).map_err(tree_err)?;
    }
    txn.commit().map_err(storage_err)?;
    let build = Stats::of(vec![ms_since(t)]);

    let ins = each_committed(&db, fresh, |tree, t| match tree.insert(t) {
        Ok(()) | Err(fengxin_tree::InsertError::AlreadyPresent(_)) => Ok(()),
        Err(e) => Err(tree_err(e)),
    })?;
    let del = each_committed(&db, fresh, |tree, t| match tree.delete(t) {
        Ok(()) | Err(fengxin_tree::DeleteError::NotPresent(_)) => Ok(()),
        Err(e) => Err(tree_err(e)),
    })?;
    drop(db);
    let file_bytes = std::fs::metadata(&path).map_err(storage_err)?.len();
    Ok(RedbFigures {
        build,
        insert: Stats::of(ins),
        delete: Stats::of(del),
        file_bytes,
    })
}

/// Runs the tree benchmark alone (`fengxin-node bench tree`): `cfg.tree_tags` and
/// `cfg.tree_ops` are used, the keys are not loaded.
pub fn run_tree(cfg: BenchConfig) -> Result<TreeBenchReport, BenchError> {
    check_config(&cfg)?;
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(cfg.seed);
    let (report, _, _) = tree_figures(&cfg, &mut rng)?;
    Ok(report)
}

/// The floor's G1 bases: `n` non-identity points of the key's G1 queries (A, then B in G1, L
/// and H), repeated if the key holds fewer.
/// Runs `op` on the redb tree once per tag, each in its own write transaction including the
/// commit, and returns each one's wall time in milliseconds.
fn each_committed(
    db: &redb::Database,
    tags: &[Tag],
    op: impl Fn(&mut IndexedMerkleTree<TreeTables<'_>>, Tag) -> Result<(), BenchError>,
) -> Result<Vec<f64>, BenchError> {
    let mut times = Vec::with_capacity(tags.len());
    for &t in tags {
        let s = Instant::now();
        let txn = db.begin_write().map_err(storage_err)?;
        {
            let tables = TreeTables::open(&txn, REDB_LIST, REDB_EPOCH).map_err(storage_err)?;
            let mut tree = IndexedMerkleTree::open(tables).map_err(tree_err)?;
            op(&mut tree, t)?;
        }
        txn.commit().map_err(storage_err)?;
        times.push(ms_since(s));
    }
    Ok(times)
}

fn floor_g1_bases(pk: &ProvingKey<Bn254>, n: usize) -> Vec<G1Affine> {
    pk.a_query
        .iter()
        .chain(&pk.b_g1_query)
        .chain(&pk.l_query)
        .chain(&pk.h_query)
        .filter(|g| !g.is_zero())
        .copied()
        .cycle()
        .take(n)
        .collect()
}

/// The floor's G2 bases: the non-identity bases of the key's B-in-G2 query.
fn floor_g2_bases(pk: &ProvingKey<Bn254>) -> Vec<G2Affine> {
    pk.b_g2_query
        .iter()
        .filter(|g| !g.is_zero())
        .copied()
        .collect()
}

/// Runs the benchmark.
pub fn run(cfg: BenchConfig) -> Result<ProofBenchReport, BenchError> {
    check_config(&cfg)?;
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(cfg.seed);
    let mut proof_rng = rand_chacha::ChaCha20Rng::from_entropy();
    let prover = fengxin_proofs::keys::load_prover(&cfg.params_dir)?;
    let verifier = fengxin_proofs::keys::load_verifier(&cfg.params_dir)?;

    let (tree_report, tree, tags) = tree_figures(&cfg, &mut rng)?;
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

    // The MSM floor at this circuit's size (see the module docs).
    let pk = prover.proving_key();
    let variables = pk.a_query.len();
    let g1 = floor_g1_bases(pk, variables);
    let g2 = floor_g2_bases(pk);
    let scalars1: Vec<Fr> = (0..g1.len()).map(|_| Fr::rand(&mut rng)).collect();
    let scalars2: Vec<Fr> = (0..g2.len()).map(|_| Fr::rand(&mut rng)).collect();
    let mut m1 = Vec::new();
    let mut m2 = Vec::new();
    for _ in 0..cfg.samples.clamp(3, 10) {
        let s = Instant::now();
        let _ = std::hint::black_box(G1Projective::msm_unchecked(&g1, &scalars1));
        m1.push(ms_since(s));
        let s = Instant::now();
        let _ = std::hint::black_box(G2Projective::msm_unchecked(&g2, &scalars2));
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
        tree: tree_report,
        lookup: Stats::of(lookups),
        msm_g1_points: g1.len(),
        msm_g2_points: g2.len(),
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

    /// The tree benchmark runs on both stores and reports every figure; the proof report
    /// carries the same fields at the top level of its JSON.
    #[test]
    fn tree_figures_cover_memory_and_redb() {
        let cfg = BenchConfig {
            tree_tags: 3000,
            tree_ops: 4,
            ..Default::default()
        };
        let report = run_tree(cfg).expect("tree benchmark");
        assert_eq!(report.tree_tags, 3000);
        for s in [
            &report.insert,
            &report.delete,
            &report.insert_redb,
            &report.delete_redb,
        ] {
            assert_eq!(s.samples, 4);
            assert!(s.p50_ms.is_finite() && s.p50_ms <= s.p95_ms);
        }
        for s in [&report.tree_build, &report.tree_build_redb] {
            assert_eq!(s.samples, 1);
        }
        assert!(report.redb_file_bytes > 0);
        let json = serde_json::to_value(&report).expect("json");
        for field in [
            "tree_tags",
            "tree_build",
            "insert",
            "delete",
            "tree_build_redb",
            "insert_redb",
            "delete_redb",
        ] {
            assert!(json.get(field).is_some(), "{field} missing");
        }
    }
}
