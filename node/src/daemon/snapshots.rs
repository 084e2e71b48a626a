//! Snapshots (docs/snapshots.md): serving this member's shared lists to other members, and
//! holding other members' verified snapshots for snapshot-mode screening.
//!
//! **Serving.** A current member asks for the manifest or up to [`MAX_SNAPSHOT_CHUNKS`] chunks
//! of a list's snapshot for the publication on the ledger (epoch and chunk root). The snapshot
//! is built once from the list database (the running node holds it, so the list does not
//! change) and served only while it is the one the ledger's publication names.
//!
//! **Holding.** Every [`SYNC_ROUND`], the node fetches the snapshot of every other member's
//! shared list whose current publication it does not hold: the manifest (checked against the
//! chunk root, its subtree roots against the published tree root), then the chunks in order,
//! each checked as it arrives (hash, length, tag order, last tag, subtree root) and written
//! straight to an owner-only `.part` file in `DATA/held/`, so memory stays one request of
//! chunks whatever the snapshot's size. Once every chunk is in, the file is renamed `.entries`
//! and the copy held: its tags are exactly the published tree's. A manifest or a chunk that
//! fails is the responder's misbehaviour: the copy is discarded, the failure logged with the
//! failing chunk, and screening of that list stays in proof mode. Any other failure (the responder
//! unreachable or refusing, this node stopped) keeps the manifest and the chunks verified so
//! far, and the next round or run resumes after them. A copy kept from an earlier run is
//! checked again from its own files, exactly as if it had just arrived, before it is held; a
//! chunk of it that fails is this node's damaged file, cut off and fetched again. A copy is
//! replaced when the member publishes another root, and its files deleted when it is
//! superseded or the member leaves.

use super::querier::{exchange, StepError};
use super::state::Node;
use crate::genesis::Party;
use fengxin_ledger::{FaultEvidence, Record, RecordBody, SnapshotFault};
use fengxin_protocol::{
    Refusal, RefusalKind, Request, Response, ServedChunk, SnapshotRequest, MAX_SNAPSHOT_CHUNKS,
};
use fengxin_snapshot::{
    chunk_hash, info_path, Assembler, ChunkInfo, Snapshot, SnapshotError, SnapshotHeader,
    CHUNK_INFO_LEN, ENTRY_LEN, LABEL_LEN,
};
use fengxin_types::{Epoch, ListId, ListPolicy, MemberName, Tag};
use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// How often the held copies are brought up to date.
pub const SYNC_ROUND: Duration = Duration::from_secs(2);

/// The directory of held snapshots in a data directory.
pub const HELD_DIR: &str = "held";

/// A snapshot this node serves: the one built for (list, epoch, chunk root).
pub(super) type Served = BTreeMap<ListId, Arc<(Epoch, SnapshotHeader, Snapshot)>>;

/// Answers a snapshot request from `peer`.
pub(super) async fn serve(node: Arc<Node>, peer: MemberName, req: SnapshotRequest) -> Response {
    let refuse = |kind, m: String| Response::Refused(Refusal::new(kind, m));
    let published = node
        .ledger
        .read(|s| {
            s.current_publication(&node.member, &req.list)
                .map(|p| p.publication.clone())
        })
        .ok()
        .flatten();
    let Some(p) = published else {
        return refuse(
            RefusalKind::UnknownList,
            format!("no current publication of {}", req.list),
        );
    };
    let header = match (p.policy, p.snapshot) {
        (ListPolicy::Shared, Some(h)) => h,
        _ => {
            return refuse(
                RefusalKind::ModeNotOffered,
                format!("{} is proof-only: its snapshot is not shared", req.list),
            )
        }
    };
    if p.epoch != req.epoch || header.root != req.chunk_root {
        return refuse(
            RefusalKind::StaleRoot,
            format!(
                "{}: the current publication is epoch {} with another chunk root",
                req.list, p.epoch
            ),
        );
    }
    if node.current.get(&req.list) != Some(&(p.epoch, p.root)) {
        return refuse(
            RefusalKind::StaleRoot,
            format!("{} changed since its publication", req.list),
        );
    }
    let snapshot = match served(&node, &req.list, p.epoch, header).await {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!("{peer}: snapshot of {} not served: {e}", req.list);
            return refuse(RefusalKind::Internal, e);
        }
    };
    let (_, _, snapshot) = &*snapshot;
    if req.count == 0 {
        return Response::SnapshotManifest(snapshot.manifest());
    }
    if req.count > MAX_SNAPSHOT_CHUNKS || req.first >= snapshot.chunks() {
        return refuse(
            RefusalKind::Malformed,
            format!(
                "chunks {}..+{}: the snapshot has {} chunks, at most {MAX_SNAPSHOT_CHUNKS} a request",
                req.first,
                req.count,
                snapshot.chunks()
            ),
        );
    }
    let last = req.first.saturating_add(req.count).min(snapshot.chunks());
    Response::SnapshotChunks(
        (req.first..last)
            .map(|i| ServedChunk::sign(&node.identity, &p, &header.root, i, snapshot.chunk(i)))
            .collect(),
    )
}

