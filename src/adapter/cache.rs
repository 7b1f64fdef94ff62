//! Relation metadata for one run: each schema is listed once, on first use,
//! and the cache is updated as nodes create, rename and drop relations, so
//! `adapter.get_relation` and `is_incremental()` cost no query.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::adapter::{Connection, DbResult, RelationInfo, RelationKind};

type SchemaKey = (String, String);

#[derive(Default)]
pub struct RelationCache {
    /// (database, schema) lowercased → identifier lowercased → relation.
    schemas: Mutex<HashMap<SchemaKey, HashMap<String, RelationInfo>>>,
}

fn key(database: &str, schema: &str) -> SchemaKey {
    (database.to_lowercase(), schema.to_lowercase())
}

impl RelationCache {
    pub fn new() -> RelationCache {
        RelationCache::default()
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
        let k = key(database, schema);
        if let Some(rels) = self.lock().get(&k) {
            return Ok(rels.get(&identifier.to_lowercase()).cloned());
        }
        let listed = conn.list_relations(database, schema)?;
        let mut map = HashMap::new();
        for r in listed {
            map.insert(r.identifier.to_lowercase(), r);
        }
        let found = map.get(&identifier.to_lowercase()).cloned();
        self.lock().entry(k).or_insert(map);
        Ok(found)
    }

    /// Records a relation that now exists.
    pub fn add(&self, database: &str, schema: &str, identifier: &str, kind: RelationKind) {
        let mut all = self.lock();
        // Only track schemas already listed: others are listed on first use.
        if let Some(rels) = all.get_mut(&key(database, schema)) {
            rels.insert(
                identifier.to_lowercase(),
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
        if let Some(rels) = self.lock().get_mut(&key(database, schema)) {
            rels.remove(&identifier.to_lowercase());
        }
    }

    pub fn rename(&self, from: &RelationInfo, to_identifier: &str) {
        let mut all = self.lock();
        if let Some(rels) = all.get_mut(&key(&from.database, &from.schema)) {
            let mut info = rels
                .remove(&from.identifier.to_lowercase())
                .unwrap_or_else(|| from.clone());
            info.identifier = to_identifier.to_string();
            rels.insert(to_identifier.to_lowercase(), info);
        }
    }

    /// Forgets a schema (it was dropped, or changed outside kiln's view).
    pub fn forget_schema(&self, database: &str, schema: &str) {
        self.lock().remove(&key(database, schema));
    }
}
