//! `kiln run` builds data: each materialization, hooks, custom schemas, a
//! failure skipping its children, --fail-fast, many threads. Assertions are
//! on the rows in the built relations and on run_results.json.

mod common;

use common::run_project;

#[test]
fn view_table_and_ephemeral_materializations() {
    let p = run_project(&[
        (
            "models/base.sql",
            "{{ config(materialized='ephemeral') }}\nselect 1 as id union all select 2",
        ),
        (
            "models/as_view.sql",
            "select id * 10 as v from {{ ref('base') }}",
        ),
        (
            "models/as_table.sql",
            "{{ config(materialized='table') }}\nselect sum(v) as total from {{ ref('as_view') }}",
        ),
    ]);
    p.ok(&["run"]);
    assert_eq!(
        p.column(
            "db.duckdb",
            "select table_type from information_schema.tables where table_name = 'as_view'"
        ),
        vec!["VIEW"]
    );
    assert_eq!(
        p.column(
            "db.duckdb",
            "select table_type from information_schema.tables where table_name = 'as_table'"
        ),
        vec!["BASE TABLE"]
    );
    assert_eq!(
        p.column("db.duckdb", "select total from main.as_table"),
        vec!["30"]
    );
    assert!(
        p.column(
            "db.duckdb",
            "select table_name from information_schema.tables where table_name = 'base'"
        )
        .is_empty(),
        "ephemeral models build nothing"
    );
    // Switching a view to a table replaces it.
    p.write(
        "models/as_view.sql",
        "{{ config(materialized='table') }}\nselect id * 100 as v from {{ ref('base') }}",
    );
    p.ok(&["run"]);
    assert_eq!(
        p.column(
            "db.duckdb",
            "select table_type from information_schema.tables where table_name = 'as_view'"
        ),
        vec!["BASE TABLE"]
    );
    assert_eq!(
        p.column("db.duckdb", "select total from main.as_table"),
        vec!["300"]
    );
}

#[test]
fn run_results_and_run_files_record_what_ran() {
    let p = run_project(&[(
        "models/t.sql",
        "{{ config(materialized='table') }}\nselect * from range(7) r(i)",
    )]);
    p.ok(&["run"]);
    let r: serde_json::Value =
        serde_json::from_str(&p.read("target/run_results.json")).expect("json");
    assert_eq!(
        r["metadata"]["dbt_schema_version"],
        "https://schemas.getdbt.com/dbt/run-results/v6.json"
    );
    let t = &r["results"][0];
    assert_eq!(t["unique_id"], "model.proj.t");
    assert_eq!(t["status"], "success");
    assert_eq!(t["adapter_response"]["rows_affected"], 7);
    assert_eq!(t["timing"][0]["name"], "compile");
    assert_eq!(r["args"]["which"], "run");
    assert!(p
        .read("target/run/proj/models/t.sql")
        .contains("create or replace table \"db\".\"main\".\"t\""));
    assert!(p.manifest()["nodes"]["model.proj.t"]["compiled_code"]
        .as_str()
        .unwrap()
        .contains("range(7)"));
}

