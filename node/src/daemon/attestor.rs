//! Root attestation between nodes (docs/attestation.md).
//!
//! - A member's node seals the leaf layout of each of its publications on the ledger to the
//!   regulators' view key and sends it to every regulator node in pieces
//!   ([`fengxin_protocol::LayoutPiece`]), until each holds all of it; it retries every few
//!   seconds, and after a restart, until the ledger holds the publication's attestation.
//! - The regulator's node stores the pieces sealed ([`fengxin_store::LayoutInbox`]), accepts
//!   them only from the member whose publication they are for, and once a layout is complete
//!   and its publication and size commitment are on the ledger, opens it, judges it
//!   ([`crate::attest::attest`]) and submits its signed attestation record.
//! - Sampled openings: the regulator picks random tags from a layout it holds and asks the
//!   member for the identifiers behind them ([`Request::Open`]), then has the member evaluate
//!   those identifiers, blinded, with a proof under the published OPRF key
//!   ([`Request::OpenEvaluate`]), and recomputes each tag. A tag the member cannot open, or
//!   opens to an identifier whose tag is another, is an invented entry.

use super::querier::{exchange, StepError};
use super::state::Node;
use crate::attest::{attest, on_ledger, open_sealed, seal_layout, AttestError, LayoutHeader};
use crate::genesis::Party;
use fengxin_api::{SampleReport, SampledOpening};
use fengxin_crypto::{IdentityKey, IdentityPublicKey};
use fengxin_ledger::{Record, RecordBody};
use fengxin_protocol::{
    LayoutPiece, LayoutProgress, OpenEvaluateRequest, OpenRequest, OpenedIdentifier, Refusal,
    RefusalKind, Request, Response, LAYOUT_PIECE, MAX_OPENINGS,
};
use fengxin_store::{LayoutInbox, LayoutKey, Piece, PieceError};
use fengxin_types::{Epoch, ListId, MemberName};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// How often a member retries sending layouts, and a regulator judges waiting ones.
const ROUND: Duration = Duration::from_secs(2);

/// The inbox file in a regulator's data directory.
pub const LAYOUTS_FILE: &str = "layouts.redb";

/// The member side: sends the layout of every own publication on the ledger that is not
/// attested yet to every regulator, each until it has all of it.
pub(super) async fn send_layouts(node: Arc<Node>) {
    // (list, epoch, regulator) that hold a complete layout: nothing more to send them.
    let mut delivered: BTreeSet<(ListId, Epoch, MemberName)> = BTreeSet::new();
    // Each publication's sealed layout, made once and kept until every regulator holds it.
    let mut sealed: BTreeMap<(ListId, Epoch), Arc<Vec<u8>>> = BTreeMap::new();
    // Publications whose list changed since: said once.
    let mut stale: BTreeSet<(ListId, Epoch)> = BTreeSet::new();
    loop {
        for sp in &node.publications {
            let p = &sp.publication;
            let at = (p.list.clone(), p.epoch);
            let (on_ledger, attested, view, regulators) = match node.ledger.read(|s| {
                (
                    s.publication(&node.member, &p.list, p.epoch)
                        .is_some_and(|on| on.publication.root == p.root),
                    s.attestation(&node.member, &p.list, p.epoch).is_some(),
                    s.view_key().cloned(),
                    regulator_parties(s),
                )
            }) {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!("layouts: ledger unreadable: {e}");
                    continue;
                }
            };
            let waiting: Vec<Party> = regulators
                .into_iter()
                .filter(|r| !delivered.contains(&(p.list.clone(), p.epoch, r.name.clone())))
                .collect();
            if attested || waiting.is_empty() {
                sealed.remove(&at);
                continue;
            }
            let Some(view) = view.filter(|_| on_ledger) else {
                continue;
            };
            if node.current.get(&p.list) != Some(&(p.epoch, p.root)) {
                if stale.insert(at) {
                    tracing::warn!(
                        "{} epoch {}: the list changed since it was published; publish it \
                         again to have its root attested",
                        p.list,
                        p.epoch
                    );
                }
                continue;
            }
            let layout = match sealed.get(&at) {
                Some(s) => s.clone(),
                None => match seal_own(&node, p, view).await {
                    Ok(s) => sealed.entry(at).or_insert(Arc::new(s)).clone(),
                    Err(e) => {
                        tracing::warn!("{} epoch {}: layout not sealed: {e}", p.list, p.epoch);
                        continue;
                    }
                },
            };
            for regulator in waiting {
                match send_pieces(&node, &regulator, &p.list, p.epoch, p.root, &layout).await {
                    Ok(()) => {
                        tracing::info!(
                            "{} epoch {}: layout delivered to {} for attestation",
                            p.list,
                            p.epoch,
                            regulator.name
                        );
                        delivered.insert((p.list.clone(), p.epoch, regulator.name));
                    }
                    Err(e) => tracing::warn!(
                        "{} epoch {}: layout not delivered to {} yet: {e}",
                        p.list,
                        p.epoch,
                        regulator.name
                    ),
                }
            }
        }
        tokio::time::sleep(ROUND).await;
    }
}

