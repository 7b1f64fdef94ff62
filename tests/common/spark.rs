//! The Spark Connect server the tests build on: its address comes from
//! KILN_TEST_SPARK (`sc://host:port`; .ci/run starts one). Without it a test
//! skips with a one-line notice, unless CI=true, where a missing server is a
//! failure. Rows are read back through kiln's own Spark Connect client.

use kiln::adapter::{Adapter, Connection};

use super::Project;

pub struct Spark {
    pub url: String,
    /// This test's schema (and the prefix of any custom schemas it makes).
    pub schema: String,
    adapter: kiln::adapter::spark::SparkAdapter,
}

/// The server, with a fresh schema named after the test; `None` (after a
/// notice) when no server is configured outside CI.
pub fn server(test: &str) -> Option<Spark> {
    let url = super::server_url("KILN_TEST_SPARK", test, "Spark Connect server")?;
    Some(Spark::at(&url, test))
}

impl Spark {
    /// The server at `url`, with a fresh schema named after the test.
    pub fn at(url: &str, test: &str) -> Spark {
        let adapter = kiln::adapter::spark::SparkAdapter::from_url(url)
            .unwrap_or_else(|e| panic!("cannot reach Spark at {url}: {e:?}"));
        let mut spark = Spark {
            url: url.to_string(),
            schema: format!("kt_{test}"),
            adapter,
        };
        spark.drop_schemas();
        spark
    }

    /// Drops this test's schemas (left by an earlier run).
    pub fn drop_schemas(&mut self) {
        for s in self.column(&format!("show schemas like '{}*'", self.schema)) {
            self.execute(&format!("drop schema if exists `{s}` cascade"));
        }
    }

    /// profiles.yml for profile `proj` on this server and schema.
    pub fn profiles(&self, threads: usize) -> String {
        format!(
            "proj:\n  target: dev\n  outputs:\n    dev:\n      type: spark\n      method: connect\n      host: \"{}\"\n      schema: {}\n      threads: {threads}\n",
            self.url, self.schema
        )
    }

    /// A project on this server: dbt_project.yml (profile `proj`), profiles.yml, the files.
    pub fn project(&self, files: &[(&str, &str)]) -> Project {
        super::project_on(&self.profiles(2), files)
    }

    /// A new session for each read: a session keeps the files of tables it
    /// has read, and kiln replaces tables between reads.
    fn conn(&self) -> Box<dyn Connection> {
        self.adapter
            .connect()
            .unwrap_or_else(|e| panic!("cannot open a Spark session at {}: {e}", self.url))
    }

    pub fn execute(&mut self, sql: &str) {
        self.conn()
            .execute(sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// Rows of a query as text (NULL as "NULL").
    pub fn rows(&mut self, sql: &str) -> Vec<Vec<String>> {
        let table = self
            .conn()
            .query(sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        table
            .rows
            .iter()
            .map(|r| {
                r.iter()
                    .map(|c| match c {
                        kiln::adapter::Cell::Null => "NULL".to_string(),
                        other => other.to_string(),
                    })
                    .collect()
            })
            .collect()
    }

    pub fn column(&mut self, sql: &str) -> Vec<String> {
        self.rows(sql)
            .into_iter()
            .map(|mut r| r.remove(0))
            .collect()
    }

    /// The relations of a schema as (name, "table" or "view"), sorted.
    pub fn relations(&mut self, schema: &str) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self
            .conn()
            .list_relations("", schema)
            .unwrap_or_else(|e| panic!("listing {schema}: {e}"))
            .into_iter()
            .map(|r| (r.identifier, r.kind.as_str().to_string()))
            .collect();
        out.sort();
        out
    }
}
