//! The Spark adapter against a real Spark Connect server (KILN_TEST_SPARK;
//! .ci/run starts one): views, parquet tables (partitioned too), seeds,
//! append and insert_overwrite incrementals over two runs, tests, failures,
//! two workers, docs and freshness. Behaviour pinned here is dbt-spark 1.11's.

mod common;

use common::spark::server;

#[test]
fn views_tables_seeds_and_tests_build_and_rebuild() {
    let Some(mut spark) = server("materializations") else {
        return;
    };
    let p = spark.project(&[
        (
            "dbt_project.yml",
            "name: proj\nprofile: proj\nconfig-version: 2\nseeds:\n  proj:\n    customers:\n      +column_types: {zip: string, balance: 'decimal(10,2)'}\n",
        ),
        // Leading zeros survive only through column_types.
        ("seeds/customers.csv", "id,name,zip,balance,joined,note\n1,Ann,00501,10.5,2024-01-02,it's\n2,Bob,02134,3,2024-02-03,\"a, b\"\n3,Cy,,0.25,,\n"),
        ("models/stg_customers.sql", "{{ config(materialized='ephemeral') }}\nselect id, upper(name) as name, zip, balance, joined from {{ ref('customers') }}"),
        ("models/customer_table.sql", "{{ config(materialized='table') }}\nselect * from {{ ref('stg_customers') }}"),
        ("models/by_year.sql", "{{ config(materialized='table', file_format='parquet', partition_by=['joined_year']) }}\nselect id, name, coalesce(year(joined), 0) as joined_year from {{ ref('customer_table') }}"),
        ("models/rich_customers.sql", "select id, name from {{ ref('customer_table') }} where balance > 1"),
        ("models/schema.yml", "version: 2\nmodels:\n  - name: customer_table\n    columns:\n      - name: id\n        data_tests: [unique, not_null]\n      - name: zip\n        data_tests: [not_null]\n"),
    ]);
    for _ in 0..2 {
        p.ok(&["seed"]);
        p.ok(&["run"]);
        let (code, _, err) = p.run(&["test"]);
        assert_eq!(code, 1, "the not_null test on zip fails: {err}");
        let s = spark.schema.clone();
        assert_eq!(
            spark.relations(&s),
            vec![
                ("by_year".to_string(), "table".to_string()),
                ("customer_table".into(), "table".into()),
                ("customers".into(), "table".into()),
                ("rich_customers".into(), "view".into()),
            ],
            "no intermediate relation or temporary view is left, and the ephemeral model is not built"
        );
        assert_eq!(
            spark.rows(&format!(
                "select id, name, zip, balance, joined from {s}.customer_table order by id"
            )),
            vec![
                vec!["1", "ANN", "00501", "10.50", "2024-01-02"],
                vec!["2", "BOB", "02134", "3.00", "2024-02-03"],
                vec!["3", "CY", "NULL", "0.25", "NULL"],
            ]
        );
        assert_eq!(
            spark.column(&format!("select note from {s}.customers order by id")),
            vec!["it's", "a, b", "NULL"]
        );
        assert_eq!(
            spark.column(&format!("select name from {s}.rich_customers order by id")),
            vec!["ANN", "BOB"]
        );
        assert_eq!(
            spark.column(&format!("select joined_year from {s}.by_year order by id")),
            vec!["2024", "2024", "0"]
        );
        assert_eq!(p.verdict("unique_customer_table_id").0, "pass");
        assert_eq!(p.verdict("not_null_customer_table_id").0, "pass");
        assert_eq!(
            p.verdict("not_null_customer_table_zip"),
            ("fail".to_string(), Some(1))
        );
    }
    let s = spark.schema.clone();
    // dbt-spark's seed types: bigint, string, date; column_types win.
    let types: Vec<Vec<String>> = spark
        .rows(&format!("describe table {s}.customers"))
        .into_iter()
        .map(|r| r[..2].to_vec())
        .collect();
    assert_eq!(
        types,
        vec![
            vec!["id", "bigint"],
            vec!["name", "string"],
            vec!["zip", "string"],
            vec!["balance", "decimal(10,2)"],
            vec!["joined", "date"],
            vec!["note", "string"],
        ]
    );
    let partitions = spark.column(&format!("show partitions {s}.by_year"));
    assert_eq!(partitions, vec!["joined_year=0", "joined_year=2024"]);
}

