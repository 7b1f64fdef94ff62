//! Embedded DuckDB, opened as the profile's target describes: a file or
//! in-memory database, extensions, settings and attached databases. Every
//! worker gets its own connection (`try_clone`) to the one database.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use duckdb::types::{TimeUnit, Value as DuckValue};
use serde_json::Value as Json;

use crate::adapter::{
    sql_literal, Adapter, Cell, Column, Connection, DbError, DbResult, RelationInfo, RelationKind,
    Response, Table,
};
use crate::error::{Error, Result};
use crate::project::Target;

pub struct DuckDbAdapter {
    root: Mutex<duckdb::Connection>,
    /// dbt-duckdb's `retries`.
    retries: Retries,
    /// dbt-duckdb's `disable_transactions: true` turns begin/commit off.
    transactions: bool,
    /// Closed after `root` (fields drop in order); connections opened from
    /// it keep the database alive until they close.
    _database: RawDatabase,
}

/// The C handle of an open database, closed on drop.
struct RawDatabase(duckdb::ffi::duckdb_database);

// SAFETY: a DuckDB database handle may be used and closed from any thread.
unsafe impl Send for RawDatabase {}
unsafe impl Sync for RawDatabase {}

impl Drop for RawDatabase {
    fn drop(&mut self) {
        // SAFETY: the handle came from duckdb_open_ext and is closed once.
        unsafe { duckdb::ffi::duckdb_close(&mut self.0) };
    }
}

fn db_err(e: duckdb::Error) -> DbError {
    let message = e.to_string();
    let interrupted = message.contains("INTERRUPT") || message.contains("Interrupted");
    DbError {
        message,
        interrupted,
    }
}

impl DuckDbAdapter {
    /// A fresh, empty in-memory database (unit tests run in one of these).
    pub fn in_memory() -> Result<DuckDbAdapter> {
        let (conn, database) = open_connection(None)?;
        Ok(DuckDbAdapter {
            root: Mutex::new(conn),
            retries: Retries::default(),
            transactions: true,
            _database: database,
        })
    }

    /// Opens the target's database and applies its extensions, settings and attachments.
    pub fn open(target: &Target) -> Result<DuckDbAdapter> {
        let path = target.duckdb_path();
        // dbt-duckdb's `retries: {connect_attempts: N}` (kiln also reads
        // `connect_retries: N`, N more tries): another process may hold the
        // file for a moment; try again, a second apart.
        let retries = Retries::of(target);
        let connect_retries = retries.connect_attempts.saturating_sub(1);
        let mut attempt = 0;
        let (conn, database) = loop {
            match open_connection(path.as_deref()) {
                Ok(opened) => break opened,
                Err(_) if attempt < connect_retries => {
                    attempt += 1;
                    std::thread::sleep(std::time::Duration::from_secs(1));
                }
                Err(e) => return Err(e),
            }
        };
        let setup = setup_sql(target)?;
        if !setup.is_empty() {
            conn.execute_batch(&setup).map_err(|e| {
                // The message may quote the statement: never a secret's values.
                let message = mask_secrets(&e.to_string(), target);
                Error::new(format!("could not prepare the DuckDB database: {message}"))
                    .at(crate::error::Location::file(&target.profiles_path))
                    .note("check `extensions`, `settings`, `attach` and `secrets` in profiles.yml")
            })?;
        }
        Ok(DuckDbAdapter {
            root: Mutex::new(conn),
            retries,
            transactions: target
                .fields
                .get("disable_transactions")
                .and_then(Json::as_bool)
                != Some(true),
            _database: database,
        })
    }
}

