//! Query requests and receipts (records v2, docs/records-v2.md).
//!
//! Before anything is evaluated, the querier signs its [`QueryRequest`]: the chain, both
//! parties, the list and epoch, the mode, a fresh nonce, how many identifiers, the digest of
//! the blinded batch and its allowance claim. The responder checks it, evaluates, and
//! countersigns the request together with the digest of its answer: that is the [`Receipt`].
//! The responder submits the receipt to the ledger itself (it is the party paid for serving),
//! so a querier cannot withhold it; the querier may submit it too, and the ledger keeps one per
//! request id. Receipts carry only what other members may learn (who asked whom, which list,
//! how many identifiers) and digests; tags and results never appear in them.

use crate::canon::Canon;
use fengxin_crypto::{labels, IdentityKey, IdentityPublicKey};
use fengxin_types::{Epoch, ListId, MemberName};
use serde::{Deserialize, Serialize};

/// The query request and receipt format version.
pub const RECEIPT_VERSION: u8 = 2;

/// Most identifiers one proof-mode request may carry (each answer is a Groth16 proof).
pub const MAX_PROOF_BATCH: usize = 1024;

/// Most identifiers one snapshot-mode request may carry (RFC 9497 batch evaluation, one DLEQ
/// proof per batch).
pub const MAX_SNAPSHOT_BATCH: usize = 65_535;

/// How the querier learns hit or miss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Mode {
    /// The responder proves each answer against the published root (Groth16).
    Proof,
    /// The querier looks the evaluated tags up in the responder's verified snapshot.
    Snapshot,
}

impl Mode {
    /// The byte that stands for the mode in signed encodings.
    pub fn byte(self) -> u8 {
        match self {
            Self::Proof => 1,
            Self::Snapshot => 2,
        }
    }

    /// Most identifiers in one request of this mode.
    pub fn max_count(self) -> usize {
        match self {
            Self::Proof => MAX_PROOF_BATCH,
            Self::Snapshot => MAX_SNAPSHOT_BATCH,
        }
    }

    /// The mode's name in reports and JSON.
    pub fn code(self) -> &'static str {
        match self {
            Self::Proof => "proof",
            Self::Snapshot => "snapshot",
        }
    }
}

/// What a querier asks for and commits to, before anything is evaluated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryRequest {
    /// Format version, [`RECEIPT_VERSION`].
    pub version: u8,
    /// The chain (genesis hash) the request is for.
    pub chain: [u8; 32],
    /// The member that asks.
    pub querier: MemberName,
    /// The member asked.
    pub responder: MemberName,
    /// The list.
    pub list: ListId,
    /// The publication epoch asked against.
    pub epoch: Epoch,
    /// Proof or snapshot mode.
    pub mode: Mode,
    /// Querier-chosen random nonce: every request is distinct.
    pub nonce: [u8; 16],
    /// How many identifiers (blinded elements).
    pub count: u32,
    /// Digest of the blinded elements ([`blinded_digest`]).
    pub blinded_digest: [u8; 32],
    /// The querier's allowance claim for `count` identifiers, encoded by the ledger (empty when
    /// the consortium keeps no allowances).
    pub allowance: Vec<u8>,
}

/// A query request with the querier's signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedQueryRequest {
    /// The request.
    pub request: QueryRequest,
    /// The querier's Ed25519 signature over [`QueryRequest::signing_bytes`].
    pub querier_signature: Vec<u8>,
}

/// A responder's countersignature of a signed request with the digest of its answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// The querier's signed request.
    pub request: SignedQueryRequest,
    /// Digest of what the responder answered ([`evaluation_digest`]).
    pub answer_digest: [u8; 32],
    /// The responder's Ed25519 signature over [`Receipt::signing_bytes`].
    pub responder_signature: Vec<u8>,
}

/// Why a signed request or receipt does not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReceiptError {
    /// A format version this code does not read.
    #[error("unsupported request version {0}")]
    Version(u8),
    /// The querier's signature does not verify.
    #[error("the querier's signature on the request does not verify")]
    QuerierSignature,
    /// The responder's countersignature does not verify.
    #[error("the responder's countersignature does not verify")]
    ResponderSignature,
}

