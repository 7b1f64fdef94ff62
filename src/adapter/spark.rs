//! Spark over Spark Connect: a thin gRPC client on the Spark Connect
//! protocol (the official generated stubs). SQL runs as a `SqlCommand`
//! (statements) or a `SQL` relation (queries, whose rows arrive as Arrow IPC
//! batches, decoded with DuckDB's arrow). Each worker has its own session,
//! since temporary views and SET are session-scoped.

use std::io::Cursor;

use duckdb::arrow::array::{Array, ArrayRef, AsArray};
use duckdb::arrow::datatypes::{DataType, Int16Type, Int32Type, Int64Type, Int8Type};
use duckdb::arrow::util::display::{ArrayFormatter, FormatOptions};
use sc::spark_connect_service_client::SparkConnectServiceClient;
use serde_json::Value as Json;
use spark_connect_proto as sc;
use tonic::transport::{Channel, Endpoint};

use crate::adapter::{
    Adapter, Cell, Column, Connection, DbError, DbResult, RelationInfo, RelationKind, Response,
    Table,
};
use crate::error::{Error, Location, Result};
use crate::project::Target;

/// Where the server is: `host` and `port` (default 15002), or an
/// `sc://host:port/;token=...` URL in `host`.
#[derive(Debug, Clone)]
pub struct SparkServer {
    pub host: String,
    pub port: u16,
    pub token: Option<String>,
}

impl SparkServer {
    pub fn from_target(target: &Target) -> Result<SparkServer> {
        let text = |k: &str| {
            target
                .fields
                .get(k)
                .and_then(Json::as_str)
                .map(str::to_string)
        };
        let at = || Location::file(&target.profiles_path);
        if let Some(method) = text("method") {
            if method != "connect" {
                return Err(Error::new(format!(
                    "spark output '{}' has method '{method}': kiln talks to Spark over Spark Connect only",
                    target.name
                ))
                .at(at())
                .note("set `method: connect` and point `host`/`port` at a Spark Connect server"));
            }
        }
        if target.fields.get("use_ssl").and_then(Json::as_bool) == Some(true) {
            return Err(
                Error::new("use_ssl is not supported yet by kiln's Spark Connect client").at(at()),
            );
        }
        let host = text("host").unwrap_or_else(|| "127.0.0.1".into());
        if host.starts_with("sc://") {
            let mut endpoint = SparkServer::from_url(&host).map_err(|e| e.at(at()))?;
            endpoint.token = endpoint.token.or_else(|| text("token"));
            return Ok(endpoint);
        }
        let port = match target.fields.get("port") {
            None => 15002,
            Some(v) => v
                .as_u64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                .and_then(|p| u16::try_from(p).ok())
                .ok_or_else(|| {
                    Error::new(format!("`port` must be a port number, got {v}")).at(at())
                })?,
        };
        Ok(SparkServer {
            host,
            port,
            token: text("token"),
        })
    }

    /// Spark Connect's URL: `sc://host:port/;token=...;key=value`.
    pub fn from_url(url: &str) -> Result<SparkServer> {
        let rest = url.strip_prefix("sc://").ok_or_else(|| {
            Error::new(format!(
                "`{url}` is not a Spark Connect URL (sc://host:port)"
            ))
        })?;
        let (addr, params) = rest.split_once('/').unwrap_or((rest, ""));
        let token = params
            .split(';')
            .find_map(|p| p.strip_prefix("token="))
            .map(str::to_string);
        let (host, port) = match addr.rsplit_once(':') {
            Some((h, p)) => (
                h.to_string(),
                p.parse()
                    .map_err(|_| Error::new(format!("the port in {url} is not a number")))?,
            ),
            None => (addr.to_string(), 15002),
        };
        Ok(SparkServer { host, port, token })
    }
}

pub struct SparkAdapter {
    endpoint: SparkServer,
}

impl SparkAdapter {
    /// Checks that the server answers, so a wrong host or port is reported
    /// once, before any node runs.
    pub fn open(target: &Target) -> Result<SparkAdapter> {
        let endpoint = SparkServer::from_target(target)?;
        SparkAdapter::reach(endpoint).map_err(|e| {
            e.at(Location::file(&target.profiles_path))
                .note("is the server running (sbin/start-connect-server.sh), and are `host` and `port` right?")
        })
    }

    /// The server at an `sc://` URL (tests and tools).
    pub fn from_url(url: &str) -> Result<SparkAdapter> {
        SparkAdapter::reach(SparkServer::from_url(url)?)
    }

