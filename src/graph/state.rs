//! `--state DIR`: a previous manifest.json (kiln's or dbt's) and
//! run_results.json, for `state:new`, `state:modified[.sub]`,
//! `state:unmodified`, `state:old` and `result:<status>`.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde_json::{Map, Value as Json};

use crate::error::{Error, Location, Result};
use crate::jinja::Jinja;
use crate::manifest::json::{macros_json, node_json, source_json};
use crate::manifest::Manifest;

/// The kinds of change `state:modified` looks for, as its sub-selectors.
pub const CHANGES: [&str; 7] = [
    "body",
    "configs",
    "relation",
    "persisted_descriptions",
    "macros",
    "contract",
    "vars",
];

pub struct PreviousState {
    /// Nodes and sources of the previous manifest, by unique id.
    nodes: Map<String, Json>,
    results: HashMap<String, String>,
    /// Current macros whose SQL differs from the previous manifest's, or
    /// that call such a macro.
    changed_macros: HashSet<String>,
    /// Current nodes and sources as manifest JSON, by unique id.
    current: HashMap<String, Json>,
    /// What changed, per node; worked out once, on first use.
    changes: std::sync::OnceLock<HashMap<String, Vec<String>>>,
}

impl PreviousState {
    pub fn load(dir: &Path, manifest: &Manifest, jinja: &Jinja) -> Result<PreviousState> {
        let path = dir.join("manifest.json");
        let text = std::fs::read_to_string(&path).map_err(|e| {
            Error::new(format!(
                "--state {}: cannot read manifest.json: {e}",
                dir.display()
            ))
            .note(
                "point --state at the target directory of a previous run (it holds manifest.json)",
            )
        })?;
        let doc: Json = serde_json::from_str(&text).map_err(|e| {
            Error::new(format!("{} is not a manifest: {e}", path.display()))
                .at(Location::file(&path))
        })?;
        let mut nodes = doc["nodes"].as_object().cloned().unwrap_or_default();
        nodes.extend(doc["sources"].as_object().cloned().unwrap_or_default());
        nodes.extend(doc["unit_tests"].as_object().cloned().unwrap_or_default());
        let results = std::fs::read_to_string(dir.join("run_results.json"))
            .ok()
            .and_then(|t| serde_json::from_str::<Json>(&t).ok())
            .and_then(|r| r["results"].as_array().cloned())
            .unwrap_or_default()
            .into_iter()
            .filter_map(|r| {
                Some((
                    r["unique_id"].as_str()?.to_string(),
                    r["status"].as_str()?.to_string(),
                ))
            })
            .collect();
        let before = doc["macros"].as_object().cloned().unwrap_or_default();
        let now = macros_json(manifest, jinja);
        // Built-in macros change with the tool, not the project: they are
        // left out, so a manifest from dbt (or another kiln) compares cleanly.
        let internal = |m: &Json| {
            crate::jinja::macros::INTERNAL_PACKAGES
                .contains(&m["package_name"].as_str().unwrap_or(""))
        };
        let sql = |m: &Json| m["macro_sql"].as_str().unwrap_or("").trim().to_string();
        let mut changed: HashSet<String> = now
            .iter()
            .filter(|(_, m)| !internal(m))
            .filter(|(id, m)| before.get(*id).map(|b| sql(b) != sql(m)).unwrap_or(true))
            .map(|(id, _)| id.clone())
            .collect();
        // A macro that calls a changed macro has changed too.
        loop {
            let more: Vec<String> = now
                .iter()
                .filter(|(id, _)| !changed.contains(*id))
                .filter(|(_, m)| deps(m, "macros").iter().any(|d| changed.contains(d)))
                .map(|(id, _)| id.clone())
                .collect();
            if more.is_empty() {
                break;
            }
            changed.extend(more);
        }
        let mut current: HashMap<String, Json> = manifest
            .nodes
            .iter()
            .map(|(id, n)| (id.clone(), node_json(n)))
            .collect();
        current.extend(
            manifest
                .sources
                .iter()
                .map(|(id, s)| (id.clone(), source_json(s))),
        );
        // Unit tests as the manifest's unit_tests section writes them.
        current.extend(crate::manifest::json::unit_tests_json(manifest));
        Ok(PreviousState {
            nodes,
            results,
            changed_macros: changed,
            current,
            changes: std::sync::OnceLock::new(),
        })
    }

    /// The relation a model, seed or snapshot had in the previous run.
    pub fn relation_of(&self, id: &str) -> Option<crate::jinja::relation::Relation> {
        let n = self.nodes.get(id)?;
        if n["config"]["materialized"] == "ephemeral" {
            return None;
        }
        let text = |k: &str| n[k].as_str().map(str::to_string);
        let identifier = text("alias").or_else(|| text("name"))?;
        Some(crate::jinja::relation::Relation::new(
            &text("database")?,
            &text("schema")?,
            &identifier,
        ))
    }

    /// Breaking changes to an enforced contract since the previous run: a
    /// column removed or retyped, when the model kept its version.
    pub fn contract_breaks(&self, id: &str) -> Vec<String> {
        let (Some(now), Some(before)) = (self.current.get(id), self.nodes.get(id)) else {
            return Vec::new();
        };
        if before["config"]["contract"]["enforced"] != true || now["version"] != before["version"] {
            return Vec::new();
        }
        let now_cols = column_field(now, "data_type", true);
        let mut out = Vec::new();
        for (name, ty) in column_field(before, "data_type", true) {
            match now_cols.iter().find(|(n, _)| *n == name) {
                None => out.push(format!("column {name} was removed")),
                Some((_, t)) if *t != ty => {
                    out.push(format!("column {name} changed type from {ty} to {t}"))
                }
                _ => {}
            }
        }
        if now["config"]["contract"]["enforced"] != true {
            out.push("the contract is no longer enforced".into());
        }
        out
    }

