//! The streaming, zero-copy exposition parser: [`Parser`] yields one [`Entry`] per line.
//!
//! Grammar accepted (both formats unless noted):
//!
//! ```text
//! sample   = name [blanks] labelset? blanks value [blanks timestamp] [blanks exemplar] EOL
//!          | labelset blanks value ...          (the metric name is a quoted string inside)
//! name     = [a-zA-Z_:][a-zA-Z0-9_:]* | quoted
//! labelset = "{" [blanks] [item {"," item} [","]] [blanks] "}"   (trailing comma allowed)
//! item     = (lname | quoted) [blanks] "=" [blanks] quoted | quoted   (a lone quoted = name)
//! exemplar = "#" blanks labelset blanks value [blanks timestamp]    (checked, then dropped)
//! meta     = "#" blanks ("HELP" | "TYPE" | "UNIT") blanks name [blanks rest] | "# EOF"
//! ```
//!
//! Format differences: timestamps are integer milliseconds in the Prometheus format and float
//! seconds in OpenMetrics (converted to milliseconds). OpenMetrics must end with `# EOF` and
//! nothing may follow it; it rejects blank lines, leading blanks and CR characters (the spec
//! says LF only). The Prometheus format tolerates blank lines, leading blanks, trailing blanks
//! and CRLF line endings (a deliberate leniency: Prometheus itself fails on `\r`, but offline
//! files saved on Windows are common); `# EOF` there is an ordinary comment.
//!
//! Escapes in quoted strings and in OpenMetrics HELP text: `\\`, `\"` and `\n`; Prometheus-format
//! HELP text knows only `\\` and `\n`. Other backslash sequences are kept verbatim, as Prometheus
//! does. Unescaping allocates only when a backslash is present.

use std::borrow::Cow;

use memchr::memchr;
use promlite_model::{Labels, METRIC_NAME};

use crate::error::ParseError;
use crate::lex::{self, blanks, blanks1, fail, failure, Fail, PResult};

/// Which text format the input is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Format {
    /// Prometheus text format 0.0.4 (timestamps in integer milliseconds).
    #[default]
    Prometheus,
    /// OpenMetrics 1.0 text (timestamps in float seconds, mandatory `# EOF`).
    OpenMetrics,
}

/// The type a `# TYPE` line declares for a metric family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum MetricType {
    /// `counter`.
    Counter,
    /// `gauge`.
    Gauge,
    /// `histogram` (classic buckets: `_bucket{le=..}`, `_sum`, `_count`).
    Histogram,
    /// `gaugehistogram` (OpenMetrics: `_bucket`, `_gsum`, `_gcount`).
    GaugeHistogram,
    /// `summary` (`{quantile=..}`, `_sum`, `_count`).
    Summary,
    /// `info` (OpenMetrics: `_info`).
    Info,
    /// `stateset` (OpenMetrics).
    StateSet,
    /// `untyped` (Prometheus) or `unknown` (OpenMetrics), and samples without a `# TYPE`.
    #[default]
    Unknown,
}

impl MetricType {
    /// The keyword as OpenMetrics writes it (`untyped` is written `unknown`).
    pub fn as_str(self) -> &'static str {
        match self {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Histogram => "histogram",
            MetricType::GaugeHistogram => "gaugehistogram",
            MetricType::Summary => "summary",
            MetricType::Info => "info",
            MetricType::StateSet => "stateset",
            MetricType::Unknown => "unknown",
        }
    }

    /// Parses a `# TYPE` keyword as the given format allows it.
    pub fn from_keyword(word: &str, format: Format) -> Option<Self> {
        let t = match word {
            "counter" => MetricType::Counter,
            "gauge" => MetricType::Gauge,
            "histogram" => MetricType::Histogram,
            "summary" => MetricType::Summary,
            "untyped" if format == Format::Prometheus => MetricType::Unknown,
            "unknown" if format == Format::OpenMetrics => MetricType::Unknown,
            "gaugehistogram" if format == Format::OpenMetrics => MetricType::GaugeHistogram,
            "info" if format == Format::OpenMetrics => MetricType::Info,
            "stateset" if format == Format::OpenMetrics => MetricType::StateSet,
            _ => return None,
        };
        Some(t)
    }

    /// Sample-name suffixes that belong to a family of this type (besides the bare name).
    pub fn suffixes(self) -> &'static [&'static str] {
        match self {
            MetricType::Counter => &["_total", "_created"],
            MetricType::Histogram => &["_bucket", "_sum", "_count", "_created"],
            MetricType::GaugeHistogram => &["_bucket", "_gsum", "_gcount"],
            MetricType::Summary => &["_sum", "_count", "_created"],
            MetricType::Info => &["_info"],
            MetricType::Gauge | MetricType::StateSet | MetricType::Unknown => &[],
        }
    }
}

impl std::fmt::Display for MetricType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One label as written: name and unescaped value, borrowed from the input unless unescaping
/// was needed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelPair<'a> {
    /// The label name (unquoted).
    pub name: Cow<'a, str>,
    /// The label value (unescaped); may be empty.
    pub value: Cow<'a, str>,
    /// Byte offset of the name from the start of [`SampleEntry::series`], for error positions.
    pub offset: usize,
}

