//! The command line: clap definitions only. Commands live in `commands/`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "kiln",
    version,
    about = "Build dbt projects fast: compile Jinja SQL models into a dependency graph, \
             run them on DuckDB, and test the results.",
    long_about = None,
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    #[command(flatten)]
    pub global: GlobalArgs,
}

/// dbt's global flags, accepted before or after the command so that
/// existing scripts and orchestrators keep working. Those marked "no
/// effect" change nothing in kiln (it has no version check, no file log),
/// as README's "dbt flags" table says.
#[derive(Debug, Clone, Args, Default)]
pub struct GlobalArgs {
    /// Where artifacts and compiled SQL go, instead of dbt_project.yml's target-path.
    #[arg(long, global = true, value_name = "DIR", env = "DBT_TARGET_PATH")]
    pub target_path: Option<PathBuf>,
    /// Print only errors (and the data a command was asked for).
    #[arg(short = 'q', long, global = true)]
    pub quiet: bool,
    /// Debug-level output (no effect beyond --log-level debug).
    #[arg(short = 'd', long, global = true)]
    pub debug: bool,
    /// Minimum level of log lines on the console (no effect: kiln prints info).
    #[arg(long, global = true, value_name = "LEVEL")]
    pub log_level: Option<String>,
    /// Level of the file log (no effect: kiln writes no file log).
    #[arg(long, global = true, value_name = "LEVEL")]
    pub log_level_file: Option<String>,
    /// Directory of the file log (no effect).
    #[arg(long, global = true, value_name = "DIR", env = "DBT_LOG_PATH")]
    pub log_path: Option<PathBuf>,
    /// Format of the file log (no effect).
    #[arg(long, global = true, value_name = "FORMAT")]
    pub log_format_file: Option<String>,
    /// Print output of print() in templates (default).
    #[arg(long, global = true, overrides_with = "no_print")]
    pub print: bool,
    /// Silence print() in templates.
    #[arg(long, global = true)]
    pub no_print: bool,
    /// Colour on a terminal (no effect: kiln follows NO_COLOR and the terminal).
    #[arg(long, global = true)]
    pub use_colors: bool,
    #[arg(long, global = true, hide = true)]
    pub no_use_colors: bool,
    #[arg(long, global = true, hide = true)]
    pub use_colors_file: bool,
    #[arg(long, global = true, hide = true)]
    pub no_use_colors_file: bool,
    /// Reuse renders from target/kiln_cache/ when their inputs are unchanged (the default).
    #[arg(long, global = true, overrides_with = "no_partial_parse")]
    pub partial_parse: bool,
    /// Render every node again, ignoring target/kiln_cache/.
    #[arg(long, global = true, overrides_with = "partial_parse")]
    pub no_partial_parse: bool,
    #[arg(long, global = true, hide = true)]
    pub partial_parse_file_diff: bool,
    #[arg(long, global = true, hide = true)]
    pub no_partial_parse_file_diff: bool,
    /// Version check against the hub (no effect: kiln never calls home).
    #[arg(long, global = true, hide = true)]
    pub version_check: bool,
    #[arg(long, global = true, hide = true)]
    pub no_version_check: bool,
    #[arg(long, global = true, hide = true)]
    pub send_anonymous_usage_stats: bool,
    #[arg(long, global = true, hide = true)]
    pub no_send_anonymous_usage_stats: bool,
    #[arg(long, global = true, hide = true)]
    pub static_parser: bool,
    #[arg(long, global = true, hide = true)]
    pub no_static_parser: bool,
    #[arg(long, global = true, hide = true)]
    pub cache_selected_only: bool,
    #[arg(long, global = true, hide = true)]
    pub no_cache_selected_only: bool,
    #[arg(long, global = true, hide = true)]
    pub introspect: bool,
    #[arg(long, global = true, hide = true)]
    pub no_introspect: bool,
    #[arg(long, global = true, hide = true)]
    pub write_json: bool,
    #[arg(long, global = true, hide = true)]
    pub no_write_json: bool,
    #[arg(long, global = true, hide = true)]
    pub populate_cache: bool,
    #[arg(long, global = true, hide = true)]
    pub no_populate_cache: bool,
    #[arg(long, global = true, hide = true, value_name = "N")]
    pub printer_width: Option<usize>,
    #[arg(long, global = true, hide = true)]
    pub record_timing_info: Option<String>,
    #[arg(long, global = true, hide = true)]
    pub show_all_deprecations: bool,
    #[arg(long, global = true, hide = true)]
    pub no_show_all_deprecations: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a new project from kiln's scaffold (DuckDB profile, a seed, two models, tests).
    Init(InitArgs),
    /// Check dbt_project.yml, profiles.yml and the database connection.
    Debug(ProjectArgs),
    /// Read the whole project and write target/manifest.json.
    Parse(ProjectArgs),
    /// Render the selected nodes' SQL into target/compiled/, or print `--inline` SQL.
    Compile(CompileArgs),
    /// List the selected nodes.
    #[command(alias = "list")]
    Ls(LsArgs),
    /// Load the CSV files under seed-paths into tables (DuckDB reads them directly).
    Seed(RunArgs),
    /// Build the selected models in the database, in dependency order.
    Run(RunArgs),
    /// Run the selected data tests (and unit tests) on the built relations.
    Test(RunArgs),
    /// Record changes to the selected snapshots' queries as type-2 history.
    Snapshot(RunArgs),
    /// The documentation site: `kiln docs generate`, `kiln docs serve`.
    #[command(subcommand)]
    Docs(DocsCommand),
    /// Create the selected models, seeds and snapshots in the target as views
    /// of their relations in a previous run (--state), e.g. to set up a CI
    /// schema.
    Clone(RunArgs),
    /// Commands about sources: `kiln source freshness`.
    #[command(subcommand)]
    Source(SourceCommand),
    /// Run a model's (or an inline query's) SQL and print the first rows.
    Show(ShowArgs),
    /// Call a macro, e.g. `kiln run-operation grant_select --args '{role: reporter}'`.
    RunOperation(RunOperationArgs),
    /// Re-run the nodes that errored, failed or were skipped in the last
    /// run (target/run_results.json), with the same command and arguments.
    Retry(ProjectArgs),
    /// Install the packages of packages.yml (or dependencies.yml) into
    /// dbt_packages/, and record them in package-lock.yml.
    Deps(ProjectArgs),
    /// Delete the clean-targets of dbt_project.yml (default: the target path).
    Clean(ProjectArgs),
    /// Seed, run, snapshot and test the selected nodes in one DAG order; a
    /// failing test skips the nodes downstream of what it tests.
    Build(RunArgs),
}

