// The `now` row's floor: `performance.now()` called from a tiny wasm module through a JS import,
// in a dedicated worker like the guests' wasm thread. Message { iterations, via: "arrow" |
// "bound" }; answers { iterations, elapsedMs }.

// (module (import "env" "now" (func (result f64)))
//   (func (export "loop") (param $n i32) (result f64) ;; sums now() n times
//     (local $acc f64) (loop $l (local.set $acc (f64.add (local.get $acc) (call 0)))
//       (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))) (local.get $acc)))
const FLOOR_WASM = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 10, 2, 96, 0, 1, 124, 96, 1, 127, 1, 124, 2, 11, 1, 3, 101, 110, 118, 3, 110,
  111, 119, 0, 0, 3, 2, 1, 1, 7, 8, 1, 4, 108, 111, 111, 112, 0, 1, 10, 27, 1, 25, 1, 1, 124, 3, 64, 32, 1, 16,
  0, 160, 33, 1, 32, 0, 65, 1, 107, 34, 0, 13, 0, 11, 32, 1, 11,
]);
// Two ways in: through a JS arrow function, and the Web API itself (bound, no JS frame).
const module = new WebAssembly.Module(FLOOR_WASM);
const floors = {
  arrow: new WebAssembly.Instance(module, { env: { now: () => performance.now() } }),
  bound: new WebAssembly.Instance(module, { env: { now: performance.now.bind(performance) } }),
};

self.onmessage = ({ data: { id, iterations, via } }) => {
  const t0 = performance.now();
  floors[via].exports.loop(iterations);
  self.postMessage({ id, ok: true, value: { iterations, elapsedMs: performance.now() - t0 } });
};

// Requests wait for this (see RpcWorker in bench.js).
self.postMessage({ ready: true });
