//! dbt's query comment: every statement kiln runs for a node starts with
//! `/* {"app": "dbt", "dbt_version": ..., "node_id": ...} */`, so query
//! history tells which model ran it. `query-comment:` in dbt_project.yml
//! changes it (a Jinja string, or `{comment: ..., append: true}`) or turns
//! it off (`null` or `''`).

use serde_json::{json, Value as Json};

use crate::jinja::context::Scope;

/// What dbt_project.yml asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum QueryComment {
    Off,
    /// dbt's default comment.
    Default {
        append: bool,
    },
    /// A Jinja template, rendered for each node.
    Template {
        text: String,
        append: bool,
    },
}

impl QueryComment {
    /// From the `query-comment:` value (absent: dbt's default).
    pub fn from_config(value: Option<&Json>) -> QueryComment {
        let (comment, append) = match value {
            None => return QueryComment::Default { append: false },
            Some(Json::Object(m)) => (
                m.get("comment").cloned().unwrap_or(Json::Null),
                m.get("append").and_then(Json::as_bool).unwrap_or(false),
            ),
            Some(other) => (other.clone(), false),
        };
        match comment {
            Json::Null if value.is_some_and(Json::is_object) => QueryComment::Default { append },
            Json::Null => QueryComment::Off,
            Json::String(s) if s.is_empty() => QueryComment::Off,
            Json::String(s) => QueryComment::Template { text: s, append },
            other => QueryComment::Template {
                text: other.to_string(),
                append,
            },
        }
    }
}

/// `sql` with the comment for the node `scope` renders, as configured.
pub fn apply(scope: &std::sync::Arc<Scope>, package: &str, sql: &str) -> String {
    let comment = scope
        .query_comment
        .get_or_init(|| comment_for(scope, package));
    match comment {
        None => sql.to_string(),
        Some((text, true)) => format!("{sql}\n/* {text} */"),
        Some((text, false)) => format!("/* {text} */\n{sql}"),
    }
}

/// The comment's text (and whether it goes last), once per render.
fn comment_for(scope: &std::sync::Arc<Scope>, package: &str) -> Option<(String, bool)> {
    let (text, append) = match &scope.jinja.query_comment {
        QueryComment::Off => return None,
        QueryComment::Default { append } => {
            let target = &scope.jinja.target;
            let attr = |k: &str| {
                target
                    .get_attr(k)
                    .ok()
                    .filter(|v| !v.is_undefined())
                    .map(|v| v.to_string())
            };
            let mut comment = json!({
                "app": "dbt",
                "dbt_version": crate::project::DBT_VERSION,
                "profile_name": attr("profile_name"),
                "target_name": attr("target_name"),
            });
            match &scope.node {
                Some(n) => comment["node_id"] = Json::from(n.unique_id.clone()),
                None => comment["connection_name"] = Json::from("master"),
            }
            (
                crate::jinja::builtins::python_json_string(&comment),
                *append,
            )
        }
        QueryComment::Template { text, append } => (
            crate::jinja::render_in_scope(scope, package, "query-comment", text).ok()?,
            *append,
        ),
    };
    if text.trim().is_empty() {
        return None;
    }
    // A `*/` inside would end the comment early.
    Some((text.replace("*/", "* /"), append))
}
