//! A history that keeps only the newest items, so memory stays flat however fast events come.

use std::collections::VecDeque;

/// The newest `capacity` items pushed, oldest first.
#[derive(Debug, Clone)]
pub struct Bounded<T> {
    items: VecDeque<T>,
    capacity: usize,
    /// Items pushed out to make room since the start.
    evicted: u64,
}

impl<T> Bounded<T> {
    /// An empty history of at most `capacity` items (at least one).
    pub fn new(capacity: usize) -> Bounded<T> {
        let capacity = capacity.max(1);
        Bounded {
            items: VecDeque::with_capacity(capacity.min(1024)),
            capacity,
            evicted: 0,
        }
    }

    /// Adds `item` as the newest, dropping the oldest when full.
    pub fn push(&mut self, item: T) {
        if self.items.len() == self.capacity {
            self.items.pop_front();
            self.evicted += 1;
        }
        self.items.push_back(item);
    }

    /// Removes and returns the oldest item.
    pub fn pop_oldest(&mut self) -> Option<T> {
        self.items.pop_front()
    }

    /// Adds every item, in order.
    pub fn extend(&mut self, items: impl IntoIterator<Item = T>) {
        for item in items {
            self.push(item);
        }
    }

    /// Items, oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &T> + ExactSizeIterator {
        self.items.iter()
    }

    /// The newest `n` items, newest first.
    pub fn newest(&self, n: usize) -> impl Iterator<Item = &T> {
        self.items.iter().rev().take(n)
    }

    /// The newest item.
    pub fn last(&self) -> Option<&T> {
        self.items.back()
    }

    /// Items held now.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Nothing held.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Items pushed out to make room since the start.
    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    /// Forgets everything (a restarted guest starts a new history).
    pub fn clear(&mut self) {
        self.items.clear();
        self.evicted = 0;
    }

    /// The items as a contiguous vector, oldest first (for the trace export).
    pub fn to_vec(&self) -> Vec<T>
    where
        T: Clone,
    {
        self.items.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_the_newest_items_in_order() {
        let mut history = Bounded::new(3);
        history.extend(1..=5);
        assert_eq!(history.to_vec(), vec![3, 4, 5]);
        assert_eq!(history.evicted(), 2);
        assert_eq!(history.newest(2).copied().collect::<Vec<_>>(), vec![5, 4]);
        assert_eq!(history.last(), Some(&5));
        history.clear();
        assert!(history.is_empty());
    }

    #[test]
    fn a_zero_capacity_still_holds_the_newest() {
        let mut history = Bounded::new(0);
        history.push('a');
        history.push('b');
        assert_eq!(history.to_vec(), vec!['b']);
    }
}
