//! `email`: e-mail addresses.

use super::normalise::clean;
use super::{id_newtype, IdError, IdType};

const WHAT: &str = "e-mail address";

/// An e-mail address in canonical (lower-case) form.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Email(String);

id_newtype!(Email, IdType::Email);

/// RFC 5322 `atext` (letters and digits handled separately).
fn is_atext_symbol(c: char) -> bool {
    "!#$%&'*+-/=?^_`{|}~".contains(c)
}

impl Email {
    /// Parses an e-mail address (rules in the module docs of [`crate::id`]).
    pub fn parse(raw: &str) -> Result<Self, IdError> {
        let s = clean(raw)?;
        let mut out = String::with_capacity(s.len());
        let mut ats = 0;
        for (i, c) in s.chars().enumerate() {
            match c {
                '@' => ats += 1,
                c if c.is_ascii_alphanumeric() || c == '.' || is_atext_symbol(c) => {}
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
            out.push(c.to_ascii_lowercase());
        }
        if ats != 1 {
            return Err(IdError::EmailAtSign { found: ats });
        }
        let (local, domain) = out
            .split_once('@')
            .ok_or(IdError::EmailAtSign { found: 0 })?;
        if local.is_empty() {
            return Err(IdError::EmailLocalEmpty);
        }
        if local.len() > 64 {
            return Err(IdError::EmailLocalTooLong { len: local.len() });
        }
        if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
            return Err(IdError::EmailLocalDots);
        }
        check_domain(domain, local.len() + 1)?;
        if out.len() > 254 {
            return Err(IdError::EmailTooLong { len: out.len() });
        }
        Ok(Self(out))
    }
}

/// Checks the domain; `offset` is the number of characters before it (for positions).
fn check_domain(domain: &str, offset: usize) -> Result<(), IdError> {
    let problem = |problem| Err(IdError::EmailDomain { problem });
    if domain.is_empty() {
        return problem("is empty");
    }
    if !domain.contains('.') {
        return problem("needs at least one dot");
    }
    let mut position = offset;
    for label in domain.split('.') {
        if label.is_empty() {
            return problem("has an empty label (leading, trailing or double dot)");
        }
        if label.len() > 63 {
            return problem("has a label longer than 63 characters");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return problem("has a label starting or ending with '-'");
        }
        for (i, c) in label.chars().enumerate() {
            if !(c.is_ascii_alphanumeric() || c == '-') {
                return Err(IdError::InvalidCharacter {
                    ch: c,
                    position: position + i + 1,
                    what: "e-mail domain",
                });
            }
        }
        position += label.len() + 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str) -> Result<String, IdError> {
        Email::parse(raw).map(Email::into_string)
    }

    #[test]
    fn known_vectors() {
        assert_eq!(
            parse(" Li.Lei@Example.COM ").as_deref(),
            Ok("li.lei@example.com")
        );
        assert_eq!(
            parse("ｚｈａｎｇ．ｗｅｉ＠１６３．ｃｏｍ").as_deref(),
            Ok("zhang.wei@163.com")
        );
        assert_eq!(
            parse("o'neil+tag!#$%&*/=?^_`{|}~-x@mail-1.example.co.uk").as_deref(),
            Ok("o'neil+tag!#$%&*/=?^_`{|}~-x@mail-1.example.co.uk")
        );
        assert!(parse(&format!("{}@qq.com", "a".repeat(64))).is_ok());
    }

    #[test]
    fn rejections() {
        assert_eq!(parse("a.qq.com"), Err(IdError::EmailAtSign { found: 0 }));
        assert_eq!(parse("a@b@qq.com"), Err(IdError::EmailAtSign { found: 2 }));
        assert_eq!(parse("@qq.com"), Err(IdError::EmailLocalEmpty));
        assert_eq!(
            parse(&format!("{}@qq.com", "a".repeat(65))),
            Err(IdError::EmailLocalTooLong { len: 65 })
        );
        for bad in [".a@qq.com", "a.@qq.com", "a..b@qq.com"] {
            assert_eq!(parse(bad), Err(IdError::EmailLocalDots), "{bad}");
        }
        for bad in [
            "a@",
            "a@localhost",
            "a@.qq.com",
            "a@qq.com.",
            "a@qq..com",
            "a@-qq.com",
            "a@qq-.com",
        ] {
            assert!(
                matches!(parse(bad), Err(IdError::EmailDomain { .. })),
                "{bad}: {:?}",
                parse(bad)
            );
        }
        assert_eq!(
            parse("a@q_q.com"),
            Err(IdError::InvalidCharacter {
                ch: '_',
                position: 4,
                what: "e-mail domain"
            })
        );
        assert_eq!(
            parse("a b@qq.com"),
            Err(IdError::InternalWhitespace {
                position: 2,
                what: WHAT
            })
        );
        assert_eq!(
            parse("\"a\"@qq.com"),
            Err(IdError::InvalidCharacter {
                ch: '"',
                position: 1,
                what: WHAT
            })
        );
        assert!(matches!(
            parse("张伟@qq.com"),
            Err(IdError::InvalidCharacter { ch: '张', .. })
        ));
        let long_domain = format!("{}.com", vec!["a".repeat(63); 4].join("."));
        assert_eq!(
            parse(&format!("a@{long_domain}")),
            Err(IdError::EmailTooLong {
                len: 2 + long_domain.len()
            })
        );
        assert!(matches!(
            parse(&format!("a@{}.com", "b".repeat(64))),
            Err(IdError::EmailDomain { .. })
        ));
    }
}
