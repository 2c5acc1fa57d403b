//! Fuzz target: arbitrary bytes as a WAL segment, then `Db::open` (the entry point users call)
//! must return an error or a database, never panic. The first input byte picks the mode: raw
//! segment bytes, or payloads framed with valid checksums and snappy compression so the fuzzer
//! reaches record decoding and replay into the head.
#![no_main]

use std::sync::atomic::{AtomicU64, Ordering};

use libfuzzer_sys::fuzz_target;
use promlite_storage::wal::log::{encode_frame, segment_header};
use promlite_storage::{Db, Options};

static COUNTER: AtomicU64 = AtomicU64::new(0);

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let segment = if mode & 1 == 0 {
        rest.to_vec()
    } else {
        // Payloads separated by 0xfe 0xfe become correctly framed records.
        let mut out = segment_header().to_vec();
        let mut enc = snap::raw::Encoder::new();
        let mut frame = Vec::new();
        for payload in rest.split(|&b| b == 0xfe) {
            if encode_frame(&mut enc, payload, &mut frame).is_ok() {
                out.extend_from_slice(&frame);
            }
        }
        out
    };
    let dir = std::env::temp_dir().join(format!(
        "promlite-fuzz-wal-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let wal = dir.join("wal");
    if std::fs::create_dir_all(&wal).is_err() {
        return;
    }
    let _ = std::fs::write(wal.join("00000001"), &segment);
    let opts = Options {
        wal_repair: mode & 2 != 0,
        auto_compact: false,
        ..Options::default()
    };
    if let Ok(db) = Db::open(&dir, opts) {
        let _ = db.head_stats();
    }
    let _ = std::fs::remove_dir_all(&dir);
});
