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

/** Fetches, compiles (streaming) and instantiates one build of the shim. */
async function loadShim(build) {
  const shim = await import(`./${build}.js`);
  await shim.default({ module_or_path: new URL(`${build}_bg.wasm`, import.meta.url) });
  return shim;
}

// The plain shim starts loading now, while the page still fetches the component and the event
// thread makes the ring: start-up then waits for the slower of the two, not for both in turn.
// A TinyGo program loads its own build once its bytes are here.
const plainShim = loadShim("pollscope_shim");
plainShim.catch(() => {}); // reported when (and if) it is used

// Messages are `pollscope_protocol::worker`'s (`{ kind: fields }`); the shim reads `init`.
self.onmessage = async ({ data }) => {
  if (!(data?.init?.component instanceof Uint8Array)) return;
  try {
    self.postMessage({ trace: { what: "wasm thread got init" } });
    const build = looksLikeTinyGo(data.init.component) ? "pollscope_shim_tinygo" : "pollscope_shim";
    const { wasm_thread_main } = await (build === "pollscope_shim" ? plainShim : loadShim(build));
    self.postMessage({ trace: { what: `wasm thread loaded ${build}` } });
    wasm_thread_main(data);
  } catch (error) {
    self.postMessage({ error: { message: `pollscope shim failed: ${error?.message ?? error}` } });
  }
};
// The page sends `init` only after this (see event-worker.js).
self.postMessage("loaded");
