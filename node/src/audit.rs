//! The regulator's audit: decrypts every receipt's sealed details and every committed list
//! size with the view key, sums per-member figures, and flags suspected enumeration or fishing.
//!
//! Rules (each flag names its rule and the evidence):
//! * `enumeration`: a member screened more than [`ENUMERATION_FACTOR`] times the median number
//!   of distinct tags its peers screened, and at least [`ENUMERATION_MIN`] distinct tags.
//! * `fishing`: against one responder a member screened at least [`FISHING_MIN`] identifiers
//!   with a hit rate below 1/[`FISHING_FACTOR`] of its hit rate against everyone else (or no
//!   hit at all while it does hit elsewhere): probing one member's list rather than screening
//!   customers.
//! * `equivocation`: the ledger recorded that a member signed overlapping allowance claims (the
//!   same allowance spent twice); the evidence names both receipts, whose signed requests are
//!   on the ledger.

use crate::credits::ReceiptDetails;
use fengxin_confidential::ViewSecret;
use fengxin_ledger::LedgerState;
use fengxin_types::MemberName;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Distinct tags: how many times the peers' median before `enumeration` fires.
pub const ENUMERATION_FACTOR: u64 = 3;
/// Distinct tags below which `enumeration` never fires.
pub const ENUMERATION_MIN: u64 = 20;
/// Identifiers against one responder below which `fishing` never fires.
pub const FISHING_MIN: u64 = 20;
/// Hit-rate ratio for `fishing`.
pub const FISHING_FACTOR: f64 = 5.0;

/// One decrypted receipt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Block height.
    pub height: u64,
    /// Receipt id (hex).
    pub receipt: String,
    /// Querier.
    pub querier: MemberName,
    /// Responder.
    pub responder: MemberName,
    /// List.
    pub list: String,
    /// Identifiers.
    pub count: u32,
    /// The decrypted details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<ReceiptDetails>,
    /// Why the details could not be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One list's decrypted size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListSizeAudit {
    /// List.
    pub list: String,
    /// Decrypted entry count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// Why it could not be decrypted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Per-member figures.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MemberAudit {
    /// Member.
    pub member: String,
    /// Receipts as querier.
    pub queries_made: u64,
    /// Identifiers screened.
    pub identifiers_screened: u64,
    /// Distinct tags screened (per responder key).
    pub distinct_tags: u64,
    /// Hits among them.
    pub hits_received: u64,
    /// Receipts as responder.
    pub queries_served: u64,
    /// Identifiers answered.
    pub identifiers_served: u64,
    /// Hits answered.
    pub hits_served: u64,
    /// Confirmed hits reported about its answers.
    pub confirmed: u64,
    /// False positives reported about its answers.
    pub false_positives: u64,
    /// Credit balance.
    pub balance: i64,
    /// Quality weight (per mille).
    pub quality: u32,
    /// Decrypted list sizes.
    pub list_sizes: Vec<ListSizeAudit>,
    /// Allowance per epoch from the decrypted sizes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowance: Option<u64>,
}

/// A rule that fired.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Flag {
    /// `enumeration`, `fishing` or `equivocation`.
    pub rule: String,
    /// The member it is about.
    pub member: String,
    /// The responder, for `fishing`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub responder: Option<String>,
    /// The figures that made it fire.
    pub evidence: String,
}

/// `fengxin audit` output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditReport {
    /// Ledger height read.
    pub height: u64,
    /// First height covered.
    pub from: u64,
    /// Last height covered.
    pub to: u64,
    /// Decrypted receipts, oldest first.
    pub records: Vec<AuditRecord>,
    /// Per member.
    pub members: Vec<MemberAudit>,
    /// Rules that fired.
    pub flags: Vec<Flag>,
}

#[derive(Default)]
struct Pair {
    ids: u64,
    hits: u64,
}

