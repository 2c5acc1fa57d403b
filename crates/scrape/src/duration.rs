//! Prometheus durations (`15s`, `1m30s`, `500ms`): parsing as the configuration accepts them
//! and printing as Prometheus prints them (`model.Duration.String`, e.g. in the
//! `__scrape_interval__` label and `/api/v1/targets`).

use std::time::Duration;

/// Units from largest to smallest with their length in milliseconds.
const UNITS: [(&str, u64); 7] = [
    ("y", 365 * 24 * 3_600_000),
    ("w", 7 * 24 * 3_600_000),
    ("d", 24 * 3_600_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
];

/// Parses a Prometheus duration: one or more `<integer><unit>` terms with units in
/// decreasing order (`y w d h m s ms`), or `0`. Millisecond precision.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    let err = || format!("not a valid duration string: {text:?}");
    let bytes = text.as_bytes();
    if bytes.is_empty() {
        return Err(err());
    }
    let (mut pos, mut total, mut last_unit) = (0usize, 0u64, None::<usize>);
    while pos < bytes.len() {
        let digits_end = bytes
            .get(pos..)
            .and_then(|rest| rest.iter().position(|b| !b.is_ascii_digit()))
            .map_or(bytes.len(), |i| pos + i);
        if digits_end == pos {
            return Err(err());
        }
        let number: u64 = text
            .get(pos..digits_end)
            .and_then(|d| d.parse().ok())
            .ok_or_else(err)?;
        let rest = text.get(digits_end..).unwrap_or_default();
        // "ms" before "m" so that "5ms" is not read as five minutes and an "s".
        let unit_idx = if rest.starts_with("ms") {
            6
        } else {
            UNITS
                .iter()
                .position(|(u, _)| u.len() == 1 && rest.starts_with(u))
                .ok_or_else(err)?
        };
        if last_unit.is_some_and(|last| unit_idx <= last) {
            return Err(err());
        }
        last_unit = Some(unit_idx);
        let (unit, unit_ms) = UNITS.get(unit_idx).copied().ok_or_else(err)?;
        total = number
            .checked_mul(unit_ms)
            .and_then(|ms| total.checked_add(ms))
            .ok_or_else(err)?;
        pos = digits_end + unit.len();
    }
    Ok(Duration::from_millis(total))
}

/// Prints `d` as Prometheus does (`model.Duration.String`): the largest units first, zero
/// terms left out, `0s` for zero; years and weeks only when they divide the whole duration
/// (`90d`, not `12w6d`).
pub fn format_duration(d: Duration) -> String {
    let mut ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    if ms == 0 {
        return "0s".to_string();
    }
    let mut out = String::new();
    for (unit, unit_ms) in UNITS {
        let exact_only = unit == "y" || unit == "w";
        if exact_only && ms % unit_ms != 0 {
            continue;
        }
        if ms >= unit_ms {
            out.push_str(&format!("{}{unit}", ms / unit_ms));
            ms %= unit_ms;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_prometheus_durations() {
        for (text, ms) in [
            ("15s", 15_000),
            ("1m30s", 90_000),
            ("500ms", 500),
            ("1h", 3_600_000),
            ("2d", 172_800_000),
            ("1w", 604_800_000),
            ("1y", 31_536_000_000),
            ("0", 0),
            ("1s500ms", 1_500),
        ] {
            assert_eq!(
                parse_duration(text),
                Ok(Duration::from_millis(ms)),
                "{text}"
            );
        }
        for bad in ["", "15", "s", "1.5s", "1s1m", "1m1m", "-1s", "1x"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn prints_like_model_duration() {
        for (ms, text) in [
            (15_000, "15s"),
            (90_000, "1m30s"),
            (500, "500ms"),
            (3_600_000, "1h"),
            (0, "0s"),
            (60_000, "1m"),
            // Weeks and years only when exact, as model.Duration prints them.
            (8 * 86_400_000, "8d"),
            (14 * 86_400_000, "2w"),
            (90 * 86_400_000, "90d"),
            (365 * 86_400_000, "1y"),
            (366 * 86_400_000, "366d"),
            (86_400_000 + 1, "1d1ms"),
        ] {
            assert_eq!(format_duration(Duration::from_millis(ms)), text);
        }
    }
}
