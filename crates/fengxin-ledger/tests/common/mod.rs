//! Builders shared by the ledger core's integration tests: parties, genesis members, signed
//! publications and countersigned receipts.

// Each test file uses the part it needs.
#![allow(dead_code)]

use fengxin_crypto::{IdentityKey, ListKey, MasterSeed};
use fengxin_ledger::{GenesisMember, QueryReceipt, Record, RecordBody};
use fengxin_protocol::{Answer, MembershipRequest, Publication, ReceiptBody, SignedReceipt};
use fengxin_types::{Epoch, ListId, MemberName, Tag};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

/// A member: its name and identity key.
pub struct Party {
    pub name: MemberName,
    pub key: IdentityKey,
}

/// The list every test publishes.
pub fn list() -> ListId {
    ListId::parse("fraud_txn").expect("list")
}

/// The parties as genesis members.
pub fn genesis_members(ps: &[Party]) -> Vec<GenesisMember> {
    ps.iter()
        .map(|p| GenesisMember {
            name: p.name.clone(),
            identity_key: p.key.public().to_bytes(),
            address: "127.0.0.1:1".into(),
        })
        .collect()
}

/// `p`'s signed publication of [`list`] at `epoch` with `root` (OPRF key seeded by the epoch).
pub fn publication(p: &Party, epoch: u64, root: [u8; 32]) -> Record {
    let seed = MasterSeed::generate(&mut ChaCha20Rng::seed_from_u64(epoch));
    let epoch = Epoch::new(epoch).expect("epoch");
    let key = ListKey::derive(&seed, &list(), epoch).expect("key");
    Record::sign(
        p.name.clone(),
        &p.key,
        RecordBody::Publication(Publication {
            version: Publication::VERSION,
            member: p.name.clone(),
            list: list(),
            epoch,
            root,
            oprf_public_key: key.public_key().to_bytes(),
            published_at: 1,
        }),
    )
}

/// The responder's countersigned receipt for `q` screening `count` identifiers at `r`
/// (epoch 1 of [`list`] under `root`; the first answer a hit).
pub fn signed_receipt(
    q: &Party,
    r: &Party,
    nonce: [u8; 16],
    count: u32,
    root: [u8; 32],
) -> SignedReceipt {
    let request = MembershipRequest {
        list: list(),
        epoch: Epoch::FIRST,
        root,
        nonce,
        tags: (0..count)
            .map(|i| Tag::from_bytes([i as u8 + 1; 31]).expect("tag"))
            .collect(),
    };
    let answers: Vec<Answer> = (0..count)
        .map(|i| Answer {
            result: i == 0,
            proof: vec![0; 129],
        })
        .collect();
    ReceiptBody::for_exchange(q.name.clone(), r.name.clone(), &request, &answers).sign(&r.key)
}

/// The querier's record of a receipt without allowance claim or sealed details (a consortium
/// with no regulator view key).
pub fn plain_receipt(q: &Party, signed: SignedReceipt) -> Record {
    Record::sign(
        q.name.clone(),
        &q.key,
        RecordBody::Receipt(Box::new(QueryReceipt {
            receipt: signed,
            allowance: None,
            details: None,
        })),
    )
}
