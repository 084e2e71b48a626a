//! `bank_card`: bank card numbers (primary account numbers).

use super::normalise::clean;
use super::{id_newtype, IdError, IdType};

const WHAT: &str = "bank card number";

/// A bank card number in canonical form: 12-19 digits passing the Luhn check.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct BankCard(String);

id_newtype!(BankCard, IdType::BankCard);

impl BankCard {
    /// Parses a card number; spaces and `-` between digits are removed.
    pub fn parse(raw: &str) -> Result<Self, IdError> {
        let s = clean(raw)?;
        let mut digits = String::with_capacity(19);
        for (i, c) in s.chars().enumerate() {
            match c {
                '0'..='9' => digits.push(c),
                '-' => {}
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
        if !(12..=19).contains(&digits.len()) {
            return Err(IdError::Length {
                what: WHAT,
                actual: digits.len(),
                unit: "digits",
                expected: "12-19",
            });
        }
        let (payload, found) = digits.split_at(digits.len() - 1);
        let expected = luhn_digit(payload);
        let found = found.chars().next().unwrap_or('?');
        if found != expected {
            return Err(IdError::Luhn { found, expected });
        }
        Ok(Self(digits))
    }

    /// The Luhn check digit to append to `payload`, or `None` unless `payload` is 1 to 64
    /// ASCII digits.
    pub fn luhn_check_digit(payload: &str) -> Option<char> {
        let ok = (1..=64).contains(&payload.len()) && payload.bytes().all(|b| b.is_ascii_digit());
        ok.then(|| luhn_digit(payload))
    }
}

/// The Luhn check digit of ASCII digits: double every second digit from the right end of the
/// payload (the digit next to the check digit first).
fn luhn_digit(payload: &str) -> char {
    let sum: u32 = payload
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 0 {
                let d2 = d * 2;
                if d2 > 9 {
                    d2 - 9
                } else {
                    d2
                }
            } else {
                d
            }
        })
        .sum();
    char::from(b'0' + ((10 - sum % 10) % 10) as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str) -> Result<String, IdError> {
        BankCard::parse(raw).map(BankCard::into_string)
    }

    #[test]
    fn known_vectors() {
        assert_eq!(parse("4111111111111111").as_deref(), Ok("4111111111111111"));
        assert_eq!(
            parse("4111 1111 1111 1111").as_deref(),
            Ok("4111111111111111")
        );
        assert_eq!(
            parse("4111-1111-1111-1111").as_deref(),
            Ok("4111111111111111")
        );
        assert_eq!(
            parse("４１１１　１１１１　１１１１　１１１１").as_deref(),
            Ok("4111111111111111")
        );
        assert_eq!(
            parse("4111111111111112"),
            Err(IdError::Luhn {
                found: '2',
                expected: '1'
            })
        );
        assert_eq!(
            IdError::Luhn {
                found: '2',
                expected: '1'
            }
            .to_string(),
            "Luhn check failed: check digit is 2, expected 1"
        );
        // Well-known test PANs of other lengths.
        assert!(parse("5555555555554444").is_ok());
        assert!(parse("378282246310005").is_ok());
        assert!(parse("6212345678901232").is_ok());
        assert_eq!(BankCard::luhn_check_digit("411111111111111"), Some('1'));
        assert_eq!(BankCard::luhn_check_digit("7992739871"), Some('3'));
        assert_eq!(BankCard::luhn_check_digit(""), None);
        assert_eq!(BankCard::luhn_check_digit("12a"), None);
    }

    #[test]
    fn shape_errors() {
        assert!(matches!(
            parse("41111111111"),
            Err(IdError::Length { actual: 11, .. })
        ));
        assert!(matches!(
            parse("41111111111111111111"),
            Err(IdError::Length { actual: 20, .. })
        ));
        assert_eq!(
            parse("4111.1111.1111.1111"),
            Err(IdError::InvalidCharacter {
                ch: '.',
                position: 5,
                what: WHAT
            })
        );
    }
}
