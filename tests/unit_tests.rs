//! Unit tests (dbt 1.8 format): fixtures for a model's inputs, expected
//! rows, overrides; run in memory with no warehouse; a readable diff on
//! failure; definition errors with file and line; build gating.

mod common;

use common::{run_project, Project};

const STG: &str = "select 1 as id, 'a' as name, 10 as amount";
const TOTALS: &str =
    "select name, sum(amount) as total, count(*) as n from {{ ref('stg') }} group by 1";

fn totals_project(unit_yml: &str) -> Project {
    run_project(&[
        ("models/stg.sql", STG),
        ("models/totals.sql", TOTALS),
        ("models/unit.yml", unit_yml),
    ])
}

/// The failure block kiln prints for one node.
fn failure_text(stderr: &str, name: &str) -> String {
    let start = stderr
        .find(&format!("unit_test {name} "))
        .unwrap_or_else(|| panic!("no failure for {name} in:\n{stderr}"));
    let rest = &stderr[start..];
    let end = rest.find("\n\n").unwrap_or(rest.len());
    rest[..end].to_string()
}

const PASS_AND_FAIL: &str = r#"version: 2
unit_tests:
  - name: totals_sum_per_name
    model: totals
    given:
      - input: ref('stg')
        rows:
          - {id: 1, name: a, amount: 10}
          - {id: 2, name: a, amount: 5}
          - {id: 3, name: b, amount: 1}
    expect:
      rows:
        - {name: a, total: 15, n: 2}
        - {name: b, total: 1, n: 1}
  - name: totals_wrong
    model: totals
    given:
      - input: ref('stg')
        format: csv
        rows: |
          id,name,amount
          1,a,10
          2,b,7
    expect:
      format: csv
      rows: |
        name,total,n
        a,10,1
        b,8,1
"#;

