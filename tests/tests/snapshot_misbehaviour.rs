//! A real querier node against a member that bends its snapshots, built from the library
//! pieces a node uses (identity certificate, QUIC endpoint, protocol messages, real OPRF keys
//! and snapshots). Three shared lists: one whose first chunk it corrupts in transit, one whose
//! published root is not the tree of the snapshot it serves, and one it serves honestly but
//! evaluates with another key than the published one, and a fourth it evaluates with the right
//! key but hands back in another order than asked. bank-a holds none of the first two (each
//! failure logged with its cause) and reports the last two's answers as misbehaviour.

use fengxin_crypto::{IdentityKey, ListKey, MasterSeed};
use fengxin_e2e::{import_and_publish, init_member, node_cmd, path_str, RunningNode};
use fengxin_ledger::{Record, RecordBody};
use fengxin_net::{Endpoint, Limits, StaticRegistry};
use fengxin_node::datadir::{MemberFile, Role};
use fengxin_protocol::{
    AnswerSource, Mode, Publication, Request, Responder, Response, RngCoreCrypto, ServedChunk,
    SignedPublication,
};
use fengxin_snapshot::{Entry, PaddingSecret, Snapshot, LABEL_LEN};
use fengxin_types::{CanonicalId, Epoch, IdType, ListId, ListPolicy, MemberName, Tag};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

const BIN: &str = env!("CARGO_BIN_EXE_fengxin-node-e2e");

/// Its first chunk is corrupted in transit.
const BAD_CHUNK: &str = "fraud_txn";
/// Its published root is over one tag fewer than the snapshot served.
const WRONG_TREE: &str = "credit_overdue";
/// Served honestly, evaluated with another key than the published one.
const WRONG_KEY: &str = "high_risk_account";
/// Served honestly, evaluated with the published key, the evaluations handed back reversed.
const REORDERED: &str = "marketing_abuse";

struct Bent {
    name: MemberName,
    identity: IdentityKey,
    keys: BTreeMap<ListId, ListKey>,
    other_key: ListKey,
    snapshots: BTreeMap<ListId, (Snapshot, [u8; 32])>,
    chain: std::sync::OnceLock<[u8; 32]>,
    members: std::sync::OnceLock<Vec<(MemberName, fengxin_crypto::IdentityPublicKey)>>,
}

fn lid(s: &str) -> ListId {
    ListId::parse(s).expect("valid")
}

impl Bent {
    fn new(listed: &[String]) -> Self {
        let mut rng = rand_core::OsRng;
        let seed = MasterSeed::generate(&mut rng);
        let mut keys = BTreeMap::new();
        let mut snapshots = BTreeMap::new();
        for l in [BAD_CHUNK, WRONG_TREE, WRONG_KEY, REORDERED] {
            let list = lid(l);
            let key = ListKey::derive(&seed, &list, Epoch::FIRST).expect("key");
            let entries: Vec<Entry> = listed
                .iter()
                .map(|s| {
                    let id = CanonicalId::parse(
                        IdType::CnId,
                        s,
                        fengxin_types::CivilDate::today_china(),
                    )
                    .expect("valid");
                    Entry {
                        tag: key.tag(&id).expect("tag"),
                        label: [7; LABEL_LEN],
                    }
                })
                .collect();
            let padding = PaddingSecret::from_bytes(seed.padding_secret(&list, Epoch::FIRST));
            let snapshot = Snapshot::build(entries, &padding, &list, Epoch::FIRST).expect("build");
            let tags: Vec<Tag> = snapshot.tags().collect();
            let root = if l == WRONG_TREE {
                fengxin_tree::sorted_root(tags[1..].iter().copied())
            } else {
                fengxin_tree::sorted_root(tags)
            }
            .expect("root")
            .to_bytes();
            keys.insert(list.clone(), key);
            snapshots.insert(list, (snapshot, root));
        }
        Self {
            name: MemberName::parse("bank-m").expect("valid"),
            identity: IdentityKey::generate(&mut rng),
            keys,
            other_key: ListKey::derive(
                &MasterSeed::generate(&mut rng),
                &lid(WRONG_KEY),
                Epoch::FIRST,
            )
            .expect("key"),
            snapshots,
            chain: std::sync::OnceLock::new(),
            members: std::sync::OnceLock::new(),
        }
    }

