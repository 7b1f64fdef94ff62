//! Groups, semantic models, metrics and saved queries from properties YAML.
//! kiln runs no semantic layer; it reads these so that manifest.json holds
//! them as dbt writes them (tools read them there), `graph` shows them to
//! templates, model access is enforced by group, and exposures can depend
//! on `metric('x')`.

use std::path::Path;
use std::sync::Arc;

use indexmap::IndexMap;
use serde_json::{json, Map, Value as Json};

use crate::error::{Error, Result};
use crate::manifest::parse::YamlFile;
use crate::manifest::resolve::{self, Dependency};
use crate::manifest::Manifest;

/// The entries of one kind (`groups:`, `metrics:`, ...) gathered from every file.
#[derive(Debug, Default, Clone)]
pub struct Entries {
    pub groups: Vec<(Json, Arc<YamlFile>)>,
    pub semantic_models: Vec<(Json, Arc<YamlFile>)>,
    pub metrics: Vec<(Json, Arc<YamlFile>)>,
    pub saved_queries: Vec<(Json, Arc<YamlFile>)>,
}

fn name_of(entry: &Json, kind: &str, yf: &YamlFile) -> Result<String> {
    entry
        .get("name")
        .and_then(Json::as_str)
        .map(str::to_string)
        .ok_or_else(|| {
            Error::new(format!("a {kind} entry has no `name:`"))
                .at(crate::error::Location::file(&yf.display_path))
        })
}

/// The fields every one of these resources has in manifest.json.
fn base(entry: &Json, kind: &str, yf: &YamlFile) -> Result<(String, Map<String, Json>)> {
    let name = name_of(entry, kind, yf)?;
    let unique_id = format!("{kind}.{}.{name}", yf.package);
    let mut fqn = vec![Json::from(yf.package.clone())];
    if let Some(parent) = Path::new(&yf.original_file_path).parent() {
        fqn.extend(
            parent
                .components()
                .skip(1)
                .map(|c| Json::from(c.as_os_str().to_string_lossy().to_string())),
        );
    }
    fqn.push(Json::from(name.clone()));
    let mut out = entry.as_object().cloned().unwrap_or_default();
    out.insert("name".into(), Json::from(name));
    out.insert("resource_type".into(), Json::from(kind));
    out.insert("package_name".into(), Json::from(yf.package.clone()));
    out.insert("path".into(), Json::from(yf.original_file_path.clone()));
    out.insert(
        "original_file_path".into(),
        Json::from(yf.original_file_path.clone()),
    );
    out.insert("unique_id".into(), Json::from(unique_id.clone()));
    out.insert("fqn".into(), Json::Array(fqn));
    out.entry("description").or_insert(Json::from(""));
    let mut config = out
        .get("config")
        .and_then(Json::as_object)
        .cloned()
        .unwrap_or_default();
    config.entry("enabled").or_insert(Json::from(true));
    config.entry("meta").or_insert(json!({}));
    if let Some(g) = out.get("group").cloned() {
        config.entry("group").or_insert(g);
    }
    out.insert("config".into(), Json::Object(config));
    Ok((unique_id, out))
}

fn depends_on(nodes: Vec<String>) -> Json {
    json!({"macros": [], "nodes": nodes})
}