/// A sample line. Borrows the parser (`'p`) for the reused label buffer and the input (`'a`).
#[derive(Debug, Clone, PartialEq)]
pub struct SampleEntry<'p, 'a> {
    /// The metric name (unquoted, unescaped).
    pub name: &'p str,
    /// The labels in written order; may contain empty values. Duplicates are not checked here
    /// (see [`SampleEntry::to_labels`]).
    pub labels: &'p [LabelPair<'a>],
    /// The value.
    pub value: f64,
    /// The explicit timestamp in milliseconds, if the line has one.
    pub timestamp_ms: Option<i64>,
    /// The series exactly as written (metric name and label set, no value), e.g.
    /// `up{job="node"}`: a cheap cache key for callers that map series text to their own ids.
    pub series: &'a str,
    /// The type of the family the sample belongs to (the last `# TYPE` whose name is this
    /// sample's name or its name minus a suffix the type allows), else [`MetricType::Unknown`].
    pub metric_type: MetricType,
    /// The 1-based line number.
    pub line: u64,
}

impl SampleEntry<'_, '_> {
    /// A warning if the series text holds an invalid escape (e.g. `\q` in a label value),
    /// which the parser keeps verbatim as Prometheus does: positioned at the backslash, taking
    /// the series text to start the line (the usual case; leading blanks shift it).
    pub fn invalid_escape(&self) -> Option<ParseError> {
        let at = lex::first_invalid_escape(self.series, true)?;
        let escape: String = self.series.get(at..)?.chars().take(2).collect();
        Some(ParseError {
            line: self.line,
            column: column_of(self.series, at),
            message: format!(
                "invalid escape {escape:?} in the series text, kept verbatim as Prometheus does"
            ),
        })
    }

    /// The sample's identity as sorted [`Labels`]: the metric name as `__name__`, empty-valued
    /// labels dropped. A label name given twice (including `__name__`) is an error, as in
    /// Prometheus; the check runs before empty values are dropped.
    pub fn to_labels(&self) -> Result<Labels, ParseError> {
        // Borrowed pieces, encoded once into the set's buffer.
        let mut v: Vec<(&str, &str)> = Vec::with_capacity(self.labels.len() + 1);
        v.push((METRIC_NAME, self.name));
        for pair in self.labels {
            v.push((&pair.name, &pair.value));
        }
        v.sort_by(|a, b| a.0.cmp(b.0));
        if let Some(w) = v
            .windows(2)
            .find(|w| w.first().map(|l| l.0) == w.get(1).map(|l| l.0))
        {
            let name = w.first().map(|l| l.0.to_string()).unwrap_or_default();
            // Point at the second occurrence as written.
            let offset = self
                .labels
                .iter()
                .filter(|p| *p.name == *name)
                .nth(usize::from(name != METRIC_NAME));
            let column = offset.map_or(1, |p| column_of(self.series, p.offset));
            return Err(ParseError {
                line: self.line,
                column,
                message: format!("duplicate label name {name:?}"),
            });
        }
        Ok(Labels::from_sorted_pairs(
            v.into_iter().filter(|l| !l.1.is_empty()),
        ))
    }
}

/// 1-based character column of byte `offset` in `line` (clamped to the line).
fn column_of(line: &str, offset: usize) -> u64 {
    let mut end = offset.min(line.len());
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    line.get(..end).map_or(0, |s| s.chars().count() as u64) + 1
}

/// One parsed line.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry<'p, 'a> {
    /// A sample line.
    Sample(SampleEntry<'p, 'a>),
    /// `# HELP name text` (text unescaped).
    Help {
        /// The metric family name.
        name: Cow<'a, str>,
        /// The help text.
        help: Cow<'a, str>,
    },
    /// `# TYPE name type`.
    Type {
        /// The metric family name.
        name: Cow<'a, str>,
        /// The declared type.
        metric_type: MetricType,
    },
    /// `# UNIT name unit`.
    Unit {
        /// The metric family name.
        name: Cow<'a, str>,
        /// The unit (may be empty).
        unit: Cow<'a, str>,
    },
    /// Any other `#` line; the text after `#`.
    Comment(&'a str),
    /// `# EOF` (OpenMetrics only; in the Prometheus format it is a [`Entry::Comment`]).
    Eof,
}

/// Parser state that survives from one chunk of input to the next, so a file can be parsed in
/// chunks that each end at a line boundary (see [`Parser::resume`]).
#[derive(Debug, Clone, Default)]
pub struct ParserState {
    format: Format,
    /// Number of lines consumed so far.
    lines: u64,
    /// The current metric family (from the last metadata line), owned so it outlives a chunk;
    /// the buffer is reused, so switching families does not allocate once it is large enough.
    family: String,
    family_type: MetricType,
    family_has_type: bool,
    family_has_samples: bool,
    eof_seen: bool,
    /// Metadata lines that reached the family switch (whether or not the family changed):
    /// from the first one on, a parse that started from a fresh state is in step with one
    /// that started anywhere else, unless the names agree (see `replay::parallel`).
    switches: u64,
}

impl ParserState {
    /// Fresh state for input in `format`.
    pub fn new(format: Format) -> Self {
        Self {
            format,
            ..Self::default()
        }
    }

    /// The format being parsed.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Lines consumed so far.
    pub fn lines(&self) -> u64 {
        self.lines
    }

    /// The state after `n` more lines that were consumed outside the parser (e.g. a line of
    /// invalid UTF-8 that a reader skipped).
    pub(crate) fn skip_lines(mut self, n: u64) -> Self {
        self.lines += n;
        self
    }

    /// True once an OpenMetrics `# EOF` was seen.
    pub fn eof_seen(&self) -> bool {
        self.eof_seen
    }

    /// The current family's name (empty before the first metadata line).
    pub(crate) fn family(&self) -> &str {
        &self.family
    }

