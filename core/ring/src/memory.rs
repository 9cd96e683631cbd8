//! The shared memory a ring lives in, and a native implementation of it.
//!
//! The trait is shaped after what JavaScript offers over one `SharedArrayBuffer`: word operations
//! are `Atomics.load/store/add/notify` on an `Int32Array` view (indices count 4-byte words from
//! the buffer's start), and byte copies are `Uint8Array.subarray(..).set(..)` / `.slice(..)` on a
//! `Uint8Array` view of the same buffer (offsets count bytes from the buffer's start).
//!
//! The ring never mixes the two: header words are only touched with word operations and the data
//! area only with byte copies, so an implementation need not agree with itself on endianness.

use std::collections::HashMap;
use std::rc::Rc;
use std::sync::atomic::{
    AtomicU32, AtomicUsize,
    Ordering::{Relaxed, SeqCst},
};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// One shared buffer seen as 32-bit words (for the header) and as bytes (for packets).
///
/// Word operations must be sequentially consistent, as `Atomics.*` are: the producer's
/// "want space" handshake (see the crate docs) is a store followed by a load on another word and
/// relies on it. Byte copies need no ordering of their own; the ring orders them with word
/// operations (data is written before the head store that publishes it, and read after the head
/// load that reveals it).
///
/// Out-of-range indices are a bug in the caller: implementations may panic (JavaScript throws a
/// `RangeError`). The ring checks the buffer's size once, when it attaches, and never goes past
/// it afterwards, whatever the other side writes into the header.
pub trait SharedMemory {
    /// Size of the whole buffer in bytes (`SharedArrayBuffer.byteLength`).
    fn byte_len(&self) -> usize;
    /// `Atomics.load(i32, word)`.
    fn load(&self, word: usize) -> u32;
    /// `Atomics.store(i32, word, value)`.
    fn store(&self, word: usize, value: u32);
    /// `Atomics.add(i32, word, value)`: wrapping add, returns the previous value.
    fn add(&self, word: usize, value: u32) -> u32;
    /// Copies `dst.len()` bytes starting at byte `offset` out of the buffer.
    fn read_bytes(&self, offset: usize, dst: &mut [u8]);
    /// Copies `src` into the buffer starting at byte `offset`.
    fn write_bytes(&self, offset: usize, src: &[u8]);
    /// `Atomics.notify(i32, word)`: wakes every thread waiting on `word`.
    fn notify(&self, word: usize);
}

macro_rules! forward {
    ($($ty:ty),*) => {$(
        impl<T: SharedMemory + ?Sized> SharedMemory for $ty {
            fn byte_len(&self) -> usize {
                (**self).byte_len()
            }
            fn load(&self, word: usize) -> u32 {
                (**self).load(word)
            }
            fn store(&self, word: usize, value: u32) {
                (**self).store(word, value)
            }
            fn add(&self, word: usize, value: u32) -> u32 {
                (**self).add(word, value)
            }
            fn read_bytes(&self, offset: usize, dst: &mut [u8]) {
                (**self).read_bytes(offset, dst)
            }
            fn write_bytes(&self, offset: usize, src: &[u8]) {
                (**self).write_bytes(offset, src)
            }
            fn notify(&self, word: usize) {
                (**self).notify(word)
            }
        }
    )*};
}

forward!(&T, Arc<T>, Rc<T>);

/// What [`AtomicMemory::wait`] returned, named as `Atomics.wait`'s results are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitResult {
    /// Woken by a notify on the word.
    Ok,
    /// The word did not hold the expected value, so the call did not sleep.
    NotEqual,
    /// The timeout passed without a notify.
    TimedOut,
}