/// Reads every entry into the manifest; ref()s of semantic models, and the
/// semantic models and metrics that metrics and saved queries name, become
/// their depends_on.
pub fn add_to_manifest(manifest: &mut Manifest, entries: &Entries) -> Result<()> {
    for (entry, yf) in &entries.groups {
        let (id, g) = base(entry, "group", yf)?;
        manifest.groups.insert(id, Json::Object(g));
    }
    // Semantic models: `model: ref('orders')`.
    let lookup = resolve::Lookup::new(manifest);
    let mut semantic_models: IndexMap<String, Json> = IndexMap::new();
    for (entry, yf) in &entries.semantic_models {
        let (id, mut sm) = base(entry, "semantic_model", yf)?;
        let model = sm.get("model").and_then(Json::as_str).unwrap_or("").to_string();
        let mut nodes = Vec::new();
        let mut refs = Vec::new();
        if let Some(Dependency::Ref(call)) = resolve::parse_dependency(&model) {
            match lookup.find_ref(manifest, &yf.package, &call) {
                Some(node_id) => {
                    if let Some(n) = manifest.nodes.get(&node_id) {
                        sm.insert(
                            "node_relation".into(),
                            json!({"alias": n.alias, "schema_name": n.schema, "database": n.database,
                                   "relation_name": n.relation_name()}),
                        );
                    }
                    nodes.push(node_id);
                }
                None => {
                    return Err(Error::new(format!(
                        "semantic model '{}' is built on {model}, which is not a model in this project",
                        sm["name"].as_str().unwrap_or_default()
                    ))
                    .at(yf.locate(sm["name"].as_str().unwrap_or_default())))
                }
            }
            refs.push(json!({"name": call.name, "package": call.package, "version": call.version}));
        }
        sm.insert("depends_on".into(), depends_on(nodes));
        sm.insert("refs".into(), Json::Array(refs));
        for key in ["entities", "measures", "dimensions"] {
            sm.entry(key).or_insert(json!([]));
        }
        semantic_models.insert(id, Json::Object(sm));
    }
    // Which semantic model defines each measure.
    let measure_owner = |measure: &str| -> Option<String> {
        semantic_models.iter().find_map(|(id, sm)| {
            sm.get("measures")
                .and_then(Json::as_array)
                .is_some_and(|ms| ms.iter().any(|m| m.get("name").and_then(Json::as_str) == Some(measure)))
                .then(|| id.clone())
        })
    };
    let mut metrics: IndexMap<String, Json> = IndexMap::new();
    for (entry, yf) in &entries.metrics {
        let (id, mut m) = base(entry, "metric", yf)?;
        let params = m.get("type_params").cloned().unwrap_or(json!({}));
        let mut nodes = Vec::new();
        let mut named = |v: &Json| {
            let name = v.as_str().or_else(|| v.get("name").and_then(Json::as_str));
            if let Some(owner) = name.and_then(measure_owner) {
                if !nodes.contains(&owner) {
                    nodes.push(owner);
                }
            }
        };
        for key in ["measure", "numerator", "denominator"] {
            if let Some(v) = params.get(key) {
                named(v);
            }
        }
        let metric_names: Vec<Json> = params
            .get("metrics")
            .and_then(Json::as_array)
            .map(|ms| {
                ms.iter()
                    .filter_map(|x| x.as_str().or_else(|| x.get("name").and_then(Json::as_str)))
                    .map(|n| json!([n]))
                    .collect()
            })
            .unwrap_or_default();
        m.insert("depends_on".into(), depends_on(nodes));
        m.insert("metrics".into(), Json::Array(metric_names));
        m.entry("type").or_insert(Json::from("simple"));
        let name = m["name"].clone();
        m.entry("label").or_insert(name);
        metrics.insert(id, Json::Object(m));
    }
    // Derived metrics depend on the metrics they name.
    let metric_ids: Vec<(String, String)> = metrics
        .iter()
        .map(|(id, m)| (m["name"].as_str().unwrap_or_default().to_string(), id.clone()))
        .collect();
    for m in metrics.values_mut() {
        let names: Vec<String> = m["metrics"]
            .as_array()
            .map(|a| a.iter().filter_map(|x| x[0].as_str().map(str::to_string)).collect())
            .unwrap_or_default();
        for n in names {
            if let Some((_, id)) = metric_ids.iter().find(|(name, _)| *name == n) {
                if let Some(list) = m["depends_on"]["nodes"].as_array_mut() {
                    list.push(Json::from(id.clone()));
                }
            }
        }
    }
    for (entry, yf) in &entries.saved_queries {
        let (id, mut q) = base(entry, "saved_query", yf)?;
        let nodes: Vec<String> = q
            .get("query_params")
            .and_then(|p| p.get("metrics"))
            .and_then(Json::as_array)
            .map(|names| {
                names
                    .iter()
                    .filter_map(Json::as_str)
                    .filter_map(|n| metric_ids.iter().find(|(name, _)| name == n).map(|(_, id)| id.clone()))
                    .collect()
            })
            .unwrap_or_default();
        q.insert("depends_on".into(), depends_on(nodes));
        q.entry("exports").or_insert(json!([]));
        manifest.saved_queries.insert(id, Json::Object(q));
    }
    manifest.semantic_models = semantic_models;
    manifest.metrics = metrics;
    Ok(())
}

/// `metric('name')` in an exposure's depends_on: the metric's unique id.
pub fn metric_dependency(manifest: &Manifest, text: &str) -> Option<String> {
    let re = crate::regex!(r#"^\s*metric\s*\(\s*['"]([^'"]+)['"]\s*\)\s*$"#);
    let name = re.captures(text)?.get(1)?.as_str().to_string();
    manifest
        .metrics
        .iter()
        .find(|(_, m)| m["name"].as_str() == Some(name.as_str()))
        .map(|(id, _)| id.clone())
}
