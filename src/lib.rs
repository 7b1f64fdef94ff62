//! kiln: builds dbt projects. See DESIGN.md for how data flows:
//! load (`project`) → parse (`jinja`, `manifest`) → graph → compile → execute → artifacts.

/// A regex compiled once, on first use: `regex!(r"...")`.
#[macro_export]
macro_rules! regex {
    ($re:literal) => {{
        static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
        RE.get_or_init(|| {
            regex::Regex::new($re).unwrap_or_else(|e| unreachable!("bad built-in regex: {e}"))
        })
    }};
}

pub mod adapter;
pub mod artifacts;
pub mod cli;
pub mod commands;
pub mod compile;
pub mod deps;
pub mod error;
pub mod exec;
pub mod fast_hash;
pub mod graph;
pub mod jinja;
pub mod manifest;
pub mod output;
pub mod project;
pub mod render_cache;
pub mod templates;
pub mod text_table;

pub use error::{Error, Result};
