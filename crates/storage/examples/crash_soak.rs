//! Kill -9 soak of the storage engine (issue 13): `cargo run --release -p promlite-storage
//! --example crash_soak -- [CYCLES] [SEED]` (default 1,000 cycles) runs a child process doing
//! ingest with commits, compaction, leveled merges, retention and WAL checkpoints, SIGKILLs it
//! at random moments and right after chosen phases, and after each kill reopens the directory
//! and requires exactly the acknowledged data. Prints the per-phase kill counts and the
//! lost/invented sample counts; exits 1 if anything was lost or invented. The logic is in
//! `tests/soak/mod.rs`, shared with the short CI version `tests/crash_soak.rs`.

#[path = "../tests/soak/mod.rs"]
mod soak;

use std::process::Command;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("child") {
        let (Some(dir), Some(start)) = (args.get(2), args.get(3).and_then(|s| s.parse().ok()))
        else {
            eprintln!("usage: crash_soak child DIR START");
            std::process::exit(2);
        };
        soak::child(std::path::Path::new(dir), start);
    }
    let cycles: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1000);
    let seed: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(0x50a6);
    let exe = std::env::current_exe().expect("current exe");
    let dir = tempfile::tempdir().expect("temporary directory");
    let spawn = |d: &std::path::Path, start: i64| {
        let mut c = Command::new(&exe);
        c.arg("child").arg(d).arg(start.to_string());
        c
    };
    let summary = soak::run(dir.path(), cycles, seed, &spawn, true);
    println!("{summary}");
    for f in summary.failures.iter().take(10) {
        println!("FAILURE: {f}");
    }
    if summary.lost > 0 || summary.invented > 0 || summary.open_failures > 0 {
        std::process::exit(1);
    }
}
