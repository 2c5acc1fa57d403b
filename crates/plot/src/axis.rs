//! Axis ticks and labels: time ticks aligned to round wall-clock steps (UTC), value ticks on a
//! 1-2-5 grid, and value labels with SI prefixes and the unit.

/// Milliseconds in a second, minute, hour and day.
const SECOND: i64 = 1_000;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

/// Round tick steps for a time axis, smallest first. Each divides the next larger one that a
/// clock reader expects (5 s, 15 s, 30 s, 1 m, …), so ticks land on times a person would pick.
const TIME_STEPS: [i64; 19] = [
    SECOND,
    5 * SECOND,
    15 * SECOND,
    30 * SECOND,
    MINUTE,
    2 * MINUTE,
    5 * MINUTE,
    10 * MINUTE,
    15 * MINUTE,
    30 * MINUTE,
    HOUR,
    2 * HOUR,
    3 * HOUR,
    6 * HOUR,
    12 * HOUR,
    DAY,
    2 * DAY,
    7 * DAY,
    30 * DAY,
];

/// Tick times in `[start, end]` (milliseconds), at most about `max_ticks` of them, on the
/// smallest round step that keeps within that count.
pub fn time_ticks(start: i64, end: i64, max_ticks: usize) -> Vec<i64> {
    if end <= start || max_ticks == 0 {
        return vec![start];
    }
    let span = end - start;
    let max_ticks = i64::try_from(max_ticks).unwrap_or(i64::MAX);
    let step = TIME_STEPS
        .iter()
        .copied()
        .find(|step| span / step <= max_ticks)
        .unwrap_or_else(|| span / max_ticks + 1);
    let mut tick = start.div_euclid(step) * step;
    if tick < start {
        tick += step;
    }
    let mut ticks = Vec::new();
    while tick <= end {
        ticks.push(tick);
        tick += step;
    }
    ticks
}

/// A time label in UTC: `HH:MM` (with `:SS` when ticks are finer than a minute), prefixed by
/// `MM-DD` when the axis spans more than a day.
pub fn time_label(t_ms: i64, span_ms: i64, tick_step_ms: i64) -> String {
    let secs = t_ms.div_euclid(SECOND);
    let days = secs.div_euclid(86_400);
    let of_day = secs.rem_euclid(86_400);
    let (hour, minute, second) = (of_day / 3600, of_day % 3600 / 60, of_day % 60);
    let clock = if tick_step_ms < MINUTE {
        format!("{hour:02}:{minute:02}:{second:02}")
    } else {
        format!("{hour:02}:{minute:02}")
    };
    if span_ms > DAY {
        let (_, month, day) = civil_from_days(days);
        format!("{month:02}-{day:02} {clock}")
    } else {
        clock
    }
}

/// The UTC date `YYYY-MM-DD HH:MM:SS` of `t_ms`, for the axis caption.
pub fn date_time(t_ms: i64) -> String {
    let secs = t_ms.div_euclid(SECOND);
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
    let of_day = secs.rem_euclid(86_400);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    )
}

/// Year, month and day of the proleptic Gregorian calendar for days since 1970-01-01
/// (Howard Hinnant's civil-from-days algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        year,
        u32::try_from(month).unwrap_or(1),
        u32::try_from(day).unwrap_or(1),
    )
}

