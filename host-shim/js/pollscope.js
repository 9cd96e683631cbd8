// Pollscope page-side loader: runs a WASI 0.2 command component in a Web Worker.
//
//   import { startComponent } from "./pollscope.js";
//   const guest = startComponent(bytesUrlOrResponse, { args, env, files, onStdout, onStderr });
//   (options.telemetry: false runs the guest with no telemetry recording at all.)
//   await guest.writeStdin(new TextEncoder().encode("hi\n")); guest.closeStdin();
//   const { exitCode } = await guest.done;
//
// Two workers share one SharedArrayBuffer: the wasm thread runs the guest and blocks in
// Atomics.wait; the event thread feeds it stdin through the packet ring. Both need a
// cross-origin isolated page (COOP same-origin + COEP require-corp).

import { registerGuest } from "./agent.js";
import { wasmThread } from "./wasm-thread.js";

const here = new URL(".", import.meta.url);

/** Default ring capacity (bytes of packet data, a power of two). */
export const DEFAULT_RING_CAPACITY = 1 << 20;

/** Explains what a page needs for SharedArrayBuffer, or returns null when it has it. */
export function isolationProblem() {
  if (globalThis.crossOriginIsolated) return null;
  return (
    "Pollscope needs a cross-origin isolated page (SharedArrayBuffer and Atomics.wait). " +
    "Serve the page with the headers `Cross-Origin-Opener-Policy: same-origin` and " +
    "`Cross-Origin-Embedder-Policy: require-corp` (and `Cross-Origin-Resource-Policy: same-origin` " +
    "on its scripts and wasm), e.g. with `pollscope serve app.wasm`."
  );
}

/**
 * A component and what its start needs of it: promises of `bytes`, of `compiled`, its core
 * modules (see CoreModules), and of `build`, the shim build for it (see TINYGO_MARKS); and
 * `hash()`, a promise of its start-cache digest (see BlockDigest), made when first asked.
 * `source` is its bytes, a URL, or a Response (or a promise of one, as from fetch()). A body
 * still arriving is read as it comes and all of these are worked out chunk by chunk, each core
 * module compiling while its own bytes arrive, so its last byte leaves little to do; bytes in
 * hand are searched and hashed when asked. `trace(what)` hears each module compiled.
 */
function loadComponent(source, trace) {
  const modules = new CoreModules(trace);
  const tinygo = new NeedleSearch(TINYGO_MARKS);
  const digest = new BlockDigest();
  const arrived = (bytes, length) => {
    modules.arrived(bytes, length);
    tinygo.arrived(bytes, length);
    digest.arrived(bytes, length);
  };
  let bytes;
  if (source instanceof Uint8Array || source instanceof ArrayBuffer) {
    // Bytes in hand are searched and hashed when asked, as they were before anything
    // streamed: at load, that work took cores the workers' start needed.
    const whole = source instanceof Uint8Array ? source : new Uint8Array(source);
    modules.arrived(whole, whole.length);
    bytes = Promise.resolve(whole);
  } else {
    bytes = readComponent(source, arrived);
  }
  // A module cut short is left out; a component that never arrived compiles nothing (`bytes`
  // carries the error).
  const ended = bytes.finally(() => modules.ended());
  let hash = null;
  return {
    bytes,
    compiled: ended.then(() => modules.all(), () => []),
    build: bytes.then((whole) => {
      tinygo.arrived(whole, whole.length);
      return tinygo.foundAll() ? "pollscope_shim_tinygo" : "pollscope_shim";
    }),
    hash: () => (hash ??= bytes.then((whole) => digest.ended(whole))),
  };
}

/** The whole body of `source` (a URL or a Response, or a promise of one), handing each chunk
 * to `arrived(bytes, length)` as it comes: `bytes[0..length)` are in. */
async function readComponent(source, arrived) {
  const response = source instanceof Response || typeof source?.then === "function" ? await source : await fetch(source);
  if (!(response instanceof Response)) throw new Error("the component source is not bytes, a URL or a Response");
  checkOk(response, response.url || "the component");
  if (!response.body) {
    const whole = new Uint8Array(await response.arrayBuffer());
    arrived(whole, whole.length);
    return whole;
  }
  // Content-Length is only a first guess: a compressed body is longer than it says.
  const guess = Number(response.headers.get("Content-Length"));
  let buffer = new Uint8Array(Number.isSafeInteger(guess) && guess > 0 ? guess : 1 << 20);
  let length = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (length + value.length > buffer.length) {
      // A new buffer: views of the old one already handed to a compile stay as they are.
      const grown = new Uint8Array(Math.max(buffer.length * 2, length + value.length));
      grown.set(buffer.subarray(0, length));
      buffer = grown;
    }
    buffer.set(value, length);
    length += value.length;
    arrived(buffer, length);
  }
  return length === buffer.length ? buffer : buffer.subarray(0, length);
}

function normalizeFiles(files) {
  const encoder = new TextEncoder();
  return Object.entries(files ?? {}).map(([path, contents]) => [
    path,
    typeof contents === "string" ? encoder.encode(contents) : new Uint8Array(contents),
  ]);
}

/** Horspool's search for `needle` (ASCII, under 256 characters): a function telling whether
 * `bytes[from..to)` holds it. It looks at about one byte in `needle.length` (a scan that
 * stopped at every byte like the needle's first took 10-20 ms of a 3 MB component's start, on
 * the page's main thread, every other start-up step waiting behind it). */
