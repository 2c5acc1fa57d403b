//! Parallel single-file replay against sequential replay: the sink must see the same samples
//! (series ids, labels, timestamps, value bits), the same metadata calls in the same order,
//! and the replay must return the same statistics, or the same error after the same prefix.
//! Random files in both formats cut into many small ranges: families that repeat, histograms
//! and summaries (with buckets missing `le` in the middle of a family), invalid escapes, bad
//! lines, blank lines, invalid UTF-8, samples without timestamps, `# EOF` in the middle, and
//! lenient and strict modes.

use std::fmt::Write as _;

use promlite_expfmt::replay::{
    replay_file, replay_file_parallel, ReplayOptions, ReplaySeries, SampleSink,
};
use promlite_expfmt::{FamilyMetadata, Format};
use proptest::prelude::*;

/// Every call a sink receives, commits left out (their number differs by design).
#[derive(Debug, Default, PartialEq)]
struct Recorder {
    calls: Vec<String>,
}

impl SampleSink for Recorder {
    type Error = std::convert::Infallible;

    fn append(&mut self, series: &ReplaySeries, t: i64, v: f64) -> Result<(), Self::Error> {
        self.calls.push(format!(
            "{}#{} {t} {:x}",
            series.id,
            series.labels,
            v.to_bits()
        ));
        Ok(())
    }

    fn commit(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }

    fn metadata(&mut self, name: &str, m: &FamilyMetadata) -> Result<(), Self::Error> {
        self.calls.push(format!("meta {name} {m:?}"));
        Ok(())
    }
}

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

/// A random exposition file; `noise` is the percentage of damaged lines.
fn random_file(seed: u64, om: bool, noise: u64) -> Vec<u8> {
    let mut rng = Rng(seed | 1);
    let mut out = String::new();
    let families = ["http", "temp", "lat", "rpc", "up"];
    let types: &[&str] = if om {
        &["counter", "gauge", "histogram", "summary", "unknown"]
    } else {
        &["counter", "gauge", "histogram", "summary", "untyped"]
    };
    let n_families = 3 + rng.below(10);
    let mut t = 1_700_000_000_000i64;
    for _ in 0..n_families {
        let family = families[rng.below(families.len() as u64) as usize];
        let ty = types[rng.below(types.len() as u64) as usize];
        if rng.chance(80) {
            writeln!(out, "# TYPE {family} {ty}").unwrap();
        }
        if rng.chance(60) {
            let help = if rng.chance(20) {
                "bad \\q escape"
            } else {
                "help"
            };
            writeln!(out, "# HELP {family} {help}").unwrap();
        }
        if om && rng.chance(20) {
            writeln!(out, "# UNIT {family} seconds").unwrap();
        }
        let n_series = 1 + rng.below(6);
        for s in 0..n_series {
            let name = match ty {
                "counter" if om => format!("{family}_total"),
                "histogram" => format!("{family}_bucket"),
                _ => family.to_string(),
            };
            let extra = match ty {
                "histogram" if rng.chance(95) => format!(",le=\"{}\"", s),
                "summary" if rng.chance(95) => format!(",quantile=\"0.{}\"", s),
                _ => String::new(),
            };
            let value_text = if rng.chance(5) { "a\\qb" } else { "v" };
            let series = format!("{name}{{pod=\"p{s}\",x=\"{value_text}\"{extra}}}");
            let n_samples = 1 + rng.below(60);
            // Going back in time across families sometimes.
            if rng.chance(30) {
                t -= 3_600_000 * rng.below(1000) as i64;
            }
            for k in 0..n_samples {
                let ts = t + k as i64 * 15_000 - if rng.chance(3) { 30_000 } else { 0 };
                let ts_text = if om {
                    format!("{}", ts as f64 / 1000.0)
                } else {
                    ts.to_string()
                };
                let roll = rng.below(1000);
                if roll < noise * 10 {
                    match rng.below(7) {
                        0 => out.push_str("garbage line {\n"),
                        1 => out.push('\n'),
                        2 => writeln!(out, "{series} 1").unwrap(),
                        3 => out.push_str("bad\u{fffd}\n"),
                        4 => {
                            out.push('x');
                            // Invalid UTF-8 is pushed through a marker replaced below.
                            out.push_str("@@BADUTF8@@\n");
                        }
                        5 => writeln!(out, "{series} {k} {ts_text}").unwrap(),
                        _ => {
                            writeln!(out, "{family}_extra{{a=\"1\",a=\"2\"}} 1 {ts_text}").unwrap()
                        }
                    }
                }
                let value = if rng.chance(2) {
                    "NaN".to_string()
                } else {
                    format!("{}", rng.below(10_000) as f64 / 8.0)
                };
                writeln!(out, "{series} {value} {ts_text}").unwrap();
            }
        }
        t += 600_000;
        if rng.chance(noise / 2) {
            out.push_str("# EOF\n");
        }
    }
    if om && !rng.chance(noise) {
        out.push_str("# EOF\n");
    }
    let mut bytes = Vec::with_capacity(out.len());
    for piece in out.split("@@BADUTF8@@") {
        if !bytes.is_empty() {
            bytes.extend_from_slice(&[0xff, 0xfe]);
        }
        bytes.extend_from_slice(piece.as_bytes());
    }
    bytes
}

