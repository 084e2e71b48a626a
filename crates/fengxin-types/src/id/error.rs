//! Why an identifier was rejected.

/// Why a string is not a valid identifier of the requested type.
///
/// `Display` is a short human reason, written to follow "row 17, field identifier: ". Positions
/// count characters from 1 in the trimmed input unless the message says otherwise. Dates are
/// shown as `YYYYMMDD`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdError {
    // ----- common -----
    /// Nothing is left after trimming whitespace.
    #[error("identifier is empty")]
    Empty,
    /// The input is longer than any identifier can be; it was not examined further.
    #[error("{chars} characters is too long for any identifier (at most {max})")]
    InputTooLong {
        /// Characters in the trimmed input.
        chars: usize,
        /// The limit, [`MAX_INPUT_CHARS`](super::MAX_INPUT_CHARS).
        max: usize,
    },
    /// A control character (other than surrounding whitespace) appears in the input.
    #[error("control character U+{code:04X} at position {position}")]
    ControlCharacter {
        /// The character's code point.
        code: u32,
        /// Its position, from 1.
        position: usize,
    },
    /// A character that this identifier type does not allow.
    #[error("character {ch:?} at position {position} is not allowed in a {what}")]
    InvalidCharacter {
        /// The character.
        ch: char,
        /// Its position, from 1.
        position: usize,
        /// The identifier type, in words ("resident ID number", "phone number", …).
        what: &'static str,
    },
    /// A character where a digit is required.
    #[error("character {ch:?} at position {position} must be a digit")]
    ExpectedDigit {
        /// The character.
        ch: char,
        /// Its position, from 1.
        position: usize,
    },
    /// Whitespace inside an identifier type that does not allow separators.
    #[error("whitespace at position {position} inside the {what}")]
    InternalWhitespace {
        /// Its position, from 1.
        position: usize,
        /// The identifier type, in words.
        what: &'static str,
    },
    /// The identifier has the wrong length.
    #[error("{what} has {actual} {unit}, expected {expected}")]
    Length {
        /// The identifier type, in words.
        what: &'static str,
        /// The length found.
        actual: usize,
        /// What is counted ("characters", "digits", "hex digits").
        unit: &'static str,
        /// The accepted lengths, in words ("18 (or 15 for a legacy number)").
        expected: &'static str,
    },
    /// The check character (GB 11643 or GB 32100) does not match the rest of the identifier.
    #[error("check character is {found}, expected {expected}")]
    CheckCharacter {
        /// The check character in the input.
        found: char,
        /// The check character computed from the other characters.
        expected: char,
    },

    // ----- cn_id -----
    /// The region code of a resident ID number starts with 0.
    #[error("region code {region} must start with a digit 1-9")]
    RegionCode {
        /// The six-digit region code.
        region: String,
    },
    /// The birth date of a resident ID number is not a calendar date.
    #[error("birth date {date:08} is not a calendar date")]
    BirthDateInvalid {
        /// The date as written, `YYYYMMDD`.
        date: u32,
    },
    /// The birth date of a resident ID number is before 1900-01-01.
    #[error("birth date {date:08} is before 1900")]
    BirthDateTooEarly {
        /// The date, `YYYYMMDD`.
        date: u32,
    },
    /// The birth date of a resident ID number is after today.
    #[error("birth date {date:08} is in the future (today is {today:08})")]
    BirthDateInFuture {
        /// The date, `YYYYMMDD`.
        date: u32,
        /// Today, `YYYYMMDD`, China Standard Time.
        today: u32,
    },

    // ----- phone -----
    /// A phone number with neither `+` nor `00` that is not a bare mainland mobile number.
    #[error("no country code (write +<country code> or 00<country code>)")]
    NoCountryCode,
    /// A bare 11-digit phone number (no country code) that does not start with 1.
    #[error("11-digit number without country code must start with 1 (mainland mobile)")]
    BareNumberNotMobile,
    /// The `+` of a phone number is not at its start.
    #[error("'+' at position {position} must come before every digit")]
    MisplacedPlus {
        /// Its position, from 1.
        position: usize,
    },
    /// The digits after `+` (or `00`) start with 0.
    #[error("country code must not start with 0")]
    CountryCodeZero,
    /// A +86 number keeps the domestic trunk prefix 0.
    #[error("+86 number must not keep the trunk prefix 0")]
    MainlandTrunkPrefix,
    /// A +86 mobile number (starting with 1) does not have 11 digits after 86.
    #[error("+86 mobile number has {digits} digits after 86, expected 11")]
    MainlandMobileLength {
        /// Digits after the country code.
        digits: usize,
    },

    // ----- bank_card -----
    /// The card number fails the Luhn check.
    #[error("Luhn check failed: check digit is {found}, expected {expected}")]
    Luhn {
        /// The last digit of the input.
        found: char,
        /// The check digit computed from the other digits.
        expected: char,
    },

    // ----- email -----
    /// An e-mail address without exactly one `@`.
    #[error("e-mail address must have exactly one '@', found {found}")]
    EmailAtSign {
        /// How many `@` were found.
        found: usize,
    },
    /// The part of an e-mail address before `@` is empty.
    #[error("e-mail address has nothing before '@'")]
    EmailLocalEmpty,
    /// The part of an e-mail address before `@` is longer than 64 characters.
    #[error("e-mail local part has {len} characters, at most 64")]
    EmailLocalTooLong {
        /// Its length.
        len: usize,
    },
    /// The local part starts or ends with a dot, or has two dots in a row.
    #[error("e-mail local part has a leading, trailing or double dot")]
    EmailLocalDots,
    /// The domain of an e-mail address is malformed.
    #[error("e-mail domain {problem}")]
    EmailDomain {
        /// What is wrong ("needs at least one dot", "has an empty label", …).
        problem: &'static str,
    },
    /// The whole e-mail address is longer than 254 characters.
    #[error("e-mail address has {len} characters, at most 254")]
    EmailTooLong {
        /// Its length.
        len: usize,
    },

    // ----- device_id -----
    /// A device id with dashes that is not shaped 8-4-4-4-12.
    #[error("device id with dashes must be a UUID xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx")]
    UuidShape,
    /// Braces that do not enclose exactly a UUID.
    #[error("braces must enclose exactly a UUID")]
    Braces,
}
