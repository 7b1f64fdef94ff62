//! The dbt context a template renders in: `ref`, `source`, `config`, `var`,
//! `this`, `model`, `target`, `adapter`, macros by name and package, ...
//!
//! [`Ctx`] is the root value of every render. It names the package whose code
//! is running (for macro resolution) and points at the [`Scope`] of the node
//! being rendered, which records what the template asked for.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use minijinja::value::{Enumerator, Kwargs, Object, ObjectRepr, Value, ValueKind};
use minijinja::{Error, ErrorKind, State};
use serde_json::Value as Json;

use crate::jinja::macros::{INTERNAL_PACKAGES, RETURN_KEY};
use crate::jinja::relation::Relation;
use crate::jinja::{builtins, errors, modules, Jinja};
use crate::project::config::{self, Config, NodeConfig};

/// Key under which a render's root context can be found from inside functions.
pub const CTX_KEY: &str = "__kiln_ctx";

/// A `ref()` call as written.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct RefCall {
    pub package: Option<String>,
    pub name: String,
    pub version: Option<String>,
}

/// What a template asked for while rendering.
#[derive(Debug, Default, Clone)]
pub struct Recorded {
    pub refs: Vec<RefCall>,
    pub sources: Vec<(String, String)>,
    /// In-file `config()` calls, merged in call order.
    pub config: Config,
    /// Unique ids of the macros the template itself called, in call order.
    pub macros: Vec<String>,
    /// Vars read, with the value each had.
    pub vars: BTreeMap<String, Json>,
    /// Env vars read, with the value each had.
    pub env_vars: BTreeMap<String, String>,
    /// Everything else the render's output depends on (for the render cache).
    pub trace: Trace,
}

/// What a render read beyond its node's own fields, at any macro depth: the
/// render cache reuses its output only while all of it is unchanged.
#[derive(Debug, Default, Clone)]
pub struct Trace {
    /// Why the output cannot be reused at all (it read the database, the
    /// clock, the invocation, or printed something), if it cannot.
    pub volatile: Option<&'static str>,
    /// Every macro called, by index in the registry.
    pub macros: BTreeSet<usize>,
    /// The flags read (FULL_REFRESH, WHICH, ...; `*`: all of them).
    pub flags: BTreeSet<String>,
    /// Every var read, with its value (none: not set, a default was used).
    pub vars: BTreeMap<String, Option<Json>>,
    /// Every env var read, with its value in the environment.
    pub env_vars: BTreeMap<String, Option<String>>,
    /// refs resolved at execution: (calling package, call, relation).
    pub refs: Vec<(String, RefCall, Relation)>,
    /// sources resolved at execution: (source, table, relation).
    pub sources: Vec<(String, String, Relation)>,
}

impl Trace {
    /// Marks the render as not reusable, keeping the first reason.
    pub fn volatile(&mut self, why: &'static str) {
        self.volatile.get_or_insert(why);
    }
}

/// Resolves `ref`/`source` at execution time, and serves `graph` and `doc`.
pub trait Resolver: Send + Sync {
    /// The relation a ref points at, or a message saying why it cannot resolve.
    fn resolve_ref(&self, from_package: &str, call: &RefCall) -> Result<Relation, String>;
    fn resolve_source(&self, source: &str, table: &str) -> Result<Relation, String>;
    /// The `graph` variable.
    fn graph(&self) -> Value;
}

/// The node a render is for: what `this`, `model` and `config` describe.
pub struct NodeScope {
    pub unique_id: String,
    pub name: String,
    pub resource_type: String,
    pub package: String,
    pub this: Option<Relation>,
    /// The node's config (project → YAML → in-file so far); `config.get` reads it.
    pub config: Mutex<NodeConfig>,
    /// Builds the `model` variable on first use.
    pub model: Box<dyn Fn() -> Json + Send + Sync>,
    model_value: OnceLock<Value>,
}

impl NodeScope {
    pub fn new(
        unique_id: String,
        name: String,
        resource_type: &str,
        package: String,
        this: Option<Relation>,
        config: NodeConfig,
        model: Box<dyn Fn() -> Json + Send + Sync>,
    ) -> NodeScope {
        NodeScope {
            unique_id,
            name,
            resource_type: resource_type.to_string(),
            package,
            this,
            config: Mutex::new(config),
            model,
            model_value: OnceLock::new(),
        }
    }
}

