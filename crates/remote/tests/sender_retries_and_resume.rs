//! The sender's queue-manager behaviour against a promlite receiver wrapped in a scripted
//! front: 429/5xx are retried (honouring `Retry-After`), other 4xx are not; a push that dies
//! mid-way resumes from its checkpoint without resending what was answered, including when
//! the receiver stored the in-flight batch but the answer was lost.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use promlite::{Db, Labels};
use promlite_http::api::{Api, Endpoints, Request, Response};
use promlite_http::remote::RemoteEndpoints;
use promlite_http::{ApiOptions, Server, ServerOptions};
use promlite_remote::sender::{push, PushOptions};

/// What the scripted front does with request number `n` (0-based).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Act {
    /// Pass to the real receiver.
    Pass,
    /// Answer this status without storing (with `Retry-After: 0` for 429).
    Refuse(u16),
    /// Store it, then answer 503 (the answer is "lost").
    StoreThenFail,
}

struct Scripted {
    inner: RemoteEndpoints,
    script: Mutex<Box<dyn FnMut(usize) -> Act + Send>>,
    requests: AtomicUsize,
}

impl Endpoints for Scripted {
    fn handle(&self, api: &Api, req: &Request<'_>) -> Option<Response> {
        if req.path != "/api/v1/write" {
            return None;
        }
        let n = self.requests.fetch_add(1, Ordering::SeqCst);
        let act = (self.script.lock().unwrap())(n);
        match act {
            Act::Pass => self.inner.handle(api, req),
            Act::Refuse(status) => {
                Some(Response::text(status, "scripted\n").with_header("Retry-After", "0"))
            }
            Act::StoreThenFail => {
                let stored = self.inner.handle(api, req)?;
                assert_eq!(stored.status, 204);
                Some(Response::text(503, "answer lost\n"))
            }
        }
    }
}

fn serve(db: &Db, script: impl FnMut(usize) -> Act + Send + 'static) -> (Server, Arc<Scripted>) {
    let scripted = Arc::new(Scripted {
        inner: RemoteEndpoints::default(),
        script: Mutex::new(Box::new(script)),
        requests: AtomicUsize::new(0),
    });
    let api = Api::new(db.clone(), ApiOptions::default()).mount(scripted.clone());
    let options = ServerOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        workers: 4,
        ..ServerOptions::default()
    };
    (Server::start_api(api, options).unwrap(), scripted)
}

/// 6 series x 600 samples (15 s apart) over 2.5 h.
fn source() -> Db {
    let db = Db::in_memory();
    let mut app = db.appender();
    for s in 0..6 {
        let labels = Labels::from_pairs([("__name__", "m".to_string()), ("s", s.to_string())]);
        for i in 0..600i64 {
            app.append(&labels, i * 15_000, (i * s) as f64).unwrap();
        }
    }
    app.commit().unwrap();
    db
}

fn options(server: &Server, checkpoint: Option<std::path::PathBuf>) -> PushOptions {
    let mut options = PushOptions::new(
        format!("http://{}/api/v1/write", server.local_addr()),
        0,
        599 * 15_000,
    );
    options.max_samples_per_send = 100;
    options.concurrency = 2;
    options.max_retries = 3;
    options.min_backoff = std::time::Duration::from_millis(1);
    options.window_ms = 3 * 3600 * 1000; // one window: 36 batches in order
    options.checkpoint = checkpoint;
    options
}

