//! Tags through a verifiable OPRF (docs/cryptography.md).
//!
//! Suite: RFC 9497 VOPRF, ristretto255-SHA512, through the `voprf` crate.
//!
//! - Each member holds one key per (list, epoch), derived from its [`MasterSeed`] with RFC 9497
//!   `DeriveKeyPair(seed, info)`, `info = OPRF_KEY_INFO || len(list) || list || epoch (u64 BE)`.
//! - The OPRF input of an identifier is
//!   `OPRF_INPUT || len(list) || list || len(type) || type || len(id) || id` (one-byte length
//!   prefixes for list and type, two-byte for the identifier), so that the same string under two
//!   lists or two identifier types gives unrelated tags.
//! - The tag is `SHA-512(TAG_FROM_OUTPUT || ctr || output)` truncated to 248 bits (31 bytes,
//!   big-endian), with `ctr = 0, 1, ...` until the value is non-zero. A value below 2^248 is a
//!   BN254 scalar-field element, and 248-bit comparisons keep the circuit small.
//!
//! The member computes tags of its own entries with [`ListKey::tag`] (full evaluation). A querier
//! blinds an identifier with [`blind`], the responder evaluates with
//! [`ListKey::blind_evaluate_batch`], and the querier checks the DLEQ proof against the published
//! [`OprfPublicKey`] in [`PendingTags::finalize`], which consumes the pending state.

use crate::labels;
use crate::seed::MasterSeed;
use fengxin_types::{CanonicalId, Epoch, ListId, Tag};
use rand_core::{CryptoRng, RngCore};
use sha2::{Digest, Sha512};
use std::fmt;
use voprf::{Group, VoprfClient, VoprfServer};

type Suite = voprf::Ristretto255;

/// Length of a serialised group element (blinded or evaluated element, public key).
pub const ELEMENT_LEN: usize = 32;
/// Length of a serialised DLEQ proof.
pub const PROOF_LEN: usize = 64;

/// Errors from OPRF operations.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OprfError {
    /// Caller misuse: the encoded input is too long for RFC 9497 (identifier over 65535 bytes).
    #[error("OPRF input too long")]
    InputTooLong,
    /// Key derivation failed (cannot happen for a 32-byte seed; reported, not unwrapped).
    #[error("OPRF key derivation failed")]
    KeyDerivation,
    /// Peer misbehaved: bytes that are not a valid ristretto255 element.
    #[error("invalid group element at position {0}")]
    BadElement(usize),
    /// Peer misbehaved: bytes that are not a valid DLEQ proof encoding.
    #[error("malformed DLEQ proof")]
    BadProofEncoding,
    /// Peer misbehaved: the DLEQ proof does not verify against the published key.
    #[error("DLEQ proof does not verify against the published OPRF key")]
    ProofVerification,
    /// Peer misbehaved or caller misuse: the number of evaluated elements differs from the
    /// number of blinded ones.
    #[error("expected {expected} evaluated elements, got {got}")]
    BatchSize {
        /// Elements sent.
        expected: usize,
        /// Elements received.
        got: usize,
    },
    /// Caller misuse or peer misbehaved: more than 65535 elements in one batch.
    #[error("batch of {0} elements exceeds the limit of 65535")]
    BatchTooLarge(usize),
    /// The published public key is not a valid, non-identity ristretto255 element.
    #[error("invalid OPRF public key")]
    BadPublicKey,
    /// RFC 9497 hash-to-scalar refused its input (cannot happen for the fixed-size inputs of
    /// a proof; reported, not unwrapped).
    #[error("hash to scalar failed")]
    Hashing,
    /// The `voprf` crate's own encoding of a blind or a blinded element did not decode
    /// (cannot happen; reported, not unwrapped).
    #[error("the OPRF library's encoding of a blinding did not decode")]
    Encoding,
}

/// A (list, epoch) OPRF public key, as published on the ledger.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OprfPublicKey([u8; ELEMENT_LEN]);

