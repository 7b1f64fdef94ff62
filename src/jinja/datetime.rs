//! `modules.datetime` and `modules.pytz` as Python has them: naive and
//! time-zone-aware datetimes, dates, timedeltas and time zones, with
//! arithmetic (`dt - timedelta(days=1)`, `end - start`), comparison,
//! `replace`, `astimezone`, `strftime` and `isoformat`. Time zone rules come
//! from the IANA database (jiff).
//!
//! An aware datetime keeps its wall time and the UTC offset it had when it
//! was made, as pytz does: arithmetic keeps the offset.

use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

use chrono::{Datelike, NaiveDate, NaiveDateTime, TimeDelta, Timelike};
use minijinja::value::{DynObject, Kwargs, Object, ObjectRepr, Value, ValueKind};
use minijinja::{Error, ErrorKind, State};

fn invalid(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

/// A time zone: a fixed offset (`timezone.utc`, `timezone(timedelta(hours=2))`)
/// or a named IANA zone (`pytz.timezone('Europe/Paris')`).
#[derive(Debug, Clone, PartialEq)]
pub enum Tz {
    Fixed(i32),
    Named(String),
}

impl Tz {
    fn utc() -> Tz {
        Tz::Fixed(0)
    }

    fn zone(&self) -> Result<jiff::tz::TimeZone, Error> {
        match self {
            Tz::Fixed(secs) => jiff::tz::Offset::from_seconds(*secs)
                .map(jiff::tz::TimeZone::fixed)
                .map_err(|e| invalid(format!("bad UTC offset: {e}"))),
            Tz::Named(name) => jiff::tz::TimeZone::get(name)
                .map_err(|_| invalid(format!("unknown time zone '{name}'"))),
        }
    }

    /// The offset (seconds east of UTC) at a UTC instant.
    fn offset_at_utc(&self, utc: NaiveDateTime) -> Result<i32, Error> {
        if let Tz::Fixed(s) = self {
            return Ok(*s);
        }
        let ts = jiff::Timestamp::from_second(utc.and_utc().timestamp())
            .map_err(|e| invalid(e.to_string()))?;
        Ok(self.zone()?.to_offset(ts).seconds())
    }

    /// The offset of a wall-clock time in this zone (DST gaps and folds
    /// resolved as Python's `localize` does by default).
    fn offset_at_wall(&self, wall: NaiveDateTime) -> Result<i32, Error> {
        if let Tz::Fixed(s) = self {
            return Ok(*s);
        }
        wall_offset(&self.zone()?, wall).map_err(invalid)
    }

    fn name_at(&self, offset: i32, utc: NaiveDateTime) -> String {
        match self {
            Tz::Fixed(0) => "UTC".to_string(),
            Tz::Fixed(_) => format!("UTC{}", offset_text(offset, true)),
            Tz::Named(_) => self
                .zone()
                .ok()
                .and_then(|z| {
                    let ts = jiff::Timestamp::from_second(utc.and_utc().timestamp()).ok()?;
                    Some(z.to_offset_info(ts).abbreviation().to_string())
                })
                .unwrap_or_default(),
        }
    }
}

impl Object for Tz {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match (key.as_str()?, &**self) {
            ("zone", Tz::Named(n)) => Some(Value::from(n.clone())),
            ("zone", Tz::Fixed(0)) => Some(Value::from("UTC")),
            _ => None,
        }
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match method {
            // pytz: attach this zone to a naive datetime.
            "localize" => {
                let dt = datetime_arg(args.first())?;
                let offset = self.offset_at_wall(dt.wall)?;
                Ok(DateTime::aware(dt.wall, offset, (**self).clone()).into_value())
            }
            "normalize" => Ok(args.first().cloned().unwrap_or_default()),
            "utcoffset" => {
                let dt = datetime_arg(args.first())?;
                Ok(Delta(TimeDelta::seconds(self.offset_at_wall(dt.wall)? as i64)).into_value())
            }
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &**self {
            Tz::Fixed(0) => f.write_str("UTC"),
            Tz::Fixed(s) => write!(f, "UTC{}", offset_text(*s, true)),
            Tz::Named(n) => f.write_str(n),
        }
    }
}

/// The UTC offset (seconds) of a wall-clock time in `zone`; a time in a DST
/// gap or fold takes the earlier offset, as pytz's `localize` and ICU do.
pub fn wall_offset(zone: &jiff::tz::TimeZone, wall: NaiveDateTime) -> Result<i32, String> {
    let civil = jiff::civil::DateTime::new(
        wall.year() as i16,
        wall.month() as i8,
        wall.day() as i8,
        wall.hour() as i8,
        wall.minute() as i8,
        wall.second() as i8,
        wall.nanosecond() as i32,
    )
    .map_err(|e| e.to_string())?;
    let ts = zone
        .to_ambiguous_timestamp(civil)
        .compatible()
        .map_err(|e| e.to_string())?;
    Ok((wall.and_utc().timestamp() - ts.as_second()) as i32)
}

fn offset_text(secs: i32, colon: bool) -> String {
    let sign = if secs < 0 { '-' } else { '+' };
    let a = secs.abs();
    let (h, m, s) = (a / 3600, (a % 3600) / 60, a % 60);
    let sep = if colon { ":" } else { "" };
    if s != 0 {
        format!("{sign}{h:02}{sep}{m:02}{sep}{s:02}")
    } else {
        format!("{sign}{h:02}{sep}{m:02}")
    }
}

/// A `tzinfo` argument: a Tz object, a zone name, or none.
fn tz_arg(v: Option<&Value>) -> Result<Option<Tz>, Error> {
    match v {
        None => Ok(None),
        Some(v) if v.is_none() || v.is_undefined() => Ok(None),
        Some(v) => {
            if let Some(tz) = v.downcast_object_ref::<Tz>() {
                return Ok(Some(tz.clone()));
            }
            match v.as_str() {
                Some("UTC" | "utc") => Ok(Some(Tz::utc())),
                Some(name) => {
                    let tz = Tz::Named(name.to_string());
                    tz.zone()?;
                    Ok(Some(tz))
                }
                None => Err(invalid(format!("{v} is not a time zone"))),
            }
        }
    }
}

/// A date, or a datetime (naive or aware).
#[derive(Debug, Clone)]
pub struct DateTime {
    pub wall: NaiveDateTime,
    /// (offset seconds east of UTC, zone) for aware datetimes.
    pub tz: Option<(i32, Tz)>,
    pub date_only: bool,
}

impl DateTime {
    pub fn naive(wall: NaiveDateTime) -> DateTime {
        DateTime {
            wall,
            tz: None,
            date_only: false,
        }
    }

    pub fn date(d: NaiveDate) -> DateTime {
        DateTime {
            wall: d.and_hms_opt(0, 0, 0).unwrap_or_default(),
            tz: None,
            date_only: true,
        }
    }

    /// An aware datetime in UTC (`run_started_at`).
    pub fn utc_aware(utc: NaiveDateTime) -> DateTime {
        DateTime::aware(utc, 0, Tz::utc())
    }

    fn aware(wall: NaiveDateTime, offset: i32, tz: Tz) -> DateTime {
        DateTime {
            wall,
            tz: Some((offset, tz)),
            date_only: false,
        }
    }

    pub fn into_value(self) -> Value {
        Value::from_object(self)
    }

    /// The UTC instant (naive datetimes count as UTC, as kiln's clock is).
    fn utc(&self) -> NaiveDateTime {
        match &self.tz {
            Some((off, _)) => self
                .wall
                .checked_sub_signed(TimeDelta::seconds(*off as i64))
                .unwrap_or(self.wall),
            None => self.wall,
        }
    }

    fn with_wall(&self, wall: NaiveDateTime) -> DateTime {
        DateTime {
            wall,
            ..self.clone()
        }
    }

    fn strftime(&self, fmt: &str) -> String {
        // %z, %Z and %f are Python's; chrono's differ or are missing.
        let mut out = String::new();
        let mut chars = fmt.chars().peekable();
        while let Some(c) = chars.next() {
            if c != '%' {
                out.push(c);
                continue;
            }
            match chars.next() {
                Some('z') => {
                    if let Some((off, _)) = &self.tz {
                        out.push_str(&offset_text(*off, false));
                    }
                }
                Some('Z') => {
                    if let Some((off, tz)) = &self.tz {
                        out.push_str(&tz.name_at(*off, self.utc()));
                    }
                }
                Some('f') => out.push_str(&format!("{:06}", self.wall.nanosecond() / 1000)),
                Some(other) => {
                    let spec = format!("%{other}");
                    let mut piece = String::new();
                    use std::fmt::Write;
                    if write!(piece, "{}", self.wall.format(&spec)).is_err() {
                        piece = spec;
                    }
                    out.push_str(&piece);
                }
                None => out.push('%'),
            }
        }
        out
    }

    fn isoformat(&self, sep: &str) -> String {
        if self.date_only {
            return self.wall.format("%Y-%m-%d").to_string();
        }
        let micros = self.wall.nanosecond() / 1000;
        let mut s = self
            .wall
            .format(&format!("%Y-%m-%d{sep}%H:%M:%S"))
            .to_string();
        if micros != 0 {
            s.push_str(&format!(".{micros:06}"));
        }
        if let Some((off, _)) = &self.tz {
            s.push_str(&offset_text(*off, true));
        }
        s
    }

    fn replace(&self, kwargs: &Kwargs) -> Result<DateTime, Error> {
        let w = self.wall;
        let get = |k: &str, d: i64| -> Result<i64, Error> {
            Ok(kwargs.get::<Option<i64>>(k)?.unwrap_or(d))
        };
        let date = NaiveDate::from_ymd_opt(
            get("year", w.year() as i64)? as i32,
            get("month", w.month() as i64)? as u32,
            get("day", w.day() as i64)? as u32,
        )
        .ok_or_else(|| invalid("replace(): day is out of range for month"))?;
        let wall = date
            .and_hms_micro_opt(
                get("hour", w.hour() as i64)? as u32,
                get("minute", w.minute() as i64)? as u32,
                get("second", w.second() as i64)? as u32,
                get("microsecond", (w.nanosecond() / 1000) as i64)? as u32,
            )
            .ok_or_else(|| invalid("replace(): time is out of range"))?;
        let tz = if kwargs.has("tzinfo") {
            match tz_arg(kwargs.get::<Option<Value>>("tzinfo")?.as_ref())? {
                Some(tz) => Some((tz.offset_at_wall(wall)?, tz)),
                None => None,
            }
        } else {
            self.tz.clone()
        };
        kwargs.assert_all_used()?;
        Ok(DateTime {
            wall,
            tz,
            date_only: self.date_only,
        })
    }

    fn astimezone(&self, tz: Option<Tz>) -> Result<DateTime, Error> {
        let tz = tz.unwrap_or_else(Tz::utc);
        let utc = self.utc();
        let offset = tz.offset_at_utc(utc)?;
        Ok(DateTime::aware(
            utc.checked_add_signed(TimeDelta::seconds(offset as i64))
                .ok_or_else(|| invalid("astimezone(): date out of range"))?,
            offset,
            tz,
        ))
    }
}

fn datetime_arg(v: Option<&Value>) -> Result<DateTime, Error> {
    v.and_then(|v| v.downcast_object_ref::<DateTime>().cloned())
        .ok_or_else(|| invalid("expected a datetime"))
}

impl Object for DateTime {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let d = &self.wall;
        Some(match key.as_str()? {
            "year" => Value::from(d.year() as i64),
            "month" => Value::from(d.month() as i64),
            "day" => Value::from(d.day() as i64),
            "hour" if !self.date_only => Value::from(d.hour() as i64),
            "minute" if !self.date_only => Value::from(d.minute() as i64),
            "second" if !self.date_only => Value::from(d.second() as i64),
            "microsecond" if !self.date_only => Value::from((d.nanosecond() / 1000) as i64),
            "tzinfo" => match &self.tz {
                Some((_, tz)) => Value::from_object(tz.clone()),
                None => Value::from(()),
            },
            _ => return None,
        })
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let (pos, kwargs) = split(args);
        let text = |i: usize, d: &str| pos.get(i).and_then(Value::as_str).unwrap_or(d).to_string();
        Ok(match method {
            "strftime" => Value::from(self.strftime(&text(0, "%Y-%m-%d %H:%M:%S"))),
            "isoformat" => {
                let sep = kwargs
                    .as_ref()
                    .and_then(|k| k.get::<Option<String>>("sep").ok().flatten())
                    .unwrap_or_else(|| text(0, "T"));
                Value::from(self.isoformat(&sep))
            }
            "date" => DateTime::date(self.wall.date()).into_value(),
            "timestamp" => {
                let utc = self.utc();
                Value::from(utc.and_utc().timestamp() as f64 + utc.nanosecond() as f64 / 1e9)
            }
            "weekday" => Value::from(self.wall.weekday().num_days_from_monday() as i64),
            "isoweekday" => Value::from(self.wall.weekday().number_from_monday() as i64),
            "isocalendar" => {
                let w = self.wall.iso_week();
                Value::from(vec![
                    Value::from(w.year() as i64),
                    Value::from(w.week() as i64),
                    Value::from(self.wall.weekday().number_from_monday() as i64),
                ])
            }
            "toordinal" => Value::from(self.wall.num_days_from_ce() as i64),
            "replace" => {
                let empty = Kwargs::from_iter(std::iter::empty::<(String, Value)>());
                self.replace(kwargs.as_ref().unwrap_or(&empty))?
                    .into_value()
            }
            "astimezone" => {
                let tz = tz_arg(
                    pos.first().or(kwargs
                        .as_ref()
                        .and_then(|k| k.get::<Option<&Value>>("tz").ok().flatten())),
                )?;
                self.astimezone(tz)?.into_value()
            }
            "utcoffset" => match &self.tz {
                Some((off, _)) => Delta(TimeDelta::seconds(*off as i64)).into_value(),
                None => Value::from(()),
            },
            "tzname" => match &self.tz {
                Some((off, tz)) => Value::from(tz.name_at(*off, self.utc())),
                None => Value::from(()),
            },
            // + and - as methods (kiln's earlier spelling, kept working).
            "__add__" | "add" | "plus" => add(
                &Value::from_dyn_object(self.clone()),
                args.first().unwrap_or(&Value::UNDEFINED),
            )?,
            "__sub__" | "minus" => sub(
                &Value::from_dyn_object(self.clone()),
                args.first().unwrap_or(&Value::UNDEFINED),
            )?,
            _ => return Err(Error::from(ErrorKind::UnknownMethod)),
        })
    }

    fn custom_cmp(self: &Arc<Self>, other: &DynObject) -> Option<Ordering> {
        let other = other.downcast::<DateTime>()?;
        if self.tz.is_some() != other.tz.is_some() {
            return None;
        }
        Some(self.utc().cmp(&other.utc()))
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.isoformat(" "))
    }
}