/// One render: parse time or execution, for a node or for standalone SQL.
pub struct Scope {
    pub jinja: Arc<Jinja>,
    pub execute: bool,
    pub node: Option<NodeScope>,
    pub resolver: Option<Arc<dyn Resolver>>,
    pub recorded: Mutex<Recorded>,
    /// Extra variables for this render (e.g. a generic test's arguments).
    pub extra: HashMap<String, Value>,
    /// Results stored by `statement` blocks, for `load_result`.
    pub results: Mutex<HashMap<String, Value>>,
    /// The database, when this render may touch it (execution).
    pub db: Option<crate::adapter::Db>,
    /// Every statement run on the database during this render, in order.
    pub executed: Mutex<Vec<String>>,
    /// Values that replace vars and env vars (unit test overrides).
    pub var_overrides: serde_json::Map<String, Json>,
    pub env_var_overrides: serde_json::Map<String, Json>,
    /// The query comment of this render's statements, made once.
    pub query_comment: OnceLock<Option<(String, bool)>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Scope {
    pub fn new(jinja: Arc<Jinja>, execute: bool) -> Scope {
        Scope {
            jinja,
            execute,
            node: None,
            resolver: None,
            recorded: Mutex::new(Recorded::default()),
            extra: HashMap::new(),
            results: Mutex::new(HashMap::new()),
            db: None,
            executed: Mutex::new(Vec::new()),
            var_overrides: serde_json::Map::new(),
            env_var_overrides: serde_json::Map::new(),
            query_comment: OnceLock::new(),
        }
    }

    pub fn with_node(mut self, node: NodeScope) -> Scope {
        self.node = Some(node);
        self
    }

    pub fn with_db(mut self, db: Option<crate::adapter::Db>) -> Scope {
        self.db = db;
        self
    }

    pub fn with_resolver(mut self, resolver: Option<Arc<dyn Resolver>>) -> Scope {
        self.resolver = resolver;
        self
    }

    /// What the finished render asked for and read, leaving an empty record.
    pub fn take_recorded(&self) -> Recorded {
        std::mem::take(&mut *self.record())
    }

    pub fn recorded(&self) -> Recorded {
        lock(&self.recorded).clone()
    }

    fn record(&self) -> MutexGuard<'_, Recorded> {
        lock(&self.recorded)
    }

    /// Notes that this render's output depends on something the render
    /// cache cannot key (see [`Trace::volatile`]).
    pub fn volatile(&self, why: &'static str) {
        self.record().trace.volatile(why);
    }

    /// Notes a read of builtin `key` that the render cache must know of.
    fn note_builtin(&self, key: &str) {
        if let Some(why) = volatile_builtin(key, self.execute) {
            self.volatile(why);
        }
    }

    fn node_name(&self) -> String {
        self.node
            .as_ref()
            .map(|n| n.unique_id.clone())
            .unwrap_or_else(|| "this query".into())
    }
}

/// The root value of a render.
#[derive(Clone)]
pub struct Ctx {
    pub scope: Arc<Scope>,
    /// The package whose code is running: the node's, or a macro's.
    pub package: Arc<str>,
    /// How many macro calls deep this render is (0: the node's own template).
    pub depth: u32,
    /// A macro's `kwargs` and `varargs`: the arguments it was given beyond
    /// those it names (Jinja2 collects them when the body reads them).
    pub extra_args: Option<Arc<(Value, Value)>>,
}

/// Nested macro calls beyond this are reported instead of exhausting the stack.
const MAX_MACRO_DEPTH: u32 = 200;

impl std::fmt::Debug for Ctx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "<context of {}>", self.scope.node_name())
    }
}

impl Ctx {
    pub fn root(scope: Arc<Scope>, package: &str) -> Value {
        Value::from_object(Ctx {
            scope,
            package: Arc::from(package),
            depth: 0,
            extra_args: None,
        })
    }

