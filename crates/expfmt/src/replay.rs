//! Offline replay of scraped exposition files into a [`SampleSink`].
//!
//! Two inputs are supported:
//!
//! * [`replay_file`]: one file whose samples all carry explicit timestamps (either format).
//! * [`replay_dir`]: a directory of scrapes, one scrape per file. The scrape time comes from
//!   the file name (unix milliseconds, `1700000000000.prom`; files sorted by that time) or from
//!   a start time plus an interval (files sorted by name), see [`ScrapeTimes`].
//!
//! Directory replay behaves like Prometheus' scrape loop: a sample without a timestamp gets
//! the scrape time; a sample with an explicit timestamp keeps it (`honor_timestamps: true`) and
//! is exempt from staleness tracking, exactly as Prometheus bypasses its staleness logic for
//! such samples. A series that was present (without explicit timestamp) in one scrape and is
//! missing from the next gets a staleness marker ([`STALE_NAN`]) at the next scrape's time,
//! appended in the same batch as that scrape. A series repeated within one scrape is dropped
//! and counted in [`ReplayStats::duplicates`] (Prometheus rejects it as a duplicate sample
//! without failing the scrape). Replay ends after the last scrape without adding markers:
//! unlike a scraper whose target disappears, replay cannot know the series ended.
//!
//! Input is streamed in chunks of [`ReplayOptions::chunk_size`] bytes that end at a line
//! boundary; files are never loaded whole. A malformed line stops the replay with an
//! [`Error::File`] (`file:line:column: message`) after committing everything accepted before
//! it; with [`ReplayOptions::lenient`] the line is skipped, counted, and its position recorded
//! (the first [`ReplayOptions::max_reported_errors`] of them).
//!
//! Memory: replay keeps one cache entry per distinct series text and label set for the whole
//! call (that is what lets later scrapes skip building [`Labels`]), so heavy series churn
//! costs memory proportional to all series ever seen.
//!
//! Target labels ([`ReplayOptions::target`]): every replayed series gets the target's labels
//! attached under Prometheus's `honor_labels` rules ([`crate::target::merge_target_labels`]),
//! so `by (instance)` works on replayed data; in directory replay the target can also ask for
//! the synthetic series a scraper writes per scrape (`up` = 1, `scrape_duration_seconds` = 0
//! because a file does not record how long its scrape took, `scrape_samples_scraped` = the
//! samples in the file), at the scrape time, and `honor_timestamps: false` makes every sample
//! take its scrape's time. A file named [`TARGET_FILE_NAME`] inside a scrape directory is not
//! a scrape (it describes the target; the CLI reads it).
//!
//! Format detection (unless [`ReplayOptions::format`] is set): the `.om` extension, or a file
//! whose last line is `# EOF`, is OpenMetrics; anything else is the Prometheus format.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::hash::{BuildHasherDefault, Hasher};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use promlite_model::{Labels, MemStore, Sample, Timestamp, STALE_NAN};
use xxhash_rust::xxh3::{xxh3_64, Xxh3DefaultBuilder};

use crate::error::{Error, ParseError, Result};
use crate::metadata::{FamilyMetadata, MetadataTracker};
use crate::parse::{check_utf8, Format, Parser, ParserState};
use crate::target::{merge_target_labels, report_labels};

mod parallel;

/// A file of this name inside a scrape directory describes the target (its labels) and is
/// skipped by directory replay.
pub const TARGET_FILE_NAME: &str = "target.yml";

/// The scrape target a replay attributes its samples to, as a scraper would.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayTarget {
    /// Labels attached to every series (typically `job` and `instance`).
    pub labels: Labels,
    /// Prometheus's `honor_labels`: scraped labels win over target labels instead of being
    /// renamed to `exported_<name>`.
    pub honor_labels: bool,
    /// Prometheus's `honor_timestamps` (default true): keep explicit sample timestamps. When
    /// false, directory replay gives every sample its scrape's time (single-file replay needs
    /// the timestamps and ignores this).
    pub honor_timestamps: bool,
    /// Directory replay also writes `up`, `scrape_duration_seconds` and
    /// `scrape_samples_scraped` for every scrape.
    pub scrape_series: bool,
}

impl Default for ReplayTarget {
    fn default() -> Self {
        ReplayTarget {
            labels: Labels::empty(),
            honor_labels: false,
            honor_timestamps: true,
            scrape_series: false,
        }
    }
}

