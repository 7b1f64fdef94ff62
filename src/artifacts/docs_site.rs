//! target/index.html: the documentation site, one self-contained file (the
//! page in templates/docs/index.html with the project's data inlined), so
//! it opens from disk with no server and no network.

use std::collections::HashMap;

use serde_json::{json, Value as Json};

use crate::artifacts::catalog::ColumnTypes;
use crate::manifest::{CompiledNodes, Manifest, ResourceType};

/// One entry of the site's node list.
fn node_entry(
    id: &str,
    kind: &str,
    name: &str,
    label: String,
    description: &str,
    path: &str,
) -> Json {
    json!({
        "unique_id": id, "resource_type": kind, "name": name, "label": label,
        "description": description, "path": path, "original_file_path": path,
        "columns": [], "depends_on": [], "tags": [],
    })
}

/// Columns documented in YAML, then any others the database has, with
/// types from the catalog and the tests on each.
fn columns(
    documented: &indexmap::IndexMap<String, crate::manifest::Column>,
    types: Option<&Vec<(String, String)>>,
    tests: &HashMap<(String, String), Vec<String>>,
    id: &str,
) -> Vec<Json> {
    let mut names: Vec<String> = documented.values().map(|c| c.name.clone()).collect();
    for (n, _) in types.into_iter().flatten() {
        if !names.iter().any(|m| m.eq_ignore_ascii_case(n)) {
            names.push(n.clone());
        }
    }
    names
        .iter()
        .map(|n| {
            let doc = documented.values().find(|c| c.name.eq_ignore_ascii_case(n));
            let ty = types
                .and_then(|t| t.iter().find(|(c, _)| c.eq_ignore_ascii_case(n)).map(|(_, t)| t.clone()))
                .or_else(|| doc.and_then(|d| d.data_type.clone()));
            json!({
                "name": n,
                "type": ty,
                "description": doc.map(|d| d.description.clone()).unwrap_or_default(),
                "tests": tests.get(&(id.to_string(), n.to_lowercase())).cloned().unwrap_or_default(),
            })
        })
        .collect()
}

/// The page, with the data for every node, source and exposure.
pub fn render(manifest: &Manifest, compiled: &CompiledNodes, types: &ColumnTypes) -> String {
    // Tests by (attached node, column).
    let mut tests: HashMap<(String, String), Vec<String>> = HashMap::new();
    for n in manifest.nodes.values() {
        if let Some(t) = &n.test {
            if let (Some(node), Some(col)) = (&t.attached_node, &t.column_name) {
                tests
                    .entry((node.clone(), col.to_lowercase()))
                    .or_default()
                    .push(t.name.clone());
            }
        }
    }
    let mut nodes: Vec<Json> = Vec::new();
    for n in manifest
        .nodes
        .values()
        .filter(|n| n.resource_type != ResourceType::UnitTest)
    {
        let mut e = node_entry(
            &n.unique_id,
            n.resource_type.as_str(),
            &n.name,
            n.name.clone(),
            &n.description,
            &n.original_file_path,
        );
        e["columns"] = json!(columns(
            &n.columns,
            types.get(&n.unique_id),
            &tests,
            &n.unique_id
        ));
        e["depends_on"] = json!(n.depends_on_nodes);
        e["tags"] = json!(n.tags);
        e["relation_name"] = json!(n.relation_name());
        e["materialized"] =
            json!((n.resource_type == ResourceType::Model).then(|| n.materialized()));
        e["raw_code"] = json!(n.raw_code);
        e["compiled_code"] = json!(compiled.get(&n.unique_id).map(|c| c.sql.to_string()));
        nodes.push(e);
    }
    for s in manifest.sources.values() {
        let mut e = node_entry(
            &s.unique_id,
            "source",
            &s.name,
            format!("{}.{}", s.source_name, s.name),
            if s.description.is_empty() {
                &s.source_description
            } else {
                &s.description
            },
            &s.original_file_path,
        );
        e["columns"] = json!(columns(
            &s.columns,
            types.get(&s.unique_id),
            &tests,
            &s.unique_id
        ));
        e["relation_name"] = json!(s.relation().rendered());
        e["tags"] = json!(s.tags);
        nodes.push(e);
    }
    for x in manifest.exposures.values() {
        let mut e = node_entry(
            &x.unique_id,
            "exposure",
            &x.name,
            x.label.clone().unwrap_or_else(|| x.name.clone()),
            &x.description,
            &x.original_file_path,
        );
        e["depends_on"] = json!(x.depends_on_nodes);
        e["owner"] = json!(x
            .owner
            .get("name")
            .or_else(|| x.owner.get("email"))
            .and_then(Json::as_str));
        nodes.push(e);
    }
    nodes.sort_by(|a, b| a["unique_id"].as_str().cmp(&b["unique_id"].as_str()));
    let data = json!({"project": manifest.root_package, "nodes": nodes});
    // Inside <script>, "</" would end the element early; JSON allows "<\/".
    let data = data.to_string().replace("</", "<\\/");
    let title = format!("{} · kiln docs", manifest.root_package);
    crate::templates::docs_page()
        .replace("__KILN_TITLE__", &html_escape(&title))
        .replace("__KILN_VERSION__", env!("CARGO_PKG_VERSION"))
        .replace("__KILN_DATA__", &data)
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
