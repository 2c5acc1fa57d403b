//! `promlite serve`: the Prometheus-compatible HTTP API over a data directory.

use std::time::Duration;

use anyhow::Context as _;
use promlite_http::params::parse_duration;
use promlite_http::{ApiOptions, Server, ServerOptions};

use crate::args::ServeArgs;

/// Opens the data directory and serves it until the process is stopped.
pub fn run(args: &ServeArgs) -> anyhow::Result<()> {
    let timeout_ms = parse_duration(&args.query_timeout).context("--query-timeout")?;
    let timeout = Duration::from_millis(
        u64::try_from(timeout_ms).context("--query-timeout must not be negative")?,
    );
    let db = promlite::Db::open(&args.data.data_dir, promlite::Options::default())
        .with_context(|| format!("opening data directory {}", args.data.data_dir.display()))?;
    let defaults = ServerOptions::default();
    let options = ServerOptions {
        listen: args.listen,
        workers: args.workers.unwrap_or(defaults.workers),
        api: ApiOptions {
            query_timeout: timeout,
            max_samples: args.query_max_samples,
            ..ApiOptions::default()
        },
        ..defaults
    };
    if !args.listen.ip().is_loopback() {
        eprintln!(
            "warning: listening on {}, which is reachable from other hosts",
            args.listen
        );
    }
    let mut api = promlite_http::Api::new(db.clone(), options.api.clone());
    let rules = if args.rules.is_empty() {
        None
    } else {
        let live = super::rules::start_live_rules(&db, &args.rules, &args.rule_eval_interval)?;
        api = api.mount(std::sync::Arc::new(
            promlite_http::rules::RulesEndpoints::new(live.manager()),
        ));
        Some(live)
    };
    let server = Server::start_api(api, options).context("starting the HTTP server")?;
    eprintln!(
        "promlite: serving the Prometheus API on http://{}/api/v1/",
        server.local_addr()
    );
    server.wait();
    drop(rules);
    Ok(())
}