/// A series as replay identifies it. Replay builds the [`Labels`] once per distinct series
/// (keyed by the series text as written), so a sink can cache its own series reference by
/// [`ReplaySeries::id`] (dense, first-seen order; index a `Vec` with it) or by `hash`.
#[derive(Debug, Clone)]
pub struct ReplaySeries {
    /// Dense id, unique per distinct label set within one replay call, assigned in order of
    /// first appearance starting at 0.
    pub id: u32,
    /// [`Labels::stable_hash`] of `labels`.
    pub hash: u64,
    /// The series' labels (sorted, `__name__` included).
    pub labels: Labels,
}

/// Receives replayed samples. The storage facade implements this.
pub trait SampleSink {
    /// The sink's error, reported as [`Error::Sink`].
    type Error: std::error::Error + Send + Sync + 'static;

    /// Appends one sample (or a staleness marker, `v` = [`STALE_NAN`]).
    fn append(&mut self, series: &ReplaySeries, t: Timestamp, v: f64) -> Result<(), Self::Error>;

    /// Ends a batch: called after each scrape file in directory replay, after each chunk in
    /// single-file replay, and before returning an error so accepted samples are kept.
    fn commit(&mut self) -> Result<(), Self::Error>;

    /// A metadata line (`# HELP`, `# TYPE`, `# UNIT`) changed what is known about the family
    /// `name`; `metadata` is its description after the line (see [`crate::metadata`]). Called
    /// before the samples that follow the line. Ignored unless a sink keeps metadata.
    fn metadata(&mut self, name: &str, metadata: &FamilyMetadata) -> Result<(), Self::Error> {
        let _ = (name, metadata);
        Ok(())
    }
}

/// A sink that collects everything in memory (tests, small tools).
#[derive(Debug, Default, Clone)]
pub struct CollectSink {
    /// Every appended sample in order.
    pub samples: Vec<(Labels, Timestamp, f64)>,
    /// Number of commits.
    pub commits: usize,
}

impl SampleSink for CollectSink {
    type Error = std::convert::Infallible;

    fn append(&mut self, series: &ReplaySeries, t: Timestamp, v: f64) -> Result<(), Self::Error> {
        self.samples.push((series.labels.clone(), t, v));
        Ok(())
    }

    fn commit(&mut self) -> Result<(), Self::Error> {
        self.commits += 1;
        Ok(())
    }
}

impl SampleSink for MemStore {
    type Error = std::convert::Infallible;

    fn append(&mut self, series: &ReplaySeries, t: Timestamp, v: f64) -> Result<(), Self::Error> {
        self.add(series.labels.clone(), Sample::new(t, v));
        Ok(())
    }

    fn commit(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// Where directory replay takes each scrape's time from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScrapeTimes {
    /// The file name's stem is the scrape time in unix milliseconds (`1700000000000.prom`);
    /// files are replayed in time order and every file must be named so.
    FileNames,
    /// Files are replayed in name order; the i-th (0-based) is scraped at
    /// `start_ms + i * interval_ms`.
    StartInterval {
        /// Time of the first scrape, unix milliseconds.
        start_ms: Timestamp,
        /// Time between scrapes in milliseconds; must be positive.
        interval_ms: i64,
    },
}

/// Replay settings.
pub struct ReplayOptions<'p> {
    /// Force a format instead of detecting it per file.
    pub format: Option<Format>,
    /// Skip and count malformed lines instead of stopping at the first one.
    pub lenient: bool,
    /// How many skipped-line positions to keep in [`ReplayStats::errors`].
    pub max_reported_errors: usize,
    /// Read size; chunks are cut at the last newline. At least 4 KiB is used.
    pub chunk_size: usize,
    /// Called after every read with the total number of bytes read so far.
    pub progress: Option<Box<dyn FnMut(u64) + 'p>>,
    /// The scrape target to attribute samples to (labels, synthetic series); `None` replays
    /// the series exactly as written.
    pub target: Option<ReplayTarget>,
    /// Parsing threads of [`replay_file_parallel`] (1: parse on the calling thread).
    pub workers: usize,
    /// Size of the byte ranges [`replay_file_parallel`] hands to its workers (at least 4 KiB).
    pub range_size: usize,
}

impl Default for ReplayOptions<'_> {
    fn default() -> Self {
        Self {
            format: None,
            lenient: false,
            max_reported_errors: 10,
            chunk_size: 1 << 20,
            progress: None,
            target: None,
            workers: 1,
            range_size: 4 << 20,
        }
    }
}

impl std::fmt::Debug for ReplayOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplayOptions")
            .field("format", &self.format)
            .field("lenient", &self.lenient)
            .field("max_reported_errors", &self.max_reported_errors)
            .field("chunk_size", &self.chunk_size)
            .field("progress", &self.progress.is_some())
            .field("target", &self.target)
            .field("workers", &self.workers)
            .field("range_size", &self.range_size)
            .finish()
    }
}