impl OprfPublicKey {
    /// Checks that the bytes encode a valid, non-identity ristretto255 element.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, OprfError> {
        let elem =
            <Suite as Group>::deserialize_elem(bytes).map_err(|_| OprfError::BadPublicKey)?;
        if bool::from(<Suite as Group>::is_identity_elem(elem)) {
            return Err(OprfError::BadPublicKey);
        }
        let arr: [u8; ELEMENT_LEN] = bytes.try_into().map_err(|_| OprfError::BadPublicKey)?;
        Ok(Self(arr))
    }

    /// Parses 64 hexadecimal digits.
    pub fn from_hex(s: &str) -> Result<Self, OprfError> {
        let bytes = hex::decode(s.trim()).map_err(|_| OprfError::BadPublicKey)?;
        Self::from_slice(&bytes)
    }

    /// The compressed encoding.
    pub fn to_bytes(self) -> [u8; ELEMENT_LEN] {
        self.0
    }

    fn element(&self) -> Result<<Suite as Group>::Elem, OprfError> {
        <Suite as Group>::deserialize_elem(&self.0).map_err(|_| OprfError::BadPublicKey)
    }
}

impl fmt::Display for OprfPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for OprfPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OprfPublicKey({self})")
    }
}

/// A member's secret OPRF key for one (list, epoch). Zeroised on drop (by `voprf`).
pub struct ListKey {
    server: VoprfServer<Suite>,
    list: ListId,
    epoch: Epoch,
}

impl fmt::Debug for ListKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ListKey({}, epoch {}, public {})",
            self.list,
            self.epoch,
            self.public_key()
        )
    }
}

impl ListKey {
    /// Derives the key for `(list, epoch)` from the master seed.
    pub fn derive(seed: &MasterSeed, list: &ListId, epoch: Epoch) -> Result<Self, OprfError> {
        let mut info =
            Vec::with_capacity(labels::OPRF_KEY_INFO.len() + 1 + list.as_str().len() + 8);
        info.extend_from_slice(labels::OPRF_KEY_INFO);
        push_short(&mut info, list.as_str().as_bytes());
        info.extend_from_slice(&epoch.get().to_be_bytes());
        let server = VoprfServer::<Suite>::new_from_seed(seed.expose_secret(), &info)
            .map_err(|_| OprfError::KeyDerivation)?;
        Ok(Self {
            server,
            list: list.clone(),
            epoch,
        })
    }

    /// The list this key belongs to.
    pub fn list(&self) -> &ListId {
        &self.list
    }

    /// The secret scalar, read from the crate's own encoding of the key (zeroised after use).
    fn secret(&self) -> Result<zeroize::Zeroizing<curve25519_dalek::Scalar>, OprfError> {
        let mut encoded = self.server.serialize();
        let mut bytes = zeroize::Zeroizing::new([0u8; 32]);
        bytes.copy_from_slice(&encoded[..32]);
        zeroize::Zeroize::zeroize(&mut encoded[..]);
        Option::from(curve25519_dalek::Scalar::from_canonical_bytes(*bytes))
            .map(zeroize::Zeroizing::new)
            .ok_or(OprfError::KeyDerivation)
    }

    /// The epoch this key belongs to.
    pub fn epoch(&self) -> Epoch {
        self.epoch
    }

    /// The public key to publish.
    pub fn public_key(&self) -> OprfPublicKey {
        let bytes = <Suite as Group>::serialize_elem(self.server.get_public_key());
        let mut arr = [0u8; ELEMENT_LEN];
        arr.copy_from_slice(&bytes);
        OprfPublicKey(arr)
    }

    /// The tag of one of the member's own entries (full, unblinded evaluation).
    pub fn tag(&self, id: &CanonicalId) -> Result<Tag, OprfError> {
        Ok(self.output(id)?.tag())
    }

