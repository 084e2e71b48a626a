//! A chunk of a snapshot as its member served it, under the member's signature, so that a
//! querier who receives a chunk that is not the one the publication commits to can show
//! anyone that this member sent it.

use crate::canon::Canon;
use crate::Publication;
use fengxin_crypto::{labels, IdentityKey, IdentityPublicKey};
use serde::{Deserialize, Serialize};

/// One served chunk and the member's signature over it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServedChunk {
    /// The chunk's bytes as sent.
    pub bytes: Vec<u8>,
    /// Ed25519 signature of the serving member over [`ServedChunk::signing_bytes`].
    pub signature: Vec<u8>,
}

impl ServedChunk {
    /// The bytes the serving member signs: label, chain, member, list, epoch, chunk root (of
    /// the publication the chunk is served for), the chunk's index and the SHA-256 of its
    /// bytes.
    pub fn signing_bytes(
        publication: &Publication,
        chunk_root: &[u8; 32],
        index: u32,
        bytes: &[u8],
    ) -> Vec<u8> {
        let digest: [u8; 32] = <sha2::Sha256 as sha2::Digest>::digest(bytes).into();
        Canon::new(labels::SNAPSHOT_CHUNK_SIGNATURE)
            .fixed(&publication.chain)
            .name(publication.member.as_str())
            .name(publication.list.as_str())
            .u64(publication.epoch.get())
            .fixed(chunk_root)
            .u32(index)
            .fixed(&digest)
            .finish()
    }

    /// Chunk `index` of `publication`'s snapshot (with `chunk_root`), signed by its member.
    pub fn sign(
        key: &IdentityKey,
        publication: &Publication,
        chunk_root: &[u8; 32],
        index: u32,
        bytes: Vec<u8>,
    ) -> Self {
        let signature = key
            .sign(&Self::signing_bytes(publication, chunk_root, index, &bytes))
            .to_vec();
        Self { bytes, signature }
    }

    /// Whether `member` signed these bytes as chunk `index` of `publication`'s snapshot.
    pub fn verify(
        &self,
        member: &IdentityPublicKey,
        publication: &Publication,
        chunk_root: &[u8; 32],
        index: u32,
    ) -> bool {
        member.verify(
            &Self::signing_bytes(publication, chunk_root, index, &self.bytes),
            &self.signature,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_covers_the_publication_the_chunk_root_the_index_and_the_bytes() {
        let key = IdentityKey::from_slice(&[2; 32]).expect("key");
        let (p, public) = crate::publication::tests::shared(&key);
        let root = [7; 32];
        let served = ServedChunk::sign(&key, &p, &root, 3, vec![5; 100]);
        assert!(served.verify(&public, &p, &root, 3));
        let other_key = IdentityKey::from_slice(&[3; 32]).expect("key").public();
        assert!(!served.verify(&other_key, &p, &root, 3));
        assert!(!served.verify(&public, &p, &[8; 32], 3));
        assert!(!served.verify(&public, &p, &root, 4));
        let mut bytes = served.clone();
        bytes.bytes[99] ^= 1;
        assert!(!bytes.verify(&public, &p, &root, 3));
        let mut signature = served.clone();
        signature.signature[0] ^= 1;
        assert!(!signature.verify(&public, &p, &root, 3));
        for change in 0..4 {
            let mut q = p.clone();
            match change {
                0 => q.chain[0] ^= 1,
                1 => q.member = fengxin_types::MemberName::parse("bank-c").expect("name"),
                2 => q.list = fengxin_types::ListId::parse("credit_overdue").expect("list"),
                _ => q.epoch = q.epoch.next().expect("epoch"),
            }
            assert!(!served.verify(&public, &q, &root, 3), "change {change}");
        }
    }
}