/// A line skipped in lenient mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedLine {
    /// The file.
    pub path: PathBuf,
    /// Where and why.
    pub error: ParseError,
}

impl std::fmt::Display for SkippedLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.path.display(),
            self.error.line,
            self.error.column,
            self.error.message
        )
    }
}

/// What a replay did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayStats {
    /// Files read.
    pub files: u64,
    /// Lines read (all kinds, including skipped ones).
    pub lines: u64,
    /// Bytes read.
    pub bytes: u64,
    /// Samples appended (staleness markers not included).
    pub samples: u64,
    /// Staleness markers appended.
    pub stale_markers: u64,
    /// Synthetic scrape series samples appended (`up`, `scrape_duration_seconds`,
    /// `scrape_samples_scraped`; see [`ReplayTarget::scrape_series`]).
    pub scrape_series_samples: u64,
    /// Distinct series seen.
    pub series: u64,
    /// Samples dropped because their series already had a sample in the same scrape.
    pub duplicates: u64,
    /// Malformed lines skipped (lenient mode).
    pub skipped_lines: u64,
    /// Skipped lines by reason: the error message without its specifics (the quoted name or
    /// text it found), see [`reason`].
    pub skipped_by_reason: BTreeMap<String, u64>,
    /// The first [`ReplayOptions::max_reported_errors`] skipped lines.
    pub errors: Vec<SkippedLine>,
    /// Metadata lines (`# HELP`/`# TYPE`/`# UNIT`) that changed a family's description and
    /// were passed to [`SampleSink::metadata`].
    pub metadata_updates: u64,
    /// Stored text with an invalid escape (e.g. `\q`, kept verbatim as Prometheus keeps it):
    /// counted once per distinct series text and once per HELP line.
    pub escape_warnings: u64,
    /// The first [`ReplayOptions::max_reported_errors`] of those warnings, positioned.
    pub warnings: Vec<SkippedLine>,
}

/// The reason a line was skipped, for counting by kind: `message` with its specifics taken out,
/// so `expected '=' after label name "job"` counts as `expected '=' after label name "…"`:
/// quoted text becomes `"…"` (unless it is a `#` keyword such as `"# EOF"`), and anything from
/// a ` (`, `: ` or `, found` on is dropped.
pub fn reason(message: &str) -> String {
    let cut = [" (", ": ", ", found"]
        .iter()
        .filter_map(|m| message.find(m))
        .min()
        .unwrap_or(message.len());
    let head = message.get(..cut).unwrap_or(message).trim_end();
    let mut out = String::with_capacity(head.len());
    let mut parts = head.split('"');
    if let Some(first) = parts.next() {
        out.push_str(first);
    }
    // Odd parts are quoted (an unbalanced quote leaves the tail as it is).
    let rest: Vec<&str> = parts.collect();
    let mut i = 0;
    while i < rest.len() {
        let quoted = rest.get(i).copied().unwrap_or_default();
        match rest.get(i + 1) {
            Some(after) => {
                out.push('"');
                out.push_str(if quoted.starts_with('#') {
                    quoted
                } else {
                    "…"
                });
                out.push('"');
                out.push_str(after);
                i += 2;
            }
            None => {
                out.push('"');
                out.push_str(quoted);
                i += 1;
            }
        }
    }
    if out.is_empty() {
        message.to_string()
    } else {
        out
    }
}

/// A copy of `labels` in an allocation of this thread's: the parsed set may live in an
/// allocation of a parse worker's (parallel replay), whose pages one long-lived series would keep
/// from reuse. One packed buffer, so one allocation per new series.
fn own_copy(labels: &Labels) -> Labels {
    Labels::from_sorted_pairs(labels.iter().map(|l| (l.name, l.value)))
}

#[cfg(test)]
mod reason_tests {
    use super::reason;

    #[test]
    fn specifics_are_taken_out() {
        assert_eq!(
            reason("expected '=' after label name \"job\""),
            "expected '=' after label name \"…\""
        );
        assert_eq!(
            reason("unexpected content after \"# EOF\""),
            "unexpected content after \"# EOF\""
        );
        assert_eq!(
            reason("sample has no timestamp (single-file replay needs them)"),
            "sample has no timestamp"
        );
        assert_eq!(reason("invalid value: \"x\""), "invalid value");
    }
}

