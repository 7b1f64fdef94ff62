//! Files a warehouse writes for kiln (dbt-duckdb's external models): a new
//! version is written beside the old one, then moved into place, so a
//! failure leaves the previous file for its readers.

use std::path::{Path, PathBuf};

/// Replaces `to` (a file or a directory of partitions) with `from`. A file
/// is replaced in one rename; a directory through a backup name, removed
/// once the new one is in place.
pub fn move_into_place(from: &Path, to: &Path) -> Result<(), String> {
    let fail = |what: &str, e: std::io::Error| format!("could not {what} {}: {e}", to.display());
    if let Some(dir) = to.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| fail("create the directory of", e))?;
    }
    if to.is_dir() {
        let backup = with_suffix(to, ".kiln-old");
        let _ = std::fs::remove_dir_all(&backup);
        std::fs::rename(to, &backup).map_err(|e| fail("move aside", e))?;
        if let Err(e) = std::fs::rename(from, to) {
            let _ = std::fs::rename(&backup, to);
            return Err(fail("replace", e));
        }
        let _ = std::fs::remove_dir_all(&backup);
        return Ok(());
    }
    std::fs::rename(from, to).map_err(|e| fail("replace", e))
}

/// Makes way for a new version at `path` (a scratch name beside the real
/// one): its directory exists, and nothing is left there from a failed run.
pub fn prepare_write(path: &Path) -> Result<(), String> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("could not create directory {}: {e}", dir.display()))?;
    }
    let gone = if path.is_dir() {
        std::fs::remove_dir_all(path)
    } else if path.exists() {
        std::fs::remove_file(path)
    } else {
        Ok(())
    };
    gone.map_err(|e| format!("could not remove {}: {e}", path.display()))
}

/// `path` with `suffix` added to its last component.
pub fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_files_and_directories() {
        let dir = tempfile::tempdir().unwrap();
        let (new, old) = (dir.path().join("new.csv"), dir.path().join("out/m.csv"));
        std::fs::write(&new, "2").unwrap();
        move_into_place(&new, &old).unwrap();
        std::fs::write(&new, "3").unwrap();
        move_into_place(&new, &old).unwrap();
        assert_eq!(std::fs::read_to_string(&old).unwrap(), "3");
        let (new_dir, old_dir) = (dir.path().join("p.tmp"), dir.path().join("p"));
        for v in ["a", "b"] {
            std::fs::create_dir_all(new_dir.join("k=1")).unwrap();
            std::fs::write(new_dir.join("k=1/data.csv"), v).unwrap();
            move_into_place(&new_dir, &old_dir).unwrap();
        }
        assert_eq!(
            std::fs::read_to_string(old_dir.join("k=1/data.csv")).unwrap(),
            "b"
        );
        assert!(!dir.path().join("p.kiln-old").exists());
    }
}
