//! Keys: 128-bit hashes of what a render reads from its node, and of what
//! every render of the invocation shares (the global key).

use std::io::Write;

use serde_json::Value as Json;
use xxhash_rust::xxh3::Xxh3;

use crate::jinja::Jinja;
use crate::manifest::Node;
use crate::project::Project;

/// A hasher that takes bytes, strings and JSON (as `io::Write`, so serde
/// writes straight into it without building a string).
#[derive(Default)]
pub struct Keyer(Xxh3);

impl Write for Keyer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Keyer {
    /// A string, length first, so that ("ab", "c") and ("a", "bc") differ.
    pub fn str(&mut self, s: &str) -> &mut Self {
        self.0.update(&(s.len() as u64).to_le_bytes());
        self.0.update(s.as_bytes());
        self
    }

    pub fn opt(&mut self, s: Option<&str>) -> &mut Self {
        match s {
            Some(s) => self.str("some").str(s),
            None => self.str("none"),
        }
    }

    pub fn json(&mut self, v: &impl serde::Serialize) -> &mut Self {
        let _ = serde_json::to_writer(&mut *self, v);
        self.str("")
    }

    pub fn finish(&self) -> u128 {
        self.0.digest128()
    }
}

pub fn of_json(v: &impl serde::Serialize) -> u128 {
    Keyer::default().json(v).finish()
}

pub fn of_str(s: &str) -> u128 {
    Keyer::default().str(s).finish()
}

/// Every field of a relation, including those its JSON leaves out
/// (`--empty`, `--sample`'s filter), which change how it renders.
pub fn of_relation(rel: &crate::jinja::relation::Relation) -> u128 {
    let mut k = Keyer::default();
    let _ = write!(k, "{rel:?}");
    k.finish()
}

/// The node's own fields every render of it reads: its text, where it
/// lives, and its config as merged so far.
fn node_fields(k: &mut Keyer, node: &Node) {
    k.str(&node.unique_id)
        .str(&node.raw_code)
        .str(&node.raw_code_line.to_string())
        .str(&node.display_path.to_string_lossy())
        .str(&node.package_name)
        .str(&node.path)
        .str(&node.original_file_path)
        .str(node.resource_type.as_str())
        .str(node.language)
        .json(&node.fqn);
    node.config.fingerprint(k);
}

/// Key of a node's parse render (before its in-file config is applied).
pub fn parse(node: &Node) -> u128 {
    let mut k = Keyer::default();
    k.str("parse");
    node_fields(&mut k, node);
    k.finish()
}

/// Key of a node's compile render: its parse inputs plus where it is built
/// (`this`) and, for a generic test, its arguments.
pub fn compile(node: &Node) -> u128 {
    let mut k = Keyer::default();
    k.str("compile");
    node_fields(&mut k, node);
    let _ = write!(k, "{:?}", node.typed_relation());
    if let Some(t) = &node.test {
        k.str(&t.name)
            .opt(t.namespace.as_deref())
            .opt(t.column_name.as_deref())
            .json(&t.kwargs);
    }
    k.finish()
}

/// What every render of this invocation reads: kiln itself (its version and
/// this very binary), the target, the project's settings, and the set of
/// macros (adding one can change what a name or a dispatch resolves to).
pub fn global(project: &Project, jinja: &Jinja) -> u128 {
    let mut k = Keyer::default();
    k.str(env!("CARGO_PKG_VERSION"));
    // A rebuilt kiln of the same version may render differently.
    if let Some(meta) = std::env::current_exe()
        .ok()
        .and_then(|p| std::fs::metadata(p).ok())
    {
        k.str(&meta.len().to_string());
        if let Some(t) = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        {
            k.str(&t.as_nanos().to_string());
        }
    }
    k.str(&jinja.adapter_type)
        .str(&jinja.project_dir.to_string_lossy())
        .str(&jinja.root_package)
        .json(&jinja.package_names);
    let target: Json = serde_json::to_value(&jinja.target).unwrap_or_default();
    k.json(&target);
    let mut dispatch: Vec<_> = jinja.dispatch.iter().collect();
    dispatch.sort();
    k.json(&dispatch);
    for pkg in &project.packages {
        k.str(&pkg.name).str(&pkg.render_settings());
    }
    let mut macros: Vec<&str> = jinja
        .macros
        .defs
        .iter()
        .map(|d| d.unique_id.as_str())
        .collect();
    macros.sort_unstable();
    k.json(&macros);
    k.finish()
}
