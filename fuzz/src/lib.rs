//! Checks of every decoder of untrusted bytes, shared by the cargo-fuzz targets in
//! `fuzz_targets/` and by the stable property tests in `tests/tests/decoders.rs` (which includes
//! this file as a module with `#[path]`, so it must only use crates both depend on).
//!
//! Each check feeds its input to one decoder. A typed error is an acceptable outcome; a value
//! must round-trip: it re-encodes, the encoding decodes to an equal value, and (for the
//! fixed-layout encodings: keys, points, proofs, roots, tags, frames) the encoding is exactly the
//! input, since those decoders accept only canonical bytes. Postcard accepts over-long varints,
//! so for postcard values only `decode(encode(v)) == v` and a stable re-encoding are required.
//! A violated property panics: a crash for libFuzzer, a failed case for proptest.
//!
//! Each family has a `fuzz` entry point for its fuzz target, which reads the first input byte
//! as the choice of decoder (among its `DECODERS`; for frames, of the limit; `proofs` has a
//! single decoder and no choice byte) and gives it the rest.

use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fmt::Debug;

/// The postcard encoding of a decoded value (which must always encode).
fn encode<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    postcard::to_allocvec(value).expect("a decoded value re-encodes")
}

/// Checks that `value` (just decoded) re-encodes to bytes that decode to an equal value, which
/// re-encodes to the same bytes.
pub fn assert_postcard_round_trip<T>(value: &T)
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    let encoded = encode(value);
    let again: T = postcard::from_bytes(&encoded)
        .unwrap_or_else(|e| panic!("the re-encoding of {value:?} does not decode: {e}"));
    assert_eq!(&again, value, "decode(encode(v)) != v");
    assert_eq!(encode(&again), encoded, "the re-encoding is not stable");
}

/// Decodes `bytes` with `postcard::from_bytes` (trailing bytes ignored, as the ledger and the
/// consensus host decode) and checks the round trip of what comes out.
pub fn postcard_value<T>(bytes: &[u8]) -> Result<T, postcard::Error>
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    let value = postcard::from_bytes::<T>(bytes)?;
    assert_postcard_round_trip(&value);
    Ok(value)
}

/// As [`postcard_value`], for types without `PartialEq` (openraft's messages): the encoding of
/// the decoded value must be a fixed point of decode-then-encode.
pub fn postcard_opaque<T: Serialize + DeserializeOwned>(
    bytes: &[u8],
) -> Result<T, postcard::Error> {
    let value = postcard::from_bytes::<T>(bytes)?;
    let encoded = encode(&value);
    let again: T = postcard::from_bytes(&encoded)
        .unwrap_or_else(|e| panic!("a re-encoding does not decode: {e}"));
    assert_eq!(encode(&again), encoded, "the re-encoding is not stable");
    Ok(value)
}

/// Runs a decoder of a fixed-layout encoding and checks that a decoded value encodes to exactly
/// the input (one encoding per value).
pub fn exact<T: Debug, E>(
    bytes: &[u8],
    decode: impl Fn(&[u8]) -> Result<T, E>,
    to_bytes: impl Fn(&T) -> Vec<u8>,
) -> Result<T, E> {
    let value = decode(bytes)?;
    assert_eq!(
        to_bytes(&value),
        bytes,
        "{value:?} decodes from bytes other than its encoding"
    );
    Ok(value)
}

/// Runs a hex decoder and checks that a decoded value's hex is the input up to case and
/// surrounding whitespace, and decodes to an equal value.
pub fn hex_round_trip<T: Debug + PartialEq, E>(
    s: &str,
    decode: impl Fn(&str) -> Result<T, E>,
    to_hex: impl Fn(&T) -> String,
) -> Result<T, E> {
    let value = decode(s)?;
    let hex = to_hex(&value);
    assert!(
        hex.eq_ignore_ascii_case(s.trim()),
        "{s:?} decodes to {value:?}, whose hex is {hex}"
    );
    assert_eq!(
        decode(&hex).ok().as_ref(),
        Some(&value),
        "its hex does not decode"
    );
    Ok(value)
}

