//! Messy-but-valid and invalid forms of canonical identifiers, as member banks' exports have
//! them.
//!
//! Every messy form cleans back to the canonical form it came from, and every invalid form is
//! rejected by [`fengxin_types::CanonicalId::parse`]; the crate's tests check both for thousands
//! of values of every type.

use fengxin_types::IdType;
use rand::Rng;

/// Full-width form of the printable ASCII characters of `s` (U+0021..U+007E → U+FF01..U+FF5E).
pub(crate) fn full_width(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '!'..='~' => char::from_u32(u32::from(c) + 0xFEE0).unwrap_or(c),
            c => c,
        })
        .collect()
}

/// `s` with surrounding ASCII or ideographic spaces.
fn padded(s: &str, rng: &mut impl Rng) -> String {
    match rng.gen_range(0..4) {
        0 => format!(" {s}"),
        1 => format!("{s} "),
        2 => format!("\u{3000}{s}\u{3000}"),
        _ => format!("  {s} "),
    }
}

/// `s` in groups of `n` characters joined by `sep`.
fn grouped(s: &str, n: usize, sep: &str) -> String {
    s.as_bytes()
        .chunks(n)
        .map(String::from_utf8_lossy)
        .collect::<Vec<_>>()
        .join(sep)
}

/// `s` with the character at byte `i` (ASCII) replaced by `c`.
fn replaced(s: &str, i: usize, c: char) -> String {
    s.char_indices()
        .map(|(j, x)| if j == i { c } else { x })
        .collect()
}

/// `s` split at byte `i`, or all of `s` and nothing if `i` is not a boundary.
fn split(s: &str, i: usize) -> (&str, &str) {
    s.split_at_checked(i).unwrap_or((s, ""))
}

/// A messy but valid form of the canonical identifier `id`: one that cleans back to `id`.
pub(crate) fn messy(id_type: IdType, id: &str, rng: &mut impl Rng) -> String {
    let pick = rng.gen_range(0..4);
    match id_type {
        IdType::CnId => {
            let legacy = id.len() == 18 && id.get(6..8) == Some("19");
            match pick {
                0 if id.ends_with('X') => id.replace('X', "x"),
                1 if legacy => format!("{}{}", &id[..6], &id[8..17]),
                2 => full_width(&id.replace('X', "x")),
                _ => padded(id, rng),
            }
        }
        IdType::Uscc => match pick {
            0 => id.to_ascii_lowercase(),
            1 => full_width(id),
            2 => padded(&id.to_ascii_lowercase(), rng),
            _ => padded(id, rng),
        },
        IdType::Phone => match id.strip_prefix("+86") {
            Some(n) if n.len() == 11 => {
                let (a, b, c) = (&n[..3], &n[3..7], &n[7..]);
                match rng.gen_range(0..7) {
                    0 => n.to_owned(),
                    1 => format!("{a} {b} {c}"),
                    2 => format!("{a}-{b}-{c}"),
                    3 => format!("+86 {a} {b} {c}"),
                    4 => format!("0086{n}"),
                    5 => full_width(n),
                    _ => format!("(+86) {a}.{b}.{c}"),
                }
            }
            _ => padded(id, rng),
        },
        IdType::BankCard => match pick {
            0 => grouped(id, 4, " "),
            1 => grouped(id, 4, "-"),
            2 => full_width(&grouped(id, 4, "\u{3000}")),
            _ => padded(id, rng),
        },
        IdType::Account => match pick {
            0 if id.bytes().any(|b| b.is_ascii_alphabetic()) => id.to_ascii_lowercase(),
            1 => full_width(id),
            _ => padded(id, rng),
        },
        IdType::Email => match pick {
            0 => id.to_ascii_uppercase(),
            1 => {
                let mut s = id.to_owned();
                if let Some(first) = s.get_mut(..1) {
                    first.make_ascii_uppercase();
                }
                s.replace('@', "＠")
            }
            2 => full_width(id),
            _ => padded(id, rng),
        },
        IdType::DeviceId => {
            let uuid = id.len() == 36;
            match pick {
                0 => id.to_ascii_uppercase(),
                1 if uuid => format!("{{{}}}", id.to_ascii_uppercase()),
                2 if uuid => id.replace('-', ""),
                _ => padded(id, rng),
            }
        }
    }
}

/// An invalid form of the canonical identifier `id`, which every bank must reject.
pub(crate) fn invalid(id_type: IdType, id: &str, rng: &mut impl Rng) -> String {
    let pick = rng.gen_range(0..3);
    let last = id.len().saturating_sub(1);
    match id_type {
        IdType::CnId => match pick {
            // A different check character.
            0 => {
                const CHECKS: &[u8; 11] = b"0123456789X";
                let at = CHECKS
                    .iter()
                    .position(|&c| id.as_bytes().get(17) == Some(&c))
                    .unwrap_or(0);
                let other = CHECKS[(at + rng.gen_range(1..11)) % 11];
                replaced(id, 17, char::from(other))
            }
            // Month 13.
            1 => format!(
                "{}13{}",
                id.get(..10).unwrap_or(""),
                id.get(12..).unwrap_or("")
            ),
            // A digit dropped.
            _ => format!(
                "{}{}",
                id.get(..9).unwrap_or(""),
                id.get(10..).unwrap_or("")
            ),
        },
        IdType::Uscc => match pick {
            0 => {
                let alphabet = fengxin_types::id::Uscc::ALPHABET.as_bytes();
                let at = alphabet
                    .iter()
                    .position(|&c| id.as_bytes().get(17) == Some(&c))
                    .unwrap_or(0);
                let other = alphabet[(at + rng.gen_range(1..31)) % 31];
                replaced(id, 17, char::from(other))
            }
            1 => replaced(id, 10, 'O'),
            _ => id.get(..17).unwrap_or("").to_owned(),
        },
        IdType::Phone => {
            let national = id.strip_prefix("+86").unwrap_or(id);
            let short = national
                .get(..national.len().saturating_sub(1))
                .unwrap_or("");
            match pick {
                0 => short.to_owned(),
                1 => format!("+86 {short}"),
                _ => {
                    let (a, b) = split(national, 3);
                    format!("{a}O{}", b.get(1..).unwrap_or(""))
                }
            }
        }
        IdType::BankCard => match pick {
            0 | 1 => {
                let d = id.as_bytes().get(last).map_or(0, |b| b.wrapping_sub(b'0'));
                let other = (d + rng.gen_range(1..10)) % 10;
                replaced(id, last, char::from(b'0' + other))
            }
            _ => id.get(..11).unwrap_or("").to_owned(),
        },
        IdType::Account => {
            let (a, b) = split(id, 4);
            match pick {
                0 => format!("{a} {b}"),
                1 => format!("{id}#"),
                // A full-width comma cleans to ',', which accounts do not allow.
                _ => format!("{a}，{b}"),
            }
        }
        IdType::Email => match pick {
            0 => id.replace('@', ""),
            1 => id.replacen('@', "..@", 1),
            _ => match id.rsplit_once('.') {
                Some((head, _)) => head.to_owned(),
                None => format!("{id}@"),
            },
        },
        IdType::DeviceId => match pick {
            0 => replaced(id, 5, 'g'),
            1 => id.get(..7).unwrap_or("").to_owned(),
            _ => format!("{id}-"),
        },
    }
}