    fn reach(endpoint: SparkServer) -> Result<SparkAdapter> {
        let runtime = runtime().map_err(|e| Error::new(e.message))?;
        runtime
            .block_on(channel(&endpoint))
            .map_err(|e| Error::new(e.message))?;
        Ok(SparkAdapter { endpoint })
    }
}

/// A client runtime on the calling thread: each connection drives its own
/// gRPC channel, so workers never wait on each other in the client.
fn runtime() -> DbResult<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| DbError::new(format!("could not start the Spark client: {e}")))
}

async fn channel(endpoint: &SparkServer) -> DbResult<Channel> {
    let unreachable = |e: &dyn std::fmt::Display| {
        DbError::new(format!(
            "could not reach the Spark Connect server at {}:{}: {e}",
            endpoint.host, endpoint.port
        ))
    };
    let url = format!("http://{}:{}", endpoint.host, endpoint.port);
    Endpoint::from_shared(url)
        .map_err(|e| unreachable(&e))?
        .connect_timeout(std::time::Duration::from_secs(10))
        .tcp_nodelay(true)
        .connect()
        .await
        .map_err(|e| unreachable(&source_text(&e)))
}

/// An error with its causes, as tonic's transport errors say little alone.
fn source_text(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        // Layers often repeat their cause's words.
        let more = c.to_string();
        if !text.ends_with(&more) {
            text.push_str(&format!(": {more}"));
        }
        cause = c.source();
    }
    text
}

fn client(channel: Channel) -> SparkConnectServiceClient<Channel> {
    // Results arrive in Arrow batches of up to spark.connect.grpc.arrow.maxBatchSize.
    SparkConnectServiceClient::new(channel).max_decoding_message_size(usize::MAX)
}

impl Adapter for SparkAdapter {
    fn adapter_type(&self) -> &'static str {
        "spark"
    }

    fn connect(&self) -> DbResult<Box<dyn Connection>> {
        let runtime = runtime()?;
        let channel = runtime.block_on(channel(&self.endpoint))?;
        let mut conn = SparkConnection {
            runtime,
            client: client(channel),
            endpoint: self.endpoint.clone(),
            session_id: uuid::Uuid::new_v4().to_string(),
        };
        // Timestamps arrive in the session's zone; an offset (not a zone
        // name such as Etc/UTC) lets Arrow print them without a zone database.
        conn.execute("set spark.sql.session.timeZone = +00:00")?;
        Ok(Box::new(conn))
    }

    fn quote(&self, identifier: &str) -> String {
        quote(identifier)
    }
}

pub struct SparkConnection {
    runtime: tokio::runtime::Runtime,
    client: SparkConnectServiceClient<Channel>,
    endpoint: SparkServer,
    /// This worker's session on the server.
    session_id: String,
}

/// A request carrying the profile's token, as Spark Connect's `token=`.
fn request<T>(message: T, token: Option<&str>) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    if let Some(token) = token {
        if let Ok(v) = format!("Bearer {token}").parse() {
            request.metadata_mut().insert("authorization", v);
        }
    }
    request
}

fn user_context() -> Option<sc::UserContext> {
    Some(sc::UserContext {
        user_id: "kiln".into(),
        user_name: "kiln".into(),
        ..Default::default()
    })
}

/// Spark's error as it words it: `[ERROR_CLASS] message`, without the
/// query plan Spark appends, and with the statement's line it points at
/// (`LINE n: ...`, so the compiled file's line can be found).
fn status_err(s: &tonic::Status, cause: Option<&str>, sql: &str) -> DbError {
    let raw = s.message();
    let first_line = |text: &str| {
        text.lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or_default()
            .trim_end_matches(';')
            .to_string()
    };
    let mut message = first_line(raw);
    // A wrapper without an error class: its cause says what happened.
    if let Some(cause) =
        cause.filter(|c| !raw.trim_start().starts_with('[') && !c.trim().is_empty())
    {
        message = first_line(cause);
    }
    if let Some(n) = error_line(raw) {
        if let Some(text) = sql
            .lines()
            .nth(n.saturating_sub(1))
            .filter(|t| !t.trim().is_empty())
        {
            message.push_str(&format!("\nLINE {n}: {}", text.trim()));
        }
    }
    DbError {
        message,
        interrupted: s.code() == tonic::Code::Cancelled || raw.contains("OPERATION_CANCELED"),
    }
}

