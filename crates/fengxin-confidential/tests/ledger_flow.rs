//! The flow the ledger runs (docs/cryptography.md, docs/credits.md), end to end through the
//! public API: members publish committed list sizes, the ledger derives an allowance
//! homomorphically, a querier proves its remaining allowance is non-negative, and the regulator
//! reads everything.

use fengxin_confidential::{
    labels, open_details, prove_range_with_context, seal_details, verify_range_with_context,
    Commitment, CommittedCount, ConfidentialError, DecryptHandle, Opening, ViewPublicKey,
    ViewSecret,
};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

/// Allowance = 3·(size of list 1) + 2·(size of list 2) + base − spent, all as commitments.
const W1: u64 = 3;
const W2: u64 = 2;
const BASE: u64 = 100;

#[test]
fn allowance_is_derived_homomorphically_and_proven_non_negative() {
    let mut rng = ChaCha20Rng::seed_from_u64(2026);
    let regulator = ViewSecret::from_seed([77; 32]);
    // Members only know the regulator's public key, from its 128-hex-character genesis form.
    let view: ViewPublicKey =
        ViewPublicKey::from_hex(&regulator.public().to_hex()).expect("genesis key parses");
    let pk = view.elgamal();

    // The member publishes its two list sizes.
    let (list1, o1) = CommittedCount::new(40, &pk, b"m1/fraud_txn/e5", &mut rng).expect("fits");
    let (list2, o2) =
        CommittedCount::new(15, &pk, b"m1/marketing_abuse/e5", &mut rng).expect("fits");
    // Every node checks them (and could not read the sizes).
    list1.verify(&pk, b"m1/fraud_txn/e5").expect("valid");
    list2.verify(&pk, b"m1/marketing_abuse/e5").expect("valid");

    // The ledger's allowance commitment; the member mirrors it on the openings.
    let allowance = list1
        .commitment
        .mul_u64(W1)
        .add(&list2.commitment.mul_u64(W2))
        .add(&Commitment::public(BASE));
    let allowance_opening = o1
        .mul_u64(W1)
        .and_then(|a| a.add(&o2.mul_u64(W2)?))
        .and_then(|a| a.add(&Opening::public(BASE)))
        .expect("small values");
    assert_eq!(allowance_opening.commit(), allowance);
    assert_eq!(allowance_opening.value, 3 * 40 + 2 * 15 + 100);

    // A query costing 200 of the 250 credits: remaining 50, provable.
    let ctx = b"query record 1";
    let remaining = allowance.sub(&Commitment::public(200));
    let remaining_opening = allowance_opening
        .sub(&Opening::public(200))
        .expect("non-negative");
    let proof = prove_range_with_context(
        &remaining_opening,
        64,
        labels::ALLOWANCE_RANGE_PROOF,
        ctx,
        &mut rng,
    )
    .expect("non-negative");
    assert_eq!(
        verify_range_with_context(&remaining, &proof, 64, labels::ALLOWANCE_RANGE_PROOF, ctx),
        Ok(())
    );

    // A query costing 251: the member cannot even form the opening, and a proof for any
    // in-range value does not cover the ledger's (negative) remaining commitment.
    assert_eq!(
        allowance_opening.sub(&Opening::public(251)).err(),
        Some(ConfidentialError::ArithmeticOverflow)
    );
    let overdrawn = allowance.sub(&Commitment::public(251));
    assert_eq!(
        verify_range_with_context(&overdrawn, &proof, 64, labels::ALLOWANCE_RANGE_PROOF, ctx),
        Err(ConfidentialError::RangeProofRejected)
    );

    // The regulator reads the list sizes and, through the handles, the allowance itself.
    assert_eq!(list1.decrypt(&regulator), Ok(40));
    assert_eq!(list2.decrypt(&regulator), Ok(15));
    let allowance_handle = list1
        .handle
        .mul_u64(W1)
        .add(&list2.handle.mul_u64(W2))
        .add(&DecryptHandle::zero());
    assert_eq!(regulator.decrypt(&allowance, &allowance_handle), Ok(250));

    // And the record details sealed to it, bound to the public part of the record.
    let public_part = b"A=m1 B=m2 list=fraud_txn n=1 fee=200";
    let sealed = seal_details(&view, public_part, b"tag=..., result=hit", &mut rng).expect("seals");
    assert_eq!(
        open_details(&regulator, public_part, &sealed),
        Ok(b"tag=..., result=hit".to_vec())
    );
    assert_eq!(
        open_details(&regulator, b"A=m1 B=m3 list=fraud_txn n=1 fee=200", &sealed),
        Err(ConfidentialError::DecryptionFailed)
    );
}
