//! Frozen `wal/bounds` fixtures (`testdata/format/wal_bounds/`): both versions must decode to
//! the values the README states, forever, and this build must write version 2 byte for byte.

use std::path::Path;

use promlite_storage::wal::bounds::{decode_bounds, encode_bounds, WalBounds};

fn fixture(name: &str) -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/format/wal_bounds")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn version_1_still_reads() {
    assert_eq!(
        decode_bounds(&fixture("bounds_v1")),
        Ok(WalBounds {
            first_segment: 43,
            checkpoint: Some(42),
            min_valid_time: i64::MIN,
        })
    );
}

#[test]
fn version_2_reads_and_is_what_this_build_writes() {
    let want = WalBounds {
        first_segment: 43,
        checkpoint: Some(42),
        min_valid_time: -7000,
    };
    let bytes = fixture("bounds_v2");
    assert_eq!(decode_bounds(&bytes), Ok(want));
    assert_eq!(encode_bounds(&want).as_slice(), bytes.as_slice());
}
