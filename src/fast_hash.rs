//! The hasher for kiln's big in-memory maps (nodes by unique id, graph
//! indexes, selections). The std default (SipHash) resists hash flooding,
//! which project files cannot mount, and showed up in profiles of 10,000-model
//! projects; foldhash is several times faster on short keys.

pub type FastHash = foldhash::fast::RandomState;
pub type FastMap<K, V> = std::collections::HashMap<K, V, FastHash>;
pub type FastSet<T> = std::collections::HashSet<T, FastHash>;
pub type FastIndexMap<K, V> = indexmap::IndexMap<K, V, FastHash>;