/// Replays one file whose samples all carry timestamps. A sample without a timestamp is a
/// malformed line for this mode.
pub fn replay_file<S: SampleSink>(
    path: &Path,
    opts: &mut ReplayOptions<'_>,
    sink: &mut S,
) -> Result<ReplayStats> {
    let mut replayer = Replayer::new(sink, opts.target.clone());
    let format = detect_format(path, opts.format)?;
    let file = File::open(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    replayer.read_stream(path, file, format, None, opts)?;
    replayer.finish()
}

/// Replays one timestamped file as [`replay_file`] does, with [`ReplayOptions::workers`]
/// threads parsing byte ranges of [`ReplayOptions::range_size`] while the calling thread
/// feeds the sink in file order: the sink sees the same calls (samples, metadata, series ids,
/// the prefix before a bad line), and the statistics and errors are the same, except that
/// [`SampleSink::commit`] is called once per range rather than per read. With one worker
/// (or on a platform without positioned reads) this is [`replay_file`].
pub fn replay_file_parallel<S: SampleSink>(
    path: &Path,
    opts: &mut ReplayOptions<'_>,
    sink: &mut S,
) -> Result<ReplayStats> {
    if opts.workers <= 1 || !cfg!(unix) {
        return replay_file(path, opts, sink);
    }
    let format = detect_format(path, opts.format)?;
    let (workers, range_size) = (opts.workers, opts.range_size);
    parallel::replay_file_parallel(path, format, workers, range_size, opts, sink)
}

/// Replays a stream (e.g. stdin) of timestamped samples; `name` labels error messages.
pub fn replay_reader<S: SampleSink>(
    name: &Path,
    reader: impl Read,
    format: Format,
    opts: &mut ReplayOptions<'_>,
    sink: &mut S,
) -> Result<ReplayStats> {
    let mut replayer = Replayer::new(sink, opts.target.clone());
    replayer.read_stream(name, reader, format, None, opts)?;
    replayer.finish()
}

/// Replays a directory of scrape files (see the module docs for the semantics). Hidden files
/// (starting with `.`) and subdirectories are ignored.
pub fn replay_dir<S: SampleSink>(
    dir: &Path,
    times: ScrapeTimes,
    opts: &mut ReplayOptions<'_>,
    sink: &mut S,
) -> Result<ReplayStats> {
    let scrapes = list_scrapes(dir, times)?;
    let mut replayer = Replayer::new(sink, opts.target.clone());
    for (path, t) in scrapes {
        let format = detect_format(&path, opts.format)?;
        let file = File::open(&path).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        replayer.read_stream(&path, file, format, Some(t), opts)?;
        replayer.end_scrape(t)?;
    }
    replayer.finish()
}

/// The scrape files of `dir` with their scrape times, in replay order.
fn list_scrapes(dir: &Path, times: ScrapeTimes) -> Result<Vec<(PathBuf, Timestamp)>> {
    let io_err = |source| Error::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io_err)? {
        let entry = entry.map_err(io_err)?;
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.')
            || name == TARGET_FILE_NAME
            || entry.file_type().map_err(io_err)?.is_dir()
        {
            continue;
        }
        files.push(entry.path());
    }
    match times {
        ScrapeTimes::FileNames => {
            let mut timed = Vec::with_capacity(files.len());
            for path in files {
                let stem = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .and_then(|n| n.split('.').next())
                    .unwrap_or("");
                let Ok(t) = stem.parse::<i64>() else {
                    return Err(Error::Input {
                        path,
                        message: "file name is not a unix-millisecond timestamp (e.g. 1700000000000.prom)".into(),
                    });
                };
                timed.push((path, t));
            }
            timed.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
            if let Some(w) = timed
                .windows(2)
                .find(|w| w.first().map(|x| x.1) == w.get(1).map(|x| x.1))
            {
                let path = w.get(1).map(|x| x.0.clone()).unwrap_or_default();
                return Err(Error::Input {
                    path,
                    message: "two scrape files have the same timestamp".into(),
                });
            }
            Ok(timed)
        }
        ScrapeTimes::StartInterval {
            start_ms,
            interval_ms,
        } => {
            if interval_ms <= 0 {
                return Err(Error::Input {
                    path: dir.to_path_buf(),
                    message: "scrape interval must be positive".into(),
                });
            }
            files.sort();
            let mut timed = Vec::with_capacity(files.len());
            for (i, path) in files.into_iter().enumerate() {
                let t = i64::try_from(i)
                    .ok()
                    .and_then(|i| i.checked_mul(interval_ms))
                    .and_then(|offset| start_ms.checked_add(offset))
                    .ok_or_else(|| Error::Input {
                        path: path.clone(),
                        message: "scrape time overflows the timestamp range".into(),
                    })?;
                timed.push((path, t));
            }
            Ok(timed)
        }
    }
}

