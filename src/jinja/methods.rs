//! Python-style values and methods. dbt templates mutate lists and dicts
//! (`{% do cols.append(c) %}`, `{% do d.update(x) %}`), which minijinja's
//! immutable values cannot do, so list and dict literals become the mutable
//! [`List`] and [`Dict`] below (see `dialect.rs`). Methods that do not mutate
//! fall through to minijinja-contrib's pycompat.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use indexmap::IndexMap;
use minijinja::value::{DynObject, Enumerator, Object, ObjectRepr, Value, ValueKind};
use minijinja::{Error, ErrorKind, State};

/// A mutable Python-style list.
#[derive(Default)]
pub struct List(Mutex<Vec<Value>>);

/// A mutable Python-style dict (insertion-ordered).
#[derive(Default)]
pub struct Dict(Mutex<IndexMap<Value, Value>>);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl List {
    pub fn new_value(items: Vec<Value>) -> Value {
        Value::from_object(List(Mutex::new(items)))
    }

    pub fn items(&self) -> Vec<Value> {
        lock(&self.0).clone()
    }
}

impl Dict {
    pub fn new_value(items: IndexMap<Value, Value>) -> Value {
        Value::from_object(Dict(Mutex::new(items)))
    }
}

impl fmt::Debug for List {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(lock(&self.0).iter()).finish()
    }
}

impl fmt::Debug for Dict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(lock(&self.0).iter()).finish()
    }
}

/// Python's repr of a value, which is how Jinja2 prints lists and dicts.
pub fn py_repr(v: &Value, out: &mut String) {
    match v.kind() {
        ValueKind::String => {
            let s = v.as_str().unwrap_or_default();
            out.push('\'');
            for c in s.chars() {
                match c {
                    '\'' => out.push_str("\\'"),
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    _ => out.push(c),
                }
            }
            out.push('\'');
        }
        ValueKind::None | ValueKind::Undefined => out.push_str("None"),
        ValueKind::Bool => out.push_str(if v.is_true() { "True" } else { "False" }),
        ValueKind::Seq => {
            let items: Vec<Value> = v.try_iter().into_iter().flatten().collect();
            let (open, close) = if v.is_tuple() { ('(', ')') } else { ('[', ']') };
            out.push(open);
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                py_repr(item, out);
            }
            if v.is_tuple() && items.len() == 1 {
                out.push(',');
            }
            out.push(close);
        }
        ValueKind::Map if v.as_object().is_some_and(|o| o.repr() == ObjectRepr::Map) => {
            out.push('{');
            for (i, key) in v.try_iter().into_iter().flatten().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                py_repr(&key, out);
                out.push_str(": ");
                py_repr(&v.get_item(&key).unwrap_or_default(), out);
            }
            out.push('}');
        }
        _ => out.push_str(&v.to_string()),
    }
}

fn index_arg(len: usize, idx: i64) -> Option<usize> {
    let i = if idx < 0 { len as i64 + idx } else { idx };
    (0..len as i64).contains(&i).then_some(i as usize)
}

fn arg(args: &[Value], i: usize, method: &str) -> Result<Value, Error> {
    args.get(i).cloned().ok_or_else(|| {
        Error::new(
            ErrorKind::MissingArgument,
            format!("{method}() is missing an argument"),
        )
    })
}

/// Indexing, iteration and length of a sequence kept in `self.0: Mutex<Vec<Value>>`.
macro_rules! mutable_seq_access {
    () => {
        fn repr(self: &Arc<Self>) -> ObjectRepr {
            ObjectRepr::Seq
        }

        fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
            let items = lock(&self.0);
            let idx = index_arg(items.len(), key.as_i64()?)?;
            items.get(idx).cloned()
        }

        fn enumerate(self: &Arc<Self>) -> Enumerator {
            Enumerator::Values(lock(&self.0).clone())
        }

        fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
            Some(lock(&self.0).len())
        }
    };
}

