//! Getting one package onto disk: copy a local directory, clone a git
//! repository (the git binary), or unpack a tarball (downloaded with the
//! curl binary, or a local file). Each is staged next to dbt_packages/<name> and moved into place,
//! so a failure leaves no half-installed package.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value as Json;

use super::{field, hub, version_constraints, Locked};
use crate::error::{Error, Result};

/// Written into each package kiln installs: the lock entry it came from.
pub const MARKER: &str = ".kiln-package.json";

/// Installs one packages.yml / package-lock.yml entry; returns the
/// package's name, its directory and what to lock.
pub fn install(entry: &Json, base: &Path, install_dir: &Path) -> Result<(String, PathBuf, Locked)> {
    if let Some(found) = already_installed(entry, install_dir) {
        return Ok(found);
    }
    let staging = tempfile::Builder::new()
        .prefix(".kiln-staging-")
        .tempdir_in(install_dir)
        .map_err(|e| Error::io("create a directory in", install_dir, e))?;
    let (src, locked) = if let Some(path) = field(entry, "local") {
        let from = base.join(path);
        if !from.is_dir() {
            return Err(Error::new(format!(
                "local package `{path}` is not a directory ({})",
                from.display()
            )));
        }
        let to = staging.path().join("pkg");
        copy_tree(&from, &to)?;
        (
            to,
            Locked::Local {
                path: path.to_string(),
            },
        )
    } else if let Some(url) = field(entry, "git") {
        let clone = staging.path().join("clone");
        git(&["clone", "--quiet", url, &clone.to_string_lossy()], None)
            .map_err(|e| Error::new(format!("could not clone {url}: {e}")))?;
        if let Some(rev) = entry.get("revision").map(super::json_text) {
            git(&["checkout", "--quiet", &rev], Some(&clone))
                .map_err(|e| Error::new(format!("{url} has no revision `{rev}`: {e}")))?;
        }
        let sha = git(&["rev-parse", "HEAD"], Some(&clone))?;
        let _ = std::fs::remove_dir_all(clone.join(".git"));
        let sub = field(entry, "subdirectory").map(str::to_string);
        let src = sub
            .as_ref()
            .map(|s| clone.join(s))
            .unwrap_or_else(|| clone.clone());
        (
            src,
            Locked::Git {
                url: url.to_string(),
                revision: sha,
                subdirectory: sub,
            },
        )
    } else if let Some(url) = field(entry, "tarball") {
        let name = field(entry, "name").unwrap_or_default().to_string();
        let src = unpack(&fetch_bytes(url, base)?, staging.path(), url)?;
        (
            src,
            Locked::Tarball {
                url: url.to_string(),
                name,
            },
        )
    } else if let Some(package) = field(entry, "package") {
        let (version, url) = match entry.get("version").map(super::json_text) {
            // A locked entry names one exact version.
            Some(v)
                if !v.contains(['<', '>', ','])
                    && entry.get("version").is_some_and(Json::is_string) =>
            {
                hub::resolve(package, &[v])?
            }
            _ => hub::resolve(package, &version_constraints(entry))?,
        };
        let src = unpack(
            &http_get(&url)
                .map_err(|e| Error::new(format!("could not download {package} {version}: {e}")))?,
            staging.path(),
            &url,
        )?;
        (
            src,
            Locked::Hub {
                package: package.to_string(),
                version,
            },
        )
    } else {
        return Err(Error::new(format!(
            "a package entry must have one of local, git, tarball or package; got {entry}"
        )));
    };
    let name = package_name(&src, &locked)?;
    let dest = install_dir.join(&name);
    if dest.exists() {
        std::fs::remove_dir_all(&dest).map_err(|e| Error::io("replace", &dest, e))?;
    }
    std::fs::rename(&src, &dest).map_err(|e| Error::io("install", &dest, e))?;
    let marker = serde_json::json!({"entry": locked.to_json()}).to_string();
    std::fs::write(dest.join(MARKER), marker)
        .map_err(|e| Error::io("write", &dest.join(MARKER), e))?;
    Ok((name, dest, locked))
}

/// A locked git, tarball or hub entry already in place needs no network.
fn already_installed(entry: &Json, install_dir: &Path) -> Option<(String, PathBuf, Locked)> {
    if field(entry, "local").is_some() {
        return None; // always copied again, so edits to it are picked up
    }
    let is_exact = field(entry, "git").is_some()
        && field(entry, "revision").is_some_and(|r| r.len() == 40)
        || field(entry, "package").is_some() && entry.get("version").is_some_and(Json::is_string)
        || field(entry, "tarball").is_some();
    if !is_exact {
        return None;
    }
    for e in std::fs::read_dir(install_dir).ok()?.flatten() {
        let Ok(text) = std::fs::read_to_string(e.path().join(MARKER)) else {
            continue;
        };
        let Ok(marker) = serde_json::from_str::<Json>(&text) else {
            continue;
        };
        let recorded = &marker["entry"];
        if same_entry(recorded, entry) {
            let locked = locked_from(recorded)?;
            return Some((
                e.file_name().to_string_lossy().to_string(),
                e.path(),
                locked,
            ));
        }
    }
    None
}

