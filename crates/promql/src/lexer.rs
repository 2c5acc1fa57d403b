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
    /// A string literal, unescaped, whose value is valid UTF-8.
    String(String),
    /// A string literal whose unescaped value is not valid UTF-8 (`\x`/octal escapes).
    ByteString(Vec<u8>),
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
        mode: Mode::Statements,
        bracket_open: false,
        got_colon: false,
        got_duration: false,
        tokens: Vec::new(),
    };
    lexer.run();
    lexer.tokens
}

/// The lexer's state, as in Prometheus's lexer: what is legal depends on whether we are inside
/// `{...}` or at the start of (or after an operator in) a `[...]` duration expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Ordinary expression text (also inside `[...]` after its first number).
    Statements,
    /// Inside `{...}`: label names, matcher operators, strings, commas.
    Braces,
    /// Right after `[` or after an operator inside it: only duration-expression tokens.
    DurationExpr,
}

struct Lexer<'a> {
    input: &'a str,
    pos: usize,
    paren_depth: usize,
    mode: Mode,
    /// Inside `[...]`.
    bracket_open: bool,
    /// A `:` has been seen in the current `[...]`.
    got_colon: bool,
    /// A number or duration has been seen in the current `[...]`.
    got_duration: bool,
    tokens: Vec<Token>,
}

