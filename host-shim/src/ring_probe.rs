//! Ring probes for the benchmark and stress harness (`bench/`), built only with the `bench`
//! feature into the harness's own shim (`target/bench/shim`), never into the one users load.
//! The producer and consumer loops of the real ring (`pollscope-ring` over [`JsSharedMemory`],
//! exactly what the event thread and the wasm thread use) run entirely inside wasm, so a
//! measurement is the Rust ring and not JS glue around it. Each loop blocks its worker with
//! `Atomics.wait` (dedicated workers only), as the wasm thread does; the producer waits for
//! space on `TAIL` the same way.
//!
//! Messages follow a plan both sides can recompute: per stream, a seeded generator gives each
//! message's length and bytes, and the first bytes of every payload hold the message's sequence
//! number on its stream. The producer picks the stream of each message with a third generator
//! (streams interleave at random). In `verify` mode the consumer regenerates every expected
//! message and compares it byte for byte, and both sides fold what they sent / received into an
//! order-sensitive per-stream checksum; otherwise payloads come from a fixed buffer and the
//! consumer only counts (what a throughput measurement wants).

use std::cell::Cell;

use js_sys::{Atomics, Float64Array, Int32Array, SharedArrayBuffer};
use pollscope_ring::layout::WAKE;
use pollscope_ring::{Config, Consumer, Flush, Kind, Packet, Producer, SharedMemory, Snapshot};
use serde::Deserialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::js_object;
use crate::shared_memory::JsSharedMemory;

/// A wait that lasts this long means the other side is gone: fail instead of hanging the worker.
const STUCK_MS: f64 = 20_000.0;

/// What [`ring_probe_produce`] and [`ring_probe_consume`] are asked to do (both get the same).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Plan {
    /// Payload bytes of data messages to send, at least (the last message may go past it).
    total_bytes: f64,
    /// Payload length of each message, uniform in `min_len..=max_len`.
    min_len: u32,
    max_len: u32,
    /// Streams `0..streams`, interleaved at random.
    #[serde(default = "one")]
    streams: u16,
    #[serde(default)]
    seed: u32,
    /// The producer publishes (one `HEAD` store, one notify) once this many payload bytes were
    /// pushed since the last publish, and whenever the ring is full.
    #[serde(default = "default_batch")]
    batch_bytes: u32,
    /// Generated, checked, checksummed payloads (stress) or a fixed buffer, counted (speed).
    #[serde(default)]
    verify: bool,
    /// Count every shared-memory operation (a separate run: counting costs a little).
    #[serde(default)]
    count_ops: bool,
    /// Batch byte copies (the [`Batch`] experiment) instead of one call per copy.
    #[serde(default)]
    batched: bool,
    /// Consumer only: sleep this long after every drain that delivered something, so that the
    /// producer fills the ring and stalls (the backpressure test).
    #[serde(default)]
    consumer_pause_ms: f64,
}

fn one() -> u16 {
    1
}

fn default_batch() -> u32 {
    64 * 1024
}

fn bad(message: impl std::fmt::Display) -> JsError {
    JsError::new(&message.to_string())
}

impl Plan {
    fn parse(options: JsValue) -> Result<Plan, JsError> {
        let plan: Plan =
            serde_wasm_bindgen::from_value(options).map_err(|e| bad(format!("options: {e}")))?;
        if plan.min_len > plan.max_len || plan.streams == 0 {
            return Err(bad("options: need min_len <= max_len and streams >= 1"));
        }
        Ok(plan)
    }
}

thread_local! {
    static PERFORMANCE: Option<web_sys::Performance> = js_sys::global()
        .unchecked_into::<web_sys::WorkerGlobalScope>()
        .performance();
}

/// `performance.now()` of this worker (one call into JS).
fn now_ms() -> f64 {
    PERFORMANCE.with(|p| p.as_ref().map_or(0.0, |p| p.now()))
}

