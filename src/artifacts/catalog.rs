//! target/catalog.json (dbt's v1 shape): every relation of the project as
//! the database describes it, with column types and comments.

use std::collections::HashMap;

use serde_json::{json, Map, Value as Json};

use crate::adapter::{Cell, Db};
use crate::error::{Error, Result};
use crate::manifest::json::{metadata, Invocation};
use crate::manifest::Manifest;

pub const CATALOG_SCHEMA: &str = "https://schemas.getdbt.com/dbt/catalog/v1.json";

/// Each relation's columns as (name, type), by unique id.
pub type ColumnTypes = HashMap<String, Vec<(String, String)>>;

/// (database, schema, name) lower-cased, as DuckDB matches unquoted names.
type Key = (String, String, String);

struct Described {
    kind: String,
    comment: Json,
    columns: Vec<(String, String, Json)>,
}

fn text(c: &Cell) -> String {
    if *c == Cell::Null {
        String::new()
    } else {
        c.to_string()
    }
}

/// The warehouse's catalog queries: relations as (database, schema, name,
/// type, comment), then columns as (database, schema, relation, name,
/// type, comment) in column order.
/// None: the warehouse has no catalog tables to query (Spark), so each
/// schema's relations are listed and described.
fn catalog_queries(adapter_type: &str) -> Option<(&'static str, &'static str)> {
    Some(match adapter_type {
        "spark" => return None,
        "postgres" => (
            "select current_database(), n.nspname, c.relname, \
               case c.relkind when 'v' then 'VIEW' when 'm' then 'MATERIALIZED VIEW' else 'BASE TABLE' end, \
               obj_description(c.oid, 'pg_class') \
             from pg_class c join pg_namespace n on n.oid = c.relnamespace \
             where c.relkind in ('r', 'p', 'v', 'm', 'f') and n.nspname not in ('pg_catalog', 'information_schema') \
               and n.nspname not like 'pg\\_toast%' and n.nspname not like 'pg\\_temp%'",
            "select current_database(), n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod), \
               col_description(c.oid, a.attnum) \
             from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace \
             where a.attnum > 0 and not a.attisdropped and c.relkind in ('r', 'p', 'v', 'm', 'f') \
               and n.nspname not in ('pg_catalog', 'information_schema') \
             order by n.nspname, c.relname, a.attnum",
        ),
        _ => (
            "select database_name, schema_name, table_name, 'BASE TABLE', comment from duckdb_tables() \
             union all select database_name, schema_name, view_name, 'VIEW', comment from duckdb_views() where not internal",
            "select database_name, schema_name, table_name, column_name, data_type, comment \
             from duckdb_columns() where not internal order by database_name, schema_name, table_name, column_index",
        ),
    })
}

fn catalog_error(e: crate::adapter::DbError) -> Error {
    Error::new(format!("could not read the database catalog: {e}"))
}

/// The project's relations, one description each (the ones that do not
/// exist are left out).
fn describe_each(
    db: &Db,
    relations: &[(String, String, String)],
) -> Result<HashMap<Key, Described>> {
    let mut conn = db.conn();
    let mut out = HashMap::new();
    for (database, schema, identifier) in relations {
        let Some((info, columns)) = conn
            .describe_relation(database, schema, identifier)
            .map_err(catalog_error)?
        else {
            continue;
        };
        let kind = if info.kind == crate::adapter::RelationKind::View {
            "VIEW"
        } else {
            "BASE TABLE"
        };
        out.insert(
            (
                database.to_lowercase(),
                schema.to_lowercase(),
                identifier.to_lowercase(),
            ),
            Described {
                kind: kind.to_string(),
                comment: Json::Null,
                columns: columns
                    .into_iter()
                    .map(|c| (c.name, c.data_type, Json::Null))
                    .collect(),
            },
        );
    }
    Ok(out)
}

