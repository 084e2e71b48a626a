//! Root attestation end to end: real member and regulator nodes on loopback, and a rogue
//! member (bank-q) built from the project's own crates that publishes roots over trees it
//! made up and sends their layouts to the regulator itself.
//!
//! An honest member's node seals its layout to the regulator, which attests the root;
//! screening reports `root_status` for every answer. Each lie the issue names (an unsorted
//! tree, a root that is not the root of the sealed tags, a size that does not count the
//! leaves) is refuted with its reason, and screening against a refuted root is reported as the
//! responder's misbehaviour, never a miss. Allowances count attested sizes only. The regulator's
//! sampled openings verify an honest member's tags and expose a rogue's invented entries. The
//! regulator's disk holds the rogue's tags only sealed.

use fengxin_api::{self as api, ApiRequest, ApiResponse, RootStatus, ScreenErrorKind};
use fengxin_confidential::{CommittedCount, ViewPublicKey};
use fengxin_crypto::{IdentityKey, ListKey, MasterSeed};
use fengxin_e2e::{
    files_containing, identity_of, init_regulator, members_with_lists, write_genesis, MemberDir,
    RunningNode,
};
use fengxin_ledger::credits::list_size_context;
use fengxin_ledger::{ListSize, Record, RecordBody};
use fengxin_net::{Endpoint, Limits, StaticRegistry};
use fengxin_node::attest::{seal_layout, LayoutHeader};
use fengxin_protocol::{LayoutPiece, LayoutProgress, Publication, Request, Response};
use fengxin_tree::{layout_root, IndexedMerkleTree, Leaf, MemoryStore};
use fengxin_types::{Epoch, ListId, MemberName, Tag};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_fengxin-node-e2e");
const CLIENT: &str = env!("CARGO_BIN_EXE_fengxin-e2e-client");

fn list(s: &str) -> ListId {
    ListId::parse(s).expect("list")
}

fn eventually<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "{what} within 90 s");
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn random_tags(n: usize) -> Vec<Tag> {
    (0..n)
        .map(|_| {
            let mut b = [0u8; Tag::LEN];
            rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut b);
            b[0] &= 0x0f;
            b[Tag::LEN - 1] |= 1;
            Tag::from_bytes(b).expect("non-zero")
        })
        .collect()
}

/// The publications of `(list, epoch, root)` as `m`'s node reads the ledger.
fn root_view(m: &Path, l: &ListId, root: [u8; 32]) -> api::RootView {
    match api::call(
        m,
        &ApiRequest::Root {
            list: l.clone(),
            epoch: Epoch::FIRST,
            root: api::ListRoot(root),
        },
    ) {
        Ok(ApiResponse::Root(v)) => v,
        other => panic!("unexpected {other:?}"),
    }
}

/// Waits until the ledger (as `m` reads it) judges `member`'s root of `l`; returns its status
/// and the refutation's reason.
fn judged(m: &Path, member: &MemberName, l: &ListId, root: [u8; 32]) -> (RootStatus, String) {
    eventually(&format!("{member}'s {l} root judged"), || {
        root_view(m, l, root)
            .published_by
            .into_iter()
            .find(|p| &p.member == member && p.status != RootStatus::Pending)
            .map(|p| (p.status, p.reason.unwrap_or_default()))
    })
}

/// The regulator's audit of the whole ledger.
fn audit_of(reg: &Path) -> api::AuditReport {
    match api::call(
        reg,
        &ApiRequest::Audit {
            from: None,
            to: None,
        },
    ) {
        Ok(ApiResponse::Audit(a)) => a,
        other => panic!("unexpected {other:?}"),
    }
}

fn submit(via: &Path, records: Vec<Record>) {
    match api::call(via, &ApiRequest::Submit { records }) {
        Ok(ApiResponse::Submitted(_)) => {}
        other => panic!("submission refused: {other:?}"),
    }
}

/// One made-up list of the rogue: the root it publishes, the size it commits and the layout it
/// seals to the regulator.
struct Lie {
    list: ListId,
    root: [u8; 32],
    size: u64,
    layout: Vec<(u64, Leaf)>,
    /// Words the refutation's reason must contain.
    expect: &'static str,
}

