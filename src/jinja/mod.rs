//! The Jinja runtime: a minijinja environment holding every macro (built-in
//! templates, project, packages), and the dbt context templates render in.
//!
//! One [`Jinja`] is built per invocation and shared by all threads; each
//! render gets a [`context::Scope`] that says which node is rendering, whether
//! this is parse time (`execute = false`) or execution, and records what the
//! template asked for (refs, sources, config, macros, vars).

pub mod adapter_obj;
pub mod agate;
pub mod ast_walk;
pub mod builtins;
pub mod column;
pub mod context;
pub mod datetime;
pub mod dialect;
pub mod errors;
pub mod macros;
pub mod methods;
pub mod modules;
pub mod percent_format;
pub mod query_comment;
pub mod relation;
pub mod yaml_render;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use minijinja::{Environment, UndefinedBehavior, Value};
use serde_json::{Map, Value as Json};

use crate::error::{Error, Result};
use crate::templates;
pub use context::{Ctx, Recorded, RefCall, Resolver, Scope};
pub use macros::{MacroDef, MacroFile, MacroRegistry};

/// Everything shared by the renders of one invocation.
pub struct Jinja {
    pub env: Environment<'static>,
    pub macros: MacroRegistry,
    /// The profile's `type` (duckdb, postgres): dispatch tries `<type>__` first.
    pub adapter_type: String,
    /// The project directory, absolute (relative paths in configs start there).
    pub project_dir: PathBuf,
    pub root_package: String,
    /// Names of the root project and installed packages.
    pub package_names: Vec<String>,
    /// Vars visible to each package's nodes (already merged by precedence).
    pub vars: HashMap<String, Arc<Map<String, Json>>>,
    /// The `target` variable.
    pub target: Value,
    /// adapter.dispatch search orders from dbt_project.yml `dispatch:`.
    pub dispatch: HashMap<String, Vec<String>>,
    /// `{% docs %}` blocks: (package, name) → text.
    pub docs: HashMap<(String, String), String>,
    pub invocation_id: String,
    pub run_started_at: chrono::DateTime<chrono::Utc>,
    /// The `flags` variable (FULL_REFRESH, WHICH, ...).
    pub flags: Value,
    /// Results of naming macros that do not depend on the node (see naming.rs).
    pub naming_memo: std::sync::Mutex<HashMap<(usize, Option<String>), String>>,
    /// `selected_resources`: the unique ids this invocation selected (set once selected).
    pub selected: std::sync::OnceLock<Value>,
    /// `invocation_args_dict`: the command line as dbt describes it.
    pub invocation_args: std::sync::OnceLock<Value>,
    /// dbt_project.yml `query-comment:`, put on the statements nodes run.
    pub query_comment: query_comment::QueryComment,
}

/// What a Jinja runtime is built from.
pub struct JinjaConfig<'a> {
    pub root_package: String,
    /// The project directory, absolute.
    pub project_dir: PathBuf,
    pub package_names: Vec<String>,
    pub vars: HashMap<String, Arc<Map<String, Json>>>,
    pub target: Json,
    pub dispatch: HashMap<String, Vec<String>>,
    pub macro_files: Vec<MacroFile<'a>>,
    pub flags: Json,
    pub query_comment: query_comment::QueryComment,
}

impl Jinja {
    /// The vars code in `package` sees (the root project's when it has none).
    pub fn vars_for(&self, package: &str) -> Arc<Map<String, Json>> {
        self.vars
            .get(package)
            .or_else(|| self.vars.get(&self.root_package))
            .cloned()
            .unwrap_or_default()
    }

    /// Macro name prefixes adapter.dispatch tries, in order.
    pub fn dispatch_prefixes(&self) -> [&str; 2] {
        [self.adapter_type.as_str(), "default"]
    }

    pub fn new(config: JinjaConfig) -> Result<Jinja> {
        let mut env = Environment::new();
        configure(&mut env);
        let mut registry = MacroRegistry::new(&config.root_package);
        let adapter_type = config
            .target
            .get("type")
            .and_then(Json::as_str)
            .unwrap_or("duckdb")
            .to_string();
        crate::jinja::relation::use_relation_style(&adapter_type);
        for (path, contents) in templates::builtin_macros() {
            // dbt's own macros, and those of the active adapter's plugin only.
            let package = match path.split_once('/') {
                Some((dir, _)) if dir.starts_with("dbt_") => {
                    if dir["dbt_".len()..] != adapter_type {
                        continue;
                    }
                    macros::INTERNAL_PACKAGES
                        .iter()
                        .copied()
                        .find(|p| *p == dir)
                        .unwrap_or("dbt")
                }
                _ => "dbt",
            };
            registry.add_file(
                &mut env,
                &MacroFile {
                    package,
                    path,
                    display_path: PathBuf::from(format!("<kiln>/templates/macros/{path}")),
                    contents,
                },
            )?;
        }
        let mut errors: Vec<Error> = Vec::new();
        for file in &config.macro_files {
            if let Err(e) = registry.add_file(&mut env, file) {
                errors.push(e);
            }
        }
        if let Some(first) = errors.into_iter().next() {
            return Err(first);
        }
        Ok(Jinja {
            env,
            macros: registry,
            adapter_type,
            project_dir: config.project_dir,
            root_package: config.root_package,
            package_names: config.package_names,
            vars: config.vars,
            target: crate::jinja::to_value(&config.target),
            dispatch: config.dispatch,
            docs: HashMap::new(),
            invocation_id: uuid::Uuid::new_v4().to_string(),
            run_started_at: chrono::Utc::now(),
            flags: crate::jinja::to_value(&config.flags),
            naming_memo: Default::default(),
            selected: Default::default(),
            invocation_args: Default::default(),
            query_comment: config.query_comment,
        })
    }

