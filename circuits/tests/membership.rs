//! The native checks and the circuits accept and reject the same statements.

use ark_bn254::Fr;
use ark_ff::{BigInteger, Field, PrimeField, UniformRand};
use ark_r1cs_std::fields::fp::FpVar;
use ark_r1cs_std::prelude::*;
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystem, SynthesisMode};
use fengxin_circuits::poseidon::{hash2, hash2_var, HASH2_CONSTRAINTS};
use fengxin_circuits::{
    check_membership, MembershipCircuit, MembershipPrivate, MembershipPublic,
    MEMBERSHIP_CONSTRAINTS,
};
use fengxin_tree::{empty_hashes, path_root, tag_to_field, IndexedMerkleTree, MemoryStore, DEPTH};
use fengxin_types::Tag;
use rand::SeedableRng;

fn hex(f: Fr) -> String {
    hex::encode(f.into_bigint().to_bytes_be())
}

/// circomlib's published `poseidon([a, b])` values (circomlibjs test vectors), the same ones
/// the native function is checked against in `fengxin-tree`.
const CIRCOMLIB_VECTORS: [(u64, u64, &str); 2] = [
    (
        1,
        2,
        "115cc0f5e7d690413df64c6b9662e9cf2a3617f2743245519e19607a4417189a",
    ),
    (
        0,
        0,
        "2098f5fb9e239eab3ceac3f27b81e481dc3124d55ffed523a839ee8446b64864",
    ),
];

#[test]
fn poseidon_gadget_matches_circomlib_vectors() {
    for (x, y, published) in CIRCOMLIB_VECTORS {
        let constant = Fr::from_be_bytes_mod_order(&hex::decode(published).expect("hex"));
        let cs = ConstraintSystem::<Fr>::new_ref();
        let a = FpVar::new_witness(cs.clone(), || Ok(Fr::from(x))).expect("alloc");
        let b = FpVar::new_witness(cs.clone(), || Ok(Fr::from(y))).expect("alloc");
        let h = hash2_var(&a, &b).expect("hash");
        assert_eq!(hex(h.value().expect("value")), published, "[{x}, {y}]");
        let expected = FpVar::new_input(cs.clone(), || Ok(constant)).expect("alloc");
        h.enforce_equal(&expected).expect("enforce");
        assert!(
            cs.is_satisfied().expect("satisfiable"),
            "[{x}, {y}]: the constraints hold with the published output"
        );
        assert_eq!(cs.num_constraints(), HASH2_CONSTRAINTS + 1);

        // Claiming any other output leaves the constraint system unsatisfied.
        let cs = ConstraintSystem::<Fr>::new_ref();
        let a = FpVar::new_witness(cs.clone(), || Ok(Fr::from(x))).expect("alloc");
        let b = FpVar::new_witness(cs.clone(), || Ok(Fr::from(y))).expect("alloc");
        let h = hash2_var(&a, &b).expect("hash");
        let wrong = FpVar::new_input(cs.clone(), || Ok(constant + Fr::from(1u64))).expect("alloc");
        h.enforce_equal(&wrong).expect("enforce");
        assert!(
            !cs.is_satisfied().expect("evaluates"),
            "[{x}, {y}]: a wrong output must not satisfy the constraints"
        );
    }
}

#[test]
fn poseidon_gadget_equals_native_on_random_inputs() {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(11);
    for _ in 0..16 {
        let (x, y) = (Fr::rand(&mut rng), Fr::rand(&mut rng));
        let cs = ConstraintSystem::<Fr>::new_ref();
        let a = FpVar::new_witness(cs.clone(), || Ok(x)).expect("alloc");
        let b = FpVar::new_witness(cs.clone(), || Ok(y)).expect("alloc");
        let h = hash2_var(&a, &b).expect("hash");
        assert_eq!(h.value().expect("value"), hash2(x, y));
        assert!(cs.is_satisfied().expect("satisfiable"));
        // A wrong claimed output is rejected.
        let wrong =
            FpVar::new_witness(cs.clone(), || Ok(hash2(x, y) + Fr::from(1u64))).expect("alloc");
        h.enforce_equal(&wrong).expect("enforce");
        assert!(!cs.is_satisfied().expect("evaluates"));
    }
}

