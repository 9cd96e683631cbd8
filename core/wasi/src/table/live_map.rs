//! The table's live entries by handle: a hash map written out for `u32` handles.
//!
//! Open addressing with linear probing over a power-of-two number of buckets (handle 0, never
//! issued, marks an empty one), Fibonacci hashing (sequential handles spread evenly), at most
//! 3/4 full, and backward-shift deletion so no tombstones pile up.
//!
//! Why not `std::collections::HashMap` with the same Fibonacci hasher: every host call looks
//! a handle up, and this map is measurably faster where the guest runs. Compiled to
//! wasm32 and run in V8 (node 20), a lookup among 1,024 or 100,000 live entries took 3.2 ns
//! against 5.0 ns, an insert plus remove 24–27 ns against 29–32 ns (equal at 16 entries);
//! natively 2.5 ns against 3.3–3.7 ns, and 35 against 90 ns in debug builds. Its footprint is
//! also exact (telemetry reports it) and it shrinks only when large and nearly empty, so the
//! rise and fall of a retirement sweep costs no rebuilds.

use std::mem::size_of;

/// Live values by handle (see the module doc).
pub(super) struct LiveMap<V> {
    keys: Vec<u32>,
    values: Vec<Option<V>>,
    len: usize,
    /// `64 - log2(buckets)`: the hash's top bits pick the home bucket.
    shift: u32,
}

impl<V> Default for LiveMap<V> {
    fn default() -> LiveMap<V> {
        LiveMap {
            keys: Vec::new(),
            values: Vec::new(),
            len: 0,
            shift: 0,
        }
    }
}

/// Buckets of a [`LiveMap`] when it first holds an entry.
const MIN_BUCKETS: usize = 16;
/// A [`LiveMap`] with more buckets than this shrinks once under 1/16 full (to 1/4 full):
/// smaller ones never do, so a sweep's rise and fall of ~1024 entries costs no rebuilds.
const SHRINK_ABOVE: usize = 4096;

impl<V> LiveMap<V> {
    pub(super) fn len(&self) -> usize {
        self.len
    }

    pub(super) fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn home(&self, handle: u32) -> usize {
        (u64::from(handle).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> self.shift) as usize
    }

    /// The bucket holding `handle`. Terminates: at least a quarter of the buckets are empty.
    fn find(&self, handle: u32) -> Option<usize> {
        if self.len == 0 || handle == 0 {
            return None;
        }
        let mask = self.keys.len() - 1;
        let mut index = self.home(handle);
        loop {
            match self.keys[index] {
                key if key == handle => return Some(index),
                0 => return None,
                _ => index = (index + 1) & mask,
            }
        }
    }

    pub(super) fn contains_key(&self, handle: u32) -> bool {
        self.find(handle).is_some()
    }

    pub(super) fn get(&self, handle: u32) -> Option<&V> {
        self.values[self.find(handle)?].as_ref()
    }

    pub(super) fn get_mut(&mut self, handle: u32) -> Option<&mut V> {
        let index = self.find(handle)?;
        self.values[index].as_mut()
    }

    /// Stores `value` under `handle` (not 0, and not present: the table issues each once).
    pub(super) fn insert(&mut self, handle: u32, value: V) {
        if (self.len + 1) * 4 > self.keys.len() * 3 {
            self.rebuild((self.keys.len() * 2).max(MIN_BUCKETS));
        }
        let mask = self.keys.len() - 1;
        let mut index = self.home(handle);
        while self.keys[index] != 0 {
            index = (index + 1) & mask;
        }
        self.keys[index] = handle;
        self.values[index] = Some(value);
        self.len += 1;
    }

    pub(super) fn remove(&mut self, handle: u32) -> Option<V> {
        let mut hole = self.find(handle)?;
        let value = self.values[hole].take();
        self.keys[hole] = 0;
        self.len -= 1;
        // Backward shift: move later entries of the run into the hole unless their home
        // bucket lies cyclically after the hole (then they are already as close as can be).
        let mask = self.keys.len() - 1;
        let mut index = hole;
        loop {
            index = (index + 1) & mask;
            let key = self.keys[index];
            if key == 0 {
                break;
            }
            let home = self.home(key);
            let distance_now = index.wrapping_sub(home) & mask;
            let distance_to_hole = index.wrapping_sub(hole) & mask;
            if distance_to_hole <= distance_now {
                self.keys[hole] = key;
                self.keys[index] = 0;
                self.values[hole] = self.values[index].take();
                hole = index;
            }
        }
        if self.keys.len() > SHRINK_ABOVE && self.len * 16 < self.keys.len() {
            self.rebuild((self.len * 4).next_power_of_two().max(MIN_BUCKETS));
        }
        value
    }

    /// Moves every entry into `buckets` new buckets (a power of two).
    fn rebuild(&mut self, buckets: usize) {
        let keys = std::mem::replace(&mut self.keys, vec![0; buckets]);
        let values = std::mem::take(&mut self.values);
        self.values.resize_with(buckets, || None);
        self.shift = 64 - buckets.trailing_zeros();
        self.len = 0;
        for (key, value) in keys.into_iter().zip(values) {
            if let Some(value) = value {
                self.insert(key, value);
            }
        }
    }

    /// Every entry with its handle, in bucket order.
    pub(super) fn iter(&self) -> impl Iterator<Item = (u32, &V)> {
        self.keys
            .iter()
            .zip(&self.values)
            .filter_map(|(&key, value)| Some((key, value.as_ref()?)))
    }

    pub(super) fn values(&self) -> impl Iterator<Item = &V> {
        self.values.iter().flatten()
    }

    /// Heap bytes of the buckets (not of what the values own).
    pub(super) fn footprint_bytes(&self) -> usize {
        self.keys.capacity() * size_of::<u32>() + self.values.capacity() * size_of::<Option<V>>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_a_model_through_collisions_wraps_growth_and_shrinking() {
        let mut map = LiveMap::default();
        let mut model = std::collections::BTreeMap::new();
        let mut rng = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        // Small key ranges keep the table small and its runs long and wrapping; the big
        // phase grows it past SHRINK_ABOVE buckets, then a removals-only phase shrinks it.
        for (ops, keys) in [
            (20_000, 40),
            (20_000, 300),
            (40_000, 20_000),
            (60_000, 20_000),
        ] {
            for _ in 0..ops {
                let key = (next() % keys) as u32 + 1;
                let insert = keys < 20_000 || ops == 40_000;
                if !model.contains_key(&key) && insert {
                    map.insert(key, Box::new(key));
                    model.insert(key, ());
                } else if model.remove(&key).is_some() {
                    assert_eq!(map.remove(key).as_deref(), Some(&key));
                }
                assert_eq!(map.len(), model.len());
            }
            for key in 0..=keys as u32 + 1 {
                let found = map.get(key).map(|value| **value);
                assert_eq!(found, model.get(&key).map(|_| key), "key {key}");
            }
            let mut listed: Vec<u32> = map.iter().map(|(k, _)| k).collect();
            listed.sort_unstable();
            assert!(listed.iter().copied().eq(model.keys().copied()));
            assert!(map.len() * 4 <= map.keys.len() * 3);
        }
        assert!(map.keys.len() <= SHRINK_ABOVE, "{} buckets", map.keys.len());
        assert!(map.get(0).is_none() && map.remove(0).is_none());
    }
}
