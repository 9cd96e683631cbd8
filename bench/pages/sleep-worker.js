// The sleep baseline: a plain worker timing `Atomics.wait(i32, 0, 0, ms)` with
// performance.now(), shaped like the bench_sleep guest (phase markers, settle sleeps around the
// timed phase, nothing posted during it).
self.onmessage = ({ data: { id, iterations, ms, settleMs } }) => {
  const i32 = new Int32Array(new SharedArrayBuffer(4));
  self.postMessage({ event: "phase", phase: "start" });
  Atomics.wait(i32, 0, 0, settleMs);
  const durations = new Float64Array(iterations);
  for (let i = 0; i < iterations; i++) {
    const t0 = performance.now();
    Atomics.wait(i32, 0, 0, ms);
    durations[i] = performance.now() - t0;
  }
  self.postMessage({ event: "phase", phase: "end" });
  Atomics.wait(i32, 0, 0, settleMs);
  self.postMessage({ id, ok: true, value: { durationsMs: Array.from(durations) } });
};

// Requests wait for this (see RpcWorker in bench.js).
self.postMessage({ ready: true });
