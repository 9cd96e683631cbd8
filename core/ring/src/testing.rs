//! Test support: a memory that records the calls the ring makes on it.

use std::cell::RefCell;

use crate::{init, total_bytes, AtomicMemory, Config, SharedMemory};

/// One call on a [`Counting`] memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    Load(usize),
    Store(usize),
    Add(usize),
    Notify(usize),
    /// Byte offset and length.
    Read(usize, usize),
    Write(usize, usize),
}

/// An [`AtomicMemory`] holding a fresh ring, recording every call (each one a crossing into JS
/// in the browser).
#[derive(Debug)]
pub struct Counting {
    pub inner: AtomicMemory,
    pub calls: RefCell<Vec<Call>>,
}

impl Counting {
    pub fn ring(capacity: u32, mtu: u32) -> Counting {
        let inner = AtomicMemory::new(total_bytes(capacity));
        init(&inner, Config { capacity, mtu }).unwrap();
        Counting {
            inner,
            calls: RefCell::new(Vec::new()),
        }
    }

    /// The calls since the last `take`.
    pub fn take(&self) -> Vec<Call> {
        std::mem::take(&mut self.calls.borrow_mut())
    }

    fn record(&self, call: Call) {
        self.calls.borrow_mut().push(call);
    }
}

/// How many of `calls` are byte copies out of / into the ring, and stores.
pub fn count(calls: &[Call]) -> (usize, usize, usize) {
    let reads = calls.iter().filter(|c| matches!(c, Call::Read(..))).count();
    let writes = calls
        .iter()
        .filter(|c| matches!(c, Call::Write(..)))
        .count();
    let stores = calls
        .iter()
        .filter(|c| matches!(c, Call::Store(..)))
        .count();
    (reads, writes, stores)
}

impl SharedMemory for Counting {
    fn byte_len(&self) -> usize {
        self.inner.byte_len()
    }
    fn load(&self, word: usize) -> u32 {
        self.record(Call::Load(word));
        self.inner.load(word)
    }
    fn store(&self, word: usize, value: u32) {
        self.record(Call::Store(word));
        self.inner.store(word, value)
    }
    fn add(&self, word: usize, value: u32) -> u32 {
        self.record(Call::Add(word));
        self.inner.add(word, value)
    }
    fn read_bytes(&self, offset: usize, dst: &mut [u8]) {
        self.record(Call::Read(offset, dst.len()));
        self.inner.read_bytes(offset, dst)
    }
    fn write_bytes(&self, offset: usize, src: &[u8]) {
        self.record(Call::Write(offset, src.len()));
        self.inner.write_bytes(offset, src)
    }
    fn notify(&self, word: usize) {
        self.record(Call::Notify(word));
        self.inner.notify(word)
    }
}
