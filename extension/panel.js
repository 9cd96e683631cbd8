// The Pollscope panel page: mounts the Leptos panel (built into ./panel/ by `cargo xtask
// build`) and connects it to the inspected tab through the background.
//
// Connection states shown: "waiting" (no Pollscope page in this tab yet), "connected",
// "navigated" (the page watched went away; waiting for the next one) and "disconnected" (the
// background's service worker stopped; reconnecting). What arrives is parsed and type-checked
// here and decoded fully by the panel (`protocol`), which drops what does not decode and only
// ever renders text.
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

/** A command from the panel (a ToWasm object) to the page agent. */
function send(command) {
  if (!port || !E.isPlainObject(command) || !E.TO_WASM_TYPES.has(command.type)) return;
  const json = JSON.stringify({ v: E.PROTOCOL_VERSION, ...command });
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
    const decoded = E.parseTyped(message.json, E.FROM_WASM_TYPES);
    if (decoded) panel.receive(decoded);
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