/// Opens the database through DuckDB's C API (so that kiln can add its
/// time zone casts, which need a raw connection), then as a duckdb-rs
/// connection.
fn open_connection(path: Option<&Path>) -> Result<(duckdb::Connection, RawDatabase)> {
    use duckdb::ffi;
    if let Some(dir) = path
        .and_then(Path::parent)
        .filter(|d| !d.as_os_str().is_empty())
    {
        if !dir.is_dir() {
            return Err(Error::new(format!(
                "the directory of the database file {} does not exist",
                dir.join(path.and_then(Path::file_name).unwrap_or_default())
                    .display()
            ))
            .note("create it, or change `path:` in profiles.yml"));
        }
    }
    let c_path = match path {
        Some(p) => Some(
            std::ffi::CString::new(p.to_string_lossy().as_bytes()).map_err(|_| {
                Error::new(format!(
                    "the database path {} holds a NUL byte",
                    p.display()
                ))
            })?,
        ),
        None => None,
    };
    let mut db: ffi::duckdb_database = std::ptr::null_mut();
    let mut err: *mut std::os::raw::c_char = std::ptr::null_mut();
    // SAFETY: the path is a valid C string (or NULL for in memory), the
    // out-pointers are valid, and an error string is freed with duckdb_free.
    let state = unsafe {
        ffi::duckdb_open_ext(
            c_path.as_ref().map_or(std::ptr::null(), |c| c.as_ptr()),
            &mut db,
            std::ptr::null_mut(),
            &mut err,
        )
    };
    if state != ffi::DuckDBSuccess {
        let message = if err.is_null() {
            "unknown error".to_string()
        } else {
            // SAFETY: DuckDB set `err` to a NUL-terminated string it allocated.
            let m = unsafe { std::ffi::CStr::from_ptr(err) }
                .to_string_lossy()
                .to_string();
            unsafe { ffi::duckdb_free(err.cast()) };
            m
        };
        return Err(match path {
            Some(p) => Error::new(format!(
                "could not open DuckDB database {}: {message}",
                p.display()
            ))
            .note("is another process holding it open for writing?"),
            None => Error::new(format!("could not open DuckDB: {message}")),
        });
    }
    let database = RawDatabase(db);
    // SAFETY: `db` was just opened and `database` keeps it open.
    if let Err(e) = unsafe { crate::adapter::duckdb_tz::register_casts(db) } {
        crate::output::debug(&format!("time zone casts not added: {e}"));
    }
    // SAFETY: `db` is open, and `database` closes it only after this
    // connection and every clone of it are done with the handle.
    let conn = unsafe { duckdb::Connection::open_from_raw(db) }
        .map_err(|e| Error::new(format!("could not open DuckDB: {e}")))?;
    if let Err(e) = crate::adapter::duckdb_tz::register_functions(&conn) {
        crate::output::debug(&format!("time zone functions not added: {e}"));
    }
    Ok((conn, database))
}

/// `text` with the values of the profile's secrets replaced by `*****`.
fn mask_secrets(text: &str, target: &Target) -> String {
    let mut out = text.to_string();
    for secret in target
        .fields
        .get("secrets")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .filter_map(Json::as_object)
    {
        for (k, v) in secret {
            if let (false, Some(v)) = (
                matches!(k.as_str(), "type" | "name" | "provider"),
                v.as_str(),
            ) {
                if !v.is_empty() {
                    out = out.replace(v, "*****");
                }
            }
        }
    }
    out
}

