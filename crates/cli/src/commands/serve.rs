//! `promlite serve`: the Prometheus-compatible HTTP API over a data directory.

use std::time::Duration;

use anyhow::Context as _;
use promlite_http::params::parse_duration;
use promlite_http::{Api, ApiOptions, Server, ServerOptions};

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
    if let Some(config_path) = &args.scrape_config {
        return serve_and_scrape(db, options, config_path);
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

/// `serve --scrape-config`: scrapes into the served database and answers `/api/v1/targets`
/// until SIGTERM/SIGINT, then stops scraping, makes the data durable and exits 0.
fn serve_and_scrape(
    db: promlite::Db,
    options: ServerOptions,
    config_path: &std::path::Path,
) -> anyhow::Result<()> {
    let config = super::scrape::load_config(config_path)?;
    let stop = super::scrape::termination_flag()?;
    let scraper = promlite_scrape::Scraper::start(
        db.clone(),
        &config,
        promlite_scrape::ScraperOptions::default(),
    )?;
    let scraper = std::sync::Arc::new(std::sync::Mutex::new(Some(scraper)));
    let api = Api::new(db.clone(), options.api.clone())
        .mount(std::sync::Arc::new(promlite_http::web::WebPage))
        .mount(std::sync::Arc::new(
            promlite_http::targets::TargetsEndpoint::new(scraper.clone()),
        ));
    let server = Server::start_api(api, options).context("starting the HTTP server")?;
    eprintln!(
        "promlite: serving the Prometheus API on http://{}/api/v1/ and scraping",
        server.local_addr()
    );
    super::scrape::wait_for(&stop);
    let taken = scraper.lock().ok().and_then(|mut guard| guard.take());
    if let Some(scraper) = taken {
        super::scrape::finish(scraper, &db)?;
    }
    server.shutdown();
    Ok(())
}