/// The statement line a Spark error names: `line 3 pos 7`,
/// `(line 3, pos 7)` or `== SQL (line 3, position 8) ==`.
fn error_line(message: &str) -> Option<usize> {
    static LINE: std::sync::LazyLock<regex::Regex> =
        std::sync::LazyLock::new(|| regex::Regex::new(r"\bline (\d+)").expect("a valid pattern"));
    LINE.captures(message)?.get(1)?.as_str().parse().ok()
}

impl SparkConnection {
    fn request<T>(&self, message: T) -> tonic::Request<T> {
        request(message, self.endpoint.token.as_deref())
    }

    /// Runs a plan; returns the Arrow batches and the row count of a command.
    fn run(&mut self, plan: sc::Plan, sql: &str) -> DbResult<(Vec<Vec<u8>>, Option<i64>)> {
        let request = self.request(sc::ExecutePlanRequest {
            session_id: self.session_id.clone(),
            user_context: user_context(),
            plan: Some(plan),
            client_type: Some("kiln".into()),
            ..Default::default()
        });
        let mut client = self.client.clone();
        let ran: std::result::Result<_, tonic::Status> = self.runtime.block_on(async move {
            let mut stream = client.execute_plan(request).await?.into_inner();
            let mut batches = Vec::new();
            let mut rows = None;
            while let Some(response) = stream.message().await? {
                use sc::execute_plan_response::ResponseType;
                match response.response_type {
                    Some(ResponseType::ArrowBatch(batch)) => {
                        rows = Some(rows.unwrap_or(0) + batch.row_count);
                        batches.push(batch.data.to_vec());
                    }
                    Some(ResponseType::ResultComplete(_)) => break,
                    _ => {}
                }
            }
            Ok((batches, rows))
        });
        ran.map_err(|status| {
            let cause = self.error_cause(&status);
            status_err(&status, cause.as_deref(), sql)
        })
    }

    /// The innermost cause of an error whose own message says little
    /// ("Exception thrown in awaitResult"), from Spark Connect's
    /// FetchErrorDetails, when the server kept it.
    fn error_cause(&mut self, status: &tonic::Status) -> Option<String> {
        use tonic_types::StatusExt;
        let error_id = status
            .get_details_error_info()?
            .metadata
            .get("errorId")?
            .clone();
        let message = sc::FetchErrorDetailsRequest {
            session_id: self.session_id.clone(),
            user_context: user_context(),
            error_id,
            client_type: Some("kiln".into()),
            ..Default::default()
        };
        let request = self.request(message);
        let mut client = self.client.clone();
        let details = self
            .runtime
            .block_on(async move { client.fetch_error_details(request).await })
            .ok()?
            .into_inner();
        let mut at = usize::try_from(details.root_error_idx?).ok()?;
        let mut seen = 0;
        while let Some(next) = details.errors.get(at)?.cause_idx {
            at = usize::try_from(next).ok()?;
            seen += 1;
            if seen > details.errors.len() {
                break;
            }
        }
        Some(details.errors.get(at)?.message.clone())
    }

    fn sql_relation(query: &str) -> sc::Relation {
        sc::Relation {
            rel_type: Some(sc::relation::RelType::Sql(sc::Sql {
                query: query.to_string(),
                ..Default::default()
            })),
            ..Default::default()
        }
    }
}

impl Connection for SparkConnection {
    fn execute(&mut self, sql: &str) -> DbResult<Response> {
        let mut rows_affected = None;
        // Spark runs one statement per command.
        for statement in split_statements(sql) {
            let plan = sc::Plan {
                op_type: Some(sc::plan::OpType::Command(sc::Command {
                    command_type: Some(sc::command::CommandType::SqlCommand(sc::SqlCommand {
                        input: Some(Self::sql_relation(&statement)),
                        ..Default::default()
                    })),
                })),
            };
            rows_affected = self.run(plan, &statement)?.1;
        }
        Ok(Response {
            message: "OK".into(),
            rows_affected,
        })
    }

    fn query(&mut self, sql: &str) -> DbResult<Table> {
        let sql = sql.trim().trim_end_matches(';');
        let plan = sc::Plan {
            op_type: Some(sc::plan::OpType::Root(Self::sql_relation(sql))),
        };
        let (batches, _) = self.run(plan, sql)?;
        arrow_table(&batches)
    }

