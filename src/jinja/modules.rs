//! `exceptions` and `modules` (datetime, re, itertools, pytz): the parts of
//! Python that dbt exposes to templates, in the shapes packages use.

use std::fmt;
use std::sync::Arc;

use chrono::{Datelike, NaiveDate, NaiveDateTime, TimeDelta, Timelike};
use minijinja::value::{Enumerator, Kwargs, Object, ObjectRepr, Value, ValueKind};
use minijinja::{Error, ErrorKind, State};

use crate::jinja::methods::List;

/// `exceptions.raise_compiler_error(msg)`, `exceptions.warn(msg)`, ...
#[derive(Debug)]
pub struct Exceptions;

impl Object for Exceptions {
    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let msg = args.first().map(|v| v.to_string()).unwrap_or_default();
        match method {
            "warn" => {
                crate::output::warn(&msg);
                Ok(Value::from(""))
            }
            "raise_compiler_error"
            | "raise_not_implemented"
            | "raise_database_error"
            | "raise_dependency_error"
            | "raise_fail_fast_error"
            | "raise_contract_error"
            | "column_type_missing"
            | "raise_ambiguous_alias"
            | "relation_wrong_type" => Err(Error::new(ErrorKind::InvalidOperation, msg)),
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }
}

pub fn modules_value() -> Value {
    Value::from_object(Modules)
}

#[derive(Debug)]
struct Modules;

