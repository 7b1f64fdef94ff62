//! The microbatch incremental strategy (dbt 1.9): a model with an
//! `event_time` is built one window of time at a time (`batch_size` hour,
//! day, month or year), each batch reading only its window of the refs and
//! sources that name an `event_time`, and replacing only its window of the
//! table. A failed batch leaves the others committed.

use chrono::{DateTime, Datelike, Duration, Months, NaiveDate, NaiveDateTime, Timelike, Utc};
use serde_json::{json, Value as Json};

use crate::manifest::Node;
use crate::project::event_time::{format_time, parse_time};

/// One batch: its id (dbt's: the start, compact) and its window [start, end).
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub id: String,
    pub start: NaiveDateTime,
    pub end: NaiveDateTime,
}

impl Batch {
    /// `model.batch` as templates see it: times in UTC as dbt prints them
    /// (`2024-01-01 00:00:00+00:00`), which the refs' filters use too.
    pub fn to_json(&self) -> Json {
        json!({
            "id": self.id,
            "event_time_start": format!("{}+00:00", format_time(self.start)),
            "event_time_end": format!("{}+00:00", format_time(self.end)),
        })
    }

    pub fn window(&self) -> Json {
        json!([format_time(self.start), format_time(self.end)])
    }
}

/// `model.batch` outside a batch: every field none.
pub fn no_batch() -> Json {
    json!({"id": null, "event_time_start": null, "event_time_end": null})
}

/// Is `node` a model built with the microbatch strategy?
pub fn is_microbatch(node: &Node) -> bool {
    node.materialized() == "incremental"
        && node
            .config
            .get("incremental_strategy")
            .and_then(Json::as_str)
            .is_some_and(|s| s.eq_ignore_ascii_case("microbatch"))
}

#[derive(Clone, Copy)]
enum Size {
    Hour,
    Day,
    Month,
    Year,
}

fn truncate(t: NaiveDateTime, size: Size) -> NaiveDateTime {
    let date = t.date();
    let day = |d: NaiveDate| d.and_hms_opt(0, 0, 0).unwrap_or(t);
    match size {
        Size::Hour => date.and_hms_opt(t.hour(), 0, 0).unwrap_or(t),
        Size::Day => day(date),
        Size::Month => day(date.with_day(1).unwrap_or(date)),
        Size::Year => day(NaiveDate::from_ymd_opt(date.year(), 1, 1).unwrap_or(date)),
    }
}

fn step(t: NaiveDateTime, size: Size, n: i64) -> Option<NaiveDateTime> {
    match size {
        Size::Hour => t.checked_add_signed(Duration::hours(n)),
        Size::Day => t.checked_add_signed(Duration::days(n)),
        Size::Month | Size::Year => {
            let months = if matches!(size, Size::Year) {
                n * 12
            } else {
                n
            };
            if months >= 0 {
                t.checked_add_months(Months::new(months as u32))
            } else {
                t.checked_sub_months(Months::new((-months) as u32))
            }
        }
    }
}

/// What decides the batches of one run.
pub struct Plan<'a> {
    pub node: &'a Node,
    /// The model's table exists and this is not a full refresh.
    pub incremental: bool,
    /// `--event-time-start` / `--event-time-end`.
    pub start: Option<NaiveDateTime>,
    pub end: Option<NaiveDateTime>,
    pub now: DateTime<Utc>,
}

/// The batches to build, oldest first: from `--event-time-start` (or, on
/// an incremental run, the current batch less `lookback` batches, or else
/// `begin`) up to `--event-time-end` (or now).
pub fn batches(plan: &Plan) -> Result<Vec<Batch>, String> {
    let config = &plan.node.config;
    let text = |k: &str| config.get(k).and_then(Json::as_str);
    if text("event_time").is_none() {
        return Err("a microbatch model needs `event_time`: the column that dates each row".into());
    }
    let size = match text("batch_size").map(str::to_lowercase).as_deref() {
        Some("hour") => Size::Hour,
        Some("day") => Size::Day,
        Some("month") => Size::Month,
        Some("year") => Size::Year,
        Some(other) => {
            return Err(format!(
                "batch_size '{other}' is not one of hour, day, month, year"
            ))
        }
        None => {
            return Err("a microbatch model needs `batch_size` (hour, day, month or year)".into())
        }
    };
    let now = plan.now.naive_utc();
    let end = plan.end.unwrap_or(now);
    let start = match plan.start {
        Some(s) => s,
        None if plan.incremental => {
            let lookback = config.get("lookback").and_then(Json::as_i64).unwrap_or(1);
            step(truncate(now, size), size, -lookback).ok_or("lookback reaches too far back")?
        }
        None => {
            let begin = text("begin").ok_or(
                "a microbatch model needs `begin` (the first event time) to be built from scratch",
            )?;
            parse_time(begin).ok_or_else(|| format!("begin '{begin}' is not a date or time"))?
        }
    };
    let mut out = Vec::new();
    let mut t = truncate(start, size);
    while t < end {
        let next = step(t, size, 1).ok_or("the batches run past the calendar")?;
        out.push(Batch {
            id: match size {
                Size::Hour => t.format("%Y%m%d%H").to_string(),
                _ => t.format("%Y%m%d").to_string(),
            },
            start: t,
            end: next,
        });
        t = next;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{Node, ResourceType};

    fn node(config: Json) -> Node {
        let mut n = Node::new(ResourceType::Model);
        for (k, v) in config.as_object().unwrap() {
            n.config.insert(k, v.clone());
        }
        n
    }

    #[test]
    fn batches_cover_the_window_by_batch_size() {
        let n = node(
            json!({"materialized": "incremental", "incremental_strategy": "microbatch",
                            "event_time": "at", "batch_size": "day", "begin": "2024-01-01", "lookback": 1}),
        );
        assert!(is_microbatch(&n));
        let now = DateTime::parse_from_rfc3339("2024-01-03T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let full = batches(&Plan {
            node: &n,
            incremental: false,
            start: None,
            end: None,
            now,
        })
        .unwrap();
        assert_eq!(
            full.iter().map(|b| b.id.as_str()).collect::<Vec<_>>(),
            ["20240101", "20240102", "20240103"]
        );
        assert_eq!(full[2].end.to_string(), "2024-01-04 00:00:00");
        // Later runs: the current batch and `lookback` before it.
        let later = batches(&Plan {
            node: &n,
            incremental: true,
            start: None,
            end: None,
            now,
        })
        .unwrap();
        assert_eq!(
            later.iter().map(|b| b.id.as_str()).collect::<Vec<_>>(),
            ["20240102", "20240103"]
        );
        let n = node(json!({"event_time": "at", "batch_size": "fortnight"}));
        assert!(batches(&Plan {
            node: &n,
            incremental: false,
            start: None,
            end: None,
            now
        })
        .is_err());
    }
}
