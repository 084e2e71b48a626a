//! `fengxin-node run`: the member's daemon.
//!
//! - A QUIC endpoint ([`fengxin_net`]) admitting only peers whose identity key is in the
//!   registry (genesis), answering [`fengxin_protocol`] requests from the member's lists.
//! - The querier side: screening one identifier against every other member in parallel, each
//!   answer verified against the member's signed publication.
//! - The local API (the contract crate [`fengxin_api`]) on a Unix socket for the bank's own
//!   tools.
//!
//! Per-peer limits: at most [`PEER_CONCURRENCY`] requests in flight and a token bucket of
//! [`PEER_RATE`] requests per second (burst [`PEER_BURST`]); excess requests are refused with
//! `RateLimited`, never queued without bound. Proving runs on the blocking pool.

use crate::cli::CliError;
use crate::datadir::{DataDir, Role};
use crate::genesis::{Genesis, Party};
use crate::publish::{params_dir, read_publications};
use fengxin_api::{
    ApiError, ApiRequest, ApiResponse, BatchScreenReport, BatchScreenResult, ErrorKind,
    ScreenError, ScreenErrorKind, ScreenReport, ScreenResult, Status, Verdict, SOCKET,
};
use fengxin_crypto::{IdentityKey, ListKey, MasterSeed};
use fengxin_ledger::{Record, RecordBody};
use fengxin_net::{Endpoint, Limits, PeerConnection};
use fengxin_proofs::{Prover, Verifier};
use fengxin_protocol::{
    AnswerSource, Publication, QueryError, Refusal, RefusalKind, Request, Responder, Response,
    RngCoreCrypto, SignedPublication,
};
use fengxin_store::Store;
use fengxin_types::{CanonicalId, Epoch, IdType, ListId, MemberName, Tag};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::{Notify, Semaphore};

/// Requests from one peer in flight at once.
pub const PEER_CONCURRENCY: usize = 8;
/// Sustained requests per second per peer.
pub const PEER_RATE: f64 = 50.0;
/// Burst of requests per peer.
pub const PEER_BURST: f64 = 100.0;
/// Identifiers per exchange when screening a batch: the responder proves each answer (about
/// 0.2-0.5 s apiece on two cores), so a chunk must finish well inside the exchange timeout.
pub const SCREEN_CHUNK: usize = 32;
/// Proven answers kept (about 200 bytes each); the cache is emptied when full.
pub const PROOF_CACHE: usize = 65_536;
/// Attempts for the idempotent steps (connect, fetching publications, a whole exchange after a
/// network failure).
const ATTEMPTS: u32 = 3;

fn log(msg: impl std::fmt::Display) {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    eprintln!("[{t:.3}] {msg}");
}

/// Per-peer admission of screening requests: a token bucket (`rate` per second, up to
/// `burst`) and at most `concurrency` requests in flight.
#[derive(Debug)]
pub struct PeerLimiter {
    rate: f64,
    burst: f64,
    concurrency: usize,
    budgets: Mutex<BTreeMap<MemberName, PeerBudget>>,
}

#[derive(Debug)]
struct PeerBudget {
    inflight: Arc<Semaphore>,
    tokens: f64,
    last: Instant,
}

impl PeerLimiter {
    /// A limiter with these parameters.
    pub fn new(rate: f64, burst: f64, concurrency: usize) -> Self {
        Self {
            rate,
            burst,
            concurrency,
            budgets: Mutex::new(BTreeMap::new()),
        }
    }

    /// Takes a token and an in-flight slot for `peer` at time `now`, or refuses with
    /// [`RefusalKind::RateLimited`]. The slot is released when the permit is dropped.
    pub fn admit(
        &self,
        peer: &MemberName,
        now: Instant,
    ) -> Result<tokio::sync::OwnedSemaphorePermit, Refusal> {
        let mut budgets = self
            .budgets
            .lock()
            .map_err(|_| Refusal::new(RefusalKind::Internal, "budget lock poisoned"))?;
        let b = budgets.entry(peer.clone()).or_insert_with(|| PeerBudget {
            inflight: Arc::new(Semaphore::new(self.concurrency)),
            tokens: self.burst,
            last: now,
        });
        let elapsed = now.saturating_duration_since(b.last).as_secs_f64();
        b.tokens = (b.tokens + elapsed * self.rate).min(self.burst);
        b.last = b.last.max(now);
        if b.tokens < 1.0 {
            return Err(Refusal::new(
                RefusalKind::RateLimited,
                "request rate over the per-peer limit",
            ));
        }
        let permit = b.inflight.clone().try_acquire_owned().map_err(|_| {
            Refusal::new(
                RefusalKind::RateLimited,
                "too many requests in flight from this peer",
            )
        })?;
        b.tokens -= 1.0;
        Ok(permit)
    }
}

/// A proven answer's cache key: (list, epoch, root, tag).
type ProofKey = (ListId, Epoch, [u8; 32], Tag);

/// Everything the daemon shares between tasks.
pub struct Node {
    member: MemberName,
    identity: IdentityKey,
    data: std::path::PathBuf,
    listen: String,
    store: Store,
    seed: MasterSeed,
    keys: Mutex<BTreeMap<(ListId, Epoch), Arc<ListKey>>>,
    prover: Prover,
    verifier: Verifier,
    ledger: fengxin_consensus::Ledger,
    /// The chain (genesis hash) every record, request and publication is signed for.
    chain: [u8; 32],
    /// The responder core (remembers evaluated proof-mode requests until their tags come).
    responder: Responder,
    /// Highest allowance usage claimed so far, per epoch (claims go out before they commit).
    claimed: Mutex<BTreeMap<u64, u64>>,
    /// Openings of this member's committed list sizes.
    openings: Mutex<crate::credits::SizeOpenings>,
    limits: PeerLimiter,
    /// Answers already proven, by (list, epoch, root, tag): a proof stays valid for as long
    /// as its root is the published one, and the root is part of the key.
    proofs: Mutex<BTreeMap<ProofKey, (bool, Vec<u8>)>>,
    /// The signed publications served to peers (from the last `lists publish`).
    publications: Vec<SignedPublication>,
    /// Per published list, the (epoch, root) the tree can prove against. The running node
    /// holds the database, so neither changes while it runs; if a list changed after its
    /// publication, this differs from the published root and queriers get `StaleRoot`.
    current: BTreeMap<ListId, (Epoch, [u8; 32])>,
    connections: tokio::sync::Mutex<BTreeMap<MemberName, ConnectionSlot>>,
    endpoint: Endpoint,
    shutdown: Notify,
    /// Requests being served (peer screening requests and local API calls); shutdown waits
    /// for them.
    work: InFlight,
}

/// Counts requests in progress, and refuses new ones once the node is stopping.
#[derive(Debug, Default)]
pub struct InFlight {
    stopping: std::sync::atomic::AtomicBool,
    active: std::sync::atomic::AtomicUsize,
    idle: Notify,
}

/// One request in progress; dropping it ends it.
#[derive(Debug)]
pub struct Busy<'a>(&'a InFlight);

impl InFlight {
    /// Starts a request, or `None` once the node is stopping.
    pub fn begin(&self) -> Option<Busy<'_>> {
        use std::sync::atomic::Ordering;
        self.active.fetch_add(1, Ordering::SeqCst);
        if self.stopping.load(Ordering::SeqCst) {
            self.end();
            return None;
        }
        Some(Busy(self))
    }

    fn end(&self) {
        use std::sync::atomic::Ordering;
        if self.active.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.idle.notify_waiters();
        }
    }

    /// Refuses new requests and waits until those in progress have ended, or `limit` has
    /// passed. Returns how many were still running.
    pub async fn drain(&self, limit: Duration) -> usize {
        use std::sync::atomic::Ordering;
        self.stopping.store(true, Ordering::SeqCst);
        let wait = async {
            loop {
                let idle = self.idle.notified();
                tokio::pin!(idle);
                idle.as_mut().enable();
                if self.active.load(Ordering::SeqCst) == 0 {
                    return;
                }
                idle.await;
            }
        };
        let _ = tokio::time::timeout(limit, wait).await;
        self.active.load(Ordering::SeqCst)
    }
}

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.0.end();
    }
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Node({})", self.member)
    }
}

