//! What the daemon's tasks share: the [`Node`] (identity, lists, keys, prover, ledger,
//! connections, limits), and its log.

use super::limits::{InFlight, PeerLimiter};
use super::querier::ConnectionSlot;
use super::responder::ProofKey;
use crate::genesis::Party;
use fengxin_crypto::{IdentityKey, ListKey, MasterSeed};
use fengxin_net::Endpoint;
use fengxin_proofs::{Prover, Verifier};
use fengxin_protocol::{Refusal, Responder, SignedPublication};
use fengxin_store::Store;
use fengxin_types::{Epoch, ListId, MemberName};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::Notify;

/// Everything the daemon shares between tasks.
pub struct Node {
    pub(super) member: MemberName,
    pub(super) identity: IdentityKey,
    pub(super) data: std::path::PathBuf,
    pub(super) listen: String,
    pub(super) store: Store,
    pub(super) seed: MasterSeed,
    pub(super) keys: Mutex<BTreeMap<(ListId, Epoch), Arc<ListKey>>>,
    pub(super) prover: Prover,
    pub(super) verifier: Verifier,
    pub(super) ledger: fengxin_consensus::Ledger,
    /// The chain (genesis hash) every record, request and publication is signed for.
    pub(super) chain: [u8; 32],
    /// The responder core (remembers evaluated proof-mode requests until their tags come).
    pub(super) responder: Responder,
    /// Genesis marks a development consortium: every output says so.
    pub(super) development: bool,
    /// Requests and allowance intervals served, written before each evaluation (its own file,
    /// so the write never waits behind a list import).
    pub(super) spent: fengxin_store::SpentBook,
    /// Highest allowance usage claimed so far, per epoch (claims go out before they commit);
    /// loaded from, and written through to, the spent book's `own` table.
    pub(super) claimed: Mutex<BTreeMap<u64, u64>>,
    /// Openings of this member's committed list sizes.
    pub(super) openings: Mutex<crate::credits::SizeOpenings>,
    pub(super) limits: PeerLimiter,
    /// Answers already proven, by (list, epoch, root, tag): a proof stays valid for as long
    /// as its root is the published one, and the root is part of the key.
    pub(super) proofs: Mutex<BTreeMap<ProofKey, (bool, Vec<u8>)>>,
    /// The signed publications served to peers (from the last `lists publish`).
    pub(super) publications: Vec<SignedPublication>,
    /// Per published list, the (epoch, root) the tree can prove against. The running node
    /// holds the database, so neither changes while it runs; if a list changed after its
    /// publication, this differs from the published root and queriers get `StaleRoot`.
    pub(super) current: BTreeMap<ListId, (Epoch, [u8; 32])>,
    pub(super) connections: tokio::sync::Mutex<BTreeMap<MemberName, ConnectionSlot>>,
    pub(super) endpoint: Endpoint,
    pub(super) shutdown: Notify,
    /// Requests being served (peer screening requests and local API calls); shutdown waits
    /// for them.
    pub(super) work: InFlight,
    /// The snapshots of this member's shared lists, built on first request.
    pub(super) served: Mutex<super::snapshots::Served>,
    /// Other members' verified snapshots this node holds.
    pub(super) held: std::sync::RwLock<super::snapshots::HeldCopies>,
    /// Held while a snapshot to serve is built, so that one build runs at a time.
    pub(super) building: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Node({})", self.member)
    }
}

pub(super) fn internal(e: impl std::fmt::Display) -> String {
    e.to_string()
}

impl Node {
    /// The current members, from the ledger.
    pub(super) fn parties(&self) -> Vec<Party> {
        self.ledger
            .read(|s| {
                s.members()
                    .iter()
                    .filter_map(|(name, m)| Party::from_ledger(name, &m.identity_key, &m.address))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub(super) fn list_key(&self, list: &ListId, epoch: Epoch) -> Result<Arc<ListKey>, String> {
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
    pub(super) fn admit(
        &self,
        peer: &MemberName,
    ) -> Result<tokio::sync::OwnedSemaphorePermit, Refusal> {
        self.limits.admit(peer, Instant::now())
    }
}
