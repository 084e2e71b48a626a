//! `uscc`: unified social credit codes of organisations (GB 32100-2015).

use super::normalise::clean;
use super::{id_newtype, IdError, IdType};

const WHAT: &str = "unified social credit code";
/// The code's alphabet: digits and upper-case letters without I, O, Z, S, V.
const ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
/// MOD 31 weights of the first 17 characters (3^i mod 31).
const WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// A unified social credit code in canonical (upper-case) form.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Uscc(String);

id_newtype!(Uscc, IdType::Uscc);

impl Uscc {
    /// Parses a unified social credit code.
    pub fn parse(raw: &str) -> Result<Self, IdError> {
        let s = clean(raw)?;
        let mut values = [0u8; 18];
        let mut len = 0;
        for (i, c) in s.chars().enumerate() {
            if c.is_whitespace() {
                return Err(IdError::InternalWhitespace {
                    position: i + 1,
                    what: WHAT,
                });
            }
            let upper = c.to_ascii_uppercase();
            if (2..8).contains(&i) && !upper.is_ascii_digit() {
                return Err(IdError::ExpectedDigit {
                    ch: c,
                    position: i + 1,
                });
            }
            let value = value_of(upper).ok_or(IdError::InvalidCharacter {
                ch: c,
                position: i + 1,
                what: WHAT,
            })?;
            if let Some(slot) = values.get_mut(i) {
                *slot = value;
            }
            len = i + 1;
        }
        if len != 18 {
            return Err(IdError::Length {
                what: WHAT,
                actual: len,
                unit: "characters",
                expected: "18",
            });
        }
        let mut body = [0u8; 17];
        body.copy_from_slice(&values[..17]);
        let expected = check_value(&body);
        if values[17] != expected {
            return Err(IdError::CheckCharacter {
                found: char::from(ALPHABET[usize::from(values[17])]),
                expected: char::from(ALPHABET[usize::from(expected)]),
            });
        }
        Ok(Self(
            values
                .iter()
                .map(|&v| char::from(ALPHABET[usize::from(v)]))
                .collect(),
        ))
    }

    /// The GB 32100 check character of the first 17 characters of a code, or `None` unless
    /// `first17` is exactly 17 characters of the code's alphabet (upper case).
    pub fn check_character(first17: &str) -> Option<char> {
        let bytes: &[u8; 17] = first17.as_bytes().try_into().ok()?;
        let mut body = [0u8; 17];
        for (v, &b) in body.iter_mut().zip(bytes) {
            *v = value_of(char::from(b))?;
        }
        Some(char::from(ALPHABET[usize::from(check_value(&body))]))
    }

    /// The code's alphabet, in value order: `0123456789ABCDEFGHJKLMNPQRTUWXY`.
    pub const ALPHABET: &'static str = "0123456789ABCDEFGHJKLMNPQRTUWXY";
}

/// The value (0-30) of an upper-case character of the alphabet.
fn value_of(c: char) -> Option<u8> {
    let b = u8::try_from(c).ok()?;
    ALPHABET
        .iter()
        .position(|&a| a == b)
        .and_then(|p| u8::try_from(p).ok())
}

/// The check value: (31 − Σ value·weight mod 31) mod 31.
fn check_value(body: &[u8; 17]) -> u8 {
    let sum: u32 = body
        .iter()
        .zip(WEIGHTS)
        .map(|(&v, w)| u32::from(v) * w)
        .sum();
    // The result is below 31.
    ((31 - sum % 31) % 31) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str) -> Result<String, IdError> {
        Uscc::parse(raw).map(Uscc::into_string)
    }

    #[test]
    fn weights_are_powers_of_three() {
        let mut w = 1;
        for expected in WEIGHTS {
            assert_eq!(w, expected);
            w = w * 3 % 31;
        }
        assert_eq!(Uscc::ALPHABET.as_bytes(), ALPHABET);
    }

    #[test]
    fn known_vectors() {
        assert_eq!(
            parse("91350100M000100Y43").as_deref(),
            Ok("91350100M000100Y43")
        );
        assert_eq!(
            parse(" 91350100m000100y43 ").as_deref(),
            Ok("91350100M000100Y43")
        );
        assert_eq!(
            parse("９１３５０１００Ｍ０００１００Ｙ４３").as_deref(),
            Ok("91350100M000100Y43")
        );
        assert_eq!(Uscc::check_character("91350100M000100Y4"), Some('3'));
        assert_eq!(
            parse("91350100M000100Y44"),
            Err(IdError::CheckCharacter {
                found: '4',
                expected: '3'
            })
        );
    }

    #[test]
    fn shape_errors() {
        assert_eq!(
            parse("91350100I000100Y43"),
            Err(IdError::InvalidCharacter {
                ch: 'I',
                position: 9,
                what: WHAT
            })
        );
        assert_eq!(
            parse("913501A0M000100Y43"),
            Err(IdError::ExpectedDigit {
                ch: 'A',
                position: 7
            })
        );
        assert!(matches!(
            parse("91350100M000100Y4"),
            Err(IdError::Length { actual: 17, .. })
        ));
        assert!(matches!(
            parse("91350100M000100Y433"),
            Err(IdError::Length { actual: 19, .. })
        ));
        assert!(matches!(
            parse("91350100M000100Y43é"),
            Err(IdError::InvalidCharacter { ch: 'é', .. })
        ));
    }
}
