//! Timestamps with time zone without DuckDB's ICU extension.
//!
//! dbt-duckdb's `current_timestamp()` is `now()`, a TIMESTAMP WITH TIME
//! ZONE, and packages do date arithmetic on it (`dbt.dateadd('hour', -23,
//! dbt.current_timestamp())`). DuckDB leaves that arithmetic, date_trunc,
//! date_part and date_diff on such values to ICU, which the bundled build
//! cannot include (it needs cmake) nor download (no network). kiln adds
//! those overloads itself, computed in UTC, which is kiln's session time
//! zone; the values and types are those dbt-duckdb gives under TZ=UTC.

use chrono::{DateTime, Datelike, Duration, Months, NaiveDate, NaiveDateTime, Timelike};
use duckdb::core::{DataChunkHandle, LogicalTypeHandle, LogicalTypeId};
use duckdb::ffi::{self, duckdb_interval, duckdb_string_t};
use duckdb::types::DuckString;
use duckdb::vscalar::{ScalarFunctionSignature, VScalar};
use duckdb::vtab::arrow::WritableVector;

type Failure = Box<dyn std::error::Error>;

fn tz() -> LogicalTypeHandle {
    LogicalTypeId::TimestampTZ.into()
}

fn interval() -> LogicalTypeHandle {
    LogicalTypeId::Interval.into()
}

fn to_datetime(micros: i64) -> Result<NaiveDateTime, Failure> {
    DateTime::from_timestamp_micros(micros)
        .map(|d| d.naive_utc())
        .ok_or_else(|| "timestamp out of range".into())
}

fn to_micros(d: NaiveDateTime) -> i64 {
    d.and_utc().timestamp_micros()
}

/// DuckDB adds an interval's months, then its days, then its microseconds.
fn add_interval(micros: i64, iv: duckdb_interval, sign: i64) -> Result<i64, Failure> {
    let mut d = to_datetime(micros)?;
    let months = iv.months as i64 * sign;
    d = if months >= 0 {
        d.checked_add_months(Months::new(months as u32))
    } else {
        d.checked_sub_months(Months::new((-months) as u32))
    }
    .ok_or("timestamp out of range")?;
    let d = d
        .checked_add_signed(Duration::days(iv.days as i64 * sign))
        .and_then(|d| d.checked_add_signed(Duration::microseconds(iv.micros * sign)))
        .ok_or("timestamp out of range")?;
    Ok(to_micros(d))
}

fn text(s: &duckdb_string_t) -> String {
    let mut s = *s;
    DuckString::new(&mut s).as_str().to_lowercase()
}

fn truncate(part: &str, micros: i64) -> Result<i64, Failure> {
    let d = to_datetime(micros)?;
    let date = d.date();
    let day = |date: NaiveDate| date.and_hms_opt(0, 0, 0).unwrap_or_default();
    let ymd = |y: i32, m: u32| NaiveDate::from_ymd_opt(y, m, 1).map(day);
    let out = match part {
        "millennium" | "millennia" => ymd(date.year() - date.year().rem_euclid(1000), 1),
        "century" | "centuries" => ymd(date.year() - date.year().rem_euclid(100), 1),
        "decade" | "decades" => ymd(date.year() - date.year().rem_euclid(10), 1),
        "year" | "years" | "y" | "yr" | "yrs" => ymd(date.year(), 1),
        "quarter" | "quarters" => ymd(date.year(), (date.month() - 1) / 3 * 3 + 1),
        "month" | "months" | "mon" => ymd(date.year(), date.month()),
        "week" | "weeks" | "w" => {
            Some(day(date
                - Duration::days(
                    date.weekday().num_days_from_monday() as i64
                )))
        }
        "day" | "days" | "d" | "dayofmonth" => Some(day(date)),
        "hour" | "hours" | "h" | "hr" => d
            .with_minute(0)
            .and_then(|x| x.with_second(0))
            .and_then(|x| x.with_nanosecond(0)),
        "minute" | "minutes" | "m" | "min" => d.with_second(0).and_then(|x| x.with_nanosecond(0)),
        "second" | "seconds" | "s" | "sec" => d.with_nanosecond(0),
        "millisecond" | "milliseconds" | "ms" => {
            d.with_nanosecond(d.nanosecond() / 1_000_000 * 1_000_000)
        }
        "microsecond" | "microseconds" | "us" => Some(d),
        other => return Err(format!("unknown date part '{other}'").into()),
    };
    out.map(to_micros)
        .ok_or_else(|| "timestamp out of range".into())
}

