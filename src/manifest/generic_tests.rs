//! Generic tests declared in properties YAML (`data_tests:` / `tests:`)
//! become test nodes, named and identified exactly as dbt names them, so that
//! selectors and run results agree with dbt's.

use std::path::Path;
use std::sync::Arc;

use md5::{Digest, Md5};
use serde_json::{Map, Value as Json};

use crate::error::{Error, Result};
use crate::jinja::{Jinja, RefCall};
use crate::manifest::parse::YamlFile;
use crate::manifest::resolve::{self, Dependency};
use crate::manifest::{Node, ResourceType, TestMetadata};
use crate::project::config::{self, Config, NodeConfig};
use crate::project::properties::ColumnProperties;
use crate::project::Project;

/// Test arguments that are really configs (dbt's CONFIG_ARGS).
const CONFIG_ARGS: [&str; 14] = [
    "severity",
    "tags",
    "enabled",
    "where",
    "limit",
    "warn_if",
    "error_if",
    "fail_calc",
    "store_failures",
    "store_failures_as",
    "meta",
    "database",
    "schema",
    "alias",
];

/// What a test is attached to.
pub struct Target {
    /// `models`, `seeds`, `snapshots`, `analyses` or `sources` (the YAML key).
    yaml_key: &'static str,
    /// The node's name, or the source table's name.
    name: String,
    source: Option<String>,
    /// The model version the tests are for (`versions:`).
    version: Option<String>,
    attached: Option<String>,
    file: Arc<YamlFile>,
}

impl Target {
    pub fn node(kind: &str, name: &str, attached: Option<String>, file: &Arc<YamlFile>) -> Target {
        let yaml_key = match kind {
            "seed" => "seeds",
            "snapshot" => "snapshots",
            "analysis" => "analyses",
            _ => "models",
        };
        Target {
            yaml_key,
            name: name.to_string(),
            source: None,
            version: None,
            attached,
            file: file.clone(),
        }
    }

    /// Tests of one version of a model: named `<model>_v<v>_...`, reading
    /// `ref('<model>', version='<v>')`, as dbt names them.
    pub fn with_version(mut self, v: &str) -> Target {
        self.version = Some(v.to_string());
        self
    }

    pub fn source(source: &str, table: &str, file: &Arc<YamlFile>) -> Target {
        Target {
            yaml_key: "sources",
            name: table.to_string(),
            source: Some(source.to_string()),
            version: None,
            attached: None,
            file: file.clone(),
        }
    }

    /// The name used in test names: the model, or `source_table`.
    fn name_in_tests(&self) -> String {
        match (&self.source, &self.version) {
            (Some(s), _) => format!("{s}_{}", self.name),
            (None, Some(v)) => format!("{}_v{v}", self.name),
            (None, None) => self.name.clone(),
        }
    }

    fn model_arg(&self) -> String {
        let target = match (&self.source, &self.version) {
            (Some(s), _) => format!("source('{s}', '{}')", self.name),
            (None, Some(v)) => format!("ref('{}', version='{v}')", self.name),
            (None, None) => format!("ref('{}')", self.name),
        };
        format!("{{{{ get_where_subquery({target}) }}}}")
    }
}

/// Test nodes for one model (or source table): column tests, then its own tests.
pub fn from_properties<'a>(
    project: &Project,
    jinja: &Arc<Jinja>,
    target: &Target,
    columns: &[ColumnProperties],
    own_tests: impl Iterator<Item = &'a Json>,
    quote_columns: bool,
) -> Result<Vec<Node>> {
    let mut out = Vec::new();
    for col in columns {
        let quote = col.quote.unwrap_or(quote_columns);
        let column_name = if quote {
            format!("\"{}\"", col.name)
        } else {
            col.name.clone()
        };
        let mut tags = col.tags.to_vec();
        match col.config.get("tags") {
            Some(Json::String(s)) => tags.push(s.clone()),
            list => tags.extend(config::strings(list)),
        }
        for def in col.all_tests() {
            out.push(build(
                project,
                jinja,
                target,
                def,
                Some(&column_name),
                &tags,
            )?);
        }
    }
    for def in own_tests {
        out.push(build(project, jinja, target, def, None, &[])?);
    }
    Ok(out)
}

