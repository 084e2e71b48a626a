//! Periodic duties: publishing this member's lists (and their size commitments) to the ledger,
//! and settling ended credit epochs.

use super::state::Node;
use crate::datadir::DataDir;
use crate::publish::PublishError;
use fengxin_ledger::{Record, RecordBody};
use fengxin_protocol::SignedPublication;
use std::sync::Arc;
use std::time::Duration;

/// Submits the publications the ledger does not hold yet (a newer epoch than its current),
/// and a list-size commitment for each publication that has none on the ledger.
pub(super) fn submit_publications(
    node: &Node,
    signed: &[SignedPublication],
) -> Result<usize, PublishError> {
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
    let stats = node.store.stats()?;
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
    let sizes = node.ledger.read(|state| {
        crate::credits::size_records(&dir, state, &node.member, &node.identity, &counts)
    })??;
    if !sizes.is_empty() {
        *node
            .openings
            .lock()
            .map_err(|_| PublishError::Poisoned("openings"))? =
            crate::credits::SizeOpenings::load(&dir)?;
    }
    fresh.extend(sizes);
    let n = fresh.len();
    if n > 0 {
        node.ledger.submit(fresh)?;
    }
    Ok(n)
}

/// Epoch duties: publish once admitted, and submit the settlement of every ended, unsettled
/// epoch (any member may; the first to commit settles it, the others are refused as already
/// settled).
pub(super) async fn settle_epochs(node: Arc<Node>, mut published: bool) {
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
                    tracing::info!("admitted: submitted {n} publications to the ledger");
                }
                Err(e) => tracing::warn!("publications not submitted yet: {e}"),
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
                Ok(_) => tracing::info!("settlement of epoch {epoch} submitted"),
                Err(e) => tracing::warn!("settlement of epoch {epoch}: {e}"),
            }
        }
    }
}
