//! Golden answers without Prometheus: every workload query (testdata/workload/workload.json) runs
//! through the facade on the generated small cluster and must match the Prometheus 2.42 API
//! responses committed in testdata/workload/golden/<style>/<name>.json (see docs/differential.md,
//! "Golden answers"), with the fast path on and off.
//!
//! The data is the cluster `gen --preset small --seed 1 --style <style>` writes as OpenMetrics for
//! `promtool tsdb create-blocks-from openmetrics`, loaded two ways: appended in process into the
//! in-memory head (the same series, timestamps and values; values round-trip exactly through
//! the text, which prints shortest round-trip decimals), and that very OpenMetrics text replayed
//! through the facade into blocks on disk. Neither has staleness markers (the text carries
//! none, and promtool adds none). The sample counts are checked against the manifest like
//! scripts/prom_golden.py checks promtool's.
//!
//! Compared per evaluation: success or error (errors: `errorType` and the message text; the
//! many-to-many error by its stable parts, see [`compare_error_messages`]), result
//! type, the set of series (label sets as maps), timestamps, and values within a relative
//! tolerance of 1e-9 (absolute 1e-12 near zero, NaN equal to NaN, infinities exact), and warnings.
//! Result order is not compared (Prometheus 2.42 emits some results in hash-map order). Every
//! mismatch is collected before the test fails.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use promlite::{Db, EngineOptions, Labels, Options, QueryOutput, Value};
use promlite_cluster::{Cluster, ClusterSpec, LabelStyle, Size};
use serde_json::Value as Json;

const WORKLOAD: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/workload");

/// Relative tolerance: Prometheus 2.42 sums in hash-map order, so aggregated values may differ
/// from any fixed order in the last bits.
const REL_TOLERANCE: f64 = 1e-9;
/// Absolute tolerance for values near zero, where a relative bound means nothing.
const ABS_TOLERANCE: f64 = 1e-12;

/// A label set as a map, the way the API's `metric` object holds it.
type LabelMap = BTreeMap<String, String>;

/// One evaluation's answer in a shape both sides convert to.
#[derive(Debug)]
enum Answer {
    Success {
        result_type: String,
        /// Series keyed by label set; each holds its (time in ms, value) points. A label set
        /// seen twice is kept in `duplicates` (an answer must never hold one twice).
        series: BTreeMap<LabelMap, Vec<(i64, f64)>>,
        duplicates: Vec<LabelMap>,
        warnings: Vec<String>,
    },
    Error {
        error_type: String,
        message: String,
    },
}

/// Which evaluation of a query (for messages).
#[derive(Debug, Clone, Copy)]
enum Eval {
    Instant {
        time_ms: i64,
    },
    Range {
        start_ms: i64,
        end_ms: i64,
        step_ms: i64,
    },
}

impl std::fmt::Display for Eval {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Eval::Instant { time_ms } => write!(f, "instant time={}", seconds(time_ms)),
            Eval::Range {
                start_ms,
                end_ms,
                step_ms,
            } => write!(
                f,
                "range start={} end={} step={}",
                seconds(start_ms),
                seconds(end_ms),
                seconds(step_ms)
            ),
        }
    }
}

