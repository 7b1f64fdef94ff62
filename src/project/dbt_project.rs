//! dbt_project.yml: the project's name, paths, vars, config trees and hooks.

use std::path::Path;

use serde::Deserialize;
use serde_yaml::{Mapping, Value as Yaml};

use crate::error::{Error, Result};
use crate::project::yaml;

/// A dbt_project.yml as written. Config trees stay YAML until config
/// resolution walks them.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub struct DbtProject {
    pub name: String,
    #[serde(default)]
    pub version: Option<Yaml>,
    #[serde(default)]
    pub profile: Option<String>,
    #[serde(default)]
    pub config_version: Option<i64>,
    #[serde(default, alias = "source-paths")]
    pub model_paths: Option<Vec<String>>,
    #[serde(default, alias = "data-paths")]
    pub seed_paths: Option<Vec<String>>,
    #[serde(default)]
    pub test_paths: Option<Vec<String>>,
    #[serde(default)]
    pub macro_paths: Option<Vec<String>>,
    #[serde(default)]
    pub snapshot_paths: Option<Vec<String>>,
    #[serde(default)]
    pub analysis_paths: Option<Vec<String>>,
    #[serde(default)]
    pub docs_paths: Option<Vec<String>>,
    #[serde(default)]
    pub asset_paths: Option<Vec<String>>,
    #[serde(default)]
    pub target_path: Option<String>,
    #[serde(default)]
    pub clean_targets: Option<Vec<String>>,
    #[serde(default)]
    pub packages_install_path: Option<String>,
    #[serde(default)]
    pub vars: Mapping,
    #[serde(default)]
    pub models: Mapping,
    #[serde(default)]
    pub seeds: Mapping,
    #[serde(default)]
    pub snapshots: Mapping,
    #[serde(default, alias = "tests")]
    pub data_tests: Mapping,
    #[serde(default)]
    pub sources: Mapping,
    #[serde(default)]
    pub analyses: Mapping,
    #[serde(default)]
    pub exposures: Mapping,
    #[serde(default)]
    pub unit_tests: Mapping,
    #[serde(default)]
    pub on_run_start: Hooks,
    #[serde(default)]
    pub on_run_end: Hooks,
    #[serde(default)]
    pub dispatch: Vec<DispatchEntry>,
    #[serde(default)]
    pub quoting: Mapping,
    #[serde(default)]
    pub require_dbt_version: Option<VersionSpec>,
    #[serde(default)]
    pub flags: Mapping,
    /// `restrict-access: true`: protected models may not be referenced from
    /// other packages.
    #[serde(default)]
    pub restrict_access: Option<bool>,
    /// Some(Null) for an explicit `query-comment: null` (comments off).
    #[serde(default, deserialize_with = "explicit_null")]
    pub query_comment: Option<Yaml>,
}

fn explicit_null<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<Yaml>, D::Error> {
    Yaml::deserialize(d).map(Some)
}

/// on-run-start / on-run-end: a string or a list of strings.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(from = "Option<StringOrList>")]
pub struct Hooks(pub Vec<String>);

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum StringOrList {
    One(String),
    Many(Vec<String>),
}

impl From<Option<StringOrList>> for Hooks {
    fn from(v: Option<StringOrList>) -> Hooks {
        match v {
            None => Hooks(Vec::new()),
            Some(StringOrList::One(s)) => Hooks(vec![s]),
            Some(StringOrList::Many(v)) => Hooks(v),
        }
    }
}

/// require-dbt-version: one range string or a list of them.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum VersionSpec {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Clone, Deserialize)]
pub struct DispatchEntry {
    pub macro_namespace: String,
    pub search_order: Vec<String>,
}

/// Resource directories of a project, with dbt's defaults filled in.
#[derive(Debug, Clone)]
pub struct Paths {
    pub models: Vec<String>,
    pub seeds: Vec<String>,
    pub tests: Vec<String>,
    pub macros: Vec<String>,
    pub snapshots: Vec<String>,
    pub analyses: Vec<String>,
    pub docs: Vec<String>,
    pub target: String,
    pub clean_targets: Vec<String>,
    pub packages_install: String,
}

