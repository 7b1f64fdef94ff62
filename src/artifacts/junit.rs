//! A JUnit XML report of a run (models, seeds, snapshots, tests), the format
//! CI systems render: failures carry their message and failing row count.

use std::path::Path;
use std::time::Duration;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use crate::error::{Error, Result};
use crate::exec::result::{NodeResult, Status};

/// Writes `results` of `kiln <which>` to `path`.
pub fn write(path: &Path, which: &str, results: &[NodeResult]) -> Result<()> {
    let mut suite = TestSuite::new(format!("kiln {which}"));
    for r in results {
        // unique ids are <type>.<package>.<name>[.<hash>]
        let mut parts = r.unique_id.splitn(3, '.');
        let (kind, package, rest) = (
            parts.next().unwrap_or(""),
            parts.next().unwrap_or(""),
            parts.next().unwrap_or(""),
        );
        let name = if kind == "test" {
            rest.rsplit_once('.').map_or(rest, |(n, _)| n)
        } else {
            rest
        };
        let status = match r.status {
            Status::Success | Status::Pass | Status::Warn | Status::NoOp => {
                TestCaseStatus::success()
            }
            Status::Skipped => {
                let mut s = TestCaseStatus::skipped();
                s.set_message(r.message.clone());
                s
            }
            Status::Fail | Status::Error | Status::PartialSuccess => {
                let kind = if r.status == Status::Fail {
                    NonSuccessKind::Failure
                } else {
                    NonSuccessKind::Error
                };
                let mut s = TestCaseStatus::non_success(kind);
                let first = r.message.lines().next().unwrap_or_default().to_string();
                let message = match r.failures {
                    Some(n) if r.status == Status::Fail => format!("{n} failing row(s): {first}"),
                    _ => first,
                };
                s.set_message(message);
                s.set_type(r.status.as_str());
                s.set_description(r.message.clone());
                s
            }
        };
        let mut case = TestCase::new(name.to_string(), status);
        case.set_classname(format!("{kind}.{package}"));
        case.set_time(Duration::from_secs_f64(r.execution_time.max(0.0)));
        if r.status == Status::Warn {
            case.set_system_out(format!("WARN: {}", r.message));
        }
        suite.add_test_case(case);
    }
    let mut report = Report::new("kiln");
    report.add_test_suite(suite);
    let xml = report
        .to_string()
        .map_err(|e| Error::new(format!("could not write the JUnit report: {e}")))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io("create", dir, e))?;
    }
    std::fs::write(path, xml).map_err(|e| Error::io("write", path, e))
}
