//! Where a node lands: database, schema and alias through the overridable
//! generate_database_name / generate_schema_name / generate_alias_name macros.
//! When a project does not override one, kiln applies dbt's default rule
//! directly instead of rendering the built-in macro for every node.

use std::sync::Arc;

use minijinja::Value;
use serde_json::Value as Json;

use crate::jinja::{Ctx, Jinja, Scope};
use crate::manifest::{Node, ResourceType};

/// The parts of a node that naming macros may look at, as their `node` argument.
pub fn node_value(node: &Node) -> Value {
    crate::jinja::to_value(serde_json::json!({
        "unique_id": node.unique_id,
        "name": node.name,
        "resource_type": node.resource_type.as_str(),
        "package_name": node.package_name,
        "path": node.path,
        "original_file_path": node.original_file_path,
        "fqn": node.fqn,
        "config": node.config,
        "tags": node.tags,
        "version": node.version,
    }))
}

fn config_str<'a>(node: &'a Node, key: &str) -> Option<&'a str> {
    node.config
        .get(key)
        .and_then(Json::as_str)
        .filter(|s| !s.is_empty())
}

/// Sets `node.database`, `node.schema` and `node.alias`.
pub fn assign(
    jinja: &Arc<Jinja>,
    node: &mut Node,
    target_database: &str,
    target_schema: &str,
) -> Result<(), minijinja::Error> {
    let custom_schema = config_str(node, "schema").map(str::to_string);
    let custom_db = config_str(node, "database").map(str::to_string);
    let custom_alias = config_str(node, "alias").map(str::to_string);
    let package = node.package_name.clone();
    let call = |name: &str,
                custom: Option<String>,
                node: &Node|
     -> Result<Option<String>, minijinja::Error> {
        let macros = &jinja.macros;
        let Some(idx) = macros.resolve(&package, name) else {
            return Ok(None);
        };
        if crate::jinja::macros::INTERNAL_PACKAGES.contains(&macros.defs[idx].package.as_str()) {
            return Ok(None);
        }
        // A macro that never looks at its `node` argument gives the same
        // answer for every node with the same custom value: compute it once.
        let def = &macros.defs[idx];
        let pure = def.arguments.get(1).is_none_or(|arg| !def.reads(arg));
        let key = (idx, custom.clone());
        if pure {
            if let Some(v) = jinja
                .naming_memo
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(&key)
            {
                return Ok(Some(v.clone()));
            }
        }
        let scope = Arc::new(Scope::new(jinja.clone(), false));
        let ctx = Ctx {
            scope,
            package: Arc::from(package.as_str()),
            depth: 0,
            extra_args: None,
        };
        let arg = custom.map(Value::from).unwrap_or(Value::from(()));
        let node_arg = if pure {
            Value::from(())
        } else {
            node_value(node)
        };
        let v = ctx
            .call_macro(idx, &[arg, node_arg])?
            .to_string()
            .trim()
            .to_string();
        if pure {
            jinja
                .naming_memo
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(key, v.clone());
        }
        Ok(Some(v))
    };
    node.database = match call("generate_database_name", custom_db.clone(), node)? {
        Some(db) => db,
        None => custom_db.unwrap_or_else(|| target_database.to_string()),
    };
    node.schema = match call("generate_schema_name", custom_schema.clone(), node)? {
        Some(s) => s,
        None => match custom_schema {
            Some(custom) => format!("{target_schema}_{}", custom.trim()),
            None => target_schema.to_string(),
        },
    };
    if node.resource_type == ResourceType::Snapshot {
        // Legacy snapshots name their schema and database outright, with no
        // generate_*_name macro in between, as in dbt.
        if let Some(s) = config_str(node, "target_schema") {
            node.schema = s.to_string();
        }
        if let Some(d) = config_str(node, "target_database") {
            node.database = d.to_string();
        }
    }
    node.alias = match call("generate_alias_name", custom_alias.clone(), node)? {
        Some(a) => a,
        None => match custom_alias {
            Some(a) => a.trim().to_string(),
            None => match (&node.version, node.resource_type) {
                (Some(v), ResourceType::Model) => format!("{}_v{}", node.name, json_plain(v)),
                _ => node.name.clone(),
            },
        },
    };
    Ok(())
}

fn json_plain(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}