    /// How many metadata lines reached the family switch.
    pub(crate) fn switches(&self) -> u64 {
        self.switches
    }

    /// Marks that a sample of the current family was seen (a parse that began mid-family and
    /// did not know the family, see `replay::parallel`).
    pub(crate) fn set_family_has_samples(&mut self) {
        self.family_has_samples = true;
    }

    /// The state after a chunk that began from a fresh state and never switched family:
    /// `self` with the chunk's lines, `# EOF` and matched samples added.
    pub(crate) fn advance_by(&mut self, chunk: &ParserState) {
        self.lines += chunk.lines;
        self.eof_seen |= chunk.eof_seen;
    }

    /// The state after a chunk parsed from a fresh state that did switch family: the chunk's
    /// own state, with the line count continued from `self`.
    pub(crate) fn continue_with(&mut self, chunk: &ParserState) {
        let lines = self.lines + chunk.lines;
        let switches = self.switches + chunk.switches;
        *self = chunk.clone();
        self.lines = lines;
        self.switches = switches;
    }
}

/// A streaming, line-oriented parser over a `&str`.
///
/// Accepted syntax, in both formats unless noted: `# HELP`/`# TYPE`/`# UNIT` (names may be
/// quoted), every metric type (histogram and summary families come out as their `_bucket`,
/// `_sum`, `_count`, quantile series, tagged with [`SampleEntry::metric_type`]), escapes `\\`,
/// `\"`, `\n` (others kept verbatim, as Prometheus does), `NaN`/`+Inf`/`-Inf`/`Inf`, optional
/// timestamps (integer milliseconds; OpenMetrics: float seconds converted exactly to
/// milliseconds), exemplars (checked, dropped), trailing commas and blanks inside label sets,
/// `foo{}`, and the Prometheus 3 quoted forms `{"my.metric", "a.b"="v"}` and `"my.metric"{a="b"}`.
/// OpenMetrics additionally requires a final `# EOF` with nothing after it, forbids blank lines
/// and CR, and checks that metadata precedes a family's samples, TYPE appears once, histogram
/// buckets carry `le` and summary quantiles carry `quantile`. The Prometheus format tolerates
/// blank lines, leading/trailing blanks and CRLF line endings (Prometheus rejects `\r`; offline
/// files from Windows are common enough to accept).
///
/// Call [`Parser::next_entry`] until it returns `Ok(None)`. Entries borrow the input and the
/// parser's reused label buffer, so the loop does not allocate per line. After an error the
/// parser has already moved to the next line, so a lenient caller may simply continue.
///
/// ```
/// use promlite_expfmt::{Entry, Format, Parser};
///
/// let text = "# TYPE up gauge\nup{job=\"node\",instance=\"a:9100\"} 1 1700000000000\n";
/// let mut parser = Parser::new(text, Format::Prometheus);
/// let mut n = 0;
/// while let Some(entry) = parser.next_entry()? {
///     if let Entry::Sample(s) = entry {
///         assert_eq!(s.name, "up");
///         assert_eq!(s.labels[0].name, "job");
///         assert_eq!(s.timestamp_ms, Some(1_700_000_000_000));
///         n += 1;
///     }
/// }
/// assert_eq!(n, 1);
/// # Ok::<(), promlite_expfmt::ParseError>(())
/// ```
#[derive(Debug)]
pub struct Parser<'a> {
    src: &'a str,
    /// Byte offset of the start of the next line.
    pos: usize,
    /// True if `src` ends the whole input (enables the `# EOF` presence check).
    is_last: bool,
    /// True once the end-of-input checks have run.
    finished: bool,
    state: ParserState,
    name: Cow<'a, str>,
    /// Label buffer reused across lines: the current sample's labels are the first
    /// `n_labels`; later slots hold stale labels whose storage is overwritten in place, which
    /// writes each label straight into the buffer (a `push` of a stack temporary stalled on
    /// store forwarding once per label in profiles).
    labels: Vec<LabelPair<'a>>,
    n_labels: usize,
    /// A warning about the last entry (a HELP text with an invalid escape), for
    /// [`Parser::take_warning`].
    warning: Option<ParseError>,
    /// Byte range in `src` of the last sample line's series text while `name` and `labels`
    /// still hold its parse (see the rule in `sample`).
    prev_series: Option<(usize, usize)>,
    /// Whether a repeated series text may skip its scan (on unless a test turns it off).
    series_fast_path: bool,
}

impl<'a> Parser<'a> {
    /// A parser over the whole input `src`.
    pub fn new(src: &'a str, format: Format) -> Self {
        Self::resume(src, ParserState::new(format), true)
    }

    /// A parser over raw bytes, which must be UTF-8; the error names the first invalid byte.
    pub fn from_bytes(src: &'a [u8], format: Format) -> Result<Self, ParseError> {
        let text = check_utf8(src, 0)?;
        Ok(Self::new(text, format))
    }

    /// Continues parsing with `state` from an earlier chunk. `src` must start at a line
    /// boundary; every chunk but the last should end with `\n`. Pass `is_last` for the final
    /// chunk so OpenMetrics' mandatory `# EOF` is checked.
    pub fn resume(src: &'a str, state: ParserState, is_last: bool) -> Self {
        Self {
            src,
            pos: 0,
            is_last,
            finished: false,
            state,
            name: Cow::Borrowed(""),
            labels: Vec::with_capacity(16),
            n_labels: 0,
            warning: None,
            prev_series: None,
            series_fast_path: true,
        }
    }

