//! One file per command. Each returns the process exit code, or an error
//! that stops the invocation (exit code 2).

pub mod clean;
pub mod clone;
pub mod compile;
pub mod debug;
pub mod deps;
pub mod docs;
pub mod freshness;
pub mod init;
pub mod ls;
pub mod parse;
pub mod retry;
pub mod run;
pub mod run_operation;
pub mod show;

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use crate::cli::{Cli, Command, ProjectArgs, SelectionArgs};
use crate::error::{Error, Result};
use crate::graph::select::Selector;
use crate::graph::selector::{self, Spec};
use crate::graph::selectors_yml::{self, NamedSelector};
use crate::graph::Dag;
use crate::jinja::Jinja;
use crate::manifest::json::{write_manifest, Invocation};
use crate::manifest::{CompiledNodes, Manifest, ResourceType};
use crate::output;
use crate::project::Project;

/// Output format and --warn-error policy, before a command starts.
fn start(p: &ProjectArgs) -> Result<()> {
    output::init(p.log_format);
    output::set_warn_error(output::WarnPolicy::from_args(
        p.warn_error,
        p.warn_error_options.as_deref(),
    )?);
    Ok(())
}

/// dbt's global flags that change something in kiln.
fn apply_global(g: &crate::cli::GlobalArgs) {
    if let Some(dir) = &g.target_path {
        // Read by the project's paths (dbt reads the same variable); set
        // before any thread starts.
        std::env::set_var("DBT_TARGET_PATH", dir);
    }
    output::set_quiet(g.quiet, g.no_print);
    // As dbt: --no-partial-parse, or DBT_PARTIAL_PARSE=false, re-renders everything.
    let env_off = std::env::var("DBT_PARTIAL_PARSE")
        .is_ok_and(|v| matches!(v.to_ascii_lowercase().as_str(), "false" | "0" | "no"));
    crate::render_cache::bypass(env_off || g.no_partial_parse);
}

pub fn run(cli: Cli) -> Result<i32> {
    apply_global(&cli.global);
    match cli.command {
        Command::Init(args) => init::run(&args),
        Command::Debug(args) => {
            start(&args)?;
            debug::run(&args)
        }
        Command::Parse(args) => {
            start(&args)?;
            parse::run(&args)
        }
        Command::Compile(args) => {
            start(&args.project)?;
            compile::run(&args)
        }
        Command::Ls(args) => {
            start(&args.project)?;
            ls::run(&args)
        }
        Command::Seed(args) => {
            start(&args.project)?;
            run::run(&args, "seed", &[ResourceType::Seed])
        }
        Command::Run(args) => {
            start(&args.project)?;
            run::run(&args, "run", &[ResourceType::Model])
        }
        Command::Test(args) => {
            start(&args.project)?;
            run::run(&args, "test", &[ResourceType::Test, ResourceType::UnitTest])
        }
        Command::Docs(crate::cli::DocsCommand::Generate(args)) => {
            start(&args.project)?;
            docs::generate(&args)
        }
        Command::Docs(crate::cli::DocsCommand::Serve(args)) => {
            start(&args.project)?;
            docs::serve(&args)
        }
        Command::Source(crate::cli::SourceCommand::Freshness(args)) => {
            start(&args.project)?;
            freshness::run(&args)
        }
        Command::Clone(args) => {
            start(&args.project)?;
            clone::run(&args)
        }
        Command::Show(args) => {
            start(&args.project)?;
            show::run(&args)
        }
        Command::RunOperation(args) => {
            start(&args.project)?;
            run_operation::run(&args)
        }
        Command::Retry(args) => {
            start(&args)?;
            retry::run(&args)
        }
        Command::Deps(args) => {
            start(&args)?;
            deps::run(&args)
        }
        Command::Clean(args) => {
            start(&args)?;
            clean::run(&args)
        }
        Command::Snapshot(args) => {
            start(&args.project)?;
            run::run(&args, "snapshot", &[ResourceType::Snapshot])
        }
        Command::Build(args) => {
            start(&args.project)?;
            run::run(
                &args,
                "build",
                &[
                    ResourceType::Seed,
                    ResourceType::Model,
                    ResourceType::Snapshot,
                    ResourceType::Test,
                    ResourceType::UnitTest,
                    ResourceType::Exposure,
                ],
            )
        }
    }
}

