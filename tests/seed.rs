//! `kiln seed`: CSVs loaded by DuckDB's own reader, column_types honoured,
//! re-runs replacing rows, --full-refresh recreating changed tables.

mod common;

use common::run_project;

#[test]
fn column_types_keep_leading_zeros_and_types_are_inferred() {
    let p = run_project(&[
        ("seeds/stores.csv", "id,zip,opened_at,rating,active\n1,02108,2024-01-05,4.5,true\n2,10001,2024-02-06,3.0,false\n"),
        ("seeds/schema.yml", "version: 2\nseeds:\n  - name: stores\n    config:\n      column_types:\n        zip: varchar\n"),
    ]);
    let err = p.ok(&["seed"]);
    assert!(err.contains("INSERT 2"), "{err}");
    assert_eq!(
        p.column("db.duckdb", "select zip from main.stores order by id"),
        vec!["02108", "10001"]
    );
    assert_eq!(
        p.query("db.duckdb", "select column_name, data_type from information_schema.columns where table_name = 'stores' order by ordinal_position"),
        vec![
            vec!["id".to_string(), "INTEGER".to_string()],
            vec!["zip".to_string(), "VARCHAR".to_string()],
            vec!["opened_at".to_string(), "DATE".to_string()],
            vec!["rating".to_string(), "DOUBLE".to_string()],
            vec!["active".to_string(), "BOOLEAN".to_string()],
        ]
    );
}

/// dbt-duckdb types seeds with agate: whole numbers INTEGER, other numbers
/// DOUBLE, dates, timestamps, booleans, else text; an empty column is
/// INTEGER, and the text `null` stays text (its loader is DuckDB's COPY).
/// kiln keeps a whole number too big for INTEGER as BIGINT (where dbt
/// fails to load it).
#[test]
fn seeds_are_typed_as_dbt_duckdb_types_them() {
    let p = run_project(&[(
        "seeds/events.csv",
        "n,big,score,day,at,flag,empty,clock,label
         1,3000000000,1.5,2024-01-05,2024-01-05 10:00:00,true,,10:30:00,null
         2,4,2,2024-01-06,2024-01-06 11:00:00,False,,11:00:00,b
",
    )]);
    p.ok(&["seed"]);
    let types = p.query(
        "db.duckdb",
        "select column_name, data_type from information_schema.columns where table_name = 'events' order by ordinal_position",
    );
    let types: Vec<String> = types
        .into_iter()
        .map(|r| format!("{} {}", r[0], r[1]))
        .collect();
    assert_eq!(
        types,
        [
            "n INTEGER",
            "big BIGINT",
            "score DOUBLE",
            "day DATE",
            "at TIMESTAMP",
            "flag BOOLEAN",
            "empty INTEGER",
            "clock VARCHAR",
            "label VARCHAR"
        ]
    );
    assert_eq!(
        p.column("db.duckdb", "select label from events order by n"),
        vec!["null", "b"]
    );
}

#[test]
fn delimiter_and_rerun_replace_the_rows() {
    let p = run_project(&[
        (
            "dbt_project.yml",
            "name: proj\nprofile: proj\nconfig-version: 2\nseeds:\n  proj:\n    +delimiter: ';'\n",
        ),
        ("seeds/codes.csv", "code;label\nA;first\nB;second\n"),
    ]);
    let (code, _, err) = p.run(&["seed"]);
    assert_eq!(code, 0, "{err}");
    p.write("seeds/codes.csv", "code;label\nC;third\n");
    let (code, _, err) = p.run(&["seed"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        p.column("db.duckdb", "select code from main.codes"),
        vec!["C"]
    );
}

#[test]
fn changed_columns_need_a_full_refresh() {
    let p = run_project(&[("seeds/s.csv", "a,b\n1,2\n")]);
    assert_eq!(p.run(&["seed"]).0, 0);
    p.write("seeds/s.csv", "a,b,c\n1,2,3\n");
    let (code, _, err) = p.run(&["seed"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("differ from those of") && err.contains("--full-refresh"),
        "{err}"
    );
    assert_eq!(
        p.column("db.duckdb", "select count(*) from main.s"),
        vec!["1"],
        "the old table is untouched"
    );
    p.ok(&["seed", "--full-refresh"]);
    assert_eq!(p.column("db.duckdb", "select c from main.s"), vec!["3"]);
}

#[test]
fn seeds_land_in_their_custom_schema_and_models_read_them() {
    let p = run_project(&[
        (
            "dbt_project.yml",
            "name: proj\nprofile: proj\nconfig-version: 2\nseeds:\n  proj:\n    +schema: raw\n",
        ),
        ("seeds/people.csv", "id,name\n1,Ada\n"),
        ("models/names.sql", "select name from {{ ref('people') }}"),
    ]);
    assert_eq!(p.run(&["seed"]).0, 0);
    p.ok(&["run"]);
    assert_eq!(
        p.column("db.duckdb", "select name from main.names"),
        vec!["Ada"]
    );
    assert_eq!(
        p.column(
            "db.duckdb",
            "select table_schema from information_schema.tables where table_name = 'people'"
        ),
        vec!["main_raw"]
    );
}
