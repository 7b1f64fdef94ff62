//! profiles.yml: profile → target → outputs, found the way dbt finds it and
//! rendered with env_var and the as_number / as_bool / as_native filters.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value as Json};
use serde_yaml::Value as Yaml;

use crate::error::{Error, Location, Result};
use crate::jinja::yaml_render::YamlRenderer;
use crate::project::yaml;

/// The output of a profile that this invocation connects to.
#[derive(Debug, Clone)]
pub struct Target {
    pub profile_name: String,
    /// The target's name (`dev`, `prod`, ...).
    pub name: String,
    pub adapter_type: String,
    pub schema: String,
    pub database: String,
    pub threads: usize,
    /// Every rendered field of the output (path, extensions, settings, ...).
    pub fields: Map<String, Json>,
    /// The profiles.yml this came from, for messages.
    pub profiles_path: PathBuf,
}

impl Target {
    /// DuckDB's database file; `None` for an in-memory database.
    pub fn duckdb_path(&self) -> Option<PathBuf> {
        match self.fields.get("path").and_then(Json::as_str) {
            None | Some("") | Some(":memory:") => None,
            Some(p) if p.starts_with("md:") => Some(PathBuf::from(p)),
            Some(p) => Some(local_path(p)),
        }
    }

    /// The `target` variable templates see: every field, plus dbt's standard ones.
    /// Values that came from secret env vars are masked, and `secrets:`
    /// (dbt-duckdb's) keep only their names and types.
    pub fn to_jinja_json(&self) -> Json {
        let mut m = self.fields.clone();
        if let Some(Json::Array(secrets)) = m.get_mut("secrets") {
            for secret in secrets.iter_mut() {
                if let Json::Object(fields) = secret {
                    fields.retain(|k, _| matches!(k.as_str(), "type" | "name" | "provider"));
                }
            }
        }
        m.insert("name".into(), Json::from(self.name.clone()));
        m.insert("target_name".into(), Json::from(self.name.clone()));
        m.insert("profile_name".into(), Json::from(self.profile_name.clone()));
        m.insert("type".into(), Json::from(self.adapter_type.clone()));
        m.insert("schema".into(), Json::from(self.schema.clone()));
        m.insert("database".into(), Json::from(self.database.clone()));
        m.insert("threads".into(), Json::from(self.threads));
        Json::Object(m)
    }
}

/// Where profiles.yml is looked for, in dbt's order.
pub fn candidate_dirs(flag: Option<&Path>, project_dir: &Path) -> Vec<(PathBuf, &'static str)> {
    let mut dirs = Vec::new();
    if let Some(d) = flag {
        dirs.push((d.to_path_buf(), "--profiles-dir"));
        return dirs;
    }
    if let Some(d) = std::env::var_os("DBT_PROFILES_DIR") {
        dirs.push((PathBuf::from(d), "DBT_PROFILES_DIR"));
        return dirs;
    }
    dirs.push((project_dir.to_path_buf(), "the project directory"));
    if let Some(home) = dirs::home_dir() {
        dirs.push((home.join(".dbt"), "~/.dbt"));
    }
    dirs
}

/// Finds profiles.yml and resolves `profile_name` / `target_override` into a Target.
pub fn load_target(
    profiles_dir: Option<&Path>,
    project_dir: &Path,
    profile_name: &str,
    target_override: Option<&str>,
    renderer: &YamlRenderer,
) -> Result<Target> {
    let dirs = candidate_dirs(profiles_dir, project_dir);
    let found = dirs
        .iter()
        .map(|(d, _)| d.join("profiles.yml"))
        .find(|p| p.is_file());
    let Some(path) = found else {
        let looked: Vec<String> = dirs
            .iter()
            .map(|(d, why)| format!("{} ({why})", d.join("profiles.yml").display()))
            .collect();
        return Err(Error::new(format!(
            "no profiles.yml found for profile '{profile_name}'"
        ))
        .note(format!("looked in: {}", looked.join(", ")))
        .note("create one next to dbt_project.yml (see `kiln init`), or pass --profiles-dir"));
    };
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io("read", &path, e))?;
    parse_target(&path, &text, profile_name, target_override, renderer)
}

