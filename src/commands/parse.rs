//! `kiln parse`: read the whole project and write target/manifest.json.

use crate::cli::ProjectArgs;
use crate::commands::Session;
use crate::error::Result;
use crate::output;

pub fn run(args: &ProjectArgs) -> Result<i32> {
    let session = Session::load(args)?;
    let mut timer = output::Timer::start();
    session.write_manifest(None)?;
    timer.lap("write manifest");
    output::info(&format!(
        "Parsed {} in {:.2}s; wrote {}",
        session.counts(),
        session.started.elapsed().as_secs_f64(),
        session.project.target_dir().join("manifest.json").display()
    ));
    crate::commands::free_at_exit(session);
    Ok(0)
}