/// Words that are tokens inside `[...]`.
const DURATION_KEYWORDS: &[&str] = &["step", "range", "max_of", "min_of"];

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

    /// Records a lexical error at byte `start`; lexing stops.
    fn fail(&mut self, start: usize, message: String) -> bool {
        self.tokens.push(Token {
            kind: TokenKind::Error(message),
            start,
            end: self.pos.max(start),
        });
        false
    }

    fn run(&mut self) {
        loop {
            let keep_going = match self.mode {
                Mode::Braces => self.step_braces(),
                Mode::DurationExpr => self.step_duration_expr(),
                Mode::Statements => self.step_statements(),
            };
            if !keep_going {
                return;
            }
        }
    }

    fn skip_space(&mut self) {
        let rest = self.rest();
        let after = take_while::<_, _, nom::error::Error<&str>>(is_space)(rest)
            .map_or(rest, |(after, _)| after);
        self.pos += rest.len() - after.len();
    }

    /// Skips spaces and `#` comments. Returns true if anything was skipped.
    fn skip_space_and_comments(&mut self) -> bool {
        let start = self.pos;
        loop {
            self.skip_space();
            let rest = self.rest();
            if rest.starts_with('#') {
                self.pos += rest.find(['\n', '\r']).unwrap_or(rest.len());
            } else {
                return self.pos != start;
            }
        }
    }

    /// One token in [`Mode::Statements`]. Returns false once the stream has ended.
    fn step_statements(&mut self) -> bool {
        self.skip_space_and_comments();
        let start = self.pos;
        let Some(c) = self.peek() else {
            if self.paren_depth > 0 {
                return self.fail(start, "unclosed left parenthesis".into());
            }
            if self.bracket_open {
                return self.fail(start, "unclosed left bracket".into());
            }
            self.emit(TokenKind::Eof, 0);
            return false;
        };
        let next = self.peek2();
        let kind = match c {
            ',' => TokenKind::Comma,
            '*' => TokenKind::Mul,
            '/' => TokenKind::Div,
            '%' => TokenKind::Mod,
            '+' => TokenKind::Add,
            '-' => TokenKind::Sub,
            '^' => TokenKind::Pow,
            '@' => TokenKind::At,
            '=' => match next {
                Some('=') => return self.emit2(TokenKind::Eqlc),
                Some('~') => {
                    return self.fail(start, "unexpected character after '=': '~'".into());
                }
                _ => TokenKind::Assign,
            },
            '!' => match next {
                Some('=') => return self.emit2(TokenKind::Neq),
                other => {
                    let quoted = go_quote_char(other.unwrap_or(char::REPLACEMENT_CHARACTER));
                    return self.fail(start, format!("unexpected character after '!': {quoted}"));
                }
            },
            '<' if next == Some('=') => return self.emit2(TokenKind::Lte),
            '<' => TokenKind::Lss,
            '>' if next == Some('=') => return self.emit2(TokenKind::Gte),
            '>' => TokenKind::Gtr,
            c if c.is_ascii_digit() || (c == '.' && next.is_some_and(|n| n.is_ascii_digit())) => {
                return self.number_or_duration();
            }
            '"' | '\'' | '`' => return self.string(c),
            ':' if self.bracket_open => {
                if self.got_colon {
                    return self.fail(start, "unexpected colon ':'".into());
                }
                self.got_colon = true;
                TokenKind::Colon
            }
            c if self.bracket_open && is_alpha(c) => {
                return self.duration_keyword(|c| {
                    format!("unexpected character: {}, expected ':'", go_quote_char(c))
                });
            }
            c if is_alpha(c) || c == ':' => {
                let len = identifier(self.rest(), true).map_or(1, |(_, word)| word.len());
                self.emit(TokenKind::Ident, len);
                return true;
            }
            '(' => {
                self.paren_depth += 1;
                TokenKind::LParen
            }
            ')' => {
                if self.paren_depth == 0 {
                    // Prometheus reports this one just after the parenthesis.
                    self.pos += 1;
                    return self.fail(self.pos, "unexpected right parenthesis ')'".into());
                }
                self.paren_depth -= 1;
                TokenKind::RParen
            }
            '{' => {
                self.emit(TokenKind::LBrace, 1);
                self.mode = Mode::Braces;
                return true;
            }
            '[' => {
                if self.bracket_open {
                    return self.fail(start, "unexpected left bracket '['".into());
                }
                self.emit(TokenKind::LBracket, 1);
                self.bracket_open = true;
                self.got_colon = false;
                self.got_duration = false;
                self.mode = Mode::DurationExpr;
                return true;
            }
            ']' => {
                if !self.bracket_open {
                    return self.fail(start, "unexpected right bracket ']'".into());
                }
                self.bracket_open = false;
                TokenKind::RBracket
            }
            other => {
                return self.fail(
                    start,
                    format!("unexpected character: {}", go_quote_char(other)),
                )
            }
        };
        self.emit(kind, c.len_utf8());
        true
    }

    /// One token inside `{...}`.
    fn step_braces(&mut self) -> bool {
        self.skip_space_and_comments();
        let start = self.pos;
        let Some(c) = self.peek() else {
            return self.fail(start, "unexpected end of input inside braces".into());
        };
        let kind = match c {
            c if is_alpha(c) => {
                let len = identifier(self.rest(), false).map_or(1, |(_, word)| word.len());
                self.emit(TokenKind::Ident, len);
                return true;
            }
            ',' => TokenKind::Comma,
            '"' | '\'' | '`' => return self.string(c),
            '=' if self.peek2() == Some('~') => return self.emit2(TokenKind::RegexMatch),
            '=' => TokenKind::Assign,
            '!' => match self.peek2() {
                Some('~') => return self.emit2(TokenKind::RegexNoMatch),
                Some('=') => return self.emit2(TokenKind::Neq),
                other => {
                    let quoted = go_quote_char(other.unwrap_or(char::REPLACEMENT_CHARACTER));
                    return self.fail(
                        start,
                        format!("unexpected character after '!' inside braces: {quoted}"),
                    );
                }
            },
            '{' => return self.fail(start, "unexpected left brace '{'".into()),
            '}' => {
                self.emit(TokenKind::RBrace, 1);
                self.mode = Mode::Statements;
                return true;
            }
            other => {
                return self.fail(
                    start,
                    format!(
                        "unexpected character inside braces: {}",
                        go_quote_char(other)
                    ),
                )
            }
        };
        self.emit(kind, c.len_utf8());
        true
    }

    /// One token at the start of `[...]` or after an operator inside it.
    fn step_duration_expr(&mut self) -> bool {
        self.skip_space();
        let start = self.pos;
        let Some(c) = self.peek() else {
            return self.fail(
                start,
                "unexpected end of input in duration expression".into(),
            );
        };
        let next = self.peek2();
        let kind = match c {
            ']' => {
                self.emit(TokenKind::RBracket, 1);
                self.bracket_open = false;
                self.got_colon = false;
                self.mode = Mode::Statements;
                return true;
            }
            ':' => {
                if !self.got_duration {
                    self.pos += 1;
                    return self.fail(
                        self.pos,
                        "unexpected colon before duration in duration expression".into(),
                    );
                }
                if self.got_colon {
                    self.pos += 1;
                    return self.fail(
                        self.pos,
                        "unexpected repeated colon in duration expression".into(),
                    );
                }
                self.got_colon = true;
                TokenKind::Colon
            }
            '(' => {
                self.paren_depth += 1;
                TokenKind::LParen
            }
            ')' => {
                if self.paren_depth == 0 {
                    // Prometheus reports this one just after the parenthesis.
                    self.pos += 1;
                    return self.fail(self.pos, "unexpected right parenthesis ')'".into());
                }
                self.paren_depth -= 1;
                TokenKind::RParen
            }
            '+' => TokenKind::Add,
            '-' => TokenKind::Sub,
            '*' => TokenKind::Mul,
            '/' => TokenKind::Div,
            '%' => TokenKind::Mod,
            '^' => TokenKind::Pow,
            ',' => TokenKind::Comma,
            c if matches!(c.to_ascii_lowercase(), 's' | 'r' | 'm') => {
                return self.duration_keyword(|c| {
                    format!(
                        "unexpected character in duration expression: {}",
                        go_quote_char(c)
                    )
                });
            }
            c if c.is_ascii_digit() || (c == '.' && next.is_some_and(|n| n.is_ascii_digit())) => {
                self.got_duration = true;
                self.mode = Mode::Statements;
                return self.number_or_duration();
            }
            other => {
                return self.fail(
                    start,
                    format!(
                        "unexpected character in duration expression: {}",
                        go_quote_char(other)
                    ),
                )
            }
        };
        self.emit(kind, c.len_utf8());
        true
    }

    /// `step`, `range`, `min_of` or `max_of` inside brackets (any case), as an identifier token.
    fn duration_keyword(&mut self, message: impl Fn(char) -> String) -> bool {
        let start = self.pos;
        let rest = self.rest();
        let word =
            take_while::<_, _, nom::error::Error<&str>>(is_alpha)(rest).map_or("", |(_, w)| w);
        if DURATION_KEYWORDS
            .iter()
            .any(|k| k.eq_ignore_ascii_case(word))
        {
            self.emit(TokenKind::Ident, word.len());
            return true;
        }
        let first = rest.chars().next().unwrap_or(char::REPLACEMENT_CHARACTER);
        self.fail(start, message(first))
    }

    fn emit2(&mut self, kind: TokenKind) -> bool {
        self.emit(kind, 2);
        true
    }

    fn number_or_duration(&mut self) -> bool {
        let start = self.pos;
        let rest = self.rest();
        let bytes = rest.as_bytes();
        let (number_end, is_number) = scan_number(bytes);
        if is_number {
            let text = rest.get(..number_end).unwrap_or("");
            return match parse_number(text) {
                Ok(v) => {
                    self.emit(TokenKind::Number(v), number_end);
                    true
                }
                Err(message) => {
                    self.pos += number_end;
                    self.fail(start, message)
                }
            };
        }
        match accept_remaining_duration(bytes, number_end) {
            (end, true) => {
                let text = rest.get(..end).unwrap_or("");
                match parse_duration(text) {
                    Ok(ms) => {
                        self.emit(TokenKind::Duration(ms), end);
                        true
                    }
                    Err(message) => {
                        self.pos += end;
                        self.fail(start, message)
                    }
                }
            }
            (end, false) => {
                let text = rest.get(..end).unwrap_or(rest);
                self.pos += text.len();
                self.fail(
                    start,
                    format!("bad number or duration syntax: {}", go_quote(text)),
                )
            }
        }
    }

    fn string(&mut self, quote: char) -> bool {
        let start = self.pos;
        match lex_string(self.rest(), quote) {
            Ok((len, value)) => {
                let kind = match String::from_utf8(value) {
                    Ok(s) => TokenKind::String(s),
                    Err(e) => TokenKind::ByteString(e.into_bytes()),
                };
                self.emit(kind, len);
                true
            }
            Err((offset, message)) => {
                // Prometheus reports string errors at the string's start.
                self.pos += offset;
                self.fail(start, message)
            }
        }
    }
}

