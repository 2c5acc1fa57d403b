//! Scalars written as Prometheus writes its configuration back (`/api/v1/status/config`): Go's
//! `gopkg.in/yaml.v2` (v2.4) chooses each string's style, and a reader of promlite's
//! `status/config` should see the same bytes as Prometheus's for the same file.
//!
//! The rules, from the YAML 1.1 emitter that yaml.v2 ports (facts, our own code):
//! - A string that a plain scalar would turn into something else (a YAML 1.1 bool such as
//!   `yes`/`n`/`on`, null, `~`, an integer in any Go base, a float, a sexagesimal `1:20`, a
//!   date) is written double-quoted.
//! - A string with a line feed is written as a literal block (`|`, `|-`, `|+`, with an
//!   indentation indicator when it starts with a space), unless that is not allowed.
//! - Otherwise plain, falling back to single quotes when a plain scalar would be misread
//!   (indicator characters, `: `, ` #`, leading or trailing spaces), and to double quotes when
//!   the string has characters that only double quotes can carry (control characters, tab).
//! - Plain and quoted scalars in block context wrap at a space once the line is past column
//!   80, continuing on the next line indented by the value's indentation.
//!
//! Invariant: whatever this writes reads back (through serde_yaml) as the same string; the
//! property test in this module checks it.

/// The column past which yaml.v2 breaks a long scalar at a space (its `best_width`).
const BEST_WIDTH: usize = 80;

/// Where a scalar is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Place {
    /// A mapping key (a "simple key": one line, never a block scalar, never wrapped).
    Key,
    /// A value in block context; continuation lines are indented by `indent`.
    Block {
        /// Indentation of continuation lines and block scalar content.
        indent: usize,
    },
    /// An item of a flow sequence (`[a, b]`): flow indicators need quotes; no wrapping.
    Flow,
}

