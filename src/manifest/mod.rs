//! The Manifest: every node of a project (models, seeds, snapshots, tests,
//! analyses), with sources, exposures, macros and docs, as parse leaves them.

pub mod generic_tests;
pub mod json;
pub mod naming;
pub mod parse;
pub mod python_model;
pub mod resolve;
pub mod semantic;
pub mod source_overrides;
pub mod unit_tests;
pub mod versions;

use crate::fast_hash::FastIndexMap;
use std::collections::BTreeMap;
use std::path::PathBuf;

use indexmap::IndexMap;
use serde_json::{Map, Value as Json};

use crate::jinja::RefCall;
use crate::project::config::{Config, NodeConfig};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ResourceType {
    Model,
    Seed,
    Snapshot,
    Test,
    Analysis,
    Source,
    Exposure,
    Macro,
    UnitTest,
}

impl ResourceType {
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceType::Model => "model",
            ResourceType::Seed => "seed",
            ResourceType::Snapshot => "snapshot",
            ResourceType::Test => "test",
            ResourceType::Analysis => "analysis",
            ResourceType::Source => "source",
            ResourceType::Exposure => "exposure",
            ResourceType::Macro => "macro",
            ResourceType::UnitTest => "unit_test",
        }
    }

    pub fn parse(s: &str) -> Option<ResourceType> {
        Some(match s {
            "model" => ResourceType::Model,
            "seed" => ResourceType::Seed,
            "snapshot" => ResourceType::Snapshot,
            "test" | "data_test" => ResourceType::Test,
            "analysis" => ResourceType::Analysis,
            "source" => ResourceType::Source,
            "exposure" => ResourceType::Exposure,
            "macro" => ResourceType::Macro,
            "unit_test" => ResourceType::UnitTest,
            _ => return None,
        })
    }

    pub const ALL_NAMES: [&'static str; 9] = [
        "model",
        "seed",
        "snapshot",
        "test",
        "analysis",
        "source",
        "exposure",
        "macro",
        "unit_test",
    ];
}

/// A documented column.
#[derive(Debug, Clone, Default)]
pub struct Column {
    pub name: String,
    pub description: String,
    pub data_type: Option<String>,
    pub meta: Map<String, Json>,
    pub tags: Vec<String>,
    pub quote: Option<bool>,
    pub constraints: Vec<Json>,
    pub granularity: Option<String>,
}

/// What a generic test is: its macro, arguments and the node it is attached to.
#[derive(Debug, Clone)]
pub struct TestMetadata {
    /// The generic test's name (`not_null`).
    pub name: String,
    /// Its package when written as `package.test_name`.
    pub namespace: Option<String>,
    /// Arguments for the test macro, as written (strings may hold Jinja).
    pub kwargs: Map<String, Json>,
    pub column_name: Option<String>,
    pub attached_node: Option<String>,
    pub file_key_name: String,
}

/// A model, seed, snapshot, test or analysis.
#[derive(Debug, Clone)]
pub struct Node {
    pub unique_id: String,
    pub resource_type: ResourceType,
    pub package_name: String,
    pub name: String,
    /// Path relative to the resource directory (dbt's `path`).
    pub path: String,
    /// Path relative to the package directory.
    pub original_file_path: String,
    /// Path shown in messages (relative to the root project).
    pub display_path: PathBuf,
    pub fqn: Vec<String>,
    pub raw_code: String,
    /// Line in the file where `raw_code` starts (snapshot blocks start inside a file).
    pub raw_code_line: usize,
    pub checksum: String,
    pub config: NodeConfig,
    /// In-file `config()` calls as written.
    pub config_call: Config,
    pub tags: Vec<String>,
    pub description: String,
    pub columns: IndexMap<String, Column>,
    pub meta: Map<String, Json>,
    pub patch_path: Option<String>,
    pub database: String,
    pub schema: String,
    pub alias: String,
    pub refs: Vec<RefCall>,
    pub sources: Vec<(String, String)>,
    pub depends_on_nodes: Vec<String>,
    pub depends_on_macros: Vec<String>,
    pub test: Option<TestMetadata>,
    /// A unit test's fixtures and expectations.
    pub unit: Option<Box<unit_tests::UnitTestSpec>>,
    pub vars_used: BTreeMap<String, Json>,
    pub env_vars_used: BTreeMap<String, String>,
    pub access: String,
    pub group: Option<String>,
    pub constraints: Vec<Json>,
    pub version: Option<Json>,
    pub latest_version: Option<Json>,
    /// `sql`, or `python` for models/*.py (parsed, never run by kiln).
    pub language: &'static str,
    /// `deprecation_date:` of a model (or of one of its versions), as written.
    pub deprecation_date: Option<String>,
    /// A model's `time_spine:` (MetricFlow's time spine), as written.
    pub time_spine: Option<Json>,
}

