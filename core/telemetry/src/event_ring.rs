//! A bounded FIFO of telemetry records that drops the oldest when full and counts what it
//! dropped, so memory stays flat however long the guest runs and however slow the panel is.

use std::collections::VecDeque;

/// At most `capacity` records; pushing onto a full ring drops the oldest (the panel wants
/// what is happening now more than what happened long ago) and counts it.
#[derive(Debug, Clone)]
pub struct EventRing<T> {
    items: VecDeque<T>,
    limit: usize,
    dropped: u64,
}

impl<T> EventRing<T> {
    /// An empty ring for `limit` records (at least 1), allocated once, up front.
    pub fn new(limit: usize) -> EventRing<T> {
        let limit = limit.max(1);
        EventRing {
            items: VecDeque::with_capacity(limit),
            limit,
            dropped: 0,
        }
    }

    /// Appends `item`, dropping the oldest record when the ring is full.
    #[inline]
    pub fn push(&mut self, item: T) {
        if self.items.len() >= self.limit {
            self.items.pop_front();
            self.dropped += 1;
        }
        self.items.push_back(item);
    }

    /// Moves every record, oldest first, to the end of `out`. The ring keeps its allocation.
    pub fn drain_into(&mut self, out: &mut Vec<T>) {
        out.extend(self.items.drain(..));
    }

    /// Takes every record, oldest first.
    pub fn take(&mut self) -> Vec<T> {
        let mut out = Vec::with_capacity(self.items.len());
        self.drain_into(&mut out);
        out
    }

    /// Forgets every record (not the drop count).
    pub fn clear(&mut self) {
        self.items.clear();
    }

    /// Records held.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether no record is held.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Most records it holds.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Records allocated room for (never grows past the first allocation).
    pub fn allocated(&self) -> usize {
        self.items.capacity()
    }

    /// Records dropped because the ring was full, since it was made.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_ring_drops_oldest_and_counts() {
        let mut ring = EventRing::new(3);
        for i in 0..5 {
            ring.push(i);
        }
        assert_eq!(ring.dropped(), 2);
        assert_eq!(ring.take(), [2, 3, 4]);
        assert!(ring.is_empty());
        ring.push(9);
        assert_eq!(ring.take(), [9]);
        assert_eq!(ring.dropped(), 2);
    }

    #[test]
    fn a_million_pushes_never_grow_the_allocation() {
        let mut ring = EventRing::new(1000);
        let allocated = ring.allocated();
        let mut out = Vec::new();
        for i in 0..1_000_000u64 {
            ring.push(i);
            if i % 100_000 == 0 {
                out.clear();
                ring.drain_into(&mut out);
            }
        }
        assert_eq!(ring.allocated(), allocated);
        assert_eq!(ring.len(), 1000);
        assert!(ring.dropped() > 900_000);
    }

    #[test]
    fn zero_limit_means_one() {
        let mut ring = EventRing::new(0);
        ring.push(1);
        ring.push(2);
        assert_eq!((ring.limit(), ring.take(), ring.dropped()), (1, vec![2], 1));
    }
}
