//! `kiln source freshness`: how long ago each selected source was loaded,
//! judged against its warn_after / error_after; target/sources.json in
//! dbt's shape (v3).

use std::time::Instant;

use chrono::{DateTime, Utc};
use serde_json::{json, Value as Json};

use crate::adapter::{Cell, Db};
use crate::cli::FreshnessArgs;
use crate::commands::Session;
use crate::compile::Compiler;
use crate::error::Result;
use crate::manifest::json::{metadata, normalize_freshness, write_json_atomic};
use crate::manifest::{ResourceType, SourceDef};
use crate::output;

const SOURCES_SCHEMA: &str = "https://schemas.getdbt.com/dbt/sources/v3.json";

/// Seconds in a freshness period (dbt's minute, hour, day).
fn period_seconds(period: &str) -> Option<f64> {
    match period {
        "minute" => Some(60.0),
        "hour" => Some(3600.0),
        "day" => Some(86400.0),
        _ => None,
    }
}

/// A threshold's length in seconds, when it is set.
fn threshold(criteria: &Json, key: &str) -> Option<f64> {
    let c = criteria.get(key)?;
    let count = c.get("count")?.as_f64()?;
    let period = period_seconds(c.get("period")?.as_str()?)?;
    Some(count * period)
}

pub fn run(args: &FreshnessArgs) -> Result<i32> {
    let session = Session::load(&args.project)?;
    let compiler = Compiler::new(session.manifest.clone(), session.jinja.clone());
    let ids = session.select(&args.selection, &[ResourceType::Source])?;
    // Sources with no warn_after or error_after are not checked, as in dbt.
    let sources: Vec<&SourceDef> = ids
        .iter()
        .filter_map(|id| session.manifest.sources.get(id))
        .filter(|s| {
            let c = normalize_freshness(&s.freshness);
            threshold(&c, "warn_after").is_some() || threshold(&c, "error_after").is_some()
        })
        .collect();
    if sources.is_empty() {
        output::warn("no selected source has a freshness (warn_after or error_after) to check");
    }
    let db = crate::exec::open_db(&session)?;
    let mut results = Vec::new();
    let mut failed = false;
    let (mut pass, mut warn, mut error) = (0, 0, 0);
    for (i, source) in sources.iter().enumerate() {
        let started = Utc::now();
        let clock = Instant::now();
        let criteria = normalize_freshness(&source.freshness);
        let name = format!("{}.{}", source.source_name, source.name);
        let outcome = measure(&db, &compiler, source, &criteria);
        let seconds = clock.elapsed().as_secs_f64();
        let mut result = json!({
            "unique_id": source.unique_id,
            "criteria": criteria,
            "adapter_response": {},
            "timing": [{"name": "execute", "started_at": started.to_rfc3339(), "completed_at": Utc::now().to_rfc3339()}],
            "thread_id": "Thread-1",
            "execution_time": seconds,
        });
        let status = match outcome {
            Ok((loaded, now)) => {
                let age = now - loaded;
                let status = if threshold(&criteria, "error_after").is_some_and(|t| age > t) {
                    "error"
                } else if threshold(&criteria, "warn_after").is_some_and(|t| age > t) {
                    "warn"
                } else {
                    "pass"
                };
                result["max_loaded_at"] = json!(iso(loaded));
                result["snapshotted_at"] = json!(iso(now));
                result["max_loaded_at_time_ago_in_s"] = json!(age);
                result["status"] = json!(status);
                status.to_string()
            }
            Err(message) => {
                result["status"] = json!("runtime error");
                result["error"] = json!(message);
                output::error(&format!(
                    "Error checking the freshness of source {name}: {message}"
                ));
                "runtime error".to_string()
            }
        };
        match status.as_str() {
            "pass" => pass += 1,
            "warn" => warn += 1,
            _ => {
                error += 1;
                failed = true;
            }
        }
        let label = match status.as_str() {
            "pass" => "PASS",
            "warn" => "WARN",
            "error" => "ERROR STALE",
            _ => "ERROR",
        };
        output::info(&format!(
            "{} of {} {label:<5} freshness of {name} ... [{label} in {seconds:.2}s]",
            i + 1,
            sources.len()
        ));
        results.push(result);
    }
    let path = match &args.output {
        Some(p) => session.project.dir.join(p),
        None => session.project.target_dir().join("sources.json"),
    };
    let doc = json!({
        "metadata": metadata(SOURCES_SCHEMA, &session.invocation()),
        "results": results,
        "elapsed_time": session.started.elapsed().as_secs_f64(),
    });
    write_json_atomic(&path, &doc)?;
    output::info(&format!(
        "Done. PASS={pass} WARN={warn} ERROR={error} TOTAL={}",
        sources.len()
    ));
    Ok(if failed { 1 } else { 0 })
}

fn iso(epoch: f64) -> String {
    DateTime::<Utc>::from_timestamp_micros((epoch * 1e6) as i64)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
        .unwrap_or_default()
}

/// (newest load, now) as seconds since the epoch. Times without a zone are
/// taken as UTC, as dbt does (and as plain timestamps, which DuckDB handles
/// without its ICU extension).
fn measure(
    db: &Db,
    compiler: &Compiler,
    source: &SourceDef,
    criteria: &Json,
) -> std::result::Result<(f64, f64), String> {
    let filter = criteria["filter"]
        .as_str()
        .map(|f| format!(" where {f}"))
        .unwrap_or_default();
    // Seconds since the epoch: DuckDB's epoch(), Spark's unix_micros,
    // PostgreSQL's extract.
    let epoch = |expr: &str| match db.adapter.adapter_type() {
        "duckdb" => format!("epoch({expr})"),
        "spark" => format!("unix_micros({expr}) / 1000000.0"),
        _ => format!("extract(epoch from {expr})"),
    };
    let now = epoch("now()::timestamp");
    let sql = if let Some(query) = &source.loaded_at_query {
        let query = compiler
            .compile_inline(query, Some(db))
            .map_err(|e| e.to_string())?;
        format!(
            "select {}, {now} from ({query}) as t(max_loaded_at)",
            epoch("cast(max_loaded_at as timestamp)")
        )
    } else if let Some(field) = source
        .loaded_at_field
        .as_ref()
        .filter(|f| !f.trim().is_empty())
    {
        format!(
            "select {}, {now} from {}{filter}",
            epoch(&format!("cast(max({field}) as timestamp)")),
            source.relation().rendered()
        )
    } else {
        return Err(
            "it has no loaded_at_field or loaded_at_query; add one next to its freshness".into(),
        );
    };
    let table = db.conn().query(&sql).map_err(|e| e.message)?;
    let row = table
        .rows
        .first()
        .ok_or("the freshness query returned no row")?;
    let number = |c: &Cell| match c {
        Cell::Int(i) => Some(*i as f64),
        Cell::Float(f) => Some(*f),
        Cell::Decimal(d) => d.parse().ok(),
        _ => None,
    };
    match (row.first().and_then(number), row.get(1).and_then(number)) {
        (Some(loaded), Some(now)) => Ok((loaded, now)),
        _ => Err("no row has a loaded_at value, so the source counts as never loaded".into()),
    }
}
