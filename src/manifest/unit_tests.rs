//! Unit tests (dbt 1.8 format): a model, fixture rows for its inputs
//! (`given`), the rows it must produce (`expect`), and overrides of macros,
//! vars and env vars. Definitions are checked here, at parse time, so a bad
//! fixture is a definition error naming its file and line.

use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Map, Value as Json};

use crate::error::{Error, Result};
use crate::jinja::RefCall;
use crate::manifest::parse::YamlFile;
use crate::manifest::resolve::{parse_dependency, Dependency};
use crate::manifest::{Node, ResourceType};
use crate::project::config::NodeConfig;
use crate::project::properties;

/// What a fixture stands in for.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    Ref(RefCall),
    Source(String, String),
    /// The model's own relation (incremental models).
    This,
}

/// Rows of a fixture: a list of dicts, a CSV table (its header and text
/// values), or SQL text.
#[derive(Debug, Clone)]
pub enum Rows {
    Dicts(Vec<Map<String, Json>>),
    Csv {
        columns: Vec<String>,
        rows: Vec<Vec<String>>,
    },
    Sql(String),
}

#[derive(Debug, Clone)]
pub struct Fixture {
    pub input: Option<Input>,
    /// How the input was written (`ref('x')`), for messages.
    pub label: String,
    pub rows: Rows,
}

#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub macros: Map<String, Json>,
    pub vars: Map<String, Json>,
    pub env_vars: Map<String, Json>,
}

#[derive(Debug, Clone)]
pub struct UnitTestSpec {
    /// The model under test, as named.
    pub model: String,
    pub given: Vec<Fixture>,
    pub expect: Fixture,
    pub overrides: Overrides,
    /// The definition as written, for the manifest.
    pub definition: Json,
}

#[derive(Deserialize)]
struct UnitTestProperties {
    name: String,
    model: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    given: Vec<FixtureProperties>,
    expect: FixtureProperties,
    #[serde(default)]
    overrides: Option<OverrideProperties>,
    #[serde(default)]
    config: Map<String, Json>,
}

#[derive(Deserialize)]
struct FixtureProperties {
    #[serde(default)]
    input: Option<String>,
    #[serde(default)]
    format: Option<String>,
    #[serde(default)]
    rows: Option<Json>,
    #[serde(default)]
    fixture: Option<String>,
}

#[derive(Deserialize, Default)]
struct OverrideProperties {
    #[serde(default)]
    macros: Map<String, Json>,
    #[serde(default)]
    vars: Map<String, Json>,
    #[serde(default)]
    env_vars: Map<String, Json>,
}

/// Fixture files under tests/fixtures/: (name without extension, extension, contents).
pub type FixtureFiles = Vec<(String, String, String)>;

/// One unit test node from one `unit_tests:` entry.
pub fn build(entry: &Json, file: &Arc<YamlFile>, fixtures: &FixtureFiles) -> Result<Node> {
    let up: UnitTestProperties =
        properties::entry(&file.display_path, &file.text, "unit test", entry)?;
    let here = || file.locate(&up.name);
    let err = |msg: String| Error::new(msg).at(here());
    let mut given = Vec::new();
    for g in &up.given {
        let label = g.input.clone().ok_or_else(|| {
            err(format!(
                "a `given` entry of unit test '{}' has no `input:`",
                up.name
            ))
        })?;
        let input = match label.trim() {
            "this" => Input::This,
            text => match parse_dependency(text) {
                Some(Dependency::Ref(r)) => Input::Ref(r),
                Some(Dependency::Source(s, t)) => Input::Source(s, t),
                None => {
                    return Err(err(format!(
                        "unit test '{}': input `{label}` must be ref('...'), source('...', '...') or this",
                        up.name
                    )))
                }
            },
        };
        given.push(Fixture {
            input: Some(input),
            rows: rows(g, &up.name, &label, fixtures).map_err(err)?,
            label,
        });
    }
    let expect = Fixture {
        input: None,
        rows: rows(&up.expect, &up.name, "expect", fixtures).map_err(err)?,
        label: "expect".into(),
    };
    let overrides = match &up.overrides {
        Some(o) => Overrides {
            macros: o.macros.clone(),
            vars: o.vars.clone(),
            env_vars: o.env_vars.clone(),
        },
        None => Overrides::default(),
    };
    let mut fqn = vec![file.package.clone()];
    if let Some(parent) = Path::new(&file.original_file_path).parent() {
        fqn.extend(
            parent
                .components()
                .skip(1)
                .map(|c| c.as_os_str().to_string_lossy().to_string()),
        );
    }
    fqn.push(up.model.clone());
    fqn.push(up.name.clone());
    let mut config = NodeConfig::new("test");
    config.merge(&up.config);
    let mut node = Node {
        unique_id: format!("unit_test.{}.{}.{}", file.package, up.model, up.name),
        resource_type: ResourceType::UnitTest,
        package_name: file.package.clone(),
        name: up.name.clone(),
        path: file.original_file_path.clone(),
        original_file_path: file.original_file_path.clone(),
        display_path: file.display_path.clone(),
        fqn,
        // Where the test is defined, for runtime messages.
        raw_code_line: here().line,
        config,
        description: up.description.clone().unwrap_or_default(),
        alias: up.name.clone(),
        refs: vec![RefCall {
            package: None,
            name: up.model.clone(),
            version: None,
        }],
        unit: Some(Box::new(UnitTestSpec {
            model: up.model.clone(),
            given,
            expect,
            overrides,
            definition: entry.clone(),
        })),
        ..Node::new(ResourceType::UnitTest)
    };
    // Tags and meta from the config, as for every other node.
    crate::manifest::parse::finish_config(&mut node);
    Ok(node)
}

