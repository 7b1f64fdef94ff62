//! Model versions, access and groups, semantic models and metrics, as
//! dbt 1.11 reads them from properties YAML.

mod common;

use common::run_project;

const VERSIONED: &[(&str, &str)] = &[
    ("models/orders_v1.sql", "select 1 as id, 'old' as shape\n"),
    ("models/orders.sql", "select 1 as id, 'new' as shape, 2 as extra\n"),
    (
        "models/old_reader.sql",
        "select shape from {{ ref('orders', v=1) }}\n",
    ),
    ("models/latest_reader.sql", "select shape from {{ ref('orders') }}\n"),
    (
        "models/schema.yml",
        "version: 2\nmodels:\n  - name: orders\n    latest_version: 2\n    columns:\n      - name: id\n        data_tests: [not_null]\n      - name: extra\n    versions:\n      - v: 1\n        deprecation_date: 2020-01-01\n        columns:\n          - include: all\n            exclude: [extra]\n      - v: 2\n",
    ),
];

/// dbt: each version is its own node and relation (`orders_v1`,
/// `orders_v2`; the latest may live in the unsuffixed file), an
/// unversioned ref reads the latest, and tests run per version.
#[test]
fn model_versions_build_their_own_relations() {
    let p = run_project(VERSIONED);
    let err = p.ok(&["build"]);
    assert_eq!(
        p.column("db.duckdb", "select shape from old_reader"),
        vec!["old"]
    );
    assert_eq!(
        p.column("db.duckdb", "select shape from latest_reader"),
        vec!["new"]
    );
    assert_eq!(
        p.column("db.duckdb", "select table_name from information_schema.tables where table_name like 'orders%' order by 1"),
        vec!["orders_v1", "orders_v2"]
    );
    let m = p.manifest();
    let v1 = &m["nodes"]["model.proj.orders.v1"];
    assert_eq!(v1["version"], 1);
    assert_eq!(v1["latest_version"], 2);
    assert_eq!(v1["deprecation_date"], "2020-01-01");
    assert!(v1["columns"].get("extra").is_none(), "v1 excludes `extra`");
    assert!(m["nodes"]["model.proj.orders.v2"]["columns"]["extra"].is_object());
    let tests: Vec<&String> = m["nodes"]
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| k.starts_with("test.proj.not_null_orders"))
        .collect();
    assert_eq!(tests.len(), 2, "{tests:?}");
    let v1_test = tests
        .iter()
        .find(|t| t.starts_with("test.proj.not_null_orders_v1_id."))
        .expect("a test of v1");
    // Each version's tests run after that version is built.
    assert_eq!(
        m["nodes"][v1_test.as_str()]["depends_on"]["nodes"][0],
        "model.proj.orders.v1"
    );
    // A reference to a deprecated version warns, as dbt does.
    assert!(
        err.contains("model.proj.orders.v1, which was deprecated on 2020-01-01"),
        "{err}"
    );
}

/// A private model may be referenced only from its own group.
#[test]
fn private_models_are_private_to_their_group() {
    let p = run_project(&[
        ("models/secret.sql", "select 1 as id\n"),
        ("models/insider.sql", "select * from {{ ref('secret') }}\n"),
        ("models/outsider.sql", "select * from {{ ref('secret') }}\n"),
        (
            "models/schema.yml",
            "version: 2\ngroups:\n  - name: finance\n    owner:\n      name: Fin\n      email: fin@example.com\n\
             models:\n  - name: secret\n    access: private\n    group: finance\n  - name: insider\n    config:\n      group: finance\n",
        ),
    ]);
    let (code, _, err) = p.run(&["parse"]);
    assert_eq!(code, 2);
    assert!(err.contains("model.proj.outsider refers to model.proj.secret, which is private to the 'finance' group"), "{err}");
    assert!(err.contains("models/outsider.sql:1"), "{err}");
    std::fs::remove_file(p.dir.join("models/outsider.sql")).unwrap();
    p.ok(&["parse"]);
    let m = p.manifest();
    assert_eq!(
        m["groups"]["group.proj.finance"]["owner"]["email"],
        "fin@example.com"
    );
    assert_eq!(m["group_map"]["finance"].as_array().unwrap().len(), 2);
}

