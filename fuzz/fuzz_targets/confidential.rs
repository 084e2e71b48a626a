//! Fuzz target `confidential` (`cargo +nightly fuzz run confidential` from the repository root):
//! fengxin-confidential commitments, decrypt handles, ElGamal and view keys, handle and range
//! proofs (bytes and hex), committed counts and sealed details, and `open_details` on whatever
//! details decode (the first byte picks which). Typed errors are fine; a decoded value must
//! round-trip (see `fengxin_fuzz::confidential`), and anything else (a panic, a failed round trip)
//! is a crash.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| fengxin_fuzz::confidential::fuzz(data));
