//! The dependency graph (petgraph) over models, seeds, snapshots, tests,
//! analyses, sources and exposures; cycle reporting; graph walks used by the
//! selector operators.

pub mod pattern;
pub mod select;
pub mod selector;
pub mod selectors_yml;
pub mod state;

use std::collections::{HashMap, HashSet, VecDeque};

use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::Direction;

use crate::error::{Error, Result};
use crate::manifest::Manifest;

/// Edges run from a parent to the nodes that depend on it.
pub struct Dag {
    graph: DiGraph<usize, ()>,
    ids: Vec<String>,
    index: crate::fast_hash::FastMap<String, NodeIndex>,
}

pub type NodeSet = crate::fast_hash::FastSet<usize>;

impl Dag {
    pub fn build(manifest: &Manifest) -> Result<Dag> {
        let mut graph = DiGraph::new();
        let mut ids = Vec::new();
        let mut index = crate::fast_hash::FastMap::default();
        for id in manifest.all_ids() {
            let ix = graph.add_node(ids.len());
            index.insert(id.clone(), ix);
            ids.push(id.clone());
        }
        let edges = manifest
            .nodes
            .values()
            .map(|n| (&n.unique_id, &n.depends_on_nodes))
            .chain(
                manifest
                    .exposures
                    .values()
                    .map(|e| (&e.unique_id, &e.depends_on_nodes)),
            );
        for (child, parents) in edges {
            let Some(&c) = index.get(child) else { continue };
            for p in parents {
                if let Some(&pi) = index.get(p) {
                    graph.update_edge(pi, c, ());
                }
            }
        }
        let dag = Dag { graph, ids, index };
        dag.check_cycles(manifest)?;
        Ok(dag)
    }

    fn check_cycles(&self, manifest: &Manifest) -> Result<()> {
        for scc in tarjan_scc(&self.graph) {
            let cyclic = scc.len() > 1 || self.graph.contains_edge(scc[0], scc[0]);
            if !cyclic {
                continue;
            }
            let members: HashSet<NodeIndex> = scc.iter().copied().collect();
            let start = *scc
                .iter()
                .min_by_key(|ix| &self.ids[self.graph[**ix]])
                .unwrap_or(&scc[0]);
            let cycle = self.find_cycle(start, &members);
            let names: Vec<String> = cycle
                .iter()
                .map(|ix| self.ids[self.graph[*ix]].clone())
                .collect();
            let first = manifest.nodes.get(&names[0]);
            let mut err = Error::new(format!(
                "the project's dependencies form a cycle: {}",
                names.join(" -> ")
            ));
            if let Some(n) = first {
                err = err.at(crate::error::Location::file(&n.display_path));
            }
            for pair in names.windows(2) {
                if let Some(n) = manifest.nodes.get(&pair[1]) {
                    err = err.note(format!(
                        "{} ({}) depends on {}",
                        pair[1],
                        n.display_path.display(),
                        pair[0]
                    ));
                }
            }
            return Err(err.note("remove one of these refs to break the cycle"));
        }
        Ok(())
    }

    /// A path start -> ... -> start inside one strongly connected component.
    fn find_cycle(&self, start: NodeIndex, members: &HashSet<NodeIndex>) -> Vec<NodeIndex> {
        let mut prev: HashMap<NodeIndex, NodeIndex> = HashMap::new();
        let mut queue = VecDeque::from([start]);
        while let Some(at) = queue.pop_front() {
            let mut next: Vec<NodeIndex> = self
                .graph
                .neighbors_directed(at, Direction::Outgoing)
                .filter(|n| members.contains(n))
                .collect();
            next.sort_by_key(|ix| &self.ids[self.graph[*ix]]);
            for n in next {
                if n == start {
                    let mut path = vec![at];
                    let mut cur = at;
                    while cur != start {
                        cur = prev[&cur];
                        path.push(cur);
                    }
                    path.reverse();
                    path.push(start);
                    return path;
                }
                if let std::collections::hash_map::Entry::Vacant(e) = prev.entry(n) {
                    e.insert(at);
                    queue.push_back(n);
                }
            }
        }
        vec![start, start]
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    pub fn id(&self, i: usize) -> &str {
        &self.ids[i]
    }

    pub fn position(&self, id: &str) -> Option<usize> {
        self.index.get(id).map(|ix| self.graph[*ix])
    }

    fn ix(&self, i: usize) -> NodeIndex {
        NodeIndex::new(i)
    }

    pub fn parents_of(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        self.graph
            .neighbors_directed(self.ix(i), Direction::Incoming)
            .map(|ix| self.graph[ix])
    }

    pub fn children_of(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        self.graph
            .neighbors_directed(self.ix(i), Direction::Outgoing)
            .map(|ix| self.graph[ix])
    }

    /// Ancestors of the set, up to `depth` generations (all when None).
    pub fn select_parents(&self, selected: &NodeSet, depth: Option<usize>) -> NodeSet {
        self.walk(selected, depth, Direction::Incoming)
    }

    /// Descendants of the set, up to `depth` generations (all when None).
    pub fn select_children(&self, selected: &NodeSet, depth: Option<usize>) -> NodeSet {
        self.walk(selected, depth, Direction::Outgoing)
    }

    /// `@x`: x, its descendants, and all ancestors of those.
    pub fn select_childrens_parents(&self, selected: &NodeSet) -> NodeSet {
        let mut base = self.select_children(selected, None);
        base.extend(selected.iter().copied());
        let mut out = self.select_parents(&base, None);
        out.extend(base);
        out
    }

    /// Direct children of the set.
    pub fn successors(&self, selected: &NodeSet) -> NodeSet {
        selected.iter().flat_map(|&i| self.children_of(i)).collect()
    }

    fn walk(&self, selected: &NodeSet, depth: Option<usize>, dir: Direction) -> NodeSet {
        let mut out = NodeSet::default();
        let mut layer: Vec<usize> = selected.iter().copied().collect();
        let mut level = 0;
        while !layer.is_empty() && depth.is_none_or(|d| level < d) {
            let mut next = Vec::new();
            for i in layer {
                for n in self.graph.neighbors_directed(self.ix(i), dir) {
                    let v = self.graph[n];
                    if out.insert(v) {
                        next.push(v);
                    }
                }
            }
            layer = next;
            level += 1;
        }
        out
    }

    /// The unique ids of `subset` in dependency order.
    pub fn ids_in_order(&self, subset: &NodeSet) -> Vec<String> {
        self.topo_order(subset)
            .into_iter()
            .map(|i| self.id(i).to_string())
            .collect()
    }

    /// The nodes of `subset` in dependency order (parents before children,
    /// ties by unique id so output is stable).
    pub fn topo_order(&self, subset: &NodeSet) -> Vec<usize> {
        use std::cmp::Reverse;
        // Unselected parents per node; None outside the subset.
        let mut indeg: Vec<Option<usize>> = vec![None; self.len()];
        for &i in subset {
            indeg[i] = Some(self.parents_of(i).filter(|p| subset.contains(p)).count());
        }
        let mut ready: std::collections::BinaryHeap<Reverse<(&str, usize)>> = subset
            .iter()
            .filter(|&&i| indeg[i] == Some(0))
            .map(|&i| Reverse((self.id(i), i)))
            .collect();
        let mut order = Vec::with_capacity(subset.len());
        while let Some(Reverse((_, i))) = ready.pop() {
            order.push(i);
            for c in self.children_of(i) {
                if let Some(d) = indeg[c].as_mut() {
                    *d -= 1;
                    if *d == 0 {
                        ready.push(Reverse((self.id(c), c)));
                    }
                }
            }
        }
        order
    }
}