    /// Turns off re-using the previous sample's parse for a repeated series text (the plain
    /// path, for equivalence tests).
    #[doc(hidden)]
    pub fn set_series_fast_path(&mut self, on: bool) {
        self.series_fast_path = on;
    }

    /// Takes the warning about the entry returned last, if any: a `# HELP` text with an
    /// invalid escape such as `\q`, which is kept verbatim as Prometheus keeps it. (Invalid
    /// escapes in label values are found with [`SampleEntry::invalid_escape`].)
    pub fn take_warning(&mut self) -> Option<ParseError> {
        self.warning.take()
    }

    /// The state to pass to [`Parser::resume`] for the next chunk.
    pub fn into_state(self) -> ParserState {
        self.state
    }

    /// The format being parsed.
    pub fn format(&self) -> Format {
        self.state.format
    }

    /// The state as of the last entry returned.
    pub(crate) fn state(&self) -> &ParserState {
        &self.state
    }

    /// Byte offset in the input of the next unparsed line.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// The 1-based number of the next line to be parsed.
    pub fn next_line_number(&self) -> u64 {
        self.state.lines + 1
    }

    /// The next entry, `Ok(None)` at the end of the input, or a positioned error (after which
    /// parsing can continue with the following line).
    pub fn next_entry(&mut self) -> Result<Option<Entry<'_, 'a>>, ParseError> {
        let om = self.state.format == Format::OpenMetrics;
        loop {
            let rest = self.src.get(self.pos..).unwrap_or_default();
            let Some(&first) = rest.as_bytes().first() else {
                if self.finished {
                    return Ok(None);
                }
                self.finished = true;
                if om && self.is_last && !self.state.eof_seen {
                    return Err(ParseError {
                        line: self.state.lines + 1,
                        column: 1,
                        message: "expected \"# EOF\" at the end of OpenMetrics input".into(),
                    });
                }
                return Ok(None);
            };
            if self.state.eof_seen {
                // Every line after `# EOF` is an error of its own, so a lenient reader counts
                // each (a sample there is never stored).
                let line_len = memchr(b'\n', rest.as_bytes()).map_or(rest.len(), |i| i + 1);
                self.pos += line_len;
                self.state.lines += 1;
                return Err(ParseError {
                    line: self.state.lines,
                    column: 1,
                    message: "unexpected content after \"# EOF\"".into(),
                });
            }
            match first {
                b'\n' if !om => {
                    self.pos += 1;
                    self.state.lines += 1;
                    continue;
                }
                b'#' => return self.meta_line(rest).map(Some),
                b'\n' => {
                    let line_start = self.pos;
                    return Err(self.error_at(
                        line_start,
                        Fail::new(rest, "blank lines are not allowed in OpenMetrics"),
                    ));
                }
                b' ' | b'\t' | b'\r' if !om => {
                    let after = blanks(rest);
                    match after.as_bytes() {
                        [] | [b'\n', ..] | [b'\r', b'\n', ..] | [b'\r'] => {
                            let skip = memchr(b'\n', rest.as_bytes()).map_or(rest.len(), |i| i + 1);
                            self.pos += skip;
                            self.state.lines += 1;
                            continue;
                        }
                        [b'#', ..] => {
                            self.pos += rest.len() - after.len();
                            return self.meta_line(after).map(Some);
                        }
                        _ => {}
                    }
                }
                _ => {}
            }
            return self.sample_line(rest).map(|s| Some(Entry::Sample(s)));
        }
    }

    /// Builds the error for a failure inside the line starting at byte `line_start`, and moves
    /// past that line so the caller can continue.
    #[cold]
    fn error_at(&mut self, line_start: usize, fail: Fail<'_>) -> ParseError {
        let offset = self.src.len().saturating_sub(fail.at.len()).max(line_start);
        let line_text = self.src.get(line_start..).unwrap_or_default();
        let line_end = memchr(b'\n', line_text.as_bytes()).unwrap_or(line_text.len());
        let line_text = line_text.get(..line_end).unwrap_or_default();
        let column = column_of(line_text, offset - line_start);
        self.state.lines += 1;
        self.pos = (line_start + line_end + 1).min(self.src.len());
        ParseError {
            line: self.state.lines,
            column,
            message: fail.message.into_owned(),
        }
    }