/// Where the project is and how to connect: shared by every command that reads a project.
#[derive(Debug, Clone, Args, Default)]
pub struct ProjectArgs {
    /// Directory holding dbt_project.yml (default: the current directory).
    #[arg(long, value_name = "DIR", env = "DBT_PROJECT_DIR")]
    pub project_dir: Option<PathBuf>,

    /// Directory holding profiles.yml (default: DBT_PROFILES_DIR, then the project
    /// directory, then ~/.dbt).
    #[arg(long, value_name = "DIR")]
    pub profiles_dir: Option<PathBuf>,

    /// Profile to use, overriding `profile:` in dbt_project.yml.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,

    /// Target (output) of the profile to use, overriding the profile's `target:`.
    #[arg(short = 't', long, value_name = "NAME")]
    pub target: Option<String>,

    /// Variables as a YAML dictionary, e.g. --vars '{start_date: 2024-01-01}'.
    /// They take precedence over vars in dbt_project.yml.
    #[arg(long, value_name = "YAML")]
    pub vars: Option<String>,

    /// Number of threads (default: the profile's `threads`).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,

    /// Format of progress and log lines on stderr.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Treat every warning as an error: warning tests fail, and any other
    /// warning makes the invocation exit with code 1.
    #[arg(long)]
    pub warn_error: bool,

    /// Which warnings become errors, as YAML: '{include: all, exclude:
    /// [NoNodesForSelectionCriteria]}' or a list of names to include
    /// (dbt's `error:` / `warn:` keys work too).
    #[arg(long, value_name = "YAML")]
    pub warn_error_options: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// Which nodes an invocation works on.
#[derive(Debug, Clone, Args, Default)]
pub struct SelectionArgs {
    /// Nodes to include: names, paths, globs, `tag:x`, `source:x`, `+model+`, ...
    /// Space-separated words are a union; a comma joins an intersection.
    #[arg(short = 's', long = "select", alias = "models", short_alias = 'm', value_name = "SELECTOR", num_args = 1..)]
    pub select: Vec<String>,

