//! A real querier node against a misbehaving member, and hostile traffic against a real node.
//!
//! The misbehaving member ("bank-m") is built in this test from the same library pieces a node
//! uses (identity certificate, QUIC endpoint, protocol messages, real OPRF keys, trees and
//! Groth16 proofs), and bends its answers in each of the ways a querier must catch. It does not
//! run the ledger; the two honest nodes (bank-a, bank-b) are a quorum of the three validators,
//! and bank-m's signed publication reaches the ledger through bank-a's local API.

use fengxin_crypto::{IdentityKey, ListKey, MasterSeed};
use fengxin_e2e::{import_and_publish, init_member, node_cmd, path_str, RunningNode};
use fengxin_ledger::{Record, RecordBody};
use fengxin_net::{ConnectError, Endpoint, ExchangeError, Limits, StaticRegistry, StreamRejection};
use fengxin_node::datadir::{MemberFile, Role};
use fengxin_proofs::{keys, Prover};
use fengxin_protocol::{
    AnswerSource, Publication, Request, Responder, Response, RngCoreCrypto, SignedPublication,
};
use fengxin_tree::{IndexedMerkleTree, MemoryStore};
use fengxin_types::{CanonicalId, Epoch, IdType, ListId, MemberName, Tag};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

const BIN: &str = env!("CARGO_BIN_EXE_fengxin-node-e2e");

const HONEST: u8 = 0;
const WRONG_OPRF_KEY: u8 = 1;
const WRONG_ROOT: u8 = 2;
const FORGED_PROOF: u8 = 3;
const SWAPPED_PROOF: u8 = 4;
const GARBAGE: u8 = 5;
const FLIPPED_RESULT: u8 = 7;

struct Bent {
    name: MemberName,
    identity: IdentityKey,
    key: ListKey,
    other_key: ListKey,
    tree: IndexedMerkleTree<MemoryStore>,
    /// A tree with one more entry: its root is published in WRONG_ROOT mode.
    other_tree: IndexedMerkleTree<MemoryStore>,
    prover: Prover,
    /// A valid proof for a tag nobody asks about (answered in SWAPPED_PROOF mode).
    stray_proof: Vec<u8>,
    mode: AtomicU8,
    /// The chain, known once genesis is written.
    chain: std::sync::OnceLock<[u8; 32]>,
    /// The honest members' keys, from genesis.
    members: std::sync::OnceLock<Vec<(MemberName, fengxin_crypto::IdentityPublicKey)>>,
}

fn list() -> ListId {
    ListId::parse("fraud_txn").expect("valid")
}

impl Bent {
    fn new(entries: &[String]) -> Self {
        let mut rng = rand_core::OsRng;
        let seed = MasterSeed::generate(&mut rng);
        let key = ListKey::derive(&seed, &list(), Epoch::FIRST).expect("key");
        let other_key =
            ListKey::derive(&MasterSeed::generate(&mut rng), &list(), Epoch::FIRST).expect("key");
        let tag = |s: &String| {
            key.tag(
                &CanonicalId::parse(IdType::CnId, s, fengxin_types::CivilDate::today_china())
                    .expect("valid"),
            )
            .expect("tag")
        };
        let tags: Vec<Tag> = entries.iter().map(tag).collect();
        let tree = IndexedMerkleTree::build(MemoryStore::new(), tags.clone()).expect("build");
        let mut more = tags;
        more.push(tag(&"11010519491231002X".to_owned()));
        let other_tree = IndexedMerkleTree::build(MemoryStore::new(), more).expect("build");
        let prover =
            keys::load_prover(&keys::params_dir().expect("parameter directory")).expect("prover");
        // A tag nobody in this test screens.
        let stray_id = fengxin_sample::identifiers(IdType::CnId, 1, 999)
            .next()
            .expect("one identifier");
        let stray = tag(&stray_id);
        let lookup = tree.lookup(stray).expect("lookup");
        let (_, proof) = prover
            .prove_lookup(tree.root(), stray, &lookup, &mut rng)
            .expect("prove");
        Self {
            name: MemberName::parse("bank-m").expect("valid"),
            identity: IdentityKey::generate(&mut rng),
            key,
            other_key,
            tree,
            other_tree,
            prover,
            stray_proof: proof.to_bytes(),
            mode: AtomicU8::new(HONEST),
            chain: std::sync::OnceLock::new(),
            members: std::sync::OnceLock::new(),
        }
    }

