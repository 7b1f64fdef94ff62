//! Execution: on-run-start hooks, schemas created up front, the selected
//! nodes run by N workers (each with its own connection) in dependency
//! order, on-run-end hooks. Nodes that fail skip their descendants.

pub mod cancel;
pub mod contract;
pub mod defer;
pub mod microbatch;
pub mod node;
pub mod report;
pub mod result;
pub mod scheduler;
pub mod unit;

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use chrono::Utc;
use minijinja::Value;
use serde_json::{json, Value as Json};

use crate::adapter::{Adapter, Db, RelationCache};
use crate::commands::Session;
use crate::compile::Compiler;
use crate::error::{Error, Result};
use crate::jinja::relation::Relation;
use crate::jinja::{errors, Ctx, Scope};
use crate::manifest::{CompiledNodes, Node, ResourceType};
use node::{run_node, RunContext};
use report::Reporter;
use result::{NodeResult, Status, Timing};
use scheduler::{Scheduler, SkipReason};

pub struct RunOptions {
    pub threads: usize,
    pub fail_fast: bool,
    /// `build`: a node's children wait for its tests, and a failing test skips them.
    pub tests_gate_children: bool,
    /// `--defer`: refs to these nodes read the previous run's relations.
    pub deferred: HashMap<String, Relation>,
}

pub struct RunOutcome {
    pub results: Vec<NodeResult>,
    pub compiled: CompiledNodes,
}

impl RunOutcome {
    /// 0 when every node succeeded (warnings allowed), 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        let failed = self.results.iter().any(|r| {
            matches!(
                r.status,
                Status::Error | Status::Fail | Status::Skipped | Status::PartialSuccess
            )
        });
        i32::from(failed)
    }
}

/// Opens the target's database.
pub fn open_adapter(session: &Session) -> Result<Arc<dyn Adapter>> {
    crate::adapter::open(&session.project.target)
}

/// One connection to the profile's database, for commands that run a
/// query or a macro rather than nodes (show, run-operation).
pub fn open_db(session: &Session) -> Result<Db> {
    let adapter = open_adapter(session)?;
    let cache = Arc::new(RelationCache::for_adapter(adapter.as_ref()));
    db_for(&adapter, &cache)
}

fn db_for(adapter: &Arc<dyn Adapter>, cache: &Arc<RelationCache>) -> Result<Db> {
    let conn = adapter
        .connect()
        .map_err(|e| Error::new(format!("could not connect to the database: {e}")))?;
    Ok(Db {
        adapter: adapter.clone(),
        conn: Arc::new(Mutex::new(conn)),
        cache: cache.clone(),
    })
}