/// The rows of a fixture, from `rows:` or a fixture file.
fn rows(
    f: &FixtureProperties,
    test: &str,
    what: &str,
    fixtures: &FixtureFiles,
) -> std::result::Result<Rows, String> {
    let format = f
        .format
        .clone()
        .unwrap_or_else(|| "dict".into())
        .to_lowercase();
    if !matches!(format.as_str(), "dict" | "csv" | "sql") {
        return Err(format!(
            "unit test '{test}': format `{format}` of {what} must be dict, csv or sql"
        ));
    }
    if let Some(name) = &f.fixture {
        let ext = if format == "sql" { "sql" } else { "csv" };
        let found = fixtures.iter().find(|(n, e, _)| n == name && e == ext);
        return match found {
            Some((_, _, text)) if ext == "sql" => Ok(Rows::Sql(text.clone())),
            Some((_, _, text)) => csv_rows(text, test, what),
            None => Err(format!(
                "unit test '{test}': fixture '{name}' for {what} is not a file tests/fixtures/{name}.{ext}"
            )),
        };
    }
    let Some(rows) = &f.rows else {
        return Err(format!(
            "unit test '{test}': {what} has no `rows:` (or `fixture:`)"
        ));
    };
    match (format.as_str(), rows) {
        ("dict", Json::Array(items)) => items
            .iter()
            .map(|r| match r {
                Json::Object(m) => Ok(m.clone()),
                other => Err(format!(
                    "unit test '{test}': each row of {what} must be a mapping, got {other}"
                )),
            })
            .collect::<std::result::Result<Vec<_>, _>>()
            .map(Rows::Dicts),
        ("dict", Json::Null) => Ok(Rows::Dicts(Vec::new())),
        ("dict", other) => Err(format!(
            "unit test '{test}': rows of {what} must be a list of mappings, got {other}"
        )),
        ("csv", Json::String(text)) => csv_rows(text, test, what),
        ("sql", Json::String(text)) => Ok(Rows::Sql(text.clone())),
        (fmt, _) => Err(format!(
            "unit test '{test}': rows of {what} in format {fmt} must be text"
        )),
    }
}

/// CSV fixture text: a header, then one line per row.
fn csv_rows(text: &str, test: &str, what: &str) -> std::result::Result<Rows, String> {
    let bad = |e: csv::Error| {
        format!("unit test '{test}': the CSV rows of {what} are not valid CSV: {e}")
    };
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.trim().as_bytes());
    let columns: Vec<String> = reader
        .headers()
        .map_err(bad)?
        .iter()
        .map(str::to_string)
        .collect();
    let rows = reader
        .records()
        .map(|r| r.map(|r| r.iter().map(str::to_string).collect()))
        .collect::<std::result::Result<Vec<Vec<String>>, _>>()
        .map_err(bad)?;
    Ok(Rows::Csv { columns, rows })
}
