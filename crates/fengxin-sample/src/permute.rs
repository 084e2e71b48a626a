//! Keyed pseudorandom permutations of `0..n`, so that generated identifiers are distinct by
//! construction rather than with high probability.

use rand::RngCore;

/// Feistel rounds; four make a good-looking shuffle (this is test data, not cryptography).
const ROUNDS: usize = 4;

/// A keyed bijection of `0..n`: a balanced Feistel network over the smallest even-bit domain
/// holding `n`, restricted to `0..n` by cycle walking.
#[derive(Clone, Debug)]
pub(crate) struct Permutation {
    n: u64,
    half_bits: u32,
    mask: u64,
    keys: [u64; ROUNDS],
}

impl Permutation {
    /// A permutation of `0..n` (`n` of 0 is treated as 1) with keys drawn from `rng`.
    pub(crate) fn new(n: u64, rng: &mut impl RngCore) -> Self {
        let n = n.max(1);
        let bits = 64 - (n - 1).leading_zeros();
        let half_bits = bits.div_ceil(2).max(1);
        let mask = if half_bits >= 64 {
            u64::MAX
        } else {
            (1u64 << half_bits) - 1
        };
        let keys = [(); ROUNDS].map(|()| rng.next_u64());
        Self {
            n,
            half_bits,
            mask,
            keys,
        }
    }

    /// The image of `i mod n`.
    pub(crate) fn apply(&self, i: u64) -> u64 {
        let mut x = i % self.n;
        // Cycle walking: the Feistel domain is less than 4n, so this loops 4 times on average
        // at worst, and it ends because the cycle through x comes back below n.
        loop {
            x = self.feistel(x);
            if x < self.n {
                return x;
            }
        }
    }

    fn feistel(&self, x: u64) -> u64 {
        let (mut l, mut r) = (x >> self.half_bits, x & self.mask);
        for k in self.keys {
            let f = mix(r ^ k) & self.mask;
            (l, r) = (r, l ^ f);
        }
        (l << self.half_bits) | r
    }
}

/// The SplitMix64 finaliser: a fast 64-bit mixing function.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use std::collections::BTreeSet;

    #[test]
    fn is_a_bijection_for_awkward_sizes() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for n in [1u64, 2, 3, 5, 17, 1000, 1025, 4096, 65_537] {
            let p = Permutation::new(n, &mut rng);
            let image: BTreeSet<u64> = (0..n).map(|i| p.apply(i)).collect();
            assert_eq!(image.len() as u64, n, "n = {n}");
            assert!(image.iter().all(|&x| x < n));
            assert_eq!(p.apply(n), p.apply(0), "wraps around");
        }
    }

    #[test]
    fn full_width_domain_works() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let p = Permutation::new(u64::MAX, &mut rng);
        let image: BTreeSet<u64> = (0..10_000).map(|i| p.apply(i)).collect();
        assert_eq!(image.len(), 10_000);
        assert_ne!(p.apply(0), 0);
    }
}
