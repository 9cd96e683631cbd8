// Pollscope page agent: lets the DevTools extension watch and steer the guests this page runs.
//
// Every startComponent registers here (pollscope.js). The agent talks to the extension's
// content script with window.postMessage only:
//
//   page → extension  { source: AGENT_TAG, page, kind: "announce" }        a guest is here
//                     { source: AGENT_TAG, page, kind: "message", json }    one FromWasm message
//   extension → page  { source: EXTENSION_TAG, page, kind: "panels", panels } ids of the panels
//                                                                           watching now
//                     { source: EXTENSION_TAG, page, kind: "command", json } one ToWasm command
//                     { source: EXTENSION_TAG, kind: "query" }               who is here?
//
// `page` is a random id per page load, so messages of another page, frame or earlier load are
// told apart. It is no secret from the page's own scripts (they see every message): a page
// can always steer and misreport its own guest; what it cannot do is make a hop fail, or get
// markup into the panel. Nothing but the announce is posted while no panel watches, and the
// agent subscribes to telemetry (with detail) only then. Everything received is checked and
// dropped unless it is exactly one of the messages above. Every JSON text is the protocol's,
// made and checked in Rust: FromWasm messages (telemetry, output, how the guest ended) come
// from the wasm thread and travel unchanged to the panel, which decodes them once; a command's
// text goes unchanged to the event thread, which decodes and checks it (version, ranges) before
// anything acts on it. The hops between check where a text comes from, its length and (the
// content script) its rate, and never parse it.
//
// The tags and limits must match extension/envelope.js (a test in extension/tests checks).

/** Marks messages the agent posts. */
export const AGENT_TAG = "pollscope-agent";
/** Marks messages the extension's content script posts. */
export const EXTENSION_TAG = "pollscope-extension";
/** Longest JSON text relayed either way (protocol MAX_MESSAGE_BYTES). */
export const MAX_JSON_CHARS = 8 << 20;
/** Most panels one page reports (one DevTools window per tab; a bound, not a feature). */
const MAX_PANELS = 16;
/** Most output messages kept for a panel that opens after the guest ended (the wasm thread
 * sends its newest 64 KiB at the end as one message per run of a stream). */
const MAX_END_OUTPUT = 256;

let agent = null;

/**
 * Registers a guest about to start with `options`. Returns options that also feed the agent,
 * and `attach(handle)` to call once the handle exists. Outside a window (a worker) it returns
 * the options unchanged.
 */
export function registerGuest(options) {
  if (typeof window === "undefined" || typeof window.addEventListener !== "function") {
    return { options, attach() {} };
  }
  agent ??= createAgent();
  return agent.register(options);
}

function createAgent() {
  const page = randomId();
  // Ids of the panels watching now, and of every panel this page has sent its backlog to.
  let panels = [];
  const served = new Set();
  // The newest guest is the one the panel shows and steers.
  let current = null;

  const post = (kind, fields = {}) => window.postMessage({ source: AGENT_TAG, page, kind, ...fields }, window.location.origin);
  const relay = (json) => {
    if (panels.length > 0 && typeof json === "string" && json.length <= MAX_JSON_CHARS) post("message", { json });
  };
  // The wasm thread keeps the newest output and sends it first when asked to replay.
  const subscribe = (replay) => current?.handle?.subscribe({ detail: true, replay });

  window.addEventListener("message", (event) => {
    // Only this window's own scripts (the content script posts as this window) may talk to us.
    if (event.source !== window || event.origin !== window.location.origin) return;
    const data = event.data;
    if (!isPlainObject(data) || data.source !== EXTENSION_TAG) return;
    if (data.kind === "query") {
      if (current) post("announce");
      return;
    }
    if (data.page !== page) return;
    if (data.kind === "panels" && isPanelList(data.panels)) {
      const before = panels;
      panels = data.panels;
      if (!current) return;
      const newcomers = panels.filter((id) => !served.has(id));
      if (panels.length === 0) {
        if (before.length > 0) current.handle?.unsubscribe();
      } else if (newcomers.length > 0 || before.length === 0 || panels.some((id) => !before.includes(id))) {
        // A panel (re)joined: it gets a fresh hello and snapshot (subscribe sends both). Only a
        // panel this page never served gets the output so far too, so a panel reconnecting
        // after the extension's background restarted shows no line twice.
        const replay = newcomers.length > 0;
        if (current.ended === null) subscribe(replay);
        if (replay) current.replay();
        for (const id of newcomers) served.add(id);
      }
    } else if (data.kind === "command" && typeof data.json === "string" && data.json.length <= MAX_JSON_CHARS) {
      current?.handle?.panelCommand(data.json);
    }
  });

  return {
    register(options) {
      // What a panel that opens later is told without the wasm thread (which is gone once the
      // guest ended): the JSON of the output the thread sent at the end, of a broken ring and
      // of how the run ended.
      const guest = { handle: null, endOutput: [], ended: null, ringError: null };
      guest.forget = () => {
        guest.endOutput = [];
        guest.ended = null;
        guest.ringError = null;
      };
      guest.replay = () => {
        if (guest.ringError) relay(guest.ringError);
        if (guest.ended === null) return;
        for (const json of guest.endOutput) relay(json);
        relay(guest.ended);
      };
      const onFromWasm = options.onFromWasm;
      const onRestart = options.onRestart;
      const tapped = {
        ...options,
        onFromWasm(json, message) {
          if (guest === current) {
            // Whatever goes wrong here must not break the loader's own handling.
            try {
              // Kept only what no panel has seen (a watching panel gets it now).
              if (panels.length === 0 || message?.type !== "output") keep(guest, json, message);
              relay(json);
            } catch (error) {
              console.warn("pollscope agent: dropped a message for the DevTools panel:", error);
            }
          }
          onFromWasm?.(json, message);
        },
        // A restarted guest's panel starts over: nothing of the old run is replayed.
        onRestart() {
          guest.forget();
          onRestart?.();
        },
      };
      current = guest;
      return {
        options: tapped,
        attach(handle) {
          guest.handle = handle;
          if (panels.length > 0) subscribe(true);
          post("announce");
        },
      };
    },
  };
}

/** Keeps what a late panel needs of one FromWasm message (see `register`). */
function keep(guest, json, message) {
  switch (message?.type) {
    case "exit":
    case "trap":
      guest.ended = json;
      break;
    case "ring-error":
      guest.ringError = json;
      break;
    // Sent at the end when no panel listened: the newest output, bounded by the wasm thread
    // (and here, should a page's script post more).
    case "output":
      if (guest.ended === null && guest.endOutput.length < MAX_END_OUTPUT) guest.endOutput.push(json);
      break;
  }
}

function isPanelList(value) {
  return (
    Array.isArray(value) &&
    value.length <= MAX_PANELS &&
    value.every((id) => typeof id === "string" && /^[0-9a-f]{32}$/.test(id))
  );
}

function isPlainObject(value) {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function randomId() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