/// SQL that loads extensions, applies settings and attaches databases.
fn setup_sql(target: &Target) -> Result<String> {
    let mut sql = String::new();
    if let Some(exts) = target.fields.get("extensions").and_then(Json::as_array) {
        for ext in exts {
            let (name, repo) = match ext {
                Json::String(s) => (s.clone(), None),
                Json::Object(o) => (
                    o.get("name")
                        .and_then(Json::as_str)
                        .unwrap_or_default()
                        .to_string(),
                    // dbt-duckdb: `{name: h3, repo: community}`.
                    o.get("repo")
                        .or_else(|| o.get("repository"))
                        .and_then(Json::as_str),
                ),
                _ => (String::new(), None),
            };
            if !name.is_empty() {
                let from = repo.map(|r| format!(" from {r}")).unwrap_or_default();
                sql.push_str(&format!("install {name}{from}; load {name};\n"));
            }
        }
    }
    if let Some(Json::Object(settings)) = target.fields.get("settings") {
        for (k, v) in settings {
            let value = match v {
                Json::String(s) => sql_literal(s),
                other => other.to_string(),
            };
            sql.push_str(&format!("set {k} = {value};\n"));
        }
    }
    if let Some(attach) = target.fields.get("attach").and_then(Json::as_array) {
        for a in attach {
            let Some(path) = a.get("path").and_then(Json::as_str) else {
                return Err(
                    Error::new("every `attach:` entry in profiles.yml needs a `path:`")
                        .at(crate::error::Location::file(&target.profiles_path)),
                );
            };
            let resolved = if path.contains("://") || path.starts_with("md:") || path == ":memory:"
            {
                path.to_string()
            } else {
                crate::project::profiles::local_path(path)
                    .to_string_lossy()
                    .to_string()
            };
            let mut stmt = format!("attach if not exists {}", sql_literal(&resolved));
            if let Some(alias) = a.get("alias").and_then(Json::as_str) {
                stmt.push_str(&format!(" as \"{alias}\""));
            }
            let mut opts = Vec::new();
            if let Some(t) = a.get("type").and_then(Json::as_str) {
                opts.push(format!("type {t}"));
            }
            if a.get("read_only").and_then(Json::as_bool) == Some(true) {
                opts.push("read_only".to_string());
            }
            // Other ATTACH options as written (dbt-duckdb's `options:`).
            if let Some(Json::Object(more)) = a.get("options") {
                for (k, v) in more {
                    opts.push(match v {
                        Json::String(s) => format!("{k} {}", sql_literal(s)),
                        other => format!("{k} {other}"),
                    });
                }
            }
            if !opts.is_empty() {
                stmt.push_str(&format!(" ({})", opts.join(", ")));
            }
            sql.push_str(&stmt);
            sql.push_str(";\n");
        }
    }
    // dbt-duckdb's `secrets:`: each entry a CREATE SECRET (type and
    // name as given; every other key a parameter of it).
    if let Some(secrets) = target.fields.get("secrets").and_then(Json::as_array) {
        for (i, secret) in secrets.iter().enumerate() {
            let Some(fields) = secret.as_object() else {
                continue;
            };
            let name = fields
                .get("name")
                .and_then(Json::as_str)
                .map_or_else(|| format!("__kiln_secret_{i}"), str::to_string);
            let params: Vec<String> = fields
                .iter()
                .filter(|(k, _)| k.as_str() != "name")
                .map(|(k, v)| match v {
                    Json::String(s) if k == "type" || k == "provider" => format!("{k} {s}"),
                    Json::String(s) => format!("{k} {}", sql_literal(s)),
                    other => format!("{k} {other}"),
                })
                .collect();
            sql.push_str(&format!(
                "create or replace secret \"{name}\" ({});\n",
                params.join(", ")
            ));
        }
    }
    // `database:` naming an attached database makes it the default.
    if let Some(db) = target.fields.get("database").and_then(Json::as_str) {
        let default = crate::project::profiles::duckdb_database_name(
            target.fields.get("path").and_then(Json::as_str),
        );
        if db != default {
            sql.push_str(&format!("use \"{db}\";\n"));
        }
    }
    Ok(sql)
}

impl Adapter for DuckDbAdapter {
    fn adapter_type(&self) -> &'static str {
        "duckdb"
    }

    fn connect(&self) -> DbResult<Box<dyn Connection>> {
        let root = self.root.lock().unwrap_or_else(|e| e.into_inner());
        let conn = root.try_clone().map_err(db_err)?;
        Ok(Box::new(DuckDbConnection {
            conn,
            in_tx: false,
            transactions: self.transactions,
            retries: self.retries.clone(),
            tx_statements: 0,
        }))
    }

    fn transactional_ddl(&self) -> bool {
        self.transactions
    }
}

pub struct DuckDbConnection {
    conn: duckdb::Connection,
    /// A transaction is open (tracked here: templates begin and commit too).
    in_tx: bool,
    /// Off with `disable_transactions`: every statement commits on its own.
    transactions: bool,
    retries: Retries,
    /// Statements run since `begin` (a retry is safe only for the first).
    tx_statements: usize,
}

/// dbt-duckdb's `retries:` profile block.
#[derive(Debug, Clone, Default)]
pub struct Retries {
    /// Tries at opening the database file (1: no retry).
    connect_attempts: u64,
    /// Tries at a statement that fails with a retryable error (1: no retry).
    query_attempts: u64,
    /// How DuckDB's messages begin for the retryable exceptions (`io error:`).
    retryable_errors: Vec<String>,
}

