//! `kiln clone`: the selected nodes' relations from a previous run
//! (--state), recreated in the target as views of them, so a CI schema can
//! start from production without copying data. Relations the target
//! already has are kept, unless --full-refresh.

use crate::cli::RunArgs;
use crate::commands::Session;
use crate::error::{Error, Result};
use crate::manifest::ResourceType;
use crate::output;

pub fn run(args: &RunArgs) -> Result<i32> {
    let session = Session::load(&args.project)?;
    let state = session
        .previous_state(&args.selection)?
        .ok_or_else(|| Error::new("kiln clone needs --state DIR (the run to clone from)"))?;
    let types = [
        ResourceType::Model,
        ResourceType::Seed,
        ResourceType::Snapshot,
    ];
    let ids = session.select(&args.selection, &types)?;
    let db = crate::exec::open_db(&session)?;
    // The nodes to clone, with the relation each one clones.
    let mut clones = Vec::new();
    for id in &ids {
        let node = &session.manifest.nodes[id];
        let Some(from) = state.relation_of(id) else {
            continue;
        };
        if node.is_ephemeral() || from.rendered() == node.relation().rendered() {
            continue;
        }
        clones.push((&**node, from));
    }
    // Schemas as a run creates them (the warehouse's create_schema macro).
    let compiler = crate::compile::Compiler::new(session.manifest.clone(), session.jinja.clone());
    let nodes: Vec<&crate::manifest::Node> = clones.iter().map(|(n, _)| *n).collect();
    crate::exec::create_schemas(&compiler, &db, &nodes)?;
    let mut conn = db.conn();
    let (mut cloned, mut kept) = (0, 0);
    for (node, from) in clones {
        let to = node.relation();
        let exists = conn
            .describe_relation(&node.database, &node.schema, &node.alias)
            .map_err(|e| Error::new(e.to_string()))?
            .is_some();
        if exists && !args.full_refresh {
            kept += 1;
            continue;
        }
        if exists {
            // A table or a view may stand there; replace whichever it is.
            let _ = conn.execute(&format!("drop table if exists {}", to.rendered()));
            let _ = conn.execute(&format!("drop view if exists {}", to.rendered()));
        }
        conn.execute(&format!(
            "create or replace view {} as select * from {}",
            to.rendered(),
            from.rendered()
        ))
        .map_err(|e| Error::new(format!("could not clone {}: {e}", node.name)))?;
        output::info(&format!(
            "Cloned {} from {}",
            to.rendered(),
            from.rendered()
        ));
        cloned += 1;
    }
    output::info(&format!(
        "Done. {cloned} cloned, {kept} already in the target (use --full-refresh to replace them)"
    ));
    Ok(0)
}