/// The profile `type:`s kiln can build on.
pub const SUPPORTED_TYPES: [&str; 3] = ["duckdb", "postgres", "spark"];

pub fn parse_target(
    path: &Path,
    text: &str,
    profile_name: &str,
    target_override: Option<&str>,
    renderer: &YamlRenderer,
) -> Result<Target> {
    let doc: Yaml = yaml::parse(path, text)?;
    let Some(profile) = doc.get(profile_name) else {
        let names: Vec<&str> = doc
            .as_mapping()
            .map(|m| {
                m.keys()
                    .filter_map(Yaml::as_str)
                    .filter(|k| *k != "config")
                    .collect()
            })
            .unwrap_or_default();
        return Err(Error::new(format!(
            "profile '{profile_name}' is not in {}",
            path.display()
        ))
        .at(Location::file(path))
        .suggest(profile_name, names.iter().copied())
        .note(format!(
            "profiles found: {}",
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        )));
    };
    let profile_loc = || yaml::locate_text(path, text, &format!("{profile_name}:"));
    let outputs = profile
        .get("outputs")
        .and_then(Yaml::as_mapping)
        .ok_or_else(|| {
            Error::new(format!("profile '{profile_name}' has no `outputs:`"))
                .at(profile_loc())
                .note("add outputs, e.g. `outputs: {dev: {type: duckdb, path: dev.duckdb}}`")
        })?;
    let default_target = match profile.get("target") {
        Some(t) => renderer
            .render_value(&yaml::to_json(t), path, text)?
            .as_str()
            .map(str::to_string),
        None => None,
    };
    let target_name = target_override
        .map(str::to_string)
        .or(default_target)
        .unwrap_or_else(|| "default".to_string());
    let output_names: Vec<&str> = outputs.keys().filter_map(Yaml::as_str).collect();
    let Some(output) = outputs.get(target_name.as_str()) else {
        return Err(Error::new(format!(
            "target '{target_name}' is not an output of profile '{profile_name}'"
        ))
        .at(profile_loc())
        .suggest(&target_name, output_names.iter().copied())
        .note(format!("outputs: {}", output_names.join(", "))));
    };
    let rendered = renderer.render_value(&yaml::to_json(output), path, text)?;
    let Json::Object(fields) = rendered else {
        return Err(Error::new(format!(
            "output '{target_name}' of profile '{profile_name}' must be a mapping"
        ))
        .at(yaml::locate_text(path, text, &format!("{target_name}:"))));
    };
    let out_loc = || yaml::locate_text(path, text, &format!("{target_name}:"));
    let adapter_type = fields
        .get("type")
        .and_then(Json::as_str)
        .ok_or_else(|| {
            Error::new(format!("output '{target_name}' has no `type:`"))
                .at(out_loc())
                .note(format!(
                    "kiln supports `type:` {}",
                    SUPPORTED_TYPES.join(", ")
                ))
        })?
        .to_string();
    if !SUPPORTED_TYPES.contains(&adapter_type.as_str()) {
        return Err(Error::new(format!(
            "output '{target_name}' has type '{adapter_type}', which kiln does not support yet"
        ))
        .at(yaml::locate_key_value(path, text, "type", &adapter_type))
        .suggest(&adapter_type, SUPPORTED_TYPES.iter().copied())
        .note(format!(
            "kiln supports `type:` {}",
            SUPPORTED_TYPES.join(", ")
        )));
    }
    let threads = match fields.get("threads") {
        None => 1,
        Some(v) => json_usize(v).filter(|n| *n > 0).ok_or_else(|| {
            Error::new(format!(
                "`threads` must be a positive whole number, got {v}"
            ))
            .at(yaml::locate_text(path, text, "threads"))
        })?,
    };
    let (schema, database) = if adapter_type == "postgres" {
        // dbt-postgres: `dbname` (or its alias `database`) and `schema` are required.
        let required = |key: &str, alias: Option<&str>| -> Result<String> {
            fields
                .get(key)
                .or_else(|| alias.and_then(|a| fields.get(a)))
                .and_then(Json::as_str)
                .map(str::to_string)
                .ok_or_else(|| {
                    Error::new(format!(
                        "output '{target_name}' of type postgres needs `{key}:`"
                    ))
                    .at(out_loc())
                    .note(
                        "a dbt-postgres output names host, port, user, password, dbname and schema",
                    )
                })
        };
        for key in ["host", "user"] {
            required(key, None)?;
        }
        (
            required("schema", None)?,
            required("dbname", Some("database"))?,
        )
    } else if adapter_type == "spark" {
        // dbt-spark: a schema (Spark's database); relations have no database part.
        let schema = fields
            .get("schema")
            .and_then(Json::as_str)
            .ok_or_else(|| {
                Error::new(format!(
                    "output '{target_name}' of type spark needs `schema:`"
                ))
                .at(out_loc())
            })?
            .to_string();
        (schema, String::new())
    } else {
        let schema = fields
            .get("schema")
            .and_then(Json::as_str)
            .unwrap_or("main")
            .to_string();
        let database = match fields.get("database").and_then(Json::as_str) {
            Some(db) => db.to_string(),
            None => duckdb_database_name(fields.get("path").and_then(Json::as_str)),
        };
        (schema, database)
    };
    Ok(Target {
        profile_name: profile_name.to_string(),
        name: target_name,
        adapter_type,
        schema,
        database,
        threads,
        fields,
        profiles_path: path.to_path_buf(),
    })
}