impl Retries {
    fn of(target: &Target) -> Retries {
        let r = target.fields.get("retries");
        let number = |key: &str| r.and_then(|r| r.get(key)).and_then(Json::as_u64);
        // DuckDB's Python exception names, IOException by default
        // (`retryable_errors` is read as the same list).
        let names: Vec<String> = r
            .and_then(|r| {
                r.get("retryable_exceptions")
                    .or_else(|| r.get("retryable_errors"))
            })
            .and_then(Json::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Json::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_else(|| vec!["IOException".to_string()]);
        Retries {
            connect_attempts: number("connect_attempts")
                .or_else(|| number("connect_retries").map(|n| n + 1))
                .unwrap_or(1),
            query_attempts: number("query_attempts").unwrap_or(1),
            retryable_errors: names.iter().map(|n| error_prefix(n)).collect(),
        }
    }

    /// Is this error one to try again?
    fn retryable(&self, e: &DbError) -> bool {
        let message = e.message.to_ascii_lowercase();
        self.retryable_errors.iter().any(|p| message.starts_with(p))
    }
}

/// `IOException` → `io error:`, `InvalidInputException` → `invalid input
/// error:`: how DuckDB's messages begin for each of its exception types.
fn error_prefix(exception: &str) -> String {
    let base = exception.strip_suffix("Exception").unwrap_or(exception);
    let chars: Vec<char> = base.chars().collect();
    let mut words = String::new();
    for (i, c) in chars.iter().enumerate() {
        let starts_word = i > 0
            && c.is_uppercase()
            && (chars[i - 1].is_lowercase() || chars.get(i + 1).is_some_and(|n| n.is_lowercase()));
        if starts_word {
            words.push(' ');
        }
        words.push(*c);
    }
    format!("{} error:", words.to_ascii_lowercase())
}

impl DuckDbConnection {
    fn execute_once(&mut self, sql: &str) -> DbResult<Response> {
        let trimmed = sql.trim().trim_end_matches(';').trim();
        match trimmed.to_ascii_lowercase().as_str() {
            "begin" | "begin transaction" | "start transaction" => {
                self.in_tx = true;
                self.tx_statements = 0;
            }
            "commit" | "end" | "rollback" | "abort" => self.in_tx = false,
            _ => {}
        }
        if trimmed.is_empty() {
            return Ok(Response {
                message: "OK".into(),
                rows_affected: None,
            });
        }
        match self.conn.prepare(trimmed) {
            Ok(mut stmt) => {
                let n = stmt.execute([]).map_err(db_err)?;
                Ok(Response {
                    message: "OK".into(),
                    rows_affected: Some(n as i64),
                })
            }
            // Several statements (hooks often hold more than one) run as a batch.
            Err(e) if e.to_string().to_lowercase().contains("multiple statements") => {
                self.conn.execute_batch(sql).map_err(db_err)?;
                Ok(Response {
                    message: "OK".into(),
                    rows_affected: None,
                })
            }
            Err(e) => Err(db_err(e)),
        }
    }

    fn rows<T>(
        &self,
        sql: &str,
        params: &[&str],
        f: impl Fn(&duckdb::Row) -> duckdb::Result<T>,
    ) -> DbResult<Vec<T>> {
        let mut stmt = self.conn.prepare(sql).map_err(db_err)?;
        let params: Vec<&dyn duckdb::ToSql> =
            params.iter().map(|p| p as &dyn duckdb::ToSql).collect();
        let rows = stmt
            .query_map(params.as_slice(), |r| f(r))
            .map_err(db_err)?;
        rows.collect::<duckdb::Result<Vec<T>>>().map_err(db_err)
    }
}

impl Connection for DuckDbConnection {
    /// Runs the statement; with `retries: {query_attempts: N}`, a
    /// retryable error is tried again after 1, 2, 4, ... seconds, as
    /// dbt-duckdb does.
    /// A failed statement aborts DuckDB's transaction, so inside one only
    /// its first statement can be tried again (after a rollback and a new
    /// begin); a later one fails as it is, as nothing before it is lost.
    fn execute(&mut self, sql: &str) -> DbResult<Response> {
        let mut attempt = 1;
        loop {
            let first_in_transaction = self.tx_statements == 0;
            let was_in_tx = self.in_tx;
            let done = self.execute_once(sql);
            if was_in_tx && self.in_tx {
                self.tx_statements += 1;
            }
            match done {
                Err(e)
                    if attempt < self.retries.query_attempts
                        && self.retries.retryable(&e)
                        && (!self.in_tx || first_in_transaction) =>
                {
                    if self.in_tx {
                        self.conn.execute_batch("rollback; begin").map_err(db_err)?;
                        self.tx_statements = 0;
                    }
                    std::thread::sleep(std::time::Duration::from_secs(1 << (attempt - 1).min(6)));
                    attempt += 1;
                }
                done => return done,
            }
        }
    }

