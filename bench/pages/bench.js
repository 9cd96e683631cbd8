// The benchmark page: runs the rows /config.json asks for, posts every measurement to the
// harness as it comes (POST /result), asks it to sample worker CPU at phase boundaries
// (POST /mark), and ends with POST /done or POST /error. The harness does all the arithmetic.
//
// Repetitions numbered below 0 are warm-up (JIT tier-up, first-touch of buffers); the harness
// drops them. Variants of a row alternate within each repetition so that machine noise hits
// them alike.

const statusEl = document.getElementById("status");
const config = await (await fetch("/config.json")).json();

async function post(path, body) {
  const response = await fetch(path, { method: "POST", body: JSON.stringify(body) });
  if (!response.ok) throw new Error(`POST ${path}: HTTP ${response.status}`);
}
const result = (row, variant, rep, data) => post("/result", { row, variant, rep, data });
const mark = (key, phase) => post("/mark", { key, phase });
const status = (text) => {
  statusEl.textContent = text;
};

/** A worker answering { id, … } requests with { id, ok, value | error }; other messages are
 * events. Requests wait for the worker's { ready: true }: a message posted to a module worker
 * before its script ran was, now and then, never delivered (Chromium 156, under load), which
 * hung the run (the loader waits the same way for its workers). */
class RpcWorker {
  constructor(url, name) {
    this.worker = new Worker(url, { type: "module", name });
    this.pending = new Map();
    this.nextId = 0;
    this.onEvent = () => {};
    this.ready = new Promise((resolve, reject) => {
      this.markReady = resolve;
      this.failed = reject;
    });
    this.ready.catch(() => {});
    this.worker.onmessage = ({ data }) => {
      if (data.ready) return this.markReady();
      if (data.event) return this.onEvent(data);
      const call = this.pending.get(data.id);
      this.pending.delete(data.id);
      if (data.ok) call?.resolve(data.value);
      else call?.reject(new Error(`${name}: ${data.error}`));
    };
    this.worker.onerror = (event) => {
      const error = new Error(`${name} failed: ${event.message ?? "could not load"}`);
      this.failed(error);
      for (const call of this.pending.values()) call.reject(error);
      this.pending.clear();
    };
  }

  async call(message) {
    await this.ready;
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...message, id });
    });
  }

  terminate() {
    this.worker.terminate();
  }
}

/** Runs the two requests on the two workers, starting both loops at the same moment. */
async function together(a, messageA, b, messageB) {
  const control = new SharedArrayBuffer(8);
  let armed = 0;
  let go;
  const bothArmed = new Promise((resolve) => (go = resolve));
  const onArmed = () => {
    if (++armed === 2) go();
  };
  a.onEvent = onArmed;
  b.onEvent = onArmed;
  const calls = Promise.all([a.call({ ...messageA, control }), b.call({ ...messageB, control })]);
  await Promise.race([bothArmed, calls]);
  const words = new Int32Array(control);
  Atomics.store(words, 0, 1);
  Atomics.notify(words, 0);
  return calls;
}

function repetitions() {
  const out = [];
  for (let rep = -config.warmup; rep < config.reps; rep++) out.push(rep);
  return out;
}

let shimPromise = null;
function shim() {
  shimPromise ??= (async () => {
    const module = await import("/bench-shim/pollscope_shim_bench.js");
    await module.default({ module_or_path: "/bench-shim/pollscope_shim_bench_bg.wasm" });
    if (typeof module.ring_probe_create !== "function") {
      throw new Error("the bench shim has no ring_probe_* exports: rebuild it with `cargo xtask bench ring`");
    }
    return module;
  })();
  return shimPromise;
}

async function newRing(impl, capacity, mtu) {
  if (impl === "rust") return (await shim()).ring_probe_create(capacity, mtu);
  const { createJsRing } = await import("./js-ring.js");
  return createJsRing(capacity, mtu);
}

async function ringPair(name) {
  const pair = [new RpcWorker("/bench/ring-worker.js", `${name}-a`), new RpcWorker("/bench/ring-worker.js", `${name}-b`)];
  await Promise.all(pair.map((w) => w.call({ cmd: "load" })));
  return pair;
}

// ---- sleep: guest std::thread::sleep(N ms) vs raw Atomics.wait(…, N), for each length -------
// Variants are named `<who>-<N>ms` (baseline, guest, jco-<mode>); jco runs at the first length.