    /// The context of the render `state` belongs to.
    pub fn from_state(state: &State) -> Result<Arc<Ctx>, Error> {
        state
            .lookup(CTX_KEY)
            .and_then(|v| v.downcast_object::<Ctx>())
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::InvalidOperation,
                    "this function needs a dbt context",
                )
            })
    }

    fn jinja(&self) -> &Jinja {
        &self.scope.jinja
    }

    fn func(&self, kind: Func) -> Value {
        Value::from_object(FuncValue {
            ctx: self.clone(),
            kind,
        })
    }

    /// Calls macro `idx` in this render's scope.
    pub fn call_macro(&self, idx: usize, args: &[Value]) -> Result<Value, Error> {
        let jinja = self.jinja();
        let def = &jinja.macros.defs[idx];
        {
            let mut rec = self.scope.record();
            rec.trace.macros.insert(idx);
            if self.depth == 0 && !rec.macros.contains(&def.unique_id) {
                rec.macros.push(def.unique_id.clone());
            }
        }
        if self.depth >= MAX_MACRO_DEPTH {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                format!("macros call each other more than {MAX_MACRO_DEPTH} levels deep (endless recursion?)"),
            ));
        }
        let tmpl = jinja.env.get_template(&def.template)?;
        let (args, extra_args) = if def.reads("kwargs") || def.reads("varargs") {
            let (named, extra) = split_extra_args(def, args)?;
            (std::borrow::Cow::Owned(named), Some(Arc::new(extra)))
        } else {
            (std::borrow::Cow::Borrowed(args), None)
        };
        let child = Value::from_object(Ctx {
            scope: self.scope.clone(),
            package: Arc::from(def.package.as_str()),
            depth: self.depth + 1,
            extra_args,
        });
        let mut captured = tmpl.render_captured(child)?;
        captured.with_state_mut(|st| {
            let Some(m) = st.lookup(&def.name) else {
                return Err(Error::new(
                    ErrorKind::UnknownFunction,
                    format!("macro {} did not define itself", def.name),
                ));
            };
            match m.call(st, &args) {
                Ok(v) => Ok(v),
                Err(e) => match st.get_temp(RETURN_KEY) {
                    Some(v) => Ok(v),
                    None => Err(errors::in_macro(e, def)),
                },
            }
        })
    }

    /// A macro name as code in this package sees it.
    fn lookup_macro(&self, name: &str) -> Option<Value> {
        let macros = &self.jinja().macros;
        macros.resolve(&self.package, name).map(|i| macros.value(i))
    }

    fn vars(&self) -> Arc<serde_json::Map<String, Json>> {
        let pkg = self
            .scope
            .node
            .as_ref()
            .map(|n| n.package.as_str())
            .unwrap_or(&self.package);
        self.jinja().vars_for(pkg)
    }

    fn this(&self) -> Value {
        match self.scope.node.as_ref().and_then(|n| n.this.clone()) {
            Some(r) => r.to_value(),
            None => Value::from(()),
        }
    }

    fn model(&self) -> Value {
        match &self.scope.node {
            Some(n) => n
                .model_value
                .get_or_init(|| crate::jinja::to_value((n.model)()))
                .clone(),
            None => Value::from(()),
        }
    }
}

impl Object for Ctx {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let key = key.as_str()?;
        // Values that belong to the render and cannot be overridden by macros.
        match key {
            CTX_KEY => return Some(Value::from_dyn_object(self.clone())),
            "execute" => return Some(Value::from(self.scope.execute)),
            "this" => return Some(self.this()),
            "model" => {
                // At parse time `model` holds only fields the cache keys on.
                if self.scope.execute {
                    self.scope.volatile("reads model");
                }
                return Some(self.model());
            }
            "target" => return Some(self.jinja().target.clone()),
            "builtins" => return Some(Value::from_object(Builtins((**self).clone()))),
            "adapter" => return Some(self.func(Func::Adapter)),
            _ => {}
        }
        if let Some(v) = self.scope.extra.get(key) {
            return Some(v.clone());
        }
        if let Some(extra) = &self.extra_args {
            match key {
                "kwargs" => return Some(extra.0.clone()),
                "varargs" => return Some(extra.1.clone()),
                _ => {}
            }
        }
        // Project and package macros may override the builtins below (ref, source, ...).
        if let Some(i) = self.jinja().macros.resolve(&self.package, key) {
            let def = &self.jinja().macros.defs[i];
            if !INTERNAL_PACKAGES.contains(&def.package.as_str()) {
                return Some(self.jinja().macros.value(i));
            }
        }
        if let Some(v) = builtin(self, key) {
            self.scope.note_builtin(key);
            return Some(v);
        }
        if let Some(v) = self.lookup_macro(key) {
            return Some(v);
        }
        if self.jinja().macros.has_package(key)
            || self.jinja().package_names.iter().any(|p| p == key)
        {
            return Some(Value::from_object(PackageNamespace {
                ctx: (**self).clone(),
                package: key.to_string(),
            }));
        }
        None
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Str(&[
            "this", "model", "target", "execute", "ref", "source", "config", "var",
        ])
    }
}

/// Builtins whose value is not fixed by what the render cache keys on
/// (the invocation, the clock, the whole manifest, stored results).
fn volatile_builtin(key: &str, execute: bool) -> Option<&'static str> {
    match key {
        "invocation_id"
        | "run_started_at"
        | "selected_resources"
        | "invocation_args_dict"
        | "thread_id"
        | "dbt_metadata_envs" => Some("reads the invocation"),
        "modules" => Some("reads modules (the clock)"),
        "context" => Some("reads the whole context"),
        "load_result" | "store_result" => Some("reads stored results"),
        "doc" => Some("reads docs blocks"),
        "graph" if execute => Some("reads the graph"),
        _ => None,
    }
}

