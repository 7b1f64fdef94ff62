//! kiln against dbt-core 1.11 on example_project: the reference outputs in
//! tests/dbt_reference/ were produced by dbt itself (see refresh.sh).

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{repo, Project};
use serde_json::Value;

fn reference(rel: &str) -> String {
    std::fs::read_to_string(repo().join("tests/dbt_reference").join(rel)).expect("reference file")
}

fn files_under(dir: &Path, base: &Path, out: &mut BTreeMap<String, String>) {
    for entry in std::fs::read_dir(dir).expect("dir") {
        let entry = entry.expect("entry");
        let path = entry.path();
        if path.is_dir() {
            files_under(&path, base, out);
        } else {
            let rel = path
                .strip_prefix(base)
                .expect("prefix")
                .to_string_lossy()
                .to_string();
            out.insert(rel, std::fs::read_to_string(&path).expect("read"));
        }
    }
}

/// dbt compile: every model, test and analysis compiles to the same SQL,
/// byte for byte (ephemeral CTE injection included).
#[test]
fn compiled_sql_matches_dbt() {
    let p = Project::example();
    p.ok(&["compile"]);
    let mut ours = BTreeMap::new();
    files_under(
        &p.dir.join("target/compiled/shop"),
        &p.dir.join("target/compiled/shop"),
        &mut ours,
    );
    let mut theirs = BTreeMap::new();
    let ref_dir = repo().join("tests/dbt_reference/compiled");
    files_under(&ref_dir, &ref_dir, &mut theirs);
    assert_eq!(
        ours.keys().collect::<Vec<_>>(),
        theirs.keys().collect::<Vec<_>>(),
        "same compiled files"
    );
    for (path, sql) in &theirs {
        assert_eq!(
            &ours[path], sql,
            "compiled SQL of {path} differs from dbt's"
        );
    }
}

/// dbt parse: unique ids (generic test hashes included), fqns, paths,
/// relation names, dependencies and checksums are dbt's.
#[test]
fn manifest_nodes_match_dbt() {
    let p = Project::example();
    p.ok(&["parse"]);
    let m = p.manifest();
    let expected: Value = serde_json::from_str(&reference("nodes.json")).expect("json");
    let nodes = m["nodes"].as_object().expect("nodes");
    let expected_ids: Vec<&String> = expected
        .as_object()
        .expect("obj")
        .keys()
        .filter(|k| !k.starts_with("__"))
        .collect();
    let mut ours: Vec<&String> = nodes.keys().collect();
    ours.sort();
    assert_eq!(ours, expected_ids);
    for id in expected_ids {
        let want = &expected[id];
        let have = &nodes[id];
        for field in [
            "resource_type",
            "name",
            "fqn",
            "path",
            "original_file_path",
            "database",
            "schema",
            "alias",
            "checksum",
            "relation_name",
            "tags",
            "refs",
            "sources",
            "test_metadata",
            "column_name",
            "attached_node",
        ] {
            if want.get(field).is_none() {
                continue;
            }
            assert_eq!(
                have.get(field).unwrap_or(&Value::Null),
                &want[field],
                "{id}: {field}"
            );
        }
        let deps = have["depends_on"]
            .get("nodes")
            .cloned()
            .unwrap_or(Value::Array(Vec::new()));
        assert_eq!(deps, want["depends_on_nodes"], "{id}: depends_on.nodes");
        assert_eq!(
            have["depends_on"]["macros"], want["depends_on_macros"],
            "{id}: depends_on.macros"
        );
        assert_eq!(
            have["config"]["materialized"], want["materialized"],
            "{id}: materialized"
        );
    }
    for (id, want) in expected["__sources__"].as_object().expect("sources") {
        for (field, value) in want.as_object().expect("obj") {
            assert_eq!(&m["sources"][id][field], value, "{id}: {field}");
        }
    }
    for (id, parents) in expected["__parent_map__"].as_object().expect("map") {
        assert_eq!(&m["parent_map"][id], parents, "parent_map of {id}");
    }
}