/// The input as text: hex and name decoders take strings; invalid UTF-8 is replaced.
pub fn text(data: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(data)
}

/// Splits a fuzz input into the decoder its first byte picks (modulo the number of decoders) and
/// the decoder's input.
fn choose<'a>(data: &'a [u8], decoders: &[&'static str]) -> Option<(&'static str, &'a [u8])> {
    let (&c, rest) = data.split_first()?;
    Some((decoders[usize::from(c) % decoders.len()], rest))
}

/// The byte that makes a family's fuzz entry point pick `decoder` (for seed corpora).
pub fn choice(decoders: &[&str], decoder: &str) -> u8 {
    let i = decoders
        .iter()
        .position(|d| *d == decoder)
        .unwrap_or_else(|| panic!("no decoder {decoder}"));
    u8::try_from(i).expect("few decoders")
}

/// fengxin-net frames: length prefix, version byte, postcard body.
pub mod frame {
    use super::*;
    use fengxin_net::frame::{self as f, FrameError};
    use fengxin_protocol::{Request, Response};

    /// Limits frames are decoded under: the default, and small ones so that the prefix check
    /// bites on realistic frames.
    pub const LIMITS: [u32; 5] = [f::DEFAULT_MAX_FRAME_LEN, 4096, 64, 1, 0];

    /// `decode_frame`: a decoded body re-frames to exactly the input, within the limit.
    pub fn decode_frame(bytes: &[u8], max: u32) -> Result<&[u8], FrameError> {
        let body = f::decode_frame(bytes, max)?;
        let again = f::encode_frame(body, max)
            .unwrap_or_else(|e| panic!("a body decoded under {max} does not re-frame: {e}"));
        assert_eq!(again, bytes, "a frame re-encodes to other bytes");
        Ok(body)
    }

    /// `check_length_prefix`: accepts exactly the lengths 1..=max, refusing larger ones as too
    /// large and 0 as malformed.
    pub fn check_length_prefix(prefix: [u8; 4], max: u32) -> Result<usize, FrameError> {
        let announced = u32::from_be_bytes(prefix);
        let result = f::check_length_prefix(prefix, max);
        match &result {
            Ok(len) => {
                assert!(
                    (1..=max).contains(&announced),
                    "{announced} accepted under {max}"
                );
                assert_eq!(u32::try_from(*len).ok(), Some(announced));
            }
            Err(FrameError::FrameTooLarge { len, max: m }) => {
                assert_eq!((*len, *m), (u64::from(announced), max));
                assert!(
                    announced > max,
                    "{announced} refused as too large under {max}"
                );
            }
            Err(FrameError::Malformed(_)) => assert_eq!(announced, 0),
            Err(e) => panic!("unexpected prefix error {e}"),
        }
        result
    }

    /// `open_payload`: the body is the payload after a [`f::FRAME_VERSION`] byte.
    pub fn open_payload(payload: &[u8]) -> Result<&[u8], FrameError> {
        let body = f::open_payload(payload)?;
        assert_eq!(payload.split_first(), Some((&f::FRAME_VERSION, body)));
        Ok(body)
    }

    /// `decode_message`: agrees with `decode_frame` then `decode_body`, and a decoded message
    /// re-encodes within the same limit to a frame that decodes to it.
    pub fn decode_message<T>(bytes: &[u8], max: u32) -> Result<T, FrameError>
    where
        T: Serialize + DeserializeOwned + PartialEq + Debug,
    {
        let message = f::decode_message::<T>(bytes, max);
        let split = f::decode_frame(bytes, max).and_then(f::decode_body::<T>);
        assert_eq!(message, split, "decode_message disagrees with its steps");
        if let Ok(m) = &message {
            let again = f::encode_message(m, max)
                .unwrap_or_else(|e| panic!("{m:?} decoded under {max} does not re-encode: {e}"));
            assert_eq!(f::decode_message::<T>(&again, max).as_ref(), Ok(m));
        }
        message
    }