/// xorshift64*: cheap on wasm (64-bit ops only) and good enough to make every byte differ.
#[derive(Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        // Spread small seeds (splitmix64's finalizer); never zero.
        let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        Rng((z ^ (z >> 31)) | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u32) -> u32 {
        (((self.next() >> 32) * u64::from(n)) >> 32) as u32
    }
}

/// The messages of one stream, as both sides compute them.
struct StreamPlan {
    lengths: Rng,
    bytes: Rng,
    seq: u32,
    /// Order-sensitive checksum of the stream so far.
    checksum: u64,
    min_len: u32,
    spread: u32,
}

impl StreamPlan {
    fn new(plan: &Plan, stream: u16) -> StreamPlan {
        let base = (u64::from(plan.seed) << 20) | (u64::from(stream) << 1);
        StreamPlan {
            lengths: Rng::new(base),
            bytes: Rng::new(base | 1),
            seq: 0,
            checksum: 0,
            min_len: plan.min_len,
            spread: plan.max_len - plan.min_len + 1,
        }
    }

    fn next_len(&mut self) -> usize {
        (self.min_len + self.lengths.below(self.spread)) as usize
    }

    /// Fills `buf` (of the length [`next_len`](Self::next_len) gave) with the next message.
    fn fill(&mut self, buf: &mut [u8]) {
        let mut chunks = buf.chunks_exact_mut(8);
        for chunk in &mut chunks {
            chunk.copy_from_slice(&self.bytes.next().to_le_bytes());
        }
        let rest = chunks.into_remainder();
        if !rest.is_empty() {
            let word = self.bytes.next().to_le_bytes();
            rest.copy_from_slice(&word[..rest.len()]);
        }
        self.stamp(buf);
    }

    /// Writes the sequence number over the first (up to four) bytes and moves to the next.
    fn stamp(&mut self, buf: &mut [u8]) {
        let seq = self.seq.to_le_bytes();
        let n = buf.len().min(4);
        buf[..n].copy_from_slice(&seq[..n]);
        self.seq = self.seq.wrapping_add(1);
    }

    fn add_to_checksum(&mut self, payload: &[u8]) {
        self.checksum = checksum(self.checksum ^ payload.len() as u64, payload);
    }
}

/// Folds `bytes` into `h`, eight at a time; any change of content, length or order shows.
fn checksum(mut h: u64, bytes: &[u8]) -> u64 {
    const K: u64 = 0x9fb2_1c65_1e98_df25;
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        h = (h ^ w).wrapping_mul(K).rotate_left(29);
    }
    for &b in chunks.remainder() {
        h = (h ^ u64::from(b)).wrapping_mul(K).rotate_left(29);
    }
    h
}

fn total_checksum(streams: &[StreamPlan]) -> String {
    let sum = streams
        .iter()
        .fold(0u64, |acc, s| acc.wrapping_add(s.checksum));
    format!("{sum:016x}")
}

/// Shared-memory operations seen, by kind (the `countOps` runs).
#[derive(Default)]
struct OpCounts {
    load: Cell<u64>,
    store: Cell<u64>,
    add: Cell<u64>,
    notify: Cell<u64>,
    reads: Cell<u64>,
    read_bytes: Cell<u64>,
    writes: Cell<u64>,
    written_bytes: Cell<u64>,
}

fn bump(cell: &Cell<u64>, by: u64) {
    cell.set(cell.get() + by);
}

impl OpCounts {
    fn to_js(&self) -> JsValue {
        js_object(&[
            ("load", (self.load.get() as f64).into()),
            ("store", (self.store.get() as f64).into()),
            ("add", (self.add.get() as f64).into()),
            ("notify", (self.notify.get() as f64).into()),
            ("reads", (self.reads.get() as f64).into()),
            ("readBytes", (self.read_bytes.get() as f64).into()),
            ("writes", (self.writes.get() as f64).into()),
            ("writtenBytes", (self.written_bytes.get() as f64).into()),
        ])
        .into()
    }
}

