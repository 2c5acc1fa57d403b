//! The `--retention.time` / `--retention.size` flags of `serve` and `replay`, turned into
//! storage options.

use std::time::Duration;

use anyhow::Context as _;
use promlite_http::params::parse_duration;

use crate::args::RetentionArgs;

/// Database options with the retention limits of `args` set.
pub fn options(args: &RetentionArgs) -> anyhow::Result<promlite::Options> {
    let mut options = promlite::Options::default();
    if let Some(text) = &args.retention_time {
        let ms = parse_duration(text).context("--retention.time")?;
        let ms = u64::try_from(ms)
            .ok()
            .filter(|&ms| ms > 0)
            .context("--retention.time must be positive")?;
        options.storage.retention_time = Some(Duration::from_millis(ms));
    }
    if let Some(text) = &args.retention_size {
        options.storage.retention_size = Some(parse_size(text).context("--retention.size")?);
    }
    Ok(options)
}

/// Parses a size such as `512MB` or `10GB` (units are powers of 1024, as Prometheus's
/// `units.Base2Bytes`; a bare number is bytes).
pub fn parse_size(text: &str) -> anyhow::Result<u64> {
    let text = text.trim();
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let (number, unit) = text.split_at(digits);
    let number: u64 = number
        .parse()
        .with_context(|| format!("{text:?} does not start with a number"))?;
    let shift = match unit.to_ascii_uppercase().as_str() {
        "" | "B" => 0,
        "KB" | "KIB" | "K" => 10,
        "MB" | "MIB" | "M" => 20,
        "GB" | "GIB" | "G" => 30,
        "TB" | "TIB" | "T" => 40,
        "PB" | "PIB" | "P" => 50,
        "EB" | "EIB" | "E" => 60,
        other => anyhow::bail!("unknown size unit {other:?} in {text:?}"),
    };
    number
        .checked_mul(1u64 << shift)
        .with_context(|| format!("{text:?} is too large"))
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_use_powers_of_1024() {
        assert_eq!(parse_size("512").unwrap(), 512);
        assert_eq!(parse_size("1KB").unwrap(), 1024);
        assert_eq!(parse_size("3MB").unwrap(), 3 << 20);
        assert_eq!(parse_size("2gb").unwrap(), 2 << 30);
        assert!(parse_size("MB").is_err());
        assert!(parse_size("5XB").is_err());
        assert!(parse_size("99999999EB").is_err());
    }
}
