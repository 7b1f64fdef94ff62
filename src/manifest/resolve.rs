//! Turning refs and sources into graph edges, with errors that point at the
//! call; and resolving them to relations when templates execute.

use crate::fast_hash::FastMap;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use minijinja::Value;
use rayon::prelude::*;
use serde_json::Value as Json;

use crate::error::{Error, Location, Result};
use crate::jinja::relation::Relation;
use crate::jinja::{RefCall, Resolver};
use crate::manifest::{Manifest, Node, ResourceType};

pub enum Dependency {
    Ref(RefCall),
    Source(String, String),
}

/// Reads `ref('x')`, `ref('pkg', 'x')`, `ref('x', v=2)` or `source('a', 'b')`.
pub fn parse_dependency(text: &str) -> Option<Dependency> {
    let re = crate::regex!(r#"^\s*(ref|source)\s*\((.*)\)\s*$"#);
    let caps = re.captures(text)?;
    let func = caps.get(1)?.as_str();
    let arg_re =
        crate::regex!(r#"^\s*(?:(\w+)\s*=\s*)?(?:'([^']*)'|"([^"]*)"|(\d+(?:\.\d+)?))\s*$"#);
    let mut positional = Vec::new();
    let mut version = None;
    for part in caps.get(2)?.as_str().split(',') {
        if part.trim().is_empty() {
            continue;
        }
        let a = arg_re.captures(part)?;
        let value = a.get(2).or(a.get(3)).or(a.get(4))?.as_str().to_string();
        match a.get(1).map(|m| m.as_str()) {
            Some("v") | Some("version") => version = Some(value),
            Some(_) => return None,
            None => positional.push(value),
        }
    }
    match (func, positional.len()) {
        ("ref", 1) => Some(Dependency::Ref(RefCall {
            package: None,
            name: positional.remove(0),
            version,
        })),
        ("ref", 2) => Some(Dependency::Ref(RefCall {
            package: Some(positional.remove(0)),
            name: positional.remove(0),
            version,
        })),
        ("source", 2) => Some(Dependency::Source(
            positional.remove(0),
            positional.remove(0),
        )),
        _ => None,
    }
}

/// Lookup tables for refs and sources.
pub struct Lookup {
    /// name → unique ids of refable nodes with that name.
    by_name: FastMap<String, Vec<String>>,
    disabled: FastMap<String, String>,
    sources: FastMap<(String, String), Vec<String>>,
    root: String,
}

impl Lookup {
    pub fn new(manifest: &Manifest) -> Lookup {
        let mut by_name: FastMap<String, Vec<String>> = FastMap::default();
        for n in manifest.nodes.values().filter(|n| is_refable(n)) {
            by_name
                .entry(n.name.clone())
                .or_default()
                .push(n.unique_id.clone());
        }
        let disabled = manifest
            .disabled
            .values()
            .filter(|n| is_refable(n))
            .map(|n| (n.name.clone(), n.unique_id.clone()))
            .collect();
        let mut sources: FastMap<(String, String), Vec<String>> = FastMap::default();
        for s in manifest.sources.values() {
            sources
                .entry((s.source_name.clone(), s.name.clone()))
                .or_default()
                .push(s.unique_id.clone());
        }
        Lookup {
            by_name,
            disabled,
            sources,
            root: manifest.root_package.clone(),
        }
    }

    /// The node a ref from `from_package` points at (dbt's package search order:
    /// the root project, then the referring package, then any package).
    pub fn find_ref(
        &self,
        manifest: &Manifest,
        from_package: &str,
        call: &RefCall,
    ) -> Option<String> {
        let ids = self.by_name.get(&call.name)?;
        let in_pkg = |pkg: &str| {
            ids.iter().find(|id| {
                manifest
                    .nodes
                    .get(*id)
                    .is_some_and(|n| n.package_name == pkg && version_matches(n, call))
            })
        };
        if let Some(p) = &call.package {
            return in_pkg(p).cloned();
        }
        in_pkg(&self.root)
            .or_else(|| in_pkg(from_package))
            .or_else(|| {
                ids.iter().find(|id| {
                    manifest
                        .nodes
                        .get(*id)
                        .is_some_and(|n| version_matches(n, call))
                })
            })
            .cloned()
    }

    pub fn find_source(&self, manifest: &Manifest, source: &str, table: &str) -> Option<String> {
        let ids = self.sources.get(&(source.to_string(), table.to_string()))?;
        ids.iter()
            .find(|id| {
                manifest
                    .sources
                    .get(*id)
                    .is_some_and(|s| s.package_name == self.root)
            })
            .or_else(|| ids.first())
            .cloned()
    }

    fn names(&self) -> impl Iterator<Item = &str> {
        self.by_name.keys().map(String::as_str)
    }
}

fn version_matches(n: &Node, call: &RefCall) -> bool {
    match (&call.version, &n.version) {
        (None, None) => true,
        (None, Some(v)) => n
            .latest_version
            .as_ref()
            .is_none_or(|l| plain(l) == plain(v)),
        (Some(want), Some(have)) => plain(have) == *want,
        (Some(_), None) => false,
    }
}

fn plain(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn is_refable(n: &Node) -> bool {
    matches!(
        n.resource_type,
        ResourceType::Model | ResourceType::Seed | ResourceType::Snapshot
    )
}

/// Where in a node's file a call like `ref('x')` is written.
fn locate_call(node: &Node, func: &str, name: &str) -> Location {
    if node.unit.is_some() {
        // A unit test's one ref is its `model:`, under the test's name.
        return Location::line(&node.display_path, node.raw_code_line);
    }
    let pattern = format!(
        r#"{func}\s*\(\s*(?:['"][^'"]*['"]\s*,\s*)?['"]{}['"]"#,
        regex::escape(name)
    );
    if let Ok(re) = regex::Regex::new(&pattern) {
        if let Some(m) = re.find(&node.raw_code) {
            let (line, col) = crate::error::line_col(&node.raw_code, m.start());
            let line = line + node.raw_code_line - 1;
            let text = std::iter::repeat_n("", node.raw_code_line - 1)
                .chain(node.raw_code.lines())
                .collect::<Vec<_>>()
                .join("\n");
            return Location::in_text(&node.display_path, &text, line, col);
        }
    }
    Location::file(&node.display_path)
}

/// Sets every node's depends_on from its refs and sources. Unknown refs are
/// errors; tests of disabled nodes are disabled with them.
pub fn link(manifest: &mut Manifest) -> Result<()> {
    let lookup = Lookup::new(manifest);
    let warnings: std::sync::Mutex<Vec<String>> = Default::default();
    // Each node's parents, found in parallel; None: the node depends on a
    // disabled node and is disabled too (tests only).
    let resolve_node = |node: &Node| -> Result<Option<Vec<String>>> {
        let mut deps: Vec<String> = Vec::new();
        let mut disabled_dep = false;
        for call in &node.refs {
            match lookup.find_ref(manifest, &node.package_name, call) {
                Some(id) => {
                    if let Some(to) = manifest.nodes.get(&id) {
                        check_access(node, to, call, &manifest.restricted_packages)?;
                        if let Some(w) = deprecated_reference(node, to) {
                            lock_warnings(&warnings).push(w);
                        }
                    }
                    push_unique(&mut deps, id)
                }
                None if lookup.disabled.contains_key(&call.name) => {
                    if node.resource_type == ResourceType::Test {
                        disabled_dep = true;
                        continue;
                    }
                    return Err(Error::new(format!(
                        "{} refers to '{}', which is disabled",
                        node.unique_id, call.name
                    ))
                    .at(locate_call(node, "ref", &call.name))
                    .note(format!(
                        "enable {} or remove this ref",
                        lookup.disabled[&call.name]
                    )));
                }
                None => {
                    let what = match &call.package {
                        Some(p) => format!("'{}' in package '{p}'", call.name),
                        None => format!("'{}'", call.name),
                    };
                    let who = match node.unit {
                        Some(_) => format!("unit test '{}' tests model", node.name),
                        None => format!("{} refers to", node.unique_id),
                    };
                    return Err(Error::new(format!(
                        "{who} {what}, which is not a model, seed or snapshot in this project"
                    ))
                    .at(locate_call(node, "ref", &call.name))
                    .suggest(&call.name, lookup.names()));
                }
            }
        }
        for (source, table) in &node.sources {
            match lookup.find_source(manifest, source, table) {
                Some(id) => push_unique(&mut deps, id),
                None => {
                    if node.resource_type == ResourceType::Test
                        && manifest
                            .disabled_sources
                            .values()
                            .any(|s| &s.source_name == source && &s.name == table)
                    {
                        disabled_dep = true;
                        continue;
                    }
                    let known: Vec<String> = manifest
                        .sources
                        .values()
                        .map(|s| format!("{}.{}", s.source_name, s.name))
                        .collect();
                    return Err(Error::new(format!(
                        "{} uses source('{source}', '{table}'), which is not defined",
                        node.unique_id
                    ))
                    .at(locate_call(node, "source", table))
                    .suggest(
                        &format!("{source}.{table}"),
                        known.iter().map(String::as_str),
                    )
                    .note("declare it under `sources:` in a properties .yml file"));
                }
            }
        }
        Ok((!disabled_dep).then_some(deps))
    };
    let resolved: Vec<Result<Option<Vec<String>>>> = manifest
        .nodes
        .par_values()
        .map(|n| resolve_node(n))
        .collect();
    let mut to_disable: Vec<String> = Vec::new();
    let mut updates: Vec<(usize, Vec<String>)> = Vec::with_capacity(resolved.len());
    for (i, r) in resolved.into_iter().enumerate() {
        match r? {
            Some(deps) => updates.push((i, deps)),
            None => to_disable.extend(manifest.nodes.get_index(i).map(|(id, _)| id.clone())),
        }
    }
    for (i, deps) in updates {
        if let Some((_, n)) = manifest.nodes.get_index_mut(i) {
            n.depends_on_nodes = deps;
        }
    }
    let mut found = warnings.into_inner().unwrap_or_else(|p| p.into_inner());
    found.sort();
    found.dedup();
    manifest.warnings.extend(found);
    for id in to_disable {
        if let Some(n) = manifest.nodes.shift_remove(&id) {
            manifest.disabled.insert(id, n);
        }
    }
    let mut exposure_updates = Vec::new();
    for e in manifest.exposures.values() {
        let mut deps = Vec::new();
        for call in &e.refs {
            match lookup.find_ref(manifest, &e.package_name, call) {
                Some(id) => push_unique(&mut deps, id),
                None => {
                    return Err(Error::new(format!(
                    "exposure '{}' depends on ref('{}'), which is not a model, seed or snapshot",
                    e.name, call.name
                ))
                    .at(Location::file(&e.original_file_path))
                    .suggest(&call.name, lookup.names()))
                }
            }
        }
        for (s, t) in &e.sources {
            match lookup.find_source(manifest, s, t) {
                Some(id) => push_unique(&mut deps, id),
                None => {
                    return Err(Error::new(format!(
                        "exposure '{}' depends on source('{s}', '{t}'), which is not defined",
                        e.name
                    ))
                    .at(Location::file(&e.original_file_path)))
                }
            }
        }
        exposure_updates.push((e.unique_id.clone(), deps));
    }
    for (id, deps) in exposure_updates {
        if let Some(e) = manifest.exposures.get_mut(&id) {
            e.depends_on_nodes = deps;
        }
    }
    Ok(())
}

fn lock_warnings(w: &std::sync::Mutex<Vec<String>>) -> std::sync::MutexGuard<'_, Vec<String>> {
    w.lock().unwrap_or_else(|p| p.into_inner())
}

/// dbt's model access on ref(): a private model may be referenced only
/// from its own group, and a protected one of a package that sets
/// `restrict-access: true` only from that package. Tests may read any model.
fn check_access(from: &Node, to: &Node, call: &RefCall, restricted: &[String]) -> Result<()> {
    if to.resource_type != ResourceType::Model
        || matches!(
            from.resource_type,
            ResourceType::Test | ResourceType::UnitTest
        )
    {
        return Ok(());
    }
    let (why, fix) = match to.access.as_str() {
        "private" if !(to.group.is_some() && from.group == to.group) => (
            format!("private to the '{}' group", to.group.as_deref().unwrap_or("(none)")),
            format!("put {} in that group (`group:` config), or make {} protected or public (`access:`)", from.name, to.name),
        ),
        "protected"
            if from.package_name != to.package_name && restricted.contains(&to.package_name) =>
        {
            (
                format!("protected in package '{}' (restrict-access: true)", to.package_name),
                format!("ask for {} to be made public, or reference a public model", to.name),
            )
        }
        _ => return Ok(()),
    };
    Err(Error::new(format!(
        "{} refers to {}, which is {why}",
        from.unique_id, to.unique_id
    ))
    .at(locate_call(from, "ref", &call.name))
    .note(fix))
}

/// The warning dbt gives for a reference to a model with a deprecation_date.
fn deprecated_reference(from: &Node, to: &Node) -> Option<String> {
    let date = to.deprecation_date.as_deref()?;
    let day = date.get(..10).unwrap_or(date);
    let today = chrono::Utc::now()
        .date_naive()
        .format("%Y-%m-%d")
        .to_string();
    let when = if day < today.as_str() {
        format!("which was deprecated on {date}")
    } else {
        format!("which is slated for deprecation on {date}")
    };
    Some(format!(
        "{} refers to {}, {when}; move to a newer version or another model",
        from.unique_id, to.unique_id
    ))
}

/// `metric('x')` in exposures' depends_on, once metrics are read.
pub fn link_exposure_metrics(manifest: &mut Manifest) -> Result<()> {
    let mut updates = Vec::new();
    for e in manifest.exposures.values() {
        for text in &e.metrics {
            let id =
                crate::manifest::semantic::metric_dependency(manifest, text).ok_or_else(|| {
                    Error::new(format!(
                        "exposure '{}' depends on {text}, which is not a metric in this project",
                        e.name
                    ))
                    .at(Location::file(&e.original_file_path))
                })?;
            updates.push((e.unique_id.clone(), id));
        }
    }
    for (exposure, metric) in updates {
        if let Some(e) = manifest.exposures.get_mut(&exposure) {
            push_unique(&mut e.depends_on_nodes, metric);
        }
    }
    Ok(())
}

/// Every fixture of a unit test must stand for a real input of its model.
pub fn check_unit_test_inputs(
    manifest: &Manifest,
    locate: &dyn Fn(&Node, &str) -> Location,
) -> Result<()> {
    use crate::manifest::unit_tests::Input;
    let lookup = Lookup::new(manifest);
    for node in manifest.nodes.values() {
        let Some(spec) = &node.unit else { continue };
        for f in &spec.given {
            let known = match &f.input {
                Some(Input::Ref(r)) => lookup.find_ref(manifest, &node.package_name, r).is_some(),
                Some(Input::Source(s, t)) => lookup.find_source(manifest, s, t).is_some(),
                _ => true,
            };
            if !known {
                return Err(Error::new(format!(
                    "unit test '{}' gives rows for {}, which is not a node of this project",
                    node.name, f.label
                ))
                .at(locate(node, &f.label)));
            }
        }
    }
    Ok(())
}

fn push_unique(v: &mut Vec<String>, id: String) {
    if !v.contains(&id) {
        v.push(id);
    }
}

/// Resolves refs and sources to relations while templates execute.
pub struct ManifestResolver {
    manifest: Arc<Manifest>,
    lookup: Lookup,
    graph: OnceLock<Value>,
    /// `--empty`: refs and sources read no rows.
    empty: bool,
    /// `--sample`: refs and sources with an `event_time` read only the
    /// rows of this window (start, end).
    sample: Option<(String, String)>,
    /// `--defer`: relations of the previous run, by unique id.
    deferred: HashMap<String, Relation>,
}

impl ManifestResolver {
    pub fn new(manifest: Arc<Manifest>) -> ManifestResolver {
        let lookup = Lookup::new(&manifest);
        ManifestResolver {
            manifest,
            lookup,
            graph: OnceLock::new(),
            empty: false,
            sample: None,
            deferred: HashMap::new(),
        }
    }

    pub fn with_deferred(mut self, deferred: HashMap<String, Relation>) -> ManifestResolver {
        self.deferred = deferred;
        self
    }

    pub fn with_empty(mut self, empty: bool) -> ManifestResolver {
        self.empty = empty;
        self
    }

    pub fn with_sample(mut self, sample: Option<(String, String)>) -> ManifestResolver {
        self.sample = sample;
        self
    }

    /// The relation as this invocation reads it: `event_time` is the column
    /// the node's or source's config names, if any.
    fn limited(&self, mut r: Relation, event_time: Option<&Json>) -> Relation {
        r.empty = self.empty && !r.is_cte;
        if let (Some((start, end)), Some(column)) =
            (&self.sample, event_time.and_then(Json::as_str))
        {
            if !r.is_cte {
                r.event_time_filter = Some(crate::jinja::relation::EventTimeFilter {
                    column: column.to_string(),
                    start: start.clone(),
                    end: end.clone(),
                });
            }
        }
        r
    }
}

impl Resolver for ManifestResolver {
    fn resolve_ref(
        &self,
        from_package: &str,
        call: &RefCall,
    ) -> std::result::Result<Relation, String> {
        match self.lookup.find_ref(&self.manifest, from_package, call) {
            Some(id) => {
                let node = &self.manifest.nodes[&id];
                let event_time = node.config.get("event_time");
                match self.deferred.get(&id) {
                    Some(r) => Ok(self.limited(r.clone(), event_time)),
                    None => Ok(self.limited(node.typed_relation(), event_time)),
                }
            }
            None => {
                let mut msg = format!(
                    "ref('{}') does not name a model, seed or snapshot",
                    call.name
                );
                if let Some(best) = crate::error::closest(&call.name, self.lookup.names()) {
                    msg.push_str(&format!("; did you mean '{best}'?"));
                }
                Err(msg)
            }
        }
    }

    fn resolve_source(&self, source: &str, table: &str) -> std::result::Result<Relation, String> {
        match self.lookup.find_source(&self.manifest, source, table) {
            Some(id) => {
                let source = &self.manifest.sources[&id];
                Ok(self.limited(source.relation(), source.config.get("event_time")))
            }
            None => {
                let known: Vec<String> = self
                    .manifest
                    .sources
                    .values()
                    .map(|s| format!("{}.{}", s.source_name, s.name))
                    .collect();
                let mut msg = format!("source('{source}', '{table}') is not defined");
                if let Some(best) = crate::error::closest(
                    &format!("{source}.{table}"),
                    known.iter().map(String::as_str),
                ) {
                    msg.push_str(&format!("; did you mean '{best}'?"));
                }
                Err(msg)
            }
        }
    }

    fn graph(&self) -> Value {
        self.graph
            .get_or_init(|| {
                crate::jinja::to_value(crate::manifest::json::graph_json(&self.manifest))
            })
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ref_and_source_strings() {
        match parse_dependency("ref('customers')") {
            Some(Dependency::Ref(r)) => assert_eq!(r.name, "customers"),
            _ => panic!("expected a ref"),
        }
        match parse_dependency("ref(\"pkg\", \"orders\", v=2)") {
            Some(Dependency::Ref(r)) => {
                assert_eq!(r.package.as_deref(), Some("pkg"));
                assert_eq!(r.version.as_deref(), Some("2"));
            }
            _ => panic!("expected a ref"),
        }
        assert!(
            matches!(parse_dependency("source('raw', 'events')"), Some(Dependency::Source(a, b)) if a == "raw" && b == "events")
        );
        assert!(parse_dependency("'plain string'").is_none());
    }
}
