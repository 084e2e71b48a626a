//! Fuzz target `ledger` (`cargo +nightly fuzz run ledger` from the repository root): ledger
//! `Record`s, `Batch`es, `Block`s, snapshot bodies and `AllowanceClaim::from_bytes` (the first byte
//! picks which). Typed errors are fine; a decoded value must round-trip (see
//! `fengxin_fuzz::ledger`), and anything else (a panic, a failed round trip) is a crash.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| fengxin_fuzz::ledger::fuzz(data));
