// The plain-JS baseline ring: the same shape as pollscope-ring (header words at the same indices,
// free-running u32 HEAD/TAIL byte counters over a power-of-two data area at byte 256, 8-byte
// packet headers `u32 len | u16 stream | u8 kind | u8 flags`, payloads padded to 8, a payload
// that runs past the end wraps in two copies, one HEAD store + WAKE add + notify per batch,
// WANT_SPACE/TAIL handshake for a full ring) written the way one would in JavaScript: typed
// array stores for headers, `Uint8Array.set` for payloads. No counters, no frame splitting (a
// packet waits until it fits whole), no reassembly: it is the floor the Rust ring is held to.

export const CAPACITY = 2;
export const MTU = 3;
export const HEAD = 16;
export const WAKE = 17;
export const WANT_SPACE = 18;
export const TAIL = 48;
export const DATA = 256;
/** A wait longer than this means the other side is gone. */
export const STUCK_MS = 20000;

export const packetSize = (len) => 8 + ((len + 7) & ~7);

/** A fresh ring of `capacity` bytes (a power of two) in a new SharedArrayBuffer. */
export function createJsRing(capacity, mtu) {
  const sab = new SharedArrayBuffer(DATA + capacity);
  const words = new Int32Array(sab);
  words[CAPACITY] = capacity;
  words[MTU] = mtu;
  return sab;
}

/** Waits and ms waited since the last takeWaited(): the idle share of a loop. */
let waited = { waits: 0, waitMs: 0 };
/** When the last wait returned (null once taken). */
let woke = null;
function takeWoke() {
  const w = woke;
  woke = null;
  return w;
}

function takeWaited() {
  const w = waited;
  waited = { waits: 0, waitMs: 0 };
  return w;
}

function waitOrThrow(words, index, value, what) {
  const start = performance.now();
  const result = Atomics.wait(words, index, value, STUCK_MS);
  woke = performance.now();
  waited.waits++;
  waited.waitMs += woke - start;
  if (result === "timed-out") {
    throw new Error(`waited ${STUCK_MS} ms for ${what}: the other side is gone`);
  }
}

export class JsProducer {
  constructor(sab) {
    this.words = new Int32Array(sab);
    this.u32 = new Uint32Array(sab);
    this.u8 = new Uint8Array(sab);
    this.capacity = this.words[CAPACITY];
    this.mask = this.capacity - 1;
    this.head = Atomics.load(this.words, HEAD) >>> 0;
    this.published = this.head;
    this.tail = Atomics.load(this.words, TAIL) >>> 0;
  }

  free() {
    return this.capacity - ((this.head - this.tail) >>> 0);
  }

  /** Writes one packet if it fits whole (not yet visible); false when it does not. */
  tryWrite(stream, kind, payload) {
    const len = payload.length;
    const size = packetSize(len);
    if (this.free() < size) {
      this.tail = Atomics.load(this.words, TAIL) >>> 0;
      if (this.free() < size) return false;
    }
    const at = this.head & this.mask;
    // Packets are 8-aligned and the area is a multiple of 8: a header never straddles the end.
    const word = (DATA + at) >>> 2;
    this.u32[word] = len;
    this.u32[word + 1] = stream | (kind << 16);
    const p = (at + 8) & this.mask;
    const first = Math.min(len, this.capacity - p);
    if (first === len) {
      this.u8.set(payload, DATA + p);
    } else {
      this.u8.set(payload.subarray(0, first), DATA + p);
      this.u8.set(payload.subarray(first), DATA);
    }
    this.head = (this.head + size) >>> 0;
    return true;
  }

  /** Makes everything written visible and wakes the consumer. */
  publish() {
    if (this.head === this.published) return;
    Atomics.store(this.words, HEAD, this.head | 0);
    this.published = this.head;
    Atomics.add(this.words, WAKE, 1);
    Atomics.notify(this.words, WAKE);
  }

  /** Publishes, then blocks (dedicated worker) until `size` bytes are free. */
  waitForSpace(size) {
    this.publish();
    Atomics.store(this.words, WANT_SPACE, 1);
    for (;;) {
      const seen = Atomics.load(this.words, TAIL);
      this.tail = seen >>> 0;
      if (this.free() >= size) break;
      waitOrThrow(this.words, TAIL, seen, "space in the ring");
    }
    Atomics.store(this.words, WANT_SPACE, 0);
  }