/// [`JsSharedMemory`], optionally counting the calls the ring makes on it, and optionally
/// batching its byte copies (an experiment, see [`Batch`]).
struct Probed<'a> {
    mem: JsSharedMemory,
    counts: Option<&'a OpCounts>,
    batch: Option<Batch>,
}

/// Copies gathered into few boundary crossings: an experiment that measures what the ring
/// would gain if `JsSharedMemory` did not cross into JS for every header and payload. Writes of
/// less than [`Batch::DIRECT`] bytes that follow each other are staged in wasm memory and
/// copied out in one call (up to [`Batch::STAGE`] bytes); small reads are served from a window
/// of up to [`Batch::WINDOW`] bytes fetched in one call. Any word operation first flushes the staged writes and drops the
/// window, so data still reaches the buffer before the `HEAD` store that publishes it, and a
/// window never outlives the `HEAD` load that made its bytes valid. Not used by the shim.
#[derive(Default)]
struct Batch {
    staged: std::cell::RefCell<Vec<u8>>,
    staged_at: Cell<usize>,
    window: std::cell::RefCell<Vec<u8>>,
    window_at: Cell<usize>,
}

impl Batch {
    /// Copies at least this long go straight through (batching them gains nothing).
    const DIRECT: usize = 4096;
    /// Most bytes staged before they are written out.
    const STAGE: usize = 64 * 1024;
    /// Bytes fetched per read window: a few small packets' worth, and cheap to waste when the
    /// next read is a large payload that goes straight through.
    const WINDOW: usize = 4096;
}

impl Probed<'_> {
    fn new(mem: JsSharedMemory, counts: Option<&OpCounts>, batched: bool) -> Probed<'_> {
        Probed {
            mem,
            counts,
            batch: batched.then(Batch::default),
        }
    }

    fn count(&self, f: impl FnOnce(&OpCounts)) {
        if let Some(counts) = self.counts {
            f(counts);
        }
    }

    fn raw_read(&self, offset: usize, dst: &mut [u8]) {
        self.count(|c| {
            bump(&c.reads, 1);
            bump(&c.read_bytes, dst.len() as u64);
        });
        self.mem.read_bytes(offset, dst)
    }

    fn raw_write(&self, offset: usize, src: &[u8]) {
        self.count(|c| {
            bump(&c.writes, 1);
            bump(&c.written_bytes, src.len() as u64);
        });
        self.mem.write_bytes(offset, src)
    }

    /// Before any word operation: staged bytes out, window dropped.
    fn settle(&self) {
        if let Some(batch) = &self.batch {
            let mut staged = batch.staged.borrow_mut();
            if !staged.is_empty() {
                self.raw_write(batch.staged_at.get(), &staged);
                staged.clear();
            }
            batch.window.borrow_mut().clear();
        }
    }
}

impl SharedMemory for Probed<'_> {
    fn byte_len(&self) -> usize {
        self.mem.byte_len()
    }
    fn load(&self, word: usize) -> u32 {
        self.settle();
        self.count(|c| bump(&c.load, 1));
        self.mem.load(word)
    }
    fn store(&self, word: usize, value: u32) {
        self.settle();
        self.count(|c| bump(&c.store, 1));
        self.mem.store(word, value)
    }
    fn add(&self, word: usize, value: u32) -> u32 {
        self.settle();
        self.count(|c| bump(&c.add, 1));
        self.mem.add(word, value)
    }
    fn read_bytes(&self, offset: usize, dst: &mut [u8]) {
        let Some(batch) = self.batch.as_ref().filter(|_| dst.len() < Batch::DIRECT) else {
            return self.raw_read(offset, dst);
        };
        let mut window = batch.window.borrow_mut();
        let at = batch.window_at.get();
        if offset < at || offset + dst.len() > at + window.len() {
            let len = Batch::WINDOW.min(self.byte_len() - offset).max(dst.len());
            window.resize(len, 0);
            self.raw_read(offset, &mut window);
            batch.window_at.set(offset);
        }
        let from = offset - batch.window_at.get();
        dst.copy_from_slice(&window[from..from + dst.len()]);
    }
    fn write_bytes(&self, offset: usize, src: &[u8]) {
        let Some(batch) = self.batch.as_ref() else {
            return self.raw_write(offset, src);
        };
        let mut staged = batch.staged.borrow_mut();
        let follows = batch.staged_at.get() + staged.len() == offset;
        if !staged.is_empty() && (!follows || staged.len() + src.len() > Batch::STAGE) {
            self.raw_write(batch.staged_at.get(), &staged);
            staged.clear();
        }
        if src.len() >= Batch::DIRECT {
            return self.raw_write(offset, src);
        }
        if staged.is_empty() {
            batch.staged_at.set(offset);
        }
        staged.extend_from_slice(src);
    }
    fn notify(&self, word: usize) {
        self.settle();
        self.count(|c| bump(&c.notify, 1));
        self.mem.notify(word)
    }
}

