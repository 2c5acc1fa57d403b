//! Parallel parsing for single-file replay ([`super::replay_file_parallel`]): the file is cut
//! into byte ranges at line boundaries, worker threads parse the ranges, and the calling thread
//! joins the results in file order, feeding the sink exactly what sequential replay would.
//!
//! **Cutting.** Range `k` nominally starts at `k * chunk_size`; its real start is the first
//! line start after that offset whose previous line does not begin with `#` (so a family's
//! `# TYPE`/`# HELP`/`# UNIT` lines are never split from each other). Both neighbours compute
//! the same cut from the same bytes.
//!
//! **Parser state across a cut.** A worker parses its range from a fresh [`ParserState`]. The
//! true state at the cut (the previous range's end state) differs only in the current family,
//! its type and flags, `# EOF`, and the line count. Rule: the worker's result is used only
//! where it cannot differ from a parse that started from the true state:
//!
//! * Line numbers are shifted by the lines before the range (errors and warnings carry them).
//! * Samples before the range's first metadata line (the *leading* samples) were parsed without
//!   the family: that changes nothing but the family check (`classify_sample`), which the
//!   joiner runs again for each leading series under the true state. Where that check would
//!   fail (an OpenMetrics bucket without `le` in a mid-range histogram), the range is parsed
//!   again sequentially from the true state.
//! * At the first metadata line the family switches; from a fresh state that is a reset, and
//!   it is one from the true state too unless the true family has the same name. Then (and
//!   whenever the true state has passed `# EOF`) the range is parsed again sequentially.
//! * Family metadata is handed to the joiner's [`MetadataTracker`] in order, series are
//!   interned globally in order of first sample, and invalid-escape warnings of series texts
//!   are counted once per distinct text: all as the sequential reader does.
//!
//! **Memory.** Each worker holds one range's bytes and its parsed samples (about
//! `chunk_size` plus 24 bytes per sample); at most one finished range per worker waits for the
//! joiner, and the labels of a range's series are dropped once the joiner has resolved them to
//! global series.

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

use promlite_model::{Labels, Timestamp};
use xxhash_rust::xxh3::xxh3_64;

use super::{ReplayOptions, ReplayStats, ReplayTarget, Replayer, SampleSink};
use crate::error::{Error, ParseError, Result};
use crate::metadata::MetadataTracker;
use crate::parse::{check_utf8, classify_sample, Format, MetricType, Parser, ParserState};
use crate::target::merge_target_labels;
use crate::Entry;

/// One worker's range of the file.
#[derive(Debug, Clone, Copy)]
struct Range {
    index: usize,
    start: u64,
    end: u64,
    is_last: bool,
}

/// A series as a worker saw it in its range.
struct LocalSeries {
    /// Labels (target labels merged), or the error building them.
    labels: Labels,
    /// The metric name and whether `le`/`quantile` labels are present (for the family check
    /// of leading samples).
    name: Box<str>,
    has_le: bool,
    has_quantile: bool,
    /// The series text, kept only when it holds an invalid escape (its warning is counted
    /// once per distinct text over the whole replay).
    escape: Option<(Box<str>, ParseError)>,
}

/// What happened between samples, in order.
enum Event {
    Help {
        name: String,
        help: String,
    },
    Type {
        name: String,
        metric_type: MetricType,
    },
    Unit {
        name: String,
        unit: String,
    },
    /// A malformed line (line number relative to the range).
    LineError(ParseError),
    /// A warning about a HELP text (relative line).
    Warning(ParseError),
    /// The first sample of a local series with an invalid escape in its text.
    SeriesWarning(u32),
    /// Lines (relative count) after which `# EOF` was seen, for the joiner's bookkeeping.
    Eof,
}

