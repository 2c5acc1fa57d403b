//! The benchmark report: per-query medians, ratios and answer checks, rendered as an aligned
//! text table, as Markdown (for BENCHMARKS.md) or as JSON.

use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

use crate::measure::Order;

/// Instant or range version of a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum QueryKind {
    /// `/api/v1/query` at one time.
    Instant,
    /// `/api/v1/query_range` over the whole data range.
    Range,
}

impl QueryKind {
    /// `instant` or `range`.
    pub fn as_str(self) -> &'static str {
        match self {
            QueryKind::Instant => "instant",
            QueryKind::Range => "range",
        }
    }
}

/// Timings of one query on one engine.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Measurement {
    /// Median wall time of the timed runs, milliseconds.
    pub median_ms: f64,
    /// Every timed run's wall time, milliseconds, in run order.
    pub runs_ms: Vec<f64>,
    /// Median of the server's `evalTotalTime`, milliseconds (Prometheus only).
    pub server_eval_median_ms: Option<f64>,
    /// Median of the server's `execTotalTime`, milliseconds (Prometheus only).
    pub server_exec_median_ms: Option<f64>,
}

impl Measurement {
    /// A measurement from wall times and optional server-side eval and exec times.
    pub fn new(wall: &[Duration], server_eval: &[Duration], server_exec: &[Duration]) -> Self {
        let ms = |d: &Duration| d.as_secs_f64() * 1000.0;
        let opt_median = |ds: &[Duration]| {
            (!ds.is_empty()).then(|| median(&ds.iter().map(ms).collect::<Vec<_>>()))
        };
        let runs_ms: Vec<f64> = wall.iter().map(ms).collect();
        Self {
            median_ms: median(&runs_ms),
            runs_ms,
            server_eval_median_ms: opt_median(server_eval),
            server_exec_median_ms: opt_median(server_exec),
        }
    }
}

/// Median of `values` (mean of the middle two for an even count; 0 for none).
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    match n {
        0 => 0.0,
        _ if n % 2 == 1 => sorted.get(n / 2).copied().unwrap_or(0.0),
        _ => {
            let lo = sorted.get(n / 2 - 1).copied().unwrap_or(0.0);
            let hi = sorted.get(n / 2).copied().unwrap_or(0.0);
            (lo + hi) / 2.0
        }
    }
}

/// The answer check of one engine on one query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", content = "detail", rename_all = "snake_case")]
pub enum Check {
    /// Same answer as Prometheus.
    Same,
    /// A range answer that differs from Prometheus's range answer only at steps where it equals
    /// Prometheus's own instant answer (Prometheus's range evaluation broke a tie differently);
    /// the text says which steps and how the range answers differed. Shown as `ok*`; not a
    /// mismatch.
    SameAsInstant(String),
    /// A different answer; the text says where.
    Differs(String),
    /// Prometheus did not run, so there was nothing to compare with.
    NoOracle,
    /// This engine did not run.
    NotRun,
}

impl Check {
    fn cell(&self) -> &'static str {
        match self {
            Check::Same => "ok",
            Check::SameAsInstant(_) => "ok*",
            Check::Differs(_) => "DIFFERS",
            Check::NoOracle | Check::NotRun => "-",
        }
    }
}

/// The footnote to `ok*` cells.
pub const SAME_AS_INSTANT_NOTE: &str = "ok*: differs from Prometheus's range answer only at steps \
where it equals Prometheus's instant answer at that step (Prometheus's range evaluation broke a \
tie differently)";

