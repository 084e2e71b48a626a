//! Real Groth16 proofs over the development keys in `params/`.

use std::sync::OnceLock;

use fengxin_proofs::keys::{self, KeyKind, Manifest};
use fengxin_proofs::{
    KeyLoadError, MembershipProof, PrivateWitness, ProveError, Prover, PublicInputs, Verifier,
    VerifyError,
};
use fengxin_tree::{IndexedMerkleTree, MemoryStore, Root};
use fengxin_types::Tag;
use rand::SeedableRng;

struct Fixture {
    prover: Prover,
    verifier: Verifier,
    tree: IndexedMerkleTree<MemoryStore>,
    hit: (PublicInputs, MembershipProof),
    miss: (PublicInputs, MembershipProof),
}

fn tag(hi: u8, lo: u8) -> Tag {
    let mut b = [0u8; 31];
    b[0] = hi;
    b[30] = lo;
    Tag::from_bytes(b).expect("non-zero")
}

fn rng() -> rand_chacha::ChaCha20Rng {
    rand_chacha::ChaCha20Rng::from_entropy()
}

/// Keys are loaded (and the proving key generated if absent) once per test binary.
fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = keys::params_dir().expect("parameter directory");
        let prover = keys::load_prover(&dir).expect("development proving key loads");
        let verifier = keys::load_verifier(&dir).expect("verifying key loads");
        let tags = (1..=50u8).map(|i| tag(i * 5, i)).collect::<Vec<_>>();
        let tree = IndexedMerkleTree::build(MemoryStore::new(), tags).expect("build");
        let root = tree.root();
        let mut r = rng();
        let hit_tag = tag(25, 5);
        let look = tree.lookup(hit_tag).expect("lookup");
        assert!(look.is_member());
        let hit = prover
            .prove_lookup(root, hit_tag, &look, &mut r)
            .expect("prove hit");
        let miss_tag = tag(26, 0);
        let look = tree.lookup(miss_tag).expect("lookup");
        assert!(!look.is_member());
        let miss = prover
            .prove_lookup(root, miss_tag, &look, &mut r)
            .expect("prove miss");
        Fixture {
            prover,
            verifier,
            tree,
            hit,
            miss,
        }
    })
}

#[test]
fn hit_and_miss_verify() {
    let f = fixture();
    for (public, proof) in [&f.hit, &f.miss] {
        f.verifier
            .verify(public, proof)
            .expect("honest proof verifies");
        let bytes = proof.to_bytes();
        assert_eq!(bytes.len(), MembershipProof::LEN);
        assert!(bytes.len() <= 200);
        let decoded = MembershipProof::from_bytes(&bytes).expect("round trip");
        assert_eq!(&decoded, proof);
        f.verifier
            .verify(public, &decoded)
            .expect("decoded proof verifies");
    }
    assert!(f.hit.0.result);
    assert!(!f.miss.0.result);
}

#[test]
fn tampered_public_inputs_rejected() {
    let f = fixture();
    for (public, proof) in [&f.hit, &f.miss] {
        let other_root = Root::from_field(public.root.to_field() + fengxin_tree::Fr::from(1u64));
        let cases = [
            PublicInputs {
                root: other_root,
                ..*public
            },
            PublicInputs {
                tag: tag(200, 1),
                ..*public
            },
            PublicInputs {
                result: !public.result,
                ..*public
            },
        ];
        for bad in cases {
            assert!(
                matches!(f.verifier.verify(&bad, proof), Err(VerifyError::Rejected)),
                "tampered statement {bad:?} accepted"
            );
        }
    }
    // A hit's proof does not verify for the miss's statement and vice versa.
    assert!(f.verifier.verify(&f.miss.0, &f.hit.1).is_err());
    assert!(f.verifier.verify(&f.hit.0, &f.miss.1).is_err());
}

#[test]
fn non_canonical_encodings_rejected() {
    let f = fixture();
    let bytes = f.hit.1.to_bytes();
    // Setting the infinity flag (bit 6 of a point's last byte, arkworks' SW flags) on A, or
    // any stray flag combination, must not yield an alternative encoding of some proof.
    for (pos, mask) in [
        (32usize, 0x40u8),
        (32, 0xc0),
        (96, 0x40),
        (128, 0x40),
        (128, 0xc0),
    ] {
        let mut b = bytes.clone();
        b[pos] ^= mask;
        if let Ok(p) = MembershipProof::from_bytes(&b) {
            assert_eq!(p.to_bytes(), b, "decoded a non-canonical encoding at {pos}");
        }
    }
    assert!(matches!(
        MembershipProof::from_bytes(&bytes[..128]),
        Err(fengxin_proofs::DecodeError::Length { .. })
    ));
    let mut b = bytes.clone();
    b[0] = 2;
    assert!(matches!(
        MembershipProof::from_bytes(&b),
        Err(fengxin_proofs::DecodeError::Version(2))
    ));
}