    /// Nodes to leave out, in the same language as --select.
    #[arg(long, value_name = "SELECTOR", num_args = 1..)]
    pub exclude: Vec<String>,

    /// A named selector from selectors.yml.
    #[arg(long, value_name = "NAME")]
    pub selector: Option<String>,

    /// How tests attached to selected nodes are selected.
    #[arg(long, value_enum, env = "DBT_INDIRECT_SELECTION", default_value_t = IndirectSelection::Eager)]
    pub indirect_selection: IndirectSelection,

    /// A previous run's target directory (its manifest.json and
    /// run_results.json), for `state:modified`, `state:new`, `result:error`, ...
    #[arg(long, value_name = "DIR", env = "DBT_STATE")]
    pub state: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum IndirectSelection {
    /// Select every test that touches a selected node.
    #[default]
    Eager,
    /// Select tests only when all their parents are selected.
    Cautious,
    /// Select tests whose parents are selected or are ancestors of selected nodes.
    Buildable,
    /// Select no tests indirectly.
    Empty,
}

#[derive(Debug, Clone, Args)]
pub struct InitArgs {
    /// Name of the new project (letters, digits and underscores); also its directory.
    pub name: String,

    /// Create the project in this directory instead of ./NAME.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct CompileArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    #[command(flatten)]
    pub selection: SelectionArgs,

    /// Compile this SQL (with Jinja) instead of project nodes and print it to stdout.
    #[arg(long, value_name = "SQL", conflicts_with_all = ["select", "exclude", "selector"])]
    pub inline: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    #[command(flatten)]
    pub selection: SelectionArgs,

    /// Rebuild incremental models and recreate seed tables from scratch.
    #[arg(long)]
    pub full_refresh: bool,

    /// Stop at the first failure: no new nodes start and running ones are cancelled.
    #[arg(short = 'x', long)]
    pub fail_fast: bool,

    /// With --state: a ref to a node that is not selected reads the previous
    /// run's relation when the target has none.
    #[arg(long)]
    pub defer: bool,

    /// With --defer: read the previous run's relation even when the target
    /// has one.
    #[arg(long)]
    pub favor_state: bool,

    /// Build every selected model with its refs and sources limited to zero
    /// rows: checks that the SQL compiles and runs, without the data.
    #[arg(long)]
    pub empty: bool,

    /// Limit refs and sources that have an `event_time` to a window of
    /// time: a span up to now ("3 days", "6 hours") or
    /// "{'start': '2024-07-01', 'end': '2024-07-08'}".
    #[arg(long, value_name = "WINDOW")]
    pub sample: Option<String>,

    /// Microbatch models build the batches from this event time on
    /// (`2024-01-01` or `2024-01-01 06:00:00`).
    #[arg(long, value_name = "TIME")]
    pub event_time_start: Option<String>,

    /// Microbatch models build the batches before this event time.
    #[arg(long, value_name = "TIME")]
    pub event_time_end: Option<String>,

    /// Also write a JUnit XML report of the nodes and tests to PATH.
    #[arg(long, value_name = "PATH", env = "KILN_JUNIT_XML")]
    pub junit_xml: Option<PathBuf>,

    /// Keep the failing rows of tests in tables (as `store_failures: true`).
    #[arg(long, env = "DBT_STORE_FAILURES")]
    pub store_failures: bool,

    /// Only these resource types (build, test): model, seed, snapshot, test, unit_test, ...
    #[arg(long, value_enum, value_name = "TYPE", num_args = 1..)]
    pub resource_type: Vec<ResourceTypeArg>,

    /// Leave out these resource types.
    #[arg(long, value_enum, value_name = "TYPE", num_args = 1..)]
    pub exclude_resource_type: Vec<ResourceTypeArg>,