    /// The OPRF output of one of the member's own entries (full, unblinded evaluation): its
    /// tag and the key of its label.
    pub fn output(&self, id: &CanonicalId) -> Result<OprfOutput, OprfError> {
        let input = oprf_input(&self.list, id)?;
        let output = self
            .server
            .evaluate(&input)
            .map_err(|_| OprfError::InputTooLong)?;
        Ok(OprfOutput(to_array::<OUTPUT_LEN>(&output)))
    }

    /// The responder's step: evaluates blinded elements with one DLEQ proof for the batch.
    ///
    /// Returns the evaluated elements in request order and the 64-byte proof. Fails with
    /// [`OprfError::BadElement`] (peer misbehaved) if an element does not decode.
    pub fn blind_evaluate_batch<R: RngCore + CryptoRng>(
        &self,
        rng: &mut R,
        blinded: &[[u8; ELEMENT_LEN]],
    ) -> Result<(Vec<[u8; ELEMENT_LEN]>, [u8; PROOF_LEN]), OprfError> {
        if blinded.len() > usize::from(u16::MAX) {
            return Err(OprfError::BatchTooLarge(blinded.len()));
        }
        let elements = crate::dleq::decode(blinded)?;
        // The secret-key multiplications (constant time) on every core, a slice each; the
        // batch's one DLEQ proof with its composites as parallel multiscalar products.
        use rayon::prelude::*;
        let key = self.secret()?;
        let evaluated: Vec<_> = elements.par_iter().map(|c| c * *key).collect();
        let evaluated_bytes = crate::dleq::encode(&evaluated);
        let proof = crate::dleq::prove(
            rng,
            &key,
            &self.public_key().to_bytes(),
            &crate::dleq::Batch {
                blinded: &elements,
                blinded_bytes: blinded,
                evaluated: &evaluated,
                evaluated_bytes: &evaluated_bytes,
            },
        )?;
        Ok((evaluated_bytes, proof))
    }
}

/// The querier's state between [`blind`] and [`PendingTags::finalize`].
pub struct PendingTags {
    list: ListId,
    inputs: Vec<Vec<u8>>,
    blinds: Vec<curve25519_dalek::Scalar>,
    blinded: Vec<curve25519_dalek::RistrettoPoint>,
    blinded_bytes: Vec<[u8; ELEMENT_LEN]>,
}

impl Drop for PendingTags {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.blinds);
    }
}

impl fmt::Debug for PendingTags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "PendingTags({}, {} identifiers)",
            self.list,
            self.inputs.len()
        )
    }
}

/// The querier's first step: blinds identifiers for `list`. Returns the pending state and the
/// blinded elements to send; the responder learns nothing about the identifiers from them.
///
/// Identifiers are blinded in parallel, each with its own generator seeded from `rng`.
pub fn blind<R: RngCore + CryptoRng>(
    rng: &mut R,
    list: &ListId,
    ids: &[CanonicalId],
) -> Result<(PendingTags, Vec<[u8; ELEMENT_LEN]>), OprfError> {
    use rand_chacha::rand_core::SeedableRng;
    use rayon::prelude::*;
    let seeds: Vec<[u8; 32]> = ids
        .iter()
        .map(|_| {
            let mut s = [0u8; 32];
            rng.fill_bytes(&mut s);
            s
        })
        .collect();
    let blinded = ids
        .par_iter()
        .zip(seeds)
        .map(|(id, seed)| {
            let input = oprf_input(list, id)?;
            let mut rng = rand_chacha::ChaCha20Rng::from_seed(seed);
            let b = VoprfClient::<Suite>::blind(&input, &mut rng)
                .map_err(|_| OprfError::InputTooLong)?;
            let mut state = b.state.serialize();
            let mut blind = [0u8; 32];
            blind.copy_from_slice(&state[..32]);
            zeroize::Zeroize::zeroize(&mut state[..]);
            let scalar = Option::from(curve25519_dalek::Scalar::from_canonical_bytes(blind));
            zeroize::Zeroize::zeroize(&mut blind);
            let message = to_array::<ELEMENT_LEN>(&b.message.serialize());
            let point = curve25519_dalek::ristretto::CompressedRistretto(message).decompress();
            match (scalar, point) {
                (Some(scalar), Some(point)) => Ok((input, scalar, point, message)),
                _ => Err(OprfError::Encoding),
            }
        })
        .collect::<Result<Vec<_>, OprfError>>()?;
    let mut pending = PendingTags {
        list: list.clone(),
        inputs: Vec::with_capacity(ids.len()),
        blinds: Vec::with_capacity(ids.len()),
        blinded: Vec::with_capacity(ids.len()),
        blinded_bytes: Vec::with_capacity(ids.len()),
    };
    for (input, blind, point, bytes) in blinded {
        pending.inputs.push(input);
        pending.blinds.push(blind);
        pending.blinded.push(point);
        pending.blinded_bytes.push(bytes);
    }
    let messages = pending.blinded_bytes.clone();
    Ok((pending, messages))
}

