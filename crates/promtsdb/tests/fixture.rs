//! The frozen blocks promtool 2.42 wrote (testdata/format/prometheus_blocks): we read them to
//! the samples of the OpenMetrics file they came from, re-encode every chunk byte for byte, and
//! turn every truncation or corruption into a typed error.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use promlite_model::{Labels, Sample};
use promlite_promtsdb::chunks::{check_segment_header, read_chunk};
use promlite_promtsdb::xor::{decode_xor, XorChunkEncoder, ENCODING_XOR};
use promlite_promtsdb::{find_blocks, Block, Error};

fn fixture_dir() -> PathBuf {
    promlite_testkit::workspace_root().join("testdata/format/prometheus_blocks")
}

fn read_all(dir: &Path) -> BTreeMap<Labels, Vec<(i64, u64)>> {
    let mut out: BTreeMap<Labels, Vec<(i64, u64)>> = BTreeMap::new();
    for path in find_blocks(dir).unwrap() {
        let block = Block::open(&path).unwrap();
        for r in block.series_refs().unwrap() {
            let (labels, samples) = block.read_series(r).unwrap();
            out.entry(labels)
                .or_default()
                .extend(samples.iter().map(|s| (s.t, s.v.to_bits())));
        }
    }
    out
}

#[test]
fn promtool_blocks_hold_the_samples_of_their_openmetrics_file() {
    let dir = fixture_dir();
    let blocks = read_all(&dir.join("promtool"));
    // The reference: promlite's own replay of the same file.
    let db = promlite::Db::in_memory();
    db.replay_file(dir.join("input.om")).unwrap();
    let (lo, hi) = db.time_range().unwrap();
    let querier = promlite_model::Queryable::querier(db.storage(), lo, hi).unwrap();
    let hints = promlite_model::SelectHints {
        start: lo,
        end: hi,
        ..Default::default()
    };
    let matchers = promlite::parse_selector(r#"{__name__=~".+"}"#).unwrap();
    let mut replayed: BTreeMap<Labels, Vec<(i64, u64)>> = BTreeMap::new();
    for mut s in querier.select(&hints, &matchers).unwrap() {
        let mut v: Vec<Sample> = Vec::new();
        s.samples.collect_range(lo, hi, &mut v).unwrap();
        replayed.insert(s.labels, v.iter().map(|s| (s.t, s.v.to_bits())).collect());
    }
    assert_eq!(blocks.len(), 3);
    // Independent count: one sample line per sample in the file.
    let text = std::fs::read_to_string(dir.join("input.om")).unwrap();
    let lines = text.lines().filter(|l| !l.starts_with('#')).count();
    assert_eq!(blocks.values().map(Vec::len).sum::<usize>(), lines);
    assert_eq!(blocks.len(), replayed.len());
    for ((la, a), (lb, b)) in blocks.iter().zip(&replayed) {
        assert_eq!(la, lb);
        assert_eq!(a.len(), b.len(), "{la}");
        for (x, y) in a.iter().zip(b) {
            // Go parses "NaN" as 0x7ff8000000000001 and promlite as 0x7ff8000000000000; any
            // NaN that is not the staleness marker is the same value to PromQL.
            let ordinary_nan =
                |bits: u64| f64::from_bits(bits).is_nan() && bits != promlite_model::STALE_NAN_BITS;
            let same = x.1 == y.1 || (ordinary_nan(x.1) && ordinary_nan(y.1));
            assert!(
                x.0 == y.0 && same,
                "{la}: block sample {x:?} vs replayed {y:?}"
            );
        }
    }
    let quoted = blocks
        .keys()
        .find(|l| l.metric_name() == Some("temperature"))
        .unwrap();
    assert_eq!(quoted.get("unit"), Some("\"C\""));
    assert_eq!(quoted.get("room"), Some("a b"));
}

#[test]
fn encoder_matches_promtool_bytes() {
    // Every chunk promtool wrote, decoded and re-encoded by us, is byte-identical.
    let mut n_chunks = 0;
    for block_dir in find_blocks(&fixture_dir().join("promtool")).unwrap() {
        let block = Block::open(&block_dir).unwrap();
        let segment = std::fs::read(block_dir.join("chunks/000001")).unwrap();
        for r in block.series_refs().unwrap() {
            for meta in block.index().series(r).unwrap().chunks {
                let raw = read_chunk(&segment, meta.chunk_ref & 0xffff_ffff).unwrap();
                assert_eq!(raw.encoding, ENCODING_XOR);
                let samples = decode_xor(raw.data, 0).unwrap();
                let mut enc = XorChunkEncoder::new();
                for (t, v) in &samples {
                    enc.append(*t, *v).unwrap();
                }
                assert_eq!(
                    enc.bytes(),
                    raw.data,
                    "chunk {:#x} of {}",
                    meta.chunk_ref,
                    block_dir.display()
                );
                n_chunks += 1;
            }
        }
    }
    assert_eq!(
        n_chunks, 10,
        "the fixture's meta files list 5 + 4 + 1 chunks"
    );
}

/// Copies the fixture's blocks into a temporary directory.
fn copy_blocks(to: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for block in find_blocks(&fixture_dir().join("promtool")).unwrap() {
        let dest = to.join(block.file_name().unwrap());
        std::fs::create_dir_all(dest.join("chunks")).unwrap();
        for f in ["meta.json", "index", "tombstones", "chunks/000001"] {
            std::fs::copy(block.join(f), dest.join(f)).unwrap();
        }
        out.push(dest);
    }
    out
}

/// Opens the block and reads every series; the first error.
fn read_block(dir: &Path) -> Result<usize, Error> {
    let block = Block::open(dir)?;
    let mut n = 0;
    for r in block.series_refs()? {
        n += block.read_series(r)?.1.len();
    }
    Ok(n)
}

fn error_names(err: &Error, file: &str) -> bool {
    let text = err.to_string();
    text.contains(file)
}

#[test]
fn truncated_files_give_errors_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let blocks = copy_blocks(tmp.path());
    let block = &blocks[0];
    for file in ["index", "chunks/000001", "tombstones"] {
        let path = block.join(file);
        let original = std::fs::read(&path).unwrap();
        for cut in 0..original.len() {
            std::fs::write(&path, &original[..cut]).unwrap();
            let err = read_block(block).expect_err(&format!("{file} cut at {cut} was accepted"));
            assert!(error_names(&err, file), "{file} cut at {cut}: {err}");
        }
        std::fs::write(&path, &original).unwrap();
    }
    assert_eq!(read_block(block).unwrap(), 654);
}