/// Audits receipts committed in heights `from..=to`.
pub fn audit(state: &LedgerState, view: &ViewSecret, from: u64, to: u64) -> AuditReport {
    let mut records = Vec::new();
    let mut figures: BTreeMap<MemberName, MemberAudit> = BTreeMap::new();
    let mut tags: BTreeMap<MemberName, BTreeSet<(MemberName, String)>> = BTreeMap::new();
    let mut pairs: BTreeMap<(MemberName, MemberName), Pair> = BTreeMap::new();
    let mut sorted: Vec<_> = state
        .receipts()
        .iter()
        .filter(|(_, r)| r.height >= from && r.height <= to)
        .collect();
    sorted.sort_by_key(|(id, r)| (r.height, **id));
    for (id, r) in sorted {
        let body = &r.receipt.request.request;
        let (details, error) = match &r.details {
            None => (None, Some("no sealed details".to_owned())),
            Some(sealed) => match fengxin_confidential::open_details(view, id, sealed) {
                Err(e) => (None, Some(e.to_string())),
                Ok(plain) => match serde_json::from_slice::<ReceiptDetails>(&plain) {
                    Ok(d) => (Some(d), None),
                    Err(e) => (None, Some(format!("details: {e}"))),
                },
            },
        };
        let q = figures.entry(body.querier.clone()).or_default();
        q.queries_made += 1;
        q.identifiers_screened += u64::from(body.count);
        let s = figures.entry(body.responder.clone()).or_default();
        s.queries_served += 1;
        s.identifiers_served += u64::from(body.count);
        let pair = pairs
            .entry((body.querier.clone(), body.responder.clone()))
            .or_default();
        pair.ids += u64::from(body.count);
        if let Some(d) = &details {
            let hits = d.results.iter().filter(|h| **h).count() as u64;
            pair.hits += hits;
            figures
                .entry(body.querier.clone())
                .or_default()
                .hits_received += hits;
            figures
                .entry(body.responder.clone())
                .or_default()
                .hits_served += hits;
            let seen = tags.entry(body.querier.clone()).or_default();
            for t in &d.tags {
                seen.insert((body.responder.clone(), t.clone()));
            }
        }
        records.push(AuditRecord {
            height: r.height,
            receipt: hex::encode(id),
            querier: body.querier.clone(),
            responder: body.responder.clone(),
            list: body.list.to_string(),
            count: body.count,
            details,
            error,
        });
    }
    let p = state.params();
    for name in state.members().keys() {
        let f = figures.entry(name.clone()).or_default();
        let c = state.counters(name);
        f.confirmed = c.confirmed;
        f.false_positives = c.false_positives;
        f.balance = state.balance(name);
        f.quality = state.quality(name);
        let mut total = Some(0u64);
        for (list, size, _) in state.list_sizes(name) {
            match size.decrypt(view) {
                Ok(v) => {
                    total = total.map(|t| t + v);
                    f.list_sizes.push(ListSizeAudit {
                        list: list.to_string(),
                        size: Some(v),
                        error: None,
                    });
                }
                Err(e) => {
                    total = None;
                    f.list_sizes.push(ListSizeAudit {
                        list: list.to_string(),
                        size: None,
                        error: Some(e.to_string()),
                    });
                }
            }
        }
        f.allowance = total.map(|t| p.base_allowance + p.allowance_per_entry * t);
    }
    for (name, f) in &mut figures {
        f.member = name.to_string();
        f.distinct_tags = tags.get(name).map_or(0, |t| t.len() as u64);
    }
    let mut flags = flags(&figures, &pairs);
    for e in state
        .equivocations()
        .iter()
        .filter(|e| e.height >= from && e.height <= to)
    {
        flags.push(Flag {
            rule: "equivocation".into(),
            member: e.querier.to_string(),
            responder: None,
            evidence: format!(
                "receipts {} and {} claim overlapping usage of epoch {} (recorded at height {}){}",
                hex::encode(e.first),
                hex::encode(e.second),
                e.epoch,
                e.height,
                state
                    .suspended(&e.querier)
                    .map_or_else(String::new, |h| format!("; suspended since height {h}"))
            ),
        });
    }
    AuditReport {
        height: state.height(),
        from,
        to,
        records,
        members: figures.into_values().collect(),
        flags,
    }
}

fn median(mut v: Vec<u64>) -> u64 {
    if v.is_empty() {
        return 0;
    }
    v.sort_unstable();
    v[v.len() / 2]
}

