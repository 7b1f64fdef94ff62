//! Embedded DuckDB, opened as the profile's target describes.

use std::path::Path;

use crate::error::{Error, Result};
use crate::project::Target;

/// Opens the target's database and runs a trivial query; returns a short
/// description of what was opened.
pub fn check_connection(target: &Target, project_dir: &Path) -> Result<String> {
    let path = target.duckdb_path(project_dir);
    let conn = match &path {
        Some(p) => {
            if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
                if !dir.is_dir() {
                    return Err(Error::new(format!(
                        "the directory of the database file {} does not exist",
                        p.display()
                    ))
                    .note("create it, or change `path:` in profiles.yml"));
                }
            }
            duckdb::Connection::open(p)
        }
        None => duckdb::Connection::open_in_memory(),
    }
    .map_err(|e| Error::new(format!("could not open DuckDB: {e}")))?;
    let version: String = conn
        .query_row("select version()", [], |r| r.get(0))
        .map_err(|e| Error::new(format!("DuckDB did not answer a query: {e}")))?;
    Ok(match path {
        Some(p) => format!("DuckDB {version} at {}", p.display()),
        None => format!("DuckDB {version} (in memory)"),
    })
}