/// Reads this member's layout of publication `p` from its list database and seals it to
/// `view` (on the blocking pool: a large list takes a while).
async fn seal_own(
    node: &Arc<Node>,
    p: &fengxin_protocol::Publication,
    view: fengxin_confidential::ViewPublicKey,
) -> Result<Vec<u8>, String> {
    let (node, list, epoch, root) = (node.clone(), p.list.clone(), p.epoch, p.root);
    tokio::task::spawn_blocking(move || {
        let leaves = node.store.layout(&list, epoch).map_err(|e| e.to_string())?;
        let header = LayoutHeader {
            chain: node.chain,
            member: node.member.clone(),
            list,
            epoch,
            root,
        };
        let padding = node.seed.padding_secret(&header.list, epoch);
        seal_layout(&view, header, &leaves, padding).map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| e.to_string())?
}

/// The regulators the ledger knows, with their addresses.
fn regulator_parties(state: &fengxin_ledger::LedgerState) -> Vec<Party> {
    state
        .regulators()
        .iter()
        .filter_map(|(name, r)| Party::from_ledger(name, &r.identity_key, &r.address))
        .collect()
}

/// Sends `sealed` to `regulator` piece by piece, resuming wherever it says it stopped.
async fn send_pieces(
    node: &Node,
    regulator: &Party,
    list: &ListId,
    epoch: Epoch,
    root: [u8; 32],
    sealed: &[u8],
) -> Result<(), String> {
    let total = sealed.len() as u64;
    let mut offset: u64 = 0;
    // Each round trip either stores a piece or moves the offset to the regulator's count, so
    // a correct regulator finishes within twice the number of pieces.
    for _ in 0..2 * (sealed.len() / LAYOUT_PIECE + 2) {
        let start = usize::try_from(offset).map_err(|e| e.to_string())?;
        let end = (start + LAYOUT_PIECE).min(sealed.len());
        let request = Request::Layout(LayoutPiece {
            list: list.clone(),
            epoch,
            root,
            total,
            offset,
            bytes: sealed[start..end].to_vec(),
        });
        match exchange(node, regulator, &request).await {
            Ok(Response::Layout(LayoutProgress { complete: true, .. })) => return Ok(()),
            Ok(Response::Layout(LayoutProgress { received, .. })) if received < total => {
                offset = received;
            }
            Ok(Response::Layout(p)) => {
                return Err(format!("it reports {} of {total} bytes", p.received))
            }
            Ok(other) => return Err(reply(&other)),
            Err(e) => return Err(e.message().to_owned()),
        }
    }
    Err("the transfer made no progress".into())
}

/// The regulator side: the inbox and what judging needs.
pub(super) struct Attestor {
    pub(super) chain: [u8; 32],
    pub(super) me: MemberName,
    pub(super) identity: IdentityKey,
    pub(super) keys: Arc<super::api_server::RegulatorKeys>,
    pub(super) inbox: LayoutInbox,
    pub(super) ledger: fengxin_consensus::Ledger,
    /// The regulator's QUIC endpoint (to ask members for openings).
    pub(super) endpoint: fengxin_net::Endpoint,
    /// Woken when a layout is complete.
    pub(super) complete: Notify,
}

impl Attestor {
    /// Answers a layout piece from `peer` (authenticated by `key`).
    pub(super) async fn receive(
        self: Arc<Self>,
        peer: MemberName,
        key: IdentityPublicKey,
        request: Request,
    ) -> Response {
        let refused = |kind, m: String| Response::Refused(Refusal::new(kind, m));
        let Request::Layout(piece) = request else {
            return refused(
                RefusalKind::Malformed,
                "a regulator serves the ledger and layouts for root attestation only".into(),
            );
        };
        if piece.bytes.len() > LAYOUT_PIECE {
            return refused(
                RefusalKind::Malformed,
                format!("a piece of over {LAYOUT_PIECE} bytes"),
            );
        }
        // By key: only the publishing member sends the layout of its publication.
        let known = self.ledger.read(|s| {
            let member = s.member_for_key(&key.to_bytes()) == Some(&peer);
            let published = s
                .publication(&peer, &piece.list, piece.epoch)
                .map(|p| p.publication.root);
            let judged = s.attestation(&peer, &piece.list, piece.epoch).is_some();
            (member, published, judged)
        });
        match known {
            Err(e) => return refused(RefusalKind::Internal, e.to_string()),
            Ok((false, _, _)) => {
                return refused(
                    RefusalKind::NotMember,
                    "only members send layouts of their publications".into(),
                )
            }
            Ok((_, Some(root), _)) if root != piece.root => {
                return refused(
                    RefusalKind::Malformed,
                    format!(
                        "{} epoch {}: not the published root",
                        piece.list, piece.epoch
                    ),
                )
            }
            Ok((_, _, true)) => {
                return Response::Layout(LayoutProgress {
                    received: piece.total,
                    complete: true,
                })
            }
            Ok(_) => {}
        }
        let this = self.clone();
        let stored = tokio::task::spawn_blocking(move || {
            let key = LayoutKey {
                member: peer.to_string(),
                list: piece.list.to_string(),
                epoch: piece.epoch.get(),
            };
            this.inbox.receive(
                &key,
                &Piece {
                    root: piece.root,
                    total: piece.total,
                    offset: piece.offset,
                    bytes: &piece.bytes,
                },
            )
        })
        .await;
        match stored {
            Ok(Ok(progress)) => {
                if progress.complete {
                    self.complete.notify_one();
                }
                Response::Layout(LayoutProgress {
                    received: progress.received,
                    complete: progress.complete,
                })
            }
            Ok(Err(PieceError::Store(e))) => refused(RefusalKind::Internal, e.to_string()),
            Ok(Err(PieceError::TooMany(n))) => refused(
                RefusalKind::RateLimited,
                format!("{n} layouts are waiting to be judged"),
            ),
            Ok(Err(e)) => refused(RefusalKind::Malformed, e.to_string()),
            Err(e) => refused(RefusalKind::Internal, e.to_string()),
        }
    }

    /// Judges every complete layout whose publication is on the ledger, and submits the
    /// attestations; the others wait for the next round.
    fn judge_round(&self) -> Result<usize, String> {
        let mut submitted = 0;
        for fengxin_store::WaitingLayout { key, root } in
            self.inbox.complete_unjudged().map_err(|e| e.to_string())?
        {
            let (Ok(member), Ok(list), Ok(epoch)) = (
                MemberName::parse(&key.member),
                ListId::parse(&key.list),
                Epoch::new(key.epoch),
            ) else {
                // Names were parsed before they were stored: a damaged row is set aside.
                self.inbox.mark_judged(&key).map_err(|e| e.to_string())?;
                continue;
            };
            let header = LayoutHeader {
                chain: self.chain,
                member,
                list,
                epoch,
                root,
            };
            // Only a moment under the ledger's lock: the judgment runs without it.
            let ready = self.ledger.read(|s| {
                if s.attestation(&header.member, &header.list, header.epoch)
                    .is_some()
                {
                    return Ok(None);
                }
                on_ledger(s, &header).map(Some)
            });
            let on = match ready {
                Err(e) => return Err(e.to_string()),
                Ok(Ok(None)) => {
                    self.inbox.mark_judged(&key).map_err(|e| e.to_string())?;
                    continue;
                }
                Ok(Err(AttestError::NotOnLedger(_))) => continue,
                Ok(Err(e)) => return Err(e.to_string()),
                Ok(Ok(Some(on))) => on,
            };
            let Some(sealed) = self.inbox.sealed(&key, &root).map_err(|e| e.to_string())? else {
                continue;
            };
            let attestation = attest(&on, &self.keys.view, &header, &sealed);
            let outcome = attestation.outcome;
            let reason = attestation.reason.clone();
            let record = Record::sign(
                self.chain,
                self.me.clone(),
                &self.identity,
                RecordBody::Attestation(attestation),
            );
            match self.ledger.submit(vec![record]) {
                Ok(_) | Err(fengxin_consensus::LedgerError::Rejected { .. }) => {
                    tracing::info!(
                        "{} {} epoch {}: {}{}",
                        header.member,
                        header.list,
                        header.epoch,
                        match outcome {
                            fengxin_ledger::AttestationOutcome::Attested => "attested",
                            fengxin_ledger::AttestationOutcome::Refuted => "refuted",
                        },
                        if reason.is_empty() {
                            String::new()
                        } else {
                            format!(" ({reason})")
                        }
                    );
                    self.inbox.mark_judged(&key).map_err(|e| e.to_string())?;
                    submitted += 1;
                }
                Err(e) => tracing::warn!("attestation not submitted yet: {e}"),
            }
        }
        Ok(submitted)
    }
}

/// The regulator's judging loop: a round when a layout completes, and every few seconds for
/// layouts whose publication was not on the ledger yet.
pub(super) async fn judge_layouts(attestor: Arc<Attestor>) {
    loop {
        let _ = tokio::time::timeout(ROUND, attestor.complete.notified()).await;
        let a = attestor.clone();
        match tokio::task::spawn_blocking(move || a.judge_round()).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!("judging layouts: {e}"),
            Err(e) => tracing::warn!("judging layouts: {e}"),
        }
    }
}

