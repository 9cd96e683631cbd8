//! The guest's handle table: canonical ABI handles for every resource the host hands out.
//!
//! One table serves every resource type (as the component model's per-instance table does);
//! handle 0 is never issued, so a zero handle is always invalid. An entry may have a parent (a
//! pollable made by `subscribe` on a stream): a parent cannot be dropped while children live.
//!
//! # Live and retired handles
//!
//! A *live* entry is a boxed value in a map keyed by handle. Some guests never drop handles
//! they are done with: TinyGo leaks one timer pollable per idle sleep, millions per hour. Once
//! such a value can no longer change (an expired timer is ready forever), the owner of the type
//! may [`retire`](ResourceTable::retire) it: the value is freed and only the handle number is
//! kept, as one bit in a compact set per (type, tag) class. A retired handle stays valid for
//! the guest: [`get_or_retired`](ResourceTable::get_or_retired) reports it as
//! [`Lookup::Retired`] (the owner answers for it, e.g. "ready"), and
//! [`delete_or_retired`](ResourceTable::delete_or_retired) frees its number for reuse. Only
//! entries without parent and without children can be retired, so the parent/child rule is
//! unaffected.
//!
//! # Costs and limits
//!
//! - A live entry: its boxed value, plus a 52-byte bucket in a map kept 3/8 to 3/4 full.
//! - A retired handle: one bit in a 4096-bit chunk, and nothing at all once its whole chunk is
//!   retired (a full chunk is a 16-byte marker): a TinyGo program that sleeps every
//!   millisecond for an hour holds 3.6 million retired handles in about 16 KiB.
//! - A dropped handle number waits on a free list (4 bytes) until it is reissued, most
//!   recently freed first.
//! - [`MAX_HANDLES`] bounds *live* entries; retired handles do not count.
//! - Handle numbers are `u32`: numbers are issued from 1 upwards and reused once dropped, so
//!   the table runs out only when the guest holds all 4 294 967 295 numbers at once (live or
//!   retired), e.g. after about 50 days of one never-dropped pollable per millisecond. The next
//!   push then traps with "handle space exhausted" instead of wrapping or reissuing a number the
//!   guest still holds.

use std::any::{Any, TypeId};
use std::mem::size_of;

use crate::Trap;

/// Upper bound on live (not retired) entries; past it the guest traps instead of exhausting
/// memory.
pub const MAX_HANDLES: usize = 1 << 20;

/// Live entries at which [`ResourceTable::sweep_due`] first says a sweep is worth it.
const SWEEP_MIN: usize = 1024;

struct Entry {
    value: Box<dyn Any>,
    type_name: &'static str,
    parent: Option<u32>,
    children: u32,
}

/// What a handle refers to, for resource types that may be retired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup<V> {
    /// A live entry.
    Live(V),
    /// A retired entry of the asked-for type, with the tag it was retired under.
    Retired(&'static str),
}

/// Retired handles of one type under one tag (see [`ResourceTable::retired_counts`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetiredCount {
    /// The tag given to [`ResourceTable::retire`], e.g. the import that made the resource.
    pub tag: &'static str,
    /// Retired handles the guest still holds (retired and not dropped since).
    pub held: u64,
    /// Handles retired under this tag since the table was made, dropped ones included.
    pub total: u64,
}

struct RetiredClass {
    type_id: TypeId,
    type_name: &'static str,
    tag: &'static str,
    set: HandleSet,
    total: u64,
}

/// Typed resources by handle: live entries in a map, retired ones as bits, and a free list of
/// dropped handle numbers (see the module doc).
pub struct ResourceTable {
    live: LiveMap,
    /// A handful of classes (one per type and tag), each with its set of retired handles.
    retired: Vec<RetiredClass>,
    /// Dropped handle numbers, reissued last-in first-out.
    free: Vec<u32>,
    /// The next never-issued handle number; past `u32::MAX` only `free` can supply one.
    next: u64,
    /// Live entries at which a sweep is due again.
    sweep_at: usize,
}

impl Default for ResourceTable {
    fn default() -> ResourceTable {
        ResourceTable::new()
    }
}

impl ResourceTable {
    /// An empty table; handle 0 is never issued.
    pub fn new() -> ResourceTable {
        ResourceTable {
            live: LiveMap::default(),
            retired: Vec::new(),
            free: Vec::new(),
            next: 1,
            sweep_at: SWEEP_MIN,
        }
    }

