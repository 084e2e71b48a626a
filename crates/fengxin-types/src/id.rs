//! Identifier types of the data standard and their canonical forms (docs/design.md).
//!
//! Every member bank cleans its data to the same canonical strings, so that the same person,
//! company, card or device gives the same tag at every bank. A [`CanonicalId`] can only be built
//! by [`CanonicalId::parse`], which either returns the canonical form or an [`IdError`] whose
//! `Display` is a short reason suitable for "row 17, field identifier: `<reason>`". Each type also
//! has its own newtype ([`CnId`], [`Uscc`], [`Phone`], [`BankCard`], [`Account`], [`Email`],
//! [`DeviceId`]) that `CanonicalId::parse` dispatches to.
//!
//! # Common cleaning (every type, in this order)
//!
//! 1. Full-width ASCII variants U+FF01..U+FF5E (`１`, `Ａ`, `＋`, `－`, `＠`, `．`, …) are mapped to
//!    their ASCII counterparts.
//! 2. Surrounding Unicode whitespace (including the ideographic space U+3000, tabs and line
//!    ends) is trimmed. Nothing left: [`IdError::Empty`].
//! 3. Any remaining control character is rejected ([`IdError::ControlCharacter`]).
//! 4. Inputs longer than [`MAX_INPUT_CHARS`] characters are rejected before any further work.
//!
//! Anything else that does not fit the type is rejected with a reason; nothing is silently
//! dropped or guessed. Positions in errors count characters from 1 in the cleaned (trimmed)
//! input, except where the error says otherwise.
//!
//! # Canonical forms
//!
//! - `cn_id`: 18 characters, GB 11643: 17 digits and a check character (`0`-`9` or `X`,
//!   ISO 7064 MOD 11-2). The region code's first digit is 1-9; the birth date (characters 7-14)
//!   is a real calendar date from 1900-01-01 to today (China Standard Time, UTC+8); a lower-case
//!   `x` is upper-cased. A 15-digit legacy number (6-digit region, `YYMMDD` birth date read as
//!   `19YY`, 3-digit sequence) is upgraded to 18 characters by inserting `19` and computing the
//!   check character. [`CnId::parse_as_of`] takes "today" as an argument for pure use.
//! - `uscc`: 18 characters, GB 32100: alphabet `0123456789ABCDEFGHJKLMNPQRTUWXY` (no I, O, Z,
//!   S, V), characters 3-8 (the region code) are digits, the 18th is the MOD 31 check character.
//!   Lower case is upper-cased. The registration-authority and organisation-type codes
//!   (characters 1-2) and the embedded organisation code are not checked further.
//! - `phone`: E.164, `+` then 8-15 digits, the first non-zero. Spaces (any non-control Unicode
//!   space), `-`, `.`, `(` and `)` are removed; the `+` must come before every digit. A leading
//!   `00` international prefix becomes `+`. Without `+` or `00`, only a bare 11-digit mainland
//!   mobile number starting with `1` is accepted, and gets `+86`; anything else is rejected
//!   ("no country code"). After `+86`, a number starting with `1` must have exactly 11 digits
//!   (a mobile number), except that `10` is Beijing's landline area code (`+86 10 6552 9988`);
//!   the domestic trunk prefix `0` is rejected (`+86 010…` would never match `+86 10…`).
//! - `bank_card`: 12-19 digits after removing spaces and `-`, passing the Luhn check.
//! - `account`: upper-case (ASCII), 1-64 characters of ASCII letters, digits, `-`, `_`, `.`,
//!   `/`; internal whitespace is rejected rather than removed.
//! - `email`: lower-case (ASCII), exactly one `@`, at most 254 characters in all. Local part:
//!   1-64 characters of the RFC 5322 `atext` set plus `.`, with no leading, trailing or double
//!   dot (no quoted strings, comments or non-ASCII addresses). Domain: at least two labels
//!   separated by dots, each 1-63 letters, digits or hyphens, not starting or ending with a
//!   hyphen (no IP-literal domains).
//! - `device_id`: lower-case hexadecimal. A UUID, written with dashes (8-4-4-4-12), as 32 hex
//!   digits, or either of those inside `{…}`, becomes the lower-case dashed form
//!   `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (any UUID version or variant). Any other identifier
//!   is a plain hex string of 8-128 digits other than 32 (Android ID, IMEI-hashes, vendor
//!   fingerprints), stored lower-case without separators. Braces are accepted only around a UUID.

mod account;
mod bank_card;
mod cn_id;
mod device_id;
mod email;
mod error;
mod normalise;
mod phone;
mod uscc;

pub use account::Account;
pub use bank_card::BankCard;
pub use cn_id::{CivilDate, CnId};
pub use device_id::DeviceId;
pub use email::Email;
pub use error::IdError;
pub use normalise::MAX_INPUT_CHARS;
pub use phone::Phone;
pub use uscc::Uscc;

use std::fmt;
use std::str::FromStr;

/// The identifier types of the data standard.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum IdType {
    /// Resident identity card number (GB 11643), `cn_id`.
    CnId,
    /// Unified social credit code of an organisation (GB 32100), `uscc`.
    Uscc,
    /// Phone number in E.164 form, `phone`.
    Phone,
    /// Bank card number (Luhn-checked PAN), `bank_card`.
    BankCard,
    /// Bank account number, `account`.
    Account,
    /// E-mail address, `email`.
    Email,
    /// Device identifier (UUID or hex string), `device_id`.
    DeviceId,
}

