//! Parses exposition files and prints throughput per wall-clock and per on-CPU second (the
//! machine is shared, so on-CPU time from /proc/self/schedstat is the fair "one core" figure).
//!
//! Usage: `cargo run --release -p promlite-expfmt --example parse_file -- FILE [REPEAT] [om]`

use std::time::Instant;

use promlite_expfmt::{Entry, Format, Parser};

fn on_cpu_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or("usage: parse_file FILE [REPEAT] [om]")?;
    let repeat: u32 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(10);
    let format = if args.next().as_deref() == Some("om") {
        Format::OpenMetrics
    } else {
        Format::Prometheus
    };
    let text = std::fs::read_to_string(&path)?;
    let (mut samples, mut lines) = (0u64, 0u64);
    let cpu0 = on_cpu_ns();
    let wall0 = Instant::now();
    for _ in 0..repeat {
        let mut parser = Parser::new(&text, format);
        while let Some(entry) = parser.next_entry()? {
            if let Entry::Sample(s) = entry {
                samples += 1;
                lines += s.labels.len() as u64;
            }
        }
    }
    let wall = wall0.elapsed().as_secs_f64();
    let bytes = text.len() as f64 * f64::from(repeat);
    println!("{samples} samples, {lines} labels, {:.1} MB", bytes / 1e6);
    println!("wall: {:.1} MB/s", bytes / wall / 1e6);
    if let (Some(a), Some(b)) = (cpu0, on_cpu_ns()) {
        let cpu = (b - a) as f64 / 1e9;
        println!("on-cpu: {:.1} MB/s ({:.3} s)", bytes / cpu / 1e6, cpu);
    }
    Ok(())
}