impl PendingTags {
    /// The list the identifiers are to be screened against.
    pub fn list(&self) -> &ListId {
        &self.list
    }

    /// Number of identifiers.
    pub fn len(&self) -> usize {
        self.inputs.len()
    }

    /// Whether there are no identifiers.
    pub fn is_empty(&self) -> bool {
        self.inputs.is_empty()
    }

    /// The querier's last step: checks the DLEQ proof against the published key and unblinds.
    ///
    /// Consumes the state. Any failure here means the responder misbehaved (or answered with a
    /// key other than the published one).
    pub fn finalize(
        self,
        evaluated: &[[u8; ELEMENT_LEN]],
        proof: &[u8; PROOF_LEN],
        public_key: &OprfPublicKey,
    ) -> Result<Vec<Tag>, OprfError> {
        Ok(self
            .finalize_outputs(evaluated, proof, public_key)?
            .iter()
            .map(OprfOutput::tag)
            .collect())
    }

    /// As [`PendingTags::finalize`], but returns the OPRF outputs themselves (each gives the
    /// tag and the key of the entry's label).
    pub fn finalize_outputs(
        self,
        evaluated: &[[u8; ELEMENT_LEN]],
        proof: &[u8; PROOF_LEN],
        public_key: &OprfPublicKey,
    ) -> Result<Vec<OprfOutput>, OprfError> {
        self.finalize_outputs_ref(evaluated, proof, public_key)
    }

    fn finalize_outputs_ref(
        &self,
        evaluated: &[[u8; ELEMENT_LEN]],
        proof: &[u8; PROOF_LEN],
        public_key: &OprfPublicKey,
    ) -> Result<Vec<OprfOutput>, OprfError> {
        if evaluated.len() != self.inputs.len() {
            return Err(OprfError::BatchSize {
                expected: self.inputs.len(),
                got: evaluated.len(),
            });
        }
        let points = crate::dleq::decode(evaluated)?;
        let key = public_key.to_bytes();
        crate::dleq::verify(
            &key,
            &public_key.element()?,
            &crate::dleq::Batch {
                blinded: &self.blinded,
                blinded_bytes: &self.blinded_bytes,
                evaluated: &points,
                evaluated_bytes: evaluated,
            },
            proof,
        )?;
        Ok(
            crate::dleq::unblind_and_hash(&self.inputs, &self.blinds, &points)?
                .into_iter()
                .map(OprfOutput)
                .collect(),
        )
    }
}

/// Bytes of an OPRF output (SHA-512).
pub const OUTPUT_LEN: usize = 64;

/// The OPRF output of one identifier under a (list, epoch) key: known to the member for its
/// own entries and to a querier for the identifiers it had evaluated. The public tag and the
/// label key are independent hashes of it.
#[derive(Clone, PartialEq, Eq)]
pub struct OprfOutput([u8; OUTPUT_LEN]);

impl fmt::Debug for OprfOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OprfOutput(..)")
    }
}

impl OprfOutput {
    /// The entry's tag.
    pub fn tag(&self) -> Tag {
        tag_from_output(&self.0)
    }

