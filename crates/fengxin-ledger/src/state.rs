//! The replicated state: membership, publications, receipts, motions and per-member counters.

use crate::block::{Batch, Block, BlockHeader, BLOCK_VERSION};
use crate::record::{Motion, MotionAction, Record, RecordBody, Rejection, Verdict, RECORD_VERSION};
use crate::Digest;
use fengxin_crypto::IdentityPublicKey;
use fengxin_protocol::{Publication, SignedReceipt, MAX_BATCH, RECEIPT_VERSION};
use fengxin_types::{Epoch, ListId, MemberName};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// A founding member, as the genesis file names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenesisMember {
    /// Name.
    pub name: MemberName,
    /// Ed25519 identity key.
    pub identity_key: [u8; 32],
    /// QUIC address.
    pub address: String,
}

/// A regulator, as the genesis file names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenesisRegulator {
    /// Name.
    pub name: MemberName,
    /// Ed25519 identity key (TLS).
    pub identity_key: [u8; 32],
    /// QUIC address.
    pub address: String,
    /// The view public key (hex).
    pub view_public_key: String,
}

/// A current member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberEntry {
    /// Ed25519 identity key.
    pub identity_key: [u8; 32],
    /// QUIC address.
    pub address: String,
    /// Height at which it joined (0 = genesis).
    pub since: u64,
}

/// A regulator (non-voting, replicates the ledger).
pub type RegulatorEntry = GenesisRegulator;

/// One publication of a list, as the ledger holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedList {
    /// The publication.
    pub publication: Publication,
    /// Height of the block that holds it.
    pub height: u64,
}

/// A query receipt on the ledger (public part).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptState {
    /// The countersigned receipt.
    pub receipt: SignedReceipt,
    /// Height of the block that holds it.
    pub height: u64,
    /// Feedback, once given.
    pub feedback: Option<Verdict>,
}

/// An open or decided motion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MotionState {
    /// The motion.
    pub motion: Motion,
    /// Who proposed it.
    pub proposer: MemberName,
    /// Members in favour.
    pub approve: BTreeSet<MemberName>,
    /// Members against.
    pub reject: BTreeSet<MemberName>,
    /// `Some(true)` once carried, `Some(false)` once it can no longer carry.
    pub decided: Option<bool>,
    /// Height of the block that decided it.
    pub decided_at: Option<u64>,
}

/// Public per-member activity counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberCounters {
    /// Query exchanges made (receipts as querier).
    pub queries_made: u64,
    /// Identifiers screened as querier.
    pub identifiers_screened: u64,
    /// Query exchanges answered (receipts as responder).
    pub queries_served: u64,
    /// Identifiers answered as responder.
    pub identifiers_served: u64,
    /// Confirmed hits reported about this member's answers.
    pub confirmed: u64,
    /// False positives reported about this member's answers.
    pub false_positives: u64,
    /// Blocks this member proposed.
    pub blocks_proposed: u64,
}

/// The outcome of applying a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// The block built from the accepted records (`None` if nothing was accepted or the batch
    /// itself was invalid).
    pub block: Option<Block>,
    /// The records rejected, with the reason.
    pub rejected: Vec<(Digest, Rejection)>,
    /// Why the whole batch was refused (bad proposer or signature), if it was.
    pub batch_error: Option<String>,
}

/// The ledger state every node derives from the blocks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerState {
    chain_id: Digest,
    height: u64,
    head: Digest,
    members: BTreeMap<MemberName, MemberEntry>,
    regulators: BTreeMap<MemberName, RegulatorEntry>,
    publications: BTreeMap<(MemberName, ListId, Epoch), PublishedList>,
    receipts: BTreeMap<Digest, ReceiptState>,
    motions: BTreeMap<Digest, MotionState>,
    counters: BTreeMap<MemberName, MemberCounters>,
}

impl LedgerState {
    /// The state at genesis. `chain_id` is the genesis hash; it is also the "previous hash"
    /// of block 1.
    pub fn genesis(
        chain_id: Digest,
        members: Vec<GenesisMember>,
        regulators: Vec<GenesisRegulator>,
    ) -> Self {
        Self {
            chain_id,
            height: 0,
            head: chain_id,
            members: members
                .into_iter()
                .map(|m| {
                    (
                        m.name,
                        MemberEntry {
                            identity_key: m.identity_key,
                            address: m.address,
                            since: 0,
                        },
                    )
                })
                .collect(),
            regulators: regulators
                .into_iter()
                .map(|r| (r.name.clone(), r))
                .collect(),
            publications: BTreeMap::new(),
            receipts: BTreeMap::new(),
            motions: BTreeMap::new(),
            counters: BTreeMap::new(),
        }
    }