/// A timedelta.
#[derive(Debug, Clone)]
pub struct Delta(pub TimeDelta);

impl Delta {
    pub fn into_value(self) -> Value {
        Value::from_object(self)
    }
}

impl Object for Delta {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        // Python normalises to days (may be negative), seconds and microseconds (never negative).
        let micros = self.0.num_microseconds()?;
        let days = micros.div_euclid(86_400_000_000);
        let rest = micros.rem_euclid(86_400_000_000);
        match key.as_str()? {
            "days" => Some(Value::from(days)),
            "seconds" => Some(Value::from(rest / 1_000_000)),
            "microseconds" => Some(Value::from(rest % 1_000_000)),
            _ => None,
        }
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let me = Value::from_dyn_object(self.clone());
        let other = args.first().unwrap_or(&Value::UNDEFINED);
        match method {
            "total_seconds" => Ok(Value::from(
                self.0.num_microseconds().unwrap_or(0) as f64 / 1e6,
            )),
            "__add__" => add(&me, other),
            "__sub__" => sub(&me, other),
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }

    fn custom_cmp(self: &Arc<Self>, other: &DynObject) -> Option<Ordering> {
        Some(self.0.cmp(&other.downcast::<Delta>()?.0))
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let micros = self.0.num_microseconds().unwrap_or(0);
        let days = micros.div_euclid(86_400_000_000);
        let rest = micros.rem_euclid(86_400_000_000);
        let secs = rest / 1_000_000;
        let mut hms = format!("{}:{:02}:{:02}", secs / 3600, (secs % 3600) / 60, secs % 60);
        if rest % 1_000_000 != 0 {
            hms.push_str(&format!(".{:06}", rest % 1_000_000));
        }
        match days {
            0 => f.write_str(&hms),
            1 | -1 => write!(f, "{days} day, {hms}"),
            _ => write!(f, "{days} days, {hms}"),
        }
    }
}

