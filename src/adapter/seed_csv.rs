//! Seed files for warehouses other than DuckDB. kiln's embedded DuckDB reads
//! the CSV (the same reader and type detection as seeds on DuckDB, so a seed
//! gets the same column types everywhere), then hands the warehouse typed
//! columns and normalised CSV rows for its bulk loader (COPY FROM STDIN).

use std::path::Path;

use crate::adapter::{sql_literal, DbError, DbResult};

/// A seed column: its name and the kind of values detected in it, in
/// dbt's (agate's) words: integer, bigint, float, boolean, date, datetime,
/// text. Columns named in `column_types` are read as text and keep their
/// configured type.
#[derive(Debug, Clone, PartialEq)]
pub struct SeedColumn {
    pub name: String,
    pub kind: &'static str,
}

/// A seed file read: its columns and its rows as header-less CSV.
pub struct SeedRows {
    pub columns: Vec<SeedColumn>,
    pub csv: Vec<u8>,
}

fn err(e: impl std::fmt::Display) -> DbError {
    DbError::new(e.to_string())
}

type Key = (std::path::PathBuf, String, Vec<String>);

/// Files read for their columns, kept for the load that follows (a seed's
/// materialization asks for the columns, creates the table, then loads), so
/// each file is parsed once.
static READ: std::sync::Mutex<Vec<(Key, std::sync::Arc<SeedRows>)>> =
    std::sync::Mutex::new(Vec::new());

fn key(path: &Path, delimiter: &str, text_columns: &[String]) -> Key {
    (
        path.to_path_buf(),
        delimiter.to_string(),
        text_columns.to_vec(),
    )
}

/// The columns of `path` (see `read`); its rows wait for `take_rows`.
pub fn columns(path: &Path, delimiter: &str, text_columns: &[String]) -> DbResult<Vec<SeedColumn>> {
    let seed = std::sync::Arc::new(read(path, delimiter, text_columns)?);
    let mut read = READ.lock().unwrap_or_else(|e| e.into_inner());
    let k = key(path, delimiter, text_columns);
    read.retain(|(other, _)| *other != k);
    read.push((k, seed.clone()));
    Ok(seed.columns.clone())
}

/// `path` as `columns` read it, or read now.
pub fn take_rows(
    path: &Path,
    delimiter: &str,
    text_columns: &[String],
) -> DbResult<std::sync::Arc<SeedRows>> {
    let k = key(path, delimiter, text_columns);
    let kept = {
        let mut read = READ.lock().unwrap_or_else(|e| e.into_inner());
        read.iter()
            .position(|(other, _)| *other == k)
            .map(|i| read.swap_remove(i).1)
    };
    match kept {
        Some(seed) => Ok(seed),
        None => Ok(std::sync::Arc::new(read(path, delimiter, text_columns)?)),
    }
}