fn internal(e: impl std::fmt::Display) -> String {
    e.to_string()
}

impl Node {
    /// The current members, from the ledger.
    fn parties(&self) -> Vec<Party> {
        self.ledger
            .read(|s| {
                s.members()
                    .iter()
                    .filter_map(|(name, m)| {
                        Some(Party {
                            name: name.clone(),
                            key: fengxin_crypto::IdentityPublicKey::from_slice(&m.identity_key)
                                .ok()?,
                            address: m.address.parse().ok()?,
                        })
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    fn list_key(&self, list: &ListId, epoch: Epoch) -> Result<Arc<ListKey>, String> {
        let mut keys = self
            .keys
            .lock()
            .map_err(|_| "key cache poisoned".to_owned())?;
        if let Some(k) = keys.get(&(list.clone(), epoch)) {
            return Ok(k.clone());
        }
        let k = Arc::new(ListKey::derive(&self.seed, list, epoch).map_err(internal)?);
        keys.insert((list.clone(), epoch), k.clone());
        Ok(k)
    }

    /// Takes a token and an in-flight slot for `peer`, or refuses.
    fn admit(&self, peer: &MemberName) -> Result<tokio::sync::OwnedSemaphorePermit, Refusal> {
        self.limits.admit(peer, Instant::now())
    }
}

impl AnswerSource for Node {
    fn chain(&self) -> [u8; 32] {
        self.chain
    }

    /// The list's publication on the ledger, if the tree this node proves against is still
    /// the one it names: a list changed since its publication is not served (queriers verify
    /// against the ledger's root), and nothing is evaluated or charged for it.
    fn published(&self, list: &ListId) -> Option<(Epoch, [u8; 32])> {
        let here = self.current.get(list).copied()?;
        let on_ledger = self
            .ledger
            .read(|s| {
                s.current_publication(&self.member, list)
                    .map(|p| (p.publication.epoch, p.publication.root))
            })
            .ok()
            .flatten()?;
        (on_ledger == here).then_some(here)
    }

    fn identity_key(&self, member: &MemberName) -> Option<fengxin_crypto::IdentityPublicKey> {
        self.ledger.read(|s| s.identity_key(member)).ok().flatten()
    }

    fn evaluate(
        &self,
        list: &ListId,
        epoch: Epoch,
        blinded: &[[u8; 32]],
        rng: &mut dyn RngCoreCrypto,
    ) -> Result<(Vec<[u8; 32]>, Vec<u8>), String> {
        let key = self.list_key(list, epoch)?;
        key.blind_evaluate_batch(&mut &mut *rng, blinded)
            .map(|(e, p)| (e, p.to_vec()))
            .map_err(internal)
    }

    fn prove(
        &self,
        list: &ListId,
        epoch: Epoch,
        tag: Tag,
        rng: &mut dyn RngCoreCrypto,
    ) -> Result<(bool, Vec<u8>), String> {
        let (root, lookup) = self.store.lookup(list, epoch, tag).map_err(internal)?;
        let key = (list.clone(), epoch, root.to_bytes(), tag);
        let cached = self
            .proofs
            .lock()
            .map_err(|_| "proof cache poisoned".to_owned())?
            .get(&key)
            .cloned();
        if let Some(answer) = cached {
            return Ok(answer);
        }
        let (public, proof) = self
            .prover
            .prove_lookup(root, tag, &lookup, &mut &mut *rng)
            .map_err(internal)?;
        let answer = (public.result, proof.to_bytes());
        let mut cache = self
            .proofs
            .lock()
            .map_err(|_| "proof cache poisoned".to_owned())?;
        if cache.len() >= PROOF_CACHE {
            cache.clear();
        }
        cache.insert(key, answer.clone());
        Ok(answer)
    }

    fn publications(&self) -> Vec<SignedPublication> {
        self.publications.clone()
    }

    fn member(&self) -> &MemberName {
        &self.member
    }

    fn sign(&self, bytes: &[u8]) -> Vec<u8> {
        self.identity.sign(bytes).to_vec()
    }

    /// The responder submits every receipt it countersigns (it is the party paid for serving):
    /// the record is in the ledger's durable outbox before the evaluation leaves.
    fn submit_receipt(&self, receipt: &fengxin_protocol::Receipt) -> Result<(), String> {
        let record = Record::sign(
            self.chain,
            self.member.clone(),
            &self.identity,
            RecordBody::Receipt(Box::new(receipt.clone())),
        );
        self.ledger
            .submit(vec![record])
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    fn check_credits(&self, querier: &MemberName, count: usize) -> Result<(), Refusal> {
        let checked = self
            .ledger
            .read(|s| s.can_pay(querier, u64::try_from(count).unwrap_or(u64::MAX)))
            .map_err(|e| Refusal::new(RefusalKind::Internal, e.to_string()))?;
        checked.map_err(|e| {
            let kind = match e {
                fengxin_ledger::Rejection::Suspended(_) => RefusalKind::Suspended,
                _ => RefusalKind::InsufficientCredits,
            };
            Refusal::new(kind, e.to_string())
        })
    }

    fn check_allowance(
        &self,
        querier: &MemberName,
        count: usize,
        claim: &[u8],
    ) -> Result<(), String> {
        self.ledger
            .read(|s| {
                if s.view_key().is_none() {
                    return Ok(());
                }
                let claim = fengxin_ledger::AllowanceClaim::from_bytes(claim)
                    .map_err(|_| "no allowance claim with the request".to_owned())?;
                let count = u32::try_from(count).unwrap_or(u32::MAX);
                // A claim already spent on the ledger would be the querier's equivocation:
                // refused before any work.
                if let Some(first) = s.overlapping_claim(querier, count, &claim) {
                    return Err(format!(
                        "the claimed interval overlaps receipt {} already on the ledger",
                        hex::encode(first)
                    ));
                }
                s.check_claim(querier, count, &claim)
                    .map_err(|e| e.to_string())
            })
            .map_err(|e| e.to_string())?
    }
}

/// Starts the daemon and serves until shut down (SIGINT, SIGTERM or the local API).
pub fn run(data: &Path, genesis_path: &Path) -> Result<(), CliError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::new(ErrorKind::Io, e.to_string()))?;
    runtime.block_on(run_async(data, genesis_path))
}

async fn run_async(data: &Path, genesis_path: &Path) -> Result<(), CliError> {
    let dir = DataDir::open(data)?;
    let genesis = Genesis::load(genesis_path)?;
    if dir.config().role == Role::Regulator {
        return run_regulator(dir, genesis).await;
    }
    let params = params_dir()?;
    genesis.check_params(&params)?;
    let parties: Vec<Party> = genesis.parties()?.into_iter().map(|(p, _)| p).collect();
    let identity = dir.identity()?;
    let me = &dir.config().member;
    // A member missing from genesis joins later: it starts as a non-voting replica, and the
    // founders accept it once the council's admission is on the ledger.
    match parties.iter().find(|p| &p.name == me) {
        Some(own) if own.key != identity.public() => {
            return Err(CliError::new(
                ErrorKind::Genesis,
                format!("genesis holds another identity key for {me}"),
            ))
        }
        Some(_) => {}
        None => log(format!(
            "{me} is not a founding member: waiting for the council to admit it"
        )),
    }
    let (endpoint, ledger) = start_ledger(&dir, &genesis, &parties, &identity).await?;
    let prover = fengxin_proofs::keys::load_prover(&params)
        .map_err(|e| CliError::new(ErrorKind::Params, e.to_string()))?;
    let verifier = fengxin_proofs::keys::load_verifier(&params)
        .map_err(|e| CliError::new(ErrorKind::Params, e.to_string()))?;
    let store = dir.store()?;
    let publications = read_publications(dir.root()).unwrap_or_else(|e| {
        log(format!("serving no publications: {}", e.message()));
        Vec::new()
    });
    let mut current = BTreeMap::new();
    for sp in &publications {
        let list = &sp.publication.list;
        let meta = store
            .list_meta(list)
            .map_err(|e| CliError::new(ErrorKind::Store, e.to_string()))?;
        let state = meta.and_then(|m| {
            let root = fengxin_tree::Root::from_hex(m.root.as_deref()?).ok()?;
            Some((m.epoch().ok()?, root.to_bytes()))
        });
        if let Some(state) = state {
            current.insert(list.clone(), state);
        }
    }
    let chain = ledger
        .read(|s| s.chain_id())
        .map_err(|e| CliError::new(ErrorKind::Ledger, e.to_string()))?;
    let publications = crate::publish::bind_to_chain(dir.root(), publications, chain, &identity)?;
    let node = Arc::new(Node {
        chain,
        responder: Responder::default(),
        member: me.clone(),
        identity,
        data: dir.root().to_path_buf(),
        listen: dir.config().listen.clone(),
        store,
        seed: dir.master_seed()?,
        keys: Mutex::new(BTreeMap::new()),
        prover,
        verifier,
        ledger: ledger.clone(),
        claimed: Mutex::new(BTreeMap::new()),
        openings: Mutex::new(crate::credits::SizeOpenings::load(&dir)?),
        limits: PeerLimiter::new(PEER_RATE, PEER_BURST, PEER_CONCURRENCY),
        proofs: Mutex::new(BTreeMap::new()),
        publications,
        current,
        connections: tokio::sync::Mutex::new(BTreeMap::new()),
        endpoint: endpoint.clone(),
        shutdown: Notify::new(),
        work: InFlight::default(),
    });

    let published = match submit_publications(&node, &node.publications) {
        Ok(n) => {
            if n > 0 {
                log(format!("submitted {n} publications to the ledger"));
            }
            true
        }
        Err(e) => {
            log(format!("publications not submitted yet: {}", e.message()));
            false
        }
    };

    let (listener, socket_path) = bind_api_socket(&dir)?;
    log(format!(
        "{me} listening on {} (QUIC), local API {}",
        endpoint
            .local_addr()
            .map_or_else(|_| "?".into(), |a| a.to_string()),
        socket_path.display()
    ));
    println!("ready");

    tokio::spawn(serve_peers(node.clone()));
    {
        let node = node.clone();
        tokio::spawn(serve_api(listener, move |req| {
            let node = node.clone();
            async move {
                match node.work.begin() {
                    Some(_busy) => handle_api(&node, req).await,
                    None => api_error(ErrorKind::ShuttingDown, "the node is shutting down"),
                }
            }
        }));
    }
    let duties = tokio::spawn(settle_epochs(node.clone(), published));
    wait_for_stop(&node.shutdown).await?;
    // Finish what is in progress (answers being proven, screenings being verified), refusing
    // anything new, then leave the consortium's connections and stop the ledger.
    duties.abort();
    let unfinished = node.work.drain(DRAIN).await;
    if unfinished > 0 {
        log(format!(
            "{unfinished} requests still running after {} s; closing",
            DRAIN.as_secs()
        ));
    }
    node.ledger.shutdown().await;
    endpoint.close();
    let _ = tokio::time::timeout(Duration::from_secs(3), endpoint.wait_idle()).await;
    let _ = std::fs::remove_file(&socket_path);
    log("stopped");
    Ok(())
}

/// How long shutdown waits for requests in progress.
const DRAIN: Duration = Duration::from_secs(20);

/// Waits for SIGINT, SIGTERM or a `Shutdown` API call.
async fn wait_for_stop(shutdown: &Notify) -> Result<(), CliError> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| CliError::new(ErrorKind::Io, e.to_string()))?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => log("interrupt: shutting down"),
        _ = term.recv() => log("terminate: shutting down"),
        _ = shutdown.notified() => log("shutdown requested: shutting down"),
    }
    Ok(())
}

async fn serve_peers(node: Arc<Node>) {
    while let Some(incoming) = node.endpoint.accept().await {
        let node = node.clone();
        tokio::spawn(async move {
            let remote = incoming.remote_address();
            let conn = match incoming.establish().await {
                Ok(c) => c,
                Err(e) => {
                    log(format!("refused connection from {remote}: {e}"));
                    return;
                }
            };
            let peer = conn.member().clone();
            let peer_key = conn.public_key();
            log(format!("{peer} connected from {remote}"));
            tokio::spawn(close_when_removed(node.clone(), conn.clone()));
            loop {
                let req = match conn.accept_request().await {
                    Ok(r) => r,
                    Err(_) => break,
                };
                let node = node.clone();
                let peer = peer.clone();
                tokio::spawn(async move {
                    let (request, responder) = match req.read::<Request>().await {
                        Ok(x) => x,
                        Err(e) => {
                            log(format!("{peer}: bad request: {e}"));
                            return;
                        }
                    };
                    if let Request::Ledger(bytes) = &request {
                        let response = crate::ledger::serve(&node.ledger, &peer_key, bytes).await;
                        let _ = responder.respond(&response).await;
                        return;
                    }
                    let Some(busy) = node.work.begin() else {
                        let refusal =
                            Refusal::new(RefusalKind::ShuttingDown, "the node is shutting down");
                        let _ = responder.respond(&Response::Refused(refusal)).await;
                        return;
                    };
                    // By key, not by name: a removed member's name may since belong to
                    // another key.
                    let is_member = node
                        .ledger
                        .read(|s| s.member_for_key(&peer_key.to_bytes()) == Some(&peer))
                        .unwrap_or(false);
                    let response = match node.admit(&peer) {
                        Err(refusal) => Response::Refused(refusal),
                        Ok(_) if !is_member => Response::Refused(Refusal::new(
                            RefusalKind::NotMember,
                            "only current members may screen",
                        )),
                        Ok(permit) => {
                            let n = node.clone();
                            let querier = peer.clone();
                            let r = tokio::task::spawn_blocking(move || {
                                let resp = n.responder.handle(
                                    &*n,
                                    &querier,
                                    request,
                                    &mut rand_core::OsRng,
                                );
                                drop(permit);
                                resp
                            })
                            .await;
                            r.unwrap_or_else(|e| {
                                Response::Refused(Refusal::new(
                                    RefusalKind::Internal,
                                    e.to_string(),
                                ))
                            })
                        }
                    };
                    if let Response::Refused(r) = &response {
                        log(format!("{peer}: refused ({:?}): {}", r.kind, r.message));
                    }
                    if let Err(e) = responder.respond(&response).await {
                        log(format!("{peer}: could not answer: {e}"));
                    }
                    drop(busy);
                });
            }
            log(format!("{peer} disconnected"));
        });
    }
}

/// Closes `conn` as soon as the block that removes its peer (by key) from the ledger's
/// members and regulators is applied.
async fn close_when_removed(node: Arc<Node>, conn: fengxin_net::PeerConnection) {
    let key = conn.public_key().to_bytes();
    let peer = conn.member().clone();
    let is_party = |node: &Node| {
        node.ledger
            .read(|s| s.party_for_key(&key) == Some(&peer))
            .unwrap_or(false)
    };
    let mut heights = node.ledger.heights();
    loop {
        tokio::select! {
            _ = conn.closed() => return,
            changed = heights.changed() => {
                if changed.is_err() {
                    return;
                }
                if !is_party(&node) {
                    log(format!("{peer}: no longer a party to the ledger; connection closed"));
                    conn.close();
                    return;
                }
            }
        }
    }
}

/// Serves the local API socket: one JSON request per line, one JSON response per line. A
/// failing `accept` (e.g. out of file descriptors) is logged and retried after a pause.
async fn serve_api<F, Fut>(listener: tokio::net::UnixListener, handle: F)
where
    F: Fn(ApiRequest) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = ApiResponse> + Send,
{
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                log(format!("local API: accept failed: {e}"));
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        let handle = handle.clone();
        tokio::spawn(async move {
            let (read, mut write) = stream.into_split();
            let mut lines = BufReader::new(read.take(1 << 20)).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let response = match fengxin_api::decode_request(&line) {
                    Err(e) => ApiResponse::Error(e),
                    Ok(req) => handle(req).await,
                };
                let text = fengxin_api::encode_response(response);
                if write.write_all(text.as_bytes()).await.is_err() {
                    break;
                }
            }
        });
    }
}