fn delta_of(v: &Value) -> Option<TimeDelta> {
    v.downcast_object_ref::<Delta>().map(|d| d.0)
}

fn date_of(v: &Value) -> Option<DateTime> {
    v.downcast_object_ref::<DateTime>().cloned()
}

fn out_of_range() -> Error {
    invalid("OverflowError: date value out of range")
}

/// `a + b` where either side may be a datetime or timedelta.
pub fn add(a: &Value, b: &Value) -> Result<Value, Error> {
    match (date_of(a), delta_of(a), date_of(b), delta_of(b)) {
        (Some(d), _, _, Some(t)) | (_, Some(t), Some(d), _) => {
            let wall = d.wall.checked_add_signed(t).ok_or_else(out_of_range)?;
            Ok(d.with_wall(wall).into_value())
        }
        (_, Some(x), _, Some(y)) => {
            Ok(Delta(x.checked_add(&y).ok_or_else(out_of_range)?).into_value())
        }
        _ => plain_arith('+', a, b),
    }
}

/// `a - b` where either side may be a datetime or timedelta.
pub fn sub(a: &Value, b: &Value) -> Result<Value, Error> {
    match (date_of(a), delta_of(a), date_of(b), delta_of(b)) {
        (Some(d), _, _, Some(t)) => {
            let wall = d.wall.checked_sub_signed(t).ok_or_else(out_of_range)?;
            Ok(d.with_wall(wall).into_value())
        }
        (Some(x), _, Some(y), _) => {
            if x.tz.is_some() != y.tz.is_some() {
                return Err(invalid(
                    "can't subtract offset-naive and offset-aware datetimes",
                ));
            }
            Ok(Delta(x.utc() - y.utc()).into_value())
        }
        (_, Some(x), _, Some(y)) => {
            Ok(Delta(x.checked_sub(&y).ok_or_else(out_of_range)?).into_value())
        }
        _ => plain_arith('-', a, b),
    }
}

