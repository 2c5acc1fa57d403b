//! The bulk replay path (parallel parse, blocks written directly) against the head path
//! (sequential parse, head and WAL, then a flush), on random files: random families and
//! series, families out of time order (a later family years before an earlier one), duplicate
//! samples (equal: ignored; another value: refused), bad lines in lenient mode, both formats. The stored samples (value bits), the metadata,
//! the replay statistics, the block contents (`meta.json` counts and chunk bytes of the
//! level-1 blocks when the file is in time order) and `check` must all agree, also after an
//! error in strict mode (the prefix is kept by both).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use promlite::{Db, Options, ReplayOptions, ReplaySource};
use promlite_model::{MatchOp, Matcher, Queryable, SelectHints};
use proptest::prelude::*;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// A random timestamped file, each series in time order. `travel`: families jump back in
/// time (years) as well as forward. `noise`: per-mille of bad lines and duplicates.
fn random_file(seed: u64, om: bool, travel: bool, noise: u64) -> String {
    let mut rng = Rng(seed | 1);
    let mut out = String::new();
    let mut t = 1_700_000_000_000i64;
    let n_families = 1 + rng.below(6);
    for f in 0..n_families {
        let family = format!("fam{f}");
        let ty = ["counter", "gauge"][rng.below(2) as usize];
        writeln!(out, "# TYPE {family} {ty}").unwrap();
        if rng.chance(50) {
            writeln!(out, "# HELP {family} Family {f}.").unwrap();
        }
        let name = if om && ty == "counter" {
            format!("{family}_total")
        } else {
            family.clone()
        };
        if travel && rng.chance(50) {
            t -= 3 * 365 * 86_400_000 + rng.below(86_400_000) as i64;
        } else {
            t += rng.below(4 * 3_600_000) as i64;
        }
        let step = [1_000i64, 15_000, 60_000, 600_000][rng.below(4) as usize];
        for s in 0..1 + rng.below(8) {
            let series = format!("{name}{{pod=\"p{s}\",node=\"n{}\"}}", s % 3);
            let n = 1 + rng.below(500);
            let mut v = rng.below(100) as f64;
            for k in 0..n as i64 {
                let ts = t + k * step + (s as i64) * 7;
                v += (rng.below(10) as f64) / 4.0;
                let ts_text = if om {
                    format!("{}", ts as f64 / 1000.0)
                } else {
                    ts.to_string()
                };
                let line = format!("{series} {v} {ts_text}\n");
                out.push_str(&line);
                if rng.below(1000) < noise {
                    match rng.below(3) {
                        0 => out.push_str("not a sample\n"),
                        // A bitwise duplicate: ignored by both.
                        1 => out.push_str(&line),
                        // The same time with another value: refused by both. (The head path
                        // backfills samples older than the head silently, last value winning,
                        // so this is only generated without time travel.)
                        _ if !travel => writeln!(out, "{series} {} {ts_text}", v + 0.5).unwrap(),
                        _ => out.push_str("not a sample either\n"),
                    }
                }
            }
        }
    }
    if om {
        out.push_str("# EOF\n");
    }
    out
}

type Samples = BTreeMap<(String, i64), u64>;

fn samples(db: &Db) -> Samples {
    let q = db.storage().querier(i64::MIN / 4, i64::MAX / 4).unwrap();
    let all = q
        .select(
            &SelectHints::default(),
            &[Matcher::new(MatchOp::Regex, "__name__", ".+").unwrap()],
        )
        .unwrap();
    let mut out = Samples::new();
    for mut s in all {
        let mut got = Vec::new();
        s.samples
            .collect_range(i64::MIN / 4, i64::MAX / 4, &mut got)
            .unwrap();
        for sample in got {
            out.insert((s.labels.to_string(), sample.t), sample.v.to_bits());
        }
    }
    out
}

