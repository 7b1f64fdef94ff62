//! `kiln run-operation`: call one macro with arguments, against the database.

use std::sync::Arc;

use crate::cli::RunOperationArgs;
use crate::commands::Session;
use crate::error::{Error, Result};
use crate::jinja::{errors, Scope};
use crate::output;

pub fn run(args: &RunOperationArgs) -> Result<i32> {
    let session = Session::load(&args.project)?;
    let macros = &session.jinja.macros;
    let root = session.manifest.root_package.clone();
    let (package, name) = match args.macro_name.split_once('.') {
        Some((p, n)) => (p.to_string(), n.to_string()),
        None => (root.clone(), args.macro_name.clone()),
    };
    let found = if args.macro_name.contains('.') {
        macros.in_package(&package, &name)
    } else {
        macros.resolve(&root, &name)
    };
    if found.is_none() {
        return Err(
            Error::new(format!("there is no macro named '{}'", args.macro_name))
                .suggest(&name, macros.defs.iter().map(|d| d.name.as_str())),
        );
    }
    let kwargs = match &args.args {
        Some(text) => crate::project::yaml::parse_inline("--args", text)?,
        None => serde_json::Value::Object(Default::default()),
    };
    if !kwargs.is_object() {
        return Err(Error::new(
            "--args must be a YAML dictionary, e.g. --args '{days: 7}'",
        ));
    }
    let db = crate::exec::open_db(&session)?;
    let compiler = crate::compile::Compiler::new(session.manifest.clone(), session.jinja.clone());
    let mut scope = Scope::new(session.jinja.clone(), true)
        .with_db(Some(db.clone()))
        .with_resolver(Some(compiler.resolver.clone()));
    scope
        .extra
        .insert("__kiln_args".into(), crate::jinja::to_value(&kwargs));
    let call = format!("{{{{ {}(**__kiln_args) }}}}", args.macro_name);
    let started = std::time::Instant::now();
    output::info(&format!("Running macro {}", args.macro_name));
    match crate::jinja::render_in_scope(&Arc::new(scope), &package, "run-operation", &call) {
        Ok(_) => {
            // What the macro changed is kept, as dbt commits after it.
            let mut conn = db.conn();
            if conn.in_transaction() {
                conn.commit()
                    .map_err(|e| Error::new(format!("could not commit: {e}")))?;
            }
            output::info(&format!(
                "Finished {} in {:.2}s",
                args.macro_name,
                started.elapsed().as_secs_f64()
            ));
            Ok(0)
        }
        Err(e) => {
            let err = errors::to_error(
                &e,
                &session.jinja,
                &format!("in macro {}", args.macro_name),
                "run-operation",
                &call,
                std::path::Path::new("<run-operation>"),
            );
            output::error(&format!(
                "Encountered an error while running operation: {err}"
            ));
            Ok(1)
        }
    }
}
