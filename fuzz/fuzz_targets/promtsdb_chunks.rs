//! Fuzz target: Prometheus chunk segment files and XOR chunks. The input is read three ways:
//! as raw XOR chunk data (every sample decoded), as a whole segment file (header checked, then
//! chunk after chunk from byte 8, each CRC-checked and decoded), and as a segment whose chunk
//! CRCs are made valid so the XOR decoder sees arbitrary bytes behind a good checksum. Any
//! outcome but a panic is fine.
#![no_main]

use libfuzzer_sys::fuzz_target;
use promlite_promtsdb::chunks::{check_segment_header, read_chunk};
use promlite_promtsdb::xor::decode_xor;

fn walk_segment(bytes: &[u8]) {
    if check_segment_header(bytes).is_err() {
        return;
    }
    let mut offset = 8u64;
    while let Ok(chunk) = read_chunk(bytes, offset) {
        let _ = decode_xor(chunk.data, chunk.data_offset);
        let next = chunk.data_offset + chunk.data.len() as u64 + 4;
        if next <= offset {
            break;
        }
        offset = next;
    }
}

fuzz_target!(|data: &[u8]| {
    let _ = decode_xor(data, 0);
    walk_segment(data);
    // One chunk with a valid CRC around arbitrary data.
    let mut segment = vec![0x85, 0xBD, 0x40, 0xDD, 1, 0, 0, 0];
    let mut len = data.len() as u64;
    while len >= 0x80 {
        segment.push((len as u8) | 0x80);
        len >>= 7;
    }
    segment.push(len as u8);
    segment.push(1);
    segment.extend_from_slice(data);
    let crc = crc32c::crc32c_append(crc32c::crc32c(&[1]), data);
    segment.extend_from_slice(&crc.to_be_bytes());
    walk_segment(&segment);
});
