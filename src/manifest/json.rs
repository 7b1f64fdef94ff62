//! manifest.json in the shape of dbt's manifest v12, so that tools reading
//! dbt's artifacts (orchestrators, docs viewers) can read kiln's.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{json, Map, Value as Json};

use crate::error::{Error, Result};
use crate::jinja::Jinja;
use crate::manifest::{Column, Manifest, Node, ResourceType, SourceDef};

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

fn columns_json(cols: &indexmap::IndexMap<String, Column>) -> Json {
    let mut m = Map::new();
    for (k, c) in cols {
        m.insert(
            k.clone(),
            json!({
                "name": c.name,
                "description": c.description,
                "meta": c.meta,
                "data_type": c.data_type,
                "constraints": c.constraints,
                "quote": c.quote,
                "config": {"meta": c.meta, "tags": c.tags},
                "tags": c.tags,
                "granularity": c.granularity,
                "doc_blocks": [],
            }),
        );
    }
    Json::Object(m)
}

fn refs_json(node: &Node) -> Json {
    Json::Array(
        node.refs
            .iter()
            .map(|r| json!({"name": r.name, "package": r.package, "version": r.version}))
            .collect(),
    )
}

/// One node as dbt writes it.
pub fn node_json(node: &Node) -> Json {
    let checksum = if node.checksum.is_empty() {
        json!({"name": "none", "checksum": ""})
    } else {
        json!({"name": "sha256", "checksum": node.checksum})
    };
    let mut o = json!({
        "database": node.database,
        "schema": node.schema,
        "name": node.name,
        "resource_type": node.resource_type.as_str(),
        "package_name": node.package_name,
        "path": node.path,
        "original_file_path": node.original_file_path,
        "unique_id": node.unique_id,
        "fqn": node.fqn,
        "alias": node.alias,
        "checksum": checksum,
        "config": node.config,
        "tags": node.tags,
        "description": node.description,
        "columns": columns_json(&node.columns),
        "meta": node.meta,
        "group": node.group,
        "docs": node.config.get("docs").cloned().unwrap_or(json!({"show": true, "node_color": null})),
        "patch_path": node.patch_path,
        "build_path": null,
        "unrendered_config": node.config_call,
        "created_at": 0.0,
        "relation_name": node.relation_name(),
        "raw_code": node.raw_code,
        "doc_blocks": [],
        "language": "sql",
        "refs": refs_json(node),
        "sources": node.sources.iter().map(|(a, b)| json!([a, b])).collect::<Vec<_>>(),
        "metrics": [],
        "functions": [],
        "depends_on": {"macros": node.depends_on_macros, "nodes": node.depends_on_nodes},
        "compiled_path": null,
        "contract": {
            "enforced": node.config.get("contract").and_then(|c| c.get("enforced")).cloned().unwrap_or(Json::Bool(false)),
            "alias_types": true,
            "checksum": null
        },
    });
    let Some(obj) = o.as_object_mut() else {
        return o;
    };
    if let Some(code) = &node.compiled_code {
        obj.insert(
            "compiled_path".into(),
            json!(format!(
                "target/compiled/{}/{}",
                node.package_name, node.original_file_path
            )),
        );
        obj.insert("compiled".into(), json!(true));
        obj.insert("compiled_code".into(), json!(code));
        obj.insert("extra_ctes_injected".into(), json!(true));
        obj.insert(
            "extra_ctes".into(),
            Json::Array(
                node.extra_ctes
                    .iter()
                    .map(|(id, sql)| json!({"id": id, "sql": sql}))
                    .collect(),
            ),
        );
    }
    match node.resource_type {
        ResourceType::Model => {
            obj.insert("access".into(), json!(node.access));
            obj.insert("constraints".into(), json!(node.constraints));
            obj.insert("version".into(), json!(node.version));
            obj.insert("latest_version".into(), json!(node.latest_version));
            obj.insert("deprecation_date".into(), Json::Null);
            obj.insert("primary_key".into(), json!([]));
            obj.insert("time_spine".into(), Json::Null);
        }
        ResourceType::Seed => {
            obj.insert("root_path".into(), Json::Null);
            obj.insert(
                "depends_on".into(),
                json!({"macros": node.depends_on_macros}),
            );
            for k in [
                "refs",
                "sources",
                "metrics",
                "functions",
                "language",
                "compiled_path",
                "contract",
            ] {
                obj.remove(k);
            }
        }
        ResourceType::Test => {
            if let Some(t) = &node.test {
                obj.insert("column_name".into(), json!(t.column_name));
                obj.insert("file_key_name".into(), json!(t.file_key_name));
                obj.insert("attached_node".into(), json!(t.attached_node));
                obj.insert(
                    "test_metadata".into(),
                    json!({"name": t.name, "kwargs": t.kwargs, "namespace": t.namespace}),
                );
            }
        }
        _ => {}
    }
    o
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
        "columns": columns_json(&s.columns),
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

/// The whole manifest.
pub fn manifest_json(
    manifest: &Manifest,
    jinja: &Jinja,
    inv: &Invocation,
    selectors: Json,
) -> Json {
    let pks = primary_keys(manifest);
    let nodes: Map<String, Json> = manifest
        .nodes
        .iter()
        .map(|(k, n)| {
            let mut j = node_json(n);
            if let (Some(pk), Some(o)) = (pks.get(k), j.as_object_mut()) {
                o.insert("primary_key".into(), json!(pk));
            }
            (k.clone(), j)
        })
        .collect();
    let sources: Map<String, Json> = manifest
        .sources
        .iter()
        .map(|(k, s)| (k.clone(), source_json(s)))
        .collect();
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
    let docs: Map<String, Json> = manifest
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
        .collect();
    let exposures: Map<String, Json> = manifest
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
                    "refs": e.refs.iter().map(|r| json!({"name": r.name, "package": r.package, "version": r.version})).collect::<Vec<_>>(),
                    "sources": e.sources.iter().map(|(a, b)| json!([a, b])).collect::<Vec<_>>(),
                    "metrics": [],
                    "created_at": 0.0,
                }),
            )
        })
        .collect();
    let mut disabled: Map<String, Json> = Map::new();
    for (k, n) in &manifest.disabled {
        disabled.insert(k.clone(), json!([node_json(n)]));
    }
    for (k, s) in &manifest.disabled_sources {
        disabled.insert(k.clone(), json!([source_json(s)]));
    }
    let (parent_map, child_map) = parent_child_maps(manifest);
    json!({
        "metadata": metadata(MANIFEST_SCHEMA, inv),
        "nodes": nodes,
        "sources": sources,
        "macros": macros,
        "docs": docs,
        "exposures": exposures,
        "metrics": {},
        "groups": {},
        "selectors": selectors,
        "disabled": disabled,
        "parent_map": parent_map,
        "child_map": child_map,
        "group_map": {},
        "saved_queries": {},
        "semantic_models": {},
        "unit_tests": {},
        "functions": {},
    })
}

