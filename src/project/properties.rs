//! Properties YAML (`version: 2` files anywhere under resource paths):
//! descriptions, columns, tests and configs for models, seeds, snapshots,
//! analyses, sources, macros and exposures.

use std::path::Path;

use serde::Deserialize;
use serde_json::{Map, Value as Json};
use serde_yaml::Value as Yaml;

use crate::error::{Error, Result};
use crate::project::yaml;

/// One properties file, entries kept as JSON until each is read on its own,
/// so that one bad entry gives an error naming it.
#[derive(Debug, Clone, Default)]
pub struct PropertiesFile {
    pub models: Vec<Json>,
    pub seeds: Vec<Json>,
    pub snapshots: Vec<Json>,
    pub analyses: Vec<Json>,
    pub sources: Vec<Json>,
    pub macros: Vec<Json>,
    pub exposures: Vec<Json>,
    pub unit_tests: Vec<Json>,
    pub groups: Vec<Json>,
    pub semantic_models: Vec<Json>,
    pub metrics: Vec<Json>,
    pub saved_queries: Vec<Json>,
    /// Keys dbt does not know (`anchors:`, custom keys): a warning each.
    pub warnings: Vec<String>,
}

/// The keys a properties file may hold at its top level.
const TOP_LEVEL: &[&str] = &[
    "version",
    "models",
    "seeds",
    "snapshots",
    "analyses",
    "sources",
    "macros",
    "exposures",
    "unit_tests",
    "metrics",
    "semantic_models",
    "saved_queries",
    "groups",
    "data_tests",
    "functions",
    "anchors",
];

impl PropertiesFile {
    pub fn parse(display: &Path, text: &str) -> Result<PropertiesFile> {
        let doc: Yaml = yaml::parse(display, text)?;
        let map = match doc {
            Yaml::Null => return Ok(PropertiesFile::default()),
            Yaml::Mapping(m) => m,
            _ => {
                return Err(Error::new(format!(
                    "{} must be a YAML mapping with `version: 2`",
                    display.display()
                ))
                .at(crate::error::Location::file(display)))
            }
        };
        let mut out = PropertiesFile::default();
        for (k, v) in &map {
            let Some(key) = k.as_str() else { continue };
            let list = || -> Result<Vec<Json>> {
                match yaml::to_json(v) {
                    Json::Array(items) => Ok(items),
                    Json::Null => Ok(Vec::new()),
                    _ => Err(Error::new(format!("`{key}:` must be a list of entries"))
                        .at(yaml::locate_text(display, text, &format!("{key}:")))),
                }
            };
            match key {
                "models" => out.models = list()?,
                "seeds" => out.seeds = list()?,
                "snapshots" => out.snapshots = list()?,
                "analyses" => out.analyses = list()?,
                "sources" => out.sources = list()?,
                "macros" => out.macros = list()?,
                "exposures" => out.exposures = list()?,
                "unit_tests" => out.unit_tests = list()?,
                "groups" => out.groups = list()?,
                "semantic_models" => out.semantic_models = list()?,
                "metrics" => out.metrics = list()?,
                "saved_queries" => out.saved_queries = list()?,
                k if TOP_LEVEL.contains(&k) => {}
                // As dbt: a key it does not know is skipped with a warning
                // (`anchors:` holds YAML anchors to reuse, for instance).
                other => {
                    let loc = yaml::locate_text(display, text, &format!("{other}:"));
                    out.warnings.push(format!(
                        "{}:{}: unknown top-level key `{other}` in a properties file is ignored",
                        display.display(),
                        loc.line
                    ));
                }
            }
        }
        Ok(out)
    }
}

/// Reads one entry into `T`, naming the entry and its line on failure.
pub fn entry<T: for<'de> Deserialize<'de>>(
    display: &Path,
    text: &str,
    kind: &str,
    value: &Json,
) -> Result<T> {
    let name = value.get("name").and_then(Json::as_str);
    serde_json::from_value(value.clone()).map_err(|e| {
        let loc = match name {
            Some(n) => yaml::locate_name(display, text, n),
            None => crate::error::Location::file(display),
        };
        let what = match name {
            Some(n) => format!("{kind} '{n}'"),
            None => format!("a {kind} entry (every entry needs a `name:`)"),
        };
        Error::new(format!("invalid properties for {what}: {e}")).at(loc)
    })
}

/// A string or a list of strings (tags, depends_on, ...).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(untagged)]
pub enum StringList {
    #[default]
    None,
    One(String),
    Many(Vec<String>),
}

impl StringList {
    pub fn to_vec(&self) -> Vec<String> {
        match self {
            StringList::None => Vec::new(),
            StringList::One(s) => vec![s.clone()],
            StringList::Many(v) => v.clone(),
        }
    }
}

