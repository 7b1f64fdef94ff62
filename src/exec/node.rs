//! Running one node on a worker's connection: compile it against the live
//! database, then call its materialization (a Jinja macro, overridable) and
//! record what it did. A failure rolls the node's transaction back.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;
use minijinja::Value;
use serde_json::Value as Json;

use crate::adapter::{Db, RelationKind};
use crate::compile::{compiled_path, Compiler};
use crate::exec::result::{NodeResult, Status, Timing};
use crate::jinja::{errors, Ctx, Jinja, Scope};
use crate::manifest::{Compiled, Node, ResourceType};

/// What every node of a run shares.
pub struct RunContext<'a> {
    pub compiler: &'a Compiler,
    pub project_dir: &'a Path,
    pub target_dir: &'a Path,
}

/// The materialization macro for `name`: the root project's first, then the
/// packages', then kiln's own; adapter-specific before default.
pub fn find_materialization(jinja: &Jinja, name: &str) -> Option<usize> {
    let macros = &jinja.macros;
    let mut packages: Vec<&str> = vec![jinja.root_package.as_str()];
    packages.extend(
        jinja
            .package_names
            .iter()
            .map(String::as_str)
            .filter(|p| *p != jinja.root_package),
    );
    packages.push("dbt");
    for pkg in packages {
        for adapter in jinja.dispatch_prefixes() {
            if let Some(i) = macros.in_package(pkg, &format!("materialization_{name}_{adapter}")) {
                return Some(i);
            }
        }
    }
    None
}

/// A node's hooks as the materialization sees them: [{sql, transaction}].
fn hooks_value(node: &Node, key: &str) -> Value {
    let hooks: Vec<Json> = node
        .config
        .get(key)
        .and_then(Json::as_array)
        .map(|a| {
            a.iter()
                .map(|h| match h {
                    Json::String(s) => serde_json::json!({"sql": s, "transaction": true}),
                    other => other.clone(),
                })
                .collect()
        })
        .unwrap_or_default();
    crate::jinja::builtins::json_to_value(&Json::Array(hooks))
}

fn write_file(path: &Path, text: &str) {
    // Artifacts for humans; a failure to write them does not fail the node.
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let _ = std::fs::write(path, text);
}

/// Runs `node` and returns its result (and its compiled SQL, when it compiled).
pub fn run_node(
    rc: &RunContext,
    node: &Node,
    db: &Db,
    thread_id: &str,
) -> (NodeResult, Option<Compiled>) {
    if node.resource_type == ResourceType::UnitTest {
        let result = crate::exec::unit::run_unit_test(rc, node, db, thread_id);
        let compiled = result.compiled_code.clone().map(|sql| {
            write_file(&rc.target_dir.join(compiled_path(node)), &sql);
            Compiled {
                sql: sql.into(),
                extra_ctes: Vec::new(),
            }
        });
        return (result, compiled);
    }
    let started = Instant::now();
    let mut timing = Vec::new();
    let mut result = NodeResult {
        unique_id: node.unique_id.clone(),
        status: Status::Success,
        message: String::new(),
        rows_affected: None,
        failures: None,
        timing: Vec::new(),
        execution_time: 0.0,
        thread_id: thread_id.to_string(),
        compiled_code: None,
        relation_name: node.relation_name(),
        batch_results: None,
    };

    if node.resource_type == ResourceType::Exposure {
        result.status = Status::NoOp;
        result.message = "NO-OP".to_string();
        result.relation_name = None;
        return (result, None);
    }
    if node.language == "python" {
        result.status = Status::Error;
        result.message = crate::manifest::python_model::NOT_RUN.to_string();
        return (result, None);
    }
    if crate::exec::microbatch::is_microbatch(node) {
        return run_batches(rc, node, db, result, started);
    }
    let compile_start = Utc::now();
    let compiled = if node.resource_type == ResourceType::Seed {
        Ok(Compiled {
            sql: "".into(),
            extra_ctes: Vec::new(),
        })
    } else {
        rc.compiler.compile_node(node, Some(db))
    };
    timing.push(Timing {
        name: "compile",
        started_at: compile_start,
        completed_at: Utc::now(),
    });
    let compiled = match compiled {
        Ok(c) => c,
        Err(e) => {
            // A query the template ran may have opened (and failed) a
            // transaction: end it, or the worker's next node inherits it.
            let mut conn = db.conn();
            if conn.in_transaction() {
                let _ = conn.rollback();
            }
            drop(conn);
            result.status = Status::Error;
            result.message = format!("Compilation Error\n{e}");
            result.execution_time = started.elapsed().as_secs_f64();
            result.timing = timing;
            return (result, None);
        }
    };
    if node.resource_type != ResourceType::Seed {
        write_file(&rc.target_dir.join(compiled_path(node)), &compiled.sql);
        result.compiled_code = Some(compiled.sql.to_string());
    }
    if node.resource_type == ResourceType::Model && crate::exec::contract::enforced(node) {
        if let Err(problem) = crate::exec::contract::check(db, node, &compiled.sql) {
            result.status = Status::Error;
            result.message = format!("Contract Error in model {}: {problem}", node.name);
            result.execution_time = started.elapsed().as_secs_f64();
            result.timing = timing;
            return (result, Some(compiled));
        }
    }

    let exec_start = Utc::now();
    let outcome = materialize(rc, node, &compiled, db, None);
    timing.push(Timing {
        name: "execute",
        started_at: exec_start,
        completed_at: Utc::now(),
    });
    match outcome {
        Ok(done) => {
            result.rows_affected = done.rows;
            result.message = match node.resource_type {
                ResourceType::Seed => format!("INSERT {}", done.rows.unwrap_or(0)),
                _ => "OK".to_string(),
            };
            if node.resource_type == ResourceType::Test {
                test_verdict(node, done.main_row.as_deref(), &mut result);
            }
            let mut run_path = rc
                .target_dir
                .join("run")
                .join(&node.package_name)
                .join(&node.original_file_path);
            if node.test.is_some() {
                run_path.push(&node.path);
            }
            write_file(&run_path, &done.executed.join(";\n\n"));
        }
        Err(message) => {
            result.status = Status::Error;
            result.message = message;
        }
    }
    result.timing = timing;
    result.execution_time = started.elapsed().as_secs_f64();
    (result, Some(compiled))
}

