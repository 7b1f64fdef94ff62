//! `exceptions` and `modules` (datetime, re, itertools, pytz): the parts of
//! Python that dbt exposes to templates, in the shapes packages use.

use std::sync::Arc;

use minijinja::value::{Enumerator, Object, Value};
use minijinja::{Error, ErrorKind, State};

use crate::jinja::datetime::{self, split};
use crate::jinja::methods::List;

/// `exceptions.raise_compiler_error(msg)`, `exceptions.warn(msg)`, ...
/// in the scope of the render that reads them.
pub struct Exceptions(pub Arc<crate::jinja::Scope>);

impl std::fmt::Debug for Exceptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("exceptions")
    }
}

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
                self.0.volatile("warns");
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
            "pytz" => Value::from_object(datetime::Pytz),
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy)]
enum Module {
    Datetime,
    Re,
    Itertools,
}

impl Object for Module {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let key = key.as_str()?;
        match (**self, key) {
            (Module::Datetime, "datetime") => Some(Value::from_object(datetime::Class::Datetime)),
            (Module::Datetime, "date") => Some(Value::from_object(datetime::Class::Date)),
            (Module::Datetime, "timedelta") => Some(Value::from_object(datetime::Class::Timedelta)),
            (Module::Datetime, "timezone") => Some(Value::from_object(datetime::Class::Timezone)),
            (Module::Re, "IGNORECASE" | "I") => Some(Value::from(2)),
            (Module::Re, "MULTILINE" | "M") => Some(Value::from(8)),
            (Module::Re, "DOTALL" | "S") => Some(Value::from(16)),
            (Module::Re, "VERBOSE" | "X") => Some(Value::from(64)),
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
            Module::Datetime => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }
}

/// A compiled pattern (`re.compile`).
#[derive(Debug)]
struct Pattern(fancy_regex::Regex);

/// A match object (`re.match`, `re.search`).
#[derive(Debug)]
struct Match {
    groups: Vec<Option<String>>,
    start: usize,
    end: usize,
}

/// Python's `re` has look-around and back-references: fancy-regex has them too.
fn compile_pattern(pattern: &str, flags: i64) -> Result<fancy_regex::Regex, Error> {
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
    fancy_regex::Regex::new(&full).map_err(|e| {
        Error::new(
            ErrorKind::InvalidOperation,
            format!("re: invalid pattern: {e}"),
        )
    })
}

fn re_error(e: fancy_regex::Error) -> Error {
    Error::new(ErrorKind::InvalidOperation, format!("re: {e}"))
}

fn to_match(re: &fancy_regex::Regex, text: &str, anchored: bool) -> Result<Value, Error> {
    Ok(match re.captures(text).map_err(re_error)? {
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
    })
}

/// re functions; `compiled` is set when called on a compiled pattern (no pattern argument).
fn re_call(
    compiled: Option<&fancy_regex::Regex>,
    method: &str,
    args: &[Value],
) -> Result<Value, Error> {
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
                return Ok(Value::from(fancy_regex::escape(&s(0)).to_string()));
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
        "match" => to_match(&re, &s(rest), true),
        "fullmatch" => {
            let text = s(rest);
            let v = to_match(&re, &text, true)?;
            Ok(match v.downcast_object_ref::<Match>() {
                Some(m) if m.end == text.len() => v.clone(),
                _ => Value::from(()),
            })
        }
        "search" => to_match(&re, &s(rest), false),
        "findall" => Ok(List::new_value(
            re.captures_iter(&s(rest))
                .collect::<Result<Vec<_>, _>>()
                .map_err(re_error)?
                .into_iter()
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
            // A limit of 0 replaces every match, as Python's count=0.
            Ok(Value::from(
                re.try_replacen(&text, count.max(0) as usize, repl.as_str())
                    .map_err(re_error)?
                    .to_string(),
            ))
        }
        "split" => Ok(List::new_value(
            re.split(&s(rest))
                .map(|part| part.map(Value::from))
                .collect::<Result<Vec<_>, _>>()
                .map_err(re_error)?,
        )),
        _ => Err(Error::from(ErrorKind::UnknownMethod)),
    }
}

/// Python's `\1` and `\g<name>` group references in a replacement, in
/// Rust's `${1}` form.
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
            if chars.peek() == Some(&'g') {
                let rest: String = chars.clone().collect();
                if let Some(name) = rest.strip_prefix("g<").and_then(|r| r.split_once('>')) {
                    out.push_str(&format!("${{{}}}", name.0));
                    for _ in 0..name.0.chars().count() + 3 {
                        chars.next();
                    }
                    continue;
                }
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
            Ok(List::new_value(acc.into_iter().map(tuple).collect()))
        }
        "combinations" => {
            let items = lists.first().cloned().unwrap_or_default();
            let r = pos.get(1).and_then(Value::as_i64).unwrap_or(0).max(0) as usize;
            let mut out = Vec::new();
            combinations(&items, r, 0, &mut Vec::new(), &mut out);
            Ok(List::new_value(out.into_iter().map(tuple).collect()))
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

/// A Python tuple (itertools yields tuples; they print as `(1, 'a')`).
pub fn tuple(items: Vec<Value>) -> Value {
    Value::from(minijinja::value::Tuple::from(items))
}
