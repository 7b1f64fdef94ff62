//! Config precedence as dbt resolves it (checked against dbt-core 1.11 on the
//! same fixture): in-file config() over properties YAML over dbt_project.yml,
//! most specific folder last; tags and hooks concatenate, meta merges.

mod common;

use common::Project;
use serde_json::{json, Value};

fn parsed() -> (Project, Value) {
    let p = Project::fixture("config_precedence");
    p.ok(&["parse"]);
    let m = p.manifest();
    (p, m)
}

#[test]
fn in_file_beats_yaml_beats_project() {
    let (_p, m) = parsed();
    let c = &m["nodes"]["model.precedence.revenue"]["config"];
    assert_eq!(c["materialized"], "incremental");
    assert_eq!(c["alias"], "revenue_report");
}

#[test]
fn tags_concatenate_from_every_level() {
    let (_p, m) = parsed();
    assert_eq!(
        m["nodes"]["model.precedence.revenue"]["config"]["tags"],
        json!(["everywhere", "marts", "yaml", "in_file"])
    );
    assert_eq!(
        m["nodes"]["model.precedence.stg_payments"]["config"]["tags"],
        json!(["everywhere"])
    );
}

#[test]
fn meta_merges_key_by_key() {
    let (_p, m) = parsed();
    assert_eq!(
        m["nodes"]["model.precedence.revenue"]["config"]["meta"],
        json!({"owner": "data-team", "tier": "gold", "reviewed": true})
    );
}

#[test]
fn hooks_append_in_precedence_order() {
    let (_p, m) = parsed();
    let c = &m["nodes"]["model.precedence.revenue"]["config"];
    let sql = |hooks: &Value| -> Vec<String> {
        hooks
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["sql"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        sql(&c["pre-hook"]),
        vec!["select 'project hook'", "select 'file hook'"]
    );
    assert_eq!(sql(&c["post-hook"]), vec!["select 'yaml hook'"]);
}

/// Default generate_schema_name: target schema + "_" + custom schema.
#[test]
fn custom_schema_and_alias_name_the_relation() {
    let (_p, m) = parsed();
    let n = &m["nodes"]["model.precedence.revenue"];
    assert_eq!(n["schema"], "analytics_marts");
    assert_eq!(
        n["relation_name"],
        r#""memory"."analytics_marts"."revenue_report""#
    );
    assert_eq!(
        m["nodes"]["model.precedence.stg_payments"]["schema"],
        "analytics"
    );
}

#[test]
fn disabled_in_yaml_moves_the_node_to_disabled() {
    let (_p, m) = parsed();
    assert!(m["nodes"].get("model.precedence.costs").is_none());
    assert!(m["disabled"]["model.precedence.costs"].is_array());
}

/// A project's generate_schema_name replaces the built-in one for every node.
#[test]
fn generate_schema_name_override_applies() {
    let p = Project::fixture("config_precedence");
    p.write(
        "macros/schema.sql",
        "{% macro generate_schema_name(custom_schema_name, node) -%}\n{{ custom_schema_name or 'base' }}_{{ node.resource_type }}\n{%- endmacro %}\n",
    );
    p.ok(&["parse"]);
    let m = p.manifest();
    assert_eq!(
        m["nodes"]["model.precedence.revenue"]["schema"],
        "marts_model"
    );
    assert_eq!(
        m["nodes"]["model.precedence.stg_payments"]["schema"],
        "base_model"
    );
}
