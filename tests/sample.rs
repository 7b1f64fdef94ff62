//! `--sample` (dbt 1.10): refs and sources whose config names an
//! `event_time` read only the rows of a window; others are read whole.

mod common;

use common::run_project;

fn project() -> common::Project {
    run_project(&[
        (
            "dbt_project.yml",
            "name: proj\nprofile: proj\nconfig-version: 2\nseeds:\n  proj:\n    days:\n      +event_time: day\n",
        ),
        ("seeds/days.csv", "day,n\n2024-07-01,1\n2024-07-02,2\n2024-07-03,3\n2024-07-04,4\n"),
        // One event 12 hours ago, then one a day earlier each.
        (
            "models/events.sql",
            "{{ config(materialized='table', event_time='at') }}\nselect i as id, now()::timestamp - (i * 24 + 12) * interval '1 hour' as at from range(6) t(i)",
        ),
        (
            "models/plain.sql",
            "{{ config(materialized='table') }}\nselect * from range(5) t(i)",
        ),
        (
            "models/counts.sql",
            "{{ config(materialized='table') }}\nselect (select count(*) from {{ ref('events') }} e) as events, \
             (select count(*) from {{ ref('plain') }}) as plain, (select sum(n) from {{ ref('days') }} as d) as days",
        ),
    ])
}

#[test]
fn sample_limits_what_refs_with_event_time_read() {
    let p = project();
    p.ok(&["build"]);
    assert_eq!(
        p.query("db.duckdb", "select events, plain, days from counts"),
        vec![vec!["6", "5", "10"]]
    );
    // The last 3 days hold 3 events; `plain` has no event_time.
    p.ok(&["run", "-s", "counts", "--sample", "3 days"]);
    assert_eq!(
        p.query("db.duckdb", "select events, plain from counts"),
        vec![vec!["3", "5"]]
    );
    // A window: July 2nd and 3rd (the end is left out).
    p.ok(&[
        "run",
        "-s",
        "counts",
        "--sample",
        "{'start': '2024-07-02', 'end': '2024-07-04'}",
    ]);
    assert_eq!(
        p.query("db.duckdb", "select events, days from counts"),
        vec![vec!["0", "5"]]
    );
    let compiled = p.read("target/compiled/proj/models/counts.sql");
    assert!(
        compiled.contains("\"day\" >= '2024-07-02 00:00:00' and \"day\" < '2024-07-04 00:00:00'"),
        "{compiled}"
    );
}

#[test]
fn a_bad_sample_is_a_clear_error() {
    let p = project();
    let (code, _, err) = p.run(&["run", "--sample", "3 weeks"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--sample '3 weeks'"), "{err}");
    assert!(err.contains("the unit must be"), "{err}");
}