impl Object for Modules {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        Some(match key.as_str()? {
            "datetime" => Value::from_object(Module::Datetime),
            "re" => Value::from_object(Module::Re),
            "itertools" => Value::from_object(Module::Itertools),
            "pytz" => Value::from_object(Module::Pytz),
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy)]
enum Module {
    Datetime,
    Re,
    Itertools,
    Pytz,
}

#[derive(Debug, Clone, Copy)]
enum DtClass {
    Datetime,
    Date,
    Timedelta,
}

impl Object for Module {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let key = key.as_str()?;
        match (**self, key) {
            (Module::Datetime, "datetime") => Some(Value::from_object(DtClass::Datetime)),
            (Module::Datetime, "date") => Some(Value::from_object(DtClass::Date)),
            (Module::Datetime, "timedelta") => Some(Value::from_object(DtClass::Timedelta)),
            (Module::Re, "IGNORECASE" | "I") => Some(Value::from(2)),
            (Module::Re, "MULTILINE" | "M") => Some(Value::from(8)),
            (Module::Re, "DOTALL" | "S") => Some(Value::from(16)),
            (Module::Re, "VERBOSE" | "X") => Some(Value::from(64)),
            (Module::Pytz, "utc" | "UTC") => Some(Value::from("UTC")),
            _ => None,
        }
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match **self {
            Module::Re => re_call(None, method, args),
            Module::Itertools => itertools_call(method, args),
            Module::Pytz if method == "timezone" => {
                Ok(args.first().cloned().unwrap_or(Value::from("UTC")))
            }
            Module::Datetime => Err(Error::from(ErrorKind::UnknownMethod)),
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }
}

impl Object for DtClass {
    fn call(self: &Arc<Self>, _state: &mut State<'_, '_>, args: &[Value]) -> Result<Value, Error> {
        let (pos, kwargs) = split(args);
        let int = |i: usize, k: &str, d: i64| -> Result<i64, Error> {
            if let Some(v) = pos.get(i) {
                return Ok(v.as_i64().unwrap_or(d));
            }
            match &kwargs {
                Some(kw) => Ok(kw.get::<Option<i64>>(k)?.unwrap_or(d)),
                None => Ok(d),
            }
        };
        match **self {
            DtClass::Timedelta => {
                let f = |k: &str| -> Result<f64, Error> {
                    match &kwargs {
                        Some(kw) => Ok(kw.get::<Option<f64>>(k)?.unwrap_or(0.0)),
                        None => Ok(0.0),
                    }
                };
                let days = pos
                    .first()
                    .and_then(|v| f64::try_from(v.clone()).ok())
                    .unwrap_or(f("days")?);
                let secs = days * 86400.0
                    + f("weeks")? * 604800.0
                    + f("hours")? * 3600.0
                    + f("minutes")? * 60.0
                    + f("seconds")?
                    + f("milliseconds")? / 1000.0;
                Ok(Value::from_object(Delta(TimeDelta::milliseconds(
                    (secs * 1000.0) as i64,
                ))))
            }
            DtClass::Date => {
                let d = NaiveDate::from_ymd_opt(
                    int(0, "year", 1970)? as i32,
                    int(1, "month", 1)? as u32,
                    int(2, "day", 1)? as u32,
                )
                .ok_or_else(|| Error::new(ErrorKind::InvalidOperation, "date(): invalid date"))?;
                Ok(date_value(d))
            }
            DtClass::Datetime => {
                let (h, mi, s) = (
                    int(3, "hour", 0)? as u32,
                    int(4, "minute", 0)? as u32,
                    int(5, "second", 0)? as u32,
                );
                let d = NaiveDate::from_ymd_opt(
                    int(0, "year", 1970)? as i32,
                    int(1, "month", 1)? as u32,
                    int(2, "day", 1)? as u32,
                )
                .and_then(|d| d.and_hms_opt(h, mi, s))
                .ok_or_else(|| {
                    Error::new(ErrorKind::InvalidOperation, "datetime(): invalid date")
                })?;
                Ok(datetime_value(d))
            }
        }
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let s = |i: usize| {
            args.get(i)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let bad =
            |what: &str, e: String| Error::new(ErrorKind::InvalidOperation, format!("{what}: {e}"));
        match (**self, method) {
            (DtClass::Datetime, "now" | "utcnow") => {
                Ok(datetime_value(chrono::Utc::now().naive_utc()))
            }
            (DtClass::Date, "today") => Ok(date_value(chrono::Utc::now().date_naive())),
            (DtClass::Datetime, "strptime") => {
                let fmt = s(1);
                NaiveDateTime::parse_from_str(&s(0), &fmt)
                    .or_else(|_| {
                        NaiveDate::parse_from_str(&s(0), &fmt)
                            .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default())
                    })
                    .map(datetime_value)
                    .map_err(|e| bad("strptime", e.to_string()))
            }
            (DtClass::Datetime, "fromisoformat") => parse_iso_datetime(&s(0))
                .map(datetime_value)
                .ok_or_else(|| {
                    bad(
                        "fromisoformat",
                        format!("invalid isoformat string '{}'", s(0)),
                    )
                }),
            (DtClass::Date, "fromisoformat") => NaiveDate::parse_from_str(&s(0), "%Y-%m-%d")
                .map(date_value)
                .map_err(|e| bad("fromisoformat", e.to_string())),
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }
}

fn parse_iso_datetime(s: &str) -> Option<NaiveDateTime> {
    [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
    .or_else(|| {
        NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
    })
}

fn split(args: &[Value]) -> (&[Value], Option<Kwargs>) {
    match args.last().and_then(crate::jinja::kwargs_of) {
        Some(k) => (&args[..args.len() - 1], Some(k)),
        None => (args, None),
    }
}

/// A datetime value that prints as Python's str(datetime).
#[derive(Debug, Clone)]
struct DateTime(NaiveDateTime, bool);

#[derive(Debug, Clone)]
struct Delta(TimeDelta);

pub fn datetime_value(d: NaiveDateTime) -> Value {
    Value::from_object(DateTime(d, false))
}

fn date_value(d: NaiveDate) -> Value {
    Value::from_object(DateTime(d.and_hms_opt(0, 0, 0).unwrap_or_default(), true))
}

impl Object for DateTime {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let d = &self.0;
        Some(Value::from(match key.as_str()? {
            "year" => d.year() as i64,
            "month" => d.month() as i64,
            "day" => d.day() as i64,
            "hour" => d.hour() as i64,
            "minute" => d.minute() as i64,
            "second" => d.second() as i64,
            "microsecond" => (d.nanosecond() / 1000) as i64,
            _ => return None,
        }))
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match method {
            "strftime" => {
                let fmt = args
                    .first()
                    .and_then(Value::as_str)
                    .unwrap_or("%Y-%m-%d %H:%M:%S");
                Ok(Value::from(self.0.format(fmt).to_string()))
            }
            "isoformat" => Ok(Value::from(if self.1 {
                self.0.format("%Y-%m-%d").to_string()
            } else {
                self.0.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
            })),
            "date" => Ok(date_value(self.0.date())),
            "timestamp" => Ok(Value::from(self.0.and_utc().timestamp() as f64)),
            "weekday" => Ok(Value::from(self.0.weekday().num_days_from_monday() as i64)),
            "isoweekday" => Ok(Value::from(self.0.weekday().number_from_monday() as i64)),
            "astimezone" | "replace"
                if args
                    .iter()
                    .all(|a| a.is_kwargs() || a.kind() != ValueKind::Number) =>
            {
                Ok(Value::from_object((**self).clone()))
            }
            "add" | "plus" => match args
                .first()
                .and_then(|a| a.downcast_object_ref::<Delta>().cloned())
            {
                Some(delta) => Ok(Value::from_object(DateTime(self.0 + delta.0, self.1))),
                None => Err(Error::new(
                    ErrorKind::InvalidOperation,
                    "add() takes a timedelta",
                )),
            },
            "minus" => match args
                .first()
                .and_then(|a| a.downcast_object_ref::<Delta>().cloned())
            {
                Some(delta) => Ok(Value::from_object(DateTime(self.0 - delta.0, self.1))),
                None => Err(Error::new(
                    ErrorKind::InvalidOperation,
                    "minus() takes a timedelta",
                )),
            },
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.1 {
            write!(f, "{}", self.0.format("%Y-%m-%d"))
        } else if self.0.nanosecond() == 0 {
            write!(f, "{}", self.0.format("%Y-%m-%d %H:%M:%S"))
        } else {
            write!(f, "{}", self.0.format("%Y-%m-%d %H:%M:%S%.6f"))
        }
    }
}

impl Object for Delta {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match key.as_str()? {
            "days" => Some(Value::from(self.0.num_days())),
            "seconds" => Some(Value::from(self.0.num_seconds() % 86400)),
            _ => None,
        }
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        _args: &[Value],
    ) -> Result<Value, Error> {
        match method {
            "total_seconds" => Ok(Value::from(self.0.num_milliseconds() as f64 / 1000.0)),
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0.num_seconds();
        let days = secs.div_euclid(86400);
        let rest = secs.rem_euclid(86400);
        let hms = format!("{}:{:02}:{:02}", rest / 3600, (rest % 3600) / 60, rest % 60);
        match days {
            0 => write!(f, "{hms}"),
            1 | -1 => write!(f, "{days} day, {hms}"),
            _ => write!(f, "{days} days, {hms}"),
        }
    }
}

/// A compiled pattern (`re.compile`).
#[derive(Debug)]
struct Pattern(regex::Regex);

/// A match object (`re.match`, `re.search`).
#[derive(Debug)]
struct Match {
    groups: Vec<Option<String>>,
    start: usize,
    end: usize,
}

fn compile_pattern(pattern: &str, flags: i64) -> Result<regex::Regex, Error> {
    let mut prefix = String::new();
    if flags & 2 != 0 {
        prefix.push('i');
    }
    if flags & 8 != 0 {
        prefix.push('m');
    }
    if flags & 16 != 0 {
        prefix.push('s');
    }
    if flags & 64 != 0 {
        prefix.push('x');
    }
    let full = if prefix.is_empty() {
        pattern.to_string()
    } else {
        format!("(?{prefix}){pattern}")
    };
    regex::Regex::new(&full).map_err(|e| {
        Error::new(
            ErrorKind::InvalidOperation,
            format!("re: invalid pattern: {e}"),
        )
    })
}

fn to_match(re: &regex::Regex, text: &str, anchored: bool) -> Value {
    match re.captures(text) {
        Some(c) if !anchored || c.get(0).map(|m| m.start()) == Some(0) => {
            let whole = c.get(0).map(|m| (m.start(), m.end())).unwrap_or((0, 0));
            Value::from_object(Match {
                groups: c
                    .iter()
                    .map(|g| g.map(|m| m.as_str().to_string()))
                    .collect(),
                start: whole.0,
                end: whole.1,
            })
        }
        _ => Value::from(()),
    }
}

/// re functions; `compiled` is set when called on a compiled pattern (no pattern argument).
fn re_call(compiled: Option<&regex::Regex>, method: &str, args: &[Value]) -> Result<Value, Error> {
    let (pos, kwargs) = split(args);
    let flags = kwargs
        .as_ref()
        .and_then(|k| k.get::<Option<i64>>("flags").ok().flatten())
        .unwrap_or(0);
    let s = |i: usize| pos.get(i).map(|v| v.to_string()).unwrap_or_default();
    let (re, rest) = match compiled {
        Some(re) => (re.clone(), 0),
        None => {
            if method == "escape" {
                return Ok(Value::from(regex::escape(&s(0))));
            }
            let extra_flags = match method {
                "sub" => pos.get(4),
                "split" => pos.get(3),
                _ => pos.get(2),
            }
            .and_then(Value::as_i64)
            .unwrap_or(0);
            (compile_pattern(&s(0), flags | extra_flags)?, 1)
        }
    };
    match method {
        "compile" => Ok(Value::from_object(Pattern(re))),
        "match" => Ok(to_match(&re, &s(rest), true)),
        "fullmatch" => {
            let text = s(rest);
            let v = to_match(&re, &text, true);
            Ok(match v.downcast_object_ref::<Match>() {
                Some(m) if m.end == text.len() => v.clone(),
                _ => Value::from(()),
            })
        }
        "search" => Ok(to_match(&re, &s(rest), false)),
        "findall" => Ok(List::new_value(
            re.captures_iter(&s(rest))
                .map(|c| {
                    if c.len() == 1 {
                        Value::from(c.get(0).map(|m| m.as_str()).unwrap_or_default())
                    } else if c.len() == 2 {
                        Value::from(c.get(1).map(|m| m.as_str()).unwrap_or_default())
                    } else {
                        Value::from(
                            c.iter()
                                .skip(1)
                                .map(|g| Value::from(g.map(|m| m.as_str()).unwrap_or_default()))
                                .collect::<Vec<_>>(),
                        )
                    }
                })
                .collect(),
        )),
        "sub" => {
            let repl = python_replacement(&s(rest));
            let count = pos.get(rest + 2).and_then(Value::as_i64).unwrap_or(0);
            let text = s(rest + 1);
            Ok(Value::from(if count > 0 {
                re.replacen(&text, count as usize, repl.as_str())
                    .to_string()
            } else {
                re.replace_all(&text, repl.as_str()).to_string()
            }))
        }
        "split" => Ok(List::new_value(
            re.split(&s(rest)).map(Value::from).collect(),
        )),
        _ => Err(Error::from(ErrorKind::UnknownMethod)),
    }
}

/// Python's `\1` group references in a replacement, in Rust's `${1}` form.
fn python_replacement(repl: &str) -> String {
    let mut out = String::new();
    let mut chars = repl.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                chars.next();
                out.push_str(&format!("${{{d}}}"));
                continue;
            }
        }
        if c == '$' {
            out.push_str("$$");
            continue;
        }
        out.push(c);
    }
    out
}

