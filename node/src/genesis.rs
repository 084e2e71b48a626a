//! The consortium's genesis file: founding members, regulators, verifying-key hash.
//!
//! Until the ledger lands, genesis is the registry: a peer is admitted only if its identity key
//! is a member's or a regulator's here, and answers are checked with the verifying key whose
//! hash genesis pins.

use crate::datadir::{MemberFile, Role};
use fengxin_crypto::IdentityPublicKey;
use fengxin_proofs::KeyLoadError;
use fengxin_types::MemberName;
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Why a genesis file could not be assembled, read or used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GenesisError {
    /// The genesis file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a genesis of this version, or a party in it is invalid.
    #[error("{0}")]
    Invalid(String),
    /// The parameter manifest could not be read.
    #[error(transparent)]
    Params(#[from] KeyLoadError),
    /// The parameter directory's verifying key is not the one genesis pins.
    #[error("verifying key {found} differs from genesis {pinned}")]
    OtherVerifyingKey {
        /// The directory's.
        found: String,
        /// Genesis's.
        pinned: String,
    },
    /// The keys are the public development keys (anyone can forge proofs with them) and
    /// genesis does not mark a development consortium.
    #[error(
        "the circuit keys are the public development keys, with which anyone can forge proofs; \
         a production consortium imports its ceremony's keys (`fengxin-node params import`), \
         a test consortium says so in genesis (`fengxin-node genesis --development`)"
    )]
    DevelopmentKeys,
}

/// A founding member or regulator.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct GenesisParty {
    /// Name.
    pub name: MemberName,
    /// Ed25519 identity key (hex).
    pub identity_key: String,
    /// QUIC address.
    pub address: String,
    /// Regulators: the X25519 view public key (hex).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub view_public_key: Option<String>,
}

/// The genesis file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Genesis {
    /// Encoding version.
    pub version: u32,
    /// Voting members.
    pub members: Vec<GenesisParty>,
    /// Regulators (non-voting, hold view keys).
    pub regulators: Vec<GenesisParty>,
    /// SHA-256 of the membership circuit's verifying key (hex).
    pub verifying_key_sha256: String,
    /// Label of the parameters (development keys say so).
    pub params_label: String,
    /// The credit scheme's parameters (changed later only by a governance motion).
    #[serde(default)]
    pub credits: fengxin_ledger::CreditParams,
    /// A development consortium: its nodes run on the public development keys (and say so
    /// in every output). Absent, nodes refuse those keys.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub development: bool,
}

/// A checked party: name, key, address.
#[derive(Debug, Clone)]
pub struct Party {
    /// Name.
    pub name: MemberName,
    /// Identity key.
    pub key: IdentityPublicKey,
    /// Address.
    pub address: SocketAddr,
}

impl Party {
    /// A party as the ledger records it (identity key bytes, address text); `None` if either
    /// does not parse (the ledger admits neither, so only a damaged state has one).
    pub fn from_ledger(name: &MemberName, identity_key: &[u8; 32], address: &str) -> Option<Self> {
        Some(Self {
            name: name.clone(),
            key: IdentityPublicKey::from_slice(identity_key).ok()?,
            address: address.parse().ok()?,
        })
    }
}

fn invalid(m: String) -> GenesisError {
    GenesisError::Invalid(m)
}

impl Genesis {
    /// Assembles genesis from the members' and regulators' public `member.json` files, pinning
    /// the verifying key of `params`; development keys only for a `development` consortium.
    pub fn assemble(
        members: &[MemberFile],
        regulators: &[MemberFile],
        params: &Path,
        development: bool,
    ) -> Result<Self, GenesisError> {
        let manifest = fengxin_proofs::keys::Manifest::load(params)?;
        if fengxin_proofs::keys::is_development(&manifest) && !development {
            return Err(GenesisError::DevelopmentKeys);
        }
        let party = |m: &MemberFile, want: Role| -> Result<GenesisParty, GenesisError> {
            if m.role != want {
                return Err(invalid(format!(
                    "{} is a {:?} node, expected {want:?}",
                    m.name, m.role
                )));
            }
            Ok(GenesisParty {
                name: m.name.clone(),
                identity_key: m.identity_key.to_hex(),
                address: m.address.clone(),
                view_public_key: m.view_public_key.map(|k| k.to_hex()),
            })
        };
        let genesis = Self {
            version: 1,
            members: members
                .iter()
                .map(|m| party(m, Role::Member))
                .collect::<Result<_, _>>()?,
            regulators: regulators
                .iter()
                .map(|m| party(m, Role::Regulator))
                .collect::<Result<_, _>>()?,
            verifying_key_sha256: manifest.verifying_key.sha256.clone(),
            params_label: manifest.label.clone(),
            credits: fengxin_ledger::CreditParams::default(),
            development,
        };
        genesis.parties()?;
        Ok(genesis)
    }

    /// Reads and checks a genesis file.
    pub fn load(path: &Path) -> Result<Self, GenesisError> {
        let bytes = std::fs::read(path).map_err(|source| GenesisError::Io {
            path: path.to_owned(),
            source,
        })?;
        let g: Self = serde_json::from_slice(&bytes)
            .map_err(|e| invalid(format!("{}: {e}", path.display())))?;
        if g.version != 1 {
            return Err(invalid(format!("unknown genesis version {}", g.version)));
        }
        g.parties()?;
        Ok(g)
    }

    /// Every party, checked: valid keys and addresses, unique names and keys.
    pub fn parties(&self) -> Result<Vec<(Party, Role)>, GenesisError> {
        let mut names = BTreeSet::new();
        let mut keys = BTreeSet::new();
        let mut out = Vec::new();
        let all = self
            .members
            .iter()
            .map(|p| (p, Role::Member))
            .chain(self.regulators.iter().map(|p| (p, Role::Regulator)));
        for (p, role) in all {
            let key = IdentityPublicKey::from_hex(&p.identity_key)
                .map_err(|e| invalid(format!("{}: identity key: {e}", p.name)))?;
            let address: SocketAddr = p
                .address
                .parse()
                .map_err(|e| invalid(format!("{}: address {:?}: {e}", p.name, p.address)))?;
            if !names.insert(p.name.clone()) {
                return Err(invalid(format!("{} appears twice", p.name)));
            }
            if !keys.insert(key) {
                return Err(invalid(format!("{}: identity key used twice", p.name)));
            }
            out.push((
                Party {
                    name: p.name.clone(),
                    key,
                    address,
                },
                role,
            ));
        }
        if self.members.is_empty() {
            return Err(invalid("no members".into()));
        }
        Ok(out)
    }

    /// Checks that the parameter directory's verifying key is the one genesis pins.
    pub fn check_params(&self, params: &Path) -> Result<(), GenesisError> {
        let manifest = fengxin_proofs::keys::Manifest::load(params)?;
        if fengxin_proofs::keys::is_development(&manifest) && !self.development {
            return Err(GenesisError::DevelopmentKeys);
        }
        if manifest.verifying_key.sha256 != self.verifying_key_sha256 {
            return Err(GenesisError::OtherVerifyingKey {
                found: manifest.verifying_key.sha256,
                pinned: self.verifying_key_sha256.clone(),
            });
        }
        Ok(())
    }
}
