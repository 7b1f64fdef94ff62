//! kiln against dbt-core 1.11 + dbt-spark 1.11 on tests/fixtures/spark_shop:
//! the reference in tests/dbt_reference_spark/ was produced by dbt itself on
//! a Spark Connect server (see its refresh.sh). kiln builds the same project
//! the same way (seed, run, run with load=2, test) on the test server, in a
//! schema of its own, and must write the same rows and reach the same test
//! verdicts.

mod common;

use common::spark::{server, Spark};
use common::{repo, Project};

fn reference(name: &str) -> String {
    std::fs::read_to_string(repo().join("tests/dbt_reference_spark").join(name))
        .expect("reference file")
}

/// Every relation of the test's schema, as dump.py writes dbt's: values as
/// Spark casts them to string, so both sides print them alike.
fn dump(spark: &mut Spark) -> String {
    let schema = spark.schema.clone();
    let mut out = String::new();
    for (name, _) in spark.relations(&schema) {
        out.push_str(&format!("## <schema>.{name}\n"));
        let cols: Vec<String> = spark
            .column(&format!("describe table {schema}.{name}"))
            .into_iter()
            .take_while(|c| c != "# Partition Information")
            .filter(|c| !c.is_empty() && !c.starts_with('#'))
            .collect();
        out.push_str(&cols.join("|"));
        out.push('\n');
        let values: Vec<String> = cols
            .iter()
            .map(|c| format!("coalesce(cast(`{c}` as string), 'NULL')"))
            .collect();
        let rows = spark.column(&format!(
            "select concat_ws('|', {}) as line from {schema}.{name}",
            values.join(", ")
        ));
        common::push_sorted_lines(&mut out, rows);
    }
    out
}

#[test]
fn spark_shop_matches_dbt_spark() {
    let Some(mut spark) = server("parity") else {
        return;
    };
    let p = Project::fixture("spark_shop");
    let (url, schema) = (spark.url.clone(), spark.schema.clone());
    let kiln = |args: &[&str]| {
        let out = p
            .kiln(args)
            .env("KILN_TEST_SPARK", &url)
            .env("KILN_SPARK_SCHEMA", &schema)
            .output()
            .expect("kiln runs");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    for args in [&["seed"][..], &["run"], &["run", "--vars", "load: 2"]] {
        let (code, err) = kiln(args);
        assert_eq!(code, 0, "kiln {args:?}: {err}");
    }
    let ours = dump(&mut spark);
    let theirs = reference("relations.txt");
    for (a, b) in ours.split("## ").zip(theirs.split("## ")) {
        assert_eq!(a, b, "rows differ from dbt-spark's");
    }
    assert_eq!(ours, theirs);

    let (code, err) = kiln(&["test"]);
    assert_eq!(code, 1, "two tests fail, as with dbt: {err}");
    let verdicts = p.verdict_lines();
    let expected: Vec<String> = reference("test_verdicts.txt")
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(verdicts, expected);
    spark.drop_schemas();
}
