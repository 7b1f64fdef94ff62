//! Running a unit test: the model's SQL, with each input replaced by its
//! fixture rows, compared with the expected rows. DuckDB projects run them
//! in a fresh in-memory DuckDB (no warehouse touched, no upstream model
//! built); on other warehouses they run in temporary tables there, in the
//! warehouse's own SQL.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::Utc;
use minijinja::value::Rest;
use minijinja::Value;
use serde_json::Value as Json;

use crate::adapter::duckdb::DuckDbAdapter;
use crate::adapter::{sql_literal, Adapter, Connection, Db, RelationCache};
use crate::exec::node::RunContext;
use crate::exec::result::{NodeResult, Status, Timing};
use crate::jinja::context::NodeScope;
use crate::jinja::relation::{quote_identifier, Relation};
use crate::jinja::{dialect, errors, Ctx, RefCall, Resolver, Scope};
use crate::manifest::resolve::Lookup;
use crate::manifest::unit_tests::{Fixture, Input, Rows};
use crate::manifest::{Manifest, Node, ResourceType};

const EXPECTED: &str = "__dbt_unit_expected";
/// The one column of an expectation of no rows at all (`rows: []`).
const NO_COLUMNS: &str = "__kiln_no_expected_columns";
const ACTUAL: &str = "__dbt_unit_actual";

/// Where a unit test runs: kiln's in-memory DuckDB for DuckDB projects;
/// on other warehouses, temporary tables of a connection of its own, so the
/// model's SQL runs in the warehouse's dialect, as dbt runs it.
struct Sandbox {
    /// `create table`, `create temporary table` or (Spark) a temporary view.
    create: &'static str,
    /// (database, schema) the fixture tables are found in.
    namespace: (&'static str, &'static str),
    /// On the warehouse (rather than in kiln's DuckDB)?
    warehouse: bool,
    /// The type values are compared as.
    text_type: &'static str,
}

impl Sandbox {
    fn for_adapter(adapter_type: &str) -> Sandbox {
        if adapter_type == "duckdb" {
            Sandbox {
                create: "create table",
                namespace: ("memory", "main"),
                warehouse: false,
                text_type: "varchar",
            }
        } else {
            Sandbox {
                // Spark's session-scoped relations are temporary views.
                create: if adapter_type == "spark" {
                    "create or replace temporary view"
                } else {
                    "create temporary table"
                },
                namespace: ("", ""),
                warehouse: true,
                text_type: if adapter_type == "spark" {
                    "string"
                } else {
                    "varchar"
                },
            }
        }
    }
}

/// Resolves a model's refs and sources to its fixture tables.
struct FixtureResolver {
    manifest: Arc<Manifest>,
    lookup: Lookup,
    tables: HashMap<String, String>,
    test_name: String,
}

fn ref_key(id: &str) -> String {
    format!("node:{id}")
}

impl Resolver for FixtureResolver {
    fn resolve_ref(&self, from_package: &str, call: &RefCall) -> Result<Relation, String> {
        let id = self
            .lookup
            .find_ref(&self.manifest, from_package, call)
            .ok_or_else(|| format!("ref('{}') names no model, seed or snapshot", call.name))?;
        match self.tables.get(&ref_key(&id)) {
            Some(t) => Ok(Relation::bare(t)),
            None => Err(format!(
                "unit test '{}': the model reads ref('{}'), which has no `given` rows",
                self.test_name, call.name
            )),
        }
    }

    fn resolve_source(&self, source: &str, table: &str) -> Result<Relation, String> {
        match self.tables.get(&format!("source:{source}.{table}")) {
            Some(t) => Ok(Relation::bare(t)),
            None => Err(format!(
                "unit test '{}': the model reads source('{source}', '{table}'), which has no `given` rows",
                self.test_name
            )),
        }
    }

    fn graph(&self) -> Value {
        Value::from(())
    }
}