fn flags(
    figures: &BTreeMap<MemberName, MemberAudit>,
    pairs: &BTreeMap<(MemberName, MemberName), Pair>,
) -> Vec<Flag> {
    let mut out = Vec::new();
    for (name, f) in figures {
        let peers = median(
            figures
                .iter()
                .filter(|(n, g)| *n != name && g.queries_made > 0)
                .map(|(_, g)| g.distinct_tags)
                .collect(),
        );
        let limit = (ENUMERATION_FACTOR * peers).max(ENUMERATION_MIN);
        if f.distinct_tags > limit {
            out.push(Flag {
                rule: "enumeration".into(),
                member: name.to_string(),
                responder: None,
                evidence: format!(
                    "{} distinct tags screened; peers' median {peers}; limit {limit} \
                     (max({ENUMERATION_FACTOR} x median, {ENUMERATION_MIN}))",
                    f.distinct_tags
                ),
            });
        }
    }
    for ((querier, responder), pair) in pairs {
        if pair.ids < FISHING_MIN {
            continue;
        }
        let (ids, hits) = pairs
            .iter()
            .filter(|((q, r), _)| q == querier && r != responder)
            .fold((0u64, 0u64), |(i, h), (_, p)| (i + p.ids, h + p.hits));
        if ids == 0 || hits == 0 {
            continue;
        }
        let elsewhere = hits as f64 / ids as f64;
        let here = pair.hits as f64 / pair.ids as f64;
        if here * FISHING_FACTOR < elsewhere {
            out.push(Flag {
                rule: "fishing".into(),
                member: querier.to_string(),
                responder: Some(responder.to_string()),
                evidence: format!(
                    "{} identifiers against {responder} with {} hits ({:.1}%), against the others \
                     {ids} with {hits} hits ({:.1}%); fires below 1/{FISHING_FACTOR} of the rate \
                     elsewhere with at least {FISHING_MIN} identifiers",
                    pair.ids,
                    pair.hits,
                    here * 100.0,
                    elsewhere * 100.0
                ),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> MemberName {
        MemberName::parse(s).expect("name")
    }

    #[test]
    fn enumeration_and_fishing_fire_on_their_evidence_only() {
        let mut figures = BTreeMap::new();
        for (m, tags) in [("bank-a", 30), ("bank-b", 5), ("bank-c", 4)] {
            figures.insert(
                name(m),
                MemberAudit {
                    member: m.into(),
                    queries_made: 1,
                    distinct_tags: tags,
                    ..MemberAudit::default()
                },
            );
        }
        let mut pairs = BTreeMap::new();
        pairs.insert((name("bank-a"), name("bank-b")), Pair { ids: 40, hits: 0 });
        pairs.insert((name("bank-a"), name("bank-c")), Pair { ids: 40, hits: 8 });
        pairs.insert((name("bank-b"), name("bank-c")), Pair { ids: 10, hits: 0 });
        pairs.insert((name("bank-b"), name("bank-a")), Pair { ids: 10, hits: 5 });
        let flags = flags(&figures, &pairs);
        let rules: Vec<(&str, &str, Option<&str>)> = flags
            .iter()
            .map(|f| (f.rule.as_str(), f.member.as_str(), f.responder.as_deref()))
            .collect();
        assert_eq!(
            rules,
            vec![
                ("enumeration", "bank-a", None),
                ("fishing", "bank-a", Some("bank-b")),
            ]
        );
        assert!(flags[0]
            .evidence
            .contains("30 distinct tags screened; peers' median 5; limit 20"));
        assert!(flags[1]
            .evidence
            .contains("40 identifiers against bank-b with 0 hits"));
        // Below the minimum volume nothing fires, whatever the ratio.
        let mut quiet = figures.clone();
        if let Some(a) = quiet.get_mut(&name("bank-a")) {
            a.distinct_tags = 20;
        }
        let small: BTreeMap<_, _> = [
            ((name("bank-a"), name("bank-b")), Pair { ids: 19, hits: 0 }),
            ((name("bank-a"), name("bank-c")), Pair { ids: 40, hits: 8 }),
        ]
        .into_iter()
        .collect();
        assert!(super::flags(&quiet, &small).is_empty());
    }
}
