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
 * - done: Promise<{ exitCode, trap? }>, rejected (Error) when the component cannot be loaded
 * - writeStdin(bytes): Promise resolved once the bytes are in the ring (backpressure)
 * - closeStdin(): the guest's stdin reaches end-of-file after what was written
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

  let nextAck = 0;
  const pendingAcks = new Map();
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
    if (isError) rejectDone(outcome);
    else resolveDone(outcome);
  };

  wasmWorker.onmessage = ({ data }) => {
    switch (data?.type) {
      case "output":
        for (const [stream, bytes] of data.chunks) (stream === 2 ? onStderr : onStdout)(bytes);
        break;
      case "exit":
        finish({ exitCode: data.code }, false);
        break;
      case "trap":
        finish({ exitCode: 134, trap: { message: data.message, frames: data.frames } }, false);
        break;
      case "error":
        finish(new Error(data.message), true);
        break;
    }
    options.onMessage?.(data);
  };
  let resolveRing;
  const ringReady = new Promise((resolve) => (resolveRing = resolve));
  eventWorker.onmessage = ({ data }) => {
    switch (data?.type) {
      case "ring":
        resolveRing(data.ring);
        break;
      case "stdin-ack":
        pendingAcks.get(data.id)?.();
        pendingAcks.delete(data.id);
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
    // The event thread creates the ring (its layout lives in Rust) and hands it back.
    eventWorker.postMessage({ type: "init", ringCapacity });
    const [component, ring] = await Promise.all([componentBytes(source), ringReady]);
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

  return {
    done,
    writeStdin(bytes) {
      if (settled) return Promise.resolve();
      const id = nextAck++;
      const data = typeof bytes === "string" ? new TextEncoder().encode(bytes) : new Uint8Array(bytes);
      return new Promise((resolve) => {
        pendingAcks.set(id, resolve);
        eventWorker.postMessage({ type: "stdin", id, data }, [data.buffer]);
      });
    },
    closeStdin() {
      if (!settled) eventWorker.postMessage({ type: "stdin-close" });
    },
    terminate() {
      finish({ exitCode: 137, terminated: true }, false);
    },
  };
}

/** Runs a component to completion; resolves with { exitCode, trap? }. */
export function runComponent(source, options = {}) {
  return startComponent(source, options).done;
}
