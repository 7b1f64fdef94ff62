//! Relation metadata for one run: each schema is listed once, on first use,
//! and the cache is updated as nodes create, rename and drop relations, so
//! `adapter.get_relation` and `is_incremental()` cost no query.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::adapter::{Connection, DbResult, RelationInfo, RelationKind};

type SchemaKey = (String, String);

#[derive(Default)]
pub struct RelationCache {
    /// (database, schema) → identifier → relation, names as the database
    /// compares them.
    schemas: Mutex<HashMap<SchemaKey, HashMap<String, RelationInfo>>>,
    /// Names differ only by case (PostgreSQL's quoted names); DuckDB's do not.
    case_sensitive: bool,
}

impl RelationCache {
    /// A cache for DuckDB-like databases, whose names ignore case.
    pub fn new() -> RelationCache {
        RelationCache::default()
    }

    /// A cache comparing names as `adapter` does.
    pub fn for_adapter(adapter: &dyn crate::adapter::Adapter) -> RelationCache {
        RelationCache {
            case_sensitive: !adapter.case_insensitive(),
            ..RelationCache::default()
        }
    }

    fn name(&self, s: &str) -> String {
        if self.case_sensitive {
            s.to_string()
        } else {
            s.to_lowercase()
        }
    }

    fn key(&self, database: &str, schema: &str) -> SchemaKey {
        (self.name(database), self.name(schema))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SchemaKey, HashMap<String, RelationInfo>>> {
        self.schemas.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The relation, listing its schema through `conn` if not yet known.
    pub fn get(
        &self,
        conn: &mut dyn Connection,
        database: &str,
        schema: &str,
        identifier: &str,
    ) -> DbResult<Option<RelationInfo>> {
        let k = self.key(database, schema);
        if let Some(rels) = self.lock().get(&k) {
            return Ok(rels.get(&self.name(identifier)).cloned());
        }
        let listed = conn.list_relations(database, schema)?;
        let mut map = HashMap::new();
        for r in listed {
            map.insert(self.name(&r.identifier), r);
        }
        let found = map.get(&self.name(identifier)).cloned();
        self.lock().entry(k).or_insert(map);
        Ok(found)
    }

    /// Records a relation that now exists.
    pub fn add(&self, database: &str, schema: &str, identifier: &str, kind: RelationKind) {
        let mut all = self.lock();
        // Only track schemas already listed: others are listed on first use.
        if let Some(rels) = all.get_mut(&self.key(database, schema)) {
            rels.insert(
                self.name(identifier),
                RelationInfo {
                    database: database.to_string(),
                    schema: schema.to_string(),
                    identifier: identifier.to_string(),
                    kind,
                },
            );
        }
    }

    pub fn remove(&self, database: &str, schema: &str, identifier: &str) {
        let (k, name) = (self.key(database, schema), self.name(identifier));
        if let Some(rels) = self.lock().get_mut(&k) {
            rels.remove(&name);
        }
    }

    pub fn rename(&self, from: &RelationInfo, to_identifier: &str) {
        let (k, from_name, to_name) = (
            self.key(&from.database, &from.schema),
            self.name(&from.identifier),
            self.name(to_identifier),
        );
        let mut all = self.lock();
        if let Some(rels) = all.get_mut(&k) {
            let mut info = rels.remove(&from_name).unwrap_or_else(|| from.clone());
            info.identifier = to_identifier.to_string();
            rels.insert(to_name, info);
        }
    }

    /// Forgets a schema (it was dropped, or changed outside kiln's view).
    pub fn forget_schema(&self, database: &str, schema: &str) {
        let k = self.key(database, schema);
        self.lock().remove(&k);
    }
}