#[test]
fn workload_queries_match_prometheus_goldens() {
    let started = std::time::Instant::now();
    let manifest = read_json(&format!("{WORKLOAD}/workload.json"));
    let queries = manifest["queries"].as_array().cloned().unwrap_or_default();
    assert!(!queries.is_empty(), "workload.json lists no queries");
    let mut styles: Vec<String> = Vec::new();
    for q in &queries {
        let style = q["style"].as_str().unwrap_or_default().to_string();
        if !styles.contains(&style) {
            styles.push(style);
        }
    }

    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("temporary directory: {e}"));
    let mut mismatches: Vec<String> = Vec::new();
    let mut n_evaluations = 0usize;
    let mut n_series = 0usize;
    for style in &styles {
        let databases = load_databases(&manifest, style, tmp.path());
        for q in queries.iter().filter(|q| q["style"] == style.as_str()) {
            let name = q["name"].as_str().unwrap_or_default();
            let file = q["file"].as_str().unwrap_or_default();
            let expr = std::fs::read_to_string(format!("{WORKLOAD}/{file}"))
                .unwrap_or_else(|e| panic!("{WORKLOAD}/{file}: {e}"));
            let golden = read_json(&format!("{WORKLOAD}/golden/{style}/{name}.json"));
            let evals = golden_evaluations(&golden, style, name);
            // Both the manifest's times and the golden's must describe the same evaluations.
            check_times_match_manifest(&manifest, &evals, style, name, &mut mismatches);
            for (eval, expected) in &evals {
                let want = answer_from_prometheus(expected);
                if let Answer::Success { series, .. } = &want {
                    n_series += series.len() * databases.len();
                }
                for (mode, db) in &databases {
                    let got = answer_from_promlite(run(db, &expr, *eval));
                    let context = format!("{style}/{name} [{mode}] {eval}");
                    compare(&context, *eval, &want, &got, &mut mismatches);
                    n_evaluations += 1;
                }
            }
            let expect = q["expect"].as_str().unwrap_or_default();
            for (eval, expected) in &evals {
                let status = expected["status"].as_str().unwrap_or_default();
                if status != expect {
                    mismatches.push(format!(
                        "{style}/{name} {eval}: the manifest expects {expect}, the golden says {status}"
                    ));
                }
            }
        }
    }
    eprintln!(
        "workload_golden: {} queries, {n_evaluations} evaluations ({n_series} series) compared in {:.1}s, {} mismatches",
        queries.len(),
        started.elapsed().as_secs_f64(),
        mismatches.len()
    );
    assert!(
        mismatches.is_empty(),
        "{} mismatches against the Prometheus 2.42 goldens:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

/// The style's small cluster, generated with the manifest's seed, in every layout the test
/// queries, each named for messages: appended in process into an in-memory head, and written
/// as the OpenMetrics text promtool backfilled, replayed through the facade into blocks on disk;
/// each with the fast path on and off.
fn load_databases(manifest: &Json, style: &str, tmp: &Path) -> Vec<(String, Db)> {
    let data = &manifest["data"];
    assert_eq!(
        data["preset"], "small",
        "the goldens are made on the small preset"
    );
    let label_style = LabelStyle::parse(style).unwrap_or_else(|| panic!("unknown style {style}"));
    let spec = ClusterSpec {
        seed: data["seed"].as_u64().unwrap_or_else(|| panic!("no seed")),
        label_style,
        ..ClusterSpec::preset(Size::Small)
    };
    assert!(!spec.stale_markers, "promtool backfills without markers");
    assert_eq!(Some(spec.start_ms), data["start_ms"].as_i64());
    assert_eq!(Some(spec.interval_ms), data["interval_ms"].as_i64());
    let want_samples = data["counts"][style]["samples"].as_u64();
    let cluster = Cluster::build(&spec).unwrap_or_else(|e| panic!("{style}: {e}"));
    let openmetrics = tmp.join(format!("{style}.om"));
    let file = std::fs::File::create(&openmetrics)
        .unwrap_or_else(|e| panic!("{}: {e}", openmetrics.display()));
    let written = cluster
        .write_openmetrics(file)
        .unwrap_or_else(|e| panic!("{}: {e}", openmetrics.display()));
    assert_eq!(Some(written), want_samples, "{style}: OpenMetrics samples");

    let mut databases = Vec::new();
    for fast_path in [true, false] {
        let options = Options {
            engine: EngineOptions {
                fast_path,
                ..EngineOptions::default()
            },
            ..Options::default()
        };
        let mode = if fast_path {
            "fast path on"
        } else {
            "fast path off"
        };

        let db = Db::in_memory_with(options.clone());
        let appended = append_cluster(&db, &cluster).unwrap_or_else(|e| panic!("{style}: {e}"));
        assert_eq!(
            Some(appended),
            want_samples,
            "{style}: appended samples differ from the count promtool loaded for the goldens"
        );
        databases.push((format!("head, {mode}"), db));

        let dir = tmp.join(format!("{style}-{mode}"));
        let db = Db::open(&dir, options).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let stats = db
            .replay_file(&openmetrics)
            .unwrap_or_else(|e| panic!("{}: {e}", openmetrics.display()));
        assert_eq!(
            (Some(stats.input.samples), stats.rejected_samples),
            (want_samples, 0),
            "{style}: replayed samples"
        );
        assert!(stats.blocks_written > 0, "{style}: replay wrote no blocks");
        databases.push((format!("blocks from OpenMetrics, {mode}"), db));
    }
    databases
}

/// Appends every sample of `cluster` (series by series, in time order) and commits once.
fn append_cluster(db: &Db, cluster: &Cluster) -> promlite::Result<u64> {
    let mut appender = db.appender();
    let mut failure = None;
    cluster.for_each_series(|def, samples| {
        for sample in samples {
            if failure.is_none() {
                if let Err(e) = appender.append(&def.labels, sample.t, sample.v) {
                    failure = Some(e);
                }
            }
        }
    });
    match failure {
        Some(e) => Err(e),
        None => appender.commit(),
    }
}

/// The golden's evaluations: each instant time and the range, with Prometheus's response.
fn golden_evaluations(golden: &Json, style: &str, name: &str) -> Vec<(Eval, Json)> {
    let mut evals = Vec::new();
    for instant in golden["instant"].as_array().into_iter().flatten() {
        let time_ms = millis(&instant["time"])
            .unwrap_or_else(|| panic!("{style}/{name}: bad instant time {}", instant["time"]));
        evals.push((Eval::Instant { time_ms }, instant["response"].clone()));
    }
    let range = &golden["range"];
    let (Some(start_ms), Some(end_ms), Some(step_ms)) = (
        millis(&range["start"]),
        millis(&range["end"]),
        millis(&range["step"]),
    ) else {
        panic!("{style}/{name}: bad range {range}");
    };
    evals.push((
        Eval::Range {
            start_ms,
            end_ms,
            step_ms,
        },
        range["response"].clone(),
    ));
    evals
}

/// The golden must hold exactly the evaluations the manifest describes.
fn check_times_match_manifest(
    manifest: &Json,
    evals: &[(Eval, Json)],
    style: &str,
    name: &str,
    mismatches: &mut Vec<String>,
) {
    let start = manifest["data"]["start_ms"].as_i64().unwrap_or_default();
    let mut want: Vec<String> = manifest["instant_offsets_ms"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Json::as_i64)
        .map(|off| {
            Eval::Instant {
                time_ms: start + off,
            }
            .to_string()
        })
        .collect();
    let range = &manifest["range"];
    want.push(
        Eval::Range {
            start_ms: start + range["start_offset_ms"].as_i64().unwrap_or_default(),
            end_ms: start + range["end_offset_ms"].as_i64().unwrap_or_default(),
            step_ms: range["step_ms"].as_i64().unwrap_or_default(),
        }
        .to_string(),
    );
    let have: Vec<String> = evals.iter().map(|(e, _)| e.to_string()).collect();
    if have != want {
        mismatches.push(format!(
            "{style}/{name}: golden evaluations {have:?}, manifest {want:?}"
        ));
    }
}

fn run(db: &Db, expr: &str, eval: Eval) -> promlite::Result<QueryOutput> {
    match eval {
        Eval::Instant { time_ms } => db.query(expr, time_ms),
        Eval::Range {
            start_ms,
            end_ms,
            step_ms,
        } => {
            let step = Duration::from_millis(u64::try_from(step_ms).unwrap_or_default());
            db.query_range(expr, start_ms, end_ms, step)
        }
    }
}

fn answer_from_promlite(result: promlite::Result<QueryOutput>) -> Answer {
    let output = match result {
        Ok(output) => output,
        Err(e) => {
            return Answer::Error {
                error_type: e.error_type().to_string(),
                message: e.to_string(),
            }
        }
    };
    let mut series = BTreeMap::new();
    let mut duplicates = Vec::new();
    let mut add = |labels: &Labels, points: Vec<(i64, f64)>| {
        insert_series(&mut series, &mut duplicates, label_map(labels), points);
    };
    match &output.value {
        Value::Vector(samples) => {
            for s in samples {
                add(&s.labels, vec![(s.t, s.v)]);
            }
        }
        Value::Matrix(matrix) => {
            for s in matrix {
                add(&s.labels, s.samples.iter().map(|p| (p.t, p.v)).collect());
            }
        }
        // Scalars become one unlabelled series, as their `[t, "v"]` pair would.
        Value::Scalar { t, v } => add(&Labels::empty(), vec![(*t, *v)]),
        Value::String { t, v } => {
            return Answer::Error {
                error_type: "unexpected".into(),
                message: format!("string result {v:?} at {t}"),
            }
        }
    }
    Answer::Success {
        result_type: output.value.result_type().to_string(),
        series,
        duplicates,
        warnings: output.warnings.clone(),
    }
}

/// Converts Prometheus's API body. A malformed golden becomes an `Error` answer whose type says
/// so, which then mismatches whatever promlite returned.
fn answer_from_prometheus(body: &Json) -> Answer {
    let malformed = |what: String| Answer::Error {
        error_type: "malformed golden".into(),
        message: what,
    };
    if body["status"] != "success" {
        return Answer::Error {
            error_type: body["errorType"].as_str().unwrap_or_default().to_string(),
            message: body["error"].as_str().unwrap_or_default().to_string(),
        };
    }
    let data = &body["data"];
    let result_type = data["resultType"].as_str().unwrap_or_default().to_string();
    let mut series = BTreeMap::new();
    let mut duplicates = Vec::new();
    let entries: Vec<Json> = match (result_type.as_str(), &data["result"]) {
        ("scalar", pair) => vec![serde_json::json!({ "metric": {}, "value": pair })],
        (_, Json::Array(entries)) => entries.clone(),
        (_, other) => return malformed(format!("result {other}")),
    };
    for entry in &entries {
        let Some(metric) = entry["metric"].as_object() else {
            return malformed(format!("entry without metric: {entry}"));
        };
        let key: LabelMap = metric
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
            .collect();
        let pairs: Vec<&Json> = match (&entry["value"], &entry["values"]) {
            (Json::Array(_), _) => vec![&entry["value"]],
            (_, Json::Array(values)) => values.iter().collect(),
            _ => return malformed(format!("entry without value(s): {entry}")),
        };
        let mut points = Vec::with_capacity(pairs.len());
        for pair in pairs {
            match (millis(&pair[0]), pair[1].as_str().and_then(parse_value)) {
                (Some(t), Some(v)) => points.push((t, v)),
                _ => return malformed(format!("bad point {pair}")),
            }
        }
        insert_series(&mut series, &mut duplicates, key, points);
    }
    let warnings = body["warnings"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|w| w.as_str().unwrap_or_default().to_string())
        .collect();
    Answer::Success {
        result_type,
        series,
        duplicates,
        warnings,
    }
}

/// Adds one series of an answer; a label set seen before goes to `duplicates`.
fn insert_series(
    series: &mut BTreeMap<LabelMap, Vec<(i64, f64)>>,
    duplicates: &mut Vec<LabelMap>,
    key: LabelMap,
    points: Vec<(i64, f64)>,
) {
    match series.entry(key) {
        std::collections::btree_map::Entry::Occupied(entry) => duplicates.push(entry.key().clone()),
        std::collections::btree_map::Entry::Vacant(entry) => {
            entry.insert(points);
        }
    }
}

fn compare(context: &str, eval: Eval, want: &Answer, got: &Answer, mismatches: &mut Vec<String>) {
    let mut out = |msg: String| mismatches.push(format!("{context}: {msg}"));
    match (want, got) {
        (
            Answer::Error {
                error_type: want_type,
                message: want_message,
            },
            Answer::Error {
                error_type: got_type,
                message: got_message,
            },
        ) => {
            if want_type != got_type {
                out(format!(
                    "errorType: prometheus {want_type:?}, promlite {got_type:?}"
                ));
            }
            if let Some(problem) = compare_error_messages(want_message, got_message, eval) {
                out(format!(
                    "error message differs ({problem}):\n    prometheus: {want_message}\n    promlite:   {got_message}"
                ));
            }
        }
        (Answer::Error { message, .. }, Answer::Success { series, .. }) => out(format!(
            "prometheus failed ({message}), promlite succeeded with {} series",
            series.len()
        )),
        (Answer::Success { series, .. }, Answer::Error { message, .. }) => out(format!(
            "prometheus succeeded with {} series, promlite failed: {message}",
            series.len()
        )),
        (
            Answer::Success {
                result_type: want_type,
                series: want_series,
                duplicates: want_duplicates,
                warnings: want_warnings,
            },
            Answer::Success {
                result_type: got_type,
                series: got_series,
                duplicates: got_duplicates,
                warnings: got_warnings,
            },
        ) => {
            if want_type != got_type {
                out(format!(
                    "resultType: prometheus {want_type}, promlite {got_type}"
                ));
            }
            for labels in want_duplicates {
                out(format!(
                    "prometheus answer holds {} twice",
                    show_labels(labels)
                ));
            }
            for labels in got_duplicates {
                out(format!(
                    "promlite answer holds {} twice",
                    show_labels(labels)
                ));
            }
            if want_warnings != got_warnings {
                out(format!(
                    "warnings: prometheus {want_warnings:?}, promlite {got_warnings:?}"
                ));
            }
            for (labels, want_points) in want_series {
                match got_series.get(labels) {
                    None => out(format!(
                        "series {} missing from promlite (prometheus has {} points)",
                        show_labels(labels),
                        want_points.len()
                    )),
                    Some(got_points) => {
                        compare_points(labels, want_points, got_points, &mut out);
                    }
                }
            }
            for (labels, got_points) in got_series {
                if !want_series.contains_key(labels) {
                    out(format!(
                        "series {} only in promlite ({} points, first {:?})",
                        show_labels(labels),
                        got_points.len(),
                        got_points.first()
                    ));
                }
            }
        }
    }
}

/// The fixed end of Prometheus's many-to-many matching error.
const MANY_TO_MANY_TAIL: &str =
    "many-to-many matching not allowed: matching labels must be unique on one side";

/// A parsed "found duplicate series for the match group ..." error.
#[derive(Debug)]
struct ManyToMany {
    group: LabelMap,
    side: String,
    pair: [LabelMap; 2],
}

/// Compares two error messages; `None` when they agree. Many-to-many errors are compared by
/// their parts, because two details of the text are not stable:
/// - the order of the two duplicate series: Prometheus 2.42 (the goldens) prints them as
///   [later, earlier] in the one side's order, Prometheus 3.x (promlite's reference, see
///   promqltest/operators.test) sorts them; so the pair is compared as a set;
/// - for range queries, which duplicate group is met first: Prometheus assembles the range
///   result of every sub-expression from a Go map, so the one side's order, and with it the
///   group it reports, is random (regenerating the goldens changes it). There promlite's group
///   only has to be consistent with its pair. Instant queries keep their order, so there the
///   group must be Prometheus's.
fn compare_error_messages(want: &str, got: &str, eval: Eval) -> Option<String> {
    if want == got {
        return None;
    }
    let (Some(want), Some(got)) = (parse_many_to_many(want), parse_many_to_many(got)) else {
        return Some("text".into());
    };
    if want.side != got.side {
        return Some("one side".into());
    }
    if got.pair[0] == got.pair[1] {
        return Some("promlite's duplicate series are one series".into());
    }
    let in_group = |series: &LabelMap| {
        got.group
            .iter()
            .all(|(name, value)| series.get(name) == Some(value))
    };
    if !got.pair.iter().all(in_group) {
        return Some("promlite's duplicate series are not in its match group".into());
    }
    match eval {
        Eval::Range { .. } => None,
        Eval::Instant { .. } => {
            let sorted = |pair: &[LabelMap; 2]| {
                let mut pair = pair.clone();
                pair.sort();
                pair
            };
            if want.group != got.group {
                Some("match group".into())
            } else if sorted(&want.pair) != sorted(&got.pair) {
                Some("duplicate series".into())
            } else {
                None
            }
        }
    }
}

fn parse_many_to_many(message: &str) -> Option<ManyToMany> {
    let rest = message.strip_prefix("found duplicate series for the match group ")?;
    let (group, rest) = parse_label_set(rest)?;
    let rest = rest.strip_prefix(" on the ")?;
    let (side, rest) = rest.split_once(" hand-side of the operation: [")?;
    let (first, rest) = parse_label_set(rest)?;
    let (second, rest) = parse_label_set(rest.strip_prefix(", ")?)?;
    (rest.strip_prefix("];")? == MANY_TO_MANY_TAIL).then(|| ManyToMany {
        group,
        side: side.to_string(),
        pair: [first, second],
    })
}

/// Parses a label set as Prometheus prints it (`{a="x", b="y\"z"}`) from the start of `text`;
/// returns it and the rest of `text`.
fn parse_label_set(text: &str) -> Option<(LabelMap, &str)> {
    let mut rest = text.strip_prefix('{')?;
    let mut labels = LabelMap::new();
    if let Some(after) = rest.strip_prefix('}') {
        return Some((labels, after));
    }
    loop {
        let (name, after) = rest.split_once("=\"")?;
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next()? {
                (i, '"') => break i,
                (_, '\\') => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    't' => value.push('\t'),
                    other => value.push(other),
                },
                (_, c) => value.push(c),
            }
        };
        labels.insert(name.to_string(), value);
        rest = after.get(end + 1..)?;
        if let Some(after) = rest.strip_prefix('}') {
            return Some((labels, after));
        }
        rest = rest.strip_prefix(", ")?;
    }
}

