//! Every domain-separation label of this crate.
//!
//! Each label names the project, the version of this crate's derivations and the purpose:
//! `fengxin/v1/<purpose>`. Changing any derivation, transcript layout or encoding that a label
//! covers means a new version. The test below checks that no label is a prefix of another one,
//! including the labels of [`fengxin_crypto::labels`], so no two uses can ever be confused.

/// Merlin transcript label of the 32-bit range proof attached to a committed list size
/// ([`crate::CommittedCount`]).
pub const LIST_SIZE_RANGE_PROOF: &[u8] = b"fengxin/v1/range-proof/list-size";

/// Merlin transcript label of the 64-bit range proof that a querier's remaining allowance is
/// non-negative after a query (the ledger builds and checks it with [`crate::prove_range`] /
/// [`crate::verify_range`]).
pub const ALLOWANCE_RANGE_PROOF: &[u8] = b"fengxin/v1/range-proof/allowance";

/// Merlin transcript label of the proof that a decrypt handle matches a commitment
/// ([`crate::HandleProof`]).
pub const HANDLE_PROOF: &[u8] = b"fengxin/v1/handle-proof";

/// Seed of the deterministic verifier randomness used to batch the Bulletproofs verification
/// equations (see [`crate::range`]).
pub const RANGE_VERIFIER_RNG: &[u8] = b"fengxin/v1/range-verifier-rng";

/// HPKE `info` string of the regulator view encryption of query-record details
/// ([`crate::seal_details`]).
pub const HPKE_VIEW_INFO: &[u8] = b"fengxin/v1/hpke/view-details";

/// Prefix of the hash (SHA-512) that derives the HPKE `ikm` of the view key from its seed
/// ([`crate::ViewSecret::from_seed`]); followed by the 32-byte seed.
pub const VIEW_KEY_HPKE: &[u8] = b"fengxin/v1/view-key/hpke-ikm";

/// Prefix of the hash (SHA-512) that derives the regulator's ElGamal scalar from the view seed;
/// followed by a one-byte counter and the 32-byte seed.
pub const VIEW_KEY_ELGAMAL: &[u8] = b"fengxin/v1/view-key/elgamal-scalar";

/// Every label of this crate, for the prefix-freeness test and for external audits.
pub const ALL: &[&[u8]] = &[
    LIST_SIZE_RANGE_PROOF,
    ALLOWANCE_RANGE_PROOF,
    HANDLE_PROOF,
    RANGE_VERIFIER_RNG,
    HPKE_VIEW_INFO,
    VIEW_KEY_HPKE,
    VIEW_KEY_ELGAMAL,
];

#[cfg(test)]
mod tests {
    use fengxin_crypto::labels as crypto;

    #[test]
    fn labels_are_versioned_distinct_and_prefix_free() {
        for label in super::ALL {
            assert!(
                label.starts_with(b"fengxin/v1/"),
                "{:?}",
                String::from_utf8_lossy(label)
            );
        }
        let mut all: Vec<&[u8]> = super::ALL.to_vec();
        all.extend_from_slice(crypto::ALL);
        for (i, a) in all.iter().enumerate() {
            for (j, b) in all.iter().enumerate() {
                if i != j {
                    assert!(
                        !a.starts_with(b),
                        "label {:?} has label {:?} as a prefix",
                        String::from_utf8_lossy(a),
                        String::from_utf8_lossy(b)
                    );
                }
            }
        }
    }
}
