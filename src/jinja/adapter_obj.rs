//! The `adapter` object of templates: dispatch, quoting, and the database
//! operations materializations use (execute, get_relation, columns, create,
//! drop and rename). Without a database (parse time, `compile`), lookups
//! answer "nothing there" and operations that need one say so.
//!
//! Operations that change the database run SQL from overridable macros
//! (`create_schema`, `drop_relation`, ...); Rust keeps the relation cache
//! in step with them.

use minijinja::value::{Kwargs, Value};
use minijinja::{Error, ErrorKind, State};

use crate::adapter::{Column, Db, RelationInfo, RelationKind, Response};
use crate::jinja::agate::AgateTable;
use crate::jinja::column::ColumnObj;
use crate::jinja::context::Ctx;
use crate::jinja::methods::List;
use crate::jinja::relation::{quote_identifier, Relation};

fn db_error(e: crate::adapter::DbError) -> Error {
    Error::new(ErrorKind::InvalidOperation, e.message)
}

fn no_database(method: &str) -> Error {
    Error::new(
        ErrorKind::InvalidOperation,
        format!("adapter.{method}() needs a database connection, which this command does not open"),
    )
}

/// Positional argument `i`, or keyword `name`.
fn arg(
    pos: &[Value],
    kwargs: &Option<Kwargs>,
    i: usize,
    name: &str,
) -> Result<Option<Value>, Error> {
    if let Some(v) = pos.get(i) {
        return Ok(Some(v.clone()));
    }
    match kwargs {
        Some(k) => k.get::<Option<Value>>(name),
        None => Ok(None),
    }
}

fn text(v: &Option<Value>) -> Option<String> {
    v.as_ref()
        .filter(|v| !v.is_none() && !v.is_undefined())
        .map(|v| v.to_string())
}

/// A relation argument's (database, schema, identifier, type).
fn parts(v: &Value) -> (String, String, String, Option<String>) {
    let get = |k: &str| {
        v.get_attr(k)
            .ok()
            .filter(|x| !x.is_none() && !x.is_undefined())
            .map(|x| x.to_string())
    };
    (
        get("database").unwrap_or_default(),
        get("schema").unwrap_or_default(),
        get("identifier").unwrap_or_default(),
        get("type"),
    )
}

fn relation_value(info: &RelationInfo) -> Value {
    Relation::new(&info.database, &info.schema, &info.identifier)
        .with_kind(Some(info.kind.as_str()))
        .to_value()
}

/// The response of a statement, as `load_result(...).response` shows it.
pub fn response_value(r: &Response) -> Value {
    crate::jinja::to_value(serde_json::json!({
        "_message": r.message,
        "rows_affected": r.rows_affected,
        "code": r.message,
    }))
}