fn compare_points(
    labels: &LabelMap,
    want: &[(i64, f64)],
    got: &[(i64, f64)],
    out: &mut impl FnMut(String),
) {
    let want_times: Vec<i64> = want.iter().map(|p| p.0).collect();
    let got_times: Vec<i64> = got.iter().map(|p| p.0).collect();
    if want_times != got_times {
        let only_want: Vec<String> = want_times
            .iter()
            .filter(|t| !got_times.contains(t))
            .map(|t| seconds(*t))
            .collect();
        let only_got: Vec<String> = got_times
            .iter()
            .filter(|t| !want_times.contains(t))
            .map(|t| seconds(*t))
            .collect();
        out(format!(
            "series {}: timestamps differ (only prometheus: {only_want:?}; only promlite: {only_got:?})",
            show_labels(labels)
        ));
    }
    // Values are compared at the timestamps both sides have.
    for &(t, want_v) in want {
        let Some(&(_, got_v)) = got.iter().find(|p| p.0 == t) else {
            continue;
        };
        if !values_agree(want_v, got_v) {
            out(format!(
                "series {} at {}: prometheus {want_v:?}, promlite {got_v:?}",
                show_labels(labels),
                seconds(t)
            ));
        }
    }
}

fn values_agree(want: f64, got: f64) -> bool {
    if want.is_nan() || got.is_nan() {
        return want.is_nan() && got.is_nan();
    }
    if want.is_infinite() || got.is_infinite() {
        return want == got;
    }
    let diff = (want - got).abs();
    diff <= ABS_TOLERANCE || diff <= REL_TOLERANCE * want.abs().max(got.abs())
}

