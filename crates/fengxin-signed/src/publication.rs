//! Signed list publications: what a member commits to for (list, epoch).
//!
//! A member signs its publication with its identity key, for one chain, and submits it to the
//! ledger, which keeps at most one per (member, list, epoch) and only in increasing epochs.

use crate::canon::Canon;
use fengxin_crypto::oprf::OprfPublicKey;
use fengxin_crypto::{labels, IdentityKey, IdentityPublicKey};
use fengxin_tree::Root;
use fengxin_types::{Epoch, ListId, MemberName};
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
}

impl Publication {
    /// The current encoding version.
    pub const VERSION: u8 = 2;

    /// The bytes the author signs: label, version, chain, length-prefixed member and list,
    /// epoch, root, OPRF key and time.
    pub fn signing_bytes(&self) -> Vec<u8> {
        Canon::new(labels::PUBLICATION_SIGNATURE)
            .u8(self.version)
            .fixed(&self.chain)
            .name(self.member.as_str())
            .name(self.list.as_str())
            .u64(self.epoch.get())
            .fixed(&self.root)
            .fixed(&self.oprf_public_key)
            .u64(self.published_at)
            .finish()
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
        Ok(p)
    }
}