fn run(
    path: &std::path::Path,
    lenient: bool,
    parallel: Option<(usize, usize)>,
) -> (Recorder, String) {
    let mut sink = Recorder::default();
    let mut opts = ReplayOptions {
        lenient,
        chunk_size: 4096,
        ..ReplayOptions::default()
    };
    let outcome = match parallel {
        None => replay_file(path, &mut opts, &mut sink),
        Some((workers, range)) => {
            opts.workers = workers;
            opts.range_size = range;
            replay_file_parallel(path, &mut opts, &mut sink)
        }
    };
    let outcome = match outcome {
        Ok(stats) => format!("{stats:?}"),
        Err(e) => format!("error: {e}"),
    };
    (sink, outcome)
}

fn check(seed: u64, om: bool, noise: u64, lenient: bool, workers: usize) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(if om { "f.om" } else { "f.prom" });
    std::fs::write(&path, random_file(seed, om, noise)).unwrap();
    let (seq_sink, seq) = run(&path, lenient, None);
    for range in [4096, 6000, 1 << 20] {
        let (par_sink, par) = run(&path, lenient, Some((workers, range)));
        assert_eq!(
            par, seq,
            "outcome, seed {seed} om {om} lenient {lenient} range {range}"
        );
        assert_eq!(
            par_sink.calls.len(),
            seq_sink.calls.len(),
            "number of sink calls, seed {seed}"
        );
        for (i, (a, b)) in par_sink.calls.iter().zip(&seq_sink.calls).enumerate() {
            assert_eq!(a, b, "sink call {i}, seed {seed} om {om} range {range}");
        }
    }
}

#[test]
fn a_clean_large_file_gives_the_same_calls() {
    for seed in 1..6 {
        check(seed * 7919, true, 0, false, 2);
        check(seed * 7919, false, 0, false, 3);
    }
}

#[test]
fn the_format_is_forced_the_same_way() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.txt");
    std::fs::write(&path, random_file(42, true, 0)).unwrap();
    let mut a = Recorder::default();
    let mut b = Recorder::default();
    let mut opts = ReplayOptions {
        format: Some(Format::OpenMetrics),
        ..ReplayOptions::default()
    };
    let sa =
        replay_file(&path, &mut opts, &mut a).map_or_else(|e| e.to_string(), |s| format!("{s:?}"));
    opts.workers = 2;
    opts.range_size = 4096;
    let sb = replay_file_parallel(&path, &mut opts, &mut b)
        .map_or_else(|e| e.to_string(), |s| format!("{s:?}"));
    assert_eq!(sa, sb);
    assert_eq!(a, b);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn parallel_replay_matches_sequential(
        seed in 1u64..u64::MAX,
        om in any::<bool>(),
        noise in prop_oneof![Just(0u64), 1u64..4, 4u64..20],
        lenient in any::<bool>(),
        workers in 2usize..4,
    ) {
        check(seed, om, noise, lenient, workers);
    }
}

/// A family whose first samples open a range (a cut right after an unrelated sample that
/// follows the family's TYPE line) and whose metadata comes back in a later range, as that
/// range's first line: the parallel reader must carry "the family has samples" from the
/// leading samples across ranges, so the late line fails as it does sequentially. Cuts land
/// at the second line start after a range's nominal start, so the layout is computed.
#[test]
fn late_metadata_of_a_long_family_fails_the_same_way() {
    let dir = tempfile::tempdir().unwrap();
    for om in [true, false] {
        let mut text = String::new();
        let mut k = 0;
        while text.len() < 4096 - 200 {
            writeln!(text, "pad_metric{{i=\"{k}\"}} 1 1700000000").unwrap();
            k += 1;
        }
        // Exactly 4090 bytes before the TYPE line, which then crosses offset 4096.
        let filler = 4090 - text.len() - "pad_metric{i=\"\"} 1 1700000000\n".len();
        writeln!(
            text,
            "pad_metric{{i=\"{}\"}} 1 1700000000",
            "x".repeat(filler)
        )
        .unwrap();
        assert_eq!(text.len(), 4090);
        text.push_str("# TYPE http counter\n");
        text.push_str("other_metric 1 1700000000\n");
        // The family's samples until one crosses offset 2 * 4096, then one more.
        let mut k = 0;
        while text.len() <= 2 * 4096 {
            writeln!(
                text,
                "http_total{{pod=\"p{}\"}} {k} {}",
                k / 100,
                1_700_000_000 + k
            )
            .unwrap();
            k += 1;
        }
        writeln!(text, "http_total{{pod=\"q\"}} 1 {}", 1_700_000_000 + k).unwrap();
        text.push_str("# HELP http late help\n");
        writeln!(text, "http_total{{pod=\"late\"}} 1 1700009999").unwrap();
        if om {
            text.push_str("# EOF\n");
        }
        let path = dir.path().join(if om { "late.om" } else { "late.prom" });
        std::fs::write(&path, &text).unwrap();
        for lenient in [false, true] {
            let (seq_sink, seq) = run(&path, lenient, None);
            let (par_sink, par) = run(&path, lenient, Some((2, 4096)));
            assert_eq!(par, seq, "om {om} lenient {lenient}");
            assert_eq!(par_sink, seq_sink, "om {om}");
            if om && !lenient {
                assert!(seq.contains("HELP for metric family"), "{seq}");
            }
        }
    }
}