/// Prometheus's sample value strings: decimals, `NaN`, `+Inf`, `-Inf`.
fn parse_value(text: &str) -> Option<f64> {
    match text {
        "NaN" => Some(f64::NAN),
        "+Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        _ => text.parse().ok(),
    }
}

/// API times (float seconds as a JSON number or string) to milliseconds.
fn millis(value: &Json) -> Option<i64> {
    let secs = match value {
        Json::Number(n) => n.as_f64()?,
        Json::String(s) => s.parse::<f64>().ok()?,
        _ => return None,
    };
    let ms = (secs * 1000.0).round();
    (ms.is_finite() && ms.abs() < 9.0e15).then_some(ms as i64)
}

/// Milliseconds as the API's decimal seconds (`1700000607.5`).
fn seconds(ms: i64) -> String {
    let (whole, frac) = (ms.div_euclid(1000), ms.rem_euclid(1000));
    if frac == 0 {
        whole.to_string()
    } else {
        format!("{whole}.{frac:03}")
            .trim_end_matches('0')
            .to_string()
    }
}

fn label_map(labels: &Labels) -> LabelMap {
    labels
        .iter()
        .map(|l| (l.name.to_string(), l.value.to_string()))
        .collect()
}

fn show_labels(labels: &LabelMap) -> String {
    let mut text = String::from("{");
    for (i, (name, value)) in labels.iter().enumerate() {
        if i > 0 {
            text.push_str(", ");
        }
        let _ = write!(text, "{name}={value:?}");
    }
    text.push('}');
    text
}

