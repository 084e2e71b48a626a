//! List (category) identifiers.

use std::fmt;
use std::str::FromStr;

/// Why a string is not a valid list id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ListIdError {
    /// Empty, or longer than [`ListId::MAX_LEN`] bytes.
    #[error("list id must be 1 to {} characters long", ListId::MAX_LEN)]
    Length,
    /// Contains a character outside `a-z`, `0-9`, `_`, or does not start with a letter.
    #[error("list id must start with a-z and contain only a-z, 0-9 and '_'")]
    Charset,
}

/// A list (category) identifier, such as `fraud_txn`.
///
/// Lower-case ASCII letters, digits and `_`, starting with a letter, at most
/// [`ListId::MAX_LEN`] bytes. The launch lists are [`ListId::LAUNCH`]; governance can add others,
/// so any well-formed id is accepted here.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ListId(String);

impl ListId {
    /// Maximum length in bytes.
    pub const MAX_LEN: usize = 32;
    /// Transaction fraud.
    pub const FRAUD_TXN: &'static str = "fraud_txn";
    /// High-risk accounts and card numbers.
    pub const HIGH_RISK_ACCOUNT: &'static str = "high_risk_account";
    /// Marketing abuse / promotion cheating.
    pub const MARKETING_ABUSE: &'static str = "marketing_abuse";
    /// Customers overdue past a threshold, derived from credit data.
    pub const CREDIT_OVERDUE: &'static str = "credit_overdue";
    /// The lists defined at launch (docs/design.md).
    pub const LAUNCH: [&'static str; 4] = [
        Self::FRAUD_TXN,
        Self::HIGH_RISK_ACCOUNT,
        Self::MARKETING_ABUSE,
        Self::CREDIT_OVERDUE,
    ];

    /// Parses and checks a list id.
    pub fn parse(s: &str) -> Result<Self, ListIdError> {
        if s.is_empty() || s.len() > Self::MAX_LEN {
            return Err(ListIdError::Length);
        }
        let mut chars = s.chars();
        let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase());
        if !first_ok
            || !s
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            return Err(ListIdError::Charset);
        }
        Ok(Self(s.to_owned()))
    }

    /// The id as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is one of the lists defined at launch.
    pub fn is_launch_list(&self) -> bool {
        Self::LAUNCH.contains(&self.0.as_str())
    }
}

impl FromStr for ListId {
    type Err = ListIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for ListId {
    type Error = ListIdError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<ListId> for String {
    fn from(l: ListId) -> String {
        l.0
    }
}

impl fmt::Display for ListId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ListId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ListId({})", self.0)
    }
}

/// Who may hold a list's snapshot: part of the list's publication.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum ListPolicy {
    /// Queriers may fetch the list's padded snapshot and screen against it locally.
    #[default]
    Shared,
    /// Only proof-mode answers: the snapshot is not shared.
    ProofOnly,
}

impl ListPolicy {
    /// The byte that stands for the policy in signed encodings.
    pub fn byte(self) -> u8 {
        match self {
            Self::Shared => 1,
            Self::ProofOnly => 2,
        }
    }

    /// `shared` or `proof_only`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Shared => "shared",
            Self::ProofOnly => "proof_only",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn launch_lists_parse() {
        for l in ListId::LAUNCH {
            let id = ListId::parse(l).expect("launch list ids are valid");
            assert!(id.is_launch_list());
        }
    }

    #[test]
    fn rejects_bad_ids() {
        assert_eq!(ListId::parse(""), Err(ListIdError::Length));
        assert_eq!(ListId::parse(&"a".repeat(33)), Err(ListIdError::Length));
        assert_eq!(ListId::parse("Fraud"), Err(ListIdError::Charset));
        assert_eq!(ListId::parse("1abc"), Err(ListIdError::Charset));
        assert_eq!(ListId::parse("a-b"), Err(ListIdError::Charset));
        assert_eq!(ListId::parse("_a"), Err(ListIdError::Charset));
        assert!(ListId::parse("custom_list_2").is_ok());
    }

    #[test]
    fn serde_checks() {
        let ok: ListId = serde_json::from_str("\"fraud_txn\"").expect("valid");
        assert_eq!(ok.as_str(), "fraud_txn");
        assert!(serde_json::from_str::<ListId>("\"Bad\"").is_err());
    }
}
