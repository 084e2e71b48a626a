//! `cn_id`: resident identity card numbers (GB 11643-1999).

use super::normalise::clean;
use super::{id_newtype, IdError, IdType};
use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

const WHAT: &str = "resident ID number";
/// ISO 7064 MOD 11-2 weights of the first 17 digits.
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// Check character for `sum mod 11`.
const CHECK: &[u8; 11] = b"10X98765432";
/// China Standard Time offset from UTC, in seconds.
const CST_OFFSET_SECS: u64 = 8 * 3600;

/// A proleptic Gregorian calendar date; it exists only if it is a real date.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct CivilDate {
    year: u16,
    month: u8,
    day: u8,
}

impl CivilDate {
    /// The date, if `month` is 1-12 and `day` exists in that month (leap years included).
    pub fn new(year: u16, month: u8, day: u8) -> Option<Self> {
        let ok = (1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month);
        ok.then_some(Self { year, month, day })
    }

    /// Today in China Standard Time (UTC+8), from the system clock. A clock set before 1970
    /// reads as 1970-01-01.
    pub fn today_china() -> Self {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let days = (secs + CST_OFFSET_SECS) / 86_400;
        Self::from_days_since_epoch(i64::try_from(days).unwrap_or(i64::MAX))
    }

    /// The date `days` days after 1970-01-01 (negative: before), clamped to years 0..=9999.
    pub fn from_days_since_epoch(days: i64) -> Self {
        // Howard Hinnant's civil_from_days, on the 400-year cycle of 146 097 days.
        let days = days.clamp(-719_468, 2_932_896); // 0000-03-01 ..= 9999-12-31
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        Self {
            year: u16::try_from(year).unwrap_or(0),
            month: u8::try_from(month).unwrap_or(1),
            day: u8::try_from(day).unwrap_or(1),
        }
    }