/// One line of the table: a query in one of its two versions on every engine.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    /// The workload query's name.
    pub query: String,
    /// Instant or range.
    pub kind: QueryKind,
    /// Output series in the reference answer (Prometheus's, else promlite's, else VictoriaMetrics');
    /// `None` for an error or when no engine ran.
    pub series: Option<usize>,
    /// Whether the reference answer was an error (for example many-to-many matching).
    pub error: bool,
    /// promlite's timings (in process).
    pub promlite: Option<Measurement>,
    /// promlite's timings over HTTP (`promlite serve`, the same client as the other servers).
    pub promlite_http: Option<Measurement>,
    /// Prometheus's timings (wall and server-side).
    pub prometheus: Option<Measurement>,
    /// VictoriaMetrics' timings.
    pub victoria: Option<Measurement>,
    /// promlite's answer against Prometheus's.
    pub promlite_check: Check,
    /// promlite-http's answer against Prometheus's.
    pub promlite_http_check: Check,
    /// VictoriaMetrics' answer against Prometheus's (reported, never fatal).
    pub victoria_check: Check,
}

impl Row {
    /// Prometheus wall time / promlite wall time.
    pub fn prometheus_ratio(&self) -> Option<f64> {
        ratio(
            self.prometheus.as_ref().map(|m| m.median_ms),
            self.promlite.as_ref(),
        )
    }

    /// Prometheus server-side `evalTotalTime` / promlite wall time.
    pub fn prometheus_eval_ratio(&self) -> Option<f64> {
        ratio(
            self.prometheus
                .as_ref()
                .and_then(|m| m.server_eval_median_ms),
            self.promlite.as_ref(),
        )
    }

    /// VictoriaMetrics wall time / promlite wall time.
    pub fn victoria_ratio(&self) -> Option<f64> {
        ratio(
            self.victoria.as_ref().map(|m| m.median_ms),
            self.promlite.as_ref(),
        )
    }

    /// Prometheus wall time / promlite-http wall time (both over HTTP).
    pub fn prometheus_http_ratio(&self) -> Option<f64> {
        ratio(
            self.prometheus.as_ref().map(|m| m.median_ms),
            self.promlite_http.as_ref(),
        )
    }

    /// VictoriaMetrics wall time / promlite-http wall time (both over HTTP).
    pub fn victoria_http_ratio(&self) -> Option<f64> {
        ratio(
            self.victoria.as_ref().map(|m| m.median_ms),
            self.promlite_http.as_ref(),
        )
    }
}

fn ratio(other: Option<f64>, promlite: Option<&Measurement>) -> Option<f64> {
    let base = promlite?.median_ms;
    let other = other?;
    (base > 0.0).then(|| other / base)
}

/// Ingest timings of one engine.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IngestLine {
    /// Engine (or `generate` for the data generation).
    pub engine: String,
    /// What was done, e.g. `promtool create-blocks-from openmetrics`.
    pub step: String,
    /// Seconds; 0 when an earlier run's result was reused.
    pub seconds: f64,
    /// True when an earlier run's result was reused.
    pub reused: bool,
}

/// The data set and query times the report refers to.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Setup {
    /// Cluster preset name.
    pub size: String,
    /// Cluster shape (`classic` or `churn`).
    pub shape: String,
    /// Label style of the data and queries.
    pub style: String,
    /// Nodes, pods, series, samples of the data.
    pub nodes: usize,
    /// Pods.
    pub pods: usize,
    /// Series.
    pub series: usize,
    /// Samples.
    pub samples: u64,
    /// First and last scrape, ms.
    pub data_range_ms: (i64, i64),
    /// Instant queries' evaluation time, ms.
    pub instant_ms: i64,
    /// Range queries' start, end and step, ms.
    pub range_ms: (i64, i64, i64),
    /// Timed runs per query per engine.
    pub runs: usize,
    /// Untimed warm-up runs before them.
    pub warmup: usize,
    /// promlite's workload-join fast path setting.
    pub fast_path: bool,
    /// The order the engines were measured in.
    pub order: Order,
}

/// Everything a benchmark run found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BenchReport {
    /// What was measured.
    pub setup: Setup,
    /// Data generation and per-engine ingest times.
    pub ingest: Vec<IngestLine>,
    /// Skipped engines and other remarks.
    pub notes: Vec<String>,
    /// One row per query and kind.
    pub rows: Vec<Row>,
}

