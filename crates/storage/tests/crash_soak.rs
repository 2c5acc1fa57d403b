//! The short CI version of the kill -9 soak (`examples/crash_soak.rs` runs 1,000+ cycles):
//! 25 cycles of a child (this test binary re-invoked with `PROMLITE_SOAK_DIR` set) ingesting
//! with compaction, merges, retention and checkpoints, killed at random moments and right after
//! chosen phases; every reopen must hold exactly the acknowledged data (`tests/soak/mod.rs`).

mod soak;

use std::process::Command;

#[test]
fn soak_child() {
    let Ok(dir) = std::env::var("PROMLITE_SOAK_DIR") else {
        return;
    };
    let start = std::env::var("PROMLITE_SOAK_START")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    soak::child(std::path::Path::new(&dir), start);
}

#[test]
fn kill_9_soak_keeps_exactly_the_acknowledged_data() {
    if std::env::var("PROMLITE_SOAK_DIR").is_ok() {
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let spawn = |d: &std::path::Path, start: i64| {
        let mut c = Command::new(&exe);
        c.args(["--exact", "soak_child", "--nocapture", "--test-threads=1"])
            .env("PROMLITE_SOAK_DIR", d)
            .env("PROMLITE_SOAK_START", start.to_string());
        c
    };
    let summary = soak::run(dir.path(), 25, 0x5eed, &spawn, false);
    eprintln!("{summary}");
    assert!(summary.failures.is_empty(), "{:#?}", summary.failures);
    assert_eq!(
        (summary.lost, summary.invented, summary.open_failures),
        (0, 0, 0)
    );
    assert_eq!(summary.cycles, 25);
    assert!(
        summary.acked_commits > 0,
        "the child never acknowledged a commit"
    );
    assert!(summary.samples_checked > 0);
}