impl Node {
    /// A node of `resource_type` with nothing found out yet: empty fields,
    /// the type's default config, dbt's default `protected` access.
    pub fn new(resource_type: ResourceType) -> Node {
        Node {
            unique_id: String::new(),
            resource_type,
            package_name: String::new(),
            name: String::new(),
            path: String::new(),
            original_file_path: String::new(),
            display_path: PathBuf::new(),
            fqn: Vec::new(),
            raw_code: String::new(),
            raw_code_line: 1,
            checksum: String::new(),
            config: NodeConfig::new(resource_type.as_str()),
            config_call: Config::new(),
            tags: Vec::new(),
            description: String::new(),
            columns: IndexMap::new(),
            meta: Map::new(),
            patch_path: None,
            database: String::new(),
            schema: String::new(),
            alias: String::new(),
            refs: Vec::new(),
            sources: Vec::new(),
            depends_on_nodes: Vec::new(),
            depends_on_macros: Vec::new(),
            test: None,
            unit: None,
            vars_used: BTreeMap::new(),
            env_vars_used: BTreeMap::new(),
            access: "protected".into(),
            group: None,
            constraints: Vec::new(),
            version: None,
            latest_version: None,
            language: "sql",
            deprecation_date: None,
            time_spine: None,
        }
    }

    pub fn materialized(&self) -> &str {
        self.config
            .get("materialized")
            .and_then(Json::as_str)
            .unwrap_or("view")
    }

    pub fn is_ephemeral(&self) -> bool {
        self.resource_type == ResourceType::Model && self.materialized() == "ephemeral"
    }

    pub fn enabled(&self) -> bool {
        self.config
            .get("enabled")
            .and_then(Json::as_bool)
            .unwrap_or(true)
    }

    /// Has a relation in the database (not ephemeral, tests, analyses).
    pub fn is_relational(&self) -> bool {
        matches!(
            self.resource_type,
            ResourceType::Model | ResourceType::Seed | ResourceType::Snapshot
        ) && !self.is_ephemeral()
    }

    /// The quoted relation name, e.g. `"db"."main"."orders"`.
    pub fn relation_name(&self) -> Option<String> {
        if !self.is_relational() {
            return None;
        }
        Some(self.relation().rendered())
    }

    /// The relation with its type (view, table, cte) as its materialization makes it.
    pub fn typed_relation(&self) -> crate::jinja::relation::Relation {
        let kind = match self.materialized() {
            "view" => "view",
            "ephemeral" => "cte",
            _ => "table",
        };
        self.relation().with_kind(Some(kind))
    }

    pub fn relation(&self) -> crate::jinja::relation::Relation {
        if self.is_ephemeral() {
            return crate::jinja::relation::Relation::cte(&self.name);
        }
        crate::jinja::relation::Relation::new(&self.database, &self.schema, &self.alias)
    }
}

/// A node's compiled SQL.
#[derive(Debug, Clone)]
pub struct Compiled {
    /// SQL with ephemeral CTEs injected: what runs (shared with the
    /// render cache when there is nothing to inject).
    pub sql: std::sync::Arc<str>,
    /// The ephemeral models inlined, as (unique_id, cte sql).
    pub extra_ctes: Vec<(String, String)>,
}

/// Compiled SQL by unique id, for the nodes an invocation compiled.
pub type CompiledNodes = crate::fast_hash::FastMap<String, Compiled>;

/// A source table (`sources:` in properties YAML).
#[derive(Debug, Clone)]
pub struct SourceDef {
    pub unique_id: String,
    pub source_name: String,
    pub name: String,
    pub identifier: String,
    pub database: String,
    pub schema: String,
    pub package_name: String,
    pub path: String,
    pub original_file_path: String,
    pub display_path: PathBuf,
    pub fqn: Vec<String>,
    pub description: String,
    pub source_description: String,
    pub loader: String,
    pub loaded_at_field: Option<String>,
    pub loaded_at_query: Option<String>,
    pub freshness: Json,
    pub quoting: Map<String, Json>,
    pub columns: IndexMap<String, Column>,
    pub meta: Map<String, Json>,
    pub source_meta: Map<String, Json>,
    pub tags: Vec<String>,
    pub config: Config,
}