    /// Number of live (not retired) entries; [`MAX_HANDLES`] bounds it.
    pub fn len(&self) -> usize {
        self.live.len()
    }

    /// Number of retired handles the guest still holds.
    pub fn retired_len(&self) -> u64 {
        self.retired.iter().map(|class| class.set.len).sum()
    }

    /// Whether the guest holds no handle at all, live or retired.
    pub fn is_empty(&self) -> bool {
        self.live.is_empty() && self.retired_len() == 0
    }

    /// Stores `value` and returns its new handle (an `own` the guest now holds).
    pub fn push<T: Any>(&mut self, value: T) -> Result<u32, Trap> {
        self.insert(value, None)
    }

    /// Stores `value` as a child of `parent`, which cannot be dropped while the child lives.
    pub fn push_child<T: Any>(&mut self, value: T, parent: u32) -> Result<u32, Trap> {
        self.entry(parent)?;
        self.insert(value, Some(parent))
    }

    fn insert<T: Any>(&mut self, value: T, parent: Option<u32>) -> Result<u32, Trap> {
        if self.live.len() >= MAX_HANDLES {
            return Err(Trap::abi(format!(
                "handle table full ({MAX_HANDLES} live handles)"
            )));
        }
        let handle = match self.free.pop() {
            Some(handle) => handle,
            None => {
                let handle = u32::try_from(self.next).map_err(|_| self.exhausted())?;
                self.next += 1;
                handle
            }
        };
        if let Some(parent) = parent.and_then(|parent| self.live.get_mut(parent)) {
            parent.children += 1;
        }
        let entry = Entry {
            value: Box::new(value),
            type_name: std::any::type_name::<T>(),
            parent,
            children: 0,
        };
        self.live.insert(handle, entry);
        Ok(handle)
    }

    #[cold]
    fn exhausted(&self) -> Trap {
        Trap::abi(format!(
            "handle space exhausted: the guest holds all {} handle numbers ({} live, {} \
             retired and never dropped); drop some to get new ones",
            u32::MAX,
            self.live.len(),
            self.retired_len()
        ))
    }

    fn entry(&self, handle: u32) -> Result<&Entry, Trap> {
        self.live
            .get(handle)
            .ok_or_else(|| match self.retired_class(handle) {
                Some(class) => Trap::abi(format!(
                    "handle {handle} is a retired {}",
                    short(class.type_name)
                )),
                None => unknown(handle),
            })
    }

    fn retired_class(&self, handle: u32) -> Option<&RetiredClass> {
        self.retired.iter().find(|class| class.set.contains(handle))
    }

    /// The trap for a `T` lookup of a handle that is not live.
    #[cold]
    fn not_live<T: Any>(&self, handle: u32) -> Trap {
        match self.retired_class(handle) {
            Some(class) if class.type_id == TypeId::of::<T>() => Trap::abi(format!(
                "handle {handle} is a retired {}; this call needs a live one",
                short(class.type_name)
            )),
            Some(class) => wrong_type::<T>(handle, class.type_name),
            None => unknown(handle),
        }
    }

    /// Borrows the live resource behind `handle`, checking its type. A retired handle traps:
    /// types that may be retired are read with [`get_or_retired`](Self::get_or_retired).
    pub fn get<T: Any>(&self, handle: u32) -> Result<&T, Trap> {
        match self.get_or_retired(handle)? {
            Lookup::Live(value) => Ok(value),
            Lookup::Retired(_) => Err(self.not_live::<T>(handle)),
        }
    }

    /// Mutably borrows the live resource behind `handle`, checking its type. A retired handle
    /// traps (see [`get`](Self::get)).
    pub fn get_mut<T: Any>(&mut self, handle: u32) -> Result<&mut T, Trap> {
        if !self.live.contains_key(handle) {
            return Err(self.not_live::<T>(handle));
        }
        let entry = self.live.get_mut(handle).ok_or_else(|| unknown(handle))?;
        let type_name = entry.type_name;
        entry
            .value
            .downcast_mut()
            .ok_or_else(|| wrong_type::<T>(handle, type_name))
    }

    /// Borrows the resource behind `handle`, live or retired, checking its type.
    pub fn get_or_retired<T: Any>(&self, handle: u32) -> Result<Lookup<&T>, Trap> {
        match self.live.get(handle) {
            Some(entry) => entry
                .value
                .downcast_ref()
                .map(Lookup::Live)
                .ok_or_else(|| wrong_type::<T>(handle, entry.type_name)),
            None => retired_lookup::<T, _>(&self.retired, handle),
        }
    }