impl Object for List {
    mutable_seq_access!();

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let mut items = lock(&self.0);
        match method {
            "append" => {
                items.push(arg(args, 0, method)?);
                Ok(Value::from(()))
            }
            "extend" => {
                let more = arg(args, 0, method)?;
                items.extend(more.try_iter()?);
                Ok(Value::from(()))
            }
            "insert" => {
                let at = arg(args, 0, method)?.as_i64().unwrap_or(0);
                let len = items.len() as i64;
                let at = if at < 0 {
                    (len + at).max(0)
                } else {
                    at.min(len)
                } as usize;
                items.insert(at, arg(args, 1, method)?);
                Ok(Value::from(()))
            }
            "pop" => {
                let idx = match args.first() {
                    Some(v) => v.as_i64().unwrap_or(-1),
                    None => -1,
                };
                match index_arg(items.len(), idx) {
                    Some(i) => Ok(items.remove(i)),
                    None => Err(Error::new(
                        ErrorKind::InvalidOperation,
                        "pop from empty list or index out of range",
                    )),
                }
            }
            "remove" => {
                let v = arg(args, 0, method)?;
                match items.iter().position(|x| *x == v) {
                    Some(i) => {
                        items.remove(i);
                        Ok(Value::from(()))
                    }
                    None => Err(Error::new(
                        ErrorKind::InvalidOperation,
                        format!("list.remove({v}): value not in list"),
                    )),
                }
            }
            "index" => {
                let v = arg(args, 0, method)?;
                match items.iter().position(|x| *x == v) {
                    Some(i) => Ok(Value::from(i)),
                    None => Err(Error::new(
                        ErrorKind::InvalidOperation,
                        format!("{v} is not in list"),
                    )),
                }
            }
            "count" => {
                let v = arg(args, 0, method)?;
                Ok(Value::from(items.iter().filter(|x| **x == v).count()))
            }
            "reverse" => {
                items.reverse();
                Ok(Value::from(()))
            }
            "sort" => {
                let kwargs = args.last().and_then(crate::jinja::kwargs_of);
                let reverse = kwargs
                    .as_ref()
                    .and_then(|k| k.get::<Option<bool>>("reverse").ok().flatten())
                    .unwrap_or(false);
                items.sort();
                if reverse {
                    items.reverse();
                }
                Ok(Value::from(()))
            }
            "clear" => {
                items.clear();
                Ok(Value::from(()))
            }
            "copy" => Ok(List::new_value(items.clone())),
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::new();
        py_repr(&Value::from_dyn_object(self.clone()), &mut s);
        f.write_str(&s)
    }
}

impl Object for Dict {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        lock(&self.0).get(key).cloned()
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(lock(&self.0).keys().cloned().collect())
    }

    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        Some(lock(&self.0).len())
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let mut map = lock(&self.0);
        match method {
            "update" => {
                for a in args {
                    if let Some(kwargs) = crate::jinja::kwargs_of(a) {
                        for k in kwargs.args() {
                            map.insert(Value::from(k), kwargs.peek::<Value>(k)?);
                        }
                    } else if a.kind() == ValueKind::Map {
                        for k in a.try_iter()? {
                            let v = a.get_item(&k)?;
                            map.insert(k, v);
                        }
                    } else if !a.is_none() && !a.is_undefined() {
                        for pair in a.try_iter()? {
                            map.insert(
                                pair.get_item(&Value::from(0))?,
                                pair.get_item(&Value::from(1))?,
                            );
                        }
                    }
                }
                Ok(Value::from(()))
            }
            "pop" => {
                let key = arg(args, 0, method)?;
                match map.shift_remove(&key) {
                    Some(v) => Ok(v),
                    None => args.get(1).cloned().ok_or_else(|| {
                        Error::new(
                            ErrorKind::InvalidOperation,
                            format!("dict.pop: key {key} not found"),
                        )
                    }),
                }
            }
            "popitem" => match map.pop() {
                Some((k, v)) => Ok(Value::from(vec![k, v])),
                None => Err(Error::new(
                    ErrorKind::InvalidOperation,
                    "popitem(): dictionary is empty",
                )),
            },
            "setdefault" => {
                let key = arg(args, 0, method)?;
                let default = args.get(1).cloned().unwrap_or(Value::from(()));
                Ok(map.entry(key).or_insert(default).clone())
            }
            "clear" => {
                map.clear();
                Ok(Value::from(()))
            }
            "copy" => Ok(Dict::new_value(map.clone())),
            "get" => {
                let key = arg(args, 0, method)?;
                Ok(map
                    .get(&key)
                    .cloned()
                    .unwrap_or_else(|| args.get(1).cloned().unwrap_or(Value::from(()))))
            }
            "items" => Ok(List::new_value(
                map.iter()
                    .map(|(k, v)| crate::jinja::modules::tuple(vec![k.clone(), v.clone()]))
                    .collect(),
            )),
            "keys" => Ok(List::new_value(map.keys().cloned().collect())),
            "values" => Ok(List::new_value(map.values().cloned().collect())),
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::new();
        py_repr(&Value::from_dyn_object(self.clone()), &mut s);
        f.write_str(&s)
    }
}

