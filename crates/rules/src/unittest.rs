//! Rule unit tests in `promtool test rules`' file format and with its behaviour
//! (`cmd/promtool/unittest.go`): input series in the expanding notation are loaded lazily up to
//! each evaluation time; every group is evaluated at every `evaluation_interval` step from 0 to
//! the largest `eval_time`, in `group_eval_order`; alert tests compare the firing alerts of the
//! evaluation at or just before their `eval_time`; PromQL tests query the final storage
//! (inputs plus everything the rules wrote). Comparisons are exact (sorted label sets and
//! float values compared bit for bit as Go's `reflect.DeepEqual` does, so NaN never equals NaN).
//!
//! Failure messages follow promtool's wording and layout so a user recognises them.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use promlite_eval::{Engine, EngineOptions, Value};
use promlite_model::{Labels, Sample};
use serde::Deserialize;

use crate::duration;
use crate::file::read_rule_file;
use crate::group::{AlertState, EvalContext, Group};
use crate::storage::CheckedMemStore;
use crate::{Error, Result};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTestFile {
    #[serde(default)]
    rule_files: Vec<String>,
    #[serde(default)]
    evaluation_interval: Option<String>,
    #[serde(default)]
    group_eval_order: Vec<String>,
    #[serde(default)]
    tests: Vec<RawTestGroup>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTestGroup {
    #[serde(default)]
    interval: Option<String>,
    #[serde(default)]
    input_series: Vec<RawSeries>,
    #[serde(default)]
    alert_rule_test: Vec<RawAlertTest>,
    #[serde(default)]
    promql_expr_test: Vec<RawPromqlTest>,
    #[serde(default)]
    external_labels: BTreeMap<String, String>,
    #[serde(default)]
    external_url: String,
    #[serde(default)]
    name: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSeries {
    #[serde(default)]
    series: String,
    #[serde(default)]
    values: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAlertTest {
    #[serde(default)]
    eval_time: Option<String>,
    #[serde(default)]
    alertname: String,
    #[serde(default)]
    exp_alerts: Vec<RawExpAlert>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExpAlert {
    #[serde(default)]
    exp_labels: BTreeMap<String, String>,
    #[serde(default)]
    exp_annotations: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPromqlTest {
    #[serde(default)]
    expr: String,
    #[serde(default)]
    eval_time: Option<String>,
    #[serde(default)]
    exp_samples: Vec<RawExpSample>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExpSample {
    #[serde(default)]
    labels: String,
    #[serde(default)]
    value: f64,
}

/// The outcome of one test file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileReport {
    /// The test file.
    pub path: String,
    /// Failures, each formatted as promtool prints it; empty when the file passed.
    pub failures: Vec<String>,
    /// Warnings (rule file patterns matching nothing).
    pub warnings: Vec<String>,
}

impl FileReport {
    /// True if every test in the file passed.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// Go's `time.Duration.String()` for whole milliseconds: `0s`, `1m0s`, `1h2m3.5s`, `500ms`.
pub fn go_duration(ms: i64) -> String {
    if ms == 0 {
        return "0s".into();
    }
    let sign = if ms < 0 { "-" } else { "" };
    let ms = ms.unsigned_abs();
    if ms < 1000 {
        return format!("{sign}{ms}ms");
    }
    let hours = ms / 3_600_000;
    let minutes = (ms / 60_000) % 60;
    let secs = (ms / 1000) % 60;
    let frac = ms % 1000;
    let seconds = if frac == 0 {
        format!("{secs}s")
    } else {
        let f = format!("{frac:03}");
        format!("{secs}.{}s", f.trim_end_matches('0'))
    };
    if hours > 0 {
        format!("{sign}{hours}h{minutes}m{seconds}")
    } else if minutes > 0 {
        format!("{sign}{minutes}m{seconds}")
    } else {
        format!("{sign}{seconds}")
    }
}

/// Go's `strconv.FormatFloat(v, 'E', -1, 64)`: `1E+00`, `1.5E+01`, `NaN`, `+Inf`.
fn format_float_e(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    let s = format!("{v:E}");
    let (mantissa, exp) = s.split_once('E').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let sign = if exp < 0 { '-' } else { '+' };
    format!("{mantissa}E{sign}{:02}", exp.abs())
}

/// Go's `labels.Labels.String()` of name/value pairs (values kept even when empty).
fn pairs_string(pairs: &[(String, String)]) -> String {
    let mut out = String::from("{");
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let _ = write!(out, "{k}={}", crate::template::go_quote(v));
    }
    out.push('}');
    out
}

type LabelsAndAnnotation = (Vec<(String, String)>, Vec<(String, String)>);
type LabelsAndAnnotations = Vec<LabelsAndAnnotation>;

fn indent_lines(lines: &str, indent: &str) -> String {
    let parts: Vec<&str> = lines.split('\n').collect();
    let mut out = String::new();
    for (i, l) in parts.iter().enumerate() {
        if i > 0 {
            out.push_str(indent);
        }
        out.push_str(l);
        if i != parts.len() - 1 {
            out.push('\n');
        }
    }
    out
}

fn alerts_string(alerts: &LabelsAndAnnotations) -> String {
    if alerts.is_empty() {
        return "[]".into();
    }
    let one = |(l, a): &LabelsAndAnnotation| {
        format!(
            "Labels:{}\nAnnotations:{}",
            pairs_string(l),
            pairs_string(a)
        )
    };
    let mut s = String::from("[\n0:");
    s.push_str(&indent_lines(&format!("\n{}", one(&alerts[0])), "  "));
    for (i, a) in alerts.iter().enumerate().skip(1) {
        s.push_str(&format!(",\n{i}:"));
        s.push_str(&indent_lines(&format!("\n{}", one(a)), "  "));
    }
    s.push_str("\n]");
    s
}

fn samples_string(samples: &[(Labels, f64)]) -> String {
    if samples.is_empty() {
        return "nil".into();
    }
    samples
        .iter()
        .map(|(l, v)| format!("{l} {}", format_float_e(*v)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn labels_pairs(labels: &Labels) -> Vec<(String, String)> {
    labels
        .iter()
        .map(|l| (l.name.to_string(), l.value.to_string()))
        .collect()
}

/// Matches `name` against a glob `pattern` with `*`, `?` and `[...]` classes (no `**`).
fn glob_match(pattern: &[char], name: &[char]) -> bool {
    match (pattern.first(), name.first()) {
        (None, None) => true,
        (Some('*'), _) => {
            glob_match(pattern.get(1..).unwrap_or_default(), name)
                || (!name.is_empty() && glob_match(pattern, name.get(1..).unwrap_or_default()))
        }
        (Some('?'), Some(_)) => glob_match(
            pattern.get(1..).unwrap_or_default(),
            name.get(1..).unwrap_or_default(),
        ),
        (Some('['), Some(c)) => {
            let Some(close) = pattern.iter().position(|&p| p == ']') else {
                return false;
            };
            let class = pattern.get(1..close).unwrap_or_default();
            let (negate, class) = match class.first() {
                Some('^' | '!') => (true, class.get(1..).unwrap_or_default()),
                _ => (false, class),
            };
            let mut hit = false;
            let mut i = 0;
            while i < class.len() {
                let lo = class.get(i).copied().unwrap_or_default();
                if class.get(i + 1) == Some(&'-') && i + 2 < class.len() {
                    let hi = class.get(i + 2).copied().unwrap_or_default();
                    hit |= lo <= *c && *c <= hi;
                    i += 3;
                } else {
                    hit |= lo == *c;
                    i += 1;
                }
            }
            hit != negate
                && glob_match(
                    pattern.get(close + 1..).unwrap_or_default(),
                    name.get(1..).unwrap_or_default(),
                )
        }
        (Some(p), Some(c)) if p == c => glob_match(
            pattern.get(1..).unwrap_or_default(),
            name.get(1..).unwrap_or_default(),
        ),
        _ => false,
    }
}

/// Go's `filepath.Glob` for patterns whose directory part has no metacharacters.
fn glob(pattern: &Path) -> Vec<PathBuf> {
    let text = pattern.to_string_lossy();
    if !text.contains(['*', '?', '[']) {
        return if pattern.exists() {
            vec![pattern.to_path_buf()]
        } else {
            Vec::new()
        };
    }
    let dir = pattern.parent().unwrap_or(Path::new("."));
    let file_pattern: Vec<char> = pattern
        .file_name()
        .map(|n| n.to_string_lossy().chars().collect())
        .unwrap_or_default();
    let mut out: Vec<PathBuf> = std::fs::read_dir(if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    })
    .map(|entries| {
        entries
            .filter_map(|e| e.ok())
            .filter(|e| {
                let name: Vec<char> = e.file_name().to_string_lossy().chars().collect();
                glob_match(&file_pattern, &name)
            })
            .map(|e| dir.join(e.file_name()))
            .collect()
    })
    .unwrap_or_default();
    out.sort();
    out
}

fn parse_duration_field(path: &str, field: &str, value: &Option<String>) -> Result<i64> {
    match value {
        None => Ok(0),
        Some(v) => duration::parse(v).map_err(|message| Error::InvalidTest {
            path: path.to_string(),
            message: format!("{field}: {message}"),
        }),
    }
}

/// Runs one test file. A file that cannot be read or parsed is a failure with the reason, as
/// in promtool.
pub fn run_test_file(path: &Path, engine_options: &EngineOptions) -> FileReport {
    let mut report = FileReport {
        path: path.display().to_string(),
        ..FileReport::default()
    };
    match run_test_file_inner(path, engine_options, &mut report.warnings) {
        Ok(failures) => report.failures = failures,
        Err(err) => report.failures = vec![err.to_string()],
    }
    report
}

fn run_test_file_inner(
    path: &Path,
    engine_options: &EngineOptions,
    warnings: &mut Vec<String>,
) -> Result<Vec<String>> {
    let display = path.display().to_string();
    let source = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: display.clone(),
        source,
    })?;
    let raw: RawTestFile = serde_yaml_ng::from_str(&source).map_err(|err| Error::Yaml {
        path: display.clone(),
        message: format!("yaml: {err}"),
    })?;
    let base = path.parent().unwrap_or(Path::new("."));
    let mut rule_files = Vec::new();
    for pattern in &raw.rule_files {
        let full = if Path::new(pattern).is_absolute() {
            PathBuf::from(pattern)
        } else {
            base.join(pattern)
        };
        let matched = glob(&full);
        if matched.is_empty() {
            warnings.push(format!(
                "  WARNING: no file match pattern {}",
                full.display()
            ));
        }
        rule_files.extend(matched);
    }
    let mut eval_interval =
        parse_duration_field(&display, "evaluation_interval", &raw.evaluation_interval)?;
    if eval_interval == 0 {
        eval_interval = 60_000;
    }
    let mut order: HashMap<String, usize> = HashMap::new();
    for (i, name) in raw.group_eval_order.iter().enumerate() {
        if order.insert(name.clone(), i).is_some() {
            return Ok(vec![format!(
                "group name repeated in evaluation order: {name}"
            )]);
        }
    }
    let engine = Engine::new(engine_options.clone());
    let mut failures = Vec::new();
    for test in &raw.tests {
        failures.extend(run_test_group(
            test,
            &display,
            eval_interval,
            &order,
            &rule_files,
            &engine,
        )?);
    }
    Ok(failures)
}

fn run_test_group(
    tg: &RawTestGroup,
    path: &str,
    eval_interval: i64,
    order: &HashMap<String, usize>,
    rule_files: &[PathBuf],
    engine: &Engine,
) -> Result<Vec<String>> {
    let mut interval = parse_duration_field(path, "interval", &tg.interval)?;
    if interval == 0 {
        interval = eval_interval;
    }
    // Input series, in the `load` notation.
    let mut inputs: Vec<(Labels, Vec<Sample>, usize)> = Vec::new();
    for s in &tg.input_series {
        let line = format!("{} {}", s.series, s.values);
        let Some((labels, values)) = promlite_eval::promqltest::parse_load_line(&line) else {
            return Ok(vec![format!(
                "error in load command: cannot parse series {:?} with values {:?}",
                s.series, s.values
            )]);
        };
        let step = interval;
        let samples: Vec<Sample> = values
            .into_iter()
            .enumerate()
            .filter_map(|(i, v)| {
                v.map(|v| Sample::new(i64::try_from(i).unwrap_or(i64::MAX).saturating_mul(step), v))
            })
            .collect();
        inputs.push((labels, samples, 0));
    }
    // Rules.
    let mut groups: Vec<Group> = Vec::new();
    let mut load_errors = Vec::new();
    for file in rule_files {
        match read_rule_file(file) {
            Ok(rf) => {
                for spec in rf.groups {
                    groups.push(Group::new(&rf.path, spec, interval));
                }
            }
            Err(Error::InvalidRules { path, errors }) => {
                load_errors.extend(errors.iter().map(|e| format!("{path}: {e}")));
            }
            Err(other) => load_errors.push(other.to_string()),
        }
    }
    if !load_errors.is_empty() {
        return Ok(load_errors);
    }
    // Groups absent from the order sort first (index 0, as Go's map lookup gives), stably in
    // file order.
    groups.sort_by_key(|g| order.get(&g.name).copied().unwrap_or(0));

    let ctx = EvalContext {
        external_labels: tg.external_labels.clone(),
        external_url: tg.external_url.clone(),
        query_offset_ms: 0,
    };
    let test_name = if tg.name.is_empty() {
        String::new()
    } else {
        format!("    name: {},\n", tg.name)
    };

    // Alert tests grouped by eval time.
    let mut alert_tests: BTreeMap<i64, Vec<&RawAlertTest>> = BTreeMap::new();
    for alert in &tg.alert_rule_test {
        let t = parse_duration_field(path, "eval_time", &alert.eval_time)?;
        if alert.alertname.is_empty() {
            let group_log = if tg.name.is_empty() {
                String::new()
            } else {
                format!(" (in TestGroup {})", tg.name)
            };
            return Ok(vec![format!(
                "an item under alert_rule_test misses required attribute alertname at eval_time {}{group_log}",
                duration::format(t)
            )]);
        }
        alert_tests.entry(t).or_default().push(alert);
    }
    let mut promql_tests = Vec::new();
    for test in &tg.promql_expr_test {
        promql_tests.push((
            parse_duration_field(path, "eval_time", &test.eval_time)?,
            test,
        ));
    }
    let maxt = alert_tests
        .keys()
        .copied()
        .chain(promql_tests.iter().map(|(t, _)| *t))
        .max()
        .unwrap_or(0);

    let store = CheckedMemStore::new();
    let mut errs = Vec::new();
    let alert_times: Vec<i64> = alert_tests.keys().copied().collect();
    let mut curr = 0;
    let mut ts = 0;
    while ts <= maxt {
        // Load input samples up to ts.
        for (labels, samples, next) in &mut inputs {
            while let Some(s) = samples.get(*next).filter(|s| s.t <= ts) {
                store.store().add(labels.clone(), *s);
                *next += 1;
            }
        }
        let mut eval_errs = Vec::new();
        for g in &mut groups {
            g.eval(engine, &store, ts, &ctx);
            for r in &g.rules {
                if let Some(err) = &r.last_error {
                    eval_errs.push(format!(
                        "    rule: {}, time: {}, err: {err}",
                        r.spec.name(),
                        go_duration(ts)
                    ));
                }
            }
        }
        if !eval_errs.is_empty() {
            errs.extend(eval_errs);
            return Ok(errs);
        }
        while let Some(&t) = alert_times.get(curr) {
            if !(ts <= t && t < ts + eval_interval) {
                break;
            }
            let tests = alert_tests.get(&t).map(Vec::as_slice).unwrap_or_default();
            let mut got: HashMap<&str, LabelsAndAnnotations> = HashMap::new();
            for g in &groups {
                for r in &g.rules {
                    let name = r.spec.name();
                    if !matches!(r.spec.kind, crate::file::RuleKind::Alerting { .. })
                        || !tests.iter().any(|tc| tc.alertname == name)
                    {
                        continue;
                    }
                    let entry = got.entry(name).or_default();
                    for a in r.active_alerts() {
                        if a.state == AlertState::Firing {
                            entry.push((labels_pairs(&a.labels), a.annotations.clone()));
                        }
                    }
                }
            }
            for tc in tests {
                let mut got_alerts = got.get(tc.alertname.as_str()).cloned().unwrap_or_default();
                let mut exp_alerts: LabelsAndAnnotations = tc
                    .exp_alerts
                    .iter()
                    .map(|a| {
                        let mut labels = a.exp_labels.clone();
                        labels.insert("alertname".into(), tc.alertname.clone());
                        (
                            labels.into_iter().collect(),
                            a.exp_annotations.clone().into_iter().collect(),
                        )
                    })
                    .collect();
                got_alerts.sort_by(|a, b| a.0.cmp(&b.0));
                exp_alerts.sort_by(|a, b| a.0.cmp(&b.0));
                if got_alerts != exp_alerts {
                    errs.push(format!(
                        "{test_name}    alertname: {}, time: {}, \n        exp:{}, \n        got:{}",
                        tc.alertname,
                        duration::format(t),
                        indent_lines(&alerts_string(&exp_alerts), "            "),
                        indent_lines(&alerts_string(&got_alerts), "            "),
                    ));
                }
            }
            curr += 1;
        }
        ts += eval_interval;
    }

    'tests: for (t, test) in &promql_tests {
        let got = match engine.instant_query(
            crate::storage::RuleStorage::queryable(&store),
            &test.expr,
            *t,
        ) {
            Ok(out) => match out.value {
                Value::Vector(v) => v.into_iter().map(|s| (s.labels, s.v)).collect::<Vec<_>>(),
                Value::Scalar { v, .. } => vec![(Labels::empty(), v)],
                _ => {
                    errs.push(format!(
                        "    expr: {:?}, time: {}, err: rule result is not a vector or scalar",
                        test.expr,
                        duration::format(*t)
                    ));
                    continue;
                }
            },
            Err(err) => {
                errs.push(format!(
                    "    expr: {:?}, time: {}, err: {err}",
                    test.expr,
                    duration::format(*t)
                ));
                continue;
            }
        };
        let mut exp = Vec::new();
        for s in &test.exp_samples {
            match promlite_eval::promqltest::parse_metric(&s.labels) {
                Some(labels) => exp.push((labels, s.value)),
                None => {
                    errs.push(format!(
                        "    expr: {:?}, time: {}, err: labels {:?}: could not parse metric",
                        test.expr,
                        duration::format(*t),
                        s.labels
                    ));
                    continue 'tests;
                }
            }
        }
        let mut got = got;
        exp.sort_by(|a, b| a.0.cmp(&b.0));
        got.sort_by(|a, b| a.0.cmp(&b.0));
        // reflect.DeepEqual on float64 compares with ==: NaN never equals NaN, and 0 == -0.
        let equal =
            exp.len() == got.len() && exp.iter().zip(&got).all(|(e, g)| e.0 == g.0 && e.1 == g.1);
        if !equal {
            errs.push(format!(
                "    expr: {:?}, time: {},\n        exp: {}\n        got: {}",
                test.expr,
                duration::format(*t),
                samples_string(&exp),
                samples_string(&got)
            ));
        }
    }
    Ok(errs)
}

/// Runs test files and prints promtool's report: `Unit Testing:  FILE`, then `  SUCCESS` or
/// `  FAILED:` with the failures (to `err`). Returns promtool's exit code: 0 if every file
/// passed, 1 otherwise.
pub fn run_files(
    paths: &[PathBuf],
    engine_options: &EngineOptions,
    out: &mut dyn std::io::Write,
    err: &mut dyn std::io::Write,
) -> i32 {
    let mut failed = false;
    for path in paths {
        let _ = writeln!(out, "Unit Testing:  {}", path.display());
        let report = run_test_file(path, engine_options);
        for w in &report.warnings {
            let _ = writeln!(err, "{w}");
        }
        if report.passed() {
            let _ = writeln!(out, "  SUCCESS");
        } else {
            let _ = writeln!(err, "  FAILED:");
            for f in &report.failures {
                let _ = writeln!(err, "{f}");
                let _ = writeln!(out);
            }
            failed = true;
        }
        let _ = writeln!(out);
    }
    i32::from(failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_formats() {
        assert_eq!(go_duration(0), "0s");
        assert_eq!(go_duration(60_000), "1m0s");
        assert_eq!(go_duration(3_600_000), "1h0m0s");
        assert_eq!(go_duration(90_500), "1m30.5s");
        assert_eq!(go_duration(500), "500ms");
        assert_eq!(format_float_e(1.0), "1E+00");
        assert_eq!(format_float_e(15.0), "1.5E+01");
        assert_eq!(format_float_e(0.001), "1E-03");
        assert_eq!(format_float_e(f64::INFINITY), "+Inf");
    }

    #[test]
    fn globs() {
        let chars = |s: &str| s.chars().collect::<Vec<_>>();
        assert!(glob_match(&chars("*.yml"), &chars("rules.yml")));
        assert!(!glob_match(&chars("*.yml"), &chars("rules.yaml")));
        assert!(glob_match(&chars("r?les_[0-9].yml"), &chars("rules_3.yml")));
    }
}
