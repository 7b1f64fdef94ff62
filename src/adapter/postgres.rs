//! PostgreSQL, reached over the network with the pure-Rust `postgres`
//! client (no libpq). The profile's fields are dbt-postgres's. Every worker
//! opens its own connection; the first one is made when the adapter opens,
//! so a wrong host or password is reported before anything runs.

use std::io::Write;
use std::sync::Mutex;
use std::time::Duration;

use postgres::error::SqlState;
use postgres::types::Type;
use postgres::{Client, SimpleQueryMessage};
use serde_json::Value as Json;
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::adapter::{
    Adapter, Cell, Column, Connection, DbError, DbResult, RelationInfo, RelationKind, Response,
    Table,
};
use crate::error::{Error, Location, Result};
use crate::jinja::relation::quote_identifier;
use crate::project::Target;

pub struct PostgresAdapter {
    config: postgres::Config,
    /// TLS as the profile's sslmode asks (used for cancel requests too).
    tls: MakeRustlsConnect,
    /// Statements run on every new connection (role, search_path).
    session_setup: String,
    /// The connection opened to check the profile, handed to the first worker.
    first: Mutex<Option<Client>>,
    /// host:port/dbname as user, for messages (never the password).
    pub endpoint: String,
}

fn field_text(target: &Target, key: &str) -> Option<String> {
    match target.fields.get(key)? {
        Json::String(s) => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        Json::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn field_number(target: &Target, key: &str) -> Result<Option<u64>> {
    match field_text(target, key) {
        None => Ok(None),
        Some(s) => s.trim().parse().map(Some).map_err(|_| {
            Error::new(format!("`{key}` must be a whole number, got '{s}'"))
                .at(Location::file(&target.profiles_path))
        }),
    }
}

impl PostgresAdapter {
    /// Builds the connection settings from the target and connects once.
    pub fn open(target: &Target) -> Result<PostgresAdapter> {
        let host = field_text(target, "host").unwrap_or_else(|| "localhost".into());
        let port = field_number(target, "port")?.unwrap_or(5432);
        let port = u16::try_from(port).map_err(|_| {
            Error::new(format!("`port` must be below 65536, got {port}"))
                .at(Location::file(&target.profiles_path))
        })?;
        let user = field_text(target, "user").unwrap_or_default();
        let dbname = target.database.clone();
        let mut config = postgres::Config::new();
        config.host(&host).port(port).user(&user).dbname(&dbname);
        if let Some(password) = field_text(target, "password") {
            config.password(password);
        }
        config.application_name(
            &field_text(target, "application_name").unwrap_or_else(|| "kiln".into()),
        );
        if let Some(secs) = field_number(target, "connect_timeout")? {
            config.connect_timeout(Duration::from_secs(secs));
        }
        if let Some(secs) = field_number(target, "keepalives_idle")?.filter(|s| *s > 0) {
            config.keepalives_idle(Duration::from_secs(secs));
        }
        let root_cert =
            field_text(target, "sslrootcert").map(|p| crate::project::profiles::local_path(&p));
        let tls = crate::adapter::postgres_tls::settings(
            field_text(target, "sslmode").as_deref(),
            root_cert.as_deref(),
        )
        .map_err(|e| {
            Error::new(e)
                .at(Location::file(&target.profiles_path))
                .note("fix `sslmode` / `sslrootcert` of this output in profiles.yml")
        })?;
        config.ssl_mode(tls.mode);
        let mut session_setup = String::new();
        if let Some(role) = field_text(target, "role") {
            session_setup.push_str(&format!("set role {};\n", quote_identifier(&role)));
        }
        if let Some(path) = field_text(target, "search_path") {
            session_setup.push_str(&format!("set search_path to {path};\n"));
        }
        let endpoint = format!("{host}:{port}/{dbname} as user '{user}'");
        let adapter = PostgresAdapter {
            config,
            tls: tls.connector,
            session_setup,
            first: Mutex::new(None),
            endpoint,
        };
        let client = adapter.new_client().map_err(|e| {
            Error::new(format!(
                "could not connect to PostgreSQL at {}: {}",
                adapter.endpoint, e.message
            ))
            .at(Location::file(&target.profiles_path))
            .note(format!(
                "check host, port, user, password and dbname of output '{}' in profiles.yml",
                target.name
            ))
        })?;
        *adapter.first.lock().unwrap_or_else(|e| e.into_inner()) = Some(client);
        Ok(adapter)
    }

    fn new_client(&self) -> DbResult<Client> {
        let mut client = self.config.connect(self.tls.clone()).map_err(connect_err)?;
        if !self.session_setup.is_empty() {
            client
                .batch_execute(&self.session_setup)
                .map_err(|e| db_err(&e, &self.session_setup))?;
        }
        Ok(client)
    }

    /// The server's version, for `kiln debug`.
    pub fn server_version(&self) -> DbResult<String> {
        let mut conn = self.connect()?;
        let t = conn.query("show server_version")?;
        Ok(t.rows
            .first()
            .and_then(|r| r.first())
            .map(ToString::to_string)
            .unwrap_or_default())
    }
}

/// The innermost cause of a client error: "connection refused", "password
/// authentication failed for user ...", without the client's wrapping.
fn error_text(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return db.message().to_string();
    }
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        message = s.to_string();
        source = s.source();
    }
    message
}

