//! Sources: `kiln source freshness` verdicts and target/sources.json, and
//! sources read in place from files (external_location, as dbt-duckdb).

mod common;

use chrono::{Duration, Utc};
use common::run_project;
use serde_json::Value;

fn ago(d: Duration) -> String {
    (Utc::now() - d).format("%Y-%m-%d %H:%M:%S").to_string()
}

#[test]
fn freshness_verdicts_follow_warn_after_and_error_after() {
    let csv = format!(
        "id,region,loaded_at\n1,us,{}\n2,eu,{}\n",
        ago(Duration::minutes(10)),
        ago(Duration::days(2))
    );
    let hours3 = format!("id,loaded_at\n1,{}\n", ago(Duration::hours(3)));
    let sources = r#"version: 2
sources:
  - name: raw
    schema: main
    freshness:
      warn_after: {count: 1, period: hour}
      error_after: {count: 1, period: day}
    loaded_at_field: loaded_at
    tables:
      - name: loads
      - name: eu_loads
        identifier: loads
        freshness:
          error_after: {count: 1, period: day}
          filter: "region = 'eu'"
      - name: hourly
      - name: by_query
        loaded_at_query: "select max(loaded_at) from {{ source('raw', 'hourly') }}"
      - name: unchecked
        identifier: loads
        freshness: null
  - name: unmeasured
    schema: main
    freshness:
      warn_after: {count: 1, period: hour}
    tables:
      - name: loads
"#;
    let p = run_project(&[
        ("seeds/loads.csv", &csv),
        ("seeds/hourly.csv", &hours3),
        ("models/sources.yml", sources),
    ]);
    assert_eq!(p.run(&["seed"]).0, 0);
    let (code, _, err) = p.run(&["source", "freshness"]);
    assert_eq!(code, 1, "an error-level source fails the command: {err}");
    let doc: Value = serde_json::from_str(&p.read("target/sources.json")).expect("sources.json");
    assert_eq!(
        doc["metadata"]["dbt_schema_version"],
        "https://schemas.getdbt.com/dbt/sources/v3.json"
    );
    let result = |id: &str| {
        doc["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["unique_id"] == format!("source.proj.{id}"))
            .cloned()
    };
    let status = |name: &str| -> String {
        result(&format!("raw.{name}"))
            .map(|r| r["status"].as_str().unwrap().to_string())
            .unwrap_or_else(|| "not checked".into())
    };
    assert_eq!(status("loads"), "pass");
    assert_eq!(status("eu_loads"), "error");
    assert_eq!(status("hourly"), "warn");
    assert_eq!(status("by_query"), "warn");
    assert_eq!(status("unchecked"), "not checked");
    let unmeasured = result("unmeasured.loads").expect("reported");
    assert_eq!(unmeasured["status"], "runtime error");
    assert!(
        err.contains("it has no loaded_at_field or loaded_at_query"),
        "{err}"
    );
    let age = result("raw.loads").unwrap()["max_loaded_at_time_ago_in_s"]
        .as_f64()
        .unwrap();
    assert!(
        (500.0..700.0).contains(&age),
        "about ten minutes, got {age}"
    );

    let (code, _, err) = p.run(&[
        "source",
        "freshness",
        "-s",
        "source:raw.loads",
        "source:raw.hourly",
    ]);
    assert_eq!(code, 0, "warnings alone pass: {err}");
    let doc: Value = serde_json::from_str(&p.read("target/sources.json")).unwrap();
    assert_eq!(doc["results"].as_array().unwrap().len(), 2);
}

#[test]
fn external_sources_are_read_from_files() {
    let p = run_project(&[
        (
            "models/sources.yml",
            "version: 2\nsources:\n  - name: files\n    meta:\n      external_location: \"data/{name}.csv\"\n    tables:\n      - name: events\n",
        ),
        ("models/event_count.sql", "{{ config(materialized='table') }} select count(*) as n, sum(v) as total from {{ source('files', 'events') }}"),
        ("data/events.csv", "id,v\n1,10\n2,32\n"),
    ]);
    p.ok(&["run"]);
    assert_eq!(
        p.query(
            "db.duckdb",
            "select n::varchar, total::varchar from event_count"
        ),
        vec![vec!["2", "42"]]
    );
    let compiled = p.read("target/compiled/proj/models/event_count.sql");
    assert!(compiled.contains("from 'data/events.csv'"), "{compiled}");
}