fn part_of(part: &str, micros: i64) -> Result<i64, Failure> {
    let d = to_datetime(micros)?;
    Ok(match part {
        "year" | "years" | "y" | "yr" | "yrs" => d.year() as i64,
        "quarter" | "quarters" => ((d.month() - 1) / 3 + 1) as i64,
        "month" | "months" | "mon" => d.month() as i64,
        "week" | "weeks" | "w" | "weekofyear" => d.iso_week().week() as i64,
        "day" | "days" | "d" | "dayofmonth" => d.day() as i64,
        "dayofweek" | "dow" | "weekday" => d.weekday().num_days_from_sunday() as i64,
        "isodow" => d.weekday().number_from_monday() as i64,
        "dayofyear" | "doy" => d.ordinal() as i64,
        "isoyear" => d.iso_week().year() as i64,
        "hour" | "hours" | "h" | "hr" => d.hour() as i64,
        "minute" | "minutes" | "m" | "min" => d.minute() as i64,
        "second" | "seconds" | "s" | "sec" => d.second() as i64,
        "millisecond" | "milliseconds" | "ms" => {
            (d.second() * 1000 + d.nanosecond() / 1_000_000) as i64
        }
        "microsecond" | "microseconds" | "us" => {
            (d.second() as i64) * 1_000_000 + (d.nanosecond() / 1000) as i64
        }
        "epoch" => micros.div_euclid(1_000_000),
        "decade" | "decades" => d.year() as i64 / 10,
        "century" | "centuries" => (d.year() as i64 - 1) / 100 + 1,
        "millennium" | "millennia" => (d.year() as i64 - 1) / 1000 + 1,
        other => return Err(format!("unknown date part '{other}'").into()),
    })
}

/// date_diff counts the boundaries of `part` crossed from `a` to `b`.
fn diff(part: &str, a: i64, b: i64) -> Result<i64, Failure> {
    let (da, db) = (to_datetime(a)?, to_datetime(b)?);
    let months = |x: &NaiveDateTime| x.year() as i64 * 12 + x.month0() as i64;
    Ok(match part {
        "year" | "years" | "y" | "yr" | "yrs" => (db.year() - da.year()) as i64,
        "quarter" | "quarters" => months(&db) / 3 - months(&da) / 3,
        "month" | "months" | "mon" => months(&db) - months(&da),
        "decade" | "decades" => (db.year() / 10 - da.year() / 10) as i64,
        "century" | "centuries" => (db.year() / 100 - da.year() / 100) as i64,
        "millennium" | "millennia" => (db.year() / 1000 - da.year() / 1000) as i64,
        _ => {
            let unit: i64 = match part {
                "week" | "weeks" | "w" => 7 * 86_400_000_000,
                "day" | "days" | "d" | "dayofmonth" => 86_400_000_000,
                "hour" | "hours" | "h" | "hr" => 3_600_000_000,
                "minute" | "minutes" | "m" | "min" => 60_000_000,
                "second" | "seconds" | "s" | "sec" => 1_000_000,
                "millisecond" | "milliseconds" | "ms" => 1_000,
                "microsecond" | "microseconds" | "us" => 1,
                other => return Err(format!("unknown date part '{other}'").into()),
            };
            let trunc_part = if part.starts_with('w') { "week" } else { part };
            (truncate(trunc_part, b)? - truncate(trunc_part, a)?) / unit
        }
    })
}