const DECIMAL_DIGITS: &[u8] = b"0123456789";
const HEX_DIGITS: &[u8] = b"0123456789abcdefABCDEF";

/// Prometheus's number scanner. Returns how far it got and whether that is a complete number
/// (not followed by a letter or digit). Rejected shapes (`2.5.`, `1e`, `1_`, `0x1.5`) stop at
/// the offending character, which then appears in the error message.
fn scan_number(s: &[u8]) -> (usize, bool) {
    let is = |p: usize, set: &[u8]| s.get(p).is_some_and(|b| set.contains(b));
    let mut p = 0;
    let accept = |p: &mut usize, set: &[u8]| {
        let ok = is(*p, set);
        if ok {
            *p += 1;
        }
        ok
    };
    let mut digits = DECIMAL_DIGITS;
    if accept(&mut p, b"0") && accept(&mut p, b"xX") {
        accept(&mut p, b"_");
        digits = HEX_DIGITS;
    }
    let hex = digits.len() > DECIMAL_DIGITS.len();
    accept(&mut p, b".");
    accept(&mut p, digits);
    let (mut dot_seen, mut exponent_seen) = (false, false);
    while is(p, digits) || is(p, b"._eE") {
        if is(p, b".") && dot_seen {
            return (p + 1, false);
        }
        if is(p, b"eE") && exponent_seen {
            return (p + 1, false);
        }
        if accept(&mut p, b".") {
            dot_seen = true;
            if accept(&mut p, b"_.") || hex {
                return (p, false);
            }
            continue;
        }
        if accept(&mut p, b"eE") {
            exponent_seen = true;
            accept(&mut p, b"+-");
            if accept(&mut p, b"._eE") || p >= s.len() {
                return (p, false);
            }
            continue;
        }
        if accept(&mut p, b"_") {
            if accept(&mut p, b"._eE") || p >= s.len() {
                return (p, false);
            }
            continue;
        }
        while accept(&mut p, digits) {}
    }
    if p == 0 {
        return (p, false);
    }
    match s.get(p) {
        Some(&b) if is_alphanumeric(char::from(b)) => (p, false),
        _ => (p, true),
    }
}

