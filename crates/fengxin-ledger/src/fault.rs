//! Checking snapshot fault evidence against the publication it names (docs/snapshots.md):
//! deterministic, and from the record and the ledger alone.

use crate::record::FaultEvidence;
use fengxin_crypto::IdentityPublicKey;
use fengxin_signed::Publication;
use fengxin_snapshot::{
    check_committed_chunk, chunk_hash, verify_info, Assembler, SnapshotError, SnapshotHeader,
};

/// Whether `evidence` shows that the snapshot `publication` (with `header`, signed by the
/// member with `member_key`, if it is still a member) commits to is not what the publication
/// says; `Err` says why not. Without `full`, a committed chunk's subtree root is not hashed
/// (the rest is checked).
pub fn check(
    publication: &Publication,
    header: &SnapshotHeader,
    member_key: Option<&IdentityPublicKey>,
    evidence: &FaultEvidence,
    full: bool,
) -> Result<(), String> {
    if !header.is_well_formed() {
        return Err("the publication's snapshot header is not well formed".into());
    }
    match evidence {
        // The receiver's own check of a manifest, with the verdict turned round: the
        // evidence holds exactly when the committed manifest fails on the tree.
        FaultEvidence::WrongTree { manifest } => {
            match Assembler::new(*header, publication.root).accept_manifest(manifest.clone()) {
                Err(SnapshotError::WrongTree { .. }) => Ok(()),
                Ok(()) => Err("the manifest's subtree roots make the published tree root".into()),
                Err(e) => Err(format!(
                    "the manifest is not the one the chunk root commits to: {e}"
                )),
            }
        }
        FaultEvidence::Unfaithful {
            index,
            served,
            info,
            path,
        } => {
            if !verify_info(header, *index, info, path) {
                return Err(format!("chunk {index}: the info is not the committed one"));
            }
            let Some(member_key) = member_key else {
                return Err(format!(
                    "{} is no longer a member: its signature cannot be checked",
                    publication.member
                ));
            };
            if !served.verify(member_key, publication, &header.root, *index) {
                return Err(format!(
                    "chunk {index}: not signed by {} for this publication",
                    publication.member
                ));
            }
            if chunk_hash(*index, &served.bytes) == info.hash {
                return Err(format!(
                    "chunk {index}: the served chunk is the committed one"
                ));
            }
            Ok(())
        }
        FaultEvidence::Broken {
            index,
            bytes,
            info,
            path,
            previous,
        } => {
            if !verify_info(header, *index, info, path) {
                return Err(format!("chunk {index}: the info is not the committed one"));
            }
            let before = match (index.checked_sub(1), previous) {
                (None, None) => None,
                (Some(p), Some((prev, prev_path))) => {
                    if !verify_info(header, p, prev, prev_path) {
                        return Err(format!("chunk {p}: the info is not the committed one"));
                    }
                    Some(prev.last)
                }
                _ => {
                    return Err(format!(
                        "chunk {index}: the previous chunk's info is required exactly when \
                         there is a previous chunk"
                    ))
                }
            };
            if chunk_hash(*index, bytes) != info.hash {
                return Err(format!(
                    "chunk {index}: the bytes are not the committed chunk"
                ));
            }
            if full && check_committed_chunk(*header, *index, before, info, bytes).is_ok() {
                return Err(format!("chunk {index}: the committed chunk checks out"));
            }
            Ok(())
        }
    }
}
