//! Entry labels: what a list says about an entry (a short reason code and the day it was
//! added), sealed so that only someone who knows the entry's OPRF output can read it.
//!
//! A label is [`LABEL_LEN`] bytes: a random 96-bit nonce, then ChaCha20-Poly1305 over a
//! 16-byte plaintext (the reason code, at most [`REASON_LEN`] bytes of UTF-8, zero-padded; the
//! day added as the big-endian number YYYYMMDD, 0 for none), with the entry's tag as associated
//! data. The key is a hash of the entry's OPRF output under its own label
//! ([`crate::oprf::OprfOutput::label_key`]), independent of the tag: the public tag says nothing
//! about the key, and a querier can open the label of an identifier it had evaluated, which on
//! a hit is the entry's. Each sealing draws a fresh nonce.

use crate::labels;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use fengxin_types::Tag;
use rand_core::{CryptoRng, RngCore};

/// Bytes of a sealed label.
pub const LABEL_LEN: usize = NONCE_LEN + PLAIN_LEN + 16;

/// Most bytes of a reason code in a label.
pub const REASON_LEN: usize = 28;

const NONCE_LEN: usize = 12;
const PLAIN_LEN: usize = REASON_LEN + 4;

/// The key of one entry's label.
#[derive(Clone, PartialEq, Eq)]
pub struct LabelKey([u8; 32]);

impl std::fmt::Debug for LabelKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LabelKey(..)")
    }
}

impl LabelKey {
    /// The key of these bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }
}

/// What a label says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    /// The reason code (at most [`REASON_LEN`] bytes; empty if the list gave none).
    pub reason: String,
    /// The day the entry was added, `YYYY-MM-DD`.
    pub added_on: Option<String>,
}

/// Why a label could not be sealed or opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LabelError {
    /// The day added is not `YYYY-MM-DD`.
    #[error("the day added is not YYYY-MM-DD")]
    Date,
    /// The label does not open under this key for this tag (another entry's, a dummy's, or
    /// tampered with).
    #[error("the label does not open for this entry")]
    Open,
}

impl Label {
    /// The label of an entry with this reason (cut to at most [`REASON_LEN`] bytes at a
    /// character boundary) and day added.
    pub fn new(reason: Option<&str>, added_on: Option<&str>) -> Self {
        let reason = reason.unwrap_or("");
        let mut end = reason.len().min(REASON_LEN);
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        Self {
            reason: reason[..end].to_owned(),
            added_on: added_on.map(str::to_owned),
        }
    }

    fn encode(&self) -> Result<[u8; PLAIN_LEN], LabelError> {
        let mut out = [0u8; PLAIN_LEN];
        let reason = self.reason.as_bytes();
        if reason.len() > REASON_LEN || reason.contains(&0) {
            return Err(LabelError::Open);
        }
        out[..reason.len()].copy_from_slice(reason);
        let day = match &self.added_on {
            None => 0,
            Some(d) => date_number(d).ok_or(LabelError::Date)?,
        };
        out[REASON_LEN..].copy_from_slice(&day.to_be_bytes());
        Ok(out)
    }

    fn decode(plain: &[u8]) -> Result<Self, LabelError> {
        let reason = &plain[..REASON_LEN];
        let end = reason.iter().position(|&b| b == 0).unwrap_or(REASON_LEN);
        let reason = std::str::from_utf8(&reason[..end]).map_err(|_| LabelError::Open)?;
        let mut day = [0u8; 4];
        day.copy_from_slice(&plain[REASON_LEN..PLAIN_LEN]);
        let day = u32::from_be_bytes(day);
        let added_on = (day != 0).then(|| {
            format!(
                "{:04}-{:02}-{:02}",
                day / 10_000,
                day / 100 % 100,
                day % 100
            )
        });
        Ok(Self {
            reason: reason.to_owned(),
            added_on,
        })
    }
}

fn date_number(d: &str) -> Option<u32> {
    let b = d.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let digits = |s: &str| {
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse::<u32>().ok())?
    };
    let (y, m, day) = (digits(&d[..4])?, digits(&d[5..7])?, digits(&d[8..])?);
    (y > 0 && (1..=12).contains(&m) && (1..=31).contains(&day))
        .then_some(y * 10_000 + m * 100 + day)
}