impl QueryRequest {
    /// The bytes the querier signs.
    pub fn signing_bytes(&self) -> Vec<u8> {
        Canon::new(labels::QUERY_REQUEST_SIGNATURE)
            .u8(self.version)
            .fixed(&self.chain)
            .name(self.querier.as_str())
            .name(self.responder.as_str())
            .name(self.list.as_str())
            .u64(self.epoch.get())
            .u8(self.mode.byte())
            .fixed(&self.nonce)
            .u32(self.count)
            .fixed(&self.blinded_digest)
            .blob(&self.allowance)
            .finish()
    }

    /// The request's identifier: SHA-256 of a label and the signed bytes. The receipt that
    /// countersigns the request has the same identifier, whoever submits it.
    pub fn id(&self) -> [u8; 32] {
        Canon::new(labels::QUERY_REQUEST_ID)
            .fixed(&self.signing_bytes())
            .digest()
    }

    /// Signs the request as its querier.
    pub fn sign(self, querier: &IdentityKey) -> SignedQueryRequest {
        let querier_signature = querier.sign(&self.signing_bytes()).to_vec();
        SignedQueryRequest {
            request: self,
            querier_signature,
        }
    }
}

impl SignedQueryRequest {
    /// Checks the version and the querier's signature.
    pub fn verify(&self, querier: &IdentityPublicKey) -> Result<(), ReceiptError> {
        if self.request.version != RECEIPT_VERSION {
            return Err(ReceiptError::Version(self.request.version));
        }
        if !querier.verify(&self.request.signing_bytes(), &self.querier_signature) {
            return Err(ReceiptError::QuerierSignature);
        }
        Ok(())
    }

    /// The request's identifier.
    pub fn id(&self) -> [u8; 32] {
        self.request.id()
    }
}

impl Receipt {
    /// The bytes the responder signs: a label, the request id and the answer digest.
    pub fn signing_bytes(request_id: &[u8; 32], answer_digest: &[u8; 32]) -> Vec<u8> {
        Canon::new(labels::RECEIPT_SIGNATURE)
            .fixed(request_id)
            .fixed(answer_digest)
            .finish()
    }

    /// Countersigns `request` as its responder.
    pub fn countersign(
        request: SignedQueryRequest,
        answer_digest: [u8; 32],
        responder: &IdentityKey,
    ) -> Self {
        let responder_signature = responder
            .sign(&Self::signing_bytes(&request.id(), &answer_digest))
            .to_vec();
        Self {
            request,
            answer_digest,
            responder_signature,
        }
    }

    /// The receipt's identifier on the ledger: its request's.
    pub fn id(&self) -> [u8; 32] {
        self.request.id()
    }

    /// Checks the responder's countersignature alone.
    pub fn verify_responder(&self, responder: &IdentityPublicKey) -> Result<(), ReceiptError> {
        if responder.verify(
            &Self::signing_bytes(&self.id(), &self.answer_digest),
            &self.responder_signature,
        ) {
            Ok(())
        } else {
            Err(ReceiptError::ResponderSignature)
        }
    }

    /// Checks both signatures: the querier's over the request, the responder's over the
    /// request id and answer digest.
    pub fn verify(
        &self,
        querier: &IdentityPublicKey,
        responder: &IdentityPublicKey,
    ) -> Result<(), ReceiptError> {
        self.request.verify(querier)?;
        self.verify_responder(responder)
    }
}

/// Digest of a batch of blinded elements: a label, the count (4 bytes) and the elements.
pub fn blinded_digest(blinded: &[[u8; 32]]) -> [u8; 32] {
    blinded
        .iter()
        .fold(
            Canon::new(labels::BLINDED_BATCH).u32(u32::try_from(blinded.len()).unwrap_or(u32::MAX)),
            |c, b| c.fixed(b),
        )
        .digest()
}

