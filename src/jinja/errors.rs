//! Jinja errors as users see them: the innermost place that failed (file,
//! line, column, the line itself) and the chain of macros that led there.

use std::path::{Path, PathBuf};

use minijinja::ErrorKind;

use crate::error::{line_col, Error, Location};
use crate::jinja::builtins::RETURN_MARKER;
use crate::jinja::macros::MacroDef;
use crate::jinja::Jinja;

/// Detail prefix of the errors that mark a macro call in the chain.
const FRAME_PREFIX: &str = "in macro ";

/// Wraps an error raised inside macro `def`, so the chain shows the call.
pub fn in_macro(err: minijinja::Error, def: &MacroDef) -> minijinja::Error {
    minijinja::Error::new(
        ErrorKind::InvalidOperation,
        format!("{FRAME_PREFIX}{}", def.name),
    )
    .with_source(err)
}

/// The message of the innermost real error, with no location.
pub fn describe(err: &minijinja::Error) -> String {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    let mut message = String::new();
    while let Some(e) = cur {
        if let Some(me) = e.downcast_ref::<minijinja::Error>() {
            let detail = me.detail().unwrap_or_default();
            if !detail.starts_with(FRAME_PREFIX) && detail != RETURN_MARKER {
                message = match me.detail() {
                    Some(d) => d.to_string(),
                    None => me.kind().to_string(),
                };
                if me.kind() == ErrorKind::UndefinedError && message == me.kind().to_string() {
                    message = "a value used here is undefined".to_string();
                }
            }
        } else {
            message = e.to_string();
        }
        cur = e.source();
    }
    message
}

/// One frame of the chain: a template and a line in it.
struct Frame {
    template: String,
    line: usize,
    range: Option<std::ops::Range<usize>>,
}

/// Converts a render error into a located kiln error.
/// `top_name`/`top_text`/`top_display` describe the template that was rendered.
pub fn to_error(
    err: &minijinja::Error,
    jinja: &Jinja,
    what: &str,
    top_name: &str,
    top_text: &str,
    top_display: &Path,
) -> Error {
    let mut frames: Vec<Frame> = Vec::new();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(me) = e.downcast_ref::<minijinja::Error>() {
            if let (Some(name), Some(line)) = (me.name(), me.line()) {
                frames.push(Frame {
                    template: name.to_string(),
                    line,
                    range: me.range(),
                });
            }
        }
        cur = e.source();
    }
    let mut message = describe(err);
    // "foo is unknown" from minijinja: say it is a missing macro, and suggest one.
    if let Some(name) = message
        .strip_suffix(" is unknown")
        .filter(|n| !n.contains(' '))
    {
        let name = name.to_string();
        let root = jinja.root_package.clone();
        message = format!("'{name}' is not a macro or function known to this project");
        if let Some(best) = crate::error::closest(&name, jinja.macros.visible_names(&root)) {
            message.push_str(&format!("; did you mean '{best}'?"));
        }
    }
    let locate = |f: &Frame| -> (PathBuf, Location) {
        if f.template == top_name {
            let col = f
                .range
                .clone()
                .map(|r| line_col(top_text, r.start).1)
                .unwrap_or(1);
            let col = if top_text.lines().nth(f.line.saturating_sub(1)).is_some() {
                col
            } else {
                1
            };
            (
                top_display.to_path_buf(),
                Location::in_text(top_display, top_text, f.line, col),
            )
        } else if let Some(def) = jinja.macros.defs.iter().find(|d| d.template == f.template) {
            let src = jinja
                .env
                .get_template(&def.template)
                .map(|t| t.source().to_string())
                .unwrap_or_default();
            let col = f
                .range
                .clone()
                .map(|r| line_col(&src, r.start).1)
                .unwrap_or(1);
            (
                def.display_path.clone(),
                Location::in_text(&def.display_path, &src, f.line, col),
            )
        } else {
            (
                PathBuf::from(&f.template),
                Location {
                    file: PathBuf::from(&f.template),
                    line: f.line,
                    col: 1,
                    snippet: None,
                },
            )
        }
    };
    // The macro a frame's template belongs to, if it is a macro.
    let macro_of = |f: &Frame| f.template.rsplit_once("::").map(|(_, m)| m.to_string());
    let mut error = match frames.last().and_then(macro_of) {
        Some(m) => Error::new(format!("{what}: {message} (in macro '{m}')")),
        None => Error::new(format!("{what}: {message}")),
    };
    // Frames run from the outermost call to the innermost failure.
    error = match frames.last() {
        Some(inner) => error.at(locate(inner).1),
        None => error.at(Location::file(top_display)),
    };
    for pair in frames.windows(2).rev() {
        let (caller, callee) = (&pair[0], &pair[1]);
        let (_, loc) = locate(caller);
        let callee_name = macro_of(callee).unwrap_or_else(|| "a macro".into());
        let within = macro_of(caller)
            .map(|m| format!(" (in macro '{m}')"))
            .unwrap_or_default();
        error = error.note(format!(
            "'{callee_name}' was called from {}:{}{within}",
            loc.file.display(),
            loc.line
        ));
    }
    error
}