    fn publication(&self, list: &ListId) -> Publication {
        let (snapshot, root) = &self.snapshots[list];
        Publication {
            version: Publication::VERSION,
            chain: self.chain(),
            member: self.name.clone(),
            list: list.clone(),
            epoch: Epoch::FIRST,
            root: *root,
            oprf_public_key: self.keys[list].public_key().to_bytes(),
            published_at: 1,
            policy: ListPolicy::Shared,
            snapshot: Some(snapshot.header()),
        }
    }

    fn snapshot_part(&self, req: &fengxin_protocol::SnapshotRequest) -> Response {
        let (snapshot, _) = &self.snapshots[&req.list];
        if req.count == 0 {
            return Response::SnapshotManifest(snapshot.manifest());
        }
        let last = (req.first + req.count).min(snapshot.chunks());
        let publication = self.publication(&req.list);
        let chunks = (req.first..last)
            .map(|i| {
                let mut bytes = snapshot.chunk(i);
                if req.list.as_str() == BAD_CHUNK && i == 0 {
                    // A label byte of the first entry, flipped before it is signed.
                    bytes[Tag::LEN] ^= 1;
                }
                ServedChunk::sign(&self.identity, &publication, &req.chunk_root, i, bytes)
            })
            .collect();
        Response::SnapshotChunks(chunks)
    }
}

impl AnswerSource for Bent {
    fn chain(&self) -> [u8; 32] {
        self.chain.get().copied().unwrap_or_default()
    }

    fn offers(&self, _: &ListId, _: Mode) -> bool {
        true
    }

    fn identity_key(&self, member: &MemberName) -> Option<fengxin_crypto::IdentityPublicKey> {
        self.members
            .get()?
            .iter()
            .find(|(n, _)| n == member)
            .map(|(_, k)| *k)
    }

    fn published(&self, l: &ListId) -> Option<(Epoch, [u8; 32])> {
        self.snapshots.get(l).map(|(_, root)| (Epoch::FIRST, *root))
    }

    fn evaluate(
        &self,
        l: &ListId,
        _: Epoch,
        blinded: &[[u8; 32]],
        rng: &mut dyn RngCoreCrypto,
    ) -> Result<(Vec<[u8; 32]>, Vec<u8>), String> {
        let key = if l.as_str() == WRONG_KEY {
            &self.other_key
        } else {
            &self.keys[l]
        };
        key.blind_evaluate_batch(&mut &mut *rng, blinded)
            .map(|(mut e, p)| {
                if l.as_str() == REORDERED {
                    e.reverse();
                }
                (e, p.to_vec())
            })
            .map_err(|e| e.to_string())
    }

    fn prove(
        &self,
        _: &ListId,
        _: Epoch,
        _: Tag,
        _: &mut dyn RngCoreCrypto,
    ) -> Result<(bool, Vec<u8>), String> {
        Err("bank-m proves nothing".into())
    }

    fn member(&self) -> &MemberName {
        &self.name
    }

    fn sign(&self, bytes: &[u8]) -> Vec<u8> {
        self.identity.sign(bytes).to_vec()
    }

    fn publications(&self) -> Vec<SignedPublication> {
        self.snapshots
            .keys()
            .map(|l| self.publication(l).sign(&self.identity))
            .collect()
    }
}

