//! Python's `'%s_%s' % (a, b)` string formatting, which dbt templates use
//! and minijinja lacks (the template rewrite in dialect.rs sends a string
//! literal's `%` here).

use minijinja::value::{Value, ValueKind};
use minijinja::{Error, ErrorKind};

use crate::jinja::methods::py_repr;

fn invalid(msg: &str) -> Error {
    Error::new(ErrorKind::InvalidOperation, format!("TypeError: {msg}"))
}

/// `fmt % args`: a tuple or list gives the values in order, a mapping the
/// `%(name)s` ones, anything else is the one value.
pub fn format(fmt: &Value, args: &Value) -> Result<Value, Error> {
    let Some(fmt) = fmt.as_str() else {
        return Err(invalid("% needs a format string"));
    };
    let positional: Vec<Value> = match args.kind() {
        ValueKind::Seq => args.try_iter()?.collect(),
        _ => vec![args.clone()],
    };
    let mut next = positional.into_iter();
    let mut out = String::new();
    let mut chars = fmt.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        // %[(name)][flags][width][.precision]type
        let mut name = None;
        if chars.peek() == Some(&'(') {
            chars.next();
            let key: String = chars.by_ref().take_while(|&c| c != ')').collect();
            name = Some(key);
        }
        let mut flags = String::new();
        while let Some(&f) = chars.peek().filter(|f| "-+ 0#".contains(**f)) {
            flags.push(f);
            chars.next();
        }
        let mut width = String::new();
        while let Some(&d) = chars.peek().filter(|d| d.is_ascii_digit()) {
            width.push(d);
            chars.next();
        }
        let mut precision = None;
        if chars.peek() == Some(&'.') {
            chars.next();
            let mut p = String::new();
            while let Some(&d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                p.push(d);
                chars.next();
            }
            precision = p.parse::<usize>().ok().or(Some(0));
        }
        let Some(kind) = chars.next() else {
            return Err(invalid("incomplete format"));
        };
        if kind == '%' {
            out.push('%');
            continue;
        }
        let value = match &name {
            Some(key) => args.get_item(&Value::from(key.as_str()))?,
            None => next
                .next()
                .ok_or_else(|| invalid("not enough arguments for format string"))?,
        };
        let text = match kind {
            's' => match value.kind() {
                ValueKind::String => value.as_str().unwrap_or_default().to_string(),
                ValueKind::None | ValueKind::Undefined => "None".to_string(),
                ValueKind::Bool => (if value.is_true() { "True" } else { "False" }).to_string(),
                ValueKind::Seq | ValueKind::Map => {
                    let mut s = String::new();
                    py_repr(&value, &mut s);
                    s
                }
                _ => value.to_string(),
            },
            'r' => {
                let mut s = String::new();
                py_repr(&value, &mut s);
                s
            }
            'd' | 'i' => {
                let n = f64::try_from(value.clone())
                    .map_err(|_| invalid("%d format: a number is required"))?;
                format!("{}", n.trunc() as i64)
            }
            'f' | 'F' => {
                let n = f64::try_from(value.clone())
                    .map_err(|_| invalid("%f format: a number is required"))?;
                format!("{:.*}", precision.unwrap_or(6), n)
            }
            'x' => {
                let n = i64::try_from(value.clone())
                    .map_err(|_| invalid("%x format: an integer is required"))?;
                format!("{n:x}")
            }
            other => return Err(invalid(&format!("unsupported format character '{other}'"))),
        };
        let width: usize = width.parse().unwrap_or(0);
        let pad = width.saturating_sub(text.chars().count());
        if flags.contains('-') {
            out.push_str(&text);
            out.push_str(&" ".repeat(pad));
        } else {
            let fill = if flags.contains('0') && kind != 's' {
                "0"
            } else {
                " "
            };
            out.push_str(&fill.repeat(pad));
            out.push_str(&text);
        }
    }
    Ok(Value::from(out))
}
