//! Compile: render a node's SQL with `execute = true`, resolving refs and
//! sources to relations, inline its ephemeral parents as CTEs, and write
//! target/compiled/.

pub mod ctes;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use minijinja::Value;
use rayon::prelude::*;
use serde_json::Value as Json;

use crate::adapter::Db;
use crate::error::{Error, Result};
use crate::jinja::context::{NodeScope, Trace};
use crate::jinja::{builtins, dialect, errors, Ctx, Jinja, Resolver, Scope};
use crate::manifest::json::node_json;
use crate::manifest::resolve::ManifestResolver;
use crate::manifest::{Compiled, CompiledNodes, Manifest, Node, ResourceType};
use crate::render_cache::RenderCache;

type EphemeralResult = std::result::Result<(String, Vec<(String, String, String)>), Error>;

/// Compiles nodes of one manifest; shared by all threads of an invocation.
pub struct Compiler {
    pub manifest: Arc<Manifest>,
    pub jinja: Arc<Jinja>,
    pub resolver: Arc<dyn Resolver>,
    ephemerals: Mutex<HashMap<String, Arc<OnceLock<EphemeralResult>>>>,
    /// Renders reused from the last compile, when the command uses them.
    cache: Option<Arc<RenderCache>>,
}

/// The resolver for this invocation's flags: `--empty` (no rows) and
/// `--sample` (rows of a window of event time).
fn limited_resolver(manifest: &Arc<Manifest>, jinja: &Jinja) -> ManifestResolver {
    let empty = jinja.flags.get_attr("EMPTY").is_ok_and(|v| v.is_true());
    let sample = jinja.flags.get_attr("SAMPLE").ok().and_then(|w| {
        let part = |k: &str| {
            w.get_attr(k)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
        };
        Some((part("start")?, part("end")?))
    });
    ManifestResolver::new(manifest.clone())
        .with_empty(empty)
        .with_sample(sample)
}

impl Compiler {
    pub fn new(manifest: Arc<Manifest>, jinja: Arc<Jinja>) -> Compiler {
        let resolver: Arc<dyn Resolver> = Arc::new(limited_resolver(&manifest, &jinja));
        Compiler {
            manifest,
            jinja,
            resolver,
            ephemerals: Mutex::new(HashMap::new()),
            cache: None,
        }
    }

    /// Reuses (and records) renders through `cache`.
    pub fn with_cache(mut self, cache: Arc<RenderCache>) -> Compiler {
        self.cache = Some(cache);
        self
    }

    /// `--defer`: refs to these nodes resolve to the given relations (the
    /// previous run's) instead of the target's.
    pub fn defer_to(
        mut self,
        deferred: HashMap<String, crate::jinja::relation::Relation>,
    ) -> Compiler {
        if deferred.is_empty() {
            return self;
        }
        self.resolver =
            Arc::new(limited_resolver(&self.manifest, &self.jinja).with_deferred(deferred));
        self
    }

    /// A render scope for `node` at execution time.
    pub fn scope_for(&self, node: &Node, db: Option<&Db>) -> Scope {
        self.scope_with(node, db, self.resolver.clone(), None)
    }