    /// The chain identifier (genesis hash).
    pub fn chain_id(&self) -> Digest {
        self.chain_id
    }

    /// Height of the last block (0 at genesis).
    pub fn height(&self) -> u64 {
        self.height
    }

    /// Hash of the last block (the chain id at genesis).
    pub fn head(&self) -> Digest {
        self.head
    }

    /// Current members, by name.
    pub fn members(&self) -> &BTreeMap<MemberName, MemberEntry> {
        &self.members
    }

    /// Regulators, by name.
    pub fn regulators(&self) -> &BTreeMap<MemberName, RegulatorEntry> {
        &self.regulators
    }

    /// The member holding `key`, if any.
    pub fn member_for_key(&self, key: &[u8; 32]) -> Option<&MemberName> {
        self.members
            .iter()
            .find(|(_, m)| &m.identity_key == key)
            .map(|(n, _)| n)
    }

    /// The regulator holding `key`, if any.
    pub fn regulator_for_key(&self, key: &[u8; 32]) -> Option<&MemberName> {
        self.regulators
            .iter()
            .find(|(_, r)| &r.identity_key == key)
            .map(|(n, _)| n)
    }

    /// A member's identity key.
    pub fn identity_key(&self, member: &MemberName) -> Option<IdentityPublicKey> {
        self.members
            .get(member)
            .and_then(|m| IdentityPublicKey::from_slice(&m.identity_key).ok())
    }

    /// The publication of (member, list, epoch).
    pub fn publication(
        &self,
        member: &MemberName,
        list: &ListId,
        epoch: Epoch,
    ) -> Option<&PublishedList> {
        self.publications
            .get(&(member.clone(), list.clone(), epoch))
    }

    /// The latest publication of each (member, list).
    pub fn current_publications(&self) -> Vec<&PublishedList> {
        let mut latest: BTreeMap<(&MemberName, &ListId), &PublishedList> = BTreeMap::new();
        for ((member, list, _), p) in &self.publications {
            latest.insert((member, list), p);
        }
        latest.into_values().collect()
    }

    /// The latest publication of (member, list).
    pub fn current_publication(
        &self,
        member: &MemberName,
        list: &ListId,
    ) -> Option<&PublishedList> {
        self.publications
            .range((member.clone(), list.clone(), Epoch::FIRST)..)
            .take_while(|((m, l, _), _)| m == member && l == list)
            .last()
            .map(|(_, p)| p)
    }

    /// A receipt by id.
    pub fn receipt(&self, id: &Digest) -> Option<&ReceiptState> {
        self.receipts.get(id)
    }

    /// Every receipt on the ledger, by id.
    pub fn receipts(&self) -> &BTreeMap<Digest, ReceiptState> {
        &self.receipts
    }

    /// Motions by id.
    pub fn motions(&self) -> &BTreeMap<Digest, MotionState> {
        &self.motions
    }

    /// A member's public counters.
    pub fn counters(&self, member: &MemberName) -> MemberCounters {
        self.counters.get(member).copied().unwrap_or_default()
    }

    /// Checks a record against the current state without applying it.
    pub fn check(&self, record: &Record) -> Result<(), Rejection> {
        if record.version != RECORD_VERSION {
            return Err(Rejection::UnsupportedVersion(record.version));
        }
        let Some(author_key) = self.identity_key(&record.author) else {
            return Err(Rejection::UnknownAuthor(record.author.clone()));
        };
        if !author_key.verify(&record.signing_bytes(), &record.signature) {
            return Err(Rejection::BadSignature);
        }
        match &record.body {
            RecordBody::Publication(p) => self.check_publication(&record.author, p),
            RecordBody::Receipt(r) => self.check_receipt(&record.author, r),
            RecordBody::Feedback(f) => {
                let Some(receipt) = self.receipts.get(&f.receipt) else {
                    return Err(Rejection::UnknownReceipt(hex::encode(f.receipt)));
                };
                if receipt.receipt.body.querier != record.author {
                    return Err(Rejection::NotAuthorsRecord {
                        author: record.author.clone(),
                        subject: receipt.receipt.body.querier.clone(),
                    });
                }
                if receipt.feedback.is_some() {
                    return Err(Rejection::FeedbackGiven);
                }
                Ok(())
            }
            RecordBody::Motion(m) => {
                if self.motions.contains_key(&record.id()) {
                    return Err(Rejection::Replayed);
                }
                self.check_motion(m)
            }
            RecordBody::Vote(v) => {
                let Some(motion) = self.motions.get(&v.motion) else {
                    return Err(Rejection::UnknownMotion(hex::encode(v.motion)));
                };
                if motion.decided.is_some() {
                    return Err(Rejection::MotionClosed);
                }
                if motion.approve.contains(&record.author) || motion.reject.contains(&record.author)
                {
                    return Err(Rejection::AlreadyVoted(record.author.clone()));
                }
                Ok(())
            }
        }
    }

