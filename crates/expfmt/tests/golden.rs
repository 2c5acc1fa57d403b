//! Golden tests: every `testdata/exposition/*.{prom,om}` file parses to its `.golden` dump.
//!
//! The dump lists one entry per line with its line number; samples appear as normalised
//! [`promlite_model::Labels`] (sorted, `__name__` included, empty values dropped), the value, the
//! timestamp and the family type. Errors are listed where they occur and parsing continues
//! with the next line, as a lenient reader would. Regenerate with `UPDATE_GOLDEN=1 cargo test
//! -p promlite-expfmt --test golden` and review the diff by eye.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use promlite_expfmt::render::write_value;
use promlite_expfmt::{Entry, Format, Parser};

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/exposition")
}

/// Renders the parse of `text` in the golden format.
fn dump(text: &str, format: Format) -> String {
    let mut out = String::new();
    let mut parser = Parser::new(text, format);
    loop {
        let line = match parser.next_entry() {
            Ok(None) => break,
            Err(e) => {
                writeln!(out, "error: {e}").unwrap();
                continue;
            }
            Ok(Some(entry)) => {
                let mut s = String::new();
                match entry {
                    Entry::Sample(sample) => {
                        match sample.to_labels() {
                            Ok(labels) => {
                                write!(s, "sample {} {labels} ", sample.metric_type).unwrap()
                            }
                            Err(e) => write!(s, "sample-error {e} ").unwrap(),
                        }
                        write_value(&mut s, sample.value).unwrap();
                        if let Some(ts) = sample.timestamp_ms {
                            write!(s, " @{ts}").unwrap();
                        }
                    }
                    Entry::Help { name, help } => write!(s, "help {name:?} {help:?}").unwrap(),
                    Entry::Type { name, metric_type } => {
                        write!(s, "type {name:?} {metric_type}").unwrap()
                    }
                    Entry::Unit { name, unit } => write!(s, "unit {name:?} {unit:?}").unwrap(),
                    Entry::Comment(text) => write!(s, "comment {text:?}").unwrap(),
                    Entry::Eof => s.push_str("eof"),
                }
                s
            }
        };
        writeln!(out, "{}: {line}", parser.next_line_number() - 1).unwrap();
    }
    out
}

#[test]
fn exposition_files_match_their_goldens() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1");
    let mut inputs: Vec<PathBuf> = std::fs::read_dir(testdata())
        .expect("testdata/exposition exists")
        .map(|e| e.expect("readable dir entry").path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("prom" | "om")))
        .collect();
    inputs.sort();
    assert!(
        inputs.len() >= 9,
        "expected the golden inputs, found {inputs:?}"
    );
    let mut mismatches = Vec::new();
    for input in &inputs {
        let format = if input.extension().is_some_and(|e| e == "om") {
            Format::OpenMetrics
        } else {
            Format::Prometheus
        };
        let text = std::fs::read_to_string(input).expect("input readable");
        let actual = dump(&text, format);
        let golden = input.with_extension(format!(
            "{}.golden",
            input.extension().unwrap().to_str().unwrap()
        ));
        if update {
            std::fs::write(&golden, &actual).expect("golden writable");
            continue;
        }
        let expected = std::fs::read_to_string(&golden).unwrap_or_default();
        if expected != actual {
            mismatches.push(format!(
                "{}:\n--- expected\n{expected}\n--- actual\n{actual}",
                golden.display()
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "golden mismatches (UPDATE_GOLDEN=1 to regenerate):\n{}",
        mismatches.join("\n")
    );
}