/// A YAML fixture value as an SQL literal. Text that reads as a date or a
/// timestamp becomes one (YAML has no date type of its own here).
fn literal(v: &Json) -> String {
    match v {
        Json::Null => "NULL".into(),
        Json::Bool(b) => b.to_string(),
        Json::Number(n) => n.to_string(),
        Json::String(s) => date_or_text(s),
        other => sql_literal(&other.to_string()),
    }
}

/// A CSV fixture value as an SQL literal, typed as DuckDB's CSV reader would
/// decide: empty is NULL, then numbers, booleans, dates, text.
fn csv_literal(s: &str) -> String {
    let t = s.trim();
    if t.is_empty() || t.eq_ignore_ascii_case("null") {
        return "NULL".into();
    }
    if t.parse::<i64>().is_ok() || (t.parse::<f64>().is_ok() && t.contains('.')) {
        return t.to_string();
    }
    if t.eq_ignore_ascii_case("true") || t.eq_ignore_ascii_case("false") {
        return t.to_lowercase();
    }
    date_or_text(s)
}

fn date_or_text(s: &str) -> String {
    let t = s.trim();
    if crate::regex!(r"^\d{4}-\d{2}-\d{2}$").is_match(t) {
        return format!("DATE {}", sql_literal(s));
    }
    if crate::regex!(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$").is_match(t) {
        return format!("TIMESTAMP {}", sql_literal(s));
    }
    sql_literal(s)
}

/// One fixture value cast to a column's type (from the relation it stands
/// in for).
fn typed_literal(v: &Json, from_csv: bool, ty: &str) -> String {
    let raw = match v {
        Json::Null => "NULL".into(),
        Json::String(s)
            if from_csv && (s.trim().is_empty() || s.trim().eq_ignore_ascii_case("null")) =>
        {
            "NULL".into()
        }
        Json::String(s) => sql_literal(s),
        Json::Bool(b) => b.to_string(),
        Json::Number(n) => n.to_string(),
        other => sql_literal(&other.to_string()),
    };
    format!("cast({raw} as {ty})")
}

