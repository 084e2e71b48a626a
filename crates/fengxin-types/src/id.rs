//! Identifier types and canonical forms (DESIGN §4). PLACEHOLDER: being replaced.

use std::fmt;
use std::str::FromStr;

/// The identifier types of the data standard.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum IdType {
    /// Resident identity card number.
    CnId,
    /// Unified social credit code.
    Uscc,
    /// Phone number.
    Phone,
    /// Bank card number.
    BankCard,
    /// Account number.
    Account,
    /// E-mail address.
    Email,
    /// Device id.
    DeviceId,
}

impl IdType {
    /// All types.
    pub const ALL: [IdType; 7] = [
        IdType::CnId,
        IdType::Uscc,
        IdType::Phone,
        IdType::BankCard,
        IdType::Account,
        IdType::Email,
        IdType::DeviceId,
    ];
    /// Stable name.
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

/// Unknown type name.
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

impl fmt::Display for IdType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an identifier is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdError {
    /// Empty.
    #[error("identifier is empty")]
    Empty,
}

/// A canonical identifier.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct CanonicalId {
    id_type: IdType,
    value: String,
}

impl CanonicalId {
    /// Parse.
    pub fn parse(id_type: IdType, raw: &str) -> Result<Self, IdError> {
        let v = raw.trim();
        if v.is_empty() {
            return Err(IdError::Empty);
        }
        Ok(Self {
            id_type,
            value: v.to_uppercase(),
        })
    }
    /// Type.
    pub fn id_type(&self) -> IdType {
        self.id_type
    }
    /// Canonical string.
    pub fn as_str(&self) -> &str {
        &self.value
    }
}
