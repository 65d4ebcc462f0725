//! The schema caches of a JsonConverter: Kafka keeps two LRU caches of `schemas.cache.size`
//! entries, Connect schema → schema JSON for writing and schema JSON → Connect schema for
//! reading, so a schema shared by many records is translated once.
//!
//! The write cache is keyed by the schema's `Arc` address and keeps the `Arc`, so an address
//! cannot be reused by another schema while its entry lives. The read cache is keyed by the
//! schema's JSON text as it appears in the record.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::sync::Arc;

use sluice_api::data::SchemaRef;

use super::write::StructMembers;

/// A small least-recently-used map. Eviction scans for the oldest entry, which only happens
/// on a miss when the cache is full.
pub(crate) struct Lru<K, V> {
    map: HashMap<K, (V, u64), BuildHasherDefault<FxHasher>>,
    tick: u64,
    capacity: usize,
}

impl<K: Hash + Eq, V> Lru<K, V> {
    pub(crate) fn new(capacity: usize) -> Self {
        Lru {
            map: HashMap::default(),
            tick: 0,
            capacity,
        }
    }

    pub(crate) fn get<Q>(&mut self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.tick += 1;
        let tick = self.tick;
        self.map.get_mut(key).map(|(v, used)| {
            *used = tick;
            &*v
        })
    }

    pub(crate) fn insert(&mut self, key: K, value: V) {
        if self.capacity == 0 {
            return;
        }
        if self.map.len() >= self.capacity {
            let oldest = self
                .map
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(k, _)| k as *const K);
            if let Some(oldest) = oldest {
                self.map.retain(|k, _| !std::ptr::eq(k, oldest));
            }
        }
        self.tick += 1;
        self.map.insert(key, (value, self.tick));
    }

    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }
}

/// Connect schema → its JSON form.
pub(crate) struct ToJsonCache {
    lru: Lru<usize, (SchemaRef, Box<[u8]>)>,
}

impl ToJsonCache {
    pub(crate) fn new(capacity: usize) -> Self {
        ToJsonCache {
            lru: Lru::new(capacity),
        }
    }

    pub(crate) fn get(&mut self, schema: &SchemaRef) -> Option<&[u8]> {
        let key = SchemaRef::as_ptr(schema) as usize;
        self.lru
            .get(&key)
            .filter(|(held, _)| SchemaRef::ptr_eq(held, schema))
            .map(|(_, json)| &json[..])
    }

    pub(crate) fn insert(&mut self, schema: &SchemaRef, json: Box<[u8]>) {
        self.lru
            .insert(SchemaRef::as_ptr(schema) as usize, (schema.clone(), json));
    }

    pub(crate) fn len(&self) -> usize {
        self.lru.len()
    }
}

/// Record schema → the members of its structs prepared for writing, keyed and kept like
/// [`ToJsonCache`]'s entries.
pub(crate) struct StructMembersCache {
    lru: Lru<usize, (SchemaRef, Arc<StructMembers>)>,
}

impl StructMembersCache {
    pub(crate) fn new(capacity: usize) -> Self {
        StructMembersCache {
            lru: Lru::new(capacity),
        }
    }

    pub(crate) fn get(&mut self, schema: &SchemaRef) -> Option<Arc<StructMembers>> {
        let key = SchemaRef::as_ptr(schema) as usize;
        self.lru
            .get(&key)
            .filter(|(held, _)| SchemaRef::ptr_eq(held, schema))
            .map(|(_, names)| Arc::clone(names))
    }

    pub(crate) fn insert(&mut self, schema: &SchemaRef, names: Arc<StructMembers>) {
        self.lru
            .insert(SchemaRef::as_ptr(schema) as usize, (schema.clone(), names));
    }
}

/// Schema JSON text → Connect schema, with the last hit checked first.
pub(crate) struct ToConnectCache {
    last: Option<(Arc<[u8]>, SchemaRef)>,
    lru: Lru<Arc<[u8]>, SchemaRef>,
    capacity: usize,
}

impl ToConnectCache {
    pub(crate) fn new(capacity: usize) -> Self {
        ToConnectCache {
            last: None,
            lru: Lru::new(capacity),
            capacity,
        }
    }

    /// The text and schema of the last hit, to recognise a repeated schema cheaply.
    pub(crate) fn last(&self) -> Option<(Arc<[u8]>, SchemaRef)> {
        self.last.clone()
    }

    pub(crate) fn get(&mut self, json: &[u8]) -> Option<SchemaRef> {
        if let Some((text, schema)) = &self.last {
            if **text == *json {
                return Some(schema.clone());
            }
        }
        let schema = self.lru.get(json)?.clone();
        let key = self
            .lru
            .map
            .get_key_value(json)
            .map(|(k, _)| Arc::clone(k))?;
        self.last = Some((key, schema.clone()));
        Some(schema)
    }

    pub(crate) fn insert(&mut self, json: &[u8], schema: &SchemaRef) {
        if self.capacity == 0 {
            return;
        }
        let key: Arc<[u8]> = Arc::from(json);
        self.lru.insert(Arc::clone(&key), schema.clone());
        self.last = Some((key, schema.clone()));
    }

    pub(crate) fn len(&self) -> usize {
        self.lru.len()
    }
}

/// A fast non-cryptographic hasher (the Fx hash of rustc) for cache keys; the keys are not
/// attacker-chosen in a way that matters here: a collision only costs a comparison.
#[derive(Default)]
pub(crate) struct FxHasher {
    hash: u64,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    fn finish(&self) -> u64 {
        self.hash
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lru_evicts_least_recently_used() {
        let mut lru: Lru<u32, &str> = Lru::new(2);
        lru.insert(1, "a");
        lru.insert(2, "b");
        assert_eq!(lru.get(&1), Some(&"a"));
        lru.insert(3, "c");
        assert_eq!(lru.get(&2), None);
        assert_eq!(lru.get(&1), Some(&"a"));
        assert_eq!(lru.get(&3), Some(&"c"));
        assert_eq!(lru.len(), 2);
    }

    #[test]
    fn zero_capacity_caches_nothing() {
        let mut lru: Lru<u32, u32> = Lru::new(0);
        lru.insert(1, 1);
        assert_eq!(lru.get(&1), None);
    }
}
