//! The querier's steps.

use crate::messages::{EvaluateRequest, MembershipRequest, Refusal, Request, Response};
use fengxin_crypto::oprf::{self, OprfError, OprfPublicKey, PendingTags, PROOF_LEN};
use fengxin_crypto::{IdentityKey, IdentityPublicKey};
use fengxin_proofs::{MembershipProof, PublicInputs, Verifier};
use fengxin_signed::Publication;
use fengxin_signed::{
    blinded_digest, evaluation_digest, Mode, QueryRequest, Receipt, SignedQueryRequest,
    RECEIPT_VERSION,
};
use fengxin_tree::Root;
use fengxin_types::{CanonicalId, MemberName, Tag};
use rand_core::{CryptoRng, RngCore};

/// How the responder misbehaved. Never to be reported as a miss.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Misbehaviour {
    /// The DLEQ proof does not verify against the published OPRF key (the responder evaluated
    /// with another key, or tampered with the evaluations).
    #[error("OPRF evaluation proof does not verify against the published key")]
    BadDleq,
    /// An evaluated element does not decode.
    #[error("evaluated element {0} is not a valid group element")]
    BadElement(usize),
    /// The number of evaluations or answers differs from the number of identifiers.
    #[error("expected {expected} items, got {got}")]
    WrongCount {
        /// Sent.
        expected: usize,
        /// Received.
        got: usize,
    },
    /// A Groth16 proof does not decode.
    #[error("answer {index}: malformed proof ({reason})")]
    ProofEncoding {
        /// Which answer.
        index: usize,
        /// Why.
        reason: String,
    },
    /// A Groth16 proof does not verify for (published root, tag, claimed result).
    #[error("answer {index}: proof does not verify against the published root")]
    BadProof {
        /// Which answer.
        index: usize,
    },
    /// The receipt signature in the answers does not verify against the responder's key.
    #[error("the receipt signature does not verify against the responder's identity key")]
    BadReceiptSignature,
    /// A response of the wrong kind for this step.
    #[error("unexpected response for this step")]
    UnexpectedResponse,
}

impl Misbehaviour {
    /// A stable machine-readable code for reports and scripts.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadDleq => "bad_dleq_proof",
            Self::BadElement(_) => "bad_evaluated_element",
            Self::WrongCount { .. } => "wrong_count",
            Self::ProofEncoding { .. } => "malformed_proof",
            Self::BadProof { .. } => "bad_groth16_proof",
            Self::BadReceiptSignature => "bad_receipt_signature",
            Self::UnexpectedResponse => "unexpected_response",
        }
    }
}

/// Why a query did not produce verified answers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QueryError {
    /// The responder misbehaved.
    #[error("responder misbehaved: {0}")]
    Misbehaved(Misbehaviour),
    /// The responder refused the request.
    #[error("refused ({:?}): {}", .0.kind, .0.message)]
    Refused(Refusal),
    /// Caller misuse: no identifiers, too many, or an unusable publication.
    #[error("invalid query: {0}")]
    Invalid(String),
}

/// An answer whose proof verified against the published root. Only [`AwaitingAnswers::handle`]
/// creates one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedAnswer {
    index: usize,
    tag: Tag,
    hit: bool,
}

impl VerifiedAnswer {
    /// Position of the identifier in the query.
    pub fn index(&self) -> usize {
        self.index
    }

    /// The identifier's tag under the responder's key.
    pub fn tag(&self) -> Tag {
        self.tag
    }

    /// Whether the identifier is on the responder's list.
    pub fn hit(&self) -> bool {
        self.hit
    }
}

/// The outcome of a completed exchange: verified answers and the receipt.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// One verified answer per identifier, in query order.
    pub answers: Vec<VerifiedAnswer>,
    /// The receipt: the querier's signed request, countersigned by the responder (checked).
    /// The responder submits it; the querier may submit it too.
    pub receipt: Receipt,
    /// What was sent and received, so that a third party (the regulator, from the sealed
    /// details) can recompute the receipt's digests and re-verify every answer.
    pub evidence: Evidence,
}

/// The bytes of an exchange that bind its answers to its receipt: the blinded elements (whose
/// digest the querier signed), the responder's evaluations and DLEQ proof (whose digest it
/// countersigned), and one Groth16 proof per tag against the published root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    /// The blinded elements sent, in query order.
    pub blinded: Vec<[u8; 32]>,
    /// The evaluated elements received.
    pub evaluated: Vec<[u8; 32]>,
    /// The DLEQ proof of the evaluations.
    pub dleq_proof: Vec<u8>,
    /// The encoded membership proof of each answer, in query order.
    pub proofs: Vec<Vec<u8>>,
}