fn definition_error(target: &Target, msg: String) -> Error {
    let name = target.source.as_deref().unwrap_or(&target.name);
    Error::new(msg).at(target.file.locate(name))
}

/// One test node from one entry of `data_tests:`.
fn build(
    project: &Project,
    jinja: &Arc<Jinja>,
    target: &Target,
    def: &Json,
    column: Option<&str>,
    column_tags: &[String],
) -> Result<Node> {
    let (test_name, mut args) = match def {
        Json::String(s) => (s.clone(), Map::new()),
        Json::Object(m) if m.contains_key("test_name") => {
            let mut args = m.clone();
            let name = args.remove("test_name").and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
            (name, args)
        }
        Json::Object(m) if m.len() == 1 => {
            let (k, v) = m.iter().next().map(|(k, v)| (k.clone(), v.clone())).unwrap_or_default();
            let args = match v {
                Json::Object(a) => a,
                Json::Null => Map::new(),
                other => {
                    return Err(definition_error(
                        target,
                        format!("test '{k}' on '{}' has arguments `{other}`, but they must be a mapping", target.name),
                    ))
                }
            };
            (k, args)
        }
        other => {
            return Err(definition_error(
                target,
                format!(
                    "a test on '{}' is malformed: `{other}`; write a test name (`- unique`) or one mapping (`- accepted_values: {{arguments: {{values: [...]}}}}`)",
                    target.name
                ),
            ))
        }
    };
    if let Some(c) = column {
        args.insert("column_name".into(), Json::from(c));
    }
    if let Some(arguments) = args.remove("arguments") {
        match arguments {
            Json::Object(a) => args.extend(a),
            Json::Null => {}
            _ => {
                return Err(definition_error(
                    target,
                    format!("`arguments` of test '{test_name}' must be a mapping"),
                ))
            }
        }
    }
    if args.contains_key("model") {
        return Err(definition_error(
            target,
            format!(
                "test '{test_name}' may not take a `model` argument: kiln passes the model itself"
            ),
        ));
    }
    args.insert("model".into(), Json::from(target.model_arg()));
    let (namespace, short) = match test_name.split_once('.') {
        Some((ns, n)) => (Some(ns.to_string()), n.to_string()),
        None => (None, test_name.clone()),
    };
    let valid = |s: &str| crate::project::dbt_project::is_identifier(s);
    if !valid(&short) || namespace.as_deref().is_some_and(|n| !valid(n)) {
        return Err(definition_error(
            target,
            format!("'{test_name}' is not a valid test name"),
        ));
    }

    // Config arguments, at the top level (older style) or under `config:`.
    let mut test_config = Config::new();
    let mut nested = match args.remove("config") {
        Some(Json::Object(c)) => c,
        _ => Map::new(),
    };
    for key in CONFIG_ARGS {
        let top = args.remove(key).filter(|v| !v.is_null());
        if top.is_some() && nested.contains_key(key) {
            return Err(definition_error(
                target,
                format!(
                    "test '{test_name}' sets `{key}` both at the top level and under `config:`"
                ),
            ));
        }
        if let Some(v) = top.or_else(|| nested.remove(key)) {
            test_config.insert(key.to_string(), v);
        }
    }
    for (k, v) in nested {
        test_config.insert(k, v);
    }
    let description = args
        .remove("description")
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let custom_name = args
        .remove("name")
        .and_then(|v| v.as_str().map(str::to_string));

    let test_type = {
        let base = if target.source.is_some() {
            format!("source_{short}")
        } else {
            short.clone()
        };
        match &namespace {
            Some(ns) => format!("{ns}_{base}"),
            None => base,
        }
    };
    let (compiled_name, fqn_name) = match custom_name {
        Some(n) => (n.clone(), n),
        None => {
            let (s, f) = synthesize_names(&test_type, &target.name_in_tests(), &args);
            if s != f && !test_config.contains_key("alias") {
                test_config.insert("alias".into(), Json::from(s.clone()));
            }
            (s, f)
        }
    };

    let metadata = serde_json::json!({
        "kwargs": Json::Object(args.clone()),
        "name": short,
        "namespace": namespace,
    });
    let hash = {
        let mut h = Md5::new();
        h.update(fqn_name.as_bytes());
        h.update(python_repr(&metadata).as_bytes());
        let hex = format!("{:x}", h.finalize());
        hex[hex.len() - 10..].to_string()
    };
    let file = &target.file;
    let package = file.package.clone();
    let mut fqn = vec![package.clone()];
    if let Some(parent) = Path::new(&file.original_file_path).parent() {
        fqn.extend(
            parent
                .components()
                .skip(1)
                .map(|c| c.as_os_str().to_string_lossy().to_string()),
        );
    }
    fqn.push(fqn_name.clone());

    let macro_name = match &namespace {
        Some(ns) => format!("{ns}.test_{short}"),
        None => format!("test_{short}"),
    };
    let macro_idx = match &namespace {
        Some(ns) => jinja.macros.in_package(ns, &format!("test_{short}")),
        None => jinja.macros.resolve(&package, &format!("test_{short}")),
    };
    let Some(macro_idx) = macro_idx else {
        let candidates: Vec<String> = jinja
            .macros
            .defs
            .iter()
            .filter_map(|d| d.name.strip_prefix("test_").map(str::to_string))
            .collect();
        return Err(definition_error(target, format!("unknown generic test '{test_name}' on '{}'", target.name))
            .suggest(&short, candidates.iter().map(String::as_str))
            .note("generic tests are `{% test name(model, ...) %}` blocks in macro-paths or tests/generic/"));
    };

    let mut cfg = NodeConfig::new("test");
    if let Some(own) = project.package(&package).filter(|p| !p.is_root) {
        cfg.merge(&config::from_tree(&own.trees.data_tests, &fqn));
    }
    cfg.merge(&config::from_tree(&project.root().trees.data_tests, &fqn));
    cfg.merge(&macro_config(jinja, &package, namespace.as_deref(), &short));
    cfg.merge(&render_config_values(project, &test_config, target)?);
    if let Some(sev) = cfg
        .get("severity")
        .and_then(Json::as_str)
        .map(str::to_uppercase)
    {
        if sev != "ERROR" && sev != "WARN" {
            return Err(definition_error(
                target,
                format!("severity '{sev}' of test '{fqn_name}' must be `error` or `warn`"),
            ));
        }
        cfg.insert("severity", Json::from(sev));
    }
    let mut tags: Vec<String> = column_tags.to_vec();
    tags.extend(config::strings(cfg.get("tags")));
    tags.sort();
    tags.dedup();

    // Dependencies in the order dbt meets them: the arguments, then the model.
    let mut refs: Vec<RefCall> = Vec::new();
    let mut sources: Vec<(String, String)> = Vec::new();
    for (k, v) in &args {
        if k == "model" || k == "column_name" {
            continue;
        }
        collect_dependencies(v, &mut refs, &mut sources);
    }
    match &target.source {
        Some(s) => sources.push((s.clone(), target.name.clone())),
        None => refs.push(RefCall {
            package: None,
            name: target.name.clone(),
            version: target.version.clone(),
        }),
    }

    let config_call = construct_config_call(&test_config);
    let raw_code = format!("{{{{ {macro_name}(**_dbt_generic_test_kwargs) }}}}{config_call}");
    Ok(Node {
        unique_id: format!("test.{package}.{fqn_name}.{hash}"),
        resource_type: ResourceType::Test,
        package_name: package.clone(),
        name: fqn_name.clone(),
        path: format!("{compiled_name}.sql"),
        original_file_path: file.original_file_path.clone(),
        display_path: file.display_path.clone(),
        fqn,
        raw_code,
        raw_code_line: 1,
        config: cfg,
        config_call: test_config,
        tags,
        description,
        refs,
        sources,
        // dbt renders every generic test but unique/not_null at parse time,
        // which records get_where_subquery as a dependency too.
        depends_on_macros: {
            let mut m = vec![jinja.macros.defs[macro_idx].unique_id.clone()];
            let shortcut = namespace.is_none() && (short == "unique" || short == "not_null");
            if let Some(i) = jinja
                .macros
                .resolve(&package, "get_where_subquery")
                .filter(|_| !shortcut)
            {
                m.push(jinja.macros.defs[i].unique_id.clone());
            }
            m
        },
        test: Some(TestMetadata {
            name: short,
            namespace,
            kwargs: args,
            column_name: column.map(str::to_string),
            attached_node: target.attached.clone(),
            file_key_name: format!(
                "{}.{}",
                target.yaml_key,
                target.source.as_deref().unwrap_or(&target.name)
            ),
        }),
        ..Node::new(ResourceType::Test)
    })
    .map(|mut n| {
        crate::manifest::parse::finish_config(&mut n);
        n
    })
    .and_then(|mut n| {
        crate::manifest::naming::assign(
            jinja,
            &mut n,
            &project.target.database,
            &project.target.schema,
        )
        .map_err(|e| {
            definition_error(
                target,
                format!(
                    "could not name test '{}': {}",
                    n.name,
                    crate::jinja::errors::describe(&e)
                ),
            )
        })?;
        Ok(n)
    })
}