/// Builtins that are plain functions or values.
fn builtin(ctx: &Arc<Ctx>, key: &str) -> Option<Value> {
    let c = || (**ctx).clone();
    Some(match key {
        "ref" => c().func(Func::Ref),
        "source" => c().func(Func::Source),
        "config" => Value::from_object(ConfigObj(c())),
        "var" => c().func(Func::Var),
        "env_var" => c().func(Func::EnvVar),
        "return" => Value::from_function(builtins::return_fn),
        "log" => c().func(Func::Log),
        "print" => c().func(Func::Print),
        "doc" => c().func(Func::Doc),
        "store_result" => c().func(Func::StoreResult),
        "load_result" => c().func(Func::LoadResult),
        "render" => c().func(Func::Render),
        "graph" => match &ctx.scope.resolver {
            Some(r) if ctx.scope.execute => r.graph(),
            _ => crate::jinja::to_value(
                serde_json::json!({"nodes": {}, "sources": {}, "exposures": {}, "metrics": {}, "groups": {}, "semantic_models": {}, "saved_queries": {}}),
            ),
        },
        "exceptions" => Value::from_object(modules::Exceptions(ctx.scope.clone())),
        "modules" => modules::modules_value(),
        "api" => Value::from_object(Api),
        "project_name" => Value::from(ctx.jinja().root_package.clone()),
        "invocation_id" => Value::from(ctx.jinja().invocation_id.clone()),
        "run_started_at" => {
            crate::jinja::datetime::DateTime::utc_aware(ctx.jinja().run_started_at.naive_utc())
                .into_value()
        }
        "flags" => Value::from_object(Flags(ctx.scope.clone())),
        "dbt_version" => Value::from(crate::project::DBT_VERSION),
        "database" => ctx.jinja().target.get_attr("database").unwrap_or_default(),
        "schema" => ctx.jinja().target.get_attr("schema").unwrap_or_default(),
        "selected_resources" => ctx
            .jinja()
            .selected
            .get()
            .cloned()
            .unwrap_or_else(|| Value::from(Vec::<Value>::new())),
        "invocation_args_dict" => ctx
            .jinja()
            .invocation_args
            .get()
            .cloned()
            .unwrap_or_else(|| crate::jinja::to_value(serde_json::json!({}))),
        "thread_id" => Value::from(thread_name()),
        "dbt_metadata_envs" => crate::jinja::to_value(metadata_envs()),
        "context" => Value::from_dyn_object(ctx.clone()),
        _ => return None,
    })
}

/// `flags`: the invocation's flags, noting which ones a render reads (the
/// render cache keys on those alone, so `kiln compile` and `kiln test`
/// share renders that read only flags they agree on).
struct Flags(Arc<Scope>);

impl std::fmt::Debug for Flags {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.0.jinja.flags)
    }
}

impl Object for Flags {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let name = key.as_str()?;
        self.0.record().trace.flags.insert(name.to_string());
        let v = self.0.jinja.flags.get_attr(name).ok()?;
        (!v.is_undefined()).then_some(v)
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        self.0.record().trace.flags.insert("*".to_string());
        match self.0.jinja.flags.try_iter() {
            Ok(keys) => Enumerator::Values(keys.collect()),
            Err(_) => Enumerator::Empty,
        }
    }
}

/// `dbt_utils.star`, `dbt.current_timestamp`: a package's macros by name.
#[derive(Debug)]
struct PackageNamespace {
    ctx: Ctx,
    package: String,
}

impl Object for PackageNamespace {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        // A unit test's override of `pkg.macro` (overrides: macros:).
        if let Some(v) = self
            .ctx
            .scope
            .extra
            .get(&format!("{}.{}", self.package, key.as_str()?))
        {
            return Some(v.clone());
        }
        let macros = &self.ctx.jinja().macros;
        macros
            .in_package(&self.package, key.as_str()?)
            .map(|i| macros.value(i))
    }
}

/// `builtins.ref` etc.: the original functions when a project overrides them.
#[derive(Debug)]
struct Builtins(Ctx);

impl Object for Builtins {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let key = key.as_str()?;
        self.0.scope.note_builtin(key);
        builtin(&Arc::new(self.0.clone()), key)
    }
}

/// `api.Relation.create(...)`, `api.Column`.
#[derive(Debug)]
struct Api;