#[test]
fn flipped_bytes_never_panic_and_checksummed_bytes_are_caught() {
    let tmp = tempfile::tempdir().unwrap();
    let blocks = copy_blocks(tmp.path());
    let block = &blocks[0];
    let good = read_block(block).unwrap();
    for file in ["index", "chunks/000001"] {
        let path = block.join(file);
        let original = std::fs::read(&path).unwrap();
        let mut caught = 0;
        for pos in 0..original.len() {
            let mut bad = original.clone();
            bad[pos] ^= 0x5a;
            std::fs::write(&path, &bad).unwrap();
            match read_block(block) {
                Err(err) => {
                    assert!(error_names(&err, file), "{file} byte {pos}: {err}");
                    caught += 1;
                }
                // Only padding and unused sections can change without an error, and then the
                // block must still read the same samples.
                Ok(n) => assert_eq!(n, good, "{file} byte {pos} changed the data silently"),
            }
        }
        std::fs::write(&path, &original).unwrap();
        // Every byte of a chunk segment but the header's 3 padding bytes is under a magic,
        // version, length or CRC.
        if file.starts_with("chunks") {
            assert_eq!(
                caught,
                original.len() - 3,
                "{file}: some flipped byte went unnoticed"
            );
        } else {
            assert!(
                caught * 10 > original.len() * 9,
                "{file}: only {caught} of {} flips caught",
                original.len()
            );
        }
    }
}

#[test]
fn errors_carry_the_offset_of_the_bad_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let blocks = copy_blocks(tmp.path());
    let segment = blocks[0].join("chunks/000001");
    let mut bytes = std::fs::read(&segment).unwrap();
    assert!(check_segment_header(&bytes).is_ok());
    bytes[0] ^= 1;
    std::fs::write(&segment, &bytes).unwrap();
    match Block::open(&blocks[0]) {
        Err(Error::Corrupt { path, offset, .. }) => {
            assert_eq!(path, segment);
            assert_eq!(offset, 0);
        }
        other => panic!("expected a corruption error, got {other:?}"),
    }
    // A chunk's CRC mismatch names the chunk's offset (the first chunk sits at byte 8).
    bytes[0] ^= 1;
    bytes[12] ^= 0x10;
    std::fs::write(&segment, &bytes).unwrap();
    let err = read_block(&blocks[0]).unwrap_err();
    match err {
        Error::Checksum { path, offset, .. } => {
            assert_eq!(path, segment);
            assert_eq!(offset, 8);
        }
        other => panic!("expected a checksum error, got {other:?}"),
    }
}
