//! Evaluating selectors against the manifest and graph, with dbt's indirect
//! selection of tests.

use serde_json::Value as Json;

use crate::cli::IndirectSelection;
use crate::error::{Error, Result};
use crate::graph::pattern::{has_wildcard, Glob, Pattern};
use crate::graph::selector::{Criteria, Method, Spec};
use crate::graph::{Dag, NodeSet};
use crate::manifest::{Manifest, Node, ResourceType};

/// Something selectors can look at: a node, a source or an exposure.
enum Member<'a> {
    Node(&'a Node),
    Source(&'a crate::manifest::SourceDef),
    Exposure(&'a crate::manifest::Exposure),
}

impl Member<'_> {
    fn fqn(&self) -> &[String] {
        match self {
            Member::Node(n) => &n.fqn,
            Member::Source(s) => &s.fqn,
            Member::Exposure(e) => &e.fqn,
        }
    }
    fn package(&self) -> &str {
        match self {
            Member::Node(n) => &n.package_name,
            Member::Source(s) => &s.package_name,
            Member::Exposure(e) => &e.package_name,
        }
    }
    fn tags(&self) -> &[String] {
        match self {
            Member::Node(n) => &n.tags,
            Member::Source(s) => &s.tags,
            Member::Exposure(e) => &e.tags,
        }
    }
    fn original_file_path(&self) -> &str {
        match self {
            Member::Node(n) => &n.original_file_path,
            Member::Source(s) => &s.original_file_path,
            Member::Exposure(e) => &e.original_file_path,
        }
    }
    fn resource_type(&self) -> &str {
        match self {
            Member::Node(n) => n.resource_type.as_str(),
            Member::Source(_) => "source",
            Member::Exposure(_) => "exposure",
        }
    }
}

/// A criterion's value compiled once for every way it may be matched.
struct Prepared {
    pattern: Pattern,
    fqn: FqnSelector,
    glob: Glob,
}

/// Selects nodes from the manifest.
pub struct Selector<'a> {
    pub manifest: &'a Manifest,
    pub dag: &'a Dag,
    pub indirect: IndirectSelection,
    /// The previous run (`--state DIR`), for state: and result: selectors.
    pub state: Option<&'a crate::graph::state::PreviousState>,
}

