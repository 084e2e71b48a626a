//! The Groth16 proving core over cached constraint matrices.
//!
//! This is ark-groth16's `create_proof_with_reduction_and_matrices` (libsnark reduction, same
//! proof equations) restructured for this circuit's fixed shape:
//!
//! * every query is turned, once at key load, into a precomputed fixed-base MSM table
//!   ([`crate::msm`]);
//! * the scalars of the A, B (G1) and B (G2) queries are the same full assignment, so they are
//!   converted once;
//! * query bases that are the point at infinity (variables that never occur on that side of a
//!   constraint) are dropped at key load, with their scalars;
//! * every phase is timed, for the benchmark's breakdown.

use std::time::Instant;

use ark_bn254::{g1, g2, Bn254, Fr, G2Projective};
use ark_ec::short_weierstrass::{Affine, Projective, SWCurveConfig};
use ark_ec::{AffineRepr, CurveGroup, VariableBaseMSM};
use ark_ff::{BigInteger256, PrimeField};
use ark_groth16::r1cs_to_qap::{LibsnarkReduction, R1CSToQAP};
use ark_groth16::{Proof, ProvingKey};
use ark_poly::GeneralEvaluationDomain;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::msm::FixedBaseMsm;
use crate::prover::CircuitShape;

/// Milliseconds spent in each phase of one proof.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct ProveBreakdown {
    /// Native check and witness generation.
    pub witness_ms: f64,
    /// The quotient polynomial h (FFTs).
    pub h_poly_ms: f64,
    /// MSM of h against the H query (G1).
    pub msm_h_ms: f64,
    /// MSM of the witness against the L query (G1).
    pub msm_l_ms: f64,
    /// MSM for A (G1).
    pub msm_a_ms: f64,
    /// MSM for B in G1.
    pub msm_b1_ms: f64,
    /// MSM for B in G2.
    pub msm_b2_ms: f64,
}

/// Window width of the precomputed MSM tables (about 20 windows; see [`crate::msm`]).
const WINDOW_BITS: usize = 13;

/// A query with its non-zero bases, as a precomputed table, and their positions in the
/// assignment.
#[derive(Clone)]
struct SparseQuery<P: SWCurveConfig> {
    table: FixedBaseMsm<P>,
    /// Index into the assignment (without the leading 1) of each base.
    index: Vec<usize>,
}

impl<P: SWCurveConfig> SparseQuery<P>
where
    P::ScalarField: PrimeField<BigInt = BigInteger256>,
    Projective<P>: VariableBaseMSM<MulBase = Affine<P>>,
{
    fn new(query: &[Affine<P>]) -> Self {
        let (index, bases): (Vec<usize>, Vec<Affine<P>>) = query
            .iter()
            .enumerate()
            .filter(|(_, g)| !g.is_zero())
            .map(|(i, g)| (i, *g))
            .unzip();
        Self {
            table: FixedBaseMsm::new(&bases, WINDOW_BITS),
            index,
        }
    }

    fn msm(&self, scalars: &[BigInteger256]) -> Projective<P> {
        let picked: Vec<BigInteger256> = self.index.par_iter().map(|&i| scalars[i]).collect();
        self.table.msm(&picked)
    }
}

/// The proving key, rearranged for [`prove`]: every query as a precomputed fixed-base table.
#[derive(Clone)]
pub(crate) struct PreparedProvingKey {
    pub pk: ProvingKey<Bn254>,
    a: SparseQuery<g1::Config>,
    b1: SparseQuery<g1::Config>,
    b2: SparseQuery<g2::Config>,
    l: SparseQuery<g1::Config>,
    h: SparseQuery<g1::Config>,
}

impl std::fmt::Debug for PreparedProvingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedProvingKey")
            .field("a", &self.a.table)
            .field("b1", &self.b1.table)
            .field("b2", &self.b2.table)
            .field("l", &self.l.table)
            .field("h", &self.h.table)
            .finish_non_exhaustive()
    }
}

impl PreparedProvingKey {
    /// Builds the tables (about two seconds; about 70 MB for the membership circuit).
    pub(crate) fn new(pk: ProvingKey<Bn254>) -> Self {
        // Query position 0 is the constant 1 (added outside the MSM); 1.. are the assignment.
        let a = SparseQuery::new(&pk.a_query[1..]);
        let b1 = SparseQuery::new(&pk.b_g1_query[1..]);
        let b2 = SparseQuery::new(&pk.b_g2_query[1..]);
        let l = SparseQuery::new(&pk.l_query);
        let h = SparseQuery::new(&pk.h_query);
        Self {
            pk,
            a,
            b1,
            b2,
            l,
            h,
        }
    }
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

/// A Groth16 proof of `full_assignment` (the constant 1, the instance, the witness) with
/// randomness `r`, `s`.
pub(crate) fn prove(
    ppk: &PreparedProvingKey,
    shape: &CircuitShape,
    full_assignment: &[Fr],
    r: Fr,
    s: Fr,
    times: &mut ProveBreakdown,
) -> Result<Proof<Bn254>, String> {
    let pk = &ppk.pk;
    let t = Instant::now();
    let h = LibsnarkReduction::witness_map_from_matrices::<Fr, GeneralEvaluationDomain<Fr>>(
        &shape.matrices,
        shape.num_instance,
        shape.num_constraints,
        full_assignment,
    )
    .map_err(|e| e.to_string())?;
    times.h_poly_ms = ms(t);

    let t = Instant::now();
    let h_big: Vec<BigInteger256> = h.par_iter().map(|x| x.into_bigint()).collect();
    let h_acc = ppk.h.msm(&h_big);
    times.msm_h_ms = ms(t);

    // Assignment without the leading 1: instance inputs then witness.
    let assignment: Vec<BigInteger256> = full_assignment[1..]
        .par_iter()
        .map(|x| x.into_bigint())
        .collect();
    let aux = &assignment[shape.num_instance - 1..];

    let t = Instant::now();
    let l_acc = ppk.l.msm(aux);
    times.msm_l_ms = ms(t);

    let t = Instant::now();
    let g_a = pk.delta_g1 * r + pk.a_query[0] + ppk.a.msm(&assignment) + pk.vk.alpha_g1;
    times.msm_a_ms = ms(t);

    let t = Instant::now();
    let g1_b = pk.delta_g1 * s + pk.b_g1_query[0] + ppk.b1.msm(&assignment) + pk.beta_g1;
    times.msm_b1_ms = ms(t);

    let t = Instant::now();
    let g2_b: G2Projective =
        pk.vk.delta_g2 * s + pk.b_g2_query[0] + ppk.b2.msm(&assignment) + pk.vk.beta_g2;
    times.msm_b2_ms = ms(t);

    let g_c = g_a * s + g1_b * r - pk.delta_g1 * (r * s) + l_acc + h_acc;
    Ok(Proof {
        a: g_a.into_affine(),
        b: g2_b.into_affine(),
        c: g_c.into_affine(),
    })
}
