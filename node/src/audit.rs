//! The regulator's audit: decrypts every receipt's sealed details and every committed list
//! size with the view key, sums per-member figures, and flags suspected enumeration or fishing.
//!
//! Rules (each flag names its rule and the evidence):
//! * `enumeration`: a member screened more than [`ENUMERATION_FACTOR`] times the median number
//!   of distinct tags its peers screened, and at least [`ENUMERATION_MIN`] distinct tags. In
//!   snapshot mode no tag reaches anyone but the querier: each identifier of a snapshot-mode
//!   receipt counts as one (the rule rests on counts there).
//! * `fishing`: against one responder a member screened at least [`FISHING_MIN`] identifiers
//!   with a hit rate below 1/[`FISHING_FACTOR`] of its hit rate against everyone else (or no
//!   hit at all while it does hit elsewhere): probing one member's list rather than screening
//!   customers.
//! * `equivocation`: the ledger recorded that a member signed overlapping allowance claims (the
//!   same allowance spent twice); the evidence names both receipts, whose signed requests are
//!   on the ledger.
//! * `inconsistent_details`: a receipt's sealed details do not match the receipt: a nonce or
//!   digest that is not the receipt's, counts that differ from the signed count, blinded
//!   elements whose digest is not the one the querier signed, evaluations whose digest is not
//!   the one the responder countersigned, or an answer whose membership proof does not verify
//!   for its tag and result against the responder's published root. The audit believes none of
//!   what the querier sealed until it checks out; inconsistent details are shown but not
//!   counted in the figures.

use crate::credits::ReceiptDetails;
use fengxin_api::{
    AuditDetails, AuditRecord, AuditReport, Digest, Flag, FlagRule, ListSizeAudit, MemberAudit,
    Nonce, RecordId, Verdict,
};
use fengxin_confidential::ViewSecret;
use fengxin_ledger::{LedgerState, ReceiptState};
use fengxin_proofs::Verifier;
use fengxin_types::{ListId, MemberName, Tag};
use std::collections::{BTreeMap, BTreeSet};

/// Distinct tags: how many times the peers' median before `enumeration` fires.
pub const ENUMERATION_FACTOR: u64 = 3;
/// Distinct tags below which `enumeration` never fires.
pub const ENUMERATION_MIN: u64 = 20;
/// Identifiers against one responder below which `fishing` never fires.
pub const FISHING_MIN: u64 = 20;
/// Hit-rate ratio for `fishing`.
pub const FISHING_FACTOR: f64 = 5.0;

#[derive(Default)]
struct Pair {
    ids: u64,
    hits: u64,
}

