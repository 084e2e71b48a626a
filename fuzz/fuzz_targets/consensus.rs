//! Fuzz target `consensus` (`cargo +nightly fuzz run consensus` from the repository root):
//! consensus `RaftRpc` requests and `RaftReply` replies, decoded with postcard as fengxin-node does
//! (the first byte picks which). Typed errors are fine; a decoded value must round-trip (see
//! `fengxin_fuzz::consensus`), and anything else (a panic, a failed round trip) is a crash.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| fengxin_fuzz::consensus::fuzz(data));
