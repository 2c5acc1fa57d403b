//! Block round trips: series written with `write_block` come back unchanged through
//! `Block::open` and `BlockReader`, including random series sets (proptest), time filtering of
//! chunks, writer precondition errors, and crash-safe directory handling.

mod block_util;

use std::collections::BTreeMap;

use block_util::{bits, chunks_of, decode_all, read_all, source, Model};
use promlite_model::{Labels, Matcher};
use promlite_storage::block::{self, write_block, Block, BlockWriter, WriteOptions};
use promlite_storage::index::Section;
use promlite_storage::reader::BlockReader;
use promlite_storage::Error;
use proptest::prelude::*;

fn sample_model() -> Model {
    let mut m = Model::new();
    for pod in 0..5 {
        for metric in ["cpu", "mem"] {
            let labels = Labels::from_pairs([
                ("__name__", metric.to_string()),
                ("pod", format!("pod-{pod}")),
                (
                    "namespace",
                    if pod % 2 == 0 {
                        "a".to_string()
                    } else {
                        "b".to_string()
                    },
                ),
            ]);
            let samples = (0..300)
                .map(|i| (1_000_000 + i * 15_000, (pod * 1000 + i) as f64 * 0.5))
                .collect();
            m.insert(labels, samples);
        }
    }
    m
}

#[test]
fn written_block_reads_back_identically() {
    let dir = tempfile::tempdir().unwrap();
    let model = sample_model();
    let meta = write_block(dir.path(), source(&model, 120), WriteOptions::default()).unwrap();
    assert_eq!(meta.stats.num_series, 10);
    assert_eq!(meta.stats.num_samples, 3000);
    assert_eq!(meta.stats.num_chunks, 30);
    assert_eq!(
        (meta.min_time, meta.max_time),
        (1_000_000, 1_000_000 + 299 * 15_000)
    );

    let block = Block::open(&dir.path().join(meta.ulid.to_string())).unwrap();
    assert_eq!(block.meta(), &meta);
    assert_eq!(block.time_range(), (meta.min_time, meta.max_time));
    let got = read_all(&block);
    let want: Vec<_> = model.iter().map(|(l, s)| (l.clone(), s.clone())).collect();
    assert_eq!(got.len(), want.len());
    for ((gl, gs), (wl, ws)) in got.iter().zip(&want) {
        assert_eq!(gl, wl);
        assert_eq!(bits(gs), bits(ws));
    }
    assert_eq!(
        block.label_names(&[]).unwrap(),
        vec!["__name__", "namespace", "pod"]
    );
    assert_eq!(
        block.label_values("namespace", &[]).unwrap(),
        vec!["a", "b"]
    );
    let cpu_in_a = [
        Matcher::equal("__name__", "cpu"),
        Matcher::equal("namespace", "a"),
    ];
    assert_eq!(
        block.label_values("pod", &cpu_in_a).unwrap(),
        vec!["pod-0", "pod-2", "pod-4"]
    );
    assert!(block.size_bytes() > 0);
    assert_eq!(
        block::list_blocks(dir.path()).unwrap(),
        vec![dir.path().join(meta.ulid.to_string())]
    );
}

#[test]
fn series_chunks_returns_only_overlapping_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let labels = Labels::from_pairs([("__name__", "x")]);
    let samples: Vec<(i64, f64)> = (0..360).map(|i| (i * 10, i as f64)).collect();
    let meta = write_block(
        dir.path(),
        [(labels, chunks_of(&samples, 120))],
        WriteOptions::default(),
    )
    .unwrap();
    let block = Block::open(&dir.path().join(meta.ulid.to_string())).unwrap();
    let mut out = Vec::new();
    block.series_chunks(0, 1200, 1250, &mut out).unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!((out[0].min_time, out[0].max_time), (1200, 2390));
    out.clear();
    block.series_chunks(0, 1185, 2400, &mut out).unwrap();
    assert_eq!(
        out.iter().map(|c| c.min_time).collect::<Vec<_>>(),
        vec![0, 1200, 2400]
    );
    out.clear();
    block.series_chunks(0, 4000, 5000, &mut out).unwrap();
    assert!(out.is_empty());
    assert!(
        block.series_labels(1).is_err(),
        "ref past the end is an error, not a panic"
    );
}

#[test]
fn writer_rejects_unsorted_series_and_overlapping_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let a = Labels::from_pairs([("a", "1")]);
    let b = Labels::from_pairs([("a", "2")]);
    let chunks = chunks_of(&[(1, 1.0), (2, 2.0)], 120);
    let mut w = BlockWriter::create(dir.path(), WriteOptions::default()).unwrap();
    w.add_series(&b, &chunks).unwrap();
    assert!(matches!(
        w.add_series(&a, &chunks),
        Err(Error::InvalidBlockInput(_))
    ));
    assert!(matches!(
        w.add_series(&b, &chunks),
        Err(Error::InvalidBlockInput(_))
    ));
    let mut overlapping = chunks_of(&[(1, 1.0), (5, 2.0)], 120);
    overlapping.extend(chunks_of(&[(5, 1.0), (6, 2.0)], 120));
    let c = Labels::from_pairs([("a", "3")]);
    assert!(matches!(
        w.add_series(&c, &overlapping),
        Err(Error::InvalidBlockInput(_))
    ));
    let tmp = dir.path().join(format!("{}.tmp", w.id()));
    assert!(tmp.is_dir());
    drop(w);
    assert!(
        !tmp.exists(),
        "an unfinished writer cleans up its temporary directory"
    );
}