async function sleepRow() {
  const { lengths, settleMs } = config.sleep;
  const baseline = new RpcWorker("/bench/sleep-worker.js", "sleep-baseline");
  const { startComponent } = await import("/pollscope/pollscope.js");
  const response = await fetch("/guests/bench_sleep.wasm");
  if (!response.ok) throw new Error(`fetching the bench_sleep guest: HTTP ${response.status}`);
  const guestBytes = new Uint8Array(await response.arrayBuffer());
  for (const rep of repetitions()) {
    for (const [index, { ms, iterations }] of lengths.entries()) {
      const variant = (who) => `${who}-${ms}ms`;
      status(`sleep ${rep}: baseline ${ms} ms`);
      const marks = [];
      baseline.onEvent = (event) => marks.push(mark(`sleep/${variant("baseline")}/${rep}`, event.phase));
      const base = await baseline.call({ iterations, ms, settleMs });
      await Promise.all(marks);
      await result("sleep", variant("baseline"), rep, base);

      status(`sleep ${rep}: guest ${ms} ms`);
      const guestMarks = [];
      const seen = new Set();
      const decoder = new TextDecoder();
      let stdout = "";
      let stderr = "";
      const guest = startComponent(guestBytes, {
        args: ["bench_sleep", String(iterations), String(ms), String(settleMs)],
        onStdout: (bytes) => {
          stdout += decoder.decode(bytes, { stream: true });
          for (const phase of ["start", "end"]) {
            if (!seen.has(phase) && stdout.includes(`phase ${phase}`)) {
              seen.add(phase);
              guestMarks.push(mark(`sleep/${variant("guest")}/${rep}`, phase));
            }
          }
        },
        onStderr: (bytes) => (stderr += new TextDecoder().decode(bytes)),
      });
      const outcome = await guest.done;
      await Promise.all(guestMarks);
      if (outcome.exitCode !== 0) {
        throw new Error(`bench_sleep exited with ${outcome.exitCode}: ${outcome.trap?.message ?? stderr}`);
      }
      await result("sleep", variant("guest"), rep, { stdout });
      if (index > 0) continue;
      for (const mode of jcoModes()) {
        status(`sleep ${rep}: jco ${mode}`);
        const jco = await runJco("bench_sleep", mode, [String(iterations), String(ms), "0"], { keepStdout: true });
        await result("sleep", variant(`jco-${mode}`), rep, { stdout: jco.stdout });
      }
    }
  }
  baseline.terminate();
}

// ---- ring: throughput, wake latency, and what each shared-memory operation costs -----------

async function ringRow() {
  const ring = config.ring;
  const pairs = { rust: await ringPair("ring-rust"), js: await ringPair("ring-js") };
  const copier = pairs.js[0];

  status("ring: operation costs");
  const opsBuffer = new SharedArrayBuffer(256 + 65536);
  for (const impl of ["rust", "js"]) {
    await pairs[impl][0].call({ cmd: "ops", impl, buffer: opsBuffer, iterations: ring.opsIterations });
    const costs = await pairs[impl][0].call({ cmd: "ops", impl, buffer: opsBuffer, iterations: ring.opsIterations });
    await result("ring-ops", impl, 0, costs);
  }

  for (const size of ring.sizes) {
    const plan = {
      totalBytes: size.totalBytes,
      minLen: size.len,
      maxLen: size.len,
      streams: 1,
      batchBytes: ring.batchBytes,
    };
    // One counted run per size and implementation: what the Rust ring does per packet.
    {
      const sab = await newRing("rust", ring.capacity, ring.mtu);
      const counted = { ...plan, totalBytes: Math.min(plan.totalBytes, 8 << 20), countOps: true };
      const [consumer, producer] = await together(
        pairs.rust[1], { cmd: "consume", impl: "rust", ring: sab, plan: counted },
        pairs.rust[0], { cmd: "produce", impl: "rust", ring: sab, plan: counted },
      );
      await result("ring-count", `${size.len}`, 0, { consumer, producer });
    }
    for (const rep of repetitions()) {
      for (const impl of ["rust", "js"]) {
        status(`ring ${size.len} B ${rep}: ${impl}`);
        const sab = await newRing(impl, ring.capacity, ring.mtu);
        const [consumer, producer] = await together(
          pairs[impl][1], { cmd: "consume", impl, ring: sab, plan: { ...plan, seed: rep + 100 } },
          pairs[impl][0], { cmd: "produce", impl, ring: sab, plan: { ...plan, seed: rep + 100 } },
        );
        if (!consumer.ok || consumer.bytes !== producer.bytes) {
          throw new Error(`${impl} ring lost data: sent ${producer.bytes}, got ${consumer.bytes}: ${consumer.error}`);
        }
        await result("ring-throughput", `${impl}/${size.len}`, rep, { consumer, producer });
      }
      if (ring.batchedExperiment) {
        // Not the shim's ring: the same Rust ring over a SharedMemory that batches its copies.
        status(`ring ${size.len} B ${rep}: rust, batched copies`);
        const sab = await newRing("rust", ring.capacity, ring.mtu);
        const batched = { ...plan, seed: rep + 100, batched: true };
        const [consumer, producer] = await together(
          pairs.rust[1], { cmd: "consume", impl: "rust", ring: sab, plan: batched },
          pairs.rust[0], { cmd: "produce", impl: "rust", ring: sab, plan: batched },
        );
        if (!consumer.ok || consumer.bytes !== producer.bytes) {
          throw new Error(`batched ring lost data: sent ${producer.bytes}, got ${consumer.bytes}: ${consumer.error}`);
        }
        await result("ring-throughput", `rust-batched/${size.len}`, rep, { consumer, producer });
      }
      const copy = await copier.call({ cmd: "memcpy", len: size.len, totalBytes: size.totalBytes, capacity: ring.capacity });
      await result("ring-throughput", `memcpy/${size.len}`, rep, copy);
    }
  }

  // Latency: the two rings, and the same ping-pong with no ring at all (raw WAKE words), from
  // wasm and from JS, to tell the ring's share from the wait's. One counted run first.
  const ping = async (impl, raw, extra = {}) => {
    const out = await newRing(impl, 1 << 16, 1024);
    const back = await newRing(impl, 1 << 16, 1024);
    const plan = { rounds: ring.latencyRounds, gapMs: ring.gapMs, raw, ...extra };
    const [first, second] = await together(
      pairs[impl][0], { cmd: "ping", impl, out, back, plan: { ...plan, initiator: true } },
      pairs[impl][1], { cmd: "ping", impl, out: back, back: out, plan: { ...plan, initiator: false } },
    );
    return {
      rttMs: Array.from(first.rttMs),
      afterWakeMs: first.afterWakeMs + second.afterWakeMs,
      woken: first.woken + second.woken,
      ops: first.ops,
    };
  };
  await result("ring-latency-count", "rust", 0, await ping("rust", false, { countOps: true, rounds: 100 }));
  for (const rep of repetitions()) {
    for (const impl of ["rust", "js"]) {
      for (const raw of [false, true]) {
        status(`ring latency ${rep}: ${impl}${raw ? " raw" : ""}`);
        await result("ring-latency", `${impl}${raw ? "/raw" : ""}`, rep, await ping(impl, raw));
      }
    }
  }
  for (const pair of Object.values(pairs)) pair.forEach((w) => w.terminate());
}