pub fn adapter_method(
    ctx: &Ctx,
    state: &mut State<'_, '_>,
    method: &str,
    args: &[Value],
) -> Result<Value, Error> {
    let _ = state;
    let (pos, kwargs) = match args.last().and_then(crate::jinja::kwargs_of) {
        Some(k) => (&args[..args.len() - 1], Some(k)),
        None => (args, None),
    };
    let db = ctx.scope.db.as_ref();
    // At execution, anything beyond naming and quoting may read the database.
    let pure = matches!(
        method,
        "dispatch" | "quote" | "quote_as_configured" | "quote_seed_column" | "type" | "config"
    );
    if ctx.scope.execute && !pure {
        ctx.scope.volatile("calls the adapter");
    }
    match method {
        "dispatch" => {
            let name = text(&arg(pos, &kwargs, 0, "macro_name")?).ok_or_else(|| {
                Error::new(
                    ErrorKind::MissingArgument,
                    "adapter.dispatch() needs a macro name",
                )
            })?;
            let namespace = text(&arg(pos, &kwargs, 1, "macro_namespace")?);
            let _ = arg(pos, &kwargs, 2, "packages")?;
            dispatch(ctx, &name, namespace.as_deref())
        }
        "quote" | "quote_as_configured" | "quote_seed_column" => Ok(Value::from(quote_identifier(
            &text(&arg(pos, &kwargs, 0, "identifier")?).unwrap_or_default(),
        ))),
        "type" => Ok(Value::from(ctx.scope.jinja.adapter_type.clone())),
        "config" => Ok(crate::jinja::to_value(serde_json::json!({}))),
        "get_relation" | "load_relation" => {
            let (database, schema, identifier) = if method == "load_relation" {
                let r = arg(pos, &kwargs, 0, "relation")?.unwrap_or_default();
                let (d, s, i, _) = parts(&r);
                (d, s, i)
            } else {
                (
                    text(&arg(pos, &kwargs, 0, "database")?).unwrap_or_default(),
                    text(&arg(pos, &kwargs, 1, "schema")?).unwrap_or_default(),
                    text(&arg(pos, &kwargs, 2, "identifier")?).unwrap_or_default(),
                )
            };
            let Some(db) = db else {
                return Ok(Value::from(()));
            };
            let found = db
                .cache
                .get(db.conn().as_mut(), &database, &schema, &identifier)
                .map_err(db_error)?;
            Ok(found
                .as_ref()
                .map(relation_value)
                .unwrap_or(Value::from(())))
        }
        "already_exists" => {
            let schema = text(&arg(pos, &kwargs, 0, "schema")?).unwrap_or_default();
            let name = text(&arg(pos, &kwargs, 1, "name")?).unwrap_or_default();
            let Some(db) = db else {
                return Ok(Value::from(false));
            };
            let database = ctx
                .scope
                .jinja
                .target
                .get_attr("database")
                .map(|v| v.to_string())
                .unwrap_or_default();
            let found = db
                .cache
                .get(db.conn().as_mut(), &database, &schema, &name)
                .map_err(db_error)?;
            Ok(Value::from(found.is_some()))
        }
        "get_columns_in_relation" => {
            let r = arg(pos, &kwargs, 0, "relation")?.unwrap_or_default();
            let Some(db) = db else {
                return Ok(List::new_value(Vec::new()));
            };
            let (d, s, i, _) = parts(&r);
            let described = db.conn().describe_relation(&d, &s, &i).map_err(db_error)?;
            Ok(columns_value(described.map(|(_, c)| c).unwrap_or_default()))
        }
        "get_column_schema_from_query" => {
            let sql = text(&arg(pos, &kwargs, 0, "sql")?).unwrap_or_default();
            let Some(db) = db else {
                return Ok(List::new_value(Vec::new()));
            };
            let columns = db.conn().query_columns(&sql).map_err(db_error)?;
            Ok(columns_value(columns))
        }
        // dbt-duckdb's external materialization: where files go, and
        // replacing a written file (or directory) in one rename.
        "external_root" | "project_path" => {
            let jinja = &ctx.scope.jinja;
            let path = if method == "external_root" {
                jinja
                    .target
                    .get_attr("external_root")
                    .ok()
                    .filter(|v| !v.is_undefined() && !v.is_none())
                    .map_or_else(|| ".".to_string(), |v| v.to_string())
            } else {
                text(&arg(pos, &kwargs, 0, "path")?).unwrap_or_default()
            };
            // Object stores and absolute paths stay as they are.
            if path.contains("://") || std::path::Path::new(&path).is_absolute() {
                return Ok(Value::from(path));
            }
            let joined = match path.trim_start_matches("./") {
                "" | "." => jinja.project_dir.clone(),
                rest => jinja.project_dir.join(rest),
            };
            Ok(Value::from(joined.to_string_lossy().to_string()))
        }
        "move_into_place" | "prepare_write" => {
            let from = text(&arg(pos, &kwargs, 0, "path")?).unwrap_or_default();
            let from = std::path::Path::new(&from);
            let done = if method == "prepare_write" {
                crate::adapter::files::prepare_write(from)
            } else {
                let to = text(&arg(pos, &kwargs, 1, "to_path")?).unwrap_or_default();
                crate::adapter::files::move_into_place(from, std::path::Path::new(&to))
            };
            done.map_err(|e| Error::new(ErrorKind::InvalidOperation, e))?;
            Ok(Value::from(""))
        }
        // Seeds on warehouses other than DuckDB (see adapter/seed_csv.rs).
        "seed_columns" | "load_seed" => {
            let at = usize::from(method == "load_seed");
            let path = text(&arg(pos, &kwargs, at, "path")?).unwrap_or_default();
            let text_columns: Vec<String> = arg(pos, &kwargs, at + 1, "text_columns")?
                .and_then(|v| {
                    v.try_iter()
                        .ok()
                        .map(|it| it.map(|c| c.to_string()).collect())
                })
                .unwrap_or_default();
            let delimiter = text(&arg(pos, &kwargs, at + 2, "delimiter")?)
                .filter(|d| !d.is_empty())
                .unwrap_or_else(|| ",".into());
            let file = std::path::Path::new(&path);
            let unreadable = |e: crate::adapter::DbError| {
                Error::new(
                    ErrorKind::InvalidOperation,
                    format!("could not read seed file {path}: {e}"),
                )
            };
            if method == "seed_columns" {
                let columns = crate::adapter::seed_csv::columns(file, &delimiter, &text_columns)
                    .map_err(unreadable)?;
                return Ok(crate::jinja::to_value(
                    columns
                        .iter()
                        .map(|c| serde_json::json!({"name": c.name, "kind": c.kind}))
                        .collect::<Vec<_>>(),
                ));
            }
            let relation = arg(pos, &kwargs, 0, "relation")?.unwrap_or_default();
            let Some(db) = db else {
                return Err(no_database(method));
            };
            let seed = crate::adapter::seed_csv::take_rows(file, &delimiter, &text_columns)
                .map_err(unreadable)?;
            let names: Vec<String> = seed.columns.iter().map(|c| c.name.clone()).collect();
            let rows = db
                .conn()
                .copy_csv(&relation.to_string(), &names, &seed.csv)
                .map_err(db_error)?;
            Ok(Value::from(rows))
        }
        "get_missing_columns" => {
            let from = arg(pos, &kwargs, 0, "from_relation")?.unwrap_or_default();
            let to = arg(pos, &kwargs, 1, "to_relation")?.unwrap_or_default();
            let Some(db) = db else {
                return Ok(List::new_value(Vec::new()));
            };
            let cols = |v: &Value| -> Result<Vec<Column>, Error> {
                let (d, s, i, _) = parts(v);
                Ok(db
                    .conn()
                    .describe_relation(&d, &s, &i)
                    .map_err(db_error)?
                    .map(|(_, c)| c)
                    .unwrap_or_default())
            };
            let (from_cols, to_cols) = (cols(&from)?, cols(&to)?);
            let missing: Vec<Column> = from_cols
                .into_iter()
                .filter(|c| !to_cols.iter().any(|t| t.name.eq_ignore_ascii_case(&c.name)))
                .collect();
            Ok(columns_value(missing))
        }
        "list_relations_without_caching" | "list_relations" => {
            let r = arg(pos, &kwargs, 0, "schema_relation")?.unwrap_or_default();
            let Some(db) = db else {
                return Ok(List::new_value(Vec::new()));
            };
            let (d, s, _, _) = parts(&r);
            let listed = db.conn().list_relations(&d, &s).map_err(db_error)?;
            Ok(List::new_value(listed.iter().map(relation_value).collect()))
        }
        "list_schemas" => {
            let database = text(&arg(pos, &kwargs, 0, "database")?).unwrap_or_default();
            let Some(db) = db else {
                return Ok(List::new_value(Vec::new()));
            };
            let sql = format!(
                "select schema_name from information_schema.schemata where catalog_name ilike '{}'",
                database.replace('\'', "''")
            );
            let t = db.conn().query(&sql).map_err(db_error)?;
            Ok(List::new_value(
                t.rows
                    .iter()
                    .map(|r| Value::from(r[0].to_string()))
                    .collect(),
            ))
        }
        "check_schema_exists" => {
            let database = text(&arg(pos, &kwargs, 0, "database")?).unwrap_or_default();
            let schema = text(&arg(pos, &kwargs, 1, "schema")?).unwrap_or_default();
            let Some(db) = db else {
                return Ok(Value::from(false));
            };
            let sql = format!(
                "select count(*) from information_schema.schemata where catalog_name ilike '{}' and schema_name ilike '{}'",
                database.replace('\'', "''"),
                schema.replace('\'', "''")
            );
            let t = db.conn().query(&sql).map_err(db_error)?;
            Ok(Value::from(
                t.rows
                    .first()
                    .and_then(|r| r.first())
                    .is_some_and(|c| c.to_string() != "0"),
            ))
        }
        "execute" => {
            let sql = text(&arg(pos, &kwargs, 0, "sql")?).unwrap_or_default();
            let fetch = arg(pos, &kwargs, 2, "fetch")?.is_some_and(|v| v.is_true());
            let auto_begin = arg(pos, &kwargs, 1, "auto_begin")?.is_some_and(|v| v.is_true());
            let _ = arg(pos, &kwargs, 3, "limit")?;
            let Some(db) = db else {
                return Err(no_database(method));
            };
            let sql = crate::jinja::query_comment::apply(&ctx.scope, &ctx.package, &sql);
            let mut conn = db.conn();
            ctx.scope
                .executed
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(sql.clone());
            // As dbt: a statement that auto-begins joins (or opens) the node's transaction.
            if auto_begin && db.adapter.transactional_ddl() && !conn.in_transaction() {
                conn.begin().map_err(db_error)?;
            }
            if fetch {
                let table = conn.query(&sql).map_err(db_error)?;
                let response = Response {
                    message: "OK".into(),
                    rows_affected: Some(table.rows.len() as i64),
                };
                Ok(Value::from(vec![
                    response_value(&response),
                    AgateTable::from_table(&table),
                ]))
            } else {
                let response = conn.execute(&sql).map_err(db_error)?;
                Ok(Value::from(vec![
                    response_value(&response),
                    AgateTable::empty(),
                ]))
            }
        }
        "commit" => {
            if let Some(db) = db {
                let mut conn = db.conn();
                if conn.in_transaction() {
                    conn.commit().map_err(db_error)?;
                }
            }
            Ok(Value::from(""))
        }
        "begin" => {
            if let Some(db) = db {
                let mut conn = db.conn();
                if !conn.in_transaction() {
                    conn.begin().map_err(db_error)?;
                }
            }
            Ok(Value::from(""))
        }
        "create_schema" | "drop_schema" | "drop_relation" | "truncate_relation"
        | "rename_relation" => {
            let Some(db) = db else {
                return if ctx.scope.execute {
                    Err(no_database(method))
                } else {
                    Ok(Value::from(""))
                };
            };
            change(ctx, db, method, pos, &kwargs)
        }
        "cache_added" | "cache_dropped" | "cache_renamed" => {
            if let Some(db) = db {
                let r = arg(pos, &kwargs, 0, "relation")?.unwrap_or_default();
                let (d, s, i, t) = parts(&r);
                match method {
                    "cache_added" => db.cache.add(&d, &s, &i, kind_of(t.as_deref())),
                    "cache_dropped" => db.cache.remove(&d, &s, &i),
                    _ => {
                        let to = arg(pos, &kwargs, 1, "to_relation")?.unwrap_or_default();
                        let (_, _, to_i, _) = parts(&to);
                        db.cache.rename(&info(&r), &to_i);
                    }
                }
            }
            Ok(Value::from(""))
        }
        "expand_target_column_types" | "persist_docs" => Ok(Value::from("")),
        _ => {
            if ctx.scope.execute {
                Err(Error::new(
                    ErrorKind::UnknownMethod,
                    format!("the adapter has no method '{method}'"),
                ))
            } else {
                Ok(Value::from(()))
            }
        }
    }
}