    fn mode(&self) -> u8 {
        self.mode.load(Ordering::SeqCst)
    }

    fn published_root(&self) -> [u8; 32] {
        self.tree.root().to_bytes()
    }

    /// The publication committed to the ledger.
    fn publication(&self) -> Publication {
        Publication {
            version: Publication::VERSION,
            chain: self.chain(),
            member: self.name.clone(),
            list: list(),
            epoch: Epoch::FIRST,
            root: self.published_root(),
            oprf_public_key: self.key.public_key().to_bytes(),
            published_at: 1,
            policy: fengxin_types::ListPolicy::ProofOnly,
            snapshot: None,
        }
    }
}

impl AnswerSource for Bent {
    fn chain(&self) -> [u8; 32] {
        self.chain.get().copied().unwrap_or_default()
    }

    fn identity_key(&self, member: &MemberName) -> Option<fengxin_crypto::IdentityPublicKey> {
        self.members
            .get()?
            .iter()
            .find(|(n, _)| n == member)
            .map(|(_, k)| *k)
    }

    fn published(&self, l: &ListId) -> Option<(Epoch, [u8; 32])> {
        (l == &list()).then_some((Epoch::FIRST, self.published_root()))
    }

    fn evaluate(
        &self,
        _: &ListId,
        _: Epoch,
        blinded: &[[u8; 32]],
        rng: &mut dyn RngCoreCrypto,
    ) -> Result<(Vec<[u8; 32]>, Vec<u8>), String> {
        let key = if self.mode() == WRONG_OPRF_KEY {
            &self.other_key
        } else {
            &self.key
        };
        key.blind_evaluate_batch(&mut &mut *rng, blinded)
            .map(|(e, p)| (e, p.to_vec()))
            .map_err(|e| e.to_string())
    }

    fn prove(
        &self,
        _: &ListId,
        _: Epoch,
        tag: Tag,
        rng: &mut dyn RngCoreCrypto,
    ) -> Result<(bool, Vec<u8>), String> {
        // In WRONG_ROOT mode the answers are proven against an unpublished tree.
        let tree = if self.mode() == WRONG_ROOT {
            &self.other_tree
        } else {
            &self.tree
        };
        let lookup = tree.lookup(tag).map_err(|e| e.to_string())?;
        let (public, proof) = self
            .prover
            .prove_lookup(tree.root(), tag, &lookup, &mut &mut *rng)
            .map_err(|e| e.to_string())?;
        Ok(match self.mode() {
            FORGED_PROOF => {
                let mut forged = proof.to_bytes();
                forged[20] ^= 0x5a;
                (public.result, forged)
            }
            SWAPPED_PROOF => (public.result, self.stray_proof.clone()),
            FLIPPED_RESULT => (!public.result, proof.to_bytes()),
            _ => (public.result, proof.to_bytes()),
        })
    }

    fn member(&self) -> &MemberName {
        &self.name
    }

    fn sign(&self, bytes: &[u8]) -> Vec<u8> {
        self.identity.sign(bytes).to_vec()
    }

    fn publications(&self) -> Vec<SignedPublication> {
        vec![self.publication().sign(&self.identity)]
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
                let responder_core = responder.clone();
                let peer = peer.clone();
                tokio::spawn(async move {
                    let Ok((request, responder)) = req.read::<Request>().await else {
                        return;
                    };
                    if bent.mode() == GARBAGE && !matches!(request, Request::Publications) {
                        let _ = responder.respond_raw(&[0xff; 57]).await;
                        return;
                    }
                    let response = tokio::task::spawn_blocking(move || {
                        responder_core.handle(&*bent, &peer, request, &mut rand_core::OsRng)
                    })
                    .await
                    .expect("responder task");
                    let _ = responder.respond(&response).await;
                });
            }
        });
    }
}

