//! The node's side of the ledger: the QUIC transport for consensus messages, the peer
//! registry served from ledger state, and the genesis → ledger mapping.

use crate::genesis::{Genesis, GenesisError};
use fengxin_consensus::{
    transport::CallFuture, LedgerConfig, Peer, RaftReply, RaftRpc, Timing, Transport,
    TransportError,
};
use fengxin_crypto::{IdentityKey, IdentityPublicKey};
use fengxin_ledger::{Digest, GenesisMember, GenesisRegulator};
use fengxin_net::{Endpoint, PeerConnection, PeerRegistry};
use fengxin_protocol::{Request, Response};
use fengxin_types::MemberName;
use sha2::{Digest as _, Sha256};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, OnceLock};

// The protocol's messages travel in frames of the transport's one payload version.
const _: () = assert!(fengxin_protocol::PROTOCOL_VERSION == fengxin_net::FRAME_VERSION);

/// The ledger file in the data directory.
pub const LEDGER_FILE: &str = "ledger.redb";

/// The chain id: a labelled hash of the genesis file's canonical JSON.
pub fn chain_id(genesis: &Genesis) -> Result<Digest, GenesisError> {
    let canonical =
        serde_json::to_vec(genesis).map_err(|e| GenesisError::Invalid(e.to_string()))?;
    let mut h = Sha256::new();
    h.update(fengxin_crypto::labels::LEDGER_GENESIS);
    h.update(&canonical);
    Ok(h.finalize().into())
}

fn key_bytes(hex_key: &str, who: &MemberName) -> Result<[u8; 32], GenesisError> {
    IdentityPublicKey::from_hex(hex_key)
        .map(IdentityPublicKey::to_bytes)
        .map_err(|e| GenesisError::Invalid(format!("{who}: identity key: {e}")))
}

/// The ledger configuration of this node from genesis.
pub fn config(
    genesis: &Genesis,
    name: MemberName,
    key: IdentityKey,
    data: &Path,
    timing: Timing,
) -> Result<LedgerConfig, GenesisError> {
    let members = genesis
        .members
        .iter()
        .map(|m| {
            Ok(GenesisMember {
                name: m.name.clone(),
                identity_key: key_bytes(&m.identity_key, &m.name)?,
                address: m.address.clone(),
            })
        })
        .collect::<Result<Vec<_>, GenesisError>>()?;
    let regulators = genesis
        .regulators
        .iter()
        .map(|r| {
            Ok(GenesisRegulator {
                name: r.name.clone(),
                identity_key: key_bytes(&r.identity_key, &r.name)?,
                address: r.address.clone(),
                view_public_key: r.view_public_key.clone().unwrap_or_default(),
            })
        })
        .collect::<Result<Vec<_>, GenesisError>>()?;
    Ok(LedgerConfig {
        name,
        key,
        path: data.join(LEDGER_FILE),
        chain_id: chain_id(genesis)?,
        members,
        regulators,
        params: genesis.credits,
        timing,
    })
}

/// TLS admission from the ledger's current membership (members and regulators); before the
/// ledger is up, from genesis.
pub struct LedgerRegistry {
    genesis: BTreeMap<IdentityPublicKey, MemberName>,
    ledger: OnceLock<fengxin_consensus::Ledger>,
}

impl LedgerRegistry {
    /// A registry that admits the genesis parties until [`LedgerRegistry::attach`].
    pub fn new(genesis: BTreeMap<IdentityPublicKey, MemberName>) -> Self {
        Self {
            genesis,
            ledger: OnceLock::new(),
        }
    }

    /// From now on, admission follows the ledger.
    pub fn attach(&self, ledger: fengxin_consensus::Ledger) {
        let _ = self.ledger.set(ledger);
    }
}

impl PeerRegistry for LedgerRegistry {
    fn member_for_key(&self, key: &IdentityPublicKey) -> Option<MemberName> {
        match self.ledger.get() {
            Some(ledger) => ledger
                .read(|s| s.party_for_key(&key.to_bytes()).cloned())
                .ok()
                .flatten(),
            None => self.genesis.get(key).cloned(),
        }
    }
}

/// Consensus messages over the node's QUIC endpoint (mutual TLS with the identity keys).
pub struct QuicTransport {
    endpoint: Endpoint,
    /// One cached connection per peer (never held across an await).
    connections: std::sync::Mutex<BTreeMap<String, PeerConnection>>,
}

