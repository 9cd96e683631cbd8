// The Pollscope panel page: mounts the Leptos panel (built into ./panel/ by `cargo xtask
// build`) and connects it to the inspected tab through the background.
//
// Connection states shown: "waiting" (no Pollscope page in this tab yet), "connected",
// "navigated" (the page watched went away; waiting for the next one) and "disconnected" (the
// background's service worker stopped; reconnecting). What arrives is size-checked here and
// its JSON text handed to the panel, which decodes it once (`protocol`), drops and counts what
// does not decode and only ever renders text. Messages the content script's rate limit dropped
// are counted in a line under the panel.
const E = globalThis.pollscopeEnvelope;
const tabId = chrome.devtools.inspectedWindow.tabId;
// Who this panel is, across reconnections: a page sends its output backlog once per panel.
const panelId = E.randomId();

let panel = null;
let port = null;
let retries = 0;
let lastNavigation = null;

async function main() {
  let module;
  try {
    module = await import("./panel/pollscope_panel.js");
    await module.default();
  } catch (error) {
    const note = document.getElementById("load-error");
    note.hidden = false;
    note.textContent = `The Pollscope panel is not built (${error.message}). Run \`cargo xtask build\` in the repository, then reload the extension.`;
    return;
  }
  panel = module.mountPanel(document.getElementById("root"), { send });
  followTheme();
  chrome.devtools.network.onNavigated.addListener((url) => {
    lastNavigation = url;
  });
  connect();
}

/** A command from the panel (a ToWasm object the panel encoded, version and all) to the page
 * agent; the event thread decodes and checks it. */
function send(command) {
  if (!port || !E.isPlainObject(command) || !E.TO_WASM_TYPES.has(command.type)) return;
  const json = JSON.stringify(command);
  if (json.length <= E.MAX_JSON_CHARS) port.postMessage({ kind: "command", type: command.type, json });
}

function connect() {
  port = chrome.runtime.connect({ name: E.PANEL_PORT });
  port.onMessage.addListener(fromBackground);
  port.onDisconnect.addListener(() => {
    port = null;
    panel.setConnection("disconnected", "");
    setTimeout(connect, Math.min(2000, 50 * 2 ** retries++));
  });
  port.postMessage({ kind: "init", tabId, panel: panelId });
}

function fromBackground(message) {
  retries = 0;
  if (!E.isPlainObject(message)) return;
  if (message.kind === "message") {
    if (E.isJsonText(message.json)) panel.receive(message.json);
  } else if (message.kind === "dropped") {
    if (E.isCount(message.count)) showDropped(message.count);
  } else if (message.kind === "page") {
    switch (message.state) {
      case "connected":
        panel.setConnection("connected", "");
        break;
      case "waiting":
        panel.setConnection("waiting", "");
        break;
      case "gone":
        panel.setConnection("navigated", lastNavigation ?? "");
        break;
    }
  }
}

/** The rate limit's count of messages dropped from the page (0 hides the line). */
function showDropped(count) {
  const line = document.getElementById("rate-limited");
  line.hidden = count === 0;
  const limit = E.RATE_LIMIT;
  line.textContent =
    `${count} message${count === 1 ? "" : "s"} from the page dropped by the rate limit ` +
    `(at most ${limit.messagesPerSecond}/s, bursts of ${limit.burst}, ${limit.charsPerSecond >> 20} MiB/s of JSON)`;
}

function followTheme() {
  const apply = (name) => panel.setTheme(name === "dark" ? "dark" : "light");
  apply(chrome.devtools.panels.themeName);
  // Chrome: setThemeChangeHandler; Firefox: onThemeChanged.
  if (typeof chrome.devtools.panels.setThemeChangeHandler === "function") {
    chrome.devtools.panels.setThemeChangeHandler(apply);
  } else {
    chrome.devtools.panels.onThemeChanged?.addListener(apply);
  }
}

main();