    /// Days from 1970-01-01 to this date (negative: before).
    pub fn days_since_epoch(self) -> i64 {
        let m = i64::from(self.month);
        let y = i64::from(self.year) - i64::from(m <= 2);
        let era = y.div_euclid(400);
        let yoe = y.rem_euclid(400);
        let mp = if m > 2 { m - 3 } else { m + 9 };
        let doy = (153 * mp + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// The year.
    pub fn year(self) -> u16 {
        self.year
    }

    /// The month, 1-12.
    pub fn month(self) -> u8 {
        self.month
    }

    /// The day of the month, from 1.
    pub fn day(self) -> u8 {
        self.day
    }

    /// The date as the number `YYYYMMDD`.
    pub fn yyyymmdd(self) -> u32 {
        u32::from(self.year) * 10_000 + u32::from(self.month) * 100 + u32::from(self.day)
    }
}

impl fmt::Display for CivilDate {
    /// `YYYY-MM-DD`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

fn is_leap(year: u16) -> bool {
    // Written as a match rather than `is_multiple_of`, which is newer than the workspace MSRV.
    matches!((year % 4, year % 100, year % 400), (_, _, 0) | (0, 1.., _))
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// A resident identity card number in canonical 18-character form.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct CnId(String);

id_newtype!(CnId, IdType::CnId);

impl CnId {
    /// Parses a resident ID number, accepting birth dates from 1900-01-01 up to and including
    /// `today`. A pure function of its arguments.
    pub fn parse_as_of(raw: &str, today: CivilDate) -> Result<Self, IdError> {
        let s = clean(raw)?;
        let chars: Vec<char> = s.chars().collect();
        if let Some(i) = chars.iter().position(|c| c.is_whitespace()) {
            return Err(IdError::InternalWhitespace {
                position: i + 1,
                what: WHAT,
            });
        }
        let legacy = match chars.len() {
            18 => false,
            15 => true,
            n => {
                return Err(IdError::Length {
                    what: WHAT,
                    actual: n,
                    unit: "characters",
                    expected: "18 (or 15 for a legacy number)",
                })
            }
        };
        let digits_end = if legacy { 15 } else { 17 };
        let mut digits = [0u8; 18];
        for (i, &c) in chars.iter().enumerate().take(digits_end) {
            if !c.is_ascii_digit() {
                return Err(IdError::ExpectedDigit {
                    ch: c,
                    position: i + 1,
                });
            }
        }
        // Build the 17-digit body (upgrading a legacy number) as ASCII bytes.
        let mut body = [0u8; 17];
        if legacy {
            // 6-digit region, YYMMDD, 3-digit sequence → region, 19YYMMDD, sequence.
            for (i, &c) in chars.iter().enumerate() {
                let to = if i < 6 { i } else { i + 2 };
                body[to] = c as u8;
            }
            body[6] = b'1';
            body[7] = b'9';
        } else {
            for (i, &c) in chars.iter().enumerate().take(17) {
                body[i] = c as u8;
            }
        }
        digits[..17].copy_from_slice(&body);

        if body[0] == b'0' {
            return Err(IdError::RegionCode {
                region: String::from_utf8_lossy(&body[..6]).into_owned(),
            });
        }
        check_birth_date(&body[6..14], today)?;

        let expected = check_byte(&body);
        digits[17] = expected;
        if !legacy {
            let found = chars[17].to_ascii_uppercase();
            if !(found.is_ascii_digit() || found == 'X') {
                return Err(IdError::InvalidCharacter {
                    ch: chars[17],
                    position: 18,
                    what: WHAT,
                });
            }
            if found != char::from(expected) {
                return Err(IdError::CheckCharacter {
                    found,
                    expected: char::from(expected),
                });
            }
        }
        Ok(Self(String::from_utf8_lossy(&digits).into_owned()))
    }

    /// The GB 11643 check character (`0`-`9` or `X`) of the first 17 characters of an ID
    /// number, or `None` unless `first17` is exactly 17 ASCII digits.
    pub fn check_character(first17: &str) -> Option<char> {
        let body: &[u8; 17] = first17.as_bytes().try_into().ok()?;
        body.iter()
            .all(u8::is_ascii_digit)
            .then(|| char::from(check_byte(body)))
    }
}

/// ISO 7064 MOD 11-2 over 17 ASCII digits.
fn check_byte(body: &[u8; 17]) -> u8 {
    let sum: u32 = body
        .iter()
        .zip(WEIGHTS)
        .map(|(&d, w)| u32::from(d - b'0') * w)
        .sum();
    CHECK[(sum % 11) as usize]
}

/// Checks an 8-digit `YYYYMMDD` birth date: a calendar date from 1900-01-01 to `today`.
fn check_birth_date(yyyymmdd: &[u8], today: CivilDate) -> Result<(), IdError> {
    let num = |r: std::ops::Range<usize>| {
        yyyymmdd[r]
            .iter()
            .fold(0u32, |acc, &d| acc * 10 + u32::from(d - b'0'))
    };
    let (year, month, day) = (num(0..4), num(4..6), num(6..8));
    let date = year * 10_000 + month * 100 + day;
    // The digits were checked: year < 10 000, month and day < 100.
    let civil = CivilDate::new(year as u16, month as u8, day as u8)
        .ok_or(IdError::BirthDateInvalid { date })?;
    if year < 1900 {
        return Err(IdError::BirthDateTooEarly { date });
    }
    if civil > today {
        return Err(IdError::BirthDateInFuture {
            date,
            today: today.yyyymmdd(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> CivilDate {
        CivilDate::new(2026, 11, 23).expect("a real date")
    }

    fn parse(raw: &str) -> Result<String, IdError> {
        CnId::parse_as_of(raw, today()).map(CnId::into_string)
    }

    #[test]
    fn known_vectors() {
        assert_eq!(
            parse("11010519491231002X").as_deref(),
            Ok("11010519491231002X")
        );
        assert_eq!(
            parse("11010519491231002x").as_deref(),
            Ok("11010519491231002X")
        );
        assert_eq!(
            parse("110105194912310021"),
            Err(IdError::CheckCharacter {
                found: '1',
                expected: 'X'
            })
        );
        assert_eq!(
            parse("110105491231002").as_deref(),
            Ok("11010519491231002X")
        );
        // Full-width digits, ideographic spaces and a full-width lower-case x.
        assert_eq!(
            parse("\u{3000}１１０１０５１９４９１２３１００２ｘ ").as_deref(),
            Ok("11010519491231002X")
        );
        assert_eq!(CnId::check_character("11010519491231002"), Some('X'));
        assert_eq!(CnId::check_character("1101051949123100"), None);
        assert_eq!(CnId::check_character("1101051949123100A"), None);
    }

    #[test]
    fn birth_dates() {
        let with_date = |d: &str| {
            let first17 = format!("110105{d}002");
            let check = CnId::check_character(&first17).expect("17 digits");
            parse(&format!("{first17}{check}"))
        };
        assert!(with_date("20000229").is_ok());
        assert!(with_date("19000101").is_ok());
        assert!(with_date("20261123").is_ok());
        assert_eq!(
            with_date("19990231"),
            Err(IdError::BirthDateInvalid { date: 19990231 })
        );
        assert_eq!(
            with_date("19000229"),
            Err(IdError::BirthDateInvalid { date: 19000229 })
        );
        assert_eq!(
            with_date("18991231"),
            Err(IdError::BirthDateTooEarly { date: 18991231 })
        );
        assert_eq!(
            with_date("20261124"),
            Err(IdError::BirthDateInFuture {
                date: 20261124,
                today: 20261123
            })
        );
        assert_eq!(
            with_date("19991301"),
            Err(IdError::BirthDateInvalid { date: 19991301 })
        );
        assert_eq!(
            parse("110105990231002"),
            Err(IdError::BirthDateInvalid { date: 19990231 })
        );
        assert_eq!(
            IdError::BirthDateInvalid { date: 19990231 }.to_string(),
            "birth date 19990231 is not a calendar date"
        );
    }

    #[test]
    fn shape_errors() {
        assert!(matches!(
            parse("11010519491231002"),
            Err(IdError::Length { actual: 17, .. })
        ));
        assert_eq!(
            parse("1101051949123100AX"),
            Err(IdError::ExpectedDigit {
                ch: 'A',
                position: 17
            })
        );
        assert_eq!(
            parse("11010519491231002Y"),
            Err(IdError::InvalidCharacter {
                ch: 'Y',
                position: 18,
                what: WHAT
            })
        );
        assert_eq!(
            parse("110105 19491231002X"),
            Err(IdError::InternalWhitespace {
                position: 7,
                what: WHAT
            })
        );
        let first17 = "01010519491231002";
        let check = CnId::check_character(first17).expect("17 digits");
        assert_eq!(
            parse(&format!("{first17}{check}")),
            Err(IdError::RegionCode {
                region: "010105".into()
            })
        );
        assert_eq!(
            IdError::CheckCharacter {
                found: '3',
                expected: 'X'
            }
            .to_string(),
            "check character is 3, expected X"
        );
    }

    #[test]
    fn civil_dates_round_trip() {
        assert_eq!(
            CivilDate::from_days_since_epoch(0).to_string(),
            "1970-01-01"
        );
        assert_eq!(
            CivilDate::from_days_since_epoch(-1).to_string(),
            "1969-12-31"
        );
        assert_eq!(
            CivilDate::new(2000, 3, 1).map(CivilDate::days_since_epoch),
            Some(11_017)
        );
        for days in (-30_000..40_000).step_by(7) {
            let d = CivilDate::from_days_since_epoch(days);
            assert_eq!(d.days_since_epoch(), days);
            assert_eq!(CivilDate::new(d.year(), d.month(), d.day()), Some(d));
        }
        assert!(CivilDate::today_china().year() >= 2024);
    }
}
