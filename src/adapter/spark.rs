//! Spark over Spark Connect (work in progress): a thin gRPC client on the generated Spark Connect protocol. SQL
//! runs as a `SqlCommand` (statements) or a `SQL` relation (queries, whose
//! rows arrive as Arrow IPC batches, decoded with DuckDB's arrow). Each
//! worker has its own session, since temporary views and SET are
//! session-scoped.

use std::io::Cursor;
use std::sync::Arc;

use spark_connect_proto as sc;
use duckdb::arrow::array::{Array, ArrayRef, AsArray};
use duckdb::arrow::datatypes::{DataType, Int16Type, Int32Type, Int64Type, Int8Type};
use duckdb::arrow::util::display::{ArrayFormatter, FormatOptions};
use sc::spark_connect_service_client::SparkConnectServiceClient;
use serde_json::Value as Json;
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
pub struct Endpointing {
    pub host: String,
    pub port: u16,
    pub token: Option<String>,
}

impl Endpointing {
    pub fn from_target(target: &Target) -> Result<Endpointing> {
        let text = |k: &str| target.fields.get(k).and_then(Json::as_str).map(str::to_string);
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
            return Err(Error::new("use_ssl is not supported yet by kiln's Spark Connect client")
                .at(at()));
        }
        let host = text("host").unwrap_or_else(|| "127.0.0.1".into());
        let mut token = text("token");
        let (host, port) = if let Some(rest) = host.strip_prefix("sc://") {
            // sc://host:port/;token=...;key=value
            let (addr, params) = rest.split_once('/').unwrap_or((rest, ""));
            for p in params.split(';') {
                if let Some(t) = p.strip_prefix("token=") {
                    token = Some(t.to_string());
                }
            }
            match addr.rsplit_once(':') {
                Some((h, p)) => (
                    h.to_string(),
                    p.parse().map_err(|_| {
                        Error::new(format!("the port in {host} is not a number")).at(at())
                    })?,
                ),
                None => (addr.to_string(), 15002),
            }
        } else {
            let port = match target.fields.get("port") {
                None => 15002,
                Some(v) => v
                    .as_u64()
                    .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                    .and_then(|p| u16::try_from(p).ok())
                    .ok_or_else(|| Error::new(format!("`port` must be a port number, got {v}")).at(at()))?,
            };
            (host, port)
        };
        Ok(Endpointing { host, port, token })
    }
}

pub struct SparkAdapter {
    endpoint: Endpointing,
    channel: Channel,
}

impl SparkAdapter {
    pub fn open(target: &Target) -> Result<SparkAdapter> {
        let endpoint = Endpointing::from_target(target)?;
        let runtime = runtime().map_err(|e| Error::new(e.message))?;
        let url = format!("http://{}:{}", endpoint.host, endpoint.port);
        let channel = runtime
            .block_on(async { Endpoint::from_shared(url.clone())?.connect().await })
            .map_err(|e| {
                Error::new(format!(
                    "could not reach the Spark Connect server at {}:{}: {e}",
                    endpoint.host, endpoint.port
                ))
                .at(Location::file(&target.profiles_path))
                .note("is the server running? (sbin/start-connect-server.sh)")
            })?;
        Ok(SparkAdapter { endpoint, channel })
    }
}

fn runtime() -> DbResult<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| DbError::new(format!("could not start the Spark client: {e}")))
}

impl Adapter for SparkAdapter {
    fn adapter_type(&self) -> &'static str {
        "spark"
    }

    fn connect(&self) -> DbResult<Box<dyn Connection>> {
        let mut conn = SparkConnection {
            runtime: Arc::new(runtime()?),
            client: SparkConnectServiceClient::new(self.channel.clone()),
            session_id: uuid::Uuid::new_v4().to_string(),
            token: self.endpoint.token.clone(),
        };
        // Timestamps arrive in the session's zone; an offset (not a zone
        // name such as Etc/UTC) lets Arrow print them without a zone database.
        conn.execute("set spark.sql.session.timeZone = +00:00")?;
        Ok(Box::new(conn))
    }

    fn quote(&self, identifier: &str) -> String {
        format!("`{}`", identifier.replace('`', "``"))
    }
}

pub struct SparkConnection {
    runtime: Arc<tokio::runtime::Runtime>,
    client: SparkConnectServiceClient<Channel>,
    /// This worker's session on the server.
    session_id: String,
    token: Option<String>,
}

fn user_context() -> Option<sc::UserContext> {
    Some(sc::UserContext {
        user_id: "kiln".into(),
        user_name: "kiln".into(),
        ..Default::default()
    })
}

