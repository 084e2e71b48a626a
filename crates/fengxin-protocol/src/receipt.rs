//! Query receipts: what both parties of a screening exchange sign for the ledger.
//!
//! The querier picks a random nonce for every membership request, so every exchange has a
//! distinct receipt. The responder signs the receipt body in its answer; the querier checks that
//! signature, countersigns and submits the receipt to the ledger. The body carries only what other
//! members may learn (who asked whom, which list, how many identifiers) and digests that bind it
//! to the exact request and answers; tags and results never appear in it.

use crate::messages::{Answer, MembershipRequest};
use fengxin_crypto::{labels, IdentityKey, IdentityPublicKey};
use fengxin_types::{Epoch, ListId, MemberName};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The receipt format version.
pub const RECEIPT_VERSION: u8 = 1;

/// The public part of a query receipt.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ReceiptBody {
    /// Format version, [`RECEIPT_VERSION`].
    pub version: u8,
    /// The member that asked.
    pub querier: MemberName,
    /// The member that answered.
    pub responder: MemberName,
    /// The list asked about.
    pub list: ListId,
    /// The publication epoch answered against.
    pub epoch: Epoch,
    /// How many identifiers were screened.
    pub count: u32,
    /// SHA-256 digest of the membership request (list, epoch, root, nonce, tags).
    pub request_digest: [u8; 32],
    /// SHA-256 digest of the answers (results and proofs).
    pub answer_digest: [u8; 32],
}

/// A receipt body with the responder's signature (the querier's signature is the ledger
/// record's own).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedReceipt {
    /// The signed body.
    pub body: ReceiptBody,
    /// The responder's Ed25519 signature over [`ReceiptBody::signing_bytes`].
    pub responder_signature: Vec<u8>,
}

impl ReceiptBody {
    /// Builds the body both parties compute independently for one exchange.
    pub fn for_exchange(
        querier: MemberName,
        responder: MemberName,
        request: &MembershipRequest,
        answers: &[Answer],
    ) -> Self {
        Self {
            version: RECEIPT_VERSION,
            querier,
            responder,
            list: request.list.clone(),
            epoch: request.epoch,
            count: u32::try_from(request.tags.len()).unwrap_or(u32::MAX),
            request_digest: request_digest(request),
            answer_digest: answer_digest(answers),
        }
    }

    /// The bytes the responder signs: a label and the canonical encoding.
    pub fn signing_bytes(&self) -> Vec<u8> {
        let mut out = labels::RECEIPT_SIGNATURE.to_vec();
        out.extend_from_slice(&digest_of(labels::RECEIPT_SIGNATURE, self));
        out
    }

    /// The receipt's identifier on the ledger (replay protection keys on it).
    pub fn id(&self) -> [u8; 32] {
        digest_of(labels::RECEIPT_ID, self)
    }

    /// The responder's signature.
    pub fn sign(self, responder: &IdentityKey) -> SignedReceipt {
        let responder_signature = responder.sign(&self.signing_bytes()).to_vec();
        SignedReceipt {
            body: self,
            responder_signature,
        }
    }
}

impl SignedReceipt {
    /// Checks the responder's signature.
    pub fn verify(&self, responder: &IdentityPublicKey) -> bool {
        responder.verify(&self.body.signing_bytes(), &self.responder_signature)
    }
}

/// Digest of a membership request.
pub fn request_digest(request: &MembershipRequest) -> [u8; 32] {
    digest_of(labels::RECEIPT_REQUEST, request)
}

/// Digest of a membership response's answers.
pub fn answer_digest(answers: &[Answer]) -> [u8; 32] {
    digest_of(labels::RECEIPT_ANSWERS, &answers)
}

fn digest_of<T: Serialize + ?Sized>(label: &[u8], value: &T) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(label);
    // postcard of in-memory values only fails on unsupported types, which these are not; an
    // empty encoding would still be bound to the label and cannot collide with a real one.
    h.update(postcard::to_allocvec(value).unwrap_or_default());
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use fengxin_types::Tag;
    use rand_chacha::rand_core::SeedableRng;

    fn request(nonce: u8) -> MembershipRequest {
        MembershipRequest {
            list: ListId::parse("fraud_txn").expect("list"),
            epoch: Epoch::FIRST,
            root: [1; 32],
            nonce: [nonce; 16],
            tags: vec![Tag::from_bytes([2; 31]).expect("tag")],
        }
    }

    #[test]
    fn signature_binds_every_field_and_nonces_separate_exchanges() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
        let key = IdentityKey::generate(&mut rng);
        let answers = vec![Answer {
            result: true,
            proof: vec![9; 129],
        }];
        let a = MemberName::parse("bank-a").expect("name");
        let b = MemberName::parse("bank-b").expect("name");
        let body = ReceiptBody::for_exchange(a.clone(), b.clone(), &request(1), &answers);
        let signed = body.clone().sign(&key);
        assert!(signed.verify(&key.public()));
        assert_eq!(signed.body.count, 1);

        let other = ReceiptBody::for_exchange(a.clone(), b.clone(), &request(2), &answers);
        assert_ne!(other.id(), body.id(), "a new nonce makes a new receipt");

        let mut flipped = answers.clone();
        flipped[0].result = false;
        let tampered = [
            ReceiptBody::for_exchange(a.clone(), b.clone(), &request(1), &flipped),
            ReceiptBody::for_exchange(b.clone(), a.clone(), &request(1), &answers),
            ReceiptBody {
                count: 2,
                ..body.clone()
            },
            ReceiptBody {
                epoch: Epoch::FIRST.next().expect("epoch"),
                ..body.clone()
            },
        ];
        for t in tampered {
            let forged = SignedReceipt {
                body: t,
                responder_signature: signed.responder_signature.clone(),
            };
            assert!(!forged.verify(&key.public()));
        }
        let stranger = IdentityKey::generate(&mut rng);
        assert!(!signed.verify(&stranger.public()));
    }
}