#[test]
fn tampered_proof_bytes_rejected() {
    let f = fixture();
    let (public, proof) = &f.hit;
    let bytes = proof.to_bytes();
    for i in 0..bytes.len() {
        for flip in [0x01u8, 0x80] {
            let mut b = bytes.clone();
            b[i] ^= flip;
            match MembershipProof::from_bytes(&b) {
                Err(_) => {}
                Ok(p) => assert!(
                    f.verifier.verify(public, &p).is_err(),
                    "proof with byte {i} ^ {flip:#x} accepted"
                ),
            }
        }
    }
}

#[test]
fn false_statements_are_not_proven() {
    let f = fixture();
    let mut r = rng();
    // A miss witness (low leaf) with result = 1, and a hit witness with result = 0.
    let look = f.tree.lookup(tag(26, 0)).expect("lookup");
    let witness = PrivateWitness::try_from(look.witness()).expect("witness");
    let public = PublicInputs {
        root: f.tree.root(),
        tag: tag(26, 0),
        result: true,
    };
    assert!(matches!(
        f.prover.prove(&public, &witness, &mut r),
        Err(ProveError::FalseStatement)
    ));
    let look = f.tree.lookup(tag(25, 5)).expect("lookup");
    let witness = PrivateWitness::try_from(look.witness()).expect("witness");
    let public = PublicInputs {
        result: false,
        tag: tag(25, 5),
        root: f.tree.root(),
    };
    assert!(matches!(
        f.prover.prove(&public, &witness, &mut r),
        Err(ProveError::FalseStatement)
    ));
}

#[test]
fn batch_verification() {
    let f = fixture();
    let mut r = rng();
    let batch = vec![f.hit.clone(), f.miss.clone(), f.hit.clone()];
    f.verifier
        .verify_batch(&batch, &mut r)
        .expect("honest batch");
    f.verifier
        .verify_batch(&batch[..1], &mut r)
        .expect("batch of one");
    let mut bad = batch.clone();
    bad[1].0.result = true;
    assert!(matches!(
        f.verifier.verify_batch(&bad, &mut r),
        Err(VerifyError::Rejected)
    ));
    let mut swapped = batch.clone();
    swapped[0].1 = f.miss.1.clone();
    assert!(f.verifier.verify_batch(&swapped, &mut r).is_err());
    assert!(matches!(
        f.verifier.verify_batch(&[], &mut r),
        Err(VerifyError::EmptyBatch)
    ));
}

fn copy_params(to: &std::path::Path) {
    let from = keys::source_params_dir();
    for name in [keys::MANIFEST_FILE, keys::VK_FILE] {
        std::fs::copy(from.join(name), to.join(name)).expect("copy");
    }
}

#[test]
fn manifest_labels_development_keys() {
    let m = Manifest::load(&keys::source_params_dir()).expect("manifest");
    assert_eq!(m.kind, KeyKind::Development);
    assert_eq!(m.label, keys::DEVELOPMENT_LABEL);
    assert_eq!(m.constraints, fengxin_circuits::MEMBERSHIP_CONSTRAINTS);
    assert_eq!(
        m.seed.as_deref(),
        Some(hex::encode(keys::DEVELOPMENT_SEED).as_str())
    );
}

#[test]
fn keys_with_wrong_hashes_are_refused() {
    let _ = fixture(); // make sure the development proving key exists
    let dir = tempfile::tempdir().expect("tempdir");
    copy_params(dir.path());
    // Verifying key: one flipped byte.
    let vk_path = dir.path().join(keys::VK_FILE);
    let mut vk = std::fs::read(&vk_path).expect("read");
    vk[10] ^= 1;
    std::fs::write(&vk_path, &vk).expect("write");
    assert!(matches!(
        keys::load_verifier(dir.path()),
        Err(KeyLoadError::HashMismatch { .. })
    ));
    // Proving key: truncated copy.
    copy_params(dir.path());
    let pk = std::fs::read(
        keys::params_dir()
            .expect("parameter directory")
            .join(keys::PK_FILE),
    )
    .expect("read pk");
    std::fs::write(dir.path().join(keys::PK_FILE), &pk[..pk.len() - 1]).expect("write");
    assert!(matches!(
        keys::load_proving_key(dir.path()),
        Err(KeyLoadError::HashMismatch { .. })
    ));
    // A manifest that pins other hashes refuses the real keys.
    std::fs::write(dir.path().join(keys::PK_FILE), &pk).expect("write");
    let mut m = Manifest::load(dir.path()).expect("manifest");
    m.verifying_key.sha256 = "00".repeat(32);
    std::fs::write(
        dir.path().join(keys::MANIFEST_FILE),
        serde_json::to_vec(&m).expect("json"),
    )
    .expect("write");
    assert!(matches!(
        keys::load_verifier(dir.path()),
        Err(KeyLoadError::HashMismatch { .. })
    ));
}