/// The properties of a model, seed, snapshot or analysis.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct NodeProperties {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub config: Map<String, Json>,
    #[serde(default)]
    pub columns: Vec<ColumnProperties>,
    #[serde(default)]
    pub data_tests: Vec<Json>,
    #[serde(default)]
    pub tests: Vec<Json>,
    #[serde(default)]
    pub docs: Option<Json>,
    #[serde(default)]
    pub meta: Map<String, Json>,
    #[serde(default)]
    pub tags: StringList,
    #[serde(default)]
    pub access: Option<String>,
    #[serde(default)]
    pub group: Option<String>,
    #[serde(default)]
    pub constraints: Vec<Json>,
    #[serde(default)]
    pub latest_version: Option<Json>,
    #[serde(default)]
    pub versions: Vec<Json>,
    #[serde(default)]
    pub deprecation_date: Option<Json>,
    #[serde(default)]
    pub time_spine: Option<Json>,
    /// YAML-defined snapshots: `relation: ref('orders')`.
    #[serde(default)]
    pub relation: Option<String>,
}

impl NodeProperties {
    pub fn all_tests(&self) -> impl Iterator<Item = &Json> {
        self.data_tests.iter().chain(self.tests.iter())
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
pub struct ColumnProperties {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub data_type: Option<String>,
    #[serde(default)]
    pub meta: Map<String, Json>,
    #[serde(default)]
    pub tags: StringList,
    #[serde(default)]
    pub quote: Option<bool>,
    #[serde(default)]
    pub data_tests: Vec<Json>,
    #[serde(default)]
    pub tests: Vec<Json>,
    #[serde(default)]
    pub constraints: Vec<Json>,
    #[serde(default)]
    pub granularity: Option<String>,
    #[serde(default)]
    pub config: Map<String, Json>,
}

impl ColumnProperties {
    pub fn all_tests(&self) -> impl Iterator<Item = &Json> {
        self.data_tests.iter().chain(self.tests.iter())
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
pub struct SourceProperties {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub database: Option<String>,
    #[serde(default)]
    pub schema: Option<String>,
    #[serde(default)]
    pub loader: Option<String>,
    #[serde(default)]
    pub loaded_at_field: Option<String>,
    #[serde(default)]
    pub loaded_at_query: Option<String>,
    #[serde(default)]
    pub meta: Map<String, Json>,
    #[serde(default)]
    pub tags: StringList,
    #[serde(default)]
    pub config: Map<String, Json>,
    #[serde(default)]
    pub quoting: Map<String, Json>,
    #[serde(default)]
    pub freshness: Option<Json>,
    #[serde(default)]
    pub overrides: Option<String>,
    #[serde(default)]
    pub tables: Vec<SourceTableProperties>,
}

#[derive(Debug, Clone, Deserialize, Default)]
pub struct SourceTableProperties {
    pub name: String,
    #[serde(default)]
    pub identifier: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub columns: Vec<ColumnProperties>,
    #[serde(default)]
    pub data_tests: Vec<Json>,
    #[serde(default)]
    pub tests: Vec<Json>,
    #[serde(default)]
    pub meta: Map<String, Json>,
    #[serde(default)]
    pub tags: StringList,
    #[serde(default)]
    pub config: Map<String, Json>,
    #[serde(default)]
    pub quoting: Map<String, Json>,
    /// `freshness: null` (Some(Null)) turns the source's freshness off.
    #[serde(default, deserialize_with = "explicit")]
    pub freshness: Option<Json>,
    #[serde(default)]
    pub loaded_at_field: Option<String>,
    #[serde(default)]
    pub loaded_at_query: Option<String>,
    #[serde(default)]
    pub external: Option<Json>,
}

impl SourceTableProperties {
    pub fn all_tests(&self) -> impl Iterator<Item = &Json> {
        self.data_tests.iter().chain(self.tests.iter())
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
pub struct MacroProperties {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub arguments: Vec<Json>,
    #[serde(default)]
    pub docs: Option<Json>,
    #[serde(default)]
    pub meta: Map<String, Json>,
}

#[derive(Debug, Clone, Deserialize, Default)]
pub struct ExposureProperties {
    pub name: String,
    #[serde(rename = "type", default)]
    pub exposure_type: Option<String>,
    #[serde(default)]
    pub owner: Option<Json>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub maturity: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub depends_on: Vec<String>,
    #[serde(default)]
    pub tags: StringList,
    #[serde(default)]
    pub meta: Map<String, Json>,
    #[serde(default)]
    pub config: Map<String, Json>,
}

/// Keeps an explicit `null` as Some(Null), where a plain Option would make
/// it the same as a missing key.
fn explicit<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Option<Json>, D::Error> {
    Json::deserialize(d).map(Some)
}
