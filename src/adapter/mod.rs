//! Warehouses. The [`Adapter`] trait is small on purpose: a required core
//! (open a connection; on it execute a statement, run a query returning typed
//! rows, describe a relation, list the relations of a schema; quote an
//! identifier) plus capabilities with conservative defaults. DuckDB
//! (duckdb.rs) is the first implementation; a server warehouse or a
//! distributed engine fits the same shape.

pub mod cache;
pub mod duckdb;
pub mod duckdb_tz;
pub mod files;
pub mod postgres;
pub mod postgres_tls;
pub mod seed_csv;
pub mod spark;

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

pub use cache::RelationCache;

/// A string as an SQL literal: `'it''s'`.
pub fn sql_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// What a statement did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Response {
    /// The database's word for it ("OK", "INSERT 20", ...).
    pub message: String,
    pub rows_affected: Option<i64>,
}

/// One value of a query result.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    /// Exact decimals keep their text; templates see them as numbers.
    Decimal(String),
    Text(String),
    /// Dates, times, intervals, lists, ...: their text form.
    Other(String),
}

impl fmt::Display for Cell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cell::Null => f.write_str(""),
            Cell::Bool(b) => write!(f, "{b}"),
            Cell::Int(i) => write!(f, "{i}"),
            Cell::Float(x) => write!(f, "{x}"),
            Cell::Decimal(s) | Cell::Text(s) | Cell::Other(s) => f.write_str(s),
        }
    }
}

/// A column of a relation or of a query result.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: String,
    pub data_type: String,
}

/// The rows a query returned.
#[derive(Debug, Clone, Default)]
pub struct Table {
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Cell>>,
}

/// What kind of object a relation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelationKind {
    Table,
    View,
    MaterializedView,
    External,
}

impl RelationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RelationKind::Table => "table",
            RelationKind::View => "view",
            RelationKind::MaterializedView => "materialized_view",
            RelationKind::External => "external",
        }
    }
}

/// A relation that exists in the database.
#[derive(Debug, Clone, PartialEq)]
pub struct RelationInfo {
    pub database: String,
    pub schema: String,
    pub identifier: String,
    pub kind: RelationKind,
}

/// A database error, as the database worded it.
#[derive(Debug, Clone)]
pub struct DbError {
    pub message: String,
    /// The statement was interrupted (Ctrl-C, --fail-fast).
    pub interrupted: bool,
}

impl DbError {
    pub fn new(message: impl Into<String>) -> DbError {
        DbError {
            message: message.into(),
            interrupted: false,
        }
    }
}

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

pub type DbResult<T> = Result<T, DbError>;

/// A warehouse kiln can build in.
pub trait Adapter: Send + Sync {
    /// The adapter's name in profiles and dispatch (`duckdb`).
    fn adapter_type(&self) -> &'static str;

    /// A new connection for one worker.
    fn connect(&self) -> DbResult<Box<dyn Connection>>;

    /// An identifier quoted for this database.
    fn quote(&self, identifier: &str) -> String {
        format!("\"{}\"", identifier.replace('"', "\"\""))
    }

    /// Can DDL run inside a transaction (so a failed rebuild leaves the old
    /// relation in place)?
    fn transactional_ddl(&self) -> bool {
        false
    }

    /// Does the database compare unquoted identifiers case-insensitively?
    fn case_insensitive(&self) -> bool {
        true
    }
}

/// One connection, owned by one worker at a time.
pub trait Connection: Send {
    /// Runs one or more statements; the response describes the last.
    fn execute(&mut self, sql: &str) -> DbResult<Response>;

    /// Runs a query and returns its rows.
    fn query(&mut self, sql: &str) -> DbResult<Table>;

    /// The columns (names and types) a query returns, without running it
    /// for its rows.
    fn query_columns(&mut self, sql: &str) -> DbResult<Vec<Column>> {
        Ok(self
            .query(&format!("select * from (\n{sql}\n) as dbt_sbq limit 0"))?
            .columns)
    }

    /// The relation and its columns, if it exists.
    fn describe_relation(
        &mut self,
        database: &str,
        schema: &str,
        identifier: &str,
    ) -> DbResult<Option<(RelationInfo, Vec<Column>)>>;

    /// Every relation of a schema (empty when the schema does not exist).
    fn list_relations(&mut self, database: &str, schema: &str) -> DbResult<Vec<RelationInfo>>;

    /// A handle that interrupts the statement this connection is running.
    fn interrupter(&self) -> Box<dyn Fn() + Send + Sync>;

    fn begin(&mut self) -> DbResult<()> {
        self.execute("begin").map(|_| ())
    }

    fn commit(&mut self) -> DbResult<()> {
        self.execute("commit").map(|_| ())
    }

    fn rollback(&mut self) -> DbResult<()> {
        self.execute("rollback").map(|_| ())
    }

    /// Is a transaction open on this connection?
    fn in_transaction(&self) -> bool;

    /// The views that depend, directly or through other views, on a
    /// relation (dropped with it by `drop ... cascade`).
    fn dependent_views(&mut self, _schema: &str, _identifier: &str) -> DbResult<Vec<RelationInfo>> {
        Ok(Vec::new())
    }

    /// Loads CSV rows (no header) into `table`'s `columns` through the
    /// database's bulk path (PostgreSQL's COPY FROM STDIN); returns the rows.
    fn copy_csv(&mut self, table: &str, _columns: &[String], _csv: &[u8]) -> DbResult<u64> {
        Err(DbError::new(format!(
            "this database cannot bulk-load rows into {table}"
        )))
    }
}

/// Opens the warehouse the target's `type` names: the one place that
/// chooses an adapter.
pub fn open(target: &crate::project::Target) -> crate::error::Result<Arc<dyn Adapter>> {
    Ok(match target.adapter_type.as_str() {
        "postgres" => Arc::new(postgres::PostgresAdapter::open(target)?),
        "spark" => Arc::new(spark::SparkAdapter::open(target)?),
        _ => Arc::new(duckdb::DuckDbAdapter::open(target)?),
    })
}

/// Opens the target's warehouse and describes it, for `kiln debug`.
pub fn check_connection(target: &crate::project::Target) -> crate::error::Result<String> {
    match target.adapter_type.as_str() {
        "postgres" => postgres::check_connection(target),
        "spark" => spark::check_connection(target),
        _ => duckdb::check_connection(target),
    }
}

/// What a render needs to reach the database: a worker's connection, the
/// run's relation cache, and the adapter.
#[derive(Clone)]
pub struct Db {
    pub adapter: Arc<dyn Adapter>,
    pub conn: Arc<Mutex<Box<dyn Connection>>>,
    pub cache: Arc<RelationCache>,
}

impl Db {
    pub fn conn(&self) -> MutexGuard<'_, Box<dyn Connection>> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }
}