// ---- stress: the Rust ring under verified load (bench/tests/ring.rs) -------------------------

async function stressRow() {
  const [producerWorker, consumerWorker] = await ringPair("stress");
  for (const scenario of config.stress) {
    status(`stress: ${scenario.name}`);
    const sab = await newRing("rust", scenario.capacity, scenario.mtu);
    const [consumer, producer] = await together(
      consumerWorker, { cmd: "consume", impl: "rust", ring: sab, plan: scenario.plan },
      producerWorker, { cmd: "produce", impl: "rust", ring: sab, plan: scenario.plan },
    );
    await result("stress", scenario.name, 0, { consumer, producer });
  }
  producerWorker.terminate();
  consumerWorker.terminate();
}

// ---- steer: pause and resume a running guest over the control stream (bench/tests/steer.rs) --

async function steerRow() {
  const { intervalMs, pauseMs } = config.steer;
  const { startComponent } = await import("/pollscope/pollscope.js");
  const guestBytes = new Uint8Array(await (await fetch("/guests/io_ticker.wasm")).arrayBuffer());
  let stdout = "";
  const waiters = [];
  const ticks = () => (stdout.match(/^tick /gm) ?? []).length;
  const untilTicks = (n) =>
    new Promise((resolve) => {
      waiters.push({ n, resolve });
      check();
    });
  const check = () => {
    for (const w of waiters.splice(0)) (ticks() >= w.n ? w.resolve() : waiters.push(w));
  };
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const guest = startComponent(guestBytes, {
    args: ["io_ticker", String(intervalMs)],
    onStdout: (bytes) => {
      stdout += new TextDecoder().decode(bytes);
      check();
    },
  });
  status("steer: running");
  await untilTicks(3);
  const beforePause = ticks();
  guest.pause();
  // Ticks already on their way land (the command reaches the guest at its next host call or
  // wait; a loaded machine can delay that), then nothing may come.
  await sleep(Math.max(intervalMs * 5, 500));
  const pausedAt = ticks();
  status("steer: paused");
  await sleep(pauseMs);
  const afterPause = ticks();
  guest.resume();
  await untilTicks(afterPause + 3);
  const afterResume = ticks();
  await guest.writeStdin("quit\n");
  const outcome = await guest.done;
  await result("steer", "pause-resume", 0, {
    beforePause,
    pausedAt,
    afterPause,
    afterResume,
    exitCode: outcome.exitCode,
    stdout,
  });
}


// ---- jco peer and Pollscope guests: shared helpers -------------------------------------------

/** JSPI (WebAssembly.Suspending / promising), which jco's `--async-mode jspi` output needs. */
const hasJspi = typeof WebAssembly.Suspending === "function" && typeof WebAssembly.promising === "function";

