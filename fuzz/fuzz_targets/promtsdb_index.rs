//! Fuzz target: Prometheus block `index` files (format v2) through `IndexReader`: a mutated
//! copy of promtool's frozen fixture index (optionally re-sealed: the TOC and the symbol,
//! label offset and postings offset tables get fresh CRCs so their parsers run on the mutated
//! bytes), then every series and postings list is read. Any outcome but a panic is fine.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use promlite_promtsdb::index::IndexReader;

const INDEX: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../testdata/format/prometheus_blocks/promtool/01M8TVKC7M8J36SS8RTM855F2P/index"
));
const TOC_LEN: usize = 52;

fn be64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// Recomputes the CRC of the `len <be32> | body | crc <be32>` section at `offset`, if it fits.
fn reseal_section(index: &mut [u8], offset: u64) {
    // The offset comes from mutated bytes: every sum is checked (the harness must not panic
    // where the reader would not).
    let Ok(start) = usize::try_from(offset) else { return };
    let Some(len_end) = start.checked_add(4) else { return };
    let Some(len) = index.get(start..len_end) else { return };
    let len = u32::from_be_bytes(len.try_into().unwrap_or([0; 4])) as usize;
    let Some(body_end) = len_end.checked_add(len) else { return };
    if body_end.checked_add(4).is_none_or(|end| end > index.len()) {
        return;
    }
    let crc = crc32c::crc32c(&index[start + 4..body_end]);
    index[body_end..body_end + 4].copy_from_slice(&crc.to_be_bytes());
}

fn reseal(index: &mut [u8]) {
    let Some(toc) = index.len().checked_sub(TOC_LEN) else { return };
    for entry in [0usize, 3, 5] {
        if let Some(offset) = be64(index, toc + entry * 8) {
            reseal_section(index, offset);
        }
    }
    let crc = crc32c::crc32c(&index[toc..toc + 48]);
    index[toc + 48..toc + 52].copy_from_slice(&crc.to_be_bytes());
}

fuzz_target!(|data: &[u8]| {
    let [mode, at_lo, at_hi, patch @ ..] = data else {
        return;
    };
    let mut index = INDEX.to_vec();
    let at = usize::from(u16::from_le_bytes([*at_lo, *at_hi]));
    match mode % 3 {
        0 => {
            let len = index.len();
            for (i, b) in patch.iter().enumerate() {
                index[(at + i) % len] ^= b;
            }
        }
        1 => {
            index.truncate(at % (index.len() + 1));
            index.extend_from_slice(patch);
        }
        _ => index = patch.to_vec(),
    }
    if mode & 0x80 != 0 {
        reseal(&mut index);
    }
    let Ok(reader) = IndexReader::from_bytes(Path::new("index"), index) else {
        return;
    };
    let pairs: Vec<(String, String)> = reader
        .label_pairs()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    for (name, value) in pairs {
        if let Ok(refs) = reader.postings(&name, &value) {
            for r in refs {
                let _ = reader.series(r);
            }
        }
    }
});