/// Runs the circuit in proving mode; returns whether the assignment satisfies it.
fn circuit_accepts(public: &MembershipPublic, private: &MembershipPrivate) -> bool {
    let cs = ConstraintSystem::<Fr>::new_ref();
    MembershipCircuit::new(*public, private.clone())
        .generate_constraints(cs.clone())
        .expect("synthesis never fails on a full assignment");
    cs.is_satisfied().expect("evaluates")
}

/// Native and circuit agree; returns their common verdict.
fn verdict(public: &MembershipPublic, private: &MembershipPrivate) -> bool {
    let native = check_membership(public, private);
    let circuit = circuit_accepts(public, private);
    assert_eq!(native, circuit, "native and circuit disagree on {public:?}");
    native
}

fn tag(hi: u8, lo: u8) -> Tag {
    let mut b = [0u8; 31];
    b[0] = hi;
    b[30] = lo;
    Tag::from_bytes(b).expect("non-zero")
}

struct Fixture {
    tree: IndexedMerkleTree<MemoryStore>,
    tags: Vec<Tag>,
}

fn fixture() -> Fixture {
    let tags = vec![tag(10, 1), tag(20, 2), tag(30, 3), tag(0xfe, 0xff)];
    let tree = IndexedMerkleTree::build(MemoryStore::new(), tags.clone()).expect("build");
    Fixture { tree, tags }
}

fn witness_for(f: &Fixture, t: Tag) -> (MembershipPublic, MembershipPrivate) {
    let look = f.tree.lookup(t).expect("lookup");
    let public = MembershipPublic {
        root: f.tree.root().to_field(),
        tag: tag_to_field(t),
        result: look.is_member(),
    };
    let private = MembershipPrivate::try_from(look.witness()).expect("index fits");
    (public, private)
}

#[test]
fn honest_answers_accepted() {
    let f = fixture();
    let probes = [
        tag(10, 1),      // member
        tag(0xfe, 0xff), // largest member
        tag(0, 1),       // below every tag: sentinel's gap
        tag(15, 0),      // between members
        tag(0xff, 0xff), // above every tag: last leaf, next = +inf
    ];
    for t in probes {
        let (public, private) = witness_for(&f, t);
        assert_eq!(public.result, f.tags.contains(&t));
        assert!(verdict(&public, &private), "honest answer for {t} rejected");
    }
}

#[test]
fn wrong_root_rejected() {
    let f = fixture();
    for t in [tag(10, 1), tag(15, 0)] {
        let (mut public, private) = witness_for(&f, t);
        public.root += Fr::from(1u64);
        assert!(!verdict(&public, &private));
    }
}

#[test]
fn flipped_result_rejected() {
    let f = fixture();
    for t in [tag(10, 1), tag(15, 0), tag(0, 1), tag(0xff, 0)] {
        let (mut public, private) = witness_for(&f, t);
        public.result = !public.result;
        assert!(
            !verdict(&public, &private),
            "flipped answer for {t} accepted"
        );
    }
}

#[test]
fn neighbour_with_result_zero_rejected() {
    let f = fixture();
    // The low leaf of 15|0 is (10|1, 20|2). Claiming non-membership of either neighbour with it
    // must fail: value < tag fails for the leaf's own value, tag < next fails for the next one.
    let (public, private) = witness_for(&f, tag(15, 0));
    for neighbour in [tag(10, 1), tag(20, 2)] {
        let p = MembershipPublic {
            tag: tag_to_field(neighbour),
            result: false,
            ..public
        };
        assert!(
            !verdict(&p, &private),
            "non-membership of member {neighbour} accepted"
        );
    }
    // And a member's own leaf with result 0.
    let (mut public, private) = witness_for(&f, tag(20, 2));
    public.result = false;
    assert!(!verdict(&public, &private));
}

