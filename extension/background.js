// Background (Chrome: service worker; Firefox: background script): a dumb pipe per tab between
// the page's content-script port and the tab's DevTools panel ports. It keeps nothing but the
// ports, so a restarted worker is rebuilt by both sides reconnecting.
//
// It checks who connects (our own content script in a tab's top frame, our own extension page)
// and that every message is one it relays (a known kind; JSON text within the cap; a command's
// known type; a dropped-message count); the JSON is never parsed here.
"use strict";

if (typeof importScripts === "function" && !globalThis.pollscopeEnvelope) importScripts("envelope.js");

const E = globalThis.pollscopeEnvelope;

/** tabId → { page: Port | null, panels: Map<Port, panel id> } */
const tabs = new Map();

function entry(tabId) {
  let tab = tabs.get(tabId);
  if (!tab) {
    tab = { page: null, panels: new Map() };
    tabs.set(tabId, tab);
  }
  return tab;
}

function forget(tabId) {
  const tab = tabs.get(tabId);
  if (tab && !tab.page && tab.panels.size === 0) tabs.delete(tabId);
}

const send = (port, message) => {
  try {
    port.postMessage(message);
  } catch {
    // The port closed between events; its onDisconnect cleans up.
  }
};

const pageState = (tab) => ({ kind: "page", state: tab.page ? "connected" : "waiting" });
const panelList = (tab) => ({ kind: "panels", panels: [...tab.panels.values()] });

function onPagePort(port) {
  const sender = port.sender ?? {};
  const tabId = sender.tab?.id;
  if (!Number.isSafeInteger(tabId) || tabId < 0 || sender.frameId !== 0) return port.disconnect();
  const tab = entry(tabId);
  if (tab.page) tab.page.disconnect();
  tab.page = port;
  for (const panel of tab.panels.keys()) send(panel, pageState(tab));
  send(port, panelList(tab));
  port.onMessage.addListener((message) => {
    let relayed;
    if (message?.kind === "message" && E.isJsonText(message.json)) {
      relayed = { kind: "message", json: message.json };
    } else if (message?.kind === "dropped" && E.isCount(message.count)) {
      // How many messages the content script's rate limit dropped from this page so far.
      relayed = { kind: "dropped", count: message.count };
    } else {
      return;
    }
    for (const panel of tab.panels.keys()) send(panel, relayed);
  });
  port.onDisconnect.addListener(() => {
    if (tab.page !== port) return;
    tab.page = null;
    // The watched page went away (navigation, reload, closed): the panel says so.
    for (const panel of tab.panels.keys()) send(panel, { kind: "page", state: "gone" });
    forget(tabId);
  });
}

function onPanelPort(port) {
  // Only our own pages (the DevTools panel) may be a panel.
  if (!port.sender?.url?.startsWith(chrome.runtime.getURL(""))) return port.disconnect();
  let tab = null;
  let tabId = null;
  port.onMessage.addListener((message) => {
    if (!E.isPlainObject(message)) return;
    if (message.kind === "init" && tab === null) {
      if (!Number.isSafeInteger(message.tabId) || message.tabId < 0 || !E.isId(message.panel)) {
        return port.disconnect();
      }
      tabId = message.tabId;
      tab = entry(tabId);
      tab.panels.set(port, message.panel);
      send(port, pageState(tab));
      if (tab.page) send(tab.page, panelList(tab));
    } else if (message.kind === "command" && tab && E.isRelayable(message, E.TO_WASM_TYPES)) {
      if (tab.page) send(tab.page, { kind: "command", type: message.type, json: message.json });
    }
  });
  port.onDisconnect.addListener(() => {
    if (!tab) return;
    tab.panels.delete(port);
    if (tab.page) send(tab.page, panelList(tab));
    forget(tabId);
  });
}

chrome.runtime.onConnect.addListener((port) => {
  if (port.sender?.id !== chrome.runtime.id) return port.disconnect();
  if (port.name === E.PAGE_PORT) onPagePort(port);
  else if (port.name === E.PANEL_PORT) onPanelPort(port);
  else port.disconnect();
});
