//! The prover: witness generation without constraint synthesis overhead, and Groth16 proving
//! against constraint matrices computed once.

use ark_bn254::{Bn254, Fr};
use ark_ff::UniformRand;
use std::time::Instant;

use ark_groth16::{ProvingKey, VerifyingKey};
use ark_relations::gr1cs::{
    ConstraintSynthesizer, ConstraintSystem, Matrix, OptimizationGoal, SynthesisMode,
    R1CS_PREDICATE_LABEL,
};
use fengxin_circuits::{check_membership, MembershipCircuit};
use fengxin_tree::{Lookup, Root};
use fengxin_types::Tag;
use rand_core::{CryptoRng, RngCore};

use crate::error::{KeyLoadError, ProveError};
use crate::groth16::{PreparedProvingKey, ProveBreakdown};
use crate::proof::{MembershipProof, PrivateWitness, PublicInputs};

/// The membership circuit's R1CS shape, computed once by synthesising it in setup mode.
#[derive(Debug, Clone)]
pub(crate) struct CircuitShape {
    /// The A, B and C matrices.
    pub matrices: Vec<Matrix<Fr>>,
    /// Instance variables including the constant 1.
    pub num_instance: usize,
    /// Witness variables.
    pub num_witness: usize,
    /// Constraints.
    pub num_constraints: usize,
}

impl CircuitShape {
    pub(crate) fn synthesize() -> Result<Self, String> {
        let cs = ConstraintSystem::<Fr>::new_ref();
        cs.set_optimization_goal(OptimizationGoal::Constraints);
        cs.set_mode(SynthesisMode::Setup);
        MembershipCircuit::blank()
            .generate_constraints(cs.clone())
            .map_err(|e| e.to_string())?;
        cs.finalize();
        let mut all = cs.to_matrices().map_err(|e| e.to_string())?;
        let matrices = all
            .remove(R1CS_PREDICATE_LABEL)
            .ok_or_else(|| "no R1CS predicate".to_string())?;
        if matrices.len() != 3 {
            return Err(format!("expected 3 R1CS matrices, got {}", matrices.len()));
        }
        Ok(Self {
            matrices,
            num_instance: cs.num_instance_variables(),
            num_witness: cs.num_witness_variables(),
            num_constraints: cs.num_constraints(),
        })
    }
}

/// Produces membership proofs with a loaded proving key.
///
/// The circuit's constraint matrices are computed once in [`Prover::new`]; each proof then only
/// runs the circuit in witness-generation mode (no constraints recorded) and the Groth16 prover
/// over the cached matrices.
///
/// Timing: the prover is variable-time in the witness (multi-scalar multiplications skip zero
/// digits, and hits and misses take slightly different paths through witness generation). The
/// differences are microseconds against hundreds of milliseconds of proving and network jitter,
/// but the prover is not constant-time; a responder that must hide even that should pad its
/// response time.
#[derive(Debug)]
pub struct Prover {
    ppk: PreparedProvingKey,
    shape: CircuitShape,
}

impl Prover {
    /// Wraps a proving key, checking that it fits the membership circuit.
    pub fn new(pk: ProvingKey<Bn254>) -> Result<Self, KeyLoadError> {
        let shape = CircuitShape::synthesize().map_err(KeyLoadError::WrongCircuit)?;
        let vars = shape.num_instance + shape.num_witness;
        if pk.vk.gamma_abc_g1.len() != shape.num_instance
            || pk.a_query.len() != vars
            || pk.b_g2_query.len() != vars
            || pk.l_query.len() != shape.num_witness
        {
            return Err(KeyLoadError::WrongCircuit(format!(
                "key has {} inputs and {} variables, circuit has {} and {}",
                pk.vk.gamma_abc_g1.len(),
                pk.a_query.len(),
                shape.num_instance,
                vars
            )));
        }
        Ok(Self {
            ppk: PreparedProvingKey::new(pk),
            shape,
        })
    }

    /// The verifying key that matches this proving key.
    pub fn verifying_key(&self) -> &VerifyingKey<Bn254> {
        &self.ppk.pk.vk
    }

    /// The proving key.
    pub fn proving_key(&self) -> &ProvingKey<Bn254> {
        &self.ppk.pk
    }

    /// Number of R1CS constraints of the circuit.
    pub fn num_constraints(&self) -> usize {
        self.shape.num_constraints
    }

    /// Proves `public` with `witness`. The statement is checked natively first; a false one
    /// gives [`ProveError::FalseStatement`] and no proof.
    pub fn prove<R: RngCore + CryptoRng>(
        &self,
        public: &PublicInputs,
        witness: &PrivateWitness,
        rng: &mut R,
    ) -> Result<MembershipProof, ProveError> {
        self.prove_timed(public, witness, rng).map(|(p, _)| p)
    }

    /// [`Prover::prove`], also returning how long each phase took.
    pub fn prove_timed<R: RngCore + CryptoRng>(
        &self,
        public: &PublicInputs,
        witness: &PrivateWitness,
        rng: &mut R,
    ) -> Result<(MembershipProof, ProveBreakdown), ProveError> {
        let mut times = ProveBreakdown::default();
        let start = Instant::now();
        let circuit_public = public.to_circuit();
        if !check_membership(&circuit_public, &witness.0) {
            return Err(ProveError::FalseStatement);
        }
        let cs = ConstraintSystem::<Fr>::new_ref();
        cs.set_optimization_goal(OptimizationGoal::Constraints);
        cs.set_mode(SynthesisMode::Prove {
            construct_matrices: false,
            generate_lc_assignments: false,
        });
        MembershipCircuit::new(circuit_public, witness.0.clone())
            .generate_constraints(cs.clone())
            .map_err(|e| ProveError::Groth16(e.to_string()))?;
        let full_assignment = {
            let inner = cs
                .borrow()
                .ok_or_else(|| ProveError::Groth16("constraint system dropped".into()))?;
            let instance = inner
                .instance_assignment()
                .map_err(|e| ProveError::Groth16(e.to_string()))?;
            let witness = inner
                .witness_assignment()
                .map_err(|e| ProveError::Groth16(e.to_string()))?;
            if instance.len() != self.shape.num_instance || witness.len() != self.shape.num_witness
            {
                return Err(ProveError::Groth16(
                    "witness generation does not match the circuit shape".into(),
                ));
            }
            [instance, witness].concat()
        };
        times.witness_ms = start.elapsed().as_secs_f64() * 1e3;
        let r = Fr::rand(rng);
        let s = Fr::rand(rng);
        let proof =
            crate::groth16::prove(&self.ppk, &self.shape, &full_assignment, r, s, &mut times)
                .map_err(ProveError::Groth16)?;
        Ok((MembershipProof(proof), times))
    }

    /// Proves the answer of a tree lookup: returns the public statement and its proof.
    pub fn prove_lookup<R: RngCore + CryptoRng>(
        &self,
        root: Root,
        tag: Tag,
        lookup: &Lookup,
        rng: &mut R,
    ) -> Result<(PublicInputs, MembershipProof), ProveError> {
        let public = PublicInputs::from_lookup(root, tag, lookup);
        let witness = PrivateWitness::try_from(lookup.witness())?;
        let proof = self.prove(&public, &witness, rng)?;
        Ok((public, proof))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn prover_and_verifier_are_shareable() {
        fn shareable<T: Send + Sync>() {}
        shareable::<super::Prover>();
        shareable::<crate::Verifier>();
    }
}