thread_local! {
    /// Waits since the last [`take_waited`] and the ms they took: the idle share of a loop.
    static WAITED: Cell<(f64, f64)> = const { Cell::new((0.0, 0.0)) };
    /// When the last wait returned, until [`take_woke`].
    static WOKE: Cell<Option<f64>> = const { Cell::new(None) };
}

/// When the last `Atomics.wait` returned, if one did since the last call.
fn take_woke() -> Option<f64> {
    WOKE.with(Cell::take)
}

/// `(waits, ms waited)` since the last call.
fn take_waited() -> (f64, f64) {
    WAITED.with(|w| w.replace((0.0, 0.0)))
}

/// `Atomics.wait(words, word, value, STUCK_MS)`; an error when it timed out.
fn wait(words: &Int32Array, word: usize, value: u32, what: &str) -> Result<(), JsError> {
    let start = now_ms();
    let result = Atomics::wait_with_timeout(words, word as u32, value as i32, STUCK_MS)
        .map_err(|_| bad("Atomics.wait is not allowed here (not a dedicated worker?)"))?;
    let woke = now_ms();
    let waited = woke - start;
    WOKE.with(|w| w.set(Some(woke)));
    WAITED.with(|w| {
        let (n, ms) = w.get();
        w.set((n + 1.0, ms + waited));
    });
    if result == "timed-out" {
        return Err(bad(format!(
            "waited {STUCK_MS} ms for {what}: the other side is gone"
        )));
    }
    Ok(())
}

/// Creates a ring of `capacity` bytes with the given MTU in a fresh SharedArrayBuffer.
#[wasm_bindgen]
pub fn ring_probe_create(capacity: u32, mtu: u32) -> Result<SharedArrayBuffer, JsError> {
    let config = Config { capacity, mtu };
    config.validate().map_err(bad)?;
    let buffer = SharedArrayBuffer::new(config.total_bytes() as u32);
    let memory = JsSharedMemory::new(&buffer).map_err(bad)?;
    pollscope_ring::init(&memory, config).map_err(bad)?;
    Ok(buffer)
}