fn lies() -> Vec<Lie> {
    let tags = random_tags(12);
    let honest = IndexedMerkleTree::build(MemoryStore::new(), tags.clone()).expect("tree");
    let layout = honest.layout().expect("layout");
    // Two leaves' values swapped: the leaves no longer form a sorted linked list, so the tree
    // could "prove" a miss for a tag it holds. Its root is what the rogue publishes.
    let mut unsorted = layout.clone();
    let (va, vb) = (unsorted[3].1.value, unsorted[8].1.value);
    unsorted[3].1.value = vb;
    unsorted[8].1.value = va;
    // The layout of a tree without one of the tags, for a root over all of them.
    let fewer = IndexedMerkleTree::build(MemoryStore::new(), tags[1..].to_vec()).expect("tree");
    vec![
        Lie {
            list: list(ListId::FRAUD_TXN),
            root: layout_root(&unsorted).to_bytes(),
            size: 12,
            layout: unsorted,
            expect: "not a sorted linked list",
        },
        Lie {
            list: list(ListId::HIGH_RISK_ACCOUNT),
            root: honest.root().to_bytes(),
            size: 12,
            layout: fewer.layout().expect("layout"),
            expect: "is not the root of the sealed tree",
        },
        Lie {
            list: list(ListId::MARKETING_ABUSE),
            root: honest.root().to_bytes(),
            size: 4_000,
            layout: layout.clone(),
            expect: "does not count the tree's 12 entries",
        },
        Lie {
            list: list(ListId::CREDIT_OVERDUE),
            root: honest.root().to_bytes(),
            size: u64::from(u32::MAX),
            layout,
            expect: "over the consortium's cap",
        },
    ]
}

struct Rogue {
    name: MemberName,
    key: IdentityKey,
    chain: [u8; 32],
    view: ViewPublicKey,
    seed: MasterSeed,
}

impl Rogue {
    fn list_key(&self, l: &ListId) -> ListKey {
        ListKey::derive(&self.seed, l, Epoch::FIRST).expect("list key")
    }

    fn publication(&self, lie: &Lie) -> Record {
        let oprf = self.list_key(&lie.list);
        Record::sign(
            self.chain,
            self.name.clone(),
            &self.key,
            RecordBody::Publication(Publication {
                version: Publication::VERSION,
                chain: self.chain,
                member: self.name.clone(),
                list: lie.list.clone(),
                epoch: Epoch::FIRST,
                root: lie.root,
                oprf_public_key: oprf.public_key().to_bytes(),
                published_at: 1_800_000_000,
                policy: fengxin_types::ListPolicy::ProofOnly,
                snapshot: None,
            }),
        )
    }

    fn size(&self, lie: &Lie) -> Record {
        let (size, _) = CommittedCount::new(
            lie.size,
            &self.view.elgamal(),
            &list_size_context(&self.chain, &self.name, &lie.list, Epoch::FIRST, &lie.root),
            &mut rand_core::OsRng,
        )
        .expect("commit");
        Record::sign(
            self.chain,
            self.name.clone(),
            &self.key,
            RecordBody::ListSize(Box::new(ListSize {
                list: lie.list.clone(),
                epoch: Epoch::FIRST,
                root: lie.root,
                size,
            })),
        )
    }