    /// Mutably borrows the resource behind `handle`, live or retired, checking its type.
    pub fn get_mut_or_retired<T: Any>(&mut self, handle: u32) -> Result<Lookup<&mut T>, Trap> {
        let ResourceTable { live, retired, .. } = self;
        match live.get_mut(handle) {
            Some(entry) => {
                let type_name = entry.type_name;
                entry
                    .value
                    .downcast_mut()
                    .map(Lookup::Live)
                    .ok_or_else(|| wrong_type::<T>(handle, type_name))
            }
            None => retired_lookup::<T, _>(retired, handle),
        }
    }

    /// Every live entry of type `T` with its handle, in handle order (retired ones are not
    /// listed; see [`retired_counts`](Self::retired_counts)). Scans the live entries: for
    /// telemetry snapshots, never for a guest call.
    pub fn iter<T: Any>(&self) -> impl Iterator<Item = (u32, &T)> {
        let mut entries: Vec<(u32, &T)> = self
            .live
            .iter()
            .filter_map(|(handle, entry)| Some((handle, entry.value.downcast_ref::<T>()?)))
            .collect();
        entries.sort_unstable_by_key(|&(handle, _)| handle);
        entries.into_iter()
    }

    /// The parent handle of a child entry (`None` for a retired one, which has none).
    pub fn parent(&self, handle: u32) -> Result<Option<u32>, Trap> {
        match self.live.get(handle) {
            Some(entry) => Ok(entry.parent),
            None if self.retired_class(handle).is_some() => Ok(None),
            None => Err(unknown(handle)),
        }
    }

    /// Removes the live `handle` (the guest dropped its `own`), checking its type. Traps while
    /// the resource still has children. A retired handle traps: types that may be retired are
    /// dropped with [`delete_or_retired`](Self::delete_or_retired).
    pub fn delete<T: Any>(&mut self, handle: u32) -> Result<T, Trap> {
        let Some(entry) = self.live.get(handle) else {
            return Err(self.not_live::<T>(handle));
        };
        if !entry.value.is::<T>() {
            return Err(wrong_type::<T>(handle, entry.type_name));
        }
        if entry.children > 0 {
            return Err(Trap::abi(format!(
                "cannot drop {} handle {handle} while {} resource(s) made from it are alive",
                short(entry.type_name),
                entry.children
            )));
        }
        let Some(entry) = self.live.remove(handle) else {
            return Err(unknown(handle));
        };
        if let Some(parent) = entry.parent.and_then(|parent| self.live.get_mut(parent)) {
            parent.children -= 1;
        }
        self.free.push(handle);
        let value = entry
            .value
            .downcast()
            .map_err(|_| wrong_type::<T>(handle, entry.type_name))?;
        Ok(*value)
    }

    /// Removes `handle`, live or retired, checking its type; its number may be reissued.
    pub fn delete_or_retired<T: Any>(&mut self, handle: u32) -> Result<Lookup<T>, Trap> {
        if self.live.contains_key(handle) {
            return self.delete(handle).map(Lookup::Live);
        }
        let Some(class) = self
            .retired
            .iter_mut()
            .find(|class| class.set.contains(handle))
        else {
            return Err(unknown(handle));
        };
        if class.type_id != TypeId::of::<T>() {
            return Err(wrong_type::<T>(handle, class.type_name));
        }
        class.set.remove(handle);
        self.free.push(handle);
        Ok(Lookup::Retired(class.tag))
    }

    /// Retires the live `T` behind `handle` under `tag`: its value is freed and the handle
    /// stays valid as [`Lookup::Retired`]. Call it only for a value that can no longer change
    /// (an expired timer). Returns false, changing nothing, when `handle` is not a live `T` or
    /// has a parent or children.
    pub fn retire<T: Any>(&mut self, handle: u32, tag: &'static str) -> bool {
        let retirable = self.live.get(handle).is_some_and(|entry| {
            entry.value.is::<T>() && entry.parent.is_none() && entry.children == 0
        });
        if !retirable {
            return false;
        }
        let Some(entry) = self.live.remove(handle) else {
            return false;
        };
        let class = class_mut::<T>(&mut self.retired, entry.type_name, tag);
        class.set.insert(handle);
        class.total += 1;
        true
    }