    /// Every frame decoder, on `bytes` under `max`.
    pub fn all(bytes: &[u8], max: u32) {
        let _ = decode_frame(bytes, max);
        let _ = decode_message::<Request>(bytes, max);
        let _ = decode_message::<Response>(bytes, max);
        if let Some((prefix, payload)) = bytes.split_first_chunk::<4>() {
            let _ = check_length_prefix(*prefix, max);
            let _ = open_payload(payload);
        }
        let _ = open_payload(bytes);
    }

    /// Fuzz entry point: the first byte picks the limit, from [`LIMITS`].
    pub fn fuzz(data: &[u8]) {
        if let Some((&c, rest)) = data.split_first() {
            all(rest, LIMITS[usize::from(c) % LIMITS.len()]);
        }
    }
}

/// Protocol messages, decoded from a frame body as `fengxin_net` does (`decode_body`: postcard,
/// trailing bytes refused), then the untrusted bytes nested in them as the node decodes them.
pub mod protocol {
    use super::*;
    use fengxin_net::frame::{decode_body, encode_body, FrameError};
    use fengxin_protocol::{Request, Response};

    /// Decodes a body and checks its round trip through `encode_body`.
    fn body<T>(bytes: &[u8]) -> Result<T, FrameError>
    where
        T: Serialize + DeserializeOwned + PartialEq + Debug,
    {
        let value = decode_body::<T>(bytes)?;
        let again = encode_body(&value).unwrap_or_else(|e| panic!("{value:?}: {e}"));
        assert_eq!(decode_body::<T>(&again).as_ref(), Ok(&value));
        assert_postcard_round_trip(&value);
        Ok(value)
    }

    /// A querier's request, and the allowance claim or consensus message inside it.
    pub fn request(bytes: &[u8]) -> Result<Request, FrameError> {
        let request = body::<Request>(bytes)?;
        match &request {
            Request::Evaluate(e) => {
                let _ = e.request.request.id();
                let _ = super::ledger::allowance_claim(&e.request.request.allowance);
            }
            Request::Ledger(rpc) => {
                let _ = super::consensus::rpc(rpc);
            }
            _ => {}
        }
        Ok(request)
    }

    /// A responder's response, and the proofs, publications or consensus reply inside it.
    pub fn response(bytes: &[u8]) -> Result<Response, FrameError> {
        let response = body::<Response>(bytes)?;
        match &response {
            Response::Answers(a) => {
                for answer in &a.answers {
                    let _ = super::proofs::membership_proof(&answer.proof);
                }
            }
            Response::Publications(ps) => {
                for p in ps {
                    let _ = p.publication.root();
                    let _ = p.publication.oprf_key();
                }
            }
            Response::Ledger(reply) => {
                let _ = super::consensus::reply(reply);
            }
            _ => {}
        }
        Ok(response)
    }

    /// The decoders of the fuzz target, in the order its first byte picks them.
    pub const DECODERS: [&str; 2] = ["request", "response"];

    /// Fuzz entry point.
    pub fn fuzz(data: &[u8]) {
        match choose(data, &DECODERS) {
            Some(("request", rest)) => {
                let _ = request(rest);
            }
            Some((_, rest)) => {
                let _ = response(rest);
            }
            None => {}
        }
    }
}

/// Ledger values (postcard, as blocks, batches, records and snapshot bodies are decoded).
pub mod ledger {
    use super::*;
    use fengxin_ledger::{AllowanceClaim, Batch, Block, Record};

    /// A record; its id and signing bytes are computable.
    pub fn record(bytes: &[u8]) -> Result<Record, postcard::Error> {
        let r = postcard_value::<Record>(bytes)?;
        let _ = (r.id(), r.signing_bytes(), r.kind());
        Ok(r)
    }

    /// A leader's batch.
    pub fn batch(bytes: &[u8]) -> Result<Batch, postcard::Error> {
        let b = postcard_value::<Batch>(bytes)?;
        let _ = (b.signing_bytes(), b.record_ids());
        Ok(b)
    }

    /// A block.
    pub fn block(bytes: &[u8]) -> Result<Block, postcard::Error> {
        let b = postcard_value::<Block>(bytes)?;
        let _ = (b.hash(), Block::records_digest(&b.records));
        Ok(b)
    }

