//! An in-process network for tests: delivers consensus messages between [`Ledger`]s in one
//! process, and can drop, delay and partition.

use crate::transport::{CallFuture, RaftReply, RaftRpc, Transport, TransportError};
use crate::{Ledger, Peer};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Default)]
struct Net {
    nodes: BTreeMap<String, Ledger>,
    /// Pairs (from, to) that cannot talk.
    cut: BTreeSet<(String, String)>,
    /// Messages dropped with this probability (per mille).
    drop_per_mille: u32,
    delay: Duration,
    counter: u64,
}

/// The simulated network shared by every node of a test.
#[derive(Clone, Default)]
pub struct SimNetwork {
    net: Arc<Mutex<Net>>,
}

/// One node's handle on the simulated network.
pub struct SimTransport {
    from: String,
    net: SimNetwork,
}

impl SimNetwork {
    /// An empty network.
    pub fn new() -> Self {
        Self::default()
    }

    /// The transport a node named `name` uses.
    pub fn transport(&self, name: &str) -> Arc<SimTransport> {
        Arc::new(SimTransport {
            from: name.to_owned(),
            net: self.clone(),
        })
    }

    /// Makes `ledger` reachable as `name`.
    pub fn attach(&self, name: &str, ledger: Ledger) {
        if let Ok(mut n) = self.net.lock() {
            n.nodes.insert(name.to_owned(), ledger);
        }
    }

    /// Makes `name` unreachable (a crash); its messages are dropped.
    pub fn detach(&self, name: &str) {
        if let Ok(mut n) = self.net.lock() {
            n.nodes.remove(name);
        }
    }

    /// Splits the network: no message crosses between `a` and `b`.
    pub fn partition(&self, a: &[&str], b: &[&str]) {
        if let Ok(mut n) = self.net.lock() {
            for x in a {
                for y in b {
                    n.cut.insert(((*x).to_owned(), (*y).to_owned()));
                    n.cut.insert(((*y).to_owned(), (*x).to_owned()));
                }
            }
        }
    }

    /// Heals every partition.
    pub fn heal(&self) {
        if let Ok(mut n) = self.net.lock() {
            n.cut.clear();
        }
    }

    /// Drops this share (per mille) of messages, deterministically spread.
    pub fn set_drop(&self, per_mille: u32) {
        if let Ok(mut n) = self.net.lock() {
            n.drop_per_mille = per_mille;
        }
    }

    /// Delays every message by `delay`.
    pub fn set_delay(&self, delay: Duration) {
        if let Ok(mut n) = self.net.lock() {
            n.delay = delay;
        }
    }
}

impl Transport for SimTransport {
    fn call<'a>(&'a self, peer: &'a Peer, rpc: RaftRpc) -> CallFuture<'a> {
        Box::pin(async move {
            let fail = |reason: &str| TransportError {
                peer: peer.name.clone(),
                reason: reason.to_owned(),
            };
            let (target, delay) = {
                let mut n = self.net.net.lock().map_err(|_| fail("network poisoned"))?;
                n.counter = n.counter.wrapping_add(1);
                let dropped = n.drop_per_mille > 0
                    && (n.counter.wrapping_mul(2_654_435_761) % 1000) < u64::from(n.drop_per_mille);
                if n.cut.contains(&(self.from.clone(), peer.name.clone())) || dropped {
                    return Err(fail("message lost"));
                }
                if !n.nodes.contains_key(&self.from) {
                    return Err(fail("sender is down"));
                }
                let target = n.nodes.get(&peer.name).cloned();
                let from = n.nodes.get(&self.from).map(|l| l.identity().public());
                (target.zip(from), n.delay)
            };
            let Some((target, from)) = target else {
                return Err(fail("unreachable"));
            };
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            let reply: RaftReply = target.handle(&from, rpc).await;
            Ok(reply)
        })
    }
}