/// The member side of a sampled opening: answers a regulator (by key), for the list's
/// current publication only.
pub(super) async fn open(
    node: Arc<Node>,
    peer: MemberName,
    key: IdentityPublicKey,
    request: Request,
) -> Response {
    let refused = |kind, m: String| Response::Refused(Refusal::new(kind, m));
    let regulator = node
        .ledger
        .read(|s| s.regulator_for_key(&key.to_bytes()) == Some(&peer))
        .unwrap_or(false);
    if !regulator {
        return refused(
            RefusalKind::NotMember,
            "only a regulator may ask for openings".into(),
        );
    }
    let (list, epoch, n) = match &request {
        Request::Open(r) => (r.list.clone(), r.epoch, r.tags.len()),
        Request::OpenEvaluate(r) => (r.list.clone(), r.epoch, r.blinded.len()),
        _ => return refused(RefusalKind::Malformed, "not an opening".into()),
    };
    if n == 0 || n > MAX_OPENINGS {
        return refused(
            RefusalKind::Malformed,
            format!("{n} tags asked; 1 to {MAX_OPENINGS} may be"),
        );
    }
    if node.current.get(&list).map(|(e, _)| *e) != Some(epoch) {
        return refused(
            RefusalKind::StaleRoot,
            format!("{list} epoch {epoch} is not the list's current publication"),
        );
    }
    let task = tokio::task::spawn_blocking(move || match request {
        Request::Open(r) => {
            let wanted: BTreeSet<fengxin_types::Tag> = r.tags.iter().copied().collect();
            match node.store.identifiers_of(&r.list, r.epoch, &wanted) {
                Ok(found) => {
                    tracing::info!(
                        "{peer} asked to open {} sampled tags of {}; {} are entries",
                        r.tags.len(),
                        r.list,
                        found.len()
                    );
                    Response::Opened(
                        r.tags
                            .iter()
                            .map(|t| {
                                found.get(t).map(|(id_type, value)| OpenedIdentifier {
                                    id_type: id_type.clone(),
                                    value: value.clone(),
                                })
                            })
                            .collect(),
                    )
                }
                Err(e) => refused(RefusalKind::Internal, e.to_string()),
            }
        }
        Request::OpenEvaluate(r) => {
            let evaluated = node.list_key(&r.list, r.epoch).and_then(|k| {
                k.blind_evaluate_batch(&mut rand_core::OsRng, &r.blinded)
                    .map_err(|e| e.to_string())
            });
            match evaluated {
                Ok((evaluated, proof)) => Response::OpenEvaluated {
                    evaluated,
                    proof: proof.to_vec(),
                },
                Err(e) => refused(RefusalKind::Malformed, e),
            }
        }
        _ => refused(RefusalKind::Malformed, "not an opening".into()),
    });
    task.await
        .unwrap_or_else(|e| refused(RefusalKind::Internal, e.to_string()))
}

