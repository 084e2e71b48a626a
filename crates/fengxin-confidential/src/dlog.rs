//! Baby-step/giant-step discrete logarithm for `v < 2^32`, used by the regulator to turn
//! `v·B` back into `v` (see [`crate::elgamal`]).
//!
//! # Algorithm
//!
//! Write `v = i·N + j` with `N = 2^23` baby steps and `0 ≤ i < 2^9` giant steps. The table
//! holds a fingerprint of `enc(2·(j + K)·B)` for every `j < N`, where `enc` is the
//! Ristretto encoding and `K = 2^33` is an offset explained below. To solve `T = v·B`, walk
//! `Q_i = T + K·B - i·N·B`: when `i = ⌊v/N⌋`, `Q_i = (j + K)·B` is in the table.
//!
//! - Encodings of *doubled* points are used because `RistrettoPoint::double_and_compress_batch`
//!   encodes a whole batch with one field inversion, which is what makes a step cost well under
//!   a microsecond. Doubling is a bijection in a group of odd prime order.
//! - The offset `K` keeps every point that is ever batch-encoded away from the identity
//!   (`j + K` and `v - i·N + K` lie in `(2^32, 2^34)` for every `v < 2^32`), whose doubled
//!   encoding the batch routine does not compute.
//! - Every fingerprint hit is confirmed by recomputing `v·B` and comparing with `T`, so a
//!   fingerprint collision can cost time but never return a wrong value.
//!
//! # Cost
//!
//! Each table entry is 8 bytes (`41-bit fingerprint ‖ 23-bit j`), grouped into `2^20` buckets by
//! the top 20 bits of the key (a counting sort, plus a 4 MiB bucket index): **68 MiB** in all.
//! It is built once per process, lazily on the first decryption or eagerly with
//! [`precompute_decryption_table`]: `2^23` point additions and batch encodings, about 9 s of CPU
//! time split over the available cores (a few seconds of wall time on a multi-core server).
//! A decryption then takes at most 512 giant steps: ≈ 0.3 ms median, under 0.6 ms worst case
//! on a current x86-64 core (see [`crate::bench`]). `N = 2^22` would halve memory and build time
//! and double the decryption time (≈ 0.7 ms median).
//!
//! Running time depends on `v`: this is a `vartime_` routine. It runs at the regulator on data it
//! is entitled to read, so the timing reveals nothing to anyone else.

use crate::pedersen::pedersen_gens;
use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use std::sync::OnceLock;

/// log2 of the number of baby steps `N`.
const BABY_BITS: u32 = 23;
/// Number of baby steps `N = 2^23`.
const BABY_STEPS: u64 = 1 << BABY_BITS;
/// Number of giant steps, `2^32 / N`.
const GIANT_STEPS: u64 = 1 << (32 - BABY_BITS);
/// log2 of the number of buckets (about 8 entries each).
const BUCKET_BITS: u32 = 20;
/// Bits of a key kept in an entry as fingerprint (the low bits; the bucket is the top bits).
const FINGERPRINT_BITS: u32 = 64 - BABY_BITS;
const FINGERPRINT_MASK: u64 = (1 << FINGERPRINT_BITS) - 1;
const J_MASK: u64 = (1 << BABY_BITS) - 1;
/// Offset that keeps every encoded point away from the identity (see module docs).
const OFFSET: u64 = 1 << 33;
/// Points encoded per batch inversion.
const BATCH: usize = 256;

/// The precomputed baby-step table: entries grouped by bucket (the top bits of their key).
struct Table {
    /// `fingerprint << BABY_BITS | j`, ordered by bucket.
    entries: Vec<u64>,
    /// Bucket `b` holds `entries[starts[b]..starts[b + 1]]`.
    starts: Vec<u32>,
    /// `N·B`, the giant step.
    giant: RistrettoPoint,
    /// `K·B`.
    offset: RistrettoPoint,
}

fn bucket(k: u64) -> usize {
    (k >> (63 - BUCKET_BITS)) as usize
}

/// The 63 uniformly distributed bits of an encoding (bit 0 of a Ristretto encoding is always 0).
fn key(enc: &CompressedRistretto) -> u64 {
    let b = enc.as_bytes();
    u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) >> 1
}

/// `k·B`, with the precomputed basepoint table (`B` is the Ristretto basepoint; a test checks
/// that it is the value base of the Pedersen generators).
fn basepoint_times(k: u64) -> RistrettoPoint {
    RistrettoPoint::mul_base(&Scalar::from(k))
}

/// Keys of `enc(2·(j + K)·B)` for `j` in `start..end`.
fn baby_keys(start: u64, end: u64) -> Vec<u64> {
    let b = pedersen_gens().B;
    let mut keys = Vec::with_capacity(usize::try_from(end - start).unwrap_or(0));
    let mut p = basepoint_times(OFFSET + start);
    let mut batch = Vec::with_capacity(BATCH);
    let mut j = start;
    while j < end {
        batch.clear();
        while batch.len() < BATCH && j < end {
            batch.push(p);
            p += b;
            j += 1;
        }
        keys.extend(
            RistrettoPoint::double_and_compress_batch(&batch)
                .iter()
                .map(key),
        );
    }
    keys
}

