//! `kiln test` and `kiln build`: generic and singular tests with their
//! verdicts and failure counts, thresholds, where/limit, store_failures,
//! custom and package tests, and build skipping what a failing test gates.

mod common;

use common::{run_project, Project};

const DATA: &str = "{{ config(materialized='table') }}\nselect * from (values (1, 'a', 10), (2, 'b', 20), (2, 'c', null), (3, 'zz', 30)) t(id, code, amount)";

fn project(schema_yml: &str) -> Project {
    let p = run_project(&[
        ("models/items.sql", DATA),
        ("models/schema.yml", schema_yml),
    ]);
    p.ok(&["run"]);
    p
}

#[test]
fn generic_tests_pass_and_fail_with_counts() {
    let p = project(
        "version: 2\nmodels:\n  - name: items\n    columns:\n      - name: id\n        data_tests: [unique, not_null]\n      - name: code\n        data_tests:\n          - not_null\n          - accepted_values:\n              arguments:\n                values: ['a', 'b', 'c']\n      - name: amount\n        data_tests: [not_null]\n",
    );
    let (code, _, err) = p.run(&["test"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(p.verdict("unique_items_id"), ("fail".into(), Some(1)));
    assert_eq!(p.verdict("not_null_items_id"), ("pass".into(), Some(0)));
    assert_eq!(p.verdict("not_null_items_code"), ("pass".into(), Some(0)));
    assert_eq!(p.verdict("not_null_items_amount"), ("fail".into(), Some(1)));
    assert_eq!(
        p.verdict("accepted_values_items_code__a__b__c"),
        ("fail".into(), Some(1))
    );
    assert!(
        err.contains("Failure in test unique_items_id")
            && err.contains("Got 1 result, configured to fail if != 0"),
        "{err}"
    );
}

#[test]
fn relationships_and_unquoted_accepted_values() {
    let p = run_project(&[
        ("models/items.sql", DATA),
        ("models/parents.sql", "select 1 as id union all select 2"),
        ("models/schema.yml", "version: 2\nmodels:\n  - name: items\n    columns:\n      - name: id\n        data_tests:\n          - relationships:\n              arguments:\n                to: ref('parents')\n                field: id\n      - name: amount\n        data_tests:\n          - accepted_values:\n              values: [10, 20, 30]\n              quote: false\n"),
    ]);
    assert_eq!(p.run(&["run"]).0, 0);
    p.run(&["test"]);
    assert_eq!(
        p.verdict("relationships_items_id__id__ref_parents_"),
        ("fail".into(), Some(1))
    );
    assert_eq!(
        p.verdict("accepted_values_items_amount__False__10__20__30"),
        ("pass".into(), Some(0))
    );
}

#[test]
fn severity_and_thresholds() {
    let p = project(
        "version: 2\nmodels:\n  - name: items\n    columns:\n      - name: id\n        data_tests:\n          - unique:\n              config:\n                severity: warn\n      - name: amount\n        data_tests:\n          - not_null:\n              config:\n                warn_if: '>= 1'\n                error_if: '> 5'\n      - name: code\n        data_tests:\n          - accepted_values:\n              arguments:\n                values: ['a']\n              config:\n                error_if: '> 3'\n",
    );
    let (code, _, err) = p.run(&["test"]);
    assert_eq!(code, 0, "warnings do not fail the run: {err}");
    assert_eq!(p.verdict("unique_items_id"), ("warn".into(), Some(1)));
    assert_eq!(p.verdict("not_null_items_amount"), ("warn".into(), Some(1)));
    assert_eq!(
        p.verdict("accepted_values_items_code__a"),
        ("warn".into(), Some(3))
    );
    assert!(err.contains("Warning in test unique_items_id"), "{err}");
}

#[test]
fn where_and_limit() {
    let p = project(
        "version: 2\nmodels:\n  - name: items\n    columns:\n      - name: amount\n        data_tests:\n          - not_null:\n              config:\n                where: \"id <> 2\"\n      - name: code\n        data_tests:\n          - accepted_values:\n              arguments:\n                values: ['x']\n              config:\n                limit: 2\n",
    );
    p.run(&["test"]);
    assert_eq!(p.verdict("not_null_items_amount"), ("pass".into(), Some(0)));
    assert_eq!(
        p.verdict("accepted_values_items_code__x"),
        ("fail".into(), Some(2))
    );
}

#[test]
fn store_failures_keeps_the_failing_rows() {
    let p = project(
        "version: 2\nmodels:\n  - name: items\n    columns:\n      - name: amount\n        data_tests:\n          - not_null:\n              config:\n                store_failures: true\n      - name: id\n        data_tests:\n          - unique:\n              config:\n                store_failures: true\n                store_failures_as: view\n",
    );
    p.run(&["test"]);
    assert_eq!(
        p.query(
            "db.duckdb",
            "select id, code from main_dbt_test__audit.not_null_items_amount"
        ),
        vec![vec!["2".to_string(), "c".to_string()]]
    );
    assert_eq!(
        p.column(
            "db.duckdb",
            "select table_type from information_schema.tables where table_name = 'unique_items_id'"
        ),
        vec!["VIEW"]
    );
    assert_eq!(
        p.query(
            "db.duckdb",
            "select unique_field, n_records from main_dbt_test__audit.unique_items_id"
        ),
        vec![vec!["2".to_string(), "2".to_string()]]
    );
}

/// dbt 1.7+: `store_failures_as` wins over `store_failures`: table and view
/// keep the rows even without store_failures, ephemeral keeps none.
#[test]
fn store_failures_as_decides_over_store_failures() {
    let p = project(
        "version: 2\nmodels:\n  - name: items\n    columns:\n      - name: amount\n        data_tests:\n          - not_null:\n              config:\n                store_failures_as: table\n      - name: id\n        data_tests:\n          - unique:\n              config:\n                store_failures: true\n                store_failures_as: ephemeral\n",
    );
    p.run(&["test"]);
    let stored = p.column(
        "db.duckdb",
        "select table_name from information_schema.tables where table_schema = 'main_dbt_test__audit' order by 1",
    );
    assert_eq!(stored, vec!["not_null_items_amount"]);
}

#[test]
fn custom_singular_and_package_tests() {
    let p = run_project(&[
        ("models/items.sql", DATA),
        ("tests/generic/is_positive.sql", "{% test is_positive(model, column_name) %}\nselect * from {{ model }} where {{ column_name }} <= 0\n{% endtest %}\n"),
        ("macros/tests.sql", "{% test longer_than(model, column_name, n=1) %}select * from {{ model }} where length({{ column_name }}) <= {{ n }}{% endtest %}\n"),
        ("tests/no_big_amounts.sql", "select * from {{ ref('items') }} where amount > 25"),
        ("dbt_packages/checks/dbt_project.yml", "name: checks\nconfig-version: 2\n"),
        ("dbt_packages/checks/macros/t.sql", "{% test at_most(model, column_name, max) %}select * from {{ model }} where {{ column_name }} > {{ max }}{% endtest %}\n"),
        ("models/schema.yml", "version: 2\nmodels:\n  - name: items\n    columns:\n      - name: id\n        data_tests: [is_positive]\n      - name: code\n        data_tests:\n          - longer_than:\n              arguments:\n                n: 1\n      - name: amount\n        data_tests:\n          - checks.at_most:\n              arguments:\n                max: 20\n"),
    ]);
    assert_eq!(p.run(&["run"]).0, 0);
    p.run(&["test"]);
    assert_eq!(p.verdict("is_positive_items_id"), ("pass".into(), Some(0)));
    assert_eq!(
        p.verdict("longer_than_items_code__1"),
        ("fail".into(), Some(3))
    );
    assert_eq!(
        p.verdict("checks_at_most_items_amount__20"),
        ("fail".into(), Some(1))
    );
    assert_eq!(p.verdict("no_big_amounts"), ("fail".into(), Some(1)));
    let (_, out, _) = p.run(&["ls", "-s", "test_type:singular", "--output", "name"]);
    assert_eq!(out.trim(), "no_big_amounts");
}

/// A project macro named like a built-in test replaces it (dbt's override rule).
#[test]
fn built_in_test_sql_can_be_overridden() {
    let p = project("version: 2\nmodels:\n  - name: items\n    columns:\n      - name: id\n        data_tests: [unique]\n");
    p.write("macros/override.sql", "{% macro default__test_unique(model, column_name) %}select 1 as always_fails{% endmacro %}\n");
    p.run(&["test"]);
    assert_eq!(p.verdict("unique_items_id"), ("fail".into(), Some(1)));
}

#[test]
fn build_skips_what_a_failing_test_gates() {
    let p = run_project(&[
        ("models/a.sql", "select 1 as id union all select 1"),
        ("models/b.sql", "select 5 as id"),
        ("models/child_of_a.sql", "select * from {{ ref('a') }}"),
        ("models/child_of_b.sql", "select * from {{ ref('b') }}"),
        ("models/both.sql", "select * from {{ ref('a') }} union all select * from {{ ref('b') }}"),
        ("models/only_b.sql", "select * from {{ ref('b') }} where id > 0"),
        (
            "models/schema.yml",
            "version: 2\nmodels:\n  - name: a\n    columns:\n      - name: id\n        data_tests: [unique]\n  - name: b\n    columns:\n      - name: id\n        data_tests:\n          - relationships:\n              arguments:\n                to: ref('a')\n                field: id\n",
        ),
    ]);
    let (code, _, _) = p.run(&["build"]);
    assert_eq!(code, 1);
    assert_eq!(p.verdict("unique_a_id").0, "fail");
    assert_eq!(p.verdict("child_of_a").0, "skipped");
    assert_eq!(p.verdict("both").0, "skipped");
    // The relationships test (on b and a) fails too; it gates only nodes that
    // depend on both a and b, so b's own children still build.
    assert_eq!(p.verdict("relationships_b_id__id__ref_a_").0, "fail");
    assert_eq!(p.verdict("child_of_b").0, "success");
    assert_eq!(p.verdict("only_b").0, "success");
}

#[test]
fn test_selection_by_type_and_name() {
    let p = project("version: 2\nmodels:\n  - name: items\n    columns:\n      - name: id\n        data_tests: [unique, not_null]\n");
    p.write("tests/singular.sql", "select 1 where false");
    let (_, out, _) = p.run(&["ls", "-s", "test_type:data", "--output", "name"]);
    assert_eq!(out.split_whitespace().count(), 3);
    p.ok(&["test", "-s", "test_name:not_null"]);
    assert_eq!(p.results().len(), 1);
}

#[test]
fn junit_report_lists_every_node_with_failures() {
    let p = project("version: 2\nmodels:\n  - name: items\n    columns:\n      - name: id\n        data_tests: [unique, not_null]\n");
    let (code, _, err) = p.run(&["build", "--junit-xml", "reports/junit.xml"]);
    assert_eq!(code, 1, "{err}");
    let xml = p.read("reports/junit.xml");
    assert!(xml.starts_with("<?xml"), "{xml}");
    assert!(
        xml.contains("<testsuite name=\"kiln build\" tests=\"3\""),
        "{xml}"
    );
    assert!(
        xml.contains("<testcase name=\"items\" classname=\"model.proj\""),
        "{xml}"
    );
    assert!(
        xml.contains("<testcase name=\"not_null_items_id\" classname=\"test.proj\""),
        "{xml}"
    );
    assert!(xml.contains("<failure message=\"1 failing row(s)"), "{xml}");
}

/// dbt's --warn-error and --warn-error-options (include / exclude by name).
#[test]
fn warn_error_turns_warnings_into_failures() {
    let p = project("version: 2\nmodels:\n  - name: items\n    columns:\n      - name: id\n        data_tests:\n          - unique:\n              config:\n                severity: warn\n");
    assert_eq!(p.run(&["test"]).0, 0, "a warning alone passes");
    assert_eq!(p.verdict("unique_items_id"), ("warn".into(), Some(1)));

    let (code, _, err) = p.run(&["test", "--warn-error"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(p.verdict("unique_items_id"), ("fail".into(), Some(1)));

    p.ok(&[
        "test",
        "--warn-error-options",
        "{include: all, exclude: [LogTestResult]}",
    ]);
    assert_eq!(p.verdict("unique_items_id").0, "warn");

    let (code, _, err) = p.run(&["run", "-s", "nothing_like_this", "--warn-error"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("the selection criteria matched no nodes (NoNodesForSelectionCriteria, an error under --warn-error)"), "{err}");
    let (code, _, _) = p.run(&[
        "run",
        "-s",
        "nothing_like_this",
        "--warn-error-options",
        "{error: all, warn: [NoNodesForSelectionCriteria]}",
    ]);
    assert_eq!(code, 0);
}
