//! List epochs.

use std::fmt;

/// A list epoch. Each (member, list, epoch) has its own OPRF key and committed tree; epochs
/// start at [`Epoch::FIRST`] and only move forward.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "u64", into = "u64")]
pub struct Epoch(u64);

/// Epoch 0 does not exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("epochs start at 1")]
pub struct ZeroEpoch;

impl Epoch {
    /// The first epoch of every list.
    pub const FIRST: Epoch = Epoch(1);

    /// Checks an epoch number (must be ≥ 1).
    pub fn new(n: u64) -> Result<Self, ZeroEpoch> {
        if n == 0 {
            Err(ZeroEpoch)
        } else {
            Ok(Self(n))
        }
    }

    /// The epoch number.
    pub fn get(self) -> u64 {
        self.0
    }

    /// The next epoch, or `None` on overflow.
    pub fn next(self) -> Option<Self> {
        self.0.checked_add(1).map(Self)
    }
}

impl TryFrom<u64> for Epoch {
    type Error = ZeroEpoch;
    fn try_from(n: u64) -> Result<Self, Self::Error> {
        Self::new(n)
    }
}

impl From<Epoch> for u64 {
    fn from(e: Epoch) -> u64 {
        e.0
    }
}

impl fmt::Display for Epoch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_is_rejected() {
        assert_eq!(Epoch::new(0), Err(ZeroEpoch));
        assert_eq!(Epoch::new(1), Ok(Epoch::FIRST));
        assert_eq!(Epoch::FIRST.next().map(Epoch::get), Some(2));
        assert_eq!(Epoch(u64::MAX).next(), None);
    }
}