/// Appends `value` to `out` in the style yaml.v2 chooses for it at `place`. `out`'s last line is
/// the line the scalar starts on (its length gives the column for wrapping).
pub(crate) fn write_scalar(out: &mut String, value: &str, place: Place) {
    let analysis = Analysis::of(value);
    let in_flow = place == Place::Flow;
    let simple_key = place == Place::Key;
    let requested = if value.contains('\n') {
        Style::Literal
    } else if resolves_to_string(value) {
        Style::Plain
    } else {
        Style::Double
    };
    let mut style = requested;
    if style == Style::Plain {
        let plain_allowed = if in_flow {
            analysis.flow_plain
        } else {
            analysis.block_plain
        };
        if !plain_allowed || value.is_empty() || (simple_key && analysis.multiline) {
            style = Style::Single;
        }
    }
    if style == Style::Single && !analysis.single_quoted {
        style = Style::Double;
    }
    if style == Style::Literal && (!analysis.block || in_flow || simple_key) {
        style = Style::Double;
    }
    let indent = match place {
        Place::Block { indent } => Some(indent),
        Place::Key | Place::Flow => None,
    };
    match style {
        Style::Plain => write_plain(out, value, indent),
        Style::Single => write_single(out, value, indent),
        Style::Double => write_double(out, value, indent),
        Style::Literal => write_literal(out, value, indent.unwrap_or(0)),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Style {
    Plain,
    Single,
    Double,
    Literal,
}

/// What the emitter's scalar analysis finds (`yaml_emitter_analyze_scalar`).
struct Analysis {
    multiline: bool,
    flow_plain: bool,
    block_plain: bool,
    single_quoted: bool,
    block: bool,
}

fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

fn is_blank_or_end(c: Option<char>) -> bool {
    match c {
        None => true,
        Some(c) => c == ' ' || c == '\t' || is_break(c) || c == '\0',
    }
}

/// YAML's printable set, which yaml.v2 (with unicode output on) writes without escaping.
fn is_printable(c: char) -> bool {
    matches!(c as u32,
        0x0A | 0x20..=0x7E | 0x85 | 0xA0..=0xD7FF | 0xE000..=0xFFFD | 0x10000..=0x10FFFF)
        && c != '\u{FEFF}'
}

impl Analysis {
    fn of(value: &str) -> Analysis {
        let mut flow_indicators = false;
        let mut block_indicators = false;
        if value.starts_with("---") || value.starts_with("...") {
            flow_indicators = true;
            block_indicators = true;
        }
        let (mut leading_space, mut leading_break) = (false, false);
        let (mut trailing_space, mut trailing_break) = (false, false);
        let (mut break_space, mut space_break) = (false, false);
        let (mut previous_space, mut previous_break) = (false, false);
        let (mut line_breaks, mut special) = (false, false);
        let mut preceded_by_whitespace = true;
        let chars: Vec<char> = value.chars().collect();
        for (i, &c) in chars.iter().enumerate() {
            let next = chars.get(i + 1).copied();
            let followed_by_whitespace = is_blank_or_end(next);
            let last = i + 1 == chars.len();
            if i == 0 {
                if "#,[]{}&*!|>'\"%@`".contains(c) {
                    flow_indicators = true;
                    block_indicators = true;
                }
                if c == '?' || c == ':' {
                    flow_indicators = true;
                    if followed_by_whitespace {
                        block_indicators = true;
                    }
                }
                if c == '-' && followed_by_whitespace {
                    flow_indicators = true;
                    block_indicators = true;
                }
            } else {
                if ",?[]{}".contains(c) {
                    flow_indicators = true;
                }
                if c == ':' {
                    flow_indicators = true;
                    if followed_by_whitespace {
                        block_indicators = true;
                    }
                }
                if c == '#' && preceded_by_whitespace {
                    flow_indicators = true;
                    block_indicators = true;
                }
            }
            if !is_printable(c) {
                special = true;
            }
            if c == ' ' {
                if i == 0 {
                    leading_space = true;
                }
                if last {
                    trailing_space = true;
                }
                if previous_break {
                    break_space = true;
                }
                previous_space = true;
                previous_break = false;
            } else if is_break(c) {
                line_breaks = true;
                if i == 0 {
                    leading_break = true;
                }
                if last {
                    trailing_break = true;
                }
                if previous_space {
                    space_break = true;
                }
                previous_space = false;
                previous_break = true;
            } else {
                previous_space = false;
                previous_break = false;
            }
            preceded_by_whitespace = is_blank_or_end(Some(c));
        }
        let mut a = Analysis {
            multiline: line_breaks,
            flow_plain: true,
            block_plain: true,
            single_quoted: true,
            block: true,
        };
        if leading_space || leading_break || trailing_space || trailing_break {
            a.flow_plain = false;
            a.block_plain = false;
        }
        if trailing_space {
            a.block = false;
        }
        if break_space {
            a.flow_plain = false;
            a.block_plain = false;
            a.single_quoted = false;
        }
        if space_break || special {
            a.flow_plain = false;
            a.block_plain = false;
            a.single_quoted = false;
            a.block = false;
        }
        if line_breaks {
            a.flow_plain = false;
            a.block_plain = false;
        }
        if flow_indicators {
            a.flow_plain = false;
        }
        if block_indicators {
            a.block_plain = false;
        }
        a
    }
}

/// True when a plain scalar `value` would read back as a string (yaml.v2's `resolve` gives the
/// string tag and the value is not a sexagesimal float).
fn resolves_to_string(value: &str) -> bool {
    const SPECIAL: &[&str] = &[
        "", "~", "y", "Y", "yes", "Yes", "YES", "on", "On", "ON", "n", "N", "no", "No", "NO",
        "off", "Off", "OFF", "true", "True", "TRUE", "false", "False", "FALSE", "null", "Null",
        "NULL", ".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf",
        "-.Inf", "-.INF",
    ];
    if SPECIAL.contains(&value) {
        return false;
    }
    let Some(first) = value.chars().next() else {
        return false;
    };
    match first {
        '0'..='9' | '+' | '-' => {
            if first.is_ascii_digit() && is_timestamp(value) {
                return false;
            }
            let plain: String = value.chars().filter(|&c| c != '_').collect();
            if is_go_int(&plain) || is_yaml_float(&plain) {
                return false;
            }
            !is_base60_float(value)
        }
        '.' => !is_go_parse_float_dot(value),
        _ => true,
    }
}

/// Go's `strconv.ParseInt(s, 0, 64)` or `ParseUint(s, 0, 64)` succeeds.
fn is_go_int(s: &str) -> bool {
    let (negative, body) = match s.as_bytes().first() {
        Some(b'+') => (false, &s[1..]),
        Some(b'-') => (true, &s[1..]),
        _ => (false, s),
    };
    let lower = body.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return false;
    }
    let Ok(magnitude) = u128::from_str_radix(digits, radix) else {
        return false;
    };
    if negative {
        magnitude <= 1u128 << 63
    } else {
        // ParseInt takes up to i64::MAX; ParseUint (no sign allowed) up to u64::MAX.
        magnitude <= u128::from(u64::MAX) && (s.as_bytes()[0] != b'+' || magnitude < 1u128 << 63)
    }
}

/// yaml.v2's float pattern `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`, whose value
/// Go's `ParseFloat` also accepts (not out of range).
fn is_yaml_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'+' | b'-')) {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    };
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            digits(&mut i);
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len() && s.parse::<f64>().is_ok_and(f64::is_finite)
}