/// After a failed number scan: the unit part of a duration (`m`, `ms`, `h30m`, ...). Returns the
/// end of the duration token and whether it is one; on failure the end includes the offending
/// character, as Prometheus's message does.
fn accept_remaining_duration(s: &[u8], mut p: usize) -> (usize, bool) {
    let accept = |p: &mut usize, set: &[u8]| {
        let ok = s.get(*p).is_some_and(|b| set.contains(b));
        if ok {
            *p += 1;
        }
        ok
    };
    if !accept(&mut p, b"smhdwy") {
        return (p, false);
    }
    accept(&mut p, b"s");
    while accept(&mut p, DECIMAL_DIGITS) {
        while accept(&mut p, DECIMAL_DIGITS) {}
        if !accept(&mut p, b"smhdw") {
            return (p, false);
        }
        accept(&mut p, b"s");
    }
    match s.get(p) {
        Some(&b) if is_alphanumeric(char::from(b)) => (p + 1, false),
        _ => (p, true),
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
    let err = |why: &str| {
        format!(
            "error parsing number: strconv.ParseFloat: parsing {}: {why}",
            go_quote(text)
        )
    };
    if !underscores_ok(text) {
        return Err(err("invalid syntax"));
    }
    let clean: String = text.chars().filter(|&c| c != '_').collect();
    if let Some(int) = parse_go_int(&clean) {
        return Ok(int as f64);
    }
    if clean.starts_with("0x") || clean.starts_with("0X") {
        // Go's ParseFloat wants a `p` exponent on hex mantissas, which the lexer never accepts.
        return Err(err("invalid syntax"));
    }
    match clean.parse::<f64>() {
        Ok(v) if v.is_infinite() => Err(err("value out of range")),
        Ok(v) => Ok(v),
        Err(_) => Err(err("invalid syntax")),
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
///
/// As in Go's `strconv.Unquote`, `\x` and octal escapes produce single bytes (so the value may
/// not be UTF-8: `"a\xc5z"`), `\u`/`\U` escapes produce the rune's UTF-8 encoding, and the
/// literal text itself is UTF-8 because the query is a `&str`.
fn lex_string(s: &str, quote: char) -> Result<(usize, Vec<u8>), (usize, String)> {
    let body_start = quote.len_utf8();
    let body = s.get(body_start..).unwrap_or("");
    if quote == '`' {
        return match body.find('`') {
            Some(end) if body.get(..end).is_some_and(|raw| raw.contains('\u{FFFD}')) => {
                Err((body_start + end, "invalid UTF-8 rune".into()))
            }
            Some(end) => {
                // Go's strconv.Unquote drops carriage returns from raw strings.
                let value: String = body
                    .get(..end)
                    .unwrap_or("")
                    .chars()
                    .filter(|&c| c != '\r')
                    .collect();
                Ok((body_start + end + 1, value.into_bytes()))
            }
            None => Err((s.len(), "unterminated raw string".into())),
        };
    }
    let mut out: Vec<u8> = Vec::new();
    let mut chars = body.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == quote {
            return Ok((body_start + i + 1, out));
        }
        match c {
            '\n' => return Err((body_start + i, "unterminated quoted string".into())),
            // Go's lexer reads an invalid byte as utf8.RuneError, i.e. U+FFFD, which is what an
            // invalid byte in the query text has become by the time it is a `&str`.
            '\u{FFFD}' => return Err((body_start + i, "invalid UTF-8 rune".into())),
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

/// Go's `%q` for a string.
pub(crate) fn go_quote(s: &str) -> String {
    crate::quote::go_quote(s.as_bytes())
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
        let bytes = |s: &str| kinds(s).into_iter().next();
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
        // `\x` and octal escapes are single bytes, possibly not UTF-8; `\u` is UTF-8.
        assert_eq!(
            bytes(r#""a\xc5z""#),
            Some(TokenKind::ByteString(b"a\xc5z".to_vec()))
        );
        assert_eq!(
            bytes(r#"'\377\x80'"#),
            Some(TokenKind::ByteString(vec![0xff, 0x80]))
        );
        assert_eq!(one(r#""\xc3\xa9\u00e9""#), Ok("éé".into()));
        assert_eq!(
            one(r#""\400""#),
            Err("escape sequence is an invalid Unicode code point".into())
        );
    }
}
