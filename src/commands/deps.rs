//! `kiln deps`: install packages (see src/deps/).

use std::path::Path;

use crate::cli::ProjectArgs;
use crate::error::Result;
use crate::output;
use crate::project::dbt_project::DbtProject;

pub fn run(args: &ProjectArgs) -> Result<i32> {
    let dir = crate::project::project_dir(args)?;
    let project = DbtProject::load(&dir, Path::new("dbt_project.yml"))?;
    let n = crate::deps::install(&dir, &project.paths().packages_install)?;
    output::info(&format!(
        "Installed {n} package(s) into {}",
        project.paths().packages_install
    ));
    Ok(0)
}
