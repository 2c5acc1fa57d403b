//! Go `strconv.Quote`-style quoting of byte strings, for the printer and for error messages
//! that Prometheus formats with `%q`.
//!
//! PromQL strings are Go strings, that is byte strings: `"a\xc5z"` is a legal literal whose value
//! is not UTF-8. Prometheus prints such values (and label names in messages such as
//! `invalid label name "a\xc5z"`) with Go's quoting, which this module reproduces:
//!
//! - `"` and `\` are backslash-escaped;
//! - printable runes are written as they are;
//! - `\a \b \f \n \r \t \v` for those controls, `\xNN` for other ASCII controls and DEL;
//! - each byte that is not part of a valid UTF-8 sequence is written as `\xNN`;
//! - other non-printable runes as `\uNNNN`, or `\UNNNNNNNN` above U+FFFF.
//!
//! Hex digits are lowercase. Every output is a PromQL string literal that the lexer reads back
//! as exactly the input bytes.

use std::fmt::{self, Write};

/// Writes `bytes` double-quoted as Go's `strconv.Quote` does.
pub fn write_go_quoted(out: &mut impl Write, bytes: &[u8]) -> fmt::Result {
    out.write_char('"')?;
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            write_escaped_char(out, c)?;
        }
        // Go decodes byte by byte: every byte of an invalid sequence is its own `\xNN`. The
        // bytes after the first of an invalid chunk are continuation bytes, which cannot start
        // a valid sequence, so chunking the same way as Go's decoder gives the same output.
        for b in chunk.invalid() {
            write!(out, "\\x{b:02x}")?;
        }
    }
    out.write_char('"')
}

/// `bytes` double-quoted as Go's `strconv.Quote` (and `fmt`'s `%q`) does.
pub fn go_quote(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    // Writing into a String cannot fail.
    let _ = write_go_quoted(&mut out, bytes);
    out
}

fn write_escaped_char(out: &mut impl Write, c: char) -> fmt::Result {
    match c {
        '"' => out.write_str("\\\""),
        '\\' => out.write_str("\\\\"),
        c if is_go_printable(c) => out.write_char(c),
        '\u{07}' => out.write_str("\\a"),
        '\u{08}' => out.write_str("\\b"),
        '\u{0c}' => out.write_str("\\f"),
        '\n' => out.write_str("\\n"),
        '\r' => out.write_str("\\r"),
        '\t' => out.write_str("\\t"),
        '\u{0b}' => out.write_str("\\v"),
        c if c < ' ' || c == '\u{7f}' => write!(out, "\\x{:02x}", u32::from(c)),
        c if u32::from(c) < 0x1_0000 => write!(out, "\\u{:04x}", u32::from(c)),
        c => write!(out, "\\U{:08x}", u32::from(c)),
    }
}

/// Go's `unicode.IsPrint`: letters, marks, numbers, punctuation, symbols and the ASCII space.
///
/// Rust's standard library has no general-category tables, so this rejects the categories Go
/// treats as non-printable by their known members: controls (Cc), spaces and separators other
/// than U+0020 (Zs, Zl, Zp: all have the White_Space property), format characters (Cf, Unicode
/// 15), private use (Co) and noncharacters. Unassigned code points (Cn) other than
/// noncharacters are treated as printable, where Go escapes them; the output still reads back
/// as the same string.
fn is_go_printable(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    let cp = u32::from(c);
    let format = matches!(
        cp,
        0xAD | 0x600..=0x605
            | 0x61C
            | 0x6DD
            | 0x70F
            | 0x890..=0x891
            | 0x8E2
            | 0x180E
            | 0x200B..=0x200F
            | 0x202A..=0x202E
            | 0x2060..=0x2064
            | 0x2066..=0x206F
            | 0xFEFF
            | 0xFFF9..=0xFFFB
            | 0x110BD
            | 0x110CD
            | 0x13430..=0x1343F
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0001
            | 0xE0020..=0xE007F
    );
    let private_use = matches!(cp, 0xE000..=0xF8FF | 0xF_0000..=0xF_FFFD | 0x10_0000..=0x10_FFFD);
    let noncharacter = matches!(cp, 0xFDD0..=0xFDEF) || cp & 0xFFFE == 0xFFFE;
    !(format || private_use || noncharacter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_like_go_strconv_quote() {
        // Expected strings are what Go's strconv.Quote returns for the same input.
        let cases: &[(&[u8], &str)] = &[
            (b"", r#""""#),
            (b"abc", r#""abc""#),
            (b"a\"b\\c", r#""a\"b\\c""#),
            (b"a\xc5z", r#""a\xc5z""#),
            (b"\xff", r#""\xff""#),
            // A truncated three-byte sequence is two invalid bytes, then a valid rune.
            (b"\xe2\x82\xe2\x82\xac", r#""\xe2\x82€""#),
            (b"\x07\x08\x0c\n\r\t\x0b", r#""\a\b\f\n\r\t\v""#),
            (b"\x00\x01\x1f\x7f", r#""\x00\x01\x1f\x7f""#),
            (
                "\u{85}\u{a0}\u{ad}\u{2028}".as_bytes(),
                r#""\u0085\u00a0\u00ad\u2028""#,
            ),
            ("\u{e000}\u{feff}".as_bytes(), r#""\ue000\ufeff""#),
            (
                "\u{10ffff}\u{e0001}".as_bytes(),
                r#""\U0010ffff\U000e0001""#,
            ),
            ("é😀 ü→'`".as_bytes(), r#""é😀 ü→'`""#),
            ("\u{fffd}".as_bytes(), "\"\u{fffd}\""),
        ];
        for (input, want) in cases {
            assert_eq!(go_quote(input), *want, "input {input:?}");
        }
    }
}
