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
//!   push then fails with [`TableError::Exhausted`] instead of wrapping or reissuing a number
//!   the guest still holds.
//!
//! # Parts
//!
//! - this module: the table (types, parents and children, retiring, the free list);
//! - `live_map`: the live entries by handle, a hash map for `u32` keys (why not `std`'s is
//!   measured there);
//! - `handle_set`: the retired handle numbers, a bitset that compresses whole chunks;
//! - `error`: [`TableError`], which becomes the guest's trap.

mod error;
mod handle_set;
mod live_map;

use std::any::{Any, TypeId};
use std::mem::size_of;

pub use error::TableError;
use handle_set::HandleSet;
use live_map::LiveMap;

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
    live: LiveMap<Entry>,
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
        self.retired.iter().map(|class| class.set.len()).sum()
    }

    /// Whether the guest holds no handle at all, live or retired.
    pub fn is_empty(&self) -> bool {
        self.live.is_empty() && self.retired_len() == 0
    }

    /// Stores `value` and returns its new handle (an `own` the guest now holds).
    pub fn push<T: Any>(&mut self, value: T) -> Result<u32, TableError> {
        self.insert(value, None)
    }

    /// Stores `value` as a child of `parent`, which cannot be dropped while the child lives
    /// (and must be live: a retired entry cannot be a parent).
    pub fn push_child<T: Any>(&mut self, value: T, parent: u32) -> Result<u32, TableError> {
        self.entry(parent)?;
        self.insert(value, Some(parent))
    }

    fn insert<T: Any>(&mut self, value: T, parent: Option<u32>) -> Result<u32, TableError> {
        if self.live.len() >= MAX_HANDLES {
            return Err(TableError::Full { limit: MAX_HANDLES });
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
    fn exhausted(&self) -> TableError {
        TableError::Exhausted {
            live: self.live.len(),
            retired: self.retired_len(),
        }
    }

    fn entry(&self, handle: u32) -> Result<&Entry, TableError> {
        self.live
            .get(handle)
            .ok_or_else(|| match self.retired_class(handle) {
                Some(class) => TableError::retired(handle, class.type_name),
                None => TableError::not_present(handle),
            })
    }

    fn retired_class(&self, handle: u32) -> Option<&RetiredClass> {
        self.retired.iter().find(|class| class.set.contains(handle))
    }

    /// The error for a `T` lookup of a handle that is not live.
    #[cold]
    fn not_live<T: Any>(&self, handle: u32) -> TableError {
        match self.retired_class(handle) {
            Some(class) if class.type_id == TypeId::of::<T>() => {
                TableError::retired(handle, class.type_name)
            }
            Some(class) => TableError::wrong_type::<T>(handle, class.type_name),
            None => TableError::not_present(handle),
        }
    }

    /// Borrows the live resource behind `handle`, checking its type. A retired handle is an
    /// error: types that may be retired are read with [`get_or_retired`](Self::get_or_retired).
    pub fn get<T: Any>(&self, handle: u32) -> Result<&T, TableError> {
        match self.get_or_retired(handle)? {
            Lookup::Live(value) => Ok(value),
            Lookup::Retired(_) => Err(self.not_live::<T>(handle)),
        }
    }

    /// Mutably borrows the live resource behind `handle`, checking its type. A retired handle
    /// is an error (see [`get`](Self::get)).
    pub fn get_mut<T: Any>(&mut self, handle: u32) -> Result<&mut T, TableError> {
        if !self.live.contains_key(handle) {
            return Err(self.not_live::<T>(handle));
        }
        let entry = self
            .live
            .get_mut(handle)
            .ok_or_else(|| TableError::not_present(handle))?;
        let type_name = entry.type_name;
        entry
            .value
            .downcast_mut()
            .ok_or_else(|| TableError::wrong_type::<T>(handle, type_name))
    }

    /// Borrows the resource behind `handle`, live or retired, checking its type.
    pub fn get_or_retired<T: Any>(&self, handle: u32) -> Result<Lookup<&T>, TableError> {
        match self.live.get(handle) {
            Some(entry) => entry
                .value
                .downcast_ref()
                .map(Lookup::Live)
                .ok_or_else(|| TableError::wrong_type::<T>(handle, entry.type_name)),
            None => retired_lookup::<T, _>(&self.retired, handle),
        }
    }

    /// Mutably borrows the resource behind `handle`, live or retired, checking its type.
    pub fn get_mut_or_retired<T: Any>(
        &mut self,
        handle: u32,
    ) -> Result<Lookup<&mut T>, TableError> {
        let ResourceTable { live, retired, .. } = self;
        match live.get_mut(handle) {
            Some(entry) => {
                let type_name = entry.type_name;
                entry
                    .value
                    .downcast_mut()
                    .map(Lookup::Live)
                    .ok_or_else(|| TableError::wrong_type::<T>(handle, type_name))
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
    pub fn parent(&self, handle: u32) -> Result<Option<u32>, TableError> {
        match self.live.get(handle) {
            Some(entry) => Ok(entry.parent),
            None if self.retired_class(handle).is_some() => Ok(None),
            None => Err(TableError::not_present(handle)),
        }
    }

    /// Removes the live `handle` (the guest dropped its `own`), checking its type. Fails while
    /// the resource still has children. A retired handle is an error: types that may be
    /// retired are dropped with [`delete_or_retired`](Self::delete_or_retired).
    pub fn delete<T: Any>(&mut self, handle: u32) -> Result<T, TableError> {
        let Some(entry) = self.live.get(handle) else {
            return Err(self.not_live::<T>(handle));
        };
        if !entry.value.is::<T>() {
            return Err(TableError::wrong_type::<T>(handle, entry.type_name));
        }
        if entry.children > 0 {
            return Err(TableError::has_children(
                handle,
                entry.type_name,
                entry.children,
            ));
        }
        let Some(entry) = self.live.remove(handle) else {
            return Err(TableError::not_present(handle));
        };
        if let Some(parent) = entry.parent.and_then(|parent| self.live.get_mut(parent)) {
            parent.children -= 1;
        }
        self.free.push(handle);
        let value = entry
            .value
            .downcast()
            .map_err(|_| TableError::wrong_type::<T>(handle, entry.type_name))?;
        Ok(*value)
    }

    /// Removes `handle`, live or retired, checking its type; its number may be reissued.
    pub fn delete_or_retired<T: Any>(&mut self, handle: u32) -> Result<Lookup<T>, TableError> {
        if self.live.contains_key(handle) {
            return self.delete(handle).map(Lookup::Live);
        }
        let Some(class) = self
            .retired
            .iter_mut()
            .find(|class| class.set.contains(handle))
        else {
            return Err(TableError::not_present(handle));
        };
        if class.type_id != TypeId::of::<T>() {
            return Err(TableError::wrong_type::<T>(handle, class.type_name));
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
                held: class.set.len(),
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

/// A handle that is not live: a retired `T`, or an error saying what it is.
fn retired_lookup<T: Any, V>(
    classes: &[RetiredClass],
    handle: u32,
) -> Result<Lookup<V>, TableError> {
    match classes.iter().find(|class| class.set.contains(handle)) {
        Some(class) if class.type_id == TypeId::of::<T>() => Ok(Lookup::Retired(class.tag)),
        Some(class) => Err(TableError::wrong_type::<T>(handle, class.type_name)),
        None => Err(TableError::not_present(handle)),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    struct Stream;
    #[derive(Debug, PartialEq)]
    struct Pollable(u32);

    fn wrong_type(handle: u32, actual: &'static str, expected: &'static str) -> TableError {
        TableError::WrongType {
            handle,
            actual,
            expected,
        }
    }

    #[test]
    fn handle_zero_is_never_issued() {
        let mut table = ResourceTable::new();
        assert_eq!(table.push(Stream).unwrap(), 1);
        assert_eq!(
            table.get::<Stream>(0).unwrap_err(),
            TableError::NotPresent { handle: 0 }
        );
        assert_eq!(ResourceTable::default().push(Stream).unwrap(), 1);
    }

    #[test]
    fn wrong_type_and_unknown_handles_name_what_they_are() {
        let mut table = ResourceTable::new();
        let h = table.push(Stream).unwrap();
        assert_eq!(
            table.get::<Pollable>(h).unwrap_err(),
            wrong_type(1, "Stream", "Pollable")
        );
        assert_eq!(
            table.get_mut::<Pollable>(h).unwrap_err(),
            wrong_type(1, "Stream", "Pollable")
        );
        assert_eq!(
            table.delete::<Pollable>(h).unwrap_err(),
            wrong_type(1, "Stream", "Pollable")
        );
        assert_eq!(
            table.get::<Stream>(7).unwrap_err(),
            TableError::NotPresent { handle: 7 }
        );
        assert_eq!(
            table.parent(7).unwrap_err(),
            TableError::NotPresent { handle: 7 }
        );
    }

    #[test]
    fn parent_cannot_be_dropped_before_children_and_slots_are_reused() {
        let mut table = ResourceTable::new();
        let stream = table.push(Stream).unwrap();
        let pollable = table.push_child(Pollable(0), stream).unwrap();
        assert_eq!(
            table.delete::<Stream>(stream).unwrap_err(),
            TableError::HasChildren {
                handle: stream,
                type_name: "Stream",
                children: 1
            }
        );
        assert_eq!(
            table.push_child(Pollable(1), 9).unwrap_err(),
            TableError::NotPresent { handle: 9 }
        );
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
            table.get::<Stream>(p).unwrap_err(),
            wrong_type(2, "Pollable", "Stream")
        );
        assert_eq!(
            table.get_or_retired::<Stream>(p).unwrap_err(),
            wrong_type(2, "Pollable", "Stream")
        );
        let retired = TableError::Retired {
            handle: 2,
            type_name: "Pollable",
        };
        assert_eq!(table.get::<Pollable>(p).unwrap_err(), retired);
        assert_eq!(table.get_mut::<Pollable>(p).unwrap_err(), retired);
        assert_eq!(table.delete::<Pollable>(p).unwrap_err(), retired);
        assert_eq!(
            table.delete_or_retired::<Stream>(p).unwrap_err(),
            wrong_type(2, "Pollable", "Stream")
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
            table.delete_or_retired::<Pollable>(p).unwrap_err(),
            TableError::NotPresent { handle: 2 }
        );
        assert_eq!(
            table.get_or_retired::<Pollable>(p).unwrap_err(),
            TableError::NotPresent { handle: 2 }
        );
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
        assert!(matches!(
            table.delete::<Pollable>(parent),
            Err(TableError::HasChildren { children: 1, .. })
        ));
        table.delete::<Pollable>(child).unwrap();
        assert!(table.retire::<Pollable>(parent, "t"));
        // A retired entry cannot become a parent.
        assert_eq!(
            table.push_child(Stream, parent).unwrap_err(),
            TableError::Retired {
                handle: 1,
                type_name: "Pollable"
            }
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
            table.push(Stream).unwrap_err(),
            TableError::Full { limit: MAX_HANDLES }
        );
        assert!(table.sweep_due(), "a full table is always worth a sweep");
        assert_eq!(table.retired_len(), MAX_HANDLES as u64);
    }

    #[test]
    fn the_end_of_the_handle_space_fails_and_dropped_numbers_still_work() {
        let mut table = ResourceTable::with_next_handle(u64::from(u32::MAX) - 1);
        let a = table.push(Stream).unwrap();
        let b = table.push(Stream).unwrap();
        assert_eq!((a, b), (u32::MAX - 1, u32::MAX));
        assert_eq!(
            table.push(Stream).unwrap_err(),
            TableError::Exhausted {
                live: 2,
                retired: 0
            }
        );
        table.delete::<Stream>(a).unwrap();
        assert_eq!(table.push(Stream).unwrap(), a);
        assert!(matches!(
            table.push(Stream),
            Err(TableError::Exhausted { live: 2, .. })
        ));
    }
}
