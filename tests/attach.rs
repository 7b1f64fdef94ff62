//! dbt-duckdb's `attach:` profile option: another DuckDB file, read through
//! a source and written by a model whose `database` names it.

mod common;

use common::run_project;

#[test]
fn an_attached_file_is_read_by_a_source_and_written_by_a_model() {
    let p = run_project(&[
        (
            "profiles.yml",
            "proj:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: db.duckdb\n      attach:\n        - path: lake.duckdb\n          alias: lake\n",
        ),
        (
            "models/sources.yml",
            "version: 2\nsources:\n  - name: lake\n    database: lake\n    schema: raw\n    tables:\n      - name: events\n",
        ),
        (
            "models/event_counts.sql",
            "{{ config(materialized='table', database='lake', schema='marts') }}\nselect kind, count(*) as n from {{ source('lake', 'events') }} group by kind",
        ),
    ]);
    {
        let conn = duckdb::Connection::open(p.dir.join("lake.duckdb")).expect("lake");
        conn.execute_batch(
            "create schema raw; create table raw.events as select * from (values ('a'), ('a'), ('b')) t(kind)",
        )
        .expect("seed the lake");
    }
    p.ok(&["run"]);
    assert_eq!(
        p.query(
            "lake.duckdb",
            "select kind, n from main_marts.event_counts order by kind"
        ),
        vec![vec!["a", "2"], vec!["b", "1"]]
    );
    // Nothing was written to the main database.
    assert!(p
        .column(
            "db.duckdb",
            "select table_name from information_schema.tables where table_name = 'event_counts'"
        )
        .is_empty());
}

/// dbt-duckdb's `secrets:` become CREATE SECRET statements; their values
/// never reach the output or target/, even when DuckDB refuses one (here
/// the s3 type needs the httpfs extension, which cannot be fetched offline,
/// or is fetched and then the run goes on). What templates see is pinned by
/// a unit test in project/profiles.rs.
#[test]
fn secret_values_stay_out_of_output_and_artifacts() {
    let p = run_project(&[
        (
            "profiles.yml",
            "proj:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: db.duckdb\n      secrets:\n        - type: s3\n          name: lake_s3\n          key_id: AKIAKILNTEST\n          secret: very-secret-value-4711\n          region: eu-west-1\n",
        ),
        ("models/m.sql", "select '{{ target.secrets[0].name }}' as secret_name, '{{ target.secrets[0].secret }}' as leaked"),
    ]);
    let out = p.kiln(&["run"]).output().expect("kiln runs");
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!printed.contains("very-secret-value-4711"), "{printed}");
    assert!(!printed.contains("AKIAKILNTEST"), "{printed}");
    if out.status.code() == Some(2) {
        assert!(
            printed.contains("could not prepare the DuckDB database"),
            "{printed}"
        );
    }
    let mut files = Vec::new();
    let target = p.dir.join("target");
    if target.is_dir() {
        for entry in walk(&target) {
            files.push(std::fs::read_to_string(&entry).unwrap_or_default());
        }
    }
    assert!(files.iter().all(|f| !f.contains("very-secret-value-4711")));
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.path().is_dir() {
            out.extend(walk(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out
}

/// dbt-duckdb's `disable_transactions: true`: statements commit one by one,
/// so the work of a failing model's pre-hook stays (with transactions, the
/// failure rolls it back).
#[test]
fn disable_transactions_commits_each_statement() {
    let model = (
        "models/m.sql",
        "{{ config(materialized='table', pre_hook='create table if not exists marker as select 1 as x') }}\nselect cast('x' as integer) as broken",
    );
    let marker = |p: &common::Project| {
        p.column(
            "db.duckdb",
            "select count(*) from information_schema.tables where table_name = 'marker'",
        )
    };
    let p = run_project(&[model]);
    assert_eq!(p.run(&["run"]).0, 1);
    assert_eq!(marker(&p), vec!["0"]);
    let p = run_project(&[
        model,
        (
            "profiles.yml",
            "proj:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: db.duckdb\n      disable_transactions: true\n",
        ),
    ]);
    assert_eq!(p.run(&["run"]).0, 1);
    assert_eq!(marker(&p), vec!["1"]);
}

/// dbt-duckdb's `retries: {connect_attempts: N}` (kiln also reads
/// `connect_retries: N`): a database file another
/// process holds for a moment is opened once it is free.
#[test]
fn connect_retries_wait_for_a_held_database_file() {
    let profiles = |retries: &str| {
        format!("proj:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: db.duckdb\n{retries}")
    };
    let p = run_project(&[("models/m.sql", "select 1 as x")]);
    // This test's process holds the file (DuckDB lets one process write it)
    // for 1.5 s.
    let hold = |p: &common::Project| {
        let conn = duckdb::Connection::open(p.dir.join("db.duckdb")).expect("hold the file");
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(1500));
            drop(conn);
        })
    };
    p.write("profiles.yml", &profiles(""));
    let holder = hold(&p);
    let (code, _, err) = p.run(&["run"]);
    holder.join().unwrap();
    assert_eq!(code, 2, "without retries the held file is an error: {err}");

    p.write(
        "profiles.yml",
        &profiles("      retries:\n        connect_retries: 5\n"),
    );
    let holder = hold(&p);
    let (code, _, err) = p.run(&["run"]);
    holder.join().unwrap();
    assert_eq!(code, 0, "{err}");
}

/// dbt-duckdb's `retries: {query_attempts: N, retryable_exceptions: [...]}`:
/// a statement failing with a retryable error (IOException by default) is
/// tried again after 1, 2, 4, ... seconds.
#[test]
fn query_attempts_retry_an_io_error() {
    let profiles = |retries: &str| {
        format!("proj:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: db.duckdb\n{retries}")
    };
    // The file the model reads appears 1.5 s after the run starts.
    let p = run_project(&[(
        "models/late.sql",
        "{{ config(materialized='table') }}\nselect * from read_csv('late.csv')",
    )]);
    let arrive_late = |p: &common::Project| {
        let path = p.dir.join("late.csv");
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(1500));
            std::fs::write(path, "x\n42\n").unwrap();
        })
    };
    p.write("profiles.yml", &profiles(""));
    let writer = arrive_late(&p);
    let (code, _, err) = p.run(&["run"]);
    writer.join().unwrap();
    assert_eq!(
        code, 1,
        "without retries the missing file fails the model: {err}"
    );
    assert!(err.contains("IO Error"), "{err}");

    std::fs::remove_file(p.dir.join("late.csv")).unwrap();
    p.write(
        "profiles.yml",
        &profiles("      keep_open: true\n      retries:\n        query_attempts: 4\n"),
    );
    let writer = arrive_late(&p);
    let (code, _, err) = p.run(&["run"]);
    writer.join().unwrap();
    assert_eq!(code, 0, "{err}");
    assert_eq!(p.column("db.duckdb", "select x from late"), vec!["42"]);

    // An error that is not listed as retryable fails at once.
    std::fs::remove_file(p.dir.join("late.csv")).unwrap();
    p.write(
        "profiles.yml",
        &profiles("      retries:\n        query_attempts: 4\n        retryable_exceptions: [HTTPException]\n"),
    );
    let writer = arrive_late(&p);
    let (code, _, _) = p.run(&["run"]);
    writer.join().unwrap();
    assert_eq!(code, 1);
}
