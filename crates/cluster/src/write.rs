//! Output of a built cluster: one timestamped OpenMetrics file, a directory of scrape files, or
//! in-process sample streams. Everything streams; nothing holds more than one scrape or one
//! series of samples.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use promlite_model::{Labels, Sample, Timestamp, STALE_NAN};

use crate::series::{Family, SeriesDef, ValueGen};
use crate::{Cluster, Error, Result};

/// Writes `name{a="x",...}` with the label values escaped as the exposition formats require.
fn series_text(labels: &Labels) -> String {
    let mut out = String::with_capacity(256);
    out.push_str(labels.metric_name().unwrap_or(""));
    out.push('{');
    let mut first = true;
    for l in labels
        .iter()
        .filter(|l| l.name != promlite_model::METRIC_NAME)
    {
        if !first {
            out.push(',');
        }
        first = false;
        out.push_str(l.name);
        out.push_str("=\"");
        for ch in l.value.chars() {
            match ch {
                '\\' => out.push_str("\\\\"),
                '"' => out.push_str("\\\""),
                '\n' => out.push_str("\\n"),
                c => out.push(c),
            }
        }
        out.push('"');
    }
    out.push('}');
    out
}

/// OpenMetrics timestamp: float seconds, exact for millisecond inputs (`1700000000.5`).
fn write_timestamp(w: &mut impl Write, t_ms: i64) -> std::io::Result<()> {
    let secs = t_ms.div_euclid(1000);
    let ms = t_ms.rem_euclid(1000);
    if ms == 0 {
        write!(w, "{secs}")
    } else {
        let frac = format!("{ms:03}");
        write!(w, "{secs}.{}", frac.trim_end_matches('0'))
    }
}

/// Formats a sample value so Go's and Rust's float parsers read back the same bits.
fn write_value(w: &mut impl Write, v: f64) -> std::io::Result<()> {
    if v.is_nan() {
        w.write_all(b"NaN")
    } else if v.is_infinite() {
        w.write_all(if v > 0.0 { b"+Inf" } else { b"-Inf" })
    } else {
        // Rust's Display prints the shortest decimal that round-trips.
        write!(w, "{v}")
    }
}

impl Cluster {
    /// Writes one OpenMetrics text with every sample timestamped (float seconds), families in
    /// name order with `# TYPE`/`# HELP` lines, each series' samples contiguous and in time
    /// order, and the closing `# EOF`: the input of
    /// `promtool tsdb create-blocks-from openmetrics`. Returns the number of samples written.
    pub fn write_openmetrics(&self, out: impl Write) -> Result<u64> {
        self.write_openmetrics_inner(out).map_err(Error::io(None))
    }

    fn write_openmetrics_inner(&self, out: impl Write) -> std::io::Result<u64> {
        let mut w = BufWriter::with_capacity(1 << 20, out);
        let n = self.spec.n_scrapes();
        let mut n_samples = 0u64;
        let mut current: Option<Family> = None;
        for def in &self.series {
            if current != Some(def.family) {
                let family = def.family;
                writeln!(
                    w,
                    "# TYPE {} {}",
                    family.openmetrics_name(),
                    family.type_name()
                )?;
                writeln!(w, "# HELP {} {}", family.openmetrics_name(), family.help())?;
                current = Some(family);
            }
            let prefix = series_text(&def.labels);
            let mut values = def.values(self.spec.interval_ms);
            for k in (0..n).filter(|k| def.alive(*k)) {
                let v = values.value_at(def, k);
                w.write_all(prefix.as_bytes())?;
                w.write_all(b" ")?;
                write_value(&mut w, v)?;
                w.write_all(b" ")?;
                write_timestamp(&mut w, self.spec.scrape_time(k))?;
                w.write_all(b"\n")?;
                n_samples += 1;
            }
        }
        w.write_all(b"# EOF\n")?;
        w.flush()?;
        Ok(n_samples)
    }

