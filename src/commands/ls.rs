//! `kiln ls`: list the selected nodes as names, paths, selectors or JSON.

use serde_json::{json, Map, Value as Json};

use crate::cli::{LsArgs, LsOutput, ResourceTypeArg};
use crate::commands::Session;
use crate::error::Result;
use crate::manifest::ResourceType;
use crate::output;

/// What `ls` lists when --resource-type is not given (dbt leaves out analyses).
const DEFAULT_TYPES: [ResourceType; 7] = [
    ResourceType::Model,
    ResourceType::Seed,
    ResourceType::Snapshot,
    ResourceType::Test,
    ResourceType::Source,
    ResourceType::Exposure,
    ResourceType::UnitTest,
];

const JSON_KEYS: [&str; 9] = [
    "name",
    "resource_type",
    "package_name",
    "original_file_path",
    "unique_id",
    "alias",
    "config",
    "tags",
    "depends_on",
];

pub fn run(args: &LsArgs) -> Result<i32> {
    let session = Session::load(&args.project)?;
    let without = ResourceTypeArg::to_types(&args.exclude_resource_type);
    let mut types = resource_types(&args.resource_type);
    types.retain(|t| !without.contains(t));
    let mut ids = session.select(&args.selection, &types)?;
    ids.sort();
    // --explain: why each node differs from the --state run.
    let previous = if args.explain {
        session.previous_state(&args.selection)?
    } else {
        None
    };
    if args.explain && previous.is_none() {
        output::warn(
            "--explain says why nodes differ from a previous run; give that run with --state DIR",
        );
    }
    for id in &ids {
        if let Some(line) = describe(&session, id, args) {
            match &previous {
                Some(state) => {
                    let why = state.changes(id);
                    let why = if why.is_empty() {
                        "unmodified".to_string()
                    } else {
                        why.join("; ")
                    };
                    output::stdout_line(&format!("{line}  # {why}"));
                }
                None => output::stdout_line(&line),
            }
        }
    }
    crate::commands::free_at_exit(session);
    Ok(0)
}

fn resource_types(args: &[ResourceTypeArg]) -> Vec<ResourceType> {
    if args.is_empty() || args.contains(&ResourceTypeArg::Default) {
        return DEFAULT_TYPES.to_vec();
    }
    if args.contains(&ResourceTypeArg::All) {
        let mut all = DEFAULT_TYPES.to_vec();
        all.push(ResourceType::Analysis);
        return all;
    }
    ResourceTypeArg::to_types(args)
}

fn describe(session: &Session, id: &str, args: &LsArgs) -> Option<String> {
    let m = &session.manifest;
    let (name, path, selector, full): (String, String, String, Json) = if let Some(n) =
        m.nodes.get(id)
    {
        (
            n.name.clone(),
            n.original_file_path.clone(),
            n.fqn.join("."),
            json!({
                "name": n.name, "resource_type": n.resource_type.as_str(), "package_name": n.package_name,
                "original_file_path": n.original_file_path, "unique_id": n.unique_id, "alias": n.alias,
                "config": n.config, "tags": n.tags,
                "depends_on": {"macros": n.depends_on_macros, "nodes": n.depends_on_nodes},
            }),
        )
    } else if let Some(s) = m.sources.get(id) {
        (
            format!("{}.{}", s.source_name, s.name),
            s.original_file_path.clone(),
            format!("source:{}.{}.{}", s.package_name, s.source_name, s.name),
            json!({
                "name": s.name, "resource_type": "source", "package_name": s.package_name,
                "original_file_path": s.original_file_path, "unique_id": s.unique_id,
                "config": s.config, "tags": s.tags, "source_name": s.source_name,
            }),
        )
    } else if let Some(e) = m.exposures.get(id) {
        (
            e.name.clone(),
            e.original_file_path.clone(),
            format!("exposure:{}.{}", e.package_name, e.name),
            json!({
                "name": e.name, "resource_type": "exposure", "package_name": e.package_name,
                "original_file_path": e.original_file_path, "unique_id": e.unique_id,
                "config": e.config, "tags": e.tags, "depends_on": {"macros": [], "nodes": e.depends_on_nodes},
            }),
        )
    } else {
        return None;
    };
    Some(match args.output {
        LsOutput::Name => name,
        LsOutput::Path => path,
        LsOutput::Selector => selector,
        LsOutput::Json => {
            let keys: Vec<&str> = if args.output_keys.is_empty() {
                JSON_KEYS.to_vec()
            } else {
                args.output_keys.iter().map(String::as_str).collect()
            };
            let mut out = Map::new();
            for k in keys {
                if let Some(v) = full.get(k) {
                    out.insert(k.to_string(), v.clone());
                }
            }
            crate::jinja::builtins::python_json_string(&Json::Object(out))
        }
    })
}
