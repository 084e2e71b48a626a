//! Fuzz target `protocol` (`cargo +nightly fuzz run protocol` from the repository root): protocol
//! `Request`s and `Response`s decoded from a frame body as fengxin-net does (the first byte picks
//! which), and the allowance claims, proofs, publications and consensus messages nested in them.
//! Typed errors are fine; a decoded value must round-trip (see `fengxin_fuzz::protocol`), and
//! anything else (a panic, a failed round trip) is a crash.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| fengxin_fuzz::protocol::fuzz(data));
