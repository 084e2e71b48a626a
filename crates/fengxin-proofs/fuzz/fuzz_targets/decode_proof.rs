//! `cargo +nightly fuzz run decode_proof` (from crates/fengxin-proofs): proof decoding never
//! panics, and whatever decodes re-encodes to the same bytes.
#![no_main]

use fengxin_proofs::MembershipProof;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(proof) = MembershipProof::from_bytes(data) {
        assert_eq!(proof.to_bytes(), data);
    }
});
