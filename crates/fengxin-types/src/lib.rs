//! Domain types shared by every Fengxin crate.
//!
//! Every type here is a newtype with private fields and a checked constructor ("parse, don't
//! validate"): a [`ListId`], an [`Epoch`], a [`Tag`] or a [`CanonicalId`] can only exist if its
//! value passed the checks, so later layers never re-validate.
//!
//! - [`id`]: the identifier types of the data standard (docs/design.md) and their canonical forms.
//! - [`list`]: list (category) identifiers such as `fraud_txn`.
//! - [`epoch`]: list epochs; each (list, epoch) has its own OPRF key and tree.
//! - [`member`]: member names.
//! - [`tag`]: the 248-bit pseudorandom tag of an entry (docs/cryptography.md).

pub mod epoch;
pub mod id;
pub mod list;
pub mod member;
pub mod tag;

pub use epoch::Epoch;
pub use id::{CanonicalId, CivilDate, IdError, IdType};
pub use list::{ListId, ListIdError, ListPolicy};
pub use member::{MemberName, MemberNameError};
pub use tag::{Tag, TagError};
