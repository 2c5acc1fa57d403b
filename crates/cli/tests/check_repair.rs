//! `promlite check --data-dir DIR` and `promlite repair --data-dir DIR`: exit codes and
//! messages on a clean directory, a byte flip in a block's chunk file, and a missing
//! directory; check never changes the directory.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::{fixture, path, promlite};

fn tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                out.insert(p.clone(), Vec::new());
                stack.push(p);
            } else {
                out.insert(p.clone(), std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn check_and_repair_a_data_directory() {
    let fx = fixture();
    let data = fx.data_str();

    // Clean: exit 0, says what it verified, changes nothing.
    let before = tree(&fx.data);
    let out = promlite(&["check", "--data-dir", data]);
    assert!(
        out.status.success(),
        "{}{}",
        stdout(&out),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = stdout(&out);
    assert!(text.contains("OK: no problems found"), "{text}");
    assert!(
        !text.contains(" 0 blocks"),
        "the fixture has blocks: {text}"
    );
    assert_eq!(tree(&fx.data), before, "check changed the directory");

    // One flipped byte in a block's chunk file: exit 1, file, offset and checksums named.
    let block = std::fs::read_dir(&fx.data)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.join("meta.json").exists())
        .expect("a block");
    let chunks = block.join("chunks").join("000001");
    let mut bytes = std::fs::read(&chunks).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x01;
    std::fs::write(&chunks, &bytes).unwrap();
    let before = tree(&fx.data);
    let out = promlite(&["check", "--data-dir", data]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let text = stdout(&out);
    let line = text
        .lines()
        .find(|l| l.starts_with("problem: "))
        .unwrap_or_else(|| panic!("no problem line: {text}"));
    assert!(
        line.contains(path(&chunks)) && line.contains("at byte offset"),
        "{line}"
    );
    assert!(
        line.contains("expected checksum 0x") && line.contains(", actual 0x"),
        "{line}"
    );
    assert!(text.contains("FAILED: 1 problem(s)"), "{text}");
    assert_eq!(tree(&fx.data), before, "check changed the directory");

    // Repair: exit 0, names the block and what it held, moves it aside.
    let out = promlite(&["repair", "--data-dir", data]);
    assert!(
        out.status.success(),
        "{}{}",
        stdout(&out),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = stdout(&out);
    let id = block.file_name().unwrap().to_str().unwrap();
    assert!(
        text.contains(&format!("repaired: dropped block {id} ("))
            && text.contains(" samples, time range ["),
        "{text}"
    );
    assert!(!block.exists() && fx.data.join(format!("{id}.corrupt")).exists());
    let out = promlite(&["check", "--data-dir", data]);
    assert!(out.status.success(), "{}", stdout(&out));
    // The repaired directory answers queries.
    let out = promlite(&[
        "query",
        "--data-dir",
        data,
        "--time",
        &common::secs(fx.last_t),
        "count(up)",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Nothing left to repair.
    let out = promlite(&["repair", "--data-dir", data]);
    assert!(out.status.success());
    assert!(
        stdout(&out).contains("nothing to repair"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn check_and_repair_a_missing_directory_fail() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    for cmd in ["check", "repair"] {
        let out = promlite(&[cmd, "--data-dir", path(&missing)]);
        assert!(!out.status.success(), "{cmd}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("no such data directory"), "{cmd}: {err}");
        assert!(!missing.exists(), "{cmd} created the directory");
    }
}
