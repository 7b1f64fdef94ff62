//! Helpers shared by the integration tests: run the real kiln binary on
//! fixture projects copied into temporary directories.
#![allow(dead_code)]

pub mod postgres;
pub mod spark;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use tempfile::TempDir;

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A copy of a project in a temporary directory (removed when dropped).
pub struct Project {
    _tmp: TempDir,
    pub dir: PathBuf,
}

impl Project {
    /// A copy of example_project/.
    pub fn example() -> Project {
        Project::copy_of(&repo().join("example_project"))
    }

    /// A copy of tests/fixtures/<name>/.
    pub fn fixture(name: &str) -> Project {
        Project::copy_of(&repo().join("tests/fixtures").join(name))
    }

    pub fn copy_of(src: &Path) -> Project {
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = tmp.path().join("project");
        copy_dir(src, &dir);
        // As a clean checkout: no build output, no database.
        let _ = std::fs::remove_dir_all(dir.join("target"));
        for entry in std::fs::read_dir(&dir).expect("read dir").flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            if name.ends_with(".duckdb") || name.ends_with(".duckdb.wal") {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        Project { _tmp: tmp, dir }
    }

    /// A project made of the given files, plus a default dbt_project.yml and
    /// DuckDB profiles.yml unless they are among them.
    pub fn with_files(files: &[(&str, &str)]) -> Project {
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = tmp.path().join("project");
        std::fs::create_dir_all(&dir).expect("mkdir");
        let p = Project { _tmp: tmp, dir };
        if !files.iter().any(|(f, _)| *f == "dbt_project.yml") {
            p.write(
                "dbt_project.yml",
                "name: proj\nversion: '1.0'\nconfig-version: 2\nprofile: proj\n",
            );
        }
        if !files.iter().any(|(f, _)| *f == "profiles.yml") {
            p.write("profiles.yml", "proj:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: ':memory:'\n      schema: main\n");
        }
        for (f, text) in files {
            p.write(f, text);
        }
        p
    }

    pub fn write(&self, rel: &str, text: &str) {
        let path = self.dir.join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.dir.join(rel)).unwrap_or_else(|e| panic!("reading {rel}: {e}"))
    }

    /// `kiln <args>` run in the project directory.
    pub fn kiln(&self, args: &[&str]) -> Command {
        let mut cmd = kiln();
        cmd.current_dir(&self.dir)
            .args(args)
            .env_remove("DBT_PROFILES_DIR")
            .env("NO_COLOR", "1");
        cmd
    }

    /// Runs kiln and returns (exit code, stdout, stderr).
    pub fn run(&self, args: &[&str]) -> (i32, String, String) {
        let out = self.kiln(args).output().expect("kiln runs");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    }

    /// Runs kiln, which must succeed; returns what it printed on stderr.
    pub fn ok(&self, args: &[&str]) -> String {
        let (code, _, err) = self.run(args);
        assert_eq!(code, 0, "kiln {args:?} failed: {err}");
        err
    }

    /// target/manifest.json, parsed.
    pub fn manifest(&self) -> serde_json::Value {
        serde_json::from_str(&self.read("target/manifest.json")).expect("manifest is JSON")
    }

    /// Compiles an inline query and returns what kiln printed.
    pub fn inline(&self, sql: &str) -> String {
        let (code, out, err) = self.run(&["compile", "--inline", sql]);
        assert_eq!(code, 0, "inline compile failed: {err}");
        out.trim_end_matches('\n').to_string()
    }
}

/// Appends `rows` to `out`, sorted, one per line: how the parity tests
/// dump a relation (row order is not part of a model's result).
pub fn push_sorted_lines(out: &mut String, mut rows: Vec<String>) {
    rows.sort();
    for r in rows {
        out.push_str(&r);
        out.push('\n');
    }
}

pub fn kiln() -> Command {
    Command::cargo_bin("kiln").expect("kiln binary")
}

/// The kiln binary as a std Command in `dir`, for long-running processes
/// (docs serve) that a test starts and stops itself.
pub fn kiln_std(dir: &Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("kiln"));
    cmd.current_dir(dir)
        .env_remove("DBT_PROFILES_DIR")
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    cmd
}

pub fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).expect("mkdir");
    for entry in std::fs::read_dir(src).expect("read dir") {
        let entry = entry.expect("entry");
        let to = dst.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &to);
        } else {
            std::fs::copy(entry.path(), &to).expect("copy");
        }
    }
}

