//! Macros: every `{% macro %}` of the built-in templates, the project and its
//! packages, each compiled once as its own minijinja template, and called
//! through [`MacroFn`] with dbt's name resolution and `return()`.
//!
//! minijinja macros belong to the render that defined them, so a call renders
//! the macro's one-macro template inside the caller's context (same node, same
//! recorder) and calls it there. `return(x)` ends that render early with a
//! marker error that carries `x` back as the call's value.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use minijinja::machinery::{ast, parse};
use minijinja::syntax::SyntaxConfig;
use minijinja::value::{Kwargs, Object, Value};
use minijinja::{Environment, Error, ErrorKind, State};

use crate::error::{line_col, Error as KilnError, Location};
use crate::jinja::context::Ctx;
use crate::jinja::{ast_walk, dialect};

/// Packages whose macros are dbt's own (the global `dbt` namespace).
pub const INTERNAL_PACKAGES: [&str; 4] = ["dbt", "dbt_duckdb", "dbt_postgres", "dbt_spark"];

/// Temp key under which `return()` leaves its value in the macro's state.
pub const RETURN_KEY: &str = "__kiln_return";

/// One macro definition.
#[derive(Debug, Clone)]
pub struct MacroDef {
    pub unique_id: String,
    pub name: String,
    pub package: String,
    /// Path relative to its package (original_file_path).
    pub path: String,
    /// Path as shown in messages.
    pub display_path: PathBuf,
    pub line: usize,
    /// The macro's source, `{% macro %}` to `{% endmacro %}`.
    pub macro_sql: String,
    /// Argument names, in order.
    pub arguments: Vec<String>,
    /// Template name in the environment.
    pub template: String,
    /// Names called inside the macro body (for depends_on.macros).
    pub calls: Vec<String>,
    /// Variable names the body reads (sorted).
    pub vars: Vec<String>,
}

impl MacroDef {
    /// Does the body read variable `name` (e.g. one of its arguments)?
    pub fn reads(&self, name: &str) -> bool {
        self.vars.binary_search_by(|v| v.as_str().cmp(name)).is_ok()
    }
}

/// A macro file to register: its package, paths and contents.
pub struct MacroFile<'a> {
    pub package: &'a str,
    pub path: &'a str,
    pub display_path: PathBuf,
    pub contents: &'a str,
}

#[derive(Default)]
pub struct MacroRegistry {
    pub defs: Vec<MacroDef>,
    values: Vec<Value>,
    by_package: HashMap<String, HashMap<String, usize>>,
    internal: HashMap<String, usize>,
    pub root: String,
}

impl MacroRegistry {
    pub fn new(root: &str) -> MacroRegistry {
        MacroRegistry {
            root: root.to_string(),
            ..Default::default()
        }
    }

    /// Splits a file into its macros and compiles each into `env`.
    pub fn add_file(
        &mut self,
        env: &mut Environment<'static>,
        file: &MacroFile,
    ) -> Result<(), KilnError> {
        let source = dialect::rewrite(file.contents);
        let tree = parse(&source, file.path, SyntaxConfig::default()).map_err(|e| {
            let line = e.line().unwrap_or(1);
            let col = e.range().map(|r| line_col(&source, r.start).1).unwrap_or(1);
            KilnError::new(format!(
                "Jinja syntax error: {}",
                e.detail().unwrap_or("invalid template")
            ))
            .at(Location::in_text(
                &file.display_path,
                file.contents,
                line,
                col,
            ))
        })?;
        let ast::Stmt::Template(t) = &tree else {
            return Ok(());
        };
        for stmt in &t.children {
            let ast::Stmt::Macro(m) = stmt else { continue };
            // The span runs from `macro` to `endmacro`; widen it to the tag delimiters.
            let span = m.span();
            let start = source[..span.start_offset as usize]
                .rfind("{%")
                .unwrap_or(0);
            let end = span.end_offset as usize;
            let end = source[end..]
                .find("%}")
                .map(|i| end + i + 2)
                .unwrap_or(source.len());
            let (line, col) = line_col(&source, start);
            let text = &source[start..end];
            // Pad so that line numbers inside the macro template match the file.
            let mut body = "\n".repeat(line - 1);
            body.push_str(&" ".repeat(col - 1));
            body.push_str(text);
            let template = format!("{}::{}", file.display_path.display(), m.name);
            env.add_template_owned(template.clone(), body)
                .map_err(|e| {
                    KilnError::new(format!(
                        "Jinja syntax error: {}",
                        e.detail().unwrap_or("invalid template")
                    ))
                    .at(Location::in_text(
                        &file.display_path,
                        file.contents,
                        e.line().unwrap_or(1),
                        1,
                    ))
                })?;
            let mut uses = Uses::default();
            ast_walk::walk_stmts(&m.body, &mut uses);
            uses.vars.sort();
            uses.vars.dedup();
            let arguments = m
                .args
                .iter()
                .filter_map(|a| match a {
                    ast::Expr::Var(v) => Some(v.id.to_string()),
                    _ => None,
                })
                .collect();
            let orig_text = file
                .contents
                .get(start..end.min(file.contents.len()))
                .unwrap_or(text);
            self.insert(MacroDef {
                unique_id: format!("macro.{}.{}", file.package, m.name),
                name: m.name.to_string(),
                package: file.package.to_string(),
                path: file.path.to_string(),
                display_path: file.display_path.clone(),
                line,
                macro_sql: orig_text.to_string(),
                arguments,
                template,
                calls: uses.calls,
                vars: uses.vars,
            })?;
        }
        Ok(())
    }

