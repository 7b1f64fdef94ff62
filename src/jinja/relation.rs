//! Relations as templates see them: `{{ ref('orders') }}` renders as
//! `"db"."schema"."orders"`, and offers .database/.schema/.identifier/.name,
//! .include(), .incorporate(), .quote(), .render() like dbt's BaseRelation.

use std::fmt;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

use minijinja::value::{Enumerator, Kwargs, Object, Value};
use minijinja::{Error, ErrorKind, State};
use serde::Serialize;

/// What dbt puts before an ephemeral model's name to name its CTE.
pub const CTE_PREFIX: &str = "__dbt__cte__";

/// Which parts of a relation name are printed, or quoted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Parts {
    pub database: bool,
    pub schema: bool,
    pub identifier: bool,
}

impl Parts {
    pub const ALL: Parts = Parts {
        database: true,
        schema: true,
        identifier: true,
    };
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Relation {
    pub database: Option<String>,
    pub schema: Option<String>,
    pub identifier: Option<String>,
    /// table, view, cte, external, materialized_view, or none when unknown.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub quote_policy: Parts,
    pub include_policy: Parts,
    /// An ephemeral model: rendered as its CTE name.
    pub is_cte: bool,
    /// `--empty`: rendered as a subquery with no rows, so a model's SQL runs
    /// without reading data.
    #[serde(skip)]
    pub empty: bool,
    /// `--sample`: only rows whose event time falls in the window.
    #[serde(skip)]
    pub event_time_filter: Option<EventTimeFilter>,
}

/// Rows of a relation whose `column` is in [start, end).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventTimeFilter {
    pub column: String,
    /// `YYYY-MM-DD HH:MM:SS`, UTC.
    pub start: String,
    pub end: String,
}

impl Relation {
    pub fn new(database: &str, schema: &str, identifier: &str) -> Relation {
        Relation {
            database: Some(database.to_string()),
            schema: Some(schema.to_string()),
            identifier: Some(identifier.to_string()),
            kind: None,
            quote_policy: Parts::ALL,
            include_policy: Parts::ALL,
            is_cte: false,
            empty: false,
            event_time_filter: None,
        }
    }

    /// The relation an ephemeral model stands for: its CTE.
    pub fn cte(model_name: &str) -> Relation {
        Relation {
            database: None,
            schema: None,
            identifier: Some(format!("{CTE_PREFIX}{model_name}")),
            kind: Some("cte".into()),
            quote_policy: Parts::ALL,
            include_policy: Parts {
                database: false,
                schema: false,
                identifier: true,
            },
            is_cte: true,
            empty: false,
            event_time_filter: None,
        }
    }

    /// A relation named by its identifier alone (temporary tables, unit test fixtures).
    /// Files read in place (an external source): the expression as written.
    pub fn external(expression: &str) -> Relation {
        Relation {
            kind: Some("external".into()),
            quote_policy: Parts {
                database: false,
                schema: false,
                identifier: false,
            },
            ..Relation::bare(expression)
        }
    }

    pub fn bare(identifier: &str) -> Relation {
        Relation {
            database: None,
            schema: None,
            identifier: Some(identifier.to_string()),
            kind: Some("table".into()),
            quote_policy: Parts::ALL,
            include_policy: Parts {
                database: false,
                schema: false,
                identifier: true,
            },
            is_cte: false,
            empty: false,
            event_time_filter: None,
        }
    }

    pub fn with_kind(mut self, kind: Option<&str>) -> Relation {
        self.kind = kind.map(str::to_string);
        self
    }

    /// The relation class dbt's adapter would use (dbt_utils tells relations
    /// from strings by its name).
    fn class_name() -> &'static str {
        match style() {
            RelationStyle::Postgres => "PostgresRelation",
            RelationStyle::Spark => "SparkRelation",
            RelationStyle::DuckDb => "DuckDBRelation",
        }
    }

    /// The SQL text of the relation, e.g. `"db"."main"."orders"`.
    pub fn rendered(&self) -> String {
        if self.is_cte {
            return self.identifier.clone().unwrap_or_default();
        }
        // As dbt's --empty and --sample: the relation, limited. DuckDB needs
        // no alias (so `{{ ref('x') }} as x` still parses there); PostgreSQL
        // requires one, named as dbt-postgres names it.
        let limit = if self.empty {
            Some(("false limit 0".to_string(), "_dbt_limit_subq_"))
        } else {
            self.event_time_filter.as_ref().map(|f| {
                (
                    format!(
                        "{0} >= '{1}' and {0} < '{2}'",
                        quote_identifier(&f.column),
                        f.start,
                        f.end
                    ),
                    "_dbt_et_filter_subq_",
                )
            })
        };
        if let Some((condition, alias_prefix)) = limit {
            let base = Relation {
                empty: false,
                event_time_filter: None,
                ..self.clone()
            }
            .rendered();
            let alias = if style() == RelationStyle::Postgres {
                format!(
                    " {alias_prefix}{}",
                    self.identifier.as_deref().unwrap_or("")
                )
            } else {
                String::new()
            };
            return format!("(select * from {base} where {condition}){alias}");
        }
        let parts = [
            (
                self.include_policy.database,
                self.quote_policy.database,
                &self.database,
            ),
            (
                self.include_policy.schema,
                self.quote_policy.schema,
                &self.schema,
            ),
            (
                self.include_policy.identifier,
                self.quote_policy.identifier,
                &self.identifier,
            ),
        ];
        // dbt-spark: no database part, and names unquoted by default.
        let spark = style() == RelationStyle::Spark;
        let mut out = Vec::new();
        for (i, (include, quote, part)) in parts.into_iter().enumerate() {
            let (include, quote) = if spark {
                (include && i > 0, false)
            } else {
                (include, quote)
            };
            if let (true, Some(p)) = (include, part) {
                if p.is_empty() {
                    continue;
                }
                out.push(if quote {
                    quote_identifier(p)
                } else {
                    p.clone()
                });
            }
        }
        out.join(".")
    }

    pub fn to_value(self) -> Value {
        Value::from_object(self)
    }
}

