//! `device_id`: device identifiers (UUIDs or hex strings).

use super::normalise::clean;
use super::{id_newtype, IdError, IdType};

const WHAT: &str = "device id";

/// A device id in canonical form: a lower-case dashed UUID, or 8-128 lower-case hex digits
/// (never 32, which is a UUID).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct DeviceId(String);

id_newtype!(DeviceId, IdType::DeviceId);

/// Lengths of the groups of a dashed UUID.
const UUID_GROUPS: [usize; 5] = [8, 4, 4, 4, 12];

impl DeviceId {
    /// Parses a device id (rules in the module docs of [`crate::id`]).
    pub fn parse(raw: &str) -> Result<Self, IdError> {
        let s = clean(raw)?;
        let (inner, braced, offset) = match (s.strip_prefix('{'), s.ends_with('}')) {
            (Some(rest), true) => (rest.strip_suffix('}').unwrap_or(rest), true, 1),
            (None, false) => (s.as_str(), false, 0),
            _ => return Err(IdError::Braces),
        };
        let mut hex = String::with_capacity(inner.len());
        let mut dashes = false;
        for (i, c) in inner.chars().enumerate() {
            match c {
                c if c.is_ascii_hexdigit() => hex.push(c.to_ascii_lowercase()),
                '-' => dashes = true,
                c if c.is_whitespace() => {
                    return Err(IdError::InternalWhitespace {
                        position: offset + i + 1,
                        what: WHAT,
                    })
                }
                c => {
                    return Err(IdError::InvalidCharacter {
                        ch: c,
                        position: offset + i + 1,
                        what: WHAT,
                    })
                }
            }
        }
        if dashes {
            let shaped = inner.split('-').map(str::len).eq(UUID_GROUPS);
            if !shaped {
                return Err(IdError::UuidShape);
            }
        }
        if hex.len() == 32 {
            let mut out = String::with_capacity(36);
            let mut at = 0;
            for (g, len) in UUID_GROUPS.into_iter().enumerate() {
                if g > 0 {
                    out.push('-');
                }
                out.push_str(&hex[at..at + len]);
                at += len;
            }
            return Ok(Self(out));
        }
        if braced {
            return Err(IdError::Braces);
        }
        if !(8..=128).contains(&hex.len()) {
            return Err(IdError::Length {
                what: WHAT,
                actual: hex.len(),
                unit: "hex digits",
                expected: "a UUID or 8-128",
            });
        }
        Ok(Self(hex))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str) -> Result<String, IdError> {
        DeviceId::parse(raw).map(DeviceId::into_string)
    }

    #[test]
    fn known_vectors() {
        let canonical = "6f9619ff-8b86-d011-b42d-00c04fc964ff";
        for raw in [
            "6f9619ff-8b86-d011-b42d-00c04fc964ff",
            "6F9619FF-8B86-D011-B42D-00C04FC964FF",
            "{6F9619FF-8B86-D011-B42D-00C04FC964FF}",
            "6F9619FF8B86D011B42D00C04FC964FF",
            "{6f9619ff8b86d011b42d00c04fc964ff}",
            " ６ｆ９６１９ｆｆ－８ｂ８６－ｄ０１１－ｂ４２ｄ－００ｃ０４ｆｃ９６４ｆｆ ",
        ] {
            assert_eq!(parse(raw).as_deref(), Ok(canonical), "{raw:?}");
        }
        assert_eq!(parse("9774D56D682E549C").as_deref(), Ok("9774d56d682e549c"));
        assert_eq!(parse("deadbeef").as_deref(), Ok("deadbeef"));
        assert_eq!(parse(&"A".repeat(128)).map(|s| s.len()), Ok(128));
    }

    #[test]
    fn rejections() {
        assert!(matches!(
            parse("abcdef1"),
            Err(IdError::Length { actual: 7, .. })
        ));
        assert!(matches!(
            parse(&"a".repeat(129)),
            Err(IdError::Length { actual: 129, .. })
        ));
        assert_eq!(
            parse("6f9619ff-8b86d011-b42d-00c04fc964ff"),
            Err(IdError::UuidShape)
        );
        assert_eq!(parse("dead-beef"), Err(IdError::UuidShape));
        assert_eq!(parse("{9774d56d682e549c}"), Err(IdError::Braces));
        assert_eq!(
            parse("{6f9619ff8b86d011b42d00c04fc964ff"),
            Err(IdError::Braces)
        );
        assert_eq!(parse("{}"), Err(IdError::Braces));
        assert_eq!(
            parse("6f9619ff-8b86-d011-b42d-00c04fc964fg"),
            Err(IdError::InvalidCharacter {
                ch: 'g',
                position: 36,
                what: WHAT
            })
        );
        assert_eq!(
            parse("dead beef"),
            Err(IdError::InternalWhitespace {
                position: 5,
                what: WHAT
            })
        );
    }
}
