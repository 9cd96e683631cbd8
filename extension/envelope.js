// What crosses each hop between the page agent and the panel, and the checks every hop makes.
// A classic script (content scripts cannot be modules): it defines `pollscopeEnvelope` on the
// global object of the content script, the background and the panel page.
//
// The tags and MAX_JSON_CHARS must match host-shim/js/agent.js (extension/tests/envelope.rs
// checks). Payloads travel as JSON text: every hop checks its length before anything else, the
// content script and the panel parse it, and the panel decodes it fully with `protocol`.
"use strict";

globalThis.pollscopeEnvelope = (() => {
  const AGENT_TAG = "pollscope-agent";
  const EXTENSION_TAG = "pollscope-extension";
  /** protocol MAX_MESSAGE_BYTES: longer JSON is dropped unread. */
  const MAX_JSON_CHARS = 8 << 20;
  const PROTOCOL_VERSION = 1;
  /** FromWasm `type`s (page → panel). */
  const FROM_WASM_TYPES = new Set([
    "hello", "snapshot", "events", "output", "exit", "trap", "scheduler", "asyncify", "ring-error",
  ]);
  /** ToWasm `type`s a panel may send (the agent decides subscribe / unsubscribe itself). */
  const TO_WASM_TYPES = new Set([
    "pause", "resume", "step", "time-scale", "snapshot", "restart", "stdin", "close-stdin", "record-asyncify",
  ]);
  /** Port names: one per side of the background's pipe. */
  const PAGE_PORT = "pollscope-page";
  const PANEL_PORT = "pollscope-panel";

  const isPlainObject = (value) => typeof value === "object" && value !== null && !Array.isArray(value);
  const isId = (value) => typeof value === "string" && /^[0-9a-f]{32}$/.test(value);
  /** Most panels reported for one tab (one DevTools window per tab; a bound, not a feature). */
  const MAX_PANELS = 16;
  const isPanelList = (value) => Array.isArray(value) && value.length <= MAX_PANELS && value.every(isId);
  /** A fresh random id (a page's agent, a panel): 32 hex digits. */
  const randomId = () => Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");

  /** Parses JSON text of at most MAX_JSON_CHARS whose object has a `type` in `types`; null otherwise. */
  function parseTyped(json, types) {
    if (typeof json !== "string" || json.length > MAX_JSON_CHARS) return null;
    let value;
    try {
      value = JSON.parse(json);
    } catch {
      return null;
    }
    if (!isPlainObject(value) || !types.has(value.type)) return null;
    if (value.v !== undefined && value.v !== PROTOCOL_VERSION) return null;
    return value;
  }

  /** Cheap check for hops that relay without parsing: declared type known, text within the cap. */
  const isRelayable = (message, types) =>
    isPlainObject(message) &&
    typeof message.type === "string" &&
    types.has(message.type) &&
    typeof message.json === "string" &&
    message.json.length <= MAX_JSON_CHARS;

  return Object.freeze({
    AGENT_TAG,
    EXTENSION_TAG,
    MAX_JSON_CHARS,
    PROTOCOL_VERSION,
    FROM_WASM_TYPES,
    TO_WASM_TYPES,
    PAGE_PORT,
    PANEL_PORT,
    isPlainObject,
    isId,
    isPanelList,
    randomId,
    parseTyped,
    isRelayable,
  });
})();