fn kind_of(t: Option<&str>) -> RelationKind {
    match t {
        Some("view") => RelationKind::View,
        Some("materialized_view") => RelationKind::MaterializedView,
        _ => RelationKind::Table,
    }
}

fn info(v: &Value) -> RelationInfo {
    let (database, schema, identifier, t) = parts(v);
    RelationInfo {
        database,
        schema,
        identifier,
        kind: kind_of(t.as_deref()),
    }
}

/// Runs the macro of the same name (its SQL lives in templates) and keeps
/// the relation cache in step.
pub fn change(
    ctx: &Ctx,
    db: &Db,
    method: &str,
    pos: &[Value],
    kwargs: &Option<Kwargs>,
) -> Result<Value, Error> {
    let macros = &ctx.scope.jinja.macros;
    let idx = macros.resolve(&ctx.package, method).ok_or_else(|| {
        Error::new(
            ErrorKind::UnknownFunction,
            format!("no macro '{method}' to run adapter.{method}()"),
        )
    })?;
    let relation = arg(pos, kwargs, 0, "relation")?.unwrap_or_default();
    let mut call_args = vec![relation.clone()];
    if method == "rename_relation" {
        call_args.push(arg(pos, kwargs, 1, "to_relation")?.unwrap_or_default());
    }
    let (d, s, i, _) = parts(&relation);
    // `drop ... cascade` takes the views built on the relation with it.
    let dependents = if method == "drop_relation" {
        db.conn().dependent_views(&s, &i).map_err(db_error)?
    } else {
        Vec::new()
    };
    ctx.call_macro(idx, &call_args)?;
    match method {
        // `create schema if not exists` says nothing about what the schema holds.
        "create_schema" => {}
        "drop_schema" => db.cache.forget_schema(&d, &s),
        "drop_relation" => {
            db.cache.remove(&d, &s, &i);
            for view in dependents {
                db.cache.remove(&d, &view.schema, &view.identifier);
            }
        }
        "rename_relation" => {
            let (_, _, to_i, _) = parts(&call_args[1]);
            db.cache.rename(&info(&relation), &to_i);
        }
        _ => {}
    }
    Ok(Value::from(""))
}

