//! Fuzz target: a mutated copy of the frozen v1 fixture block is written to a directory, opened
//! with `Block::open` and read completely through `BlockReader` (label names and values, the
//! postings of every pair and of random matchers, every series and its decoded chunks). Any
//! outcome but a panic is fine. To get past the checksums, the target can re-seal the mutated
//! index (recompute every section CRC and the table-of-contents CRC), so the parsers behind
//! them are exercised too.
#![no_main]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use libfuzzer_sys::fuzz_target;
use promlite_chunk::decode_batches;
use promlite_model::{MatchOp, Matcher};
use promlite_storage::block::Block;
use promlite_storage::reader::BlockReader;

const ID: &str = "01HF00000000000000000FXT01";
const META: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../testdata/format/block_v1/01HF00000000000000000FXT01/meta.json"
));
const INDEX: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../testdata/format/block_v1/01HF00000000000000000FXT01/index"
));
const SEGMENT: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../testdata/format/block_v1/01HF00000000000000000FXT01/chunks/000001"
));
const TOC_LEN: usize = 152;

/// Recomputes the section CRCs named by the (possibly mutated) table of contents, then the TOC's.
fn reseal_index(index: &mut [u8]) {
    let Some(toc_start) = index.len().checked_sub(TOC_LEN) else {
        return;
    };
    for i in 0..5 {
        let at = toc_start + i * 16;
        let offset = u64::from_le_bytes(index[at..at + 8].try_into().unwrap());
        let len = u64::from_le_bytes(index[at + 8..at + 16].try_into().unwrap());
        let (Ok(offset), Ok(len)) = (usize::try_from(offset), usize::try_from(len)) else {
            continue;
        };
        let Some(end) = offset.checked_add(len) else {
            continue;
        };
        if end.checked_add(4).is_some_and(|e| e <= toc_start) {
            let crc = crc32fast::hash(&index[offset..end]);
            index[end..end + 4].copy_from_slice(&crc.to_le_bytes());
        }
    }
    let crc = crc32fast::hash(&index[toc_start..toc_start + TOC_LEN - 8]);
    index[toc_start + TOC_LEN - 8..toc_start + TOC_LEN - 4].copy_from_slice(&crc.to_le_bytes());
}

fn scratch_dir() -> PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!(
        "promlite-fuzz-block-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn read_everything(dir: &Path) {
    let Ok(block) = Block::open(dir) else { return };
    let _ = block.time_range();
    if let Ok(names) = block.label_names(&[]) {
        for name in names {
            let Ok(values) = block.label_values(&name, &[]) else {
                continue;
            };
            for value in values {
                let _ = block.postings(&[Matcher::equal(name.clone(), value.clone())]);
                let _ = block.label_values(&name, &[Matcher::equal(name.clone(), value)]);
            }
            for (op, re) in [
                (MatchOp::Regex, "w.*"),
                (MatchOp::NotRegex, ".+"),
                (MatchOp::NotEqual, "x"),
            ] {
                if let Ok(m) = Matcher::new(op, name.clone(), re) {
                    let _ = block.postings(&[m.clone()]);
                    let _ = block.label_names(&[m]);
                }
            }
        }
    }
    let Ok(all) = block.postings(&[]) else { return };
    let Ok(refs) = block.sorted_postings(&all) else {
        return;
    };
    for r in refs {
        let _ = block.series_labels(r);
        let mut chunks = Vec::new();
        if block
            .series_chunks(r, i64::MIN, i64::MAX, &mut chunks)
            .is_err()
        {
            continue;
        }
        for c in &chunks {
            // The dispatching decoder, as the querier uses it: XOR (v1) and packed (v2) chunks.
            let mut n = 0usize;
            let _ = decode_batches(c.data.as_slice(), i64::MIN, i64::MAX, |ts, _| n += ts.len());
        }
    }
}

fuzz_target!(|data: &[u8]| {
    // Byte 0: which file to mutate and how; bytes 1..3: where; the rest: the mutation.
    let [mode, at_lo, at_hi, patch @ ..] = data else {
        return;
    };
    let mut meta = META.to_vec();
    let mut index = INDEX.to_vec();
    let mut segment = SEGMENT.to_vec();
    let target = match mode % 3 {
        0 => &mut meta,
        1 => &mut index,
        _ => &mut segment,
    };
    let at = usize::from(u16::from_le_bytes([*at_lo, *at_hi]));
    match (mode / 3) % 4 {
        // XOR the patch in at `at`.
        0 | 1 => {
            let len = target.len().max(1);
            for (i, b) in patch.iter().enumerate() {
                if let Some(slot) = target.get_mut(at.wrapping_add(i) % len) {
                    *slot ^= b;
                }
            }
        }
        // Truncate at `at`, then append the patch.
        2 => {
            target.truncate(at % (target.len() + 1));
            target.extend_from_slice(patch);
        }
        // Replace the file.
        _ => *target = patch.to_vec(),
    }
    if mode & 0x80 != 0 {
        reseal_index(&mut index);
    }
    let dir = scratch_dir();
    let block = dir.join(ID);
    std::fs::create_dir_all(block.join("chunks")).unwrap();
    std::fs::write(block.join("meta.json"), &meta).unwrap();
    std::fs::write(block.join("index"), &index).unwrap();
    std::fs::write(block.join("chunks").join("000001"), &segment).unwrap();
    read_everything(&block);
    let _ = std::fs::remove_dir_all(&dir);
});