impl SourceDef {
    pub fn relation(&self) -> crate::jinja::relation::Relation {
        match self.external_location() {
            Some(location) => crate::jinja::relation::Relation::external(&location),
            None => crate::jinja::relation::Relation::new(
                &self.database,
                &self.schema,
                &self.identifier,
            ),
        }
    }

    /// Files DuckDB reads directly (`meta.external_location` or
    /// `config.external_location`, as dbt-duckdb): {name}, {identifier},
    /// {schema}, {database} and {source_name} are filled in; a plain path is
    /// quoted, a call such as read_csv(...) is kept as written.
    pub fn external_location(&self) -> Option<String> {
        let pattern = self
            .config
            .get("external_location")
            .or_else(|| self.meta.get("external_location"))
            .and_then(Json::as_str)
            .filter(|s| !s.trim().is_empty())?;
        let filled = pattern
            .replace("{name}", &self.name)
            .replace("{identifier}", &self.identifier)
            .replace("{schema}", &self.schema)
            .replace("{database}", &self.database)
            .replace("{source_name}", &self.source_name);
        Some(if filled.contains('(') {
            filled
        } else {
            format!("'{}'", filled.replace('\'', "''"))
        })
    }
}

/// An exposure: a downstream use (dashboard, notebook, ...) of project nodes.
#[derive(Debug, Clone)]
pub struct Exposure {
    pub unique_id: String,
    pub name: String,
    pub package_name: String,
    pub path: String,
    pub original_file_path: String,
    pub fqn: Vec<String>,
    pub exposure_type: String,
    pub owner: Json,
    pub description: String,
    pub label: Option<String>,
    pub maturity: Option<String>,
    pub url: Option<String>,
    pub refs: Vec<RefCall>,
    pub sources: Vec<(String, String)>,
    /// `metric('x')` entries of depends_on, by metric name.
    pub metrics: Vec<String>,
    pub depends_on_nodes: Vec<String>,
    pub tags: Vec<String>,
    pub meta: Map<String, Json>,
    pub config: Config,
}

/// A `{% docs %}` block.
#[derive(Debug, Clone)]
pub struct DocBlock {
    pub unique_id: String,
    pub name: String,
    pub package_name: String,
    pub path: String,
    pub original_file_path: String,
    pub block_contents: String,
}

/// Properties YAML for a macro.
#[derive(Debug, Clone, Default)]
pub struct MacroPatch {
    pub description: String,
    pub arguments: Vec<Json>,
    pub meta: Map<String, Json>,
    pub patch_path: Option<String>,
}

#[derive(Debug, Default, Clone)]
pub struct Manifest {
    /// Boxed: a node is about 1 KB, and the map moves its entries as it grows.
    pub nodes: FastIndexMap<String, Box<Node>>,
    pub sources: FastIndexMap<String, SourceDef>,
    pub exposures: IndexMap<String, Exposure>,
    pub docs: IndexMap<String, DocBlock>,
    pub macro_patches: BTreeMap<String, MacroPatch>,
    /// Nodes turned off with `enabled: false`, kept for "disabled" messages.
    pub disabled: FastIndexMap<String, Box<Node>>,
    pub disabled_sources: FastIndexMap<String, SourceDef>,
    pub root_package: String,
    pub warnings: Vec<String>,
    /// `groups:`, `semantic_models:`, `metrics:`, `saved_queries:` entries,
    /// as manifest.json holds them (see semantic.rs).
    pub groups: IndexMap<String, Json>,
    pub semantic_models: IndexMap<String, Json>,
    pub metrics: IndexMap<String, Json>,
    pub saved_queries: IndexMap<String, Json>,
    /// Packages whose dbt_project.yml sets `restrict-access: true`.
    pub restricted_packages: Vec<String>,
}

impl Manifest {
    /// Every graph member's unique id: nodes, sources, exposures.
    pub fn all_ids(&self) -> impl Iterator<Item = &String> {
        self.nodes
            .keys()
            .chain(self.sources.keys())
            .chain(self.exposures.keys())
    }
}
