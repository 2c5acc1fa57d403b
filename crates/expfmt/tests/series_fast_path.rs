//! The parser's repeated-series shortcut (a line starting with the previous sample's series
//! text re-uses its parse) against the plain path: every entry and every error must be the
//! same, on texts built to trip a prefix check (`up` then `up {a="b"}`, `a{x="1"}` then
//! `a{x="1"}x`, `a{x="1"}` then `a{x="1",y="2"}`, escapes, exemplars, quoted names, bad
//! lines in between) in both formats.

use promlite_expfmt::{Format, Parser};
use proptest::prelude::*;

/// Everything the parser says about `text`, as strings.
fn entries(text: &str, format: Format, fast: bool) -> Vec<String> {
    let mut parser = Parser::new(text, format);
    parser.set_series_fast_path(fast);
    let mut out = Vec::new();
    loop {
        match parser.next_entry() {
            Ok(None) => break,
            Ok(Some(entry)) => out.push(format!("{entry:?}")),
            Err(e) => out.push(format!("error {e:?}")),
        }
        if let Some(w) = parser.take_warning() {
            out.push(format!("warning {w:?}"));
        }
    }
    out
}

const PIECES: &[&str] = &[
    "up",
    "up ",
    "up{a=\"b\"}",
    "up {a=\"b\"}",
    "up{a=\"b\"}x",
    "up{a=\"b\",c=\"d\"}",
    "up{a=\"b\" }",
    "up{a=\"b\\\"}\"}",
    "up{a=\"b\\q\"}",
    "up{a=\"b\",a=\"c\"}",
    "{\"my.metric\",a=\"b\"}",
    "\"my.metric\"{a=\"b\"}",
    "h_bucket{le=\"1\"}",
    "h_bucket{x=\"1\"}",
    "up{}",
    "up{a=\"b\"",
];

const TAILS: &[&str] = &[
    " 1 1700000000",
    " 1",
    " 2 1700000001 # {t=\"x\"} 1",
    "  3",
    " x",
    "1",
    " NaN 1700000002",
    " 4 1700000003.5",
];

fn text_from(choices: &[(usize, usize, u8)], om: bool) -> String {
    let mut text = String::new();
    for &(p, t, extra) in choices {
        match extra % 8 {
            0 => text.push_str("# TYPE h histogram\n"),
            1 => text.push_str("# HELP up help\n"),
            2 => text.push('\n'),
            _ => {}
        }
        text.push_str(PIECES[p % PIECES.len()]);
        text.push_str(TAILS[t % TAILS.len()]);
        text.push('\n');
    }
    if om {
        text.push_str("# EOF\n");
    }
    text
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn shortcut_matches_plain_parse(
        choices in proptest::collection::vec((0usize..64, 0usize..64, any::<u8>()), 1..40),
        om in any::<bool>(),
    ) {
        let text = text_from(&choices, om);
        let format = if om { Format::OpenMetrics } else { Format::Prometheus };
        prop_assert_eq!(entries(&text, format, true), entries(&text, format, false));
    }
}

#[test]
fn repeated_series_lines_parse_the_same() {
    let text =
        "up{a=\"b\"} 1 1\nup{a=\"b\"} 2 2\nup{a=\"b\"}x 3\nup{a=\"b\",c=\"d\"} 4\nup{a=\"b\"} 5\n";
    for format in [Format::Prometheus, Format::OpenMetrics] {
        assert_eq!(entries(text, format, true), entries(text, format, false));
    }
}
