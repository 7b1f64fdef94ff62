//! Loading a dbt project from disk: dbt_project.yml, profiles.yml, installed
//! packages, properties YAML and every resource file. No model Jinja is
//! rendered here; only the YAML values that hold Jinja (env_var, var, target).

pub mod config;
pub mod dbt_project;
pub mod event_time;
pub mod files;
pub mod profiles;
pub mod properties;
pub mod yaml;

use std::path::{Path, PathBuf};

use serde_json::{Map, Value as Json};

use crate::cli::ProjectArgs;
use crate::error::{Error, Location, Result};
use crate::jinja::yaml_render::YamlRenderer;
pub use dbt_project::{DbtProject, Paths};
pub use files::{FileKind, SourceFile};
pub use profiles::Target;

/// The dbt version kiln behaves as, for require-dbt-version and `dbt_version`.
pub const DBT_VERSION: &str = "1.11.0";

/// A loaded project: the root package, its installed packages, and the target.
#[derive(Debug)]
pub struct Project {
    /// The project directory, absolute.
    pub dir: PathBuf,
    /// Root package first, then installed packages in name order.
    pub packages: Vec<Package>,
    pub target: Target,
    /// --vars, as given.
    pub cli_vars: Json,
    /// Problems worth a warning that do not stop the invocation.
    pub warnings: Vec<String>,
    /// Renders Jinja in YAML values (env_var, var, target).
    pub renderer: YamlRenderer,
    /// Renders Jinja in properties YAML (configs, meta, sources, test
    /// configs), where `var` sees the project's vars too, as in dbt.
    pub properties_renderer: YamlRenderer,
    /// The `flags` templates see (FULL_REFRESH, WHICH, ...); commands set them.
    pub flags: Json,
}

/// A dbt project on disk: the root project or one installed under dbt_packages/.
#[derive(Debug)]
pub struct Package {
    pub name: String,
    pub dir: PathBuf,
    pub is_root: bool,
    pub project: DbtProject,
    pub paths: Paths,
    /// dbt_project.yml as written, for pointing at lines.
    pub project_text: String,
    /// Config trees from dbt_project.yml, Jinja rendered (hooks left as written).
    pub trees: ConfigTrees,
    pub files: Vec<SourceFile>,
}

impl Package {
    /// dbt_project.yml without its vars and config trees, as text: what
    /// else in it can change a render. The render cache keys on this; vars
    /// and node configs it checks one by one.
    pub fn render_settings(&self) -> String {
        let mut p = self.project.clone();
        for tree in [
            &mut p.vars,
            &mut p.models,
            &mut p.seeds,
            &mut p.snapshots,
            &mut p.data_tests,
            &mut p.sources,
            &mut p.analyses,
            &mut p.exposures,
            &mut p.unit_tests,
        ] {
            tree.clear();
        }
        format!("{p:?}")
    }
}

/// The `models:`, `seeds:`, ... trees of one dbt_project.yml.
#[derive(Debug, Clone, Default)]
pub struct ConfigTrees {
    pub models: Json,
    pub seeds: Json,
    pub snapshots: Json,
    pub data_tests: Json,
    pub sources: Json,
    pub analyses: Json,
    pub exposures: Json,
    pub unit_tests: Json,
}

impl ConfigTrees {
    /// The tree that configures resources of `resource_type`.
    pub fn for_type(&self, resource_type: &str) -> &Json {
        match resource_type {
            "model" => &self.models,
            "seed" => &self.seeds,
            "snapshot" => &self.snapshots,
            "test" => &self.data_tests,
            "source" => &self.sources,
            "analysis" => &self.analyses,
            "exposure" => &self.exposures,
            "unit_test" => &self.unit_tests,
            _ => &Json::Null,
        }
    }
}

