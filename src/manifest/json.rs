//! manifest.json in the shape of dbt's manifest v12, so that tools reading
//! dbt's artifacts (orchestrators, docs viewers) can read kiln's.
//!
//! Nodes are serialized straight from borrowed views (no intermediate JSON
//! tree), one string per node, in parallel: the manifest of a 10,000-model
//! project is written in a few tens of milliseconds.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use indexmap::IndexMap;
use rayon::prelude::*;
use serde::Serialize;
use serde_json::{json, Map, Value as Json};

use crate::error::{Error, Result};
use crate::jinja::{Jinja, RefCall};
use crate::manifest::{Column, Compiled, CompiledNodes, Manifest, Node, ResourceType, SourceDef};
use crate::project::config::Config;

pub const MANIFEST_SCHEMA: &str = "https://schemas.getdbt.com/dbt/manifest/v12.json";

/// Facts about the invocation that every artifact's metadata carries.
pub struct Invocation<'a> {
    pub invocation_id: &'a str,
    pub started_at: chrono::DateTime<chrono::Utc>,
    pub project_name: &'a str,
    pub adapter_type: &'a str,
}

pub fn metadata(schema: &str, inv: &Invocation) -> Json {
    json!({
        "dbt_schema_version": schema,
        "dbt_version": crate::project::DBT_VERSION,
        "generated_at": now_iso(),
        "invocation_id": inv.invocation_id,
        "invocation_started_at": inv.started_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "env": {},
        "project_name": inv.project_name,
        "project_id": crate::jinja::builtins::local_md5(inv.project_name.to_string()),
        "user_id": null,
        "send_anonymous_usage_stats": false,
        "adapter_type": inv.adapter_type,
        "quoting": {"database": true, "schema": true, "identifier": true, "column": null},
        "run_started_at": inv.started_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "kiln_version": env!("CARGO_PKG_VERSION"),
    })
}

pub fn now_iso() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

#[derive(Serialize)]
struct ColumnOut<'a> {
    name: &'a str,
    description: &'a str,
    meta: &'a Map<String, Json>,
    data_type: &'a Option<String>,
    constraints: &'a [Json],
    quote: Option<bool>,
    config: ColumnConfig<'a>,
    tags: &'a [String],
    granularity: &'a Option<String>,
    doc_blocks: [(); 0],
}

#[derive(Serialize)]
struct ColumnConfig<'a> {
    meta: &'a Map<String, Json>,
    tags: &'a [String],
}

struct Columns<'a>(&'a indexmap::IndexMap<String, Column>);

impl Serialize for Columns<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(k, c)| {
            (
                k,
                ColumnOut {
                    name: &c.name,
                    description: &c.description,
                    meta: &c.meta,
                    data_type: &c.data_type,
                    constraints: &c.constraints,
                    quote: c.quote,
                    config: ColumnConfig {
                        meta: &c.meta,
                        tags: &c.tags,
                    },
                    tags: &c.tags,
                    granularity: &c.granularity,
                    doc_blocks: [],
                },
            )
        }))
    }
}

#[derive(Serialize)]
struct RefOut<'a> {
    name: &'a str,
    package: &'a Option<String>,
    version: &'a Option<String>,
}

fn refs_out(refs: &[RefCall]) -> Vec<RefOut<'_>> {
    refs.iter()
        .map(|r| RefOut {
            name: &r.name,
            package: &r.package,
            version: &r.version,
        })
        .collect()
}

#[derive(Serialize)]
struct DependsOn<'a> {
    macros: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    nodes: Option<&'a [String]>,
}

#[derive(Serialize)]
struct Checksum<'a> {
    name: &'a str,
    checksum: &'a str,
}

#[derive(Serialize)]
struct Contract {
    enforced: bool,
    alias_types: bool,
    checksum: Option<()>,
}

#[derive(Serialize)]
struct ExtraCte<'a> {
    id: &'a str,
    sql: &'a str,
}

#[derive(Serialize)]
struct TestMetadataOut<'a> {
    name: &'a str,
    kwargs: &'a Map<String, Json>,
    namespace: &'a Option<String>,
}

