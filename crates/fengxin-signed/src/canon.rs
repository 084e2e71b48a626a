//! The canonical byte layout of everything Fengxin signs (docs/records-v2.md gives each one).
//!
//! A signed message is a domain-separation label followed by its fields in a fixed order:
//! integers big-endian and fixed-width, digests and keys as their raw 32 bytes, names and list
//! ids as one length byte and their UTF-8 bytes (names are at most 64 bytes, list ids 32),
//! variable byte strings as a 4-byte big-endian length and the bytes. Nothing is optional and
//! nothing depends on a serialisation library, so another implementation can rebuild the bytes
//! in a few lines.

/// Builds the bytes of one signed message.
#[derive(Debug, Clone)]
pub struct Canon(Vec<u8>);

impl Canon {
    /// Starts with the message's label.
    pub fn new(label: &[u8]) -> Self {
        let mut out = Vec::with_capacity(256);
        out.extend_from_slice(label);
        Self(out)
    }

    /// One byte.
    pub fn u8(mut self, v: u8) -> Self {
        self.0.push(v);
        self
    }

    /// Four bytes, big-endian.
    pub fn u32(mut self, v: u32) -> Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }

    /// Eight bytes, big-endian.
    pub fn u64(mut self, v: u64) -> Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }

    /// Fixed-width bytes (digests, keys, nonces), as they are.
    pub fn fixed(mut self, v: &[u8]) -> Self {
        self.0.extend_from_slice(v);
        self
    }

    /// A short string: one length byte and the UTF-8 bytes. Callers pass names and list ids,
    /// whose types bound them to 64 bytes; a longer string is cut at 255 bytes, which no
    /// parsed name reaches.
    pub fn name(mut self, s: &str) -> Self {
        let bytes = s.as_bytes();
        let n = bytes.len().min(255);
        self.0.push(u8::try_from(n).unwrap_or(u8::MAX));
        self.0.extend_from_slice(&bytes[..n]);
        self
    }

    /// A variable byte string: a 4-byte big-endian length and the bytes.
    pub fn blob(mut self, v: &[u8]) -> Self {
        self.0
            .extend_from_slice(&u32::try_from(v.len()).unwrap_or(u32::MAX).to_be_bytes());
        self.0.extend_from_slice(v);
        self
    }

    /// The finished bytes.
    pub fn finish(self) -> Vec<u8> {
        self.0
    }

    /// SHA-256 of the finished bytes.
    pub fn digest(self) -> [u8; 32] {
        use sha2::Digest as _;
        sha2::Sha256::digest(&self.0).into()
    }
}