    /// A snapshot body (the consensus store's `SnapshotBody { blocks }`, encoded as its one
    /// field).
    pub fn snapshot(bytes: &[u8]) -> Result<Vec<Block>, postcard::Error> {
        postcard_value::<Vec<Block>>(bytes)
    }

    /// `AllowanceClaim::from_bytes` (the claim inside a signed query request).
    pub fn allowance_claim(bytes: &[u8]) -> Result<AllowanceClaim, String> {
        let claim = AllowanceClaim::from_bytes(bytes)?;
        assert_eq!(
            AllowanceClaim::from_bytes(&claim.to_bytes()).as_ref(),
            Ok(&claim)
        );
        Ok(claim)
    }

    /// The decoders of the fuzz target, in the order its first byte picks them.
    pub const DECODERS: [&str; 5] = ["record", "batch", "block", "snapshot", "allowance_claim"];

    /// Fuzz entry point.
    pub fn fuzz(data: &[u8]) {
        let Some((which, rest)) = choose(data, &DECODERS) else {
            return;
        };
        match which {
            "record" => {
                let _ = record(rest);
            }
            "batch" => {
                let _ = batch(rest);
            }
            "block" => {
                let _ = block(rest);
            }
            "snapshot" => {
                let _ = snapshot(rest);
            }
            _ => {
                let _ = allowance_claim(rest);
            }
        }
    }
}

/// Consensus messages, decoded with `postcard::from_bytes` as `fengxin-node` does (`serve` for
/// requests, `QuicTransport::call` for replies).
pub mod consensus {
    use super::*;
    use fengxin_consensus::{RaftReply, RaftRpc};

    /// A consensus request from a peer.
    pub fn rpc(bytes: &[u8]) -> Result<RaftRpc, postcard::Error> {
        let rpc = postcard_opaque::<RaftRpc>(bytes)?;
        let _ = rpc.kind();
        Ok(rpc)
    }

    /// A peer's consensus reply.
    pub fn reply(bytes: &[u8]) -> Result<RaftReply, postcard::Error> {
        postcard_opaque::<RaftReply>(bytes)
    }

    /// The decoders of the fuzz target, in the order its first byte picks them.
    pub const DECODERS: [&str; 2] = ["rpc", "reply"];

    /// Fuzz entry point.
    pub fn fuzz(data: &[u8]) {
        match choose(data, &DECODERS) {
            Some(("rpc", rest)) => {
                let _ = rpc(rest);
            }
            Some((_, rest)) => {
                let _ = reply(rest);
            }
            None => {}
        }
    }
}

/// What participants sign (fengxin-signed), decoded with postcard.
pub mod signed {
    use super::*;
    use fengxin_signed::{
        Publication, QueryRequest, Receipt, SignedPublication, SignedQueryRequest,
    };

    /// A publication; its signing bytes and checked root and key are computable.
    pub fn publication(bytes: &[u8]) -> Result<Publication, postcard::Error> {
        let p = postcard_value::<Publication>(bytes)?;
        let _ = (p.signing_bytes(), p.root(), p.oprf_key());
        Ok(p)
    }

    /// A signed publication.
    pub fn signed_publication(bytes: &[u8]) -> Result<SignedPublication, postcard::Error> {
        postcard_value::<SignedPublication>(bytes)
    }

    /// A query request.
    pub fn query_request(bytes: &[u8]) -> Result<QueryRequest, postcard::Error> {
        let r = postcard_value::<QueryRequest>(bytes)?;
        let _ = (r.signing_bytes(), r.id());
        Ok(r)
    }

    /// A signed query request.
    pub fn signed_query_request(bytes: &[u8]) -> Result<SignedQueryRequest, postcard::Error> {
        let r = postcard_value::<SignedQueryRequest>(bytes)?;
        let _ = r.id();
        Ok(r)
    }

    /// A countersigned receipt.
    pub fn receipt(bytes: &[u8]) -> Result<Receipt, postcard::Error> {
        let r = postcard_value::<Receipt>(bytes)?;
        let _ = r.id();
        Ok(r)
    }

    /// The decoders of the fuzz target, in the order its first byte picks them.
    pub const DECODERS: [&str; 5] = [
        "publication",
        "signed_publication",
        "query_request",
        "signed_query_request",
        "receipt",
    ];

