//! Tidy checks over the whole repository, run by `cargo test`: every Rust file opens with a `//!`
//! doc line, unsafe code is confined to the memory-map module, no `dbg!` is left behind, and the
//! crate dependency graph points only in the documented direction.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repo root exists")
}

/// Every `.rs` file under these directories (relative to the root), skipping build output.
fn rust_files() -> Vec<PathBuf> {
    let root = repo_root();
    let mut out = Vec::new();
    let mut stack: Vec<PathBuf> = ["crates", "benches", "fuzz/fuzz_targets"]
        .iter()
        .map(|d| root.join(d))
        .collect();
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            if path.is_dir() {
                if name != "target" && !name.to_string_lossy().starts_with('.') {
                    stack.push(path);
                }
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    assert!(
        out.len() > 10,
        "tidy found too few Rust files ({}); is the walk broken?",
        out.len()
    );
    out
}

fn rel(path: &Path) -> String {
    path.strip_prefix(repo_root())
        .unwrap_or(path)
        .display()
        .to_string()
}

#[test]
fn every_rust_file_opens_with_a_module_doc() {
    let missing: Vec<String> = rust_files()
        .into_iter()
        .filter(|p| {
            let text = std::fs::read_to_string(p).unwrap_or_default();
            let first = text
                .lines()
                .find(|l| !l.trim().is_empty() && !l.starts_with("#!["));
            !first.is_some_and(|l| l.starts_with("//!"))
        })
        .map(|p| rel(&p))
        .collect();
    assert!(
        missing.is_empty(),
        "files without a leading `//!` line: {missing:#?}"
    );
}

#[test]
fn unsafe_is_confined_to_the_mmap_module() {
    // The block memory map, and the label buffers' unchecked UTF-8 views.
    let allowed = [
        "crates/storage/src/block/mmap.rs",
        "crates/model/src/labels.rs",
    ];
    let offenders: Vec<String> = rust_files()
        .into_iter()
        .filter(|p| !allowed.contains(&rel(p).as_str()))
        .filter(|p| {
            let text = std::fs::read_to_string(p).unwrap_or_default();
            // Needles are assembled with concat! so this file does not match itself.
            [
                concat!("allow(unsafe", "_code)"),
                concat!("unsafe", " {"),
                concat!("unsafe", " fn "),
            ]
            .iter()
            .any(|needle| text.contains(needle))
        })
        .map(|p| rel(&p))
        .collect();
    assert!(
        offenders.is_empty(),
        "unsafe code outside {allowed:?}: {offenders:#?}"
    );
}

#[test]
fn no_dbg_macros() {
    let needle = concat!("dbg", "!(");
    let offenders: Vec<String> = rust_files()
        .into_iter()
        .filter(|p| {
            std::fs::read_to_string(p)
                .unwrap_or_default()
                .contains(needle)
        })
        .map(|p| rel(&p))
        .collect();
    assert!(offenders.is_empty(), "leftover dbg! in: {offenders:#?}");
}

/// The documented dependency direction (ARCHITECTURE.md): for each workspace crate, the promlite
/// crates it may depend on (normal dependencies). Anything else is an architecture violation.
const ALLOWED: &[(&str, &[&str])] = &[
    ("promlite-model", &[]),
    ("promlite-chunk", &[]),
    ("promlite-expfmt", &["promlite-model"]),
    ("promlite-promql", &["promlite-model"]),
    ("promlite-storage", &["promlite-model", "promlite-chunk"]),
    ("promlite-eval", &["promlite-model", "promlite-promql"]),
    ("promlite-cluster", &["promlite-model", "promlite-expfmt"]),
    (
        "promlite-promtsdb",
        &["promlite", "promlite-model", "promlite-chunk"],
    ),
    (
        "promlite",
        &[
            "promlite-model",
            "promlite-expfmt",
            "promlite-chunk",
            "promlite-storage",
            "promlite-promql",
            "promlite-eval",
            "promlite-cluster",
        ],
    ),
    ("promlite-remote", &["promlite", "promlite-model"]),
    (
        "promlite-scrape",
        &["promlite", "promlite-expfmt", "promlite-model"],
    ),
    (
        "promlite-http",
        &[
            "promlite",
            "promlite-remote",
            "promlite-rules",
            "promlite-scrape",
            "promlite-model",
            "promlite-eval",
            "promlite-promql",
        ],
    ),
    (
        "promlite-cli",
        &[
            "promlite",
            "promlite-http",
            "promlite-remote",
            "promlite-scrape",
            "promlite-model",
            "promlite-cluster",
            "promlite-eval",
            "promlite-bench",
            "promlite-promtsdb",
            "promlite-plot",
            "promlite-rules",
        ],
    ),
    ("promlite-plot", &["promlite-model"]),
    (
        "promlite-rules",
        &["promlite-model", "promlite-promql", "promlite-eval"],
    ),
];

#[test]
fn crate_dependencies_point_one_way() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(repo_root())
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).expect("metadata is JSON");
    let packages = meta["packages"].as_array().expect("packages array");
    let mut checked = 0;
    for pkg in packages {
        let name = pkg["name"].as_str().unwrap_or_default();
        let Some((_, allowed)) = ALLOWED.iter().find(|(n, _)| *n == name) else {
            continue;
        };
        checked += 1;
        for dep in pkg["dependencies"].as_array().into_iter().flatten() {
            let dep_name = dep["name"].as_str().unwrap_or_default();
            let is_normal = dep["kind"].is_null();
            if is_normal && dep_name.starts_with("promlite") && !allowed.contains(&dep_name) {
                panic!("{name} must not depend on {dep_name} (see ARCHITECTURE.md, dependency direction)");
            }
        }
    }
    assert!(
        checked >= 8,
        "only {checked} workspace crates checked; is the ALLOWED table stale?"
    );
}

#[test]
fn eval_never_depends_on_storage_even_transitively() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "tree",
            "-p",
            "promlite-eval",
            "-e",
            "normal",
            "--prefix",
            "none",
            "--offline",
        ])
        .current_dir(repo_root())
        .output()
        .expect("cargo tree runs");
    assert!(
        out.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tree = String::from_utf8_lossy(&out.stdout);
    assert!(
        tree.contains("promlite-model"),
        "unexpected cargo tree output: {tree}"
    );
    assert!(
        !tree.contains("promlite-storage"),
        "promlite-eval pulls in promlite-storage:\n{tree}"
    );
    assert!(
        !tree.contains("promlite-chunk"),
        "promlite-eval pulls in promlite-chunk:\n{tree}"
    );
}
