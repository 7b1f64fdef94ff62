//! Nothing half-built is ever visible: a rebuild killed or interrupted
//! midway leaves the previous table in place.

mod common;

use std::time::{Duration, Instant};

use common::run_project;

const SLOW: &str = "{{ config(materialized='table') }}\nselect 2 as v, count(*) as n from range(100000000) a, range(100) b";

fn wait_for(path: &std::path::Path, timeout: Duration) {
    let start = Instant::now();
    while !path.exists() && start.elapsed() < timeout {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(path.exists(), "{} did not appear", path.display());
}

#[test]
fn a_killed_rebuild_leaves_the_old_table() {
    let p = run_project(&[(
        "models/t.sql",
        "{{ config(materialized='table') }}\nselect 1 as v",
    )]);
    assert_eq!(p.run(&["run"]).0, 0);
    p.write("models/t.sql", SLOW);
    std::fs::remove_dir_all(p.dir.join("target")).expect("clean target");
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("kiln"))
        .arg("run")
        .current_dir(&p.dir)
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    wait_for(
        &p.dir.join("target/compiled/proj/models/t.sql"),
        Duration::from_secs(30),
    );
    std::thread::sleep(Duration::from_millis(300));
    child.kill().expect("kill");
    child.wait().expect("wait");
    assert_eq!(p.column("db.duckdb", "select v from main.t"), vec!["1"]);
}

#[test]
fn ctrl_c_cancels_rolls_back_and_writes_run_results() {
    let p = run_project(&[(
        "models/t.sql",
        "{{ config(materialized='table') }}\nselect 1 as v",
    )]);
    assert_eq!(p.run(&["run"]).0, 0);
    p.write("models/t.sql", SLOW);
    p.write("models/after.sql", "select * from {{ ref('t') }}");
    std::fs::remove_dir_all(p.dir.join("target")).expect("clean target");
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("kiln"))
        .arg("run")
        .current_dir(&p.dir)
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    wait_for(
        &p.dir.join("target/compiled/proj/models/t.sql"),
        Duration::from_secs(30),
    );
    std::thread::sleep(Duration::from_millis(300));
    let pid = child.id().to_string();
    std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .expect("kill -INT");
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(1));
    assert_eq!(p.column("db.duckdb", "select v from main.t"), vec!["1"]);
    let r: serde_json::Value =
        serde_json::from_str(&p.read("target/run_results.json")).expect("run_results written");
    let statuses: Vec<&str> = r["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["status"].as_str().unwrap())
        .collect();
    assert!(
        statuses.contains(&"error") && statuses.contains(&"skipped"),
        "{statuses:?}"
    );
}
