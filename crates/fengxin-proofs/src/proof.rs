//! Typed public inputs and witnesses, and the proof encoding.

use ark_bn254::{Bn254, Fr};
use ark_groth16::Proof;
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize, Compress, Validate};
use fengxin_circuits::{MembershipPrivate, MembershipPublic};
use fengxin_tree::{tag_to_field, LeafWitness, Lookup, Root};
use fengxin_types::Tag;

use crate::error::DecodeError;

/// The public statement of a membership proof: "`tag` is (`result = true`) / is not
/// (`result = false`) in the tree with root `root`".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PublicInputs {
    /// The responder's published root.
    pub root: Root,
    /// The queried tag.
    pub tag: Tag,
    /// The answer: hit (`true`) or miss (`false`).
    pub result: bool,
}

impl PublicInputs {
    /// The statement a tree lookup supports.
    pub fn from_lookup(root: Root, tag: Tag, lookup: &Lookup) -> Self {
        Self {
            root,
            tag,
            result: lookup.is_member(),
        }
    }

    /// The field elements the verifier checks, in circuit order.
    pub fn to_field_elements(&self) -> [Fr; 3] {
        self.to_circuit().to_field_elements()
    }

    pub(crate) fn to_circuit(self) -> MembershipPublic {
        MembershipPublic {
            root: self.root.to_field(),
            tag: tag_to_field(self.tag),
            result: self.result,
        }
    }
}

/// The private witness: a leaf of the tree and its authentication path (from
/// [`fengxin_tree::IndexedMerkleTree::lookup`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrivateWitness(pub(crate) MembershipPrivate);

impl TryFrom<&LeafWitness> for PrivateWitness {
    type Error = crate::error::ProveError;
    fn try_from(w: &LeafWitness) -> Result<Self, Self::Error> {
        MembershipPrivate::try_from(w)
            .map(Self)
            .map_err(|_| crate::error::ProveError::BadWitness)
    }
}

impl PrivateWitness {
    /// Wraps a circuit-level witness (tests and tools that build statements by hand).
    pub fn from_circuit(w: MembershipPrivate) -> Self {
        Self(w)
    }
}

/// A Groth16 membership proof.
///
/// Encoding ([`MembershipProof::to_bytes`]): one version byte ([`MembershipProof::VERSION`])
/// followed by the compressed points A (G1, 32 bytes), B (G2, 64 bytes), C (G1, 32 bytes):
/// [`MembershipProof::LEN`] = 129 bytes. Decoding checks that the points are on the curve and in
/// the prime-order subgroups, and accepts only the canonical encoding.
#[derive(Clone, Debug, PartialEq)]
pub struct MembershipProof(pub(crate) Proof<Bn254>);

impl MembershipProof {
    /// Encoding version.
    pub const VERSION: u8 = 1;
    /// Encoded length.
    pub const LEN: usize = 1 + 32 + 64 + 32;

    /// The versioned, compressed encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(Self::LEN);
        out.push(Self::VERSION);
        self.0
            .serialize_compressed(&mut out)
            .expect("invariant: writing to a Vec cannot fail");
        debug_assert_eq!(out.len(), Self::LEN);
        out
    }

    /// Decodes [`MembershipProof::to_bytes`]'s encoding. Never panics on any input.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        if bytes.len() != Self::LEN {
            return Err(DecodeError::Length {
                expected: Self::LEN,
                got: bytes.len(),
            });
        }
        if bytes[0] != Self::VERSION {
            return Err(DecodeError::Version(bytes[0]));
        }
        let mut rest = &bytes[1..];
        let proof = Proof::<Bn254>::deserialize_with_mode(&mut rest, Compress::Yes, Validate::Yes)
            .map_err(|_| DecodeError::Points)?;
        let proof = Self(proof);
        // One encoding per proof: reject anything that does not re-encode to the same bytes
        // (for example flag bits the point decoder ignores).
        if proof.to_bytes() != bytes {
            return Err(DecodeError::NonCanonical);
        }
        Ok(proof)
    }
}