impl DbtProject {
    /// Reads and checks `dir/dbt_project.yml`. `display` is the path shown in errors.
    pub fn load(dir: &Path, display: &Path) -> Result<DbtProject> {
        let path = dir.join("dbt_project.yml");
        let text = std::fs::read_to_string(&path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Error::new(format!("no dbt_project.yml in {}", dir.display()))
                    .note("run kiln inside a dbt project, pass --project-dir, or create one with `kiln init NAME`")
            } else {
                Error::io("read", &path, e)
            }
        })?;
        Self::from_text(display, &text)
    }

    pub fn from_text(display: &Path, text: &str) -> Result<DbtProject> {
        let raw: Yaml = yaml::parse(display, text)?;
        if !matches!(raw, Yaml::Mapping(_)) {
            return Err(Error::new("dbt_project.yml must be a YAML mapping")
                .at(crate::error::Location::file(display)));
        }
        if raw.get("name").is_none() {
            return Err(Error::new("dbt_project.yml has no `name:`")
                .at(crate::error::Location::file(display))
                .note("add `name: my_project` (letters, digits and underscores)"));
        }
        let project: DbtProject = yaml::parse(display, text)?;
        if !is_identifier(&project.name) {
            return Err(Error::new(format!(
                "project name '{}' is not valid: use letters, digits and underscores, not starting with a digit",
                project.name
            ))
            .at(yaml::locate_key_value(display, text, "name", &project.name)));
        }
        if let Some(v) = project.config_version {
            if v != 2 {
                return Err(Error::new(format!(
                    "config-version {v} is not supported; use config-version: 2"
                ))
                .at(yaml::locate_text(display, text, "config-version")));
            }
        }
        Ok(project)
    }

    pub fn paths(&self) -> Paths {
        let or =
            |v: &Option<Vec<String>>, d: &str| v.clone().unwrap_or_else(|| vec![d.to_string()]);
        let models = or(&self.model_paths, "models");
        let seeds = or(&self.seed_paths, "seeds");
        let tests = or(&self.test_paths, "tests");
        let macros = or(&self.macro_paths, "macros");
        let snapshots = or(&self.snapshot_paths, "snapshots");
        let analyses = or(&self.analysis_paths, "analyses");
        let docs = self.docs_paths.clone().unwrap_or_else(|| {
            [&models, &seeds, &tests, &macros, &snapshots, &analyses]
                .into_iter()
                .flatten()
                .cloned()
                .collect()
        });
        // --target-path (or DBT_TARGET_PATH) wins over the project's setting, as in dbt.
        let target = std::env::var("DBT_TARGET_PATH")
            .ok()
            .filter(|p| !p.is_empty())
            .or_else(|| self.target_path.clone())
            .unwrap_or_else(|| "target".to_string());
        let clean_targets = self
            .clean_targets
            .clone()
            .unwrap_or_else(|| vec![target.clone()]);
        Paths {
            models,
            seeds,
            tests,
            macros,
            snapshots,
            analyses,
            docs,
            target,
            clean_targets,
            packages_install: self
                .packages_install_path
                .clone()
                .unwrap_or_else(|| "dbt_packages".to_string()),
        }
    }

    pub fn version_string(&self) -> Option<String> {
        self.version.as_ref().and_then(yaml::scalar_string)
    }
}

/// A dbt identifier: letters, digits, underscores, not starting with a digit.
pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_dbt() {
        let p = DbtProject::from_text(Path::new("dbt_project.yml"), "name: shop\n").unwrap();
        let paths = p.paths();
        assert_eq!(paths.models, vec!["models"]);
        assert_eq!(paths.target, "target");
        assert!(paths.docs.contains(&"macros".to_string()));
        assert_eq!(paths.packages_install, "dbt_packages");
    }

    #[test]
    fn bad_name_points_at_line() {
        let err =
            DbtProject::from_text(Path::new("dbt_project.yml"), "version: 1\nname: my-shop\n")
                .unwrap_err();
        assert_eq!(err.location.unwrap().line, 2);
    }
}
