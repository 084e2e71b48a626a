//! Parameter files: the manifest of key hashes, loading keys against it, and the deterministic
//! development setup.
//!
//! `params/` holds `manifest.json`, `membership.vk` (compressed verifying key, committed) and
//! `membership.pk` (uncompressed proving key, about 5 MB, not committed: regenerated on first use
//! from the development seed when the manifest says the keys are development keys). A key loads
//! only if its SHA-256 equals the manifest's; the proving key, once its hash matches, is decoded
//! without re-checking every point (the hash already pins the exact bytes), the verifying key
//! with full curve and subgroup checks.
//!
//! **Development keys are not for production**: anyone can rerun the setup from the published
//! seed and learn the toxic waste, hence forge proofs. Production keys come from a multi-party
//! ceremony among members (docs/cryptography.md) and ship with a manifest whose `kind` is
//! `"ceremony"`.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use ark_bn254::Bn254;
use ark_groth16::{Groth16, ProvingKey, VerifyingKey};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize, Compress, Validate};
use fengxin_circuits::MembershipCircuit;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{KeyLoadError, SetupError};
use crate::prover::Prover;
use crate::verifier::Verifier;

/// The manifest's file name.
pub const MANIFEST_FILE: &str = "manifest.json";
/// The verifying key's file name.
pub const VK_FILE: &str = "membership.vk";
/// The proving key's file name.
pub const PK_FILE: &str = "membership.pk";
/// Manifest format version.
pub const MANIFEST_VERSION: u32 = 1;
/// The label every development manifest carries.
pub const DEVELOPMENT_LABEL: &str = "development keys — not for production";
/// The public seed of the development setup. Knowing it means knowing the toxic waste.
pub const DEVELOPMENT_SEED: [u8; 32] = *b"fengxin membership dev setup v1\0";

/// Where the keys came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum KeyKind {
    /// Deterministic setup from [`DEVELOPMENT_SEED`]: insecure, for development and tests.
    Development,
    /// A multi-party ceremony.
    Ceremony,
}

/// A key file and its pinned hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyEntry {
    /// File name inside the parameter directory.
    pub file: String,
    /// Lower-case hex SHA-256 of the file.
    pub sha256: String,
}

/// `params/manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Format version ([`MANIFEST_VERSION`]).
    pub version: u32,
    /// Human-readable label; [`DEVELOPMENT_LABEL`] for development keys.
    pub label: String,
    /// Where the keys came from.
    pub kind: KeyKind,
    /// The circuit ("membership").
    pub circuit: String,
    /// Constraint count of the circuit the keys were made for.
    pub constraints: usize,
    /// For development keys: the hex seed of the setup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<String>,
    /// The verifying key.
    pub verifying_key: KeyEntry,
    /// The proving key.
    pub proving_key: KeyEntry,
}

impl Manifest {
    /// Reads and parses `dir/manifest.json`.
    pub fn load(dir: &Path) -> Result<Self, KeyLoadError> {
        let path = dir.join(MANIFEST_FILE);
        let bytes = read(&path)?;
        let m: Manifest = serde_json::from_slice(&bytes)
            .map_err(|source| KeyLoadError::Manifest { path, source })?;
        if m.version != MANIFEST_VERSION {
            return Err(KeyLoadError::ManifestVersion(m.version));
        }
        Ok(m)
    }
}

/// The manifest built into this binary: `params/manifest.json` of the source it was built from.
/// It pins both keys' hashes; genesis pins the manifest's.
pub const EMBEDDED_MANIFEST: &[u8] = include_bytes!("../../../params/manifest.json");
/// The verifying key built into this binary (pinned by [`EMBEDDED_MANIFEST`]).
pub const EMBEDDED_VK: &[u8] = include_bytes!("../../../params/membership.vk");

/// `params/` of the source tree this crate was built from: where the committed manifest and
/// verifying key live, and where repository tools (`gen_params`, the parameter tests) write.
/// A binary never looks here: it uses [`params_dir`].
pub fn source_params_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../params")
}

/// The parameter directory a binary uses: `$FENGXIN_PARAMS` when set (a ceremony's keys, or a
/// copy shared by several nodes), otherwise a per-user cache (`$XDG_CACHE_HOME/fengxin/params`,
/// else `$HOME/.cache/fengxin/params`) holding the manifest and verifying key built into this
/// binary ([`EMBEDDED_MANIFEST`], [`EMBEDDED_VK`]) and the development proving key made from
/// them on first use. The cache's manifest and verifying key are rewritten whenever they differ
/// from the built-in ones, so a binary never proves with another build's keys.
pub fn params_dir() -> Result<PathBuf, KeyLoadError> {
    if let Some(dir) = std::env::var_os("FENGXIN_PARAMS") {
        return Ok(PathBuf::from(dir));
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .ok_or_else(|| KeyLoadError::Io {
            path: PathBuf::from("$HOME"),
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "neither FENGXIN_PARAMS, XDG_CACHE_HOME nor HOME is set",
            ),
        })?;
    let dir = cache.join("fengxin").join("params");
    install_embedded(&dir)?;
    Ok(dir)
}