/// `+` and `-` on everything else, as Jinja does them: numbers add and
/// subtract; strings and lists concatenate with `+`.
fn plain_arith(op: char, a: &Value, b: &Value) -> Result<Value, Error> {
    let impossible = || {
        invalid(format!(
            "tried to use {op} operator on unsupported types {} and {}",
            a.kind(),
            b.kind()
        ))
    };
    match (a.kind(), b.kind()) {
        (ValueKind::Number, ValueKind::Number) => {
            match (i64::try_from(a.clone()), i64::try_from(b.clone())) {
                (Ok(x), Ok(y)) if a.is_integer() && b.is_integer() => {
                    let r = if op == '+' {
                        x.checked_add(y)
                    } else {
                        x.checked_sub(y)
                    };
                    r.map(Value::from)
                        .ok_or_else(|| invalid("integer overflow"))
                }
                _ => {
                    let x = f64::try_from(a.clone()).map_err(|_| impossible())?;
                    let y = f64::try_from(b.clone()).map_err(|_| impossible())?;
                    Ok(Value::from(if op == '+' { x + y } else { x - y }))
                }
            }
        }
        (ValueKind::String, ValueKind::String) if op == '+' => Ok(Value::from(format!(
            "{}{}",
            a.as_str().unwrap_or_default(),
            b.as_str().unwrap_or_default()
        ))),
        (ValueKind::Seq | ValueKind::Iterable, ValueKind::Seq | ValueKind::Iterable)
            if op == '+' =>
        {
            let mut items: Vec<Value> = a.try_iter()?.collect();
            items.extend(b.try_iter()?);
            Ok(crate::jinja::methods::List::new_value(items))
        }
        _ => Err(impossible()),
    }
}

