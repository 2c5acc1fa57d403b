//! `replay` of scrape directories: timestamped file names, or `--start`/`--interval`; and
//! `--lenient`.

mod common;

use common::{path, promlite_ok};

#[test]
fn scrape_dir_with_start_and_interval() {
    let dir = tempfile::tempdir().unwrap();
    let scrapes = dir.path().join("scrapes");
    std::fs::create_dir(&scrapes).unwrap();
    std::fs::write(scrapes.join("a.prom"), "jobs_done 1\nqueue 5\n").unwrap();
    std::fs::write(scrapes.join("b.prom"), "jobs_done 4\n").unwrap();
    let data = dir.path().join("data");
    promlite_ok(&[
        "replay",
        "--data-dir",
        path(&data),
        "--start",
        "2023-11-14T22:13:20Z",
        "--interval",
        "15s",
        path(&scrapes),
    ]);
    let at = |t: &str, q: &str| {
        promlite_ok(&[
            "query",
            "--data-dir",
            path(&data),
            "--time",
            t,
            "--format",
            "json",
            q,
        ])
    };
    // b.prom is the second scrape, 15 s after --start.
    assert!(at("1700000015", "jobs_done").contains(r#""value":[1700000015,"4"]"#));
    assert!(at("1700000014", "jobs_done").contains(r#""value":[1700000014,"1"]"#));
    // `queue` disappeared in the second scrape: the staleness marker hides it right away.
    assert!(at("1700000016", "queue").contains(r#""result":[]"#));
}

#[test]
fn scrape_dir_with_timestamp_names_and_lenient_files() {
    let dir = tempfile::tempdir().unwrap();
    let scrapes = dir.path().join("scrapes");
    std::fs::create_dir(&scrapes).unwrap();
    std::fs::write(scrapes.join("1700000000000.prom"), "up 1\n").unwrap();
    std::fs::write(scrapes.join("1700000060000.prom"), "up 0\n").unwrap();
    let bad = dir.path().join("mixed.prom");
    std::fs::write(&bad, "other 7 1700000000000\nnot a sample line\n").unwrap();
    let data = dir.path().join("data");
    promlite_ok(&[
        "replay",
        "--data-dir",
        path(&data),
        "--lenient",
        path(&scrapes),
        path(&bad),
    ]);
    let out = promlite_ok(&[
        "query",
        "--data-dir",
        path(&data),
        "--time",
        "1700000060",
        "--format",
        "json",
        "up + on() group_left() other * 0",
    ]);
    assert!(out.contains(r#""value":[1700000060,"0"]"#), "{out}");
}
