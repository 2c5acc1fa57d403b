//! The writer half of [`crate::config`]: a [`Config`] rendered as Prometheus 2.42 renders its
//! loaded configuration at `/api/v1/status/config` (defaults filled in, fields in Prometheus's
//! order, scalars styled by [`crate::yaml_emit`] as Go's yaml.v2 styles them), so a tool that
//! reads that endpoint sees the same document from promlite as from Prometheus.
//!
//! Layout (docs/format/scrape-config.md): `global` (scrape_interval, scrape_timeout,
//! evaluation_interval, external_labels), then one entry per job: job_name, honor_labels (when
//! true), honor_timestamps, params, scrape_interval, scrape_timeout, metrics_path, scheme,
//! sample_limit and label_limit (when set), follow_redirects, relabel_configs,
//! metric_relabel_configs, static_configs.
//!
//! Deliberate differences from Prometheus's bytes, each where Prometheus's rendering would not
//! read back as the configuration it shows: `enable_http2: true` is not written (promlite's
//! scraper speaks HTTP/1.1 only); an empty relabel `regex` is written `""` where Prometheus
//! writes `null`, and an empty `separator` or `replacement` is written `""` where Prometheus
//! leaves the field out; both of Prometheus's forms read back as the defaults (`(.*)`, `;`,
//! `$1`). Invariant: [`Config::parse`] of the rendering gives back an equal configuration
//! (tested below and by the `scrape_config_parse` fuzz target).

use std::fmt::Write as _;

use crate::config::{Config, ScrapeConfig};
use crate::duration::format_duration;
use crate::relabel::RelabelConfig;
use crate::yaml_emit::{write_scalar, Place};

impl Config {
    /// The configuration as Prometheus's `/api/v1/status/config` shows it.
    pub fn to_prometheus_yaml(&self) -> String {
        let mut out = String::new();
        let g = &self.global;
        out.push_str("global:\n");
        let _ = writeln!(
            out,
            "  scrape_interval: {}",
            format_duration(g.scrape_interval)
        );
        let _ = writeln!(
            out,
            "  scrape_timeout: {}",
            format_duration(g.scrape_timeout)
        );
        let _ = writeln!(
            out,
            "  evaluation_interval: {}",
            format_duration(g.evaluation_interval)
        );
        if !g.external_labels.is_empty() {
            out.push_str("  external_labels:\n");
            for (name, value) in &g.external_labels {
                map_entry(&mut out, 4, name, value);
            }
        }
        if !self.scrape_configs.is_empty() {
            out.push_str("scrape_configs:\n");
            for job in &self.scrape_configs {
                write_job(&mut out, job);
            }
        }
        out
    }
}

/// `key: value` at `indent`, both styled as yaml.v2 styles them.
fn map_entry(out: &mut String, indent: usize, key: &str, value: &str) {
    out.extend(std::iter::repeat_n(' ', indent));
    write_scalar(out, key, Place::Key);
    out.push_str(": ");
    write_scalar(out, value, Place::Block { indent: indent + 2 });
    out.push('\n');
}

/// `- value` at `indent` (yaml.v2 does not indent a sequence under its mapping key).
fn seq_item(out: &mut String, indent: usize, value: &str) {
    out.extend(std::iter::repeat_n(' ', indent));
    out.push_str("- ");
    write_scalar(out, value, Place::Block { indent: indent + 2 });
    out.push('\n');
}

fn write_job(out: &mut String, job: &ScrapeConfig) {
    out.push_str("- job_name: ");
    write_scalar(out, &job.job_name, Place::Block { indent: 4 });
    out.push('\n');
    if job.honor_labels {
        out.push_str("  honor_labels: true\n");
    }
    let _ = writeln!(out, "  honor_timestamps: {}", job.honor_timestamps);
    if !job.params.is_empty() {
        out.push_str("  params:\n");
        for (name, values) in &job.params {
            out.push_str("    ");
            write_scalar(out, name, Place::Key);
            if values.is_empty() {
                out.push_str(": []\n");
                continue;
            }
            out.push_str(":\n");
            for value in values {
                seq_item(out, 4, value);
            }
        }
    }
    let _ = writeln!(
        out,
        "  scrape_interval: {}",
        format_duration(job.scrape_interval)
    );
    let _ = writeln!(
        out,
        "  scrape_timeout: {}",
        format_duration(job.scrape_timeout)
    );
    map_entry(out, 2, "metrics_path", &job.metrics_path);
    map_entry(out, 2, "scheme", &job.scheme);
    if job.sample_limit > 0 {
        let _ = writeln!(out, "  sample_limit: {}", job.sample_limit);
    }
    if job.label_limit > 0 {
        let _ = writeln!(out, "  label_limit: {}", job.label_limit);
    }
    let _ = writeln!(out, "  follow_redirects: {}", job.follow_redirects);
    write_relabel_configs(out, "relabel_configs", &job.relabel_configs);
    write_relabel_configs(out, "metric_relabel_configs", &job.metric_relabel_configs);
    if !job.static_configs.is_empty() {
        out.push_str("  static_configs:\n");
        for group in &job.static_configs {
            if group.targets.is_empty() {
                out.push_str("  - targets: []\n");
            } else {
                out.push_str("  - targets:\n");
                for target in &group.targets {
                    seq_item(out, 4, target);
                }
            }
            if !group.labels.is_empty() {
                out.push_str("    labels:\n");
                for (name, value) in &group.labels {
                    map_entry(out, 6, name, value);
                }
            }
        }
    }
}

