// The page `pollscope run` and `pollscope serve` open: runs the component with the shim.
// In run mode the guest's stdio and exit travel to the terminal through the local server;
// in serve mode this page is the console.
//
// Every URL here is relative: the page lives at http://127.0.0.1:PORT/<token>/ and the server
// answers only below that token (cli/src/server.rs), so everything the page, the shim and its
// workers load keeps the token by resolving against the page's or the module's own URL.
import { startComponent } from "./pollscope/pollscope.js";
import { createConsole } from "./pollscope/console.js";

const statusEl = document.getElementById("status");
// Bounded: the newest output only, and the header says when older output was dropped.
const output = createConsole(document.getElementById("console"), document.getElementById("console-note"), document);

async function fetchBytes(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`fetching ${url}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

// The server takes at most this many bytes per output request (its MAX_OUTPUT_BODY).
const OUTPUT_PIECE = 1 << 20;

// Output goes out in order, one request at a time, in pieces the server takes.
let outputChain = Promise.resolve();
function sendOutput(stream, bytes) {
  trace(`output ${bytes.length} B on ${stream}`);
  for (let at = 0; at < bytes.length; at += OUTPUT_PIECE) {
    const piece = bytes.subarray(at, at + OUTPUT_PIECE);
    outputChain = outputChain.then(() => fetch(`output/${stream}`, { method: "POST", body: piece }));
  }
}

async function report(outcome) {
  await outputChain.catch(() => {});
  await fetch("exit", { method: "POST", body: JSON.stringify(outcome) });
}

// Serve mode shows the Pollscope panel beside the console (add ?panel=off to hide it). It
// gets the guest's telemetry and output as the DevTools panel does, and its commands go
// through the same checks as the extension's. Without it the page works as before.
async function loadPanel(guestRef) {
  if (new URLSearchParams(location.search).get("panel") === "off") return null;
  const root = document.getElementById("panel");
  try {
    const module = await import("./pollscope/panel/pollscope_panel.js");
    await module.default();
    const panel = module.mountPanel(root, {
      // Checked by the event thread as the extension's commands are.
      send(command) {
        guestRef.guest?.panelCommand(JSON.stringify(command));
      },
    });
    root.hidden = false;
    document.body.classList.add("with-panel");
    return panel;
  } catch (error) {
    console.warn(`pollscope page: no panel (${error.message})`);
    return null;
  }
}

// In run mode each milestone goes to Chromium's log, which `pollscope run` keeps when
// POLLSCOPE_BROWSER_LOG is set: enough to tell where a run that never ends got stuck.
let trace = () => {};

async function main() {
  const { mode, guest: config } = await (await fetch("config.json")).json();
  const run = mode === "run";
  if (run) trace = (what) => console.info(`pollscope page: ${what} at ${performance.now().toFixed(1)} ms`);
  trace("config loaded");
  document.getElementById("program").textContent = config.args.join(" ");
  const files = {};
  for (const [index, path] of config.files.entries()) files[path] = await fetchBytes(`files/${index}`);

  const guestRef = { guest: null };
  const panel = run ? null : await loadPanel(guestRef);
  const guest = startComponent("app.wasm", {
    args: config.args,
    env: Object.fromEntries(config.env),
    dirs: config.dirs,
    // --dir and --dir-ro (issue #12): the wasm thread posts the writable ones' trees to this
    // server's `preopens` route when the guest ends, for `pollscope run` to write them back.
    preopens: config.preopens.map((p) =>
      p.writeBackUrl ? { ...p, writeBackUrl: new URL(p.writeBackUrl, location.href).href } : p,
    ),
    cwd: config.cwd,
    files,
    onStdout: (bytes) => {
      if (run) return sendOutput(1, bytes);
      output.appendBytes(bytes, "stdout");
    },
    onStderr: (bytes) => {
      if (run) return sendOutput(2, bytes);
      output.appendBytes(bytes, "stderr", "stderr");
    },
    // Every FromWasm (telemetry, output while subscribed, how the guest ended, a broken ring)
    // as the JSON text the wasm thread made: the panel decodes it once.
    onFromWasm: (json) => panel?.receive(json),
    // Said once: on the terminal's stderr (run) or in the console (serve; the panel has it).
    onRingError: (reason) => {
      const note = `pollscope: the event ring broke (${reason}): stdin is closed and commands no longer reach the guest\n`;
      if (run) return sendOutput(2, new TextEncoder().encode(note));
      output.appendText(note, "stderr");
    },
    onTrace: (what) => trace(what),
  });
  guestRef.guest = guest;
  if (panel) {
    guest.subscribe({ detail: true, replay: true });
    panel.setConnection("connected", location.href);
  }
  statusEl.textContent = "running";
  trace("guest started");

  if (run) {
    // Pump the terminal's stdin: each chunk enters the ring before the next is fetched.
    (async () => {
      for (;;) {
        const response = await fetch("stdin");
        if (response.status !== 200) break;
        trace("stdin chunk");
        await guest.writeStdin(new Uint8Array(await response.arrayBuffer()));
      }
      trace("stdin closed");
      guest.closeStdin();
    })().catch(() => guest.closeStdin());
    // `pollscope run` answers this when it wants the guest ended (a signal, its timeout):
    // stopped at its next host call, the guest's writable --dirs still go back to the disk.
    fetch("stop").then((response) => {
      if (response.status !== 200) return;
      trace("stop asked");
      guest.stop();
    }, () => {});
  } else {
    const input = document.getElementById("stdin");
    document.getElementById("stdin-form").addEventListener("submit", (event) => {
      event.preventDefault();
      guest.writeStdin(input.value + "\n");
      output.appendText(input.value + "\n");
      input.value = "";
    });
    input.addEventListener("keydown", (event) => {
      if (event.key === "d" && event.ctrlKey) {
        event.preventDefault();
        guest.closeStdin();
        input.disabled = true;
      }
    });
  }

  try {
    // A restart (from the panel) ends a run with { restarted: true }: wait for the new one.
    let outcome = await guest.done;
    while (outcome.restarted) outcome = await guest.done;
    trace(`guest ended: ${JSON.stringify(outcome.exitCode)}`);
    statusEl.textContent = outcome.trap ? `trapped: ${outcome.trap.message}` : `exited with code ${outcome.exitCode}`;
    if (run) await report({ code: outcome.exitCode, trap: outcome.trap ?? null, error: null, ring: outcome.ring ?? null });
  } catch (error) {
    statusEl.textContent = `error: ${error.message}`;
    if (run) await report({ code: 2, trap: null, error: error.message });
  }
}

main().catch((error) => {
  statusEl.textContent = `error: ${error.message}`;
  fetch("exit", { method: "POST", body: JSON.stringify({ code: 2, trap: null, error: `page: ${error.message}` }) });
});