/// A native shared buffer of atomic words, for tests and benchmarks (share it with [`Arc`]).
///
/// Word operations are `SeqCst`, like `Atomics.*`; bytes are stored four to a word, little-endian,
/// and copied with relaxed word accesses (a partial word is merged with a read-modify-write, so
/// neighbouring bytes written concurrently are never clobbered). [`AtomicMemory::wait`] stands in
/// for `Atomics.wait`.
#[derive(Debug)]
pub struct AtomicMemory {
    words: Box<[AtomicU32]>,
    /// Threads inside `wait`, so `notify` can skip the lock when nobody sleeps.
    waiters: AtomicUsize,
    /// Notify generation per word; waiters sleep until theirs moves.
    generations: Mutex<HashMap<usize, u64>>,
    wakeup: Condvar,
}

impl AtomicMemory {
    /// A zeroed buffer of at least `byte_len` bytes (rounded up to whole words).
    pub fn new(byte_len: usize) -> AtomicMemory {
        AtomicMemory {
            words: (0..byte_len.div_ceil(4))
                .map(|_| AtomicU32::new(0))
                .collect(),
            waiters: AtomicUsize::new(0),
            generations: Mutex::new(HashMap::new()),
            wakeup: Condvar::new(),
        }
    }

    /// `Atomics.wait(i32, word, expected, timeout)`: sleeps while `word` holds `expected` until a
    /// [`SharedMemory::notify`] on `word` or the timeout (`None` waits forever).
    pub fn wait(&self, word: usize, expected: u32, timeout: Option<Duration>) -> WaitResult {
        let mut generations = self.lock();
        // Count ourselves before checking the value: a notifier stores the value and then reads
        // `waiters` (both SeqCst), so either we see its value or it sees us and takes the lock,
        // which we hold until the condvar has us.
        self.waiters.fetch_add(1, SeqCst);
        let result = if self.load(word) != expected {
            WaitResult::NotEqual
        } else {
            let seen = generations.get(&word).copied().unwrap_or(0);
            let deadline = timeout.map(|t| Instant::now() + t);
            loop {
                if generations.get(&word).copied().unwrap_or(0) != seen {
                    break WaitResult::Ok;
                }
                generations = match deadline {
                    None => self
                        .wakeup
                        .wait(generations)
                        .unwrap_or_else(|e| e.into_inner()),
                    Some(deadline) => {
                        let now = Instant::now();
                        if now >= deadline {
                            break WaitResult::TimedOut;
                        }
                        self.wakeup
                            .wait_timeout(generations, deadline - now)
                            .unwrap_or_else(|e| e.into_inner())
                            .0
                    }
                };
            }
        };
        self.waiters.fetch_sub(1, SeqCst);
        result
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<usize, u64>> {
        self.generations.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// `old` with its little-endian bytes from `lane` on replaced by `bytes`.
fn merge(old: u32, lane: usize, bytes: &[u8]) -> u32 {
    let mut b = old.to_le_bytes();
    b[lane..lane + bytes.len()].copy_from_slice(bytes);
    u32::from_le_bytes(b)
}

impl SharedMemory for AtomicMemory {
    fn byte_len(&self) -> usize {
        self.words.len() * 4
    }

    fn load(&self, word: usize) -> u32 {
        self.words[word].load(SeqCst)
    }

    fn store(&self, word: usize, value: u32) {
        self.words[word].store(value, SeqCst)
    }

    fn add(&self, word: usize, value: u32) -> u32 {
        self.words[word].fetch_add(value, SeqCst)
    }

    fn read_bytes(&self, offset: usize, dst: &mut [u8]) {
        assert!(offset + dst.len() <= self.byte_len(), "read out of range");
        let mut word = offset / 4;
        let mut dst = dst;
        let lane = offset % 4;
        if lane != 0 && !dst.is_empty() {
            let n = dst.len().min(4 - lane);
            let bytes = self.words[word].load(Relaxed).to_le_bytes();
            dst[..n].copy_from_slice(&bytes[lane..lane + n]);
            dst = &mut dst[n..];
            word += 1;
        }
        let mut chunks = dst.chunks_exact_mut(4);
        for (chunk, w) in (&mut chunks).zip(&self.words[word..]) {
            chunk.copy_from_slice(&w.load(Relaxed).to_le_bytes());
            word += 1;
        }
        let rest = chunks.into_remainder();
        if !rest.is_empty() {
            let bytes = self.words[word].load(Relaxed).to_le_bytes();
            rest.copy_from_slice(&bytes[..rest.len()]);
        }
    }

    fn write_bytes(&self, offset: usize, src: &[u8]) {
        assert!(offset + src.len() <= self.byte_len(), "write out of range");
        let mut word = offset / 4;
        let mut src = src;
        let lane = offset % 4;
        if lane != 0 && !src.is_empty() {
            let n = src.len().min(4 - lane);
            let head = &src[..n];
            let _ =
                self.words[word].fetch_update(Relaxed, Relaxed, |old| Some(merge(old, lane, head)));
            src = &src[n..];
            word += 1;
        }
        let mut chunks = src.chunks_exact(4);
        for (chunk, w) in (&mut chunks).zip(&self.words[word..]) {
            w.store(
                u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]),
                Relaxed,
            );
            word += 1;
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let _ =
                self.words[word].fetch_update(Relaxed, Relaxed, |old| Some(merge(old, 0, rest)));
        }
    }

    fn notify(&self, word: usize) {
        if self.waiters.load(SeqCst) == 0 {
            return;
        }
        let mut generations = self.lock();
        *generations.entry(word).or_insert(0) += 1;
        drop(generations);
        self.wakeup.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::thread;

    #[test]
    fn bytes_round_trip_at_every_alignment() {
        let mem = AtomicMemory::new(64);
        let src: Vec<u8> = (1..=23).collect();
        for offset in 0..8 {
            for len in 0..src.len() {
                mem.write_bytes(0, &[0xee; 64]);
                mem.write_bytes(offset, &src[..len]);
                let mut all = [0u8; 64];
                mem.read_bytes(0, &mut all);
                assert!(all[..offset].iter().all(|&b| b == 0xee), "{offset} {len}");
                assert_eq!(&all[offset..offset + len], &src[..len]);
                assert!(
                    all[offset + len..].iter().all(|&b| b == 0xee),
                    "{offset} {len}"
                );
                let mut back = vec![0u8; len];
                mem.read_bytes(offset, &mut back);
                assert_eq!(back, &src[..len]);
            }
        }
    }

    #[test]
    fn words_and_length() {
        let mem = AtomicMemory::new(10);
        assert_eq!(mem.byte_len(), 12);
        mem.store(1, 7);
        assert_eq!(mem.add(1, u32::MAX), 7);
        assert_eq!(mem.load(1), 6);
    }

    #[test]
    fn wait_returns_not_equal_timed_out_and_ok() {
        let mem = Arc::new(AtomicMemory::new(16));
        assert_eq!(mem.wait(0, 1, None), WaitResult::NotEqual);
        assert_eq!(
            mem.wait(0, 0, Some(Duration::from_millis(1))),
            WaitResult::TimedOut
        );
        let waker = {
            let mem = mem.clone();
            thread::spawn(move || {
                // Whether this lands before the waiter sleeps (NotEqual) or after (Ok), the
                // waiter never sleeps through it.
                mem.store(0, 1);
                mem.notify(0);
            })
        };
        let r = mem.wait(0, 0, Some(Duration::from_secs(10)));
        assert!(matches!(r, WaitResult::Ok | WaitResult::NotEqual), "{r:?}");
        waker.join().unwrap();
    }

    #[test]
    fn notify_on_another_word_does_not_wake() {
        let mem = Arc::new(AtomicMemory::new(16));
        let other = {
            let mem = mem.clone();
            thread::spawn(move || {
                for _ in 0..50 {
                    mem.notify(1);
                    thread::sleep(Duration::from_micros(100));
                }
            })
        };
        assert_eq!(
            mem.wait(0, 0, Some(Duration::from_millis(20))),
            WaitResult::TimedOut
        );
        other.join().unwrap();
    }
}
