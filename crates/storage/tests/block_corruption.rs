//! Corruption of block files: flipping any byte of `meta.json`, the index or a chunk segment,
//! or truncating any of them, makes opening or reading the block fail with a clear error. It
//! never panics and never returns different data silently.

mod block_util;

use std::path::{Path, PathBuf};

use block_util::{bits, fixture_model, read_everything, source};
use promlite_storage::block::{write_block, Block, WriteOptions};
use promlite_storage::Error;

fn fresh_block() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let meta = write_block(
        dir.path(),
        source(&fixture_model(), 120),
        WriteOptions::default(),
    )
    .unwrap();
    let path = dir.path().join(meta.ulid.to_string());
    (dir, path)
}

fn files(block: &Path) -> Vec<PathBuf> {
    vec![
        block.join("meta.json"),
        block.join("index"),
        block.join("chunks").join("000001"),
    ]
}

/// Flips bit `bit` of byte `offset` in `file`, runs `f`, and restores the byte.
fn with_flip<T>(file: &Path, offset: usize, bit: u8, f: impl FnOnce() -> T) -> T {
    let original = std::fs::read(file).unwrap();
    let mut bytes = original.clone();
    bytes[offset] ^= 1 << bit;
    std::fs::write(file, &bytes).unwrap();
    let out = f();
    std::fs::write(file, &original).unwrap();
    out
}

#[test]
fn every_flipped_byte_is_detected() {
    let (_dir, block) = fresh_block();
    let want = read_everything(&block).unwrap();
    for file in files(&block) {
        let len = std::fs::metadata(&file).unwrap().len() as usize;
        // Every byte of small files; a stride that still visits every region of larger ones.
        let stride = (len / 1500).max(1);
        let mut undetected = Vec::new();
        for offset in (0..len).step_by(stride) {
            let bit = (offset % 8) as u8;
            let result = with_flip(&file, offset, bit, || read_everything(&block));
            match result {
                Err(msg) => assert!(!msg.is_empty()),
                Ok(got) => {
                    // Never different data: an undetected flip is a failure either way, but report
                    // which kind.
                    let same = got.len() == want.len()
                        && got
                            .iter()
                            .zip(&want)
                            .all(|(g, w)| g.0 == w.0 && bits(&g.1) == bits(&w.1));
                    undetected.push((offset, bit, same));
                }
            }
        }
        assert!(
            undetected.is_empty(),
            "{}: flips not detected (offset, bit, same data): {undetected:?}",
            file.display()
        );
    }
}

#[test]
fn truncated_files_are_detected() {
    let (_dir, block) = fresh_block();
    for file in files(&block) {
        let original = std::fs::read(&file).unwrap();
        let len = original.len();
        let mut cuts: Vec<usize> = (0..len).step_by((len / 200).max(1)).collect();
        cuts.extend([
            len.saturating_sub(1),
            len.saturating_sub(4),
            len.saturating_sub(5),
        ]);
        for cut in cuts {
            std::fs::write(&file, &original[..cut]).unwrap();
            assert!(
                read_everything(&block).is_err(),
                "{} truncated to {cut} bytes went unnoticed",
                file.display()
            );
        }
        std::fs::write(&file, &original).unwrap();
    }
    assert!(read_everything(&block).is_ok());
}

#[test]
fn corruption_errors_name_the_file_and_offset() {
    let (_dir, block) = fresh_block();
    let index = block.join("index");
    let err = with_flip(&index, 20, 3, || {
        Block::open(&block).map(|_| ()).unwrap_err()
    });
    match err {
        Error::Corruption {
            path,
            offset,
            detail,
            ..
        } => {
            assert_eq!(path, index);
            assert!(offset <= 20, "offset {offset}");
            assert!(detail.contains("checksum"), "{detail}");
        }
        other => panic!("expected corruption, got {other}"),
    }
    let segment = block.join("chunks").join("000001");
    let err = with_flip(&segment, 100, 0, || read_everything(&block).unwrap_err());
    assert!(err.contains("000001") && err.contains("checksum"), "{err}");
    let meta = block.join("meta.json");
    let err = with_flip(&meta, 30, 0, || {
        Block::open(&block).map(|_| ()).unwrap_err()
    });
    assert!(
        matches!(err, Error::Corruption { ref path, .. } if *path == meta),
        "{err}"
    );
}

#[test]
fn missing_files_are_errors() {
    let (_dir, block) = fresh_block();
    std::fs::remove_file(block.join("chunks").join("000001")).unwrap();
    assert!(matches!(Block::open(&block), Err(Error::Io { .. })));
    std::fs::remove_file(block.join("index")).unwrap();
    assert!(matches!(Block::open(&block), Err(Error::Io { .. })));
}