    /// Retires every live `T` without parent or children for which `tag_if_final` returns a
    /// tag (see [`retire`](Self::retire)); returns how many. Scans the live entries, so call it
    /// when [`sweep_due`](Self::sweep_due) says so: that keeps the cost O(1) per push,
    /// amortised.
    pub fn retire_where<T: Any>(
        &mut self,
        mut tag_if_final: impl FnMut(&T) -> Option<&'static str>,
    ) -> usize {
        let mut doomed = Vec::new();
        for (handle, entry) in self.live.iter() {
            if entry.parent.is_some() || entry.children > 0 {
                continue;
            }
            if let Some(tag) = entry.value.downcast_ref::<T>().and_then(&mut tag_if_final) {
                doomed.push((handle, tag));
            }
        }
        for &(handle, tag) in &doomed {
            if let Some(entry) = self.live.remove(handle) {
                let class = class_mut::<T>(&mut self.retired, entry.type_name, tag);
                class.set.insert(handle);
                class.total += 1;
            }
        }
        // Sweep again once the live entries have doubled: each sweep is paid for by the
        // pushes since the last one.
        self.sweep_at = (self.live.len() * 2).clamp(SWEEP_MIN, MAX_HANDLES);
        doomed.len()
    }

    /// Whether enough live entries accumulated since the last
    /// [`retire_where`](Self::retire_where) (at least 1024, and twice as many as that sweep
    /// left) to sweep again. Always true at [`MAX_HANDLES`] live entries.
    pub fn sweep_due(&self) -> bool {
        self.live.len() >= self.sweep_at
    }

    /// Retired handles of type `T` by tag: how many the guest holds, how many were retired.
    pub fn retired_counts<T: Any>(&self) -> Vec<RetiredCount> {
        self.retired
            .iter()
            .filter(|class| class.type_id == TypeId::of::<T>())
            .map(|class| RetiredCount {
                tag: class.tag,
                held: class.set.len,
                total: class.total,
            })
            .collect()
    }

    /// An estimate of the heap bytes the table holds, from the capacities of its real
    /// allocations: the live map's buckets, each live value's box (its shallow size: buffers
    /// a value owns are not counted), the free list and the retired sets. Allocator overhead
    /// is not counted.
    pub fn footprint_bytes(&self) -> usize {
        let map = self.live.footprint_bytes();
        let boxes: usize = self
            .live
            .values()
            .map(|entry| std::mem::size_of_val(&*entry.value))
            .sum();
        let retired: usize = self
            .retired
            .iter()
            .map(|class| class.set.footprint_bytes())
            .sum();
        map + boxes
            + retired
            + self.retired.capacity() * size_of::<RetiredClass>()
            + self.free.capacity() * size_of::<u32>()
    }

    /// A table whose next fresh handle number is `next` (to test the end of the handle space).
    #[cfg(test)]
    fn with_next_handle(next: u64) -> ResourceTable {
        ResourceTable {
            next,
            ..ResourceTable::new()
        }
    }
}

/// A handle that is not live: a retired `T`, or a trap naming what it is.
fn retired_lookup<T: Any, V>(classes: &[RetiredClass], handle: u32) -> Result<Lookup<V>, Trap> {
    match classes.iter().find(|class| class.set.contains(handle)) {
        Some(class) if class.type_id == TypeId::of::<T>() => Ok(Lookup::Retired(class.tag)),
        Some(class) => Err(wrong_type::<T>(handle, class.type_name)),
        None => Err(unknown(handle)),
    }
}

fn class_mut<'a, T: Any>(
    classes: &'a mut Vec<RetiredClass>,
    type_name: &'static str,
    tag: &'static str,
) -> &'a mut RetiredClass {
    let type_id = TypeId::of::<T>();
    let index = match classes
        .iter()
        .position(|class| class.type_id == type_id && class.tag == tag)
    {
        Some(index) => index,
        None => {
            classes.push(RetiredClass {
                type_id,
                type_name,
                tag,
                set: HandleSet::default(),
                total: 0,
            });
            classes.len() - 1
        }
    };
    &mut classes[index]
}

/// `Pollable` for `pollscope_wasi::io::poll::Pollable`: computed only for messages, never on
/// the hot path.
fn short(type_name: &str) -> &str {
    type_name.rsplit("::").next().unwrap_or(type_name)
}

#[cold]
fn unknown(handle: u32) -> Trap {
    Trap::abi(format!("unknown handle {handle}"))
}

#[cold]
fn wrong_type<T>(handle: u32, actual: &str) -> Trap {
    Trap::abi(format!(
        "handle {handle} is a {}, not a {}",
        short(actual),
        short(std::any::type_name::<T>())
    ))
}

