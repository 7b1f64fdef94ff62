//! `--defer`: a ref to a node that is not selected reads the previous run's
//! relation (from `--state`) when the target has none, or always with
//! `--favor-state`, so a CI schema needs only the changed models.

use std::collections::{HashMap, HashSet};

use crate::commands::Session;
use crate::error::{Error, Result};
use crate::graph::state::PreviousState;
use crate::jinja::relation::Relation;
use crate::manifest::ResourceType;

pub fn plan(
    session: &Session,
    state: &PreviousState,
    selected: &[String],
    favor_state: bool,
) -> Result<HashMap<String, Relation>> {
    let selected: HashSet<&str> = selected.iter().map(String::as_str).collect();
    let candidates: Vec<_> = session
        .manifest
        .nodes
        .values()
        .filter(|n| {
            matches!(
                n.resource_type,
                ResourceType::Model | ResourceType::Seed | ResourceType::Snapshot
            )
        })
        .filter(|n| !n.is_ephemeral() && !selected.contains(n.unique_id.as_str()))
        .filter_map(|n| state.relation_of(&n.unique_id).map(|r| (n, r)))
        .collect();
    if favor_state {
        return Ok(candidates
            .into_iter()
            .map(|(n, r)| (n.unique_id.clone(), r))
            .collect());
    }
    // What the target already has, one listing per schema.
    let db = crate::exec::open_db(session)?;
    let mut existing: HashMap<(String, String), HashSet<String>> = HashMap::new();
    let mut out = HashMap::new();
    for (n, r) in candidates {
        let key = (n.database.clone(), n.schema.clone());
        if !existing.contains_key(&key) {
            let names = db
                .conn()
                .list_relations(&n.database, &n.schema)
                .map_err(|e| {
                    Error::new(format!("could not list {}.{}: {e}", n.database, n.schema))
                })?
                .into_iter()
                .map(|info| info.identifier.to_lowercase())
                .collect();
            existing.insert(key.clone(), names);
        }
        if !existing[&key].contains(&n.alias.to_lowercase()) {
            out.insert(n.unique_id.clone(), r);
        }
    }
    Ok(out)
}
