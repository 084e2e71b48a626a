//! `lists publish` and `prove`: the member's commitments and single-tag answers.

use crate::datadir::{DataDir, DataDirError};
use fengxin_crypto::ListKey;
use fengxin_proofs::KeyLoadError;
use fengxin_protocol::{Publication, SignedPublication};
use fengxin_store::StoreError;
use fengxin_types::{CanonicalId, IdType, ListId, Tag};
use std::path::{Path, PathBuf};

/// Why a publication or a proof could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PublishError {
    /// The data directory could not be opened or read.
    #[error(transparent)]
    DataDir(#[from] DataDirError),
    /// The list database failed.
    #[error("list database: {0}")]
    Store(#[from] StoreError),
    /// A stored root does not decode.
    #[error("stored root of {list}: {reason}")]
    StoredRoot {
        /// The list.
        list: ListId,
        /// Why.
        reason: String,
    },
    /// A list's OPRF key could not be derived, or a tag computed.
    #[error("OPRF key of {list}: {reason}")]
    Key {
        /// The list.
        list: ListId,
        /// Why.
        reason: String,
    },
    /// A shared list too large for a snapshot.
    #[error(
        "{list}: {entries} snapshot entries is over the {max} chunks a shared snapshot may \
         have; set the list's policy to proof_only"
    )]
    TooLargeToShare {
        /// The list.
        list: ListId,
        /// Entries of its snapshot (real and dummy).
        entries: u64,
        /// The limit, in chunks.
        max: u32,
    },
    /// The publications file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The publications file does not decode.
    #[error("{path}: {source}")]
    Decode {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// The publications could not be encoded.
    #[error("encoding publications: {0}")]
    Encode(#[source] serde_json::Error),
    /// No such list on this node.
    #[error("no list {0} on this node")]
    UnknownList(ListId),
    /// The identifier to prove about is not valid.
    #[error("--identifier: {0}")]
    Identifier(String),
    /// The circuit keys could not be loaded.
    #[error(transparent)]
    Params(#[from] KeyLoadError),
    /// Proving failed.
    #[error("proving: {0}")]
    Prove(String),
    /// The ledger could not be read, or refused the publications.
    #[error("ledger: {0}")]
    Ledger(#[from] fengxin_consensus::LedgerError),
    /// The list sizes committed with the publications could not be made.
    #[error(transparent)]
    Size(#[from] crate::credits::SizeError),
    /// A lock held by a task that panicked.
    #[error("{0} lock poisoned")]
    Poisoned(&'static str),
}

/// The parameter directory ([`fengxin_proofs::keys::params_dir`]: `$FENGXIN_PARAMS`, or the
/// per-user cache holding the keys built into this binary).
pub fn params_dir() -> Result<PathBuf, PublishError> {
    Ok(fengxin_proofs::keys::params_dir()?)
}

/// Where a data directory's imported circuit keys live (`fengxin-node params import`).
pub const PARAMS_SUBDIR: &str = "params";

/// The parameter directory of the node in `data`: its imported keys (`DATA/params`) when it has
/// them, otherwise [`params_dir`].
pub fn params_dir_for(data: &Path) -> Result<PathBuf, PublishError> {
    let own = data.join(PARAMS_SUBDIR);
    if own.join(fengxin_proofs::keys::MANIFEST_FILE).exists() {
        return Ok(own);
    }
    params_dir()
}

/// File in the data directory holding the current signed publications.
pub const PUBLICATIONS: &str = "publications.json";

pub use fengxin_api::{ProveOutput, Published};

/// Signs a publication of every list's current (epoch, root, OPRF key) and stores them in the
/// data directory, from where the daemon submits them. A node that is not running does not
/// know its chain yet: the stored publications name none, and the daemon signs them again for
/// its chain when it starts ([`bind_to_chain`]).
pub fn publish(dir: &DataDir) -> Result<Vec<Published>, PublishError> {
    let store = dir.store()?;
    let seed = dir.master_seed()?;
    store.check_generation(&seed)?;
    let identity = dir.identity()?;
    let member = dir.config().member.clone();
    let (out, signed) = sign_publications(&store, &seed, &identity, &member, [0; 32])?;
    write_publications(dir.root(), &signed)?;
    Ok(out)
}

/// Signs the stored publications again for `chain` where they name another (or none), and
/// stores the result.
pub fn bind_to_chain(
    root: &Path,
    signed: Vec<SignedPublication>,
    chain: [u8; 32],
    identity: &fengxin_crypto::IdentityKey,
) -> Result<Vec<SignedPublication>, PublishError> {
    if signed.iter().all(|sp| sp.publication.chain == chain) {
        return Ok(signed);
    }
    let bound: Vec<SignedPublication> = signed
        .into_iter()
        .map(|sp| {
            if sp.publication.chain == chain {
                sp
            } else {
                Publication {
                    chain,
                    ..sp.publication
                }
                .sign(identity)
            }
        })
        .collect();
    write_publications(root, &bound)?;
    Ok(bound)
}

/// The snapshot of a list's current (epoch, tree): its stored tags and labels padded with the
/// (list, epoch) dummies, the same leaves as its tree.
pub fn build_snapshot(
    store: &fengxin_store::Store,
    seed: &fengxin_crypto::MasterSeed,
    list: &ListId,
    epoch: fengxin_types::Epoch,
) -> Result<fengxin_snapshot::Snapshot, PublishError> {
    let padding = fengxin_snapshot::PaddingSecret::from_bytes(seed.padding_secret(list, epoch));
    Ok(store.snapshot(list, epoch, &padding)?)
}

/// Signs a publication of every list's current (epoch, root, OPRF key, policy and, for a
/// shared list, its snapshot's header) for `chain`.
pub fn sign_publications(
    store: &fengxin_store::Store,
    seed: &fengxin_crypto::MasterSeed,
    identity: &fengxin_crypto::IdentityKey,
    member: &fengxin_types::MemberName,
    chain: [u8; 32],
) -> Result<(Vec<Published>, Vec<SignedPublication>), PublishError> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut signed = Vec::new();
    let mut out = Vec::new();
    for s in store.stats()? {
        let Some(root_hex) = s.root else { continue };
        let root =
            fengxin_tree::Root::from_hex(&root_hex).map_err(|e| PublishError::StoredRoot {
                list: s.list.clone(),
                reason: e.to_string(),
            })?;
        let key = ListKey::derive(seed, &s.list, s.epoch).map_err(|e| PublishError::Key {
            list: s.list.clone(),
            reason: e.to_string(),
        })?;
        let snapshot = match s.policy {
            fengxin_types::ListPolicy::Shared => {
                let built = build_snapshot(store, seed, &s.list, s.epoch)?;
                if built.chunks() > fengxin_snapshot::MAX_SHARED_CHUNKS {
                    return Err(PublishError::TooLargeToShare {
                        list: s.list.clone(),
                        entries: built.entries().len() as u64,
                        max: fengxin_snapshot::MAX_SHARED_CHUNKS,
                    });
                }
                // Never sign a snapshot whose manifest does not make the list's own root
                // (tags and tree out of step): every querier could show it as a fault.
                let made = fengxin_snapshot::manifest_tree_root(
                    built.entries().len() as u64,
                    &built.manifest(),
                );
                if made != Some(root) {
                    return Err(PublishError::StoredRoot {
                        list: s.list.clone(),
                        reason: "the list's snapshot does not make its stored root; the list \
                                 database is damaged"
                            .into(),
                    });
                }
                Some(built.header())
            }
            fengxin_types::ListPolicy::ProofOnly => None,
        };
        let publication = Publication {
            version: Publication::VERSION,
            chain,
            member: member.clone(),
            list: s.list.clone(),
            epoch: s.epoch,
            root: root.to_bytes(),
            oprf_public_key: key.public_key().to_bytes(),
            published_at: now,
            policy: s.policy,
            snapshot,
        };
        out.push(Published {
            list: s.list,
            epoch: s.epoch,
            root: fengxin_api::ListRoot(root.to_bytes()),
            oprf_public_key: fengxin_api::OprfPublicKey(key.public_key().to_bytes()),
            policy: s.policy,
            snapshot_entries: snapshot.map(|h| h.entries),
        });
        signed.push(publication.sign(identity));
    }
    Ok((out, signed))
}

/// What `fengxin-node lists rotate` did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RotationReport {
    /// The master seed's generation now.
    pub generation: u64,
    /// Whether this run ratcheted the seed (`false`: it finished an interrupted rotation).
    pub ratcheted: bool,
    /// Each list moved to its next epoch.
    pub rotated: Vec<fengxin_store::Rotation>,
    /// The publications signed for the new epochs (submitted when the node starts).
    pub published: Vec<Published>,
}

/// `fengxin-node lists rotate`: moves every list to its next epoch under the next generation
/// of the master seed, with the node stopped.
///
/// Order, for forward secrecy: the database is opened first (a running node holds it, and
/// then nothing changes); the seed is ratcheted and the old one erased
/// ([`DataDir::ratchet_seed`]) before anything is re-tagged, since re-tagging needs the raw
/// entries only; then each list is re-tagged in its own transaction
/// ([`fengxin_store::Store::rotate`]) and the new epochs are published. A run that stops
/// part-way leaves the seed at the new generation and some lists behind it; the node refuses
/// to start like that (`seed_generation`), and running the command again finishes the
/// rotation without ratcheting again.
pub fn rotate(dir: &DataDir) -> Result<RotationReport, PublishError> {
    let store = dir.store()?;
    let seed = dir.master_seed()?;
    let (seed, ratcheted) = match store.check_generation(&seed) {
        Ok(()) => (dir.ratchet_seed()?, true),
        Err(StoreError::SeedGeneration {
            list_generation,
            seed_generation,
            ..
        }) if list_generation < seed_generation => (seed, false),
        Err(e) => return Err(e.into()),
    };
    let rotated = store.rotate(&seed)?;
    drop(store);
    let published = publish(dir)?;
    Ok(RotationReport {
        generation: seed.generation(),
        ratcheted,
        rotated,
        published,
    })
}

/// Stores signed publications in the data directory (atomically).
pub fn write_publications(root: &Path, signed: &[SignedPublication]) -> Result<(), PublishError> {
    let path = root.join(PUBLICATIONS);
    let tmp = root.join(format!("{PUBLICATIONS}.tmp"));
    let text = serde_json::to_vec_pretty(signed).map_err(PublishError::Encode)?;
    std::fs::write(&tmp, text).map_err(|source| PublishError::Io {
        path: tmp.clone(),
        source,
    })?;
    std::fs::rename(&tmp, &path).map_err(|source| PublishError::Io { path, source })
}

/// The signed publications stored by the last `lists publish` (empty if never published).
pub fn read_publications(root: &Path) -> Result<Vec<SignedPublication>, PublishError> {
    let path = root.join(PUBLICATIONS);
    match std::fs::read(&path) {
        Ok(bytes) => {
            serde_json::from_slice(&bytes).map_err(|source| PublishError::Decode { path, source })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(source) => Err(PublishError::Io { path, source }),
    }
}

/// What to prove about.
#[derive(Debug)]
pub enum ProveTarget {
    /// A tag given directly.
    Tag(Tag),
    /// An identifier, tagged with the list's current key.
    Identifier(IdType, String),
}

/// Proves hit or miss for one tag against the list's current tree.
pub fn prove(
    dir: &DataDir,
    list: &ListId,
    target: ProveTarget,
) -> Result<ProveOutput, PublishError> {
    let store = dir.store()?;
    let meta = store
        .list_meta(list)?
        .ok_or_else(|| PublishError::UnknownList(list.clone()))?;
    let seed = dir.master_seed()?;
    store.check_generation(&seed)?;
    let epoch = meta.epoch()?;
    let tag = match target {
        ProveTarget::Tag(t) => t,
        ProveTarget::Identifier(t, raw) => {
            let id = CanonicalId::parse(t, &raw, fengxin_types::CivilDate::today_china())
                .map_err(|e| PublishError::Identifier(e.to_string()))?;
            let key_error = |e: &dyn std::fmt::Display| PublishError::Key {
                list: list.clone(),
                reason: e.to_string(),
            };
            let key = ListKey::derive(&seed, list, epoch).map_err(|e| key_error(&e))?;
            key.tag(&id).map_err(|e| key_error(&e))?
        }
    };
    let (root, lookup) = store.lookup(list, epoch, tag)?;
    let prover = fengxin_proofs::keys::load_prover(&params_dir_for(dir.root())?)?;
    let (public, proof) = prover
        .prove_lookup(root, tag, &lookup, &mut rand_core::OsRng)
        .map_err(|e| PublishError::Prove(e.to_string()))?;
    Ok(ProveOutput {
        list: list.clone(),
        epoch,
        root: fengxin_api::ListRoot(root.to_bytes()),
        tag,
        result: fengxin_api::Verdict::from_hit(public.result),
        proof: fengxin_api::HexBytes(proof.to_bytes()),
    })
}
