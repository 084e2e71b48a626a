//! Root attestation (docs/cryptography.md, "Root attestation"): what a publishing member seals
//! to the regulator, and how the regulator judges a published root.
//!
//! The membership circuit proves that a leaf is in the tree under the published root; it cannot
//! prove that the tree is a sorted linked list, nor that the committed size counts its leaves. A
//! member that published a root over a malformed tree could answer hit or miss at will, and one
//! that committed a size larger than its list would raise its own allowance. So the publisher
//! seals its tree's leaf layout (every occupied slot with its leaf) to the regulator's view key,
//! bound to the chain and the publication, and the regulator:
//!
//! 1. checks the layout ([`fengxin_tree::check_layout`]): the sentinel in slot 0, unique
//!    values, every leaf linked to the next larger value, unique slots in range;
//! 2. recomputes the root over exactly those slots and compares it with the published root;
//! 3. compares the number of real leaves (leaves minus the sentinel) with the size committed for
//!    that publication, decrypted with the view key;
//!
//! and writes an attestation record: attested, or refuted with the first reason that failed.
//! The layout holds tags, never identifiers; the regulator keeps it sealed or in its own
//! database.

use fengxin_confidential::{SealedDetails, ViewPublicKey, ViewSecret};
use fengxin_ledger::{AttestationOutcome, LedgerState, RootAttestation};
use fengxin_tree::{check_layout, Leaf, Root};
use fengxin_types::{Epoch, ListId, MemberName, Tag};
use serde::{Deserialize, Serialize};

/// The encoding version of [`LayoutPackage`].
pub const LAYOUT_VERSION: u8 = 2;

/// Label of the associated data a layout is sealed under (distinct from a receipt's details,
/// whose associated data is a bare 32-byte receipt id).
const LAYOUT_AAD: &[u8] = b"fengxin/attestation-layout/v1";

/// Which publication a layout is for: what it is sealed under.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayoutHeader {
    /// The chain (genesis hash).
    pub chain: [u8; 32],
    /// The publishing member.
    pub member: MemberName,
    /// The list.
    pub list: ListId,
    /// The publication epoch.
    pub epoch: Epoch,
    /// The published root.
    pub root: [u8; 32],
}

impl LayoutHeader {
    fn aad(&self) -> Vec<u8> {
        fengxin_protocol::canon::Canon::new(LAYOUT_AAD)
            .fixed(&self.chain)
            .name(self.member.as_str())
            .name(self.list.as_str())
            .u64(self.epoch.get())
            .fixed(&self.root)
            .finish()
    }
}

/// A publication's tree, slot by slot, as the publisher seals it to the regulator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayoutPackage {
    /// [`LAYOUT_VERSION`].
    pub version: u8,
    /// The publication it is for.
    pub header: LayoutHeader,
    /// Every occupied slot and its leaf ([`Leaf::to_bytes`]).
    pub leaves: Vec<(u64, Vec<u8>)>,
    /// The (list, epoch) padding secret: the regulator recomputes the dummy tags from it and
    /// counts only the other leaves as entries.
    pub padding_secret: [u8; 32],
}

/// Why a layout could not be sealed, opened or judged.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AttestError {
    /// Sealing or opening failed (wrong key, another publication's layout, tampering).
    #[error("sealed layout: {0}")]
    Seal(String),
    /// The package does not decode, or is of another version.
    #[error("layout package: {0}")]
    Encoding(String),
    /// The ledger holds no such publication, or no size commitment for it.
    #[error("{0}")]
    NotOnLedger(String),
}

impl LayoutPackage {
    /// The package of a tree's layout (`IndexedMerkleTree::layout`, or the list database's
    /// `Store::layout`) for the publication `header`.
    pub fn new(header: LayoutHeader, leaves: &[(u64, Leaf)], padding_secret: [u8; 32]) -> Self {
        Self {
            version: LAYOUT_VERSION,
            header,
            padding_secret,
            leaves: leaves
                .iter()
                .map(|(slot, leaf)| (*slot, leaf.to_bytes().to_vec()))
                .collect(),
        }
    }

