//! What `promlite replay` reports (issue 17): one `--lenient` summary (skipped lines by reason,
//! the first few positioned examples, rejected samples by reason) instead of a line per skipped
//! line, rejected samples not counted as replayed; samples after `# EOF` rejected with the file
//! and line (counted under `--lenient`); invalid escapes stored verbatim (as Prometheus 2.42's
//! text parser stores them, checked against Prometheus in `metadata_differential.rs`) with a
//! positioned warning.

mod common;

use common::{path, promlite, promlite_ok};

fn stderr_of(args: &[&str]) -> (bool, String) {
    let out = promlite(args);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn lenient_prints_one_summary_and_does_not_count_rejected_samples() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("bad.prom");
    let mut text = String::new();
    // 3 good samples, 2 of them followed by an older one (out of order), one duplicate
    // timestamp with another value, 12 malformed lines of two kinds.
    text.push_str("a 1 1700000010000\n");
    text.push_str("a 2 1700000005000\n"); // out of order
    text.push_str("b 1 1700000010000\n");
    text.push_str("b 3 1700000010000\n"); // duplicate timestamp, other value
    text.push_str("c 1 1700000010000\n");
    text.push_str("c 1 1700000000000\n"); // out of order
    for i in 0..7 {
        text.push_str(&format!("bad{i}{{x=\"1\" 1 1700000010000\n"));
    }
    for i in 0..5 {
        text.push_str(&format!("nots_{i} 1\n")); // no timestamp
    }
    std::fs::write(&input, text).unwrap();
    let data = dir.path().join("data");
    let (ok, err) = stderr_of(&[
        "replay",
        "--data-dir",
        path(&data),
        "--lenient",
        path(&input),
    ]);
    assert!(ok, "{err}");
    // Stored: a, b, c once each; the summary line says 3, not 6.
    assert!(
        err.contains(": 3 samples, 0 staleness markers, 3 series"),
        "{err}"
    );
    assert!(
        err.contains("lenient: skipped 12 malformed lines:"),
        "{err}"
    );
    assert!(err.contains("       5  sample has no timestamp"), "{err}");
    assert!(err.contains("       7  "), "{err}");
    assert!(
        err.contains("lenient: rejected 3 samples (not stored):"),
        "{err}"
    );
    assert!(err.contains("       2  out of order"), "{err}");
    assert!(
        err.contains("       1  duplicate timestamp with another value"),
        "{err}"
    );
    // Five positioned examples, the first at line 7; no line per skipped line.
    let examples: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("    ") && l.contains("bad.prom:"))
        .collect();
    assert_eq!(examples.len(), 5, "{err}");
    assert!(
        examples[0]
            .trim_start()
            .starts_with(&format!("{}:7:", input.display())),
        "{err}"
    );
    assert!(!err.contains("skipped: "), "{err}");
    let count = promlite_ok(&[
        "query",
        "--data-dir",
        path(&data),
        "--time",
        "1700000010",
        "count({__name__=~\"a|b|c\"})",
    ]);
    assert!(count.contains('3'), "{count}");
}

#[test]
fn samples_after_eof_are_rejected_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    // Detected as OpenMetrics by its extension.
    let om = dir.path().join("x.om");
    std::fs::write(
        &om,
        "# TYPE a gauge\na 1 1700000000\n# EOF\na 2 1700000060\n",
    )
    .unwrap();
    // Not detected as OpenMetrics (its last line is a sample), `# EOF` still ends it.
    let prom = dir.path().join("y.prom");
    std::fs::write(
        &prom,
        "b 1 1700000000000\n# EOF\nb 2 1700000060000\nb 3 1700000120000\n",
    )
    .unwrap();
    for (input, line) in [(&om, 4), (&prom, 3)] {
        let data = dir.path().join(format!("data-{line}"));
        let (ok, err) = stderr_of(&["replay", "--data-dir", path(&data), path(input)]);
        assert!(!ok, "{err}");
        assert!(
            err.contains(&format!("{}:{line}:1:", input.display())),
            "{err}"
        );
        assert!(err.contains("# EOF"), "{err}");
    }
    // --lenient counts every line after it and stores nothing from there.
    let data = dir.path().join("lenient");
    let (ok, err) = stderr_of(&[
        "replay",
        "--data-dir",
        path(&data),
        "--lenient",
        path(&om),
        path(&prom),
    ]);
    assert!(ok, "{err}");
    assert!(err.contains("lenient: skipped 3 malformed lines:"), "{err}");
    assert!(err.contains(": 2 samples,"), "{err}");
    // Two samples stored (a and b at the start); the three after `# EOF` would make it 5.
    let out = promlite_ok(&[
        "query",
        "--data-dir",
        path(&data),
        "--time",
        "1700000120",
        "--format",
        "json",
        "sum(count_over_time(a[10m])) + sum(count_over_time(b[10m]))",
    ]);
    assert!(out.contains(r#""value":[1700000120,"2"]"#), "{out}");
}

#[test]
fn invalid_escapes_are_stored_verbatim_with_a_positioned_warning() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("esc.prom");
    std::fs::write(
        &input,
        "# HELP e_total A \\q in help.\n# TYPE e_total counter\n\
         e_total{path=\"a\\qb\"} 1 1700000000000\ne_total{path=\"a\\qb\"} 2 1700000060000\n\
         ok_total{path=\"a\\\\b\\n\"} 1 1700000000000\n",
    )
    .unwrap();
    let data = dir.path().join("data");
    let (ok, err) = stderr_of(&["replay", "--data-dir", path(&data), path(&input)]);
    assert!(ok, "{err}");
    let warnings: Vec<&str> = err.lines().filter(|l| l.starts_with("warning: ")).collect();
    // One for the HELP line (line 1, column 18: the backslash) and one for the series text
    // (first seen on line 3, column 16); the valid escapes of line 5 are quiet.
    assert_eq!(warnings.len(), 2, "{err}");
    assert!(
        warnings[0].contains(&format!("{}:1:18:", input.display())) && warnings[0].contains("HELP"),
        "{err}"
    );
    assert!(
        warnings[1].contains(&format!("{}:3:16:", input.display())),
        "{err}"
    );
    // Stored as Prometheus stores it: backslash and `q` kept.
    let values = promlite_ok(&["label-values", "--data-dir", path(&data), "path"]);
    assert!(values.lines().any(|l| l.trim() == "a\\qb"), "{values}");
}