#[test]
fn passing_and_failing_unit_tests_with_a_readable_diff() {
    let p = totals_project(PASS_AND_FAIL);
    let (code, _, err) = p.run(&["test"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(p.verdict("totals_sum_per_name").0, "pass");
    assert_eq!(p.verdict("totals_wrong").0, "fail");
    insta::assert_snapshot!(failure_text(&err, "totals_wrong"));
    // Nothing was built: unit tests need no warehouse.
    assert!(p
        .query(
            "db.duckdb",
            "select table_name from information_schema.tables"
        )
        .is_empty());
    // The compiled file replays the test in any DuckDB.
    let sql = p.read("target/compiled/proj/models/unit.yml/models/totals_wrong.sql");
    assert!(sql.contains("create table \"__dbt_unit_actual\""), "{sql}");
}

const INCREMENTAL: &str = "{{ config(materialized='incremental', unique_key='day') }}
select day, sum(amount) as revenue from {{ ref('events') }}
{% if is_incremental() %}
where day > (select max(day) from {{ this }})
{% endif %}
group by 1";

#[test]
fn incremental_models_with_this_and_is_incremental() {
    let p = run_project(&[
        (
            "models/events.sql",
            "select date '2024-01-01' as day, 5 as amount",
        ),
        ("models/daily.sql", INCREMENTAL),
        (
            "models/unit.yml",
            r#"version: 2
unit_tests:
  - name: daily_incremental_run
    model: daily
    overrides:
      macros:
        is_incremental: true
    given:
      - input: ref('events')
        rows:
          - {day: 2024-01-01, amount: 1}
          - {day: 2024-01-02, amount: 2}
          - {day: 2024-01-02, amount: 3}
      - input: this
        rows:
          - {day: 2024-01-01, revenue: 1}
    expect:
      rows:
        - {day: 2024-01-02, revenue: 5}
  - name: daily_full_run
    model: daily
    given:
      - input: ref('events')
        rows:
          - {day: 2024-01-01, amount: 1}
          - {day: 2024-01-02, amount: 2}
    expect:
      rows:
        - {day: 2024-01-01, revenue: 1}
        - {day: 2024-01-02, revenue: 2}
"#,
        ),
    ]);
    p.ok(&["test", "-s", "test_type:unit"]);
    assert_eq!(p.verdict("daily_incremental_run").0, "pass");
    assert_eq!(p.verdict("daily_full_run").0, "pass");
}

#[test]
fn vars_env_vars_and_macros_can_be_overridden() {
    let p = run_project(&[
        ("macros/cents.sql", "{% macro to_cents(col) %}({{ col }} * 100){% endmacro %}"),
        ("models/stg.sql", STG),
        (
            "models/priced.sql",
            "select id, amount * {{ var('rate', 1) }} as charged, '{{ env_var('KILN_REGION', 'eu') }}' as region, {{ to_cents('amount') }} as cents from {{ ref('stg') }}",
        ),
        ("models/unit.yml", r#"version: 2
unit_tests:
  - name: priced_with_overrides
    model: priced
    overrides:
      vars: {rate: 3}
      env_vars: {KILN_REGION: us}
      macros:
        to_cents: "0"
    given:
      - input: ref('stg')
        rows: [{id: 1, amount: 2}]
    expect:
      rows: [{id: 1, charged: 6, region: us, cents: 0}]
  - name: priced_with_defaults
    model: priced
    given:
      - input: ref('stg')
        rows: [{id: 1, amount: 2}]
    expect:
      rows: [{id: 1, charged: 2, region: eu, cents: 200}]
"#),
    ]);
    let (code, _, err) = p
        .kiln(&["test"])
        .env_remove("KILN_REGION")
        .output()
        .map(|o| {
            (
                o.status.code().unwrap_or(-1),
                String::new(),
                String::from_utf8_lossy(&o.stderr).to_string(),
            )
        })
        .expect("kiln runs");
    assert_eq!(code, 0, "{err}");
    assert_eq!(p.verdict("priced_with_overrides").0, "pass");
    assert_eq!(p.verdict("priced_with_defaults").0, "pass");
}

#[test]
fn csv_sql_and_fixture_file_formats() {
    let p = totals_project(
        r#"version: 2
unit_tests:
  - name: from_fixture_files
    model: totals
    given:
      - input: ref('stg')
        format: csv
        fixture: stg_rows
    expect:
      format: sql
      fixture: expected_totals
  - name: from_sql
    model: totals
    given:
      - input: ref('stg')
        format: sql
        rows: |
          select 1 as id, 'x' as name, 4 as amount
          union all select 2, 'x', 6
    expect:
      format: csv
      rows: |
        name,total,n
        x,10,2
"#,
    );
    p.write(
        "tests/fixtures/stg_rows.csv",
        "id,name,amount\n1,a,1\n2,a,2\n3,\"b, c\",3\n",
    );
    p.write(
        "tests/fixtures/expected_totals.sql",
        "select 'a' as name, 3 as total, 2 as n union all select 'b, c', 3, 1",
    );
    p.ok(&["test"]);
    assert_eq!(p.verdict("from_fixture_files").0, "pass");
    assert_eq!(p.verdict("from_sql").0, "pass");
}

#[test]
fn seeds_without_rows_are_read_from_their_file_and_sources_take_fixtures() {
    let p = run_project(&[
        ("seeds/rates.csv", "code,rate\nA,2\nB,5\n"),
        ("models/sources.yml", "version: 2\nsources:\n  - name: shop\n    schema: raw\n    tables:\n      - name: sales\n"),
        (
            "models/charged.sql",
            "select s.code, s.qty * r.rate as charged from {{ source('shop', 'sales') }} s join {{ ref('rates') }} r using (code)",
        ),
        ("models/unit.yml", r#"version: 2
unit_tests:
  - name: charged_uses_the_seed
    model: charged
    given:
      - input: source('shop', 'sales')
        rows:
          - {code: A, qty: 3}
          - {code: B, qty: 1}
    expect:
      rows:
        - {code: A, charged: 6}
        - {code: B, charged: 5}
"#),
    ]);
    p.ok(&["test"]);
    assert_eq!(p.verdict("charged_uses_the_seed").0, "pass");
}

#[test]
fn an_input_without_rows_is_an_error_verdict() {
    let p = run_project(&[
        ("models/stg.sql", STG),
        ("models/other.sql", STG),
        ("models/joined.sql", "select * from {{ ref('stg') }} join {{ ref('other') }} using (id)"),
        ("models/unit.yml", "version: 2\nunit_tests:\n  - name: joined_needs_both\n    model: joined\n    given:\n      - input: ref('stg')\n        rows: [{id: 1}]\n    expect:\n      rows: [{id: 1}]\n"),
    ]);
    let (code, _, err) = p.run(&["test"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(p.verdict("joined_needs_both").0, "error");
    assert!(
        err.contains("ref('other'), which has no `given` rows"),
        "{err}"
    );
    assert!(err.contains("models/unit.yml:3"), "{err}");
}

#[test]
fn fixture_columns_must_exist_in_the_built_relation() {
    let p = totals_project("version: 2\nunit_tests:\n  - name: totals_with_a_typo\n    model: totals\n    given:\n      - input: ref('stg')\n        rows: [{id: 1, nme: a, amount: 1}]\n    expect:\n      rows: [{total: 1}]\n");
    assert_eq!(p.run(&["run"]).0, 0);
    let (code, _, err) = p.run(&["test"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(p.verdict("totals_with_a_typo").0, "error");
    assert!(
        err.contains("models/unit.yml:3")
            && err.contains(
                "column `nme`, which that relation does not have (its columns: id, name, amount)"
            ),
        "{err}"
    );
}

#[test]
fn definition_errors_name_the_file_and_line() {
    let cases: &[(&str, &str)] = &[
        (
            "  - name: bad_input\n    model: totals\n    given:\n      - input: ref('nowhere')\n        rows: [{id: 1}]\n    expect:\n      rows: []\n",
            "ref('nowhere'), which is not a node of this project",
        ),
        (
            "  - name: bad_format\n    model: totals\n    given:\n      - input: ref('stg')\n        format: json\n        rows: [{id: 1}]\n    expect:\n      rows: []\n",
            "format `json` of ref('stg') must be dict, csv or sql",
        ),
        (
            "  - name: no_fixture_file\n    model: totals\n    given:\n      - input: ref('stg')\n        format: csv\n        fixture: missing_rows\n    expect:\n      rows: []\n",
            "fixture 'missing_rows' for ref('stg') is not a file tests/fixtures/missing_rows.csv",
        ),
        (
            "  - name: ragged_csv\n    model: totals\n    given:\n      - input: ref('stg')\n        format: csv\n        rows: |\n          id,name\n          1,a,extra\n    expect:\n      rows: []\n",
            "the CSV rows of ref('stg') are not valid CSV",
        ),
        (
            "  - name: unknown_model\n    model: nothing_here\n    given: []\n    expect:\n      rows: []\n",
            "nothing_here",
        ),
    ];
    for (entry, message) in cases {
        let p = totals_project(&format!("version: 2\nunit_tests:\n{entry}"));
        let (code, _, err) = p.run(&["test"]);
        assert_eq!(code, 2, "{entry}\n{err}");
        assert!(err.contains(message), "expected `{message}` in:\n{err}");
        assert!(
            err.contains("--> models/unit.yml:"),
            "no file:line in:\n{err}"
        );
        assert!(
            !p.dir.join("target/run_results.json").exists(),
            "nothing runs after a definition error"
        );
    }
}

#[test]
fn build_skips_a_model_whose_unit_test_fails_and_its_children() {
    let p = run_project(&[
        ("models/stg.sql", STG),
        ("models/totals.sql", TOTALS),
        ("models/report.sql", "select * from {{ ref('totals') }}"),
        ("models/unit.yml", "version: 2\nunit_tests:\n  - name: totals_expects_too_much\n    model: totals\n    given:\n      - input: ref('stg')\n        rows: [{id: 1, name: a, amount: 1}]\n    expect:\n      rows: [{name: a, total: 99}]\n"),
    ]);
    let (code, _, err) = p.run(&["build"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(p.verdict("stg").0, "success");
    assert_eq!(
        p.verdict("totals_expects_too_much"),
        ("fail".into(), Some(2))
    );
    assert_eq!(p.verdict("totals").0, "skipped");
    assert_eq!(p.verdict("report").0, "skipped");
    let tables = p.column(
        "db.duckdb",
        "select table_name from information_schema.tables order by 1",
    );
    assert_eq!(tables, vec!["stg"]);
}

#[test]
fn test_type_selects_unit_or_data_tests() {
    let p = totals_project(PASS_AND_FAIL);
    p.write("models/schema.yml", "version: 2\nmodels:\n  - name: totals\n    columns:\n      - name: name\n        data_tests: [not_null]\n");
    let (code, out, err) = p.run(&["ls", "-s", "test_type:unit", "--output", "name"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        vec!["totals_sum_per_name", "totals_wrong"]
    );
    let (_, out, _) = p.run(&["ls", "-s", "test_type:data", "--output", "name"]);
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        vec!["not_null_totals_name"]
    );
    assert_eq!(p.run(&["run"]).0, 0);
    p.ok(&["test", "-s", "test_type:data"]);
    assert_eq!(p.results().len(), 1);
}

/// `expect: rows: []` expects no rows at all (as dbt), and `overrides:
/// macros:` may name a package's macro (`pkg.macro`).
#[test]
fn empty_expectations_and_package_macro_overrides() {
    let p = run_project(&[
        ("models/stg.sql", STG),
        (
            "models/big.sql",
            "select * from {{ ref('stg') }} where amount > {{ limits.threshold() }}",
        ),
        ("dbt_packages/limits/dbt_project.yml", "name: limits\nconfig-version: 2\n"),
        (
            "dbt_packages/limits/macros/threshold.sql",
            "{% macro threshold() %}1000{% endmacro %}\n",
        ),
        (
            "models/unit.yml",
            "version: 2\nunit_tests:\n  - name: nothing_is_big\n    model: big\n    given:\n      - input: ref('stg')\n        rows:\n          - {id: 1, name: a, amount: 5}\n    expect:\n      rows: []\n\
             \x20 - name: low_threshold\n    model: big\n    overrides:\n      macros:\n        limits.threshold: 1\n    given:\n      - input: ref('stg')\n        rows:\n          - {id: 1, name: a, amount: 5}\n    expect:\n      rows:\n        - {id: 1}\n",
        ),
    ]);
    let err = p.ok(&["test"]);
    assert_eq!(p.verdict("nothing_is_big").0, "pass", "{err}");
    assert_eq!(p.verdict("low_threshold").0, "pass", "{err}");
}

/// dbt build runs a model's unit tests one after another in the model's
/// turn; the first that fails skips the others and the model. `kiln test`
/// runs each on its own.
#[test]
fn in_build_the_first_failing_unit_test_skips_the_rest() {
    let failing = |name: &str| {
        format!(
            "  - name: {name}\n    model: totals\n    given:\n      - input: ref('stg')\n        rows:\n          - {{id: 1, name: a, amount: 10}}\n    expect:\n      rows:\n        - {{name: a, total: 999, n: 1}}\n"
        )
    };
    let p = totals_project(&format!(
        "version: 2\nunit_tests:\n{}{}",
        failing("first_wrong"),
        failing("second_wrong")
    ));
    let (code, _, _) = p.run(&["build"]);
    assert_eq!(code, 1);
    let mut statuses = vec![p.verdict("first_wrong").0, p.verdict("second_wrong").0];
    statuses.sort();
    assert_eq!(statuses, ["fail", "skipped"]);
    assert_eq!(p.verdict("totals").0, "skipped");
    let (code, _, _) = p.run(&["test"]);
    assert_eq!(code, 1);
    assert_eq!(p.verdict("first_wrong").0, "fail");
    assert_eq!(p.verdict("second_wrong").0, "fail");
}