#[test]
fn empty_series_are_skipped_and_an_empty_block_opens() {
    let dir = tempfile::tempdir().unwrap();
    let meta = write_block(
        dir.path(),
        [(Labels::from_pairs([("a", "1")]), Vec::new())],
        WriteOptions::default(),
    )
    .unwrap();
    assert_eq!(meta.stats.num_series, 0);
    assert_eq!((meta.min_time, meta.max_time), (i64::MAX, i64::MIN));
    let block = Block::open(&dir.path().join(meta.ulid.to_string())).unwrap();
    assert!(block.postings(&[]).unwrap().is_empty());
    assert!(block.label_names(&[]).unwrap().is_empty());
}

#[test]
fn leftover_tmp_directories_are_removed_and_deleted_blocks_disappear() {
    let dir = tempfile::tempdir().unwrap();
    let model = sample_model();
    let meta = write_block(dir.path(), source(&model, 120), WriteOptions::default()).unwrap();
    let stray = dir.path().join(format!("{}.tmp", block::BlockId::new()));
    std::fs::create_dir_all(stray.join("chunks")).unwrap();
    std::fs::create_dir_all(dir.path().join("wal")).unwrap();
    let listed = block::list_blocks(dir.path()).unwrap();
    assert_eq!(listed.len(), 1);
    assert!(!stray.exists());
    assert!(
        dir.path().join("wal").exists(),
        "non-block directories are left alone"
    );

    // An open block stays readable after deletion (the maps keep the pages alive).
    let path = dir.path().join(meta.ulid.to_string());
    let block = Block::open(&path).unwrap();
    block::delete_block(&path).unwrap();
    assert!(!path.exists());
    assert_eq!(read_all(&block).len(), model.len());
}

fn labels_strategy() -> impl Strategy<Value = Labels> {
    prop::collection::btree_map("[a-d]{1,2}", "[a-c]{1,2}|x\u{e9}y", 1..4)
        .prop_map(Labels::from_pairs)
}

fn samples_strategy() -> impl Strategy<Value = Vec<(i64, f64)>> {
    (
        any::<i32>(),
        prop::collection::vec((1i64..100_000, any::<f64>()), 1..300),
    )
        .prop_map(|(start, steps)| {
            let mut t = i64::from(start);
            steps
                .into_iter()
                .map(|(d, v)| {
                    t += d;
                    (t, v)
                })
                .collect()
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn random_series_sets_round_trip(
        series in prop::collection::btree_map(labels_strategy(), samples_strategy(), 1..30),
        per_chunk in prop_oneof![Just(1u16), Just(7), Just(120)],
    ) {
        let model: Model = series;
        let dir = tempfile::tempdir().unwrap();
        let meta = write_block(dir.path(), source(&model, per_chunk), WriteOptions::default()).unwrap();
        let block = Block::open(&dir.path().join(meta.ulid.to_string())).unwrap();
        let got = read_all(&block);
        prop_assert_eq!(got.len(), model.len());
        for ((gl, gs), (wl, ws)) in got.iter().zip(&model) {
            prop_assert_eq!(gl, wl);
            prop_assert_eq!(bits(gs), bits(ws));
        }
        let n_samples: usize = model.values().map(Vec::len).sum();
        prop_assert_eq!(meta.stats.num_samples, n_samples as u64);
        // Time filtering never drops an overlapping chunk.
        let (lo, hi) = (meta.min_time / 2 + meta.max_time / 2, meta.max_time);
        for (series, (_, ws)) in model.iter().enumerate() {
            let mut chunks = Vec::new();
            block.series_chunks(series as u32, lo, hi, &mut chunks).unwrap();
            let got: Vec<_> = decode_all(&chunks).into_iter().filter(|s| s.0 >= lo && s.0 <= hi).collect();
            let want: Vec<_> = ws.iter().copied().filter(|s| s.0 >= lo && s.0 <= hi).collect();
            prop_assert_eq!(bits(&got), bits(&want));
        }
    }
}

#[test]
fn large_symbol_tables_are_compressed_and_read_back() {
    // Enough distinct, repetitive values that the snappy-compressed symbol table pays.
    let mut model = BTreeMap::new();
    for i in 0..2000 {
        let labels = Labels::from_pairs([
            ("__name__", "container_cpu_usage_seconds_total".to_string()),
            ("pod", format!("deployment-frontend-7d9f8c6b5-{i:05}")),
        ]);
        model.insert(labels, vec![(i, 1.0)]);
    }
    let dir = tempfile::tempdir().unwrap();
    let meta = write_block(dir.path(), source(&model, 120), WriteOptions::default()).unwrap();
    let block = Block::open(&dir.path().join(meta.ulid.to_string())).unwrap();
    assert_eq!(block.label_values("pod", &[]).unwrap().len(), 2000);
    assert_eq!(read_all(&block).len(), 2000);
    let raw_symbols: u64 = model
        .keys()
        .map(|l| l.get("pod").unwrap().len() as u64 + 1)
        .sum();
    let sizes = block.index().section_sizes();
    let (section, symbols_len) = sizes[0];
    assert_eq!(section, Section::Symbols);
    assert!(
        symbols_len < raw_symbols / 2,
        "symbols take {symbols_len} bytes, raw {raw_symbols}"
    );
    // Single-series postings use the delta list: a few bytes each, not roaring's 18.
    let (_, postings_len) = sizes[4];
    assert!(
        postings_len < 2000 * 6,
        "postings take {postings_len} bytes"
    );
}
