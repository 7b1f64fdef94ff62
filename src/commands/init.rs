//! `kiln init NAME`: a new project from the scaffold in templates/init/.

use std::path::PathBuf;

use crate::cli::InitArgs;
use crate::error::{Error, Result};
use crate::output;
use crate::project::dbt_project::is_identifier;
use crate::templates;

/// Placeholder in scaffold files replaced by the project's name.
const NAME_PLACEHOLDER: &str = "__project_name__";

pub fn run(args: &InitArgs) -> Result<i32> {
    if !is_identifier(&args.name) {
        return Err(Error::new(format!("'{}' is not a valid project name", args.name))
            .note("use letters, digits and underscores, starting with a letter, e.g. `kiln init my_shop`"));
    }
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(&args.name));
    if dir.exists()
        && std::fs::read_dir(&dir)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        return Err(
            Error::new(format!("{} already exists and is not empty", dir.display()))
                .note("choose another name, or pass --dir with an empty or new directory"),
        );
    }
    for (rel, contents) in templates::init_scaffold() {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io("create", parent, e))?;
        }
        std::fs::write(&path, contents.replace(NAME_PLACEHOLDER, &args.name))
            .map_err(|e| Error::io("write", &path, e))?;
    }
    output::info(&format!(
        "Created project '{}' in {}",
        args.name,
        dir.display()
    ));
    output::info(&format!("Next: cd {} && kiln debug", dir.display()));
    Ok(0)
}