/// Audits receipts committed in heights `from..=to`, checking every receipt's sealed details
/// against the receipt and the answers' proofs with `verifier`.
pub fn audit(
    state: &LedgerState,
    view: &ViewSecret,
    verifier: &Verifier,
    from: u64,
    to: u64,
) -> AuditReport {
    let mut records = Vec::new();
    let mut figures: BTreeMap<MemberName, MemberAudit> = BTreeMap::new();
    let mut tags: BTreeMap<MemberName, BTreeSet<(MemberName, Tag)>> = BTreeMap::new();
    let mut snapshot_ids: BTreeMap<MemberName, u64> = BTreeMap::new();
    let mut pairs: BTreeMap<(MemberName, MemberName), Pair> = BTreeMap::new();
    let mut inconsistent = Vec::new();
    let mut sorted: Vec<_> = state
        .receipts()
        .iter()
        .filter(|(_, r)| r.height >= from && r.height <= to)
        .collect();
    sorted.sort_by_key(|(id, r)| (r.height, **id));
    for (id, r) in sorted {
        let body = &r.receipt.request.request;
        // Inconsistent details are shown as sealed and counted nowhere.
        let (details, error, counted) = match &r.details {
            None => (None, Some("no sealed details".to_owned()), false),
            Some(sealed) => match fengxin_confidential::open_details(view, id, sealed) {
                Err(e) => (None, Some(e.to_string()), false),
                Ok(plain) => match serde_json::from_slice::<ReceiptDetails>(&plain)
                    .map_err(|e| e.to_string())
                    .and_then(|d| audit_details(&d).map(|a| (d, a)))
                {
                    Ok((d, a)) => match check_details(state, verifier, id, r, &d) {
                        Ok(()) => (Some(a), None, true),
                        Err(why) => {
                            inconsistent.push(Flag {
                                rule: FlagRule::InconsistentDetails,
                                member: body.querier.clone(),
                                responder: Some(body.responder.clone()),
                                evidence: format!(
                                    "receipt {} at height {}: {why}",
                                    hex::encode(id),
                                    r.height
                                ),
                            });
                            (Some(a), Some(format!("inconsistent details: {why}")), false)
                        }
                    },
                    Err(e) => (None, Some(format!("details: {e}")), false),
                },
            },
        };
        let q = figures_of(&mut figures, &body.querier);
        q.queries_made += 1;
        q.identifiers_screened += u64::from(body.count);
        let s = figures_of(&mut figures, &body.responder);
        s.queries_served += 1;
        s.identifiers_served += u64::from(body.count);
        let pair = pairs
            .entry((body.querier.clone(), body.responder.clone()))
            .or_default();
        pair.ids += u64::from(body.count);
        if let Some(d) = details.as_ref().filter(|_| counted) {
            let hits = d
                .hits
                .unwrap_or_else(|| d.results.iter().filter(|v| v.is_hit()).count() as u64);
            pair.hits += hits;
            figures_of(&mut figures, &body.querier).hits_received += hits;
            figures_of(&mut figures, &body.responder).hits_served += hits;
            let seen = tags.entry(body.querier.clone()).or_default();
            for t in &d.tags {
                seen.insert((body.responder.clone(), *t));
            }
            // A snapshot-mode receipt's details carry no tags: its identifiers count, an
            // upper bound on the distinct tags they are.
            if d.hits.is_some() {
                *snapshot_ids.entry(body.querier.clone()).or_default() += u64::from(body.count);
            }
        }
        records.push(AuditRecord {
            height: r.height,
            receipt: RecordId(*id),
            querier: body.querier.clone(),
            responder: body.responder.clone(),
            list: body.list.clone(),
            count: body.count,
            details,
            error,
        });
    }
    let p = state.params();
    for name in state.members().keys() {
        let f = figures_of(&mut figures, name);
        let c = state.counters(name);
        f.confirmed = c.confirmed;
        f.false_positives = c.false_positives;
        f.balance = state.balance(name);
        f.quality = state.quality(name);
        // The allowance counts attested sizes only (LedgerState::counted_sizes).
        let mut counted: BTreeMap<&ListId, u64> = BTreeMap::new();
        let mut total = Some(0u64);
        for (list, st) in state.counted_sizes(name) {
            match st.size.decrypt(view) {
                Ok(v) => {
                    counted.insert(list, v);
                    total = total.map(|t| t + v);
                }
                Err(_) => total = None,
            }
        }
        for (list, size, _) in state.list_sizes(name) {
            let root_status = state
                .size_record(name, list)
                .map_or(fengxin_api::RootStatus::Pending, |st| {
                    crate::attest::root_status(state, name, list, st.epoch)
                });
            let (size, error) = match size.decrypt(view) {
                Ok(v) => (Some(v), None),
                Err(e) => (None, Some(e.to_string())),
            };
            f.list_sizes.push(ListSizeAudit {
                list: list.clone(),
                size,
                error,
                root_status,
                counted: counted.get(list).copied(),
            });
        }
        f.allowance = total.map(|t| p.base_allowance + p.allowance_per_entry * t);
    }
    for (name, f) in &mut figures {
        f.distinct_tags = tags.get(name).map_or(0, |t| t.len() as u64)
            + snapshot_ids.get(name).copied().unwrap_or(0);
    }
    let mut flags = flags(&figures, &pairs);
    flags.extend(inconsistent);
    for e in state
        .equivocations()
        .iter()
        .filter(|e| e.height >= from && e.height <= to)
    {
        flags.push(Flag {
            rule: FlagRule::Equivocation,
            member: e.querier.clone(),
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
    for ((member, list, epoch), fault) in state
        .snapshot_faults()
        .filter(|(_, f)| f.height >= from && f.height <= to)
    {
        flags.push(Flag {
            rule: FlagRule::SnapshotFault,
            member: member.clone(),
            responder: Some(fault.reporter.clone()),
            evidence: format!(
                "{list} epoch {epoch}: {} at {}, reported by {} in record {} (height {}); the \
                 ledger checked the evidence against the publication",
                fault.kind,
                fault
                    .chunk
                    .map_or_else(|| "the manifest".to_owned(), |c| format!("chunk {c}")),
                fault.reporter,
                hex::encode(fault.record),
                fault.height
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

/// Checks sealed details against their receipt: the nonce and digests are the receipt's, the
/// counts are the signed count, the blinded elements and the evaluations hash to the digests
/// the querier signed and the responder countersigned, and every answer's proof verifies for
/// its tag and result against the responder's published root. The first mismatch, in words.
fn check_details(
    state: &LedgerState,
    verifier: &Verifier,
    id: &[u8; 32],
    r: &ReceiptState,
    d: &ReceiptDetails,
) -> Result<(), String> {
    let body = &r.receipt.request.request;
    let hex32 = |what: &str, v: &str| -> Result<[u8; 32], String> {
        hex::decode(v)
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .ok_or_else(|| format!("{what} {v:?} is not 32 bytes of hex"))
    };
    if d.nonce != hex::encode(body.nonce) {
        return Err(format!("nonce {} is not the request's", d.nonce));
    }
    if d.request_digest != hex::encode(id) {
        return Err(format!(
            "request digest {} is not the receipt's",
            d.request_digest
        ));
    }
    if d.answer_digest != hex::encode(r.receipt.answer_digest) {
        return Err(format!(
            "answer digest {} is not the receipt's",
            d.answer_digest
        ));
    }
    let count = body.count as usize;
    if body.mode == fengxin_protocol::Mode::Snapshot {
        // Counts only: the tags and evaluations stay with the querier.
        return match d.hits {
            Some(h) if h <= u64::from(body.count) => Ok(()),
            Some(h) => Err(format!(
                "{h} hits sealed for a request of {count} identifiers"
            )),
            None => Err("no hit count sealed for a snapshot-mode receipt".into()),
        };
    }
    for (what, n) in [
        ("tags", d.tags.len()),
        ("results", d.results.len()),
        ("blinded elements", d.blinded.len()),
        ("evaluations", d.evaluated.len()),
        ("proofs", d.proofs.len()),
    ] {
        if n != count {
            return Err(format!(
                "{n} {what} sealed for a request of {count} identifiers"
            ));
        }
    }
    let blinded = d
        .blinded
        .iter()
        .map(|b| hex32("blinded element", b))
        .collect::<Result<Vec<_>, _>>()?;
    if fengxin_protocol::blinded_digest(&blinded) != body.blinded_digest {
        return Err("the blinded elements are not the ones the querier signed".into());
    }
    let evaluated = d
        .evaluated
        .iter()
        .map(|e| hex32("evaluation", e))
        .collect::<Result<Vec<_>, _>>()?;
    let dleq = hex::decode(&d.dleq_proof).map_err(|e| format!("DLEQ proof: {e}"))?;
    if fengxin_protocol::evaluation_digest(&evaluated, &dleq) != r.receipt.answer_digest {
        return Err("the evaluations are not the ones the responder countersigned".into());
    }
    let published = state
        .publication(&body.responder, &body.list, body.epoch)
        .ok_or_else(|| {
            format!(
                "{} published no {} epoch {}",
                body.responder, body.list, body.epoch
            )
        })?;
    let root = fengxin_tree::Root::from_bytes(&published.publication.root)
        .map_err(|e| format!("published root: {e}"))?;
    let mut items = Vec::with_capacity(count);
    for (i, ((tag, hit), proof)) in d.tags.iter().zip(&d.results).zip(&d.proofs).enumerate() {
        let tag = Tag::from_hex(tag).map_err(|e| format!("tag {i}: {e}"))?;
        let proof = hex::decode(proof)
            .map_err(|e| e.to_string())
            .and_then(|b| {
                fengxin_proofs::MembershipProof::from_bytes(&b).map_err(|e| e.to_string())
            })
            .map_err(|e| format!("proof {i}: {e}"))?;
        let public = fengxin_proofs::PublicInputs {
            root,
            tag,
            result: *hit,
        };
        items.push((public, proof));
    }
    if verifier
        .verify_batch(&items, &mut rand_core::OsRng)
        .is_err()
    {
        let i = items
            .iter()
            .position(|(p, proof)| verifier.verify(p, proof).is_err())
            .unwrap_or(0);
        return Err(format!(
            "answer {i} ({}) does not verify for its tag against {}'s published root",
            Verdict::from_hit(items[i].0.result),
            body.responder
        ));
    }
    Ok(())
}

/// The figures of `name`, created empty on first use.
fn figures_of<'a>(
    figures: &'a mut BTreeMap<MemberName, MemberAudit>,
    name: &MemberName,
) -> &'a mut MemberAudit {
    figures
        .entry(name.clone())
        .or_insert_with(|| MemberAudit::new(name.clone()))
}

/// The regulator's reading of a receipt's sealed details: tags and per-tag verdicts as
/// screening says them. Details whose fields do not decode are reported, not guessed at.
fn audit_details(d: &ReceiptDetails) -> Result<AuditDetails, String> {
    let tags = d
        .tags
        .iter()
        .map(|t| Tag::from_hex(t).map_err(|e| format!("tag: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(AuditDetails {
        tags,
        results: d.results.iter().map(|h| Verdict::from_hit(*h)).collect(),
        nonce: Nonce::from_hex(&d.nonce).map_err(|e| e.to_string())?,
        request_digest: Digest::from_hex(&d.request_digest).map_err(|e| e.to_string())?,
        answer_digest: Digest::from_hex(&d.answer_digest).map_err(|e| e.to_string())?,
        case_reference: d.case_reference.clone(),
        hits: d.hits,
    })
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
                rule: FlagRule::Enumeration,
                member: name.clone(),
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
                rule: FlagRule::Fishing,
                member: querier.clone(),
                responder: Some(responder.clone()),
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
                    queries_made: 1,
                    distinct_tags: tags,
                    ..MemberAudit::new(name(m))
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
            .map(|f| {
                (
                    f.rule.as_str(),
                    f.member.as_str(),
                    f.responder.as_ref().map(MemberName::as_str),
                )
            })
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
