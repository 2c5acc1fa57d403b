//! Differential test of `promlite test rules` against `promtool test rules` (Prometheus 2.42)
//! over the corpus in `testdata/rules/`: every test file must get promtool's verdict.
//!
//! Two checks: (1) always, our verdict against the verdicts promtool gave when the corpus was
//! recorded (`testdata/rules/verdicts.txt`, promtool's own exit codes, not ours); (2) with
//! promtool installed (mandatory in CI), a fresh promtool run per file: same exit code, and the
//! same failure report byte for byte, except for files whose YAML is malformed, where the YAML
//! libraries word their errors differently (only the verdict is compared there).
//!
//! Every test file sets `interval` explicitly: promtool 2.42 loads input series at a 0s step
//! when a test group has none, Prometheus 3.x (and we) default it to `evaluation_interval`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use promlite_eval::EngineOptions;

/// Files whose failure text legitimately differs: YAML syntax and unknown-field errors come
/// from go-yaml there and from serde_yaml_ng here.
const YAML_WORDING_DIFFERS: &[&str] = &["fail_bad_yaml.test.yml", "fail_unknown_field.test.yml"];

fn corpus() -> (PathBuf, Vec<PathBuf>) {
    let dir = promlite_testkit::workspace_root().join("testdata/rules");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("testdata/rules exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".test.yml"))
        .collect();
    files.sort();
    (dir, files)
}

fn recorded_verdicts(dir: &Path) -> BTreeMap<String, i32> {
    std::fs::read_to_string(dir.join("verdicts.txt"))
        .expect("verdicts.txt exists")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (name, code) = l.split_once(' ').expect("`file code` lines");
            (
                name.to_string(),
                code.trim().parse().expect("numeric exit code"),
            )
        })
        .collect()
}

/// Our report for one file, as `promlite test rules` prints it: (exit code, stdout, stderr).
fn ours(file: &Path) -> (i32, String, String) {
    let mut out = Vec::new();
    let mut err = Vec::new();
    let code = promlite_rules::unittest::run_files(
        &[file.to_path_buf()],
        &EngineOptions::default(),
        &mut out,
        &mut err,
    );
    (
        code,
        String::from_utf8(out).expect("utf-8"),
        String::from_utf8(err).expect("utf-8"),
    )
}

#[test]
fn corpus_is_large_and_a_third_fails() {
    let (dir, files) = corpus();
    let verdicts = recorded_verdicts(&dir);
    assert!(files.len() >= 40, "{} test files", files.len());
    assert_eq!(
        files.len(),
        verdicts.len(),
        "every test file has a recorded verdict"
    );
    let failing = verdicts.values().filter(|&&c| c != 0).count();
    assert!(
        failing * 3 >= files.len(),
        "{failing} of {} fail",
        files.len()
    );
    assert!(failing < files.len(), "some files pass");
}

#[test]
fn verdicts_match_recorded_promtool_verdicts() {
    let (dir, files) = corpus();
    let verdicts = recorded_verdicts(&dir);
    let mut mismatches = Vec::new();
    for file in &files {
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        let (code, _, err) = ours(file);
        let expected = verdicts.get(&name).copied();
        if Some(code) != expected {
            mismatches.push(format!("{name}: promtool {expected:?}, ours {code}\n{err}"));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn verdicts_and_reports_match_live_promtool() {
    let Some(promtool) = promlite_testkit::oracle_binary("promtool", "rules differential") else {
        return;
    };
    let (_, files) = corpus();
    let mut mismatches = Vec::new();
    for file in &files {
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        let output = Command::new(&promtool)
            .args(["test", "rules"])
            .arg(file)
            .output()
            .expect("promtool runs");
        let promtool_code = output.status.code().unwrap_or(-1);
        let promtool_err = String::from_utf8_lossy(&output.stderr).to_string();
        let promtool_out = String::from_utf8_lossy(&output.stdout).to_string();
        let (code, out, err) = ours(file);
        if code != promtool_code {
            mismatches.push(format!(
                "{name}: verdict promtool {promtool_code}, ours {code}\n--- promtool\n{promtool_err}\n--- ours\n{err}"
            ));
            continue;
        }
        if YAML_WORDING_DIFFERS.contains(&name.as_str()) {
            continue;
        }
        if err != promtool_err || out != promtool_out {
            mismatches.push(format!(
                "{name}: report differs\n--- promtool\n{promtool_out}{promtool_err}\n--- ours\n{out}{err}"
            ));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n\n"));
}