impl Project {
    /// Loads the project named by `args` (default: the current directory).
    pub fn load(args: &ProjectArgs) -> Result<Project> {
        let dir = project_dir(args)?;
        let cli_vars = match &args.vars {
            Some(text) => yaml::parse_inline("--vars", text)?,
            None => Json::Object(Map::new()),
        };
        let root_project = DbtProject::load(&dir, Path::new("dbt_project.yml"))?;
        let root_text = std::fs::read_to_string(dir.join("dbt_project.yml")).unwrap_or_default();
        check_required_version(&root_project, &root_text)?;

        let profile_name = args
            .profile
            .clone()
            .or_else(|| root_project.profile.clone())
            .ok_or_else(|| {
                Error::new("no profile named: dbt_project.yml has no `profile:` and --profile was not given")
                    .at(Location::file("dbt_project.yml"))
                    .note(format!("add `profile: {}` and a matching entry in profiles.yml", root_project.name))
            })?;
        let plain = YamlRenderer::new(cli_vars.clone(), None);
        let mut target = profiles::load_target(
            args.profiles_dir.as_deref(),
            &dir,
            &profile_name,
            args.target.as_deref(),
            &plain,
        )?;
        if let Some(n) = args.threads {
            target.threads = n.max(1);
        }
        let renderer = YamlRenderer::new(cli_vars.clone(), Some(target.to_jinja_json()));

        let mut warnings = Vec::new();
        let root = Package::load(
            &dir,
            Path::new(""),
            root_project,
            root_text,
            true,
            &renderer,
            &mut warnings,
        )?;
        let mut packages = vec![root];
        let install_dir = dir.join(&packages[0].paths.packages_install);
        for pkg_dir in installed_package_dirs(&install_dir) {
            let rel = pkg_dir.strip_prefix(&dir).unwrap_or(&pkg_dir).to_path_buf();
            let text = std::fs::read_to_string(pkg_dir.join("dbt_project.yml"))
                .map_err(|e| Error::io("read", &pkg_dir.join("dbt_project.yml"), e))?;
            let proj = DbtProject::from_text(&rel.join("dbt_project.yml"), &text)?;
            if packages.iter().any(|p| p.name == proj.name) {
                return Err(Error::new(format!(
                    "two packages are named '{}' ({} and another)",
                    proj.name,
                    rel.display()
                ))
                .note("remove the duplicate from the packages directory and run `kiln deps`"));
            }
            packages.push(Package::load(
                &pkg_dir,
                &rel,
                proj,
                text,
                false,
                &renderer,
                &mut warnings,
            )?);
        }
        packages[1..].sort_by(|a, b| a.name.cmp(&b.name));
        let target_json = target.to_jinja_json();
        let mut project = Project {
            dir,
            packages,
            target,
            cli_vars,
            warnings,
            renderer,
            properties_renderer: YamlRenderer::new(Json::Null, None),
            flags: serde_json::json!({
                "FULL_REFRESH": false,
                "STORE_FAILURES": false,
                "FAIL_FAST": false,
                "WARN_ERROR": false,
                "WHICH": null,
            }),
        };
        // dbt_project.yml `flags:` (behaviour flags), visible to templates
        // as `flags` and `adapter.behavior`.
        let project_flags = yaml::to_json(&serde_yaml::Value::Mapping(
            project.packages[0].project.flags.clone(),
        ));
        if let (Json::Object(all), Json::Object(own)) = (&mut project.flags, project_flags) {
            for (k, v) in own {
                all.insert(k.to_uppercase(), v.clone());
                all.insert(k, v);
            }
        }
        let vars = project.vars_for(&project.packages[0].name.clone());
        project.properties_renderer = YamlRenderer::new(Json::Object(vars), Some(target_json));
        Ok(project)
    }

    pub fn root(&self) -> &Package {
        &self.packages[0]
    }

    pub fn root_name(&self) -> &str {
        &self.packages[0].name
    }

    pub fn package(&self, name: &str) -> Option<&Package> {
        self.packages.iter().find(|p| p.name == name)
    }

    /// The target directory (artifacts, compiled SQL), absolute.
    pub fn target_dir(&self) -> PathBuf {
        self.dir.join(&self.root().paths.target)
    }

    /// Vars visible to nodes of `package`, in dbt's precedence:
    /// --vars > root project (package-scoped, then global) > the package's own.
    pub fn vars_for(&self, package: &str) -> Map<String, Json> {
        let names: Vec<&str> = self.packages.iter().map(|p| p.name.as_str()).collect();
        let mut out = Map::new();
        let mut add_from = |vars: &serde_yaml::Mapping, scoped_only: bool| {
            let json = yaml::to_json(&serde_yaml::Value::Mapping(vars.clone()));
            let Json::Object(map) = json else { return };
            if !scoped_only {
                for (k, v) in &map {
                    if !names.contains(&k.as_str()) {
                        out.insert(k.clone(), v.clone());
                    }
                }
            }
            if let Some(Json::Object(scoped)) = map.get(package) {
                for (k, v) in scoped {
                    out.insert(k.clone(), v.clone());
                }
            }
        };
        if let Some(pkg) = self.package(package) {
            if !pkg.is_root {
                add_from(&pkg.project.vars, false);
            }
        }
        add_from(&self.root().project.vars, false);
        if let Json::Object(cli) = &self.cli_vars {
            for (k, v) in cli {
                out.insert(k.clone(), v.clone());
            }
        }
        out
    }
}

impl Package {
    fn load(
        dir: &Path,
        display_dir: &Path,
        project: DbtProject,
        project_text: String,
        is_root: bool,
        renderer: &YamlRenderer,
        warnings: &mut Vec<String>,
    ) -> Result<Package> {
        let paths = project.paths();
        let display = display_dir.join("dbt_project.yml");
        let render = |m: &serde_yaml::Mapping| -> Result<Json> {
            let json = yaml::to_json(&serde_yaml::Value::Mapping(m.clone()));
            renderer.render_value_skipping(&json, &display, &project_text, &|k| {
                matches!(
                    k,
                    "+pre-hook"
                        | "+post-hook"
                        | "pre-hook"
                        | "post-hook"
                        | "+pre_hook"
                        | "+post_hook"
                )
            })
        };
        let trees = ConfigTrees {
            models: render(&project.models)?,
            seeds: render(&project.seeds)?,
            snapshots: render(&project.snapshots)?,
            data_tests: render(&project.data_tests)?,
            sources: render(&project.sources)?,
            analyses: render(&project.analyses)?,
            exposures: render(&project.exposures)?,
            unit_tests: render(&project.unit_tests)?,
        };
        for tree in [
            &trees.models,
            &trees.seeds,
            &trees.snapshots,
            &trees.data_tests,
            &trees.sources,
        ] {
            let mut found = Vec::new();
            config::unknown_keys(tree, &mut Vec::new(), &mut found);
            for (at, suggestion) in found {
                let mut w = format!(
                    "{}: unknown config `{at}` is kept as a custom config",
                    display.display()
                );
                if let Some(s) = suggestion {
                    w.push_str(&format!(" (did you mean '+{s}'?)"));
                }
                warnings.push(w);
            }
        }
        let files = files::discover(dir, &paths)?;
        Ok(Package {
            name: project.name.clone(),
            dir: dir.to_path_buf(),
            is_root,
            project,
            paths,
            project_text,
            trees,
            files,
        })
    }