    fn query(&mut self, sql: &str) -> DbResult<Table> {
        let mut stmt = self
            .conn
            .prepare(sql.trim().trim_end_matches(';'))
            .map_err(db_err)?;
        let mut rows_out = Vec::new();
        {
            let mut rows = stmt.query([]).map_err(db_err)?;
            while let Some(row) = rows.next().map_err(db_err)? {
                let n = row.as_ref().column_count();
                let mut cells = Vec::with_capacity(n);
                for i in 0..n {
                    let v: DuckValue = row.get(i).map_err(db_err)?;
                    cells.push(cell(v));
                }
                rows_out.push(cells);
            }
        }
        let columns = (0..stmt.column_count())
            .map(|i| Column {
                name: stmt
                    .column_name(i)
                    .map(|s| s.to_string())
                    .unwrap_or_default(),
                data_type: type_name(&stmt.column_type(i)),
            })
            .collect();
        Ok(Table {
            columns,
            rows: rows_out,
        })
    }

    /// DuckDB's own type names, decimal widths included.
    fn query_columns(&mut self, sql: &str) -> DbResult<Vec<Column>> {
        Ok(self
            .query(&format!("describe select * from (\n{sql}\n) as dbt_sbq"))?
            .rows
            .iter()
            .map(|r| Column {
                name: r[0].to_string(),
                data_type: r[1].to_string(),
            })
            .collect())
    }

    fn describe_relation(
        &mut self,
        database: &str,
        schema: &str,
        identifier: &str,
    ) -> DbResult<Option<(RelationInfo, Vec<Column>)>> {
        // A bare identifier is a temporary table: DuckDB keeps those in temp.main.
        let (database, schema) = match (database, schema) {
            ("", "") => ("temp", "main"),
            other => other,
        };
        let kind = self.rows(
            "select table_type from information_schema.tables where table_catalog ilike ? and table_schema ilike ? and table_name ilike ?",
            &[database, schema, identifier],
            |r| r.get::<_, String>(0),
        )?;
        let Some(kind) = kind.first() else {
            return Ok(None);
        };
        let columns = self.rows(
            "select column_name, data_type from information_schema.columns where table_catalog ilike ? and table_schema ilike ? and table_name ilike ? order by ordinal_position",
            &[database, schema, identifier],
            |r| {
                Ok(Column {
                    name: r.get(0)?,
                    data_type: r.get(1)?,
                })
            },
        )?;
        Ok(Some((
            RelationInfo {
                database: database.to_string(),
                schema: schema.to_string(),
                identifier: identifier.to_string(),
                kind: relation_kind(kind),
            },
            columns,
        )))
    }

    fn list_relations(&mut self, database: &str, schema: &str) -> DbResult<Vec<RelationInfo>> {
        self.rows(
            "select table_catalog, table_schema, table_name, table_type from information_schema.tables where table_catalog ilike ? and table_schema ilike ?",
            &[database, schema],
            |r| {
                let kind: String = r.get(3)?;
                Ok(RelationInfo {
                    database: r.get(0)?,
                    schema: r.get(1)?,
                    identifier: r.get(2)?,
                    kind: relation_kind(&kind),
                })
            },
        )
    }

    fn interrupter(&self) -> Box<dyn Fn() + Send + Sync> {
        let handle = self.conn.interrupt_handle();
        Box::new(move || handle.interrupt())
    }

    fn in_transaction(&self) -> bool {
        self.in_tx
    }

