//! Warehouses. DuckDB (embedded) is the first; see duckdb.rs.

pub mod duckdb;
