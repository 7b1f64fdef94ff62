//! Lines for people and machines. Progress and messages go to stderr (plain
//! text, or one JSON object per line with --log-format json); data the user
//! asked for goes to stdout.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

use crate::cli::LogFormat;

static JSON: AtomicBool = AtomicBool::new(false);
static COLOR: AtomicBool = AtomicBool::new(false);
static WARNINGS: AtomicU8 = AtomicU8::new(0);

/// Sets the output format for this process.
pub fn init(format: LogFormat) {
    JSON.store(format == LogFormat::Json, Ordering::Relaxed);
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    COLOR.store(color, Ordering::Relaxed);
}

pub fn is_json() -> bool {
    JSON.load(Ordering::Relaxed)
}

fn paint(code: &str, text: &str) -> String {
    if COLOR.load(Ordering::Relaxed) {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

/// One JSON event on stderr.
pub fn event(name: &str, level: &str, msg: &str, data: serde_json::Value) {
    let mut obj = serde_json::json!({
        "event": name,
        "level": level,
        "ts": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "msg": msg,
    });
    if let (Some(o), serde_json::Value::Object(extra)) = (obj.as_object_mut(), data) {
        for (k, v) in extra {
            o.insert(k, v);
        }
    }
    let _ = writeln!(std::io::stderr().lock(), "{obj}");
}

pub fn info(msg: &str) {
    if is_json() {
        event("log", "info", msg, serde_json::Value::Null);
    } else {
        let _ = writeln!(std::io::stderr().lock(), "{msg}");
    }
}

/// Debug lines are only shown with KILN_DEBUG set.
pub fn debug(msg: &str) {
    if std::env::var_os("KILN_DEBUG").is_some() {
        info(msg);
    }
}

pub fn warn(msg: &str) {
    WARNINGS.fetch_add(1, Ordering::Relaxed);
    if is_json() {
        event("warning", "warn", msg, serde_json::Value::Null);
    } else {
        let _ = writeln!(
            std::io::stderr().lock(),
            "{} {msg}",
            paint("33", "warning:")
        );
    }
}

/// How many warnings were printed.
pub fn warning_count() -> u8 {
    WARNINGS.load(Ordering::Relaxed)
}

pub fn error(msg: &str) {
    if is_json() {
        event("error", "error", msg, serde_json::Value::Null);
    } else {
        let text = msg
            .strip_prefix("error:")
            .map(|rest| format!("{}{rest}", paint("31", "error:")))
            .unwrap_or_else(|| msg.to_string());
        let _ = writeln!(std::io::stderr().lock(), "{text}");
    }
}

/// A line of data on stdout.
pub fn stdout_line(msg: &str) {
    let _ = writeln!(std::io::stdout().lock(), "{msg}");
}

/// Marks the end of a phase; with KILN_TIMING set, prints how long it took.
pub struct Timer(Option<std::time::Instant>);

impl Timer {
    pub fn start() -> Timer {
        Timer(std::env::var_os("KILN_TIMING").map(|_| std::time::Instant::now()))
    }

    pub fn lap(&mut self, phase: &str) {
        if let Some(t) = self.0 {
            let _ = writeln!(
                std::io::stderr().lock(),
                "[timing] {phase}: {:.1} ms",
                t.elapsed().as_secs_f64() * 1000.0
            );
            self.0 = Some(std::time::Instant::now());
        }
    }
}