/// Spark's error as it words it: `[ERROR_CLASS] message`.
fn status_err(s: &tonic::Status) -> DbError {
    DbError {
        message: s.message().to_string(),
        interrupted: s.code() == tonic::Code::Cancelled
            || s.message().contains("OPERATION_CANCELED"),
    }
}

impl SparkConnection {
    fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        if let Some(token) = &self.token {
            if let Ok(v) = format!("Bearer {token}").parse() {
                request.metadata_mut().insert("authorization", v);
            }
        }
        request
    }

    /// Runs a plan; returns the Arrow batches and the row count of a command.
    fn run(&mut self, plan: sc::Plan) -> DbResult<(Vec<Vec<u8>>, Option<i64>)> {
        let request = self.request(sc::ExecutePlanRequest {
            session_id: self.session_id.clone(),
            user_context: user_context(),
            plan: Some(plan),
            client_type: Some("kiln".into()),
            ..Default::default()
        });
        let mut client = self.client.clone();
        self.runtime.block_on(async move {
            let mut stream = client
                .execute_plan(request)
                .await
                .map_err(|s| status_err(&s))?
                .into_inner();
            let mut batches = Vec::new();
            let mut rows = None;
            while let Some(response) = stream.message().await.map_err(|s| status_err(&s))? {
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
        })
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
            rows_affected = self.run(plan)?.1;
        }
        Ok(Response {
            message: "OK".into(),
            rows_affected,
        })
    }

    fn query(&mut self, sql: &str) -> DbResult<Table> {
        let plan = sc::Plan {
            op_type: Some(sc::plan::OpType::Root(Self::sql_relation(
                sql.trim().trim_end_matches(';'),
            ))),
        };
        let (batches, _) = self.run(plan)?;
        arrow_table(&batches)
    }

    fn describe_relation(
        &mut self,
        _database: &str,
        schema: &str,
        identifier: &str,
    ) -> DbResult<Option<(RelationInfo, Vec<Column>)>> {
        let Some(info) = self
            .list_relations("", schema)?
            .into_iter()
            .find(|r| r.identifier.eq_ignore_ascii_case(identifier))
        else {
            return Ok(None);
        };
        let t = self.query(&format!("describe table `{schema}`.`{identifier}`"))?;
        let mut columns = Vec::new();
        for row in &t.rows {
            let name = row.first().map(ToString::to_string).unwrap_or_default();
            // Partition information follows a row that starts with '#'.
            if name.is_empty() || name.starts_with('#') {
                break;
            }
            columns.push(Column {
                name,
                data_type: row.get(1).map(ToString::to_string).unwrap_or_default(),
            });
        }
        Ok(Some((info, columns)))
    }

    fn list_relations(&mut self, _database: &str, schema: &str) -> DbResult<Vec<RelationInfo>> {
        let t = match self.query(&format!("show table extended in `{schema}` like '*'")) {
            Ok(t) => t,
            Err(e) if e.message.contains("SCHEMA_NOT_FOUND") => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        // Columns: namespace, tableName, isTemporary, information.
        let col = |name: &str| t.columns.iter().position(|c| c.name == name);
        let (Some(n), Some(info)) = (col("tableName"), col("information")) else {
            return Ok(Vec::new());
        };
        Ok(t.rows
            .iter()
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
        let client = self.client.clone();
        let session_id = self.session_id.clone();
        Box::new(move || {
            // Spark Connect's Interrupt, on a runtime of its own (this runs
            // on the Ctrl-C thread while the worker waits on its stream).
            let Ok(runtime) = runtime() else { return };
            let mut client = client.clone();
            let request = tonic::Request::new(sc::InterruptRequest {
                session_id: session_id.clone(),
                user_context: user_context(),
                interrupt_type: sc::interrupt_request::InterruptType::All as i32,
                ..Default::default()
            });
            let _ = runtime.block_on(async move { client.interrupt(request).await });
        })
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
                if c == q {
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
            let batch = batch.map_err(|e| DbError::new(format!("could not read Spark's result: {e}")))?;
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
        DataType::List(f) => format!("array<{}>", spark_type(f.data_type())),
        DataType::Map(_, _) => "map".into(),
        DataType::Struct(_) => "struct".into(),
        other => format!("{other}").to_lowercase(),
    }
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
            let text = ArrayFormatter::try_new(array.as_ref(), &FormatOptions::default())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_split_outside_quotes() {
        assert_eq!(
            split_statements("create table a as select ';' as x; -- a; comment\ninsert into a values ('b;');"),
            vec!["create table a as select ';' as x", "insert into a values ('b;')"]
        );
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
