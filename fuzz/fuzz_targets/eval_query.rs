//! Fuzz target: arbitrary query text through `promlite_eval::Engine` (instant and range) over
//! a small fixed store; no query may panic the evaluator.
#![no_main]

use std::sync::OnceLock;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use promlite_eval::{Engine, EngineOptions};
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
});