fn read_json(path: &str) -> Json {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn value_comparison_follows_the_tolerances() {
    assert!(values_agree(1.0, 1.0 + 5e-10));
    assert!(!values_agree(1.0, 1.0 + 5e-9));
    assert!(values_agree(0.0, 5e-13));
    assert!(!values_agree(0.0, 5e-12));
    assert!(values_agree(f64::NAN, f64::NAN));
    assert!(!values_agree(f64::NAN, 0.0));
    assert!(!values_agree(0.0, f64::NAN));
    assert!(values_agree(f64::INFINITY, f64::INFINITY));
    assert!(!values_agree(f64::INFINITY, f64::NEG_INFINITY));
    assert!(!values_agree(f64::INFINITY, f64::MAX));
    assert_eq!(parse_value("+Inf"), Some(f64::INFINITY));
    assert_eq!(parse_value("-Inf"), Some(f64::NEG_INFINITY));
    assert!(parse_value("NaN").is_some_and(f64::is_nan));
    assert_eq!(parse_value("0.123"), Some(0.123));
    assert_eq!(parse_value("1e-7"), Some(1e-7));
    assert_eq!(parse_value("garbage"), None);
    assert_eq!(
        millis(&serde_json::json!("1700000607.5")),
        Some(1_700_000_607_500)
    );
    assert_eq!(
        millis(&serde_json::json!(1700000607.5)),
        Some(1_700_000_607_500)
    );
    assert_eq!(millis(&serde_json::json!("60")), Some(60_000));
    assert_eq!(seconds(1_700_000_607_500), "1700000607.5");
    assert_eq!(seconds(60_000), "60");
}

const INSTANT: Eval = Eval::Instant { time_ms: 10_500 };

#[test]
fn comparison_reports_each_kind_of_difference() {
    let body = |result: Json| serde_json::json!({"status": "success", "data": {"resultType": "vector", "result": result}});
    let want = answer_from_prometheus(&body(serde_json::json!([
        {"metric": {"pod": "a"}, "value": [10.5, "1.5"]},
        {"metric": {"pod": "b"}, "value": [10.5, "NaN"]},
    ])));
    let same = answer_from_prometheus(&body(serde_json::json!([
        {"metric": {"pod": "b"}, "value": [10.5, "NaN"]},
        {"metric": {"pod": "a"}, "value": [10.5, "1.5000000000001"]},
    ])));
    let mut mismatches = Vec::new();
    compare("same", INSTANT, &want, &same, &mut mismatches);
    assert_eq!(mismatches, Vec::<String>::new());

    let different = answer_from_prometheus(&body(serde_json::json!([
        {"metric": {"pod": "a"}, "value": [10.5, "1.6"]},
        {"metric": {"pod": "c"}, "value": [10.5, "1"]},
    ])));
    compare("different", INSTANT, &want, &different, &mut mismatches);
    assert_eq!(
        mismatches,
        [
            "different: series {pod=\"a\"} at 10.5: prometheus 1.5, promlite 1.6",
            "different: series {pod=\"b\"} missing from promlite (prometheus has 1 points)",
            "different: series {pod=\"c\"} only in promlite (1 points, first Some((10500, 1.0)))",
        ]
    );

    let error = answer_from_prometheus(
        &serde_json::json!({"status": "error", "errorType": "execution", "error": "boom"}),
    );
    mismatches.clear();
    compare("error", INSTANT, &error, &want, &mut mismatches);
    assert_eq!(
        mismatches,
        ["error: prometheus failed (boom), promlite succeeded with 2 series"]
    );
}

#[test]
fn many_to_many_errors_compare_by_their_stable_parts() {
    let message = |group: &str, side: &str, a: &str, b: &str| {
        format!(
            "found duplicate series for the match group {{pod=\"{group}\"}} on the {side} hand-side of the operation: [{{kind=\"{a}\", pod=\"{group}\"}}, {{kind=\"{b}\", pod=\"{group}\"}}];{MANY_TO_MANY_TAIL}"
        )
    };
    let range = Eval::Range {
        start_ms: 0,
        end_ms: 60_000,
        step_ms: 60_000,
    };
    let want = message("p1", "left", "RS", "Deploy");
    let parsed = parse_many_to_many(&want).map(|m| (m.group, m.side, m.pair));
    let labels = |pairs: &[(&str, &str)]| -> LabelMap {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    assert_eq!(
        parsed,
        Some((
            labels(&[("pod", "p1")]),
            "left".to_string(),
            [
                labels(&[("kind", "RS"), ("pod", "p1")]),
                labels(&[("kind", "Deploy"), ("pod", "p1")])
            ]
        ))
    );
    let escaped = parse_label_set(r#"{a="x\"}, {y", b="\\"} tail"#);
    assert_eq!(
        escaped,
        Some((labels(&[("a", "x\"}, {y"), ("b", "\\")]), " tail"))
    );
    assert_eq!(parse_label_set("{} tail"), Some((LabelMap::new(), " tail")));
    assert_eq!(parse_label_set(r#"{a="x"#), None);

    // The pair's order does not matter; the group does, except in range queries.
    let swapped = message("p1", "left", "Deploy", "RS");
    assert_eq!(compare_error_messages(&want, &swapped, INSTANT), None);
    let other_group = message("p2", "left", "Deploy", "RS");
    assert_eq!(
        compare_error_messages(&want, &other_group, INSTANT),
        Some("match group".into())
    );
    assert_eq!(compare_error_messages(&want, &other_group, range), None);
    let other_pair = message("p1", "left", "Deploy", "Job");
    assert_eq!(
        compare_error_messages(&want, &other_pair, INSTANT),
        Some("duplicate series".into())
    );
    let other_side = message("p1", "right", "Deploy", "RS");
    assert_eq!(
        compare_error_messages(&want, &other_side, range),
        Some("one side".into())
    );
    let inconsistent = want.replacen("{pod=\"p1\"}", "{pod=\"p9\"}", 1);
    assert_eq!(
        compare_error_messages(&want, &inconsistent, range),
        Some("promlite's duplicate series are not in its match group".into())
    );
    let same_series = message("p1", "left", "RS", "RS");
    assert_eq!(
        compare_error_messages(&want, &same_series, range),
        Some("promlite's duplicate series are one series".into())
    );
    assert_eq!(
        compare_error_messages("boom", "bang", range),
        Some("text".into())
    );
    assert_eq!(compare_error_messages("boom", "boom", range), None);
}
