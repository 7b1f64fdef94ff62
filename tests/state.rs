//! `--state`: which nodes `state:modified` (and its sub-selectors),
//! `state:new` and `result:` select after a change, compared with a
//! "production" run of the project as it was.

mod common;

use common::{run_project, Project};

fn names(p: &Project, selector: &str) -> Vec<String> {
    let (code, out, err) = p.run(&[
        "ls",
        "-s",
        selector,
        "--state",
        "prod",
        "--output",
        "name",
        "--resource-type",
        "model",
    ]);
    assert_eq!(code, 0, "{selector}: {err}");
    let mut v: Vec<String> = out.lines().map(str::to_string).collect();
    v.sort();
    v
}

fn production() -> Project {
    let p = run_project(&[
        ("dbt_project.yml", "name: proj\nprofile: proj\nconfig-version: 2\nvars:\n  rate: 2\n  unused: 1\n"),
        ("macros/fmt.sql", "{% macro fmt(x) %}upper({{ x }}){% endmacro %}\n{% macro wrap(x) %}{{ fmt(x) }}{% endmacro %}"),
        ("models/a.sql", "select 1 as id"),
        ("models/b.sql", "select {{ wrap(\"'x'\") }} as v"),
        ("models/c.sql", "select {{ var('rate') }} as rate"),
        ("models/d.sql", "{{ config(materialized='view') }} select 4 as id"),
        ("models/e.sql", "select * from {{ ref('a') }}"),
        ("models/f.sql", "select broken_column"),
    ]);
    let (code, _, _) = p.run(&["run"]);
    assert_eq!(code, 1, "f fails in production");
    keep_as_production_state(&p);
    p
}

#[test]
fn state_modified_selects_exactly_what_changed() {
    let p = production();
    assert!(
        names(&p, "state:modified").is_empty(),
        "nothing changed yet"
    );
    assert_eq!(names(&p, "result:error"), vec!["f"]);

    p.write("models/a.sql", "select 1 as id, 2 as extra");
    p.write("macros/fmt.sql", "{% macro fmt(x) %}lower({{ x }}){% endmacro %}\n{% macro wrap(x) %}{{ fmt(x) }}{% endmacro %}");
    p.write(
        "dbt_project.yml",
        "name: proj\nprofile: proj\nconfig-version: 2\nvars:\n  rate: 3\n  unused: 5\n",
    );
    p.write(
        "models/d.sql",
        "{{ config(materialized='table') }} select 4 as id",
    );
    p.write("models/g.sql", "select 7 as id");

    assert_eq!(names(&p, "state:modified"), vec!["a", "b", "c", "d", "g"]);
    assert_eq!(names(&p, "state:new"), vec!["g"]);
    // d's config() call is in its file, so its body changed too (as in dbt).
    assert_eq!(names(&p, "state:modified.body"), vec!["a", "d", "g"]);
    assert_eq!(
        names(&p, "state:modified.macros"),
        vec!["b", "g"],
        "through wrap() to fmt()"
    );
    assert_eq!(
        names(&p, "state:modified.vars"),
        vec!["c", "g"],
        "only the model that reads the changed var"
    );
    assert_eq!(names(&p, "state:modified.configs"), vec!["d", "g"]);
    assert_eq!(
        names(&p, "state:modified+"),
        vec!["a", "b", "c", "d", "e", "g"]
    );
    assert_eq!(names(&p, "state:unmodified"), vec!["e", "f"]);

    let (_, out, _) = p.run(&[
        "ls",
        "-s",
        "state:modified",
        "--state",
        "prod",
        "--explain",
        "--output",
        "name",
    ]);
    assert!(out.contains("b  # macros (macro.proj.wrap)"), "{out}");
    assert!(out.contains("c  # vars (rate)"), "{out}");
    assert!(out.contains("d  # body; configs (materialized)"), "{out}");
    assert!(out.contains("g  # new"), "{out}");
}

