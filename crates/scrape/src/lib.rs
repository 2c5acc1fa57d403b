//! Live scraping into a [`promlite::Db`]: a subset of Prometheus's `scrape_configs`
//! ([`Config`]), relabelling ([`relabel`]), targets with Prometheus's label rules and scrape
//! offsets ([`target`]), the per-target scrape loop with staleness markers and the synthetic
//! `up`/`scrape_*` series ([`scrape_loop`]), and a multi-target [`Scraper`] ([`manager`]).
//!
//! Semantics follow Prometheus 2.42; each module says where it differs.
//!
//! ```no_run
//! use promlite_scrape::{Config, Scraper, ScraperOptions};
//!
//! let config = Config::parse(r#"
//! global:
//!   scrape_interval: 15s
//! scrape_configs:
//!   - job_name: node
//!     static_configs:
//!       - targets: ["127.0.0.1:9100"]
//! "#)?;
//! let db = promlite::Db::open("data", promlite::Options::default())?;
//! let scraper = Scraper::start(db.clone(), &config, ScraperOptions::default())?;
//! std::thread::sleep(std::time::Duration::from_secs(60));
//! scraper.shutdown();
//! db.flush()?; // durable in blocks
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs)]

pub mod config;
mod config_yaml;
pub mod duration;
mod error;
pub mod manager;
pub mod relabel;
pub mod scrape_loop;
pub mod target;
pub mod target_file;
mod yaml_emit;

pub use config::{Config, GlobalConfig, ScrapeConfig, StaticConfig};
pub use error::{Error, Result};
pub use manager::{Health, Scraper, ScraperOptions, TargetStatus, TargetsSnapshot, TargetsSource};
pub use relabel::{Action, RelabelConfig};
pub use scrape_loop::{ScrapeLoop, ScrapeReport, ScrapeRules, ACCEPT_HEADER};
pub use target::{DroppedTarget, Target, TargetSet};