#[test]
fn append_and_insert_overwrite_apply_the_second_run() {
    let Some(mut spark) = server("incremental") else {
        return;
    };
    let model = |config: &str| {
        format!(
            "{{{{ config(materialized='incremental', {config}) }}}}\n\
             select id, part, amount from {{{{ ref('events') }}}}\n\
             {{% if is_incremental() %}} where amount > (select coalesce(max(amount), 0) from {{{{ this }}}}) - 5 {{% endif %}}"
        )
    };
    let appended = model("incremental_strategy='append'");
    let overwritten = model("incremental_strategy='insert_overwrite', partition_by=['part']");
    // Without partition_by the whole table is overwritten; a model that
    // reads its own table there would read files Spark is deleting.
    let whole =
        "{{ config(materialized='incremental', incremental_strategy='insert_overwrite') }}\n\
                 select id, part, amount from {{ ref('events') }}\n\
                 {% if is_incremental() %} where amount > 15 {% endif %}"
            .to_string();
    let p = spark.project(&[
        (
            "seeds/events.csv",
            "id,part,amount\n1,a,10\n2,a,20\n4,c,1\n",
        ),
        ("models/appended.sql", &appended),
        ("models/overwritten.sql", &overwritten),
        ("models/overwritten_whole.sql", &whole),
    ]);
    p.ok(&["build"]);
    // Row 2 changes, row 3 arrives.
    p.write(
        "seeds/events.csv",
        "id,part,amount\n1,a,10\n2,a,25\n3,b,30\n4,c,1\n",
    );
    p.ok(&["build"]);
    let s = spark.schema.clone();
    let mut rows = |t: &str| {
        spark.rows(&format!(
            "select id, part, amount from {s}.{t} order by id, amount"
        ))
    };
    let r = |v: &[(&str, &str, &str)]| -> Vec<Vec<String>> {
        v.iter()
            .map(|(a, b, c)| vec![a.to_string(), b.to_string(), c.to_string()])
            .collect()
    };
    // append: rows with amount > 20 - 5 arrive again, beside the old ones.
    assert_eq!(
        rows("appended"),
        r(&[
            ("1", "a", "10"),
            ("2", "a", "20"),
            ("2", "a", "25"),
            ("3", "b", "30"),
            ("4", "c", "1")
        ])
    );
    // insert_overwrite by partition: partitions a and b are replaced by the
    // new rows; partition c, absent from them, stays.
    assert_eq!(
        rows("overwritten"),
        r(&[("2", "a", "25"), ("3", "b", "30"), ("4", "c", "1")])
    );
    // insert_overwrite without partition_by replaces the whole table.
    assert_eq!(
        rows("overwritten_whole"),
        r(&[("2", "a", "25"), ("3", "b", "30")])
    );
    p.ok(&["run", "--full-refresh", "-s", "overwritten_whole"]);
    assert_eq!(
        rows("overwritten_whole"),
        r(&[
            ("1", "a", "10"),
            ("2", "a", "25"),
            ("3", "b", "30"),
            ("4", "c", "1")
        ])
    );
}