function horspool(needle) {
  const m = needle.length;
  const pattern = Uint8Array.from(needle, (c) => c.charCodeAt(0));
  // How far the window may move when its last byte is this one.
  const shift = new Uint8Array(256).fill(m);
  for (let i = 0; i < m - 1; i++) shift[pattern[i]] = m - 1 - i;
  return (bytes, from, to) => {
    for (let end = from + m - 1; end < to; end += shift[bytes[end]]) {
      let k = m - 1;
      while (k >= 0 && bytes[end - (m - 1 - k)] === pattern[k]) k--;
      if (k < 0) return true;
    }
    return false;
  };
}

/** Whether a component's bytes hold every one of some needles, searched as they arrive: each
 * new stretch together with the needle's length − 1 bytes before it, so a needle split across
 * two chunks is found too. A needle is looked for only once the ones before it were found (a
 * component without the first, most of them, costs one search, as `&&` did), from where its
 * own search stopped. */
class NeedleSearch {
  constructor(needles) {
    this.needles = needles.map((text) => ({ length: text.length, holds: horspool(text), found: false, searched: 0 }));
  }

  /** `bytes[0..length)` have arrived (earlier calls saw a prefix of them). */
  arrived(bytes, length) {
    for (const needle of this.needles) {
      if (!needle.found) {
        needle.found = needle.holds(bytes, Math.max(0, needle.searched - needle.length + 1), length);
        needle.searched = length;
      }
      if (!needle.found) return;
    }
  }

  foundAll() {
    return this.needles.every((needle) => needle.found);
  }
}

/** Two builds of the same shim: `pollscope_shim_tinygo` adds TinyGo's scheduler view and the
 * asyncify flight recorder (a fifth of the shim), for components that look like a TinyGo
 * program, which hold both of these: every one is asyncified (Binaryen exports
 * `asyncify_get_state`) and its name section (which -no-debug keeps) names its task package's
 * functions, e.g. `internal/task.start`. Not `tinygo_unwind`: wasm-opt inlines it away. */
const TINYGO_MARKS = ["asyncify_get_state", "internal/task."];

/** The start cache's digest of a component, made as its bytes arrive: the SHA-256 of the
 * SHA-256s of its DIGEST_BLOCK-byte blocks (the last one shorter), each block hashed off the
 * main thread once it is in, so the last byte of a streamed component leaves one block to hash,
 * not 3 MB. One block at a time, as one SHA-256 of them all would go (in parallel they took
 * cores the workers' start needed). */
const DIGEST_BLOCK = 1 << 20;
class BlockDigest {
  constructor() {
    this.blocks = [];
    this.hashed = 0;
    this.previous = Promise.resolve();
  }

  /** `bytes[0..length)` have arrived (earlier calls saw a prefix of them). */
  arrived(bytes, length) {
    while (length - this.hashed >= DIGEST_BLOCK) {
      this.hash(bytes.subarray(this.hashed, this.hashed + DIGEST_BLOCK));
      this.hashed += DIGEST_BLOCK;
    }
  }

  /** The digest in hex once `whole` is all the bytes (whatever part of them arrived() saw);
   * null when it cannot be computed. */
  async ended(whole) {
    this.arrived(whole, whole.length);
    if (whole.length > this.hashed || this.blocks.length === 0) this.hash(whole.subarray(this.hashed));
    try {
      const blocks = await Promise.all(this.blocks);
      const joined = new Uint8Array(blocks.length * 32);
      blocks.forEach((block, i) => joined.set(new Uint8Array(block), i * 32));
      return await sha256(joined);
    } catch {
      return null;
    }
  }

  /** Hashes `block` after the blocks before it (its bytes never change once in: a grown
   * buffer is a new one). */
  hash(block) {
    const next = this.previous.then(() => digest(block));
    this.blocks.push(next);
    this.previous = next.catch(() => {});
  }
}

/** SHA-256 of `data`, a promise of an ArrayBuffer (rejected where there is no crypto.subtle). */
function digest(data) {
  return Promise.resolve().then(() => crypto.subtle.digest("SHA-256", data));
}

/** Each shim build's compiled module by URL, compiled once per page (streaming, while the
 * workers start) and posted to every worker of every run, so a worker only instantiates it;
 * with the SHA-256 of its bytes (a promise of hex, or null), which keys the start cache.
 * A failed compile is forgotten (the worker then loads the shim itself and says what failed). */
const shimModules = new Map();
function compileShim(url) {
  return oncePerPage(shimModules, url, async () => {
    const response = await fetchOk(url);
    const hash = sha256(response.clone().arrayBuffer());
    try {
      return { module: await WebAssembly.compileStreaming(response.clone()), hash };
    } catch (error) {
      // A server that does not say `application/wasm` cannot stream.
      if (response.headers.get("Content-Type") === "application/wasm") throw error;
      return { module: await WebAssembly.compile(await response.arrayBuffer()), hash };
    }
  });
}

/** `make()`'s promise for `key`, made once per page; a rejected one is forgotten, so the next
 * call (the next start) tries again. */
function oncePerPage(cache, key, make) {
  key = String(key);
  let promise = cache.get(key);
  if (!promise) {
    promise = make();
    promise.catch(() => cache.delete(key));
    cache.set(key, promise);
  }
  return promise;
}

/** `fetch(url)`, or an Error naming the URL and the status when it is not ok. */
async function fetchOk(url) {
  return checkOk(await fetch(url), url);
}

/** `response`, or an Error naming `what` was fetched and the status when it is not ok. */
function checkOk(response, what) {
  if (!response.ok) throw new Error(`fetching ${what}: HTTP ${response.status}`);
  return response;
}

/** The SHA-256 of the bytes `data` resolves to, in hex; null when it cannot be computed. */
async function sha256(data) {
  try {
    const bytes = new Uint8Array(await digest(await data));
    return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
  } catch {
    return null;
  }
}

