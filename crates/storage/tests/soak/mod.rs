//! The kill -9 soak shared by `examples/crash_soak.rs` (1,000+ cycles, run by hand) and
//! `tests/crash_soak.rs` (a short version in CI).
//!
//! A child process ingests commits into a data directory with automatic compaction, leveled
//! merges, retention and WAL checkpoints, and reports on its stdout (one `write(2)` per line,
//! unbuffered): `P <phase>` when a phase starts (`open`, and every
//! [`promlite_storage::io::Phase`] through [`PhaseFs`]) and `A <k>` after commit `k` returned
//! (so the phase is back to ingest). The parent SIGKILLs it (at a random moment, or right after
//! it announced a chosen phase), reads every line the child wrote (a pipe keeps them after the
//! kill), reopens the directory and requires exactly the acknowledged data: every commit from
//! the oldest retention may have dropped to the last acknowledged one, at most the one
//! in-flight commit more, every value right, nothing older coming back once retention dropped
//! it, nothing invented. The phase of the last line before the kill is where it landed.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use promlite_model::{Labels, MatchOp, Matcher, Queryable, SelectHints};
use promlite_storage::io::{self, FileSystem, Phase, SharedFs};
use promlite_storage::{Db, Options, WalSync};
use rand::{Rng, SeedableRng};

/// Series per commit.
pub const SERIES: usize = 20;
/// Milliseconds between commits.
pub const STEP: i64 = 10;
/// Retention: 200 s of data, so blocks up to 20 s (10 %): ranges 1 s, 3 s, 9 s.
pub const RETENTION_MS: i64 = 200_000;

pub fn opts(fs: SharedFs) -> Options {
    Options {
        block_range: 1000,
        auto_compact: true,
        wal_segment_size: 16 << 10,
        wal_sync: WalSync::Never,
        retention_time: Some(Duration::from_millis(RETENTION_MS as u64)),
        fs,
        ..Options::default()
    }
}

pub fn series(s: usize) -> Labels {
    Labels::from_pairs([("__name__", "soak".to_string()), ("id", s.to_string())])
}

pub fn value(k: i64, s: usize) -> f64 {
    (k * 100 + s as i64) as f64 * 0.5
}

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    // One write per line; a failed write (the parent went away) ends the child.
    if out
        .write_all(line.as_bytes())
        .and_then(|()| out.flush())
        .is_err()
    {
        std::process::exit(3);
    }
}

/// The real file system, announcing phases on stdout.
#[derive(Debug)]
pub struct PhaseFs(SharedFs);

macro_rules! delegate {
    ($($name:ident($($arg:ident: $ty:ty),*) -> $ret:ty;)*) => {
        $(fn $name(&self, $($arg: $ty),*) -> $ret { self.0.$name($($arg),*) })*
    };
}

impl FileSystem for PhaseFs {
    delegate! {
        create_dir_all(path: &Path) -> std::io::Result<()>;
        read_dir(path: &Path) -> std::io::Result<Vec<io::DirEntry>>;
        read(path: &Path) -> std::io::Result<Vec<u8>>;
        map(path: &Path) -> std::io::Result<promlite_storage::bytes::SharedBytes>;
        file_len(path: &Path) -> std::io::Result<Option<u64>>;
        is_dir(path: &Path) -> bool;
        create(path: &Path) -> std::io::Result<Box<dyn io::WritableFile>>;
        truncate(path: &Path, len: u64) -> std::io::Result<()>;
        rename(from: &Path, to: &Path) -> std::io::Result<()>;
        remove_file(path: &Path) -> std::io::Result<()>;
        remove_dir_all(path: &Path) -> std::io::Result<()>;
        sync_dir(path: &Path) -> std::io::Result<()>;
        lock(path: &Path) -> std::io::Result<Box<dyn std::any::Any + Send + Sync>>;
    }
    fn phase(&self, phase: Phase) {
        say(&format!("P {}\n", phase.name()));
    }
}