/// Columns as templates see them (dbt's Column: name, data_type, dtype, is_string(), ...).
fn columns_value(cols: Vec<Column>) -> Value {
    List::new_value(
        cols.into_iter()
            .map(|c| ColumnObj::new(&c.name, &c.data_type).into_value())
            .collect(),
    )
}

/// adapter.dispatch: the first of `<adapter>__name`, `default__name` found in
/// the namespace's search order (root project first when a package is named).
pub fn dispatch(ctx: &Ctx, name: &str, namespace: Option<&str>) -> Result<Value, Error> {
    let jinja = &ctx.scope.jinja;
    let macros = &jinja.macros;
    let search: Vec<Option<String>> = match namespace {
        None => vec![None],
        Some(ns) => match jinja.dispatch.get(ns) {
            Some(order) => order.iter().cloned().map(Some).collect(),
            // As dbt: an installed package (dbt's own included) is searched
            // after the root project, so a project can override any macro.
            None if ns != jinja.root_package && macros.has_package(ns) => {
                vec![Some(jinja.root_package.clone()), Some(ns.to_string())]
            }
            None => vec![Some(ns.to_string())],
        },
    };
    let mut tried = Vec::new();
    for pkg in &search {
        for prefix in jinja.dispatch_prefixes() {
            let candidate = format!("{prefix}__{name}");
            let found = match pkg {
                None => macros.resolve(&ctx.package, &candidate),
                Some(p) => macros.in_package(p, &candidate),
            };
            tried.push(match pkg {
                None => candidate.clone(),
                Some(p) => format!("{p}.{candidate}"),
            });
            if let Some(i) = found {
                return Ok(macros.value(i));
            }
        }
    }
    // dbt also accepts a plain macro of that name from the namespace.
    if let Some(ns) = namespace {
        if let Some(i) = macros.in_package(ns, name) {
            return Ok(macros.value(i));
        }
    }
    Err(Error::new(
        ErrorKind::UnknownFunction,
        format!(
            "adapter.dispatch found no macro '{name}' in namespace '{}' (searched for: {})",
            namespace.unwrap_or("<current>"),
            tried.join(", ")
        ),
    ))
}
