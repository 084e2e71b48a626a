//! The cleaning every identifier type starts with (module docs of [`crate::id`]).

use super::IdError;

/// Longest input, in characters after trimming, that any parser examines. Longer inputs are
/// rejected with [`IdError::InputTooLong`] (the longest canonical identifier, an e-mail address,
/// has at most 254 characters; this leaves room for separators and full-width forms).
pub const MAX_INPUT_CHARS: usize = 1024;

/// Maps a full-width ASCII variant (U+FF01..U+FF5E) to its ASCII counterpart.
pub(crate) fn halfwidth(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
        _ => c,
    }
}

/// Maps full-width ASCII variants to ASCII, trims surrounding Unicode whitespace, and rejects
/// empty, over-long and control-character input.
///
/// Full-width variants never map to whitespace, so trimming before mapping gives the same
/// result as mapping first, and spares over-long input any allocation.
pub(crate) fn clean(raw: &str) -> Result<String, IdError> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(IdError::Empty);
    }
    let chars = trimmed.chars().take(MAX_INPUT_CHARS + 1).count();
    if chars > MAX_INPUT_CHARS {
        return Err(IdError::InputTooLong {
            chars: trimmed.chars().count(),
            max: MAX_INPUT_CHARS,
        });
    }
    let mut out = String::with_capacity(trimmed.len());
    for (i, c) in trimmed.chars().enumerate() {
        if c.is_control() {
            return Err(IdError::ControlCharacter {
                code: u32::from(c),
                position: i + 1,
            });
        }
        out.push(halfwidth(c));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_width_ascii_maps_to_ascii() {
        assert_eq!(halfwidth('１'), '1');
        assert_eq!(halfwidth('Ｘ'), 'X');
        assert_eq!(halfwidth('ｘ'), 'x');
        assert_eq!(halfwidth('＋'), '+');
        assert_eq!(halfwidth('－'), '-');
        assert_eq!(halfwidth('＠'), '@');
        assert_eq!(halfwidth('．'), '.');
        assert_eq!(halfwidth('\u{FF01}'), '!');
        assert_eq!(halfwidth('\u{FF5E}'), '~');
        assert_eq!(halfwidth('\u{FF5F}'), '\u{FF5F}');
        assert_eq!(halfwidth('中'), '中');
    }

    #[test]
    fn trims_unicode_whitespace_then_maps() {
        assert_eq!(clean("\u{3000} １２a\t\r\n").as_deref(), Ok("12a"));
        assert_eq!(clean(" a b ").as_deref(), Ok("a b"));
    }

    #[test]
    fn rejects_empty_control_and_long() {
        assert_eq!(clean(" \u{3000} "), Err(IdError::Empty));
        assert_eq!(
            clean("ab\u{0}c"),
            Err(IdError::ControlCharacter {
                code: 0,
                position: 3
            })
        );
        assert_eq!(
            clean("a\tb"),
            Err(IdError::ControlCharacter {
                code: 9,
                position: 2
            })
        );
        let long = "a".repeat(MAX_INPUT_CHARS + 5);
        assert_eq!(
            clean(&long),
            Err(IdError::InputTooLong {
                chars: MAX_INPUT_CHARS + 5,
                max: MAX_INPUT_CHARS
            })
        );
        assert!(clean(&"a".repeat(MAX_INPUT_CHARS)).is_ok());
    }
}