  /** Writes one packet, waiting for space if needed (not yet visible). */
  write(stream, kind, payload) {
    if (!this.tryWrite(stream, kind, payload)) {
      this.waitForSpace(packetSize(payload.length));
      this.tryWrite(stream, kind, payload);
    }
  }
}

export class JsConsumer {
  constructor(sab, maxLen) {
    this.words = new Int32Array(sab);
    this.u32 = new Uint32Array(sab);
    this.u8 = new Uint8Array(sab);
    this.capacity = this.words[CAPACITY];
    this.mask = this.capacity - 1;
    this.tail = Atomics.load(this.words, TAIL) >>> 0;
    this.scratch = new Uint8Array(Math.max(maxLen, 8));
  }

  prepareWait() {
    return Atomics.load(this.words, WAKE);
  }

  /** Copies every published packet out and hands it to `f(stream, kind, bytes, len)`. */
  drain(f) {
    const head = Atomics.load(this.words, HEAD) >>> 0;
    let pos = this.tail;
    let n = 0;
    while (pos !== head) {
      const at = pos & this.mask;
      const word = (DATA + at) >>> 2;
      const len = this.u32[word];
      const tag = this.u32[word + 1];
      const p = (at + 8) & this.mask;
      const first = Math.min(len, this.capacity - p);
      this.scratch.set(this.u8.subarray(DATA + p, DATA + p + first));
      if (first < len) this.scratch.set(this.u8.subarray(DATA, DATA + len - first), first);
      f(tag & 0xffff, (tag >>> 16) & 0xff, this.scratch, len);
      pos = (pos + packetSize(len)) >>> 0;
      n++;
    }
    if (pos !== this.tail) {
      Atomics.store(this.words, TAIL, pos | 0);
      this.tail = pos;
      if (Atomics.load(this.words, WANT_SPACE) !== 0) Atomics.notify(this.words, TAIL);
    }
    return n;
  }

  /** Sleeps until something is published after `seen` was read. */
  wait(seen, what) {
    waitOrThrow(this.words, WAKE, seen, what);
  }
}

/** The throughput producer: fixed-size packets from one buffer, published per batch. */
export function jsProduce(sab, plan) {
  if (plan.minLen !== plan.maxLen) throw new Error("the JS ring runs fixed-size packets only");
  const producer = new JsProducer(sab);
  const source = new Uint8Array(plan.maxLen);
  for (let i = 0; i < source.length; i++) source[i] = (i * 7 + 1) & 0xff;
  const streams = plan.streams ?? 1;
  const batch = plan.batchBytes ?? 65536;
  const len = plan.minLen;
  takeWaited();
  const start = performance.now();
  let bytes = 0;
  let messages = 0;
  let since = 0;
  while (bytes < plan.totalBytes) {
    producer.write(messages % streams, 0, source);
    bytes += len;
    messages++;
    since += len;
    if (since >= batch) {
      producer.publish();
      since = 0;
    }
  }
  const empty = new Uint8Array(0);
  for (let s = 0; s < streams; s++) producer.write(s, 1, empty);
  producer.publish();
  return { bytes, messages, elapsedMs: performance.now() - start, ...takeWaited() };
}

/** The throughput consumer: drains until every stream ended, sleeping on WAKE when empty. */
export function jsConsume(sab, plan) {
  const consumer = new JsConsumer(sab, plan.maxLen);
  let open = plan.streams ?? 1;
  let bytes = 0;
  let messages = 0;
  let touched = 0;
  let error = null;
  const onPacket = (stream, kind, payload, len) => {
    if (kind === 1) {
      open--;
      return;
    }
    if (len !== plan.minLen && error === null) error = `packet of ${len} bytes, expected ${plan.minLen}`;
    touched += payload[0];
    bytes += len;
    messages++;
  };
  takeWaited();
  const start = performance.now();
  while (open > 0) {
    const seen = consumer.prepareWait();
    const n = consumer.drain(onPacket);
    if (open === 0) break;
    if (n === 0) consumer.wait(seen, "the next packet");
  }
  const elapsedMs = performance.now() - start;
  return { bytes, messages, elapsedMs, ...takeWaited(), ok: error === null, error, touched };
}

/**
 * Round trips over two rings; mirrors ring_probe_ping in the shim. With `raw`, no ring: bump and
 * notify the other buffer's WAKE word, wait on this one's (the floor under any ring).
 */
