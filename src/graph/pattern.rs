//! Shell-style patterns as dbt's selectors use them: Python's fnmatch (`*`
//! crosses everything) and pathlib's glob (`*` stays within one directory,
//! `**` spans directories).

use regex::Regex;

/// A compiled fnmatch pattern.
pub struct Pattern {
    re: Option<Regex>,
    literal: String,
}

impl Pattern {
    pub fn new(pattern: &str) -> Pattern {
        let wild = pattern.contains(['*', '?', '[']);
        Pattern {
            re: wild
                .then(|| Regex::new(&format!("^{}$", translate(pattern, false))).ok())
                .flatten(),
            literal: pattern.to_string(),
        }
    }

    /// `*`: every text matches, so callers can skip building one.
    pub fn matches_anything(&self) -> bool {
        self.literal == "*"
    }

    pub fn matches(&self, text: &str) -> bool {
        if self.matches_anything() {
            return true;
        }
        match &self.re {
            Some(re) => re.is_match(text),
            None => self.literal == text,
        }
    }
}

pub fn has_wildcard(s: &str) -> bool {
    s.contains(['*', '?', '[', ']'])
}

/// fnmatch(text, pattern), case-sensitive as on POSIX.
pub fn fnmatch(text: &str, pattern: &str) -> bool {
    Pattern::new(pattern).matches(text)
}

/// The regex for a shell pattern; `path_mode` keeps `*` and `?` inside one path component.
fn translate(pattern: &str, path_mode: bool) -> String {
    let any = if path_mode { "[^/]" } else { "." };
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '*' => {
                if path_mode && chars.get(i + 1) == Some(&'*') {
                    // `**/` matches any number of directories (including none).
                    i += 1;
                    if chars.get(i + 1) == Some(&'/') {
                        i += 1;
                        out.push_str("(?:.*/)?");
                    } else {
                        out.push_str(".*");
                    }
                } else {
                    out.push_str(any);
                    out.push('*');
                }
            }
            '?' => out.push_str(any),
            '[' => match chars[i + 1..].iter().position(|&c| c == ']') {
                Some(close) if close > 0 || chars.get(i + 2) == Some(&']') => {
                    let close = if close == 0 {
                        1 + chars[i + 2..].iter().position(|&c| c == ']').unwrap_or(0)
                    } else {
                        close
                    };
                    let body: String = chars[i + 1..i + 1 + close].iter().collect();
                    let body = match body.strip_prefix('!') {
                        Some(rest) => format!("^{}", rest.replace('\\', "\\\\")),
                        None => body.replace('\\', "\\\\"),
                    };
                    out.push('[');
                    out.push_str(&body);
                    out.push(']');
                    i += close + 1;
                }
                _ => out.push_str("\\["),
            },
            c => out.push_str(&regex::escape(&c.to_string())),
        }
        i += 1;
    }
    out
}

/// A compiled pathlib glob, matched against relative `/`-separated paths.
pub struct Glob {
    re: Option<Regex>,
    literal: String,
}

impl Glob {
    pub fn new(pattern: &str) -> Glob {
        let pattern = pattern.trim_end_matches('/').trim_start_matches("./");
        Glob {
            re: has_wildcard(pattern)
                .then(|| Regex::new(&format!("^{}$", translate(pattern, true))).ok())
                .flatten(),
            literal: pattern.to_string(),
        }
    }

    pub fn matches(&self, path: &str) -> bool {
        match &self.re {
            Some(re) => re.is_match(path),
            None => self.literal == path,
        }
    }
}

/// Does `path` match a pathlib glob `pattern`?
pub fn glob_match(pattern: &str, path: &str) -> bool {
    Glob::new(pattern).matches(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnmatch_like_python() {
        assert!(fnmatch("stg_orders", "stg_*"));
        assert!(fnmatch("shop.staging.stg_orders", "*orders"));
        assert!(!fnmatch("orders", "stg_*"));
        assert!(fnmatch("a1", "a[0-9]"));
        assert!(fnmatch("ab", "a[!0-9]"));
    }

    #[test]
    fn glob_like_pathlib() {
        assert!(glob_match("models/staging", "models/staging"));
        assert!(glob_match(
            "models/*/stg_*.sql",
            "models/staging/stg_orders.sql"
        ));
        assert!(!glob_match("models/*.sql", "models/staging/stg_orders.sql"));
        assert!(glob_match(
            "models/**/*.sql",
            "models/staging/stg_orders.sql"
        ));
        assert!(glob_match("models/**/*.sql", "models/top.sql"));
    }
}
