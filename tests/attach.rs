//! dbt-duckdb's `attach:` profile option: another DuckDB file, read through
//! a source and written by a model whose `database` names it.

mod common;

use common::run_project;

#[test]
fn an_attached_file_is_read_by_a_source_and_written_by_a_model() {
    let p = run_project(&[
        (
            "profiles.yml",
            "proj:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: db.duckdb\n      attach:\n        - path: lake.duckdb\n          alias: lake\n",
        ),
        (
            "models/sources.yml",
            "version: 2\nsources:\n  - name: lake\n    database: lake\n    schema: raw\n    tables:\n      - name: events\n",
        ),
        (
            "models/event_counts.sql",
            "{{ config(materialized='table', database='lake', schema='marts') }}\nselect kind, count(*) as n from {{ source('lake', 'events') }} group by kind",
        ),
    ]);
    {
        let conn = duckdb::Connection::open(p.dir.join("lake.duckdb")).expect("lake");
        conn.execute_batch(
            "create schema raw; create table raw.events as select * from (values ('a'), ('a'), ('b')) t(kind)",
        )
        .expect("seed the lake");
    }
    p.ok(&["run"]);
    assert_eq!(
        p.query(
            "lake.duckdb",
            "select kind, n from main_marts.event_counts order by kind"
        ),
        vec![vec!["a", "2"], vec!["b", "1"]]
    );
    // Nothing was written to the main database.
    assert!(p
        .column(
            "db.duckdb",
            "select table_name from information_schema.tables where table_name = 'event_counts'"
        )
        .is_empty());
}