/// The producer (event-thread side): sends `options.totalBytes` of data messages, then an empty
/// `End` message on every stream, blocking in `Atomics.wait` on `TAIL` while the ring is full.
///
/// Returns `{ bytes, messages, checksum, elapsedMs, waits, waitMs, ops? }` (`waitMs`: time
/// asleep in `Atomics.wait`).
#[wasm_bindgen]
pub fn ring_probe_produce(ring: &JsValue, options: JsValue) -> Result<JsValue, JsError> {
    let plan = Plan::parse(options)?;
    let counts = OpCounts::default();
    let mem = Probed::new(
        JsSharedMemory::new(ring).map_err(bad)?,
        plan.count_ops.then_some(&counts),
        plan.batched,
    );
    let words = mem.mem.words().clone();
    let mut producer = Producer::new(mem).map_err(bad)?;
    let mut streams: Vec<StreamPlan> = (0..plan.streams)
        .map(|s| StreamPlan::new(&plan, s))
        .collect();
    let mut pick = Rng::new(u64::from(plan.seed) ^ 0x5eed);
    let fixed: Vec<u8> = (0..plan.max_len).map(|i| (i * 7 + 1) as u8).collect();
    let mut buf = vec![0u8; plan.max_len as usize];

    take_waited();
    let start = now_ms();
    let (mut bytes, mut messages, mut since_publish) = (0f64, 0f64, 0u32);
    while bytes < plan.total_bytes {
        let stream = pick.below(u32::from(plan.streams)) as u16;
        let s = &mut streams[stream as usize];
        let len = s.next_len();
        let payload = if plan.verify {
            s.fill(&mut buf[..len]);
            s.add_to_checksum(&buf[..len]);
            &buf[..len]
        } else {
            &fixed[..len]
        };
        producer.push(stream, Kind::Data, payload);
        bytes += len as f64;
        messages += 1.0;
        since_publish += len as u32;
        if producer.backlog() > 0 {
            flush_all(&mut producer, &words)?;
            since_publish = 0;
        } else if since_publish >= plan.batch_bytes {
            producer.flush();
            since_publish = 0;
        }
    }
    for stream in 0..plan.streams {
        producer.push(stream, Kind::End, &[]);
    }
    flush_all(&mut producer, &words)?;
    let elapsed = now_ms() - start;
    let (waits, waited) = take_waited();
    let mut result = vec![
        ("bytes", bytes.into()),
        ("messages", messages.into()),
        ("checksum", total_checksum(&streams).into()),
        ("elapsedMs", elapsed.into()),
        ("waits", waits.into()),
        ("waitMs", waited.into()),
    ];
    if plan.count_ops {
        result.push(("ops", counts.to_js()));
    }
    Ok(js_object(&result).into())
}

/// Publishes everything, waiting for space as often as needed.
fn flush_all<M: SharedMemory>(
    producer: &mut Producer<M>,
    words: &Int32Array,
) -> Result<(), JsError> {
    loop {
        match producer.flush() {
            Flush::Done => return Ok(()),
            Flush::Blocked(on) => wait(words, on.word, on.value, "space in the ring")?,
        }
    }
}

/// The consumer's view of the plan: what each stream must deliver next, and what arrived.
struct Expect {
    streams: Vec<StreamPlan>,
    ended: Vec<bool>,
    open: usize,
    verify: bool,
    scratch: Vec<u8>,
    /// What was found wrong first.
    error: Option<String>,
    bytes: f64,
    messages: f64,
    /// Sum of every payload's first byte, so that nothing is optimized away unread.
    touched: u64,
}

impl Expect {
    fn fail(&mut self, why: impl FnOnce() -> String) {
        if self.error.is_none() {
            self.error = Some(why());
        }
    }

    fn on_packet(&mut self, p: Packet<'_>) {
        let stream = p.stream as usize;
        if stream >= self.streams.len() {
            self.fail(|| format!("message on unknown stream {stream}"));
            return;
        }
        if self.ended[stream] {
            self.fail(|| format!("message on stream {stream} after its end"));
            return;
        }
        if p.kind == Kind::End {
            if !p.payload.is_empty() {
                self.fail(|| format!("end of stream {stream} carries bytes"));
            }
            self.ended[stream] = true;
            self.open -= 1;
            return;
        }
        let s = &mut self.streams[stream];
        let seq = s.seq;
        let len = s.next_len();
        let mut problem = None;
        if p.payload.len() != len {
            problem = Some(format!(
                "stream {stream} message {seq}: {} bytes, expected {len}",
                p.payload.len()
            ));
        } else if self.verify {
            s.fill(&mut self.scratch[..len]);
            if p.payload != &self.scratch[..len] {
                let at = p
                    .payload
                    .iter()
                    .zip(&self.scratch)
                    .position(|(a, b)| a != b)
                    .unwrap_or(0);
                problem = Some(format!(
                    "stream {stream} message {seq} differs at byte {at} of {len}"
                ));
            }
        } else {
            s.seq = s.seq.wrapping_add(1);
        }
        if self.verify {
            s.add_to_checksum(p.payload);
        }
        if let Some(problem) = problem {
            self.fail(|| problem);
        }
        self.touched = self
            .touched
            .wrapping_add(u64::from(p.payload.first().copied().unwrap_or(0)));
        self.bytes += p.payload.len() as f64;
        self.messages += 1.0;
    }
}

