//! dbt-duckdb's `external` materialization: the model's rows written to a
//! file under the profile's external_root, read back through a view of the
//! same name, replaced only once a new version is complete.

mod common;

use common::run_project;

fn project() -> common::Project {
    run_project(&[
        (
            "profiles.yml",
            "proj:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: db.duckdb\n      external_root: exports\n",
        ),
        ("seeds/orders.csv", "id,region,amount\n1,eu,10\n2,us,20\n3,eu,30\n"),
        (
            "models/orders_export.sql",
            "{{ config(materialized='external', format='csv') }}\nselect * from {{ ref('orders') }}",
        ),
        (
            "models/by_region.sql",
            "{{ config(materialized='external', format='csv', partition_by='region') }}\nselect id, region, amount from {{ ref('orders') }}",
        ),
        (
            "models/totals.sql",
            "select region, sum(amount) as total from {{ ref('orders_export') }} group by region",
        ),
        (
            "models/schema.yml",
            "version: 2\nmodels:\n  - name: orders_export\n    columns:\n      - name: id\n        data_tests: [unique, not_null]\n",
        ),
    ])
}

#[test]
fn an_external_model_is_a_file_read_back_by_refs_and_tests() {
    let p = project();
    p.ok(&["build"]);
    assert_eq!(
        p.read("exports/orders_export.csv"),
        "id,region,amount\n1,eu,10\n2,us,20\n3,eu,30\n"
    );
    assert_eq!(
        p.query(
            "db.duckdb",
            "select region, total from totals order by region"
        ),
        vec![vec!["eu", "40"], vec!["us", "20"]]
    );
    assert_eq!(p.verdict("unique_orders_export_id").0, "pass");
    // The relation is a view over the file.
    assert_eq!(
        p.column(
            "db.duckdb",
            "select table_type from information_schema.tables where table_name = 'orders_export'"
        ),
        vec!["VIEW"]
    );
    // Partitions: one directory per region, read back with the column.
    assert!(p.dir.join("exports/by_region/region=eu").is_dir());
    assert!(p.dir.join("exports/by_region/region=us").is_dir());
    assert_eq!(
        p.query("db.duckdb", "select id, region from by_region order by id"),
        vec![vec!["1", "eu"], vec!["2", "us"], vec!["3", "eu"]]
    );
    // A second build replaces both, leaving no scratch files behind.
    p.write("seeds/orders.csv", "id,region,amount\n1,eu,11\n");
    p.ok(&["build"]);
    assert_eq!(
        p.read("exports/orders_export.csv"),
        "id,region,amount\n1,eu,11\n"
    );
    assert!(!p.dir.join("exports/by_region/region=us").exists());
    let left: Vec<String> = std::fs::read_dir(p.dir.join("exports"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    assert!(left.iter().all(|n| !n.contains("kiln")), "{left:?}");
}

#[test]
fn a_failed_write_leaves_the_previous_file() {
    let p = project();
    p.ok(&["seed"]);
    p.ok(&["run", "-s", "orders_export"]);
    let before = p.read("exports/orders_export.csv");
    p.write(
        "models/orders_export.sql",
        "{{ config(materialized='external', format='csv') }}\nselect cast('not a number' as integer) as id",
    );
    let (code, _, err) = p.run(&["run", "-s", "orders_export"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(p.read("exports/orders_export.csv"), before);
}

#[test]
fn a_location_and_delimiter_are_honoured() {
    let p = project();
    p.write(
        "models/orders_export.sql",
        "{{ config(materialized='external', location='out/orders.csv', delimiter='|') }}\nselect id, amount from {{ ref('orders') }}",
    );
    p.ok(&["seed"]);
    p.ok(&["run", "-s", "orders_export"]);
    assert_eq!(p.read("out/orders.csv"), "id|amount\n1|10\n2|20\n3|30\n");
    assert_eq!(
        p.column("db.duckdb", "select sum(amount) from orders_export"),
        vec!["60"]
    );
}

#[test]
fn parquet_the_default_and_json_are_written_and_read_back() {
    let p = run_project(&[
        (
            "profiles.yml",
            "proj:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: db.duckdb\n      external_root: exports\n",
        ),
        ("seeds/orders.csv", "id,region,amount\n1,eu,10.5\n2,us,20\n"),
        (
            "models/orders_parquet.sql",
            "{{ config(materialized='external') }}\nselect * from {{ ref('orders') }}",
        ),
        (
            "models/orders_json.sql",
            "{{ config(materialized='external', format='json') }}\nselect * from {{ ref('orders_parquet') }}",
        ),
        (
            "models/joined.sql",
            "select j.id, j.region, p.amount from {{ ref('orders_json') }} j join {{ ref('orders_parquet') }} p using (id)",
        ),
    ]);
    p.ok(&["build"]);
    // parquet files start with their magic number; json is one object a line.
    let parquet = std::fs::read(p.dir.join("exports/orders_parquet.parquet")).unwrap();
    assert_eq!(&parquet[..4], b"PAR1");
    let json = p.read("exports/orders_json.json");
    assert_eq!(json.lines().count(), 2, "{json}");
    assert!(json.contains("\"region\":\"eu\""), "{json}");
    assert_eq!(
        p.query(
            "db.duckdb",
            "select id, region, amount from joined order by id"
        ),
        vec![vec!["1", "eu", "10.5"], vec!["2", "us", "20"]]
    );
}