/// What a materialization did.
struct Materialized {
    /// Rows affected by the `main` statement.
    rows: Option<i64>,
    /// The first row the `main` statement returned (tests: failures, should_warn, should_error).
    main_row: Option<Vec<Value>>,
    /// Every statement executed, in order.
    executed: Vec<String>,
}

/// A test's status from dbt's wrapper query: failures, should_warn, should_error.
fn test_verdict(node: &Node, row: Option<&[Value]>, result: &mut NodeResult) {
    let Some(row) = row else {
        result.status = Status::Error;
        result.message = "the test query returned no row".into();
        return;
    };
    let failures = row.first().and_then(|v| v.as_i64()).unwrap_or(0);
    let should_warn = row.get(1).is_some_and(|v| v.is_true());
    let should_error = row.get(2).is_some_and(|v| v.is_true());
    let severity = node
        .config
        .get_str("severity")
        .unwrap_or("ERROR")
        .to_ascii_uppercase();
    result.failures = Some(failures);
    result.rows_affected = None;
    let (status, condition) = if severity == "ERROR" && should_error {
        (
            Status::Fail,
            node.config
                .get_str("error_if")
                .unwrap_or("!= 0")
                .to_string(),
        )
    } else if should_warn {
        (
            Status::Warn,
            node.config.get_str("warn_if").unwrap_or("!= 0").to_string(),
        )
    } else {
        (Status::Pass, String::new())
    };
    result.status = status;
    result.message = match status {
        Status::Pass => "PASS".into(),
        _ => format!(
            "Got {failures} result{}, configured to {} if {condition}",
            if failures == 1 { "" } else { "s" },
            if status == Status::Fail {
                "fail"
            } else {
                "warn"
            }
        ),
    };
}

