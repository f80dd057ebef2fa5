//! Parsers for values with units: durations, sizes, booleans, verbosity.
//!
//! They are shared by every layer (TOML, environment, flags through clap's
//! `value_parser`, and `rote.configure()`), so one spelling means one thing
//! everywhere.

use std::time::Duration;

/// `"0.5 ms"` → (`"0.5"`, `"ms"`): the number, then the unit from the first
/// letter on, both trimmed.
fn split_unit(text: &str) -> (&str, &str) {
    let t = text.trim();
    let at = t.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(t.len());
    let (number, unit) = t.split_at(at);
    (number.trim(), unit.trim())
}

/// `1`, `0.5`, `0.5s`, `100ms`, `250us`, `2m`, `1h`; bare numbers are seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let (number, unit) = split_unit(text);
    let scale = match unit {
        "" | "s" | "sec" | "secs" | "second" | "seconds" => 1.0,
        "ms" => 1e-3,
        "us" | "µs" => 1e-6,
        "ns" => 1e-9,
        "m" | "min" | "mins" => 60.0,
        "h" => 3600.0,
        other => {
            return Err(format!(
                "unknown unit `{other}`, expected s, ms, us, ns, m or h"
            ));
        }
    };
    let value: f64 = number
        .parse()
        .map_err(|_| "expected a duration in seconds such as `1`, `0.5s` or `100ms`".to_owned())?;
    let secs = value * scale;
    if !secs.is_finite() || secs < 0.0 {
        return Err("a duration must be a finite number ≥ 0".to_owned());
    }
    Ok(Duration::from_secs_f64(secs))
}

/// `10GiB`, `500MB`, `1.5G`, `4096`; decimal (kB, MB, GB, TB) and binary
/// (KiB, MiB, GiB, TiB) units; a bare `K`/`M`/`G`/`T` is binary.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let (number, unit) = split_unit(text);
    let scale: f64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        "tb" => 1e12,
        "k" | "kib" => 1024.0,
        "m" | "mib" => 1024.0 * 1024.0,
        "g" | "gib" => 1024.0 * 1024.0 * 1024.0,
        "t" | "tib" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        other => {
            return Err(format!(
                "unknown unit `{other}`, expected B, kB, MB, GB, TB, KiB, MiB, GiB or TiB"
            ));
        }
    };
    let value: f64 = number
        .parse()
        .map_err(|_| "expected a size such as `10GiB`, `500MB` or a number of bytes".to_owned())?;
    let bytes = value * scale;
    if !bytes.is_finite() || bytes < 0.0 || bytes > u64::MAX as f64 {
        return Err("a size must be a finite number ≥ 0".to_owned());
    }
    Ok(bytes.round() as u64)
}

pub fn parse_bool(text: &str) -> Result<bool, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err("expected a boolean (`1`/`0`, `true`/`false`, `yes`/`no`, `on`/`off`)".to_owned()),
    }
}

/// `0`, `1`, `2` (booleans read as 0 and 1).
pub fn parse_verbosity(text: &str) -> Result<u8, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "0" | "false" => Ok(0),
        "1" | "true" => Ok(1),
        "2" => Ok(2),
        _ => Err("expected a verbosity level `0`, `1` or `2`".to_owned()),
    }
}

/// Binary units with one decimal, as `rote status` prints sizes.
pub fn format_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}
