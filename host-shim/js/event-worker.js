// The event thread: owns everything asynchronous and hands it to the blocked wasm thread
// through the SharedArrayBuffer ring (the shim's event-thread entry point).
import init, { EventThread } from "./pollscope_shim.js";

// Messages are `pollscope_protocol::worker`'s ToEventThread. The first is `shim`: the module
// the page compiled (null: this worker fetches and compiles the shim itself); the rest wait
// here while the shim starts, then go to the shim in order.
const early = [];
let starting = null;
self.onmessage = ({ data }) => {
  if (starting === null && data !== null && typeof data === "object" && "shim" in data) {
    starting = start(data.shim?.module);
  } else {
    early.push(data);
  }
};

async function start(module) {
  try {
    await init({
      module_or_path: module instanceof WebAssembly.Module ? module : new URL("pollscope_shim_bg.wasm", import.meta.url),
    });
    const thread = new EventThread();
    // Replay what arrived while the shim loaded, then take messages directly.
    for (const data of early.splice(0)) thread.message(data);
    // Stdin skips the message decoder (the bulk of the event thread's work per message
    // otherwise); anything not exactly { stdin: { id: u32, data: Uint8Array } } goes through it.
    self.onmessage = ({ data }) => {
      const stdin = data?.stdin;
      if (stdin !== undefined && stdin.data instanceof Uint8Array && stdin.id >>> 0 === stdin.id) {
        thread.stdin_message(stdin.id, stdin.data);
        // Copied out: the buffer goes back to the page for its next write.
        const buffer = stdin.data.buffer;
        if (buffer instanceof ArrayBuffer) self.postMessage({ "stdin-buffer": { buffer } }, [buffer]);
      } else {
        thread.message(data);
      }
    };
  } catch (error) {
    self.postMessage({ error: { message: `pollscope event thread failed: ${error?.message ?? error}` } });
  }
}

// The page waits for this before its first message: a message posted to a module worker
// before its script ran was, now and then, never delivered (Chromium 156, under load).
self.postMessage("loaded");
