//! The PostgreSQL adapter against a real server (KILN_TEST_POSTGRES; .ci/run
//! starts one): each materialization, seeds, incremental strategies over two
//! runs, failures, parallel workers, and what a kill or Ctrl-C leaves behind.
//! Behaviour pinned here is dbt-postgres 1.11's.

mod common;

use std::time::{Duration, Instant};

use common::postgres::server;

#[test]
fn every_materialization_builds_and_rebuilds() {
    let Some(mut pg) = server("materializations") else {
        return;
    };
    let p = pg.project(&[
        (
            "dbt_project.yml",
            "name: proj\nprofile: proj\nconfig-version: 2\nseeds:\n  proj:\n    customers:\n      +column_types: {zip: varchar(5)}\n",
        ),
        // Leading zeros survive only through column_types.
        ("seeds/customers.csv", "id,name,zip,balance,joined\n1,Ann,00501,10.5,2024-01-02\n2,Bob,02134,3,2024-02-03\n3,Cy,,0.25,\n"),
        ("models/stg_customers.sql", "{{ config(materialized='ephemeral') }}\nselect id, upper(name) as name, zip, balance from {{ ref('customers') }}"),
        ("models/customer_table.sql", "{{ config(materialized='table', indexes=[{'columns': ['id'], 'unique': true}]) }}\nselect * from {{ ref('stg_customers') }}"),
        ("models/rich_customers.sql", "select id, name from {{ ref('customer_table') }} where balance > 1"),
        ("models/balances.sql", "{{ config(materialized='incremental', unique_key='id') }}\nselect id, balance from {{ ref('customers') }}"),
        ("models/schema.yml", "version: 2\nmodels:\n  - name: customer_table\n    columns:\n      - name: id\n        data_tests: [unique, not_null]\n"),
    ]);
    for _ in 0..2 {
        p.ok(&["build"]);
        assert_eq!(
            pg.relations(),
            vec![
                ("balances".to_string(), "r".to_string()),
                ("customer_table".into(), "r".into()),
                ("customers".into(), "r".into()),
                ("rich_customers".into(), "v".into()),
            ],
            "no intermediate or backup relation is left, and the ephemeral model is not built"
        );
        let s = &pg.schema.clone();
        assert_eq!(
            pg.rows(&format!(
                "select id, name, zip, balance from {s}.customer_table order by id"
            )),
            vec![
                vec!["1", "ANN", "00501", "10.5"],
                vec!["2", "BOB", "02134", "3"],
                vec!["3", "CY", "NULL", "0.25"],
            ]
        );
        assert_eq!(
            pg.column(&format!("select name from {s}.rich_customers order by id")),
            vec!["ANN", "BOB"]
        );
        assert_eq!(
            pg.column(&format!("select count(*) from {s}.balances")),
            vec!["3"]
        );
    }
    let s = pg.schema.clone();
    // dbt-postgres's seed types: integer, text, float8, date; column_types win.
    assert_eq!(
        pg.rows(&format!(
            "select column_name::text, data_type::text from information_schema.columns where table_schema = '{s}' and table_name = 'customers' order by ordinal_position"
        )),
        vec![
            vec!["id", "integer"],
            vec!["name", "text"],
            vec!["zip", "character varying"],
            vec!["balance", "double precision"],
            vec!["joined", "date"],
        ]
    );
    assert_eq!(
        pg.column(&format!(
            "select indexdef from pg_indexes where schemaname = '{s}' and tablename = 'customer_table'"
        ))
        .len(),
        1,
        "the unique index of `indexes:` exists on the swapped-in table"
    );
    assert_eq!(p.verdict("unique_customer_table_id").0, "pass");
}