#[test]
fn incremental_strategies_across_two_runs() {
    let src = "{{ config(materialized='table') }}\nselect * from (values (1, 'a', {{ var('b') }}), (2, 'b', {{ var('b') }}), ({{ var('b') + 2 }}, 'c', {{ var('b') }})) t(id, label, batch)";
    let p = run_project(&[
        ("models/src.sql", src),
        ("models/di.sql", "{{ config(materialized='incremental', unique_key='id') }}\nselect * from {{ ref('src') }}\n{% if is_incremental() %}where batch > (select max(batch) from {{ this }}){% endif %}"),
        ("models/app.sql", "{{ config(materialized='incremental', incremental_strategy='append') }}\nselect * from {{ ref('src') }}"),
        ("models/mrg.sql", "{{ config(materialized='incremental', incremental_strategy='merge', unique_key=['id', 'label']) }}\nselect * from {{ ref('src') }}"),
        ("models/pred.sql", "{{ config(materialized='incremental', unique_key='id', incremental_predicates=['dbt_internal_dest.id > 1']) }}\nselect * from {{ ref('src') }}"),
    ]);
    p.ok(&["run", "--vars", "{b: 1}"]);
    p.ok(&["run", "--vars", "{b: 2}"]);
    let rows = |t: &str| {
        p.query(
            "db.duckdb",
            &format!("select id, label, batch from main.{t} order by all"),
        )
        .iter()
        .map(|r| r.join("/"))
        .collect::<Vec<_>>()
    };
    // delete+insert replaces rows with the same key and adds new ones.
    assert_eq!(rows("di"), vec!["1/a/2", "2/b/2", "3/c/1", "4/c/2"]);
    assert_eq!(
        rows("app"),
        vec!["1/a/1", "1/a/2", "2/b/1", "2/b/2", "3/c/1", "4/c/2"]
    );
    assert_eq!(rows("mrg"), vec!["1/a/2", "2/b/2", "3/c/1", "4/c/2"]);
    // The predicate keeps id 1 out of the delete: both versions remain.
    assert_eq!(
        rows("pred"),
        vec!["1/a/1", "1/a/2", "2/b/2", "3/c/1", "4/c/2"]
    );
    // --full-refresh rebuilds from scratch.
    p.ok(&["run", "--vars", "{b: 3}", "--full-refresh", "-s", "+app"]);
    assert_eq!(rows("app"), vec!["1/a/3", "2/b/3", "5/c/3"]);
}