    /// Writes one Prometheus text-format file per scrape into `dir` (created if missing), named
    /// `<unix_ms>.prom`, without timestamps: what a scraper would have read from all targets
    /// at that instant. Returns the number of samples written.
    pub fn write_scrape_dir(&self, dir: &Path) -> Result<u64> {
        std::fs::create_dir_all(dir).map_err(Error::io(Some(dir)))?;
        let prefixes: Vec<String> = self.series.iter().map(|d| series_text(&d.labels)).collect();
        let mut gens: Vec<Option<ValueGen>> = self.series.iter().map(|_| None).collect();
        let mut n_samples = 0u64;
        for k in 0..self.spec.n_scrapes() {
            let path = dir.join(format!("{}.prom", self.spec.scrape_time(k)));
            let file = File::create(&path).map_err(Error::io(Some(&path)))?;
            let mut w = BufWriter::with_capacity(1 << 20, file);
            let mut write = || -> std::io::Result<u64> {
                let mut count = 0u64;
                let mut current: Option<Family> = None;
                for ((def, prefix), slot) in self.series.iter().zip(&prefixes).zip(gens.iter_mut())
                {
                    if current != Some(def.family) {
                        let name = def.family.metric_name();
                        writeln!(w, "# HELP {name} {}", def.family.help())?;
                        writeln!(w, "# TYPE {name} {}", def.family.type_name())?;
                        current = Some(def.family);
                    }
                    if !def.alive(k) {
                        continue;
                    }
                    let v = slot
                        .get_or_insert_with(|| def.values(self.spec.interval_ms))
                        .value_at(def, k);
                    w.write_all(prefix.as_bytes())?;
                    w.write_all(b" ")?;
                    write_value(&mut w, v)?;
                    w.write_all(b"\n")?;
                    count += 1;
                }
                w.flush()?;
                Ok(count)
            };
            n_samples += write().map_err(Error::io(Some(&path)))?;
        }
        Ok(n_samples)
    }

    /// Calls `f(labels, t, v)` for every sample in scrape order (all series at the first scrape,
    /// then all at the second, ...), series in label order within a scrape. With
    /// [`crate::ClusterSpec::stale_markers`] a series that disappears gets a [`STALE_NAN`] at
    /// the first scrape it misses.
    pub fn for_each_sample(&self, mut f: impl FnMut(&Labels, Timestamp, f64)) {
        let n = self.spec.n_scrapes();
        let mut gens: Vec<Option<ValueGen>> = self.series.iter().map(|_| None).collect();
        for k in 0..n {
            let t = self.spec.scrape_time(k);
            for (def, slot) in self.series.iter().zip(gens.iter_mut()) {
                if def.alive(k) {
                    let v = slot
                        .get_or_insert_with(|| def.values(self.spec.interval_ms))
                        .value_at(def, k);
                    f(&def.labels, t, v);
                } else if self.spec.stale_markers && k > 0 && def.alive(k - 1) {
                    f(&def.labels, t, STALE_NAN);
                }
            }
        }
    }

    /// Calls `f(series, samples)` once per series in label order with all its samples in time
    /// order (staleness markers included when [`crate::ClusterSpec::stale_markers`] is set).
    pub fn for_each_series(&self, mut f: impl FnMut(&SeriesDef, &[Sample])) {
        let n = self.spec.n_scrapes();
        let mut buf: Vec<Sample> = Vec::new();
        for def in &self.series {
            buf.clear();
            let mut values = def.values(self.spec.interval_ms);
            for k in 0..n {
                if def.alive(k) {
                    buf.push(Sample::new(
                        self.spec.scrape_time(k),
                        values.value_at(def, k),
                    ));
                } else if self.spec.stale_markers && k > 0 && def.alive(k - 1) {
                    buf.push(Sample::new(self.spec.scrape_time(k), STALE_NAN));
                }
            }
            f(def, &buf);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(ms: i64) -> String {
        let mut v = Vec::new();
        write_timestamp(&mut v, ms).unwrap_or_default();
        String::from_utf8(v).unwrap_or_default()
    }

    #[test]
    fn timestamps_are_float_seconds() {
        assert_eq!(ts(1_700_000_000_000), "1700000000");
        assert_eq!(ts(1_700_000_007_500), "1700000007.5");
        assert_eq!(ts(1_700_000_000_001), "1700000000.001");
        assert_eq!(ts(1_700_000_000_120), "1700000000.12");
    }

    #[test]
    fn series_text_escapes_values() {
        let labels = Labels::from_pairs([("__name__", "m"), ("a", "x\"y\\z\nw"), ("b", "1")]);
        assert_eq!(series_text(&labels), r#"m{a="x\"y\\z\nw",b="1"}"#);
    }
}
