//! The guest's handle table: canonical ABI handles for every resource the host hands out.
//!
//! One table serves every resource type (as the component model's per-instance table does);
//! index 0 is never used, so a zero handle is always invalid. An entry may have a parent (a
//! pollable made by `subscribe` on a stream): a parent cannot be dropped while children live.

use std::any::Any;

use crate::Trap;

/// Upper bound on live handles; past it the guest traps instead of exhausting memory.
pub const MAX_HANDLES: usize = 1 << 20;

struct Entry {
    value: Box<dyn Any>,
    type_name: &'static str,
    parent: Option<u32>,
    children: u32,
}

/// A slab of typed resources with a free list.
#[derive(Default)]
pub struct ResourceTable {
    slots: Vec<Option<Entry>>,
    free: Vec<u32>,
    live: usize,
}

impl ResourceTable {
    /// An empty table; handle 0 is reserved.
    pub fn new() -> ResourceTable {
        ResourceTable {
            slots: vec![None],
            free: Vec::new(),
            live: 0,
        }
    }

    /// Number of live handles.
    pub fn len(&self) -> usize {
        self.live
    }

    /// Whether no handle is live.
    pub fn is_empty(&self) -> bool {
        self.live == 0
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
        if self.live >= MAX_HANDLES {
            return Err(Trap::abi(format!(
                "handle table full ({MAX_HANDLES} live handles)"
            )));
        }
        let entry = Entry {
            value: Box::new(value),
            type_name: short_type_name::<T>(),
            parent,
            children: 0,
        };
        if let Some(parent) = parent {
            self.slots[parent as usize]
                .as_mut()
                .expect("checked above")
                .children += 1;
        }
        self.live += 1;
        Ok(match self.free.pop() {
            Some(handle) => {
                self.slots[handle as usize] = Some(entry);
                handle
            }
            None => {
                self.slots.push(Some(entry));
                (self.slots.len() - 1) as u32
            }
        })
    }

    fn entry(&self, handle: u32) -> Result<&Entry, Trap> {
        self.slots
            .get(handle as usize)
            .and_then(Option::as_ref)
            .ok_or_else(|| Trap::abi(format!("unknown handle {handle}")))
    }

    /// Borrows the resource behind `handle`, checking its type.
    pub fn get<T: Any>(&self, handle: u32) -> Result<&T, Trap> {
        let entry = self.entry(handle)?;
        let type_name = entry.type_name;
        entry
            .value
            .downcast_ref()
            .ok_or_else(|| wrong_type::<T>(handle, type_name))
    }

    /// Mutably borrows the resource behind `handle`, checking its type.
    pub fn get_mut<T: Any>(&mut self, handle: u32) -> Result<&mut T, Trap> {
        let entry = self
            .slots
            .get_mut(handle as usize)
            .and_then(Option::as_mut)
            .ok_or_else(|| Trap::abi(format!("unknown handle {handle}")))?;
        let type_name = entry.type_name;
        entry
            .value
            .downcast_mut()
            .ok_or_else(|| wrong_type::<T>(handle, type_name))
    }

    /// Every live entry of type `T` with its handle, in handle order. Scans the whole table:
    /// for telemetry snapshots, never for a guest call.
    pub fn iter<T: Any>(&self) -> impl Iterator<Item = (u32, &T)> {
        self.slots.iter().enumerate().filter_map(|(handle, slot)| {
            let value = slot.as_ref()?.value.downcast_ref::<T>()?;
            Some((handle as u32, value))
        })
    }

    /// The parent handle of a child entry.
    pub fn parent(&self, handle: u32) -> Result<Option<u32>, Trap> {
        Ok(self.entry(handle)?.parent)
    }

    /// Removes `handle` (the guest dropped its `own`), checking its type. Traps while the
    /// resource still has children.
    pub fn delete<T: Any>(&mut self, handle: u32) -> Result<T, Trap> {
        let entry = self.entry(handle)?;
        if !entry.value.is::<T>() {
            return Err(wrong_type::<T>(handle, entry.type_name));
        }
        if entry.children > 0 {
            return Err(Trap::abi(format!(
                "cannot drop {} handle {handle} while {} resource(s) made from it are alive",
                entry.type_name, entry.children
            )));
        }
        let entry = self.slots[handle as usize].take().expect("checked above");
        if let Some(parent) = entry.parent {
            if let Some(parent) = self.slots[parent as usize].as_mut() {
                parent.children -= 1;
            }
        }
        self.free.push(handle);
        self.live -= 1;
        Ok(*entry.value.downcast().expect("checked above"))
    }
}

fn short_type_name<T>() -> &'static str {
    let full = std::any::type_name::<T>();
    full.rsplit("::").next().unwrap_or(full)
}

#[cold]
fn wrong_type<T>(handle: u32, actual: &str) -> Trap {
    Trap::abi(format!(
        "handle {handle} is a {actual}, not a {}",
        short_type_name::<T>()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Stream;
    #[derive(Debug)]
    struct Pollable;

    #[test]
    fn handle_zero_is_never_issued() {
        let mut table = ResourceTable::new();
        assert_eq!(table.push(Stream).unwrap(), 1);
        assert!(table.get::<Stream>(0).is_err());
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
        let pollable = table.push_child(Pollable, stream).unwrap();
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
}
