//! Frozen format fixtures: `testdata/format/block_v1/` was written by this build's block writer
//! and must stay readable forever; `testdata/format/block_v1_corrupt/` is a copy with one flipped
//! byte in its chunk segment and must keep failing with a corruption error.
//!
//! Regenerate (only when the format version changes, with a new directory name) with
//! `PROMLITE_BLESS=1 cargo test -p promlite-storage --test block_fixture`.

mod block_util;

use std::path::{Path, PathBuf};

use block_util::{bits, fixture_model, read_everything, source};
use promlite_storage::block::{write_block, Block, BlockId, WriteOptions};
use promlite_storage::reader::BlockReader;

/// The fixture block's fixed id.
const FIXTURE_ID: &str = "01HF00000000000000000FXT01";

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/format")
}

fn fixture_dir() -> PathBuf {
    testdata().join("block_v1").join(FIXTURE_ID)
}

fn corrupt_dir() -> PathBuf {
    testdata().join("block_v1_corrupt").join(FIXTURE_ID)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), dest).unwrap();
        }
    }
}

fn bless() {
    let id = BlockId::parse(FIXTURE_ID).unwrap();
    for dir in [
        testdata().join("block_v1"),
        testdata().join("block_v1_corrupt"),
    ] {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
    }
    let opts = WriteOptions {
        id: Some(id),
        ..WriteOptions::default()
    };
    write_block(
        &testdata().join("block_v1"),
        source(&fixture_model(), 120),
        opts,
    )
    .unwrap();
    copy_dir(&fixture_dir(), &corrupt_dir());
    let segment = corrupt_dir().join("chunks").join("000001");
    let mut bytes = std::fs::read(&segment).unwrap();
    bytes[40] ^= 0x10;
    std::fs::write(&segment, bytes).unwrap();
}

#[test]
fn frozen_v1_block_still_reads() {
    if std::env::var_os("PROMLITE_BLESS").is_some() {
        bless();
    }
    let got = read_everything(&fixture_dir()).unwrap();
    let want = fixture_model();
    assert_eq!(got.len(), want.len());
    for ((gl, gs), (wl, ws)) in got.iter().zip(&want) {
        assert_eq!(gl, wl);
        assert_eq!(bits(gs), bits(ws), "{gl}");
    }
    let block = Block::open(&fixture_dir()).unwrap();
    assert_eq!(block.meta().ulid.to_string(), FIXTURE_ID);
    assert_eq!(block.meta().stats.num_series, 9);
    assert_eq!(block.time_range(), (-5_000, i64::MAX));
}

#[test]
fn frozen_corrupt_block_fails_clearly() {
    // Opening validates the index and headers, which are intact; reading the damaged chunk run
    // reports the segment file and the checksum.
    let err = read_everything(&corrupt_dir()).unwrap_err();
    assert!(
        err.contains("chunks/000001") && err.contains("checksum mismatch"),
        "{err}"
    );
}
