//! `promlite export --format prometheus-blocks` and `promlite import prometheus-blocks`: the
//! commands round-trip the data (the same query answers after export and import), honour
//! `--match`/`--start`/`--end`, and report bad input as an error naming the file.

mod common;

use common::{fixture, path, promlite, promlite_ok};

fn query(data: &str, t_s: i64, expr: &str) -> String {
    promlite_ok(&[
        "query",
        "--data-dir",
        data,
        "--time",
        &t_s.to_string(),
        "--format",
        "json",
        expr,
    ])
}

#[test]
fn export_then_import_answers_the_same() {
    let fx = fixture();
    let blocks = fx.dir.path().join("blocks");
    let out = promlite_ok(&[
        "export",
        "--data-dir",
        fx.data_str(),
        "--format",
        "prometheus-blocks",
        path(&blocks),
    ]);
    assert!(out.starts_with("exported 1 blocks"), "{out}");
    let back = fx.dir.path().join("back");
    let out = promlite_ok(&[
        "import",
        "prometheus-blocks",
        path(&blocks),
        "--data-dir",
        path(&back),
    ]);
    assert!(out.starts_with("imported 1 blocks"), "{out}");
    let t = fx.last_t / 1000;
    for expr in [
        r#"count({__name__=~".+"})"#,
        r#"sum(count_over_time({__name__=~".+"}[1h]))"#,
        "sum by (namespace) (rate(container_cpu_usage_seconds_total[5m]))",
    ] {
        let a = query(fx.data_str(), t, expr);
        assert!(a.contains("\"result\":[{"), "{expr}: empty answer {a}");
        assert_eq!(a, query(path(&back), t, expr), "{expr}");
    }
}

#[test]
fn match_and_time_bounds_select_what_is_exported() {
    let fx = fixture();
    let blocks = fx.dir.path().join("blocks");
    let end = fx.last_t / 1000 - 60;
    promlite_ok(&[
        "export",
        "--data-dir",
        fx.data_str(),
        "--format",
        "prometheus-blocks",
        "--match",
        "kube_pod_owner",
        "--end",
        &end.to_string(),
        path(&blocks),
    ]);
    let back = fx.dir.path().join("back");
    promlite_ok(&[
        "import",
        "prometheus-blocks",
        path(&blocks),
        "--data-dir",
        path(&back),
    ]);
    let names = promlite_ok(&["label-values", "--data-dir", path(&back), "__name__"]);
    assert_eq!(names.trim(), "kube_pod_owner");
    let at_end = query(
        path(&back),
        fx.last_t / 1000,
        "max(timestamp(kube_pod_owner))",
    );
    let newest: f64 = at_end
        .split("\"value\":[")
        .nth(1)
        .and_then(|v| v.split(",\"").nth(1))
        .and_then(|v| v.split('"').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{at_end}"));
    assert!(
        newest <= end as f64,
        "newest sample {newest} after --end {end}"
    );
}

#[test]
fn corrupt_blocks_fail_with_the_file_named() {
    let fx = fixture();
    let blocks = fx.dir.path().join("blocks");
    promlite_ok(&[
        "export",
        "--data-dir",
        fx.data_str(),
        "--format",
        "prometheus-blocks",
        path(&blocks),
    ]);
    let block = std::fs::read_dir(&blocks)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let index = block.join("index");
    let mut bytes = std::fs::read(&index).unwrap();
    let len = bytes.len();
    bytes.truncate(len - 7);
    std::fs::write(&index, &bytes).unwrap();
    let out = promlite(&[
        "import",
        "prometheus-blocks",
        path(&blocks),
        "--data-dir",
        path(&fx.dir.path().join("x")),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&index.display().to_string()), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}
