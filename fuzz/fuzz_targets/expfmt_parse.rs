//! Fuzz target: arbitrary bytes through the exposition parser (as Prometheus text and as
//! OpenMetrics) and through streamed replay. No input may panic or loop; every sample that
//! parses must render back to text that parses to the same sample.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use promlite_expfmt::render::write_sample;
use promlite_expfmt::replay::{replay_reader, CollectSink, ReplayOptions};
use promlite_expfmt::{Entry, Format, Parser};

fn same_value(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a.to_bits() == b.to_bits()
}

fn parse_all(data: &[u8], format: Format) {
    let Ok(mut parser) = Parser::from_bytes(data, format) else {
        return;
    };
    // Bound the loop by the input size: every call consumes at least one line (or ends).
    let mut budget = data.len() + 2;
    loop {
        assert!(budget > 0, "parser did not make progress");
        budget -= 1;
        match parser.next_entry() {
            Ok(None) => break,
            Err(_) => {}
            Ok(Some(Entry::Sample(s))) => {
                let _ = s.to_labels();
                let mut text = String::new();
                let pairs = s.labels.iter().map(|p| (&*p.name, &*p.value));
                write_sample(&mut text, s.name, pairs, s.value, s.timestamp_ms, format).unwrap();
                let mut again =
                    Parser::resume(&text, promlite_expfmt::ParserState::new(format), false);
                match again.next_entry() {
                    Ok(Some(Entry::Sample(r))) => {
                        assert_eq!(r.name, s.name, "{text:?}");
                        assert_eq!(r.labels.len(), s.labels.len(), "{text:?}");
                        for (a, b) in r.labels.iter().zip(s.labels) {
                            assert_eq!((&a.name, &a.value), (&b.name, &b.value), "{text:?}");
                        }
                        assert!(same_value(r.value, s.value), "{text:?}");
                        assert_eq!(r.timestamp_ms, s.timestamp_ms, "{text:?}");
                    }
                    other => panic!("rendered sample {text:?} does not parse back: {other:?}"),
                }
            }
            Ok(Some(_)) => {}
        }
    }
}

fuzz_target!(|data: &[u8]| {
    parse_all(data, Format::Prometheus);
    parse_all(data, Format::OpenMetrics);
    for format in [Format::Prometheus, Format::OpenMetrics] {
        let mut opts = ReplayOptions {
            lenient: true,
            chunk_size: 4096,
            ..ReplayOptions::default()
        };
        let mut sink = CollectSink::default();
        let _ = replay_reader(Path::new("fuzz"), data, format, &mut opts, &mut sink);
    }
});