/// A parsed range.
struct Parsed {
    range: Range,
    series: Vec<LocalSeries>,
    /// (local series, t, v).
    samples: Vec<(u32, Timestamp, f64)>,
    /// Events before `samples[pos]`.
    events: Vec<(usize, Event)>,
    /// Samples before the first metadata line that reached the family switch (all of them if
    /// there is none).
    leading: usize,
    /// The family named by that metadata line.
    first_family: Option<String>,
    /// The parser's end state (from a fresh start).
    state: ParserState,
    /// A Prometheus-format `# EOF` comment was seen (what follows is rejected).
    after_eof: bool,
    /// The worker stopped at its first line error (strict mode).
    stopped: bool,
    /// Reading the range failed.
    io_error: Option<std::io::Error>,
}

/// Replays `path` with `workers` parsing threads (see the module docs); the sink is called on
/// the calling thread, in file order.
pub(super) fn replay_file_parallel<S: SampleSink>(
    path: &Path,
    format: Format,
    workers: usize,
    chunk_size: usize,
    opts: &mut ReplayOptions<'_>,
    sink: &mut S,
) -> Result<ReplayStats> {
    let io_err = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(io_err)?;
    let len = file.metadata().map_err(io_err)?.len();
    let chunk = chunk_size.max(4096) as u64;
    let n_ranges = usize::try_from(len.div_ceil(chunk).max(1)).unwrap_or(usize::MAX);
    let workers = workers.clamp(1, n_ranges.max(1));
    let lenient = opts.lenient;
    let target = opts.target.clone();
    let cancel = AtomicBool::new(false);

    let mut joiner = Joiner {
        replayer: Replayer::new(sink, opts.target.clone()),
        state: ParserState::new(format),
        after_eof: false,
        path: path.to_path_buf(),
    };
    joiner.replayer.stats.files += 1;
    joiner.replayer.scrape += 1;

    let outcome = std::thread::scope(|scope| -> Result<()> {
        let mut receivers = Vec::with_capacity(workers);
        for w in 0..workers {
            let (tx, rx) = mpsc::sync_channel::<Parsed>(1);
            receivers.push(rx);
            let file = &file;
            let target = target.as_ref();
            let cancel = &cancel;
            scope.spawn(move || {
                let mut k = w;
                // One buffer per worker, reused: a fresh one per range costs page faults.
                let mut bytes = Vec::new();
                while k < n_ranges && !cancel.load(Ordering::Relaxed) {
                    let parsed = match plan_range(file, k, chunk, len, n_ranges) {
                        Ok(range) => parse_range(file, range, format, target, lenient, &mut bytes),
                        Err(e) => Parsed::failed(k, e),
                    };
                    if tx.send(parsed).is_err() {
                        return;
                    }
                    k += workers;
                }
            });
        }
        let result = (|| {
            for k in 0..n_ranges {
                let rx = receivers
                    .get(k % workers)
                    .ok_or_else(|| super::internal("no worker"))?;
                let parsed = rx
                    .recv()
                    .map_err(|_| super::internal("a parse worker stopped"))?;
                if parsed.range.index != k {
                    return Err(super::internal("ranges joined out of order"));
                }
                joiner.join(&file, parsed, opts)?;
            }
            Ok(())
        })();
        cancel.store(true, Ordering::Relaxed);
        drop(receivers);
        result
    });
    outcome?;
    joiner.replayer.commit()?;
    joiner.replayer.finish()
}

impl Parsed {
    fn failed(index: usize, e: std::io::Error) -> Parsed {
        Parsed {
            range: Range {
                index,
                start: 0,
                end: 0,
                is_last: false,
            },
            series: Vec::new(),
            samples: Vec::new(),
            events: Vec::new(),
            leading: 0,
            first_family: None,
            state: ParserState::default(),
            after_eof: false,
            stopped: true,
            io_error: Some(e),
        }
    }
}

/// The byte range of range `k`.
fn plan_range(file: &File, k: usize, chunk: u64, len: u64, n: usize) -> std::io::Result<Range> {
    let nominal = |k: usize| (k as u64).saturating_mul(chunk);
    let start = if k == 0 {
        0
    } else {
        find_cut(file, nominal(k), len)?
    };
    let is_last = k + 1 >= n;
    let end = if is_last {
        len
    } else {
        find_cut(file, nominal(k + 1), len)?
    };
    Ok(Range {
        index: k,
        start,
        end: end.max(start),
        is_last,
    })
}

