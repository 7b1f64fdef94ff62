//! Reading YAML files with errors that point at the offending line.

use std::path::Path;

use serde::de::DeserializeOwned;
use serde_yaml::Value as Yaml;

use crate::error::{find_line, Error, Location, Result};

/// Parses `text` (the contents of `display_path`) as YAML into `T`.
/// YAML anchors work as they do for dbt, `<<:` merge keys included.
pub fn parse<T: DeserializeOwned>(display_path: &Path, text: &str) -> Result<T> {
    if !text.contains("<<") {
        return serde_yaml::from_str(text).map_err(|e| yaml_error(display_path, text, &e));
    }
    let mut doc: Yaml =
        serde_yaml::from_str(text).map_err(|e| yaml_error(display_path, text, &e))?;
    doc.apply_merge()
        .map_err(|e| yaml_error(display_path, text, &e))?;
    serde_yaml::from_value(doc).map_err(|e| yaml_error(display_path, text, &e))
}

/// Turns a serde_yaml error into a located, readable error.
pub fn yaml_error(display_path: &Path, text: &str, e: &serde_yaml::Error) -> Error {
    let mut message = e.to_string();
    // serde_yaml appends " at line X column Y"; the location line says that already.
    if let Some(idx) = message.find(" at line ") {
        message.truncate(idx);
    }
    let err = Error::new(format!(
        "invalid YAML in {}: {message}",
        display_path.display()
    ))
    .note("check the indentation and quoting around this line");
    match e.location() {
        Some(loc) => err.at(Location::in_text(
            display_path,
            text,
            loc.line(),
            loc.column(),
        )),
        None => err.at(Location::file(display_path)),
    }
}

/// The location of `name: <name>` in a YAML file, for errors about one entry.
pub fn locate_name(display_path: &Path, text: &str, name: &str) -> Location {
    locate_key_value(display_path, text, "name", name)
}

/// The location of the first line holding `key: value` (quoted or not).
pub fn locate_key_value(display_path: &Path, text: &str, key: &str, value: &str) -> Location {
    for (idx, line) in text.lines().enumerate() {
        let trimmed = line.trim_start().trim_start_matches("- ").trim_start();
        if let Some(rest) = trimmed.strip_prefix(key) {
            if let Some(v) = rest.trim_start().strip_prefix(':') {
                let v = v.trim().trim_matches(|c| c == '"' || c == '\'');
                if v == value {
                    let col = line.find(key).unwrap_or(0) + 1;
                    return Location::in_text(display_path, text, idx + 1, col);
                }
            }
        }
    }
    locate_text(display_path, text, value)
}

/// The location of the first occurrence of `needle`, or just the file.
pub fn locate_text(display_path: &Path, text: &str, needle: &str) -> Location {
    match find_line(text, needle) {
        Some((line, col)) => Location::in_text(display_path, text, line, col),
        None => Location::file(display_path),
    }
}

/// A YAML scalar as the string a user wrote (numbers and booleans included).
pub fn scalar_string(v: &Yaml) -> Option<String> {
    match v {
        Yaml::String(s) => Some(s.clone()),
        Yaml::Number(n) => Some(n.to_string()),
        Yaml::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Converts YAML to JSON, the form configs and the manifest carry.
pub fn to_json(v: &Yaml) -> serde_json::Value {
    match v {
        Yaml::Null => serde_json::Value::Null,
        Yaml::Bool(b) => serde_json::Value::Bool(*b),
        Yaml::Number(n) => {
            if let Some(i) = n.as_i64() {
                serde_json::Value::from(i)
            } else if let Some(u) = n.as_u64() {
                serde_json::Value::from(u)
            } else {
                n.as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map(serde_json::Value::Number)
                    .unwrap_or(serde_json::Value::Null)
            }
        }
        Yaml::String(s) => serde_json::Value::String(s.clone()),
        Yaml::Sequence(seq) => serde_json::Value::Array(seq.iter().map(to_json).collect()),
        Yaml::Mapping(map) => {
            let mut out = serde_json::Map::new();
            for (k, v) in map {
                let key = scalar_string(k).unwrap_or_else(|| format!("{k:?}"));
                out.insert(key, to_json(v));
            }
            serde_json::Value::Object(out)
        }
        Yaml::Tagged(t) => to_json(&t.value),
    }
}

/// Parses a YAML document from a string given on the command line (--vars, --args).
pub fn parse_inline(what: &str, text: &str) -> Result<serde_json::Value> {
    if text.trim().is_empty() {
        return Ok(serde_json::Value::Object(Default::default()));
    }
    let v: Yaml = serde_yaml::from_str(text).map_err(|e| {
        Error::new(format!("{what} is not valid YAML: {e}")).note(format!(
            "{what} takes a YAML dictionary, e.g. '{{key: value}}'"
        ))
    })?;
    match v {
        Yaml::Mapping(_) => Ok(to_json(&v)),
        Yaml::Null => Ok(serde_json::Value::Object(Default::default())),
        _ => Err(
            Error::new(format!("{what} must be a YAML dictionary, got: {text}")).note(format!(
                "{what} takes a YAML dictionary, e.g. '{{key: value}}'"
            )),
        ),
    }
}

/// Serialises JSON as YAML text (for `toyaml`).
pub fn json_to_yaml_string(v: &serde_json::Value) -> std::result::Result<String, String> {
    serde_yaml::to_string(v).map_err(|e| e.to_string())
}

/// Parses YAML text into JSON (for `fromyaml`).
pub fn yaml_string_to_json(text: &str) -> std::result::Result<serde_json::Value, String> {
    serde_yaml::from_str::<Yaml>(text)
        .map(|y| to_json(&y))
        .map_err(|e| e.to_string())
}

/// Reads an optional YAML file in the project (selectors.yml, packages.yml) as JSON.
pub fn read_optional(path: &Path, display: &Path) -> Result<Option<(String, serde_json::Value)>> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let doc: Yaml = parse(display, &text)?;
            Ok(Some((text, to_json(&doc))))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("read", path, e)),
    }
}

/// JSON written out as YAML (package-lock.yml).
pub fn to_yaml_string(value: &serde_json::Value) -> String {
    serde_yaml::to_string(value).unwrap_or_default()
}