/// Live entries by handle: open addressing with linear probing over a power-of-two number of
/// buckets (handle 0, never issued, marks an empty one), Fibonacci hashing (sequential handles
/// spread evenly), at most 3/4 full, and backward-shift deletion so no tombstones pile up.
/// Written out rather than a `HashMap` so lookups stay cheap in debug builds too and the
/// footprint is exact.
#[derive(Default)]
struct LiveMap {
    keys: Vec<u32>,
    values: Vec<Option<Entry>>,
    len: usize,
    /// `64 - log2(buckets)`: the hash's top bits pick the home bucket.
    shift: u32,
}

/// Buckets of a [`LiveMap`] when it first holds an entry.
const MIN_BUCKETS: usize = 16;
/// A [`LiveMap`] with more buckets than this shrinks once under 1/16 full (to 1/4 full):
/// smaller ones never do, so a sweep's rise and fall of ~1024 entries costs no rebuilds.
const SHRINK_ABOVE: usize = 4096;

impl LiveMap {
    fn len(&self) -> usize {
        self.len
    }

    fn is_empty(&self) -> bool {
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

    fn contains_key(&self, handle: u32) -> bool {
        self.find(handle).is_some()
    }

    fn get(&self, handle: u32) -> Option<&Entry> {
        self.values[self.find(handle)?].as_ref()
    }

    fn get_mut(&mut self, handle: u32) -> Option<&mut Entry> {
        let index = self.find(handle)?;
        self.values[index].as_mut()
    }

    /// Stores `entry` under `handle` (not 0, and not present: the table issues each once).
    fn insert(&mut self, handle: u32, entry: Entry) {
        if (self.len + 1) * 4 > self.keys.len() * 3 {
            self.rebuild((self.keys.len() * 2).max(MIN_BUCKETS));
        }
        let mask = self.keys.len() - 1;
        let mut index = self.home(handle);
        while self.keys[index] != 0 {
            index = (index + 1) & mask;
        }
        self.keys[index] = handle;
        self.values[index] = Some(entry);
        self.len += 1;
    }

    fn remove(&mut self, handle: u32) -> Option<Entry> {
        let mut hole = self.find(handle)?;
        let entry = self.values[hole].take();
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
        entry
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
    fn iter(&self) -> impl Iterator<Item = (u32, &Entry)> {
        self.keys
            .iter()
            .zip(&self.values)
            .filter_map(|(&key, value)| Some((key, value.as_ref()?)))
    }

    fn values(&self) -> impl Iterator<Item = &Entry> {
        self.values.iter().flatten()
    }

    fn footprint_bytes(&self) -> usize {
        self.keys.capacity() * size_of::<u32>()
            + self.values.capacity() * size_of::<Option<Entry>>()
    }
}

/// Handles per chunk of a [`HandleSet`].
const CHUNK_BITS: u32 = 4096;
const CHUNK_WORDS: usize = CHUNK_BITS as usize / 64;

/// 4096 consecutive handle numbers of a [`HandleSet`].
enum Chunk {
    /// None in the set.
    Empty,
    /// All in the set.
    Full,
    /// Some: `ones` (1..4096) bits set in `words`.
    Part {
        ones: u16,
        words: Box<[u64; CHUNK_WORDS]>,
    },
}

/// A set of handle numbers: one bit each, and a whole chunk in or out costs no bitmap.
#[derive(Default)]
struct HandleSet {
    chunks: Vec<Chunk>,
    len: u64,
    /// Chunks that are [`Chunk::Part`] (each owns a bitmap).
    parts: usize,
}

fn locate(handle: u32) -> (usize, usize, u64) {
    let bit = handle % CHUNK_BITS;
    (
        (handle / CHUNK_BITS) as usize,
        (bit / 64) as usize,
        1 << (bit % 64),
    )
}

impl HandleSet {
    fn contains(&self, handle: u32) -> bool {
        let (chunk, word, mask) = locate(handle);
        match self.chunks.get(chunk) {
            None | Some(Chunk::Empty) => false,
            Some(Chunk::Full) => true,
            Some(Chunk::Part { words, .. }) => words[word] & mask != 0,
        }
    }

    /// Adds `handle`; false when it was already in.
    fn insert(&mut self, handle: u32) -> bool {
        let (index, word, mask) = locate(handle);
        if index >= self.chunks.len() {
            self.chunks.resize_with(index + 1, || Chunk::Empty);
        }
        let chunk = &mut self.chunks[index];
        match chunk {
            Chunk::Full => return false,
            Chunk::Empty => {
                let mut words = Box::new([0; CHUNK_WORDS]);
                words[word] = mask;
                *chunk = Chunk::Part { ones: 1, words };
                self.parts += 1;
            }
            Chunk::Part { ones, words } => {
                if words[word] & mask != 0 {
                    return false;
                }
                words[word] |= mask;
                *ones += 1;
                if u32::from(*ones) == CHUNK_BITS {
                    *chunk = Chunk::Full;
                    self.parts -= 1;
                }
            }
        }
        self.len += 1;
        true
    }

    /// Removes `handle`; false when it was not in.
    fn remove(&mut self, handle: u32) -> bool {
        let (index, word, mask) = locate(handle);
        let Some(chunk) = self.chunks.get_mut(index) else {
            return false;
        };
        match chunk {
            Chunk::Empty => return false,
            Chunk::Full => {
                let mut words = Box::new([u64::MAX; CHUNK_WORDS]);
                words[word] &= !mask;
                *chunk = Chunk::Part {
                    ones: (CHUNK_BITS - 1) as u16,
                    words,
                };
                self.parts += 1;
            }
            Chunk::Part { ones, words } => {
                if words[word] & mask == 0 {
                    return false;
                }
                words[word] &= !mask;
                *ones -= 1;
                if *ones == 0 {
                    *chunk = Chunk::Empty;
                    self.parts -= 1;
                }
            }
        }
        self.len -= 1;
        while matches!(self.chunks.last(), Some(Chunk::Empty)) {
            self.chunks.pop();
        }
        if self.chunks.capacity() > 64 && self.chunks.capacity() > 4 * self.chunks.len() {
            self.chunks.shrink_to(2 * self.chunks.len());
        }
        true
    }

    fn footprint_bytes(&self) -> usize {
        self.chunks.capacity() * size_of::<Chunk>() + self.parts * size_of::<[u64; CHUNK_WORDS]>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    struct Stream;
    #[derive(Debug, PartialEq)]
    struct Pollable(u32);

    #[test]
    fn handle_zero_is_never_issued() {
        let mut table = ResourceTable::new();
        assert_eq!(table.push(Stream).unwrap(), 1);
        assert!(table.get::<Stream>(0).is_err());
        assert_eq!(ResourceTable::default().push(Stream).unwrap(), 1);
    }

    #[test]
    fn wrong_type_and_unknown_handles_trap_with_names() {
        let mut table = ResourceTable::new();
        let h = table.push(Stream).unwrap();
        let err = table.get::<Pollable>(h).unwrap_err();
        assert_eq!(err.to_string(), "handle 1 is a Stream, not a Pollable");
        assert_eq!(
            table.get::<Stream>(7).err().unwrap().to_string(),
            "unknown handle 7"
        );
    }

    #[test]
    fn parent_cannot_be_dropped_before_children_and_slots_are_reused() {
        let mut table = ResourceTable::new();
        let stream = table.push(Stream).unwrap();
        let pollable = table.push_child(Pollable(0), stream).unwrap();
        assert!(table.delete::<Stream>(stream).is_err());
        table.delete::<Pollable>(pollable).unwrap();
        table.delete::<Stream>(stream).unwrap();
        assert!(table.is_empty());
        assert_eq!(
            table.push(Stream).unwrap(),
            stream,
            "most recently freed slot first"
        );
    }

    #[test]
    fn a_retired_handle_stays_valid_until_dropped_then_its_number_is_reused() {
        let mut table = ResourceTable::new();
        let stream = table.push(Stream).unwrap();
        let p = table.push(Pollable(7)).unwrap();
        assert!(table.retire::<Pollable>(p, "timer"));
        assert!(!table.retire::<Pollable>(p, "timer"), "already retired");
        assert_eq!((table.len(), table.retired_len()), (1, 1));
        assert!(!table.is_empty());

        assert_eq!(
            table.get_or_retired::<Pollable>(p).unwrap(),
            Lookup::Retired("timer")
        );
        assert!(matches!(
            table.get_mut_or_retired::<Pollable>(p).unwrap(),
            Lookup::Retired("timer")
        ));
        assert_eq!(table.parent(p).unwrap(), None);
        // Other types see what the handle is; live-only reads say it is retired.
        assert_eq!(
            table.get::<Stream>(p).unwrap_err().to_string(),
            "handle 2 is a Pollable, not a Stream"
        );
        assert!(table
            .get::<Pollable>(p)
            .unwrap_err()
            .to_string()
            .starts_with("handle 2 is a retired Pollable"));
        assert!(table.delete::<Pollable>(p).is_err());
        assert_eq!(
            table
                .delete_or_retired::<Stream>(p)
                .unwrap_err()
                .to_string(),
            "handle 2 is a Pollable, not a Stream"
        );
        // The live stream is untouched by all of this.
        assert_eq!(
            table.get_or_retired::<Stream>(stream).unwrap(),
            Lookup::Live(&Stream)
        );

        // Not reissued while held: a fresh number comes next.
        assert_eq!(table.push(Stream).unwrap(), 3);
        assert_eq!(
            table.delete_or_retired::<Pollable>(p).unwrap(),
            Lookup::Retired("timer")
        );
        assert_eq!(table.retired_len(), 0);
        // Dropped twice: the number is unknown now.
        assert_eq!(
            table
                .delete_or_retired::<Pollable>(p)
                .unwrap_err()
                .to_string(),
            "unknown handle 2"
        );
        assert!(table.get_or_retired::<Pollable>(p).is_err());
        // Now the number is free and is reissued, to a live entry of any type.
        assert_eq!(table.push(Stream).unwrap(), p);
        assert!(table.get::<Stream>(p).is_ok());
        let counts = table.retired_counts::<Pollable>();
        assert_eq!(
            counts,
            vec![RetiredCount {
                tag: "timer",
                held: 0,
                total: 1
            }]
        );
        assert!(table.retired_counts::<Stream>().is_empty());
    }

    #[test]
    fn live_delete_returns_the_value_and_retired_delete_the_tag() {
        let mut table = ResourceTable::new();
        let a = table.push(Pollable(1)).unwrap();
        let b = table.push(Pollable(2)).unwrap();
        table.retire::<Pollable>(b, "t");
        assert_eq!(
            table.delete_or_retired::<Pollable>(a).unwrap(),
            Lookup::Live(Pollable(1))
        );
        assert_eq!(
            table.delete_or_retired::<Pollable>(b).unwrap(),
            Lookup::Retired("t")
        );
        assert!(table.is_empty());
        assert_eq!(table.push(Stream).unwrap(), b, "last freed, first reissued");
        assert_eq!(table.push(Stream).unwrap(), a);
    }

    #[test]
    fn entries_with_a_parent_or_children_are_never_retired() {
        let mut table = ResourceTable::new();
        let parent = table.push(Pollable(0)).unwrap();
        let child = table.push_child(Pollable(1), parent).unwrap();
        assert!(!table.retire::<Pollable>(parent, "t"), "has a child");
        assert!(!table.retire::<Pollable>(child, "t"), "has a parent");
        assert!(!table.retire::<Stream>(parent, "t"), "wrong type");
        assert!(!table.retire::<Pollable>(99, "t"), "unknown");
        assert_eq!(table.retire_where::<Pollable>(|_| Some("t")), 0);
        assert_eq!(table.len(), 2);
        // The rule still holds, and once the child is gone the parent can retire.
        assert!(table.delete::<Pollable>(parent).is_err());
        table.delete::<Pollable>(child).unwrap();
        assert!(table.retire::<Pollable>(parent, "t"));
        // A retired entry cannot become a parent.
        assert_eq!(
            table.push_child(Stream, parent).unwrap_err().to_string(),
            "handle 1 is a retired Pollable"
        );
    }

    #[test]
    fn sweeps_retire_by_predicate_and_come_due_as_live_entries_double() {
        let mut table = ResourceTable::new();
        table.push(Stream).unwrap();
        for i in 0..SWEEP_MIN as u32 - 1 {
            assert!(!table.sweep_due());
            table.push(Pollable(i)).unwrap();
        }
        assert!(table.sweep_due());
        let retired = table.retire_where::<Pollable>(|p| match p.0 % 3 {
            0 => Some("zero"),
            1 => Some("one"),
            _ => None,
        });
        assert_eq!(retired, 682);
        assert_eq!(table.len(), 1 + 341);
        assert!(!table.sweep_due(), "the next sweep waits for more pushes");
        let mut counts: Vec<_> = table
            .retired_counts::<Pollable>()
            .iter()
            .map(|c| (c.tag, c.held))
            .collect();
        counts.sort_unstable();
        assert_eq!(counts, [("one", 341), ("zero", 341)]);
        // Handle 2 held Pollable(0), 3 held Pollable(1), 4 Pollable(2).
        assert_eq!(
            table.get_or_retired::<Pollable>(2).unwrap(),
            Lookup::Retired("zero")
        );
        assert_eq!(
            table.get_or_retired::<Pollable>(3).unwrap(),
            Lookup::Retired("one")
        );
        assert_eq!(
            table.get_or_retired::<Pollable>(4).unwrap(),
            Lookup::Live(&Pollable(2))
        );
        let listed: Vec<u32> = table.iter::<Pollable>().map(|(h, _)| h).collect();
        assert_eq!(listed.len(), 341);
        assert!(listed.windows(2).all(|w| w[0] < w[1]), "handle order");
    }

    #[test]
    fn max_handles_counts_live_entries_only() {
        let mut table = ResourceTable::new();
        for _ in 0..MAX_HANDLES {
            let h = table.push(Pollable(0)).unwrap();
            table.retire::<Pollable>(h, "t");
        }
        for _ in 0..MAX_HANDLES {
            table.push(Stream).unwrap();
        }
        assert_eq!(
            table.push(Stream).unwrap_err().to_string(),
            format!("handle table full ({MAX_HANDLES} live handles)")
        );
        assert!(table.sweep_due(), "a full table is always worth a sweep");
        assert_eq!(table.retired_len(), MAX_HANDLES as u64);
    }

    #[test]
    fn the_end_of_the_handle_space_traps_and_dropped_numbers_still_work() {
        let mut table = ResourceTable::with_next_handle(u64::from(u32::MAX) - 1);
        let a = table.push(Stream).unwrap();
        let b = table.push(Stream).unwrap();
        assert_eq!((a, b), (u32::MAX - 1, u32::MAX));
        let err = table.push(Stream).unwrap_err().to_string();
        assert!(err.starts_with("handle space exhausted"), "{err}");
        assert!(err.contains("4294967295"), "{err}");
        table.delete::<Stream>(a).unwrap();
        assert_eq!(table.push(Stream).unwrap(), a);
        assert!(table.push(Stream).is_err());
    }

    #[test]
    fn live_map_matches_a_model_through_collisions_wraps_growth_and_shrinking() {
        fn entry(n: u32) -> Entry {
            Entry {
                value: Box::new(n),
                type_name: "u32",
                parent: None,
                children: 0,
            }
        }
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
                    map.insert(key, entry(key));
                    model.insert(key, ());
                } else if model.remove(&key).is_some() {
                    let removed = map.remove(key).unwrap();
                    assert_eq!(removed.value.downcast_ref::<u32>(), Some(&key));
                }
                assert_eq!(map.len(), model.len());
            }
            for key in 0..=keys as u32 + 1 {
                let found = map.get(key).and_then(|e| e.value.downcast_ref::<u32>());
                assert_eq!(found.copied(), model.get(&key).map(|_| key), "key {key}");
            }
            let mut listed: Vec<u32> = map.iter().map(|(k, _)| k).collect();
            listed.sort_unstable();
            assert!(listed.iter().copied().eq(model.keys().copied()));
            assert!(map.len() * 4 <= map.keys.len() * 3);
        }
        assert!(map.keys.len() <= SHRINK_ABOVE, "{} buckets", map.keys.len());
        assert!(map.get(0).is_none() && map.remove(0).is_none());
    }