/** Which jco modes this run measures: what the harness transpiled, JSPI only where it exists. */
const jcoModes = () => (config.jco?.modes ?? []).filter((mode) => mode !== "jspi" || hasJspi);

/** Runs a jco-transpiled guest once in a fresh worker (see jco-worker.js). */
async function runJco(guest, mode, args, extra = {}) {
  const worker = new RpcWorker("/bench/jco-worker.js", `jco-${mode}-${guest}`);
  try {
    const postedAt = performance.timeOrigin + performance.now();
    const value = await worker.call({ guest, mode, args: [guest, ...args], ...extra });
    if (value.exitCode !== 0) throw new Error(`jco ${mode} ${guest} exited with ${value.exitCode}: ${value.stderr}`);
    return { ...value, postedAt };
  } finally {
    worker.terminate();
  }
}

const guestBytesCache = new Map();
async function guestBytes(name) {
  if (!guestBytesCache.has(name)) {
    const response = await fetch(`/guests/${name}.wasm`);
    if (!response.ok) throw new Error(`fetching the ${name} guest: HTTP ${response.status}`);
    guestBytesCache.set(name, new Uint8Array(await response.arrayBuffer()));
  }
  return guestBytesCache.get(name);
}

/** Runs a guest under pollscope.js; `hooks.onStdout(bytes, now)` sees every chunk, and
 * `hooks.onStderr(now)` when each stderr chunk arrives. */
async function runPollscope(name, args, hooks = {}) {
  const { startComponent } = await import("/pollscope/pollscope.js");
  const bytes = await guestBytes(name);
  const decoder = new TextDecoder();
  let stdout = "";
  let stderr = "";
  const traces = [];
  const startedAt = performance.now();
  const guest = startComponent(bytes, {
    args: [name, ...args],
    borrowOutput: hooks.borrowOutput === true,
    onStdout: (chunk) => {
      const now = performance.now();
      if (hooks.onStdout) hooks.onStdout(chunk, now);
      if (!hooks.dropStdout) stdout += decoder.decode(chunk, { stream: true });
    },
    onStderr: (chunk) => {
      hooks.onStderr?.(performance.now());
      stderr += new TextDecoder().decode(chunk);
    },
    onTrace: (what) => traces.push({ what, ms: performance.now() - startedAt }),
  });
  if (hooks.started) await hooks.started(guest);
  const outcome = await guest.done;
  if (outcome.exitCode !== 0) {
    throw new Error(`${name} exited with ${outcome.exitCode}: ${outcome.trap?.message ?? stderr}`);
  }
  return { stdout, stderr, traces, startedAt, endedAt: performance.now(), ring: outcome.ring };
}

// ---- now: monotonic-clock.now ×N, and the floor: performance.now() from a tiny wasm module
// in a worker (floor-worker.js) ------------------------------------------------------------

async function nowRow() {
  const { iterations, jcoIterations } = config.now;
  const floor = new RpcWorker("/bench/floor-worker.js", "now-floor");
  for (const rep of repetitions()) {
    status(`now ${rep}: pollscope`);
    const run = await runPollscope("bench_now", [String(iterations)]);
    await result("now", "pollscope", rep, { stdout: run.stdout });
    status(`now ${rep}: floor`);
    for (const via of ["arrow", "bound"]) {
      await result("now", `floor/${via}`, rep, await floor.call({ iterations, via }));
    }
    for (const mode of jcoModes()) {
      status(`now ${rep}: jco ${mode}`);
      const jco = await runJco("bench_now", mode, [String(jcoIterations)], { keepStdout: true });
      await result("now", `jco-${mode}`, rep, { stdout: jco.stdout });
    }
  }
  floor.terminate();
}

// ---- stdout: TOTAL bytes in CHUNK-byte writes, counted where they land ------------------------

async function stdoutRow() {
  const { totalBytes, chunk } = config.stdout;
  // "pollscope": onStdout gets views of a reused buffer (borrowOutput); "pollscope-fresh": the
  // default, a fresh buffer per chunk that the handler may keep.
  const counted = async (variant, rep, borrowOutput) => {
    status(`stdout ${rep}: ${variant}`);
    let startMarker = null;
    let bytes = 0;
    let first = null;
    let last = null;
    const run = await runPollscope("bench_stdout", [String(totalBytes), String(chunk)], {
      dropStdout: true,
      borrowOutput,
      onStdout: (c, now) => {
        bytes += c.byteLength;
        first ??= now;
        last = now;
      },
      onStderr: (now) => (startMarker ??= now),
    });
    await result("stdout", variant, rep, {
      bytes,
      startMarkerToLastMs: last - startMarker,
      firstToLastMs: last - first,
      startToDoneMs: run.endedAt - run.startedAt,
      stderr: run.stderr,
    });
  };
  for (const rep of repetitions()) {
    await counted("pollscope", rep, true);
    await counted("pollscope-fresh", rep, false);
    // Breakdown: the same bytes in larger writes, to split per-write from per-byte cost.
    for (const big of config.stdout.breakdownChunks ?? []) {
      status(`stdout ${rep}: pollscope, ${big} B writes`);
      const again = await runPollscope("bench_stdout", [String(totalBytes), String(big)], {
        dropStdout: true,
        borrowOutput: true,
      });
      await result("stdout", `pollscope/${big}`, rep, { stderr: again.stderr });
    }
    for (const mode of jcoModes()) {
      status(`stdout ${rep}: jco ${mode}`);
      const jco = await runJco("bench_stdout", mode, [String(totalBytes), String(chunk)]);
      await result("stdout", `jco-${mode}`, rep, {
        bytes: jco.stdoutBytes,
        startMarkerToLastMs: jco.lastStdoutAt - jco.firstStderrAt,
        firstToLastMs: jco.lastStdoutAt - jco.firstStdoutAt,
        startToDoneMs: jco.endAt - jco.postedAt,
        stderr: jco.stderr,
      });
    }
  }
}