/// How relations render, by the warehouse (one per process, set once the
/// profile is known).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelationStyle {
    DuckDb = 0,
    Postgres = 1,
    Spark = 2,
}

static STYLE: AtomicU8 = AtomicU8::new(0);

pub fn use_relation_style(adapter_type: &str) {
    let style = match adapter_type {
        "postgres" => RelationStyle::Postgres,
        "spark" => RelationStyle::Spark,
        _ => RelationStyle::DuckDb,
    };
    STYLE.store(style as u8, Ordering::Relaxed);
}

pub fn style() -> RelationStyle {
    match STYLE.load(Ordering::Relaxed) {
        1 => RelationStyle::Postgres,
        2 => RelationStyle::Spark,
        _ => RelationStyle::DuckDb,
    }
}

/// Does the warehouse compare relation names without case (DuckDB), or
/// are quoted names distinct by case (PostgreSQL)?
pub fn names_ignore_case() -> bool {
    style() != RelationStyle::Postgres
}

/// Does `sql` hold relations limited by `--empty` or an event-time filter?
pub fn has_limit_aliases(sql: &str) -> bool {
    sql.contains("_dbt_limit_subq_") || sql.contains("_dbt_et_filter_subq_")
}

/// `--empty` on PostgreSQL: where the query gives a limited relation an
/// alias of its own (`{{ ref('x') }} as x`), kiln's alias is dropped, so
/// the SQL stays valid (dbt-postgres fails on such models).
pub fn drop_doubled_limit_aliases(sql: &str) -> String {
    if !has_limit_aliases(sql) {
        return sql.to_string();
    }
    const FOLLOWS_WITHOUT_ALIAS: [&str; 27] = [
        "where",
        "join",
        "left",
        "right",
        "inner",
        "full",
        "cross",
        "natural",
        "on",
        "using",
        "group",
        "order",
        "limit",
        "offset",
        "fetch",
        "union",
        "except",
        "intersect",
        "having",
        "window",
        "lateral",
        "for",
        "returning",
        "qualify",
        "into",
        "when",
        "then",
    ];
    let re = crate::regex!(r"\) _dbt_(?:limit|et_filter)_subq_\w+(\s+)([A-Za-z_]\w*)");
    re.replace_all(sql, |c: &regex::Captures| {
        let word = &c[2];
        if FOLLOWS_WITHOUT_ALIAS.contains(&word.to_ascii_lowercase().as_str()) {
            c[0].to_string()
        } else {
            format!("){}{word}", &c[1])
        }
    })
    .into_owned()
}

/// The warehouse's identifier quoting (backticks on Spark).
pub fn quote_identifier(s: &str) -> String {
    if style() == RelationStyle::Spark {
        return crate::adapter::spark::quote(s);
    }
    format!("\"{}\"", s.replace('"', "\"\""))
}

fn flag(kwargs: &Kwargs, key: &str, current: bool) -> Result<bool, Error> {
    Ok(kwargs.get::<Option<bool>>(key)?.unwrap_or(current))
}

