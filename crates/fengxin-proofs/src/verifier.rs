//! The verifier: single and batch verification.

use ark_bn254::{Bn254, Fr, G1Projective};
use ark_ec::pairing::Pairing;
use ark_ec::{CurveGroup, VariableBaseMSM};
use ark_ff::{Field, One, PrimeField};
use ark_groth16::{prepare_verifying_key, Groth16, PreparedVerifyingKey, VerifyingKey};
use rand_core::{CryptoRng, RngCore};

use crate::error::VerifyError;
use crate::proof::{MembershipProof, PublicInputs};

/// An answer whose proof verified: only [`Verifier`] makes these, so holding one means the
/// check was done (unlike a received [`PublicInputs`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct VerifiedAnswer(PublicInputs);

impl VerifiedAnswer {
    /// The verified statement.
    pub fn statement(&self) -> &PublicInputs {
        &self.0
    }

    /// The root the answer was proven against.
    pub fn root(&self) -> fengxin_tree::Root {
        self.0.root
    }

    /// The queried tag.
    pub fn tag(&self) -> fengxin_types::Tag {
        self.0.tag
    }

    /// Hit (`true`) or miss (`false`).
    pub fn is_hit(&self) -> bool {
        self.0.result
    }
}

/// Checks membership proofs against one verifying key.
#[derive(Debug, Clone)]
pub struct Verifier {
    pvk: PreparedVerifyingKey<Bn254>,
}

impl Verifier {
    /// Prepares a verifying key (one pairing, done once).
    pub fn new(vk: &VerifyingKey<Bn254>) -> Self {
        Self {
            pvk: prepare_verifying_key(vk),
        }
    }

    /// The verifying key.
    pub fn verifying_key(&self) -> &VerifyingKey<Bn254> {
        &self.pvk.vk
    }

    /// Verifies one proof; the answer comes back as a [`VerifiedAnswer`].
    pub fn verify(
        &self,
        public: &PublicInputs,
        proof: &MembershipProof,
    ) -> Result<VerifiedAnswer, VerifyError> {
        let ok = Groth16::<Bn254>::verify_proof(&self.pvk, &proof.0, &public.to_field_elements())
            .map_err(|e| VerifyError::Groth16(e.to_string()))?;
        if ok {
            Ok(VerifiedAnswer(*public))
        } else {
            Err(VerifyError::Rejected)
        }
    }

    /// Verifies several proofs at once: a random linear combination of the verification
    /// equations, `Π e(ρ_i·A_i, B_i) = e(Σρ_i·α, β) · e(Σρ_i·IC_i, γ) · e(Σρ_i·C_i, δ)`, with
    /// 128-bit random `ρ_i` (ρ_0 = 1). One multi-Miller loop of `n + 2` pairs and one final
    /// exponentiation instead of `n`. Accepts only if every proof would verify alone (except with
    /// probability 2^-128); on rejection, verify individually to find the culprit.
    pub fn verify_batch<R: RngCore + CryptoRng>(
        &self,
        items: &[(PublicInputs, MembershipProof)],
        rng: &mut R,
    ) -> Result<Vec<VerifiedAnswer>, VerifyError> {
        if items.is_empty() {
            return Err(VerifyError::EmptyBatch);
        }
        let vk = &self.pvk.vk;
        let rhos: Vec<Fr> = (0..items.len())
            .map(|i| {
                if i == 0 {
                    Fr::one()
                } else {
                    Fr::from(u128::from(rng.next_u64()) << 64 | u128::from(rng.next_u64()))
                }
            })
            .collect();
        let rho_sum: Fr = rhos.iter().sum();
        // Σ ρ_i·IC_i where IC_i = IC_0 + Σ_j x_ij·IC_j: one MSM over the key's input bases.
        let mut input_scalars = vec![rho_sum];
        for j in 0..3 {
            input_scalars.push(
                items
                    .iter()
                    .zip(&rhos)
                    .map(|((p, _), r)| p.to_field_elements()[j] * r)
                    .sum(),
            );
        }
        let ic = G1Projective::msm(&vk.gamma_abc_g1, &input_scalars)
            .map_err(|_| VerifyError::Groth16("input bases and scalars differ in length".into()))?;
        let cs: Vec<_> = items.iter().map(|(_, p)| p.0.c).collect();
        let c = G1Projective::msm(&cs, &rhos)
            .map_err(|_| VerifyError::Groth16("proofs and scalars differ in length".into()))?;
        let mut g1: Vec<<Bn254 as Pairing>::G1Prepared> = Vec::with_capacity(items.len() + 2);
        let mut g2: Vec<<Bn254 as Pairing>::G2Prepared> = Vec::with_capacity(items.len() + 2);
        for ((_, proof), rho) in items.iter().zip(&rhos) {
            g1.push((proof.0.a * rho).into_affine().into());
            g2.push(proof.0.b.into());
        }
        g1.push(ic.into_affine().into());
        g2.push(self.pvk.gamma_g2_neg_pc.clone());
        g1.push(c.into_affine().into());
        g2.push(self.pvk.delta_g2_neg_pc.clone());
        let ml = Bn254::multi_miller_loop(g1, g2);
        let lhs = Bn254::final_exponentiation(ml)
            .ok_or_else(|| VerifyError::Groth16("final exponentiation failed".into()))?;
        // The right side: e(α, β)^{Σρ}.
        let rhs = self.pvk.alpha_g1_beta_g2.pow(rho_sum.into_bigint());
        if lhs.0 == rhs {
            Ok(items.iter().map(|(p, _)| VerifiedAnswer(*p)).collect())
        } else {
            Err(VerifyError::Rejected)
        }
    }
}