impl BenchReport {
    /// `name (kind)` of every query where promlite's answer differs from Prometheus's.
    pub fn promlite_mismatches(&self) -> Vec<String> {
        self.rows
            .iter()
            .filter(|r| {
                matches!(r.promlite_check, Check::Differs(_))
                    || matches!(r.promlite_http_check, Check::Differs(_))
            })
            .map(|r| format!("{} ({})", r.query, r.kind.as_str()))
            .collect()
    }

    fn header() -> Vec<String> {
        [
            "query",
            "kind",
            "series",
            "promlite ms",
            "pl-http ms",
            "prom wall ms",
            "prom eval ms",
            "VM ms",
            "prom/pl",
            "prom eval/pl",
            "VM/pl",
            "prom/http",
            "VM/http",
            "pl check",
            "http check",
            "VM check",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }

    fn cells(row: &Row) -> Vec<String> {
        let ms = |m: Option<f64>| m.map_or_else(|| "-".to_string(), fmt_ms);
        let x = |r: Option<f64>| r.map_or_else(|| "-".to_string(), |r| format!("{r:.1}x"));
        vec![
            row.query.clone(),
            row.kind.as_str().to_string(),
            if row.error {
                "error".to_string()
            } else {
                row.series.map_or_else(|| "-".into(), |n| n.to_string())
            },
            ms(row.promlite.as_ref().map(|m| m.median_ms)),
            ms(row.promlite_http.as_ref().map(|m| m.median_ms)),
            ms(row.prometheus.as_ref().map(|m| m.median_ms)),
            ms(row
                .prometheus
                .as_ref()
                .and_then(|m| m.server_eval_median_ms)),
            ms(row.victoria.as_ref().map(|m| m.median_ms)),
            x(row.prometheus_ratio()),
            x(row.prometheus_eval_ratio()),
            x(row.victoria_ratio()),
            x(row.prometheus_http_ratio()),
            x(row.victoria_http_ratio()),
            row.promlite_check.cell().to_string(),
            row.promlite_http_check.cell().to_string(),
            row.victoria_check.cell().to_string(),
        ]
    }

    /// The details under the table: setup, ingest times, notes and every difference.
    fn details(&self, md: bool) -> String {
        let s = &self.setup;
        let bullet = if md { "- " } else { "  " };
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{bullet}data: preset {}, shape {} ({} labels), {} nodes, {} pods, {} series, {} samples, {}..{} ms",
            s.size, s.shape, s.style, s.nodes, s.pods, s.series, s.samples, s.data_range_ms.0, s.data_range_ms.1
        );
        let _ = writeln!(
            out,
            "{bullet}instant at {} ms; range {}..{} ms step {} ms; median of {} runs after {} warm-up; promlite fast path {}",
            s.instant_ms,
            s.range_ms.0,
            s.range_ms.1,
            s.range_ms.2,
            s.runs,
            s.warmup,
            if s.fast_path { "on" } else { "off" }
        );
        let how = match s.order {
            Order::Interleaved => {
                "all engines up at once; each timed run executes on every engine in turn, the first engine rotating"
            }
            Order::Grouped => {
                "all engines up at once; per query each engine runs back to back, the first engine rotating"
            }
            Order::Sequential => "one engine at a time, each running every query",
        };
        let _ = writeln!(out, "{bullet}order: {} ({how})", s.order.as_str());
        for line in &self.ingest {
            let how = if line.reused {
                "reused".to_string()
            } else {
                format!("{:.1} s", line.seconds)
            };
            let _ = writeln!(out, "{bullet}ingest {}: {} {how}", line.engine, line.step);
        }
        for note in &self.notes {
            let _ = writeln!(out, "{bullet}note: {note}");
        }
        let same_as_instant = self.rows.iter().flat_map(|row| {
            [
                ("promlite", &row.promlite_check),
                ("promlite-http", &row.promlite_http_check),
            ]
            .into_iter()
            .filter_map(move |(engine, check)| match check {
                Check::SameAsInstant(why) => Some((engine, row, why)),
                _ => None,
            })
        });
        for (k, (engine, row, why)) in same_as_instant.enumerate() {
            if k == 0 {
                let _ = writeln!(out, "{bullet}{SAME_AS_INSTANT_NOTE}");
            }
            let _ = writeln!(
                out,
                "{bullet}ok* {engine} {} ({}): {why}",
                row.query,
                row.kind.as_str()
            );
        }
        for row in &self.rows {
            if let Check::Differs(why) = &row.promlite_check {
                let _ = writeln!(
                    out,
                    "{bullet}MISMATCH promlite {} ({}): {why}",
                    row.query,
                    row.kind.as_str()
                );
            }
        }
        for row in &self.rows {
            if let Check::Differs(why) = &row.promlite_http_check {
                let _ = writeln!(
                    out,
                    "{bullet}MISMATCH promlite-http {} ({}): {why}",
                    row.query,
                    row.kind.as_str()
                );
            }
        }
        for row in &self.rows {
            if let Check::Differs(why) = &row.victoria_check {
                let _ = writeln!(
                    out,
                    "{bullet}VM differs {} ({}): {why}",
                    row.query,
                    row.kind.as_str()
                );
            }
        }
        out
    }

