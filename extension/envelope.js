// What crosses each hop between the page agent and the panel, and the checks every hop makes.
// A classic script (content scripts cannot be modules): it defines `pollscopeEnvelope` on the
// global object of the content script, the background and the panel page.
//
// The tags and MAX_JSON_CHARS must match host-shim/js/agent.js (extension/tests/envelope.rs
// checks). Payloads travel as JSON text that no hop parses: page → panel, every hop checks
// where a message comes from and that its text is within the size cap, and the panel decodes
// it once, fully, with `protocol` (counting what does not decode); the content script also
// limits how fast a page may send (RATE_LIMIT), dropping and counting the excess, which the
// panel page shows. Panel → page, commands carry their ToWasm type beside the text (checked at
// every hop); the page's event thread decodes and checks them fully (`ToWasm::from_panel`).
"use strict";

globalThis.pollscopeEnvelope = (() => {
  const AGENT_TAG = "pollscope-agent";
  const EXTENSION_TAG = "pollscope-extension";
  /** protocol MAX_MESSAGE_BYTES: longer JSON is dropped unread. */
  const MAX_JSON_CHARS = 8 << 20;
  /** ToWasm `type`s a panel may send (the agent decides subscribe / unsubscribe itself). */
  const TO_WASM_TYPES = new Set([
    "pause", "resume", "step", "time-scale", "snapshot", "restart", "stdin", "close-stdin", "record-asyncify",
  ]);
  /**
   * What the content script relays from one page (one tab's top frame) to the extension: at
   * most `messagesPerSecond` messages a second with bursts of `burst`, and at most
   * `charsPerSecond` characters of JSON a second with bursts of `charsBurst` (two messages of
   * the largest size). A panel watching a busy guest gets about 20 event batches and up to a
   * few hundred output and scheduler messages a second; a page posting more is flooding the
   * extension (each message crosses two processes), and the excess is dropped and counted.
   */
  const RATE_LIMIT = Object.freeze({
    messagesPerSecond: 1000,
    burst: 2000,
    charsPerSecond: 32 << 20,
    charsBurst: 2 * MAX_JSON_CHARS,
  });
  /** The content script reports its dropped count at most this often (ms). */
  const DROPPED_REPORT_MS = 1000;
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

  /** What each hop checks of a page's message, without parsing it: JSON text within the cap. */
  const isJsonText = (json) => typeof json === "string" && json.length <= MAX_JSON_CHARS;

  /** What each hop checks of a command, without parsing it: declared type known, text within the cap. */
  const isRelayable = (message, types) =>
    isPlainObject(message) &&
    typeof message.type === "string" &&
    types.has(message.type) &&
    typeof message.json === "string" &&
    message.json.length <= MAX_JSON_CHARS;

  /** A dropped-message count as a port carries it: a non-negative safe integer. */
  const isCount = (value) => Number.isSafeInteger(value) && value >= 0;

  /**
   * Two token buckets (messages and characters) with the limits of `limit` (RATE_LIMIT),
   * refilled continuously by `now()` (ms). `admit(chars)` says whether a message of that many
   * characters may go now and takes its tokens if so; `dropped` counts the refused ones.
   */
  function createRateLimit(limit = RATE_LIMIT, now = () => performance.now()) {
    let messages = limit.burst;
    let chars = limit.charsBurst;
    let last = now();
    return {
      dropped: 0,
      admit(size) {
        const at = now();
        const seconds = Math.max(0, at - last) / 1000;
        last = at;
        messages = Math.min(limit.burst, messages + seconds * limit.messagesPerSecond);
        chars = Math.min(limit.charsBurst, chars + seconds * limit.charsPerSecond);
        if (messages < 1 || chars < size) {
          this.dropped++;
          return false;
        }
        messages -= 1;
        chars -= size;
        return true;
      },
    };
  }

  return Object.freeze({
    AGENT_TAG,
    EXTENSION_TAG,
    MAX_JSON_CHARS,
    TO_WASM_TYPES,
    PAGE_PORT,
    PANEL_PORT,
    RATE_LIMIT,
    DROPPED_REPORT_MS,
    isPlainObject,
    isId,
    isPanelList,
    isCount,
    randomId,
    isJsonText,
    isRelayable,
    createRateLimit,
  });
})();