// ---- stdin: TOTAL bytes through writeStdin into a guest's blocking reads ---------------------

async function stdinRow() {
  const { totalBytes, writeBytes, inFlight } = config.stdin;
  const payload = new Uint8Array(writeBytes).fill(0x61);
  for (const rep of repetitions()) {
    status(`stdin ${rep}: pollscope`);
    let ready;
    const isReady = new Promise((resolve) => (ready = resolve));
    let reportedAt = null;
    let seen = "";
    let t0 = 0;
    const run = await runPollscope("bench_stdin", [], {
      onStdout: (c, now) => {
        seen += new TextDecoder().decode(c);
        if (seen.includes("ready")) ready();
        if (reportedAt === null && seen.includes("stdin bytes=")) reportedAt = now;
      },
      started: async (guest) => {
        await isReady;
        t0 = performance.now();
        const pending = [];
        for (let sent = 0; sent < totalBytes; sent += writeBytes) {
          pending.push(guest.writeStdin(payload.subarray(0, Math.min(writeBytes, totalBytes - sent))));
          if (pending.length >= inFlight) await pending.shift();
        }
        await Promise.all(pending);
        guest.closeStdin();
      },
    });
    await result("stdin", "pollscope", rep, { stdout: run.stdout, pageMs: reportedAt - t0, ring: run.ring });
    for (const mode of jcoModes()) {
      status(`stdin ${rep}: jco ${mode}`);
      const jco = await runJco("bench_stdin", mode, [], { keepStdout: true, stdin: { bytes: totalBytes } });
      await result("stdin", `jco-${mode}`, rep, { stdout: jco.stdout });
    }
  }
}

// ---- instantiate: from the component's bytes to the guest's first output ----------------------
// Pollscope runs in a fresh document each time (instantiate.html in an iframe, as after a
// reload): cold with the loader's start cache emptied first, then warm, a second load of the
// same bytes in the same browser profile. jco runs in a fresh worker, as in the other rows.

/** One Pollscope start of `bytes` in a fresh same-origin document; its { firstOutputMs, traces }
 * (see instantiate.html for `how`: a restart after it, or the bytes arriving over a link). */
async function inFreshPage(bytes, args, how = {}) {
  const frame = document.createElement("iframe");
  frame.src = "/bench/instantiate.html";
  let onMessage;
  const answer = new Promise((resolve, reject) => {
    onMessage = ({ source, data }) => {
      if (source !== frame.contentWindow) return;
      if (data.ready) frame.contentWindow.postMessage({ bytes, args, ...how }, location.origin);
      else if (data.error) reject(new Error(`instantiate.html: ${data.error}`));
      else resolve(data);
    };
  });
  window.addEventListener("message", onMessage);
  document.body.append(frame);
  // instantiate.html gives up on a start after 60 s; this covers a page that never loads.
  let timer;
  const stalled = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error("instantiate.html did not answer in 90 s")), 90_000);
  });
  try {
    return await Promise.race([answer, stalled]);
  } finally {
    clearTimeout(timer);
    window.removeEventListener("message", onMessage);
    frame.remove();
  }
}

