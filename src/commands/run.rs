//! `kiln run` and `kiln seed`: build the selected nodes in the database.

use serde_json::json;

use crate::cli::RunArgs;
use crate::commands::Session;
use crate::error::Result;
use crate::exec::{self, RunOptions};
use crate::manifest::ResourceType;

pub fn run(args: &RunArgs, which: &str, types: &[ResourceType]) -> Result<i32> {
    // --defer-state: the state deferred to, when --state is not given.
    let with_state;
    let args = match (&args.defer_state, &args.selection.state) {
        (Some(dir), None) => {
            let mut a = args.clone();
            a.selection.state = Some(dir.clone());
            with_state = a;
            &with_state
        }
        _ => args,
    };
    let session = load_session(args, which)?;
    let _ = session
        .jinja
        .invocation_args
        .set(crate::jinja::to_value(invocation_args(
            args, which, &session,
        )));
    let ids = session.select(&args.selection, &narrow(types, args))?;
    run_nodes(&session, args, which, &ids)
}

/// The command's resource types, narrowed by --resource-type and
/// --exclude-resource-type.
fn narrow(types: &[ResourceType], args: &RunArgs) -> Vec<ResourceType> {
    let only = crate::cli::ResourceTypeArg::to_types(&args.resource_type);
    let all = args
        .resource_type
        .contains(&crate::cli::ResourceTypeArg::All)
        || args
            .resource_type
            .contains(&crate::cli::ResourceTypeArg::Default);
    let without = crate::cli::ResourceTypeArg::to_types(&args.exclude_resource_type);
    types
        .iter()
        .copied()
        .filter(|t| all || only.is_empty() || only.contains(t))
        .filter(|t| !without.contains(t))
        .collect()
}

/// The project, parsed with the `flags` templates see in `kiln <which>`.
pub fn load_session(args: &RunArgs, which: &str) -> Result<Session> {
    let sample = match &args.sample {
        Some(spec) => {
            let (start, end) = crate::project::event_time::window(spec, chrono::Utc::now())?;
            json!({"start": start, "end": end})
        }
        None => serde_json::Value::Null,
    };
    // --event-time-start / --event-time-end, checked and written one way.
    let mut event_times = Vec::new();
    for (flag, value) in [
        ("--event-time-start", &args.event_time_start),
        ("--event-time-end", &args.event_time_end),
    ] {
        event_times.push(match value {
            Some(text) => {
                let t = crate::project::event_time::parse_time(text).ok_or_else(|| {
                    crate::error::Error::new(format!("{flag} '{text}' is not a date or time"))
                        .note("write it as 2024-01-01 or 2024-01-01 06:00:00 (UTC)")
                })?;
                json!(crate::project::event_time::format_time(t))
            }
            None => serde_json::Value::Null,
        });
    }
    if let (Some(s), Some(e)) = (event_times[0].as_str(), event_times[1].as_str()) {
        if s >= e {
            return Err(crate::error::Error::new(
                "--event-time-start must come before --event-time-end",
            ));
        }
    }
    let flags = json!({
        "EVENT_TIME_START": event_times[0],
        "EVENT_TIME_END": event_times[1],
        "FULL_REFRESH": args.full_refresh,
        "FAIL_FAST": args.fail_fast,
        "STORE_FAILURES": args.store_failures,
        "WHICH": which,
        "EMPTY": args.empty,
        "SAMPLE": sample,
    });
    Session::load_with_flags(
        &args.project,
        flags.as_object().cloned().unwrap_or_default(),
    )
}

/// Runs `ids` as `kiln <which>` with `args`, and writes what a run leaves:
/// run_results.json (whose args let `kiln retry` repeat it), the manifest
/// and, when asked, a JUnit report. Returns the exit code.
pub fn run_nodes(session: &Session, args: &RunArgs, which: &str, ids: &[String]) -> Result<i32> {
    let previous = session.previous_state(&args.selection)?;
    if let Some(state) = &previous {
        check_contracts(state, session, ids)?;
    }
    let deferred = if args.defer || args.favor_state {
        let state = previous.as_ref().ok_or_else(|| {
            crate::error::Error::new("--defer needs --state DIR (the previous run to defer to)")
        })?;
        crate::exec::defer::plan(session, state.as_ref(), ids, args.favor_state)?
    } else {
        Default::default()
    };
    let options = RunOptions {
        threads: session.project.target.threads,
        fail_fast: args.fail_fast,
        tests_gate_children: which == "build",
        deferred,
    };
    let outcome = exec::execute(session, ids, &options)?;
    crate::artifacts::write_run_results(
        &session.project.target_dir(),
        &session.invocation(),
        &outcome.results,
        session.started.elapsed().as_secs_f64(),
        invocation_args(args, which, session),
    )?;
    session.write_manifest(Some(&outcome.compiled))?;
    session
        .cache
        .save_compile(&|id| session.manifest.nodes.contains_key(id));
    if let Some(path) = &args.junit_xml {
        crate::artifacts::junit::write(path, which, &outcome.results)?;
    }
    Ok(outcome.exit_code())
}

/// The `args` of run_results.json: enough to repeat the invocation.
pub fn invocation_args(args: &RunArgs, which: &str, session: &Session) -> serde_json::Value {
    json!({
        "which": which,
        "select": args.selection.select,
        "exclude": args.selection.exclude,
        "selector": args.selection.selector,
        "indirect_selection": format!("{:?}", args.selection.indirect_selection).to_lowercase(),
        "state": args.selection.state,
        "full_refresh": args.full_refresh,
        "fail_fast": args.fail_fast,
        "empty": args.empty,
        "sample": args.sample,
        "event_time_start": args.event_time_start,
        "event_time_end": args.event_time_end,
        "defer": args.defer,
        "favor_state": args.favor_state,
        "store_failures": args.store_failures,
        "threads": session.project.target.threads,
        "target": args.project.target,
        "vars": session.project.cli_vars,
        "project_dir": session.project.dir,
        "profiles_dir": args.project.profiles_dir,
    })
}

/// With --state: a selected model may not break its enforced contract
/// (remove or retype a column) without a new version, as in dbt.
fn check_contracts(
    state: &crate::graph::state::PreviousState,
    session: &Session,
    ids: &[String],
) -> Result<()> {
    for id in ids {
        let breaks = state.contract_breaks(id);
        if let (false, Some(node)) = (breaks.is_empty(), session.manifest.nodes.get(id)) {
            return Err(crate::error::Error::new(format!(
                "breaking change to the contract of model {}: {}",
                node.name,
                breaks.join("; ")
            ))
            .at(crate::error::Location::file(&node.display_path))
            .note("restore the columns, or add a new version of the model (versions:) and keep the old one for its users"));
        }
    }
    Ok(())
}
