//! The edge: every operation's typed error mapped to its stable kind ([`ErrorKind`]) in one
//! place, where the commands and the local API report it. Inside the node, operations fail
//! with their own `thiserror` enums; only here do they become an [`ApiError`].

use crate::credits::SizeError;
use crate::daemon::StartError;
use crate::datadir::DataDirError;
use crate::genesis::GenesisError;
use crate::import::ImportError;
use crate::publish::PublishError;
use fengxin_api::{ApiError, ErrorKind};

/// The stable kind of a list-database failure.
pub fn store_kind(e: &fengxin_store::StoreError) -> ErrorKind {
    match e {
        fengxin_store::StoreError::SeedGeneration { .. } => ErrorKind::SeedGeneration,
        _ => ErrorKind::Store,
    }
}

/// The stable kind of a data-directory failure.
pub fn data_dir_kind(e: &DataDirError) -> ErrorKind {
    match e {
        DataDirError::SecretPermissions { .. } => ErrorKind::SecretPermissions,
        DataDirError::Store(e) => store_kind(e),
        _ => ErrorKind::DataDir,
    }
}

/// The stable kind of a list-file failure (rows are reported one by one, not as errors).
pub fn import_kind(e: &ImportError) -> ErrorKind {
    match e {
        ImportError::Store(e) => store_kind(e),
        _ => ErrorKind::InputFile,
    }
}

/// The stable kind of a publication or proof failure.
pub fn publish_kind(e: &PublishError) -> ErrorKind {
    match e {
        PublishError::DataDir(e) => data_dir_kind(e),
        PublishError::Store(e) => store_kind(e),
        PublishError::StoredRoot { .. } => ErrorKind::Store,
        PublishError::TooLargeToShare { .. } => ErrorKind::Usage,
        PublishError::Io { .. } => ErrorKind::Io,
        PublishError::Decode { .. } => ErrorKind::DataDir,
        PublishError::UnknownList(_) => ErrorKind::UnknownList,
        PublishError::Identifier(_) => ErrorKind::Usage,
        PublishError::Params(_) => ErrorKind::Params,
        PublishError::Prove(_) => ErrorKind::Prove,
        PublishError::Ledger(_) => ErrorKind::Ledger,
        PublishError::Size(e) => size_kind(e),
        _ => ErrorKind::Internal,
    }
}

/// The stable kind of a genesis failure.
pub fn genesis_kind(e: &GenesisError) -> ErrorKind {
    match e {
        GenesisError::Io { .. } => ErrorKind::Io,
        GenesisError::Params(_)
        | GenesisError::OtherVerifyingKey { .. }
        | GenesisError::DevelopmentKeys => ErrorKind::Params,
        _ => ErrorKind::Genesis,
    }
}

/// The stable kind of a list-size failure.
pub fn size_kind(e: &SizeError) -> ErrorKind {
    match e {
        SizeError::DataDir(e) => data_dir_kind(e),
        SizeError::Decode(_) => ErrorKind::DataDir,
        SizeError::Commit { .. } => ErrorKind::Confidential,
        _ => ErrorKind::Internal,
    }
}

/// The stable kind of a start-up failure.
pub fn start_kind(e: &StartError) -> ErrorKind {
    match e {
        StartError::DataDir(e) => data_dir_kind(e),
        StartError::Genesis(e) => genesis_kind(e),
        StartError::OtherIdentity(_) => ErrorKind::Genesis,
        StartError::Params(_) => ErrorKind::Params,
        StartError::Publish(e) => publish_kind(e),
        StartError::Store(e) => store_kind(e),
        StartError::Spent(_) => ErrorKind::Store,
        StartError::Size(e) => size_kind(e),
        StartError::Ledger(_) => ErrorKind::Ledger,
        StartError::ListenAddress { .. } => ErrorKind::Config,
        StartError::Endpoint(_) => ErrorKind::Network,
        StartError::Io { .. } => ErrorKind::Io,
        _ => ErrorKind::Internal,
    }
}

macro_rules! at_the_edge {
    ($($error:ty => $kind:ident),* $(,)?) => {
        $(impl From<$error> for ApiError {
            fn from(e: $error) -> Self {
                ApiError::new($kind(&e), e.to_string())
            }
        })*
    };
}

at_the_edge! {
    DataDirError => data_dir_kind,
    ImportError => import_kind,
    PublishError => publish_kind,
    GenesisError => genesis_kind,
    SizeError => size_kind,
    StartError => start_kind,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    /// The kinds scripts see for the failures operators meet most (docs/cli.md's table).
    #[test]
    fn common_failures_keep_their_documented_kinds() {
        let cases: Vec<(ApiError, &str)> = vec![
            (
                DataDirError::NotInitialised(PathBuf::from("/x")).into(),
                "data_dir",
            ),
            (
                PublishError::UnknownList(
                    fengxin_types::ListId::parse("fraud_txn").expect("list id"),
                )
                .into(),
                "unknown_list",
            ),
            (PublishError::Identifier("bad".into()).into(), "usage"),
            (GenesisError::Invalid("no members".into()).into(), "genesis"),
            (
                GenesisError::OtherVerifyingKey {
                    found: "a".into(),
                    pinned: "b".into(),
                }
                .into(),
                "params",
            ),
            (
                StartError::ListenAddress {
                    address: "nowhere".into(),
                    reason: "invalid socket address syntax".into(),
                }
                .into(),
                "config",
            ),
            (
                StartError::Endpoint("address in use".into()).into(),
                "network",
            ),
            (
                StartError::Genesis(GenesisError::Invalid("x".into())).into(),
                "genesis",
            ),
        ];
        for (e, kind) in cases {
            assert_eq!(e.kind, kind, "{}", e.message);
            assert!(!e.message.is_empty());
        }
    }
}
