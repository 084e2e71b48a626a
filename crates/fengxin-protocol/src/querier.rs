//! The querier's steps.

use crate::messages::{EvaluateRequest, MembershipRequest, Refusal, Request, Response, MAX_BATCH};
use crate::publication::Publication;
use crate::receipt::{ReceiptBody, SignedReceipt};
use fengxin_crypto::oprf::{self, OprfError, OprfPublicKey, PendingTags, PROOF_LEN};
use fengxin_crypto::IdentityPublicKey;
use fengxin_proofs::{MembershipProof, PublicInputs, Verifier};
use fengxin_tree::Root;
use fengxin_types::{CanonicalId, Epoch, ListId, MemberName, Tag};
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

/// The outcome of a completed exchange: verified answers and the receipt to submit.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// One verified answer per identifier, in query order.
    pub answers: Vec<VerifiedAnswer>,
    /// The receipt, signed by the responder (checked), for the querier to countersign.
    pub receipt: SignedReceipt,
}

/// Who takes part in an exchange.
#[derive(Debug, Clone)]
struct Parties {
    querier: MemberName,
    responder: MemberName,
    nonce: [u8; 16],
}

/// Waiting for the responder's OPRF evaluations.
#[derive(Debug)]
pub struct AwaitingEvaluation {
    pending: PendingTags,
    list: ListId,
    epoch: Epoch,
    root: Root,
    oprf_key: OprfPublicKey,
    parties: Parties,
}

/// Waiting for the responder's answers.
#[derive(Debug)]
pub struct AwaitingAnswers {
    request: MembershipRequest,
    root: Root,
    parties: Parties,
}

/// Starts a query by `querier` of `ids` against a responder's verified `publication`.
pub fn start<R: RngCore + CryptoRng>(
    rng: &mut R,
    querier: &MemberName,
    publication: &Publication,
    ids: &[CanonicalId],
    allowance: Vec<u8>,
) -> Result<(AwaitingEvaluation, Request), QueryError> {
    if ids.is_empty() || ids.len() > MAX_BATCH {
        return Err(QueryError::Invalid(format!(
            "{} identifiers (1 to {MAX_BATCH} per request)",
            ids.len()
        )));
    }
    let root = publication
        .root()
        .map_err(|e| QueryError::Invalid(e.to_string()))?;
    let oprf_key = publication
        .oprf_key()
        .map_err(|e| QueryError::Invalid(e.to_string()))?;
    let (pending, blinded) =
        oprf::blind(rng, &publication.list, ids).map_err(|e| QueryError::Invalid(e.to_string()))?;
    let mut nonce = [0u8; 16];
    rng.fill_bytes(&mut nonce);
    let request = Request::Evaluate(EvaluateRequest {
        list: publication.list.clone(),
        epoch: publication.epoch,
        blinded,
        allowance,
    });
    Ok((
        AwaitingEvaluation {
            pending,
            list: publication.list.clone(),
            epoch: publication.epoch,
            root,
            oprf_key,
            parties: Parties {
                querier: querier.clone(),
                responder: publication.member.clone(),
                nonce,
            },
        },
        request,
    ))
}

fn misbehaved(m: Misbehaviour) -> QueryError {
    QueryError::Misbehaved(m)
}

impl AwaitingEvaluation {
    /// Checks the evaluations against the published OPRF key, unblinds the tags, and returns
    /// the membership request.
    pub fn handle(self, response: Response) -> Result<(AwaitingAnswers, Request), QueryError> {
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
        let tags = self
            .pending
            .finalize(&evaluated.evaluated, &proof, &self.oprf_key)
            .map_err(|e| {
                misbehaved(match e {
                    OprfError::BadElement(i) => Misbehaviour::BadElement(i),
                    OprfError::BatchSize { expected, got } => {
                        Misbehaviour::WrongCount { expected, got }
                    }
                    _ => Misbehaviour::BadDleq,
                })
            })?;
        let request = MembershipRequest {
            list: self.list,
            epoch: self.epoch,
            root: self.root.to_bytes(),
            nonce: self.parties.nonce,
            tags,
        };
        Ok((
            AwaitingAnswers {
                request: request.clone(),
                root: self.root,
                parties: self.parties,
            },
            Request::Membership(request),
        ))
    }
}

impl AwaitingAnswers {
    /// The tags being asked about (what the responder will see).
    pub fn tags(&self) -> &[Tag] {
        &self.request.tags
    }

    /// Verifies every answer's proof against the published root and the responder's receipt
    /// signature against its identity key.
    pub fn handle<R: RngCore + CryptoRng>(
        self,
        response: Response,
        verifier: &Verifier,
        responder_key: &IdentityPublicKey,
        rng: &mut R,
    ) -> Result<Exchange, QueryError> {
        let (answers, receipt_signature) = match response {
            Response::Answers(a) => (a.answers, a.receipt_signature),
            Response::Refused(r) => return Err(QueryError::Refused(r)),
            _ => return Err(misbehaved(Misbehaviour::UnexpectedResponse)),
        };
        if answers.len() != self.request.tags.len() {
            return Err(misbehaved(Misbehaviour::WrongCount {
                expected: self.request.tags.len(),
                got: answers.len(),
            }));
        }
        let mut items = Vec::with_capacity(answers.len());
        for (index, (answer, tag)) in answers.iter().zip(&self.request.tags).enumerate() {
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
        let receipt = ReceiptBody::for_exchange(
            self.parties.querier,
            self.parties.responder,
            &self.request,
            &answers,
        );
        let receipt = SignedReceipt {
            body: receipt,
            responder_signature: receipt_signature,
        };
        if !receipt.verify(responder_key) {
            return Err(misbehaved(Misbehaviour::BadReceiptSignature));
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
        Ok(Exchange { answers, receipt })
    }
}