/// Writes the built-in manifest and verifying key into `dir` where they are missing or differ.
pub fn install_embedded(dir: &Path) -> Result<(), KeyLoadError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| KeyLoadError::Io { path, source }
    };
    fs::create_dir_all(dir).map_err(io(dir))?;
    for (name, bytes) in [(MANIFEST_FILE, EMBEDDED_MANIFEST), (VK_FILE, EMBEDDED_VK)] {
        let path = dir.join(name);
        if fs::read(&path).ok().as_deref() != Some(bytes) {
            write_atomic(&path, bytes).map_err(|e| match e {
                SetupError::Io { path, source } => KeyLoadError::Io { path, source },
                other => KeyLoadError::Io {
                    path: path.clone(),
                    source: std::io::Error::other(other.to_string()),
                },
            })?;
        }
    }
    Ok(())
}

/// The built-in manifest.
pub fn embedded_manifest() -> Result<Manifest, KeyLoadError> {
    let path = PathBuf::from("<built-in manifest.json>");
    let m: Manifest = serde_json::from_slice(EMBEDDED_MANIFEST)
        .map_err(|source| KeyLoadError::Manifest { path, source })?;
    if m.version != MANIFEST_VERSION {
        return Err(KeyLoadError::ManifestVersion(m.version));
    }
    Ok(m)
}

/// The verifier a binary uses: `$FENGXIN_PARAMS`'s verifying key when set, else the built-in
/// one ([`embedded_verifier`]).
pub fn configured_verifier() -> Result<Verifier, KeyLoadError> {
    match std::env::var_os("FENGXIN_PARAMS") {
        Some(dir) => load_verifier(Path::new(&dir)),
        None => embedded_verifier(),
    }
}

/// A [`Verifier`] for the built-in verifying key, checked against the built-in manifest: what
/// `fengxin verify` uses, so that verifying needs no file at all.
pub fn embedded_verifier() -> Result<Verifier, KeyLoadError> {
    let manifest = embedded_manifest()?;
    let path = PathBuf::from("<built-in membership.vk>");
    check_hash(&path, EMBEDDED_VK, &manifest.verifying_key)?;
    let vk =
        VerifyingKey::<Bn254>::deserialize_with_mode(EMBEDDED_VK, Compress::Yes, Validate::Yes)
            .map_err(|e| KeyLoadError::Decode {
                file: path,
                reason: e.to_string(),
            })?;
    Ok(Verifier::new(&vk))
}

