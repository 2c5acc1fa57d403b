//! `promlite check rules` against `promtool check rules` (Prometheus 2.42) on every rule file
//! of `testdata/rules/rules` and `testdata/rules/check`: same exit code and the same report.
//! Lines are compared as sorted sets, because promtool lists a rule's label and annotation
//! template errors in Go's random map order.

use std::process::Command;

#[test]
fn check_rules_matches_promtool() {
    let Some(promtool) = promlite_testkit::oracle_binary("promtool", "check rules differential")
    else {
        return;
    };
    let root = promlite_testkit::workspace_root().join("testdata/rules");
    let mut files = Vec::new();
    for dir in ["rules", "check"] {
        for entry in std::fs::read_dir(root.join(dir)).expect("corpus directory") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|e| e == "yml") {
                files.push(format!(
                    "{dir}/{}",
                    path.file_name().unwrap().to_string_lossy()
                ));
            }
        }
    }
    files.sort();
    assert!(files.len() >= 25, "{} rule files", files.len());
    let run = |program: &std::path::Path, file: &str| {
        let out = Command::new(program)
            .args(["check", "rules", file])
            .current_dir(&root)
            .output()
            .expect("runs");
        let mut lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .chain(String::from_utf8_lossy(&out.stderr).lines())
            .map(str::to_string)
            .collect();
        lines.sort();
        (out.status.code(), lines)
    };
    let ours = std::path::Path::new(env!("CARGO_BIN_EXE_promlite"));
    let mut mismatches = Vec::new();
    let mut n_failing = 0;
    for file in &files {
        let expected = run(&promtool, file);
        let got = run(ours, file);
        if expected.0 != Some(0) {
            n_failing += 1;
        }
        if expected != got {
            mismatches.push(format!(
                "{file}:\n promtool {expected:?}\n ours     {got:?}"
            ));
        }
    }
    assert!(n_failing >= 8, "{n_failing} invalid files");
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}
