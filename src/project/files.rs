//! Finding a package's resource files on disk (walkdir) and reading them in parallel.

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use walkdir::WalkDir;

use crate::error::{Error, Result};
use crate::project::dbt_project::Paths;

/// What a file is to dbt, decided by the resource path it sits under and its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileKind {
    Model,
    Seed,
    Snapshot,
    Analysis,
    /// A .sql file under test-paths (not tests/generic): a singular data test.
    SingularTest,
    /// A .sql file under macro-paths or tests/generic/.
    Macro,
    /// A .md file under docs-paths, holding `{% docs %}` blocks.
    Docs,
    /// A .yml/.yaml properties file.
    Properties,
    /// A fixture file for unit tests (tests/fixtures/*.csv|sql).
    Fixture,
    /// A Python model (models/*.py).
    PythonModel,
}

/// One resource file of a package.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub kind: FileKind,
    /// Path relative to the package directory, `/`-separated (original_file_path).
    pub path: String,
    /// Path relative to its resource directory (dbt's `path`).
    pub resource_path: String,
    /// The resource directory it was found under (e.g. `models`).
    pub resource_dir: String,
    pub abs_path: PathBuf,
    /// Contents; empty for seeds (CSV files are read by the database, not by kiln).
    pub contents: String,
}

/// What a file under one kind of resource path is, from its extension and
/// its path relative to that resource directory.
type Classify = fn(&str, &str) -> Option<FileKind>;

fn yml(ext: &str) -> bool {
    ext == "yml" || ext == "yaml"
}

fn sql_or_properties(ext: &str, kind: FileKind) -> Option<FileKind> {
    match ext {
        "sql" => Some(kind),
        e if yml(e) => Some(FileKind::Properties),
        _ => None,
    }
}

fn classify_test_path(ext: &str, rel: &str) -> Option<FileKind> {
    let generic = rel.starts_with("generic/");
    let fixture = rel.starts_with("fixtures/");
    match ext {
        "sql" if generic => Some(FileKind::Macro),
        "sql" | "csv" if fixture => Some(FileKind::Fixture),
        "sql" => Some(FileKind::SingularTest),
        e if yml(e) => Some(FileKind::Properties),
        _ => None,
    }
}

/// Every resource file of the package at `dir`, with contents read.
pub fn discover(dir: &Path, paths: &Paths) -> Result<Vec<SourceFile>> {
    let roles: [(&[String], Classify); 7] = [
        (&paths.models, |e, _| match e {
            "py" => Some(FileKind::PythonModel),
            e => sql_or_properties(e, FileKind::Model),
        }),
        (&paths.seeds, |e, _| match e {
            "csv" => Some(FileKind::Seed),
            e if yml(e) => Some(FileKind::Properties),
            _ => None,
        }),
        (&paths.snapshots, |e, _| {
            sql_or_properties(e, FileKind::Snapshot)
        }),
        (&paths.analyses, |e, _| {
            sql_or_properties(e, FileKind::Analysis)
        }),
        (&paths.tests, classify_test_path),
        (&paths.macros, |e, _| sql_or_properties(e, FileKind::Macro)),
        (&paths.docs, |e, _| (e == "md").then_some(FileKind::Docs)),
    ];
    // docs-paths default to every other resource path: walk each directory
    // once (tens of thousands of files in big projects), classifying its
    // files for every role it plays.
    let mut by_dir: indexmap::IndexMap<&str, Vec<Classify>> = indexmap::IndexMap::new();
    for (dirs, classify) in roles {
        for rdir in dirs {
            by_dir.entry(rdir.as_str()).or_default().push(classify);
        }
    }
    let mut found: Vec<SourceFile> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (rdir, classifiers) in by_dir {
        let root = dir.join(rdir);
        if !root.is_dir() {
            continue;
        }
        let walker = WalkDir::new(&root)
            .follow_links(true)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
        for entry in walker.flatten() {
            if !entry.file_type().is_file() {
                continue;
            }
            let abs = entry.path();
            let Ok(rel_to_res) = abs.strip_prefix(&root) else {
                continue;
            };
            let resource_path = slash_path(rel_to_res);
            let ext = abs
                .extension()
                .and_then(|e| e.to_str())
                .unwrap_or("")
                .to_ascii_lowercase();
            for classify in &classifiers {
                let Some(kind) = classify(&ext, &resource_path) else {
                    continue;
                };
                let path = slash_path(abs.strip_prefix(dir).unwrap_or(abs));
                if !seen.insert((kind, path.clone())) {
                    continue;
                }
                found.push(SourceFile {
                    kind,
                    path,
                    resource_path: resource_path.clone(),
                    resource_dir: rdir.trim_end_matches('/').to_string(),
                    abs_path: abs.to_path_buf(),
                    contents: String::new(),
                });
            }
        }
    }
    // A properties file under two resource paths is still one file.
    let mut seen_props = std::collections::HashSet::new();
    found.retain(|f| f.kind != FileKind::Properties || seen_props.insert(f.path.clone()));

    found
        .par_iter_mut()
        .filter(|f| f.kind != FileKind::Seed)
        .try_for_each(|f| -> Result<()> {
            f.contents = std::fs::read_to_string(&f.abs_path)
                .map_err(|e| Error::io("read", &f.abs_path, e))?;
            Ok(())
        })?;
    Ok(found)
}

/// A relative path with `/` separators, as dbt writes paths in its artifacts.
pub fn slash_path(p: &Path) -> String {
    p.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}