    /// The key that seals the entry's label ([`crate::label`]).
    pub fn label_key(&self) -> crate::label::LabelKey {
        let digest = Sha512::new()
            .chain_update(labels::LABEL_KEY)
            .chain_update(self.0)
            .finalize();
        crate::label::LabelKey::from_bytes(to_array::<32>(&digest[..32]))
    }
}

/// The domain-separated OPRF input for an identifier on a list.
pub fn oprf_input(list: &ListId, id: &CanonicalId) -> Result<Vec<u8>, OprfError> {
    let value = id.as_str().as_bytes();
    let value_len = u16::try_from(value.len()).map_err(|_| OprfError::InputTooLong)?;
    let mut out = Vec::with_capacity(labels::OPRF_INPUT.len() + 48 + value.len());
    out.extend_from_slice(labels::OPRF_INPUT);
    push_short(&mut out, list.as_str().as_bytes());
    push_short(&mut out, id.id_type().as_str().as_bytes());
    out.extend_from_slice(&value_len.to_be_bytes());
    out.extend_from_slice(value);
    Ok(out)
}

/// Hash-to-field of an OPRF output into a non-zero 248-bit tag.
pub fn tag_from_output(output: &[u8]) -> Tag {
    let mut ctr: u8 = 0;
    loop {
        let digest = Sha512::new()
            .chain_update(labels::TAG_FROM_OUTPUT)
            .chain_update([ctr])
            .chain_update(output)
            .finalize();
        let mut bytes = [0u8; Tag::LEN];
        bytes.copy_from_slice(&digest[..Tag::LEN]);
        if let Ok(tag) = Tag::from_bytes(bytes) {
            return tag;
        }
        // A zero 248-bit prefix has probability 2^-248; move to the next counter value.
        ctr = ctr.wrapping_add(1);
    }
}

/// Appends a one-byte length prefix and the bytes (list ids and type names are short ASCII).
fn push_short(out: &mut Vec<u8>, bytes: &[u8]) {
    // List ids are at most 32 bytes and type names at most 9: the length fits in a byte.
    let len = u8::try_from(bytes.len()).unwrap_or(u8::MAX);
    out.push(len);
    out.extend_from_slice(&bytes[..usize::from(len)]);
}

fn to_array<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut arr = [0u8; N];
    arr.copy_from_slice(bytes);
    arr
}

#[cfg(test)]
mod tests {
    use super::*;
    use fengxin_types::IdType;
    use voprf::{BlindedElement, EvaluationElement, Proof};

    type Case = (
        &'static str,
        Vec<[u8; ELEMENT_LEN]>,
        [u8; PROOF_LEN],
        OprfPublicKey,
    );
    use rand_chacha::rand_core::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    fn setup() -> (ChaCha20Rng, ListKey, ListId, Vec<CanonicalId>) {
        let mut rng = ChaCha20Rng::seed_from_u64(42);
        let seed = MasterSeed::generate(&mut rng);
        let list = ListId::parse("fraud_txn").expect("valid list");
        let key = ListKey::derive(&seed, &list, Epoch::FIRST).expect("derive");
        let ids = ["ACC-1", "ACC-2", "ACC-3"]
            .iter()
            .map(|s| {
                CanonicalId::parse(IdType::Account, s, fengxin_types::CivilDate::today_china())
                    .expect("valid account")
            })
            .collect();
        (rng, key, list, ids)
    }

    fn accounts(n: usize) -> Vec<CanonicalId> {
        (0..n)
            .map(|i| {
                CanonicalId::parse(
                    IdType::Account,
                    &format!("ACC-{i}"),
                    fengxin_types::CivilDate::today_china(),
                )
                .expect("valid account")
            })
            .collect()
    }