impl Object for Api {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match key.as_str()? {
            "Relation" => Some(Value::from_object(RelationApi)),
            "Column" => Some(Value::from_object(crate::jinja::column::ColumnApi)),
            _ => None,
        }
    }
}

#[derive(Debug)]
struct RelationApi;

impl Object for RelationApi {
    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match method {
            "create" => {
                let kwargs = args
                    .last()
                    .and_then(crate::jinja::kwargs_of)
                    .unwrap_or_else(|| Kwargs::from_iter(std::iter::empty::<(String, Value)>()));
                crate::jinja::relation::create(kwargs)
            }
            "add_ephemeral_prefix" => Ok(Value::from(format!(
                "{}{}",
                crate::jinja::relation::CTE_PREFIX,
                args.first().map(|v| v.to_string()).unwrap_or_default()
            ))),
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }
}

/// The functions that need the render's context.
#[derive(Debug, Clone, Copy)]
enum Func {
    Ref,
    Source,
    Var,
    EnvVar,
    Log,
    Print,
    Doc,
    StoreResult,
    LoadResult,
    Render,
    Adapter,
}

#[derive(Debug)]
struct FuncValue {
    ctx: Ctx,
    kind: Func,
}

fn split_kwargs(args: &[Value]) -> (&[Value], Option<Kwargs>) {
    match args.last().and_then(crate::jinja::kwargs_of) {
        Some(k) => (&args[..args.len() - 1], Some(k)),
        None => (args, None),
    }
}

fn kwarg(kwargs: &Option<Kwargs>, key: &str) -> Result<Option<Value>, Error> {
    match kwargs {
        Some(k) => k.get::<Option<Value>>(key),
        None => Ok(None),
    }
}

fn str_arg(v: Option<&Value>, what: &str) -> Result<String, Error> {
    match v {
        Some(v) if v.kind() == ValueKind::String => Ok(v.as_str().unwrap_or_default().to_string()),
        Some(v) if !v.is_undefined() && !v.is_none() => Ok(v.to_string()),
        _ => Err(Error::new(
            ErrorKind::MissingArgument,
            format!("{what} is required"),
        )),
    }
}