    fn sealed(&self, lie: &Lie) -> Vec<u8> {
        let header = LayoutHeader {
            chain: self.chain,
            member: self.name.clone(),
            list: lie.list.clone(),
            epoch: Epoch::FIRST,
            root: lie.root,
        };
        let padding = self.seed.padding_secret(&lie.list, Epoch::FIRST);
        seal_layout(&self.view, header, &lie.layout, padding).expect("seal")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn honest_roots_are_attested_and_every_lie_about_a_tree_is_refuted_and_never_answers() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path();
    let bin = Path::new(BIN);
    let members = members_with_lists(bin, root, &["bank-a", "bank-b"], 3, 1300);
    let reg = init_regulator(bin, root);
    let (q_key, q_file, member_file) = fengxin_e2e::member_without_node(root, "bank-q");
    let q = member_file.name.clone();
    let (a, b): (&MemberDir, &MemberDir) = (&members[0].0, &members[1].0);
    let genesis = write_genesis(bin, root, &[&a.dir, &b.dir, &q_file], Some(&reg));
    // A proof of one of bank-b's entries against its published root, made before its node
    // holds the database; checked against the ledger once the root is attested.
    let proof = fengxin_node::publish::prove(
        &fengxin_node::datadir::DataDir::open(&b.dir).expect("bank-b's data directory"),
        &list(ListId::FRAUD_TXN),
        fengxin_node::publish::ProveTarget::Identifier(
            fengxin_types::IdType::CnId,
            members[1].1[1].clone(),
        ),
    )
    .expect("prove");
    let _nodes: Vec<RunningNode> = [&a.dir, &b.dir, &reg]
        .iter()
        .map(|d| RunningNode::start(bin, d, &genesis))
        .collect();
    for m in [a, b] {
        fengxin_node::consortium::wait_for_publications(&m.dir, 2).expect("publications");
    }
    let chain = fengxin_node::ledger::chain_id(
        &fengxin_node::genesis::Genesis::load(&genesis).expect("genesis"),
    )
    .expect("chain id");
    let reg_file = fengxin_e2e::member_file(&reg);
    let view = ViewPublicKey::from_bytes(reg_file.view_public_key.expect("view key").as_bytes())
        .expect("view key");

    // bank-b's node sent its layout on its own: the regulator attested its root.
    let fraud = list(ListId::FRAUD_TXN);
    let b_root = fengxin_node::publish::read_publications(&b.dir).expect("publications")[0]
        .publication
        .root;
    let (status, _) = judged(&a.dir, b.name(), &fraud, b_root);
    assert_eq!(status, RootStatus::Attested);
    // `fengxin verify --node` reports the proof's root as attested.
    let mut verify = std::process::Command::new(CLIENT)
        .args(["verify", "--proof", "-", "--json", "--node"])
        .arg(&a.dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("fengxin verify");
    std::io::Write::write_all(
        &mut verify.stdin.take().expect("stdin"),
        &serde_json::to_vec(&proof).expect("json"),
    )
    .expect("write");
    let out = verify.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["root_status"], "attested", "{v}");
    assert_eq!(v["published_by"], "bank-b", "{v}");

    // The rogue publishes its four made-up lists and commits their sizes (through bank-a's
    // node, which relays records it did not sign), then seals each layout to the regulator.
    let rogue = Rogue {
        name: q.clone(),
        key: q_key,
        chain,
        view,
        seed: MasterSeed::generate(&mut rand_core::OsRng),
    };
    let lies = lies();
    submit(&a.dir, lies.iter().map(|l| rogue.publication(l)).collect());
    for l in &lies {
        eventually("the rogue's publication on the ledger", || {
            (!root_view(&a.dir, &l.list, l.root).published_by.is_empty()).then_some(())
        });
    }
    submit(&a.dir, lies.iter().map(|l| rogue.size(l)).collect());

    let (reg_key, b_key) = (identity_of(&reg_file), identity_of(&b.file));
    let registry: StaticRegistry = [(reg_key, reg_file.name.clone()), (b_key, b.name().clone())]
        .into_iter()
        .collect();
    // The rogue's endpoint, at the address genesis gives bank-q: it also answers the
    // regulator's sampled openings below.
    let endpoint = Endpoint::bind(
        member_file.address.parse().expect("addr"),
        &rogue.key,
        Arc::new(registry),
        Limits::default(),
    )
    .expect("bind");
    let conn = endpoint
        .connect(reg_file.address.parse().expect("addr"), &reg_file.name)
        .await
        .expect("connect to the regulator");
    for l in &lies {
        let sealed = rogue.sealed(l);
        let piece = |root: [u8; 32]| {
            Request::Layout(LayoutPiece {
                list: l.list.clone(),
                epoch: Epoch::FIRST,
                root,
                total: sealed.len() as u64,
                offset: 0,
                bytes: sealed.clone(),
            })
        };
        // A layout for another root than the published one is refused outright.
        match conn.request::<_, Response>(&piece([9; 32])).await {
            Ok(Response::Refused(r)) => assert!(r.message.contains("not the published root")),
            other => panic!("a layout for an unpublished root: {other:?}"),
        }
        match conn.request::<_, Response>(&piece(l.root)).await {
            Ok(Response::Layout(LayoutProgress { complete: true, .. })) => {}
            other => panic!("layout not taken: {other:?}"),
        }
    }

    // Every lie is refuted, with its reason.
    for l in &lies {
        let (status, reason) = judged(&a.dir, &q, &l.list, l.root);
        assert_eq!(status, RootStatus::Refuted, "{}", l.list);
        assert!(reason.contains(l.expect), "{}: {reason}", l.list);
    }

    // Screening: bank-b's answer is verified against an attested root; every bank-q list is
    // its misbehaviour (never a miss), and nothing is asked of it.
    let report = _nodes[0].screen("cn_id", &members[1].1[0]);
    let of_b: Vec<_> = report
        .results
        .iter()
        .filter(|r| &r.member == b.name())
        .collect();
    assert_eq!(of_b.len(), 1, "{report:?}");
    assert_eq!(of_b[0].result, Some(api::Verdict::Hit));
    assert_eq!(of_b[0].root_status, Some(RootStatus::Attested));
    let of_q: Vec<_> = report.results.iter().filter(|r| r.member == q).collect();
    assert_eq!(of_q.len(), lies.len(), "{report:?}");
    for r in of_q {
        assert_eq!(r.result, None, "{r:?}");
        assert!(!r.verified);
        assert_eq!(r.root_status, Some(RootStatus::Refuted));
        let e = r.error.as_ref().expect("an error");
        assert_eq!(e.kind, ScreenErrorKind::PeerMisbehaved, "{r:?}");
        assert_eq!(e.reason.as_deref(), Some("refuted_root"), "{r:?}");
    }
    // The client's table shows the root status too.
    let out = std::process::Command::new(CLIENT)
        .args(["screen", "--node"])
        .arg(&a.dir)
        .args(["--id-type", "cn_id", &members[1].1[0]])
        .output()
        .expect("fengxin screen");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("attested") && text.contains("refuted"),
        "{text}"
    );

