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
        let model = sm
            .get("model")
            .and_then(Json::as_str)
            .unwrap_or("")
            .to_string();
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
                .is_some_and(|ms| {
                    ms.iter()
                        .any(|m| m.get("name").and_then(Json::as_str) == Some(measure))
                })
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
        let filter = normalize_filter(m.get("filter"));
        m.insert("filter".into(), filter);
        m.insert("type_params".into(), normalize_type_params(&params));
        m.entry("meta").or_insert(json!({}));
        for key in ["time_granularity", "group"] {
            m.entry(key).or_insert(Json::Null);
        }
        m.entry("type").or_insert(Json::from("simple"));
        let name = m["name"].clone();
        m.entry("label").or_insert(name);
        metrics.insert(id, Json::Object(m));
    }
    // Derived metrics depend on the metrics they name.
    let metric_ids: Vec<(String, String)> = metrics
        .iter()
        .map(|(id, m)| {
            (
                m["name"].as_str().unwrap_or_default().to_string(),
                id.clone(),
            )
        })
        .collect();
    for m in metrics.values_mut() {
        let names: Vec<String> = m["metrics"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x[0].as_str().map(str::to_string))
                    .collect()
            })
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
                    .filter_map(|n| {
                        metric_ids
                            .iter()
                            .find(|(name, _)| name == n)
                            .map(|(_, id)| id.clone())
                    })
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

/// A metric or input filter as dbt stores it: `{"where_filters":
/// [{"where_sql_template": ...}]}` from a string or a list of strings.
fn normalize_filter(v: Option<&Json>) -> Json {
    let template = |t: &Json| json!({"where_sql_template": t.as_str().map_or_else(|| t.to_string(), str::to_string)});
    match v {
        None | Some(Json::Null) => Json::Null,
        Some(Json::String(_)) => json!({"where_filters": [template(v.unwrap_or(&Json::Null))]}),
        Some(Json::Array(list)) => {
            json!({"where_filters": list.iter().map(template).collect::<Vec<_>>()})
        }
        Some(other) => other.clone(),
    }
}

/// `7 days` as `{"count": 7, "granularity": "day"}`.
fn normalize_window(v: Option<&Json>) -> Json {
    match v.and_then(Json::as_str) {
        Some(text) => {
            let mut parts = text.split_whitespace();
            let count = parts.next().and_then(|c| c.parse::<i64>().ok());
            let unit = parts
                .next()
                .unwrap_or("")
                .trim_end_matches('s')
                .to_lowercase();
            match count {
                Some(c) => json!({"count": c, "granularity": unit}),
                None => Json::Null,
            }
        }
        None => v.cloned().unwrap_or(Json::Null),
    }
}

/// A measure input: a name, or `{name, filter, alias, ...}`, with dbt's defaults.
fn measure_input(v: &Json) -> Json {
    let mut out = json!({"name": Json::Null, "filter": Json::Null, "alias": Json::Null,
                         "join_to_timespine": false, "fill_nulls_with": Json::Null});
    match v {
        Json::String(s) => out["name"] = Json::from(s.clone()),
        Json::Object(m) => {
            for (k, x) in m {
                out[k.as_str()] = if k == "filter" {
                    normalize_filter(Some(x))
                } else {
                    x.clone()
                };
            }
        }
        _ => {}
    }
    out
}

/// A metric input (of a derived or ratio metric), with dbt's defaults.
fn metric_input(v: &Json) -> Json {
    let mut out = json!({"name": Json::Null, "filter": Json::Null, "alias": Json::Null,
                         "offset_window": Json::Null, "offset_to_grain": Json::Null});
    match v {
        Json::String(s) => out["name"] = Json::from(s.clone()),
        Json::Object(m) => {
            for (k, x) in m {
                out[k.as_str()] = match k.as_str() {
                    "filter" => normalize_filter(Some(x)),
                    "offset_window" => normalize_window(Some(x)),
                    _ => x.clone(),
                };
            }
        }
        _ => {}
    }
    out
}

/// A metric's `type_params` in the full shape dbt writes.
fn normalize_type_params(params: &Json) -> Json {
    let get = |k: &str| params.get(k).filter(|v| !v.is_null());
    let measure = get("measure").map(measure_input);
    let cumulative = get("cumulative_type_params").map(|c| {
        json!({
            "window": normalize_window(c.get("window").or(get("window"))),
            "grain_to_date": c.get("grain_to_date").cloned().unwrap_or(Json::Null),
            "period_agg": c.get("period_agg").cloned().unwrap_or(Json::from("first")),
            "metric": c.get("metric").cloned().unwrap_or(Json::Null),
        })
    });
    json!({
        "measure": measure.clone().unwrap_or(Json::Null),
        "input_measures": measure.map(|m| vec![m]).unwrap_or_default(),
        "numerator": get("numerator").map(metric_input).unwrap_or(Json::Null),
        "denominator": get("denominator").map(metric_input).unwrap_or(Json::Null),
        "expr": get("expr").cloned().unwrap_or(Json::Null),
        "window": normalize_window(get("window")),
        "grain_to_date": get("grain_to_date").cloned().unwrap_or(Json::Null),
        "metrics": get("metrics").and_then(Json::as_array).map(|l| l.iter().map(metric_input).collect::<Vec<_>>()).unwrap_or_default(),
        "conversion_type_params": get("conversion_type_params").cloned().unwrap_or(Json::Null),
        "cumulative_type_params": cumulative.unwrap_or(Json::Null),
        "metric_aggregation_params": Json::Null,
    })
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
