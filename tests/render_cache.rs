//! The render cache (kiln's partial parsing): after a change, `kiln compile`
//! renders again exactly the nodes the change can affect, and the compiled
//! SQL is what a full render gives. dbt's partial parsing re-parses changed
//! files; kiln also reuses compile renders.

mod common;

use std::collections::BTreeSet;

use common::Project;

const PROJECT: &str =
    "name: proj\nversion: '1.0'\nconfig-version: 2\nprofile: proj\nvars:\n  region: eu\n";

fn project() -> Project {
    Project::with_files(&[
        ("dbt_project.yml", PROJECT),
        ("macros/cents.sql", "{% macro cents(col) %}({{ col }} * 100){% endmacro %}"),
        ("macros/label.sql", "{% macro label() %}'plain'{% endmacro %}"),
        ("models/orders.sql", "select 1 as id, {{ cents('2') }} as amount"),
        ("models/customers.sql", "select id, {{ label() }} as kind from {{ ref('orders') }}"),
        ("models/regional.sql", "select '{{ var(\"region\") }}' as region"),
        ("models/stamped.sql", "select '{{ env_var('KILN_TEST_STAMP', 'none') }}' as stamp"),
        ("models/renamed.sql", "select 1 as id"),
        ("models/reads_renamed.sql", "select * from {{ ref('renamed') }}"),
        ("models/from_package.sql", "select {{ helpers.shout('x') }} as v"),
        (
            "models/schema.yml",
            "models:\n  - name: orders\n    columns:\n      - name: id\n        data_tests: [not_null]\n  - name: renamed\n    config:\n      alias: renamed\n",
        ),
        (
            "dbt_packages/helpers/dbt_project.yml",
            "name: helpers\nversion: '1.0'\nconfig-version: 2\n",
        ),
        (
            "dbt_packages/helpers/macros/shout.sql",
            "{% macro shout(s) %}upper('{{ s }}'){% endmacro %}",
        ),
        ("dbt_packages/helpers/models/helper_model.sql", "select 1 as h"),
    ])
}

/// Runs `kiln compile` (with `extra` arguments and env) and returns the
/// nodes rendered again by the parse and by the compile.
fn compile(
    p: &Project,
    extra: &[&str],
    env: &[(&str, &str)],
) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut args = vec!["compile"];
    args.extend_from_slice(extra);
    renders(p, &args, env)
}

/// Runs kiln with `args` and returns the nodes rendered again by the parse
/// and by the compile.
fn renders(
    p: &Project,
    args: &[&str],
    env: &[(&str, &str)],
) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut cmd = p.kiln(args);
    cmd.env("KILN_DEBUG", "1").env_remove("KILN_TEST_STAMP");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("kiln runs");
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(0), "kiln {args:?} failed: {err}");
    let rendered = |stage: &str| -> BTreeSet<String> {
        let prefix = format!("render cache: {stage} ");
        err.lines()
            .filter_map(|l| l.trim().strip_prefix(&prefix))
            .filter_map(|rest| rest.split(' ').next())
            // Short names: model.proj.orders -> orders.
            .map(|id| id.split('.').nth(2).unwrap_or(id).to_string())
            .collect()
    };
    (rendered("parse"), rendered("compile"))
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

fn compiled(p: &Project, model: &str) -> String {
    p.read(&format!("target/compiled/proj/models/{model}.sql"))
}

#[test]
fn each_kind_of_change_renders_again_exactly_what_it_affects() {
    let p = project();
    // First compile: everything renders.
    let (parse, comp) = compile(&p, &[], &[]);
    assert!(
        parse.contains("orders") && parse.contains("helper_model"),
        "{parse:?}"
    );
    assert!(comp.contains("customers") && comp.len() >= 9, "{comp:?}");

    // Nothing changed: nothing renders.
    assert_eq!(compile(&p, &[], &[]), (set(&[]), set(&[])));

    // A model's file: that model only (its child's ref still points at the same table).
    p.write(
        "models/orders.sql",
        "select 2 as id, {{ cents('3') }} as amount",
    );
    assert_eq!(compile(&p, &[], &[]), (set(&["orders"]), set(&["orders"])));
    assert!(compiled(&p, "orders").contains("(3 * 100)"));

    // A macro: the models that call it.
    p.write(
        "macros/label.sql",
        "{% macro label() %}'special'{% endmacro %}",
    );
    assert_eq!(
        compile(&p, &[], &[]),
        (set(&["customers"]), set(&["customers"]))
    );
    assert!(compiled(&p, "customers").contains("'special'"));

    // A var, in dbt_project.yml or on the command line: the models that read it.
    p.write(
        "dbt_project.yml",
        &PROJECT.replace("region: eu", "region: us"),
    );
    assert_eq!(
        compile(&p, &[], &[]),
        (set(&["regional"]), set(&["regional"]))
    );
    assert!(compiled(&p, "regional").contains("'us'"));
    let (parse, comp) = compile(&p, &["--vars", "{region: apac}"], &[]);
    assert_eq!((parse, comp), (set(&["regional"]), set(&["regional"])));
    assert!(compiled(&p, "regional").contains("'apac'"));
    compile(&p, &[], &[]);

    // An env var, set where it was unset: the models that read it.
    let stamp = [("KILN_TEST_STAMP", "v2")];
    assert_eq!(
        compile(&p, &[], &stamp),
        (set(&["stamped"]), set(&["stamped"]))
    );
    assert!(compiled(&p, "stamped").contains("'v2'"));
    assert_eq!(compile(&p, &[], &stamp), (set(&[]), set(&[])));

    // YAML config: the model it configures, and at compile time the models
    // whose ref now points at another table.
    let yaml = p
        .read("models/schema.yml")
        .replace("alias: renamed", "alias: renamed_v2");
    p.write("models/schema.yml", &yaml);
    let (parse, comp) = compile(&p, &[], &stamp);
    assert_eq!(parse, set(&["renamed"]));
    assert_eq!(comp, set(&["renamed", "reads_renamed"]));
    assert!(compiled(&p, "reads_renamed").contains("renamed_v2"));

    // A package's macro, and a package's model.
    p.write(
        "dbt_packages/helpers/macros/shout.sql",
        "{% macro shout(s) %}lower('{{ s }}'){% endmacro %}",
    );
    assert_eq!(
        compile(&p, &[], &stamp),
        (set(&["from_package"]), set(&["from_package"]))
    );
    assert!(compiled(&p, "from_package").contains("lower('x')"));
    p.write(
        "dbt_packages/helpers/models/helper_model.sql",
        "select 2 as h",
    );
    assert_eq!(
        compile(&p, &[], &stamp),
        (set(&["helper_model"]), set(&["helper_model"]))
    );

    // A new macro can change what a name resolves to: everything renders.
    p.write("macros/extra.sql", "{% macro extra() %}1{% endmacro %}");
    let (parse, comp) = compile(&p, &[], &stamp);
    assert!(parse.len() >= 8 && comp.len() >= 9, "{parse:?} {comp:?}");
}