#[test]
fn missing_development_proving_key_is_regenerated() {
    let dir = tempfile::tempdir().expect("tempdir");
    copy_params(dir.path());
    let pk = keys::load_proving_key(dir.path()).expect("regenerated from the seed");
    let on_disk = std::fs::read(dir.path().join(keys::PK_FILE)).expect("written");
    let m = Manifest::load(dir.path()).expect("manifest");
    assert_eq!(keys::sha256_hex(&on_disk), m.proving_key.sha256);
    assert_eq!(pk.vk, keys::load_verifying_key(dir.path()).expect("vk"));
    // A ceremony manifest never regenerates.
    std::fs::remove_file(dir.path().join(keys::PK_FILE)).expect("rm");
    let mut m = m;
    m.kind = KeyKind::Ceremony;
    std::fs::write(
        dir.path().join(keys::MANIFEST_FILE),
        serde_json::to_vec(&m).expect("json"),
    )
    .expect("write");
    assert!(matches!(
        keys::load_proving_key(dir.path()),
        Err(KeyLoadError::MissingProvingKey(_))
    ));
}

mod decode {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            if let Ok(p) = MembershipProof::from_bytes(&bytes) {
                prop_assert_eq!(p.to_bytes(), bytes);
            }
        }

        #[test]
        fn random_versioned_bodies_never_panic(body in proptest::collection::vec(any::<u8>(), 128)) {
            let mut bytes = vec![MembershipProof::VERSION];
            bytes.extend_from_slice(&body);
            prop_assert_eq!(bytes.len(), MembershipProof::LEN);
            if let Ok(p) = MembershipProof::from_bytes(&bytes) {
                prop_assert_eq!(p.to_bytes(), bytes);
            }
        }
    }
}

/// A binary carries the committed manifest and verifying key: `fengxin verify` and a node's
/// parameter cache need no source tree.
#[test]
fn the_built_in_keys_are_the_committed_ones() {
    let src = keys::source_params_dir();
    let read = |name: &str| std::fs::read(src.join(name)).expect("committed parameter file");
    assert_eq!(read(keys::MANIFEST_FILE), keys::EMBEDDED_MANIFEST);
    assert_eq!(read(keys::VK_FILE), keys::EMBEDDED_VK);
    let f = fixture();
    let built_in = keys::embedded_verifier().expect("built-in verifier");
    built_in
        .verify(&f.hit.0, &f.hit.1)
        .expect("a genuine proof verifies under the built-in key");
    assert!(built_in.verify(&f.miss.0, &f.hit.1).is_err());
}

/// A parameter directory whose manifest or verifying key differ from the built-in ones (another
/// build's, or tampered with) is repaired before use, never trusted.
#[test]
fn the_parameter_cache_is_rewritten_from_the_built_in_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join(keys::MANIFEST_FILE), b"{\"forged\": true}").expect("write");
    let mut vk = keys::EMBEDDED_VK.to_vec();
    vk[10] ^= 1;
    std::fs::write(dir.path().join(keys::VK_FILE), &vk).expect("write");
    keys::install_embedded(dir.path()).expect("install");
    assert_eq!(
        std::fs::read(dir.path().join(keys::MANIFEST_FILE)).expect("read"),
        keys::EMBEDDED_MANIFEST
    );
    assert_eq!(
        std::fs::read(dir.path().join(keys::VK_FILE)).expect("read"),
        keys::EMBEDDED_VK
    );
    keys::load_verifier(dir.path()).expect("the repaired directory loads");
}

#[test]
fn imported_keys_are_checked_before_they_are_written() {
    let fresh =
        keys::single_party_setup(&mut rand_chacha::ChaCha20Rng::seed_from_u64(77)).expect("setup");
    let other =
        keys::single_party_setup(&mut rand_chacha::ChaCha20Rng::seed_from_u64(78)).expect("setup");
    let dev = keys::development_setup().expect("development setup");
    let dir = tempfile::tempdir().expect("tempdir");
    let refused = |pk: &[u8], vk: &[u8], what: &str| {
        let out = dir.path().join(what.replace(' ', "-"));
        let r = keys::import_keys(pk, vk, &out);
        assert!(r.is_err(), "{what}: accepted");
        assert!(!out.join(keys::MANIFEST_FILE).exists(), "{what}: written");
        r.err().map(|e| e.to_string()).unwrap_or_default()
    };
    let why = refused(&fresh.pk_bytes, &other.vk_bytes, "another setup's vk");
    assert!(why.contains("not the proving key's"), "{why}");
    let why = refused(&dev.pk_bytes, &dev.vk_bytes, "development keys");
    assert!(why.contains("development keys"), "{why}");
    let mut bent = fresh.vk_bytes.clone();
    bent[40] ^= 0x55;
    refused(&fresh.pk_bytes, &bent, "a bent vk");
    refused(
        &fresh.pk_bytes[..fresh.pk_bytes.len() / 2],
        &fresh.vk_bytes,
        "a cut pk",
    );
    refused(b"not a key", &fresh.vk_bytes, "garbage");

    let out = dir.path().join("production");
    let m = keys::import_keys(&fresh.pk_bytes, &fresh.vk_bytes, &out).expect("imported");
    assert_eq!(m.kind, KeyKind::Ceremony);
    assert_eq!(m.label, keys::IMPORTED_LABEL);
    assert_eq!(Manifest::load(&out).expect("manifest"), m);
    // The imported keys load through the usual checks and prove.
    let prover = keys::load_prover(&out).expect("prover");
    assert_eq!(prover.verifying_key(), &fresh.pk.vk);
}
