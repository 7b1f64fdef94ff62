//! `kiln snapshot`: type-2 history across many runs. The fixture project
//! tests/fixtures/snapshots goes through steps/N.csv (inserts, updates,
//! deletes, re-inserts, NULLs in checked columns, composite keys) and every
//! snapshot table must match what dbt writes on the same sequence
//! (tests/dbt_reference/snapshots.txt, made by refresh.sh).

mod common;

use std::collections::BTreeMap;

use common::{repo, Project};

/// The snapshot tables after each step, as "### step N" / "## schema.table" /
/// header / rows, in the reference file's format.
fn run_steps(p: &Project) -> String {
    run_steps_with(p, &mut || dump(p))
}

/// The steps, with `dump` describing the snapshot tables after each.
fn run_steps_with(p: &Project, dump: &mut dyn FnMut() -> String) -> String {
    let steps = repo().join("tests/fixtures/snapshots/steps");
    let mut names: Vec<String> = std::fs::read_dir(&steps)
        .expect("steps")
        .map(|e| e.expect("entry").file_name().to_string_lossy().to_string())
        .collect();
    names.sort_by_key(|n| n.trim_end_matches(".csv").parse::<u32>().unwrap_or(0));
    let mut out = String::new();
    for name in names {
        std::fs::copy(steps.join(&name), p.dir.join("seeds/customers.csv")).expect("copy step");
        for cmd in ["seed", "snapshot"] {
            let (code, _, err) = p.run(&[cmd]);
            assert_eq!(code, 0, "{cmd} at step {name}: {err}");
        }
        out.push_str(&format!("### step {}\n", name.trim_end_matches(".csv")));
        out.push_str(&dump());
    }
    out
}

fn dump(p: &Project) -> String {
    let mut out = String::new();
    let tables = p.query(
        "snaps.duckdb",
        "select table_schema, table_name from information_schema.tables where table_catalog = current_database() and table_schema != 'main' order by 1, 2",
    );
    for t in tables {
        out.push_str(&format!("## {}.{}\n", t[0], t[1]));
        let cols = p.column(
            "snaps.duckdb",
            &format!("select column_name from information_schema.columns where table_schema = '{}' and table_name = '{}' order by ordinal_position", t[0], t[1]),
        );
        out.push_str(&cols.join("|"));
        out.push('\n');
        for row in p.query(
            "snaps.duckdb",
            &format!(
                "select columns(*)::varchar from \"{}\".\"{}\" order by all",
                t[0], t[1]
            ),
        ) {
            out.push_str(&row.join("|"));
            out.push('\n');
        }
    }
    out
}

