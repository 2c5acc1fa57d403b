//! `promlite check --data-dir DIR` and `promlite repair --data-dir DIR`: thin over
//! `promlite_storage::check::{check_dir, repair_dir}` (re-exported as `promlite::storage_check`).
//!
//! check prints what it verified, each note (expected after a crash, repaired by the next
//! open) and each problem (file, byte offset, expected/actual checksum), and exits 1 if there
//! is any problem. It never changes the directory. repair prints each action with what it
//! dropped and exits 0 once the directory opens.

use std::path::Path;

use anyhow::Context as _;
use promlite::storage_check::{check_dir, repair_dir};

use crate::commands::rules::ExitCode;

fn require_dir(dir: &Path) -> anyhow::Result<()> {
    if !dir.is_dir() {
        anyhow::bail!("{}: no such data directory", dir.display());
    }
    Ok(())
}

/// Runs `promlite check --data-dir DIR`.
pub fn check(dir: &Path) -> anyhow::Result<()> {
    require_dir(dir)?;
    let report = check_dir(dir).with_context(|| format!("checking {}", dir.display()))?;
    println!(
        "checked {}: {} blocks ({} chunk runs), {} WAL checkpoints, {} WAL segments ({} frames)",
        dir.display(),
        report.blocks,
        report.chunk_runs,
        report.checkpoints,
        report.segments,
        report.frames
    );
    for n in &report.notes {
        println!("note: {n}");
    }
    for p in &report.problems {
        match p.checksum {
            Some(c) => println!(
                "problem: {p} [expected checksum {:#010x}, actual {:#010x}]",
                c.expected, c.actual
            ),
            None => println!("problem: {p}"),
        }
    }
    if report.is_ok() {
        println!("OK: no problems found");
        Ok(())
    } else {
        println!(
            "FAILED: {} problem(s); `promlite repair --data-dir {}` drops the damaged parts \
             (and says exactly what)",
            report.problems.len(),
            dir.display()
        );
        Err(ExitCode(1).into())
    }
}

/// Runs `promlite repair --data-dir DIR`.
pub fn repair(dir: &Path) -> anyhow::Result<()> {
    require_dir(dir)?;
    let report = repair_dir(dir).with_context(|| format!("repairing {}", dir.display()))?;
    if report.actions.is_empty() {
        println!("{}: nothing to repair", dir.display());
    }
    for a in &report.actions {
        println!("repaired: {a}");
    }
    Ok(())
}
