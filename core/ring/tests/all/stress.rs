//! A producer and a consumer on real threads move over 100 MiB of random-sized messages on
//! several streams through a small ring, with real blocking waits on both sides.
//!
//! Every message is compared byte for byte with what was sent, in order per stream, and each
//! stream's end packet carries the producer's message count and byte total, which the consumer
//! checks against its own. A wait that times out although its word has changed is a lost
//! wake-up and fails the test.

use std::sync::Arc;
use std::thread;
use std::time::Duration;

use pollscope_ring::{
    init, layout, total_bytes, AtomicMemory, Config, Consumer, Flush, Full, Kind, Producer,
    SharedMemory, WaitOn, WaitResult,
};

use crate::Rng;

const STREAMS: usize = 4;
const TARGET: u64 = 100 << 20;
const POOL: usize = 1 << 20;
const CONFIG: Config = Config {
    capacity: 64 << 10,
    mtu: 16 << 10,
};
/// The producer waits for space once this much is queued outside the ring.
const BACKLOG_LIMIT: usize = 256 << 10;

/// Source bytes: every message is a slice of this.
fn pool() -> Vec<u8> {
    let mut rng = Rng::new(99);
    (0..POOL / 8)
        .flat_map(|_| rng.next_u64().to_le_bytes())
        .collect()
}

/// The sequence of messages of one stream, identical on both sides.
struct Script(Rng);

impl Script {
    fn new(stream: usize) -> Script {
        Script(Rng::new(1000 + stream as u64))
    }

    /// Kind, start in the pool and length of the stream's next message.
    fn next(&mut self) -> (Kind, usize, usize) {
        let r = &mut self.0;
        let len = match r.below(10) {
            0..=4 => r.below(300),
            5..=8 => r.below(CONFIG.mtu as usize + 1),
            // Up to three frames, and more than half the ring.
            _ => r.below(3 * CONFIG.mtu as usize) + 1,
        };
        let kind = if r.below(16) == 0 {
            Kind::Control
        } else {
            Kind::Data
        };
        (kind, r.below(POOL - len + 1), len)
    }
}

fn wait(mem: &AtomicMemory, w: WaitOn, who: &str) {
    if mem.wait(w.word, w.value, Some(Duration::from_secs(10))) == WaitResult::TimedOut {
        let now = mem.load(w.word);
        assert_eq!(now, w.value, "{who}: lost wake-up: word {} moved", w.word);
        panic!("{who}: nothing happened for 10 s");
    }
}

fn produce(mem: Arc<AtomicMemory>, pool: Arc<Vec<u8>>) {
    let mut p = Producer::new(mem.clone()).unwrap();
    let mut pick = Rng::new(7);
    let mut scripts: Vec<Script> = (0..STREAMS).map(Script::new).collect();
    // Rest of a message `send` only partly wrote; it must go next on its stream, but other
    // streams may go first, which interleaves frames of different streams.
    let mut carry: Vec<Option<(Kind, usize, usize)>> = vec![None; STREAMS];
    let mut totals = [(0u64, 0u64); STREAMS];
    let mut sent = 0u64;
    let mut unflushed = 0;
    let mut batch = 1;
    while sent < TARGET {
        let s = pick.below(STREAMS);
        let stream = s as u16;
        if let Some((kind, at, len)) = carry[s].take() {
            p.push(stream, kind, &pool[at..at + len]);
            continue;
        }
        let (kind, at, len) = scripts[s].next();
        totals[s].0 += 1;
        totals[s].1 += len as u64;
        sent += len as u64;
        let msg = &pool[at..at + len];
        if pick.below(4) == 0 {
            match p.send(stream, kind, msg) {
                Ok(n) if n == len => {}
                Ok(n) => carry[s] = Some((kind, at + n, len - n)),
                Err(Full) => carry[s] = Some((kind, at, len)),
            }
            continue;
        }
        p.push(stream, kind, msg);
        unflushed += 1;
        if unflushed >= batch {
            unflushed = 0;
            batch = 1 + pick.below(8);
            while let Flush::Blocked(w) = p.flush() {
                if p.backlog() < BACKLOG_LIMIT {
                    break;
                }
                wait(&mem, w, "producer");
            }
        }
    }
    for (s, carried) in carry.iter().enumerate() {
        if let Some((kind, at, len)) = *carried {
            p.push(s as u16, kind, &pool[at..at + len]);
        }
    }
    for (s, (count, bytes)) in totals.iter().enumerate() {
        let end = [count.to_le_bytes(), bytes.to_le_bytes()].concat();
        p.push(s as u16, Kind::End, &end);
    }
    while let Flush::Blocked(w) = p.flush() {
        wait(&mem, w, "producer");
    }
}

fn consume(mem: Arc<AtomicMemory>, pool: Arc<Vec<u8>>) {
    let mut c = Consumer::new(mem.clone()).unwrap();
    let mut scripts: Vec<Script> = (0..STREAMS).map(Script::new).collect();
    let mut totals = [(0u64, 0u64); STREAMS];
    let mut ended = 0;
    while ended < STREAMS {
        let w = c.prepare_wait();
        let delivered = c
            .drain(|pk| {
                let s = pk.stream as usize;
                if pk.kind == Kind::End {
                    let count = u64::from_le_bytes(pk.payload[..8].try_into().unwrap());
                    let bytes = u64::from_le_bytes(pk.payload[8..].try_into().unwrap());
                    assert_eq!((count, bytes), totals[s], "stream {s} totals");
                    ended += 1;
                    return;
                }
                let (kind, at, len) = scripts[s].next();
                let n = totals[s].0;
                assert_eq!(pk.kind, kind, "stream {s} message {n}");
                assert!(pk.payload == &pool[at..at + len], "stream {s} message {n}");
                totals[s].0 += 1;
                totals[s].1 += len as u64;
            })
            .unwrap();
        if delivered == 0 && ended < STREAMS {
            wait(&mem, w, "consumer");
        }
    }
    assert_eq!(c.pending(), 0);
}

#[test]
fn threads_move_100_mib_in_order() {
    let mem = Arc::new(AtomicMemory::new(total_bytes(CONFIG.capacity)));
    init(&*mem, CONFIG).unwrap();
    let pool = Arc::new(pool());
    let consumer = {
        let (mem, pool) = (mem.clone(), pool.clone());
        thread::spawn(move || consume(mem, pool))
    };
    let producer = {
        let (mem, pool) = (mem.clone(), pool.clone());
        thread::spawn(move || produce(mem, pool))
    };
    producer.join().unwrap();
    consumer.join().unwrap();

    let s = pollscope_ring::Snapshot::read(&*mem).unwrap();
    assert_eq!(s.used, 0);
    assert_eq!((s.packets_in, s.bytes_in), (s.packets_out, s.bytes_out));
    assert!(s.bytes_in >= TARGET, "{s:?}");
    assert!(s.packets_in > s.bytes_in / u64::from(CONFIG.mtu), "{s:?}");
    assert!(s.stalls > 0, "backpressure never happened: {s:?}");
    assert!(s.high_water > CONFIG.capacity / 2, "{s:?}");
    assert_eq!(mem.load(layout::WANT_SPACE), 0);
}
