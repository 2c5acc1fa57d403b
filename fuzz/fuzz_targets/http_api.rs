//! Fuzz target: arbitrary request text (path, query string, form body) through
//! `promlite_http::Api::handle`, the entry point the server calls for every request; no request
//! may panic it, and every answer must be a complete response.
#![no_main]

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use promlite::{Db, Labels};
use promlite_http::api::{Api, ApiOptions, Request};

fn api() -> &'static Api {
    static API: OnceLock<Api> = OnceLock::new();
    API.get_or_init(|| {
        let db = Db::in_memory();
        let mut app = db.appender();
        for (name, job) in [("up", "a"), ("up", "b"), ("kube_pod_owner", "ksm")] {
            let labels = Labels::from_pairs([("__name__", name), ("job", job)]);
            for k in 0..20i64 {
                let _ = app.append(&labels, k * 15_000, (k % 3) as f64);
            }
        }
        let _ = app.commit();
        // A short timeout keeps pathological queries from stalling the fuzzer.
        Api::new(db, ApiOptions { query_timeout: Duration::from_millis(200), max_samples: 100_000, ..ApiOptions::default() })
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // Layout: "<selector byte><path>\n<query>\n<body>".
    let mut chars = text.chars();
    let method = match chars.next() {
        Some(c) if (c as u32) % 2 == 0 => "GET",
        Some(_) => "POST",
        None => return,
    };
    let rest = chars.as_str();
    let mut parts = rest.splitn(3, '\n');
    let path = parts.next().unwrap_or("");
    let query = parts.next().unwrap_or("");
    let body = parts.next().unwrap_or("");
    let request = Request {
        method,
        path,
        query,
        content_type: Some("application/x-www-form-urlencoded"),
        body: body.as_bytes(),
        received: Instant::now(),
        headers: &[],
    };
    let response = api().handle(&request);
    assert!((200..600).contains(&response.status));
    assert!(!response.body.is_empty());
});