/// Every table and view in the database, with its columns, in two queries.
fn describe_all(db: &Db, manifest: &Manifest) -> Result<HashMap<Key, Described>> {
    let Some((relations_sql, columns_sql)) = catalog_queries(db.adapter.adapter_type()) else {
        let mut relations: Vec<(String, String, String)> = manifest
            .nodes
            .values()
            .filter(|n| n.is_relational())
            .map(|n| (n.database.clone(), n.schema.clone(), n.alias.clone()))
            .chain(
                manifest
                    .sources
                    .values()
                    .map(|s| (s.database.clone(), s.schema.clone(), s.identifier.clone())),
            )
            .collect();
        relations.sort();
        relations.dedup();
        return describe_each(db, &relations);
    };
    let mut conn = db.conn();
    let fail = catalog_error;
    let relations = conn.query(relations_sql).map_err(fail)?;
    let mut out: HashMap<Key, Described> = HashMap::new();
    for r in &relations.rows {
        let key = (
            text(&r[0]).to_lowercase(),
            text(&r[1]).to_lowercase(),
            text(&r[2]).to_lowercase(),
        );
        let comment = if r[4] == Cell::Null {
            Json::Null
        } else {
            json!(text(&r[4]))
        };
        out.insert(
            key,
            Described {
                kind: text(&r[3]),
                comment,
                columns: Vec::new(),
            },
        );
    }
    let columns = conn.query(columns_sql).map_err(fail)?;
    for r in &columns.rows {
        let key = (
            text(&r[0]).to_lowercase(),
            text(&r[1]).to_lowercase(),
            text(&r[2]).to_lowercase(),
        );
        if let Some(d) = out.get_mut(&key) {
            let comment = if r[5] == Cell::Null {
                Json::Null
            } else {
                json!(text(&r[5]))
            };
            d.columns.push((text(&r[3]), text(&r[4]), comment));
        }
    }
    Ok(out)
}

fn entry(unique_id: &str, names: (&str, &str, &str), d: &Described) -> Json {
    let columns: Map<String, Json> = d
        .columns
        .iter()
        .enumerate()
        .map(|(i, (name, ty, comment))| {
            (
                name.clone(),
                json!({"type": ty, "index": i + 1, "name": name, "comment": comment}),
            )
        })
        .collect();
    json!({
        "metadata": {"type": d.kind, "schema": names.1, "name": names.2, "database": names.0, "comment": d.comment, "owner": null},
        "columns": columns,
        "stats": {"has_stats": {"id": "has_stats", "label": "Has Stats?", "value": false, "include": false, "description": "Indicates whether there are statistics for this table"}},
        "unique_id": unique_id,
    })
}

/// The catalog document, and each node's and source's columns by unique id
/// (name, type) for the docs site.
/// `empty` (docs generate --empty-catalog): no relation is described.
pub fn build(
    db: &Db,
    manifest: &Manifest,
    inv: &Invocation,
    empty: bool,
) -> Result<(Json, ColumnTypes)> {
    let all = if empty {
        HashMap::new()
    } else {
        describe_all(db, manifest)?
    };
    let mut nodes = Map::new();
    let mut sources = Map::new();
    let mut types = ColumnTypes::new();
    let mut add =
        |id: &str, db_name: &str, schema: &str, name: &str, into: &mut Map<String, Json>| {
            let key = (
                db_name.to_lowercase(),
                schema.to_lowercase(),
                name.to_lowercase(),
            );
            if let Some(d) = all.get(&key) {
                into.insert(id.to_string(), entry(id, (db_name, schema, name), d));
                types.insert(
                    id.to_string(),
                    d.columns
                        .iter()
                        .map(|(n, t, _)| (n.clone(), t.clone()))
                        .collect(),
                );
            }
        };
    for n in manifest.nodes.values().filter(|n| n.is_relational()) {
        add(&n.unique_id, &n.database, &n.schema, &n.alias, &mut nodes);
    }
    for s in manifest
        .sources
        .values()
        .filter(|s| s.external_location().is_none())
    {
        add(
            &s.unique_id,
            &s.database,
            &s.schema,
            &s.identifier,
            &mut sources,
        );
    }
    let doc = json!({
        "metadata": metadata(CATALOG_SCHEMA, inv),
        "nodes": nodes,
        "sources": sources,
        "errors": null,
    });
    Ok((doc, types))
}
