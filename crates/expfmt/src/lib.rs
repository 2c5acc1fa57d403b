//! Prometheus text format 0.0.4 and OpenMetrics 1.0 parser, writer, and scrape-file replay.
//!
//! * [`Parser`] streams [`Entry`] values out of a `&str` (one per line), borrowing names and
//!   values from the input and reusing one label buffer, so the hot loop does not allocate.
//!   [`SampleEntry::to_labels`] turns a sample into sorted [`promlite_model::Labels`]
//!   (`__name__` added, empty values dropped, duplicate names rejected). Errors are
//!   [`ParseError`]s with a 1-based line and character column; after one, the parser resumes
//!   at the next line, so lenient callers can keep going. [`Parser::resume`] and
//!   [`ParserState`] let a reader parse a stream in line-aligned chunks.
//! * [`render`] writes samples back as exposition text (the inverse of the parser).
//! * [`replay`] feeds scrape files (one timestamped file, or a directory of scrapes) into a
//!   [`replay::SampleSink`], adding staleness markers like a real scraper.
//!
//! The accepted grammar and every deliberate deviation from Prometheus (CRLF tolerated in the
//! Prometheus format, unknown escapes kept verbatim, exemplars checked then dropped) are listed
//! in the `parse` module's source documentation and on [`Parser`].
//!
//! **Architecture invariant:** this crate knows nothing about storage; replay talks to
//! storage only through [`replay::SampleSink`].
//!
//! ```
//! use promlite_expfmt::{Entry, Format, Parser};
//!
//! let text = "# TYPE http_requests_total counter\n\
//!             http_requests_total{code=\"200\",method=\"get\"} 1027 1395066363000\n\
//!             {\"my.metric\", \"label.name\"=\"v\"} 2.5\n";
//! let mut parser = Parser::new(text, Format::Prometheus);
//! let mut series = Vec::new();
//! while let Some(entry) = parser.next_entry()? {
//!     if let Entry::Sample(sample) = entry {
//!         series.push((sample.to_labels()?.to_string(), sample.value, sample.timestamp_ms));
//!     }
//! }
//! assert_eq!(series[0].0, r#"{__name__="http_requests_total", code="200", method="get"}"#);
//! assert_eq!(series[0].2, Some(1395066363000));
//! assert_eq!(series[1].0, r#"{__name__="my.metric", "label.name"="v"}"#);
//! # Ok::<(), promlite_expfmt::ParseError>(())
//! ```
#![warn(missing_docs)]
#![cfg_attr(
    not(test),
    warn(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

mod error;
mod lex;
pub mod metadata;
mod parse;
pub mod render;
pub mod replay;
pub mod target;

pub use error::{BoxError, Error, ParseError, Result};
pub use metadata::{FamilyMetadata, MetadataTracker};
pub use parse::{
    check_utf8, Entry, Format, LabelPair, MetricType, Parser, ParserState, SampleEntry,
};