/// Runs `ids` (in dependency order) with hooks around them.
pub fn execute(session: &Session, ids: &[String], opts: &RunOptions) -> Result<RunOutcome> {
    cancel::reset();
    cancel::install_handler();
    let adapter = open_adapter(session)?;
    let cache = Arc::new(RelationCache::for_adapter(adapter.as_ref()));
    let main = db_for(&adapter, &cache)?;
    let compiler = Compiler::new(session.manifest.clone(), session.jinja.clone())
        .defer_to(opts.deferred.clone())
        .with_cache(session.cache.clone());
    let target_dir = session.project.target_dir();
    let mut results: Vec<NodeResult> = Vec::new();

    let start_hooks = run_hooks(session, &compiler, &main, "on-run-start", &[])?;
    let start_failed = start_hooks.iter().any(|r| r.status == Status::Error);
    results.extend(start_hooks);

    // Exposures in `build` run as no-ops after their parents, as in dbt 1.10+.
    let exposures: Vec<Node> = ids
        .iter()
        .filter_map(|id| session.manifest.exposures.get(id))
        .map(|e| Node {
            unique_id: e.unique_id.clone(),
            package_name: e.package_name.clone(),
            name: e.name.clone(),
            original_file_path: e.original_file_path.clone(),
            display_path: e.original_file_path.clone().into(),
            depends_on_nodes: e.depends_on_nodes.clone(),
            ..Node::new(ResourceType::Exposure)
        })
        .collect();
    // Ephemeral models run inside their children; everything else is scheduled.
    let runnable: Vec<&Node> = ids
        .iter()
        .filter_map(|id| session.manifest.nodes.get(id).map(|n| &**n))
        .filter(|n| !n.is_ephemeral() && n.resource_type != ResourceType::Analysis)
        .chain(exposures.iter())
        .collect();
    let reporter = Reporter::new(runnable.len());
    let mut compiled = CompiledNodes::default();

    // As dbt 1.9+: a failed on-run-start hook skips the nodes only when the
    // project sets `flags: {skip_nodes_if_on_run_start_fails: true}`.
    let skip_on_start_failure = session
        .project
        .flags
        .get("skip_nodes_if_on_run_start_fails")
        .and_then(Json::as_bool)
        == Some(true);
    if start_failed && skip_on_start_failure {
        for n in &runnable {
            results.push(NodeResult::skipped(
                &n.unique_id,
                "skipped: on-run-start failed".into(),
            ));
        }
        reporter.summary(&results, &|id| {
            session.manifest.nodes.get(id).map(|n| (**n).clone())
        });
        return Ok(RunOutcome { results, compiled });
    }
    create_schemas(&compiler, &main, &runnable)?;

    let mut parents = scheduled_parents(session, &runnable);
    unit_tests_first(&runnable, &mut parents, opts.tests_gate_children);
    if opts.tests_gate_children {
        add_test_gates(session, &runnable, &mut parents);
    }
    let scheduler = Scheduler::new(&parents);
    let rc = RunContext {
        compiler: &compiler,
        project_dir: &session.project.dir,
        target_dir: &target_dir,
    };
    let finished: Mutex<Vec<(NodeResult, Option<crate::manifest::Compiled>)>> =
        Mutex::new(Vec::new());
    let workers = opts.threads.max(1).min(runnable.len().max(1));
    let worker_error: Mutex<Option<Error>> = Mutex::new(None);
    std::thread::scope(|s| {
        for w in 0..workers {
            let (scheduler, rc, runnable, finished, reporter) =
                (&scheduler, &rc, &runnable, &finished, &reporter);
            let (adapter, cache, worker_error) = (&adapter, &cache, &worker_error);
            // Named as dbt names its threads: templates read it as `thread_id`.
            let spawned = std::thread::Builder::new()
                .name(format!("Thread-{}", w + 1))
                .spawn_scoped(s, move || {
                    let db = match db_for(adapter, cache) {
                        Ok(db) => db,
                        Err(e) => {
                            *worker_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                            scheduler.stop();
                            return;
                        }
                    };
                    let interrupt_id = w + 1;
                    cancel::register(interrupt_id, db.conn().interrupter());
                    let thread_id = format!("Thread-{}", w + 1);
                    while let Some(i) = scheduler.next() {
                        if cancel::is_cancelled() {
                            scheduler.stop();
                            break;
                        }
                        let node = runnable[i];
                        reporter.started(node);
                        let (mut result, code) = run_node(rc, node, &db, &thread_id);
                        promote_test_warning(&mut result);
                        reporter.finished(node, &result);
                        let failed = result.status.blocks_children();
                        finished
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .push((result, code));
                        if failed && (opts.fail_fast || cancel::is_cancelled()) {
                            scheduler.stop();
                            if opts.fail_fast {
                                cancel::cancel();
                            }
                        }
                        scheduler.finish(i, failed);
                    }
                    cancel::unregister(interrupt_id);
                });
            if let Err(e) = spawned {
                *worker_error.lock().unwrap_or_else(|p| p.into_inner()) =
                    Some(Error::new(format!("could not start a worker thread: {e}")));
                scheduler.stop();
            }
        }
    });
    if let Some(e) = worker_error.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e);
    }
    for (r, code) in finished.into_inner().unwrap_or_else(|p| p.into_inner()) {
        if let Some(c) = code {
            compiled.insert(r.unique_id.clone(), c);
        }
        results.push(r);
    }
    for (i, why) in scheduler.skipped() {
        let node = runnable[i];
        let message = match why {
            SkipReason::UpstreamFailed(p) => format!("skipped: {} failed", runnable[p].unique_id),
            SkipReason::Stopped => "skipped: the run was stopped".to_string(),
        };
        let r = NodeResult::skipped(&node.unique_id, message);
        reporter.finished(node, &r);
        results.push(r);
    }
    if cancel::is_cancelled() && !opts.fail_fast {
        crate::output::warn("the run was interrupted; finished nodes are kept, the rest were rolled back or skipped");
    }
    let end_hooks = run_hooks(session, &compiler, &main, "on-run-end", &results)?;
    results.extend(end_hooks);
    reporter.summary(&results, &|id| {
        session.manifest.nodes.get(id).map(|n| (**n).clone())
    });
    Ok(RunOutcome { results, compiled })
}