    /// Consumes the end of a line at `rest` (after optional trailing blanks in the Prometheus
    /// format): `\n`, the end of input, or (Prometheus format only) `\r\n`.
    #[inline]
    fn end_of_line(&self, rest: &'a str, what: &'static str) -> PResult<'a, ()> {
        let om = self.state.format == Format::OpenMetrics;
        let rest = if om { rest } else { blanks(rest) };
        match rest.as_bytes() {
            [] => Ok((rest, ())),
            [b'\n', ..] => Ok((rest.get(1..).unwrap_or_default(), ())),
            [b'\r', b'\n', ..] | [b'\r'] if !om => Ok((rest.get(2..).unwrap_or_default(), ())),
            [b'\r', ..] if om => fail(
                rest,
                "carriage return not allowed: OpenMetrics lines end with \\n only",
            ),
            _ => fail(rest, what),
        }
    }

    fn sample_line(&mut self, rest: &'a str) -> Result<SampleEntry<'_, 'a>, ParseError> {
        let line_start = self.pos;
        match self.sample(rest) {
            Ok((after, (value, timestamp_ms, series_start, series_len))) => {
                self.prev_series = Some((line_start + series_start, series_len));
                self.pos = self.src.len() - after.len();
                self.state.lines += 1;
                let line = self.state.lines;
                let metric_type = self.classify()?;
                Ok(SampleEntry {
                    name: &self.name,
                    labels: self.labels.get(..self.n_labels).unwrap_or_default(),
                    value,
                    timestamp_ms,
                    series: rest
                        .get(series_start..series_start + series_len)
                        .unwrap_or_default(),
                    metric_type,
                    line,
                })
            }
            Err(nom::Err::Error(f) | nom::Err::Failure(f)) => Err(self.error_at(line_start, f)),
            Err(nom::Err::Incomplete(_)) => {
                Err(self.error_at(line_start, Fail::new(rest, "incomplete input")))
            }
        }
    }

    /// Parses one sample line into `self.name`/`self.labels`; returns the value, timestamp and
    /// the byte offset and length of the series text in the line.
    #[inline]
    fn sample(&mut self, line: &'a str) -> PResult<'a, (f64, Option<i64>, usize, usize)> {
        let om = self.state.format == Format::OpenMetrics;
        // The Prometheus format tolerates leading blanks.
        let lead = if om { line } else { blanks(line) };
        let series_start = line.len() - lead.len();
        let previous = self
            .prev_series
            .take()
            .and_then(|(start, len)| self.src.get(start..start + len));
        let (mut rest, series_len) = match previous {
            // Rule: the series text is scanned left to right and ends at its label set's
            // closing '}' without looking further, so a line that starts with the previous
            // sample's series text (ending in '}') parses to the same name and labels (same
            // offsets), which are still in `self.name` and `self.labels`: skipping the scan
            // cannot change the entry or an error. Checked by `tests/series_fast_path.rs`.
            Some(prev)
                if self.series_fast_path && prev.ends_with('}') && lead.starts_with(prev) =>
            {
                (lead.get(prev.len()..).unwrap_or_default(), prev.len())
            }
            _ => self.series_text(line, lead, series_start)?,
        };
        let (value_start, ()) = blanks1(rest, "expected space before the sample value")?;
        let (r, tok) = lex::token(value_start)?;
        let Some(value) = lex::parse_value(tok) else {
            return fail(
                value_start,
                format!("expected sample value (a float, NaN, +Inf or -Inf), found {tok:?}"),
            );
        };
        rest = r;
        let mut timestamp_ms = None;
        let after_blanks = blanks(rest);
        if after_blanks.len() != rest.len() {
            match after_blanks.as_bytes().first() {
                None | Some(b'\n' | b'\r' | b'#') => {}
                Some(_) => {
                    let (r, tok) = lex::token(after_blanks)?;
                    let ts = if om {
                        lex::parse_timestamp_secs(tok)
                    } else {
                        lex::parse_timestamp_ms(tok)
                    };
                    match ts {
                        Some(ts) => timestamp_ms = Some(ts),
                        None if om => {
                            return fail(
                                after_blanks,
                                format!("expected timestamp (float seconds), found {tok:?}"),
                            )
                        }
                        None => {
                            return fail(
                                after_blanks,
                                format!("expected timestamp (integer milliseconds), found {tok:?}"),
                            )
                        }
                    }
                    rest = r;
                }
            }
        }
        let after_blanks = blanks(rest);
        if after_blanks.as_bytes().first() == Some(&b'#') && after_blanks.len() != rest.len() {
            rest = self.exemplar(line, after_blanks)?;
        }
        let (rest, ()) = self.end_of_line(rest, "expected end of line after the sample")?;
        Ok((rest, (value, timestamp_ms, series_start, series_len)))
    }

    /// Parses the series text (name and label set) of the sample line `line`, which starts at
    /// `lead` (byte `series_start`): fills `self.name` and `self.labels`; returns the rest of
    /// the line and the series text's length.
    #[inline]
    fn series_text(
        &mut self,
        line: &'a str,
        lead: &'a str,
        series_start: usize,
    ) -> PResult<'a, usize> {
        let om = self.state.format == Format::OpenMetrics;
        self.n_labels = 0;
        self.name = Cow::Borrowed("");
        let mut rest = lead;
        match rest.as_bytes().first() {
            Some(b'{') => {}
            Some(b'"') => {
                let (r, name) = lex::quoted(rest, &|| "the metric name".to_string())?;
                if name.is_empty() {
                    return fail(rest, "the metric name must not be empty");
                }
                self.name = name;
                rest = r;
            }
            _ => {
                let (r, name) = lex::metric_name(rest)?;
                self.name = Cow::Borrowed(name);
                rest = r;
            }
        }
        let before_blanks = rest;
        if !om {
            rest = blanks(rest);
        }
        let series_len;
        if rest.as_bytes().first() == Some(&b'{') {
            // Label offsets are relative to the series start, like `SampleEntry::series`.
            let series = line.get(series_start..).unwrap_or_default();
            rest = self.label_set(series, rest)?;
            series_len = line.len() - rest.len() - series_start;
            if self.name.is_empty() {
                return fail(
                    series,
                    "expected metric name (a quoted string) inside the label set",
                );
            }
        } else {
            rest = before_blanks;
            series_len = line.len() - rest.len() - series_start;
        }
        Ok((rest, series_len))
    }

    /// Parses `{...}` at `rest`, filling `self.labels` (and `self.name` for a lone quoted
    /// string). `line` is the start of the line, for label offsets.
    ///
    /// This is the hot loop (a cAdvisor line is mostly label set), so it walks byte indices
    /// instead of composing nom results: returning large `Result`s through memory per label
    /// cost about half the time in profiles. Quoted names and escaped values take the nom
    /// primitives in [`lex`].
    #[inline]
    fn label_set(&mut self, line: &'a str, rest: &'a str) -> Result<&'a str, nom::Err<Fail<'a>>> {
        let bytes = line.as_bytes();
        // Skip the '{'.
        let mut i = line.len() - rest.len() + 1;
        loop {
            i = lex::skip_blanks(bytes, i);
            let offset = i;
            // Fast path for the common `name="value"`: legacy name, no blanks around '=', no
            // escapes. The borrowed pieces go straight into the buffer instead of through
            // `Cow` temporaries on the stack (a store-forwarding stall per label in profiles).
            if let Some(value_end) = self.fast_label(line, i) {
                i = lex::skip_blanks(bytes, value_end + 1);
                match bytes.get(i) {
                    Some(b',') => i += 1,
                    Some(b'}') => {}
                    _ => {
                        return Err(failure(
                            line.get(i..).unwrap_or_default(),
                            "expected ',' or '}' after label value",
                        ))
                    }
                }
                continue;
            }
            let name: Cow<'a, str> = match bytes.get(i) {
                Some(b'}') => return Ok(line.get(i + 1..).unwrap_or_default()),
                Some(b'"') => {
                    let at = line.get(i..).unwrap_or_default();
                    let (r, name) = lex::quoted(at, &|| "a label name".to_string())?;
                    let after = blanks(r);
                    if matches!(after.as_bytes().first(), Some(b',' | b'}')) {
                        // A lone quoted string is the metric name (Prometheus 3 UTF-8 syntax).
                        if name.is_empty() {
                            return Err(failure(at, "the metric name must not be empty"));
                        }
                        if !self.name.is_empty() {
                            return Err(failure(
                                at,
                                format!("metric name given twice (already {:?})", self.name),
                            ));
                        }
                        self.name = name;
                        let r = self.after_item(after)?;
                        i = line.len() - r.len();
                        continue;
                    }
                    i = line.len() - r.len();
                    name
                }
                Some(&c) if lex::is_label_start(c) => {
                    let end = lex::scan_label_cont(bytes, i + 1);
                    let name = lex::slice(line, i, end)?;
                    i = end;
                    Cow::Borrowed(name)
                }
                _ => {
                    return Err(failure(
                        line.get(i..).unwrap_or_default(),
                        "expected label name or '}'",
                    ))
                }
            };
            i = lex::skip_blanks(bytes, i);
            if bytes.get(i) != Some(&b'=') {
                return Err(failure(
                    line.get(i..).unwrap_or_default(),
                    format!("expected '=' after label name {name:?}"),
                ));
            }
            i = lex::skip_blanks(bytes, i + 1);
            let value = match (bytes.get(i), lex::find_quote_special(bytes, i + 1)) {
                (Some(b'"'), Some(end)) if bytes.get(end) == Some(&b'"') => {
                    let value = lex::slice(line, i + 1, end)?;
                    i = end + 1;
                    Cow::Borrowed(value)
                }
                _ => {
                    let at = line.get(i..).unwrap_or_default();
                    let (r, value) = lex::quoted(at, &|| format!("the value of label {name:?}"))?;
                    i = line.len() - r.len();
                    value
                }
            };
            self.push_label(name, value, offset);
            i = lex::skip_blanks(bytes, i);
            match bytes.get(i) {
                Some(b',') => i += 1,
                Some(b'}') => {}
                _ => {
                    return Err(failure(
                        line.get(i..).unwrap_or_default(),
                        "expected ',' or '}' after label value",
                    ))
                }
            }
        }
    }

    /// Appends a label to the current sample, reusing a slot when one exists.
    #[inline(always)]
    fn push_label(&mut self, name: Cow<'a, str>, value: Cow<'a, str>, offset: usize) {
        match self.labels.get_mut(self.n_labels) {
            Some(slot) => {
                slot.name = name;
                slot.value = value;
                slot.offset = offset;
            }
            None => self.labels.push(LabelPair {
                name,
                value,
                offset,
            }),
        }
        self.n_labels += 1;
    }

    /// Tries `name="value"` at byte `i` of `line` without escapes; on success pushes the
    /// label and returns the index of the closing quote.
    #[inline(always)]
    fn fast_label(&mut self, line: &'a str, i: usize) -> Option<usize> {
        let bytes = line.as_bytes();
        if !lex::is_label_start(*bytes.get(i)?) {
            return None;
        }
        let name_end = lex::scan_label_cont(bytes, i + 1);
        if bytes.get(name_end..name_end + 2)? != b"=\"" {
            return None;
        }
        let value_end = lex::find_quote_special(bytes, name_end + 2)?;
        if *bytes.get(value_end)? != b'"' {
            return None;
        }
        let name = line.get(i..name_end)?;
        let value = line.get(name_end + 2..value_end)?;
        self.push_label(Cow::Borrowed(name), Cow::Borrowed(value), i);
        Some(value_end)
    }

    /// After a label item: consumes `,` (then the loop sees the next item or `}`), or leaves
    /// `}` for the loop to consume.
    #[inline]
    fn after_item(&self, rest: &'a str) -> Result<&'a str, nom::Err<Fail<'a>>> {
        match rest.as_bytes().first() {
            Some(b',') => Ok(rest.get(1..).unwrap_or_default()),
            Some(b'}') => Ok(rest),
            _ => Err(failure(rest, "expected ',' or '}' after label value")),
        }
    }

    /// Parses and drops an exemplar ` # {labels} value [timestamp]` (starting at `#`).
    fn exemplar(&mut self, line: &'a str, rest: &'a str) -> Result<&'a str, nom::Err<Fail<'a>>> {
        let (rest, _) = lex::split(rest, 1)?;
        let (rest, ()) = blanks1(rest, "expected space after '#' starting an exemplar")?;
        if rest.as_bytes().first() != Some(&b'{') {
            return Err(failure(
                rest,
                "expected '{' starting the exemplar's label set",
            ));
        }
        // Parse the exemplar's labels into the shared buffer, then cut them off again so the
        // sample's own labels are what the caller sees.
        let n_labels = self.n_labels;
        let name = std::mem::replace(&mut self.name, Cow::Borrowed("exemplar"));
        let parsed = self.label_set(line, rest);
        self.n_labels = n_labels;
        self.name = name;
        let rest = parsed?;
        let (rest, ()) = blanks1(rest, "expected space before the exemplar value")?;
        let (after_tok, tok) = lex::token(rest)?;
        if lex::parse_value(tok).is_none() {
            return Err(failure(
                rest,
                format!("expected exemplar value, found {tok:?}"),
            ));
        }
        let rest = after_tok;
        let after = blanks(rest);
        if after.len() != rest.len()
            && !matches!(after.as_bytes().first(), None | Some(b'\n' | b'\r'))
        {
            let (r, tok) = lex::token(after)?;
            if lex::parse_timestamp_secs(tok).is_none() {
                return Err(failure(
                    after,
                    format!("expected exemplar timestamp, found {tok:?}"),
                ));
            }
            return Ok(r);
        }
        Ok(rest)
    }

    /// Finds the sample's family type and runs the OpenMetrics per-type checks.
    #[inline]
    fn classify(&mut self) -> Result<MetricType, ParseError> {
        let labels = self.labels.get(..self.n_labels).unwrap_or_default();
        let has_label = |name: &str| labels.iter().any(|p| p.name == name);
        let (t, matched, checked) = classify_sample(&self.state, &self.name, has_label);
        if matched {
            self.state.family_has_samples = true;
        }
        checked.map_err(|message| ParseError {
            // The line was already consumed; the error points at its start.
            line: self.state.lines,
            column: 1,
            message,
        })?;
        Ok(t)
    }

    /// Parses a line starting with `#` at `rest`.
    fn meta_line(&mut self, rest: &'a str) -> Result<Entry<'_, 'a>, ParseError> {
        let line_start = self.src.len() - rest.len();
        let line_len = memchr(b'\n', rest.as_bytes()).unwrap_or(rest.len());
        let mut text = rest.get(..line_len).unwrap_or_default();
        let om = self.state.format == Format::OpenMetrics;
        if let Some(stripped) = text.strip_suffix('\r') {
            if om {
                return Err(self.error_at(
                    line_start,
                    Fail::new(
                        rest.get(stripped.len()..).unwrap_or_default(),
                        "carriage return not allowed: OpenMetrics lines end with \\n only",
                    ),
                ));
            }
            text = stripped;
        }
        match self.meta(text) {
            Ok(entry) => {
                self.pos = (line_start + line_len + 1).min(self.src.len());
                self.state.lines += 1;
                Ok(entry)
            }
            Err(nom::Err::Error(f) | nom::Err::Failure(f)) => {
                // Failures point into `text`, a prefix of `rest`, so offsets line up.
                let at = rest.get(text.len() - f.at.len()..).unwrap_or_default();
                Err(self.error_at(line_start, Fail { at, ..f }))
            }
            Err(nom::Err::Incomplete(_)) => {
                Err(self.error_at(line_start, Fail::new(rest, "incomplete input")))
            }
        }
    }

    fn meta<'p>(&mut self, text: &'a str) -> Result<Entry<'p, 'a>, nom::Err<Fail<'a>>> {
        use nom::branch::alt;
        use nom::bytes::complete::tag;
        use nom::Parser as _;

        let om = self.state.format == Format::OpenMetrics;
        let (after_hash, _) = tag("#").parse(text)?;
        let comment = Entry::Comment(after_hash);
        let after_blank = blanks(after_hash);
        if after_blank.len() == after_hash.len() {
            return Ok(comment);
        }
        let keyword: PResult<'a, &'a str> =
            alt((tag("HELP"), tag("TYPE"), tag("UNIT"), tag("EOF"))).parse(after_blank);
        let Ok((rest, keyword)) = keyword else {
            return Ok(comment);
        };
        if keyword == "EOF" {
            if !rest.is_empty() {
                return Ok(comment);
            }
            if om {
                self.state.eof_seen = true;
                return Ok(Entry::Eof);
            }
            return Ok(comment);
        }
        // A keyword must be followed by a blank to count (`# HELPER` is a comment).
        if !matches!(rest.as_bytes().first(), Some(b' ' | b'\t') | None) {
            return Ok(comment);
        }
        let (rest, ()) = blanks1(rest, "expected metric name").map_err(|_| {
            nom::Err::Failure(Fail::new(
                rest,
                format!("expected metric name after {keyword}"),
            ))
        })?;
        let (rest, name) = match rest.as_bytes().first() {
            Some(b'"') => lex::quoted(rest, &|| format!("the metric name after {keyword}"))?,
            _ => {
                let (r, n) = lex::metric_name(rest).map_err(|_| {
                    nom::Err::Failure(Fail::new(
                        rest,
                        format!("expected metric name after {keyword}"),
                    ))
                })?;
                (r, Cow::Borrowed(n))
            }
        };
        // The text after the name: empty, or blanks and then the rest of the line.
        let tail = if rest.is_empty() {
            rest
        } else {
            let after = blanks(rest);
            if after.len() == rest.len() {
                return Err(failure(
                    rest,
                    format!("expected space after the metric name in {keyword}"),
                ));
            }
            after
        };
        self.switch_family(&name, keyword, text)?;
        match keyword {
            "HELP" => {
                if let Some(at) = lex::first_invalid_escape(tail, om) {
                    let offset = text.len() - tail.len() + at;
                    let escape: String =
                        tail.get(at..).unwrap_or_default().chars().take(2).collect();
                    self.warning = Some(ParseError {
                        line: self.state.lines + 1,
                        column: column_of(text, offset),
                        message: format!(
                            "invalid escape {escape:?} in the HELP text of {name:?}, kept verbatim as Prometheus does"
                        ),
                    });
                }
                let help = unescape_help(tail, om);
                Ok(Entry::Help { name, help })
            }
            "TYPE" => {
                let word = tail.trim_end_matches([' ', '\t']);
                let Some(metric_type) = MetricType::from_keyword(word, self.state.format) else {
                    let allowed = if om {
                        "counter, gauge, histogram, gaugehistogram, summary, info, stateset or unknown"
                    } else {
                        "counter, gauge, histogram, summary or untyped"
                    };
                    return Err(failure(
                        tail,
                        format!("expected metric type ({allowed}), found {word:?}"),
                    ));
                };
                self.state.family_type = metric_type;
                self.state.family_has_type = true;
                Ok(Entry::Type { name, metric_type })
            }
            _ => Ok(Entry::Unit {
                name,
                unit: Cow::Borrowed(tail),
            }),
        }
    }

    /// Makes `name` the current family for a metadata line, enforcing OpenMetrics' rules that
    /// metadata precedes the family's samples and that TYPE is given once.
    fn switch_family(
        &mut self,
        name: &str,
        keyword: &str,
        text: &'a str,
    ) -> Result<(), nom::Err<Fail<'a>>> {
        let st = &mut self.state;
        st.switches += 1;
        if st.family == name {
            if st.format == Format::OpenMetrics {
                if st.family_has_samples {
                    return Err(failure(
                        text,
                        format!("{keyword} for metric family {name:?} after its samples"),
                    ));
                }
                if keyword == "TYPE" && st.family_has_type {
                    return Err(failure(
                        text,
                        format!("second TYPE line for metric family {name:?}"),
                    ));
                }
            }
            return Ok(());
        }
        st.family.clear();
        st.family.push_str(name);
        st.family_type = MetricType::Unknown;
        st.family_has_type = false;
        st.family_has_samples = false;
        Ok(())
    }
}