#[test]
fn merge_and_snapshots_need_a_table_format_that_merges() {
    let Some(spark) = server("formats") else {
        return;
    };
    let p = spark.project(&[
        ("models/merged.sql", "{{ config(materialized='incremental', incremental_strategy='merge', unique_key='id') }}\nselect 1 as id"),
        ("snapshots/snap.sql", "{% snapshot snap %}{{ config(unique_key='id', strategy='check', check_cols='all', target_schema=target.schema) }}select 1 as id{% endsnapshot %}"),
    ]);
    let (code, _, err) = p.run(&["build"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("You can only choose this strategy when file_format is set to 'delta' or 'iceberg' or 'hudi'"),
        "{err}"
    );
    assert!(
        err.contains(
            "Snapshot functionality requires file_format be set to 'delta' or 'iceberg' or 'hudi'"
        ),
        "{err}"
    );
}

#[test]
fn a_failing_model_names_sparks_error_and_skips_its_children() {
    let Some(spark) = server("failures") else {
        return;
    };
    let p = spark.project(&[
        ("models/good.sql", "select 1 as id"),
        (
            "models/bad.sql",
            "select\n  id,\n  nope\nfrom {{ ref('good') }}",
        ),
        ("models/child.sql", "select * from {{ ref('bad') }}"),
    ]);
    let (code, _, err) = p.run(&["run"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("UNRESOLVED_COLUMN"),
        "Spark's error class: {err}"
    );
    assert!(
        err.contains("target/compiled/proj/models/bad.sql:3"),
        "the compiled file and line of `nope`: {err}"
    );
    assert_eq!(p.verdict("good").0, "success");
    assert_eq!(p.verdict("bad").0, "error");
    assert_eq!(p.verdict("child").0, "skipped");
}

#[test]
fn two_workers_each_have_their_own_session() {
    let Some(mut spark) = server("threads") else {
        return;
    };
    // Every model appends a `+` to a session variable and records it: the
    // count of `+` is how many models its session has run. Two workers
    // mean exactly two sessions, each counting from one.
    let mut files: Vec<(String, String)> = Vec::new();
    for i in 0..8 {
        files.push((
            format!("models/m{i}.sql"),
            format!(
                "{{{{ config(materialized='table', pre_hook=\"set kiln.test.runs = ${{kiln.test.runs}}+\") }}}}\nselect '${{kiln.test.runs}}' as runs, {i} as n"
            ),
        ));
    }
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let p = spark.project(&refs);
    p.ok(&["run", "--threads", "2"]);
    let s = spark.schema.clone();
    let mut counts: Vec<usize> = (0..8)
        .map(|i| {
            spark.column(&format!("select runs from {s}.m{i}"))[0]
                .matches('+')
                .count()
        })
        .collect();
    counts.sort();
    assert_eq!(
        counts.iter().filter(|&&c| c == 1).count(),
        2,
        "two sessions, each starting afresh: {counts:?}"
    );
}

#[test]
fn docs_freshness_show_and_operations_work_on_spark() {
    let Some(mut spark) = server("docs") else {
        return;
    };
    let s = spark.schema.clone();
    spark.execute(&format!("create schema if not exists {s}_raw"));
    spark.execute(&format!(
        "create table {s}_raw.orders using parquet as select 1 as id, current_timestamp() as loaded_at"
    ));
    let sources = format!(
        "version: 2\nsources:\n  - name: raw\n    schema: {s}_raw\n    loaded_at_field: loaded_at\n    freshness:\n      warn_after: {{count: 1, period: hour}}\n    tables:\n      - name: orders\n"
    );
    let p = spark.project(&[
        ("models/sources.yml", &sources),
        ("models/orders.sql", "{{ config(materialized='table') }}\nselect id, cast(loaded_at as date) as day from {{ source('raw', 'orders') }}"),
        ("macros/count_orders.sql", "{% macro count_orders() %}{% set t = run_query('select count(*) as n from ' ~ ref('orders')) %}{{ log('orders: ' ~ t.columns[0].values()[0], info=True) }}{% endmacro %}"),
    ]);
    p.ok(&["run"]);
    p.ok(&["docs", "generate"]);
    let catalog: serde_json::Value = serde_json::from_str(&p.read("target/catalog.json")).unwrap();
    let columns = &catalog["nodes"]["model.proj.orders"]["columns"];
    assert_eq!(columns["id"]["type"], "int", "{catalog}");
    assert_eq!(columns["day"]["type"], "date", "{catalog}");
    assert_eq!(
        catalog["sources"]["source.proj.raw.orders"]["metadata"]["type"],
        "BASE TABLE"
    );
    p.ok(&["source", "freshness"]);
    let results: serde_json::Value = serde_json::from_str(&p.read("target/sources.json")).unwrap();
    assert_eq!(results["results"][0]["status"], "pass", "{results}");
    let (code, shown, err) = p.run(&[
        "show",
        "--inline",
        "select id + 41 as answer from {{ ref('orders') }}",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(shown.contains("42"), "{shown}");
    let (code, out, err) = p.run(&["run-operation", "count_orders"]);
    assert_eq!(code, 0, "{err}");
    assert!(format!("{out}{err}").contains("orders: 1"), "{out}{err}");
}

#[test]
fn an_unreachable_server_is_named_with_exit_code_2() {
    // A port nothing listens on (bound, then released).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let p = common::Project::with_files(&[(
        "profiles.yml",
        &format!("proj:\n  target: dev\n  outputs:\n    dev:\n      type: spark\n      method: connect\n      host: 127.0.0.1\n      port: {port}\n      schema: s\n"),
    ), ("models/a.sql", "select 1 as id")]);
    let (code, _, err) = p.run(&["run"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(&format!(
            "could not reach the Spark Connect server at 127.0.0.1:{port}"
        )),
        "{err}"
    );
    assert!(err.contains("profiles.yml"), "{err}");
}

#[test]
fn unit_tests_and_contracts_run_in_sparks_types() {
    let Some(mut spark) = server("units") else {
        return;
    };
    let p = spark.project(&[
        ("seeds/prices.csv", "id,price\n1,2.5\n2,4\n"),
        ("models/doubled.sql", "{{ config(materialized='table', contract={'enforced': true}) }}\nselect cast(id as int) as id, cast(price * 2 as decimal(10,2)) as doubled, array(id, id) as ids from {{ ref('prices') }}"),
        ("models/schema.yml", "version: 2\nmodels:\n  - name: doubled\n    columns:\n      - name: id\n        data_type: int\n      - name: doubled\n        data_type: decimal(10,2)\n      - name: ids\n        data_type: array<bigint>\nunit_tests:\n  - name: doubles_prices\n    model: doubled\n    given:\n      - input: ref('prices')\n        rows:\n          - {id: 1, price: 1.25}\n    expect:\n      rows:\n        - {id: 1, doubled: 2.5}\n  - name: expects_wrong_rows\n    model: doubled\n    given:\n      - input: ref('prices')\n        rows:\n          - {id: 1, price: 1}\n    expect:\n      rows:\n        - {id: 1, doubled: 3}\n"),
    ]);
    p.ok(&["seed"]);
    p.ok(&["run"]);
    let (code, _, err) = p.run(&["test"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(p.verdict("doubles_prices").0, "pass");
    assert_eq!(p.verdict("expects_wrong_rows").0, "fail");
    let s = spark.schema.clone();
    assert_eq!(
        spark.rows(&format!(
            "select id, doubled, ids from {s}.doubled order by id"
        )),
        vec![vec!["1", "5.00", "[1, 1]"], vec!["2", "8.00", "[2, 2]"]]
    );
    // A declared type the query does not return stops the model.
    p.write("models/schema.yml", "version: 2\nmodels:\n  - name: doubled\n    columns:\n      - name: id\n        data_type: string\n      - name: doubled\n        data_type: decimal(10,2)\n      - name: ids\n        data_type: array<bigint>\n");
    let (code, _, err) = p.run(&["run", "-s", "doubled"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("id") && err.contains("string"), "{err}");
}

#[test]
fn ctrl_c_interrupts_the_operation_in_flight() {
    let Some(mut spark) = server("cancel") else {
        return;
    };
    let p = spark.project(&[(
        "models/slow.sql",
        "{{ config(materialized='table') }}\nselect count(*) as n from range(0, 100000000000, 1, 2)",
    )]);
    let mut child = common::kiln_std(&p.dir)
        .arg("run")
        .spawn()
        .expect("kiln starts");
    // The session opens and the job starts within a few seconds.
    std::thread::sleep(std::time::Duration::from_secs(6));
    let started = std::time::Instant::now();
    // SAFETY: signalling a child process this test owns.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().expect("kiln exits");
    assert!(!status.success());
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "kiln stopped waiting for the job"
    );
    let s = spark.schema.clone();
    assert!(spark.relations(&s).is_empty(), "nothing was built");
}

/// merge needs delta, iceberg or hudi, whose jars no reachable registry has
/// here: the SQL kiln sends for it is pinned instead (rendered through
/// run-operation, on the real server's adapter).
#[test]
fn merge_sql_for_delta_tables_is_dbt_sparks() {
    let Some(spark) = server("merge_sql") else {
        return;
    };
    let p = spark.project(&[(
        "macros/render.sql",
        "{% macro render_merge(update_columns=none) %}\n\
         {%- set target = api.Relation.create(schema='analytics', identifier='orders', type='table') -%}\n\
         {%- set temp = api.Relation.create(identifier='orders__dbt_tmp', type='view').include(schema=false) -%}\n\
         {%- set cols = [api.Column('id', 'int'), api.Column('day', 'date'), api.Column('amount', 'decimal(10,2)')] -%}\n\
         {{ print(spark__get_incremental_merge_sql({'target_relation': target, 'temp_relation': temp, 'unique_key': ['id', 'day'], 'dest_columns': cols, 'incremental_predicates': ['DBT_INTERNAL_DEST.day > date\\'2024-01-01\\'']})) }}\n\
         {{ print('----') }}\n\
         {{ print(spark__snapshot_merge_sql(target, temp, ['id', 'amount', 'dbt_scd_id', 'dbt_valid_from', 'dbt_valid_to'])) }}\n\
         {% endmacro %}",
    )]);
    let (code, out, err) = p.run(&["run-operation", "render_merge"]);
    assert_eq!(code, 0, "{err}");
    let text: String = out
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n");
    insta::assert_snapshot!(text);
}

#[test]
fn microbatch_overwrites_only_its_batches_partitions() {
    let Some(mut spark) = server("microbatch") else {
        return;
    };
    let p = spark.project(&[
        (
            "dbt_project.yml",
            "name: proj\nprofile: proj\nconfig-version: 2\nseeds:\n  proj:\n    events:\n      +event_time: at\n",
        ),
        ("seeds/events.csv", "id,at,amount\n1,2024-01-01 10:00:00,1\n2,2024-01-02 11:00:00,2\n3,2024-01-03 12:00:00,3\n"),
        ("models/daily.sql", "{{ config(materialized='incremental', incremental_strategy='microbatch', event_time='at', batch_size='day', begin='2024-01-01', partition_by=['day']) }}\nselect id, at, amount, cast(at as date) as day from {{ ref('events') }}"),
    ]);
    p.ok(&["seed"]);
    p.ok(&common::run_window("2024-01-01", "2024-01-04"));
    // Every amount changes; only the second day's batch runs again.
    p.write("seeds/events.csv", "id,at,amount\n1,2024-01-01 10:00:00,10\n2,2024-01-02 11:00:00,20\n3,2024-01-03 12:00:00,30\n");
    p.ok(&["seed"]);
    p.ok(&common::run_window("2024-01-02", "2024-01-03"));
    let s = spark.schema.clone();
    assert_eq!(
        spark.column(&format!("select amount from {s}.daily order by id")),
        vec!["1", "20", "3"]
    );
}