#[test]
fn state_selectors_need_a_state() {
    let p = production();
    let (code, _, err) = p.run(&["ls", "-s", "state:modified"]);
    assert_eq!(code, 2);
    assert!(err.contains("needs --state DIR"), "{err}");
    let (code, _, err) = p.run(&["ls", "-s", "state:changed", "--state", "prod"]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown state selector"), "{err}");
}

#[test]
fn defer_builds_only_what_changed_and_reads_parents_from_production() {
    let p = run_project(&[
        ("profiles.yml", "proj:\n  target: prod\n  outputs:\n    prod:\n      type: duckdb\n      path: db.duckdb\n      schema: main\n    ci:\n      type: duckdb\n      path: db.duckdb\n      schema: ci\n"),
        ("models/a.sql", "{{ config(materialized='table') }} select 1 as id"),
        ("models/b.sql", "{{ config(materialized='table') }} select id * 10 as v from {{ ref('a') }}"),
        ("models/c.sql", "{{ config(materialized='table') }} select v + 1 as w from {{ ref('b') }}"),
    ]);
    assert_eq!(p.run(&["build", "--target", "prod"]).0, 0);
    keep_as_production_state(&p);
    p.write(
        "models/b.sql",
        "{{ config(materialized='table') }} select id * 100 as v from {{ ref('a') }}",
    );

    let (code, _, err) = p.run(&[
        "build",
        "-s",
        "state:modified+",
        "--state",
        "prod",
        "--target",
        "ci",
    ]);
    assert_eq!(code, 1, "without --defer the CI schema lacks a: {err}");

    p.ok(&[
        "build",
        "-s",
        "state:modified+",
        "--defer",
        "--state",
        "prod",
        "--target",
        "ci",
    ]);
    let ci = p.column(
        "db.duckdb",
        "select table_name from information_schema.tables where table_schema = 'ci' order by 1",
    );
    assert_eq!(
        ci,
        vec!["b", "c"],
        "only the changed model and its child are built"
    );
    assert_eq!(
        p.column("db.duckdb", "select w::varchar from ci.c"),
        vec!["101"]
    );
    let compiled = p.read("target/compiled/proj/models/b.sql");
    assert!(
        compiled.contains("\"db\".\"main\".\"a\""),
        "b reads production's a: {compiled}"
    );
}

const TWO_TARGETS: &str = "proj:\n  target: prod\n  outputs:\n    prod:\n      type: duckdb\n      path: db.duckdb\n      schema: main\n    ci:\n      type: duckdb\n      path: db.duckdb\n      schema: ci\n";

#[test]
fn clone_makes_views_of_the_previous_run_in_the_target() {
    let p = run_project(&[
        ("profiles.yml", TWO_TARGETS),
        (
            "models/a.sql",
            "{{ config(materialized='table') }} select 1 as id",
        ),
        (
            "models/b.sql",
            "{{ config(materialized='table') }} select id + 1 as id from {{ ref('a') }}",
        ),
    ]);
    assert_eq!(p.run(&["build"]).0, 0);
    keep_as_production_state(&p);
    p.ok(&["clone", "--state", "prod", "--target", "ci"]);
    let views = p.column("db.duckdb", "select table_name from information_schema.tables where table_schema = 'ci' and table_type = 'VIEW' order by 1");
    assert_eq!(views, vec!["a", "b"]);
    assert_eq!(
        p.column("db.duckdb", "select id::varchar from ci.b"),
        vec!["2"]
    );
    let (_, _, err) = p.run(&["clone", "--state", "prod", "--target", "ci"]);
    assert!(err.contains("0 cloned, 2 already in the target"), "{err}");
}

#[test]
fn breaking_a_contract_without_a_new_version_stops_the_run() {
    let schema = |ty: &str| {
        format!("version: 2\nmodels:\n  - name: orders\n    config:\n      contract: {{enforced: true}}\n    columns:\n      - name: id\n        data_type: int\n      - name: status\n        data_type: {ty}\n")
    };
    let p = run_project(&[
        (
            "models/orders.sql",
            "{{ config(materialized='table') }} select 1 as id, 'x' as status",
        ),
        ("models/schema.yml", &schema("varchar")),
    ]);
    assert_eq!(p.run(&["build"]).0, 0);
    keep_as_production_state(&p);

    p.write(
        "models/orders.sql",
        "{{ config(materialized='table') }} select 1 as id, 2 as status",
    );
    p.write("models/schema.yml", &schema("int"));
    let (code, _, err) = p.run(&["build", "-s", "state:modified", "--state", "prod"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("breaking change to the contract of model orders: column status changed type from varchar to int"), "{err}");
    let (_, out, _) = p.run(&[
        "ls",
        "-s",
        "state:modified.contract",
        "--state",
        "prod",
        "--output",
        "name",
    ]);
    assert_eq!(out.trim(), "orders");
}

#[test]
fn a_changed_env_var_marks_its_readers_and_its_value_is_not_written() {
    let p = run_project(&[
        (
            "models/regional.sql",
            "select '{{ env_var('KILN_TEST_REGION') }}' as region",
        ),
        ("models/other.sql", "select 1 as id"),
    ]);
    let run = |value: &str, args: &[&str]| {
        let out = p
            .kiln(args)
            .env("KILN_TEST_REGION", value)
            .output()
            .expect("kiln runs");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
        )
    };
    assert_eq!(run("secret-eu-1", &["parse"]).0, Some(0));
    assert!(
        !p.read("target/manifest.json").contains("secret-eu-1"),
        "env var values are hashed, never written"
    );
    keep_as_production_state(&p);
    let (_, out) = run(
        "secret-eu-1",
        &[
            "ls",
            "-s",
            "state:modified",
            "--state",
            "prod",
            "--output",
            "name",
        ],
    );
    assert_eq!(out.trim(), "");
    let (_, out) = run(
        "secret-us-2",
        &[
            "ls",
            "-s",
            "state:modified",
            "--state",
            "prod",
            "--output",
            "name",
            "--explain",
        ],
    );
    assert_eq!(out.trim(), "regional  # vars (env KILN_TEST_REGION)");
}

#[test]
fn description_changes_count_only_where_docs_are_persisted() {
    let yml = |d: &str| {
        format!("version: 2\nmodels:\n  - name: kept\n    description: {d}\n    config:\n      persist_docs: {{relation: true, columns: true}}\n  - name: plain\n    description: {d}\n")
    };
    let p = run_project(&[
        ("models/kept.sql", "select 1 as id"),
        ("models/plain.sql", "select 1 as id"),
        ("models/schema.yml", &yml("first words")),
    ]);
    assert_eq!(p.run(&["parse"]).0, 0);
    keep_as_production_state(&p);
    p.write("models/schema.yml", &yml("second words"));
    assert_eq!(names(&p, "state:modified"), vec!["kept"]);
    assert_eq!(
        names(&p, "state:modified.persisted_descriptions"),
        vec!["kept"]
    );
}

/// kiln retry repeats the recorded command line, --defer and --state included.
#[test]
fn retry_of_a_deferred_run_defers_again() {
    let p = run_project(&[
        ("profiles.yml", TWO_TARGETS),
        (
            "models/a.sql",
            "{{ config(materialized='table') }} select 1 as id",
        ),
        (
            "models/b.sql",
            "{{ config(materialized='table') }} select id from {{ ref('a') }}",
        ),
    ]);
    p.ok(&["build"]);
    keep_as_production_state(&p);
    p.write(
        "models/b.sql",
        "{{ config(materialized='table') }} select id, missing from {{ ref('a') }}",
    );
    let (code, _, _) = p.run(&[
        "build",
        "-s",
        "state:modified",
        "--defer",
        "--state",
        "prod",
        "--target",
        "ci",
    ]);
    assert_eq!(code, 1);
    p.write(
        "models/b.sql",
        "{{ config(materialized='table') }} select id, 2 as fixed from {{ ref('a') }}",
    );
    p.ok(&["retry"]);
    assert_eq!(p.verdict("b").0, "success");
    assert_eq!(
        p.column("db.duckdb", "select fixed::varchar from ci.b"),
        vec!["2"],
        "b read production's a"
    );
}

/// Moves this run's artifacts to prod/, as a CI job keeps production's
/// manifest for `--state prod`.
fn keep_as_production_state(p: &Project) {
    std::fs::rename(p.dir.join("target"), p.dir.join("prod")).unwrap();
}
