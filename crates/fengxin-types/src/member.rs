//! Member names.

use std::fmt;

/// Why a string is not a valid member name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("member name must be 1 to 64 characters of a-z, 0-9, '-' and '_', starting with a letter or digit")]
pub struct MemberNameError;

/// A member's short name in the consortium, such as `bank-a`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MemberName(String);

impl MemberName {
    /// Parses and checks a member name.
    pub fn parse(s: &str) -> Result<Self, MemberNameError> {
        let ok_len = (1..=64).contains(&s.len());
        let ok_first = s
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        let ok_chars = s
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
        if ok_len && ok_first && ok_chars {
            Ok(Self(s.to_owned()))
        } else {
            Err(MemberNameError)
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for MemberName {
    type Error = MemberNameError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<MemberName> for String {
    fn from(m: MemberName) -> String {
        m.0
    }
}

impl std::str::FromStr for MemberName {
    type Err = MemberNameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for MemberName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for MemberName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MemberName({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(MemberName::parse("bank-a").is_ok());
        assert!(MemberName::parse("icbc_sh01").is_ok());
        for bad in ["", "-a", "Bank", "a b", &"a".repeat(65)] {
            assert_eq!(MemberName::parse(bad), Err(MemberNameError), "{bad:?}");
        }
    }
}