    /// The aligned text table followed by the details.
    pub fn to_table(&self) -> String {
        let mut lines = vec![Self::header()];
        lines.extend(self.rows.iter().map(Self::cells));
        let mut out = align(&lines, &[true, true]);
        out.push('\n');
        out.push_str(&self.details(false));
        out
    }

    /// A Markdown table followed by the details as a list.
    pub fn to_markdown(&self) -> String {
        let header = Self::header();
        let mut out = format!("| {} |\n", header.join(" | "));
        let rule: Vec<&str> = header
            .iter()
            .enumerate()
            .map(|(k, _)| if k < 2 { "---" } else { "---:" })
            .collect();
        let _ = writeln!(out, "|{}|", rule.join("|"));
        for row in &self.rows {
            let _ = writeln!(
                out,
                "| {} |",
                Self::cells(row).join(" | ").replace('`', "'")
            );
        }
        out.push('\n');
        out.push_str(&self.details(true));
        out
    }

    /// The report as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self)
            .unwrap_or_else(|e| format!("{{\"error\": {:?}}}", e.to_string()))
    }
}

/// Milliseconds with about three significant digits.
pub fn fmt_ms(ms: f64) -> String {
    if ms < 10.0 {
        format!("{ms:.2}")
    } else if ms < 100.0 {
        format!("{ms:.1}")
    } else {
        format!("{ms:.0}")
    }
}

