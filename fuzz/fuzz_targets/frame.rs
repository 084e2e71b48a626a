//! Fuzz target `frame` (`cargo +nightly fuzz run frame` from the repository root): fengxin-net
//! frames (length prefix, version byte, postcard body) under the limit the first byte picks, and
//! the protocol messages they carry. Typed errors are fine; a decoded value must round-trip (see
//! `fengxin_fuzz::frame`), and anything else (a panic, a failed round trip) is a crash.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| fengxin_fuzz::frame::fuzz(data));