#[test]
fn tag_outside_gap_rejected() {
    let f = fixture();
    let (public, private) = witness_for(&f, tag(15, 0)); // gap (10|1, 20|2)
    for outside in [tag(25, 0), tag(5, 0), tag(0xff, 0)] {
        let p = MembershipPublic {
            tag: tag_to_field(outside),
            ..public
        };
        assert!(
            !verdict(&p, &private),
            "{outside} accepted with another gap's leaf"
        );
    }
    // The same leaf does prove another tag inside its gap.
    let p = MembershipPublic {
        tag: tag_to_field(tag(19, 0xff)),
        ..public
    };
    assert!(verdict(&p, &private));
}

#[test]
fn tag_zero_rejected() {
    // The sentinel leaf (0, smallest) with tag 0: result 1 would otherwise hold (value = tag).
    let f = fixture();
    let (public, private) = witness_for(&f, tag(0, 1));
    assert_eq!(private.value, Fr::from(0u64), "sentinel leaf");
    for result in [true, false] {
        let p = MembershipPublic {
            tag: Fr::from(0u64),
            result,
            ..public
        };
        assert!(
            !verdict(&p, &private),
            "tag 0 accepted with result {result}"
        );
    }
}

#[test]
fn tag_at_or_above_2_248_rejected() {
    // The last leaf (0xfe..ff, +inf) covers every larger integer; tags must stop at 2^248 - 1.
    let f = fixture();
    let (public, private) = witness_for(&f, tag(0xff, 0xff));
    assert!(
        verdict(&public, &private),
        "largest tag's gap proves the maximal tag"
    );
    let two_248 = Fr::from(2u64).pow([248u64]);
    for t in [two_248, two_248 + Fr::from(5u64), -Fr::from(1u64)] {
        let p = MembershipPublic { tag: t, ..public };
        assert!(!verdict(&p, &private), "tag {} accepted", hex(t));
    }
}

#[test]
fn leaf_values_at_or_above_2_248_rejected() {
    // A malicious tree whose only leaf besides the sentinel holds 2^248 + 3: its gap would
    // "prove" non-membership of small tags if leaf values were not range-checked.
    let big = Fr::from(2u64).pow([248u64]) + Fr::from(3u64);
    let mut siblings = [Fr::from(0u64); DEPTH];
    siblings.copy_from_slice(&empty_hashes()[..DEPTH]);
    let private = MembershipPrivate {
        value: Fr::from(1u64),
        next_value: big,
        index: 0,
        siblings,
    };
    let root = path_root(hash2(private.value, private.next_value), 0, &siblings);
    let public = MembershipPublic {
        root,
        tag: Fr::from(7u64),
        result: false,
    };
    assert!(!verdict(&public, &private));
    // The same shape with an in-range next value is accepted: the range check is what rejects.
    let ok = MembershipPrivate {
        next_value: Fr::from(9u64),
        ..private.clone()
    };
    let ok_public = MembershipPublic {
        root: path_root(hash2(ok.value, ok.next_value), 0, &siblings),
        ..public
    };
    assert!(verdict(&ok_public, &ok));
}

#[test]
fn constraint_count_is_pinned() {
    let cs = ConstraintSystem::<Fr>::new_ref();
    cs.set_mode(SynthesisMode::Setup);
    MembershipCircuit::blank()
        .generate_constraints(cs.clone())
        .expect("setup synthesis");
    cs.finalize();
    assert_eq!(cs.num_constraints(), MEMBERSHIP_CONSTRAINTS);
    assert_eq!(cs.num_instance_variables(), 1 + 3, "one, root, tag, result");
}