impl IdType {
    /// Every identifier type, in declaration order.
    pub const ALL: [IdType; 7] = [
        IdType::CnId,
        IdType::Uscc,
        IdType::Phone,
        IdType::BankCard,
        IdType::Account,
        IdType::Email,
        IdType::DeviceId,
    ];

    /// The stable name used in files, the CLI and stored data (`cn_id`, `uscc`, `phone`,
    /// `bank_card`, `account`, `email`, `device_id`).
    pub fn as_str(self) -> &'static str {
        match self {
            IdType::CnId => "cn_id",
            IdType::Uscc => "uscc",
            IdType::Phone => "phone",
            IdType::BankCard => "bank_card",
            IdType::Account => "account",
            IdType::Email => "email",
            IdType::DeviceId => "device_id",
        }
    }
}

/// A string that names no identifier type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown identifier type {0:?}")]
pub struct UnknownIdType(pub String);

impl FromStr for IdType {
    type Err = UnknownIdType;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        IdType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| UnknownIdType(s.to_owned()))
    }
}

impl serde::Serialize for IdType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for IdType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for IdType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An identifier in the canonical form of its type; it exists only if the input was valid.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct CanonicalId {
    id_type: IdType,
    value: String,
}

impl CanonicalId {
    /// Cleans and checks `raw` as an identifier of type `id_type` and returns its canonical form.
    /// A pure function of its arguments: `today` is the latest birth date a `cn_id` may carry
    /// (the caller reads the clock, e.g. [`CivilDate::today_china`]).
    pub fn parse(id_type: IdType, raw: &str, today: CivilDate) -> Result<Self, IdError> {
        Ok(match id_type {
            IdType::CnId => CnId::parse_as_of(raw, today)?.into(),
            IdType::Uscc => Uscc::parse(raw)?.into(),
            IdType::Phone => Phone::parse(raw)?.into(),
            IdType::BankCard => BankCard::parse(raw)?.into(),
            IdType::Account => Account::parse(raw)?.into(),
            IdType::Email => Email::parse(raw)?.into(),
            IdType::DeviceId => DeviceId::parse(raw)?.into(),
        })
    }

    /// The identifier's type.
    pub fn id_type(&self) -> IdType {
        self.id_type
    }

    /// The canonical form.
    pub fn as_str(&self) -> &str {
        &self.value
    }
}

impl fmt::Display for CanonicalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.value)
    }
}

/// Defines the shared surface of a per-type newtype: `as_str`, `into_string`, `Display`,
/// `AsRef<str>` and the conversion into [`CanonicalId`].
macro_rules! id_newtype {
    ($name:ident, $id_type:expr) => {
        impl $name {
            /// The canonical form.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The canonical form, by value.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl From<$name> for $crate::id::CanonicalId {
            fn from(id: $name) -> Self {
                $crate::id::CanonicalId::from_checked($id_type, id.0)
            }
        }
    };
}
pub(crate) use id_newtype;

impl CanonicalId {
    /// Wraps a value that a per-type parser has already checked and canonicalised.
    fn from_checked(id_type: IdType, value: String) -> Self {
        Self { id_type, value }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names_round_trip() {
        for t in IdType::ALL {
            assert_eq!(t.as_str().parse::<IdType>(), Ok(t));
            assert_eq!(t.to_string(), t.as_str());
        }
        assert_eq!(
            "CN_ID".parse::<IdType>(),
            Err(UnknownIdType("CN_ID".to_owned()))
        );
    }

    #[test]
    fn dispatch_keeps_type_and_canonical_form() {
        let cases = [
            (IdType::CnId, "11010519491231002x", "11010519491231002X"),
            (IdType::Uscc, "91350100m000100y43", "91350100M000100Y43"),
            (IdType::Phone, "138 0013 8000", "+8613800138000"),
            (IdType::BankCard, "4111 1111 1111 1111", "4111111111111111"),
            (IdType::Account, " acc-1 ", "ACC-1"),
            (IdType::Email, "Li.Lei@Example.COM", "li.lei@example.com"),
            (
                IdType::DeviceId,
                "{6F9619FF-8B86-D011-B42D-00C04FC964FF}",
                "6f9619ff-8b86-d011-b42d-00c04fc964ff",
            ),
        ];
        for (t, raw, canonical) in cases {
            let id = CanonicalId::parse(t, raw, crate::CivilDate::today_china()).expect(raw);
            assert_eq!(id.id_type(), t);
            assert_eq!(id.as_str(), canonical);
            assert_eq!(id.to_string(), canonical);
        }
    }

    #[test]
    fn same_string_different_types_differ() {
        let a = CanonicalId::parse(IdType::Account, "12345678", crate::CivilDate::today_china())
            .expect("account");
        let d = CanonicalId::parse(
            IdType::DeviceId,
            "12345678",
            crate::CivilDate::today_china(),
        )
        .expect("device id");
        assert_eq!(a.as_str(), d.as_str());
        assert_ne!(a, d);
    }

    #[test]
    fn empty_and_whitespace_are_empty_for_every_type() {
        for t in IdType::ALL {
            for raw in ["", "   ", "\u{3000}\t\r\n"] {
                assert_eq!(
                    CanonicalId::parse(t, raw, crate::CivilDate::today_china()),
                    Err(IdError::Empty),
                    "{t} {raw:?}"
                );
            }
        }
    }
}