/**
 * The start cache (CacheStorage, this origin's): the translation a build of the shim made of a
 * component (`FromWasmThread::Translated`), under a key made of the shim's SHA-256 and the
 * component's digest (BlockDigest), so a reload of the same bytes skips parsing them, and
 * bytes that changed in any way (or a new shim) never find an old entry. It keeps the newest
 * START_CACHE_ENTRIES. Whatever fails here — no CacheStorage (an insecure context, some
 * private modes), a full quota — only means a cold start.
 */
export const START_CACHE = "pollscope-start-v1";
const START_CACHE_ENTRIES = 64;
let startCacheOpened = null;
const startCache = () =>
  (startCacheOpened ??= (async () => (globalThis.caches ? await caches.open(START_CACHE) : null))().catch(
    () => null,
  ));

async function cachedTranslation(key) {
  try {
    const cache = key && (await startCache());
    const response = cache && (await cache.match(key));
    return response ? await response.text() : null;
  } catch {
    return null;
  }
}

async function keepTranslation(key, json) {
  try {
    const cache = key && (await startCache());
    if (!cache) return;
    await cache.put(key, new Response(json, { headers: { "Content-Type": "application/json" } }));
    const keys = await cache.keys();
    await Promise.all(keys.slice(0, Math.max(0, keys.length - START_CACHE_ENTRIES)).map((old) => cache.delete(old)));
  } catch {
    // A cold start next time.
  }
}

/** The wasm worker's script (wasm-thread.js's code, for the shim files at `base`) as a blob:
 * URL, made once per page: a worker started from it fetches nothing, where from its URL it
 * fetches its script and then the shim's bindings, one after the other, before it can take the
 * init message. null once a worker from it failed to start (a policy that refuses blob:
 * workers): workers then start from wasm-worker.js. */
const wasmWorkerScripts = new Map();
function wasmWorkerScript(base) {
  const key = String(base);
  if (!wasmWorkerScripts.has(key)) {
    let url = null;
    try {
      const source = `(${wasmThread})(${JSON.stringify(key)});\n`;
      url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
    } catch {
      // No blob: URLs here.
    }
    wasmWorkerScripts.set(key, url);
  }
  return wasmWorkerScripts.get(key);
}

/** A shim build's wasm-bindgen bindings (`<build>.js`) as a blob: URL of a copy the page
 * fetched, once per page, while the wasm worker starts (the worker imports it from there);
 * null when it cannot be fetched (the worker then imports the file itself). */
const shimBindingsCopies = new Map();
function shimBindings(url) {
  return oncePerPage(shimBindingsCopies, url, async () => {
    const response = await fetchOk(url);
    return URL.createObjectURL(new Blob([await response.text()], { type: "text/javascript" }));
  }).catch(() => null);
}

/**
 * A component's own core modules (its top-level core module sections), found from the section
 * headers as the bytes arrive, without parsing anything else, and each compiled off the main
 * thread: at once when its bytes are all here, else with WebAssembly.compileStreaming fed its
 * bytes as they come. `all()` resolves, once the bytes ended, with the ones that compiled as
 * `ToWasmThread::Compiled` lists them ({ start, end, module }). A module that failed (or a
 * malformed header, which ends the search) is left out: the wasm thread parses the component
 * in full, takes a compiled module only for a range it finds itself, compiles the rest and
 * reports what is wrong where it belongs.
 */
class CoreModules {
  constructor(trace = () => {}) {
    this.trace = trace;
    // Where the next section header starts; null once the bytes are not a component.
    this.at = 8;
    this.compiles = [];
    // The module whose bytes are still arriving: { end, fed, controller }.
    this.streaming = null;
  }

  /** `bytes[0..length)` have arrived (earlier calls saw a prefix of them). */
  arrived(bytes, length) {
    if (this.at === 8 && length >= 8) {
      // `\0asm`, then the component encoding's version 0x0d and layer 1.
      const preamble = [0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00];
      if (preamble.some((byte, i) => bytes[i] !== byte)) this.at = null;
    }
    while (this.at !== null && length > 8) {
      if (this.streaming) {
        const { end, fed, controller } = this.streaming;
        const upTo = Math.min(end, length);
        if (upTo > fed) controller.enqueue(bytes.subarray(fed, upTo));
        this.streaming.fed = upTo;
        if (upTo < end) return;
        controller.close();
        this.streaming = null;
      }
      const header = sectionHeader(bytes, this.at, length);
      if (header === null) return; // not all here yet
      if (header === undefined) {
        this.at = null; // malformed: the wasm thread says what is wrong
        return;
      }
      const { id, start, end } = header;
      this.at = end;
      if (id === 1) this.compile(bytes, start, end, length);
    }
  }

  /** Compiles the core module at `bytes[start..end)`, of which `length - start` are here. */
  compile(bytes, start, end, length) {
    const index = this.compiles.length;
    const streamed = end > length;
    let module;
    if (streamed) {
      let controller;
      const body = new ReadableStream({ start: (c) => (controller = c) });
      this.streaming = { end, fed: start, controller };
      // Where it cannot stream, the wasm thread compiles it.
      module = Promise.resolve().then(() =>
        WebAssembly.compileStreaming(new Response(body, { headers: { "Content-Type": "application/wasm" } })),
      );
    } else {
      module = WebAssembly.compile(bytes.subarray(start, end));
    }
    this.compiles.push(
      module.then(
        (compiled) => {
          this.trace(`core module ${index} compiled (${end - start} B${streamed ? ", while it arrived" : ""})`);
          return { start, end, module: compiled };
        },
        () => null,
      ),
    );
  }

