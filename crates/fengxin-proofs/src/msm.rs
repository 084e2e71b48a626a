//! Multi-scalar multiplication over fixed bases with precomputed window tables.
//!
//! The proving key's bases never change, so for each base `P_i` we store `2^{c·j}·P_i` for every
//! window `j`. A scalar's signed `c`-bit digits `d_ij` then all land in *one* set of buckets
//! (`bucket[|d_ij|] ± 2^{c·j}·P_i`): one bucket reduction per MSM instead of one per window, and
//! no doublings between windows. Worker threads take interleaved windows, each with its own
//! buckets. This trades memory (`windows × n` affine points) for about a third of the
//! additions of a plain Pippenger MSM at the prover's sizes. Each bucket's points are summed in
//! affine coordinates with batched inversions (about 6 field multiplications per addition instead
//! of 10 for mixed extended-Jacobian additions).

use ark_ec::short_weierstrass::{Affine, Projective, SWCurveConfig};
use ark_ec::{AffineRepr, CurveGroup, VariableBaseMSM};
use ark_ff::{AdditiveGroup, BigInteger256, Field, PrimeField, Zero};
use rayon::prelude::*;

/// Bits in a scalar (BN254's scalar field is 254 bits).
const SCALAR_BITS: usize = 254;

/// A fixed-base MSM table.
#[derive(Clone)]
pub(crate) struct FixedBaseMsm<P: SWCurveConfig> {
    /// Window width in bits.
    c: usize,
    /// Windows per scalar (with room for the signed-digit carry).
    windows: usize,
    /// Number of bases.
    n: usize,
    /// `table[i * windows + j] = 2^{c·j} · base_i`.
    table: Vec<Affine<P>>,
}

impl<P: SWCurveConfig> std::fmt::Debug for FixedBaseMsm<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FixedBaseMsm")
            .field("bases", &self.n)
            .field("window_bits", &self.c)
            .field("windows", &self.windows)
            .finish()
    }
}

