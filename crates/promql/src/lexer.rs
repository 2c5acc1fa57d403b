//! The PromQL lexer: turns query text into [`Token`]s with byte spans.
//!
//! The lexical pieces (identifiers, numbers, durations, strings) are recognised with nom; the
//! token loop around them tracks the little context PromQL's lexer needs: inside `{...}` an
//! identifier never contains `:`, and inside `[...]` a leading `:` is the subquery colon rather
//! than the start of a metric name. Keywords are not decided here: the parser reads identifiers
//! as keywords only where a keyword can stand, which is what lets `on` be a label name and
//! `sum` a metric name.
//!
//! The lexer stops at the first error and emits it as an [`TokenKind::Error`] token, so the
//! parser reports lexical errors only when it reaches them (as Prometheus's lazy lexer does).

use nom::bytes::complete::{take_while, take_while1};
use nom::IResult;

/// What a token is.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TokenKind {
    /// A number literal (also `Inf`/`NaN` are identifiers; the parser turns them into numbers).
    Number(f64),
    /// A duration literal such as `1h30m`, in milliseconds.
    Duration(i64),
    /// A string literal, unescaped.
    String(String),
    /// An identifier or keyword; the text is the token's span.
    Ident,
    LParen,
    RParen,
    LBrace,
    RBrace,
    LBracket,
    RBracket,
    Comma,
    Colon,
    /// `=` (label matcher).
    Assign,
    /// `==`
    Eqlc,
    /// `!=`
    Neq,
    /// `>`
    Gtr,
    /// `<`
    Lss,
    /// `>=`
    Gte,
    /// `<=`
    Lte,
    /// `=~`
    RegexMatch,
    /// `!~`
    RegexNoMatch,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    At,
    Eof,
    /// A lexical error; the message is Prometheus's wording.
    Error(String),
}

/// A token and where it stands.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub kind: TokenKind,
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

fn is_alpha(c: char) -> bool {
    c == '_' || c.is_ascii_alphabetic()
}

fn is_alphanumeric(c: char) -> bool {
    is_alpha(c) || c.is_ascii_digit()
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

/// `[a-zA-Z_:][a-zA-Z0-9_:]*` (or without `:` inside braces).
fn identifier(input: &str, colons: bool) -> IResult<&str, &str> {
    if colons {
        take_while1(|c: char| is_alphanumeric(c) || c == ':')(input)
    } else {
        take_while1(is_alphanumeric)(input)
    }
}

/// Tokenises the whole query. The result always ends with an `Eof` or an `Error` token.
pub(crate) fn tokenize(input: &str) -> Vec<Token> {
    let mut lexer = Lexer {
        input,
        pos: 0,
        paren_depth: 0,
        bracket_depth: 0,
        in_braces: false,
        tokens: Vec::new(),
    };
    lexer.run();
    lexer.tokens
}

struct Lexer<'a> {
    input: &'a str,
    pos: usize,
    paren_depth: usize,
    bracket_depth: usize,
    in_braces: bool,
    tokens: Vec<Token>,
}

impl<'a> Lexer<'a> {
    fn rest(&self) -> &'a str {
        self.input.get(self.pos..).unwrap_or("")
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn peek2(&self) -> Option<char> {
        self.rest().chars().nth(1)
    }

    fn emit(&mut self, kind: TokenKind, len: usize) {
        self.tokens.push(Token {
            kind,
            start: self.pos,
            end: self.pos + len,
        });
        self.pos += len;
    }

    fn error(&mut self, start: usize, message: String) {
        self.tokens.push(Token {
            kind: TokenKind::Error(message),
            start,
            end: self.pos.max(start),
        });
    }

    fn run(&mut self) {
        loop {
            self.skip_space_and_comments();
            let Some(c) = self.peek() else {
                if self.in_braces {
                    return self.error(self.pos, "unexpected end of input inside braces".into());
                }
                if self.paren_depth > 0 {
                    return self.error(self.pos, "unclosed left parenthesis".into());
                }
                if self.bracket_depth > 0 {
                    return self.error(self.pos, "unclosed left bracket".into());
                }
                self.emit(TokenKind::Eof, 0);
                return;
            };
            if !self.step(c) {
                return;
            }
        }
    }