async function instantiateRow() {
  const name = config.instantiate.guest;
  const bytes = await guestBytes(name);
  const { START_CACHE } = await import("/pollscope/pollscope.js");
  for (const rep of repetitions()) {
    const { mbitPerS, chunk } = config.instantiate.link;
    const link = (mode) => ({ link: { mode, bytesPerMs: (mbitPerS * 1e6) / 8 / 1000, chunk } });
    for (const [variant, keepCache, how] of [
      ["pollscope", false, {}],
      // The warm start's page then restarts the guest: nothing is left to compile or parse.
      ["pollscope-warm", true, { restart: true }],
      ["pollscope-link-streamed", false, link("streamed")],
      ["pollscope-link-downloaded", false, link("downloaded")],
    ]) {
      status(`instantiate ${rep}: ${variant}`);
      if (!keepCache) await caches.delete(START_CACHE);
      const { restarted, ...run } = await inFreshPage(bytes, [name], how);
      await result("instantiate", variant, rep, { bytes: bytes.length, ...run });
      if (restarted) await result("instantiate", "pollscope-restart", rep, { bytes: bytes.length, ...restarted });
    }
    for (const mode of jcoModes()) {
      status(`instantiate ${rep}: jco ${mode}`);
      const jco = await runJco(name, mode, []);
      await result("instantiate", `jco-${mode}`, rep, {
        firstOutputMs: jco.firstStdoutAt - jco.postedAt,
        workerStartMs: jco.startAt - jco.postedAt,
        importMs: jco.modulesAt - jco.startAt,
        compileMs: jco.compiledAt - jco.modulesAt,
        instantiateMs: jco.instantiatedAt - jco.compiledAt,
      });
    }
  }
}

// ---- telemetry: what a panel sees of a sleeping guest, steered and slowed (bench/tests/telemetry.rs)

/** Runs clocks_naps subscribed with detail; `run.until(pred)` resolves once pred() holds. */
async function napsRun(args) {
  const { startComponent } = await import("/pollscope/pollscope.js");
  const bytes = await guestBytes("clocks_naps");
  const decoder = new TextDecoder();
  const waiters = [];
  const check = () => {
    for (const w of waiters.splice(0)) (w.pred() ? w.resolve() : waiters.push(w));
  };
  const run = {
    stdout: "",
    messages: [],
    startedAt: performance.now(),
    lines: () => run.stdout.split("\n").filter((line) => line.startsWith("nap ")),
    of: (type) => run.messages.filter((m) => m.type === type),
    waits: () => run.of("events").flatMap((m) => m.waits).filter((w) => w.call !== "paused"),
    until: (pred) =>
      new Promise((resolve) => {
        waiters.push({ pred, resolve });
        check();
      }),
  };
  run.guest = startComponent(bytes, {
    args: ["clocks_naps", ...args],
    onStdout: (chunk) => {
      run.stdout += decoder.decode(chunk, { stream: true });
      check();
    },
    onTelemetry: (message) => {
      run.messages.push(message);
      check();
    },
  });
  run.guest.subscribe({ detail: true });
  return run;
}

async function telemetryRow() {
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  // Detail: six 20 ms naps; the trace is exported while the last one sleeps.
  status("telemetry: detail");
  const detail = await napsRun(["6", "20"]);
  await detail.until(() => detail.lines().length >= 5 && detail.waits().length >= 5);
  const trace = await detail.guest.exportTrace();
  const detailOutcome = await detail.guest.done;
  await result("telemetry", "detail", 0, {
    stdout: detail.stdout,
    exitCode: detailOutcome.exitCode,
    hello: detail.of("hello")[0] ?? null,
    snapshots: detail.of("snapshot").length,
    waits: detail.waits(),
    pollables: detail.of("events").flatMap((m) => m.pollable_changes),
    states: detail.of("events").map((m) => m.state).filter(Boolean),
    trace,
  });

  // Steering: pause, a first step (finishes the interrupted nap), then one step = one nap.
  status("telemetry: steer");
  const steer = await napsRun(["1000", "30"]);
  await steer.until(() => steer.lines().length >= 3);
  steer.guest.pause();
  await sleep(300);
  const pausedAt = steer.lines().length;
  await sleep(300);
  const afterPause = steer.lines().length;
  steer.guest.step();
  await sleep(400);
  const beforeStep = { lines: steer.lines().length, waits: steer.waits().length };
  steer.guest.step();
  await sleep(400);
  const afterStep = { lines: steer.lines().length, waits: steer.waits().length };
  await sleep(300);
  const held = steer.lines().length;
  const states = steer.of("events").map((m) => m.state).filter(Boolean);
  steer.guest.terminate();
  await result("telemetry", "steer", 0, {
    pausedAt,
    afterPause,
    beforeStep,
    afterStep,
    held,
    stepWaits: steer.waits().slice(beforeStep.waits, afterStep.waits),
    lastState: states.at(-1) ?? null,
    stdout: steer.stdout,
  });

  // Time scale: one 100 ms nap at 0.1× real time.
  status("telemetry: time scale");
  const slow = await napsRun(["1", "100"]);
  slow.guest.setTimeScale(0.1);
  const slowOutcome = await slow.guest.done;
  await result("telemetry", "time-scale", 0, {
    stdout: slow.stdout,
    exitCode: slowOutcome.exitCode,
    realMs: performance.now() - slow.startedAt,
    waits: slow.waits(),
  });

  // Restart: the same bytes, options and subscription again; the old run's `done` says so.
  status("telemetry: restart");
  const again = await napsRun(["1000", "20"]);
  await again.until(() => again.lines().length >= 2);
  const oldDone = again.guest.done;
  again.guest.restart();
  const old = await oldDone;
  const linesAtRestart = again.lines().length;
  const hellosAtRestart = again.of("hello").length;
  await again.until(() => again.lines().length >= linesAtRestart + 2);
  again.guest.terminate();
  const last = await again.guest.done;
  await result("telemetry", "restart", 0, {
    old,
    last,
    hellosAtRestart,
    hellos: again.of("hello").length,
    restartedLines: again.lines().slice(linesAtRestart),
  });
}

