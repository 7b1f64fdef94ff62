//! The microbatch incremental strategy (dbt 1.9): a model built one day at
//! a time, each batch reading its window of the refs with an event_time;
//! a failed batch leaves the others in place.

mod common;

use common::run_project;

const MODEL: &str = "{{ config(materialized='incremental', incremental_strategy='microbatch', \
    event_time='occurred_at', batch_size='day', begin='2024-01-01') }}\n\
    select id, occurred_at, '{{ model.batch.id }}' as batch, '{{ model.batch.event_time_start }}' as batch_start, \
    case when amount < 0 then cast('no' as integer) else amount end as amount \
    from {{ ref('events') }}";

fn project(events: &str) -> common::Project {
    run_project(&[
        (
            "dbt_project.yml",
            "name: proj\nprofile: proj\nconfig-version: 2\nseeds:\n  proj:\n    events:\n      +event_time: occurred_at\n      +column_types: {occurred_at: timestamp}\n",
        ),
        ("seeds/events.csv", events),
        ("models/daily.sql", MODEL),
    ])
}

/// The model's rows: id, batch, amount.
fn daily_rows(p: &common::Project) -> Vec<Vec<String>> {
    p.query(
        "db.duckdb",
        "select id, batch, amount from daily order by id",
    )
}

fn run_results(p: &common::Project) -> serde_json::Value {
    serde_json::from_str(&p.read("target/run_results.json")).expect("run_results.json")
}

const THREE_DAYS: &str = "id,occurred_at,amount\n1,2024-01-01 10:00:00,1\n2,2024-01-02 10:00:00,2\n3,2024-01-02 11:00:00,3\n4,2024-01-03 09:00:00,4\n";

#[test]
fn each_batch_reads_and_writes_its_day() {
    let p = project(THREE_DAYS);
    p.ok(&["seed"]);
    let err = p.ok(&common::run_window("2024-01-01", "2024-01-04"));
    assert!(err.contains("batch 3 of 3 (20240103)"), "{err}");
    assert_eq!(
        daily_rows(&p),
        vec![
            vec!["1", "20240101", "1"],
            vec!["2", "20240102", "2"],
            vec!["3", "20240102", "3"],
            vec!["4", "20240103", "4"],
        ]
    );
    // model.batch's times print as dbt's: in UTC, with the offset.
    assert_eq!(
        p.column("db.duckdb", "select batch_start from daily where id = 4"),
        vec!["2024-01-03 00:00:00+00:00"]
    );
    // A rerun of one day replaces that day only.
    p.write("seeds/events.csv", &THREE_DAYS.replace(",3\n", ",30\n"));
    p.ok(&["seed"]);
    p.ok(&common::run_window("2024-01-02", "2024-01-03"));
    assert_eq!(
        p.column("db.duckdb", "select amount from daily order by id"),
        vec!["1", "2", "30", "4"]
    );
    let results = run_results(&p);
    assert_eq!(
        results["results"][0]["batch_results"]["successful"],
        serde_json::json!([["2024-01-02 00:00:00", "2024-01-03 00:00:00"]])
    );
}

#[test]
fn a_failed_batch_leaves_the_others_committed() {
    // Day 2 holds a row the model cannot convert.
    let p = project(&THREE_DAYS.replace("2,2024-01-02 10:00:00,2", "2,2024-01-02 10:00:00,-2"));
    p.ok(&["seed"]);
    let (code, _, err) = p.run(&common::run_window("2024-01-01", "2024-01-04"));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("PARTIAL SUCCESS"), "{err}");
    assert!(err.contains("batch 20240102"), "{err}");
    assert_eq!(
        p.column("db.duckdb", "select id from daily order by id"),
        vec!["1", "4"]
    );
    let results = run_results(&p);
    let r = &results["results"][0];
    assert_eq!(r["status"], "partial success");
    assert_eq!(
        r["batch_results"]["failed"],
        serde_json::json!([["2024-01-02 00:00:00", "2024-01-03 00:00:00"]])
    );
    assert_eq!(
        r["batch_results"]["successful"].as_array().unwrap().len(),
        2
    );
}