#[test]
fn incremental_strategies_apply_the_second_run() {
    let Some(mut pg) = server("incremental") else {
        return;
    };
    let model = |strategy: &str, key: &str| {
        format!(
            "{{{{ config(materialized='incremental', incremental_strategy='{strategy}'{key}) }}}}\n\
             select id, part, amount from {{{{ ref('events') }}}}\n\
             {{% if is_incremental() %}} where amount > (select coalesce(max(amount), 0) from {{{{ this }}}}) - 5 {{% endif %}}"
        )
    };
    let (append, delete_insert, merge) = (
        model("append", ""),
        model("delete+insert", ", unique_key=['id', 'part']"),
        model("merge", ", unique_key=['id', 'part']"),
    );
    let p = pg.project(&[
        ("seeds/events.csv", "id,part,amount\n1,a,10\n2,a,20\n"),
        ("models/appended.sql", &append),
        ("models/deleted_inserted.sql", &delete_insert),
        ("models/merged.sql", &merge),
    ]);
    p.ok(&["build"]);
    // Row 2 changes, row 3 arrives.
    p.write(
        "seeds/events.csv",
        "id,part,amount\n1,a,10\n2,a,25\n3,b,30\n",
    );
    p.ok(&["build"]);
    let s = pg.schema.clone();
    let rows = |pg: &mut common::postgres::Pg, t: &str| {
        pg.rows(&format!(
            "select id, part, amount from {s}.{t} order by id, amount"
        ))
    };
    assert_eq!(
        rows(&mut pg, "appended"),
        vec![
            vec!["1", "a", "10"],
            vec!["2", "a", "20"],
            vec!["2", "a", "25"],
            vec!["3", "b", "30"],
        ]
    );
    let replaced = vec![
        vec!["1", "a", "10"],
        vec!["2", "a", "25"],
        vec!["3", "b", "30"],
    ];
    assert_eq!(rows(&mut pg, "deleted_inserted"), replaced);
    assert_eq!(rows(&mut pg, "merged"), replaced);
    // --full-refresh rebuilds from the input alone.
    p.ok(&["run", "-s", "appended", "--full-refresh"]);
    assert_eq!(rows(&mut pg, "appended"), replaced);

    // on_schema_change: sync_all_columns drops, adds and retypes columns.
    let evolving = |cols: &str| {
        format!("{{{{ config(materialized='incremental', unique_key='id', on_schema_change='sync_all_columns') }}}}\nselect {cols}")
    };
    p.write(
        "models/evolving.sql",
        &evolving("1 as id, 'x' as gone, 1 as n"),
    );
    p.ok(&["run", "-s", "evolving"]);
    p.write(
        "models/evolving.sql",
        &evolving("2 as id, 2.5 as n, 'new' as added"),
    );
    p.ok(&["run", "-s", "evolving"]);
    assert_eq!(
        pg.rows(&format!(
            "select column_name::text, data_type::text from information_schema.columns where table_schema = '{s}' and table_name = 'evolving' order by ordinal_position"
        )),
        vec![
            vec!["id", "integer"],
            vec!["n", "numeric"],
            vec!["added", "character varying"]
        ]
    );
    assert_eq!(
        pg.rows(&format!(
            "select id, n, added from {s}.evolving order by id"
        )),
        vec![vec!["1", "1", "NULL"], vec!["2", "2.5", "new"]]
    );
}

