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

/// Key of an entry's label, derived from the entry's OPRF output (independent of its tag).
pub const LABEL_KEY: &[u8] = b"fengxin/entry-label-key/v1";

/// Associated data of an entry's sealed label; followed by the entry's tag.
pub const LABEL_AEAD: &[u8] = b"fengxin/entry-label/v1";

/// A (list, epoch) padding secret derived from the master seed; followed by the
/// length-prefixed list id and the big-endian epoch.
pub const PADDING_SECRET: &[u8] = b"fengxin/padding-secret/v1";

/// The next generation of the master seed, from the current one (a one-way ratchet).
pub const SEED_RATCHET: &[u8] = b"fengxin/seed-ratchet/v1";

/// Ed25519 signature over a list publication (chain, member, list, epoch, root, OPRF public
/// key, time).
pub const PUBLICATION_SIGNATURE: &[u8] = b"fengxin/publication/v2";

/// Ed25519 signature of a querier over its query request (before anything is evaluated).
pub const QUERY_REQUEST_SIGNATURE: &[u8] = b"fengxin/query-request/v2";

/// Identifier of a query request, and of the receipt that countersigns it.
pub const QUERY_REQUEST_ID: &[u8] = b"fengxin/query-request-id/v2";

/// Digest of a batch of blinded elements, bound into the query request.
pub const BLINDED_BATCH: &[u8] = b"fengxin/blinded-batch/v2";

/// Digest of a responder's evaluation (evaluated elements and DLEQ proof), bound into its
/// receipt.
pub const EVALUATION_DIGEST: &[u8] = b"fengxin/evaluation/v2";

/// Ed25519 signature of a responder countersigning a query request with its answer's digest.
pub const RECEIPT_SIGNATURE: &[u8] = b"fengxin/receipt/v2";

/// Ed25519 signature of a ledger record by its author.
pub const LEDGER_RECORD_SIGNATURE: &[u8] = b"fengxin/ledger-record/v2";

/// Identifier (digest) of a ledger record.
pub const LEDGER_RECORD_ID: &[u8] = b"fengxin/ledger-record-id/v2";

/// Ed25519 signature of the proposing validator over a block proposal.
pub const LEDGER_PROPOSAL_SIGNATURE: &[u8] = b"fengxin/ledger-proposal/v2";

/// Hash of a ledger block.
pub const LEDGER_BLOCK_HASH: &[u8] = b"fengxin/ledger-block/v2";

/// Context of a list-size commitment's proofs (chain, member, list, epoch, root).
pub const LIST_SIZE_CONTEXT: &[u8] = b"fengxin/list-size/v2";

/// Context of an allowance claim's range proof (chain, querier, epoch, usage, count).
pub const ALLOWANCE_CONTEXT: &[u8] = b"fengxin/allowance-claim/v2";

/// Hash of the consortium genesis (the chain identifier).
pub const LEDGER_GENESIS: &[u8] = b"fengxin/ledger-genesis/v1";

/// Ed25519 signature of a member over a chunk of its snapshot that it served.
pub const SNAPSHOT_CHUNK_SIGNATURE: &[u8] = b"fengxin/snapshot-chunk-served/v1";

/// SHA-256 of a snapshot chunk's index and bytes.
pub const SNAPSHOT_CHUNK: &[u8] = b"fengxin/snapshot-chunk/v2";

/// SHA-256 of a snapshot chunk's info (the manifest tree's leaf).
pub const SNAPSHOT_CHUNK_INFO: &[u8] = b"fengxin/snapshot-chunk-info/v2";

/// SHA-256 of two nodes of a snapshot's manifest tree.
pub const SNAPSHOT_NODE: &[u8] = b"fengxin/snapshot-node/v2";

/// SHA-256 of a snapshot's counts and manifest tree top: the chunk root.
pub const SNAPSHOT_ROOT: &[u8] = b"fengxin/snapshot-root/v2";

/// SHA-512 PRF of the padding secret giving a dummy tag.
pub const SNAPSHOT_DUMMY_TAG: &[u8] = b"fengxin/snapshot-dummy-tag/v1";

/// SHA-512 PRF of the padding secret giving a dummy's label.
pub const SNAPSHOT_DUMMY_LABEL: &[u8] = b"fengxin/snapshot-dummy-label/v1";

/// Every label above, for checks that no two share a prefix.
pub const ALL: &[&[u8]] = &[
    OPRF_KEY_INFO,
    OPRF_INPUT,
    TAG_FROM_OUTPUT,
    LABEL_KEY,
    LABEL_AEAD,
    PADDING_SECRET,
    SEED_RATCHET,
    PUBLICATION_SIGNATURE,
    SNAPSHOT_CHUNK_SIGNATURE,
    SNAPSHOT_CHUNK,
    SNAPSHOT_CHUNK_INFO,
    SNAPSHOT_NODE,
    SNAPSHOT_ROOT,
    SNAPSHOT_DUMMY_TAG,
    SNAPSHOT_DUMMY_LABEL,
    QUERY_REQUEST_SIGNATURE,
    QUERY_REQUEST_ID,
    BLINDED_BATCH,
    EVALUATION_DIGEST,
    RECEIPT_SIGNATURE,
    LEDGER_RECORD_SIGNATURE,
    LEDGER_RECORD_ID,
    LEDGER_PROPOSAL_SIGNATURE,
    LEDGER_BLOCK_HASH,
    LEDGER_GENESIS,
    LIST_SIZE_CONTEXT,
    ALLOWANCE_CONTEXT,
];

#[cfg(test)]
mod tests {
    #[test]
    fn labels_are_distinct_and_prefix_free() {
        let all = super::ALL;
        for (i, a) in all.iter().enumerate() {
            for (j, b) in all.iter().enumerate() {
                if i != j {
                    assert!(!a.starts_with(b), "label {i} has label {j} as a prefix");
                }
            }
        }
    }
}