/// Block contents: (min, max, counts, chunk bytes) per block, sorted.
fn blocks(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let meta = entry.path().join("meta.json");
        let Ok(text) = std::fs::read_to_string(&meta) else {
            continue;
        };
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        // The compaction level is history (how many merges), not content: the head path
        // merges in more steps than one planner run over the bulk path's blocks.
        let key = format!("{} {} {}", json["minTime"], json["maxTime"], json["stats"]);
        let mut chunks = Vec::new();
        let mut segs: Vec<_> = std::fs::read_dir(entry.path().join("chunks"))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        segs.sort();
        for seg in segs {
            chunks.extend(std::fs::read(seg).unwrap());
        }
        out.push((key, chunks));
    }
    out.sort();
    out
}

struct Outcome {
    result: String,
    samples: Samples,
    metadata: String,
    blocks: Vec<(String, Vec<u8>)>,
}

fn replay(file: &Path, dir: &Path, lenient: bool, bulk: bool) -> Outcome {
    let db = Db::open(dir, Options::default()).unwrap();
    let options = ReplayOptions {
        lenient,
        flush: bulk,
        ..ReplayOptions::default()
    };
    let result = db.replay(ReplaySource::File(file), options);
    let result = match result {
        Ok(stats) => {
            if !bulk {
                db.flush().unwrap();
            }
            let mut input = stats.input.clone();
            input.errors.iter_mut().for_each(|e| e.path.clear());
            format!(
                "{input:?} rejected {} {:?} stale {}",
                stats.rejected_samples, stats.rejected_by_reason, stats.rejected_stale_markers
            )
        }
        Err(e) => format!("error: {e}"),
    };
    drop(db);
    let report = promlite::storage_check::check_dir(dir).unwrap();
    assert!(report.is_ok(), "check: {report:?}");
    // What is durable: a fresh handle on the directory.
    let db = Db::open(dir, Options::default()).unwrap();
    Outcome {
        result,
        samples: samples(&db),
        metadata: format!("{:?}", db.metadata().unwrap()),
        blocks: blocks(dir),
    }
}

fn check(seed: u64, om: bool, travel: bool, noise: u64, lenient: bool) {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join(if om { "f.om" } else { "f.prom" });
    std::fs::write(&file, random_file(seed, om, travel, noise)).unwrap();
    let head = replay(&file, &tmp.path().join("head"), lenient, false);
    let bulk = replay(&file, &tmp.path().join("bulk"), lenient, true);
    assert_eq!(bulk.result, head.result, "seed {seed}");
    assert_eq!(bulk.samples.len(), head.samples.len(), "seed {seed}");
    assert_eq!(bulk.samples, head.samples, "seed {seed}");
    assert_eq!(bulk.metadata, head.metadata, "seed {seed}");
    // After a strict-mode error the head path leaves its prefix in the WAL (no flush), the
    // bulk path in blocks: the same samples, another layout.
    if !travel && !head.result.starts_with("error") {
        let keys = |o: &Outcome| o.blocks.iter().map(|b| b.0.clone()).collect::<Vec<_>>();
        assert_eq!(keys(&bulk), keys(&head), "seed {seed}: block metas");
        for (i, (a, b)) in bulk.blocks.iter().zip(&head.blocks).enumerate() {
            assert!(
                a.1 == b.1,
                "seed {seed}: chunk bytes of block {i} ({})",
                a.0
            );
        }
    }
}

#[test]
fn a_clean_file_gives_identical_blocks() {
    for seed in 1..5 {
        check(seed * 104_729, true, false, 0, false);
        check(seed * 104_729, false, false, 0, false);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn bulk_replay_matches_head_replay(
        seed in 1u64..u64::MAX,
        om in any::<bool>(),
        travel in any::<bool>(),
        noise in prop_oneof![Just(0u64), 1u64..20],
        lenient in any::<bool>(),
    ) {
        // Strict mode stops at the first bad line; the head path keeps its prefix in the head
        // only for samples it did not backfill, so time travel is compared in lenient mode.
        let lenient = lenient || travel;
        check(seed, om, travel, noise, lenient);
    }
}