/// `{{ config(fail_calc='...') }}` written in a test's macros (the test
/// block or its dispatched versions): dbt records these when it parses the
/// test; kiln reads their constant arguments without rendering every test.
fn macro_config(jinja: &Jinja, package: &str, namespace: Option<&str>, short: &str) -> Config {
    let mut out = Config::new();
    let call = crate::regex!(r#"\bconfig\s*\(((?:[^()'"]|'[^']*'|"[^"]*")*)\)"#);
    let kwarg =
        crate::regex!(r#"(\w+)\s*=\s*(?:'([^']*)'|"([^"]*)"|(true|false|True|False)|(-?\d+))"#);
    for name in [
        format!("test_{short}"),
        format!("default__test_{short}"),
        format!("{}__test_{short}", jinja.adapter_type),
    ] {
        let idx = match namespace {
            Some(ns) => jinja.macros.in_package(ns, &name),
            None => jinja.macros.resolve(package, &name),
        };
        let Some(def) = idx.map(|i| &jinja.macros.defs[i]) else {
            continue;
        };
        for c in call.captures_iter(&def.macro_sql) {
            for k in kwarg.captures_iter(&c[1]) {
                let value = if let Some(s) = k.get(2).or(k.get(3)) {
                    Json::from(s.as_str())
                } else if let Some(b) = k.get(4) {
                    Json::from(b.as_str().eq_ignore_ascii_case("true"))
                } else {
                    k.get(5)
                        .and_then(|n| n.as_str().parse::<i64>().ok())
                        .map(Json::from)
                        .unwrap_or(Json::Null)
                };
                out.insert(k[1].to_string(), value);
            }
        }
    }
    out
}

/// Config values may use env_var/var/target (rendered now, as dbt does).
fn render_config_values(project: &Project, cfg: &Config, target: &Target) -> Result<Config> {
    let renderer = &project.properties_renderer;
    let mut out = Config::new();
    for (k, v) in cfg {
        let rendered = renderer.render_value(v, &target.file.display_path, &target.file.text)?;
        out.insert(k.clone(), rendered);
    }
    Ok(out)
}

/// refs and sources named in test arguments (`to: ref('customers')`).
fn collect_dependencies(v: &Json, refs: &mut Vec<RefCall>, sources: &mut Vec<(String, String)>) {
    match v {
        Json::String(s) => {
            let inner = s
                .trim()
                .trim_start_matches("{{")
                .trim_end_matches("}}")
                .trim();
            match resolve::parse_dependency(inner) {
                Some(Dependency::Ref(r)) => refs.push(r),
                Some(Dependency::Source(a, b)) => sources.push((a, b)),
                None => {}
            }
        }
        Json::Array(items) => items
            .iter()
            .for_each(|i| collect_dependencies(i, refs, sources)),
        Json::Object(m) => m
            .values()
            .for_each(|i| collect_dependencies(i, refs, sources)),
        _ => {}
    }
}

/// dbt's test names: `<type>_<target>_<args>`, and a short form with an md5
/// when the full name reaches 64 characters.
pub fn synthesize_names(
    test_type: &str,
    target_name: &str,
    args: &Map<String, Json>,
) -> (String, String) {
    let mut keys: Vec<&String> = args.keys().collect();
    keys.sort();
    let mut flat: Vec<String> = Vec::new();
    for k in keys {
        if k == "model" {
            continue;
        }
        match &args[k] {
            Json::Object(m) => flat.extend(m.values().map(python_str)),
            Json::Array(a) => flat.extend(a.iter().map(python_str)),
            other => flat.push(python_str(other)),
        }
    }
    let re = crate::regex!("[^0-9a-zA-Z_]+");
    let clean: Vec<String> = flat
        .iter()
        .map(|a| re.replace_all(a, "_").to_string())
        .collect();
    let unique = clean.join("__");
    let identifier = format!("{test_type}_{target_name}");
    let full = format!("{identifier}_{unique}");
    if full.chars().count() >= 64 {
        let trunc: String = identifier.chars().take(30).collect();
        let mut h = Md5::new();
        h.update(full.as_bytes());
        (format!("{trunc}_{:x}", h.finalize()), full)
    } else {
        (full.clone(), full)
    }
}

/// Python's str() of a YAML-loaded value.
fn python_str(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        Json::Bool(true) => "True".into(),
        Json::Bool(false) => "False".into(),
        Json::Null => "None".into(),
        Json::Number(n) => n.to_string(),
        Json::Array(_) | Json::Object(_) => python_repr(v),
    }
}

/// Python's repr() of the hashable form dbt builds (dicts with sorted keys,
/// every scalar turned into its str()).
pub fn python_repr(v: &Json) -> String {
    match v {
        Json::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let items: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}: {}", python_str_repr(k), python_repr(&m[k])))
                .collect();
            format!("{{{}}}", items.join(", "))
        }
        Json::Array(a) => format!(
            "[{}]",
            a.iter().map(python_repr).collect::<Vec<_>>().join(", ")
        ),
        other => python_str_repr(&python_str(other)),
    }
}