    fn begin(&mut self) -> DbResult<()> {
        if !self.transactions {
            return Ok(());
        }
        self.execute("begin").map(|_| ())
    }
}

fn relation_kind(table_type: &str) -> RelationKind {
    match table_type {
        "VIEW" => RelationKind::View,
        _ => RelationKind::Table,
    }
}

/// A DuckDB value as a result cell.
fn cell(v: DuckValue) -> Cell {
    match v {
        DuckValue::Null => Cell::Null,
        DuckValue::Boolean(b) => Cell::Bool(b),
        DuckValue::TinyInt(i) => Cell::Int(i.into()),
        DuckValue::SmallInt(i) => Cell::Int(i.into()),
        DuckValue::Int(i) => Cell::Int(i.into()),
        DuckValue::BigInt(i) => Cell::Int(i.into()),
        DuckValue::HugeInt(i) => Cell::Int(i),
        DuckValue::UTinyInt(i) => Cell::Int(i.into()),
        DuckValue::USmallInt(i) => Cell::Int(i.into()),
        DuckValue::UInt(i) => Cell::Int(i.into()),
        DuckValue::UBigInt(i) => Cell::Int(i.into()),
        DuckValue::UHugeInt(i) => i128::try_from(i)
            .map(Cell::Int)
            .unwrap_or_else(|_| Cell::Other(i.to_string())),
        DuckValue::Float(f) => Cell::Float(f.into()),
        DuckValue::Double(f) => Cell::Float(f),
        DuckValue::Decimal(d) => Cell::Decimal(d.to_string()),
        DuckValue::Text(s) | DuckValue::Enum(s) => Cell::Text(s),
        DuckValue::Date32(days) => Cell::Other(
            chrono::NaiveDate::from_num_days_from_ce_opt(days + 719_163)
                .map(|d| d.to_string())
                .unwrap_or_else(|| days.to_string()),
        ),
        DuckValue::Timestamp(unit, v) => Cell::Other(timestamp_text(unit, v)),
        DuckValue::Time64(unit, v) => {
            let micros = to_micros(unit, v);
            let secs = micros.div_euclid(1_000_000);
            let frac = micros.rem_euclid(1_000_000);
            let t = chrono::NaiveTime::from_num_seconds_from_midnight_opt(
                secs as u32,
                (frac * 1000) as u32,
            );
            Cell::Other(t.map(|t| t.to_string()).unwrap_or_else(|| v.to_string()))
        }
        DuckValue::Interval {
            months,
            days,
            nanos,
        } => Cell::Other(format!("{months} months {days} days {} us", nanos / 1000)),
        DuckValue::Blob(b) | DuckValue::Geometry(b) => Cell::Other(format!(
            "\\x{}",
            b.iter().map(|x| format!("{x:02x}")).collect::<String>()
        )),
        other => Cell::Other(format!("{other:?}")),
    }
}

fn to_micros(unit: TimeUnit, v: i64) -> i64 {
    match unit {
        TimeUnit::Second => v * 1_000_000,
        TimeUnit::Millisecond => v * 1000,
        TimeUnit::Microsecond => v,
        TimeUnit::Nanosecond => v / 1000,
    }
}

fn timestamp_text(unit: TimeUnit, v: i64) -> String {
    let micros = to_micros(unit, v);
    match chrono::DateTime::from_timestamp_micros(micros) {
        Some(t) => {
            let naive = t.naive_utc();
            if micros % 1_000_000 == 0 {
                naive.format("%Y-%m-%d %H:%M:%S").to_string()
            } else {
                naive.format("%Y-%m-%d %H:%M:%S%.6f").to_string()
            }
        }
        None => v.to_string(),
    }
}

/// DuckDB's name for an Arrow type of a result column.
fn type_name(t: &duckdb::arrow::datatypes::DataType) -> String {
    use duckdb::arrow::datatypes::DataType as D;
    match t {
        D::Boolean => "BOOLEAN",
        D::Int8 => "TINYINT",
        D::Int16 => "SMALLINT",
        D::Int32 => "INTEGER",
        D::Int64 => "BIGINT",
        D::UInt8 => "UTINYINT",
        D::UInt16 => "USMALLINT",
        D::UInt32 => "UINTEGER",
        D::UInt64 => "UBIGINT",
        D::Float32 => "FLOAT",
        D::Float64 => "DOUBLE",
        D::Utf8 | D::LargeUtf8 | D::Utf8View => "VARCHAR",
        D::Date32 | D::Date64 => "DATE",
        D::Timestamp(_, _) => "TIMESTAMP",
        D::Decimal128(_, _) | D::Decimal256(_, _) => "DECIMAL",
        D::Binary | D::LargeBinary => "BLOB",
        D::Time32(_) | D::Time64(_) => "TIME",
        D::Interval(_) => "INTERVAL",
        other => return format!("{other:?}").to_uppercase(),
    }
    .to_string()
}

/// Opens the target's database and runs a trivial query; returns a short
/// description of what was opened.
pub fn check_connection(target: &Target) -> Result<String> {
    let adapter = DuckDbAdapter::open(target)?;
    let mut conn = adapter
        .connect()
        .map_err(|e| Error::new(format!("could not connect: {e}")))?;
    let version = conn
        .query("select version()")
        .map_err(|e| Error::new(format!("DuckDB did not answer a query: {e}")))?
        .rows
        .first()
        .and_then(|r| r.first())
        .map(|c| c.to_string())
        .unwrap_or_default();
    let path: Option<PathBuf> = target.duckdb_path();
    Ok(match path {
        Some(p) => format!("DuckDB {version} at {}", p.display()),
        None => format!("DuckDB {version} (in memory)"),
    })
}

#[cfg(test)]
mod tests {