/// SQL that creates `table` holding a fixture's rows. With `typed` (the
/// columns of the relation the fixture stands in for) every column of that
/// relation is there, with the relation's types, and NULL where the fixture
/// gives no value, as dbt does; without it the types are inferred.
fn fixture_sql(
    create: &str,
    table: &str,
    f: &Fixture,
    typed: Option<&[(String, String)]>,
) -> Result<String, String> {
    let name = quote_identifier(table);
    let (columns, rows, from_csv): (Vec<String>, Vec<Vec<Json>>, bool) = match &f.rows {
        Rows::Sql(sql) => return Ok(format!("{create} {name} as ({sql})")),
        Rows::Dicts(dicts) => {
            let mut cols: Vec<String> = Vec::new();
            for d in dicts {
                for k in d.keys() {
                    if !cols.contains(k) {
                        cols.push(k.clone());
                    }
                }
            }
            let rows = dicts
                .iter()
                .map(|d| {
                    cols.iter()
                        .map(|c| d.get(c).cloned().unwrap_or(Json::Null))
                        .collect()
                })
                .collect();
            (cols, rows, false)
        }
        Rows::Csv { columns, rows } => {
            let rows = rows
                .iter()
                .map(|r| r.iter().map(|v| Json::String(v.clone())).collect())
                .collect();
            (columns.clone(), rows, true)
        }
    };
    // (column, SQL of each row's value)
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    match typed {
        Some(typed) => {
            if let Some(c) = columns
                .iter()
                .find(|c| !typed.iter().any(|(t, _)| t.eq_ignore_ascii_case(c)))
            {
                let have: Vec<&str> = typed.iter().map(|(t, _)| t.as_str()).collect();
                return Err(format!(
                    "the rows given for {} name column `{c}`, which that relation does not have (its columns: {})",
                    f.label,
                    have.join(", ")
                ));
            }
            for (col, ty) in typed {
                let at = columns.iter().position(|c| c.eq_ignore_ascii_case(col));
                let values = rows
                    .iter()
                    .map(|r| {
                        at.map(|i| typed_literal(&r[i], from_csv, ty))
                            .unwrap_or_else(|| format!("cast(NULL as {ty})"))
                    })
                    .collect();
                out.push((col.clone(), values));
            }
        }
        None => {
            for (i, col) in columns.iter().enumerate() {
                let values = rows
                    .iter()
                    .map(|r| match &r[i] {
                        Json::String(s) if from_csv => csv_literal(s),
                        v => literal(v),
                    })
                    .collect();
                out.push((col.clone(), values));
            }
        }
    }
    if out.is_empty() && rows.is_empty() {
        // `rows: []`: no rows expected, whatever the columns (as dbt allows).
        return Ok(format!(
            "{create} {name} as select null as {} where false",
            quote_identifier(NO_COLUMNS)
        ));
    }
    if out.is_empty() {
        return Err(format!("the rows for {} name no columns", f.label));
    }
    let col_list = out
        .iter()
        .map(|(c, _)| quote_identifier(c))
        .collect::<Vec<_>>()
        .join(", ");
    if rows.is_empty() {
        let nulls = out
            .iter()
            .map(
                |(c, _)| match typed.and_then(|t| t.iter().find(|(n, _)| n == c)) {
                    Some((_, ty)) => format!("cast(NULL as {ty})"),
                    None => "NULL".into(),
                },
            )
            .collect::<Vec<_>>()
            .join(", ");
        return Ok(format!(
            "{create} {name} as select * from (values ({nulls})) t({col_list}) where false"
        ));
    }
    let values = (0..rows.len())
        .map(|r| {
            format!(
                "({})",
                out.iter()
                    .map(|(_, v)| v[r].as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
        .collect::<Vec<_>>()
        .join(",\n  ");
    Ok(format!(
        "{create} {name} as select * from (values\n  {values}\n) t({col_list})"
    ))
}

/// Runs one unit test node.
pub fn run_unit_test(rc: &RunContext, node: &Node, warehouse: &Db, thread_id: &str) -> NodeResult {
    let started = Instant::now();
    let start = Utc::now();
    let outcome = execute(rc, node, warehouse);
    let mut result = NodeResult::skipped(&node.unique_id, String::new());
    result.thread_id = thread_id.to_string();
    result.timing = vec![Timing {
        name: "execute",
        started_at: start,
        completed_at: Utc::now(),
    }];
    match outcome {
        Ok((None, sql)) => {
            result.status = Status::Pass;
            result.message = "PASS".into();
            result.failures = Some(0);
            result.compiled_code = Some(sql);
        }
        Ok((Some((diff, n)), sql)) => {
            result.status = Status::Fail;
            result.failures = Some(n);
            result.message = diff;
            result.compiled_code = Some(sql);
        }
        Err(message) => {
            result.status = Status::Error;
            result.message = format!(
                "unit test {} ({}:{}): {message}",
                node.name,
                node.display_path.display(),
                node.raw_code_line
            );
        }
    }
    result.execution_time = started.elapsed().as_secs_f64();
    result
}

/// Ok((None, sql)) when the rows match; Ok((Some((diff, differing rows)), sql)) when not.
type Outcome = Result<(Option<(String, i64)>, String), String>;

/// The warehouse relation a fixture stands in for (none for ephemeral models).
fn stands_in_for(
    manifest: &Manifest,
    lookup: &Lookup,
    test: &Node,
    model: &Node,
    f: &Fixture,
) -> Option<Relation> {
    match f.input.as_ref()? {
        Input::This => Some(model.relation()),
        Input::Ref(r) => {
            let node = manifest
                .nodes
                .get(&lookup.find_ref(manifest, &test.package_name, r)?)?;
            (!node.is_ephemeral()).then(|| node.relation())
        }
        Input::Source(s, t) => Some(
            manifest
                .sources
                .get(&lookup.find_source(manifest, s, t)?)?
                .relation(),
        ),
    }
}

/// A relation's columns and types, when it exists in the warehouse already.
fn columns_in_warehouse(db: &Db, r: &Relation) -> Option<Vec<(String, String)>> {
    let (database, schema, identifier) = (
        r.database.as_deref()?,
        r.schema.as_deref()?,
        r.identifier.as_deref()?,
    );
    let (_, cols) = db
        .conn()
        .describe_relation(database, schema, identifier)
        .ok()??;
    Some(cols.into_iter().map(|c| (c.name, c.data_type)).collect())
}

fn execute(rc: &RunContext, node: &Node, warehouse: &Db) -> Outcome {
    let spec = node.unit.as_ref().ok_or("not a unit test")?;
    let manifest = rc.compiler.manifest.clone();
    let model_id = node
        .depends_on_nodes
        .first()
        .ok_or("the unit test names no model")?;
    let model = manifest
        .nodes
        .get(model_id)
        .ok_or_else(|| format!("model {model_id} is not enabled"))?;
    let sandbox = Sandbox::for_adapter(warehouse.adapter.adapter_type());
    let adapter: Arc<dyn Adapter> = if sandbox.warehouse {
        warehouse.adapter.clone()
    } else {
        Arc::new(DuckDbAdapter::in_memory().map_err(|e| e.message)?)
    };
    let mut conn = adapter.connect().map_err(|e| e.message)?;

    // Every statement run, so the compiled file replays the test.
    let mut script: Vec<String> = Vec::new();
    let mut run = |conn: &mut dyn Connection, sql: String, doing: &str| -> Result<(), String> {
        conn.execute(&sql)
            .map_err(|e| format!("{doing}: {}", e.message))?;
        script.push(sql);
        Ok(())
    };

    // Fixture tables, one per input.
    let lookup = Lookup::new(&manifest);
    let mut tables = HashMap::new();
    let mut this_table = None;
    for (i, f) in spec.given.iter().enumerate() {
        let table = format!("__dbt_unit_input_{i}");
        let typed = stands_in_for(&manifest, &lookup, node, model, f)
            .and_then(|r| columns_in_warehouse(warehouse, &r));
        run(
            conn.as_mut(),
            fixture_sql(sandbox.create, &table, f, typed.as_deref())?,
            &format!("loading the rows given for {}", f.label),
        )?;
        match &f.input {
            Some(Input::Ref(r)) => {
                if let Some(id) = lookup.find_ref(&manifest, &node.package_name, r) {
                    tables.insert(ref_key(&id), table);
                }
            }
            Some(Input::Source(s, t)) => {
                tables.insert(format!("source:{s}.{t}"), table);
            }
            Some(Input::This) => this_table = Some(table),
            None => {}
        }
    }
    // A seed with no rows given is read from its file, as dbt does.
    for seed in model
        .depends_on_nodes
        .iter()
        .filter_map(|id| manifest.nodes.get(id))
    {
        if seed.resource_type == ResourceType::Seed
            && !tables.contains_key(&ref_key(&seed.unique_id))
        {
            let table = format!("__dbt_unit_seed_{}", seed.name);
            // On a warehouse, the loaded seed (as dbt, which reads the
            // warehouse for a unit test's parents); in DuckDB, its file.
            let rows = if sandbox.warehouse {
                seed.relation().rendered()
            } else {
                read_seed(seed, &rc.project_dir.join(&seed.display_path))
            };
            run(
                conn.as_mut(),
                format!(
                    "{} {} as select * from {rows}",
                    sandbox.create,
                    quote_identifier(&table),
                ),
                &format!("loading seed {}", seed.name),
            )?;
            tables.insert(ref_key(&seed.unique_id), table);
        }
    }
    run(
        conn.as_mut(),
        fixture_sql(sandbox.create, EXPECTED, &spec.expect, None)?,
        "loading the expected rows",
    )?;

    // The model's SQL, rendered against the fixtures.
    let db = Db {
        adapter: adapter.clone(),
        conn: Arc::new(Mutex::new(conn)),
        cache: Arc::new(RelationCache::for_adapter(adapter.as_ref())),
    };
    let this = match &this_table {
        Some(t) => Relation::bare(t),
        None => model.typed_relation(),
    };
    let model_json = crate::manifest::json::node_json(model);
    let mut scope = Scope::new(rc.compiler.jinja.clone(), true)
        .with_db(Some(db.clone()))
        .with_resolver(Some(Arc::new(FixtureResolver {
            manifest: manifest.clone(),
            lookup,
            tables,
            test_name: node.name.clone(),
        }) as Arc<dyn Resolver>))
        .with_node(NodeScope::new(
            model.unique_id.clone(),
            model.name.clone(),
            "model",
            model.package_name.clone(),
            Some(this),
            model.config.clone(),
            Box::new(move || model_json.clone()),
        ));
    for (name, value) in &spec.overrides.macros {
        let v = crate::jinja::to_value(value);
        scope.extra.insert(
            name.clone(),
            Value::from_function(move |_args: Rest<Value>| v.clone()),
        );
    }
    scope.var_overrides = spec.overrides.vars.clone();
    scope.env_var_overrides = spec.overrides.env_vars.clone();
    let scope = Arc::new(scope);
    let source = dialect::rewrite(&model.raw_code);
    let name = model.display_path.to_string_lossy().to_string();
    let sql = rc
        .compiler
        .jinja
        .compile(&name, &source)
        .and_then(|t| t.render(Ctx::root(scope.clone(), &model.package_name)))
        .map_err(|e| {
            format!(
                "could not render model {}: {}",
                model.name,
                errors::describe(&e)
            )
        })?;

    let mut conn = db.conn();
    run(
        conn.as_mut(),
        format!(
            "{} {} as (\n{sql}\n)",
            sandbox.create,
            quote_identifier(ACTUAL)
        ),
        &format!("running model {}", model.name),
    )?;
    let diff = compare(conn.as_mut(), &sandbox)?;
    Ok((diff, script.join(";\n\n") + ";\n"))
}

/// The read_csv call that loads a seed file with its configured types.
fn read_seed(seed: &Node, path: &Path) -> String {
    let delimiter = seed
        .config
        .get("delimiter")
        .and_then(Json::as_str)
        .unwrap_or(",");
    let types: Vec<String> = seed
        .config
        .get("column_types")
        .and_then(Json::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    format!(
                        "{}: {}",
                        sql_literal(k),
                        sql_literal(v.as_str().unwrap_or("varchar"))
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let types = if types.is_empty() {
        String::new()
    } else {
        format!(", types = {{{}}}", types.join(", "))
    };
    format!(
        "read_csv({}, header = true, delim = {}{types})",
        sql_literal(&path.to_string_lossy()),
        sql_literal(delimiter)
    )
}

/// Compares the expected rows with the model's (on the expected columns,
/// order-insensitive). None when they match; otherwise a readable diff.
fn compare(conn: &mut dyn Connection, sandbox: &Sandbox) -> Result<Option<(String, i64)>, String> {
    let (database, schema) = sandbox.namespace;
    let mut columns = |t: &str| -> Result<Vec<(String, String)>, String> {
        Ok(conn
            .describe_relation(database, schema, t)
            .map_err(|e| e.message)?
            .map(|(_, cols)| cols.into_iter().map(|c| (c.name, c.data_type)).collect())
            .unwrap_or_default())
    };
    let mut expected_cols = columns(EXPECTED)?;
    let actual_cols = columns(ACTUAL)?;
    if expected_cols.iter().any(|(n, _)| n == NO_COLUMNS) {
        // Nothing expected: compare on the model's own columns.
        expected_cols = actual_cols.clone();
        conn.execute(&format!(
            "drop table {0}; {1} {0} as select * from {2} where false",
            quote_identifier(EXPECTED),
            sandbox.create,
            quote_identifier(ACTUAL)
        ))
        .map_err(|e| format!("comparing rows: {}", e.message))?;
    }
    let mut select_actual = Vec::new();
    let mut select_expected = Vec::new();
    for (name, _) in &expected_cols {
        let Some((_, ty)) = actual_cols
            .iter()
            .find(|(a, _)| a.eq_ignore_ascii_case(name))
        else {
            let have: Vec<&str> = actual_cols.iter().map(|(a, _)| a.as_str()).collect();
            return Err(format!(
                "the expected rows name column `{name}`, which the model does not return (it returns: {})",
                have.join(", ")
            ));
        };
        let q = quote_identifier(name);
        // PostgreSQL's numeric keeps the scale it was written with (0.0 is
        // not 0 as text): both sides are compared without trailing zeros.
        let exact = sandbox.warehouse && ty.starts_with("numeric");
        let (actual, expected) = if exact {
            (
                format!("trim_scale({q})"),
                format!("trim_scale(cast({q} as {ty}))"),
            )
        } else {
            (q.clone(), format!("cast({q} as {ty})"))
        };
        let text = sandbox.text_type;
        select_actual.push(format!("cast({actual} as {text}) as {q}"));
        select_expected.push(format!("cast({expected} as {text}) as {q}"));
    }
    let rows = |conn: &mut dyn Connection,
                list: &[String],
                table: &str|
     -> Result<Vec<Vec<String>>, String> {
        let t = conn
            .query(&format!(
                "select {} from {} order by {}",
                list.join(", "),
                quote_identifier(table),
                (1..=list.len())
                    .map(|i| i.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
            .map_err(|e| format!("comparing rows: {}", e.message))?;
        Ok(t.rows
            .iter()
            .map(|r| {
                r.iter()
                    .map(|c| {
                        if *c == crate::adapter::Cell::Null {
                            "NULL".to_string()
                        } else {
                            c.to_string()
                        }
                    })
                    .collect()
            })
            .collect())
    };
    let actual = rows(conn, &select_actual, ACTUAL)?;
    let expected = rows(conn, &select_expected, EXPECTED)?;
    if actual == expected {
        return Ok(None);
    }
    let names: Vec<String> = expected_cols.iter().map(|(n, _)| n.clone()).collect();
    Ok(Some(diff_table(&names, &expected, &actual)))
}

/// Rows only in expected (-) and only in actual (+), as an aligned table.
fn diff_table(names: &[String], expected: &[Vec<String>], actual: &[Vec<String>]) -> (String, i64) {
    let mut remaining: Vec<&Vec<String>> = actual.iter().collect();
    let mut missing: Vec<&Vec<String>> = Vec::new();
    for e in expected {
        match remaining.iter().position(|a| *a == e) {
            Some(i) => {
                remaining.remove(i);
            }
            None => missing.push(e),
        }
    }
    let mut signs: Vec<char> = vec!['-'; missing.len()];
    signs.extend(std::iter::repeat_n('+', remaining.len()));
    let rows: Vec<Vec<String>> = missing.into_iter().chain(remaining).cloned().collect();
    let mut out = String::from("actual differs from expected (- expected, + actual):\n\n");
    // Header and rule are indented to line up with the signed rows.
    let prefixes = [' ', ' '].into_iter().chain(signs.iter().copied());
    for (sign, line) in prefixes.zip(crate::text_table::plain(names, &rows)) {
        out.push_str(&format!("{sign} {line}\n"));
    }
    (out.trim_end().to_string(), rows.len() as i64)
}