/// Who queries, on which chain: what the querier signs its requests with.
#[derive(Debug, Clone, Copy)]
pub struct Querier<'a> {
    /// The chain (genesis hash).
    pub chain: [u8; 32],
    /// The querying member.
    pub member: &'a MemberName,
    /// Its identity key.
    pub key: &'a IdentityKey,
}

/// Waiting for the responder's OPRF evaluations.
#[derive(Debug)]
pub struct AwaitingEvaluation {
    pending: PendingTags,
    root: Root,
    oprf_key: OprfPublicKey,
    request: SignedQueryRequest,
    blinded: Vec<[u8; 32]>,
}

/// Waiting for the responder's answers.
#[derive(Debug)]
pub struct AwaitingAnswers {
    membership: MembershipRequest,
    root: Root,
    receipt: Receipt,
    evidence: Evidence,
}

/// The outcome of a snapshot-mode exchange: the OPRF output of every identifier (checked
/// against the published key), to be looked up in the held snapshot, and the receipt.
#[derive(Debug, Clone)]
pub struct SnapshotExchange {
    /// One output per identifier, in query order (its tag and its label key).
    pub outputs: Vec<fengxin_crypto::oprf::OprfOutput>,
    /// The receipt (checked).
    pub receipt: Receipt,
    /// The blinded elements, evaluations and DLEQ proof.
    pub evidence: Evidence,
}

impl Querier<'_> {
    /// Starts a proof-mode query of `ids` against a responder's verified `publication`:
    /// blinds the identifiers and signs the request (with the encoded allowance claim for
    /// them, empty when the consortium keeps no allowances).
    pub fn start<R: RngCore + CryptoRng>(
        &self,
        rng: &mut R,
        publication: &Publication,
        ids: &[CanonicalId],
        allowance: Vec<u8>,
    ) -> Result<(AwaitingEvaluation, Request), QueryError> {
        self.start_mode(rng, publication, ids, allowance, Mode::Proof)
    }

    /// Starts a query of `ids` in `mode` (a snapshot-mode batch holds up to 65,535
    /// identifiers and ends at [`AwaitingEvaluation::finish_snapshot`]).
    pub fn start_mode<R: RngCore + CryptoRng>(
        &self,
        rng: &mut R,
        publication: &Publication,
        ids: &[CanonicalId],
        allowance: Vec<u8>,
        mode: Mode,
    ) -> Result<(AwaitingEvaluation, Request), QueryError> {
        if ids.is_empty() || ids.len() > mode.max_count() {
            return Err(QueryError::Invalid(format!(
                "{} identifiers (1 to {} per {} request)",
                ids.len(),
                mode.max_count(),
                mode.code()
            )));
        }
        if publication.chain != self.chain {
            return Err(QueryError::Invalid(
                "the publication belongs to another chain".into(),
            ));
        }
        let root = publication
            .root()
            .map_err(|e| QueryError::Invalid(e.to_string()))?;
        let oprf_key = publication
            .oprf_key()
            .map_err(|e| QueryError::Invalid(e.to_string()))?;
        let (pending, blinded) = oprf::blind(rng, &publication.list, ids)
            .map_err(|e| QueryError::Invalid(e.to_string()))?;
        let mut nonce = [0u8; 16];
        rng.fill_bytes(&mut nonce);
        let request = QueryRequest {
            version: RECEIPT_VERSION,
            chain: self.chain,
            querier: self.member.clone(),
            responder: publication.member.clone(),
            list: publication.list.clone(),
            epoch: publication.epoch,
            mode,
            nonce,
            count: u32::try_from(blinded.len()).unwrap_or(u32::MAX),
            blinded_digest: blinded_digest(&blinded),
            allowance,
        }
        .sign(self.key);
        Ok((
            AwaitingEvaluation {
                pending,
                root,
                oprf_key,
                request: request.clone(),
                blinded: blinded.clone(),
            },
            Request::Evaluate(EvaluateRequest { request, blinded }),
        ))
    }
}

fn misbehaved(m: Misbehaviour) -> QueryError {
    QueryError::Misbehaved(m)
}

impl AwaitingEvaluation {
    /// The signed request this exchange sent.
    pub fn request(&self) -> &SignedQueryRequest {
        &self.request
    }