/// Go's `ParseFloat` on a string starting with `.` (decimal digits, optional exponent).
fn is_go_parse_float_dot(s: &str) -> bool {
    is_yaml_float(s)
}

/// yaml.v2's `^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`.
fn is_base60_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'+' | b'-')) {
        i += 1;
    }
    if !b.get(i).is_some_and(u8::is_ascii_digit) {
        return false;
    }
    while b.get(i).is_some_and(|c| c.is_ascii_digit() || *c == b'_') {
        i += 1;
    }
    let mut groups = 0;
    while b.get(i) == Some(&b':') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) && i - start < 2 {
            i += 1;
        }
        let group = &b[start..i];
        let ok = match group {
            [d] => d.is_ascii_digit(),
            [a, _] => (b'0'..=b'5').contains(a),
            _ => false,
        };
        if !ok {
            return false;
        }
        groups += 1;
    }
    if groups == 0 {
        return false;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        while b.get(i).is_some_and(|c| c.is_ascii_digit() || *c == b'_') {
            i += 1;
        }
    }
    i == b.len()
}

/// A date (`2006-1-2`), or a date and time as yaml.v2's timestamp formats take them.
fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    let number = |i: &mut usize, max: usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) && *i - start < max {
            *i += 1;
        }
        (*i > start)
            .then(|| s[start..*i].parse::<u32>().ok())
            .flatten()
    };
    let mut i = 0;
    let Some(year) = number(&mut i, 4) else {
        return false;
    };
    if i != 4 || b.get(i) != Some(&b'-') {
        return false;
    }
    i += 1;
    let Some(month) = number(&mut i, 2) else {
        return false;
    };
    if b.get(i) != Some(&b'-') {
        return false;
    }
    i += 1;
    let Some(day) = number(&mut i, 2) else {
        return false;
    };
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    if day == 0 || day > days {
        return false;
    }
    if i == b.len() {
        return true;
    }
    let separator = b[i];
    if !matches!(separator, b'T' | b't' | b' ') {
        return false;
    }
    i += 1;
    let time_part = |i: &mut usize, max: u32| number(i, 2).is_some_and(|v| v <= max);
    if !time_part(&mut i, 23) || b.get(i) != Some(&b':') {
        return false;
    }
    i += 1;
    if !time_part(&mut i, 59) || b.get(i) != Some(&b':') {
        return false;
    }
    i += 1;
    if !time_part(&mut i, 59) {
        return false;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if number(&mut i, 9).is_none() {
            return false;
        }
    }
    if separator == b' ' {
        return i == b.len();
    }
    match b.get(i) {
        Some(b'Z') => i + 1 == b.len(),
        Some(b'+' | b'-') => {
            i += 1;
            if !time_part(&mut i, 23) || b.get(i) != Some(&b':') {
                return false;
            }
            i += 1;
            time_part(&mut i, 59) && i == b.len()
        }
        _ => false,
    }
}

