//! The PostgreSQL server the tests build on: its URL comes from
//! KILN_TEST_POSTGRES (.ci/run starts one). Without it a test skips with a
//! one-line notice, unless CI=true, where a missing server is a failure.

use std::str::FromStr;

use super::Project;

pub struct Pg {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub dbname: String,
    /// This test's schema (and the prefix of any custom schemas it makes).
    pub schema: String,
    client: postgres::Client,
}

/// The server, with a fresh schema named after the test; `None` (after a
/// notice) when no server is configured outside CI.
pub fn server(test: &str) -> Option<Pg> {
    let url = super::server_url("KILN_TEST_POSTGRES", test, "PostgreSQL server")?;
    let config = postgres::Config::from_str(&url).expect("KILN_TEST_POSTGRES is a postgres:// URL");
    let host = match config.get_hosts().first() {
        Some(postgres::config::Host::Tcp(h)) => h.clone(),
        _ => "127.0.0.1".to_string(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let user = config.get_user().unwrap_or("postgres").to_string();
    let dbname = config.get_dbname().unwrap_or("postgres").to_string();
    let client = config
        .connect(postgres::NoTls)
        .unwrap_or_else(|e| panic!("cannot reach PostgreSQL at {url}: {e}"));
    let mut pg = Pg {
        host,
        port,
        user,
        dbname,
        schema: format!("kt_{test}"),
        client,
    };
    pg.drop_schemas();
    Some(pg)
}

impl Pg {
    /// Drops this test's schemas (left by an earlier run).
    pub fn drop_schemas(&mut self) {
        let schemas = self.column(&format!(
            "select nspname::text from pg_namespace where nspname = '{0}' or nspname like '{0}\\_%'",
            self.schema
        ));
        for s in schemas {
            self.execute(&format!("drop schema if exists \"{s}\" cascade"));
        }
    }

    /// profiles.yml for profile `proj` on this server and schema.
    pub fn profiles(&self, threads: usize) -> String {
        format!(
            "proj:\n  target: dev\n  outputs:\n    dev:\n      type: postgres\n      host: {}\n      port: {}\n      user: {}\n      password: \"{{{{ env_var('KILN_TEST_PG_PASSWORD', '') }}}}\"\n      dbname: {}\n      schema: {}\n      threads: {threads}\n",
            self.host, self.port, self.user, self.dbname, self.schema
        )
    }

    /// A project on this server: dbt_project.yml (profile `proj`), profiles.yml, the files.
    pub fn project(&self, files: &[(&str, &str)]) -> Project {
        super::project_on(&self.profiles(4), files)
    }

    pub fn execute(&mut self, sql: &str) {
        self.client
            .batch_execute(sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// Rows of a query as PostgreSQL's text (NULL as "NULL").
    pub fn rows(&mut self, sql: &str) -> Vec<Vec<String>> {
        let messages = self
            .client
            .simple_query(sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        messages
            .into_iter()
            .filter_map(|m| match m {
                postgres::SimpleQueryMessage::Row(r) => Some(
                    (0..r.len())
                        .map(|i| r.get(i).unwrap_or("NULL").to_string())
                        .collect(),
                ),
                _ => None,
            })
            .collect()
    }

    pub fn column(&mut self, sql: &str) -> Vec<String> {
        self.rows(sql)
            .into_iter()
            .map(|mut r| r.remove(0))
            .collect()
    }

    /// The relations of this test's schema, with PostgreSQL's relkind (r, v, m).
    pub fn relations(&mut self) -> Vec<(String, String)> {
        let sql = format!(
            "select c.relname::text, c.relkind::text from pg_class c join pg_namespace n on n.oid = c.relnamespace \
             where n.nspname = '{}' and c.relkind in ('r', 'v', 'm') order by 1",
            self.schema
        );
        self.rows(&sql)
            .into_iter()
            .map(|mut r| (r.remove(0), r.remove(0)))
            .collect()
    }
}