use tokio::io::AsyncReadExt;

async fn handle_api(node: &Arc<Node>, req: ApiRequest) -> ApiResponse {
    match req {
        ApiRequest::Status => ApiResponse::Status(Status {
            member: node.member.clone(),
            listen: node.listen.clone(),
            members: node.parties().into_iter().map(|p| p.name).collect(),
            height: node.ledger.read(|s| s.height()).unwrap_or(0),
            publications: node
                .ledger
                .read(|s| s.current_publications().len())
                .unwrap_or(0),
        }),
        ApiRequest::Shutdown => {
            node.shutdown.notify_one();
            ApiResponse::ShuttingDown
        }
        ApiRequest::LedgerStatus => ledger_status(&node.ledger),
        ApiRequest::LedgerBlock { height } => match node.ledger.block(height) {
            Ok(Some(b)) => ApiResponse::LedgerBlock(crate::ledger::block_view(&b)),
            Ok(None) => api_error(
                ErrorKind::NotFound,
                format!(
                    "no block at height {height} (height is {})",
                    node.ledger.read(|s| s.height()).unwrap_or(0)
                ),
            ),
            Err(e) => api_error(ErrorKind::Ledger, e),
        },
        ApiRequest::Receipts => match crate::ledger::receipts_view(&node.ledger, &node.member) {
            Ok(v) => ApiResponse::Receipts(v),
            Err(e) => api_error(ErrorKind::Ledger, e),
        },
        ApiRequest::Publish => match publish_running(node) {
            Ok(p) => ApiResponse::Published(p),
            Err(e) => ApiResponse::Error(e),
        },
        ApiRequest::Credits => {
            let openings = match node.openings.lock() {
                Ok(o) => o.clone(),
                Err(_) => return api_error(ErrorKind::Internal, "openings lock poisoned"),
            };
            match node.ledger.read(|s| {
                let epoch = s.current_epoch();
                let allowance = openings.allowance_value(s, &node.member);
                let used = s.claimed(&node.member, epoch);
                fengxin_api::CreditsView {
                    member: node.member.clone(),
                    height: s.height(),
                    epoch,
                    balance: s.balance(&node.member),
                    quality: s.quality(&node.member),
                    allowance,
                    used,
                    remaining: allowance.map(|a| a.saturating_sub(used)),
                    history: s
                        .credit_history(&node.member)
                        .iter()
                        .map(fengxin_api::CreditChange::from)
                        .collect(),
                    suspended_since: s.suspended(&node.member),
                }
            }) {
                Ok(v) => ApiResponse::Credits(v),
                Err(e) => api_error(ErrorKind::Ledger, e),
            }
        }
        ApiRequest::Feedback { receipt, verdict } => submit_own(
            node,
            RecordBody::Feedback(fengxin_ledger::Feedback {
                receipt: receipt.0,
                verdict: verdict.into(),
            }),
        ),
        ApiRequest::Propose { action, note } => submit_own(
            node,
            RecordBody::Motion(fengxin_ledger::Motion { action, note }),
        ),
        ApiRequest::Vote { motion, approve } => submit_own(
            node,
            RecordBody::Vote(fengxin_ledger::Vote {
                motion: motion.0,
                approve,
            }),
        ),
        ApiRequest::Motions => match node.ledger.read(crate::ledger::motions_view) {
            Ok(m) => ApiResponse::Motions(m),
            Err(e) => api_error(ErrorKind::Ledger, e),
        },
        ApiRequest::Audit { .. } => api_error(
            ErrorKind::NotRegulator,
            "only a regulator node holds the view key and can audit",
        ),
        ApiRequest::Submit { records } => submitted(node.ledger.submit(records)),
        ApiRequest::Screen {
            id_type,
            identifier,
            list,
            members,
            case_reference,
        } => match screen(node, id_type, &identifier, list, members, case_reference).await {
            Ok(r) => ApiResponse::Screen(r),
            Err(e) => ApiResponse::Error(e),
        },
        ApiRequest::ScreenBatch {
            id_type,
            identifiers,
            list,
            members,
            case_reference,
        } => match screen_batch(node, id_type, &identifiers, list, members, case_reference).await {
            Ok(r) => ApiResponse::ScreenBatch(r),
            Err(e) => ApiResponse::Error(e),
        },
    }
}