// ---- telemetry-overhead: the same host-call load with telemetry off, on, and subscribed ------

/** What a panel keeps of the telemetry it receives: counts, and the last batch. */
function panelSink() {
  const sink = { messages: 0, batches: 0, waits: 0, hostCalls: 0, last: null };
  sink.onTelemetry = (message) => {
    sink.messages++;
    if (message.type === "events") {
      sink.batches++;
      sink.waits += message.waits?.length ?? 0;
      sink.hostCalls += message.host_calls?.length ?? 0;
      sink.last = message;
    }
  };
  return sink;
}

async function telemetryOverheadRow() {
  const { nows, sleeps, sleepNs } = config.telemetryOverhead;
  const { startComponent } = await import("/pollscope/pollscope.js");
  const bytes = await guestBytes("bench_telemetry_load");
  // off: `telemetry: false` (the shim skips the recorder); on: recording, nobody listens;
  // counters: a panel subscribed without detail; subscribed: a panel subscribed with detail
  // from the start.
  for (const rep of repetitions()) {
    for (const variant of ["off", "on", "counters", "subscribed"]) {
      status(`telemetry-overhead ${rep}: ${variant}`);
      const decoder = new TextDecoder();
      let stdout = "";
      let stderr = "";
      const sink = panelSink();
      const guest = startComponent(bytes, {
        args: ["bench_telemetry_load", String(nows), String(sleeps), String(sleepNs)],
        telemetry: variant !== "off",
        onStdout: (chunk) => (stdout += decoder.decode(chunk, { stream: true })),
        onStderr: (chunk) => (stderr += new TextDecoder().decode(chunk)),
        onTelemetry: sink.onTelemetry,
      });
      if (variant === "subscribed") guest.subscribe({ detail: true });
      if (variant === "counters") guest.subscribe({ detail: false });
      const outcome = await guest.done;
      if (outcome.exitCode !== 0) {
        throw new Error(`bench_telemetry_load exited with ${outcome.exitCode}: ${outcome.trap?.message ?? stderr}`);
      }
      await result("telemetry-overhead", variant, rep, {
        stdout,
        messages: sink.messages,
        batches: sink.batches,
        waits: sink.waits,
        hostCalls: sink.hostCalls,
      });
    }
  }
}

// ---- telemetry-soak: a sleeping guest watched at full detail for a long time; memory sampled --

/** performance.measureUserAgentSpecificMemory(), split into the page and its workers; null
 * when the browser does not answer within `timeoutMs` (it may wait for a garbage collection). */
async function uaMemory(timeoutMs) {
  if (typeof performance.measureUserAgentSpecificMemory !== "function") return null;
  const measured = performance.measureUserAgentSpecificMemory().catch(() => null);
  const timeout = new Promise((resolve) => setTimeout(() => resolve(null), timeoutMs));
  const answer = await Promise.race([measured, timeout]);
  if (!answer) return null;
  let page = 0;
  let workers = 0;
  for (const entry of answer.breakdown) {
    const scopes = entry.attribution.map((a) => a.scope);
    if (scopes.includes("DedicatedWorkerGlobalScope")) workers += entry.bytes;
    else if (scopes.includes("Window")) page += entry.bytes;
  }
  return { bytes: answer.bytes, page, workers };
}

async function telemetrySoakRow() {
  const { seconds, sampleSeconds, napMs, measureTimeoutMs } = config.telemetrySoak;
  const { startComponent } = await import("/pollscope/pollscope.js");
  const bytes = await guestBytes("clocks_naps");
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  let stdoutBytes = 0;
  const sink = panelSink();
  const guest = startComponent(bytes, {
    args: ["clocks_naps", String(1e12), String(napMs)],
    onStdout: (chunk) => (stdoutBytes += chunk.byteLength),
    onTelemetry: sink.onTelemetry,
  });
  guest.subscribe({ detail: true });
  const ended = guest.done.then((outcome) => {
    throw new Error(`the soak guest ended early: ${JSON.stringify(outcome)}`);
  });
  ended.catch(() => {});
  let uaAnswers = true;
  const t0 = performance.now();
  for (let i = 0; ; i++) {
    const due = t0 + i * sampleSeconds * 1000;
    await Promise.race([sleep(Math.max(0, due - performance.now())), ended]);
    const atS = (performance.now() - t0) / 1000;
    status(`telemetry-soak: ${atS.toFixed(0)} s of ${seconds}`);
    // Chromium answers only after a garbage collection it chooses: after one miss, stop asking
    // (so the samples keep their cadence) and rely on RSS and the JS heap.
    const ua = uaAnswers ? await Promise.race([uaMemory(measureTimeoutMs), ended]) : null;
    if (!ua) uaAnswers = false;
    // The harness reads the renderer's RSS at this mark.
    await mark("telemetry-soak", `sample-${i}`);
    await result("telemetry-soak", "sample", i, {
      atS,
      ua,
      jsHeap: performance.memory?.usedJSHeapSize ?? null,
      stdoutBytes,
      messages: sink.messages,
      batches: sink.batches,
      waits: sink.waits,
      hostCalls: sink.hostCalls,
    });
    if (atS >= seconds) break;
  }
  guest.terminate();
}