impl Object for Pattern {
    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        re_call(Some(&self.0), method, args)
    }
}

impl Object for Match {
    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let opt = |g: &Option<String>| g.clone().map(Value::from).unwrap_or(Value::from(()));
        match method {
            "group" => {
                if args.len() > 1 {
                    return Ok(Value::from(
                        args.iter()
                            .map(|a| {
                                opt(self
                                    .groups
                                    .get(a.as_i64().unwrap_or(0) as usize)
                                    .unwrap_or(&None))
                            })
                            .collect::<Vec<_>>(),
                    ));
                }
                let i = args.first().and_then(Value::as_i64).unwrap_or(0) as usize;
                Ok(opt(self.groups.get(i).unwrap_or(&None)))
            }
            "groups" => Ok(Value::from(
                self.groups.iter().skip(1).map(opt).collect::<Vec<_>>(),
            )),
            "start" => Ok(Value::from(self.start)),
            "end" => Ok(Value::from(self.end)),
            "span" => Ok(Value::from(vec![
                Value::from(self.start),
                Value::from(self.end),
            ])),
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }

    fn is_true(self: &Arc<Self>) -> bool {
        true
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::NonEnumerable
    }
}

fn itertools_call(method: &str, args: &[Value]) -> Result<Value, Error> {
    let (pos, kwargs) = split(args);
    let lists: Vec<Vec<Value>> = pos
        .iter()
        .map(|a| a.try_iter().map(|it| it.collect()))
        .collect::<Result<_, _>>()
        .unwrap_or_default();
    match method {
        "chain" => Ok(List::new_value(lists.into_iter().flatten().collect())),
        "product" => {
            let repeat = kwargs
                .as_ref()
                .and_then(|k| k.get::<Option<usize>>("repeat").ok().flatten())
                .unwrap_or(1);
            let pools: Vec<Vec<Value>> = (0..repeat).flat_map(|_| lists.clone()).collect();
            let mut acc: Vec<Vec<Value>> = vec![Vec::new()];
            for pool in &pools {
                acc = acc
                    .into_iter()
                    .flat_map(|prefix| {
                        pool.iter().map(move |x| {
                            let mut p = prefix.clone();
                            p.push(x.clone());
                            p
                        })
                    })
                    .collect();
            }
            Ok(List::new_value(acc.into_iter().map(Value::from).collect()))
        }
        "combinations" => {
            let items = lists.first().cloned().unwrap_or_default();
            let r = pos.get(1).and_then(Value::as_i64).unwrap_or(0).max(0) as usize;
            let mut out = Vec::new();
            combinations(&items, r, 0, &mut Vec::new(), &mut out);
            Ok(List::new_value(out.into_iter().map(Value::from).collect()))
        }
        _ => Err(Error::from(ErrorKind::UnknownMethod)),
    }
}

fn combinations(
    items: &[Value],
    r: usize,
    start: usize,
    cur: &mut Vec<Value>,
    out: &mut Vec<Vec<Value>>,
) {
    if cur.len() == r {
        out.push(cur.clone());
        return;
    }
    for i in start..items.len() {
        cur.push(items[i].clone());
        combinations(items, r, i + 1, cur, out);
        cur.pop();
    }
}
