//! The distributed path: a project built through a Connect server whose
//! jobs run on a standalone cluster (KILN_TEST_SPARK_CLUSTER; .ci/run starts
//! a master, one worker and that server). A model records which JVM computed
//! each row: an executor's, not the driver's.

mod common;

use common::spark::Spark;

#[test]
fn models_run_as_executor_tasks_on_a_standalone_cluster() {
    let Some(url) = common::server_url(
        "KILN_TEST_SPARK_CLUSTER",
        "the Spark cluster test",
        "Spark standalone cluster",
    ) else {
        return;
    };
    let mut spark = Spark::at(&url, "cluster");
    let p = spark.project(&[
        ("seeds/numbers.csv", "n\n1\n2\n3\n4\n"),
        // Evaluated row by row where the rows are: on the executors.
        ("models/where_computed.sql", "{{ config(materialized='table') }}\nselect n, reflect('java.lang.System', 'getProperty', case when n > 0 then 'sun.java.command' end) as jvm from {{ ref('numbers') }}"),
        ("models/total.sql", "{{ config(materialized='table') }}\nselect sum(n) as total from {{ ref('where_computed') }}"),
        ("models/schema.yml", "version: 2\nmodels:\n  - name: total\n    columns:\n      - name: total\n        data_tests: [not_null]\n"),
    ]);
    p.ok(&["build"]);
    let s = spark.schema.clone();
    let jvms = spark.column(&format!("select distinct jvm from {s}.where_computed"));
    assert!(!jvms.is_empty());
    for jvm in &jvms {
        assert!(
            jvm.starts_with("org.apache.spark.executor.CoarseGrainedExecutorBackend"),
            "rows computed outside an executor: {jvm}"
        );
    }
    assert_eq!(
        spark.column(&format!("select total from {s}.total")),
        vec!["10"]
    );
    assert_eq!(p.verdict("not_null_total_total").0, "pass");
    spark.drop_schemas();
}