fn connect_err(e: postgres::Error) -> DbError {
    DbError::new(error_text(&e))
}

/// PostgreSQL's error as psql prints it: message, detail, hint, and the line
/// of the statement the position points at.
fn db_err(e: &postgres::Error, sql: &str) -> DbError {
    db_err_after(e, sql, 0)
}

/// As `db_err`, for a statement sent after `skip` characters of other text.
fn db_err_after(e: &postgres::Error, sql: &str, skip: usize) -> DbError {
    let Some(db) = e.as_db_error() else {
        return DbError::new(error_text(e));
    };
    let mut message = db.message().to_string();
    if let Some(detail) = db.detail() {
        message.push_str(&format!("\nDETAIL: {detail}"));
    }
    if let Some(hint) = db.hint() {
        message.push_str(&format!("\nHINT: {hint}"));
    }
    if let Some(postgres::error::ErrorPosition::Original(pos)) = db.position() {
        // The position counts characters from 1.
        let offset: usize = sql
            .char_indices()
            .nth((*pos as usize).saturating_sub(1 + skip))
            .map_or(sql.len(), |(i, _)| i);
        let line_no = sql[..offset].matches('\n').count() + 1;
        let start = sql[..offset].rfind('\n').map_or(0, |i| i + 1);
        let line = sql[start..].lines().next().unwrap_or_default();
        let col = sql[start..offset].chars().count();
        message.push_str(&format!(
            "\nLINE {line_no}: {line}\n{}^",
            " ".repeat(format!("LINE {line_no}: ").len() + col)
        ));
    }
    DbError {
        message,
        interrupted: db.code() == &SqlState::QUERY_CANCELED,
    }
}

impl Adapter for PostgresAdapter {
    fn adapter_type(&self) -> &'static str {
        "postgres"
    }

    fn connect(&self) -> DbResult<Box<dyn Connection>> {
        let first = self.first.lock().unwrap_or_else(|e| e.into_inner()).take();
        let client = match first {
            Some(c) if !c.is_closed() => c,
            _ => self.new_client()?,
        };
        Ok(Box::new(PostgresConnection {
            client,
            database: self.config.get_dbname().unwrap_or_default().to_string(),
            tls: self.tls.clone(),
            in_tx: false,
            pending_begin: false,
        }))
    }

    fn transactional_ddl(&self) -> bool {
        true
    }

    fn case_insensitive(&self) -> bool {
        false
    }
}

pub struct PostgresConnection {
    client: Client,
    /// The database it is connected to (relations report it).
    database: String,
    tls: MakeRustlsConnect,
    in_tx: bool,
    /// `begin` is sent with the transaction's first statement, saving a
    /// round trip per node.
    pending_begin: bool,
}

const BEGIN: &str = "begin; ";