    /// Seals the package to the regulator's view key, bound to its header.
    pub fn seal(&self, view: &ViewPublicKey) -> Result<SealedDetails, AttestError> {
        let plain =
            postcard::to_allocvec(self).map_err(|e| AttestError::Encoding(e.to_string()))?;
        fengxin_confidential::seal_details(view, &self.header.aad(), &plain, &mut rand_core::OsRng)
            .map_err(|e| AttestError::Seal(e.to_string()))
    }

    /// Opens a sealed package that claims to be for `header`: it must have been sealed for
    /// exactly that publication and say so inside.
    pub fn open(
        view: &ViewSecret,
        header: &LayoutHeader,
        sealed: &SealedDetails,
    ) -> Result<Self, AttestError> {
        let plain = fengxin_confidential::open_details(view, &header.aad(), sealed)
            .map_err(|e| AttestError::Seal(e.to_string()))?;
        let package: Self =
            postcard::from_bytes(&plain).map_err(|e| AttestError::Encoding(e.to_string()))?;
        if package.version != LAYOUT_VERSION {
            return Err(AttestError::Encoding(format!(
                "version {}, expected {LAYOUT_VERSION}",
                package.version
            )));
        }
        if &package.header != header {
            return Err(AttestError::Seal(
                "the package names another publication than it was sealed for".into(),
            ));
        }
        Ok(package)
    }
}

/// The regulator's finding on a layout: attested, or refuted with the first reason.
///
/// After the layout's shape and root, the dummies: the leaves holding the first dummy tags of
/// the package's padding secret (indices 0, 1, ... while present) are the padding, and every
/// other leaf is an entry. The entries must number the committed size, and entries and
/// dummies together its size class, as an honest publisher pads.
pub fn judge(
    package: &LayoutPackage,
    published_root: &[u8; 32],
    committed_size: u64,
) -> (AttestationOutcome, String) {
    let refuted = |why: String| (AttestationOutcome::Refuted, why);
    let mut layout = Vec::with_capacity(package.leaves.len());
    for (slot, bytes) in &package.leaves {
        match <&[u8; Leaf::LEN]>::try_from(bytes.as_slice()) {
            Ok(b) => layout.push((*slot, Leaf::from_bytes(b))),
            Err(_) => {
                return refuted(format!(
                    "slot {slot}: a leaf of {} bytes, expected {}",
                    bytes.len(),
                    Leaf::LEN
                ))
            }
        }
    }
    let (root, leaves) = match check_layout(&layout) {
        Ok(r) => r,
        Err(e) => return refuted(format!("the tree is not a sorted linked list: {e}")),
    };
    match Root::from_bytes(published_root) {
        Ok(published) if published == root => {}
        _ => {
            return refuted(format!(
                "the published root {} is not the root of the sealed tree ({root})",
                hex::encode(published_root)
            ))
        }
    }
    let mut tags: Vec<Tag> = layout
        .iter()
        .filter_map(|(_, l)| l.value.to_tag())
        .collect();
    tags.sort_unstable();
    let dummies = leading_dummies(package, &tags);
    let real = leaves - dummies;
    if real != committed_size {
        return refuted(format!(
            "the committed size {committed_size} does not count the tree's {real} entries \
             ({dummies} dummies besides)"
        ));
    }
    match fengxin_snapshot::size_class(real) {
        Some(class) if class == leaves => {}
        class => {
            return refuted(format!(
                "the tree holds {leaves} leaves, not the size class {} of its {real} entries",
                class.map_or("(none)".to_owned(), |c| c.to_string())
            ))
        }
    }
    (AttestationOutcome::Attested, String::new())
}

