// Pollscope page-side loader: runs a WASI 0.2 command component in a Web Worker.
//
//   import { startComponent } from "./pollscope.js";
//   const guest = startComponent(bytesOrUrl, { args, env, files, onStdout, onStderr });
//   await guest.writeStdin(new TextEncoder().encode("hi\n")); guest.closeStdin();
//   const { exitCode } = await guest.done;
//
// Two workers share one SharedArrayBuffer: the wasm thread runs the guest and blocks in
// Atomics.wait; the event thread feeds it stdin through the packet ring. Both need a
// cross-origin isolated page (COOP same-origin + COEP require-corp).

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

async function componentBytes(source) {
  if (source instanceof Uint8Array) return source;
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  const response = await fetch(source);
  if (!response.ok) throw new Error(`fetching ${source}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

function normalizeFiles(files) {
  const encoder = new TextEncoder();
  return Object.entries(files ?? {}).map(([path, contents]) => [
    path,
    typeof contents === "string" ? encoder.encode(contents) : new Uint8Array(contents),
  ]);
}

/**
 * Starts a component. Returns { done, writeStdin, closeStdin, terminate }:
 * - done: Promise<{ exitCode, trap?, ring }> (ring: the final ringSnapshot()), rejected (Error)
 *   when the component cannot be loaded
 * - writeStdin(bytes): Promise resolved once the bytes are in the ring (backpressure)
 * - closeStdin(): the guest's stdin reaches end-of-file after what was written
 * - pause() / resume(): stop the guest at its next host call or wait, and let it go on
 * - ringSnapshot(): Promise of the ring's counters { capacity, used, highWater, packetsIn,
 *   bytesIn, packetsOut, bytesOut, stalls, backlog }, read without stopping the guest
 */
export function startComponent(source, options = {}) {
  const problem = isolationProblem();
  if (problem) {
    const done = Promise.reject(new Error(problem));
    return { done, writeStdin: () => done, closeStdin() {}, terminate() {} };
  }
  const ringCapacity = options.ringCapacity ?? DEFAULT_RING_CAPACITY;
  const baseUrl = new URL(options.baseUrl ?? here, location.href);
  const wasmWorker = new Worker(new URL("wasm-worker.js", baseUrl), { type: "module", name: "pollscope-wasm" });
  const eventWorker = new Worker(new URL("event-worker.js", baseUrl), { type: "module", name: "pollscope-events" });
  const onStdout = options.onStdout ?? ((bytes) => console.log(new TextDecoder().decode(bytes)));
  const onStderr = options.onStderr ?? ((bytes) => console.error(new TextDecoder().decode(bytes)));
  // Start-up milestones, for embedders diagnosing a guest that never starts.
  const trace = options.onTrace ?? (() => {});

  let nextAck = 0;
  const pendingAcks = new Map();
  let nextSnapshot = 0;
  const pendingSnapshots = new Map();
  let settled = false;
  let resolveDone, rejectDone;
  const done = new Promise((resolve, reject) => {
    resolveDone = resolve;
    rejectDone = reject;
  });
  const finish = (outcome, isError) => {
    if (settled) return;
    settled = true;
    wasmWorker.terminate();
    eventWorker.terminate();
    for (const resolve of pendingAcks.values()) resolve();
    pendingAcks.clear();
    for (const resolve of pendingSnapshots.values()) resolve(null);
    pendingSnapshots.clear();
    if (isError) rejectDone(outcome);
    else resolveDone(outcome);
  };

  const finalSnapshot = () => handle.ringSnapshot();
  // Everything for the event thread waits until its script has run (in call order).
  const toEventThread = (message, transfer = []) =>
    eventWorkerLoaded.then(() => eventWorker.postMessage(message, transfer));
  wasmWorker.onmessage = ({ data }) => {
    switch (data?.type) {
      case "output":
        for (const [stream, bytes] of data.chunks) (stream === 2 ? onStderr : onStdout)(bytes);
        break;
      // The ring's final counters travel with the outcome (one round trip to the event thread).
      case "exit":
        finalSnapshot().then((ring) => finish({ exitCode: data.code, ring }, false));
        break;
      case "trap":
        finalSnapshot().then((ring) =>
          finish({ exitCode: 134, trap: { message: data.message, frames: data.frames }, ring }, false),
        );
        break;
      case "error":
        finish(new Error(data.message), true);
        break;
      case "trace":
        trace(data.what);
        break;
      case "loaded":
        wasmLoaded();
        break;
    }
    options.onMessage?.(data);
  };
  let resolveRing, eventLoaded, wasmLoaded;
  const ringReady = new Promise((resolve) => (resolveRing = resolve));
  const eventWorkerLoaded = new Promise((resolve) => (eventLoaded = resolve));
  const wasmWorkerLoaded = new Promise((resolve) => (wasmLoaded = resolve));
  eventWorker.onmessage = ({ data }) => {
    switch (data?.type) {
      case "loaded":
        eventLoaded();
        break;
      case "ring":
        trace("event thread ready");
        resolveRing(data.ring);
        break;
      case "stdin-ack":
        pendingAcks.get(data.id)?.();
        pendingAcks.delete(data.id);
        break;
      case "snapshot":
        pendingSnapshots.get(data.id)?.(data.snapshot);
        pendingSnapshots.delete(data.id);
        break;
      case "error":
        finish(new Error(data.message), true);
        break;
    }
  };
  const workerFailed = (which) => (event) =>
    finish(new Error(`the ${which} worker failed: ${event.message ?? "could not load (check the shim's URL)"}`), true);
  wasmWorker.onerror = workerFailed("wasm");
  eventWorker.onerror = workerFailed("event");

  (async () => {
    // The event thread creates the ring (its layout lives in Rust) and hands it back. Each
    // worker says when its script has run; messages go to it only after that.
    await eventWorkerLoaded;
    eventWorker.postMessage({ type: "init", ringCapacity });
    const [component, ring] = await Promise.all([
      componentBytes(source).then((bytes) => (trace(`component fetched (${bytes.length} B)`), bytes)),
      ringReady,
    ]);
    await wasmWorkerLoaded;
    wasmWorker.postMessage(
      {
        type: "init",
        ring,
        component,
        args: options.args ?? ["app.wasm"],
        env: Object.entries(options.env ?? {}),
        cwd: options.cwd ?? "/",
        preopens: options.preopens ?? ["/"],
        dirs: options.dirs ?? [],
        files: normalizeFiles(options.files),
      },
      component.buffer === source?.buffer ? [] : [component.buffer],
    );
  })().catch((error) => finish(error, true));

  const handle = {
    done,
    writeStdin(bytes) {
      if (settled) return Promise.resolve();
      const id = nextAck++;
      const data = typeof bytes === "string" ? new TextEncoder().encode(bytes) : new Uint8Array(bytes);
      return new Promise((resolve) => {
        pendingAcks.set(id, resolve);
        toEventThread({ type: "stdin", id, data }, [data.buffer]);
      });
    },
    closeStdin() {
      if (!settled) toEventThread({ type: "stdin-close" });
    },
    /** Stops the guest at its next host call or wait; output written so far is flushed. */
    pause() {
      if (!settled) toEventThread({ type: "command", command: "pause" });
    },
    /** Lets a paused guest go on. */
    resume() {
      if (!settled) toEventThread({ type: "command", command: "resume" });
    },
    /** The ring's occupancy and counters right now (the guest keeps running). */
    ringSnapshot() {
      if (settled) return Promise.resolve(null);
      const id = nextSnapshot++;
      return new Promise((resolve) => {
        pendingSnapshots.set(id, resolve);
        toEventThread({ type: "snapshot", id });
      });
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