    /// With --defer: the state to defer to, when it differs from --state.
    #[arg(long, value_name = "DIR", env = "DBT_DEFER_STATE")]
    pub defer_state: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum DocsCommand {
    /// Write target/catalog.json (columns and types from the database) and
    /// the static site target/index.html.
    Generate(DocsGenerateArgs),
    /// Serve target/ over HTTP (after `kiln docs generate`).
    Serve(DocsServeArgs),
}

#[derive(Debug, Clone, Args)]
pub struct DocsGenerateArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    /// One self-contained static_index.html (kiln's index.html always is one).
    #[arg(long = "static")]
    pub static_site: bool,
    /// Skip compiling the nodes (no effect: kiln compiles them fast).
    #[arg(long)]
    pub no_compile: bool,
    /// Write a catalog with no relations, without describing them.
    #[arg(long)]
    pub empty_catalog: bool,
}

#[derive(Debug, Clone, Args)]
pub struct DocsServeArgs {
    #[command(flatten)]
    pub project: ProjectArgs,

    /// Port to listen on.
    #[arg(long, default_value_t = 8080)]
    pub port: u16,

    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,

    /// Do not open a browser.
    #[arg(long)]
    pub no_browser: bool,
}

#[derive(Debug, Subcommand)]
pub enum SourceCommand {
    /// Check how recently each selected source was loaded, against its
    /// warn_after / error_after, and write target/sources.json.
    Freshness(FreshnessArgs),
}

#[derive(Debug, Clone, Args)]
pub struct FreshnessArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    #[command(flatten)]
    pub selection: SelectionArgs,

    /// Where to write the results (default: target/sources.json).
    #[arg(long, short = 'o', value_name = "PATH")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct ShowArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    #[command(flatten)]
    pub selection: SelectionArgs,

    /// Show this SQL (with Jinja) instead of a node.
    #[arg(long, value_name = "SQL", conflicts_with_all = ["select", "exclude", "selector"])]
    pub inline: Option<String>,

    /// How many rows to show (a negative number shows all).
    #[arg(long, default_value_t = 5, allow_negative_numbers = true)]
    pub limit: i64,

    /// A table for people, or JSON for programs.
    #[arg(long, short = 'o', value_enum, default_value_t = ShowOutput::Text)]
    pub output: ShowOutput,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ShowOutput {
    Text,
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct RunOperationArgs {
    #[command(flatten)]
    pub project: ProjectArgs,

    /// The macro to call (`name` or `package.name`).
    pub macro_name: String,

    /// The macro's arguments as a YAML dictionary, e.g. --args '{days: 7}'.
    #[arg(long, value_name = "YAML")]
    pub args: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct LsArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    #[command(flatten)]
    pub selection: SelectionArgs,

    /// Only list nodes of these types.
    #[arg(long, value_enum, value_name = "TYPE", num_args = 1..)]
    pub resource_type: Vec<ResourceTypeArg>,

    /// Leave out nodes of these types.
    #[arg(long, value_enum, value_name = "TYPE", num_args = 1..)]
    pub exclude_resource_type: Vec<ResourceTypeArg>,

    /// What to print for each node.
    #[arg(long, short = 'o', value_enum, default_value_t = LsOutput::Selector)]
    pub output: LsOutput,

    /// With --state: say why each node counts as modified.
    #[arg(long)]
    pub explain: bool,

    /// With --output json: the keys to print (default: a standard set).
    #[arg(long, value_name = "KEY", num_args = 1..)]
    pub output_keys: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LsOutput {
    /// The node's name.
    Name,
    /// The path of the node's file, relative to the project.
    Path,
    /// One JSON object per line.
    Json,
    /// The fully qualified selector (package.path.name).
    Selector,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ResourceTypeArg {
    Model,
    Seed,
    Snapshot,
    Test,
    Source,
    Exposure,
    Analysis,
    Macro,
    UnitTest,
    All,
    Default,
}

impl ResourceTypeArg {
    /// The resource types named (`all` and `default` name none here).
    pub fn to_types(args: &[ResourceTypeArg]) -> Vec<crate::manifest::ResourceType> {
        use crate::manifest::ResourceType as R;
        args.iter()
            .filter_map(|a| match a {
                ResourceTypeArg::Model => Some(R::Model),
                ResourceTypeArg::Seed => Some(R::Seed),
                ResourceTypeArg::Snapshot => Some(R::Snapshot),
                ResourceTypeArg::Test => Some(R::Test),
                ResourceTypeArg::Source => Some(R::Source),
                ResourceTypeArg::Exposure => Some(R::Exposure),
                ResourceTypeArg::Analysis => Some(R::Analysis),
                ResourceTypeArg::UnitTest => Some(R::UnitTest),
                _ => None,
            })
            .collect()
    }
}
