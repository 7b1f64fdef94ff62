//! Parse: from a loaded project to a Manifest. Every SQL file is rendered
//! once with `execute = false` (in parallel) to learn its refs, sources and
//! in-file config; properties YAML patches descriptions, columns and configs;
//! generic tests become test nodes; naming macros place each node.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use indexmap::IndexMap;
use rayon::prelude::*;
use serde_json::Value as Json;
use sha2::{Digest, Sha256};

use crate::error::{Error, Location, Result};
use crate::jinja::context::NodeScope;
use crate::jinja::{self, dialect, errors, Ctx, Jinja, JinjaConfig, MacroFile, Scope};
use crate::manifest::{
    generic_tests, naming, python_model, resolve, semantic, source_overrides, unit_tests, versions,
};
use crate::manifest::{
    Column, DocBlock, Exposure, MacroPatch, Manifest, Node, ResourceType, SourceDef,
};
use crate::project::config::{self, NodeConfig};
use crate::project::properties::{self, ColumnProperties, NodeProperties, PropertiesFile};
use crate::project::{FileKind, Package, Project, SourceFile};
use crate::render_cache::{ParseResult, RenderCache};

/// A properties file, kept for locating entries in errors.
#[derive(Debug, Clone)]
pub struct YamlFile {
    pub package: String,
    /// Path relative to its package.
    pub original_file_path: String,
    pub display_path: PathBuf,
    pub text: Arc<str>,
}

impl YamlFile {
    pub fn locate(&self, name: &str) -> Location {
        crate::project::yaml::locate_name(&self.display_path, &self.text, name)
    }
}