/// For each runnable node, the runnable nodes it waits for (through
/// ephemeral or unselected nodes too, as dbt's subset graph does).
fn scheduled_parents(session: &Session, runnable: &[&Node]) -> Vec<Vec<usize>> {
    let index: HashMap<&str, usize> = runnable
        .iter()
        .enumerate()
        .map(|(i, n)| (n.unique_id.as_str(), i))
        .collect();
    let mut memo: HashMap<String, BTreeSet<usize>> = HashMap::new();
    fn reach(
        id: &str,
        session: &Session,
        index: &HashMap<&str, usize>,
        memo: &mut HashMap<String, BTreeSet<usize>>,
        depth: usize,
    ) -> BTreeSet<usize> {
        if let Some(m) = memo.get(id) {
            return m.clone();
        }
        let mut out = BTreeSet::new();
        if let Some(node) = session.manifest.nodes.get(id) {
            for p in &node.depends_on_nodes {
                match index.get(p.as_str()) {
                    Some(&i) => {
                        out.insert(i);
                    }
                    None if depth < 10_000 => out.extend(reach(p, session, index, memo, depth + 1)),
                    None => {}
                }
            }
        }
        memo.insert(id.to_string(), out.clone());
        out
    }
    runnable
        .iter()
        .map(|n| {
            // From the node's own parents: an exposure is not in the manifest's nodes.
            let mut out = BTreeSet::new();
            for p in &n.depends_on_nodes {
                match index.get(p.as_str()) {
                    Some(&i) => {
                        out.insert(i);
                    }
                    None => out.extend(reach(p, session, &index, &mut memo, 1)),
                }
            }
            out.into_iter().collect()
        })
        .collect()
}

/// Unit tests need nothing built; their model waits for them (as in dbt build,
/// a failing unit test skips the model). In `build` (`in_turn`), as dbt
/// does, a model's unit tests run one after another once its parents are
/// built, and the first that fails or errors skips the rest and the model.
fn unit_tests_first(runnable: &[&Node], parents: &mut [Vec<usize>], in_turn: bool) {
    let index: HashMap<&str, usize> = runnable
        .iter()
        .enumerate()
        .map(|(i, n)| (n.unique_id.as_str(), i))
        .collect();
    // The model's own parents, before its unit tests join them.
    let model_parents: Vec<Vec<usize>> = parents.to_vec();
    let mut last_of_model: HashMap<usize, usize> = HashMap::new();
    for (u, node) in runnable
        .iter()
        .enumerate()
        .filter(|(_, n)| n.resource_type == ResourceType::UnitTest)
    {
        parents[u].clear();
        for model in &node.depends_on_nodes {
            let Some(&m) = index.get(model.as_str()) else {
                continue;
            };
            if in_turn {
                match last_of_model.insert(m, u) {
                    Some(previous) => parents[u].push(previous),
                    None => parents[u].extend(model_parents[m].iter().copied()),
                }
            }
            if !parents[m].contains(&u) {
                parents[m].push(u);
            }
        }
    }
}

