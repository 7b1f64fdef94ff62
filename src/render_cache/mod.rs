//! The render cache (kiln's partial parsing): a node's parse render and its
//! compile render are reused from the last invocation while everything they
//! read is unchanged.
//!
//! An entry holds the render's output, the key of the node's own inputs
//! (its text, path, config, relation, test arguments: [`key`]) and what the
//! render read besides ([`Deps`]): every macro it called at any depth, every
//! var and env var with its value, every ref and source with the relation
//! it resolved to. A render that read anything else that can change between
//! runs (the database, the clock, the invocation, the graph; see
//! `Trace::volatile`) is not cached. All entries also share a global key
//! (kiln's build, the target, dbt_project.yml settings, the set of macros):
//! when it changes, every node renders again.

mod file;
pub mod key;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::jinja::context::{RefCall, Trace};
use crate::jinja::{Jinja, Resolver};
use crate::project::Project;

/// `--no-partial-parse` (or DBT_PARTIAL_PARSE=false): render everything,
/// still writing the cache for next time.
static BYPASS: AtomicBool = AtomicBool::new(false);

pub fn bypass(yes: bool) {
    BYPASS.store(yes, Ordering::Relaxed);
}

/// What a parse render learns about a node.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ParseResult {
    pub refs: Vec<RefCall>,
    pub sources: Vec<(String, String)>,
    /// The in-file `config()` calls, as JSON.
    pub config_call: String,
    pub macros: Vec<String>,
    /// Vars read, as a JSON object.
    pub vars_used: String,
    pub env_vars_used: BTreeMap<String, String>,
}

/// What a render read besides its node, with the value each had.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Deps {
    /// Macros, by index in the file's macro table ([`CHANGED`]: one whose
    /// text changed since).
    macros: Vec<u32>,
    /// Var name and the hash of its value (0: not set).
    vars: Vec<(String, u128)>,
    env_vars: Vec<(String, Option<String>)>,
    /// Flags read, with the hash of each value (`*`: all flags).
    flags: Vec<(String, u128)>,
    /// Calling package, the call, and the hash of the relation it gave.
    refs: Vec<(String, RefCall, u128)>,
    sources: Vec<(String, String, u128)>,
}

/// Compiled SQL, shared with the compile's results (stored as a string).
#[derive(Debug, Clone)]
struct Sql(Arc<str>);

impl Serialize for Sql {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Sql {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(|s| Sql(Arc::from(s)))
    }
}

#[derive(Serialize, Deserialize)]
struct Entry<T> {
    key: u128,
    deps: Deps,
    value: T,
}

/// A macro index that no longer matches: the macro changed or is gone.
const CHANGED: u32 = u32::MAX;

#[derive(Serialize, Deserialize)]
struct Body<T> {
    global: u128,
    /// Every macro's unique id and the hash of its text, in registry order.
    macros: Vec<(String, u128)>,
    entries: HashMap<String, Entry<T>>,
}

/// This run's macros: unique id and hash of the text, by registry index.
struct Macros {
    table: Vec<(String, u128)>,
    index: HashMap<String, u32>,
}

impl Macros {
    fn new(jinja: &Jinja) -> Macros {
        let table: Vec<(String, u128)> = jinja
            .macros
            .defs
            .iter()
            .map(|d| (d.unique_id.clone(), key::of_str(&d.macro_sql)))
            .collect();
        let index = table
            .iter()
            .enumerate()
            .map(|(i, (id, _))| (id.clone(), i as u32))
            .collect();
        Macros { table, index }
    }

    /// Maps a saved file's macro indices to this run's, or to CHANGED.
    fn remap(&self, saved: &[(String, u128)]) -> Vec<u32> {
        saved
            .iter()
            .map(|(id, h)| match self.index.get(id) {
                Some(&i) if self.table[i as usize].1 == *h => i,
                _ => CHANGED,
            })
            .collect()
    }
}

fn var_hash(v: Option<&Json>) -> u128 {
    v.map(key::of_json).unwrap_or(0)
}

/// The hash of one flag's value (`*`: of all flags).
fn flag_hash(jinja: &Jinja, name: &str) -> u128 {
    if name == "*" {
        return key::of_json(&jinja.flags);
    }
    match jinja.flags.get_attr(name) {
        Ok(v) if !v.is_undefined() => key::of_json(&v),
        _ => 0,
    }
}