  /** No more bytes come: a module cut short is left out. */
  ended() {
    this.streaming?.controller.error(new Error("the component ended inside this core module"));
    this.streaming = null;
  }

  /** The modules that compiled, once every compile settled. */
  async all() {
    return (await Promise.all(this.compiles)).filter(Boolean);
  }
}

/** The section header at `bytes[at..length)`: { id, start, end } (the section's contents),
 * null when not all of it has arrived, undefined when it cannot be one. */
function sectionHeader(bytes, at, length) {
  if (at >= length) return null;
  let size = 0;
  let i = at + 1;
  for (let shift = 0; ; shift += 7) {
    if (shift > 28) return undefined;
    if (i >= length) return null;
    const byte = bytes[i++];
    size += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) break;
  }
  return { id: bytes[at], start: i, end: i + size };
}

/**
 * A worker message's kind and fields. Messages between this loader and its workers are
 * `pollscope_protocol::worker`'s enums as the shim writes and reads them: `{ kind: fields }`,
 * or `"kind"` for a kind without fields.
 */
function kindOf(data) {
  if (typeof data === "string") return [data, {}];
  if (data !== null && typeof data === "object") {
    const kinds = Object.keys(data);
    if (kinds.length === 1) return [kinds[0], data[kinds[0]] ?? {}];
  }
  return [null, {}];
}

/**
 * The page's end of the output ring (see `FromWasmThread::OutputRing`; the algorithm is
 * pollscope-ring's consumer): the wasm thread writes the guest's stdout (stream 1) and stderr
 * (stream 2) into a SharedArrayBuffer it reuses; this copies each packet out, in order, hands
 * it to `deliver(stream, bytes)` and frees its room. It wakes on the ring's wake word with
 * Atomics.waitAsync, and a wasm thread blocked on a full ring wakes when this frees room.
 *
 * Each copy is a fresh buffer the receiver may keep, unless `borrow`: then every packet is
 * copied into one reused buffer and `bytes` is a view of it, valid until `deliver` returns.
 * A fresh buffer's pages are faulted in (and zeroed) as the copy lands, which costs about as
 * much as the copy itself; a reused buffer's pages are already there.
 */
class OutputRing {
  constructor(ring, layout, deliver, borrow = false) {
    this.words = new Int32Array(ring);
    this.bytes = new Uint8Array(ring);
    this.layout = layout;
    this.deliver = deliver;
    this.lent = borrow ? new Uint8Array(0) : null;
    this.capacity = this.words[layout.capacity] >>> 0;
    this.tail = Atomics.load(this.words, layout.tail) >>> 0;
    this.stopped = false;
    this.watch();
  }

  /** Delivers everything published so far. */
  drain() {
    const { words, bytes, layout, capacity } = this;
    const mask = capacity - 1;
    const data = layout.dataOffset;
    const head = Atomics.load(words, layout.head) >>> 0;
    let tail = this.tail;
    if (tail === head) return;
    const header = new DataView(bytes.buffer);
    while (tail !== head) {
      // Packets are 8-aligned in an area a multiple of 8 long: a header never wraps.
      const at = data + (tail & mask);
      const length = header.getUint32(at, true);
      const stream = header.getUint16(at + 4, true);
      const start = (tail + 8) & mask;
      const first = Math.min(length, capacity - start);
      // A copy out of shared memory (TextDecoder refuses shared views), kept or lent.
      let payload;
      if (first === length && this.lent === null) {
        payload = bytes.slice(data + start, data + start + length);
      } else {
        payload = this.destination(length);
        payload.set(bytes.subarray(data + start, data + start + first));
        if (first < length) payload.set(bytes.subarray(data, data + length - first), first);
      }
      tail = (tail + 8 + ((length + 7) & ~7)) >>> 0;
      if (length > 0) this.deliver(stream, payload);
    }
    this.tail = tail;
    Atomics.store(words, layout.tail, tail | 0);
    if (Atomics.load(words, layout.wantSpace) !== 0) Atomics.notify(words, layout.tail);
  }

  /** Where a packet of `length` bytes is copied: a fresh buffer, or the lent one's start. */
  destination(length) {
    if (this.lent === null) return new Uint8Array(length);
    if (this.lent.length < length) this.lent = new Uint8Array(Math.max(length, this.lent.length * 2, 1 << 16));
    return this.lent.subarray(0, length);
  }

  /** Drains whenever the wake word moves, until stop(). */
  watch() {
    while (!this.stopped) {
      const seen = Atomics.load(this.words, this.layout.wake);
      this.drain();
      const wait = Atomics.waitAsync(this.words, this.layout.wake, seen);
      if (wait.async) {
        wait.value.then(() => this.watch());
        return;
      }
    }
  }

  stop() {
    this.stopped = true;
    // Settles the pending waitAsync, whose promise would otherwise keep the ring alive (4 MiB
    // per run) for as long as the page lives.
    Atomics.notify(this.words, this.layout.wake);
  }
}

/** Most wait and host-call records kept for exportTrace() (the newest). */
const TRACE_RECORDS = 65536;

/** writeStdin() hands the event thread at most this many bytes per message (which it splits
 * again into ring packets of one MTU: none is ever reassembled, so no write of any size can
 * pass the ring's 16 MiB reassembly limit and break it)… */
export const STDIN_CHUNK = 1 << 20;
/** …and keeps at most this many bytes handed over but not yet in the ring, so a huge write
 * waits in the page (where its bytes already are) instead of piling up in the event thread,
 * and commands (pause, resume, step) queue behind at most this much stdin. */
