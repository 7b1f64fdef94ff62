//! Node configs and how they combine, as dbt combines them: dbt_project.yml
//! (package, then each folder, most specific last; the root project over a
//! package's own file) → properties YAML → in-file `config()`. Lists such as
//! tags and hooks concatenate, dicts such as meta merge, the rest is replaced.

use serde_json::{Map, Value as Json};

use crate::error::closest;

pub type Config = Map<String, Json>;

/// The strings of a JSON list (other items skipped); none when `value` is
/// not a list.
pub fn strings(value: Option<&Json>) -> Vec<String> {
    value
        .and_then(Json::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Config keys dbt knows, for "did you mean" on typos.
pub const KNOWN_KEYS: &[&str] = &[
    "enabled",
    "alias",
    "schema",
    "database",
    "tags",
    "meta",
    "materialized",
    "incremental_strategy",
    "persist_docs",
    "pre-hook",
    "post-hook",
    "quoting",
    "column_types",
    "full_refresh",
    "unique_key",
    "on_schema_change",
    "on_configuration_change",
    "grants",
    "packages",
    "docs",
    "contract",
    "event_time",
    "concurrent_batches",
    "access",
    "group",
    "sql_header",
    "batch_size",
    "begin",
    "lookback",
    "incremental_predicates",
    "delimiter",
    "quote_columns",
    "strategy",
    "updated_at",
    "check_cols",
    "snapshot_meta_column_names",
    "hard_deletes",
    "dbt_valid_to_current",
    "target_schema",
    "target_database",
    "invalidate_hard_deletes",
    "severity",
    "store_failures",
    "store_failures_as",
    "where",
    "limit",
    "fail_calc",
    "warn_if",
    "error_if",
    "freshness",
    "loaded_at_field",
    "loaded_at_query",
    "external_location",
    "format",
    "plugin",
    "options",
    "partition_by",
    "cluster_by",
    "merge_update_columns",
    "merge_exclude_columns",
    "file_format",
    "location",
    "identifier",
    "labels",
    "unlogged",
    "indexes",
    "transient",
    "copy_grants",
    "submission_method",
    "python_version",
    "overwrite",
    "mode",
    "tblproperties",
    "microbatch",
    "use_anonymous_sproc",
    "static_analysis",
];

/// Configs that hold dicts and merge key by key.
const MERGED_DICTS: &[&str] = &[
    "meta",
    "quoting",
    "column_types",
    "persist_docs",
    "docs",
    "grants",
    "contract",
    "snapshot_meta_column_names",
    "labels",
    "options",
];

/// Configs that hold lists and concatenate.
const APPENDED_LISTS: &[&str] = &["tags", "pre-hook", "post-hook", "packages"];

/// The canonical spelling of a config key: no `+`, hooks with a dash.
pub fn normalize_key(key: &str) -> String {
    let k = key.strip_prefix('+').unwrap_or(key);
    match k {
        "pre_hook" => "pre-hook".to_string(),
        "post_hook" => "post-hook".to_string(),
        _ => k.to_string(),
    }
}

/// A config value in its canonical shape (tags and hooks as lists; the
/// text a Jinja expression renders to, `True` or `false`, as a boolean for
/// keys that are booleans, as dbt's config validation turns it).
pub fn normalize_value(key: &str, value: Json) -> Json {
    match key {
        "tags" | "pre-hook" | "post-hook" | "packages" => match value {
            Json::Null => Json::Array(Vec::new()),
            Json::Array(_) => value,
            other => Json::Array(vec![other]),
        },
        "enabled" | "full_refresh" | "store_failures" | "quote_columns" => match &value {
            Json::String(s) if s.eq_ignore_ascii_case("true") => Json::Bool(true),
            Json::String(s) if s.eq_ignore_ascii_case("false") => Json::Bool(false),
            _ => value,
        },
        _ => value,
    }
}

/// Applies `overlay` on top of `base` with dbt's merge rules.
pub fn merge(base: &mut Config, overlay: &Config) {
    for (key, value) in overlay {
        merge_key(base, key, value.clone());
    }
}

/// Sets one key on `base` with dbt's merge rules.
pub fn merge_key(base: &mut Config, key: &str, value: Json) {
    let key = normalize_key(key);
    let value = normalize_value(&key, value);
    if APPENDED_LISTS.contains(&key.as_str()) {
        let list = base
            .entry(key.clone())
            .or_insert_with(|| Json::Array(Vec::new()));
        if let (Json::Array(have), Json::Array(add)) = (list, value) {
            for item in add {
                // Tags are a set; hooks run once per mention.
                if key != "tags" || !have.contains(&item) {
                    have.push(item);
                }
            }
        }
        return;
    }
    if MERGED_DICTS.contains(&key.as_str()) {
        if let (Some(Json::Object(have)), Json::Object(add)) = (base.get_mut(&key), &value) {
            for (k, v) in add {
                have.insert(k.clone(), v.clone());
            }
            return;
        }
    }
    base.insert(key, value);
}

/// Does a key at some level of a dbt_project.yml config tree set a config
/// (rather than name a folder or package)?
pub fn is_config_key(key: &str, value: &Json) -> bool {
    if key.starts_with('+') {
        return true;
    }
    let k = normalize_key(key);
    KNOWN_KEYS.contains(&k.as_str()) && (!value.is_object() || MERGED_DICTS.contains(&k.as_str()))
}

/// The configs a dbt_project.yml tree gives a node at `fqn` (package first,
/// then each folder, then the node's own name), least specific first.
/// Returns the merged config and the tree paths that matched.
pub fn from_tree(tree: &Json, fqn: &[String]) -> Config {
    let mut out = Config::new();
    let mut level = tree;
    apply_level(&mut out, level);
    for part in fqn {
        match level.get(part.as_str()) {
            Some(next) if next.is_object() && !is_config_key(part, next) => {
                level = next;
                apply_level(&mut out, level);
            }
            _ => break,
        }
    }
    out
}

fn apply_level(out: &mut Config, level: &Json) {
    if let Json::Object(map) = level {
        for (k, v) in map {
            if is_config_key(k, v) {
                merge_key(out, k, v.clone());
            }
        }
    }
}

/// Every `+key` in a config tree that is not a known config, with the
/// closest known key: likely typos, reported as warnings.
pub fn unknown_keys(
    tree: &Json,
    path: &mut Vec<String>,
    found: &mut Vec<(String, Option<String>)>,
) {
    if let Json::Object(map) = tree {
        for (k, v) in map {
            if let Some(stripped) = k.strip_prefix('+') {
                let norm = normalize_key(stripped);
                if !KNOWN_KEYS.contains(&norm.as_str()) {
                    let mut at = path.clone();
                    at.push(k.clone());
                    found.push((
                        at.join("."),
                        closest(&norm, KNOWN_KEYS.iter().copied()).map(str::to_string),
                    ));
                }
            } else if v.is_object() && !is_config_key(k, v) {
                path.push(k.clone());
                unknown_keys(v, path, found);
                path.pop();
            }
        }
    }
}

/// dbt's default config for a resource type, before any project settings.
pub fn defaults(resource_type: &str) -> Config {
    default_ref(resource_type).clone()
}

fn build_defaults(resource_type: &str) -> Config {
    let mut c = Config::new();
    fn put(c: &mut Config, k: &str, v: Json) {
        c.insert(k.to_string(), v);
    }
    macro_rules! set {
        ($k:expr, $v:expr) => {
            put(&mut c, $k, $v)
        };
    }
    set!("enabled", Json::Bool(true));
    set!("alias", Json::Null);
    set!("schema", Json::Null);
    set!("database", Json::Null);
    set!("tags", Json::Array(vec![]));
    set!("meta", Json::Object(Map::new()));
    set!("group", Json::Null);
    set!("static_analysis", Json::Null);
    match resource_type {
        "test" => {
            set!("schema", Json::from("dbt_test__audit"));
            set!("materialized", Json::from("test"));
            set!("severity", Json::from("ERROR"));
            set!("store_failures", Json::Null);
            set!("store_failures_as", Json::Null);
            set!("where", Json::Null);
            set!("limit", Json::Null);
            set!("fail_calc", Json::from("count(*)"));
            set!("warn_if", Json::from("!= 0"));
            set!("error_if", Json::from("!= 0"));
        }
        "source" => {
            c.retain(|k, _| k == "enabled" || k == "tags" || k == "meta" || k == "static_analysis");
            set!("event_time", Json::Null);
            set!("freshness", Json::Null);
            set!("loaded_at_field", Json::Null);
            set!("loaded_at_query", Json::Null);
        }
        "exposure" => {
            c.retain(|k, _| k == "enabled" || k == "tags" || k == "meta");
        }
        _ => {
            let mat = match resource_type {
                "seed" => "seed",
                "snapshot" => "snapshot",
                _ => "view",
            };
            set!("materialized", Json::from(mat));
            set!("incremental_strategy", Json::Null);
            set!("batch_size", Json::Null);
            set!("lookback", Json::from(1));
            set!("begin", Json::Null);
            set!("persist_docs", Json::Object(Map::new()));
            set!("pre-hook", Json::Array(vec![]));
            set!("post-hook", Json::Array(vec![]));
            set!("quoting", Json::Object(Map::new()));
            set!("column_types", Json::Object(Map::new()));
            set!("full_refresh", Json::Null);
            set!("unique_key", Json::Null);
            set!("on_schema_change", Json::from("ignore"));
            set!("on_configuration_change", Json::from("apply"));
            set!("grants", Json::Object(Map::new()));
            set!("packages", Json::Array(vec![]));
            set!(
                "docs",
                serde_json::json!({"show": true, "node_color": null})
            );
            set!(
                "contract",
                serde_json::json!({"enforced": false, "alias_types": true})
            );
            set!("event_time", Json::Null);
            set!("concurrent_batches", Json::Null);
            if resource_type == "model" {
                set!("access", Json::from("protected"));
                set!("freshness", Json::Null);
            }
            if resource_type == "seed" {
                set!("delimiter", Json::from(","));
                set!("quote_columns", Json::Null);
            }
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cfg(v: Json) -> Config {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn tags_union_meta_merges_rest_replaces() {
        let mut base = cfg(json!({"tags": ["a"], "meta": {"x": 1}, "materialized": "view"}));
        merge(
            &mut base,
            &cfg(json!({"+tags": "b", "meta": {"y": 2}, "materialized": "table"})),
        );
        assert_eq!(base["tags"], json!(["a", "b"]));
        assert_eq!(base["meta"], json!({"x": 1, "y": 2}));
        assert_eq!(base["materialized"], json!("table"));
    }

    #[test]
    fn hooks_accept_underscore_spelling_and_append() {
        let mut base = cfg(json!({"pre-hook": ["one"]}));
        merge(&mut base, &cfg(json!({"pre_hook": "two"})));
        assert_eq!(base["pre-hook"], json!(["one", "two"]));
    }

    #[test]
    fn tree_most_specific_folder_wins() {
        let tree = json!({"shop": {"+materialized": "view", "+tags": ["all"],
            "marts": {"+materialized": "table", "+tags": "marts", "finance": {"+schema": "fin"}}}});
        let fqn: Vec<String> = ["shop", "marts", "finance", "revenue"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let c = from_tree(&tree, &fqn);
        assert_eq!(c["materialized"], json!("table"));
        assert_eq!(c["tags"], json!(["all", "marts"]));
        assert_eq!(c["schema"], json!("fin"));
    }

    #[test]
    fn unknown_plus_keys_are_reported_with_suggestion() {
        let tree = json!({"shop": {"+materialised": "table"}});
        let mut found = Vec::new();
        unknown_keys(&tree, &mut Vec::new(), &mut found);
        assert_eq!(
            found,
            vec![(
                "shop.+materialised".to_string(),
                Some("materialized".to_string())
            )]
        );
    }
}

/// A node's config, stored as the keys it sets on top of the shared defaults
/// for its resource type. A project's nodes mostly carry dbt's ~35 default
/// keys unchanged; keeping one copy of those is most of a large manifest's memory.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    resource_type: &'static str,
    set: Config,
}

impl NodeConfig {
    pub fn new(resource_type: &str) -> NodeConfig {
        let resource_type = match resource_type {
            "model" => "model",
            "seed" => "seed",
            "snapshot" => "snapshot",
            "test" => "test",
            "analysis" => "analysis",
            _ => "model",
        };
        NodeConfig {
            resource_type,
            set: Config::new(),
        }
    }

    fn defaults(&self) -> &'static Config {
        default_ref(self.resource_type)
    }

    /// The value of a key: set on the node, or dbt's default.
    pub fn get(&self, key: &str) -> Option<&Json> {
        self.set.get(key).or_else(|| self.defaults().get(key))
    }

    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Json::as_str)
    }

    /// Applies `overlay` with dbt's merge rules.
    pub fn merge(&mut self, overlay: &Config) {
        for (k, v) in overlay {
            self.merge_key(k, v.clone());
        }
    }

    /// Sets one key with dbt's merge rules.
    pub fn merge_key(&mut self, key: &str, value: Json) {
        let key = normalize_key(key);
        if !self.set.contains_key(&key) {
            if let Some(d) = self.defaults().get(&key) {
                self.set.insert(key.clone(), d.clone());
            }
        }
        merge_key(&mut self.set, &key, value);
    }

    /// Replaces a key's value.
    pub fn insert(&mut self, key: &str, value: Json) {
        self.set.insert(key.to_string(), value);
    }

    /// A key's value for in-place changes (copied from the default first).
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Json> {
        if !self.set.contains_key(key) {
            let d = self.defaults().get(key)?.clone();
            self.set.insert(key.to_string(), d);
        }
        self.set.get_mut(key)
    }

    /// Every key in dbt's order: the defaults, then keys only this node sets.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Json)> {
        let defaults = self.defaults();
        defaults
            .iter()
            .map(|(k, v)| (k, self.set.get(k).unwrap_or(v)))
            .chain(self.set.iter().filter(|(k, _)| !defaults.contains_key(*k)))
    }

    /// Writes what distinguishes this config from another (the keys set on
    /// top of the shared defaults), for the render cache's keys.
    pub fn fingerprint(&self, out: &mut impl std::io::Write) {
        let _ = out.write_all(self.resource_type.as_bytes());
        let _ = serde_json::to_writer(out, &self.set);
    }

    /// The whole config as a map.
    pub fn to_map(&self) -> Config {
        self.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }
}

impl serde::Serialize for NodeConfig {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

/// The shared default config of a resource type.
fn default_ref(resource_type: &str) -> &'static Config {
    static CACHE: std::sync::OnceLock<std::collections::HashMap<&'static str, Config>> =
        std::sync::OnceLock::new();
    let cache = CACHE.get_or_init(|| {
        [
            "model", "seed", "snapshot", "test", "analysis", "source", "exposure",
        ]
        .into_iter()
        .map(|t| (t, build_defaults(t)))
        .collect()
    });
    cache
        .get(resource_type)
        .or_else(|| cache.get("model"))
        .unwrap_or_else(|| unreachable!("defaults are built for every type"))
}