/// Runs `f` on each row of a chunk, writing one value of T per row (i64 for
/// timestamps and counts, an interval for differences); a NULL input gives a
/// NULL output.
fn each_row<T: Copy>(
    input: &mut DataChunkHandle,
    output: &mut dyn WritableVector,
    null_value: T,
    f: impl Fn(usize) -> Result<T, Failure>,
) -> Result<(), Failure> {
    let n = input.len();
    let columns = input.num_columns();
    let nulls: Vec<bool> = (0..n)
        .map(|row| (0..columns).any(|c| input.flat_vector(c).row_is_null(row as u64)))
        .collect();
    let mut out = output.flat_vector();
    let mut values = Vec::with_capacity(n);
    for (row, null) in nulls.iter().enumerate() {
        values.push(if *null { null_value } else { f(row)? });
    }
    // SAFETY: each function's signature gives its output vector `n` slots
    // of T (i64 for TIMESTAMPTZ and BIGINT, duckdb_interval for INTERVAL).
    unsafe { out.as_mut_slice_with_len::<T>(n).copy_from_slice(&values) };
    for (row, null) in nulls.iter().enumerate() {
        if *null {
            out.set_null(row);
        }
    }
    Ok(())
}

macro_rules! column {
    ($input:expr, $idx:expr, $ty:ty) => {
        // SAFETY: the signature fixes this column's type, and DuckDB hands
        // scalar functions flat vectors of the chunk's length.
        unsafe {
            $input
                .flat_vector($idx)
                .as_slice_with_len::<$ty>($input.len())
                .to_vec()
        }
    };
}

/// `timestamptz + interval`, `interval + timestamptz`.
struct Plus;

impl VScalar for Plus {
    type State = ();

    fn invoke(
        _: &(),
        input: &mut DataChunkHandle,
        output: &mut dyn WritableVector,
    ) -> Result<(), Failure> {
        let first_is_interval = input.flat_vector(0).logical_type().id() == LogicalTypeId::Interval;
        if first_is_interval {
            let (iv, ts) = (column!(input, 0, duckdb_interval), column!(input, 1, i64));
            each_row(input, output, 0, |r| add_interval(ts[r], iv[r], 1))
        } else {
            let (ts, iv) = (column!(input, 0, i64), column!(input, 1, duckdb_interval));
            each_row(input, output, 0, |r| add_interval(ts[r], iv[r], 1))
        }
    }

    fn signatures() -> Vec<ScalarFunctionSignature> {
        vec![
            ScalarFunctionSignature::exact(vec![tz(), interval()], tz()),
            ScalarFunctionSignature::exact(vec![interval(), tz()], tz()),
        ]
    }
}

/// `timestamptz - interval`.
struct Minus;

impl VScalar for Minus {
    type State = ();

    fn invoke(
        _: &(),
        input: &mut DataChunkHandle,
        output: &mut dyn WritableVector,
    ) -> Result<(), Failure> {
        let (ts, iv) = (column!(input, 0, i64), column!(input, 1, duckdb_interval));
        each_row(input, output, 0, |r| add_interval(ts[r], iv[r], -1))
    }

    fn signatures() -> Vec<ScalarFunctionSignature> {
        vec![ScalarFunctionSignature::exact(vec![tz(), interval()], tz())]
    }
}

/// `timestamptz - timestamptz`: an interval of days and microseconds.
struct Between;

impl VScalar for Between {
    type State = ();

    fn invoke(
        _: &(),
        input: &mut DataChunkHandle,
        output: &mut dyn WritableVector,
    ) -> Result<(), Failure> {
        let (a, b) = (column!(input, 0, i64), column!(input, 1, i64));
        let none = duckdb_interval {
            months: 0,
            days: 0,
            micros: 0,
        };
        each_row(input, output, none, |r| {
            let d = a[r] - b[r];
            Ok(duckdb_interval {
                months: 0,
                days: (d / 86_400_000_000) as i32,
                micros: d % 86_400_000_000,
            })
        })
    }

    fn signatures() -> Vec<ScalarFunctionSignature> {
        vec![ScalarFunctionSignature::exact(vec![tz(), tz()], interval())]
    }
}

fn varchar() -> LogicalTypeHandle {
    LogicalTypeId::Varchar.into()
}

/// `date_trunc(part, timestamptz)`.
struct Trunc;

impl VScalar for Trunc {
    type State = ();

