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
// agent subscribes to telemetry (with detail) only then. Everything received is
// checked and dropped unless it is exactly one of the messages above; commands are checked
// against the protocol's ranges before they reach the handle (the event thread checks them
// again in Rust). The JSON text travels unchanged to the panel, which decodes it once with the
// protocol: the hops between check where it comes from, its length and (the content script)
// its rate, and never parse it.
//
// The tags and limits must match extension/envelope.js (a test in extension/tests checks).

/** Marks messages the agent posts. */
export const AGENT_TAG = "pollscope-agent";
/** Marks messages the extension's content script posts. */
export const EXTENSION_TAG = "pollscope-extension";
/** Longest JSON text relayed either way (protocol MAX_MESSAGE_BYTES). */
export const MAX_JSON_CHARS = 8 << 20;
/** The protocol's JSON version (`v`). */
const PROTOCOL_VERSION = 1;
/** protocol MIN_TIME_SCALE / MAX_TIME_SCALE / MAX_STDIN_CHUNK. */
const MIN_TIME_SCALE = 0.1;
const MAX_TIME_SCALE = 10;
const MAX_STDIN_CHUNK = 1 << 20;
/** Most panels one page reports (one DevTools window per tab; a bound, not a feature). */
const MAX_PANELS = 16;
/** Output kept for a panel that opens later (the newest bytes, per guest), and the most of one
 * output batch relayed to a panel (its newest bytes): the panel's console keeps a bounded tail,
 * and turning a megabyte batch into JSON per batch would cost the page more than the guest. */
const OUTPUT_BACKLOG_BYTES = 64 << 10;

const OUTPUT_STREAMS = { 1: "stdout", 2: "stderr" };

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
  const subscribe = () => current?.handle?.subscribe({ detail: true });

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
        // panel this page never served gets the output backlog too, so a panel reconnecting
        // after the extension's background restarted shows no line twice.
        subscribe();
        if (newcomers.length > 0) current.replay();
        for (const id of newcomers) served.add(id);
      }
    } else if (data.kind === "command" && typeof data.json === "string" && data.json.length <= MAX_JSON_CHARS) {
      const command = parseCommand(data.json);
      if (command && current?.handle) {
        // A restarted guest's panel starts over: the old run's output is not replayed.
        if (command.type === "restart" || command.type === "record-asyncify") current.forget();
        apply(current.handle, command);
      }
    }
  });

  return {
    register(options) {
      // The backlog holds raw [stream, bytes] chunks (copies of at most the newest
      // OUTPUT_BACKLOG_BYTES each); JSON is made only when a panel takes them.
      // `ended` and `ringError`: the JSON of the run's last word and of a broken event ring,
      // kept for a panel that opens later.
      const guest = { handle: null, backlog: [], backlogBytes: 0, ended: null, ringError: null };
      guest.forget = () => {
        guest.backlog = [];
        guest.backlogBytes = 0;
        guest.ended = null;
        guest.ringError = null;
      };
      guest.replay = () => {
        for (const [stream, bytes] of guest.backlog) relay(outputJson(stream, bytes));
        if (guest.ringError) relay(guest.ringError);
        if (guest.ended) relay(guest.ended);
      };
      const keepOutput = (stream, bytes) => {
        const kept = newest(bytes).slice();
        guest.backlog.push([stream, kept]);
        guest.backlogBytes += kept.length;
        while (guest.backlogBytes > OUTPUT_BACKLOG_BYTES && guest.backlog.length > 1) {
          guest.backlogBytes -= guest.backlog.shift()[1].length;
        }
      };
      const onMessage = options.onMessage;
      const tapped = {
        ...options,
        onMessage(data) {
          if (guest === current) {
            // Whatever goes wrong here must not break the loader's own handling.
            try {
              const out = fromWorker(data);
              for (const [stream, bytes] of out.output) {
                keepOutput(stream, bytes);
                if (panels.length > 0) relay(outputJson(stream, newest(bytes)));
              }
              if (out.ended) guest.ended = out.ended;
              if (out.ringError) guest.ringError = out.ringError;
              for (const json of out.relay) relay(json);
            } catch (error) {
              console.warn("pollscope agent: dropped a message for the DevTools panel:", error);
            }
          }
          onMessage?.(data);
        },
      };
      current = guest;
      return {
        options: tapped,
        attach(handle) {
          guest.handle = handle;
          if (panels.length > 0) subscribe();
          post("announce");
        },
      };
    },
  };
}