/// Pads `lines` into columns separated by two spaces. Column `c` is left-aligned when
/// `left[c]` is true and right-aligned (for numbers) otherwise, including past `left`'s end.
pub fn align(lines: &[Vec<String>], left: &[bool]) -> String {
    let n_cols = lines.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..n_cols)
        .map(|c| {
            lines
                .iter()
                .filter_map(|l| l.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for line in lines {
        let mut text = String::new();
        for (c, cell) in line.iter().enumerate() {
            let width = widths.get(c).copied().unwrap_or(0);
            if c > 0 {
                text.push_str("  ");
            }
            let pad = " ".repeat(width.saturating_sub(cell.chars().count()));
            if left.get(c).copied().unwrap_or(false) {
                text.push_str(cell);
                text.push_str(&pad);
            } else {
                text.push_str(&pad);
                text.push_str(cell);
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measurement(ms: &[u64]) -> Measurement {
        let wall: Vec<Duration> = ms.iter().map(|m| Duration::from_millis(*m)).collect();
        Measurement::new(&wall, &[], &[])
    }

    fn report(rows: Vec<Row>) -> BenchReport {
        BenchReport {
            setup: Setup {
                size: "tiny".into(),
                shape: "classic".into(),
                style: "legacy".into(),
                nodes: 2,
                pods: 15,
                series: 100,
                samples: 4000,
                data_range_ms: (0, 585_000),
                instant_ms: 577_750,
                range_ms: (7_250, 547_250, 60_000),
                runs: 5,
                warmup: 1,
                fast_path: true,
                order: Order::Interleaved,
            },
            ingest: vec![IngestLine {
                engine: "prometheus".into(),
                step: "promtool".into(),
                seconds: 1.25,
                reused: false,
            }],
            notes: vec!["victoria-metrics skipped: /usr/bin/victoria-metrics not found".into()],
            rows,
        }
    }

    fn row(query: &str, pl: &[u64], prom: Option<Measurement>, check: Check) -> Row {
        Row {
            query: query.into(),
            kind: QueryKind::Range,
            series: Some(12),
            error: false,
            promlite: Some(measurement(pl)),
            promlite_http: None,
            prometheus: prom,
            victoria: None,
            promlite_check: check,
            promlite_http_check: Check::NotRun,
            victoria_check: Check::NotRun,
        }
    }

    #[test]
    fn medians() {
        assert_eq!(median(&[]), 0.0);
        assert_eq!(median(&[3.0]), 3.0);
        assert_eq!(median(&[5.0, 1.0, 3.0]), 3.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        let m = Measurement::new(
            &[
                Duration::from_millis(30),
                Duration::from_millis(10),
                Duration::from_millis(20),
            ],
            &[Duration::from_millis(7)],
            &[],
        );
        assert_eq!(m.median_ms, 20.0);
        assert_eq!(m.runs_ms, vec![30.0, 10.0, 20.0]);
        assert_eq!(m.server_eval_median_ms, Some(7.0));
        assert_eq!(m.server_exec_median_ms, None);
    }

    #[test]
    fn ratios_divide_by_promlite() {
        let mut prom = measurement(&[400]);
        prom.server_eval_median_ms = Some(300.0);
        let r = row("q", &[20], Some(prom), Check::Same);
        assert_eq!(r.prometheus_ratio(), Some(20.0));
        assert_eq!(r.prometheus_eval_ratio(), Some(15.0));
        assert_eq!(r.victoria_ratio(), None);
        let zero = row("q", &[0], Some(measurement(&[5])), Check::Same);
        assert_eq!(zero.prometheus_ratio(), None);
    }

    #[test]
    fn the_table_is_aligned() {
        let mut prom = measurement(&[4000]);
        prom.server_eval_median_ms = Some(3500.0);
        let r = report(vec![
            row("owner_join", &[100], Some(prom), Check::Same),
            row("pod_cpu", &[5], None, Check::Differs("1 missing".into())),
        ]);
        let table = r.to_table();
        let lines: Vec<&str> = table.lines().collect();
        assert!(
            lines[0].starts_with("query       kind   series  promlite ms"),
            "{table}"
        );
        // Right-aligned numeric columns end at the same character position.
        let end_of = |line: &str, cell: &str| line.find(cell).map(|p| p + cell.len()).unwrap();
        assert_eq!(end_of(lines[0], "promlite ms"), end_of(lines[1], "100"));
        assert_eq!(end_of(lines[0], "promlite ms"), end_of(lines[2], "5.00"));
        assert!(
            lines[1].contains("40.0x") && lines[1].contains("35.0x"),
            "{}",
            lines[1]
        );
        assert!(lines[2].contains("DIFFERS"), "{}", lines[2]);
        assert!(
            table.contains("MISMATCH promlite pod_cpu (range): 1 missing"),
            "{table}"
        );
        assert!(table.contains("note: victoria-metrics skipped"), "{table}");
        assert!(
            table.contains("  order: interleaved (all engines up"),
            "{table}"
        );
        assert!(
            table.contains("ingest prometheus: promtool 1.2 s")
                || table.contains("ingest prometheus: promtool 1.3 s")
        );
        assert_eq!(r.promlite_mismatches(), vec!["pod_cpu (range)".to_string()]);
    }

    #[test]
    fn markdown_and_json() {
        let r = report(vec![row(
            "owner_join",
            &[100],
            Some(measurement(&[250])),
            Check::Same,
        )]);
        let md = r.to_markdown();
        let lines: Vec<&str> = md.lines().collect();
        assert!(lines[0].starts_with("| query | kind | series |"), "{md}");
        assert_eq!(
            lines[1].matches('|').count(),
            lines[0].matches('|').count(),
            "{md}"
        );
        assert!(
            lines[2].starts_with("| owner_join | range | 12 | 100 | - | 250 | - | - | 2.5x |"),
            "{}",
            lines[2]
        );
        let json: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
        assert_eq!(json["rows"][0]["kind"], "range");
        assert_eq!(json["setup"]["order"], "interleaved");
        assert!(md.contains("- order: interleaved ("), "{md}");
        assert_eq!(json["rows"][0]["promlite_check"]["status"], "same");
        assert_eq!(json["rows"][0]["prometheus"]["median_ms"], 250.0);
    }

    #[test]
    fn http_figures_have_their_own_ratios_and_checks() {
        let mut r = row("owner_join", &[10], Some(measurement(&[400])), Check::Same);
        r.victoria = Some(measurement(&[100]));
        r.promlite_http = Some(measurement(&[20]));
        r.promlite_http_check = Check::Differs("value".into());
        assert_eq!(r.prometheus_http_ratio(), Some(20.0));
        assert_eq!(r.victoria_http_ratio(), Some(5.0));
        assert_eq!(r.prometheus_ratio(), Some(40.0));
        let report = report(vec![r]);
        assert_eq!(
            report.promlite_mismatches(),
            vec!["owner_join (range)".to_string()]
        );
        let table = report.to_table();
        assert!(
            table.contains("MISMATCH promlite-http owner_join (range): value"),
            "{table}"
        );
        let line = table.lines().nth(1).unwrap();
        assert!(line.contains("20.0x") && line.contains("5.0x"), "{line}");
    }

    #[test]
    fn align_pads_ragged_rows() {
        let lines = vec![
            vec!["a".to_string(), "1".into()],
            vec!["long".into(), "22".into(), "x".into()],
        ];
        assert_eq!(align(&lines, &[true]), "a      1\nlong  22  x\n");
    }

    #[test]
    fn same_as_instant_is_ok_star_with_a_footnote_and_no_mismatch() {
        let tie = row(
            "container_memory_node",
            &[100],
            Some(measurement(&[250])),
            Check::SameAsInstant("1 step (t=60000) differs".into()),
        );
        let mut real = row("owner_join", &[10], None, Check::Same);
        real.promlite_http_check = Check::Differs("at t=0: 2 != 1".into());
        let report = report(vec![tie, real]);
        assert_eq!(
            report.promlite_mismatches(),
            vec!["owner_join (range)".to_string()]
        );
        let table = report.to_table();
        let first_row = table.lines().nth(1).unwrap();
        let checks: Vec<&str> = first_row.split_whitespace().rev().take(3).collect();
        assert_eq!(checks, ["-", "-", "ok*"], "{first_row}");
        assert!(table.contains(SAME_AS_INSTANT_NOTE), "{table}");
        assert!(
            table.contains("ok* promlite container_memory_node (range): 1 step (t=60000) differs"),
            "{table}"
        );
        assert!(
            table.contains("MISMATCH promlite-http owner_join (range): at t=0: 2 != 1"),
            "{table}"
        );
        let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
        assert_eq!(
            json["rows"][0]["promlite_check"]["status"],
            "same_as_instant"
        );
        assert!(report
            .to_markdown()
            .contains(&format!("- {SAME_AS_INSTANT_NOTE}")));
        // Without an ok* cell there is no footnote.
        let plain = super::tests::report(vec![row("q", &[1], None, Check::Same)]);
        assert!(!plain.to_table().contains(SAME_AS_INSTANT_NOTE));
    }
}