    /// How a file of this package is shown in messages: relative to the root project.
    pub fn display_path(&self, file: &SourceFile) -> PathBuf {
        if self.is_root {
            PathBuf::from(&file.path)
        } else {
            let root_rel = self.dir.components().rev().take(2).collect::<Vec<_>>();
            let mut p = PathBuf::new();
            for c in root_rel.into_iter().rev() {
                p.push(c.as_os_str());
            }
            p.join(&file.path)
        }
    }
}

/// The project directory from --project-dir or the current directory, made absolute.
pub fn project_dir(args: &ProjectArgs) -> Result<PathBuf> {
    let dir = match &args.project_dir {
        Some(d) => d.clone(),
        None => std::env::current_dir()
            .map_err(|e| Error::new(format!("cannot read the current directory: {e}")))?,
    };
    if !dir.is_dir() {
        return Err(Error::new(format!(
            "project directory {} does not exist",
            dir.display()
        )));
    }
    std::fs::canonicalize(&dir).map_err(|e| Error::io("open", &dir, e))
}

/// The project directory and its paths, from dbt_project.yml alone (no
/// profile): for commands that only move files (clean, deps, retry, docs serve).
pub fn dir_and_paths(args: &ProjectArgs) -> Result<(PathBuf, Paths)> {
    let dir = project_dir(args)?;
    let paths = DbtProject::load(&dir, Path::new("dbt_project.yml"))?.paths();
    Ok((dir, paths))
}

/// Package directories under the install path: each with a dbt_project.yml.
fn installed_package_dirs(install_dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(install_dir) else {
        return Vec::new();
    };
    let mut dirs: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("dbt_project.yml").is_file())
        .collect();
    dirs.sort();
    dirs
}

/// Checks require-dbt-version against the dbt version kiln behaves as.
fn check_required_version(project: &DbtProject, text: &str) -> Result<()> {
    let specs = match &project.require_dbt_version {
        None => return Ok(()),
        Some(dbt_project::VersionSpec::One(s)) => vec![s.clone()],
        Some(dbt_project::VersionSpec::Many(v)) => v.clone(),
    };
    let have = parse_version(DBT_VERSION).unwrap_or_default();
    for spec in &specs {
        for part in spec.split(',') {
            let part = part.trim();
            let (op, ver) = split_op(part);
            let Some(want) = parse_version(ver) else {
                return Err(Error::new(format!(
                    "require-dbt-version '{part}' is not a version range"
                ))
                .at(yaml::locate_text(
                    Path::new("dbt_project.yml"),
                    text,
                    "require-dbt-version",
                )));
            };
            let ok = match op {
                ">=" => have >= want,
                ">" => have > want,
                "<=" => have <= want,
                "<" => have < want,
                "!=" => have != want,
                _ => have == want,
            };
            if !ok {
                return Err(Error::new(format!(
                    "this project requires dbt {part}; kiln is compatible with dbt {DBT_VERSION}"
                ))
                .at(yaml::locate_text(
                    Path::new("dbt_project.yml"),
                    text,
                    "require-dbt-version",
                )));
            }
        }
    }
    Ok(())
}

fn split_op(s: &str) -> (&str, &str) {
    for op in [">=", "<=", "!=", "==", ">", "<", "="] {
        if let Some(rest) = s.strip_prefix(op) {
            return (op, rest.trim());
        }
    }
    ("==", s)
}

fn parse_version(s: &str) -> Option<(u64, u64, u64)> {
    let mut parts = s.trim().trim_start_matches('v').split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().map(|p| p.parse().ok()).unwrap_or(Some(0))?;
    let patch = parts
        .next()
        .map(|p| {
            p.chars()
                .take_while(|c| c.is_ascii_digit())
                .collect::<String>()
                .parse()
                .ok()
        })
        .unwrap_or(Some(0))?;
    Some((major, minor, patch))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_ranges() {
        let p = |spec: &str| DbtProject {
            name: "x".into(),
            require_dbt_version: Some(dbt_project::VersionSpec::One(spec.into())),
            ..Default::default()
        };
        assert!(check_required_version(&p(">=1.0.0,<2.0.0"), "").is_ok());
        assert!(check_required_version(&p(">=1.12.0"), "").is_err());
    }
}