fn member_file(name: &MemberName, key: &IdentityKey, address: SocketAddr) -> MemberFile {
    MemberFile {
        version: 1,
        name: name.clone(),
        identity_key: fengxin_api::IdentityKeyHex(key.public().to_bytes()),
        address: address.to_string(),
        role: Role::Member,
        view_public_key: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn misbehaving_member_is_flagged_and_hostile_traffic_is_refused() {
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
    let a_key = fengxin_e2e::identity_of(&a.file);
    let registry: StaticRegistry = [
        (a_key, MemberName::parse("bank-a").expect("valid")),
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
    std::fs::write(
        &m_json,
        serde_json::to_vec(&member_file(&bent.name, &bent.identity, m_addr)).expect("json"),
    )
    .expect("write");
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
    let mut node_a = RunningNode::start(bin, &a.dir, &genesis);
    let _node_b = RunningNode::start(bin, &b.dir, &genesis);

    // bank-m's publication goes on the ledger through bank-a's local API; forged ones do not.
    let submit = |records: Vec<Record>| {
        fengxin_api::call(&a.dir, &fengxin_api::ApiRequest::Submit { records }).expect("local API")
    };
    let sign = |p: Publication| {
        Record::sign(
            bent.chain(),
            bent.name.clone(),
            &bent.identity,
            RecordBody::Publication(p),
        )
    };
    let mut forged = sign(bent.publication());
    forged.signature[5] ^= 1;
    match submit(vec![forged]) {
        fengxin_api::ApiResponse::Error(fengxin_api::ApiError { kind, message }) => {
            assert_eq!(kind, "rejected");
            assert!(message.contains("signature"), "{message}");
        }
        other => panic!("a forged publication was accepted: {other:?}"),
    }
    let mut impostor = bent.publication();
    impostor.member = MemberName::parse("bank-b").expect("valid");
    match submit(vec![sign(impostor)]) {
        fengxin_api::ApiResponse::Error(fengxin_api::ApiError { message, .. }) => {
            assert!(
                message.contains("cannot write a record for bank-b"),
                "{message}"
            )
        }
        other => panic!("a publication in another member's name was accepted: {other:?}"),
    }
    match submit(vec![sign(bent.publication())]) {
        fengxin_api::ApiResponse::Submitted(ids) => assert_eq!(ids.len(), 1),
        other => panic!("bank-m's publication was refused: {other:?}"),
    }
    fengxin_node::consortium::wait_for_publications(&a.dir, 3).expect("publications committed");

    let screen = |id: String| {
        let dir = a.dir.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                match fengxin_api::call(
                    &dir,
                    &fengxin_api::ApiRequest::Screen {
                        id_type: fengxin_types::IdType::CnId,
                        identifier: id,
                        list: None,
                        members: Some(vec![
                            fengxin_types::MemberName::parse("bank-m").expect("member name")
                        ]),
                        case_reference: None,
                    },
                )
                .expect("local API")
                {
                    fengxin_api::ApiResponse::Screen(r) => r,
                    other => panic!("unexpected {other:?}"),
                }
            })
            .await
            .expect("screen task")
        }
    };

    // Honest answers first: the fake member is a working member.
    let report = screen(listed[0].clone()).await;
    assert_eq!(report.results.len(), 1);
    assert_eq!(
        report.results[0].result.map(|v| v.as_str()),
        Some("hit"),
        "{report:?}"
    );
    assert!(report.results[0].verified);
    let report = screen("11010519491231002X".into()).await;
    assert_eq!(
        report.results[0].result.map(|v| v.as_str()),
        Some("miss"),
        "{report:?}"
    );

    for (mode, what, reasons) in [
        (
            WRONG_OPRF_KEY,
            "OPRF evaluation proof",
            &["bad_dleq_proof"][..],
        ),
        (WRONG_ROOT, "published root", &["bad_groth16_proof"][..]),
        (
            FORGED_PROOF,
            "answer 0",
            &["malformed_proof", "bad_groth16_proof"][..],
        ),
        (SWAPPED_PROOF, "published root", &["bad_groth16_proof"][..]),
        (FLIPPED_RESULT, "published root", &["bad_groth16_proof"][..]),
        (GARBAGE, "malformed frame", &["bad_frame"][..]),
    ] {
        bent.mode.store(mode, Ordering::SeqCst);
        for id in [listed[1].clone(), "11010519491231002X".to_owned()] {
            let report = screen(id).await;
            assert_eq!(report.results.len(), 1, "{report:?}");
            let r = &report.results[0];
            assert!(!r.verified, "mode {mode}: {r:?}");
            assert_eq!(
                r.result, None,
                "mode {mode}: a misbehaving answer is never a hit or miss"
            );
            let e = r.error.as_ref().expect("error");
            assert_eq!(e.kind, "peer_misbehaved", "mode {mode}: {e:?}");
            assert!(e.message.contains(what), "mode {mode}: {e:?}");
            assert!(
                e.reason.as_deref().is_some_and(|r| reasons.contains(&r)),
                "mode {mode}: reason {:?} not in {reasons:?}",
                e.reason
            );
        }
    }
    bent.mode.store(HONEST, Ordering::SeqCst);

    // A node whose key is not in the registry is refused by bank-a. The stranger must accept
    // bank-a's key to even try, so its own registry names bank-a.
    let stranger = IdentityKey::generate(&mut rand_core::OsRng);
    let a_addr: SocketAddr = a.address().parse().expect("addr");
    let stranger_ep = Endpoint::bind(
        "127.0.0.1:0".parse().expect("addr"),
        &stranger,
        Arc::new(
            [(a_key, MemberName::parse("bank-a").expect("valid"))]
                .into_iter()
                .collect::<StaticRegistry>(),
        ),
        Limits::default(),
    )
    .expect("bind");
    // TLS 1.3 lets the client finish its handshake before the server has judged the client
    // certificate, so the refusal shows either as a failed handshake or as a connection lost
    // on the first request; never as an answer.
    match stranger_ep
        .connect(a_addr, &MemberName::parse("bank-a").expect("valid"))
        .await
    {
        Err(ConnectError::Handshake(_)) => {}
        Err(other) => panic!("unexpected connect error {other:?}"),
        Ok(conn) => match conn
            .request::<Request, Response>(&Request::Publications)
            .await
        {
            Err(ExchangeError::ConnectionLost(_) | ExchangeError::Closed) => {}
            other => panic!("an unregistered key must not be served: {other:?}"),
        },
    }
    // The stranger can see the refusal before bank-a has written its log line: wait for it.
    let logged = |log: &str| {
        log.lines()
            .any(|l| l.contains("refused connection from") && l.contains("is not a current member"))
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let log_a = loop {
        let log = std::fs::read_to_string(a.dir.join("node.log")).expect("bank-a log");
        if logged(&log) || std::time::Instant::now() >= deadline {
            break log;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert!(
        logged(&log_a),
        "bank-a must log the refused stranger: {log_a}"
    );

    // Malformed and oversized frames from a registered member are refused without a crash.
    let mut big = Limits::default();
    big.max_frame_len = 16 << 20;
    let m_client = Endpoint::bind(
        "127.0.0.1:0".parse().expect("addr"),
        &bent.identity,
        Arc::new(
            [(a_key, MemberName::parse("bank-a").expect("valid"))]
                .into_iter()
                .collect::<StaticRegistry>(),
        ),
        big,
    )
    .expect("bind");
    let conn = m_client
        .connect(a_addr, &MemberName::parse("bank-a").expect("valid"))
        .await
        .expect("registered member connects");
    let refused = |r: Result<Vec<u8>, ExchangeError>, want: StreamRejection| match r {
        Err(ExchangeError::Rejected(got)) => assert_eq!(got, want),
        other => panic!("expected the stream to be rejected with {want:?}, got {other:?}"),
    };
    refused(
        conn.request_raw(
            fengxin_net::FRAME_VERSION,
            b"\x07garbage that is no request",
        )
        .await,
        StreamRejection::Malformed,
    );
    refused(
        conn.request_raw(fengxin_net::FRAME_VERSION, &vec![0u8; 6 << 20])
            .await,
        StreamRejection::FrameTooLarge,
    );
    refused(
        conn.request_raw(9, b"unknown version").await,
        StreamRejection::UnsupportedVersion,
    );
    let pubs: Response = conn
        .request(&Request::Publications)
        .await
        .expect("a well-formed request is still served");
    assert!(matches!(pubs, Response::Publications(p) if p.len() == 1));
    assert!(node_a.is_running(), "bank-a must survive hostile traffic");

    // And bank-a still screens.
    let report = screen(listed[2].clone()).await;
    assert_eq!(report.results[0].result.map(|v| v.as_str()), Some("hit"));
}