/// dbt build: the children of a tested node wait for its tests. A test on
/// several nodes gates only the children that depend on all of them.
fn add_test_gates(session: &Session, runnable: &[&Node], parents: &mut [Vec<usize>]) {
    let index: HashMap<&str, usize> = runnable
        .iter()
        .enumerate()
        .map(|(i, n)| (n.unique_id.as_str(), i))
        .collect();
    let dag = &session.dag;
    let mut ancestors: HashMap<usize, crate::graph::NodeSet> = HashMap::new();
    for (t, test) in runnable
        .iter()
        .enumerate()
        .filter(|(_, n)| n.resource_type == ResourceType::Test)
    {
        let tested: Vec<usize> = test
            .depends_on_nodes
            .iter()
            .filter_map(|p| dag.position(p))
            .collect();
        let mut gated: BTreeSet<usize> = BTreeSet::new();
        for &p in &tested {
            for c in dag.children_of(p) {
                let Some(&ci) = index.get(dag.id(c)) else {
                    continue;
                };
                // Unit tests run before their model; gating them would loop.
                if matches!(
                    runnable[ci].resource_type,
                    ResourceType::Test | ResourceType::UnitTest
                ) {
                    continue;
                }
                let up = ancestors
                    .entry(c)
                    .or_insert_with(|| dag.select_parents(&std::iter::once(c).collect(), None));
                if tested.iter().all(|p| up.contains(p)) {
                    gated.insert(ci);
                }
            }
        }
        for ci in gated {
            if !parents[ci].contains(&t) {
                parents[ci].push(t);
            }
        }
    }
}

/// --warn-error: a test at warn severity that found rows fails instead.
fn promote_test_warning(result: &mut NodeResult) {
    if result.status == crate::exec::result::Status::Warn
        && crate::output::promotes("LogTestResult")
    {
        result.status = crate::exec::result::Status::Fail;
        result.message = format!(
            "{} (a warning, an error under --warn-error)",
            result.message
        );
    }
}

/// A test that keeps its failing rows needs its audit schema.
fn stores_failures(n: &Node, flag: bool) -> bool {
    if n.resource_type != ResourceType::Test {
        return false;
    }
    match n.config.get("store_failures_as").and_then(Json::as_str) {
        Some(kind) => matches!(kind, "table" | "view"),
        None => n
            .config
            .get("store_failures")
            .and_then(Json::as_bool)
            .unwrap_or(flag),
    }
}

/// Creates every schema the run writes to, once, before any node runs (so
/// parallel workers never race to create the same schema).
pub fn create_schemas(compiler: &Compiler, db: &Db, nodes: &[&Node]) -> Result<()> {
    let schemas: BTreeSet<(String, String)> = nodes
        .iter()
        .filter(|n| {
            n.is_relational()
                || stores_failures(
                    n,
                    compiler
                        .jinja
                        .flags
                        .get_attr("STORE_FAILURES")
                        .is_ok_and(|v| v.is_true()),
                )
        })
        .map(|n| (n.database.clone(), n.schema.clone()))
        .collect();
    if schemas.is_empty() {
        return Ok(());
    }
    let ctx = Ctx {
        scope: Arc::new(Scope::new(compiler.jinja.clone(), true).with_db(Some(db.clone()))),
        package: Arc::from(compiler.jinja.root_package.as_str()),
        depth: 0,
        extra_args: None,
    };
    for (database, schema) in schemas {
        let relation = Relation::new(&database, &schema, "").to_value();
        crate::jinja::adapter_obj::change(&ctx, db, "create_schema", &[relation], &None).map_err(
            |e| {
                Error::new(format!(
                    "could not create schema {database}.{schema}: {}",
                    errors::describe(&e)
                ))
            },
        )?;
    }
    let mut conn = db.conn();
    if conn.in_transaction() {
        conn.commit()
            .map_err(|e| Error::new(format!("could not create schemas: {e}")))?;
    }
    Ok(())
}

