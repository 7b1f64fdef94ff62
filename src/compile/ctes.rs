//! Inlining ephemeral models as CTEs, where dbt puts them: right after the
//! query's leading WITH (before its own CTEs), or in a new WITH.

/// `ctes` are `(cte name, sql)` in dependency order.
pub fn inject(sql: &str, ctes: &[(String, String)]) -> String {
    if ctes.is_empty() {
        return sql.to_string();
    }
    let joined = ctes
        .iter()
        .map(|(name, body)| format!(" {name} as (\n{body}\n)"))
        .collect::<Vec<_>>()
        .join(", ");
    match find_top_level_with(sql) {
        Some(after_with) => {
            // After WITH and the whitespace that follows it, before the query's own CTEs.
            let rest = &sql[after_with..];
            let insert_at = after_with + (rest.len() - rest.trim_start().len());
            format!("{}{joined}, {}", &sql[..insert_at], &sql[insert_at..])
        }
        None => {
            let first = sql.len() - sql.trim_start().len();
            format!("{}with{joined} {}", &sql[..first], &sql[first..])
        }
    }
}

/// Byte offset just past the first top-level `WITH` (or `WITH RECURSIVE`),
/// skipping strings, quoted names, comments and parentheses.
fn find_top_level_with(sql: &str) -> Option<usize> {
    let bytes = sql.as_bytes();
    let mut i = 0;
    let mut depth = 0usize;
    let mut found: Option<usize> = None;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'\'' | b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != c {
                    i += 1;
                }
                i += 1;
            }
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < bytes.len() && !(bytes[i] == b'*' && bytes[i + 1] == b'/') {
                    i += 1;
                }
                i += 2;
            }
            b'(' => {
                depth += 1;
                i += 1;
            }
            b')' => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let start = i;
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                let word = &sql[start..i];
                if depth == 0 {
                    match found {
                        None if word.eq_ignore_ascii_case("with") => found = Some(i),
                        Some(_) if word.eq_ignore_ascii_case("recursive") => return Some(i),
                        Some(at) => return Some(at),
                        None => {}
                    }
                }
            }
            _ => i += 1,
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctes() -> Vec<(String, String)> {
        vec![("__dbt__cte__a".into(), "select 1".into())]
    }

    #[test]
    fn joins_an_existing_with_like_dbt() {
        let out = inject(
            "\n\nwith orders as (select 2)\nselect * from orders",
            &ctes(),
        );
        assert_eq!(
            out,
            "\n\nwith  __dbt__cte__a as (\nselect 1\n), orders as (select 2)\nselect * from orders"
        );
    }

    #[test]
    fn adds_a_with_when_there_is_none() {
        let out = inject("select * from __dbt__cte__a", &ctes());
        assert_eq!(
            out,
            "with __dbt__cte__a as (\nselect 1\n) select * from __dbt__cte__a"
        );
    }

    #[test]
    fn ignores_with_inside_strings_and_parens() {
        let out = inject(
            "select 'with' as w, (with x as (select 1) select * from x)",
            &ctes(),
        );
        assert!(out.starts_with("with __dbt__cte__a"), "{out}");
    }
}
