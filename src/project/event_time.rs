//! Event time as kiln reads and writes it (UTC, `YYYY-MM-DD HH:MM:SS`):
//! `--event-time-start/-end`, microbatch `begin`, and the `--sample`
//! window (dbt 1.10) that refs and sources with an `event_time` are
//! limited to: relative, `"3 days"` (up to now), or absolute,
//! `"{'start': '2024-07-01', 'end': '2024-07-08 18:00:00'}"`.

use chrono::{DateTime, Duration, Months, NaiveDate, NaiveDateTime, Utc};

use crate::error::{Error, Result};

const FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// An event time as SQL literals and templates get it.
pub fn format_time(t: NaiveDateTime) -> String {
    t.format(FORMAT).to_string()
}

/// (start, end) as `YYYY-MM-DD HH:MM:SS` in UTC.
pub fn window(spec: &str, now: DateTime<Utc>) -> Result<(String, String)> {
    let spec = spec.trim();
    let bad = |why: &str| {
        Error::new(format!("--sample '{spec}': {why}")).note(
            "give a span up to now, such as \"3 days\" or \"6 hours\", or a window, such as \"{'start': '2024-07-01', 'end': '2024-07-08'}\"",
        )
    };
    if spec.starts_with('{') {
        let map: serde_yaml::Mapping =
            serde_yaml::from_str(spec).map_err(|e| bad(&format!("not a mapping: {e}")))?;
        let at = |key: &str| -> Result<NaiveDateTime> {
            let text = map
                .get(key)
                .and_then(serde_yaml::Value::as_str)
                .ok_or_else(|| bad(&format!("no `{key}`")))?;
            parse_time(text).ok_or_else(|| bad(&format!("`{key}` is not a date or time: {text}")))
        };
        let (start, end) = (at("start")?, at("end")?);
        if start >= end {
            return Err(bad("`start` must come before `end`"));
        }
        return Ok((
            start.format(FORMAT).to_string(),
            end.format(FORMAT).to_string(),
        ));
    }
    let (count, unit) = spec
        .split_once(char::is_whitespace)
        .ok_or_else(|| bad("expected a number and a unit"))?;
    let count: u32 = count
        .trim()
        .parse()
        .map_err(|_| bad("the count must be a whole number"))?;
    let end = now.naive_utc();
    let start = match unit.trim().trim_end_matches('s') {
        "minute" => end - Duration::minutes(count.into()),
        "hour" => end - Duration::hours(count.into()),
        "day" => end - Duration::days(count.into()),
        "month" => end
            .checked_sub_months(Months::new(count))
            .ok_or_else(|| bad("too far back"))?,
        "year" => end
            .checked_sub_months(Months::new(count.saturating_mul(12)))
            .ok_or_else(|| bad("too far back"))?,
        _ => {
            return Err(bad(
                "the unit must be minutes, hours, days, months or years",
            ))
        }
    };
    Ok((format_time(start), format_time(end)))
}

/// A date or a time (`2024-01-01`, `2024-01-01 06:00[:00]`, ISO `T`).
pub fn parse_time(text: &str) -> Option<NaiveDateTime> {
    let t = text.trim();
    NaiveDateTime::parse_from_str(t, FORMAT)
        .or_else(|_| NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S"))
        .or_else(|_| NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M"))
        .ok()
        .or_else(|| {
            NaiveDate::parse_from_str(t, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_and_absolute_windows() {
        let now = DateTime::parse_from_rfc3339("2024-07-08T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            window("3 days", now).unwrap(),
            ("2024-07-05 12:00:00".into(), "2024-07-08 12:00:00".into())
        );
        assert_eq!(window("1 month", now).unwrap().0, "2024-06-08 12:00:00");
        assert_eq!(
            window("{'start': '2024-07-01', 'end': '2024-07-02 06:00:00'}", now).unwrap(),
            ("2024-07-01 00:00:00".into(), "2024-07-02 06:00:00".into())
        );
        let err = window("3 fortnights", now).unwrap_err().to_string();
        assert!(err.contains("the unit must be"), "{err}");
        assert!(window("{'start': '2024-07-02', 'end': '2024-07-01'}", now).is_err());
    }
}