/// parent_map and child_map, with sorted lists as dbt writes them.
pub fn parent_child_maps(
    manifest: &Manifest,
) -> (BTreeMap<String, Vec<String>>, BTreeMap<String, Vec<String>>) {
    let mut parents: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut children: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for id in manifest.all_ids() {
        parents.entry(id.clone()).or_default();
        children.entry(id.clone()).or_default();
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
            parents.entry(id.clone()).or_default().push(d.clone());
            children.entry(d.clone()).or_default().push(id.clone());
        }
    }
    for v in parents.values_mut().chain(children.values_mut()) {
        v.sort();
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
    json!({"nodes": nodes, "sources": sources, "exposures": {}, "metrics": {}, "groups": {}, "semantic_models": {}, "saved_queries": {}})
}

/// Writes JSON to `path` atomically (temporary file, then rename), so a
/// failure never leaves a half-written artifact.
pub fn write_json_atomic(path: &Path, value: &Json) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::io("create", dir, e))?;
    let tmp = path.with_extension("json.tmp");
    let file = std::fs::File::create(&tmp).map_err(|e| Error::io("write", &tmp, e))?;
    let mut w = std::io::BufWriter::new(file);
    serde_json::to_writer(&mut w, value)
        .map_err(|e| Error::new(format!("could not write {}: {e}", tmp.display())))?;
    std::io::Write::flush(&mut w).map_err(|e| Error::io("write", &tmp, e))?;
    drop(w);
    std::fs::rename(&tmp, path).map_err(|e| Error::io("replace", path, e))
}