impl Table {
    fn build() -> Table {
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .clamp(1, 16) as u64;
        let chunk = BABY_STEPS.div_ceil(threads);
        let ranges: Vec<(u64, u64)> = (0..threads)
            .map(|t| {
                (
                    (t * chunk).min(BABY_STEPS),
                    ((t + 1) * chunk).min(BABY_STEPS),
                )
            })
            .collect();
        let chunks: Vec<(u64, Vec<u64>)> = std::thread::scope(|scope| {
            let workers: Vec<_> = ranges
                .iter()
                .map(|&(start, end)| {
                    let worker = std::thread::Builder::new()
                        .name("fengxin-dlog-table".into())
                        .spawn_scoped(scope, move || baby_keys(start, end))
                        .ok();
                    (start, end, worker)
                })
                .collect();
            workers
                .into_iter()
                .map(|(start, end, worker)| {
                    // If a thread could not be started (or, through a bug, panicked), compute
                    // its share on this thread instead of failing.
                    let keys = worker
                        .and_then(|w| w.join().ok())
                        .unwrap_or_else(|| baby_keys(start, end));
                    (start, keys)
                })
                .collect()
        });

        // Counting sort by bucket.
        let mut starts = vec![0u32; (1 << BUCKET_BITS) + 1];
        for (_, keys) in &chunks {
            for &k in keys {
                starts[bucket(k) + 1] += 1;
            }
        }
        for b in 0..(1 << BUCKET_BITS) {
            starts[b + 1] += starts[b];
        }
        let mut next: Vec<u32> = starts.clone();
        let mut entries = vec![0u64; BABY_STEPS as usize];
        for (start, keys) in chunks {
            for (j, k) in (start..).zip(keys) {
                let b = bucket(k);
                entries[next[b] as usize] = ((k & FINGERPRINT_MASK) << BABY_BITS) | j;
                next[b] += 1;
            }
        }
        Table {
            entries,
            starts,
            giant: basepoint_times(BABY_STEPS),
            offset: basepoint_times(OFFSET),
        }
    }

    /// Every `j` whose fingerprint matches `k`.
    fn candidates(&self, k: u64) -> impl Iterator<Item = u64> + '_ {
        let b = bucket(k);
        let range = match (self.starts.get(b), self.starts.get(b + 1)) {
            (Some(&lo), Some(&hi)) => lo as usize..hi as usize,
            _ => 0..0,
        };
        let fingerprint = k & FINGERPRINT_MASK;
        self.entries
            .get(range)
            .unwrap_or(&[])
            .iter()
            .filter(move |&&e| e >> BABY_BITS == fingerprint)
            .map(|&e| e & J_MASK)
    }
}

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(Table::build)
}

/// Builds the decryption table now (68 MiB, several seconds of CPU) instead of on the first
/// decryption. A regulator node calls this at start-up; calling it again is free.
pub fn precompute_decryption_table() {
    let _ = table();
}

/// Finds `v < 2^32` with `target = v·B`, in time depending on `v` (see the module docs).
pub(crate) fn vartime_dlog_u32(target: &RistrettoPoint) -> Option<u64> {
    let table = table();
    let mut q = target + table.offset;
    let mut batch = Vec::with_capacity(BATCH);
    let mut i = 0u64;
    while i < GIANT_STEPS {
        let first = i;
        batch.clear();
        while batch.len() < BATCH && i < GIANT_STEPS {
            batch.push(q);
            q -= table.giant;
            i += 1;
        }
        let encodings = RistrettoPoint::double_and_compress_batch(&batch);
        for (step, enc) in (first..).zip(encodings.iter()) {
            for j in table.candidates(key(enc)) {
                let v = step * BABY_STEPS + j;
                if basepoint_times(v) == *target {
                    return Some(v);
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_base_is_the_ristretto_basepoint() {
        assert_eq!(
            pedersen_gens().B,
            curve25519_dalek::constants::RISTRETTO_BASEPOINT_POINT
        );
        assert_eq!(basepoint_times(5), pedersen_gens().B * Scalar::from(5u64));
    }

    #[test]
    fn recovers_edge_values() {
        for v in [
            0,
            1,
            2,
            BABY_STEPS - 1,
            BABY_STEPS,
            BABY_STEPS + 1,
            3 * BABY_STEPS + 12_345,
            (1 << 32) - BABY_STEPS,
            (1 << 32) - 2,
            (1 << 32) - 1,
        ] {
            assert_eq!(vartime_dlog_u32(&basepoint_times(v)), Some(v), "v = {v}");
        }
    }

    #[test]
    fn values_outside_the_range_are_not_found() {
        for v in [1u64 << 32, (1 << 32) + 5, u64::MAX] {
            assert_eq!(vartime_dlog_u32(&basepoint_times(v)), None, "v = {v}");
        }
        // -1 = ℓ - 1, and a point of unknown logarithm.
        assert_eq!(vartime_dlog_u32(&(-pedersen_gens().B)), None);
        assert_eq!(vartime_dlog_u32(&pedersen_gens().B_blinding), None);
    }
}