pub fn split(args: &[Value]) -> (&[Value], Option<Kwargs>) {
    match args.last().and_then(crate::jinja::kwargs_of) {
        Some(k) => (&args[..args.len() - 1], Some(k)),
        None => (args, None),
    }
}

/// `datetime.datetime`, `datetime.date`, `datetime.timedelta`, `datetime.timezone`.
#[derive(Debug, Clone, Copy)]
pub enum Class {
    Datetime,
    Date,
    Timedelta,
    Timezone,
}

/// The current time in the process's clock, naive, as Python's `now()`
/// (kiln's naive times are UTC).
fn now_utc() -> NaiveDateTime {
    chrono::Utc::now().naive_utc()
}

impl Object for Class {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match (**self, key.as_str()?) {
            (Class::Timezone, "utc") => Some(Value::from_object(Tz::utc())),
            (Class::Datetime, "min") => Some(
                DateTime::naive(NaiveDate::from_ymd_opt(1, 1, 1)?.and_hms_opt(0, 0, 0)?)
                    .into_value(),
            ),
            (Class::Datetime, "max") => Some(
                DateTime::naive(
                    NaiveDate::from_ymd_opt(9999, 12, 31)?
                        .and_hms_micro_opt(23, 59, 59, 999_999)?,
                )
                .into_value(),
            ),
            (Class::Date, "min") => {
                Some(DateTime::date(NaiveDate::from_ymd_opt(1, 1, 1)?).into_value())
            }
            (Class::Date, "max") => {
                Some(DateTime::date(NaiveDate::from_ymd_opt(9999, 12, 31)?).into_value())
            }
            _ => None,
        }
    }

    fn call(self: &Arc<Self>, _state: &mut State<'_, '_>, args: &[Value]) -> Result<Value, Error> {
        let (pos, kwargs) = split(args);
        let num = |i: usize, k: &str, d: f64| -> Result<f64, Error> {
            if let Some(v) = pos.get(i) {
                return f64::try_from(v.clone())
                    .map_err(|_| invalid(format!("{k} must be a number")));
            }
            match &kwargs {
                Some(kw) => Ok(kw.get::<Option<f64>>(k)?.unwrap_or(d)),
                None => Ok(d),
            }
        };
        let int =
            |i: usize, k: &str, d: i64| -> Result<i64, Error> { Ok(num(i, k, d as f64)? as i64) };
        let value = match **self {
            Class::Timedelta => {
                let micros = num(0, "days", 0.0)? * 86_400e6
                    + num(1, "seconds", 0.0)? * 1e6
                    + num(2, "microseconds", 0.0)?
                    + num(3, "milliseconds", 0.0)? * 1e3
                    + num(4, "minutes", 0.0)? * 60e6
                    + num(5, "hours", 0.0)? * 3600e6
                    + num(6, "weeks", 0.0)? * 604_800e6;
                Delta(TimeDelta::microseconds(micros.round() as i64)).into_value()
            }
            Class::Date => {
                let d = NaiveDate::from_ymd_opt(
                    int(0, "year", 1)? as i32,
                    int(1, "month", 1)? as u32,
                    int(2, "day", 1)? as u32,
                )
                .ok_or_else(|| invalid("date(): day is out of range for month"))?;
                DateTime::date(d).into_value()
            }
            Class::Datetime => {
                let wall = NaiveDate::from_ymd_opt(
                    int(0, "year", 1)? as i32,
                    int(1, "month", 1)? as u32,
                    int(2, "day", 1)? as u32,
                )
                .and_then(|d| {
                    d.and_hms_micro_opt(
                        int(3, "hour", 0).ok()? as u32,
                        int(4, "minute", 0).ok()? as u32,
                        int(5, "second", 0).ok()? as u32,
                        int(6, "microsecond", 0).ok()? as u32,
                    )
                })
                .ok_or_else(|| invalid("datetime(): a part is out of range"))?;
                let tz = match pos.get(7) {
                    Some(v) => tz_arg(Some(v))?,
                    None => tz_arg(
                        kwargs
                            .as_ref()
                            .and_then(|k| k.get::<Option<&Value>>("tzinfo").ok().flatten()),
                    )?,
                };
                match tz {
                    Some(tz) => DateTime::aware(wall, tz.offset_at_wall(wall)?, tz).into_value(),
                    None => DateTime::naive(wall).into_value(),
                }
            }
            Class::Timezone => {
                let offset = pos
                    .first()
                    .and_then(delta_of)
                    .ok_or_else(|| invalid("timezone() takes a timedelta"))?;
                Value::from_object(Tz::Fixed(offset.num_seconds() as i32))
            }
        };
        if let Some(k) = kwargs {
            if matches!(**self, Class::Date | Class::Timedelta) {
                k.assert_all_used()?;
            }
        }
        Ok(value)
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let (pos, kwargs) = split(args);
        let s = |i: usize| pos.get(i).map(|v| v.to_string()).unwrap_or_default();
        let tz_kw = || -> Result<Option<Tz>, Error> {
            tz_arg(
                pos.first().or(kwargs
                    .as_ref()
                    .and_then(|k| k.get::<Option<&Value>>("tz").ok().flatten())),
            )
        };
        match (**self, method) {
            (Class::Datetime, "now") => match tz_kw()? {
                Some(tz) => DateTime::naive(now_utc())
                    .astimezone(Some(tz))
                    .map(DateTime::into_value),
                None => Ok(DateTime::naive(now_utc()).into_value()),
            },
            (Class::Datetime, "utcnow") => Ok(DateTime::naive(now_utc()).into_value()),
            (Class::Datetime, "today") => Ok(DateTime::naive(now_utc()).into_value()),
            (Class::Date, "today") => Ok(DateTime::date(now_utc().date()).into_value()),
            (Class::Datetime, "strptime") => parse_strptime(&s(0), &s(1)).map(DateTime::into_value),
            (Class::Datetime | Class::Date, "fromisoformat") => {
                let text = s(0);
                let mut dt = parse_iso(&text)
                    .ok_or_else(|| invalid(format!("Invalid isoformat string: '{text}'")))?;
                if matches!(**self, Class::Date) {
                    dt = DateTime::date(dt.wall.date());
                }
                Ok(dt.into_value())
            }
            (Class::Datetime | Class::Date, "fromtimestamp" | "utcfromtimestamp") => {
                let secs = pos
                    .first()
                    .and_then(|v| f64::try_from(v.clone()).ok())
                    .ok_or_else(|| invalid("fromtimestamp() takes a number"))?;
                let wall = chrono::DateTime::from_timestamp_micros((secs * 1e6) as i64)
                    .ok_or_else(|| invalid("timestamp out of range"))?
                    .naive_utc();
                let dt = DateTime::naive(wall);
                let dt = match (method, tz_arg(pos.get(1))?) {
                    ("fromtimestamp", Some(tz)) => dt.astimezone(Some(tz))?,
                    _ => dt,
                };
                Ok(if matches!(**self, Class::Date) {
                    DateTime::date(dt.wall.date()).into_value()
                } else {
                    dt.into_value()
                })
            }
            (Class::Datetime, "combine") => {
                let d = datetime_arg(pos.first())?;
                let t = pos
                    .get(1)
                    .and_then(|v| v.downcast_object_ref::<DateTime>().cloned());
                let time = t.map(|t| t.wall.time()).unwrap_or_default();
                Ok(DateTime::naive(d.wall.date().and_time(time)).into_value())
            }
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }
}

