//! Signed list publications: what a member commits to for (list, epoch).
//!
//! A member signs its publication with its identity key, for one chain, and submits it to the
//! ledger, which keeps at most one per (member, list, epoch) and only in increasing epochs.

use crate::canon::Canon;
use fengxin_crypto::oprf::OprfPublicKey;
use fengxin_crypto::{labels, IdentityKey, IdentityPublicKey};
use fengxin_snapshot::SnapshotHeader;
use fengxin_tree::Root;
use fengxin_types::{Epoch, ListId, ListPolicy, MemberName};
use serde::{Deserialize, Serialize};

/// A (member, list, epoch) commitment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Publication {
    /// Encoding version.
    pub version: u8,
    /// The chain (genesis hash) the publication is for.
    pub chain: [u8; 32],
    /// The publishing member.
    pub member: MemberName,
    /// The list.
    pub list: ListId,
    /// The epoch.
    pub epoch: Epoch,
    /// The tree root (32 bytes, big-endian field element).
    pub root: [u8; 32],
    /// The (list, epoch) OPRF public key.
    pub oprf_public_key: [u8; 32],
    /// Seconds since the Unix epoch at publication.
    pub published_at: u64,
    /// Whether queriers may hold the list's snapshot.
    pub policy: ListPolicy,
    /// The snapshot's entry count (its size class), chunk count and chunk root: present
    /// exactly when the policy is `shared`.
    pub snapshot: Option<SnapshotHeader>,
}

/// A publication with its author's signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedPublication {
    /// The publication.
    pub publication: Publication,
    /// Ed25519 signature (64 bytes) over [`Publication::signing_bytes`].
    pub signature: Vec<u8>,
}

/// Why a publication is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PublicationError {
    /// Unknown encoding version.
    #[error("unknown publication version {0}")]
    Version(u8),
    /// The signature does not verify under the member's registered key.
    #[error("publication signature does not verify for member {0}")]
    Signature(MemberName),
    /// The root is not a field element.
    #[error("publication root is not a valid field element")]
    Root,
    /// The OPRF public key is not a valid group element.
    #[error("publication OPRF public key is invalid")]
    OprfKey,
    /// A shared list without a well-formed snapshot header, or a proof-only list with one.
    #[error("publication snapshot: {0}")]
    Snapshot(&'static str),
}

impl Publication {
    /// The current encoding version.
    pub const VERSION: u8 = 2;

    /// The bytes the author signs: label, version, chain, length-prefixed member and list,
    /// epoch, root, OPRF key, time, policy byte, and the snapshot header (a presence byte,
    /// then entries, chunks and chunk root).
    pub fn signing_bytes(&self) -> Vec<u8> {
        let canon = Canon::new(labels::PUBLICATION_SIGNATURE)
            .u8(self.version)
            .fixed(&self.chain)
            .name(self.member.as_str())
            .name(self.list.as_str())
            .u64(self.epoch.get())
            .fixed(&self.root)
            .fixed(&self.oprf_public_key)
            .u64(self.published_at)
            .u8(self.policy.byte());
        match &self.snapshot {
            None => canon.u8(0),
            Some(h) => canon.u8(1).u64(h.entries).u32(h.chunks).fixed(&h.root),
        }
        .finish()
    }

    /// The snapshot header, checked against the policy: present and well formed for a shared
    /// list, absent for a proof-only one.
    pub fn checked_snapshot(&self) -> Result<Option<&SnapshotHeader>, PublicationError> {
        match (self.policy, &self.snapshot) {
            (ListPolicy::Shared, Some(h)) if h.is_well_formed() => Ok(Some(h)),
            (ListPolicy::Shared, Some(_)) => Err(PublicationError::Snapshot(
                "the entry count is not a size class, the chunk count does not match it, or it is \
                 over the shared limit (fengxin_snapshot::MAX_SHARED_CHUNKS)",
            )),
            (ListPolicy::Shared, None) => Err(PublicationError::Snapshot(
                "a shared list's publication carries no snapshot header",
            )),
            (ListPolicy::ProofOnly, None) => Ok(None),
            (ListPolicy::ProofOnly, Some(_)) => Err(PublicationError::Snapshot(
                "a proof-only list's publication carries a snapshot header",
            )),
        }
    }

    /// Signs the publication with the member's identity key.
    pub fn sign(self, key: &IdentityKey) -> SignedPublication {
        let signature = key.sign(&self.signing_bytes()).to_vec();
        SignedPublication {
            publication: self,
            signature,
        }
    }