/// One node as dbt writes it. Fields a resource type does not carry are None
/// and left out; fields dbt writes as null are `Some(Json::Null)`.
#[derive(Serialize)]
pub struct NodeOut<'a> {
    database: &'a str,
    schema: &'a str,
    name: &'a str,
    resource_type: &'a str,
    package_name: &'a str,
    path: &'a str,
    original_file_path: &'a str,
    unique_id: &'a str,
    fqn: &'a [String],
    alias: &'a str,
    checksum: Checksum<'a>,
    config: &'a crate::project::config::NodeConfig,
    tags: &'a [String],
    description: &'a str,
    columns: Columns<'a>,
    meta: &'a Map<String, Json>,
    group: &'a Option<String>,
    docs: Json,
    patch_path: &'a Option<String>,
    build_path: Option<()>,
    unrendered_config: &'a Config,
    created_at: f64,
    relation_name: Option<String>,
    raw_code: &'a str,
    doc_blocks: [(); 0],
    #[serde(skip_serializing_if = "Option::is_none")]
    root_path: Option<Json>,
    #[serde(skip_serializing_if = "Option::is_none")]
    language: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    refs: Option<Vec<RefOut<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sources: Option<&'a [(String, String)]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    metrics: Option<[(); 0]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    functions: Option<[(); 0]>,
    depends_on: DependsOn<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    compiled_path: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    compiled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    compiled_code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    extra_ctes_injected: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    extra_ctes: Option<Vec<ExtraCte<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    contract: Option<Contract>,
    #[serde(skip_serializing_if = "Option::is_none")]
    access: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    constraints: Option<&'a [Json]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<&'a Option<Json>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    latest_version: Option<&'a Option<Json>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    deprecation_date: Option<Json>,
    #[serde(skip_serializing_if = "Option::is_none")]
    primary_key: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    time_spine: Option<Json>,
    #[serde(skip_serializing_if = "Option::is_none")]
    column_name: Option<&'a Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    file_key_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    attached_node: Option<&'a Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    test_metadata: Option<TestMetadataOut<'a>>,
    /// kiln's own record of the vars and env vars the node read while
    /// rendering (values as md5, so secrets are never written), so
    /// `state:modified` can see a changed value.
    #[serde(skip_serializing_if = "Option::is_none")]
    kiln_inputs: Option<Json>,
}

impl<'a> NodeOut<'a> {
    pub fn new(
        node: &'a Node,
        primary_key: &'a [String],
        compiled_node: Option<&'a Compiled>,
    ) -> NodeOut<'a> {
        let rt = node.resource_type;
        let seed = rt == ResourceType::Seed;
        let model = rt == ResourceType::Model;
        let compiled = compiled_node.map(|c| &*c.sql);
        NodeOut {
            database: &node.database,
            schema: &node.schema,
            name: &node.name,
            resource_type: rt.as_str(),
            package_name: &node.package_name,
            path: &node.path,
            original_file_path: &node.original_file_path,
            unique_id: &node.unique_id,
            fqn: &node.fqn,
            alias: &node.alias,
            checksum: if node.checksum.is_empty() {
                Checksum {
                    name: "none",
                    checksum: "",
                }
            } else {
                Checksum {
                    name: "sha256",
                    checksum: &node.checksum,
                }
            },
            config: &node.config,
            tags: &node.tags,
            description: &node.description,
            columns: Columns(&node.columns),
            meta: &node.meta,
            group: &node.group,
            docs: node
                .config
                .get("docs")
                .cloned()
                .unwrap_or(json!({"show": true, "node_color": null})),
            patch_path: &node.patch_path,
            build_path: None,
            unrendered_config: &node.config_call,
            created_at: 0.0,
            relation_name: node.relation_name(),
            raw_code: &node.raw_code,
            doc_blocks: [],
            root_path: seed.then_some(Json::Null),
            language: (!seed).then_some(node.language),
            refs: (!seed).then(|| refs_out(&node.refs)),
            sources: (!seed).then_some(node.sources.as_slice()),
            metrics: (!seed).then_some([]),
            functions: (!seed).then_some([]),
            depends_on: DependsOn {
                macros: &node.depends_on_macros,
                nodes: (!seed).then_some(node.depends_on_nodes.as_slice()),
            },
            compiled_path: (!seed).then(|| {
                compiled
                    .map(|_| format!("target/{}", crate::compile::compiled_path(node).display()))
            }),
            compiled: compiled.map(|_| true),
            compiled_code: compiled,
            extra_ctes_injected: compiled.map(|_| true),
            extra_ctes: compiled_node.map(|c| {
                c.extra_ctes
                    .iter()
                    .map(|(id, sql)| ExtraCte { id, sql })
                    .collect()
            }),
            contract: (!seed).then(|| Contract {
                enforced: node
                    .config
                    .get("contract")
                    .and_then(|c| c.get("enforced"))
                    .and_then(Json::as_bool)
                    .unwrap_or(false),
                alias_types: true,
                checksum: None,
            }),
            access: model.then_some(node.access.as_str()),
            constraints: model.then_some(node.constraints.as_slice()),
            version: model.then_some(&node.version),
            latest_version: model.then_some(&node.latest_version),
            deprecation_date: model.then(|| {
                node.deprecation_date
                    .as_ref()
                    .map(|d| Json::from(d.clone()))
                    .unwrap_or(Json::Null)
            }),
            primary_key: model.then_some(primary_key),
            time_spine: model.then(|| node.time_spine.clone().unwrap_or(Json::Null)),
            column_name: node.test.as_ref().map(|t| &t.column_name),
            file_key_name: node.test.as_ref().map(|t| t.file_key_name.as_str()),
            attached_node: node.test.as_ref().map(|t| &t.attached_node),
            test_metadata: node.test.as_ref().map(|t| TestMetadataOut {
                name: &t.name,
                kwargs: &t.kwargs,
                namespace: &t.namespace,
            }),
            kiln_inputs: kiln_inputs(node),
        }
    }
}