/// DuckDB names a database after its file's stem; in-memory databases are `memory`.
pub fn duckdb_database_name(path: Option<&str>) -> String {
    match path {
        None | Some("") | Some(":memory:") => "memory".to_string(),
        Some(p) => {
            let p = p.strip_prefix("md:").unwrap_or(p);
            Path::new(p)
                .file_stem()
                .and_then(|s| s.to_str())
                .map(|s| s.split('.').next().unwrap_or(s).to_string())
                .unwrap_or_else(|| "memory".to_string())
        }
    }
}

fn json_usize(v: &Json) -> Option<usize> {
    match v {
        Json::Number(n) => n.as_u64().map(|n| n as usize),
        Json::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A relative database path is relative to the directory kiln runs in (not
/// the project's), as dbt-duckdb opens it: `--project-dir` moves where the
/// project is read from, not where its database lives.
pub fn local_path(path: &str) -> PathBuf {
    match std::env::current_dir() {
        Ok(dir) => dir.join(path),
        Err(_) => PathBuf::from(path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(text: &str, over: Option<&str>) -> Result<Target> {
        let r = YamlRenderer::new(Default::default(), None);
        parse_target(Path::new("profiles.yml"), text, "shop", over, &r)
    }

    #[test]
    fn database_defaults_to_file_stem() {
        let t = target("shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: data/shop.duckdb\n      threads: 4\n", None).unwrap();
        assert_eq!(t.database, "shop");
        assert_eq!(t.schema, "main");
        assert_eq!(t.threads, 4);
        assert_eq!(duckdb_database_name(None), "memory");
    }

    #[test]
    fn unknown_target_suggests() {
        let err = target(
            "shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n",
            Some("dve"),
        )
        .unwrap_err();
        assert!(err.to_string().contains("did you mean 'dev'"), "{err}");
    }

    #[test]
    fn templates_see_only_the_names_and_types_of_secrets() {
        let t = target("shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      secrets:\n        - {type: s3, name: lake, key_id: AKIAKILN, secret: very-secret}\n", None).unwrap();
        let json = t.to_jinja_json();
        assert_eq!(
            json["secrets"],
            serde_json::json!([{"type": "s3", "name": "lake"}])
        );
        assert!(!json.to_string().contains("very-secret"));
        // The adapter still has the values, to create the secret.
        assert_eq!(t.fields["secrets"][0]["secret"], "very-secret");
    }

    #[test]
    fn env_var_renders_with_as_number() {
        std::env::set_var("KILN_TEST_THREADS", "3");
        let t = target("shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      threads: \"{{ env_var('KILN_TEST_THREADS') | as_number }}\"\n", None).unwrap();
        assert_eq!(t.threads, 3);
    }
}
