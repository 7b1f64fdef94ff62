//! Model versions (`versions:` in properties YAML), as dbt 1.5+ reads them:
//! each version is its own node, `model.<pkg>.<name>.v<v>`, built from the
//! file `<name>_v<v>.sql` (or `defined_in:`); the latest version may also
//! live in the unsuffixed `<name>.sql`. Its relation is `<name>_v<v>` unless
//! an alias says otherwise (generate_alias_name does that).

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value as Json};

use crate::manifest::Node;
use crate::project::properties::{ColumnProperties, NodeProperties};

/// One version of a model, as its file is matched to it.
#[derive(Debug, Clone)]
pub struct ModelVersion {
    /// The model's name (the properties entry).
    pub name: String,
    /// `v:` as written (a number or a string).
    pub v: Json,
    pub latest: Json,
    /// The version's own entry (config, columns, tests, ...).
    pub entry: Map<String, Json>,
}

impl ModelVersion {
    /// The version as text: `1`, `2.1`, `beta`.
    pub fn text(&self) -> String {
        text(&self.v)
    }
}

pub fn text(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The latest version: `latest_version:`, else the greatest `v` (numbers
/// compared as numbers, as dbt does).
fn latest(props: &NodeProperties) -> Option<Json> {
    if let Some(l) = props.latest_version.as_ref().filter(|l| !l.is_null()) {
        return Some(l.clone());
    }
    props
        .versions
        .iter()
        .filter_map(|e| e.get("v").cloned())
        .max_by(|a, b| {
            let (x, y) = (text(a), text(b));
            match (x.parse::<f64>(), y.parse::<f64>()) {
                (Ok(p), Ok(q)) => p.partial_cmp(&q).unwrap_or(std::cmp::Ordering::Equal),
                _ => x.cmp(&y),
            }
        })
}

/// For each versioned model (with its package), the file (model name) that
/// holds each version. `files` are the (package, model name) found on disk.
/// Versions whose file is missing come back as (package, model, file looked
/// for): dbt warns about them and goes on.
pub type Missing = Vec<(String, String, String)>;

pub fn plan<'a>(
    models: impl Iterator<Item = (&'a str, &'a NodeProperties)>,
    files: &HashSet<(String, String)>,
) -> (HashMap<(String, String), ModelVersion>, Missing) {
    let mut out = HashMap::new();
    let mut missing = Vec::new();
    for (package, props) in models.filter(|(_, p)| !p.versions.is_empty()) {
        let Some(latest) = latest(props) else {
            continue;
        };
        for entry in &props.versions {
            let Some(v) = entry.get("v").filter(|v| !v.is_null()) else {
                continue;
            };
            let defined_in = entry
                .get("defined_in")
                .and_then(Json::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| format!("{}_v{}", props.name, text(v)));
            let has = |name: &str| files.contains(&(package.to_string(), name.to_string()));
            let file = if has(&defined_in) {
                defined_in
            } else if text(v) == text(&latest) && has(&props.name) {
                props.name.clone()
            } else {
                missing.push((package.to_string(), props.name.clone(), defined_in));
                continue;
            };
            out.insert(
                (package.to_string(), file),
                ModelVersion {
                    name: props.name.clone(),
                    v: v.clone(),
                    latest: latest.clone(),
                    entry: entry.as_object().cloned().unwrap_or_default(),
                },
            );
        }
    }
    (out, missing)
}

/// Renames a node read from a version's file to the versioned model.
pub fn apply(node: &mut Node, version: &ModelVersion) {
    let v = version.text();
    node.name = version.name.clone();
    node.unique_id = format!("model.{}.{}.v{v}", node.package_name, version.name);
    if let Some(last) = node.fqn.last_mut() {
        *last = version.name.clone();
    }
    node.fqn.push(format!("v{v}"));
    node.version = Some(version.v.clone());
    node.latest_version = Some(version.latest.clone());
}

/// The properties of one version: the model's, with the version's own
/// description, config, tests and columns (`include`/`exclude` pick from
/// the model's columns; columns written here replace those of the same name).
pub fn properties(model: &NodeProperties, version: &ModelVersion) -> NodeProperties {
    let mut props = model.clone();
    let entry = &version.entry;
    if let Some(d) = entry.get("description").and_then(Json::as_str) {
        props.description = Some(d.to_string());
    }
    if let Some(Json::Object(c)) = entry.get("config") {
        props.config.extend(c.clone());
    }
    for key in ["data_tests", "tests"] {
        if let Some(Json::Array(t)) = entry.get(key) {
            props.data_tests.extend(t.iter().cloned());
        }
    }
    if let Some(d) = entry.get("deprecation_date").filter(|d| !d.is_null()) {
        props.deprecation_date = Some(d.clone());
    }
    if let Some(Json::Array(c)) = entry.get("constraints") {
        props.constraints = c.clone();
    }
    let Some(Json::Array(cols)) = entry.get("columns") else {
        return props;
    };
    let mut include: Option<Vec<String>> = None;
    let mut exclude: Vec<String> = Vec::new();
    let mut own: Vec<ColumnProperties> = Vec::new();
    for c in cols {
        if c.get("include").is_some() || c.get("exclude").is_some() {
            include = match c.get("include") {
                Some(Json::Array(list)) => Some(list.iter().map(text).collect()),
                _ => None,
            };
            if let Some(Json::Array(list)) = c.get("exclude") {
                exclude = list.iter().map(text).collect();
            }
        } else if let Ok(col) = serde_json::from_value::<ColumnProperties>(c.clone()) {
            own.push(col);
        }
    }
    let kept = |name: &str| {
        include
            .as_ref()
            .is_none_or(|list| list.iter().any(|i| i.eq_ignore_ascii_case(name)))
            && !exclude.iter().any(|e| e.eq_ignore_ascii_case(name))
    };
    let mut columns: Vec<ColumnProperties> = model
        .columns
        .iter()
        .filter(|c| kept(&c.name))
        .filter(|c| !own.iter().any(|o| o.name.eq_ignore_ascii_case(&c.name)))
        .cloned()
        .collect();
    columns.extend(own);
    props.columns = columns;
    props
}