fn same_entry(recorded: &Json, entry: &Json) -> bool {
    let keys = [
        "git",
        "revision",
        "subdirectory",
        "tarball",
        "package",
        "version",
    ];
    keys.iter()
        .all(|k| recorded.get(*k).map(super::json_text) == entry.get(*k).map(super::json_text))
}

fn locked_from(j: &Json) -> Option<Locked> {
    if let Some(url) = field(j, "git") {
        return Some(Locked::Git {
            url: url.into(),
            revision: field(j, "revision")?.into(),
            subdirectory: field(j, "subdirectory").map(str::to_string),
        });
    }
    if let Some(url) = field(j, "tarball") {
        return Some(Locked::Tarball {
            url: url.into(),
            name: field(j, "name").unwrap_or_default().into(),
        });
    }
    Some(Locked::Hub {
        package: field(j, "package")?.into(),
        version: field(j, "version")?.into(),
    })
}

/// The name in the package's dbt_project.yml: its directory under dbt_packages.
fn package_name(dir: &Path, locked: &Locked) -> Result<String> {
    let file = dir.join("dbt_project.yml");
    let doc = crate::project::yaml::read_optional(&file, Path::new("dbt_project.yml"))?;
    doc.and_then(|(_, d)| d.get("name").and_then(Json::as_str).map(str::to_string))
        .ok_or_else(|| {
            Error::new(format!(
                "package {} is not a dbt project: it has no dbt_project.yml with a name",
                locked.describe()
            ))
            .note("for a git package in a subfolder, add `subdirectory:`")
        })
}

fn git(args: &[&str], dir: Option<&Path>) -> Result<String> {
    let mut cmd = Command::new("git");
    if let Some(d) = dir {
        cmd.arg("-C").arg(d);
    }
    let out = cmd
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .map_err(|e| Error::new(format!("could not run git (is it installed?): {e}")))?;
    if !out.status.success() {
        return Err(Error::new(
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Downloads with the curl binary (as git packages use the git binary):
/// it follows redirects, honours proxy settings, and keeps TLS out of kiln's
/// build.
pub fn http_get(url: &str) -> std::result::Result<Vec<u8>, String> {
    let out = Command::new("curl")
        .args([
            "--fail",
            "--silent",
            "--show-error",
            "--location",
            "--max-time",
            "120",
            url,
        ])
        .output()
        .map_err(|e| format!("could not run curl (is it installed?): {e}"))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
    }
    Ok(out.stdout)
}

/// A tarball from http(s), a file:// URL or a path (relative to the project).
fn fetch_bytes(url: &str, base: &Path) -> Result<Vec<u8>> {
    if url.starts_with("http://") || url.starts_with("https://") {
        return http_get(url).map_err(|e| Error::new(format!("could not download {url}: {e}")));
    }
    let path = base.join(url.trim_start_matches("file://"));
    std::fs::read(&path).map_err(|e| Error::io("read", &path, e))
}

/// Unpacks a .tar.gz; a single top-level folder is the package itself.
fn unpack(bytes: &[u8], staging: &Path, url: &str) -> Result<PathBuf> {
    let out = staging.join("unpacked");
    tar::Archive::new(flate2::read::GzDecoder::new(bytes))
        .unpack(&out)
        .map_err(|e| Error::new(format!("{url} is not a readable .tar.gz: {e}")))?;
    let entries: Vec<PathBuf> = std::fs::read_dir(&out)
        .map_err(|e| Error::io("read", &out, e))?
        .flatten()
        .map(|e| e.path())
        .collect();
    Ok(match entries.as_slice() {
        [only] if only.is_dir() => only.clone(),
        _ => out,
    })
}

/// Copies a package directory, leaving out build output and VCS data.
fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    let skip = ["target", "dbt_packages", "logs", ".git"];
    let walker = walkdir::WalkDir::new(from).into_iter().filter_entry(|e| {
        e.depth() == 0 || !skip.contains(&e.file_name().to_string_lossy().as_ref())
    });
    for entry in walker {
        let entry =
            entry.map_err(|e| Error::new(format!("could not read {}: {e}", from.display())))?;
        let rel = entry.path().strip_prefix(from).unwrap_or(entry.path());
        let dest = to.join(rel);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&dest).map_err(|e| Error::io("create", &dest, e))?;
        } else {
            std::fs::copy(entry.path(), &dest).map_err(|e| Error::io("copy", &dest, e))?;
        }
    }
    Ok(())
}