    fn describe_relation(
        &mut self,
        _database: &str,
        schema: &str,
        identifier: &str,
    ) -> DbResult<Option<(RelationInfo, Vec<Column>)>> {
        // One query: the columns, then "# Detailed Table Information" rows
        // whose `Type` says VIEW, MANAGED or EXTERNAL.
        // A temporary view (an incremental's new rows) has no schema.
        let name = if schema.is_empty() {
            quote(identifier)
        } else {
            format!("{}.{}", quote(schema), quote(identifier))
        };
        let sql = format!("describe table extended {name}");
        let t = match self.query(&sql) {
            Ok(t) => t,
            Err(e) if not_found(&e) => return Ok(None),
            Err(e) => return Err(e),
        };
        let text = |r: &Vec<Cell>, i: usize| r.get(i).map(ToString::to_string).unwrap_or_default();
        let columns = described_columns(&t);
        let view = t
            .rows
            .iter()
            .any(|r| text(r, 0) == "Type" && text(r, 1).eq_ignore_ascii_case("view"));
        let info = RelationInfo {
            database: String::new(),
            schema: schema.to_string(),
            identifier: identifier.to_string(),
            kind: if view {
                RelationKind::View
            } else {
                RelationKind::Table
            },
        };
        Ok(Some((info, columns)))
    }