/// `__kiln_list([...])`: the list literal a template wrote, made mutable.
pub fn make_list(v: Value) -> Result<Value, Error> {
    Ok(List::new_value(v.try_iter()?.collect()))
}

/// `__kiln_dict({...})`: the dict literal a template wrote, made mutable.
pub fn make_dict(v: Value) -> Result<Value, Error> {
    let mut map = IndexMap::new();
    for k in v.try_iter()? {
        let val = v.get_item(&k)?;
        map.insert(k, val);
    }
    Ok(Dict::new_value(map))
}

/// Python's `dict(...)`: from keyword arguments and/or a mapping or pairs.
pub fn dict_function(
    args: minijinja::value::Rest<Value>,
    kwargs: minijinja::value::Kwargs,
) -> Result<Value, Error> {
    let d = Dict::default();
    let value = Value::from_object(d);
    if let Some(obj) = value.downcast_object_ref::<Dict>() {
        let mut map = lock(&obj.0);
        for a in args.iter() {
            if a.kind() == ValueKind::Map {
                for k in a.try_iter()? {
                    let v = a.get_item(&k)?;
                    map.insert(k, v);
                }
            } else {
                for pair in a.try_iter()? {
                    map.insert(
                        pair.get_item(&Value::from(0))?,
                        pair.get_item(&Value::from(1))?,
                    );
                }
            }
        }
        // dict(a=1, b=2): keyword arguments after the positional ones, as in Python.
        for k in kwargs.args() {
            map.insert(Value::from(k), kwargs.get::<Value>(k)?);
        }
    }
    Ok(value)
}

/// The environment's fallback for methods an object does not define:
/// Python's str/list/dict methods through pycompat, plus the mutating list
/// methods on immutable lists (which return an error that says what to do).
pub fn unknown_method(
    state: &mut State,
    value: &Value,
    method: &str,
    args: &[Value],
) -> Result<Value, Error> {
    match minijinja_contrib::pycompat::unknown_method_callback(state, value, method, args) {
        Err(e) if e.kind() == ErrorKind::UnknownMethod => {
            if value.kind() == ValueKind::Seq
                && matches!(method, "append" | "extend" | "insert" | "pop" | "remove")
            {
                return Err(Error::new(
                    ErrorKind::InvalidOperation,
                    format!("cannot {method}() on this list: it was not built by the template; copy it first with `{{% set x = x | list %}}`"),
                ));
            }
            if value.kind() == ValueKind::String {
                return string_method(value.as_str().unwrap_or_default(), method, args);
            }
            Err(e)
        }
        other => other,
    }
}

/// str methods pycompat does not cover.
fn string_method(s: &str, method: &str, args: &[Value]) -> Result<Value, Error> {
    match method {
        "zfill" => {
            let width = args.first().and_then(Value::as_i64).unwrap_or(0).max(0) as usize;
            let n = s.chars().count();
            if n >= width {
                return Ok(Value::from(s));
            }
            let (sign, digits) = match s.strip_prefix(['-', '+']) {
                Some(rest) => (&s[..1], rest),
                None => ("", s),
            };
            Ok(Value::from(format!(
                "{sign}{}{digits}",
                "0".repeat(width - n)
            )))
        }
        "rsplit" => {
            let sep = args.first().and_then(Value::as_str);
            let parts: Vec<Value> = match sep {
                Some(sep) => s
                    .rsplit(sep)
                    .map(Value::from)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect(),
                None => s.split_whitespace().map(Value::from).collect(),
            };
            Ok(List::new_value(parts))
        }
        "partition" => {
            let sep = args.first().and_then(Value::as_str).unwrap_or(" ");
            Ok(Value::from(match s.split_once(sep) {
                Some((a, b)) => vec![Value::from(a), Value::from(sep), Value::from(b)],
                None => vec![Value::from(s), Value::from(""), Value::from("")],
            }))
        }
        "ljust" | "rjust" => {
            let width = args.first().and_then(Value::as_i64).unwrap_or(0).max(0) as usize;
            let fill = args
                .get(1)
                .and_then(Value::as_str)
                .and_then(|f| f.chars().next())
                .unwrap_or(' ');
            let pad: String =
                std::iter::repeat_n(fill, width.saturating_sub(s.chars().count())).collect();
            Ok(Value::from(if method == "ljust" {
                format!("{s}{pad}")
            } else {
                format!("{pad}{s}")
            }))
        }
        "casefold" => Ok(Value::from(s.to_lowercase())),
        "swapcase" => Ok(Value::from(
            s.chars()
                .map(|c| {
                    if c.is_uppercase() {
                        c.to_lowercase().collect::<String>()
                    } else {
                        c.to_uppercase().collect()
                    }
                })
                .collect::<String>(),
        )),
        _ => Err(Error::from(ErrorKind::UnknownMethod)),
    }
}

