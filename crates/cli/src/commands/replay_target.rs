//! The target options of `promlite replay`: `--label name=value` (repeatable),
//! `--honor-labels`, `--no-honor-timestamps`, `--scrape-series`, combined with a scrape
//! directory's own `target.yml` (the command line wins for a label given in both).

use std::path::Path;

use anyhow::Context as _;
use clap::Args;
use promlite::{Labels, ReplayTarget};

/// Target labelling for replay.
#[derive(Debug, Args, Default)]
pub struct ReplayTargetArgs {
    /// A target label attached to every replayed series, as a scraper attaches `job` and
    /// `instance` (repeatable; e.g. `--label job=node --label instance=host:9100`). A scrape
    /// directory may also hold a `target.yml` with `labels:`.
    #[arg(long = "label", value_name = "NAME=VALUE")]
    pub labels: Vec<String>,
    /// Scraped labels win over target labels (Prometheus's honor_labels); otherwise a
    /// scraped label that collides is kept as exported_NAME.
    #[arg(long)]
    pub honor_labels: bool,
    /// Give every sample of a scrape directory its scrape's time even if it has its own
    /// (Prometheus's honor_timestamps: false).
    #[arg(long)]
    pub no_honor_timestamps: bool,
    /// Also write the synthetic `up`, `scrape_duration_seconds` (0: unknown for a file) and
    /// `scrape_samples_scraped` series for every scrape of a scrape directory.
    #[arg(long)]
    pub scrape_series: bool,
}

fn parse_label(text: &str) -> anyhow::Result<(String, String)> {
    let (name, value) = text
        .split_once('=')
        .with_context(|| format!("--label {text:?}: expected NAME=VALUE"))?;
    anyhow::ensure!(
        promlite_scrape::relabel::is_valid_label_name(name) && !name.starts_with("__"),
        "--label {text:?}: {name:?} is not a valid target label name"
    );
    Ok((name.to_string(), value.to_string()))
}

impl ReplayTargetArgs {
    /// The target for `input` (a file or a scrape directory), or `None` to replay the series
    /// exactly as written.
    pub fn target_for(&self, input: &Path) -> anyhow::Result<Option<ReplayTarget>> {
        let from_file = if input.is_dir() {
            promlite_scrape::target_file::load_target_file(input)?
        } else {
            None
        };
        let given = !self.labels.is_empty()
            || self.honor_labels
            || self.no_honor_timestamps
            || self.scrape_series;
        if from_file.is_none() && !given {
            return Ok(None);
        }
        let mut target = from_file.unwrap_or_default();
        if !self.labels.is_empty() {
            let mut pairs: Vec<(String, String)> = target
                .labels
                .iter()
                .map(|l| (l.name.to_string(), l.value.to_string()))
                .collect();
            for text in &self.labels {
                pairs.push(parse_label(text)?);
            }
            // Later pairs win: the command line overrides target.yml.
            target.labels = Labels::from_pairs(pairs);
        }
        target.honor_labels |= self.honor_labels;
        if self.no_honor_timestamps {
            target.honor_timestamps = false;
        }
        target.scrape_series = self.scrape_series && input.is_dir();
        Ok(Some(target))
    }
}