fn kiln_inputs(node: &Node) -> Option<Json> {
    if node.vars_used.is_empty() && node.env_vars_used.is_empty() {
        return None;
    }
    let md5 = crate::jinja::builtins::local_md5;
    let vars: Map<String, Json> = node
        .vars_used
        .iter()
        .map(|(k, v)| (k.clone(), json!(md5(v.to_string()))))
        .collect();
    let env: Map<String, Json> = node
        .env_vars_used
        .iter()
        .map(|(k, v)| (k.clone(), json!(md5(v.clone()))))
        .collect();
    Some(json!({"vars": vars, "env_vars": env}))
}

/// One node as a JSON value (the `model` variable of templates).
pub fn node_json(node: &Node) -> Json {
    serde_json::to_value(NodeOut::new(node, &[], None)).unwrap_or(Json::Null)
}

pub fn source_json(s: &SourceDef) -> Json {
    let freshness = normalize_freshness(&s.freshness);
    let mut config = s.config.clone();
    config.insert("freshness".into(), freshness.clone());
    config.insert("loaded_at_field".into(), json!(s.loaded_at_field));
    config.insert("loaded_at_query".into(), json!(s.loaded_at_query));
    let quote = |k: &str| s.quoting.get(k).cloned().unwrap_or(Json::Null);
    json!({
        "database": s.database,
        "schema": s.schema,
        "name": s.name,
        "resource_type": "source",
        "package_name": s.package_name,
        "path": s.path,
        "original_file_path": s.original_file_path,
        "unique_id": s.unique_id,
        "fqn": s.fqn,
        "source_name": s.source_name,
        "source_description": s.source_description,
        "loader": s.loader,
        "identifier": s.identifier,
        "quoting": {"database": quote("database"), "schema": quote("schema"), "identifier": quote("identifier"), "column": quote("column")},
        "loaded_at_field": s.loaded_at_field,
        "loaded_at_query": s.loaded_at_query,
        "freshness": freshness,
        "external": s.meta.get("external_location").map(|l| json!({"location": l})),
        "description": s.description,
        "columns": serde_json::to_value(Columns(&s.columns)).unwrap_or(Json::Null),
        "meta": s.meta,
        "source_meta": s.source_meta,
        "tags": s.tags,
        "config": config,
        "patch_path": null,
        "unrendered_config": {},
        "unrendered_database": null,
        "unrendered_schema": s.schema,
        "relation_name": s.relation().rendered(),
        "created_at": 0.0,
        "doc_blocks": [],
    })
}