/// Python's `strptime`, with `%z` offsets and `%f` fractions.
fn parse_strptime(text: &str, fmt: &str) -> Result<DateTime, Error> {
    let fmt_chrono = fmt.replace("%f", "%6f");
    let bad = |e: chrono::ParseError| {
        invalid(format!(
            "time data '{text}' does not match format '{fmt}' ({e})"
        ))
    };
    if fmt.contains("%z") {
        let parsed = chrono::DateTime::parse_from_str(text, &fmt_chrono).map_err(bad)?;
        let offset = parsed.offset().local_minus_utc();
        return Ok(DateTime::aware(
            parsed.naive_local(),
            offset,
            Tz::Fixed(offset),
        ));
    }
    match NaiveDateTime::parse_from_str(text, &fmt_chrono) {
        Ok(wall) => Ok(DateTime::naive(wall)),
        Err(e) => NaiveDate::parse_from_str(text, &fmt_chrono)
            .map(|d| DateTime::naive(d.and_hms_opt(0, 0, 0).unwrap_or_default()))
            .map_err(|_| bad(e)),
    }
}

/// `fromisoformat`: a date, or a date and time with an optional offset.
fn parse_iso(s: &str) -> Option<DateTime> {
    let s = s.trim();
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Some(DateTime::naive(d.and_hms_opt(0, 0, 0)?));
    }
    let normalized = s.replacen(' ', "T", 1).replace('Z', "+00:00");
    if let Ok(dt) = chrono::DateTime::parse_from_rfc3339(&normalized) {
        let off = dt.offset().local_minus_utc();
        return Some(DateTime::aware(dt.naive_local(), off, Tz::Fixed(off)));
    }
    [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(&normalized, f).ok())
    .map(DateTime::naive)
}

/// `modules.pytz`: `timezone(name)`, `utc`.
#[derive(Debug)]
pub struct Pytz;

impl Object for Pytz {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match key.as_str()? {
            "utc" | "UTC" => Some(Value::from_object(Tz::utc())),
            _ => None,
        }
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match method {
            "timezone" => {
                let name = args.first().map(|v| v.to_string()).unwrap_or_default();
                let tz = if name.eq_ignore_ascii_case("utc") {
                    Tz::utc()
                } else {
                    Tz::Named(name.clone())
                };
                tz.zone()
                    .map_err(|_| invalid(format!("UnknownTimeZoneError: '{name}'")))?;
                Ok(Value::from_object(tz))
            }
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }
}

/// A template-side `a + b` / `a - b` (see dialect.rs): datetimes and
/// timedeltas do Python's arithmetic, everything else Jinja's.
pub fn arith(op: String, a: Value, b: Value) -> Result<Value, Error> {
    match op.as_str() {
        "-" => sub(&a, &b),
        "%" => crate::jinja::percent_format::format(&a, &b),
        _ => add(&a, &b),
    }
}