    /// The root, checked.
    pub fn root(&self) -> Result<Root, PublicationError> {
        Root::from_bytes(&self.root).map_err(|_| PublicationError::Root)
    }

    /// The OPRF public key, checked.
    pub fn oprf_key(&self) -> Result<OprfPublicKey, PublicationError> {
        OprfPublicKey::from_slice(&self.oprf_public_key).map_err(|_| PublicationError::OprfKey)
    }
}

impl SignedPublication {
    /// Checks version, signature (under `author`, the registry's key for the named member),
    /// root and key encodings.
    pub fn verify(&self, author: &IdentityPublicKey) -> Result<&Publication, PublicationError> {
        let p = &self.publication;
        if p.version != Publication::VERSION {
            return Err(PublicationError::Version(p.version));
        }
        if !author.verify(&p.signing_bytes(), &self.signature) {
            return Err(PublicationError::Signature(p.member.clone()));
        }
        p.root()?;
        p.oprf_key()?;
        p.checked_snapshot()?;
        Ok(p)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn shared(key: &IdentityKey) -> (Publication, IdentityPublicKey) {
        let entries = fengxin_snapshot::size_class(3000).expect("class");
        let p = Publication {
            version: Publication::VERSION,
            chain: [1; 32],
            member: MemberName::parse("bank-b").expect("name"),
            list: ListId::parse("fraud_txn").expect("list"),
            epoch: Epoch::FIRST,
            root: [0; 32],
            oprf_public_key: fengxin_crypto::ListKey::derive(
                &fengxin_crypto::MasterSeed::from_slice(&[4; 32]).expect("seed"),
                &ListId::parse("fraud_txn").expect("list"),
                Epoch::FIRST,
            )
            .expect("key")
            .public_key()
            .to_bytes(),
            published_at: 9,
            policy: ListPolicy::Shared,
            snapshot: Some(SnapshotHeader {
                entries,
                chunks: fengxin_snapshot::chunk_count(entries) as u32,
                root: [7; 32],
            }),
        };
        (p, key.public())
    }

    #[test]
    fn the_signature_covers_the_policy_and_the_snapshot_header() {
        let key = IdentityKey::from_slice(&[2; 32]).expect("key");
        let (p, public) = shared(&key);
        let signed = p.clone().sign(&key);
        assert!(signed.verify(&public).is_ok());
        let mut tampered = Vec::new();
        let mut t = signed.clone();
        t.publication.policy = ListPolicy::ProofOnly;
        t.publication.snapshot = None;
        tampered.push(t);
        for change in 0..3 {
            let mut t = signed.clone();
            let h = t.publication.snapshot.as_mut().expect("header");
            match change {
                0 => h.root[0] ^= 1,
                1 => {
                    h.entries = fengxin_snapshot::size_class(h.entries + 1).expect("class");
                    h.chunks = fengxin_snapshot::chunk_count(h.entries) as u32;
                }
                _ => h.chunks += 1,
            }
            tampered.push(t);
        }
        for t in tampered {
            assert!(
                matches!(t.verify(&public), Err(PublicationError::Signature(_))),
                "{:?}",
                t.publication.snapshot
            );
        }
    }

    #[test]
    fn a_snapshot_header_must_fit_the_policy_and_be_well_formed() {
        let key = IdentityKey::from_slice(&[2; 32]).expect("key");
        let (p, public) = shared(&key);
        let bad = |p: Publication| p.sign(&key).verify(&public).err();
        let mut q = p.clone();
        q.snapshot = None;
        assert!(matches!(bad(q), Some(PublicationError::Snapshot(_))));
        let mut q = p.clone();
        q.policy = ListPolicy::ProofOnly;
        assert!(matches!(bad(q), Some(PublicationError::Snapshot(_))));
        let mut q = p.clone();
        if let Some(h) = q.snapshot.as_mut() {
            h.entries += 1;
        }
        assert!(matches!(bad(q), Some(PublicationError::Snapshot(_))));
        let mut q = p.clone();
        if let Some(h) = q.snapshot.as_mut() {
            h.chunks -= 1;
        }
        assert!(matches!(bad(q), Some(PublicationError::Snapshot(_))));
        let mut q = p;
        q.policy = ListPolicy::ProofOnly;
        q.snapshot = None;
        assert!(bad(q).is_none());
    }
}