fn column(out: &str) -> usize {
    out.rsplit('\n')
        .next()
        .map_or(0, |line| line.chars().count())
}

fn write_indent(out: &mut String, indent: usize) {
    out.push('\n');
    out.extend(std::iter::repeat_n(' ', indent));
}

fn write_plain(out: &mut String, value: &str, wrap_indent: Option<usize>) {
    let chars: Vec<char> = value.chars().collect();
    let mut col = column(out);
    let mut spaces = false;
    for (i, &c) in chars.iter().enumerate() {
        if c == ' ' {
            let next_is_space = chars.get(i + 1) == Some(&' ');
            match wrap_indent {
                Some(indent) if !spaces && col > BEST_WIDTH && !next_is_space => {
                    write_indent(out, indent);
                    col = indent;
                }
                _ => {
                    out.push(c);
                    col += 1;
                }
            }
            spaces = true;
        } else {
            out.push(c);
            col += 1;
            spaces = false;
        }
    }
}

fn write_single(out: &mut String, value: &str, wrap_indent: Option<usize>) {
    let chars: Vec<char> = value.chars().collect();
    out.push('\'');
    let mut col = column(out);
    let mut spaces = false;
    let mut breaks = false;
    for (i, &c) in chars.iter().enumerate() {
        if c == ' ' {
            let next_is_space = chars.get(i + 1) == Some(&' ');
            match wrap_indent {
                Some(indent)
                    if !spaces
                        && col > BEST_WIDTH
                        && i != 0
                        && i + 1 != chars.len()
                        && !next_is_space =>
                {
                    write_indent(out, indent);
                    col = indent;
                }
                _ => {
                    out.push(c);
                    col += 1;
                }
            }
            spaces = true;
        } else if is_break(c) {
            // Only U+0085, U+2028 and U+2029 reach here (a line feed is never single-quoted):
            // written as they are, the next character starts an indented line.
            out.push(c);
            col = 0;
            breaks = true;
        } else {
            if breaks {
                // yaml.v2's `write_indent` right after a break: the break character itself
                // ended the line (column 0, "indention"), so only the indentation follows. A
                // line feed here would be read back as a second break.
                let indent = wrap_indent.unwrap_or(0);
                out.extend(std::iter::repeat_n(' ', indent));
                col = indent;
            }
            if c == '\'' {
                out.push('\'');
                col += 1;
            }
            out.push(c);
            col += 1;
            spaces = false;
            breaks = false;
        }
    }
    out.push('\'');
}