/// Runs the on-run-start / on-run-end hooks of the root project and its
/// packages. `results` is what on-run-end templates see.
fn run_hooks(
    session: &Session,
    compiler: &Compiler,
    db: &Db,
    which: &str,
    results: &[NodeResult],
) -> Result<Vec<NodeResult>> {
    let mut out = Vec::new();
    for pkg in &session.project.packages {
        let hooks = if which == "on-run-start" {
            &pkg.project.on_run_start
        } else {
            &pkg.project.on_run_end
        };
        for (i, hook) in hooks.0.iter().enumerate() {
            let started = Utc::now();
            let clock = std::time::Instant::now();
            let mut scope = Scope::new(compiler.jinja.clone(), true)
                .with_resolver(Some(compiler.resolver.clone()))
                .with_db(Some(db.clone()));
            if which == "on-run-end" {
                scope
                    .extra
                    .insert("results".into(), results_value(session, results));
                scope
                    .extra
                    .insert("schemas".into(), schemas_value(session, results));
            }
            let scope = Arc::new(scope);
            let name = format!("{}.{which}.{i}", pkg.name);
            let outcome = crate::jinja::render_in_scope(&scope, &pkg.name, &name, hook)
                .map_err(|e| errors::describe(&e))
                .and_then(|sql| {
                    let mut conn = db.conn();
                    if sql.trim().is_empty() {
                        return Ok(sql);
                    }
                    conn.execute(&sql).map(|_| sql).map_err(|e| e.message)
                });
            let mut r = NodeResult::skipped(
                &format!("operation.{}.{}-{which}-{i}", pkg.name, pkg.name),
                String::new(),
            );
            r.timing = vec![Timing {
                name: "execute",
                started_at: started,
                completed_at: Utc::now(),
            }];
            r.execution_time = clock.elapsed().as_secs_f64();
            r.thread_id = "main".into();
            match outcome {
                Ok(sql) => {
                    r.status = Status::Success;
                    // As dbt: a hook that ran reports 0 failures.
                    r.failures = Some(0);
                    r.message = format!("{name} passed");
                    r.compiled_code = Some(sql);
                }
                Err(message) => {
                    r.status = Status::Error;
                    r.message = message.clone();
                    crate::output::error(&format!("error: {which} hook {name} failed: {message}"));
                    out.push(r);
                    if which == "on-run-start" {
                        return Ok(out);
                    }
                    continue;
                }
            }
            out.push(r);
        }
    }
    Ok(out)
}

/// `results` for on-run-end: one object per node result.
fn results_value(session: &Session, results: &[NodeResult]) -> Value {
    let items: Vec<Json> = results
        .iter()
        .map(|r| {
            let node = session
                .manifest
                .nodes
                .get(&r.unique_id)
                .map(|n| crate::manifest::json::node_json(n))
                .unwrap_or(Json::Null);
            json!({
                "node": node,
                "unique_id": r.unique_id,
                "status": r.status.as_str(),
                "message": r.message,
                "execution_time": r.execution_time,
                "failures": r.failures,
                "adapter_response": {"_message": r.message, "rows_affected": r.rows_affected},
                "thread_id": r.thread_id,
            })
        })
        .collect();
    crate::jinja::builtins::json_to_value(&Json::Array(items))
}

/// `schemas` for on-run-end: the schemas the run built in.
fn schemas_value(session: &Session, results: &[NodeResult]) -> Value {
    let schemas: BTreeSet<String> = results
        .iter()
        .filter_map(|r| session.manifest.nodes.get(&r.unique_id))
        .filter(|n| n.is_relational())
        .map(|n| n.schema.clone())
        .collect();
    crate::jinja::builtins::json_to_value(&json!(schemas.into_iter().collect::<Vec<_>>()))
}