/// How many of the package's dummy tags, from the first, are among `sorted` (the layout's
/// tags in increasing order): the padding an honest publisher added.
fn leading_dummies(package: &LayoutPackage, sorted: &[Tag]) -> u64 {
    let h = &package.header;
    let padding = fengxin_snapshot::PaddingSecret::from_bytes(package.padding_secret);
    let mut dummies = 0u64;
    while dummies < sorted.len() as u64 {
        let tag = fengxin_snapshot::dummy_tag(&padding, &h.list, h.epoch, dummies);
        if sorted.binary_search(&tag).is_err() {
            break;
        }
        dummies += 1;
    }
    dummies
}

/// The layout's entry tags: every leaf's tag but the sentinel's and the padding's, in
/// increasing order (what a regulator samples for openings).
pub fn entry_tags(package: &LayoutPackage) -> Vec<Tag> {
    let mut tags: Vec<Tag> = package
        .leaves
        .iter()
        .filter_map(|(_, bytes)| {
            let b: &[u8; Leaf::LEN] = bytes.as_slice().try_into().ok()?;
            Leaf::from_bytes(b).value.to_tag()
        })
        .collect();
    tags.sort_unstable();
    let h = &package.header;
    let padding = fengxin_snapshot::PaddingSecret::from_bytes(package.padding_secret);
    let dummies: std::collections::BTreeSet<Tag> = (0..leading_dummies(package, &tags))
        .map(|i| fengxin_snapshot::dummy_tag(&padding, &h.list, h.epoch, i))
        .collect();
    tags.retain(|t| !dummies.contains(t));
    tags
}

/// What judging a publication's layout needs from the ledger: its size commitment and the
/// consortium's cap. Taken under the ledger's lock in a moment; the judgment itself (seconds
/// for a large list) runs without it.
#[derive(Debug, Clone)]
pub struct OnLedger {
    size: fengxin_confidential::CommittedCount,
    cap: u64,
}

/// Looks up the publication `header` names and its size commitment, or
/// [`AttestError::NotOnLedger`] while either is not on the ledger yet (judge again later).
pub fn on_ledger(state: &LedgerState, header: &LayoutHeader) -> Result<OnLedger, AttestError> {
    let h = header;
    let published = state
        .publication(&h.member, &h.list, h.epoch)
        .ok_or_else(|| {
            AttestError::NotOnLedger(format!(
                "{} published no {} epoch {}",
                h.member, h.list, h.epoch
            ))
        })?;
    if published.publication.root != h.root {
        return Err(AttestError::NotOnLedger(format!(
            "{} {} epoch {}: the layout is for another root than the published one",
            h.member, h.list, h.epoch
        )));
    }
    let size = state.size_at(&h.member, &h.list, h.epoch).ok_or_else(|| {
        AttestError::NotOnLedger(format!(
            "{} {} epoch {}: no size commitment on the ledger",
            h.member, h.list, h.epoch
        ))
    })?;
    Ok(OnLedger {
        size: size.size.clone(),
        cap: state.params().max_list_entries,
    })
}

/// Judges a sealed layout for the publication `header` against what the ledger holds of it:
/// its root and the size committed for it (decrypted with `view`), within the consortium's cap
/// on a list's entries. Returns the attestation record's body for the regulator to sign. A
/// layout that does not decode or open is the publisher's fault: the root is refuted.
pub fn attest(
    on: &OnLedger,
    view: &ViewSecret,
    header: &LayoutHeader,
    sealed: &[u8],
) -> RootAttestation {
    let (h, cap) = (header, on.cap);
    let opened = open_sealed(view, h, sealed);
    let (outcome, reason) = match (opened, on.size.decrypt(view)) {
        (Err(e), _) => (
            AttestationOutcome::Refuted,
            format!("the sealed layout cannot be read: {e}"),
        ),
        (_, Err(e)) => (
            AttestationOutcome::Refuted,
            format!("the committed size does not decrypt: {e}"),
        ),
        (Ok(_), Ok(n)) if n > cap => (
            AttestationOutcome::Refuted,
            format!("the committed size {n} is over the consortium's cap of {cap} entries a list"),
        ),
        (Ok(package), Ok(n)) => judge(&package, &h.root, n),
    };
    RootAttestation {
        member: h.member.clone(),
        list: h.list.clone(),
        epoch: h.epoch,
        root: h.root,
        size_commitment: on.size.commitment.to_bytes(),
        outcome,
        reason,
    }
}

