// The event thread: owns everything asynchronous and hands it to the blocked wasm thread
// through the SharedArrayBuffer ring (the shim's event-thread entry point).
import init, { EventThread } from "./pollscope_shim.js";

const early = [];
self.onmessage = ({ data }) => early.push(data);
// The page waits for this before its first message: a message posted to a module worker
// before its script ran was, now and then, never delivered (Chromium 156, under load).
self.postMessage("loaded");
(async () => {
  await init({ module_or_path: new URL("pollscope_shim_bg.wasm", import.meta.url) });
  const thread = new EventThread();
  // Replay what arrived while the shim loaded, then take messages directly.
  for (const data of early.splice(0)) thread.message(data);
  self.onmessage = ({ data }) => thread.message(data);
})().catch((error) => {
  self.postMessage({ error: { message: `pollscope event thread failed: ${error?.message ?? error}` } });
});
