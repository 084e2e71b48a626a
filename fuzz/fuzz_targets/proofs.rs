//! Fuzz target `proofs` (`cargo +nightly fuzz run proofs` from the repository root):
//! `MembershipProof::from_bytes`; proofs are canonical, so a decoded proof re-encodes to the input.
//! Typed errors are fine; a decoded value must round-trip (see `fengxin_fuzz::proofs`), and
//! anything else (a panic, a failed round trip) is a crash.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| fengxin_fuzz::proofs::fuzz(data));