async fn serve(endpoint: Endpoint, bent: Arc<Bent>) {
    let responder = Arc::new(Responder::default());
    while let Some(incoming) = endpoint.accept().await {
        let bent = bent.clone();
        let responder = responder.clone();
        tokio::spawn(async move {
            let Ok(conn) = incoming.establish().await else {
                return;
            };
            let peer = conn.member().clone();
            while let Ok(req) = conn.accept_request().await {
                let bent = bent.clone();
                let core = responder.clone();
                let peer = peer.clone();
                tokio::spawn(async move {
                    let Ok((request, reply)) = req.read::<Request>().await else {
                        return;
                    };
                    let response = match &request {
                        Request::Snapshot(r) => bent.snapshot_part(r),
                        _ => tokio::task::spawn_blocking(move || {
                            core.handle(&*bent, &peer, request, &mut rand_core::OsRng)
                        })
                        .await
                        .expect("responder task"),
                    };
                    let _ = reply.respond(&response).await;
                });
            }
        });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bent_snapshot_is_never_held_and_a_wrong_key_is_misbehaviour() {
    let bin = Path::new(BIN);
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().to_owned();
    let a = init_member(bin, &root, "bank-a");
    let own = root.join("a.csv");
    std::fs::write(&own, "identifier\n11010519491231002X\n").expect("write");
    import_and_publish(bin, &a, "fraud_txn", "cn_id", &own);
    let b = init_member(bin, &root, "bank-b");
    let b_list = root.join("b.csv");
    std::fs::write(&b_list, "identifier\n11010519491231002X\n").expect("write");
    import_and_publish(bin, &b, "marketing_abuse", "cn_id", &b_list);

    let listed: Vec<String> = fengxin_sample::identifiers(IdType::CnId, 8, 77).collect();
    let bent = Arc::new(Bent::new(&listed));
    let m_addr: SocketAddr = format!("127.0.0.1:{}", fengxin_e2e::free_port())
        .parse()
        .expect("addr");
    let registry: StaticRegistry = [
        (
            fengxin_e2e::identity_of(&a.file),
            MemberName::parse("bank-a").expect("valid"),
        ),
        (
            fengxin_e2e::identity_of(&b.file),
            MemberName::parse("bank-b").expect("valid"),
        ),
        (bent.identity.public(), bent.name.clone()),
    ]
    .into_iter()
    .collect();
    let endpoint = Endpoint::bind(
        m_addr,
        &bent.identity,
        Arc::new(registry),
        Limits::default(),
    )
    .expect("bind bank-m");
    tokio::spawn(serve(endpoint.clone(), bent.clone()));
    let m_json = root.join("bank-m.json");
    let file = MemberFile {
        version: 1,
        name: bent.name.clone(),
        identity_key: fengxin_api::IdentityKeyHex(bent.identity.public().to_bytes()),
        address: m_addr.to_string(),
        role: Role::Member,
        view_public_key: None,
    };
    std::fs::write(&m_json, serde_json::to_vec(&file).expect("json")).expect("write");
    let regulator = fengxin_e2e::init_regulator(bin, &root);
    let genesis = root.join("genesis.json");
    node_cmd(
        bin,
        &[
            "genesis",
            "--development",
            "--out",
            path_str(&genesis),
            "--member",
            path_str(&a.dir),
            "--member",
            path_str(&b.dir),
            "--member",
            path_str(&m_json),
            "--regulator",
            path_str(&regulator),
        ],
    );
    let parsed = fengxin_node::genesis::Genesis::load(&genesis).expect("genesis");
    bent.chain
        .set(fengxin_node::ledger::chain_id(&parsed).expect("chain id"))
        .expect("chain set once");
    bent.members
        .set(
            parsed
                .parties()
                .expect("parties")
                .into_iter()
                .map(|(p, _)| (p.name, p.key))
                .collect(),
        )
        .expect("members set once");
    let _node_a = RunningNode::start(bin, &a.dir, &genesis);
    let _node_b = RunningNode::start(bin, &b.dir, &genesis);
    let _regulator = RunningNode::start(bin, &regulator, &genesis);
    let records: Vec<Record> = bent
        .snapshots
        .keys()
        .map(|l| {
            Record::sign(
                bent.chain(),
                bent.name.clone(),
                &bent.identity,
                RecordBody::Publication(bent.publication(l)),
            )
        })
        .collect();
    match fengxin_api::call(&a.dir, &fengxin_api::ApiRequest::Submit { records })
        .expect("local API")
    {
        fengxin_api::ApiResponse::Submitted(_) => {}
        other => panic!("bank-m's publications refused: {other:?}"),
    }
    fengxin_node::consortium::wait_for_publications(&a.dir, 6).expect("publications");
    // bank-a holds bank-b's snapshot and bank-m's two honestly served ones, never the other
    // two.
    fengxin_node::consortium::wait_for_snapshots(&a.dir, 3).expect("three snapshots held");
    let log_of = |dir: &Path| std::fs::read_to_string(dir.join("node.log")).unwrap_or_default();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let log = log_of(&a.dir);
        let bad_chunk = log.contains(&format!("bank-m's {BAD_CHUNK} epoch 1 snapshot not held"))
            && log.contains("chunk 0");
        let wrong_tree = log.contains(&format!("bank-m's {WRONG_TREE} epoch 1 snapshot not held"))
            && log.contains("subtree roots make the tree root");
        if bad_chunk && wrong_tree {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "bank-a did not refuse both bent snapshots:\n{log}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    match fengxin_api::call(&a.dir, &fengxin_api::ApiRequest::Status).expect("status") {
        fengxin_api::ApiResponse::Status(s) => assert_eq!(s.held_snapshots, 3, "{s:?}"),
        other => panic!("unexpected {other:?}"),
    }
    let files_of = |list: &str| -> Vec<String> {
        let prefix = format!("bank-m.{list}.");
        std::fs::read_dir(a.dir.join("held"))
            .expect("held")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .filter(|f| f.starts_with(&prefix))
            .collect()
    };
    // Neither is held; the chunk fault keeps the manifest (and no verified chunk) for a later
    // round, the tree fault keeps nothing.
    assert!(files_of(BAD_CHUNK).iter().all(|f| !f.ends_with(".entries")));
    assert!(
        files_of(WRONG_TREE).is_empty(),
        "{:?}",
        files_of(WRONG_TREE)
    );

    // bank-a reported both to the ledger with their evidence (the signed chunk; the committed
    // manifest), every node checked it, and bank-b's copy of the ledger holds them.
    let faults = wait_for_faults(&b.dir, 2).await;
    assert_eq!(
        faults,
        vec![
            (
                "bank-a".into(),
                WRONG_TREE.into(),
                "wrong_tree".into(),
                None
            ),
            (
                "bank-a".into(),
                BAD_CHUNK.into(),
                "unfaithful_chunk".into(),
                Some(0)
            ),
        ]
    );
    // With the faults on the ledger, bank-a no longer wants those snapshots: their files go.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !files_of(BAD_CHUNK).is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "{:?}",
            files_of(BAD_CHUNK)
        );
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    // The regulator's audit flags bank-m for both, naming the reporter.
    let audit = match fengxin_api::call(
        &regulator,
        &fengxin_api::ApiRequest::Audit {
            from: None,
            to: None,
        },
    )
    .expect("audit")
    {
        fengxin_api::ApiResponse::Audit(a) => a,
        other => panic!("unexpected {other:?}"),
    };
    let flagged: Vec<(&str, Option<&str>, bool)> = audit
        .flags
        .iter()
        .filter(|f| f.rule == fengxin_api::FlagRule::SnapshotFault)
        .map(|f| {
            (
                f.member.as_str(),
                f.responder.as_ref().map(|r| r.as_str()),
                f.evidence.contains("chunk 0") || f.evidence.contains("the manifest"),
            )
        })
        .collect();
    assert_eq!(
        flagged,
        vec![
            ("bank-m", Some("bank-a"), true),
            ("bank-m", Some("bank-a"), true)
        ],
        "{:?}",
        audit.flags
    );

    // The honestly served snapshot, evaluated with another key: misbehaviour, never a miss.
    let report = match fengxin_api::call(
        &a.dir,
        &fengxin_api::ApiRequest::Screen {
            id_type: IdType::CnId,
            identifier: listed[0].clone(),
            list: Some(lid(WRONG_KEY)),
            members: Some(vec![bent.name.clone()]),
            case_reference: None,
        },
    )
    .expect("screen")
    {
        fengxin_api::ApiResponse::Screen(r) => r,
        other => panic!("unexpected {other:?}"),
    };
    assert_eq!(report.results.len(), 1, "{report:?}");
    let r = &report.results[0];
    assert!(r.result.is_none(), "{r:?}");
    assert_bad_dleq_proof(r.mode, r.verified, r.error.as_ref());

    // Evaluations handed back in another order (each one right for some identifier of the
    // batch): the batch's proof does not hold for that order, so misbehaviour again.
    let report = match fengxin_api::call(
        &a.dir,
        &fengxin_api::ApiRequest::ScreenBatch {
            id_type: IdType::CnId,
            identifiers: listed[..4].to_vec(),
            list: Some(lid(REORDERED)),
            members: Some(vec![bent.name.clone()]),
            case_reference: None,
        },
    )
    .expect("screen")
    {
        fengxin_api::ApiResponse::ScreenBatch(r) => r,
        other => panic!("unexpected {other:?}"),
    };
    assert_eq!(report.results.len(), 1, "{report:?}");
    let r = &report.results[0];
    assert!(r.hits.is_empty(), "{r:?}");
    assert_bad_dleq_proof(r.mode, r.verified, r.error.as_ref());
}

/// The snapshot faults on `dir`'s ledger once it holds `n`: (reporter, list, kind, chunk),
/// in the order committed.
async fn wait_for_faults(dir: &Path, n: usize) -> Vec<(String, String, String, Option<u64>)> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let height = match fengxin_api::call(dir, &fengxin_api::ApiRequest::LedgerStatus) {
            Ok(fengxin_api::ApiResponse::LedgerStatus(s)) => s.height,
            other => panic!("unexpected {other:?}"),
        };
        let mut faults = Vec::new();
        for h in 1..=height {
            let block =
                match fengxin_api::call(dir, &fengxin_api::ApiRequest::LedgerBlock { height: h }) {
                    Ok(fengxin_api::ApiResponse::LedgerBlock(b)) => b,
                    other => panic!("unexpected {other:?}"),
                };
            for r in block.records.iter().filter(|r| r.kind == "snapshot_fault") {
                assert_eq!(r.summary["member"], "bank-m", "{r:?}");
                faults.push((
                    r.author.as_str().to_owned(),
                    r.summary["list"].as_str().unwrap_or_default().to_owned(),
                    r.summary["fault"].as_str().unwrap_or_default().to_owned(),
                    r.summary["chunk"].as_u64(),
                ));
            }
        }
        if faults.len() >= n {
            faults.sort_by(|x, y| x.1.cmp(&y.1));
            return faults;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "snapshot faults on the ledger: {faults:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
}

/// A snapshot-mode answer reported as the responder's misbehaviour (`bad_dleq_proof`),
/// unverified.
#[track_caller]
fn assert_bad_dleq_proof(
    mode: Option<fengxin_api::ScreenMode>,
    verified: bool,
    error: Option<&fengxin_api::ScreenError>,
) {
    assert_eq!(mode, Some(fengxin_api::ScreenMode::Snapshot));
    assert!(!verified);
    let e = error.expect("an error");
    assert_eq!(
        e.kind,
        fengxin_api::ScreenErrorKind::PeerMisbehaved,
        "{e:?}"
    );
    assert_eq!(e.reason.as_deref(), Some("bad_dleq_proof"), "{e:?}");
}