    /// Fuzz entry point.
    pub fn fuzz(data: &[u8]) {
        let Some((which, rest)) = choose(data, &DECODERS) else {
            return;
        };
        match which {
            "publication" => {
                let _ = publication(rest);
            }
            "signed_publication" => {
                let _ = signed_publication(rest);
            }
            "query_request" => {
                let _ = query_request(rest);
            }
            "signed_query_request" => {
                let _ = signed_query_request(rest);
            }
            _ => {
                let _ = receipt(rest);
            }
        }
    }
}

/// Groth16 membership proofs.
pub mod proofs {
    use super::*;
    use fengxin_proofs::{DecodeError, MembershipProof};

    /// `MembershipProof::from_bytes`: canonical, so a decoded proof encodes to the input.
    pub fn membership_proof(bytes: &[u8]) -> Result<MembershipProof, DecodeError> {
        exact(
            bytes,
            MembershipProof::from_bytes,
            MembershipProof::to_bytes,
        )
    }

    /// Fuzz entry point (one decoder: no choice byte).
    pub fn fuzz(data: &[u8]) {
        let _ = membership_proof(data);
    }
}

/// Commitments, handles, proofs and view keys (fengxin-confidential).
pub mod confidential {
    use super::*;
    use fengxin_confidential::{
        open_details, Commitment, CommittedCount, ConfidentialError, DecryptHandle,
        ElGamalPublicKey, HandleProof, RangeProof, SealedDetails, ViewPublicKey, ViewSecret,
    };

    /// A Pedersen commitment.
    pub fn commitment(bytes: &[u8]) -> Result<Commitment, ConfidentialError> {
        exact(bytes, Commitment::from_bytes, |c| c.to_bytes().to_vec())
    }

    /// A commitment in hex.
    pub fn commitment_hex(s: &str) -> Result<Commitment, ConfidentialError> {
        hex_round_trip(s, Commitment::from_hex, Commitment::to_hex)
    }

    /// A decrypt handle.
    pub fn decrypt_handle(bytes: &[u8]) -> Result<DecryptHandle, ConfidentialError> {
        exact(bytes, DecryptHandle::from_bytes, |h| h.to_bytes().to_vec())
    }

    /// A decrypt handle in hex.
    pub fn decrypt_handle_hex(s: &str) -> Result<DecryptHandle, ConfidentialError> {
        hex_round_trip(s, DecryptHandle::from_hex, DecryptHandle::to_hex)
    }

    /// An ElGamal public key (half of a view key).
    pub fn elgamal_key(bytes: &[u8]) -> Result<ElGamalPublicKey, ConfidentialError> {
        exact(bytes, ElGamalPublicKey::from_bytes, |k| {
            k.to_bytes().to_vec()
        })
    }

    /// A handle proof.
    pub fn handle_proof(bytes: &[u8]) -> Result<HandleProof, ConfidentialError> {
        exact(bytes, HandleProof::from_bytes, |p| p.to_bytes().to_vec())
    }

    /// A handle proof in hex.
    pub fn handle_proof_hex(s: &str) -> Result<HandleProof, ConfidentialError> {
        hex_round_trip(s, HandleProof::from_hex, HandleProof::to_hex)
    }

    /// A Bulletproofs range proof.
    pub fn range_proof(bytes: &[u8]) -> Result<RangeProof, ConfidentialError> {
        exact(bytes, RangeProof::from_bytes, RangeProof::to_bytes)
    }

    /// A range proof in hex.
    pub fn range_proof_hex(s: &str) -> Result<RangeProof, ConfidentialError> {
        hex_round_trip(s, RangeProof::from_hex, RangeProof::to_hex)
    }

    /// The regulator's view public key.
    pub fn view_key(bytes: &[u8]) -> Result<ViewPublicKey, ConfidentialError> {
        exact(bytes, ViewPublicKey::from_bytes, |k| k.to_bytes().to_vec())
    }

    /// A view public key in hex (genesis files).
    pub fn view_key_hex(s: &str) -> Result<ViewPublicKey, ConfidentialError> {
        hex_round_trip(s, ViewPublicKey::from_hex, ViewPublicKey::to_hex)
    }

