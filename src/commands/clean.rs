//! `kiln clean`: delete the clean-targets of dbt_project.yml.

use std::path::{Component, Path};

use crate::cli::ProjectArgs;
use crate::error::{Error, Location, Result};
use crate::output;

pub fn run(args: &ProjectArgs) -> Result<i32> {
    // The project directory comes back canonical, so paths compare to it.
    let (root, paths) = crate::project::dir_and_paths(args)?;
    let dir = &root;
    // Check every target before deleting any, so a bad entry deletes nothing.
    let mut doomed = Vec::new();
    for target in paths.clean_targets {
        let path = dir.join(&target);
        // Judged by the words first (so a missing `../x` is still refused),
        // then by where the path really leads (symlinks).
        let inside_by_name = stays_inside(&target);
        let resolved = match path.canonicalize() {
            Ok(p) => p,
            Err(_) if inside_by_name => continue, // already gone
            Err(_) => root.join(&target),
        };
        if !inside_by_name || resolved == root || !resolved.starts_with(&root) {
            return Err(Error::new(format!(
                "clean-targets entry `{target}` is {}; kiln clean only deletes paths inside the project",
                if resolved == root { "the project directory itself" } else { "outside the project" }
            ))
            .at(Location::file("dbt_project.yml"))
            .note("list directories under the project, such as target or dbt_packages"));
        }
        doomed.push((target, resolved));
    }
    for (target, path) in doomed {
        let removed = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        removed.map_err(|e| Error::new(format!("could not delete {target}: {e}")))?;
        output::info(&format!("Deleted {target}"));
    }
    output::info("Finished cleaning");
    Ok(0)
}

/// Does a relative path stay below its base, by its components alone?
fn stays_inside(target: &str) -> bool {
    let mut depth: i32 = 0;
    for part in Path::new(target).components() {
        match part {
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::ParentDir => depth -= 1,
            Component::RootDir | Component::Prefix(_) => return false,
        }
        if depth < 0 {
            return false;
        }
    }
    depth > 0
}