    fn skip_space_and_comments(&mut self) {
        loop {
            let rest = self.rest();
            let (after, _) =
                take_while::<_, _, nom::error::Error<&str>>(is_space)(rest).unwrap_or((rest, ""));
            let skipped = rest.len() - after.len();
            self.pos += skipped;
            if after.starts_with('#') {
                let line_len = after.find('\n').unwrap_or(after.len());
                self.pos += line_len;
                continue;
            }
            if skipped == 0 {
                return;
            }
        }
    }

    /// Lexes one token starting with `c`. Returns false after emitting an error.
    fn step(&mut self, c: char) -> bool {
        let start = self.pos;
        let next = self.peek2();
        let kind = match c {
            ',' => TokenKind::Comma,
            '(' => {
                self.paren_depth += 1;
                TokenKind::LParen
            }
            ')' => {
                if self.paren_depth == 0 {
                    self.pos += 1;
                    self.error(start, "unexpected right parenthesis ')'".into());
                    return false;
                }
                self.paren_depth -= 1;
                TokenKind::RParen
            }
            '{' => {
                if self.in_braces {
                    self.pos += 1;
                    self.error(start, "unexpected left brace '{' inside braces".into());
                    return false;
                }
                self.in_braces = true;
                TokenKind::LBrace
            }
            '}' => {
                if !self.in_braces {
                    self.pos += 1;
                    self.error(start, "unexpected right brace '}'".into());
                    return false;
                }
                self.in_braces = false;
                TokenKind::RBrace
            }
            '[' => {
                if self.bracket_depth > 0 && !self.in_braces {
                    // Prometheus's lexer forbids nested brackets: `foo[5m[1m]]`.
                    self.pos += 1;
                    self.error(start, "unexpected left bracket '['".into());
                    return false;
                }
                self.bracket_depth += 1;
                TokenKind::LBracket
            }
            ']' => {
                if self.bracket_depth == 0 {
                    self.pos += 1;
                    self.error(start, "unexpected right bracket ']'".into());
                    return false;
                }
                self.bracket_depth -= 1;
                TokenKind::RBracket
            }
            '+' => TokenKind::Add,
            '-' => TokenKind::Sub,
            '*' => TokenKind::Mul,
            '/' => TokenKind::Div,
            '%' => TokenKind::Mod,
            '^' => TokenKind::Pow,
            '@' => TokenKind::At,
            '=' => match next {
                Some('=') => return self.emit2(TokenKind::Eqlc),
                Some('~') => return self.emit2(TokenKind::RegexMatch),
                _ => TokenKind::Assign,
            },
            '!' => match next {
                Some('=') => return self.emit2(TokenKind::Neq),
                Some('~') => return self.emit2(TokenKind::RegexNoMatch),
                Some(other) => {
                    self.pos += 1;
                    self.error(
                        start,
                        format!("unexpected character after '!': {}", go_quote_char(other)),
                    );
                    return false;
                }
                None => {
                    self.pos += 1;
                    self.error(start, "unexpected end of input after '!'".into());
                    return false;
                }
            },
            '<' => match next {
                Some('=') => return self.emit2(TokenKind::Lte),
                _ => TokenKind::Lss,
            },
            '>' => match next {
                Some('=') => return self.emit2(TokenKind::Gte),
                _ => TokenKind::Gtr,
            },
            '"' | '\'' | '`' => return self.string(c),
            ':' if self.in_braces => {
                self.pos += 1;
                self.error(start, "unexpected character inside braces: ':'".into());
                return false;
            }
            ':' if self.bracket_depth > 0 => TokenKind::Colon,
            c if c.is_ascii_digit() || (c == '.' && next.is_some_and(|n| n.is_ascii_digit())) => {
                return self.number_or_duration();
            }
            c if is_alpha(c) || c == ':' => {
                let colons = !self.in_braces;
                let len = identifier(self.rest(), colons).map_or(1, |(rest, word)| {
                    debug_assert!(rest.len() < self.rest().len());
                    word.len()
                });
                self.emit(TokenKind::Ident, len);
                return true;
            }
            other => {
                self.pos += other.len_utf8();
                let message = if self.in_braces {
                    format!(
                        "unexpected character inside braces: {}",
                        go_quote_char(other)
                    )
                } else {
                    format!("unexpected character: {}", go_quote_char(other))
                };
                self.error(start, message);
                return false;
            }
        };
        self.emit(kind, c.len_utf8());
        true
    }

