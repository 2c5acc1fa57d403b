//! `promlite serve`: the Prometheus-compatible HTTP API over a data directory.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use promlite_http::params::parse_duration;
use promlite_http::{Api, ApiOptions, ImportEndpoints, Server, ServerOptions};

use crate::args::ServeArgs;

/// Opens the data directory (read-only with `--read-only`) and serves it until the process is
/// stopped. A writing server also accepts `POST /api/v1/import/prometheus`.
pub fn run(args: &ServeArgs) -> anyhow::Result<()> {
    let timeout_ms = parse_duration(&args.query_timeout).context("--query-timeout")?;
    let timeout = Duration::from_millis(
        u64::try_from(timeout_ms).context("--query-timeout must not be negative")?,
    );
    let dir = &args.data.data_dir;
    let db = if args.read_only {
        anyhow::ensure!(
            dir.is_dir(),
            "data directory {} does not exist",
            dir.display()
        );
        let db = promlite::Db::open_read_only(
            dir,
            super::apply_extensions(
                &args.extensions,
                fast_path_options(
                    args.no_fast_path,
                    super::apply_run_index(&args.runs, promlite::Options::default())?,
                ),
            ),
        )
        .with_context(|| format!("opening data directory {} read-only", dir.display()))?;
        let every = parse_duration(&args.refresh_interval).context("--refresh-interval")?;
        db.set_refresh_interval(Duration::from_millis(
            u64::try_from(every).context("--refresh-interval must not be negative")?,
        ));
        db
    } else {
        let options = super::apply_extensions(
            &args.extensions,
            fast_path_options(
                args.no_fast_path,
                super::apply_run_index(&args.runs, super::retention::options(&args.retention)?)?,
            ),
        );
        promlite::Db::open(dir, options)
            .with_context(|| format!("opening data directory {}", dir.display()))?
    };
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
    // Loaded before the API is built: `status/config` shows it as Prometheus shows its own.
    let scrape_config = match &args.scrape_config {
        Some(path) => Some(super::scrape::load_config(path)?),
        None => None,
    };
    let config_yaml = scrape_config.as_ref().map_or_else(
        || ApiOptions::default().config_yaml,
        promlite_scrape::Config::to_prometheus_yaml,
    );
    let options = ServerOptions {
        listen: args.listen,
        workers: args.workers.unwrap_or(defaults.workers),
        api: ApiOptions {
            query_timeout: timeout,
            max_samples: args.query_max_samples,
            max_concurrency: args.query_max_concurrency,
            cors_origin: args.web_cors_origin.clone(),
            flags,
            config_yaml,
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
    // The query page, remote write/read and /federate: mounted sets beside the built-in API.
    let mut api = Api::new(db.clone(), options.api.clone())
        .mount(Arc::new(promlite_http::web::WebPage))
        .mount(Arc::new(promlite_http::remote::RemoteEndpoints::default()))
        .mount(Arc::new(promlite_http::federate::FederateEndpoints));
    if !args.read_only {
        // Adding data through the serving process (the only writer of the directory).
        api = api.mount(Arc::new(ImportEndpoints));
    }
    let rules = if args.rules.is_empty() {
        None
    } else {
        let live = super::rules::start_live_rules(&db, &args.rules, &args.rule_eval_interval)?;
        api = api.mount(Arc::new(promlite_http::rules::RulesEndpoints::new(
            live.manager(),
        )));
        Some(live)
    };
    // `--scrape-config`: scrape into the served database and answer /api/v1/targets.
    let scraper = match &scrape_config {
        Some(config) => {
            let scraper = promlite_scrape::Scraper::start(
                db.clone(),
                config,
                promlite_scrape::ScraperOptions::default(),
            )?;
            let scraper = Arc::new(std::sync::Mutex::new(Some(scraper)));
            api = api.mount(Arc::new(promlite_http::targets::TargetsEndpoint::new(
                scraper.clone(),
            )));
            Some(scraper)
        }
        None => None,
    };
    let server = Server::start_api(api, options).context("starting the HTTP server")?;
    eprintln!(
        "promlite: serving the Prometheus API on http://{addr}/api/v1/ and the query page on http://{addr}/",
        addr = server.local_addr()
    );
    match scraper {
        // Until SIGTERM/SIGINT: stop scraping, make the data durable, exit 0.
        Some(scraper) => {
            let stop = super::scrape::termination_flag()?;
            super::scrape::wait_for(&stop);
            let taken = scraper.lock().ok().and_then(|mut guard| guard.take());
            if let Some(scraper) = taken {
                super::scrape::finish(scraper, &db)?;
            }
            server.shutdown();
        }
        None => server.wait(),
    }
    drop(rules);
    Ok(())
}

/// `options` with the fast path off when `--no-fast-path` asks for it.
fn fast_path_options(no_fast_path: bool, mut options: promlite::Options) -> promlite::Options {
    options.engine.fast_path = !no_fast_path;
    options
}