/// Freshness with every field present, as dbt writes it.
pub fn normalize_freshness(f: &Json) -> Json {
    let after = |k: &str| {
        let v = f.get(k);
        json!({
            "count": v.and_then(|x| x.get("count")).cloned().unwrap_or(Json::Null),
            "period": v.and_then(|x| x.get("period")).cloned().unwrap_or(Json::Null),
        })
    };
    json!({
        "warn_after": after("warn_after"),
        "error_after": after("error_after"),
        "filter": f.get("filter").cloned().unwrap_or(Json::Null),
    })
}

/// Columns tested both unique and not_null are a model's primary key, as dbt infers it.
fn primary_keys(manifest: &Manifest) -> BTreeMap<String, Vec<String>> {
    let mut seen: BTreeMap<(String, String), (bool, bool)> = BTreeMap::new();
    for n in manifest.nodes.values() {
        let Some(t) = &n.test else { continue };
        let (Some(node), Some(col)) = (&t.attached_node, &t.column_name) else {
            continue;
        };
        if t.namespace.is_some() {
            continue;
        }
        let e = seen.entry((node.clone(), col.clone())).or_default();
        match t.name.as_str() {
            "unique" => e.0 = true,
            "not_null" => e.1 = true,
            _ => {}
        }
    }
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for ((node, col), (u, nn)) in seen {
        if u && nn {
            out.entry(node).or_default().push(col);
        }
    }
    out
}

pub fn macros_json(manifest: &Manifest, jinja: &Jinja) -> Map<String, Json> {
    let mut macros = Map::new();
    for def in &jinja.macros.defs {
        let patch = manifest.macro_patches.get(&def.unique_id);
        let mut deps: Vec<String> = def
            .calls
            .iter()
            .filter_map(|name| {
                let idx = match name.split_once('.') {
                    Some((pkg, m)) => jinja.macros.in_package(pkg, m),
                    None => jinja.macros.resolve(&def.package, name),
                };
                idx.map(|i| jinja.macros.defs[i].unique_id.clone())
            })
            .collect();
        deps.sort();
        deps.dedup();
        macros.insert(
            def.unique_id.clone(),
            json!({
                "name": def.name,
                "resource_type": "macro",
                "package_name": def.package,
                "path": def.path,
                "original_file_path": def.path,
                "unique_id": def.unique_id,
                "macro_sql": def.macro_sql,
                "depends_on": {"macros": deps},
                "description": patch.map(|p| p.description.clone()).unwrap_or_default(),
                "meta": patch.map(|p| p.meta.clone()).unwrap_or_default(),
                "docs": {"show": true, "node_color": null},
                "config": {"meta": {}, "docs": {"show": true, "node_color": null}},
                "patch_path": patch.and_then(|p| p.patch_path.clone()),
                "arguments": patch.map(|p| p.arguments.clone()).unwrap_or_default(),
                "created_at": 0.0,
                "supported_languages": null,
            }),
        );
    }
    macros
}

fn docs_json(manifest: &Manifest) -> Map<String, Json> {
    manifest
        .docs
        .iter()
        .map(|(k, d)| {
            (
                k.clone(),
                json!({
                    "name": d.name,
                    "resource_type": "doc",
                    "package_name": d.package_name,
                    "path": d.path,
                    "original_file_path": d.original_file_path,
                    "unique_id": d.unique_id,
                    "block_contents": d.block_contents,
                }),
            )
        })
        .collect()
}

fn exposures_json(manifest: &Manifest) -> Map<String, Json> {
    manifest
        .exposures
        .iter()
        .map(|(k, e)| {
            (
                k.clone(),
                json!({
                    "name": e.name,
                    "resource_type": "exposure",
                    "package_name": e.package_name,
                    "path": e.path,
                    "original_file_path": e.original_file_path,
                    "unique_id": e.unique_id,
                    "fqn": e.fqn,
                    "type": e.exposure_type,
                    "owner": e.owner,
                    "description": e.description,
                    "label": e.label,
                    "maturity": e.maturity,
                    "meta": e.meta,
                    "tags": e.tags,
                    "config": e.config,
                    "unrendered_config": {},
                    "url": e.url,
                    "depends_on": {"macros": [], "nodes": e.depends_on_nodes},
                    "refs": refs_out(&e.refs).iter().map(|r| json!(r)).collect::<Vec<_>>(),
                    "sources": e.sources,
                    "metrics": [],
                    "created_at": 0.0,
                }),
            )
        })
        .collect()
}

