//! Installed packages (dbt_packages/) load as projects of their own: their
//! macros are namespaced, their vars scoped, dispatch follows the root
//! project's search order. Output checked against dbt-core 1.11.

mod common;

use common::Project;
use serde_json::json;

fn compiled() -> Project {
    let p = Project::fixture("with_package");
    p.ok(&["compile"]);
    p
}

#[test]
fn package_models_use_package_vars_overridden_by_the_root() {
    let p = compiled();
    assert_eq!(
        p.read("target/compiled/util/models/util_dates.sql"),
        "select 5 as threshold, 'pkg' as label, 'app:b' as dispatched"
    );
}

#[test]
fn root_macros_override_package_defaults_through_dispatch() {
    let p = compiled();
    assert_eq!(
        p.read("target/compiled/app/models/report.sql"),
        "select *, 'app:a' as label\nfrom \"memory\".\"main_util\".\"util_dates\""
    );
}

#[test]
fn package_nodes_carry_their_package_and_root_configs() {
    let p = compiled();
    let m = p.manifest();
    let n = &m["nodes"]["model.util.util_dates"];
    assert_eq!(n["package_name"], "util");
    assert_eq!(n["fqn"], json!(["util", "util_dates"]));
    assert_eq!(
        n["config"]["materialized"], "table",
        "from the package's own dbt_project.yml"
    );
    assert_eq!(
        n["schema"], "main_util",
        "from the root project's config for the package"
    );
    assert_eq!(
        n["depends_on"]["macros"],
        json!(["macro.util.threshold", "macro.util.label"])
    );
    assert_eq!(
        m["nodes"]["model.app.report"]["depends_on"]["nodes"],
        json!(["model.util.util_dates"])
    );
    assert!(m["macros"]["macro.util.default__label"].is_object());
}

#[test]
fn package_nodes_are_selectable_by_package() {
    let p = Project::fixture("with_package");
    let (code, out, err) = p.run(&["ls", "-s", "package:util", "--output", "name"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim(), "util_dates");
}