    fn invoke(
        _: &(),
        input: &mut DataChunkHandle,
        output: &mut dyn WritableVector,
    ) -> Result<(), Failure> {
        let (parts, ts) = (column!(input, 0, duckdb_string_t), column!(input, 1, i64));
        each_row(input, output, 0, |r| truncate(&text(&parts[r]), ts[r]))
    }

    fn signatures() -> Vec<ScalarFunctionSignature> {
        vec![ScalarFunctionSignature::exact(vec![varchar(), tz()], tz())]
    }
}

/// `date_part(part, timestamptz)` (and `extract`).
struct Part;

impl VScalar for Part {
    type State = ();

    fn invoke(
        _: &(),
        input: &mut DataChunkHandle,
        output: &mut dyn WritableVector,
    ) -> Result<(), Failure> {
        let (parts, ts) = (column!(input, 0, duckdb_string_t), column!(input, 1, i64));
        each_row(input, output, 0, |r| part_of(&text(&parts[r]), ts[r]))
    }

    fn signatures() -> Vec<ScalarFunctionSignature> {
        vec![ScalarFunctionSignature::exact(
            vec![varchar(), tz()],
            LogicalTypeId::Bigint.into(),
        )]
    }
}

/// `date_diff(part, timestamptz, timestamptz)`.
struct Diff;

impl VScalar for Diff {
    type State = ();

    fn invoke(
        _: &(),
        input: &mut DataChunkHandle,
        output: &mut dyn WritableVector,
    ) -> Result<(), Failure> {
        let parts = column!(input, 0, duckdb_string_t);
        let (a, b) = (column!(input, 1, i64), column!(input, 2, i64));
        each_row(input, output, 0, |r| diff(&text(&parts[r]), a[r], b[r]))
    }

    fn signatures() -> Vec<ScalarFunctionSignature> {
        vec![ScalarFunctionSignature::exact(
            vec![varchar(), tz(), tz()],
            LogicalTypeId::Bigint.into(),
        )]
    }
}

/// `year(ts)`, `month(ts)`, ...: one date part, named by the function.
struct NamedPart;

impl VScalar for NamedPart {
    type State = String;

    fn invoke(
        part: &String,
        input: &mut DataChunkHandle,
        output: &mut dyn WritableVector,
    ) -> Result<(), Failure> {
        let ts = column!(input, 0, i64);
        each_row(input, output, 0, |r| part_of(part, ts[r]))
    }

    fn signatures() -> Vec<ScalarFunctionSignature> {
        vec![ScalarFunctionSignature::exact(
            vec![tz()],
            LogicalTypeId::Bigint.into(),
        )]
    }
}

/// `timezone(zone, ts)` (what `ts AT TIME ZONE zone` calls): a wall time in
/// `zone` becomes an instant, and an instant becomes the wall time in `zone`.
struct AtZone;

fn zone_of(name: &str) -> Result<jiff::tz::TimeZone, Failure> {
    jiff::tz::TimeZone::get(name).map_err(|_| format!("unknown time zone '{name}'").into())
}

impl VScalar for AtZone {
    type State = ();

    fn invoke(
        _: &(),
        input: &mut DataChunkHandle,
        output: &mut dyn WritableVector,
    ) -> Result<(), Failure> {
        let to_instant = input.flat_vector(1).logical_type().id() == LogicalTypeId::Timestamp;
        let (zones, ts) = (column!(input, 0, duckdb_string_t), column!(input, 1, i64));
        each_row(input, output, 0, |r| {
            let mut name = zones[r];
            let zone = zone_of(&DuckString::new(&mut name).as_str())?;
            let micros = ts[r];
            let secs = micros.div_euclid(1_000_000);
            let offset = if to_instant {
                crate::jinja::datetime::wall_offset(&zone, to_datetime(micros)?)? as i64
            } else {
                zone.to_offset(jiff::Timestamp::from_second(secs)?)
                    .seconds() as i64
            };
            Ok(if to_instant {
                micros - offset * 1_000_000
            } else {
                micros + offset * 1_000_000
            })
        })
    }

    fn signatures() -> Vec<ScalarFunctionSignature> {
        vec![
            ScalarFunctionSignature::exact(vec![varchar(), LogicalTypeId::Timestamp.into()], tz()),
            ScalarFunctionSignature::exact(vec![varchar(), tz()], LogicalTypeId::Timestamp.into()),
        ]
    }
}