/// Calls the node's materialization; returns what it did, or the error's message.
fn materialize(
    rc: &RunContext,
    node: &Node,
    compiled: &Compiled,
    db: &Db,
    batch: Option<(&Json, bool)>,
) -> Result<Materialized, String> {
    let jinja = &rc.compiler.jinja;
    let name = node.materialized();
    let Some(idx) = find_materialization(jinja, name) else {
        return Err(format!(
            "no materialization '{name}' exists for {}: define `{{% materialization {name}, default %}}` in a macro file",
            jinja.adapter_type
        ));
    };
    let mut scope: Scope = match batch {
        Some((b, replace)) => {
            let mut scope = rc.compiler.scope_for_batch(node, Some(db), b);
            // The first batch of a build from scratch creates the table.
            scope
                .extra
                .insert("microbatch_replace".into(), Value::from(replace));
            scope
        }
        None => rc.compiler.scope_for(node, Some(db)),
    };
    let sql = Value::from(&*compiled.sql);
    scope.extra.insert("sql".into(), sql.clone());
    scope.extra.insert("compiled_code".into(), sql);
    scope
        .extra
        .insert("pre_hooks".into(), hooks_value(node, "pre-hook"));
    scope
        .extra
        .insert("post_hooks".into(), hooks_value(node, "post-hook"));
    if node.resource_type == ResourceType::Seed {
        let path: PathBuf = rc.project_dir.join(&node.display_path);
        scope.extra.insert(
            "seed_file_path".into(),
            Value::from(path.to_string_lossy().to_string()),
        );
    }
    let scope = Arc::new(scope);
    let ctx = Ctx {
        scope: scope.clone(),
        package: Arc::from(node.package_name.as_str()),
        depth: 0,
        extra_args: None,
    };
    let returned = ctx.call_macro(idx, &[]);
    let mut conn = db.conn();
    let returned = match returned {
        Ok(v) => v,
        Err(e) => {
            if conn.in_transaction() {
                let _ = conn.rollback();
            }
            let interrupted = crate::exec::cancel::is_cancelled();
            let message = errors::describe(&e);
            return Err(if interrupted {
                format!("cancelled: {message}")
            } else {
                message
            });
        }
    };
    // A custom materialization may forget adapter.commit(): finish its work.
    if conn.in_transaction() {
        if let Err(e) = conn.commit() {
            let _ = conn.rollback();
            return Err(e.message);
        }
    }
    drop(conn);
    if let Ok(relations) = returned.get_attr("relations") {
        if let Ok(iter) = relations.try_iter() {
            for r in iter {
                let text = |k: &str| {
                    r.get_attr(k)
                        .ok()
                        .filter(|v| !v.is_none() && !v.is_undefined())
                        .map(|v| v.to_string())
                };
                if let (Some(d), Some(s), Some(i)) =
                    (text("database"), text("schema"), text("identifier"))
                {
                    let kind = match text("type").as_deref() {
                        Some("view") => RelationKind::View,
                        _ => RelationKind::Table,
                    };
                    db.cache.add(&d, &s, &i, kind);
                }
            }
        }
    }
    let main = scope
        .results
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get("main")
        .cloned();
    let rows = main
        .as_ref()
        .and_then(|r| r.get_attr("response").ok())
        .and_then(|resp| resp.get_attr("rows_affected").ok())
        .and_then(|v| v.as_i64());
    let main_row = main
        .as_ref()
        .and_then(|r| r.get_attr("table").ok())
        .and_then(|t| t.get_item(&Value::from(0)).ok())
        .filter(|row| !row.is_undefined() && !row.is_none())
        .and_then(|row| row.try_iter().ok().map(|it| it.collect()));
    let executed = scope
        .executed
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    Ok(Materialized {
        rows,
        main_row,
        executed,
    })
}

/// A microbatch model: its batches compiled and materialized one by one,
/// each in its own transaction; a failed batch does not undo the others.
/// What one microbatch batch did: its rows or its problem, and its SQL.
type BatchOutcome = (Result<i64, String>, Option<Compiled>);

/// How many of a microbatch model's batches may run at once: its run's
/// threads with `concurrent_batches: true`, else one.
fn concurrent_workers(rc: &RunContext, node: &Node) -> usize {
    if node
        .config
        .get("concurrent_batches")
        .and_then(Json::as_bool)
        != Some(true)
    {
        return 1;
    }
    rc.compiler
        .jinja
        .target
        .get_attr("threads")
        .ok()
        .and_then(|t| usize::try_from(t).ok())
        .unwrap_or(1)
}

