//! Fuzz target: arbitrary bytes as a `wal/bounds` file. `decode_bounds` must return an error
//! or bounds, never panic, and whatever decodes must re-encode (as version 2) to bytes that
//! decode to the same bounds; version 2 input must re-encode byte for byte.
#![no_main]

use libfuzzer_sys::fuzz_target;
use promlite_storage::wal::bounds::{decode_bounds, encode_bounds, BOUNDS_VERSION};

fuzz_target!(|data: &[u8]| {
    if let Ok(b) = decode_bounds(data) {
        let again = encode_bounds(&b);
        assert_eq!(decode_bounds(&again), Ok(b));
        if data.get(4) == Some(&BOUNDS_VERSION) {
            assert_eq!(&again[..], data);
        }
    }
});