    /// Sealed details (postcard, inside a details record).
    pub fn sealed_details(bytes: &[u8]) -> Result<SealedDetails, postcard::Error> {
        postcard_value::<SealedDetails>(bytes)
    }

    /// A committed count (postcard, inside list-size records).
    pub fn committed_count(bytes: &[u8]) -> Result<CommittedCount, postcard::Error> {
        postcard_value::<CommittedCount>(bytes)
    }

    /// `open_details` on whatever sealed details decode: decryption fails with the typed error
    /// (or succeeds, for a genuine sealing to `view` under `aad`).
    pub fn open(
        view: &ViewSecret,
        aad: &[u8],
        sealed: &SealedDetails,
    ) -> Result<Vec<u8>, ConfidentialError> {
        let result = open_details(view, aad, sealed);
        if let Err(e) = &result {
            assert_eq!(e, &ConfidentialError::DecryptionFailed);
        }
        result
    }

    /// The view secret the fuzz target opens details with.
    pub fn fuzz_view() -> ViewSecret {
        ViewSecret::from_seed([9; 32])
    }

    /// The associated data the fuzz target opens details with.
    pub const FUZZ_AAD: &[u8] = b"aad";

    /// The decoders of the fuzz target, in the order its first byte picks them (`_hex`: the
    /// rest of the input as text).
    pub const DECODERS: [&str; 12] = [
        "commitment",
        "commitment_hex",
        "decrypt_handle",
        "decrypt_handle_hex",
        "elgamal_key",
        "handle_proof",
        "handle_proof_hex",
        "range_proof",
        "range_proof_hex",
        "view_key",
        "view_key_hex",
        "committed_count_or_sealed_details",
    ];

    /// Fuzz entry point.
    pub fn fuzz(data: &[u8]) {
        let Some((which, rest)) = choose(data, &DECODERS) else {
            return;
        };
        let s = text(rest);
        match which {
            "commitment" => {
                let _ = commitment(rest);
            }
            "commitment_hex" => {
                let _ = commitment_hex(&s);
            }
            "decrypt_handle" => {
                let _ = decrypt_handle(rest);
            }
            "decrypt_handle_hex" => {
                let _ = decrypt_handle_hex(&s);
            }
            "elgamal_key" => {
                let _ = elgamal_key(rest);
            }
            "handle_proof" => {
                let _ = handle_proof(rest);
            }
            "handle_proof_hex" => {
                let _ = handle_proof_hex(&s);
            }
            "range_proof" => {
                let _ = range_proof(rest);
            }
            "range_proof_hex" => {
                let _ = range_proof_hex(&s);
            }
            "view_key" => {
                let _ = view_key(rest);
            }
            "view_key_hex" => {
                let _ = view_key_hex(&s);
            }
            _ => {
                let _ = committed_count(rest);
                if let Ok(sealed) = sealed_details(rest) {
                    let _ = open(&fuzz_view(), FUZZ_AAD, &sealed);
                }
            }
        }
    }
}

/// Identity and OPRF public keys (fengxin-crypto), and identity keys in peers' certificates.
pub mod crypto {
    use super::*;
    use fengxin_crypto::identity::IdentityKeyError;
    use fengxin_crypto::{IdentityPublicKey, OprfError, OprfPublicKey};
    use fengxin_net::PeerCertError;

    /// `IdentityPublicKey::from_slice`.
    pub fn identity_key(bytes: &[u8]) -> Result<IdentityPublicKey, IdentityKeyError> {
        exact(bytes, IdentityPublicKey::from_slice, |k| {
            k.to_bytes().to_vec()
        })
    }

    /// `IdentityPublicKey::from_hex`.
    pub fn identity_key_hex(s: &str) -> Result<IdentityPublicKey, IdentityKeyError> {
        hex_round_trip(s, IdentityPublicKey::from_hex, |k| k.to_string())
    }

    /// `OprfPublicKey::from_slice`.
    pub fn oprf_key(bytes: &[u8]) -> Result<OprfPublicKey, OprfError> {
        exact(bytes, OprfPublicKey::from_slice, |k| k.to_bytes().to_vec())
    }

