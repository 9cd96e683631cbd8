// The wasm worker's code, as one self-contained function (it closes over nothing): the loader
// (pollscope.js) starts a worker from its text as a blob: URL, so that starting the worker
// fetches nothing and overlaps everything the page does meanwhile; wasm-worker.js runs it
// where a page's policy refuses blob: workers.

/**
 * Runs in the wasm worker: takes the loader's two messages (`pollscope_protocol::worker`'s
 * `ToWasmThread`). On `init` it instantiates the shim build it names from the module the page
 * compiled and hands the message to the shim's `wasm_thread_prepare`, which makes the event
 * ring and translates the component while the page still compiles the core modules. Once
 * `compiled` (those modules) has come too — in either order — it calls `wasm_thread_start`,
 * which runs the guest synchronously (it blocks in Atomics.wait and so never returns to this
 * event loop until the guest ends).
 * `base`: where the shim's files are.
 */
export function wasmThread(base) {
  const BUILDS = ["pollscope_shim", "pollscope_shim_tinygo"];

  /** The build's wasm-bindgen bindings: from the blob: URL of the page's copy, else its file. */
  async function bindings(build, copy) {
    const file = new URL(`${build}.js`, base).href;
    if (typeof copy !== "string") return import(file);
    try {
      return await import(copy);
    } catch {
      return import(file); // a policy that refuses blob: scripts
    }
  }

  const failed = (error) =>
    self.postMessage({ error: { message: `pollscope shim failed: ${error?.message ?? error}` } });
  // The shim once `wasm_thread_prepare` made the guest ready, and the `compiled` message once
  // it came; the guest starts when both are here.
  let prepared = null;
  let compiled = null;
  let started = false;
  const startWhenReady = () => {
    if (started || !prepared || !compiled) return;
    started = true;
    try {
      prepared.wasm_thread_start(compiled);
    } catch (error) {
      failed(error);
    }
  };

  async function prepare(data) {
    self.postMessage({ trace: { what: "wasm thread got init" } });
    const { build = "pollscope_shim", module = null, bindings: copy = null } = data.init.shim ?? {};
    if (!BUILDS.includes(build)) throw new Error(`no shim build ${build}`);
    const shim = await bindings(build, copy);
    await shim.default({
      // The module the page compiled, or fetched and compiled here when it could not.
      module_or_path: module instanceof WebAssembly.Module ? module : new URL(`${build}_bg.wasm`, base),
    });
    self.postMessage({ trace: { what: `wasm thread loaded ${build}` } });
    // False: the component cannot run, and the shim said why.
    if (shim.wasm_thread_prepare(data)) prepared = shim;
  }

  let gotInit = false;
  self.onmessage = ({ data }) => {
    if (data?.init?.component instanceof Uint8Array && !gotInit) {
      gotInit = true;
      prepare(data).then(startWhenReady, failed);
    } else if (data?.compiled && !compiled) {
      self.postMessage({ trace: { what: "core modules received" } });
      compiled = data;
      startWhenReady();
    }
  };
  // The page sends `init` only after this (see event-worker.js).
  self.postMessage("loaded");
}