#[test]
fn compiled_sql_from_the_cache_is_what_a_full_render_gives() {
    let p = project();
    compile(&p, &[], &[]);
    p.write("models/orders.sql", "select 5 as id");
    compile(&p, &[], &[]);
    let manifest_cached = p.read("target/manifest.json");
    let files_cached: Vec<String> = ["orders", "customers", "regional", "reads_renamed"]
        .iter()
        .map(|m| compiled(&p, m))
        .collect();
    // --no-partial-parse: everything renders, with the same result.
    let (parse, comp) = compile(&p, &["--no-partial-parse"], &[]);
    assert!(parse.len() >= 8 && comp.len() >= 9, "{parse:?} {comp:?}");
    let strip = |m: &str| -> serde_json::Value {
        let mut v: serde_json::Value = serde_json::from_str(m).expect("json");
        v["metadata"] = serde_json::Value::Null;
        v
    };
    assert_eq!(
        strip(&manifest_cached),
        strip(&p.read("target/manifest.json"))
    );
    let files_full: Vec<String> = ["orders", "customers", "regional", "reads_renamed"]
        .iter()
        .map(|m| compiled(&p, m))
        .collect();
    assert_eq!(files_cached, files_full);
}

#[test]
fn a_corrupt_or_truncated_cache_is_ignored() {
    let p = project();
    compile(&p, &[], &[]);
    let dir = p.dir.join("target/kiln_cache");
    let parse_file = dir.join("parse.bin");
    let bytes = std::fs::read(&parse_file).expect("parse cache written");
    // Truncated: half a file.
    std::fs::write(&parse_file, &bytes[..bytes.len() / 2]).expect("truncate");
    // Corrupt: one byte flipped in the middle of the body.
    let compile_file = dir.join("compile.bin");
    let mut c = std::fs::read(&compile_file).expect("compile cache written");
    let mid = c.len() / 2;
    c[mid] ^= 0xff;
    std::fs::write(&compile_file, &c).expect("corrupt");
    let (parse, comp) = compile(&p, &[], &[]);
    assert!(parse.len() >= 8 && comp.len() >= 9, "{parse:?} {comp:?}");
    assert!(compiled(&p, "customers").contains("'plain'"));
    // And the rewritten cache serves the next compile.
    assert_eq!(compile(&p, &[], &[]), (set(&[]), set(&[])));
}

#[test]
fn builds_reuse_compile_renders_and_flags_are_keyed_one_by_one() {
    let p = Project::with_files(&[
        (
            "profiles.yml",
            "proj:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: dev.duckdb\n      schema: main\n",
        ),
        ("models/plain.sql", "select 1 as id"),
        (
            "models/refreshing.sql",
            "select {{ 1 if flags.FULL_REFRESH else 0 }} as full_refresh",
        ),
        (
            "models/schema.yml",
            "models:\n  - name: plain\n    columns:\n      - name: id\n        data_tests: [not_null]\n",
        ),
    ]);
    let (_, comp) = renders(&p, &["compile"], &[]);
    assert_eq!(comp.len(), 3, "{comp:?}");
    // `kiln build` reuses what `kiln compile` rendered: the test reads only
    // the STORE_FAILURES flag, the model only FULL_REFRESH, and both agree.
    assert_eq!(renders(&p, &["build"], &[]), (set(&[]), set(&[])));
    // --full-refresh changes the one flag `refreshing` reads (at parse
    // time too).
    assert_eq!(
        renders(&p, &["build", "--full-refresh"], &[]),
        (set(&["refreshing"]), set(&["refreshing"]))
    );
    assert_eq!(
        p.column("dev.duckdb", "select full_refresh from refreshing"),
        vec!["1"]
    );
    assert_eq!(
        renders(&p, &["build"], &[]),
        (set(&["refreshing"]), set(&["refreshing"]))
    );
    assert_eq!(
        p.column("dev.duckdb", "select full_refresh from refreshing"),
        vec!["0"]
    );
}