    pub fn is_new(&self, id: &str) -> bool {
        self.current.contains_key(id) && !self.nodes.contains_key(id)
    }

    pub fn result(&self, id: &str) -> Option<&str> {
        self.results.get(id).map(String::as_str)
    }

    /// What changed in a node since the previous manifest (empty when
    /// nothing did); "new" for a node the previous manifest lacks.
    pub fn changes(&self, id: &str) -> &[String] {
        self.changes
            .get_or_init(|| {
                self.current
                    .keys()
                    .map(|id| (id.clone(), self.compare(id)))
                    .collect()
            })
            .get(id)
            .map_or(&[], Vec::as_slice)
    }

    fn compare(&self, id: &str) -> Vec<String> {
        let Some(now) = self.current.get(id) else {
            return Vec::new();
        };
        let Some(before) = self.nodes.get(id) else {
            return vec!["new".into()];
        };
        let mut out = Vec::new();
        if id.starts_with("unit_test.") {
            // A unit test is its definition: fixtures, expectations, overrides.
            let def = |j: &Json| ["given", "expect", "overrides"].map(|k| without_nulls(&j[k]));
            if def(now) != def(before) {
                out.push("body".to_string());
            }
            return out;
        }
        if now["checksum"]["checksum"] != before["checksum"]["checksum"] {
            out.push("body".to_string());
        }
        let changed_keys = config_changes(&now["config"], &before["config"]);
        if !changed_keys.is_empty() {
            out.push(format!("configs ({})", changed_keys.join(", ")));
        }
        // As dbt: the configured database / schema / alias, not the names
        // they render to, so running against another target is no change.
        let relation_changed = if id.starts_with("source.") {
            ["database", "schema", "identifier"]
                .iter()
                .any(|k| !same_text(&now[*k], &before[*k]))
        } else {
            ["database", "schema", "alias"]
                .iter()
                .any(|k| !same_text(&now["config"][*k], &before["config"][*k]))
        };
        if relation_changed {
            out.push("relation".into());
        }
        let persist = &now["config"]["persist_docs"];
        if (persist["relation"] == true && now["description"] != before["description"])
            || (persist["columns"] == true
                && column_field(now, "description", false)
                    != column_field(before, "description", false))
        {
            out.push("persisted_descriptions".into());
        }
        let changed: Vec<String> = deps(now, "macros")
            .into_iter()
            .filter(|m| self.changed_macros.contains(m))
            .collect();
        if !changed.is_empty() {
            out.push(format!("macros ({})", changed.join(", ")));
        }
        if now["config"]["contract"]["enforced"] == true
            && column_field(now, "data_type", true) != column_field(before, "data_type", true)
        {
            out.push("contract".into());
        }
        if let (Some(a), Some(b)) = (now.get("kiln_inputs"), before.get("kiln_inputs")) {
            let names = |section: &str| -> Vec<String> {
                let (x, y) = (&a[section], &b[section]);
                let mut keys: Vec<String> = x
                    .as_object()
                    .into_iter()
                    .flat_map(|m| m.keys().cloned())
                    .collect();
                keys.retain(|k| x[k] != y[k]);
                keys
            };
            let mut which = names("vars");
            which.extend(names("env_vars").into_iter().map(|k| format!("env {k}")));
            if !which.is_empty() {
                out.push(format!("vars ({})", which.join(", ")));
            }
        }
        out
    }
}

/// A value with null members removed, at any depth (kiln and dbt differ in
/// which unset keys they write).
fn without_nulls(v: &Json) -> Json {
    match v {
        Json::Object(m) => Json::Object(
            m.iter()
                .filter(|(_, x)| !x.is_null())
                .map(|(k, x)| (k.clone(), without_nulls(x)))
                .collect(),
        ),
        Json::Array(a) => Json::Array(a.iter().map(without_nulls).collect()),
        other => other.clone(),
    }
}

fn deps(j: &Json, kind: &str) -> Vec<String> {
    crate::project::config::strings(Some(&j["depends_on"][kind]))
}

fn same_text(a: &Json, b: &Json) -> bool {
    a.as_str().map(str::to_lowercase) == b.as_str().map(str::to_lowercase)
}

/// (column, one of its fields) for every column of a node, sorted;
/// lower-cased when `fold` (types and names compare case-insensitively).
fn column_field(j: &Json, field: &str, fold: bool) -> Vec<(String, String)> {
    let case = |t: &str| {
        if fold {
            t.to_lowercase()
        } else {
            t.to_string()
        }
    };
    let mut v: Vec<(String, String)> = j["columns"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, c)| (case(k), case(c[field].as_str().unwrap_or(""))))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Config keys whose values differ; a key one side lacks counts only when
/// the other side sets it to something (kiln and dbt list slightly
/// different defaults).
fn config_changes(now: &Json, before: &Json) -> Vec<String> {
    let empty = |v: &Json| {
        let v = without_nulls(v);
        v.is_null()
            || v.as_array().is_some_and(Vec::is_empty)
            || v.as_object().is_some_and(Map::is_empty)
    };
    let mut keys: Vec<String> = now
        .as_object()
        .into_iter()
        .flat_map(|m| m.keys().cloned())
        .collect();
    keys.extend(
        before
            .as_object()
            .into_iter()
            .flat_map(|m| m.keys().cloned()),
    );
    keys.sort();
    keys.dedup();
    keys.retain(|k| match (now.get(k), before.get(k)) {
        (Some(a), Some(b)) => without_nulls(a) != without_nulls(b),
        (Some(v), None) | (None, Some(v)) => !empty(v),
        (None, None) => false,
    });
    keys
}
