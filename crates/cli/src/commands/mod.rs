//! The subcommands, one module each, and the rendering of failures.

mod bench;
mod demo;
mod gen_cluster;
mod plot;
mod query;
mod replay;
pub mod replay_target;
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
        None => promlite_http::json::error("internal", &format!("{err:#}")),
    }
}

/// Opens an existing data directory (read commands must not create one by accident).
fn open_existing(dir: &Path) -> anyhow::Result<promlite::Db> {
    if !dir.is_dir() {
        anyhow::bail!("data directory {} does not exist", dir.display());
    }
    promlite::Db::open(dir, promlite::Options::default())
        .with_context(|| format!("opening data directory {}", dir.display()))
}
