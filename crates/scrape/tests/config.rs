//! Configuration parsing: defaults as Prometheus fills them, and positioned errors.

use std::time::Duration;

use promlite_scrape::Config;

#[test]
fn defaults_follow_prometheus() {
    let config = Config::parse(
        "scrape_configs:\n  - job_name: a\n    static_configs:\n      - targets: [\"h:1\"]\n  - job_name: b\n    scrape_interval: 5s\n",
    )
    .unwrap();
    assert_eq!(config.global.scrape_interval, Duration::from_secs(60));
    assert_eq!(config.global.scrape_timeout, Duration::from_secs(10));
    let a = &config.scrape_configs[0];
    assert_eq!(
        (a.scrape_interval, a.scrape_timeout, a.metrics_path.as_str()),
        (Duration::from_secs(60), Duration::from_secs(10), "/metrics")
    );
    assert!(a.honor_timestamps && !a.honor_labels);
    // A job interval shorter than the global timeout caps the timeout.
    let b = &config.scrape_configs[1];
    assert_eq!(
        (b.scrape_interval, b.scrape_timeout),
        (Duration::from_secs(5), Duration::from_secs(5))
    );
}

fn error(text: &str) -> String {
    Config::parse(text).unwrap_err().to_string()
}

#[test]
fn errors_are_positioned() {
    let e = error("global:\n  scrape_interval: 15s\n  scrape_intervall: 1m\n");
    assert!(
        e.starts_with("<config>:3:3: global: unknown field `scrape_intervall`"),
        "{e}"
    );
    let e = error("scrape_configs:\n  - job_name: a\n    scrape_interval: 15x\n");
    // Errors raised while checking a value point at the mapping that holds it (the job).
    assert!(
        e.starts_with("<config>:2:5: scrape_configs[0]: not a valid duration string: \"15x\""),
        "{e}"
    );
    let e = error("scrape_configs:\n  - job_name: a\n    scheme: https\n");
    assert!(
        e.starts_with("<config>:2:5:") && e.contains("not supported"),
        "{e}"
    );
    let e = error("scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - action: hashmod\n        target_label: x\n");
    assert!(
        e.starts_with("<config>:4:") && e.contains("requires non-zero modulus"),
        "{e}"
    );
    let e = error(
        "scrape_configs:\n  - job_name: a\n    scrape_interval: 5s\n    scrape_timeout: 10s\n",
    );
    assert!(
        e.starts_with("<config>:2:5: scrape timeout greater than scrape interval"),
        "{e}"
    );
    let e = error("scrape_configs:\n  - job_name: a\n  - job_name: a\n");
    assert!(
        e.starts_with("<config>:2:5: found multiple scrape configs"),
        "{e}"
    );
    let e = error(
        "scrape_configs:\n  - job_name: a\n    static_configs:\n      - labels: {\"1x\": y}\n",
    );
    assert!(
        e.contains("<config>:4:") && e.contains("not a valid label name"),
        "{e}"
    );
}