impl<'a> Selector<'a> {
    fn member(&self, i: usize) -> Option<Member<'a>> {
        let id = self.dag.id(i);
        // The graph numbers nodes in manifest order: try that slot before hashing.
        if let Some((key, n)) = self.manifest.nodes.get_index(i) {
            if key == id {
                return Some(Member::Node(n));
            }
        }
        if let Some(n) = self.manifest.nodes.get(id) {
            return Some(Member::Node(n));
        }
        if let Some(s) = self.manifest.sources.get(id) {
            return Some(Member::Source(s));
        }
        self.manifest.exposures.get(id).map(Member::Exposure)
    }

    /// The selected nodes (direct and indirectly selected tests).
    pub fn select(&self, spec: &Spec) -> Result<NodeSet> {
        let (direct, _) = self.eval(spec)?;
        Ok(direct)
    }

    /// (direct, indirect-only-candidates), as dbt computes them.
    fn eval(&self, spec: &Spec) -> Result<(NodeSet, NodeSet)> {
        match spec {
            Spec::Criteria(c) => self.criteria(c),
            Spec::Union(parts) | Spec::Intersection(parts) | Spec::Difference(parts) => {
                let mut direct_sets = Vec::new();
                let mut indirect_sets = Vec::new();
                for p in parts {
                    let (d, i) = self.eval(p)?;
                    indirect_sets.push(d.union(&i).copied().collect::<NodeSet>());
                    direct_sets.push(d);
                }
                let combine = |sets: Vec<NodeSet>| -> NodeSet {
                    let mut it = sets.into_iter();
                    let Some(first) = it.next() else {
                        return NodeSet::default();
                    };
                    match spec {
                        Spec::Union(_) => it.fold(first, |acc, s| acc.union(&s).copied().collect()),
                        Spec::Intersection(_) => {
                            it.fold(first, |acc, s| acc.intersection(&s).copied().collect())
                        }
                        _ => it.fold(first, |acc, s| acc.difference(&s).copied().collect()),
                    }
                };
                let direct = combine(direct_sets);
                let indirect = combine(indirect_sets);
                let direct = self.incorporate_indirect(direct, &indirect);
                Ok((direct, indirect))
            }
        }
    }

    fn criteria(&self, c: &Criteria) -> Result<(NodeSet, NodeSet)> {
        let mut selected = self.search(c)?;
        if c.childrens_parents {
            selected.extend(self.dag.select_childrens_parents(&selected));
        }
        if c.parents {
            let p = self.dag.select_parents(&selected, c.parents_depth);
            selected.extend(p);
        }
        if c.children {
            let ch = self.dag.select_children(&selected, c.children_depth);
            selected.extend(ch);
        }
        let indirect = c.indirect.unwrap_or(self.indirect);
        if indirect == IndirectSelection::Empty {
            return Ok((selected, NodeSet::default()));
        }
        Ok(self.expand(selected, indirect))
    }

    /// Tests whose parents are selected join the selection (eager), or wait
    /// as candidates (cautious / buildable).
    fn expand(&self, selected: NodeSet, mode: IndirectSelection) -> (NodeSet, NodeSet) {
        let mut direct = selected.clone();
        let mut indirect = NodeSet::default();
        let buildable_base: NodeSet = if mode == IndirectSelection::Buildable {
            let mut s = selected.clone();
            s.extend(self.dag.select_parents(&selected, None));
            s.extend(
                self.manifest
                    .sources
                    .keys()
                    .filter_map(|k| self.dag.position(k)),
            );
            s
        } else {
            NodeSet::default()
        };
        for i in self.dag.successors(&selected) {
            let Some(Member::Node(n)) = self.member(i) else {
                continue;
            };
            if !matches!(n.resource_type, ResourceType::Test | ResourceType::UnitTest) {
                continue;
            }
            let parents: Vec<usize> = n
                .depends_on_nodes
                .iter()
                .filter_map(|p| self.dag.position(p))
                .collect();
            let all_parents_selected = parents.iter().all(|p| selected.contains(p));
            let buildable = mode == IndirectSelection::Buildable
                && parents.iter().all(|p| buildable_base.contains(p));
            if mode == IndirectSelection::Eager || all_parents_selected || buildable {
                direct.insert(i);
            } else {
                indirect.insert(i);
            }
        }
        (direct, indirect)
    }

    fn incorporate_indirect(&self, direct: NodeSet, indirect: &NodeSet) -> NodeSet {
        if &direct == indirect {
            return direct;
        }
        let mut selected = direct.clone();
        let base: NodeSet = match self.indirect {
            IndirectSelection::Cautious => direct.clone(),
            IndirectSelection::Buildable => {
                let mut s = direct.clone();
                s.extend(self.dag.select_parents(&direct, None));
                s
            }
            _ => return selected,
        };
        for &i in indirect {
            if let Some(Member::Node(n)) = self.member(i) {
                if n.depends_on_nodes
                    .iter()
                    .filter_map(|p| self.dag.position(p))
                    .all(|p| base.contains(&p))
                {
                    selected.insert(i);
                }
            }
        }
        selected
    }

    /// Nodes a criterion matches directly (before graph operators).
    fn search(&self, c: &Criteria) -> Result<NodeSet> {
        let v = c.value.as_str();
        let mut out = NodeSet::default();
        let prepared = Prepared {
            pattern: Pattern::new(v),
            fqn: FqnSelector::new(v),
            glob: Glob::new(v),
        };
        match c.method {
            Method::Source | Method::Exposure => {
                let parts: Vec<&str> = v.split('.').collect();
                let (pkg, a, b) = match (c.method, parts.len()) {
                    (Method::Source, 1) => ("*", parts[0], "*"),
                    (Method::Source, 2) => ("*", parts[0], parts[1]),
                    (Method::Source, 3) => (parts[0], parts[1], parts[2]),
                    (Method::Exposure, 1) => ("*", parts[0], ""),
                    (Method::Exposure, 2) => (parts[0], parts[1], ""),
                    _ => {
                        return Err(Error::new(format!(
                        "invalid selector '{}': write source:<source>[.<table>] or exposure:<name>",
                        c.raw
                    )))
                    }
                };
                let (pkg, a, b) = (Pattern::new(pkg), Pattern::new(a), Pattern::new(b));
                for i in 0..self.dag.len() {
                    match self.member(i) {
                        Some(Member::Source(s))
                            if c.method == Method::Source
                                && pkg.matches(&s.package_name)
                                && a.matches(&s.source_name)
                                && b.matches(&s.name) =>
                        {
                            out.insert(i);
                        }
                        Some(Member::Exposure(e))
                            if c.method == Method::Exposure
                                && pkg.matches(&e.package_name)
                                && a.matches(&e.name) =>
                        {
                            out.insert(i);
                        }
                        _ => {}
                    }
                }
            }
            _ => {
                for i in 0..self.dag.len() {
                    let Some(m) = self.member(i) else { continue };
                    if self.matches(c, &m, &prepared)? {
                        out.insert(i);
                    }
                }
            }
        }
        Ok(out)
    }

    fn matches(&self, c: &Criteria, m: &Member, prepared: &Prepared) -> Result<bool> {
        let v = c.value.as_str();
        let (pat, fqn, glob) = (&prepared.pattern, &prepared.fqn, &prepared.glob);
        Ok(match c.method {
            Method::Fqn => !matches!(m, Member::Source(_)) && fqn.matches(m.fqn()),
            Method::Tag => m.tags().iter().any(|t| pat.matches(t)),
            Method::Package => {
                if v == "this" {
                    m.package() == self.manifest.root_package
                } else {
                    pat.matches(m.package())
                }
            }
            Method::File => {
                let p = std::path::Path::new(m.original_file_path());
                let name = p
                    .file_name()
                    .map(|s| s.to_string_lossy().to_string())
                    .unwrap_or_default();
                let stem = p
                    .file_stem()
                    .map(|s| s.to_string_lossy().to_string())
                    .unwrap_or_default();
                pat.matches(&name) || pat.matches(&stem)
            }
            Method::Path => {
                let ofp = m.original_file_path();
                let patch = match m {
                    Member::Node(n) => n
                        .patch_path
                        .as_deref()
                        .and_then(|p| p.split_once("://"))
                        .map(|(_, p)| p.to_string()),
                    _ => None,
                };
                glob.matches(ofp)
                    || patch.is_some_and(|p| glob.matches(&p))
                    || std::path::Path::new(ofp).ancestors().skip(1).any(|a| {
                        let a = a.to_string_lossy();
                        !a.is_empty() && glob.matches(&a)
                    })
            }
            Method::ResourceType => {
                if !crate::manifest::ResourceType::ALL_NAMES.contains(&v) && v != "unit_test" {
                    return Err(Error::new(format!("invalid resource_type selector '{v}'"))
                        .suggest(v, crate::manifest::ResourceType::ALL_NAMES.iter().copied()));
                }
                m.resource_type() == v
            }
            Method::Config => {
                let mut value = match m {
                    Member::Node(n) => n.config.get(&c.args[0]),
                    Member::Source(s) => s.config.get(&c.args[0]),
                    Member::Exposure(_) => return Ok(false),
                };
                for a in &c.args[1..] {
                    value = value.and_then(|x| x.get(a));
                }
                match value {
                    Some(Json::Array(items)) => items.iter().any(|x| config_eq(x, v, &c.args)),
                    Some(x) => config_eq(x, v, &c.args),
                    None => false,
                }
            }
            Method::TestName => match m {
                Member::Node(n) => match &n.test {
                    Some(t) => pat.matches(&t.name),
                    None => n.resource_type == ResourceType::UnitTest && pat.matches(&n.name),
                },
                _ => false,
            },
            Method::TestType => {
                let Member::Node(n) = m else { return Ok(false) };
                let unit = n.resource_type == ResourceType::UnitTest;
                if n.resource_type != ResourceType::Test && !unit {
                    return Ok(false);
                }
                let generic = n.test.is_some();
                match v {
                    "generic" | "schema" => generic,
                    "singular" => !generic && !unit,
                    "data" => !unit,
                    "unit" => unit,
                    _ => {
                        return Err(Error::new(format!(
                            "invalid test_type selector '{v}': expected generic, singular, unit or data"
                        )))
                    }
                }
            }
            Method::Group => match m {
                Member::Node(n) => n.group.as_deref().is_some_and(|g| pat.matches(g)),
                _ => false,
            },
            Method::Access => match m {
                Member::Node(n) => n.resource_type == ResourceType::Model && n.access == v,
                _ => false,
            },
            Method::Version => match m {
                Member::Node(n) => match (v, &n.version) {
                    ("latest", Some(ver)) => n.latest_version.as_ref() == Some(ver),
                    ("prerelease" | "old" | "none", _) => v == "none" && n.version.is_none(),
                    (_, Some(ver)) => ver.to_string().trim_matches('"') == v,
                    _ => false,
                },
                _ => false,
            },
            Method::State | Method::Result => {
                let Some(state) = self.state else {
                    return Err(Error::new(format!(
                        "selector '{}' needs --state DIR (a previous run's target directory)",
                        c.raw
                    )));
                };
                let id = match m {
                    Member::Node(n) => n.unique_id.as_str(),
                    Member::Source(s) => s.unique_id.as_str(),
                    Member::Exposure(e) => e.unique_id.as_str(),
                };
                if c.method == Method::Result {
                    return Ok(state.result(id) == Some(v));
                }
                let changes = state.changes(id);
                let kind = |c: &String| c.split(' ').next().unwrap_or("").to_string();
                match v {
                    "new" => state.is_new(id),
                    "old" => !state.is_new(id),
                    "modified" => !changes.is_empty(),
                    "unmodified" => changes.is_empty(),
                    other => match other.strip_prefix("modified.") {
                        Some(sub) if crate::graph::state::CHANGES.contains(&sub) => {
                            changes.iter().any(|c| kind(c) == sub || kind(c) == "new")
                        }
                        _ => {
                            return Err(Error::new(format!(
                                "unknown state selector '{}': use new, old, modified, unmodified or modified.<{}>",
                                c.raw,
                                crate::graph::state::CHANGES.join("|")
                            )))
                        }
                    },
                }
            }
            Method::UnitTest => match m {
                Member::Node(n) if n.resource_type == ResourceType::UnitTest => {
                    let parts: Vec<&str> = v.split('.').collect();
                    match parts.as_slice() {
                        [name] => Pattern::new(name).matches(&n.name),
                        [pkg, name] => {
                            Pattern::new(pkg).matches(&n.package_name)
                                && Pattern::new(name).matches(&n.name)
                        }
                        _ => false,
                    }
                }
                _ => false,
            },
            Method::Source | Method::Exposure => false,
        })
    }
}