impl<P: SWCurveConfig> FixedBaseMsm<P>
where
    P::ScalarField: PrimeField<BigInt = BigInteger256>,
    Projective<P>: VariableBaseMSM<MulBase = Affine<P>>,
{
    /// Precomputes the table for `bases` with windows of `c` bits (`2 ≤ c ≤ 15`). No base may be
    /// the identity (callers drop those with their scalars).
    pub(crate) fn new(bases: &[Affine<P>], c: usize) -> Self {
        assert!(
            (2..=15).contains(&c),
            "invariant: window width fits an i16 digit"
        );
        // c·(windows − 1) ≥ 254 − (c − 2) keeps the top window's digit plus carry ≤ 2^{c−1}.
        assert!(
            bases.iter().all(|b| !b.is_zero()),
            "invariant: identity bases are filtered out by the caller"
        );
        let windows = SCALAR_BITS / c + 1;
        let table: Vec<Affine<P>> = bases
            .par_chunks(256)
            .flat_map_iter(|chunk| {
                let mut proj = Vec::with_capacity(chunk.len() * windows);
                for b in chunk {
                    let mut p: Projective<P> = b.into_group();
                    for _ in 0..windows {
                        proj.push(p);
                        for _ in 0..c {
                            p.double_in_place();
                        }
                    }
                }
                Projective::<P>::normalize_batch(&proj)
            })
            .collect();
        Self {
            c,
            windows,
            n: bases.len(),
            table,
        }
    }

    /// Number of bases.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.n
    }

    /// Signed digits of `s` in base `2^c`, least significant first, each in
    /// `(−2^{c−1}, 2^{c−1}]`.
    fn digits(&self, s: &BigInteger256, out: &mut [i16]) {
        let c = self.c;
        let mask = (1u64 << c) - 1;
        let half = 1i64 << (c - 1);
        let limbs = s.0;
        let mut carry = 0i64;
        for (j, d) in out.iter_mut().enumerate() {
            let bit = j * c;
            let raw = if bit >= 256 {
                0
            } else {
                let (limb, off) = (bit / 64, bit % 64);
                let mut v = limbs[limb] >> off;
                if off + c > 64 && limb + 1 < 4 {
                    v |= limbs[limb + 1] << (64 - off);
                }
                (v & mask) as i64
            };
            let mut v = raw + carry;
            if v > half {
                v -= 1 << c;
                carry = 1;
            } else {
                carry = 0;
            }
            *d = v as i16;
        }
        debug_assert_eq!(carry, 0, "the top window absorbs the carry");
    }

    /// `Σ scalars[i] · bases[i]` (scalars beyond the bases are ignored).
    pub(crate) fn msm(&self, scalars: &[BigInteger256]) -> Projective<P> {
        let n = self.n.min(scalars.len());
        let w = self.windows;
        let mut digits = vec![0i16; n * w];
        digits
            .par_chunks_mut(w)
            .zip(scalars[..n].par_iter())
            .for_each(|(d, s)| self.digits(s, d));
        let threads = rayon::current_num_threads().clamp(1, w);
        let buckets_len = 1usize << (self.c - 1);
        (0..threads)
            .into_par_iter()
            .map(|t| {
                // Gather this thread's (bucket, ±point) pairs, grouped by bucket (counting sort).
                let mut counts = vec![0u32; buckets_len + 1];
                for i in 0..n {
                    let row = &digits[i * w..(i + 1) * w];
                    let mut j = t;
                    while j < w {
                        let d = row[j];
                        if d != 0 {
                            counts[d.unsigned_abs() as usize] += 1;
                        }
                        j += threads;
                    }
                }
                let mut offsets = vec![0u32; buckets_len + 1];
                for b in 0..buckets_len {
                    offsets[b + 1] = offsets[b] + counts[b + 1];
                }
                let mut next = offsets.clone();
                let mut pts = vec![Affine::<P>::identity(); offsets[buckets_len] as usize];
                for i in 0..n {
                    let row = &digits[i * w..(i + 1) * w];
                    let points = &self.table[i * w..(i + 1) * w];
                    let mut j = t;
                    while j < w {
                        let d = row[j];
                        if d != 0 {
                            let b = d.unsigned_abs() as usize - 1;
                            let slot = &mut next[b];
                            pts[*slot as usize] = if d > 0 { points[j] } else { -points[j] };
                            *slot += 1;
                        }
                        j += threads;
                    }
                }
                let sums = bucket_sums_batch_affine(pts, offsets);
                let mut running = <Projective<P> as VariableBaseMSM>::ZERO_BUCKET;
                let mut sum = <Projective<P> as VariableBaseMSM>::ZERO_BUCKET;
                for b in sums.iter().rev() {
                    if !b.is_zero() {
                        running += b;
                    }
                    sum += &running;
                }
                let sum: Projective<P> = sum.into();
                sum
            })
            .sum()
    }
}