export const STDIN_IN_FLIGHT = 4 << 20;
/** A piece of stdin this large goes in a reused buffer of STDIN_CHUNK bytes (a smaller one in
 * a copy of its own size); at most STDIN_BUFFERS_KEPT of them wait for reuse. */
const STDIN_POOLED = 64 << 10;
const STDIN_BUFFERS_KEPT = 8;

/**
 * Starts a component. Returns a handle:
 * - done: Promise<{ exitCode, trap?, ring }> (ring: the final ringSnapshot()), rejected (Error)
 *   when the component cannot be loaded. After restart(), `done` is the new run's; the old
 *   run's promise resolves with { exitCode: null, restarted: true }.
 * - writeStdin(bytes): Promise resolved once the bytes are in the ring (backpressure); any
 *   size, sent in order in chunks of STDIN_CHUNK with at most STDIN_IN_FLIGHT bytes on the way
 * - closeStdin(): the guest's stdin reaches end-of-file after what was written
 * - options.borrowOutput: onStdout and onStderr get views of one reused buffer, valid only
 *   until the handler returns (decode or copy what you keep), instead of a fresh buffer per
 *   chunk: for programs that write a lot, a fresh buffer costs about as much as the copy
 * - options.onRingError(reason): the event ring broke (said once, also on the console and as
 *   `ringError` in `done`'s outcome): the guest's stdin was closed and commands no longer
 *   reach it
 * - pause() / resume(): stop the guest at its next host call or wait, and let it go on
 * - step(): let a paused guest run to its next wait, perform that wait, and pause before the
 *   one after (a guest paused in the middle of a wait first finishes that wait)
 * - setTimeScale(x): the guest's clocks run at x × real time (0.1–10): sleeps last 1/x as long
 * - subscribe({ detail, replay }) / unsubscribe(): telemetry to options.onTelemetry(message),
 *   each message a parsed `FromWasm` object (hello and snapshot on subscribe, then event
 *   batches before every wait and at least every 100 ms of host calls; with detail, every wait,
 *   host call, pollable change and ring sample; the guest's output as it is flushed, with
 *   replay the newest 64 KiB written before first); snapshot() asks for one more snapshot
 *   (sent after the guest's current host call). How the guest ended (exit, trap) and a broken
 *   ring reach onTelemetry whether subscribed or not. options.onFromWasm(json, message) gets
 *   each message's JSON text beside it (what a panel decodes).
 * - panelCommand(json): a command from a panel, as protocol JSON text (a `ToWasm`); checked by
 *   the event thread (version, ranges), anything else dropped
 * - exportTrace(): Promise of Chrome trace-event JSON text (Perfetto, chrome://tracing) of the
 *   waits and host calls received so far (subscribe with detail first; the newest 65536 of
 *   each are kept); while the guest runs
 * - restart(changes): stops both workers and starts the same bytes with the same options
 *   (updated by `changes`, e.g. { asyncifyRecorder: true }) again, keeping the subscription
 *   and time scale; returns the handle
 * - ringSnapshot(): Promise of the ring's counters { capacity, used, highWater, packetsIn,
 *   bytesIn, packetsOut, bytesOut, stalls, backlog }, read without stopping the guest
 * - stop(): ends the guest at its next host call or wait as an `interrupted` trap, so `done`
 *   still resolves with how it ended, after what it wrote to write-back preopens went out
 *   (a guest computing without host calls goes on: terminate() ends it regardless)
 * - terminate(): stops the guest; `done` resolves with { exitCode: 137, terminated: true }
 */
export function startComponent(source, options = {}) {
  const problem = isolationProblem();
  if (problem) {
    // The same shape as a running guest's handle, so callers need no special case: every
    // method is inert and `done` carries the explanation.
    const done = Promise.reject(new Error(problem));
    const inert = () => {};
    return {
      done,
      writeStdin: () => done,
      ringSnapshot: () => Promise.resolve(null),
      exportTrace: () => done,
      ...Object.fromEntries(
        ["closeStdin", "pause", "resume", "step", "panelCommand", "setTimeScale", "subscribe", "unsubscribe", "snapshot", "stop", "terminate"]
          .map((name) => [name, inert]),
      ),
      restart() {
        return this;
      },
    };
  }
  // The page agent (agent.js) relays this guest to the DevTools extension while a panel watches.
  const agentLink = registerGuest(options);
  options = agentLink.options;
  // Fetched and its core modules compiled once, as the first run's workers start, and kept
  // for restarts.
  let loaded = null;
  const load = () => (loaded ??= loadComponent(source, (what) => options.onTrace?.(what)));
  const component = {
    bytes: () => load().bytes,
    compiled: () => load().compiled,
    build: () => load().build,
    hash: () => load().hash(),
  };
  // A panel's commands that are the loader's to carry out (the event thread checked them).
  const forLoader = (command) => {
    switch (command.type) {
      case "restart":
        return handle.restart();
      case "record-asyncify":
        return handle.restart({ asyncifyRecorder: command.on });
      case "stdin":
        return handle.writeStdin(Uint8Array.from(command.data));
      case "close-stdin":
        return handle.closeStdin();
    }
  };
  let run = launch(component, options, forLoader);
  // Replayed on a restart.
  let subscription = null;
  let timeScale = null;
  const handle = {
    get done() {
      return run.done;
    },
    writeStdin: (data) => run.writeStdin(data),
    closeStdin: () => run.closeStdin(),
    pause: () => run.control({ type: "pause" }),
    resume: () => run.control({ type: "resume" }),
    step: () => run.control({ type: "step" }),
    panelCommand: (json) => run.panelCommand(json),
    setTimeScale(scale) {
      timeScale = scale;
      run.control({ type: "time-scale", scale });
    },
    subscribe({ detail = false, replay = false } = {}) {
      subscription = { type: "subscribe", detail: Boolean(detail), replay: Boolean(replay) };
      run.control(subscription);
    },
    unsubscribe() {
      subscription = null;
      run.control({ type: "unsubscribe" });
    },
    snapshot: () => run.control({ type: "snapshot" }),
    exportTrace: () => run.exportTrace(),
    ringSnapshot: () => run.ringSnapshot(),
    stop: () => run.stop(),
    terminate: () => run.terminate(),
    restart(changes = {}) {
      options = { ...options, ...changes };
      run.restarted();
      options.onRestart?.();
      run = launch(component, options, forLoader);
      if (timeScale !== null) run.control({ type: "time-scale", scale: timeScale });
      if (subscription) run.control(subscription);
      return handle;
    },
  };
  agentLink.attach(handle);
  return handle;
}