impl PostgresConnection {
    fn text_rows(&mut self, sql: &str, params: &[&str]) -> DbResult<Vec<Vec<Option<String>>>> {
        let params: Vec<&(dyn postgres::types::ToSql + Sync)> = params
            .iter()
            .map(|p| p as &(dyn postgres::types::ToSql + Sync))
            .collect();
        let rows = self
            .client
            .query(sql, &params)
            .map_err(|e| db_err(&e, sql))?;
        Ok(rows
            .iter()
            .map(|r| {
                (0..r.len())
                    .map(|i| r.get::<_, Option<String>>(i))
                    .collect()
            })
            .collect())
    }

    /// Runs `sql` with the simple protocol (several statements allowed),
    /// opening the pending transaction in the same round trip.
    fn simple(&mut self, sql: &str) -> DbResult<Vec<SimpleQueryMessage>> {
        if std::mem::take(&mut self.pending_begin) {
            self.client
                .simple_query(&format!("{BEGIN}{sql}"))
                .map_err(|e| db_err_after(&e, sql, BEGIN.len()))
        } else {
            self.client.simple_query(sql).map_err(|e| db_err(&e, sql))
        }
    }

    fn track_transaction(&mut self, sql: &str) {
        match sql.to_ascii_lowercase().as_str() {
            "begin" | "begin transaction" | "start transaction" => self.in_tx = true,
            "commit" | "end" | "rollback" | "abort" => self.in_tx = false,
            _ => {}
        }
    }
}

impl Connection for PostgresConnection {
    fn execute(&mut self, sql: &str) -> DbResult<Response> {
        let trimmed = sql.trim().trim_end_matches(';').trim();
        self.track_transaction(trimmed);
        if trimmed.is_empty() {
            return Ok(Response {
                message: "OK".into(),
                rows_affected: None,
            });
        }
        let messages = self.simple(sql)?;
        let rows_affected = messages.iter().rev().find_map(|m| match m {
            SimpleQueryMessage::CommandComplete(n) => Some(*n as i64),
            _ => None,
        });
        Ok(Response {
            message: "OK".into(),
            rows_affected,
        })
    }

    fn query(&mut self, sql: &str) -> DbResult<Table> {
        let trimmed = sql.trim().trim_end_matches(';').trim();
        // The prepared statement tells the column types; the simple protocol
        // returns every value as PostgreSQL's own text, which keeps numerics
        // exact and covers every type.
        let types: Option<Vec<(String, Type)>> = match self.client.prepare(trimmed) {
            Ok(stmt) => Some(
                stmt.columns()
                    .iter()
                    .map(|c| (c.name().to_string(), c.type_().clone()))
                    .collect(),
            ),
            Err(e)
                if e.as_db_error()
                    .is_some_and(|d| d.message().contains("multiple commands")) =>
            {
                None
            }
            Err(e) => return Err(db_err(&e, trimmed)),
        };
        let messages = self.simple(trimmed)?;
        let mut columns: Vec<Column> = Vec::new();
        let mut rows = Vec::new();
        for m in messages {
            match m {
                SimpleQueryMessage::RowDescription(cols) => {
                    rows.clear();
                    columns = cols
                        .iter()
                        .enumerate()
                        .map(|(i, c)| Column {
                            name: c.name().to_string(),
                            data_type: types
                                .as_ref()
                                .and_then(|t| t.get(i))
                                .map_or_else(|| "text".to_string(), |(_, t)| type_label(t)),
                        })
                        .collect();
                }
                SimpleQueryMessage::Row(row) => {
                    let cells = (0..row.len())
                        .map(|i| {
                            let ty = types.as_ref().and_then(|t| t.get(i)).map(|(_, t)| t);
                            cell(row.get(i), ty)
                        })
                        .collect();
                    rows.push(cells);
                }
                _ => {}
            }
        }
        if columns.is_empty() {
            if let Some(t) = &types {
                columns = t
                    .iter()
                    .map(|(name, ty)| Column {
                        name: name.clone(),
                        data_type: type_label(ty),
                    })
                    .collect();
            }
        }
        Ok(Table { columns, rows })
    }