    // Allowances count attested sizes only: bank-q's four committed sizes (one of them
    // 4,294,967,295) add nothing, bank-b's attested list of 3 does.
    let audit = audit_of(&reg);
    let figures = |m: &MemberName| {
        audit
            .members
            .iter()
            .find(|f| &f.member == m)
            .unwrap_or_else(|| panic!("{m}'s figures"))
            .clone()
    };
    let base = fengxin_ledger::CreditParams::default().base_allowance;
    let fq = figures(&q);
    assert_eq!(fq.allowance, Some(base), "{fq:?}");
    assert_eq!(fq.list_sizes.len(), lies.len(), "{fq:?}");
    for l in &lies {
        let ls = fq
            .list_sizes
            .iter()
            .find(|s| s.list == l.list)
            .expect("the committed size");
        assert_eq!(
            ls.size,
            Some(l.size),
            "the regulator reads what was committed"
        );
        assert_eq!(ls.root_status, RootStatus::Refuted);
        assert_eq!(ls.counted, None);
    }
    let fb = figures(b.name());
    assert_eq!(fb.allowance, Some(base + 3), "{fb:?}");
    assert_eq!(fb.list_sizes[0].root_status, RootStatus::Attested);
    assert_eq!(fb.list_sizes[0].counted, Some(3));