fn config_eq(have: &Json, want: &str, args: &[String]) -> bool {
    match have {
        Json::String(s) => {
            if args == ["severity"] {
                s.eq_ignore_ascii_case(want)
            } else {
                s == want
            }
        }
        Json::Bool(b) => want.eq_ignore_ascii_case(if *b { "true" } else { "false" }),
        Json::Number(n) => n.to_string() == want,
        Json::Null => false,
        other => *other == want,
    }
}

/// dbt's fqn matching: the node's name, a dotted prefix of its fqn (with or
/// without the package), or a wildcard pattern. Built once per selector.
pub struct FqnSelector {
    selector: String,
    parts: Vec<String>,
    /// The first part with a wildcard, and the pattern from there on.
    wildcard: Option<(usize, Pattern)>,
    /// A dotless wildcard also matches the node's name alone.
    leaf: Option<Pattern>,
}

impl FqnSelector {
    pub fn new(selector: &str) -> FqnSelector {
        let parts: Vec<String> = selector.split('.').map(str::to_string).collect();
        let wildcard = parts
            .iter()
            .position(|p| has_wildcard(p))
            .map(|i| (i, Pattern::new(&parts[i..].join("."))));
        let leaf = (wildcard.is_some() && !selector.contains('.')).then(|| Pattern::new(selector));
        FqnSelector {
            selector: selector.to_string(),
            parts,
            wildcard,
            leaf,
        }
    }