/// The consumer (wasm-thread side): drains until every stream has ended, sleeping in
/// `Atomics.wait` on the wake word whenever the ring is empty (as the shim's inbox does).
///
/// Returns `{ bytes, messages, frames, checksum, ok, error, elapsedMs, waits, waitMs, snapshot,
/// ops? }`, where
/// `elapsedMs` runs from the call to the last message and `ok` says every message was the next
/// one its stream should get, byte for byte (verify mode; otherwise only lengths are checked).
#[wasm_bindgen]
pub fn ring_probe_consume(ring: &JsValue, options: JsValue) -> Result<JsValue, JsError> {
    let plan = Plan::parse(options)?;
    let counts = OpCounts::default();
    let mem = Probed::new(
        JsSharedMemory::new(ring).map_err(bad)?,
        plan.count_ops.then_some(&counts),
        plan.batched,
    );
    let words = mem.mem.words().clone();
    let pause = Int32Array::new(&SharedArrayBuffer::new(4));
    let mut consumer = Consumer::new(mem).map_err(bad)?;
    let mut expect = Expect {
        streams: (0..plan.streams)
            .map(|s| StreamPlan::new(&plan, s))
            .collect(),
        ended: vec![false; plan.streams as usize],
        open: plan.streams as usize,
        verify: plan.verify,
        scratch: vec![0u8; plan.max_len as usize],
        error: None,
        bytes: 0.0,
        messages: 0.0,
        touched: 0,
    };

    take_waited();
    let start = now_ms();
    while expect.open > 0 {
        let on = consumer.prepare_wait();
        let delivered = consumer
            .drain(|p| expect.on_packet(p))
            .map_err(|err| bad(format!("drain: {err}")))?;
        if expect.open == 0 {
            break;
        }
        if delivered == 0 {
            wait(&words, on.word, on.value, "the next packet")?;
        } else if plan.consumer_pause_ms > 0.0 {
            let _ = Atomics::wait_with_timeout(&pause, 0, 0, plan.consumer_pause_ms);
        }
    }
    let elapsed = now_ms() - start;
    let (waits, waited) = take_waited();
    let snapshot = consumer.snapshot();
    let mut out = vec![
        ("bytes", expect.bytes.into()),
        ("messages", expect.messages.into()),
        ("frames", (snapshot.packets_out as f64).into()),
        ("checksum", total_checksum(&expect.streams).into()),
        ("ok", expect.error.is_none().into()),
        ("error", expect.error.map_or(JsValue::NULL, JsValue::from)),
        ("elapsedMs", elapsed.into()),
        ("waits", waits.into()),
        ("waitMs", waited.into()),
        ("touched", (expect.touched as f64).into()),
        ("snapshot", snapshot_to_js(&snapshot)),
    ];
    if plan.count_ops {
        out.push(("ops", counts.to_js()));
    }
    Ok(js_object(&out).into())
}

fn snapshot_to_js(s: &Snapshot) -> JsValue {
    js_object(&[
        ("capacity", s.capacity.into()),
        ("mtu", s.mtu.into()),
        ("used", s.used.into()),
        ("highWater", s.high_water.into()),
        ("packetsIn", (s.packets_in as f64).into()),
        ("bytesIn", (s.bytes_in as f64).into()),
        ("packetsOut", (s.packets_out as f64).into()),
        ("bytesOut", (s.bytes_out as f64).into()),
        ("stalls", (s.stalls as f64).into()),
    ])
    .into()
}

