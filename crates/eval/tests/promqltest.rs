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
    "info.test",
];

/// Reported but not required.
const OPTIONAL: &[&str] = &[];

/// THE skip table: the only cases not run. Native histograms and experimental features only.
const SKIPS: &[Skip] = &[
    Skip {
        file: "*",
        matcher: SkipMatcher::BlockContains("{{"),
        reason: "native histogram value in the expected result",
    },
    Skip {
        file: "*",
        matcher: SkipMatcher::ExprContains("_histogram"),
        reason: "selects native histogram series",
    },
    // Float selectors whose matched series include native histograms (the expected info/warn
    // annotation or result is about the histogram samples).
    Skip {
        file: "aggregators.test",
        matcher: SkipMatcher::Line(239),
        reason: "selection includes a native histogram (info annotation)",
    },
    Skip {
        file: "aggregators.test",
        matcher: SkipMatcher::Line(252),
        reason: "selection includes a native histogram (info annotation)",
    },
    Skip {
        file: "aggregators.test",
        matcher: SkipMatcher::Line(447),
        reason: "count_values over native histogram samples",
    },
    Skip {
        file: "aggregators.test",
        matcher: SkipMatcher::Line(453),
        reason: "count_values over native histogram samples",
    },
    Skip {
        file: "aggregators.test",
        matcher: SkipMatcher::Line(459),
        reason: "count_values over native histogram samples",
    },
    Skip {
        file: "aggregators.test",
        matcher: SkipMatcher::Line(467),
        reason: "count_values over native histogram samples",
    },
    Skip {
        file: "aggregators.test",
        matcher: SkipMatcher::Line(474),
        reason: "count_values over native histogram samples",
    },
    Skip {
        file: "aggregators.test",
        matcher: SkipMatcher::Line(573),
        reason: "group over a native histogram sample",
    },
    Skip {
        file: "aggregators.test",
        matcher: SkipMatcher::Line(805),
        reason: "input includes a native histogram (info annotation)",
    },
    Skip {
        file: "aggregators.test",
        matcher: SkipMatcher::Line(809),
        reason: "input includes a native histogram (info annotation)",
    },
    Skip {
        file: "aggregators.test",
        matcher: SkipMatcher::Line(814),
        reason: "input includes a native histogram (info annotation)",
    },
    Skip {
        file: "aggregators.test",
        matcher: SkipMatcher::Line(817),
        reason: "input includes a native histogram (info annotation)",
    },
    Skip {
        file: "aggregators.test",
        matcher: SkipMatcher::Line(820),
        reason: "input includes a native histogram (info annotation)",
    },
    Skip {
        file: "aggregators.test",
        matcher: SkipMatcher::Line(825),
        reason: "input includes a native histogram (info annotation)",
    },
    Skip {
        file: "aggregators.test",
        matcher: SkipMatcher::Line(837),
        reason: "input includes a native histogram (info annotation)",
    },
    Skip {
        file: "aggregators.test",
        matcher: SkipMatcher::Line(841),
        reason: "input includes a native histogram (info annotation)",
    },
    Skip {
        file: "aggregators.test",
        matcher: SkipMatcher::Line(845),
        reason: "input includes a native histogram (info annotation)",
    },
    Skip {
        file: "aggregators.test",
        matcher: SkipMatcher::Line(850),
        reason: "input includes a native histogram (info annotation)",
    },
    Skip {
        file: "operators.test",
        matcher: SkipMatcher::Line(292),
        reason: "selection includes native histograms (info annotation)",
    },
    Skip {
        file: "functions.test",
        matcher: SkipMatcher::ExprContains("_mix"),
        reason: "series mixing floats and native histograms",
    },
    Skip {
        file: "functions.test",
        matcher: SkipMatcher::Line(551),
        reason: "newest sample is a native histogram",
    },
    Skip {
        file: "functions.test",
        matcher: SkipMatcher::ExprContains("mixed_metric"),
        reason: "series mixing floats and native histograms",
    },
    Skip {
        file: "functions.test",
        matcher: SkipMatcher::ExprContains("metric12["),
        reason: "series mixing floats and native histograms",
    },
    Skip {
        file: "info.test",
        matcher: SkipMatcher::Line(202),
        reason: "info series selector matches a native histogram series (expected failure)",
    },
];

/// Cases that run but cannot match Prometheus exactly, each with the reason. They are run, their
/// failure is printed, and they do not fail the test; an entry that starts passing fails it.
/// Empty: every non-skipped case matches Prometheus.
const DIVERGENCES: &[Skip] = &[];

#[test]
fn prometheus_promqltest_scripts() {
    // Prometheus's own test files, read in place from ../shared beside the checkout; without
    // them the test says SKIPPED (CI requires them).
    let Some(dir) = promlite_testkit::shared_path("promqltest", "Prometheus promqltest scripts")
    else {
        return;
    };
    let dir = dir.display();
    // Prometheus's harness runs with delayed `__name__` removal enabled.
    let engine = Engine::new(EngineOptions {
        delayed_name_removal: true,
        ..EngineOptions::default()
    });
    let mut required_failures = 0;
    let mut summary = Vec::new();
    for file in REQUIRED.iter().chain(OPTIONAL) {
        let path = format!("{dir}/{file}");
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
        let report = run_script(&engine, file, &text, SKIPS, DIVERGENCES);
        let required = REQUIRED.contains(file);
        for (line, expr, msg) in &report.failed {
            println!("FAIL {file}:{line}: {expr}\n     {msg}");
        }
        for (line, expr, msg) in &report.divergent {
            println!("DIVERGENT (documented) {file}:{line}: {expr}\n     {msg}");
        }
        if required {
            required_failures += report.failed.len();
        }
        summary.push(format!(
            "{file:<26} pass {:>4}  skip {:>3}  fail {:>3}  divergent {:>2}{}",
            report.passed,
            report.skipped.len(),
            report.failed.len(),
            report.divergent.len(),
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