/// The format of `path`: forced, `.om`, or sniffed from a trailing `# EOF` line.
fn detect_format(path: &Path, forced: Option<Format>) -> Result<Format> {
    if let Some(f) = forced {
        return Ok(f);
    }
    if path.extension().is_some_and(|e| e == "om") {
        return Ok(Format::OpenMetrics);
    }
    let io_err = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::open(path).map_err(io_err)?;
    let len = file.metadata().map_err(io_err)?.len();
    let tail_len = len.min(64);
    file.seek(SeekFrom::Start(len - tail_len)).map_err(io_err)?;
    let mut tail = Vec::with_capacity(64);
    file.take(tail_len).read_to_end(&mut tail).map_err(io_err)?;
    let tail = tail.strip_suffix(b"\n").unwrap_or(&tail);
    let last_line = tail.rsplit(|&b| b == b'\n').next().unwrap_or_default();
    Ok(if last_line == b"# EOF" {
        Format::OpenMetrics
    } else {
        Format::Prometheus
    })
}

/// Per-replay state: the series cache, staleness bookkeeping and statistics.
struct Replayer<'s, S> {
    sink: &'s mut S,
    /// One-shot xxh3 of the series text as written → (that text, series id). Building
    /// [`Labels`] (sorting, allocating) happens once per distinct text; later scrapes hash the
    /// text and compare it with the stored one. Texts whose hash is already taken by another
    /// text (a 64-bit collision) live in `by_text_collisions`.
    by_text: HashMap<u64, (Box<str>, u32), BuildHasherDefault<U64Hasher>>,
    by_text_collisions: HashMap<Box<str>, u32, Xxh3DefaultBuilder>,
    /// [`Labels::stable_hash`] → id of the distinct label set (different texts can spell the
    /// same series); a label set whose hash is taken by another one goes to
    /// `by_labels_collisions`.
    by_labels: HashMap<u64, u32, BuildHasherDefault<U64Hasher>>,
    by_labels_collisions: HashMap<Labels, u32, Xxh3DefaultBuilder>,
    series: Vec<ReplaySeries>,
    /// Per series id: 1 + index of the last scrape that appended it without an explicit
    /// timestamp (0 = never).
    last_seen: Vec<u64>,
    /// Ids appended (without explicit timestamp) in the previous and the current scrape.
    previous: Vec<u32>,
    current: Vec<u32>,
    /// 1 + index of the scrape being read.
    scrape: u64,
    /// Samples read in the current scrape (for `scrape_samples_scraped`).
    scrape_samples: u64,
    target: Option<ReplayTarget>,
    stats: ReplayStats,
    /// HELP/TYPE/UNIT seen so far, across the files of a directory (as a scrape cache).
    metadata: MetadataTracker,
    /// A Prometheus-format stream passed a `# EOF` line: what follows is rejected.
    after_eof: bool,
    /// An invalid escape found in a series text seen for the first time.
    escape_warning: Option<ParseError>,
}

impl<'s, S: SampleSink> Replayer<'s, S> {
    fn new(sink: &'s mut S, target: Option<ReplayTarget>) -> Self {
        Self {
            sink,
            by_text: HashMap::default(),
            by_text_collisions: HashMap::default(),
            by_labels: HashMap::default(),
            by_labels_collisions: HashMap::default(),
            series: Vec::new(),
            last_seen: Vec::new(),
            previous: Vec::new(),
            current: Vec::new(),
            scrape: 0,
            scrape_samples: 0,
            target,
            stats: ReplayStats::default(),
            metadata: MetadataTracker::new(),
            after_eof: false,
            escape_warning: None,
        }
    }

    fn finish(self) -> Result<ReplayStats> {
        let mut stats = self.stats;
        stats.series = self.series.len() as u64;
        Ok(stats)
    }

    fn commit(&mut self) -> Result<()> {
        self.sink.commit().map_err(|e| Error::Sink(Box::new(e)))
    }