    fn list_relations(&mut self, _database: &str, schema: &str) -> DbResult<Vec<RelationInfo>> {
        let t = match self.query(&format!(
            "show table extended in {} like '*'",
            quote(schema)
        )) {
            Ok(t) => t,
            Err(e) if not_found(&e) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        // Columns: namespace, tableName, isTemporary, information.
        let col = |name: &str| t.columns.iter().position(|c| c.name == name);
        let (Some(n), Some(info)) = (col("tableName"), col("information")) else {
            return Ok(Vec::new());
        };
        // The session's temporary views are listed in every schema.
        let temporary = col("isTemporary");
        Ok(t.rows
            .iter()
            .filter(|r| temporary.is_none_or(|i| r[i] != Cell::Bool(true)))
            .map(|r| {
                let text = r[info].to_string();
                let kind = if text.lines().any(|l| l.trim() == "Type: VIEW") {
                    RelationKind::View
                } else {
                    RelationKind::Table
                };
                RelationInfo {
                    database: String::new(),
                    schema: schema.to_string(),
                    identifier: r[n].to_string(),
                    kind,
                }
            })
            .collect())
    }

    fn interrupter(&self) -> Box<dyn Fn() + Send + Sync> {
        let endpoint = self.endpoint.clone();
        let session_id = self.session_id.clone();
        Box::new(move || {
            // Spark Connect's Interrupt, on a runtime and channel of its own:
            // this runs on the Ctrl-C thread while the worker waits on its
            // stream.
            let Ok(runtime) = runtime() else { return };
            let message = sc::InterruptRequest {
                session_id: session_id.clone(),
                user_context: user_context(),
                interrupt_type: sc::interrupt_request::InterruptType::All as i32,
                ..Default::default()
            };
            let _ = runtime.block_on(async {
                let mut client = client(channel(&endpoint).await?);
                client
                    .interrupt(request(message, endpoint.token.as_deref()))
                    .await
                    .map_err(|s| status_err(&s, None, ""))
            });
        })
    }

    /// Seeds: the rows go in batches of `insert ... select cast(...) from
    /// values`, each value cast to its column's type (Spark's ANSI store
    /// assignment will not turn a string into a number by itself).
    fn copy_csv(&mut self, table: &str, columns: &[String], csv: &[u8]) -> DbResult<u64> {
        let types = described_columns(&self.query(&format!("describe table {table}"))?);
        let type_of = |name: &str| {
            types
                .iter()
                .find(|c| c.name.eq_ignore_ascii_case(name))
                .map_or("string", |c| c.data_type.as_str())
        };
        let aliases: Vec<String> = (0..columns.len()).map(|i| format!("c{i}")).collect();
        let head = format!(
            "insert into {table} ({}) select {} from values ",
            columns
                .iter()
                .map(|c| quote(c))
                .collect::<Vec<_>>()
                .join(", "),
            columns
                .iter()
                .zip(&aliases)
                .map(|(c, a)| format!("cast({a} as {})", type_of(c)))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let tail = format!(" as kiln_seed({})", aliases.join(", "));
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(csv);
        let mut loaded = 0u64;
        let mut batch: Vec<String> = Vec::new();
        let mut batch_bytes = 0;
        for record in reader.records() {
            let record =
                record.map_err(|e| DbError::new(format!("could not read seed rows: {e}")))?;
            let row = format!(
                "({})",
                record
                    .iter()
                    .map(|v| if v.is_empty() {
                        "null".into()
                    } else {
                        string_literal(v)
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            batch_bytes += row.len();
            batch.push(row);
            // Batches stay well inside what Spark parses quickly.
            if batch.len() >= 5000 || batch_bytes > 4 << 20 {
                loaded += batch.len() as u64;
                self.execute(&format!("{head}{}{tail}", batch.join(", ")))?;
                batch.clear();
                batch_bytes = 0;
            }
        }
        if !batch.is_empty() {
            loaded += batch.len() as u64;
            self.execute(&format!("{head}{}{tail}", batch.join(", ")))?;
        }
        Ok(loaded)
    }

    fn in_transaction(&self) -> bool {
        false
    }

    // Spark has no transactions: begin/commit/rollback do nothing.
    fn begin(&mut self) -> DbResult<()> {
        Ok(())
    }

    fn commit(&mut self) -> DbResult<()> {
        Ok(())
    }

    fn rollback(&mut self) -> DbResult<()> {
        Ok(())
    }
}

/// Spark's error for a schema, table or view that does not exist.
fn not_found(e: &DbError) -> bool {
    [
        "SCHEMA_NOT_FOUND",
        "TABLE_OR_VIEW_NOT_FOUND",
        "NoSuchDatabaseException",
        "NoSuchTableException",
    ]
    .iter()
    .any(|class| e.message.contains(class))
}

/// The columns of a `describe table` result: the rows before the first
/// blank or `#` row (partitioning and table details follow).
fn described_columns(described: &Table) -> Vec<Column> {
    let text = |r: &Vec<Cell>, i: usize| r.get(i).map(ToString::to_string).unwrap_or_default();
    described
        .rows
        .iter()
        .take_while(|r| !text(r, 0).is_empty() && !text(r, 0).starts_with('#'))
        .map(|r| Column {
            name: text(r, 0),
            data_type: text(r, 1),
        })
        .collect()
}

/// An identifier quoted for Spark SQL.
pub fn quote(identifier: &str) -> String {
    format!("`{}`", identifier.replace('`', "``"))
}

/// A Spark SQL string literal: Spark escapes with backslashes.
fn string_literal(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// Statements of a script, split at semicolons outside quotes and comments.
fn split_statements(sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quote: Option<char> = None;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) => {
                current.push(c);
                if c == '\\' && q != '`' {
                    // Spark's backslash escape: the next character is literal.
                    if let Some(next) = chars.next() {
                        current.push(next);
                    }
                } else if c == q {
                    quote = None;
                }
            }
            None => match c {
                '\'' | '"' | '`' => {
                    quote = Some(c);
                    current.push(c);
                }
                '-' if chars.peek() == Some(&'-') => {
                    for c in chars.by_ref() {
                        if c == '\n' {
                            current.push('\n');
                            break;
                        }
                    }
                }
                ';' => out.push(std::mem::take(&mut current)),
                _ => current.push(c),
            },
        }
    }
    out.push(current);
    out.into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Arrow IPC streams (one per batch) as a table of cells.
fn arrow_table(batches: &[Vec<u8>]) -> DbResult<Table> {
    let mut table = Table::default();
    for data in batches {
        let reader = arrow_ipc::reader::StreamReader::try_new(Cursor::new(data), None)
            .map_err(|e| DbError::new(format!("could not read Spark's result: {e}")))?;
        for batch in reader {
            let batch =
                batch.map_err(|e| DbError::new(format!("could not read Spark's result: {e}")))?;
            if table.columns.is_empty() {
                table.columns = batch
                    .schema()
                    .fields()
                    .iter()
                    .map(|f| Column {
                        name: f.name().clone(),
                        data_type: spark_type(f.data_type()),
                    })
                    .collect();
            }
            let columns: Vec<&ArrayRef> = batch.columns().iter().collect();
            for i in 0..batch.num_rows() {
                table
                    .rows
                    .push(columns.iter().map(|a| cell(a, i)).collect());
            }
        }
    }
    Ok(table)
}

/// Spark SQL's name for an Arrow type.
fn spark_type(t: &DataType) -> String {
    match t {
        DataType::Boolean => "boolean".into(),
        DataType::Int8 => "tinyint".into(),
        DataType::Int16 => "smallint".into(),
        DataType::Int32 => "int".into(),
        DataType::Int64 => "bigint".into(),
        DataType::Float32 => "float".into(),
        DataType::Float64 => "double".into(),
        DataType::Utf8 | DataType::LargeUtf8 => "string".into(),
        DataType::Date32 | DataType::Date64 => "date".into(),
        DataType::Timestamp(_, Some(_)) => "timestamp".into(),
        DataType::Timestamp(_, None) => "timestamp_ntz".into(),
        DataType::Decimal128(p, s) => format!("decimal({p},{s})"),
        DataType::Binary | DataType::LargeBinary => "binary".into(),
        DataType::List(f) | DataType::LargeList(f) => {
            format!("array<{}>", spark_type(f.data_type()))
        }
        DataType::Map(entries, _) => match entries.data_type() {
            DataType::Struct(kv) if kv.len() == 2 => format!(
                "map<{},{}>",
                spark_type(kv[0].data_type()),
                spark_type(kv[1].data_type())
            ),
            _ => "map".into(),
        },
        DataType::Struct(fields) => format!(
            "struct<{}>",
            fields
                .iter()
                .map(|f| format!("{}:{}", f.name(), spark_type(f.data_type())))
                .collect::<Vec<_>>()
                .join(",")
        ),
        other => format!("{other}").to_lowercase(),
    }
}

/// Values as SQL prints them (`2024-01-02 03:04:05.5+00:00`), not Arrow's
/// ISO 8601 with a `T`.
fn format_options() -> FormatOptions<'static> {
    FormatOptions::default()
        .with_timestamp_format(Some("%Y-%m-%d %H:%M:%S%.f"))
        .with_timestamp_tz_format(Some("%Y-%m-%d %H:%M:%S%.f%:z"))
        .with_null("")
}

/// One value: numbers and booleans typed, decimals exact, the rest as
/// Arrow prints them.
fn cell(array: &ArrayRef, i: usize) -> Cell {
    if array.is_null(i) {
        return Cell::Null;
    }
    match array.data_type() {
        DataType::Boolean => Cell::Bool(array.as_boolean().value(i)),
        DataType::Int8 => Cell::Int(array.as_primitive::<Int8Type>().value(i).into()),
        DataType::Int16 => Cell::Int(array.as_primitive::<Int16Type>().value(i).into()),
        DataType::Int32 => Cell::Int(array.as_primitive::<Int32Type>().value(i).into()),
        DataType::Int64 => Cell::Int(array.as_primitive::<Int64Type>().value(i).into()),
        DataType::Utf8 => Cell::Text(array.as_string::<i32>().value(i).to_string()),
        DataType::LargeUtf8 => Cell::Text(array.as_string::<i64>().value(i).to_string()),
        other => {
            let text = ArrayFormatter::try_new(array.as_ref(), &format_options())
                .map(|f| f.value(i).to_string())
                .unwrap_or_default();
            match other {
                DataType::Float32 | DataType::Float64 => {
                    text.parse().map_or(Cell::Other(text), Cell::Float)
                }
                DataType::Decimal128(_, _) | DataType::Decimal256(_, _) => Cell::Decimal(text),
                _ => Cell::Other(text),
            }
        }
    }
}

/// Connects with the target's profile and asks the server's version.
pub fn check_connection(target: &Target) -> Result<String> {
    let adapter = SparkAdapter::open(target)?;
    let mut conn = adapter
        .connect()
        .map_err(|e| Error::new(format!("could not open a Spark session: {e}")))?;
    let version = conn
        .query("select version()")
        .map_err(|e| Error::new(format!("Spark did not answer a query: {e}")))?
        .rows
        .first()
        .and_then(|r| r.first())
        .map(ToString::to_string)
        .unwrap_or_default();
    Ok(format!(
        "Spark {version} at {}:{} (Spark Connect)",
        adapter.endpoint.host, adapter.endpoint.port
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_split_outside_quotes() {
        assert_eq!(
            split_statements("create table a as select ';' as x; -- a; comment\ninsert into a values ('b;', 'it\\'s;');"),
            vec!["create table a as select ';' as x", "insert into a values ('b;', 'it\\'s;')"]
        );
        assert_eq!(string_literal("it's a \\ b"), "'it\\'s a \\\\ b'");
    }

    #[test]
    fn error_lines_are_found_in_each_of_sparks_forms() {
        assert_eq!(
            error_line("[X] bad. SQLSTATE: 42703; line 3 pos 7;"),
            Some(3)
        );
        assert_eq!(
            error_line("[PARSE_SYNTAX_ERROR] near 'x'. (line 12, pos 5)"),
            Some(12)
        );
        assert_eq!(error_line("a pipeline 3 of no position"), None);
    }
}