/// The type of a sample named `name` in the family of `state`, whether it belongs to the
/// family (it then counts as the family's sample even when the check fails), and the
/// OpenMetrics check: a histogram bucket without `le` or a summary quantile without
/// `quantile` is an error (the message). `has_label` says whether the sample has a label of
/// that name (empty value or not).
pub(crate) fn classify_sample(
    state: &ParserState,
    name: &str,
    has_label: impl Fn(&str) -> bool,
) -> (MetricType, bool, Result<(), String>) {
    let Some(suffix) = name.strip_prefix(state.family.as_str()) else {
        return (MetricType::Unknown, false, Ok(()));
    };
    if state.family.is_empty()
        || !(suffix.is_empty() || state.family_type.suffixes().contains(&suffix))
    {
        return (MetricType::Unknown, false, Ok(()));
    }
    let t = state.family_type;
    if state.format == Format::OpenMetrics {
        let needs = match t {
            MetricType::Histogram | MetricType::GaugeHistogram if suffix == "_bucket" => Some("le"),
            MetricType::Summary if suffix.is_empty() => Some("quantile"),
            _ => None,
        };
        if let Some(label) = needs {
            if !has_label(label) {
                return (
                    t,
                    true,
                    Err(format!("{t} sample {name:?} without a {label:?} label")),
                );
            }
        }
    }
    (t, true, Ok(()))
}

