//! Retired handle numbers: a set of `u32`s at one bit each, and nothing at all for a run of
//! 4096 that is wholly in or out.
//!
//! Written out because nothing in `std` compresses runs: a `BTreeSet<u32>` costs tens of
//! bytes per handle, and a TinyGo program that sleeps every millisecond for an hour retires
//! 3.6 million pollables, which this set holds in about 16 KiB (almost all full chunks).

use std::mem::size_of;

/// Handles per chunk of a [`HandleSet`].
pub(super) const CHUNK_BITS: u32 = 4096;
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
pub(super) struct HandleSet {
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
    /// How many handles are in the set.
    pub(super) fn len(&self) -> u64 {
        self.len
    }

    pub(super) fn contains(&self, handle: u32) -> bool {
        let (chunk, word, mask) = locate(handle);
        match self.chunks.get(chunk) {
            None | Some(Chunk::Empty) => false,
            Some(Chunk::Full) => true,
            Some(Chunk::Part { words, .. }) => words[word] & mask != 0,
        }
    }

    /// Adds `handle`; false when it was already in.
    pub(super) fn insert(&mut self, handle: u32) -> bool {
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
    pub(super) fn remove(&mut self, handle: u32) -> bool {
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

    /// Heap bytes: the chunk list and one bitmap per partly filled chunk.
    pub(super) fn footprint_bytes(&self) -> usize {
        self.chunks.capacity() * size_of::<Chunk>() + self.parts * size_of::<[u64; CHUNK_WORDS]>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compacts_full_chunks_and_trims_empty_ones() {
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
        assert_eq!((set.len(), set.parts), (2 * 4096 + 1, 1));
    }
}