    /// Compiles a node's template (dialect rewritten). `name` is the path shown in errors.
    pub fn compile<'s>(
        &'s self,
        name: &'s str,
        source: &'s str,
    ) -> std::result::Result<minijinja::Template<'s, 's>, minijinja::Error> {
        self.env.template_from_named_str(name, source)
    }

    /// Compiles `source` (not yet dialect rewritten) once per invocation and
    /// keeps it: thousands of generic tests share a handful of sources such
    /// as `{{ test_not_null(**_dbt_generic_test_kwargs) }}`. Errors name the
    /// template [`shared_name`]`(source)`.
    pub fn compile_shared(
        &self,
        source: &str,
    ) -> std::result::Result<minijinja::Template<'_, '_>, minijinja::Error> {
        self.env.get_template(&shared_name(source))
    }
}

/// Template names that carry their own source, for [`Jinja::compile_shared`].
const SHARED_SOURCE: &str = "<shared>\n";

pub fn shared_name(source: &str) -> String {
    format!("{SHARED_SOURCE}{source}")
}

/// Filters, tests, functions and behaviour shared by every render.
fn configure(env: &mut Environment<'static>) {
    env.set_loader(|name| Ok(name.strip_prefix(SHARED_SOURCE).map(dialect::rewrite)));
    env.set_undefined_behavior(UndefinedBehavior::Lenient);
    // SQL is never escaped, whatever a template's name ends with (.yml, .json, ...).
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env.set_recursion_limit(2000);
    env.set_unknown_method_callback(methods::unknown_method);
    // Jinja2 prints Python values: True/False/None.
    env.set_formatter(|out, state, value| {
        if value.is_none() {
            return out.write_str("None").map_err(Into::into);
        }
        if value.kind() == minijinja::value::ValueKind::Bool {
            return out
                .write_str(if value.is_true() { "True" } else { "False" })
                .map_err(Into::into);
        }
        minijinja::escape_formatter(out, state, value)
    });
    env.add_function(dialect::LIST_FN, methods::make_list);
    env.add_function(dialect::DICT_FN, methods::make_dict);
    env.add_function("dict", methods::dict_function);
    env.add_function("list", builtins::list_function);
    env.add_function("zip", builtins::zip);
    env.add_function(dialect::ARITH_FN, datetime::arith);
    env.add_function("zip_strict", builtins::zip_strict);
    env.add_function("set", builtins::set_function);
    env.add_function("set_strict", builtins::set_function);
    env.add_function("local_md5", builtins::local_md5);
    env.add_function("tojson", builtins::tojson);
    env.add_function("fromjson", builtins::fromjson);
    env.add_function("toyaml", builtins::toyaml);
    env.add_function("fromyaml", builtins::fromyaml);
    env.add_function("diff_of_two_dicts", builtins::diff_of_two_dicts);
    env.add_function("try_or_compiler_error", builtins::try_or_compiler_error);
    env.add_filter("as_bool", builtins::as_bool);
    env.add_filter("as_number", builtins::as_number);
    env.add_filter("as_native", |v: Value| v);
    env.add_filter("as_text", |v: Value| v.to_string());
    env.add_filter("list", builtins::list_function);
    env.add_filter("adapter_quote", |s: String| relation::quote_identifier(&s));
    env.add_filter("tojson", builtins::tojson_filter);
    env.add_filter("fromjson", builtins::fromjson);
    env.add_filter("toyaml", builtins::toyaml);
    minijinja_contrib::add_to_environment(env);
}

/// Renders a standalone template (an `--inline` query, a hook, a description)
/// in `scope`. `name` labels errors.
pub fn render_in_scope(
    scope: &Arc<Scope>,
    package: &str,
    name: &str,
    source: &str,
) -> std::result::Result<String, minijinja::Error> {
    let rewritten = dialect::rewrite(source);
    let tmpl = scope.jinja.compile(name, &rewritten)?;
    tmpl.render(Ctx::root(scope.clone(), package))
}

/// The keyword arguments of a call, when `v` (usually the last argument) holds them.
pub fn kwargs_of(v: &Value) -> Option<minijinja::value::Kwargs> {
    if v.is_kwargs() {
        minijinja::value::Kwargs::try_from(v.clone()).ok()
    } else {
        None
    }
}

/// Any serializable Rust value as a template value.
pub fn to_value<T: serde::Serialize>(v: T) -> Value {
    Value::from(minijinja::value::Serde(v))
}
