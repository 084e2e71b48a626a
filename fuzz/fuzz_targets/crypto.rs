//! Fuzz target `crypto` (`cargo +nightly fuzz run crypto` from the repository root):
//! `IdentityPublicKey` and `OprfPublicKey` from bytes and from hex (the first byte picks which).
//! Typed errors are fine; a decoded value must round-trip (see `fengxin_fuzz::crypto`), and
//! anything else (a panic, a failed round trip) is a crash.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| fengxin_fuzz::crypto::fuzz(data));