/// A parsed project: what every command after `parse` starts from.
pub struct Session {
    pub project: Project,
    pub manifest: Arc<Manifest>,
    pub jinja: Arc<Jinja>,
    /// Renders reusable from the last invocation.
    pub cache: Arc<crate::render_cache::RenderCache>,
    pub dag: Dag,
    pub selectors: Vec<NamedSelector>,
    pub started: Instant,
    /// The --state run, loaded once per invocation.
    state: std::sync::OnceLock<Option<Arc<crate::graph::state::PreviousState>>>,
}

impl Session {
    /// Loads and parses the project, printing warnings.
    pub fn load(args: &ProjectArgs) -> Result<Session> {
        Session::load_with_flags(args, serde_json::Map::new())
    }

    /// Like `load`, with `flags` (FULL_REFRESH, WHICH, ...) set for templates.
    pub fn load_with_flags(
        args: &ProjectArgs,
        flags: serde_json::Map<String, serde_json::Value>,
    ) -> Result<Session> {
        let started = Instant::now();
        let mut timer = output::Timer::start();
        let mut project = Project::load(args)?;
        if let serde_json::Value::Object(f) = &mut project.flags {
            f.extend(flags);
        }
        timer.lap("load project");
        let (manifest, jinja, cache) = crate::manifest::parse::parse_project(&project)?;
        for w in &manifest.warnings {
            output::warn(w);
        }
        timer.lap("parse");
        let dag = Dag::build(&manifest)?;
        timer.lap("graph");
        let selectors = match crate::project::yaml::read_optional(
            &project.dir.join("selectors.yml"),
            Path::new("selectors.yml"),
        )? {
            // Jinja in selectors.yml (env_var, var) is rendered, as by dbt.
            Some((text, doc)) => selectors_yml::parse_file(&project.renderer.render_value(
                &doc,
                Path::new("selectors.yml"),
                &text,
            )?)
            .map_err(|e| e.or_at(|| crate::error::Location::file("selectors.yml")))?,
            None => Vec::new(),
        };
        Ok(Session {
            project,
            manifest: Arc::new(manifest),
            jinja,
            cache,
            dag,
            selectors,
            started,
            state: std::sync::OnceLock::new(),
        })
    }

    /// The nodes chosen by --select/--exclude/--selector (or the default
    /// selector), limited to `types`, in dependency order.
    pub fn select(&self, sel: &SelectionArgs, types: &[ResourceType]) -> Result<Vec<String>> {
        let spec = self.spec(sel)?;
        let previous = self.previous_state(sel)?;
        let selector = Selector {
            manifest: &self.manifest,
            dag: &self.dag,
            indirect: sel.indirect_selection,
            state: previous.as_deref(),
        };
        let chosen = selector.select(&spec)?;
        let wanted: crate::graph::NodeSet = chosen
            .into_iter()
            .filter(|&i| {
                let id = self.dag.id(i);
                let rt = if let Some(n) = self.manifest.nodes.get(id) {
                    n.resource_type
                } else if self.manifest.sources.contains_key(id) {
                    ResourceType::Source
                } else {
                    ResourceType::Exposure
                };
                types.contains(&rt)
            })
            .collect();
        let ids = self.dag.ids_in_order(&wanted);
        let _ = self.jinja.selected.set(crate::jinja::to_value(&ids));
        if ids.is_empty() && (!sel.select.is_empty() || sel.selector.is_some()) {
            output::warn_named(
                "NoNodesForSelectionCriteria",
                "the selection criteria matched no nodes",
            );
        }
        Ok(ids)
    }

