//! Prometheus durations (`model.Duration`): parsing `1h30m`, `5m`, `0s`, and printing them
//! back the way Prometheus prints them (`1h30m`, `5m`, `0s`).

/// Parses a Prometheus duration into milliseconds: one or more `<int><unit>` with units
/// `y w d h m s ms` in decreasing order, or `0`.
pub fn parse(text: &str) -> Result<i64, String> {
    let invalid = || format!("not a valid duration string: {text:?}");
    if text == "0" {
        return Ok(0);
    }
    if text.is_empty() {
        return Err("empty duration string".into());
    }
    const UNITS: [(&str, i64); 7] = [
        ("y", 365 * 86_400_000),
        ("w", 7 * 86_400_000),
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1000),
        ("ms", 1),
    ];
    let bytes = text.as_bytes();
    let mut i = 0;
    let mut total: i64 = 0;
    let mut last_unit = usize::MAX;
    while i < bytes.len() {
        let start = i;
        while bytes.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return Err(invalid());
        }
        let n: i64 = text
            .get(start..i)
            .and_then(|s| s.parse().ok())
            .ok_or_else(invalid)?;
        let ustart = i;
        while bytes.get(i).is_some_and(u8::is_ascii_alphabetic) {
            i += 1;
        }
        let unit = text.get(ustart..i).unwrap_or("");
        let idx = UNITS
            .iter()
            .position(|(u, _)| *u == unit)
            .ok_or_else(invalid)?;
        if last_unit != usize::MAX && idx <= last_unit {
            return Err(invalid());
        }
        last_unit = idx;
        let mult = UNITS.get(idx).map_or(1, |(_, m)| *m);
        total = n
            .checked_mul(mult)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| "duration out of range".to_string())?;
    }
    Ok(total)
}

/// Prints milliseconds as Prometheus's `model.Duration.String()` does.
pub fn format(ms: i64) -> String {
    if ms == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    let mut ms = ms;
    if ms < 0 {
        out.push('-');
        ms = -ms;
    }
    const UNITS: [(&str, i64); 7] = [
        ("y", 365 * 86_400_000),
        ("w", 7 * 86_400_000),
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1000),
        ("ms", 1),
    ];
    for (unit, mult) in UNITS {
        let n = ms / mult;
        if n > 0 {
            out.push_str(&format!("{n}{unit}"));
            ms -= n * mult;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn round_trips() {
        for (text, ms) in [
            ("1h30m", 5_400_000),
            ("5m", 300_000),
            ("0s", 0),
            ("1d", 86_400_000),
            ("1m30s500ms", 90_500),
        ] {
            assert_eq!(super::parse(text), Ok(ms));
            assert_eq!(super::format(ms), text);
        }
        assert_eq!(super::parse("0"), Ok(0));
        assert!(super::parse("5x").is_err());
        assert!(super::parse("30s1m").is_err());
        assert!(super::parse("").is_err());
    }
}