/// Lower-case hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn read(path: &Path) -> Result<Vec<u8>, KeyLoadError> {
    fs::read(path).map_err(|source| KeyLoadError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn check_hash(file: &Path, bytes: &[u8], entry: &KeyEntry) -> Result<(), KeyLoadError> {
    let actual = sha256_hex(bytes);
    if actual != entry.sha256.to_ascii_lowercase() {
        return Err(KeyLoadError::HashMismatch {
            file: file.to_path_buf(),
            expected: entry.sha256.clone(),
            actual,
        });
    }
    Ok(())
}

/// Keys from the deterministic development setup, with their encodings.
pub struct DevelopmentKeys {
    /// The proving key.
    pub pk: ProvingKey<Bn254>,
    /// The verifying key, compressed ([`VK_FILE`]'s bytes).
    pub vk_bytes: Vec<u8>,
    /// The proving key, uncompressed ([`PK_FILE`]'s bytes).
    pub pk_bytes: Vec<u8>,
}

/// Runs the Groth16 setup for the membership circuit from [`DEVELOPMENT_SEED`]. Deterministic:
/// the same build gives byte-identical keys. Takes a few seconds.
pub fn development_setup() -> Result<DevelopmentKeys, SetupError> {
    single_party_setup(&mut rand_chacha::ChaCha20Rng::from_seed(DEVELOPMENT_SEED))
}

/// A Groth16 setup for the membership circuit by one party from `rng`: whoever ran it knows the
/// toxic waste and can forge proofs. For tests of key handling, and as the shape of what a
/// multi-party ceremony outputs; never for a production consortium.
pub fn single_party_setup<R: rand::RngCore + rand::CryptoRng>(
    rng: &mut R,
) -> Result<DevelopmentKeys, SetupError> {
    let pk = Groth16::<Bn254>::generate_random_parameters_with_reduction(
        MembershipCircuit::blank(),
        rng,
    )
    .map_err(|e| SetupError::Groth16(e.to_string()))?;
    let mut vk_bytes = Vec::new();
    pk.vk
        .serialize_compressed(&mut vk_bytes)
        .map_err(|e| SetupError::Serialize(e.to_string()))?;
    let mut pk_bytes = Vec::new();
    pk.serialize_uncompressed(&mut pk_bytes)
        .map_err(|e| SetupError::Serialize(e.to_string()))?;
    Ok(DevelopmentKeys {
        pk,
        vk_bytes,
        pk_bytes,
    })
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), SetupError> {
    let io = |source| SetupError::Io {
        path: path.to_path_buf(),
        source,
    };
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let unique = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = path.with_extension(format!("tmp{}-{unique}", std::process::id()));
    let mut f = fs::File::create(&tmp).map_err(io)?;
    f.write_all(bytes).map_err(io)?;
    f.sync_all().map_err(io)?;
    fs::rename(&tmp, path).map_err(io)
}

/// Regenerates the development keys and writes the manifest, the verifying key and the proving
/// key into `dir` (the `params/` files are made this way). Returns the manifest.
pub fn write_development_params(dir: &Path) -> Result<Manifest, SetupError> {
    let keys = development_setup()?;
    write_params(
        dir,
        DEVELOPMENT_LABEL,
        KeyKind::Development,
        Some(hex::encode(DEVELOPMENT_SEED)),
        &keys.vk_bytes,
        &keys.pk_bytes,
    )
}

/// Writes a key pair and its manifest (pinning both files' hashes) into `dir`.
fn write_params(
    dir: &Path,
    label: &str,
    kind: KeyKind,
    seed: Option<String>,
    vk_bytes: &[u8],
    pk_bytes: &[u8],
) -> Result<Manifest, SetupError> {
    let constraints = crate::prover::CircuitShape::synthesize()
        .map_err(SetupError::Groth16)?
        .num_constraints;
    let manifest = Manifest {
        version: MANIFEST_VERSION,
        label: label.to_string(),
        kind,
        circuit: "membership".to_string(),
        constraints,
        seed,
        verifying_key: KeyEntry {
            file: VK_FILE.to_string(),
            sha256: sha256_hex(vk_bytes),
        },
        proving_key: KeyEntry {
            file: PK_FILE.to_string(),
            sha256: sha256_hex(pk_bytes),
        },
    };
    fs::create_dir_all(dir).map_err(|source| SetupError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    write_atomic(&dir.join(VK_FILE), vk_bytes)?;
    write_atomic(&dir.join(PK_FILE), pk_bytes)?;
    let mut json =
        serde_json::to_vec_pretty(&manifest).map_err(|e| SetupError::Serialize(e.to_string()))?;
    json.push(b'\n');
    write_atomic(&dir.join(MANIFEST_FILE), &json)?;
    Ok(manifest)
}

/// Whether `manifest` describes the public development keys: its kind says so, or its
/// verifying key is the development one built into this binary (whatever its manifest claims).
pub fn is_development(manifest: &Manifest) -> bool {
    manifest.kind == KeyKind::Development || is_development_vk(&manifest.verifying_key.sha256)
}

/// Whether `vk_sha256` is the hash of the development verifying key built into this binary.
fn is_development_vk(vk_sha256: &str) -> bool {
    embedded_manifest()
        .is_ok_and(|m| m.kind == KeyKind::Development && m.verifying_key.sha256 == vk_sha256)
}

/// The label of keys brought in with [`import_keys`].
pub const IMPORTED_LABEL: &str = "production keys (imported)";

/// Checks a proving key (uncompressed, as [`PK_FILE`]) and a verifying key (compressed, as
/// [`VK_FILE`]) from a ceremony and writes them into `dir` with a [`KeyKind::Ceremony`]
/// manifest. Refused: keys that do not decode (full curve and subgroup checks on both), a
/// verifying key that is not the proving key's, keys of another circuit shape, the development
/// keys, and a pair that does not prove and verify a real statement (one lookup in a small
/// tree). Takes a few seconds. Returns the manifest written.
pub fn import_keys(pk_bytes: &[u8], vk_bytes: &[u8], dir: &Path) -> Result<Manifest, KeyLoadError> {
    let decode = |file: &str, reason: String| KeyLoadError::Decode {
        file: PathBuf::from(file),
        reason,
    };
    let vk = VerifyingKey::<Bn254>::deserialize_with_mode(vk_bytes, Compress::Yes, Validate::Yes)
        .map_err(|e| decode("verifying key", e.to_string()))?;
    let pk = ProvingKey::<Bn254>::deserialize_with_mode(pk_bytes, Compress::No, Validate::Yes)
        .map_err(|e| decode("proving key", e.to_string()))?;
    if pk.vk != vk {
        return Err(KeyLoadError::WrongCircuit(
            "the verifying key is not the proving key's".into(),
        ));
    }
    if is_development_vk(&sha256_hex(vk_bytes)) {
        return Err(KeyLoadError::WrongCircuit(
            "these are the public development keys, not production keys".into(),
        ));
    }
    // A real statement, proven and verified: the pair fits this build's circuit.
    let prover = Prover::new(pk)?;
    let tag = fengxin_types::Tag::from_bytes([7; fengxin_types::Tag::LEN])
        .map_err(|e| KeyLoadError::WrongCircuit(e.to_string()))?;
    let tree = fengxin_tree::IndexedMerkleTree::build(fengxin_tree::MemoryStore::new(), vec![tag])
        .map_err(|e| KeyLoadError::WrongCircuit(e.to_string()))?;
    let lookup = tree
        .lookup(tag)
        .map_err(|e| KeyLoadError::WrongCircuit(e.to_string()))?;
    let (public, proof) = prover
        .prove_lookup(tree.root(), tag, &lookup, &mut rand::rngs::OsRng)
        .map_err(|e| KeyLoadError::WrongCircuit(format!("proving with the key: {e}")))?;
    Verifier::new(&vk).verify(&public, &proof).map_err(|e| {
        KeyLoadError::WrongCircuit(format!(
            "a proof made with the proving key does not verify: {e}"
        ))
    })?;
    write_params(
        dir,
        IMPORTED_LABEL,
        KeyKind::Ceremony,
        None,
        vk_bytes,
        pk_bytes,
    )
    .map_err(|e| match e {
        SetupError::Io { path, source } => KeyLoadError::Io { path, source },
        other => KeyLoadError::from(other),
    })
}

/// Loads the verifying key of `dir`, refusing it unless its hash matches the manifest.
pub fn load_verifying_key(dir: &Path) -> Result<VerifyingKey<Bn254>, KeyLoadError> {
    let manifest = Manifest::load(dir)?;
    let path = dir.join(&manifest.verifying_key.file);
    let bytes = read(&path)?;
    check_hash(&path, &bytes, &manifest.verifying_key)?;
    VerifyingKey::<Bn254>::deserialize_with_mode(&bytes[..], Compress::Yes, Validate::Yes).map_err(
        |e| KeyLoadError::Decode {
            file: path,
            reason: e.to_string(),
        },
    )
}

/// Loads a [`Verifier`] for `dir`'s verifying key.
pub fn load_verifier(dir: &Path) -> Result<Verifier, KeyLoadError> {
    Ok(Verifier::new(&load_verifying_key(dir)?))
}

/// Loads the proving key of `dir`, refusing it unless its hash matches the manifest. If the file
/// is absent and the manifest is for development keys, reruns the development setup, checks
/// that it reproduces both pinned hashes, and writes the file.
pub fn load_proving_key(dir: &Path) -> Result<ProvingKey<Bn254>, KeyLoadError> {
    let manifest = Manifest::load(dir)?;
    let path = dir.join(&manifest.proving_key.file);
    let bytes = match fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if manifest.kind != KeyKind::Development {
                return Err(KeyLoadError::MissingProvingKey(path));
            }
            let keys = development_setup()?;
            check_hash(
                &dir.join(&manifest.verifying_key.file),
                &keys.vk_bytes,
                &manifest.verifying_key,
            )?;
            check_hash(&path, &keys.pk_bytes, &manifest.proving_key)?;
            write_atomic(&path, &keys.pk_bytes)?;
            return Ok(keys.pk);
        }
        Err(source) => return Err(KeyLoadError::Io { path, source }),
    };
    check_hash(&path, &bytes, &manifest.proving_key)?;
    // The hash pins these exact bytes (made by `development_setup` or the ceremony), so the
    // per-point curve and subgroup checks are skipped: they would dominate loading time.
    ProvingKey::<Bn254>::deserialize_with_mode(&bytes[..], Compress::No, Validate::No).map_err(
        |e| KeyLoadError::Decode {
            file: path,
            reason: e.to_string(),
        },
    )
}

/// Loads a [`Prover`] for `dir`'s proving key (generating the development key on first use).
/// Takes a few seconds: besides reading the key, it precomputes the MSM tables (about 70 MB).
/// Load once and share the prover (it is `Send + Sync`).
pub fn load_prover(dir: &Path) -> Result<Prover, KeyLoadError> {
    let pk = load_proving_key(dir)?;
    let vk = load_verifying_key(dir)?;
    if pk.vk != vk {
        return Err(KeyLoadError::WrongCircuit(
            "proving key and verifying key are from different setups".into(),
        ));
    }
    Prover::new(pk)
}
