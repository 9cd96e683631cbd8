// One side of a ring measurement: runs a producer, consumer, ping or micro-benchmark loop of
// either the Rust ring (the shim's ring_probe_* exports, whole loops inside wasm) or the plain-JS
// ring, blocking this worker in Atomics.wait as the real threads do.
//
// Request: { id, cmd, impl: "rust" | "js", control?, ... }. With `control` (a SharedArrayBuffer),
// the worker posts { event: "armed", id } and waits until word 0 becomes non-zero, so both sides
// of a measurement start together. Reply: { id, ok: true, value } or { id, ok: false, error }.
import { jsConsume, jsOps, jsPing, jsProduce, memcpy } from "./js-ring.js";

let shim = null;
async function loadShim() {
  if (!shim) {
    shim = await import("/bench-shim/pollscope_shim_bench.js");
    await shim.default({ module_or_path: "/bench-shim/pollscope_shim_bench_bg.wasm" });
    if (typeof shim.ring_probe_produce !== "function") {
      throw new Error("the bench shim has no ring_probe_* exports: rebuild it with `cargo xtask bench ring`");
    }
  }
  return shim;
}

function run(data, rust) {
  switch (data.cmd) {
    case "produce":
      return data.impl === "rust" ? rust.ring_probe_produce(data.ring, data.plan) : jsProduce(data.ring, data.plan);
    case "consume":
      return data.impl === "rust" ? rust.ring_probe_consume(data.ring, data.plan) : jsConsume(data.ring, data.plan);
    case "ping":
      return data.impl === "rust"
        ? rust.ring_probe_ping(data.out, data.back, data.plan)
        : jsPing(data.out, data.back, data.plan);
    case "ops":
      return data.impl === "rust" ? rust.ring_probe_ops(data.buffer, data.iterations) : jsOps(data.buffer, data.iterations);
    case "memcpy":
      return memcpy(data.len, data.totalBytes, data.capacity);
    case "load":
      return null;
    default:
      throw new Error(`unknown command ${data.cmd}`);
  }
}

self.onmessage = async ({ data }) => {
  try {
    const rust = await loadShim();
    if (data.control) {
      self.postMessage({ event: "armed", id: data.id });
      Atomics.wait(new Int32Array(data.control), 0, 0);
    }
    self.postMessage({ id: data.id, ok: true, value: run(data, rust) });
  } catch (error) {
    self.postMessage({ id: data.id, ok: false, error: String(error?.stack ?? error) });
  }
};

// Requests wait for this (see RpcWorker in bench.js).
self.postMessage({ ready: true });
