//! `kiln retry`: re-run what errored, failed or was skipped in the last run,
//! with the command and arguments recorded in target/run_results.json.

use serde_json::Value as Json;

use std::path::PathBuf;

use clap::ValueEnum;

use crate::cli::{IndirectSelection, ProjectArgs, RunArgs, SelectionArgs};
use crate::error::{Error, Location, Result};
use crate::manifest::ResourceType;
use crate::output;

/// Statuses worth another try, as dbt retry picks them.
const RETRY: [&str; 5] = [
    "error",
    "fail",
    "skipped",
    "runtime error",
    "partial success",
];

pub fn run(args: &ProjectArgs) -> Result<i32> {
    let (dir, paths) = crate::project::dir_and_paths(args)?;
    let target = paths.target;
    let path = dir.join(&target).join("run_results.json");
    let shown = format!("{target}/run_results.json");
    let text = std::fs::read_to_string(&path).map_err(|_| {
        Error::new(format!("there is no {shown} to retry"))
            .note("run kiln run, test, seed, snapshot or build first")
    })?;
    let last: Json = serde_json::from_str(&text).map_err(|e| {
        Error::new(format!("{shown} is not valid JSON: {e}")).at(Location::file(&shown))
    })?;
    let recorded = &last["args"];
    let which = recorded["which"].as_str().unwrap_or("run").to_string();
    let wanted: Vec<String> = last["results"]
        .as_array()
        .map(|rs| {
            rs.iter()
                .filter(|r| RETRY.contains(&r["status"].as_str().unwrap_or("")))
                .filter_map(|r| r["unique_id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    // Microbatch models rebuild only the windows that failed (from the
    // first failed batch's start to the last one's end).
    let failed_windows: Vec<(String, String)> = last["results"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["batch_results"]["failed"].as_array())
        .flatten()
        .filter_map(|w| Some((w[0].as_str()?.to_string(), w[1].as_str()?.to_string())))
        .collect();
    let failed_span = failed_windows
        .iter()
        .map(|w| w.0.clone())
        .min()
        .zip(failed_windows.iter().map(|w| w.1.clone()).max());
    if wanted.is_empty() {
        output::info("Nothing to retry: the last run had no errors, failures or skips");
        return Ok(0);
    }

    // The same project, target, vars and threads as the recorded run.
    let mut project = args.clone();
    if project.target.is_none() {
        project.target = recorded["target"].as_str().map(str::to_string);
    }
    if project.vars.is_none() {
        project.vars = recorded["vars"]
            .as_object()
            .filter(|v| !v.is_empty())
            .map(|v| Json::Object(v.clone()).to_string());
    }
    if project.threads.is_none() {
        project.threads = recorded["threads"].as_u64().map(|n| n as usize);
    }
    let flag = |k: &str| recorded[k].as_bool().unwrap_or(false);
    let texts = |k: &str| crate::project::config::strings(Some(&recorded[k]));
    // The recorded command line again (its selection is kept for the next
    // retry's record; the nodes to run are the ones that did not succeed).
    let run_args = RunArgs {
        project,
        selection: SelectionArgs {
            select: texts("select"),
            exclude: texts("exclude"),
            selector: recorded["selector"].as_str().map(str::to_string),
            indirect_selection: recorded["indirect_selection"]
                .as_str()
                .and_then(|s| IndirectSelection::from_str(s, true).ok())
                .unwrap_or_default(),
            state: recorded["state"].as_str().map(PathBuf::from),
        },
        full_refresh: flag("full_refresh"),
        fail_fast: flag("fail_fast"),
        defer: flag("defer"),
        favor_state: flag("favor_state"),
        empty: flag("empty"),
        sample: recorded["sample"].as_str().map(str::to_string),
        event_time_start: failed_span
            .as_ref()
            .map(|s| s.0.clone())
            .or_else(|| recorded["event_time_start"].as_str().map(str::to_string)),
        event_time_end: failed_span
            .as_ref()
            .map(|s| s.1.clone())
            .or_else(|| recorded["event_time_end"].as_str().map(str::to_string)),
        junit_xml: None,
        store_failures: flag("store_failures"),
        resource_type: Vec::new(),
        exclude_resource_type: Vec::new(),
        defer_state: None,
    };
    let session = super::run::load_session(&run_args, &which)?;
    let positions: crate::graph::NodeSet = wanted
        .iter()
        .filter(|id| {
            session
                .manifest
                .nodes
                .get(*id)
                .is_some_and(|n| n.resource_type != ResourceType::Source)
        })
        .filter_map(|id| session.dag.position(id))
        .collect();
    let ids = session.dag.ids_in_order(&positions);
    output::info(&format!(
        "Retrying {} node(s) of the last `kiln {which}`",
        ids.len()
    ));
    super::run::run_nodes(&session, &run_args, &which, &ids)
}