    #[test]
    fn exception_names_become_duckdbs_message_prefixes() {
        assert_eq!(error_prefix("IOException"), "io error:");
        assert_eq!(error_prefix("HTTPException"), "http error:");
        assert_eq!(
            error_prefix("InvalidInputException"),
            "invalid input error:"
        );
        assert_eq!(error_prefix("CatalogException"), "catalog error:");
    }

    use super::*;

    fn memory() -> Box<dyn Connection> {
        let conn = duckdb::Connection::open_in_memory().expect("duckdb");
        Box::new(DuckDbConnection {
            conn,
            in_tx: false,
            retries: Retries::default(),
            tx_statements: 0,
            transactions: true,
        })
    }

    #[test]
    fn statements_report_rows_and_batches_run() {
        let mut c = memory();
        let r = c
            .execute("create table t as select * from range(5) r(i)")
            .expect("ctas");
        assert_eq!(r.rows_affected, Some(5));
        c.execute("insert into t values (10); insert into t values (11);")
            .expect("batch");
        let t = c
            .query("select count(*) as n, sum(i) as s, 'x' as label, date '2024-01-02' as d from t")
            .expect("query");
        assert_eq!(t.columns[0].name, "n");
        assert_eq!(t.rows[0][0], Cell::Int(7));
        assert_eq!(t.rows[0][2], Cell::Text("x".into()));
        assert_eq!(t.rows[0][3], Cell::Other("2024-01-02".into()));
    }

    #[test]
    fn describes_and_lists_relations() {
        let mut c = memory();
        c.execute("create schema s; create table s.orders (id integer, note varchar); create view s.v as select 1 as x").expect("setup");
        let (info, cols) = c
            .describe_relation("memory", "s", "ORDERS")
            .expect("describe")
            .expect("exists");
        assert_eq!(info.kind, RelationKind::Table);
        assert_eq!(
            cols,
            vec![
                Column {
                    name: "id".into(),
                    data_type: "INTEGER".into()
                },
                Column {
                    name: "note".into(),
                    data_type: "VARCHAR".into()
                }
            ]
        );
        let mut listed = c.list_relations("memory", "s").expect("list");
        listed.sort_by(|a, b| a.identifier.cmp(&b.identifier));
        assert_eq!(
            listed
                .iter()
                .map(|r| (r.identifier.as_str(), r.kind))
                .collect::<Vec<_>>(),
            vec![("orders", RelationKind::Table), ("v", RelationKind::View)]
        );
        assert!(c
            .describe_relation("memory", "s", "nope")
            .expect("ok")
            .is_none());
        assert!(c
            .list_relations("memory", "missing")
            .expect("ok")
            .is_empty());
    }

    #[test]
    fn setup_installs_from_repositories_and_passes_attach_options() {
        let text = "p:\n  outputs:\n    dev:\n      type: duckdb\n      extensions:\n        - httpfs\n        - {name: h3, repo: community}\n      attach:\n        - path: /tmp/other.db\n          alias: other\n          type: sqlite\n          options: {busy_timeout: 5000, journal: wal}\n  target: dev\n";
        let renderer = crate::jinja::yaml_render::YamlRenderer::new(Default::default(), None);
        let target = crate::project::profiles::parse_target(
            std::path::Path::new("profiles.yml"),
            text,
            "p",
            None,
            &renderer,
        )
        .expect("target");
        let sql = setup_sql(&target).expect("setup");
        assert!(sql.contains("install httpfs; load httpfs;"), "{sql}");
        assert!(sql.contains("install h3 from community; load h3;"), "{sql}");
        assert!(
            sql.contains("attach if not exists '/tmp/other.db' as \"other\" (type sqlite, busy_timeout 5000, journal 'wal')"),
            "{sql}"
        );
    }

    #[test]
    fn transactions_roll_back_ddl() {
        let mut c = memory();
        c.execute("create table keep as select 1 as v")
            .expect("create");
        c.begin().expect("begin");
        assert!(c.in_transaction());
        c.execute("create or replace table keep as select 2 as v")
            .expect("replace");
        c.rollback().expect("rollback");
        assert_eq!(
            c.query("select v from keep").expect("q").rows[0][0],
            Cell::Int(1)
        );
    }
}