export function jsPing(out, back, { rounds, gapMs, initiator, raw = false }) {
  const pause = new Int32Array(new SharedArrayBuffer(4));
  const rttMs = new Float64Array(initiator ? rounds : 0);
  let send;
  let receive;
  if (raw) {
    const outWords = new Int32Array(out);
    const backWords = new Int32Array(back);
    // Fresh buffers: WAKE starts at 0 (reading it here could miss a ping sent already).
    let seen = 0;
    send = () => {
      Atomics.add(outWords, WAKE, 1);
      Atomics.notify(outWords, WAKE);
    };
    receive = () => {
      for (;;) {
        const now = Atomics.load(backWords, WAKE);
        if (now !== seen) {
          seen = now;
          return;
        }
        waitOrThrow(backWords, WAKE, now, "the other side's message");
      }
    };
  } else {
    const producer = new JsProducer(out);
    const consumer = new JsConsumer(back, 64);
    const message = new Uint8Array(8);
    const noop = () => {};
    send = (round) => {
      message[0] = round & 0xff;
      if (!producer.tryWrite(0, 0, message)) throw new Error("ping ring unexpectedly full");
      producer.publish();
    };
    receive = () => {
      for (;;) {
        const seen = consumer.prepareWait();
        if (consumer.drain(noop) > 0) return;
        consumer.wait(seen, "the other side's message");
      }
    };
  }
  let afterWakeMs = 0;
  let woken = 0;
  for (let round = 0; round < rounds; round++) {
    if (initiator) {
      Atomics.wait(pause, 0, 0, gapMs);
      const t0 = performance.now();
      takeWoke();
      send(round);
      receive();
      const t1 = performance.now();
      rttMs[round] = t1 - t0;
      const w = takeWoke();
      if (w !== null) {
        afterWakeMs += t1 - w;
        woken++;
      }
    } else {
      takeWoke();
      receive();
      send(round);
      const w = takeWoke();
      if (w !== null) {
        afterWakeMs += performance.now() - w;
        woken++;
      }
    }
  }
  return { rttMs, afterWakeMs, woken };
}

/** The same operations as ring_probe_ops, done directly in JS: ns per call. */
export function jsOps(sab, iterations) {
  const words = new Int32Array(sab);
  const u8 = new Uint8Array(sab);
  const buf = new Uint8Array(65536).fill(1);
  const small = buf.subarray(0, 8);
  const mid = buf.subarray(0, 256);
  const big = Math.max(16, (iterations / 64) | 0);
  let sink = 0;
  const perCall = (f, calls) => {
    const start = performance.now();
    for (let i = 0; i < calls; i++) f(i);
    return ((performance.now() - start) * 1e6) / calls;
  };
  const result = {
    load: perCall((i) => (sink ^= Atomics.load(words, 16 + (i & 7))), iterations),
    store: perCall((i) => Atomics.store(words, 16 + (i & 7), i), iterations),
    add: perCall(() => (sink ^= Atomics.add(words, 17, 1)), iterations),
    notify: perCall(() => Atomics.notify(words, 17), iterations),
    write8: perCall((i) => u8.set(small, 256 + (i & 255) * 8), iterations),
    write256: perCall((i) => u8.set(mid, 256 + (i & 63) * 256), iterations),
    write64k: perCall(() => u8.set(buf, 256), big),
    read8: perCall((i) => small.set(u8.subarray(256 + (i & 255) * 8, 264 + (i & 255) * 8)), iterations),
    read256: perCall((i) => mid.set(u8.subarray(256 + (i & 63) * 256, 512 + (i & 63) * 256)), iterations),
    read64k: perCall(() => buf.set(u8.subarray(256, 256 + 65536)), big),
  };
  result.sink = sink;
  return result;
}

/** `TypedArray.set` bandwidth: `len`-byte copies from a private buffer into a SharedArrayBuffer. */
export function memcpy(len, totalBytes, capacity) {
  const dst = new Uint8Array(new SharedArrayBuffer(capacity));
  const src = new Uint8Array(len);
  for (let i = 0; i < len; i++) src[i] = (i * 7 + 1) & 0xff;
  const start = performance.now();
  let off = 0;
  let bytes = 0;
  while (bytes < totalBytes) {
    dst.set(src, off);
    off += len;
    if (off + len > capacity) off = 0;
    bytes += len;
  }
  return { bytes, elapsedMs: performance.now() - start };
}
