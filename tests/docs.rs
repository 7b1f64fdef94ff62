//! `kiln docs generate` / `serve`: catalog.json from the database, and the
//! static site checked in headless Chromium (Debian's chromium package;
//! .ci/run installs it and sets KILN_REQUIRE_CHROMIUM=1).

mod common;

use std::io::{Read, Write};
use std::path::Path;
use std::process::Command;

use common::Project;
use serde_json::Value;

fn generated() -> Project {
    let p = Project::example();
    for args in [&["build"][..], &["docs", "generate"]] {
        let (code, _, err) = p.run(args);
        assert_eq!(code, 0, "{args:?}: {err}");
    }
    p
}

#[test]
fn catalog_has_every_relation_with_column_types() {
    let p = generated();
    let c: Value = serde_json::from_str(&p.read("target/catalog.json")).expect("catalog");
    assert_eq!(
        c["metadata"]["dbt_schema_version"],
        "https://schemas.getdbt.com/dbt/catalog/v1.json"
    );
    let orders = &c["nodes"]["model.shop.orders"];
    assert_eq!(orders["metadata"]["type"], "BASE TABLE");
    assert_eq!(orders["metadata"]["schema"], "main_marts");
    assert_eq!(orders["columns"]["order_id"]["index"], 1);
    assert!(
        orders["columns"]["ordered_at"]["type"] == "DATE",
        "{}",
        orders["columns"]
    );
    assert_eq!(
        c["nodes"]["model.shop.stg_orders"]["metadata"]["type"],
        "VIEW"
    );
    assert!(c["nodes"]["seed.shop.raw_orders"].is_object());
    assert!(c["sources"]["source.shop.web.events"]["columns"].is_object());
    assert!(
        c["nodes"].get("model.shop.int_order_items").is_none(),
        "ephemeral models have no relation"
    );
    let page = p.read("target/index.html");
    assert!(
        !page.contains("src=\"http") && !page.contains("href=\"http"),
        "the site needs no network"
    );
}

/// The DOM after the page's scripts ran, and the console messages.
fn chromium(page: &Path, hash: &str) -> Option<(String, Vec<String>)> {
    let bin = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| {
            Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        });
    let Some(bin) = bin else {
        assert!(
            std::env::var_os("KILN_REQUIRE_CHROMIUM").is_none(),
            "chromium is required (apt-get install chromium)"
        );
        eprintln!("skipping the browser check: chromium is not installed");
        return None;
    };
    let url = format!("file://{}{hash}", page.display());
    let out = Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=5000",
            "--dump-dom",
            &url,
        ])
        .output()
        .expect("chromium runs");
    let console = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| l.contains("CONSOLE"))
        .map(str::to_string)
        .collect();
    Some((String::from_utf8_lossy(&out.stdout).to_string(), console))
}

/// The ids of the nodes drawn in the lineage graph.
fn graph_nodes(dom: &str) -> Vec<String> {
    let svg = &dom[dom.find("<svg").expect("a lineage graph")..];
    let mut ids: Vec<String> = svg
        .split("<g class=\"g-node")
        .skip(1)
        .filter_map(|g| {
            g.split("data-id=\"")
                .nth(1)
                .and_then(|r| r.split('"').next())
                .map(str::to_string)
        })
        .collect();
    ids.sort();
    ids
}

#[test]
fn site_loads_searches_and_draws_lineage_in_a_browser() {
    let p = generated();
    let page = p.dir.join("target/index.html");
    let Some((home, console)) = chromium(&page, "") else {
        return;
    };
    assert!(console.is_empty(), "console messages: {console:?}");
    assert!(home.contains("id=\"home\""), "the home page renders");

    let (dom, console) = chromium(&page, "#search=orders").unwrap();
    assert!(console.is_empty(), "{console:?}");
    let results = &dom[dom.find("id=\"results\"").unwrap()..dom.find("<main").unwrap()];
    assert!(
        results.contains("data-id=\"model.shop.orders\""),
        "search finds the model"
    );
    assert!(
        !results.contains("data-id=\"model.shop.stg_customers\""),
        "and not unrelated ones"
    );

    let (dom, console) = chromium(&page, "#!/model/model.shop.orders").unwrap();
    assert!(console.is_empty(), "{console:?}");
    let drawn = graph_nodes(&dom);
    for id in [
        "model.shop.stg_orders",
        "model.shop.int_order_payments",
        "seed.shop.raw_orders",
        "model.shop.customers",
        "model.shop.daily_revenue",
        "exposure.shop.weekly_revenue",
    ] {
        assert!(
            drawn.contains(&id.to_string()),
            "{id} missing from the lineage of orders: {drawn:?}"
        );
    }
    assert!(
        !drawn.contains(&"model.shop.stg_customers".to_string()),
        "neither a parent nor a child of orders"
    );
    assert!(dom.contains("id=\"columns\""), "the columns table is shown");
    assert!(
        dom.contains("One row per order"),
        "the description from the docs block is shown"
    );

    let (dom, _) = chromium(&page, "#select=stg_payments+1").unwrap();
    assert_eq!(
        graph_nodes(&dom),
        vec!["model.shop.int_order_payments", "model.shop.stg_payments"]
    );
}

fn get(port: u16, path: &str) -> String {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connects");
    write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn serve_answers_with_the_site_and_nothing_outside_target() {
    let p = generated();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = common::kiln_std(&p.dir)
        .args(["docs", "serve", "--port", &port.to_string(), "--no-browser"])
        .spawn()
        .expect("serve starts");
    let mut page = String::new();
    for _ in 0..50 {
        std::thread::sleep(std::time::Duration::from_millis(100));
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            page = get(port, "/");
            break;
        }
    }
    let catalog = get(port, "/catalog.json");
    let outside = get(port, "/../dbt_project.yml");
    child.kill().ok();
    child.wait().ok();
    assert!(
        page.starts_with("HTTP/1.1 200") || page.starts_with("HTTP/1.0 200"),
        "{page:.200}"
    );
    assert!(page.contains("kiln docs"), "the site is served");
    assert!(catalog.contains("application/json") && catalog.contains("\"nodes\""));
    assert!(outside.contains(" 404"), "{outside:.200}");
}