impl Project {
    /// Rows of a query on the project's DuckDB file, as text (NULL as "NULL").
    pub fn query(&self, db_file: &str, sql: &str) -> Vec<Vec<String>> {
        let conn = duckdb::Connection::open(self.dir.join(db_file)).expect("open database");
        let mut stmt = conn.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        let mut rows = stmt.query([]).expect("query");
        let mut out = Vec::new();
        while let Some(row) = rows.next().expect("row") {
            let n = row.as_ref().column_count();
            let mut cells = Vec::new();
            for i in 0..n {
                let v: duckdb::types::Value = row.get(i).expect("value");
                cells.push(match v {
                    duckdb::types::Value::Null => "NULL".to_string(),
                    duckdb::types::Value::Text(s) => s,
                    duckdb::types::Value::Boolean(b) => b.to_string(),
                    duckdb::types::Value::Int(i) => i.to_string(),
                    duckdb::types::Value::BigInt(i) => i.to_string(),
                    duckdb::types::Value::HugeInt(i) => i.to_string(),
                    duckdb::types::Value::Double(f) => f.to_string(),
                    other => format!("{other:?}"),
                });
            }
            out.push(cells);
        }
        out
    }

    /// target/run_results.json as (node name, status, failures), sorted.
    pub fn results(&self) -> Vec<(String, String, Option<i64>)> {
        let r: serde_json::Value =
            serde_json::from_str(&self.read("target/run_results.json")).expect("run_results");
        let mut out: Vec<(String, String, Option<i64>)> = r["results"]
            .as_array()
            .expect("results")
            .iter()
            .map(|x| {
                let id = x["unique_id"].as_str().expect("unique_id");
                // test.<project>.<name>.<hash>, unit_test.<project>.<model>.<name>
                let parts: Vec<&str> = id.split('.').collect();
                let name = if parts[0] == "unit_test" {
                    parts[parts.len() - 1]
                } else {
                    parts.get(2).copied().unwrap_or(id)
                };
                let name = name.to_string();
                (
                    name,
                    x["status"].as_str().expect("status").to_string(),
                    x["failures"].as_i64(),
                )
            })
            .collect();
        out.sort();
        out
    }

    /// target/run_results.json as sorted `unique_id status failures` lines,
    /// as the dbt reference files record dbt's verdicts.
    pub fn verdict_lines(&self) -> Vec<String> {
        let results: serde_json::Value =
            serde_json::from_str(&self.read("target/run_results.json")).expect("run_results");
        let mut lines: Vec<String> = results["results"]
            .as_array()
            .expect("results")
            .iter()
            .map(|r| {
                format!(
                    "{} {} {}",
                    r["unique_id"].as_str().unwrap_or(""),
                    r["status"].as_str().unwrap_or(""),
                    r["failures"]
                        .as_i64()
                        .map_or("None".to_string(), |f| f.to_string())
                )
            })
            .collect();
        lines.sort();
        lines
    }

    /// The (status, failures) of one node in target/run_results.json.
    pub fn verdict(&self, name: &str) -> (String, Option<i64>) {
        self.results()
            .into_iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, s, f)| (s, f))
            .unwrap_or_else(|| panic!("no result for {name}: {:?}", self.results()))
    }

    /// A single-column query's values.
    pub fn column(&self, db_file: &str, sql: &str) -> Vec<String> {
        self.query(db_file, sql)
            .into_iter()
            .map(|mut r| r.remove(0))
            .collect()
    }
}

/// The address of a test server from `var`; `None` (after a one-line
/// notice) when it is not set outside CI, where a missing server fails.
pub fn server_url(var: &str, test: &str, what: &str) -> Option<String> {
    let Ok(url) = std::env::var(var) else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{var} is not set, and CI needs the tests on {what} to run"
        );
        eprintln!("skipping {test}: {var} is not set (no {what})");
        return None;
    };
    Some(url)
}

/// `kiln run` over a window of event time (microbatch models).
pub fn run_window<'a>(start: &'a str, end: &'a str) -> [&'a str; 5] {
    ["run", "--event-time-start", start, "--event-time-end", end]
}

/// A project with profile `proj` in `profiles`: the default dbt_project.yml
/// and the files (which may replace either).
pub fn project_on(profiles: &str, files: &[(&str, &str)]) -> Project {
    let mut all: Vec<(&str, &str)> = vec![
        (
            "dbt_project.yml",
            "name: proj\nprofile: proj\nconfig-version: 2\n",
        ),
        ("profiles.yml", profiles),
    ];
    for f in files {
        all.retain(|(name, _)| name != &f.0);
        all.push(*f);
    }
    Project::with_files(&all)
}

/// dbt_project.yml + profiles.yml (a DuckDB file `db.duckdb`) for run tests.
pub fn run_project(files: &[(&str, &str)]) -> Project {
    let mut all: Vec<(&str, &str)> = vec![
        ("dbt_project.yml", "name: proj\nprofile: proj\nconfig-version: 2\n"),
        ("profiles.yml", "proj:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: db.duckdb\n      threads: 4\n"),
    ];
    for f in files {
        all.retain(|(name, _)| name != &f.0);
        all.push(*f);
    }
    Project::with_files(&all)
}