    /// Checks the evaluations against the published OPRF key and the responder's
    /// countersignature (the receipt) against its identity key, unblinds the tags, and returns
    /// the membership request.
    pub fn handle(
        self,
        response: Response,
        responder_key: &IdentityPublicKey,
    ) -> Result<(AwaitingAnswers, Request), QueryError> {
        let root = self.root;
        let done = self.finish_snapshot(response, responder_key)?;
        let membership = MembershipRequest {
            request_id: done.receipt.id(),
            root: root.to_bytes(),
            tags: done.outputs.iter().map(|o| o.tag()).collect(),
        };
        Ok((
            AwaitingAnswers {
                membership: membership.clone(),
                root,
                receipt: done.receipt,
                evidence: done.evidence,
            },
            Request::Membership(membership),
        ))
    }

    /// Checks the evaluations against the published OPRF key (one DLEQ proof for the batch)
    /// and the responder's countersignature, and unblinds: the last step of a snapshot-mode
    /// exchange (the tags are then looked up in the held snapshot).
    pub fn finish_snapshot(
        self,
        response: Response,
        responder_key: &IdentityPublicKey,
    ) -> Result<SnapshotExchange, QueryError> {
        let evaluated = match response {
            Response::Evaluated(e) => e,
            Response::Refused(r) => return Err(QueryError::Refused(r)),
            _ => return Err(misbehaved(Misbehaviour::UnexpectedResponse)),
        };
        let proof: [u8; PROOF_LEN] = evaluated
            .proof
            .as_slice()
            .try_into()
            .map_err(|_| misbehaved(Misbehaviour::BadDleq))?;
        let outputs = self
            .pending
            .finalize_outputs(&evaluated.evaluated, &proof, &self.oprf_key)
            .map_err(|e| {
                misbehaved(match e {
                    OprfError::BadElement(i) => Misbehaviour::BadElement(i),
                    OprfError::BatchSize { expected, got } => {
                        Misbehaviour::WrongCount { expected, got }
                    }
                    _ => Misbehaviour::BadDleq,
                })
            })?;
        let receipt = Receipt {
            request: self.request,
            answer_digest: evaluation_digest(&evaluated.evaluated, &evaluated.proof),
            responder_signature: evaluated.receipt_signature,
        };
        if receipt.verify_responder(responder_key).is_err() {
            return Err(misbehaved(Misbehaviour::BadReceiptSignature));
        }
        Ok(SnapshotExchange {
            outputs,
            receipt,
            evidence: Evidence {
                blinded: self.blinded,
                evaluated: evaluated.evaluated,
                dleq_proof: evaluated.proof,
                proofs: Vec::new(),
            },
        })
    }
}

impl AwaitingAnswers {
    /// The tags being asked about (what the responder will see).
    pub fn tags(&self) -> &[Tag] {
        &self.membership.tags
    }

    /// The receipt the responder countersigned at evaluation.
    pub fn receipt(&self) -> &Receipt {
        &self.receipt
    }

    /// Verifies every answer's proof against the published root.
    pub fn handle<R: RngCore + CryptoRng>(
        self,
        response: Response,
        verifier: &Verifier,
        rng: &mut R,
    ) -> Result<Exchange, QueryError> {
        let answers = match response {
            Response::Answers(a) => a.answers,
            Response::Refused(r) => return Err(QueryError::Refused(r)),
            _ => return Err(misbehaved(Misbehaviour::UnexpectedResponse)),
        };
        let answers_proofs: Vec<Vec<u8>> = answers.iter().map(|a| a.proof.clone()).collect();
        if answers.len() != self.membership.tags.len() {
            return Err(misbehaved(Misbehaviour::WrongCount {
                expected: self.membership.tags.len(),
                got: answers.len(),
            }));
        }
        let mut items = Vec::with_capacity(answers.len());
        for (index, (answer, tag)) in answers.iter().zip(&self.membership.tags).enumerate() {
            let proof = MembershipProof::from_bytes(&answer.proof).map_err(|e| {
                misbehaved(Misbehaviour::ProofEncoding {
                    index,
                    reason: e.to_string(),
                })
            })?;
            let public = PublicInputs {
                root: self.root,
                tag: *tag,
                result: answer.result,
            };
            items.push((public, proof));
        }
        // One batched check; on failure, find the first bad proof.
        if verifier.verify_batch(&items, rng).is_err() {
            let index = items
                .iter()
                .position(|(public, proof)| verifier.verify(public, proof).is_err())
                .unwrap_or(0);
            return Err(misbehaved(Misbehaviour::BadProof { index }));
        }
        let answers = items
            .iter()
            .enumerate()
            .map(|(index, (public, _))| VerifiedAnswer {
                index,
                tag: public.tag,
                hit: public.result,
            })
            .collect();
        let mut evidence = self.evidence;
        evidence.proofs = answers_proofs;
        Ok(Exchange {
            answers,
            receipt: self.receipt,
            evidence,
        })
    }
}
