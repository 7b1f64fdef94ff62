//! kiln against dbt-core 1.11 + dbt-postgres 1.11 on example_project: the
//! reference in tests/dbt_reference_postgres/ was produced by dbt itself on
//! a PostgreSQL server (see its refresh.sh). kiln builds the same project on
//! the test server (its `postgres` target) and must write the same rows and
//! reach the same test verdicts.

mod common;

use common::postgres::{server, Pg};
use common::{repo, Project};

/// Verdicts where kiln differs from dbt-postgres on purpose: (unique id,
/// kiln's "status failures").
const KEPT_DIFFERENCES: [(&str, &str); 1] = [
    // dbt-postgres compares the unit test's rows as text, so its numeric
    // 0 and the expected 0.0 differ; they are the same number, and kiln
    // compares values.
    ("unit_test.shop.orders.orders_adds_up_payments", "pass 0"),
];

fn reference(name: &str) -> String {
    std::fs::read_to_string(repo().join("tests/dbt_reference_postgres").join(name))
        .expect("reference file")
}

/// `kiln <args> --target postgres` on the test server, in the test's schema.
fn kiln_pg(p: &Project, pg: &Pg, args: &[&str]) -> (i32, String) {
    let mut all = args.to_vec();
    all.extend(["--target", "postgres"]);
    let out = p
        .kiln(&all)
        .env("PGHOST", &pg.host)
        .env("PGPORT", pg.port.to_string())
        .env("PGUSER", &pg.user)
        .env("PGDATABASE", &pg.dbname)
        .env("KILN_PG_SCHEMA", &pg.schema)
        .output()
        .expect("kiln runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// Every relation in the test's schemas, as refresh.sh dumps dbt's.
fn dump(pg: &mut Pg) -> String {
    let schema = pg.schema.clone();
    let mut out = String::new();
    let tables = pg.rows(&format!(
        "select table_schema::text, table_name::text from information_schema.tables \
         where table_schema = '{schema}' or table_schema like '{schema}\\_%' order by 1, 2"
    ));
    for t in tables {
        out.push_str(&format!(
            "## {}.{}\n",
            t[0].replacen(&schema, "<schema>", 1),
            t[1]
        ));
        let cols = pg.column(&format!(
            "select column_name::text from information_schema.columns where table_schema = '{}' and table_name = '{}' order by ordinal_position",
            t[0], t[1]
        ));
        out.push_str(&cols.join("|"));
        out.push('\n');
        if t[1] == "customers_history" {
            continue; // times of the snapshot run
        }
        let select: Vec<String> = cols.iter().map(|c| format!("\"{c}\"::text")).collect();
        let rows: Vec<String> = pg
            .rows(&format!(
                "select {} from \"{}\".\"{}\"",
                select.join(", "),
                t[0],
                t[1]
            ))
            .into_iter()
            .map(|r| r.join("|"))
            .collect();
        common::push_sorted_lines(&mut out, rows);
    }
    out
}

#[test]
fn example_project_on_postgres_matches_dbt_postgres() {
    let Some(mut pg) = server("parity") else {
        return;
    };
    let p = Project::example();
    for cmd in ["seed", "run", "snapshot"] {
        let (code, err) = kiln_pg(&p, &pg, &[cmd]);
        assert_eq!(code, 0, "kiln {cmd}: {err}");
    }
    let ours = dump(&mut pg);
    let theirs = reference("relations.txt");
    let headers = |t: &str| -> Vec<String> {
        t.lines()
            .filter(|l| l.starts_with("## "))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(
        headers(&ours),
        headers(&theirs),
        "kiln and dbt built different relations"
    );
    for (a, b) in ours.split("## ").zip(theirs.split("## ")) {
        assert_eq!(a, b, "rows differ from dbt-postgres's");
    }

    // Test verdicts, as `unique_id status failures` lines.
    kiln_pg(&p, &pg, &["test"]);
    let verdicts = p.verdict_lines();
    let expected: Vec<String> = reference("test_verdicts.txt")
        .lines()
        .map(|line| {
            let id = line.split(' ').next().unwrap_or("");
            KEPT_DIFFERENCES
                .iter()
                .find(|(d, _)| *d == id)
                .map_or(line.to_string(), |(_, ours)| format!("{id} {ours}"))
        })
        .collect();
    assert_eq!(verdicts, expected);
    pg.drop_schemas();
}