/// One properties file, read and checked.
struct ParsedProperties {
    file: Arc<YamlFile>,
    nodes: Vec<(&'static str, NodeProperties)>,
    sources: Vec<Json>,
    exposures: Vec<Json>,
    unit_tests: Vec<Json>,
    macros: Vec<properties::MacroProperties>,
    /// Snapshots defined in YAML (`relation:` plus config).
    snapshots: Vec<Node>,
    warnings: Vec<String>,
    semantic: semantic::Entries,
}

impl ParsedProperties {
    fn read(project: &Project, pkg: &Package, file: &SourceFile) -> Result<ParsedProperties> {
        let display = pkg_display(project, pkg, file);
        let parsed = PropertiesFile::parse(&display, &file.contents)?;
        let mut nodes: Vec<(&'static str, NodeProperties)> = Vec::new();
        for (kind, list) in [
            ("model", &parsed.models),
            ("seed", &parsed.seeds),
            ("snapshot", &parsed.snapshots),
            ("analysis", &parsed.analyses),
        ] {
            for entry in list {
                let mut props: NodeProperties =
                    properties::entry(&display, &file.contents, kind, entry)?;
                render_properties(project, &mut props, &display, &file.contents)?;
                nodes.push((kind, props));
            }
        }
        let macros = parsed
            .macros
            .iter()
            .map(|e| properties::entry(&display, &file.contents, "macro", e))
            .collect::<Result<_>>()?;
        // A YAML snapshot is `select * from <relation>`, as dbt writes it.
        let snapshots = nodes
            .iter()
            .filter(|(kind, _)| *kind == "snapshot")
            .filter_map(|(_, p)| p.relation.as_ref().map(|r| (p, r)))
            .map(|(p, relation)| {
                let line =
                    crate::project::yaml::locate_name(&display, &file.contents, &p.name).line;
                let mut node = new_node(
                    project,
                    pkg,
                    file,
                    ResourceType::Snapshot,
                    &p.name,
                    format!("select * from {{{{ {} }}}}", relation.trim()),
                    line,
                );
                // As dbt: the checksum of the YAML file it is defined in.
                node.checksum = sha256(file.contents.trim());
                // dbt files a YAML snapshot under its YAML file.
                node.path = format!("{}/{}.sql", file.resource_path, p.name);
                node
            })
            .collect();
        let yf = Arc::new(YamlFile {
            package: pkg.name.clone(),
            original_file_path: file.path.clone(),
            display_path: display,
            text: Arc::from(file.contents.as_str()),
        });
        let with_file = |list: Vec<Json>| list.into_iter().map(|e| (e, yf.clone())).collect();
        let semantic = semantic::Entries {
            groups: with_file(parsed.groups),
            semantic_models: with_file(parsed.semantic_models),
            metrics: with_file(parsed.metrics),
            saved_queries: with_file(parsed.saved_queries),
        };
        Ok(ParsedProperties {
            file: yf.clone(),
            nodes,
            sources: parsed.sources,
            exposures: parsed.exposures,
            unit_tests: parsed.unit_tests,
            macros,
            snapshots,
            warnings: parsed.warnings,
            semantic,
        })
    }
}

/// Jinja in a properties entry's `config:` and `meta:` (env_var, var,
/// target), as dbt renders them; hooks keep their Jinja for run time.
fn render_properties(
    project: &Project,
    props: &mut NodeProperties,
    display: &Path,
    text: &str,
) -> Result<()> {
    let renderer = &project.properties_renderer;
    let hooks = |k: &str| {
        matches!(
            k,
            "pre-hook" | "post-hook" | "pre_hook" | "post_hook" | "sql_header"
        )
    };
    let config = renderer.render_value_skipping(
        &Json::Object(props.config.clone()),
        display,
        text,
        &hooks,
    )?;
    if let Json::Object(c) = config {
        props.config = c;
    }
    if let Json::Object(m) =
        renderer.render_value(&Json::Object(props.meta.clone()), display, text)?
    {
        props.meta = m;
    }
    // Column data types may be Jinja too (`{{ 'UInt8' if target.type == ... }}`).
    for col in &mut props.columns {
        if let Some(t) = col
            .data_type
            .as_ref()
            .filter(|t| t.contains("{{") || t.contains("{%"))
        {
            col.data_type = renderer
                .render_string(t, display, text)?
                .as_str()
                .map(|s| s.trim().to_string());
        }
    }
    Ok(())
}

/// Properties of one model/seed/snapshot/analysis and where they were written.
struct Patch {
    props: NodeProperties,
    file: Arc<YamlFile>,
}

/// Parses the whole project. Returns the manifest and the Jinja runtime
/// (macros compiled once, reused by compile and execution).
pub fn parse_project(project: &Project) -> Result<(Manifest, Arc<Jinja>, Arc<RenderCache>)> {
    let root = project.root_name().to_string();
    let mut warnings = project.warnings.clone();
    let mut timer = crate::output::Timer::start();

    let jinja = build_jinja(project)?;
    let mut manifest = Manifest {
        root_package: root.clone(),
        ..Default::default()
    };
    manifest.docs = collect_docs(project)?;
    let mut jinja = jinja;
    jinja.docs = manifest
        .docs
        .values()
        .map(|d| {
            (
                (d.package_name.clone(), d.name.clone()),
                d.block_contents.clone(),
            )
        })
        .collect();
    let jinja = Arc::new(jinja);
    let cache = Arc::new(RenderCache::open(project, &jinja));
    timer.lap("macros and docs");

    // Properties YAML, by package.
    let mut patches: HashMap<(String, &'static str, String), Patch> = HashMap::new();
    let mut source_entries: Vec<(Json, Arc<YamlFile>)> = Vec::new();
    let mut exposure_entries: Vec<(Json, Arc<YamlFile>)> = Vec::new();
    let mut unit_test_entries: Vec<(Json, Arc<YamlFile>)> = Vec::new();
    let mut yaml_snapshots: Vec<Box<Node>> = Vec::new();
    let mut semantic_entries = semantic::Entries::default();
    // Each file is read on its own (in parallel); merging comes after, in file order.
    let files: Vec<(&Package, &SourceFile)> = project
        .packages
        .iter()
        .flat_map(|pkg| {
            pkg.files
                .iter()
                .filter(|f| f.kind == FileKind::Properties)
                .map(move |f| (pkg, f))
        })
        .collect();
    let parsed_files: Vec<Result<ParsedProperties>> = files
        .par_iter()
        .map(|(pkg, file)| ParsedProperties::read(project, pkg, file))
        .collect();
    for parsed in parsed_files {
        let parsed = parsed?;
        warnings.extend(parsed.warnings);
        semantic_entries.groups.extend(parsed.semantic.groups);
        semantic_entries
            .semantic_models
            .extend(parsed.semantic.semantic_models);
        semantic_entries.metrics.extend(parsed.semantic.metrics);
        semantic_entries
            .saved_queries
            .extend(parsed.semantic.saved_queries);
        let yf = parsed.file;
        for (kind, props) in parsed.nodes {
            let key = (yf.package.clone(), kind, props.name.clone());
            if let Some(prev) = patches.get(&key) {
                return Err(Error::new(format!(
                    "{kind} '{}' has properties in two places",
                    props.name
                ))
                .at(yf.locate(&props.name))
                .note(format!(
                    "also described in {}",
                    prev.file.display_path.display()
                ))
                .note("keep one entry per resource"));
            }
            patches.insert(
                key,
                Patch {
                    props,
                    file: yf.clone(),
                },
            );
        }
        source_entries.extend(parsed.sources.into_iter().map(|e| (e, yf.clone())));
        exposure_entries.extend(parsed.exposures.into_iter().map(|e| (e, yf.clone())));
        unit_test_entries.extend(parsed.unit_tests.into_iter().map(|e| (e, yf.clone())));
        yaml_snapshots.extend(parsed.snapshots.into_iter().map(Box::new));
        for mp in parsed.macros {
            manifest.macro_patches.insert(
                format!("macro.{}.{}", yf.package, mp.name),
                MacroPatch {
                    description: mp.description.unwrap_or_default(),
                    arguments: mp.arguments,
                    meta: mp.meta,
                    patch_path: Some(format!("{}://{}", yf.package, yf.original_file_path)),
                },
            );
        }
    }
    timer.lap("properties");
    // SQL and CSV nodes, boxed (about 1 KB each): each move copies a pointer.
    let files: Vec<(&Package, &SourceFile)> = project
        .packages
        .iter()
        .flat_map(|pkg| pkg.files.iter().map(move |f| (pkg, f)))
        .collect();
    let per_file: Vec<Result<Vec<Box<Node>>>> = files
        .par_iter()
        .map(|&(pkg, file)| {
            let rt = match file.kind {
                FileKind::Model | FileKind::PythonModel => ResourceType::Model,
                FileKind::Analysis => ResourceType::Analysis,
                FileKind::SingularTest => ResourceType::Test,
                FileKind::Seed => ResourceType::Seed,
                FileKind::Snapshot => {
                    let nodes = snapshot_nodes(project, pkg, file)?;
                    return Ok(nodes.into_iter().map(Box::new).collect());
                }
                _ => return Ok(Vec::new()),
            };
            let name = file_stem(&file.resource_path);
            // dbt keeps (and hashes) the file's text without surrounding whitespace.
            let trimmed = file.contents.trim();
            let lead = &file.contents[..file.contents.len() - file.contents.trim_start().len()];
            let line = 1 + lead.matches('\n').count();
            let mut node = new_node(project, pkg, file, rt, &name, trimmed.to_string(), line);
            if file.kind == FileKind::PythonModel {
                node.language = "python";
            }
            Ok(vec![Box::new(node)])
        })
        .collect();
    let mut pending: Vec<Box<Node>> = yaml_snapshots;
    for nodes in per_file {
        pending.extend(nodes?);
    }

    timer.lap("read nodes");
    let model_files: HashSet<(String, String)> = pending
        .iter()
        .filter(|n| n.resource_type == ResourceType::Model)
        .map(|n| (n.package_name.clone(), n.name.clone()))
        .collect();
    let (versioned, missing_versions) = versions::plan(
        patches
            .iter()
            .filter(|((_, kind, _), _)| *kind == "model")
            .map(|((pkg, _, _), p)| (pkg.as_str(), &p.props)),
        &model_files,
    );
    for (pkg, name, file) in missing_versions {
        let at = patches
            .get(&(pkg, "model", name.clone()))
            .map(|p| p.file.display_path.display().to_string())
            .unwrap_or_default();
        warnings.push(format!(
            "{at}: a version of model '{name}' has no file ({file}.sql) and is left out"
        ));
    }
    // Configs (dbt_project.yml, then properties YAML), then one render of
    // every SQL node, in parallel.
    let rendered: Vec<Result<Box<Node>>> = pending
        .into_par_iter()
        .map(|mut node| {
            let kind = node.resource_type.as_str();
            let version = match node.resource_type {
                ResourceType::Model => {
                    versioned.get(&(node.package_name.clone(), node.name.clone()))
                }
                _ => None,
            };
            if let Some(v) = version {
                versions::apply(&mut node, v);
            }
            let patch = patches.get(&(node.package_name.clone(), kind, node.name.clone()));
            let version_props = patch
                .zip(version)
                .map(|(p, v)| versions::properties(&p.props, v));
            let props = version_props.as_ref().or(patch.map(|p| &p.props));
            node.config = base_config(project, &node, props);
            if let (Some(p), Some(props)) = (patch, props) {
                apply_patch(&mut node, props, &p.file, &jinja)?;
            }
            if node.language == "python" {
                python_model::read_dependencies(&mut node);
            } else if node.resource_type != ResourceType::Seed {
                render_for_parse(&jinja, &cache, &mut node)?;
            }
            finish_config(&mut node);
            naming::assign(
                &jinja,
                &mut node,
                &project.target.database,
                &project.target.schema,
            )
            .map_err(|e| {
                errors::to_error(
                    &e,
                    &jinja,
                    &format!("could not name {}", node.unique_id),
                    "",
                    "",
                    &node.display_path,
                )
            })?;
            Ok(node)
        })
        .collect();
    let mut nodes: Vec<Box<Node>> = Vec::with_capacity(rendered.len());
    let mut failures: Vec<Error> = Vec::new();
    for r in rendered {
        match r {
            Ok(n) => nodes.push(n),
            Err(e) => failures.push(e),
        }
    }
    if let Some(first) = take_first(failures) {
        return Err(first);
    }

    timer.lap("render");
    // Sources and exposures.
    let source_entries = source_overrides::apply(source_entries);
    for (entry, yf) in &source_entries {
        for s in sources_from_entry(project, entry, yf)? {
            if s.config.get("enabled").and_then(Json::as_bool) == Some(false) {
                manifest.disabled_sources.insert(s.unique_id.clone(), s);
            } else if manifest
                .sources
                .insert(s.unique_id.clone(), s.clone())
                .is_some()
            {
                return Err(Error::new(format!(
                    "source '{}.{}' is defined twice",
                    s.source_name, s.name
                ))
                .at(yf.locate(&s.source_name)));
            }
        }
    }

    // Generic tests from properties.
    let mut tests: Vec<Box<Node>> = Vec::new();
    // Versions of a model share its name.
    let mut node_index: HashMap<(String, &str, String), Vec<&Node>> = HashMap::new();
    for n in &nodes {
        node_index
            .entry((
                n.package_name.clone(),
                n.resource_type.as_str(),
                n.name.clone(),
            ))
            .or_default()
            .push(n.as_ref());
    }
    let mut attached_patches = Vec::new();
    for ((pkg, kind, name), patch) in sorted_patches(&patches) {
        match node_index.get(&(pkg.clone(), kind, name.clone())) {
            Some(found) => {
                for node in found {
                    attached_patches.push((kind, name.clone(), patch, *node));
                }
            }
            None => warnings.push(format!(
                "{}: properties for {kind} '{name}', which has no file (did you rename or delete it?)",
                patch.file.display_path.display()
            )),
        }
    }
    let per_node: Vec<Result<Vec<Node>>> = attached_patches
        .par_iter()
        .map(|(kind, name, patch, node)| {
            let mut target =
                generic_tests::Target::node(kind, name, Some(node.unique_id.clone()), &patch.file);
            let version = node.version.as_ref().and_then(|v| {
                versioned
                    .values()
                    .find(|m| m.name == *name && m.v == *v)
                    .map(|m| (versions::text(v), versions::properties(&patch.props, m)))
            });
            let props = match &version {
                Some((v, props)) => {
                    target = target.with_version(v);
                    props
                }
                None => &patch.props,
            };
            generic_tests::from_properties(
                project,
                &jinja,
                &target,
                &props.columns,
                props.all_tests(),
                quote_columns(Some(node)),
            )
        })
        .collect();
    for r in per_node {
        tests.extend(r?.into_iter().map(Box::new));
    }
    for (entry, yf) in &source_entries {
        let sp: properties::SourceProperties =
            properties::entry(&yf.display_path, &yf.text, "source", entry)?;
        for table in &sp.tables {
            let uid = format!("source.{}.{}.{}", yf.package, sp.name, table.name);
            if !manifest.sources.contains_key(&uid) {
                continue;
            }
            let target = generic_tests::Target::source(&sp.name, &table.name, &yf.clone());
            tests.extend(
                generic_tests::from_properties(
                    project,
                    &jinja,
                    &target,
                    &table.columns,
                    table.all_tests(),
                    false,
                )?
                .into_iter()
                .map(Box::new),
            );
        }
    }
    nodes.extend(tests);
    timer.lap("generic tests");

    // Unit tests, with their fixture files.
    let fixtures: unit_tests::FixtureFiles = project
        .packages
        .iter()
        .flat_map(|p| p.files.iter().filter(|f| f.kind == FileKind::Fixture))
        .map(|f| {
            let p = Path::new(&f.resource_path);
            (
                p.file_stem()
                    .map(|s| s.to_string_lossy().to_string())
                    .unwrap_or_default(),
                p.extension()
                    .map(|s| s.to_string_lossy().to_string())
                    .unwrap_or_default(),
                f.contents.clone(),
            )
        })
        .collect();
    let mut unit_test_files: HashMap<String, Arc<YamlFile>> = HashMap::new();
    for (entry, yf) in &unit_test_entries {
        let node = unit_tests::build(entry, yf, &fixtures)?;
        unit_test_files.insert(node.unique_id.clone(), yf.clone());
        nodes.push(Box::new(node));
    }

    // Enabled / disabled, duplicates.
    manifest.nodes.reserve(nodes.len());
    for node in nodes {
        if !node.enabled() {
            manifest.disabled.insert(node.unique_id.clone(), node);
            continue;
        }
        if let Some(prev) = manifest.nodes.get(&node.unique_id) {
            return Err(duplicate_error(&node, prev));
        }
        manifest.nodes.insert(node.unique_id.clone(), node);
    }
    timer.lap("into manifest");
    check_duplicate_relations(&manifest)?;
    timer.lap("duplicate relations");

    for (entry, yf) in &exposure_entries {
        let e = exposure_from_entry(entry, yf)?;
        manifest.exposures.insert(e.unique_id.clone(), e);
    }

    manifest.restricted_packages = project
        .packages
        .iter()
        .filter(|p| p.project.restrict_access == Some(true))
        .map(|p| p.name.clone())
        .collect();
    resolve::link(&mut manifest)?;
    semantic::add_to_manifest(&mut manifest, &semantic_entries)?;
    resolve::link_exposure_metrics(&mut manifest)?;
    timer.lap("link refs");
    resolve::check_unit_test_inputs(&manifest, &|node, text| match unit_test_files
        .get(&node.unique_id)
    {
        Some(yf) => crate::project::yaml::locate_text(&yf.display_path, &yf.text, text),
        None => Location::file(&node.display_path),
    })?;
    timer.lap("unit test inputs");
    warnings.append(&mut manifest.warnings);
    manifest.warnings = warnings;
    cache.save_parse(&|id| manifest.nodes.contains_key(id) || manifest.disabled.contains_key(id));
    timer.lap("save render cache");
    Ok((manifest, jinja, cache))
}

fn take_first(mut errors: Vec<Error>) -> Option<Error> {
    if errors.is_empty() {
        return None;
    }
    let more = errors.len() - 1;
    let mut first = errors.swap_remove(0);
    if more > 0 {
        first = first.note(format!(
            "{more} more node(s) failed to parse; fix this one and run again"
        ));
    }
    Some(first)
}

fn sorted_patches<'a>(
    patches: &'a HashMap<(String, &'static str, String), Patch>,
) -> Vec<((String, &'static str, String), &'a Patch)> {
    let mut v: Vec<_> = patches.iter().map(|(k, p)| (k.clone(), p)).collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

fn quote_columns(node: Option<&Node>) -> bool {
    node.is_some_and(|n| {
        n.resource_type == ResourceType::Seed
            && n.config
                .get("quote_columns")
                .and_then(Json::as_bool)
                .unwrap_or(false)
    })
}

/// The Jinja runtime with every macro of the project and its packages.
fn build_jinja(project: &Project) -> Result<Jinja> {
    let mut macro_files = Vec::new();
    for pkg in &project.packages {
        for file in pkg.files.iter().filter(|f| f.kind == FileKind::Macro) {
            macro_files.push(MacroFile {
                package: &pkg.name,
                path: &file.path,
                display_path: pkg_display(project, pkg, file),
                contents: &file.contents,
            });
        }
    }
    let mut vars = HashMap::new();
    for pkg in &project.packages {
        vars.insert(pkg.name.clone(), Arc::new(project.vars_for(&pkg.name)));
    }
    let dispatch = project
        .root()
        .project
        .dispatch
        .iter()
        .map(|d| (d.macro_namespace.clone(), d.search_order.clone()))
        .collect();
    Jinja::new(JinjaConfig {
        root_package: project.root_name().to_string(),
        project_dir: project.dir.clone(),
        package_names: project.packages.iter().map(|p| p.name.clone()).collect(),
        vars,
        target: project.target.to_jinja_json(),
        dispatch,
        macro_files,
        flags: project.flags.clone(),
        query_comment: crate::jinja::query_comment::QueryComment::from_config(
            project
                .root()
                .project
                .query_comment
                .as_ref()
                .map(crate::project::yaml::to_json)
                .as_ref(),
        ),
    })
}

/// `{% docs %}` blocks of every package.
fn collect_docs(project: &Project) -> Result<IndexMap<String, DocBlock>> {
    let mut docs = IndexMap::new();
    for pkg in &project.packages {
        for file in pkg.files.iter().filter(|f| f.kind == FileKind::Docs) {
            let blocks = dialect::find_blocks(&file.contents, "docs").map_err(|(off, msg)| {
                let (line, col) = crate::error::line_col(&file.contents, off);
                Error::new(msg).at(Location::in_text(
                    pkg_display(project, pkg, file),
                    &file.contents,
                    line,
                    col,
                ))
            })?;
            for b in blocks {
                let uid = format!("doc.{}.{}", pkg.name, b.name);
                let block = DocBlock {
                    unique_id: uid.clone(),
                    name: b.name.clone(),
                    package_name: pkg.name.clone(),
                    path: file.resource_path.clone(),
                    original_file_path: file.path.clone(),
                    block_contents: b.body.trim().to_string(),
                };
                if docs.insert(uid, block).is_some() {
                    let (line, col) = crate::error::line_col(&file.contents, b.tag_offset);
                    return Err(Error::new(format!(
                        "two docs blocks are named '{}' in package '{}'",
                        b.name, pkg.name
                    ))
                    .at(Location::in_text(
                        pkg_display(project, pkg, file),
                        &file.contents,
                        line,
                        col,
                    )));
                }
            }
        }
    }
    Ok(docs)
}

/// A file's path as shown in messages.
pub fn pkg_display(project: &Project, pkg: &Package, file: &SourceFile) -> PathBuf {
    if pkg.is_root {
        PathBuf::from(&file.path)
    } else {
        let rel = pkg.dir.strip_prefix(&project.dir).unwrap_or(&pkg.dir);
        rel.join(&file.path)
    }
}

fn file_stem(resource_path: &str) -> String {
    Path::new(resource_path)
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default()
}

pub fn sha256(text: &str) -> String {
    let mut h = Sha256::new();
    h.update(text.as_bytes());
    format!("{:x}", h.finalize())
}

fn new_node(
    project: &Project,
    pkg: &Package,
    file: &SourceFile,
    rt: ResourceType,
    name: &str,
    raw_code: String,
    line: usize,
) -> Node {
    // dbt files analyses under an `analysis/` prefix in their path and fqn.
    let resource_path = match rt {
        ResourceType::Analysis => format!("analysis/{}", file.resource_path),
        _ => file.resource_path.clone(),
    };
    let mut fqn = vec![pkg.name.clone()];
    let parent = Path::new(&resource_path).parent();
    if let Some(p) = parent {
        fqn.extend(
            p.components()
                .map(|c| c.as_os_str().to_string_lossy().to_string())
                .filter(|s| !s.is_empty()),
        );
    }
    fqn.push(name.to_string());
    let checksum = match rt {
        ResourceType::Seed => seed_checksum(&file.abs_path, &file.path),
        _ => sha256(&raw_code),
    };
    Node {
        unique_id: format!("{}.{}.{}", rt.as_str(), pkg.name, name),
        package_name: pkg.name.clone(),
        name: name.to_string(),
        path: resource_path,
        original_file_path: file.path.clone(),
        display_path: pkg_display(project, pkg, file),
        fqn,
        raw_code,
        raw_code_line: line,
        checksum,
        ..Node::new(rt)
    }
}

/// dbt hashes seeds by contents, or by path when they are large.
fn seed_checksum(path: &Path, rel: &str) -> String {
    match std::fs::metadata(path) {
        Ok(m) if m.len() <= 1_000_000 => std::fs::read_to_string(path)
            .map(|text| sha256(text.trim()))
            .unwrap_or_default(),
        _ => rel.to_string(),
    }
}

/// Snapshot blocks of a file: one node each.
fn snapshot_nodes(project: &Project, pkg: &Package, file: &SourceFile) -> Result<Vec<Node>> {
    let blocks = dialect::find_blocks(&file.contents, "snapshot").map_err(|(off, msg)| {
        let (line, col) = crate::error::line_col(&file.contents, off);
        Error::new(msg).at(Location::in_text(
            pkg_display(project, pkg, file),
            &file.contents,
            line,
            col,
        ))
    })?;
    Ok(blocks
        .into_iter()
        .map(|b| {
            let (line, _) = crate::error::line_col(&file.contents, b.body_offset);
            let mut node = new_node(
                project,
                pkg,
                file,
                ResourceType::Snapshot,
                &b.name,
                b.body,
                line,
            );
            // dbt's fqn for a snapshot block names its file too, and its
            // checksum is the whole file's.
            let at = node.fqn.len() - 1;
            node.fqn.insert(at, file_stem(&file.resource_path));
            node.checksum = sha256(file.contents.trim());
            node
        })
        .collect())
}

/// Defaults → the package's own dbt_project.yml → the root's → properties YAML.
fn base_config(project: &Project, node: &Node, props: Option<&NodeProperties>) -> NodeConfig {
    let rt = node.resource_type.as_str();
    let mut c = NodeConfig::new(rt);
    let own = project.package(&node.package_name);
    if let Some(pkg) = own.filter(|p| !p.is_root) {
        c.merge(&config::from_tree(pkg.trees.for_type(rt), &node.fqn));
    }
    c.merge(&config::from_tree(
        project.root().trees.for_type(rt),
        &node.fqn,
    ));
    if let Some(p) = props {
        c.merge(&p.config);
        // Top-level meta / tags / docs in properties are configs too.
        if !p.meta.is_empty() {
            c.merge_key("meta", Json::Object(p.meta.clone()));
        }
        let tags = p.tags.to_vec();
        if !tags.is_empty() {
            c.merge_key("tags", Json::from(tags));
        }
        if let Some(d) = &p.docs {
            c.merge_key("docs", d.clone());
        }
        if let Some(a) = &p.access {
            c.insert("access", Json::from(a.clone()));
        }
        if let Some(g) = &p.group {
            c.insert("group", Json::from(g.clone()));
        }
    }
    c
}

/// Description, columns and patch path from properties YAML.
fn apply_patch(
    node: &mut Node,
    props: &NodeProperties,
    file: &YamlFile,
    jinja: &Arc<Jinja>,
) -> Result<()> {
    node.description = render_description(
        jinja,
        props.description.as_deref().unwrap_or(""),
        file,
        &node.package_name,
    )?;
    node.patch_path = Some(format!("{}://{}", file.package, file.original_file_path));
    node.columns = columns(&props.columns, file, jinja, &node.package_name)?;
    node.constraints = props.constraints.clone();
    if node.version.is_none() {
        node.latest_version = props.latest_version.clone();
    }
    node.time_spine = props.time_spine.clone().filter(|t| !t.is_null());
    node.deprecation_date = props
        .deprecation_date
        .as_ref()
        .filter(|d| !d.is_null())
        .map(crate::manifest::versions::text);
    Ok(())
}

/// Columns from properties YAML.
pub fn columns(
    cols: &[ColumnProperties],
    file: &YamlFile,
    jinja: &Arc<Jinja>,
    package: &str,
) -> Result<IndexMap<String, Column>> {
    let mut out = IndexMap::new();
    for c in cols {
        let mut meta = c.meta.clone();
        if let Some(Json::Object(m)) = c.config.get("meta") {
            meta.extend(m.clone());
        }
        let mut tags = c.tags.to_vec();
        match c.config.get("tags") {
            Some(Json::String(s)) => tags.push(s.clone()),
            list => tags.extend(config::strings(list)),
        }
        out.insert(
            c.name.clone(),
            Column {
                name: c.name.clone(),
                description: render_description(
                    jinja,
                    c.description.as_deref().unwrap_or(""),
                    file,
                    package,
                )?,
                data_type: c.data_type.clone(),
                meta,
                tags,
                quote: c.quote,
                constraints: c.constraints.clone(),
                granularity: c.granularity.clone(),
            },
        );
    }
    Ok(out)
}

/// Renders `{{ doc('x') }}` in a description.
pub fn render_description(
    jinja: &Arc<Jinja>,
    text: &str,
    file: &YamlFile,
    package: &str,
) -> Result<String> {
    if !text.contains("{{") && !text.contains("{%") {
        return Ok(text.to_string());
    }
    let scope = Arc::new(Scope::new(jinja.clone(), false));
    jinja::render_in_scope(&scope, package, "description", text).map_err(|e| {
        Error::new(format!(
            "could not render a description: {}",
            errors::describe(&e)
        ))
        .at(crate::project::yaml::locate_text(
            &file.display_path,
            &file.text,
            text.lines().next().unwrap_or(text),
        ))
    })
}

/// Renders a node's SQL with `execute = false`, recording what it asks for.
/// Learns a node's refs, sources and in-file config: from the render cache
/// when nothing the last render read has changed, else by rendering it.
fn render_for_parse(jinja: &Arc<Jinja>, cache: &RenderCache, node: &mut Node) -> Result<()> {
    let key = crate::render_cache::key::parse(node);
    let result = match cache.parse_lookup(jinja, node, key) {
        Some(r) => r,
        None => {
            let (result, trace) = render_node_for_parse(jinja, node)?;
            cache.parse_store(jinja, &node.unique_id, key, trace, result.clone());
            result
        }
    };
    let config_call: crate::project::config::Config =
        serde_json::from_str(&result.config_call).unwrap_or_default();
    node.config.merge(&config_call);
    node.config_call = config_call;
    node.refs = result.refs;
    node.sources = result.sources;
    node.depends_on_macros = result.macros;
    node.vars_used = serde_json::from_str(&result.vars_used).unwrap_or_default();
    node.env_vars_used = result.env_vars_used;
    Ok(())
}

/// Renders a node with `execute = false`, recording what it asks for.
fn render_node_for_parse(
    jinja: &Arc<Jinja>,
    node: &Node,
) -> Result<(ParseResult, crate::jinja::context::Trace)> {
    let this = crate::jinja::relation::Relation::new(
        &jinja
            .target
            .get_attr("database")
            .map(|v| v.to_string())
            .unwrap_or_default(),
        &jinja
            .target
            .get_attr("schema")
            .map(|v| v.to_string())
            .unwrap_or_default(),
        &node.name,
    );
    // `model` as far as parsing knows it, built only if the template reads it.
    let (unique_id, name, package, path) = (
        node.unique_id.clone(),
        node.name.clone(),
        node.package_name.clone(),
        node.path.clone(),
    );
    let (resource_type, original_file_path, fqn, config) = (
        node.resource_type.as_str(),
        node.original_file_path.clone(),
        node.fqn.clone(),
        node.config.clone(),
    );
    // The file's own config() is not read yet: any model may be a microbatch one.
    let microbatch = node.resource_type == ResourceType::Model;
    let model_json = move || {
        let mut model = serde_json::json!({
            "unique_id": unique_id,
            "name": name,
            "resource_type": resource_type,
            "package_name": package,
            "path": path,
            "original_file_path": original_file_path,
            "fqn": fqn,
            "config": config,
        });
        if microbatch {
            model["batch"] = crate::exec::microbatch::no_batch();
        }
        model
    };
    let scope = Arc::new(Scope::new(jinja.clone(), false).with_node(NodeScope::new(
        node.unique_id.clone(),
        node.name.clone(),
        node.resource_type.as_str(),
        node.package_name.clone(),
        Some(this),
        node.config.clone(),
        Box::new(model_json),
    )));
    let padded;
    let source: &str = if node.raw_code_line > 1 {
        padded = format!("{}{}", "\n".repeat(node.raw_code_line - 1), node.raw_code);
        &padded
    } else {
        &node.raw_code
    };
    let rewritten = dialect::rewrite(source);
    let name = node.display_path.to_string_lossy().to_string();
    let what = format!("in {} {}", node.resource_type.as_str(), node.name);
    let result = jinja
        .compile(&name, &rewritten)
        .and_then(|t| t.render(Ctx::root(scope.clone(), &node.package_name)));
    if let Err(e) = result {
        return Err(errors::to_error(
            &e,
            jinja,
            &what,
            &name,
            source,
            &node.display_path,
        ));
    }
    let rec = scope.take_recorded();
    let result = ParseResult {
        refs: rec.refs,
        sources: rec.sources,
        config_call: serde_json::to_string(&rec.config).unwrap_or_default(),
        macros: rec.macros,
        vars_used: serde_json::to_string(&rec.vars).unwrap_or_default(),
        env_vars_used: rec.env_vars,
    };
    Ok((result, rec.trace))
}

/// Tags, meta and hooks in their final places once all configs are merged.
pub fn finish_config(node: &mut Node) {
    let tags = config::strings(node.config.get("tags"));
    for t in tags {
        if !node.tags.contains(&t) {
            node.tags.push(t);
        }
    }
    if let Some(Json::Object(m)) = node.config.get("meta") {
        node.meta = m.clone();
    }
    if let Some(a) = node.config.get("access").and_then(Json::as_str) {
        node.access = a.to_string();
    }
    node.group = node
        .config
        .get("group")
        .and_then(Json::as_str)
        .map(str::to_string);
    // Hooks as dbt writes them: {sql, transaction, index}.
    for hook in ["pre-hook", "post-hook"] {
        let has_hooks = node
            .config
            .get(hook)
            .and_then(Json::as_array)
            .is_some_and(|a| !a.is_empty());
        if !has_hooks {
            continue;
        }
        if let Some(Json::Array(items)) = node.config.get_mut(hook) {
            for item in items.iter_mut() {
                if let Json::String(sql) = item {
                    *item = serde_json::json!({"sql": sql, "transaction": true, "index": null});
                } else if let Json::Object(o) = item {
                    o.entry("transaction").or_insert(Json::Bool(true));
                    o.entry("index").or_insert(Json::Null);
                }
            }
        }
    }
}

fn sources_from_entry(
    project: &Project,
    entry: &Json,
    yf: &Arc<YamlFile>,
) -> Result<Vec<SourceDef>> {
    let sp: properties::SourceProperties =
        properties::entry(&yf.display_path, &yf.text, "source", entry)?;
    let renderer = &project.properties_renderer;
    let render = |s: &Option<String>| -> Result<Option<String>> {
        match s {
            Some(v) => Ok(renderer
                .render_string(v, &yf.display_path, &yf.text)?
                .as_str()
                .map(str::to_string)),
            None => Ok(None),
        }
    };
    let pkg = &yf.package;
    let database = render(&sp.database)?.unwrap_or_else(|| project.target.database.clone());
    let schema = render(&sp.schema)?.unwrap_or_else(|| sp.name.clone());
    let mut out = Vec::new();
    let yaml_dir_parts: Vec<String> = Path::new(&yf.original_file_path)
        .parent()
        .map(|p| {
            p.components()
                .skip(1)
                .map(|c| c.as_os_str().to_string_lossy().to_string())
                .collect()
        })
        .unwrap_or_default();
    for t in &sp.tables {
        let mut fqn = vec![pkg.clone()];
        fqn.extend(yaml_dir_parts.iter().cloned());
        fqn.push(sp.name.clone());
        fqn.push(t.name.clone());
        let mut cfg = config::defaults("source");
        if let Some(own) = project.package(pkg).filter(|p| !p.is_root) {
            config::merge(&mut cfg, &config::from_tree(&own.trees.sources, &fqn));
        }
        config::merge(
            &mut cfg,
            &config::from_tree(&project.root().trees.sources, &fqn),
        );
        config::merge(&mut cfg, &sp.config);
        config::merge(&mut cfg, &t.config);
        let freshness = t
            .freshness
            .clone()
            .or_else(|| t.config.get("freshness").cloned())
            .or_else(|| sp.freshness.clone())
            .or_else(|| sp.config.get("freshness").cloned())
            .unwrap_or(Json::Null);
        let mut meta = sp.meta.clone();
        meta.extend(t.meta.clone());
        if let Some(Json::Object(m)) = cfg.get("meta") {
            meta.extend(m.clone());
        }
        let mut tags = sp.tags.to_vec();
        tags.extend(t.tags.to_vec());
        tags.extend(config::strings(cfg.get("tags")));
        tags.dedup();
        let mut quoting = sp.quoting.clone();
        quoting.extend(t.quoting.clone());
        let identifier = render(&t.identifier)?.unwrap_or_else(|| t.name.clone());
        let jinja_less = |s: &Option<String>| s.clone().unwrap_or_default();
        out.push(SourceDef {
            unique_id: format!("source.{pkg}.{}.{}", sp.name, t.name),
            source_name: sp.name.clone(),
            name: t.name.clone(),
            identifier,
            database: database.clone(),
            schema: schema.clone(),
            package_name: pkg.clone(),
            path: yf.original_file_path.clone(),
            original_file_path: yf.original_file_path.clone(),
            display_path: yf.display_path.clone(),
            fqn,
            description: jinja_less(&t.description),
            source_description: jinja_less(&sp.description),
            loader: sp.loader.clone().unwrap_or_default(),
            // dbt 1.10 moved these under `config:`; both places work.
            loaded_at_field: t
                .loaded_at_field
                .clone()
                .or_else(|| sp.loaded_at_field.clone())
                .or_else(|| {
                    cfg.get("loaded_at_field")
                        .and_then(Json::as_str)
                        .map(str::to_string)
                }),
            loaded_at_query: t
                .loaded_at_query
                .clone()
                .or_else(|| sp.loaded_at_query.clone())
                .or_else(|| {
                    cfg.get("loaded_at_query")
                        .and_then(Json::as_str)
                        .map(str::to_string)
                }),
            freshness,
            quoting,
            columns: IndexMap::new(),
            meta,
            source_meta: sp.meta.clone(),
            tags,
            config: cfg,
        });
        let last = out.last_mut().expect("just pushed");
        last.columns = columns_plain(&t.columns);
    }
    Ok(out)
}

fn columns_plain(cols: &[ColumnProperties]) -> IndexMap<String, Column> {
    cols.iter()
        .map(|c| {
            (
                c.name.clone(),
                Column {
                    name: c.name.clone(),
                    description: c.description.clone().unwrap_or_default(),
                    data_type: c.data_type.clone(),
                    meta: c.meta.clone(),
                    tags: c.tags.to_vec(),
                    quote: c.quote,
                    constraints: c.constraints.clone(),
                    granularity: c.granularity.clone(),
                },
            )
        })
        .collect()
}

fn exposure_from_entry(entry: &Json, yf: &Arc<YamlFile>) -> Result<Exposure> {
    let ep: properties::ExposureProperties =
        properties::entry(&yf.display_path, &yf.text, "exposure", entry)?;
    let mut refs = Vec::new();
    let mut sources = Vec::new();
    let mut metrics = Vec::new();
    for dep in &ep.depends_on {
        match resolve::parse_dependency(dep) {
            Some(resolve::Dependency::Ref(r)) => refs.push(r),
            Some(resolve::Dependency::Source(s, t)) => sources.push((s, t)),
            None if dep.trim_start().starts_with("metric") => metrics.push(dep.clone()),
            None => {
                return Err(Error::new(format!(
                "exposure '{}' depends on `{dep}`, which is not ref('...'), source('...', '...') or metric('...')",
                ep.name
            ))
                .at(crate::project::yaml::locate_text(
                    &yf.display_path,
                    &yf.text,
                    dep,
                )))
            }
        }
    }
    let mut fqn = vec![yf.package.clone()];
    fqn.extend(
        Path::new(&yf.original_file_path)
            .parent()
            .map(|p| {
                p.components()
                    .skip(1)
                    .map(|c| c.as_os_str().to_string_lossy().to_string())
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default(),
    );
    fqn.push(ep.name.clone());
    let mut cfg = config::defaults("exposure");
    config::merge(&mut cfg, &ep.config);
    Ok(Exposure {
        unique_id: format!("exposure.{}.{}", yf.package, ep.name),
        name: ep.name.clone(),
        package_name: yf.package.clone(),
        path: yf.original_file_path.clone(),
        original_file_path: yf.original_file_path.clone(),
        fqn,
        exposure_type: ep.exposure_type.unwrap_or_else(|| "dashboard".into()),
        owner: ep.owner.unwrap_or(Json::Null),
        description: ep.description.unwrap_or_default(),
        label: ep.label,
        maturity: ep.maturity,
        url: ep.url,
        refs,
        sources,
        metrics,
        depends_on_nodes: Vec::new(),
        tags: ep.tags.to_vec(),
        meta: ep.meta,
        config: cfg,
    })
}

fn duplicate_error(node: &Node, prev: &Node) -> Error {
    Error::new(format!(
        "two {}s are named '{}' in package '{}'",
        node.resource_type.as_str(),
        node.name,
        node.package_name
    ))
    .at(Location::file(&node.display_path))
    .note(format!("the other is {}", prev.display_path.display()))
    .note("node names must be unique within a package: rename one of the files")
}

/// Two nodes that would build the same relation is an error, as in dbt.
fn check_duplicate_relations(manifest: &Manifest) -> Result<()> {
    let mut seen: HashMap<String, &Node> = HashMap::new();
    for node in manifest.nodes.values().filter(|n| n.is_relational()) {
        let rel = node.relation().rendered();
        let rel = if crate::jinja::relation::names_ignore_case() {
            rel.to_lowercase()
        } else {
            rel
        };
        if let Some(prev) = seen.insert(rel.clone(), node) {
            return Err(Error::new(format!(
                "{} and {} would both build {rel}",
                prev.unique_id, node.unique_id
            ))
            .at(Location::file(&node.display_path))
            .note("give one of them a different alias or schema"));
        }
    }
    Ok(())
}