    /// The crate's own batch evaluation of `blinded`, single-threaded.
    fn crate_evaluation(
        key: &ListKey,
        rng: &mut ChaCha20Rng,
        blinded: &[[u8; ELEMENT_LEN]],
    ) -> (Vec<[u8; ELEMENT_LEN]>, [u8; PROOF_LEN]) {
        let elements: Vec<BlindedElement<Suite>> = blinded
            .iter()
            .map(|b| BlindedElement::<Suite>::deserialize(b).expect("element"))
            .collect();
        let theirs = key
            .server
            .batch_blind_evaluate(rng, &elements)
            .expect("crate evaluation");
        let evaluated = theirs
            .messages
            .iter()
            .map(|m| to_array::<ELEMENT_LEN>(&m.serialize()))
            .collect();
        (evaluated, to_array::<PROOF_LEN>(&theirs.proof.serialize()))
    }

    /// The crate's own client: checks the batch's proof and unblinds, one element at a time.
    fn crate_finalize(
        pending: &PendingTags,
        evaluated: &[[u8; ELEMENT_LEN]],
        proof: &[u8; PROOF_LEN],
        public_key: &OprfPublicKey,
    ) -> Result<Vec<OprfOutput>, voprf::Error> {
        let clients: Vec<VoprfClient<Suite>> = pending
            .blinds
            .iter()
            .zip(&pending.blinded)
            .zip(&pending.blinded_bytes)
            .map(|((blind, _), bytes)| {
                let mut state = blind.to_bytes().to_vec();
                state.extend_from_slice(bytes);
                VoprfClient::deserialize(&state).expect("client state")
            })
            .collect();
        let messages = evaluated
            .iter()
            .map(|e| EvaluationElement::<Suite>::deserialize(e))
            .collect::<Result<Vec<_>, _>>()?;
        let proof = Proof::<Suite>::deserialize(proof)?;
        let pk = public_key
            .element()
            .map_err(|_| voprf::Error::Deserialization)?;
        VoprfClient::batch_finalize(&pending.inputs, &clients, &messages, &proof, pk)?
            .map(|o| o.map(|out| OprfOutput(to_array::<OUTPUT_LEN>(&out))))
            .collect()
    }

    /// The evaluations made on every core are the crate's own, element by element; the
    /// batch's proof made here verifies with the crate's client, and the crate's own batch
    /// evaluation verifies here, with the same outputs both ways. Batches of 1, 3,000 and the
    /// largest size, and one over it refused.
    #[test]
    fn parallel_batch_evaluation_interoperates_with_the_crate_both_ways() {
        let (mut rng, key, list, _) = setup();
        let pk = key.public_key();
        for n in [1, 3000, usize::from(u16::MAX)] {
            let ids = accounts(n);
            let (pending, blinded) = blind(&mut rng, &list, &ids).expect("blind");
            let (evaluated, proof) = key.blind_evaluate_batch(&mut rng, &blinded).expect("eval");
            let (theirs, their_proof) = crate_evaluation(&key, &mut rng, &blinded);
            assert_eq!(evaluated, theirs, "{n} elements");
            let by_the_crate = crate_finalize(&pending, &evaluated, &proof, &pk)
                .expect("our proof verifies with the crate's client");
            let crates_proof_here = pending
                .finalize_outputs_ref(&theirs, &their_proof, &pk)
                .expect("the crate's proof verifies here");
            let ours = pending
                .finalize_outputs(&evaluated, &proof, &pk)
                .expect("our proof verifies here");
            assert_eq!(ours, by_the_crate, "{n} elements");
            assert_eq!(crates_proof_here, by_the_crate, "{n} elements");
            if n <= 3000 {
                let direct: Vec<Tag> = ids.iter().map(|id| key.tag(id).expect("tag")).collect();
                assert_eq!(ours.iter().map(OprfOutput::tag).collect::<Vec<_>>(), direct);
            }
        }
        let over = vec![blind(&mut rng, &list, &accounts(1)).expect("blind").1[0]; 65_536];
        assert_eq!(
            key.blind_evaluate_batch(&mut rng, &over).err(),
            Some(OprfError::BatchTooLarge(65_536))
        );
    }