/// Evicts a peer's cached connection when a call on it does not finish: the consensus engine
/// abandons a call at its deadline (the heartbeat interval) by dropping its future, before the
/// connection itself can report anything. A peer that restarted leaves the old connection
/// silently dead (its new endpoint cannot reset it), so without this every later call would
/// go to the dead connection and be abandoned in turn, until QUIC's idle timeout.
struct EvictUnlessFinished<'a> {
    transport: &'a QuicTransport,
    peer: &'a str,
    finished: bool,
}

impl Drop for EvictUnlessFinished<'_> {
    fn drop(&mut self) {
        if !self.finished {
            self.transport.evict(self.peer);
        }
    }
}

impl QuicTransport {
    /// A transport over `endpoint`.
    pub fn new(endpoint: Endpoint) -> Arc<Self> {
        Arc::new(Self {
            endpoint,
            connections: std::sync::Mutex::new(BTreeMap::new()),
        })
    }

    fn cached(&self, peer: &str) -> Option<PeerConnection> {
        self.connections.lock().ok()?.get(peer).cloned()
    }

    fn evict(&self, peer: &str) {
        if let Ok(mut c) = self.connections.lock() {
            c.remove(peer);
        }
    }

    async fn connection(&self, peer: &Peer) -> Result<PeerConnection, TransportError> {
        let fail = |reason: String| TransportError {
            peer: peer.name.clone(),
            reason,
        };
        if let Some(c) = self.cached(&peer.name) {
            return Ok(c);
        }
        let name = MemberName::parse(&peer.name).map_err(|e| fail(e.to_string()))?;
        let addr = peer
            .address
            .parse()
            .map_err(|e| fail(format!("address {}: {e}", peer.address)))?;
        let conn = self
            .endpoint
            .connect(addr, &name)
            .await
            .map_err(|e| fail(e.to_string()))?;
        if let Ok(mut c) = self.connections.lock() {
            c.insert(peer.name.clone(), conn.clone());
        }
        Ok(conn)
    }
}

impl Transport for QuicTransport {
    fn call<'a>(&'a self, peer: &'a Peer, rpc: RaftRpc) -> CallFuture<'a> {
        Box::pin(async move {
            let fail = |reason: String| TransportError {
                peer: peer.name.clone(),
                reason,
            };
            let bytes = postcard::to_allocvec(&rpc).map_err(|e| fail(e.to_string()))?;
            let mut guard = EvictUnlessFinished {
                transport: self,
                peer: &peer.name,
                finished: false,
            };
            let conn = self.connection(peer).await?;
            let reply = conn.request::<_, Response>(&Request::Ledger(bytes)).await;
            guard.finished = reply.is_ok();
            match reply {
                Ok(Response::Ledger(reply)) => {
                    postcard::from_bytes::<RaftReply>(&reply).map_err(|e| fail(e.to_string()))
                }
                Ok(other) => Err(fail(format!("unexpected reply {other:?}"))),
                Err(e) => Err(fail(e.to_string())),
            }
        })
    }
}

/// Answers one consensus message from the peer authenticated with `from` (already decoded
/// from the screening frame); the message is bound to that key before the engine sees it.
pub async fn serve(
    ledger: &fengxin_consensus::Ledger,
    from: &IdentityPublicKey,
    bytes: &[u8],
) -> Response {
    match postcard::from_bytes::<RaftRpc>(bytes) {
        Ok(rpc) => {
            let reply = ledger.handle(from, rpc).await;
            match postcard::to_allocvec(&reply) {
                Ok(b) => Response::Ledger(b),
                Err(e) => Response::Refused(fengxin_protocol::Refusal::new(
                    fengxin_protocol::RefusalKind::Internal,
                    e.to_string(),
                )),
            }
        }
        Err(e) => Response::Refused(fengxin_protocol::Refusal::new(
            fengxin_protocol::RefusalKind::Malformed,
            format!("ledger message: {e}"),
        )),
    }
}