    // Sampled openings. bank-b's node opens its sampled tags to its identifiers, each checked
    // against a verified evaluation under its published key; the regulator sees them.
    let sample = |member: &MemberName, l: &ListId, count: u32| match api::call(
        &reg,
        &ApiRequest::Openings {
            member: member.clone(),
            list: l.clone(),
            count,
        },
    ) {
        Ok(ApiResponse::Openings(r)) => r,
        other => panic!("unexpected {other:?}"),
    };
    let canonical: Vec<String> = members[1]
        .1
        .iter()
        .map(|raw| {
            fengxin_types::CanonicalId::parse(
                fengxin_types::IdType::CnId,
                raw,
                fengxin_types::CivilDate::today_china(),
            )
            .expect("identifier")
            .as_str()
            .to_owned()
        })
        .collect();
    let r = tokio::task::block_in_place(|| sample(b.name(), &fraud, 2));
    assert_eq!((r.entries, r.sampled, r.verified), (3, 2, 2), "{r:?}");
    for o in &r.openings {
        assert!(o.verified, "{o:?}");
        assert!(
            canonical.contains(o.identifier.as_ref().expect("opened")),
            "{o:?}"
        );
    }
    let out = std::process::Command::new(CLIENT)
        .args(["openings", "--node"])
        .arg(&reg)
        .args(["--member", "bank-b", "--list", "fraud_txn", "--count", "3"])
        .output()
        .expect("fengxin sample");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("3 of 3 sampled tags verified"));

    // Only a regulator may ask: bank-b refuses the rogue member.
    let conn_b = endpoint
        .connect(b.address().parse().expect("addr"), b.name())
        .await
        .expect("bank-q reaches bank-b");
    match conn_b
        .request::<_, Response>(&Request::Open(fengxin_protocol::OpenRequest {
            list: fraud.clone(),
            epoch: Epoch::FIRST,
            tags: random_tags(1),
        }))
        .await
    {
        Ok(Response::Refused(r)) => {
            assert_eq!(r.kind, fengxin_protocol::RefusalKind::NotMember, "{r:?}")
        }
        other => panic!("a member's request for openings: {other:?}"),
    }

    // The rogue's invented entries: it opens one sampled tag to nothing and the others to a
    // real identifier (bank-b's), and evaluates honestly under its published key. None of
    // its tags derives from what it opened: every one is reported, and `fengxin sample` fails.
    let padded = lies
        .iter()
        .find(|l| l.list.as_str() == ListId::MARKETING_ABUSE)
        .expect("the padded list");
    let list_key = rogue.list_key(&padded.list);
    let real = canonical[0].clone();
    let serving = {
        let endpoint = endpoint.clone();
        tokio::spawn(async move {
            while let Some(incoming) = endpoint.accept().await {
                let Ok(conn) = incoming.establish().await else {
                    continue;
                };
                while let Ok(req) = conn.accept_request().await {
                    let Ok((request, responder)) = req.read::<Request>().await else {
                        continue;
                    };
                    let response = match request {
                        Request::Open(r) => Response::Opened(
                            r.tags
                                .iter()
                                .enumerate()
                                .map(|(i, _)| {
                                    (i > 0).then(|| fengxin_protocol::OpenedIdentifier {
                                        id_type: "cn_id".into(),
                                        value: real.clone(),
                                    })
                                })
                                .collect(),
                        ),
                        Request::OpenEvaluate(r) => {
                            let (evaluated, proof) = list_key
                                .blind_evaluate_batch(&mut rand_core::OsRng, &r.blinded)
                                .expect("evaluate");
                            Response::OpenEvaluated {
                                evaluated,
                                proof: proof.to_vec(),
                            }
                        }
                        // Consensus messages from the members: bank-q takes no part.
                        _ => continue,
                    };
                    let _ = responder.respond(&response).await;
                }
            }
        })
    };
    let r = tokio::task::block_in_place(|| sample(&q, &padded.list, 4));
    assert_eq!((r.entries, r.sampled, r.verified), (12, 4, 0), "{r:?}");
    let reasons: Vec<&str> = r
        .openings
        .iter()
        .map(|o| o.reason.as_deref().expect("a reason"))
        .collect();
    assert_eq!(
        reasons
            .iter()
            .filter(|w| w.contains("opened no identifier"))
            .count(),
        1,
        "{reasons:?}"
    );
    assert_eq!(
        reasons
            .iter()
            .filter(|w| w.contains("an invented entry"))
            .count(),
        3,
        "{reasons:?}"
    );
    let out = tokio::task::block_in_place(|| {
        std::process::Command::new(CLIENT)
            .args(["openings", "--node"])
            .arg(&reg)
            .args(["--member", "bank-q", "--list", ListId::MARKETING_ABUSE])
            .output()
            .expect("fengxin sample")
    });
    assert!(!out.status.success(), "the padded list passed");
    serving.abort();

    // The regulator's disk holds the rogue's tags only sealed, and no identifier of bank-b.
    for l in &lies {
        for (_, leaf) in l.layout.iter().skip(1) {
            let found = files_containing(&reg, &leaf.value.to_bytes());
            assert!(found.is_empty(), "a tag in the clear at {found:?}");
        }
    }
    for id in &members[1].1 {
        assert!(files_containing(&reg, id.as_bytes()).is_empty());
    }

    // The council can overrule a refutation: bank-a proposes, bank-b's vote makes 2 of 3;
    // the root then counts as attested and its size toward bank-q's allowance.
    let client = |args: &[&str]| -> serde_json::Value {
        let out = std::process::Command::new(CLIENT)
            .args(args)
            .output()
            .expect("fengxin");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("json")
    };
    let path = |p: &Path| p.to_str().expect("utf-8").to_owned();
    let (a_dir, b_dir) = (path(&a.dir), path(&b.dir));
    let overruled = &lies[2];
    client(&[
        "council",
        "overrule",
        "--node",
        &a_dir,
        "--member",
        "bank-q",
        "--list",
        overruled.list.as_str(),
        "--epoch",
        "1",
        "--note",
        "the member showed the council its list",
        "--json",
    ]);
    fengxin_node::consortium::wait_for_outbox(&a.dir).expect("motion committed");
    let motions = client(&["council", "motions", "--node", &b_dir, "--json"]);
    let motion = motions[0]["id"].as_str().expect("motion id").to_owned();
    client(&[
        "council", "vote", "--node", &b_dir, "--motion", &motion, "--json",
    ]);
    fengxin_node::consortium::wait_for_outbox(&b.dir).expect("vote committed");
    let (status, reason) = judged(&a.dir, &q, &overruled.list, overruled.root);
    assert_eq!(status, RootStatus::Attested, "overruled");
    assert!(reason.is_empty(), "{reason}");
    let audit = audit_of(&reg);
    let fq = audit
        .members
        .iter()
        .find(|f| f.member == q)
        .expect("bank-q's figures");
    assert_eq!(fq.allowance, Some(base + overruled.size), "{fq:?}");
}
