// Content script: relays between the page agent (window.postMessage) and the background
// (a runtime port), for the top frame of pages the manifest matches.
//
// Page → background: only messages this window posted itself, tagged by the agent, of the page
// id the agent announced first, with JSON text within the size cap (passed on unparsed: the
// panel decodes it), and within the rate limit (E.RATE_LIMIT; what is over it is dropped,
// counted, and the count reported to the panels at most once a second).
// Background → page: the ids of the panels watching, and ToWasm commands, checked the same
// way. The port opens only once an agent announced itself, so pages without Pollscope never
// wake the background; it reopens when the background's service worker is restarted.
"use strict";

(() => {
  const E = globalThis.pollscopeEnvelope;
  let page = null;
  let port = null;
  let retries = 0;
  const rate = E.createRateLimit();
  let reported = 0;
  let reportTimer = null;

  /** Tells the panels how many messages were dropped, at most once per DROPPED_REPORT_MS. */
  function reportDropped() {
    if (reportTimer !== null) return;
    reportTimer = setTimeout(() => {
      reportTimer = null;
      if (port && rate.dropped !== reported) {
        reported = rate.dropped;
        port.postMessage({ kind: "dropped", count: reported });
      }
    }, E.DROPPED_REPORT_MS);
  }

  const toAgent = (kind, fields) =>
    window.postMessage({ source: E.EXTENSION_TAG, page, kind, ...fields }, window.location.origin);

  function connect() {
    try {
      port = chrome.runtime.connect({ name: E.PAGE_PORT });
    } catch {
      // The extension was reloaded or removed: this script is orphaned; stop the agent posting.
      port = null;
      toAgent("panels", { panels: [] });
      return;
    }
    port.onMessage.addListener(fromBackground);
    port.onDisconnect.addListener(() => {
      port = null;
      // Nothing reaches a panel until we are back: the agent stops posting, and the panels the
      // new background reports get a fresh hello and snapshot.
      toAgent("panels", { panels: [] });
      // The service worker stopped (or restarted): the new one has no pipes, so reconnect and
      // let it tell us again which panels watch. Back off if it keeps dropping us.
      const delay = Math.min(2000, 50 * 2 ** retries++);
      setTimeout(connect, delay);
    });
  }

  function fromBackground(message) {
    retries = 0;
    if (!E.isPlainObject(message)) return;
    if (message.kind === "panels" && E.isPanelList(message.panels)) {
      toAgent("panels", { panels: message.panels });
      // A panel that (re)joined hears the count so far.
      if (rate.dropped > 0) {
        reported = -1;
        reportDropped();
      }
    } else if (message.kind === "command" && E.isRelayable(message, E.TO_WASM_TYPES)) {
      // The page's event thread decodes and checks it fully before anything acts on it.
      toAgent("command", { json: message.json });
    }
  }

  window.addEventListener("message", (event) => {
    // Only this window, not frames, openers or other windows posting to it.
    if (event.source !== window || event.origin !== window.location.origin) return;
    const data = event.data;
    if (!E.isPlainObject(data) || data.source !== E.AGENT_TAG || !E.isId(data.page)) return;
    if (data.kind === "announce") {
      if (page === null) {
        page = data.page;
        connect();
      }
      return;
    }
    if (data.page !== page || data.kind !== "message" || !port) return;
    if (!E.isJsonText(data.json)) return;
    if (!rate.admit(data.json.length)) return reportDropped();
    port.postMessage({ kind: "message", json: data.json });
  });

  // An agent that started before this script ran announces itself again.
  window.postMessage({ source: E.EXTENSION_TAG, kind: "query" }, window.location.origin);
})();
