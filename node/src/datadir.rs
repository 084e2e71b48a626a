//! The node's data directory: secrets, configuration, public member file, database.
//!
//! ```text
//! DIR/                 (mode 0700)
//!   config.json        node configuration (versioned)
//!   member.json        public: name, identity key, address, role (shared for genesis)
//!   identity.key       secret, 0600: Ed25519 identity key
//!   oprf.seed          secret, 0600: OPRF master seed (members)
//!   view.key           secret, 0600: regulator view key (regulators)
//!   node.redb          lists, tags, trees
//!   ledger.redb        the ledger replica and this node's outbox
//!   spent.redb         the responder's book of spent requests and allowance claims
//! ```
//!
//! Every secret file is created owner-only, and opening a data directory refuses a secret file
//! that the group or others can read.

use fengxin_crypto::{IdentityKey, MasterSeed};
use fengxin_store::Store;
use fengxin_types::MemberName;
use rand_core::OsRng;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

const CONFIG: &str = "config.json";
const MEMBER: &str = "member.json";
const IDENTITY: &str = "identity.key";
const SEED: &str = "oprf.seed";
const VIEW: &str = "view.key";
const DB: &str = "node.redb";
/// The responder's book of spent requests and claims ([`fengxin_store::SpentBook`]).
pub const SPENT: &str = "spent.redb";

pub use fengxin_api::{MemberFile, Role};

/// `config.json`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Config {
    /// Encoding version.
    pub version: u32,
    /// This node's member name.
    pub member: MemberName,
    /// QUIC listen address.
    pub listen: String,
    /// Role.
    pub role: Role,
}