    fn describe_relation(
        &mut self,
        _database: &str,
        schema: &str,
        identifier: &str,
    ) -> DbResult<Option<(RelationInfo, Vec<Column>)>> {
        // A relation with no schema is a temporary table.
        let found = self.text_rows(
            "select n.nspname::text, c.relkind::text from pg_class c join pg_namespace n on n.oid = c.relnamespace \
             where case when $1::text = '' then c.relnamespace = pg_my_temp_schema() else n.nspname = $1::text end \
               and c.relname = $2 and c.relkind in ('r', 'p', 'v', 'm', 'f')",
            &[schema, identifier],
        )?;
        let Some(row) = found.first() else {
            return Ok(None);
        };
        let kind = relation_kind(row[1].as_deref().unwrap_or("r"));
        let found_schema = row[0].clone().unwrap_or_default();
        let columns = self
            .text_rows(
                "select a.attname::text, format_type(a.atttypid, a.atttypmod) from pg_attribute a \
                 join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace \
                 where n.nspname = $1 and c.relname = $2 and a.attnum > 0 and not a.attisdropped order by a.attnum",
                &[&found_schema, identifier],
            )?
            .into_iter()
            .map(|r| Column {
                name: r[0].clone().unwrap_or_default(),
                data_type: r[1].clone().unwrap_or_default(),
            })
            .collect();
        Ok(Some((
            RelationInfo {
                database: self.database.clone(),
                schema: schema.to_string(),
                identifier: identifier.to_string(),
                kind,
            },
            columns,
        )))
    }

    fn list_relations(&mut self, _database: &str, schema: &str) -> DbResult<Vec<RelationInfo>> {
        let database = self.database.clone();
        Ok(self
            .text_rows(
                "select c.relname::text, c.relkind::text from pg_class c join pg_namespace n on n.oid = c.relnamespace \
                 where n.nspname = $1 and c.relkind in ('r', 'p', 'v', 'm', 'f')",
                &[schema],
            )?
            .into_iter()
            .map(|r| RelationInfo {
                database: database.clone(),
                schema: schema.to_string(),
                identifier: r[0].clone().unwrap_or_default(),
                kind: relation_kind(r[1].as_deref().unwrap_or("r")),
            })
            .collect())
    }

    fn interrupter(&self) -> Box<dyn Fn() + Send + Sync> {
        let token = self.client.cancel_token();
        let tls = self.tls.clone();
        Box::new(move || {
            // PostgreSQL's cancel request, on a connection of its own.
            let _ = token.cancel_query(tls.clone());
        })
    }

    fn in_transaction(&self) -> bool {
        self.in_tx
    }

    fn begin(&mut self) -> DbResult<()> {
        if !self.in_tx {
            self.in_tx = true;
            self.pending_begin = true;
        }
        Ok(())
    }

    fn commit(&mut self) -> DbResult<()> {
        self.finish("commit")
    }

    fn rollback(&mut self) -> DbResult<()> {
        self.finish("rollback")
    }

    fn dependent_views(&mut self, schema: &str, identifier: &str) -> DbResult<Vec<RelationInfo>> {
        if schema.is_empty() {
            return Ok(Vec::new());
        }
        let sql = "with recursive dependents(oid) as ( \
                select r.ev_class from pg_depend d join pg_rewrite r on r.oid = d.objid \
                join pg_class c on c.oid = d.refobjid join pg_namespace n on n.oid = c.relnamespace \
                where n.nspname = $1 and c.relname = $2 and r.ev_class <> d.refobjid \
              union \
                select r.ev_class from dependents x join pg_depend d on d.refobjid = x.oid \
                join pg_rewrite r on r.oid = d.objid where r.ev_class <> d.refobjid) \
            select n.nspname::text, c.relname::text, c.relkind::text from dependents x \
            join pg_class c on c.oid = x.oid join pg_namespace n on n.oid = c.relnamespace";
        Ok(self
            .text_rows(sql, &[schema, identifier])?
            .into_iter()
            .map(|r| RelationInfo {
                database: String::new(),
                schema: r[0].clone().unwrap_or_default(),
                identifier: r[1].clone().unwrap_or_default(),
                kind: relation_kind(r[2].as_deref().unwrap_or("v")),
            })
            .collect())
    }

