//! `lists publish` and `prove`: the member's commitments and single-tag answers.

use crate::cli::CliError;
use crate::datadir::DataDir;
use fengxin_api::ErrorKind;
use fengxin_crypto::ListKey;
use fengxin_protocol::{Publication, SignedPublication};
use fengxin_types::{CanonicalId, IdType, ListId, Tag};
use std::path::{Path, PathBuf};

/// The parameter directory ([`fengxin_proofs::keys::params_dir`]: `$FENGXIN_PARAMS`, or the
/// per-user cache holding the keys built into this binary).
pub fn params_dir() -> Result<PathBuf, CliError> {
    fengxin_proofs::keys::params_dir().map_err(|e| CliError::new(ErrorKind::Params, e.to_string()))
}

/// File in the data directory holding the current signed publications.
pub const PUBLICATIONS: &str = "publications.json";

pub use fengxin_api::{ProveOutput, Published};

/// Signs a publication of every list's current (epoch, root, OPRF key) and stores them in the
/// data directory, from where the daemon submits them. A node that is not running does not
/// know its chain yet: the stored publications name none, and the daemon signs them again for
/// its chain when it starts ([`bind_to_chain`]).
pub fn publish(dir: &DataDir) -> Result<Vec<Published>, CliError> {
    let store = dir.store()?;
    let seed = dir.master_seed()?;
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
) -> Result<Vec<SignedPublication>, CliError> {
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

/// Signs a publication of every list's current (epoch, root, OPRF key) for `chain`.
pub fn sign_publications(
    store: &fengxin_store::Store,
    seed: &fengxin_crypto::MasterSeed,
    identity: &fengxin_crypto::IdentityKey,
    member: &fengxin_types::MemberName,
    chain: [u8; 32],
) -> Result<(Vec<Published>, Vec<SignedPublication>), CliError> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut signed = Vec::new();
    let mut out = Vec::new();
    for s in store
        .stats()
        .map_err(|e| CliError::new(ErrorKind::Store, e.to_string()))?
    {
        let Some(root_hex) = s.root else { continue };
        let root = fengxin_tree::Root::from_hex(&root_hex).map_err(|e| {
            CliError::new(ErrorKind::Store, format!("stored root of {}: {e}", s.list))
        })?;
        let key = ListKey::derive(seed, &s.list, s.epoch)
            .map_err(|e| CliError::new(ErrorKind::Internal, e.to_string()))?;
        let publication = Publication {
            version: Publication::VERSION,
            chain,
            member: member.clone(),
            list: s.list.clone(),
            epoch: s.epoch,
            root: root.to_bytes(),
            oprf_public_key: key.public_key().to_bytes(),
            published_at: now,
        };
        out.push(Published {
            list: s.list,
            epoch: s.epoch,
            root: fengxin_api::ListRoot(root.to_bytes()),
            oprf_public_key: fengxin_api::OprfPublicKey(key.public_key().to_bytes()),
        });
        signed.push(publication.sign(identity));
    }
    Ok((out, signed))
}

/// Stores signed publications in the data directory (atomically).
pub fn write_publications(root: &Path, signed: &[SignedPublication]) -> Result<(), CliError> {
    let path = root.join(PUBLICATIONS);
    let tmp = root.join(format!("{PUBLICATIONS}.tmp"));
    let text = serde_json::to_vec_pretty(signed)
        .map_err(|e| CliError::new(ErrorKind::Internal, e.to_string()))?;
    std::fs::write(&tmp, text)
        .map_err(|e| CliError::new(ErrorKind::Io, format!("{}: {e}", tmp.display())))?;
    std::fs::rename(&tmp, &path)
        .map_err(|e| CliError::new(ErrorKind::Io, format!("{}: {e}", path.display())))
}

/// The signed publications stored by the last `lists publish` (empty if never published).
pub fn read_publications(root: &Path) -> Result<Vec<SignedPublication>, CliError> {
    let path = root.join(PUBLICATIONS);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map_err(|e| CliError::new(ErrorKind::DataDir, format!("{}: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(CliError::new(
            ErrorKind::Io,
            format!("{}: {e}", path.display()),
        )),
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
pub fn prove(dir: &DataDir, list: &ListId, target: ProveTarget) -> Result<ProveOutput, CliError> {
    let store = dir.store()?;
    let meta = store
        .list_meta(list)
        .map_err(|e| CliError::new(ErrorKind::Store, e.to_string()))?
        .ok_or_else(|| {
            CliError::new(
                ErrorKind::UnknownList,
                format!("no list {list} on this node"),
            )
        })?;
    let epoch = meta
        .epoch()
        .map_err(|e| CliError::new(ErrorKind::Store, e.to_string()))?;
    let tag = match target {
        ProveTarget::Tag(t) => t,
        ProveTarget::Identifier(t, raw) => {
            let id = CanonicalId::parse(t, &raw)
                .map_err(|e| CliError::new(ErrorKind::Usage, format!("--identifier: {e}")))?;
            let key = ListKey::derive(&dir.master_seed()?, list, epoch)
                .map_err(|e| CliError::new(ErrorKind::Internal, e.to_string()))?;
            key.tag(&id)
                .map_err(|e| CliError::new(ErrorKind::Internal, e.to_string()))?
        }
    };
    let (root, lookup) = store
        .lookup(list, epoch, tag)
        .map_err(|e| CliError::new(ErrorKind::Store, e.to_string()))?;
    let prover = fengxin_proofs::keys::load_prover(&params_dir()?)
        .map_err(|e| CliError::new(ErrorKind::Params, e.to_string()))?;
    let (public, proof) = prover
        .prove_lookup(root, tag, &lookup, &mut rand_core::OsRng)
        .map_err(|e| CliError::new(ErrorKind::Prove, e.to_string()))?;
    Ok(ProveOutput {
        list: list.clone(),
        epoch,
        root: fengxin_api::ListRoot(root.to_bytes()),
        tag,
        result: fengxin_api::Verdict::from_hit(public.result),
        proof: fengxin_api::HexBytes(proof.to_bytes()),
    })
}