    fn emit2(&mut self, kind: TokenKind) -> bool {
        self.emit(kind, 2);
        true
    }

    fn number_or_duration(&mut self) -> bool {
        let start = self.pos;
        let rest = self.rest();
        let number_len = scan_number(rest);
        let after = rest.get(number_len..).unwrap_or("");
        match after.chars().next() {
            Some(c) if is_alphanumeric(c) => {
                // Prometheus: a number directly followed by a unit letter is a duration.
                let dur_len = scan_duration_tail(after);
                match dur_len {
                    Some(tail) => {
                        let text = rest.get(..number_len + tail).unwrap_or("");
                        match parse_duration(text) {
                            Ok(ms) => {
                                self.emit(TokenKind::Duration(ms), number_len + tail);
                                true
                            }
                            Err(message) => {
                                self.pos += number_len + tail;
                                self.error(start, message);
                                false
                            }
                        }
                    }
                    None => {
                        // Consume the offending alphanumeric run for the message.
                        let bad_len = after
                            .chars()
                            .take_while(|&c| is_alphanumeric(c))
                            .map(char::len_utf8)
                            .sum::<usize>();
                        let text = rest.get(..number_len + bad_len.max(1)).unwrap_or(rest);
                        self.pos += text.len();
                        self.error(
                            start,
                            format!("bad number or duration syntax: {}", go_quote(text)),
                        );
                        false
                    }
                }
            }
            _ => {
                let text = rest.get(..number_len).unwrap_or("");
                match parse_number(text) {
                    Ok(v) => {
                        self.emit(TokenKind::Number(v), number_len);
                        true
                    }
                    Err(message) => {
                        self.pos += number_len;
                        self.error(start, message);
                        false
                    }
                }
            }
        }
    }

    fn string(&mut self, quote: char) -> bool {
        let start = self.pos;
        match lex_string(self.rest(), quote) {
            Ok((len, value)) => {
                self.emit(TokenKind::String(value), len);
                true
            }
            Err((offset, message)) => {
                self.pos += offset;
                self.error(start.max(self.pos.saturating_sub(0)), message);
                // Report at the string's start like Prometheus does for unterminated strings.
                if let Some(last) = self.tokens.last_mut() {
                    last.start = start;
                }
                false
            }
        }
    }
}

/// Length of the number prefix of `s` following Prometheus's scanner: hex with `0x`, digits and
/// underscores, an optional fraction, and an optional exponent.
fn scan_number(s: &str) -> usize {
    let digits_run = |input: &str, hex: bool| -> usize {
        take_while::<_, _, nom::error::Error<&str>>(|c: char| {
            c.is_ascii_digit() || c == '_' || (hex && c.is_ascii_hexdigit())
        })(input)
        .map_or(0, |(_, run)| run.len())
    };
    let bytes = s.as_bytes();
    let mut pos = 0;
    let mut hex = false;
    if bytes.first() == Some(&b'0') && matches!(bytes.get(1), Some(b'x' | b'X')) {
        hex = true;
        pos = 2;
    }
    pos += digits_run(s.get(pos..).unwrap_or(""), hex);
    if bytes.get(pos) == Some(&b'.') {
        pos += 1;
        pos += digits_run(s.get(pos..).unwrap_or(""), hex);
    }
    if !hex && matches!(bytes.get(pos), Some(b'e' | b'E')) {
        pos += 1;
        if matches!(bytes.get(pos), Some(b'+' | b'-')) {
            pos += 1;
        }
        pos += digits_run(s.get(pos..).unwrap_or(""), false);
    }
    pos
}

/// Length of a duration's unit part after its first number (`m`, `ms`, `h30m`, ...), or `None`
/// when the text after the number is not a duration.
fn scan_duration_tail(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut pos = 0;
    let unit = |b: Option<&u8>| matches!(b, Some(b's' | b'm' | b'h' | b'd' | b'w' | b'y'));
    if !unit(bytes.get(pos)) {
        return None;
    }
    pos += 1;
    if bytes.get(pos) == Some(&b's') {
        pos += 1;
    }
    while bytes.get(pos).is_some_and(u8::is_ascii_digit) {
        while bytes.get(pos).is_some_and(u8::is_ascii_digit) {
            pos += 1;
        }
        if !unit(bytes.get(pos)) {
            return None;
        }
        pos += 1;
        if bytes.get(pos) == Some(&b's') {
            pos += 1;
        }
    }
    match s.get(pos..).and_then(|r| r.chars().next()) {
        Some(c) if is_alphanumeric(c) => None,
        _ => Some(pos),
    }
}

