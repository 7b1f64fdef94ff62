//! Columns as templates see them: dbt's `Column` (with dbt-duckdb's type
//! families), returned by `adapter.get_columns_in_relation` and made with
//! `api.Column(...)`, `api.Column.create(...)`, `api.Column.from_description(...)`.
//! Packages read `data_type`, `quoted` and the `is_*()` tests to write SQL,
//! so each follows dbt's rules exactly (a VARCHAR's data_type is
//! `character varying(256)`, as dbt-duckdb reports it).

use std::sync::Arc;

use minijinja::value::{Kwargs, Object, Value};
use minijinja::{Error, ErrorKind, State};

use crate::jinja::relation::quote_identifier;

#[derive(Debug, Clone, Default)]
pub struct ColumnObj {
    pub name: String,
    pub dtype: String,
    pub char_size: Option<i64>,
    pub numeric_precision: Option<i64>,
    pub numeric_scale: Option<i64>,
}

/// dbt's only default label translation (`string` → `TEXT`); Spark's
/// column keeps every name (Spark has `string` and no `text`).
pub fn translate_type(dtype: &str) -> String {
    if dtype.eq_ignore_ascii_case("string") && !spark() {
        "TEXT".to_string()
    } else {
        dtype.to_string()
    }
}

fn spark() -> bool {
    crate::jinja::relation::style() == crate::jinja::relation::RelationStyle::Spark
}

/// Spark SQL says `decimal`, never `numeric`.
fn numeric_type(dtype: &str, precision: Option<i64>, scale: Option<i64>) -> String {
    let dtype = if spark() { "decimal" } else { dtype };
    match (precision, scale) {
        (Some(p), Some(s)) => format!("{dtype}({p},{s})"),
        _ => dtype.to_string(),
    }
}

fn string_type(size: i64) -> String {
    format!("character varying({size})")
}

fn one_of(dtype: &str, names: &[&str]) -> bool {
    let lower = dtype.to_ascii_lowercase();
    names.contains(&lower.as_str())
}

impl ColumnObj {
    pub fn new(name: &str, dtype: &str) -> ColumnObj {
        ColumnObj {
            name: name.to_string(),
            dtype: dtype.to_string(),
            ..Default::default()
        }
    }

    /// A raw type such as `varchar(20)` or `numeric(10,2)` split into its
    /// size parts, as dbt's `Column.from_description`.
    pub fn from_description(name: &str, raw: &str) -> ColumnObj {
        let mut col = ColumnObj::new(name, raw);
        if let Some((base, rest)) = raw.split_once('(') {
            if let Some(inner) = rest.strip_suffix(')') {
                let parts: Vec<Option<i64>> =
                    inner.split(',').map(|p| p.trim().parse().ok()).collect();
                col.dtype = base.trim().to_string();
                match parts.as_slice() {
                    [size] => col.char_size = *size,
                    [p, s] => {
                        col.numeric_precision = *p;
                        col.numeric_scale = *s;
                    }
                    _ => col.dtype = raw.to_string(),
                }
            }
        }
        col
    }

    pub fn into_value(self) -> Value {
        Value::from_object(self)
    }

    fn is_string(&self) -> bool {
        one_of(
            &self.dtype,
            &["text", "character varying", "character", "varchar"],
        )
    }

    fn is_float(&self) -> bool {
        one_of(
            &self.dtype,
            &[
                "real",
                "float",
                "float4",
                "float8",
                "double",
                "double precision",
            ],
        )
    }

    fn is_integer(&self) -> bool {
        one_of(
            &self.dtype,
            &[
                "tinyint",
                "smallint",
                "integer",
                "bigint",
                "hugeint",
                "utinyint",
                "usmallint",
                "uinteger",
                "ubigint",
                "int1",
                "int2",
                "int4",
                "int8",
                "short",
                "int",
                "signed",
                "long",
                "serial",
                "bigserial",
                "smallserial",
            ],
        )
    }

    fn is_numeric(&self) -> bool {
        one_of(&self.dtype, &["numeric", "decimal"])
    }

    fn string_size(&self) -> Result<i64, Error> {
        if !self.is_string() {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                format!(
                    "string_size() was called on column '{}', which is not a string",
                    self.name
                ),
            ));
        }
        Ok(match self.char_size {
            Some(n) if self.dtype != "text" => n,
            _ => 256,
        })
    }

    pub fn data_type(&self) -> String {
        if self.is_string() {
            string_type(self.string_size().unwrap_or(256))
        } else if self.is_numeric() {
            numeric_type(&self.dtype, self.numeric_precision, self.numeric_scale)
        } else {
            self.dtype.clone()
        }
    }
}