/// Python's repr() of a string.
fn python_str_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::new();
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// The `{{ config(...) }}` dbt appends to a generic test's raw code.
fn construct_config_call(cfg: &Config) -> String {
    if cfg.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = cfg
        .iter()
        .map(|(k, v)| match v {
            Json::String(s) => format!("{k}=\"{}\"", s.replace('"', "\\\"")),
            other => format!("{k}={}", python_repr_plain(other)),
        })
        .collect();
    format!("{{{{ config({}) }}}}", parts.join(","))
}

fn python_repr_plain(v: &Json) -> String {
    match v {
        Json::Bool(true) => "True".into(),
        Json::Bool(false) => "False".into(),
        Json::Null => "None".into(),
        Json::Number(n) => n.to_string(),
        Json::String(s) => python_str_repr(s),
        Json::Array(a) => format!(
            "[{}]",
            a.iter()
                .map(python_repr_plain)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Json::Object(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, v)| format!("{}: {}", python_str_repr(k), python_repr_plain(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_like_dbt() {
        let args =
            json!({"column_name": "order_id", "model": "{{ get_where_subquery(ref('orders')) }}"});
        let (short, full) = synthesize_names("not_null", "orders", args.as_object().unwrap());
        assert_eq!(short, "not_null_orders_order_id");
        assert_eq!(full, short);
        let args = json!({"column_name": "status", "values": ["placed", "shipped"], "model": "x"});
        let (_, full) = synthesize_names("accepted_values", "orders", args.as_object().unwrap());
        assert_eq!(full, "accepted_values_orders_status__placed__shipped");
    }

    #[test]
    fn long_names_are_hashed() {
        let args = json!({"column_name": "a_really_long_column_name_for_testing", "values": ["one", "two", "three"]});
        let (short, full) = synthesize_names(
            "accepted_values",
            "a_long_model_name",
            args.as_object().unwrap(),
        );
        assert!(full.len() >= 64);
        assert!(
            short.starts_with("accepted_values_a_long_model_n_"),
            "{short}"
        );
        assert_eq!(short.len(), 30 + 1 + 32);
    }

    #[test]
    fn python_repr_matches() {
        let v = json!({"name": "not_null", "namespace": null, "kwargs": {"column_name": "id", "model": "{{ get_where_subquery(ref('orders')) }}"}});
        assert_eq!(
            python_repr(&v),
            "{'kwargs': {'column_name': 'id', 'model': \"{{ get_where_subquery(ref('orders')) }}\"}, 'name': 'not_null', 'namespace': 'None'}"
        );
    }
}