/// Signs `body` as this member and submits it; the reply names the record.
fn submit_own(node: &Node, body: RecordBody) -> ApiResponse {
    let record = Record::sign(node.chain, node.member.clone(), &node.identity, body);
    submitted(node.ledger.submit(vec![record]))
}

/// The local API's answer to a submission: the ids, or why nothing was submitted.
fn submitted(result: Result<Vec<[u8; 32]>, fengxin_consensus::LedgerError>) -> ApiResponse {
    match result {
        Ok(ids) => ApiResponse::Submitted(ids.into_iter().map(fengxin_api::RecordId).collect()),
        Err(e @ fengxin_consensus::LedgerError::QueueFull(_)) => api_error(ErrorKind::QueueFull, e),
        Err(e) => api_error(ErrorKind::Rejected, e),
    }
}

fn api_error(kind: ErrorKind, e: impl std::fmt::Display) -> ApiResponse {
    ApiResponse::error(kind, e)
}

/// `ledger status` on this node.
fn ledger_status(ledger: &fengxin_consensus::Ledger) -> ApiResponse {
    match ledger
        .status()
        .map_err(|e| e.to_string())
        .and_then(crate::ledger::status_view)
    {
        Ok(s) => ApiResponse::LedgerStatus(s),
        Err(e) => api_error(ErrorKind::Ledger, e),
    }
}

/// `lists publish` against the running node: signs every list's current publication, stores
/// them, and submits those the ledger does not hold yet.
fn publish_running(node: &Node) -> Result<Vec<crate::publish::Published>, CliError> {
    let (published, signed) = crate::publish::sign_publications(
        &node.store,
        &node.seed,
        &node.identity,
        &node.member,
        node.chain,
    )?;
    crate::publish::write_publications(&node.data, &signed)?;
    submit_publications(node, &signed)?;
    Ok(published)
}