fn opt_int(v: Option<Value>) -> Option<i64> {
    v.filter(|v| !v.is_none() && !v.is_undefined())
        .and_then(|v| i64::try_from(v).ok())
}

impl Object for ColumnObj {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        Some(match key.as_str()? {
            "name" | "column" => Value::from(self.name.clone()),
            "quoted" => Value::from(quote_identifier(&self.name)),
            "dtype" => Value::from(self.dtype.clone()),
            "data_type" | "expanded_data_type" => Value::from(self.data_type()),
            "char_size" => Value::from(self.char_size),
            "numeric_precision" => Value::from(self.numeric_precision),
            "numeric_scale" => Value::from(self.numeric_scale),
            _ => return None,
        })
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        Ok(match method {
            "is_string" => Value::from(self.is_string()),
            "is_integer" => Value::from(self.is_integer()),
            "is_float" => Value::from(self.is_float()),
            "is_numeric" => Value::from(self.is_numeric()),
            "is_number" => Value::from(self.is_integer() || self.is_numeric() || self.is_float()),
            "string_size" => Value::from(self.string_size()?),
            "can_expand_to" => {
                let other = args
                    .first()
                    .and_then(|v| v.downcast_object_ref::<ColumnObj>())
                    .ok_or_else(|| {
                        Error::new(
                            ErrorKind::InvalidOperation,
                            "can_expand_to() needs a column",
                        )
                    })?;
                Value::from(
                    self.is_string()
                        && other.is_string()
                        && other.string_size()? > self.string_size()?,
                )
            }
            "literal" => Value::from(format!(
                "{}::{}",
                args.first().cloned().unwrap_or_default(),
                self.data_type()
            )),
            _ => return Arc::new(ColumnApi).call_method(_state, method, args),
        })
    }

    fn render(self: &Arc<Self>, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "<Column {} ({})>", self.name, self.data_type())
    }
}

/// `api.Column`: a constructor with dbt's class methods.
#[derive(Debug)]
pub struct ColumnApi;

fn text_arg(args: &[Value], i: usize) -> String {
    args.get(i)
        .filter(|v| !v.is_none() && !v.is_undefined())
        .map(|v| v.to_string())
        .unwrap_or_default()
}

impl Object for ColumnApi {
    /// `api.Column(name, dtype, char_size, numeric_precision, numeric_scale)`.
    fn call(self: &Arc<Self>, _state: &mut State<'_, '_>, args: &[Value]) -> Result<Value, Error> {
        let (pos, kwargs) = match args.last().and_then(crate::jinja::kwargs_of) {
            Some(k) => (&args[..args.len() - 1], Some(k)),
            None => (args, None::<Kwargs>),
        };
        let get = |i: usize, name: &str| -> Result<Option<Value>, Error> {
            if let Some(v) = pos.get(i) {
                return Ok(Some(v.clone()));
            }
            match &kwargs {
                Some(k) => k.get::<Option<Value>>(name),
                None => Ok(None),
            }
        };
        let name = get(0, "column")?.map(|v| v.to_string()).unwrap_or_default();
        let dtype = get(1, "dtype")?.map(|v| v.to_string()).unwrap_or_default();
        Ok(ColumnObj {
            name,
            dtype,
            char_size: opt_int(get(2, "char_size")?),
            numeric_precision: opt_int(get(3, "numeric_precision")?),
            numeric_scale: opt_int(get(4, "numeric_scale")?),
        }
        .into_value())
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        Ok(match method {
            "create" => {
                ColumnObj::new(&text_arg(args, 0), &translate_type(&text_arg(args, 1))).into_value()
            }
            "from_description" => {
                ColumnObj::from_description(&text_arg(args, 0), &text_arg(args, 1)).into_value()
            }
            "translate_type" => Value::from(translate_type(&text_arg(args, 0))),
            "numeric_type" => Value::from(numeric_type(
                &text_arg(args, 0),
                opt_int(args.get(1).cloned()),
                opt_int(args.get(2).cloned()),
            )),
            "string_type" => {
                Value::from(string_type(opt_int(args.first().cloned()).unwrap_or(256)))
            }
            _ => {
                return Err(Error::new(
                    ErrorKind::UnknownMethod,
                    format!("api.Column has no method '{method}'"),
                ))
            }
        })
    }
}
