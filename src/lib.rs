//! kiln: builds dbt projects. See DESIGN.md for how data flows:
//! load (`project`) → parse (`jinja`, `manifest`) → graph → compile → execute → artifacts.

pub mod adapter;
pub mod cli;
pub mod commands;
pub mod compile;
pub mod error;
pub mod graph;
pub mod jinja;
pub mod manifest;
pub mod output;
pub mod project;
pub mod templates;

pub use error::{Error, Result};