// ---- tinygo: a TinyGo-shaped program's scheduler and task switches (bench/tests/tinygo.rs) ---
// Test-only: the guest is target/fixtures/tinygo_sleepers.wasm (the test points the guests
// folder there). Subscribed with detail and the asyncify flight recorder on, as the panel's
// Goroutines and Asyncify views are.

async function tinygoRow() {
  const { startComponent } = await import("/pollscope/pollscope.js");
  for (const [variant, guestName, asyncifyRecorder] of [
    ["sleepers", "tinygo_sleepers", true],
    ["nodebug", "tinygo_sleepers_nodebug", false],
  ]) {
    const bytes = await guestBytes(guestName);
    let hello = null;
    const schedulers = [];
    const asyncify = [];
    let stdout = "";
    const decoder = new TextDecoder();
    status(`tinygo: ${variant}`);
    const guest = startComponent(bytes, {
      args: [guestName],
      asyncifyRecorder,
      onStdout: (chunk) => (stdout += decoder.decode(chunk, { stream: true })),
      onTelemetry: (message) => {
        if (message.type === "hello") hello = message;
        if (message.type === "scheduler") schedulers.push(message);
        if (message.type === "asyncify") asyncify.push(...message.events);
      },
    });
    guest.subscribe({ detail: true });
    const outcome = await guest.done;
    await result("tinygo", variant, 0, { exitCode: outcome.exitCode, stdout, hello, schedulers, asyncify });
  }
  await tinygoSteps(startComponent);
}

/** With the flight recorder on, paused from the start: each step runs to the next task switch
 * or wait and holds there; a step is over when the guest shows as paused again. */
async function tinygoSteps(startComponent) {
  status("tinygo: stepping");
  const bytes = await guestBytes("tinygo_sleepers");
  const events = [];
  let waits = 0;
  let paused = false;
  let stdout = "";
  const decoder = new TextDecoder();
  const guest = startComponent(bytes, {
    args: ["tinygo_sleepers"],
    asyncifyRecorder: true,
    onStdout: (chunk) => (stdout += decoder.decode(chunk, { stream: true })),
    onTelemetry: (message) => {
      if (message.type === "asyncify") events.push(...message.events);
      if (message.type !== "events") return;
      waits += message.waits.filter((w) => w.call !== "paused").length;
      if (message.state) paused = message.state.state === "paused";
    },
  });
  guest.subscribe({ detail: true });
  guest.pause();
  const until = async (holds) => {
    while (!holds()) await new Promise((resolve) => setTimeout(resolve, 2));
  };
  await until(() => paused);
  const steps = [];
  for (let i = 0; i < 12; i++) {
    const before = { events: events.length, waits };
    paused = false;
    guest.step();
    await until(() => paused);
    steps.push({ events: events.slice(before.events), waits: waits - before.waits });
  }
  guest.resume();
  const outcome = await guest.done;
  await result("tinygo", "stepping", 0, { exitCode: outcome.exitCode, stdout, steps });
}

const ROWS = {
  sleep: sleepRow,
  now: nowRow,
  stdout: stdoutRow,
  stdin: stdinRow,
  instantiate: instantiateRow,
  ring: ringRow,
  stress: stressRow,
  steer: steerRow,
  telemetry: telemetryRow,
  "telemetry-overhead": telemetryOverheadRow,
  "telemetry-soak": telemetrySoakRow,
  tinygo: tinygoRow,
};

try {
  await result("env", "browser", 0, {
    jspi: hasJspi,
    userAgent: navigator.userAgent,
  });
  if (!crossOriginIsolated) throw new Error("the page is not cross-origin isolated (COOP/COEP headers missing)");
  for (const row of config.rows) {
    const run = ROWS[row];
    if (!run) throw new Error(`unknown row ${row}`);
    await run();
  }
  status("done");
  await post("/done", {});
} catch (error) {
  status(`failed: ${error}`);
  await post("/error", { message: String(error?.stack ?? error) });
}
