//! `kiln compile`: render the selected nodes into target/compiled/, or print
//! `--inline` SQL.

use crate::adapter::Db;
use crate::cli::CompileArgs;
use crate::commands::Session;
use crate::compile::{compile_all, write_compiled, Compiler};
use crate::error::Result;
use crate::manifest::{CompiledNodes, ResourceType};
use crate::output;

/// Node types that have SQL to compile.
pub const COMPILABLE: [ResourceType; 4] = [
    ResourceType::Model,
    ResourceType::Test,
    ResourceType::Analysis,
    ResourceType::Snapshot,
];

pub fn run(args: &CompileArgs) -> Result<i32> {
    let session = Session::load(&args.project)?;
    if args.inline.is_none() {
        session.cache.preload_compile();
    }
    let compiler = Compiler::new(session.manifest.clone(), session.jinja.clone())
        .with_cache(session.cache.clone());
    let db = connect_for_compile(&session);
    if let Some(sql) = &args.inline {
        let compiled = compiler.compile_inline(sql, db.as_ref())?;
        output::stdout_line(&compiled);
        return Ok(0);
    }
    let mut timer = output::Timer::start();
    let ids = session.select(&args.selection, &COMPILABLE)?;
    timer.lap("select");
    let compiled = compile_and_write(&session, &compiler, &ids, db.as_ref())?;
    let target = session.project.target_dir();
    // As dbt: with one model (or analysis, snapshot) selected, show its SQL.
    let shown: Vec<&String> = ids
        .iter()
        .filter(|id| {
            session
                .manifest
                .nodes
                .get(*id)
                .is_some_and(|n| n.resource_type != ResourceType::Test)
        })
        .collect();
    if let ([only], false) = (shown.as_slice(), args.selection.select.is_empty()) {
        output::info(&format!(
            "Compiled node '{}' is:",
            session.manifest.nodes[*only].name
        ));
        output::stdout_line(&compiled[*only].sql);
    }
    // How much the render cache saved, once it saved something.
    let (_, (reused, rendered)) = session.cache.counts();
    let cached = if reused > 0 {
        format!(" ({rendered} rendered, {reused} unchanged)")
    } else {
        String::new()
    };
    output::info(&format!(
        "Compiled {} node(s) of {} in {:.2}s{cached} into {}",
        compiled.len(),
        session.counts(),
        session.started.elapsed().as_secs_f64(),
        target.join("compiled").display()
    ));
    crate::commands::free_at_exit((session, compiled));
    Ok(0)
}

/// The target's database, for templates that query it while compiling (as
/// dbt connects for `compile`). Without one (it cannot be opened), those
/// templates say that they need it, and everything else still compiles.
pub fn connect_for_compile(session: &Session) -> Option<Db> {
    match crate::exec::open_db(session) {
        Ok(db) => Some(db),
        Err(e) => {
            output::debug(&format!("compiling without a database connection: {e}"));
            None
        }
    }
}

/// Renders `ids`, writes their files under target/compiled/ and the
/// manifest with their compiled code.
pub fn compile_and_write(
    session: &Session,
    compiler: &Compiler,
    ids: &[String],
    db: Option<&Db>,
) -> Result<CompiledNodes> {
    let mut timer = output::Timer::start();
    let mut compiled = CompiledNodes::with_capacity_and_hasher(ids.len(), Default::default());
    for (id, r) in compile_all(compiler, ids, db) {
        compiled.insert(id, r?);
    }
    timer.lap("render");
    // Three big writes (tens of thousands of files, a manifest of tens of
    // MB, the render cache): side by side.
    let exists = |id: &str| session.manifest.nodes.contains_key(id);
    let (files, (manifest, ())) = rayon::join(
        || write_compiled(&session.project.target_dir(), &session.manifest, &compiled),
        || {
            rayon::join(
                || session.write_manifest(Some(&compiled)),
                || session.cache.save_compile(&exists),
            )
        },
    );
    files?;
    manifest?;
    timer.lap("write compiled files and manifest");
    Ok(compiled)
}