/// Sums each bucket's points in affine coordinates: rounds of pairwise additions, where all the
/// additions of a round share one field inversion (Montgomery's trick). `offsets[b]..offsets[b+1]`
/// is bucket `b`'s range in `pts`; no point is the identity. Returns one sum per bucket (the
/// identity for an empty bucket or a sum that cancels).
fn bucket_sums_batch_affine<P: SWCurveConfig>(
    mut pts: Vec<Affine<P>>,
    mut offsets: Vec<u32>,
) -> Vec<Affine<P>> {
    let buckets = offsets.len() - 1;
    let mut denoms: Vec<P::BaseField> = Vec::with_capacity(pts.len() / 2 + 1);
    loop {
        let longest = (0..buckets)
            .map(|b| offsets[b + 1] - offsets[b])
            .max()
            .unwrap_or(0);
        if longest <= 1 {
            break;
        }
        denoms.clear();
        for b in 0..buckets {
            let seg = &pts[offsets[b] as usize..offsets[b + 1] as usize];
            for pair in seg.chunks_exact(2) {
                let (p, q) = (pair[0], pair[1]);
                denoms.push(if p.x != q.x {
                    q.x - p.x
                } else if p.y == q.y && !p.y.is_zero() {
                    p.y.double()
                } else {
                    P::BaseField::zero() // p = −q: the pair cancels
                });
            }
        }
        ark_ff::batch_inversion(&mut denoms);
        let mut out = Vec::with_capacity(pts.len() / 2 + buckets);
        let mut new_offsets = Vec::with_capacity(buckets + 1);
        new_offsets.push(0u32);
        let mut k = 0;
        for b in 0..buckets {
            let seg = &pts[offsets[b] as usize..offsets[b + 1] as usize];
            let mut pairs = seg.chunks_exact(2);
            for pair in &mut pairs {
                let (p, q) = (pair[0], pair[1]);
                let inv = denoms[k];
                k += 1;
                let lambda = if p.x != q.x {
                    (q.y - p.y) * inv
                } else if p.y == q.y && !p.y.is_zero() {
                    let xx = p.x.square();
                    (xx.double() + xx + P::COEFF_A) * inv
                } else {
                    continue;
                };
                let x3 = lambda.square() - p.x - q.x;
                let y3 = lambda * (p.x - x3) - p.y;
                out.push(Affine::new_unchecked(x3, y3));
            }
            out.extend_from_slice(pairs.remainder());
            new_offsets.push(out.len() as u32);
        }
        pts = out;
        offsets = new_offsets;
    }
    (0..buckets)
        .map(|b| {
            if offsets[b + 1] > offsets[b] {
                pts[offsets[b] as usize]
            } else {
                Affine::identity()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bn254::{Fr, G1Projective, G2Projective};
    use ark_ff::UniformRand;
    use rand::SeedableRng;

    fn check<P: SWCurveConfig>(bases: Vec<Projective<P>>, c: usize)
    where
        P::ScalarField: PrimeField<BigInt = BigInteger256>,
        Projective<P>: VariableBaseMSM<MulBase = Affine<P>, ScalarField = P::ScalarField>,
    {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(5);
        let bases = Projective::<P>::normalize_batch(&bases);
        let table = FixedBaseMsm::new(&bases, c);
        let n = bases.len();
        let mut scalars: Vec<P::ScalarField> =
            (0..n).map(|_| P::ScalarField::rand(&mut rng)).collect();
        // Edge cases: 0, 1, −1, small, 2^k around window edges.
        let edge = [
            P::ScalarField::from(0u64),
            P::ScalarField::from(1u64),
            -P::ScalarField::from(1u64),
            P::ScalarField::from(255u64),
            P::ScalarField::from(1u64 << (c - 1)),
            P::ScalarField::from((1u64 << c) - 1),
            P::ScalarField::from(2u64).pow([253u64]),
        ];
        for (s, e) in scalars.iter_mut().zip(edge) {
            *s = e;
        }
        let big: Vec<BigInteger256> = scalars.iter().map(|s| s.into_bigint()).collect();
        let expected = Projective::<P>::msm(&bases, &scalars).expect("equal lengths");
        assert_eq!(table.msm(&big), expected, "c = {c}, n = {n}");
        assert_eq!(table.len(), n);
    }

    #[test]
    fn matches_arkworks_msm() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(9);
        for (n, c) in [
            (1usize, 5usize),
            (7, 13),
            (300, 13),
            (300, 8),
            (64, 15),
            (50, 2),
        ] {
            check((0..n).map(|_| G1Projective::rand(&mut rng)).collect(), c);
        }
        check((0..40).map(|_| G2Projective::rand(&mut rng)).collect(), 13);
        // Repeated and opposite bases: pairs in one bucket double or cancel.
        let g = G1Projective::rand(&mut rng);
        let mut repeated = vec![g; 9];
        repeated.extend([-g, -g, g + g, -(g + g)]);
        for c in [4, 13] {
            let bases = G1Projective::normalize_batch(&repeated);
            let table = FixedBaseMsm::new(&bases, c);
            for s in [1u64, 3, 7, 1 << 20] {
                let scalars = vec![Fr::from(s); bases.len()];
                let big: Vec<BigInteger256> = scalars.iter().map(|x| x.into_bigint()).collect();
                let expected = G1Projective::msm(&bases, &scalars).expect("equal lengths");
                assert_eq!(
                    table.msm(&big),
                    expected,
                    "repeated bases, c = {c}, s = {s}"
                );
            }
        }
        let _ = Fr::from(1u64);
    }

    use ark_ff::Field;
}
