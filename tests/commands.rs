//! The day-to-day commands around a run: show, run-operation, retry, clean.

mod common;

use common::{run_project, Project};

fn built_example() -> Project {
    let p = Project::example();
    p.ok(&["build"]);
    p
}

#[test]
fn show_prints_the_first_rows_of_a_model_or_a_query() {
    let p = built_example();
    let (code, out, err) = p.run(&["show", "-s", "customers", "--limit", "2"]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "header, rule and two rows:\n{out}");
    assert!(lines[0].starts_with("| customer_id |"), "{out}");
    assert!(err.contains("Previewing node 'customers'"), "{err}");

    let (code, out, err) = p.run(&[
        "show",
        "--inline",
        "select count(*) as orders from {{ ref('orders') }}",
        "--output",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    assert_eq!(v["show"][0]["orders"], 60);
}

#[test]
fn run_operation_calls_a_macro_with_arguments() {
    let p = run_project(&[(
        "macros/ops.sql",
        "{% macro make_note(text, n=1) %}{% do run_query(\"create table notes as select '\" ~ text ~ \"' as note, \" ~ n ~ \" as n\") %}{% endmacro %}\n{% macro explode() %}{{ exceptions.raise_compiler_error('boom') }}{% endmacro %}",
    )]);
    p.ok(&[
        "run-operation",
        "make_note",
        "--args",
        "{text: hello, n: 3}",
    ]);
    assert_eq!(
        p.query("db.duckdb", "select note, n::varchar from notes"),
        vec![vec!["hello", "3"]]
    );
    let (code, _, err) = p.run(&["run-operation", "explode"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("boom"), "{err}");
    let (code, _, err) = p.run(&["run-operation", "make_nots"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("did you mean 'make_note'?"), "{err}");
}

#[test]
fn retry_reruns_what_failed_once_it_is_fixed() {
    let p = run_project(&[
        ("models/a.sql", "select 1 as id"),
        (
            "models/b.sql",
            "select id, missing_column from {{ ref('a') }}",
        ),
        ("models/c.sql", "select * from {{ ref('b') }}"),
    ]);
    let (code, _, _) = p.run(&["run", "--vars", "{x: 1}"]);
    assert_eq!(code, 1);
    assert_eq!(p.verdict("b").0, "error");
    assert_eq!(p.verdict("c").0, "skipped");
    p.write("models/b.sql", "select id, 2 as fixed from {{ ref('a') }}");
    p.ok(&["retry"]);
    let names: Vec<String> = p.results().into_iter().map(|r| r.0).collect();
    assert_eq!(
        names,
        vec!["b", "c"],
        "only the failed and skipped nodes run again"
    );
    assert_eq!(
        p.query("db.duckdb", "select fixed::varchar from c"),
        vec![vec!["2"]]
    );
    let (code, _, err) = p.run(&["retry"]);
    assert_eq!(code, 0);
    assert!(err.contains("Nothing to retry"), "{err}");
}

#[test]
fn clean_deletes_targets_inside_the_project_only() {
    let p = built_example();
    assert!(p.dir.join("target").exists());
    p.ok(&["clean"]);
    assert!(!p.dir.join("target").exists());

    std::fs::create_dir_all(p.dir.join("target")).unwrap();
    let project = p.read("dbt_project.yml").replace(
        "clean-targets: [\"target\"]",
        "clean-targets: [\"target\", \"../outside\"]",
    );
    p.write("dbt_project.yml", &project);
    let (code, _, err) = p.run(&["clean"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("`../outside` is outside the project"), "{err}");
    assert!(
        p.dir.join("target").exists(),
        "nothing is deleted when one entry is refused"
    );
}