    /// `OprfPublicKey::from_hex`.
    pub fn oprf_key_hex(s: &str) -> Result<OprfPublicKey, OprfError> {
        hex_round_trip(s, OprfPublicKey::from_hex, |k| k.to_string())
    }

    /// `fengxin_net::key_from_certificate`: the identity key in a peer's TLS certificate (DER
    /// X.509), which must be a valid identity key.
    pub fn peer_certificate(der: &[u8]) -> Result<IdentityPublicKey, PeerCertError> {
        let key = fengxin_net::key_from_certificate(der)?;
        assert_eq!(
            IdentityPublicKey::from_slice(&key.to_bytes()).as_ref(),
            Ok(&key)
        );
        Ok(key)
    }

    /// The decoders of the fuzz target, in the order its first byte picks them.
    pub const DECODERS: [&str; 5] = [
        "identity_key",
        "identity_key_hex",
        "oprf_key",
        "oprf_key_hex",
        "peer_certificate",
    ];

    /// Fuzz entry point.
    pub fn fuzz(data: &[u8]) {
        let Some((which, rest)) = choose(data, &DECODERS) else {
            return;
        };
        match which {
            "identity_key" => {
                let _ = identity_key(rest);
            }
            "identity_key_hex" => {
                let _ = identity_key_hex(&text(rest));
            }
            "oprf_key" => {
                let _ = oprf_key(rest);
            }
            "oprf_key_hex" => {
                let _ = oprf_key_hex(&text(rest));
            }
            _ => {
                let _ = peer_certificate(rest);
            }
        }
    }
}

/// Tree roots (fengxin-tree).
pub mod tree {
    use super::*;
    use fengxin_tree::{Root, RootError};

    /// `Root::from_slice`, and `Root::from_bytes` when there are 32 bytes.
    pub fn root(bytes: &[u8]) -> Result<Root, RootError> {
        let root = exact(bytes, Root::from_slice, |r| r.to_bytes().to_vec());
        if let Ok(array) = <&[u8; 32]>::try_from(bytes) {
            assert_eq!(
                Root::from_bytes(array),
                root,
                "from_bytes disagrees with from_slice"
            );
        }
        root
    }

    /// `Root::from_hex`.
    pub fn root_hex(s: &str) -> Result<Root, RootError> {
        hex_round_trip(s, Root::from_hex, |r| r.to_hex())
    }

    /// The decoders of the fuzz target, in the order its first byte picks them.
    pub const DECODERS: [&str; 2] = ["root", "root_hex"];

    /// Fuzz entry point.
    pub fn fuzz(data: &[u8]) {
        match choose(data, &DECODERS) {
            Some(("root", rest)) => {
                let _ = root(rest);
            }
            Some((_, rest)) => {
                let _ = root_hex(&text(rest));
            }
            None => {}
        }
    }
}

/// Tags, names, epochs and identifiers (fengxin-types).
pub mod types {
    use super::*;
    use fengxin_types::{
        CanonicalId, Epoch, IdError, IdType, ListId, ListIdError, MemberName, MemberNameError, Tag,
        TagError,
    };

    /// `Tag::from_slice`, and `Tag::from_bytes` when there are 31 bytes.
    pub fn tag(bytes: &[u8]) -> Result<Tag, TagError> {
        let tag = exact(bytes, Tag::from_slice, |t| t.to_bytes().to_vec());
        if let Ok(array) = <[u8; Tag::LEN]>::try_from(bytes) {
            assert_eq!(
                Tag::from_bytes(array),
                tag,
                "from_bytes disagrees with from_slice"
            );
        }
        tag
    }

    /// `Tag::from_hex`.
    pub fn tag_hex(s: &str) -> Result<Tag, TagError> {
        hex_round_trip(s, Tag::from_hex, |t| t.to_hex())
    }

    /// A tag through serde (postcard; tags serialise as hex strings).
    pub fn tag_postcard(bytes: &[u8]) -> Result<Tag, postcard::Error> {
        postcard_value::<Tag>(bytes)
    }

