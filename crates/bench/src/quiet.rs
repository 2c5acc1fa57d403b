//! Waiting for a quiet machine before an engine's runs.
//!
//! All engines stay up during a grouped or interleaved run, and a server keeps working after it
//! has answered: Prometheus's Go garbage collector sweeps the heap a query left, VictoriaMetrics
//! merges parts in the background. On a 2-core machine that work takes a core from whichever
//! engine runs next, and the fastest engine suffers most: a 0.05 ms query measured right after
//! a 500 ms one on another engine took 0.3 ms. So before an engine's runs of a query (grouped)
//! or at each change of engine (interleaved), the harness waits, up to a limit, until the machine's CPUs
//! have been nearly idle for a short window. Every engine gets the same wait, so it favours
//! none; time spent waiting is not part of any measurement, and how long it took is reported.
//!
//! "Nearly idle" reads `/proc/stat`: over a window of 50 ms, at most 10 % of the
//! CPU time of all CPUs was busy (user, system, interrupts, steal; not idle or I/O wait). Where
//! `/proc/stat` cannot be read (not Linux) the wait returns at once.

use std::time::{Duration, Instant};

use serde::Serialize;

/// The window over which the machine must have been quiet.
const WINDOW: Duration = Duration::from_millis(50);

/// The busy share of all CPUs' time over [`WINDOW`] at or below which the machine counts as
/// quiet (the kernel counts in 10 ms ticks, so on 2 CPUs a 50 ms window has 10: at most one
/// busy tick).
const QUIET_SHARE: f64 = 0.1;

/// How the waits went.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct SettleStats {
    /// Waits done.
    pub waits: usize,
    /// Of them, how many ended at the limit with the machine still busy.
    pub timeouts: usize,
    /// Total time waited, in milliseconds.
    pub waited_ms: f64,
}

/// Waits for a quiet machine, at most `limit` each time (zero: never waits).
#[derive(Debug)]
pub(crate) struct Settle {
    limit: Duration,
    stats: SettleStats,
}

impl Settle {
    pub(crate) fn new(limit: Duration) -> Self {
        Settle {
            limit,
            stats: SettleStats::default(),
        }
    }

    /// Returns once the CPUs were quiet over the last [`WINDOW`], or after the limit.
    pub(crate) fn wait(&mut self) {
        if self.limit.is_zero() {
            return;
        }
        let started = Instant::now();
        let Some(mut before) = cpu_ticks() else {
            return;
        };
        let quiet = loop {
            std::thread::sleep(WINDOW);
            let Some(now) = cpu_ticks() else {
                break true;
            };
            if is_quiet(before, now) {
                break true;
            }
            if started.elapsed() >= self.limit {
                break false;
            }
            before = now;
        };
        self.stats.waits += 1;
        self.stats.timeouts += usize::from(!quiet);
        self.stats.waited_ms += started.elapsed().as_secs_f64() * 1e3;
    }

    pub(crate) fn stats(&self) -> SettleStats {
        self.stats
    }
}

/// `(busy, total)` CPU ticks of all CPUs since boot, from the first line of `/proc/stat`.
fn cpu_ticks() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    parse_cpu_line(stat.lines().next()?)
}

/// Parses `cpu  user nice system idle iowait irq softirq steal ...`: idle and iowait are not
/// busy; guest time is already counted in user.
fn parse_cpu_line(line: &str) -> Option<(u64, u64)> {
    let mut fields = line.split_whitespace();
    if fields.next()? != "cpu" {
        return None;
    }
    let values: Vec<u64> = fields
        .take(8)
        .map(|f| f.parse().ok())
        .collect::<Option<_>>()?;
    let total: u64 = values.iter().sum();
    let idle = values.get(3)? + values.get(4)?;
    Some((total - idle, total))
}

fn is_quiet(before: (u64, u64), now: (u64, u64)) -> bool {
    let busy = now.0.saturating_sub(before.0) as f64;
    let total = now.1.saturating_sub(before.1) as f64;
    // No tick counted yet: too short a window to tell, so not quiet.
    total > 0.0 && busy <= QUIET_SHARE * total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_busy_and_total_ticks() {
        let line = "cpu  145497 0 19374 152571 519 0 625 431 0 0";
        let total = 145_497 + 19_374 + 152_571 + 519 + 625 + 431;
        assert_eq!(parse_cpu_line(line), Some((total - 152_571 - 519, total)));
        assert_eq!(parse_cpu_line("cpu0 1 2 3 4 5 6 7 8"), None);
        assert_eq!(parse_cpu_line("cpu 1 2"), None);
        assert_eq!(parse_cpu_line("cpu 1 2 x 4 5 6 7 8"), None);
    }

    #[test]
    fn quiet_means_at_most_a_tenth_busy() {
        assert!(is_quiet((100, 1000), (101, 1010)));
        assert!(!is_quiet((100, 1000), (102, 1010)));
        assert!(!is_quiet((100, 1000), (100, 1000)));
    }

    #[test]
    fn a_zero_limit_never_waits() {
        let mut s = Settle::new(Duration::ZERO);
        s.wait();
        assert_eq!(s.stats(), SettleStats::default());
    }
}