    /// Reads one stream in line-aligned chunks. `scrape_time` is `Some` in directory replay.
    fn read_stream(
        &mut self,
        path: &Path,
        mut reader: impl Read,
        format: Format,
        scrape_time: Option<Timestamp>,
        opts: &mut ReplayOptions<'_>,
    ) -> Result<()> {
        self.stats.files += 1;
        self.after_eof = false;
        self.scrape += 1;
        self.scrape_samples = 0;
        let io_err = |source| Error::Io {
            path: path.to_path_buf(),
            source,
        };
        let chunk_size = opts.chunk_size.max(4096);
        let mut buf: Vec<u8> = Vec::with_capacity(chunk_size + 1024);
        let mut state = ParserState::new(format);
        let mut at_eof = false;
        while !at_eof {
            // Fill the buffer up to chunk_size (or more if one line is longer than that).
            let start = buf.len();
            // A line longer than the chunk doubles the buffer instead of crawling.
            let want = if start < chunk_size {
                chunk_size
            } else {
                start * 2
            };
            buf.resize(want, 0);
            let mut filled = start;
            while filled < want {
                match reader.read(buf.get_mut(filled..).unwrap_or_default()) {
                    Ok(0) => {
                        at_eof = true;
                        break;
                    }
                    Ok(n) => filled += n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(io_err(e)),
                }
            }
            buf.truncate(filled);
            self.stats.bytes += (filled - start) as u64;
            if let Some(progress) = opts.progress.as_mut() {
                progress(self.stats.bytes);
            }
            // Parse up to the last complete line; keep the tail for the next read.
            let cut = if at_eof {
                buf.len()
            } else {
                memchr::memrchr(b'\n', &buf).map_or(0, |i| i + 1)
            };
            if cut == 0 && !at_eof {
                // One line longer than the buffer: read more before parsing.
                continue;
            }
            let complete = buf.get(..cut).unwrap_or_default();
            state = self.parse_chunk(path, complete, state, at_eof, scrape_time, opts)?;
            buf.drain(..cut);
            if scrape_time.is_none() {
                self.commit()?;
            }
        }
        Ok(())
    }

    /// Parses complete lines in `bytes`, handling invalid UTF-8 line by line.
    fn parse_chunk(
        &mut self,
        path: &Path,
        mut bytes: &[u8],
        mut state: ParserState,
        is_last: bool,
        scrape_time: Option<Timestamp>,
        opts: &mut ReplayOptions<'_>,
    ) -> Result<ParserState> {
        loop {
            match check_utf8(bytes, state.lines()) {
                Ok(text) => return self.parse_text(path, text, state, is_last, scrape_time, opts),
                Err(utf8_error) => {
                    // Parse the valid lines before the bad one, then treat the bad line as
                    // malformed and continue after it.
                    let bad_at = std::str::from_utf8(bytes)
                        .err()
                        .map_or(0, |e| e.valid_up_to());
                    let line_start =
                        memchr::memrchr(b'\n', bytes.get(..bad_at).unwrap_or_default())
                            .map_or(0, |i| i + 1);
                    let good = std::str::from_utf8(bytes.get(..line_start).unwrap_or_default())
                        .unwrap_or_default();
                    state = self.parse_text(path, good, state, false, scrape_time, opts)?;
                    let line_end =
                        memchr::memchr(b'\n', bytes.get(line_start..).unwrap_or_default())
                            .map_or(bytes.len(), |i| line_start + i + 1);
                    self.line_error(path, utf8_error, opts)?;
                    self.stats.lines += 1;
                    state = skip_line(state);
                    bytes = bytes.get(line_end..).unwrap_or_default();
                    if bytes.is_empty() && !is_last {
                        return Ok(state);
                    }
                }
            }
        }
    }

    fn parse_text(
        &mut self,
        path: &Path,
        text: &str,
        state: ParserState,
        is_last: bool,
        scrape_time: Option<Timestamp>,
        opts: &mut ReplayOptions<'_>,
    ) -> Result<ParserState> {
        let lines_before = state.lines();
        let mut parser = Parser::resume(text, state, is_last);
        loop {
            match parser.next_entry() {
                Ok(None) => break,
                Ok(Some(crate::Entry::Sample(sample))) if self.after_eof => {
                    // `# EOF` ends exposition text even where it was not detected as
                    // OpenMetrics (its last line is not `# EOF` because samples follow).
                    let e = ParseError {
                        line: sample.line,
                        column: 1,
                        message: "sample after \"# EOF\" (the end of OpenMetrics input)".into(),
                    };
                    self.line_error(path, e, opts)?;
                }
                Ok(Some(crate::Entry::Sample(sample))) => {
                    let outcome = self.accept(&sample, scrape_time);
                    if let Err(error) = outcome {
                        let e = match error {
                            Rejected::Line(e) => e,
                            Rejected::Fatal(e) => {
                                // Keep what was accepted before (a refused sample is not in
                                // the batch); the sink's own error is the one to report.
                                let _ = self.sink.commit();
                                return Err(e);
                            }
                        };
                        self.line_error(path, e, opts)?;
                    }
                }
                Ok(Some(crate::Entry::Comment(text))) => {
                    if text.trim() == "EOF" {
                        self.after_eof = true;
                    }
                }
                Ok(Some(entry)) => {
                    if let Some((name, meta)) = self.metadata.observe(&entry) {
                        self.sink
                            .metadata(name, meta)
                            .map_err(|e| Error::Sink(Box::new(e)))?;
                        self.stats.metadata_updates += 1;
                    }
                }
                Err(e) => self.line_error(path, e, opts)?,
            }
            if let Some(warning) = parser.take_warning().or_else(|| self.escape_warning.take()) {
                self.warn(path, warning, opts);
            }
        }
        let state = parser.into_state();
        self.stats.lines += state.lines() - lines_before;
        Ok(state)
    }