#[test]
fn a_failing_model_skips_its_children_and_shows_postgres_error() {
    let Some(pg) = server("failure") else {
        return;
    };
    let p = pg.project(&[
        ("models/ok.sql", "select 1 as id"),
        (
            "models/broken.sql",
            "select id,\n  no_such_column\nfrom {{ ref('ok') }}",
        ),
        ("models/child.sql", "select * from {{ ref('broken') }}"),
    ]);
    let (code, _, err) = p.run(&["run"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("column \"no_such_column\" does not exist"),
        "{err}"
    );
    assert!(
        err.contains("LINE"),
        "PostgreSQL's position is shown: {err}"
    );
    assert!(err.contains("models/broken.sql"), "{err}");
    assert_eq!(p.verdict("child").0, "skipped");
    assert_eq!(p.verdict("ok").0, "success");
}

#[test]
fn four_workers_each_use_their_own_connection() {
    let Some(mut pg) = server("threads") else {
        return;
    };
    let files: Vec<(String, String)> = (0..24)
        .map(|i| {
            (
                format!("models/m{i:02}.sql"),
                format!("{{{{ config(materialized='table') }}}}\nselect {i} as n, pg_backend_pid() as pid from (select pg_sleep(0.05)) s"),
            )
        })
        .collect();
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let p = pg.project(&refs);
    p.ok(&["run", "--threads", "4"]);
    let s = pg.schema.clone();
    let union: Vec<String> = (0..24)
        .map(|i| format!("select n, pid from {s}.m{i:02}"))
        .collect();
    let rows = pg.rows(&format!(
        "select count(*), count(distinct pid) from ({}) u",
        union.join(" union all ")
    ));
    assert_eq!(rows[0][0], "24");
    let connections: usize = rows[0][1].parse().unwrap();
    assert!(
        (2..=4).contains(&connections),
        "models ran on {connections} connections"
    );
}

/// Starts `kiln run` and returns once the server is executing the
/// statement that holds `marker`.
fn run_until_busy(
    pg: &mut common::postgres::Pg,
    p: &common::Project,
    marker: &str,
) -> std::process::Child {
    let child = common::kiln_std(&p.dir)
        .arg("run")
        .spawn()
        .expect("kiln starts");
    wait_for_statement(pg, marker);
    child
}

/// The statement of a run that is still executing on the server.
fn wait_for_statement(pg: &mut common::postgres::Pg, marker: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let n = pg.column(&format!(
            "select count(*) from pg_stat_activity where query like '%{marker}%' and pid <> pg_backend_pid() and state = 'active'"
        ));
        if n[0] != "0" {
            return;
        }
        assert!(Instant::now() < deadline, "the rebuild never started");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_killed_table_rebuild_leaves_the_old_table() {
    let Some(mut pg) = server("kill") else {
        return;
    };
    let p = pg.project(&[(
        "models/facts.sql",
        "{{ config(materialized='table') }}\nselect 1 as version",
    )]);
    p.ok(&["run"]);
    p.write(
        "models/facts.sql",
        "{{ config(materialized='table') }}\nselect 2 as version from (select pg_sleep(60) as kiln_kill_marker) s",
    );
    let mut child = run_until_busy(&mut pg, &p, "kiln_kill_marker");
    child.kill().expect("kill");
    let _ = child.wait();
    let s = pg.schema.clone();
    assert_eq!(
        pg.column(&format!("select version from {s}.facts")),
        vec!["1"]
    );
    pg.execute("select pg_terminate_backend(pid) from pg_stat_activity where query like '%kiln_kill_marker%' and pid <> pg_backend_pid()");
}

#[test]
fn ctrl_c_cancels_the_statement_in_flight() {
    let Some(mut pg) = server("cancel") else {
        return;
    };
    let p = pg.project(&[(
        "models/slow.sql",
        "{{ config(materialized='table') }}\nselect 1 as v from (select pg_sleep(60) as kiln_cancel_marker) s",
    )]);
    let mut child = run_until_busy(&mut pg, &p, "kiln_cancel_marker");
    let started = Instant::now();
    // SAFETY: signalling a child process this test owns.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().expect("kiln exits");
    assert!(!status.success());
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "kiln stopped waiting for the statement"
    );
    // PostgreSQL's cancel request stopped the statement on the server too.
    let still = pg.column(
        "select count(*) from pg_stat_activity where query like '%kiln_cancel_marker%' and pid <> pg_backend_pid() and state = 'active'",
    );
    assert_eq!(still, vec!["0"]);
    assert!(pg.relations().is_empty(), "nothing was built");
}

#[test]
fn a_wrong_password_names_the_server_and_never_the_password() {
    let Some(mut pg) = server("password") else {
        return;
    };
    pg.execute(
        "do $$ begin if not exists (select from pg_roles where rolname = 'kiln_password_user') then create role kiln_password_user login password 'the-right-one'; end if; end $$",
    );
    let profiles = pg
        .profiles(1)
        .replace(&format!("user: {}", pg.user), "user: kiln_password_user");
    let p = pg.project(&[
        ("profiles.yml", profiles.as_str()),
        ("models/m.sql", "select 1 as x"),
    ]);
    let out = p
        .kiln(&["run"])
        .env("KILN_TEST_PG_PASSWORD", "wrong-secret-4711")
        .output()
        .expect("kiln runs");
    let err = String::from_utf8_lossy(&out.stderr);
    if out.status.code() == Some(0) {
        // The server trusts this role (no password rule in its pg_hba.conf).
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI's server must check kiln_password_user's password"
        );
        eprintln!(
            "skipping the password check: this server does not ask kiln_password_user for one"
        );
        return;
    }
    assert_eq!(out.status.code(), Some(2), "{err}");
    let endpoint = format!("{}:{}/{}", pg.host, pg.port, pg.dbname);
    assert!(err.contains(&endpoint), "{err}");
    assert!(err.contains("kiln_password_user"), "{err}");
    assert!(err.contains("password authentication failed"), "{err}");
    assert!(err.contains("profiles.yml"), "{err}");
    assert!(!err.contains("wrong-secret-4711"), "{err}");
}