fn write_double(out: &mut String, value: &str, wrap_indent: Option<usize>) {
    let chars: Vec<char> = value.chars().collect();
    out.push('"');
    let mut col = column(out);
    let mut spaces = false;
    for (i, &c) in chars.iter().enumerate() {
        if !is_printable(c) || c == '\u{FEFF}' || is_break(c) || c == '"' || c == '\\' {
            let escaped = match c {
                '\0' => "\\0".to_string(),
                '\u{7}' => "\\a".to_string(),
                '\u{8}' => "\\b".to_string(),
                '\t' => "\\t".to_string(),
                '\n' => "\\n".to_string(),
                '\u{B}' => "\\v".to_string(),
                '\u{C}' => "\\f".to_string(),
                '\r' => "\\r".to_string(),
                '\u{1B}' => "\\e".to_string(),
                '"' => "\\\"".to_string(),
                '\\' => "\\\\".to_string(),
                '\u{85}' => "\\N".to_string(),
                '\u{A0}' => "\\_".to_string(),
                '\u{2028}' => "\\L".to_string(),
                '\u{2029}' => "\\P".to_string(),
                c if (c as u32) <= 0xFF => format!("\\x{:02X}", c as u32),
                c if (c as u32) <= 0xFFFF => format!("\\u{:04X}", c as u32),
                c => format!("\\U{:08X}", c as u32),
            };
            col += escaped.len();
            out.push_str(&escaped);
            spaces = false;
        } else if c == ' ' {
            match wrap_indent {
                Some(indent) if !spaces && col > BEST_WIDTH && i != 0 && i + 1 != chars.len() => {
                    write_indent(out, indent);
                    col = indent;
                    if chars.get(i + 1) == Some(&' ') {
                        out.push('\\');
                        col += 1;
                    }
                }
                _ => {
                    out.push(c);
                    col += 1;
                }
            }
            spaces = true;
        } else {
            out.push(c);
            col += 1;
            spaces = false;
        }
    }
    out.push('"');
}

