//! Artifacts other tools read: run_results.json in dbt's shape (v6).
//! manifest.json lives with the manifest (manifest/json.rs).

pub mod catalog;
pub mod docs_site;
pub mod junit;

use std::path::Path;

use serde_json::{json, Value as Json};

use crate::error::Result;
use crate::exec::result::NodeResult;
use crate::manifest::json::{metadata, write_json_atomic, Invocation};

pub const RUN_RESULTS_SCHEMA: &str = "https://schemas.getdbt.com/dbt/run-results/v6.json";

fn result_json(r: &NodeResult) -> Json {
    let ts =
        |t: &chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let mut response = json!({"_message": r.message.lines().next().unwrap_or_default()});
    if let Some(rows) = r.rows_affected {
        response["rows_affected"] = json!(rows);
    }
    json!({
        "status": r.status.as_str(),
        "timing": r.timing.iter().map(|t| json!({"name": t.name, "started_at": ts(&t.started_at), "completed_at": ts(&t.completed_at)})).collect::<Vec<_>>(),
        "thread_id": r.thread_id,
        "execution_time": r.execution_time,
        "adapter_response": if r.timing.is_empty() { json!({}) } else { response },
        "message": r.message,
        "failures": r.failures,
        "unique_id": r.unique_id,
        "compiled": r.compiled_code.is_some(),
        "compiled_code": r.compiled_code,
        "relation_name": r.relation_name,
        "batch_results": r.batch_results,
    })
}

/// Writes target/run_results.json.
pub fn write_run_results(
    target_dir: &Path,
    inv: &Invocation,
    results: &[NodeResult],
    elapsed: f64,
    args: Json,
) -> Result<()> {
    let doc = json!({
        "metadata": metadata(RUN_RESULTS_SCHEMA, inv),
        "results": results.iter().map(result_json).collect::<Vec<_>>(),
        "elapsed_time": elapsed,
        "args": args,
    });
    write_json_atomic(&target_dir.join("run_results.json"), &doc)
}
