//! `kiln deps`: packages.yml (or dependencies.yml) → package-lock.yml →
//! dbt_packages/. Entries are local paths, git repositories, tarballs and
//! dbt Hub packages. A lock whose hash matches the package list is installed
//! as it is, so locked and local packages install offline.

mod fetch;
pub mod hub;

use std::path::{Path, PathBuf};

use serde_json::{json, Value as Json};

use crate::error::{Error, Location, Result};
use crate::output;
use crate::project::yaml;

/// One resolved package, as package-lock.yml records it.
#[derive(Debug, Clone, PartialEq)]
pub enum Locked {
    Local {
        path: String,
    },
    Git {
        url: String,
        revision: String,
        subdirectory: Option<String>,
    },
    Tarball {
        url: String,
        name: String,
    },
    Hub {
        package: String,
        version: String,
    },
}

impl Locked {
    fn to_json(&self) -> Json {
        match self {
            Locked::Local { path } => json!({"local": path}),
            Locked::Git {
                url,
                revision,
                subdirectory,
            } => {
                let mut m = json!({"git": url, "revision": revision});
                if let Some(s) = subdirectory {
                    m["subdirectory"] = json!(s);
                }
                m
            }
            Locked::Tarball { url, name } => json!({"tarball": url, "name": name}),
            Locked::Hub { package, version } => json!({"package": package, "version": version}),
        }
    }

    fn describe(&self) -> String {
        match self {
            Locked::Local { path } => format!("local {path}"),
            Locked::Git { url, revision, .. } => {
                format!("{url}@{}", &revision[..revision.len().min(12)])
            }
            Locked::Tarball { url, .. } => url.clone(),
            Locked::Hub { package, version } => format!("{package}@{version}"),
        }
    }
}

/// The package list and where it came from.
struct Spec {
    file: &'static str,
    entries: Vec<Json>,
    hash: String,
}

fn read_spec(dir: &Path) -> Result<Option<Spec>> {
    for file in ["packages.yml", "dependencies.yml"] {
        if let Some((text, doc)) = yaml::read_optional(&dir.join(file), Path::new(file))? {
            let entries = doc
                .get("packages")
                .and_then(Json::as_array)
                .cloned()
                .unwrap_or_default();
            let hash = sha1_smol::Sha1::from(Json::Array(entries.clone()).to_string())
                .digest()
                .to_string();
            // As dbt: `env_var()` works in packages.yml (private git tokens).
            let renderer = crate::jinja::yaml_render::YamlRenderer::new(Json::Null, None);
            let entries =
                match renderer.render_value(&Json::Array(entries), Path::new(file), &text)? {
                    Json::Array(list) => list,
                    _ => Vec::new(),
                };
            return Ok(Some(Spec {
                file,
                entries,
                hash,
            }));
        }
    }
    Ok(None)
}

/// Installs the project's packages; returns how many.
pub fn install(project_dir: &Path, install_path: &str) -> Result<usize> {
    let Some(spec) = read_spec(project_dir)? else {
        output::info("No packages.yml or dependencies.yml: nothing to install");
        return Ok(0);
    };
    let lock_path = project_dir.join("package-lock.yml");
    let lock = yaml::read_optional(&lock_path, Path::new("package-lock.yml"))?.map(|(_, d)| d);
    let locked_entries = lock
        .as_ref()
        .filter(|l| l.get("sha1_hash").and_then(Json::as_str) == Some(spec.hash.as_str()))
        .and_then(|l| l.get("packages").and_then(Json::as_array).cloned());
    let install_dir = project_dir.join(install_path);
    std::fs::create_dir_all(&install_dir).map_err(|e| Error::io("create", &install_dir, e))?;
    let from_lock = locked_entries.is_some();
    let entries = locked_entries.unwrap_or(spec.entries.clone());
    if from_lock && !entries.is_empty() {
        output::info("Installing the packages recorded in package-lock.yml");
    }

    let mut installed: Vec<(String, Locked)> = Vec::new();
    let mut queue: Vec<(Json, PathBuf, String)> = entries
        .into_iter()
        .map(|e| (e, project_dir.to_path_buf(), spec.file.to_string()))
        .collect();
    while !queue.is_empty() {
        let (entry, base, from) = queue.remove(0);
        let (name, dir, locked) = fetch::install(&entry, &base, &install_dir)
            .map_err(|e| e.or_at(|| Location::file(&from)))?;
        if installed.iter().any(|(n, _)| *n == name) {
            continue;
        }
        output::info(&format!("Installed {name} ({})", locked.describe()));
        // A package's own packages come along, as in dbt.
        if let Some(sub) = read_spec(&dir)? {
            let base = match &locked {
                Locked::Local { path } => base.join(path),
                _ => dir.clone(),
            };
            let sub_file = format!("{}/{}", name, sub.file);
            queue.extend(
                sub.entries
                    .into_iter()
                    .map(|e| (e, base.clone(), sub_file.clone())),
            );
        }
        installed.push((name, locked));
    }
    remove_stale(&install_dir, &installed)?;
    let lock_doc = json!({
        "packages": installed.iter().map(|(_, l)| l.to_json()).collect::<Vec<_>>(),
        "sha1_hash": spec.hash,
    });
    let text = yaml::to_yaml_string(&lock_doc);
    std::fs::write(&lock_path, text).map_err(|e| Error::io("write", &lock_path, e))?;
    Ok(installed.len())
}

/// Packages kiln installed earlier that are no longer listed.
fn remove_stale(install_dir: &Path, installed: &[(String, Locked)]) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(install_dir) else {
        return Ok(());
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        let ours = e.path().join(fetch::MARKER).exists();
        if ours && !installed.iter().any(|(n, _)| *n == name) {
            std::fs::remove_dir_all(e.path()).map_err(|err| Error::io("remove", &e.path(), err))?;
            output::info(&format!("Removed {name}, no longer listed"));
        }
    }
    Ok(())
}

/// A string field of a package entry.
fn field<'a>(entry: &'a Json, key: &str) -> Option<&'a str> {
    entry.get(key).and_then(Json::as_str)
}

/// Every `version:` constraint of a hub entry, as strings.
fn version_constraints(entry: &Json) -> Vec<String> {
    match entry.get("version") {
        Some(Json::Array(a)) => a.iter().map(json_text).collect(),
        Some(v) if !v.is_null() => vec![json_text(v)],
        _ => Vec::new(),
    }
}

fn json_text(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}