/// `current_date`, `today()`: the UTC date now.
struct Today;

impl VScalar for Today {
    type State = ();

    fn invoke(
        _: &(),
        input: &mut DataChunkHandle,
        output: &mut dyn WritableVector,
    ) -> Result<(), Failure> {
        let n = input.len().max(1);
        let days = chrono::Utc::now().timestamp_micros().div_euclid(DAY_MICROS) as i32;
        let mut out = output.flat_vector();
        // SAFETY: the output is a DATE (i32) vector with room for the chunk.
        unsafe { out.as_mut_slice_with_len::<i32>(n).fill(days) };
        Ok(())
    }

    fn signatures() -> Vec<ScalarFunctionSignature> {
        vec![ScalarFunctionSignature::exact(
            vec![],
            LogicalTypeId::Date.into(),
        )]
    }

    fn volatile() -> bool {
        true
    }
}

/// Adds the overloads to the database `conn` belongs to (once per database:
/// they live in its system catalog).
pub fn register_functions(conn: &duckdb::Connection) -> duckdb::Result<()> {
    for part in [
        "year",
        "month",
        "day",
        "hour",
        "minute",
        "second",
        "quarter",
        "week",
        "dayofweek",
        "dayofyear",
    ] {
        conn.register_scalar_function_with_state::<NamedPart>(part, &part.to_string())?;
    }
    conn.register_scalar_function::<AtZone>("timezone")?;
    conn.register_scalar_function::<Today>("current_date")?;
    conn.register_scalar_function::<Today>("today")?;
    conn.register_scalar_function::<Plus>("+")?;
    conn.register_scalar_function::<Minus>("-")?;
    conn.register_scalar_function::<Between>("-")?;
    conn.register_scalar_function::<Trunc>("date_trunc")?;
    conn.register_scalar_function::<Trunc>("datetrunc")?;
    conn.register_scalar_function::<Part>("date_part")?;
    conn.register_scalar_function::<Part>("datepart")?;
    conn.register_scalar_function::<Diff>("date_diff")?;
    conn.register_scalar_function::<Diff>("datediff")?;
    Ok(())
}

/// Casts from TIMESTAMP WITH TIME ZONE that DuckDB leaves to ICU: to DATE
/// and to TIME, in UTC. Cast functions are registered through a raw C
/// connection, which duckdb-rs does not expose; `db` is the database the
/// connections are opened on.
///
/// # Safety
/// `db` must be an open database handle.
pub unsafe fn register_casts(db: ffi::duckdb_database) -> Result<(), String> {
    // SAFETY: the caller vouches for `db`; the connection, types and cast
    // function made here are released before returning.
    unsafe {
        let mut con: ffi::duckdb_connection = std::ptr::null_mut();
        if ffi::duckdb_connect(db, &mut con) != ffi::DuckDBSuccess {
            return Err("could not connect to register casts".into());
        }
        let mut result = Ok(());
        for (target, function) in [
            (ffi::DUCKDB_TYPE_DUCKDB_TYPE_DATE, cast_to_date as CastFn),
            (ffi::DUCKDB_TYPE_DUCKDB_TYPE_TIME, cast_to_time as CastFn),
        ] {
            let mut cast = ffi::duckdb_create_cast_function();
            let mut from =
                ffi::duckdb_create_logical_type(ffi::DUCKDB_TYPE_DUCKDB_TYPE_TIMESTAMP_TZ);
            let mut to = ffi::duckdb_create_logical_type(target);
            ffi::duckdb_cast_function_set_source_type(cast, from);
            ffi::duckdb_cast_function_set_target_type(cast, to);
            ffi::duckdb_cast_function_set_function(cast, Some(function));
            if ffi::duckdb_register_cast_function(con, cast) != ffi::DuckDBSuccess {
                result = Err("a cast could not be registered".into());
            }
            ffi::duckdb_destroy_cast_function(&mut cast);
            ffi::duckdb_destroy_logical_type(&mut from);
            ffi::duckdb_destroy_logical_type(&mut to);
        }
        ffi::duckdb_disconnect(&mut con);
        result
    }
}