/// The child: commits `k = start, start + 1, ...` forever (until killed), one sample per series
/// at `t = STEP * k`.
pub fn child(dir: &Path, start: i64) -> ! {
    say("P open\n");
    let db = Db::open(dir, opts(Arc::new(PhaseFs(io::real())))).unwrap_or_else(|e| {
        eprintln!("child: open failed: {e}");
        std::process::exit(2)
    });
    say("P ingest\n");
    let labels: Vec<Labels> = (0..SERIES).map(series).collect();
    let mut app = db.appender();
    for k in start.. {
        for (s, l) in labels.iter().enumerate() {
            if let Err(e) = app.append(l, k * STEP, value(k, s)) {
                eprintln!("child: append {k}: {e}");
                std::process::exit(2);
            }
        }
        if let Err(e) = app.commit() {
            eprintln!("child: commit {k}: {e}");
            std::process::exit(2);
        }
        say(&format!("A {k}\n"));
    }
    std::process::exit(0)
}

/// What a soak found.
#[derive(Debug, Default)]
pub struct Summary {
    pub cycles: usize,
    /// Kills per phase the child was in.
    pub phases: BTreeMap<String, usize>,
    /// Acknowledged commits over all cycles.
    pub acked_commits: u64,
    /// Acknowledged samples found present (summed over every reopen).
    pub samples_checked: u64,
    /// Acknowledged samples missing that retention could not have deleted.
    pub lost: u64,
    /// Samples present that were never written, have the wrong value, or came back after
    /// retention deleted them.
    pub invented: u64,
    /// Commits retention deleted (the oldest commit present moved past them).
    pub retention_dropped_commits: u64,
    /// Reopens that failed.
    pub open_failures: usize,
    pub wall: Duration,
    /// Human-readable descriptions of the first failures.
    pub failures: Vec<String>,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "cycles: {}", self.cycles)?;
        for (p, n) in &self.phases {
            writeln!(f, "  killed in {p}: {n}")?;
        }
        writeln!(f, "acknowledged commits: {}", self.acked_commits)?;
        writeln!(f, "acknowledged samples checked: {}", self.samples_checked)?;
        writeln!(
            f,
            "commits dropped by retention: {}",
            self.retention_dropped_commits
        )?;
        writeln!(f, "lost: {}", self.lost)?;
        writeln!(f, "invented: {}", self.invented)?;
        writeln!(f, "failed reopens: {}", self.open_failures)?;
        write!(f, "wall time: {:.1} s", self.wall.as_secs_f64())
    }
}

/// Where the data stands between cycles.
#[derive(Debug, Clone, Copy)]
struct State {
    /// Oldest commit present (retention moves it up, never down).
    lo: i64,
    /// Newest commit present (-1: none yet).
    hi: i64,
}

/// Phases a targeted kill waits for.
const TARGETS: [&str; 5] = [
    "head-compaction",
    "checkpoint",
    "merge",
    "retention",
    "open",
];

/// Runs `cycles` kill cycles. `spawn(dir, start)` builds the command that runs [`child`].
pub fn run(
    dir: &Path,
    cycles: usize,
    seed: u64,
    spawn: &dyn Fn(&Path, i64) -> Command,
    progress: bool,
) -> Summary {
    let started = Instant::now();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut sum = Summary::default();
    let mut state = State { lo: 0, hi: -1 };
    for cycle in 0..cycles {
        let mut child = spawn(dir, state.hi + 1)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn the soak child");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        let reader = std::thread::spawn(move || {
            let mut lines = Vec::new();
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line.clone());
                lines.push(line);
            }
            lines
        });
        // Half the kills at a random moment, half right after a chosen phase was announced
        // (with a random delay of up to 2 ms), so kills land inside the rare phases too.
        let deadline = Instant::now() + Duration::from_millis(rng.gen_range(5..120));
        let target = (rng.gen_bool(0.5)).then(|| TARGETS[rng.gen_range(0..TARGETS.len())]);
        let give_up = Instant::now() + Duration::from_secs(3);
        loop {
            let now = Instant::now();
            if target.is_none() && now >= deadline {
                break;
            }
            if target.is_some() && now >= give_up {
                break;
            }
            match rx.recv_timeout(Duration::from_millis(1)) {
                Ok(line) => {
                    if let Some(t) = target {
                        if line.strip_prefix("P ") == Some(t) {
                            std::thread::sleep(Duration::from_micros(rng.gen_range(0..2000)));
                            break;
                        }
                    }
                }
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        let _ = child.kill(); // SIGKILL
        let status = child.wait().expect("wait for the soak child");
        let lines = reader.join().expect("reader thread");
        if status.code().is_some_and(|c| c != 0) {
            sum.failures
                .push(format!("cycle {cycle}: child exited with {status}"));
        }
        let phase = match lines.last() {
            None => "spawn".to_string(),
            Some(l) if l.starts_with("A ") => "ingest".to_string(),
            Some(l) => l.strip_prefix("P ").unwrap_or(l).to_string(),
        };
        *sum.phases.entry(phase.clone()).or_default() += 1;
        let acked = lines
            .iter()
            .filter_map(|l| l.strip_prefix("A ")?.parse::<i64>().ok())
            .max();
        let last_acked = acked.unwrap_or(state.hi).max(state.hi);
        if let Some(a) = acked {
            sum.acked_commits += (a - state.hi).max(0) as u64;
        }
        match verify(dir, state, last_acked, &mut sum) {
            Ok(next) => state = next,
            Err(e) => {
                sum.open_failures += 1;
                sum.failures
                    .push(format!("cycle {cycle} (killed in {phase}): {e}"));
                break;
            }
        }
        sum.cycles += 1;
        if progress && (cycle + 1) % 100 == 0 {
            eprintln!(
                "{} cycles, {:.0} s, commits {}..={}",
                cycle + 1,
                started.elapsed().as_secs_f64(),
                state.lo,
                state.hi
            );
        }
    }
    sum.wall = started.elapsed();
    sum
}

