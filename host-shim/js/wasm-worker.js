// The wasm thread: runs the guest synchronously inside the shim; it blocks in Atomics.wait
// and so never returns to this event loop until the guest ends.
import init, { wasm_thread_main } from "./pollscope_shim.js";

self.onmessage = async ({ data }) => {
  if (data?.type !== "init") return;
  try {
    self.postMessage({ type: "trace", what: "wasm thread got init" });
    await init({ module_or_path: new URL("pollscope_shim_bg.wasm", import.meta.url) });
    self.postMessage({ type: "trace", what: "wasm thread loaded the shim" });
    wasm_thread_main(data);
  } catch (error) {
    self.postMessage({ type: "error", message: `pollscope shim failed: ${error?.message ?? error}` });
  }
};
// The page sends `init` only after this (see event-worker.js).
self.postMessage({ type: "loaded" });