    /// A malformed line: stop (after committing what was accepted) or count and go on.
    fn line_error(
        &mut self,
        path: &Path,
        error: ParseError,
        opts: &ReplayOptions<'_>,
    ) -> Result<()> {
        if !opts.lenient {
            self.commit()?;
            return Err(Error::File {
                path: path.to_path_buf(),
                error,
            });
        }
        self.stats.skipped_lines += 1;
        *self
            .stats
            .skipped_by_reason
            .entry(reason(&error.message))
            .or_insert(0) += 1;
        if self.stats.errors.len() < opts.max_reported_errors {
            self.stats.errors.push(SkippedLine {
                path: path.to_path_buf(),
                error,
            });
        }
        Ok(())
    }

    /// Records a warning about stored text (an invalid escape).
    fn warn(&mut self, path: &Path, warning: ParseError, opts: &ReplayOptions<'_>) {
        self.stats.escape_warnings += 1;
        if self.stats.warnings.len() < opts.max_reported_errors {
            self.stats.warnings.push(SkippedLine {
                path: path.to_path_buf(),
                error: warning,
            });
        }
    }

    /// Appends one parsed sample, tracking staleness in directory replay.
    fn accept(
        &mut self,
        sample: &crate::SampleEntry<'_, '_>,
        scrape_time: Option<Timestamp>,
    ) -> Result<(), Rejected> {
        let honor_timestamps = self.target.as_ref().is_none_or(|t| t.honor_timestamps);
        let explicit = sample
            .timestamp_ms
            .filter(|_| honor_timestamps || scrape_time.is_none());
        if scrape_time.is_some() {
            self.scrape_samples += 1;
        }
        let (t, tracked) = match (explicit, scrape_time) {
            (Some(t), _) => (t, false),
            (None, Some(t)) => (t, true),
            (None, None) => return Err(Rejected::Line(missing_timestamp(sample.line))),
        };
        let id = self.series_id(sample).map_err(Rejected::Line)?;
        let idx = id as usize;
        if tracked {
            let seen = self
                .last_seen
                .get_mut(idx)
                .ok_or_else(|| Rejected::Fatal(internal("series id out of range")))?;
            if *seen == self.scrape {
                self.stats.duplicates += 1;
                return Ok(());
            }
            *seen = self.scrape;
            self.current.push(id);
        }
        let series = self
            .series
            .get(idx)
            .ok_or_else(|| Rejected::Fatal(internal("series id out of range")))?;
        self.sink
            .append(series, t, sample.value)
            .map_err(|e| Rejected::Fatal(Error::Sink(Box::new(e))))?;
        self.stats.samples += 1;
        Ok(())
    }

    /// The id of the sample's series, building its labels on first sight.
    fn series_id(&mut self, sample: &crate::SampleEntry<'_, '_>) -> Result<u32, ParseError> {
        let text_hash = xxh3_64(sample.series.as_bytes());
        let collided = match self.by_text.get(&text_hash) {
            Some((text, id)) if **text == *sample.series => return Ok(*id),
            Some(_) => match self.by_text_collisions.get(sample.series) {
                Some(&id) => return Ok(id),
                None => true,
            },
            None => false,
        };
        let mut labels = sample.to_labels()?;
        // Checked once per distinct series text, on this slow path only.
        if memchr::memchr(b'\\', sample.series.as_bytes()).is_some() {
            self.escape_warning = sample.invalid_escape();
        }
        if let Some(target) = &self.target {
            labels = merge_target_labels(&labels, &target.labels, target.honor_labels);
        }
        let (id, _) = self.intern(labels).map_err(|message| ParseError {
            line: sample.line,
            column: 1,
            message,
        })?;
        if collided {
            self.by_text_collisions.insert(sample.series.into(), id);
        } else {
            self.by_text.insert(text_hash, (sample.series.into(), id));
        }
        Ok(id)
    }

    /// True if the series text `text` was seen before (its labels built, its escape warned).
    fn text_known(&self, text: &str) -> bool {
        match self.by_text.get(&xxh3_64(text.as_bytes())) {
            Some((known, _)) if **known == *text => true,
            Some(_) => self.by_text_collisions.contains_key(text),
            None => false,
        }
    }