fn aad(tag: &Tag) -> Vec<u8> {
    let mut aad = Vec::with_capacity(labels::LABEL_AEAD.len() + Tag::LEN);
    aad.extend_from_slice(labels::LABEL_AEAD);
    aad.extend_from_slice(tag.as_bytes());
    aad
}

/// Seals `label` for the entry `tag` under `key`, with a fresh nonce from `rng`.
pub fn seal<R: RngCore + CryptoRng>(
    key: &LabelKey,
    tag: &Tag,
    label: &Label,
    rng: &mut R,
) -> Result<[u8; LABEL_LEN], LabelError> {
    let plain = label.encode()?;
    let mut nonce = [0u8; NONCE_LEN];
    rng.fill_bytes(&mut nonce);
    let cipher = ChaCha20Poly1305::new(&Key::from(key.0));
    let aad = aad(tag);
    let sealed = cipher
        .encrypt(
            &Nonce::from(nonce),
            Payload {
                msg: &plain,
                aad: &aad,
            },
        )
        .map_err(|_| LabelError::Open)?;
    let mut out = [0u8; LABEL_LEN];
    out[..NONCE_LEN].copy_from_slice(&nonce);
    out[NONCE_LEN..].copy_from_slice(&sealed);
    Ok(out)
}

/// Opens the label of the entry `tag` under `key`.
pub fn open(key: &LabelKey, tag: &Tag, sealed: &[u8; LABEL_LEN]) -> Result<Label, LabelError> {
    let cipher = ChaCha20Poly1305::new(&Key::from(key.0));
    let aad = aad(tag);
    let mut nonce = [0u8; NONCE_LEN];
    nonce.copy_from_slice(&sealed[..NONCE_LEN]);
    let plain = cipher
        .decrypt(
            &Nonce::from(nonce),
            Payload {
                msg: &sealed[NONCE_LEN..],
                aad: &aad,
            },
        )
        .map_err(|_| LabelError::Open)?;
    Label::decode(&plain)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;

    fn tag(b: u8) -> Tag {
        Tag::from_bytes([b; Tag::LEN]).expect("tag")
    }

    #[test]
    fn a_label_opens_for_its_entry_only_and_every_tampering_is_refused() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
        let key = LabelKey::from_bytes([3; 32]);
        let label = Label::new(Some("mule"), Some("2026-11-30"));
        let sealed = seal(&key, &tag(1), &label, &mut rng).expect("seal");
        assert_eq!(open(&key, &tag(1), &sealed), Ok(label.clone()));
        // Another entry's tag, another key, any flipped bit: refused.
        assert_eq!(open(&key, &tag(2), &sealed), Err(LabelError::Open));
        let other = LabelKey::from_bytes([4; 32]);
        assert_eq!(open(&other, &tag(1), &sealed), Err(LabelError::Open));
        for i in 0..LABEL_LEN {
            let mut bad = sealed;
            bad[i] ^= 1;
            assert_eq!(open(&key, &tag(1), &bad), Err(LabelError::Open), "byte {i}");
        }
        // A fresh nonce each time: the same label never seals to the same bytes.
        let again = seal(&key, &tag(1), &label, &mut rng).expect("seal");
        assert_ne!(again, sealed);
        assert_eq!(open(&key, &tag(1), &again), Ok(label));
    }

    #[test]
    fn reasons_are_cut_at_a_character_boundary_and_dates_checked() {
        let l = Label::new(Some("高风险账户-电信网络诈骗-跨境"), None);
        assert!(l.reason.len() <= REASON_LEN);
        assert_eq!(l.reason, "高风险账户-电信网络");
        let key = LabelKey::from_bytes([9; 32]);
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        let sealed = seal(&key, &tag(5), &l, &mut rng).expect("seal");
        assert_eq!(open(&key, &tag(5), &sealed), Ok(l));
        let empty = Label::new(None, None);
        let sealed = seal(&key, &tag(5), &empty, &mut rng).expect("seal");
        assert_eq!(open(&key, &tag(5), &sealed), Ok(empty));
        for bad in ["2026-13-01", "2026-1-01", "20261101xx", "abcd-ef-gh"] {
            let l = Label::new(Some("x"), Some(bad));
            assert_eq!(
                seal(&key, &tag(5), &l, &mut rng),
                Err(LabelError::Date),
                "{bad}"
            );
        }
    }
}
