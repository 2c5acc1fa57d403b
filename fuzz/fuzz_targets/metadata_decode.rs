//! Fuzz target: metric metadata bytes, as a block's `metadata` file (`decode_file`, seeded by
//! mutating the frozen fixture and re-sealing its checksum so the entry decoder behind it is
//! reached) and as a WAL metadata record body (`decode_entries`). Any outcome but a panic is
//! fine; whatever decodes must encode back to bytes that decode to the same map.
#![no_main]

use libfuzzer_sys::fuzz_target;
use promlite_storage::metadata::{decode_entries, decode_file, encode_entries, encode_file};

const FIXTURE: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../testdata/format/metadata_v1/metadata"
));

/// The fixture with its body replaced by `body` and the header length and CRC made valid.
fn sealed(body: &[u8]) -> Vec<u8> {
    let mut out = FIXTURE.get(..8).unwrap_or_default().to_vec();
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(body);
    out.extend_from_slice(&crc32fast::hash(body).to_le_bytes());
    out
}

fuzz_target!(|data: &[u8]| {
    if let Ok(map) = decode_entries(data) {
        let mut again = Vec::new();
        encode_entries(&mut again, map.iter().map(|(k, v)| (k.as_str(), v)));
        assert_eq!(decode_entries(&again).ok(), Some(map));
    }
    for bytes in [data.to_vec(), sealed(data)] {
        if let Ok(map) = decode_file(&bytes) {
            assert_eq!(decode_file(&encode_file(&map)).ok(), Some(map));
        }
    }
});