fn run_batches(
    rc: &RunContext,
    node: &Node,
    db: &Db,
    mut result: NodeResult,
    started: Instant,
) -> (NodeResult, Option<Compiled>) {
    use crate::exec::microbatch::{batches, Plan};
    use crate::project::event_time::parse_time;
    let flags = &rc.compiler.jinja.flags;
    let flag = |k: &str| flags.get_attr(k).ok().filter(|v| v.is_true());
    let time = |k: &str| flag(k).and_then(|v| v.as_str().and_then(parse_time));
    let full_refresh = flag("FULL_REFRESH").is_some()
        || node.config.get("full_refresh").and_then(Json::as_bool) == Some(true);
    let exists = db
        .cache
        .get(
            db.conn().as_mut(),
            &node.database,
            &node.schema,
            &node.alias,
        )
        .ok()
        .flatten()
        .is_some_and(|r| r.kind == RelationKind::Table);
    let plan = Plan {
        node,
        incremental: exists && !full_refresh,
        start: time("EVENT_TIME_START"),
        end: time("EVENT_TIME_END"),
        now: Utc::now(),
    };
    let batches = match batches(&plan) {
        Ok(b) => b,
        Err(e) => {
            result.status = Status::Error;
            result.message = format!("Compilation Error\n{e}");
            return (result, None);
        }
    };
    // One batch on one connection: its rows or its problem, and its compiled SQL.
    let run_one = |i: usize, db: &Db, replace: bool| -> BatchOutcome {
        let batch = &batches[i];
        let json = batch.to_json();
        let clock = Instant::now();
        let mut compiled_batch = None;
        let outcome = rc
            .compiler
            .compile_batch(node, Some(db), &json)
            .map_err(|e| e.to_string())
            .and_then(|compiled| {
                let outcome = materialize(rc, node, &compiled, db, Some((&json, replace)));
                compiled_batch = Some(compiled);
                outcome
            })
            .map(|m| m.rows.unwrap_or(0));
        crate::output::info(&format!(
            "    batch {} of {} ({}) of {} {} in {:.2}s",
            i + 1,
            batches.len(),
            batch.id,
            node.name,
            if outcome.is_ok() { "OK" } else { "ERROR" },
            clock.elapsed().as_secs_f64()
        ));
        (outcome, compiled_batch)
    };
    let mut outcomes: Vec<Option<BatchOutcome>> = (0..batches.len()).map(|_| None).collect();
    // The first batch of a new table builds it, alone; with
    // `concurrent_batches: true` the others then run side by side on
    // connections of their own, up to the run's threads (dbt-duckdb
    // supports microbatch concurrency).
    let mut next = 0;
    if !plan.incremental && !batches.is_empty() {
        outcomes[0] = Some(run_one(0, db, true));
        next = 1;
    }
    let built = plan.incremental || outcomes[0].as_ref().is_some_and(|(o, _)| o.is_ok());
    let workers = if built {
        concurrent_workers(rc, node).min(batches.len().saturating_sub(next))
    } else {
        1
    };
    if workers > 1 {
        let queue = std::sync::Mutex::new(next..batches.len());
        let results = std::sync::Mutex::new(Vec::new());
        std::thread::scope(|scope| {
            for _ in 0..workers {
                scope.spawn(|| {
                    let Ok(conn) = db.adapter.connect() else {
                        return;
                    };
                    let own = Db {
                        adapter: db.adapter.clone(),
                        conn: std::sync::Arc::new(std::sync::Mutex::new(conn)),
                        cache: db.cache.clone(),
                    };
                    loop {
                        let i = match queue.lock().unwrap_or_else(|e| e.into_inner()).next() {
                            Some(i) => i,
                            None => break,
                        };
                        let one = run_one(i, &own, false);
                        results
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .push((i, one));
                    }
                });
            }
        });
        for (i, one) in results.into_inner().unwrap_or_else(|e| e.into_inner()) {
            outcomes[i] = Some(one);
        }
    }
    // Sequentially: the rest (all of them without concurrency), and any a
    // worker could not run for want of a connection.
    for i in next..batches.len() {
        if outcomes[i].is_none() {
            let replace = !plan.incremental && !outcomes.iter().flatten().any(|(o, _)| o.is_ok());
            outcomes[i] = Some(run_one(i, db, replace));
        }
    }
    let (mut done, mut failed, mut problems) = (Vec::new(), Vec::new(), Vec::new());
    let mut rows = 0;
    let mut last: Option<Compiled> = None;
    for (batch, (outcome, compiled)) in batches.iter().zip(outcomes.into_iter().flatten()) {
        if compiled.is_some() {
            last = compiled;
        }
        match outcome {
            Ok(n) => {
                rows += n;
                done.push(batch.window());
            }
            Err(message) => {
                problems.push(format!(
                    "batch {} ({} to {}): {message}",
                    batch.id, batch.start, batch.end
                ));
                failed.push(batch.window());
            }
        }
    }
    result.status = match (done.is_empty(), failed.is_empty()) {
        (_, true) => Status::Success,
        (true, false) => Status::Error,
        (false, false) => Status::PartialSuccess,
    };
    result.message = if problems.is_empty() {
        format!("{} batches", batches.len())
    } else {
        problems.join("\n")
    };
    result.rows_affected = Some(rows);
    result.batch_results = Some(serde_json::json!({"successful": done, "failed": failed}));
    if let Some(c) = &last {
        write_file(&rc.target_dir.join(compiled_path(node)), &c.sql);
        result.compiled_code = Some(c.sql.to_string());
    }
    result.execution_time = started.elapsed().as_secs_f64();
    (result, last)
}
