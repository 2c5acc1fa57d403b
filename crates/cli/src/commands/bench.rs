//! `promlite bench`: the join benchmark harness (`promlite-bench`): promlite against Prometheus
//! and VictoriaMetrics on the same generated cluster, answers checked against Prometheus.

use std::time::Duration;

use anyhow::Context as _;
use promlite_bench::{BenchOptions, EngineSet, Order};
use promlite_http::params::parse_duration;

use promlite_cluster::LabelStyle;

use crate::args::{BenchArgs, BenchEngine, BenchOrder, SizeArg};
use crate::commands::gen_cluster;

fn size_name(size: SizeArg) -> &'static str {
    match size {
        SizeArg::Tiny => "tiny",
        SizeArg::Small => "small",
        SizeArg::Medium => "medium",
        SizeArg::Large => "large",
        SizeArg::Huge => "huge",
    }
}

/// Maps the flags onto the harness options and runs it, printing progress and the table.
pub fn run(args: &BenchArgs) -> anyhow::Result<()> {
    let defaults = BenchOptions::default();
    let step_ms = parse_duration(&args.step).with_context(|| format!("--step {:?}", args.step))?;
    let engines = if args.engines.is_empty() {
        EngineSet::default()
    } else {
        EngineSet {
            promlite: args.engines.contains(&BenchEngine::Promlite),
            prometheus: args.engines.contains(&BenchEngine::Prometheus),
            victoria: args.engines.contains(&BenchEngine::Victoria),
            promlite_http: args.engines.contains(&BenchEngine::PromliteHttp),
        }
    };
    let mut prometheus = defaults.prometheus.clone();
    let mut victoria = defaults.victoria.clone();
    let mut promlite_http = defaults.promlite_http.clone();
    // `promlite-http` serves with this very binary.
    promlite_http.binary = std::env::current_exe().ok();
    if let Some(timeout) = &args.query_timeout {
        let ms = parse_duration(timeout).with_context(|| format!("--query-timeout {timeout:?}"))?;
        let timeout = Duration::from_millis(
            u64::try_from(ms).context("--query-timeout must not be negative")?,
        );
        prometheus.query_timeout = timeout;
        victoria.query_timeout = timeout;
        promlite_http.query_timeout = timeout;
    }
    let settle_ms =
        parse_duration(&args.settle).with_context(|| format!("--settle {:?}", args.settle))?;
    let settle =
        Duration::from_millis(u64::try_from(settle_ms).context("--settle must not be negative")?);
    let options = BenchOptions {
        size: size_name(args.size).to_string(),
        style: match gen_cluster::label_style(args.shape, args.label_style)? {
            LabelStyle::Legacy2018 => "legacy".to_string(),
            LabelStyle::Modern => "modern".to_string(),
        },
        shape: gen_cluster::shape(args.shape).as_str().to_string(),
        seed: args.seed,
        work_dir: args.work_dir.clone().unwrap_or(defaults.work_dir.clone()),
        workload_dir: args
            .workload_dir
            .clone()
            .unwrap_or(defaults.workload_dir.clone()),
        queries: args.queries.clone(),
        instant: !args.range_only,
        range: !args.instant_only,
        runs: args.runs,
        warmup: args.warmup,
        step_ms,
        engines,
        order: match args.order {
            BenchOrder::Interleaved => Order::Interleaved,
            BenchOrder::Grouped => Order::Grouped,
            BenchOrder::Sequential => Order::Sequential,
        },
        settle,
        prometheus,
        victoria,
        promlite_http,
        fast_path: !args.no_fast_path,
        json_out: args.json_out.clone(),
        markdown_out: args.markdown_out.clone(),
        ..defaults
    };
    let mut stdout = std::io::stdout().lock();
    promlite_bench::run(&options, &mut stdout).context("benchmark run")?;
    Ok(())
}
