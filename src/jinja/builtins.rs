//! Context functions and filters that need no node: env_var, return, zip,
//! set, local_md5, tojson/fromjson/toyaml/fromyaml, as_bool/as_number, and
//! the `adapter` object's methods.

use md5::{Digest, Md5};
use minijinja::value::{Kwargs, Rest, Value, ValueKind};
use minijinja::{Error, ErrorKind, State};
use serde_json::Value as Json;

use crate::jinja::macros::RETURN_KEY;
use crate::jinja::methods::List;

/// Env vars with this prefix are secrets: usable in profiles, never printed.
pub const SECRET_PREFIX: &str = "DBT_ENV_SECRET_";

/// Marker detail of the error `return()` raises to end a macro early.
pub const RETURN_MARKER: &str = "__kiln_return__";

/// `return(value)`: ends the running macro with `value` as its result. The
/// value waits in the macro render's temps until its caller collects it.
pub fn return_fn(state: &mut State, value: Option<Value>) -> Result<Value, Error> {
    state.set_temp(RETURN_KEY, value.unwrap_or(Value::from(())));
    Err(Error::new(ErrorKind::InvalidOperation, RETURN_MARKER))
}

/// `env_var(name, default)` for YAML rendering (profiles.yml, dbt_project.yml).
pub fn env_var_function(name: String, default: Option<Value>) -> Result<Value, Error> {
    env_var_value(&name, default).map(Value::from)
}

pub fn env_var_value(name: &str, default: Option<Value>) -> Result<String, Error> {
    match std::env::var(name) {
        Ok(v) => Ok(v),
        Err(_) => match default {
            Some(d) if !d.is_undefined() => Ok(d.to_string()),
            _ => Err(Error::new(
                ErrorKind::InvalidOperation,
                format!("env var '{name}' is not set and env_var() was given no default; set it or add a default: env_var('{name}', '...')"),
            )),
        },
    }
}

/// A readable one-line description of a minijinja error and its causes.
pub fn describe(e: &Error) -> String {
    crate::jinja::errors::describe(e)
}

/// Python's `list(x)`: a mutable copy of any iterable.
pub fn list_function(v: Option<Value>) -> Result<Value, Error> {
    match v {
        None => Ok(List::new_value(Vec::new())),
        Some(v) if v.kind() == ValueKind::String => Ok(List::new_value(
            v.as_str()
                .unwrap_or_default()
                .chars()
                .map(|c| Value::from(c.to_string()))
                .collect(),
        )),
        Some(v) => Ok(List::new_value(v.try_iter()?.collect())),
    }
}

/// Python's `zip(a, b, ...)`.
pub fn zip(args: Rest<Value>) -> Result<Value, Error> {
    let lists: Vec<Vec<Value>> = args
        .iter()
        .map(|a| a.try_iter().map(|it| it.collect()))
        .collect::<Result<_, _>>()?;
    let n = lists.iter().map(Vec::len).min().unwrap_or(0);
    Ok(List::new_value(
        (0..n)
            .map(|i| crate::jinja::modules::tuple(lists.iter().map(|l| l[i].clone()).collect()))
            .collect(),
    ))
}

/// dbt's `zip_strict`: like zip, but iterables of different lengths are an error.
pub fn zip_strict(args: Rest<Value>) -> Result<Value, Error> {
    let lens: Vec<Option<usize>> = args.iter().map(|a| a.len()).collect();
    if lens.windows(2).any(|w| w[0] != w[1]) {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            "zip_strict() was given iterables of different lengths",
        ));
    }
    zip(args)
}

/// dbt's `set(x)`: a Python set of the distinct items of an iterable.
pub fn set_function(v: Option<Value>) -> Result<Value, Error> {
    Ok(crate::jinja::methods::PySet::new_value(match v {
        Some(v) => v.try_iter()?.collect::<Vec<_>>(),
        None => Vec::new(),
    }))
}

pub fn local_md5(s: String) -> String {
    let mut h = Md5::new();
    h.update(s.as_bytes());
    format!("{:x}", h.finalize())
}

fn to_json(v: &Value) -> Result<Json, Error> {
    serde_json::to_value(v).map_err(|e| Error::new(ErrorKind::BadSerialization, e.to_string()))
}

/// `tojson(value, default=None, sort_keys=False)`.
pub fn tojson(v: Value, kwargs: Kwargs) -> Result<String, Error> {
    let sort: bool = kwargs.get::<Option<bool>>("sort_keys")?.unwrap_or(false);
    let _ = kwargs.get::<Option<Value>>("default")?;
    let json = to_json(&v)?;
    let json = if sort { sort_keys(json) } else { json };
    Ok(python_json_string(&json))
}

