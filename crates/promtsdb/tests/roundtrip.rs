//! Export then import without an oracle: the round trip keeps every sample bit for bit,
//! selectors and time bounds restrict the export, overlapping blocks merge, tombstones delete,
//! and failures are typed errors naming the block.

mod common;

use std::path::Path;

use promlite_model::{Labels, Sample, STALE_NAN};
use promlite_promtsdb::tombstones::{encode_tombstones, Tombstone};
use promlite_promtsdb::{
    export_blocks, find_blocks, import_blocks, Block, BlockWriter, Error, ExportOptions,
};

const HOUR: i64 = 3_600_000;

fn sample_db(dir: &Path) -> promlite::Db {
    let db = promlite::Db::open(dir, promlite::Options::default()).unwrap();
    let mut app = db.appender();
    let values = [
        1.0,
        -0.0,
        f64::NAN,
        STALE_NAN,
        f64::INFINITY,
        2.5e-310,
        42.125,
    ];
    for (job, step) in [("a", 15_000i64), ("b", 7_001)] {
        let labels = Labels::from_pairs([("__name__", "m"), ("job", job)]);
        for i in 0..3000i64 {
            let t = 10 * HOUR + i * step;
            app.append(&labels, t, values[(i as usize) % values.len()] + (i as f64))
                .unwrap();
        }
    }
    let other = Labels::from_pairs([("__name__", "other")]);
    app.append(&other, 10 * HOUR, 7.0).unwrap();
    app.commit().unwrap();
    db.flush().unwrap();
    db
}

#[test]
fn export_then_import_keeps_every_sample() {
    let tmp = common::scratch();
    let db = sample_db(&tmp.path().join("db"));
    let out = tmp.path().join("blocks");
    let summary = export_blocks(&db, &out, &ExportOptions::default(), &mut |_| {}).unwrap();
    // a spans 2999 * 15 s = 12.5 h from 10:00: blocks 10-12, 12-14, ..., 22-24.
    assert_eq!(summary.blocks.len(), 7);
    for meta in &summary.blocks {
        assert_eq!(
            meta.min_time.div_euclid(2 * HOUR),
            (meta.max_time - 1).div_euclid(2 * HOUR)
        );
        assert_eq!(meta.compaction.sources, vec![meta.ulid.clone()]);
    }
    let back = promlite::Db::open(tmp.path().join("back"), promlite::Options::default()).unwrap();
    let imported = import_blocks(&back, &out, &mut |_, _| {}).unwrap();
    assert_eq!(imported.samples, 6001);
    assert_eq!(imported.blocks, 7);
    let want = common::db_samples(&db);
    let got = common::db_samples(&back);
    // Bit for bit, the staleness marker and NaN payloads included.
    assert_eq!(want, got);
}