    /// The previous run named by --state, if any (read once).
    pub fn previous_state(
        &self,
        sel: &SelectionArgs,
    ) -> Result<Option<Arc<crate::graph::state::PreviousState>>> {
        if let Some(loaded) = self.state.get() {
            return Ok(loaded.clone());
        }
        let loaded = match &sel.state {
            Some(dir) => Some(Arc::new(crate::graph::state::PreviousState::load(
                &self.project.dir.join(dir),
                &self.manifest,
                &self.jinja,
            )?)),
            None => None,
        };
        Ok(self.state.get_or_init(|| loaded).clone())
    }

    fn spec(&self, sel: &SelectionArgs) -> Result<Spec> {
        if let Some(name) = &sel.selector {
            let found = self
                .selectors
                .iter()
                .find(|s| &s.name == name)
                .ok_or_else(|| {
                    Error::new(format!("no selector named '{name}' in selectors.yml"))
                        .suggest(name, self.selectors.iter().map(|s| s.name.as_str()))
                })?;
            let mut parts = vec![found.spec.clone()];
            if !sel.exclude.is_empty() {
                parts.push(selector::parse_union(&sel.exclude)?);
            }
            return Ok(Spec::Difference(parts));
        }
        if sel.select.is_empty() {
            if let Some(default) = self.selectors.iter().find(|s| s.default) {
                let mut parts = vec![default.spec.clone()];
                if !sel.exclude.is_empty() {
                    parts.push(selector::parse_union(&sel.exclude)?);
                }
                return Ok(Spec::Difference(parts));
            }
        }
        selector::from_cli(&sel.select, &sel.exclude)
    }

    pub fn invocation(&self) -> Invocation<'_> {
        Invocation {
            invocation_id: &self.jinja.invocation_id,
            started_at: self.jinja.run_started_at,
            project_name: self.project.root_name(),
            adapter_type: "duckdb",
        }
    }

    /// Writes target/manifest.json, with the compiled code of `compiled` nodes.
    pub fn write_manifest(&self, compiled: Option<&CompiledNodes>) -> Result<()> {
        let selectors: serde_json::Map<String, serde_json::Value> = self
            .selectors
            .iter()
            .map(|s| {
                (
                    s.name.clone(),
                    serde_json::json!({"name": s.name, "selector_definition": s.definition, "description": s.description, "default": s.default}),
                )
            })
            .collect();
        write_manifest(
            &self.project.target_dir().join("manifest.json"),
            &self.manifest,
            compiled,
            &self.jinja,
            &self.invocation(),
            serde_json::Value::Object(selectors),
        )
    }

    /// "12 models, 5 seeds, ..." for summaries.
    pub fn counts(&self) -> String {
        let mut counts: std::collections::BTreeMap<&str, usize> = Default::default();
        for n in self.manifest.nodes.values() {
            *counts.entry(n.resource_type.as_str()).or_default() += 1;
        }
        let plural = |word: &str, n: usize| match (word, n) {
            (_, 1) => word.to_string(),
            ("analysis", _) => "analyses".to_string(),
            _ => format!("{word}s"),
        };
        let mut parts: Vec<String> = ["model", "seed", "snapshot", "test", "analysis"]
            .iter()
            .filter_map(|t| counts.get(t).map(|n| format!("{n} {}", plural(t, *n))))
            .collect();
        if !self.manifest.sources.is_empty() {
            parts.push(format!(
                "{} {}",
                self.manifest.sources.len(),
                plural("source", self.manifest.sources.len())
            ));
        }
        if !self.manifest.exposures.is_empty() {
            parts.push(format!(
                "{} {}",
                self.manifest.exposures.len(),
                plural("exposure", self.manifest.exposures.len())
            ));
        }
        parts.push(format!("{} macros", self.jinja.macros.defs.len()));
        parts.join(", ")
    }
}

/// Hands a command's big structures to the process exit instead of freeing
/// them: the process ends right after, and freeing a 10,000-model manifest
/// one small allocation at a time takes tens of milliseconds.
pub fn free_at_exit<T>(value: T) {
    std::mem::forget(value);
}
