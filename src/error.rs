//! Errors a user sees: what went wrong, where (file:line:col and the line
//! itself), and what to do about it. Every error that stops an invocation is
//! an [`Error`]; it is printed once, by `main`, and maps to exit code 2.

use std::fmt;
use std::path::{Path, PathBuf};

/// A place in a user's file. `line` and `col` are 1-based.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: PathBuf,
    pub line: usize,
    pub col: usize,
    /// The text of the offending line, shown under the location.
    pub snippet: Option<String>,
}

impl Location {
    /// A location whose snippet is taken from `text` (the file's contents).
    pub fn in_text(file: impl Into<PathBuf>, text: &str, line: usize, col: usize) -> Location {
        let snippet = text
            .lines()
            .nth(line.saturating_sub(1))
            .map(|l| l.trim_end().to_string());
        Location {
            file: file.into(),
            line: line.max(1),
            col: col.max(1),
            snippet,
        }
    }

    /// A line of a file, without its text.
    pub fn line(file: impl Into<PathBuf>, line: usize) -> Location {
        Location {
            file: file.into(),
            line: line.max(1),
            col: 1,
            snippet: None,
        }
    }

    /// A location naming only a file (no line known).
    pub fn file(file: impl Into<PathBuf>) -> Location {
        Location {
            file: file.into(),
            line: 0,
            col: 0,
            snippet: None,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.file.display())
        } else {
            write!(f, "{}:{}:{}", self.file.display(), self.line, self.col)
        }
    }
}

/// An error that stops the invocation (exit code 2).
#[derive(Debug, Clone)]
pub struct Error {
    pub message: String,
    pub location: Option<Location>,
    /// Extra lines: "help: did you mean ...", the chain of macros, ...
    pub notes: Vec<String>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(message: impl Into<String>) -> Error {
        Error {
            message: message.into(),
            location: None,
            notes: Vec::new(),
        }
    }

    pub fn at(mut self, location: Location) -> Error {
        self.location = Some(location);
        self
    }

    /// Attaches a location only if the error has none yet.
    pub fn or_at(self, location: impl FnOnce() -> Location) -> Error {
        if self.location.is_some() {
            self
        } else {
            self.at(location())
        }
    }

    pub fn note(mut self, note: impl Into<String>) -> Error {
        self.notes.push(note.into());
        self
    }

    /// Adds "did you mean 'x'?" when a candidate is close to `wanted`.
    pub fn suggest<'a>(self, wanted: &str, candidates: impl IntoIterator<Item = &'a str>) -> Error {
        match closest(wanted, candidates) {
            Some(best) => self.note(format!("did you mean '{best}'?")),
            None => self,
        }
    }

    /// An I/O failure on a path, phrased for a user.
    pub fn io(action: &str, path: &Path, err: std::io::Error) -> Error {
        Error::new(format!("could not {action} {}: {err}", path.display()))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error: {}", self.message)?;
        if let Some(loc) = &self.location {
            write!(f, "\n  --> {loc}")?;
            if let Some(snippet) = &loc.snippet {
                let num = loc.line.to_string();
                let pad = " ".repeat(num.len());
                write!(f, "\n {pad} |\n {num} | {snippet}")?;
                if loc.col > 0 {
                    let indent: String = snippet
                        .chars()
                        .take(loc.col - 1)
                        .map(|c| if c == '\t' { '\t' } else { ' ' })
                        .collect();
                    write!(f, "\n {pad} | {indent}^")?;
                }
            }
        }
        for note in &self.notes {
            write!(f, "\n  = {note}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

/// The candidate closest to `wanted`, if it is close enough to be a typo.
pub fn closest<'a>(wanted: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let wanted_lower = wanted.to_lowercase();
    // Typos are edits (swaps count as one); long names also tolerate more.
    let allowed = (wanted.chars().count() / 3).max(1);
    let mut best: Option<(usize, f64, &str)> = None;
    for cand in candidates {
        if cand == wanted {
            continue;
        }
        let cand_lower = cand.to_lowercase();
        let edits = strsim::osa_distance(&wanted_lower, &cand_lower);
        let similarity = strsim::jaro_winkler(&wanted_lower, &cand_lower);
        if edits > allowed && similarity < 0.9 {
            continue;
        }
        let better = match best {
            None => true,
            Some((e, s, _)) => edits < e || (edits == e && similarity > s),
        };
        if better {
            best = Some((edits, similarity, cand));
        }
    }
    best.map(|(_, _, c)| c)
}

/// 1-based line and column of a byte offset in `text`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    (line, before[line_start..].chars().count() + 1)
}

/// The first line of `text` that contains `needle`, with its column: used to
/// point at a name inside a YAML file when the YAML parser gives no position.
pub fn find_line(text: &str, needle: &str) -> Option<(usize, usize)> {
    text.find(needle).map(|off| line_col(text, off))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(closest("ordrs", ["orders", "customers"]), Some("orders"));
        assert_eq!(closest("zzz", ["orders", "customers"]), None);
    }

    #[test]
    fn renders_location_and_caret() {
        let text = "select 1\nselect {{ ref('x') }}\n";
        let err = Error::new("boom")
            .at(Location::in_text("m.sql", text, 2, 8))
            .note("did you mean 'y'?");
        let shown = err.to_string();
        assert!(shown.contains("--> m.sql:2:8"), "{shown}");
        assert!(shown.contains("2 | select {{ ref('x') }}"), "{shown}");
        assert!(shown.contains("|        ^"), "{shown}");
    }
}
