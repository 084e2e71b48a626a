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

mod api_server;
mod attestor;
mod duties;
mod limits;
mod logging;
mod querier;
mod responder;
mod snapshots;
mod state;
mod views;

pub use limits::{Busy, InFlight, PeerLimiter, PEER_BURST, PEER_CONCURRENCY, PEER_RATE};
pub use logging::LogFormat;
pub use querier::{screen, screen_batch, SCREEN_CHUNK};
pub use responder::PROOF_CACHE;
pub use state::Node;

use self::api_server::{api_error, handle_api, regulator_api, serve_api};
use self::duties::{settle_epochs, submit_publications};
use self::responder::serve_peers;
use crate::cli::CliError;
use crate::datadir::{DataDir, Role};
use crate::genesis::{Genesis, Party};
use crate::publish::read_publications;
use fengxin_api::{ApiRequest, ErrorKind, SOCKET};
use fengxin_crypto::IdentityKey;
use fengxin_net::{Endpoint, Limits};
use fengxin_protocol::Responder;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// Why the daemon could not start (or keep its signal handlers).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The data directory could not be opened or read.
    #[error(transparent)]
    DataDir(#[from] crate::datadir::DataDirError),
    /// The genesis file is unusable, or this node's keys do not match it.
    #[error(transparent)]
    Genesis(#[from] crate::genesis::GenesisError),
    /// Genesis names this member with another identity key.
    #[error("genesis holds another identity key for {0}")]
    OtherIdentity(fengxin_types::MemberName),
    /// The circuit keys could not be loaded.
    #[error(transparent)]
    Params(#[from] fengxin_proofs::KeyLoadError),
    /// The stored publications could not be bound to the chain.
    #[error(transparent)]
    Publish(#[from] crate::publish::PublishError),
    /// The list database failed.
    #[error("list database: {0}")]
    Store(#[from] fengxin_store::StoreError),
    /// The responder's book of spent requests and claims failed.
    #[error("spent-claims book: {0}")]
    Spent(#[source] fengxin_store::StoreError),
    /// This member's list-size openings could not be read.
    #[error(transparent)]
    Size(#[from] crate::credits::SizeError),
    /// The ledger could not start or be read.
    #[error("ledger: {0}")]
    Ledger(#[from] fengxin_consensus::LedgerError),
    /// The configured listen address does not parse.
    #[error("listen address {address:?}: {reason}")]
    ListenAddress {
        /// The configured text.
        address: String,
        /// Why.
        reason: String,
    },
    /// The QUIC endpoint could not bind.
    #[error("QUIC endpoint: {0}")]
    Endpoint(String),
    /// The runtime, the signal handlers or the local socket could not be set up.
    #[error("{what}: {source}")]
    Io {
        /// What was being set up.
        what: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// An invariant failed.
    #[error("{0}")]
    Internal(String),
}

/// Starts the daemon and serves until shut down (SIGINT, SIGTERM or the local API).
pub fn run(data: &Path, genesis_path: &Path, log: LogFormat) -> Result<(), CliError> {
    logging::init(log);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|source| StartError::Io {
            what: "runtime".into(),
            source,
        })?;
    Ok(runtime.block_on(run_async(data, genesis_path))?)
}

async fn run_async(data: &Path, genesis_path: &Path) -> Result<(), StartError> {
    let dir = DataDir::open(data)?;
    let genesis = Genesis::load(genesis_path)?;
    if dir.config().role == Role::Regulator {
        return run_regulator(dir, genesis).await;
    }
    let params = crate::publish::params_dir_for(dir.root())?;
    genesis.check_params(&params)?;
    if genesis.development {
        tracing::warn!(
            "development consortium: the circuit keys are public, so anyone can forge proofs; \
             never for production"
        );
    }
    let parties: Vec<Party> = genesis.parties()?.into_iter().map(|(p, _)| p).collect();
    let identity = dir.identity()?;
    let me = &dir.config().member;
    // A member missing from genesis joins later: it starts as a non-voting replica, and the
    // founders accept it once the council's admission is on the ledger.
    match parties.iter().find(|p| &p.name == me) {
        Some(own) if own.key != identity.public() => {
            return Err(StartError::OtherIdentity(me.clone()))
        }
        Some(_) => {}
        None => {
            tracing::info!("{me} is not a founding member: waiting for the council to admit it")
        }
    }
    let (endpoint, ledger) = start_ledger(&dir, &genesis, &parties, &identity).await?;
    let prover = fengxin_proofs::keys::load_prover(&params)?;
    let verifier = fengxin_proofs::keys::load_verifier(&params)?;
    let store = dir.store()?;
    // Tags made with another seed generation cannot be served: a rotation stopped part-way
    // (finish it with `lists rotate`) or a seed older than the database.
    let seed = dir.master_seed()?;
    store.check_generation(&seed)?;
    let publications = read_publications(dir.root()).unwrap_or_else(|e| {
        tracing::warn!("serving no publications: {e}");
        Vec::new()
    });
    let mut current = BTreeMap::new();
    for sp in &publications {
        let list = &sp.publication.list;
        let meta = store.list_meta(list)?;
        let state = meta.and_then(|m| {
            let root = fengxin_tree::Root::from_hex(m.root.as_deref()?).ok()?;
            Some((m.epoch().ok()?, root.to_bytes()))
        });
        if let Some(state) = state {
            current.insert(list.clone(), state);
        }
    }
    let spent = dir.spent_book().map_err(StartError::Spent)?;
    // Requests for any other (list, epoch) than the current one are refused before the book is
    // asked, and claims of past allowance epochs are refused by the ledger: neither can be
    // replayed, so the book forgets them.
    let epoch = ledger.read(|s| s.current_epoch())?;
    let forgotten = spent
        .prune(
            &|list, list_epoch| {
                current
                    .iter()
                    .any(|(l, (e, _))| l.as_str() == list && e.get() == list_epoch)
            },
            epoch,
        )
        .map_err(StartError::Spent)?;
    if forgotten > 0 {
        tracing::info!("spent-claims book: forgot {forgotten} entries that cannot be replayed");
    }
    let own_claims = spent.own_claims().map_err(StartError::Spent)?;
    let chain = ledger.read(|s| s.chain_id())?;
    let publications = crate::publish::bind_to_chain(dir.root(), publications, chain, &identity)?;
    let node = Arc::new(Node {
        chain,
        responder: Responder::default(),
        development: genesis.development,
        spent,
        member: me.clone(),
        identity,
        data: dir.root().to_path_buf(),
        listen: dir.config().listen.clone(),
        store,
        seed,
        keys: Mutex::new(BTreeMap::new()),
        prover,
        verifier,
        ledger: ledger.clone(),
        claimed: Mutex::new(own_claims),
        openings: Mutex::new(crate::credits::SizeOpenings::load(&dir)?),
        limits: PeerLimiter::new(PEER_RATE, PEER_BURST, PEER_CONCURRENCY),
        proofs: Mutex::new(BTreeMap::new()),
        publications,
        current,
        connections: tokio::sync::Mutex::new(BTreeMap::new()),
        endpoint: endpoint.clone(),
        shutdown: Notify::new(),
        work: InFlight::default(),
        served: Mutex::new(BTreeMap::new()),
        held: std::sync::RwLock::new(BTreeMap::new()),
        building: tokio::sync::Mutex::new(()),
    });

    let published = match submit_publications(&node, &node.publications) {
        Ok(n) => {
            if n > 0 {
                tracing::info!("submitted {n} publications to the ledger");
            }
            true
        }
        Err(e) => {
            tracing::warn!("publications not submitted yet: {e}");
            false
        }
    };

    let (listener, socket_path) = bind_api_socket(&dir)?;
    tracing::info!(
        "{me} listening on {} (QUIC), local API {}",
        endpoint
            .local_addr()
            .map_or_else(|_| "?".into(), |a| a.to_string()),
        socket_path.display()
    );
    println!("ready");

    tokio::spawn(serve_peers(node.clone()));
    {
        let node = node.clone();
        let development = node.development;
        tokio::spawn(serve_api(listener, development, move |req| {
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
    let layouts = tokio::spawn(attestor::send_layouts(node.clone()));
    let held = tokio::spawn(snapshots::sync_snapshots(node.clone()));
    wait_for_stop(&node.shutdown).await?;
    // Finish what is in progress (answers being proven, screenings being verified), refusing
    // anything new, then leave the consortium's connections and stop the ledger.
    duties.abort();
    layouts.abort();
    held.abort();
    let unfinished = node.work.drain(DRAIN).await;
    if unfinished > 0 {
        tracing::info!(
            "{unfinished} requests still running after {} s; closing",
            DRAIN.as_secs()
        );
    }
    node.ledger.shutdown().await;
    endpoint.close();
    let _ = tokio::time::timeout(Duration::from_secs(3), endpoint.wait_idle()).await;
    let _ = std::fs::remove_file(&socket_path);
    tracing::info!("stopped");
    Ok(())
}

/// How long shutdown waits for requests in progress.
const DRAIN: Duration = Duration::from_secs(20);

/// Waits for SIGINT, SIGTERM or a `Shutdown` API call.
async fn wait_for_stop(shutdown: &Notify) -> Result<(), StartError> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|source| StartError::Io {
            what: "SIGTERM handler".into(),
            source,
        })?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => tracing::info!("interrupt: shutting down"),
        _ = term.recv() => tracing::info!("terminate: shutting down"),
        _ = shutdown.notified() => tracing::info!("shutdown requested: shutting down"),
    }
    Ok(())
}

/// Binds the owner-only local API socket in the data directory.
fn bind_api_socket(
    dir: &DataDir,
) -> Result<(tokio::net::UnixListener, std::path::PathBuf), StartError> {
    let socket_path = dir.root().join(SOCKET);
    let _ = std::fs::remove_file(&socket_path);
    let io = |source| StartError::Io {
        what: socket_path.display().to_string(),
        source,
    };
    let listener = tokio::net::UnixListener::bind(&socket_path).map_err(io)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&socket_path, std::fs::Permissions::from_mode(0o600))
            .map_err(io)?;
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
) -> Result<(Endpoint, fengxin_consensus::Ledger), StartError> {
    let registry = Arc::new(crate::ledger::LedgerRegistry::new(
        parties.iter().map(|p| (p.key, p.name.clone())).collect(),
    ));
    let address = &dir.config().listen;
    let listen =
        address
            .parse()
            .map_err(|e: std::net::AddrParseError| StartError::ListenAddress {
                address: address.clone(),
                reason: e.to_string(),
            })?;
    let endpoint = Endpoint::bind(listen, identity, registry.clone(), Limits::default())
        .map_err(|e| StartError::Endpoint(e.to_string()))?;
    let ledger_key = IdentityKey::from_slice(&identity.expose_secret())
        .map_err(|e| StartError::Internal(e.to_string()))?;
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
    .await?;
    registry.attach(ledger.clone());
    Ok((endpoint, ledger))
}

/// The regulator's node: replicates and validates the ledger as a non-voting learner, and
/// serves the audit on its local API. It holds no lists and answers no screening.
async fn run_regulator(dir: DataDir, genesis: Genesis) -> Result<(), StartError> {
    let parties: Vec<Party> = genesis.parties()?.into_iter().map(|(p, _)| p).collect();
    let identity = dir.identity()?;
    let me = dir.config().member.clone();
    let view = dir.view_secret()?;
    // The audit re-verifies the answers queriers seal: the regulator checks the same keys.
    let params = crate::publish::params_dir_for(dir.root())?;
    genesis.check_params(&params)?;
    let verifier = fengxin_proofs::keys::load_verifier(&params)?;
    let (endpoint, ledger) = start_ledger(&dir, &genesis, &parties, &identity).await?;
    let view = Arc::new(api_server::RegulatorKeys { view, verifier });
    let inbox = fengxin_store::LayoutInbox::open(&dir.root().join(attestor::LAYOUTS_FILE))
        .map_err(StartError::Store)?;
    let attestor = Arc::new(attestor::Attestor {
        chain: ledger.read(|s| s.chain_id())?,
        me: me.clone(),
        identity: IdentityKey::from_slice(&identity.expose_secret())
            .map_err(|e| StartError::Internal(e.to_string()))?,
        keys: view.clone(),
        inbox,
        ledger: ledger.clone(),
        endpoint: endpoint.clone(),
        complete: Notify::new(),
    });
    let layouts: crate::ledger::OtherRequests = {
        let attestor = attestor.clone();
        Arc::new(move |peer, key, request| Box::pin(attestor.clone().receive(peer, key, request)))
    };
    tokio::spawn(crate::ledger::serve_endpoint_with(
        endpoint.clone(),
        ledger.clone(),
        layouts,
    ));
    let judging = tokio::spawn(attestor::judge_layouts(attestor.clone()));
    let (listener, socket_path) = bind_api_socket(&dir)?;
    tracing::info!(
        "{me} (regulator) replicating the ledger; local API {}",
        socket_path.display()
    );
    println!("ready");
    let shutdown = Arc::new(Notify::new());
    {
        let (ledger, shutdown, view) = (ledger.clone(), shutdown.clone(), view.clone());
        let me = me.clone();
        let development = genesis.development;
        tokio::spawn(serve_api(listener, development, move |req| {
            let (ledger, shutdown, view, me) =
                (ledger.clone(), shutdown.clone(), view.clone(), me.clone());
            let attestor = attestor.clone();
            async move {
                if let ApiRequest::Openings {
                    member,
                    list,
                    count,
                } = &req
                {
                    return match attestor.sample(member, list, *count).await {
                        Ok(report) => fengxin_api::ApiResponse::Openings(report),
                        Err(e) => fengxin_api::ApiResponse::Error(e),
                    };
                }
                regulator_api(&ledger, &view, &me, &shutdown, development, req).await
            }
        }));
    }
    wait_for_stop(&shutdown).await?;
    judging.abort();
    ledger.shutdown().await;
    endpoint.close();
    let _ = std::fs::remove_file(&socket_path);
    tracing::info!("stopped");
    Ok(())
}