impl Attestor {
    /// A sampled opening of `member`'s current publication of `list`: `count` random tags
    /// from the sealed layout this regulator holds, each opened by the member and checked.
    pub(super) async fn sample(
        &self,
        member: &MemberName,
        list: &ListId,
        count: u32,
    ) -> Result<SampleReport, fengxin_api::ApiError> {
        use fengxin_api::{ApiError, ErrorKind};
        let fail = |kind, m: String| ApiError::new(kind, m);
        let count = usize::try_from(count).unwrap_or(usize::MAX);
        if count == 0 || count > MAX_OPENINGS {
            return Err(fail(
                ErrorKind::Usage,
                format!("--count {count}: 1 to {MAX_OPENINGS} tags may be sampled"),
            ));
        }
        let (publication, party) = self
            .ledger
            .read(|s| {
                let p = s.current_publication(member, list)?.publication.clone();
                let m = s.members().get(member)?;
                Some((p, Party::from_ledger(member, &m.identity_key, &m.address)?))
            })
            .map_err(|e| fail(ErrorKind::Ledger, e.to_string()))?
            .ok_or_else(|| {
                fail(
                    ErrorKind::NotFound,
                    format!("{member} has no current publication of {list}"),
                )
            })?;
        let header = LayoutHeader {
            chain: self.chain,
            member: member.clone(),
            list: list.clone(),
            epoch: publication.epoch,
            root: publication.root,
        };
        let key = LayoutKey {
            member: member.to_string(),
            list: list.to_string(),
            epoch: publication.epoch.get(),
        };
        let sealed = self
            .inbox
            .sealed(&key, &publication.root)
            .map_err(|e| fail(ErrorKind::Internal, e.to_string()))?
            .ok_or_else(|| {
                fail(
                    ErrorKind::NotFound,
                    format!(
                        "no complete layout of {member}'s {list} epoch {} has arrived",
                        publication.epoch
                    ),
                )
            })?;
        let package = open_sealed(&self.keys.view, &header, &sealed)
            .map_err(|e| fail(ErrorKind::Protocol, e.to_string()))?;
        let mut tags = crate::attest::entry_tags(&package);
        let entries = tags.len() as u64;
        // A uniformly random sample without replacement (partial Fisher-Yates).
        let k = count.min(tags.len());
        for i in 0..k {
            let span = (tags.len() - i) as u64;
            let j = i + usize::try_from(uniform(span)).unwrap_or(0);
            tags.swap(i, j);
        }
        tags.truncate(k);

        let unreachable =
            |e: StepError| fail(ErrorKind::Node, format!("{member}: {}", e.message()));
        let opened = match self
            .exchange(
                &party,
                &Request::Open(OpenRequest {
                    list: list.clone(),
                    epoch: publication.epoch,
                    tags: tags.clone(),
                }),
            )
            .await
            .map_err(unreachable)?
        {
            Response::Opened(ids) if ids.len() == tags.len() => ids,
            other => {
                return Err(fail(
                    ErrorKind::Protocol,
                    format!("{member} did not open the sample: {}", reply(&other)),
                ))
            }
        };
        let mut openings: Vec<SampledOpening> = Vec::with_capacity(tags.len());
        let mut to_check: Vec<(usize, fengxin_types::CanonicalId)> = Vec::new();
        for (i, (tag, id)) in tags.iter().zip(&opened).enumerate() {
            let mut o = SampledOpening {
                tag: hex::encode(tag.as_bytes()),
                identifier_type: id.as_ref().map(|id| id.id_type.clone()),
                identifier: id.as_ref().map(|id| id.value.clone()),
                verified: false,
                reason: None,
            };
            match id {
                None => o.reason = Some("the member opened no identifier for it".into()),
                Some(id) => match id
                    .id_type
                    .parse::<fengxin_types::IdType>()
                    .map_err(|e| e.to_string())
                    .and_then(|t| {
                        fengxin_types::CanonicalId::parse(
                            t,
                            &id.value,
                            fengxin_types::CivilDate::today_china(),
                        )
                        .map_err(|e| e.to_string())
                    }) {
                    Ok(c) if c.as_str() == id.value => to_check.push((i, c)),
                    Ok(_) => o.reason = Some("not in canonical form".into()),
                    Err(e) => o.reason = Some(format!("not an identifier: {e}")),
                },
            }
            openings.push(o);
        }
        if !to_check.is_empty() {
            let ids: Vec<fengxin_types::CanonicalId> =
                to_check.iter().map(|(_, c)| c.clone()).collect();
            let (pending, blinded) = fengxin_crypto::oprf::blind(&mut rand_core::OsRng, list, &ids)
                .map_err(|e| fail(ErrorKind::Internal, e.to_string()))?;
            let recomputed = match self
                .exchange(
                    &party,
                    &Request::OpenEvaluate(OpenEvaluateRequest {
                        list: list.clone(),
                        epoch: publication.epoch,
                        blinded,
                    }),
                )
                .await
                .map_err(unreachable)?
            {
                Response::OpenEvaluated { evaluated, proof } => {
                    let pk =
                        fengxin_crypto::OprfPublicKey::from_slice(&publication.oprf_public_key);
                    match (<[u8; 64]>::try_from(proof.as_slice()), pk) {
                        (Ok(proof), Ok(pk)) => pending
                            .finalize(&evaluated, &proof, &pk)
                            .map_err(|e| format!("the evaluation does not verify: {e}")),
                        _ => Err("a malformed evaluation proof".to_owned()),
                    }
                }
                other => Err(format!("no evaluation: {}", reply(&other))),
            };
            for (n, (i, _)) in to_check.iter().enumerate() {
                let o = &mut openings[*i];
                match &recomputed {
                    Ok(t) if t.get(n) == Some(&tags[*i]) => o.verified = true,
                    Ok(_) => {
                        o.reason = Some(
                            "the identifier's tag under the published key is another: an \
                             invented entry"
                                .into(),
                        )
                    }
                    Err(e) => o.reason = Some(e.clone()),
                }
            }
        }
        let verified = openings.iter().filter(|o| o.verified).count();
        tracing::info!(
            "sampled {} of {member}'s {list} tags: {verified} verified",
            openings.len()
        );
        Ok(SampleReport {
            member: member.clone(),
            list: list.clone(),
            epoch: publication.epoch,
            root: fengxin_api::ListRoot(publication.root),
            entries,
            sampled: openings.len(),
            verified,
            openings,
        })
    }

    async fn exchange(&self, party: &Party, request: &Request) -> Result<Response, StepError> {
        let conn = self.endpoint.connect(party.address, &party.name).await?;
        Ok(conn.request::<Request, Response>(request).await?)
    }
}

/// A uniformly random integer below `span` (> 0), by rejection.
fn uniform(span: u64) -> u64 {
    let zone = u64::MAX - u64::MAX % span;
    loop {
        let x = rand_core::RngCore::next_u64(&mut rand_core::OsRng);
        if x < zone {
            return x % span;
        }
    }
}

fn reply(r: &Response) -> String {
    match r {
        Response::Refused(r) => format!("refused ({:?}): {}", r.kind, r.message),
        other => format!("unexpected reply {other:?}"),
    }
}
