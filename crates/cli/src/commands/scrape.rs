//! `promlite scrape --config FILE.yml --data-dir D`: scrapes the configured targets into the
//! data directory until SIGTERM or SIGINT, then stops the loops, compacts everything into
//! blocks and syncs the WAL before exiting 0. Also the scraping half of
//! `serve --scrape-config`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use promlite_scrape::{Config, Scraper, ScraperOptions};

use crate::args::DataDir;

/// `promlite scrape`.
#[derive(Debug, Args)]
pub struct ScrapeArgs {
    #[command(flatten)]
    pub data: DataDir,
    /// The scrape configuration (Prometheus's `global` and `scrape_configs` subset).
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// Write staleness markers for every scraped series at shutdown (Prometheus does not;
    /// its series simply end after the 5-minute lookback).
    #[arg(long)]
    pub stale_on_shutdown: bool,
    /// Also write every scrape's response, byte for byte, to DIR/JOB/INSTANCE/MS.prom
    /// with a target.yml, for `promlite replay DIR/<job>/<instance>`.
    #[arg(long, value_name = "DIR")]
    pub capture: Option<PathBuf>,
}

/// Loads `path` and prints what will be scraped.
pub fn load_config(path: &Path) -> anyhow::Result<Config> {
    let config = Config::load(path)?;
    let set = promlite_scrape::target::targets(&config);
    for target in &set.active {
        eprintln!(
            "promlite: scraping {} every {} ({})",
            target.url,
            promlite_scrape::duration::format_duration(target.interval),
            target.labels
        );
    }
    if !set.dropped.is_empty() {
        eprintln!(
            "promlite: {} targets dropped by relabelling",
            set.dropped.len()
        );
    }
    Ok(config)
}

/// A flag raised by SIGTERM or SIGINT.
pub fn termination_flag() -> anyhow::Result<Arc<AtomicBool>> {
    let flag = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, Arc::clone(&flag))
            .context("installing the signal handler")?;
    }
    Ok(flag)
}

/// Blocks until `flag` is raised.
pub fn wait_for(flag: &AtomicBool) {
    while !flag.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Stops the scraper, then compacts and syncs so everything scraped is durable.
pub fn finish(scraper: Scraper, db: &promlite::Db) -> anyhow::Result<()> {
    scraper.shutdown();
    let blocks = db
        .flush()
        .context("compacting the scraped data into blocks")?;
    db.sync().context("syncing the write-ahead log")?;
    eprintln!("promlite: scraping stopped; {blocks} blocks written");
    Ok(())
}

/// Runs `promlite scrape`.
pub fn run(args: &ScrapeArgs) -> anyhow::Result<()> {
    let config = load_config(&args.config)?;
    let stop = termination_flag()?;
    let db = promlite::Db::open(&args.data.data_dir, promlite::Options::default())
        .with_context(|| format!("opening data directory {}", args.data.data_dir.display()))?;
    let options = ScraperOptions {
        stale_on_shutdown: args.stale_on_shutdown,
        capture_dir: args.capture.clone(),
        ..ScraperOptions::default()
    };
    let scraper = Scraper::start(db.clone(), &config, options)?;
    wait_for(&stop);
    finish(scraper, &db)
}