    fn insert(&mut self, def: MacroDef) -> Result<(), KilnError> {
        let idx = self.defs.len();
        let internal = INTERNAL_PACKAGES.contains(&def.package.as_str());
        let pkg = self.by_package.entry(def.package.clone()).or_default();
        if let Some(&prev) = pkg.get(&def.name) {
            let other = &self.defs[prev];
            // The adapter's built-ins may replace core built-ins of the same name.
            if !internal {
                return Err(KilnError::new(format!(
                    "two macros are named '{}' in package '{}'",
                    def.name, def.package
                ))
                .at(Location::file(&def.display_path))
                .note(format!(
                    "the other is in {}:{}",
                    other.display_path.display(),
                    other.line
                ))
                .note("rename or delete one of them"));
            }
        }
        pkg.insert(def.name.clone(), idx);
        if internal {
            self.internal.insert(def.name.clone(), idx);
        }
        self.values.push(Value::from_object(MacroFn { idx }));
        self.defs.push(def);
        Ok(())
    }

    /// Resolves an unqualified macro name as dbt does for code in `package`:
    /// that package's macros, then the root project's, then dbt's own.
    pub fn resolve(&self, package: &str, name: &str) -> Option<usize> {
        if !INTERNAL_PACKAGES.contains(&package) {
            if let Some(&i) = self.by_package.get(package).and_then(|m| m.get(name)) {
                return Some(i);
            }
        }
        if let Some(&i) = self.by_package.get(&self.root).and_then(|m| m.get(name)) {
            return Some(i);
        }
        self.internal.get(name).copied()
    }

    /// A macro of one package (`dbt_utils.star`); `dbt` names the built-ins.
    pub fn in_package(&self, package: &str, name: &str) -> Option<usize> {
        if package == "dbt" {
            return self.internal.get(name).copied();
        }
        self.by_package
            .get(package)
            .and_then(|m| m.get(name))
            .copied()
    }

    pub fn has_package(&self, package: &str) -> bool {
        package == "dbt" || self.by_package.contains_key(package)
    }

    pub fn value(&self, idx: usize) -> Value {
        self.values[idx].clone()
    }

    /// Every macro name callable from `package`, for "did you mean".
    pub fn visible_names(&self, package: &str) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for p in [package, self.root.as_str()] {
            if let Some(m) = self.by_package.get(p) {
                names.extend(m.keys().map(String::as_str));
            }
        }
        names.extend(self.internal.keys().map(String::as_str));
        names
    }

    /// The macros a call of macro `idx` may reach (transitively), for depends_on.
    pub fn reachable(&self, idx: usize) -> Vec<usize> {
        let mut seen = vec![idx];
        let mut i = 0;
        while i < seen.len() {
            let def = &self.defs[seen[i]];
            for name in &def.calls {
                if let Some(j) = self.resolve(&def.package, name) {
                    if !seen.contains(&j) {
                        seen.push(j);
                    }
                }
            }
            i += 1;
        }
        seen
    }
}

/// What a macro body uses: the functions it calls (`foo`, `pkg.foo`) and the
/// variables it reads.
#[derive(Default)]
struct Uses {
    calls: Vec<String>,
    vars: Vec<String>,
}

impl ast_walk::Visitor for Uses {
    fn expr(&mut self, e: &ast::Expr<'_>) -> bool {
        if let ast::Expr::Var(v) = e {
            self.vars.push(v.id.to_string());
        }
        true
    }

    /// Records the callee (`foo` or `pkg.foo`) and walks the arguments.
    fn call(&mut self, c: &ast::Call<'_>) -> bool {
        match &c.expr {
            ast::Expr::Var(v) => self.calls.push(v.id.to_string()),
            ast::Expr::GetAttr(g) => match &g.expr {
                // `pkg.foo(...)`, or a method of a variable (`kwargs.get(...)`).
                ast::Expr::Var(v) => {
                    self.calls.push(format!("{}.{}", v.id, g.name));
                    self.vars.push(v.id.to_string());
                }
                other => ast_walk::walk_expr(other, self),
            },
            other => ast_walk::walk_expr(other, self),
        }
        ast_walk::walk_args(&c.args, self);
        false
    }
}

