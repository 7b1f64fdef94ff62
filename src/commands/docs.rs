//! `kiln docs generate` and `kiln docs serve`.

use std::path::{Component, Path};

use crate::artifacts::{catalog, docs_site};
use crate::cli::{DocsGenerateArgs, DocsServeArgs};
use crate::commands::compile::{compile_and_write, COMPILABLE};
use crate::commands::Session;
use crate::compile::Compiler;
use crate::error::{Error, Result};
use crate::manifest::json::{write_atomic, write_json_atomic};
use crate::output;

pub fn generate(generate: &DocsGenerateArgs) -> Result<i32> {
    let args = &generate.project;
    let session = Session::load(args)?;
    let compiler = Compiler::new(session.manifest.clone(), session.jinja.clone());
    let ids: Vec<String> = session
        .manifest
        .nodes
        .values()
        .filter(|n| COMPILABLE.contains(&n.resource_type))
        .map(|n| n.unique_id.clone())
        .collect();
    let db = crate::exec::open_db(&session)?;
    let compiled = compile_and_write(&session, &compiler, &ids, Some(&db))?;
    let target = session.project.target_dir();

    let (doc, types) = catalog::build(
        &db,
        &session.manifest,
        &session.invocation(),
        generate.empty_catalog,
    )?;
    write_json_atomic(&target.join("catalog.json"), &doc)?;
    let page = docs_site::render(&session.manifest, &compiled, &types);
    write_atomic(&target.join("index.html"), |w| {
        std::io::Write::write_all(w, page.as_bytes())
    })?;
    // --static: dbt's one-file site; kiln's page already holds its data.
    if generate.static_site {
        write_atomic(&target.join("static_index.html"), |w| {
            std::io::Write::write_all(w, page.as_bytes())
        })?;
    }
    output::info(&format!(
        "Catalog written to {}; open {} or run `kiln docs serve`",
        target.join("catalog.json").display(),
        target.join("index.html").display()
    ));
    Ok(0)
}

pub fn serve(args: &DocsServeArgs) -> Result<i32> {
    let (dir, paths) = crate::project::dir_and_paths(&args.project)?;
    let root = dir.join(paths.target);
    if !root.join("index.html").exists() {
        return Err(Error::new(format!(
            "there is no {}; run `kiln docs generate` first",
            root.join("index.html").display()
        )));
    }
    let address = format!("{}:{}", args.host, args.port);
    let server = tiny_http::Server::http(&address).map_err(|e| {
        Error::new(format!("could not listen on {address}: {e}")).note("pick another --port")
    })?;
    let url = format!("http://{address}/");
    output::info(&format!(
        "Serving {} at {url} (Ctrl-C to stop)",
        root.display()
    ));
    if !args.no_browser {
        open_browser(&url);
    }
    for request in server.incoming_requests() {
        let path = request
            .url()
            .split(['?', '#'])
            .next()
            .unwrap_or("/")
            .trim_start_matches('/')
            .to_string();
        let path = if path.is_empty() {
            "index.html".to_string()
        } else {
            path
        };
        // Only files under target/: no `..`, no absolute paths.
        let safe = Path::new(&path)
            .components()
            .all(|c| matches!(c, Component::Normal(_)));
        let file = root.join(&path);
        let response = match (safe, std::fs::read(&file)) {
            (true, Ok(bytes)) => {
                let header = tiny_http::Header::from_bytes(
                    &b"Content-Type"[..],
                    content_type(&path).as_bytes(),
                )
                .expect("static header is valid");
                request.respond(tiny_http::Response::from_data(bytes).with_header(header))
            }
            _ => {
                request.respond(tiny_http::Response::from_string("not found").with_status_code(404))
            }
        };
        if let Err(e) = response {
            output::warn(&format!("could not answer a request: {e}"));
        }
    }
    Ok(0)
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("json") => "application/json",
        Some("js") => "text/javascript",
        Some("css") => "text/css",
        Some("sql") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn open_browser(url: &str) {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else if cfg!(windows) {
        "explorer"
    } else {
        "xdg-open"
    };
    if std::process::Command::new(opener).arg(url).spawn().is_err() {
        output::info(&format!("Open {url} in a browser"));
    }
}