/// Submits the publications the ledger does not hold yet (a newer epoch than its current),
/// and a list-size commitment for each publication that has none on the ledger.
fn submit_publications(node: &Node, signed: &[SignedPublication]) -> Result<usize, CliError> {
    let fresh: Vec<Record> = signed
        .iter()
        .filter(|sp| {
            let p = &sp.publication;
            node.ledger
                .read(|s| {
                    s.current_publication(&node.member, &p.list)
                        .is_none_or(|cur| cur.publication.epoch < p.epoch)
                })
                .unwrap_or(false)
        })
        .map(|sp| {
            Record::sign(
                node.chain,
                node.member.clone(),
                &node.identity,
                RecordBody::Publication(sp.publication.clone()),
            )
        })
        .collect();
    let mut fresh = fresh;
    let stats = node
        .store
        .stats()
        .map_err(|e| CliError::new(ErrorKind::Store, e.to_string()))?;
    let counts: Vec<crate::credits::SizeOf> = signed
        .iter()
        .filter_map(|sp| {
            let p = &sp.publication;
            let s = stats
                .iter()
                .find(|s| s.list == p.list && s.epoch == p.epoch)?;
            Some(crate::credits::SizeOf {
                list: p.list.clone(),
                epoch: p.epoch,
                root: p.root,
                entries: s.entries,
            })
        })
        .collect();
    let dir = DataDir::open(&node.data)?;
    let sizes = node
        .ledger
        .read(|state| {
            crate::credits::size_records(&dir, state, &node.member, &node.identity, &counts)
        })
        .map_err(|e| CliError::new(ErrorKind::Ledger, e.to_string()))??;
    if !sizes.is_empty() {
        *node
            .openings
            .lock()
            .map_err(|_| CliError::new(ErrorKind::Internal, "openings lock poisoned"))? =
            crate::credits::SizeOpenings::load(&dir)?;
    }
    fresh.extend(sizes);
    let n = fresh.len();
    if n > 0 {
        node.ledger
            .submit(fresh)
            .map_err(|e| CliError::new(ErrorKind::Ledger, e.to_string()))?;
    }
    Ok(n)
}