#[test]
fn on_schema_change_modes() {
    let model = "{{ config(materialized='incremental', on_schema_change=var('osc')) }}\nselect 1 as id{% if var('extra', false) %}, 'x' as extra{% endif %}";
    let p = run_project(&[("models/m.sql", model)]);
    p.ok(&["run", "--vars", "{osc: append_new_columns}"]);
    p.ok(&["run", "--vars", "{osc: append_new_columns, extra: true}"]);
    assert_eq!(p.column("db.duckdb", "select column_name from information_schema.columns where table_name = 'm' order by ordinal_position"), vec!["id", "extra"]);
    assert_eq!(
        p.column(
            "db.duckdb",
            "select coalesce(extra, 'NULL') from main.m order by 1"
        ),
        vec!["NULL", "x"]
    );
    let (code, _, err) = p.run(&["run", "--vars", "{osc: fail}"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("on_schema_change is 'fail'") && err.contains("missing: [extra]"),
        "{err}"
    );
    p.ok(&["run", "--vars", "{osc: sync_all_columns}"]);
    assert_eq!(
        p.column(
            "db.duckdb",
            "select column_name from information_schema.columns where table_name = 'm'"
        ),
        vec!["id"]
    );
    p.ok(&["run", "--vars", "{osc: ignore, extra: true}"]);
    assert_eq!(
        p.column(
            "db.duckdb",
            "select column_name from information_schema.columns where table_name = 'm'"
        ),
        vec!["id"]
    );
}

#[test]
fn hooks_run_in_order_and_on_run_end_sees_results() {
    let p = run_project(&[
        (
            "dbt_project.yml",
            "name: proj\nprofile: proj\nconfig-version: 2\non-run-start:\n  - create table if not exists audit (event varchar)\n  - insert into audit values ('start')\non-run-end:\n  - \"insert into audit select 'end ' || '{{ results | length }}'\"\nmodels:\n  proj:\n    +post-hook: \"insert into audit values ('post {{ this.name }}')\"\n",
        ),
        ("models/m.sql", "{{ config(pre_hook=\"insert into audit values ('pre {{ this.name }}')\") }}\nselect 1 as x"),
    ]);
    p.ok(&["run"]);
    assert_eq!(
        p.column("db.duckdb", "select event from audit"),
        vec!["start", "pre m", "post m", "end 3"]
    );
}

/// dbt 1.9+: a failed on-run-start hook is an error, and the nodes still
/// run unless `flags: {skip_nodes_if_on_run_start_fails: true}`.
#[test]
fn failing_on_run_start_skips_nodes_only_when_the_flag_says_so() {
    let project = "name: proj\nprofile: proj\nconfig-version: 2\non-run-start: \"select * from no_such_table\"\n";
    let p = run_project(&[
        ("dbt_project.yml", project),
        (
            "models/m.sql",
            "{{ config(materialized='table') }}\nselect 1 as x",
        ),
    ]);
    let built = |p: &common::Project| {
        !p.column(
            "db.duckdb",
            "select table_name from information_schema.tables where table_name = 'm'",
        )
        .is_empty()
    };
    let (code, _, err) = p.run(&["run"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("on-run-start hook proj.on-run-start.0 failed")
            && err.contains("no_such_table"),
        "{err}"
    );
    assert!(built(&p), "the model still runs: {err}");
    assert_eq!(p.verdict("m").0, "success");

    let p = run_project(&[
        (
            "dbt_project.yml",
            &format!("{project}flags:\n  skip_nodes_if_on_run_start_fails: true\n"),
        ),
        (
            "models/m.sql",
            "{{ config(materialized='table') }}\nselect 1 as x",
        ),
    ]);
    let (code, _, err) = p.run(&["run"]);
    assert_eq!(code, 1, "{err}");
    assert!(!built(&p), "{err}");
    assert_eq!(p.verdict("m").0, "skipped");
}

#[test]
fn custom_schemas_aliases_and_persisted_docs() {
    let p = run_project(&[
        ("dbt_project.yml", "name: proj\nprofile: proj\nconfig-version: 2\nmodels:\n  proj:\n    marts:\n      +schema: marts\n      +materialized: table\n      +persist_docs: {relation: true, columns: true}\n"),
        ("models/marts/rev.sql", "{{ config(alias='revenue') }}\nselect 1 as amount"),
        ("models/marts/schema.yml", "version: 2\nmodels:\n  - name: rev\n    description: Revenue per day.\n    columns:\n      - name: amount\n        description: In dollars.\n"),
    ]);
    p.ok(&["run"]);
    assert_eq!(
        p.column("db.duckdb", "select amount from main_marts.revenue"),
        vec!["1"]
    );
    assert_eq!(
        p.column(
            "db.duckdb",
            "select comment from duckdb_tables() where table_name = 'revenue'"
        ),
        vec!["Revenue per day."]
    );
    assert_eq!(
        p.column(
            "db.duckdb",
            "select comment from duckdb_columns() where table_name = 'revenue'"
        ),
        vec!["In dollars."]
    );
}

#[test]
fn a_failing_model_skips_its_children_and_the_run_goes_on() {
    let p = run_project(&[
        ("models/bad.sql", "select * from missing_table"),
        ("models/child.sql", "select * from {{ ref('bad') }}"),
        ("models/grandchild.sql", "select * from {{ ref('child') }}"),
        (
            "models/fine.sql",
            "{{ config(materialized='table') }}\nselect 1 as x",
        ),
    ]);
    let (code, _, err) = p.run(&["run"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("Error in model bad (models/bad.sql)") && err.contains("missing_table"),
        "{err}"
    );
    assert!(
        err.contains("compiled code at target/compiled/proj/models/bad.sql"),
        "{err}"
    );
    let r: serde_json::Value =
        serde_json::from_str(&p.read("target/run_results.json")).expect("json");
    let status = |id: &str| {
        r["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["unique_id"] == id)
            .map(|x| x["status"].as_str().unwrap().to_string())
            .unwrap()
    };
    assert_eq!(status("model.proj.bad"), "error");
    assert_eq!(status("model.proj.child"), "skipped");
    assert_eq!(status("model.proj.grandchild"), "skipped");
    assert_eq!(status("model.proj.fine"), "success");
    assert_eq!(p.column("db.duckdb", "select x from main.fine"), vec!["1"]);
}

#[test]
fn fail_fast_starts_nothing_after_the_first_failure() {
    let mut files = vec![(
        "models/bad.sql".to_string(),
        "select * from missing_table".to_string(),
    )];
    for i in 0..20 {
        files.push((
            format!("models/m{i}.sql"),
            format!(
                "{{{{ config(materialized='table') }}}}\nselect {i} as x from {{{{ ref('bad') }}}}"
            ),
        ));
    }
    files.push(("models/slow.sql".into(), "{{ config(materialized='table') }}\nselect count(*) as n from range(3000000) a, range(10) b".into()));
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let p = run_project(&refs);
    let (code, _, _) = p.run(&["run", "--fail-fast", "--threads", "1"]);
    assert_eq!(code, 1);
    let r: serde_json::Value =
        serde_json::from_str(&p.read("target/run_results.json")).expect("json");
    let results = r["results"].as_array().unwrap();
    assert_eq!(results.len(), 22, "every node has a result");
    assert_eq!(results.iter().filter(|x| x["status"] == "error").count(), 1);
    assert_eq!(
        results.iter().filter(|x| x["status"] == "skipped").count(),
        21
    );
}

#[test]
fn many_independent_models_on_eight_threads() {
    let files: Vec<(String, String)> = (0..40)
        .map(|i| (format!("models/m{i}.sql"), format!("{{{{ config(materialized='{}') }}}}\nselect {i} as x, count(*) as n from range(1000)", if i % 2 == 0 { "table" } else { "view" })))
        .collect();
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let p = run_project(&refs);
    p.ok(&["run", "--threads", "8"]);
    p.ok(&["run", "--threads", "8"]);
    assert_eq!(
        p.column(
            "db.duckdb",
            "select count(*) from information_schema.tables where table_schema = 'main'"
        ),
        vec!["40"]
    );
    assert_eq!(p.column("db.duckdb", "select x from main.m39"), vec!["39"]);
}

#[test]
fn custom_materializations_from_the_project() {
    let p = run_project(&[
        (
            "macros/snapshot_table.sql",
            "{% materialization copy_table, default %}\n  {%- set target = this.incorporate(type='table') -%}\n  {% call statement('main') %}create or replace table {{ target }} as select *, 'custom' as made_by from ({{ sql }}){% endcall %}\n  {{ adapter.commit() }}\n  {{ return({'relations': [target]}) }}\n{% endmaterialization %}\n",
        ),
        ("models/m.sql", "{{ config(materialized='copy_table') }}\nselect 1 as id"),
    ]);
    p.ok(&["run"]);
    assert_eq!(
        p.query("db.duckdb", "select id, made_by from main.m"),
        vec![vec!["1".to_string(), "custom".to_string()]]
    );
    p.write(
        "models/m.sql",
        "{{ config(materialized='no_such_thing') }}\nselect 1 as id",
    );
    let (code, _, err) = p.run(&["run"]);
    assert_eq!(code, 1);
    assert!(err.contains("no materialization 'no_such_thing'"), "{err}");
}

#[test]
fn grants_are_ignored_with_a_warning() {
    let p = run_project(&[(
        "models/m.sql",
        "{{ config(materialized='table', grants={'select': ['analyst']}) }}\nselect 1 as id",
    )]);
    let err = p.ok(&["run"]);
    assert!(
        err.contains("grants on") && err.contains("DuckDB has no grants"),
        "{err}"
    );
}

#[test]
fn run_introspects_the_database_in_templates() {
    let p = run_project(&[
        ("models/a.sql", "{{ config(materialized='table') }}\nselect 1 as id, 'x' as label"),
        (
            "models/b.sql",
            "{%- set cols = adapter.get_columns_in_relation(ref('a')) -%}\n{%- set rows = run_query('select count(*) as n from ' ~ ref('a')) -%}\nselect '{{ cols | map(attribute=\"name\") | join(\",\") }}' as cols, {{ rows.columns[0].values()[0] if execute else 0 }} as n, {{ rows.rows[0]['n'] if execute else 0 }} as n2, {{ 'true' if adapter.get_relation(this.database, 'main', 'a') else 'false' }} as a_exists",
        ),
    ]);
    p.ok(&["run"]);
    assert_eq!(
        p.query("db.duckdb", "select cols, n, n2, a_exists from main.b"),
        vec![vec![
            "id,label".to_string(),
            "1".to_string(),
            "1".to_string(),
            "true".to_string()
        ]]
    );
}

/// dbt's --empty: refs and sources read no rows, so the SQL runs on
/// empty inputs; aliases after a ref still parse.
#[test]
fn empty_runs_build_every_model_with_no_rows() {
    let p = run_project(&[
        ("seeds/people.csv", "id,name\n1,a\n2,b\n"),
        ("models/base.sql", "{{ config(materialized='table') }} select * from {{ ref('people') }}"),
        ("models/joined.sql", "{{ config(materialized='table') }} select p.id, b.name from {{ ref('people') }} as p join {{ ref('base') }} b using (id)"),
    ]);
    p.ok(&["build", "--empty"]);
    assert_eq!(
        p.column("db.duckdb", "select count(*)::varchar from people"),
        vec!["2"],
        "seeds still load"
    );
    assert_eq!(
        p.column("db.duckdb", "select count(*)::varchar from base"),
        vec!["0"]
    );
    assert_eq!(
        p.column("db.duckdb", "select count(*)::varchar from joined"),
        vec!["0"]
    );
    let sql = p.read("target/run/proj/models/joined.sql");
    assert!(sql.contains("where false limit 0) as p"), "{sql}");
    let (code, _, _) = p.run(&["build"]);
    assert_eq!(code, 0);
    assert_eq!(
        p.column("db.duckdb", "select count(*)::varchar from joined"),
        vec!["2"],
        "a normal build reads the data"
    );
}

/// --log-format json: one event per line, with the names and fields the
/// README documents.
#[test]
fn json_log_events_have_stable_names_and_fields() {
    let p = run_project(&[
        ("models/good.sql", "select 1 as id"),
        ("models/bad.sql", "select nope from {{ ref('good') }}"),
    ]);
    let (code, _, err) = p.run(&["run", "--log-format", "json"]);
    assert_eq!(code, 1);
    let events: Vec<serde_json::Value> = err
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect();
    let named = |name: &str| {
        events
            .iter()
            .filter(|e| e["event"] == name)
            .collect::<Vec<_>>()
    };
    assert_eq!(named("node_started").len(), 2);
    let finished = named("node_finished");
    let bad = finished
        .iter()
        .find(|e| e["name"] == "bad")
        .expect("bad finished");
    assert_eq!(bad["status"], "error");
    assert_eq!(bad["level"], "error");
    assert_eq!(bad["unique_id"], "model.proj.bad");
    let good = finished
        .iter()
        .find(|e| e["name"] == "good")
        .expect("good finished");
    assert_eq!(good["status"], "success");
    for key in [
        "ts",
        "msg",
        "resource_type",
        "execution_time",
        "index",
        "total",
        "rows_affected",
    ] {
        assert!(good.get(key).is_some(), "node_finished lacks {key}: {good}");
    }
    assert_eq!(named("node_failure")[0]["unique_id"], "model.proj.bad");
    let done = named("run_finished");
    assert_eq!(
        (
            done[0]["pass"].as_u64(),
            done[0]["error"].as_u64(),
            done[0]["total"].as_u64()
        ),
        (Some(1), Some(1), Some(2))
    );
}