/// The first line start after `from` whose previous line lies wholly after `from - 1` and
/// does not begin with `#` (or the file length).
fn find_cut(file: &File, from: u64, len: u64) -> std::io::Result<u64> {
    const WINDOW: usize = 4 << 10;
    let mut buf = vec![0u8; WINDOW];
    let mut at = from;
    // Start of the line before the candidate, once a newline has been passed.
    let mut prev_line_start: Option<u64> = None;
    let mut prev_line_first: Option<u8> = None;
    while at < len {
        let want = usize::try_from((len - at).min(WINDOW as u64)).unwrap_or(WINDOW);
        let window = buf.get_mut(..want).unwrap_or_default();
        file.read_exact_at(window, at)?;
        for (i, &b) in window.iter().enumerate() {
            let pos = at + i as u64;
            if prev_line_start == Some(pos) {
                prev_line_first = Some(b);
            }
            if b == b'\n' {
                let next = pos + 1;
                if prev_line_start.is_some() && prev_line_first.is_some_and(|c| c != b'#') {
                    return Ok(next.min(len));
                }
                // An empty previous line (blank line) does not begin with '#' either.
                if prev_line_start == Some(pos) {
                    return Ok(next.min(len));
                }
                prev_line_start = Some(next);
                prev_line_first = None;
            }
        }
        at += want as u64;
    }
    Ok(len)
}

/// Parses one range from a fresh state (see the module docs).
fn parse_range(
    file: &File,
    range: Range,
    format: Format,
    target: Option<&ReplayTarget>,
    lenient: bool,
    bytes: &mut Vec<u8>,
) -> Parsed {
    let mut out = Parsed {
        range,
        series: Vec::new(),
        samples: Vec::new(),
        events: Vec::new(),
        leading: usize::MAX,
        first_family: None,
        state: ParserState::new(format),
        after_eof: false,
        stopped: false,
        io_error: None,
    };
    let n = usize::try_from(range.end - range.start).unwrap_or(0);
    bytes.resize(n, 0);
    if let Err(e) = file.read_exact_at(bytes, range.start) {
        out.io_error = Some(e);
        out.stopped = true;
        return out;
    }
    let mut worker = Worker {
        out,
        by_text: HashMap::default(),
        last: None,
        target,
        lenient,
    };
    worker.parse_bytes(bytes, range.is_last);
    let mut out = worker.out;
    if out.leading == usize::MAX {
        out.leading = out.samples.len();
    }
    out
}

struct Worker<'t> {
    out: Parsed,
    /// xxh3 of a series text → local ids with that hash (texts compared through `texts`).
    by_text: HashMap<u64, Vec<(Box<str>, u32)>>,
    /// The last series text and its id: consecutive samples of one series skip the hash.
    last: Option<(Box<str>, u32)>,
    target: Option<&'t ReplayTarget>,
    lenient: bool,
}

