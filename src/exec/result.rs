//! The outcome of running one node, as run_results.json records it.

use chrono::{DateTime, Utc};

/// dbt's statuses: models and seeds succeed, error or are skipped; tests
/// pass, warn, fail or error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Success,
    Error,
    Skipped,
    Pass,
    Warn,
    Fail,
    /// An exposure in `build`: nothing to run once its parents are built.
    NoOp,
    /// A microbatch model some of whose batches failed.
    PartialSuccess,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Success => "success",
            Status::Error => "error",
            Status::Skipped => "skipped",
            Status::Pass => "pass",
            Status::Warn => "warn",
            Status::Fail => "fail",
            Status::NoOp => "no-op",
            Status::PartialSuccess => "partial success",
        }
    }

    /// Does this outcome stop the node's descendants?
    pub fn blocks_children(self) -> bool {
        matches!(self, Status::Error | Status::Fail | Status::Skipped)
    }
}

#[derive(Debug, Clone)]
pub struct Timing {
    pub name: &'static str,
    pub started_at: DateTime<Utc>,
    pub completed_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct NodeResult {
    pub unique_id: String,
    pub status: Status,
    pub message: String,
    pub rows_affected: Option<i64>,
    pub failures: Option<i64>,
    pub timing: Vec<Timing>,
    pub execution_time: f64,
    pub thread_id: String,
    pub compiled_code: Option<String>,
    pub relation_name: Option<String>,
    /// A microbatch model's windows: {successful: [[start, end]], failed: [...]}.
    pub batch_results: Option<serde_json::Value>,
}

impl NodeResult {
    /// A node that did not run because an ancestor failed (or the run stopped).
    pub fn skipped(unique_id: &str, message: String) -> NodeResult {
        NodeResult {
            unique_id: unique_id.to_string(),
            status: Status::Skipped,
            message,
            rows_affected: None,
            failures: None,
            timing: Vec::new(),
            execution_time: 0.0,
            thread_id: String::new(),
            compiled_code: None,
            relation_name: None,
            batch_results: None,
        }
    }
}