/// The sealed layout of `leaves` for the publication `header`, encoded for the wire
/// ([`fengxin_protocol::LayoutPiece`]s carry it in pieces).
pub fn seal_layout(
    view: &ViewPublicKey,
    header: LayoutHeader,
    leaves: &[(u64, Leaf)],
    padding_secret: [u8; 32],
) -> Result<Vec<u8>, AttestError> {
    let sealed = LayoutPackage::new(header, leaves, padding_secret).seal(view)?;
    postcard::to_allocvec(&sealed).map_err(|e| AttestError::Encoding(e.to_string()))
}

/// Decodes and opens what [`seal_layout`] made, for the publication `header`.
pub fn open_sealed(
    view: &ViewSecret,
    header: &LayoutHeader,
    sealed: &[u8],
) -> Result<LayoutPackage, AttestError> {
    let sealed = postcard::from_bytes::<SealedDetails>(sealed)
        .map_err(|e| AttestError::Encoding(e.to_string()))?;
    LayoutPackage::open(view, header, &sealed)
}

/// Whether the regulator attested (member, list, epoch)'s published root, refuted it, or has
/// not judged it yet.
pub fn root_status(
    state: &fengxin_ledger::LedgerState,
    member: &fengxin_types::MemberName,
    list: &fengxin_types::ListId,
    epoch: fengxin_types::Epoch,
) -> fengxin_api::RootStatus {
    use fengxin_api::RootStatus;
    use fengxin_ledger::AttestationOutcome;
    match state
        .attestation(member, list, epoch)
        .map(fengxin_ledger::AttestationState::outcome)
    {
        Some(AttestationOutcome::Attested) => RootStatus::Attested,
        Some(AttestationOutcome::Refuted) => RootStatus::Refuted,
        None => RootStatus::Pending,
    }
}