/// One kind of render's entries: last run's, and this run's.
struct Stage<T> {
    name: &'static str,
    path: PathBuf,
    old: OnceLock<Mutex<HashMap<String, Entry<T>>>>,
    fresh: Mutex<HashMap<String, Entry<T>>>,
    hits: AtomicUsize,
    rendered: AtomicUsize,
    dirty: AtomicBool,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl<T: Clone + Serialize + DeserializeOwned> Stage<T> {
    fn new(name: &'static str, dir: &Path) -> Stage<T> {
        Stage {
            name,
            path: dir.join(format!("{name}.bin")),
            old: OnceLock::new(),
            fresh: Mutex::new(HashMap::new()),
            hits: AtomicUsize::new(0),
            rendered: AtomicUsize::new(0),
            dirty: AtomicBool::new(false),
        }
    }

    /// Last run's entries, read on first use (a command that never
    /// compiles never reads the compile cache).
    fn old(&self, global: u128, macros: &Macros) -> &Mutex<HashMap<String, Entry<T>>> {
        self.old.get_or_init(|| {
            let entries = match file::read::<Body<T>>(&self.path) {
                _ if BYPASS.load(Ordering::Relaxed) => HashMap::new(),
                Some(mut b) if b.global == global => {
                    let now = macros.remap(&b.macros);
                    for e in b.entries.values_mut() {
                        for m in &mut e.deps.macros {
                            *m = now.get(*m as usize).copied().unwrap_or(CHANGED);
                        }
                    }
                    b.entries
                }
                Some(_) => {
                    crate::output::debug(&format!(
                        "render cache: kiln, the target, dbt_project.yml or the set of macros changed; every {} renders again",
                        self.name
                    ));
                    self.dirty.store(true, Ordering::Relaxed);
                    HashMap::new()
                }
                None => HashMap::new(),
            };
            Mutex::new(entries)
        })
    }

    /// Last run's output for `id`, if its key and everything it read are
    /// unchanged (`changed` names what changed, if anything).
    fn lookup(
        &self,
        global: u128,
        macros: &Macros,
        id: &str,
        key: u128,
        changed: impl Fn(&Deps) -> Option<String>,
    ) -> Option<T> {
        // Rendered earlier in this run (an ephemeral model, inlined elsewhere).
        if let Some(e) = lock(&self.fresh).get(id).filter(|e| e.key == key) {
            return Some(e.value.clone());
        }
        let found = lock(self.old(global, macros)).remove(id);
        let why = match &found {
            None => Some("not in the cache".to_string()),
            Some(e) if e.key != key => Some("its file, config or place changed".to_string()),
            Some(e) => changed(&e.deps),
        };
        match (found, why) {
            (Some(entry), None) => {
                self.hits.fetch_add(1, Ordering::Relaxed);
                let value = entry.value.clone();
                lock(&self.fresh).insert(id.to_string(), entry);
                Some(value)
            }
            (found, why) => {
                self.rendered.fetch_add(1, Ordering::Relaxed);
                if found.is_some() {
                    self.dirty.store(true, Ordering::Relaxed);
                }
                if crate::output::debugging() {
                    crate::output::debug(&format!(
                        "render cache: {} {id} renders: {}",
                        self.name,
                        why.unwrap_or_default()
                    ));
                }
                None
            }
        }
    }

    fn store(&self, id: &str, key: u128, deps: Result<Deps, &'static str>, value: T) {
        match deps {
            Ok(deps) => {
                lock(&self.fresh).insert(id.to_string(), Entry { key, deps, value });
                self.dirty.store(true, Ordering::Relaxed);
            }
            Err(why) if crate::output::debugging() => crate::output::debug(&format!(
                "render cache: {} {id} is not cached: it {why}",
                self.name
            )),
            Err(_) => {}
        }
    }

    /// Writes this run's entries (and last run's for nodes this run did
    /// not render but that still exist), if anything changed.
    fn save(&self, global: u128, macros: &Macros, exists: &dyn Fn(&str) -> bool) {
        let old = self.old.get().map(lock);
        let gone = old.as_ref().is_some_and(|o| o.keys().any(|id| !exists(id)));
        if !gone && !self.dirty.load(Ordering::Relaxed) {
            return;
        }
        let mut entries = std::mem::take(&mut *lock(&self.fresh));
        if let Some(mut old) = old {
            for (id, e) in old.drain() {
                if exists(&id) {
                    entries.entry(id).or_insert(e);
                }
            }
        }
        let macros = macros.table.clone();
        file::write(
            &self.path,
            &Body {
                global,
                macros,
                entries,
            },
        );
    }

    fn counts(&self) -> (usize, usize) {
        (
            self.hits.load(Ordering::Relaxed),
            self.rendered.load(Ordering::Relaxed),
        )
    }
}

/// The cache of one invocation.
pub struct RenderCache {
    global: u128,
    macros: Macros,
    parse: Stage<ParseResult>,
    compile: Stage<Sql>,
}

impl RenderCache {
    pub fn open(project: &Project, jinja: &Jinja) -> RenderCache {
        let dir = project.target_dir().join("kiln_cache");
        RenderCache {
            global: key::global(project, jinja),
            macros: Macros::new(jinja),
            parse: Stage::new("parse", &dir),
            compile: Stage::new("compile", &dir),
        }
    }