/// Writes the whole manifest to `path`, atomically.
pub fn write_manifest(
    path: &Path,
    manifest: &Manifest,
    compiled: Option<&CompiledNodes>,
    jinja: &Jinja,
    inv: &Invocation,
    selectors: Json,
) -> Result<()> {
    let pks = primary_keys(manifest);
    let no_pk: Vec<String> = Vec::new();
    // Nodes are serialized in parallel, a chunk at a time, and written in order.
    let node_list: Vec<(&String, &Node)> = manifest
        .nodes
        .iter()
        .map(|(k, n)| (k, &**n))
        .filter(|(_, n)| n.resource_type != ResourceType::UnitTest)
        .collect();
    // Serializes nodes as `"id":{...}` entries, comma-separated, into `buf`.
    let serialize_into = |buf: &mut Vec<u8>, nodes: &[(&String, &Node)]| {
        buf.clear();
        for (k, n) in nodes {
            if !buf.is_empty() {
                buf.push(b',');
            }
            let _ = serde_json::to_writer(&mut *buf, k);
            buf.push(b':');
            let pk = pks.get(*k).unwrap_or(&no_pk);
            let code = compiled.and_then(|c| c.get(*k));
            if serde_json::to_writer(&mut *buf, &NodeOut::new(n, pk, code)).is_err() {
                buf.extend_from_slice(b"null");
            }
        }
    };
    let write_all_nodes = |w: &mut std::io::BufWriter<std::fs::File>| -> std::io::Result<()> {
        // A chunk is serialized in parallel while the previous one is
        // written; buffers are reused, so tens of MB of JSON pass through a
        // few MB of memory.
        let mut ready: Vec<Vec<u8>> = Vec::new();
        let mut spare: Vec<Vec<u8>> = Vec::new();
        let mut first = true;
        for chunk in node_list.chunks(2048) {
            let parts: Vec<&[(&String, &Node)]> = chunk.chunks(64).collect();
            let mut bufs = std::mem::take(&mut spare);
            bufs.resize_with(parts.len(), Vec::new);
            let (written, ()) = rayon::join(
                || write_nodes(w, &ready, &mut first),
                || {
                    bufs.par_iter_mut()
                        .zip(parts.par_iter())
                        .for_each(|(buf, part)| serialize_into(buf, part))
                },
            );
            written?;
            spare = std::mem::replace(&mut ready, bufs);
        }
        write_nodes(w, &ready, &mut first)
    };
    write_atomic(path, |w| {
        write!(
            w,
            "{{\"metadata\":{},\"nodes\":{{",
            metadata(MANIFEST_SCHEMA, inv)
        )?;
        let (rest, nodes) = rayon::join(
            || manifest_rest(manifest, jinja, selectors),
            || write_all_nodes(w),
        );
        nodes?;
        w.write_all(b"}")?;
        for (k, v) in &rest {
            write!(w, ",\"{k}\":")?;
            serde_json::to_writer(&mut *w, v)?;
        }
        w.write_all(b"}")?;
        Ok(())
    })
}

/// A top-level manifest entry after `nodes`. The graph maps are serialized
/// as they are: converting them to JSON values first doubled their cost.
#[derive(Serialize)]
#[serde(untagged)]
enum RestValue<'a> {
    Json(Json),
    Map(IdMap<'a>),
}