    fn copy_csv(&mut self, table: &str, columns: &[String], csv: &[u8]) -> DbResult<u64> {
        if std::mem::take(&mut self.pending_begin) {
            self.client
                .simple_query("begin")
                .map_err(|e| db_err(&e, "begin"))?;
        }
        let cols: Vec<String> = columns.iter().map(|c| quote_identifier(c)).collect();
        let sql = format!(
            "copy {table} ({}) from stdin with (format csv)",
            cols.join(", ")
        );
        let mut writer = self.client.copy_in(&sql).map_err(|e| db_err(&e, &sql))?;
        writer
            .write_all(csv)
            .map_err(|e| DbError::new(format!("could not send rows to PostgreSQL: {e}")))?;
        writer.finish().map_err(|e| db_err(&e, &sql))
    }
}

impl PostgresConnection {
    /// Ends the transaction; one that never ran a statement was never sent.
    fn finish(&mut self, verb: &str) -> DbResult<()> {
        self.in_tx = false;
        if std::mem::take(&mut self.pending_begin) {
            return Ok(());
        }
        self.client
            .simple_query(verb)
            .map(|_| ())
            .map_err(|e| db_err(&e, verb))
    }
}

fn relation_kind(relkind: &str) -> RelationKind {
    match relkind {
        "v" => RelationKind::View,
        "m" => RelationKind::MaterializedView,
        _ => RelationKind::Table,
    }
}

/// A result column's type as dbt-postgres names it (information_schema's words).
fn type_label(t: &Type) -> String {
    match *t {
        Type::BOOL => "boolean",
        Type::INT2 => "smallint",
        Type::INT4 => "integer",
        Type::INT8 => "bigint",
        Type::FLOAT4 => "real",
        Type::FLOAT8 => "double precision",
        Type::NUMERIC => "numeric",
        Type::TEXT => "text",
        Type::VARCHAR => "character varying",
        Type::BPCHAR => "character",
        Type::DATE => "date",
        Type::TIME => "time without time zone",
        Type::TIMESTAMP => "timestamp without time zone",
        Type::TIMESTAMPTZ => "timestamp with time zone",
        _ => {
            return match t.kind() {
                postgres::types::Kind::Array(element) => format!("{}[]", type_label(element)),
                _ => t.name().to_string(),
            }
        }
    }
    .to_string()
}

/// One value, from PostgreSQL's text form, typed by its column.
fn cell(text: Option<&str>, ty: Option<&Type>) -> Cell {
    let Some(text) = text else {
        return Cell::Null;
    };
    match ty {
        Some(&Type::BOOL) => Cell::Bool(text == "t"),
        Some(&Type::INT2 | &Type::INT4 | &Type::INT8 | &Type::OID) => text
            .parse()
            .map_or_else(|_| Cell::Other(text.to_string()), Cell::Int),
        Some(&Type::FLOAT4 | &Type::FLOAT8) => text
            .parse()
            .map_or_else(|_| Cell::Other(text.to_string()), Cell::Float),
        Some(&Type::NUMERIC) => Cell::Decimal(text.to_string()),
        Some(&Type::TEXT | &Type::VARCHAR | &Type::BPCHAR | &Type::NAME | &Type::UNKNOWN)
        | None => Cell::Text(text.to_string()),
        Some(_) => Cell::Other(text.to_string()),
    }
}

/// Connects with the target's profile and asks the server's version.
pub fn check_connection(target: &Target) -> Result<String> {
    let adapter = PostgresAdapter::open(target)?;
    let version = adapter.server_version().map_err(|e| {
        Error::new(format!(
            "PostgreSQL at {} did not answer a query: {e}",
            adapter.endpoint
        ))
    })?;
    Ok(format!("PostgreSQL {version} at {}", adapter.endpoint))
}