/// Unescapes HELP text: `\\` and `\n`, plus `\"` in OpenMetrics; borrowed if no backslash.
fn unescape_help(text: &str, om: bool) -> Cow<'_, str> {
    if memchr(b'\\', text.as_bytes()).is_none() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.clone().next() {
            Some('\\') => {
                out.push('\\');
                chars.next();
            }
            Some('n') => {
                out.push('\n');
                chars.next();
            }
            Some('"') if om => {
                out.push('"');
                chars.next();
            }
            _ => out.push('\\'),
        }
    }
    Cow::Owned(out)
}

/// Validates that `bytes` are UTF-8, reporting the first bad byte's line and column;
/// `first_line` is the number of lines before `bytes` (for chunked input).
pub fn check_utf8(bytes: &[u8], first_line: u64) -> Result<&str, ParseError> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(s),
        Err(e) => {
            let valid = bytes.get(..e.valid_up_to()).unwrap_or_default();
            let n_newlines = memchr::memchr_iter(b'\n', valid).count() as u64;
            let line_start = memchr::memrchr(b'\n', valid).map_or(0, |i| i + 1);
            let prefix = std::str::from_utf8(valid.get(line_start..).unwrap_or_default())
                .unwrap_or_default();
            Err(ParseError {
                line: first_line + n_newlines + 1,
                column: prefix.chars().count() as u64 + 1,
                message: "invalid UTF-8".into(),
            })
        }
    }
}