impl Object for FuncValue {
    fn call(self: &Arc<Self>, _state: &mut State<'_, '_>, args: &[Value]) -> Result<Value, Error> {
        let ctx = &self.ctx;
        let scope = &ctx.scope;
        let (pos, kwargs) = split_kwargs(args);
        match self.kind {
            Func::Ref => {
                let version = match kwarg(&kwargs, "version")? {
                    Some(v) => Some(v),
                    None => kwarg(&kwargs, "v")?,
                };
                let (package, name) = match pos.len() {
                    1 => (None, str_arg(pos.first(), "ref() needs a model name")?),
                    2 => (
                        Some(str_arg(pos.first(), "a package name")?),
                        str_arg(pos.get(1), "a model name")?,
                    ),
                    _ => {
                        return Err(Error::new(
                            ErrorKind::InvalidOperation,
                            "ref() takes a model name, or a package name and a model name",
                        ))
                    }
                };
                let call = RefCall {
                    package,
                    name,
                    version: version.filter(|v| !v.is_none()).map(|v| v.to_string()),
                };
                scope.record().refs.push(call.clone());
                if !scope.execute {
                    let placeholder = Relation::new(
                        &ctx.jinja()
                            .target
                            .get_attr("database")
                            .map(|v| v.to_string())
                            .unwrap_or_default(),
                        &ctx.jinja()
                            .target
                            .get_attr("schema")
                            .map(|v| v.to_string())
                            .unwrap_or_default(),
                        &call.name,
                    );
                    return Ok(placeholder.to_value());
                }
                match &scope.resolver {
                    Some(r) => {
                        let rel = r
                            .resolve_ref(&ctx.package, &call)
                            .map_err(|m| Error::new(ErrorKind::InvalidOperation, m))?;
                        let package = ctx.package.to_string();
                        let traced = (package, call, rel.clone());
                        scope.record().trace.refs.push(traced);
                        Ok(rel.to_value())
                    }
                    None => Err(Error::new(
                        ErrorKind::InvalidOperation,
                        "ref() cannot be resolved here",
                    )),
                }
            }
            Func::Source => {
                let source = str_arg(pos.first(), "source() needs a source name")?;
                let table = str_arg(pos.get(1), "source() needs a table name")?;
                if !scope.execute {
                    scope.record().sources.push((source.clone(), table.clone()));
                    let placeholder = Relation::new("", &source, &table);
                    return Ok(placeholder.to_value());
                }
                match &scope.resolver {
                    Some(r) => {
                        let rel = r
                            .resolve_source(&source, &table)
                            .map_err(|m| Error::new(ErrorKind::InvalidOperation, m))?;
                        let traced = (source, table, rel.clone());
                        scope.record().trace.sources.push(traced);
                        Ok(rel.to_value())
                    }
                    None => Err(Error::new(
                        ErrorKind::InvalidOperation,
                        "source() cannot be resolved here",
                    )),
                }
            }
            Func::Var => {
                let name = str_arg(pos.first(), "var() needs a variable name")?;
                if let Some(v) = scope.var_overrides.get(&name) {
                    return Ok(crate::jinja::to_value(v));
                }
                let vars = ctx.vars();
                let found = vars.get(&name);
                scope
                    .record()
                    .trace
                    .vars
                    .insert(name.clone(), found.cloned());
                if let Some(v) = found {
                    scope.record().vars.insert(name.clone(), v.clone());
                    // As dbt: a string var holding Jinja is rendered where it is read.
                    if let Some(text) = v.as_str().filter(|t| t.contains("{{") || t.contains("{%"))
                    {
                        return crate::jinja::render_in_scope(
                            scope,
                            &ctx.package,
                            &format!("var('{name}')"),
                            text,
                        )
                        .map(Value::from);
                    }
                    return Ok(crate::jinja::to_value(v));
                }
                if let Some(default) = pos.get(1).cloned().or(kwarg(&kwargs, "default")?) {
                    return Ok(default);
                }
                let mut msg = format!(
                    "required var '{name}' not found: {} has no default for it",
                    scope.node_name()
                );
                if let Some(best) = crate::error::closest(&name, vars.keys().map(String::as_str)) {
                    msg.push_str(&format!("; did you mean '{best}'?"));
                }
                msg.push_str(&format!(
                    " (set it under `vars:` in dbt_project.yml, pass --vars '{{{name}: ...}}', or give var() a default)"
                ));
                Err(Error::new(ErrorKind::InvalidOperation, msg))
            }
            Func::EnvVar => {
                let name = str_arg(pos.first(), "env_var() needs a variable name")?;
                if name.starts_with(builtins::SECRET_PREFIX) && scope.node.is_some() {
                    return Err(Error::new(
                        ErrorKind::InvalidOperation,
                        format!("secret env var '{name}' may only be used in profiles.yml and packages.yml"),
                    ));
                }
                let default = pos.get(1).cloned().or(kwarg(&kwargs, "default")?);
                if let Some(v) = scope.env_var_overrides.get(&name) {
                    return Ok(Value::from(
                        v.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| v.to_string()),
                    ));
                }
                let value = builtins::env_var_value(&name, default)?;
                let mut rec = scope.record();
                rec.trace
                    .env_vars
                    .insert(name.clone(), std::env::var(&name).ok());
                rec.env_vars.insert(name, value.clone());
                drop(rec);
                Ok(Value::from(value))
            }
            Func::Log => {
                scope.volatile("logs");
                let msg = pos.first().map(|v| v.to_string()).unwrap_or_default();
                let info = pos.get(1).map(|v| v.is_true()).unwrap_or(false)
                    || kwarg(&kwargs, "info")?.is_some_and(|v| v.is_true());
                if scope.execute && info {
                    crate::output::info(&msg);
                } else if scope.execute {
                    crate::output::debug(&msg);
                }
                Ok(Value::from(""))
            }
            Func::Print => {
                scope.volatile("prints");
                if (scope.execute || scope.node.is_none()) && crate::output::prints_allowed() {
                    let msg = pos.first().map(|v| v.to_string()).unwrap_or_default();
                    crate::output::stdout_line(&msg);
                }
                Ok(Value::from(""))
            }
            Func::Doc => {
                let (package, name) = match pos.len() {
                    1 => (None, str_arg(pos.first(), "doc() needs a name")?),
                    _ => (
                        Some(str_arg(pos.first(), "a package")?),
                        str_arg(pos.get(1), "a doc name")?,
                    ),
                };
                let docs = &ctx.jinja().docs;
                let pkg = package.clone().unwrap_or_else(|| ctx.package.to_string());
                let found = docs.get(&(pkg, name.clone())).or_else(|| {
                    if package.is_none() {
                        docs.iter().find(|((_, n), _)| *n == name).map(|(_, v)| v)
                    } else {
                        None
                    }
                });
                match found {
                    Some(text) => Ok(Value::from(text.clone())),
                    None => {
                        let mut msg = format!("doc('{name}') names no `{{% docs {name} %}}` block");
                        if let Some(best) =
                            crate::error::closest(&name, docs.keys().map(|(_, n)| n.as_str()))
                        {
                            msg.push_str(&format!("; did you mean '{best}'?"));
                        }
                        Err(Error::new(ErrorKind::InvalidOperation, msg))
                    }
                }
            }
            Func::StoreResult => {
                let name = str_arg(pos.first(), "store_result() needs a name")?;
                let table = kwarg(&kwargs, "agate_table")?.unwrap_or_default();
                let rows = table.get_attr("rows").unwrap_or_default();
                let mut result = indexmap::IndexMap::new();
                result.insert(
                    Value::from("response"),
                    kwarg(&kwargs, "response")?.unwrap_or_default(),
                );
                result.insert(Value::from("table"), table);
                result.insert(Value::from("data"), rows);
                lock(&scope.results).insert(name, crate::jinja::methods::Dict::new_value(result));
                Ok(Value::from(""))
            }
            Func::LoadResult => {
                let name = str_arg(pos.first(), "load_result() needs a name")?;
                Ok(lock(&scope.results)
                    .get(&name)
                    .cloned()
                    .unwrap_or(Value::from(())))
            }
            Func::Render => {
                let text = str_arg(pos.first(), "render() needs a string")?;
                // Hooks and config values render as the node's own code
                // would: its package's macros are in reach.
                let package = match &scope.node {
                    Some(n) => n.package.as_str(),
                    None => &ctx.package,
                };
                crate::jinja::render_in_scope(&ctx.scope, package, "render()", &text)
                    .map(Value::from)
            }
            Func::Adapter => Err(Error::new(
                ErrorKind::InvalidOperation,
                "adapter is not callable",
            )),
        }
    }

    fn call_method(
        self: &Arc<Self>,
        state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match self.kind {
            Func::Adapter => {
                crate::jinja::adapter_obj::adapter_method(&self.ctx, state, method, args)
            }
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match (self.kind, key.as_str()?) {
            (Func::Adapter, "Relation") => Some(Value::from_object(RelationApi)),
            (Func::Adapter, "Column") => Some(Value::from_object(crate::jinja::column::ColumnApi)),
            (Func::Adapter, "behavior") => {
                Some(Value::from_object(Behavior(self.ctx.jinja().flags.clone())))
            }
            _ => None,
        }
    }
}