fn write_relabel_configs(out: &mut String, key: &str, configs: &[RelabelConfig]) {
    if configs.is_empty() {
        return;
    }
    let _ = writeln!(out, "  {key}:");
    for c in configs {
        // Prometheus leaves out a zero modulus and empty strings (`omitempty`); an empty
        // separator or replacement is written `""` here so that it reads back as written.
        let mut fields: Vec<String> = Vec::new();
        let styled = |name: &str, value: &str| {
            let mut field = format!("{name}: ");
            write_scalar(&mut field, value, Place::Block { indent: 6 });
            field
        };
        if !c.source_labels.is_empty() {
            let mut field = "source_labels: [".to_string();
            for (i, name) in c.source_labels.iter().enumerate() {
                if i > 0 {
                    field.push_str(", ");
                }
                write_scalar(&mut field, name, Place::Flow);
            }
            field.push(']');
            fields.push(field);
        }
        fields.push(styled("separator", &c.separator));
        fields.push(styled("regex", &c.regex_source));
        if c.modulus != 0 {
            // A number, not a string: written as it is.
            fields.push(format!("modulus: {}", c.modulus));
        }
        if !c.target_label.is_empty() {
            fields.push(styled("target_label", &c.target_label));
        }
        fields.push(styled("replacement", &c.replacement));
        fields.push(styled("action", c.action.as_str()));
        // The first field carries the item's dash.
        for (i, field) in fields.iter().enumerate() {
            out.push_str(if i == 0 { "  - " } else { "    " });
            out.push_str(field);
            out.push('\n');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Everything [`Config::to_prometheus_yaml`] writes, field by field (a compiled regex has
    /// no equality: its source stands for it).
    fn fingerprint(c: &Config) -> String {
        let relabels = |rs: &[RelabelConfig]| {
            rs.iter()
                .map(|r| {
                    format!(
                        "{:?}|{:?}|{:?}|{}|{:?}|{:?}|{}",
                        r.source_labels,
                        r.separator,
                        r.regex_source,
                        r.modulus,
                        r.target_label,
                        r.replacement,
                        r.action.as_str()
                    )
                })
                .collect::<Vec<_>>()
        };
        let mut out = format!(
            "{:?} {:?} {:?} {:?}\n",
            c.global.scrape_interval,
            c.global.scrape_timeout,
            c.global.evaluation_interval,
            c.global.external_labels
        );
        for j in &c.scrape_configs {
            let statics: Vec<_> = j
                .static_configs
                .iter()
                .map(|s| (s.targets.clone(), s.labels.clone()))
                .collect();
            out.push_str(&format!(
                "{:?} {:?} {:?} {:?} {:?} {:?} {} {} {:?} {:?} {:?} {} {}\n",
                j.job_name,
                j.scrape_interval,
                j.scrape_timeout,
                j.metrics_path,
                j.params,
                j.scheme,
                j.honor_labels,
                j.honor_timestamps,
                statics,
                relabels(&j.relabel_configs),
                relabels(&j.metric_relabel_configs),
                j.sample_limit,
                j.label_limit
            ));
            out.push_str(&format!("follow_redirects {}\n", j.follow_redirects));
        }
        out
    }

    #[test]
    fn rendering_reads_back_as_the_same_config() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../testdata/scrape/config.yml"
        ))
        .unwrap();
        let config = Config::parse(&text).unwrap();
        let rendered = config.to_prometheus_yaml();
        let back = Config::parse(&rendered).unwrap();
        assert_eq!(fingerprint(&back), fingerprint(&config), "{rendered}");
        assert_eq!(back.to_prometheus_yaml(), rendered);
    }

    #[test]
    fn empty_strings_read_back_as_written() {
        let config = Config::parse(
            "scrape_configs:\n- job_name: a\n  relabel_configs:\n  - source_labels: [a, b]\n    separator: ''\n    regex: ''\n    replacement: ''\n    target_label: t\n",
        )
        .unwrap();
        let rendered = config.to_prometheus_yaml();
        assert!(
            rendered.contains("  - source_labels: [a, b]\n    separator: \"\"\n    regex: \"\"\n    target_label: t\n    replacement: \"\"\n"),
            "{rendered}"
        );
        let back = Config::parse(&rendered).unwrap();
        assert_eq!(fingerprint(&back), fingerprint(&config), "{rendered}");
    }

    #[test]
    fn modulus_renders_as_a_number() {
        let config = Config::parse(
            "scrape_configs:\n- job_name: a\n  relabel_configs:\n  - action: hashmod\n    source_labels: [__address__]\n    modulus: 4\n    target_label: t\n",
        )
        .unwrap();
        let rendered = config.to_prometheus_yaml();
        assert!(rendered.contains("    modulus: 4\n"), "{rendered}");
        Config::parse(&rendered).unwrap();
    }
}
