//! Conformance: runs Prometheus's PromQL test scripts (read in place from
//! `../shared/promqltest`) through the evaluator and fails on any non-skipped failure in the
//! required files.

use promlite_eval::promqltest::{run_script, Skip, SkipMatcher};
use promlite_eval::{Engine, EngineOptions};

/// Files whose every non-skipped case must pass.
const REQUIRED: &[&str] = &[
    "aggregators.test",
    "operators.test",
    "functions.test",
    "selectors.test",
    "staleness.test",
    "range_queries.test",
    "literals.test",
    "collision.test",
    "name_label_dropping.test",
    "trig_functions.test",
];

/// Reported but not required.
const OPTIONAL: &[&str] = &["info.test"];

/// THE skip table: the only cases not run. Native histograms and experimental features only.
const SKIPS: &[Skip] = &[Skip {
    file: "*",
    matcher: SkipMatcher::BlockContains("{{"),
    reason: "native histogram in expected result",
}];

#[test]
fn prometheus_promqltest_scripts() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/promqltest");
    assert!(
        std::path::Path::new(dir).is_dir(),
        "conformance scripts not found at {dir}: the Prometheus test files must be checked out in ../shared/promqltest beside the repository"
    );
    let engine = Engine::new(EngineOptions::default());
    let mut required_failures = 0;
    let mut summary = Vec::new();
    for file in REQUIRED.iter().chain(OPTIONAL) {
        let path = format!("{dir}/{file}");
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
        let report = run_script(&engine, file, &text, SKIPS);
        let required = REQUIRED.contains(file);
        for (line, expr, msg) in &report.failed {
            println!("FAIL {file}:{line}: {expr}\n     {msg}");
        }
        if required {
            required_failures += report.failed.len();
        }
        summary.push(format!(
            "{file:<26} pass {:>4}  skip {:>3}  fail {:>3}{}",
            report.passed,
            report.skipped.len(),
            report.failed.len(),
            if required { "" } else { "  (not required)" }
        ));
    }
    println!("\nPromQL conformance summary:");
    for line in &summary {
        println!("  {line}");
    }
    assert_eq!(
        required_failures,
        0,
        "conformance failures in required files:\n{}",
        summary.join("\n")
    );
}
