// The wasm thread: runs the guest synchronously inside the shim; it blocks in Atomics.wait
// and so never returns to this event loop until the guest ends.
//
// Two builds of the same shim: `pollscope_shim_tinygo` adds TinyGo's scheduler view and the
// asyncify flight recorder (DWARF reading and a module rewrite, a fifth of the shim); it is
// loaded only for components that look like a TinyGo program.

/** Whether `bytes` holds `needle` (ASCII); a plain scan, once per start. */
function contains(bytes, needle) {
  const first = needle.charCodeAt(0);
  outer: for (let i = bytes.indexOf(first); i !== -1; i = bytes.indexOf(first, i + 1)) {
    for (let j = 1; j < needle.length; j++) {
      if (bytes[i + j] !== needle.charCodeAt(j)) continue outer;
    }
    return true;
  }
  return false;
}

/** Every TinyGo program is asyncified (Binaryen exports `asyncify_get_state`) and its name
 * section (which -no-debug keeps) names its task package's functions, e.g.
 * `internal/task.start`. Not `tinygo_unwind`: wasm-opt inlines it away. */
const looksLikeTinyGo = (component) =>
  contains(component, "asyncify_get_state") && contains(component, "internal/task.");

// Messages are `pollscope_protocol::worker`'s (`{ kind: fields }`); the shim reads `init`.
self.onmessage = async ({ data }) => {
  if (!(data?.init?.component instanceof Uint8Array)) return;
  try {
    self.postMessage({ trace: { what: "wasm thread got init" } });
    const build = looksLikeTinyGo(data.init.component) ? "pollscope_shim_tinygo" : "pollscope_shim";
    const { default: init, wasm_thread_main } = await import(`./${build}.js`);
    await init({ module_or_path: new URL(`${build}_bg.wasm`, import.meta.url) });
    self.postMessage({ trace: { what: `wasm thread loaded ${build}` } });
    wasm_thread_main(data);
  } catch (error) {
    self.postMessage({ error: { message: `pollscope shim failed: ${error?.message ?? error}` } });
  }
};
// The page sends `init` only after this (see event-worker.js).
self.postMessage("loaded");