/// Everything in the manifest after `nodes`, in dbt's order.
fn manifest_rest<'a>(
    manifest: &'a Manifest,
    jinja: &Jinja,
    selectors: Json,
) -> Vec<(&'static str, RestValue<'a>)> {
    let sources: Map<String, Json> = manifest
        .sources
        .iter()
        .map(|(k, s)| (k.clone(), source_json(s)))
        .collect();
    let mut disabled: Map<String, Json> = Map::new();
    for (k, n) in &manifest.disabled {
        disabled.insert(k.clone(), json!([node_json(n)]));
    }
    for (k, s) in &manifest.disabled_sources {
        disabled.insert(k.clone(), json!([source_json(s)]));
    }
    let (parent_map, child_map) = parent_child_maps(manifest);
    let empty = || RestValue::Json(json!({}));
    vec![
        ("sources", RestValue::Json(Json::Object(sources))),
        (
            "macros",
            RestValue::Json(Json::Object(macros_json(manifest, jinja))),
        ),
        ("docs", RestValue::Json(Json::Object(docs_json(manifest)))),
        (
            "exposures",
            RestValue::Json(Json::Object(exposures_json(manifest))),
        ),
        ("metrics", RestValue::Json(as_map(&manifest.metrics))),
        ("groups", RestValue::Json(as_map(&manifest.groups))),
        ("selectors", RestValue::Json(selectors)),
        ("disabled", RestValue::Json(Json::Object(disabled))),
        ("parent_map", RestValue::Map(parent_map)),
        ("child_map", RestValue::Map(child_map)),
        ("group_map", RestValue::Json(group_map(manifest))),
        (
            "saved_queries",
            RestValue::Json(as_map(&manifest.saved_queries)),
        ),
        (
            "semantic_models",
            RestValue::Json(as_map(&manifest.semantic_models)),
        ),
        (
            "unit_tests",
            RestValue::Json(Json::Object(unit_tests_json(manifest))),
        ),
        ("functions", empty()),
    ]
}

/// Writes serialized `"id":{...}` entries, comma-separated across calls.
fn write_nodes(w: &mut impl Write, parts: &[Vec<u8>], first: &mut bool) -> std::io::Result<()> {
    for part in parts.iter().filter(|p| !p.is_empty()) {
        if !std::mem::take(first) {
            w.write_all(b",")?;
        }
        w.write_all(part)?;
    }
    Ok(())
}

/// A unit test fixture as dbt writes it: `format` (default dict) and
/// `fixture` always present.
fn fixture_json(f: &Json) -> Json {
    let mut f = f.clone();
    if let Some(m) = f.as_object_mut() {
        m.entry("format").or_insert(json!("dict"));
        m.entry("fixture").or_insert(Json::Null);
        // dbt keeps SQL rows without the block scalar's final newline.
        if let (Some("sql"), Some(Json::String(text))) = (m["format"].as_str(), m.get("rows")) {
            let trimmed = text.trim_end().to_string();
            m.insert("rows".into(), json!(trimmed));
        }
        // dbt records inline CSV rows as dicts of text.
        if let (Some("csv"), Some(Json::String(text))) = (m["format"].as_str(), m.get("rows")) {
            let mut reader = csv::ReaderBuilder::new()
                .trim(csv::Trim::All)
                .from_reader(text.trim().as_bytes());
            let header: Vec<String> = reader
                .headers()
                .map(|h| h.iter().map(str::to_string).collect())
                .unwrap_or_default();
            let rows: Vec<Json> = reader
                .records()
                .flatten()
                .map(|r| {
                    Json::Object(
                        header
                            .iter()
                            .cloned()
                            .zip(r.iter().map(|v| json!(v)))
                            .collect(),
                    )
                })
                .collect();
            m.insert("rows".into(), Json::Array(rows));
        }
    }
    f
}

/// Overrides as dbt writes them: macros, vars and env_vars always present.
fn overrides_json(o: Option<&Json>) -> Json {
    match o {
        Some(Json::Object(m)) => {
            let mut m = m.clone();
            for k in ["macros", "vars", "env_vars"] {
                m.entry(k).or_insert(json!({}));
            }
            Json::Object(m)
        }
        _ => Json::Null,
    }
}