/// Semantic models, metrics and saved queries land in manifest.json with
/// their dependencies, and exposures may depend on metrics.
#[test]
fn semantic_layer_definitions_are_in_the_manifest() {
    let p = run_project(&[
        ("models/orders.sql", "select 1 as id, 10 as amount, date '2024-01-01' as ordered_at\n"),
        (
            "models/spine.yml",
            "models:\n  - name: orders\n    time_spine:\n      standard_granularity_column: ordered_at\n",
        ),
        (
            "models/semantic.yml",
            "version: 2\nsemantic_models:\n  - name: orders_sm\n    model: ref('orders')\n    defaults:\n      agg_time_dimension: ordered_at\n\
             \x20   entities:\n      - name: order\n        type: primary\n        expr: id\n    measures:\n      - name: revenue\n        agg: sum\n        expr: amount\n\
             \x20   dimensions:\n      - name: ordered_at\n        type: time\n        type_params:\n          time_granularity: day\n\
             metrics:\n  - name: total_revenue\n    label: Revenue\n    type: simple\n    filter: \"{{ Dimension('order__id') }} > 0\"\n    type_params:\n      measure: revenue\n\
             \x20 - name: revenue_growth\n    label: Growth\n    type: derived\n    type_params:\n      expr: total_revenue\n      metrics: [total_revenue]\n\
             saved_queries:\n  - name: revenue_daily\n    query_params:\n      metrics: [total_revenue]\n\
             exposures:\n  - name: dashboard\n    type: dashboard\n    owner:\n      email: a@example.com\n    depends_on:\n      - metric('total_revenue')\n      - ref('orders')\n",
        ),
    ]);
    p.ok(&["parse"]);
    let m = p.manifest();
    assert_eq!(
        m["nodes"]["model.proj.orders"]["time_spine"]["standard_granularity_column"],
        "ordered_at"
    );
    let sm = &m["semantic_models"]["semantic_model.proj.orders_sm"];
    assert_eq!(sm["depends_on"]["nodes"][0], "model.proj.orders");
    assert_eq!(
        m["metrics"]["metric.proj.total_revenue"]["depends_on"]["nodes"][0],
        "semantic_model.proj.orders_sm"
    );
    assert_eq!(
        m["metrics"]["metric.proj.revenue_growth"]["depends_on"]["nodes"][0],
        "metric.proj.total_revenue"
    );
    assert_eq!(
        m["saved_queries"]["saved_query.proj.revenue_daily"]["depends_on"]["nodes"][0],
        "metric.proj.total_revenue"
    );
    // Metrics in dbt's full shape, as tools reading the manifest expect.
    let metric = &m["metrics"]["metric.proj.total_revenue"];
    assert_eq!(
        metric["filter"]["where_filters"][0]["where_sql_template"],
        "{{ Dimension('order__id') }} > 0"
    );
    assert_eq!(metric["type_params"]["measure"]["name"], "revenue");
    assert_eq!(
        metric["type_params"]["input_measures"][0]["name"],
        "revenue"
    );
    let deps = m["exposures"]["exposure.proj.dashboard"]["depends_on"]["nodes"].to_string();
    assert!(
        deps.contains("metric.proj.total_revenue") && deps.contains("model.proj.orders"),
        "{deps}"
    );
}

/// Python models are read (their refs place them in the graph) but kiln
/// runs no Python: the model fails with a message and its children skip.
#[test]
fn python_models_are_parsed_and_fail_clearly() {
    let p = run_project(&[
        ("models/base.sql", "select 1 as id\n"),
        (
            "models/scored.py",
            "def model(dbt, session):\n    dbt.config(materialized='table')\n    return dbt.ref('base').df()\n",
        ),
        ("models/after.sql", "select * from {{ ref('scored') }}\n"),
    ]);
    let (code, _, err) = p.run(&["run"]);
    assert_eq!(code, 1);
    assert!(err.contains("kiln does not run Python models"), "{err}");
    assert_eq!(p.verdict("scored").0, "error");
    assert_eq!(p.verdict("after").0, "skipped");
    assert_eq!(p.verdict("base").0, "success");
    let m = p.manifest();
    let node = &m["nodes"]["model.proj.scored"];
    assert_eq!(node["language"], "python");
    assert_eq!(node["depends_on"]["nodes"][0], "model.proj.base");
}

/// dbt 1.10+ `build` runs exposures too, as no-ops after their parents.
#[test]
fn build_runs_exposures_as_no_ops() {
    let p = run_project(&[
        ("models/orders.sql", "select 1 as id\n"),
        (
            "models/exposures.yml",
            "version: 2\nexposures:\n  - name: weekly_report\n    type: dashboard\n    owner:\n      email: a@example.com\n    depends_on:\n      - ref('orders')\n",
        ),
    ]);
    let err = p.ok(&["build"]);
    assert!(err.contains("NO-OP exposure weekly_report"), "{err}");
    assert!(err.contains("NO-OP=1"), "{err}");
    let results = p.read("target/run_results.json");
    assert!(
        results.contains(r#""status":"no-op""#) || results.contains(r#""status": "no-op""#),
        "{results}"
    );
}

/// A package with `restrict-access: true` keeps its protected models to itself.
#[test]
fn restrict_access_keeps_protected_models_in_their_package() {
    let p = run_project(&[
        (
            "models/reader.sql",
            "select * from {{ ref('inner_model') }}\n",
        ),
        (
            "dbt_packages/lib/dbt_project.yml",
            "name: lib\nconfig-version: 2\nrestrict-access: true\n",
        ),
        (
            "dbt_packages/lib/models/inner_model.sql",
            "select 1 as id\n",
        ),
        (
            "dbt_packages/lib/models/open_model.sql",
            "select * from {{ ref('inner_model') }}\n",
        ),
    ]);
    let (code, _, err) = p.run(&["parse"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("model.proj.reader refers to model.lib.inner_model, which is protected in package 'lib'"),
        "{err}"
    );
    p.write(
        "dbt_packages/lib/models/props.yml",
        "version: 2\nmodels:\n  - name: inner_model\n    access: public\n",
    );
    p.ok(&["parse"]);
}
