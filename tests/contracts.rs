//! Model contracts: the query must return exactly the declared columns and
//! types (after DuckDB's aliasing), and constraints are created in the table.

mod common;

use common::{run_project, Project};

const SCHEMA: &str = r#"version: 2
models:
  - name: orders
    config:
      contract: {enforced: true}
    constraints:
      - type: check
        expression: "amount >= 0"
    columns:
      - name: order_id
        data_type: int
        constraints:
          - type: not_null
          - type: primary_key
      - name: status
        data_type: text
      - name: amount
        data_type: decimal(3,1)
"#;

fn project(sql: &str) -> Project {
    run_project(&[
        (
            "models/orders.sql",
            &format!("{{{{ config(materialized='table') }}}}\n{sql}"),
        ),
        ("models/schema.yml", SCHEMA),
    ])
}

#[test]
fn a_matching_query_builds_the_table_with_its_constraints() {
    let p = project("select 1 as order_id, 'x'::varchar as status, 10.5 as amount");
    p.ok(&["run"]);
    assert_eq!(
        p.query("db.duckdb", "select order_id::varchar, status from orders"),
        vec![vec!["1", "x"]]
    );
    let mut kinds = p.column(
        "db.duckdb",
        "select constraint_type from duckdb_constraints() where table_name = 'orders'",
    );
    kinds.sort();
    assert_eq!(kinds, vec!["CHECK", "NOT NULL", "PRIMARY KEY"]);
    let types = p.column("db.duckdb", "select data_type from information_schema.columns where table_name = 'orders' order by ordinal_position");
    assert_eq!(types, vec!["INTEGER", "VARCHAR", "DECIMAL(3,1)"]);
}

#[test]
fn mismatches_fail_the_model_with_a_table_of_them() {
    let p = project("select 1 as order_id, 2.5::double as amount, true as is_paid");
    let (code, _, err) = p.run(&["run"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(p.verdict("orders").0, "error");
    for line in [
        "Contract Error in model orders: the query does not match the model's contract:",
        "status  | text     |         | missing in the query",
        "amount  | DECIMAL(3,1) | DOUBLE  | data type differs",
        "is_paid |          | BOOLEAN | not in the contract",
    ] {
        let squashed = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            squashed(&err).contains(&squashed(line)),
            "expected `{line}` in:\n{err}"
        );
    }
    assert!(
        p.query(
            "db.duckdb",
            "select table_name from information_schema.tables where table_name = 'orders'"
        )
        .is_empty(),
        "nothing built"
    );
}

#[test]
fn a_row_breaking_a_constraint_fails_the_build() {
    let p = project("select null::int as order_id, 'x' as status, 1.0::decimal(3,1) as amount");
    let (code, _, err) = p.run(&["run"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.to_lowercase().contains("not null"), "{err}");
}
