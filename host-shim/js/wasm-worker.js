// The wasm thread's worker script, for pages whose policy refuses blob: workers: the loader
// otherwise starts the same code (wasm-thread.js) from a blob: URL.
import { wasmThread } from "./wasm-thread.js";

wasmThread(new URL(".", import.meta.url).href);