/// A Python set (dbt's `set()` and `set_strict()`): distinct items in the
/// order first seen, equal to another set with the same items in any order.
#[derive(Debug, Default)]
pub struct PySet(Mutex<Vec<Value>>);

impl PySet {
    pub fn new_value(items: impl IntoIterator<Item = Value>) -> Value {
        let mut out: Vec<Value> = Vec::new();
        for item in items {
            if !out.contains(&item) {
                out.push(item);
            }
        }
        Value::from_object(PySet(Mutex::new(out)))
    }

    fn items(&self) -> Vec<Value> {
        lock(&self.0).clone()
    }
}

impl Object for PySet {
    mutable_seq_access!();

    fn custom_cmp(self: &Arc<Self>, other: &DynObject) -> Option<std::cmp::Ordering> {
        let other = other.downcast::<PySet>()?;
        let (a, b) = (self.items(), other.items());
        let same = a.len() == b.len() && a.iter().all(|x| b.contains(x));
        Some(if same {
            std::cmp::Ordering::Equal
        } else {
            a.len().cmp(&b.len()).then(std::cmp::Ordering::Less)
        })
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let other = || -> Result<Vec<Value>, Error> {
            Ok(match args.first() {
                Some(v) => v.try_iter()?.collect(),
                None => Vec::new(),
            })
        };
        let mine = self.items();
        match method {
            "add" => {
                let v = arg(args, 0, method)?;
                let mut items = lock(&self.0);
                if !items.contains(&v) {
                    items.push(v);
                }
                Ok(Value::from(()))
            }
            "update" => {
                let more = other()?;
                let mut items = lock(&self.0);
                for v in more {
                    if !items.contains(&v) {
                        items.push(v);
                    }
                }
                Ok(Value::from(()))
            }
            "remove" | "discard" => {
                let v = arg(args, 0, method)?;
                let mut items = lock(&self.0);
                match items.iter().position(|x| *x == v) {
                    Some(i) => {
                        items.remove(i);
                    }
                    None if method == "remove" => {
                        return Err(Error::new(
                            ErrorKind::InvalidOperation,
                            format!("KeyError: {v}"),
                        ))
                    }
                    None => {}
                }
                Ok(Value::from(()))
            }
            "union" => Ok(PySet::new_value(mine.into_iter().chain(other()?))),
            "intersection" => {
                let o = other()?;
                Ok(PySet::new_value(mine.into_iter().filter(|x| o.contains(x))))
            }
            "difference" => {
                let o = other()?;
                Ok(PySet::new_value(
                    mine.into_iter().filter(|x| !o.contains(x)),
                ))
            }
            "symmetric_difference" => {
                let o = other()?;
                let left: Vec<Value> = mine.iter().filter(|x| !o.contains(x)).cloned().collect();
                let right: Vec<Value> = o.into_iter().filter(|x| !mine.contains(x)).collect();
                Ok(PySet::new_value(left.into_iter().chain(right)))
            }
            "issubset" => {
                let o = other()?;
                Ok(Value::from(mine.iter().all(|x| o.contains(x))))
            }
            "issuperset" => {
                let o = other()?;
                Ok(Value::from(o.iter().all(|x| mine.contains(x))))
            }
            "isdisjoint" => {
                let o = other()?;
                Ok(Value::from(!mine.iter().any(|x| o.contains(x))))
            }
            "copy" => Ok(PySet::new_value(mine)),
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        for (i, v) in self.items().iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            py_repr(v, &mut out);
        }
        if out.is_empty() {
            f.write_str("set()")
        } else {
            write!(f, "{{{out}}}")
        }
    }
}