impl Object for Relation {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let opt = |s: &Option<String>| s.clone().map(Value::from).unwrap_or(Value::from(()));
        Some(match key.as_str()? {
            "database" => opt(&self.database),
            "schema" => opt(&self.schema),
            "identifier" | "name" | "table" => opt(&self.identifier),
            "type" => opt(&self.kind),
            "is_table" => Value::from(self.kind.as_deref() == Some("table")),
            "is_view" => Value::from(self.kind.as_deref() == Some("view")),
            "is_cte" => Value::from(self.is_cte),
            "is_materialized_view" => {
                Value::from(self.kind.as_deref() == Some("materialized_view"))
            }
            "path" => crate::jinja::to_value(serde_json::json!({
                "database": self.database, "schema": self.schema, "identifier": self.identifier
            })),
            // Packages tell relations from strings by this (dbt_utils' _is_relation).
            "metadata" => {
                crate::jinja::to_value(serde_json::json!({"type": Relation::class_name()}))
            }
            "quote_policy" => crate::jinja::to_value(self.quote_policy),
            "include_policy" => crate::jinja::to_value(self.include_policy),
            "Table" => Value::from("table"),
            "View" => Value::from("view"),
            "CTE" => Value::from("cte"),
            "External" => Value::from("external"),
            _ => return None,
        })
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Str(&["database", "schema", "identifier", "name", "type"])
    }

    fn is_true(self: &Arc<Self>) -> bool {
        true
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let kwargs = args
            .last()
            .and_then(crate::jinja::kwargs_of)
            .unwrap_or_else(|| Kwargs::from_iter(std::iter::empty::<(String, Value)>()));
        let mut r = (**self).clone();
        match method {
            "include" => {
                r.include_policy = Parts {
                    database: flag(&kwargs, "database", r.include_policy.database)?,
                    schema: flag(&kwargs, "schema", r.include_policy.schema)?,
                    identifier: flag(&kwargs, "identifier", r.include_policy.identifier)?,
                };
                Ok(r.to_value())
            }
            "quote" => {
                r.quote_policy = Parts {
                    database: flag(&kwargs, "database", r.quote_policy.database)?,
                    schema: flag(&kwargs, "schema", r.quote_policy.schema)?,
                    identifier: flag(&kwargs, "identifier", r.quote_policy.identifier)?,
                };
                Ok(r.to_value())
            }
            "incorporate" => {
                if let Some(path) = kwargs.get::<Option<Value>>("path")? {
                    for (field, slot) in [
                        ("database", &mut r.database),
                        ("schema", &mut r.schema),
                        ("identifier", &mut r.identifier),
                    ] {
                        if let Ok(v) = path.get_attr(field) {
                            if let Some(s) = v.as_str() {
                                *slot = Some(s.to_string());
                            } else if v.is_none() {
                                *slot = None;
                            }
                        }
                    }
                }
                if let Some(t) = kwargs.get::<Option<Value>>("type")? {
                    r.kind = t.as_str().map(str::to_string);
                }
                Ok(r.to_value())
            }
            "render" => Ok(Value::from(self.rendered())),
            "without_identifier" => {
                r.include_policy.identifier = false;
                Ok(r.to_value())
            }
            "replace_path" => {
                for (field, slot) in [
                    ("database", &mut r.database),
                    ("schema", &mut r.schema),
                    ("identifier", &mut r.identifier),
                ] {
                    if let Some(v) = kwargs.get::<Option<String>>(field)? {
                        *slot = Some(v);
                    }
                }
                Ok(r.to_value())
            }
            _ => Err(Error::new(
                ErrorKind::UnknownMethod,
                format!("relations have no method '{method}'"),
            )),
        }
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.rendered())
    }
}

/// `api.Relation.create(database=, schema=, identifier=, type=)`.
pub fn create(kwargs: Kwargs) -> Result<Value, Error> {
    let get = |k: &str| -> Result<Option<String>, Error> { kwargs.get::<Option<String>>(k) };
    let identifier = match get("identifier")? {
        Some(i) => Some(i),
        None => get("name")?,
    };
    let r = Relation {
        database: get("database")?,
        schema: get("schema")?,
        identifier,
        kind: get("type")?,
        quote_policy: Parts::ALL,
        include_policy: Parts::ALL,
        is_cte: false,
        empty: false,
        event_time_filter: None,
    };
    // Unused keys (quote_policy, ...) are accepted as dbt accepts them.
    let _ = kwargs.get::<Option<Value>>("quote_policy");
    let _ = kwargs.get::<Option<Value>>("name");
    Ok(r.to_value())
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_limited_relation_with_its_own_alias_loses_kiln_s() {
        let sql = "select * from (select * from t where false limit 0) _dbt_limit_subq_t as i \
                   join (select * from u where false limit 0) _dbt_limit_subq_u\n  where 1 = 1";
        assert_eq!(
            drop_doubled_limit_aliases(sql),
            "select * from (select * from t where false limit 0) as i \
                   join (select * from u where false limit 0) _dbt_limit_subq_u\n  where 1 = 1"
        );
    }

    use super::*;

    #[test]
    fn renders_quoted_path() {
        assert_eq!(
            Relation::new("dev", "main", "orders").rendered(),
            r#""dev"."main"."orders""#
        );
        assert_eq!(Relation::cte("stg").rendered(), "__dbt__cte__stg");
    }
}
