//! `account`: bank account numbers.

use super::normalise::clean;
use super::{id_newtype, IdError, IdType};

const WHAT: &str = "account number";

/// An account number in canonical form: 1-64 upper-case ASCII letters, digits, `-`, `_`, `.`
/// and `/`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Account(String);

id_newtype!(Account, IdType::Account);

impl Account {
    /// Parses an account number; ASCII letters are upper-cased, internal whitespace is rejected.
    pub fn parse(raw: &str) -> Result<Self, IdError> {
        let s = clean(raw)?;
        let mut out = String::with_capacity(s.len());
        for (i, c) in s.chars().enumerate() {
            match c {
                'a'..='z' | 'A'..='Z' | '0'..='9' | '-' | '_' | '.' | '/' => {
                    out.push(c.to_ascii_uppercase())
                }
                c if c.is_whitespace() => {
                    return Err(IdError::InternalWhitespace {
                        position: i + 1,
                        what: WHAT,
                    })
                }
                c => {
                    return Err(IdError::InvalidCharacter {
                        ch: c,
                        position: i + 1,
                        what: WHAT,
                    })
                }
            }
        }
        if out.len() > 64 {
            return Err(IdError::Length {
                what: WHAT,
                actual: out.len(),
                unit: "characters",
                expected: "1-64",
            });
        }
        Ok(Self(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str) -> Result<String, IdError> {
        Account::parse(raw).map(Account::into_string)
    }

    #[test]
    fn known_vectors() {
        assert_eq!(parse(" acc-1 ").as_deref(), Ok("ACC-1"));
        assert_eq!(
            parse("6228480012345678901").as_deref(),
            Ok("6228480012345678901")
        );
        assert_eq!(parse("ｃｎ／３１０_a.b").as_deref(), Ok("CN/310_A.B"));
        assert_eq!(parse(&"a".repeat(64)).map(|s| s.len()), Ok(64));
    }

    #[test]
    fn rejections() {
        assert_eq!(
            parse("ACC 1"),
            Err(IdError::InternalWhitespace {
                position: 4,
                what: WHAT
            })
        );
        assert_eq!(
            parse("ACC#1"),
            Err(IdError::InvalidCharacter {
                ch: '#',
                position: 4,
                what: WHAT
            })
        );
        assert_eq!(
            parse("账户1"),
            Err(IdError::InvalidCharacter {
                ch: '账',
                position: 1,
                what: WHAT
            })
        );
        assert!(matches!(
            parse(&"a".repeat(65)),
            Err(IdError::Length { actual: 65, .. })
        ));
    }
}
