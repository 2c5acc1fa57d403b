//! The `kube_pod_workload` extension over real storage: with the data in the head only, split
//! between blocks and head, and all in blocks, the extension (fast path on, so the owner
//! selectors inside its expansion are answered from the value-run index) equals
//! kubernetes-mixin's pod-owner rules (the union of `testdata/rules/workload/pod_owner.rules.yml`)
//! evaluated by the generic path, bit for bit with annotations, or fails with the same error.
//! The library setting (`Options::with_extension`) is what turns it on; without it the name is
//! an ordinary selector.

use promlite::{Db, Extension, Labels, Options, QueryOutput, StorageOptions, Value, WalSync};
use promlite_eval::{Engine, EngineOptions};
use promlite_testkit::join_data::JoinCase;
use promlite_testkit::workload_data::{
    owner_case, pod_owner_union, OwnerCaseOptions, OWNER_SCRAPE_MS,
};

const RULES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../testdata/rules/workload/pod_owner.rules.yml"
);

fn options(block_range: i64) -> Options {
    Options {
        storage: StorageOptions {
            block_range,
            wal_sync: WalSync::Never,
            ..StorageOptions::default()
        },
        ..Options::default()
    }
    .with_extension(Extension::KubePodWorkload)
}

/// Ingests the case scrape by scrape (one commit per scrape of either replica).
fn ingest(db: &Db, case: &JoinCase) {
    let labels: Vec<Labels> = case
        .series
        .iter()
        .map(|s| Labels::from_pairs(s.labels.iter().map(|(n, v)| (n.as_str(), v.as_str()))))
        .collect();
    let mut all: Vec<(i64, usize, f64)> = Vec::new();
    for (i, s) in case.series.iter().enumerate() {
        all.extend(s.samples.iter().map(|&(t, v)| (t, i, v)));
    }
    all.sort_by_key(|&(t, i, _)| (t, i));
    let mut app = db.appender();
    let mut scrape = i64::MIN;
    for (t, i, v) in all {
        if t / OWNER_SCRAPE_MS > scrape {
            app.commit().expect("commit");
            scrape = t / OWNER_SCRAPE_MS;
        }
        app.append(&labels[i], t, v).expect("in-order sample");
    }
    app.commit().expect("commit");
}

/// The answer as text: label sets without `__name__` (only the extension's carry one), values
/// as bits, annotations; or the error.
fn render(result: &Result<QueryOutput, promlite::QueryError>) -> String {
    let out = match result {
        Err(e) => return format!("error: {e}"),
        Ok(out) => out,
    };
    let mut rows: Vec<String> = match &out.value {
        Value::Vector(v) => v
            .iter()
            .map(|x| {
                format!(
                    "{} @{} {:#x}",
                    x.labels.without_metric_name(),
                    x.t,
                    x.v.to_bits()
                )
            })
            .collect(),
        Value::Matrix(m) => m
            .iter()
            .map(|x| {
                let pts: Vec<String> = x
                    .samples
                    .iter()
                    .map(|p| format!("{}:{:#x}", p.t, p.v.to_bits()))
                    .collect();
                format!("{} {}", x.labels.without_metric_name(), pts.join(" "))
            })
            .collect(),
        other => vec![format!("{other:?}")],
    };
    rows.sort();
    format!(
        "{}\nwarnings {:?} infos {:?}",
        rows.join("\n"),
        out.warnings,
        out.infos
    )
}

/// Compares the extension with the union at every query time of `case`; returns how many
/// extension runs loaded fewer samples than the union's generic run.
fn check(db: &Db, case: &JoinCase, union: &str, stage: &str) -> usize {
    let generic = Engine::new(EngineOptions {
        fast_path: false,
        ..EngineOptions::default()
    });
    let extension = Engine::new(db.engine_options().clone());
    assert!(extension.options().fast_path);
    let store = db.storage();
    let mut runs: Vec<(i64, i64, i64)> = case.instant_times.iter().map(|&t| (t, t, 0)).collect();
    runs.extend(case.ranges.iter().copied());
    let mut fewer = 0;
    for &(start, end, step) in &runs {
        let run = |e: &Engine, q: &str| {
            if step == 0 {
                e.instant_query(store, q, start)
            } else {
                e.range_query(store, q, start, end, step)
            }
        };
        let want = run(&generic, union);
        let got = run(&extension, "kube_pod_workload");
        assert_eq!(
            render(&got),
            render(&want),
            "{stage}, {start}..{end} step {step}"
        );
        // Through the facade too.
        let facade = if step == 0 {
            db.query("kube_pod_workload", start)
        } else {
            db.query_range(
                "kube_pod_workload",
                start,
                end,
                std::time::Duration::from_millis(step as u64),
            )
        };
        assert_eq!(
            facade.as_ref().map(|o| o.value.clone()).ok(),
            got.as_ref().map(|o| o.value.clone()).ok(),
            "{stage}: facade"
        );
        if let (Ok(a), Ok(b)) = (&got, &want) {
            fewer += usize::from(a.stats.samples_loaded < b.stats.samples_loaded);
        }
    }
    fewer
}

#[test]
fn extension_equals_the_rules_over_head_and_blocks() {
    let text = std::fs::read_to_string(RULES).unwrap_or_else(|e| panic!("{RULES}: {e}"));
    let union = pod_owner_union(&text).expect("the rule file has the expected layout");
    let mut fewer = 0;
    let mut n = 0;
    for seed in 0..6u64 {
        let case = owner_case(
            100 + seed,
            OwnerCaseOptions {
                stale_markers: seed % 2 == 0,
                conflicts: seed % 3 == 2,
                cluster: seed == 1,
            },
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let db = Db::open(dir.path(), options(24 * 3_600_000)).expect("open");
        ingest(&db, &case);
        assert!(db.storage().blocks().is_empty());
        fewer += check(&db, &case, &union, "head");
        drop(db);
        let dir = tempfile::tempdir().expect("temp dir");
        let db = Db::open(dir.path(), options(300_000)).expect("open");
        ingest(&db, &case);
        assert!(!db.storage().blocks().is_empty(), "no block was cut");
        fewer += check(&db, &case, &union, "blocks and head");
        db.flush().expect("flush");
        fewer += check(&db, &case, &union, "all in blocks");
        n += 3 * (case.instant_times.len() + case.ranges.len());
    }
    // The value-run index answered the owner selectors inside the expansion.
    assert!(
        fewer > n / 2,
        "only {fewer} of {n} runs loaded fewer samples"
    );
}

#[test]
fn without_the_setting_the_name_is_ordinary() {
    let db = Db::in_memory();
    assert!(!db.engine_options().kube_pod_workload);
    let case = owner_case(7, OwnerCaseOptions::default());
    ingest(&db, &case);
    let out = db
        .query("kube_pod_workload", case.instant_times[0])
        .expect("answers");
    assert_eq!(out.value, Value::Vector(Vec::new()));
}