    fn check_publication(&self, author: &MemberName, p: &Publication) -> Result<(), Rejection> {
        if p.member != *author {
            return Err(Rejection::NotAuthorsRecord {
                author: author.clone(),
                subject: p.member.clone(),
            });
        }
        if p.version != Publication::VERSION {
            return Err(Rejection::UnsupportedVersion(p.version));
        }
        p.root().map_err(|e| Rejection::Malformed {
            field: "root",
            reason: e.to_string(),
        })?;
        p.oprf_key().map_err(|e| Rejection::Malformed {
            field: "oprf_public_key",
            reason: e.to_string(),
        })?;
        if let Some(current) = self.current_publication(author, &p.list) {
            let current = current.publication.epoch;
            if p.epoch <= current {
                return Err(Rejection::StaleEpoch {
                    list: p.list.clone(),
                    epoch: p.epoch,
                    current,
                });
            }
        }
        Ok(())
    }

    fn check_receipt(&self, author: &MemberName, r: &SignedReceipt) -> Result<(), Rejection> {
        let body = &r.body;
        if body.version != RECEIPT_VERSION {
            return Err(Rejection::UnsupportedVersion(body.version));
        }
        if body.querier != *author {
            return Err(Rejection::NotAuthorsRecord {
                author: author.clone(),
                subject: body.querier.clone(),
            });
        }
        if body.responder == body.querier {
            return Err(Rejection::Malformed {
                field: "responder",
                reason: "a member cannot query itself".into(),
            });
        }
        if body.count == 0 || body.count as usize > MAX_BATCH {
            return Err(Rejection::Malformed {
                field: "count",
                reason: format!("{} identifiers (1 to {MAX_BATCH})", body.count),
            });
        }
        let Some(responder_key) = self.identity_key(&body.responder) else {
            return Err(Rejection::UnknownAuthor(body.responder.clone()));
        };
        if self
            .publication(&body.responder, &body.list, body.epoch)
            .is_none()
        {
            return Err(Rejection::NotPublished {
                member: body.responder.clone(),
                list: body.list.clone(),
                epoch: body.epoch,
            });
        }
        if self.receipts.contains_key(&body.id()) {
            return Err(Rejection::Replayed);
        }
        if !r.verify(&responder_key) {
            return Err(Rejection::BadResponderSignature);
        }
        Ok(())
    }

    fn check_motion(&self, m: &Motion) -> Result<(), Rejection> {
        match &m.action {
            MotionAction::Admit {
                name, identity_key, ..
            } => {
                if self.members.contains_key(name) || self.regulators.contains_key(name) {
                    return Err(Rejection::InvalidMotion(format!("{name} is already known")));
                }
                if self.member_for_key(identity_key).is_some()
                    || self.regulator_for_key(identity_key).is_some()
                {
                    return Err(Rejection::InvalidMotion(
                        "that identity key is already in use".into(),
                    ));
                }
                if IdentityPublicKey::from_slice(identity_key).is_err() {
                    return Err(Rejection::Malformed {
                        field: "identity_key",
                        reason: "not an Ed25519 public key".into(),
                    });
                }
                Ok(())
            }
            MotionAction::Remove { name } => {
                if !self.members.contains_key(name) {
                    return Err(Rejection::InvalidMotion(format!("{name} is not a member")));
                }
                if self.members.len() <= 1 {
                    return Err(Rejection::InvalidMotion(
                        "cannot remove the last member".into(),
                    ));
                }
                Ok(())
            }
        }
    }

    /// Applies a batch proposed by the consensus leader: checks the proposer, then each record
    /// in order against the state as it evolves. Accepted records form the next block.
    pub fn apply_batch(&mut self, batch: &Batch) -> Applied {
        let refused = |why: String| Applied {
            block: None,
            rejected: Vec::new(),
            batch_error: Some(why),
        };
        let Some(proposer_key) = self.identity_key(&batch.proposer) else {
            return refused(format!(
                "proposer {} is not a current member",
                batch.proposer
            ));
        };
        if !proposer_key.verify(&batch.signing_bytes(), &batch.signature) {
            return refused("the proposer's signature does not verify".into());
        }
        let height = self.height + 1;
        let mut accepted = Vec::new();
        let mut rejected = Vec::new();
        for record in &batch.records {
            match self.check(record) {
                Ok(()) => {
                    self.apply_record(record, height);
                    accepted.push(record.clone());
                }
                Err(why) => rejected.push((record.id(), why)),
            }
        }
        if accepted.is_empty() {
            return Applied {
                block: None,
                rejected,
                batch_error: None,
            };
        }
        let block = Block {
            header: BlockHeader {
                version: BLOCK_VERSION,
                chain_id: self.chain_id,
                height,
                prev_hash: self.head,
                proposer: batch.proposer.clone(),
                term: batch.term,
                proposed_at_ms: batch.proposed_at_ms,
                records_digest: Block::records_digest(&accepted),
            },
            proposed: batch.record_ids(),
            proposer_signature: batch.signature.clone(),
            records: accepted,
        };
        self.finish_block(&block);
        Applied {
            block: Some(block),
            rejected,
            batch_error: None,
        }
    }

