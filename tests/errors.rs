//! What a user sees when the project is wrong: the file, line and column,
//! the offending line, a suggestion, exit code 2, and no manifest written.

mod common;

use common::Project;

/// Runs `kiln <args>`, expects exit code 2 and no manifest, and returns
/// stderr with the temporary directory replaced by `[PROJECT]`.
fn fails(p: &Project, args: &[&str]) -> String {
    let (code, _, err) = p.run(args);
    assert_eq!(code, 2, "expected exit code 2, got {code}: {err}");
    assert!(
        !p.dir.join("target/manifest.json").exists(),
        "no manifest after a failed parse"
    );
    err.replace(&p.dir.display().to_string(), "[PROJECT]")
}

fn model(sql: &str) -> Vec<(&'static str, String)> {
    vec![
        ("models/a.sql", "select 1 as id\n".to_string()),
        ("models/b.sql", sql.to_string()),
    ]
}

fn project(files: Vec<(&'static str, String)>) -> Project {
    let refs: Vec<(&str, &str)> = files.iter().map(|(a, b)| (*a, b.as_str())).collect();
    Project::with_files(&refs)
}

#[test]
fn unknown_ref_points_at_the_call_and_suggests() {
    let p = project(model("select *\nfrom {{ ref('aa') }}\n"));
    insta::assert_snapshot!(fails(&p, &["parse"]));
}

#[test]
fn unknown_source_suggests_the_closest() {
    let mut files = model("select * from {{ source('raw', 'orderz') }}\n");
    files.push((
        "models/sources.yml",
        "version: 2\nsources:\n  - name: raw\n    tables:\n      - name: orders\n".into(),
    ));
    insta::assert_snapshot!(fails(&project(files), &["parse"]));
}

#[test]
fn missing_var_without_default_suggests() {
    let mut files = model("select {{ var('start_dat') }}\n");
    files.push((
        "dbt_project.yml",
        "name: proj\nprofile: proj\nconfig-version: 2\nvars:\n  start_date: '2024-01-01'\n".into(),
    ));
    insta::assert_snapshot!(fails(&project(files), &["parse"]));
}

#[test]
fn unknown_macro_suggests_the_closest() {
    let mut files = model("select {{ cents_to_dolars('x') }}\n");
    files.push((
        "macros/money.sql",
        "{% macro cents_to_dollars(c) %}{{ c }} / 100{% endmacro %}\n".into(),
    ));
    insta::assert_snapshot!(fails(&project(files), &["parse"]));
}

#[test]
fn error_inside_macros_shows_the_chain() {
    let mut files = model("select\n  {{ outer() }}\n");
    files.push((
        "macros/m.sql",
        "{% macro outer() %}\n  {{ inner(1) }}\n{% endmacro %}\n{% macro inner(x) %}\n  {{ exceptions.raise_compiler_error('inner failed for ' ~ x) }}\n{% endmacro %}\n".into(),
    ));
    insta::assert_snapshot!(fails(&project(files), &["parse"]));
}

#[test]
fn jinja_syntax_error_points_at_the_line() {
    let p = project(model("select 1\n{% if true %}\nwhere x\n"));
    insta::assert_snapshot!(fails(&p, &["parse"]));
}

#[test]
fn cycle_lists_every_model() {
    let p = project(vec![
        ("models/a.sql", "select * from {{ ref('b') }}\n".into()),
        ("models/b.sql", "select * from {{ ref('c') }}\n".into()),
        ("models/c.sql", "select * from {{ ref('a') }}\n".into()),
    ]);
    insta::assert_snapshot!(fails(&p, &["parse"]));
}

#[test]
fn malformed_yaml_names_file_and_line() {
    let mut files = model("select 1\n");
    files.push((
        "models/schema.yml",
        "version: 2\nmodels:\n  - name: a\n    columns:\n     - name: x\n    - name: y\n".into(),
    ));
    insta::assert_snapshot!(fails(&project(files), &["parse"]));
}

#[test]
fn duplicate_model_names_are_an_error() {
    let mut files = model("select 2\n");
    files.push(("models/sub/b.sql", "select 3\n".into()));
    insta::assert_snapshot!(fails(&project(files), &["parse"]));
}

#[test]
fn ref_to_a_disabled_model_says_so() {
    let p = project(vec![
        (
            "models/a.sql",
            "{{ config(enabled=false) }}\nselect 1\n".into(),
        ),
        ("models/b.sql", "select * from {{ ref('a') }}\n".into()),
    ]);
    insta::assert_snapshot!(fails(&p, &["parse"]));
}

#[test]
fn missing_profile_says_where_kiln_looked() {
    let p = project(model("select 1\n"));
    std::fs::remove_file(p.dir.join("profiles.yml")).expect("remove");
    let (code, _, err) = p
        .kiln(&["parse"])
        .env("HOME", p.dir.join("nohome"))
        .output()
        .map(|o| {
            (
                o.status.code().unwrap_or(-1),
                String::new(),
                String::from_utf8_lossy(&o.stderr).to_string(),
            )
        })
        .expect("runs");
    assert_eq!(code, 2);
    insta::assert_snapshot!(err.replace(&p.dir.display().to_string(), "[PROJECT]"));
}

#[test]
fn unknown_target_suggests_the_closest() {
    let p = project(model("select 1\n"));
    insta::assert_snapshot!(fails(&p, &["parse", "--target", "dve"]));
}

#[test]
fn unknown_selector_method_suggests() {
    let p = project(model("select 1\n"));
    let (code, _, err) = p.run(&["ls", "-s", "tags:nightly"]);
    assert_eq!(code, 2);
    insta::assert_snapshot!(err);
}

#[test]
fn unknown_generic_test_is_a_definition_error() {
    let mut files = model("select 1 as id\n");
    files.push(("models/schema.yml", "version: 2\nmodels:\n  - name: b\n    columns:\n      - name: id\n        data_tests: [uniq]\n".into()));
    insta::assert_snapshot!(fails(&project(files), &["parse"]));
}

#[test]
fn bad_vars_flag_explains_the_format() {
    let p = project(model("select 1\n"));
    insta::assert_snapshot!(fails(&p, &["parse", "--vars", "[1, 2]"]));
}

#[test]
fn config_typos_warn_with_a_suggestion() {
    let mut files = model("select 1\n");
    files.push(("dbt_project.yml", "name: proj\nprofile: proj\nconfig-version: 2\nmodels:\n  proj:\n    +materialised: table\n".into()));
    let p = project(files);
    let err = p.ok(&["parse"]);
    assert!(
        err.contains("unknown config `proj.+materialised`")
            && err.contains("did you mean '+materialized'?"),
        "{err}"
    );
}

#[test]
fn no_project_here_is_explained() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = common::kiln()
        .current_dir(tmp.path())
        .arg("parse")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no dbt_project.yml in") && err.contains("kiln init"),
        "{err}"
    );
}