/// Go's `underscoreOK`: underscores only between digits, or between a base prefix and a digit.
fn underscores_ok(s: &str) -> bool {
    let bytes = s.as_bytes();
    let mut saw = b'^';
    let mut i = 0;
    let mut hex = false;
    if let [b'0', prefix, ..] = bytes {
        if matches!(prefix.to_ascii_lowercase(), b'b' | b'o' | b'x') {
            i = 2;
            saw = b'0';
            hex = prefix.eq_ignore_ascii_case(&b'x');
        }
    }
    while let Some(&b) = bytes.get(i) {
        i += 1;
        if b.is_ascii_digit() || (hex && b.is_ascii_hexdigit()) {
            saw = b'0';
            continue;
        }
        if b == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
            continue;
        }
        if saw == b'_' {
            return false;
        }
        saw = b'!';
    }
    saw != b'_'
}

/// Converts a lexed number literal to a float as Prometheus does: first as a Go integer literal
/// with base prefix (`0x1f`, leading-zero octal `017`), then as a decimal float.
pub(crate) fn parse_number(text: &str) -> Result<f64, String> {
    let err = || format!("error parsing number: invalid syntax {}", go_quote(text));
    if !underscores_ok(text) {
        return Err(err());
    }
    let clean: String = text.chars().filter(|&c| c != '_').collect();
    if let Some(int) = parse_go_int(&clean) {
        return Ok(int as f64);
    }
    if clean.starts_with("0x") || clean.starts_with("0X") {
        return Err(err());
    }
    match clean.parse::<f64>() {
        Ok(v) if v.is_infinite() => Err(format!(
            "error parsing number: value out of range {}",
            go_quote(text)
        )),
        Ok(v) => Ok(v),
        Err(_) => Err(err()),
    }
}

/// Go `strconv.ParseInt(s, 0, 64)` for the shapes our scanner produces (no sign, no `0b`/`0o`).
fn parse_go_int(s: &str) -> Option<i64> {
    if let Some(hex) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        return i64::from_str_radix(hex, 16)
            .ok()
            .filter(|_| !hex.is_empty());
    }
    if !s.bytes().all(|b| b.is_ascii_digit()) || s.is_empty() {
        return None;
    }
    if s.len() > 1 && s.starts_with('0') {
        return i64::from_str_radix(s.get(1..)?, 8).ok();
    }
    s.parse::<i64>().ok()
}

/// Parses a Prometheus duration (`1h30m`, `5m`, `100ms`; units y w d h m s ms, each at most once
/// and from largest to smallest) into milliseconds.
pub(crate) fn parse_duration(text: &str) -> Result<i64, String> {
    if text == "0" {
        return Ok(0);
    }
    let invalid = || format!("not a valid duration string: {}", go_quote(text));
    if text.is_empty() {
        return Err("empty duration string".into());
    }
    const NS_PER_MS: u128 = 1_000_000;
    let mut rest = text;
    let mut total_ns: u128 = 0;
    let mut last_unit = 0;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(invalid());
        }
        let value: u128 = rest
            .get(..digits)
            .and_then(|d| d.parse().ok())
            .ok_or_else(invalid)?;
        rest = rest.get(digits..).unwrap_or("");
        let unit_len = rest.bytes().take_while(|b| !b.is_ascii_digit()).count();
        if unit_len == 0 {
            return Err(invalid());
        }
        let unit = rest.get(..unit_len).unwrap_or("");
        rest = rest.get(unit_len..).unwrap_or("");
        let (rank, mult_ms): (u8, u128) = match unit {
            "y" => (1, 365 * 24 * 3_600_000),
            "w" => (2, 7 * 24 * 3_600_000),
            "d" => (3, 24 * 3_600_000),
            "h" => (4, 3_600_000),
            "m" => (5, 60_000),
            "s" => (6, 1_000),
            "ms" => (7, 1),
            other => {
                return Err(format!(
                    "unknown unit {} in duration {}",
                    go_quote(other),
                    go_quote(text)
                ))
            }
        };
        if rank <= last_unit {
            return Err(invalid());
        }
        last_unit = rank;
        total_ns = total_ns.saturating_add(value.saturating_mul(mult_ms * NS_PER_MS));
        if total_ns > i64::MAX as u128 {
            return Err("duration out of range".into());
        }
    }
    i64::try_from(total_ns / NS_PER_MS).map_err(|_| "duration out of range".to_string())
}

