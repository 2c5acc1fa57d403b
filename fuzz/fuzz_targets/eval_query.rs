//! Fuzz target: arbitrary query text through `promlite_eval::Engine` (instant and range) over
//! a small fixed store, with the extensions off and with `kube_pod_workload` on (the store
//! holds owner series for it); no query may panic the evaluator.
#![no_main]

use std::sync::OnceLock;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use promlite_eval::{Engine, EngineOptions, Extension};
use promlite_model::storage::MemStore;
use promlite_model::{Labels, Sample, STALE_NAN};

fn store() -> &'static MemStore {
    static STORE: OnceLock<MemStore> = OnceLock::new();
    STORE.get_or_init(|| {
        let s = MemStore::new();
        for (name, job, le) in [("a", "x", ""), ("a", "y", ""), ("b", "x", ""), ("h_bucket", "x", "1"), ("h_bucket", "x", "+Inf")] {
            let labels = Labels::from_pairs([("__name__", name), ("job", job), ("le", le)]);
            for k in 0..40i64 {
                let v = if k == 30 { STALE_NAN } else { (k * k % 17) as f64 };
                s.add(labels.clone(), Sample::new(k * 15_000, v));
            }
        }
        let owners: [&[(&str, &str)]; 3] = [
            &[("__name__", "kube_pod_owner"), ("namespace", "n"), ("pod", "p"), ("owner_kind", "ReplicaSet"), ("owner_name", "rs")],
            &[("__name__", "kube_replicaset_owner"), ("namespace", "n"), ("replicaset", "rs"), ("owner_kind", "Deployment"), ("owner_name", "d")],
            &[("__name__", "kube_pod_owner"), ("namespace", "n"), ("pod", "q"), ("owner_kind", "Job"), ("owner_name", "j")],
        ];
        for pairs in owners {
            let labels = Labels::from_pairs(pairs.iter().copied());
            for k in 0..40i64 {
                s.add(labels.clone(), Sample::new(k * 15_000, 1.0));
            }
        }
        s
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(query) = std::str::from_utf8(data) else {
        return;
    };
    let engine = Engine::new(EngineOptions {
        max_samples: 100_000,
        timeout: Duration::from_secs(1),
        ..EngineOptions::default()
    });
    let _ = engine.instant_query(store(), query, 300_000);
    let _ = engine.range_query(store(), query, 0, 600_000, 60_000);
    let mut options = engine.options().clone();
    options.enable(Extension::KubePodWorkload);
    let extended = Engine::new(options);
    let _ = extended.instant_query(store(), query, 300_000);
    let _ = extended.range_query(store(), query, 0, 600_000, 60_000);
});