/// `kiln retry` after a partial success rebuilds only the failed windows.
#[test]
fn retry_rebuilds_the_failed_batches() {
    let p = run_project(&[
        (
            "models/sources.yml",
            "version: 2\nsources:\n  - name: app\n    schema: main\n    config:\n      event_time: occurred_at\n    tables:\n      - name: events\n",
        ),
        ("models/daily.sql", &MODEL.replace("ref('events')", "source('app', 'events')")),
    ]);
    let load = |amount_day2: i32| {
        let conn = duckdb::Connection::open(p.dir.join("db.duckdb")).expect("db");
        conn.execute_batch(&format!(
            "create or replace table main.events as select * from (values \
             (1, timestamp '2024-01-01 10:00:00', 1), (2, timestamp '2024-01-02 10:00:00', {amount_day2}), \
             (3, timestamp '2024-01-03 09:00:00', 3)) t(id, occurred_at, amount)"
        ))
        .expect("events");
    };
    load(-2);
    let (code, _, err) = p.run(&common::run_window("2024-01-01", "2024-01-04"));
    assert_eq!(code, 1, "{err}");
    assert_eq!(
        p.column("db.duckdb", "select id from daily order by id"),
        vec!["1", "3"]
    );
    load(2);
    let err = p.ok(&["retry"]);
    assert!(err.contains("batch 1 of 1 (20240102)"), "{err}");
    assert_eq!(
        p.column("db.duckdb", "select id from daily order by id"),
        vec!["1", "2", "3"]
    );
}

/// `concurrent_batches: true`: after the first batch builds the table, the
/// others run side by side, each on a connection of its own; the rows are
/// those of batches run one by one, and a failed batch still leaves the
/// others committed.
#[test]
fn concurrent_batches_run_side_by_side() {
    let events = "id,occurred_at,amount\n1,2024-01-01 10:00:00,1\n2,2024-01-02 10:00:00,2\n3,2024-01-03 10:00:00,-3\n4,2024-01-04 10:00:00,4\n5,2024-01-05 10:00:00,5\n6,2024-01-06 10:00:00,6\n";
    let p = project(events);
    p.write(
        "models/daily.sql",
        &MODEL.replace(
            "begin='2024-01-01'",
            "begin='2024-01-01', concurrent_batches=true",
        ),
    );
    p.ok(&["seed"]);
    let (code, _, err) = p.run(
        &[
            &common::run_window("2024-01-01", "2024-01-07")[..],
            &["--threads", "3"],
        ]
        .concat(),
    );
    assert_eq!(code, 1, "the third day's batch fails: {err}");
    assert_eq!(
        daily_rows(&p),
        vec![
            vec!["1", "20240101", "1"],
            vec!["2", "20240102", "2"],
            vec!["4", "20240104", "4"],
            vec!["5", "20240105", "5"],
            vec!["6", "20240106", "6"],
        ]
    );
    let results = run_results(&p);
    assert_eq!(results["results"][0]["status"], "partial success");
    assert_eq!(
        results["results"][0]["batch_results"]["failed"],
        serde_json::json!([["2024-01-03 00:00:00", "2024-01-04 00:00:00"]])
    );
    // Run again with every day right: the batches, side by side, replace their days.
    p.write(
        "seeds/events.csv",
        &events.replace(",-3\n", ",3\n").replace(",5\n", ",50\n"),
    );
    p.ok(&["seed"]);
    p.ok(&[
        &common::run_window("2024-01-01", "2024-01-07")[..],
        &["--threads", "3"],
    ]
    .concat());
    assert_eq!(
        p.column("db.duckdb", "select amount from daily order by id"),
        vec!["1", "2", "3", "4", "50", "6"]
    );
}