/// `adapter.behavior.<flag>`: dbt's behaviour flags, off unless the
/// project's `flags:` turns them on.
#[derive(Debug)]
struct Behavior(Value);

impl Object for Behavior {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let name = key.as_str()?;
        let on = [name.to_string(), name.to_uppercase()]
            .iter()
            .filter_map(|k| self.0.get_attr(k).ok())
            .find(|v| !v.is_undefined() && !v.is_none())
            .is_some_and(|v| v.is_true());
        Some(Value::from_object(BehaviorFlag(on)))
    }
}

#[derive(Debug)]
struct BehaviorFlag(bool);

impl Object for BehaviorFlag {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match key.as_str()? {
            "no_warn" | "setting" => Some(Value::from(self.0)),
            _ => None,
        }
    }

    fn is_true(self: &Arc<Self>) -> bool {
        self.0
    }
}

/// `config`: callable (records in-file config), and .get/.require/.set.
#[derive(Debug)]
struct ConfigObj(Ctx);

impl Object for ConfigObj {
    fn call(self: &Arc<Self>, _state: &mut State<'_, '_>, args: &[Value]) -> Result<Value, Error> {
        let scope = &self.0.scope;
        if scope.execute {
            return Ok(Value::from(""));
        }
        let (pos, kwargs) = split_kwargs(args);
        let mut set = Config::new();
        for p in pos {
            if p.kind() == ValueKind::Map {
                let json: Json = serde_json::to_value(p)
                    .map_err(|e| Error::new(ErrorKind::BadSerialization, e.to_string()))?;
                if let Json::Object(m) = json {
                    for (k, v) in m {
                        config::merge_key(&mut set, &k, v);
                    }
                }
            }
        }
        if let Some(k) = &kwargs {
            for key in k.args() {
                let v: Value = k.peek(key)?;
                let json: Json = serde_json::to_value(&v)
                    .map_err(|e| Error::new(ErrorKind::BadSerialization, e.to_string()))?;
                config::merge_key(&mut set, key, json);
            }
        }
        config::merge(&mut scope.record().config, &set);
        if let Some(node) = &scope.node {
            lock(&node.config).merge(&set);
        }
        Ok(Value::from(""))
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let scope = &self.0.scope;
        let (pos, kwargs) = split_kwargs(args);
        let key = || str_arg(pos.first(), "config key");
        let current = |k: &str| -> Option<Json> {
            scope
                .node
                .as_ref()
                .and_then(|n| lock(&n.config).get(&config::normalize_key(k)).cloned())
                .filter(|v| !v.is_null())
        };
        match method {
            "get" => {
                let k = key()?;
                match current(&k) {
                    Some(v) => Ok(crate::jinja::to_value(v)),
                    None => Ok(pos
                        .get(1)
                        .cloned()
                        .or(kwarg(&kwargs, "default")?)
                        .unwrap_or(Value::from(()))),
                }
            }
            "require" => {
                let k = key()?;
                match current(&k) {
                    Some(v) => Ok(crate::jinja::to_value(v)),
                    None if !scope.execute => Ok(Value::from("")),
                    None => Err(Error::new(
                        ErrorKind::InvalidOperation,
                        format!(
                            "config '{k}' is required for {} but is not set",
                            scope.node_name()
                        ),
                    )),
                }
            }
            "set" => {
                let k = key()?;
                if let (Some(node), Some(v)) = (&scope.node, pos.get(1)) {
                    let json: Json = serde_json::to_value(v).unwrap_or(Json::Null);
                    lock(&node.config).merge_key(&k, json);
                }
                Ok(Value::from(""))
            }
            "persist_relation_docs" => Ok(Value::from(
                current("persist_docs")
                    .and_then(|p| p.get("relation").and_then(Json::as_bool))
                    .unwrap_or(false),
            )),
            "persist_column_docs" => Ok(Value::from(
                current("persist_docs")
                    .and_then(|p| p.get("columns").and_then(Json::as_bool))
                    .unwrap_or(false),
            )),
            "meta_get" => {
                let k = key()?;
                Ok(current("meta")
                    .and_then(|m| m.get(&k).cloned())
                    .map(crate::jinja::to_value)
                    .unwrap_or_else(|| pos.get(1).cloned().unwrap_or(Value::from(()))))
            }
            "meta_require" => {
                let k = key()?;
                match current("meta").and_then(|m| m.get(&k).cloned()) {
                    Some(v) => Ok(crate::jinja::to_value(v)),
                    None if !scope.execute => Ok(Value::from("")),
                    None => Err(Error::new(
                        ErrorKind::InvalidOperation,
                        format!(
                            "meta key '{k}' is required for {} but is not set in its config's meta",
                            scope.node_name()
                        ),
                    )),
                }
            }
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        // `config.materialized` style reads, used by some packages.
        let node = self.0.scope.node.as_ref()?;
        lock(&node.config)
            .get(key.as_str()?)
            .map(crate::jinja::to_value)
    }
}

/// The arguments a macro names, and (kwargs, varargs) of the rest.
fn split_extra_args(
    def: &crate::jinja::MacroDef,
    args: &[Value],
) -> Result<(Vec<Value>, (Value, Value)), Error> {
    let (pos, kwargs) = split_kwargs(args);
    let n = def.arguments.len();
    let mut named: Vec<Value> = pos.iter().take(n).cloned().collect();
    let varargs: Vec<Value> = pos.iter().skip(n).cloned().collect();
    let mut known: Vec<(String, Value)> = Vec::new();
    let mut extra = indexmap::IndexMap::new();
    if let Some(k) = kwargs {
        for key in k.args() {
            let v: Value = k.peek(key)?;
            if key == "caller" || def.arguments.iter().any(|a| a == key) {
                known.push((key.to_string(), v));
            } else {
                extra.insert(Value::from(key), v);
            }
        }
    }
    if !known.is_empty() {
        named.push(Value::from(Kwargs::from_iter(known)));
    }
    Ok((
        named,
        (
            crate::jinja::methods::Dict::new_value(extra),
            crate::jinja::methods::List::new_value(varargs),
        ),
    ))
}

/// dbt's `thread_id`: the worker's name (`Thread-1`, ...), or `MainThread`.
fn thread_name() -> String {
    match rayon::current_thread_index() {
        Some(i) => format!("Thread-{}", i + 1),
        None => match std::thread::current().name() {
            Some(n) if n.starts_with("Thread-") => n.to_string(),
            _ => "MainThread".to_string(),
        },
    }
}

/// `DBT_ENV_CUSTOM_ENV_<NAME>` variables, keyed by NAME, as dbt reports them.
fn metadata_envs() -> serde_json::Map<String, Json> {
    std::env::vars()
        .filter_map(|(k, v)| {
            k.strip_prefix("DBT_ENV_CUSTOM_ENV_")
                .map(|name| (name.to_string(), Json::from(v)))
        })
        .collect()
}