    pub fn matches(&self, fqn: &[String]) -> bool {
        self.matches_from(fqn) || (fqn.len() > 1 && self.matches_from(&fqn[1..]))
    }

    fn matches_from(&self, fqn: &[String]) -> bool {
        if fqn.last() == Some(&self.selector) {
            return true;
        }
        let flat: Vec<&str> = fqn.iter().flat_map(|s| s.split('.')).collect();
        if flat.len() < self.parts.len() {
            return false;
        }
        let fixed = self
            .wildcard
            .as_ref()
            .map(|(i, _)| *i)
            .unwrap_or(self.parts.len());
        if (0..fixed).any(|i| flat[i] != self.parts[i]) {
            return false;
        }
        match &self.wildcard {
            None => true,
            Some((i, pat)) => {
                pat.matches_anything()
                    || pat.matches(&flat[*i..].join("."))
                    || self
                        .leaf
                        .as_ref()
                        .is_some_and(|leaf| fqn.last().is_some_and(|l| leaf.matches(l)))
            }
        }
    }
}

/// One-off fqn match (tests and callers without a prepared selector).
pub fn fqn_matches(fqn: &[String], selector: &str) -> bool {
    FqnSelector::new(selector).matches(fqn)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(parts: &[&str]) -> Vec<String> {
        parts.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn fqn_rules_match_dbt() {
        let fqn = f(&["shop", "staging", "stg_orders"]);
        assert!(fqn_matches(&fqn, "stg_orders"));
        assert!(fqn_matches(&fqn, "shop.staging"));
        assert!(fqn_matches(&fqn, "staging"));
        assert!(fqn_matches(&fqn, "stg_*"));
        assert!(fqn_matches(&fqn, "shop.staging.*"));
        assert!(fqn_matches(&fqn, "*"));
        assert!(!fqn_matches(&fqn, "marts"));
        assert!(!fqn_matches(&fqn, "stg"));
    }
}