/// A value label with an SI prefix (`1.5k`, `250m`, `3.2G`) followed by `unit` when given.
/// Byte units use binary prefixes (`Ki`, `Mi`, …) as Grafana does for `bytes`.
pub fn value_label(v: f64, unit: &str) -> String {
    if !v.is_finite() {
        return format!("{v}");
    }
    let binary = unit == "B";
    let (base, prefixes): (f64, &[&str]) = if binary {
        (1024.0, &["", "Ki", "Mi", "Gi", "Ti", "Pi"])
    } else {
        (1000.0, &["", "k", "M", "G", "T", "P"])
    };
    let magnitude = v.abs();
    let text = if magnitude == 0.0 {
        "0".to_string()
    } else if magnitude < 1.0 && !binary {
        let small: [(&str, f64); 4] = [("m", 1e-3), ("µ", 1e-6), ("n", 1e-9), ("p", 1e-12)];
        let (prefix, scale) = small
            .iter()
            .copied()
            .find(|(_, scale)| magnitude >= *scale)
            .unwrap_or(("p", 1e-12));
        format!("{}{prefix}", trim_number(v / scale))
    } else {
        let mut scaled = v;
        let mut idx = 0;
        while scaled.abs() >= base && idx + 1 < prefixes.len() {
            scaled /= base;
            idx += 1;
        }
        let prefix = prefixes.get(idx).copied().unwrap_or("");
        format!("{}{prefix}", trim_number(scaled))
    };
    if unit.is_empty() {
        text
    } else {
        format!("{text} {unit}")
    }
}

/// At most three significant decimals, trailing zeros removed (`1.500` → `1.5`).
fn trim_number(v: f64) -> String {
    let text = if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    };
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

/// The unit a query's values most likely have, from Prometheus's naming conventions: a rate of
/// a `_seconds_total` counter is seconds per second (CPU cores), `_bytes` is bytes, `_seconds`
/// is seconds. Empty when nothing is implied.
pub fn guess_unit(expr: &str) -> &'static str {
    let is_rate = ["rate(", "irate(", "increase("]
        .iter()
        .any(|f| expr.contains(f));
    if expr.contains("_seconds_total") && is_rate {
        "s/s"
    } else if expr.contains("_bytes") && !is_rate {
        "B"
    } else if expr.contains("_seconds") && !is_rate {
        "s"
    } else {
        ""
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_ticks_land_on_round_clock_times() {
        // 10:07:30 to 11:07:30 UTC on 2023-11-14 (1699956450 s).
        let start = 1_699_956_450_000;
        let ticks = time_ticks(start, start + HOUR, 8);
        assert_eq!(ticks.len(), 6, "{ticks:?}");
        assert!(ticks.iter().all(|t| t % (10 * MINUTE) == 0));
        assert_eq!(ticks[0], start + 2 * MINUTE + 30 * SECOND);
    }

    #[test]
    fn time_labels_are_utc() {
        assert_eq!(date_time(0), "1970-01-01 00:00:00");
        assert_eq!(date_time(1_700_000_000_000), "2023-11-14 22:13:20");
        assert_eq!(date_time(951_782_400_000), "2000-02-29 00:00:00");
        assert_eq!(time_label(1_700_000_000_000, HOUR, MINUTE), "22:13");
        assert_eq!(time_label(1_700_000_000_000, 2 * DAY, HOUR), "11-14 22:13");
        assert_eq!(
            time_label(1_700_000_005_000, MINUTE, 5 * SECOND),
            "22:13:25"
        );
    }

    #[test]
    fn value_labels_use_si_prefixes_and_units() {
        assert_eq!(value_label(0.0, ""), "0");
        assert_eq!(value_label(1500.0, ""), "1.5k");
        assert_eq!(value_label(0.25, "s/s"), "250m s/s");
        assert_eq!(value_label(2.0 * 1024.0 * 1024.0, "B"), "2Mi B");
        assert_eq!(value_label(-3_200_000_000.0, ""), "-3.2G");
        assert_eq!(value_label(0.000_004_2, "s"), "4.2µ s");
    }

    #[test]
    fn units_follow_naming_conventions() {
        assert_eq!(
            guess_unit("sum(rate(container_cpu_usage_seconds_total[1m])) by (pod)"),
            "s/s"
        );
        assert_eq!(guess_unit("container_memory_working_set_bytes"), "B");
        assert_eq!(guess_unit("max(kube_pod_owner) by (owner_kind)"), "");
    }
}