/// Parses a dump into (step, table) → (header, rows), with the times a run
/// took from the clock replaced by their order within the table (now#1,
/// now#2, ...) and, in check-strategy tables, ids hashed from those times
/// replaced by a placeholder: both differ between any two runs.
fn normalize(text: &str) -> BTreeMap<(String, String), (String, Vec<String>)> {
    let mut raw: BTreeMap<(String, String), (String, Vec<String>)> = BTreeMap::new();
    let (mut step, mut table) = (String::new(), String::new());
    let mut header_next = false;
    for line in text.lines() {
        if let Some(s) = line.strip_prefix("### step ") {
            step = s.to_string();
        } else if let Some(t) = line.strip_prefix("## ") {
            table = t.to_string();
            header_next = true;
        } else if header_next {
            raw.insert(
                (step.clone(), table.clone()),
                (line.to_string(), Vec::new()),
            );
            header_next = false;
        } else if let Some(e) = raw.get_mut(&(step.clone(), table.clone())) {
            e.1.push(line.to_string());
        }
    }
    // Clock times per table, across all steps.
    let mut clock: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for ((_, table), (_, rows)) in &raw {
        for row in rows {
            for v in row.split('|').filter(|v| is_clock_time(v)) {
                clock.entry(table.clone()).or_default().push(v.to_string());
            }
        }
    }
    for v in clock.values_mut() {
        v.sort();
        v.dedup();
    }
    let mut out = BTreeMap::new();
    for ((step, table), (header, rows)) in raw {
        let names: Vec<&str> = header.split('|').collect();
        let check = table.contains("check");
        let mut rows: Vec<String> = rows
            .iter()
            .map(|row| {
                row.split('|')
                    .zip(&names)
                    .map(|(v, name)| {
                        if is_clock_time(v) {
                            let k = clock[&table].iter().position(|c| c == v).unwrap_or(0);
                            format!("now#{}", k + 1)
                        } else if check && name.ends_with("scd_id") {
                            "<scd_id>".to_string()
                        } else {
                            v.to_string()
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("|")
            })
            .collect();
        rows.sort();
        out.insert((step, table), (header, rows));
    }
    out
}

/// The fixture's data is from 2024; anything later came from the clock.
fn is_clock_time(v: &str) -> bool {
    v.len() >= 19
        && v.as_bytes()[4] == b'-'
        && v[..4]
            .parse::<u32>()
            .is_ok_and(|y| (2025..9000).contains(&y))
}

#[test]
fn snapshot_history_matches_dbt_step_by_step() {
    let p = Project::fixture("snapshots");
    assert_matches_dbt(&run_steps(&p));
}

/// The same steps on PostgreSQL write the same history as dbt.
#[test]
fn snapshot_history_on_postgres_matches_dbt() {
    let Some(mut pg) = common::postgres::server("snaps") else {
        return;
    };
    pg.execute("drop schema if exists snapshots cascade");
    let p = Project::fixture("snapshots");
    p.write("profiles.yml", &pg.profiles(2).replace("proj:", "snaps:"));
    let schema = pg.schema.clone();
    let history = run_steps_with(&p, &mut || {
        let mut out = String::new();
        let tables = pg.rows(&format!(
            "select table_schema::text, table_name::text from information_schema.tables \
             where table_schema like '{schema}\\_%' or table_schema = 'snapshots' order by 1, 2"
        ));
        for t in tables {
            // The reference was built with DuckDB's target schema, `main`.
            let shown = t[0].replacen(&schema, "main", 1);
            out.push_str(&format!("## {shown}.{}\n", t[1]));
            let cols = pg.column(&format!(
                "select column_name::text from information_schema.columns where table_schema = '{}' and table_name = '{}' order by ordinal_position",
                t[0], t[1]
            ));
            out.push_str(&cols.join("|"));
            out.push('\n');
            let select: Vec<String> = cols.iter().map(|c| format!("\"{c}\"::text")).collect();
            for row in pg.rows(&format!(
                "select {} from \"{}\".\"{}\"",
                select.join(", "),
                t[0],
                t[1]
            )) {
                out.push_str(&row.join("|"));
                out.push('\n');
            }
        }
        out
    });
    pg.execute("drop schema if exists snapshots cascade");
    assert_matches_dbt(&history);
}

fn assert_matches_dbt(history: &str) {
    let ours = normalize(history);
    let theirs = normalize(
        &std::fs::read_to_string(repo().join("tests/dbt_reference/snapshots.txt"))
            .expect("reference"),
    );
    assert_eq!(
        ours.keys().collect::<Vec<_>>(),
        theirs.keys().collect::<Vec<_>>(),
        "kiln and dbt wrote different snapshot tables"
    );
    for (key, (header, rows)) in &theirs {
        let (our_header, our_rows) = &ours[key];
        assert_eq!(our_header, header, "columns of {} at step {}", key.1, key.0);
        // (In check tables ids are placeholders: they hash clock times, and
        // kiln gives a deletion record an id of its own where dbt reuses the
        // closed version's.)
        assert_eq!(our_rows, rows, "rows of {} at step {}", key.1, key.0);
    }
}

#[test]
fn every_version_has_its_own_scd_id() {
    let p = Project::fixture("snapshots");
    run_steps(&p);
    for table in [
        "history.customers_check_new_record",
        "history.customers_ts_invalidate",
        "snapshots.customers_ts",
    ] {
        let (schema, name) = table.split_once('.').unwrap();
        let schema = if schema == "history" {
            "main_history"
        } else {
            schema
        };
        let dupes = p.query(
            "snaps.duckdb",
            &format!(
                "select dbt_scd_id from \"{schema}\".\"{name}\" group by 1 having count(*) > 1"
            ),
        );
        assert!(dupes.is_empty(), "{table} repeats ids: {dupes:?}");
    }
}

#[test]
fn a_duplicate_key_stops_the_snapshot_and_keeps_history() {
    let p = Project::fixture("snapshots");
    let steps = repo().join("tests/fixtures/snapshots/steps");
    std::fs::copy(steps.join("1.csv"), p.dir.join("seeds/customers.csv")).unwrap();
    assert_eq!(p.run(&["seed"]).0, 0);
    assert_eq!(p.run(&["snapshot"]).0, 0);
    let before = dump(&p);
    let mut csv = std::fs::read_to_string(steps.join("2.csv")).unwrap();
    csv.push_str("5,eu,Eve again,active,5,2024-01-05 00:00:00\n");
    p.write("seeds/customers.csv", &csv);
    assert_eq!(p.run(&["seed"]).0, 0);
    let (code, _, err) = p.run(&["snapshot", "-s", "customers_ts"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("unique_key id is not unique in the snapshot's query, e.g. id=5 (2 rows)"),
        "{err}"
    );
    assert_eq!(dump(&p), before, "history must be untouched");
}

#[test]
fn snapshot_runs_inside_build_and_ls_lists_it() {
    let p = Project::fixture("snapshots");
    p.ok(&["build"]);
    assert_eq!(p.verdict("customers_ts").0, "success");
    let (_, out, _) = p.run(&["ls", "--resource-type", "snapshot", "--output", "name"]);
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        vec![
            "customers_check_composite",
            "customers_check_new_record",
            "customers_ts",
            "customers_ts_invalidate"
        ]
    );
}

/// A custom strategy, as dbt: `strategy: name` calls the project's
/// `snapshot_<name>_strategy` macro for what changed.
#[test]
fn a_custom_snapshot_strategy_decides_what_changed() {
    let p = common::run_project(&[
        ("seeds/people.csv", "id,name,visits\n1,Ann,1\n2,Bob,1\n"),
        (
            "macros/strategy.sql",
            "{% macro snapshot_name_only_strategy(node, snapshotted_rel, current_rel, model_config, target_exists) %}\n\
             {% set updated_at = snapshot_get_time() %}\n\
             {% do return({'unique_key': model_config.get('unique_key'), 'updated_at': updated_at,\n\
               'row_changed': '(' ~ snapshotted_rel ~ '.name != ' ~ current_rel ~ '.name)',\n\
               'scd_id': snapshot_hash_arguments([model_config.get('unique_key'), updated_at]),\n\
               'invalidate_hard_deletes': false}) %}\n\
             {% endmacro %}\n",
        ),
        (
            "snapshots/people_history.sql",
            "{% snapshot people_history %}\n{{ config(target_schema='snaps', unique_key='id', strategy='name_only') }}\nselect * from {{ ref('people') }}\n{% endsnapshot %}\n",
        ),
    ]);
    p.ok(&["seed"]);
    p.ok(&["snapshot"]);
    // Visits change (ignored by the strategy); a name changes (a new version).
    p.write("seeds/people.csv", "id,name,visits\n1,Ann,5\n2,Bobby,1\n");
    p.ok(&["seed"]);
    p.ok(&["snapshot"]);
    assert_eq!(
        p.query(
            "db.duckdb",
            "select id, name, dbt_valid_to is null from snaps.people_history order by id, dbt_valid_from"
        ),
        vec![
            vec!["1", "Ann", "true"],
            vec!["2", "Bob", "false"],
            vec!["2", "Bobby", "true"],
        ]
    );
}
