//! `kiln debug`: checks dbt_project.yml, profiles.yml and the connection,
//! one by one, saying what is wrong and where.

use crate::cli::ProjectArgs;
use crate::error::Result;
use crate::output;
use crate::project::{self, DbtProject, Project};

pub fn run(args: &ProjectArgs) -> Result<i32> {
    output::info(&format!(
        "kiln {} (compatible with dbt {})",
        env!("CARGO_PKG_VERSION"),
        project::DBT_VERSION
    ));
    let dir = project::project_dir(args)?;
    output::info(&format!("project directory: {}", dir.display()));
    let mut failed = 0;
    let mut check = |what: &str, r: std::result::Result<String, crate::Error>| match r {
        Ok(detail) => output::info(&format!("  {what}: OK ({detail})")),
        Err(e) => {
            failed += 1;
            output::info(&format!("  {what}: FAILED"));
            output::error(&e.to_string());
        }
    };
    let dbt_project = DbtProject::load(&dir, std::path::Path::new("dbt_project.yml"));
    let project_ok = dbt_project.is_ok();
    check(
        "dbt_project.yml",
        dbt_project.map(|p| format!("project '{}'", p.name)),
    );
    if !project_ok {
        return Ok(1);
    }
    let loaded = Project::load(args);
    let target = loaded.as_ref().ok().map(|p| p.target.clone());
    check(
        "profiles.yml",
        loaded.map(|p| {
            format!(
                "{}: profile '{}', target '{}', schema '{}', {} thread(s)",
                p.target.profiles_path.display(),
                p.target.profile_name,
                p.target.name,
                p.target.schema,
                p.target.threads
            )
        }),
    );
    if let Some(target) = target {
        check("connection", crate::adapter::check_connection(&target));
    }
    if failed == 0 {
        output::info("All checks passed!");
        Ok(0)
    } else {
        output::info(&format!("{failed} check(s) failed."));
        Ok(1)
    }
}
