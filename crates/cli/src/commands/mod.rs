//! The subcommands, one module each, and the rendering of failures.

mod bench;
pub mod data_check;
mod demo;
mod export;
mod gen_cluster;
mod import;
mod plot;
mod query;
pub mod remote_write;
mod replay;
pub mod replay_target;
mod retention;
pub mod rules;
pub mod scrape;
mod serve;

use std::path::Path;

use anyhow::Context as _;
use promlite_http::api::ApiError;

use crate::args::{Command, OutputFormat};

/// Runs one command.
pub fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Replay(args) => replay::run(&args),
        Command::Query(args) => query::instant(&args),
        Command::QueryRange(args) => query::range(&args),
        Command::Series(args) => query::series(&args),
        Command::Labels(args) => query::labels(&args),
        Command::LabelValues(args) => query::label_values(&args),
        Command::GenCluster(args) => gen_cluster::run(&args),
        Command::Serve(args) => serve::run(&args),
        Command::Scrape(args) => scrape::run(&args),
        Command::Demo(args) => demo::run(&args),
        Command::Plot(args) => plot::run(&args),
        Command::Bench(args) => bench::run(&args),
        Command::Export(args) => export::run(&args),
        Command::Import(args) => import::run(&args),
        Command::RemoteWrite(args) => remote_write::run(&args),
        Command::Test(args) => rules::test(&args),
        Command::Check(args) => rules::check(&args),
        Command::Rules(args) => rules::rules(&args),
        Command::Repair(args) => data_check::repair(&args.data_dir),
    }
}

/// True if the command prints Prometheus JSON, so its failures must be JSON too.
pub fn wants_json(command: &Command) -> bool {
    let format = match command {
        Command::Query(a) => a.format,
        Command::QueryRange(a) => a.format,
        Command::Series(a) => a.range.format,
        Command::Labels(a) => a.range.format,
        Command::LabelValues(a) => a.range.format,
        _ => return false,
    };
    format == OutputFormat::Json
}

/// The Prometheus error body for a failure: the API error it carries, or `internal`.
pub fn json_error(err: &anyhow::Error) -> String {
    match err.downcast_ref::<ApiError>() {
        Some(api) => api.body(),
        None => promlite_http::json::error("internal", &error_chain(err)),
    }
}

/// The error and its causes joined by `: `, leaving out a cause whose text the message
/// already contains (library errors that display their source, as `Selector` does, would
/// otherwise print it twice: `X: X`).
pub fn error_chain(err: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

/// Opens an existing data directory read-only: read commands must not create one by
/// accident, never change it, and work while a writer (`serve`, `replay`) holds it.
fn open_existing(dir: &Path) -> anyhow::Result<promlite::Db> {
    open_existing_with(dir, promlite::Options::default())
}

/// [`open_existing`] with `options` (e.g. the fast path turned off).
fn open_existing_with(dir: &Path, options: promlite::Options) -> anyhow::Result<promlite::Db> {
    if !dir.is_dir() {
        anyhow::bail!("data directory {} does not exist", dir.display());
    }
    promlite::Db::open_read_only(dir, options)
        .with_context(|| format!("opening data directory {} read-only", dir.display()))
}

/// Applies the value-run index flags to `options`: `--no-value-runs` turns the index off,
/// `--info-metrics` replaces the configured list (each entry a name or a glob with one `*`),
/// `--detect-info-series` adds detection.
/// `options` with the extensions `--enable-extension` names turned on.
fn apply_extensions(
    extensions: &crate::args::ExtensionArgs,
    mut options: promlite::Options,
) -> promlite::Options {
    for name in &extensions.enable_extension {
        options.engine.enable(name.extension());
    }
    options
}

fn apply_run_index(
    runs: &crate::args::RunIndexArgs,
    mut options: promlite::Options,
) -> anyhow::Result<promlite::Options> {
    if runs.no_value_runs {
        options.storage.owner_index_metrics = Vec::new();
        options.storage.owner_index_detect = false;
        return Ok(options);
    }
    if !runs.info_metrics.is_empty() {
        for (i, pattern) in runs.info_metrics.iter().enumerate() {
            anyhow::ensure!(
                !pattern.is_empty(),
                "--info-metrics: entry {} is empty",
                i + 1
            );
            anyhow::ensure!(
                pattern.matches('*').count() <= 1,
                "--info-metrics: entry {} {pattern:?} has more than one `*`",
                i + 1
            );
        }
        options.storage.owner_index_metrics = runs.info_metrics.clone();
    }
    if runs.detect_info_series {
        options.storage.owner_index_detect = true;
    }
    Ok(options)
}
