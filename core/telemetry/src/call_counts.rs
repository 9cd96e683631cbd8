//! Host calls per import, counted where the call is dispatched.

use std::cell::Cell;
use std::rc::Rc;

/// Calls per host function plus their total, shared between the [`Recorder`](crate::Recorder)
/// and the dispatcher: a call nobody watches only bumps these (two `Cell` updates, no borrow
/// of the recorder), the recorder reads them for snapshots and batches. Single-threaded, like
/// the wasm thread that owns it.
#[derive(Debug, Clone)]
pub struct CallCounts(Rc<Counts>);

#[derive(Debug)]
struct Counts {
    per_import: Box<[Cell<u64>]>,
    total: Cell<u64>,
}

impl CallCounts {
    /// Zero counts for `imports` host functions.
    pub fn new(imports: usize) -> CallCounts {
        CallCounts(Rc::new(Counts {
            per_import: (0..imports).map(|_| Cell::new(0)).collect(),
            total: Cell::new(0),
        }))
    }

    /// One call of host function `import` (one out of the table counts in the total only).
    #[inline]
    pub fn count(&self, import: u32) {
        if let Some(count) = self.0.per_import.get(import as usize) {
            count.set(count.get() + 1);
        }
        self.0.total.set(self.0.total.get() + 1);
    }

    /// Calls per host function, in table order.
    pub fn per_import(&self) -> Vec<u64> {
        self.0.per_import.iter().map(Cell::get).collect()
    }

    /// All calls.
    pub fn total(&self) -> u64 {
        self.0.total.get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_count_into_the_same_table() {
        let counts = CallCounts::new(2);
        let dispatcher = counts.clone();
        dispatcher.count(1);
        counts.count(1);
        dispatcher.count(5);
        assert_eq!((counts.per_import(), counts.total()), (vec![0, 2], 3));
    }
}
