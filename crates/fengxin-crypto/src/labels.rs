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

#[cfg(test)]
mod tests {
    #[test]
    fn labels_are_distinct_and_prefix_free() {
        let all = [
            super::OPRF_KEY_INFO,
            super::OPRF_INPUT,
            super::TAG_FROM_OUTPUT,
            super::PUBLICATION_SIGNATURE,
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