impl Worker<'_> {
    /// Parses complete lines, handling invalid UTF-8 line by line as [`Replayer`] does.
    fn parse_bytes(&mut self, mut bytes: &[u8], is_last: bool) {
        let mut state = std::mem::take(&mut self.out.state);
        loop {
            if self.out.stopped {
                break;
            }
            match check_utf8(bytes, state.lines()) {
                Ok(text) => {
                    state = self.parse_text(text, state, is_last);
                    break;
                }
                Err(utf8_error) => {
                    let bad_at = std::str::from_utf8(bytes)
                        .err()
                        .map_or(0, |e| e.valid_up_to());
                    let line_start =
                        memchr::memrchr(b'\n', bytes.get(..bad_at).unwrap_or_default())
                            .map_or(0, |i| i + 1);
                    let good = std::str::from_utf8(bytes.get(..line_start).unwrap_or_default())
                        .unwrap_or_default();
                    state = self.parse_text(good, state, false);
                    if self.out.stopped {
                        break;
                    }
                    let line_end =
                        memchr::memchr(b'\n', bytes.get(line_start..).unwrap_or_default())
                            .map_or(bytes.len(), |i| line_start + i + 1);
                    self.line_error(utf8_error);
                    state = state.skip_lines(1);
                    bytes = bytes.get(line_end..).unwrap_or_default();
                    if bytes.is_empty() && !is_last {
                        break;
                    }
                }
            }
        }
        self.out.state = state;
    }

    fn event(&mut self, event: Event) {
        let pos = self.out.samples.len();
        self.out.events.push((pos, event));
    }

    fn line_error(&mut self, error: ParseError) {
        self.event(Event::LineError(error));
        if !self.lenient {
            self.out.stopped = true;
        }
    }

    fn parse_text(&mut self, text: &str, state: ParserState, is_last: bool) -> ParserState {
        let mut parser = Parser::resume(text, state, is_last);
        loop {
            if self.out.stopped {
                break;
            }
            let before = parser.state().switches();
            let entry = parser.next_entry();
            match entry {
                Ok(None) => break,
                Ok(Some(Entry::Sample(sample))) if self.out.after_eof => {
                    let e = ParseError {
                        line: sample.line,
                        column: 1,
                        message: "sample after \"# EOF\" (the end of OpenMetrics input)".into(),
                    };
                    self.line_error(e);
                }
                Ok(Some(Entry::Sample(sample))) => {
                    let Some(t) = sample.timestamp_ms else {
                        let e = super::missing_timestamp(sample.line);
                        self.line_error(e);
                        continue;
                    };
                    match self.series_id(&sample) {
                        Ok((id, new_with_escape)) => {
                            if new_with_escape {
                                self.event(Event::SeriesWarning(id));
                            }
                            self.out.samples.push((id, t, sample.value));
                        }
                        Err(e) => self.line_error(e),
                    }
                }
                Ok(Some(Entry::Comment(text))) => {
                    if text.trim() == "EOF" {
                        self.out.after_eof = true;
                    }
                }
                Ok(Some(Entry::Eof)) => self.event(Event::Eof),
                Ok(Some(Entry::Help { name, help })) => self.event(Event::Help {
                    name: name.into_owned(),
                    help: help.into_owned(),
                }),
                Ok(Some(Entry::Type { name, metric_type })) => self.event(Event::Type {
                    name: name.into_owned(),
                    metric_type,
                }),
                Ok(Some(Entry::Unit { name, unit })) => self.event(Event::Unit {
                    name: name.into_owned(),
                    unit: unit.into_owned(),
                }),
                Err(e) => self.line_error(e),
            }
            if before == 0 && parser.state().switches() > 0 && self.out.leading == usize::MAX {
                // The samples before this metadata line are the leading ones.
                self.out.leading = self.out.samples.len();
                self.out.first_family = Some(parser.state().family().to_string());
            }
            if let Some(warning) = parser.take_warning() {
                self.event(Event::Warning(warning));
            }
        }
        parser.into_state()
    }

    /// The local id of the sample's series, building its labels on first sight in this range;
    /// the flag is true for a new series whose text holds an invalid escape.
    fn series_id(
        &mut self,
        sample: &crate::SampleEntry<'_, '_>,
    ) -> Result<(u32, bool), ParseError> {
        if let Some((text, id)) = &self.last {
            if **text == *sample.series {
                return Ok((*id, false));
            }
        }
        let hash = xxh3_64(sample.series.as_bytes());
        if let Some(found) = self.by_text.get(&hash) {
            if let Some((_, id)) = found.iter().find(|(t, _)| **t == *sample.series) {
                let id = *id;
                self.last = Some((sample.series.into(), id));
                return Ok((id, false));
            }
        }
        let mut labels = sample.to_labels()?;
        let escape = if memchr::memchr(b'\\', sample.series.as_bytes()).is_some() {
            sample
                .invalid_escape()
                .map(|w| (Box::<str>::from(sample.series), w))
        } else {
            None
        };
        if let Some(target) = self.target {
            labels = merge_target_labels(&labels, &target.labels, target.honor_labels);
        }
        let id = u32::try_from(self.out.series.len()).map_err(|_| ParseError {
            line: sample.line,
            column: 1,
            message: "more than 2^32 distinct series".into(),
        })?;
        let has = |name: &str| sample.labels.iter().any(|p| p.name == name);
        let has_escape = escape.is_some();
        self.out.series.push(LocalSeries {
            labels,
            name: sample.name.into(),
            has_le: has("le"),
            has_quantile: has("quantile"),
            escape,
        });
        self.by_text
            .entry(hash)
            .or_default()
            .push((sample.series.into(), id));
        self.last = Some((sample.series.into(), id));
        Ok((id, has_escape))
    }
}