    /// A render scope for one batch of a microbatch model: refs and sources
    /// with an `event_time` read the batch's window, and `model.batch`
    /// describes it.
    pub fn scope_for_batch(&self, node: &Node, db: Option<&Db>, batch: &Json) -> Scope {
        let window = (
            batch["event_time_start"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            batch["event_time_end"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        );
        let resolver: Arc<dyn Resolver> =
            Arc::new(limited_resolver(&self.manifest, &self.jinja).with_sample(Some(window)));
        self.scope_with(node, db, resolver, Some(batch.clone()))
    }

    fn scope_with(
        &self,
        node: &Node,
        db: Option<&Db>,
        resolver: Arc<dyn Resolver>,
        batch: Option<Json>,
    ) -> Scope {
        // `model` is built only if the template reads it.
        let manifest = self.manifest.clone();
        let id = node.unique_id.clone();
        // A microbatch model outside a batch (compile, docs) sees an empty one.
        let batch = batch.or_else(|| {
            crate::exec::microbatch::is_microbatch(node).then(crate::exec::microbatch::no_batch)
        });
        let model = move || {
            let mut json = manifest
                .nodes
                .get(&id)
                .map(|n| node_json(n))
                .unwrap_or_default();
            if let (Some(batch), Json::Object(m)) = (&batch, &mut json) {
                m.insert("batch".into(), batch.clone());
            }
            json
        };
        Scope::new(self.jinja.clone(), true)
            .with_resolver(Some(resolver))
            .with_db(db.cloned())
            .with_node(NodeScope::new(
                node.unique_id.clone(),
                node.name.clone(),
                node.resource_type.as_str(),
                node.package_name.clone(),
                Some(node.typed_relation()),
                node.config.clone(),
                Box::new(model),
            ))
    }

    /// Renders `node.raw_code` (no CTE injection), or reuses the last
    /// compile's render when nothing it read has changed.
    fn render(&self, node: &Node, db: Option<&Db>) -> Result<Arc<str>> {
        let make_scope = || self.scope_for(node, db);
        let cache = match &self.cache {
            Some(c) if node.unit.is_none() => c,
            _ => {
                return self
                    .render_in(node, &make_scope)
                    .map(|(out, _)| Arc::from(out))
            }
        };
        let key = crate::render_cache::key::compile(node);
        if let Some(sql) = cache.compile_lookup(&self.jinja, node, key, &*self.resolver) {
            return Ok(sql);
        }
        let (sql, trace) = self.render_in(node, &make_scope)?;
        let sql: Arc<str> = Arc::from(sql);
        cache.compile_store(&self.jinja, &node.unique_id, key, trace, sql.clone());
        Ok(sql)
    }

    /// Renders in a fresh scope; returns the output and what it read.
    fn render_in(&self, node: &Node, make_scope: &dyn Fn() -> Scope) -> Result<(String, Trace)> {
        let mut scope = Arc::new(make_scope());
        let name = node.display_path.to_string_lossy().to_string();
        let what = format!("in {} {}", node.resource_type.as_str(), node.name);
        if let Some(test) = &node.test {
            let kwargs = self.test_kwargs(&scope, node, &test.kwargs)?;
            // The arguments rarely keep the scope alive; when they do, use a fresh one.
            if Arc::get_mut(&mut scope).is_none() {
                scope = Arc::new(make_scope());
            }
            if let Some(s) = Arc::get_mut(&mut scope) {
                s.extra.insert("_dbt_generic_test_kwargs".into(), kwargs);
            }
        }
        let padded;
        let source: &str = if node.raw_code_line > 1 {
            padded = format!("{}{}", "\n".repeat(node.raw_code_line - 1), node.raw_code);
            &padded
        } else {
            &node.raw_code
        };
        let ctx = Ctx::root(scope.clone(), &node.package_name);
        let (out, name) = if node.test.is_some() {
            // Generic tests of one kind share their source: compile it once.
            let out = self
                .jinja
                .compile_shared(source)
                .and_then(|t| t.render(ctx));
            (out, crate::jinja::shared_name(source))
        } else {
            let rewritten = dialect::rewrite(source);
            let out = self
                .jinja
                .compile(&name, &rewritten)
                .and_then(|t| t.render(ctx));
            (out, name)
        };
        let out = out.map_err(|e| {
            errors::to_error(&e, &self.jinja, &what, &name, source, &node.display_path)
        })?;
        let out = if node.raw_code_line > 1 {
            out.trim_start_matches('\n').to_string()
        } else {
            out
        };
        Ok((out, scope.take_recorded().trace))
    }

    /// A generic test's arguments, rendered as dbt renders them: `ref(...)`
    /// and `{{ ... }}` become values (relations, lists), other text stays.
    fn test_kwargs(
        &self,
        scope: &Arc<Scope>,
        node: &Node,
        kwargs: &serde_json::Map<String, Json>,
    ) -> Result<Value> {
        let ctx = Ctx::root(scope.clone(), &node.package_name);
        let mut out = indexmap::IndexMap::new();
        for (k, v) in kwargs {
            let value = if k == "column_name" {
                crate::jinja::to_value(v)
            } else {
                self.native(&ctx, v).map_err(|e| {
                    Error::new(format!(
                        "in test {}: could not render argument `{k}`: {}",
                        node.name,
                        errors::describe(&e)
                    ))
                    .at(crate::error::Location::file(&node.display_path))
                })?
            };
            out.insert(Value::from(k.clone()), value);
        }
        Ok(crate::jinja::methods::Dict::new_value(out))
    }

    fn native(&self, ctx: &Value, v: &Json) -> std::result::Result<Value, minijinja::Error> {
        match v {
            Json::String(s) => {
                let t = s.trim();
                let looks_like_call = regex_call().is_match(t);
                let inner = if looks_like_call {
                    Some(t)
                } else {
                    t.strip_prefix("{{")
                        .and_then(|r| r.strip_suffix("}}"))
                        .filter(|i| !i.contains("{{"))
                        .map(str::trim)
                };
                match inner {
                    Some(expr) => {
                        let rewritten = dialect::rewrite(&format!("{{{{ {expr} }}}}"));
                        let expr = rewritten
                            .trim_start_matches("{{")
                            .trim_end_matches("}}")
                            .trim()
                            .to_string();
                        self.jinja
                            .env
                            .compile_expression_owned(expr)?
                            .eval(ctx.clone())
                    }
                    None if s.contains("{{") || s.contains("{%") => {
                        let rewritten = dialect::rewrite(s);
                        self.jinja
                            .env
                            .render_str(&rewritten, ctx.clone())
                            .map(Value::from)
                    }
                    None => Ok(Value::from(s.clone())),
                }
            }
            Json::Array(items) => Ok(crate::jinja::methods::List::new_value(
                items
                    .iter()
                    .map(|i| self.native(ctx, i))
                    .collect::<std::result::Result<_, _>>()?,
            )),
            Json::Object(_) => Ok(builtins::json_to_value(v)),
            other => Ok(crate::jinja::to_value(other)),
        }
    }

    /// Compiles a node: render, then inline its ephemeral ancestors.
    pub fn compile_node(&self, node: &Node, db: Option<&Db>) -> Result<Compiled> {
        // Python is not a template: its compiled code is its source.
        if node.language == "python" {
            return Ok(Compiled {
                sql: Arc::from(node.raw_code.as_str()),
                extra_ctes: Vec::new(),
            });
        }
        let rendered = self.render(node, db)?;
        self.with_ctes(node, db, rendered)
    }

    /// Compiles one batch of a microbatch model (see `scope_for_batch`).
    pub fn compile_batch(&self, node: &Node, db: Option<&Db>, batch: &Json) -> Result<Compiled> {
        let (rendered, _) = self.render_in(node, &|| self.scope_for_batch(node, db, batch))?;
        self.with_ctes(node, db, Arc::from(rendered))
    }

    fn with_ctes(&self, node: &Node, db: Option<&Db>, rendered: Arc<str>) -> Result<Compiled> {
        use crate::jinja::relation::{drop_doubled_limit_aliases, has_limit_aliases};
        let ctes = self.ctes_for(&node.depends_on_nodes, db)?;
        let named: Vec<(String, String)> = ctes
            .iter()
            .map(|(_, name, sql)| (name.clone(), sql.clone()))
            .collect();
        let sql = if named.is_empty() && !has_limit_aliases(&rendered) {
            rendered
        } else {
            Arc::from(drop_doubled_limit_aliases(&ctes::inject(&rendered, &named)))
        };
        Ok(Compiled {
            sql,
            extra_ctes: ctes
                .into_iter()
                .map(|(id, name, sql)| (id, format!(" {name} as (\n{sql}\n)")))
                .collect(),
        })
    }

    /// Every ephemeral model `node` reads, directly or through other
    /// ephemerals, as (unique_id, cte name, sql), parents first.
    fn ctes_for(&self, deps: &[String], db: Option<&Db>) -> Result<Vec<(String, String, String)>> {
        let mut out: Vec<(String, String, String)> = Vec::new();
        for dep in deps {
            let Some(parent) = self.manifest.nodes.get(dep) else {
                continue;
            };
            if !parent.is_ephemeral() {
                continue;
            }
            let (sql, inherited) = self.ephemeral(parent, db)?;
            for c in inherited {
                if !out.iter().any(|o| o.0 == c.0) {
                    out.push(c);
                }
            }
            if !out.iter().any(|o| &o.0 == dep) {
                out.push((
                    dep.clone(),
                    format!("{}{}", crate::jinja::relation::CTE_PREFIX, parent.name),
                    sql,
                ));
            }
        }
        Ok(out)
    }

    /// An ephemeral model's rendered SQL and its own CTEs (compiled once).
    fn ephemeral(&self, node: &Node, db: Option<&Db>) -> EphemeralResult {
        let cell = {
            let mut map = self.ephemerals.lock().unwrap_or_else(|e| e.into_inner());
            map.entry(node.unique_id.clone()).or_default().clone()
        };
        cell.get_or_init(|| {
            let sql = self.render(node, db)?.to_string();
            let ctes = self.ctes_for(&node.depends_on_nodes, db)?;
            Ok((sql, ctes))
        })
        .clone()
    }

    /// Compiles standalone SQL (`compile --inline`), in the root package.
    pub fn compile_inline(&self, sql: &str, db: Option<&Db>) -> Result<String> {
        let scope = Arc::new(
            Scope::new(self.jinja.clone(), true)
                .with_resolver(Some(self.resolver.clone()))
                .with_db(db.cloned()),
        );
        let rendered =
            crate::jinja::render_in_scope(&scope, &self.manifest.root_package, "inline query", sql)
                .map_err(|e| {
                    errors::to_error(
                        &e,
                        &self.jinja,
                        "in the inline query",
                        "inline query",
                        sql,
                        Path::new("<inline>"),
                    )
                })?;
        // Ephemeral models the query refers to are inlined, as in a model.
        let lookup = crate::manifest::resolve::Lookup::new(&self.manifest);
        let deps: Vec<String> = scope
            .recorded()
            .refs
            .iter()
            .filter_map(|r| lookup.find_ref(&self.manifest, &self.manifest.root_package, r))
            .collect();
        let ctes: Vec<(String, String)> = self
            .ctes_for(&deps, None)?
            .into_iter()
            .map(|(_, n, s)| (n, s))
            .collect();
        Ok(crate::jinja::relation::drop_doubled_limit_aliases(
            &ctes::inject(&rendered, &ctes),
        ))
    }
}

fn regex_call() -> &'static regex::Regex {
    crate::regex!(r"^\s*(env_var|ref|var|source|doc)\s*\(.+\)\s*$")
}

/// Where dbt writes a node's compiled SQL, relative to the target directory.
pub fn compiled_path(node: &Node) -> PathBuf {
    let mut p = PathBuf::from("compiled")
        .join(&node.package_name)
        .join(&node.original_file_path);
    if node.test.is_some() {
        p.push(&node.path);
    }
    if node.unit.is_some() {
        // As dbt: under the YAML file, in its folder, named after the test.
        let folder = Path::new(&node.original_file_path)
            .parent()
            .unwrap_or(Path::new(""));
        p.push(folder.join(format!("{}.sql", node.name)));
    }
    p
}

/// Compiles `ids` in parallel, returning each node's result.
/// `db`: as dbt, compiling may query the database (run_query, star, ...),
/// reading only; nothing is built.
pub fn compile_all(
    compiler: &Compiler,
    ids: &[String],
    db: Option<&Db>,
) -> Vec<(String, Result<Compiled>)> {
    ids.par_iter()
        .map(|id| {
            let r = match compiler.manifest.nodes.get(id) {
                Some(n) => compiler.compile_node(n, db),
                None => Err(Error::new(format!("{id} is not a node"))),
            };
            (id.clone(), r)
        })
        .collect()
}

/// Writes compiled SQL under `target_dir`, in parallel. A file that already
/// holds the same SQL is left alone (rewriting thousands of unchanged files
/// costs more than reading them, and keeps their mtimes meaningful).
pub fn write_compiled(
    target_dir: &Path,
    manifest: &Manifest,
    compiled: &CompiledNodes,
) -> Result<()> {
    let files: Vec<(PathBuf, &str)> = compiled
        .iter()
        .filter_map(|(id, c)| {
            manifest
                .nodes
                .get(id)
                // As dbt compile: snapshots are compiled (for the manifest)
                // but get no file of their own.
                .filter(|n| n.resource_type != ResourceType::Snapshot)
                .map(|n| (target_dir.join(compiled_path(n)), &*c.sql))
        })
        .collect();
    let dirs: std::collections::BTreeSet<&Path> =
        files.iter().filter_map(|(p, _)| p.parent()).collect();
    // Files in a directory made now cannot be there already: no need to
    // look for them (on a cold compile, that halves the file system calls).
    let mut new_dirs = std::collections::HashSet::new();
    for dir in dirs {
        if !dir.is_dir() {
            new_dirs.insert(dir);
        }
        std::fs::create_dir_all(dir).map_err(|e| Error::io("create", dir, e))?;
    }
    files.par_iter().try_for_each(|(path, sql)| {
        let may_exist = path.parent().is_some_and(|d| !new_dirs.contains(d));
        if may_exist && std::fs::read(path).is_ok_and(|old| old == sql.as_bytes()) {
            return Ok(());
        }
        std::fs::write(path, sql).map_err(|e| Error::io("write", path, e))
    })
}
