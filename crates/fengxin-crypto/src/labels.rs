//! Every domain-separation label used in Fengxin.
//!
//! Keeping them together makes it easy to check that no two uses share a label. A label names
//! the project, the purpose and a version; changing any derivation means a new version suffix.

/// `info` for RFC 9497 `DeriveKeyPair` of a (list, epoch) OPRF key from the master seed;
/// followed by the length-prefixed list id and the big-endian epoch.
pub const OPRF_KEY_INFO: &[u8] = b"fengxin/oprf-key/v1";

/// Prefix of the OPRF input; followed by the length-prefixed list id, identifier type and
/// canonical identifier.
pub const OPRF_INPUT: &[u8] = b"fengxin/oprf-input/v1";

/// Hash-to-field of an OPRF output into a 248-bit tag.
pub const TAG_FROM_OUTPUT: &[u8] = b"fengxin/tag/v1";

/// Ed25519 signature over a list publication (member, list, epoch, root, OPRF public key).
pub const PUBLICATION_SIGNATURE: &[u8] = b"fengxin/publication/v1";

/// Ed25519 signature of a responder over a query receipt body.
pub const RECEIPT_SIGNATURE: &[u8] = b"fengxin/receipt-signature/v1";

/// Identifier of a query receipt on the ledger.
pub const RECEIPT_ID: &[u8] = b"fengxin/receipt-id/v1";

/// Digest of a membership request, bound into its receipt.
pub const RECEIPT_REQUEST: &[u8] = b"fengxin/receipt-request/v1";

/// Digest of a membership response's answers, bound into its receipt.
pub const RECEIPT_ANSWERS: &[u8] = b"fengxin/receipt-answers/v1";

/// Ed25519 signature of a ledger record by its author.
pub const LEDGER_RECORD_SIGNATURE: &[u8] = b"fengxin/ledger-record/v1";

/// Identifier (digest) of a ledger record.
pub const LEDGER_RECORD_ID: &[u8] = b"fengxin/ledger-record-id/v1";

/// Ed25519 signature of the proposing validator over a block proposal.
pub const LEDGER_PROPOSAL_SIGNATURE: &[u8] = b"fengxin/ledger-proposal/v1";

/// Hash of a ledger block.
pub const LEDGER_BLOCK_HASH: &[u8] = b"fengxin/ledger-block/v1";

/// Hash of the consortium genesis (the chain identifier).
pub const LEDGER_GENESIS: &[u8] = b"fengxin/ledger-genesis/v1";

#[cfg(test)]
mod tests {
    #[test]
    fn labels_are_distinct_and_prefix_free() {
        let all = [
            super::OPRF_KEY_INFO,
            super::OPRF_INPUT,
            super::TAG_FROM_OUTPUT,
            super::PUBLICATION_SIGNATURE,
            super::RECEIPT_SIGNATURE,
            super::RECEIPT_ID,
            super::RECEIPT_REQUEST,
            super::RECEIPT_ANSWERS,
            super::LEDGER_RECORD_SIGNATURE,
            super::LEDGER_RECORD_ID,
            super::LEDGER_PROPOSAL_SIGNATURE,
            super::LEDGER_BLOCK_HASH,
            super::LEDGER_GENESIS,
        ];
        for (i, a) in all.iter().enumerate() {
            for (j, b) in all.iter().enumerate() {
                if i != j {
                    assert!(!a.starts_with(b), "label {i} has label {j} as a prefix");
                }
            }
        }
    }
}
