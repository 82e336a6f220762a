//! Parsing durations as the CLI takes them: `500ms`, `2s`, `1m30s`, `1h`, `2d`,
//! `1.5s`, or a bare number of seconds; and `0` as "no limit", as timeout(1) has it.

use std::time::Duration;

/// Parses `500ms`, `2s`, `1m30s`, `2h`, `1d`, `1.5s` or `10` (seconds).
pub fn parse(text: &str) -> Result<Duration, String> {
    let s = text.trim();
    if s.is_empty() {
        return Err("empty duration".into());
    }
    if let Ok(secs) = s.parse::<f64>() {
        return secs_to_duration(secs, text);
    }
    let mut total = 0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| {
                format!(
                    "invalid duration {text:?}: missing unit after the number (use ms, s, m, h or d)"
                )
            })?;
        if num_len == 0 {
            return Err(format!(
                "invalid duration {text:?}: expected a number at {rest:?}"
            ));
        }
        let value: f64 = rest[..num_len].parse().map_err(|_| {
            format!(
                "invalid duration {text:?}: bad number {:?}",
                &rest[..num_len]
            )
        })?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "d" => 86400.0,
            u => {
                return Err(format!(
                    "invalid duration {text:?}: unknown unit {u:?} (use ms, s, m, h or d)"
                ))
            }
        };
        total += value * scale;
        rest = &rest[unit_len..];
    }
    secs_to_duration(total, text)
}

/// A time limit as given on the command line: zero means no limit, as with
/// timeout(1)'s `timeout 0 cmd`.
pub fn limit(given: Option<Duration>) -> Option<Duration> {
    given.filter(|d| !d.is_zero())
}

fn secs_to_duration(secs: f64, text: &str) -> Result<Duration, String> {
    if !secs.is_finite() || secs < 0.0 {
        return Err(format!(
            "invalid duration {text:?}: must be a non-negative time"
        ));
    }
    Duration::try_from_secs_f64(secs).map_err(|_| format!("invalid duration {text:?}: too large"))
}

#[cfg(test)]
mod tests {
    use super::{limit, parse};
    use std::time::Duration;

    #[test]
    fn accepts_the_documented_forms() {
        assert_eq!(parse("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse("2d"), Ok(Duration::from_secs(2 * 86400)));
        assert_eq!(parse("1d12h"), Ok(Duration::from_secs(36 * 3600)));
        assert_eq!(parse("0.5d"), Ok(Duration::from_secs(12 * 3600)));
        assert_eq!(parse("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse("10"), Ok(Duration::from_secs(10)));
        assert_eq!(parse("0"), Ok(Duration::ZERO));
    }

    #[test]
    fn zero_is_no_limit() {
        assert_eq!(limit(Some(Duration::ZERO)), None);
        assert_eq!(limit(None), None);
        assert_eq!(
            limit(Some(Duration::from_secs(1))),
            Some(Duration::from_secs(1))
        );
    }

    #[test]
    fn rejects_bad_input_with_a_reason() {
        for bad in ["", "s", "5x", "-1s", "1.2.3s", "ms5", "inf"] {
            let e = parse(bad).unwrap_err();
            assert!(e.contains("duration"), "{bad}: {e}");
        }
    }
}