    #[test]
    fn handle_set_compacts_full_chunks_and_trims_empty_ones() {
        let mut set = HandleSet::default();
        for h in 0..3 * CHUNK_BITS {
            assert!(set.insert(h));
        }
        assert!(!set.insert(5));
        assert_eq!((set.len, set.parts, set.chunks.len()), (3 * 4096, 0, 3));
        assert!(set.footprint_bytes() <= 4 * size_of::<Chunk>());
        assert!(set.remove(4097));
        assert!(!set.remove(4097));
        assert!(!set.contains(4097) && set.contains(4096) && set.contains(4098));
        assert_eq!(set.parts, 1);
        assert!(set.insert(4097));
        assert_eq!(set.parts, 0);
        for h in 2 * CHUNK_BITS..3 * CHUNK_BITS {
            assert!(set.remove(h));
        }
        assert_eq!(set.chunks.len(), 2, "trailing empty chunk trimmed");
        assert!(!set.contains(u32::MAX) && !set.remove(u32::MAX));
        assert!(set.insert(CHUNK_BITS * 10 + 1));
        assert!(set.contains(CHUNK_BITS * 10 + 1) && !set.contains(CHUNK_BITS * 10));
        assert_eq!((set.len, set.parts), (2 * 4096 + 1, 1));
    }
}