    /// Every bent batch is refused by the checks here and by the crate's own client alike:
    /// a reordered, replaced or dropped evaluation, a proof for another batch or another key,
    /// and a flipped proof byte.
    #[test]
    fn bent_batches_are_refused_here_and_by_the_crate() {
        let (mut rng, key, list, _) = setup();
        let other =
            ListKey::derive(&MasterSeed::generate(&mut rng), &list, Epoch::FIRST).expect("derive");
        let pk = key.public_key();
        let ids = accounts(3000);
        let (pending, blinded) = blind(&mut rng, &list, &ids).expect("blind");
        let (evaluated, proof) = key.blind_evaluate_batch(&mut rng, &blinded).expect("eval");
        let mut cases: Vec<Case> = Vec::new();
        let mut swapped = evaluated.clone();
        swapped.swap(10, 2000);
        cases.push(("reordered", swapped, proof, pk));
        let mut replaced = evaluated.clone();
        replaced[7] = evaluated[8];
        cases.push(("replaced", replaced, proof, pk));
        let (_, other_batch) = blind(&mut rng, &list, &ids).expect("blind");
        let (_, other_proof) = key
            .blind_evaluate_batch(&mut rng, &other_batch)
            .expect("eval");
        cases.push(("another batch's proof", evaluated.clone(), other_proof, pk));
        let (by_other, other_key_proof) = other
            .blind_evaluate_batch(&mut rng, &blinded)
            .expect("eval");
        cases.push(("another key", by_other, other_key_proof, pk));
        let mut flipped = proof;
        flipped[40] ^= 1;
        cases.push(("flipped proof byte", evaluated.clone(), flipped, pk));
        cases.push((
            "wrong public key",
            evaluated.clone(),
            proof,
            other.public_key(),
        ));
        for (what, ev, proof, key) in cases {
            assert!(
                matches!(
                    pending.finalize_outputs_ref(&ev, &proof, &key),
                    Err(OprfError::ProofVerification | OprfError::BadProofEncoding)
                ),
                "{what} accepted here"
            );
            assert!(
                crate_finalize(&pending, &ev, &proof, &key).is_err(),
                "{what} accepted by the crate"
            );
        }
        assert_eq!(
            pending
                .finalize_outputs_ref(&evaluated[1..], &proof, &pk)
                .err(),
            Some(OprfError::BatchSize {
                expected: 3000,
                got: 2999
            })
        );
        assert!(pending
            .finalize_outputs_ref(&evaluated, &proof, &pk)
            .is_ok());
    }

    #[test]
    fn blinded_tags_equal_direct_tags() {
        let (mut rng, key, list, ids) = setup();
        let (pending, blinded) = blind(&mut rng, &list, &ids).expect("blind");
        let (evaluated, proof) = key.blind_evaluate_batch(&mut rng, &blinded).expect("eval");
        let tags = pending
            .finalize(&evaluated, &proof, &key.public_key())
            .expect("valid DLEQ proof accepted");
        let direct: Vec<Tag> = ids.iter().map(|id| key.tag(id).expect("tag")).collect();
        assert_eq!(tags, direct);
        assert_ne!(tags[0], tags[1]);
        // Every element has its own blind: the same identifiers blinded again, or twice in
        // one batch, give unrelated elements.
        let (_, again) = blind(&mut rng, &list, &ids).expect("blind");
        assert!(blinded.iter().zip(&again).all(|(a, b)| a != b));
        let twice = [ids[0].clone(), ids[0].clone()];
        let (_, pair) = blind(&mut rng, &list, &twice).expect("blind");
        assert_ne!(pair[0], pair[1]);
    }

