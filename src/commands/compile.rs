//! `kiln compile`: render the selected nodes into target/compiled/, or print
//! `--inline` SQL.

use crate::cli::CompileArgs;
use crate::commands::Session;
use crate::compile::{compile_all, write_compiled, Compiler};
use crate::error::Result;
use crate::manifest::ResourceType;
use crate::output;

/// Node types that have SQL to compile.
const COMPILABLE: [ResourceType; 4] = [
    ResourceType::Model,
    ResourceType::Test,
    ResourceType::Analysis,
    ResourceType::Snapshot,
];

pub fn run(args: &CompileArgs) -> Result<i32> {
    let session = Session::load(&args.project)?;
    let compiler = Compiler::new(session.manifest.clone(), session.jinja.clone());
    if let Some(sql) = &args.inline {
        let compiled = compiler.compile_inline(sql)?;
        output::stdout_line(&compiled);
        return Ok(0);
    }
    let ids = session.select(&args.selection, &COMPILABLE)?;
    let results = compile_all(&compiler, &ids);
    let mut ok = Vec::with_capacity(results.len());
    let mut failures = Vec::new();
    for (id, r) in results {
        match r {
            Ok(c) => ok.push((id, c)),
            Err(e) => failures.push(e),
        }
    }
    if let Some(first) = failures.into_iter().next() {
        return Err(first);
    }
    let target = session.project.target_dir();
    write_compiled(&target, &session.manifest, &ok)?;
    let mut manifest = (*session.manifest).clone();
    for (id, c) in &ok {
        if let Some(n) = manifest.nodes.get_mut(id) {
            n.compiled_code = Some(c.sql.clone());
            n.extra_ctes = c.extra_ctes.clone();
        }
    }
    session.write_manifest(&manifest)?;
    if ok.len() == 1 && !args.selection.select.is_empty() {
        output::stdout_line(&ok[0].1.sql);
    }
    output::info(&format!(
        "Compiled {} node(s) of {} in {:.2}s into {}",
        ok.len(),
        session.counts(),
        session.started.elapsed().as_secs_f64(),
        target.join("compiled").display()
    ));
    Ok(0)
}