/// Reads `path`: `text_columns` (those with configured types) stay text, so
/// leading zeros and the configured cast survive.
pub fn read(path: &Path, delimiter: &str, text_columns: &[String]) -> DbResult<SeedRows> {
    let conn = duckdb::Connection::open_in_memory().map_err(err)?;
    let types: Vec<String> = text_columns
        .iter()
        .map(|c| format!("{}: 'VARCHAR'", sql_literal(c)))
        .collect();
    // The types dbt's CSV reader (agate) can give: it has no TIME.
    let reader = format!(
        "read_csv({}, header = true, delim = {}, auto_type_candidates = ['BOOLEAN', 'BIGINT', 'DOUBLE', 'DATE', 'TIMESTAMP', 'TIMESTAMP WITH TIME ZONE', 'VARCHAR']{})",
        sql_literal(&path.to_string_lossy()),
        sql_literal(delimiter),
        if types.is_empty() {
            String::new()
        } else {
            format!(", types = {{{}}}", types.join(", "))
        }
    );
    conn.execute_batch(&format!("create table seed as select * from {reader}"))
        .map_err(err)?;
    let described: Vec<(String, String)> = {
        let mut stmt = conn
            .prepare("select column_name, data_type from information_schema.columns where table_name = 'seed' order by ordinal_position")
            .map_err(err)?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(err)?;
        rows.collect::<duckdb::Result<_>>().map_err(err)?
    };
    let mut columns = Vec::with_capacity(described.len());
    for (name, duck_type) in described {
        let configured = text_columns.iter().any(|c| c.eq_ignore_ascii_case(&name));
        let q = format!("\"{}\"", name.replace('"', "\"\""));
        let kind = match duck_type.as_str() {
            _ if configured => "text",
            "BOOLEAN" => "boolean",
            // dbt makes whole numbers `integer`; kiln keeps those too big for it.
            "BIGINT" => {
                let fits: bool = conn
                    .query_row(
                        &format!("select coalesce(min({q}) >= -2147483648 and max({q}) <= 2147483647, true) from seed"),
                        [],
                        |r| r.get(0),
                    )
                    .map_err(err)?;
                if fits {
                    "integer"
                } else {
                    "bigint"
                }
            }
            "DOUBLE" => "float",
            "DATE" => "date",
            "TIMESTAMP" | "TIMESTAMP WITH TIME ZONE" => "datetime",
            _ => {
                // A column with no values at all is an integer to dbt.
                let empty: bool = conn
                    .query_row(&format!("select count({q}) = 0 from seed"), [], |r| {
                        r.get(0)
                    })
                    .map_err(err)?;
                if empty {
                    "integer"
                } else {
                    "text"
                }
            }
        };
        columns.push(SeedColumn { name, kind });
    }
    let dir = tempfile::tempdir().map_err(err)?;
    let out = dir.path().join("rows.csv");
    conn.execute_batch(&format!(
        "copy seed to {} (header false)",
        sql_literal(&out.to_string_lossy())
    ))
    .map_err(err)?;
    let csv = std::fs::read(&out).map_err(err)?;
    Ok(SeedRows { columns, csv })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_follow_dbt_and_configured_columns_stay_text() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.csv");
        std::fs::write(
            &path,
            "id,zip,price,ok,day,at,big,note,empty\n1,00501,1.5,true,2024-01-02,2024-01-02 03:04:05,9999999999,\"a, b\",\n2,02134,2,false,2024-01-03,2024-01-03 00:00:00,1,,\n",
        )
        .unwrap();
        let seed = read(&path, ",", &["zip".to_string()]).unwrap();
        let kinds: Vec<(&str, &str)> = seed
            .columns
            .iter()
            .map(|c| (c.name.as_str(), c.kind))
            .collect();
        assert_eq!(
            kinds,
            vec![
                ("id", "integer"),
                ("zip", "text"),
                ("price", "float"),
                ("ok", "boolean"),
                ("day", "date"),
                ("at", "datetime"),
                ("big", "bigint"),
                ("note", "text"),
                ("empty", "integer"),
            ]
        );
        let text = String::from_utf8(seed.csv).unwrap();
        let first = text.lines().next().unwrap();
        assert!(
            first.starts_with("1,00501,1.5,true,2024-01-02,2024-01-02 03:04:05"),
            "{first}"
        );
        assert!(first.contains("\"a, b\""), "{first}");
    }

    #[test]
    fn the_load_reuses_the_read_that_gave_the_columns() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("once.csv");
        std::fs::write(&path, "id\n1\n").unwrap();
        let cols = columns(&path, ",", &[]).unwrap();
        // The file changes after the columns were read: the load still
        // sends the rows that were read then (no second parse).
        std::fs::write(&path, "id\n1\n2\n").unwrap();
        let rows = take_rows(&path, ",", &[]).unwrap();
        assert_eq!(rows.columns, cols);
        assert_eq!(String::from_utf8_lossy(&rows.csv), "1\n");
        // Taken: a later load reads the file again.
        assert_eq!(
            String::from_utf8_lossy(&take_rows(&path, ",", &[]).unwrap().csv),
            "1\n2\n"
        );
    }
}
