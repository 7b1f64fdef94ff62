//! What a run prints: a line per node (index/total, what it is, status, rows,
//! seconds), a progress bar when stderr is a terminal, JSON events with
//! --log-format json, and the summary with each failure's message and SQL path.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use crate::exec::result::{NodeResult, Status};
use crate::manifest::{Node, ResourceType};
use crate::output;

pub struct Reporter {
    total: usize,
    done: AtomicUsize,
    bar: Option<ProgressBar>,
    started: Instant,
}

/// "view model main.orders", "seed file main_raw.raw_customers", ...
pub fn describe(node: &Node) -> String {
    let what = match node.resource_type {
        ResourceType::Model => format!("{} model", node.materialized()),
        ResourceType::Seed => "seed file".to_string(),
        ResourceType::Snapshot => "snapshot".to_string(),
        ResourceType::Test => "test".to_string(),
        ResourceType::UnitTest => "unit test".to_string(),
        other => other.as_str().to_string(),
    };
    match node.resource_type {
        ResourceType::Test | ResourceType::UnitTest | ResourceType::Exposure => {
            format!("{what} {}", node.name)
        }
        _ => format!("{what} {}.{}", node.schema, node.alias),
    }
}

fn dotted(left: &str, right: &str) -> String {
    const WIDTH: usize = 72;
    let dots = WIDTH
        .saturating_sub(left.chars().count() + right.chars().count() + 2)
        .max(3);
    format!("{left} {} {right}", ".".repeat(dots))
}