/** One run: both workers for the bytes `component.bytes()` (a promise) resolves to, with the
 * core modules `component.compiled()` compiled; see startComponent. `forLoader(command)`
 * carries out a panel's restart and stdin commands. */
function launch(component, options, forLoader) {
  const ringCapacity = options.ringCapacity ?? DEFAULT_RING_CAPACITY;
  const baseUrl = new URL(options.baseUrl ?? here, location.href);
  // The plain shim compiles while the workers start (the event thread always runs it; the
  // wasm thread unless the component looks like a TinyGo program).
  const shimUrl = (build) => new URL(`${build}_bg.wasm`, baseUrl);
  const shimModule = (build) =>
    compileShim(shimUrl(build)).then(
      ({ module }) => module,
      () => null, // the worker loads it itself and reports why it cannot
    );
  // The start cache's key for this component on `build` (null: no cache this time).
  const startCacheKey = async (build) => {
    const [shim, bytes] = await Promise.all([
      compileShim(shimUrl(build)).then(({ hash }) => hash, () => null),
      component.hash(),
    ]);
    return shim && bytes ? new URL(`pollscope-start-cache/${build}/${shim}/${bytes}.json`, baseUrl).href : null;
  };
  let cacheKey = Promise.resolve(null);
  // Opened while the shim and the component are hashed for the key (once per page).
  startCache();
  const plainShim = shimModule("pollscope_shim");
  const bindingsOf = (build) => shimBindings(new URL(`${build}.js`, baseUrl));
  const plainBindings = bindingsOf("pollscope_shim");
  // Started below, from wasmWorkerScript's blob: URL if it can.
  let wasmWorker = null;
  const eventWorker = new Worker(new URL("event-worker.js", baseUrl), { type: "module", name: "pollscope-events" });
  const onStdout = options.onStdout ?? ((bytes) => console.log(new TextDecoder().decode(bytes)));
  const onStderr = options.onStderr ?? ((bytes) => console.error(new TextDecoder().decode(bytes)));
  // Start-up milestones, for embedders diagnosing a guest that never starts.
  const trace = options.onTrace ?? (() => {});

  let nextAck = 0;
  const pendingAcks = new Map();
  let nextSnapshot = 0;
  const pendingSnapshots = new Map();
  let nextTrace = 0;
  const pendingTraces = new Map();
  // What exportTrace() needs: the hello and the newest wait and host-call records (bounded).
  let hello = null;
  const waits = [];
  const hostCalls = [];
  const keep = (into, records) => {
    for (const record of records ?? []) into.push(record);
    if (into.length > TRACE_RECORDS) into.splice(0, into.length - TRACE_RECORDS);
  };
  // Stdin not yet handed to the event thread, in order: { data, resolve } (resolve on a write's
  // last chunk only) or { close }.
  const stdinQueue = [];
  let stdinInFlight = 0;
  // Buffers of STDIN_CHUNK bytes the event thread handed back, for the next large writes.
  const stdinBuffers = [];
  // The guest's stdout and stderr (an OutputRing once the wasm thread sent it).
  let outputRing = null;
  // Why the ring broke, once it did.
  let ringError = null;
  let settled = false;
  let resolveDone, rejectDone;
  const done = new Promise((resolve, reject) => {
    resolveDone = resolve;
    rejectDone = reject;
  });
  const finish = (outcome, isError) => {
    if (settled) return;
    settled = true;
    outputRing?.stop();
    wasmWorker?.terminate();
    eventWorker.terminate();
    for (const resolve of pendingAcks.values()) resolve();
    pendingAcks.clear();
    for (const item of stdinQueue.splice(0)) item.resolve?.();
    for (const resolve of pendingSnapshots.values()) resolve(null);
    pendingSnapshots.clear();
    // The event thread is gone: build the trace from what is kept, without it.
    for (const { reject } of pendingTraces.values()) reject(new Error("the guest ended before the trace was built"));
    pendingTraces.clear();
    if (isError) rejectDone(outcome);
    else resolveDone(ringError !== null && outcome.exitCode !== null ? { ...outcome, ringError } : outcome);
  };

  const finalSnapshot = () => handle.ringSnapshot();
  // Everything for the event thread waits until it has the shim and the ring (in call order).
  const toEventThread = (message, transfer = []) =>
    eventThreadReady.then(() => eventWorker.postMessage(message, transfer));
  // One FromWasm message, parsed once: what ends the run, what exportTrace() keeps.
  const fromWasm = (json) => {
    const message = JSON.parse(json);
    switch (message.type) {
      case "hello":
        hello = message;
        break;
      case "events":
        keep(waits, message.waits);
        keep(hostCalls, message.host_calls);
        break;
      // The ring's final counters travel with the outcome (one round trip to the event thread).
      case "exit":
        finalSnapshot().then((ring) => finish({ exitCode: message.code, ring }, false));
        break;
      case "trap":
        finalSnapshot().then((ring) =>
          finish({ exitCode: 134, trap: { message: message.message, frames: message.frames }, ring }, false),
        );
        break;
      case "ring-error":
        if (ringError === null) {
          ringError = String(message.reason);
          console.error(
            `pollscope: the event ring broke (${ringError}): the guest's stdin was closed, and ` +
              "pause, resume, step and the other commands no longer reach it",
          );
          options.onRingError?.(ringError);
        }
        break;
    }
    options.onFromWasm?.(json, message);
    options.onTelemetry?.(message);
  };
  const onWasmMessage = ({ data }) => {
    const [kind, fields] = kindOf(data);
    // Output the guest wrote before this message (its end, say) comes first.
    outputRing?.drain();
    switch (kind) {
      case "output-ring":
        outputRing = new OutputRing(
          fields.ring,
          fields.layout,
          (stream, bytes) => (stream === 2 ? onStderr : onStdout)(bytes),
          options.borrowOutput === true,
        );
        break;
      case "message":
        fromWasm(fields.json);
        break;
      case "error":
        finish(new Error(fields.message), true);
        break;
      case "trace":
        trace(fields.what);
        break;
      case "loaded":
        trace("wasm worker started");
        wasmIsLoaded = true;
        wasmLoaded();
        break;
      case "ring":
        resolveRing(fields.ring);
        // After everything sent to the event thread so far: its answer means those are on the
        // ring, and the guest may start.
        handle.ringSnapshot().then(() => {
          trace("event thread ready");
          Atomics.store(startGate, 0, 1);
          Atomics.notify(startGate, 0);
        });
        break;
      case "translated":
        cacheKey.then((key) => keepTranslation(key, fields.json));
        break;
    }
    options.onMessage?.(data);
  };
  let resolveRing, eventLoaded, wasmLoaded;
  const ringReady = new Promise((resolve) => (resolveRing = resolve));
  const eventWorkerLoaded = new Promise((resolve) => (eventLoaded = resolve));
  const wasmWorkerLoaded = new Promise((resolve) => (wasmLoaded = resolve));
  eventWorker.onmessage = ({ data }) => {
    const [kind, fields] = kindOf(data);
    switch (kind) {
      case "loaded":
        eventLoaded();
        break;
      case "stdin-ack":
        pendingAcks.get(fields.id)?.();
        pendingAcks.delete(fields.id);
        break;
      case "stdin-buffer":
        if (fields.buffer?.byteLength === STDIN_CHUNK && stdinBuffers.length < STDIN_BUFFERS_KEPT) stdinBuffers.push(fields.buffer);
        break;
      case "ring-snapshot":
        pendingSnapshots.get(fields.id)?.(fields.snapshot);
        pendingSnapshots.delete(fields.id);
        break;
      case "chrome-trace": {
        const call = pendingTraces.get(fields.id);
        pendingTraces.delete(fields.id);
        if ("Err" in fields.result) call?.reject(new Error(fields.result.Err));
        else call?.resolve(fields.result.Ok);
        break;
      }
      case "for-loader":
        if (!settled) forLoader(fields);
        break;
      case "error":
        finish(new Error(fields.message), true);
        break;
    }
  };
  const workerFailed = (which) => (event) =>
    finish(new Error(`the ${which} worker failed: ${event.message ?? "could not load (check the shim's URL)"}`), true);
  // The wasm thread waits on this before it runs the guest (WasmInit.startGate).
  const startGate = new Int32Array(new SharedArrayBuffer(4));
  let wasmIsLoaded = false;
  const startWasmWorker = (url, fromBlob) => {
    wasmWorker = new Worker(url, { type: "module", name: "pollscope-wasm" });
    wasmWorker.onmessage = onWasmMessage;
    wasmWorker.onerror = (event) => {
      // A page whose policy refuses blob: workers (CSP worker-src): from the URL, as before.
      if (fromBlob && !wasmIsLoaded && !settled) {
        wasmWorker.terminate();
        wasmWorkerScripts.set(String(baseUrl), null);
        startWasmWorker(new URL("wasm-worker.js", baseUrl), false);
      } else {
        workerFailed("wasm")(event);
      }
    };
  };
  {
    const script = wasmWorkerScript(baseUrl);
    try {
      if (!script) throw new Error("no blob: URL");
      startWasmWorker(script, true);
    } catch {
      startWasmWorker(new URL("wasm-worker.js", baseUrl), false);
    }
  }
  eventWorker.onerror = workerFailed("event");

  // Messages go to a worker only after its script said it runs. The wasm thread makes the
  // event ring and sends it here for the event thread, which is so never on the way to the
  // guest's start: the component is fetched, its core modules and the shim compiled (once per
  // page: concurrently, off the main thread) while the workers start. The wasm thread gets
  // `init` once the shim is compiled and translates the component while the core modules still
  // compile; they follow as `compiled`.
  const eventThreadReady = (async () => {
    const module = await plainShim;
    await eventWorkerLoaded;
    eventWorker.postMessage({ shim: { module } });
    const ring = await ringReady;
    eventWorker.postMessage({ ring: { ring } });
    trace("event thread has the ring");
  })();
  eventThreadReady.catch(() => {});
  (async () => {
    const bytes = await component.bytes();
    trace(`component fetched (${bytes.length} B)`);
    const build = await component.build();
    cacheKey = startCacheKey(build);
    // The core modules compile meanwhile (once per component): the wasm thread gets them in a
    // second message and translates the component until they come.
    const compiling = component.compiled();
    // The worker's own copy, made while the shim compiles, moved to it (the page keeps `bytes`
    // for a restart): cloning 3 MB on the way was a few ms on the path.
    const copy = bytes.slice();
    const [module, bindings, translation] = await Promise.all([
      build === "pollscope_shim" ? plainShim : shimModule(build),
      build === "pollscope_shim" ? plainBindings : bindingsOf(build),
      cacheKey.then(cachedTranslation),
    ]);
    trace(`compiled ${build}`);
    await wasmWorkerLoaded;
    wasmWorker.postMessage(
      {
        init: {
        ringCapacity,
        shim: { build, module, bindings },
        component: copy,
        translation,
        startGate: startGate.buffer,
        args: options.args ?? ["app.wasm"],
        env: Object.entries(options.env ?? {}),
        // null: no initial-cwd (as wasmtime with --dir), undefined: "/"
        cwd: options.cwd === undefined ? "/" : options.cwd,
        preopens: options.preopens ?? ["/"],
        dirs: options.dirs ?? [],
        files: normalizeFiles(options.files),
        // false: the wasm thread skips the recorder entirely (no counters, waits or batches;
        // subscribe() then hears nothing). Clocks' time scale and pause/step still work.
        telemetry: options.telemetry !== false,
        // true: a TinyGo program's task switches (tinygo_launch / rewind / unwind) are
        // recorded for the panel's asyncify view; the module is rewritten at load.
        asyncifyRecorder: options.asyncifyRecorder === true,
        },
      },
      [copy.buffer],
    );
    const compiled = await compiling;
    trace(`compiled ${compiled.length} core modules`);
    wasmWorker.postMessage({ compiled: { modules: compiled } });
  })().catch((error) => finish(error, true));

  /** Hands queued stdin to the event thread while at most STDIN_IN_FLIGHT bytes are on the way. */
  const pumpStdin = () => {
    while (!settled && stdinQueue.length > 0) {
      const next = stdinQueue[0];
      if (next.close) {
        stdinQueue.shift();
        toEventThread("close-stdin");
        continue;
      }
      const size = next.data.length;
      if (stdinInFlight > 0 && stdinInFlight + size > STDIN_IN_FLIGHT) return;
      stdinQueue.shift();
      const id = nextAck++;
      stdinInFlight += size;
      pendingAcks.set(id, () => {
        stdinInFlight -= size;
        next.resolve?.();
        pumpStdin();
      });
      // Transferred: the event thread copies the bytes out and hands the buffer back.
      toEventThread({ stdin: { id, data: next.data } }, [next.data.buffer]);
    }
  };

  /** `piece` (at most STDIN_CHUNK bytes) copied into a buffer the page may transfer: a large
   * piece into one the event thread handed back, whose pages are already there (a fresh
   * buffer's page faults cost about as much as the copy). */
  const stdinCopy = (piece) => {
    if (piece.length < STDIN_POOLED) return piece.slice();
    const copy = new Uint8Array(stdinBuffers.pop() ?? new ArrayBuffer(STDIN_CHUNK), 0, piece.length);
    copy.set(piece);
    return copy;
  };

  const handle = {
    done,
    writeStdin(bytes) {
      if (settled) return Promise.resolve();
      // Copied now (the caller may reuse its array) in chunks of STDIN_CHUNK, each handed over
      // as acks come back, so the event thread never holds more than a chunk per message.
      const source = typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
      return new Promise((resolve) => {
        if (source.length === 0) stdinQueue.push({ data: new Uint8Array(0), resolve });
        for (let at = 0; at < source.length; at += STDIN_CHUNK) {
          const end = Math.min(at + STDIN_CHUNK, source.length);
          stdinQueue.push({ data: stdinCopy(source.subarray(at, end)), resolve: end === source.length ? resolve : null });
        }
        pumpStdin();
      });
    },
    closeStdin() {
      if (settled) return;
      // After everything written before it.
      stdinQueue.push({ close: true });
      pumpStdin();
    },
    /** A command of the protocol (`ToWasm`), e.g. { type: "step" }, checked by the event thread. */
    control(command) {
      if (!settled) toEventThread({ command });
    },
    /** A panel's command as JSON text, checked by the event thread (version, ranges). */
    panelCommand(json) {
      if (!settled && typeof json === "string") toEventThread({ "panel-command": { json } });
    },
    exportTrace() {
      if (settled) return Promise.reject(new Error("the guest has ended: export the trace before it does"));
      const id = nextTrace++;
      return new Promise((resolve, reject) => {
        pendingTraces.set(id, { resolve, reject });
        toEventThread({
          "chrome-trace": {
          id,
          hello: hello ? JSON.stringify(hello) : "",
          waits: JSON.stringify(waits),
          hostCalls: JSON.stringify(hostCalls),
          },
        });
      });
    },
    /** Ends this run for a restart: its `done` resolves with { exitCode: null, restarted: true }. */
    restarted() {
      finish({ exitCode: null, restarted: true, ring: null }, false);
    },
    /** The ring's occupancy and counters right now (the guest keeps running). */
    ringSnapshot() {
      if (settled) return Promise.resolve(null);
      const id = nextSnapshot++;
      return new Promise((resolve) => {
        pendingSnapshots.set(id, resolve);
        toEventThread({ "ring-snapshot": { id } });
      });
    },
    stop() {
      if (!settled) toEventThread("stop");
    },
    terminate() {
      finish({ exitCode: 137, terminated: true }, false);
    },
  };
  return handle;
}

/** Runs a component to completion; resolves with { exitCode, trap? }. */
export function runComponent(source, options = {}) {
  return startComponent(source, options).done;
}