/// Unit tests, in the manifest's `unit_tests` section.
pub fn unit_tests_json(manifest: &Manifest) -> Map<String, Json> {
    manifest
        .nodes
        .values()
        .filter_map(|n| n.unit.as_ref().map(|u| (n, u)))
        .map(|(n, u)| {
            let d = &u.definition;
            (
                n.unique_id.clone(),
                json!({
                    "model": u.model,
                    "given": d.get("given").and_then(Json::as_array).map(|g| g.iter().map(fixture_json).collect::<Vec<_>>()).unwrap_or_default(),
                    "expect": d.get("expect").map(fixture_json).unwrap_or(Json::Null),
                    "name": n.name,
                    "resource_type": "unit_test",
                    "package_name": n.package_name,
                    "path": n.path,
                    "original_file_path": n.original_file_path,
                    "unique_id": n.unique_id,
                    "fqn": n.fqn,
                    "description": n.description,
                    "overrides": overrides_json(d.get("overrides")),
                    "depends_on": {"macros": [], "nodes": n.depends_on_nodes},
                    "config": {"tags": n.tags, "meta": {}, "enabled": n.enabled()},
                    "checksum": null,
                    "schema": n.schema,
                    "created_at": 0.0,
                    "versions": null,
                    "version": null,
                }),
            )
        })
        .collect()
}

/// parent_map and child_map, with sorted lists as dbt writes them.
/// Unique id → the unique ids it depends on (or that depend on it).
type IdMap<'a> = BTreeMap<&'a str, Vec<&'a str>>;

pub fn parent_child_maps(manifest: &Manifest) -> (IdMap<'_>, IdMap<'_>) {
    let mut parents = IdMap::new();
    let mut children = IdMap::new();
    for id in manifest.all_ids() {
        parents.entry(id).or_default();
        children.entry(id).or_default();
    }
    let edges = manifest
        .nodes
        .values()
        .map(|n| (&n.unique_id, &n.depends_on_nodes))
        .chain(
            manifest
                .exposures
                .values()
                .map(|e| (&e.unique_id, &e.depends_on_nodes)),
        );
    for (id, deps) in edges {
        for d in deps {
            parents.entry(id).or_default().push(d);
            children.entry(d).or_default().push(id);
        }
    }
    for v in parents.values_mut().chain(children.values_mut()) {
        v.sort_unstable();
        v.dedup();
    }
    (parents, children)
}

/// The `graph` variable templates see: nodes and sources as dicts.
pub fn graph_json(manifest: &Manifest) -> Json {
    let nodes: Map<String, Json> = manifest
        .nodes
        .iter()
        .map(|(k, n)| (k.clone(), node_json(n)))
        .collect();
    let sources: Map<String, Json> = manifest
        .sources
        .iter()
        .map(|(k, s)| (k.clone(), source_json(s)))
        .collect();
    json!({
        "nodes": nodes,
        "sources": sources,
        "exposures": Json::Object(exposures_json(manifest)),
        "metrics": as_map(&manifest.metrics),
        "groups": as_map(&manifest.groups),
        "semantic_models": as_map(&manifest.semantic_models),
        "saved_queries": as_map(&manifest.saved_queries),
    })
}

fn as_map(entries: &IndexMap<String, Json>) -> Json {
    Json::Object(
        entries
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    )
}

/// `group_map`: each group's name and the nodes in it.
fn group_map(manifest: &Manifest) -> Json {
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for n in manifest.nodes.values() {
        if let Some(g) = &n.group {
            map.entry(g.clone()).or_default().push(n.unique_id.clone());
        }
    }
    json!(map)
}

/// Writes JSON to `path` atomically (temporary file, then rename), so a
/// failure never leaves a half-written artifact.
pub fn write_json_atomic(path: &Path, value: &Json) -> Result<()> {
    write_atomic(path, |w| {
        serde_json::to_writer(w, value).map_err(std::io::Error::from)
    })
}

pub fn write_atomic(
    path: &Path,
    write: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> std::io::Result<()>,
) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::io("create", dir, e))?;
    let tmp = path.with_extension("json.tmp");
    let file = std::fs::File::create(&tmp).map_err(|e| Error::io("write", &tmp, e))?;
    let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
    write(&mut w)
        .and_then(|_| w.flush())
        .map_err(|e| Error::io("write", &tmp, e))?;
    drop(w);
    std::fs::rename(&tmp, path).map_err(|e| Error::io("replace", path, e))
}
