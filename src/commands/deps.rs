//! `kiln deps`: install packages (see src/deps/).

use crate::cli::ProjectArgs;
use crate::error::Result;
use crate::output;

pub fn run(args: &ProjectArgs) -> Result<i32> {
    let (dir, paths) = crate::project::dir_and_paths(args)?;
    let n = crate::deps::install(&dir, &paths.packages_install)?;
    output::info(&format!(
        "Installed {n} package(s) into {}",
        paths.packages_install
    ));
    Ok(0)
}