    /// Records that the series text `text` is the series `id` (as [`Self::series_id`] does).
    fn remember_text(&mut self, text: &str, id: u32) {
        let hash = xxh3_64(text.as_bytes());
        match self.by_text.entry(hash) {
            Entry::Occupied(slot) if *slot.get().0 != *text => {
                self.by_text_collisions.insert(text.into(), id);
            }
            Entry::Occupied(_) => {}
            Entry::Vacant(slot) => {
                slot.insert((text.into(), id));
            }
        }
    }

    /// The id of the distinct label set `labels`, registering it on first sight; the flag
    /// says whether it was new.
    fn intern(&mut self, labels: Labels) -> Result<(u32, bool), String> {
        let hash = labels.stable_hash();
        let known = match self.by_labels.get(&hash) {
            Some(&id)
                if self
                    .series
                    .get(id as usize)
                    .is_some_and(|s| s.labels == labels) =>
            {
                Some(id)
            }
            Some(_) => self.by_labels_collisions.get(&labels).copied(),
            None => None,
        };
        let id = match known {
            Some(id) => (id, false),
            None => {
                let id = u32::try_from(self.series.len())
                    .map_err(|_| "more than 2^32 distinct series".to_string())?;
                let labels = own_copy(&labels);
                match self.by_labels.entry(hash) {
                    Entry::Occupied(_) => {
                        self.by_labels_collisions.insert(labels.clone(), id);
                    }
                    Entry::Vacant(slot) => {
                        slot.insert(id);
                    }
                }
                self.series.push(ReplaySeries { id, hash, labels });
                self.last_seen.push(0);
                (id, true)
            }
        };
        Ok(id)
    }

    /// Appends the synthetic scrape series of the scrape at `t` (see [`ReplayTarget`]).
    fn append_scrape_series(&mut self, t: Timestamp) -> Result<()> {
        let Some(target) = self.target.as_ref().filter(|t| t.scrape_series) else {
            return Ok(());
        };
        let values = [
            ("up", 1.0),
            ("scrape_duration_seconds", 0.0),
            ("scrape_samples_scraped", self.scrape_samples as f64),
        ];
        let series: Vec<Labels> = values
            .iter()
            .map(|(name, _)| report_labels(name, &target.labels))
            .collect();
        for (labels, (_, v)) in series.into_iter().zip(values) {
            let (id, _) = self.intern(labels).map_err(|m| internal(&m))?;
            let series = self
                .series
                .get(id as usize)
                .ok_or_else(|| internal("series id out of range"))?;
            self.sink
                .append(series, t, v)
                .map_err(|e| Error::Sink(Box::new(e)))?;
            self.stats.scrape_series_samples += 1;
        }
        Ok(())
    }

    /// Ends a directory scrape at time `t`: staleness markers for series that were in the
    /// previous scrape and not in this one, then commit.
    fn end_scrape(&mut self, t: Timestamp) -> Result<()> {
        for &id in &self.previous {
            let idx = id as usize;
            if self.last_seen.get(idx).copied() == Some(self.scrape) {
                continue;
            }
            let series = self
                .series
                .get(idx)
                .ok_or_else(|| internal("series id out of range"))?;
            self.sink
                .append(series, t, STALE_NAN)
                .map_err(|e| Error::Sink(Box::new(e)))?;
            self.stats.stale_markers += 1;
        }
        self.append_scrape_series(t)?;
        std::mem::swap(&mut self.previous, &mut self.current);
        self.current.clear();
        self.commit()
    }
}

/// Why a sample was not appended.
enum Rejected {
    /// The line is bad (skippable in lenient mode).
    Line(ParseError),
    /// The replay cannot go on (sink failure).
    Fatal(Error),
}

/// The error for a sample without a timestamp in single-file replay.
fn missing_timestamp(line: u64) -> ParseError {
    ParseError {
        line,
        column: 1,
        message: "sample has no timestamp (single-file replay needs timestamped samples; \
                  replay a directory of scrapes to use scrape times)"
            .into(),
    }
}

fn internal(message: &str) -> Error {
    Error::Input {
        path: PathBuf::new(),
        message: format!("internal error: {message}"),
    }
}

/// The state after skipping one line (the invalid-UTF-8 line the parser never saw).
fn skip_line(state: ParserState) -> ParserState {
    state.skip_lines(1)
}

/// A hasher for keys that already are good 64-bit hashes: it passes them through.
#[derive(Default)]
struct U64Hasher(u64);

impl Hasher for U64Hasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used by the maps here; fold anything else in for completeness.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}
