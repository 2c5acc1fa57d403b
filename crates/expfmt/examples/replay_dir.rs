//! Replays a directory of scrape files (names = unix ms) into a counting sink and prints the
//! statistics; used to profile replay.
//!
//! Usage: `cargo run --release -p promlite-expfmt --example replay_dir -- DIR`

use promlite_expfmt::replay::{replay_dir, ReplayOptions, ReplaySeries, SampleSink, ScrapeTimes};

#[derive(Default)]
struct Count(u64);

impl SampleSink for Count {
    type Error = std::convert::Infallible;
    fn append(&mut self, series: &ReplaySeries, _t: i64, _v: f64) -> Result<(), Self::Error> {
        self.0 += u64::from(series.id);
        Ok(())
    }
    fn commit(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

fn on_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|t| t.split_whitespace().next().and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args().nth(1).ok_or("usage: replay_dir DIR")?;
    let cpu0 = on_cpu_ns();
    let start = std::time::Instant::now();
    let stats = replay_dir(
        dir.as_ref(),
        ScrapeTimes::FileNames,
        &mut ReplayOptions::default(),
        &mut Count::default(),
    )?;
    let cpu = on_cpu_ns().saturating_sub(cpu0) as f64 / 1e9;
    println!("{stats:?} in {:?} wall, {cpu:.3} s on-CPU", start.elapsed());
    println!(
        "{:.1} MB/s, {:.0} samples/s on-CPU",
        stats.bytes as f64 / cpu / 1e6,
        stats.samples as f64 / cpu
    );
    Ok(())
}