/** The newest OUTPUT_BACKLOG_BYTES of `bytes` (a view, not a copy). */
function newest(bytes) {
  return bytes.length > OUTPUT_BACKLOG_BYTES ? bytes.subarray(bytes.length - OUTPUT_BACKLOG_BYTES) : bytes;
}

/** A FromWasm `output` message for a panel. */
function outputJson(stream, bytes) {
  return JSON.stringify({ v: PROTOCOL_VERSION, type: "output", stream, data: Array.from(bytes) });
}

/** What a wasm-worker message means for a panel: FromWasm JSON texts to relay, and output
 * chunks ([stream name, bytes]) the caller keeps and relays as it needs. */
function fromWorker(data) {
  const none = { relay: [], output: [], ended: null, ringError: null };
  if (!isPlainObject(data)) return none;
  switch (data.type) {
    case "telemetry":
      return { ...none, relay: [data.json] };
    case "ring-error": {
      const json = JSON.stringify({ v: PROTOCOL_VERSION, type: "ring-error", reason: String(data.message) });
      return { ...none, relay: [json], ringError: json };
    }
    case "output": {
      const output = [];
      for (const [stream, bytes] of data.chunks ?? []) {
        const name = OUTPUT_STREAMS[stream];
        if (name && bytes instanceof Uint8Array) output.push([name, bytes]);
      }
      return { ...none, output };
    }
    case "exit": {
      const json = JSON.stringify({ v: PROTOCOL_VERSION, type: "exit", code: data.code | 0 });
      return { ...none, relay: [json], ended: json };
    }
    case "trap": {
      const frames = Array.isArray(data.frames) ? data.frames : [];
      const json = JSON.stringify({
        v: PROTOCOL_VERSION,
        type: "trap",
        message: String(data.message),
        frames: frames.map((f) => ({
          name: f?.name ?? null,
          func: f?.func ?? null,
          offset: f?.offset ?? null,
          ...(typeof f?.file === "string" && Number.isInteger(f?.line) ? { file: f.file, line: f.line } : {}),
        })),
      });
      return { ...none, relay: [json], ended: json };
    }
    default:
      return none;
  }
}

/** A ToWasm command the agent accepts, or null. Checks what the protocol checks. */
export function parseCommand(json) {
  let command;
  try {
    command = JSON.parse(json);
  } catch {
    return null;
  }
  if (!isPlainObject(command) || (command.v !== undefined && command.v !== PROTOCOL_VERSION)) return null;
  switch (command.type) {
    case "pause":
    case "resume":
    case "step":
    case "snapshot":
    case "restart":
    case "close-stdin":
      return { type: command.type };
    case "record-asyncify":
      return typeof command.on === "boolean" ? { type: "record-asyncify", on: command.on } : null;
    case "time-scale":
      return typeof command.scale === "number" && command.scale >= MIN_TIME_SCALE && command.scale <= MAX_TIME_SCALE
        ? { type: "time-scale", scale: command.scale }
        : null;
    case "stdin": {
      const data = command.data;
      if (!Array.isArray(data) || data.length > MAX_STDIN_CHUNK) return null;
      if (!data.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)) return null;
      return { type: "stdin", data: Uint8Array.from(data) };
    }
    default:
      // subscribe / unsubscribe are the agent's to decide (panels connected), not a panel's.
      return null;
  }
}

/** Applies a command parseCommand accepted to a guest handle (also the serve page's in-page panel). */
export function apply(handle, command) {
  switch (command.type) {
    case "pause":
      return handle.pause();
    case "resume":
      return handle.resume();
    case "step":
      return handle.step();
    case "snapshot":
      return handle.snapshot();
    case "restart":
      return handle.restart();
    case "record-asyncify":
      return handle.restart({ asyncifyRecorder: command.on });
    case "close-stdin":
      return handle.closeStdin();
    case "time-scale":
      return handle.setTimeScale(command.scale);
    case "stdin":
      return handle.writeStdin(command.data);
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
