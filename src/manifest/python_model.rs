//! Python models (models/*.py). dbt-duckdb runs them in its own Python;
//! kiln embeds none, so it reads what a Python model depends on
//! (`dbt.ref(...)`, `dbt.source(...)`, `dbt.config(...)`) to place it in the
//! graph, lists it like any model, and fails it at run time with a message
//! that says why, so its children are skipped rather than silently missing.

use serde_json::Value as Json;

use crate::jinja::RefCall;
use crate::manifest::Node;

/// Why a Python model does not run, shown as its error.
pub const NOT_RUN: &str = "kiln does not run Python models (it embeds no Python): build this model with dbt, or rewrite it in SQL; the models that depend on it are skipped";

fn string_args(call: &str) -> Vec<String> {
    let arg = crate::regex!(r#"^\s*(?:['"]([^'"]*)['"])\s*(?:,|$)"#);
    let mut out = Vec::new();
    let mut rest = call;
    while let Some(c) = arg.captures(rest) {
        out.push(c[1].to_string());
        rest = &rest[c[0].len()..];
    }
    out
}

/// Fills `node.refs`, `node.sources` and string-valued `dbt.config(...)`
/// keys from the model's source.
pub fn read_dependencies(node: &mut Node) {
    let call = crate::regex!(r"dbt\.(ref|source|config)\(([^)]*)\)");
    let kwarg = crate::regex!(r#"(\w+)\s*=\s*(?:['"]([^'"]*)['"]|(True|False|\d+))"#);
    let code = node.raw_code.clone();
    for c in call.captures_iter(&code) {
        let args = &c[2];
        match &c[1] {
            "ref" => {
                let names = string_args(args);
                let version = kwarg
                    .captures_iter(args)
                    .find(|k| &k[1] == "v" || &k[1] == "version")
                    .and_then(|k| k.get(2).or(k.get(3)).map(|m| m.as_str().to_string()));
                let (package, name) = match names.as_slice() {
                    [name] => (None, name.clone()),
                    [package, name, ..] => (Some(package.clone()), name.clone()),
                    [] => continue,
                };
                node.refs.push(RefCall {
                    package,
                    name,
                    version,
                });
            }
            "source" => {
                if let [source, table, ..] = string_args(args).as_slice() {
                    node.sources.push((source.clone(), table.clone()));
                }
            }
            _ => {
                for k in kwarg.captures_iter(args) {
                    let value = match (k.get(2), k.get(3).map(|m| m.as_str())) {
                        (Some(s), _) => Json::from(s.as_str()),
                        (None, Some("True")) => Json::from(true),
                        (None, Some("False")) => Json::from(false),
                        (None, Some(n)) => n.parse::<i64>().map(Json::from).unwrap_or(Json::Null),
                        _ => Json::Null,
                    };
                    node.config.insert(&k[1], value);
                }
            }
        }
    }
    // dbt builds Python models as tables unless told otherwise.
    if node.materialized() == "view" {
        node.config.insert("materialized", Json::from("table"));
    }
}
