//! The CI workflow end to end, on a project kept in git: the first commit is
//! built as "production"; the second changes a model, a macro, a var and a
//! config; CI then selects exactly what changed, builds it into a fresh
//! schema reading unchanged parents from production, and reports JUnit.

mod common;

use std::path::Path;
use std::process::Command;

use common::Project;

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(["-c", "user.email=ci@example.com", "-c", "user.name=ci"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

const PROFILES: &str = "shop:\n  target: prod\n  outputs:\n    prod:\n      type: duckdb\n      path: ../warehouse.duckdb\n      schema: main\n    ci:\n      type: duckdb\n      path: ../warehouse.duckdb\n      schema: ci_pr_1\n";

fn commit_one(p: &Project) {
    p.write("profiles.yml", PROFILES);
    p.write(
        "dbt_project.yml",
        "name: shop\nprofile: shop\nconfig-version: 2\nvars:\n  tax_rate: 10\n  currency: EUR\n",
    );
    p.write(
        "macros/money.sql",
        "{% macro cents(col) %}({{ col }} * 100){% endmacro %}",
    );
    p.write(
        "models/raw_orders.sql",
        "{{ config(materialized='table') }} select 1 as id, 5 as amount union all select 2, 7",
    );
    p.write("models/orders.sql", "{{ config(materialized='table') }} select id, {{ cents('amount') }} as amount_cents from {{ ref('raw_orders') }}");
    p.write("models/taxed.sql", "{{ config(materialized='table') }} select id, amount_cents * (100 + {{ var('tax_rate') }}) / 100 as gross from {{ ref('orders') }}");
    p.write(
        "models/labels.sql",
        "{{ config(materialized='table') }} select '{{ var('currency') }}' as currency",
    );
    p.write(
        "models/summary.sql",
        "{{ config(materialized='view') }} select count(*) as n from {{ ref('raw_orders') }}",
    );
    p.write("models/schema.yml", "version: 2\nmodels:\n  - name: orders\n    columns:\n      - name: id\n        data_tests: [unique, not_null]\n");
}

#[test]
fn ci_builds_what_a_commit_changed_against_production() {
    let p = Project::with_files(&[]);
    commit_one(&p);
    git(&p.dir, &["init", "-q", "-b", "main"]);
    git(&p.dir, &["add", "."]);
    git(&p.dir, &["commit", "-qm", "production"]);
    p.ok(&["build"]);
    std::fs::rename(p.dir.join("target"), p.dir.parent().unwrap().join("prod")).unwrap();

    // The pull request: a macro, a var, a config and a new model.
    p.write(
        "macros/money.sql",
        "{% macro cents(col) %}cast({{ col }} * 100 as bigint){% endmacro %}",
    );
    p.write(
        "dbt_project.yml",
        "name: shop\nprofile: shop\nconfig-version: 2\nvars:\n  tax_rate: 20\n  currency: EUR\n",
    );
    p.write(
        "models/summary.sql",
        "{{ config(materialized='table') }} select count(*) as n from {{ ref('raw_orders') }}",
    );
    p.write("models/big_orders.sql", "{{ config(materialized='table') }} select * from {{ ref('orders') }} where amount_cents > 600");
    git(&p.dir, &["add", "."]);
    git(&p.dir, &["commit", "-qm", "pull request"]);

    let (_, out, err) = p.run(&[
        "ls",
        "-s",
        "state:modified",
        "--state",
        "../prod",
        "--resource-type",
        "model",
        "--output",
        "name",
        "--explain",
    ]);
    let mut lines: Vec<&str> = out.lines().collect();
    lines.sort();
    assert_eq!(
        lines,
        vec![
            "big_orders  # new",
            "orders  # macros (macro.shop.cents)",
            "summary  # body; configs (materialized)",
            "taxed  # vars (tax_rate)",
        ],
        "{err}"
    );

    p.ok(&[
        "build",
        "-s",
        "state:modified+",
        "--defer",
        "--state",
        "../prod",
        "--target",
        "ci",
        "--junit-xml",
        "junit.xml",
    ]);
    let built = p.column("../warehouse.duckdb", "select table_name from information_schema.tables where table_schema = 'ci_pr_1' order by 1");
    assert_eq!(
        built,
        vec!["big_orders", "orders", "summary", "taxed"],
        "unchanged raw_orders and labels stay in production"
    );
    assert_eq!(
        p.column(
            "../warehouse.duckdb",
            "select gross::varchar from ci_pr_1.taxed order by id"
        ),
        vec!["600.0", "840.0"],
        "the new tax rate on production's raw_orders"
    );

    let xml = p.read("junit.xml");
    let results: serde_json::Value =
        serde_json::from_str(&p.read("target/run_results.json")).unwrap();
    let n = results["results"].as_array().unwrap().len();
    assert_eq!(
        xml.matches("<testcase ").count(),
        n,
        "the JUnit file lists every node:\n{xml}"
    );
    assert!(
        xml.contains("name=\"unique_orders_id\""),
        "tests are listed too"
    );
    assert!(
        xml.contains(&format!("<testsuite name=\"kiln build\" tests=\"{n}\"")),
        "{xml}"
    );
}