/// What [`ring_probe_ping`] is asked to do.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PingPlan {
    rounds: u32,
    /// The initiator sleeps this long before each round.
    gap_ms: f64,
    initiator: bool,
    /// No ring: bump and notify the other buffer's `WAKE` word, wait on this one's (the floor
    /// under any ring, as reached from wasm through js-sys).
    #[serde(default)]
    raw: bool,
    #[serde(default)]
    count_ops: bool,
}

/// Notify→wake latency: `rounds` round trips of an 8-byte message over two rings, `out` (this
/// side produces) and `back` (this side consumes). The initiator pauses `gapMs` before each
/// round so that the other side is asleep in `Atomics.wait` when the message lands, stamps
/// `performance.now()`, sends, sleeps until the answer, stamps again; the responder answers
/// each message at once. Each round trip is two notify→wake hops, ring publish and drain
/// included.
///
/// Returns `{ rttMs, afterWakeMs, woken, ops? }`: the initiator's round-trip times in ms (empty
/// for the responder); the total time from waking in `Atomics.wait` to the end of this side's
/// part of a round, over the `woken` rounds that waited; and, with `countOps`, the
/// shared-memory operations this side made.
#[wasm_bindgen]
pub fn ring_probe_ping(
    out: &JsValue,
    back: &JsValue,
    options: JsValue,
) -> Result<JsValue, JsError> {
    let plan: PingPlan =
        serde_wasm_bindgen::from_value(options).map_err(|e| bad(format!("options: {e}")))?;
    let counts = OpCounts::default();
    let probed = |buffer: &JsValue| -> Result<Probed<'_>, JsError> {
        Ok(Probed::new(
            JsSharedMemory::new(buffer).map_err(bad)?,
            plan.count_ops.then_some(&counts),
            false,
        ))
    };
    let (out, back) = (probed(out)?, probed(back)?);
    let words = back.mem.words().clone();
    let pause = Int32Array::new(&SharedArrayBuffer::new(4));
    let mut samples = Vec::with_capacity(if plan.initiator {
        plan.rounds as usize
    } else {
        0
    });
    let mut side: Box<dyn PingSide + '_> = if plan.raw {
        // Fresh buffers: WAKE starts at 0 (reading it here could miss a ping sent already).
        Box::new(RawSide { out, back, seen: 0 })
    } else {
        Box::new(RingSide {
            producer: Producer::new(out).map_err(bad)?,
            consumer: Consumer::new(back).map_err(bad)?,
        })
    };
    // Time from waking up to the end of this side's part of the hop (drain, and for the
    // responder the answer): the work a hop adds to the wait itself.
    let (mut after_wake, mut woken) = (0.0, 0.0);
    for round in 0..plan.rounds {
        if plan.initiator {
            let _ = Atomics::wait_with_timeout(&pause, 0, 0, plan.gap_ms);
            let t0 = now_ms();
            take_woke();
            side.send(round)?;
            side.receive(&words)?;
            let t1 = now_ms();
            samples.push(t1 - t0);
            if let Some(woke) = take_woke() {
                after_wake += t1 - woke;
                woken += 1.0;
            }
        } else {
            take_woke();
            side.receive(&words)?;
            side.send(round)?;
            if let Some(woke) = take_woke() {
                after_wake += now_ms() - woke;
                woken += 1.0;
            }
        }
    }
    drop(side);
    let mut result = vec![
        ("rttMs", Float64Array::from(&samples[..]).into()),
        ("afterWakeMs", after_wake.into()),
        ("woken", woken.into()),
    ];
    if plan.count_ops {
        result.push(("ops", counts.to_js()));
    }
    Ok(js_object(&result).into())
}

/// One side of a ping-pong.
trait PingSide {
    fn send(&mut self, round: u32) -> Result<(), JsError>;
    /// Sleeps until the other side's message is in.
    fn receive(&mut self, words: &Int32Array) -> Result<(), JsError>;
}

struct RingSide<'a> {
    producer: Producer<Probed<'a>>,
    consumer: Consumer<Probed<'a>>,
}

