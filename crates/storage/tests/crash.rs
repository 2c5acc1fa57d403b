//! Crash test: a child process (this test binary re-invoked with `PROMLITE_CRASH_DIR` set)
//! ingests commits and prints `ACK <k>` after each `commit()` returns; the parent kills it with
//! SIGKILL at random moments, reopens the directory, and checks that every acknowledged commit is
//! present, that at most the one in-flight commit beyond it is present, whole, and that nothing
//! else appeared. Compaction, WAL segment cuts and checkpoints run in the child too, so kills also
//! land in the middle of those.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use promlite_storage::{Db, Options, WalSync};
use rand::{Rng, SeedableRng};

const N_SERIES: usize = 20;
const KILLS: usize = 50;

fn opts() -> Options {
    Options {
        block_range: 3000,
        auto_compact: true,
        wal_segment_size: 16 << 10,
        wal_sync: WalSync::Never,
        ..Options::default()
    }
}

fn value(k: i64, s: usize) -> f64 {
    (k * 100 + s as i64) as f64 * 0.25
}

/// The child: commits `k = start, start + 1, ...`, one sample per series at `t = 10 k`.
#[test]
fn crash_child() {
    let Ok(dir) = std::env::var("PROMLITE_CRASH_DIR") else {
        return;
    };
    let start: i64 = std::env::var("PROMLITE_CRASH_START")
        .unwrap()
        .parse()
        .unwrap();
    let db = Db::open(&dir, opts()).unwrap();
    let labels: Vec<_> = (0..N_SERIES).map(common::series).collect();
    let mut app = db.appender();
    let stdout = std::io::stdout();
    for k in start.. {
        for (s, l) in labels.iter().enumerate() {
            app.append(l, k * 10, value(k, s)).unwrap();
        }
        app.commit().unwrap();
        let mut out = stdout.lock();
        writeln!(out, "ACK {k}").unwrap();
        out.flush().unwrap();
    }
}

/// Checks the directory holds exactly commits `0..=n` for every series and returns `n`
/// (`-1` if empty).
fn verify(dir: &std::path::Path, last_acked: i64) -> i64 {
    let db = Db::open(dir, opts()).unwrap_or_else(|e| panic!("reopen failed: {e}"));
    let data = common::dump(&db);
    let mut n: Option<i64> = None;
    for s in 0..N_SERIES {
        let got = data
            .get(&common::series(s))
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let this_n = got.len() as i64 - 1;
        // All series end at the same commit: a commit is atomic.
        if let Some(n) = n {
            assert_eq!(
                this_n,
                n,
                "series {s} has {} commits, others {}",
                this_n + 1,
                n + 1
            );
        }
        n = Some(this_n);
        for (k, (t, v)) in got.iter().enumerate() {
            let k = k as i64;
            assert_eq!(*t, k * 10, "series {s}: commit {k} missing or reordered");
            assert_eq!(
                *v,
                value(k, s).to_bits(),
                "series {s}: wrong value at commit {k}"
            );
        }
    }
    let n = n.unwrap_or(-1);
    assert!(
        n >= last_acked,
        "acknowledged commit {last_acked} lost (have up to {n})"
    );
    assert!(
        n <= last_acked + 1,
        "commit {n} appeared but only {last_acked} was acknowledged (+1 in flight)"
    );
    n
}

#[test]
fn sigkill_never_loses_acknowledged_commits() {
    if std::env::var("PROMLITE_CRASH_DIR").is_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let seed: u64 = 0x5eed_c0de;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let started = Instant::now();
    let mut have: i64 = -1;
    let mut total_acked = 0usize;
    for round in 0..KILLS {
        let mut child = Command::new(&exe)
            .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
            .env("PROMLITE_CRASH_DIR", dir.path())
            .env("PROMLITE_CRASH_START", (have + 1).to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut last: i64 = -1;
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(k) = line.strip_prefix("ACK ") {
                    last = k.trim().parse().unwrap();
                }
            }
            last
        });
        // Kill at a random moment: sometimes before the child finishes opening, mostly while it
        // ingests, compacts and truncates its WAL.
        let delay = rng.gen_range(0..60u64);
        std::thread::sleep(Duration::from_millis(delay));
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        let acked = reader.join().unwrap();
        let last_acked = acked.max(have);
        if acked > have {
            total_acked += (acked - have) as usize;
        }
        have = verify(dir.path(), last_acked);
        eprintln!("round {round}: killed after {delay} ms, acked up to {acked}, have {have}");
    }
    eprintln!(
        "{KILLS} kills, {total_acked} acknowledged commits, {:?}",
        started.elapsed()
    );
    assert!(
        total_acked > 0,
        "the child never acknowledged a commit; the test exercised nothing"
    );
}