/// A callable macro value: resolves to its definition and renders it in the
/// caller's context.
#[derive(Debug)]
pub struct MacroFn {
    pub idx: usize,
}

/// A `{% call(args) %}` body that takes arguments. It belongs to the
/// calling render, whose state is suspended in [`MacroFn::call`] while the
/// macro renders (in a render of its own), so calling it re-enters that
/// state, as Jinja2 would. It may be called only while that call is in
/// progress and on its thread; after, it reports an error.
#[derive(Debug)]
struct LiveCaller {
    caller: Value,
    /// The calling render's `State`, lifetimes erased.
    state: *mut (),
    alive: Arc<AtomicBool>,
    thread: std::thread::ThreadId,
}

// SAFETY: the pointer is only dereferenced on the thread that made it, while
// the render that owns the state is suspended in MacroFn::call (both
// checked in `call`).
unsafe impl Send for LiveCaller {}
unsafe impl Sync for LiveCaller {}

impl Object for LiveCaller {
    fn call(self: &Arc<Self>, _state: &mut State<'_, '_>, args: &[Value]) -> Result<Value, Error> {
        if !self.alive.load(Ordering::SeqCst) || std::thread::current().id() != self.thread {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                "caller() was called after its `{% call %}` block ended",
            ));
        }
        // SAFETY: `alive` and the thread check say MacroFn::call is still on
        // this thread's stack, holding the state borrowed and unused while the
        // macro renders; the caller's macro runs on it as in its own render.
        let outer = unsafe { &mut *(self.state as *mut State<'_, '_>) };
        self.caller.call(outer, args)
    }
}

/// The value of a `{% call %}` body, rendered by the caller before the macro
/// runs. A failure is kept and raised only if the macro calls `caller()`.
#[derive(Debug)]
struct RenderedCaller(Result<Value, String>);

impl Object for RenderedCaller {
    fn call(self: &Arc<Self>, _state: &mut State<'_, '_>, _args: &[Value]) -> Result<Value, Error> {
        self.0
            .clone()
            .map_err(|e| Error::new(ErrorKind::InvalidOperation, e))
    }
}

impl Object for MacroFn {
    fn call(self: &Arc<Self>, state: &mut State<'_, '_>, args: &[Value]) -> Result<Value, Error> {
        let ctx = Ctx::from_state(state)?;
        let alive = Arc::new(AtomicBool::new(true));
        let args = pass_caller(state, args, &alive)?;
        let result = ctx.call_macro(self.idx, &args);
        // The caller's render may not be entered any more.
        alive.store(false, Ordering::SeqCst);
        result
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match key.as_str()? {
            "name" => Some(Value::from(format!("macro#{}", self.idx))),
            _ => None,
        }
    }
}

/// Replaces a `caller` keyword argument (a `{% call %}` body, which belongs to
/// the calling render): a body that takes no arguments is rendered now; one
/// that takes arguments (`{% call(row) %}`) becomes a [`LiveCaller`].
fn pass_caller(
    state: &mut State<'_, '_>,
    args: &[Value],
    alive: &Arc<AtomicBool>,
) -> Result<Vec<Value>, Error> {
    let Some(last) = args.last() else {
        return Ok(Vec::new());
    };
    let Some(kwargs) = crate::jinja::kwargs_of(last) else {
        return Ok(args.to_vec());
    };
    if !kwargs.has("caller") {
        return Ok(args.to_vec());
    }
    let mut pairs: Vec<(String, Value)> = Vec::new();
    for key in kwargs.args() {
        let v: Value = kwargs.peek(key)?;
        if key == "caller" {
            let takes_args = v
                .get_attr("arguments")
                .ok()
                .and_then(|a| a.len())
                .unwrap_or(0)
                > 0;
            if takes_args {
                pairs.push((
                    key.to_string(),
                    Value::from_object(LiveCaller {
                        caller: v,
                        state: state as *mut State<'_, '_> as *mut (),
                        alive: alive.clone(),
                        thread: std::thread::current().id(),
                    }),
                ));
                continue;
            }
            let rendered = v
                .call(state, &[])
                .map_err(|e| crate::jinja::errors::describe(&e));
            pairs.push((
                key.to_string(),
                Value::from_object(RenderedCaller(rendered)),
            ));
        } else {
            pairs.push((key.to_string(), v));
        }
    }
    let mut out = args[..args.len() - 1].to_vec();
    out.push(Value::from(Kwargs::from_iter(pairs)));
    Ok(out)
}
