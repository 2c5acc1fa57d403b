//! Compaction helper: merging blocks (with overlapping series and duplicate timestamps) and
//! dropping samples outside a time range produce exactly the merged model.

mod block_util;

use block_util::{bits, read_all, source, Model};
use promlite_model::Labels;
use promlite_storage::block::{compact, write_block, Block, CompactOptions, WriteOptions};
use promlite_storage::reader::BlockReader;
use proptest::prelude::*;

fn block_of(dir: &std::path::Path, model: &Model) -> Block {
    let meta = write_block(dir, source(model, 120), WriteOptions::default()).unwrap();
    Block::open(&dir.join(meta.ulid.to_string())).unwrap()
}

/// The expected result: later models win on equal timestamps; only `[mint, maxt]` is kept.
fn merged(models: &[Model], mint: i64, maxt: i64) -> Model {
    let mut out = Model::new();
    for m in models {
        for (labels, samples) in m {
            let entry = out.entry(labels.clone()).or_default();
            for &(t, v) in samples {
                entry.retain(|s: &(i64, f64)| s.0 != t);
                entry.push((t, v));
            }
        }
    }
    for samples in out.values_mut() {
        samples.retain(|s| s.0 >= mint && s.0 <= maxt);
        samples.sort_by_key(|s| s.0);
    }
    out.retain(|_, s| !s.is_empty());
    out
}

fn assert_same(block: &Block, want: &Model) {
    let got = read_all(block);
    assert_eq!(got.len(), want.len());
    for ((gl, gs), (wl, ws)) in got.iter().zip(want) {
        assert_eq!(gl, wl);
        assert_eq!(bits(gs), bits(ws), "{gl}");
    }
}

#[test]
fn merges_overlapping_blocks_and_trims_to_a_range() {
    let dir = tempfile::tempdir().unwrap();
    let a = Labels::from_pairs([("__name__", "m"), ("i", "a")]);
    let b = Labels::from_pairs([("__name__", "m"), ("i", "b")]);
    let c = Labels::from_pairs([("__name__", "m"), ("i", "c")]);
    let first: Model = [
        (a.clone(), (0..600).map(|i| (i * 10, i as f64)).collect()),
        (b.clone(), vec![(5, 1.0)]),
    ]
    .into();
    let second: Model = [
        (
            a.clone(),
            (500..900).map(|i| (i * 10, -(i as f64))).collect(),
        ),
        (c.clone(), vec![(7000, 2.0)]),
    ]
    .into();
    let b1 = block_of(dir.path(), &first);
    let b2 = block_of(dir.path(), &second);
    let out = tempfile::tempdir().unwrap();
    let opts = CompactOptions {
        write: WriteOptions {
            level: 2,
            sources: vec![b1.meta().ulid, b2.meta().ulid],
            ..WriteOptions::default()
        },
        ..CompactOptions::default()
    };
    let meta = compact(out.path(), &[&b1, &b2], &opts).unwrap().unwrap();
    assert_eq!(meta.compaction.level, 2);
    assert_eq!(meta.compaction.sources.len(), 2);
    let merged_block = Block::open(&out.path().join(meta.ulid.to_string())).unwrap();
    assert_same(
        &merged_block,
        &merged(&[first.clone(), second.clone()], i64::MIN, i64::MAX),
    );
    // 900 samples of `a` in chunks of at most 480.
    let mut chunks = Vec::new();
    merged_block
        .series_chunks(0, i64::MIN, i64::MAX, &mut chunks)
        .unwrap();
    assert_eq!(chunks.len(), 2);

    // Retention-style trim of the merged block.
    let trimmed_dir = tempfile::tempdir().unwrap();
    let opts = CompactOptions {
        time_range: Some((3000, 6000)),
        ..CompactOptions::default()
    };
    let meta = compact(trimmed_dir.path(), &[&merged_block], &opts)
        .unwrap()
        .unwrap();
    let trimmed = Block::open(&trimmed_dir.path().join(meta.ulid.to_string())).unwrap();
    assert_eq!(trimmed.time_range(), (3000, 6000));
    assert_same(&trimmed, &merged(&[first, second], 3000, 6000));

    // Nothing left in range: no block is written.
    let empty_dir = tempfile::tempdir().unwrap();
    let opts = CompactOptions {
        time_range: Some((100_000, 200_000)),
        ..CompactOptions::default()
    };
    assert!(compact(empty_dir.path(), &[&trimmed], &opts)
        .unwrap()
        .is_none());
    assert_eq!(
        std::fs::read_dir(empty_dir.path()).unwrap().count(),
        0,
        "no leftover temporary directory"
    );
}

fn model_strategy() -> impl Strategy<Value = Model> {
    prop::collection::btree_map(
        prop::sample::select(vec!["a", "b", "c", "d"]).prop_map(|v| Labels::from_pairs([("s", v)])),
        prop::collection::btree_map(0i64..2000, -5i32..5, 1..200).prop_map(|m| {
            m.into_iter()
                .map(|(t, v)| (t, f64::from(v) / 2.0))
                .collect::<Vec<_>>()
        }),
        1..4,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn compaction_matches_the_merged_model(
        models in prop::collection::vec(model_strategy(), 1..4),
        range in (0i64..2000, 0i64..2000),
    ) {
        let (mint, maxt) = (range.0.min(range.1), range.0.max(range.1));
        let dir = tempfile::tempdir().unwrap();
        let blocks: Vec<Block> = models.iter().map(|m| block_of(dir.path(), m)).collect();
        let readers: Vec<&dyn BlockReader> = blocks.iter().map(|b| b as &dyn BlockReader).collect();
        let out = tempfile::tempdir().unwrap();
        let opts = CompactOptions { time_range: Some((mint, maxt)), max_samples_per_chunk: 50, ..CompactOptions::default() };
        let want = merged(&models, mint, maxt);
        match compact(out.path(), &readers, &opts).unwrap() {
            None => prop_assert!(want.is_empty()),
            Some(meta) => {
                let block = Block::open(&out.path().join(meta.ulid.to_string())).unwrap();
                let got = read_all(&block);
                prop_assert_eq!(got.len(), want.len());
                for ((gl, gs), (wl, ws)) in got.iter().zip(&want) {
                    prop_assert_eq!(gl, wl);
                    prop_assert_eq!(bits(gs), bits(ws));
                }
            }
        }
    }
}
