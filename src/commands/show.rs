//! `kiln show`: run a node's (or an inline query's) SQL and print the first
//! rows, as a table or as JSON.

use serde_json::{json, Map, Value as Json};

use crate::adapter::{Cell, Table};
use crate::cli::{ShowArgs, ShowOutput};
use crate::commands::Session;
use crate::compile::Compiler;
use crate::error::{Error, Result};
use crate::jinja::agate::cell_value;
use crate::manifest::ResourceType;
use crate::output;
use crate::text_table::TextTable;

pub fn run(args: &ShowArgs) -> Result<i32> {
    let session = Session::load(&args.project)?;
    let compiler = Compiler::new(session.manifest.clone(), session.jinja.clone());
    let db = crate::exec::open_db(&session)?;
    let mut previews: Vec<(String, String)> = Vec::new();
    if let Some(sql) = &args.inline {
        previews.push(("inline".into(), compiler.compile_inline(sql, Some(&db))?));
    } else {
        if args.selection.select.is_empty() && args.selection.selector.is_none() {
            return Err(Error::new(
                "kiln show needs a node (-s orders) or --inline SQL",
            ));
        }
        let types = [
            ResourceType::Model,
            ResourceType::Seed,
            ResourceType::Snapshot,
            ResourceType::Analysis,
        ];
        for id in session.select(&args.selection, &types)? {
            let node = &session.manifest.nodes[&id];
            let sql = match node.resource_type {
                // A seed's SQL is its file; show the loaded table.
                ResourceType::Seed => format!("select * from {}", node.relation().rendered()),
                _ => compiler.compile_node(node, Some(&db))?.sql.to_string(),
            };
            previews.push((node.name.clone(), sql));
        }
    }
    for (name, sql) in previews {
        let limit = if args.limit < 0 {
            String::new()
        } else {
            format!(" limit {}", args.limit)
        };
        let table = db
            .conn()
            .query(&format!("select * from (\n{sql}\n) as __kiln_show{limit}"))
            .map_err(|e| Error::new(format!("could not run {name}: {}", e.message)))?;
        match args.output {
            ShowOutput::Json => {
                output::stdout_line(&json!({"node": name, "show": rows_json(&table)}).to_string())
            }
            ShowOutput::Text => {
                output::info(&format!(
                    "Previewing {}:",
                    if name == "inline" {
                        "inline node".to_string()
                    } else {
                        format!("node '{name}'")
                    }
                ));
                output::stdout_line(&text_table(&table));
            }
        }
    }
    Ok(0)
}

fn rows_json(t: &Table) -> Json {
    Json::Array(
        t.rows
            .iter()
            .map(|r| {
                Json::Object(
                    t.columns
                        .iter()
                        .zip(r)
                        .map(|(c, v)| {
                            (
                                c.name.clone(),
                                serde_json::to_value(cell_value(v)).unwrap_or(Json::Null),
                            )
                        })
                        .collect::<Map<_, _>>(),
                )
            })
            .collect(),
    )
}

/// An aligned table: numbers to the right, everything else to the left.
fn text_table(t: &Table) -> String {
    let cells: Vec<Vec<String>> = t
        .rows
        .iter()
        .map(|r| {
            r.iter()
                .map(|c| {
                    if *c == Cell::Null {
                        "NULL".into()
                    } else {
                        c.to_string()
                    }
                })
                .collect()
        })
        .collect();
    let names: Vec<String> = t.columns.iter().map(|c| c.name.clone()).collect();
    let numeric: Vec<bool> = (0..t.columns.len())
        .map(|i| {
            t.rows.iter().all(|r| {
                matches!(
                    r[i],
                    Cell::Int(_) | Cell::Float(_) | Cell::Decimal(_) | Cell::Null
                )
            })
        })
        .collect();
    let table = TextTable::new(&names, &cells).right_aligned(numeric);
    let line = |vals: &[String]| format!("| {} |", table.line(vals, " | "));
    let mut out = vec![line(&names), format!("|{}|", table.rule(2, "|"))];
    out.extend(cells.iter().map(|r| line(r)));
    out.join("\n")
}