fn write_literal(out: &mut String, value: &str, indent: usize) {
    // yaml.v2's block hints: an indentation indicator when the text starts with a space or a
    // break; chomping `-` unless it ends with a break, `+` when it ends with two (or is one).
    // Every break counts, U+0085, U+2028 and U+2029 included, as YAML 1.1 readers see them.
    let chars: Vec<char> = value.chars().collect();
    out.push('|');
    if chars.first().is_some_and(|&c| c == ' ' || is_break(c)) {
        out.push('2');
    }
    let n = chars.len();
    if !chars.last().is_some_and(|&c| is_break(c)) {
        out.push('-');
    } else if n == 1 || chars.get(n - 2).is_some_and(|&c| is_break(c)) {
        out.push('+');
    }
    out.push('\n');
    // The value's final line feed is the one the caller writes to end the entry.
    let body = match chars.split_last() {
        Some((&'\n', rest)) => rest,
        _ => &chars[..],
    };
    // As yaml.v2's `write_literal`: a break ends the line by itself (a line feed, or the break
    // character written as it is); the next other character is indented first.
    let mut breaks = true;
    for &c in body {
        if c == '\n' {
            out.push('\n');
            breaks = true;
        } else if is_break(c) {
            out.push(c);
            breaks = true;
        } else {
            if breaks {
                out.extend(std::iter::repeat_n(' ', indent));
            }
            out.push(c);
            breaks = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(v: &str, indent: usize) -> String {
        let mut out = "      k: ".to_string();
        write_scalar(&mut out, v, Place::Block { indent });
        out["      k: ".len()..].to_string()
    }

    #[test]
    fn styles_follow_yaml_v2() {
        // Each pair was read off Prometheus 2.42's `/api/v1/status/config` for a label value.
        let cases = [
            ("true", "\"true\""),
            ("", "\"\""),
            ("a: b", "'a: b'"),
            ("#x", "'#x'"),
            ("-x", "-x"),
            (" x", "' x'"),
            ("123", "\"123\""),
            ("it's", "it's"),
            ("a\"b", "a\"b"),
            ("null", "\"null\""),
            ("1.5", "\"1.5\""),
            ("~", "\"~\""),
            ("yes", "\"yes\""),
            ("é", "é"),
            ("a #b", "'a #b'"),
            ("@x", "'@x'"),
            ("x:", "'x:'"),
            ("0x1F", "\"0x1F\""),
            ("1e3", "\"1e3\""),
            ("[x]", "'[x]'"),
            ("x,y", "x,y"),
            ("*x", "'*x'"),
            ("!x", "'!x'"),
            ("%x", "'%x'"),
            ("x\tz", "\"x\\tz\""),
            ("trailing ", "'trailing '"),
            ("---x", "'---x'"),
            ("x\u{1}y", "\"x\\x01y\""),
            ("a\u{a0}b", "a\u{a0}b"),
            ("2001-12-14", "\"2001-12-14\""),
            ("1:20", "\"1:20\""),
            ("0o17", "\"0o17\""),
            ("+1", "\"+1\""),
            (".5", "\".5\""),
            ("-", "'-'"),
            ("a'b c: d", "'a''b c: d'"),
            ("x  y", "x  y"),
            ("1_000", "\"1_000\""),
            (".inf", "\".inf\""),
            ("<<", "<<"),
            ("?x", "?x"),
            ("? x", "'? x'"),
            ("- x", "'- x'"),
            (":x", ":x"),
            ("x\\y", "x\\y"),
            ("\u{2028}", "'\u{2028}'"),
            // A character after such a break starts the next line, indented, with no line
            // feed (Prometheus 2.42 at indent 6: `'\u{2028}      !'`).
            ("\u{2028}!", "'\u{2028}        !'"),
            ("a\u{2028}b c", "'a\u{2028}        b c'"),
            ("e\u{301}", "e\u{301}"),
            ("h:1", "h:1"),
            ("(.*):\\d+", "(.*):\\d+"),
            ("$1", "$1"),
            (";", ";"),
            (",", "','"),
            ("[a-z]+", "'[a-z]+'"),
            ("${1}x", "${1}x"),
        ];
        for (input, want) in cases {
            assert_eq!(value(input, 8), want, "{input:?}");
        }
    }

    #[test]
    fn literal_blocks_follow_yaml_v2() {
        assert_eq!(value("x\ny", 8), "|-\n        x\n        y");
        assert_eq!(value(" x\ny", 8), "|2-\n         x\n        y");
        assert_eq!(value("x\n", 8), "|\n        x");
        assert_eq!(value("x\n\n", 8), "|+\n        x\n");
        // Read off Prometheus 2.42's `/api/v1/status/config` at indent 6: `|2\n\u{2028}      x\n`
        // and `|-\n      a\n      b\u{2028}      c`.
        assert_eq!(value("\u{2028}x\n", 8), "|2\n\u{2028}        x");
        assert_eq!(
            value("a\nb\u{2028}c", 8),
            "|-\n        a\n        b\u{2028}        c"
        );
    }

    #[test]
    fn long_plain_scalars_wrap_past_column_80() {
        // Read off Prometheus 2.42 for a label value at indentation 6.
        let words = ["word"; 20].join(" ");
        assert_eq!(
            value(&words, 8),
            "word word word word word word word word word word word word word word word\n        word word word word word"
        );
        let mut out = "- job_name: ".to_string();
        write_scalar(
            &mut out,
            "long job name with spaces that goes on and on and on beyond the eighty column limit of yaml",
            Place::Block { indent: 4 },
        );
        assert_eq!(
            out,
            "- job_name: long job name with spaces that goes on and on and on beyond the eighty\n    column limit of yaml"
        );
    }

    #[test]
    fn keys_that_resolve_to_bools_are_quoted() {
        let mut out = String::new();
        write_scalar(&mut out, "n", Place::Key);
        assert_eq!(out, "\"n\"");
        let mut out = String::new();
        write_scalar(&mut out, "env", Place::Key);
        assert_eq!(out, "env");
    }

    proptest::proptest! {
        #[test]
        fn written_scalars_read_back(v in "(\\PC|[ \\t\\n:#'\"\\-?,\\[\\]{}]){0,120}") {
            let mut out = "k: ".to_string();
            write_scalar(&mut out, &v, Place::Block { indent: 2 });
            // Every caller ends the entry's line.
            out.push('\n');
            let back: std::collections::BTreeMap<String, String> =
                serde_yaml_ng::from_str(&out).map_err(|e| proptest::test_runner::TestCaseError::fail(format!("{out:?}: {e}")))?;
            proptest::prop_assert_eq!(back.get("k"), Some(&v), "{:?}", out);
        }
    }
}