    /// Re-applies a block this node validated and stored earlier (start-up replay). The block
    /// must extend the current head; its records are applied without re-checking signatures.
    pub fn replay_block(&mut self, block: &Block) -> Result<(), String> {
        if block.header.height != self.height + 1 || block.header.prev_hash != self.head {
            return Err(format!(
                "block {} does not extend height {} ({})",
                block.header.height,
                self.height,
                hex::encode(self.head)
            ));
        }
        for record in &block.records {
            self.apply_record(record, block.header.height);
        }
        self.finish_block(block);
        Ok(())
    }

    fn finish_block(&mut self, block: &Block) {
        self.height = block.header.height;
        self.head = block.hash();
        self.counters
            .entry(block.header.proposer.clone())
            .or_default()
            .blocks_proposed += 1;
    }

    fn apply_record(&mut self, record: &Record, height: u64) {
        match &record.body {
            RecordBody::Publication(p) => {
                self.publications.insert(
                    (p.member.clone(), p.list.clone(), p.epoch),
                    PublishedList {
                        publication: p.clone(),
                        height,
                    },
                );
            }
            RecordBody::Receipt(r) => {
                let count = u64::from(r.body.count);
                let q = self.counters.entry(r.body.querier.clone()).or_default();
                q.queries_made += 1;
                q.identifiers_screened += count;
                let s = self.counters.entry(r.body.responder.clone()).or_default();
                s.queries_served += 1;
                s.identifiers_served += count;
                self.receipts.insert(
                    r.body.id(),
                    ReceiptState {
                        receipt: r.clone(),
                        height,
                        feedback: None,
                    },
                );
            }
            RecordBody::Feedback(f) => {
                if let Some(receipt) = self.receipts.get_mut(&f.receipt) {
                    receipt.feedback = Some(f.verdict);
                    let responder = receipt.receipt.body.responder.clone();
                    let c = self.counters.entry(responder).or_default();
                    match f.verdict {
                        Verdict::Confirmed => c.confirmed += 1,
                        Verdict::FalsePositive => c.false_positives += 1,
                    }
                }
            }
            RecordBody::Motion(m) => {
                let mut state = MotionState {
                    motion: m.clone(),
                    proposer: record.author.clone(),
                    approve: BTreeSet::from([record.author.clone()]),
                    reject: BTreeSet::new(),
                    decided: None,
                    decided_at: None,
                };
                let id = record.id();
                self.decide(&mut state, height);
                self.motions.insert(id, state);
            }
            RecordBody::Vote(v) => {
                if let Some(mut state) = self.motions.remove(&v.motion) {
                    if v.approve {
                        state.approve.insert(record.author.clone());
                    } else {
                        state.reject.insert(record.author.clone());
                    }
                    self.decide(&mut state, height);
                    self.motions.insert(v.motion, state);
                }
            }
        }
    }

    /// Carries a motion once at least 2/3 of current members approve; closes it once that can
    /// no longer happen.
    fn decide(&mut self, state: &mut MotionState, height: u64) {
        let n = self.members.len();
        let approve = state
            .approve
            .iter()
            .filter(|m| self.members.contains_key(*m))
            .count();
        let reject = state
            .reject
            .iter()
            .filter(|m| self.members.contains_key(*m))
            .count();
        if approve * 3 >= n * 2 {
            state.decided = Some(true);
            state.decided_at = Some(height);
            match &state.motion.action {
                MotionAction::Admit {
                    name,
                    identity_key,
                    address,
                } => {
                    self.members.insert(
                        name.clone(),
                        MemberEntry {
                            identity_key: *identity_key,
                            address: address.clone(),
                            since: height,
                        },
                    );
                }
                MotionAction::Remove { name } => {
                    self.members.remove(name);
                }
            }
        } else if (n - reject) * 3 < n * 2 {
            state.decided = Some(false);
            state.decided_at = Some(height);
        }
    }
}