    /// `ListId::parse`: accepted ids are kept verbatim.
    pub fn list_id(s: &str) -> Result<ListId, ListIdError> {
        let id = ListId::parse(s)?;
        assert_eq!(id.as_str(), s);
        assert_eq!(ListId::parse(id.as_str()).as_ref(), Ok(&id));
        assert_eq!(
            postcard_value::<ListId>(&encode(&id)).ok().as_ref(),
            Some(&id)
        );
        Ok(id)
    }

    /// `MemberName::parse`: accepted names are kept verbatim.
    pub fn member_name(s: &str) -> Result<MemberName, MemberNameError> {
        let name = MemberName::parse(s)?;
        assert_eq!(name.as_str(), s);
        assert_eq!(MemberName::parse(name.as_str()).as_ref(), Ok(&name));
        assert_eq!(
            postcard_value::<MemberName>(&encode(&name)).ok().as_ref(),
            Some(&name)
        );
        Ok(name)
    }

    /// Names and list ids through serde (postcard strings, checked on the way in).
    pub fn names_postcard(bytes: &[u8]) {
        let _ = postcard_value::<ListId>(bytes);
        let _ = postcard_value::<MemberName>(bytes);
    }

    /// An epoch through serde (postcard): never zero.
    pub fn epoch_postcard(bytes: &[u8]) -> Result<Epoch, postcard::Error> {
        let epoch = postcard_value::<Epoch>(bytes)?;
        assert!(epoch.get() >= 1, "epoch {epoch} decoded");
        Ok(epoch)
    }

    /// An epoch through serde (JSON, as genesis files and the API carry it): never zero.
    pub fn epoch_json(s: &str) -> Result<Epoch, serde_json::Error> {
        let epoch = serde_json::from_str::<Epoch>(s)?;
        assert!(epoch.get() >= 1, "epoch {epoch} decoded");
        let json = serde_json::to_string(&epoch).expect("an epoch serialises");
        assert_eq!(serde_json::from_str::<Epoch>(&json).ok(), Some(epoch));
        Ok(epoch)
    }

    /// `CanonicalId::parse`: the canonical form is of the asked type and a fixed point.
    pub fn canonical_id(id_type: IdType, raw: &str) -> Result<CanonicalId, IdError> {
        let id = CanonicalId::parse(id_type, raw, fengxin_types::CivilDate::today_china())?;
        assert_eq!(id.id_type(), id_type);
        assert_eq!(
            CanonicalId::parse(
                id_type,
                id.as_str(),
                fengxin_types::CivilDate::today_china()
            )
            .as_ref(),
            Ok(&id),
            "the canonical form of {raw:?} is not a fixed point"
        );
        Ok(id)
    }

    /// `IdType::from_str`: only the stable names.
    pub fn id_type(s: &str) -> Option<IdType> {
        let t = s.parse::<IdType>().ok()?;
        assert_eq!(t.as_str(), s);
        Some(t)
    }

    /// The decoders of the fuzz target, in the order its first byte picks them (names, ids,
    /// hex and JSON: the rest of the input as text).
    pub const DECODERS: [&str; 9] = [
        "tag",
        "tag_hex",
        "tag_postcard",
        "list_id",
        "member_name",
        "names_postcard",
        "epoch_postcard",
        "epoch_json",
        "canonical_id",
    ];

    /// Fuzz entry point.
    pub fn fuzz(data: &[u8]) {
        let Some((which, rest)) = choose(data, &DECODERS) else {
            return;
        };
        let s = text(rest);
        match which {
            "tag" => {
                let _ = tag(rest);
            }
            "tag_hex" => {
                let _ = tag_hex(&s);
            }
            "tag_postcard" => {
                let _ = tag_postcard(rest);
            }
            "list_id" => {
                let _ = list_id(&s);
            }
            "member_name" => {
                let _ = member_name(&s);
            }
            "names_postcard" => names_postcard(rest),
            "epoch_postcard" => {
                let _ = epoch_postcard(rest);
            }
            "epoch_json" => {
                let _ = epoch_json(&s);
            }
            _ => {
                let _ = id_type(&s);
                for t in IdType::ALL {
                    let _ = canonical_id(t, &s);
                }
            }
        }
    }
}
