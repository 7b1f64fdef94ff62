//! The selector language: `[@][N+]method:value[+N]` criteria, commas for
//! intersection, spaces for union, and the YAML definitions of selectors.yml.

use crate::cli::IndirectSelection;
use crate::error::{Error, Result};

/// The ways a criterion matches nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Fqn,
    Tag,
    Group,
    Access,
    Source,
    Path,
    File,
    Package,
    Config,
    TestName,
    TestType,
    ResourceType,
    State,
    Exposure,
    Result,
    Version,
    UnitTest,
}

pub const METHOD_NAMES: &[&str] = &[
    "fqn",
    "tag",
    "group",
    "access",
    "source",
    "path",
    "file",
    "package",
    "config",
    "test_name",
    "test_type",
    "resource_type",
    "state",
    "exposure",
    "result",
    "version",
    "unit_test",
];

impl Method {
    pub fn parse(name: &str) -> Option<Method> {
        Some(match name {
            "fqn" => Method::Fqn,
            "tag" => Method::Tag,
            "group" => Method::Group,
            "access" => Method::Access,
            "source" => Method::Source,
            "path" => Method::Path,
            "file" => Method::File,
            "package" => Method::Package,
            "config" => Method::Config,
            "test_name" => Method::TestName,
            "test_type" => Method::TestType,
            "resource_type" => Method::ResourceType,
            "state" => Method::State,
            "exposure" => Method::Exposure,
            "result" => Method::Result,
            "version" => Method::Version,
            "unit_test" => Method::UnitTest,
            _ => return None,
        })
    }
}

/// One criterion with its graph operators.
#[derive(Debug, Clone)]
pub struct Criteria {
    pub raw: String,
    pub method: Method,
    /// `config.materialized` → ["materialized"].
    pub args: Vec<String>,
    pub value: String,
    pub childrens_parents: bool,
    pub parents: bool,
    pub parents_depth: Option<usize>,
    pub children: bool,
    pub children_depth: Option<usize>,
    pub indirect: Option<IndirectSelection>,
}

#[derive(Debug, Clone)]
pub enum Spec {
    Criteria(Criteria),
    Union(Vec<Spec>),
    Intersection(Vec<Spec>),
    /// The first minus the union of the rest.
    Difference(Vec<Spec>),
}

/// dbt's default method for a bare value: a path, a file name, or an fqn.
fn default_method(value: &str) -> Method {
    if value.contains('/') || value.contains('\\') {
        Method::Path
    } else if [".sql", ".py", ".csv"]
        .iter()
        .any(|e| value.to_lowercase().ends_with(e))
    {
        Method::File
    } else {
        Method::Fqn
    }
}

fn unknown_method(name: &str, raw: &str) -> Error {
    Error::new(format!(
        "'{name}' in selector '{raw}' is not a selector method"
    ))
    .suggest(name, METHOD_NAMES.iter().copied())
    .note(format!("methods: {}", METHOD_NAMES.join(", ")))
}

/// Parses one criterion such as `+tag:nightly+2` or `@orders`.
pub fn parse_criteria(raw: &str) -> Result<Criteria> {
    let mut rest = raw;
    let childrens_parents = rest.starts_with('@');
    if childrens_parents {
        rest = &rest[1..];
    }
    // N+ prefix.
    let mut parents = false;
    let mut parents_depth = None;
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    if rest[digits.len()..].starts_with('+') {
        parents = true;
        parents_depth = digits.parse().ok();
        rest = &rest[digits.len() + 1..];
    }
    // +N suffix.
    let mut children = false;
    let mut children_depth = None;
    if let Some(pos) = rest.rfind('+') {
        let tail = &rest[pos + 1..];
        if tail.chars().all(|c| c.is_ascii_digit()) {
            children = true;
            children_depth = tail.parse().ok();
            rest = &rest[..pos];
        }
    }
    if childrens_parents && children {
        return Err(Error::new(format!(
            "selector '{raw}': the '@' prefix and a '+' suffix cannot be combined"
        )));
    }
    let (method, args, value) = match rest.split_once(':') {
        Some((m, v))
            if m.chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '.')
                && !m.is_empty() =>
        {
            let mut parts = m.split('.');
            let name = parts.next().unwrap_or_default();
            let method = Method::parse(name).ok_or_else(|| unknown_method(name, raw))?;
            (method, parts.map(str::to_string).collect(), v.to_string())
        }
        _ => (default_method(rest), Vec::new(), rest.to_string()),
    };
    if value.is_empty() {
        return Err(Error::new(format!(
            "selector '{raw}' has no value to match"
        )));
    }
    if method == Method::Config && args.is_empty() {
        return Err(Error::new(format!(
            "selector '{raw}': write config.<key>:<value>, e.g. config.materialized:table"
        )));
    }
    Ok(Criteria {
        raw: raw.to_string(),
        method,
        args,
        value,
        childrens_parents,
        parents,
        parents_depth,
        children,
        children_depth,
        indirect: None,
    })
}

/// `-s "a b,c" d` → union(a, intersection(b, c), d).
pub fn parse_union(words: &[String]) -> Result<Spec> {
    let mut parts = Vec::new();
    for word in words.iter().flat_map(|w| w.split_whitespace()) {
        let inter: Vec<Spec> = word
            .split(',')
            .filter(|p| !p.is_empty())
            .map(|p| parse_criteria(p).map(Spec::Criteria))
            .collect::<Result<_>>()?;
        parts.push(Spec::Intersection(inter));
    }
    Ok(Spec::Union(parts))
}

/// The selection for --select/--exclude (everything when --select is empty).
pub fn from_cli(select: &[String], exclude: &[String]) -> Result<Spec> {
    let include = if select.is_empty() {
        parse_union(&["fqn:*".into(), "source:*".into(), "exposure:*".into()])?
    } else {
        parse_union(select)?
    };
    let mut parts = vec![include];
    if !exclude.is_empty() {
        parts.push(parse_union(exclude)?);
    }
    Ok(Spec::Difference(parts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graph_operators() {
        let c = parse_criteria("2+tag:nightly+1").unwrap();
        assert_eq!(c.method, Method::Tag);
        assert_eq!(c.value, "nightly");
        assert!(c.parents && c.children);
        assert_eq!(c.parents_depth, Some(2));
        assert_eq!(c.children_depth, Some(1));
        let c = parse_criteria("@orders").unwrap();
        assert!(c.childrens_parents);
        assert_eq!(c.method, Method::Fqn);
        assert!(parse_criteria("@orders+").is_err());
    }

    #[test]
    fn default_methods() {
        assert_eq!(
            parse_criteria("models/staging").unwrap().method,
            Method::Path
        );
        assert_eq!(parse_criteria("orders.sql").unwrap().method, Method::File);
        let c = parse_criteria("config.materialized:table").unwrap();
        assert_eq!(c.args, vec!["materialized"]);
    }

    #[test]
    fn unknown_method_suggests() {
        let e = parse_criteria("tags:nightly").unwrap_err();
        assert!(e.to_string().contains("did you mean 'tag'"), "{e}");
    }
}
