//! Limits on what peers may ask of this node: per-peer token buckets and in-flight caps
//! ([`PEER_RATE`], [`PEER_BURST`], [`PEER_CONCURRENCY`]; excess is refused with `RateLimited`,
//! never queued without bound), and the count of requests in progress that shutdown drains.

use fengxin_protocol::{Refusal, RefusalKind};
use fengxin_types::MemberName;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, Semaphore};

/// Requests from one peer in flight at once.
pub const PEER_CONCURRENCY: usize = 8;

/// Sustained requests per second per peer.
pub const PEER_RATE: f64 = 50.0;

/// Burst of requests per peer.
pub const PEER_BURST: f64 = 100.0;

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
pub(super) struct PeerBudget {
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