/// Lexes a string literal starting at `s[0]` (the quote). Returns its byte length and its
/// unescaped value, or an error offset (relative to `s`) and message.
fn lex_string(s: &str, quote: char) -> Result<(usize, String), (usize, String)> {
    let body_start = quote.len_utf8();
    let body = s.get(body_start..).unwrap_or("");
    if quote == '`' {
        return match body.find('`') {
            Some(end) => {
                // Go's strconv.Unquote drops carriage returns from raw strings.
                let value: String = body
                    .get(..end)
                    .unwrap_or("")
                    .chars()
                    .filter(|&c| c != '\r')
                    .collect();
                Ok((body_start + end + 1, value))
            }
            None => Err((s.len(), "unterminated raw string".into())),
        };
    }
    let mut out: Vec<u8> = Vec::new();
    let mut chars = body.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == quote {
            let len = body_start + i + 1;
            return match String::from_utf8(out) {
                Ok(value) => Ok((len, value)),
                Err(_) => Err((
                    len,
                    format!(
                        "invalid UTF-8 in string literal {}: strings must be valid UTF-8",
                        s.get(..len).unwrap_or(s)
                    ),
                )),
            };
        }
        match c {
            '\n' => return Err((body_start + i, "unterminated quoted string".into())),
            '\\' => {
                let Some((j, e)) = chars.next() else {
                    return Err((s.len(), "escape sequence not terminated".into()));
                };
                let simple = match e {
                    'a' => Some(0x07u8),
                    'b' => Some(0x08),
                    'f' => Some(0x0c),
                    'n' => Some(b'\n'),
                    'r' => Some(b'\r'),
                    't' => Some(b'\t'),
                    'v' => Some(0x0b),
                    '\\' => Some(b'\\'),
                    q if q == quote => Some(q as u8),
                    _ => None,
                };
                if let Some(b) = simple {
                    out.push(b);
                    continue;
                }
                let (digits, base, max, first): (usize, u32, u32, Option<char>) = match e {
                    '0'..='7' => (3, 8, 255, Some(e)),
                    'x' => (2, 16, 255, None),
                    'u' => (4, 16, char::MAX as u32, None),
                    'U' => (8, 16, char::MAX as u32, None),
                    other => {
                        return Err((
                            body_start + j,
                            format!("unknown escape sequence {}", go_rune_u(other)),
                        ));
                    }
                };
                let mut value: u32 = 0;
                let mut pending = first;
                for _ in 0..digits {
                    let d = match pending.take().or_else(|| chars.next().map(|(_, d)| d)) {
                        Some(d) => d,
                        None => return Err((s.len(), "escape sequence not terminated".into())),
                    };
                    match d.to_digit(base) {
                        Some(v) => value = value * base + v,
                        None if d == quote || d == '\n' => {
                            return Err((body_start + j, "escape sequence not terminated".into()))
                        }
                        None => {
                            return Err((
                                body_start + j,
                                format!("illegal character {} in escape sequence", go_rune_u(d)),
                            ))
                        }
                    }
                }
                if value > max || (0xD800..0xE000).contains(&value) {
                    return Err((
                        body_start + j,
                        "escape sequence is an invalid Unicode code point".into(),
                    ));
                }
                if max == 255 {
                    out.push(value as u8);
                } else {
                    let ch = char::from_u32(value).ok_or_else(|| {
                        (
                            body_start + j,
                            "escape sequence is an invalid Unicode code point".to_string(),
                        )
                    })?;
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                }
            }
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    Err((s.len(), "unterminated quoted string".into()))
}

/// Go's `%q` for a string (close enough for messages: escapes quotes, backslashes, controls).
pub(crate) fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    crate::printer::write_string_literal(&mut out, s).ok();
    out
}

