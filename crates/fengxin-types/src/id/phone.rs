//! `phone`: phone numbers in E.164 form.

use super::normalise::clean;
use super::{id_newtype, IdError, IdType};

const WHAT: &str = "phone number";

/// A phone number in canonical E.164 form: `+` then 8-15 digits, the first non-zero.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Phone(String);

id_newtype!(Phone, IdType::Phone);

impl Phone {
    /// Parses a phone number (rules in the module docs of [`crate::id`]).
    pub fn parse(raw: &str) -> Result<Self, IdError> {
        let s = clean(raw)?;
        let mut digits = String::with_capacity(16);
        let mut plus = false;
        for (i, c) in s.chars().enumerate() {
            match c {
                '0'..='9' => digits.push(c),
                '+' if digits.is_empty() && !plus => plus = true,
                '+' => return Err(IdError::MisplacedPlus { position: i + 1 }),
                ' ' | '-' | '.' | '(' | ')' => {}
                c if c.is_whitespace() => {}
                c => {
                    return Err(IdError::InvalidCharacter {
                        ch: c,
                        position: i + 1,
                        what: WHAT,
                    })
                }
            }
        }
        let international = if plus {
            digits.as_str()
        } else if let Some(rest) = digits.strip_prefix("00") {
            rest
        } else if digits.len() == 11 && !digits.starts_with('0') {
            if !digits.starts_with('1') {
                return Err(IdError::BareNumberNotMobile);
            }
            return Ok(Self(format!("+86{digits}")));
        } else {
            return Err(IdError::NoCountryCode);
        };
        if !(8..=15).contains(&international.len()) {
            return Err(IdError::Length {
                what: WHAT,
                actual: international.len(),
                unit: "digits",
                expected: "8-15 after '+'",
            });
        }
        if international.starts_with('0') {
            return Err(IdError::CountryCodeZero);
        }
        if let Some(national) = international.strip_prefix("86") {
            if national.starts_with('0') {
                return Err(IdError::MainlandTrunkPrefix);
            }
            // Mobile numbers start with 1; Beijing's area code 10 is a landline prefix.
            if national.starts_with('1') && !national.starts_with("10") && national.len() != 11 {
                return Err(IdError::MainlandMobileLength {
                    digits: national.len(),
                });
            }
        }
        Ok(Self(format!("+{international}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str) -> Result<String, IdError> {
        Phone::parse(raw).map(Phone::into_string)
    }

    #[test]
    fn known_vectors() {
        for raw in [
            "138 0013 8000",
            "13800138000",
            "138-0013-8000",
            "+86 138 0013 8000",
            "+86-138.0013.8000",
            "(+86) 138 0013 8000",
            "0086 13800138000",
            "008613800138000",
            "１３８００１３８０００",
            "＋８６　１３８　００１３　８０００",
            "\u{3000}138 0013 8000\u{3000}",
        ] {
            assert_eq!(parse(raw).as_deref(), Ok("+8613800138000"), "{raw:?}");
        }
        assert_eq!(parse("+86 10 6552 9988").as_deref(), Ok("+861065529988"));
        assert_eq!(parse("+1 (415) 555-2671").as_deref(), Ok("+14155552671"));
        assert_eq!(parse("00852 2123 4567").as_deref(), Ok("+85221234567"));
        assert_eq!(parse("+8613800138000").as_deref(), Ok("+8613800138000"));
    }

    #[test]
    fn rejections() {
        assert_eq!(parse("23800138000"), Err(IdError::BareNumberNotMobile));
        assert_eq!(
            IdError::BareNumberNotMobile.to_string(),
            "11-digit number without country code must start with 1 (mainland mobile)"
        );
        assert_eq!(parse("1380013800"), Err(IdError::NoCountryCode));
        assert_eq!(parse("010 6552 9988"), Err(IdError::NoCountryCode));
        assert_eq!(parse("8613800138000"), Err(IdError::NoCountryCode));
        assert_eq!(parse("01065529988"), Err(IdError::NoCountryCode));
        assert_eq!(
            parse("+86 1380 0138 0001"),
            Err(IdError::MainlandMobileLength { digits: 12 })
        );
        assert_eq!(
            parse("+86 138 0013 800"),
            Err(IdError::MainlandMobileLength { digits: 10 })
        );
        assert_eq!(
            parse("+86 010 6552 9988"),
            Err(IdError::MainlandTrunkPrefix)
        );
        assert_eq!(parse("+0 123 4567 89"), Err(IdError::CountryCodeZero));
        assert_eq!(parse("000 123 4567 89"), Err(IdError::CountryCodeZero));
        assert!(matches!(
            parse("+1234567"),
            Err(IdError::Length { actual: 7, .. })
        ));
        assert!(matches!(
            parse("+1234567890123456"),
            Err(IdError::Length { actual: 16, .. })
        ));
        assert_eq!(
            parse("138+00138000"),
            Err(IdError::MisplacedPlus { position: 4 })
        );
        assert_eq!(
            parse("++8613800138000"),
            Err(IdError::MisplacedPlus { position: 2 })
        );
        assert_eq!(
            parse("138 0013 8000 ext 1"),
            Err(IdError::InvalidCharacter {
                ch: 'e',
                position: 15,
                what: WHAT
            })
        );
        assert!(matches!(parse("+"), Err(IdError::Length { actual: 0, .. })));
    }
}
