//! Lines for people and machines. Progress and messages go to stderr (plain
//! text, or one JSON object per line with --log-format json); data the user
//! asked for goes to stdout.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

use crate::cli::LogFormat;

static JSON: AtomicBool = AtomicBool::new(false);
static COLOR: AtomicBool = AtomicBool::new(false);
static WARNINGS: AtomicU8 = AtomicU8::new(0);
static QUIET: AtomicBool = AtomicBool::new(false);
static NO_PRINT: AtomicBool = AtomicBool::new(false);

/// `--quiet`: only errors, and what the user asked for on stdout.
/// `--no-print`: templates' print() says nothing.
pub fn set_quiet(quiet: bool, no_print: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
    NO_PRINT.store(no_print, Ordering::Relaxed);
}

pub fn prints_allowed() -> bool {
    !NO_PRINT.load(Ordering::Relaxed)
}

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
    if QUIET.load(Ordering::Relaxed) {
        return;
    }
    if is_json() {
        event("log", "info", msg, serde_json::Value::Null);
    } else {
        let _ = writeln!(std::io::stderr().lock(), "{msg}");
    }
}

/// Whether debug lines are shown (KILN_DEBUG set), read once: callers on
/// hot paths check it before building a message.
pub fn debugging() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("KILN_DEBUG").is_some())
}

/// Debug lines are only shown with KILN_DEBUG set.
pub fn debug(msg: &str) {
    if debugging() {
        info(msg);
    }
}

/// Which warnings --warn-error / --warn-error-options turn into errors, by
/// name: `LogTestResult` (a test at warn severity that found rows),
/// `NoNodesForSelectionCriteria`, and `Warning` for kiln's other warnings.
#[derive(Debug, Clone, Default)]
pub struct WarnPolicy {
    all: bool,
    include: Vec<String>,
    exclude: Vec<String>,
}

impl WarnPolicy {
    pub fn from_args(warn_error: bool, options: Option<&str>) -> crate::error::Result<WarnPolicy> {
        let mut p = WarnPolicy {
            all: warn_error,
            ..WarnPolicy::default()
        };
        let Some(text) = options else { return Ok(p) };
        let doc = crate::project::yaml::parse_inline("--warn-error-options", text)?;
        let names = |v: Option<&serde_json::Value>| -> Vec<String> {
            match v {
                Some(serde_json::Value::Array(a)) => a
                    .iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect(),
                Some(serde_json::Value::String(s)) => vec![s.clone()],
                _ => Vec::new(),
            }
        };
        let include = names(doc.get("include").or_else(|| doc.get("error")));
        p.all |= include.iter().any(|n| n == "all" || n == "*");
        p.include = include;
        p.exclude = names(doc.get("exclude").or_else(|| doc.get("warn")));
        Ok(p)
    }

    fn promotes(&self, name: &str) -> bool {
        (self.all || self.include.iter().any(|n| n == name))
            && !self.exclude.iter().any(|n| n == name)
    }
}

static POLICY: std::sync::OnceLock<WarnPolicy> = std::sync::OnceLock::new();
static PROMOTED: AtomicU8 = AtomicU8::new(0);

pub fn set_warn_error(p: WarnPolicy) {
    let _ = POLICY.set(p);
}

/// Does the --warn-error policy make warning `name` an error?
pub fn promotes(name: &str) -> bool {
    POLICY.get().is_some_and(|p| p.promotes(name))
}

/// How many warnings were turned into errors (the invocation fails).
pub fn promoted_count() -> u8 {
    PROMOTED.load(Ordering::Relaxed)
}

/// A warning with a name the --warn-error options can pick.
pub fn warn_named(name: &str, msg: &str) {
    if promotes(name) {
        PROMOTED.fetch_add(1, Ordering::Relaxed);
        error(&format!(
            "error: {msg} ({name}, an error under --warn-error)"
        ));
        return;
    }
    warn_line(msg);
}

pub fn warn(msg: &str) {
    warn_named("Warning", msg);
}

fn warn_line(msg: &str) {
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
pub struct Timer(Option<(std::time::Instant, f64)>);

/// CPU seconds used so far by all threads, to see how well a phase uses the cores.
fn cpu_seconds() -> f64 {
    // SAFETY: getrusage only writes into the struct we pass.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return 0.0;
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(usage.ru_utime) + secs(usage.ru_stime)
}

/// Resident memory now (Linux only; 0 elsewhere), to see which phase grows it.
fn resident_mib() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096 / (1 << 20))
}

impl Timer {
    pub fn start() -> Timer {
        Timer(std::env::var_os("KILN_TIMING").map(|_| (std::time::Instant::now(), cpu_seconds())))
    }

    pub fn lap(&mut self, phase: &str) {
        if let Some((t, cpu)) = self.0 {
            let now = cpu_seconds();
            let _ = writeln!(
                std::io::stderr().lock(),
                "[timing] {phase}: {:.1} ms, {:.1} ms CPU, {} MiB resident",
                t.elapsed().as_secs_f64() * 1000.0,
                (now - cpu) * 1000.0,
                resident_mib()
            );
            self.0 = Some((std::time::Instant::now(), now));
        }
    }
}
