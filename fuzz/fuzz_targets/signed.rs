//! Fuzz target `signed` (`cargo +nightly fuzz run signed` from the repository root): fengxin-signed
//! publications, signed publications, query requests, signed query requests and receipts, via
//! postcard (the first byte picks which). Typed errors are fine; a decoded value must round-trip
//! (see `fengxin_fuzz::signed`), and anything else (a panic, a failed round trip) is a crash.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| fengxin_fuzz::signed::fuzz(data));
