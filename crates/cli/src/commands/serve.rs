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
    promlite_http::middleware::CorsOrigin::new(&args.web_cors_origin)
        .context("--web-cors-origin is not a valid regular expression")?;
    let defaults = ServerOptions::default();
    // The query flags are derived from the API options; these are the rest.
    let flags = vec![
        ("web.listen-address".to_string(), args.listen.to_string()),
        (
            "storage.tsdb.path".to_string(),
            args.data.data_dir.display().to_string(),
        ),
    ];
    let options = ServerOptions {
        listen: args.listen,
        workers: args.workers.unwrap_or(defaults.workers),
        api: ApiOptions {
            query_timeout: timeout,
            max_samples: args.query_max_samples,
            max_concurrency: args.query_max_concurrency,
            cors_origin: args.web_cors_origin.clone(),
            flags,
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
    let api = promlite_http::Api::new(db, options.api.clone())
        .mount(std::sync::Arc::new(promlite_http::web::WebPage));
    let server = Server::start_api(api, options).context("starting the HTTP server")?;
    eprintln!(
        "promlite: serving the Prometheus API on http://{addr}/api/v1/ and the query page on http://{addr}/",
        addr = server.local_addr()
    );
    server.wait();
    Ok(())
}