/// Screens identifiers against every other member (or `members`), in parallel; one exchange
/// per (member, list) and chunk of [`SCREEN_CHUNK`] identifiers.
async fn screen_many(
    node: &Arc<Node>,
    id_type: IdType,
    raws: &[String],
    list: Option<ListId>,
    members: Option<Vec<MemberName>>,
    case_reference: Option<String>,
) -> Result<Vec<MemberOutcome>, ApiError> {
    let usage = |m: String| ApiError::new(ErrorKind::Usage, m);
    // Raw identifiers are never logged or stored; only their canonical forms are used, in memory.
    let ids = raws
        .iter()
        .enumerate()
        .map(|(i, raw)| {
            CanonicalId::parse(id_type, raw)
                .map_err(|e| usage(format!("identifier {}: {e}", i + 1)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if ids.is_empty() {
        return Err(usage("no identifiers".into()));
    }
    let targets: Vec<Party> = node
        .parties()
        .into_iter()
        .filter(|p| p.name != node.member)
        .filter(|p| members.as_ref().is_none_or(|m| m.contains(&p.name)))
        .collect();
    if targets.is_empty() {
        return Err(usage("no member to screen against".into()));
    }
    // The whole request must fit the allowance: one identifier per (member, list) exchange.
    let exchanges: usize = node
        .ledger
        .read(|s| {
            s.current_publications()
                .into_iter()
                .filter(|p| targets.iter().any(|t| t.name == p.publication.member))
                .filter(|p| list.as_ref().is_none_or(|l| *l == p.publication.list))
                .count()
        })
        .unwrap_or(0);
    if let Some(remaining) = remaining_allowance(node) {
        let needed = (ids.len() * exchanges) as u64;
        if needed > remaining {
            return Err(ApiError::new(
                ErrorKind::OverAllowance,
                format!(
                    "over allowance: {needed} identifier checks ({} identifiers x {exchanges} \
                     lists), {remaining} left of this epoch's allowance",
                    ids.len()
                ),
            ));
        }
    }
    let ids = Arc::new(ids);
    let tasks: Vec<_> = targets
        .into_iter()
        .map(|party| {
            let node = node.clone();
            let ids = ids.clone();
            let list = list.clone();
            let case = case_reference.clone();
            tokio::spawn(async move {
                screen_member(&node, &party, &ids, list.as_ref(), case.as_deref()).await
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for t in tasks {
        match t.await {
            Ok(o) => outcomes.extend(o),
            Err(e) => log(format!("screening task failed: {e}")),
        }
    }
    Ok(outcomes)
}

fn screen_error(e: StepError) -> ScreenError {
    ScreenError {
        kind: e.kind,
        reason: e.reason.map(str::to_owned),
        message: e.message,
    }
}

/// Screens one identifier (`fengxin screen`).
pub async fn screen(
    node: &Arc<Node>,
    id_type: IdType,
    raw: &str,
    list: Option<ListId>,
    members: Option<Vec<MemberName>>,
    case_reference: Option<String>,
) -> Result<ScreenReport, ApiError> {
    let outcomes = screen_many(
        node,
        id_type,
        &[raw.to_owned()],
        list,
        members,
        case_reference,
    )
    .await?;
    let results = outcomes
        .into_iter()
        .map(|o| {
            let (result, error) = match o.outcome {
                Ok(hits) => (hits.first().map(|h| Verdict::from_hit(*h)), None),
                Err(e) => (None, Some(screen_error(e))),
            };
            ScreenResult {
                member: o.member,
                list: o.list,
                verified: result.is_some(),
                result,
                error,
                latency_ms: o.latency_ms,
            }
        })
        .collect();
    Ok(ScreenReport {
        identifier_type: id_type,
        results,
    })
}

/// Screens a batch of identifiers: per (member, list), the positions that hit.
pub async fn screen_batch(
    node: &Arc<Node>,
    id_type: IdType,
    raws: &[String],
    list: Option<ListId>,
    members: Option<Vec<MemberName>>,
    case_reference: Option<String>,
) -> Result<BatchScreenReport, ApiError> {
    let outcomes = screen_many(node, id_type, raws, list, members, case_reference).await?;
    let results = outcomes
        .into_iter()
        .map(|o| {
            let (hits, verified, error) = match o.outcome {
                Ok(hits) => (
                    hits.iter()
                        .enumerate()
                        .filter(|(_, h)| **h)
                        .map(|(i, _)| i)
                        .collect(),
                    true,
                    None,
                ),
                Err(e) => (Vec::new(), false, Some(screen_error(e))),
            };
            BatchScreenResult {
                member: o.member,
                list: o.list,
                hits,
                verified,
                error,
                latency_ms: o.latency_ms,
            }
        })
        .collect();
    Ok(BatchScreenReport {
        identifier_type: id_type,
        count: raws.len(),
        results,
    })
}

/// One (member, list) outcome of a screening.
struct MemberOutcome {
    member: MemberName,
    list: Option<ListId>,
    outcome: Result<Vec<bool>, StepError>,
    latency_ms: f64,
}

fn failed(
    member: &MemberName,
    list: Option<&ListId>,
    kind: ScreenErrorKind,
    message: String,
    started: Instant,
) -> MemberOutcome {
    MemberOutcome {
        member: member.clone(),
        list: list.cloned(),
        outcome: Err(StepError::new(kind, message, false)),
        latency_ms: started.elapsed().as_secs_f64() * 1e3,
    }
}

/// A failed step of a screening exchange: the stable kind reported to the user, a stable
/// reason code within that kind, and whether retrying can help (only network failures are
/// retried).
struct StepError {
    kind: ScreenErrorKind,
    reason: Option<&'static str>,
    message: String,
    retry: bool,
}

impl StepError {
    fn new(kind: ScreenErrorKind, message: impl Into<String>, retry: bool) -> Self {
        Self {
            kind,
            reason: None,
            message: message.into(),
            retry,
        }
    }

    fn because(mut self, reason: &'static str) -> Self {
        self.reason = Some(reason);
        self
    }
}

impl From<QueryError> for StepError {
    fn from(e: QueryError) -> Self {
        match e {
            QueryError::Misbehaved(m) => {
                Self::new(ScreenErrorKind::PeerMisbehaved, m.to_string(), false).because(m.code())
            }
            QueryError::Refused(r) => {
                Self::new(ScreenErrorKind::Refused, r.message.clone(), false).because(r.kind.code())
            }
            other => Self::new(
                ScreenErrorKind::InvalidPublication,
                other.to_string(),
                false,
            ),
        }
    }
}

impl From<fengxin_net::ConnectError> for StepError {
    fn from(e: fengxin_net::ConnectError) -> Self {
        use fengxin_net::ConnectError as E;
        let message = e.to_string();
        match e {
            E::Admission(_) => {
                Self::new(ScreenErrorKind::PeerMisbehaved, message, false).because("identity")
            }
            E::Timeout => {
                Self::new(ScreenErrorKind::PeerUnreachable, message, true).because("timeout")
            }
            E::Handshake(_) => {
                Self::new(ScreenErrorKind::PeerUnreachable, message, true).because("handshake")
            }
            E::Endpoint(_) => Self::new(ScreenErrorKind::Local, message, false),
            _ => Self::new(ScreenErrorKind::PeerUnreachable, message, true),
        }
    }
}

impl From<fengxin_net::ExchangeError> for StepError {
    fn from(e: fengxin_net::ExchangeError) -> Self {
        use fengxin_net::ExchangeError as E;
        let message = e.to_string();
        match e {
            // The peer refused our frame: a limit or version mismatch, or it would not answer.
            // Not a protocol violation by the peer, and not worth repeating.
            E::Rejected(_) => {
                Self::new(ScreenErrorKind::Refused, message, false).because("frame_rejected")
            }
            E::FrameTooLarge { .. } | E::UnsupportedVersion(_) | E::Malformed(_) => {
                Self::new(ScreenErrorKind::PeerMisbehaved, message, false).because("bad_frame")
            }
            E::Timeout => {
                Self::new(ScreenErrorKind::PeerUnreachable, message, true).because("timeout")
            }
            E::Closed | E::ConnectionLost(_) => {
                Self::new(ScreenErrorKind::PeerUnreachable, message, true)
                    .because("connection_lost")
            }
            E::OutgoingTooLarge { .. } | E::Encode(_) | E::Io(_) => {
                Self::new(ScreenErrorKind::Local, message, false)
            }
            _ => Self::new(ScreenErrorKind::PeerUnreachable, message, true),
        }
    }
}

/// The cached connection to one peer. Dialling holds only this peer's slot, so an unreachable
/// member never delays the exchanges with the others.
type ConnectionSlot = Arc<tokio::sync::Mutex<Option<PeerConnection>>>;

async fn slot(node: &Node, party: &Party) -> ConnectionSlot {
    node.connections
        .lock()
        .await
        .entry(party.name.clone())
        .or_default()
        .clone()
}

async fn connection(node: &Node, party: &Party) -> Result<PeerConnection, StepError> {
    let slot = slot(node, party).await;
    let mut cached = slot.lock().await;
    if let Some(c) = cached.as_ref() {
        return Ok(c.clone());
    }
    let c = node.endpoint.connect(party.address, &party.name).await?;
    *cached = Some(c.clone());
    Ok(c)
}

/// One request/response exchange. A failed exchange drops the cached connection; the peer's
/// fault (bad frames, wrong identity) is misbehaviour, the network's is retryable.
async fn exchange(node: &Node, party: &Party, request: &Request) -> Result<Response, StepError> {
    let conn = connection(node, party).await?;
    match conn.request::<Request, Response>(request).await {
        Ok(r) => Ok(r),
        Err(e) => {
            *slot(node, party).await.lock().await = None;
            Err(e.into())
        }
    }
}

/// Runs `step` up to [`ATTEMPTS`] times with exponential backoff while it fails retryably.
async fn with_retries<T, F, Fut>(mut step: F) -> Result<T, StepError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, StepError>>,
{
    let mut delay = Duration::from_millis(100);
    let mut attempt = 1;
    loop {
        match step().await {
            Err(e) if e.retry && attempt < ATTEMPTS => {
                tokio::time::sleep(delay).await;
                delay *= 2;
                attempt += 1;
            }
            other => return other,
        }
    }
}

async fn screen_member(
    node: &Node,
    party: &Party,
    ids: &[CanonicalId],
    only: Option<&ListId>,
    case_reference: Option<&str>,
) -> Vec<MemberOutcome> {
    let started = Instant::now();
    // The roots and keys come from the ledger: what the member committed to, signed by it and
    // validated by every node.
    let verified: Vec<Publication> = node
        .ledger
        .read(|s| {
            s.current_publications()
                .into_iter()
                .filter(|p| p.publication.member == party.name)
                .map(|p| p.publication.clone())
                .collect()
        })
        .unwrap_or_default();
    let mut out = Vec::new();
    for p in verified
        .iter()
        .filter(|p| only.is_none_or(|l| &p.list == l))
    {
        let started = Instant::now();
        let mut hits = Vec::with_capacity(ids.len());
        let mut outcome = Ok(());
        for chunk in ids.chunks(SCREEN_CHUNK) {
            // Every attempt signs a fresh claim: an attempt the responder evaluated is a
            // receipt it submits, and spending one claim twice would be an equivocation.
            let attempt = || query_batch(node, party, p, chunk, case_reference);
            match with_retries(attempt).await {
                Ok((h, records)) => {
                    hits.extend(h);
                    // The responder submits the receipt; the querier submits it too (the
                    // ledger keeps one per request id) with its details sealed to the
                    // regulator, into the durable outbox before the answer is reported.
                    let ledger = node.ledger.clone();
                    let submitted =
                        tokio::task::spawn_blocking(move || submit_receipt_copy(&ledger, records))
                            .await
                            .map_err(|e| e.to_string())
                            .and_then(|r| r.map_err(|e| e.to_string()));
                    if let Err(e) = submitted {
                        log(format!("receipt for {} not submitted: {e}", party.name));
                    }
                }
                Err(e) => {
                    outcome = Err(e);
                    break;
                }
            }
        }
        out.push(MemberOutcome {
            member: party.name.clone(),
            list: Some(p.list.clone()),
            outcome: outcome.map(|()| hits),
            latency_ms: started.elapsed().as_secs_f64() * 1e3,
        });
    }
    if out.is_empty() {
        let what = only.map_or("no published lists".to_owned(), |l| {
            format!("does not publish {l}")
        });
        out.push(failed(
            &party.name,
            only,
            ScreenErrorKind::NoList,
            what,
            started,
        ));
    }
    out
}

/// Epoch duties: publish once admitted, and submit the settlement of every ended, unsettled
/// epoch (any member may; the first to commit settles it, the others are refused as already
/// settled).
async fn settle_epochs(node: Arc<Node>, mut published: bool) {
    loop {
        tokio::time::sleep(Duration::from_secs(2)).await;
        // A member admitted after start-up publishes once the ledger knows it.
        if !published
            && node
                .ledger
                .read(|s| s.members().contains_key(&node.member))
                .unwrap_or(false)
        {
            match submit_publications(&node, &node.publications) {
                Ok(n) => {
                    published = true;
                    log(format!(
                        "admitted: submitted {n} publications to the ledger"
                    ));
                }
                Err(e) => log(format!("publications not submitted yet: {}", e.message())),
            }
        }
        let due: Vec<u64> = node
            .ledger
            .read(|s| (1..s.current_epoch()).filter(|e| !s.settled(*e)).collect())
            .unwrap_or_default();
        for epoch in due {
            let record = Record::sign(
                node.chain,
                node.member.clone(),
                &node.identity,
                RecordBody::Settlement(fengxin_ledger::Settlement { epoch }),
            );
            match node.ledger.submit(vec![record]) {
                Ok(_) => log(format!("settlement of epoch {epoch} submitted")),
                Err(e) => log(format!("settlement of epoch {epoch}: {e}")),
            }
        }
    }
}

/// What is left of this epoch's allowance (`None` when the consortium keeps no allowances or
/// the openings are missing).
fn remaining_allowance(node: &Node) -> Option<u64> {
    let openings = node.openings.lock().ok()?.clone();
    let local = node.claimed.lock().ok()?.clone();
    node.ledger
        .read(|s| {
            s.view_key()?;
            let epoch = s.current_epoch();
            let allowance = openings.allowance_value(s, &node.member)?;
            let used = s
                .claimed(&node.member, epoch)
                .max(local.get(&epoch).copied().unwrap_or(0));
            Some(allowance.saturating_sub(used))
        })
        .ok()
        .flatten()
}

/// The allowance claim for `count` more identifiers (none when the consortium keeps no
/// allowances). Over allowance is a typed error and nothing is sent.
fn allowance_claim(
    node: &Node,
    count: usize,
) -> Result<Option<fengxin_ledger::AllowanceClaim>, StepError> {
    let count = u32::try_from(count).unwrap_or(u32::MAX);
    let openings = node
        .openings
        .lock()
        .map_err(|_| StepError::new(ScreenErrorKind::Internal, "openings lock poisoned", false))?
        .clone();
    let mut claimed = node
        .claimed
        .lock()
        .map_err(|_| StepError::new(ScreenErrorKind::Internal, "claims lock poisoned", false))?;
    let result = node
        .ledger
        .read(|s| {
            if s.view_key().is_none() {
                return Ok(None);
            }
            let local = claimed.get(&s.current_epoch()).copied().unwrap_or(0);
            crate::credits::claim(&openings, s, &node.member, count, local).map(Some)
        })
        .map_err(|e| StepError::new(ScreenErrorKind::Ledger, e.to_string(), false))?;
    match result {
        Ok(Some(c)) => {
            claimed.insert(c.epoch, c.used_after);
            Ok(Some(c))
        }
        Ok(None) => Ok(None),
        Err(why) => Err(StepError::new(ScreenErrorKind::OverAllowance, why, false)),
    }
}

/// Submits the querier's copy of a receipt with its sealed details. The responder submits the
/// receipt too; if its copy is already on the ledger, the details go alone.
fn submit_receipt_copy(
    ledger: &fengxin_consensus::Ledger,
    mut records: Vec<Record>,
) -> Result<Vec<[u8; 32]>, fengxin_consensus::LedgerError> {
    match ledger.submit(records.clone()) {
        Err(fengxin_consensus::LedgerError::Rejected {
            index: 0,
            reason: fengxin_ledger::Rejection::Replayed,
        }) => {
            records.remove(0);
            if records.is_empty() {
                Ok(Vec::new())
            } else {
                ledger.submit(records)
            }
        }
        other => other,
    }
}

/// The two-step exchange for one list and a batch of identifiers (restarted from a fresh
/// blinding and a fresh allowance claim when retried). Returns hit or miss per identifier,
/// every one proven, and the records to submit: the countersigned receipt and, with a
/// regulator, the details sealed to it.
async fn query_batch(
    node: &Node,
    party: &Party,
    publication: &Publication,
    ids: &[CanonicalId],
    case_reference: Option<&str>,
) -> Result<(Vec<bool>, Vec<Record>), StepError> {
    let claim = allowance_claim(node, ids.len())?;
    let claim_bytes = claim
        .as_ref()
        .map(fengxin_ledger::AllowanceClaim::to_bytes)
        .unwrap_or_default();
    let querier = fengxin_protocol::Querier {
        chain: node.chain,
        member: &node.member,
        key: &node.identity,
    };
    let (awaiting, request) =
        querier.start(&mut rand_core::OsRng, publication, ids, claim_bytes)?;
    let response = exchange(node, party, &request).await?;
    let (awaiting, request) = awaiting.handle(response, &party.key)?;
    let response = exchange(node, party, &request).await?;
    // Proof verification is CPU work: let the runtime move other exchanges off this thread.
    let exchange = tokio::task::block_in_place(|| {
        awaiting.handle(response, &node.verifier, &mut rand_core::OsRng)
    })?;
    let receipt = exchange.receipt;
    let id = receipt.id();
    let mut records = vec![Record::sign(
        node.chain,
        node.member.clone(),
        &node.identity,
        RecordBody::Receipt(Box::new(receipt.clone())),
    )];
    if let Some(view) = node.ledger.read(|s| s.view_key().copied()).ok().flatten() {
        let d = crate::credits::ReceiptDetails {
            tags: exchange
                .answers
                .iter()
                .map(|a| a.tag().to_string())
                .collect(),
            results: exchange.answers.iter().map(|a| a.hit()).collect(),
            nonce: hex::encode(receipt.request.request.nonce),
            request_digest: hex::encode(id),
            answer_digest: hex::encode(receipt.answer_digest),
            case_reference: case_reference.map(str::to_owned),
        };
        let sealed = crate::credits::seal(&view, &id, &d)
            .map_err(|e| StepError::new(ScreenErrorKind::Internal, e, false))?;
        records.push(Record::sign(
            node.chain,
            node.member.clone(),
            &node.identity,
            RecordBody::Details(Box::new(fengxin_ledger::ReceiptDetails {
                receipt: id,
                sealed,
            })),
        ));
    }
    Ok((exchange.answers.iter().map(|a| a.hit()).collect(), records))
}

/// Binds the owner-only local API socket in the data directory.
fn bind_api_socket(
    dir: &DataDir,
) -> Result<(tokio::net::UnixListener, std::path::PathBuf), CliError> {
    let socket_path = dir.root().join(SOCKET);
    let _ = std::fs::remove_file(&socket_path);
    let listener = tokio::net::UnixListener::bind(&socket_path)
        .map_err(|e| CliError::new(ErrorKind::Io, format!("{}: {e}", socket_path.display())))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&socket_path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| CliError::new(ErrorKind::Io, format!("{}: {e}", socket_path.display())))?;
    }
    Ok((listener, socket_path))
}

/// Binds the QUIC endpoint (admitting genesis parties until the ledger is up, then the
/// ledger's members and regulators) and starts this node's ledger over it.
async fn start_ledger(
    dir: &DataDir,
    genesis: &Genesis,
    parties: &[Party],
    identity: &IdentityKey,
) -> Result<(Endpoint, fengxin_consensus::Ledger), CliError> {
    let registry = Arc::new(crate::ledger::LedgerRegistry::new(
        parties.iter().map(|p| (p.key, p.name.clone())).collect(),
    ));
    let listen = dir
        .config()
        .listen
        .parse()
        .map_err(|e| CliError::new(ErrorKind::Config, format!("listen address: {e}")))?;
    let endpoint = Endpoint::bind(listen, identity, registry.clone(), Limits::default())
        .map_err(|e| CliError::new(ErrorKind::Network, e.to_string()))?;
    let ledger_key = IdentityKey::from_slice(&identity.expose_secret())
        .map_err(|e| CliError::new(ErrorKind::Internal, e.to_string()))?;
    let config = crate::ledger::config(
        genesis,
        dir.config().member.clone(),
        ledger_key,
        dir.root(),
        fengxin_consensus::Timing::default(),
    )?;
    let ledger = fengxin_consensus::Ledger::start(
        config,
        crate::ledger::QuicTransport::new(endpoint.clone()),
    )
    .await
    .map_err(|e| CliError::new(ErrorKind::Ledger, e.to_string()))?;
    registry.attach(ledger.clone());
    Ok((endpoint, ledger))
}

/// The regulator's node: replicates and validates the ledger as a non-voting learner, and
/// serves the audit on its local API. It holds no lists and answers no screening.
async fn run_regulator(dir: DataDir, genesis: Genesis) -> Result<(), CliError> {
    let parties: Vec<Party> = genesis.parties()?.into_iter().map(|(p, _)| p).collect();
    let identity = dir.identity()?;
    let me = dir.config().member.clone();
    let view = dir.view_secret()?;
    let (endpoint, ledger) = start_ledger(&dir, &genesis, &parties, &identity).await?;
    tokio::spawn(crate::ledger::serve_endpoint(
        endpoint.clone(),
        ledger.clone(),
    ));
    let (listener, socket_path) = bind_api_socket(&dir)?;
    log(format!(
        "{me} (regulator) replicating the ledger; local API {}",
        socket_path.display()
    ));
    println!("ready");
    let shutdown = Arc::new(Notify::new());
    let view = Arc::new(view);
    {
        let (ledger, shutdown, view) = (ledger.clone(), shutdown.clone(), view.clone());
        let me = me.clone();
        tokio::spawn(serve_api(listener, move |req| {
            let (ledger, shutdown, view, me) =
                (ledger.clone(), shutdown.clone(), view.clone(), me.clone());
            async move { regulator_api(&ledger, &view, &me, &shutdown, req).await }
        }));
    }
    wait_for_stop(&shutdown).await?;
    ledger.shutdown().await;
    endpoint.close();
    let _ = std::fs::remove_file(&socket_path);
    log("stopped");
    Ok(())
}

async fn regulator_api(
    ledger: &fengxin_consensus::Ledger,
    view: &Arc<fengxin_confidential::ViewSecret>,
    me: &MemberName,
    shutdown: &Notify,
    req: ApiRequest,
) -> ApiResponse {
    match req {
        ApiRequest::Shutdown => {
            shutdown.notify_one();
            ApiResponse::ShuttingDown
        }
        ApiRequest::Status => match ledger.read(|s| Status {
            member: me.clone(),
            listen: String::new(),
            members: s.members().keys().cloned().collect(),
            height: s.height(),
            publications: s.current_publications().len(),
        }) {
            Ok(s) => ApiResponse::Status(s),
            Err(e) => api_error(ErrorKind::Ledger, e),
        },
        ApiRequest::LedgerStatus => ledger_status(ledger),
        ApiRequest::LedgerBlock { height } => match ledger.block(height) {
            Ok(Some(b)) => ApiResponse::LedgerBlock(crate::ledger::block_view(&b)),
            Ok(None) => api_error(ErrorKind::NotFound, format!("no block at height {height}")),
            Err(e) => api_error(ErrorKind::Ledger, e),
        },
        ApiRequest::Audit { from, to } => {
            let (ledger, view) = (ledger.clone(), view.clone());
            // Decryption (a one-off 68 MiB table, then a discrete log per size) is CPU work.
            let report = tokio::task::spawn_blocking(move || {
                ledger.read(|s| {
                    crate::audit::audit(s, &view, from.unwrap_or(1), to.unwrap_or(s.height()))
                })
            })
            .await;
            match report {
                Ok(Ok(r)) => ApiResponse::Audit(r),
                Ok(Err(e)) => api_error(ErrorKind::Ledger, e),
                Err(e) => api_error(ErrorKind::Internal, e),
            }
        }
        _ => api_error(
            ErrorKind::Regulator,
            "a regulator node answers status, ledger and audit requests only",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(name: &str) -> MemberName {
        MemberName::parse(name).expect("valid name")
    }

    #[test]
    fn burst_then_rate_limited_then_refilled() {
        let limits = PeerLimiter::new(10.0, 3.0, 100);
        let t0 = Instant::now();
        let a = peer("bank-a");
        let permits: Vec<_> = (0..3)
            .map(|_| limits.admit(&a, t0).expect("within the burst"))
            .collect();
        let refused = limits.admit(&a, t0).expect_err("burst spent");
        assert_eq!(refused.kind, RefusalKind::RateLimited);
        // Another peer has its own budget.
        assert!(limits.admit(&peer("bank-b"), t0).is_ok());
        // 10 per second: after 150 ms one more token, not two.
        let t1 = t0 + Duration::from_millis(150);
        assert!(limits.admit(&a, t1).is_ok());
        assert_eq!(
            limits.admit(&a, t1).map(drop).map_err(|r| r.kind),
            Err(RefusalKind::RateLimited)
        );
        // The bucket never holds more than the burst.
        let t2 = t1 + Duration::from_secs(3600);
        for _ in 0..3 {
            assert!(limits.admit(&a, t2).is_ok());
        }
        assert!(limits.admit(&a, t2).is_err());
        drop(permits);
    }

    #[test]
    fn concurrency_is_bounded_and_released() {
        let limits = PeerLimiter::new(1000.0, 1000.0, 2);
        let t = Instant::now();
        let a = peer("bank-a");
        let first = limits.admit(&a, t).expect("slot 1");
        let _second = limits.admit(&a, t).expect("slot 2");
        let refused = limits.admit(&a, t).expect_err("no third slot");
        assert_eq!(refused.kind, RefusalKind::RateLimited);
        assert!(refused.message.contains("in flight"), "{}", refused.message);
        drop(first);
        assert!(
            limits.admit(&a, t).is_ok(),
            "a finished request frees its slot"
        );
    }

    #[tokio::test]
    async fn only_network_failures_are_retried_with_growing_pauses() {
        use std::sync::atomic::{AtomicU32, Ordering};
        let calls = AtomicU32::new(0);
        let started = Instant::now();
        let r: Result<(), StepError> = with_retries(|| async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(StepError::new(
                ScreenErrorKind::PeerUnreachable,
                "timed out",
                true,
            ))
        })
        .await;
        assert_eq!(calls.load(Ordering::SeqCst), ATTEMPTS);
        assert_eq!(
            r.err().map(|e| e.kind),
            Some(ScreenErrorKind::PeerUnreachable)
        );
        // Pauses of 100 ms then 200 ms between the three attempts.
        assert!(started.elapsed() >= Duration::from_millis(300));

        let calls = AtomicU32::new(0);
        let r: Result<(), StepError> = with_retries(|| async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(StepError::new(
                ScreenErrorKind::PeerMisbehaved,
                "bad proof",
                false,
            ))
        })
        .await;
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "misbehaviour is never retried"
        );
        assert!(r.is_err());

        let calls = AtomicU32::new(0);
        let r = with_retries(|| async {
            if calls.fetch_add(1, Ordering::SeqCst) == 0 {
                Err(StepError::new(
                    ScreenErrorKind::PeerUnreachable,
                    "connection lost",
                    true,
                ))
            } else {
                Ok(7)
            }
        })
        .await;
        assert_eq!(
            r.ok(),
            Some(7),
            "a retried step that then succeeds succeeds"
        );
    }

    #[test]
    fn network_errors_are_classified_for_the_report() {
        use fengxin_net::{ExchangeError, StreamRejection};
        let e: StepError = ExchangeError::Rejected(StreamRejection::FrameTooLarge).into();
        assert_eq!(
            (e.kind, e.reason, e.retry),
            (ScreenErrorKind::Refused, Some("frame_rejected"), false)
        );
        let e: StepError = ExchangeError::Malformed("x".into()).into();
        assert_eq!(
            (e.kind, e.reason, e.retry),
            (ScreenErrorKind::PeerMisbehaved, Some("bad_frame"), false)
        );
        let e: StepError = ExchangeError::Timeout.into();
        assert_eq!(
            (e.kind, e.reason, e.retry),
            (ScreenErrorKind::PeerUnreachable, Some("timeout"), true)
        );
        let e: StepError = ExchangeError::Closed.into();
        assert_eq!(e.reason, Some("connection_lost"));
        assert!(e.retry);
        let e: StepError = fengxin_net::ConnectError::Timeout.into();
        assert_eq!((e.kind, e.retry), (ScreenErrorKind::PeerUnreachable, true));
    }

    #[tokio::test]
    async fn drain_waits_for_requests_in_progress_and_refuses_new_ones() {
        let work = Arc::new(InFlight::default());
        let busy = {
            let work = work.clone();
            tokio::spawn(async move {
                let _busy = work.begin().expect("running");
                tokio::time::sleep(Duration::from_millis(200)).await;
            })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        let left = work.drain(Duration::from_secs(5)).await;
        assert_eq!(left, 0, "drain returns once the request has ended");
        assert!(busy.is_finished(), "the request ran to its end");
        assert!(work.begin().is_none(), "no new request once stopping");
        // A request that outlives the limit is reported.
        let stuck = Arc::new(InFlight::default());
        let guard = stuck.begin().expect("running");
        assert_eq!(stuck.drain(Duration::from_millis(50)).await, 1);
        drop(guard);
    }
}