/// The calling thread's side: the sequential replayer's state plus the true parser state.
struct Joiner<'s, S> {
    replayer: Replayer<'s, S>,
    /// The parser state at the start of the next range, as a sequential parse would have it.
    state: ParserState,
    /// A Prometheus-format `# EOF` was seen before the next range.
    after_eof: bool,
    path: PathBuf,
}

impl<S: SampleSink> Joiner<'_, S> {
    fn join(&mut self, file: &File, parsed: Parsed, opts: &mut ReplayOptions<'_>) -> Result<()> {
        if let Some(source) = parsed.io_error {
            return Err(Error::Io {
                path: self.path.clone(),
                source,
            });
        }
        let range = parsed.range;
        // Can the worker's result stand (see the module docs)?
        let mut leading_state = self.state.clone();
        let mut usable = !self.state.eof_seen() && !self.after_eof;
        if usable {
            let mut checked = vec![false; parsed.series.len()];
            for &(id, _, _) in parsed.samples.get(..parsed.leading).unwrap_or_default() {
                let Some(slot) = checked.get_mut(id as usize) else {
                    continue;
                };
                if *slot {
                    continue;
                }
                *slot = true;
                let Some(s) = parsed.series.get(id as usize) else {
                    continue;
                };
                let has = |name: &str| match name {
                    "le" => s.has_le,
                    "quantile" => s.has_quantile,
                    _ => false,
                };
                let (_, matched, check) = classify_sample(&leading_state, &s.name, has);
                if check.is_err() {
                    usable = false;
                    break;
                }
                if matched {
                    leading_state.set_family_has_samples();
                }
            }
        }
        if usable && parsed.state.switches() > 0 {
            // The first family switch: a reset unless the true family has the same name.
            match &parsed.first_family {
                Some(name) if name != leading_state.family() => {}
                _ => usable = false,
            }
        }
        if !usable {
            return self.reparse(file, range, opts);
        }

        let line_offset = self.state.lines();
        let shift = |mut e: ParseError| {
            e.line += line_offset;
            e
        };
        let mut local_to_global: Vec<Option<u32>> = vec![None; parsed.series.len()];
        let mut events = parsed.events.into_iter().peekable();
        let path = self.path.clone();
        for (i, &(local, t, v)) in parsed.samples.iter().enumerate() {
            while let Some((_, event)) = events.next_if(|(pos, _)| *pos <= i) {
                self.event(&path, event, &parsed.series, &shift, opts)?;
            }
            let gid = match local_to_global.get(local as usize).copied().flatten() {
                Some(g) => g,
                None => {
                    let labels = parsed
                        .series
                        .get(local as usize)
                        .map(|s| s.labels.clone())
                        .ok_or_else(|| super::internal("local series out of range"))?;
                    let (g, _) = self
                        .replayer
                        .intern(labels)
                        .map_err(|m| super::internal(&m))?;
                    if let Some(slot) = local_to_global.get_mut(local as usize) {
                        *slot = Some(g);
                    }
                    g
                }
            };
            let series = self
                .replayer
                .series
                .get(gid as usize)
                .ok_or_else(|| super::internal("series id out of range"))?;
            if let Err(e) = self.replayer.sink.append(series, t, v) {
                // As the sequential reader: keep what was accepted, report the sink's error.
                let _ = self.replayer.sink.commit();
                return Err(Error::Sink(Box::new(e)));
            }
            self.replayer.stats.samples += 1;
        }
        for (_, event) in events {
            self.event(&path, event, &parsed.series, &shift, opts)?;
        }
        if parsed.stopped {
            // Strict mode stopped at an error that the events above reported; not reached.
            return Err(super::internal("a parse worker stopped without an error"));
        }
        // The state after this range.
        let mut next = leading_state;
        if parsed.state.switches() > 0 {
            next.continue_with(&parsed.state);
        } else {
            next.advance_by(&parsed.state);
        }
        self.state = next;
        self.after_eof |= parsed.after_eof;
        self.replayer.stats.lines += parsed.state.lines();
        self.replayer.stats.bytes += range.end - range.start;
        if let Some(progress) = opts.progress.as_mut() {
            progress(self.replayer.stats.bytes);
        }
        self.replayer.commit()
    }

    fn event(
        &mut self,
        path: &Path,
        event: Event,
        series: &[LocalSeries],
        shift: &impl Fn(ParseError) -> ParseError,
        opts: &mut ReplayOptions<'_>,
    ) -> Result<()> {
        let entry = match &event {
            Event::Help { name, help } => Some(Entry::Help {
                name: name.as_str().into(),
                help: help.as_str().into(),
            }),
            Event::Type { name, metric_type } => Some(Entry::Type {
                name: name.as_str().into(),
                metric_type: *metric_type,
            }),
            Event::Unit { name, unit } => Some(Entry::Unit {
                name: name.as_str().into(),
                unit: unit.as_str().into(),
            }),
            _ => None,
        };
        if let Some(entry) = entry {
            observe(
                &mut self.replayer.metadata,
                &entry,
                &mut *self.replayer.sink,
                &mut self.replayer.stats,
            )?;
            return Ok(());
        }
        match event {
            Event::LineError(e) => self.replayer.line_error(path, shift(e), opts),
            Event::Warning(w) => {
                self.replayer.warn(path, shift(w), opts);
                Ok(())
            }
            Event::SeriesWarning(local) => {
                // Warned once per distinct text, as the sequential reader's text cache does;
                // the text goes into that cache, so a range parsed again sequentially agrees.
                let Some(s) = series.get(local as usize) else {
                    return Ok(());
                };
                if let Some((text, warning)) = &s.escape {
                    if !self.replayer.text_known(text) {
                        let (id, _) = self
                            .replayer
                            .intern(s.labels.clone())
                            .map_err(|m| super::internal(&m))?;
                        self.replayer.remember_text(text, id);
                        self.replayer.warn(path, shift(warning.clone()), opts);
                    }
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Parses a range sequentially from the true state (the cases the module docs list).
    fn reparse(&mut self, file: &File, range: Range, opts: &mut ReplayOptions<'_>) -> Result<()> {
        let n = usize::try_from(range.end - range.start).unwrap_or(0);
        let mut bytes = vec![0u8; n];
        file.read_exact_at(&mut bytes, range.start)
            .map_err(|source| Error::Io {
                path: self.path.clone(),
                source,
            })?;
        self.replayer.after_eof = self.after_eof;
        let state = std::mem::take(&mut self.state);
        let path = self.path.clone();
        self.state = self
            .replayer
            .parse_chunk(&path, &bytes, state, range.is_last, None, opts)?;
        self.after_eof = self.replayer.after_eof;
        self.replayer.stats.bytes += range.end - range.start;
        if let Some(progress) = opts.progress.as_mut() {
            progress(self.replayer.stats.bytes);
        }
        self.replayer.commit()
    }
}

/// Hands a metadata line to the tracker and, when it changed what is known, to the sink.
fn observe<S: SampleSink>(
    tracker: &mut MetadataTracker,
    entry: &Entry<'_, '_>,
    sink: &mut S,
    stats: &mut ReplayStats,
) -> Result<()> {
    if let Some((name, meta)) = tracker.observe(entry) {
        sink.metadata(name, meta)
            .map_err(|e| Error::Sink(Box::new(e)))?;
        stats.metadata_updates += 1;
    }
    Ok(())
}