    #[test]
    fn derivation_is_deterministic_and_separated() {
        let (_, key, list, ids) = setup();
        let seed = MasterSeed::generate(&mut ChaCha20Rng::seed_from_u64(42));
        let again = ListKey::derive(&seed, &list, Epoch::FIRST).expect("derive");
        assert_eq!(again.public_key(), key.public_key());
        assert_eq!(again.tag(&ids[0]), key.tag(&ids[0]));
        let next_epoch = Epoch::FIRST.next().expect("epoch 2");
        let other_epoch = ListKey::derive(&seed, &list, next_epoch).expect("derive");
        assert_ne!(other_epoch.public_key(), key.public_key());
        let other_list = ListKey::derive(
            &seed,
            &ListId::parse("marketing_abuse").expect("ok"),
            Epoch::FIRST,
        )
        .expect("derive");
        assert_ne!(other_list.public_key(), key.public_key());
        // Same string under another identifier type gives an unrelated tag.
        let dev = CanonicalId::parse(
            IdType::Account,
            "ABCDEF12",
            fengxin_types::CivilDate::today_china(),
        )
        .expect("account");
        let email_like = CanonicalId::parse(
            IdType::DeviceId,
            "abcdef12",
            fengxin_types::CivilDate::today_china(),
        )
        .expect("device id");
        assert_ne!(key.tag(&dev), key.tag(&email_like));
    }

    #[test]
    fn wrong_key_is_rejected() {
        let (mut rng, key, list, ids) = setup();
        let other =
            ListKey::derive(&MasterSeed::generate(&mut rng), &list, Epoch::FIRST).expect("derive");
        let (pending, blinded) = blind(&mut rng, &list, &ids).expect("blind");
        // The responder evaluates with a key other than the published one.
        let (evaluated, proof) = other
            .blind_evaluate_batch(&mut rng, &blinded)
            .expect("eval");
        assert_eq!(
            pending.finalize(&evaluated, &proof, &key.public_key()),
            Err(OprfError::ProofVerification)
        );
    }

    #[test]
    fn tampering_is_rejected() {
        let (mut rng, key, list, ids) = setup();
        let pk = key.public_key();
        let run = |rng: &mut ChaCha20Rng| {
            let (pending, blinded) = blind(rng, &list, &ids).expect("blind");
            let (ev, proof) = key.blind_evaluate_batch(rng, &blinded).expect("eval");
            (pending, ev, proof)
        };
        // Flipped proof byte.
        let (p, ev, mut proof) = run(&mut rng);
        proof[3] ^= 1;
        assert!(matches!(
            p.finalize(&ev, &proof, &pk),
            Err(OprfError::ProofVerification | OprfError::BadProofEncoding)
        ));
        // Swapped evaluated elements.
        let (p, mut ev, proof) = run(&mut rng);
        ev.swap(0, 1);
        assert_eq!(
            p.finalize(&ev, &proof, &pk),
            Err(OprfError::ProofVerification)
        );
        // An evaluated element that is not a group element.
        let (p, mut ev, proof) = run(&mut rng);
        ev[1] = [0xff; 32];
        assert_eq!(p.finalize(&ev, &proof, &pk), Err(OprfError::BadElement(1)));
        // A dropped element.
        let (p, ev, proof) = run(&mut rng);
        assert_eq!(
            p.finalize(&ev[..2], &proof, &pk),
            Err(OprfError::BatchSize {
                expected: 3,
                got: 2
            })
        );
        // Garbage blinded element sent to the responder.
        assert_eq!(
            key.blind_evaluate_batch(&mut rng, &[[0xff; 32]])
                .map(|_| ()),
            Err(OprfError::BadElement(0))
        );
        // Identity and garbage public keys.
        assert_eq!(
            OprfPublicKey::from_slice(&[0; 32]),
            Err(OprfError::BadPublicKey)
        );
        assert_eq!(
            OprfPublicKey::from_slice(&[0xff; 32]),
            Err(OprfError::BadPublicKey)
        );
        assert_eq!(OprfPublicKey::from_hex(&pk.to_string()), Ok(pk));
    }

    proptest::proptest! {
        #[test]
        fn tags_are_nonzero_and_248_bit(output in proptest::collection::vec(proptest::num::u8::ANY, 0..128)) {
            let t = tag_from_output(&output);
            proptest::prop_assert!(t.as_bytes().iter().any(|b| *b != 0));
        }
    }
}
