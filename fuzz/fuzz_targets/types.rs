//! Fuzz target `types` (`cargo +nightly fuzz run types` from the repository root): `Tag` (bytes,
//! hex, serde), `ListId::parse`, `MemberName::parse`, `Epoch` via serde (postcard and JSON), and
//! `CanonicalId::parse` for every `IdType` (the first byte picks which). Typed errors are fine; a
//! decoded value must round-trip (see `fengxin_fuzz::types`), and anything else (a panic, a failed
//! round trip) is a crash.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| fengxin_fuzz::types::fuzz(data));