    /// What a finished render read, or why it cannot be cached.
    fn deps(&self, jinja: &Jinja, trace: Trace) -> Result<Deps, &'static str> {
        if let Some(why) = trace.volatile {
            return Err(why);
        }
        Ok(Deps {
            macros: trace.macros.into_iter().map(|i| i as u32).collect(),
            vars: trace
                .vars
                .into_iter()
                .map(|(k, v)| (k, var_hash(v.as_ref())))
                .collect(),
            env_vars: trace.env_vars.into_iter().collect(),
            flags: trace
                .flags
                .into_iter()
                .map(|f| {
                    let h = flag_hash(jinja, &f);
                    (f, h)
                })
                .collect(),
            refs: trace
                .refs
                .into_iter()
                .map(|(pkg, call, rel)| (pkg, call, key::of_relation(&rel)))
                .collect(),
            sources: trace
                .sources
                .into_iter()
                .map(|(s, t, rel)| (s, t, key::of_relation(&rel)))
                .collect(),
        })
    }

    /// What, of what a render read, is different now.
    fn changed(
        &self,
        deps: &Deps,
        jinja: &Jinja,
        package: &str,
        resolver: Option<&dyn Resolver>,
    ) -> Option<String> {
        if deps.macros.contains(&CHANGED) {
            return Some("a macro it calls changed".to_string());
        }
        if !deps.vars.is_empty() {
            let vars = jinja.vars_for(package);
            for (name, h) in &deps.vars {
                if var_hash(vars.get(name)) != *h {
                    return Some(format!("var '{name}' changed"));
                }
            }
        }
        for (name, v) in &deps.env_vars {
            if std::env::var(name).ok() != *v {
                return Some(format!("env var {name} changed"));
            }
        }
        for (name, h) in &deps.flags {
            if flag_hash(jinja, name) != *h {
                return Some(format!("flag {name} changed"));
            }
        }
        for (pkg, call, h) in &deps.refs {
            let now = resolver.and_then(|r| r.resolve_ref(pkg, call).ok());
            if now.map(|r| key::of_relation(&r)) != Some(*h) {
                return Some(format!("ref('{}') changed", call.name));
            }
        }
        for (s, t, h) in &deps.sources {
            let now = resolver.and_then(|r| r.resolve_source(s, t).ok());
            if now.map(|r| key::of_relation(&r)) != Some(*h) {
                return Some(format!("source('{s}', '{t}') changed"));
            }
        }
        None
    }

    pub fn parse_lookup(
        &self,
        jinja: &Jinja,
        node: &crate::manifest::Node,
        key: u128,
    ) -> Option<ParseResult> {
        self.parse
            .lookup(self.global, &self.macros, &node.unique_id, key, |d| {
                self.changed(d, jinja, &node.package_name, None)
            })
    }

    pub fn parse_store(&self, jinja: &Jinja, id: &str, key: u128, trace: Trace, r: ParseResult) {
        self.parse.store(id, key, self.deps(jinja, trace), r);
    }

    pub fn compile_lookup(
        &self,
        jinja: &Jinja,
        node: &crate::manifest::Node,
        key: u128,
        resolver: &dyn Resolver,
    ) -> Option<Arc<str>> {
        self.compile
            .lookup(self.global, &self.macros, &node.unique_id, key, |d| {
                self.changed(d, jinja, &node.package_name, Some(resolver))
            })
            .map(|s| s.0)
    }

    pub fn compile_store(&self, jinja: &Jinja, id: &str, key: u128, trace: Trace, sql: Arc<str>) {
        self.compile
            .store(id, key, self.deps(jinja, trace), Sql(sql));
    }

    /// Reads the last compile's renders now (on another thread, while the
    /// caller selects nodes), rather than when the first node needs them.
    pub fn preload_compile(self: &Arc<Self>) {
        let cache = self.clone();
        std::thread::spawn(move || {
            cache.compile.old(cache.global, &cache.macros);
        });
    }

    /// Writes the parse cache; `exists` says which nodes are still there.
    pub fn save_parse(&self, exists: &dyn Fn(&str) -> bool) {
        self.parse.save(self.global, &self.macros, exists);
    }

    pub fn save_compile(&self, exists: &dyn Fn(&str) -> bool) {
        self.compile.save(self.global, &self.macros, exists);
    }

    /// "3 of 21204 re-rendered" style counts: (reused, rendered) per stage.
    pub fn counts(&self) -> ((usize, usize), (usize, usize)) {
        (self.parse.counts(), self.compile.counts())
    }
}
