//! `kiln deps`: local, git and tarball packages into dbt_packages/, the
//! lock file, offline re-installs from the lock, and broken packages.

mod common;

use std::path::Path;
use std::process::Command;

use common::{run_project, Project};

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A dbt package named `name` with a macro `hello()` returning `greeting`.
fn package(dir: &Path, name: &str, greeting: &str) {
    write(
        &dir.join("dbt_project.yml"),
        &format!("name: {name}\nversion: '1.0'\nconfig-version: 2\n"),
    );
    write(
        &dir.join("macros/hello.sql"),
        &format!("{{% macro hello() %}}{greeting}{{% endmacro %}}"),
    );
}

fn sh(dir: &Path, args: &[&str]) -> String {
    let out = Command::new(args[0])
        .args(&args[1..])
        .current_dir(dir)
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// git with a committer identity, which a CI machine may not have.
fn git(dir: &Path, args: &[&str]) -> String {
    let mut all = vec!["git", "-c", "user.email=t@t", "-c", "user.name=t"];
    all.extend_from_slice(args);
    sh(dir, &all)
}

fn git_repo(dir: &Path, name: &str, greeting: &str) -> String {
    package(dir, name, greeting);
    git(dir, &["init", "-q", "-b", "main"]);
    git(dir, &["add", "."]);
    git(dir, &["commit", "-qm", "first"]);
    git(dir, &["tag", "v1"]);
    git(dir, &["rev-parse", "HEAD"])
}

fn with_packages(packages_yml: &str) -> Project {
    run_project(&[("packages.yml", packages_yml)])
}

#[test]
fn local_packages_install_and_their_macros_resolve() {
    let p = with_packages("packages:\n  - local: ../shared\n");
    package(
        &p.dir.parent().unwrap().join("shared"),
        "shared",
        "hi from shared",
    );
    p.ok(&["deps"]);
    assert!(p.dir.join("dbt_packages/shared/macros/hello.sql").exists());
    assert!(
        p.read("package-lock.yml").contains("local: ../shared"),
        "{}",
        p.read("package-lock.yml")
    );
    assert_eq!(p.inline("{{ shared.hello() }}"), "hi from shared");
}

#[test]
fn git_packages_lock_a_commit_and_reinstall_offline() {
    let p = with_packages("");
    let repo = p.dir.parent().unwrap().join("gitpkg");
    let sha = git_repo(&repo, "gitpkg", "hi from git");
    p.write(
        "packages.yml",
        &format!(
            "packages:\n  - git: \"{}\"\n    revision: v1\n",
            repo.display()
        ),
    );
    p.ok(&["deps"]);
    assert_eq!(p.inline("{{ gitpkg.hello() }}"), "hi from git");
    let lock = p.read("package-lock.yml");
    assert!(
        lock.contains(&format!("revision: {sha}")),
        "the lock pins the commit:\n{lock}"
    );

    // The repository goes away: the locked, installed package still installs.
    std::fs::rename(&repo, p.dir.parent().unwrap().join("moved")).unwrap();
    let (code, _, err) = p.run(&["deps"]);
    assert_eq!(code, 0, "offline from the lock: {err}");
    assert_eq!(p.inline("{{ gitpkg.hello() }}"), "hi from git");
}

#[test]
fn git_subdirectories_and_tarballs() {
    let p = with_packages("");
    let parent = p.dir.parent().unwrap().to_path_buf();
    let mono = parent.join("mono");
    package(&mono.join("pkgs/inner"), "inner", "inner");
    write(
        &mono.join("README"),
        "a repository holding a package in a folder",
    );
    git(&mono, &["init", "-q", "-b", "main"]);
    git(&mono, &["add", "."]);
    git(&mono, &["commit", "-qm", "first"]);
    package(
        &parent.join("tarred/tarpkg-1.0"),
        "tarpkg",
        "from a tarball",
    );
    sh(
        &parent.join("tarred"),
        &["tar", "czf", "../tarpkg.tar.gz", "tarpkg-1.0"],
    );
    p.write(
        "packages.yml",
        &format!(
            "packages:\n  - git: \"{}\"\n    subdirectory: pkgs/inner\n  - tarball: ../tarpkg.tar.gz\n    name: tarpkg\n",
            mono.display()
        ),
    );
    p.ok(&["deps"]);
    assert_eq!(
        p.inline("{{ inner.hello() }} and {{ tarpkg.hello() }}"),
        "inner and from a tarball"
    );

    // Dropping a package from the list removes it on the next install.
    p.write(
        "packages.yml",
        "packages:\n  - tarball: ../tarpkg.tar.gz\n    name: tarpkg\n",
    );
    assert_eq!(p.run(&["deps"]).0, 0);
    assert!(!p.dir.join("dbt_packages/inner").exists());
    assert!(p.dir.join("dbt_packages/tarpkg").exists());
}

#[test]
fn missing_and_broken_packages_are_clear_errors() {
    let p = with_packages("packages:\n  - local: ../nowhere\n");
    let (code, _, err) = p.run(&["deps"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("local package `../nowhere` is not a directory"),
        "{err}"
    );

    let p = with_packages("packages:\n  - local: ../not_dbt\n");
    write(
        &p.dir.parent().unwrap().join("not_dbt/readme.txt"),
        "no project here",
    );
    let (code, _, err) = p.run(&["deps"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("is not a dbt project: it has no dbt_project.yml"),
        "{err}"
    );
    assert!(
        !p.dir.join("dbt_packages/not_dbt").exists(),
        "nothing half-installed"
    );

    let p = with_packages("packages:\n  - git: \"/no/such/repository\"\n");
    let (code, _, err) = p.run(&["deps"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("could not clone /no/such/repository"), "{err}");
}
