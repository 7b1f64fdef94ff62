//! Properties YAML as dbt reads it (anchors, merge keys, unknown keys,
//! Jinja in configs, source overrides) and dbt's command-line flags that
//! scripts and orchestrators pass.

mod common;

use common::run_project;

#[test]
fn yaml_anchors_merge_keys_and_unknown_keys() {
    let p = run_project(&[
        ("models/a.sql", "select 1 as id\n"),
        ("models/b.sql", "select 2 as id\n"),
        (
            "models/schema.yml",
            "version: 2\nanchors:\n  - &common\n    materialized: table\n    tags: [shared]\nmy_team_notes: anything\n\
             models:\n  - name: a\n    config:\n      <<: *common\n      meta:\n        owner: \"{{ env_var('OWNER', 'nobody') }}\"\n  - name: b\n    config: *common\n",
        ),
    ]);
    let out = p.kiln(&["run"]).env("OWNER", "ana").output().expect("runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("unknown top-level key `my_team_notes`"),
        "{err}"
    );
    assert_eq!(
        p.column("db.duckdb", "select table_type from information_schema.tables where table_name in ('a', 'b') order by table_name"),
        vec!["BASE TABLE", "BASE TABLE"]
    );
    let m = p.manifest();
    assert_eq!(m["nodes"]["model.proj.a"]["config"]["meta"]["owner"], "ana");
    assert_eq!(m["nodes"]["model.proj.b"]["tags"][0], "shared");
}

/// `overrides:` redefines a package's source without copying it.
#[test]
fn a_source_overrides_a_packages_source() {
    let p = run_project(&[
        ("models/reader.sql", "select * from {{ source('shop', 'orders') }}\n"),
        (
            "dbt_packages/shop_pkg/dbt_project.yml",
            "name: shop_pkg\nconfig-version: 2\n",
        ),
        (
            "dbt_packages/shop_pkg/models/sources.yml",
            "version: 2\nsources:\n  - name: shop\n    schema: raw_shop\n    tables:\n      - name: orders\n        identifier: order_table\n",
        ),
        (
            "models/sources.yml",
            "version: 2\nsources:\n  - name: shop\n    overrides: shop_pkg\n    schema: landing\n    config:\n      loaded_at_field: loaded\n    tables:\n      - name: orders\n        identifier: orders_copy\n",
        ),
    ]);
    p.ok(&["parse"]);
    let m = p.manifest();
    let s = &m["sources"]["source.shop_pkg.shop.orders"];
    assert_eq!(s["schema"], "landing");
    assert_eq!(s["identifier"], "orders_copy");
    assert_eq!(s["loaded_at_field"], "loaded");
    assert!(m["sources"].get("source.proj.shop.orders").is_none());
}

/// Flags dbt accepts before or after the command are accepted, and those
/// with an effect in kiln have it.
#[test]
fn dbts_command_line_flags_are_accepted() {
    let p = run_project(&[
        ("models/a.sql", "select 1 as id\n"),
        ("models/schema.yml", "version: 2\nmodels:\n  - name: a\n    columns:\n      - name: id\n        data_tests: [unique]\n"),
    ]);
    p.ok(&[
        "--no-partial-parse",
        "--log-level",
        "warn",
        "--no-version-check",
        "--no-use-colors",
        "run",
        "--log-level-file",
        "debug",
        "--no-print",
        "--no-send-anonymous-usage-stats",
    ]);
    // --target-path moves the artifacts.
    p.ok(&["--target-path", "out", "build", "--resource-type", "model"]);
    let results = p.read("out/run_results.json");
    assert!(
        results.contains("model.proj.a") && !results.contains("test.proj."),
        "{results}"
    );
    // --exclude-resource-type leaves tests out of build; --quiet prints no progress.
    let (code, _, err) = p.run(&["build", "--exclude-resource-type", "test", "-q"]);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("OK"), "quiet: {err}");
    let results = p.read("target/run_results.json");
    assert!(
        results.contains("model.proj.a") && !results.contains("test.proj."),
        "{results}"
    );
    // docs generate --static writes the one-file site too.
    p.ok(&["docs", "generate", "--static"]);
    assert!(p.dir.join("target/static_index.html").is_file());
    assert!(p.read("target/catalog.json").contains("model.proj.a"));
    p.ok(&["docs", "generate", "--empty-catalog"]);
    assert!(!p.read("target/catalog.json").contains("model.proj.a"));
}

/// As dbt: `compile` connects, so templates may query the database.
#[test]
fn compile_runs_introspective_queries() {
    let p = run_project(&[
        ("seeds/colors.csv", "name\nred\nblue\n"),
        (
            "models/palette.sql",
            "{% set rows = run_query('select name from ' ~ ref('colors') ~ ' order by name') %}\
             select '{{ rows.columns[0].values() | join(\",\") if execute }}' as names\n",
        ),
    ]);
    p.ok(&["seed"]);
    p.ok(&["compile", "-s", "palette"]);
    let compiled = p.read("target/compiled/proj/models/palette.sql");
    assert!(compiled.contains("'blue,red' as names"), "{compiled}");
}

/// selectors.yml may use env_var() and var(), as in dbt.
#[test]
fn selectors_yml_renders_jinja() {
    let p = run_project(&[
        ("models/a.sql", "select 1 as id\n"),
        ("models/b.sql", "select 2 as id\n"),
        (
            "selectors.yml",
            "selectors:\n  - name: chosen\n    definition: \"{{ env_var('PICK', 'a') }}\"\n",
        ),
    ]);
    let out = p
        .kiln(&["ls", "--selector", "chosen", "--output", "name"])
        .env("PICK", "b")
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "b");
}

/// Statements carry dbt's query comment, which dbt_project.yml may change
/// or turn off.
#[test]
fn query_comments_as_dbt_project_yml_says() {
    let p = run_project(&[("models/a.sql", "select 1 as id\n")]);
    p.ok(&["run"]);
    let ran = p.read("target/run/proj/models/a.sql");
    assert!(
        ran.starts_with(r#"/* {"app": "dbt", "dbt_version": "#)
            && ran.contains(r#""node_id": "model.proj.a"} */"#),
        "{ran}"
    );
    p.write(
        "dbt_project.yml",
        "name: proj\nprofile: proj\nconfig-version: 2\nquery-comment:\n  comment: \"run by {{ target.name }} for {{ this.identifier }}\"\n  append: true\n",
    );
    p.ok(&["run"]);
    let ran = p.read("target/run/proj/models/a.sql");
    assert!(ran.trim_end().ends_with("/* run by dev for a */"), "{ran}");
    p.write(
        "dbt_project.yml",
        "name: proj\nprofile: proj\nconfig-version: 2\nquery-comment: null\n",
    );
    p.ok(&["run"]);
    assert!(!p.read("target/run/proj/models/a.sql").contains("/*"));
}