/// The snapshot this node serves for its publication of (list, epoch) with `header`, built
/// from the list database on first use. One build at a time: requests that miss the cache
/// while a build runs wait for it and take its result.
async fn served(
    node: &Arc<Node>,
    list: &ListId,
    epoch: Epoch,
    header: SnapshotHeader,
) -> Result<Arc<(Epoch, SnapshotHeader, Snapshot)>, String> {
    let cached = || -> Result<_, String> {
        Ok(node
            .served
            .lock()
            .map_err(|_| "snapshot cache poisoned".to_owned())?
            .get(list)
            .filter(|s| s.0 == epoch && s.1 == header)
            .cloned())
    };
    if let Some(s) = cached()? {
        return Ok(s);
    }
    let _building = node.building.lock().await;
    if let Some(s) = cached()? {
        return Ok(s);
    }
    let (n, l) = (node.clone(), list.clone());
    let snapshot = tokio::task::spawn_blocking(move || {
        crate::publish::build_snapshot(&n.store, &n.seed, &l, epoch).map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| e.to_string())??;
    if snapshot.header() != header {
        return Err(format!(
            "the list database's snapshot of {list} is not the published one"
        ));
    }
    let built = Arc::new((epoch, header, snapshot));
    node.served
        .lock()
        .map_err(|_| "snapshot cache poisoned".to_owned())?
        .insert(list.clone(), built.clone());
    Ok(built)
}

/// A verified snapshot of another member's list, held on disk.
#[derive(Debug)]
pub struct Held {
    /// The publication epoch.
    pub epoch: Epoch,
    /// The published tree root it rebuilds.
    pub root: [u8; 32],
    /// The published header.
    pub header: SnapshotHeader,
    manifest: Vec<ChunkInfo>,
    /// The first tag of every chunk, to find the chunk a tag would be in.
    first_tags: Vec<Tag>,
    path: PathBuf,
}

/// What this node holds of others' snapshots, by (member, list).
pub(super) type HeldCopies = BTreeMap<(MemberName, ListId), Arc<Held>>;

impl Held {
    /// Looks `tags` up: per tag, its label if the snapshot holds it. Reads each chunk that
    /// may hold one of them once, and checks it against the manifest again as it is read.
    pub fn lookup(&self, tags: &[Tag]) -> Result<Vec<Option<[u8; LABEL_LEN]>>, String> {
        let mut order: Vec<usize> = (0..tags.len()).collect();
        order.sort_unstable_by_key(|&i| tags[i]);
        let mut out = vec![None; tags.len()];
        let mut file =
            std::fs::File::open(&self.path).map_err(|e| format!("{}: {e}", self.path.display()))?;
        let mut current: Option<(usize, Vec<u8>)> = None;
        for i in order {
            let tag = tags[i];
            // The last chunk whose first tag is not above this one.
            let c = self.first_tags.partition_point(|t| *t <= tag);
            let Some(c) = c.checked_sub(1) else { continue };
            if current.as_ref().map(|(k, _)| *k) != Some(c) {
                current = Some((c, self.read_chunk(&mut file, c)?));
            }
            let Some((_, bytes)) = &current else { continue };
            let n = bytes.len() / ENTRY_LEN;
            let found = binary_search(bytes, n, &tag);
            if let Some(k) = found {
                let at = k * ENTRY_LEN + Tag::LEN;
                let mut label = [0u8; LABEL_LEN];
                label.copy_from_slice(&bytes[at..at + LABEL_LEN]);
                out[i] = Some(label);
            }
        }
        Ok(out)
    }

    fn read_chunk(&self, file: &mut std::fs::File, c: usize) -> Result<Vec<u8>, String> {
        let per = fengxin_snapshot::CHUNK_ENTRIES * ENTRY_LEN;
        let start = (c * per) as u64;
        let total = self.header.entries as usize * ENTRY_LEN;
        let len = per.min(total - c * per);
        let mut bytes = vec![0u8; len];
        file.seek(SeekFrom::Start(start))
            .and_then(|_| file.read_exact(&mut bytes))
            .map_err(|e| format!("{}: {e}", self.path.display()))?;
        if chunk_hash(c as u32, &bytes) != self.manifest[c].hash {
            return Err(format!(
                "{}: chunk {c} no longer matches its manifest (the file was changed)",
                self.path.display()
            ));
        }
        Ok(bytes)
    }
}

fn binary_search(bytes: &[u8], n: usize, tag: &Tag) -> Option<usize> {
    let (mut lo, mut hi) = (0, n);
    while lo < hi {
        let mid = (lo + hi) / 2;
        let at = &bytes[mid * ENTRY_LEN..mid * ENTRY_LEN + Tag::LEN];
        match at.cmp(tag.as_bytes().as_slice()) {
            std::cmp::Ordering::Less => lo = mid + 1,
            std::cmp::Ordering::Greater => hi = mid,
            std::cmp::Ordering::Equal => return Some(mid),
        }
    }
    None
}

/// The held copy of `member`'s `list` if it is the one its publication of `epoch` and `root`
/// names.
pub(super) fn held(
    node: &Node,
    member: &MemberName,
    list: &ListId,
    epoch: Epoch,
    root: &[u8; 32],
) -> Option<Arc<Held>> {
    let faulted = node
        .ledger
        .read(|s| s.snapshot_fault(member, list, epoch).is_some())
        .unwrap_or(true);
    if faulted {
        return None;
    }
    node.held
        .read()
        .ok()?
        .get(&(member.clone(), list.clone()))
        .filter(|h| h.epoch == epoch && &h.root == root)
        .cloned()
}

/// Keeps the held copies in step with the ledger's publications, every [`SYNC_ROUND`].
pub(super) async fn sync_snapshots(node: Arc<Node>) {
    let dir = node.data.join(HELD_DIR);
    if let Err(e) = owner_only_dir(&dir) {
        tracing::warn!("{}: {e}; snapshots are not held", dir.display());
        return;
    }
    let mut backoff = Backoff::new();
    // Aborted by the daemon at shutdown (the shutdown notification is the daemon's to take).
    loop {
        sync_round(&node, &dir, &mut backoff).await;
        tokio::time::sleep(SYNC_ROUND).await;
    }
}

/// How long a publication whose snapshot was served wrong is left alone before it is fetched
/// again.
pub const MISBEHAVIOUR_BACKOFF: Duration = Duration::from_secs(30);

/// Publications (member, list, epoch) not to fetch before a time.
type Backoff = BTreeMap<(MemberName, ListId, Epoch), std::time::Instant>;

/// The files of the copy of one publication's snapshot in `DATA/held/`: the entries once
/// verified, the entries while they arrive, and the manifest (resumed from on the next round
/// or after a restart).
struct CopyFiles {
    entries: PathBuf,
    part: PathBuf,
    manifest: PathBuf,
}

impl CopyFiles {
    fn stem(p: &fengxin_protocol::Publication, header: &SnapshotHeader) -> String {
        format!(
            "{}.{}.{}.{}",
            p.member,
            p.list,
            p.epoch,
            hex::encode(&header.root[..8])
        )
    }

    fn new(dir: &Path, stem: &str) -> Self {
        Self {
            entries: dir.join(format!("{stem}.entries")),
            part: dir.join(format!("{stem}.part")),
            manifest: dir.join(format!("{stem}.manifest")),
        }
    }

    fn remove(&self) {
        for f in [&self.entries, &self.part, &self.manifest] {
            let _ = std::fs::remove_file(f);
        }
    }
}

async fn sync_round(node: &Arc<Node>, dir: &Path, backoff: &mut Backoff) {
    let wanted: Vec<(Party, fengxin_protocol::Publication, SnapshotHeader)> = node
        .ledger
        .read(|s| {
            s.current_publications()
                .into_iter()
                .filter(|p| p.publication.member != node.member)
                .filter(|p| {
                    let p = &p.publication;
                    s.snapshot_fault(&p.member, &p.list, p.epoch).is_none()
                })
                .filter_map(|p| {
                    let p = p.publication.clone();
                    let h = p.snapshot?;
                    let m = s.members().get(&p.member)?;
                    let party = Party::from_ledger(&p.member, &m.identity_key, &m.address)?;
                    Some((party, p, h))
                })
                .collect()
        })
        .unwrap_or_default();
    // Drop copies, and files of copies, that no current publication names.
    if let Ok(mut held) = node.held.write() {
        held.retain(|(member, list), h| {
            wanted.iter().any(|(_, p, _)| {
                (&p.member, &p.list, p.epoch, p.root) == (member, list, h.epoch, h.root)
            })
        });
    }
    let stems: Vec<String> = wanted
        .iter()
        .map(|(_, p, h)| CopyFiles::stem(p, h))
        .collect();
    remove_stale_files(dir, &stems);
    let now = std::time::Instant::now();
    backoff.retain(|_, until| *until > now);
    for (party, p, header) in wanted {
        if held(node, &p.member, &p.list, p.epoch, &p.root).is_some() {
            continue;
        }
        let key = (p.member.clone(), p.list.clone(), p.epoch);
        if backoff.contains_key(&key) {
            continue;
        }
        let files = CopyFiles::new(dir, &CopyFiles::stem(&p, &header));
        match fetch(node, &party, &p, header, &files).await {
            Ok(h) => {
                tracing::info!(
                    "holding {}'s {} epoch {} snapshot ({} entries, {} chunks from the \
                     responder)",
                    p.member,
                    p.list,
                    p.epoch,
                    header.entries,
                    h.fetched
                );
                install(node, &p, h.held, &files);
            }
            Err(f) => {
                if f.discard {
                    files.remove();
                }
                tracing::warn!(
                    "{}'s {} epoch {} snapshot not held: {}",
                    p.member,
                    p.list,
                    p.epoch,
                    f.error.message()
                );
                if f.error.is_misbehaviour() {
                    backoff.insert(key, now + MISBEHAVIOUR_BACKOFF);
                }
                if let Some(evidence) = f.evidence {
                    report(node, &p, *evidence);
                }
            }
        }
    }
}

/// Submits the evidence of a fault of `p`'s snapshot to the ledger, where every node checks
/// it and the regulator's audit shows it.
fn report(node: &Node, p: &fengxin_protocol::Publication, evidence: FaultEvidence) {
    let kind = evidence.kind();
    let chunk = evidence
        .chunk()
        .map_or_else(|| "the manifest".to_owned(), |c| format!("chunk {c}"));
    let record = Record::sign(
        node.chain,
        node.member.clone(),
        &node.identity,
        RecordBody::SnapshotFault(Box::new(SnapshotFault {
            member: p.member.clone(),
            list: p.list.clone(),
            epoch: p.epoch,
            evidence,
        })),
    );
    // Checking the evidence can take a chunk's worth of hashing: off the async threads.
    match tokio::task::block_in_place(|| node.ledger.submit(vec![record])) {
        Ok(ids) => tracing::warn!(
            "reported {}'s {} epoch {} snapshot fault ({kind}, {chunk}) to the ledger: record {}",
            p.member,
            p.list,
            p.epoch,
            ids.first().map(hex::encode).unwrap_or_default()
        ),
        Err(e) => tracing::info!(
            "{}'s {} epoch {} snapshot fault ({kind}, {chunk}) not submitted: {e}",
            p.member,
            p.list,
            p.epoch
        ),
    }
}

/// Why a fetch failed, and the evidence when the failure is a fault anyone can check: of the
/// publication itself, or of a chunk the member signed.
struct FetchFailure {
    error: StepError,
    evidence: Option<Box<FaultEvidence>>,
    /// Whether what is on disk is of no use (the manifest failed); otherwise the chunks
    /// verified so far are kept.
    discard: bool,
}

impl From<StepError> for FetchFailure {
    fn from(error: StepError) -> Self {
        Self {
            error,
            evidence: None,
            discard: false,
        }
    }
}

/// The evidence for chunk `index`, served as `served`, failing with `e` against `manifest`.
fn chunk_evidence(
    manifest: &[ChunkInfo],
    index: u32,
    served: &ServedChunk,
    e: &SnapshotError,
) -> Option<FaultEvidence> {
    let info = *manifest.get(index as usize)?;
    let path = info_path(manifest, index);
    match e {
        SnapshotError::BadChunk {
            committed: false, ..
        } => Some(FaultEvidence::Unfaithful {
            index,
            served: served.clone(),
            info,
            path,
        }),
        SnapshotError::BadChunk {
            committed: true, ..
        } => Some(FaultEvidence::Broken {
            index,
            bytes: served.bytes.clone(),
            info,
            path,
            previous: index.checked_sub(1).and_then(|p| {
                let prev = *manifest.get(p as usize)?;
                Some((prev, info_path(manifest, p)))
            }),
        }),
        _ => None,
    }
}

/// Removes every file of `dir` that is not one of the copies named by `stems`.
fn remove_stale_files(dir: &Path, stems: &[String]) {
    let Ok(read) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in read.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let stem = name.rsplit_once('.').map_or(name.as_str(), |(s, _)| s);
        if !stems.iter().any(|s| s == stem) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Marks a verified copy complete and holds it. The rename happens under the write lock, so
/// a screening that sees the complete file also sees the copy held.
fn install(node: &Node, p: &fengxin_protocol::Publication, held: Held, files: &CopyFiles) {
    let Ok(mut copies) = node.held.write() else {
        return;
    };
    if let Err(e) = std::fs::rename(&files.part, &files.entries) {
        tracing::warn!("{}: {e}; the snapshot is not held", files.entries.display());
        return;
    }
    copies.insert((p.member.clone(), p.list.clone()), Arc::new(held));
}

/// A copy verified in its `.part` file.
struct Verified {
    held: Held,
    /// Chunks that came from the responder (the others were resumed from this node's disk).
    fetched: u32,
}

/// Fetches and verifies `p`'s snapshot into `files`, resuming from what an earlier round or
/// run left: the manifest and every leading chunk on disk are checked exactly as if they had
/// just arrived (a chunk that fails is this node's damaged file, cut off and fetched again);
/// the rest comes from the responder. A manifest that fails makes the files useless
/// ([`FetchFailure::discard`]); any other failure, a chunk's included, leaves what was
/// verified for the next round.
async fn fetch(
    node: &Arc<Node>,
    party: &Party,
    p: &fengxin_protocol::Publication,
    header: SnapshotHeader,
    files: &CopyFiles,
) -> Result<Verified, FetchFailure> {
    let misbehaved = |m: String| StepError::misbehaved(m, "bad_snapshot");
    let local = |e: std::io::Error, f: &Path| StepError::local(format!("{}: {e}", f.display()));
    let ask = |first: u32, count: u32| {
        Request::Snapshot(SnapshotRequest {
            list: p.list.clone(),
            epoch: p.epoch,
            chunk_root: header.root,
            first,
            count,
        })
    };
    // A complete copy from an earlier run is verified again before it is held.
    if files.entries.exists() {
        std::fs::rename(&files.entries, &files.part).map_err(|e| local(e, &files.part))?;
    }
    let mut assembler = Assembler::new(header, p.root);
    let on_disk =
        read_manifest(&files.manifest).is_some_and(|m| assembler.accept_manifest(m).is_ok());
    if !on_disk {
        let _ = std::fs::remove_file(&files.part);
        let m = match exchange(node, party, &ask(0, 0)).await? {
            Response::SnapshotManifest(m) => m,
            Response::Refused(r) => return Err(StepError::refused(r).into()),
            _ => {
                return Err(FetchFailure {
                    discard: true,
                    ..misbehaved("answered a manifest request with something else".into()).into()
                })
            }
        };
        let evidence = FaultEvidence::WrongTree {
            manifest: m.clone(),
        };
        assembler.accept_manifest(m).map_err(|e| FetchFailure {
            evidence: matches!(e, SnapshotError::WrongTree { .. }).then(|| Box::new(evidence)),
            error: misbehaved(e.to_string()),
            discard: true,
        })?;
        let accepted = assembler.manifest().unwrap_or_default();
        write_manifest(&files.manifest, accepted).map_err(|e| local(e, &files.manifest))?;
    }
    let path = files.part.clone();
    let (mut file, mut first_tags) = tokio::task::block_in_place(|| resume(&path, &mut assembler))
        .map_err(|e| local(e, &path))?;
    let resumed = assembler.next_chunk();
    while assembler.next_chunk() < header.chunks {
        let first = assembler.next_chunk();
        let count = MAX_SNAPSHOT_CHUNKS.min(header.chunks - first);
        let chunks = match exchange(node, party, &ask(first, count)).await? {
            Response::SnapshotChunks(c) if !c.is_empty() => c,
            Response::Refused(r) => return Err(StepError::refused(r).into()),
            _ => return Err(misbehaved(format!("no chunks from chunk {first}")).into()),
        };
        // Each chunk's subtree root is a few thousand hashes: off the async threads.
        tokio::task::block_in_place(|| {
            for (k, served) in chunks.iter().enumerate() {
                let index = first + k as u32;
                if !served.verify(&party.key, p, &header.root, index) {
                    return Err(misbehaved(format!(
                        "chunk {index}: not signed by {} for this publication",
                        party.name
                    ))
                    .into());
                }
                let bytes = &served.bytes;
                let entries = assembler
                    .accept_chunk(index, bytes)
                    .map_err(|e| FetchFailure {
                        evidence: assembler
                            .manifest()
                            .and_then(|m| chunk_evidence(m, index, served, &e))
                            .map(Box::new),
                        error: misbehaved(e.to_string()),
                        discard: false,
                    })?;
                if let Some(e) = entries.first() {
                    first_tags.push(e.tag);
                }
                file.write_all(bytes).map_err(|e| local(e, &path))?;
            }
            Ok::<(), FetchFailure>(())
        })?;
    }
    assembler.finish().map_err(|e| misbehaved(e.to_string()))?;
    file.sync_all().map_err(|e| local(e, &path))?;
    Ok(Verified {
        held: Held {
            epoch: p.epoch,
            root: p.root,
            header,
            manifest: assembler.into_manifest().unwrap_or_default(),
            first_tags,
            path: files.entries.clone(),
        },
        fetched: header.chunks - resumed,
    })
}

/// The manifest saved in `path`, if there is one of whole chunk infos.
fn read_manifest(path: &Path) -> Option<Vec<ChunkInfo>> {
    let bytes = std::fs::read(path).ok()?;
    if bytes.len() % CHUNK_INFO_LEN != 0 {
        return None;
    }
    bytes
        .chunks_exact(CHUNK_INFO_LEN)
        .map(|b| ChunkInfo::from_bytes(b.try_into().ok()?))
        .collect()
}

fn write_manifest(path: &Path, manifest: &[ChunkInfo]) -> std::io::Result<()> {
    let mut file = owner_only_file(path)?;
    for info in manifest {
        file.write_all(&info.to_bytes())?;
    }
    file.sync_all()
}

/// Feeds the chunks already in `path` (created if missing) to `assembler` in order while they
/// check out, cuts the file after the last one that does, and returns it open at its end with
/// the first tag of every accepted chunk.
fn resume(path: &Path, assembler: &mut Assembler) -> std::io::Result<(std::fs::File, Vec<Tag>)> {
    let mut file = owner_only_append(path)?;
    let len = file.metadata()?.len();
    let header = assembler.header();
    let per = (fengxin_snapshot::CHUNK_ENTRIES * ENTRY_LEN) as u64;
    let total = header.entries * ENTRY_LEN as u64;
    let mut first_tags = Vec::with_capacity(header.chunks as usize);
    let mut good = 0u64;
    file.seek(SeekFrom::Start(0))?;
    let mut reader = std::io::BufReader::with_capacity(1 << 20, &file);
    while good < len.min(total) {
        let size = per.min(total - good);
        if good + size > len {
            break;
        }
        let mut bytes = vec![0u8; size as usize];
        reader.read_exact(&mut bytes)?;
        let index = assembler.next_chunk();
        match assembler.accept_chunk(index, &bytes) {
            Ok(entries) => {
                if let Some(e) = entries.first() {
                    first_tags.push(e.tag);
                }
                good += size;
            }
            Err(e) => {
                tracing::warn!("{}: {e}; fetched again from the responder", path.display());
                break;
            }
        }
    }
    drop(reader);
    file.set_len(good)?;
    file.seek(SeekFrom::End(0))?;
    Ok((file, first_tags))
}

fn owner_only_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

fn owner_only_file(path: &Path) -> std::io::Result<std::fs::File> {
    owner_only(
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true),
    )
    .open(path)
}

/// Opened for reading and writing, kept as it is, created owner-only if missing.
fn owner_only_append(path: &Path) -> std::io::Result<std::fs::File> {
    owner_only(
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true),
    )
    .open(path)
}