#[test]
fn debug_reports_the_server() {
    let Some(pg) = server("debug") else {
        return;
    };
    let p = pg.project(&[]);
    let (code, out, err) = p.run(&["debug"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(format!("{out}{err}").contains("PostgreSQL 1"), "{out}{err}");
}

#[test]
fn dbt_postgres_configs_apply() {
    let Some(mut pg) = server("configs") else {
        return;
    };
    pg.execute(
        "do $$ begin if not exists (select from pg_roles where rolname = 'kiln_reader') then create role kiln_reader; end if; \
         if not exists (select from pg_roles where rolname = 'kiln_writer') then create role kiln_writer; end if; end $$",
    );
    let long = "a_model_whose_name_is_long_enough_to_reach_postgres_limit_of_63";
    // A foreign key to another model's table (built first through the ref in a comment).
    let child_yaml = format!(
        "version: 2\nmodels:\n  - name: child\n    columns:\n      - name: id\n        data_type: integer\n      - name: contracted_id\n        data_type: integer\n        constraints:\n          - {{type: foreign_key, to: '{}.contracted', to_columns: [id]}}\n",
        pg.schema
    );
    let grants = "{{ config(materialized='incremental', unique_key='id', grants={'select': ['kiln_reader', 'kiln_writer']}) }}\nselect 1 as id";
    let p = pg.project(&[
        ("seeds/numbers.csv", "n\n1\n2\n"),
        ("models/granted.sql", grants),
        ("models/logless.sql", "{{ config(materialized='table', unlogged=true) }}\nselect 1 as id"),
        ("models/mv.sql", "{{ config(materialized='materialized_view') }}\nselect count(*) as n from {{ ref('numbers') }}"),
        (&format!("models/{long}.sql"), "{{ config(materialized='table') }}\nselect 1 as id"),
        ("models/documented.sql", "{{ config(materialized='table', persist_docs={'relation': true, 'columns': true}) }}\nselect 1 as id"),
        ("models/contracted.sql", "{{ config(materialized='table', contract={'enforced': true}) }}\nselect 1 as id, 'x'::varchar(3) as code"),
        ("models/child.sql", "{{ config(materialized='table', contract={'enforced': true}) }}\n-- {{ ref('contracted') }}\nselect 1 as id, 1 as contracted_id"),
        ("models/schema.yml", &child_yaml),
        ("models/more.yml", "version: 2\nmodels:\n  - name: documented\n    description: Documented in PostgreSQL\n    columns:\n      - name: id\n        description: The key\n  - name: contracted\n    columns:\n      - name: id\n        data_type: int\n        constraints: [{type: not_null}, {type: primary_key}]\n      - name: code\n        data_type: varchar(3)\n"),
    ]);
    for _ in 0..2 {
        p.ok(&["build"]);
    }
    let s = pg.schema.clone();
    let grantees = |pg: &mut common::postgres::Pg| {
        pg.column(&format!(
            "select grantee::text from information_schema.role_table_grants where table_schema = '{s}' and table_name = 'granted' and privilege_type = 'SELECT' and grantee like 'kiln\\_%' order by 1"
        ))
    };
    assert_eq!(grantees(&mut pg), vec!["kiln_reader", "kiln_writer"]);
    // A grantee taken out of the config loses the grant (the table stays).
    p.write("models/granted.sql", &grants.replace(", 'kiln_writer'", ""));
    p.ok(&["run", "-s", "granted"]);
    assert_eq!(grantees(&mut pg), vec!["kiln_reader"]);

    assert_eq!(
        pg.column(&format!("select relpersistence::text from pg_class c join pg_namespace n on n.oid = c.relnamespace where nspname = '{s}' and relname = 'logless'")),
        vec!["u"]
    );
    // The materialized view is refreshed by a later run.
    assert_eq!(pg.column(&format!("select n from {s}.mv")), vec!["2"]);
    p.write("seeds/numbers.csv", "n\n1\n2\n3\n");
    p.ok(&["build"]);
    assert_eq!(pg.column(&format!("select n from {s}.mv")), vec!["3"]);
    assert!(pg
        .relations()
        .contains(&("mv".to_string(), "m".to_string())));
    p.ok(&["run", "-s", "mv", "--full-refresh"]);
    assert_eq!(pg.column(&format!("select n from {s}.mv")), vec!["3"]);

    assert_eq!(pg.column(&format!("select id from {s}.{long}")), vec!["1"]);
    assert_eq!(
        pg.column(&format!(
            "select obj_description('{s}.documented'::regclass, 'pg_class')"
        )),
        vec!["Documented in PostgreSQL"]
    );
    assert_eq!(
        pg.column(&format!(
            "select col_description('{s}.documented'::regclass, 1)"
        )),
        vec!["The key"]
    );
    assert_eq!(
        pg.column(&format!(
            "select contype::text from pg_constraint where conrelid = '{s}.contracted'::regclass"
        )),
        vec!["p"]
    );
    assert_eq!(
        pg.column(&format!(
            "select contype::text from pg_constraint where conrelid = '{s}.child'::regclass"
        )),
        vec!["f"]
    );
    // A query that breaks the contract is refused before anything is built.
    p.write("models/contracted.sql", "{{ config(materialized='table', contract={'enforced': true}) }}\nselect 'one' as id, 'x'::varchar(3) as code");
    let (code, _, err) = p.run(&["run", "-s", "contracted"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("data type differs"), "{err}");
    assert_eq!(
        pg.column(&format!("select id from {s}.contracted")),
        vec!["1"]
    );
}

#[test]
fn connections_use_tls_as_sslmode_asks() {
    let Some(pg) = server("tls") else {
        return;
    };
    let Ok(ca) = std::env::var("KILN_TEST_POSTGRES_CA") else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI's server must offer TLS (KILN_TEST_POSTGRES_CA)"
        );
        eprintln!(
            "skipping the TLS checks: KILN_TEST_POSTGRES_CA is not set (no TLS on the server)"
        );
        return;
    };
    let query = "select ssl from pg_stat_ssl where pid = pg_backend_pid()";
    for (mode, root, encrypted) in [
        ("disable", "", "false"),
        ("require", "", "true"),
        ("verify-ca", ca.as_str(), "true"),
        ("verify-full", ca.as_str(), "true"),
    ] {
        let mut profiles = pg
            .profiles(1)
            .replace("threads: 1", &format!("threads: 1\n      sslmode: {mode}"));
        if !root.is_empty() {
            profiles.push_str(&format!("      sslrootcert: {root}\n"));
        }
        let p = pg.project(&[("profiles.yml", profiles.as_str())]);
        let (code, out, err) = p.run(&["show", "--inline", query, "--output", "json"]);
        assert_eq!(code, 0, "{mode}: {err}");
        assert!(out.contains(encrypted), "{mode}: {out}");
    }
    // verify-full checks the name: the certificate names 127.0.0.1, not localhost.
    let profiles = pg.profiles(1).replace(
        &format!("host: {}", pg.host),
        &format!("host: localhost\n      sslmode: verify-full\n      sslrootcert: {ca}"),
    );
    let p = pg.project(&[("profiles.yml", profiles.as_str())]);
    let (code, _, err) = p.run(&["show", "--inline", "select 1"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not valid for name"), "{err}");
}

#[test]
fn query_results_reach_templates_as_on_duckdb() {
    let Some(pg) = server("types") else {
        return;
    };
    let p = pg.project(&[(
        "macros/types.sql",
        "{% macro show_types() %}\n\
         {% set t = run_query(\"select 1.25::numeric(5,2) as n, 2::int as i, '2024-01-02 03:04:05+00'::timestamptz as ts, '{\\\"a\\\": 1}'::jsonb as j, array[1,2] as a, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid as u, true as b, null::int as z\") %}\n\
         {{ log(t.column_names | join(','), info=True) }}\n\
         {{ log('n*2=' ~ (t.rows[0]['n'] * 2) ~ ' i+1=' ~ (t.rows[0]['i'] + 1) ~ ' b=' ~ (t.rows[0]['b'] is true) ~ ' z=' ~ (t.rows[0]['z'] is none), info=True) }}\n\
         {{ log('ts=' ~ t.rows[0]['ts'] ~ ' j=' ~ t.rows[0]['j'] ~ ' a=' ~ t.rows[0]['a'] ~ ' u=' ~ t.rows[0]['u'], info=True) }}\n\
         {% endmacro %}",
    )]);
    let err = p.ok(&["run-operation", "show_types"]);
    assert!(err.contains("n,i,ts,j,a,u,b,z"), "{err}");
    assert!(err.contains("n*2=2.5 i+1=3 b=True z=True"), "{err}");
    assert!(
        err.contains(
            "ts=2024-01-02 03:04:05+00 j={\"a\": 1} a={1,2} u=a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
        ),
        "{err}"
    );
}

#[test]
fn unit_tests_run_on_the_server_in_its_sql() {
    let Some(pg) = server("unit") else {
        return;
    };
    // jsonb and its operators are PostgreSQL's own: the test must run there.
    let p = pg.project(&[
        ("models/events.sql", "select 1 as id, '{\"kind\": \"click\", \"amount\": \"2.50\"}'::text as payload"),
        ("models/kinds.sql", "select id, payload::jsonb ->> 'kind' as kind, (payload::jsonb ->> 'amount')::numeric as amount from {{ ref('events') }}"),
        ("models/unit.yml", "unit_tests:\n  - name: kinds_are_read\n    model: kinds\n    given:\n      - input: ref('events')\n        rows:\n          - {id: 1, payload: '{\"kind\": \"view\", \"amount\": \"3.0\"}'}\n          - {id: 2, payload: '{\"kind\": \"buy\", \"amount\": \"1\"}'}\n    expect:\n      rows:\n        - {id: 1, kind: view, amount: 3}\n        - {id: 2, kind: buy, amount: 1.00}\n  - name: a_wrong_expectation\n    model: kinds\n    given:\n      - input: ref('events')\n        rows:\n          - {id: 1, payload: '{\"kind\": \"view\", \"amount\": \"3\"}'}\n    expect:\n      rows:\n        - {id: 1, kind: click, amount: 3}\n"),
    ]);
    // dbt builds a unit test's parents first (they give the column types).
    p.ok(&["run"]);
    let (code, _, err) = p.run(&["test"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(p.verdict("kinds_are_read").0, "pass", "{err}");
    assert_eq!(
        p.verdict("a_wrong_expectation"),
        ("fail".to_string(), Some(2))
    );
    assert!(err.contains("- 1  | click"), "{err}");
    assert!(err.contains("+ 1  | view"), "{err}");
}

#[test]
fn docs_freshness_empty_clone_and_defer_work_on_postgres() {
    let Some(mut pg) = server("commands") else {
        return;
    };
    let s = pg.schema.clone();
    pg.execute(&format!(
        "create schema {s}_src; create table {s}_src.loads as select 1 as id, now() - interval '2 hours' as loaded_at"
    ));
    let sources = format!(
        "version: 2\nsources:\n  - name: app\n    schema: {s}_src\n    loaded_at_field: loaded_at\n    freshness:\n      warn_after: {{count: 1, period: hour}}\n      error_after: {{count: 1, period: day}}\n    tables:\n      - name: loads\n"
    );
    let p = pg.project(&[
        ("models/sources.yml", sources.as_str()),
        ("models/base.sql", "{{ config(materialized='table') }}\nselect b.id from {{ source('app', 'loads') }} as b"),
        ("models/top.sql", "select t.id * 10 as id from {{ ref('base') }} t"),
    ]);
    // --empty: a limited relation followed by the model's own alias.
    p.ok(&["build", "--empty"]);
    assert_eq!(
        pg.column(&format!("select count(*) from {s}.base")),
        vec!["0"]
    );
    p.ok(&["build"]);
    assert_eq!(pg.column(&format!("select id from {s}.top")), vec!["10"]);

    p.ok(&["docs", "generate"]);
    let catalog: serde_json::Value =
        serde_json::from_str(&p.read("target/catalog.json")).expect("catalog");
    let base = &catalog["nodes"]["model.proj.base"];
    assert_eq!(base["metadata"]["type"], "BASE TABLE");
    assert_eq!(base["columns"]["id"]["type"], "integer");
    assert_eq!(
        catalog["nodes"]["model.proj.top"]["metadata"]["type"],
        "VIEW"
    );

    // Two hours old: past warn_after, within error_after.
    let (code, _, err) = p.run(&["source", "freshness"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("WARN"), "{err}");

    // The build's manifest as state: clone into another schema, then defer.
    let state = p.dir.join("prod_state");
    common::copy_dir(&p.dir.join("target"), &state);
    let dev = p
        .read("profiles.yml")
        .replace(&format!("schema: {s}"), &format!("schema: {s}_dev"));
    p.write("profiles.yml", &dev);
    p.ok(&["clone", "--state", "prod_state", "-s", "base"]);
    assert_eq!(
        pg.column(&format!("select id from {s}_dev.base")),
        vec!["1"]
    );
    p.ok(&["run", "-s", "top", "--defer", "--state", "prod_state"]);
    assert_eq!(
        pg.column(&format!("select id from {s}_dev.top")),
        vec!["10"]
    );
    pg.drop_schemas();
}

#[test]
fn microbatch_models_build_batch_by_batch_on_postgres() {
    let Some(mut pg) = server("microbatch") else {
        return;
    };
    let p = pg.project(&[
        (
            "dbt_project.yml",
            "name: proj\nprofile: proj\nconfig-version: 2\nseeds:\n  proj:\n    events:\n      +event_time: occurred_at\n      +column_types: {occurred_at: timestamp}\n",
        ),
        ("seeds/events.csv", "id,occurred_at,amount\n1,2024-01-01 10:00:00,1\n2,2024-01-02 10:00:00,-2\n3,2024-01-03 09:00:00,3\n"),
        (
            "models/daily.sql",
            "{{ config(materialized='incremental', incremental_strategy='microbatch', event_time='occurred_at', batch_size='day', begin='2024-01-01') }}\n\
             select id, occurred_at, '{{ model.batch.id }}' as batch, cast(case when amount < 0 then 'no' else amount::text end as integer) as amount from {{ ref('events') }}",
        ),
    ]);
    p.ok(&["seed"]);
    let (code, _, err) = p.run(&common::run_window("2024-01-01", "2024-01-04"));
    assert_eq!(code, 1, "{err}");
    let s = pg.schema.clone();
    assert_eq!(
        pg.rows(&format!("select id, batch from {s}.daily order by id")),
        vec![vec!["1", "20240101"], vec!["3", "20240103"]]
    );
    p.write("seeds/events.csv", "id,occurred_at,amount\n1,2024-01-01 10:00:00,1\n2,2024-01-02 10:00:00,2\n3,2024-01-03 09:00:00,3\n");
    p.ok(&["seed"]);
    p.ok(&common::run_window("2024-01-01", "2024-01-04"));
    assert_eq!(
        pg.column(&format!("select id from {s}.daily order by id")),
        vec!["1", "2", "3"]
    );
}

/// PostgreSQL's quoted names differ by case: "Orders" and "orders" are two
/// relations, and rebuilding one leaves the other alone.
#[test]
fn names_that_differ_only_by_case_stay_apart() {
    let Some(mut pg) = server("case") else {
        return;
    };
    let p = pg.project(&[
        (
            "models/Orders.sql",
            "{{ config(materialized='table') }}\nselect 'upper' as v",
        ),
        (
            "models/orders_lower.sql",
            "{{ config(materialized='table', alias='orders') }}\nselect 'lower' as v",
        ),
    ]);
    for _ in 0..2 {
        p.ok(&["run"]);
    }
    let s = pg.schema.clone();
    assert_eq!(
        pg.column(&format!("select v from {s}.\"Orders\"")),
        vec!["upper"]
    );
    assert_eq!(
        pg.column(&format!("select v from {s}.orders")),
        vec!["lower"]
    );
}
