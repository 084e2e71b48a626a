//! Poseidon over the BN254 scalar field with the circomlib parameter set (x^5 S-box, width 3,
//! 8 full and 57 partial rounds).
//!
//! The round constants and the MDS matrix are taken, at start-up, from `light-poseidon`'s
//! parameter module (`light_poseidon::parameters::bn254_x5`), which generates them with the
//! reference Grain script; nothing here is a hand-copied table. The permutation below is a
//! fixed-width, allocation-free transcription of `light_poseidon::Poseidon::hash` (the tree
//! computes millions of hashes during a bulk build); the tests check it against
//! `light-poseidon` itself and against circomlib's published vectors, and the R1CS gadget in
//! `fengxin-circuits` reads the same [`PoseidonParams`].

use std::sync::OnceLock;

use ark_bn254::Fr;
use ark_ff::{Field, Zero};

/// State width: the capacity element plus two inputs.
pub const WIDTH: usize = 3;

/// The circomlib Poseidon parameters for two inputs (width 3).
#[derive(Debug, Clone)]
pub struct PoseidonParams {
    /// Round constants, `WIDTH` per round, rounds in order.
    pub ark: Vec<[Fr; WIDTH]>,
    /// The MDS matrix, row-major: `state'[i] = sum_j mds[i][j] * state[j]`.
    pub mds: [[Fr; WIDTH]; WIDTH],
    /// Number of full rounds (half before, half after the partial rounds).
    pub full_rounds: usize,
    /// Number of partial rounds (S-box on the first state element only).
    pub partial_rounds: usize,
}

impl PoseidonParams {
    /// Total number of rounds.
    pub fn rounds(&self) -> usize {
        self.full_rounds + self.partial_rounds
    }

    /// Whether round `r` applies the S-box to every state element.
    pub fn is_full_round(&self, r: usize) -> bool {
        let half = self.full_rounds / 2;
        r < half || r >= half + self.partial_rounds
    }
}

/// The parameters, loaded once from `light-poseidon`.
pub fn params() -> &'static PoseidonParams {
    static PARAMS: OnceLock<PoseidonParams> = OnceLock::new();
    PARAMS.get_or_init(|| {
        let p = light_poseidon::parameters::bn254_x5::get_poseidon_parameters::<Fr>(WIDTH as u8)
            .expect("invariant: light-poseidon ships parameters for width 3");
        assert_eq!(p.width, WIDTH, "invariant: width-3 parameter set");
        assert_eq!(p.alpha, 5, "invariant: circomlib uses the x^5 S-box");
        let rounds = p.full_rounds + p.partial_rounds;
        assert_eq!(
            p.ark.len(),
            rounds * WIDTH,
            "invariant: one constant per element and round"
        );
        let ark = p
            .ark
            .chunks_exact(WIDTH)
            .map(|c| [c[0], c[1], c[2]])
            .collect();
        let mut mds = [[Fr::zero(); WIDTH]; WIDTH];
        for (i, row) in mds.iter_mut().enumerate() {
            for (j, m) in row.iter_mut().enumerate() {
                *m = p.mds[i][j];
            }
        }
        PoseidonParams {
            ark,
            mds,
            full_rounds: p.full_rounds,
            partial_rounds: p.partial_rounds,
        }
    })
}

#[inline(always)]
fn sbox(x: Fr) -> Fr {
    let x2 = x.square();
    x2.square() * x
}

/// Poseidon of two field elements, as circomlib's `Poseidon(2)` template computes it.
pub fn hash2(left: Fr, right: Fr) -> Fr {
    let p = params();
    let mut s = [Fr::zero(), left, right];
    for (r, c) in p.ark.iter().enumerate() {
        s[0] += c[0];
        s[1] += c[1];
        s[2] += c[2];
        if p.is_full_round(r) {
            s = [sbox(s[0]), sbox(s[1]), sbox(s[2])];
        } else {
            s[0] = sbox(s[0]);
        }
        // Sums of products with one Montgomery reduction each (BN254 has spare modulus bits).
        let m = &p.mds;
        s = [
            Fr::sum_of_products(&m[0], &s),
            Fr::sum_of_products(&m[1], &s),
            Fr::sum_of_products(&m[2], &s),
        ];
    }
    s[0]
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ff::{BigInteger, PrimeField, UniformRand};
    use light_poseidon::{Poseidon, PoseidonHasher};
    use rand::SeedableRng;

    fn hex(f: Fr) -> String {
        hex::encode(f.into_bigint().to_bytes_be())
    }

    /// circomlib `poseidon([1, 2])` and `poseidon([0, 0])` (circomlibjs test vectors).
    #[test]
    fn circomlib_vectors() {
        assert_eq!(
            hex(hash2(Fr::from(1u64), Fr::from(2u64))),
            "115cc0f5e7d690413df64c6b9662e9cf2a3617f2743245519e19607a4417189a"
        );
        assert_eq!(
            hex(hash2(Fr::from(0u64), Fr::from(0u64))),
            "2098f5fb9e239eab3ceac3f27b81e481dc3124d55ffed523a839ee8446b64864"
        );
    }

    #[test]
    fn equals_light_poseidon_on_random_inputs() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
        let mut reference = Poseidon::<Fr>::new_circom(2).expect("width 3 supported");
        for _ in 0..200 {
            let (a, b) = (Fr::rand(&mut rng), Fr::rand(&mut rng));
            assert_eq!(hash2(a, b), reference.hash(&[a, b]).expect("two inputs"));
        }
    }
}