type CastFn = unsafe extern "C" fn(
    ffi::duckdb_function_info,
    ffi::idx_t,
    ffi::duckdb_vector,
    ffi::duckdb_vector,
) -> bool;

const DAY_MICROS: i64 = 86_400_000_000;

/// Applies `f` to each TIMESTAMPTZ (i64 microseconds) of `input`, writing
/// `T`s to `output`; NULLs stay NULL.
///
/// # Safety
/// `input` is a flat vector of `count` i64 values and `output` a vector of
/// `count` slots of `T`, as DuckDB hands a cast function.
unsafe fn cast_each<T>(
    count: ffi::idx_t,
    input: ffi::duckdb_vector,
    output: ffi::duckdb_vector,
    f: impl Fn(i64) -> T,
) -> bool {
    let n = count as usize;
    let data = ffi::duckdb_vector_get_data(input) as *const i64;
    let out = ffi::duckdb_vector_get_data(output) as *mut T;
    let validity = ffi::duckdb_vector_get_validity(input);
    for row in 0..n {
        let valid =
            validity.is_null() || ffi::duckdb_validity_row_is_valid(validity, row as ffi::idx_t);
        if valid {
            out.add(row).write(f(*data.add(row)));
        } else {
            ffi::duckdb_vector_ensure_validity_writable(output);
            ffi::duckdb_validity_set_row_invalid(
                ffi::duckdb_vector_get_validity(output),
                row as ffi::idx_t,
            );
        }
    }
    true
}

/// DATE is days since 1970-01-01 (i32).
unsafe extern "C" fn cast_to_date(
    _info: ffi::duckdb_function_info,
    count: ffi::idx_t,
    input: ffi::duckdb_vector,
    output: ffi::duckdb_vector,
) -> bool {
    cast_each(count, input, output, |micros| {
        micros.div_euclid(DAY_MICROS) as i32
    })
}

/// TIME is microseconds since midnight (i64).
unsafe extern "C" fn cast_to_time(
    _info: ffi::duckdb_function_info,
    count: ffi::idx_t,
    input: ffi::duckdb_vector,
    output: ffi::duckdb_vector,
) -> bool {
    cast_each(count, input, output, |micros| micros.rem_euclid(DAY_MICROS))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn micros(s: &str) -> i64 {
        to_micros(NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap())
    }

    #[test]
    fn differences_of_timestamps_with_time_zone_are_intervals() {
        use crate::adapter::Adapter;
        let adapter = crate::adapter::duckdb::DuckDbAdapter::in_memory().unwrap();
        let mut conn = adapter.connect().unwrap();
        let t = conn
            .query("select now() - (now() - interval 2 day - interval 3 hour) as d, now() - cast(null as timestamptz) as n")
            .unwrap();
        assert_eq!(
            t.rows[0],
            vec![
                crate::adapter::Cell::Other("0 months 2 days 10800000000 us".into()),
                crate::adapter::Cell::Null
            ]
        );
    }

    #[test]
    fn interval_arithmetic_truncation_and_parts() {
        let iv = duckdb_interval {
            months: 1,
            days: 1,
            micros: 3_600_000_000,
        };
        assert_eq!(
            add_interval(micros("2024-01-31 10:00:00"), iv, 1).unwrap(),
            micros("2024-03-01 11:00:00")
        );
        assert_eq!(
            truncate("quarter", micros("2024-05-17 10:11:12")).unwrap(),
            micros("2024-04-01 00:00:00")
        );
        assert_eq!(
            truncate("week", micros("2024-05-17 10:11:12")).unwrap(),
            micros("2024-05-13 00:00:00")
        );
        assert_eq!(part_of("dow", micros("2024-05-19 00:00:00")).unwrap(), 0);
        assert_eq!(
            diff(
                "day",
                micros("2024-01-01 23:00:00"),
                micros("2024-01-02 01:00:00")
            )
            .unwrap(),
            1
        );
        assert_eq!(
            diff(
                "month",
                micros("2024-01-31 00:00:00"),
                micros("2024-02-01 00:00:00")
            )
            .unwrap(),
            1
        );
    }
}
