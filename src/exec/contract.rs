//! Model contracts (`contract: {enforced: true}`): before a model is built,
//! the columns its query returns must be exactly the columns declared in
//! YAML, with the declared types (compared after the database's own
//! aliasing, so `int` and `integer` agree).

use crate::adapter::{Cell, Db};
use crate::manifest::Node;

/// Is the model's contract enforced?
pub fn enforced(node: &Node) -> bool {
    node.config
        .get("contract")
        .and_then(|c| c.get("enforced"))
        .and_then(serde_json::Value::as_bool)
        == Some(true)
}

/// Ok when the query matches the contract; otherwise a table of mismatches.
pub fn check(db: &Db, node: &Node, sql: &str) -> Result<(), String> {
    let mut conn = db.conn();
    let actual: Vec<(String, String)> = conn
        .query_columns(sql)
        .map_err(|e| format!("could not read the columns of the model's query: {e}"))?
        .into_iter()
        .map(|c| (c.name, c.data_type))
        .collect();
    let declared: Vec<(&str, Option<&str>)> = node
        .columns
        .values()
        .map(|c| (c.name.as_str(), c.data_type.as_deref()))
        .collect();
    if declared.is_empty() {
        return Err(
            "its contract is enforced but no columns are declared; list them with their data_type"
                .into(),
        );
    }
    // The database's own name for each declared type, so aliases agree.
    let (type_of, warehouse) = match db.adapter.adapter_type() {
        "duckdb" => ("select typeof(cast(null as {}))::text", "DuckDB"),
        "spark" => ("select typeof(cast(null as {}))", "Spark"),
        _ => ("select pg_typeof(cast(null as {}))::text", "PostgreSQL"),
    };
    let mut canonical: Vec<Option<String>> = Vec::new();
    for (name, ty) in &declared {
        canonical.push(match ty {
            Some(t) => {
                let t = conn.query(&type_of.replace("{}", t)).map_err(|e| {
                    format!("column {name}: data_type `{t}` is not a {warehouse} type: {e}")
                })?;
                t.rows
                    .first()
                    .and_then(|r| r.first())
                    .filter(|c| **c != Cell::Null)
                    .map(|c| c.to_string())
            }
            None => None,
        });
    }
    let mut problems: Vec<[String; 4]> = Vec::new();
    for ((name, ty), want) in declared.iter().zip(&canonical) {
        match actual.iter().find(|(a, _)| a.eq_ignore_ascii_case(name)) {
            None => problems.push([
                name.to_string(),
                ty.unwrap_or("").to_string(),
                String::new(),
                "missing in the query".into(),
            ]),
            Some((_, got)) => match want {
                None => problems.push([
                    name.to_string(),
                    String::new(),
                    got.clone(),
                    "no data_type declared".into(),
                ]),
                Some(w) if !w.eq_ignore_ascii_case(got) => problems.push([
                    name.to_string(),
                    w.clone(),
                    got.clone(),
                    "data type differs".into(),
                ]),
                _ => {}
            },
        }
    }
    for (name, got) in &actual {
        if !declared.iter().any(|(d, _)| d.eq_ignore_ascii_case(name)) {
            problems.push([
                name.clone(),
                String::new(),
                got.clone(),
                "not in the contract".into(),
            ]);
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    let header = ["column", "contract", "query", "problem"].map(str::to_string);
    let rows: Vec<Vec<String>> = problems.into_iter().map(Vec::from).collect();
    let mut out = String::from("the query does not match the model's contract:\n\n");
    for line in crate::text_table::plain(&header, &rows) {
        out.push_str(&line);
        out.push('\n');
    }
    out.push_str("\nchange the model's SQL or its columns in YAML so they agree");
    Err(out)
}