impl PingSide for RingSide<'_> {
    fn send(&mut self, round: u32) -> Result<(), JsError> {
        let payload = u64::from(round).to_le_bytes();
        match self.producer.send(0, Kind::Data, &payload) {
            Ok(8) => Ok(()),
            _ => Err(bad("ping ring unexpectedly full")),
        }
    }

    fn receive(&mut self, words: &Int32Array) -> Result<(), JsError> {
        loop {
            let on = self.consumer.prepare_wait();
            if self.consumer.drain(|_| ()).map_err(bad)? > 0 {
                return Ok(());
            }
            wait(words, on.word, on.value, "the other side's message")?;
        }
    }
}

struct RawSide<'a> {
    out: Probed<'a>,
    back: Probed<'a>,
    /// The last value of `back`'s `WAKE` this side has answered.
    seen: u32,
}

impl PingSide for RawSide<'_> {
    fn send(&mut self, _round: u32) -> Result<(), JsError> {
        self.out.add(WAKE, 1);
        self.out.notify(WAKE);
        Ok(())
    }

    fn receive(&mut self, words: &Int32Array) -> Result<(), JsError> {
        loop {
            let now = self.back.load(WAKE);
            if now != self.seen {
                self.seen = now;
                return Ok(());
            }
            wait(words, WAKE, now, "the other side's message")?;
        }
    }
}

/// Cost of each [`JsSharedMemory`] operation the ring uses, in ns per call, measured over
/// `iterations` calls each on `buffer` (a SharedArrayBuffer of at least 64 KiB + 256 bytes):
/// `{ load, store, add, notify, write8, write256, write64k, read8, read256, read64k }`.
/// `notify` has no waiter, as in a producer that outruns its consumer.
#[wasm_bindgen]
pub fn ring_probe_ops(buffer: &JsValue, iterations: u32) -> Result<JsValue, JsError> {
    let mem = JsSharedMemory::new(buffer).map_err(bad)?;
    if mem.byte_len() < 256 + 65536 {
        return Err(bad("ring_probe_ops needs at least 64 KiB + 256 bytes"));
    }
    let n = iterations.max(1);
    let per_call = |f: &mut dyn FnMut(u32), calls: u32| {
        let start = now_ms();
        for i in 0..calls {
            f(i);
        }
        (now_ms() - start) * 1e6 / f64::from(calls)
    };
    let mut sink = 0u32;
    let mut buf = vec![1u8; 65536];
    let big = (n / 64).max(16);
    let results = [
        (
            "load",
            per_call(&mut |i| sink ^= mem.load(16 + (i & 7) as usize), n),
        ),
        (
            "store",
            per_call(&mut |i| mem.store(16 + (i & 7) as usize, i), n),
        ),
        ("add", per_call(&mut |_| sink ^= mem.add(17, 1), n)),
        ("notify", per_call(&mut |_| mem.notify(17), n)),
        (
            "write8",
            per_call(
                &mut |i| mem.write_bytes(256 + (i & 255) as usize * 8, &buf[..8]),
                n,
            ),
        ),
        (
            "write256",
            per_call(
                &mut |i| mem.write_bytes(256 + (i & 63) as usize * 256, &buf[..256]),
                n,
            ),
        ),
        (
            "write64k",
            per_call(&mut |_| mem.write_bytes(256, &buf), big),
        ),
        (
            "read8",
            per_call(
                &mut |i| mem.read_bytes(256 + (i & 255) as usize * 8, &mut buf[..8]),
                n,
            ),
        ),
        (
            "read256",
            per_call(
                &mut |i| mem.read_bytes(256 + (i & 63) as usize * 256, &mut buf[..256]),
                n,
            ),
        ),
        (
            "read64k",
            per_call(&mut |_| mem.read_bytes(256, &mut buf), big),
        ),
    ];
    let mut entries: Vec<(&str, JsValue)> =
        results.iter().map(|(k, v)| (*k, (*v).into())).collect();
    entries.push(("sink", sink.into()));
    Ok(js_object(&entries).into())
}