/// Errors opening or creating a data directory.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataDirError {
    /// Caller misuse: `init` on a directory that already holds a node.
    #[error("{0} already holds a node (config.json exists)")]
    AlreadyInitialised(PathBuf),
    /// Caller misuse: not a data directory.
    #[error("{0} is not a node data directory (no config.json; run `fengxin-node init`)")]
    NotInitialised(PathBuf),
    /// A secret file is readable by the group or others.
    #[error(
        "secret file {path} has mode {mode:o}: group/others may read it; run `chmod 600 {path}`"
    )]
    SecretPermissions {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The data directory is open to group or others.
    #[error(
        "data directory {path} has mode {mode:o}: group/others may enter it; run `chmod 700 {path}`"
    )]
    DirectoryPermissions {
        /// The directory.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A file does not decode.
    #[error("{path}: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The database could not be opened.
    #[error(transparent)]
    Store(#[from] fengxin_store::StoreError),
    /// This node's role lacks the requested secret.
    #[error("{0}")]
    Role(&'static str),
}

/// An opened data directory.
#[derive(Debug)]
pub struct DataDir {
    root: PathBuf,
    config: Config,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> DataDirError + '_ {
    move |source| DataDirError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Writes a secret file, created owner-only (0600) and never overwritten.
fn write_secret(path: &Path, bytes: &[u8]) -> Result<(), DataDirError> {
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(io_err(path))?;
    f.write_all(bytes).map_err(io_err(path))?;
    f.sync_all().map_err(io_err(path))
}

/// Reads a secret file after checking that only the owner can read it.
fn read_secret(path: &Path) -> Result<Vec<u8>, DataDirError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(path)
            .map_err(io_err(path))?
            .permissions()
            .mode()
            & 0o777;
        if mode & 0o077 != 0 {
            return Err(DataDirError::SecretPermissions {
                path: path.to_owned(),
                mode,
            });
        }
    }
    fs::read(path).map_err(io_err(path))
}

fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<(), DataDirError> {
    let mut text = serde_json::to_string_pretty(value).map_err(|e| DataDirError::Invalid {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    text.push('\n');
    fs::write(path, text).map_err(io_err(path))
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, DataDirError> {
    let text = fs::read_to_string(path).map_err(io_err(path))?;
    serde_json::from_str(&text).map_err(|e| DataDirError::Invalid {
        path: path.to_owned(),
        reason: e.to_string(),
    })
}

impl DataDir {
    /// `fengxin-node init`: creates keys, config, the public member file and the database.
    pub fn init(
        root: &Path,
        member: MemberName,
        listen: String,
        role: Role,
    ) -> Result<Self, DataDirError> {
        if root.join(CONFIG).exists() {
            return Err(DataDirError::AlreadyInitialised(root.to_owned()));
        }
        fs::create_dir_all(root).map_err(io_err(root))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(root, fs::Permissions::from_mode(0o700)).map_err(io_err(root))?;
        }
        let identity = IdentityKey::generate(&mut OsRng);
        write_secret(&root.join(IDENTITY), &identity.expose_secret())?;
        let mut view_public_key = None;
        match role {
            Role::Member => {
                let seed = MasterSeed::generate(&mut OsRng);
                write_secret(&root.join(SEED), &seed.encode()[..])?;
            }
            Role::Regulator => {
                let mut secret = [0u8; 32];
                rand_core::RngCore::fill_bytes(&mut OsRng, &mut secret);
                write_secret(&root.join(VIEW), &secret)?;
                // One seed gives the HPKE (X25519) key and the ElGamal key for list sizes.
                let view = fengxin_confidential::ViewSecret::from_seed(secret);
                view_public_key = Some(fengxin_api::ViewPublicKeyHex(view.public().to_bytes()));
            }
        }
        Store::create(&root.join(DB))?;
        let config = Config {
            version: 1,
            member: member.clone(),
            listen: listen.clone(),
            role,
        };
        write_json(
            &root.join(MEMBER),
            &MemberFile {
                version: fengxin_api::MEMBER_FILE_VERSION,
                name: member,
                identity_key: fengxin_api::IdentityKeyHex(identity.public().to_bytes()),
                address: listen,
                role,
                view_public_key,
            },
        )?;
        // config.json last: its presence marks a complete init.
        write_json(&root.join(CONFIG), &config)?;
        Ok(Self {
            root: root.to_owned(),
            config,
        })
    }

    /// Opens an initialised data directory, checking secret-file permissions.
    pub fn open(root: &Path) -> Result<Self, DataDirError> {
        let config_path = root.join(CONFIG);
        if !config_path.exists() {
            return Err(DataDirError::NotInitialised(root.to_owned()));
        }
        let config: Config = read_json(&config_path)?;
        if config.version != 1 {
            return Err(DataDirError::Invalid {
                path: config_path,
                reason: format!("unknown config version {}", config.version),
            });
        }
        let dir = Self {
            root: root.to_owned(),
            config,
        };
        // The raw lists and the ledger live here: refuse a directory others can enter, and
        // take group and other access away from the lists' database (older nodes created it
        // 0644; the ledger file is tightened when the ledger opens it).
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(root)
                .map_err(io_err(root))?
                .permissions()
                .mode()
                & 0o777;
            if mode & 0o077 != 0 {
                return Err(DataDirError::DirectoryPermissions {
                    path: root.to_owned(),
                    mode,
                });
            }
            let db = root.join(DB);
            if let Ok(meta) = fs::metadata(&db) {
                let mode = meta.permissions().mode() & 0o777;
                if mode & 0o077 != 0 {
                    fs::set_permissions(&db, fs::Permissions::from_mode(mode & 0o700))
                        .map_err(io_err(&db))?;
                }
            }
        }
        // Refuse to start on readable secrets, whatever the command.
        for name in [IDENTITY, SEED, VIEW] {
            let path = root.join(name);
            if path.exists() {
                read_secret(&path)?;
            }
        }
        Ok(dir)
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The public member file.
    pub fn member_file(&self) -> Result<MemberFile, DataDirError> {
        read_json(&self.root.join(MEMBER))
    }

    /// The OPRF master seed (members only).
    pub fn master_seed(&self) -> Result<MasterSeed, DataDirError> {
        if self.config.role != Role::Member {
            return Err(DataDirError::Role("a regulator node holds no lists"));
        }
        let path = self.root.join(SEED);
        let bytes = read_secret(&path)?;
        MasterSeed::from_slice(&bytes).map_err(|e| DataDirError::Invalid {
            path,
            reason: e.to_string(),
        })
    }

    /// Replaces the master seed by its next generation ([`MasterSeed::ratchet`]) and erases the
    /// old one, returning the new seed.
    ///
    /// The new seed is written to a temporary owner-only file and synced, then renamed over the
    /// seed file (atomic: a crash leaves one generation or the other, never neither), and the
    /// directory is synced. The old file, still open, is then overwritten with zeros and synced
    /// before it is closed, so its blocks do not keep the old seed on a filesystem that writes
    /// in place. (A copy-on-write filesystem or a flash translation layer may still keep old
    /// blocks: DESIGN's forward secrecy assumes the operator keeps the data directory on a
    /// volume that does not snapshot it.)
    pub fn ratchet_seed(&self) -> Result<MasterSeed, DataDirError> {
        let seed = self.master_seed()?;
        let path = self.root.join(SEED);
        let next = seed.ratchet().ok_or_else(|| DataDirError::Invalid {
            path: path.clone(),
            reason: "the master seed has reached its last generation".into(),
        })?;
        let tmp = self.root.join(format!("{SEED}.next"));
        let _ = fs::remove_file(&tmp);
        write_secret(&tmp, &next.encode()[..])?;
        let mut old = fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(io_err(&path))?;
        let old_len = old.metadata().map_err(io_err(&path))?.len();
        fs::rename(&tmp, &path).map_err(io_err(&path))?;
        fs::File::open(&self.root)
            .and_then(|d| d.sync_all())
            .map_err(io_err(&self.root))?;
        let zeros = vec![0u8; usize::try_from(old_len).unwrap_or(MasterSeed::ENCODED_LEN)];
        old.write_all(&zeros)
            .and_then(|()| old.sync_all())
            .map_err(io_err(&path))?;
        drop(seed);
        Ok(next)
    }

    /// The identity key.
    pub fn identity(&self) -> Result<IdentityKey, DataDirError> {
        let path = self.root.join(IDENTITY);
        let bytes = read_secret(&path)?;
        IdentityKey::from_slice(&bytes).map_err(|e| DataDirError::Invalid {
            path,
            reason: e.to_string(),
        })
    }

    /// The regulator's view secret (regulators only).
    pub fn view_secret(&self) -> Result<fengxin_confidential::ViewSecret, DataDirError> {
        let path = self.root.join(VIEW);
        let bytes = read_secret(&path)?;
        let seed: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| DataDirError::Invalid {
                path,
                reason: "a view key is 32 bytes".into(),
            })?;
        Ok(fengxin_confidential::ViewSecret::from_seed(seed))
    }

    /// Reads an owner-only file of this data directory (`None` if absent).
    pub fn read_private(&self, name: &str) -> Result<Option<Vec<u8>>, DataDirError> {
        let path = self.root.join(name);
        if !path.exists() {
            return Ok(None);
        }
        read_secret(&path).map(Some)
    }

    /// Writes an owner-only file of this data directory atomically.
    pub fn write_private(&self, name: &str, bytes: &[u8]) -> Result<(), DataDirError> {
        let tmp = self.root.join(format!("{name}.tmp"));
        let _ = fs::remove_file(&tmp);
        write_secret(&tmp, bytes)?;
        let path = self.root.join(name);
        fs::rename(&tmp, &path).map_err(io_err(&path))
    }

    /// Opens the database.
    pub fn store(&self) -> Result<Store, DataDirError> {
        Ok(Store::open(&self.root.join(DB))?)
    }

    /// Opens (or creates) the responder's book of spent requests and claims.
    pub fn spent_book(&self) -> Result<fengxin_store::SpentBook, fengxin_store::StoreError> {
        fengxin_store::SpentBook::open(&self.root.join(SPENT))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name() -> MemberName {
        MemberName::parse("bank-a").expect("valid")
    }

    #[test]
    fn init_then_open() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path().join("a");
        let dir =
            DataDir::init(&root, name(), "127.0.0.1:7400".into(), Role::Member).expect("init");
        let seed = dir.master_seed().expect("seed");
        let reopened = DataDir::open(&root).expect("open");
        assert_eq!(reopened.config(), dir.config());
        assert_eq!(
            reopened.master_seed().expect("seed").expose_secret(),
            seed.expose_secret()
        );
        let member = reopened.member_file().expect("member.json");
        assert_eq!(
            member.identity_key.0,
            dir.identity().expect("key").public().to_bytes()
        );
        assert!(matches!(
            DataDir::init(&root, name(), "x".into(), Role::Member),
            Err(DataDirError::AlreadyInitialised(_))
        ));
    }

    #[test]
    fn the_seed_ratchets_in_place() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path().join("a");
        let dir =
            DataDir::init(&root, name(), "127.0.0.1:7400".into(), Role::Member).expect("init");
        let first = dir.master_seed().expect("seed");
        assert_eq!(first.generation(), 0);
        let second = dir.ratchet_seed().expect("ratchet");
        assert_eq!(second.generation(), 1);
        let stored = DataDir::open(&root)
            .expect("open")
            .master_seed()
            .expect("seed");
        assert_eq!(stored.generation(), 1);
        assert_eq!(stored.expose_secret(), second.expose_secret());
        assert_eq!(
            first.ratchet().expect("next").expose_secret(),
            second.expose_secret()
        );
        // Nothing of the old generation is left in the directory, under any name.
        let third = dir.ratchet_seed().expect("ratchet");
        assert_eq!(third.generation(), 2);
        for entry in fs::read_dir(&root).expect("dir") {
            let path = entry.expect("entry").path();
            if path.is_file() {
                let bytes = fs::read(&path).expect("read");
                for old in [first.expose_secret(), second.expose_secret()] {
                    assert!(
                        !bytes.windows(old.len()).any(|w| w == old),
                        "{} holds an old seed",
                        path.display()
                    );
                }
            }
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(root.join(SEED))
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[cfg(unix)]
    #[test]
    fn secrets_are_owner_only_and_readable_secrets_refused() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path().join("a");
        DataDir::init(&root, name(), "127.0.0.1:7400".into(), Role::Member).expect("init");
        for f in [IDENTITY, SEED] {
            let mode = fs::metadata(root.join(f))
                .expect("meta")
                .permissions()
                .mode()
                & 0o777;
            assert_eq!(mode, 0o600, "{f}");
        }
        fs::set_permissions(root.join(SEED), fs::Permissions::from_mode(0o644)).expect("chmod");
        match DataDir::open(&root) {
            Err(DataDirError::SecretPermissions { path, mode }) => {
                assert!(path.ends_with(SEED));
                assert_eq!(mode, 0o644);
            }
            other => panic!("expected a permissions error, got {other:?}"),
        }
    }

    #[cfg(unix)]
    #[test]
    fn databases_are_owner_only_and_an_open_directory_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| fs::metadata(p).expect("meta").permissions().mode() & 0o777;
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path().join("a");
        let dir =
            DataDir::init(&root, name(), "127.0.0.1:7400".into(), Role::Member).expect("init");
        assert_eq!(mode(&root.join(DB)), 0o600, "node.redb");
        // A database left readable by an older node is tightened when the directory opens.
        fs::set_permissions(root.join(DB), fs::Permissions::from_mode(0o644)).expect("chmod");
        drop(dir);
        DataDir::open(&root).expect("open");
        assert_eq!(mode(&root.join(DB)), 0o600, "node.redb tightened");
        for open in [0o750, 0o701, 0o755] {
            fs::set_permissions(&root, fs::Permissions::from_mode(open)).expect("chmod");
            match DataDir::open(&root) {
                Err(DataDirError::DirectoryPermissions { mode, .. }) => assert_eq!(mode, open),
                other => panic!("mode {open:o}: expected a permissions error, got {other:?}"),
            }
        }
    }

    #[test]
    fn regulator_has_view_key_and_no_seed() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path().join("r");
        let dir = DataDir::init(
            &root,
            MemberName::parse("regulator").expect("ok"),
            "127.0.0.1:7500".into(),
            Role::Regulator,
        )
        .expect("init");
        assert!(dir.member_file().expect("member").view_public_key.is_some());
        assert!(matches!(dir.master_seed(), Err(DataDirError::Role(_))));
        assert!(!root.join(SEED).exists());
    }

    #[test]
    fn open_missing_dir() {
        let tmp = tempfile::tempdir().expect("tempdir");
        assert!(matches!(
            DataDir::open(tmp.path()),
            Err(DataDirError::NotInitialised(_))
        ));
    }
}