/// Reopens `dir` and checks it against what was acknowledged; returns the new state.
fn verify(dir: &Path, prev: State, last_acked: i64, sum: &mut Summary) -> Result<State, String> {
    let db = Db::open(dir, opts(io::real())).map_err(|e| format!("reopen failed: {e}"))?;
    let q = db.querier(i64::MIN, i64::MAX).map_err(|e| e.to_string())?;
    let all = Matcher::new(MatchOp::Regex, "__name__", ".+").map_err(|e| e.to_string())?;
    let selected = q
        .select(&SelectHints::default(), &[all])
        .map_err(|e| e.to_string())?;
    let mut per_series: BTreeMap<Labels, Vec<(i64, f64)>> = BTreeMap::new();
    for mut s in selected {
        let mut out = Vec::new();
        s.samples
            .collect_range(i64::MIN, i64::MAX, &mut out)
            .map_err(|e| e.to_string())?;
        per_series.insert(s.labels.clone(), out.iter().map(|x| (x.t, x.v)).collect());
    }
    drop(q);
    drop(db);
    let mut invented = 0u64;
    let mut lo = i64::MAX;
    let mut hi = -1i64;
    for (labels, samples) in &per_series {
        let Some(s) = (0..SERIES).find(|&s| series(s) == *labels) else {
            invented += samples.len() as u64;
            continue;
        };
        for &(t, v) in samples {
            let k = t / STEP;
            let bad = t % STEP != 0
                || k > last_acked + 1
                || k < prev.lo
                || v.to_bits() != value(k, s).to_bits();
            if bad {
                invented += 1;
            } else {
                lo = lo.min(k);
                hi = hi.max(k);
            }
        }
    }
    if hi < 0 {
        lo = prev.lo;
    }
    // Every series must hold exactly commits lo..=hi (a commit is atomic, retention drops
    // whole blocks of every series alike).
    let mut lost = 0u64;
    let want = (hi - lo + 1).max(0) as u64;
    for s in 0..SERIES {
        let have = per_series.get(&series(s)).map_or(0, |v| {
            v.iter()
                .filter(|&&(t, _)| t / STEP >= lo && t / STEP <= hi)
                .count() as u64
        });
        lost += want.saturating_sub(have);
    }
    // Acknowledged commits after the newest present are lost.
    if hi < last_acked {
        lost += (last_acked - hi) as u64 * SERIES as u64;
    }
    // Commits below `lo` may only be gone if retention could delete them: their time must
    // be older than the newest sample minus the retention.
    if lo > prev.lo && (lo - 1) * STEP >= hi * STEP - RETENTION_MS {
        lost += (lo - prev.lo) as u64 * SERIES as u64;
    }
    sum.retention_dropped_commits += (lo - prev.lo).max(0) as u64;
    sum.samples_checked += want * SERIES as u64;
    sum.lost += lost;
    sum.invented += invented;
    if lost > 0 || invented > 0 {
        sum.failures.push(format!(
            "commits {lo}..={hi} present, last acknowledged {last_acked}, previous {}..={}: \
             {lost} lost, {invented} invented",
            prev.lo, prev.hi
        ));
    }
    Ok(State {
        lo,
        hi: hi.max(prev.hi),
    })
}