fn all(db: &Db) -> Vec<(String, Vec<(i64, u64)>)> {
    common::stored(db, r#"{__name__="m"}"#, i64::MIN / 2, i64::MAX / 2)
}

#[test]
fn retryable_statuses_are_retried_and_others_are_not() {
    let src = source();
    let dst = Db::in_memory();
    // Requests 0 and 1: 429 then 503, both retried; request 5: 400, dropped (counted).
    let (server, scripted) = serve(&dst, |n| match n {
        0 => Act::Refuse(429),
        1 => Act::Refuse(503),
        5 => Act::Refuse(400),
        _ => Act::Pass,
    });
    let mut opts = options(&server, None);
    opts.concurrency = 1; // one shard, so the request numbers are in batch order
    let stats = push(&src, &opts, |_| {}).unwrap();
    assert_eq!(stats.retries, 2, "{stats:?}");
    assert_eq!(stats.samples_rejected, 100, "{stats:?}");
    assert_eq!(stats.samples_sent, 3600 - 100);
    // 36 batches, 2 retries, no retry of the 400.
    assert_eq!(scripted.requests.load(Ordering::SeqCst), 36 + 2);
    server.shutdown();
}

#[test]
fn exhausted_retries_fail_the_push() {
    let src = source();
    let dst = Db::in_memory();
    let (server, scripted) = serve(&dst, |_| Act::Refuse(500));
    let err = push(&src, &options(&server, None), |_| {}).unwrap_err();
    assert!(
        matches!(err, promlite_remote::Error::Status { status: 500, .. }),
        "{err}"
    );
    // Two shards, each: one try and three retries.
    assert_eq!(scripted.requests.load(Ordering::SeqCst), 2 * 4);
    server.shutdown();
}

#[test]
fn an_interrupted_push_resumes_from_its_checkpoint() {
    let src = source();
    // How many batches a clean push of this data cuts with 1 h windows (4 windows).
    let clean = Db::in_memory();
    let (server, counter) = serve(&clean, |_| Act::Pass);
    let mut opts = options(&server, None);
    opts.window_ms = 3600 * 1000;
    let clean_stats = push(&src, &opts, |_| {}).unwrap();
    let batches = counter.requests.load(Ordering::SeqCst);
    assert_eq!(clean_stats.requests as usize, batches);
    assert_eq!(all(&clean), all(&src));
    server.shutdown();

    let dst = Db::in_memory();
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("progress.json");
    // First run: 20 requests pass (the first window has 16 batches), then every answer is lost after
    // storing: each shard dies with its in-flight batch stored but unrecorded.
    let broken = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let flag = broken.clone();
    let (server, front) = serve(&dst, move |n| {
        if flag.load(Ordering::SeqCst) && n >= 20 {
            Act::StoreThenFail
        } else {
            Act::Pass
        }
    });
    let mut opts = options(&server, Some(checkpoint.clone()));
    opts.window_ms = 3600 * 1000;
    opts.max_retries = 0;
    let err = push(&src, &opts, |_| {}).unwrap_err();
    assert!(
        matches!(err, promlite_remote::Error::Status { status: 503, .. }),
        "{err}"
    );
    let first_requests = front.requests.load(Ordering::SeqCst);
    assert!(all(&dst).iter().map(|(_, s)| s.len()).sum::<usize>() < 3600);

    broken.store(false, Ordering::SeqCst);
    let stats = push(&src, &opts, |_| {}).unwrap();
    assert_eq!(all(&dst), all(&src), "destination differs from source");
    assert_eq!(stats.samples_rejected, 0, "{stats:?}");
    assert!(stats.windows_resumed >= 1, "{stats:?}");
    // The in-flight batches (one per shard) were resent and refused as out of order.
    assert!(stats.samples_resent_refused > 0, "{stats:?}");
    assert_eq!(
        front.requests.load(Ordering::SeqCst),
        batches + 2,
        "only the two in-flight batches may be sent twice (first run: {first_requests})"
    );
    assert_eq!(
        stats.samples_sent + stats.samples_resent_refused,
        3600,
        "{stats:?}"
    );

    // A mismatching rerun is refused rather than mixing two pushes.
    let mut other = opts.clone();
    other.max_samples_per_send = 50;
    let err = push(&src, &other, |_| {}).unwrap_err();
    assert!(
        matches!(err, promlite_remote::Error::Checkpoint { .. }),
        "{err}"
    );
    server.shutdown();
}