/// How many current publications on the ledger have an attested root.
pub fn attested_count(state: &LedgerState) -> usize {
    state
        .current_publications()
        .into_iter()
        .filter(|p| {
            let p = &p.publication;
            root_status(state, &p.member, &p.list, p.epoch) == fengxin_api::RootStatus::Attested
        })
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use fengxin_tree::{IndexedMerkleTree, MemoryStore};

    fn tag(n: u8) -> Tag {
        let mut b = [0u8; Tag::LEN];
        b[0] = n;
        b[Tag::LEN - 1] = 1;
        Tag::from_bytes(b).expect("tag")
    }

    fn header(root: [u8; 32]) -> LayoutHeader {
        LayoutHeader {
            chain: [7; 32],
            member: MemberName::parse("bank-b").expect("name"),
            list: ListId::parse("fraud_txn").expect("list"),
            epoch: Epoch::FIRST,
            root,
        }
    }

    const PADDING: [u8; 32] = [5; 32];

    /// A tree over `n` real tags, padded as a member pads it when `pad`.
    fn tree(n: u8, pad: bool) -> IndexedMerkleTree<MemoryStore> {
        let h = header([0; 32]);
        let mut tags: Vec<Tag> = (1..=n).map(tag).collect();
        if pad {
            let class = fengxin_snapshot::size_class(u64::from(n)).expect("class");
            let secret = fengxin_snapshot::PaddingSecret::from_bytes(PADDING);
            tags.extend(fengxin_snapshot::dummy_tags(
                &secret,
                &h.list,
                h.epoch,
                class - u64::from(n),
            ));
        }
        IndexedMerkleTree::build(MemoryStore::new(), tags).expect("build")
    }

    fn package(t: &IndexedMerkleTree<MemoryStore>) -> LayoutPackage {
        let root = t.root().to_bytes();
        LayoutPackage::new(header(root), &t.layout().expect("layout"), PADDING)
    }

    #[test]
    fn an_honest_tree_is_attested_and_every_lie_is_refuted_with_its_reason() {
        let t = tree(10, true);
        let root = t.root().to_bytes();
        let p = package(&t);
        assert_eq!(
            judge(&p, &root, 10),
            (AttestationOutcome::Attested, String::new())
        );
        // Sampling draws from the entries, never the padding.
        assert_eq!(entry_tags(&p), (1..=10).map(tag).collect::<Vec<_>>());
        // A size larger than the list (or counting dummies as entries): refuted, and the
        // allowance it would raise counts nothing.
        for inflated in [11, 1024, 4_294_967_295] {
            let (outcome, why) = judge(&p, &root, inflated);
            assert_eq!(outcome, AttestationOutcome::Refuted);
            assert!(
                why.contains("does not count the tree's 10 entries (1014 dummies besides)"),
                "{why}"
            );
        }
        // Another padding secret than the tree's: its dummies count as entries.
        let mut other = p.clone();
        other.padding_secret = [6; 32];
        let (outcome, why) = judge(&other, &root, 10);
        assert_eq!(outcome, AttestationOutcome::Refuted);
        assert!(why.contains("1024 entries"), "{why}");
        // A tree not padded to its class.
        let bare = tree(10, false);
        let (outcome, why) = judge(&package(&bare), &bare.root().to_bytes(), 10);
        assert_eq!(outcome, AttestationOutcome::Refuted);
        assert!(why.contains("not the size class 1024"), "{why}");
        // A root over other leaves than the sealed ones.
        let (outcome, why) = judge(&p, &tree(11, true).root().to_bytes(), 10);
        assert_eq!(outcome, AttestationOutcome::Refuted);
        assert!(why.contains("is not the root of the sealed tree"), "{why}");
        // A tree whose leaves are not a sorted linked list (two values swapped).
        let mut unsorted = p.clone();
        let (a, b) = (unsorted.leaves[2].1.clone(), unsorted.leaves[6].1.clone());
        let leaf = |v: &Vec<u8>| Leaf::from_bytes(v.as_slice().try_into().expect("62 bytes"));
        let (la, lb) = (leaf(&a), leaf(&b));
        unsorted.leaves[2].1 = Leaf {
            value: lb.value,
            next_value: la.next_value,
        }
        .to_bytes()
        .to_vec();
        unsorted.leaves[6].1 = Leaf {
            value: la.value,
            next_value: lb.next_value,
        }
        .to_bytes()
        .to_vec();
        let (outcome, why) = judge(&unsorted, &root, 10);
        assert_eq!(outcome, AttestationOutcome::Refuted);
        assert!(why.contains("not a sorted linked list"), "{why}");
        // A leaf that does not decode.
        let mut garbled = p.clone();
        garbled.leaves[1].1.truncate(5);
        assert_eq!(judge(&garbled, &root, 10).0, AttestationOutcome::Refuted);
    }

    #[test]
    fn a_sealed_layout_opens_only_for_its_publication_and_key() {
        let t = tree(5, false);
        let root = t.root().to_bytes();
        let view = ViewSecret::from_seed([3; 32]);
        let p = package(&t);
        let sealed = p.seal(&view.public()).expect("seal");
        assert_eq!(
            LayoutPackage::open(&view, &header(root), &sealed).expect("open"),
            p
        );
        // Another publication, another key, a flipped byte: refused.
        let mut other = header(root);
        other.epoch = Epoch::FIRST.next().expect("epoch");
        assert!(LayoutPackage::open(&view, &other, &sealed).is_err());
        let stranger = ViewSecret::from_seed([4; 32]);
        assert!(LayoutPackage::open(&stranger, &header(root), &sealed).is_err());
        let mut bent = sealed.clone();
        bent.ciphertext[3] ^= 1;
        assert!(LayoutPackage::open(&view, &header(root), &bent).is_err());
        // The plaintext holds tags and slots, nothing else: no identifier can be in it.
        assert!(!sealed.ciphertext.is_empty());
    }
}
