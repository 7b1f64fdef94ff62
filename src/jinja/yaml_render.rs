//! Rendering Jinja inside YAML values (profiles.yml, dbt_project.yml,
//! sources): env_var, var (command-line vars only, as dbt), target, and the
//! as_bool / as_number / as_native filters that turn text into typed values.

use std::path::Path;

use minijinja::{Environment, Value};
use serde_json::Value as Json;

use crate::error::{find_line, Error, Location, Result};
use crate::jinja::builtins;

pub struct YamlRenderer {
    env: Environment<'static>,
}

impl std::fmt::Debug for YamlRenderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("YamlRenderer")
    }
}

/// Filters that ask for a typed (native) result instead of text.
const NATIVE_FILTERS: [&str; 3] = ["as_number", "as_bool", "as_native"];

impl YamlRenderer {
    /// `cli_vars` are the --vars; `target` is present once a profile is known.
    pub fn new(cli_vars: Json, target: Option<Json>) -> YamlRenderer {
        let mut env = Environment::new();
        let vars = crate::jinja::to_value(&cli_vars);
        env.add_function("env_var", builtins::env_var_function);
        env.add_function(
            "var",
            move |name: String, default: Option<Value>| -> Result<Value, minijinja::Error> {
                match vars.get_attr(&name) {
                    Ok(v) if !v.is_undefined() => Ok(v),
                    _ => default.ok_or_else(|| {
                        minijinja::Error::new(
                            minijinja::ErrorKind::InvalidOperation,
                            format!(
                                "required var '{name}' not found (only --vars are available here)"
                            ),
                        )
                    }),
                }
            },
        );
        if let Some(t) = target {
            env.add_global("target", crate::jinja::to_value(&t));
        }
        for name in NATIVE_FILTERS {
            env.add_filter(name, |v: Value| v);
        }
        env.add_filter("as_text", |v: Value| v.to_string());
        YamlRenderer { env }
    }

    /// Renders every string in `value` that holds Jinja.
    pub fn render_value(&self, value: &Json, path: &Path, text: &str) -> Result<Json> {
        self.render_value_skipping(value, path, text, &|_| false)
    }

    /// Like `render_value`, but leaves the values under keys for which `skip`
    /// says true as written (dbt does not render hooks or vars at load time).
    pub fn render_value_skipping(
        &self,
        value: &Json,
        path: &Path,
        text: &str,
        skip: &dyn Fn(&str) -> bool,
    ) -> Result<Json> {
        Ok(match value {
            Json::String(s) => self.render_string(s, path, text)?,
            Json::Array(items) => Json::Array(
                items
                    .iter()
                    .map(|v| self.render_value_skipping(v, path, text, skip))
                    .collect::<Result<_>>()?,
            ),
            Json::Object(map) => {
                let mut out = serde_json::Map::new();
                for (k, v) in map {
                    let v = if skip(k) {
                        v.clone()
                    } else {
                        self.render_value_skipping(v, path, text, skip)?
                    };
                    out.insert(k.clone(), v);
                }
                Json::Object(out)
            }
            other => other.clone(),
        })
    }

    /// Renders one string; a native filter makes the result typed.
    pub fn render_string(&self, s: &str, path: &Path, text: &str) -> Result<Json> {
        if !(s.contains("{{") || s.contains("{%")) {
            return Ok(Json::String(s.to_string()));
        }
        let rendered = self.env.render_str(s, ()).map_err(|e| {
            let loc = match find_line(text, s.lines().next().unwrap_or(s)) {
                Some((line, col)) => Location::in_text(path, text, line, col),
                None => Location::file(path),
            };
            Error::new(format!(
                "could not render `{s}`: {}",
                builtins::describe(&e)
            ))
            .at(loc)
        })?;
        if NATIVE_FILTERS.iter().any(|f| s.contains(f)) {
            Ok(native_value(&rendered))
        } else {
            Ok(Json::String(rendered))
        }
    }
}

/// Text as the typed value it spells (number, bool, list, ...), or the text.
fn native_value(text: &str) -> Json {
    let t = text.trim();
    match t {
        "True" | "true" => return Json::Bool(true),
        "False" | "false" => return Json::Bool(false),
        "None" | "null" => return Json::Null,
        _ => {}
    }
    if let Ok(i) = t.parse::<i64>() {
        return Json::from(i);
    }
    if let Ok(f) = t.parse::<f64>() {
        return Json::from(f);
    }
    serde_json::from_str(t).unwrap_or_else(|_| Json::String(text.to_string()))
}