fn owner_only(options: &mut std::fs::OpenOptions) -> &mut std::fs::OpenOptions {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
}

/// One snapshot-mode exchange for a batch of at most 65,535 identifiers (restarted from a
/// fresh blinding and claim when retried): the responder evaluates the blinded batch with one
/// DLEQ proof under the published key, and each unblinded tag is looked up in the held copy.
/// Returns hit or miss and, on a hit, the entry's label, per identifier, and the records to
/// submit (the receipt and, with a regulator, its details: counts only).
pub(super) async fn query_snapshot(
    node: &Node,
    party: &Party,
    publication: &fengxin_protocol::Publication,
    held: &Held,
    ids: &[fengxin_types::CanonicalId],
    case_reference: Option<&str>,
) -> Result<
    (
        Vec<bool>,
        Vec<Option<fengxin_api::HitLabel>>,
        Vec<fengxin_ledger::Record>,
    ),
    StepError,
> {
    let claim = super::querier::allowance_claim(node, ids.len())?;
    let claim_bytes = claim
        .as_ref()
        .map(fengxin_ledger::AllowanceClaim::to_bytes)
        .unwrap_or_default();
    let querier = fengxin_protocol::Querier {
        chain: node.chain,
        member: &node.member,
        key: &node.identity,
    };
    let (awaiting, request) = tokio::task::block_in_place(|| {
        querier.start_mode(
            &mut rand_core::OsRng,
            publication,
            ids,
            claim_bytes,
            fengxin_protocol::Mode::Snapshot,
        )
    })?;
    let response = exchange(node, party, &request).await?;
    let done = tokio::task::block_in_place(|| awaiting.finish_snapshot(response, &party.key))?;
    let tags: Vec<Tag> = done.outputs.iter().map(|o| o.tag()).collect();
    let found = tokio::task::block_in_place(|| held.lookup(&tags)).map_err(StepError::local)?;
    let mut hits = Vec::with_capacity(ids.len());
    let mut labels = Vec::with_capacity(ids.len());
    for ((output, tag), sealed) in done.outputs.iter().zip(&tags).zip(&found) {
        hits.push(sealed.is_some());
        // A label that does not open (the member sealed it wrongly) leaves the hit without one.
        labels.push(sealed.as_ref().and_then(|sealed| {
            fengxin_crypto::label::open(&output.label_key(), tag, sealed)
                .ok()
                .map(|l| fengxin_api::HitLabel {
                    reason: l.reason,
                    added_on: l.added_on,
                })
        }));
    }
    let count = hits.iter().filter(|h| **h).count() as u64;
    let records = super::querier::receipt_records(node, &done.receipt, || {
        crate::credits::ReceiptDetails::of_snapshot(&done, count, case_reference)
    })?;
    Ok((hits, labels, records))
}