/// dbt ls: every selector form selects the same nodes as dbt.
#[test]
fn selectors_select_what_dbt_selects() {
    let p = Project::example();
    let cases = reference("selector_expected.txt");
    let mut checked = 0;
    for line in cases.lines().filter(|l| !l.is_empty()) {
        let (case, names) = line.split_once('\t').expect("tab-separated");
        let mut args = vec!["ls", "--output", "name", "--resource-type", "all"];
        let words: Vec<&str> = case.split_whitespace().collect();
        if case.starts_with('-') {
            args.extend(words);
        } else {
            args.push("-s");
            args.push(case);
        }
        let (code, out, err) = p.run(&args);
        assert_eq!(code, 0, "{case}: {err}");
        let mut ours: Vec<&str> = out.split_whitespace().collect();
        ours.sort();
        let theirs: Vec<&str> = names.split_whitespace().collect();
        assert_eq!(ours, theirs, "selector `{case}`");
        checked += 1;
    }
    assert!(checked >= 30, "all cases ran");
}

/// dbt seed + run + test: every data and unit test gets dbt's verdict and
/// failure count, with the project as it stands and with a var that makes
/// a test fail.
/// example_project after `seed` and `run`.
fn built_example() -> Project {
    let p = Project::example();
    for args in [&["seed"][..], &["run"]] {
        p.ok(args);
    }
    p
}

/// dbt seed + run: every relation holds the same rows as dbt builds (values
/// compared as DuckDB casts them to text; seed integer widths differ on
/// purpose, see the README).
#[test]
fn built_relations_match_dbt() {
    let p = built_example();
    let relations = p.query(
        "shop.duckdb",
        "select table_schema, table_name from information_schema.tables where table_catalog = current_database() order by 1, 2",
    );
    let mut ours = String::new();
    for r in relations {
        ours.push_str(&format!("## {}.{}\n", r[0], r[1]));
        let sql = format!(
            "select columns(*)::varchar from \"{}\".\"{}\" order by all",
            r[0], r[1]
        );
        for row in p.query("shop.duckdb", &sql) {
            ours.push_str(&row.join("|"));
            ours.push('\n');
        }
    }
    let theirs = reference("relations.txt");
    let headers = |t: &str| {
        t.lines()
            .filter(|l| l.starts_with("## "))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        headers(&ours),
        headers(&theirs),
        "kiln and dbt build different relations"
    );
    for (a, b) in ours.split("## ").zip(theirs.split("## ")) {
        assert_eq!(a, b, "rows differ from dbt's");
    }
}

#[test]
fn test_verdicts_match_dbt() {
    let p = built_example();
    for (reference_file, vars) in [
        ("test_verdicts.txt", None),
        (
            "test_verdicts_failing.txt",
            Some("{payment_methods: [credit_card, coupon]}"),
        ),
    ] {
        let mut args = vec!["test"];
        if let Some(v) = vars {
            args.extend(["--vars", v]);
        }
        p.run(&args);
        let r: Value =
            serde_json::from_str(&p.read("target/run_results.json")).expect("run_results");
        let mut ours: Vec<String> = r["results"]
            .as_array()
            .expect("results")
            .iter()
            .filter(|x| {
                !x["unique_id"]
                    .as_str()
                    .unwrap_or("")
                    .starts_with("operation.")
            })
            .map(|x| {
                let failures = x["failures"]
                    .as_i64()
                    .map_or("None".to_string(), |f| f.to_string());
                format!(
                    "{} {} {failures}",
                    x["unique_id"].as_str().unwrap_or(""),
                    x["status"].as_str().unwrap_or("")
                )
            })
            .collect();
        ours.sort();
        let theirs: Vec<String> = reference(reference_file)
            .lines()
            .map(str::to_string)
            .collect();
        assert_eq!(
            ours, theirs,
            "verdicts differ from dbt's ({reference_file})"
        );
    }
}

/// `--state` with dbt's own manifest of the same project: nothing counts as
/// modified until something is.
#[test]
fn dbt_manifest_works_as_state() {
    let p = Project::example();
    let state = repo().join("tests/dbt_reference/dbt_state");
    let state = state.to_str().expect("utf-8 path");
    let (code, out, err) = p.run(&[
        "ls",
        "-s",
        "state:modified",
        "--state",
        state,
        "--output",
        "name",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim(), "", "unchanged project, dbt's manifest: {out}");
    let sql = p.read("models/marts/customers.sql");
    p.write("models/marts/customers.sql", &format!("{sql}\n-- a change"));
    let (_, out, _) = p.run(&[
        "ls",
        "-s",
        "state:modified",
        "--state",
        state,
        "--output",
        "name",
        "--resource-type",
        "model",
    ]);
    assert_eq!(out.trim(), "customers");
}