#[test]
fn selectors_and_time_bounds_restrict_the_export() {
    let tmp = common::scratch();
    let db = sample_db(&tmp.path().join("db"));
    let out = tmp.path().join("blocks");
    let options = ExportOptions {
        start: Some(11 * HOUR),
        end: Some(13 * HOUR),
        selectors: vec![r#"m{job="b"}"#.into(), "other".into()],
        ..ExportOptions::default()
    };
    let summary = export_blocks(&db, &out, &options, &mut |_| {}).unwrap();
    let mut series = std::collections::BTreeSet::new();
    let mut n = 0;
    for dir in find_blocks(&out).unwrap() {
        let block = Block::open(&dir).unwrap();
        for r in block.series_refs().unwrap() {
            let (labels, samples) = block.read_series(r).unwrap();
            assert!(samples
                .iter()
                .all(|s| (11 * HOUR..=13 * HOUR).contains(&s.t)));
            n += samples.len() as u64;
            series.insert(labels);
        }
    }
    assert_eq!(n, summary.samples);
    // job="b" samples at 10h + i*7.001s inside [11h, 13h]: i from 515 to 1542.
    assert_eq!(n, 1542 - 515 + 1);
    let names: Vec<String> = series.iter().map(ToString::to_string).collect();
    assert_eq!(names, vec![r#"{__name__="m", job="b"}"#.to_string()]);
}

fn write_block(parent: &Path, ulid: &str, series: &[(&Labels, Vec<Sample>)]) -> std::path::PathBuf {
    let mut w = BlockWriter::create(parent, ulid).unwrap();
    for (labels, samples) in series {
        w.add_series(labels, samples).unwrap();
    }
    let meta = w.finish().unwrap().unwrap();
    parent.join(meta.ulid)
}

#[test]
fn overlapping_blocks_merge_and_tombstones_delete() {
    let tmp = common::scratch();
    let blocks = tmp.path().join("blocks");
    std::fs::create_dir_all(&blocks).unwrap();
    let x = Labels::from_pairs([("__name__", "x")]);
    let y = Labels::from_pairs([("__name__", "y")]);
    let s = |ts: std::ops::Range<i64>| -> Vec<Sample> {
        ts.step_by(10).map(|t| Sample::new(t, t as f64)).collect()
    };
    write_block(
        &blocks,
        "01AAAAAAAAAAAAAAAAAAAAAAAA",
        &[(&x, s(0..100)), (&y, s(0..30))],
    );
    write_block(&blocks, "01BBBBBBBBBBBBBBBBBBBBBBBB", &[(&x, s(50..150))]);
    let third = write_block(&blocks, "01CCCCCCCCCCCCCCCCCCCCCCCC", &[(&y, s(200..260))]);
    // Delete y's 210..=230 in the third block.
    let block = Block::open(&third).unwrap();
    let y_ref = block.series_refs().unwrap()[0];
    std::fs::write(
        third.join("tombstones"),
        encode_tombstones(&[Tombstone {
            series_ref: u64::from(y_ref),
            min_time: 210,
            max_time: 230,
        }]),
    )
    .unwrap();

    let db = promlite::Db::open(tmp.path().join("db"), promlite::Options::default()).unwrap();
    let summary = import_blocks(&db, &blocks, &mut |_, _| {}).unwrap();
    assert_eq!(summary.blocks, 3);
    let got = common::db_samples(&db);
    let times = |l: &Labels| -> Vec<i64> { got[l].iter().map(|s| s.0).collect() };
    assert_eq!(times(&x), (0..150).step_by(10).collect::<Vec<_>>());
    assert_eq!(times(&y), vec![0, 10, 20, 200, 240, 250]);
}

#[test]
fn import_failures_are_typed_and_name_the_block() {
    let tmp = common::scratch();
    let blocks = tmp.path().join("blocks");
    std::fs::create_dir_all(&blocks).unwrap();
    let x = Labels::from_pairs([("__name__", "x")]);
    let dir = write_block(
        &blocks,
        "01AAAAAAAAAAAAAAAAAAAAAAAA",
        &[(&x, vec![Sample::new(1000, 1.0)])],
    );

    // A database that already holds newer data for the series refuses the old sample.
    let db = promlite::Db::open(tmp.path().join("db"), promlite::Options::default()).unwrap();
    let mut app = db.appender();
    app.append(&x, 5000, 2.0).unwrap();
    app.commit().unwrap();
    match import_blocks(&db, &blocks, &mut |_, _| {}) {
        Err(Error::Append { block, t, .. }) => {
            assert_eq!(block, dir);
            assert_eq!(t, 1000);
        }
        other => panic!("expected an append error, got {other:?}"),
    }

    // A broken meta file is a meta error naming it.
    std::fs::write(dir.join("meta.json"), b"{\"ulid\": 3").unwrap();
    let fresh = promlite::Db::open(tmp.path().join("fresh"), promlite::Options::default()).unwrap();
    match import_blocks(&fresh, &blocks, &mut |_, _| {}) {
        Err(Error::Meta { path, .. }) => assert_eq!(path, dir.join("meta.json")),
        other => panic!("expected a meta error, got {other:?}"),
    }
}
