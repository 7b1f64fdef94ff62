//! The commands as a user runs them: version and help, init → debug, parse,
//! compile, ls and their outputs.

mod common;

use common::{kiln, Project};

#[test]
fn version_and_help() {
    let out = kiln().arg("--version").output().expect("runs");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("kiln "));
    let out = kiln().arg("--help").output().expect("runs");
    let help = String::from_utf8_lossy(&out.stdout);
    for cmd in ["init", "debug", "parse", "compile", "ls"] {
        assert!(help.contains(cmd), "help lists {cmd}: {help}");
    }
    let out = kiln().args(["compile", "--help"]).output().expect("runs");
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--select",
        "--exclude",
        "--selector",
        "--inline",
        "--project-dir",
        "--profiles-dir",
        "--target",
        "--vars",
        "--threads",
    ] {
        assert!(help.contains(flag), "compile --help documents {flag}");
    }
}

#[test]
fn init_creates_a_project_that_debug_and_compile_accept() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = kiln()
        .current_dir(tmp.path())
        .args(["init", "my_shop"])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = tmp.path().join("my_shop");
    for f in [
        "dbt_project.yml",
        "profiles.yml",
        "seeds/raw_customers.csv",
        "models/schema.yml",
        "models/staging/stg_customers.sql",
        "models/marts/customers_by_country.sql",
    ] {
        assert!(dir.join(f).is_file(), "{f} exists");
    }
    assert!(std::fs::read_to_string(dir.join("dbt_project.yml"))
        .unwrap()
        .contains("name: my_shop"));
    let out = kiln()
        .current_dir(&dir)
        .arg("debug")
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("All checks passed"), "{err}");
    let out = kiln()
        .current_dir(&dir)
        .args(["ls", "--output", "name"])
        .output()
        .expect("runs");
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(
        listed.contains("stg_customers") && listed.contains("unique_stg_customers_customer_id"),
        "{listed}"
    );
    // A second init into the same place is refused.
    let out = kiln()
        .current_dir(tmp.path())
        .args(["init", "my_shop"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn init_rejects_bad_names() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = kiln()
        .current_dir(tmp.path())
        .args(["init", "my-shop"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a valid project name"));
}

#[test]
fn debug_reports_a_broken_profile() {
    let p = Project::example();
    p.write(
        "profiles.yml",
        "shop:\n  target: dev\n  outputs:\n    dev:\n      type: postgress\n",
    );
    let (code, _, err) = p.run(&["debug"]);
    assert_eq!(code, 1);
    assert!(err.contains("dbt_project.yml: OK"), "{err}");
    assert!(
        err.contains("profiles.yml: FAILED")
            && err.contains("type 'postgress'")
            && err.contains("did you mean 'postgres'"),
        "{err}"
    );
}

#[test]
fn debug_checks_the_connection() {
    let p = Project::example();
    p.write("profiles.yml", "shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: missing_dir/shop.duckdb\n");
    let (code, _, err) = p.run(&["debug"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("connection: FAILED") && err.contains("missing_dir"),
        "{err}"
    );
}

#[test]
fn parse_writes_a_manifest_with_every_resource() {
    let p = Project::example();
    p.ok(&["parse"]);
    let m = p.manifest();
    assert_eq!(
        m["metadata"]["dbt_schema_version"],
        "https://schemas.getdbt.com/dbt/manifest/v12.json"
    );
    assert_eq!(m["metadata"]["project_name"], "shop");
    assert_eq!(m["nodes"].as_object().unwrap().len(), 39);
    // Unit tests live apart from nodes, as in dbt's manifest.
    assert!(m["unit_tests"]["unit_test.shop.orders.orders_adds_up_payments"].is_object());
    assert!(m["sources"]["source.shop.web.events"].is_object());
    assert_eq!(
        m["exposures"]["exposure.shop.weekly_revenue"]["depends_on"]["nodes"],
        serde_json::json!(["model.shop.orders", "model.shop.customers"])
    );
    assert!(m["docs"]["doc.shop.orders"]["block_contents"]
        .as_str()
        .unwrap()
        .starts_with("One row per order"));
    assert!(m["macros"]["macro.shop.cents_to_dollars"]["macro_sql"]
        .as_str()
        .unwrap()
        .contains("round("));
    assert!(m["child_map"]["model.shop.orders"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c == "exposure.shop.weekly_revenue"));
    assert_eq!(m["selectors"]["finance"]["name"], "finance");
    // Descriptions render doc() blocks.
    assert!(m["nodes"]["model.shop.customers"]["description"]
        .as_str()
        .unwrap()
        .starts_with("One row per customer"));
    assert_eq!(
        m["nodes"]["model.shop.orders"]["primary_key"],
        serde_json::json!(["order_id"])
    );
}

#[test]
fn compile_one_node_prints_its_sql_and_records_it() {
    let p = Project::example();
    let (code, out, err) = p.run(&["compile", "-s", "stg_payments"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(r#"from "shop"."main_raw"."raw_payments""#),
        "{out}"
    );
    assert!(
        out.contains("round(cast(amount_cents as decimal(18, 2)) / 100, 2) as amount"),
        "{out}"
    );
    let m = p.manifest();
    assert_eq!(
        m["nodes"]["model.shop.stg_payments"]["compiled_code"]
            .as_str()
            .unwrap(),
        out.trim_end()
    );
    assert!(p
        .dir
        .join("target/compiled/shop/models/staging/stg_payments.sql")
        .is_file());
    assert!(
        !p.dir
            .join("target/compiled/shop/models/marts/orders.sql")
            .exists(),
        "only the selected node"
    );
}

#[test]
fn ls_outputs() {
    let p = Project::example();
    let (code, out, _) = p.run(&["ls", "-s", "orders", "--resource-type", "model"]);
    assert_eq!((code, out.trim()), (0, "shop.marts.orders"));
    let (_, out, _) = p.run(&[
        "ls",
        "-s",
        "orders",
        "--resource-type",
        "model",
        "--output",
        "path",
    ]);
    assert_eq!(out.trim(), "models/marts/orders.sql");
    let (_, out, _) = p.run(&["ls", "-s", "source:web", "--resource-type", "source"]);
    assert_eq!(out.trim(), "source:shop.web.events");
    let (_, out, _) = p.run(&[
        "ls",
        "-s",
        "orders",
        "--resource-type",
        "model",
        "--output",
        "json",
        "--output-keys",
        "name",
        "alias",
    ]);
    assert_eq!(out.trim(), r#"{"name": "orders", "alias": "orders"}"#);
    let (_, out, _) = p.run(&["ls", "--output", "name"]);
    assert!(
        !out.contains("revenue_by_month"),
        "analyses are left out by default"
    );
    let (_, out, _) = p.run(&["ls", "--output", "name", "--resource-type", "analysis"]);
    assert_eq!(out.trim(), "revenue_by_month");
}

#[test]
fn profiles_dir_and_env_are_honoured() {
    let p = Project::example();
    let elsewhere = tempfile::tempdir().expect("tmp");
    std::fs::rename(
        p.dir.join("profiles.yml"),
        elsewhere.path().join("profiles.yml"),
    )
    .expect("move");
    let (code, _, err) = p.run(&["parse"]);
    assert_eq!(code, 2, "no profiles.yml in the project any more: {err}");
    let dir = elsewhere.path().to_string_lossy().to_string();
    p.ok(&["parse", "--profiles-dir", &dir]);
    let out = p
        .kiln(&["parse"])
        .env("DBT_PROFILES_DIR", &dir)
        .output()
        .expect("runs");
    assert!(out.status.success());
}