/// Go's `%q` for a rune: `'x'`.
fn go_quote_char(c: char) -> String {
    match c {
        '\'' => "'\\''".into(),
        '\\' => "'\\\\'".into(),
        '\n' => "'\\n'".into(),
        '\t' => "'\\t'".into(),
        '\r' => "'\\r'".into(),
        c if c.is_control() => format!("'\\x{:02x}'", c as u32),
        c => format!("'{c}'"),
    }
}

/// Go's `%#U` for a rune: `U+0078 'x'`.
fn go_rune_u(c: char) -> String {
    if c.is_control() {
        format!("U+{:04X}", c as u32)
    } else {
        format!("U+{:04X} '{c}'", c as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(input: &str) -> Vec<TokenKind> {
        tokenize(input).into_iter().map(|t| t.kind).collect()
    }

    #[test]
    fn numbers_follow_go_rules() {
        assert_eq!(parse_number("0x1f"), Ok(31.0));
        assert_eq!(
            parse_number("017"),
            Ok(15.0),
            "leading zero is octal, as Go's ParseInt"
        );
        assert_eq!(
            parse_number("09"),
            Ok(9.0),
            "not octal: falls back to float"
        );
        assert_eq!(parse_number("1_000"), Ok(1000.0));
        assert_eq!(parse_number("1_000.5_5"), Ok(1000.55));
        assert!(parse_number("1__0").is_err());
        assert!(parse_number("1_").is_err());
        assert!(parse_number("1e").is_err());
        assert!(parse_number("1e500").is_err());
        assert_eq!(parse_number("2."), Ok(2.0));
        assert_eq!(parse_number(".5"), Ok(0.5));
        assert_eq!(parse_number("12.34e-6"), Ok(12.34e-6));
        assert_eq!(parse_number("99999999999999999999"), Ok(1e20));
    }

    #[test]
    fn durations_are_ordered_units() {
        assert_eq!(parse_duration("1h30m"), Ok(5_400_000));
        assert_eq!(parse_duration("1s500ms"), Ok(1_500));
        assert_eq!(parse_duration("1y"), Ok(365 * 86_400_000));
        assert_eq!(parse_duration("2w1d"), Ok(15 * 86_400_000));
        assert!(parse_duration("30m1h").is_err());
        assert!(parse_duration("1m1m").is_err());
        assert!(parse_duration("1.5h").is_err());
        assert_eq!(parse_duration("300y"), Err("duration out of range".into()));
    }

    #[test]
    fn tokens_and_contexts() {
        assert_eq!(kinds("foo:bar[5m:1m]").len(), 7);
        assert_eq!(
            kinds("a{b=~\"c\"}"),
            vec![
                TokenKind::Ident,
                TokenKind::LBrace,
                TokenKind::Ident,
                TokenKind::RegexMatch,
                TokenKind::String("c".into()),
                TokenKind::RBrace,
                TokenKind::Eof
            ]
        );
        assert_eq!(
            kinds("1 # comment\n"),
            vec![TokenKind::Number(1.0), TokenKind::Eof]
        );
        assert_eq!(
            kinds("5m"),
            vec![TokenKind::Duration(300_000), TokenKind::Eof]
        );
    }

    #[test]
    fn strings_unescape_like_go() {
        let one = |s: &str| match kinds(s).into_iter().next() {
            Some(TokenKind::String(v)) => Ok(v),
            Some(TokenKind::Error(e)) => Err(e),
            other => Err(format!("{other:?}")),
        };
        assert_eq!(one(r#""a\tb\"c""#), Ok("a\tb\"c".into()));
        assert_eq!(one(r"'it\'s'"), Ok("it's".into()));
        assert_eq!(one(r#""\x41\101\u00e9\U0001F600""#), Ok("AAé😀".into()));
        assert_eq!(one("`raw\\n`"), Ok("raw\\n".into()));
        assert_eq!(
            one(r#""\'""#),
            Err("unknown escape sequence U+0027 '''".into())
        );
        assert_eq!(
            one(r#""\uD800""#),
            Err("escape sequence is an invalid Unicode code point".into())
        );
        assert_eq!(one("\"abc"), Err("unterminated quoted string".into()));
        assert_eq!(one("`abc"), Err("unterminated raw string".into()));
        assert!(
            one(r#""a\xc5z""#).is_err(),
            "invalid UTF-8 cannot be a Rust string"
        );
    }
}