/// Digest of an evaluation: a label, the count (4 bytes), the evaluated elements and the
/// DLEQ proof (a 4-byte length and its bytes).
pub fn evaluation_digest(evaluated: &[[u8; 32]], proof: &[u8]) -> [u8; 32] {
    evaluated
        .iter()
        .fold(
            Canon::new(labels::EVALUATION_DIGEST)
                .u32(u32::try_from(evaluated.len()).unwrap_or(u32::MAX)),
            |c, e| c.fixed(e),
        )
        .blob(proof)
        .digest()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;

    fn request(nonce: u8) -> QueryRequest {
        QueryRequest {
            version: RECEIPT_VERSION,
            chain: [7; 32],
            querier: MemberName::parse("bank-a").expect("name"),
            responder: MemberName::parse("bank-b").expect("name"),
            list: ListId::parse("fraud_txn").expect("list"),
            epoch: Epoch::FIRST,
            mode: Mode::Proof,
            nonce: [nonce; 16],
            count: 1,
            blinded_digest: blinded_digest(&[[2; 32]]),
            allowance: vec![1, 2, 3],
        }
    }

    #[test]
    fn both_signatures_bind_every_field() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
        let querier = IdentityKey::generate(&mut rng);
        let responder = IdentityKey::generate(&mut rng);
        let signed = request(1).sign(&querier);
        let receipt = Receipt::countersign(signed.clone(), [9; 32], &responder);
        assert_eq!(
            receipt.verify(&querier.public(), &responder.public()),
            Ok(())
        );
        assert_ne!(
            request(2).id(),
            request(1).id(),
            "a new nonce makes a new id"
        );

        let b = MemberName::parse("bank-c").expect("name");
        let tampered: Vec<QueryRequest> = vec![
            QueryRequest {
                chain: [8; 32],
                ..request(1)
            },
            QueryRequest {
                querier: b.clone(),
                ..request(1)
            },
            QueryRequest {
                responder: b,
                ..request(1)
            },
            QueryRequest {
                list: ListId::parse("mule").expect("list"),
                ..request(1)
            },
            QueryRequest {
                epoch: Epoch::FIRST.next().expect("epoch"),
                ..request(1)
            },
            QueryRequest {
                mode: Mode::Snapshot,
                ..request(1)
            },
            QueryRequest {
                count: 2,
                ..request(1)
            },
            QueryRequest {
                blinded_digest: [0; 32],
                ..request(1)
            },
            QueryRequest {
                allowance: vec![1, 2],
                ..request(1)
            },
        ];
        for t in tampered {
            assert_ne!(t.id(), signed.id());
            let forged = SignedQueryRequest {
                request: t,
                querier_signature: signed.querier_signature.clone(),
            };
            assert_eq!(
                forged.verify(&querier.public()),
                Err(ReceiptError::QuerierSignature)
            );
            // The countersignature covers the request id, so it does not carry over either.
            let moved = Receipt {
                request: forged,
                ..receipt.clone()
            };
            assert_eq!(
                moved.verify_responder(&responder.public()),
                Err(ReceiptError::ResponderSignature)
            );
        }
        let other_answer = Receipt {
            answer_digest: [8; 32],
            ..receipt.clone()
        };
        assert_eq!(
            other_answer.verify(&querier.public(), &responder.public()),
            Err(ReceiptError::ResponderSignature)
        );
        assert_eq!(
            receipt.verify(&responder.public(), &responder.public()),
            Err(ReceiptError::QuerierSignature)
        );
        assert_eq!(
            receipt.verify(&querier.public(), &querier.public()),
            Err(ReceiptError::ResponderSignature)
        );
        let old = SignedQueryRequest {
            request: QueryRequest {
                version: 1,
                ..request(1)
            },
            querier_signature: signed.querier_signature.clone(),
        };
        assert_eq!(old.verify(&querier.public()), Err(ReceiptError::Version(1)));
    }

    #[test]
    fn digests_bind_order_and_count() {
        let a = [[1; 32], [2; 32]];
        let b = [[2; 32], [1; 32]];
        assert_ne!(blinded_digest(&a), blinded_digest(&b));
        assert_ne!(blinded_digest(&a), blinded_digest(&a[..1]));
        assert_ne!(
            evaluation_digest(&a, &[0; 64]),
            evaluation_digest(&a, &[1; 64])
        );
        assert_ne!(evaluation_digest(&a, &[0; 64]), blinded_digest(&a));
    }
}