/// Serves consensus messages arriving at `endpoint` (for processes that run the ledger without
/// the screening daemon: benchmarks and tools).
pub async fn serve_endpoint(endpoint: Endpoint, ledger: fengxin_consensus::Ledger) {
    let refuse: OtherRequests = Arc::new(|_, _, _| {
        Box::pin(async {
            Response::Refused(fengxin_protocol::Refusal::new(
                fengxin_protocol::RefusalKind::Malformed,
                "this endpoint serves the ledger only",
            ))
        })
    });
    serve_endpoint_with(endpoint, ledger, refuse).await;
}

/// What answers the requests other than consensus messages on an endpoint that serves the
/// ledger: given the peer's name and key and the request.
pub type OtherRequests = Arc<
    dyn Fn(
            MemberName,
            IdentityPublicKey,
            Request,
        ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Response> + Send>>
        + Send
        + Sync,
>;

/// Serves consensus messages arriving at `endpoint`, and every other request with `other`
/// (the regulator's node: layouts for root attestation).
pub async fn serve_endpoint_with(
    endpoint: Endpoint,
    ledger: fengxin_consensus::Ledger,
    other: OtherRequests,
) {
    while let Some(incoming) = endpoint.accept().await {
        let (ledger, other) = (ledger.clone(), other.clone());
        tokio::spawn(async move {
            let Ok(conn) = incoming.establish().await else {
                return;
            };
            let (from, peer) = (conn.public_key(), conn.member().clone());
            while let Ok(req) = conn.accept_request().await {
                let (ledger, other, peer) = (ledger.clone(), other.clone(), peer.clone());
                tokio::spawn(async move {
                    let Ok((request, responder)) = req.read::<Request>().await else {
                        return;
                    };
                    let response = match request {
                        Request::Ledger(bytes) => serve(&ledger, &from, &bytes).await,
                        request => other(peer, from, request).await,
                    };
                    let _ = responder.respond(&response).await;
                });
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::genesis::GenesisParty;
    use fengxin_net::testing::check_peer_registry;
    use rand_core::OsRng;

    fn party(name: &str, key: &IdentityKey, view: Option<String>) -> GenesisParty {
        GenesisParty {
            name: MemberName::parse(name).expect("name"),
            identity_key: key.public().to_string(),
            address: "127.0.0.1:7400".into(),
            view_public_key: view,
        }
    }

    /// The ledger-backed registry keeps the registry contract (fengxin-net's conformance check)
    /// before the ledger is up (genesis) and once it follows the ledger: members and regulators
    /// are admitted under their names, nobody else, the same from every thread.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_ledger_backed_registry_conforms() {
        let keys: Vec<IdentityKey> = (0..3).map(|_| IdentityKey::generate(&mut OsRng)).collect();
        let view = fengxin_confidential::ViewSecret::from_seed([7; 32]);
        let genesis = Genesis {
            version: 1,
            members: vec![
                party("bank-a", &keys[0], None),
                party("bank-b", &keys[1], None),
            ],
            regulators: vec![party("regulator", &keys[2], Some(view.public().to_hex()))],
            verifying_key_sha256: String::new(),
            params_label: String::new(),
            credits: fengxin_ledger::CreditParams::default(),
            development: true,
        };
        let parties: Vec<(IdentityPublicKey, MemberName)> = genesis
            .parties()
            .expect("valid genesis")
            .into_iter()
            .map(|(p, _)| (p.key, p.name))
            .collect();
        let outsiders: Vec<IdentityPublicKey> = (0..2)
            .map(|_| IdentityKey::generate(&mut OsRng).public())
            .collect();

        let registry = LedgerRegistry::new(parties.iter().cloned().collect());
        check_peer_registry(&registry, &parties, &outsiders);

        let dir = tempfile::tempdir().expect("tempdir");
        let key = IdentityKey::from_slice(&keys[0].expose_secret()).expect("key");
        let config = config(
            &genesis,
            parties[0].1.clone(),
            key,
            dir.path(),
            Timing::default(),
        )
        .expect("ledger config");
        let net = fengxin_consensus::sim::SimNetwork::new();
        let ledger = fengxin_consensus::Ledger::start(config, net.transport("bank-a"))
            .await
            .expect("ledger starts");
        registry.attach(ledger.clone());
        let (registry, members, others) = (Arc::new(registry), parties.clone(), outsiders.clone());
        let checked = {
            let registry = registry.clone();
            tokio::task::spawn_blocking(move || check_peer_registry(&*registry, &members, &others))
        };
        checked.await.expect("conformance holds once attached");
        ledger.shutdown().await;
    }
}
