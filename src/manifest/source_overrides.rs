//! `overrides:` on a source: the root project redefines parts of a
//! package's source (its database, schema, a table's identifier, ...)
//! without copying it, as dbt allows. The package keeps its source's
//! unique ids and tests; the overriding entry's keys win, table by table.

use std::sync::Arc;

use serde_json::Value as Json;

use crate::manifest::parse::YamlFile;

/// Source entries with every `overrides:` entry merged into the package
/// entry it names (and no longer a source of its own).
pub fn apply(entries: Vec<(Json, Arc<YamlFile>)>) -> Vec<(Json, Arc<YamlFile>)> {
    let (overrides, mut sources): (Vec<_>, Vec<_>) = entries
        .into_iter()
        .partition(|(e, _)| e.get("overrides").and_then(Json::as_str).is_some());
    for (over, _) in overrides {
        let package = over["overrides"].as_str().unwrap_or_default().to_string();
        let name = over.get("name").and_then(Json::as_str).unwrap_or_default();
        if let Some((base, _)) = sources.iter_mut().find(|(e, yf)| {
            yf.package == package && e.get("name").and_then(Json::as_str) == Some(name)
        }) {
            merge(base, &over);
        }
    }
    sources
}

fn merge(base: &mut Json, over: &Json) {
    let (Json::Object(b), Json::Object(o)) = (base, over) else {
        return;
    };
    for (k, v) in o {
        match k.as_str() {
            "overrides" | "name" => {}
            "tables" => {
                let Some(Json::Array(tables)) = b.get_mut("tables") else {
                    b.insert(k.clone(), v.clone());
                    continue;
                };
                for t in v.as_array().into_iter().flatten() {
                    let tname = t.get("name");
                    match tables.iter_mut().find(|x| x.get("name") == tname) {
                        Some(existing) => {
                            if let (Json::Object(e), Json::Object(n)) = (existing, t) {
                                e.extend(n.clone());
                            }
                        }
                        None => tables.push(t.clone()),
                    }
                }
            }
            _ => {
                b.insert(k.clone(), v.clone());
            }
        }
    }
}