fn with_thousands(n: i64) -> String {
    let s = n.abs().to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

impl Reporter {
    pub fn new(total: usize) -> Reporter {
        let bar = (std::io::stderr().is_terminal() && !output::is_json() && total > 0).then(|| {
            let bar = ProgressBar::new(total as u64);
            bar.set_style(
                ProgressStyle::with_template("{bar:30} {pos}/{len} {elapsed_precise} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar
        });
        Reporter {
            total,
            done: AtomicUsize::new(0),
            bar,
            started: Instant::now(),
        }
    }

    fn line(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.println(text),
            None => output::info(text),
        }
    }

    pub fn started(&self, node: &Node) {
        if output::is_json() {
            output::event(
                "node_started",
                "info",
                &format!("started {}", describe(node)),
                json!({"unique_id": node.unique_id, "resource_type": node.resource_type.as_str(), "name": node.name}),
            );
        }
        if let Some(bar) = &self.bar {
            bar.set_message(node.name.clone());
        }
    }

    pub fn finished(&self, node: &Node, r: &NodeResult) {
        let n = self.done.fetch_add(1, Ordering::SeqCst) + 1;
        let status = match r.status {
            Status::Success => "OK",
            Status::Pass => "PASS",
            Status::Warn => "WARN",
            Status::Fail => "FAIL",
            Status::Error => "ERROR",
            Status::Skipped => "SKIP",
            Status::NoOp => "NO-OP",
            Status::PartialSuccess => "PARTIAL SUCCESS",
        };
        let detail = match (r.status, r.rows_affected) {
            (Status::Skipped, _) => "[SKIP]".to_string(),
            (Status::Error, _) => format!("[ERROR in {:.2}s]", r.execution_time),
            (Status::PartialSuccess, _) => format!("[PARTIAL SUCCESS in {:.2}s]", r.execution_time),
            (Status::Fail | Status::Warn, _) => format!(
                "[{status} {} in {:.2}s]",
                r.failures.unwrap_or(0),
                r.execution_time
            ),
            (_, Some(rows)) if node.resource_type == ResourceType::Seed => {
                format!(
                    "[INSERT {} in {:.2}s]",
                    with_thousands(rows),
                    r.execution_time
                )
            }
            (_, Some(rows))
                if node.materialized() != "view" && node.resource_type != ResourceType::Test =>
            {
                format!(
                    "[{} rows in {:.2}s]",
                    with_thousands(rows),
                    r.execution_time
                )
            }
            _ => format!("[{status} in {:.2}s]", r.execution_time),
        };
        let left = format!("{n} of {} {status:<5} {}", self.total, describe(node));
        if output::is_json() {
            output::event(
                "node_finished",
                if matches!(r.status, Status::Error | Status::Fail) {
                    "error"
                } else {
                    "info"
                },
                &dotted(&left, &detail),
                json!({
                    "unique_id": node.unique_id,
                    "resource_type": node.resource_type.as_str(),
                    "name": node.name,
                    "status": r.status.as_str(),
                    "rows_affected": r.rows_affected,
                    "failures": r.failures,
                    "execution_time": r.execution_time,
                    "index": n,
                    "total": self.total,
                }),
            );
        } else {
            self.line(&dotted(&left, &detail));
        }
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
    }

    /// The closing lines: failures in detail, then the counts.
    pub fn summary(&self, results: &[NodeResult], nodes: &dyn Fn(&str) -> Option<Node>) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        let count = |s: Status| results.iter().filter(|r| r.status == s).count();
        for r in results.iter().filter(|r| {
            matches!(
                r.status,
                Status::Error | Status::Fail | Status::Warn | Status::PartialSuccess
            )
        }) {
            let Some(node) = nodes(&r.unique_id) else {
                continue;
            };
            let kind = match r.status {
                Status::Warn => "Warning",
                Status::Fail => "Failure",
                Status::PartialSuccess => "Partial success",
                _ => "Error",
            };
            let mut text = format!(
                "\n{kind} in {} {} ({})\n  {}",
                node.resource_type.as_str(),
                node.name,
                node.display_path.display(),
                r.message.replace('\n', "\n  ")
            );
            if let Some(code) = &r.compiled_code {
                let line = line_in_compiled(&r.message, code)
                    .map(|n| format!(":{n}"))
                    .unwrap_or_default();
                text.push_str(&format!(
                    "\n  compiled code at target/{}{line}",
                    crate::compile::compiled_path(&node).display()
                ));
            }
            if output::is_json() {
                output::event(
                    "node_failure",
                    "error",
                    &text,
                    json!({"unique_id": r.unique_id}),
                );
            } else {
                output::error(text.trim_start());
            }
        }
        let pass = count(Status::Success) + count(Status::Pass);
        let mut no_op = match count(Status::NoOp) {
            0 => String::new(),
            n => format!(" NO-OP={n}"),
        };
        if count(Status::PartialSuccess) > 0 {
            no_op.push_str(&format!(
                " PARTIAL SUCCESS={}",
                count(Status::PartialSuccess)
            ));
        }
        let line = format!(
            "Done in {:.2}s. PASS={pass} WARN={} ERROR={} SKIP={}{no_op} TOTAL={}",
            self.started.elapsed().as_secs_f64(),
            count(Status::Warn),
            count(Status::Error) + count(Status::Fail),
            count(Status::Skipped),
            results.len()
        );
        if output::is_json() {
            output::event(
                "run_finished",
                "info",
                &line,
                json!({
                    "elapsed": self.started.elapsed().as_secs_f64(),
                    "pass": pass,
                    "warn": count(Status::Warn),
                    "error": count(Status::Error) + count(Status::Fail),
                    "skip": count(Status::Skipped),
                    "total": results.len(),
                }),
            );
        } else {
            output::info(&format!("\n{line}"));
        }
    }
}

/// The line of the compiled file that a database error points at: the
/// database quotes the line of its statement (`LINE 5: ...`), and the
/// statement wraps the compiled code, so the quoted text is found there.
fn line_in_compiled(message: &str, compiled: &str) -> Option<usize> {
    let quoted = message.lines().find_map(|l| {
        let rest = l.trim_start().strip_prefix("LINE ")?;
        let (_, text) = rest.split_once(": ")?;
        Some(
            text.trim()
                .trim_start_matches("...")
                .trim_end_matches("...")
                .trim(),
        )
    })?;
    if quoted.is_empty() {
        return None;
    }
    compiled
        .lines()
        .position(|l| l.contains(quoted))
        .map(|i| i + 1)
}

#[cfg(test)]
mod line_tests {
    use super::line_in_compiled;

    #[test]
    fn finds_the_quoted_line_in_the_compiled_code() {
        let message =
            "column \"nope\" does not exist\nLINE 5:   nope from \"db\".\"s\".\"t\"\n          ^";
        let compiled = "select 1 as a,\n  nope from \"db\".\"s\".\"t\"";
        assert_eq!(line_in_compiled(message, compiled), Some(2));
        assert_eq!(line_in_compiled("no position", compiled), None);
    }
}
