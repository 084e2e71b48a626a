use std::path::PathBuf;

/// Errors from the member database.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// Fatal: the database engine failed (I/O, corruption detected by redb, ...).
    #[error("database: {0}")]
    Db(#[source] Box<redb::Error>),
    /// Caller misuse: `create` on an existing file.
    #[error("database {0} already exists")]
    AlreadyExists(PathBuf),
    /// Another process (usually the running node) has the database open.
    #[error("database {0} is in use by another process (stop `fengxin-node run` for this data directory first)")]
    InUse(PathBuf),
    /// Caller misuse: `open` on a missing file.
    #[error("database {0} does not exist (run `fengxin-node init` first)")]
    Missing(PathBuf),
    /// Fatal: the file was written by an incompatible version.
    #[error("database schema version {found}, this build reads version {expected}")]
    SchemaVersion {
        /// Version in the file.
        found: u32,
        /// Version this build understands.
        expected: u32,
    },
    /// Fatal: stored data does not decode.
    #[error("database is corrupt: {0}")]
    Corrupt(&'static str),
    /// Fatal: the tree could not be built or updated (storage failure or corrupt tree).
    #[error("tree: {0}")]
    Tree(String),
    /// An entry's label could not be sealed (its day added is not a date).
    #[error("label: {0}")]
    Label(String),
    /// The list's snapshot could not be built.
    #[error("snapshot: {0}")]
    Snapshot(#[from] fengxin_snapshot::SnapshotError),
    /// The list's tags were made with another generation of the master seed than the one
    /// given: the seed ratcheted and the list was not re-tagged yet (finish with
    /// `fengxin-node lists rotate`), or the seed is older than the list (a restored backup).
    #[error(
        "list {list} is tagged with seed generation {list_generation}, the seed is at generation \
         {seed_generation}{hint}",
        hint = generation_hint(*.list_generation, *.seed_generation)
    )]
    SeedGeneration {
        /// The list.
        list: fengxin_types::ListId,
        /// The generation its tags were made with.
        list_generation: u64,
        /// The seed's generation.
        seed_generation: u64,
    },
    /// A stored identifier is not in its canonical form any more.
    #[error(
        "stored identifier of list {list} ({id_type}) does not parse back to itself: {reason}"
    )]
    StoredIdentifier {
        /// The list.
        list: fengxin_types::ListId,
        /// The identifier's type.
        id_type: String,
        /// Why.
        reason: String,
    },
    /// Fatal: OPRF key derivation failed.
    #[error("tagging: {0}")]
    Oprf(#[from] fengxin_crypto::OprfError),
}

fn generation_hint(list: u64, seed: u64) -> &'static str {
    if list < seed {
        " (run `fengxin-node lists rotate` to finish the rotation)"
    } else {
        " (the seed file is older than the database)"
    }
}

impl From<redb::Error> for StoreError {
    fn from(e: redb::Error) -> Self {
        Self::Db(Box::new(e))
    }
}