pub fn tojson_filter(v: Value) -> Result<String, Error> {
    Ok(python_json_string(&to_json(&v)?))
}

/// JSON as Python's json.dumps writes it (", " and ": " separators).
pub fn python_json_string(v: &Json) -> String {
    match v {
        Json::Array(items) => format!(
            "[{}]",
            items
                .iter()
                .map(python_json_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Json::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("{}: {}", Json::String(k.clone()), python_json_string(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.to_string(),
    }
}

fn sort_keys(v: Json) -> Json {
    match v {
        Json::Object(map) => {
            let mut entries: Vec<(String, Json)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Json::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, sort_keys(v)))
                    .collect(),
            )
        }
        Json::Array(items) => Json::Array(items.into_iter().map(sort_keys).collect()),
        other => other,
    }
}

/// Turns parsed JSON/YAML into template values with mutable lists and dicts.
pub fn json_to_value(v: &Json) -> Value {
    match v {
        Json::Array(items) => List::new_value(items.iter().map(json_to_value).collect()),
        Json::Object(map) => crate::jinja::methods::Dict::new_value(
            map.iter()
                .map(|(k, v)| (Value::from(k.clone()), json_to_value(v)))
                .collect(),
        ),
        other => crate::jinja::to_value(other),
    }
}

/// `fromjson(text, default=None)`.
pub fn fromjson(s: String, default: Option<Value>) -> Result<Value, Error> {
    match serde_json::from_str::<Json>(&s) {
        Ok(j) => Ok(json_to_value(&j)),
        Err(e) => {
            default.ok_or_else(|| Error::new(ErrorKind::InvalidOperation, format!("fromjson: {e}")))
        }
    }
}

/// `toyaml(value)`.
pub fn toyaml(v: Value) -> Result<String, Error> {
    crate::project::yaml::json_to_yaml_string(&to_json(&v)?)
        .map_err(|e| Error::new(ErrorKind::BadSerialization, e))
}

/// `fromyaml(text, default=None)`.
pub fn fromyaml(s: String, default: Option<Value>) -> Result<Value, Error> {
    match crate::project::yaml::yaml_string_to_json(&s) {
        Ok(j) => Ok(json_to_value(&j)),
        Err(e) => {
            default.ok_or_else(|| Error::new(ErrorKind::InvalidOperation, format!("fromyaml: {e}")))
        }
    }
}

/// `diff_of_two_dicts(a, b)`: keys of `a` (with values) missing from `b`.
pub fn diff_of_two_dicts(a: Value, b: Value) -> Result<Value, Error> {
    let mut out = indexmap::IndexMap::new();
    for k in a.try_iter()? {
        let in_b = b.get_item(&k).map(|v| !v.is_undefined()).unwrap_or(false);
        if !in_b {
            out.insert(k.clone(), a.get_item(&k)?);
        }
    }
    Ok(crate::jinja::methods::Dict::new_value(out))
}

/// `try_or_compiler_error(message, func, *args)`: calls `func`, replacing
/// any failure with a compiler error carrying `message`.
pub fn try_or_compiler_error(
    state: &mut State,
    message: String,
    func: Value,
    args: Rest<Value>,
) -> Result<Value, Error> {
    func.call(state, &args)
        .map_err(|_| Error::new(ErrorKind::InvalidOperation, message))
}

/// `as_bool`: "true"/"True"/"1" → true.
pub fn as_bool(v: Value) -> Value {
    match v.as_str() {
        Some(s) => Value::from(matches!(
            s.trim().to_ascii_lowercase().as_str(),
            "true" | "1" | "yes" | "on"
        )),
        None => Value::from(v.is_true()),
    }
}

/// `as_number`: "3" → 3, "2.5" → 2.5.
pub fn as_number(v: Value) -> Result<Value, Error> {
    match v.as_str() {
        Some(s) => {
            let t = s.trim();
            if let Ok(i) = t.parse::<i64>() {
                Ok(Value::from(i))
            } else if let Ok(f) = t.parse::<f64>() {
                Ok(Value::from(f))
            } else {
                Err(Error::new(
                    ErrorKind::InvalidOperation,
                    format!("as_number: '{s}' is not a number"),
                ))
            }
        }
        None => Ok(v),
    }
}
